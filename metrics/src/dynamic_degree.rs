//! `dynamic_degree`: how much a clip moves. For every pair of consecutive frames, the mean of
//! the largest 5% of checked Lucas–Kanade flow magnitudes over the flow grid, untracked points
//! as no motion (VBench's estimate on RAFT flow over every pixel),
//! in pixels at a 256-pixel short side so resolutions compare, per second so frame rates compare
//! (the pair's motion times the frame rate); the clip's value is the mean over pairs. A frozen
//! clip scores 0. Luma at the flow analysis size
//! ([`crate::analysis::flow_size`]), stride-4 grid or 1/32 of the short side.
//!
//! Version 2: flow at the analysis size (a short side above 256 is reduced to 256 first);
//! clips with a short side of 256 or less score as in version 1.
//! Version 3: Lucas–Kanade interpolates each window with one set of bilinear weights and
//! precomputed gradients, sums in eight partial sums, and stops refining at a 0.01-px step
//! (OpenCV's criterion; it was 0.001): values move by up to 6e-5 relative, 14× faster.
//! Version 7: per second instead of per frame pair (the same pan read 2.96 at 24 fps and 1.27 at
//! 60, so a 60-fps model looked half as dynamic as a 24-fps one): values are version 6's times
//! the frame rate.
//! Version 8: the mean of the largest 5% over every grid point, a point that could not be
//! tracked counting as no motion seen, where it was the 95th percentile of the tracked points
//! (the value rose tenfold when the background was smoother or more compressed, the motion
//! unchanged; a small object over a flat background would read as still).

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

pub struct DynamicDegree;

impl Metric for DynamicDegree {
    fn id(&self) -> &'static str {
        "dynamic_degree"
    }
    fn version(&self) -> u32 {
        // 4: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range). 5: not measurable on frames with a short side under
        // 16 px (a 1×1 clip read a value). 6: a clip whose pairs have no trackable point is not
        // measurable (a flat grey clip read as frozen, 0). 7: per second (times the frame rate),
        // not per frame pair. 8: the mean of the largest 5% over every grid point, untracked ones
        // as no motion (the 95th percentile of the tracked ones rose tenfold with a smoother
        // background). 9: flow on square pixels, as shown (an anamorphic clip's sideways
        // motion read in coded pixels), on frames area-averaged by covered fraction
        // (`preprocess::area_taps`).
        9
    }
    fn description(&self) -> &'static str {
        "Mean over frame pairs of the mean of the largest 5% of flow magnitudes over the flow grid (untracked points as no motion), in pixels per second at a 256-px short side (0 = frozen); luma, flow at ≤ 256-px short side."
    }
    fn direction(&self) -> Direction {
        Direction::Neutral
    }
    fn range(&self) -> (f64, f64) {
        // Pixels per second at a 256-px short side: a fast pan reads a few hundred; a pair's
        // motion is bounded by the frame (flow is checked inside it), times the frame rate.
        (0.0, 1.0e7)
    }
    fn reads(&self) -> Reads {
        Reads::Window(2)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(TopMotion { total: 0.0, measured: 0 }))
    }
}

struct TopMotion {
    total: f64,
    /// Pairs with a trackable point.
    measured: usize,
}

impl Accumulator for TopMotion {
    fn push(&mut self, window: &mut Window) {
        let Some(flow) = window.flow(1) else { return };
        let mut mags: Vec<f64> = flow.iter().map(|&(_, _, u, v)| f64::from(u.hypot(v))).collect();
        if mags.is_empty() {
            return; // textureless pair: no measurable motion
        }
        self.measured += 1;
        mags.sort_by(f64::total_cmp);
        // VBench's estimate: the mean of the largest 5% of the magnitudes over every grid point,
        // a point that could not be tracked (flat, or failing the forward–backward check)
        // counting as no motion seen. Over the tracked points alone the same ball crossing the
        // frame read 6.9 over a textured wall and 76 over a smooth one, and 46 after H.264 at
        // CRF 35 smoothed the wall (VBench's RAFT flow covers every pixel).
        let all = window.flow_grid_points().max(mags.len());
        let k = (all * 5 / 100).max(1);
        let top = mags.iter().rev().take(k).sum::<f64>() / k as f64;
        let (w, h) = window.flow_dims();
        let scale = 256.0 / f64::from(w.min(h));
        self.total += top * scale * window.fps();
    }
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        if window.len() < 2 {
            return Err(MetricError::TooFewFrames { needed: 2, got: window.len() });
        }
        window.flow_measurable()?;
        if self.measured == 0 {
            return Err(MetricError::NoTexture);
        }
        Ok(self.total / (window.len() - 1) as f64)
    }
}
