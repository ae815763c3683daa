//! `videval weights list`: every network videval can use or will use, its id, the metrics that
//! need it, the files expected, how to obtain and convert them, and whether they are present.
//! Nothing is ever downloaded: public networks come from a folder the user gives (`--weights
//! DIR`, one subfolder per network id, each with the `manifest.json` that
//! `models/weights/encoder/register_weights.py` writes), checked file by file against it.

use std::path::{Path, PathBuf};

use serde::Serialize;
use videval_models::encoders::manifest;

use crate::error::{Error, ExitCode, Result};

/// A network videval knows of.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Network {
    /// The subfolder name under `--weights DIR`, and the manifest entry.
    pub id: &'static str,
    pub name: &'static str,
    /// What needs it.
    pub used_by: &'static [&'static str],
    /// Files expected in `DIR/<id>/` besides `manifest.json`.
    pub files: &'static [&'static str],
    /// Files its loader reads when they are there (each one present must be in the manifest):
    /// DINO's `config.json` sizes a smaller ViT (tests).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub optional: &'static [&'static str],
    /// How to obtain and convert the files.
    pub how: &'static str,
    /// Whether this build can run it (the others are listed so users can prepare them).
    pub implemented: bool,
}

pub const NETWORKS: &[Network] = &[
    Network {
        id: "world-encoder",
        name: "videval world encoder (trained here, embedded in the binary)",
        used_by: &[
            "fvd --extractor world (FVD-W, KVD-W)",
            "clipscore --extractor world (CLIP-W)",
            "world_subject_consistency",
            "world_background_consistency",
        ],
        files: &["config.json", "model.safetensors"],
        optional: &[],
        how: "embedded; `videval train encoder --config models/weights/encoder/world.yaml --overwrite` reproduces it in place",
        implemented: true,
    },
    Network {
        id: "i3d-400",
        name: "Inception-I3D, Kinetics-400 (pytorch-i3d rgb_imagenet.pt)",
        used_by: &["fvd --extractor i3d (FVD, KVD)"],
        files: &["model.safetensors"],
        optional: &[],
        how: "python3 models/weights/encoder/convert_i3d.py rgb_imagenet.pt DIR/i3d-400 (needs torch; registers the manifest)",
        implemented: true,
    },
    Network {
        id: "clip",
        name: "OpenAI CLIP ViT-B/32 (Hugging Face format)",
        used_by: &[
            "clipscore --extractor clip (CLIP score, CLIP-F)",
            "vbench_background_consistency (VBench background_consistency)",
        ],
        files: &["config.json", "model.safetensors", "tokenizer.json"],
        optional: &[],
        how: "python3 models/weights/encoder/convert_clip.py ViT-B-32.pt DIR/clip (OpenAI's checkpoint as VBench caches it; needs torch and OpenAI's BPE vocabulary from the clip or open_clip package), or copy openai/clip-vit-base-patch32's config.json, model.safetensors and tokenizer.json into DIR/clip, then python3 models/weights/encoder/register_weights.py DIR/clip clip",
        implemented: true,
    },
    Network {
        id: "dino-vitb16",
        name: "DINO ViT-B/16 (facebookresearch/dino)",
        used_by: &["vbench_subject_consistency (VBench subject_consistency)"],
        files: &["model.safetensors"],
        optional: &["config.json"],
        how: "python3 models/weights/encoder/convert_dino.py dino_vitbase16_pretrain.pth DIR/dino-vitb16 (facebookresearch/dino's backbone; needs torch; registers the manifest)",
        implemented: true,
    },
    Network {
        id: "clip-vit-l-14-laion",
        name: "OpenAI CLIP ViT-L/14 with the LAION aesthetic linear head",
        used_by: &["vbench_aesthetic_quality (VBench aesthetic_quality)"],
        files: &["config.json", "model.safetensors", "aesthetic_head.safetensors"],
        optional: &[],
        how: "python3 models/weights/encoder/convert_aesthetic.py --clip ViT-L-14.pt --head sa_0_4_vit_l_14_linear.pth DIR/clip-vit-l-14-laion (OpenAI's ViT-L-14.pt as VBench caches it, or a Hugging Face openai/clip-vit-large-patch14 folder; LAION-AI/aesthetic-predictor's head; needs torch; keeps the image tower only; registers the manifest)",
        implemented: true,
    },
    Network {
        id: "raft-things",
        name: "RAFT optical flow, FlyingThings checkpoint (princeton-vl raft-things.pth, torchvision raft_large)",
        used_by: &[
            "vbench_dynamic_degree (VBench dynamic_degree)",
            "vbench_static (VBench's temporal-flickering static filter)",
            "raft_flow_score (EvalCrafter's flow score)",
            "raft_warping_error (EvalCrafter's warping error)",
        ],
        files: &["model.safetensors"],
        optional: &[],
        how: "python3 models/weights/encoder/convert_raft.py raft-things.pth DIR/raft-things (princeton-vl/RAFT's checkpoint, as VBench uses it, or a torchvision raft_large state dict such as raft_large_C_T_V2; needs torch; registers the manifest)",
        implemented: true,
    },
    Network {
        id: "amt-s",
        name: "AMT-S frame interpolation (MCG-NKU/AMT amt-s.pth)",
        used_by: &["vbench_motion_smoothness (VBench motion_smoothness)"],
        files: &["model.safetensors"],
        optional: &[],
        how: "python3 models/weights/encoder/convert_amt.py amt-s.pth DIR/amt-s (MCG-NKU/AMT's AMT-S checkpoint, as VBench uses it; needs torch; registers the manifest)",
        implemented: true,
    },
    Network {
        id: "musiq-spaq",
        name: "MUSIQ image quality, SPAQ checkpoint (pyiqa's architecture, musiq_spaq_ckpt-358bb6af.pth)",
        used_by: &["vbench_imaging_quality (VBench imaging_quality)"],
        files: &["model.safetensors"],
        optional: &[],
        how: "python3 models/weights/encoder/convert_musiq.py musiq_spaq_ckpt-358bb6af.pth DIR/musiq-spaq (pyiqa's SPAQ checkpoint, as VBench uses it; needs torch; registers the manifest)",
        implemented: true,
    },
];

/// Whether a network's files are at hand.
#[derive(Debug, Clone, Serialize)]
pub struct Presence {
    #[serde(flatten)]
    pub network: Network,
    pub folder: Option<PathBuf>,
    /// `embedded`, `present` (every file matches its manifest), `absent`, or `invalid`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The files network `id` needs in its folder, as its manifest must list them, and those its
/// loader reads when they are there (none for an id not in the table: then only its manifest's
/// own entries are checked).
pub fn files_of(id: &str) -> (&'static [&'static str], &'static [&'static str]) {
    NETWORKS.iter().find(|n| n.id == id).map_or((&[], &[]), |n| (n.files, n.optional))
}

/// The status of every network under `weights` (a folder of per-network subfolders).
pub fn list(weights: Option<&Path>) -> Vec<Presence> {
    NETWORKS
        .iter()
        .map(|n| {
            if n.id == "world-encoder" {
                return Presence { network: *n, folder: None, status: "embedded".into(), problem: None };
            }
            let Some(dir) = weights.map(|w| w.join(n.id)) else {
                return Presence {
                    network: *n,
                    folder: None,
                    status: "absent".into(),
                    problem: Some("no --weights folder given (nor VIDEVAL_NETWORKS or VIDEVAL_WEIGHTS)".into()),
                };
            };
            if !dir.is_dir() {
                return Presence { network: *n, folder: Some(dir), status: "absent".into(), problem: None };
            }
            // The same check the scorer makes before it loads the network, and each weights
            // file's header read (the manifest certifies any bytes registered).
            let checked = manifest::verify_user(&dir, n.id, n.files, n.optional, n.how)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    n.files
                        .iter()
                        .filter(|f| f.ends_with(".safetensors"))
                        .try_for_each(|f| videval_models::encoders::check_safetensors_header(&dir.join(f)).map(|_| ()))
                });
            match checked {
                Ok(()) => Presence { network: *n, folder: Some(dir), status: "present".into(), problem: None },
                Err(e) => Presence { network: *n, folder: Some(dir), status: "invalid".into(), problem: Some(e) },
            }
        })
        .collect()
}

pub fn list_command(weights: Option<&Path>, json: bool) -> Result<ExitCode> {
    let dir = crate::distribution::networks_dir_checked(weights)?;
    let rows = list(dir.as_deref());
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| Error::Internal(e.to_string()))?);
        return Ok(ExitCode::Ok);
    }
    for p in &rows {
        let n = &p.network;
        println!(
            "{:<20} {:<9} {}{}",
            n.id,
            p.status,
            n.name,
            if n.implemented { "" } else { "  [not in videval yet]" }
        );
        println!("{:<20} used by: {}", "", n.used_by.join("; "));
        println!("{:<20} files: {} + manifest.json", "", n.files.join(", "));
        println!("{:<20} how: {}", "", n.how);
        if let Some(problem) = &p.problem {
            println!("{:<20} problem: {problem}", "");
        }
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_listed_with_their_status_and_a_tampered_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let rows = list(Some(dir.path()));
        assert_eq!(rows.len(), NETWORKS.len());
        assert_eq!(rows[0].status, "embedded");
        assert!(rows.iter().skip(1).all(|r| r.status == "absent"));
        // A folder with a manifest that matches is present; change a byte and it is invalid.
        let i3d = dir.path().join("i3d-400");
        std::fs::create_dir_all(&i3d).unwrap();
        let register = || {
            let (sum, size) = manifest::sha256_file(&i3d.join("model.safetensors")).unwrap();
            let m = serde_json::json!({"schema": manifest::SCHEMA, "entries": [{"name": "i3d-400", "dir": ".",
                "source": "test", "licence": "test", "obtain": "test",
                "files": [{"path": "model.safetensors", "sha256": sum, "bytes": size}]}]});
            std::fs::write(i3d.join("manifest.json"), m.to_string()).unwrap();
        };
        let t = candle_core::Tensor::new(&[1.0f32, 2.0], &candle_core::Device::Cpu).unwrap();
        candle_core::safetensors::save(
            &std::collections::HashMap::from([("w".to_string(), t)]),
            i3d.join("model.safetensors"),
        )
        .unwrap();
        register();
        let row = |rows: Vec<Presence>| rows.into_iter().find(|r| r.network.id == "i3d-400").unwrap();
        let r = row(list(Some(dir.path())));
        assert_eq!(r.status, "present", "{:?}", r.problem);
        let mut bytes = std::fs::read(i3d.join("model.safetensors")).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(i3d.join("model.safetensors"), &bytes).unwrap();
        assert_eq!(row(list(Some(dir.path()))).status, "invalid");
        // Bytes after the last tensor: loaders refuse the file, so the list does too.
        *bytes.last_mut().unwrap() ^= 1;
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(&[0; 8]);
        std::fs::write(i3d.join("model.safetensors"), &trailing).unwrap();
        register();
        let r = row(list(Some(dir.path())));
        assert!(r.status == "invalid" && r.problem.as_deref().unwrap().contains("after its last tensor"), "{r:?}");
        // Registered, but not weights: text, or cut short.
        std::fs::write(i3d.join("model.safetensors"), b"not weights").unwrap();
        register();
        let r = row(list(Some(dir.path())));
        assert!(r.status == "invalid" && r.problem.as_deref().unwrap().contains("not a safetensors file"), "{r:?}");
        bytes.truncate(bytes.len() - 4);
        std::fs::write(i3d.join("model.safetensors"), &bytes).unwrap();
        register();
        let r = row(list(Some(dir.path())));
        assert!(r.status == "invalid" && r.problem.as_deref().unwrap().contains("does not fit"), "{r:?}");
    }
}
