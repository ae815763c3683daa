//! Layers the optical-flow and interpolation networks share (RAFT, AMT): a convolution that runs
//! as one matrix product over im2col patches (candle's general CPU convolution gathers element by
//! element and ran RAFT several times slower), instance norm, pixel coordinate grids, and the
//! all-pairs correlation pyramid with its windowed bilinear lookup.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

/// A 2-D convolution with its own zero padding per axis (the GRUs pad 1×5 and 5×1 kernels
/// unevenly), bias included; batch norm, where the layer has one, folded in.
pub(crate) struct Conv {
    pub(crate) weight: Tensor,
    pub(crate) bias: Tensor,
    pub(crate) stride: usize,
    pub(crate) pad: (usize, usize),
}

impl Conv {
    pub(crate) fn new(vb: VarBuilder, cin: usize, cout: usize, k: (usize, usize), stride: usize) -> Result<Self> {
        let weight = vb.get((cout, cin, k.0, k.1), "weight")?;
        let bias = vb.get(cout, "bias")?;
        Ok(Conv { weight, bias, stride, pad: ((k.0 - 1) / 2, (k.1 - 1) / 2) })
    }

    pub(crate) fn square(vb: VarBuilder, cin: usize, cout: usize, k: usize, stride: usize) -> Result<Self> {
        Conv::new(vb, cin, cout, (k, k), stride)
    }

    /// Folds an eval-mode BatchNorm2d (`vb`: weight, bias, running_mean, running_var; eps 1e-5)
    /// into the convolution: w·s, (b − mean)·s + β with s = γ / √(var + eps).
    pub(crate) fn fold_batch_norm(self, vb: VarBuilder) -> Result<Self> {
        let c = self.bias.dim(0)?;
        let gamma = vb.get(c, "weight")?;
        let beta = vb.get(c, "bias")?;
        let mean = vb.get(c, "running_mean")?;
        let var = vb.get(c, "running_var")?;
        let scale = gamma.div(&(var + 1e-5)?.sqrt()?)?;
        let weight = self.weight.broadcast_mul(&scale.reshape((c, 1, 1, 1))?)?;
        let bias = ((self.bias - mean)? * &scale)?.add(&beta)?;
        Ok(Conv { weight, bias, ..self })
    }
}

/// The patch-matrix size (values per sample) from which a stride-1 CPU convolution runs tap by tap
/// ([`Conv::forward_act`]) instead of through im2col: measured on this machine's 2 cores at
/// 512 × 288, AMT-S ran ~10% faster tap by tap (its full-size layers have few channels and a
/// patch matrix of up to 80 MB), RAFT ~15% slower (its update convolutions have 384–640 input
/// channels on a small grid, where one long product over the patch matrix is faster).
const SHIFTED_MIN: usize = 1 << 24;

/// An activation a convolution's output goes through; on the CPU's stride-1 path it is applied in
/// the same pass that adds the bias.
#[derive(Clone, Copy)]
pub(crate) enum Act<'a> {
    None,
    Relu,
    /// max(x, slope · x).
    Leaky(f64),
    /// Per-channel PReLU slopes, `[C]` or any shape holding C values.
    Prelu(&'a Tensor),
}

impl Act<'_> {
    fn apply(self, y: Tensor) -> Result<Tensor> {
        match self {
            Act::None => Ok(y),
            Act::Relu => y.relu(),
            Act::Leaky(s) => y.maximum(&(&y * s)?),
            Act::Prelu(a) => {
                let c = y.dim(1)?;
                y.relu()? + y.minimum(0.0)?.broadcast_mul(&a.reshape((1, c, 1, 1))?)?
            }
        }
    }
}

impl Conv {
    /// The convolution, its bias and then `act`.
    pub(crate) fn forward_act(&self, x: &Tensor, act: Act) -> Result<Tensor> {
        let (_, cin, kh, kw) = self.weight.dims4()?;
        let (_, _, h, w) = x.dims4()?;
        if self.stride == 1 && (kh, kw) != (1, 1) && x.device().is_cpu() && cin * kh * kw * h * w >= SHIFTED_MIN {
            match x.dtype() {
                DType::F32 => return self.shifted::<f32>(x, act),
                DType::F64 => return self.shifted::<f64>(x, act),
                _ => {}
            }
        }
        act.apply(self.forward(x)?)
    }

    /// A stride-1 CPU convolution as kh·kw matrix products read straight from the zero-padded
    /// input, with no patch matrix: on the padded grid (rows of Wp = W + 2·pw, one spare row),
    /// tap (ky, kx) is the padded planes flattened and shifted by ky·Wp + kx, so the output is
    /// computed at the padded row width and the extra columns are dropped in the pass that adds
    /// the bias and applies `act`. The same sums as im2col's, taken tap by tap.
    fn shifted<T>(&self, x: &Tensor, act: Act) -> Result<Tensor>
    where
        T: candle_core::WithDType + faer::traits::ComplexField,
    {
        use rayon::prelude::*;
        let (zero, one) = (T::from_f64(0.0), T::from_f64(1.0));
        let (b, cin, h, w) = x.dims4()?;
        let (cout, _, kh, kw) = self.weight.dims4()?;
        let (ph, pw) = self.pad;
        let (hp, wp) = (h + 2 * ph, w + 2 * pw);
        let (oh, ow) = (hp + 1 - kh, wp + 1 - kw);
        let plane = (hp + 1) * wp;
        let n = oh * wp;
        let x = x.contiguous()?;
        let src: Vec<T> = x.flatten_all()?.to_vec1()?;
        // Weights per tap, [kh·kw][cout][cin].
        let weight: Vec<T> = self.weight.flatten_all()?.to_vec1()?;
        let mut taps = vec![zero; kh * kw * cout * cin];
        for o in 0..cout {
            for i in 0..cin {
                for t in 0..kh * kw {
                    taps[(t * cout + o) * cin + i] = weight[(o * cin + i) * kh * kw + t];
                }
            }
        }
        let bias: Vec<T> = self.bias.flatten_all()?.to_vec1()?;
        let slopes: Option<Vec<T>> = match act {
            Act::Prelu(a) => Some(a.flatten_all()?.to_dtype(T::DTYPE)?.to_vec1()?),
            _ => None,
        };
        let leak = match act {
            Act::Leaky(s) => T::from_f64(s),
            _ => zero,
        };
        let par = faer::get_global_parallelism();
        let mut padded = vec![zero; cin * plane];
        let mut acc = vec![zero; cout * n];
        let mut out = vec![zero; b * cout * oh * ow];
        for bi in 0..b {
            // Only the interior is written: the border stays zero from one sample to the next.
            padded.par_chunks_mut(plane).enumerate().for_each(|(c, dst)| {
                for y in 0..h {
                    let from = ((bi * cin + c) * h + y) * w;
                    dst[(y + ph) * wp + pw..][..w].copy_from_slice(&src[from..from + w]);
                }
            });
            for t in 0..kh * kw {
                let offset = (t / kw) * wp + t % kw;
                // rhs: cin × n with row stride `plane` from `offset`; its last element
                // (cin − 1)·plane + offset + n − 1 ≤ (cin − 1)·plane + hp·wp + kw − 2 lies inside
                // `padded` (cin·plane long, plane = (hp + 1)·wp, wp ≥ kw).
                let rhs = faer::MatRef::from_row_major_slice_with_stride(&padded[offset..], cin, n, plane);
                let lhs = faer::MatRef::from_row_major_slice(&taps[t * cout * cin..(t + 1) * cout * cin], cout, cin);
                let dst = faer::MatMut::from_row_major_slice_mut(&mut acc, cout, n);
                let accum = if t == 0 { faer::Accum::Replace } else { faer::Accum::Add };
                faer::linalg::matmul::matmul(dst, accum, lhs, rhs, one, par);
            }
            out[bi * cout * oh * ow..(bi + 1) * cout * oh * ow].par_chunks_mut(oh * ow).enumerate().for_each(
                |(o, dst)| {
                    let slope = slopes.as_ref().map(|s| s[o]);
                    for y in 0..oh {
                        let row = &acc[o * n + y * wp..][..ow];
                        for (d, &v) in dst[y * ow..(y + 1) * ow].iter_mut().zip(row) {
                            let v = v + bias[o];
                            *d = match act {
                                Act::None => v,
                                Act::Relu => {
                                    if v > zero {
                                        v
                                    } else {
                                        zero
                                    }
                                }
                                Act::Leaky(_) => {
                                    let l = v * leak;
                                    if v >= l { v } else { l }
                                }
                                Act::Prelu(_) => {
                                    if v >= zero {
                                        v
                                    } else {
                                        v * slope.unwrap_or(one)
                                    }
                                }
                            };
                        }
                    }
                },
            );
        }
        Tensor::from_vec(out, (b, cout, oh, ow), x.device())
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (cout, cin, kh, kw) = self.weight.dims4()?;
        let y = if kh == 1 && kw == 1 && self.stride == 1 {
            // A matrix product already (candle's 1×1 path).
            x.conv2d(&self.weight, 0, 1, 1, 1)?
        } else if self.stride == 1 && x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) && {
            let (_, _, h, w) = x.dims4()?;
            cin * kh * kw * h * w >= SHIFTED_MIN
        } {
            return self.forward_act(x, Act::None);
        } else {
            // im2col, then one matrix product: candle's general CPU convolution gathers element
            // by element and ran RAFT several times slower. A batch's patches sit side by side
            // in the columns, so a batch of small images (MUSIQ's patches) is one product, not one
            // per image.
            let b = x.dim(0)?;
            let (cols, oh, ow) = im2col(x, (kh, kw), self.stride, self.pad, true)?;
            let y = self.weight.reshape((cout, cin * kh * kw))?.matmul(&cols)?; // [cout, B·oh·ow]
            if b == 1 {
                y.reshape((1, cout, oh, ow))?
            } else {
                y.reshape((cout, b, oh * ow))?.transpose(0, 1)?.contiguous()?.reshape((b, cout, oh, ow))?
            }
        };
        y.broadcast_add(&self.bias.reshape((1, (), 1, 1))?)
    }
}

/// The patches of `x` (`[B, C, H, W]`) under a `k` kernel at `stride` with zero padding `pad`, as
/// `[B, C·kh·kw, oh·ow]` (rows in a weight's `(c, ky, kx)` order) or, with `batch_in_columns`, as
/// `[C·kh·kw, B·oh·ow]` (each row holds the batch's patches one image after another), and the
/// output size. On the CPU one pass writes them; elsewhere tensor operations do.
fn im2col(
    x: &Tensor,
    k: (usize, usize),
    stride: usize,
    pad: (usize, usize),
    batch_in_columns: bool,
) -> Result<(Tensor, usize, usize)> {
    let (b, c, h, w) = x.dims4()?;
    let ((kh, kw), s, (ph, pw)) = (k, stride, pad);
    let (oh, ow) = ((h + 2 * ph - kh) / s + 1, (w + 2 * pw - kw) / s + 1);
    let shape: (usize, usize, usize) =
        if batch_in_columns { (1, c * kh * kw, b * oh * ow) } else { (b, c * kh * kw, oh * ow) };
    let x = x.contiguous()?;
    if x.device().is_cpu() {
        let (storage, layout) = x.storage_and_layout();
        let candle_core::Storage::Cpu(cpu) = &*storage else { unreachable!("a CPU tensor has CPU storage") };
        let geometry = Patches { c, h, w, kh, kw, s, ph, pw, oh, ow };
        let cols = match x.dtype() {
            DType::F32 => {
                let data = &cpu.as_slice::<f32>()?[layout.start_offset()..][..b * c * h * w];
                Tensor::from_vec(geometry.cols(data, b, batch_in_columns), shape, x.device())?
            }
            DType::F64 => {
                let data = &cpu.as_slice::<f64>()?[layout.start_offset()..][..b * c * h * w];
                Tensor::from_vec(geometry.cols(data, b, batch_in_columns), shape, x.device())?
            }
            other => candle_core::bail!("convolutions run in f32 or f64, not {other:?}"),
        };
        let cols = if batch_in_columns { cols.squeeze(0)? } else { cols };
        return Ok((cols, oh, ow));
    }
    let cols = im2col_ops(&x, k, stride, pad)?;
    let cols =
        if batch_in_columns { cols.transpose(0, 1)?.contiguous()?.reshape((c * kh * kw, b * oh * ow))? } else { cols };
    Ok((cols, oh, ow))
}

/// [`im2col`] with tensor operations, for any device.
fn im2col_ops(x: &Tensor, k: (usize, usize), stride: usize, pad: (usize, usize)) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let ((kh, kw), s, (ph, pw)) = (k, stride, pad);
    let (oh, ow) = ((h + 2 * ph - kh) / s + 1, (w + 2 * pw - kw) / s + 1);
    // Pad so that every tap's strided window fits whole: s · out rows from its offset.
    let extra_h = (kh - 1 + s * oh).saturating_sub(h + 2 * ph);
    let extra_w = (kw - 1 + s * ow).saturating_sub(w + 2 * pw);
    let padded = x.pad_with_zeros(2, ph, ph + extra_h)?.pad_with_zeros(3, pw, pw + extra_w)?;
    let mut taps = Vec::with_capacity(kh * kw);
    for ky in 0..kh {
        for kx in 0..kw {
            let tap = padded.narrow(2, ky, s * oh)?.narrow(3, kx, s * ow)?;
            let tap = if s == 1 {
                tap
            } else {
                tap.reshape((b, c, oh, s, ow, s))?.narrow(3, 0, 1)?.narrow(5, 0, 1)?.reshape((b, c, oh, ow))?
            };
            taps.push(tap.contiguous()?);
        }
    }
    Tensor::stack(&taps, 2)?.reshape((b, c * kh * kw, oh * ow))
}

/// A convolution's patch geometry, for the CPU im2col.
struct Patches {
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
}

impl Patches {
    /// `[B, C·kh·kw, oh·ow]` from a contiguous `[B, C, H, W]`, or `[C·kh·kw, B, oh·ow]` with
    /// `batch_in_columns`; zeros where a tap falls outside.
    fn cols<T: candle_core::WithDType>(&self, x: &[T], b: usize, batch_in_columns: bool) -> Vec<T> {
        use rayon::prelude::*;
        let Patches { c, h, w, kh, kw, s, ph, pw, oh, ow } = *self;
        let n = oh * ow;
        let mut cols = vec![T::from_f64(0.0); b * c * kh * kw * n];
        cols.par_chunks_mut(n).enumerate().for_each(|(row, dst)| {
            // Which image and which (channel, tap) row this chunk is.
            let (image, k) =
                if batch_in_columns { (row % b, row / b) } else { (row / (c * kh * kw), row % (c * kh * kw)) };
            let (plane, tap) = (image * c + k / (kh * kw), k % (kh * kw));
            let (ky, kx) = (tap / kw, tap % kw);
            let src = &x[plane * h * w..(plane + 1) * h * w];
            // Output columns whose input column ox·s + kx − pw lies inside [0, w).
            let ox_lo = pw.saturating_sub(kx).div_ceil(s);
            let ox_hi = ((w + pw).saturating_sub(kx)).div_ceil(s).min(ow);
            for oy in 0..oh {
                let iy = oy * s + ky;
                if iy < ph || iy - ph >= h || ox_lo >= ox_hi {
                    continue;
                }
                let (row_in, out) = (&src[(iy - ph) * w..(iy - ph + 1) * w], &mut dst[oy * ow..(oy + 1) * ow]);
                let ix0 = ox_lo * s + kx - pw;
                if s == 1 {
                    out[ox_lo..ox_hi].copy_from_slice(&row_in[ix0..ix0 + (ox_hi - ox_lo)]);
                } else {
                    for (o, ox) in out[ox_lo..ox_hi].iter_mut().zip(0..) {
                        *o = row_in[ix0 + ox * s];
                    }
                }
            }
        });
        cols
    }
}

/// Instance norm without affine parameters (eps 1e-5, biased variance), per sample and channel.
pub(crate) fn instance_norm(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let flat = x.reshape((b, c, h * w))?;
    let centred = flat.broadcast_sub(&flat.mean_keepdim(2)?)?;
    let var = centred.sqr()?.mean_keepdim(2)?;
    centred.broadcast_div(&(var + 1e-5)?.sqrt()?)?.reshape((b, c, h, w))
}

/// `[B, 2, h, w]` pixel coordinates, x then y.
pub(crate) fn coords_grid(b: usize, h: usize, w: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let xs =
        Tensor::arange(0u32, w as u32, device)?.to_dtype(dtype)?.reshape((1, 1, 1, w))?.broadcast_as((b, 1, h, w))?;
    let ys =
        Tensor::arange(0u32, h as u32, device)?.to_dtype(dtype)?.reshape((1, 1, h, 1))?.broadcast_as((b, 1, h, w))?;
    Tensor::cat(&[&xs, &ys], 1)
}

/// The all-pairs correlation pyramid: level l is `[B·h·w, h_l · w_l]` (the volume of dot products
/// / √C average-pooled l times), sampled in a `(2r + 1)²` window around each query.
pub(crate) struct Pyramid {
    levels: Vec<(Tensor, usize, usize)>,
    radius: usize,
    batch: usize,
    h: usize,
    w: usize,
}

impl Pyramid {
    /// `levels` levels of the correlation of `fmap1` with `fmap2` (`[B, C, h, w]` each), read in
    /// windows of radius `radius`.
    pub(crate) fn new(fmap1: &Tensor, fmap2: &Tensor, levels: usize, radius: usize) -> Result<Self> {
        let (b, c, h, w) = fmap1.dims4()?;
        let f1 = fmap1.reshape((b, c, h * w))?.transpose(1, 2)?.contiguous()?;
        let f2 = fmap2.reshape((b, c, h * w))?.contiguous()?;
        // Scaled before the product, so only one volume-sized tensor exists (÷16 for RAFT's 256
        // channels is exact either way).
        let volume = (f1 / (c as f64).sqrt())?.matmul(&f2)?.reshape((b * h * w, 1, h, w))?;
        let count = levels;
        let mut levels = Vec::with_capacity(count);
        let mut level = volume;
        let (mut lh, mut lw) = (h, w);
        for l in 0..count {
            if l > 0 {
                level = level.avg_pool2d(2)?;
                (lh, lw) = (lh / 2, lw / 2);
            }
            levels.push((level.reshape((b * h * w, lh * lw))?, lh, lw));
        }
        Ok(Pyramid { levels, radius, batch: b, h, w })
    }

    /// Correlation features `[B, L·S², h, w]` around `coords` (`[B, 2, h, w]`): per level, the
    /// S × S window (S = 2r + 1) of bilinear samples (zeros outside, `grid_sample` with
    /// `align_corners=True`) centred at coords / 2^l; channel `level·S² + S·i + j` is offset i − r
    /// in x and j − r in y (the order of RAFT's and AMT's `meshgrid(dy, dx)` added to (x, y)).
    pub(crate) fn lookup(&self, coords: &Tensor) -> Result<Tensor> {
        let radius = self.radius;
        let side = 2 * radius + 1;
        let win = side + 1;
        let (b, h, w) = (self.batch, self.h, self.w);
        let n = b * h * w;
        let device = coords.device();
        let dtype = coords.dtype();
        // Query coordinates, x then y, per (b, y, x).
        let c: Vec<f64> = coords.permute((0, 2, 3, 1))?.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
        let mut features = Vec::with_capacity(self.levels.len());
        for (l, (level, lh, lw)) in self.levels.iter().enumerate() {
            let scale = (1u64 << l) as f64;
            let mut index = Vec::with_capacity(n * win * win);
            let mut valid = Vec::with_capacity(n * win * win);
            let mut frac = Vec::with_capacity(n * 2);
            for q in 0..n {
                let (cx, cy) = (c[2 * q] / scale, c[2 * q + 1] / scale);
                let (x0, y0) = (cx.floor(), cy.floor());
                frac.push(cx - x0);
                frac.push(cy - y0);
                for i in 0..win {
                    for j in 0..win {
                        let xx = x0 + i as f64 - radius as f64;
                        let yy = y0 + j as f64 - radius as f64;
                        let inside = xx >= 0.0 && yy >= 0.0 && xx < *lw as f64 && yy < *lh as f64;
                        index.push(if inside { (yy as usize * lw + xx as usize) as u32 } else { 0 });
                        valid.push(if inside { 1.0f64 } else { 0.0 });
                    }
                }
            }
            let index = Tensor::from_vec(index, (n, win * win), device)?;
            let valid = Tensor::from_vec(valid, (n, win, win), device)?.to_dtype(dtype)?;
            let window = level.gather(&index, 1)?.reshape((n, win, win))?.mul(&valid)?;
            let frac = Tensor::from_vec(frac, (n, 2), device)?.to_dtype(dtype)?;
            let fx = frac.narrow(1, 0, 1)?.reshape((n, 1, 1))?;
            let fy = frac.narrow(1, 1, 1)?.reshape((n, 1, 1))?;
            let (gx, gy) = ((1.0 - &fx)?, (1.0 - &fy)?);
            let corner = |di: usize, dj: usize| window.narrow(1, di, side)?.narrow(2, dj, side);
            let s = (corner(0, 0)?.broadcast_mul(&(&gx * &gy)?)? + corner(1, 0)?.broadcast_mul(&(&fx * &gy)?)?)?
                .add(&corner(0, 1)?.broadcast_mul(&(&gx * &fy)?)?)?
                .add(&corner(1, 1)?.broadcast_mul(&(&fx * &fy)?)?)?;
            features.push(s.reshape((b, h, w, side * side))?);
        }
        Tensor::cat(&features, 3)?.permute((0, 3, 1, 2))?.contiguous()
    }
}

/// Backward warp: each pixel of the result samples `img` bilinearly at its own position plus
/// `flow` (`[B, 2, H, W]`, x then y, pixels), coordinates clamped to the frame — AMT's
/// `flow_utils.warp` (`grid_sample` with `padding_mode="border"`, `align_corners=True`) and
/// flownet2's `Resample2d` (indices clamped, which samples the same values).
pub(crate) fn warp(img: &Tensor, flow: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = img.dims4()?;
    let n = h * w;
    let pos = (coords_grid(b, h, w, flow.dtype(), flow.device())? + flow)?;
    let x = pos.narrow(1, 0, 1)?.clamp(0.0, (w - 1) as f64)?;
    let y = pos.narrow(1, 1, 1)?.clamp(0.0, (h - 1) as f64)?;
    let (x0, y0) = (x.floor()?, y.floor()?);
    let (fx, fy) = ((&x - &x0)?, (&y - &y0)?);
    // The neighbour past the last column or row carries weight 0; it reads the last one.
    let x1 = (&x0 + 1.0)?.minimum((w - 1) as f64)?;
    let y1 = (&y0 + 1.0)?.minimum((h - 1) as f64)?;
    let flat = img.reshape((b, c, n))?.contiguous()?;
    let sample = |yy: &Tensor, xx: &Tensor| -> Result<Tensor> {
        let index = ((yy * w as f64)? + xx)?.to_dtype(DType::U32)?.reshape((b, 1, n))?;
        flat.gather(&index.broadcast_as((b, c, n))?.contiguous()?, 2)?.reshape((b, c, h, w))
    };
    let (gx, gy) = ((1.0 - &fx)?, (1.0 - &fy)?);
    let out = sample(&y0, &x0)?.broadcast_mul(&(&gx * &gy)?)?;
    let out = (out + sample(&y0, &x1)?.broadcast_mul(&(&fx * &gy)?)?)?;
    let out = (out + sample(&y1, &x0)?.broadcast_mul(&(&gx * &fy)?)?)?;
    out + sample(&y1, &x1)?.broadcast_mul(&(&fx * &fy)?)?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values uniform in [lo, hi) from a fixed seed. These tests compare f32 sums taken in
    /// different orders against a bound; drawn by the thread's generator, each run's inputs
    /// differed, and a 7×7 layer once differed by 1.05e-5 (a clean CI run failed).
    fn uniform(lo: f32, hi: f32, shape: impl Into<candle_core::Shape>, seed: u64) -> Tensor {
        use rand::{Rng, SeedableRng};
        let shape = shape.into();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let v: Vec<f32> = (0..shape.elem_count()).map(|_| rng.random_range(lo..hi)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// The CPU im2col and the tensor-operation one (what other devices run) agree exactly, and a
    /// convolution through them equals candle's own.
    #[test]
    fn im2col_paths_agree_and_convolve_like_candle() {
        let dev = Device::Cpu;
        let x = uniform(-1.0, 1.0, (2, 3, 11, 14), 1);
        for (k, stride, pad) in [
            ((3, 3), 1, (1, 1)),
            ((7, 7), 2, (3, 3)),
            ((3, 3), 2, (1, 1)),
            ((1, 5), 1, (0, 2)),
            ((5, 1), 1, (2, 0)),
            ((1, 1), 2, (0, 0)),
        ] {
            let (cpu, oh, ow) = im2col(&x, k, stride, pad, false).unwrap();
            let ops = im2col_ops(&x, k, stride, pad).unwrap();
            let diff = (&cpu - &ops).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert_eq!(diff, 0.0, "{k:?} stride {stride} pad {pad:?}");
            // The batch side by side in the columns is the same patches, transposed.
            let (folded, _, _) = im2col(&x, k, stride, pad, true).unwrap();
            let (_, rows, n) = cpu.dims3().unwrap();
            let want = cpu.transpose(0, 1).unwrap().contiguous().unwrap().reshape((rows, 2 * n)).unwrap();
            let diff = (&folded - &want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert_eq!(diff, 0.0, "{k:?} stride {stride} pad {pad:?}: batch in columns");
            let weight = uniform(-1.0, 1.0, (4, 3, k.0, k.1), 2);
            let conv = Conv { weight: weight.clone(), bias: Tensor::zeros(4, DType::F32, &dev).unwrap(), stride, pad };
            let ours = conv.forward(&x).unwrap();
            assert_eq!(ours.dims4().unwrap(), (2, 4, oh, ow));
            if pad.0 == pad.1 {
                let theirs = x.conv2d(&weight, pad.0, stride, 1, 1).unwrap();
                let diff = (&ours - &theirs).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(diff < 1e-5, "{k:?} stride {stride}: {diff}");
            }
        }
    }

    /// The tap-by-tap path (used on large stride-1 layers) equals im2col + product + activation,
    /// for a batch (the padded buffer reused between images), uneven kernels and every activation.
    #[test]
    fn the_tap_by_tap_convolution_equals_im2col_with_each_activation() {
        let x = uniform(-1.0, 1.0, (3, 4, 9, 13), 3);
        let slopes = uniform(0.0, 1.0, 5, 4);
        for (k, pad) in [((3, 3), (1, 1)), ((7, 7), (3, 3)), ((1, 5), (0, 2)), ((5, 1), (2, 0)), ((3, 3), (0, 0))] {
            let weight = uniform(-1.0, 1.0, (5, 4, k.0, k.1), 5);
            let bias = uniform(-1.0, 1.0, 5, 6);
            let conv = Conv { weight, bias, stride: 1, pad };
            for act in [Act::None, Act::Relu, Act::Leaky(0.1), Act::Prelu(&slopes)] {
                // Small inputs take the im2col path through `forward`.
                let want = act.apply(conv.forward(&x).unwrap()).unwrap();
                let got = conv.shifted::<f32>(&x, act).unwrap();
                assert_eq!(got.dims(), want.dims(), "{k:?}");
                let diff = (&got - &want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(diff < 1e-5, "{k:?} pad {pad:?}: {diff}");
            }
        }
    }
}
