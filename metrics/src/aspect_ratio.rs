//! `aspect_ratio`: the display aspect ratio, what a player shows — the decoded width times the
//! container's pixel aspect (its sample aspect ratio, 1 for square pixels) divided by the height.
//! An aspect-ratio suite compares it with the ratio it asked for.

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

pub struct AspectRatio;

impl Metric for AspectRatio {
    fn id(&self) -> &'static str {
        "aspect_ratio"
    }
    fn version(&self) -> u32 {
        // 2: non-square pixels count (an anamorphic 1440×1080 stream shown at 16:9 is 16:9).
        2
    }
    fn description(&self) -> &'static str {
        "Display aspect ratio: frame width times the pixel aspect ratio, divided by frame height (what a player shows)."
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
        Ok(f64::from(window.width()) * window.pixel_aspect() / f64::from(window.height()))
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

    #[test]
    fn wide_pixels_widen_the_picture() {
        // HDV: 1440×1080 coded, pixels 4:3 wide, shown at 16:9.
        let mut window = Window::new(144, 108, 8.0).unwrap().with_pixel_aspect(4.0 / 3.0);
        window.push(vec![0; 144 * 108 * 3]).unwrap();
        let value = Box::new(Ratio).finish(&window).unwrap();
        assert!((value - 16.0 / 9.0).abs() < 1e-12, "{value}");
    }
}
