//! `motion_smoothness`: can the middle frame of every triple be predicted from its neighbours?
//! Flow from frame t−1 to t+1 (checked) moves each grid point halfway to give its position in
//! frame t; the prediction is the mean of the two neighbours' values there. The score is
//! 1 − mean |prediction − frame t| in luma [0, 1] (VBench interpolates with a learned model; this
//! is the classical flow version). Smooth motion scores near 1; shuffled frames score lower.
//! Luma at the flow analysis size ([`crate::analysis::flow_size`]).
//!
//! Version 2: measured at the analysis size (a short side above 256 is reduced to 256 first);
//! clips with a short side of 256 or less score as in version 1.
//! Version 3: Lucas–Kanade interpolates each window with one set of bilinear weights and
//! precomputed gradients, sums in eight partial sums, and stops refining at a 0.01-px step
//! (OpenCV's criterion; it was 0.001): values move by up to 6e-5 relative, 14× faster.

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

pub struct MotionSmoothness;

impl Metric for MotionSmoothness {
    fn id(&self) -> &'static str {
        "motion_smoothness"
    }
    fn version(&self) -> u32 {
        // 4: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range). 5: not measurable on frames with a short side under
        // 16 px (a 1×1 clip read a value). 6: a clip with no trackable point is not measurable
        // (a flat grey clip scored the best value). 7: flow on square pixels, as shown (an
        // anamorphic clip's frames were predicted in coded pixels), on frames area-averaged by
        // covered fraction (`preprocess::area_taps`).
        7
    }
    fn description(&self) -> &'static str {
        "1 − mean error of predicting each middle frame from its neighbours with half the t−1→t+1 flow (luma, flow at ≤ 256-px short side)."
    }
    fn direction(&self) -> Direction {
        Direction::HigherIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Window(3)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(MiddleFrameError { err: 0.0, n: 0 }))
    }
}

struct MiddleFrameError {
    err: f64,
    n: usize,
}

impl Accumulator for MiddleFrameError {
    fn push(&mut self, window: &mut Window) {
        let Some(flow) = window.flow(2) else { return };
        let (Some(first), Some(middle), Some(last)) = (window.pyramid(2), window.pyramid(1), window.pyramid(0)) else {
            return;
        };
        let (a, m, b) = (&first[0].image, &middle[0].image, &last[0].image);
        for &(x, y, u, v) in flow.iter() {
            let predicted = 0.5 * (a.sample(x, y) + b.sample(x + u, y + v));
            self.err += f64::from((m.sample(x + 0.5 * u, y + 0.5 * v) - predicted).abs());
            self.n += 1;
        }
    }
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        if window.len() < 3 {
            return Err(MetricError::TooFewFrames { needed: 3, got: window.len() });
        }
        window.flow_measurable()?;
        // No tracked point: no motion to call smooth (a flat grey clip scored a perfect 1.0).
        if self.n == 0 {
            return Err(MetricError::NoTexture);
        }
        Ok(1.0 - self.err / self.n as f64)
    }
}
