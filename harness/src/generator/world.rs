//! `world`: the oracle. Renders a case's `scene:` exactly, at the case's frame size, rate and
//! length. A probe that fails on the oracle is a broken probe; FVD against the oracle's videos
//! is the distance to the world.
//!
//! Conditioned cases without a scene of their own are the exact continuation of the scenes their
//! inputs name (`scene_of`), rendered at the case's size and rate: i2v starts at the image's
//! frame and extend-forward at the clip's first frame; extend-backward ends at the clip's last
//! frame (which needs as many frames before it); interpolate is the first clip, then the second
//! clip's scene up to the second clip's end. Edit and loop change what the scene is, so they
//! need the case's own `scene:` (the edited or looping result), as does any input given as a
//! file.

use videval_models::world::{self, render::Settings};

use videval_metrics::Video;

use super::{AdapterInfo, GenError, Generator, Job, ModelSpec, Output, builtin_identity, write_lossless};
use crate::error::Result;
use crate::plan::ModelIdentity;
use crate::suite::schema::Media;
use crate::suite::{Case, Mode, Suite};

pub const INFO: AdapterInfo = AdapterInfo {
    name: "world",
    summary: "the procedural world renders each case's scene exactly (the oracle); every mode: conditioned cases continue their inputs' scenes",
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

    fn output_ext(&self, _mode: crate::suite::Mode) -> &'static str {
        "mkv"
    }

    /// The world renders scenes: a case with none is made only by continuing the scenes of its
    /// inputs, never a file.
    fn refuses(
        &self,
        suite: &crate::suite::Suite,
        case: &crate::suite::Case,
        _held: &dyn Fn(&Media) -> super::HeldClip,
    ) -> Option<String> {
        // The ranges it continues, worked out as generating works them out.
        if case.scene.is_some() { None } else { continuation_pieces(suite, case).err().map(|e| e.message) }
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        let g = &job.case.generation;
        super::check_clip_fits(g)?;
        let settings = |frames: usize| Settings { width: g.width, height: g.height, fps: g.fps, frames: frames as u32 };
        let video = match &job.case.scene {
            Some(scene) => world::render::render(scene, &settings(g.frames as usize), false).0,
            None => continuation(job, &settings)?,
        };
        write_lossless(&video, job)
    }
}

/// What the world renders for a conditioned case: one or two pieces, each frames
/// `[from, to)` of its scene rendered for `len` frames.
struct Piece<'a> {
    scene: &'a world::Scene,
    len: usize,
    from: usize,
    to: usize,
}

/// A conditioned case's continuation of its inputs' scenes (module docs), worked out before any
/// rendering: a run refuses, before any work, a case this says cannot be made.
fn continuation_pieces<'a>(suite: &'a Suite, case: &Case) -> Result<Vec<Piece<'a>>, GenError> {
    let mode = case.mode;
    let n = case.generation.frames as usize;
    let input = case.input.clone().unwrap_or_default();
    let need = |m: &Option<Media>, what: &str| -> Result<Media, GenError> {
        m.clone().ok_or_else(|| GenError::new(format!("mode {} needs input.{what}", mode.name())))
    };
    // The input's scene and its frame range [first, last] there.
    let source = |m: &Media, field: &str| -> Result<(&'a world::Scene, usize, usize), GenError> {
        let refuse =
            |why: String| GenError::new(format!("case \"{}\": the world cannot continue its input: {why}", case.id));
        let id = m.scene_of.as_ref().ok_or_else(|| {
            GenError::new(format!(
                "input.{field} is a file: the world continues only the scenes of other cases (scene_of)"
            ))
        })?;
        let src = suite.case(id).ok_or_else(|| refuse(format!("no case \"{id}\"")))?;
        let scene = src.scene.as_ref().ok_or_else(|| refuse(format!("case \"{id}\" has no scene")))?;
        // The input is cut from the source case's own clip, as the generators receive it.
        let len = src.generation.frames as usize;
        let (first, last) = match (m.frame, m.frames) {
            (Some(f), _) => (f as usize, f as usize),
            (None, Some([a, b])) => (a as usize, b as usize),
            (None, None) => (0, len.saturating_sub(1)),
        };
        if first > last || last >= len {
            return Err(refuse(format!("input frames {first}..={last}: case \"{id}\"'s clip has {len} frames")));
        }
        Ok((scene, first, last))
    };
    let too_short = |what: &str, have: usize, want: usize| {
        GenError::new(format!(
            "mode {}: {what} ends at frame {}, so the world has {have} frames of its scene up to there; the case asks for {want}",
            mode.name(),
            have.saturating_sub(1)
        ))
    };
    match mode {
        Mode::I2v | Mode::ExtendForward => {
            let field = if mode == Mode::I2v { "image" } else { "video" };
            let m = if mode == Mode::I2v { need(&input.image, field)? } else { need(&input.video, field)? };
            let (scene, first, _) = source(&m, field)?;
            Ok(vec![Piece { scene, len: first + n, from: first, to: first + n }])
        }
        Mode::ExtendBackward => {
            let (scene, _, last) = source(&need(&input.video, "video")?, "video")?;
            if last + 1 < n {
                return Err(too_short("input.video", last + 1, n));
            }
            Ok(vec![Piece { scene, len: last + 1, from: last + 1 - n, to: last + 1 }])
        }
        Mode::Interpolate => {
            let (a, a0, a1) = source(&need(&input.video, "video")?, "video")?;
            let (b, _, b1) = source(&need(&input.video2, "video2")?, "video2")?;
            let head = (a1 + 1 - a0).min(n);
            let rest = n - head;
            if b1 + 1 < rest {
                return Err(too_short("input.video2", b1 + 1, rest));
            }
            Ok(vec![
                Piece { scene: a, len: a0 + head, from: a0, to: a0 + head },
                Piece { scene: b, len: b1 + 1, from: b1 + 1 - rest, to: b1 + 1 },
            ])
        }
        Mode::T2v | Mode::Image => Err(GenError::new("the case has no scene for the world to render")),
        Mode::Edit | Mode::Loop => Err(GenError::new(format!(
            "mode {} without a scene of its own: the world renders such a case only from its own scene",
            mode.name()
        ))),
    }
}

/// A conditioned case's video as the continuation of its inputs' scenes (module docs).
fn continuation(job: &Job<'_>, settings: &dyn Fn(usize) -> Settings) -> Result<Video, GenError> {
    let mut data = Vec::new();
    let mut size = None;
    for p in continuation_pieces(job.suite, job.case)? {
        let piece = slice(&world::render::render(p.scene, &settings(p.len), false).0, p.from, p.to)?;
        size.get_or_insert((piece.width(), piece.height(), piece.fps()));
        data.extend_from_slice(piece.as_bytes());
    }
    let (w, h, fps) = size.ok_or_else(|| GenError::new("nothing to render"))?;
    Video::new(w, h, fps, data).map_err(|e| GenError::new(e.to_string()))
}

/// Frames `[from, to)` of `v`.
fn slice(v: &Video, from: usize, to: usize) -> Result<Video, GenError> {
    let bytes = v.frame_bytes();
    let data = v
        .as_bytes()
        .get(from * bytes..to * bytes)
        .ok_or_else(|| GenError::new(format!("frames {from}..{to} of a {}-frame render", v.len())))?;
    Video::new(v.width(), v.height(), v.fps(), data.to_vec()).map_err(|e| GenError::new(e.to_string()))
}
