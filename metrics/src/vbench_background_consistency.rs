//! `vbench_background_consistency`: VBench's background consistency exactly — OpenAI CLIP
//! ViT-B/32 image features (weights the user provides) of every frame under VBench's
//! `clip_transform(224)` ([`crate::preprocess::Preprocess::VBENCH_CLIP`], torchvision-exact), then
//! the mean over frames i ≥ 1 of (max(0, cos(e_{i−1}, e_i)) + max(0, cos(e_0, e_i))) / 2. VBench's
//! dimension score weighs videos by their frame pairs (the `vbench` block of results does).

use crate::feature_consistency::vbench_consistency;
use crate::registry::{Direction, FrameInput, Metric, MetricError, Reads};

pub struct VbenchBackgroundConsistency;

impl Metric for VbenchBackgroundConsistency {
    fn id(&self) -> &'static str {
        "vbench_background_consistency"
    }
    fn version(&self) -> u32 {
        // 2: frames resized as floats, as VBench's float32 tensors are (1 rounded them to 8 bits).
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        3
    }
    fn description(&self) -> &'static str {
        "VBench background consistency: CLIP ViT-B/32 features of all frames (torchvision bicubic short side 224 + centre crop, CLIP mean/std), mean of cos to the previous and first frame, clamped at 0."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Features(FrameInput::VbenchClip)
    }
    fn compute_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        vbench_consistency(features)
    }
}
