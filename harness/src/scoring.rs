//! One pass per video: a video is decoded once and its frames stream through everything that
//! measures it. Windowed metrics share one [`Window`] (frames, luma pyramids and flow computed
//! once per frame or pair); feature metrics collect their extractor's small preprocessed
//! frames as they pass; only what needs the whole clip (the probes, a `Reads::WholeClip` metric)
//! holds every frame. Peak memory is the window plus the decoder's own buffers, whatever the
//! clip's length, unless a whole-clip consumer is asked for.

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use videval_metrics::analysis::{Accumulator, MIN_FLOW_SIDE, Window};
use videval_metrics::preprocess::{self, FrameSampling, Frames};
use videval_metrics::probes::{self, Expectation, Held};
use videval_metrics::registry::{FlowInput, FlowPairs, FrameInput, Metric, MetricError, Reads};
use videval_metrics::{Video, feature_consistency};
use videval_models::encoders::raft::{Encoded, WarpFrame};
use videval_models::encoders::world::WorldEncoder;

use crate::video::decode_stream;

/// One thing to measure on a video.
pub enum Need<'a> {
    Metric(&'static dyn Metric),
    /// Every probe expectation of one probe kind, and what the case's mode holds in the output
    /// (`continuity`'s reference; `Err` when it could not be loaded); the value is the fraction
    /// passed.
    Probes(&'a [Expectation], Result<Option<&'a Held>, &'a str>),
}

/// A measurement: the value and, for probes, the verdicts in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub value: f64,
    pub detail: Option<String>,
}

/// Why a measurement has no value.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The metric does not apply to this video (too few frames); not an error of the video.
    NotApplicable(String),
    Error(String),
}

pub type Outcome = Result<Value, Failure>;

impl From<MetricError> for Failure {
    fn from(e: MetricError) -> Self {
        match e {
            MetricError::TooFewFrames { .. } | MetricError::TooSmall { .. } | MetricError::NoTexture => {
                Failure::NotApplicable(e.to_string())
            }
            _ => Failure::Error(e.to_string()),
        }
    }
}

/// Frames the world encoder embeds per forward pass ([`WorldEncoder::embed_frames`] batches the
/// same way, so streamed and whole-clip features are the same numbers).
const FEATURE_CHUNK: usize = 64;

/// A feature metric's frames, preprocessed for their extractor (the world encoder, or CLIP for
/// VBench's recipe) as they stream past and embedded a chunk at a time: what is held is the chunk
/// and the features, not the frames.
struct FeatureFrames {
    input: FrameInput,
    /// Shared by one video's collectors: one embedding at a time, so the network's working
    /// memory is held once however the collectors' chunks line up across threads.
    gate: Arc<std::sync::Mutex<()>>,
    preprocess: preprocess::Preprocess,
    pending: Frames,
    features: Result<Vec<Vec<f64>>, String>,
}

impl FeatureFrames {
    fn new(input: FrameInput, gate: Arc<std::sync::Mutex<()>>) -> Self {
        let (preprocess, features) = match input {
            FrameInput::Full | FrameInput::Background => (WorldEncoder::FRAME_PREPROCESS, Ok(Vec::new())),
            FrameInput::VbenchClip | FrameInput::VbenchAesthetic => {
                // VBench's clip_transform at the checkpoint's image size, for either CLIP.
                let size = if input == FrameInput::VbenchClip {
                    crate::distribution::network_clip().map(|(clip, _)| clip.image_size)
                } else {
                    crate::distribution::network_aesthetic().map(|(net, _)| net.image_size)
                };
                match size {
                    Ok(s) => {
                        let spatial = preprocess::Spatial::TorchShortSide { short: s as u32, crop: s as u32 };
                        (preprocess::Preprocess { spatial, ..preprocess::Preprocess::VBENCH_CLIP }, Ok(Vec::new()))
                    }
                    // Without the network nothing is preprocessed; the metric says what it needs.
                    Err(e) => (preprocess::Preprocess::VBENCH_CLIP, Err(e)),
                }
            }
            FrameInput::VbenchDino => match crate::distribution::network_dino() {
                Ok(_) => (preprocess::Preprocess::VBENCH_DINO, Ok(Vec::new())),
                Err(e) => (preprocess::Preprocess::VBENCH_DINO, Err(e)),
            },
            FrameInput::VbenchMusiq => match crate::distribution::network_musiq() {
                Ok(_) => (preprocess::Preprocess::VBENCH_MUSIQ, Ok(Vec::new())),
                Err(e) => (preprocess::Preprocess::VBENCH_MUSIQ, Err(e)),
            },
        };
        let ((width, height), _) = preprocess::geometry(preprocess.spatial, 1, 1);
        FeatureFrames { input, gate, preprocess, pending: Frames { data: Vec::new(), len: 0, width, height }, features }
    }

    fn push(&mut self, rgb: &[u8], w: u32, h: u32) {
        if self.features.is_err() {
            return;
        }
        let p = &self.preprocess;
        let frame = match self.input {
            FrameInput::Full
            | FrameInput::VbenchClip
            | FrameInput::VbenchDino
            | FrameInput::VbenchAesthetic
            | FrameInput::VbenchMusiq => preprocess::apply_frame(rgb, w, h, p),
            FrameInput::Background => {
                // The painted frame is made a row at a time as the filter reads it.
                preprocess::apply_frame_mapped(rgb, w, h, p, feature_consistency::background_painter(rgb))
            }
        };
        let ((width, height), _) = preprocess::geometry(p.spatial, w, h);
        (self.pending.width, self.pending.height) = (width, height);
        self.pending.data.extend(frame);
        self.pending.len += 1;
        // DINO attends over every patch of a full-size frame and ViT-L/14 is wide: smaller
        // chunks bound their memory.
        let chunk = match self.input {
            FrameInput::VbenchDino => 8,
            FrameInput::VbenchAesthetic => 16,
            // A frame is about 340 patches through a ResNet root.
            FrameInput::VbenchMusiq => 4,
            _ => FEATURE_CHUNK,
        };
        if self.pending.len == chunk {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.pending.len == 0 {
            return;
        }
        let chunk = std::mem::take(&mut self.pending.data);
        let frames = Frames { data: chunk, len: std::mem::take(&mut self.pending.len), ..self.pending };
        if let Ok(out) = &mut self.features {
            let input = self.input;
            let embedded = gated(&self.gate, || match input {
                FrameInput::Full | FrameInput::Background => crate::distribution::world_encoder()
                    .and_then(|(enc, _)| enc.embed_preprocessed(&frames).map_err(first_line)),
                FrameInput::VbenchClip => crate::distribution::network_clip().and_then(|(clip, _)| {
                    clip.embed_frames(frames.to_channels_first(), frames.len)
                        .map(|f| f.into_iter().map(|v| v.into_iter().map(f64::from).collect()).collect())
                        .map_err(first_line)
                }),
                FrameInput::VbenchDino => crate::distribution::network_dino().and_then(|(dino, _)| {
                    let shape = (frames.len, 3, frames.height as usize, frames.width as usize);
                    candle_core::Tensor::from_vec(frames.to_channels_first(), shape, dino.device())
                        .and_then(|x| dino.forward(&x))
                        .and_then(|f| f.to_dtype(candle_core::DType::F64)?.to_vec2::<f64>())
                        .map_err(first_line)
                }),
                FrameInput::VbenchMusiq => crate::distribution::network_musiq().and_then(|(net, _)| {
                    let (h, w) = (frames.height as usize, frames.width as usize);
                    net.score_frames(frames.to_channels_first(), frames.len, h, w)
                        .map(|s| s.into_iter().map(|v| vec![f64::from(v)]).collect())
                        .map_err(first_line)
                }),
                FrameInput::VbenchAesthetic => crate::distribution::network_aesthetic().and_then(|(net, _)| {
                    net.score_frames(frames.to_channels_first(), frames.len)
                        .map(|s| s.into_iter().map(|v| vec![f64::from(v)]).collect())
                        .map_err(first_line)
                }),
            });
            match embedded {
                Ok(f) => out.extend(f),
                Err(e) => self.features = Err(e),
            }
        }
    }

    fn finish(mut self) -> Result<Vec<Vec<f64>>, String> {
        self.flush();
        self.features
    }
}

/// A flow metric's frame pairs: the frames its recipe samples go through the flow network as they
/// stream past (the previous sampled frame is all that is held), and each pair's score is kept.
struct FlowFrames {
    input: FlowInput,
    /// Frames seen, sampled or not.
    seen: usize,
    /// The first sampled frame, held for the static filter's closing pairs (first ↔ last).
    first: Option<Encoded>,
    /// The last sampled frame, encoded once for the two pairs it is in.
    previous: Option<Encoded>,
    pairs: Result<FlowPairs, String>,
}

impl FlowFrames {
    fn new(input: FlowInput) -> Self {
        // Every flow input but AMT's runs RAFT-things.
        let pairs = crate::distribution::network_raft().map(|_| FlowPairs::default());
        FlowFrames { input, seen: 0, first: None, previous: None, pairs }
    }

    fn push(&mut self, rgb: &[u8], w: u32, h: u32, fps: f64) {
        let index = self.seen;
        self.seen += 1;
        if let Ok(pairs) = &mut self.pairs {
            pairs.decoded = self.seen;
        }
        if self.pairs.is_err() || index % self.input.interval(fps) != 0 {
            return;
        }
        // A video's frames share one size: it is checked against RAFT's limits once.
        let first = self.pairs.as_ref().is_ok_and(|p| p.frames == 0);
        let frame = match Self::frame(self.input, rgb, w, h, first) {
            Ok(f) => f,
            Err(e) => {
                self.pairs = Err(e);
                return;
            }
        };
        let score = match self.previous.take() {
            Some(before) => match self.score(&before, &frame) {
                Ok(s) => Some(s),
                Err(e) => {
                    self.pairs = Err(e);
                    return;
                }
            },
            None => None,
        };
        if self.input == FlowInput::VbenchStatic && self.first.is_none() {
            self.first = Some(frame.clone());
        }
        self.previous = Some(frame);
        if let Ok(pairs) = &mut self.pairs {
            (pairs.width, pairs.height, pairs.fps) = (w, h, fps);
            pairs.frames += 1;
            pairs.scores.extend(score);
        }
    }

    /// A decoded frame padded, scaled and through RAFT's feature encoder; with `check`, frames
    /// too small for RAFT's pyramid, or too large for its correlation volume to fit in memory, are
    /// not measurable.
    fn frame(input: FlowInput, rgb: &[u8], w: u32, h: u32, check: bool) -> Result<Encoded, String> {
        use videval_models::encoders::raft::{Raft, sintel_padding};
        let (raft, _) = crate::distribution::network_raft()?;
        if check {
            let padded = |side: u32| {
                let (a, b) = sintel_padding(side as usize);
                side as usize + a + b
            };
            if padded(w).min(padded(h)) < 128 {
                return Err(format!(
                    "needs frames of at least 121 px a side for RAFT (padded to 128); this video is {w}×{h}"
                ));
            }
            fits_in_memory(Raft::peak_bytes(padded(h), padded(w)), "RAFT's", w, h)?;
        }
        let rgb = rgb_tensor(rgb, w, h, raft.device())?;
        // The static filter's first frame opens two pairs (0 → 1 and first → last).
        let context = input == FlowInput::VbenchStatic && check;
        gated(&PAIR_GATE, || {
            let frame = raft.encode_vbench(&rgb)?;
            if context { raft.with_context(frame) } else { Ok(frame) }
        })
        .map_err(first_line)
    }

    /// The recipe's score of the flow from `a` to `b`.
    fn score(&self, a: &Encoded, b: &Encoded) -> Result<f64, String> {
        use videval_models::encoders::raft::top_fraction_magnitude;
        let (raft, _) = crate::distribution::network_raft()?;
        let flow = gated(&PAIR_GATE, || raft.vbench_flow(a, b)).and_then(|f| f.squeeze(0)).map_err(first_line)?;
        let fraction = self.input.top_fraction().ok_or("this pair input is not scored by flow magnitudes")?;
        top_fraction_magnitude(&flow, fraction).map_err(first_line)
    }

    fn finish(mut self) -> Result<FlowPairs, String> {
        // VBench's static filter closes with the pairs (first, last) and (last, first).
        let sampled = self.pairs.as_ref().map_or(0, |p| p.frames);
        let closing = match (self.input, self.first.take(), self.previous.take()) {
            (FlowInput::VbenchStatic, Some(first), Some(last)) if sampled >= 2 => {
                vec![self.score(&first, &last)?, self.score(&last, &first)?]
            }
            _ => Vec::new(),
        };
        let mut pairs = self.pairs?;
        pairs.scores.extend(closing);
        Ok(pairs)
    }
}

/// VBench's motion smoothness frames: each even frame goes through AMT-S with the even frame
/// before it, and the predicted middle is compared with the odd frame between them as it streams
/// past (the last even frame and the odd frame after it are all that is held).
struct AmtFrames {
    seen: usize,
    /// The last even frame, `[1, 3, H, W]` in 0–255 on the network's device.
    previous: Option<candle_core::Tensor>,
    /// The odd frame after it.
    odd: Option<Vec<u8>>,
    pairs: Result<FlowPairs, String>,
}

impl AmtFrames {
    fn new() -> Self {
        let pairs = crate::distribution::network_amt().map(|_| FlowPairs::default());
        AmtFrames { seen: 0, previous: None, odd: None, pairs }
    }

    fn push(&mut self, rgb: &[u8], w: u32, h: u32, fps: f64) {
        let index = self.seen;
        self.seen += 1;
        let Ok(pairs) = &mut self.pairs else { return };
        (pairs.width, pairs.height, pairs.fps, pairs.decoded) = (w, h, fps, self.seen);
        if index % FlowInput::VbenchAmt.interval(fps) != 0 {
            self.odd = Some(rgb.to_vec());
            return;
        }
        if let Err(e) = self.even(rgb, w, h, index == 0) {
            self.pairs = Err(e);
        }
    }

    fn even(&mut self, rgb: &[u8], w: u32, h: u32, first: bool) -> Result<(), String> {
        use videval_models::encoders::amt::{Amt, MIN_SIDE, mean_abs_diff, padding16};
        let (amt, _) = crate::distribution::network_amt()?;
        if first {
            let padded = |side: u32| {
                let (a, b) = padding16(side as usize);
                side as usize + a + b
            };
            if padded(w).min(padded(h)) < MIN_SIDE {
                return Err(format!(
                    "needs frames of at least 49 px a side for AMT-S (padded to {MIN_SIDE}); this video is {w}×{h}"
                ));
            }
            fits_in_memory(Amt::peak_bytes(h as usize, w as usize), "AMT-S's", w, h)?;
        }
        let frame = rgb_tensor(rgb, w, h, amt.device())?;
        let score = match (self.previous.take(), self.odd.take()) {
            (Some(before), Some(odd)) => {
                let middle = gated(&PAIR_GATE, || amt.vbench_middle(&before, &frame)).map_err(first_line)?;
                Some(mean_abs_diff(&odd, &middle))
            }
            _ => None,
        };
        self.previous = Some(frame);
        if let Ok(pairs) = &mut self.pairs {
            pairs.frames += 1;
            pairs.scores.extend(score);
        }
        Ok(())
    }

    fn finish(self) -> Result<FlowPairs, String> {
        self.pairs
    }
}

/// EvalCrafter's warping-error frames: each frame, halved and padded, goes through RAFT's feature
/// encoder once; each pair of consecutive frames gets its forward and backward flow and its error
/// as the second frame streams past (the previous frame is all that is held).
struct WarpFrames {
    seen: usize,
    previous: Option<WarpFrame>,
    pairs: Result<FlowPairs, String>,
}

impl WarpFrames {
    fn new() -> Self {
        let pairs = crate::distribution::network_raft().map(|_| FlowPairs::default());
        WarpFrames { seen: 0, previous: None, pairs }
    }

    fn push(&mut self, rgb: &[u8], w: u32, h: u32, fps: f64) {
        let first = self.seen == 0;
        self.seen += 1;
        let Ok(pairs) = &mut self.pairs else { return };
        (pairs.width, pairs.height, pairs.fps, pairs.decoded) = (w, h, fps, self.seen);
        match self.frame(rgb, w, h, first) {
            Ok(score) => {
                if let Ok(pairs) = &mut self.pairs {
                    pairs.frames += 1;
                    pairs.scores.extend(score);
                }
            }
            Err(e) => self.pairs = Err(e),
        }
    }

    /// Encodes the frame and scores the pair it closes.
    fn frame(&mut self, rgb: &[u8], w: u32, h: u32, first: bool) -> Result<Option<f64>, String> {
        use videval_models::encoders::raft::{Raft, sintel_padding};
        let (raft, _) = crate::distribution::network_raft()?;
        if first {
            // RAFT runs on the frames halved (⌊side / 2⌋) and padded to multiples of 8.
            let padded = |side: u32| {
                let half = side as usize / 2;
                let (a, b) = sintel_padding(half);
                half + a + b
            };
            if padded(w).min(padded(h)) < 128 {
                return Err(format!(
                    "needs frames of at least 242 px a side for EvalCrafter's warping error (RAFT on frames halved, then padded to 128); this video is {w}×{h}"
                ));
            }
            fits_in_memory(Raft::peak_bytes(padded(h), padded(w)), "RAFT's", w, h)?;
        }
        let rgb = rgb_tensor(rgb, w, h, raft.device())?;
        let previous = self.previous.take();
        let (frame, score) = gated(&PAIR_GATE, || -> candle_core::Result<_> {
            let frame = raft.encode_evalcrafter_warp(&rgb)?;
            let score = match &previous {
                Some(before) => Some(raft.evalcrafter_warping_error(before, &frame)?),
                None => None,
            };
            Ok((frame, score))
        })
        .map_err(first_line)?;
        self.previous = Some(frame);
        Ok(score)
    }

    fn finish(self) -> Result<FlowPairs, String> {
        self.pairs
    }
}

/// A pair metric's collector: RAFT flow, RAFT warping error or AMT interpolation.
enum PairFrames {
    Flow(FlowFrames),
    Warp(WarpFrames),
    Interpolation(AmtFrames),
}

impl PairFrames {
    fn new(input: FlowInput) -> Self {
        match input {
            FlowInput::VbenchAmt => PairFrames::Interpolation(AmtFrames::new()),
            FlowInput::EvalCrafterWarp => PairFrames::Warp(WarpFrames::new()),
            _ => PairFrames::Flow(FlowFrames::new(input)),
        }
    }

    fn push(&mut self, rgb: &[u8], w: u32, h: u32, fps: f64) {
        match self {
            PairFrames::Flow(f) => f.push(rgb, w, h, fps),
            PairFrames::Warp(f) => f.push(rgb, w, h, fps),
            PairFrames::Interpolation(a) => a.push(rgb, w, h, fps),
        }
    }

    fn finish(self) -> Result<FlowPairs, String> {
        match self {
            PairFrames::Flow(f) => f.finish(),
            PairFrames::Warp(f) => f.finish(),
            PairFrames::Interpolation(a) => a.finish(),
        }
    }
}

/// A network error's first line (candle's messages may carry a backtrace).
pub fn first_line(e: impl ToString) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// An RGB8 frame as a `[1, 3, H, W]` f32 tensor (0–255) on `device`.
fn rgb_tensor(rgb: &[u8], w: u32, h: u32, device: &candle_core::Device) -> Result<candle_core::Tensor, String> {
    candle_core::Tensor::from_vec(rgb.to_vec(), (1, h as usize, w as usize, 3), device)
        .and_then(|t| t.permute((0, 3, 1, 2))?.to_dtype(candle_core::DType::F32))
        .map_err(|e| e.to_string())
}

/// How a "not measurable here: too large for this machine's memory" reason starts. Such a verdict
/// depends on the machine, not on the video and the metric alone, so the runner does not cache it
/// ([`depends_on_the_machine`]).
pub const TOO_LARGE_FOR_MEMORY: &str = "needs frames small enough for";

/// Whether a not-measurable reason depends on the machine it was reached on (and must not be
/// cached with the video's scores).
pub fn depends_on_the_machine(reason: &str) -> bool {
    reason.starts_with(TOO_LARGE_FOR_MEMORY)
}

/// An all-pairs correlation grows with the square of the pixel count: a `w × h` video whose
/// network pass would hold `peak` bytes, more than half the memory available when the process
/// first asked (one limit for the whole run, whatever else is running), is not measurable (the
/// reason says so), never an abort.
fn fits_in_memory(peak: u64, network: &str, w: u32, h: u32) -> Result<(), String> {
    let limit = memory_limit();
    if peak > limit {
        return Err(format!(
            "{TOO_LARGE_FOR_MEMORY} {network} all-pairs correlation: {w}×{h} needs {:.1} GB, over the {:.1} GB allowed (half the memory available)",
            peak as f64 / 1e9,
            limit as f64 / 1e9
        ));
    }
    Ok(())
}

/// Whether `frames` RGB frames of `width × height` fit in what one clip may hold
/// ([`memory_limit`]); the error says how much they take.
pub fn clip_fits(width: u32, height: u32, frames: u32) -> Result<(), String> {
    let bytes = u64::from(width) * u64::from(height) * 3 * u64::from(frames);
    fits(bytes, &format!("{frames} frames of {width}x{height}"))
}

/// Whether `bytes` (what `what` takes) fit in [`memory_limit`]; the error says both.
pub fn fits(bytes: u64, what: &str) -> Result<(), String> {
    let limit = memory_limit();
    if bytes > limit {
        return Err(format!("{what} take {} MiB, over the {} MiB this machine allows", bytes >> 20, limit >> 20));
    }
    Ok(())
}

/// What one video's scoring (or conversion) may hold at most: half the memory available when the
/// process first asked (one limit for the whole run, whatever else is running).
pub fn memory_limit() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(MemoryBudget::default_limit)
}

/// What this process's control group may still use: the smallest `memory.max − memory.current`
/// over its cgroup v2 folder and those above it (a job's limit is often set above its task's),
/// or cgroup v1's `limit_in_bytes − usage_in_bytes`; `None` where no limit is set.
fn cgroup_available() -> Option<u64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup_available_in(&groups, Path::new("/sys/fs/cgroup"), Path::new("/sys/fs/cgroup/memory"))
}

/// [`cgroup_available`] for a `/proc/self/cgroup` text and the v2 and v1 memory roots.
fn cgroup_available_in(groups: &str, v2_root: &Path, v1_root: &Path) -> Option<u64> {
    let num = |p: &Path| std::fs::read_to_string(p).ok().and_then(|t| t.trim().parse::<u64>().ok());
    // The smallest free room over `dir` and the folders above it up to `root`.
    let smallest = |root: &Path, rel: &str, max_file: &str, used_file: &str| {
        let mut dir = root.join(rel.trim_start_matches('/'));
        let mut best: Option<u64> = None;
        loop {
            if let (Some(max), Some(used)) = (num(&dir.join(max_file)), num(&dir.join(used_file)))
                && max < 1 << 60
            {
                let free = max.saturating_sub(used);
                best = Some(best.map_or(free, |b| b.min(free)));
            }
            if dir == root || !dir.pop() {
                break;
            }
        }
        best
    };
    let v2 = groups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .and_then(|rel| smallest(v2_root, rel, "memory.max", "memory.current"));
    let v1 = groups
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, rel)| rel))
        .and_then(|rel| smallest(v1_root, rel, "memory.limit_in_bytes", "memory.usage_in_bytes"));
    match (v2, v1) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One RAFT or AMT pass at a time in the process: videos scored side by side (and the flow and
/// interpolation collectors of one video) would otherwise hold several correlation volumes (and
/// share one GPU) at once.
static PAIR_GATE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the network pass `f` once `gate` is free, holding it until the pass ends, on
/// [`network_pool`]. A rayon worker must never wait on a lock while rayon work runs under it: a
/// thread waiting inside a parallel product may pick up another collector's job from its queue,
/// and if that job asks for the gate the thread holds, it waits on itself. So the gate is taken by
/// a plain thread of its own (a scoped thread, which steals nothing), and the pass's parallel work
/// runs on a pool that holds network passes only, whose threads never take a gate. A poisoned
/// gate only means another pass panicked; it still orders.
fn gated<R: Send>(gate: &std::sync::Mutex<()>, f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        let pass = s.spawn(|| {
            let _one_at_a_time = gate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match network_pool() {
                Some(pool) => pool.install(f),
                None => f(),
            }
        });
        pass.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The thread pool network passes run their parallel work on (one thread per core), apart from
/// the pool that decodes and schedules; `None` where the system refuses the threads (the passes
/// then run on the calling plain thread's default pool).
fn network_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().thread_name(|i| format!("videval-network-{i}")).build().ok())
        .as_ref()
}

/// Bytes the networks that `needs` run hold at their peak on a `width × height` video, beyond
/// [`estimated_bytes`]: RAFT's correlation pyramid and its encoders' activations, AMT-S's two
/// pyramids and its decoders' (one pass of each at a time, but an AMT frame is held while RAFT
/// runs).
pub fn network_bytes(needs: &[Need<'_>], width: u32, height: u32) -> u64 {
    use videval_models::encoders::{amt::Amt, raft::Raft};
    let inputs: std::collections::BTreeSet<FlowInput> = needs
        .iter()
        .filter_map(|n| match n {
            Need::Metric(m) => match m.reads() {
                Reads::Flow(i) => Some(i),
                _ => None,
            },
            Need::Probes(..) => None,
        })
        .collect();
    let (w, h) = (width as usize, height as usize);
    // RAFT's passes run one at a time: the largest counts. The warping error's run on halved frames.
    let raft = inputs
        .iter()
        .map(|i| match i {
            FlowInput::VbenchAmt => 0,
            FlowInput::EvalCrafterWarp => Raft::peak_bytes(h / 2, w / 2),
            _ => Raft::peak_bytes(h, w),
        })
        .max()
        .unwrap_or(0);
    let amt = if inputs.contains(&FlowInput::VbenchAmt) { Amt::peak_bytes(h, w) } else { 0 };
    raft + amt
}

/// Bytes one video's scoring holds at its peak, estimated from its frame size: the window and
/// the decoder's reference and threaded frames when streaming, every frame when a whole-clip
/// consumer is asked for. What [`MemoryBudget`] reserves before a video is scored.
pub fn estimated_bytes(width: u32, height: u32, frames: Option<u64>, whole_clip: bool) -> u64 {
    // Saturating: sizes and frame counts come from the file (a container may claim 10^8
    // frames of 16 million pixels), and the estimate only orders and bounds the work.
    let frame = (u64::from(width) * u64::from(height)).saturating_mul(3);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    // Window frames + decoder frames (YUV 4:2:0 is half an RGB frame: references and one per
    // frame thread) + the conversion buffer and a luma pyramid in f32 (4/3 · 4/3 of a frame).
    let streaming = frame
        .saturating_mul(videval_metrics::analysis::WINDOW as u64 + 1)
        .saturating_add((frame / 2).saturating_mul(16 + threads))
        .saturating_add(frame.saturating_mul(2));
    if whole_clip { streaming.saturating_add(frame.saturating_mul(frames.unwrap_or(10_000))) } else { streaming }
}

/// Bytes the probes' copy of a clip takes ([`probe_size`] per frame, every frame); 0 when no
/// probe is asked for.
pub fn probe_bytes(needs: &[Need<'_>], info: &crate::video::VideoInfo) -> u64 {
    if !needs.iter().any(|n| matches!(n, Need::Probes(..))) {
        return 0;
    }
    let (w, h) = info.display_size();
    let (w, h) = probe_size(w, h, info.pixel_aspect());
    (u64::from(w) * u64::from(h) * 3).saturating_mul(info.frames.unwrap_or(10_000))
}

/// The short side, in pixels, of the frames the probes judge: a larger clip is reduced to it as
/// it is decoded (area averaging). The tracker held and segmented every 1080p frame (950 MB for
/// a 5 s clip, 348 MB now; the time is about the same), where positions, sizes and speeds are read in fractions of the
/// frame and its smallest object is a two-thousandth of it; `continuity`, `loop` and `shots`
/// compare at [`probes::ANALYSIS_SHORT`] from there.
pub const PROBE_SHORT: u32 = 480;

/// The size of the frames the probes judge for a `width × height` stream whose pixels are shown
/// `pixel_aspect` times as wide as tall: square pixels (as a player shows them), short side at
/// most [`PROBE_SHORT`].
pub fn probe_size(width: u32, height: u32, pixel_aspect: f64) -> (u32, u32) {
    probes::size_at_most(preprocess::shown_width(width, pixel_aspect), height, PROBE_SHORT)
}

/// A memory budget shared by the videos scored in parallel: a video waits until its estimate
/// fits beside the others', and one video alone always runs (a budget below one video's need
/// serialises scoring instead of failing it).
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

/// Held while a video is scored; returns its reservation when dropped.
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl MemoryBudget {
    pub fn new(limit: u64) -> Self {
        MemoryBudget { limit, used: std::sync::Mutex::new(0), freed: std::sync::Condvar::new() }
    }

    /// Half the memory the machine has available now (`/proc/meminfo`), or 4 GiB where that
    /// cannot be read.
    pub fn default_limit() -> u64 {
        let host = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
        // Inside a Slurm job or a Kubernetes pod the control group's limit is what may be used,
        // not the host's free memory (the budget was the host's: far more than the job's).
        let available = match (host, cgroup_available()) {
            (Some(h), Some(c)) => Some(h.min(c)),
            (h, c) => h.or(c),
        };
        available.map_or(4 << 30, |b| b / 2)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn reserve(&self, bytes: u64) -> Reservation<'_> {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *used > 0 && used.saturating_add(bytes) > self.limit {
            used = self.freed.wait(used).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *used = used.saturating_add(bytes);
        Reservation { budget: self, bytes }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *used = used.saturating_sub(self.bytes);
        self.budget.freed.notify_all();
    }
}

/// Whether measuring `needs` holds the whole clip as decoded (a whole-clip metric); the probes
/// hold a copy of their own at [`probe_size`] ([`probe_bytes`]).
pub fn needs_whole_clip(needs: &[Need<'_>]) -> bool {
    needs.iter().any(|n| match n {
        Need::Metric(m) => m.reads() == Reads::WholeClip,
        Need::Probes(..) => false,
    })
}

/// Why a clip of `frames` frames of `sizes` (`bytes` in all) is not held whole within `limit`.
fn unheld_reason(frames: u64, sizes: &str, bytes: u64, limit: u64) -> String {
    format!(
        "{TOO_LARGE_FOR_MEMORY} the whole clip in memory: {frames} frames of {sizes} need {:.1} GB, over the {:.1} GB allowed (half the memory available)",
        bytes as f64 / 1e9,
        limit as f64 / 1e9
    )
}

/// The clip at `path` as the probes see it (every frame, at most [`PROBE_SHORT`] high, wide
/// pixels made square), held whole within [`memory_limit`]: what `video tracks` shows. `Err`
/// names the file.
pub fn shown_clip(path: &Path) -> Result<Video, String> {
    shown_clip_within(path, memory_limit())
}

/// [`shown_clip`] within `limit` bytes.
fn shown_clip_within(path: &Path, limit: u64) -> Result<Video, String> {
    let (mut clip, mut frames, mut size) = (Vec::new(), 0u64, None);
    let end = decode_stream(path, FrameSampling::All, |head, frame| {
        let (w, h) = probe_size(head.width, head.height, head.pixel_aspect);
        frames += 1;
        let bytes = frames.max(head.declared_frames.unwrap_or(0)).saturating_mul(u64::from(w) * u64::from(h) * 3);
        if bytes > limit {
            size.get_or_insert((w, h, head.width, head.height));
            clip = Vec::new();
        } else if size.is_none() {
            clip.extend_from_slice(&probe_frame(frame, head));
        }
    })
    .map_err(|e| e.to_string())?;
    if let Some((pw, ph, w, h)) = size {
        let sizes = if (pw, ph) == (w, h) {
            format!("{w}×{h}")
        } else {
            format!("{pw}×{ph} (the probes' copy of the {w}×{h} clip)")
        };
        let bytes = frames.saturating_mul(u64::from(pw) * u64::from(ph) * 3);
        return Err(format!("{}: {}", path.display(), unheld_reason(frames, &sizes, bytes, limit)));
    }
    let (w, h) = probe_size(end.head.width, end.head.height, end.head.pixel_aspect);
    Video::new(w, h, end.head.fps, clip).map_err(|e| format!("{}: {e}", path.display()))
}

/// Measures `needs` on the video at `path` in one decode. `Err` when the video cannot be decoded
/// (every need fails with it; the message names the file); otherwise one outcome per need, in
/// order.
pub fn score_video(path: &Path, needs: &[Need<'_>]) -> Result<Vec<Outcome>, String> {
    score_video_within(path, needs, memory_limit())
}

/// [`score_video`] where the whole clip (for the probes and whole-clip metrics) may take at most
/// `limit` bytes: a longer or larger clip is not held (decoding goes on for the streaming
/// metrics), and what needs it is not measurable on this machine — said, never an abort of the
/// run by the out-of-memory killer.
fn score_video_within(path: &Path, needs: &[Need<'_>], limit: u64) -> Result<Vec<Outcome>, String> {
    let mut accumulators: Vec<Option<Box<dyn Accumulator>>> = needs
        .iter()
        .map(|n| match n {
            Need::Metric(m) => m.stream(),
            Need::Probes(..) => None,
        })
        .collect();
    let mut features: BTreeMap<FrameInput, FeatureFrames> = BTreeMap::new();
    let mut flows: BTreeMap<FlowInput, PairFrames> = BTreeMap::new();
    let gate = Arc::new(std::sync::Mutex::new(()));
    let whole_clip = needs_whole_clip(needs);
    for n in needs {
        if let Need::Metric(m) = n {
            match m.reads() {
                Reads::Features(input) => {
                    features.entry(input).or_insert_with(|| FeatureFrames::new(input, Arc::clone(&gate)));
                }
                Reads::Flow(input) => {
                    flows.entry(input).or_insert_with(|| PairFrames::new(input));
                }
                Reads::Window(_) | Reads::WholeClip => {}
            }
        }
    }

    let mut window: Option<Window> = None;
    // The clip as decoded (for a whole-clip metric) and the probes' copy, frames at `probe_size`.
    let (mut clip, mut probe_clip): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    // Frames seen, and whether they passed `limit`: then the clips are let go and only counted.
    let (mut frames, mut too_large) = (0u64, false);
    let probed = needs.iter().any(|n| matches!(n, Need::Probes(..)));
    // Bytes a held frame takes: the RGB frame, and the probes' copy of it.
    let per_frame = |head: &crate::video::StreamHead| {
        let (pw, ph) = probe_size(head.width, head.height, head.pixel_aspect);
        let native = if whole_clip { u64::from(head.width) * u64::from(head.height) * 3 } else { 0 };
        native + if probed { u64::from(pw) * u64::from(ph) * 3 } else { 0 }
    };
    let mut bad_window: Option<String> = None;
    let end = decode_stream(path, FrameSampling::All, |head, frame| {
        if whole_clip || probed {
            frames += 1;
            // A clip the container already says is too large is not held at all (a 90 s 1080p
            // clip was held up to the limit, 12 GB, before it was let go).
            too_large |= frames.max(head.declared_frames.unwrap_or(0)).saturating_mul(per_frame(head)) > limit;
            if too_large {
                (clip, probe_clip) = (Vec::new(), Vec::new());
            } else {
                if whole_clip {
                    clip.extend_from_slice(frame);
                }
                if probed {
                    probe_clip.extend_from_slice(&probe_frame(frame, head));
                }
            }
        }
        // The feature collectors and the window's metrics are independent: they run side by side
        // (each sees the frames in order, so the values are those of running them in turn) and
        // share the frame.
        let frame = Arc::new(frame.to_vec());
        let for_window = Arc::clone(&frame);
        let mut collectors: Vec<&mut FeatureFrames> = features.values_mut().collect();
        let mut flow_collectors: Vec<&mut PairFrames> = flows.values_mut().collect();
        let (window, accumulators, bad_window) = (&mut window, &mut accumulators, &mut bad_window);
        rayon::join(
            || {
                rayon::join(
                    || collectors.par_iter_mut().for_each(|f| f.push(&frame, head.width, head.height)),
                    || flow_collectors.par_iter_mut().for_each(|f| f.push(&frame, head.width, head.height, head.fps)),
                )
            },
            || {
                let w = match window {
                    Some(w) => w,
                    None => match Window::new(head.width, head.height, head.fps)
                        .map(|w| w.with_pixel_aspect(head.pixel_aspect))
                    {
                        Ok(w) => window.insert(w),
                        Err(e) => {
                            bad_window.get_or_insert(e.to_string());
                            return;
                        }
                    },
                };
                if let Err(e) = w.push(for_window) {
                    bad_window.get_or_insert(e.to_string());
                    return;
                }
                for a in accumulators.iter_mut().flatten() {
                    a.push(w);
                }
            },
        );
    })
    .map_err(|e| e.to_string())?;
    if let Some(e) = bad_window {
        return Err(format!("{}: {e}", path.display()));
    }
    let Some(window) = window else { return Err(format!("{}: no frames", path.display())) };
    let video = if whole_clip && !too_large {
        Some(
            Video::new(end.head.width, end.head.height, end.head.fps, clip)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        )
    } else {
        None
    };
    // Why the whole clip is missing when it is: a reason that depends on this machine.
    // The sizes named are those held: the clip as decoded for a whole-clip metric, the probes'
    // copy (the coded size beside the probes' copy's bytes read as a wrong sum).
    let unheld = too_large.then(|| {
        let bytes = frames.saturating_mul(per_frame(&end.head));
        let (w, h) = (end.head.width, end.head.height);
        let (pw, ph) = probe_size(w, h, end.head.pixel_aspect);
        let sizes = match (whole_clip, probed) {
            (true, true) => format!("{w}×{h}, with the probes' {pw}×{ph} copy,"),
            (false, true) if (pw, ph) != (w, h) => format!("{pw}×{ph} (the probes' copy of the {w}×{h} clip)"),
            _ => format!("{w}×{h}"),
        };
        unheld_reason(frames, &sizes, bytes, limit)
    });
    // The probes judge the clip as shown, at most PROBE_SHORT high (made once, for every probe).
    let shown_video = if probed && !too_large {
        let (w, h) = probe_size(end.head.width, end.head.height, end.head.pixel_aspect);
        Some(Video::new(w, h, end.head.fps, probe_clip).map_err(|e| format!("{}: {e}", path.display()))?)
    } else {
        None
    };

    let embedded: BTreeMap<FrameInput, Result<Vec<Vec<f64>>, String>> =
        features.into_iter().map(|(k, f)| (k, f.finish())).collect();
    let flowed: BTreeMap<FlowInput, Result<FlowPairs, String>> =
        flows.into_iter().map(|(k, f)| (k, f.finish())).collect();
    // Optical flow over frames a few pixels across is no measurement (a 1×1 clip read
    // dynamic_degree 0, motion_smoothness 1, warping_error 0, each with confidence): the same
    // rule, and error, as the streamed flow metrics' (`Window::flow_measurable`).
    let (width, height) = (end.head.width, end.head.height);
    let too_small = width.min(height) < MIN_FLOW_SIDE;
    // The tracks and camera path of the clip, found once for every probe kind that reads them.
    let analysis = probes::Analysis::default();
    let mut out = Vec::with_capacity(needs.len());
    for (n, acc) in needs.iter().zip(&mut accumulators) {
        let plain = |r: Result<f64, Failure>| r.map(|value| Value { value, detail: None });
        let outcome = match n {
            Need::Metric(m) => match (m.reads(), acc.take()) {
                (Reads::Window(_), Some(acc)) => {
                    plain(acc.finish(&window).and_then(|v| m.check(v)).map_err(Failure::from))
                }
                (Reads::Features(input), _) => plain(match embedded.get(&input) {
                    Some(Ok(feats)) => m.measure_features(feats).map_err(Failure::from),
                    // A network the user has not given, or a frame the network cannot take (a
                    // DINO frame too elongated to attend over): not measurable, not a failure.
                    Some(Err(e)) if e.starts_with("needs ") || e.starts_with("n/a: ") => {
                        Err(Failure::NotApplicable(e.clone()))
                    }
                    Some(Err(e)) => Err(Failure::Error(e.clone())),
                    None => Err(Failure::Error("no frame features were collected".into())),
                }),
                (Reads::Flow(_), _) if too_small => {
                    Err(Failure::from(MetricError::TooSmall { width, height, min: MIN_FLOW_SIDE }))
                }
                (Reads::Flow(input), _) => match flowed.get(&input) {
                    // The per-pair scores say why a clip scored as it did.
                    Some(Ok(pairs)) => m
                        .measure_flow(pairs)
                        .map_err(Failure::from)
                        .map(|value| Value { value, detail: Some(flow_detail(input, pairs)) }),
                    // No weights, or frames too small for the network: not measurable here.
                    Some(Err(e)) if e.starts_with("needs ") => Err(Failure::NotApplicable(e.clone())),
                    Some(Err(e)) => Err(Failure::Error(e.clone())),
                    None => Err(Failure::Error("no flow was collected".into())),
                },
                _ => plain(match (&video, &unheld) {
                    (Some(v), _) => m.measure(v).map_err(Failure::from),
                    (None, Some(why)) => Err(Failure::NotApplicable(why.clone())),
                    (None, None) => Err(Failure::Error(format!("{} was not given the whole clip", m.id()))),
                }),
            },
            Need::Probes(_, _) if let Some(why) = &unheld => Err(Failure::NotApplicable(why.clone())),
            Need::Probes(expectations, held) => match (&shown_video, held) {
                (_, Err(e)) => Err(Failure::Error(format!("conditioning input: {e}"))),
                (Some(v), Ok(held)) => check_probes(&probes::Context::sharing(v, *held, &analysis), expectations),
                (None, Ok(_)) => Err(Failure::Error("probes were not given the whole clip".into())),
            },
        };
        out.push(outcome);
    }
    Ok(out)
}

/// A flow metric's per-pair scores in words: every one for up to [`DETAIL_PAIRS`] pairs, else the
/// first and last halves of that many around the count left out (a detail stays small however
/// long the clip).
fn flow_detail(input: FlowInput, pairs: &FlowPairs) -> String {
    let s = &pairs.scores;
    let list = |v: &[f64]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(", ");
    let scores = if s.len() <= DETAIL_PAIRS {
        list(s)
    } else {
        let half = DETAIL_PAIRS / 2;
        format!("{}, … ({} more) …, {}", list(&s[..half]), s.len() - 2 * half, list(&s[s.len() - half..]))
    };
    format!("{} frames sampled; per pair ({}): {scores}", pairs.frames, input.pair_score())
}

/// Pair scores a flow metric's detail lists in full.
const DETAIL_PAIRS: usize = 64;

/// A frame as the probes judge it ([`probe_size`]): with non-square pixels (an anamorphic
/// stream) resampled to square ones, so that the probes judge positions, shapes and the aspect in
/// the picture people see; reduced by area averaging where it is larger than [`PROBE_SHORT`].
fn probe_frame<'a>(frame: &'a [u8], head: &crate::video::StreamHead) -> std::borrow::Cow<'a, [u8]> {
    let (w, h) = probe_size(head.width, head.height, head.pixel_aspect);
    if (w, h) == (head.width, head.height) {
        return std::borrow::Cow::Borrowed(frame);
    }
    // Area averaging where both sides shrink; a widened side (anamorphic) is interpolated.
    let filter =
        if w <= head.width && h <= head.height { preprocess::Filter::Area } else { preprocess::Filter::Bicubic };
    let spatial = preprocess::Spatial::Stretch { width: w, height: h };
    std::borrow::Cow::Owned(preprocess::transform_frame(frame, head.width, head.height, spatial, filter, true))
}

/// Checks every expectation against the clip: the fraction of the measurable checks that pass,
/// and each verdict in words. A check that cannot be measured counts neither way; when none can
/// be, the probe does not apply to this video.
fn check_probes(ctx: &probes::Context<'_>, expectations: &[Expectation]) -> Outcome {
    let verdicts: Vec<probes::Verdict> = expectations.iter().map(|e| probes::check(e, ctx)).collect();
    let measured = verdicts.iter().filter(|v| v.measurable()).count();
    let passed = verdicts.iter().filter(|v| v.pass).count();
    let detail = verdicts.iter().map(probes::Verdict::detail).collect::<Vec<_>>().join(" | ");
    if measured == 0 {
        return Err(Failure::NotApplicable(detail));
    }
    Ok(Value { value: passed as f64 / measured as f64, detail: Some(detail) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container's claimed frame count and size (10^8 frames of 4096×4096 with a 4096:1
    /// pixel aspect) saturate the memory estimates instead of overflowing (a panic in `run`);
    /// the budget still lets one such video run alone.
    #[test]
    fn memory_estimates_saturate() {
        assert_eq!(estimated_bytes(u32::MAX, u32::MAX, Some(u64::MAX), true), u64::MAX);
        let budget = MemoryBudget::new(1 << 30);
        let one = budget.reserve(u64::MAX);
        drop(one);
        let _two = budget.reserve(1 << 20);
    }

    use std::sync::atomic::{AtomicU64, Ordering};

    /// [`check_probes`] on a context of its own.
    fn judge(video: &Video, expectations: &[Expectation], held: Option<&Held>) -> Outcome {
        check_probes(&probes::Context::with_held(video, held), expectations)
    }

    #[test]
    fn probes_see_an_anamorphic_clip_as_a_player_shows_it() {
        // 64×72 coded, pixels shown twice as wide: a player shows 128×72, 16:9. A dark stripe at
        // coded x 16..20 sits at shown x 32..40.
        let mut frame = vec![128u8; 64 * 72 * 3];
        for y in 0..72 {
            frame[(y * 64 + 16) * 3..(y * 64 + 20) * 3].fill(30);
        }
        let coded = Video::new(64, 72, 8.0, frame.repeat(3)).unwrap();
        let shown = |pixel_aspect: f64| {
            let head =
                crate::video::StreamHead { width: 64, height: 72, fps: 8.0, pixel_aspect, declared_frames: None };
            let (w, h) = probe_size(64, 72, pixel_aspect);
            let data: Vec<u8> =
                (0..coded.len()).flat_map(|t| probe_frame(coded.frame(t), &head).into_owned()).collect();
            Video::new(w, h, 8.0, data).unwrap()
        };
        let player = shown(2.0);
        assert_eq!((player.width(), player.height(), player.len()), (128, 72, 3));
        let px = |x: usize| player.frame(1)[(36 * 128 + x) * 3];
        assert!(px(36) < 40 && px(28) > 120 && px(44) > 120, "{} {} {}", px(28), px(36), px(44));
        let head =
            crate::video::StreamHead { width: 64, height: 72, fps: 8.0, pixel_aspect: 1.0, declared_frames: None };
        assert!(
            matches!(probe_frame(coded.frame(0), &head), std::borrow::Cow::Borrowed(_)),
            "square pixels: the frame itself"
        );
        let wide = Expectation::Aspect(probes::Aspect { ratio: "16:9".into(), tolerance: 0.02 });
        assert!(judge(&shown(2.0), std::slice::from_ref(&wide), None).is_ok_and(|v| v.value == 1.0));
        assert!(judge(&coded, std::slice::from_ref(&wide), None).is_ok_and(|v| v.value == 0.0));
    }

    #[test]
    fn the_budget_counts_the_probes_copy_of_an_anamorphic_clip() {
        let info = |w: u32, h: u32, dar: f64, rotation: u32| crate::video::VideoInfo {
            path: "v.mp4".into(),
            container: "mov,mp4".into(),
            codec: "h264".into(),
            pix_fmt: "yuv420p".into(),
            width: w,
            height: h,
            fps: 8.0,
            frames: Some(10),
            duration_s: Some(1.25),
            sar: [1, 1],
            dar,
            rotation,
            mirrored: false,
            color_matrix: "unknown".into(),
            color_range: "tv".into(),
            color_transfer: "unknown".into(),
            color_primaries: "unknown".into(),
        };
        let probe = [Need::Probes(&[], Ok(None))];
        let metric = [Need::Metric(&videval_metrics::aspect_ratio::AspectRatio)];
        // 64×72 shown at 16:9: pixels twice as wide, a 128×72 copy of 10 frames.
        let wide = info(64, 72, 16.0 / 9.0, 0);
        assert!((wide.pixel_aspect() - 2.0).abs() < 1e-12);
        assert_eq!(probe_bytes(&probe, &wide), 128 * 72 * 3 * 10);
        assert_eq!(probe_bytes(&metric, &wide), 0, "no probe, no copy");
        assert_eq!(probe_bytes(&probe, &info(64, 72, 64.0 / 72.0, 0)), 64 * 72 * 3 * 10, "square pixels");
        // Turned a quarter: 72×64 as stored turns to 64×72, then widens the same way.
        let turned = info(72, 64, 16.0 / 9.0, 90);
        assert!((turned.pixel_aspect() - 2.0).abs() < 1e-12);
        assert_eq!(probe_bytes(&probe, &turned), 128 * 72 * 3 * 10);
        // A 1080p clip is judged at 853×480 (it held every 1920×1080 frame), portrait at 480×853.
        assert_eq!(probe_bytes(&probe, &info(1920, 1080, 16.0 / 9.0, 0)), 853 * 480 * 3 * 10);
        assert_eq!(probe_size(1080, 1920, 1.0), (480, 853));
        assert_eq!(probe_size(640, 480, 4.0 / 3.0), (853, 480), "anamorphic 640×480 is shown 853×480");
        assert_eq!(probe_size(1440, 1080, 4.0 / 3.0), (853, 480), "anamorphic 1440×1080, reduced");
        assert_eq!(probe_size(320, 240, 1.0), (320, 240), "small clips at their own size");
        assert_eq!(info(64, 72, f64::NAN, 0).pixel_aspect(), 1.0);
        // A flag no display format uses is no aspect (100:1 widened 640×480 to 64000×480).
        assert_eq!(info(640, 480, 100.0 * 640.0 / 480.0, 0).pixel_aspect(), 1.0);
        assert!((info(640, 480, 16.0 * 640.0 / 480.0, 0).pixel_aspect() - 16.0).abs() < 1e-9);
    }

    #[test]
    fn the_budget_runs_videos_side_by_side_only_while_they_fit() {
        let budget = MemoryBudget::new(100);
        let (held, peak) = (AtomicU64::new(0), AtomicU64::new(0));
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    let _r = budget.reserve(40);
                    let now = held.fetch_add(40, Ordering::SeqCst) + 40;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    held.fetch_sub(40, Ordering::SeqCst);
                });
            }
        });
        // Two of 40 fit in 100, three do not.
        assert!(peak.load(Ordering::SeqCst) <= 80, "{}", peak.load(Ordering::SeqCst));
        // A video larger than the whole budget still runs, alone.
        drop(budget.reserve(500));
    }

    #[test]
    fn memory_sizes_parse_and_bad_ones_are_named() {
        use crate::run::parse_bytes;
        assert_eq!(parse_bytes("600MiB"), Ok(600 << 20));
        assert_eq!(parse_bytes("8GiB"), Ok(8 << 30));
        assert_eq!(parse_bytes("1.5 GB"), Ok(1_500_000_000));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("8 parsecs").unwrap_err().contains("parsecs"));
        assert!(parse_bytes("0GiB").is_err());
        assert!(parse_bytes("lots").is_err());
    }

    /// A job's memory limit is read where Slurm and Kubernetes set it: the smallest room over the
    /// process's cgroup v2 folder and those above it (a job's limit above its task's), or cgroup
    /// v1's; none where no limit is set ("max", or v1's huge number).
    #[test]
    fn a_control_groups_memory_limit_bounds_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = dir.path().join("v2");
        let task = v2.join("job/task");
        std::fs::create_dir_all(&task).unwrap();
        for (d, max, cur) in [(&task, "max", "100"), (&v2.join("job"), "1000", "300")] {
            std::fs::write(d.join("memory.max"), max).unwrap();
            std::fs::write(d.join("memory.current"), cur).unwrap();
        }
        let v1 = dir.path().join("v1");
        std::fs::create_dir_all(v1.join("pod")).unwrap();
        std::fs::write(v1.join("pod/memory.limit_in_bytes"), "9223372036854771712").unwrap();
        std::fs::write(v1.join("pod/memory.usage_in_bytes"), "5").unwrap();
        assert_eq!(cgroup_available_in("0::/job/task\n", &v2, &v1), Some(700));
        assert_eq!(cgroup_available_in("4:memory:/pod\n0::/\n", &v2, &v1), None, "no limit set");
        std::fs::write(v1.join("pod/memory.limit_in_bytes"), "500").unwrap();
        assert_eq!(cgroup_available_in("4:memory:/pod\n0::/\n", &v2, &v1), Some(495));
    }

    #[test]
    fn worker_counts_are_one_to_the_cap() {
        use crate::run::{MAX_JOBS, parse_jobs};
        assert_eq!(parse_jobs("1"), Ok(1));
        assert_eq!(parse_jobs(&MAX_JOBS.to_string()), Ok(MAX_JOBS));
        // 0 ran one thread without a word; a typo's thousands of threads each held working frames.
        assert!(parse_jobs("0").unwrap_err().contains("expected 1 to"));
        assert!(parse_jobs(&(MAX_JOBS + 1).to_string()).is_err());
        assert!(parse_jobs("-2").unwrap_err().contains("whole number"));
        assert!(parse_jobs("two").is_err());
    }

    /// Flow over frames a few pixels across is not measured (a 1×1 clip read dynamic degree 0,
    /// motion smoothness 1 and warping error 0); at the smallest size it is.
    #[test]
    fn flow_metrics_are_not_measurable_on_tiny_frames() {
        let dir = tempfile::tempdir().unwrap();
        let flows: Vec<&'static dyn Metric> = ["dynamic_degree", "motion_smoothness", "warping_error"]
            .iter()
            .map(|m| videval_metrics::registry::lookup(m).unwrap())
            .collect();
        let needs: Vec<Need> = flows.iter().map(|&m| Need::Metric(m)).collect();
        for (w, h, measured) in [(2u32, 2u32, false), (32, 8, false), (16, 16, false), (17, 17, true)] {
            let data: Vec<u8> =
                (0..6).flat_map(|t| (0..w * h * 3).map(move |i| ((i * 7 + t * 40) % 256) as u8)).collect();
            let path = dir.path().join(format!("{w}x{h}.mkv"));
            crate::video::encode(&Video::new(w, h, 8.0, data).unwrap(), &path, &crate::video::EncodeParams::lossless())
                .unwrap();
            for o in score_video(&path, &needs).unwrap() {
                match o {
                    Err(Failure::NotApplicable(why)) if !measured => {
                        assert!(why.contains("too small for optical flow"), "{why}")
                    }
                    Ok(_) if measured => {}
                    // From 17 px the size rule lets flow run (16 has no grid point 8 px from both
                    // edges, and read "too little texture"): this noise has no trackable point,
                    // which is said as such (it scored a value from no point before).
                    Err(Failure::NotApplicable(why)) if measured => {
                        assert!(why.contains("too little texture") && !why.contains("too small"), "{why}")
                    }
                    other => panic!("{w}x{h}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_clip_too_large_to_hold_leaves_the_probes_unmeasured_and_streams_the_rest() {
        // 16 frames of 32×24, a red square moving right; written losslessly.
        let mut data = Vec::new();
        for t in 0..16 {
            let mut f = vec![128u8; 32 * 24 * 3];
            for y in 8..16 {
                for x in t..t + 8 {
                    f[(y * 32 + x) * 3..][..3].copy_from_slice(&[220, 30, 30]);
                }
            }
            data.extend(f);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mkv");
        crate::video::encode(&Video::new(32, 24, 8.0, data).unwrap(), &path, &crate::video::EncodeParams::lossless())
            .unwrap();
        let moves: Expectation =
            serde_json::from_str(r#"{"probe": "motion", "object": {"color": "red"}, "direction": "right"}"#).unwrap();
        let count = videval_metrics::registry::lookup("frame_count").unwrap();
        let needs = [Need::Metric(count), Need::Probes(std::slice::from_ref(&moves), Ok(None))];
        // Room for 5 frames: the probes are not measurable on this machine, frame_count is measured.
        let out = score_video_within(&path, &needs, 5 * 32 * 24 * 3).unwrap();
        assert_eq!(out[0].as_ref().map(|v| v.value).ok(), Some(16.0), "{out:?}");
        match &out[1] {
            Err(Failure::NotApplicable(why)) => {
                assert!(depends_on_the_machine(why), "{why}");
                assert!(why.contains("the whole clip in memory: 16 frames of 32×24"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // With room for the clip, the probe judges it.
        let out = score_video_within(&path, &needs, u64::MAX).unwrap();
        assert_eq!(out[1].as_ref().map(|v| v.value).ok(), Some(1.0), "{out:?}");
        // `video tracks` holds the clip as the probes do, within the same limit, said the same way.
        let why = shown_clip_within(&path, 5 * 32 * 24 * 3).unwrap_err();
        assert!(why.contains("clip.mkv: ") && why.contains("the whole clip in memory: 16 frames of 32×24"), "{why}");
        let shown = shown_clip_within(&path, u64::MAX).unwrap();
        assert_eq!((shown.len(), shown.width(), shown.height()), (16, 32, 24));
    }

    #[test]
    fn probe_kinds_of_one_clip_share_its_tracks() {
        // Each probe kind is its own need (its own row), with or without the conditioning input;
        // the clip's objects are found once for all of them.
        let mut frames = vec![128u8; 3 * 32 * 32 * 3];
        for t in 0..3 {
            for y in 10..18 {
                for x in (4 + 4 * t)..(12 + 4 * t) {
                    frames[((t * 32 + y) * 32 + x) * 3..][..3].copy_from_slice(&[220, 30, 30]);
                }
            }
        }
        let video = Video::new(32, 32, 8.0, frames).unwrap();
        let held = Held::default();
        let analysis = probes::Analysis::default();
        let a = probes::Context::sharing(&video, None, &analysis);
        let b = probes::Context::sharing(&video, Some(&held), &analysis);
        assert_eq!(a.tracks().len(), 1, "one red square");
        assert!(std::ptr::eq(a.tracks(), b.tracks()), "tracked twice");
        assert!(std::ptr::eq(a.camera(), b.camera()), "camera path found twice");
        let own = probes::Context::new(&video);
        assert!(!std::ptr::eq(a.tracks(), own.tracks()) && a.tracks() == own.tracks());
    }

    #[test]
    fn checks_that_cannot_be_measured_count_neither_way() {
        let frames = vec![90u8; 4 * 16 * 16 * 3];
        let video = Video::new(16, 16, 8.0, frames).unwrap();
        let parse = |json: &str| -> Expectation { serde_json::from_str(json).unwrap() };
        let continuity = parse(r#"{"probe": "continuity", "psnr": {"min": 20}}"#);
        let square = parse(r#"{"probe": "aspect", "ratio": "1:1"}"#);
        // Without the conditioning input, continuity makes the probe not apply, reason kept.
        match judge(&video, std::slice::from_ref(&continuity), None) {
            Err(Failure::NotApplicable(why)) => assert!(why.starts_with("n/a: no conditioning input"), "{why}"),
            other => panic!("{other:?}"),
        }
        // With it, it is measured: the clip keeps a gray head it was given, not a white one.
        let head = |v: u8| Held {
            head: Some(Video::new(16, 16, 8.0, vec![v; 2 * 16 * 16 * 3]).unwrap()),
            tail: None,
            adds: true,
        };
        let kept = judge(&video, std::slice::from_ref(&continuity), Some(&head(90))).unwrap();
        assert_eq!(kept.value, 1.0, "{kept:?}");
        let lost = judge(&video, std::slice::from_ref(&continuity), Some(&head(255))).unwrap();
        assert_eq!(lost.value, 0.0, "{lost:?}");
        // Camera motion on a picture without texture cannot be measured either.
        let camera = parse(r#"{"probe": "camera", "motion": "pan_right"}"#);
        match judge(&video, std::slice::from_ref(&camera), None) {
            Err(Failure::NotApplicable(why)) => assert!(why.contains("too little texture"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Beside a measured check, it neither passes nor fails: 1 of 1 measured passes.
        let v = judge(&video, &[continuity, square], None).unwrap();
        assert_eq!(v.value, 1.0);
        assert!(v.detail.as_deref().unwrap().contains("n/a: no conditioning input"), "{v:?}");
    }

    #[test]
    fn a_flow_detail_lists_every_pair_of_a_short_clip_and_stays_small_for_a_long_one() {
        let pairs = |n: usize| FlowPairs {
            width: 64,
            height: 64,
            fps: 8.0,
            frames: n + 1,
            decoded: n + 1,
            scores: (0..n).map(|i| i as f64).collect(),
        };
        let short = flow_detail(FlowInput::VbenchRaft, &pairs(3));
        assert!(
            short.starts_with("4 frames sampled; per pair (mean of the largest 5%") && short.ends_with("): 0, 1, 2")
        );
        let long = flow_detail(FlowInput::VbenchRaft, &pairs(100_000));
        assert!(long.contains(", 31, … (99936 more) …, 99968, ") && long.ends_with(", 99999"), "{long}");
        assert!(long.len() < 1000, "{}", long.len());
    }

    #[test]
    fn streaming_needs_less_than_a_whole_clip() {
        let stream = estimated_bytes(1920, 1080, Some(240), false);
        let whole = estimated_bytes(1920, 1080, Some(240), true);
        assert!(stream < 600 << 20, "{stream}");
        assert!(whole > 240 * 1920 * 1080 * 3);
    }

    /// The warping error's RAFT runs on halved frames and is priced so (a 16th of the full-size
    /// correlation, or its encoders' working set); a refusal for lack of memory is marked as the
    /// machine's, so it is not cached.
    #[test]
    fn the_warping_error_is_priced_on_halved_frames_and_memory_refusals_are_the_machines() {
        use videval_models::encoders::raft::Raft;
        let warp = [Need::Metric(&videval_metrics::raft_warping_error::RaftWarpingError)];
        let flow = [Need::Metric(&videval_metrics::raft_flow_score::RaftFlowScore)];
        assert_eq!(network_bytes(&warp, 1920, 1080), Raft::peak_bytes(540, 960));
        assert!(network_bytes(&flow, 1920, 1080) > 5 * network_bytes(&warp, 1920, 1080));
        let both = [
            Need::Metric(&videval_metrics::raft_warping_error::RaftWarpingError),
            Need::Metric(&videval_metrics::raft_flow_score::RaftFlowScore),
        ];
        assert_eq!(network_bytes(&both, 1920, 1080), network_bytes(&flow, 1920, 1080));
        let refusal = fits_in_memory(u64::MAX, "RAFT's", 7680, 4320).unwrap_err();
        assert!(depends_on_the_machine(&refusal), "{refusal}");
        assert!(!depends_on_the_machine("needs RAFT-things weights: give --weights DIR"));
    }
}
