//! Rectified flow (Open-Sora 1.2 / SD3 conventions, with the noise level `s` running from 0 =
//! data to 1 = noise): `x_s = (1 − s)·x₀ + s·ε`, the network predicts the velocity `ε − x₀`,
//! training draws `s` logit-normal and shifts it towards noise for larger grids, and sampling
//! integrates with Euler steps from `s = 1` to 0 under classifier-free guidance. Conditioning
//! frames are held at their clean latents throughout and flagged to the network by the frame mask.

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::nn::normal;

/// Token count at which the time shift is 1 (one 32×32 frame: 8×8 latent, 4×4 patches).
pub const BASE_TOKENS: f64 = 16.0;

/// The resolution/length-aware shift ratio: `sqrt(tokens / BASE_TOKENS)`, at least 1.
pub fn shift_ratio(tokens: usize) -> f64 {
    (tokens as f64 / BASE_TOKENS).sqrt().max(1.0)
}

/// Open-Sora's `timestep_transform`: `s' = r·s / (1 + (r − 1)·s)`.
pub fn shift(s: f64, ratio: f64) -> f64 {
    ratio * s / (1.0 + (ratio - 1.0) * s)
}

/// A logit-normal(0, 1) noise level, shifted.
pub fn sample_level(rng: &mut ChaCha8Rng, ratio: f64) -> f64 {
    let s = 1.0 / (1.0 + (-normal(rng)).exp());
    shift(s, ratio)
}

/// The Euler schedule: `steps + 1` levels from 1 down to 0, shifted.
pub fn schedule(steps: usize, ratio: f64) -> Vec<f64> {
    (0..=steps).map(|i| shift(1.0 - i as f64 / steps as f64, ratio)).collect()
}

/// The schedule of an SDEdit run that starts at noise level `strength`: the levels below it.
pub fn edit_schedule(steps: usize, ratio: f64, strength: f64) -> Vec<f64> {
    let mut levels = vec![strength];
    levels.extend(schedule(steps, ratio).into_iter().filter(|&s| s < strength));
    levels
}

/// `x_s` from clean latents and noise at per-sample levels `s` [B].
pub fn noised(x0: &Tensor, eps: &Tensor, s: &Tensor) -> Result<Tensor> {
    let s = s.reshape((s.dim(0)?, 1, 1, 1, 1))?;
    x0.broadcast_mul(&(1.0 - &s)?)? + eps.broadcast_mul(&s)?
}

/// Which latent frames a training sample is conditioned on (Open-Sora's `MaskGenerator`, with
/// about 45% of clips masked). Returns per frame `true` = given.
pub fn training_condition(rng: &mut ChaCha8Rng, frames: usize) -> Vec<bool> {
    let mut given = vec![false; frames];
    if frames < 2 {
        return given;
    }
    let k = rng.random_range(1..frames);
    let r: f64 = rng.random();
    match r {
        r if r < 0.55 => {}
        r if r < 0.75 => given[0] = true,
        r if r < 0.80 => given[frames - 1] = true,
        r if r < 0.87 => given[..k].iter_mut().for_each(|g| *g = true),
        r if r < 0.92 => given[frames - k..].iter_mut().for_each(|g| *g = true),
        r if r < 0.97 => {
            given[0] = true;
            given[frames - 1] = true;
        }
        _ => {
            for g in given.iter_mut() {
                *g = rng.random_bool(0.5);
            }
            if given.iter().all(|&g| g) {
                given[frames - 1] = false;
            }
        }
    }
    given
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn shift_fixes_the_ends_and_moves_towards_noise() {
        for r in [1.0, 2.0, 3.5] {
            assert_eq!(shift(0.0, r), 0.0);
            assert!((shift(1.0, r) - 1.0).abs() < 1e-12);
            assert!(shift(0.5, r) >= 0.5);
        }
        assert_eq!(shift_ratio(16), 1.0);
        assert!((shift_ratio(80) - 5f64.sqrt()).abs() < 1e-12);
        let s = schedule(10, 2.0);
        assert_eq!(s.len(), 11);
        assert!(s.windows(2).all(|w| w[0] > w[1]));
        let e = edit_schedule(10, 2.0, 0.6);
        assert_eq!(e[0], 0.6);
        assert!(e[1] < 0.6 && *e.last().unwrap() == 0.0);
    }

    #[test]
    fn training_masks_never_condition_every_frame() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut masked = 0;
        for _ in 0..2000 {
            let g = training_condition(&mut rng, 5);
            assert!(g.iter().any(|&x| !x));
            masked += usize::from(g.iter().any(|&x| x));
        }
        assert!((800..1000).contains(&masked), "{masked}");
        assert_eq!(training_condition(&mut rng, 1), vec![false]);
    }
}
