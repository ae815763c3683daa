//! Controlled degradations of a video, for metamorphic tests of metrics and extractors (a
//! distribution metric must grow with each one's strength). Deterministic: noise comes from a
//! seed, shuffles from a seeded permutation.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::video::Video;

fn rebuild(v: &Video, data: Vec<u8>) -> Video {
    // Same geometry and frame rate as a valid input: cannot fail.
    Video::new(v.width(), v.height(), v.fps(), data).unwrap_or_else(|_| v.clone())
}

/// Box blur of radius `r` pixels (edges clamped), every frame.
pub fn blur(v: &Video, r: usize) -> Video {
    let (w, h) = (v.width() as usize, v.height() as usize);
    let mut out = Vec::with_capacity(v.as_bytes().len());
    for f in v.frames() {
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let (mut sum, mut n) = (0u32, 0u32);
                    for yy in y.saturating_sub(r)..=(y + r).min(h - 1) {
                        for xx in x.saturating_sub(r)..=(x + r).min(w - 1) {
                            sum += u32::from(f[(yy * w + xx) * 3 + c]);
                            n += 1;
                        }
                    }
                    out.push(((sum + n / 2) / n) as u8);
                }
            }
        }
    }
    rebuild(v, out)
}

/// Additive Gaussian noise of standard deviation `sigma` (in 0–255 units), clamped.
pub fn noise(v: &Video, sigma: f64, seed: u64) -> Video {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let out = v
        .as_bytes()
        .iter()
        .map(|&b| {
            let u1: f64 = rng.random_range(f64::EPSILON..1.0);
            let u2: f64 = rng.random();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (f64::from(b) + sigma * z).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    rebuild(v, out)
}

/// Adds `shift` to red and subtracts it from blue (a colour cast), clamped.
pub fn colour_shift(v: &Video, shift: i32) -> Video {
    let out = v
        .as_bytes()
        .iter()
        .enumerate()
        .map(|(i, &b)| match i % 3 {
            0 => (i32::from(b) + shift).clamp(0, 255) as u8,
            2 => (i32::from(b) - shift).clamp(0, 255) as u8,
            _ => b,
        })
        .collect();
    rebuild(v, out)
}

/// Permutes a random `fraction` of the frames among themselves (seeded).
pub fn shuffle_frames(v: &Video, fraction: f64, seed: u64) -> Video {
    let n = v.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx: Vec<usize> = (0..n).collect();
    let k = ((fraction * n as f64).round() as usize).min(n);
    let mut chosen: Vec<usize> = (0..n).collect();
    chosen.shuffle(&mut rng);
    chosen.truncate(k);
    // A cyclic derangement over the chosen positions in random order: every chosen frame moves,
    // to a random other chosen position (sorting them first would make it a mere time shift).
    let targets = chosen.clone();
    let mut sources = targets.clone();
    sources.rotate_left(1.min(k));
    for (t, s) in targets.iter().zip(&sources) {
        idx[*t] = *s;
    }
    let mut out = Vec::with_capacity(v.as_bytes().len());
    for &i in &idx {
        out.extend_from_slice(v.frame(i));
    }
    rebuild(v, out)
}

/// Repeats frame `⌈(1 − fraction)·T⌉ − 1` for the last `fraction` of the video.
pub fn freeze_tail(v: &Video, fraction: f64) -> Video {
    let n = v.len();
    let keep = (((1.0 - fraction) * n as f64).ceil() as usize).clamp(1, n);
    let mut out = Vec::with_capacity(v.as_bytes().len());
    for t in 0..n {
        out.extend_from_slice(v.frame(t.min(keep - 1)));
    }
    rebuild(v, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Video {
        let data: Vec<u8> = (0..4 * 6 * 6 * 3).map(|i| (i * 7 % 256) as u8).collect();
        Video::new(6, 6, 8.0, data).unwrap()
    }

    #[test]
    fn zero_strength_is_the_identity() {
        let v = ramp();
        assert_eq!(blur(&v, 0), v);
        assert_eq!(noise(&v, 0.0, 1), v);
        assert_eq!(colour_shift(&v, 0), v);
        assert_eq!(shuffle_frames(&v, 0.0, 1), v);
        assert_eq!(freeze_tail(&v, 0.0), v);
    }

    #[test]
    fn each_degradation_changes_what_it_says() {
        let v = ramp();
        let f = freeze_tail(&v, 0.5);
        assert_eq!(f.frame(2), v.frame(1));
        assert_eq!(f.frame(3), v.frame(1));
        let s = shuffle_frames(&v, 1.0, 3);
        let mut moved = 0;
        for t in 0..4 {
            moved += usize::from(s.frame(t) != v.frame(t));
        }
        assert_eq!(moved, 4, "every chosen frame moves");
        let c = colour_shift(&v, 10);
        assert_eq!(c.as_bytes()[1], v.as_bytes()[1]);
        assert_eq!(c.as_bytes()[0], v.as_bytes()[0].saturating_add(10));
        // A flat frame is unchanged by blur.
        let flat = Video::new(5, 5, 8.0, vec![90; 75]).unwrap();
        assert_eq!(blur(&flat, 2), flat);
    }
}
