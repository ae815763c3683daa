//! `vbench_motion_smoothness`: VBench's motion smoothness exactly (Vchitect/VBench
//! `motion_smoothness.py`). AMT-S (weights the user provides;
//! [`crate::registry::FlowInput::VbenchAmt`]) predicts every odd frame from the even frames either
//! side — native frames in [0, 1], replicate-padded to multiples of 16, the middle at t = ½,
//! quantised back to 8 bits — and each prediction scores its mean absolute difference from the
//! real frame over all pixels and channels. The video scores `(255 − mean difference) / 255`:
//! 1 when every odd frame is exactly what interpolating its neighbours gives. An odd last frame
//! with no even frame after it is not compared, as in VBench. VBench's dimension score is the
//! mean over videos.
//!
//! VBench shrinks frames on a GPU whose memory it judges too small for them (its `scale`); on the
//! CPU, and on any GPU with room, it runs them at full size, as this does.

use crate::registry::{Direction, FlowInput, FlowPairs, Metric, MetricError, Reads};

pub struct VbenchMotionSmoothness;

impl Metric for VbenchMotionSmoothness {
    fn id(&self) -> &'static str {
        "vbench_motion_smoothness"
    }
    fn version(&self) -> u32 {
        // 2: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        2
    }
    fn description(&self) -> &'static str {
        "VBench motion smoothness: 1 − (mean absolute difference between each odd frame and AMT-S's interpolation of it from the even frames either side) / 255."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Flow(FlowInput::VbenchAmt)
    }
    /// `flow.scores`: one mean absolute difference (0–255) per predicted frame.
    fn compute_flow(&self, flow: &FlowPairs) -> Result<f64, MetricError> {
        // Three frames: two even ones and the odd one between them.
        let mean = flow.mean_score(3)?;
        Ok((255.0 - mean) / 255.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(decoded: usize, scores: &[f64]) -> FlowPairs {
        FlowPairs { width: 64, height: 48, fps: 8.0, frames: decoded, decoded, scores: scores.to_vec() }
    }

    #[test]
    fn the_score_is_one_minus_the_mean_difference_over_255() {
        let m = VbenchMotionSmoothness;
        assert_eq!(m.measure_flow(&pairs(5, &[0.0, 0.0])), Ok(1.0));
        assert_eq!(m.measure_flow(&pairs(5, &[255.0, 255.0])), Ok(0.0));
        let v = m.measure_flow(&pairs(7, &[2.0, 4.0, 6.0])).unwrap();
        assert!((v - (255.0 - 4.0) / 255.0).abs() < 1e-15);
        // Fewer than three frames: nothing to predict.
        assert_eq!(m.measure_flow(&pairs(2, &[])), Err(MetricError::TooFewFrames { needed: 3, got: 2 }));
    }
}
