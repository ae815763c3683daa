//! `temporal_diff`: mean absolute difference between consecutive frames over all pixels and
//! channels, on the decoded RGB8 values scaled to [0, 1]. All frames, native size, no resizing.
//!
//! It says how much a video changes from frame to frame: 0 for a frozen clip, larger for motion,
//! flicker or noise. It describes rather than judges, so its direction is neutral.

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

pub struct TemporalDiff;

impl Metric for TemporalDiff {
    fn id(&self) -> &'static str {
        "temporal_diff"
    }
    fn version(&self) -> u32 {
        // 2: videos are decoded with PyAV's colour conversion (YUV sources change by ±1).
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        3
    }
    fn description(&self) -> &'static str {
        "Mean |frame[t+1] - frame[t]| over all pixels and channels, RGB scaled to [0,1], all frames."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Window(2)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(AbsDiff::default()))
    }
}

/// Sum of |frame[t] − frame[t−1]| over every byte of every consecutive pair.
#[derive(Default)]
pub(crate) struct AbsDiff {
    total: u64,
}

/// The sum of |a − b| over two byte slices, compiled for the machine's widest vector unit.
/// Integer sums are exact in any order: u32 partial sums over chunks that cannot overflow
/// (255 · 2^16 < 2^32) vectorise, then add up in u64.
struct SumAbsDiff<'a>(&'a [u8], &'a [u8]);

impl pulp::WithSimd for SumAbsDiff<'_> {
    type Output = u64;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> u64 {
        self.0
            .chunks(1 << 16)
            .zip(self.1.chunks(1 << 16))
            .map(|(ca, cb)| u64::from(ca.iter().zip(cb).map(|(&x, &y)| u32::from(x.abs_diff(y))).sum::<u32>()))
            .sum::<u64>()
    }
}

impl Accumulator for AbsDiff {
    fn push(&mut self, window: &mut Window) {
        if let (Some(a), Some(b)) = (window.frame(1), window.frame(0)) {
            self.total += pulp::Arch::new().dispatch(SumAbsDiff(a, b));
        }
    }
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        if window.len() < 2 {
            return Err(MetricError::TooFewFrames { needed: 2, got: window.len() });
        }
        let frame_bytes = window.width() as usize * window.height() as usize * 3;
        let count = (window.len() - 1) as f64 * frame_bytes as f64;
        Ok(self.total as f64 / (count * 255.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Video;

    fn clip(frames: &[u8]) -> Video {
        // One pixel per frame, all channels equal to the given level.
        let data = frames.iter().flat_map(|&v| [v, v, v]).collect();
        Video::new(1, 1, 8.0, data).unwrap()
    }

    #[test]
    fn frozen_video_scores_zero() {
        assert_eq!(TemporalDiff.measure(&clip(&[90, 90, 90, 90])), Ok(0.0));
    }

    #[test]
    fn alternating_black_white_scores_one() {
        assert_eq!(TemporalDiff.measure(&clip(&[0, 255, 0, 255])), Ok(1.0));
    }

    #[test]
    fn reversal_does_not_change_the_value() {
        let fwd = clip(&[0, 10, 40, 45, 200]);
        let rev = clip(&[200, 45, 40, 10, 0]);
        assert_eq!(TemporalDiff.measure(&fwd), TemporalDiff.measure(&rev));
        // (10 + 30 + 5 + 155) / 4 / 255
        let expected = 200.0 / 4.0 / 255.0;
        assert!((TemporalDiff.measure(&fwd).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn single_frame_is_an_error() {
        assert_eq!(TemporalDiff.measure(&clip(&[3])), Err(MetricError::TooFewFrames { needed: 2, got: 1 }));
    }
}
