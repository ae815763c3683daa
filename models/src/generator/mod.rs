//! The bundled Sora-style generator: a causal (2+1)D video VAE ([`vae`]), spacetime patches and
//! a diffusion transformer ([`dit`]) conditioned on a small word-level text encoder ([`text`]),
//! trained with rectified flow ([`flow`]) on the procedural world ([`train`]).
//!
//! One conditioning mechanism — latent frames held at given values and flagged by a frame mask —
//! gives image-to-video, extension forward and backward, connecting two clips and loops; SDEdit
//! gives video-to-video editing; a one-latent-frame grid gives images.
//!
//! A checkpoint is a folder: `model.safetensors` (all weights, f16), `config.json`
//! ([`CheckpointConfig`]: architecture, vocabulary, latent statistics, parameter counts, training
//! record) and `loss.csv` (the training curve).

pub mod dit;
pub mod flow;
pub mod nn;
pub mod resume;
pub mod text;
pub mod train;
pub mod vae;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use videval_metrics::Video;

use dit::{Dit, DitConfig, DitInput, IMAGE_FPS};
use nn::{Params, randn};
use text::{TextConfig, TextEncoder, Tokens, Vocab};
use vae::{Vae, VaeConfig, latent_frames};

/// Errors of loading, training or sampling, in words.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error("{0}")]
    Request(String),
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

pub type Result<T, E = GenError> = std::result::Result<T, E>;

/// Schema version of `config.json`.
pub const CHECKPOINT_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    pub vae: VaeConfig,
    pub dit: DitConfig,
    pub text: TextConfig,
}

impl Architecture {
    /// Every size in its range, named when it is not: a size that divides by zero or panics in a
    /// layer (0 heads, a dimension heads do not divide). Checked when a checkpoint is trained and
    /// when one is loaded (a hand-edited `config.json` panicked mid-run).
    pub fn check(&self) -> std::result::Result<(), String> {
        let (vae, dit) = (&self.vae, &self.dit);
        within("architecture.vae.channels", vae.channels, 1, 1024)?;
        if vae.channels > 8 && vae.channels % 8 != 0 {
            return Err(format!(
                "architecture.vae.channels: {} is not a multiple of 8 (its group norms have 8 groups)",
                vae.channels
            ));
        }
        within("architecture.vae.latent", vae.latent, 1, 256)?;
        within("architecture.dit.dim", dit.dim, 1, 4096)?;
        within("architecture.dit.depth", dit.depth, 1, 64)?;
        within("architecture.dit.heads", dit.heads, 1, 64)?;
        within("architecture.dit.mlp_ratio", dit.mlp_ratio, 1, 16)?;
        if dit.dim % dit.heads != 0 || (dit.dim / dit.heads) % 2 != 0 {
            return Err(format!(
                "architecture.dit: dim {} over {} heads must give an even head size (3D RoPE rotates pairs)",
                dit.dim, dit.heads
            ));
        }
        self.text.check("architecture.text")
    }
}

/// `x` in `lo..=hi`, or an error naming `field`.
pub(crate) fn within(field: &str, x: usize, lo: usize, hi: usize) -> std::result::Result<(), String> {
    if (lo..=hi).contains(&x) { Ok(()) } else { Err(format!("{field}: {x} is not in {lo}..={hi}")) }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamCounts {
    pub vae: usize,
    pub dit: usize,
    pub text: usize,
    pub total: usize,
}

/// How a checkpoint was trained: what a scaling sweep reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    pub vae_samples: u64,
    pub vae_seconds: f64,
    /// Clips seen by the transformer (its `D`).
    pub samples: u64,
    pub steps: u64,
    pub batch: usize,
    pub lr: f64,
    /// Training compute of the transformer and text encoder, 3 × forward FLOPs per sample.
    pub flops: f64,
    pub seconds: f64,
    pub data_seed: u64,
    pub device: String,
    pub threads: usize,
    pub git_sha: String,
    /// Rectified-flow loss on the fixed validation set, EMA weights.
    pub val_loss: f64,
    pub vae_val_mse: f64,
    pub hyperparameters_tuned: bool,
    /// Validation loss (EMA weights) at a third and two thirds of training and at the end:
    /// points at smaller `D` for L(N, D) fits. They come from one cosine schedule, so the
    /// earlier points sit above what a run of that length would reach (Chinchilla's caveat).
    #[serde(default)]
    pub val_curve: Vec<CurvePoint>,
    /// Where the text encoder came from when it was not trained with the transformer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_encoder: Option<String>,
    /// Distinct clips when the transformer trained on a pool of clips encoded once (`dit.pool`);
    /// absent when every sample was a fresh clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_clips: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub samples: u64,
    pub flops: f64,
    pub val_loss: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    pub schema: u32,
    pub name: String,
    pub architecture: Architecture,
    pub vocab: Vocab,
    pub latent_mean: Vec<f32>,
    pub latent_std: Vec<f32>,
    /// Frame sizes (width, height) seen in training; others work but are out of distribution.
    pub buckets: Vec<[usize; 2]>,
    pub parameters: ParamCounts,
    pub training: TrainingRecord,
}

impl CheckpointConfig {
    /// The frame size the checkpoint was trained at: its largest-area bucket (32×32 for the
    /// 32×32 ladders, 64×64 for the `-64` ladder), 32×32 when it lists none.
    pub fn native_size(&self) -> [usize; 2] {
        self.buckets.iter().copied().max_by_key(|[w, h]| w * h).unwrap_or([32, 32])
    }
}

/// The networks of one checkpoint.
pub struct Model {
    pub config: CheckpointConfig,
    pub vae: Vae,
    pub dit: Dit,
    pub text: TextEncoder,
    latent_mean: Tensor,
    latent_std: Tensor,
    device: Device,
}

/// How a generation is conditioned. Clips must be at the request's frame size.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    /// Text only.
    None,
    /// The image is the first frame.
    Image(&'a Video),
    /// The clip is the start; the rest continues it (extend forward).
    Head(&'a Video),
    /// The clip is the end; what precedes it is generated (extend backward).
    Tail(&'a Video),
    /// The first clip starts the video, the second ends it; the middle connects them.
    Connect(&'a Video, &'a Video),
    /// The last frame returns to the first (generated from text).
    Loop,
    /// SDEdit: the clip noised to `strength` ∈ (0, 1], then denoised with the prompt.
    Edit { video: &'a Video, strength: f64 },
}

#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub prompt: &'a str,
    pub seed: u64,
    pub frames: usize,
    /// Frame size; multiples of 8.
    pub width: usize,
    pub height: usize,
    pub fps: f64,
    pub steps: usize,
    pub guidance: f64,
    pub condition: Condition<'a>,
}

/// A generated clip and what it cost.
#[derive(Debug)]
pub struct Generated {
    pub video: Video,
    /// Latent tokens per transformer pass.
    pub tokens: usize,
    /// Transformer passes made (a guided step is two; a loop generates twice, an edit runs only
    /// the steps below its strength).
    pub passes: usize,
    /// Model FLOPs of the whole generation (text, every transformer pass, VAE encode/decode).
    pub flops: f64,
}

/// Bumped whenever the sampling code changes the videos a checkpoint makes from a request (the
/// sampler, its schedule, resizing, encoding): part of the bundled generator's identity, so a
/// shared store never serves another version's videos for the same weights (the identity held
/// only the weights and the configuration). 2: a prompt's words are split at letters of any
/// script, not only ASCII ones ("naïve" was the tokens "na" and "ve"; ASCII prompts are
/// conditioned as before). 3: a prompt is read in composed Unicode (NFC) before it is split, so a
/// decomposed accent (e + U+0301) is one letter ("café" was "cafe" and an empty word); composed
/// and ASCII prompts are conditioned as before.
pub const SAMPLER_VERSION: u32 = 3;

/// Frames actually generated for a request of `frames` (the next `1 + 4k`).
pub fn generated_frames(frames: usize) -> usize {
    1 + vae::TIME * frames.saturating_sub(1).div_ceil(vae::TIME)
}

/// A video [T, H, W, 3] u8 → [1, 3, T, H, W] in [-1, 1].
pub fn video_tensor(v: &Video, device: &Device) -> candle_core::Result<Tensor> {
    let (t, h, w) = (v.len(), v.height() as usize, v.width() as usize);
    let data: Vec<f32> = v.as_bytes().iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect();
    Tensor::from_vec(data, (1, t, h, w, 3), device)?.permute((0, 4, 1, 2, 3))?.contiguous()
}

/// [3, T, H, W] in [-1, 1] → a video.
pub fn tensor_video(x: &Tensor, fps: f64) -> Result<Video> {
    let (_, _, h, w) = x.dims4()?;
    let x = ((x.clamp(-1.0, 1.0)? + 1.0)? * 127.5)?.round()?.permute((1, 2, 3, 0))?.contiguous()?;
    let data: Vec<u8> = x.flatten_all()?.to_vec1::<f32>()?.into_iter().map(|v| v as u8).collect();
    Video::new(w as u32, h as u32, fps, data).map_err(|e| GenError::Request(e.to_string()))
}

/// Latent frames held fixed, and their values [1, z, T, h, w] (normalised).
struct Given {
    frames: Vec<bool>,
    latents: Tensor,
}

impl Model {
    /// Fresh networks for training.
    pub fn init(arch: &Architecture, vocab: Vocab, seed: u64, device: &Device) -> Result<(Self, Params)> {
        let mut p = Params::init(seed, device);
        let model = Self::build(&mut p, arch, vocab, device)?;
        Ok((model, p))
    }

    /// Fresh networks with fixed (untrainable) random weights, for inference: throughput at
    /// sizes no checkpoint has.
    pub fn random(arch: &Architecture, vocab: Vocab, seed: u64, device: &Device) -> Result<Self> {
        Self::build(&mut Params::init_fixed(seed, device), arch, vocab, device)
    }

    /// The same networks over `weights` detached from any graph (their storage shared, not
    /// copied): a forward pass through it keeps no activations for a backward one. Validation
    /// during training ran on the trainable variables and so held every activation of its
    /// forward pass (over 11 GB for a 16-clip batch at 256²).
    pub fn frozen(&self, weights: &std::collections::BTreeMap<String, Tensor>) -> Result<Self> {
        let tensors = weights.iter().map(|(k, t)| (k.clone(), t.detach())).collect();
        let mut p = Params::load(tensors, &self.device);
        let mut m = Self::build(&mut p, &self.config.architecture, self.config.vocab.clone(), &self.device)?;
        m.latent_mean = self.latent_mean.clone();
        m.latent_std = self.latent_std.clone();
        m.config = self.config.clone();
        Ok(m)
    }

    fn build(p: &mut Params, arch: &Architecture, vocab: Vocab, device: &Device) -> Result<Self> {
        let vae = Vae::new(p, arch.vae)?;
        let n_vae = p.count();
        let text = TextEncoder::new(p, arch.text.clone(), vocab.len())?;
        let n_text = p.count() - n_vae;
        let dit = Dit::new(p, arch.dit, arch.vae.latent, arch.text.dim, arch.text.max_tokens)?;
        let n_dit = p.count() - n_vae - n_text;
        let z = arch.vae.latent;
        let config = CheckpointConfig {
            schema: CHECKPOINT_SCHEMA,
            name: String::new(),
            architecture: arch.clone(),
            vocab,
            latent_mean: vec![0.0; z],
            latent_std: vec![1.0; z],
            buckets: Vec::new(),
            parameters: ParamCounts { vae: n_vae, dit: n_dit, text: n_text, total: p.count() },
            training: TrainingRecord::default(),
        };
        let mut m = Self {
            latent_mean: Tensor::zeros(z, DType::F32, device)?,
            latent_std: Tensor::ones(z, DType::F32, device)?,
            config,
            vae,
            dit,
            text,
            device: device.clone(),
        };
        m.set_latent_stats(vec![0.0; z], vec![1.0; z])?;
        Ok(m)
    }

    pub fn set_latent_stats(&mut self, mean: Vec<f32>, std: Vec<f32>) -> Result<()> {
        let z = mean.len();
        self.latent_mean = Tensor::from_vec(mean.clone(), (1, z, 1, 1, 1), &self.device)?;
        self.latent_std = Tensor::from_vec(std.clone(), (1, z, 1, 1, 1), &self.device)?;
        self.config.latent_mean = mean;
        self.config.latent_std = std;
        Ok(())
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Loads a checkpoint folder.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let err = |path: &Path, msg: String| GenError::Checkpoint { path: path.to_path_buf(), msg };
        let cfg_path = dir.join("config.json");
        let text = crate::files::read_text(&cfg_path, crate::files::CONFIG_BYTES)
            .map_err(|e| err(&cfg_path, e.to_string()))?;
        let config: CheckpointConfig =
            serde_json::from_str(&text).map_err(|e| err(&cfg_path, format!("not a generator config: {e}")))?;
        if config.schema != CHECKPOINT_SCHEMA {
            return Err(err(&cfg_path, format!("schema {} (expected {CHECKPOINT_SCHEMA})", config.schema)));
        }
        config.architecture.check().map_err(|e| err(&cfg_path, e))?;
        let w_path = dir.join("model.safetensors");
        let tensors: HashMap<String, Tensor> =
            candle_core::safetensors::load(&w_path, device).map_err(|e| err(&w_path, e.to_string()))?;
        let mut p = Params::load(tensors, device);
        let mut model = Self::build(&mut p, &config.architecture, config.vocab.clone(), device)
            .map_err(|e| err(&w_path, e.to_string()))?;
        let unused = p.unused();
        if !unused.is_empty() {
            return Err(err(&w_path, format!("tensors not in the architecture: {}", unused.join(", "))));
        }
        model.set_latent_stats(config.latent_mean.clone(), config.latent_std.clone())?;
        model.config = config;
        Ok(model)
    }

    /// Writes `model.safetensors` (f16) and `config.json` into `dir`.
    pub fn save(&self, dir: &Path, weights: &std::collections::BTreeMap<String, Tensor>) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| GenError::Io { path: dir.into(), source })?;
        let half: HashMap<String, Tensor> = weights
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.to_dtype(DType::F16)?)))
            .collect::<candle_core::Result<_>>()?;
        // Each file lands whole (written beside, then renamed): a killed save never leaves a
        // checkpoint that half loads.
        let w_path = dir.join("model.safetensors");
        let w_tmp = dir.join(".model.safetensors.partial");
        candle_core::safetensors::save(&half, &w_tmp)?;
        std::fs::rename(&w_tmp, &w_path).map_err(|source| GenError::Io { path: w_path.clone(), source })?;
        let cfg_path = dir.join("config.json");
        let cfg_tmp = dir.join(".config.json.partial");
        let json = serde_json::to_string_pretty(&self.config).map_err(|e| GenError::Request(e.to_string()))?;
        std::fs::write(&cfg_tmp, json + "\n").map_err(|source| GenError::Io { path: cfg_tmp.clone(), source })?;
        // The weights readable as the config is.
        crate::files::permissions_like(&w_path, &cfg_tmp)
            .map_err(|source| GenError::Io { path: w_path.clone(), source })?;
        std::fs::rename(&cfg_tmp, &cfg_path).map_err(|source| GenError::Io { path: cfg_path, source })
    }

    /// Normalised latent means of a video batch [B, 3, T, H, W].
    pub fn encode(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (mean, _) = self.vae.encode(x)?;
        mean.broadcast_sub(&self.latent_mean)?.broadcast_div(&self.latent_std)
    }

    /// Normalised latents → video batch [B, 3, T, H, W].
    pub fn decode(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        self.vae.decode(&z.broadcast_mul(&self.latent_std)?.broadcast_add(&self.latent_mean)?)
    }

    /// Caption features padded to the encoder's length, and the key mask.
    pub fn text_features(&self, prompts: &[&str]) -> candle_core::Result<(Tensor, Tensor)> {
        let max = self.config.architecture.text.max_tokens;
        let ids: Vec<Vec<u32>> = prompts.iter().map(|p| self.config.vocab.encode(p, max)).collect();
        let tokens = Tokens::new(&ids, max, &self.device)?;
        Ok((self.text.forward(&tokens)?, tokens.mask))
    }

    /// The "no caption" features for classifier-free guidance, `b` times.
    pub fn null_features(&self, b: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let (l, d) = self.dit.y_null.dims2()?;
        Ok((
            self.dit.y_null.unsqueeze(0)?.broadcast_as((b, l, d))?.contiguous()?,
            Tensor::ones((b, l), DType::F32, &self.device)?,
        ))
    }

    fn check(&self, req: &Request<'_>) -> Result<()> {
        let bad = |m: String| Err(GenError::Request(m));
        if req.width == 0 || req.height == 0 || req.width % 8 != 0 || req.height % 8 != 0 {
            return bad(format!("frame size {}×{}: the bundled generator needs multiples of 8", req.width, req.height));
        }
        if req.frames == 0 || req.steps == 0 {
            return bad("frames and steps must be at least 1".into());
        }
        let clip = |v: &Video| -> Result<()> {
            if v.width() as usize != req.width || v.height() as usize != req.height {
                return bad(format!(
                    "conditioning clip is {}×{}, the request {}×{}",
                    v.width(),
                    v.height(),
                    req.width,
                    req.height
                ));
            }
            Ok(())
        };
        match req.condition {
            Condition::Image(v) | Condition::Head(v) | Condition::Tail(v) | Condition::Edit { video: v, .. } => {
                clip(v)?
            }
            Condition::Connect(a, b) => {
                clip(a)?;
                clip(b)?
            }
            Condition::None | Condition::Loop => {}
        }
        if let Condition::Edit { strength, .. } = req.condition
            && !(strength > 0.0 && strength <= 1.0)
        {
            return bad(format!("edit strength {strength}: expected a value in (0, 1]"));
        }
        Ok(())
    }

    /// Encodes the longest `1 + 4k` prefix (or suffix) of a clip: its latents and frame count.
    fn encode_clip(&self, v: &Video, from_end: bool) -> Result<(Tensor, usize)> {
        let n = v.len();
        let use_frames = 1 + vae::TIME * ((n - 1) / vae::TIME);
        let x = video_tensor(v, &self.device)?;
        let x = if from_end { x.narrow(2, n - use_frames, use_frames)? } else { x.narrow(2, 0, use_frames)? };
        Ok((self.encode(&x)?, latent_frames(use_frames)))
    }

    /// Generates one clip.
    pub fn generate(&self, req: &Request<'_>) -> Result<Generated> {
        self.check(req)?;
        let frames = generated_frames(req.frames);
        let (lt, lh, lw) = (latent_frames(frames), req.height / vae::SPACE, req.width / vae::SPACE);
        let z = self.config.architecture.vae.latent;
        let tokens = Dit::tokens(lt, lh, lw);
        let mut flops = self.text.flops(self.config.architecture.text.max_tokens);
        let mut passes = 0;
        let fps = if frames == 1 { IMAGE_FPS } else { req.fps };
        let mut rng = ChaCha8Rng::seed_from_u64(req.seed);
        let place = |given: &mut Given, lat: &Tensor, at: usize| -> Result<()> {
            let k = lat.dim(2)?;
            if at + k > lt {
                return Err(GenError::Request(format!(
                    "the conditioning clips need {} latent frames, the video has {lt}: ask for more frames",
                    at + k
                )));
            }
            let before = given.latents.narrow(2, 0, at)?;
            let after = given.latents.narrow(2, at + k, lt - at - k)?;
            given.latents = Tensor::cat(&[&before, lat, &after], 2)?;
            given.frames[at..at + k].iter_mut().for_each(|g| *g = true);
            Ok(())
        };
        let empty = || -> Result<Given> {
            Ok(Given { frames: vec![false; lt], latents: Tensor::zeros((1, z, lt, lh, lw), DType::F32, &self.device)? })
        };
        let enc_flops = |n: usize| self.vae.encode_flops(n, req.height, req.width);
        let (given, start) = match req.condition {
            Condition::None => (None, None),
            Condition::Image(img) => {
                let mut g = empty()?;
                let (lat, _) = self.encode_clip(&first_frame(img)?, false)?;
                flops += enc_flops(1);
                place(&mut g, &lat, 0)?;
                (Some(g), None)
            }
            Condition::Head(clip) => {
                let mut g = empty()?;
                let (lat, _) = self.encode_clip(clip, true)?;
                flops += enc_flops(clip.len());
                place(&mut g, &lat, 0)?;
                (Some(g), None)
            }
            Condition::Tail(clip) => {
                let mut g = empty()?;
                let (lat, k) = self.encode_clip(clip, false)?;
                flops += enc_flops(clip.len());
                place(&mut g, &lat, lt.saturating_sub(k))?;
                (Some(g), None)
            }
            Condition::Connect(a, b) => {
                let mut g = empty()?;
                let (la, _) = self.encode_clip(a, true)?;
                let (lb, kb) = self.encode_clip(b, false)?;
                flops += enc_flops(a.len()) + enc_flops(b.len());
                place(&mut g, &la, 0)?;
                if la.dim(2)? + kb >= lt {
                    return Err(GenError::Request(format!(
                        "connecting needs room between the clips: {} + {kb} latent frames given, the video has {lt}",
                        la.dim(2)?
                    )));
                }
                place(&mut g, &lb, lt - kb)?;
                (Some(g), None)
            }
            Condition::Loop => {
                // Generate freely, then regenerate with the first frame also held at the end.
                let first = self.generate(&Request { condition: Condition::None, ..req.clone() })?;
                flops += first.flops;
                passes += first.passes;
                let mut g = empty()?;
                let (lat, _) = self.encode_clip(&first_frame(&first.video)?, false)?;
                flops += enc_flops(1);
                place(&mut g, &lat, 0)?;
                if lt > 1 {
                    place(&mut g, &lat, lt - 1)?;
                }
                (Some(g), None)
            }
            Condition::Edit { video, strength } => {
                let (lat, k) = self.encode_clip(video, false)?;
                flops += enc_flops(video.len());
                if k != lt {
                    return Err(GenError::Request(format!(
                        "edit: the input has {} frames, the request {}: they must match",
                        video.len(),
                        req.frames
                    )));
                }
                (None, Some((lat, strength)))
            }
        };
        let ratio = flow::shift_ratio(tokens);
        let levels = match &start {
            Some((_, strength)) => flow::edit_schedule(req.steps, ratio, *strength),
            None => flow::schedule(req.steps, ratio),
        };
        let eps = randn(&mut rng, &[1, z, lt, lh, lw], &self.device)?;
        let mut x = match &start {
            Some((lat, s)) => ((lat * (1.0 - s))? + (&eps * *s)?)?,
            None => eps,
        };
        let (cond, cond_mask) = self.text_features(&[req.prompt])?;
        let cfg = req.guidance > 1.0;
        let (text, text_mask) = if cfg {
            let (null, null_mask) = self.null_features(1)?;
            (Tensor::cat(&[&cond, &null], 0)?, Tensor::cat(&[&cond_mask, &null_mask], 0)?)
        } else {
            (cond, cond_mask)
        };
        let b = if cfg { 2 } else { 1 };
        let fps_t = Tensor::full(fps as f32, b, &self.device)?;
        let (hold, frame_mask) = match &given {
            Some(g) => {
                let m: Vec<f32> = g.frames.iter().map(|&f| if f { 1.0 } else { 0.0 }).collect();
                let hold = Tensor::from_vec(m.clone(), (1, 1, lt, 1, 1), &self.device)?;
                let generated: Vec<f32> = m.iter().map(|v| 1.0 - v).collect();
                let fm = Tensor::from_vec(generated, (1, lt), &self.device)?.broadcast_as((b, lt))?.contiguous()?;
                (Some((hold, &g.latents)), Some(fm))
            }
            None => (None, None),
        };
        let held = |x: &Tensor| -> candle_core::Result<Tensor> {
            match &hold {
                Some((h, lat)) => lat.broadcast_mul(h)? + x.broadcast_mul(&(1.0 - h)?)?,
                None => Ok(x.clone()),
            }
        };
        for w in levels.windows(2) {
            x = held(&x)?;
            let xin = if cfg { Tensor::cat(&[&x, &x], 0)? } else { x.clone() };
            let s = Tensor::full(w[0] as f32, b, &self.device)?;
            let u = self.dit.forward(&DitInput {
                x: &xin,
                s: &s,
                fps: &fps_t,
                text: &text,
                text_mask: &text_mask,
                frame_mask: frame_mask.as_ref(),
            })?;
            let u = if cfg {
                let (uc, uu) = (u.narrow(0, 0, 1)?, u.narrow(0, 1, 1)?);
                (&uu + ((uc - &uu)? * req.guidance)?)?
            } else {
                u
            };
            x = (x + (u * (w[1] - w[0]))?)?;
            flops += b as f64 * self.dit.flops(tokens, self.config.architecture.text.max_tokens);
            passes += b;
        }
        let x = held(&x)?;
        let video = self.decode(&x)?.squeeze(0)?;
        flops += self.vae.decode_flops(frames, req.height, req.width);
        let video = tensor_video(&video.narrow(1, 0, req.frames.min(frames))?, req.fps)?;
        Ok(Generated { video, tokens, passes, flops })
    }
}

/// The device tensors run on: `VIDEVAL_DEVICE=cpu|cuda`, or CUDA when built with the `cuda`
/// feature and a GPU is present, else the CPU. `VIDEVAL_TF32=1` lets CUDA's f32 matrix products
/// use TF32 tensor cores (10-bit mantissa inputs, f32 accumulation; PyTorch's
/// `allow_tf32`); [`train::device_name`] then says `cuda-tf32`. Off by default.
pub fn default_device() -> std::result::Result<Device, String> {
    let device = match std::env::var("VIDEVAL_DEVICE").as_deref() {
        Ok("cpu") => Device::Cpu,
        Ok("cuda") => Device::new_cuda(0).map_err(|e| format!("VIDEVAL_DEVICE=cuda: {e}"))?,
        Ok(other) if !other.is_empty() => return Err(format!("VIDEVAL_DEVICE={other}: expected cpu or cuda")),
        _ => Device::cuda_if_available(0).unwrap_or(Device::Cpu),
    };
    match std::env::var("VIDEVAL_TF32").as_deref() {
        Ok("1") => candle_core::cuda::set_gemm_reduced_precision_f32(true),
        Ok("0") | Ok("") | Err(_) => {}
        Ok(other) => return Err(format!("VIDEVAL_TF32={other}: expected 0 or 1")),
    }
    Ok(device)
}

/// The device's attainable peak FLOP/s, measured (best of five 1024² f32 matmuls), and how.
pub fn measure_peak(device: &Device) -> Result<(f64, String)> {
    measure_peak_at(device, 1024, 5)
}

/// The best rate of `reps` f32 `n × n` matrix products on random data (constant data runs
/// faster on tensor cores), each synchronised, after two warm-ups; and how it was measured. At
/// `n` = 1024 a GPU is launch-bound: large sizes give its arithmetic peak.
pub fn measure_peak_at(device: &Device, n: usize, reps: usize) -> Result<(f64, String)> {
    let a = Tensor::randn(0f32, 1.0, (n, n), device)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), device)?;
    for _ in 0..2 {
        let _ = a.matmul(&b)?;
    }
    device.synchronize()?;
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        let _c = a.matmul(&b)?;
        device.synchronize()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let label = match device {
        Device::Cpu => format!("cpu, {} threads", candle_core::utils::get_num_threads()),
        other => train::device_name(other),
    };
    Ok((2.0 * (n as f64).powi(3) / best, format!("measured: best of {} f32 {n}² matmuls ({label})", reps.max(1))))
}

fn first_frame(v: &Video) -> Result<Video> {
    if v.is_empty() {
        return Err(GenError::Request("conditioning clip has no frames".into()));
    }
    Video::new(v.width(), v.height(), v.fps(), v.frame(0).to_vec()).map_err(|e| GenError::Request(e.to_string()))
}
