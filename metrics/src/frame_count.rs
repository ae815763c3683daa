//! `frame_count`: how many frames the decoded video has. Catches generators that ignore the
//! requested duration and decoders that drop frames (the mp4 edit-list bug).

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

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
    fn reads(&self) -> Reads {
        Reads::Window(1)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(Count))
    }
}

struct Count;

impl Accumulator for Count {
    fn push(&mut self, _window: &mut Window) {}
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        Ok(window.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Video;

    #[test]
    fn counts_frames() {
        let v = Video::new(2, 2, 8.0, vec![7; 2 * 2 * 3 * 9]).unwrap();
        assert_eq!(FrameCount.measure(&v), Ok(9.0));
    }
}
