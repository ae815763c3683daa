//! `temporal_flicker`: VBench's temporal flickering score, 1 − mean |frame[t+1] − frame[t]| / 255
//! over all pixels and channels (all frames, native size). Meant for static-camera clips, where
//! any change is flicker; 1 is perfectly stable.

use crate::registry::{Direction, Metric, MetricError};
use crate::temporal_diff::TemporalDiff;
use crate::video::Video;

pub struct TemporalFlicker;

impl Metric for TemporalFlicker {
    fn id(&self) -> &'static str {
        "temporal_flicker"
    }
    fn version(&self) -> u32 {
        1
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
    fn compute(&self, video: &Video) -> Result<f64, MetricError> {
        Ok(1.0 - TemporalDiff.compute(video)?)
    }
}
