//! `vbench_aesthetic_quality`: VBench's aesthetic quality exactly — the LAION aesthetic predictor
//! (a linear head on OpenAI CLIP ViT-L/14's unit image features; weights the user provides) on
//! every frame under VBench's `clip_transform(224)` ([`crate::preprocess::Preprocess::VBENCH_CLIP`],
//! torchvision-exact), the mean over frames of score / 10. VBench's dimension score is the mean
//! over videos (the `vbench` block of results does that).

use crate::registry::{Direction, FrameInput, Metric, MetricError, Reads};

pub struct VbenchAestheticQuality;

impl Metric for VbenchAestheticQuality {
    fn id(&self) -> &'static str {
        "vbench_aesthetic_quality"
    }
    fn version(&self) -> u32 {
        // 2: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        2
    }
    fn description(&self) -> &'static str {
        "VBench aesthetic quality: the LAION aesthetic head on CLIP ViT-L/14 unit image features of all frames (torchvision bicubic short side 224 + centre crop, CLIP mean/std), mean over frames of score / 10."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        // A linear head on unit features is bounded only by its weights (LAION's gives about
        // 0–10, so 0–1 here); any finite value is a score.
        (f64::MIN, f64::MAX)
    }
    fn reads(&self) -> Reads {
        Reads::Features(FrameInput::VbenchAesthetic)
    }
    /// `features[t]` is frame t's head score, a one-element vector.
    fn compute_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        if features.is_empty() {
            return Err(MetricError::TooFewFrames { needed: 1, got: 0 });
        }
        let sum: f64 = features.iter().map(|f| f.first().copied().unwrap_or(f64::NAN) / 10.0).sum();
        Ok(sum / features.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_the_frame_scores_over_ten() {
        let m = VbenchAestheticQuality;
        let v = m.measure_features(&[vec![4.0], vec![6.5], vec![5.5]]).expect("three scores");
        assert!((v - 0.5333333333333333).abs() < 1e-15, "{v}");
        assert!(matches!(m.measure_features(&[]), Err(MetricError::TooFewFrames { .. })));
        // A frame without a score is an error, never a number.
        assert!(matches!(m.measure_features(&[vec![4.0], vec![]]), Err(MetricError::NonFinite { .. })));
        assert!(matches!(m.measure_features(&[vec![f64::INFINITY]]), Err(MetricError::NonFinite { .. })));
    }
}
