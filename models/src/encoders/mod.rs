//! Feature extractors for distribution, alignment and consistency metrics.
//!
//! - [`world`]: the project's own video/text dual encoder, trained contrastively on world clips
//!   and their captions; the embedded default (FVD-W, CLIP-W, frame features) that needs no
//!   download.
//! - [`i3d`]: Inception-I3D (Kinetics-400), the canonical FVD network, ported from pytorch-i3d;
//!   weights from the user (`models/weights/encoder/convert_i3d.py`).
//! - [`aesthetic`]: the LAION aesthetic predictor on CLIP ViT-L/14's image tower (VBench's
//!   aesthetic quality); weights from the user (`models/weights/encoder/convert_aesthetic.py`).
//! - [`clip`]: CLIP through candle-transformers, from a local Hugging Face checkpoint;
//!   [`clip_text`] cleans prompts as OpenAI's tokenizer does before they are encoded.
//! - [`dino`]: DINO's ViT (VBench's subject consistency), ported from facebookresearch/dino;
//!   weights from the user (`models/weights/encoder/convert_dino.py`).
//! - [`raft`]: RAFT optical flow (VBench's dynamic degree), torchvision's `raft_large` names;
//!   weights from the user (`models/weights/encoder/convert_raft.py`).
//! - [`amt`]: AMT-S frame interpolation (VBench's motion smoothness), the reference's names;
//!   weights from the user (`models/weights/encoder/convert_amt.py`).
//! - [`musiq`]: MUSIQ image quality (VBench's imaging quality), pyiqa's names; weights from the
//!   user (`models/weights/encoder/convert_musiq.py`).
//! - [`manifest`]: the checksum manifest every extractor's weights are loaded through.

pub mod aesthetic;
pub mod amt;
pub mod clip;
pub mod clip_text;
mod clip_text_tables;
pub mod dino;
pub mod i3d;
mod layers;
pub mod manifest;
pub mod musiq;
pub mod raft;
pub mod world;

/// The tensors of a user's weights file, every one floating point: candle would widen an
/// integer tensor to f32 and a network would run on numbers it never held (an I32 or U8 DINO
/// scored 0 with exit 0). Errors name the file.
pub fn float_tensors(
    file: &std::path::Path,
    device: &candle_core::Device,
) -> Result<std::collections::HashMap<String, candle_core::Tensor>, String> {
    let mut tensors = checked_tensors(file, device)?;
    // Integer buffers checkpoints carry and no network here reads (Hugging Face's position ids,
    // batch norm's counter) are left out; any other integer tensor is refused.
    tensors.retain(|name, t| {
        t.dtype().is_float() || !(name.ends_with("position_ids") || name.ends_with("num_batches_tracked"))
    });
    if let Some((name, t)) = tensors.iter().find(|(_, t)| !t.dtype().is_float()) {
        return Err(format!("{}: {name} is {:?}; a network's weights are floating point", file.display(), t.dtype()));
    }
    Ok(tensors)
}

/// The tensors of the safetensors file `file`, read once: the bytes the tensors are built from
/// are the bytes the manifest check saw ([`manifest::confirm`]).
pub fn checked_tensors(
    file: &std::path::Path,
    device: &candle_core::Device,
) -> Result<std::collections::HashMap<String, candle_core::Tensor>, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    manifest::confirm(file, &bytes)?;
    candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| format!("{}: {e}", file.display()))
}

/// How many numbered blocks `{prefix}{i}.…` the tensors hold (their largest index + 1): a
/// config whose depth disagrees would run fewer blocks than the weights have, or make some up.
pub fn numbered(tensors: &std::collections::HashMap<String, candle_core::Tensor>, prefix: &str) -> usize {
    tensors
        .keys()
        .filter_map(|k| k.strip_prefix(prefix)?.split('.').next()?.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// `field` of a config file in `lo..=hi`, or what is wrong, naming the file.
pub fn in_range(file: &std::path::Path, field: &str, x: usize, lo: usize, hi: usize) -> Result<(), String> {
    if (lo..=hi).contains(&x) { Ok(()) } else { Err(format!("{}: {field} {x} is not in {lo}..={hi}", file.display())) }
}
