//! CLIP (Radford et al. 2021) through `candle_transformers::models::clip`, from a local copy of a
//! Hugging Face CLIP checkpoint: `config.json` (HF `CLIPConfig`), `model.safetensors` and
//! `tokenizer.json` (e.g. openai/clip-vit-base-patch32). Nothing is downloaded.
//!
//! Text: the HF tokenizer adds `<|startoftext|>`/`<|endoftext|>`; longer prompts are cut to the
//! context length with the end token kept last (OpenAI `clip.tokenize(truncate=True)`). Prompts
//! are encoded one at a time without padding, so the pooled token — candle takes the position of
//! the largest id, the end token in CLIP's vocabulary — is the end token, as in HF.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::{Activation, ClipTextConfig};
use candle_transformers::models::clip::vision_model::ClipVisionConfig;
use candle_transformers::models::clip::{ClipConfig, ClipModel, div_l2_norm};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error("clip: {0}")]
    Model(#[from] candle_core::Error),
    #[error("clip tokenizer: {0}")]
    Tokenizer(String),
}

/// candle's CLIP config from an HF `config.json` (`text_config`, `vision_config`, `projection_dim`),
/// HF's defaults where a field is absent. Only `quick_gelu` is implemented by candle.
pub fn config_from_hf(v: &Value) -> Result<ClipConfig, String> {
    let get = |o: &Value, k: &str, d: usize| -> Result<usize, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(d),
            Some(x) => x.as_u64().map(|n| n as usize).ok_or_else(|| format!("{k}: expected a whole number, got {x}")),
        }
    };
    let empty = Value::Object(Default::default());
    let text = v.get("text_config").unwrap_or(&empty);
    let vision = v.get("vision_config").unwrap_or(&empty);
    let projection = get(v, "projection_dim", 512)?;
    for (part, o) in [("text_config", text), ("vision_config", vision)] {
        let act = o.get("hidden_act").and_then(Value::as_str).unwrap_or("quick_gelu");
        if act != "quick_gelu" {
            return Err(format!("{part}.hidden_act: {act:?} is not supported (candle's CLIP implements quick_gelu)"));
        }
    }
    let text_config = ClipTextConfig {
        vocab_size: get(text, "vocab_size", 49408)?,
        embed_dim: get(text, "hidden_size", 512)?,
        activation: Activation::QuickGelu,
        intermediate_size: get(text, "intermediate_size", 2048)?,
        max_position_embeddings: get(text, "max_position_embeddings", 77)?,
        pad_with: None,
        num_hidden_layers: get(text, "num_hidden_layers", 12)?,
        num_attention_heads: get(text, "num_attention_heads", 8)?,
        projection_dim: projection,
    };
    let image_size = get(vision, "image_size", 224)?;
    let vision_config = ClipVisionConfig {
        embed_dim: get(vision, "hidden_size", 768)?,
        activation: Activation::QuickGelu,
        intermediate_size: get(vision, "intermediate_size", 3072)?,
        num_hidden_layers: get(vision, "num_hidden_layers", 12)?,
        num_attention_heads: get(vision, "num_attention_heads", 12)?,
        projection_dim: projection,
        num_channels: get(vision, "num_channels", 3)?,
        image_size,
        patch_size: get(vision, "patch_size", 32)?,
    };
    let (t, v) = (&text_config, &vision_config);
    let mut checks = vec![
        ("text_config.max_position_embeddings".to_string(), t.max_position_embeddings, 1, 4096),
        ("text_config.vocab_size".to_string(), t.vocab_size, 1, 1_000_000),
        ("projection_dim".to_string(), projection, 1, 8192),
        ("vision_config.num_channels".to_string(), v.num_channels, 3, 3),
        ("vision_config.image_size".to_string(), v.image_size, 1, 1024),
        ("vision_config.patch_size".to_string(), v.patch_size, 1, v.image_size.max(1)),
    ];
    // The two towers' transformer sizes, checked alike.
    let towers = [
        ("text_config", t.embed_dim, t.intermediate_size, t.num_hidden_layers, t.num_attention_heads),
        ("vision_config", v.embed_dim, v.intermediate_size, v.num_hidden_layers, v.num_attention_heads),
    ];
    for (part, width, inner, layers, heads) in towers {
        checks.extend([
            (format!("{part}.hidden_size"), width, 1, 8192),
            (format!("{part}.intermediate_size"), inner, 1, 65536),
            (format!("{part}.num_hidden_layers"), layers, 1, 128),
            (format!("{part}.num_attention_heads"), heads, 1, width.max(1)),
        ]);
    }
    for (field, x, lo, hi) in checks {
        if !(lo..=hi).contains(&x) {
            return Err(format!("{field}: {x} is not in {lo}..={hi}"));
        }
    }
    for (part, width, _, _, heads) in towers {
        if width % heads != 0 {
            return Err(format!("{part}: hidden_size {width} is not a multiple of num_attention_heads {heads}"));
        }
    }
    Ok(ClipConfig { text_config, vision_config, logit_scale_init_value: 2.6592, image_size })
}

/// A CLIP checkpoint's tensors agree with its config where candle would not check: the class
/// embedding is there (candle makes up a random one, and scores change run to run), and each
/// tower has as many layers as the config says (`text` false for an image tower alone).
pub fn check_tensors(
    file: &Path,
    tensors: &std::collections::HashMap<String, Tensor>,
    config: &ClipConfig,
    text: bool,
) -> Result<(), String> {
    const CLASS: &str = "vision_model.embeddings.class_embedding";
    if !tensors.contains_key(CLASS) {
        return Err(format!("{}: no {CLASS}: not a CLIP image tower", file.display()));
    }
    let towers = [
        ("vision_model.encoder.layers.", "vision_config", config.vision_config.num_hidden_layers, true),
        ("text_model.encoder.layers.", "text_config", config.text_config.num_hidden_layers, text),
    ];
    for (prefix, part, want, checked) in towers {
        let have = super::numbered(tensors, prefix);
        if checked && have != want {
            return Err(format!(
                "{}: {have} {part} layers, but config.json says num_hidden_layers {want}",
                file.display()
            ));
        }
    }
    Ok(())
}

/// The largest `tokenizer.json` read (CLIP's is 2 MB).
const TOKENIZER_BYTES: u64 = 64 << 20;

/// candle's CLIP config from `dir/config.json` (a Hugging Face `CLIPConfig`), errors located.
pub fn read_config(dir: &Path) -> Result<ClipConfig, ClipError> {
    let path = dir.join("config.json");
    let err = |msg: String| ClipError::File { path: path.display().to_string(), msg };
    let text = crate::files::read_text(&path, crate::files::CONFIG_BYTES).map_err(|e| err(e.to_string()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    config_from_hf(&json).map_err(err)
}

/// CLIP's frame preprocessing (at the checkpoint's image size, 224 for ViT-B/32).
pub const PREPROCESS: videval_metrics::preprocess::Preprocess = videval_metrics::preprocess::Preprocess::CLIP;

pub struct Clip {
    model: ClipModel,
    tokenizer: Option<tokenizers::Tokenizer>,
    pub image_size: usize,
    pub context: usize,
    device: Device,
}

impl Clip {
    pub fn new(
        vb: VarBuilder,
        config: &ClipConfig,
        tokenizer: Option<tokenizers::Tokenizer>,
    ) -> Result<Self, ClipError> {
        // The prompt is cleaned as OpenAI's tokenizer cleans it ([`super::clip_text`]), which
        // ends with whitespace and lower case and no NFC: a tokenizer.json's own normalizer
        // (NFC, whitespace, lower case) would compose what OpenAI leaves decomposed
        // (`cafe&#769` tokenised as `café`).
        let tokenizer = match tokenizer {
            Some(mut t) => {
                t.with_normalizer(None::<tokenizers::NormalizerWrapper>)
                    .map_err(|e| ClipError::Tokenizer(e.to_string()))?;
                Some(t)
            }
            None => None,
        };
        Ok(Self {
            model: ClipModel::new(vb.clone(), config)?,
            tokenizer,
            image_size: config.image_size,
            context: config.text_config.max_position_embeddings,
            device: vb.device().clone(),
        })
    }

    /// Loads `dir/{config.json, model.safetensors, tokenizer.json}`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, ClipError> {
        let file = |name: &str| dir.join(name);
        let err = |p: &Path, msg: String| ClipError::File { path: p.display().to_string(), msg };
        let config = read_config(dir)?;
        let tok_path = file("tokenizer.json");
        // Read as the manifest checked it (and bounded: a tokenizer is a few megabytes).
        let tok_text =
            crate::files::read_text(&tok_path, TOKENIZER_BYTES).map_err(|e| err(&tok_path, e.to_string()))?;
        let tokenizer =
            tokenizers::Tokenizer::from_bytes(tok_text.as_bytes()).map_err(|e| err(&tok_path, e.to_string()))?;
        let weights = file("model.safetensors");
        let tensors = super::float_tensors(&weights, device).map_err(|e| err(&weights, e))?;
        check_tensors(&weights, &tensors, &config, true).map_err(|e| err(&weights, e))?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
        Self::new(vb, &config, Some(tokenizer)).map_err(|e| err(&weights, e.to_string()))
    }

    /// Token ids of a prompt, cleaned as OpenAI's tokenizer cleans it ([`super::clip_text`]),
    /// cut to the context length with the end token kept last.
    pub fn tokenize(&self, prompt: &str) -> Result<Vec<u32>, ClipError> {
        let tok = self.tokenizer.as_ref().ok_or_else(|| ClipError::Tokenizer("no tokenizer loaded".into()))?;
        let enc = tok
            .encode(super::clip_text::clean_prompt(prompt), true)
            .map_err(|e| ClipError::Tokenizer(e.to_string()))?;
        let mut ids = enc.get_ids().to_vec();
        if ids.len() > self.context {
            let last = *ids.last().expect("longer than the context, so not empty");
            ids.truncate(self.context);
            ids[self.context - 1] = last;
        }
        Ok(ids)
    }

    /// Projected text features [1, P] of one token sequence (not normalised).
    pub fn text_features_ids(&self, ids: &[u32]) -> Result<Tensor, ClipError> {
        let ids = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        Ok(self.model.get_text_features(&ids)?)
    }

    /// Projected image features [B, P] of preprocessed pixels [B, 3, S, S] (not normalised).
    pub fn image_features(&self, pixels: &Tensor) -> Result<Tensor, ClipError> {
        Ok(self.model.get_image_features(pixels)?)
    }

    /// Unit text embedding of a prompt.
    pub fn embed_text(&self, prompt: &str) -> Result<Vec<f32>, ClipError> {
        let ids = self.tokenize(prompt)?;
        Ok(div_l2_norm(&self.text_features_ids(&ids)?)?.squeeze(0)?.to_vec1()?)
    }

    /// [`PREPROCESS`] at this checkpoint's image size (8 uniform frames, bicubic short side + centre
    /// crop, CLIP mean/std): what a video is decoded to for [`Clip::embed_preprocessed`].
    pub fn video_preprocess(&self) -> videval_metrics::preprocess::Preprocess {
        let s = self.image_size as u32;
        videval_metrics::preprocess::Preprocess {
            spatial: videval_metrics::preprocess::Spatial::ShortSideCrop { short: s, crop_w: s, crop_h: s },
            ..PREPROCESS
        }
    }

    /// Unit embeddings of a video's frames, preprocessed per [`Clip::video_preprocess`] (streamed
    /// from their file, say).
    pub fn embed_preprocessed(&self, f: &videval_metrics::preprocess::Frames) -> Result<Vec<Vec<f32>>, ClipError> {
        let s = self.image_size;
        if (f.width as usize, f.height as usize) != (s, s) {
            return Err(ClipError::Model(candle_core::Error::Msg(format!(
                "expected frames of {s}x{s}, got {}x{}",
                f.width, f.height
            ))));
        }
        self.embed_frames(f.to_channels_first(), f.len)
    }

    /// What scores from weights `weights_sha256` are comparable with, the prompt's tokenisation
    /// included (scores from before prompts were cleaned as OpenAI's are not comparable for
    /// prompts with typographic quotes, entities or ligatures).
    pub fn contract(&self, weights_sha256: &str) -> videval_metrics::distribution::Contract {
        let short = &weights_sha256[..weights_sha256.len().min(12)];
        let s = self.image_size;
        videval_metrics::distribution::Contract {
            extractor: format!(
                "clip@{short} (candle-transformers CLIP; projected, unit-norm embeddings; prompts cleaned as OpenAI's clip.tokenize, {} tokens with the end kept)",
                self.context
            ),
            preprocess: format!(
                "{} frames; bicubic short side {s} (antialiased) + centre crop {s}x{s}; CLIP mean/std",
                PREPROCESS.frames.name()
            ),
        }
    }

    /// Unit image embeddings of frames given channels first `[T, 3, S, S]` (CLIP-normalised).
    pub fn embed_frames(&self, data: Vec<f32>, frames: usize) -> Result<Vec<Vec<f32>>, ClipError> {
        let s = self.image_size;
        let x = Tensor::from_vec(data, (frames, 3, s, s), &self.device)?;
        Ok(div_l2_norm(&self.image_features(&x)?)?.to_vec2()?)
    }
}
