//! `frame_count`: how many frames the decoded video has. Catches generators that ignore the
//! requested duration and decoders that drop frames (the mp4 edit-list bug).

use crate::registry::{Direction, Metric, MetricError};
use crate::video::Video;

pub struct FrameCount;

impl Metric for FrameCount {
    fn id(&self) -> &'static str {
        "frame_count"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Number of decoded frames (all frames, no sampling)."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0e7)
    }
    fn compute(&self, video: &Video) -> Result<f64, MetricError> {
        Ok(video.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_frames() {
        let v = Video::new(2, 2, 8.0, vec![7; 2 * 2 * 3 * 9]).unwrap();
        assert_eq!(FrameCount.measure(&v), Ok(9.0));
    }
}
