//! RAFT optical flow (Teed & Deng, 2020), ported to candle with torchvision's `raft_large` state-dict
//! names: the network VBench's dynamic degree and its temporal-flickering static filter run
//! (princeton-vl's `raft-things.pth`; `models/weights/encoder/convert_raft.py` renames its state
//! dict to these names). Feature encoder (instance norm) and context encoder (batch norm, folded
//! into the convolutions at load) downsample by 8; the all-pairs correlation volume of the two
//! feature maps (dot products / √256) is average-pooled into a 4-level pyramid, sampled bilinearly
//! (zeros outside, torchvision's `grid_sample(align_corners=True)`) in a 9 × 9 window around each
//! pixel's current match; a motion encoder and two separable convolutional GRUs update the hidden
//! state, a flow head moves the match, and the last update's flow is upsampled ×8 by the convex
//! combination a mask head predicts. Inputs are frames scaled to [-1, 1], sides multiples of 8 and
//! at least 128 (the pyramid's coarsest level must keep two samples a side).
//!
//! The correlation volume holds (H·W/64)² values (4/3 of it with the pyramid): 1.1 GB in f32 for
//! a 1280 × 720 pair, 5.7 GB at 1920 × 1080 — [`Raft::volume_bytes`] tells a scheduler before it
//! runs one.

use candle_core::{DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::layers::{Act, Conv, Pyramid, coords_grid, instance_norm, warp};

/// Levels of the correlation pyramid and the lookup radius (`raft_large`).
const LEVELS: usize = 4;
const RADIUS: usize = 4;
/// Hidden state and context channels.
const HIDDEN: usize = 128;

/// The norm after a convolution of an encoder.
#[derive(Clone, Copy, PartialEq)]
enum Norm {
    /// Instance norm (the feature encoder).
    Instance,
    /// Batch norm, folded into the convolution (the context encoder).
    Batch,
}

/// `Conv2dNormActivation`: convolution, norm, optional ReLU (torchvision's names `.0` and `.1`).
struct ConvNorm {
    conv: Conv,
    norm: Norm,
    relu: bool,
}

impl ConvNorm {
    fn new(vb: VarBuilder, cin: usize, cout: usize, k: usize, stride: usize, norm: Norm, relu: bool) -> Result<Self> {
        let conv = Conv::square(vb.pp("0"), cin, cout, k, stride)?;
        let conv = if norm == Norm::Batch { conv.fold_batch_norm(vb.pp("1"))? } else { conv };
        Ok(ConvNorm { conv, norm, relu })
    }
}

impl Module for ConvNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.conv.forward(x)?;
        let y = if self.norm == Norm::Instance { instance_norm(&y)? } else { y };
        if self.relu { y.relu() } else { Ok(y) }
    }
}

struct ResidualBlock {
    conv1: ConvNorm,
    conv2: ConvNorm,
    downsample: Option<ConvNorm>,
}

impl ResidualBlock {
    fn new(vb: VarBuilder, cin: usize, cout: usize, stride: usize, norm: Norm) -> Result<Self> {
        Ok(ResidualBlock {
            conv1: ConvNorm::new(vb.pp("convnormrelu1"), cin, cout, 3, stride, norm, true)?,
            conv2: ConvNorm::new(vb.pp("convnormrelu2"), cout, cout, 3, 1, norm, true)?,
            downsample: if stride == 1 {
                None
            } else {
                Some(ConvNorm::new(vb.pp("downsample"), cin, cout, 1, stride, norm, false)?)
            },
        })
    }
}

impl Module for ResidualBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.conv2.forward(&self.conv1.forward(x)?)?;
        let x = match &self.downsample {
            Some(d) => d.forward(x)?,
            None => x.clone(),
        };
        (x + y)?.relu()
    }
}

/// The feature / context encoder: 7×7 stride 2, three pairs of residual blocks (64, 96 and 128
/// channels; the last two pairs stride 2), a 1×1 convolution to 256 channels.
struct Encoder {
    stem: ConvNorm,
    blocks: Vec<ResidualBlock>,
    conv: Conv,
}

impl Encoder {
    fn new(vb: VarBuilder, norm: Norm) -> Result<Self> {
        let layers = [64, 64, 96, 128];
        let strides = [1, 2, 2];
        let mut blocks = Vec::new();
        for (i, &stride) in strides.iter().enumerate() {
            let (cin, cout) = (layers[i], layers[i + 1]);
            let vb = vb.pp(format!("layer{}", i + 1));
            blocks.push(ResidualBlock::new(vb.pp("0"), cin, cout, stride, norm)?);
            blocks.push(ResidualBlock::new(vb.pp("1"), cout, cout, 1, norm)?);
        }
        Ok(Encoder {
            stem: ConvNorm::new(vb.pp("convnormrelu"), 3, 64, 7, 2, norm, true)?,
            blocks,
            conv: Conv::square(vb.pp("conv"), 128, 256, 1, 1)?,
        })
    }
}

impl Module for Encoder {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.stem.forward(x)?;
        for b in &self.blocks {
            x = b.forward(&x)?;
        }
        self.conv.forward(&x)
    }
}

/// A convolutional GRU with one kernel shape. Its input is [context, motion features]; the
/// context is the same for all of a pair's updates, so its share of every gate's convolution is
/// computed once per pair ([`ConvGru::context`]) and the per-update convolutions read only the
/// hidden state and the motion features (a third fewer products; the same sums, reassociated).
/// The update and reset gates share their input and run as one convolution.
struct ConvGru {
    /// [z; r] over [h, motion].
    zr: Conv,
    /// q over [r·h, motion].
    q: Conv,
    /// [z; r; q] over the context alone (no bias).
    context: Conv,
}

impl ConvGru {
    fn new(vb: VarBuilder, input: usize, k: (usize, usize)) -> Result<Self> {
        let c = HIDDEN + input;
        let convz = Conv::new(vb.pp("convz"), c, HIDDEN, k, 1)?;
        let convr = Conv::new(vb.pp("convr"), c, HIDDEN, k, 1)?;
        let convq = Conv::new(vb.pp("convq"), c, HIDDEN, k, 1)?;
        // Input channels: [h (HIDDEN), context (HIDDEN), motion (input − HIDDEN)].
        let ctx = HIDDEN;
        let hidden_and_motion = |w: &Tensor| -> Result<Tensor> {
            Tensor::cat(&[&w.narrow(1, 0, HIDDEN)?, &w.narrow(1, HIDDEN + ctx, input - ctx)?], 1)
        };
        let pad = convz.pad;
        let zr = Conv {
            weight: Tensor::cat(&[&hidden_and_motion(&convz.weight)?, &hidden_and_motion(&convr.weight)?], 0)?,
            bias: Tensor::cat(&[&convz.bias, &convr.bias], 0)?,
            stride: 1,
            pad,
        };
        let q = Conv { weight: hidden_and_motion(&convq.weight)?, bias: convq.bias.clone(), stride: 1, pad };
        let weight = Tensor::cat(&[&convz.weight, &convr.weight, &convq.weight], 0)?.narrow(1, HIDDEN, ctx)?;
        let bias = Tensor::zeros(3 * HIDDEN, weight.dtype(), weight.device())?;
        Ok(ConvGru { zr, q, context: Conv { weight: weight.contiguous()?, bias, stride: 1, pad } })
    }

    /// The context's share of the gates: `[B, 3·HIDDEN, h, w]` (z, r, q).
    fn context(&self, context: &Tensor) -> Result<Tensor> {
        self.context.forward(context)
    }

    fn forward(&self, h: &Tensor, motion: &Tensor, context: &Tensor) -> Result<Tensor> {
        let zr = self.zr.forward(&Tensor::cat(&[h, motion], 1)?)?.add(&context.narrow(1, 0, 2 * HIDDEN)?)?;
        let zr = candle_nn::ops::sigmoid(&zr)?;
        let (z, r) = (zr.narrow(1, 0, HIDDEN)?, zr.narrow(1, HIDDEN, HIDDEN)?);
        let q = self.q.forward(&Tensor::cat(&[&(&r * h)?, motion], 1)?)?;
        let q = q.add(&context.narrow(1, 2 * HIDDEN, HIDDEN)?)?.tanh()?;
        // (1 − z)·h + z·q
        h + (z * (q - h)?)?
    }
}

/// The context's share of both GRUs' gates, computed once per pair.
struct GruContext {
    gru1: Tensor,
    gru2: Tensor,
}

/// Motion encoder, two GRUs (1×5 then 5×1), flow head and mask head.
struct Update {
    convcorr1: Conv,
    convcorr2: Conv,
    convflow1: Conv,
    convflow2: Conv,
    conv: Conv,
    gru1: ConvGru,
    gru2: ConvGru,
    head1: Conv,
    head2: Conv,
    mask1: Conv,
    mask2: Conv,
}

impl Update {
    fn new(vb: VarBuilder) -> Result<Self> {
        let me = vb.pp("update_block.motion_encoder");
        let corr = LEVELS * (2 * RADIUS + 1) * (2 * RADIUS + 1);
        let rb = vb.pp("update_block.recurrent_block");
        let input = HIDDEN + HIDDEN; // context + motion features
        Ok(Update {
            convcorr1: Conv::square(me.pp("convcorr1.0"), corr, 256, 1, 1)?,
            convcorr2: Conv::square(me.pp("convcorr2.0"), 256, 192, 3, 1)?,
            convflow1: Conv::square(me.pp("convflow1.0"), 2, 128, 7, 1)?,
            convflow2: Conv::square(me.pp("convflow2.0"), 128, 64, 3, 1)?,
            conv: Conv::square(me.pp("conv.0"), 192 + 64, HIDDEN - 2, 3, 1)?,
            gru1: ConvGru::new(rb.pp("convgru1"), input, (1, 5))?,
            gru2: ConvGru::new(rb.pp("convgru2"), input, (5, 1))?,
            head1: Conv::square(vb.pp("update_block.flow_head.conv1"), HIDDEN, 256, 3, 1)?,
            head2: Conv::square(vb.pp("update_block.flow_head.conv2"), 256, 2, 3, 1)?,
            mask1: Conv::square(vb.pp("mask_predictor.convrelu.0"), HIDDEN, 256, 3, 1)?,
            mask2: Conv::square(vb.pp("mask_predictor.conv"), 256, 8 * 8 * 9, 1, 1)?,
        })
    }

    /// The new hidden state and the flow's change.
    fn context(&self, context: &Tensor) -> Result<GruContext> {
        Ok(GruContext { gru1: self.gru1.context(context)?, gru2: self.gru2.context(context)? })
    }

    fn forward(&self, hidden: &Tensor, context: &GruContext, corr: &Tensor, flow: &Tensor) -> Result<(Tensor, Tensor)> {
        let c = self.convcorr2.forward_act(&self.convcorr1.forward(corr)?.relu()?, Act::Relu)?;
        let f = self.convflow2.forward_act(&self.convflow1.forward_act(flow, Act::Relu)?, Act::Relu)?;
        let motion = self.conv.forward_act(&Tensor::cat(&[&c, &f], 1)?, Act::Relu)?;
        // The GRUs' input is [context, motion, flow]; the context's share comes precomputed.
        let x = Tensor::cat(&[&motion, flow], 1)?;
        let h = self.gru2.forward(&self.gru1.forward(hidden, &x, &context.gru1)?, &x, &context.gru2)?;
        let delta = self.head2.forward(&self.head1.forward_act(&h, Act::Relu)?)?;
        Ok((h, delta))
    }

    /// The upsampling mask, ×0.25 as torchvision's `MaskPredictor(multiplier=0.25)`.
    fn mask(&self, hidden: &Tensor) -> Result<Tensor> {
        self.mask2.forward(&self.mask1.forward_act(hidden, Act::Relu)?)? * 0.25
    }
}

/// RAFT (`raft_large`).
pub struct Raft {
    feature: Encoder,
    context: Encoder,
    update: Update,
}

impl Raft {
    pub fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Raft {
            feature: Encoder::new(vb.pp("feature_encoder"), Norm::Instance)?,
            context: Encoder::new(vb.pp("context_encoder"), Norm::Batch)?,
            update: Update::new(vb)?,
        })
    }

    /// Loads `dir/model.safetensors` (torchvision's `raft_large` names, as convert_raft.py writes
    /// them) in f32.
    pub fn load(dir: &std::path::Path, device: &Device) -> std::result::Result<Self, String> {
        let file = dir.join("model.safetensors");
        let tensors = super::float_tensors(&file, device)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Raft::new(vb).map_err(|e| format!("{}: not RAFT (raft_large) weights: {e}", file.display()))
    }

    /// Where the weights live (inputs go there).
    pub fn device(&self) -> &Device {
        self.feature.conv.weight.device()
    }

    /// Bytes the correlation pyramid of one `height × width` pair holds (f32; sides padded to 8).
    pub fn volume_bytes(height: usize, width: usize) -> u64 {
        let n = (height.div_ceil(8) * width.div_ceil(8)) as u64;
        n * n * 4 * 4 / 3
    }

    /// Bytes one pair's pass holds at its peak: the pyramid, and the encoders' widest working set
    /// (two frames' 64-channel activations at half size and their 3×3 patches, about 1.3 kB a
    /// pixel), which is freed before the pyramid is built but bounds small frames.
    pub fn peak_bytes(height: usize, width: usize) -> u64 {
        Raft::volume_bytes(height, width).max(1300 * (height * width) as u64)
    }

    /// The flow from `image1` to `image2` (`[B, 3, H, W]`, scaled to [-1, 1], H and W multiples
    /// of 8, at least 128) after `updates` updates, upsampled: `[B, 2, H, W]`, x then y, in pixels.
    pub fn flow(&self, image1: &Tensor, image2: &Tensor, updates: usize) -> Result<Tensor> {
        let mut out = self.flows(image1, image2, updates, &[updates])?;
        out.pop().ok_or_else(|| candle_core::Error::Msg("RAFT needs at least one update".into()))
    }

    /// The upsampled flow after each of the updates in `keep` (ascending, ≤ `updates`).
    pub fn flows(&self, image1: &Tensor, image2: &Tensor, updates: usize, keep: &[usize]) -> Result<Vec<Tensor>> {
        if image2.dims4()? != image1.dims4()? {
            candle_core::bail!("RAFT: frames of different shapes {:?} and {:?}", image1.shape(), image2.shape());
        }
        self.flows_encoded(&self.encode(image1)?, &self.encode(image2)?, updates, keep)
    }

    /// A frame (`[B, 3, H, W]`, scaled to [-1, 1], sides multiples of 8 and at least 128) with its
    /// feature map: a frame in two pairs (the next pair's first frame) is encoded once.
    pub fn encode(&self, image: &Tensor) -> Result<Encoded> {
        let (_, c, h, w) = image.dims4()?;
        if c != 3 || h % 8 != 0 || w % 8 != 0 || h < 128 || w < 128 {
            candle_core::bail!("RAFT: frames must be RGB, sides multiples of 8 and at least 128, got {c}×{h}×{w}");
        }
        Ok(Encoded { image: image.clone(), features: self.feature.forward(image)?, context: None })
    }

    /// `frame` with its context-encoder output too, for a frame that opens more than one pair
    /// (the warping error's backward and forward flows, the static filter's first frame): the
    /// context encoder then runs once for it instead of once per pair.
    pub fn with_context(&self, frame: Encoded) -> Result<Encoded> {
        let context = Some(self.context.forward(&frame.image)?);
        Ok(Encoded { context, ..frame })
    }

    /// An RGB frame (`[B, 3, H, W]` in [0, 255], any size) as VBench's dynamic degree hands it to
    /// RAFT: replicate-padded to multiples of 8 ([`pad_sintel`]) and scaled to [-1, 1].
    pub fn encode_vbench(&self, rgb: &Tensor) -> Result<Encoded> {
        self.encode(&pad_sintel(rgb)?.affine(2.0 / 255.0, -1.0)?)
    }

    /// [`Raft::flows`] of two encoded frames.
    pub fn flows_encoded(&self, one: &Encoded, two: &Encoded, updates: usize, keep: &[usize]) -> Result<Vec<Tensor>> {
        let (b, _, h, w) = one.image.dims4()?;
        if two.image.dims4()? != (b, 3, h, w) {
            candle_core::bail!("RAFT: frames of different shapes {:?} and {:?}", one.image.shape(), two.image.shape());
        }
        // The context encoder's working memory is gone before the correlation volume is made.
        let context = match &one.context {
            Some(c) => c.clone(),
            None => self.context.forward(&one.image)?,
        };
        let pyramid = Pyramid::new(&one.features, &two.features, LEVELS, RADIUS)?;
        let hidden = context.narrow(1, 0, HIDDEN)?.tanh()?;
        let context = self.update.context(&context.narrow(1, HIDDEN, HIDDEN)?.relu()?)?;
        let (gh, gw) = (h / 8, w / 8);
        let coords0 = coords_grid(b, gh, gw, one.image.dtype(), one.image.device())?;
        let mut coords1 = coords0.clone();
        let mut hidden = hidden;
        let mut out = Vec::with_capacity(keep.len());
        for update in 1..=updates {
            let corr = pyramid.lookup(&coords1)?;
            let flow = (&coords1 - &coords0)?;
            let (h, delta) = self.update.forward(&hidden, &context, &corr, &flow)?;
            hidden = h;
            coords1 = (coords1 + delta)?;
            if keep.contains(&update) {
                out.push(upsample(&(&coords1 - &coords0)?, &self.update.mask(&hidden)?)?);
            }
        }
        Ok(out)
    }

    /// VBench's pass on a pair of encoded frames ([`Raft::encode_vbench`]): 20 updates, the flow of
    /// the padded frames, as VBench scores it.
    pub fn vbench_flow(&self, one: &Encoded, two: &Encoded) -> Result<Tensor> {
        let mut out = self.flows_encoded(one, two, 20, &[20])?;
        out.pop().ok_or_else(|| candle_core::Error::Msg("RAFT returned no flow".into()))
    }
}

/// A frame as EvalCrafter's warping error hands it to RAFT: its [0, 1] values halved in size and
/// padded (the image the error compares), encoded through RAFT's `2·(x/255) − 1` of those values.
#[derive(Clone)]
pub struct WarpFrame {
    unit: Tensor,
    encoded: Encoded,
}

impl Raft {
    /// An RGB frame (`[1, 3, H, W]` in [0, 255]) as EvalCrafter's `compute_video_warping_error`
    /// prepares it: ÷255, bilinear ×0.5 (`F.interpolate(scale_factor=0.5)`, no antialiasing:
    /// ⌊H/2⌋ × ⌊W/2⌋), replicate-padded to multiples of 8 ([`pad_sintel`]); RAFT then scales those
    /// [0, 1] values by its own `2·(x/255) − 1`, as published.
    pub fn encode_evalcrafter_warp(&self, rgb: &Tensor) -> Result<WarpFrame> {
        let scale = Tensor::new(255f32, rgb.device())?.to_dtype(rgb.dtype())?;
        let half = rgb.broadcast_div(&scale)?.upsample_bilinear2d_with_scale(0.5, 0.5, false)?;
        let unit = pad_sintel(&half)?;
        // Every frame but the first and the last opens two pairs (forward, then backward).
        let encoded = self.with_context(self.encode(&unit.affine(2.0 / 255.0, -1.0)?)?)?;
        Ok(WarpFrame { unit, encoded })
    }

    /// EvalCrafter's warping error of a pair ([`videval_metrics::raft_warping_error::pair_error`]):
    /// the forward and backward flows (20 updates each), the second frame and the backward flow
    /// warped by the forward flow, the masked mean squared difference, over the padded frame.
    pub fn evalcrafter_warping_error(&self, one: &WarpFrame, two: &WarpFrame) -> Result<f64> {
        let fw = self.vbench_flow(&one.encoded, &two.encoded)?;
        let bw = self.vbench_flow(&two.encoded, &one.encoded)?;
        let warped = warp(&two.unit, &fw)?;
        let bw_at_fw = warp(&bw, &fw)?;
        let (_, _, h, w) = one.unit.dims4()?;
        let flat = |t: &Tensor| t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>();
        Ok(videval_metrics::raft_warping_error::pair_error(
            &flat(&one.unit)?,
            &flat(&warped)?,
            &flat(&fw)?,
            &flat(&bw_at_fw)?,
            h,
            w,
        ))
    }
}

/// A frame scaled for RAFT, its feature-encoder output and, when kept ([`Raft::with_context`]),
/// its context-encoder output.
#[derive(Clone)]
pub struct Encoded {
    image: Tensor,
    features: Tensor,
    context: Option<Tensor>,
}

/// The padding VBench's `InputPadder` (princeton-vl RAFT, mode 'sintel') adds to a side to reach
/// a multiple of 8: `(before, after)`, the odd pixel after.
pub fn sintel_padding(side: usize) -> (usize, usize) {
    let pad = (8 - side % 8) % 8;
    (pad / 2, pad - pad / 2)
}

/// Replicate-pads `[B, C, H, W]` to multiples of 8 as VBench's `InputPadder` does.
pub fn pad_sintel(x: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (top, bottom) = sintel_padding(h);
    let (left, right) = sintel_padding(w);
    x.pad_with_same(2, top, bottom)?.pad_with_same(3, left, right)
}

/// Convex upsampling ×8: each fine pixel is the softmax-weighted mean of the 3×3 coarse
/// neighbours' flow (×8; zeros outside), the weights from `mask` (`[B, 576, h, w]`).
fn upsample(flow: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, _, h, w) = flow.dims4()?;
    let mask = candle_nn::ops::softmax(&mask.reshape(vec![b, 1, 9, 8, 8, h, w])?, 2)?;
    let padded = (flow * 8.0)?.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    // F.unfold's order: kernel row, then column.
    let mut taps = Vec::with_capacity(9);
    for ky in 0..3 {
        for kx in 0..3 {
            taps.push(padded.narrow(2, ky, h)?.narrow(3, kx, w)?);
        }
    }
    let taps = Tensor::stack(&taps, 2)?.reshape(vec![b, 2, 9, 1, 1, h, w])?;
    let up = mask.broadcast_mul(&taps)?.sum(2)?; // [B, 2, 8, 8, h, w]
    up.permute((0, 1, 4, 2, 5, 3))?.reshape((b, 2, h * 8, w * 8))
}

/// VBench's per-pair flow score (`get_score` of its dynamic degree, fraction 0.05, and of its
/// static filter, 0.02): the mean of the largest `fraction` (`⌊fraction · H·W⌋`, at least 1) of a
/// flow's magnitudes; `flow` is `[2, H, W]`.
pub fn top_fraction_magnitude(flow: &Tensor, fraction: f64) -> Result<f64> {
    let f = flow.to_dtype(DType::F64)?;
    let mags = (f.i(0)?.sqr()? + f.i(1)?.sqr()?)?.sqrt()?.flatten_all()?.to_vec1::<f64>()?;
    Ok(videval_metrics::vbench_dynamic_degree::top_fraction_mean(&mags, fraction))
}
