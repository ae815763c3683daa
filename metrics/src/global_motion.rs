//! Global (camera) motion between frames: a similarity transform (zoom about the frame centre,
//! rotation, translation) fitted robustly by RANSAC to Lucas–Kanade flow on a grid, then refined
//! by least squares on the inliers. Moving objects are outliers; the textured background
//! decides.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::flow::{Gray, LEVELS, Level, dense_pyramids, pyramid};
use crate::video::Video;

/// Motion of the image content from one frame to the next: a point p (relative to the frame
/// centre) moves to `scale · R(rotation) · p + [tx, ty]` (pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Motion {
    pub tx: f64,
    pub ty: f64,
    pub scale: f64,
    pub rotation: f64,
    /// Points that support the fit, and points tracked.
    pub inliers: usize,
    pub tracked: usize,
}

impl Motion {
    pub const NONE: Motion = Motion { tx: 0.0, ty: 0.0, scale: 1.0, rotation: 0.0, inliers: 0, tracked: 0 };
}

const RANSAC_ITERS: usize = 256;
/// A fit needs this many inliers, spread over at least 1/`MIN_SPREAD` of the frame's width and
/// of its height.
pub const MIN_INLIERS: usize = 8;
const MIN_SPREAD: f64 = 2.0;
/// A point fits a motion within this distance (reduced pixels). At 0.5 px, a zoom with a shift
/// could fit within it both a still picture and an object crossing it at 0.8 px a frame.
const INLIER_PX: f64 = 0.25;

/// Parameters (a, b, tx, ty) of x' = a·x − b·y + tx, y' = b·x + a·y + ty from point pairs.
fn fit(pairs: &[([f64; 2], [f64; 2])]) -> Option<[f64; 4]> {
    // Normal equations of the linear least-squares problem in (a, b, tx, ty).
    let mut ata = [[0.0f64; 4]; 4];
    let mut atb = [0.0f64; 4];
    for &(p, q) in pairs {
        let rows = [([p[0], -p[1], 1.0, 0.0], q[0]), ([p[1], p[0], 0.0, 1.0], q[1])];
        for (r, v) in rows {
            for i in 0..4 {
                atb[i] += r[i] * v;
                for j in 0..4 {
                    ata[i][j] += r[i] * r[j];
                }
            }
        }
    }
    let x = crate::stats::linalg::solve(ata.iter().map(|r| r.to_vec()).collect(), atb.to_vec(), 1e-12)?;
    Some([x[0], x[1], x[2], x[3]])
}

fn residual(t: &[f64; 4], p: [f64; 2], q: [f64; 2]) -> f64 {
    let x = t[0] * p[0] - t[1] * p[1] + t[2];
    let y = t[1] * p[0] + t[0] * p[1] + t[3];
    (x - q[0]).hypot(y - q[1])
}

/// Frames whose short side exceeds this are box-averaged down by an integer factor before the
/// flow: natural textures are smooth at full resolution (a 9×9 window on a 256-pixel plaster
/// wall or wooden table sees too little gradient to track), and a camera's motion is the same
/// at any scale.
const MAX_SHORT_SIDE: usize = 160;

/// The factor frames of this size are reduced by (1 for small frames).
fn reduction(w: usize, h: usize) -> usize {
    w.min(h).div_ceil(MAX_SHORT_SIDE).max(1)
}

/// A frame's luma pyramid, as [`estimate_pyramids`] reads it, at its reduced size.
fn frame_pyramid(rgb: &[u8], w: usize, h: usize) -> Vec<Level> {
    let f = reduction(w, h);
    if f == 1 {
        return pyramid(&Gray::from_rgb(rgb, w, h), LEVELS);
    }
    pyramid(&pulp::Arch::new().dispatch(Reduce { rgb, w, h, f }), LEVELS)
}

/// A frame's luma box-averaged over `f × f` blocks (the part past the last whole block dropped),
/// compiled for the machine's widest vector unit. Each block's sum takes its pixels row by row,
/// left to right, as a pixel-by-pixel pass over the frame would.
struct Reduce<'a> {
    rgb: &'a [u8],
    w: usize,
    h: usize,
    f: usize,
}

impl pulp::WithSimd for Reduce<'_> {
    type Output = Gray;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Gray {
        let Reduce { rgb, w, h, f } = self;
        let (rw, rh) = (w / f, h / f);
        let mut data = vec![0.0f32; rw * rh];
        let mut luma = vec![0.0f32; w];
        for y in 0..rh * f {
            for (v, &p) in luma.iter_mut().zip(rgb[y * w * 3..(y + 1) * w * 3].as_chunks::<3>().0) {
                *v = crate::flow::luma(p);
            }
            let cells = &mut data[(y / f) * rw..][..rw];
            for (cell, block) in cells.iter_mut().zip(luma.chunks_exact(f)) {
                for &v in block {
                    *cell += v;
                }
            }
        }
        let k = 1.0 / (f * f) as f32;
        data.iter_mut().for_each(|v| *v *= k);
        Gray { w: rw, h: rh, data }
    }
}

/// Global motion from frame `a` to frame `b` (RGB8, same size).
pub fn estimate(a: &[u8], b: &[u8], w: usize, h: usize) -> Motion {
    full_size(estimate_pyramids(&frame_pyramid(a, w, h), &frame_pyramid(b, w, h)), w, h)
}

/// A motion measured on reduced frames, in the frames' own pixels. A reduced pixel's centre
/// sits at the centre of its f×f block, and both frames are reduced alike, so translations
/// scale by f and zoom and rotation are unchanged.
fn full_size(m: Motion, w: usize, h: usize) -> Motion {
    let f = reduction(w, h) as f64;
    Motion { tx: m.tx * f, ty: m.ty * f, ..m }
}

/// [`estimate`] on the frames' pyramids (each frame's is built once along a clip).
fn estimate_pyramids(pa: &[Level], pb: &[Level]) -> Motion {
    let (w, h) = (pa[0].image.w, pa[0].image.h);
    let stride = (w.min(h) / 16).max(2);
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let pairs: Vec<([f64; 2], [f64; 2])> = dense_pyramids(pa, pb, stride, 6)
        .into_iter()
        .filter_map(|(x, y, f)| {
            let f = f?;
            let p = [f64::from(x) - cx, f64::from(y) - cy];
            Some((p, [p[0] + f64::from(f[0]), p[1] + f64::from(f[1])]))
        })
        .collect();
    if pairs.len() < 4 {
        return Motion { tracked: pairs.len(), ..Motion::NONE };
    }
    // Deterministic RANSAC: a fixed seed gives the same fit for the same frames. A fit costs
    // each point its squared residual, at most the inlier bound's (MSAC, Torr & Zisserman 2000):
    // counting points within 0.5 px let a zoom and a shift that half fit both a still garage
    // and a tram crossing it at 1.2 px a frame outvote the garage (224 points to 196, "pan left
    // 0.034/s" for a tripod shot); the still garage fits its own points closely.
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let cost =
        |t: &[f64; 4]| pairs.iter().map(|(p, q)| residual(t, *p, *q).powi(2).min(INLIER_PX * INLIER_PX)).sum::<f64>();
    let mut best: (f64, [f64; 4]) = (f64::INFINITY, [1.0, 0.0, 0.0, 0.0]);
    for _ in 0..RANSAC_ITERS {
        let i = rng.random_range(0..pairs.len());
        let j = rng.random_range(0..pairs.len());
        if i == j {
            continue;
        }
        let Some(t) = fit(&[pairs[i], pairs[j]]) else { continue };
        let c = cost(&t);
        if c < best.0 {
            best = (c, t);
        }
    }
    let inliers: Vec<_> = pairs.iter().copied().filter(|(p, q)| residual(&best.1, *p, *q) < INLIER_PX).collect();
    // The camera moves the whole picture: support from a few points, or from one small region,
    // is an object moving over a background too smooth to track (a sky), not the camera. Such
    // a fit measures nothing.
    let span = |k: usize| {
        let (lo, hi) = inliers.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (p, _)| (lo.min(p[k]), hi.max(p[k])));
        (hi - lo).max(0.0)
    };
    if inliers.len() < MIN_INLIERS || span(0) * MIN_SPREAD < w as f64 || span(1) * MIN_SPREAD < h as f64 {
        return Motion { tracked: pairs.len(), ..Motion::NONE };
    }
    let t = fit(&inliers).unwrap_or(best.1);
    Motion {
        tx: t[2],
        ty: t[3],
        scale: t[0].hypot(t[1]),
        rotation: t[1].atan2(t[0]),
        inliers: inliers.len(),
        tracked: pairs.len(),
    }
}

/// Global motion between every pair of consecutive frames.
pub fn camera_path(video: &Video) -> Vec<Motion> {
    let (w, h) = (video.width() as usize, video.height() as usize);
    let mut pyramids = video.frames().map(|f| frame_pyramid(f, w, h));
    let Some(mut previous) = pyramids.next() else { return Vec::new() };
    pyramids
        .map(|next| {
            let m = full_size(estimate_pyramids(&previous, &next), w, h);
            previous = next;
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reduced frame is the pixel-by-pixel definition's, bit for bit: each block summed over
    /// the frame's luma row by row, left to right, then scaled (sizes with a partial last block).
    #[test]
    fn reduction_is_the_pixel_by_pixel_box_average() {
        for (w, h) in [(640usize, 360usize), (1001, 563), (333, 1000)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 2_654_435_761) >> 11) as u8).collect();
            let f = reduction(w, h);
            assert!(f > 1, "{w}x{h}");
            let full = Gray::from_rgb(&rgb, w, h);
            let (rw, rh) = (w / f, h / f);
            let mut want = vec![0.0f32; rw * rh];
            for y in 0..rh * f {
                for x in 0..rw * f {
                    want[(y / f) * rw + x / f] += full.data[y * w + x];
                }
            }
            let k = 1.0 / (f * f) as f32;
            want.iter_mut().for_each(|v| *v *= k);
            let got = pulp::Arch::new().dispatch(Reduce { rgb: &rgb, w, h, f });
            assert_eq!((got.w, got.h), (rw, rh));
            assert!(got.data.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "{w}x{h}");
        }
    }

    fn textured(w: usize, h: usize, shift: [f64; 2], zoom: f64) -> Vec<u8> {
        coarse(w, h, shift, zoom, 1.0)
    }

    /// [`textured`] with its features `grain` times larger.
    fn coarse(w: usize, h: usize, shift: [f64; 2], zoom: f64, grain: f64) -> Vec<u8> {
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let mut out = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                // Content point that lands at pixel (x, y).
                let (u, v) = (((x as f64 - cx) - shift[0]) / zoom / grain, ((y as f64 - cy) - shift[1]) / zoom / grain);
                let l = 128.0 + 50.0 * (0.37 * u).sin() * (0.29 * v).cos() + 40.0 * (0.21 * u + 0.33 * v).sin();
                let l = l.round().clamp(0.0, 255.0) as u8;
                out.extend([l, l, l]);
            }
        }
        out
    }

    #[test]
    fn recovers_translation_and_zoom() {
        let (w, h) = (96, 72);
        let a = textured(w, h, [0.0, 0.0], 1.0);
        let m = estimate(&a, &textured(w, h, [2.5, -1.5], 1.0), w, h);
        assert!((m.tx - 2.5).abs() < 0.1 && (m.ty + 1.5).abs() < 0.1, "{m:?}");
        assert!((m.scale - 1.0).abs() < 0.005);
        let z = estimate(&a, &textured(w, h, [0.0, 0.0], 1.04), w, h);
        assert!((z.scale - 1.04).abs() < 0.005 && z.tx.abs() < 0.2, "{z:?}");
    }

    /// Large frames are reduced (by 3 at 480 px) and the motion comes back in their own pixels.
    #[test]
    fn large_frames_are_measured_reduced_in_their_own_pixels() {
        let (w, h) = (640, 480);
        assert_eq!(reduction(w, h), 3);
        let a = coarse(w, h, [0.0, 0.0], 1.0, 3.0);
        let m = estimate(&a, &coarse(w, h, [7.5, -4.5], 1.0, 3.0), w, h);
        assert!((m.tx - 7.5).abs() < 0.3 && (m.ty + 4.5).abs() < 0.3, "{m:?}");
        let z = estimate(&a, &coarse(w, h, [0.0, 0.0], 1.03, 3.0), w, h);
        assert!((z.scale - 1.03).abs() < 0.005 && z.tx.abs() < 0.5, "{z:?}");
    }

    /// A still textured picture with a differently textured panel over a third of it, crossing
    /// at 0.8–1.6 px a frame: the camera is still. Counted within 0.5 px, a zoom with a shift
    /// that half fits the panel and half the picture outvoted the picture (a tram crossing a
    /// tripod shot read as a pan); by their residuals within 0.25 px, the still picture's close
    /// fit wins.
    #[test]
    fn a_large_object_crossing_a_still_picture_is_no_camera_move() {
        let (w, h) = (160, 96);
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let frame = |dx: f64, (x0, x1): (usize, usize)| {
            let back = textured(w, h, [0.0, 0.0], 1.0);
            let mut f = back.clone();
            for y in 16..80 {
                for x in x0..x1 {
                    // The panel's own pattern, carried dx to the right.
                    let (u, v) = (x as f64 - cx - dx, y as f64 - cy);
                    let l = 120.0 + 60.0 * (0.53 * u + 0.11 * v).sin() + 45.0 * (0.41 * v - 0.19 * u).cos();
                    f[(y * w + x) * 3..(y * w + x) * 3 + 3].fill(l.round().clamp(0.0, 255.0) as u8);
                }
            }
            f
        };
        // Panels over 29–38% of the frame, from its left edge to its right.
        for panel in [(8, 80), (20, 90), (40, 110), (60, 152)] {
            for step in [0.8, 1.2, 1.6] {
                let m = estimate(&frame(0.0, panel), &frame(step, panel), w, h);
                assert!(
                    m.tx.abs() < 0.1 && m.ty.abs() < 0.1 && (m.scale - 1.0).abs() < 0.001 && m.rotation.abs() < 0.001,
                    "{panel:?} {step}: {m:?}"
                );
            }
        }
    }

    /// A textured square moving over a flat gray picture is an object, not the camera: its
    /// support covers a small part of the frame, so the fit measures nothing.
    #[test]
    fn an_object_over_a_textureless_picture_is_not_a_camera_move() {
        let (w, h) = (96, 72);
        let frame = |dx: usize| {
            let t = textured(w, h, [dx as f64, 0.0], 1.0);
            let mut f = vec![128u8; w * h * 3];
            for y in 20..44 {
                for x in 20 + dx..44 + dx {
                    f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&t[(y * w + x) * 3..(y * w + x) * 3 + 3]);
                }
            }
            f
        };
        let m = estimate(&frame(0), &frame(2), w, h);
        assert_eq!((m.inliers, m.tx, m.ty), (0, 0.0, 0.0), "{m:?}");
    }
}
