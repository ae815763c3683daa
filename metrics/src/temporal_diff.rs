//! `temporal_diff`: mean absolute difference between consecutive frames over all pixels and
//! channels, on the decoded RGB8 values scaled to [0, 1]. All frames, native size, no resizing.
//!
//! It says how much a video changes from frame to frame: 0 for a frozen clip, larger for motion,
//! flicker or noise. It describes rather than judges, so its direction is neutral.

use crate::registry::{Direction, Metric, MetricError};
use crate::video::Video;

pub struct TemporalDiff;

impl Metric for TemporalDiff {
    fn id(&self) -> &'static str {
        "temporal_diff"
    }
    fn version(&self) -> u32 {
        1
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
    fn compute(&self, video: &Video) -> Result<f64, MetricError> {
        if video.len() < 2 {
            return Err(MetricError::TooFewFrames { needed: 2, got: video.len() });
        }
        // Integer sums per frame pair are exact; u64 cannot overflow below 2^56 pixels.
        let mut total: u64 = 0;
        for t in 1..video.len() {
            let (a, b) = (video.frame(t - 1), video.frame(t));
            total += a.iter().zip(b).map(|(&x, &y)| u64::from(x.abs_diff(y))).sum::<u64>();
        }
        let count = (video.len() - 1) as f64 * video.frame_bytes() as f64;
        Ok(total as f64 / (count * 255.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
