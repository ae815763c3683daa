//! `vbench_imaging_quality`: VBench's imaging quality exactly (Vchitect/VBench
//! `imaging_quality.py`, `preprocess_mode="longer"`): MUSIQ with the SPAQ checkpoint (pyiqa's
//! architecture; weights the user provides) on every frame, the frame's longer side brought down
//! to 512 when larger ([`crate::preprocess::Preprocess::VBENCH_MUSIQ`], torchvision-exact); the
//! mean over frames of score / 100. VBench's dimension score is the mean over videos (the
//! `vbench` block of results does that).

use crate::registry::{Direction, FrameInput, Metric, MetricError, Reads};

pub struct VbenchImagingQuality;

impl Metric for VbenchImagingQuality {
    fn id(&self) -> &'static str {
        "vbench_imaging_quality"
    }
    fn version(&self) -> u32 {
        // 2: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        2
    }
    fn description(&self) -> &'static str {
        "VBench imaging quality: MUSIQ (SPAQ) on every frame, longer side brought down to 512 (torchvision bilinear), mean over frames of score / 100."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        // A linear head is bounded only by its weights (SPAQ's gives about 0–100, so 0–1 here);
        // any finite value is a score.
        (f64::MIN, f64::MAX)
    }
    fn reads(&self) -> Reads {
        Reads::Features(FrameInput::VbenchMusiq)
    }
    /// `features[t]` is frame t's MUSIQ score, a one-element vector.
    fn compute_features(&self, features: &[Vec<f64>]) -> Result<f64, MetricError> {
        if features.is_empty() {
            return Err(MetricError::TooFewFrames { needed: 1, got: 0 });
        }
        let sum: f64 = features.iter().map(|f| f.first().copied().unwrap_or(f64::NAN)).sum();
        Ok(sum / features.len() as f64 / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_the_frame_scores_over_a_hundred() {
        let m = VbenchImagingQuality;
        let v = m.measure_features(&[vec![40.0], vec![65.0], vec![55.0]]).expect("three scores");
        assert!((v - 0.5333333333333333).abs() < 1e-15, "{v}");
        assert!(matches!(m.measure_features(&[]), Err(MetricError::TooFewFrames { .. })));
        // A frame without a score is an error, never a number.
        assert!(matches!(m.measure_features(&[vec![40.0], vec![]]), Err(MetricError::NonFinite { .. })));
        assert!(matches!(m.measure_features(&[vec![f64::NAN]]), Err(MetricError::NonFinite { .. })));
    }
}
