//! `dynamic_degree`: how much a clip moves. For every pair of consecutive frames, the 95th
//! percentile of checked Lucas–Kanade flow magnitudes (VBench takes the top 5% of RAFT flow),
//! scaled to a 256-pixel short side so resolutions compare; the clip's value is the mean over
//! pairs. A frozen clip scores 0. Luma, native size, stride-4 grid.

use crate::consistency::{flow, grays};
use crate::registry::{Direction, Metric, MetricError};
use crate::video::Video;

pub struct DynamicDegree;

impl Metric for DynamicDegree {
    fn id(&self) -> &'static str {
        "dynamic_degree"
    }
    fn version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Mean over frame pairs of the 95th-percentile flow magnitude, in pixels at a 256-px short side (0 = frozen)."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0e4)
    }
    fn compute(&self, video: &Video) -> Result<f64, MetricError> {
        if video.len() < 2 {
            return Err(MetricError::TooFewFrames { needed: 2, got: video.len() });
        }
        let g = grays(video);
        let scale = 256.0 / f64::from(video.width().min(video.height()));
        let mut total = 0.0;
        for t in 1..g.len() {
            let mut mags: Vec<f64> = flow(&g[t - 1], &g[t]).iter().map(|&(_, _, u, v)| f64::from(u.hypot(v))).collect();
            if mags.is_empty() {
                continue; // textureless pair: no measurable motion
            }
            mags.sort_by(f64::total_cmp);
            total += mags[(mags.len() * 95 / 100).min(mags.len() - 1)] * scale;
        }
        Ok(total / (g.len() - 1) as f64)
    }
}
