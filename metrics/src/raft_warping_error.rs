//! `raft_warping_error`: EvalCrafter's warping error exactly (`metrics/RAFT/optical_flow_scores.py`,
//! `compute_video_warping_error`, adapted there from fast_blind_video_consistency). For every pair
//! of consecutive frames, both as [0, 1] values halved in size (bilinear, no antialiasing) and
//! replicate-padded to multiples of 8, RAFT-things (20 updates; weights the user provides) gives
//! the forward and the backward flow — fed, as published, the [0, 1] frames through RAFT's own
//! `2·(x/255) − 1`, so RAFT sees them at 1/255 of their contrast
//! ([`crate::registry::FlowInput::EvalCrafterWarp`]). The second frame warped back by the forward
//! flow is compared with the first outside occlusions and motion boundaries ([`pair_error`]); the
//! video scores the mean over pairs. Lower is better. The Lucas–Kanade `warping_error` stays.

use crate::registry::{Direction, FlowInput, FlowPairs, Metric, MetricError, Reads};

pub struct RaftWarpingError;

impl Metric for RaftWarpingError {
    fn id(&self) -> &'static str {
        "raft_warping_error"
    }
    fn version(&self) -> u32 {
        // 2: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        2
    }
    fn description(&self) -> &'static str {
        "EvalCrafter's warping error: RAFT-things forward and backward flow on half-size frames, the second frame warped back onto the first, mean squared difference over the pixels that are neither occluded nor on a motion boundary, mean over pairs."
    }
    fn direction(&self) -> Direction {
        Direction::LowerIsBetter
    }
    fn range(&self) -> (f64, f64) {
        // Three channels in [0, 1]: a pixel's squared difference is at most 3.
        (0.0, 3.0)
    }
    fn reads(&self) -> Reads {
        Reads::Flow(FlowInput::EvalCrafterWarp)
    }
    /// `flow.scores`: one warping error per pair of consecutive frames.
    fn compute_flow(&self, flow: &FlowPairs) -> Result<f64, MetricError> {
        flow.mean_score(2)
    }
}

/// One pair's warping error as EvalCrafter computes it (fast_blind_video_consistency's
/// `detect_occlusion`, called there with the flows swapped): `img1` and `warped2` are `[3, h, w]`
/// (the first frame and the second warped back onto it by the forward flow), `fw` the forward
/// flow `[2, h, w]` and `bw_at_fw` the backward flow sampled where the forward flow points. A
/// pixel is occluded when the round trip misses (|fw + bw(p + fw)|² > 0.01·(|bw(p + fw)|² +
/// |fw|²) + 0.5) or lies on a motion boundary of the forward flow (the squared forward
/// differences of its two components, zero on the last column and row, exceed 0.01·|fw|² +
/// 0.002). The sum of squared differences over the others' three channels, divided by their
/// number (by every value's, 3·h·w, when none is left). Thresholds in float32 and gradient squares
/// in float64, as numpy computes them there.
pub fn pair_error(img1: &[f32], warped2: &[f32], fw: &[f32], bw_at_fw: &[f32], h: usize, w: usize) -> f64 {
    let n = h * w;
    let (fx, fy) = (&fw[..n], &fw[n..2 * n]);
    let (bx, by) = (&bw_at_fw[..n], &bw_at_fw[n..2 * n]);
    let (mut sum, mut visible) = (0.0f64, 0usize);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let (sx, sy) = (bx[i] + fx[i], by[i] + fy[i]);
            let round_trip = sx * sx + sy * sy;
            let back = bx[i] * bx[i] + by[i] * by[i];
            let forth = fx[i] * fx[i] + fy[i] * fy[i];
            let missed = round_trip > 0.01f32 * (back + forth) + 0.5f32;
            let across = |v: &[f32]| if x + 1 < w { f64::from(v[i] - v[i + 1]) } else { 0.0 };
            let down = |v: &[f32]| if y + 1 < h { f64::from(v[i] - v[i + w]) } else { 0.0 };
            let gradient = (across(fx).powi(2) + down(fx).powi(2)) + (across(fy).powi(2) + down(fy).powi(2));
            let boundary = gradient > f64::from(0.01f32 * forth + 0.002f32);
            if !(missed || boundary) {
                visible += 1;
                for c in 0..3 {
                    let d = f64::from(warped2[c * n + i] - img1[c * n + i]);
                    sum += d * d;
                }
            }
        }
    }
    sum / (if visible == 0 { 3 * n } else { visible }) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn still_frames_and_perfect_warps_score_zero_and_occlusions_are_left_out() {
        let (h, w) = (4, 5);
        let n = h * w;
        let img: Vec<f32> = (0..3 * n).map(|k| (k % 7) as f32 / 7.0).collect();
        let zero = vec![0.0f32; 2 * n];
        assert_eq!(pair_error(&img, &img, &zero, &zero, h, w), 0.0);
        // A uniform shift that the backward flow undoes: no occlusion, the error is the mean
        // squared difference per visible pixel (three channels summed).
        let mut fw = vec![1.0f32; n];
        fw.extend(vec![0.0f32; n]);
        let mut bw = vec![-1.0f32; n];
        bw.extend(vec![0.0f32; n]);
        let warped: Vec<f32> = img.iter().map(|v| v + 0.1).collect();
        let e = pair_error(&img, &warped, &fw, &bw, h, w);
        assert!((e - 3.0 * 0.01).abs() < 1e-6, "{e}");
        // A backward flow that does not return (|1 + 1|² = 4 > 0.01·2 + 0.5) occludes every pixel:
        // the sum over nothing, divided by every value.
        let away = vec![1.0f32; 2 * n];
        assert_eq!(pair_error(&img, &warped, &fw, &away, h, w), 0.0);
        // A motion boundary (a jump of 3 px in the forward flow) leaves out the column before it.
        let mut jump = fw.clone();
        for y in 0..h {
            jump[y * w + 4] = 4.0;
        }
        let mut back = bw.clone();
        for y in 0..h {
            back[y * w + 4] = -4.0;
        }
        let e = pair_error(&img, &warped, &jump, &back, h, w);
        assert!((e - 3.0 * 0.01).abs() < 1e-6, "{e}");
    }

    #[test]
    fn the_video_scores_the_mean_over_pairs() {
        let m = RaftWarpingError;
        let pairs = |scores: &[f64]| FlowPairs {
            width: 320,
            height: 256,
            fps: 8.0,
            frames: scores.len() + 1,
            decoded: scores.len() + 1,
            scores: scores.to_vec(),
        };
        assert_eq!(m.measure_flow(&pairs(&[0.01, 0.03])), Ok(0.02));
        assert!(matches!(m.measure_flow(&pairs(&[])), Err(MetricError::TooFewFrames { .. })));
    }
}
