//! `world_background_consistency` (called `background_consistency` before): VBench's
//! background consistency recipe on the world encoder's frame
//! features of every frame with its saturated foreground painted over by the background's mean
//! colour (VBench uses CLIP ViT-B/32 on whole frames; separating the background explicitly lets
//! one extractor serve both). Camera motion and background changes lower it; moving objects do
//! not. For the bundled world suites; VBench's own is `vbench_background_consistency`.

use crate::feature_consistency::vbench_consistency;
use crate::registry::{Direction, FrameInput, Metric, MetricError, Reads};

pub struct WorldBackgroundConsistency;

impl Metric for WorldBackgroundConsistency {
    fn id(&self) -> &'static str {
        "world_background_consistency"
    }
    fn version(&self) -> u32 {
        // 2: videos are decoded with PyAV's colour conversion (YUV sources change by ±1).
        // (Renamed from background_consistency with the number unchanged: still 2, so old baselines compare.)
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range). 4: the encoder's frames area-averaged by covered
        // fraction (`preprocess::area_taps`; a box of whole pixels at non-integer ratios).
        4
    }
    fn description(&self) -> &'static str {
        "VBench's background consistency formula on world-encoder features of all frames with saturated foreground pixels replaced by the background mean, 32×32."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Features(FrameInput::Background)
    }
    fn compute_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        vbench_consistency(features)
    }
}
