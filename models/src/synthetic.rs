//! A deterministic, prompt-aware clip generator for exercising the pipeline.
//!
//! It is not a learned model: it reads colour and direction words from the prompt and renders an
//! anti-aliased disc of that colour moving that way across a checkerboard whose tint comes from
//! the seed. That is enough to give metrics real, prompt- and seed-dependent videos, to make the
//! pipeline tests meaningful (same seed → same bytes; different seed → different video) and to be
//! the "best generator that exists" until the learned one lands.

use sha2::{Digest, Sha256};
use videval_metrics::Video;

use crate::palette::Color;

/// What to render; mirrors the generation parameters a suite resolves for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    pub prompt: &'a str,
    pub seed: u64,
    pub frames: u32,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// Bumped whenever the rendered pixels can change; part of every generation's cache key.
pub const VERSION: u32 = 1;

/// Subpixel samples per axis for anti-aliasing the disc edge.
const SUPERSAMPLE: u32 = 4;

pub fn render(req: &Request<'_>) -> Video {
    let words: Vec<String> =
        req.prompt.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).filter(|w| !w.is_empty()).collect();
    let seed_bytes: [u8; 32] = Sha256::new().chain_update(req.seed.to_le_bytes()).finalize().into();
    let color = words.iter().find_map(|w| Color::from_name(w)).unwrap_or(Color::ALL[seed_bytes[0] as usize % 8]);
    let (dx, dy) = direction(&words, seed_bytes[1]);

    let (w, h) = (req.width as usize, req.height as usize);
    let radius = 0.12 * h as f64;
    // Start offset from the centre against the motion so the disc crosses the frame centre.
    let travel = 0.5 * w.min(h) as f64;
    let (cx0, cy0) = (w as f64 / 2.0 - dx * travel / 2.0, h as f64 / 2.0 - dy * travel / 2.0);
    let tint = [seed_bytes[2] / 4, seed_bytes[3] / 4, seed_bytes[4] / 4];
    let cell = (h / 8).max(1);
    let rgb = color.rgb();

    let mut data = Vec::with_capacity(req.frames as usize * w * h * 3);
    for t in 0..req.frames {
        let progress = if req.frames > 1 { f64::from(t) / f64::from(req.frames - 1) } else { 0.0 };
        let (cx, cy) = (cx0 + dx * travel * progress, cy0 + dy * travel * progress);
        for y in 0..h {
            for x in 0..w {
                let base = if (x / cell + y / cell) % 2 == 0 { 200u8 } else { 150u8 };
                let cover = coverage(x as f64, y as f64, cx, cy, radius);
                for c in 0..3 {
                    let bg = f64::from(base.saturating_sub(tint[c]));
                    let v = bg + (f64::from(rgb[c]) - bg) * cover;
                    data.push(v.round() as u8);
                }
            }
        }
    }
    // Dimensions and fps come from a validated plan; an invalid request is a caller bug.
    Video::new(req.width, req.height, req.fps, data).unwrap_or_else(|e| panic!("synthetic::render: {e}"))
}

/// Unit motion vector from the prompt's direction words, or from the seed when none is given.
/// Image coordinates: +x right, +y down.
fn direction(words: &[String], seed_byte: u8) -> (f64, f64) {
    let has = |ws: &[&str]| words.iter().any(|w| ws.contains(&w.as_str()));
    if has(&["still", "static", "stationary", "motionless"]) {
        (0.0, 0.0)
    } else if has(&["left", "leftward", "leftwards"]) {
        (-1.0, 0.0)
    } else if has(&["right", "rightward", "rightwards"]) {
        (1.0, 0.0)
    } else if has(&["up", "upward", "rises", "rising", "ascends"]) {
        (0.0, -1.0)
    } else if has(&["down", "downward", "falls", "falling", "drops", "bounces"]) {
        (0.0, 1.0)
    } else {
        let angle = f64::from(seed_byte) / 256.0 * std::f64::consts::TAU;
        (angle.cos(), angle.sin())
    }
}

/// Fraction of pixel (px, py)'s area inside the disc, by regular supersampling.
fn coverage(px: f64, py: f64, cx: f64, cy: f64, r: f64) -> f64 {
    let (dx, dy) = (px + 0.5 - cx, py + 0.5 - cy);
    let d2 = dx * dx + dy * dy;
    // Pixels farther than r + one pixel diagonal are fully outside; nearer than r − that, inside.
    if d2 > (r + 0.71) * (r + 0.71) {
        return 0.0;
    }
    if r > 0.71 && d2 < (r - 0.71) * (r - 0.71) {
        return 1.0;
    }
    let n = SUPERSAMPLE;
    let mut inside = 0;
    for sy in 0..n {
        for sx in 0..n {
            let x = px + (f64::from(sx) + 0.5) / f64::from(n) - cx;
            let y = py + (f64::from(sy) + 0.5) / f64::from(n) - cy;
            if x * x + y * y <= r * r {
                inside += 1;
            }
        }
    }
    f64::from(inside) / f64::from(n * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: &str, seed: u64) -> Request<'_> {
        Request { prompt, seed, frames: 9, width: 48, height: 32, fps: 8.0 }
    }

    /// Centroid x of pixels close to `color` in frame t.
    fn centroid_x(v: &Video, t: usize, color: Color) -> f64 {
        let (mut sum, mut n) = (0.0, 0.0);
        let rgb = color.rgb();
        for (i, px) in v.frame(t).chunks_exact(3).enumerate() {
            let d: i32 = px.iter().zip(rgb).map(|(&a, b)| (i32::from(a) - i32::from(b)).abs()).sum();
            if d < 30 {
                sum += (i % v.width() as usize) as f64;
                n += 1.0;
            }
        }
        sum / n
    }

    #[test]
    fn same_seed_is_bit_identical_and_other_seeds_differ() {
        let a = render(&req("a red ball", 1));
        assert_eq!(a, render(&req("a red ball", 1)));
        assert_ne!(a.as_bytes(), render(&req("a red ball", 2)).as_bytes());
        assert_eq!((a.len(), a.width(), a.height()), (9, 48, 32));
    }

    #[test]
    fn the_prompt_colour_and_direction_are_rendered() {
        let right = render(&req("a blue ball rolls to the right", 3));
        let left = render(&req("a blue ball rolls to the left", 3));
        assert!(centroid_x(&right, 8, Color::Blue) > centroid_x(&right, 0, Color::Blue) + 10.0);
        assert!(centroid_x(&left, 8, Color::Blue) < centroid_x(&left, 0, Color::Blue) - 10.0);
    }

    #[test]
    fn a_still_prompt_gives_identical_frames() {
        let v = render(&req("a green ball sits still", 4));
        assert!(v.frames().all(|f| f == v.frame(0)));
    }
}
