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

/// BT.601 luma of an RGB8 pixel, in [0, 1]: what every flow and motion measure sees.
#[inline(always)]
pub fn luma([r, g, b]: [u8; 3]) -> f32 {
    (0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)) / 255.0
}

impl Gray {
    pub fn from_rgb(rgb: &[u8], w: usize, h: usize) -> Gray {
        let data = rgb.as_chunks::<3>().0.iter().map(|&p| luma(p)).collect();
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
            let (y0, y1) = ((2 * y).min(self.h - 1), (2 * y + 1).min(self.h - 1));
            let (r0, r1) = (&self.data[y0 * self.w..][..self.w], &self.data[y1 * self.w..][..self.w]);
            for x in 0..w {
                let (x0, x1) = ((2 * x).min(self.w - 1), (2 * x + 1).min(self.w - 1));
                data.push(0.25 * (r0[x0] + r0[x1] + r1[x0] + r1[x1]));
            }
        }
        Gray { w, h, data }
    }
}

/// One pyramid level: the image and its central-difference gradients (edge-clamped), made once
/// per frame so a tracked window only interpolates them.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub image: Gray,
    ix: Vec<f32>,
    iy: Vec<f32>,
}

impl Level {
    fn new(image: Gray) -> Level {
        let (w, h) = (image.w, image.h);
        let d = &image.data;
        let mut ix = vec![0.0f32; w * h];
        let mut iy = vec![0.0f32; w * h];
        for y in 0..h {
            let row = &d[y * w..][..w];
            let (up, down) = (&d[y.saturating_sub(1) * w..][..w], &d[(y + 1).min(h - 1) * w..][..w]);
            let (gx, gy) = (&mut ix[y * w..][..w], &mut iy[y * w..][..w]);
            // Interior columns, then the two clamped edges.
            for x in 1..w.saturating_sub(1) {
                gx[x] = 0.5 * (row[x + 1] - row[x - 1]);
            }
            gx[0] = 0.5 * (row[1.min(w - 1)] - row[0]);
            gx[w - 1] = 0.5 * (row[w - 1] - row[w.saturating_sub(2)]);
            for x in 0..w {
                gy[x] = 0.5 * (down[x] - up[x]);
            }
        }
        Level { image, ix, iy }
    }
}

/// Image pyramid, finest level first.
pub fn pyramid(img: &Gray, levels: usize) -> Vec<Level> {
    let mut out = vec![Level::new(img.clone())];
    while out.len() < levels && out[out.len() - 1].image.w >= 16 && out[out.len() - 1].image.h >= 16 {
        let next = out[out.len() - 1].image.half();
        out.push(Level::new(next));
    }
    out
}

/// Window radius (the window is (2r+1)²).
pub const RADIUS: isize = 4;
const SIDE: usize = 2 * RADIUS as usize + 1;
const AREA: usize = SIDE * SIDE;
const ITERATIONS: usize = 12;
/// A level's Gauss–Newton refinement stops when a step is shorter than this (pixels; OpenCV's
/// default criterion for its pyramidal Lucas–Kanade).
const STEP_EPS: f32 = 0.01;
/// Minimum eigenvalue of the window's structure tensor for a trackable point.
const MIN_EIGEN: f32 = 1e-4;

/// Bilinear samples of `plane` (`w × h`, edge-clamped) on the window centred at `(x, y)`: one
/// fractional offset for the whole window, so the weights are computed once. A window inside
/// the plane reads its rows directly, and one at whole-pixel offsets (the grid's points at every
/// pyramid level) is a copy — the same values the weights would give.
#[inline(always)]
fn window(plane: &[f32], w: usize, h: usize, x: f32, y: f32, out: &mut [f32; AREA]) {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as isize - RADIUS, y0 as isize - RADIUS);
    if x0 >= 0 && y0 >= 0 && x0 as usize + SIDE < w && y0 as usize + SIDE < h {
        let (x0, y0) = (x0 as usize, y0 as usize);
        if fx == 0.0 && fy == 0.0 {
            for (j, dst) in out.chunks_exact_mut(SIDE).enumerate() {
                dst.copy_from_slice(&plane[(y0 + j) * w + x0..][..SIDE]);
            }
            return;
        }
        // Row by row: the horizontal blend of rows j and j + 1, then the vertical one.
        let (gx, gy) = (1.0 - fx, 1.0 - fy);
        let mut above = [0.0f32; SIDE];
        let mut below = [0.0f32; SIDE];
        let first = &plane[y0 * w + x0..][..SIDE + 1];
        for i in 0..SIDE {
            above[i] = first[i] * gx + first[i + 1] * fx;
        }
        for (j, dst) in out.chunks_exact_mut(SIDE).enumerate() {
            let line = &plane[(y0 + j + 1) * w + x0..][..SIDE + 1];
            for i in 0..SIDE {
                below[i] = line[i] * gx + line[i + 1] * fx;
            }
            for i in 0..SIDE {
                dst[i] = above[i] * gy + below[i] * fy;
            }
            above = below;
        }
        return;
    }
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let cols: [usize; SIDE + 1] = std::array::from_fn(|i| clamp(x0 + i as isize, w));
    let mut rows = [[0.0f32; SIDE]; SIDE + 1];
    for (j, row) in rows.iter_mut().enumerate() {
        let line = &plane[clamp(y0 + j as isize, h) * w..][..w];
        for (i, v) in row.iter_mut().enumerate() {
            *v = line[cols[i]] * (1.0 - fx) + line[cols[i + 1]] * fx;
        }
    }
    for (j, dst) in out.chunks_exact_mut(SIDE).enumerate() {
        for i in 0..SIDE {
            dst[i] = rows[j][i] * (1.0 - fy) + rows[j + 1][i] * fy;
        }
    }
}

/// Sums over the window of the `N` terms `term(k)`, in eight interleaved partial sums (the
/// processor adds them in parallel instead of waiting on one running total).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `lane` indexes the inner arrays of `acc`, one per term
fn sums<const N: usize>(term: impl Fn(usize) -> [f32; N]) -> [f32; N] {
    const LANES: usize = 8;
    let mut acc = [[0.0f32; LANES]; N];
    for base in (0..AREA - AREA % LANES).step_by(LANES) {
        for lane in 0..LANES {
            let t = term(base + lane);
            for n in 0..N {
                acc[n][lane] += t[n];
            }
        }
    }
    std::array::from_fn(|n| {
        let tail: f32 = (AREA - AREA % LANES..AREA).map(|k| term(k)[n]).sum();
        acc[n].iter().sum::<f32>() + tail
    })
}

/// Flow of the point (x, y) from `prev` to `next` (pyramids of the same depth); `None` where the
/// window is textureless or the solve diverges. Compiled for the machine's widest vector unit
/// (the same operations in the same order, no fused multiply-adds: the same flow everywhere).
pub fn track_point(prev: &[Level], next: &[Level], x: f32, y: f32) -> Option<[f32; 2]> {
    pulp::Arch::new().dispatch(Track { prev, next, x, y })
}

/// [`track_point`] as a pulp operation (its `with_simd` is inlined into the dispatch, and the
/// tracker into it, so they are compiled for the vector unit pulp picks).
struct Track<'a> {
    prev: &'a [Level],
    next: &'a [Level],
    x: f32,
    y: f32,
}

impl pulp::WithSimd for Track<'_> {
    type Output = Option<[f32; 2]>;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Option<[f32; 2]> {
        track(self.prev, self.next, self.x, self.y)
    }
}

#[inline(always)]
fn track(prev: &[Level], next: &[Level], x: f32, y: f32) -> Option<[f32; 2]> {
    let mut g = [0.0f32; 2];
    let (mut ia, mut ix, mut iy, mut ib) = ([0.0f32; AREA], [0.0f32; AREA], [0.0f32; AREA], [0.0f32; AREA]);
    for level in (0..prev.len()).rev() {
        let scale = (1 << level) as f32;
        let (px, py) = (x / scale, y / scale);
        let (a, b) = (&prev[level], &next[level].image);
        let (w, h) = (a.image.w, a.image.h);
        window(&a.image.data, w, h, px, py, &mut ia);
        window(&a.ix, w, h, px, py, &mut ix);
        window(&a.iy, w, h, px, py, &mut iy);
        // Structure tensor over the window.
        let [gxx, gxy, gyy] = sums(|k| [ix[k] * ix[k], ix[k] * iy[k], iy[k] * iy[k]]);
        let det = gxx * gyy - gxy * gxy;
        let tr = gxx + gyy;
        let min_eig = 0.5 * (tr - ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt());
        if min_eig < MIN_EIGEN * AREA as f32 || det.abs() < 1e-12 {
            if level == 0 {
                return None;
            }
            g = [g[0] * 2.0, g[1] * 2.0];
            continue;
        }
        let mut d = [0.0f32; 2];
        for _ in 0..ITERATIONS {
            window(&b.data, b.w, b.h, px + g[0] + d[0], py + g[1] + d[1], &mut ib);
            let [bx, by] = sums(|k| {
                let diff = ia[k] - ib[k];
                [diff * ix[k], diff * iy[k]]
            });
            let step = [(gyy * bx - gxy * by) / det, (gxx * by - gxy * bx) / det];
            d = [d[0] + step[0], d[1] + step[1]];
            if step[0] * step[0] + step[1] * step[1] <= STEP_EPS * STEP_EPS {
                break;
            }
        }
        g = if level == 0 { [g[0] + d[0], g[1] + d[1]] } else { [2.0 * (g[0] + d[0]), 2.0 * (g[1] + d[1])] };
        if !(g[0].is_finite() && g[1].is_finite()) || g[0].abs() > w as f32 * scale || g[1].abs() > h as f32 * scale {
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

/// The grid's coordinates along a side of `n` pixels.
fn axis(n: usize, stride: usize, margin: usize) -> impl Iterator<Item = usize> + Clone {
    (margin..).step_by(stride.max(1)).take_while(move |v| v + margin < n)
}

/// How many points [`grid`] holds.
pub fn grid_len(w: usize, h: usize, stride: usize, margin: usize) -> usize {
    axis(w, stride, margin).count() * axis(h, stride, margin).count()
}

/// The grid points of [`dense`], row by row.
fn grid(w: usize, h: usize, stride: usize, margin: usize) -> Vec<(f32, f32)> {
    let columns = axis(w, stride, margin);
    axis(h, stride, margin).flat_map(|y| columns.clone().map(move |x| (x as f32, y as f32))).collect()
}

/// [`dense`] on pyramids built once (a frame's pyramid serves both of its pairs). Points are
/// tracked in parallel; each is independent, so the result does not depend on the thread count.
pub fn dense_pyramids(pa: &[Level], pb: &[Level], stride: usize, margin: usize) -> Vec<(f32, f32, Option<[f32; 2]>)> {
    grid(pa[0].image.w, pa[0].image.h, stride, margin)
        .into_par_iter()
        .map(|(x, y)| (x, y, track_point(pa, pb, x, y)))
        .collect()
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
    pa: &[Level],
    pb: &[Level],
    stride: usize,
    margin: usize,
    max_fb: f32,
) -> Vec<(f32, f32, Option<[f32; 2]>)> {
    grid(pa[0].image.w, pa[0].image.h, stride, margin)
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
