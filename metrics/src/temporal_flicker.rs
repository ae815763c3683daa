//! `temporal_flicker`: VBench's temporal flickering score, 1 − mean |frame[t+1] − frame[t]| / 255
//! over all pixels and channels (all frames, native size). Meant for static-camera clips, where
//! any change is flicker; 1 is perfectly stable.

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};
use crate::temporal_diff::AbsDiff;

pub struct TemporalFlicker;

impl Metric for TemporalFlicker {
    fn id(&self) -> &'static str {
        "temporal_flicker"
    }
    fn version(&self) -> u32 {
        // 2: videos are decoded with PyAV's colour conversion (YUV sources change by ±1).
        // 3: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range).
        3
    }
    fn description(&self) -> &'static str {
        "VBench temporal flickering: 1 − mean |consecutive-frame difference| / 255, all frames, native size (static scenes)."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Window(2)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(Flicker(Box::new(AbsDiff::default()))))
    }
}

/// 1 − the mean absolute difference of consecutive frames.
struct Flicker(Box<AbsDiff>);

impl Accumulator for Flicker {
    fn push(&mut self, window: &mut Window) {
        self.0.push(window);
    }
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        Ok(1.0 - self.0.finish(window)?)
    }
}
