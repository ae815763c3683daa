//! `warping_error`: mean |frame[t+1](p + flow) − frame[t](p)| in luma [0, 1] over grid points
//! whose flow passes the forward–backward check (the check is the occlusion mask). Lower is more
//! temporally consistent; a frozen clip scores 0. Luma at the flow analysis size
//! ([`crate::analysis::flow_size`]).
//!
//! Version 2: measured at the analysis size (a short side above 256 is reduced to 256 first);
//! clips with a short side of 256 or less score as in version 1.
//! Version 3: Lucas–Kanade interpolates each window with one set of bilinear weights and
//! precomputed gradients, sums in eight partial sums, and stops refining at a 0.01-px step
//! (OpenCV's criterion; it was 0.001): values move by up to 6e-5 relative, 14× faster.

use crate::analysis::{Accumulator, Window};
use crate::registry::{Direction, Metric, MetricError, Reads};

pub struct WarpingError;

impl Metric for WarpingError {
    fn id(&self) -> &'static str {
        "warping_error"
    }
    fn version(&self) -> u32 {
        // 4: decoding follows each frame's colour tags (a BT.709 or full-range video was
        // read as BT.601 limited range). 5: not measurable on frames with a short side under
        // 16 px (a 1×1 clip read a value). 6: a clip with no trackable point is not measurable
        // (a flat grey clip scored the best value). 7: flow on square pixels, as shown (an
        // anamorphic clip's frames were warped in coded pixels), on frames area-averaged by
        // covered fraction (a box of whole pixels made an uneven grid at non-integer ratios:
        // the same clip read 0.00264 from 1080p and 0.00340 from 480p).
        7
    }
    fn description(&self) -> &'static str {
        "Mean luma error of warping each frame onto the next with checked flow, occlusions masked (flow at ≤ 256-px short side)."
    }
    fn direction(&self) -> Direction {
        Direction::LowerIsBetter
    }
    fn range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }
    fn reads(&self) -> Reads {
        Reads::Window(2)
    }
    fn stream(&self) -> Option<Box<dyn Accumulator>> {
        Some(Box::new(WarpError { err: 0.0, n: 0 }))
    }
}

struct WarpError {
    err: f64,
    n: usize,
}

impl Accumulator for WarpError {
    fn push(&mut self, window: &mut Window) {
        let Some(flow) = window.flow(1) else { return };
        let (Some(prev), Some(next)) = (window.pyramid(1), window.pyramid(0)) else { return };
        let (a, b) = (&prev[0].image, &next[0].image);
        for &(x, y, u, v) in flow.iter() {
            self.err += f64::from((b.sample(x + u, y + v) - a.sample(x, y)).abs());
            self.n += 1;
        }
    }
    fn finish(self: Box<Self>, window: &Window) -> Result<f64, MetricError> {
        if window.len() < 2 {
            return Err(MetricError::TooFewFrames { needed: 2, got: window.len() });
        }
        window.flow_measurable()?;
        // No tracked point: nothing warped (a flat grey clip scored a perfect 0).
        if self.n == 0 {
            return Err(MetricError::NoTexture);
        }
        Ok(self.err / self.n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic_degree::DynamicDegree;
    use crate::motion_smoothness::MotionSmoothness;
    use crate::temporal_flicker::TemporalFlicker;
    use crate::video::Video;

    /// A smooth texture translated by `speed` px per frame: exact ground-truth motion.
    fn moving(frames: usize, speed: f64, order: &[usize]) -> Video {
        let shifts: Vec<f64> = order.iter().take(frames).map(|&t| speed * t as f64).collect();
        crate::analysis::tests::shifted(64, 48, &shifts)
    }

    #[test]
    fn frozen_clips_do_not_move_or_flicker() {
        let frozen = moving(6, 0.0, &[0, 0, 0, 0, 0, 0]);
        assert_eq!(DynamicDegree.measure(&frozen).unwrap(), 0.0);
        assert_eq!(TemporalFlicker.measure(&frozen).unwrap(), 1.0);
        assert!(WarpingError.measure(&frozen).unwrap() < 1e-6);
        assert!(MotionSmoothness.measure(&frozen).unwrap() > 0.999);
    }

    /// The same small object moving over a flat and over a textured still background reads
    /// about the same (the 95th percentile of the tracked points read it tenfold higher over the
    /// flat one, where only the object's points were tracked), and far above the still scene.
    #[test]
    fn dynamic_degree_reads_the_motion_not_the_background() {
        let (w, h, n) = (96usize, 72usize, 12usize);
        let texture = |x: f64, y: f64| 128.0 + 50.0 * (0.7 * x + 0.3 * y).sin() * (0.4 * x - 0.9 * y).cos();
        let clip = |textured: bool, speed: f64| {
            let mut data = Vec::with_capacity(w * h * 3 * n);
            for t in 0..n {
                let x0 = 20.0 + speed * t as f64;
                for y in 0..h {
                    for x in 0..w {
                        let (fx, fy) = (x as f64, y as f64);
                        let inside = (x0..x0 + 20.0).contains(&fx) && (26.0..46.0).contains(&fy);
                        let v = if inside {
                            255.0 - texture(fx - x0 + 5.0, fy + 3.0)
                        } else if textured {
                            texture(fx, fy)
                        } else {
                            128.0
                        };
                        data.extend([v as u8; 3]);
                    }
                }
            }
            Video::new(w as u32, h as u32, 8.0, data).unwrap()
        };
        let (flat, busy, still) = (clip(false, 2.0), clip(true, 2.0), clip(true, 0.0));
        let [a, b, s] = [&flat, &busy, &still].map(|v| DynamicDegree.measure(v).unwrap());
        assert!(a > 3.0 * s.max(1.0) && b > 3.0 * s.max(1.0), "flat {a}, textured {b}, still {s}");
        assert!((a / b - 1.0).abs() < 0.5, "flat {a}, textured {b}");
    }

    /// A flat picture (a collapsed generator's grey, strobing) has no point to track: the motion
    /// metrics are not measurable, not frozen (0) or perfectly smooth (1) and unwarped (0).
    #[test]
    fn a_flat_clip_has_no_motion_to_measure() {
        let data: Vec<u8> = (0..6).flat_map(|t| vec![if t % 2 == 0 { 100u8 } else { 160 }; 64 * 48 * 3]).collect();
        let flat = Video::new(64, 48, 8.0, data).unwrap();
        for m in [&DynamicDegree as &dyn Metric, &MotionSmoothness, &WarpingError] {
            assert!(matches!(m.measure(&flat), Err(MetricError::NoTexture)), "{}: {:?}", m.id(), m.measure(&flat));
        }
        assert!(TemporalFlicker.measure(&flat).unwrap() < 0.9, "flicker sees it");
    }

    #[test]
    fn dynamic_degree_measures_the_shift() {
        // 2 px per frame at a 48-px short side is 2 · 256/48 ≈ 10.7 px at 256, 85 px/s at 8 fps.
        let v = moving(6, 2.0, &[0, 1, 2, 3, 4, 5]);
        let d = DynamicDegree.measure(&v).unwrap();
        assert!((d - 8.0 * 2.0 * 256.0 / 48.0).abs() < 4.0, "{d}");
        assert!(WarpingError.measure(&v).unwrap() < 0.01);
    }

    /// The same motion per second reads the same at any frame rate: a 24 px/s pan sampled at 8
    /// fps (3 px a pair) and at 24 fps (1 px a pair).
    #[test]
    fn dynamic_degree_is_per_second() {
        let at = |fps: f64, step: f64, n: usize| {
            let v = moving(n, step, &(0..n).collect::<Vec<_>>());
            let data: Vec<u8> = v.frames().flatten().copied().collect();
            DynamicDegree.measure(&Video::new(v.width(), v.height(), fps, data).unwrap()).unwrap()
        };
        let (slow, fast) = (at(8.0, 3.0, 6), at(24.0, 1.0, 16));
        let want = 24.0 * 256.0 / 48.0;
        assert!(
            (slow - want).abs() < 0.05 * want && (fast - want).abs() < 0.05 * want,
            "8 fps {slow}, 24 fps {fast}, want {want}"
        );
    }

    #[test]
    fn shuffling_frames_breaks_smoothness() {
        let smooth = moving(8, 1.5, &[0, 1, 2, 3, 4, 5, 6, 7]);
        let shuffled = moving(8, 1.5, &[0, 5, 2, 7, 1, 6, 3, 4]);
        let (a, b) = (MotionSmoothness.measure(&smooth).unwrap(), MotionSmoothness.measure(&shuffled).unwrap());
        assert!(a > 0.99 && b < a - 0.02, "smooth {a}, shuffled {b}");
    }
}
