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

/// Checks the header of the safetensors file `path` without reading its data: the header's
/// length within the file, JSON naming tensors of a floating-point type (or an integer buffer a
/// loader leaves out), each tensor's bytes its shape's and inside the data. Returns the number
/// of tensors. (`weights list` called a registered file of text "present".)
pub fn check_safetensors_header(path: &std::path::Path) -> Result<usize, String> {
    use std::io::Read;
    let bad = |why: String| format!("{}: not a safetensors file the networks load: {why}", path.display());
    let len = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut n = [0u8; 8];
    file.read_exact(&mut n).map_err(|_| bad("shorter than its 8-byte header length".into()))?;
    let n = u64::from_le_bytes(n);
    if n > (100 << 20) || n > len - 8 {
        return Err(bad(format!("a header of {n} bytes in a file of {len}")));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(|e| bad(e.to_string()))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("its header is not a JSON object: {e}")))?;
    let data = len - 8 - n;
    let mut tensors = 0;
    // Every tensor's bytes, to check they tile the data from 0 to its end, as loaders require.
    let mut spans: Vec<(u64, u64)> = Vec::new();
    for (name, t) in header.iter().filter(|(k, _)| *k != "__metadata__") {
        let dtype = t["dtype"].as_str().unwrap_or("");
        // Integer buffers a loader leaves out still take their bytes of the data.
        let ignored = name.ends_with("position_ids") || name.ends_with("num_batches_tracked");
        let (size, float): (u64, bool) = match dtype {
            "F16" | "BF16" => (2, true),
            "F32" => (4, true),
            "F64" => (8, true),
            "I64" | "U64" => (8, false),
            "I32" | "U32" => (4, false),
            "I16" | "U16" => (2, false),
            "U8" | "I8" | "BOOL" => (1, false),
            _ => (0, false),
        };
        if size == 0 || !(float || ignored) {
            return Err(bad(format!("{name} is {dtype:?}; a network's weights are floating point")));
        }
        let shape: Option<Vec<u64>> = t["shape"].as_array().and_then(|s| s.iter().map(|d| d.as_u64()).collect());
        let offsets: Option<Vec<u64>> =
            t["data_offsets"].as_array().and_then(|s| s.iter().map(|d| d.as_u64()).collect());
        let (Some(shape), Some([a, b])) = (shape, offsets.as_deref().and_then(|o| <[u64; 2]>::try_from(o).ok())) else {
            return Err(bad(format!("{name} has no shape or data offsets")));
        };
        let bytes = shape.iter().try_fold(size, |acc, &d| acc.checked_mul(d));
        if a > b || b > data || bytes != Some(b - a) {
            return Err(bad(format!("{name}: shape {shape:?} of {dtype} does not fit its bytes {a}..{b} of {data}")));
        }
        spans.push((a, b));
        tensors += usize::from(float);
    }
    spans.sort_unstable();
    let mut end = 0;
    for &(a, b) in &spans {
        if a != end {
            return Err(bad(format!("its tensors leave bytes {end}..{a} of the data unused or overlap")));
        }
        end = b;
    }
    if end != data {
        return Err(bad(format!("{} bytes after its last tensor", data - end)));
    }
    if tensors == 0 {
        return Err(bad("it holds no tensor".into()));
    }
    Ok(tensors)
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
