//! `bundled`: the project's own Sora-style generator (`videval_models::generator`), run in
//! process from a committed checkpoint — the default model of `videval run`.
//!
//! `--model bundled` uses [`DEFAULT_CHECKPOINT`]; `--model bundled:NAME` or a spec with
//! `checkpoint: NAME|PATH` picks another. Names are folders under `models/weights/generator/`
//! (found as `weights_root()` says: `$VIDEVAL_WEIGHTS`, `$VIDEVAL_HOME/weights`, beside the binary,
//! the checkout, or the embedded default checkpoint). A checkpoint's native area is that of its
//! `native_size` (its largest training bucket: 32×32 for the 32×32 ladders, 64×64 for the `-64`
//! ladder): frame sizes that are multiples of 8 and at most 9/4 of it (48×48, 96×96) are
//! generated directly; others are generated at the same aspect ratio near the native area and
//! resized (bilinear) to the requested size, and the identity says so (`max_native_pixels`).
//! Runs on the CPU, or CUDA with the `cuda` feature.

use std::path::{Path, PathBuf};
use std::time::Instant;

use videval_metrics::Video;
use videval_metrics::preprocess::{Filter, Spatial, transform_video};
use videval_models::generator::{Condition, Model, Request};

use super::{AdapterInfo, GenError, Generator, Job, Media, ModelSpec, Output, Perf, files_digest, input_media};
use crate::error::{Error, Result};
use crate::plan::ModelIdentity;
use crate::suite::Mode;
use crate::video::EncodeParams;

pub const INFO: AdapterInfo = AdapterInfo {
    name: "bundled",
    summary: "the bundled Sora-style generator (causal VAE + spacetime DiT, candle) from a committed checkpoint; all modes",
    build,
};

/// The checkpoint `--model bundled` loads: the best-trained of the committed ones (lowest
/// validation loss).
pub const DEFAULT_CHECKPOINT: &str = "tiny-l-v2";

/// SDEdit strength when an `edit` case gives none.
const DEFAULT_STRENGTH: f64 = 0.6;

/// Where committed generator checkpoints live.
pub fn weights_dir() -> PathBuf {
    videval_models::encoders::manifest::weights_root().join("generator")
}

/// Names of the committed checkpoints.
pub fn available() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(weights_dir())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("config.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A checkpoint folder from a name or a path.
pub fn resolve(arg: &str) -> Result<PathBuf> {
    let p = Path::new(arg);
    if p.join("config.json").is_file() {
        return Ok(p.to_path_buf());
    }
    // A name is looked up among the committed checkpoints; a path is only itself (a missing
    // `/elsewhere/tiny-l-v2` ran the committed tiny-l-v2 without a word).
    let is_path = arg.contains('/') || arg.contains(std::path::MAIN_SEPARATOR);
    let by_name = weights_dir().join(p.file_name().unwrap_or(p.as_os_str()));
    if !is_path && by_name.join("config.json").is_file() {
        // A checkpoint listed in its weights folder's manifest (the committed ones are) is
        // checked against it before it is used.
        use videval_models::encoders::manifest::Manifest;
        let name = by_name.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(root) = by_name.parent().and_then(Path::parent) {
            let path = root.join("manifest.json");
            if path.is_file() {
                let m = Manifest::load(&path).map_err(|e| Error::Config(e.to_string()))?;
                if m.entry(name).is_ok() {
                    m.verify(root, name).map_err(|e| Error::Config(e.to_string()))?;
                }
            }
        }
        return Ok(by_name);
    }
    Err(Error::Config(format!(
        "checkpoint {arg}: not a checkpoint folder (config.json + model.safetensors) and not one of the committed \
         checkpoints [{}] in {}",
        available().join(", "),
        weights_dir().display()
    )))
}

fn build(spec: &ModelSpec) -> Result<Box<dyn Generator>> {
    if spec.path.is_some() || !spec.argv.is_empty() || spec.mapping.is_some() {
        return Err(Error::Config("adapter bundled takes a checkpoint (name or folder), not path/argv/mapping".into()));
    }
    let dir = resolve(spec.checkpoint.as_deref().unwrap_or(DEFAULT_CHECKPOINT))?;
    if spec.steps == Some(0) {
        return Err(Error::Config("steps: must be at least 1".into()));
    }
    let mut g = Bundled::load(&dir, spec.name.clone())?;
    if let Some(steps) = spec.steps {
        g.steps = Some(steps);
        g.identity.params.insert("steps".to_string(), serde_json::json!(steps));
        if spec.name.is_none() {
            g.identity.name = format!("{}@{steps}steps", g.identity.name);
        }
    }
    Ok(Box::new(g))
}

pub struct Bundled {
    identity: ModelIdentity,
    model: Model,
    device_name: String,
    peak_flops: f64,
    peak_source: String,
    /// Sampling steps overriding the suites' (`steps:` in the model spec).
    steps: Option<u32>,
    /// Pixels per frame the checkpoint was trained at (its largest bucket).
    native_area: u32,
}

impl Bundled {
    pub fn load(dir: &Path, name: Option<String>) -> Result<Self> {
        // The peak is per process: restart it so that a sweep, which loads checkpoint after
        // checkpoint in one process, records each one's own peak, not the largest so far.
        reset_peak_rss();
        let device = crate::device::default_device()?;
        let model = Model::load(dir, &device).map_err(|e| Error::Config(e.to_string()))?;
        let ckpt = model.config.name.clone();
        let native_area = model.config.native_size().iter().product::<usize>() as u32;
        let device_name = videval_models::generator::train::device_name(&device);
        let mut params = std::collections::BTreeMap::new();
        params.insert("checkpoint".to_string(), serde_json::json!(ckpt));
        params.insert("parameters".to_string(), serde_json::json!(model.config.parameters.total));
        params.insert("device".to_string(), serde_json::json!(device_name));
        params.insert("max_native_pixels".to_string(), serde_json::json!(max_native_pixels(native_area)));
        params.insert("sampler".to_string(), serde_json::json!(videval_models::generator::SAMPLER_VERSION));
        let identity = ModelIdentity {
            adapter: "bundled".into(),
            name: name.unwrap_or_else(|| format!("bundled/{ckpt}")),
            // What decides the videos: the weights and the architecture, not the training logs.
            digest: files_digest(dir, &["config.json", "model.safetensors"])?,
            params,
        };
        let (peak_flops, peak_source) = videval_models::generator::measure_peak(&device)
            .map_err(|e| Error::Internal(format!("peak measurement: {e}")))?;
        let me = Self { identity, model, device_name, peak_flops, peak_source, steps: None, native_area };
        // Warm-up: first-call allocations and kernel set-up stay out of the timings.
        me.model
            .generate(&Request {
                prompt: "a red ball",
                seed: 0,
                frames: 5,
                width: 32,
                height: 32,
                fps: 8.0,
                steps: 1,
                guidance: 2.0,
                condition: Condition::None,
            })
            .map_err(|e| Error::Internal(format!("warm-up generation failed: {e}")))?;
        Ok(me)
    }
}

/// Peak resident memory of this process (Linux `VmHWM`), in bytes; 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Restarts `VmHWM` at the current resident size (Linux ≥ 4.0: `5` to `/proc/self/clear_refs`);
/// elsewhere nothing happens and the peak stays the process's.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Largest frame area generated without resizing by a checkpoint of native area `area`.
pub fn max_native_pixels(area: u32) -> u32 {
    area * 9 / 4
}

/// The frame size a checkpoint of native area `area` generates for a requested one.
pub fn native_size(width: u32, height: u32, area: u32) -> (u32, u32) {
    if width % 8 == 0 && height % 8 == 0 && width * height <= max_native_pixels(area) {
        return (width, height);
    }
    let scale = (f64::from(area) / f64::from(width * height)).sqrt();
    let side = |v: u32| ((f64::from(v) * scale / 8.0).round() as u32).max(1) * 8;
    (side(width), side(height))
}

fn resize(v: &Video, w: u32, h: u32) -> Video {
    if v.width() == w && v.height() == h {
        return v.clone();
    }
    transform_video(v, Spatial::Stretch { width: w, height: h }, Filter::Bilinear, true)
}

/// Why a conditioning clip of `n` frames in `input.{field}` cannot be held whole: the compression
/// network encodes clips of 1 + 4k frames.
fn not_held_whole(field: &str, n: usize) -> Option<String> {
    let (lower, step) = whole_below(n)?;
    Some(format!(
        "input.{field} holds {n} frames; the bundled generator holds clips of 1 + {step}k frames (…, {lower}, {}, …): give frames: [first, last] to take {lower} of them",
        lower + step
    ))
}

/// The compression network takes clips of 1 + 4k frames (`step` = 4): for `n` frames that are
/// not such a length, the one below it and the step; `None` when `n` is one.
fn whole_below(n: usize) -> Option<(usize, usize)> {
    let step = videval_models::generator::vae::TIME;
    ((n.max(1) - 1) % step != 0).then(|| (1 + step * ((n.max(1) - 1) / step), step))
}

impl Generator for Bundled {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    fn output_ext(&self, _mode: crate::suite::Mode) -> &'static str {
        "mkv"
    }

    /// The compression network encodes and decodes clips of 1 + 4k frames: a conditioning clip
    /// of another length was cut to one (a 6-frame clip lost a frame, and the video no longer
    /// held it where the mode says), and a video that ends with a held clip must be generated
    /// at that length (the end of the clip was cut with the frames beyond the request).
    fn refuses(
        &self,
        _suite: &crate::suite::Suite,
        case: &crate::suite::Case,
        held: &dyn Fn(&Media) -> super::HeldClip,
    ) -> Option<String> {
        let step = videval_models::generator::vae::TIME;
        let input = case.input.as_ref()?;
        let frames = case.generation.frames as usize;
        let clips: &[(&str, &Option<Media>)] = match case.mode {
            Mode::ExtendForward | Mode::ExtendBackward | Mode::Edit => &[("video", &input.video)],
            Mode::Interpolate => &[("video", &input.video), ("video2", &input.video2)],
            _ => &[],
        };
        // Each clip's frame count, in `clips`' order (each file looked at once).
        let mut counts = Vec::new();
        for (field, m) in clips {
            let clip = m.as_ref().map(|m| held(m)).unwrap_or_default();
            counts.push(clip.frames);
            // Held frames are kept as they are: at another rate they would play faster or slower
            // than they were filmed (a 24-fps clip held in an 8-fps video played 3× slower).
            if let Some(rate) =
                clip.fps.filter(|r| clip.frames != Some(1) && (r / case.generation.fps - 1.0).abs() > 0.03)
            {
                return Some(format!(
                    "input.{field} is {rate:.3} fps and the case asks for {} fps; the bundled generator holds its frames as they are, so they would play at the case's rate: convert it (videval video convert IN OUT --frames fps:{}) or ask for fps: {rate:.3}",
                    case.generation.fps, case.generation.fps
                ));
            }
            let Some(n) = clip.frames else { continue };
            if let Some(why) = not_held_whole(field, n) {
                return Some(why);
            }
            if case.mode == Mode::Edit && n != frames {
                return Some(format!(
                    "input.video holds {n} frames and the case asks for {frames}: an edit keeps the clip's length"
                ));
            }
        }
        // The held clips must fit the video, and an interpolation needs room between its two.
        let made = videval_models::generator::generated_frames(frames.max(1));
        let latent = videval_models::generator::vae::latent_frames;
        match (case.mode, &counts[..]) {
            (Mode::ExtendForward | Mode::ExtendBackward, [Some(n)]) if *n > frames => {
                return Some(format!("input.video holds {n} frames, more than the {frames} the case asks for"));
            }
            (Mode::Interpolate, &[Some(a), Some(b)]) => {
                if latent(a) + latent(b) >= latent(made) {
                    return Some(format!(
                        "input.video and input.video2 hold {a} + {b} frames, and the bundled generator needs room between them: ask for at least {} frames",
                        1 + step * (latent(a) + latent(b))
                    ));
                }
            }
            _ => {}
        }
        let ends_with_a_clip = matches!(case.mode, Mode::ExtendBackward | Mode::Interpolate | Mode::Edit);
        let (lower, _) = whole_below(frames).filter(|_| ends_with_a_clip)?;
        Some(format!(
            "mode {} ends the video with a held clip, and the bundled generator makes 1 + {step}k frames: ask for {lower} or {} frames, not {frames}",
            case.mode.name(),
            lower + step
        ))
    }

    /// Each generation spreads over every core: two at once made each one's time the pair's
    /// (frames/s and MFU read half of what the machine did).
    fn one_at_a_time(&self) -> bool {
        true
    }

    fn generate(&self, job: &Job<'_>) -> Result<Output, GenError> {
        let g = &job.case.generation;
        super::check_clip_fits(g)?;
        let (w, h) = native_size(g.width, g.height, self.native_area);
        let input = job.case.input.clone().unwrap_or_default();
        let media = |m: &Option<crate::suite::schema::Media>, what: &str| -> Result<Video, GenError> {
            let m =
                m.as_ref().ok_or_else(|| GenError::new(format!("mode {} needs input.{what}", job.case.mode.name())))?;
            let clip = input_media(job, m)?;
            // What the run's check could not count before: a clip of another length would be
            // cut, not held.
            if let Some(why) = (what != "image").then(|| not_held_whole(what, clip.len())).flatten() {
                return Err(GenError::new(why));
            }
            Ok(resize(&clip, w, h))
        };
        let (image, video, video2);
        let condition = match job.case.mode {
            Mode::T2v | Mode::Image => Condition::None,
            Mode::I2v => {
                image = super::one_image(media(&input.image, "image")?)?;
                Condition::Image(&image)
            }
            Mode::ExtendForward => {
                video = media(&input.video, "video")?;
                Condition::Head(&video)
            }
            Mode::ExtendBackward => {
                video = media(&input.video, "video")?;
                Condition::Tail(&video)
            }
            Mode::Interpolate => {
                video = media(&input.video, "video")?;
                video2 = media(&input.video2, "video2")?;
                Condition::Connect(&video, &video2)
            }
            Mode::Loop => Condition::Loop,
            Mode::Edit => {
                video = media(&input.video, "video")?;
                Condition::Edit { video: &video, strength: input.strength.unwrap_or(DEFAULT_STRENGTH) }
            }
        };
        let frames = if job.case.mode == Mode::Image { 1 } else { g.frames as usize };
        let req = Request {
            prompt: &job.case.prompt,
            seed: job.unit.seed,
            frames,
            width: w as usize,
            height: h as usize,
            fps: g.fps,
            steps: self.steps.unwrap_or(g.steps) as usize,
            guidance: g.guidance,
            condition,
        };
        // Model time starts once the inputs are read (a 1080p clip's decode read as 6.6× the
        // model's own time).
        let started = Instant::now();
        let out = self.model.generate(&req).map_err(|e| GenError::new(e.to_string()))?;
        let seconds = started.elapsed().as_secs_f64();
        let video = resize(&out.video, g.width, g.height);
        let perf = Perf {
            seconds,
            frames: video.len() as u32,
            tokens: out.tokens as u64,
            passes: out.passes as u32,
            flops: out.flops,
            peak_memory_bytes: peak_rss_bytes(),
            device: self.device_name.clone(),
            peak_flops: self.peak_flops,
            peak_source: self.peak_source.clone(),
        };
        let encode = crate::video::encode(&video, job.out, &EncodeParams::lossless())?;
        Ok(Output::Written { encode: Some(encode), perf: Some(perf) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_checkpoint_is_embedded_in_the_binary() {
        let embedded: Vec<&str> = videval_models::encoders::manifest::EMBEDDED.iter().map(|(n, _)| *n).collect();
        for file in ["config.json", "model.safetensors"] {
            let path = format!("generator/{DEFAULT_CHECKPOINT}/{file}");
            assert!(embedded.contains(&path.as_str()), "{path} is not embedded: {embedded:?}");
        }
    }

    #[test]
    fn native_sizes_keep_aspect_and_multiples_of_eight() {
        // A 32×32-trained checkpoint: up to 48×48 directly, larger frames near 32×32.
        let a = 32 * 32;
        assert_eq!(max_native_pixels(a), 48 * 48);
        assert_eq!(native_size(32, 32, a), (32, 32));
        assert_eq!(native_size(40, 24, a), (40, 24));
        assert_eq!(native_size(64, 64, a), (32, 32));
        let (w, h) = native_size(96, 64, a);
        assert_eq!((w % 8, h % 8), (0, 0));
        assert!((f64::from(w) / f64::from(h) - 1.5).abs() < 0.2, "{w}×{h}");
        let (w, h) = native_size(18, 32, a);
        assert!(w >= 8 && h > w);
        // A 64×64-trained checkpoint generates the suites' sizes directly.
        let a = 64 * 64;
        assert_eq!(native_size(64, 64, a), (64, 64));
        assert_eq!(native_size(80, 48, a), (80, 48));
        assert_eq!(native_size(96, 48, a), (96, 48));
        assert_eq!(native_size(256, 256, a), (64, 64));
    }

    #[test]
    fn the_peak_restarts_so_each_checkpoint_of_a_sweep_gets_its_own() {
        const BIG: usize = 300 << 20;
        let big = std::hint::black_box(vec![1u8; BIG]);
        let high = peak_rss_bytes();
        drop(big);
        reset_peak_rss();
        let after = peak_rss_bytes();
        assert!(high > 0 && after + (BIG as u64) / 2 < high, "peak {high} before, {after} after the restart");
    }
}
