//! `world`: the oracle. Renders a case's `scene:` exactly, at the case's frame size, rate and
//! length. A probe that fails on the oracle is a broken probe; FVD against the oracle's videos
//! is the distance to the world.

use std::collections::BTreeMap;

use videval_models::world::{self, render::Settings};

use super::{AdapterInfo, GenError, Generator, Job, ModelSpec, Output};
use crate::error::{Error, Result};
use crate::hash::sha256_tagged;
use crate::plan::ModelIdentity;
use crate::suite::Mode;
use crate::video::{EncodeParams, encode};

pub const INFO: AdapterInfo = AdapterInfo {
    name: "world",
    summary: "the procedural world renders each case's scene exactly (the oracle); t2v and image",
    build,
};

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    if spec.path.is_some() || !spec.argv.is_empty() || spec.mapping.is_some() {
        return Err(Error::Config("adapter world takes no path, argv or mapping".into()));
    }
    let mut params = BTreeMap::new();
    params.insert("world_version".to_string(), serde_json::json!(world::VERSION));
    let identity = ModelIdentity {
        adapter: "world".into(),
        name: spec.name.clone().unwrap_or_else(|| "world".into()),
        digest: sha256_tagged(format!("videval-world/v{}", world::VERSION).as_bytes()),
        params,
    };
    Ok(Box::new(World { identity }))
}

pub struct World {
    identity: ModelIdentity,
}

impl Generator for World {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn output_ext(&self) -> &'static str {
        "mkv"
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        if !matches!(job.case.mode, Mode::T2v | Mode::Image) {
            return Err(GenError(format!("adapter world does not support mode {}", job.case.mode.name())));
        }
        let scene =
            job.case.scene.as_ref().ok_or_else(|| {
                GenError(format!("case \"{}\" has no scene: the world cannot render it", job.case.id))
            })?;
        let g = &job.case.generation;
        let settings = Settings { width: g.width, height: g.height, fps: g.fps, frames: g.frames };
        let (video, _) = world::render::render(scene, &settings, false);
        let encode = encode(&video, job.out, &EncodeParams::lossless()).map_err(|e| GenError(e.to_string()))?;
        Ok(Output::Written { encode: Some(encode) })
    }
}
