//! `world_subject_consistency`: VBench's subject consistency recipe on the world encoder's frame
//! features of every whole frame — for the bundled world suites. VBench uses DINO ViT-B/16 (that is
//! `vbench_subject_consistency`); the world encoder has only seen the procedural world, so these
//! values are comparable only with ours and mean little on photoreal videos (it was called
//! `subject_consistency` before). 1 = every frame looks like the first and the previous.

use crate::feature_consistency::vbench_consistency;
use crate::registry::{Direction, FrameInput, Metric, MetricError, Reads};

pub struct WorldSubjectConsistency;

impl Metric for WorldSubjectConsistency {
    fn id(&self) -> &'static str {
        "world_subject_consistency"
    }
    fn version(&self) -> u32 {
        // 2: videos are decoded with PyAV's colour conversion (YUV sources change by ±1).
        // (Renamed from subject_consistency with the number unchanged: still 2, so old baselines compare.)
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range). 4: the encoder's frames area-averaged by covered
        // fraction (`preprocess::area_taps`; a box of whole pixels at non-integer ratios).
        4
    }
    fn description(&self) -> &'static str {
        "VBench's subject consistency formula (mean of cos to the first and previous frame, clamped at 0) on world-encoder features of all frames, stretched to 32×32."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Features(FrameInput::Full)
    }
    fn compute_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        vbench_consistency(features)
    }
}
