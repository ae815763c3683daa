//! `aspect_ratio`: decoded width divided by height, in display pixels as stored (square pixels
//! assumed). An aspect-ratio suite compares it with the ratio it asked for.

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

pub struct AspectRatio;

impl Metric for AspectRatio {
    fn id(&self) -> &'static str {
        "aspect_ratio"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Frame width divided by frame height of the decoded video (square pixels)."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        (1.0e-4, 1.0e4)
    }
    fn reads(&self) -> Reads {
        Reads::Window(1)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(Ratio))
    }
}

struct Ratio;

impl Accumulator for Ratio {
    fn push(&mut self, _window: &mut Window) {}
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        Ok(f64::from(window.width()) / f64::from(window.height()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Video;

    #[test]
    fn portrait_is_below_one_and_landscape_above() {
        let portrait = Video::new(9, 16, 8.0, vec![0; 9 * 16 * 3]).unwrap();
        let wide = Video::new(21, 9, 8.0, vec![0; 21 * 9 * 3]).unwrap();
        assert_eq!(AspectRatio.measure(&portrait), Ok(9.0 / 16.0));
        assert_eq!(AspectRatio.measure(&wide), Ok(21.0 / 9.0));
    }
}
