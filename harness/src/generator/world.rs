//! `world`: the oracle. Renders a case's `scene:` exactly, at the case's frame size, rate and
//! length. A probe that fails on the oracle is a broken probe; FVD against the oracle's videos
//! is the distance to the world.

use videval_models::world::{self, render::Settings};

use super::{
    AdapterInfo, GenError, Generator, Job, ModelSpec, Output, builtin_identity, text_modes_only, write_lossless,
};
use crate::error::Result;
use crate::plan::ModelIdentity;

pub const INFO: AdapterInfo = AdapterInfo {
    name: "world",
    summary: "the procedural world renders each case's scene exactly (the oracle); t2v and image",
    build,
};

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    Ok(Box::new(World { identity: builtin_identity("world", spec, world::VERSION)? }))
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
        text_modes_only("world", job)?;
        let scene =
            job.case.scene.as_ref().ok_or_else(|| {
                GenError(format!("case \"{}\" has no scene: the world cannot render it", job.case.id))
            })?;
        let g = &job.case.generation;
        let settings = Settings { width: g.width, height: g.height, fps: g.fps, frames: g.frames };
        let (video, _) = world::render::render(scene, &settings, false);
        write_lossless(&video, job)
    }
}
