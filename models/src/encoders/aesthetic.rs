//! The LAION aesthetic predictor as VBench's aesthetic quality runs it: OpenAI CLIP ViT-L/14's
//! image tower (candle-transformers' `ClipVisionTransformer` with the projection), the projected
//! features divided by their L2 norm (torch `F.normalize`, eps 1e-12), then LAION's linear head
//! (`sa_0_4_vit_l_14_linear.pth`, 768 → 1). Only the image tower is read: a Hugging Face CLIP
//! checkpoint's `vision_model.*` and `visual_projection.*` tensors, which
//! `models/weights/encoder/convert_aesthetic.py` writes from OpenAI's `ViT-L-14.pt` (what VBench
//! loads) or from a Hugging Face folder, with the head as `aesthetic_head.safetensors` (`weight`
//! [1, P], `bias` [1]). Nothing is downloaded.

use std::path::Path;

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use candle_transformers::models::clip::vision_model::{ClipVisionConfig, ClipVisionTransformer};

/// CLIP's image tower with the LAION head on top.
pub struct Aesthetic {
    vision: ClipVisionTransformer,
    projection: Linear,
    head: Linear,
    /// The side of the square input (224 for ViT-L/14).
    pub image_size: usize,
    device: Device,
}

impl Aesthetic {
    /// The network from the image tower's weights (`vision_model.*`, `visual_projection.weight`)
    /// and the head's (`weight`, `bias`).
    pub fn new(vision: VarBuilder, head: VarBuilder, config: &ClipVisionConfig) -> candle_core::Result<Self> {
        let projection =
            candle_nn::linear_no_bias(config.embed_dim, config.projection_dim, vision.pp("visual_projection"))?;
        Ok(Aesthetic {
            vision: ClipVisionTransformer::new(vision.pp("vision_model"), config)?,
            projection,
            head: candle_nn::linear(config.projection_dim, 1, head)?,
            image_size: config.image_size,
            device: vision.device().clone(),
        })
    }

    /// Loads `dir/{config.json, model.safetensors, aesthetic_head.safetensors}`; a tensor of the
    /// text tower in `model.safetensors` (a whole Hugging Face checkpoint) is left out.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, String> {
        let full = super::clip::read_config(dir).map_err(|e| e.to_string())?;
        let config = full.vision_config.clone();
        let read = |name: &str| super::float_tensors(&dir.join(name), device);
        let mut tower = read("model.safetensors")?;
        tower.retain(|k, _| k.starts_with("vision_model.") || k.starts_with("visual_projection."));
        super::clip::check_tensors(&dir.join("model.safetensors"), &tower, &full, false)?;
        let head = read("aesthetic_head.safetensors")?;
        let vision = VarBuilder::from_tensors(tower, DType::F32, device);
        let head = VarBuilder::from_tensors(head, DType::F32, device);
        Aesthetic::new(vision, head, &config).map_err(|e| {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            format!("{}: not a CLIP image tower with a {}-d LAION head: {first}", dir.display(), config.projection_dim)
        })
    }

    /// The head's score of each image `[B, 3, S, S]` (CLIP-normalised), before VBench's /10.
    pub fn forward(&self, pixels: &Tensor) -> candle_core::Result<Tensor> {
        let features = self.projection.forward(&self.vision.forward(pixels)?)?;
        // F.normalize(p=2, eps=1e-12): x / max(‖x‖, eps).
        let norm = features.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12, f64::INFINITY)?;
        let unit = features.broadcast_div(&norm)?;
        self.head.forward(&unit)?.squeeze(D::Minus1)
    }

    /// Scores of frames given channels first `[T, 3, S, S]`, one value per frame.
    pub fn score_frames(&self, data: Vec<f32>, frames: usize) -> candle_core::Result<Vec<f32>> {
        let s = self.image_size;
        self.forward(&Tensor::from_vec(data, (frames, 3, s, s), &self.device)?)?.to_vec1()
    }
}
