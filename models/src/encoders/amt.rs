//! AMT-S frame interpolation (Li et al., "AMT: All-Pairs Multi-Field Transforms for Efficient Frame
//! Interpolation", CVPR 2023), ported to candle with the reference's state-dict names
//! (`networks/AMT-S.py`, `corr_radius 3, corr_lvls 4, num_flows 3`, as VBench's
//! `third_party/amt` ships it): the network VBench's motion smoothness runs with `amt-s.pth`.
//!
//! Both frames, less their joint mean, go through a RAFT-style small feature encoder (instance
//! norm, ÷8, 84 channels) whose all-pairs correlation is kept in both directions as 4-level
//! pyramids, and through a 4-level convolutional pyramid (20, 32, 44, 56 channels, ÷2 … ÷16).
//! Decoders from ÷16 up to full size predict the intermediate feature and the flows from the
//! middle frame to each input; at ÷8, ÷4 and ÷2 an update block reads the correlation (radius 3)
//! at the positions the flows, extended linearly to the whole interval, point to, and corrects
//! the flows and the feature. The last decoder predicts three flow pairs, blend masks and
//! residuals; the three warped blends are averaged and refined by a small convolution, and the
//! result is clamped to [0, 1].
//!
//! Inputs are frames in [0, 1] with sides multiples of 16; [`Amt::vbench_middle`] pads, runs and
//! quantises as VBench does. The two correlation volumes hold 2·(H·W/64)² values (4/3 of that
//! with the pyramids): 70 MB in f32 for a 512 × 320 pair, 2.2 GB at 1280 × 720, 11 GB at
//! 1920 × 1080 — [`Amt::peak_bytes`] tells a scheduler before it runs one.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::layers::{Act, Conv, Pyramid, coords_grid, instance_norm, warp};

/// Correlation pyramid levels and lookup radius (`AMT-S.yaml`).
const LEVELS: usize = 4;
const RADIUS: usize = 3;
/// Flow pairs the last decoder predicts.
const FLOWS: usize = 3;
/// Channels of the image pyramid's levels, and of the residual blocks' side branch.
const CHANNELS: [usize; 4] = [20, 32, 44, 56];
const SKIP: usize = 20;
/// The smallest padded side: the correlation pyramid's coarsest level (÷64) must keep a sample
/// (VBench's reference fails below it too: its average pooling gets an empty input).
pub const MIN_SIDE: usize = 64;

/// Per-channel PReLU: x where x ≥ 0, else a·x.
struct Prelu(Tensor);

impl Prelu {
    fn new(vb: VarBuilder, c: usize) -> Result<Self> {
        Ok(Prelu(vb.get(c, "weight")?.reshape((1, c, 1, 1))?))
    }
}

impl Module for Prelu {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.relu()? + x.minimum(0.0)?.broadcast_mul(&self.0)?
    }
}

/// `convrelu`: a convolution (`.0`) and a PReLU (`.1`).
struct ConvPrelu {
    conv: Conv,
    prelu: Prelu,
}

impl ConvPrelu {
    fn new(vb: VarBuilder, cin: usize, cout: usize, stride: usize) -> Result<Self> {
        Ok(ConvPrelu { conv: Conv::square(vb.pp("0"), cin, cout, 3, stride)?, prelu: Prelu::new(vb.pp("1"), cout)? })
    }
}

impl Module for ConvPrelu {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.conv.forward_act(x, Act::Prelu(&self.prelu.0))
    }
}

/// IFRNet's residual block: its last `side` channels get an extra convolution twice on the way.
struct ResBlock {
    side: usize,
    conv1: ConvPrelu,
    conv2: ConvPrelu,
    conv3: ConvPrelu,
    conv4: ConvPrelu,
    conv5: Conv,
    prelu: Prelu,
}

impl ResBlock {
    fn new(vb: VarBuilder, c: usize, side: usize) -> Result<Self> {
        Ok(ResBlock {
            side,
            conv1: ConvPrelu::new(vb.pp("conv1"), c, c, 1)?,
            conv2: ConvPrelu::new(vb.pp("conv2"), side, side, 1)?,
            conv3: ConvPrelu::new(vb.pp("conv3"), c, c, 1)?,
            conv4: ConvPrelu::new(vb.pp("conv4"), side, side, 1)?,
            conv5: Conv::square(vb.pp("conv5"), c, c, 3, 1)?,
            prelu: Prelu::new(vb.pp("prelu"), c)?,
        })
    }

    /// `out` with its last `side` channels through `conv`.
    fn side(&self, out: &Tensor, conv: &ConvPrelu) -> Result<Tensor> {
        let c = out.dim(1)?;
        let main = out.narrow(1, 0, c - self.side)?;
        let side = conv.forward(&out.narrow(1, c - self.side, self.side)?)?;
        Tensor::cat(&[&main, &side], 1)
    }
}

impl Module for ResBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let out = self.conv1.forward(x)?;
        let out = self.conv3.forward(&self.side(&out, &self.conv2)?)?;
        let out = self.conv5.forward(&self.side(&out, &self.conv4)?)?;
        self.prelu.forward(&(x + out)?)
    }
}

/// `ConvTranspose2d(cin, cout, 4, stride 2, padding 1)`, run as one 3×3 convolution with four
/// phases of output channels, interleaved into the doubled grid: output row 2m + a reads input
/// rows m − 1 + a and m + a with kernel rows 3 − a and 1 − a (+2 for the second), and likewise for
/// columns — each phase a 2×2 corner of a 3×3 window, the rest of the window zero.
struct ConvTranspose {
    phases: Conv,
    cout: usize,
}

impl ConvTranspose {
    fn new(vb: VarBuilder, cin: usize, cout: usize) -> Result<Self> {
        // PyTorch's transposed weight is [cin, cout, 4, 4].
        let w = vb.get((cin, cout, 4, 4), "weight")?.permute((1, 0, 2, 3))?.contiguous()?;
        let bias = vb.get(cout, "bias")?;
        let zero = Tensor::zeros((cout, cin), w.dtype(), w.device())?;
        // Kernel tap for phase `a` at window offset `o` (0..3): 3 + a − 2o when in 0..4.
        let tap = |a: usize, o: usize| (3 + a).checked_sub(2 * o).filter(|k| *k < 4);
        let mut phases = Vec::with_capacity(4);
        for a in 0..2 {
            for b in 0..2 {
                let mut taps = Vec::with_capacity(9);
                for oy in 0..3 {
                    for ox in 0..3 {
                        taps.push(match (tap(a, oy), tap(b, ox)) {
                            (Some(ky), Some(kx)) => w.narrow(2, ky, 1)?.narrow(3, kx, 1)?.reshape((cout, cin))?,
                            _ => zero.clone(),
                        });
                    }
                }
                phases.push(Tensor::stack(&taps, 2)?.reshape((cout, cin, 3, 3))?);
            }
        }
        let weight = Tensor::cat(&phases, 0)?;
        let bias = Tensor::cat(&[&bias, &bias, &bias, &bias], 0)?;
        Ok(ConvTranspose { phases: Conv { weight, bias, stride: 1, pad: (1, 1) }, cout })
    }
}

impl Module for ConvTranspose {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, _, h, w) = x.dims4()?;
        let y = self.phases.forward(x)?; // [B, (a, b, cout), H, W]
        y.reshape(vec![b, 2, 2, self.cout, h, w])?.permute(vec![0, 3, 4, 1, 5, 2])?.reshape((
            b,
            self.cout,
            2 * h,
            2 * w,
        ))
    }
}

/// Bilinear resize by `scale` (`F.interpolate(..., scale_factor, mode="bilinear",
/// align_corners=False)`).
fn resize(x: &Tensor, scale: f64) -> Result<Tensor> {
    x.upsample_bilinear2d_with_scale(scale, scale, false)
}

/// RAFT's bottleneck block with instance norm (the small feature encoder's).
struct Bottleneck {
    conv1: Conv,
    conv2: Conv,
    conv3: Conv,
    downsample: Option<Conv>,
}

impl Bottleneck {
    fn new(vb: VarBuilder, cin: usize, planes: usize, stride: usize) -> Result<Self> {
        Ok(Bottleneck {
            conv1: Conv::square(vb.pp("conv1"), cin, planes / 4, 1, 1)?,
            conv2: Conv::square(vb.pp("conv2"), planes / 4, planes / 4, 3, stride)?,
            conv3: Conv::square(vb.pp("conv3"), planes / 4, planes, 1, 1)?,
            downsample: if stride == 1 {
                None
            } else {
                Some(Conv::square(vb.pp("downsample.0"), cin, planes, 1, stride)?)
            },
        })
    }
}

impl Module for Bottleneck {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = instance_norm(&self.conv1.forward(x)?)?.relu()?;
        let y = instance_norm(&self.conv2.forward(&y)?)?.relu()?;
        let y = instance_norm(&self.conv3.forward(&y)?)?.relu()?;
        let x = match &self.downsample {
            Some(d) => instance_norm(&d.forward(x)?)?,
            None => x.clone(),
        };
        (x + y)?.relu()
    }
}

/// The small feature encoder: 7×7 stride 2 to 32 channels, bottleneck pairs of 32, 64 and 96
/// channels (the last two pairs stride 2), a 1×1 convolution to 84.
struct FeatureEncoder {
    conv1: Conv,
    blocks: Vec<Bottleneck>,
    conv2: Conv,
}

impl FeatureEncoder {
    fn new(vb: VarBuilder) -> Result<Self> {
        let mut blocks = Vec::new();
        let mut cin = 32;
        for (i, (planes, stride)) in [(32, 1), (64, 2), (96, 2)].into_iter().enumerate() {
            let vb = vb.pp(format!("layer{}", i + 1));
            blocks.push(Bottleneck::new(vb.pp("0"), cin, planes, stride)?);
            blocks.push(Bottleneck::new(vb.pp("1"), planes, planes, 1)?);
            cin = planes;
        }
        Ok(FeatureEncoder {
            conv1: Conv::square(vb.pp("conv1"), 3, 32, 7, 2)?,
            blocks,
            conv2: Conv::square(vb.pp("conv2"), 96, 84, 1, 1)?,
        })
    }
}

impl Module for FeatureEncoder {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = instance_norm(&self.conv1.forward(x)?)?.relu()?;
        for b in &self.blocks {
            x = b.forward(&x)?;
        }
        self.conv2.forward(&x)
    }
}

/// The image pyramid: per level a stride-2 and a stride-1 `convrelu`.
struct ImageEncoder {
    levels: Vec<(ConvPrelu, ConvPrelu)>,
}

impl ImageEncoder {
    fn new(vb: VarBuilder) -> Result<Self> {
        let mut levels = Vec::with_capacity(CHANNELS.len());
        let mut cin = 3;
        for (i, &c) in CHANNELS.iter().enumerate() {
            let vb = vb.pp(format!("pyramid{}", i + 1));
            levels.push((ConvPrelu::new(vb.pp("0"), cin, c, 2)?, ConvPrelu::new(vb.pp("1"), c, c, 1)?));
            cin = c;
        }
        Ok(ImageEncoder { levels })
    }

    /// The features at ÷2, ÷4, ÷8 and ÷16.
    fn forward(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        let mut out = Vec::with_capacity(self.levels.len());
        let mut x = x.clone();
        for (down, same) in &self.levels {
            x = same.forward(&down.forward(&x)?)?;
            out.push(x.clone());
        }
        Ok(out)
    }
}

/// A decoder: `convrelu`, a residual block, a transposed convolution doubling the size
/// (`convblock.0`, `.1`, `.2`).
struct Decoder {
    conv: ConvPrelu,
    res: ResBlock,
    up: ConvTranspose,
}

impl Decoder {
    fn new(vb: VarBuilder, cin: usize, c: usize, cout: usize) -> Result<Self> {
        let vb = vb.pp("convblock");
        Ok(Decoder {
            conv: ConvPrelu::new(vb.pp("0"), cin, c, 1)?,
            res: ResBlock::new(vb.pp("1"), c, SKIP)?,
            up: ConvTranspose::new(vb.pp("2"), c, cout)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.up.forward(&self.res.forward(&self.conv.forward(x)?)?)
    }
}

/// `SmallUpdateBlock`: reads the bidirectional correlation and the flows at ÷8, corrects the
/// flows and the decoder's feature (computed at ÷8 and resized by `scale` where the feature is
/// finer).
struct Update {
    convc1: Conv,
    convf1: Conv,
    convf2: Conv,
    conv: Conv,
    gru: (Conv, Conv),
    feat_head: (Conv, Conv),
    flow_head: (Conv, Conv),
    scale: Option<f64>,
}

impl Update {
    fn new(vb: VarBuilder, cdim: usize, scale: Option<f64>) -> Result<Self> {
        let (hidden, flow_dim, corr_dim, fc_dim) = (76, 20, 64, 68);
        let planes = LEVELS * (2 * RADIUS + 1) * (2 * RADIUS + 1);
        let pair = |name: &str, cin: usize, cout: usize| -> Result<(Conv, Conv)> {
            Ok((
                Conv::square(vb.pp(name).pp("0"), cin, hidden, 3, 1)?,
                Conv::square(vb.pp(name).pp("2"), hidden, cout, 3, 1)?,
            ))
        };
        Ok(Update {
            convc1: Conv::square(vb.pp("convc1"), 2 * planes, corr_dim, 1, 1)?,
            convf1: Conv::square(vb.pp("convf1"), 4, 2 * flow_dim, 7, 1)?,
            convf2: Conv::square(vb.pp("convf2"), 2 * flow_dim, flow_dim, 3, 1)?,
            conv: Conv::square(vb.pp("conv"), corr_dim + flow_dim, fc_dim, 3, 1)?,
            gru: pair("gru", fc_dim + 4 + cdim, hidden)?,
            feat_head: pair("feat_head", hidden, cdim)?,
            flow_head: pair("flow_head", hidden, 4)?,
            scale,
        })
    }

    /// `(Δ feature, Δ flows)` for the feature `net`, the flows at ÷8 (`[B, 4, h, w]`) and their
    /// correlation.
    fn forward(&self, net: &Tensor, flow: &Tensor, corr: &Tensor) -> Result<(Tensor, Tensor)> {
        let net = match self.scale {
            Some(s) => resize(net, 1.0 / s)?,
            None => net.clone(),
        };
        let leaky = Act::Leaky(0.1);
        let cor = self.convc1.forward_act(corr, leaky)?;
        let flo = self.convf1.forward_act(flow, leaky)?;
        let flo = self.convf2.forward_act(&flo, leaky)?;
        let inp = self.conv.forward_act(&Tensor::cat(&[&cor, &flo], 1)?, leaky)?;
        let inp = Tensor::cat(&[&inp, flow, &net], 1)?;
        let out = self.gru.1.forward(&self.gru.0.forward_act(&inp, leaky)?)?;
        let delta_net = self.feat_head.1.forward(&self.feat_head.0.forward_act(&out, leaky)?)?;
        let delta_flow = self.flow_head.1.forward(&self.flow_head.0.forward_act(&out, leaky)?)?;
        match self.scale {
            Some(s) => Ok((resize(&delta_net, s)?, (resize(&delta_flow, s)? * s)?)),
            None => Ok((delta_net, delta_flow)),
        }
    }
}

/// AMT-S.
pub struct Amt {
    feat_encoder: FeatureEncoder,
    encoder: ImageEncoder,
    decoder4: Decoder,
    decoder3: Decoder,
    decoder2: Decoder,
    decoder1: Decoder,
    update4: Update,
    update3: Update,
    update2: Update,
    comb: (Conv, Prelu, Conv),
}

/// The two directions of the correlation between the frames' features.
struct Correlation {
    forward: Pyramid,
    backward: Pyramid,
}

impl Amt {
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let [c1, c2, c3, c4] = CHANNELS;
        let comb = vb.pp("comb_block");
        Ok(Amt {
            feat_encoder: FeatureEncoder::new(vb.pp("feat_encoder"))?,
            encoder: ImageEncoder::new(vb.pp("encoder"))?,
            decoder4: Decoder::new(vb.pp("decoder4"), 2 * c4 + 1, 2 * c4, c3 + 4)?,
            decoder3: Decoder::new(vb.pp("decoder3"), 3 * c3 + 4, 3 * c3, c2 + 4)?,
            decoder2: Decoder::new(vb.pp("decoder2"), 3 * c2 + 4, 3 * c2, c1 + 4)?,
            decoder1: Decoder::new(vb.pp("decoder1"), 3 * c1 + 4, 3 * c1, 8 * FLOWS)?,
            update4: Update::new(vb.pp("update4"), c3, None)?,
            update3: Update::new(vb.pp("update3"), c2, Some(2.0))?,
            update2: Update::new(vb.pp("update2"), c1, Some(4.0))?,
            comb: (
                Conv::square(comb.pp("0"), 3 * FLOWS, 6 * FLOWS, 3, 1)?,
                Prelu::new(comb.pp("1"), 6 * FLOWS)?,
                Conv::square(comb.pp("2"), 6 * FLOWS, 3, 3, 1)?,
            ),
        })
    }

    /// Loads `dir/model.safetensors` (the reference's state-dict names, as convert_amt.py writes
    /// them) in f32.
    pub fn load(dir: &std::path::Path, device: &Device) -> std::result::Result<Self, String> {
        let file = dir.join("model.safetensors");
        let tensors = super::float_tensors(&file, device)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Amt::new(vb).map_err(|e| format!("{}: not AMT-S weights: {e}", file.display()))
    }

    /// Where the weights live (inputs go there).
    pub fn device(&self) -> &Device {
        self.comb.0.weight.device()
    }

    /// Bytes one pair's pass holds at its peak: the two correlation pyramids (f32, sides padded to
    /// 16), or the full-size decoders' working set (about 2 kB a pixel: the last decoder's
    /// 60-channel activations and their 3×3 patches at half size, the 24-channel output and the
    /// three blends at full size), whichever is larger.
    pub fn peak_bytes(height: usize, width: usize) -> u64 {
        let (h, w) = (height.div_ceil(16) * 16, width.div_ceil(16) * 16);
        let n = (h / 8 * (w / 8)) as u64;
        (2 * n * n * 4 * 4 / 3).max(2000 * (h * w) as u64)
    }

    /// The frame at time `t` (0 < t < 1) between `img0` and `img1` (`[B, 3, H, W]` in [0, 1], H and
    /// W multiples of 16), clamped to [0, 1] — the reference's `forward(..., scale_factor=1.0,
    /// eval=True)['imgt_pred']`.
    pub fn interpolate(&self, img0: &Tensor, img1: &Tensor, t: f64) -> Result<Tensor> {
        let (b, c, h, w) = img0.dims4()?;
        if img1.dims4()? != (b, c, h, w) || c != 3 || h % 16 != 0 || w % 16 != 0 || h < MIN_SIDE || w < MIN_SIDE {
            candle_core::bail!(
                "AMT: frames must be RGB of one shape with sides multiples of 16 and at least {MIN_SIDE}, got {:?} and {:?}",
                img0.shape(),
                img1.shape()
            );
        }
        // The pair's mean over channels, rows of both frames, and columns.
        let mean = Tensor::cat(&[img0, img1], 2)?.mean_keepdim(1)?.mean_keepdim(2)?.mean_keepdim(3)?;
        let img0 = img0.broadcast_sub(&mean)?;
        let img1 = img1.broadcast_sub(&mean)?;
        let coord = coords_grid(b, h / 8, w / 8, img0.dtype(), img0.device())?;
        let corr = {
            let f = self.feat_encoder.forward(&Tensor::cat(&[&img0, &img1], 0)?)?;
            let (f0, f1) = (f.narrow(0, 0, b)?, f.narrow(0, b, b)?);
            Correlation {
                forward: Pyramid::new(&f0, &f1, LEVELS, RADIUS)?,
                backward: Pyramid::new(&f1, &f0, LEVELS, RADIUS)?,
            }
        };
        let e0 = self.encoder.forward(&img0)?;
        let e1 = self.encoder.forward(&img1)?;

        // ÷16 → ÷8.
        let plane = Tensor::full(t, (b, 1, h / 16, w / 16), img0.device())?.to_dtype(img0.dtype())?;
        let out = self.decoder4.forward(&Tensor::cat(&[&e0[3], &e1[3], &plane], 1)?)?;
        let (flow0, flow1, ft) = split_decoded(&out)?;
        let (flow0, flow1, ft) = refine(&self.update4, &corr, &coord, (flow0, flow1, ft), t, 1)?;
        // ÷8 → ÷4 → ÷2.
        let (flow0, flow1, ft) = self.intermediate(&self.decoder3, &ft, (&e0[2], &e1[2]), &flow0, &flow1)?;
        let (flow0, flow1, ft) = refine(&self.update3, &corr, &coord, (flow0, flow1, ft), t, 2)?;
        let (flow0, flow1, ft) = self.intermediate(&self.decoder2, &ft, (&e0[1], &e1[1]), &flow0, &flow1)?;
        let (flow0, flow1, ft) = refine(&self.update2, &corr, &coord, (flow0, flow1, ft), t, 4)?;
        // ÷2 → full size, three flow pairs.
        let f0w = warp(&e0[0], &flow0)?;
        let f1w = warp(&e1[0], &flow1)?;
        let out = self.decoder1.forward(&Tensor::cat(&[&ft, &f0w, &f1w, &flow0, &flow1], 1)?)?;
        let n = FLOWS;
        let up = |f: &Tensor| -> Result<Tensor> {
            let f = (resize(f, 2.0)? * 2.0)?;
            Tensor::cat(&vec![&f; n], 1)
        };
        let flow0 = (out.narrow(1, 0, 2 * n)? + up(&flow0)?)?;
        let flow1 = (out.narrow(1, 2 * n, 2 * n)? + up(&flow1)?)?;
        let mask = candle_nn::ops::sigmoid(&out.narrow(1, 4 * n, n)?)?;
        let residual = out.narrow(1, 5 * n, 3 * n)?;
        self.combine(&img0, &img1, &flow0, &flow1, &mask, &residual, &mean)?.clamp(0.0, 1.0)
    }

    /// `IntermediateDecoder`: the finer level's features warped by the flows, decoded with the
    /// feature and the flows; the flows come back doubled in size and value plus the decoded
    /// correction.
    fn intermediate(
        &self,
        decoder: &Decoder,
        ft: &Tensor,
        (f0, f1): (&Tensor, &Tensor),
        flow0: &Tensor,
        flow1: &Tensor,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let f0w = warp(f0, flow0)?;
        let f1w = warp(f1, flow1)?;
        let out = decoder.forward(&Tensor::cat(&[ft, &f0w, &f1w, flow0, flow1], 1)?)?;
        let (d0, d1, ft) = split_decoded(&out)?;
        let flow0 = (d0 + (resize(flow0, 2.0)? * 2.0)?)?;
        let flow1 = (d1 + (resize(flow1, 2.0)? * 2.0)?)?;
        Ok((flow0, flow1, ft))
    }

    /// `multi_flow_combine`: per flow pair, the two warped frames blended by the mask, plus the
    /// mean and the residual; their average plus the refining convolution of all three.
    #[allow(clippy::too_many_arguments)]
    fn combine(
        &self,
        img0: &Tensor,
        img1: &Tensor,
        flow0: &Tensor,
        flow1: &Tensor,
        mask: &Tensor,
        residual: &Tensor,
        mean: &Tensor,
    ) -> Result<Tensor> {
        let (b, _, h, w) = flow0.dims4()?;
        let n = FLOWS;
        let flow0 = flow0.reshape((b * n, 2, h, w))?;
        let flow1 = flow1.reshape((b * n, 2, h, w))?;
        let mask = mask.reshape((b * n, 1, h, w))?;
        let residual = residual.reshape((b * n, 3, h, w))?;
        let repeat = |x: &Tensor| -> Result<Tensor> {
            let dims = x.dims().to_vec();
            let mut rep = vec![dims[0], n];
            rep.extend_from_slice(&dims[1..]);
            let mut flat = dims.clone();
            flat[0] *= n;
            x.unsqueeze(1)?.broadcast_as(rep)?.contiguous()?.reshape(flat)
        };
        let w0 = warp(&repeat(img0)?, &flow0)?;
        let w1 = warp(&repeat(img1)?, &flow1)?;
        let blend = (w0.broadcast_mul(&mask)? + w1.broadcast_mul(&(1.0 - &mask)?)?)?;
        let warps = blend.broadcast_add(&repeat(mean)?)?.add(&residual)?;
        let average = warps.reshape((b, n, 3, h, w))?.mean(1)?;
        let (c0, prelu, c2) = &self.comb;
        let refined = c2.forward(&c0.forward_act(&warps.reshape((b, 3 * n, h, w))?, Act::Prelu(&prelu.0))?)?;
        average + refined
    }

    /// VBench's motion smoothness pass (`MotionSmoothness.motion_score`, CPU mode: no rescaling):
    /// the middle frame of two RGB frames (`[1, 3, H, W]`, values 0–255 as f32) — scaled by ÷255,
    /// replicate-padded to multiples of 16 ([`padding16`]), interpolated at t = ½, cropped back,
    /// and quantised as `tensor2img` does (×255, clipped, truncated): `H·W·3` bytes, row-major RGB.
    pub fn vbench_middle(&self, a: &Tensor, b: &Tensor) -> Result<Vec<u8>> {
        let (_, _, h, w) = a.dims4()?;
        let (top, bottom) = padding16(h);
        let (left, right) = padding16(w);
        let scale = Tensor::new(255f32, a.device())?.to_dtype(a.dtype())?;
        let prep = |x: &Tensor| -> Result<Tensor> {
            x.broadcast_div(&scale)?.pad_with_same(2, top, bottom)?.pad_with_same(3, left, right)
        };
        let mid = self.interpolate(&prep(a)?, &prep(b)?, 0.5)?;
        let mid = mid.narrow(2, top, h)?.narrow(3, left, w)?;
        let bytes = (mid * 255.0)?.clamp(0.0, 255.0)?.squeeze(0)?.permute((1, 2, 0))?.flatten_all()?;
        // Truncation, as numpy's astype(uint8) of values in [0, 255].
        let values: Vec<f64> = bytes.to_dtype(DType::F64)?.to_vec1()?;
        Ok(values.into_iter().map(|v| v as u8).collect())
    }
}

/// The decoded output's two flows (channels 0–1 and 2–3) and the feature (the rest).
fn split_decoded(out: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let c = out.dim(1)?;
    Ok((out.narrow(1, 0, 2)?, out.narrow(1, 2, 2)?, out.narrow(1, 4, c - 4)?))
}

/// `_corr_scale_lookup` then the update block: the flows (at ÷`down`·8, brought to ÷8) read the
/// correlation where, extended linearly over the interval, they land in the other frame (t → 1 by
/// `flow1 / t`, t → 0 by `flow0 / (1 − t)`); the block's corrections are added.
fn refine(
    update: &Update,
    corr: &Correlation,
    coord: &Tensor,
    (flow0, flow1, ft): (Tensor, Tensor, Tensor),
    t: f64,
    down: usize,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (f0, f1) = if down == 1 {
        (flow0.clone(), flow1.clone())
    } else {
        let inv = 1.0 / down as f64;
        ((resize(&flow0, inv)? * inv)?, (resize(&flow1, inv)? * inv)?)
    };
    let c0 = corr.forward.lookup(&(coord + (&f1 * (1.0 / t))?)?)?;
    let c1 = corr.backward.lookup(&(coord + (&f0 * (1.0 / (1.0 - t)))?)?)?;
    let (delta_ft, delta_flow) = update.forward(&ft, &Tensor::cat(&[&f0, &f1], 1)?, &Tensor::cat(&[&c0, &c1], 1)?)?;
    let flow0 = (flow0 + delta_flow.narrow(1, 0, 2)?)?;
    let flow1 = (flow1 + delta_flow.narrow(1, 2, 2)?)?;
    let ft = (ft + delta_ft)?;
    Ok((flow0, flow1, ft))
}

/// The padding VBench's AMT `InputPadder(divisor=16)` adds to a side: `(before, after)`, the odd
/// pixel after.
pub fn padding16(side: usize) -> (usize, usize) {
    let pad = (16 - side % 16) % 16;
    (pad / 2, pad - pad / 2)
}

/// VBench's per-frame motion-smoothness difference (`get_diff`): the mean absolute difference of
/// two RGB8 frames over every pixel and channel.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    let total: u64 = a.iter().zip(b).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    total as f64 / a.len().max(1) as f64
}
