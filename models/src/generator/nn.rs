//! Building blocks shared by the generator's networks, written so that every op carries a
//! gradient (see ../shared/CANDLE.md: several fast candle ops silently detach). Parameters come
//! from [`Params`], which either initialises them from a seeded RNG (training: the same seed
//! gives the same initial weights) or takes them from a loaded checkpoint.

use std::collections::{BTreeMap, HashMap};

use candle_core::{D, DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a fresh parameter is initialised.
#[derive(Debug, Clone, Copy)]
pub enum Init {
    Zeros,
    Ones,
    /// Uniform in `[-a, a]`.
    Uniform(f64),
    /// Normal with this standard deviation.
    Normal(f64),
}

/// A named set of parameters: trainable ([`Params::init`]: each a `Var`, so the ops on it build
/// an autograd graph) or fixed ([`Params::load`], [`Params::init_fixed`]: plain tensors, so a
/// forward pass keeps no intermediate alive — inference memory stays that of one layer, not of
/// the whole graph; the arithmetic is the same).
pub struct Params {
    vars: BTreeMap<String, Var>,
    fixed: BTreeMap<String, Tensor>,
    trainable: bool,
    source: Option<HashMap<String, Tensor>>,
    rng: ChaCha8Rng,
    device: Device,
}

impl Params {
    /// Fresh trainable parameters, initialised from `seed`.
    pub fn init(seed: u64, device: &Device) -> Self {
        Self::new(None, seed, true, device)
    }

    /// Fresh fixed parameters, initialised from `seed` as [`Params::init`] would: random weights
    /// for inference (throughput benches).
    pub fn init_fixed(seed: u64, device: &Device) -> Self {
        Self::new(None, seed, false, device)
    }

    /// Fixed parameters taken from `tensors` (a checkpoint); a missing name or a wrong shape is
    /// an error.
    pub fn load(tensors: HashMap<String, Tensor>, device: &Device) -> Self {
        Self::new(Some(tensors), 0, false, device)
    }

    fn new(source: Option<HashMap<String, Tensor>>, seed: u64, trainable: bool, device: &Device) -> Self {
        Self {
            vars: BTreeMap::new(),
            fixed: BTreeMap::new(),
            trainable,
            source,
            rng: ChaCha8Rng::seed_from_u64(seed),
            device: device.clone(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn get(&mut self, name: &str, shape: &[usize], init: Init) -> Result<Tensor> {
        let t = match &mut self.source {
            Some(src) => {
                let t = src
                    .remove(name)
                    .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint has no tensor {name}")))?;
                if t.dims() != shape {
                    candle_core::bail!("checkpoint tensor {name} has shape {:?}, expected {shape:?}", t.dims());
                }
                t.to_dtype(DType::F32)?.to_device(&self.device)?
            }
            None => {
                let n: usize = shape.iter().product();
                let data: Vec<f32> = match init {
                    Init::Zeros => vec![0.0; n],
                    Init::Ones => vec![1.0; n],
                    Init::Uniform(a) => (0..n).map(|_| self.rng.random_range(-a..=a) as f32).collect(),
                    Init::Normal(s) => (0..n).map(|_| (normal(&mut self.rng) * s) as f32).collect(),
                };
                Tensor::from_vec(data, shape, &self.device)?
            }
        };
        if self.vars.contains_key(name) || self.fixed.contains_key(name) {
            candle_core::bail!("parameter {name} defined twice");
        }
        if !self.trainable {
            self.fixed.insert(name.to_string(), t.clone());
            return Ok(t);
        }
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        self.vars.insert(name.to_string(), var);
        Ok(out)
    }

    /// Names of checkpoint tensors that no module asked for (a sign of a mismatched checkpoint).
    pub fn unused(&self) -> Vec<String> {
        let mut v: Vec<String> = self.source.iter().flat_map(|s| s.keys().cloned()).collect();
        v.sort();
        v
    }

    /// The trainable parameters (none for fixed ones).
    pub fn vars(&self) -> &BTreeMap<String, Var> {
        &self.vars
    }

    pub fn count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum::<usize>()
            + self.fixed.values().map(Tensor::elem_count).sum::<usize>()
    }

    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        let vars = self.vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone()));
        vars.chain(self.fixed.iter().map(|(k, t)| (k.clone(), t.clone()))).collect()
    }
}

/// A standard normal draw (Box–Muller), so noise depends only on our seeded RNG.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A tensor of standard normal noise from `rng`.
pub fn randn(rng: &mut ChaCha8Rng, shape: &[usize], device: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| normal(rng) as f32).collect();
    Tensor::from_vec(data, shape, device)
}

#[derive(Debug, Clone)]
pub struct Linear {
    w: Tensor,
    b: Option<Tensor>,
}

impl Linear {
    /// Xavier-uniform weights, zero bias.
    pub fn new(p: &mut Params, name: &str, fan_in: usize, fan_out: usize) -> Result<Self> {
        let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
        Self::with_init(p, name, fan_in, fan_out, Init::Uniform(a), true)
    }

    /// Zero weights and bias: the layer starts as the constant 0 (DiT's output layer).
    pub fn zeros(p: &mut Params, name: &str, fan_in: usize, fan_out: usize) -> Result<Self> {
        Self::with_init(p, name, fan_in, fan_out, Init::Zeros, true)
    }

    pub fn with_init(
        p: &mut Params,
        name: &str,
        fan_in: usize,
        fan_out: usize,
        init: Init,
        bias: bool,
    ) -> Result<Self> {
        let w = p.get(&format!("{name}.weight"), &[fan_out, fan_in], init)?;
        let b = if bias { Some(p.get(&format!("{name}.bias"), &[fan_out], Init::Zeros)?) } else { None };
        Ok(Self { w, b })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let (last, rest) = dims.split_last().ok_or_else(|| candle_core::Error::Msg("linear on a scalar".into()))?;
        let rows: usize = rest.iter().product();
        let y = x.reshape((rows, *last))?.matmul(&self.w.t()?)?;
        let y = match &self.b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out = rest.to_vec();
        out.push(self.w.dim(0)?);
        y.reshape(out)
    }

    pub fn flops(&self, rows: usize) -> f64 {
        2.0 * rows as f64 * self.w.elem_count() as f64
    }
}

/// 2D convolution with square kernel, stride 1, "same" padding.
#[derive(Debug, Clone)]
pub struct Conv2d {
    w: Tensor,
    b: Tensor,
    pad: usize,
}

impl Conv2d {
    pub fn new(p: &mut Params, name: &str, c_in: usize, c_out: usize, k: usize) -> Result<Self> {
        let a = (6.0 / ((c_in + c_out) * k * k) as f64).sqrt();
        let w = p.get(&format!("{name}.weight"), &[c_out, c_in, k, k], Init::Uniform(a))?;
        let b = p.get(&format!("{name}.bias"), &[c_out], Init::Zeros)?;
        Ok(Self { w, b, pad: k / 2 })
    }

    /// `x`: [N, C, H, W].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.w.dim(0)?;
        x.conv2d(&self.w, self.pad, 1, 1, 1)?.broadcast_add(&self.b.reshape((1, c, 1, 1))?)
    }

    /// FLOPs on an `n × h × w` input.
    pub fn flops(&self, n: usize, h: usize, w: usize) -> f64 {
        2.0 * (n * h * w) as f64 * self.w.elem_count() as f64
    }
}

/// Causal 1D convolution over time: `k − 1` copies of the first step are prepended, so output
/// step i sees inputs ≤ i·stride only, and a 1-step input stays 1 step.
#[derive(Debug, Clone)]
pub struct CausalConv1d {
    w: Tensor,
    b: Tensor,
    stride: usize,
}

impl CausalConv1d {
    pub fn new(p: &mut Params, name: &str, c_in: usize, c_out: usize, k: usize, stride: usize) -> Result<Self> {
        let a = (6.0 / ((c_in + c_out) * k) as f64).sqrt();
        let w = p.get(&format!("{name}.weight"), &[c_out, c_in, k], Init::Uniform(a))?;
        let b = p.get(&format!("{name}.bias"), &[c_out], Init::Zeros)?;
        Ok(Self { w, b, stride })
    }

    /// `x`: [N, C, T] → [N, C_out, (T − 1) / stride + 1].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let k = self.w.dim(2)?;
        let first = x.narrow(2, 0, 1)?;
        let mut parts = vec![first; k - 1];
        parts.push(x.clone());
        let padded = Tensor::cat(&parts, 2)?;
        let (n, c_in, t) = padded.dims3()?;
        let (c, _, _) = self.w.dims3()?;
        // As a conv2d over a height-1 image: candle 0.11's conv1d backward is wrong (kernel and
        // input gradients off by O(1) against finite differences, at stride 1 and 2), while
        // conv2d's is exact; `every_vae_layer_gets_the_right_gradient` guards this.
        let w = self.w.unsqueeze(2)?;
        let out = padded.reshape((n, c_in, 1, t))?.conv2d(&w, 0, self.stride, 1, 1)?.squeeze(2)?;
        out.broadcast_add(&self.b.reshape((1, c, 1))?)
    }

    pub fn flops(&self, n: usize, t_out: usize) -> f64 {
        2.0 * (n * t_out) as f64 * self.w.elem_count() as f64
    }
}

/// Layer norm over the last dimension without affine parameters, from plain tensor ops.
pub fn layer_norm(x: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    xc.broadcast_div(&(var + eps)?.sqrt()?)
}

/// RMS norm over the last dimension without a weight.
pub fn rms_norm(x: &Tensor, eps: f64) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(ms + eps)?.sqrt()?)
}

/// Layer norm with a learned gain and bias, from plain tensor ops.
#[derive(Debug, Clone)]
pub struct AffineNorm {
    g: Tensor,
    b: Tensor,
}

impl AffineNorm {
    pub fn new(p: &mut Params, name: &str, d: usize) -> Result<Self> {
        Ok(Self {
            g: p.get(&format!("{name}.weight"), &[d], Init::Ones)?,
            b: p.get(&format!("{name}.bias"), &[d], Init::Zeros)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        layer_norm(x, 1e-5)?.broadcast_mul(&self.g)?.broadcast_add(&self.b)
    }
}

/// `x · (1 + scale) + shift`, with scale/shift broadcast over tokens.
pub fn modulate(x: &Tensor, shift: &Tensor, scale: &Tensor) -> Result<Tensor> {
    x.broadcast_mul(&(scale + 1.0)?)?.broadcast_add(shift)
}

/// Most attention scores (elements of [B, H, rows, M]) held at once: 2^27 f32, 512 MiB.
pub const MAX_SCORES: usize = 1 << 27;

/// Scaled dot-product attention over [B, H, N, hd] with an optional additive key bias
/// broadcastable to [B, H, N, M]. Uses the differentiable softmax. When [B, H, N, M] scores would
/// exceed [`MAX_SCORES`], the queries go through in blocks of rows (softmax is row-wise, so each
/// row's result is the same): memory stays bounded at long sequences (a 256×256, 49-frame video
/// is 13,312 tokens; its full scores at DiT-L's 16 heads, with guidance, would take 23 GB per
/// temporary). Every size the suites and the training use fits in one block.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    attention_within(q, k, v, bias, MAX_SCORES)
}

/// [`attention`] holding at most `max_scores` scores at once.
fn attention_within(q: &Tensor, k: &Tensor, v: &Tensor, bias: Option<&Tensor>, max_scores: usize) -> Result<Tensor> {
    let (b, h, n, _) = q.dims4()?;
    let per_row = b * h * k.dim(2)?;
    let rows = (max_scores / per_row.max(1)).max(1);
    let kt = k.t()?.contiguous()?;
    if rows >= n {
        return attention_block(q, &kt, v, bias);
    }
    let mut out = Vec::with_capacity(n.div_ceil(rows));
    for start in (0..n).step_by(rows) {
        let r = rows.min(n - start);
        let bias = match bias {
            Some(x) if x.rank() == 4 && x.dim(2)? == n && n > 1 => Some(x.narrow(2, start, r)?),
            other => other.cloned(),
        };
        out.push(attention_block(&q.narrow(2, start, r)?.contiguous()?, &kt, v, bias.as_ref())?);
    }
    Tensor::cat(&out, 2)
}

/// [`attention`] for one block of queries; `kt` is the keys transposed, [B, H, hd, M].
fn attention_block(q: &Tensor, kt: &Tensor, v: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let hd = q.dim(D::Minus1)?;
    let scores = (q.matmul(kt)? / (hd as f64).sqrt())?;
    let scores = match bias {
        Some(b) => scores.broadcast_add(b)?,
        None => scores,
    };
    candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(v)
}

/// [B, N, H·hd] → [B, H, N, hd].
pub fn split_heads(x: &Tensor, heads: usize) -> Result<Tensor> {
    let (b, n, d) = x.dims3()?;
    x.reshape((b, n, heads, d / heads))?.transpose(1, 2)?.contiguous()
}

/// [B, H, N, hd] → [B, N, H·hd].
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, h, n, hd) = x.dims4()?;
    x.transpose(1, 2)?.contiguous()?.reshape((b, n, h * hd))
}

/// Sinusoidal embedding of scalars `t` [B] into `dim` features (DiT / Open-Sora convention:
/// cos then sin, max period 10,000).
pub fn sinusoidal(t: &Tensor, dim: usize) -> Result<Tensor> {
    let half = dim / 2;
    let freqs: Vec<f32> = (0..half).map(|i| (-(10_000f64.ln()) * i as f64 / half as f64).exp() as f32).collect();
    let freqs = Tensor::from_vec(freqs, (1, half), t.device())?;
    let args = t.to_dtype(DType::F32)?.unsqueeze(1)?.broadcast_mul(&freqs)?;
    Tensor::cat(&[args.cos()?, args.sin()?], 1)
}

/// Cosine and sine tables [N, hd/2] of a 3D rotary embedding over a (t, h, w) token grid. The
/// head's rotation pairs are split between the axes as in Wan: h and w get `2⌊hd/6⌋` dims each,
/// time the rest.
pub fn rope_3d(grid: (usize, usize, usize), head_dim: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let (gt, gh, gw) = grid;
    let hw = 2 * (head_dim / 6);
    let axes = [head_dim - 2 * hw, hw, hw];
    let half = head_dim / 2;
    let n = gt * gh * gw;
    let mut cos = Vec::with_capacity(n * half);
    let mut sin = Vec::with_capacity(n * half);
    for t in 0..gt {
        for y in 0..gh {
            for x in 0..gw {
                for (axis, &dim) in axes.iter().enumerate() {
                    let pos = [t, y, x][axis] as f64;
                    for i in 0..dim / 2 {
                        let theta = pos * 10_000f64.powf(-2.0 * i as f64 / dim as f64);
                        cos.push(theta.cos() as f32);
                        sin.push(theta.sin() as f32);
                    }
                }
            }
        }
    }
    Ok((Tensor::from_vec(cos, (n, half), device)?, Tensor::from_vec(sin, (n, half), device)?))
}

/// Rotates pairs (i, i + hd/2) of `x` [B, H, N, hd] by the tables from [`rope_3d`].
pub fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let hd = x.dim(D::Minus1)?;
    let half = hd / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let a = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let b = (x1.broadcast_mul(sin)? + x2.broadcast_mul(cos)?)?;
    Tensor::cat(&[a, b], D::Minus1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_preserves_norm_and_is_relative() {
        let dev = Device::Cpu;
        let (cos, sin) = rope_3d((2, 3, 3), 12, &dev).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let q = randn(&mut rng, &[1, 1, 18, 12], &dev).unwrap();
        let r = apply_rope(&q, &cos, &sin).unwrap();
        let n0 = q.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        let n1 = r.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert!((n0 - n1).abs() < 1e-3 * n0);
        // The same vector at every position: dot products depend only on the offset.
        let v =
            randn(&mut rng, &[1, 1, 1, 12], &dev).unwrap().broadcast_as((1, 1, 18, 12)).unwrap().contiguous().unwrap();
        let rv = apply_rope(&v, &cos, &sin).unwrap().squeeze(0).unwrap().squeeze(0).unwrap();
        let dot = |i: usize, j: usize| {
            (rv.get(i).unwrap() * rv.get(j).unwrap()).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()
        };
        // Positions (t,y,x): index = t*9 + y*3 + x. (0,0,0)-(0,0,1) and (1,2,1)-(1,2,2) differ by one x step.
        assert!((dot(0, 1) - dot(16, 17)).abs() < 1e-4);
        assert!((dot(0, 1) - dot(0, 3)).abs() > 1e-3, "x and y offsets must rotate differently");
    }

    /// Long sequences go through in blocks of query rows: the same result as all rows at once,
    /// with a per-row bias (narrowed with the rows), a per-key bias (broadcast) and none; a
    /// block size that does not divide the rows leaves a short last block.
    #[test]
    fn attention_in_row_blocks_equals_attention_at_once() {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (q, k, v) = (
            randn(&mut rng, &[2, 3, 50, 8], &dev).unwrap(),
            randn(&mut rng, &[2, 3, 30, 8], &dev).unwrap(),
            randn(&mut rng, &[2, 3, 30, 8], &dev).unwrap(),
        );
        let per_row = randn(&mut rng, &[2, 1, 50, 30], &dev).unwrap();
        let per_key = randn(&mut rng, &[2, 1, 1, 30], &dev).unwrap();
        for bias in [None, Some(&per_row), Some(&per_key)] {
            let whole = attention_within(&q, &k, &v, bias, usize::MAX).unwrap();
            let blocks = attention_within(&q, &k, &v, bias, 2 * 3 * 30 * 7).unwrap();
            assert_eq!(blocks.dims(), &[2, 3, 50, 8]);
            let diff = (whole - blocks).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff <= 1e-6, "bias {:?}: blocks differ by {diff}", bias.map(|b| b.dims().to_vec()));
        }
    }

    #[test]
    fn causal_conv_keeps_one_step_and_ignores_the_future() {
        let dev = Device::Cpu;
        let mut p = Params::init(3, &dev);
        let conv = CausalConv1d::new(&mut p, "c", 2, 2, 3, 2).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x = randn(&mut rng, &[1, 2, 9], &dev).unwrap();
        let y = conv.forward(&x).unwrap();
        assert_eq!(y.dims(), &[1, 2, 5]);
        assert_eq!(conv.forward(&x.narrow(2, 0, 1).unwrap()).unwrap().dims(), &[1, 2, 1]);
        // Changing the last input step changes only the last output.
        let x2 = Tensor::cat(&[x.narrow(2, 0, 8).unwrap(), (x.narrow(2, 8, 1).unwrap() + 5.0).unwrap()], 2).unwrap();
        let d = (conv.forward(&x2).unwrap() - y).unwrap().abs().unwrap().sum(1).unwrap().squeeze(0).unwrap();
        let d: Vec<f32> = d.to_vec1().unwrap();
        assert!(d[..4].iter().all(|&v| v == 0.0) && d[4] > 0.0, "{d:?}");
    }
}

/// Test support: the element of `var` with the largest analytic gradient `grad`, and the central
/// finite difference of `loss` there (step `h`, f32 weights); `var` is restored afterwards.
#[cfg(test)]
pub(crate) fn finite_difference_at_max(var: &Var, grad: &Tensor, h: f32, loss: &dyn Fn() -> f64) -> (usize, f32, f32) {
    let g = grad.flatten_all().and_then(|g| g.to_vec1::<f32>()).unwrap_or_default();
    let w0 = var.as_tensor().flatten_all().and_then(|w| w.to_vec1::<f32>()).unwrap_or_default();
    let i = (0..g.len()).max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs())).unwrap_or(0);
    let set = |w: Vec<f32>| var.set(&Tensor::from_vec(w, var.dims(), var.device()).unwrap_or_else(|e| panic!("{e}")));
    let at = |d: f32| {
        let mut w = w0.clone();
        w[i] += d;
        set(w).unwrap_or_else(|e| panic!("{e}"));
        loss()
    };
    let fd = ((at(h) - at(-h)) / (2.0 * f64::from(h))) as f32;
    set(w0).unwrap_or_else(|e| panic!("{e}"));
    (i, g[i], fd)
}
