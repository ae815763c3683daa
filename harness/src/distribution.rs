//! `videval fvd` and `videval clipscore`: distribution and text-alignment metrics over folders of
//! videos, as standalone tools (the way pytorch-fid is used), on the world encoder — the embedded
//! extractor that needs no download. Its numbers are FVD-W / KVD-W / CLIP-W, never plain "FVD":
//! they are comparable only with numbers from the same weights and preprocessing, which every
//! output states (the contract) and every saved statistics file records.

use std::path::{Path, PathBuf};

use serde::Serialize;
use videval_metrics::distribution::interval;
use videval_metrics::distribution::{
    self as dist, FeatureStats, Features, Interval, Kvd, frechet_distance, kvd, sample_size_warnings, stats_file,
};
use videval_metrics::preprocess::{FrameSampling, Frames, Preprocess};
use videval_models::encoders::aesthetic::Aesthetic;
use videval_models::encoders::amt::Amt;
use videval_models::encoders::clip::Clip;
use videval_models::encoders::dino::Dino;
use videval_models::encoders::i3d::I3d;
use videval_models::encoders::manifest;
use videval_models::encoders::musiq::Musiq;
use videval_models::encoders::raft::Raft;
use videval_models::encoders::world::WorldEncoder;

use crate::error::{Error, ExitCode, Result};
use crate::store::write_atomic;

/// Feature extractors of `videval fvd`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Extractor {
    /// The embedded world encoder (FVD-W).
    World,
    /// Inception-I3D, Kinetics-400 logits (canonical FVD); weights from --weights DIR.
    I3d,
}

/// Text–video alignment networks of `videval clipscore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextExtractor {
    /// The embedded world encoder (CLIP-W).
    World,
    /// CLIP from a local Hugging Face checkpoint given with --weights DIR.
    Clip,
}

/// The world encoder and its weights' sha256: from `weights` (a folder with model.safetensors and
/// config.json; the user's own training) or the committed one, checked against the manifest.
pub fn load_world_encoder(weights: Option<&Path>) -> Result<(WorldEncoder, String)> {
    let (dir, sha) = match weights {
        Some(d) => {
            if !d.is_dir() {
                return Err(Error::Config(format!(
                    "--weights {}: not a folder (expected one holding model.safetensors and config.json)",
                    d.display()
                )));
            }
            // Both files make the network (a config with two words swapped is another encoder).
            let sum = |name: &str| {
                let file = d.join(name);
                manifest::sha256_checked(&file).map_err(Error::input(&file))
            };
            let (weights, config) = (sum("model.safetensors")?, sum("config.json")?);
            (d.to_path_buf(), encoder_identity(&weights, &config))
        }
        None => {
            let m = manifest::committed().map_err(|e| Error::Config(e.to_string()))?;
            let dir = m.verify(&manifest::weights_root(), WORLD_ENCODER).map_err(|e| Error::Config(e.to_string()))?;
            // Verified just now: the manifest's sum is the file's.
            (dir, world_encoder_id())
        }
    };
    let device = crate::device::default_device()?;
    // Candle's errors carry a backtrace under RUST_BACKTRACE: the message is their first line.
    let enc = WorldEncoder::load(&dir, &device).map_err(|e| Error::Config(crate::scoring::first_line(e)))?;
    Ok((enc, sha))
}

static WORLD: std::sync::OnceLock<std::result::Result<(WorldEncoder, String), String>> = std::sync::OnceLock::new();

/// The committed world encoder, loaded once per process (scoring's feature metrics share it).
pub fn world_encoder() -> std::result::Result<&'static (WorldEncoder, String), String> {
    WORLD.get_or_init(|| load_world_encoder(None).map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)
}

/// The folder of public networks the user gives (`--weights DIR` on run/score, else
/// `VIDEVAL_NETWORKS`, else `VIDEVAL_WEIGHTS`): one subfolder per network id (`DIR/clip`, …),
/// each with its manifest. `VIDEVAL_WEIGHTS` may hold the project's own weights beside them
/// (`manifest.json`, `encoder/`, `generator/`); the names never collide.
static NETWORKS: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// The networks folder the environment names, if any.
pub fn networks_from_env() -> Option<PathBuf> {
    ["VIDEVAL_NETWORKS", "VIDEVAL_WEIGHTS"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|d| !d.is_empty()))
        .map(PathBuf::from)
}

/// The networks folder a command uses: `--weights` (`flag`), else the one the environment
/// names; an error naming where it came from when it is not a folder (a misspelt
/// `VIDEVAL_WEIGHTS` failed every measurement as the model's failure, exit 4).
pub fn networks_dir_checked(flag: Option<&Path>) -> Result<Option<PathBuf>> {
    let named = match flag {
        Some(d) => Some((d.to_path_buf(), format!("--weights {}", d.display()))),
        None => ["VIDEVAL_NETWORKS", "VIDEVAL_WEIGHTS"].iter().find_map(|v| {
            let d = PathBuf::from(std::env::var_os(v).filter(|d| !d.is_empty())?);
            let label = format!("{v}={}", d.display());
            Some((d, label))
        }),
    };
    match named {
        Some((d, label)) if !d.is_dir() => Err(Error::Config(format!("{label}: not a folder"))),
        other => Ok(other.map(|(d, _)| d)),
    }
}

/// Sets the networks folder for this process (before any network is loaded); the environment
/// (`VIDEVAL_NETWORKS`, then `VIDEVAL_WEIGHTS`) is the default. Returns false when it was
/// already set otherwise.
pub fn set_networks_dir(dir: Option<PathBuf>) -> bool {
    let dir = dir.or_else(networks_from_env);
    let wanted = dir.clone();
    NETWORKS.get_or_init(|| dir) == &wanted
}

fn networks_dir() -> Option<&'static Path> {
    NETWORKS.get_or_init(networks_from_env).as_deref()
}

/// `DIR/<id>` of the networks folder, checked against its manifest, with its identity (the sha256
/// of its one file, or one over all its files); or what is missing, starting "needs " (not
/// measurable, not a failure).
fn network_folder(id: &str, what: &str, how: &str) -> std::result::Result<(PathBuf, String), String> {
    let Some(root) = networks_dir() else {
        return Err(format!(
            "needs {what} weights: give --weights DIR (or VIDEVAL_NETWORKS / VIDEVAL_WEIGHTS) with DIR/{id}; {how} (see `videval weights list`)"
        ));
    };
    let dir = root.join(id);
    // A network left out of the folder is not measurable, as when no folder is given; one there
    // but wrong is an error.
    if !dir.exists() {
        return Err(format!(
            "needs {what} weights: {} has no {id}/; {how} (see `videval weights list`)",
            root.display()
        ));
    }
    let (required, optional) = crate::weights::files_of(id);
    let sha = manifest::verify_user(&dir, id, required, optional, how).map_err(|e| e.to_string())?;
    Ok((dir, sha))
}

/// A network's slot: loaded once per process, with its weights' sha256, or why not.
type Loaded<T> = std::sync::OnceLock<std::result::Result<(T, String), String>>;

/// The network in `DIR/<id>` of the networks folder (checked against its manifest), loaded once
/// per process by `load` on the default device, with its weights' sha256; or why not. Load errors
/// keep their first line (candle's may carry a backtrace).
fn load_network<T, E: ToString>(
    slot: &'static Loaded<T>,
    (id, what, how): (&str, &str, &str),
    load: impl FnOnce(&Path, &candle_core::Device) -> std::result::Result<T, E>,
) -> std::result::Result<&'static (T, String), String> {
    slot.get_or_init(|| {
        let (dir, sha) = network_folder(id, what, how)?;
        let device = crate::device::default_device().map_err(|e| e.to_string())?;
        let net = load(&dir, &device).map_err(crate::scoring::first_line)?;
        Ok((net, sha))
    })
    .as_ref()
    .map_err(Clone::clone)
}

static VBENCH_CLIP: Loaded<Clip> = std::sync::OnceLock::new();

/// CLIP ViT-B/32 from the networks folder (`DIR/clip`, checked against its manifest), loaded once
/// per process, with its weights' sha256; or why not.
pub fn network_clip() -> std::result::Result<&'static (Clip, String), String> {
    load_network(&VBENCH_CLIP, ("clip", "CLIP ViT-B/32", CLIP_HOW), Clip::load)
}

const DINO_HOW: &str = "convert facebookresearch/dino's dino_vitbase16_pretrain.pth with `python3 models/weights/encoder/convert_dino.py dino_vitbase16_pretrain.pth DIR/dino-vitb16`";

static VBENCH_DINO: Loaded<Dino> = std::sync::OnceLock::new();

/// DINO ViT-B/16 from the networks folder (`DIR/dino-vitb16`; an optional `config.json` there,
/// listed in the manifest, sizes a smaller ViT for tests), loaded once per process.
pub fn network_dino() -> std::result::Result<&'static (Dino, String), String> {
    load_network(&VBENCH_DINO, ("dino-vitb16", "DINO ViT-B/16", DINO_HOW), Dino::load)
}

const AESTHETIC_HOW: &str = "convert OpenAI's ViT-L-14.pt (or a Hugging Face openai/clip-vit-large-patch14 folder) and LAION's sa_0_4_vit_l_14_linear.pth with `python3 models/weights/encoder/convert_aesthetic.py --clip ViT-L-14.pt --head sa_0_4_vit_l_14_linear.pth DIR/clip-vit-l-14-laion`";

/// The aesthetic network's folder under the networks folder and its manifest entry.
const AESTHETIC_ID: &str = "clip-vit-l-14-laion";

static VBENCH_AESTHETIC: Loaded<Aesthetic> = std::sync::OnceLock::new();

/// The LAION aesthetic predictor on CLIP ViT-L/14 from the networks folder
/// (`DIR/clip-vit-l-14-laion`, checked against its manifest, which must list the head beside the
/// tower), loaded once per process, with one sha256 over both (both decide its scores).
pub fn network_aesthetic() -> std::result::Result<&'static (Aesthetic, String), String> {
    load_network(
        &VBENCH_AESTHETIC,
        (AESTHETIC_ID, "CLIP ViT-L/14 + LAION aesthetic head", AESTHETIC_HOW),
        Aesthetic::load,
    )
}

const RAFT_HOW: &str = "convert princeton-vl's raft-things.pth (as VBench uses it) or torchvision's raft_large state dict with `python3 models/weights/encoder/convert_raft.py raft-things.pth DIR/raft-things`";

static VBENCH_RAFT: Loaded<Raft> = std::sync::OnceLock::new();

/// RAFT (raft_large / RAFT-things) from the networks folder (`DIR/raft-things`, checked against
/// its manifest), loaded once per process, with its weights' sha256.
pub fn network_raft() -> std::result::Result<&'static (Raft, String), String> {
    load_network(&VBENCH_RAFT, ("raft-things", "RAFT-things", RAFT_HOW), Raft::load)
}

const AMT_HOW: &str = "convert MCG-NKU/AMT's amt-s.pth (as VBench uses it) with `python3 models/weights/encoder/convert_amt.py amt-s.pth DIR/amt-s`";

static VBENCH_AMT: Loaded<Amt> = std::sync::OnceLock::new();

/// AMT-S from the networks folder (`DIR/amt-s`, checked against its manifest), loaded once per
/// process, with its weights' sha256.
pub fn network_amt() -> std::result::Result<&'static (Amt, String), String> {
    load_network(&VBENCH_AMT, ("amt-s", "AMT-S", AMT_HOW), Amt::load)
}

const MUSIQ_HOW: &str = "convert pyiqa's musiq_spaq_ckpt-358bb6af.pth (as VBench uses it) with `python3 models/weights/encoder/convert_musiq.py musiq_spaq_ckpt-358bb6af.pth DIR/musiq-spaq`";

static VBENCH_MUSIQ: Loaded<Musiq> = std::sync::OnceLock::new();

/// MUSIQ (SPAQ) from the networks folder (`DIR/musiq-spaq`, checked against its manifest), loaded
/// once per process, with its weights' sha256.
pub fn network_musiq() -> std::result::Result<&'static (Musiq, String), String> {
    load_network(&VBENCH_MUSIQ, ("musiq-spaq", "MUSIQ (SPAQ)", MUSIQ_HOW), Musiq::load)
}

/// What a metric's values depend on besides the video and the metric's version: the weights of
/// the network its frames go through (part of its scores' cache keys); `None` for metrics that
/// run no network.
pub fn network_id(reads: videval_metrics::registry::Reads) -> Option<String> {
    use videval_metrics::registry::{FrameInput, Reads};
    if let Reads::Features(FrameInput::Full | FrameInput::Background) = reads {
        return Some(world_encoder_id());
    }
    let (id, status) = network_status(reads)?;
    Some(match status {
        Ok(sha) => format!("{id}:{sha}"),
        Err(e) => unavailable(id, &e),
    })
}

/// The user-given network a metric `reads` through: its id, and its weights' sum or why it
/// cannot be loaded (`needs …` when none was given). `None` for the world encoder and for
/// metrics that run no network.
fn network_status(
    reads: videval_metrics::registry::Reads,
) -> Option<(&'static str, std::result::Result<String, String>)> {
    use videval_metrics::registry::{FlowInput, FrameInput, Reads};
    fn sha<N>(r: std::result::Result<&(N, String), String>) -> std::result::Result<String, String> {
        r.map(|(_, sha)| sha.clone())
    }
    Some(match reads {
        Reads::Features(FrameInput::VbenchClip) => ("clip", sha(network_clip())),
        Reads::Features(FrameInput::VbenchDino) => ("dino-vitb16", sha(network_dino())),
        Reads::Features(FrameInput::VbenchAesthetic) => (AESTHETIC_ID, sha(network_aesthetic())),
        Reads::Features(FrameInput::VbenchMusiq) => ("musiq-spaq", sha(network_musiq())),
        Reads::Flow(
            FlowInput::VbenchRaft | FlowInput::VbenchStatic | FlowInput::EvalCrafterFlow | FlowInput::EvalCrafterWarp,
        ) => ("raft-things", sha(network_raft())),
        Reads::Flow(FlowInput::VbenchAmt) => ("amt-s", sha(network_amt())),
        Reads::Features(FrameInput::Full | FrameInput::Background) | Reads::Window(_) | Reads::WholeClip => {
            return None;
        }
    })
}

/// Why the network a metric `reads` is missing now (none given, or not in the folder given),
/// starting "needs "; None when it is there, or when the metric runs no user network. A score
/// cached as not measurable for that reason is keyed alike whatever folder was searched, and
/// says this run's reason, not the one of the run that cached it.
pub fn network_missing(reads: videval_metrics::registry::Reads) -> Option<String> {
    network_status(reads)?.1.err().filter(|e| e.starts_with("needs "))
}

/// Why the network a metric `reads` cannot be used although its weights were given (a wrong
/// checksum, a broken file): `run` refuses before generating anything. None when it loads, or
/// when none were given (its metrics are then n/a, said per metric).
pub fn network_refused(reads: videval_metrics::registry::Reads) -> Option<String> {
    use videval_metrics::registry::{FrameInput, Reads};
    let why = match reads {
        Reads::Features(FrameInput::Full | FrameInput::Background) => world_encoder().err(),
        other => network_status(other)?.1.err(),
    };
    why.filter(|w| !w.starts_with("needs "))
}

/// A network that could not be loaded, in a cache key: why is part of it, so that weights given
/// but unloadable are not served the scores cached when none were given ("needs … weights:
/// give --weights" came back from the cache for a run that gave them, instead of their error).
fn unavailable(id: &str, why: &str) -> String {
    // Not given (or its folder not there): one key, whatever folder was searched (shards given
    // different empty folders were refused as scored two ways). Given but unloadable: its own.
    if why.starts_with("needs ") {
        format!("{id}:absent")
    } else {
        format!("{id}:unloadable:{}", &crate::hash::sha256_hex(why.as_bytes())[..16])
    }
}

/// A world encoder's identity: its weights' sum, as it has always been for the committed config
/// (statistics saved before stay comparable, cached scores stay keyed alike); with another
/// config (a vocabulary with two words swapped is another encoder), the sum of both.
fn encoder_identity(weights: &str, config: &str) -> String {
    let committed_config = manifest::committed().ok().and_then(|m| {
        let e = m.entry(WORLD_ENCODER).ok()?;
        e.files.iter().find(|f| f.path == "config.json").map(|f| f.sha256.clone())
    });
    if committed_config.as_deref() == Some(config) {
        weights.to_string()
    } else {
        crate::hash::sha256_hex(format!("{weights}\0{config}").as_bytes())
    }
}

/// The committed world encoder's identity from the manifest's sums (no loading): part of the
/// cache key of every feature metric's score.
pub fn world_encoder_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        manifest::committed()
            .ok()
            .and_then(|m| {
                let e = m.entry(WORLD_ENCODER).ok()?;
                let sum = |name: &str| e.files.iter().find(|f| f.path == name).map(|f| f.sha256.clone());
                Some(encoder_identity(&sum("model.safetensors")?, &sum("config.json")?))
            })
            .unwrap_or_else(|| "unavailable".into())
    })
    .clone()
}

const WORLD_ENCODER: &str = "world-encoder";

/// Video files of a folder and its subfolders (a reference set kept by class, UCF-101's
/// `ApplyEyeMakeup/…`), found as the `dir` adapter finds them, sorted by relative path, and
/// what was left out, each a warning: hidden files (as hidden folders are: a sync tool's or an
/// editor's leftovers), pictures (FVD compares videos; they were passed over without a word),
/// second names of a video, folders not searched.
pub fn videos_in(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let found = crate::generator::dir::videos_under(dir)?;
    let hidden = |rel: &str| rel.rsplit('/').next().is_some_and(|name| name.starts_with('.'));
    let (hidden_files, videos): (Vec<_>, Vec<_>) = found.videos.iter().partition(|(rel, ..)| hidden(rel));
    let pictures = |what: &str| match found.images.first() {
        Some((first, ..)) => format!(
            "{} picture(s){what} (first: {first}); FVD compares videos: a folder of one video's frames becomes a video with `videval video convert FRAMES OUT.mp4`",
            found.images.len()
        ),
        None => String::new(),
    };
    if videos.is_empty() {
        let also = [
            pictures(""),
            hidden_files.first().map_or(String::new(), |(f, ..)| format!("hidden files left out (first: {f})")),
        ];
        let also: Vec<&str> = also.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
        return Err(Error::Config(format!(
            "{}: no videos (expected files ending in {}, in it or in subfolders to {} levels){}{}",
            dir.display(),
            crate::generator::dir::VIDEO_EXTS.join(", "),
            crate::generator::dir::MAX_DEPTH,
            found.skipped_note(),
            if also.is_empty() { String::new() } else { format!("; found {}", also.join("; ")) }
        )));
    }
    let mut notes = Vec::new();
    if !found.skipped.is_empty() {
        notes.push(format!(
            "{}: {} folder(s) or file(s) not searched for videos{}",
            dir.display(),
            found.skipped.len(),
            found.skipped_note()
        ));
    }
    if let Some((first, ..)) = hidden_files.first() {
        notes.push(format!(
            "{}: {} hidden file(s) left out, as hidden folders are (first: {first})",
            dir.display(),
            hidden_files.len()
        ));
    }
    if !found.images.is_empty() {
        notes.push(format!("{}: {}", dir.display(), pictures(" not counted")));
    }
    // One video reached by two names (a link beside its file) would be counted twice.
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let (mut files, mut repeats) = (Vec::new(), Vec::new());
    for (rel, path, _) in videos {
        match std::fs::metadata(path) {
            Ok(m) if !seen.insert((m.dev(), m.ino())) => repeats.push(rel),
            _ => files.push(path.clone()),
        }
    }
    if let Some(first) = repeats.first() {
        notes.push(format!(
            "{}: {} file(s) are another name for a video already counted (first: {first}); each video is counted once",
            dir.display(),
            repeats.len()
        ));
    }
    Ok((files, notes))
}

/// Each file's clip as `p` preprocesses it, streamed from the file (never the decoded clip),
/// several files at once, with how many of its frames were sampled (fewer than the clip's
/// frames where it is shorter than a count: some taken twice); in the files' order, and the
/// first failing file's error.
fn preprocessed_clips(files: &[PathBuf], p: &Preprocess) -> Result<Vec<(Frames, usize)>> {
    use rayon::prelude::*;
    let distinct = |mut sampled: Vec<usize>| {
        sampled.dedup();
        sampled.len()
    };
    let clips: Vec<_> = files
        .par_iter()
        .map(|f| crate::video::decode_preprocessed_sampled(f, p).map(|(frames, s)| (frames, distinct(s))))
        .collect();
    clips.into_iter().map(|c| c.map_err(Error::from)).collect()
}

/// One side of a comparison: features of a folder (and what reading it left out or repeated),
/// or saved statistics.
enum Side {
    Videos { features: Features, stats: FeatureStats, notes: Vec<String> },
    Stats(FeatureStats),
}

impl Side {
    fn stats(&self) -> &FeatureStats {
        match self {
            Side::Videos { stats, .. } | Side::Stats(stats) => stats,
        }
    }
}

/// A video feature network for FVD/KVD with the contract its features carry.
pub enum VideoNet {
    World(WorldEncoder, String),
    /// The network, its weights' sha256 and the device it runs on.
    I3d(I3d, String, candle_core::Device),
}

/// How to get user weights for an extractor.
// DIR is the folder `--weights` names, as for every network: its `<id>` subfolder is found (a
// hint that converted into DIR itself put CLIP where `run` then said "has no clip/").
const I3D_HOW: &str = "convert pytorch-i3d's rgb_imagenet.pt with `python3 models/weights/encoder/convert_i3d.py rgb_imagenet.pt DIR/i3d-400` (writes DIR/i3d-400/model.safetensors and its manifest.json)";
const CLIP_HOW: &str = "convert OpenAI's ViT-B-32.pt with `python3 models/weights/encoder/convert_clip.py ViT-B-32.pt DIR/clip`, or copy a Hugging Face CLIP checkpoint (config.json, model.safetensors, tokenizer.json; e.g. openai/clip-vit-base-patch32) into DIR/clip and run `python3 models/weights/encoder/register_weights.py DIR/clip clip`";

/// A user weights folder for `extractor` (manifest entry `entry`), checked against its
/// manifest: the folder and the weights' sha256.
/// The network's folder: `--weights` itself, or its `entry` subfolder when it is laid out as
/// `run --weights DIR` takes it (a folder per network id: `DIR/i3d-400/`), so one folder serves
/// every command.
fn user_weights(weights: Option<&Path>, extractor: &str, entry: &str, how: &str) -> Result<(PathBuf, String)> {
    let given = weights.ok_or_else(|| {
        Error::Config(format!("--extractor {extractor} needs --weights DIR (nothing is downloaded): {how}"))
    })?;
    let nested = given.join(entry);
    let dir = if !given.join("manifest.json").exists() && nested.join("manifest.json").is_file() {
        nested
    } else {
        given.to_path_buf()
    };
    let (required, optional) = crate::weights::files_of(entry);
    let sha = manifest::verify_user(&dir, entry, required, optional, how).map_err(|e| Error::Config(e.to_string()))?;
    Ok((dir, sha))
}

impl VideoNet {
    pub fn load(extractor: Extractor, weights: Option<&Path>) -> Result<Self> {
        match extractor {
            Extractor::World => {
                let (enc, sha) = load_world_encoder(weights)?;
                Ok(VideoNet::World(enc, sha))
            }
            Extractor::I3d => {
                let (dir, sha) = user_weights(weights, "i3d", "i3d-400", I3D_HOW)?;
                let device = crate::device::default_device()?;
                let file = dir.join("model.safetensors");
                let net = I3d::load(&file, &device).map_err(|e| Error::BadFile {
                    path: file,
                    message: format!("not pytorch-i3d weights: {}", crate::scoring::first_line(e)),
                })?;
                Ok(VideoNet::I3d(net, sha, device))
            }
        }
    }

    /// The frames, size and values a clip is decoded to for this network.
    fn preprocess(&self) -> Preprocess {
        match self {
            VideoNet::World(..) => videval_models::encoders::world::PREPROCESS,
            VideoNet::I3d(..) => videval_models::encoders::i3d::PREPROCESS,
        }
    }

    /// Feature rows of the videos in `files`, in order. Each clip is decoded straight to the
    /// network's input (8 frames of 32×32 for the world encoder, 16 of 224×224 for I3D), a batch
    /// of files at a time, so memory stays that of one batch of inputs however many videos, how
    /// long and how large they are. With them, a note of the videos shorter than the frames
    /// sampled (the world encoder takes some of their frames more than once), naming the first
    /// by its path under `root`.
    fn features_of_files(&self, root: &Path, files: &[PathBuf], json: bool) -> Result<(Vec<Vec<f64>>, Option<String>)> {
        let p = self.preprocess();
        let bar = if json {
            crate::media::Progress::hidden()
        } else {
            crate::media::progress("features", "videos", files.len() as u64)
        };
        let mut rows = Vec::with_capacity(files.len());
        // (how many, the first with its frames and the frames sampled).
        let mut short: (usize, Option<(&Path, usize, usize)>) = (0, None);
        for chunk in files.chunks(WorldEncoder::EMBED_BATCH) {
            let sampled = preprocessed_clips(chunk, &p)?;
            for (file, (clip, distinct)) in chunk.iter().zip(&sampled) {
                if *distinct < clip.len {
                    short = (short.0 + 1, short.1.or(Some((file, *distinct, clip.len))));
                }
            }
            let clips: Vec<Frames> = sampled.into_iter().map(|(clip, _)| clip).collect();
            match self {
                VideoNet::World(enc, _) => {
                    let refs: Vec<&Frames> = clips.iter().collect();
                    rows.extend(enc.embed_preprocessed_videos(&refs).map_err(|e| Error::Internal(e.to_string()))?);
                }
                VideoNet::I3d(net, _, device) => {
                    // The protocol's clip is a video's first 16 frames: a shorter video gives
                    // I3D a shorter clip, whose features are not those of the others (StyleGAN-V
                    // discards such videos; here the user decides, told which).
                    let clip_frames = match p.frames {
                        FrameSampling::First(n) => n,
                        _ => videval_models::encoders::i3d::MIN_FRAMES,
                    };
                    for (file, clip) in chunk.iter().zip(&clips) {
                        if clip.len < clip_frames.max(videval_models::encoders::i3d::MIN_FRAMES) {
                            return Err(Error::BadFile {
                                path: file.clone(),
                                message: format!(
                                    "{} frames; the FVD protocol scores each video's first {clip_frames} (StyleGAN-V leaves shorter videos out): leave it out of the folder",
                                    clip.len
                                ),
                            });
                        }
                        let row = net.embed_preprocessed(clip, device);
                        rows.push(row.map_err(|e| Error::Internal(format!("{}: {e}", file.display())))?);
                    }
                }
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        // Broken weights (a NaN or an infinity in them) give NaN features: an FVD of NaN, or a
        // plausible number where a filter dropped them.
        if let Some(i) = rows.iter().position(|r| r.iter().any(|x| !x.is_finite())) {
            return Err(Error::Config(format!(
                "the network's weights are broken: {} gave features of {} that are not finite numbers",
                self.contract().extractor,
                files[i].display()
            )));
        }
        let short = short.1.map(|(first, frames, sampled)| {
            format!(
                "{} video(s) have fewer than the {sampled} frames sampled, so some of their frames are taken more than once (first: {}, {frames} frame(s))",
                short.0,
                first.strip_prefix(root).unwrap_or(first).display()
            )
        });
        Ok((rows, short))
    }

    fn contract(&self) -> dist::Contract {
        match self {
            VideoNet::World(enc, sha) => enc.contract(sha),
            VideoNet::I3d(_, sha, _) => I3d::contract(sha),
        }
    }
}

/// The distances' names for features of a contract: FVD-W / KVD-W on the world encoder
/// (comparable only with itself), FVD / KVD on I3D-400, and plain Fréchet and kernel distances
/// on features of any other extractor a statistics file names. Read from the statistics, not
/// `--extractor`: two saved I3D statistics were named FVD-W.
fn distance_names(contract: &dist::Contract) -> (&'static str, &'static str) {
    if contract.extractor.starts_with("world-encoder@") {
        ("FVD-W", "KVD-W")
    } else if contract.extractor.starts_with("i3d-400@") {
        ("FVD", "KVD")
    } else {
        ("FD", "KD")
    }
}

/// Feature rows close enough to be one video's: the same video's features agree to about 1e-7
/// whatever batch it was embedded in (not bit for bit: a batch of 1 or 2 rounds otherwise than
/// one of 3 or more, and the same videos in both sets went unnoticed), distinct videos' differ
/// far more than 1e-6.
fn same_video(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6)
}

/// Rows by a coarse key (their first three values on a 1e-4 grid); a row is looked up in its
/// key's bucket and the neighbouring ones, so two rows a grid line falls between still meet
/// (rounding both to one fine grid split 15% of shared videos).
struct NearRows<'a> {
    rows: Vec<&'a [f64]>,
    buckets: std::collections::HashMap<[i64; 3], Vec<usize>>,
}

impl<'a> NearRows<'a> {
    fn key(row: &[f64]) -> [i64; 3] {
        let at = |i: usize| row.get(i).map_or(0, |v| (v * 1e4).floor() as i64);
        [at(0), at(1), at(2)]
    }

    fn new() -> Self {
        Self { rows: Vec::new(), buckets: std::collections::HashMap::new() }
    }

    fn insert(&mut self, row: &'a [f64]) {
        self.buckets.entry(Self::key(row)).or_default().push(self.rows.len());
        self.rows.push(row);
    }

    fn contains(&self, row: &[f64]) -> bool {
        let k = Self::key(row);
        (0..27).any(|n| {
            let step = |d: i64| (n / 3i64.pow(d as u32)) % 3 - 1;
            let near = [k[0] + step(0), k[1] + step(1), k[2] + step(2)];
            self.buckets.get(&near).is_some_and(|b| b.iter().any(|&i| same_video(self.rows[i], row)))
        })
    }
}

/// How many rows of `a` are a row of `b` ([`same_video`]): the same video in both sets.
fn shared_rows(a: &Features, b: &Features) -> usize {
    let mut in_b = NearRows::new();
    for i in 0..b.n() {
        in_b.insert(b.row(i));
    }
    (0..a.n()).filter(|&i| in_b.contains(a.row(i))).count()
}

/// How many rows of `a` repeat an earlier one ([`same_video`]): a video copied within one set.
fn repeated_rows(a: &Features) -> usize {
    let mut seen = NearRows::new();
    let mut repeated = 0;
    for i in 0..a.n() {
        if seen.contains(a.row(i)) {
            repeated += 1;
        } else {
            seen.insert(a.row(i));
        }
    }
    repeated
}

/// The largest statistics file read (a 4,096-d covariance takes 64 MiB).
const MAX_STATS_BYTES: u64 = 1 << 30;

/// A `.vvstats` file's bytes; a file that does not start as one (a video given where a folder
/// was meant) is refused from its first bytes, not read whole (a 2 GB file took 2 GB and 9 s).
fn read_stats_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let not_stats = || Error::BadFile {
        path: path.to_path_buf(),
        message: format!(
            "not a videval statistics file (expected the magic bytes {:?}; expected a folder of videos or a .vvstats file)",
            "VVSTATS1"
        ),
    };
    let mut file = std::fs::File::open(path).map_err(Error::input(path))?;
    let mut bytes = Vec::new();
    (&mut file).take(stats_file::MAGIC.len() as u64).read_to_end(&mut bytes).map_err(Error::input(path))?;
    if bytes != stats_file::MAGIC {
        return Err(not_stats());
    }
    // The header says how large the file must be: a file of another size is refused from it,
    // not read up to the limit first (a 3 GB file with a broken header took 1.1 GB and 9 s).
    let damaged = |message: String| Error::BadFile { path: path.to_path_buf(), message };
    let mut h = [0u8; 8];
    (&mut file).read_exact(&mut h).map_err(|_| damaged("cut off in its header".into()))?;
    bytes.extend_from_slice(&h);
    let h = u64::from_le_bytes(h);
    if h > 1 << 20 {
        return Err(damaged(format!("a header of {h} bytes: not statistics videval writes")));
    }
    let mut header = vec![0u8; h as usize];
    (&mut file).read_exact(&mut header).map_err(|_| damaged(format!("its header of {h} bytes is cut off")))?;
    let dim = serde_json::from_slice::<serde_json::Value>(&header).ok().and_then(|v| v["dim"].as_u64());
    let want = dim.and_then(|d| {
        d.checked_mul(d.checked_add(1)?)?.checked_div(2)?.checked_add(d)?.checked_mul(8)?.checked_add(16 + h)
    });
    let len = file.metadata().map_err(Error::input(path))?.len();
    match (dim, want) {
        (Some(d), _) if d > stats_file::MAX_DIM as u64 => {
            return Err(damaged(format!(
                "statistics of {d}-d features: at most {}-d are compared",
                stats_file::MAX_DIM
            )));
        }
        (Some(d), None) => {
            return Err(damaged(format!("a header claiming {d}-d statistics: more than a file can hold")));
        }
        (Some(d), Some(want)) if want != len => {
            return Err(damaged(format!(
                "{len} bytes, expected {want} for {d}-d statistics: cut off, or not what videval writes"
            )));
        }
        _ => {}
    }
    bytes.extend_from_slice(&header);
    file.take(MAX_STATS_BYTES).read_to_end(&mut bytes).map_err(Error::input(path))?;
    if bytes.len() as u64 >= MAX_STATS_BYTES {
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            message: format!("{MAX_STATS_BYTES} bytes or more: not statistics videval writes"),
        });
    }
    Ok(bytes)
}

/// One side of `fvd`: a statistics file, or a folder's videos through `net` (loaded once, by the
/// first folder).
fn side(path: &Path, net: &mut Option<VideoNet>, args: &FvdArgs<'_>) -> Result<Side> {
    if path.is_file() {
        let bytes = read_stats_file(path)?;
        // The error names the file once (it read "S/t.vvstats: S/t.vvstats: …").
        let stats = stats_file::from_bytes(&bytes, "the statistics")
            .map_err(|e| Error::BadFile { path: path.to_path_buf(), message: e.to_string() })?;
        return Ok(Side::Stats(stats));
    }
    if !path.is_dir() {
        return Err(Error::Config(format!("{}: not a folder of videos or a .vvstats file", path.display())));
    }
    let (files, mut notes) = videos_in(path)?;
    let net = match net {
        Some(net) => net,
        None => net.insert(VideoNet::load(args.extractor, args.weights)?),
    };
    let (rows, short) = net.features_of_files(path, &files, args.json)?;
    notes.extend(short.map(|s| format!("{}: {s}", path.display())));
    let features = Features::from_rows(&rows).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    let stats = FeatureStats::from_features(&features, net.contract())
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(Side::Videos { features, stats, notes })
}

#[derive(Debug, Serialize)]
pub struct FvdReport {
    pub metric: &'static str,
    pub value: f64,
    /// The jackknife interval of the Fréchet distance (covers its expectation at these N).
    pub interval: Option<Interval>,
    pub kvd: Option<Kvd>,
    /// The jackknife interval of the all-rows KVD estimate (covers the population MMD²).
    pub kvd_interval: Option<Interval>,
    pub n_a: usize,
    pub n_b: usize,
    pub dim: usize,
    pub extractor: String,
    pub preprocess: String,
    pub method: &'static str,
    pub warnings: Vec<String>,
}

pub struct FvdArgs<'a> {
    pub a: &'a Path,
    pub b: &'a Path,
    pub extractor: Extractor,
    pub weights: Option<&'a Path>,
    pub save_stats: Option<&'a Path>,
    pub jackknife_groups: usize,
    pub seed: u64,
    pub json: bool,
}

pub fn fvd_command(args: &FvdArgs) -> Result<ExitCode> {
    if (1..interval::MIN_GROUPS).contains(&args.jackknife_groups) {
        return Err(Error::Config(format!(
            "--jackknife-groups {}: expected 0 (no interval) or at least {}",
            args.jackknife_groups,
            interval::MIN_GROUPS
        )));
    }
    if let Some(out) = args.save_stats.filter(|o| o.is_dir()) {
        return Err(Error::Config(format!(
            "--save-stats {}: a folder, where a .vvstats file is expected",
            out.display()
        )));
    }
    // Statistics go to a .vvstats file, never over an input (a video of the folder compared
    // became statistics).
    if let Some(out) = args.save_stats {
        if out.extension().is_none_or(|e| e != "vvstats") {
            return Err(Error::Config(format!(
                "--save-stats {}: statistics are written to a file ending in .vvstats",
                out.display()
            )));
        }
        if [args.a, args.b].iter().any(|input| crate::store::same_file(out, input)) {
            return Err(Error::Config(format!("--save-stats {}: that is one of the inputs", out.display())));
        }
    }
    // Two statistics files need no network (asking for I3D's demanded weights it never used).
    let mut net = None;
    let a = side(args.a, &mut net, args)?;
    let b = side(args.b, &mut net, args)?;
    let (fvd_name, kvd_name) = distance_names(&a.stats().contract);
    let bad = |e: dist::DistributionError| Error::Config(format!("{} vs {}: {e}", args.a.display(), args.b.display()));
    let value = frechet_distance(a.stats(), b.stats()).map_err(bad)?;
    if !value.is_finite() {
        return Err(Error::Config(format!(
            "{} vs {}: the Fréchet distance is not a finite number ({value}): the statistics hold values too large to compare",
            args.a.display(),
            args.b.display()
        )));
    }
    // Saved once the two sides compare (a refused comparison left the file written, unsaid).
    if let Some(out) = args.save_stats {
        write_atomic(out, &stats_file::to_bytes(a.stats()))?;
    }
    let (interval, kvd_value, kvd_interval) = match (&a, &b) {
        (Side::Videos { features: fa, .. }, Side::Videos { features: fb, .. }) => {
            let groups = args.jackknife_groups;
            let (interval, kvd_interval) = if groups > 0 {
                (
                    interval::frechet_interval(fa, fb, groups, 0.95, args.seed).map_err(bad)?.map(|(_, i)| i),
                    interval::kvd_interval(fa, fb, groups, 0.95, args.seed).map_err(bad)?,
                )
            } else {
                (None, None)
            };
            let value = kvd(fa, fb, 100, 1000, args.seed).map_err(bad)?;
            // With sets of unequal sizes (or over 1,000 videos) the KVD shown is the reference
            // protocol's mean over random subsets, which depends on the draw; the interval is
            // around the estimate from every row: both said, not one passed off as the other.
            let kvd_interval = kvd_interval.map(|(all_rows, mut i)| {
                if value.subsets > 1 {
                    i.target = format!(
                        "{}; built around the estimate from every video, {all_rows:.6}, where the KVD shown is the mean over {} random subsets of {} videos (the reference protocol)",
                        i.target, value.subsets, value.subset_size
                    );
                }
                i
            });
            (interval, Some(value), kvd_interval)
        }
        _ => (None, None, None),
    };
    let s = a.stats();
    // Above the kernel matrices' size limit the KVD interval is not computed: said (it was left
    // out without a word).
    let biggest = s.n.max(b.stats().n);
    let kvd_interval_dropped = args.jackknife_groups > 0
        && kvd_value.is_some()
        && kvd_interval.is_none()
        && biggest > interval::MAX_KERNEL_ROWS;
    let mut warnings: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|side| match side {
            Side::Videos { notes, .. } => notes.clone(),
            Side::Stats(_) => Vec::new(),
        })
        .collect();
    warnings.extend(sample_size_warnings(s.n, b.stats().n, s.dim()));
    if kvd_interval_dropped {
        warnings.push(format!(
            "no KVD interval: a set of {biggest} videos is over the {} its kernel matrices are computed for; the KVD value is from subsets",
            interval::MAX_KERNEL_ROWS
        ));
    }
    match (&a, &b) {
        (Side::Videos { features: fa, .. }, Side::Videos { features: fb, .. }) => {
            if args.jackknife_groups > 0 && interval.is_none() {
                warnings.push(format!(
                    "no interval: the jackknife needs at least {} videos in each set",
                    interval::MIN_GROUPS
                ));
            }
            for (f, side) in [(fa, &args.a), (fb, &args.b)] {
                let repeated = repeated_rows(f);
                if repeated > 0 {
                    warnings.push(format!(
                        "{repeated} video(s) of {} have the same features as another of it (a copy?): each copy counts as another sample",
                        side.display()
                    ));
                }
            }
            let shared = shared_rows(fa, fb);
            if shared > 0 {
                warnings.push(format!(
                    "{shared} video(s) of {} have the same features as one of {} (the same video in both sets?): the intervals assume two independent samples and do not hold for sets that share videos",
                    args.a.display(),
                    args.b.display()
                ));
            }
        }
        _ => warnings.push(format!(
            "no interval{}: saved statistics (.vvstats) hold no per-video features",
            if kvd_value.is_none() { " and no KVD" } else { "" }
        )),
    }
    let report = FvdReport {
        metric: fvd_name,
        value,
        interval,
        kvd: kvd_value,
        kvd_interval,
        n_a: s.n,
        n_b: b.stats().n,
        dim: s.dim(),
        extractor: s.contract.extractor.clone(),
        preprocess: s.contract.preprocess.clone(),
        method: "Fréchet distance, covariance with N-1, trace term by symmetric eigendecomposition (eigenvalues clamped at 0)",
        warnings,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?);
    } else {
        print!("{fvd_name} {:.4}", report.value);
        if let Some(i) = &report.interval {
            print!("  (95% CI {:.4} – {:.4}; {}; covers {})", i.lower, i.upper, i.method, i.target);
        }
        println!("\n  {} vs {} videos, {}-d; {}", report.n_a, report.n_b, report.dim, report.extractor);
        println!("  preprocessing: {}", report.preprocess);
        if let Some(k) = &report.kvd {
            let spread = match k.subset_std {
                Some(sd) => format!("sd {sd:.6} over {} subsets of {}", k.subsets, k.subset_size),
                None => format!("all {} videos of each set", k.subset_size),
            };
            print!("{kvd_name} {:.6} ({spread}; {})", k.mmd2, k.estimator);
            if let Some(i) = &report.kvd_interval {
                print!("\n  95% CI {:.6} – {:.6} ({}; covers {})", i.lower, i.upper, i.method, i.target);
            }
            println!();
        }
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(out) = args.save_stats {
            println!("saved the statistics of {} to {}", args.a.display(), out.display());
        }
    }
    Ok(ExitCode::Ok)
}

/// Reads `file<TAB>prompt` lines (blank lines and `#` comments skipped; a BOM and CRLF line ends
/// are fine), each naming a video file inside `dir` (no `..`, no absolute path) once, with a
/// prompt that is not empty. Errors name the line.
pub fn read_prompts(path: &Path, dir: &Path) -> Result<Vec<(String, String)>> {
    let text = videval_models::files::read_text(path, 256 << 20).map_err(Error::input(path))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let bad = |line: usize, message: String| Error::BadFile {
        path: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    let mut out = Vec::new();
    // Keyed by the file itself (`clip.mp4` and `./clip.mp4`, or a link to it, were scored twice).
    let mut seen: std::collections::BTreeMap<(u64, u64), usize> = std::collections::BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        // A `#` line is a comment unless it names a file before its tab: `#1 clip.mp4<TAB>prompt`
        // was skipped, its video left out of the mean without a word; `# file<TAB>prompt` is a
        // commented header.
        let names_file = |l: &str| l.split_once('\t').is_some_and(|(f, _)| dir.join(f).is_file());
        if line.trim().is_empty() || (line.starts_with('#') && !names_file(line)) {
            continue;
        }
        let Some((file, prompt)) = line.split_once('\t') else {
            return Err(bad(n, format!("expected `file<TAB>prompt`, got {line:?}")));
        };
        // A third column is not the prompt's (it was scored as part of it, tab and all); a
        // spreadsheet's trailing tab is no column.
        if prompt.trim().contains('\t') {
            return Err(bad(
                n,
                format!(
                    "expected two columns, `file<TAB>prompt`, got {}: a prompt holds no tab",
                    line.split('\t').count()
                ),
            ));
        }
        // The name as written when that file exists (names may begin or end with spaces).
        let file = if dir.join(file).is_file() { file } else { file.trim() };
        let prompt = prompt.trim();
        if prompt.is_empty() {
            return Err(bad(n, format!("{file}: the prompt is empty")));
        }
        let inside = Path::new(file)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
        if file.is_empty() || !inside {
            return Err(bad(n, format!("{file:?}: expected a video's path inside {}", dir.display())));
        }
        if !dir.join(file).is_file() {
            return Err(bad(n, format!("{file}: not a file in {}", dir.display())));
        }
        let id = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(dir.join(file)).map(|m| (m.dev(), m.ino())).map_err(Error::input(&dir.join(file)))?
        };
        if let Some(first) = seen.insert(id, n) {
            let earlier = &out[out.iter().position(|(_, _, line)| *line == first).unwrap_or(0)].0;
            let how =
                if earlier == file { String::new() } else { format!(" as {earlier} (the same file by another name)") };
            return Err(bad(
                n,
                format!("{file} is listed again{how} (first on line {first}); each video is scored once"),
            ));
        }
        out.push((file.to_string(), prompt.to_string(), n));
    }
    if out.is_empty() {
        return Err(bad(1, "no `file<TAB>prompt` line: nothing to score".into()));
    }
    Ok(out.into_iter().map(|(f, p, _)| (f, p)).collect())
}

#[derive(Debug, Serialize)]
pub struct ClipRow {
    pub file: String,
    pub prompt: String,
    /// Raw cosine: CLIP-W, the unit video embedding against the prompt's; CLIP, the mean over the
    /// sampled frames of frame against prompt.
    pub cosine: f64,
    pub x100: f64,
    pub x2_5: f64,
    /// CLIP-F: mean cosine between consecutive sampled frames (CLIP only; none from one frame).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_f: Option<f64>,
    /// CLIP: the frames scored, each once (fewer than the 8 sampled where the clip is shorter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<usize>,
    /// Prompt words outside the encoder's vocabulary (world encoder: they carry no meaning to it).
    pub unknown_words: Vec<String>,
    /// World encoder: the prompt's words it knows. A prompt with none (every word unknown, or
    /// no Latin letters or digits at all) is one fixed embedding, whatever it says: its row is
    /// kept out of the mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_words: Option<usize>,
}

/// A text–video alignment network.
/// Words that say nothing about a video by themselves: a prompt of these and unknown words has no
/// meaning to the world encoder.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "of", "on", "in", "at", "to", "into", "onto", "from", "by", "with", "and", "or", "is", "are",
    "its", "it", "then", "while", "as", "over", "under", "for",
];

enum TextNet {
    World(WorldEncoder, String),
    Clip(Box<Clip>, String),
}

impl TextNet {
    fn load(extractor: TextExtractor, weights: Option<&Path>) -> Result<Self> {
        match extractor {
            TextExtractor::World => {
                let (enc, sha) = load_world_encoder(weights)?;
                Ok(TextNet::World(enc, sha))
            }
            TextExtractor::Clip => {
                let (dir, sha) = user_weights(weights, "clip", "clip", CLIP_HOW)?;
                let device = crate::device::default_device()?;
                let clip = Clip::load(&dir, &device).map_err(|e| Error::Config(crate::scoring::first_line(e)))?;
                Ok(TextNet::Clip(Box::new(clip), sha))
            }
        }
    }

    /// The frames, size and values a clip is decoded to for this network.
    fn preprocess(&self) -> Preprocess {
        match self {
            TextNet::World(..) => videval_models::encoders::world::PREPROCESS,
            TextNet::Clip(clip, _) => clip.video_preprocess(),
        }
    }

    /// A clip decoded for this network: CLIP scores each sampled frame once (a clip shorter than
    /// the 8 frames sampled took some twice: a 2-frame clip's CLIP-F read 0.987 where its one
    /// pair's cosine is 0.911, a 1-frame clip's 1.0000000407); the world encoder embeds its 8.
    fn decode(&self, path: &Path) -> Result<Frames> {
        match self {
            TextNet::World(..) => crate::video::decode_preprocessed(path, &self.preprocess()),
            TextNet::Clip(..) => crate::video::decode_preprocessed_once(path, &self.preprocess()),
        }
        .map_err(Error::from)
    }

    /// The row of one clip, decoded per [`TextNet::decode`].
    fn score(&self, clip_frames: &Frames, prompt: &str, file: &str) -> Result<ClipRow> {
        let internal = |e: String| Error::Internal(format!("{file}: {e}"));
        let (cosine, clip_f, unknown_words, known_words, frames) = match self {
            TextNet::World(enc, _) => {
                let cos = enc.text_clip_cosine(clip_frames, prompt).map_err(|e| internal(e.to_string()))?;
                let unknown = enc.file.vocab.unknown(prompt);
                // Words that carry meaning to it: known, and not a function word ("a dog" is "a"
                // to it, which scored higher against a fractal than the matching prompt did).
                let known = videval_models::generator::text::words(prompt)
                    .iter()
                    .filter(|w| !unknown.contains(w) && !FUNCTION_WORDS.contains(&w.as_str()))
                    .count();
                (cos, None, unknown, Some(known), None)
            }
            TextNet::Clip(clip, _) => {
                let frames = clip.embed_preprocessed(clip_frames).map_err(|e| internal(e.to_string()))?;
                let text = clip.embed_text(prompt).map_err(|e| internal(e.to_string()))?;
                let dot =
                    |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>();
                let cos = frames.iter().map(|f| dot(f, &text)).sum::<f64>() / frames.len() as f64;
                let pairs = frames.windows(2).map(|w| dot(&w[0], &w[1])).collect::<Vec<_>>();
                let clip_f = (!pairs.is_empty()).then(|| pairs.iter().sum::<f64>() / pairs.len() as f64);
                (cos, clip_f, Vec::new(), None, Some(frames.len()))
            }
        };
        if !cosine.is_finite() || clip_f.is_some_and(|f| !f.is_finite()) {
            return Err(Error::Config(format!(
                "the network's weights are broken: {} gave {file} a similarity that is not a finite number",
                self.contract().extractor
            )));
        }
        Ok(ClipRow {
            file: file.to_string(),
            prompt: prompt.to_string(),
            cosine,
            x100: 100.0 * cosine,
            x2_5: 2.5 * cosine.max(0.0),
            clip_f,
            frames,
            unknown_words,
            known_words,
        })
    }

    fn contract(&self) -> dist::Contract {
        match self {
            // The video embedding alone (FVD-W's contract adds the motion statistics).
            TextNet::World(enc, sha) => dist::Contract {
                extractor: format!(
                    "world-encoder@{} video and text embeddings ({}-d, unit norm)",
                    &sha[..sha.len().min(12)],
                    enc.file.architecture.embed_dim
                ),
                ..enc.contract(sha)
            },
            TextNet::Clip(clip, sha) => clip.contract(sha),
        }
    }

    fn metric(&self) -> (&'static str, &'static str) {
        match self {
            TextNet::World(..) => (
                "CLIP-W",
                "cosine between the unit video embedding and the unit prompt embedding; x100 and 2.5*max(cos,0) views",
            ),
            TextNet::Clip(..) => (
                "CLIP",
                "mean over the sampled frames of the cosine between frame and prompt embeddings; x100 and 2.5*max(cos,0) views; CLIP-F = mean cosine of consecutive frames",
            ),
        }
    }
}

/// CLIP rows of clips shorter than the frames sampled: said, as each is scored on fewer frames
/// (and one frame has no CLIP-F).
fn short_clips(rows: &[ClipRow], sampling: FrameSampling) -> Option<String> {
    let sampled = match sampling {
        FrameSampling::Uniform(n) | FrameSampling::First(n) | FrameSampling::Middle(n) => n,
        FrameSampling::All | FrameSampling::Fps(_) => return None,
    };
    let short: Vec<&ClipRow> = rows.iter().filter(|r| r.frames.is_some_and(|n| n < sampled)).collect();
    let first = short.first()?;
    Some(format!(
        "{} video(s) have fewer than the {sampled} frames sampled: each of their frames is scored once (first: {}, {} frame(s){})",
        short.len(),
        first.file,
        first.frames.unwrap_or_default(),
        if first.clip_f.is_none() { ", no CLIP-F" } else { "" }
    ))
}

pub fn clipscore_command(
    dir: &Path,
    prompts: &Path,
    extractor: TextExtractor,
    weights: Option<&Path>,
    json_out: bool,
) -> Result<ExitCode> {
    let net = TextNet::load(extractor, weights)?;
    let pairs = read_prompts(prompts, dir)?;
    let bar = if json_out {
        crate::media::Progress::hidden()
    } else {
        crate::media::progress("videos", "videos", pairs.len() as u64)
    };
    // Decoding in parallel, a worker's worth of clips at a time (one after another it used a
    // single core: 2,400 videos took 35.6 s for 39.6 s of CPU on 2 cores); the network runs one
    // clip at a time, as everywhere (a shared GPU), in the files' order, and the first bad file
    // in that order is the one named.
    let mut rows = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(rayon::current_num_threads().max(1)) {
        use rayon::prelude::*;
        let clips: Vec<Result<_>> = chunk.par_iter().map(|(file, _)| net.decode(&dir.join(file))).collect();
        for ((file, prompt), clip) in chunk.iter().zip(clips) {
            rows.push(net.score(&clip?, prompt, file)?);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let (metric, variant) = net.metric();
    let meaningless: Vec<&ClipRow> = rows.iter().filter(|r| r.known_words == Some(0)).collect();
    // Videos in the folder the prompts file does not list are not in the mean: said, not silent.
    let unlisted = {
        use std::os::unix::fs::MetadataExt;
        let listed: std::collections::BTreeSet<(u64, u64)> =
            pairs.iter().filter_map(|(f, _)| std::fs::metadata(dir.join(f)).ok().map(|m| (m.dev(), m.ino()))).collect();
        let found = crate::generator::dir::videos_under(dir)?;
        let mut warn = found.skipped_note();
        warn = warn.trim_start_matches("; ").to_string();
        let left: Vec<String> = found
            .videos
            .iter()
            .filter(|(_, p, _)| std::fs::metadata(p).is_ok_and(|m| !listed.contains(&(m.dev(), m.ino()))))
            .map(|(rel, _, _)| rel.clone())
            .collect();
        let mut out = Vec::new();
        if !left.is_empty() {
            out.push(format!(
                "{} video(s) in {} have no line in {} and are not scored (first: {})",
                left.len(),
                dir.display(),
                prompts.display(),
                left.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if !warn.is_empty() {
            out.push(format!("{}: looking for videos no line lists, {warn}", dir.display()));
        }
        out
    };
    if meaningless.len() == rows.len() {
        return Err(Error::Config(format!(
            "{metric}: none of the {} prompts has a word the world encoder knows (it knows the procedural world's captions: colours, shapes, motions), so every prompt is the same embedding; for free text use --extractor clip with CLIP weights",
            rows.len()
        )));
    }
    let warnings: Vec<String> = (!meaningless.is_empty())
        .then(|| {
            format!(
                "{} of {} prompts have no word the world encoder knows (first: {:?}): their rows are left out of the mean",
                meaningless.len(),
                rows.len(),
                meaningless[0].prompt
            )
        })
        .into_iter()
        .chain(short_clips(&rows, net.preprocess().frames))
        .chain(unlisted)
        .collect();
    let kept = rows.len() - meaningless.len();
    let mean = rows.iter().filter(|r| r.known_words != Some(0)).map(|r| r.cosine).sum::<f64>() / kept as f64;
    let contract = net.contract();
    if json_out {
        let out = serde_json::json!({
            "metric": metric, "mean_cosine": mean, "videos_in_mean": kept, "rows": rows,
            "extractor": contract.extractor, "preprocess": contract.preprocess, "variant": variant,
            "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| Error::Internal(e.to_string()))?);
    } else {
        for r in &rows {
            let text = |s: &str| crate::error::printable(s).replace('\n', "\\n");
            print!("{:>8.4}  {}  {}", r.cosine, text(&r.file), text(&r.prompt));
            if let Some(f) = r.clip_f {
                print!("  (CLIP-F {f:.4})");
            }
            println!();
            if !r.unknown_words.is_empty() {
                println!("          unknown words: {}", crate::error::printable(&r.unknown_words.join(", ")));
            }
        }
        println!("{metric} mean cosine {mean:.4} over {kept} videos ({}; {})", contract.extractor, contract.preprocess);
        for w in &warnings {
            eprintln!("warning: {}", crate::error::printable(w));
        }
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same video's rows from batches that round differently (4e-8 apart, across a grid
    /// line) are one video; rows 1e-3 apart are two.
    #[test]
    fn rows_of_one_video_meet_across_grid_lines() {
        let row = |v: f64| vec![v, 0.2, 0.3, 0.4];
        let a = Features::from_rows(&[row(0.499_999_99), row(0.1)]).unwrap();
        let b = Features::from_rows(&[row(0.500_000_03), row(0.7)]).unwrap();
        assert_eq!(shared_rows(&a, &b), 1);
        let c = Features::from_rows(&[row(0.1), row(0.100_000_02), row(0.101)]).unwrap();
        assert_eq!(repeated_rows(&c), 1);
    }

    #[test]
    fn an_unloadable_network_keys_its_scores_apart_from_an_absent_one() {
        let absent = unavailable("clip", "needs CLIP ViT-B/32 weights: give --weights DIR");
        // Whichever folder was searched.
        assert_eq!(absent, unavailable("clip", "needs CLIP ViT-B/32 weights: wB has no clip/"));
        assert_ne!(absent, unavailable("clip", "nets/clip/tokenizer.json: Model missing"));
        assert_eq!(absent, "clip:absent");
    }

    /// A line naming a file that begins with `#` is data, not a comment (such a video was left
    /// out of the mean without a word); a file name may begin with a space; a plain `#` line is
    /// a comment.
    #[test]
    fn prompt_lines_naming_hash_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["#1 hashtag ball-0.mp4", " lead-0.mp4", "a red ball-0.mp4"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let tsv = dir.path().join("p.tsv");
        std::fs::write(&tsv, "# file\tprompt\n#1 hashtag ball-0.mp4\t#1 hashtag ball\n lead-0.mp4\tlead\na red ball-0.mp4 \t a red ball\n").unwrap();
        let rows = read_prompts(&tsv, dir.path()).unwrap();
        let files: Vec<&str> = rows.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["#1 hashtag ball-0.mp4", " lead-0.mp4", "a red ball-0.mp4"]);
        assert_eq!(rows[2].1, "a red ball");
    }
}
