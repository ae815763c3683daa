//! Optical flow by pyramidal Lucas–Kanade (Bouguet's formulation), implemented here so camera
//! and motion checks need no learned weights and work on any video.
//!
//! Frames are converted to luma (BT.601 weights) in [0, 1]; a pyramid halves the size per level
//! with a 2×2 box; at each level the displacement of a point is refined by Gauss–Newton steps on
//! a square window, using bilinear sampling. `dense` evaluates it on a regular grid (stride 1 is
//! every pixel). Points whose window has too little texture (small minimum eigenvalue of the
//! structure tensor) are reported invalid rather than guessed.

use rayon::prelude::*;

/// A single-channel image.
#[derive(Debug, Clone, PartialEq)]
pub struct Gray {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Gray {
    pub fn from_rgb(rgb: &[u8], w: usize, h: usize) -> Gray {
        let data = rgb
            .chunks_exact(3)
            .map(|p| (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) / 255.0)
            .collect();
        Gray { w, h, data }
    }

    #[inline]
    fn at(&self, x: isize, y: isize) -> f32 {
        let x = x.clamp(0, self.w as isize - 1) as usize;
        let y = y.clamp(0, self.h as isize - 1) as usize;
        self.data[y * self.w + x]
    }

    /// Bilinear sample with clamped edges.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as isize, y0 as isize);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x0 + 1, y0) * fx;
        let bottom = self.at(x0, y0 + 1) * (1.0 - fx) + self.at(x0 + 1, y0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn half(&self) -> Gray {
        let (w, h) = ((self.w / 2).max(1), (self.h / 2).max(1));
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = (2 * x as isize, 2 * y as isize);
                data.push(
                    0.25 * (self.at(sx, sy) + self.at(sx + 1, sy) + self.at(sx, sy + 1) + self.at(sx + 1, sy + 1)),
                );
            }
        }
        Gray { w, h, data }
    }
}

/// Image pyramid, finest level first.
pub fn pyramid(img: &Gray, levels: usize) -> Vec<Gray> {
    let mut out = vec![img.clone()];
    while out.len() < levels && out[out.len() - 1].w >= 16 && out[out.len() - 1].h >= 16 {
        let next = out[out.len() - 1].half();
        out.push(next);
    }
    out
}

/// Window radius (the window is (2r+1)²).
pub const RADIUS: isize = 4;
const ITERATIONS: usize = 12;
/// Minimum eigenvalue of the window's structure tensor for a trackable point.
const MIN_EIGEN: f32 = 1e-4;

/// Flow of the point (x, y) from `prev` to `next` (pyramids of the same depth); `None` where the
/// window is textureless or the solve diverges.
pub fn track_point(prev: &[Gray], next: &[Gray], x: f32, y: f32) -> Option<[f32; 2]> {
    let mut g = [0.0f32; 2];
    for level in (0..prev.len()).rev() {
        let scale = (1 << level) as f32;
        let (px, py) = (x / scale, y / scale);
        let (a, b) = (&prev[level], &next[level]);
        // Structure tensor from central differences over the window.
        let (mut gxx, mut gxy, mut gyy) = (0.0f32, 0.0f32, 0.0f32);
        let n = (2 * RADIUS + 1) as usize;
        let mut grads = Vec::with_capacity(n * n);
        for dy in -RADIUS..=RADIUS {
            for dx in -RADIUS..=RADIUS {
                let (sx, sy) = (px + dx as f32, py + dy as f32);
                let ix = 0.5 * (a.sample(sx + 1.0, sy) - a.sample(sx - 1.0, sy));
                let iy = 0.5 * (a.sample(sx, sy + 1.0) - a.sample(sx, sy - 1.0));
                gxx += ix * ix;
                gxy += ix * iy;
                gyy += iy * iy;
                grads.push((sx, sy, ix, iy, a.sample(sx, sy)));
            }
        }
        let det = gxx * gyy - gxy * gxy;
        let tr = gxx + gyy;
        let min_eig = 0.5 * (tr - ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt());
        if min_eig < MIN_EIGEN * (n * n) as f32 || det.abs() < 1e-12 {
            if level == 0 {
                return None;
            }
            g = [g[0] * 2.0, g[1] * 2.0];
            continue;
        }
        let mut d = [0.0f32; 2];
        for _ in 0..ITERATIONS {
            let (mut bx, mut by) = (0.0f32, 0.0f32);
            for &(sx, sy, ix, iy, ia) in &grads {
                let diff = ia - b.sample(sx + g[0] + d[0], sy + g[1] + d[1]);
                bx += diff * ix;
                by += diff * iy;
            }
            let step = [(gyy * bx - gxy * by) / det, (gxx * by - gxy * bx) / det];
            d = [d[0] + step[0], d[1] + step[1]];
            if step[0].abs() + step[1].abs() < 1e-3 {
                break;
            }
        }
        g = if level == 0 { [g[0] + d[0], g[1] + d[1]] } else { [2.0 * (g[0] + d[0]), 2.0 * (g[1] + d[1])] };
        if !(g[0].is_finite() && g[1].is_finite()) || g[0].abs() > a.w as f32 * scale || g[1].abs() > a.h as f32 * scale
        {
            return None;
        }
    }
    Some(g)
}

/// Flow on a grid: `(x, y, flow)` for every `stride`-th pixel centre at least `margin` pixels
/// from the border; untrackable points are `None`.
pub fn dense(prev: &Gray, next: &Gray, stride: usize, margin: usize) -> Vec<(f32, f32, Option<[f32; 2]>)> {
    dense_pyramids(&pyramid(prev, LEVELS), &pyramid(next, LEVELS), stride, margin)
}

/// Pyramid depth of [`dense`] and [`dense_checked`].
pub const LEVELS: usize = 3;

/// The grid points of [`dense`], row by row.
fn grid(w: usize, h: usize, stride: usize, margin: usize) -> Vec<(f32, f32)> {
    let stride = stride.max(1);
    let rows = (margin..).step_by(stride).take_while(|y| y + margin < h);
    rows.flat_map(|y| (margin..).step_by(stride).take_while(move |x| x + margin < w).map(move |x| (x as f32, y as f32)))
        .collect()
}

/// [`dense`] on pyramids built once (a frame's pyramid serves both of its pairs). Points are
/// tracked in parallel; each is independent, so the result does not depend on the thread count.
pub fn dense_pyramids(pa: &[Gray], pb: &[Gray], stride: usize, margin: usize) -> Vec<(f32, f32, Option<[f32; 2]>)> {
    grid(pa[0].w, pa[0].h, stride, margin).into_par_iter().map(|(x, y)| (x, y, track_point(pa, pb, x, y))).collect()
}

/// Like [`dense`], keeping only points that survive a forward–backward check: tracking the
/// result back to the first frame must land within `max_fb` pixels of the start (Kalal et al.,
/// 2010). Periodic textures and occlusion boundaries fail it instead of giving wrong vectors.
pub fn dense_checked(
    prev: &Gray,
    next: &Gray,
    stride: usize,
    margin: usize,
    max_fb: f32,
) -> Vec<(f32, f32, Option<[f32; 2]>)> {
    dense_checked_pyramids(&pyramid(prev, LEVELS), &pyramid(next, LEVELS), stride, margin, max_fb)
}

/// [`dense_checked`] on pyramids built once.
pub fn dense_checked_pyramids(
    pa: &[Gray],
    pb: &[Gray],
    stride: usize,
    margin: usize,
    max_fb: f32,
) -> Vec<(f32, f32, Option<[f32; 2]>)> {
    grid(pa[0].w, pa[0].h, stride, margin)
        .into_par_iter()
        .map(|(x, y)| {
            let ok = track_point(pa, pb, x, y).filter(|f| {
                track_point(pb, pa, x + f[0], y + f[1]).is_some_and(|b| (f[0] + b[0]).hypot(f[1] + b[1]) <= max_fb)
            });
            (x, y, ok)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth random texture (sum of sinusoids): exact sub-pixel shifts are analytic.
    fn texture(w: usize, h: usize, dx: f32, dy: f32) -> Gray {
        let f = |x: f32, y: f32| {
            0.5 + 0.2 * (0.31 * x + 0.17 * y).sin()
                + 0.15 * (0.23 * x - 0.41 * y).cos()
                + 0.1 * (0.11 * x * 1.3 + 0.29 * y).sin()
        };
        let data = (0..h).flat_map(|y| (0..w).map(move |x| f(x as f32 - dx, y as f32 - dy))).collect();
        Gray { w, h, data }
    }

    #[test]
    fn end_point_error_on_synthetic_translations_is_small() {
        for (dx, dy) in [(1.5f32, -0.75f32), (3.2, 2.1), (-6.0, 0.4), (0.0, 0.0)] {
            let (a, b) = (texture(96, 80, 0.0, 0.0), texture(96, 80, dx, dy));
            let flow = dense(&a, &b, 8, 12);
            let errs: Vec<f32> = flow.iter().filter_map(|(_, _, f)| f.map(|f| (f[0] - dx).hypot(f[1] - dy))).collect();
            let mean = errs.iter().sum::<f32>() / errs.len() as f32;
            // Bound chosen from measurement: mean end-point error ≈ 0.01 px on smooth texture.
            assert!(mean < 0.05, "shift ({dx}, {dy}): mean EPE {mean}");
            assert!(errs.len() * 10 >= flow.len() * 9, "too many untracked points");
        }
    }

    #[test]
    fn flat_regions_are_untrackable_not_guessed() {
        let flat = Gray { w: 40, h: 40, data: vec![0.5; 1600] };
        assert!(dense(&flat, &flat, 8, 8).iter().all(|(_, _, f)| f.is_none()));
    }
}
