//! `vbench_subject_consistency`: VBench's subject consistency exactly — DINO ViT-B/16 class-token
//! features (weights the user provides) of every frame under VBench's `dino_transform(224)`
//! ([`crate::preprocess::Preprocess::VBENCH_DINO`]: short side 224, no crop, torchvision-exact),
//! then the mean over frames i ≥ 1 of (max(0, cos(e_{i−1}, e_i)) + max(0, cos(e_0, e_i))) / 2.
//! VBench's dimension score weighs videos by their frame pairs (the `vbench` block does).

use crate::feature_consistency::vbench_consistency;
use crate::registry::{Direction, FrameInput, Metric, MetricError, Reads};

pub struct VbenchSubjectConsistency;

impl Metric for VbenchSubjectConsistency {
    fn id(&self) -> &'static str {
        "vbench_subject_consistency"
    }
    fn version(&self) -> u32 {
        // 2: frames resized as floats, as VBench's float32 tensors are (1 rounded them to 8 bits).
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        3
    }
    fn description(&self) -> &'static str {
        "VBench subject consistency: DINO ViT-B/16 features of all frames (torchvision bilinear short side 224, no crop, ImageNet mean/std), mean of cos to the previous and first frame, clamped at 0."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Features(FrameInput::VbenchDino)
    }
    fn compute_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        vbench_consistency(features)
    }
}
