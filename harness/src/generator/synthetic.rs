//! `synthetic`: the deterministic prompt-aware renderer from `videval_models::synthetic`,
//! stored losslessly. Supports text-to-video and single images; it has no conditioning, so other
//! modes are refused rather than faked.

use videval_models::synthetic::{Request, VERSION, render};

use super::{
    AdapterInfo, GenError, Generator, Job, ModelSpec, Output, builtin_identity, text_modes_only, write_lossless,
};
use crate::error::Result;
use crate::plan::ModelIdentity;

pub const INFO: AdapterInfo = AdapterInfo {
    name: "synthetic",
    summary: "deterministic prompt-aware renderer (colour and direction words → a moving disc); t2v and image",
    build,
};

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    Ok(Box::new(Synthetic { identity: builtin_identity("synthetic", spec, VERSION)? }))
}

pub struct Synthetic {
    identity: ModelIdentity,
}

impl Generator for Synthetic {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn output_ext(&self, _mode: crate::suite::Mode) -> &'static str {
        "mkv"
    }

    fn refuses(
        &self,
        _suite: &crate::suite::Suite,
        case: &crate::suite::Case,
        _held: &dyn Fn(&crate::suite::schema::Media) -> super::HeldClip,
    ) -> Option<String> {
        text_modes_only("synthetic", case.mode).err().map(|e| e.message)
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        text_modes_only("synthetic", job.case.mode)?;
        let g = &job.case.generation;
        super::check_clip_fits(g)?;
        let video = render(&Request {
            prompt: &job.case.prompt,
            seed: job.unit.seed,
            frames: g.frames,
            width: g.width,
            height: g.height,
            fps: g.fps,
        });
        write_lossless(&video, job)
    }
}
