//! DINO's Vision Transformer (facebookresearch/dino `vision_transformer.py`), ported to candle with
//! its state-dict names: what VBench's subject consistency embeds frames with (`dino_vitb16`: patch
//! 16, width 768, 12 blocks of 12 heads, qkv bias, LayerNorm eps 1e-6, exact GELU). The forward
//! returns the class token after the final norm. Images of any size are accepted: the patch
//! convolution drops the remainder, and the trained position grid is resized bicubically with
//! DINO's own scale factor (`(n + 0.1) / √N`, the +0.1 guarding a floating-point edge; torch uses
//! the given scale, not the size ratio, to place samples). Weights come from the user (a converter
//! writes `model.safetensors` and the manifest); nothing is downloaded.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Conv2dConfig, LayerNorm, LayerNormConfig, Linear, VarBuilder};

/// The architecture's sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DinoConfig {
    pub patch_size: usize,
    pub embed_dim: usize,
    pub depth: usize,
    pub num_heads: usize,
    pub mlp_ratio: usize,
    /// The size the position grid was trained at (its side is `img_size / patch_size`).
    pub img_size: usize,
}

impl DinoConfig {
    /// DINO ViT-B/16 (`dino_vitb16`), as VBench loads it.
    pub const VIT_B16: DinoConfig =
        DinoConfig { patch_size: 16, embed_dim: 768, depth: 12, num_heads: 12, mlp_ratio: 4, img_size: 224 };
}

struct Block {
    norm1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
}

fn layer_norm(dim: usize, vb: VarBuilder) -> Result<LayerNorm> {
    candle_nn::layer_norm(dim, LayerNormConfig { eps: 1e-6, ..Default::default() }, vb)
}

impl Block {
    fn new(c: &DinoConfig, vb: VarBuilder) -> Result<Self> {
        let d = c.embed_dim;
        Ok(Block {
            norm1: layer_norm(d, vb.pp("norm1"))?,
            qkv: candle_nn::linear(d, 3 * d, vb.pp("attn.qkv"))?,
            proj: candle_nn::linear(d, d, vb.pp("attn.proj"))?,
            norm2: layer_norm(d, vb.pp("norm2"))?,
            fc1: candle_nn::linear(d, d * c.mlp_ratio, vb.pp("mlp.fc1"))?,
            fc2: candle_nn::linear(d * c.mlp_ratio, d, vb.pp("mlp.fc2"))?,
            heads: c.num_heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, n, c) = x.dims3()?;
        let hd = c / self.heads;
        let qkv =
            self.qkv.forward(&self.norm1.forward(x)?)?.reshape((b, n, 3, self.heads, hd))?.permute((2, 0, 3, 1, 4))?;
        let (q, k, v) = (qkv.get(0)?.contiguous()?, qkv.get(1)?.contiguous()?, qkv.get(2)?.contiguous()?);
        let scale = (hd as f64).powf(-0.5);
        let attn = (q.matmul(&k.t()?.contiguous()?)? * scale)?;
        let attn = candle_nn::ops::softmax_last_dim(&attn)?;
        let y = attn.matmul(&v)?.transpose(1, 2)?.reshape((b, n, c))?;
        let x = (x + self.proj.forward(&y)?)?;
        let h = self.fc2.forward(&self.fc1.forward(&self.norm2.forward(&x)?)?.gelu_erf()?)?;
        x + h
    }
}

/// DINO's ViT.
pub struct Dino {
    patch: candle_nn::Conv2d,
    cls_token: Tensor,
    pos_embed: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
    config: DinoConfig,
}

impl Dino {
    pub fn new(vb: VarBuilder, config: &DinoConfig) -> Result<Self> {
        let c = *config;
        let d = c.embed_dim;
        let grid = c.img_size / c.patch_size;
        let conv = Conv2dConfig { stride: c.patch_size, ..Default::default() };
        Ok(Dino {
            patch: candle_nn::conv2d(3, d, c.patch_size, conv, vb.pp("patch_embed.proj"))?,
            cls_token: vb.get((1, 1, d), "cls_token")?,
            pos_embed: vb.get((1, grid * grid + 1, d), "pos_embed")?,
            blocks: (0..c.depth).map(|i| Block::new(&c, vb.pp(format!("blocks.{i}")))).collect::<Result<_>>()?,
            norm: layer_norm(d, vb.pp("norm"))?,
            config: c,
        })
    }

    /// Loads `dir/model.safetensors` (ViT-B/16 unless `dir/config.json` gives other sizes:
    /// patch_size, embed_dim, depth, num_heads, mlp_ratio, img_size).
    pub fn load(dir: &std::path::Path, device: &candle_core::Device) -> std::result::Result<Self, String> {
        let cfg_path = dir.join("config.json");
        let config = match crate::files::read_text(&cfg_path, crate::files::CONFIG_BYTES) {
            Ok(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
                let get = |k: &str| {
                    v[k].as_u64().map(|x| x as usize).ok_or_else(|| format!("{}: {k} missing", cfg_path.display()))
                };
                DinoConfig {
                    patch_size: get("patch_size")?,
                    embed_dim: get("embed_dim")?,
                    depth: get("depth")?,
                    num_heads: get("num_heads")?,
                    mlp_ratio: get("mlp_ratio")?,
                    img_size: get("img_size")?,
                }
            }
            // No config: ViT-B/16, VBench's. One that is there but cannot be read is an error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DinoConfig::VIT_B16,
            Err(e) => return Err(format!("{}: {e}", cfg_path.display())),
        };
        let c = &config;
        for (field, x, lo, hi) in [
            ("img_size", c.img_size, 1, 4096),
            ("patch_size", c.patch_size, 1, c.img_size.max(1)),
            ("embed_dim", c.embed_dim, 1, 8192),
            ("depth", c.depth, 1, 128),
            ("num_heads", c.num_heads, 1, c.embed_dim.max(1)),
            ("mlp_ratio", c.mlp_ratio, 1, 16),
        ] {
            super::in_range(&cfg_path, field, x, lo, hi)?;
        }
        if c.embed_dim % c.num_heads != 0 {
            return Err(format!(
                "{}: embed_dim {} is not a multiple of num_heads {}",
                cfg_path.display(),
                c.embed_dim,
                c.num_heads
            ));
        }
        let file = dir.join("model.safetensors");
        let tensors = super::float_tensors(&file, device)?;
        let blocks = super::numbered(&tensors, "blocks.");
        if blocks != c.depth {
            return Err(format!("{}: {blocks} blocks, but the config's depth is {}", file.display(), c.depth));
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Dino::new(vb, &config).map_err(|e| format!("{}: not DINO ViT weights: {e}", file.display()))
    }

    /// Where the weights live (inputs go there).
    pub fn device(&self) -> &candle_core::Device {
        self.cls_token.device()
    }

    /// Class-token features `[B, embed_dim]` of images `[B, 3, H, W]` (ImageNet-normalised).
    /// VBench's transform keeps a frame's aspect (short side 224), so the tokens grow with it:
    /// attention holds heads × tokens² floats an image. A batch runs in parts that keep that
    /// under [`ATTENTION_BYTES`]; an image over it alone is refused (a 4096×32 frame asked for
    /// 10 GB and aborted the process).
    pub fn forward(&self, images: &Tensor) -> Result<Tensor> {
        let (b, _, h, w) = images.dims4()?;
        let p = self.config.patch_size;
        let tokens = (h / p) * (w / p) + 1;
        let per_image = (self.config.num_heads * tokens * tokens * 4) as u64;
        if per_image > ATTENTION_BYTES {
            return Err(candle_core::Error::Msg(format!(
                "n/a: a {w}×{h} frame is {tokens} tokens of {p}-pixel patches: its attention needs {:.1} GB, over the {} GB a frame may use (a frame this elongated, or patches this small, are not measurable with DINO)",
                per_image as f64 / 1e9,
                ATTENTION_BYTES >> 30
            )));
        }
        let per_part = ((ATTENTION_BYTES / per_image) as usize).max(1);
        if b > per_part {
            let parts = (0..b)
                .step_by(per_part)
                .map(|i| self.forward(&images.narrow(0, i, per_part.min(b - i))?))
                .collect::<Result<Vec<_>>>()?;
            return Tensor::cat(&parts, 0);
        }
        let patches = self.patch.forward(images)?.flatten_from(2)?.transpose(1, 2)?; // [B, n, D]
        let cls = self.cls_token.broadcast_as((b, 1, self.config.embed_dim))?;
        let x = Tensor::cat(&[&cls, &patches], 1)?;
        let x = x.broadcast_add(&self.position_embedding(h / p, w / p, h == w)?.to_dtype(x.dtype())?)?;
        let mut x = x;
        for blk in &self.blocks {
            x = blk.forward(&x)?;
        }
        self.norm.forward(&x)?.narrow(1, 0, 1)?.squeeze(1)
    }

    /// The position embedding for a `gh × gw` patch grid: the trained one when it fits, else its
    /// grid resized as DINO's `interpolate_pos_encoding` does.
    fn position_embedding(&self, gh: usize, gw: usize, square_input: bool) -> Result<Tensor> {
        let d = self.config.embed_dim;
        let n = self.config.img_size / self.config.patch_size;
        if gh * gw == n * n && square_input {
            return Ok(self.pos_embed.clone());
        }
        let class = self.pos_embed.narrow(1, 0, 1)?;
        // [N, D] as f64 rows of the n × n grid.
        let grid: Vec<Vec<f64>> = self.pos_embed.narrow(1, 1, n * n)?.squeeze(0)?.to_dtype(DType::F64)?.to_vec2()?;
        let sh = (gh as f64 + 0.1) / n as f64;
        let sw = (gw as f64 + 0.1) / n as f64;
        let ty = cubic_taps(n, gh, sh);
        let tx = cubic_taps(n, gw, sw);
        let mut out = vec![0.0f64; gh * gw * d];
        for (y, wy) in ty.iter().enumerate() {
            for (x, wx) in tx.iter().enumerate() {
                let dst = &mut out[(y * gw + x) * d..(y * gw + x + 1) * d];
                for &(iy, ay) in wy {
                    for &(ix, ax) in wx {
                        let src = &grid[iy * n + ix];
                        let a = ay * ax;
                        for (o, s) in dst.iter_mut().zip(src) {
                            *o += a * s;
                        }
                    }
                }
            }
        }
        let patch =
            Tensor::from_vec(out, (1, gh * gw, d), self.pos_embed.device())?.to_dtype(self.pos_embed.dtype())?;
        Tensor::cat(&[&class, &patch], 1)
    }
}

/// The attention memory a batch may use at once.
pub const ATTENTION_BYTES: u64 = 1 << 30;

/// torch's bicubic (a = −0.75, align_corners=False) taps from `n_in` to `n_out` samples placed by
/// an explicit `scale` (output/input): source position (i + 0.5) / scale − 0.5, indices clamped.
fn cubic_taps(n_in: usize, n_out: usize, scale: f64) -> Vec<Vec<(usize, f64)>> {
    const A: f64 = -0.75;
    let w1 = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let w2 = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    (0..n_out)
        .map(|i| {
            let src = (i as f64 + 0.5) / scale - 0.5;
            let i0 = src.floor();
            let t = src - i0;
            let weights = [w2(t + 1.0), w1(t), w1(1.0 - t), w2(2.0 - t)];
            (0..4)
                .map(|k| {
                    let idx = (i0 as isize - 1 + k as isize).clamp(0, n_in as isize - 1) as usize;
                    (idx, weights[k])
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_taps_sum_to_one_and_interpolate_at_integer_positions() {
        for t in cubic_taps(4, 3, 3.1 / 4.0) {
            assert!((t.iter().map(|p| p.1).sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Scale 1: each output is its own input.
        for (i, t) in cubic_taps(5, 5, 1.0).iter().enumerate() {
            let at: f64 = t.iter().filter(|p| p.0 == i).map(|p| p.1).sum();
            assert!((at - 1.0).abs() < 1e-12, "{t:?}");
        }
    }
}
