//! `synthetic`: the deterministic prompt-aware renderer from `videval_models::synthetic`,
//! encoded to MP4. Supports text-to-video and single images; it has no conditioning, so other
//! modes are refused rather than faked.

use std::collections::BTreeMap;

use videval_models::synthetic::{Request, VERSION, render};

use super::{AdapterInfo, GenError, Generator, Job, ModelSpec, Output};
use crate::error::{Error, Result};
use crate::hash::sha256_tagged;
use crate::plan::ModelIdentity;
use crate::suite::Mode;
use crate::video::{EncodeParams, encode};

pub const INFO: AdapterInfo = AdapterInfo {
    name: "synthetic",
    summary: "deterministic prompt-aware renderer (colour and direction words → a moving disc); t2v and image",
    build,
};

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    if spec.path.is_some() || !spec.argv.is_empty() || spec.mapping.is_some() {
        return Err(Error::Config("adapter synthetic takes no path, argv or mapping".into()));
    }
    let name = spec.name.clone().unwrap_or_else(|| "synthetic".into());
    let mut params = BTreeMap::new();
    params.insert("renderer_version".to_string(), serde_json::json!(VERSION));
    let digest = sha256_tagged(format!("videval-synthetic/v{VERSION}").as_bytes());
    Ok(Box::new(Synthetic { identity: ModelIdentity { adapter: "synthetic".into(), name, digest, params } }))
}

pub struct Synthetic {
    identity: ModelIdentity,
}

impl Generator for Synthetic {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn output_ext(&self) -> &'static str {
        "mkv"
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        if !matches!(job.case.mode, Mode::T2v | Mode::Image) {
            return Err(GenError(format!("adapter synthetic does not support mode {}", job.case.mode.name())));
        }
        let g = &job.case.generation;
        let video = render(&Request {
            prompt: &job.case.prompt,
            seed: job.unit.seed,
            frames: g.frames,
            width: g.width,
            height: g.height,
            fps: g.fps,
        });
        let encode = encode(&video, job.out, &EncodeParams::lossless()).map_err(|e| GenError(e.to_string()))?;
        Ok(Output::Written { encode: Some(encode) })
    }
}
