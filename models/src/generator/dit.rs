//! The diffusion transformer over spacetime patches.
//!
//! Latents [B, z, T, h, w] are cut into 1×2×2 patches, each a token (`Linear(4z → d)`), so any
//! (T, h, w) grid is a sequence and duration, resolution and aspect ratio vary by arranging noise
//! patches. Blocks: full spacetime self-attention with qk-RMSNorm and 3D RoPE, cross-attention to
//! the text tokens, a SiLU MLP; adaLN-single modulation (one shared `SiLU → Linear(d, 6d)` of the
//! timestep + fps embedding, plus a learned per-block table). A frame mask selects, token by
//! token, between the modulation of the current noise level and that of a clean frame (t = 0),
//! as in Open-Sora 1.2: conditioning frames are told they are clean. The output layer is
//! zero-initialised, so the untrained network predicts 0.

use candle_core::{D, Result, Tensor};
use serde::{Deserialize, Serialize};

use super::nn::{
    Init, Linear, Params, apply_rope, attention, layer_norm, merge_heads, modulate, rms_norm, rope_3d, sinusoidal,
    split_heads,
};
use super::text::key_bias;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DitConfig {
    pub dim: usize,
    pub depth: usize,
    pub heads: usize,
    pub mlp_ratio: usize,
}

pub const PATCH: usize = 2;
const FREQ_DIM: usize = 256;

struct Block {
    table: Tensor,
    qkv: Linear,
    proj: Linear,
    q_cross: Linear,
    kv_cross: Linear,
    proj_cross: Linear,
    fc1: Linear,
    fc2: Linear,
}

pub struct Dit {
    pub cfg: DitConfig,
    latent: usize,
    embed: Linear,
    t1: Linear,
    t2: Linear,
    fps1: Linear,
    fps2: Linear,
    t_block: Linear,
    y1: Linear,
    y2: Linear,
    /// Learned "no caption" sequence for classifier-free guidance [L, d_text].
    pub y_null: Tensor,
    blocks: Vec<Block>,
    final_table: Tensor,
    out: Linear,
}

/// What the transformer sees.
pub struct DitInput<'a> {
    /// Noisy latents [B, z, T, h, w].
    pub x: &'a Tensor,
    /// Noise level in [0, 1] per sample [B] (1 = pure noise).
    pub s: &'a Tensor,
    /// Frames per second per sample [B] (images use [`IMAGE_FPS`]).
    pub fps: &'a Tensor,
    /// Text features [B, L, d_text] and key mask [B, L].
    pub text: &'a Tensor,
    pub text_mask: &'a Tensor,
    /// Per latent frame, 1 = generated, 0 = given (clean) [B, T]; `None` = all generated.
    pub frame_mask: Option<&'a Tensor>,
}

/// Frame rate given to the model for single images (Open-Sora's `IMG_FPS`).
pub const IMAGE_FPS: f64 = 120.0;

impl Dit {
    pub fn new(p: &mut Params, cfg: DitConfig, latent: usize, text_dim: usize, max_tokens: usize) -> Result<Self> {
        let d = cfg.dim;
        let mut blocks = Vec::new();
        for i in 0..cfg.depth {
            let n = format!("dit.blocks.{i}");
            blocks.push(Block {
                table: p.get(&format!("{n}.scale_shift_table"), &[6, d], Init::Normal(1.0 / (d as f64).sqrt()))?,
                qkv: Linear::new(p, &format!("{n}.attn.qkv"), d, 3 * d)?,
                proj: Linear::new(p, &format!("{n}.attn.proj"), d, d)?,
                q_cross: Linear::new(p, &format!("{n}.cross.q"), d, d)?,
                kv_cross: Linear::new(p, &format!("{n}.cross.kv"), d, 2 * d)?,
                proj_cross: Linear::zeros(p, &format!("{n}.cross.proj"), d, d)?,
                fc1: Linear::new(p, &format!("{n}.mlp.fc1"), d, cfg.mlp_ratio * d)?,
                fc2: Linear::new(p, &format!("{n}.mlp.fc2"), cfg.mlp_ratio * d, d)?,
            });
        }
        let tok = latent * PATCH * PATCH;
        Ok(Self {
            embed: Linear::new(p, "dit.x_embedder", tok, d)?,
            t1: Linear::with_init(p, "dit.t_embedder.0", FREQ_DIM, d, Init::Normal(0.02), true)?,
            t2: Linear::with_init(p, "dit.t_embedder.2", d, d, Init::Normal(0.02), true)?,
            fps1: Linear::with_init(p, "dit.fps_embedder.0", FREQ_DIM, d, Init::Normal(0.02), true)?,
            fps2: Linear::zeros(p, "dit.fps_embedder.2", d, d)?,
            t_block: Linear::with_init(p, "dit.t_block", d, 6 * d, Init::Normal(0.02), true)?,
            y1: Linear::new(p, "dit.y_embedder.0", text_dim, d)?,
            y2: Linear::new(p, "dit.y_embedder.2", d, d)?,
            y_null: p.get("dit.y_null", &[max_tokens, text_dim], Init::Normal(1.0 / (text_dim as f64).sqrt()))?,
            blocks,
            final_table: p.get("dit.final.scale_shift_table", &[2, d], Init::Normal(1.0 / (d as f64).sqrt()))?,
            out: Linear::zeros(p, "dit.final.linear", d, tok)?,
            latent,
            cfg,
        })
    }

    /// Tokens per latent grid.
    pub fn tokens(t: usize, h: usize, w: usize) -> usize {
        t * (h / PATCH) * (w / PATCH)
    }

    /// [B, z, T, h, w] → [B, T·(h/2)·(w/2), 4z].
    pub fn patchify(x: &Tensor) -> Result<Tensor> {
        let (b, z, t, h, w) = x.dims5()?;
        let (gh, gw) = (h / PATCH, w / PATCH);
        x.reshape(vec![b, z, t, gh, PATCH, gw, PATCH])?.permute(vec![0, 2, 3, 5, 1, 4, 6])?.contiguous()?.reshape((
            b,
            t * gh * gw,
            z * PATCH * PATCH,
        ))
    }

    /// Inverse of [`Dit::patchify`].
    pub fn unpatchify(x: &Tensor, z: usize, t: usize, h: usize, w: usize) -> Result<Tensor> {
        let b = x.dim(0)?;
        let (gh, gw) = (h / PATCH, w / PATCH);
        x.reshape(vec![b, t, gh, gw, z, PATCH, PATCH])?
            .permute(vec![0, 4, 1, 2, 5, 3, 6])?
            .contiguous()?
            .reshape((b, z, t, h, w))
    }

    /// Timestep (+ fps) embedding of noise levels `s` [B] → [B, d].
    fn time_embedding(&self, s: &Tensor, fps: &Tensor) -> Result<Tensor> {
        let t = self.t2.forward(&self.t1.forward(&sinusoidal(&(s * 1000.0)?, FREQ_DIM)?)?.silu()?)?;
        let f = self.fps2.forward(&self.fps1.forward(&sinusoidal(fps, FREQ_DIM)?)?.silu()?)?;
        t + f
    }

    /// Velocity prediction `ε − x₀` [B, z, T, h, w].
    pub fn forward(&self, inp: &DitInput<'_>) -> Result<Tensor> {
        let (b, _, t, h, w) = inp.x.dims5()?;
        let d = self.cfg.dim;
        let n = Self::tokens(t, h, w);
        let per_frame = n / t;
        let mut x = self.embed.forward(&Self::patchify(inp.x)?)?;
        let c = self.time_embedding(inp.s, inp.fps)?;
        // Modulation per token: [B, N|1, 6, d]; with a frame mask, blend t and t=0 modulations.
        let t_mod = self.t_block.forward(&c.silu()?)?.reshape((b, 1, 6, d))?;
        let (t_mod, c_tok) = match inp.frame_mask {
            Some(mask) => {
                let c0 = self.time_embedding(&inp.s.zeros_like()?, inp.fps)?;
                let t0_mod = self.t_block.forward(&c0.silu()?)?.reshape((b, 1, 6, d))?;
                let m = mask.unsqueeze(2)?.broadcast_as((b, t, per_frame))?.reshape((b, n, 1, 1))?;
                let blend = |a: &Tensor, z: &Tensor| -> Result<Tensor> {
                    a.broadcast_mul(&m)? + z.broadcast_mul(&(1.0 - &m)?)?
                };
                let mc = m.squeeze(3)?;
                let c_tok = (c.unsqueeze(1)?.broadcast_mul(&mc)? + c0.unsqueeze(1)?.broadcast_mul(&(1.0 - &mc)?)?)?;
                (blend(&t_mod, &t0_mod)?, c_tok)
            }
            None => (t_mod, c.unsqueeze(1)?),
        };
        let y = self.y2.forward(&self.y1.forward(inp.text)?.silu()?)?;
        let bias = key_bias(inp.text_mask)?;
        let (cos, sin) = rope_3d((t, h / PATCH, w / PATCH), d / self.cfg.heads, inp.x.device())?;
        let heads = self.cfg.heads;
        for blk in &self.blocks {
            let m = t_mod.broadcast_add(&blk.table.unsqueeze(0)?.unsqueeze(0)?)?;
            let part = |i: usize| m.narrow(2, i, 1)?.squeeze(2);
            let (shift_a, scale_a, gate_a) = (part(0)?, part(1)?, part(2)?);
            let (shift_m, scale_m, gate_m) = (part(3)?, part(4)?, part(5)?);
            // Self-attention over all spacetime tokens.
            let hx = modulate(&layer_norm(&x, 1e-6)?, &shift_a, &scale_a)?;
            let qkv = blk.qkv.forward(&hx)?;
            let q = apply_rope(&rms_norm(&split_heads(&qkv.narrow(2, 0, d)?, heads)?, 1e-6)?, &cos, &sin)?;
            let k = apply_rope(&rms_norm(&split_heads(&qkv.narrow(2, d, d)?, heads)?, 1e-6)?, &cos, &sin)?;
            let v = split_heads(&qkv.narrow(2, 2 * d, d)?, heads)?;
            let a = blk.proj.forward(&merge_heads(&attention(&q, &k, &v, None)?)?)?;
            x = (x + a.broadcast_mul(&gate_a)?)?;
            // Cross-attention to the caption.
            let q = split_heads(&blk.q_cross.forward(&layer_norm(&x, 1e-6)?)?, heads)?;
            let kv = blk.kv_cross.forward(&y)?;
            let k = split_heads(&kv.narrow(2, 0, d)?, heads)?;
            let v = split_heads(&kv.narrow(2, d, d)?, heads)?;
            x = (&x + blk.proj_cross.forward(&merge_heads(&attention(&q, &k, &v, Some(&bias))?)?)?)?;
            // MLP.
            let hx = modulate(&layer_norm(&x, 1e-6)?, &shift_m, &scale_m)?;
            let mlp = blk.fc2.forward(&blk.fc1.forward(&hx)?.silu()?)?;
            x = (x + mlp.broadcast_mul(&gate_m)?)?;
        }
        let fm = c_tok.unsqueeze(2)?.broadcast_add(&self.final_table.unsqueeze(0)?.unsqueeze(0)?)?;
        let (shift, scale) = (fm.narrow(2, 0, 1)?.squeeze(2)?, fm.narrow(2, 1, 1)?.squeeze(2)?);
        let out = self.out.forward(&modulate(&layer_norm(&x, 1e-6)?, &shift, &scale)?)?;
        Self::unpatchify(&out, self.latent, t, h, w)
    }

    /// Forward FLOPs (multiply-add = 2) of one sample with `n` video tokens and `l` text tokens.
    pub fn flops(&self, n: usize, l: usize) -> f64 {
        let d = self.cfg.dim as f64;
        let (n, l) = (n as f64, l as f64);
        let r = self.cfg.mlp_ratio as f64;
        let block = 2.0 * n * d * 3.0 * d          // qkv
            + 4.0 * n * n * d                        // scores + weighted sum
            + 2.0 * n * d * d                        // proj
            + 2.0 * n * d * d + 2.0 * l * d * 2.0 * d // cross q, kv
            + 4.0 * n * l * d + 2.0 * n * d * d      // cross scores, sum, proj
            + 4.0 * n * d * r * d; // mlp
        let patch = (self.latent * PATCH * PATCH) as f64;
        self.cfg.depth as f64 * block + 4.0 * n * patch * d + self.y1.flops(l as usize) + self.y2.flops(l as usize)
    }
}

/// Mean squared error over generated frames only: `mask` [B, T] (1 = generated). With a per-cell
/// `weight` [B, 1, T, H, W], each frame's error is the weighted mean over its cells (weights
/// normalised within the frame, so frames keep equal say).
pub fn masked_mse(pred: &Tensor, target: &Tensor, weight: Option<&Tensor>, mask: &Tensor) -> Result<Tensor> {
    let (b, _, t, _, _) = pred.dims5()?;
    let frame_mean =
        |x: &Tensor| -> Result<Tensor> { x.mean_keepdim(D::Minus1)?.mean_keepdim(D::Minus2)?.mean_keepdim(1) };
    let sq = (pred - target)?.sqr()?;
    let err = match weight {
        None => frame_mean(&sq)?,
        Some(w) => frame_mean(&sq.broadcast_mul(w)?)?.broadcast_div(&frame_mean(w)?)?,
    }; // [B,1,T,1,1]
    let err = err.reshape((b, t))?;
    let num = (err * mask)?.sum_all()?;
    let den = (mask.sum_all()? + 1e-6)?;
    num / den
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn patchify_round_trips_any_grid() {
        let dev = Device::Cpu;
        for (t, h, w) in [(1, 8, 8), (5, 6, 10), (3, 10, 6)] {
            let x = Tensor::arange(0f32, (2 * 8 * t * h * w) as f32, &dev).unwrap().reshape((2, 8, t, h, w)).unwrap();
            let p = Dit::patchify(&x).unwrap();
            assert_eq!(p.dims(), &[2, Dit::tokens(t, h, w), 32]);
            let back = Dit::unpatchify(&p, 8, t, h, w).unwrap();
            assert_eq!((back - &x).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
        }
    }
}
