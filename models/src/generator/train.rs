//! Training on the procedural world: the VAE first (reconstruction + a small KL), then per-channel
//! latent statistics, then the text encoder and transformer together with rectified flow, frame
//! masks and caption dropout. AdamW, gradient clipping and EMA are written here (candle has
//! none). Data are rendered on the fly from seeded random scenes in aspect-ratio and length
//! buckets, so a run is reproducible from its config.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dit::{Dit, DitInput, IMAGE_FPS, PATCH, masked_mse};
use super::flow;
use super::nn::{Params, randn};
use super::resume::{RngState, STATE_FORMAT, SavedRow, StateMeta, TrainState};
use super::vae::{SPACE, TIME, latent_frames};
use super::{Architecture, CurvePoint, GenError, Model, Result, video_tensor};
use crate::training::{AdamW, build_vocab, cosine, paraphrase};
use crate::world::caption::describe;
use crate::world::render::{Settings, render};
use crate::world::sample::{Family, sample};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub name: String,
    /// Seeds the initial weights, the data stream and the noise.
    pub seed: u64,
    pub architecture: Architecture,
    pub vae: VaeStage,
    pub dit: DitStage,
    /// Frame sizes [width, height] (multiples of 8) drawn uniformly per batch.
    #[serde(default = "default_buckets")]
    pub buckets: Vec<[usize; 2]>,
    /// Clip lengths (1 + 4k frames; 1 = image) and their weights.
    #[serde(default = "default_lengths")]
    pub lengths: Vec<(usize, f64)>,
    /// Clips in the fixed validation set.
    #[serde(default = "default_validation")]
    pub validation: usize,
    /// Frame size [width, height] of the validation clips: the ladder's native size (a 64×64
    /// ladder is judged on 64×64 clips). Losses compare only within one size.
    #[serde(default = "default_validation_size")]
    pub validation_size: [usize; 2],
    /// Take the text encoder from a world-encoder checkpoint (its text tower, trained
    /// contrastively on the same captions) instead of training one with the transformer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextStage {
    /// The world-encoder folder (`config.json`, `model.safetensors`); its text tower must have
    /// this config's `architecture.text` and the same vocabulary.
    pub from: String,
    /// Keep it fixed while the transformer trains (Imagen's frozen text encoder); otherwise it
    /// is only the starting point.
    #[serde(default = "default_freeze")]
    pub freeze: bool,
}

/// Longest name [`is_folder_name`] takes, in bytes: file systems refuse names past 255, and the
/// folder's files add to it (a sweep's 300-byte checkpoint name failed after the other
/// checkpoints had run).
pub const MAX_FOLDER_NAME: usize = 128;

/// A name that becomes one folder: not empty, not `.` or `..`, no separator or control
/// character, at most [`MAX_FOLDER_NAME`] bytes.
pub fn is_folder_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FOLDER_NAME
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

impl TrainConfig {
    /// Every field in its range, named when it is not: sizes that would divide by zero, panic
    /// in a layer or allocate beyond any machine, rates that are not finite. Checked before
    /// anything is built or trained.
    pub fn check(&self) -> std::result::Result<(), String> {
        let (a, v, d) = (&self.architecture, &self.vae, &self.dit);
        use super::within;
        let positive = |field: &str, x: f64| {
            if x.is_finite() && x > 0.0 { Ok(()) } else { Err(format!("{field}: {x} is not a positive finite number")) }
        };
        let unit = |field: &str, x: f64, top_open: bool| {
            let ok = x.is_finite() && x >= 0.0 && (x < 1.0 || (!top_open && x == 1.0));
            if ok { Ok(()) } else { Err(format!("{field}: {x} is not in [0, 1{}", if top_open { ")" } else { "]" })) }
        };
        if !is_folder_name(&self.name) {
            return Err(format!(
                "name {:?}: it names the checkpoint's folder; no '/', '..' or empty, at most {MAX_FOLDER_NAME} bytes",
                self.name
            ));
        }
        a.check()?;
        within("vae.batch", v.batch, 1, 4096)?;
        positive("vae.lr", v.lr)?;
        if !(v.kl.is_finite() && v.kl >= 0.0) {
            return Err(format!("vae.kl: {} is not a non-negative finite number", v.kl));
        }
        // A checkpoint trained on nothing is random weights under a trained name.
        if d.samples == 0 {
            return Err("dit.samples: 0 trains nothing (the checkpoint would be its random initialisation)".into());
        }
        if v.samples == 0 && v.from.is_none() {
            return Err(
                "vae.samples: 0 trains no VAE; give samples, or vae.from a checkpoint whose VAE to reuse".into()
            );
        }
        within("dit.batch", d.batch, 1, 4096)?;
        positive("dit.lr", d.lr)?;
        positive("dit.clip", d.clip)?;
        unit("dit.ema", d.ema, true)?;
        unit("dit.caption_dropout", d.caption_dropout, false)?;
        if !(d.saliency.is_finite() && d.saliency >= 0.0) {
            return Err(format!("dit.saliency: {} is not a non-negative finite number", d.saliency));
        }
        if d.pool == Some(0) {
            return Err("dit.pool: expected at least 1 clip".into());
        }
        if self.buckets.is_empty() || self.lengths.is_empty() {
            return Err("buckets and lengths must not be empty".into());
        }
        let sizes = self.buckets.iter().map(|b| ("buckets", b)).chain([("validation_size", &self.validation_size)]);
        for (field, b) in sizes {
            if b.iter().any(|&x| x == 0 || x % 8 != 0 || x > 1024) {
                return Err(format!("{field}: {}×{} is not a multiple of 8 in 8..=1024", b[0], b[1]));
            }
        }
        let lengths =
            self.lengths.iter().map(|l| ("lengths", l)).chain(v.lengths.iter().flatten().map(|l| ("vae.lengths", l)));
        for (field, &(n, w)) in lengths {
            if n == 0 || (n - 1) % 4 != 0 || n > 257 {
                return Err(format!("{field}: {n} frames is not 1 + 4k up to 257"));
            }
            if !(w.is_finite() && w > 0.0) {
                return Err(format!("{field}: the weight {w} of {n} frames is not a positive finite number"));
            }
        }
        within("validation", self.validation, 1, 100_000)?;
        // Each field within its range still multiplies into models no machine trains: dim 4096,
        // depth 64 and mlp_ratio 16 are 43 billion transformer parameters (860 GB of weights,
        // gradients, Adam moments and EMA in f32), found only when an allocation aborted.
        let dit = self.dit_parameters();
        if dit > MAX_DIT_PARAMETERS {
            return Err(format!(
                "architecture.dit: dim {}, depth {} and mlp_ratio {} make about {:.1} billion transformer parameters; at most {:.1} billion ({} GB of training state in f32)",
                a.dit.dim,
                a.dit.depth,
                a.dit.mlp_ratio,
                dit as f64 / 1e9,
                MAX_DIT_PARAMETERS as f64 / 1e9,
                MAX_DIT_PARAMETERS * TRAINING_BYTES_PER_PARAMETER / 1_000_000_000
            ));
        }
        Ok(())
    }

    /// The transformer's parameters, its blocks' linear layers counted (self-attention 4d²,
    /// cross-attention 4d², the MLP 2·ratio·d²), within a few percent above a few layers.
    pub fn dit_parameters(&self) -> u64 {
        let d = self.architecture.dit;
        let (dim, depth, ratio) = (d.dim as u64, d.depth as u64, d.mlp_ratio as u64);
        depth * (8 + 2 * ratio) * dim * dim
    }

    /// The least memory a transformer training step at the largest bucket and length holds at
    /// its peak in attention scores alone: 5 score-sized tensors (`batch × heads × tokens²` in
    /// f32) a block kept for the backward pass and 7 more while it runs. Measured on CPU at 128²,
    /// 17 frames, batch 8, heads 2: 7.4 + 5.6 a block (depth 1: 1.56 GB peak, depth 3: 2.74 GB);
    /// batch 16, depth 2: 5.2 GB for this bound's 3.6. Activations linear in the tokens are left
    /// out, so it stays below the step's real peak.
    pub fn attention_bytes(&self) -> u64 {
        let frames = self.lengths.iter().map(|l| l.0).max().unwrap_or(1);
        let cells = self.buckets.iter().map(|b| (b[0] / SPACE / PATCH) * (b[1] / SPACE / PATCH)).max().unwrap_or(1);
        let tokens = (latent_frames(frames) * cells) as u64;
        let d = &self.architecture.dit;
        let per_block =
            (self.dit.batch as u64).saturating_mul(d.heads as u64).saturating_mul(tokens.saturating_mul(tokens));
        per_block.saturating_mul(4).saturating_mul(5 * d.depth as u64 + 7)
    }

    /// The most memory `dit.pool` holds: every clip's latents (and saturation) at the largest
    /// grid the buckets and lengths allow, in f32. None without a pool.
    pub fn pool_bytes(&self) -> Option<u64> {
        let pool = self.dit.pool?;
        let frames = self.lengths.iter().map(|l| l.0).max().unwrap_or(1);
        let cells = self.buckets.iter().map(|b| (b[0] / SPACE) * (b[1] / SPACE)).max().unwrap_or(1) as u64;
        let per_clip = 4 * (self.architecture.vae.latent as u64 + 1) * latent_frames(frames) as u64 * cells;
        Some(pool.saturating_mul(per_clip))
    }
}

/// `loss.csv`'s header (a checkpoint's loss log; the world encoder's has the same columns).
pub const LOSS_CSV_HEADER: &str = "stage,step,samples,loss,grad_norm,lr,seconds";

/// The largest transformer `check` admits: 1.5 billion parameters.
pub const MAX_DIT_PARAMETERS: u64 = 1_500_000_000;
/// Bytes of training state per parameter: weights, gradients, two Adam moments and the EMA.
pub const TRAINING_BYTES_PER_PARAMETER: u64 = 20;

fn default_freeze() -> bool {
    true
}

fn default_buckets() -> Vec<[usize; 2]> {
    vec![[32, 32], [40, 24], [24, 40]]
}
fn default_lengths() -> Vec<(usize, f64)> {
    vec![(17, 0.7), (9, 0.15), (1, 0.15)]
}
fn default_validation() -> usize {
    64
}
fn default_validation_size() -> [usize; 2] {
    [32, 32]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaeStage {
    /// Take the VAE (and latent statistics) from this checkpoint instead of training one.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub samples: u64,
    #[serde(default = "default_vae_batch")]
    pub batch: usize,
    #[serde(default = "default_vae_lr")]
    pub lr: f64,
    #[serde(default = "default_kl")]
    pub kl: f64,
    /// Clip lengths for this stage (default: the config's `lengths`). Shorter clips cost less
    /// per sample and teach the same per-frame spatial code.
    #[serde(default)]
    pub lengths: Option<Vec<(usize, f64)>>,
}

fn default_vae_batch() -> usize {
    8
}
fn default_vae_lr() -> f64 {
    2e-4
}
fn default_kl() -> f64 {
    1e-4
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DitStage {
    pub samples: u64,
    #[serde(default = "default_batch")]
    pub batch: usize,
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default = "default_warmup")]
    pub warmup: u64,
    #[serde(default = "default_ema")]
    pub ema: f64,
    #[serde(default = "default_clip")]
    pub clip: f64,
    #[serde(default = "default_dropout")]
    pub caption_dropout: f64,
    /// Train on this many distinct clips, rendered and encoded once before the first step,
    /// instead of a fresh clip per sample. The VAE is fixed in this stage, so a clip's latents
    /// never change, and encoding costs tiny-s twice its transformer's forward and backward pass.
    /// Each draw from the pool still takes fresh noise, level, frame mask, caption paraphrase
    /// and dropout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<u64>,
    /// Weight of coloured content in the flow loss: each latent cell's error counts
    /// `1 + saliency × s`, s the mean RGB saturation (max − min, 0–2) of the pixels it encodes
    /// (`latent_saturation`). The VAE's reconstruction loss needed the same: objects cover 1–3%
    /// of the pixels, and a plain MSE is spent on the checkerboards. 0 (the default): plain MSE.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub saliency: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_batch() -> usize {
    32
}
fn default_lr() -> f64 {
    4e-4
}
fn default_warmup() -> u64 {
    30
}
fn default_ema() -> f64 {
    0.99
}
fn default_clip() -> f64 {
    1.0
}
fn default_dropout() -> f64 {
    0.1
}

/// One line of the training log.
#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    pub stage: &'static str,
    pub step: u64,
    pub samples: u64,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub seconds: f64,
}

/// A batch of world clips [n, 3, frames, h, w] and their captions. Scenes and captions are drawn
/// in order from `rng`; the clips are rendered in parallel (rendering draws nothing), so the data
/// stream does not depend on the thread count.
fn world_batch(
    rng: &mut ChaCha8Rng,
    n: usize,
    frames: usize,
    size: [usize; 2],
    device: &Device,
) -> Result<(Tensor, Vec<String>)> {
    world_clips(rng, n, frames, size, device, true)
}

/// [`world_batch`], with the captions paraphrased or as the world writes them.
fn world_clips(
    rng: &mut ChaCha8Rng,
    n: usize,
    frames: usize,
    size: [usize; 2],
    device: &Device,
    paraphrased: bool,
) -> Result<(Tensor, Vec<String>)> {
    let mut jobs = Vec::with_capacity(n);
    let mut captions = Vec::with_capacity(n);
    for _ in 0..n {
        let family = Family::ALL[rng.random_range(0..Family::ALL.len())];
        let (scene, base) = sample(family, rng.random());
        let settings = Settings { width: size[0] as u32, height: size[1] as u32, fps: base.fps, frames: frames as u32 };
        let (long, short) = describe(&scene, &settings);
        let caption = if rng.random_bool(0.7) { short } else { long };
        captions.push(if paraphrased { paraphrase(&caption, rng) } else { caption });
        jobs.push((scene, settings));
    }
    let clips = jobs
        .par_iter()
        .map(|(scene, settings)| video_tensor(&render(scene, settings, false).0, &Device::Cpu))
        .collect::<candle_core::Result<Vec<_>>>()?;
    Ok((Tensor::cat(&clips, 0)?.to_device(device)?, captions))
}

/// Training clips encoded once (`dit.pool`): normalised latents and unparaphrased captions,
/// grouped by (frames, [width, height]) since a batch shares one grid.
struct LatentPool {
    groups: Vec<PoolGroup>,
    clips: usize,
}

/// The pool's clips of one grid: latents [n, C, T', h, w], per-cell saturation [n, 1, T', h, w]
/// (`latent_saturation`; kept only when the loss is saliency-weighted) and captions.
struct PoolGroup {
    grid: (usize, [usize; 2]),
    latents: Tensor,
    saturation: Option<Tensor>,
    captions: Vec<String>,
}

/// A training batch: grid, latents, per-cell saturation (when kept), captions.
type Batch = (usize, [usize; 2], Tensor, Option<Tensor>, Vec<String>);

impl LatentPool {
    /// `n` clips whose lengths and sizes are drawn as the stream draws them; `report` sees one
    /// row per encoded chunk (stage "pool").
    fn build(
        model: &Model,
        cfg: &TrainConfig,
        n: usize,
        rng: &mut ChaCha8Rng,
        device: &Device,
        report: &mut dyn FnMut(&LogRow, u64),
    ) -> Result<Self> {
        let mut counts: BTreeMap<(usize, [usize; 2]), usize> = BTreeMap::new();
        for _ in 0..n {
            let frames = pick_length(rng, &cfg.lengths);
            let size = *cfg.buckets.choose(rng).unwrap_or(&[32, 32]);
            *counts.entry((frames, size)).or_default() += 1;
        }
        const CHUNK: usize = 64;
        let chunks: usize = counts.values().map(|c| c.div_ceil(CHUNK)).sum();
        let started = Instant::now();
        let (mut groups, mut done) = (Vec::new(), 0u64);
        for (&(frames, size), &count) in &counts {
            let (mut latents, mut saturation, mut captions) = (Vec::new(), Vec::new(), Vec::new());
            for start in (0..count).step_by(CHUNK) {
                let (x, c) = world_clips(rng, CHUNK.min(count - start), frames, size, device, false)?;
                latents.push(model.encode(&x)?.detach());
                if cfg.dit.saliency > 0.0 {
                    saturation.push(latent_saturation(&x)?);
                }
                captions.extend(c);
                done += 1;
                let row = LogRow {
                    stage: "pool",
                    step: done,
                    samples: captions.len() as u64,
                    loss: 0.0,
                    grad_norm: 0.0,
                    lr: 0.0,
                    seconds: started.elapsed().as_secs_f64(),
                };
                report(&row, chunks as u64);
            }
            groups.push(PoolGroup {
                grid: (frames, size),
                latents: Tensor::cat(&latents, 0)?,
                saturation: if saturation.is_empty() { None } else { Some(Tensor::cat(&saturation, 0)?) },
                captions,
            });
        }
        Ok(Self { groups, clips: n })
    }

    /// A batch of `n` pool clips (drawn with replacement) from one group, the group picked with
    /// probability proportional to its size, so lengths and sizes keep the configured weights.
    fn batch(&self, rng: &mut ChaCha8Rng, n: usize) -> Result<Batch> {
        let mut r = rng.random_range(0..self.clips);
        let mut group = &self.groups[0];
        for g in &self.groups {
            group = g;
            if r < g.captions.len() {
                break;
            }
            r -= g.captions.len();
        }
        let idx: Vec<u32> = (0..n).map(|_| rng.random_range(0..group.captions.len()) as u32).collect();
        let idx_t = Tensor::new(idx.as_slice(), group.latents.device())?;
        let x0 = group.latents.index_select(&idx_t, 0)?;
        let saturation = group.saturation.as_ref().map(|s| s.index_select(&idx_t, 0)).transpose()?;
        let captions = idx.iter().map(|&i| paraphrase(&group.captions[i as usize], rng)).collect();
        Ok((group.grid.0, group.grid.1, x0, saturation, captions))
    }
}

/// Exponential moving average of a set of variables.
struct Ema {
    decay: f64,
    shadow: BTreeMap<String, Tensor>,
}

impl Ema {
    fn new(params: &Params, prefixes: &[&str], decay: f64) -> Result<Self> {
        let shadow = params
            .vars()
            .iter()
            .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self { decay, shadow })
    }

    fn update(&mut self, params: &Params) -> Result<()> {
        for (k, s) in &mut self.shadow {
            let v = &params.vars()[k];
            *s = ((&*s * self.decay)? + (v.as_tensor() * (1.0 - self.decay))?)?.detach();
        }
        Ok(())
    }

    /// Puts the averaged weights into the variables; returns the previous values.
    fn swap_in(&self, params: &Params) -> Result<BTreeMap<String, Tensor>> {
        let mut old = BTreeMap::new();
        for (k, s) in &self.shadow {
            let v = &params.vars()[k];
            old.insert(k.clone(), v.as_tensor().copy()?);
            v.set(s)?;
        }
        Ok(old)
    }
}

fn restore(params: &Params, values: &BTreeMap<String, Tensor>) -> Result<()> {
    for (k, t) in values {
        params.vars()[k].set(t)?;
    }
    Ok(())
}

/// Copies of the variables whose names start with `prefix`.
fn snapshot(params: &Params, prefix: &str) -> Result<BTreeMap<String, Tensor>> {
    Ok(params
        .vars()
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect::<candle_core::Result<_>>()?)
}

/// Copies a world encoder's text tower into the `text.` parameters.
fn load_text_tower(params: &Params, model: &Model, from: &str, arch: &Architecture, device: &Device) -> Result<()> {
    let bad = |m: String| GenError::Request(format!("text.from {from}: {m}"));
    let dir = std::path::Path::new(from);
    let path = dir.join("config.json");
    let text = crate::files::read_text(&path, crate::files::CONFIG_BYTES)
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let file: crate::encoders::world::EncoderFile =
        serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    if file.architecture.text != arch.text {
        return Err(bad(format!(
            "its text tower is {:?}, this config's architecture.text is {:?}: they must match",
            file.architecture.text, arch.text
        )));
    }
    if file.vocab != model.config.vocab {
        return Err(bad("its vocabulary differs from the generator's".into()));
    }
    copy_prefix(params, &dir.join("model.safetensors"), "text.", device).map_err(bad)
}

/// Sets every parameter under `prefix` from the tensor of the same name in a safetensors file.
fn copy_prefix(
    params: &Params,
    file: &std::path::Path,
    prefix: &str,
    device: &Device,
) -> std::result::Result<(), String> {
    let tensors = candle_core::safetensors::load(file, device).map_err(|e| format!("{}: {e}", file.display()))?;
    for (k, v) in params.vars().iter().filter(|(k, _)| k.starts_with(prefix)) {
        let t = tensors.get(k).ok_or_else(|| format!("{} has no {k}", file.display()))?;
        t.to_dtype(DType::F32).and_then(|t| v.set(&t)).map_err(|e| format!("{}: {k}: {e}", file.display()))?;
    }
    Ok(())
}

fn vars_with(params: &Params, prefixes: &[&str]) -> Vec<Var> {
    params.vars().iter().filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p))).map(|(_, v)| v.clone()).collect()
}

fn pick_length(rng: &mut ChaCha8Rng, lengths: &[(usize, f64)]) -> usize {
    let total: f64 = lengths.iter().map(|l| l.1).sum();
    let mut r = rng.random::<f64>() * total;
    for &(n, w) in lengths {
        if r < w {
            return n;
        }
        r -= w;
    }
    lengths.last().map_or(17, |l| l.0)
}

/// A trained model and the weights to save (EMA for the transformer and text encoder).
pub struct Trained {
    pub model: Model,
    pub weights: BTreeMap<String, Tensor>,
    pub log: Vec<LogRow>,
}

impl Trained {
    /// Writes the checkpoint (weights + config.json) and its loss log `loss.csv` into `dir`.
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        self.model.save(dir, &self.weights)?;
        let mut csv = format!("{LOSS_CSV_HEADER}\n");
        for r in &self.log {
            csv.push_str(&format!(
                "{},{},{},{:.6},{:.6},{:.3e},{:.2}\n",
                r.stage, r.step, r.samples, r.loss, r.grad_norm, r.lr, r.seconds
            ));
        }
        let (tmp, path) = (dir.join(".loss.csv.tmp"), dir.join("loss.csv"));
        std::fs::write(&tmp, csv)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|source| GenError::Io { path, source })
    }
}

/// Per-pixel reconstruction weight [B, 1, T, H, W]: `1 + SATURATION_WEIGHT · (max − min of RGB)`.
/// The world's objects are saturated colours on gray, white, black or textured backgrounds and
/// cover 1–3% of the pixels; with a plain MSE the VAE learned the checkerboards and dropped the
/// objects (a red ball vanished from every reconstruction), so coloured pixels weigh more.
pub fn saliency(x: &Tensor) -> candle_core::Result<Tensor> {
    (saturation(x)? * SATURATION_WEIGHT)? + 1.0
}

/// Per-pixel RGB saturation [B, 1, T, H, W] of a clip [B, 3, T, H, W] in [−1, 1]: max − min of
/// the channels, 0–2.
fn saturation(x: &Tensor) -> candle_core::Result<Tensor> {
    x.max_keepdim(1)? - x.min_keepdim(1)?
}

const SATURATION_WEIGHT: f64 = 10.0;

/// Mean RGB saturation (max − min of the channels in [−1, 1], so 0–2) of the pixels each latent
/// cell encodes, [B, 1, T', H/4, W/4] for a clip [B, 3, T, H, W]: 4×4 pixels, and frame 0 alone,
/// then groups of 4 frames (the causal VAE's grid).
pub fn latent_saturation(x: &Tensor) -> candle_core::Result<Tensor> {
    let sat = saturation(x)?;
    let (b, _, t, h, w) = sat.dims5()?;
    let (lh, lw) = (h / SPACE, w / SPACE);
    let cells = sat.reshape((b, t, lh, SPACE, lw, SPACE))?.mean(5)?.mean(3)?; // [B, T, h, w]
    let mut parts = vec![cells.narrow(1, 0, 1)?];
    if t > 1 {
        parts.push(cells.narrow(1, 1, t - 1)?.reshape((b, (t - 1) / TIME, TIME, lh, lw))?.mean(2)?);
    }
    Tensor::cat(&parts, 1)?.unsqueeze(1)
}

/// One VAE training step's loss: reconstruction MSE + `kl` × KL to N(0, 1).
pub fn vae_loss(model: &Model, x: &Tensor, rng: &mut ChaCha8Rng, kl: f64) -> Result<(Tensor, Tensor)> {
    let (mean, logvar) = model.vae.encode(x)?;
    let eps = randn(rng, mean.dims(), x.device())?;
    let z = (&mean + ((&logvar * 0.5)?.exp()? * eps)?)?;
    let recon = model.vae.decode(&z)?;
    let mse = (recon - x)?.sqr()?.broadcast_mul(&saliency(x)?)?.mean_all()?;
    let kl_term = ((mean.sqr()? + logvar.exp()? - &logvar)? - 1.0)?.mean_all()?;
    Ok(((&mse + (kl_term * (0.5 * kl))?)?, mse))
}

/// One rectified-flow training loss on clean normalised latents `x0` with `captions`; with
/// `frozen_text` the text features are detached, so no gradient is computed for the encoder.
pub fn flow_loss(
    model: &Model,
    x0: &Tensor,
    captions: &[String],
    fps: f64,
    rng: &mut ChaCha8Rng,
    dropout: f64,
    frozen_text: bool,
    weight: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, _, t, h, w) = x0.dims5()?;
    let device = x0.device();
    let ratio = flow::shift_ratio(Dit::tokens(t, h, w));
    let levels: Vec<f32> = (0..b).map(|_| flow::sample_level(rng, ratio) as f32).collect();
    let s = Tensor::from_vec(levels, b, device)?;
    let eps = randn(rng, x0.dims(), device)?;
    let mut mask = Vec::with_capacity(b * t);
    for _ in 0..b {
        mask.extend(flow::training_condition(rng, t).into_iter().map(|given| if given { 0f32 } else { 1.0 }));
    }
    let generated = Tensor::from_vec(mask, (b, t), device)?;
    let hold = generated.reshape((b, 1, t, 1, 1))?;
    let xs = flow::noised(x0, &eps, &s)?;
    let xs = (xs.broadcast_mul(&hold)? + x0.broadcast_mul(&(1.0 - &hold)?)?)?;
    let refs: Vec<&str> = captions.iter().map(String::as_str).collect();
    let (text, text_mask) = model.text_features(&refs)?;
    // A frozen text encoder gets no update, so no backward pass runs through it either.
    let text = if frozen_text { text.detach() } else { text };
    let (null, null_mask) = model.null_features(b)?;
    let drop: Vec<f32> = (0..b).map(|_| if rng.random_bool(dropout) { 1.0 } else { 0.0 }).collect();
    let drop = Tensor::from_vec(drop, (b, 1), device)?;
    let text = (text.broadcast_mul(&(1.0 - &drop)?.unsqueeze(2)?)? + null.broadcast_mul(&drop.unsqueeze(2)?)?)?;
    let text_mask = (text_mask.broadcast_mul(&(1.0 - &drop)?)? + null_mask.broadcast_mul(&drop)?)?;
    let fps_t = Tensor::full(if t == 1 { IMAGE_FPS as f32 } else { fps as f32 }, b, device)?;
    let pred = model.dit.forward(&DitInput {
        x: &xs,
        s: &s,
        fps: &fps_t,
        text: &text,
        text_mask: &text_mask,
        frame_mask: Some(&generated),
    })?;
    Ok(masked_mse(&pred, &(eps - x0)?, weight, &generated)?)
}

/// Trains per `cfg`; `report` sees every log row as it happens.
pub fn train(
    cfg: &TrainConfig,
    git_sha: &str,
    device: &Device,
    report: &mut dyn FnMut(&LogRow, u64),
) -> Result<Trained> {
    let mut saving = Saving { resume: None, due: &mut || false, save: &mut |_| Ok(()) };
    train_saving(cfg, git_sha, device, report, &mut saving)
}

/// Where a training keeps its state as it goes, and the state it goes on from.
pub struct Saving<'a> {
    /// A state saved by a training of this config that was stopped (`None`: from the start).
    pub resume: Option<TrainState>,
    /// Asked after every step: whether to save the state now (a clock, say).
    pub due: &'a mut dyn FnMut() -> bool,
    /// Keeps a state ([`TrainState::save`] into a folder, say).
    pub save: &'a mut dyn FnMut(&mut TrainState) -> Result<()>,
}

/// A state's numbers with nothing trained yet beyond `stage` and `step`; the caller fills in
/// the rest.
fn state_meta(cfg: &TrainConfig, git_sha: &str, stage: &str, step: u64, rng: &ChaCha8Rng, model: &Model) -> StateMeta {
    StateMeta {
        format: STATE_FORMAT,
        config: cfg.clone(),
        git_sha: git_sha.into(),
        stage: stage.into(),
        step,
        rng: RngState::of(rng),
        dit_rng: None,
        lr_scale: 1.0,
        best_mse: None,
        adam_steps: 0,
        flops: 0.0,
        curve: Vec::new(),
        log: Vec::new(),
        seconds: 0.0,
        model: model.config.clone(),
        tensors: String::new(),
        tensors_sha256: String::new(),
        threads: rayon::current_num_threads(),
    }
}

/// The tensors of a state: every variable, the optimiser's moments, and the EMA's averages and
/// the VAE's best weights where there are any.
fn state_tensors(
    params: &Params,
    opt: Option<&AdamW>,
    ema: Option<&Ema>,
    best: Option<&BTreeMap<String, Tensor>>,
) -> HashMap<String, Tensor> {
    let mut out: HashMap<String, Tensor> =
        params.vars().iter().map(|(k, v)| (format!("param/{k}"), v.as_tensor().clone())).collect();
    if let Some(opt) = opt {
        let (_, m, v) = opt.state();
        out.extend(m.into_iter().enumerate().map(|(i, t)| (format!("adam.m/{i}"), t)));
        out.extend(v.into_iter().enumerate().map(|(i, t)| (format!("adam.v/{i}"), t)));
    }
    for (prefix, map) in [("ema", ema.map(|e| &e.shadow)), ("best", best)] {
        out.extend(map.into_iter().flatten().map(|(k, t)| (format!("{prefix}/{k}"), t.clone())));
    }
    out
}

/// The saved tensors named `prefix/<name>`, by name.
fn saved_prefix(st: &TrainState, prefix: &str) -> BTreeMap<String, Tensor> {
    st.tensors.iter().filter_map(|(k, t)| Some((k.strip_prefix(prefix)?.to_string(), t.clone()))).collect()
}

/// Puts a saved optimiser's moments back.
fn restore_opt(opt: &mut AdamW, st: &TrainState) -> Result<()> {
    let n = opt.state().1.len();
    let moments = |which: &str| (0..n).map(|i| st.tensor(&format!("{which}/{i}")).cloned()).collect::<Result<Vec<_>>>();
    opt.restore(st.meta.adam_steps, moments("adam.m")?, moments("adam.v")?)?;
    Ok(())
}

/// [`train`], saving its state when `saving` says it is due and going on from the state it
/// holds: the weights, log and record equal an uninterrupted training's (the seconds aside).
pub fn train_saving(
    cfg: &TrainConfig,
    git_sha: &str,
    device: &Device,
    report: &mut dyn FnMut(&LogRow, u64),
    saving: &mut Saving,
) -> Result<Trained> {
    let bad = |m: String| GenError::Request(m);
    cfg.check().map_err(bad)?;
    let vocab = build_vocab();
    let (mut model, params) = Model::init(&cfg.architecture, vocab, cfg.seed, device)?;
    model.config.name = cfg.name.clone();
    model.config.buckets = cfg.buckets.iter().map(|b| [b[0], b[1]]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xda7a);
    let mut log = Vec::new();
    let fps = 8.0;
    if let Some(t) = &cfg.text {
        load_text_tower(&params, &model, &t.from, &cfg.architecture, device)?;
        model.config.training.text_encoder =
            Some(format!("{} ({})", t.from, if t.freeze { "frozen" } else { "fine-tuned" }));
    }
    let frozen_text = cfg.text.as_ref().is_some_and(|t| t.freeze);
    let resume = saving.resume.take();
    if let Some(st) = &resume {
        // The same config, its donors' paths compared as the folders they name (a requeued job
        // gave the config by another path, and its `vae.from` read differently).
        let differs = crate::generator::resume::config_differences(&st.meta.config, cfg);
        if !differs.is_empty() {
            return Err(bad(format!(
                "the saved training state is of another config ({} differ); train with the config it was saved with, or start again",
                differs.join(", ")
            )));
        }
        if !["vae", "dit"].contains(&st.meta.stage.as_str()) {
            return Err(bad(format!("the saved training state is at stage {:?}; expected vae or dit", st.meta.stage)));
        }
        // Its step within the stage, and the optimiser's count the same (an edited step trained
        // nothing more; an edited count gave other weights, or NaN).
        let total = if st.meta.stage == "vae" {
            cfg.vae.samples.div_ceil(cfg.vae.batch as u64)
        } else {
            cfg.dit.samples.div_ceil(cfg.dit.batch as u64)
        };
        let adam_ok =
            st.meta.stage == "vae" || st.meta.step == 0 || i64::from(st.meta.adam_steps) == st.meta.step as i64;
        if st.meta.step >= total.max(1) || !adam_ok || st.meta.adam_steps < 0 {
            return Err(bad(format!(
                "the saved training state is damaged: step {} of {total} in stage {}, optimiser step {}",
                st.meta.step, st.meta.stage, st.meta.adam_steps
            )));
        }
        for (k, v) in params.vars() {
            v.set(st.tensor(&format!("param/{k}"))?)?;
        }
        model.config = st.meta.model.clone();
        model.set_latent_stats(st.meta.model.latent_mean.clone(), st.meta.model.latent_std.clone())?;
        rng = st.meta.rng.rng()?;
        log = st.meta.log.iter().map(SavedRow::row).collect::<Result<_>>()?;
    }
    let resume_at = |stage: &str| resume.as_ref().filter(|st| st.meta.stage == stage);

    // Stage 1: the VAE.
    let vae_started = Instant::now();
    if resume_at("dit").is_some() {
        // Trained (or copied) before the state was saved: its weights and statistics are back.
    } else if let Some(from) = &cfg.vae.from {
        let dir = std::path::Path::new(from);
        let donor = Model::load(dir, device).map_err(|e| bad(format!("vae.from {from}: {e}")))?;
        if donor.config.architecture.vae != cfg.architecture.vae {
            return Err(bad(format!("vae.from {from}: its VAE architecture differs from this config's")));
        }
        copy_prefix(&params, &dir.join("model.safetensors"), "vae.", device)
            .map_err(|m| bad(format!("vae.from {from}: {m}")))?;
        model.set_latent_stats(donor.config.latent_mean.clone(), donor.config.latent_std.clone())?;
        model.config.training.vae_samples = donor.config.training.vae_samples;
        model.config.training.vae_seconds = donor.config.training.vae_seconds;
        model.config.training.vae_val_mse = donor.config.training.vae_val_mse;
    } else {
        // β₂ = 0.99: the second moment follows growing gradients quickly (the VAE diverged with
        // 0.999 at higher learning rates).
        let mut opt = AdamW::new(vars_with(&params, &["vae."]), 0.0, 0.99)?;
        let steps = cfg.vae.samples.div_ceil(cfg.vae.batch as u64);
        let (probe, _) = world_batch(&mut ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x9e7), 8, 17, [32, 32], device)?;
        // Divergence guard: every 25 steps the reconstruction of a fixed batch is measured; the
        // best weights are kept, and a rise above 1.3× the best rolls back to them at half the
        // learning rate (the VAE's loss otherwise creeps back up to the data variance).
        let mut best: Option<(f64, BTreeMap<String, Tensor>)> = None;
        let mut lr_scale = 1.0;
        let (mut first, mut before) = (0, 0.0);
        if let Some(st) = resume_at("vae") {
            restore_opt(&mut opt, st)?;
            lr_scale = st.meta.lr_scale;
            best = match st.meta.best_mse {
                Some(b) => {
                    // The VAE's weights, each of them and no other (a crafted name panicked, a
                    // missing one restored part of the model).
                    let saved = saved_prefix(st, "best/");
                    let vae: std::collections::BTreeSet<&String> =
                        params.vars().keys().filter(|k| k.starts_with("vae.")).collect();
                    if saved.keys().collect::<std::collections::BTreeSet<_>>() != vae {
                        return Err(bad("the saved training state's best VAE weights are not this model's".into()));
                    }
                    Some((b, saved))
                }
                None => None,
            };
            (first, before) = (st.meta.step, st.meta.seconds);
        }
        for step in first..steps {
            let frames = pick_length(&mut rng, cfg.vae.lengths.as_deref().unwrap_or(&cfg.lengths));
            let size = *cfg.buckets.choose(&mut rng).unwrap_or(&[32, 32]);
            let (x, _) = world_batch(&mut rng, cfg.vae.batch, frames, size, device)?;
            let (loss, mse) = vae_loss(&model, &x, &mut rng, cfg.vae.kl)?;
            let lr = cfg.vae.lr * lr_scale * cosine(step, steps, 20);
            let norm = opt.step(&loss.backward()?, lr, 1.0)?;
            let row = LogRow {
                stage: "vae",
                step: step + 1,
                samples: (step + 1) * cfg.vae.batch as u64,
                loss: f64::from(mse.to_scalar::<f32>()?),
                grad_norm: norm,
                lr,
                seconds: before + vae_started.elapsed().as_secs_f64(),
            };
            report(&row, steps);
            log.push(row);
            if (step + 1) % 25 == 0 || step + 1 == steps {
                // Reconstruction of a fixed batch: the training loss varies with each batch's content.
                let (mean, _) = model.vae.encode(&probe)?;
                let mse = f64::from((model.vae.decode(&mean)? - &probe)?.sqr()?.mean_all()?.to_scalar::<f32>()?);
                let row = LogRow { stage: "vae-fixed", loss: mse, grad_norm: 0.0, ..log[log.len() - 1].clone() };
                report(&row, steps);
                log.push(row.clone());
                match &best {
                    Some((b, _)) if mse > 1.3 * b => {
                        restore(&params, &best.as_ref().map(|x| x.1.clone()).unwrap_or_default())?;
                        lr_scale *= 0.5;
                        let row = LogRow { stage: "vae-rollback", loss: *b, lr: cfg.vae.lr * lr_scale, ..row };
                        report(&row, steps);
                        log.push(row);
                    }
                    Some((b, _)) if mse >= *b => {}
                    _ => best = Some((mse, snapshot(&params, "vae.")?)),
                }
            }
            if step + 1 < steps && (saving.due)() {
                let meta = StateMeta {
                    lr_scale,
                    best_mse: best.as_ref().map(|b| b.0),
                    adam_steps: opt.state().0,
                    log: log.iter().map(SavedRow::of).collect(),
                    seconds: before + vae_started.elapsed().as_secs_f64(),
                    ..state_meta(cfg, git_sha, "vae", step + 1, &rng, &model)
                };
                let tensors = state_tensors(&params, Some(&opt), None, best.as_ref().map(|b| &b.1));
                (saving.save)(&mut TrainState { meta, tensors })?;
            }
        }
        if let Some((_, weights)) = &best {
            restore(&params, weights)?;
        }
        // Per-channel latent statistics and the validation reconstruction error.
        let mut vrng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5ca1e);
        let mut sums = vec![(0f64, 0f64, 0f64); cfg.architecture.vae.latent];
        let mut mse_sum = 0.0;
        let batches = 16;
        for _ in 0..batches {
            let (x, _) = world_batch(&mut vrng, 8, 17, [32, 32], device)?;
            let (mean, _) = model.vae.encode(&x)?;
            let recon = model.vae.decode(&mean)?;
            mse_sum += f64::from((recon - &x)?.sqr()?.mean_all()?.to_scalar::<f32>()?);
            let per = mean.transpose(0, 1)?.flatten_from(1)?.to_vec2::<f32>()?;
            for (c, vals) in per.iter().enumerate() {
                for &v in vals {
                    let v = f64::from(v);
                    sums[c].0 += 1.0;
                    sums[c].1 += v;
                    sums[c].2 += v * v;
                }
            }
        }
        let mean: Vec<f32> = sums.iter().map(|s| (s.1 / s.0) as f32).collect();
        let std: Vec<f32> = sums.iter().map(|s| ((s.2 / s.0 - (s.1 / s.0).powi(2)).max(1e-8).sqrt()) as f32).collect();
        model.set_latent_stats(mean, std)?;
        model.config.training.vae_samples = cfg.vae.samples;
        model.config.training.vae_seconds = before + vae_started.elapsed().as_secs_f64();
        model.config.training.vae_val_mse = mse_sum / f64::from(batches);
    }

    // Stage 2: text encoder + transformer.
    let started = Instant::now();
    let prefixes: &[&str] = if frozen_text { &["dit."] } else { &["text.", "dit."] };
    let mut opt = AdamW::new(vars_with(&params, prefixes), 0.0, 0.999)?;
    let mut ema = Ema::new(&params, prefixes, cfg.dit.ema)?;
    let steps = cfg.dit.samples.div_ceil(cfg.dit.batch as u64);
    let mut flops = 0.0;
    let mut curve = Vec::new();
    let l = cfg.architecture.text.max_tokens;
    // The stream where this stage begins: a resumed training draws its latent pool from it again.
    let dit_rng = match resume_at("dit") {
        Some(st) => {
            st.meta.dit_rng.clone().ok_or_else(|| bad("the saved training state has no transformer stream".into()))?
        }
        None => RngState::of(&rng),
    };
    if resume_at("dit").is_none() && (saving.due)() {
        // The VAE is done: a kill from here on does not train it again.
        let meta = StateMeta {
            dit_rng: Some(dit_rng.clone()),
            log: log.iter().map(SavedRow::of).collect(),
            ..state_meta(cfg, git_sha, "dit", 0, &rng, &model)
        };
        (saving.save)(&mut TrainState { meta, tensors: state_tensors(&params, None, None, None) })?;
    }
    let (mut first, mut before) = (0, 0.0);
    if let Some(st) = resume_at("dit") {
        rng = dit_rng.rng()?;
        if st.meta.step > 0 {
            restore_opt(&mut opt, st)?;
            for (k, t) in saved_prefix(st, "ema/") {
                let shadow = ema.shadow.get_mut(&k).ok_or_else(|| bad(format!("the saved state's EMA has {k}")))?;
                *shadow = t;
            }
            if ema.shadow.keys().any(|k| !st.tensors.contains_key(&format!("ema/{k}"))) {
                return Err(bad("the saved training state lacks EMA weights".into()));
            }
            (first, before, flops, curve) = (st.meta.step, st.meta.seconds, st.meta.flops, st.meta.curve.clone());
        }
    }
    // The networks over the same storage, outside any graph, for the passes no gradient flows
    // through: encoding clips (the VAE is not trained here) and validation (which held every
    // activation of its forward pass: over 11 GB for 16 clips at 256²). They see each update
    // of the variables, the EMA's swaps included (a variable is set in place).
    let fixed = model.frozen(&params.tensors())?;
    let pool = match cfg.dit.pool {
        Some(0) => return Err(bad("dit.pool: 0 clips; leave it out to draw a fresh clip per sample".into())),
        Some(n) => Some(LatentPool::build(&fixed, cfg, n as usize, &mut rng, device, report)?),
        None => None,
    };
    if let Some(st) = resume_at("dit").filter(|st| st.meta.step > 0) {
        rng = st.meta.rng.rng()?;
    }
    for step in first..steps {
        let (frames, size, x0, saturation, captions) = match &pool {
            Some(pool) => pool.batch(&mut rng, cfg.dit.batch)?,
            None => {
                let frames = pick_length(&mut rng, &cfg.lengths);
                let size = *cfg.buckets.choose(&mut rng).unwrap_or(&[32, 32]);
                let (x, captions) = world_batch(&mut rng, cfg.dit.batch, frames, size, device)?;
                let saturation = if cfg.dit.saliency > 0.0 { Some(latent_saturation(&x)?) } else { None };
                (frames, size, fixed.encode(&x)?, saturation, captions)
            }
        };
        // Saturation is kept only when the loss is saliency-weighted.
        let weight = saturation.map(|s| (s * cfg.dit.saliency)? + 1.0).transpose()?;
        let loss =
            flow_loss(&model, &x0, &captions, fps, &mut rng, cfg.dit.caption_dropout, frozen_text, weight.as_ref())?;
        let lr = cfg.dit.lr * cosine(step, steps, cfg.dit.warmup);
        let norm = opt.step(&loss.backward()?, lr, cfg.dit.clip)?;
        ema.update(&params)?;
        let tokens = Dit::tokens(latent_frames(frames), size[1] / 4, size[0] / 4);
        // Forward and backward (3×) of what trains; a frozen text encoder only runs forward.
        let text_passes = if frozen_text { 1.0 } else { 3.0 };
        flops += cfg.dit.batch as f64 * (3.0 * model.dit.flops(tokens, l) + text_passes * model.text.flops(l));
        let row = LogRow {
            stage: "dit",
            step: step + 1,
            samples: (step + 1) * cfg.dit.batch as u64,
            loss: f64::from(loss.to_scalar::<f32>()?),
            grad_norm: norm,
            lr,
            seconds: before + started.elapsed().as_secs_f64(),
        };
        report(&row, steps);
        log.push(row);
        if step + 1 < steps && [steps / 3, 2 * steps / 3].contains(&(step + 1)) {
            let previous = ema.swap_in(&params)?;
            let val_loss = validation_loss(&fixed, cfg, device)?;
            restore(&params, &previous)?;
            curve.push(CurvePoint { samples: (step + 1) * cfg.dit.batch as u64, flops, val_loss });
        }
        if step + 1 < steps && (saving.due)() {
            let meta = StateMeta {
                dit_rng: Some(dit_rng.clone()),
                adam_steps: opt.state().0,
                flops,
                curve: curve.clone(),
                log: log.iter().map(SavedRow::of).collect(),
                seconds: before + started.elapsed().as_secs_f64(),
                ..state_meta(cfg, git_sha, "dit", step + 1, &rng, &model)
            };
            let tensors = state_tensors(&params, Some(&opt), Some(&ema), None);
            (saving.save)(&mut TrainState { meta, tensors })?;
        }
    }
    let seconds = before + started.elapsed().as_secs_f64();
    let previous = ema.swap_in(&params)?;
    let val_loss = validation_loss(&fixed, cfg, device)?;
    curve.push(CurvePoint { samples: steps * cfg.dit.batch as u64, flops, val_loss });
    let weights = params.tensors();
    restore(&params, &previous)?;
    // The returned model carries the EMA weights.
    ema.swap_in(&params)?;
    // The threads that trained (RAYON_NUM_THREADS=0 means all cores, and was recorded as 0).
    let threads = rayon::current_num_threads();
    let rec = &mut model.config.training;
    rec.samples = steps * cfg.dit.batch as u64;
    rec.steps = steps;
    rec.batch = cfg.dit.batch;
    rec.lr = cfg.dit.lr;
    rec.flops = flops;
    rec.seconds = seconds;
    rec.data_seed = cfg.seed;
    rec.distinct_clips = cfg.dit.pool;
    rec.device = device_name(device);
    rec.threads = threads;
    rec.git_sha = git_sha.to_string();
    rec.val_loss = val_loss;
    rec.val_curve = curve;
    Ok(Trained { model, weights, log })
}

pub fn device_name(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(_) if candle_core::cuda::gemm_reduced_precision_f32() => "cuda-tf32".into(),
        Device::Cuda(_) => "cuda".into(),
        Device::Metal(_) => "metal".into(),
    }
}

/// Rectified-flow loss on a fixed validation set: 17-frame clips of `validation_size` (32×32 by
/// default) from a seed stream the training never draws, stratified noise levels, fixed noise,
/// full captions, no masks. `model` is best [`Model::frozen`]: on trainable variables the pass
/// holds every activation for a backward pass that never comes.
pub fn validation_loss(model: &Model, cfg: &TrainConfig, device: &Device) -> Result<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x7a11_da7e);
    let n = cfg.validation.max(1);
    let batch = 16;
    let mut total = 0.0;
    let mut count = 0;
    let mut i = 0;
    while i < n {
        let b = batch.min(n - i);
        let (x, captions) = world_batch(&mut rng, b, 17, cfg.validation_size, device)?;
        let x0 = model.encode(&x)?;
        let levels: Vec<f32> = (0..b).map(|j| ((i + j) as f32 + 0.5) / n as f32).collect();
        let s = Tensor::from_vec(levels, b, device)?;
        let eps = randn(&mut rng, x0.dims(), device)?;
        let xs = flow::noised(&x0, &eps, &s)?;
        let refs: Vec<&str> = captions.iter().map(String::as_str).collect();
        let (text, text_mask) = model.text_features(&refs)?;
        let fps = Tensor::full(8f32, b, device)?;
        let pred = model.dit.forward(&DitInput {
            x: &xs,
            s: &s,
            fps: &fps,
            text: &text,
            text_mask: &text_mask,
            frame_mask: None,
        })?;
        total += f64::from((pred - (eps - x0)?)?.sqr()?.mean_all()?.to_scalar::<f32>()?) * b as f64;
        count += b;
        i += b;
    }
    Ok(total / count as f64)
}

#[cfg(test)]
mod tests {
    use super::super::dit::DitConfig;
    use super::super::text::TextConfig;
    use super::super::text::Vocab;
    use super::super::vae::VaeConfig;
    use super::*;

    fn tiny() -> Architecture {
        Architecture {
            vae: VaeConfig { channels: 16, latent: 8 },
            dit: DitConfig { dim: 64, depth: 2, heads: 2, mlp_ratio: 2 },
            text: TextConfig { dim: 32, layers: 1, heads: 2, max_tokens: 12 },
        }
    }

    /// The pool holds exactly the clips the stream draws, encoded, grouped by grid with the
    /// configured weights; a batch is pool rows (with their captions, paraphrased) of one grid.
    #[test]
    fn a_latent_pool_holds_the_drawn_clips_encoded() {
        let dev = Device::Cpu;
        let (model, _) = Model::init(&tiny(), build_vocab(), 1, &dev).unwrap();
        let cfg: TrainConfig = serde_json::from_value(serde_json::json!({
            "name": "p", "seed": 1, "architecture": tiny(),
            "vae": {"samples": 0}, "dit": {"samples": 0, "saliency": 1.0},
            "buckets": [[16, 16], [24, 16]], "lengths": [[5, 0.75], [1, 0.25]]
        }))
        .unwrap();
        let mut rows = 0;
        let pool = LatentPool::build(&model, &cfg, 200, &mut ChaCha8Rng::seed_from_u64(7), &dev, &mut |r, total| {
            rows += 1;
            assert!(r.stage == "pool" && r.step <= total);
        })
        .unwrap();
        assert_eq!(pool.groups.iter().map(|g| g.captions.len()).sum::<usize>(), 200);
        assert!(rows >= 4, "{rows} progress rows");
        let five: usize = pool.groups.iter().filter(|g| g.grid.0 == 5).map(|g| g.captions.len()).sum();
        assert!((125..=175).contains(&five), "{five} of 200 clips have 5 frames (weight 0.75)");
        // Replaying the stream: the same draws, then each group's clips in order.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200 {
            pick_length(&mut rng, &cfg.lengths);
            cfg.buckets.choose(&mut rng).unwrap();
        }
        for g in &pool.groups {
            let (frames, size) = g.grid;
            let (x, c) = world_clips(&mut rng, g.captions.len(), frames, size, &dev, false).unwrap();
            assert_eq!(c, g.captions);
            let d = (model.encode(&x).unwrap() - &g.latents).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0, "{frames} frames at {size:?}");
            let kept = g.saturation.as_ref().expect("saturation kept for a saliency-weighted loss");
            let d = (latent_saturation(&x).unwrap() - kept).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0, "saturation of {frames} frames at {size:?}");
            assert_eq!(g.latents.dims()[2..], [latent_frames(frames), size[1] / 4, size[0] / 4]);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for _ in 0..6 {
            let (frames, size, x0, _, batch) = pool.batch(&mut rng, 4).unwrap();
            let g = pool.groups.iter().find(|g| g.grid == (frames, size)).unwrap();
            let (latents, captions) = (&g.latents, &g.captions);
            assert_eq!(x0.dims()[0], 4);
            for (i, caption) in batch.iter().enumerate() {
                let row = x0.get(i).unwrap();
                let k = (0..captions.len())
                    .find(|&k| {
                        let d = (latents.get(k).unwrap() - &row).unwrap().abs().unwrap().max_all().unwrap();
                        d.to_scalar::<f32>().unwrap() == 0.0
                    })
                    .expect("a batch row that is no pool clip");
                // Paraphrases only rewrite words: the colour words of the world's caption stay.
                let colours = |c: &str| c.split(' ').filter(|w| crate::palette::Color::from_name(w).is_some()).count();
                assert_eq!(colours(caption), colours(&captions[k]), "{caption} / {}", captions[k]);
            }
        }
    }

    /// Saturation lands in the latent cell that encodes it: frame 0 alone, frames 1–4 together,
    /// 4×4 pixels each; and a uniform loss weight is the plain loss.
    #[test]
    fn latent_saturation_follows_the_vae_grid() {
        let dev = Device::Cpu;
        let mut x = vec![0f32; 3 * 5 * 8 * 8];
        let at = |c: usize, t: usize, y: usize, x: usize| ((c * 5 + t) * 8 + y) * 8 + x;
        for y in 0..4 {
            for xx in 0..4 {
                // Frame 0, top-left cell: pure red (saturation 2).
                x[at(0, 0, y, xx)] = 1.0;
                x[at(1, 0, y, xx)] = -1.0;
                x[at(2, 0, y, xx)] = -1.0;
            }
        }
        for y in 4..6 {
            for xx in 4..8 {
                // Frame 3, half the bottom-right cell: saturation 1.
                x[at(2, 3, y, xx)] = 1.0;
            }
        }
        let x = Tensor::from_vec(x, (1, 3, 5, 8, 8), &dev).unwrap();
        let s = latent_saturation(&x).unwrap();
        assert_eq!(s.dims(), [1, 1, 2, 2, 2]);
        let v = s.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        // [frame 0: 2, 0, 0, 0; frames 1-4: 0, 0, 0, 1 × ½ of the cell × ¼ of the frames].
        assert_eq!(v, [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.125]);

        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (a, b) =
            (randn(&mut rng, &[2, 4, 3, 2, 2], &dev).unwrap(), randn(&mut rng, &[2, 4, 3, 2, 2], &dev).unwrap());
        let mask = Tensor::new(&[[1f32, 0.0, 1.0], [1.0, 1.0, 0.0]], &dev).unwrap();
        let plain = masked_mse(&a, &b, None, &mask).unwrap().to_scalar::<f32>().unwrap();
        let uniform = Tensor::full(3f32, (2, 1, 3, 2, 2), &dev).unwrap();
        let same = masked_mse(&a, &b, Some(&uniform), &mask).unwrap().to_scalar::<f32>().unwrap();
        assert!((plain - same).abs() < 1e-6, "{plain} vs {same}");
        // All of frame 0's weight on one cell: that cell's error (mean over channels) alone
        // counts. (Weights are 1 + saliency × saturation ≥ 1 in training, never 0 for a frame.)
        let mut w = vec![1f32; 2 * 3 * 4];
        w[1..4].iter_mut().for_each(|v| *v = 0.0);
        let w = Tensor::from_vec(w, (2, 1, 3, 2, 2), &dev).unwrap();
        let one = masked_mse(
            &a.narrow(0, 0, 1).unwrap(),
            &b.narrow(0, 0, 1).unwrap(),
            Some(&w.narrow(0, 0, 1).unwrap()),
            &Tensor::new(&[[1f32, 0.0, 0.0]], &dev).unwrap(),
        )
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        let cell = (a.narrow(0, 0, 1).unwrap() - b.narrow(0, 0, 1).unwrap()).unwrap().sqr().unwrap();
        let cell = cell.narrow(2, 0, 1).unwrap().narrow(3, 0, 1).unwrap().narrow(4, 0, 1).unwrap().mean_all().unwrap();
        assert!((one - cell.to_scalar::<f32>().unwrap()).abs() < 1e-5);
    }

    /// A pooled run records its distinct clips, repeats bit-exactly, and refuses an empty pool.
    #[test]
    fn pooled_training_records_its_distinct_clips() {
        let cfg = |pool: u64| -> TrainConfig {
            serde_json::from_value(serde_json::json!({
                "name": "micro", "seed": 3, "architecture": tiny(),
                "vae": {"samples": 8, "batch": 4}, "dit": {"samples": 24, "batch": 8, "warmup": 1, "pool": pool},
                "buckets": [[16, 16]], "lengths": [[5, 1.0]], "validation": 4
            }))
            .unwrap()
        };
        let run = || train(&cfg(12), "test", &Device::Cpu, &mut |_, _| {}).unwrap();
        let (a, b) = (run(), run());
        assert_eq!(a.model.config.training.distinct_clips, Some(12));
        assert_eq!(a.model.config.training.samples, 24);
        for (k, w) in &a.weights {
            let d = (w - &b.weights[k]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert_eq!(d, 0.0, "{k} differs between two runs of one seed");
        }
        let e = train(&cfg(0), "test", &Device::Cpu, &mut |_, _| {}).err().unwrap().to_string();
        assert!(e.contains("dit.pool"), "{e}");
    }

    /// The frozen networks compute what the trainable ones do, bit for bit, without a graph (the
    /// validation pass held every activation for a backward pass), and see the variables'
    /// updates (they share storage).
    #[test]
    fn frozen_networks_match_the_variables_without_a_graph() {
        let dev = Device::Cpu;
        let (model, params) = Model::init(&tiny(), Vocab::build(["a red circle"]), 1, &dev).unwrap();
        let fixed = model.frozen(&params.tensors()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (x, _) = world_batch(&mut rng, 2, 5, [16, 16], &dev).unwrap();
        let (a, b) = (model.encode(&x).unwrap(), fixed.encode(&x).unwrap());
        assert!(a.track_op() && !b.track_op());
        let same = |a: &Tensor, b: &Tensor| {
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap() == b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert!(same(&a, &b));
        let cfg: TrainConfig = serde_json::from_value(serde_json::json!({
            "name": "micro", "seed": 3, "architecture": tiny(),
            "vae": {"samples": 8, "batch": 4}, "dit": {"samples": 8, "batch": 4},
            "buckets": [[16, 16]], "lengths": [[5, 1.0]], "validation": 4, "validation_size": [16, 16]
        }))
        .unwrap();
        assert_eq!(validation_loss(&model, &cfg, &dev).unwrap(), validation_loss(&fixed, &cfg, &dev).unwrap());
        for var in params.vars().iter().filter(|(k, _)| k.starts_with("vae.")).map(|(_, v)| v) {
            var.set(&((var.as_tensor() * 1.5).unwrap() + 0.01).unwrap()).unwrap();
        }
        let (c, d) = (model.encode(&x).unwrap(), fixed.encode(&x).unwrap());
        assert!(!same(&a, &c) && same(&c, &d), "the variables' new values are not seen by the frozen networks");
    }

    /// Guards against silently detached gradients: a fixed batch must be fitted.
    #[test]
    fn vae_overfits_one_batch() {
        let dev = Device::Cpu;
        let (model, params) = Model::init(&tiny(), Vocab::build(["a red circle"]), 1, &dev).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (x, _) = world_batch(&mut rng, 2, 5, [16, 16], &dev).unwrap();
        let mut opt = AdamW::new(vars_with(&params, &["vae."]), 0.0, 0.99).unwrap();
        let mut first = 0.0;
        let mut last = 0.0;
        for step in 0..150 {
            let mut r = ChaCha8Rng::seed_from_u64(3);
            let (loss, mse) = vae_loss(&model, &x, &mut r, 0.0).unwrap();
            let v = f64::from(mse.to_scalar::<f32>().unwrap());
            if step == 0 {
                first = v;
            }
            last = v;
            opt.step(&loss.backward().unwrap(), 3e-3, 1.0).unwrap();
        }
        assert!(last < first / 5.0, "VAE loss {first} → {last}: expected a 5× drop in 150 steps");
    }

    #[test]
    fn transformer_and_text_encoder_overfit_one_batch() {
        let dev = Device::Cpu;
        let (model, params) =
            Model::init(&tiny(), Vocab::build(["a red circle moves left", "a blue square"]), 1, &dev).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let x0 = randn(&mut rng, &[2, 8, 3, 4, 4], &dev).unwrap();
        let captions = vec!["a red circle moves left".to_string(), "a blue square".to_string()];
        let mut opt = AdamW::new(vars_with(&params, &["text.", "dit."]), 0.0, 0.999).unwrap();
        let losses: Vec<f64> = (0..200)
            .map(|_| {
                // The same noise, levels and masks every step: a fixed objective.
                let mut r = ChaCha8Rng::seed_from_u64(5);
                let loss = flow_loss(&model, &x0, &captions, 8.0, &mut r, 0.0, false, None).unwrap();
                opt.step(&loss.backward().unwrap(), 2e-3, 1.0).unwrap();
                f64::from(loss.to_scalar::<f32>().unwrap())
            })
            .collect();
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        assert!(last < first / 4.0, "flow loss {first} → {last}: expected a 4× drop in 200 steps");
        // Every trainable part received a gradient (text encoder and null caption included).
        let mut r = ChaCha8Rng::seed_from_u64(5);
        let grads = flow_loss(&model, &x0, &captions, 8.0, &mut r, 0.5, false, None).unwrap().backward().unwrap();
        let missing: Vec<&String> = params
            .vars()
            .iter()
            .filter(|(k, v)| !k.starts_with("vae.") && grads.get(v).is_none())
            .map(|(k, _)| k)
            .collect();
        assert!(missing.is_empty(), "no gradient reaches {missing:?}");
        // Frozen text: the transformer (and null caption) still learn, the text encoder gets no
        // backward pass.
        let mut r = ChaCha8Rng::seed_from_u64(5);
        let grads = flow_loss(&model, &x0, &captions, 8.0, &mut r, 0.5, true, None).unwrap().backward().unwrap();
        for (k, v) in params.vars().iter().filter(|(k, _)| !k.starts_with("vae.")) {
            assert_eq!(grads.get(v).is_some(), k.starts_with("dit."), "{k}");
        }
    }

    /// Analytic gradients of the transformer and text encoder agree with central finite
    /// differences for every parameter tensor (the element with the largest gradient of each):
    /// a gradient that merely exists can still be wrong (candle 0.11's conv1d backward was).
    #[test]
    fn transformer_gradients_match_finite_differences() {
        let dev = Device::Cpu;
        let (model, params) =
            Model::init(&tiny(), Vocab::build(["a red circle moves left", "a blue square"]), 1, &dev).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let x0 = randn(&mut rng, &[2, 8, 3, 4, 4], &dev).unwrap();
        let captions = vec!["a red circle moves left".to_string(), "a blue square".to_string()];
        let loss = || {
            let mut r = ChaCha8Rng::seed_from_u64(5);
            flow_loss(&model, &x0, &captions, 8.0, &mut r, 0.0, false, None).unwrap()
        };
        // Zero-initialised output layers make most gradients vanish at init: perturb first.
        for (k, v) in params.vars().iter().filter(|(k, _)| !k.starts_with("vae.")) {
            let noise = (randn(&mut rng, v.dims(), &dev).unwrap() * 0.05).unwrap();
            v.set(&(v.as_tensor() + noise).unwrap()).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        let grads = loss().backward().unwrap();
        let mut bad = Vec::new();
        for (name, var) in params.vars().iter().filter(|(k, _)| !k.starts_with("vae.") && !k.contains("null")) {
            let Some(g) = grads.get(var.as_tensor()) else {
                bad.push(format!("{name}: no gradient"));
                continue;
            };
            let (i, g, fd) = super::super::nn::finite_difference_at_max(var, g, 1e-2, &|| {
                f64::from(loss().to_scalar::<f32>().unwrap())
            });
            if g.abs() < 1e-4 {
                continue;
            }
            // f32 central differences at h = 1e-2 carry ~1e-5 of rounding noise.
            if (fd - g).abs() > 0.05 * g.abs() + 2e-5 {
                bad.push(format!("{name}[{i}]: analytic {g} vs finite difference {fd}"));
            }
        }
        assert!(bad.is_empty(), "wrong gradients:\n{}", bad.join("\n"));
    }
}
