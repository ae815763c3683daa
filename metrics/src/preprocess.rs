//! The one preprocessing module: which frames, what size, which filter, which value range.
//!
//! A metric or feature extractor states its protocol as a [`Preprocess`] value and calls
//! [`apply`]; nothing else in videval resizes or normalises frames. Every choice is named,
//! because published numbers (FVD above all) move by large factors with them:
//!
//! - frames: [`FrameSampling`] — all, first N, uniform N, middle N (VBench), or resampled to a
//!   target fps by sample-and-hold;
//! - size: [`Spatial`] — native, stretch to W×H (the original TF FVD), short-side resize then
//!   centre crop (PyTorch ports, CLIP), letterbox into W×H;
//! - filter: [`Filter`] — nearest, bilinear (triangle), bicubic (Keys, a = −0.5, as PIL), area
//!   (box); with `antialias` the kernel widens by the scale factor when shrinking (PIL,
//!   torchvision `antialias=True`), without it the kernel keeps its width (OpenCV, TF1);
//! - values: [`Normalise`] — [0,1], [−1,1], CLIP mean/std, ImageNet mean/std.
//!
//! Resampling is separable and computed in f32 from the 8-bit source; output pixel centres map
//! to source coordinates as `(x + 0.5) · in/out − 0.5` (half-pixel centres, as PIL and
//! `align_corners=False`); edge taps are clamped.

use serde::{Deserialize, Serialize};

use crate::video::Video;

/// Which source frames to keep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy", content = "n")]
pub enum FrameSampling {
    All,
    /// The first N frames (fewer if the video is shorter).
    First(usize),
    /// N frames at evenly spaced positions `round(i · (T − 1) / (N − 1))` spanning the clip.
    Uniform(usize),
    /// N consecutive frames centred in the clip, starting at `(T − N) / 2` (VBench's "middle").
    Middle(usize),
    /// Resampled to this frame rate: output frame k shows the last source frame at or before
    /// time k / fps (sample and hold), for k / fps < duration.
    Fps(f64),
}

impl FrameSampling {
    /// The source indices kept from a constant-rate clip of `total` frames at `fps`, in order
    /// (indices may repeat when upsampling with [`FrameSampling::Fps`]).
    pub fn indices(&self, total: usize, fps: f64) -> Vec<usize> {
        match *self {
            FrameSampling::All => (0..total).collect(),
            FrameSampling::First(n) => (0..n.min(total)).collect(),
            FrameSampling::Uniform(n) => {
                if total == 0 || n == 0 {
                    Vec::new()
                } else if n == 1 {
                    vec![(total - 1) / 2]
                } else {
                    (0..n).map(|i| ((i * (total - 1)) as f64 / (n - 1) as f64).round() as usize).collect()
                }
            }
            FrameSampling::Middle(n) => {
                let n = n.min(total);
                let start = (total - n) / 2;
                (start..start + n).collect()
            }
            FrameSampling::Fps(target) => {
                if total == 0 || !(target > 0.0) || !(fps > 0.0) {
                    return Vec::new();
                }
                let duration = total as f64 / fps;
                let mut out = Vec::new();
                let mut k = 0usize;
                loop {
                    let t = k as f64 / target;
                    if t >= duration - 1e-9 {
                        break;
                    }
                    // A tiny epsilon keeps exact multiples (t·fps = 3.0) on their own frame.
                    out.push(((t * fps + 1e-9).floor() as usize).min(total - 1));
                    k += 1;
                }
                out
            }
        }
    }

    /// A short stable name for results and cache keys, e.g. `uniform16`.
    pub fn name(&self) -> String {
        match self {
            FrameSampling::All => "all".into(),
            FrameSampling::First(n) => format!("first{n}"),
            FrameSampling::Uniform(n) => format!("uniform{n}"),
            FrameSampling::Middle(n) => format!("middle{n}"),
            FrameSampling::Fps(f) => format!("fps{f}"),
        }
    }
}

/// What size the frames end up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "policy")]
pub enum Spatial {
    /// Unchanged.
    Native,
    /// Resized to exactly `width × height`, ignoring aspect ratio.
    Stretch { width: u32, height: u32 },
    /// Resized so the short side is `short` (long side `⌊long · short / short_in⌋`, as torchvision
    /// and HF's CLIP processor truncate it), then the centre `crop_w × crop_h` taken at offset
    /// `round((size − crop) / 2)` (torchvision).
    ShortSideCrop { short: u32, crop_w: u32, crop_h: u32 },
    /// Resized to fit inside `width × height` keeping aspect ratio (each side
    /// `round(side · scale)`), centred, the rest filled with `fill`.
    Letterbox { width: u32, height: u32, fill: [u8; 3] },
    /// torchvision's `Resize(short)` (then `CenterCrop(crop)` when `crop > 0`) on a float32 tensor,
    /// as VBench applies it to decoded frames (its `load_video` hands 8-bit frames on as
    /// `torch.Tensor`, float32): the long side is `int(long · short / short_in)` (truncated), the
    /// resized values stay floats (no rounding back to 8 bits, bicubic overshoot below 0 and above
    /// 255 kept), and the crop offset is `round((size − crop) / 2)` half to even (Python's round).
    /// Use [`Filter::BicubicTorch`] or [`Filter::Bilinear`] without antialiasing to match.
    TorchShortSide { short: u32, crop: u32 },
    /// VBench's imaging-quality transform (`preprocess_mode="longer"`): frames whose longer side
    /// exceeds `long` are resized by torchvision's `Resize((int(s·h), int(s·w)))` with
    /// s = long / max(h, w) (each side truncated) on float32 frames, values kept as floats;
    /// smaller frames are left as they are. Use [`Filter::Bilinear`] without antialiasing.
    TorchLongSide { long: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    Nearest,
    Bilinear,
    /// Cubic convolution with a = −0.5 (PIL).
    Bicubic,
    Area,
    /// Cubic convolution with a = −0.75 (torch's `interpolate(mode="bicubic")`, torchvision on
    /// tensors).
    BicubicTorch,
}

impl Filter {
    /// Kernel half-width at scale 1.
    fn support(self) -> f32 {
        match self {
            Filter::Nearest | Filter::Area => 0.5,
            Filter::Bilinear => 1.0,
            Filter::Bicubic | Filter::BicubicTorch => 2.0,
        }
    }

    fn weight(self, x: f32) -> f32 {
        let x = x.abs();
        match self {
            Filter::Nearest | Filter::Area => {
                if x < 0.5 {
                    1.0
                } else if x == 0.5 {
                    0.5
                } else {
                    0.0
                }
            }
            Filter::Bilinear => (1.0 - x).max(0.0),
            Filter::Bicubic | Filter::BicubicTorch => {
                let a: f32 = if self == Filter::Bicubic { -0.5 } else { -0.75 };
                if x < 1.0 {
                    ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * a
                } else {
                    0.0
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalise {
    /// v / 255.
    Unit,
    /// v / 127.5 − 1, in [−1, 1] (I3D, most video VAEs).
    Symmetric,
    /// (v / 255 − mean) / std with OpenAI CLIP's statistics.
    ClipMeanStd,
    /// (v / 255 − mean) / std with ImageNet's statistics.
    ImageNetMeanStd,
}

pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_1];
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl Normalise {
    /// Maps a channel value on the 0–255 scale.
    #[inline]
    pub fn map(self, v: f32, channel: usize) -> f32 {
        match self {
            Normalise::Unit => v / 255.0,
            Normalise::Symmetric => v / 127.5 - 1.0,
            Normalise::ClipMeanStd => (v / 255.0 - CLIP_MEAN[channel]) / CLIP_STD[channel],
            Normalise::ImageNetMeanStd => (v / 255.0 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel],
        }
    }
}

/// A complete preprocessing protocol; results record it next to every number it produced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    pub frames: FrameSampling,
    pub spatial: Spatial,
    pub filter: Filter,
    pub antialias: bool,
    pub normalise: Normalise,
}

impl Preprocess {
    /// The FVD protocol: the first 16 consecutive frames (StyleGAN-V's `fvd2048_16f` takes a
    /// generated video's first 16; the TF original scores 16-frame clips), stretched to 224²
    /// bilinearly without antialiasing with half-pixel centres (PyTorch's `align_corners=False`;
    /// TF1's `resize_bilinear` samples at `x · scale`, a shift of `0.5 · (scale − 1)` px that
    /// grows with the source size), values in [−1, 1].
    pub const FVD: Preprocess = Preprocess {
        frames: FrameSampling::First(16),
        spatial: Spatial::Stretch { width: 224, height: 224 },
        filter: Filter::Bilinear,
        antialias: false,
        normalise: Normalise::Symmetric,
    };

    /// VBench's `clip_transform(224)` for background consistency and aesthetic quality:
    /// torchvision `Resize(224, BICUBIC, antialias=False)` + `CenterCrop(224)` on float32 frames,
    /// /255, CLIP mean/std; every frame.
    pub const VBENCH_CLIP: Preprocess = Preprocess {
        frames: FrameSampling::All,
        spatial: Spatial::TorchShortSide { short: 224, crop: 224 },
        filter: Filter::BicubicTorch,
        antialias: false,
        normalise: Normalise::ClipMeanStd,
    };

    /// VBench's `dino_transform(224)` for subject consistency: torchvision `Resize(224,
    /// antialias=False)` (bilinear, no crop: the aspect is kept) on float32 frames, /255, ImageNet
    /// mean/std; every frame.
    pub const VBENCH_DINO: Preprocess = Preprocess {
        frames: FrameSampling::All,
        spatial: Spatial::TorchShortSide { short: 224, crop: 0 },
        filter: Filter::Bilinear,
        antialias: false,
        normalise: Normalise::ImageNetMeanStd,
    };

    /// VBench's imaging-quality transform for MUSIQ: the longer side brought down to 512 when
    /// larger (torchvision `Resize((int(s·h), int(s·w)), antialias=False)`, bilinear, on float32
    /// frames), /255; every frame. MUSIQ makes its own scales from there.
    pub const VBENCH_MUSIQ: Preprocess = Preprocess {
        frames: FrameSampling::All,
        spatial: Spatial::TorchLongSide { long: 512 },
        filter: Filter::Bilinear,
        antialias: false,
        normalise: Normalise::Unit,
    };

    /// CLIP's image transform: bicubic short side 224 (antialiased, as PIL), centre crop 224,
    /// CLIP mean/std; 8 uniform frames.
    pub const CLIP: Preprocess = Preprocess {
        frames: FrameSampling::Uniform(8),
        spatial: Spatial::ShortSideCrop { short: 224, crop_w: 224, crop_h: 224 },
        filter: Filter::Bicubic,
        antialias: true,
        normalise: Normalise::ClipMeanStd,
    };
}

/// Preprocessed frames: f32, channels last, `[T, H, W, 3]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frames {
    pub data: Vec<f32>,
    pub len: usize,
    pub width: u32,
    pub height: u32,
}

impl Frames {
    pub fn frame(&self, t: usize) -> &[f32] {
        let n = self.width as usize * self.height as usize * 3;
        &self.data[t * n..(t + 1) * n]
    }

    /// The same values laid out `[T, 3, H, W]` (channels first), as networks take them.
    pub fn to_channels_first(&self) -> Vec<f32> {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut out = vec![0.0; self.data.len()];
        for t in 0..self.len {
            let src = self.frame(t);
            let dst = &mut out[t * 3 * w * h..(t + 1) * 3 * w * h];
            for i in 0..w * h {
                for c in 0..3 {
                    dst[c * w * h + i] = src[i * 3 + c];
                }
            }
        }
        out
    }
}

/// Precomputed taps of a 1-D resampling from `n_in` to `n_out` samples.
struct Taps {
    start: Vec<usize>,
    weights: Vec<Vec<f32>>,
}

/// The taps of outputs `outs` (of `n_out`), each the same whichever others are made.
fn taps(n_in: usize, n_out: usize, outs: std::ops::Range<usize>, filter: Filter, antialias: bool) -> Taps {
    if filter == Filter::Area && n_in > n_out {
        return area_taps(n_in, n_out, outs);
    }
    let scale = n_in as f32 / n_out as f32;
    // Widen the kernel when shrinking, so every source pixel contributes (antialiasing).
    let stretch = if antialias || filter == Filter::Area { scale.max(1.0) } else { 1.0 };
    let support = filter.support() * stretch;
    let mut start = Vec::with_capacity(outs.len());
    let mut weights = Vec::with_capacity(outs.len());
    for x in outs {
        let center = (x as f32 + 0.5) * scale - 0.5;
        if filter == Filter::Nearest {
            // Nearest picks one pixel: the one containing the output centre (floor of the
            // unshifted position, PIL / torch "nearest").
            let i = (((x as f32 + 0.5) * scale).floor() as usize).min(n_in - 1);
            start.push(i);
            weights.push(vec![1.0]);
            continue;
        }
        let lo = (center - support).floor() as isize;
        let hi = (center + support).ceil() as isize;
        let mut w: Vec<(isize, f32)> = (lo..=hi).map(|i| (i, filter.weight((i as f32 - center) / stretch))).collect();
        let sum: f32 = w.iter().map(|p| p.1).sum();
        for p in &mut w {
            p.1 /= sum;
        }
        // Fold taps outside the image onto the edge pixels (clamp).
        let first = lo.max(0) as usize;
        let last = (hi.min(n_in as isize - 1)) as usize;
        let mut folded = vec![0.0f32; last - first + 1];
        for (i, wt) in w {
            let j = (i.clamp(0, n_in as isize - 1) as usize).clamp(first, last);
            folded[j - first] += wt;
        }
        start.push(first);
        weights.push(folded);
    }
    Taps { start, weights }
}

/// Area averaging when shrinking: each output is the mean of the source it covers, a pixel cut by
/// the footprint's edge weighted by the part inside (OpenCV's `INTER_AREA`, FFmpeg's area
/// scaler). A box of whole pixels by their centres (PIL's BOX) gave outputs of 1 and 2 pixels in
/// turn at 854 → 455, a sampling grid a quarter pixel uneven that a pan crossed: the same clip's
/// `warping_error` read 29% higher from 480p than from 1080p.
fn area_taps(n_in: usize, n_out: usize, outs: std::ops::Range<usize>) -> Taps {
    let scale = n_in as f64 / n_out as f64;
    let mut start = Vec::with_capacity(outs.len());
    let mut weights = Vec::with_capacity(outs.len());
    for x in outs {
        let (a, b) = (x as f64 * scale, ((x + 1) as f64 * scale).min(n_in as f64));
        let first = (a.floor() as usize).min(n_in - 1);
        let last = ((b.ceil() as usize).max(first + 1)).min(n_in) - 1;
        let covered: Vec<f64> = (first..=last).map(|i| (b.min(i as f64 + 1.0) - a.max(i as f64)).max(0.0)).collect();
        let sum: f64 = covered.iter().sum();
        start.push(first);
        weights.push(covered.iter().map(|c| (c / sum) as f32).collect());
    }
    Taps { start, weights }
}

/// Resizes one RGB frame (values on the 0–255 scale, f32) with a separable filter.
pub fn resize(src: &[f32], w: u32, h: u32, out_w: u32, out_h: u32, filter: Filter, antialias: bool) -> Vec<f32> {
    resize_rows::<3, _>(SliceRows::<f32, 3> { src, w: w as usize }, w, h, out_w, out_h, filter, antialias)
}

/// Resizes one single-channel image (luma for optical flow) with a separable filter.
pub fn resize_plane(src: &[f32], w: u32, h: u32, out_w: u32, out_h: u32, filter: Filter, antialias: bool) -> Vec<f32> {
    resize_rows::<1, _>(SliceRows::<f32, 1> { src, w: w as usize }, w, h, out_w, out_h, filter, antialias)
}

/// A source sample the separable resize reads: one channel value on its own scale.
trait Texel: Sync + Copy {
    fn value(self) -> f32;
}

impl Texel for u8 {
    #[inline(always)]
    fn value(self) -> f32 {
        f32::from(self)
    }
}

impl Texel for f32 {
    #[inline(always)]
    fn value(self) -> f32 {
        self
    }
}

/// Resizes an RGB8 frame as its luma plane (no full-size luma plane is made: each row is
/// converted as the filter reaches it); the same values as [`resize_plane`] of the converted
/// frame.
pub fn resize_luma(rgb: &[u8], w: u32, h: u32, out_w: u32, out_h: u32, filter: Filter, antialias: bool) -> Vec<f32> {
    resize_rows::<1, _>(LumaRows { rgb, w: w as usize }, w, h, out_w, out_h, filter, antialias)
}

/// Rows the separable resize filters side by side, one per vector lane.
const LANES: usize = 8;

/// Where the separable resize reads its source rows from (`w` pixels of `C` samples each, on
/// the 0–255 scale or the plane's own): the samples of pixels `px` of row `y`, borrowed or made
/// into `buf`.
trait Rows {
    type Sample: Texel;
    fn samples<'s>(
        &'s self,
        y: usize,
        px: std::ops::Range<usize>,
        buf: &'s mut Vec<Self::Sample>,
    ) -> &'s [Self::Sample];
}

/// Rows of a packed frame of `C`-sample pixels.
struct SliceRows<'a, T, const C: usize> {
    src: &'a [T],
    w: usize,
}

impl<T: Texel, const C: usize> Rows for SliceRows<'_, T, C> {
    type Sample = T;
    #[inline(always)]
    fn samples<'s>(&'s self, y: usize, px: std::ops::Range<usize>, _: &'s mut Vec<T>) -> &'s [T] {
        &self.src[(y * self.w + px.start) * C..(y * self.w + px.end) * C]
    }
}

/// Rows of an RGB8 frame as [`crate::flow::luma`] (what [`crate::flow::Gray::from_rgb`] makes),
/// computed once per pixel as its row is loaded.
struct LumaRows<'a> {
    rgb: &'a [u8],
    w: usize,
}

impl Rows for LumaRows<'_> {
    type Sample = f32;
    #[inline(always)]
    fn samples<'s>(&'s self, y: usize, px: std::ops::Range<usize>, buf: &'s mut Vec<f32>) -> &'s [f32] {
        let row = &self.rgb[(y * self.w + px.start) * 3..(y * self.w + px.end) * 3];
        buf.clear();
        buf.extend(row.as_chunks::<3>().0.iter().map(|&p| crate::flow::luma(p)));
        buf
    }
}

/// Rows of an RGB8 frame with every pixel passed through `map` first (a painted frame, say),
/// mapped as each row is loaded: the filter sees the mapped frame without it being made whole.
struct MappedRows<'a, F> {
    rgb: &'a [u8],
    w: usize,
    map: F,
}

impl<F: Fn([u8; 3]) -> [u8; 3]> Rows for MappedRows<'_, F> {
    type Sample = u8;
    #[inline(always)]
    fn samples<'s>(&'s self, y: usize, px: std::ops::Range<usize>, buf: &'s mut Vec<u8>) -> &'s [u8] {
        let row = &self.rgb[(y * self.w + px.start) * 3..(y * self.w + px.end) * 3];
        buf.resize(row.len(), 0);
        for (dst, &p) in buf.as_chunks_mut::<3>().0.iter_mut().zip(row.as_chunks::<3>().0) {
            *dst = (self.map)(p);
        }
        buf
    }
}

/// Pixels loaded into the lanes at a time: a tile of the interleaved block small enough to stay
/// in the first-level cache while every lane writes into it.
const LOAD_TILE: usize = 128;

fn resize_rows<const C: usize, R: Rows + Sync>(
    rows: R,
    w: u32,
    h: u32,
    out_w: u32,
    out_h: u32,
    filter: Filter,
    antialias: bool,
) -> Vec<f32> {
    let all = [0..out_w as usize, 0..out_h as usize];
    resize_window::<C, R>(rows, [w, h], [out_w, out_h], all, filter, antialias)
}

/// The window `xs × ys` of the resize of `rows` (`w × h`) to `out_w × out_h`: the values the
/// whole resize has there, without making the rest (a centre crop of a 16384×2 frame resized
/// its whole 1.8-million-pixel-wide stretch first, 5 GB, to keep 224 columns of it), and only
/// from the source rows the window's taps reach.
fn resize_window<const C: usize, R: Rows + Sync>(
    rows: R,
    [w, h]: [u32; 2],
    [out_w, out_h]: [u32; 2],
    [xs, ys]: [std::ops::Range<usize>; 2],
    filter: Filter,
    antialias: bool,
) -> Vec<f32> {
    use rayon::prelude::*;
    let [w, h, ow, oh] = [w, h, out_w, out_h].map(|v| v as usize);
    let (cw, ch) = (xs.len(), ys.len());
    if cw == 0 || ch == 0 {
        return Vec::new();
    }
    if (w, h) == (ow, oh) {
        let mut out = Vec::with_capacity(cw * ch * C);
        let mut buf = Vec::new();
        for y in ys {
            out.extend(rows.samples(y, xs.clone(), &mut buf).iter().map(|v| v.value()));
        }
        return out;
    }
    let tx = taps(w, ow, xs, filter, antialias);
    let mut ty = taps(h, oh, ys, filter, antialias);
    // The source rows the vertical taps reach; their starts are made relative to the first.
    let first = ty.start.iter().copied().min().unwrap_or(0);
    let end = ty.start.iter().zip(&ty.weights).map(|(s, ws)| s + ws.len()).max().unwrap_or(0);
    for s in &mut ty.start {
        *s -= first;
    }
    // Horizontal pass: those rows × cw, in blocks of LANES rows, the blocks in parallel (each
    // value is formed by one thread, in the same order whatever the thread count). Each block is
    // compiled for the widest vector unit the machine has: the same operations on each value in
    // the same order (no fused multiply-adds), so the same values on every machine.
    let mut mid = vec![0.0f32; (end - first) * cw * C];
    mid.par_chunks_mut(LANES * cw * C).enumerate().for_each_init(
        || (vec![0.0f32; w * C * LANES], std::array::from_fn(|_| Vec::new())),
        |(block, bufs), (b, mid)| {
            let pass = HorizontalBlock::<C, R> { rows: &rows, y0: first + b * LANES, w, tx: &tx, block, bufs, mid };
            pulp::Arch::new().dispatch(pass);
        },
    );
    // Vertical pass: ch × cw, likewise compiled for the widest vector unit.
    let mut out = vec![0.0f32; ch * cw * C];
    pulp::Arch::new().dispatch(Vertical { mid: &mid, ty: &ty, row: cw * C, out: &mut out });
    out
}

// The two passes as pulp operations. pulp compiles an operation for the vector unit it picks
// only where the operation's code is inlined into its dispatch: a `with_simd` marked
// `#[inline(always)]` is; a closure's body is not reliably (both passes, written as closures,
// were found compiled for SSE2 alone).

struct Vertical<'a> {
    mid: &'a [f32],
    ty: &'a Taps,
    row: usize,
    out: &'a mut [f32],
}

impl pulp::WithSimd for Vertical<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        vertical(self.mid, self.ty, self.row, self.out);
    }
}

struct HorizontalBlock<'a, const C: usize, R: Rows> {
    rows: &'a R,
    y0: usize,
    w: usize,
    tx: &'a Taps,
    block: &'a mut [f32],
    bufs: &'a mut [Vec<R::Sample>; LANES],
    mid: &'a mut [f32],
}

impl<const C: usize, R: Rows> pulp::WithSimd for HorizontalBlock<'_, C, R> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        horizontal_block::<C, R>(self.rows, self.y0, self.w, self.tx, self.block, self.bufs, self.mid);
    }
}

/// The vertical pass: output row y is the taps of `ty` over the rows (`row` values each) of `mid`.
#[inline(always)]
fn vertical(mid: &[f32], ty: &Taps, row: usize, out: &mut [f32]) {
    for (y, dst) in out.chunks_exact_mut(row).enumerate() {
        let (s, ws) = (ty.start[y], &ty.weights[y]);
        for (k, &wt) in ws.iter().enumerate() {
            let srow = &mid[(s + k) * row..(s + k + 1) * row];
            for (d, &v) in dst.iter_mut().zip(srow) {
                *d += wt * v;
            }
        }
    }
}

/// The horizontal pass over the rows `y0..` (up to LANES of them; `mid` holds their outputs),
/// side by side. Their samples are interleaved in `block` (sample i of row l at i·LANES + l), so
/// each tap is one multiply and one add across the rows (a vector operation); each row's sums
/// are still formed tap by tap in order from zero, so the values are exactly those of one row at
/// a time. u8 → f32 is exact: the same sums as converting the frame first.
#[inline(always)]
fn horizontal_block<const C: usize, R: Rows>(
    rows: &R,
    y0: usize,
    w: usize,
    tx: &Taps,
    block: &mut [f32],
    bufs: &mut [Vec<R::Sample>; LANES],
    mid: &mut [f32],
) {
    let ow = tx.start.len();
    // Lanes past the last row repeat it; their sums are not kept.
    let n = mid.len() / (ow * C);
    for p0 in (0..w).step_by(LOAD_TILE) {
        let px = p0..(p0 + LOAD_TILE).min(w);
        let mut lanes = bufs.iter_mut().enumerate().map(|(l, buf)| rows.samples(y0 + l.min(n - 1), px.clone(), buf));
        let lanes: [&[R::Sample]; LANES] = std::array::from_fn(|_| lanes.next().unwrap_or_default());
        let dst = &mut block[p0 * C * LANES..px.end * C * LANES];
        for (k, d) in dst.as_chunks_mut::<LANES>().0.iter_mut().enumerate() {
            *d = std::array::from_fn(|l| lanes[l][k].value());
        }
    }
    let (samples, _) = block.as_chunks::<LANES>();
    for x in 0..ow {
        let (s, ws) = (tx.start[x], &tx.weights[x]);
        let mut acc = [[0.0f32; LANES]; C];
        for (k, &wt) in ws.iter().enumerate() {
            for (c, a) in acc.iter_mut().enumerate() {
                let v = &samples[(s + k) * C + c];
                for l in 0..LANES {
                    a[l] += wt * v[l];
                }
            }
        }
        for l in 0..n {
            for (c, a) in acc.iter().enumerate() {
                mid[(l * ow + x) * C + c] = a[l];
            }
        }
    }
}

/// Applies a spatial policy to every frame and rounds back to 8 bits: for converted files,
/// previews and filmstrips, which need pixels rather than network inputs.
pub fn transform_video(video: &Video, spatial: Spatial, filter: Filter, antialias: bool) -> Video {
    let ((w, h), _) = geometry(spatial, video.width(), video.height());
    let mut data = Vec::with_capacity(video.len() * (w * h * 3) as usize);
    for frame in video.frames() {
        data.extend(transform_frame(frame, video.width(), video.height(), spatial, filter, antialias));
    }
    // The size is positive and the buffer whole by construction.
    Video::new(w, h, video.fps(), data).unwrap_or_else(|e| unreachable!("transform_video: {e}"))
}

/// [`transform_video`] of one RGB8 frame `w × h`, for frames that stream past (the output size
/// is [`geometry`]'s).
pub fn transform_frame(rgb: &[u8], w: u32, h: u32, spatial: Spatial, filter: Filter, antialias: bool) -> Vec<u8> {
    let p = Preprocess { frames: FrameSampling::All, spatial, filter, antialias, normalise: Normalise::Unit };
    spatial_frame_u8(rgb, w, h, &p).iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect()
}

/// The width a player shows a `width`-pixel row at, its pixels `pixel_aspect` times as wide as
/// tall (a container's sample aspect ratio): the probes, the flow metrics and the report's clips
/// resample to it. Itself for square pixels (within 1e-3) and for a width beyond what a frame
/// holds.
pub fn shown_width(width: u32, pixel_aspect: f64) -> u32 {
    let shown = (f64::from(width) * pixel_aspect).round();
    if (pixel_aspect - 1.0).abs() < 1e-3 || !(1.0..=f64::from(u16::MAX)).contains(&shown) {
        width
    } else {
        shown as u32
    }
}

/// Output size of `spatial` for a `w × h` input, and the resize target before any crop/pad.
pub fn geometry(spatial: Spatial, w: u32, h: u32) -> ((u32, u32), (u32, u32)) {
    match spatial {
        Spatial::Native => ((w, h), (w, h)),
        Spatial::Stretch { width, height } => ((width, height), (width, height)),
        Spatial::ShortSideCrop { short, crop_w, crop_h } => {
            // The long side is truncated, as torchvision's `Resize` (OpenAI's `clip.load`) and
            // HF's `CLIPImageProcessor` compute it (it was rounded: 640×480 gave 299, not 298).
            let (rw, rh) = if w <= h {
                (short, ((h as f64 * short as f64 / w as f64) as u32).max(1))
            } else {
                (((w as f64 * short as f64 / h as f64) as u32).max(1), short)
            };
            ((crop_w, crop_h), (rw, rh))
        }
        Spatial::TorchShortSide { short, crop } => {
            // torchvision's `_compute_resized_output_size`: the long side is truncated.
            let (rw, rh) = if w <= h {
                (short, ((h as f64 * short as f64 / w as f64) as u32).max(1))
            } else {
                (((w as f64 * short as f64 / h as f64) as u32).max(1), short)
            };
            let out = if crop > 0 { (crop, crop) } else { (rw, rh) };
            (out, (rw, rh))
        }
        Spatial::TorchLongSide { long } => {
            if w.max(h) <= long {
                return ((w, h), (w, h));
            }
            // VBench: `scale = 512. / max(h, w)`, then `int(scale * side)`.
            let s = f64::from(long) / f64::from(w.max(h));
            let size = |side: u32| ((s * f64::from(side)) as u32).max(1);
            ((size(w), size(h)), (size(w), size(h)))
        }
        Spatial::Letterbox { width, height, .. } => {
            let s = (width as f64 / w as f64).min(height as f64 / h as f64);
            let rw = ((w as f64 * s).round() as u32).clamp(1, width);
            let rh = ((h as f64 * s).round() as u32).clamp(1, height);
            ((width, height), (rw, rh))
        }
    }
}

/// Applies the spatial policy to one frame (0–255 scale f32 in and out): the tests' hand-made
/// frames; frames from videos go through [`spatial_frame_u8`].
#[cfg(test)]
fn spatial_frame(src: &[f32], w: u32, h: u32, p: &Preprocess) -> Vec<f32> {
    spatial_frame_of(src, w, h, p)
}

/// Applies the spatial policy to one RGB8 frame (0–255 scale f32 out), straight from the bytes
/// (no full-size f32 copy of the frame).
pub fn spatial_frame_u8(src: &[u8], w: u32, h: u32, p: &Preprocess) -> Vec<f32> {
    spatial_frame_of(src, w, h, p)
}

fn spatial_frame_of<T: Texel>(src: &[T], w: u32, h: u32, p: &Preprocess) -> Vec<f32> {
    spatial_frame_rows(SliceRows::<T, 3> { src, w: w as usize }, w, h, p)
}

fn spatial_frame_rows<R: Rows + Sync>(rows: R, w: u32, h: u32, p: &Preprocess) -> Vec<f32> {
    let ((ow, oh), (rw, rh)) = geometry(p.spatial, w, h);
    // A centre crop: its size and its offset in the resized frame.
    let (cw, ch, x0, y0) = match p.spatial {
        Spatial::TorchShortSide { crop, .. } if crop > 0 => {
            let offset = |size: u32| ((f64::from(size) - f64::from(crop)) / 2.0).round_ties_even() as i64;
            (crop, crop, offset(rw), offset(rh))
        }
        Spatial::ShortSideCrop { crop_w, crop_h, .. } => {
            let x0 = ((rw as f64 - crop_w as f64) / 2.0).round() as i64;
            let y0 = ((rh as f64 - crop_h as f64) / 2.0).round() as i64;
            (crop_w, crop_h, x0, y0)
        }
        _ => return spatial_frame_whole(rows, w, h, p, (ow, oh), (rw, rh)),
    };
    // Only the window the crop keeps is resized.
    let span =
        |o: i64, c: u32, size: u32| o.clamp(0, size.into()) as usize..(o + i64::from(c)).clamp(0, size.into()) as usize;
    let (xs, ys) = (span(x0, cw, rw), span(y0, ch, rh));
    let (kw, kh, kx, ky) = (xs.len() as u32, ys.len() as u32, xs.start as i64, ys.start as i64);
    let kept = resize_window::<3, R>(rows, [w, h], [rw, rh], [xs, ys], p.filter, p.antialias);
    crop_or_pad(&kept, kw, kh, cw, ch, x0 - kx, y0 - ky)
}

/// [`spatial_frame_rows`] of the policies that keep the whole resized frame.
fn spatial_frame_whole<R: Rows + Sync>(
    rows: R,
    w: u32,
    h: u32,
    p: &Preprocess,
    (ow, oh): (u32, u32),
    (rw, rh): (u32, u32),
) -> Vec<f32> {
    let resized = resize_rows::<3, R>(rows, w, h, rw, rh, p.filter, p.antialias);
    match p.spatial {
        Spatial::Letterbox { fill, .. } => {
            let mut out: Vec<f32> = (0..ow * oh).flat_map(|_| fill.map(f32::from)).collect();
            let (x0, y0) = ((ow - rw) / 2, (oh - rh) / 2);
            for y in 0..rh {
                let s = (y * rw * 3) as usize;
                let d = (((y + y0) * ow + x0) * 3) as usize;
                out[d..d + (rw * 3) as usize].copy_from_slice(&resized[s..s + (rw * 3) as usize]);
            }
            out
        }
        _ => resized,
    }
}

/// The `cw × ch` window at (`x0`, `y0`) of an RGB frame `w × h`; what falls outside the frame is
/// zero (torchvision pads crops larger than the image too).
fn crop_or_pad(src: &[f32], w: u32, h: u32, cw: u32, ch: u32, x0: i64, y0: i64) -> Vec<f32> {
    let mut out = vec![0.0; (cw * ch * 3) as usize];
    for y in 0..ch as i64 {
        for x in 0..cw as i64 {
            let (sx, sy) = (x + x0, y + y0);
            if sx >= 0 && sy >= 0 && (sx as u32) < w && (sy as u32) < h {
                let s = ((sy as usize) * w as usize + sx as usize) * 3;
                let d = ((y as usize) * cw as usize + x as usize) * 3;
                out[d..d + 3].copy_from_slice(&src[s..s + 3]);
            }
        }
    }
    out
}

/// Applies a whole protocol to a decoded video: sample frames, resize, normalise.
pub fn apply(video: &Video, p: &Preprocess) -> Frames {
    let indices = p.frames.indices(video.len(), video.fps());
    let ((ow, oh), _) = geometry(p.spatial, video.width(), video.height());
    let mut data = Vec::with_capacity(indices.len() * (ow * oh * 3) as usize);
    for &i in &indices {
        data.extend(apply_frame(video.frame(i), video.width(), video.height(), p));
    }
    Frames { data, len: indices.len(), width: ow, height: oh }
}

/// The spatial policy and normalisation of `p` on one RGB8 frame (frame sampling is the
/// caller's): what [`apply`] does per kept frame, for consumers that stream frames.
pub fn apply_frame(rgb: &[u8], w: u32, h: u32, p: &Preprocess) -> Vec<f32> {
    normalised(spatial_frame_u8(rgb, w, h, p), p)
}

/// [`apply_frame`] of the frame whose every pixel is `map` of `rgb`'s, without making that frame
/// (each row is mapped as the filter reaches it); the same values.
pub fn apply_frame_mapped(
    rgb: &[u8],
    w: u32,
    h: u32,
    p: &Preprocess,
    map: impl Fn([u8; 3]) -> [u8; 3] + Sync,
) -> Vec<f32> {
    let rows = MappedRows { rgb, w: w as usize, map };
    normalised(spatial_frame_rows(rows, w, h, p), p)
}

fn normalised(mut frame: Vec<f32>, p: &Preprocess) -> Vec<f32> {
    for (k, v) in frame.iter_mut().enumerate() {
        *v = p.normalise.map(*v, k % 3);
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The separable resize one row at a time, each output's taps summed in order: the
    /// definition the lane-parallel pass must equal bit for bit.
    fn resize_by_definition(src: &[f32], w: usize, h: usize, c: usize, ow: usize, oh: usize, f: Filter) -> Vec<f32> {
        let (tx, ty) = (taps(w, ow, 0..ow, f, true), taps(h, oh, 0..oh, f, true));
        let mut mid = vec![0.0f32; h * ow * c];
        for y in 0..h {
            for x in 0..ow {
                for ch in 0..c {
                    let mut acc = 0.0f32;
                    for (k, &wt) in tx.weights[x].iter().enumerate() {
                        acc += wt * src[(y * w + tx.start[x] + k) * c + ch];
                    }
                    mid[(y * ow + x) * c + ch] = acc;
                }
            }
        }
        let mut out = vec![0.0f32; oh * ow * c];
        for y in 0..oh {
            for (k, &wt) in ty.weights[y].iter().enumerate() {
                for i in 0..ow * c {
                    out[y * ow * c + i] += wt * mid[(ty.start[y] + k) * ow * c + i];
                }
            }
        }
        out
    }

    /// Shrinking by area weighs each source pixel by the part of it an output covers: 5 → 2
    /// covers pixels 0, 1 and half of 2, then the other half and 3, 4. Whole ratios are plain
    /// means of whole pixels, and every output of a pan's sampling grid is as wide as the next.
    #[test]
    fn area_shrinking_weighs_pixels_by_their_covered_part() {
        let t = area_taps(5, 2, 0..2);
        assert_eq!((t.start.clone(), t.weights.clone()), (vec![0, 2], vec![vec![0.4, 0.4, 0.2], vec![0.2, 0.4, 0.4]]));
        let t = area_taps(4, 2, 0..2);
        assert_eq!(t.weights, vec![vec![0.5, 0.5], vec![0.5, 0.5]]);
        // A ramp keeps its slope at 854 → 455: consecutive outputs step by the same amount (with
        // a box of whole pixels they stepped by 1 and 2 source pixels in turn).
        let ramp: Vec<f32> = (0..854).map(|i| i as f32).collect();
        let out = resize_plane(&ramp, 854, 1, 455, 1, Filter::Area, true);
        let steps: Vec<f32> = out.windows(2).map(|w| w[1] - w[0]).collect();
        let (lo, hi) = steps.iter().fold((f32::MAX, f32::MIN), |(a, b), &s| (a.min(s), b.max(s)));
        assert!((lo - 854.0 / 455.0).abs() < 0.1 && (hi - 854.0 / 455.0).abs() < 0.1, "steps {lo}..{hi}");
    }

    #[test]
    fn lane_parallel_resize_equals_the_definition_bit_for_bit() {
        // Heights that are and are not multiples of the lanes, widths beyond one load tile.
        for (w, h, ow, oh) in [(300u32, 17u32, 41u32, 5u32), (131, 8, 260, 19), (257, 33, 32, 32), (9, 3, 9, 7)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
            let as_f32: Vec<f32> = rgb.iter().map(|&v| f32::from(v)).collect();
            for f in [Filter::Area, Filter::Bilinear, Filter::Bicubic, Filter::Nearest] {
                let want = resize_by_definition(&as_f32, w as usize, h as usize, 3, ow as usize, oh as usize, f);
                let got = resize_rows::<3, _>(SliceRows::<u8, 3> { src: &rgb, w: w as usize }, w, h, ow, oh, f, true);
                assert!(got == want, "{w}×{h} → {ow}×{oh} {f:?}");
                assert!(resize(&as_f32, w, h, ow, oh, f, true) == want, "f32 input {w}×{h} {f:?}");
            }
        }
        // An empty output is empty, not a zero-sized block.
        assert!(resize(&[0.0; 12], 2, 2, 0, 3, Filter::Area, true).is_empty());
        assert!(
            resize_window::<3, _>(
                SliceRows::<f32, 3> { src: &[0.0; 12], w: 2 },
                [2, 2],
                [4, 4],
                [1..1, 0..4],
                Filter::Area,
                true
            )
            .is_empty()
        );
    }

    /// A centre crop resizes only its window, to the values the whole resize has there: crops
    /// inside the frame, wider than it (padded), at odd offsets, upscaled and downscaled, each
    /// against the whole frame resized and then cut (what it did before).
    #[test]
    fn a_crop_of_the_window_equals_the_crop_of_the_whole_resize() {
        for (w, h) in [(300u32, 17u32), (17, 300), (64, 48), (7, 5), (3, 90), (224, 224)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
            for spatial in [
                Spatial::ShortSideCrop { short: 24, crop_w: 24, crop_h: 24 },
                Spatial::ShortSideCrop { short: 9, crop_w: 20, crop_h: 5 },
                Spatial::TorchShortSide { short: 16, crop: 13 },
                Spatial::TorchShortSide { short: 8, crop: 30 },
            ] {
                for (filter, antialias) in [(Filter::Bicubic, true), (Filter::Bilinear, false), (Filter::Area, true)] {
                    let p = Preprocess {
                        frames: FrameSampling::All,
                        spatial,
                        filter,
                        antialias,
                        normalise: Normalise::Unit,
                    };
                    let ((ow, oh), (rw, rh)) = geometry(spatial, w, h);
                    let whole = resize_rows::<3, _>(
                        SliceRows::<u8, 3> { src: &rgb, w: w as usize },
                        w,
                        h,
                        rw,
                        rh,
                        filter,
                        antialias,
                    );
                    let (x0, y0) = match spatial {
                        Spatial::TorchShortSide { crop, .. } => {
                            let o = |s: u32| ((f64::from(s) - f64::from(crop)) / 2.0).round_ties_even() as i64;
                            (o(rw), o(rh))
                        }
                        _ => (
                            ((rw as f64 - ow as f64) / 2.0).round() as i64,
                            ((rh as f64 - oh as f64) / 2.0).round() as i64,
                        ),
                    };
                    let want = crop_or_pad(&whole, rw, rh, ow, oh, x0, y0);
                    let got = spatial_frame_u8(&rgb, w, h, &p);
                    assert!(got == want, "{w}×{h} {spatial:?} {filter:?}");
                }
            }
        }
        // A 16384×2 strip keeps 224 columns of its 1.8-million-column stretch: it makes only them.
        let strip = vec![128u8; 16384 * 2 * 3];
        let p = Preprocess::CLIP;
        assert_eq!(spatial_frame_u8(&strip, 16384, 2, &p).len(), 224 * 224 * 3);
        assert!(resize_plane(&[0.0; 4], 2, 2, 3, 0, Filter::Area, true).is_empty());
    }

    #[test]
    fn a_mapped_frame_is_filtered_as_if_it_were_made_first() {
        let (w, h) = (203u32, 21u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 31 % 256) as u8).collect();
        let paint = |[r, g, b]: [u8; 3]| if r > 128 { [7, 8, 9] } else { [r, g, b] };
        let made: Vec<u8> = rgb.as_chunks::<3>().0.iter().flat_map(|&p| paint(p)).collect();
        for spatial in [
            Spatial::Stretch { width: 32, height: 32 },
            Spatial::TorchShortSide { short: 16, crop: 16 },
            Spatial::Native,
        ] {
            let p = Preprocess {
                frames: FrameSampling::All,
                spatial,
                filter: Filter::Area,
                antialias: true,
                normalise: Normalise::Unit,
            };
            assert!(apply_frame_mapped(&rgb, w, h, &p, paint) == apply_frame(&made, w, h, &p), "{spatial:?}");
        }
    }

    #[test]
    fn luma_resized_in_one_pass_equals_converting_first() {
        let (w, h) = (37u32, 23u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 97 % 251) as u8).collect();
        let plane = crate::flow::Gray::from_rgb(&rgb, w as usize, h as usize).data;
        for (ow, oh) in [(16, 10), (37, 23), (9, 17)] {
            let want = resize_plane(&plane, w, h, ow, oh, Filter::Area, true);
            assert_eq!(resize_luma(&rgb, w, h, ow, oh, Filter::Area, true), want, "{ow}×{oh}");
        }
    }

    fn gray(values: &[u8], w: u32, h: u32) -> Vec<f32> {
        assert_eq!(values.len(), (w * h) as usize);
        values.iter().flat_map(|&v| [f32::from(v); 3]).collect()
    }

    fn channel0(frame: &[f32]) -> Vec<f32> {
        frame.chunks_exact(3).map(|p| p[0]).collect()
    }

    /// Tolerance for hand-computed values: f32 accumulation over ≤ 8 taps of values ≤ 255.
    const EPS: f32 = 1e-3;

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < EPS, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn frame_sampling_policies() {
        assert_eq!(FrameSampling::All.indices(4, 8.0), vec![0, 1, 2, 3]);
        assert_eq!(FrameSampling::First(3).indices(10, 8.0), vec![0, 1, 2]);
        assert_eq!(FrameSampling::First(30).indices(2, 8.0), vec![0, 1]);
        assert_eq!(FrameSampling::Uniform(4).indices(10, 8.0), vec![0, 3, 6, 9]);
        assert_eq!(FrameSampling::Uniform(3).indices(3, 8.0), vec![0, 1, 2]);
        assert_eq!(FrameSampling::Uniform(5).indices(3, 8.0), vec![0, 1, 1, 2, 2]);
        assert_eq!(FrameSampling::Middle(4).indices(10, 8.0), vec![3, 4, 5, 6]);
        assert_eq!(FrameSampling::Middle(4).indices(3, 8.0), vec![0, 1, 2]);
        // 8 fps → 4 fps keeps every other frame; 4 → 8 repeats each frame.
        assert_eq!(FrameSampling::Fps(4.0).indices(8, 8.0), vec![0, 2, 4, 6]);
        assert_eq!(FrameSampling::Fps(8.0).indices(3, 4.0), vec![0, 0, 1, 1, 2, 2]);
        // 25 → 10 fps over 1 s: frames at t = 0, .1, …, .9 → floor(2.5k).
        assert_eq!(FrameSampling::Fps(10.0).indices(25, 25.0), vec![0, 2, 5, 7, 10, 12, 15, 17, 20, 22]);
        assert_eq!(FrameSampling::Uniform(16).name(), "uniform16");
    }

    /// A 4×2 checkerboard (0/255), the fixture every spatial policy is checked on.
    fn checker() -> Vec<f32> {
        gray(&[0, 255, 0, 255, 255, 0, 255, 0], 4, 2)
    }

    #[test]
    fn native_is_identity() {
        let p = Preprocess { spatial: Spatial::Native, ..Preprocess::FVD };
        assert_eq!(spatial_frame(&checker(), 4, 2, &p), checker());
    }

    #[test]
    fn stretch_area_averages_blocks_exactly() {
        // 4×2 → 2×1 with a box filter: each output averages a 2×2 block with two 0s and two 255s.
        let p =
            Preprocess { spatial: Spatial::Stretch { width: 2, height: 1 }, filter: Filter::Area, ..Preprocess::FVD };
        close(&channel0(&spatial_frame(&checker(), 4, 2, &p)), &[127.5, 127.5]);
    }

    #[test]
    fn stretch_bilinear_without_antialias_samples_between_pixels() {
        // 4 → 2 horizontally: centres map to source x = 0.5 and 2.5, halfway between a 0 and a
        // 255 → 127.5. Vertically 2 → 2 is untouched.
        let p = Preprocess {
            spatial: Spatial::Stretch { width: 2, height: 2 },
            filter: Filter::Bilinear,
            antialias: false,
            ..Preprocess::FVD
        };
        close(&channel0(&spatial_frame(&checker(), 4, 2, &p)), &[127.5, 127.5, 127.5, 127.5]);
        // Upsampling a 2×1 ramp [0, 255] to 4×1: centres at x = −0.25, 0.25, 0.75, 1.25 →
        // clamped 0, 0.25·255, 0.75·255, 255.
        let ramp = gray(&[0, 255], 2, 1);
        let p = Preprocess { spatial: Spatial::Stretch { width: 4, height: 1 }, ..p };
        close(&channel0(&spatial_frame(&ramp, 2, 1, &p)), &[0.0, 63.75, 191.25, 255.0]);
    }

    #[test]
    fn antialiased_bilinear_downscale_uses_a_wider_kernel() {
        // 1-D row [0, 255, 0, 255] → 2 samples with a triangle of half-width 2 centred at 0.5 and
        // 2.5. Taps for centre 0.5: x = −1..2 with weights (1 − |x − 0.5|/2) = .25, .75, .75, .25;
        // x = −1 clamps onto pixel 0. Sum 2 → normalised. Value = (.25·0 + .75·0 + .75·255 +
        // .25·0)/2 = 95.625. Centre 2.5: x = 1..4, weights .25 .75 .75 .25, x = 4 clamps to 3:
        // (.25·255 + .75·0 + .75·255 + .25·255)/2 = 159.375.
        let row = gray(&[0, 255, 0, 255], 4, 1);
        let p = Preprocess {
            spatial: Spatial::Stretch { width: 2, height: 1 },
            filter: Filter::Bilinear,
            antialias: true,
            ..Preprocess::FVD
        };
        close(&channel0(&spatial_frame(&row, 4, 1, &p)), &[95.625, 159.375]);
    }

    #[test]
    fn bicubic_keeps_constants_and_interpolates_known_points() {
        let flat = gray(&[90; 12], 4, 3);
        let p = Preprocess {
            spatial: Spatial::Stretch { width: 7, height: 5 },
            filter: Filter::Bicubic,
            antialias: true,
            ..Preprocess::FVD
        };
        close(&channel0(&spatial_frame(&flat, 4, 3, &p)), &[90.0; 35]);
        // Doubling [0, 0, 255, 255]: output centre x = 3 maps to source 1.25. Keys(a = −0.5)
        // weights at distances 1.25, 0.25, 0.75, 1.75 are −0.0703125, 0.8671875, 0.2265625,
        // −0.0234375 on pixels 0, 1, 2, 3 → 255·(0.2265625 − 0.0234375) = 51.796875.
        let step = gray(&[0, 0, 255, 255], 4, 1);
        let p = Preprocess { spatial: Spatial::Stretch { width: 8, height: 1 }, ..p };
        let out = channel0(&spatial_frame(&step, 4, 1, &p));
        assert!((out[3] - 51.796875).abs() < EPS, "{out:?}");
    }

    #[test]
    fn short_side_crop_resizes_then_centres() {
        // 4×2 → short side 2 keeps 4×2 (no resize), then a centre 2×2 crop at x0 = 1:
        // columns 1 and 2 of the checkerboard.
        let p = Preprocess {
            spatial: Spatial::ShortSideCrop { short: 2, crop_w: 2, crop_h: 2 },
            filter: Filter::Bilinear,
            antialias: true,
            ..Preprocess::FVD
        };
        close(&channel0(&spatial_frame(&checker(), 4, 2, &p)), &[255.0, 0.0, 0.0, 255.0]);
        // Short side 1: 4×2 → 2×1 (area-exact for a checker with antialias: each output
        // covers a 2×2 block) then crop 1×1 at x0 = round(0.5) = 1 → the second block's mean.
        let p = Preprocess {
            spatial: Spatial::ShortSideCrop { short: 1, crop_w: 1, crop_h: 1 },
            filter: Filter::Area,
            ..p
        };
        close(&channel0(&spatial_frame(&checker(), 4, 2, &p)), &[127.5]);
    }

    #[test]
    fn letterbox_fits_and_pads_with_the_fill_colour() {
        // 4×2 into 4×4: scale 1, placed at y0 = 1, rows 0 and 3 are fill (7).
        let p = Preprocess { spatial: Spatial::Letterbox { width: 4, height: 4, fill: [7, 7, 7] }, ..Preprocess::FVD };
        let out = channel0(&spatial_frame(&checker(), 4, 2, &p));
        let c: Vec<f32> = checker().chunks_exact(3).map(|p| p[0]).collect();
        let mut want = vec![7.0; 4];
        want.extend(&c);
        want.extend([7.0; 4]);
        close(&out, &want);
        assert_eq!(geometry(p.spatial, 16, 9), ((4, 4), (4, 2)));
    }

    #[test]
    fn normalisations() {
        assert_eq!(Normalise::Unit.map(255.0, 0), 1.0);
        assert_eq!(Normalise::Symmetric.map(0.0, 1), -1.0);
        assert_eq!(Normalise::Symmetric.map(255.0, 2), 1.0);
        assert!((Normalise::ClipMeanStd.map(255.0 * CLIP_MEAN[1], 1)).abs() < 1e-6);
        assert!((Normalise::ImageNetMeanStd.map(255.0, 0) - (1.0 - 0.485) / 0.229).abs() < 1e-5);
    }

    #[test]
    fn apply_runs_the_whole_protocol() {
        let mut data = Vec::new();
        for t in 0..10u8 {
            data.extend(std::iter::repeat_n(t * 20, 8 * 6 * 3));
        }
        let v = Video::new(8, 6, 10.0, data).unwrap();
        let f = apply(&v, &Preprocess { frames: FrameSampling::Uniform(4), ..Preprocess::FVD });
        assert_eq!((f.len, f.width, f.height), (4, 224, 224));
        // Uniform 4 of 10 → frames 0, 3, 6, 9 → levels 0, 60, 120, 180 → /127.5 − 1.
        for (k, level) in [0.0f32, 60.0, 120.0, 180.0].iter().enumerate() {
            assert!(f.frame(k).iter().all(|&x| (x - (level / 127.5 - 1.0)).abs() < 1e-5));
        }
        assert_eq!(f.to_channels_first().len(), f.data.len());
    }
}
