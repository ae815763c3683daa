//! The video compression network: a causal (2+1)D VAE in the LTX "patchify-first" style.
//!
//! Encoder: per-frame space-to-depth 4×4 (3 → 48 channels) → conv 3×3 → 2 residual blocks →
//! 2 causal temporal convolutions with stride 2 → conv 1×1 to (mean, log-variance) of `z`
//! channels. `1 + 4k` frames become `1 + k` latent frames, so an image is exactly one latent
//! frame, and `H × W` becomes `H/4 × W/4`. The decoder mirrors it: temporal upsampling by a
//! causal conv to twice the channels and depth-to-time (dropping the first extra frame), residual
//! blocks, and depth-to-space.

use candle_core::{Result, Tensor};
use candle_nn::{GroupNorm, Module};
use serde::{Deserialize, Serialize};

use super::nn::{CausalConv1d, Conv2d, Init, Params};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaeConfig {
    /// Hidden channels.
    pub channels: usize,
    /// Latent channels.
    pub latent: usize,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self { channels: 48, latent: 8 }
    }
}

/// Spatial and temporal compression factors.
pub const SPACE: usize = 4;
pub const TIME: usize = 4;

/// Group-norm epsilon. Frames of one flat colour make a group's variance ~0, and with the usual
/// 1e-6 the norm amplifies noise a thousandfold: training diverged within 40 steps.
const GN_EPS: f64 = 1e-3;

/// Added to the encoder's raw log-variance output.
const LOGVAR_OFFSET: f64 = -8.0;
const LOGVAR_MAX: f64 = -4.0;
const MEAN_BOUND: f64 = 3.0;

/// Latent frames for `frames` video frames (`frames = 1 + 4k`).
pub fn latent_frames(frames: usize) -> usize {
    (frames - 1) / TIME + 1
}

struct ResBlock {
    n1: GroupNorm,
    c1: Conv2d,
    n2: GroupNorm,
    c2: Conv2d,
}

fn group_norm(p: &mut Params, name: &str, c: usize) -> Result<GroupNorm> {
    let w = p.get(&format!("{name}.weight"), &[c], Init::Ones)?;
    let b = p.get(&format!("{name}.bias"), &[c], Init::Zeros)?;
    GroupNorm::new(w, b, c, 8.min(c), GN_EPS)
}

impl ResBlock {
    fn new(p: &mut Params, name: &str, c: usize) -> Result<Self> {
        Ok(Self {
            n1: group_norm(p, &format!("{name}.norm1"), c)?,
            c1: Conv2d::new(p, &format!("{name}.conv1"), c, c, 3)?,
            n2: group_norm(p, &format!("{name}.norm2"), c)?,
            c2: Conv2d::new(p, &format!("{name}.conv2"), c, c, 3)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(&self.n1.forward(x)?.silu()?)?;
        let h = self.c2.forward(&self.n2.forward(&h)?.silu()?)?;
        x + h
    }

    fn flops(&self, n: usize, h: usize, w: usize) -> f64 {
        self.c1.flops(n, h, w) + self.c2.flops(n, h, w)
    }
}

pub struct Vae {
    pub cfg: VaeConfig,
    enc_in: Conv2d,
    enc_res: [ResBlock; 2],
    enc_time: [CausalConv1d; 2],
    enc_out: Conv2d,
    dec_in: Conv2d,
    dec_time: [CausalConv1d; 2],
    dec_res: [ResBlock; 2],
    dec_norm: GroupNorm,
    dec_out: Conv2d,
}

/// [B, C, T, H, W] → [B·T, C, H, W].
fn frames_first(x: &Tensor) -> Result<(Tensor, usize)> {
    let (b, c, t, h, w) = x.dims5()?;
    Ok((x.permute((0, 2, 1, 3, 4))?.contiguous()?.reshape((b * t, c, h, w))?, t))
}

/// [B·T, C, H, W] → [B, C, T, H, W].
fn frames_back(x: &Tensor, t: usize) -> Result<Tensor> {
    let (bt, c, h, w) = x.dims4()?;
    x.reshape((bt / t, t, c, h, w))?.permute((0, 2, 1, 3, 4))?.contiguous()
}

/// Runs `f` over time for every pixel: [B·T, C, H, W] ↔ [B·H·W, C, T].
fn over_time(x: &Tensor, t: usize, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<(Tensor, usize)> {
    let (bt, c, h, w) = x.dims4()?;
    let b = bt / t;
    let seq = x.reshape((b, t, c, h, w))?.permute((0, 3, 4, 2, 1))?.contiguous()?.reshape((b * h * w, c, t))?;
    let out = f(&seq)?;
    let (_, c2, t2) = out.dims3()?;
    let back = out.reshape((b, h, w, c2, t2))?.permute((0, 4, 3, 1, 2))?.contiguous()?.reshape((b * t2, c2, h, w))?;
    Ok((back, t2))
}

pub fn space_to_depth(x: &Tensor, r: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    x.reshape((n, c, h / r, r, w / r, r))?.permute((0, 1, 3, 5, 2, 4))?.contiguous()?.reshape((
        n,
        c * r * r,
        h / r,
        w / r,
    ))
}

pub fn depth_to_space(x: &Tensor, r: usize) -> Result<Tensor> {
    let (n, crr, h, w) = x.dims4()?;
    let c = crr / (r * r);
    x.reshape((n, c, r, r, h, w))?.permute((0, 1, 4, 2, 5, 3))?.contiguous()?.reshape((n, c, h * r, w * r))
}

impl Vae {
    pub fn new(p: &mut Params, cfg: VaeConfig) -> Result<Self> {
        let c = cfg.channels;
        let px = 3 * SPACE * SPACE;
        Ok(Self {
            cfg,
            enc_in: Conv2d::new(p, "vae.enc.conv_in", px, c, 3)?,
            enc_res: [ResBlock::new(p, "vae.enc.res0", c)?, ResBlock::new(p, "vae.enc.res1", c)?],
            enc_time: [
                CausalConv1d::new(p, "vae.enc.time0", c, c, 3, 2)?,
                CausalConv1d::new(p, "vae.enc.time1", c, c, 3, 2)?,
            ],
            enc_out: Conv2d::new(p, "vae.enc.conv_out", c, 2 * cfg.latent, 1)?,
            dec_in: Conv2d::new(p, "vae.dec.conv_in", cfg.latent, c, 3)?,
            dec_time: [
                CausalConv1d::new(p, "vae.dec.time0", c, 2 * c, 3, 1)?,
                CausalConv1d::new(p, "vae.dec.time1", c, 2 * c, 3, 1)?,
            ],
            dec_res: [ResBlock::new(p, "vae.dec.res0", c)?, ResBlock::new(p, "vae.dec.res1", c)?],
            dec_norm: group_norm(p, "vae.dec.norm_out", c)?,
            dec_out: Conv2d::new(p, "vae.dec.conv_out", c, px, 3)?,
        })
    }

    /// `x`: video [B, 3, T, H, W] in [-1, 1], `T = 1 + 4k`, `H, W` multiples of 4 →
    /// (mean, log-variance), each [B, z, 1 + k, H/4, W/4].
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (f, t) = frames_first(x)?;
        let mut h = self.enc_in.forward(&space_to_depth(&f, SPACE)?)?;
        for r in &self.enc_res {
            h = r.forward(&h)?;
        }
        let (h, t2) = over_time(&h, t, |s| {
            let s = self.enc_time[0].forward(&s.silu()?)?;
            self.enc_time[1].forward(&s.silu()?)
        })?;
        let out = self.enc_out.forward(&h.silu()?)?;
        let z = self.cfg.latent;
        let out = frames_back(&out, t2)?;
        // The log-variance starts near LOGVAR_OFFSET (σ ≈ 0.02) rather than 0 and is capped at
        // LOGVAR_MAX (σ ≤ 0.14): with unit noise the decoder learns to ignore the latents and the
        // VAE collapses to the mean image, and under Adam even a tiny KL weight pushes σ up at
        // full learning-rate speed.
        //
        // The mean is bounded softly to ±MEAN_BOUND: nothing downstream fixes the latent scale
        // (the decoder's group norms are scale-invariant), and under Adam it drifted upwards
        // until reconstructions collapsed (|mean| 1 → 9 in 15 steps at lr 1e-3).
        let mean = ((out.narrow(1, 0, z)? / MEAN_BOUND)?.tanh()? * MEAN_BOUND)?;
        Ok((mean, (out.narrow(1, z, z)? + LOGVAR_OFFSET)?.clamp(-20.0, LOGVAR_MAX)?))
    }

    /// `z`: [B, z, 1 + k, h, w] → video [B, 3, 1 + 4k, 4h, 4w] (unclamped).
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        let (f, t) = frames_first(z)?;
        let h = self.dec_in.forward(&f)?;
        let (mut h, t2) = over_time(&h, t, |s| {
            let mut s = s.clone();
            for conv in &self.dec_time {
                s = depth_to_time(&conv.forward(&s.silu()?)?)?;
            }
            Ok(s)
        })?;
        for r in &self.dec_res {
            h = r.forward(&h)?;
        }
        let out = self.dec_out.forward(&self.dec_norm.forward(&h)?.silu()?)?;
        frames_back(&depth_to_space(&out, SPACE)?, t2)
    }

    /// FLOPs of decoding `frames` frames at `height × width` (one video).
    pub fn decode_flops(&self, frames: usize, height: usize, width: usize) -> f64 {
        let (lt, h, w) = (latent_frames(frames), height / SPACE, width / SPACE);
        let t_mid = 2 * lt - 1;
        self.dec_in.flops(lt, h, w)
            + self.dec_time[0].flops(h * w, lt)
            + self.dec_time[1].flops(h * w, t_mid)
            + self.dec_res.iter().map(|r| r.flops(frames, h, w)).sum::<f64>()
            + self.dec_out.flops(frames, h, w)
    }

    /// FLOPs of encoding one video.
    pub fn encode_flops(&self, frames: usize, height: usize, width: usize) -> f64 {
        let (h, w) = (height / SPACE, width / SPACE);
        let t_mid = (frames - 1) / 2 + 1;
        self.enc_in.flops(frames, h, w)
            + self.enc_res.iter().map(|r| r.flops(frames, h, w)).sum::<f64>()
            + self.enc_time[0].flops(h * w, t_mid)
            + self.enc_time[1].flops(h * w, latent_frames(frames))
            + self.enc_out.flops(latent_frames(frames), h, w)
    }
}

/// [N, 2C, T] → [N, C, 2T − 1]: each step becomes two, and the first (which would precede the
/// first input frame) is dropped.
fn depth_to_time(x: &Tensor) -> Result<Tensor> {
    let (n, c2, t) = x.dims3()?;
    let c = c2 / 2;
    let y = x.reshape((n, c, 2, t))?.permute((0, 1, 3, 2))?.contiguous()?.reshape((n, c, 2 * t))?;
    y.narrow(2, 1, 2 * t - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn shapes_follow_one_plus_four_k() {
        let dev = Device::Cpu;
        let mut p = Params::init(1, &dev);
        let vae = Vae::new(&mut p, VaeConfig { channels: 16, latent: 8 }).unwrap();
        for (frames, h, w) in [(1, 32, 32), (5, 24, 40), (9, 40, 24), (17, 32, 32)] {
            let x = Tensor::zeros((2, 3, frames, h, w), candle_core::DType::F32, &dev).unwrap();
            let (mean, logvar) = vae.encode(&x).unwrap();
            assert_eq!(mean.dims(), &[2, 8, latent_frames(frames), h / 4, w / 4]);
            assert_eq!(logvar.dims(), mean.dims());
            assert_eq!(vae.decode(&mean).unwrap().dims(), x.dims());
        }
    }

    #[test]
    fn space_and_time_rearrangements_invert() {
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 8.0 * 8.0, &dev).unwrap().reshape((2, 3, 8, 8)).unwrap();
        let back = depth_to_space(&space_to_depth(&x, 4).unwrap(), 4).unwrap();
        let diff = (back - &x).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
        // depth_to_time interleaves: channel pairs (c, c + C) become consecutive steps.
        let y = Tensor::from_vec(vec![1f32, 2., 10., 20.], (1, 2, 2), &dev).unwrap();
        assert_eq!(depth_to_time(&y).unwrap().to_vec3::<f32>().unwrap(), vec![vec![vec![10., 2., 20.]]]);
    }

    #[test]
    fn the_encoder_is_causal_in_time() {
        let dev = Device::Cpu;
        let mut p = Params::init(4, &dev);
        let vae = Vae::new(&mut p, VaeConfig { channels: 16, latent: 8 }).unwrap();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
        let x = super::super::nn::randn(&mut rng, &[1, 3, 9, 16, 16], &dev).unwrap();
        let (full, _) = vae.encode(&x).unwrap();
        let (head, _) = vae.encode(&x.narrow(2, 0, 5).unwrap()).unwrap();
        let d = (full.narrow(2, 0, 2).unwrap() - head).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>();
        assert!(d.unwrap() < 1e-5, "the first 5 frames' latents must not depend on later frames");
    }
}

#[cfg(test)]
mod gradient_tests {
    use super::*;
    use candle_core::Device;

    fn loss(vae: &Vae, x: &Tensor) -> Tensor {
        let (mean, _) = vae.encode(x).unwrap();
        (vae.decode(&mean).unwrap() - x).unwrap().sqr().unwrap().mean_all().unwrap()
    }

    /// Analytic gradients of the encoder's and decoder's layers agree with central finite
    /// differences, so no op on the path silently detaches or miscomputes its backward.
    #[test]
    fn every_vae_layer_gets_the_right_gradient() {
        let dev = Device::Cpu;
        let mut p = Params::init(11, &dev);
        let vae = Vae::new(&mut p, VaeConfig { channels: 16, latent: 8 }).unwrap();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
        let x = super::super::nn::randn(&mut rng, &[2, 3, 9, 8, 8], &dev).unwrap();
        let grads = loss(&vae, &x).backward().unwrap();
        for name in [
            "vae.enc.conv_in.weight",
            "vae.enc.res0.conv1.weight",
            "vae.enc.time0.weight",
            "vae.enc.time1.weight",
            "vae.enc.conv_out.weight",
            "vae.dec.conv_in.weight",
            "vae.dec.time0.weight",
            "vae.dec.time1.weight",
            "vae.dec.res1.conv2.weight",
            "vae.dec.conv_out.weight",
        ] {
            let var = &p.vars()[name];
            let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{name}: no gradient"));
            // At the element with the largest gradient, so the finite difference is well above noise.
            let (i, g, fd) = super::super::nn::finite_difference_at_max(var, g, 1e-2, &|| {
                f64::from(loss(&vae, &x).to_scalar::<f32>().unwrap())
            });
            let rel = (fd - g).abs() / g.abs().max(1e-6);
            assert!(rel < 0.05, "{name}[{i}]: analytic {g} vs finite difference {fd}");
        }
    }
}
