//! `raft_flow_score`: EvalCrafter's flow score exactly (`metrics/RAFT/optical_flow_scores.py`,
//! `calculate_flow_score`): RAFT-things flow (20 updates, frames replicate-padded to multiples of
//! 8; weights the user provides) on every pair of consecutive frames at native size, each pair's
//! mean flow magnitude over the padded frame, and the mean over pairs, in pixels
//! ([`crate::registry::FlowInput::EvalCrafterFlow`]). The learned counterpart of the Lucas–Kanade
//! `dynamic_degree`, which stays (it needs no weights and reads a 256-px short side).

use crate::registry::{Direction, FlowInput, FlowPairs, Metric, MetricError, Reads};

pub struct RaftFlowScore;

impl Metric for RaftFlowScore {
    fn id(&self) -> &'static str {
        "raft_flow_score"
    }
    fn version(&self) -> u32 {
        // 2: RAFT's stride-1 layers with a patch matrix over 2^24 values (frames from about 116k
        // pixels, e.g. 512×288) run tap by tap, their sums reassociated: on a 512×288 video
        // EvalCrafter's flow score moved from 7.728099380 to 7.728099324 (7e-9 relative).
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        3
    }
    fn description(&self) -> &'static str {
        "EvalCrafter's flow score: mean over consecutive frame pairs of the mean RAFT-things flow magnitude (20 updates, native size, replicate-padded to multiples of 8), in pixels."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0e5)
    }
    fn reads(&self) -> Reads {
        Reads::Flow(FlowInput::EvalCrafterFlow)
    }
    fn compute_flow(&self, flow: &FlowPairs) -> Result<f64, MetricError> {
        flow.mean_score(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_of_the_pairs_mean_magnitudes() {
        let m = RaftFlowScore;
        let pairs = |frames, scores: &[f64]| FlowPairs {
            width: 8,
            height: 8,
            fps: 8.0,
            frames,
            decoded: frames,
            scores: scores.to_vec(),
        };
        assert_eq!(m.measure_flow(&pairs(4, &[1.0, 2.0, 6.0])), Ok(3.0));
        assert!(matches!(m.measure_flow(&pairs(1, &[])), Err(MetricError::TooFewFrames { .. })));
        assert_eq!(m.measure_flow(&pairs(3, &[0.0, 0.0])), Ok(0.0));
    }
}
