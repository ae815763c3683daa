//! `vbench_dynamic_degree`: VBench's dynamic degree exactly (Vchitect/VBench `dynamic_degree.py`).
//! Frames sampled at about 8 fps (every `max(1, round(fps / 8))`-th, Python's round: half to
//! even), RAFT-things flow with 20 updates on each consecutive pair, replicate-padded to multiples
//! of 8 (weights the user provides; [`crate::registry::FlowInput::VbenchRaft`]). A pair scores the
//! mean of the largest 5% of its flow magnitudes over the padded frame. The video is dynamic (1)
//! when at least `round(4 · n / 16)` pairs score above `6 · min(H, W) / 256` (n: the frames
//! sampled), else static (0); VBench's dimension score is the fraction of dynamic videos. As in
//! VBench, a count of 0 makes any video with a pair dynamic, and a video with one sampled frame
//! (no pair) is static. VBench's master and its PyPI package have no `8 / fps` factor on the
//! threshold (it was on GitHub for ten days in July 2024, commits 11abda9 to fc4620b).

use crate::registry::{Direction, FlowInput, FlowPairs, Metric, MetricError, Reads};

pub struct VbenchDynamicDegree;

impl Metric for VbenchDynamicDegree {
    fn id(&self) -> &'static str {
        "vbench_dynamic_degree"
    }
    fn version(&self) -> u32 {
        // 2: RAFT's stride-1 layers with a patch matrix over 2^24 values (frames from about 116k
        // pixels, e.g. 512×288) run tap by tap, their sums reassociated: on a 512×288 video
        // EvalCrafter's flow score moved from 7.728099380 to 7.728099324 (7e-9 relative).
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        // 4: no `max(1, 8 / fps)` factor on the threshold (VBench's master and PyPI have none:
        // below 8 fps fewer videos were dynamic), and one sampled frame is static, as in VBench
        // (it was not measurable, and left the dimension's mean).
        4
    }
    fn description(&self) -> &'static str {
        "VBench dynamic degree: 1 when enough RAFT-things pairs (frames at ~8 fps, 20 updates) move more than 6·min(H,W)/256 px in their top 5% of flow magnitudes, else 0."
    }
    fn direction(&self) -> Direction {
        // VBench's Quality Score counts a dynamic video as better.
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Flow(FlowInput::VbenchRaft)
    }
    fn compute_flow(&self, flow: &FlowPairs) -> Result<f64, MetricError> {
        if flow.frames < 2 {
            // No pair to move: VBench's check_move over no scores is False.
            return Ok(0.0);
        }
        if flow.scores.is_empty() {
            return Err(MetricError::TooFewFrames { needed: sample_interval(flow.fps) + 1, got: flow.decoded });
        }
        let threshold = 6.0 * (f64::from(flow.width.min(flow.height)) / 256.0);
        let needed = (4.0 * (flow.frames as f64 / 16.0)).round_ties_even() as usize;
        // VBench's check_move: it returns as soon as the count reaches `needed`, so 0 needed with
        // one pair is dynamic.
        let mut count = 0;
        for &s in &flow.scores {
            if s > threshold {
                count += 1;
            }
            if count >= needed {
                return Ok(1.0);
            }
        }
        Ok(0.0)
    }
}

/// VBench's frame interval for dynamic degree: `max(1, round(fps / 8))`, rounding half to even.
pub fn sample_interval(fps: f64) -> usize {
    let i = (fps / 8.0).round_ties_even();
    if i.is_finite() && i >= 1.0 { i as usize } else { 1 }
}

/// The mean of the largest `fraction` of `values` (`⌊fraction · n⌋` of them, at least one):
/// VBench's per-pair score with fraction 0.05.
pub fn top_fraction_mean(values: &[f64], fraction: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let k = ((values.len() as f64 * fraction) as usize).clamp(1, values.len());
    let mut v = values.to_vec();
    let at = v.len() - k;
    v.select_nth_unstable_by(at, |a, b| a.total_cmp(b));
    v[at..].iter().sum::<f64>() / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(width: u32, height: u32, fps: f64, frames: usize, scores: &[f64]) -> FlowPairs {
        FlowPairs { width, height, fps, frames, decoded: frames, scores: scores.to_vec() }
    }

    #[test]
    fn intervals_round_half_to_even_like_python() {
        for (fps, interval) in [(8.0, 1), (12.0, 2), (20.0, 2), (24.0, 3), (30.0, 4), (60.0, 8), (4.0, 1), (0.0, 1)] {
            assert_eq!(sample_interval(fps), interval, "{fps}");
        }
    }

    #[test]
    fn the_top_five_percent_is_the_mean_of_the_largest_values() {
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(top_fraction_mean(&v, 0.05), (95.0 + 96.0 + 97.0 + 98.0 + 99.0) / 5.0);
        // ⌊0.05 · 30⌋ = 1.
        assert_eq!(top_fraction_mean(&v[..30], 0.05), 29.0);
        assert_eq!(top_fraction_mean(&[3.0], 0.05), 3.0);
        assert!(top_fraction_mean(&[], 0.05).is_nan());
    }

    #[test]
    fn a_video_is_dynamic_when_enough_pairs_exceed_the_scaled_threshold() {
        let m = VbenchDynamicDegree;
        // 480 px short side at 8 fps: threshold 6 · 480 / 256 = 11.25 px; 16 frames → 4 pairs.
        let moving = [12.0, 0.0, 12.0, 11.3, 12.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(m.measure_flow(&pairs(854, 480, 8.0, 16, &moving)), Ok(1.0));
        let mut three = moving;
        three[4] = 11.25; // not above
        assert_eq!(m.measure_flow(&pairs(854, 480, 8.0, 16, &three)), Ok(0.0));
        // Below 8 fps the threshold is the same (VBench's master and PyPI): at 4 fps 11.25 px.
        assert_eq!(m.measure_flow(&pairs(854, 480, 4.0, 16, &moving)), Ok(1.0));
        // round(4 · 2 / 16) = round(0.5) = 0: one pair, however still, makes the video dynamic.
        assert_eq!(m.measure_flow(&pairs(854, 480, 8.0, 2, &[0.0])), Ok(1.0));
        // round(4 · 10 / 16) = round(2.5) = 2.
        assert_eq!(m.measure_flow(&pairs(854, 480, 8.0, 10, &[12.0, 12.0, 0.0])), Ok(1.0));
        // A single sampled frame has no pair: static, as VBench counts it.
        assert_eq!(m.measure_flow(&pairs(854, 480, 8.0, 1, &[])), Ok(0.0));
    }
}
