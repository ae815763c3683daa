//! The world encoder: a small video/text dual encoder trained with a symmetric InfoNCE loss
//! (CLIP's objective) on procedural-world clips and their captions. It is the embedded default
//! extractor: FVD-W (Fréchet distance of its video embeddings), CLIP-W (cosine between video or
//! frame embeddings and a prompt) and per-frame features for consistency metrics.
//!
//! Video tower: each frame (32×32, [−1, 1]) goes through four 3×3 conv + SiLU stages with 2×2
//! average pooling between them (32 → 4 pixels), flattened so position survives ("at the left"),
//! and projected to a `frame_dim` frame feature. Two causal temporal convolutions over the frame
//! features see motion and order; the video embedding projects the concatenated means of frame
//! and temporal features. Text tower: the generator's word-level transformer encoder, mean-pooled
//! over real tokens. Both embeddings are L2-normalised.
//!
//! Preprocessing contract ([`PREPROCESS`]): 8 uniformly sampled frames, stretched to 32×32 with
//! an antialiased area filter, values in [−1, 1].

use std::path::Path;

use candle_core::{D, DType, Device, Result, Tensor};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use videval_metrics::preprocess::{Filter, FrameSampling, Frames, Normalise, Preprocess, Spatial};

use crate::generator::nn::{CausalConv1d, Conv2d, Linear, Params};
use crate::generator::text::{TextConfig, TextEncoder, Tokens, Vocab};
use crate::training::{build_vocab, paraphrase};
use crate::world::caption::describe;
use crate::world::render::{Settings, render};
use crate::world::sample::{Family, sample};

pub const SIZE: usize = 32;
pub const FRAMES: usize = 8;

/// The world encoder's preprocessing contract.
pub const PREPROCESS: Preprocess = Preprocess {
    frames: FrameSampling::Uniform(FRAMES),
    spatial: Spatial::Stretch { width: SIZE as u32, height: SIZE as u32 },
    filter: Filter::Area,
    antialias: true,
    normalise: Normalise::Symmetric,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderConfig {
    /// Channels of the four conv stages.
    pub channels: [usize; 4],
    pub frame_dim: usize,
    pub embed_dim: usize,
    pub text: TextConfig,
}

impl EncoderConfig {
    /// Its sizes in range (a hand-edited `config.json` with 0 heads panicked mid-run).
    pub fn check(&self) -> std::result::Result<(), String> {
        use crate::generator::within;
        for (i, &c) in self.channels.iter().enumerate() {
            within(&format!("architecture.channels[{i}]"), c, 1, 1024)?;
        }
        within("architecture.frame_dim", self.frame_dim, 1, 4096)?;
        within("architecture.embed_dim", self.embed_dim, 1, 4096)?;
        self.text.check("architecture.text")
    }
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            channels: [16, 32, 48, 64],
            frame_dim: 128,
            embed_dim: 128,
            text: TextConfig { dim: 96, layers: 2, heads: 4, max_tokens: 32 },
        }
    }
}

/// What the checkpoint's `config.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderFile {
    pub schema: u32,
    pub name: String,
    pub architecture: EncoderConfig,
    pub vocab: Vocab,
    pub training: EncoderTraining,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EncoderTraining {
    pub seed: u64,
    pub steps: u64,
    pub batch: usize,
    pub lr: f64,
    pub seconds: f64,
    /// Text → video top-1 accuracy among 32 held-out clips (mean over groups).
    pub retrieval_top1: f64,
    pub git_sha: String,
}

pub struct WorldEncoder {
    pub file: EncoderFile,
    convs: [Conv2d; 4],
    frame_proj: Linear,
    temporal: [CausalConv1d; 2],
    video_proj: Linear,
    text: TextEncoder,
    text_proj: Linear,
    logit_scale: Tensor,
    device: Device,
}

impl WorldEncoder {
    fn build(p: &mut Params, file: EncoderFile, device: &Device) -> Result<Self> {
        let a = &file.architecture;
        let c = a.channels;
        let convs = [
            Conv2d::new(p, "video.conv0", 3, c[0], 3)?,
            Conv2d::new(p, "video.conv1", c[0], c[1], 3)?,
            Conv2d::new(p, "video.conv2", c[1], c[2], 3)?,
            Conv2d::new(p, "video.conv3", c[2], c[3], 3)?,
        ];
        let cells = (SIZE / 8) * (SIZE / 8);
        Ok(Self {
            convs,
            frame_proj: Linear::new(p, "video.frame_proj", c[3] * cells, a.frame_dim)?,
            temporal: [
                CausalConv1d::new(p, "video.time0", a.frame_dim, a.frame_dim, 3, 1)?,
                CausalConv1d::new(p, "video.time1", a.frame_dim, a.frame_dim, 3, 1)?,
            ],
            video_proj: Linear::new(p, "video.proj", 2 * a.frame_dim, a.embed_dim)?,
            text: TextEncoder::new(p, a.text.clone(), file.vocab.len())?,
            text_proj: Linear::new(p, "text.proj", a.text.dim, a.embed_dim)?,
            logit_scale: p.get("logit_scale", &[1], crate::generator::nn::Init::Ones)?,
            device: device.clone(),
            file,
        })
    }

    /// Fresh weights for training.
    pub fn init(cfg: EncoderConfig, seed: u64, device: &Device) -> Result<(Self, Params)> {
        let mut p = Params::init(seed, device);
        let file = EncoderFile {
            schema: 1,
            name: "world-encoder".into(),
            architecture: cfg,
            vocab: build_vocab(),
            training: EncoderTraining::default(),
        };
        let enc = Self::build(&mut p, file, device)?;
        // CLIP's initial temperature 0.07: logit scale ln(1/0.07).
        let init = Tensor::new(&[(1.0f32 / 0.07).ln()], device)?;
        p.vars()["logit_scale"].set(&init)?;
        Ok((enc, p))
    }

    /// Loads `dir/model.safetensors` and `dir/config.json` (checksums are the manifest's job).
    pub fn load(dir: &Path, device: &Device) -> std::result::Result<Self, String> {
        let cfg_path = dir.join("config.json");
        let text = crate::files::read_text(&cfg_path, crate::files::CONFIG_BYTES)
            .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        let file: EncoderFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        file.architecture.check().map_err(|e| format!("{}: {e}", cfg_path.display()))?;
        let weights = dir.join("model.safetensors");
        let tensors = super::float_tensors(&weights, device)?;
        let mut p = Params::load(tensors, device);
        let enc = Self::build(&mut p, file, device).map_err(|e| format!("{}: {e}", weights.display()))?;
        let unused = p.unused();
        if !unused.is_empty() {
            return Err(format!("{}: tensors no layer uses: {unused:?}", weights.display()));
        }
        Ok(enc)
    }

    pub fn save(&self, dir: &Path, params: &Params) -> std::result::Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tensors: std::collections::HashMap<String, Tensor> = params
            .tensors()
            .into_iter()
            .map(|(k, v)| Ok((k, v.to_dtype(DType::F32)?)))
            .collect::<Result<_>>()
            .map_err(|e| e.to_string())?;
        let weights = dir.join("model.safetensors");
        candle_core::safetensors::save(&tensors, &weights).map_err(|e| format!("{}: {e}", weights.display()))?;
        let json = serde_json::to_string_pretty(&self.file).map_err(|e| e.to_string())?;
        let cfg = dir.join("config.json");
        std::fs::write(&cfg, json + "\n").map_err(|e| format!("{}: {e}", cfg.display()))?;
        // The weights readable as the config is.
        crate::files::permissions_like(&weights, &cfg).map_err(|e| format!("{}: {e}", weights.display()))
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The feature contract of the video embeddings: the extractor with its weights' identity
    /// and the preprocessing, as FVD-W statistics record them.
    pub fn contract(&self, weights_sha256: &str) -> videval_metrics::distribution::Contract {
        let short = &weights_sha256[..weights_sha256.len().min(12)];
        videval_metrics::distribution::Contract {
            extractor: format!(
                "world-encoder@{short} video embedding ({}-d, unit norm) + 4 motion statistics of its frame features",
                self.file.architecture.embed_dim
            ),
            preprocess: format!(
                "{} frames; stretch to {SIZE}x{SIZE}, area filter (covered fractions), antialiased; values in [-1, 1]",
                PREPROCESS.frames.name()
            ),
        }
    }

    /// Frames [N, 3, 32, 32] → frame features [N, frame_dim] (not normalised).
    pub fn frame_features(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, conv) in self.convs.iter().enumerate() {
            h = conv.forward(&h)?.silu()?;
            if i < 3 {
                h = h.avg_pool2d(2)?;
            }
        }
        self.frame_proj.forward(&h.flatten_from(1)?)
    }

    /// Videos [B, T, 3, 32, 32] → (per-frame features [B, T, frame_dim], unit video embeddings
    /// [B, embed_dim]).
    pub fn encode_video(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let f = self.frame_tower(x)?;
        let e = self.video_head(&f)?;
        Ok((f, e))
    }

    /// Per-frame features [B, T, frame_dim] of videos [B, T, 3, 32, 32].
    pub fn frame_tower(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, c, h, w) = x.dims5()?;
        self.frame_features(&x.reshape((b * t, c, h, w))?)?.reshape((b, t, ()))
    }

    /// Unit video embeddings [B, embed_dim] from per-frame features [B, T, frame_dim]: frame
    /// order and motion enter through the causal temporal convolutions.
    pub fn video_head(&self, f: &Tensor) -> Result<Tensor> {
        let seq = f.transpose(1, 2)?.contiguous()?;
        let s = self.temporal[0].forward(&seq)?.silu()?;
        let s = self.temporal[1].forward(&s)?;
        let pooled = Tensor::cat(&[f.mean(1)?, s.mean(2)?], 1)?;
        l2_normalise(&self.video_proj.forward(&pooled)?)
    }

    /// Videos preprocessed per [`PREPROCESS`] → a batch tensor [B, T, 3, 32, 32].
    pub fn batch(&self, videos: &[&videval_metrics::Video]) -> Result<Tensor> {
        // Videos shorter than 8 frames repeat frames (uniform sampling with replacement); an
        // empty video cannot reach here (Video has ≥ 1 frame).
        let frames: Vec<Frames> = videos.iter().map(|v| videval_metrics::preprocess::apply(v, &PREPROCESS)).collect();
        self.batch_preprocessed(&frames.iter().collect::<Vec<_>>())
    }

    /// Clips already preprocessed per [`PREPROCESS`] (streamed from their files, say) → a batch
    /// tensor [B, T, 3, 32, 32].
    pub fn batch_preprocessed(&self, clips: &[&Frames]) -> Result<Tensor> {
        let mut data = Vec::with_capacity(clips.len() * FRAMES * 3 * SIZE * SIZE);
        for f in clips {
            if (f.len, f.width as usize, f.height as usize) != (FRAMES, SIZE, SIZE) {
                candle_core::bail!(
                    "world encoder: expected {FRAMES} frames of {SIZE}x{SIZE} ({}), got {} of {}x{}",
                    PREPROCESS.frames.name(),
                    f.len,
                    f.width,
                    f.height
                );
            }
            data.extend(f.to_channels_first());
        }
        Tensor::from_vec(data, (clips.len(), FRAMES, 3, SIZE, SIZE), &self.device)
    }

    /// Unit video embeddings of `videos`, f64 rows (for distribution metrics).
    pub fn embed_videos(&self, videos: &[&videval_metrics::Video]) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(videos.len());
        for chunk in videos.chunks(Self::EMBED_BATCH) {
            out.extend(self.embed_batch(&self.batch(chunk)?)?);
        }
        Ok(out)
    }

    /// How many clips [`WorldEncoder::embed_videos`] runs through the network at once; a caller
    /// that streams clips from files batches them the same way to get the same bits.
    pub const EMBED_BATCH: usize = 32;

    /// [`WorldEncoder::embed_videos`] of clips already preprocessed per [`PREPROCESS`]; the same
    /// rows when given in batches of [`WorldEncoder::EMBED_BATCH`].
    pub fn embed_preprocessed_videos(&self, clips: &[&Frames]) -> Result<Vec<Vec<f64>>> {
        self.embed_batch(&self.batch_preprocessed(clips)?)
    }

    fn embed_batch(&self, x: &Tensor) -> Result<Vec<Vec<f64>>> {
        let (f, e) = self.encode_video(x)?;
        let frames = l2_normalise(&f)?.to_dtype(DType::F64)?.to_vec3::<f64>()?;
        let rows = e.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        Ok(rows
            .into_iter()
            .zip(frames)
            .map(|(mut row, u)| {
                row.extend(motion_statistics(&u));
                row
            })
            .collect())
    }

    /// Unit frame features of every frame of `video` (stretched to 32×32, no frame sampling):
    /// [T][frame_dim], for consistency metrics.
    pub fn embed_frames(&self, video: &videval_metrics::Video) -> Result<Vec<Vec<f64>>> {
        self.embed_preprocessed(&videval_metrics::preprocess::apply(video, &Self::FRAME_PREPROCESS))
    }

    /// What [`WorldEncoder::embed_frames`] does to each frame before the network: frames
    /// streamed through [`videval_metrics::preprocess::apply_frame`] with it and collected give
    /// the same features.
    pub const FRAME_PREPROCESS: Preprocess = Preprocess { frames: FrameSampling::All, ..PREPROCESS };

    /// Unit frame features of frames already preprocessed with [`Self::FRAME_PREPROCESS`].
    pub fn embed_preprocessed(&self, f: &Frames) -> Result<Vec<Vec<f64>>> {
        let x = Tensor::from_vec(f.to_channels_first(), (f.len, 3, SIZE, SIZE), &self.device)?;
        let mut out = Vec::with_capacity(f.len);
        for i in (0..f.len).step_by(64) {
            let n = 64.min(f.len - i);
            let e = l2_normalise(&self.frame_features(&x.narrow(0, i, n)?)?)?;
            out.extend(e.to_dtype(DType::F64)?.to_vec2::<f64>()?);
        }
        Ok(out)
    }

    /// Captions → unit text embeddings [B, embed_dim].
    pub fn encode_text(&self, captions: &[&str]) -> Result<Tensor> {
        let max = self.file.architecture.text.max_tokens;
        let ids: Vec<Vec<u32>> = captions.iter().map(|c| self.file.vocab.encode(c, max)).collect();
        let tokens = Tokens::new(&ids, max, &self.device)?;
        let feats = self.text.forward(&tokens)?;
        let mask = tokens.mask.unsqueeze(2)?;
        let pooled = feats.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&mask.sum(1)?.clamp(1.0, f64::MAX)?)?;
        l2_normalise(&self.text_proj.forward(&pooled)?)
    }

    /// CLIP-W of one clip preprocessed per [`PREPROCESS`]: cosine between its unit video embedding
    /// and the prompt's.
    pub fn text_clip_cosine(&self, clip: &Frames, prompt: &str) -> Result<f64> {
        let (_, v) = self.encode_video(&self.batch_preprocessed(&[clip])?)?;
        let t = self.encode_text(&[prompt])?;
        Ok(f64::from((v * t)?.sum_all()?.to_scalar::<f32>()?))
    }

    /// The symmetric InfoNCE loss of matching video and text embeddings (row i ↔ row i).
    /// `extra` holds more candidate videos for the text → video direction only (hard negatives).
    pub fn contrastive_loss(&self, video: &Tensor, text: &Tensor, extra: Option<&Tensor>) -> Result<Tensor> {
        let scale = self.logit_scale.clamp(0.0, 100f64.ln())?.exp()?;
        let n = video.dim(0)?;
        let targets = Tensor::arange(0u32, n as u32, &self.device)?;
        let v2t = video.matmul(&text.t()?)?.broadcast_mul(&scale)?;
        let candidates = match extra {
            Some(e) => Tensor::cat(&[video, e], 0)?,
            None => video.clone(),
        };
        let t2v = text.matmul(&candidates.t()?)?.broadcast_mul(&scale)?;
        let a = candle_nn::loss::cross_entropy(&v2t, &targets)?;
        let b = candle_nn::loss::cross_entropy(&t2v, &targets)?;
        (a + b)? / 2.0
    }
}

/// Temporal hard negatives from per-frame features [B, T, F]: the frames shuffled (a rotation
/// of a random permutation, so every frame moves), frozen on the first frame, and reversed. The
/// frame tower is per frame, so these cost only the temporal head.
pub fn temporal_negatives(f: &Tensor, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let (_, t, _) = f.dims3()?;
    let dev = f.device();
    let mut order: Vec<u32> = (0..t as u32).collect();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), rng);
    let mut perm = vec![0u32; t];
    for i in 0..t {
        perm[order[i] as usize] = order[(i + 1) % t];
    }
    let shuffled = f.index_select(&Tensor::from_vec(perm, t, dev)?, 1)?;
    let frozen = f.index_select(&Tensor::zeros(t, DType::U32, dev)?, 1)?;
    let reversed = f.index_select(&Tensor::from_vec((0..t as u32).rev().collect::<Vec<_>>(), t, dev)?, 1)?;
    Tensor::cat(&[shuffled, frozen, reversed], 0)
}

/// Motion statistics of a clip's unit frame features `u[t]`, appended to the video embedding in
/// FVD-W features: the mean and the largest step ‖u_{t+1} − u_t‖, the net displacement
/// ‖u_last − u_first‖, and straightness (net displacement over path length; 1 for a steady
/// change, near 0 when frames jump back and forth). The learned embedding alone barely reacts
/// to shuffled frames; these make temporal order and motion amount count explicitly.
pub fn motion_statistics(u: &[Vec<f64>]) -> [f64; 4] {
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
    let steps: Vec<f64> = u.windows(2).map(|w| dist(&w[0], &w[1])).collect();
    let path: f64 = steps.iter().sum();
    let mean = path / steps.len().max(1) as f64;
    let max = steps.iter().copied().fold(0.0, f64::max);
    let net = match (u.first(), u.last()) {
        (Some(a), Some(b)) => dist(a, b),
        _ => 0.0,
    };
    let straight = if path > 1e-9 { net / path } else { 1.0 };
    [mean, max, net, straight]
}

pub fn l2_normalise(x: &Tensor) -> Result<Tensor> {
    x.broadcast_div(&(x.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?)
}

/// Training settings of `videval train encoder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderTrainConfig {
    pub seed: u64,
    #[serde(default)]
    pub architecture: EncoderConfig,
    pub steps: u64,
    pub batch: usize,
    pub lr: f64,
    /// Add each clip's shuffled, frozen and reversed versions as text → video negatives, so the
    /// embedding must encode frame order and motion (without them FVD-W barely sees shuffling
    /// or freezing).
    #[serde(default)]
    pub temporal_negatives: bool,
    /// Held-out groups of 32 clips for the retrieval score.
    #[serde(default = "default_groups")]
    pub eval_groups: usize,
}

fn default_groups() -> usize {
    8
}

/// One step's log line.
#[derive(Debug, Clone, Serialize)]
pub struct EncoderLogRow {
    pub step: u64,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub seconds: f64,
}

/// World clips and captions: `n` scenes of random families drawn from `rng`, rendered at 32×32
/// for 17 frames. Returns the videos and one caption each (short or long, paraphrased).
pub fn world_clips(rng: &mut ChaCha8Rng, n: usize) -> (Vec<videval_metrics::Video>, Vec<String>) {
    let mut videos = Vec::with_capacity(n);
    let mut captions = Vec::with_capacity(n);
    for _ in 0..n {
        let family = *Family::ALL.choose(rng).unwrap_or(&Family::Physics);
        let (scene, base) = sample(family, rng.random());
        let settings = Settings { width: SIZE as u32, height: SIZE as u32, fps: base.fps, frames: 17 };
        let (video, _) = render(&scene, &settings, false);
        let (long, short) = describe(&scene, &settings);
        let caption = if rng.random_bool(0.5) { short } else { long };
        captions.push(paraphrase(&caption, rng));
        videos.push(video);
    }
    (videos, captions)
}

/// Text → video top-1 accuracy among groups of 32 held-out clips (seeds disjoint from training:
/// a fixed stream), averaged over `groups`.
pub fn retrieval_top1(enc: &WorldEncoder, groups: usize, seed: u64) -> Result<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4e1d_0u64);
    let mut hits = 0usize;
    for _ in 0..groups {
        let (videos, captions) = world_clips(&mut rng, 32);
        let refs: Vec<&videval_metrics::Video> = videos.iter().collect();
        let (_, v) = enc.encode_video(&enc.batch(&refs)?)?;
        let caps: Vec<&str> = captions.iter().map(String::as_str).collect();
        let t = enc.encode_text(&caps)?;
        let best = t.matmul(&v.t()?)?.argmax(1)?.to_vec1::<u32>()?;
        hits += best.iter().enumerate().filter(|(i, b)| **b as usize == *i).count();
    }
    Ok(hits as f64 / (32 * groups.max(1)) as f64)
}

/// Trains the encoder per `cfg`; `report` sees every step.
pub fn train(
    cfg: &EncoderTrainConfig,
    git_sha: &str,
    device: &Device,
    report: &mut dyn FnMut(&EncoderLogRow, u64),
) -> crate::generator::Result<(WorldEncoder, Params, Vec<EncoderLogRow>)> {
    let (mut enc, params) = WorldEncoder::init(cfg.architecture.clone(), cfg.seed, device)?;
    let vars: Vec<candle_core::Var> = params.vars().values().cloned().collect();
    let mut opt = crate::training::AdamW::new(vars, 0.01, 0.98)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let started = std::time::Instant::now();
    let mut log = Vec::new();
    for step in 0..cfg.steps {
        let (videos, captions) = world_clips(&mut rng, cfg.batch);
        let refs: Vec<&videval_metrics::Video> = videos.iter().collect();
        let f = enc.frame_tower(&enc.batch(&refs)?)?;
        let v = enc.video_head(&f)?;
        let caps: Vec<&str> = captions.iter().map(String::as_str).collect();
        let t = enc.encode_text(&caps)?;
        let negatives = if cfg.temporal_negatives {
            Some(
                temporal_negatives(&f, &mut rng)?
                    .chunk(3, 0)?
                    .iter()
                    .map(|n| enc.video_head(n))
                    .collect::<Result<Vec<_>>>()?,
            )
        } else {
            None
        };
        let extra = negatives.map(|n| Tensor::cat(&n, 0)).transpose()?;
        let loss = enc.contrastive_loss(&v, &t, extra.as_ref())?;
        let lr = cfg.lr * crate::training::cosine(step, cfg.steps, 20);
        let grad_norm = opt.step(&loss.backward()?, lr, 1.0)?;
        let row = EncoderLogRow {
            step: step + 1,
            loss: f64::from(loss.to_scalar::<f32>()?),
            grad_norm,
            lr,
            seconds: started.elapsed().as_secs_f64(),
        };
        report(&row, cfg.steps);
        log.push(row);
    }
    let seconds = started.elapsed().as_secs_f64();
    enc.file.training = EncoderTraining {
        seed: cfg.seed,
        steps: cfg.steps,
        batch: cfg.batch,
        lr: cfg.lr,
        seconds,
        retrieval_top1: retrieval_top1(&enc, cfg.eval_groups, cfg.seed)?,
        git_sha: git_sha.to_string(),
    };
    Ok((enc, params, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An encoder small enough to build in a test.
    fn small() -> EncoderConfig {
        EncoderConfig {
            channels: [8, 8, 8, 8],
            frame_dim: 16,
            embed_dim: 8,
            text: TextConfig { dim: 16, layers: 1, heads: 2, max_tokens: 8 },
        }
    }

    #[test]
    fn shapes_and_unit_norms() {
        let dev = Device::Cpu;
        let cfg = small();
        let (enc, _) = WorldEncoder::init(cfg, 1, &dev).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (videos, captions) = world_clips(&mut rng, 3);
        let refs: Vec<&videval_metrics::Video> = videos.iter().collect();
        let (f, v) = enc.encode_video(&enc.batch(&refs).unwrap()).unwrap();
        assert_eq!(f.dims(), &[3, FRAMES, 16]);
        assert_eq!(v.dims(), &[3, 8]);
        let caps: Vec<&str> = captions.iter().map(String::as_str).collect();
        let t = enc.encode_text(&caps).unwrap();
        for norm in v.sqr().unwrap().sum(1).unwrap().to_vec1::<f32>().unwrap() {
            assert!((norm - 1.0).abs() < 1e-5);
        }
        assert_eq!(t.dims(), &[3, 8]);
        assert_eq!(enc.embed_frames(&videos[0]).unwrap().len(), 17);
    }

    /// A `config.json` edited by hand to sizes no layer can run (0 heads divided by zero in the
    /// attention mid-run; 7 heads of a 16-wide text blamed the video) is refused at load, naming
    /// the file and the field.
    #[test]
    fn a_config_with_impossible_sizes_is_refused_at_load() {
        let dev = Device::Cpu;
        let cfg = small();
        let (enc, params) = WorldEncoder::init(cfg, 1, &dev).unwrap();
        let dir = std::env::temp_dir().join(format!("vv-world-cfg-{}", std::process::id()));
        enc.save(&dir, &params).unwrap();
        assert!(WorldEncoder::load(&dir, &dev).is_ok());
        let path = dir.join("config.json");
        let good = std::fs::read_to_string(&path).unwrap();
        for (heads, field) in [(0, "architecture.text.heads: 0"), (7, "dim 16 is not a multiple of heads 7")] {
            let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
            v["architecture"]["text"]["heads"] = heads.into();
            std::fs::write(&path, v.to_string()).unwrap();
            let e = WorldEncoder::load(&dir, &dev).err().unwrap();
            assert!(e.contains("config.json") && e.contains(field), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Guards against detached gradients: a fixed batch of 8 pairs is matched after training.
    #[test]
    fn contrastive_loss_overfits_one_batch() {
        let dev = Device::Cpu;
        let cfg = EncoderConfig {
            channels: [8, 16, 16, 16],
            frame_dim: 32,
            embed_dim: 16,
            text: TextConfig { dim: 32, layers: 1, heads: 2, max_tokens: 24 },
        };
        let (enc, params) = WorldEncoder::init(cfg, 1, &dev).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (videos, captions) = world_clips(&mut rng, 8);
        let refs: Vec<&videval_metrics::Video> = videos.iter().collect();
        let x = enc.batch(&refs).unwrap();
        let caps: Vec<&str> = captions.iter().map(String::as_str).collect();
        let vars: Vec<candle_core::Var> = params.vars().values().cloned().collect();
        let mut opt = crate::training::AdamW::new(vars, 0.0, 0.98).unwrap();
        let mut losses = Vec::new();
        for _ in 0..60 {
            let (_, v) = enc.encode_video(&x).unwrap();
            let loss = enc.contrastive_loss(&v, &enc.encode_text(&caps).unwrap(), None).unwrap();
            losses.push(loss.to_scalar::<f32>().unwrap());
            opt.step(&loss.backward().unwrap(), 3e-3, 1.0).unwrap();
        }
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        // ln 8 ≈ 2.08 at chance; matched pairs drive it towards 0.
        assert!(first > 1.5 && last < first / 4.0, "InfoNCE {first} → {last}");
    }
}
