//! Generator adapters: how videos come into being. One small trait, one file per adapter, one
//! line per adapter in [`ADAPTERS`].
//!
//! An adapter is chosen with `--model`: a built-in name (`bundled`, the default; `synthetic`;
//! `world`), `bundled:CHECKPOINT`, `dir:PATH` for a folder of existing videos, or a model spec
//! YAML file:
//!
//! ```yaml
//! adapter: command            # bundled | synthetic | world | dir | command
//! name: my-model
//! argv: [python3, gen.py, --prompt, "{prompt}", --seed, "{seed}", --out, "{out}"]
//! timeout_s: 600
//! checkpoint: ckpt/model.safetensors   # hashed into the model identity
//! ```

pub mod bundled;
pub mod command;
pub mod dir;
pub mod synthetic;
pub mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use videval_metrics::preprocess::FrameSampling;
use videval_metrics::probes::Held;

use crate::error::{Error, Result};
use crate::plan::{ModelIdentity, Unit};
use crate::suite::load::sibling;
use crate::suite::schema::Media;
use crate::suite::{Case, Mode, Suite};
use crate::video::EncodeParams;
use crate::yaml;

/// One generation request.
#[derive(Debug)]
pub struct Job<'a> {
    pub unit: &'a Unit,
    pub case: &'a Case,
    /// The case's suite (conditioning inputs may name another case's scene).
    pub suite: &'a Suite,
    /// Every unit of the run's plan (all shards): what else the run asks for.
    pub planned: &'a [Unit],
    /// Where an adapter that produces a file writes it (under the store's tmp/, with the
    /// adapter's [`Generator::output_ext`]).
    pub out: &'a Path,
}

/// Where the video of a finished job is.
#[derive(Debug, PartialEq)]
pub enum Output {
    /// Written to `job.out`; the runner moves it into the store. Carries the encoder settings
    /// when the adapter encoded the file itself, and the model's own cost when it measured it.
    Written { encode: Option<EncodeParams>, perf: Option<Perf> },
    /// An existing file the adapter points at (it is hashed and referenced, not copied).
    Existing(PathBuf),
}

/// What one generation cost, measured by an in-process model (warm-up excluded: adapters warm up
/// when built).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Perf {
    /// Model time: conditioning encode, sampling and decode; not reading the inputs, not file
    /// writing, not waiting for another generation.
    pub seconds: f64,
    pub frames: u32,
    /// Latent tokens per transformer pass.
    pub tokens: u64,
    /// Transformer passes made (steps × 2 with guidance; twice that for a loop, which generates
    /// twice; fewer for an edit, which runs the steps below its strength).
    pub passes: u32,
    /// Model FLOPs of the whole generation, from the architecture.
    pub flops: f64,
    /// Peak resident memory of the process so far (bytes), or GPU memory where measured.
    pub peak_memory_bytes: u64,
    pub device: String,
    /// The device's attainable peak (FLOP/s) the MFU is stated against, and how it was obtained.
    pub peak_flops: f64,
    pub peak_source: String,
}

/// A list of YAML scalars as text: `8` is "8", `true` is "true", `5.0` is "5.0".
fn scalars_as_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        UInt(u64),
        Float(f64),
        Bool(bool),
    }
    let items: Vec<Scalar> = Vec::deserialize(d)?;
    Ok(items
        .into_iter()
        .map(|s| match s {
            Scalar::Text(t) => t,
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => format!("{f:?}"),
            Scalar::Bool(b) => b.to_string(),
        })
        .collect())
}

/// A failed unit, in words that go into its record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct GenError {
    pub message: String,
    /// The machine failed, not the model: writing the output ran out of disk space or quota,
    /// or the disk reported an I/O error. The run stops (exit 5) instead of recording the unit as
    /// the model's failure, and a rerun with room generates it.
    pub storage: bool,
}

impl GenError {
    pub fn new(message: impl Into<String>) -> GenError {
        GenError { message: message.into(), storage: false }
    }
}

impl From<crate::video::VideoIoError> for GenError {
    fn from(e: crate::video::VideoIoError) -> GenError {
        let storage = matches!(e, crate::video::VideoIoError::Storage { .. });
        GenError { message: e.to_string(), storage }
    }
}

/// Refuses a clip an in-process generator could not hold: the suite bounds each of frames,
/// width and height, not their product (4096 frames of 8192×8192 are 824 GB, which aborted the
/// process on the allocation).
pub fn check_clip_fits(g: &crate::suite::Generation) -> Result<(), GenError> {
    crate::scoring::clip_fits(g.width, g.height, g.frames).map_err(GenError::new)
}

pub trait Generator: Send + Sync {
    fn identity(&self) -> &ModelIdentity;
    /// Extension of the file the adapter writes to `job.out` (its container) for a unit of
    /// `mode`.
    fn output_ext(&self, _mode: crate::suite::Mode) -> &'static str {
        "mp4"
    }
    /// Why the adapter cannot make `case` (its mode, or its conditioning clips, whose frame
    /// counts `held` gives where known); a run refuses such cases before any work, where each
    /// failed as the model's failure after the rest were generated.
    fn refuses(
        &self,
        _suite: &Suite,
        _case: &crate::suite::Case,
        _held: &dyn Fn(&Media) -> HeldClip,
    ) -> Option<String> {
        None
    }
    /// Why the adapter cannot make some units, judged over the whole plan (two cases a folder
    /// would give one video): the units' `suite/case` names with why, said with [`refuses`]'s
    /// before any work.
    ///
    /// [`refuses`]: Generator::refuses
    fn refuses_plan(&self, _planned: &[Unit]) -> Vec<(String, String)> {
        Vec::new()
    }
    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError>;
    /// What must hold before any unit is generated (the program a command runs exists); an error
    /// stops the run as a bad spec. Called before each generation; cheap after the first.
    fn preflight(&self) -> Result<()> {
        Ok(())
    }
    /// Whether units are generated one after another: a model that spreads each generation over
    /// every core (its timings are then its own, not shared with another generation's).
    fn one_at_a_time(&self) -> bool {
        false
    }
}

/// What is known before any work of a conditioning input: its frame count and frame rate, from
/// its range, its scene's case or its file's header (`None` where none says).
#[derive(Debug, Clone, Copy, Default)]
pub struct HeldClip {
    pub frames: Option<usize>,
    pub fps: Option<f64>,
}

/// A model spec as written in YAML (or built from a `--model` shorthand).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub adapter: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `dir`: the folder of videos.
    #[serde(default)]
    pub path: Option<String>,
    /// `dir`: a CSV (`file,case_id[,seed_idx][,suite]`) or JSON list mapping files to cases.
    #[serde(default)]
    pub mapping: Option<String>,
    /// `command`: program and arguments, with `{placeholders}`; never run through a shell. A
    /// number or boolean written unquoted (`--nproc_per_node, 8`) is that text.
    #[serde(default, deserialize_with = "scalars_as_text")]
    pub argv: Vec<String>,
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// A checkpoint file or folder whose contents identify the model.
    #[serde(default)]
    pub checkpoint: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `bundled`: sampling steps for every case, instead of the suites' (a cheaper or
    /// deliberately degraded candidate); part of the model identity.
    #[serde(default)]
    pub steps: Option<u32>,
}

pub struct AdapterInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub build: fn(&ModelSpec) -> Result<Box<dyn Generator>>,
}

pub static ADAPTERS: &[AdapterInfo] = &[bundled::INFO, synthetic::INFO, world::INFO, dir::INFO, command::INFO];

/// Builds the generator named by a `--model` argument.
pub fn from_arg(arg: &str) -> Result<Box<dyn Generator>> {
    let spec = if let Some(path) = arg.strip_prefix("dir:") {
        ModelSpec { adapter: "dir".into(), path: Some(path.into()), ..Default::default() }
    } else if let Some(ckpt) = arg.strip_prefix("bundled:") {
        ModelSpec { adapter: "bundled".into(), checkpoint: Some(ckpt.into()), ..Default::default() }
    } else if ADAPTERS.iter().any(|a| a.name == arg) && !Path::new(arg).is_file() {
        ModelSpec { adapter: arg.into(), ..Default::default() }
    } else if arg.ends_with(".yaml") || arg.ends_with(".yml") || Path::new(arg).is_file() {
        let mut spec: ModelSpec = yaml::load_file(Path::new(arg))?;
        // Paths in a spec file are relative to the file.
        for p in [&mut spec.path, &mut spec.mapping, &mut spec.checkpoint].into_iter().flatten() {
            *p = sibling(arg, p);
        }
        spec
    } else {
        return Err(Error::Config(format!(
            "--model {arg}: expected one of {}, dir:PATH, or a model spec .yaml file",
            ADAPTERS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
        )));
    };
    build(&spec)
}

pub fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    let adapter = ADAPTERS.iter().find(|a| a.name == spec.adapter).ok_or_else(|| {
        Error::Config(format!(
            "adapter: unknown adapter \"{}\", expected one of {}",
            spec.adapter,
            ADAPTERS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
        ))
    })?;
    if spec.steps.is_some() && adapter.name != "bundled" {
        return Err(Error::Config(format!("steps: only the bundled adapter takes it, not {}", adapter.name)));
    }
    (adapter.build)(spec)
}

/// Identity of a built-in renderer (synthetic, world): its name and version define its output,
/// and it takes no external inputs.
fn builtin_identity(adapter: &str, spec: &ModelSpec, version: u32) -> Result<ModelIdentity> {
    if spec.path.is_some() || !spec.argv.is_empty() || spec.mapping.is_some() || spec.checkpoint.is_some() {
        return Err(Error::Config(format!("adapter {adapter} takes no path, argv, mapping or checkpoint")));
    }
    let mut params = BTreeMap::new();
    params.insert("version".to_string(), serde_json::json!(version));
    Ok(ModelIdentity {
        adapter: adapter.into(),
        name: spec.name.clone().unwrap_or_else(|| adapter.into()),
        digest: crate::hash::sha256_tagged(format!("videval-{adapter}/v{version}").as_bytes()),
        params,
    })
}

/// Built-in renderers without conditioning: text-to-video and single images only.
fn text_modes_only(adapter: &str, mode: crate::suite::Mode) -> Result<(), GenError> {
    match mode {
        crate::suite::Mode::T2v | crate::suite::Mode::Image => Ok(()),
        m => Err(GenError::new(format!("adapter {adapter} does not support mode {}", m.name()))),
    }
}

/// Writes a rendered video losslessly to the job's output.
fn write_lossless(video: &videval_metrics::Video, job: &Job<'_>) -> Result<Output, GenError> {
    let encode = crate::video::encode(video, job.out, &EncodeParams::lossless())?;
    Ok(Output::Written { encode: Some(encode), perf: None })
}

/// A conditioning image or clip of a job: decoded from its file, or the named case's scene
/// rendered by the world at that case's settings; then cut to `frames: [a, b]` or `frame: i`.
pub fn input_media(job: &Job<'_>, media: &Media) -> Result<videval_metrics::Video, GenError> {
    load_media(job.suite, media)
}

/// What a case's conditioned mode holds in its output (the `continuity` probe's reference):
/// i2v the image and extend-forward the clip at the start, extend-backward the clip at the end,
/// interpolate both, edit the whole source clip (an edit keeps what it does not change: an
/// unrelated clip passed every check of an edit case); `None` for the modes that hold nothing.
pub fn held_frames(suite: &Suite, case: &Case) -> Result<Option<Held>, GenError> {
    let input = case.input.clone().unwrap_or_default();
    let media = |m: &Option<Media>, what: &str| -> Result<videval_metrics::Video, GenError> {
        let m = m.as_ref().ok_or_else(|| GenError::new(format!("mode {} needs input.{what}", case.mode.name())))?;
        load_media(suite, m)
    };
    Ok(match case.mode {
        Mode::I2v => Some(Held { head: Some(one_image(media(&input.image, "image")?)?), tail: None, adds: true }),
        Mode::ExtendForward => Some(Held { head: Some(media(&input.video, "video")?), tail: None, adds: true }),
        Mode::ExtendBackward => Some(Held { head: None, tail: Some(media(&input.video, "video")?), adds: true }),
        Mode::Interpolate => Some(Held {
            head: Some(media(&input.video, "video")?),
            tail: Some(media(&input.video2, "video2")?),
            adds: true,
        }),
        Mode::Edit => Some(Held { head: Some(media(&input.video, "video")?), tail: None, adds: false }),
        Mode::T2v | Mode::Image | Mode::Loop => None,
    })
}

/// An `input.image` is one picture: an animation or a video given as one (generators took its
/// first frame, the continuity check compared all of them and failed the model) is refused.
pub fn one_image(v: videval_metrics::Video) -> Result<videval_metrics::Video, GenError> {
    if v.len() == 1 {
        Ok(v)
    } else {
        Err(GenError::new(format!("input.image holds {} frames, an image is one: give frame: N to take one", v.len())))
    }
}

/// [`input_media`] for a suite: the conditioning media's frames.
pub fn load_media(suite: &Suite, media: &Media) -> Result<videval_metrics::Video, GenError> {
    let (first, last) = match (media.frame, media.frames) {
        (Some(f), _) => (f as usize, Some(f as usize)),
        (None, Some([a, b])) => (a as usize, Some(b as usize)),
        (None, None) => (0, None),
    };
    let video = match (media.file(), &media.scene_of) {
        (Some(p), _) => {
            crate::store::regular_or_absent(&p).map_err(|e| GenError::new(e.to_string()))?;
            // Decoding stops after the last frame asked for (a few frames of a long clip were
            // decoded whole first: 1.7 GB for a minute at 640×480), and only the frames asked for
            // are kept, within the memory one video may take (frame 700 of a 480p clip held all
            // 701 frames, 770 MB, to keep one).
            let sampling = last.map_or(FrameSampling::All, |l| FrameSampling::First(l + 1));
            // A clip too large to hold is refused from its header and a demux-only count, before
            // a decode that would run to its end only to refuse it.
            if let (Ok(info), Ok(n)) = (crate::video::probe(&p), crate::video::shown_frames(&p)) {
                let end = last.map_or(n, |l| (l + 1).min(n));
                let kept = u32::try_from(end.saturating_sub(first)).unwrap_or(u32::MAX);
                if let Err(e) = crate::scoring::clip_fits(info.width, info.height, kept) {
                    return Err(GenError::new(format!("{}: {e}", p.display())));
                }
            }
            let (mut data, mut seen, mut size, mut over) = (Vec::new(), 0usize, (0, 0, 0.0), None);
            crate::video::decode_stream(&p, sampling, |head, frame| {
                size = (head.width, head.height, head.fps);
                if seen >= first && over.is_none() {
                    let kept = (seen - first + 1) as u32;
                    match crate::scoring::clip_fits(head.width, head.height, kept) {
                        Ok(()) => data.extend_from_slice(frame),
                        Err(e) => over = Some(e),
                    }
                }
                seen += 1;
            })
            .map_err(|e| GenError::new(e.to_string()))?;
            if let Some(e) = over {
                return Err(GenError::new(format!("{}: {e}", p.display())));
            }
            let last = last.unwrap_or(seen.saturating_sub(1));
            if first > last || last >= seen {
                return Err(GenError::new(format!("input frames {first}..={last}: the clip has {seen} frames")));
            }
            return videval_metrics::Video::new(size.0, size.1, size.2, data).map_err(|e| GenError::new(e.to_string()));
        }
        (None, Some(id)) => {
            let case = suite
                .case(id)
                .ok_or_else(|| GenError::new(format!("input scene_of: no case \"{id}\" in suite {}", suite.name)))?;
            let scene = case
                .scene
                .as_ref()
                .ok_or_else(|| GenError::new(format!("input scene_of: case \"{id}\" has no scene")))?;
            let g = &case.generation;
            let settings = videval_models::world::render::Settings {
                width: g.width,
                height: g.height,
                fps: g.fps,
                frames: g.frames,
            };
            videval_models::world::render::render(scene, &settings, false).0
        }
        (None, None) => return Err(GenError::new("input: give a path or scene_of")),
    };
    let last = last.unwrap_or(video.len().saturating_sub(1));
    if first > last || last >= video.len() {
        return Err(GenError::new(format!("input frames {first}..={last}: the clip has {} frames", video.len())));
    }
    let bytes = video.frame_bytes();
    let data = video.as_bytes()[first * bytes..(last + 1) * bytes].to_vec();
    videval_metrics::Video::new(video.width(), video.height(), video.fps(), data)
        .map_err(|e| GenError::new(e.to_string()))
}

/// Hash of a checkpoint: the file's bytes, or for a folder its sorted file names and hashes.
/// The digest of the named files of a checkpoint folder (those that decide its outputs, not its
/// training logs), in the same form as [`checkpoint_digest`] of a folder holding only them.
pub fn files_digest(dir: &Path, names: &[&str]) -> Result<String> {
    let mut names = names.to_vec();
    names.sort_unstable();
    let mut parts = Vec::new();
    for n in names {
        let p = dir.join(n);
        parts.push((Some(n.to_string()), crate::hash::sha256_file(&p).map_err(Error::io(&p))?));
    }
    Ok(crate::hash::key_of(&parts))
}

/// How deep [`checkpoint_digest`] reads a checkpoint's subfolders (links may loop).
const CHECKPOINT_DEPTH: usize = 8;

/// A checkpoint file's digest, or a folder's: the files directly in it — and, for a
/// diffusers-style folder (a `model_index.json` at its top), every file in its subfolders too
/// (by path relative to it), whose weights live in `unet/`, `vae/`, `text_encoder/`: read only at
/// the top, new weights kept the old identity and the store served the old weights' videos.
/// Hidden subfolders (`.cache`: a download tool's bookkeeping), `__pycache__` and links to folders
/// are passed over. Other folders are read at the top only: one the generator writes into (a
/// module's `__pycache__`, a store or runs under `checkpoint: .`) would change the identity from
/// run to run.
pub fn checkpoint_digest(path: &Path) -> Result<String> {
    if path.is_dir() {
        let deep = path.join("model_index.json").is_file();
        let mut names = Vec::new();
        let mut pending = vec![(PathBuf::new(), 0usize)];
        while let Some((rel, depth)) = pending.pop() {
            let dir = path.join(&rel);
            for e in std::fs::read_dir(&dir).map_err(Error::io(&dir))?.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().into_owned();
                let (p, r) = (e.path(), rel.join(&name));
                let linked = e.file_type().is_ok_and(|t| t.is_symlink());
                if p.is_file() {
                    names.push(r.to_string_lossy().into_owned());
                } else if deep && p.is_dir() && !linked && !name.starts_with('.') && name != "__pycache__" {
                    if depth + 1 > CHECKPOINT_DEPTH {
                        return Err(Error::Config(format!(
                            "checkpoint {}: folders nest deeper than {CHECKPOINT_DEPTH} (a link that loops?)",
                            path.display()
                        )));
                    }
                    pending.push((r, depth + 1));
                }
            }
        }
        files_digest(path, &names.iter().map(String::as_str).collect::<Vec<_>>())
    } else {
        crate::hash::sha256_file(path).map_err(Error::input(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint folder is every file in it and its subfolders (a diffusers layout keeps its
    /// weights in `unet/`), by relative path; hidden subfolders (a download tool's `.cache`) are
    /// not; a folder without subfolders digests as its files.
    #[test]
    fn a_checkpoint_folder_counts_its_subfolders() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("model_index.json"), "{}").unwrap();
        assert_eq!(checkpoint_digest(d).unwrap(), files_digest(d, &["model_index.json"]).unwrap());
        // Without model_index.json a folder is its top-level files: a module's __pycache__ or a
        // store under it does not change it.
        let plain = tempfile::tempdir().unwrap();
        std::fs::write(plain.path().join("gen.py"), "print(1)").unwrap();
        let top = checkpoint_digest(plain.path()).unwrap();
        std::fs::create_dir_all(plain.path().join("__pycache__")).unwrap();
        std::fs::write(plain.path().join("__pycache__/gen.pyc"), "x").unwrap();
        std::fs::create_dir_all(plain.path().join("store/videos")).unwrap();
        std::fs::write(plain.path().join("store/videos/a.mp4"), "x").unwrap();
        assert_eq!(checkpoint_digest(plain.path()).unwrap(), top);
        std::fs::create_dir_all(d.join("unet")).unwrap();
        std::fs::write(d.join("unet/w.safetensors"), "step 1000").unwrap();
        let before = checkpoint_digest(d).unwrap();
        std::fs::create_dir_all(d.join(".cache/x")).unwrap();
        std::fs::write(d.join(".cache/x/meta"), "downloaded at noon").unwrap();
        assert_eq!(checkpoint_digest(d).unwrap(), before, "a hidden subfolder is not the checkpoint");
        std::fs::write(d.join("unet/w.safetensors"), "step 2000").unwrap();
        assert_ne!(checkpoint_digest(d).unwrap(), before, "new weights in a subfolder are a new checkpoint");
    }

    /// A clip the suite allows field by field but no machine holds (4096 frames of 8192×8192,
    /// 824 GB) is the unit's error, not an abort on the allocation.
    #[test]
    fn a_clip_too_large_to_hold_is_refused_before_generating() {
        let mut g = crate::suite::Generation { width: 8192, height: 8192, frames: 4096, ..Default::default() };
        let err = check_clip_fits(&g).unwrap_err();
        assert!(err.message.starts_with("4096 frames of 8192x8192 take 786432 MiB"), "{err}");
        (g.width, g.height, g.frames) = (64, 64, 17);
        assert!(check_clip_fits(&g).is_ok());
    }

    /// A frame or a range of a clip is decoded up to its last frame only, and is exactly those
    /// frames of the clip; a range past the end says how long the clip is.
    #[test]
    fn input_frames_are_cut_from_the_clip_without_decoding_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mkv");
        let clip =
            videval_metrics::Video::new(8, 6, 8.0, (0..6u8).flat_map(|i| [i * 40; 8 * 6 * 3]).collect()).unwrap();
        crate::video::encode(&clip, &path, &EncodeParams::lossless()).unwrap();
        let suite = crate::run::load_suite("smoke", &crate::suite::Limits::default()).unwrap();
        let media = |frame: Option<u32>, frames: Option<[u32; 2]>| Media {
            path: Some(path.to_string_lossy().into_owned()),
            frame,
            frames,
            ..Media::default()
        };
        let range = load_media(&suite, &media(None, Some([2, 4]))).unwrap();
        assert_eq!((range.len(), range.frame(0), range.frame(2)), (3, clip.frame(2), clip.frame(4)));
        let one = load_media(&suite, &media(Some(5), None)).unwrap();
        assert_eq!((one.len(), one.frame(0)), (1, clip.frame(5)));
        assert_eq!(load_media(&suite, &media(None, None)).unwrap(), clip);
        let past = load_media(&suite, &media(None, Some([4, 9]))).unwrap_err().message;
        assert!(past.contains("input frames 4..=9: the clip has 6 frames"), "{past}");
    }

    #[test]
    fn adapter_registry_is_unique_and_documented() {
        let mut names = std::collections::BTreeSet::new();
        for a in ADAPTERS {
            assert!(names.insert(a.name), "duplicate adapter {}", a.name);
            assert!(a.summary.len() > 20);
        }
    }

    #[test]
    fn bad_model_arguments_are_config_errors() {
        assert!(matches!(from_arg("gpt-video"), Err(Error::Config(_))));
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("m.yaml");
        std::fs::write(&spec, "adapter: command\nargvv: [a]\n").unwrap();
        let e = from_arg(spec.to_str().unwrap()).err().unwrap().to_string();
        assert!(e.contains("m.yaml:2:1: argvv: unknown field"), "{e}");
        std::fs::write(&spec, "adapter: quantum\n").unwrap();
        assert!(from_arg(spec.to_str().unwrap()).err().unwrap().to_string().contains("unknown adapter \"quantum\""));
    }
}
