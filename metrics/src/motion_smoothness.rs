//! `motion_smoothness`: can the middle frame of every triple be predicted from its neighbours?
//! Flow from frame t−1 to t+1 (checked) moves each grid point halfway to give its position in
//! frame t; the prediction is the mean of the two neighbours' values there. The score is
//! 1 − mean |prediction − frame t| in luma [0, 1] (VBench interpolates with a learned model; this
//! is the classical flow version). Smooth motion scores near 1; shuffled frames score lower.

use crate::consistency::{flow, grays};
use crate::registry::{Direction, Metric, MetricError};
use crate::video::Video;

pub struct MotionSmoothness;

impl Metric for MotionSmoothness {
    fn id(&self) -> &'static str {
        "motion_smoothness"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "1 − mean error of predicting each middle frame from its neighbours with half the t−1→t+1 flow (luma, native size)."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn compute(&self, video: &Video) -> Result<f64, MetricError> {
        if video.len() < 3 {
            return Err(MetricError::TooFewFrames { needed: 3, got: video.len() });
        }
        let g = grays(video);
        let (mut err, mut n) = (0.0f64, 0usize);
        for t in 1..g.len() - 1 {
            for (x, y, u, v) in flow(&g[t - 1], &g[t + 1]) {
                let predicted = 0.5 * (g[t - 1].sample(x, y) + g[t + 1].sample(x + u, y + v));
                err += f64::from((g[t].sample(x + 0.5 * u, y + 0.5 * v) - predicted).abs());
                n += 1;
            }
        }
        Ok(if n == 0 { 1.0 } else { 1.0 - err / n as f64 })
    }
}
