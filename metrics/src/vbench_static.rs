//! `vbench_static`: VBench's temporal-flickering static filter exactly (Vchitect/VBench
//! `vbench/cli/static_filter.py`): 1 when the video counts as static, 0 when it moves. RAFT-things
//! flow (20 updates, replicate-padded to multiples of 8; weights the user provides) on every pair
//! of consecutive frames and then on (first, last) and (last, first)
//! ([`crate::registry::FlowInput::VbenchStatic`]); a pair scores the mean of its largest 2% of
//! flow magnitudes. With `thres = 3 · min(H, W) / 256` and `count = round(2 · n / 16)` (n: the
//! frames, Python's round: half to even), the video moves when more than `count` consecutive
//! pairs score above `thres`, or either closing pair scores above `2 · count · thres`. VBench
//! scores temporal flickering only on static videos, the first five of each prompt
//! (`videval suites import vbench --static-filter`; the `vbench` block applies it).

use crate::registry::{Direction, FlowInput, FlowPairs, Metric, MetricError, Reads};

pub struct VbenchStatic;

impl Metric for VbenchStatic {
    fn id(&self) -> &'static str {
        "vbench_static"
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
        "VBench's static filter: 1 when few enough RAFT-things pairs (all frames, and first ↔ last) move more than 3·min(H,W)/256 px in their top 2% of flow magnitudes, else 0."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Flow(FlowInput::VbenchStatic)
    }
    /// `flow.scores`: the consecutive pairs, then the two closing pairs.
    fn compute_flow(&self, flow: &FlowPairs) -> Result<f64, MetricError> {
        if flow.frames < 2 || flow.scores.len() < 3 {
            return Err(MetricError::TooFewFrames { needed: 2, got: flow.decoded });
        }
        let threshold = 3.0 * (f64::from(flow.width.min(flow.height)) / 256.0);
        let count = (2.0 * (flow.frames as f64 / 16.0)).round_ties_even();
        let (consecutive, closing) = flow.scores.split_at(flow.scores.len() - 2);
        let mut above = 0.0;
        for &s in consecutive {
            if s > threshold {
                above += 1.0;
            }
            if above > count {
                return Ok(0.0);
            }
        }
        if closing.iter().any(|&s| s > threshold * count * 2.0) {
            return Ok(0.0);
        }
        Ok(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(frames: usize, scores: &[f64]) -> FlowPairs {
        FlowPairs { width: 512, height: 256, fps: 8.0, frames, decoded: frames, scores: scores.to_vec() }
    }

    #[test]
    fn a_video_is_static_while_few_pairs_move() {
        let m = VbenchStatic;
        // 256 px short side: threshold 3 px; 16 frames → 15 pairs, count round(2) = 2; closing
        // pairs may reach 2 · 2 · 3 = 12 px.
        let mut s = vec![0.5; 15];
        s.extend([11.9, 12.0]);
        assert_eq!(m.measure_flow(&pairs(16, &s)), Ok(1.0));
        s[3] = 3.1;
        s[9] = 4.0;
        assert_eq!(m.measure_flow(&pairs(16, &s)), Ok(1.0), "two moving pairs are allowed");
        s[12] = 3.5;
        assert_eq!(m.measure_flow(&pairs(16, &s)), Ok(0.0), "a third is not");
        let mut drift = vec![0.5; 15];
        drift.extend([12.5, 0.0]);
        assert_eq!(m.measure_flow(&pairs(16, &drift)), Ok(0.0), "first and last too far apart");
        // round(2 · 4 / 16) = round(0.5) = 0: no pair may move, and the closing pairs must be 0.
        assert_eq!(m.measure_flow(&pairs(4, &[0.1, 0.2, 0.1, 0.0, 0.0])), Ok(1.0));
        assert_eq!(m.measure_flow(&pairs(4, &[0.1, 0.2, 0.1, 0.0, 0.01])), Ok(0.0));
        assert!(matches!(m.measure_flow(&pairs(1, &[0.0, 0.0])), Err(MetricError::TooFewFrames { .. })));
    }
}
