//! MUSIQ, the multi-scale image quality transformer (Ke et al., ICCV 2021), ported to candle with
//! pyiqa's state-dict names (`pyiqa/archs/musiq_arch.py`, the architecture VBench's imaging
//! quality loads with the SPAQ checkpoint `musiq_spaq_ckpt-358bb6af.pth`): patch 32, hidden 384,
//! MLP 1152, 6 heads, 14 blocks, 3 scales, a 10 × 10 hash grid, one output.
//!
//! An image in [0, 1] is scaled to [−1, 1] and cut into 32 × 32 patches at three scales: resized
//! (bicubic, a = −0.75, no antialiasing, torch's `interpolate`) so its longer side is 224 and 384
//! (each side `round(side · L / longer)`), and as it is. Each scale is zero-padded TF-"SAME" style
//! to whole patches. A patch goes through a weight-standardised ResNet root (7 × 7 stride 2,
//! group norm, max pool 3 × 3 stride 2, one bottleneck to 256 channels) and a linear embedding of
//! its 8 × 8 × 256 map (in TensorFlow's channels-last order); it gets the embedding of its hashed
//! position (the patch grid mapped onto 10 × 10 by nearest neighbour) and of its scale; a class
//! token goes first; a pre-norm transformer and a linear head on the class token give the score.
//!
//! pyiqa pads each resized scale's patch list to the most a square image could give (49 and 144)
//! with masked zero patches; the attention mask sets their logits to −1000, so their weight after
//! the softmax is exactly zero whenever a real logit of the row exceeds −896 in float32 (−255 in
//! float64; with the layer norms before every attention, always in practice). They are left out
//! here: the class token's output is the same, at a third less work.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::layers::Conv;

const PATCH: usize = 32;
const HIDDEN: usize = 384;
const MLP: usize = 1152;
const HEADS: usize = 6;
const LAYERS: usize = 14;
const GRID: usize = 10;
/// The longer sides of the resized scales (pyiqa's `longer_side_lengths`, sorted); the image as it
/// is comes last.
const SCALES: [usize; 2] = [224, 384];
/// The ResNet root's channels.
const ROOT: usize = 64;

/// TF "SAME" padding of a side for a kernel and stride: `(before, after)`, the odd pixel after.
fn same_padding(side: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = side.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(side);
    (total / 2, total - total / 2)
}

/// A bias-free convolution with standardised weights (each output channel's weights less their
/// mean, over their unbiased standard deviation + 1e-5), TF-"SAME" padded.
struct StdConv {
    conv: Conv,
    kernel: usize,
}

impl StdConv {
    fn new(vb: VarBuilder, cin: usize, cout: usize, kernel: usize, stride: usize) -> Result<Self> {
        let w = vb.get((cout, cin, kernel, kernel), "weight")?;
        let n = cin * kernel * kernel;
        let flat = w.reshape((cout, n))?;
        let centred = flat.broadcast_sub(&flat.mean_keepdim(1)?)?;
        let std = (centred.sqr()?.sum_keepdim(1)? / (n - 1) as f64)?.sqrt()?;
        let weight = centred.broadcast_div(&(std + 1e-5)?)?.reshape((cout, cin, kernel, kernel))?;
        let bias = Tensor::zeros(cout, w.dtype(), w.device())?;
        Ok(StdConv { conv: Conv { weight, bias, stride, pad: (0, 0) }, kernel })
    }
}

impl Module for StdConv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let (t, b) = same_padding(h, self.kernel, self.conv.stride);
        let (l, r) = same_padding(w, self.kernel, self.conv.stride);
        self.conv.forward(&x.pad_with_zeros(2, t, b)?.pad_with_zeros(3, l, r)?)
    }
}

/// Group norm with affine parameters over `groups` groups.
struct GroupNorm {
    groups: usize,
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl GroupNorm {
    fn new(vb: VarBuilder, groups: usize, c: usize, eps: f64) -> Result<Self> {
        Ok(GroupNorm {
            groups,
            weight: vb.get(c, "weight")?.reshape((1, c, 1, 1))?,
            bias: vb.get(c, "bias")?.reshape((1, c, 1, 1))?,
            eps,
        })
    }
}

impl GroupNorm {
    /// The norm, then ReLU when `relu`. On the CPU one pass per group computes its mean and
    /// variance and a second writes the result (the tensor-operation form took eight passes and
    /// a fifth of MUSIQ's time); elsewhere tensor operations.
    fn forward_relu(&self, x: &Tensor, relu: bool) -> Result<Tensor> {
        if x.device().is_cpu() {
            match x.dtype() {
                DType::F32 => return self.fused::<f32>(x, relu),
                DType::F64 => return self.fused::<f64>(x, relu),
                _ => {}
            }
        }
        let (b, c, h, w) = x.dims4()?;
        let g = x.reshape((b, self.groups, (c / self.groups) * h * w))?;
        let centred = g.broadcast_sub(&g.mean_keepdim(2)?)?;
        let var = centred.sqr()?.mean_keepdim(2)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?.reshape((b, c, h, w))?;
        let y = normed.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)?;
        if relu { y.relu() } else { Ok(y) }
    }

    fn fused<T: candle_core::WithDType>(&self, x: &Tensor, relu: bool) -> Result<Tensor> {
        use rayon::prelude::*;
        let (b, c, h, w) = x.dims4()?;
        let per = c / self.groups;
        let plane = h * w;
        let data: Vec<T> = x.flatten_all()?.to_vec1()?;
        let gamma: Vec<f64> = self.weight.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
        let beta: Vec<f64> = self.bias.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
        let mut out = vec![T::from_f64(0.0); data.len()];
        out.par_chunks_mut(per * plane).zip(data.par_chunks(per * plane)).enumerate().for_each(|(bg, (dst, src))| {
            let n = src.len() as f64;
            let mean = src.iter().map(|v| v.to_f64()).sum::<f64>() / n;
            let var = src.iter().map(|v| (v.to_f64() - mean).powi(2)).sum::<f64>() / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            let first = (bg % self.groups) * per;
            for (k, (d, s)) in dst.chunks_mut(plane).zip(src.chunks(plane)).enumerate() {
                let (g, o) = (gamma[first + k] * inv, beta[first + k] - gamma[first + k] * inv * mean);
                for (d, s) in d.iter_mut().zip(s) {
                    let v = s.to_f64() * g + o;
                    *d = T::from_f64(if relu && v < 0.0 { 0.0 } else { v });
                }
            }
        });
        Tensor::from_vec(out, (b, c, h, w), x.device())
    }
}

impl Module for GroupNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_relu(x, false)
    }
}

/// The root's bottleneck (64 → 256 channels, stride 1, with a projection).
struct Bottleneck {
    conv1: StdConv,
    gn1: GroupNorm,
    conv2: StdConv,
    gn2: GroupNorm,
    conv3: StdConv,
    gn3: GroupNorm,
    conv_proj: StdConv,
    gn_proj: GroupNorm,
}

impl Bottleneck {
    fn new(vb: VarBuilder, cin: usize, cout: usize) -> Result<Self> {
        let width = cin;
        Ok(Bottleneck {
            conv1: StdConv::new(vb.pp("conv1"), cin, width, 1, 1)?,
            gn1: GroupNorm::new(vb.pp("gn1"), 32, width, 1e-4)?,
            conv2: StdConv::new(vb.pp("conv2"), width, width, 3, 1)?,
            gn2: GroupNorm::new(vb.pp("gn2"), 32, width, 1e-4)?,
            conv3: StdConv::new(vb.pp("conv3"), width, cout, 1, 1)?,
            gn3: GroupNorm::new(vb.pp("gn3"), 32, cout, 1e-4)?,
            conv_proj: StdConv::new(vb.pp("conv_proj"), cin, cout, 1, 1)?,
            gn_proj: GroupNorm::new(vb.pp("gn_proj"), 32, cout, 1e-4)?,
        })
    }
}

impl Module for Bottleneck {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let identity = self.gn_proj.forward(&self.conv_proj.forward(x)?)?;
        let y = self.gn1.forward_relu(&self.conv1.forward(x)?, true)?;
        let y = self.gn2.forward_relu(&self.conv2.forward(&y)?, true)?;
        let y = self.gn3.forward(&self.conv3.forward(&y)?)?;
        (y + identity)?.relu()
    }
}

/// A pre-norm transformer block (layer norms eps 1e-6, attention with biased q, k, v, exact GELU).
struct Block {
    norm1: LayerNorm,
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// Layer norm (eps 1e-6, biased variance) over the last axis, in any float type.
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

fn layer_norm(vb: VarBuilder, dim: usize) -> Result<LayerNorm> {
    Ok(LayerNorm { weight: vb.get(dim, "weight")?, bias: vb.get(dim, "bias")? })
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let centred = x.broadcast_sub(&x.mean_keepdim(candle_core::D::Minus1)?)?;
        let var = centred.sqr()?.mean_keepdim(candle_core::D::Minus1)?;
        centred.broadcast_div(&(var + 1e-6)?.sqrt()?)?.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

impl Block {
    fn new(vb: VarBuilder) -> Result<Self> {
        let att = vb.pp("attention");
        Ok(Block {
            norm1: layer_norm(vb.pp("norm1"), HIDDEN)?,
            query: candle_nn::linear(HIDDEN, HIDDEN, att.pp("query"))?,
            key: candle_nn::linear(HIDDEN, HIDDEN, att.pp("key"))?,
            value: candle_nn::linear(HIDDEN, HIDDEN, att.pp("value"))?,
            out: candle_nn::linear(HIDDEN, HIDDEN, att.pp("out"))?,
            norm2: layer_norm(vb.pp("norm2"), HIDDEN)?,
            fc1: candle_nn::linear(HIDDEN, MLP, vb.pp("mlp").pp("fc1"))?,
            fc2: candle_nn::linear(MLP, HIDDEN, vb.pp("mlp").pp("fc2"))?,
        })
    }

    fn attention(&self, x: &Tensor) -> Result<Tensor> {
        let (b, n, c) = x.dims3()?;
        let d = c / HEADS;
        let heads = |t: Tensor| t.reshape((b, n, HEADS, d))?.transpose(1, 2)?.contiguous();
        let q = heads(self.query.forward(x)?)?;
        let k = heads(self.key.forward(x)?)?;
        let v = heads(self.value.forward(x)?)?;
        let logits = (q.matmul(&k.t()?)? * (d as f64).powf(-0.5))?;
        let weights = candle_nn::ops::softmax_last_dim(&logits)?;
        let y = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, n, c))?;
        self.out.forward(&y)
    }
}

impl Module for Block {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = (x + self.attention(&self.norm1.forward(x)?)?)?;
        let h = self.fc2.forward(&self.fc1.forward(&self.norm2.forward(&x)?)?.gelu_erf()?)?;
        x + h
    }
}

/// One scale's patches: `[B, n, 3, 32, 32]` with each patch's hashed position and the scale's id.
struct Scale {
    patches: Tensor,
    positions: Vec<u32>,
    id: u32,
}

/// MUSIQ (pyiqa's `MUSIQ`, one output).
pub struct Musiq {
    conv_root: StdConv,
    gn_root: GroupNorm,
    block1: Bottleneck,
    embedding: Linear,
    position: Tensor,
    scale: Tensor,
    cls: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
    head: Linear,
}

impl Musiq {
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let te = vb.pp("transformer_encoder");
        let blocks = (0..LAYERS)
            .map(|i| Block::new(te.pp("transformer").pp(format!("encoderblock_{i}"))))
            .collect::<Result<_>>()?;
        let token = PATCH / 4;
        Ok(Musiq {
            conv_root: StdConv::new(vb.pp("conv_root"), 3, ROOT, 7, 2)?,
            gn_root: GroupNorm::new(vb.pp("gn_root"), 32, ROOT, 1e-6)?,
            block1: Bottleneck::new(vb.pp("block1"), ROOT, 4 * ROOT)?,
            embedding: candle_nn::linear(4 * ROOT * token * token, HIDDEN, vb.pp("embedding"))?,
            position: te.pp("posembed_input").get((1, GRID * GRID, HIDDEN), "position_emb")?.squeeze(0)?,
            scale: te.pp("scaleembed_input").get((SCALES.len() + 1, HIDDEN), "scale_emb")?,
            cls: te.get((1, 1, HIDDEN), "cls")?,
            blocks,
            norm: layer_norm(te.pp("encoder_norm"), HIDDEN)?,
            head: candle_nn::linear(HIDDEN, 1, vb.pp("head"))?,
        })
    }

    /// Loads `dir/model.safetensors` (pyiqa's names, as convert_musiq.py writes them) in f32.
    pub fn load(dir: &std::path::Path, device: &Device) -> std::result::Result<Self, String> {
        let file = dir.join("model.safetensors");
        let tensors = super::float_tensors(&file, device)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Musiq::new(vb).map_err(|e| format!("{}: not MUSIQ weights: {e}", file.display()))
    }

    /// Where the weights live (inputs go there).
    pub fn device(&self) -> &Device {
        self.cls.device()
    }

    /// The scores of images `[B, 3, H, W]` in [0, 1] (pyiqa's `forward` in eval mode: the
    /// multi-scale patches, the network, the head on the class token): `[B]`.
    pub fn forward(&self, images: &Tensor) -> Result<Tensor> {
        self.head.forward(&self.features(images)?)?.squeeze(1)
    }

    /// The class token after the encoder's final norm, `[B, 384]`: what the head reads.
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = images.dims4()?;
        if c != 3 || h == 0 || w == 0 {
            candle_core::bail!("MUSIQ: images must be RGB, got {:?}", images.shape());
        }
        let x = ((images - 0.5)? * 2.0)?;
        let mut scales = Vec::with_capacity(SCALES.len() + 1);
        for (id, &longer) in SCALES.iter().enumerate() {
            let (rh, rw) = resized_size(h, w, longer);
            if rh == 0 || rw == 0 {
                // pyiqa fails here too (an empty resize): an aspect ratio beyond about 1000:1.
                candle_core::bail!("MUSIQ: a {w}×{h} image has no pixels left on a side at its {longer}-px scale");
            }
            let resized = bicubic(&x, rh, rw)?;
            scales.push(patches(&resized, id as u32)?);
        }
        scales.push(patches(&x, SCALES.len() as u32)?);
        let mut tokens = Vec::with_capacity(scales.len() + 1);
        tokens.push(self.cls.broadcast_as((b, 1, HIDDEN))?.contiguous()?);
        for s in &scales {
            tokens.push(self.embed(s)?);
        }
        let mut x = Tensor::cat(&tokens, 1)?;
        for block in &self.blocks {
            x = block.forward(&x)?;
        }
        self.norm.forward(&x.narrow(1, 0, 1)?)?.squeeze(1)
    }

    /// A scale's tokens: each patch through the root, embedded, plus its position and scale
    /// embeddings; `[B, n, 384]`.
    fn embed(&self, s: &Scale) -> Result<Tensor> {
        let (b, n, _, _, _) = s.patches.dims5()?;
        let x = s.patches.reshape((b * n, 3, PATCH, PATCH))?;
        let x = self.gn_root.forward_relu(&self.conv_root.forward(&x)?, true)?;
        // Max pool 3 × 3 stride 2 after SAME padding (zeros: the input is non-negative).
        let (_, _, ph, pw) = x.dims4()?;
        let (t, bo) = same_padding(ph, 3, 2);
        let (l, r) = same_padding(pw, 3, 2);
        let x = x.pad_with_zeros(2, t, bo)?.pad_with_zeros(3, l, r)?.max_pool2d_with_stride(3, 2)?;
        let x = self.block1.forward(&x)?;
        // TensorFlow's channels-last order.
        let x = x.permute((0, 2, 3, 1))?.reshape((b, n, ()))?;
        let x = self.embedding.forward(&x)?;
        let index = Tensor::from_vec(s.positions.clone(), n, x.device())?;
        let position = self.position.index_select(&index, 0)?;
        let scale = self.scale.narrow(0, s.id as usize, 1)?;
        x.broadcast_add(&position)?.broadcast_add(&scale)
    }

    /// VBench's imaging-quality score of each of `frames` frames, `data` `[frames, 3, H, W]` in
    /// [0, 1] (already at most 512 on the longer side, as VBench resizes them): MUSIQ's output,
    /// about 0–100 for the SPAQ checkpoint.
    pub fn score_frames(&self, data: Vec<f32>, frames: usize, height: usize, width: usize) -> Result<Vec<f32>> {
        let x = Tensor::from_vec(data, (frames, 3, height, width), self.device())?;
        self.forward(&x)?.to_dtype(DType::F32)?.to_vec1()
    }
}

/// pyiqa's `resize_preserve_aspect_ratio` size: each side `round(side · longer / max(h, w))`,
/// Python's round (half to even).
fn resized_size(h: usize, w: usize, longer: usize) -> (usize, usize) {
    let ratio = longer as f64 / h.max(w) as f64;
    let r = |s: usize| (s as f64 * ratio).round_ties_even() as usize;
    (r(h), r(w))
}

/// A scale's 32 × 32 patches (zero-padded TF-"SAME" style to whole patches), row by row, with
/// their hashed positions on the 10 × 10 grid.
fn patches(x: &Tensor, id: u32) -> Result<Scale> {
    let (b, c, h, w) = x.dims4()?;
    let (gh, gw) = (h.div_ceil(PATCH), w.div_ceil(PATCH));
    let (pt, pb) = same_padding(h, PATCH, PATCH);
    let (pl, pr) = same_padding(w, PATCH, PATCH);
    let padded = x.pad_with_zeros(2, pt, pb)?.pad_with_zeros(3, pl, pr)?;
    let patches = padded.reshape(vec![b, c, gh, PATCH, gw, PATCH])?.permute(vec![0, 2, 4, 1, 3, 5])?.reshape((
        b,
        gh * gw,
        c,
        PATCH,
        PATCH,
    ))?;
    let (hy, hx) = (hash(gh), hash(gw));
    let positions = hy.iter().flat_map(|&y| hx.iter().map(move |&x| (y * GRID + x) as u32)).collect();
    Ok(Scale { patches, positions, id })
}

/// The hash-grid cell of each of `count` patch rows (or columns): torch's nearest-neighbour
/// `interpolate` of 0..10 to `count` (the source index `⌊i · (10 / count)⌋` in float32, at most
/// 9; exactly `i` and `i / 2` when `count` is 10 or 20).
fn hash(count: usize) -> Vec<usize> {
    (0..count)
        .map(|i| {
            if count == GRID {
                i
            } else if count == 2 * GRID {
                i >> 1
            } else {
                let scale = GRID as f32 / count as f32;
                ((i as f32 * scale).floor() as usize).min(GRID - 1)
            }
        })
        .collect()
}

/// torch's `interpolate(mode="bicubic", align_corners=False)` to `oh × ow` (a = −0.75, no
/// antialiasing, edge pixels repeated), as two matrix products.
fn bicubic(x: &Tensor, oh: usize, ow: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    if (oh, ow) == (h, w) {
        return Ok(x.clone());
    }
    let ry = cubic_matrix(h, oh, x.dtype(), x.device())?; // [oh, h]
    let rx = cubic_matrix(w, ow, x.dtype(), x.device())?; // [ow, w]
    let rows = x.reshape((b * c * h, w))?.matmul(&rx.t()?)?; // [b·c·h, ow]
    let rows = rows.reshape((b * c, h, ow))?;
    ry.unsqueeze(0)?.broadcast_as((b * c, oh, h))?.contiguous()?.matmul(&rows)?.reshape((b, c, oh, ow))
}

/// The `out × input` matrix of torch's bicubic weights along one axis.
fn cubic_matrix(input: usize, out: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    const A: f64 = -0.75;
    let near = |t: f64| ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    let far = |t: f64| ((A * t - 5.0 * A) * t + 8.0 * A) * t - 4.0 * A;
    let scale = input as f64 / out as f64;
    let mut m = vec![0f64; out * input];
    for o in 0..out {
        let src = scale * (o as f64 + 0.5) - 0.5;
        let i0 = src.floor();
        let t = src - i0;
        let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
        for (k, wgt) in weights.into_iter().enumerate() {
            let i = (i0 as i64 - 1 + k as i64).clamp(0, input as i64 - 1) as usize;
            m[o * input + i] += wgt;
        }
    }
    Tensor::from_vec(m, (out, input), device)?.to_dtype(dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_and_the_hash_grid_follow_tensorflow_and_torch() {
        // 7 × 7 stride 2 on 32: 16 outputs need 37 inputs → 2 before, 3 after.
        assert_eq!(same_padding(32, 7, 2), (2, 3));
        assert_eq!(same_padding(16, 3, 2), (0, 1));
        assert_eq!(same_padding(8, 3, 1), (1, 1));
        assert_eq!(same_padding(126, 32, 32), (1, 1));
        assert_eq!(hash(10), (0..10).collect::<Vec<_>>());
        assert_eq!(hash(20), (0..20).map(|i| i / 2).collect::<Vec<_>>());
        assert_eq!(hash(4), vec![0, 2, 5, 7]);
        assert_eq!(hash(12).last(), Some(&9));
        // 512 × 288: longer side 224 → 224 × 126, 384 → 384 × 216.
        assert_eq!(resized_size(288, 512, 224), (126, 224));
        assert_eq!(resized_size(288, 512, 384), (216, 384));
        // Their patch grids: 4 × 7, 7 × 12, and 9 × 16 for the frame as it is.
        for ((h, w), n) in [((126, 224), 28), ((216, 384), 84), ((288, 512), 144)] {
            let x = Tensor::zeros((1, 3, h, w), DType::F32, &Device::Cpu).unwrap();
            let s = patches(&x, 0).unwrap();
            assert_eq!((s.patches.dims5().unwrap().1, s.positions.len()), (n, n), "{h}×{w}");
        }
    }

    #[test]
    fn bicubic_rows_sum_to_one_and_keep_the_identity() {
        let m = cubic_matrix(10, 7, DType::F64, &Device::Cpu).unwrap().to_vec2::<f64>().unwrap();
        for row in &m {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let x = Tensor::rand(0f32, 1f32, (1, 3, 5, 6), &Device::Cpu).unwrap();
        let same = bicubic(&x, 5, 6).unwrap();
        assert_eq!((same - &x).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
