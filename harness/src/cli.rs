//! The command line: raw flags (clap) → a validated request → the library → an exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::analyze;
use crate::distribution::{Extractor, TextExtractor};
use crate::error::{EXIT_TABLE, Error, ExitCode, Result};
use crate::generator;
use crate::plan::{Plan, Selection};
use crate::run::{RunArgs, Stages, SuiteLimitArgs, load_suite, run_command, write_report};
use crate::store::write_atomic;
use crate::suite::bundled::{self, Bundled};
use crate::suite::{self, Disk, Suite};
use crate::video;
// The frame rates a clip may be written at (1e-300 fps reached the encoder, which failed
// without saying why).
use crate::video::{MAX_FPS, MIN_FPS};
use videval_metrics::preprocess::{Filter, FrameSampling, Spatial};

#[derive(Debug, Parser)]
#[command(name = "videval", version, about = "Evaluate and benchmark text-to-video models.", after_help = EXIT_TABLE)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate, score, analyze and report: the whole pipeline.
    Run(RunArgs),
    /// Only generate the videos of the plan (or of one shard).
    Generate(RunArgs),
    /// Only score videos already generated.
    Score(RunArgs),
    /// Show the plan: units, keys and shard assignment; `--emit slurm|k8s --emit-dir DIR` writes
    /// scale-out jobs for it (the templates in ci/).
    Plan {
        #[command(flatten)]
        run: RunArgs,
        /// Write job files for a scheduler: slurm or k8s.
        #[arg(long, requires = "emit_dir")]
        emit: Option<String>,
        /// Where to write them.
        #[arg(long, requires = "emit")]
        emit_dir: Option<PathBuf>,
        /// Shard tasks running at once (Slurm's array throttle `%N`; Kubernetes' parallelism).
        #[arg(long, default_value_t = 16)]
        throttle: u32,
        /// Container image the Kubernetes pods run (k8s); it must hold videval and what the
        /// model needs.
        #[arg(long, default_value = "videval:latest")]
        image: String,
        #[command(flatten)]
        task: TaskResources,
    },
    /// Merge a run's shards and compute results (alias of `merge`).
    Analyze(MergeArgs),
    /// Check that every unit of a run is present exactly once, then compute results.
    Merge(MergeArgs),
    /// Render the HTML report of a run from its result files (or, for a sweep's output folder,
    /// its scaling.html from scaling.json).
    Report(ReportArgs),
    /// List, lint and show suites.
    #[command(subcommand)]
    Suites(SuitesCommand),
    /// Render one clip with the built-in synthetic generator (for fixtures and debugging).
    Synth(SynthArgs),
    /// Train the bundled generator on the procedural world.
    #[command(subcommand)]
    Train(crate::train::TrainCommand),
    /// Evaluate a ladder of checkpoints and fit scaling laws (nightly: compare with last night).
    Sweep {
        /// The sweep spec YAML (checkpoints, suites, targets).
        spec: PathBuf,
        /// Output folder (default: sweeps/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Last night's scaling.json: flag parameters and checkpoints that moved off trend (exit 1).
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Serve a local page where people judge pairs of videos from two runs (blinded, in sync);
    /// judgments go to a SQLite database. With --export, write the judgments to CSV or parquet.
    Rate(crate::rate::RateArgs),
    /// Do the metrics agree with people? Agreement per metric with intervals over cases,
    /// Kendall τ-b, Krippendorff's α between raters, gold accuracy, Bradley–Terry run strengths.
    Agreement {
        /// The runs the judgments name: NAME=RUN_DIR,NAME=RUN_DIR,…
        #[arg(long)]
        runs: String,
        /// The rating database (ratings.sqlite) or a CSV with the header
        /// rater,suite,case_id,seed_idx,left,right,choice (and ,shown_left,shown_right: the sums of the
        /// videos shown, as `rate --export` writes them).
        #[arg(long)]
        judgments: PathBuf,
        /// The HTML page (default: beside the judgments, JUDGMENTS.agreement.html).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The networks videval can use: ids, the metrics that need them, the files expected, how to
    /// obtain them, and whether they are present.
    #[command(subcommand)]
    Weights(WeightsCommand),
    /// Inspect and convert video files (debug your inputs).
    #[command(subcommand)]
    Video(VideoCommand),
    /// Render scenes of the procedural world, with ground truth and captions.
    #[command(subcommand)]
    World(WorldCommand),
    /// Compare a candidate run with a baseline run, paired by case and seed, and gate on it.
    Compare {
        baseline: PathBuf,
        candidate: PathBuf,
        /// Significance level, Holm-adjusted across the gated metrics (default: the policy's
        /// `alpha`, else 0.05; given with a policy that sets another, refused).
        #[arg(long, allow_negative_numbers = true)]
        alpha: Option<f64>,
        /// Smallest change that matters (absolute, in each metric's units, oriented).
        // A negative value reaches the check that names the rule (clap read `-0.01` as a flag).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        margin: f64,
        /// Compare even when suite hashes, metric versions or the planned samples (cases, seeds)
        /// differ (said in the outputs); only the samples both runs have are paired.
        #[arg(long)]
        allow_mismatch: bool,
        /// Exit 2 when a gated metric is underpowered or unsettled, or not measurable.
        #[arg(long)]
        fail_on_inconclusive: bool,
        /// A gate policy YAML: gated metrics, per-metric margins, alpha, mode.
        #[arg(long)]
        gate: Option<PathBuf>,
        /// Judgments of these two runs (`videval rate`'s database or its CSV form, runs named by
        /// their folders): the HTML page shows which metrics agree with the raters.
        #[arg(long)]
        judgments: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// FVD, KVD and their jackknife CIs between two folders of videos (or saved .vvstats statistics):
    /// FVD-W on the embedded world encoder, or canonical FVD on I3D-400 weights you provide.
    Fvd {
        /// A folder of videos or a .vvstats file (the reference set).
        a: PathBuf,
        /// A folder of videos or a .vvstats file.
        b: PathBuf,
        /// Feature extractor: the embedded world encoder (FVD-W) or I3D-400 (FVD; needs --weights).
        #[arg(long, value_enum, default_value = "world")]
        extractor: Extractor,
        /// Weights folder: a world encoder of your own (default: the committed one), or converted
        /// I3D weights with their manifest.json (checksum-verified; nothing is downloaded).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Write the statistics of A to this .vvstats file for reuse.
        #[arg(long)]
        save_stats: Option<PathBuf>,
        /// Groups per set of the jackknife behind the 95% CIs (one or two groups of videos are
        /// left out at a time; no video is ever duplicated); at least 5, 0 = no interval. KVD's
        /// interval uses at least 128 (single videos up to 128 a set: its recomputations are cheap).
        #[arg(long, default_value_t = videval_metrics::distribution::interval::GROUPS)]
        jackknife_groups: usize,
        /// Seeds the jackknife's groups and KVD's subsets (the same seed, the same numbers).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Text alignment: CLIP-W (world encoder) or CLIP score (CLIP weights you provide) per video.
    Clipscore {
        /// The folder of videos.
        dir: PathBuf,
        /// `file<TAB>prompt` lines naming videos in DIR.
        #[arg(long)]
        prompts: PathBuf,
        /// The embedded world encoder (CLIP-W) or CLIP (needs --weights).
        #[arg(long, value_enum, default_value = "world")]
        extractor: TextExtractor,
        /// Weights folder: a world encoder of your own, or a CLIP checkpoint with its manifest.json.
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// (Internal) Runs a generator command so that it dies with the videval that started it:
    /// `__child PARENT_PID [--env K=V]… -- PROGRAM ARGS…`.
    #[command(name = "__child", hide = true)]
    Child {
        parent: u32,
        /// The model spec's environment, for the program only (not for this stub: a spec's
        /// LD_LIBRARY_PATH broke videval's own libraries).
        #[arg(long = "env")]
        env: Vec<std::ffi::OsString>,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        argv: Vec<std::ffi::OsString>,
    },
    /// Check the probes against the world's ground truth (oracle videos must pass, mirrored /
    /// reversed / frozen / recoloured / letterboxed ones must fail): every probe a scene family
    /// exercises; `loop` and `continuity`, which judge conditioned outputs, are checked by the
    /// oracle on the capabilities suite instead. Exits 1 below the threshold.
    Selftest {
        /// Random scenes per family.
        #[arg(long, default_value_t = 200)]
        per_family: u64,
        /// Minimum agreement (oracle pass rate and detection rate) per probe.
        #[arg(long, default_value_t = 0.99)]
        threshold: f64,
        /// Seeds the random scenes (the same seed, the same scenes and verdicts).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Draw the scenes flat (saturated shapes) or as photos (shaded solids over textured
        /// settings, light drift, motion blur, shake, sensor noise, H.264 at CRF 20–30).
        #[arg(long, value_enum, default_value = "flat")]
        style: StyleArg,
        #[arg(long)]
        json: bool,
    },
}

fn selftest_command(per_family: u64, threshold: f64, seed: u64, style: StyleArg, json_out: bool) -> Result<ExitCode> {
    let style = match style {
        StyleArg::Flat => videval_models::world::spec::Style::Flat,
        StyleArg::Photo => videval_models::world::spec::Style::Photo,
    };
    if per_family == 0 {
        return Err(Error::Config("--per-family 0: at least one scene per family is needed to test anything".into()));
    }
    if per_family > crate::selftest::MAX_PER_FAMILY {
        return Err(Error::Config(format!(
            "--per-family {per_family}: at most {} scenes per family",
            crate::selftest::MAX_PER_FAMILY
        )));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::Config(format!("--threshold {threshold}: expected a share between 0 and 1 (0.99 is 99%)")));
    }
    let rows = crate::selftest::run(per_family, seed, style);
    // A probe with no clips to judge is not measured: it neither passes nor fails, and a
    // selftest that measured nothing is no pass.
    let not_measured: Vec<&str> = rows.iter().filter(|r| !r.measured()).map(|r| r.probe.as_str()).collect();
    let ok = rows.iter().all(|r| r.reaches(threshold)) && not_measured.len() < rows.len();
    let code = if ok { ExitCode::Ok } else { ExitCode::GateFailed };
    // Passing rates from too few clips to show the threshold: said, row by row and overall.
    let underpowered: Vec<&str> = rows.iter().filter(|r| r.underpowered(threshold)).map(|r| r.probe.as_str()).collect();
    let percent = |t: f64| {
        let s = format!("{:.6}", 100.0 * t);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "per_family": per_family, "style": style, "threshold": threshold, "rows": rows,
                "not_measured": not_measured, "underpowered": underpowered, "pass": ok,
                "exit_code": code as i32
            }))
            .unwrap_or_default()
        );
    } else {
        println!("{:<14} {:>8} {:>9} {:>12} {:>10}", "probe", "oracle n", "agree", "transformed", "detected");
        let pct = |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{:.1}%", 100.0 * r));
        for r in &rows {
            let flag = if !r.measured() {
                "  (not measured: no clips)"
            } else if r.underpowered(threshold) {
                "  (too few clips to show the threshold)"
            } else if r.reaches(threshold) {
                ""
            } else {
                "  <-- below threshold"
            };
            println!(
                "{:<14} {:>8} {:>9} {:>12} {:>10}{flag}",
                r.probe,
                r.oracle,
                pct(r.oracle_rate()),
                r.transformed,
                pct(r.detection_rate())
            );
            if !r.reaches(threshold) {
                for e in &r.examples {
                    println!("    {e}");
                }
            }
        }
        println!(
            "{} {} scenes per family; threshold {}%: {}{}",
            per_family,
            if style == videval_models::world::spec::Style::Photo { "photo-style" } else { "flat" },
            percent(threshold),
            if ok { "pass" } else { "FAIL" },
            if ok && !underpowered.is_empty() {
                // A probe passing every clip shows the threshold at 95% from this many clips.
                let needed = (0.025f64.ln() / threshold.ln()).ceil();
                format!(
                    " (underpowered: {} of {} probes pass on too few clips for a 95% lower bound at the threshold: that takes {needed} clips a probe passing every one; more scenes with --per-family)",
                    underpowered.len(),
                    rows.len() - not_measured.len()
                )
            } else {
                String::new()
            }
        );
    }
    Ok(code)
}

#[derive(Debug, Subcommand)]
pub enum WorldCommand {
    /// Render a scene file (width, height, fps, frames, scene) to a video.
    Render {
        scene: PathBuf,
        /// Output: .mkv (lossless), .mp4, .webp or .png (filmstrip).
        #[arg(short, long)]
        out: PathBuf,
        /// Also write the per-frame ground truth as JSON.
        #[arg(long)]
        truth: Option<PathBuf>,
        #[command(flatten)]
        look: LookArgs,
    },
    /// Render N random scenes of a family: DIR/<family>-<00000>.mkv (.mp4 in the photo style) and
    /// .json (scene, settings, caption, prompt, ground truth).
    Sample {
        #[arg(long)]
        family: String,
        #[arg(short, default_value_t = 16)]
        n: u64,
        #[arg(short, long)]
        out: PathBuf,
        /// Scene 0 is drawn from this seed, scene i > 0 from a seed derived from (SEED, i), so
        /// sets made with different seeds share no scene (each scene's seed is in its .json)
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        look: LookArgs,
    },
}

/// How `world render` and `world sample` draw: the scene's own style unless `--style` is given.
#[derive(Debug, Clone, clap::Args)]
pub struct LookArgs {
    /// `flat` (saturated shapes) or `photo` (shaded solids over a textured setting, light drift,
    /// motion blur, camera shake, sensor noise; H.264 at the scene's CRF when written as .mp4).
    #[arg(long, value_enum)]
    style: Option<StyleArg>,
    /// A folder of photographs (.png, .jpg): photo-style settings are replaced by one of them,
    /// chosen by the scene's photo seed.
    #[arg(long)]
    photos: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    Flat,
    Photo,
}

impl LookArgs {
    /// The scene as it will be drawn: `--style` applied (photo settings seeded by `seed` when the
    /// scene has none).
    fn apply(&self, scene: &mut videval_models::world::Scene, seed: u64) {
        use videval_models::world::spec::{Photo, Style};
        match self.style {
            Some(StyleArg::Flat) => (scene.style, scene.photo) = (Style::Flat, None),
            Some(StyleArg::Photo) => {
                scene.style = Style::Photo;
                scene.photo.get_or_insert_with(|| Photo { seed, ..Photo::default() });
            }
            None => {}
        }
    }

    /// The photographs of `--photos`, each with its file name, in the order of their names; an
    /// error names a file that is not an image.
    fn backdrops(&self) -> Result<Vec<(String, videval_models::world::photo::Backdrop)>> {
        let Some(dir) = &self.photos else { return Ok(Vec::new()) };
        if !dir.is_dir() {
            return Err(Error::Config(format!("--photos {}: not a folder of photographs", dir.display())));
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(Error::io(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg" | "webp" | "bmp"))
            })
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::Config(format!("--photos {}: no .png, .jpg, .webp or .bmp files", dir.display())));
        }
        paths
            .iter()
            .map(|p| {
                // The first picture only (a video named .png is not decoded whole), shrunk to at
                // most PHOTO_HEIGHT rows as it is decoded: a 12000-pixel photograph is not held at
                // full size for a 64-pixel clip.
                let mut picture = None;
                video::decode_stream(p, FrameSampling::First(1), |head, rgb| {
                    let h = head.height.min(PHOTO_HEIGHT);
                    let w = ((f64::from(head.width) * f64::from(h) / f64::from(head.height)).round() as u32).max(1);
                    picture = Some(if (w, h) == (head.width, head.height) {
                        (w, h, rgb.to_vec())
                    } else {
                        let spatial = Spatial::Stretch { width: w, height: h };
                        let small = videval_metrics::preprocess::transform_frame(
                            rgb,
                            head.width,
                            head.height,
                            spatial,
                            Filter::Area,
                            true,
                        );
                        (w, h, small)
                    });
                })?;
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                picture
                    .and_then(|(w, h, rgb)| videval_models::world::photo::Backdrop::new(w as usize, h as usize, rgb))
                    .map(|b| (name, b))
                    .ok_or_else(|| Error::Config(format!("{}: not a picture", p.display())))
            })
            .collect()
    }
}

/// Photographs for `--photos` are shrunk to at most this many rows (the setting is seen through
/// a camera that renders clips of a few hundred rows).
const PHOTO_HEIGHT: u32 = 1080;

/// The photograph of `backdrops` a scene is drawn over, with its file name: photo-style scenes
/// take one when there are some (chosen by the scene's photo seed).
fn backdrop_for<'a>(
    scene: &videval_models::world::Scene,
    backdrops: &'a [(String, videval_models::world::photo::Backdrop)],
) -> Option<&'a (String, videval_models::world::photo::Backdrop)> {
    if scene.style != videval_models::world::spec::Style::Photo || backdrops.is_empty() {
        return None;
    }
    let seed = scene.photo.as_ref().map_or(0, |p| p.seed);
    Some(&backdrops[(seed % backdrops.len() as u64) as usize])
}

/// Renders a scene as `world render` and `world sample` do (over `backdrop`, where given), with
/// its caption and prompt: a photograph it is drawn over is captioned as one (it was captioned as
/// the setting the scene names).
fn render_look(
    scene: &videval_models::world::Scene,
    settings: &videval_models::world::render::Settings,
    backdrop: Option<&(String, videval_models::world::photo::Backdrop)>,
) -> (videval_metrics::Video, Option<videval_models::world::render::Truth>, (String, String)) {
    use videval_models::world::{caption, photo, render, sim::Simulation};
    let words = caption::describe_over(scene, settings, backdrop.map(|_| "a photograph"));
    let (v, truth) = match backdrop {
        Some((_, b)) => {
            let sim = Simulation::run(scene, settings.aspect(), settings.duration());
            photo::render(scene, &sim, settings, true, Some(b))
        }
        None => render::render(scene, settings, true),
    };
    (v, truth, words)
}

/// Encoder settings for a world clip at `path`: a photo-style .mp4 at its scene's CRF.
fn look_params(scene: &videval_models::world::Scene, path: &Path) -> Result<video::EncodeParams> {
    let mut params = video::EncodeParams::for_path(path)?;
    if let (Some(p), true) = (&scene.photo, params.codec == "libx264") {
        params.crf = Some(p.crf);
    }
    Ok(params)
}

fn world_command(cmd: &WorldCommand) -> Result<ExitCode> {
    use videval_models::world::{render, sample};
    match cmd {
        WorldCommand::Render { scene, out, truth, look } => {
            let path = scene.to_string_lossy().into_owned();
            // Every output is checked before the render: none may be the scene, a photograph it
            // reads, or each other, and the truth's place must take a file. The video's sidecar is
            // OUT.json.
            let sidecar = PathBuf::from(format!("{}.json", out.display()));
            // (flag, path, whether a folder there is refused here)
            for (flag, p, file) in
                [("-o", Some(out), true), ("-o's sidecar", Some(&sidecar), false), ("--truth", truth.as_ref(), true)]
            {
                let Some(p) = p else { continue };
                if crate::store::same_file(p, scene) {
                    return Err(Error::Config(format!("{flag} {}: that is the scene file itself", p.display())));
                }
                if file && p.is_dir() {
                    return Err(Error::Config(format!("{flag} {}: a folder, where a file is expected", p.display())));
                }
                if let Some(photos) = &look.photos
                    && crate::store::directly_in(p, photos)
                {
                    return Err(Error::Config(format!(
                        "{}: inside --photos {}, among the photographs it reads; write it elsewhere",
                        p.display(),
                        photos.display()
                    )));
                }
            }
            if truth.as_ref().is_some_and(|t| crate::store::same_file(t, out) || crate::store::same_file(t, &sidecar)) {
                return Err(Error::Config(format!(
                    "--truth: the same file as -o {} or its sidecar {}",
                    out.display(),
                    sidecar.display()
                )));
            }
            let mut file = scene_file(scene, look.photos.is_some())?;
            look.apply(&mut file.scene, 0);
            if look.photos.is_some() && file.scene.style.is_flat() {
                return Err(Error::Config(format!(
                    "--photos: {path} is drawn in the flat style, which shows no photographs (add style: photo to the scene, or --style photo)"
                )));
            }
            let problems = file.scene.problems();
            if !problems.is_empty() {
                let lines: Vec<String> = problems.iter().map(|(f, m)| format!("{path}: scene.{f}: {m}")).collect();
                return Err(Error::Config(lines.join("\n")));
            }
            let backdrops = look.backdrops()?;
            check_clip_size(file.width, file.height, file.frames, file.fps, out)
                .map_err(|e| Error::Config(format!("{path}: {e}")))?;
            if !out.extension().is_some_and(|e| e == "png") {
                video::EncodeParams::for_path(out)?;
            }
            let settings =
                render::Settings { width: file.width, height: file.height, fps: file.fps, frames: file.frames };
            let sim = videval_models::world::sim::Simulation::run(&file.scene, settings.aspect(), settings.duration());
            if sim.truncated {
                return Err(Error::Config(format!(
                    "{path}: the scene has over {} collisions and bounces in its {:.1} s (objects too fast or too many for the walls and each other); slow them down or shorten the clip",
                    videval_models::world::sim::MAX_EVENTS,
                    settings.duration()
                )));
            }
            let backdrop = backdrop_for(&file.scene, &backdrops);
            let (v, t, (long, short)) = render_look(&file.scene, &settings, backdrop);
            if out.extension().is_some_and(|e| e == "png") {
                write_clip(&v, out, Some(scene))?;
            } else {
                video::write_with_sidecar_using(&v, out, Some(scene), &look_params(&file.scene, out)?)?;
            }
            if let (Some(p), Some(t)) = (truth, t) {
                crate::store::write_json_atomic(p, &t)?;
            }
            println!(
                "{}: {} frames {}x{}{}\nprompt:  {short}\ncaption: {long}",
                out.display(),
                v.len(),
                v.width(),
                v.height(),
                backdrop.map_or(String::new(), |(name, _)| format!(" over {name}"))
            );
            Ok(ExitCode::Ok)
        }
        WorldCommand::Sample { family, n, out, seed, look } => {
            if look.photos.is_some() && !matches!(look.style, Some(StyleArg::Photo)) {
                return Err(Error::Config(
                    "--photos: the families are drawn in the flat style, which shows no photographs (add --style photo)".into(),
                ));
            }
            let backdrops = look.backdrops()?;
            let fam = sample::Family::from_name(family).ok_or_else(|| {
                let names: Vec<&str> = sample::Family::ALL.iter().map(|f| f.name()).collect();
                Error::Config(format!("--family {family}: expected one of {}", names.join(", ")))
            })?;
            if out.exists() && !out.is_dir() {
                return Err(Error::Config(format!(
                    "-o {}: a file, where the samples' folder is expected",
                    out.display()
                )));
            }
            std::fs::create_dir_all(out).map_err(Error::io(out))?;
            for i in 0..*n {
                // Scene i was drawn from SEED + i: the sets of seeds 1 and 2 shared all but one
                // scene, and an FVD between them compared a set with itself.
                let scene_seed =
                    if i == 0 { *seed } else { crate::hash::seed_of(&[&seed.to_string(), &i.to_string()]) };
                let (mut scene, settings) = sample::sample(fam, scene_seed);
                look.apply(&mut scene, scene_seed);
                let backdrop = backdrop_for(&scene, &backdrops);
                let (v, truth, (long, short)) = render_look(&scene, &settings, backdrop);
                let stem = out.join(format!("{}-{:05}", fam.name(), i));
                // Photo-style clips are shipped as generators ship theirs: H.264 at the scene's CRF.
                if scene.style == videval_models::world::spec::Style::Photo {
                    let path = stem.with_extension("mp4");
                    video::encode(&v, &path, &look_params(&scene, &path)?)?;
                } else {
                    video::encode(&v, &stem.with_extension("mkv"), &video::EncodeParams::lossless())?;
                }
                // The photograph it is drawn over, by its name in --photos (the scene's seed picks it
                // among the folder's pictures, so the scene alone does not say which).
                let mut record = json!({
                    "schema": "videval/world-sample/v1", "family": fam.name(), "seed": scene_seed,
                    "settings": settings, "scene": scene, "caption": long, "prompt": short, "truth": truth,
                });
                if let Some((name, _)) = backdrop {
                    record["backdrop"] = json!(name);
                }
                crate::store::write_json_atomic(&stem.with_extension("json"), &record)?;
            }
            println!("{}: {n} {} scenes", out.display(), fam.name());
            Ok(ExitCode::Ok)
        }
    }
}

/// Frames a filmstrip may show (one PNG row: more is wider than any viewer or encoder takes).
const MAX_STRIP: usize = 256;

/// Writes a clip for people: a PNG filmstrip, or a video with its sidecar.
fn write_clip(v: &videval_metrics::Video, out: &Path, source: Option<&Path>) -> Result<()> {
    if out.extension().is_some_and(|e| e == "png") {
        video::write_filmstrip(v, out, 8, v.height().min(256))?;
    } else {
        video::write_with_sidecar(v, out, source)?;
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum VideoCommand {
    /// Stream information: container, codec, colour tags, size, rate, frames, SAR/DAR, rotation
    /// (of a video file, or of a folder of PNG/JPEG frames as `convert` reads it).
    Info {
        file: PathBuf,
        /// Also decode every frame and report corrupt packets and lost frames.
        #[arg(long)]
        decode: bool,
        /// With --decode: the frames to deliver (all | first:N | uniform:N | middle:N | fps:F),
        /// each converted to RGB and resized as `convert` would, then dropped.
        #[arg(long, default_value = "all", requires = "decode")]
        frames: String,
        /// With --decode: native | WxH (stretch) | crop:N | letterbox:WxH.
        #[arg(long, default_value = "native", requires = "decode")]
        size: String,
        /// With --decode: nearest | bilinear | bicubic | area.
        #[arg(long, default_value = "area", requires = "decode")]
        filter: String,
        /// Frame rate of a folder of frames.
        #[arg(long, default_value_t = 8.0)]
        fps: f64,
        /// As JSON; with --decode, also the decode's wall time (`wall_s`, the process's start
        /// left out).
        #[arg(long)]
        json: bool,
    },
    /// Measure metrics on one video file in a single streamed decode (what `run` does per
    /// video): each value, or why there is none, and the wall time of the pass.
    Score {
        file: PathBuf,
        /// Metrics to compute (comma-separated registry names).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "frame_count,temporal_flicker,dynamic_degree,motion_smoothness,warping_error"
        )]
        metrics: Vec<String>,
        /// Public networks you provide (DIR/clip, DIR/dino-vitb16, …) for the metrics that need
        /// them (`videval weights list`); else `VIDEVAL_NETWORKS`, else `VIDEVAL_WEIGHTS`.
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// What the probes see in a video file: the camera's motion and every object the tracker
    /// follows (colour, shape, frames seen, where it starts and ends, its size), longest seen
    /// first, each marked with the colour an expectation finds it by ("object not found" or an
    /// odd reading, explained).
    Tracks {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Convert IN (a video file or a folder of PNG/JPEG frames) to OUT: .mp4 (H.264), .mkv
    /// (lossless FFV1), .webp (animated preview) or .png (filmstrip). A video gets a sidecar,
    /// OUT.json; a filmstrip none.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// all | first:N | uniform:N | middle:N | fps:F (uniform:N frames of a video play over
        /// its whole length)
        #[arg(long, default_value = "all")]
        frames: String,
        /// native | WxH (stretch) | crop:N (short side N, centre N×N) | letterbox:WxH
        #[arg(long, default_value = "native")]
        size: String,
        /// nearest | bilinear | bicubic | area
        #[arg(long, default_value = "area")]
        filter: String,
        /// Frame rate of a folder of frames.
        #[arg(long, default_value_t = 8.0)]
        fps: f64,
        /// Frames in a .png filmstrip.
        #[arg(long, default_value_t = 8)]
        strip: usize,
        /// Print what was written, and the wall time from opening IN to OUT written (the
        /// process's start left out), as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Decodes the frames `sampling` keeps, each brought to `spatial` with `filter` as it arrives,
/// and hands it to `sink` with its size (a native-size frame is lent as decoded).
fn decode_transformed(
    path: &Path,
    sampling: FrameSampling,
    spatial: Spatial,
    filter: Filter,
    damaged_ok: bool,
    mut sink: impl FnMut((u32, u32), &[u8]),
) -> Result<video::StreamEnd> {
    let decode = if damaged_ok { video::decode_stream_damaged } else { video::decode_stream };
    use videval_metrics::preprocess::{geometry, transform_frame};
    decode(path, sampling, |head: &video::StreamHead, rgb: &[u8]| {
        // Non-square pixels (an anamorphic stream) are made square at the same height first, as
        // a player shows them (a 360×240 clip at 32:27 came out 3:2, and crops cut it wrongly).
        let square = videval_metrics::preprocess::shown_width(head.width, head.pixel_aspect);
        let (rgb, width) = if square != head.width {
            let to = Spatial::Stretch { width: square, height: head.height };
            (std::borrow::Cow::Owned(transform_frame(rgb, head.width, head.height, to, Filter::Bicubic, true)), square)
        } else {
            (std::borrow::Cow::Borrowed(rgb), head.width)
        };
        if spatial == Spatial::Native {
            return sink((width, head.height), &rgb);
        }
        let size = geometry(spatial, width, head.height).0;
        sink(size, &transform_frame(&rgb, width, head.height, spatial, filter, true));
    })
    .map_err(Error::Video)
}

/// The frames `sampling` keeps of `input`, each resized per `spatial` as it is decoded, held
/// for writing. Refused when they would take more than `limit` bytes — before decoding when the
/// container says how many frames there are, else as soon as they pass it.
fn converted(
    input: &Path,
    sampling: FrameSampling,
    spatial: Spatial,
    filter: Filter,
    limit: u64,
) -> Result<videval_metrics::Video> {
    let too_large = |frames: usize, (w, h): (u32, u32)| {
        Error::Config(format!(
            "{}: converting {frames} frames of {w}x{h} would hold {:.1} GB, over the {:.1} GB allowed (half the memory available): keep fewer frames (--frames uniform:N or fps:F) or make them smaller (--size)",
            input.display(),
            frames as f64 * f64::from(w) * f64::from(h) * 3.0 / 1e9,
            limit as f64 / 1e9
        ))
    };
    if let Some((kept, size)) = video::probe(input).ok().and_then(|info| declared_kept(&info, sampling, spatial))
        && (kept as u64).saturating_mul(u64::from(size.0) * u64::from(size.1) * 3) > limit
    {
        return Err(too_large(kept, size));
    }
    // Each kept frame is resized as it is decoded: no full-size frame is held.
    let mut size = (0, 0);
    let mut data = Vec::new();
    let (mut kept, mut over) = (0usize, false);
    let end = decode_transformed(input, sampling, spatial, filter, false, |frame_size, frame| {
        size = frame_size;
        kept += 1;
        over |= (data.len() + frame.len()) as u64 > limit;
        if over {
            data = Vec::new();
        } else {
            data.extend_from_slice(frame);
        }
    })?;
    if over {
        return Err(too_large(kept, size));
    }
    let fps = kept_rate(end.head.fps, sampling, kept, end.sampled_from.unwrap_or(0));
    videval_metrics::Video::new(size.0, size.1, fps, data)
        .map_err(|e| Error::Config(format!("{}: {e}", input.display())))
}

/// The rate a conversion writes its kept frames at: `uniform:N` spreads N frames over the whole
/// clip, so they play at the rate that keeps its length (4 of 17 frames at 8 fps made a 0.5 s
/// clip of a 2.1 s one, and per-second metrics on it read 3.4× the source's); the other
/// samplings keep consecutive frames, or set the rate themselves (`fps:F`).
fn kept_rate(fps: f64, sampling: FrameSampling, kept: usize, total: usize) -> f64 {
    match sampling {
        FrameSampling::Uniform(_) if kept > 0 && total > 0 => fps * kept as f64 / total as f64,
        _ => fps,
    }
}

/// How many frames of what size a conversion keeps, from what the container declares (`None`
/// when it does not say how many frames it has).
fn declared_kept(info: &video::VideoInfo, sampling: FrameSampling, spatial: Spatial) -> Option<(usize, (u32, u32))> {
    let total = info.frames?;
    let (w, h) = info.display_size();
    let kept = match sampling {
        FrameSampling::Fps(f) => (info.duration_s.unwrap_or(total as f64 / info.fps) * f).ceil() as usize,
        other => other.indices(total.min(video::MAX_FRAMES as u64) as usize, info.fps).len(),
    };
    Some((kept, videval_metrics::preprocess::geometry(spatial, w, h).0))
}

/// Parses `--frames` (all | first:N | uniform:N | middle:N | fps:F).
pub fn parse_frames(spec: &str) -> Result<FrameSampling> {
    let bad = || Error::Config(format!("--frames {spec}: expected all, first:N, uniform:N, middle:N or fps:F"));
    if spec == "all" {
        return Ok(FrameSampling::All);
    }
    let (kind, n) = spec.split_once(':').ok_or_else(bad)?;
    let count = || {
        let n = n.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(bad)?;
        if n > video::MAX_FRAMES {
            return Err(Error::Config(format!("--frames {spec}: at most {} frames", video::MAX_FRAMES)));
        }
        Ok(n)
    };
    Ok(match kind {
        "first" => FrameSampling::First(count()?),
        "uniform" => FrameSampling::Uniform(count()?),
        "middle" => FrameSampling::Middle(count()?),
        // At most the rate a clip may have: 1e300 made the frame count overflow, and a folder
        // of two images tried to hold that many frames.
        "fps" => match n.parse::<f64>().ok().filter(|f| *f > 0.0 && f.is_finite()).ok_or_else(bad)? {
            f if f > MAX_FPS => return Err(Error::Config(format!("--frames {spec}: at most fps:{MAX_FPS}"))),
            f if f < MIN_FPS => return Err(Error::Config(format!("--frames {spec}: at least fps:{MIN_FPS}"))),
            f => FrameSampling::Fps(f),
        },
        _ => return Err(bad()),
    })
}

/// Parses `--size` (native | WxH | crop:N | letterbox:WxH).
pub fn parse_size(spec: &str) -> Result<Spatial> {
    let bad = || Error::Config(format!("--size {spec}: expected native, WxH, crop:N or letterbox:WxH"));
    let wxh = |t: &str| -> Result<(u32, u32)> {
        let (w, h) = t.split_once('x').ok_or_else(bad)?;
        let (w, h): (u32, u32) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
        if w == 0 || h == 0 || w > video::MAX_SIDE || h > video::MAX_SIDE {
            return Err(bad());
        }
        Ok((w, h))
    };
    Ok(match spec.split_once(':') {
        None if spec == "native" => Spatial::Native,
        None => {
            let (width, height) = wxh(spec)?;
            Spatial::Stretch { width, height }
        }
        Some(("crop", n)) => {
            let n: u32 = n.parse().ok().filter(|&n| n > 0 && n <= video::MAX_SIDE).ok_or_else(bad)?;
            Spatial::ShortSideCrop { short: n, crop_w: n, crop_h: n }
        }
        Some(("letterbox", t)) => {
            let (width, height) = wxh(t)?;
            Spatial::Letterbox { width, height, fill: [0, 0, 0] }
        }
        _ => return Err(bad()),
    })
}

fn parse_filter(spec: &str) -> Result<Filter> {
    Ok(match spec {
        "nearest" => Filter::Nearest,
        "bilinear" => Filter::Bilinear,
        "bicubic" => Filter::Bicubic,
        "area" => Filter::Area,
        _ => return Err(Error::Config(format!("--filter {spec}: expected nearest, bilinear, bicubic or area"))),
    })
}

/// `video tracks`: the camera and the tracks of the clip as the probes see it.
fn tracks_command(file: &Path, json: bool) -> Result<ExitCode> {
    use videval_metrics::probes::{Context, ObjectRef};
    use videval_metrics::track::TRACKED;
    let clip = crate::scoring::shown_clip(file).map_err(Error::Config)?;
    let ctx = Context::new(&clip);
    let unit = ctx.unit();
    let steps = ctx.camera().len();
    let measured = ctx.camera().iter().filter(|m| m.inliers >= videval_metrics::global_motion::MIN_INLIERS).count();
    let camera = videval_metrics::probes::camera_class(&ctx);
    // The colour each track is found by, as an expectation naming only that colour finds it.
    let found: Vec<(usize, &'static str)> = TRACKED
        .iter()
        .filter_map(|&c| ctx.lookup(&ObjectRef { color: Some(c), shape: None }).map(|t| (t.id, c.name())))
        .collect();
    /// One track as `video tracks` shows it (positions in canvas heights).
    #[derive(serde::Serialize)]
    struct Row {
        id: usize,
        color: Option<&'static str>,
        shape: Option<&'static str>,
        colors_in_order: Vec<&'static str>,
        frames_seen: usize,
        first_frame: Option<usize>,
        last_frame: Option<usize>,
        first_center_h: Option<[f64; 2]>,
        last_center_h: Option<[f64; 2]>,
        mean_area_fraction: f64,
        found_as: Vec<&'static str>,
    }
    let mut tracks: Vec<_> = ctx.tracks().iter().collect();
    tracks.sort_by(|a, b| b.weight().total_cmp(&a.weight()).then(a.id.cmp(&b.id)));
    let frame_area = f64::from(clip.width()) * f64::from(clip.height());
    let at = |c: [f64; 2]| [c[0] / unit, c[1] / unit];
    let rows: Vec<Row> = tracks
        .iter()
        .map(|t| {
            let mut colors_in_order = Vec::new();
            for (_, o) in t.seen() {
                if colors_in_order.last() != Some(&o.color.name()) {
                    colors_in_order.push(o.color.name());
                }
            }
            let (first, last) = (t.first(), t.last());
            Row {
                id: t.id,
                color: t.main_color().map(|c| c.name()),
                shape: t.main_shape().map(|s| s.name()),
                colors_in_order,
                frames_seen: t.seen().count(),
                first_frame: first.map(|(k, _)| k),
                last_frame: last.map(|(k, _)| k),
                first_center_h: first.map(|(_, o)| at(o.center)),
                last_center_h: last.map(|(_, o)| at(o.center)),
                mean_area_fraction: t.mean_area() / frame_area,
                found_as: found.iter().filter(|(id, _)| *id == t.id).map(|(_, c)| *c).collect(),
            }
        })
        .collect();
    // Why there is no camera reading: one frame has no steps to measure.
    let unmeasured =
        if steps == 0 { "one frame: no frame steps" } else { "too little texture to measure camera motion" };
    // The motion spelt as a suite's `camera` expectation spells it, and its speed's unit as
    // the suite's `speed` bound reads it.
    let camera_json = match camera {
        Some((class, speed)) => {
            use videval_metrics::probes::CameraMotion as M;
            let unit = match class {
                M::PanLeft | M::PanRight => "canvas widths per second",
                M::TiltUp | M::TiltDown => "canvas heights per second",
                M::ZoomIn | M::ZoomOut => "log scale change per second",
                M::Static => "the largest of the pan, tilt and zoom speeds, each in its unit",
            };
            json!({"motion": class, "speed": speed, "speed_unit": unit, "measured_steps": measured, "steps": steps})
        }
        None => json!({"motion": null, "not_measurable": unmeasured, "measured_steps": measured, "steps": steps}),
    };
    if json {
        let out = json!({
            "file": file.display().to_string(), "frames": clip.len(), "fps": clip.fps(),
            "probe_size": [clip.width(), clip.height()], "probes_version": videval_metrics::probes::VERSION,
            "camera": camera_json, "tracks": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| Error::Internal(e.to_string()))?);
        return Ok(ExitCode::Ok);
    }
    println!(
        "{}: {} frames at {:.3} fps, seen by the probes (v{}) at {}×{}; positions in canvas heights from the top left",
        crate::error::printable(&file.display().to_string()),
        clip.len(),
        clip.fps(),
        videval_metrics::probes::VERSION,
        clip.width(),
        clip.height()
    );
    match camera {
        Some((class, speed)) => println!(
            "camera: {} at {speed:.3}/s ({measured} of {steps} frame steps measured)",
            videval_metrics::probes::words(class)
        ),
        None if steps == 0 => println!("camera: not measurable, {unmeasured}"),
        None => println!("camera: not measurable, too little texture ({measured} of {steps} frame steps measured)"),
    }
    if rows.is_empty() {
        println!(
            "no tracked objects (the tracker follows saturated red, orange, yellow, green, cyan, blue, purple and magenta)"
        );
        return Ok(ExitCode::Ok);
    }
    const SHOWN: usize = 40;
    println!("tracks, longest seen first (seen frames × mean area):");
    let at = |p: Option<[f64; 2]>| p.map_or("-".to_string(), |[x, y]| format!("({x:.2}, {y:.2})"));
    let frame = |k: Option<usize>| k.map_or("-".to_string(), |k| k.to_string());
    for r in rows.iter().take(SHOWN) {
        println!(
            "  #{:<4} {:<8} {:<9} frames {:>4}–{:<4} ({} seen)  {} → {}  {:.2}% of the frame{}{}",
            r.id,
            r.color.unwrap_or("-"),
            r.shape.unwrap_or("-"),
            frame(r.first_frame),
            frame(r.last_frame),
            r.frames_seen,
            at(r.first_center_h),
            at(r.last_center_h),
            100.0 * r.mean_area_fraction,
            match r.colors_in_order.len() {
                0 | 1 => String::new(),
                2..=6 => format!("  colours {}", r.colors_in_order.join(" → ")),
                n => format!("  colours {} → … ({} changes)", r.colors_in_order[..5].join(" → "), n - 1),
            },
            if r.found_as.is_empty() { String::new() } else { format!("  ← the {} object", r.found_as.join(", ")) },
        );
    }
    if rows.len() > SHOWN {
        println!("  … and {} more (--json lists every track)", rows.len() - SHOWN);
    }
    Ok(ExitCode::Ok)
}

fn video_command(cmd: &VideoCommand) -> Result<ExitCode> {
    let vio = Error::Video;
    match cmd {
        VideoCommand::Info { file, decode, frames, size, filter, fps, json } => {
            // Streamed: counting frames holds none of them. The decode reads the stream
            // information itself; without it, a probe does.
            let start = std::time::Instant::now();
            let (info, report) = if file.is_dir() {
                // A folder of frames, as `convert` reads it: its frames' numbering checked, their
                // pictures decoded only with --decode (the first alone gives the size).
                if !(*fps >= MIN_FPS && *fps <= MAX_FPS) {
                    return Err(Error::Config(format!("--fps {fps}: expected a frame rate in [{MIN_FPS}, {MAX_FPS}]")));
                }
                if *decode {
                    let sampling = parse_frames(frames)?;
                    // Checked as for a file; the frames are decoded, then dropped, unresized.
                    (parse_size(size)?, parse_filter(filter)?);
                    let d =
                        video::decode_frames_dir(file, *fps, sampling, crate::scoring::memory_limit()).map_err(vio)?;
                    (d.info, Some(d.report))
                } else {
                    let (info, skipped) = video::probe_frames_dir(file, *fps).map_err(vio)?;
                    if skipped > 0 {
                        eprintln!(
                            "warning: {}: the frames' numbers skip {skipped} frame(s); the clip plays on across the gap(s)",
                            file.display()
                        );
                    }
                    (info, None)
                }
            } else if *decode {
                let (sampling, spatial, filter) = (parse_frames(frames)?, parse_size(size)?, parse_filter(filter)?);
                let end = decode_transformed(file, sampling, spatial, filter, true, |_, frame| {
                    std::hint::black_box(frame);
                })?;
                (end.info, Some(end.report))
            } else {
                (video::probe(file).map_err(vio)?, None)
            };
            if *json {
                let mut out = json!({"info": info, "decode": report});
                if report.is_some() {
                    // The decode's wall time (open to last frame), without the process's start.
                    out["wall_s"] = json!(start.elapsed().as_secs_f64());
                }
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            } else {
                // HDR is read without tone mapping (as decord and PyAV read it): said where it is.
                // Untagged video is read as FFmpeg (and decord, OpenCV) read it: BT.601, which a
                // player may not assume for HD.
                let hdr = info.hdr().map_or(String::new(), |h| format!(", HDR ({h}): read without tone mapping"));
                let matrix = if matches!(info.color_matrix.as_str(), "unknown" | "unspecified" | "")
                    && !info.codec.starts_with("images")
                {
                    format!("{} (read as BT.601, as FFmpeg reads untagged video)", info.color_matrix)
                } else {
                    info.color_matrix.clone()
                };
                println!(
                    "{}: {} / {} {} (matrix {}, range {}, transfer {}, primaries {}{hdr})",
                    info.path,
                    info.container,
                    info.codec,
                    info.pix_fmt,
                    matrix,
                    info.color_range,
                    info.color_transfer,
                    info.color_primaries
                );
                println!(
                    "  size {}x{}  sar {}:{}  dar {:.4}  rotation {}°{}",
                    info.width,
                    info.height,
                    info.sar[0],
                    info.sar[1],
                    info.dar,
                    info.rotation,
                    if info.mirrored { ", mirrored" } else { "" }
                );
                // An MP4's stored count includes the samples its edit list hides: those shown are
                // counted from its timestamps (a demux pass, no decoding).
                let shown = info
                    .shown_frames_by_header()
                    .or_else(|| (!file.is_dir()).then(|| video::shown_frames(file).ok()).flatten().map(|n| n as u64));
                let frames = match (info.frames, shown) {
                    (Some(n), Some(shown)) if shown < n => {
                        format!("{shown} frames shown ({n} stored, {} hidden by an edit list)", n - shown)
                    }
                    (Some(n), _) => format!("{n} frames"),
                    (None, _) => "undeclared frames".to_string(),
                };
                let dur = info.duration_s.map_or("unknown".to_string(), |d| format!("{d:.3} s"));
                println!("  {:.3} fps  {frames}  {dur}", info.fps);
                if let Some(r) = report {
                    println!(
                        "  decoded {} frames{} from {} packets{}, kept {}; {} corrupt packets, {} frames lost{}{}{}",
                        r.frames_decoded,
                        if r.rescaled > 0 {
                            format!(" ({} of another size, scaled to the first's)", r.rescaled)
                        } else {
                            String::new()
                        },
                        r.packets,
                        if r.hidden > 0 { format!(" ({} hidden by an edit list)", r.hidden) } else { String::new() },
                        if r.frames_short > 0 {
                            format!(
                                "{} (of {} sampled: the rest never decoded)",
                                r.frames_kept,
                                r.frames_kept + r.frames_short
                            )
                        } else {
                            r.frames_kept.to_string()
                        },
                        r.corrupt_packets,
                        r.frames_lost,
                        if r.frames_concealed > 0 {
                            format!(", {} decoded from damaged data (FFmpeg concealed the damage)", r.frames_concealed)
                        } else {
                            String::new()
                        },
                        if r.frames_missing > 0 {
                            format!(", {} missing from the timeline", r.frames_missing)
                        } else {
                            String::new()
                        },
                        if r.demux_errors > 0 {
                            format!(", {} demuxer read errors", r.demux_errors)
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Ok(ExitCode::Ok)
        }
        VideoCommand::Score { file, metrics, weights, json } => {
            let weights = crate::distribution::networks_dir_checked(weights.as_deref())?;
            crate::distribution::set_networks_dir(weights);
            let mut chosen = Vec::with_capacity(metrics.len());
            for name in metrics {
                chosen.push(videval_metrics::registry::lookup(name).ok_or_else(|| {
                    Error::Config(format!("--metrics: {}", videval_metrics::registry::unknown(name)))
                })?);
            }
            let needs: Vec<crate::scoring::Need<'_>> =
                chosen.iter().map(|m| crate::scoring::Need::Metric(*m)).collect();
            let start = std::time::Instant::now();
            // Its errors name the file.
            let outcomes = crate::scoring::score_video(file, &needs).map_err(Error::Config)?;
            let wall_s = start.elapsed().as_secs_f64();
            // HDR is measured as it is read, without tone mapping: said, as `run` says it.
            let hdr = video::probe(file).ok().and_then(|i| i.hdr()).map(|h| {
                format!("{} is HDR ({h}): measured without tone mapping, its values read as SDR ones", file.display())
            });
            if let Some(w) = hdr.as_ref().filter(|_| !*json) {
                eprintln!("warning: {w}");
            }
            let rows: Vec<serde_json::Value> = chosen
                .iter()
                .zip(&outcomes)
                .map(|(m, o)| match o {
                    Ok(v) => match &v.detail {
                        Some(d) => json!({"metric": m.id(), "version": m.version(), "value": v.value, "detail": d}),
                        None => json!({"metric": m.id(), "version": m.version(), "value": v.value}),
                    },
                    Err(crate::scoring::Failure::NotApplicable(e)) => {
                        json!({"metric": m.id(), "version": m.version(), "not_applicable": e})
                    }
                    Err(crate::scoring::Failure::Error(e)) => {
                        json!({"metric": m.id(), "version": m.version(), "error": e})
                    }
                })
                .collect();
            // A metric that could not measure the file or load its network: the file or the
            // weights given are bad input (3), said in the JSON too (it looked like a success).
            let failed = outcomes.iter().any(|o| matches!(o, Err(crate::scoring::Failure::Error(_))));
            let code = if failed { ExitCode::BadInput } else { ExitCode::Ok };
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "file": file.display().to_string(), "wall_s": wall_s, "metrics": rows, "exit_code": code as i32,
                        "warnings": hdr.into_iter().collect::<Vec<_>>()
                    }))
                    .unwrap_or_default()
                );
            } else {
                println!("{}  ({wall_s:.2} s, one decode)", file.display());
                for (m, o) in chosen.iter().zip(&outcomes) {
                    match o {
                        Ok(v) => println!("  {:<24} v{}  {:.6}", m.id(), m.version(), v.value),
                        Err(crate::scoring::Failure::NotApplicable(e)) => println!("  {:<24} n/a: {e}", m.id()),
                        Err(crate::scoring::Failure::Error(e)) => println!("  {:<24} error: {e}", m.id()),
                    }
                }
            }
            Ok(code)
        }
        VideoCommand::Tracks { file, json } => tracks_command(file, *json),
        VideoCommand::Convert { input, output, frames, size, filter, fps, strip, json } => {
            let png = output.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
            if png && !(1..=MAX_STRIP).contains(strip) {
                return Err(Error::Config(format!("--strip {strip}: expected 1 to {MAX_STRIP} frames in a filmstrip")));
            }
            let start = std::time::Instant::now();
            let sampling = parse_frames(frames)?;
            let spatial = parse_size(size)?;
            let filter = parse_filter(filter)?;
            if !(*fps >= MIN_FPS && *fps <= MAX_FPS) {
                return Err(Error::Config(format!("--fps {fps}: expected a frame rate in [{MIN_FPS}, {MAX_FPS}]")));
            }
            // Refused before decoding: an output it cannot write, or the input itself.
            if !png {
                video::EncodeParams::for_path(output).map_err(vio)?;
            }
            let sidecar = PathBuf::from(format!("{}.json", output.display()));
            for (what, p) in [("the output", output), ("the output's sidecar", &sidecar)] {
                if crate::store::same_file(p, input) {
                    return Err(Error::Config(format!(
                        "{}: {what} is the input; write the conversion elsewhere",
                        p.display()
                    )));
                }
            }
            // Among a folder's frames it would replace one of them (or be read as one later).
            if crate::store::directly_in(output, input) {
                return Err(Error::Config(format!(
                    "{}: inside the folder of frames {} it reads; write the conversion elsewhere",
                    output.display(),
                    input.display()
                )));
            }
            // A filmstrip of the whole clip shows `--strip` uniform frames: only those are kept
            // (a folder of frames was read whole for it).
            // A picture is read once: a still made eight identical panels, each decoded and held
            // (3 GB for a 12000×8000 JPEG).
            let picture = !input.is_dir() && video::decode_versions(input).1.is_some();
            let sampling = if png && sampling == FrameSampling::All && !picture {
                FrameSampling::Uniform((*strip).max(1))
            } else {
                sampling
            };
            let v = if input.is_dir() {
                let d = video::decode_frames_dir(input, *fps, sampling, crate::scoring::memory_limit()).map_err(vio)?;
                if d.report.frames_missing > 0 {
                    eprintln!(
                        "warning: {}: the frames' numbers skip {} frame(s); the clip plays on across the gap(s)",
                        input.display(),
                        d.report.frames_missing
                    );
                }
                let v = videval_metrics::preprocess::transform_video(&d.video, spatial, filter, true);
                let rate = kept_rate(v.fps(), sampling, v.len(), d.sampled_from.unwrap_or(0));
                videval_metrics::Video::new(v.width(), v.height(), rate, v.into_bytes())
                    .map_err(|e| Error::Config(format!("{}: {e}", input.display())))?
            } else {
                converted(input, sampling, spatial, filter, crate::scoring::memory_limit())?
            };
            // HDR is converted as it is read, without tone mapping: said, as `video info` says it.
            if let Ok(info) = video::probe(input)
                && info.hdr().is_some()
            {
                eprintln!(
                    "warning: {} is HDR ({}): converted without tone mapping, its values written as SDR ones",
                    input.display(),
                    info.color_transfer
                );
            }
            // A filmstrip shows each kept frame once: more panels than frames repeated them.
            let panels = (*strip).min(v.len());
            let strip_size = if png {
                Some(video::write_filmstrip(&v, output, panels, v.height().min(256)).map_err(vio)?)
            } else {
                // What the output's encoder can hold, checked before encoding (16384×16384 or a
                // rate of 2000 fps failed in the encoder, or silently became 1000 fps).
                check_encodable(v.width(), v.height(), v.fps(), output)
                    .map_err(|e| Error::Config(format!("{}: {e}", output.display())))?;
                write_clip(&v, output, Some(input))?;
                None
            };
            if *json {
                // A filmstrip's own size and panels, not the frames'.
                let out = match strip_size {
                    Some((w, h)) => json!({"output": output.display().to_string(), "filmstrip": true, "panels": panels,
                                          "frames": v.len(), "width": w, "height": h, "wall_s": start.elapsed().as_secs_f64()}),
                    None => {
                        json!({"output": output.display().to_string(), "frames": v.len(), "width": v.width(), "height": v.height(),
                                   "fps": v.fps(), "wall_s": start.elapsed().as_secs_f64()})
                    }
                };
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            } else {
                if let Some((w, h)) = strip_size {
                    println!(
                        "{}: a {w}x{h} filmstrip of {panels} panels from {} frames kept",
                        output.display(),
                        v.len()
                    );
                } else {
                    println!(
                        "{}: {} frames, {}x{} at {} fps",
                        output.display(),
                        v.len(),
                        v.width(),
                        v.height(),
                        v.fps()
                    );
                }
            }
            Ok(ExitCode::Ok)
        }
    }
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    pub run_dir: PathBuf,
    /// Write results even if units are missing (marked partial; never gate on them).
    #[arg(long)]
    pub allow_partial: bool,
    /// Machine-readable output on stdout (the results' summary); no progress bars.
    #[arg(long)]
    pub json: bool,
    /// The store the run's videos are in, for the report, where they are no longer at the paths
    /// the shards recorded (a store moved since); looked up by hash.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    pub run_dir: PathBuf,
    /// Output file (default: RUN_DIR/report.html, RUN_DIR/limitations.html, or a sweep folder's
    /// scaling.html).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Write the capabilities-and-limitations report for publishing instead.
    #[arg(long)]
    pub limitations: bool,
    /// The store the run's videos are in, where they are no longer at the paths the run recorded
    /// (a store moved since); looked up by hash.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum SuitesCommand {
    /// List suites with their case counts and content hashes.
    List {
        /// A folder of suite files instead of the bundled suites.
        #[arg(long)]
        dir: Option<PathBuf>,
        #[command(flatten)]
        limits: SuiteLimitArgs,
        /// Each suite as JSON (its whole content hash; an invalid file with its first error).
        #[arg(long)]
        json: bool,
    },
    /// Check suite files (default: the bundled suites); prints every error, exits 3 on any.
    Lint {
        paths: Vec<PathBuf>,
        #[command(flatten)]
        limits: SuiteLimitArgs,
        /// Every file's verdict and located errors (file, line, column, field, message) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a suite fully resolved and expanded, as JSON.
    Show {
        name: String,
        #[command(flatten)]
        limits: SuiteLimitArgs,
        /// The suite is printed as JSON either way; with --json a failure is a JSON object on
        /// standard output too, as for every other command.
        #[arg(long)]
        json: bool,
    },
    /// Write suites from another benchmark's prompt list: `suites import vbench
    /// VBench_full_info.json --out DIR` writes DIR/vbench_<dimension>.yaml, prompts byte for byte.
    Import {
        /// The benchmark whose format FILE is in.
        #[arg(value_enum)]
        format: ImportFormat,
        file: PathBuf,
        /// Folder for the suites.
        #[arg(long)]
        out: PathBuf,
        /// Only these dimensions (comma-separated; default: every dimension in FILE).
        #[arg(long, value_delimiter = ',')]
        dimension: Vec<String>,
        /// Samples per prompt (VBench samples 5); with --static-filter, of every dimension but
        /// temporal flickering.
        #[arg(long, default_value_t = 5)]
        samples: u32,
        /// Score temporal flickering as VBench's static-filter protocol does: every video also
        /// gets `vbench_static` (RAFT-things weights under --weights), and the dimension takes the
        /// first 5 static videos of each prompt out of --static-samples.
        #[arg(long)]
        static_filter: bool,
        /// With --static-filter, temporal flickering's samples per prompt (VBench samples 25).
        #[arg(long, default_value_t = 25, requires = "static_filter")]
        static_samples: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Every network, whether its files are present (checked against their manifests).
    List {
        /// A folder with one subfolder per network id (`DIR/i3d-400`, `DIR/clip`, …); else
        /// `VIDEVAL_NETWORKS`, else `VIDEVAL_WEIGHTS`.
        #[arg(long)]
        weights: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Prompt-list formats `suites import` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ImportFormat {
    /// VBench's `VBench_full_info.json`: [{prompt_en, dimension: [...], auxiliary_info}].
    Vbench,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 17)]
    pub frames: u32,
    #[arg(long, default_value_t = 64)]
    pub width: u32,
    #[arg(long, default_value_t = 64)]
    pub height: u32,
    #[arg(long, default_value_t = 8.0)]
    pub fps: f64,
    #[arg(long)]
    pub out: PathBuf,
}

const SLURM_RUN: &str = include_str!("../../ci/slurm/run.sbatch.j2");
const SLURM_MERGE: &str = include_str!("../../ci/slurm/merge.sbatch.j2");
const SLURM_SUBMIT: &str = include_str!("../../ci/slurm/submit.sh.j2");
const K8S_JOB: &str = include_str!("../../ci/k8s/job.yaml.j2");

/// What each shard task of `plan --emit` asks its scheduler for, besides the CPUs `-j` names.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TaskResources {
    /// Memory each shard task asks for, e.g. `32GiB` (Slurm's `--mem`; Kubernetes' memory
    /// request and limit). Default: the scheduler's. `-j N` asks for N CPUs the same way.
    #[arg(long, requires = "emit", value_parser = parse_task_memory)]
    pub task_memory: Option<u64>,
    /// GPUs each shard task asks for (Slurm's `--gres=gpu:N`; Kubernetes' `nvidia.com/gpu`).
    #[arg(long, requires = "emit", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub task_gpus: Option<u32>,
    /// Time each shard task may run: `90m`, `4h`, `2d`, `HH:MM:SS` or `D-HH:MM:SS` (Slurm's
    /// `--time`, default 4h, after which a rerun of the task resumes; Kubernetes' pod
    /// `activeDeadlineSeconds`, default none).
    #[arg(long, requires = "emit", value_parser = parse_task_time)]
    pub task_time: Option<u64>,
}

/// `--task-memory`: a size as `--memory-budget` takes it, at least 64 MiB: a number without a
/// unit is bytes, and `64000` (Slurm's megabytes) asked for 63 KiB, which every retry of the
/// task ran out of at once.
pub fn parse_task_memory(spec: &str) -> std::result::Result<u64, String> {
    let bytes = crate::run::parse_bytes(spec)?;
    if bytes < 64 << 20 {
        return Err(format!(
            "'{spec}' is {bytes} bytes, under the 64 MiB a task needs (a number without a unit is bytes: write 64GB or 64GiB)"
        ));
    }
    Ok(bytes)
}

/// `--task-time`: `90m`, `4h`, `2d`, `45s`, `HH:MM:SS` or `D-HH:MM:SS` → seconds (at most 365 days).
pub fn parse_task_time(spec: &str) -> std::result::Result<u64, String> {
    let s = spec.trim();
    let bad = || format!("'{spec}' is not a time limit (expected e.g. 90m, 4h, 2d, 04:00:00 or 1-12:00:00)");
    let number = |t: &str| -> std::result::Result<u64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<u64>().map_err(|_| bad())
    };
    let seconds = if let Some((n, unit)) =
        s.char_indices().last().filter(|(_, c)| "smhd".contains(*c)).map(|(i, c)| (&s[..i], c))
    {
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => 86_400,
        };
        number(n)?.checked_mul(scale).ok_or_else(bad)?
    } else {
        let (days, clock) = match s.split_once('-') {
            Some((d, c)) => (number(d)?, c),
            None => (0, s),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        let [h, m, sec] = parts[..] else { return Err(bad()) };
        let (h, m, sec) = (number(h)?, number(m)?, number(sec)?);
        if m > 59 || sec > 59 || (days > 0 && h > 23) {
            return Err(bad());
        }
        days.checked_mul(86_400).and_then(|d| d.checked_add(h * 3600 + m * 60 + sec)).ok_or_else(bad)?
    };
    if seconds == 0 || seconds > 365 * 86_400 {
        return Err(format!("'{spec}': a task's time limit must be between 1 s and 365 days"));
    }
    Ok(seconds)
}

/// Seconds as Slurm writes a time limit: `HH:MM:SS`, or `D-HH:MM:SS` from a day up.
fn slurm_time(seconds: u64) -> String {
    let (d, h, m, s) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    if d > 0 { format!("{d}-{h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}:{s:02}") }
}

/// A scene file to render, or a sample `world sample` wrote (its `settings` and `scene`; the rest
/// is what was made of them): `world render` refused its own samples ("unknown field caption").
/// A sample drawn over a photograph names it (`backdrop`): rendered without `--photos`, it is
/// drawn over the plain setting, which is said.
fn scene_file(path: &Path, photos: bool) -> Result<videval_models::world::spec::SceneFile> {
    // Read and parsed once; a scene file is decoded from it with its errors located.
    let node = crate::yaml::load_node(path)?;
    let value = crate::yaml::to_json(&node);
    if value.get("schema").and_then(|s| s.as_str()) != Some("videval/world-sample/v1") {
        return crate::yaml::decode(&node, "").map_err(|e| Error::Config(e.to_string()));
    }
    if let Some(name) = value.get("backdrop").and_then(|b| b.as_str()).filter(|_| !photos) {
        eprintln!(
            "note: {} was drawn over the photograph {name}; without --photos (a folder holding it) it is drawn over the plain setting",
            path.display()
        );
    }
    let mut file = value.get("settings").cloned().unwrap_or_default();
    if let (Some(fields), Some(scene)) = (file.as_object_mut(), value.get("scene")) {
        fields.insert("scene".into(), scene.clone());
    }
    serde_json::from_value(file).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        message: format!("a world sample whose settings and scene do not make a scene file: {e}"),
    })
}

/// Writes Slurm or Kubernetes job files for the plan `args` describes.
fn emit_jobs(
    args: &RunArgs,
    kind: &str,
    dir: &Path,
    throttle: u32,
    image: &str,
    task: &TaskResources,
) -> Result<ExitCode> {
    let shards = args.num_shards.ok_or_else(|| Error::Config("--emit needs --num-shards N".into()))?;
    if shards == 0 || args.shard.is_some() {
        return Err(Error::Config("--emit needs --num-shards N ≥ 1 and no --shard (each task picks its own)".into()));
    }
    if shards > crate::run::MAX_SHARDS {
        return Err(Error::Config(format!("--num-shards {shards}: at most {} shards", crate::run::MAX_SHARDS)));
    }
    if throttle == 0 {
        return Err(Error::Config("--throttle 0: at least one task must run at a time".into()));
    }
    // The networks folder this plan was made with, from --weights or the environment: the jobs
    // get it as --weights (the pods never see this shell's VIDEVAL_NETWORKS, and the network
    // metrics there were not measurable with the plan unchanged).
    let networks = crate::distribution::networks_dir_checked(args.weights.as_deref())?;
    if kind == "slurm" && shards > 1000 {
        eprintln!(
            "note: {shards} array tasks: Slurm's default MaxArraySize (1001) allows indexes up to 1000; raise it, or use fewer shards"
        );
    }
    if kind == "k8s" && image.trim().is_empty() {
        return Err(Error::Config("--image: empty; the Kubernetes Job needs the image its pods run".into()));
    }
    let suites: Vec<Suite> =
        args.suites.iter().map(|s| load_suite(s, &args.suite_limits.limits())).collect::<Result<_>>()?;
    let generator = generator::from_arg(&args.model)?;
    let plan = Plan::build(&suites, generator.identity(), Selection { limit: args.limit, cases: args.cases.clone() })?;
    // The conditioning files `plan` and `run` check: a missing one failed every task.
    let missing = crate::run::conditioning_problems(&suites, &plan, false);
    if !missing.is_empty() {
        return Err(Error::Config(missing.join("\n")));
    }
    // And the cases the model cannot make, which every task would refuse.
    crate::run::refused_cases(&suites, &plan, generator.as_ref())?;
    // What the pods read beside the suites: the conditioning files the planned cases name.
    let planned: std::collections::BTreeSet<(&str, &str)> =
        plan.units.iter().map(|u| (u.id.suite.as_str(), u.id.case_id.as_str())).collect();
    let inputs: std::collections::BTreeSet<String> = suites
        .iter()
        .flat_map(|s| s.cases.iter().filter(|c| planned.contains(&(s.name.as_str(), c.id.as_str()))))
        .filter_map(|c| c.input.as_ref())
        .flat_map(|i| [&i.image, &i.video, &i.video2].into_iter().flatten().filter_map(|m| m.file()))
        .map(|f| std::path::absolute(&f).unwrap_or(f).display().to_string())
        .collect();
    if shards as usize > plan.units.len().max(1) {
        return Err(Error::Config(format!(
            "--num-shards {shards} for {} units: the tasks beyond the first {} would have nothing to do; use at most {}",
            plan.units.len(),
            plan.units.len(),
            plan.units.len()
        )));
    }
    let digits: String = crate::hash::digits(&plan.plan_hash).chars().take(12).collect();
    // A Kubernetes name and the job-name label it is copied into: at most 63 characters (the
    // merge Job is "videval-{run_name}-merge"), lowercase letters, digits and '-', a letter or
    // digit at each end.
    let model = generator.identity().name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-");
    let model: String = model.trim_matches('-').chars().take(36).collect();
    let model = model.trim_end_matches('-');
    let run_name = if model.is_empty() { format!("videval-{digits}") } else { format!("{model}-{digits}") };
    let run_dir =
        args.out.clone().unwrap_or_else(|| crate::run::default_run_dir(&generator.identity().name, &plan.plan_hash));
    let run_dir = std::path::absolute(&run_dir).unwrap_or(run_dir);
    // Jobs run in the job files' folder (or wherever the scheduler puts them): files named on
    // the command line are passed as absolute paths.
    let absolute = |a: &str| {
        let p = Path::new(a);
        if p.exists() {
            std::path::absolute(p).map_or(a.to_string(), |p| p.display().to_string())
        } else {
            a.to_string()
        }
    };
    // A suite argument is a path only where the loader reads it as one (a folder named `smoke`
    // beside a plan of the bundled smoke suite became the jobs' --suite, which they could not read).
    let suite_arg = |a: &str| if crate::run::names_a_suite_file(a) { absolute(a) } else { a.to_string() };
    // A model spec names its folder or checkpoint after the adapter (`dir:videos`): that path
    // too (it stayed relative, and the jobs, run from their own folder, found no videos).
    let model = match args.model.split_once(':') {
        Some((adapter, rest)) if !Path::new(&args.model).exists() && Path::new(rest).exists() => {
            format!("{adapter}:{}", absolute(rest))
        }
        // A spec file, as `generator::from_arg` reads one (an adapter's name stays a name).
        _ if Path::new(&args.model).is_file() => absolute(&args.model),
        _ => args.model.clone(),
    };
    // Pods see the shared volume at /runs, not this machine's folders: the run folder and the
    // store go there (they were this machine's paths, so each pod wrote into its own file system
    // and the merge found nothing).
    let in_pods = |p: &Path, default: &str| -> String {
        let abs = std::path::absolute(p).unwrap_or(p.to_path_buf());
        if abs.starts_with("/runs") {
            abs.display().to_string()
        } else {
            let name = abs.file_name().map_or(default.to_string(), |n| n.to_string_lossy().into_owned());
            format!("/runs/{name}")
        }
    };
    let store = if kind == "k8s" {
        let (store, run) = (in_pods(&args.store, "store"), in_pods(&run_dir, &run_name));
        // Both go to /runs/<their folder's name>: one name would be one folder to the pods.
        if store == run {
            return Err(Error::Config(format!(
                "--out and --store both map to {store} on the pods' volume (folders of one name); name them apart"
            )));
        }
        store
    } else {
        std::path::absolute(&args.store).unwrap_or(args.store.clone()).display().to_string()
    };
    let suites: Vec<String> = args.suites.iter().map(|s| suite_arg(s)).collect();
    // `--suite` splits on commas: a path holding one would reach the jobs as two.
    if let Some(s) = suites.iter().find(|s| s.contains(',')) {
        return Err(Error::Config(format!(
            "--suite {s:?}: the jobs' --suite splits on commas; move the suite to a path without one"
        )));
    }
    // Paths reach the jobs as text: one that is not UTF-8 would be rewritten on the way.
    let paths = [Some(&args.store), args.out.as_ref(), networks.as_ref(), Some(&dir.to_path_buf())];
    if let Some(p) = paths.into_iter().flatten().find(|p| p.to_str().is_none()) {
        return Err(Error::Config(format!(
            "{}: the path is not valid UTF-8; jobs name their paths as text",
            p.display()
        )));
    }
    // Every value in the `--flag=value` form: a value starting with '-' (a case id may) is the
    // flag's, not another flag.
    let mut argv = vec!["run".to_string(), format!("--suite={}", suites.join(",")), format!("--model={model}")];
    argv.push(format!("--store={store}"));
    if let Some(l) = args.limit {
        argv.push(format!("--limit={l}"));
    }
    if let Some(c) = &args.cases {
        argv.push(format!("--cases={}", c.join(",")));
    }
    argv.extend(args.suite_limits.argv());
    if let Some(w) = &networks {
        argv.push(format!("--weights={}", std::path::absolute(w).unwrap_or(w.clone()).display()));
    }
    // What `plan` was given for the memory and threads each task may use goes with it.
    if let Some(j) = args.jobs {
        argv.push(format!("--jobs={j}"));
    }
    if let Some(m) = args.memory_budget {
        argv.push(format!("--memory-budget={m}"));
    }
    let quote = |a: &str| {
        if a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:,=".contains(c)) {
            a.to_string()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    let videval = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "videval".into());
    let run_path = if kind == "k8s" { in_pods(&run_dir, &run_name) } else { run_dir.display().to_string() };
    // Slurm reads `#SBATCH --output=` lines itself, with no quoting and with `%` patterns (`%j`
    // in a folder name became the job id, and the logs went to a folder never made): the run
    // folder must need neither.
    if kind == "slurm" && run_path.chars().any(|c| c.is_whitespace() || c.is_control() || "'\"\\$`%#".contains(c)) {
        return Err(Error::Config(format!(
            "--out {run_path:?}: Slurm's #SBATCH lines cannot hold a path with spaces, quotes, '$', '`', '%' or '#' (a comment to Slurm: the logs went to the path cut there); choose another run folder"
        )));
    }
    if kind == "k8s" {
        let weights: Option<String> =
            networks.as_ref().map(|w| std::path::absolute(w).unwrap_or(w.clone()).display().to_string());
        // What the pods read from this machine's paths must be in the image or on the volume.
        let host: Vec<&str> = suites
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(model.as_str()).map(|m| m.split_once(':').map_or(m, |(_, p)| p)))
            .chain(weights.iter().map(String::as_str))
            .chain(inputs.iter().map(String::as_str))
            .filter(|p| p.starts_with('/') && !p.starts_with("/runs"))
            .collect();
        for p in host {
            eprintln!("note: the pods read {p} at this path: put it in the image or under /runs");
        }
    }
    // Every value goes into the files quoted for where it lands: shell words for the scripts,
    // JSON strings (valid YAML) for the Kubernetes manifest.
    // A flow sequence of double-quoted scalars, each escaped as YAML needs (JSON's escaping left
    // DEL and the C1 controls raw, which YAML refuses, and NEL and the separators, which it folds).
    // Kubernetes expands `$(VAR)` in a container's args and reads `$$` as `$`: every `$` of an
    // argument is written `$$` (a folder named `a$$b$(HOSTNAME)` reached the pods as another).
    let yaml = |items: &[String]| {
        format!("[{}]", items.iter().map(|a| crate::yaml::quoted(&a.replace('$', "$$"))).collect::<Vec<_>>().join(","))
    };
    let mut run_argv = argv.clone();
    run_argv.extend([format!("--out={run_path}"), format!("--num-shards={shards}")]);
    // What each task asks for: the CPUs its threads (`-j`) use, the memory and GPUs named. A task
    // without a CPU request got the scheduler's default (one CPU on a stock Slurm) while its
    // videval ran a thread per core of the node.
    let mib = task.task_memory.map(|b| b.div_ceil(1 << 20));
    let mut sbatch_resources: Vec<String> = Vec::new();
    let mut requests: Vec<String> = Vec::new();
    let mut limits: Vec<String> = Vec::new();
    if let Some(j) = args.jobs {
        sbatch_resources.push(format!("--cpus-per-task={j}"));
        requests.push(format!("cpu: \"{j}\""));
    }
    if let Some(m) = mib {
        sbatch_resources.push(format!("--mem={m}M"));
        requests.push(format!("memory: {m}Mi"));
        limits.push(format!("memory: {m}Mi"));
    }
    if let Some(g) = task.task_gpus {
        sbatch_resources.push(format!("--gres=gpu:{g}"));
        limits.push(format!("nvidia.com/gpu: {g}"));
    }
    let flow = |items: &[String]| format!("{{{}}}", items.join(", "));
    let pod_resources = match (requests.is_empty(), limits.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("{{requests: {}}}", flow(&requests)),
        (true, false) => format!("{{limits: {}}}", flow(&limits)),
        (false, false) => format!("{{requests: {}, limits: {}}}", flow(&requests), flow(&limits)),
    };
    let ctx = json!({
        "plan_hash": plan.plan_hash, "units": plan.units.len(), "shards": shards, "throttle": throttle.clamp(1, shards),
        "run_name": run_name, "run_dir": run_path, "run_dir_sh": quote(&run_path), "videval_sh": quote(&videval),
        "image_yaml": crate::yaml::quoted(image), "run_argv_yaml": yaml(&run_argv),
        "merge_argv_yaml": yaml(&["merge".to_string(), "--".into(), run_path.clone()]),
        "workdir_sh": quote(&std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| ".".into())),
        "emit_dir_sh": quote(&std::path::absolute(dir).unwrap_or(dir.to_path_buf()).display().to_string()),
        "run_args": argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
        "time_limit": slurm_time(task.task_time.unwrap_or(4 * 3600)),
        "sbatch_resources": sbatch_resources, "pod_resources": pod_resources, "pod_deadline": task.task_time,
    });
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let files: &[(&str, &str)] = match kind {
        "slurm" => &[("run.sbatch", SLURM_RUN), ("merge.sbatch", SLURM_MERGE), ("submit.sh", SLURM_SUBMIT)],
        "k8s" => &[("job.yaml", K8S_JOB)],
        other => return Err(Error::Config(format!("--emit {other}: expected slurm or k8s"))),
    };
    let mut written = Vec::new();
    for (name, template) in files {
        let text = env.render_str(template, &ctx).map_err(|e| Error::Internal(format!("rendering {name}: {e}")))?;
        write_atomic(&dir.join(name), text.as_bytes())?;
        written.push(dir.join(name).display().to_string());
    }
    if args.json {
        let out = json!({"emit": kind, "plan_hash": plan.plan_hash, "num_shards": shards, "files": written});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        for f in &written {
            println!("{f}");
        }
    }
    Ok(ExitCode::Ok)
}

fn merge_command(args: &MergeArgs) -> Result<ExitCode> {
    let m = analyze::merge(&args.run_dir, args.allow_partial)?;
    let report = write_report(&args.run_dir, Some(&args.store), None)?;
    let code = if m.failed_generations > 0 || m.failed_scores > 0 { ExitCode::ModelFailure } else { ExitCode::Ok };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"merged": m, "report": report, "exit_code": code as i32}))
                .unwrap_or_default()
        );
    } else {
        if !m.complete {
            println!("PARTIAL: {} unit(s) missing", m.missing.len());
            for p in &m.problems {
                println!("  {p}");
            }
        }
        println!("results: {}\nreport:  {}", m.results_json.display(), report.display());
        crate::run::say_vbench(&m);
        if m.off_request > 0 {
            println!("{}", crate::run::off_request_note(m.off_request));
        }
        // Exit 4 says why, as `run` does.
        if m.failed_generations > 0 {
            println!("{}", crate::run::failed_generations_note(m.failed_generations));
        }
        if m.failed_scores > 0 {
            println!("{}", crate::run::failed_scores_note(m.failed_scores));
        }
    }
    Ok(code)
}

/// Every suite file under `path` (a file, or the non-partial .yaml files of a folder).
fn suite_files(path: &Path) -> Result<Vec<String>> {
    if path.is_dir() {
        let mut files: Vec<String> = std::fs::read_dir(path)
            .map_err(Error::io(path))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('_')))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path.to_string_lossy().into_owned()])
    }
}

/// One located error of `suites lint --json`: its file (the suite's, `f`, where it has no
/// location), line, column, `field`, message and the whole line as printed.
fn error_json(f: &str, x: &crate::yaml::YamlError, field: Option<&str>) -> serde_json::Value {
    json!({"file": x.loc.as_ref().map_or_else(|| f.to_string(), |l| l.file.to_string()),
        "line": x.loc.as_ref().map(|l| l.line), "column": x.loc.as_ref().map(|l| l.col),
        "field": field, "message": x.message, "text": x.to_string()})
}

fn suites_command(cmd: &SuitesCommand) -> Result<ExitCode> {
    match cmd {
        SuitesCommand::Import {
            format: ImportFormat::Vbench,
            file,
            out,
            dimension,
            samples,
            static_filter,
            static_samples,
            json,
        } => {
            let samples = crate::vbench::Samples {
                per_prompt: *samples,
                static_filter: static_filter.then_some(*static_samples),
            };
            // `--dimension "color, scene"`: the names, not their spaces.
            let dimension: Vec<String> = dimension.iter().map(|d| d.trim().to_string()).collect();
            crate::vbench::import_command(file, out, &dimension, samples, *json)
        }
        SuitesCommand::List { dir, limits, json } => {
            let limits = limits.limits();
            let loaded: Vec<(String, std::result::Result<Suite, suite::LoadError>)> = match dir {
                Some(d) if !d.is_dir() => {
                    return Err(Error::Config(format!("--dir {}: not a folder of suites", d.display())));
                }
                Some(d) => {
                    suite_files(d)?.into_iter().map(|f| (f.clone(), suite::load_with(&Disk, &f, &limits))).collect()
                }
                None => bundled::names()
                    .into_iter()
                    .map(|n| {
                        (n.to_string(), suite::load_with(&Bundled, bundled::file_of(n).unwrap_or_default(), &limits))
                    })
                    .collect(),
            };
            let units = |s: &Suite| s.cases.iter().map(|c| c.seeds.per_case).sum::<u32>();
            if *json {
                let rows: Vec<serde_json::Value> = loaded
                    .iter()
                    .map(|(label, s)| match s {
                        Ok(s) => json!({"suite": s.name, "file": label, "version": s.version, "cases": s.cases.len(),
                            "units": units(s), "tags": s.tags,
                            "content_hash": s.content_hash()}),
                        Err(e) => json!({"file": label, "invalid": true,
                            "error": e.errors.first().map(|x| x.to_string())}),
                    })
                    .collect();
                let invalid = rows.iter().filter(|r| r["invalid"] == true).count();
                let out = json!({"suites": rows, "invalid": invalid});
                println!("{}", serde_json::to_string_pretty(&out).map_err(|e| Error::Internal(e.to_string()))?);
                return Ok(ExitCode::Ok);
            }
            println!("{:<14} {:>3} {:>6} {:>6}  {:<20} {}", "suite", "ver", "cases", "units", "tags", "content hash");
            for (label, s) in loaded {
                match s {
                    Ok(s) => {
                        let hash: String = s.content_hash().chars().take(19).collect();
                        println!(
                            "{:<14} {:>3} {:>6} {:>6}  {:<20} {hash}…",
                            s.name,
                            s.version,
                            s.cases.len(),
                            units(&s),
                            s.tags.join(",")
                        );
                    }
                    Err(_) => println!("{label:<14} (invalid: run `videval suites lint`)"),
                }
            }
            Ok(ExitCode::Ok)
        }
        SuitesCommand::Lint { paths, limits, json } => {
            let limits = limits.limits();
            // (file, bundled, why it holds no suite): a path that holds none is its own failed
            // verdict, in its place, and the others are still linted (the first such path stopped
            // the command, and the rest had none).
            let mut files: Vec<(String, bool, Option<String>)> = Vec::new();
            if paths.is_empty() {
                files.extend(
                    bundled::names().into_iter().filter_map(bundled::file_of).map(|f| (f.to_string(), true, None)),
                );
            }
            for p in paths {
                // A bundled suite's name, where no such file is here (it read "cannot read").
                if !p.exists()
                    && let Some(f) = p.to_str().and_then(bundled::file_of)
                {
                    files.push((f.to_string(), true, None));
                    continue;
                }
                if !p.exists() {
                    let why = format!("no such file or folder, nor a bundled suite ({})", bundled::names().join(", "));
                    files.push((p.display().to_string(), false, Some(why)));
                    continue;
                }
                match suite_files(p) {
                    Ok(found) if found.is_empty() => files.push((
                        p.display().to_string(),
                        false,
                        Some("no suite files (*.yaml, *.yml) to lint".into()),
                    )),
                    Ok(found) => files.extend(found.into_iter().map(|f| (f, false, None))),
                    Err(e) => files.push((p.display().to_string(), false, Some(e.to_string()))),
                }
            }
            let mut bad = 0;
            let mut verdicts = Vec::new();
            for (f, is_bundled, unread) in &files {
                if let Some(why) = unread {
                    bad += 1;
                    if *json {
                        let error = json!({"file": f, "line": null, "column": null, "field": null, "message": why,
                            "text": format!("{f}: {why}")});
                        verdicts.push(json!({"file": f, "ok": false, "errors": [error]}));
                    } else {
                        println!("FAIL  {f}  (1 error(s))\n{f}: {why}");
                    }
                    continue;
                }
                // `_defaults.yaml` and its kind are parts other suites include, not suites: a
                // folder's are passed over, and so are those a shell's `suites/*.yaml` names (each
                // failed with "missing field `schema`").
                // A file named `_…` that says it is a suite (`suite:` or `cases:` at its top level)
                // is linted as one.
                let partial = Path::new(f).file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('_'))
                    && !std::fs::read_to_string(f)
                        .is_ok_and(|t| t.lines().any(|l| l.starts_with("suite:") || l.starts_with("cases:")));
                if partial && !*is_bundled {
                    let why = "a part other suites include (its name starts with _), not a suite: lint the suites that include it";
                    if *json {
                        verdicts.push(json!({"file": f, "ok": null, "skipped": why}));
                    } else {
                        println!("skip  {f}  ({why})");
                    }
                    continue;
                }
                let r = if *is_bundled {
                    suite::load_with(&Bundled, f, &limits)
                } else {
                    suite::load_with(&Disk, f, &limits)
                };
                // The verdict and its errors go to one stream, each file's errors under it (the
                // errors went to standard error, the verdicts to standard output).
                // The files its cases read (pictures and clips to condition on), by their headers.
                let inputs =
                    r.as_ref().map(|s| crate::run::input_problems(std::slice::from_ref(s), |_, _| true, false));
                match r {
                    Ok(_) if inputs.as_ref().is_ok_and(|p| !p.is_empty()) => {
                        bad += 1;
                        let problems = inputs.unwrap_or_default();
                        // Each at its case's `input` field where the file spells the case out (it
                        // had no line, so a CI annotation had nowhere to point).
                        let root = if *is_bundled {
                            None
                        } else {
                            crate::yaml::read_text(Path::new(f)).ok().and_then(|t| crate::yaml::parse(f, &t).ok())
                        };
                        let errors: Vec<crate::yaml::YamlError> = problems
                            .iter()
                            .map(|p| {
                                let at = root
                                    .as_ref()
                                    .and_then(|r| suite::load::case_field(r, &p.case_id, &["input", p.field]));
                                match at {
                                    Some((loc, path)) => crate::yaml::YamlError::at(
                                        &loc,
                                        path,
                                        format!("case {}: {}: {}", p.case_id, p.file, p.why),
                                    ),
                                    None => crate::yaml::YamlError {
                                        loc: None,
                                        path: String::new(),
                                        message: p.to_string(),
                                    },
                                }
                            })
                            .collect();
                        if *json {
                            let errors: Vec<_> = errors
                                .iter()
                                .map(|x| error_json(f, x, (!x.path.is_empty()).then_some(x.path.as_str())))
                                .collect();
                            verdicts.push(json!({"file": f, "ok": false, "errors": errors}));
                        } else {
                            println!("FAIL  {f}  ({} error(s))", errors.len());
                            for e in &errors {
                                println!("{e}");
                            }
                        }
                    }
                    Ok(s) if *json => verdicts
                        .push(json!({"file": f, "ok": true, "cases": s.cases.len(), "content_hash": s.content_hash()})),
                    Ok(s) => println!("ok    {f}  ({} cases, {})", s.cases.len(), s.content_hash()),
                    Err(e) => {
                        bad += 1;
                        if *json {
                            let errors: Vec<_> =
                                e.errors.iter().map(|x| error_json(f, x, Some(x.path.as_str()))).collect();
                            verdicts.push(json!({"file": f, "ok": false, "errors": errors}));
                        } else {
                            println!("FAIL  {f}  ({} error(s))", e.errors.len());
                            println!("{}", crate::error::printable(&e.to_string()));
                        }
                    }
                }
            }
            let summary = format!("{bad} of {} suite file(s) have errors", files.len());
            if *json {
                let code = if bad > 0 { ExitCode::BadInput } else { ExitCode::Ok };
                let out = json!({"files": verdicts, "failed": bad, "exit_code": code as i32});
                println!("{}", serde_json::to_string_pretty(&out).map_err(|e| Error::Internal(e.to_string()))?);
                if bad > 0 {
                    eprintln!("error: {summary}");
                }
                Ok(code)
            } else if bad > 0 {
                Err(Error::Config(summary))
            } else {
                Ok(ExitCode::Ok)
            }
        }
        SuitesCommand::Show { name, limits, json: _ } => {
            let s = load_suite(name, &limits.limits())?;
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("content_hash".into(), json!(s.content_hash()));
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(ExitCode::Ok)
        }
    }
}

/// A clip videval is asked to make into `out`: positive sizes within [`video::MAX_SIDE`] that
/// FFmpeg can hold ((w + 128)·(h + 128) < 2²⁸, its image size check) and the format can store
/// (animated WebP: 16,383 per side), a frame rate in [[`MIN_FPS`], [`MAX_FPS`]], and frames that
/// fit in the memory it may use with the renderer's working frames (checked before rendering:
/// a 16384×16384 scene rendered for a minute at 7.9 GB, then the encoder refused it).
fn check_clip_size(width: u32, height: u32, frames: u32, fps: f64, out: &Path) -> std::result::Result<(), String> {
    if frames == 0 {
        return Err(format!("frames must be positive; got {width}x{height}, {frames} frames at {fps} fps"));
    }
    check_encodable(width, height, fps, out)?;
    // No more frames than videval reads back (200,000 frames were written, then refused on read;
    // 10^9 rendered for hours).
    if frames as usize > video::MAX_FRAMES {
        return Err(format!("{frames} frames: at most {} (as many as videval reads from a video)", video::MAX_FRAMES));
    }
    // The frames kept, and each rendering thread's working frame: three f64 per pixel.
    let pixels = u64::from(width) * u64::from(height);
    let bytes = pixels * (3 * u64::from(frames) + 24 * rayon::current_num_threads() as u64);
    crate::scoring::fits(bytes, &format!("{frames} frames of {width}x{height} and the renderer's working frames"))
}

/// What an encoder of `out`'s format can write: sizes within [`video::MAX_SIDE`] that FFmpeg can
/// hold and the format can store, and a frame rate in [[`MIN_FPS`], [`MAX_FPS`]] (a Matroska
/// file's millisecond timestamps hold at most 1000 fps: 2000 fps became repeated times).
fn check_encodable(width: u32, height: u32, fps: f64, out: &Path) -> std::result::Result<(), String> {
    let side = 1..=video::MAX_SIDE;
    if !(side.contains(&width) && side.contains(&height) && (MIN_FPS..=MAX_FPS).contains(&fps)) {
        return Err(format!(
            "width and height must be 1..={} and fps in [{MIN_FPS}, {MAX_FPS}]; got {width}x{height} at {fps} fps",
            video::MAX_SIDE
        ));
    }
    if (u64::from(width) + 128) * (u64::from(height) + 128) >= (i32::MAX / 8) as u64 {
        return Err(format!("{width}x{height}: larger than FFmpeg encodes ((width + 128)·(height + 128) under 2^28)"));
    }
    let webp = out.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("webp"));
    if webp && (width > 16_383 || height > 16_383) {
        return Err(format!("{width}x{height}: animated WebP holds at most 16383 pixels per side"));
    }
    Ok(())
}

fn synth_command(a: &SynthArgs) -> Result<ExitCode> {
    check_clip_size(a.width, a.height, a.frames, a.fps, &a.out).map_err(|e| Error::Config(format!("synth: {e}")))?;
    // A `.png` is one picture: what a command generator writes for an image case.
    let still = a.out.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if still && a.frames != 1 {
        return Err(Error::Config(format!(
            "synth: {}: a .png holds one picture; --frames {} asks for a video (.mp4, .mkv or .webp)",
            a.out.display(),
            a.frames
        )));
    }
    if !still {
        video::EncodeParams::for_path(&a.out)?;
    }
    let v = videval_models::synthetic::render(&videval_models::synthetic::Request {
        prompt: &a.prompt,
        seed: a.seed,
        frames: a.frames,
        width: a.width,
        height: a.height,
        fps: a.fps,
    });
    if still {
        write_atomic(&a.out, &video::frame_png(&v, 0)?)?;
    } else {
        video::encode(&v, &a.out, &video::EncodeParams::for_path(&a.out)?)?;
    }
    Ok(ExitCode::Ok)
}

/// Runs a parsed command line.
pub fn dispatch(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Child { parent, env, argv } => crate::generator::command::exec_child(*parent, env, argv),
        Command::Run(a) => run_command(a, Stages::All),
        Command::Generate(a) => run_command(a, Stages::Generate),
        Command::Score(a) => run_command(a, Stages::Score),
        Command::Plan { run, emit: None, .. } => run_command(run, Stages::PlanOnly),
        Command::Plan { run, emit: Some(kind), emit_dir, throttle, image, task } => {
            emit_jobs(run, kind, emit_dir.as_deref().unwrap_or(Path::new(".")), *throttle, image, task)
        }
        Command::Analyze(a) | Command::Merge(a) => merge_command(a),
        Command::Report(a) if a.limitations => {
            let results: videval_reports::Results = crate::store::read_results(&a.run_dir)?;
            let p = a.out.clone().unwrap_or_else(|| a.run_dir.join("limitations.html"));
            crate::run::check_page_path(&p)?;
            // Pictures only of the samples the page shows as examples.
            let shown = videval_reports::limitations::example_keys(&results, LIMITATION_EXAMPLES);
            let (media, placer, media_notes) =
                crate::media::run_media(&a.run_dir, Some(&a.store), &results, &p, Some(&shown))?;
            let provenance = videval_reports::html::Provenance { media_notes, ..crate::run::provenance(&a.run_dir)? };
            let html =
                videval_reports::limitations::render_limitations(&results, &provenance, &media, LIMITATION_EXAMPLES)
                    .map_err(|e| Error::Internal(e.to_string()))?;
            placer.publish(|| write_atomic(&p, html.as_bytes()))?;
            println!("report: {}", p.display());
            Ok(ExitCode::Ok)
        }
        Command::Report(a) if !a.run_dir.join("results.json").exists() && a.run_dir.join("scaling.json").exists() => {
            let p = crate::sweep::write_scaling_report(&a.run_dir, a.out.as_deref())?;
            println!("report: {}", p.display());
            Ok(ExitCode::Ok)
        }
        Command::Report(a) => {
            let p = write_report(&a.run_dir, Some(&a.store), a.out.as_deref())?;
            println!("report: {}", p.display());
            Ok(ExitCode::Ok)
        }
        Command::Suites(c) => suites_command(c),
        Command::Synth(a) => synth_command(a),
        Command::Train(c) => crate::train::train_command(c),
        Command::Sweep { spec, out, previous } => {
            crate::sweep::sweep_command(spec, out.as_deref(), previous.as_deref())
        }
        Command::Video(c) => video_command(c),
        Command::Rate(a) => crate::rate::rate_command(a),
        Command::Weights(WeightsCommand::List { weights, json }) => {
            crate::weights::list_command(weights.as_deref(), *json)
        }
        Command::Agreement { runs, judgments, out, json } => {
            crate::agreement::agreement_command(runs, judgments, out.as_deref(), *json)
        }
        Command::World(c) => world_command(c),
        Command::Compare {
            baseline,
            candidate,
            alpha,
            margin,
            allow_mismatch,
            fail_on_inconclusive,
            gate,
            judgments,
            json,
        } => {
            if !alpha.is_none_or(|a| a > 0.0 && a < 1.0) || !(*margin >= 0.0 && margin.is_finite()) {
                return Err(Error::Config("--alpha must be in (0, 1) and --margin finite and non-negative".into()));
            }
            let policy = gate.as_deref().map(crate::compare::Policy::load).transpose()?;
            // The level the verdicts are read at is one: a policy's silently won over --alpha.
            let alpha = match (*alpha, policy.as_ref().and_then(|p| p.alpha)) {
                (Some(a), Some(p)) if a != p => {
                    return Err(Error::Config(format!(
                        "--alpha {a} and the policy's alpha {p} disagree: give one of them"
                    )));
                }
                (Some(a), _) | (None, Some(a)) => a,
                (None, None) => 0.05,
            };
            let opts = crate::compare::Options {
                alpha,
                margin: *margin,
                allow_mismatch: *allow_mismatch,
                fail_on_inconclusive: *fail_on_inconclusive,
                policy,
                judgments: judgments.clone(),
            };
            let (c, out) = crate::compare::compare(baseline, candidate, &opts)?;
            if *json {
                // The comparison, and the files it was written to.
                let mut v = serde_json::to_value(&c).unwrap_or_default();
                let file = |ext: &str| format!("{}.{ext}", out.display());
                v["written"] =
                    json!({"json": file("json"), "md": file("md"), "junit": file("junit.xml"), "html": file("html")});
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                print!("{}", crate::compare::markdown(&c));
                println!("\nwritten: {}.{{json,md,junit.xml,html}}", out.display());
            }
            Ok(match c.exit_code {
                1 => ExitCode::GateFailed,
                2 => ExitCode::Inconclusive,
                _ => ExitCode::Ok,
            })
        }
        Command::Selftest { per_family, threshold, seed, style, json } => {
            selftest_command(*per_family, *threshold, *seed, *style, *json)
        }
        Command::Fvd { a, b, extractor, weights, save_stats, jackknife_groups, seed, json } => {
            crate::distribution::fvd_command(&crate::distribution::FvdArgs {
                a,
                b,
                extractor: *extractor,
                weights: weights.as_deref(),
                save_stats: save_stats.as_deref(),
                jackknife_groups: *jackknife_groups,
                seed: *seed,
                json: *json,
            })
        }
        Command::Clipscore { dir, prompts, extractor, weights, json } => {
            crate::distribution::clipscore_command(dir, prompts, *extractor, weights.as_deref(), *json)
        }
    }
}

/// Failure examples on the limitations page.
const LIMITATION_EXAMPLES: usize = 12;

/// When the reader of standard output goes away (`videval … | head`), stop quietly with 141, as
/// a shell reports a process ended by SIGPIPE, instead of a panic message. Any other failure to
/// print (standard output or error on a full disk) is an I/O failure, exit 5: it panicked with
/// 101, outside the exit-code table.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg =
            p.downcast_ref::<String>().map(String::as_str).or_else(|| p.downcast_ref::<&str>().copied()).unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(EXIT_CLOSED_PIPE);
        }
        if msg.starts_with("failed printing to std") {
            // Said on standard error when it is the one that still works.
            let _ = writeln!(std::io::stderr(), "error: {msg}");
            std::process::exit(ExitCode::Internal as i32);
        }
        default(info);
    }));
}

/// The exit status when standard output was closed by its reader.
pub const EXIT_CLOSED_PIPE: i32 = 141;

/// Parses `std::env::args`, runs, prints errors, and returns the process exit code. Usage
/// errors exit with 3 (bad input), not clap's default 2, to keep one table.
/// On SIGINT, SIGTERM or SIGHUP: stop the generator commands running (each in its own process
/// group, out of the terminal's reach) and exit 128 + the signal, as the default action would.
/// Every write is atomic, so what was finished stays and a rerun resumes.
fn stop_children_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // A signal this process was started ignoring stays ignored (`nohup` ignores SIGHUP, a shell
    // its background jobs' SIGINT): the kernel's mask of them, from /proc.
    let ignored = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("SigIgn:").map(|m| m.trim().to_string())))
        .and_then(|m| u64::from_str_radix(&m, 16).ok())
        .unwrap_or(0);
    let wanted: Vec<i32> =
        [SIGINT, SIGTERM, SIGHUP].into_iter().filter(|&s| ignored & (1u64 << (s - 1)) == 0).collect();
    if let Ok(mut signals) = signal_hook::iterator::Signals::new(wanted) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                crate::generator::command::kill_running();
                std::process::exit(128 + sig);
            }
        });
    }
}

pub fn main() -> i32 {
    quiet_on_closed_pipe();
    stop_children_on_signals();
    // With --json, a failure is a JSON object on standard output too (a machine reading it gets
    // the message and the exit code, not an empty stream); the message stays on standard error.
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    if json {
        crate::media::hide_progress();
    }
    let fail = |message: &str, code: ExitCode| {
        if json {
            let object = json!({"error": message, "exit_code": code as i32});
            let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&object).unwrap_or_default());
        }
        code as i32
    };
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version: on a closed pipe, exit as every other command does.
                return match e.print() {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_CLOSED_PIPE,
                    Err(_) => ExitCode::Internal as i32,
                    Ok(()) => ExitCode::Ok as i32,
                };
            }
            let _ = e.print();
            // The whole message (what is missing, the values possible), not its first line;
            // without the usage lines and the pointer to --help, which are for people.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim_end)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            return fail(message.join("\n").trim_start_matches("error: "), ExitCode::BadInput);
        }
    };
    // A panic is a bug, but still one answer from the table (5) and, with --json, a JSON object
    // (it gave 101 and an empty standard output); the panic's own message is on standard error.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(&cli))).unwrap_or_else(|p| {
        let msg = p.downcast_ref::<String>().map(String::as_str).or_else(|| p.downcast_ref::<&str>().copied());
        Err(Error::Internal(format!("a bug in videval (please report it): {}", msg.unwrap_or("a panic"))))
    });
    match outcome {
        Ok(code) => code as i32,
        Err(e) => {
            // A standard error that cannot be written (a full disk) keeps the error's own code.
            let _ = writeln!(std::io::stderr(), "error: {}", crate::error::printable(&e.to_string()));
            fail(&e.to_string(), e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversion_too_large_to_hold_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let clip = videval_metrics::Video::new(16, 8, 10.0, vec![90; 12 * 16 * 8 * 3]).unwrap();
        // An MP4 declares its 12 frames (refused before decoding); a Matroska file does not (refused
        // as the frames pass the limit): the same message either way.
        for (name, params) in [("clip.mp4", video::EncodeParams::h264()), ("clip.mkv", video::EncodeParams::lossless())]
        {
            let path = dir.path().join(name);
            video::encode(&clip, &path, &params).unwrap();
            // What the refusal before decoding reads: the MP4's count, nothing from the MKV.
            let info = video::probe(&path).unwrap();
            let declared = declared_kept(&info, FrameSampling::All, Spatial::Native);
            assert_eq!(declared, name.ends_with(".mp4").then_some((12, (16, 8))), "{name}");
            let shrunk = declared_kept(&info, FrameSampling::Uniform(4), Spatial::Stretch { width: 8, height: 4 });
            assert_eq!(shrunk, name.ends_with(".mp4").then_some((4, (8, 4))), "{name}");
            let frame = 16 * 8 * 3;
            let whole = converted(&path, FrameSampling::All, Spatial::Native, Filter::Area, 12 * frame).unwrap();
            assert_eq!(whole.len(), 12, "{name}");
            let err = converted(&path, FrameSampling::All, Spatial::Native, Filter::Area, 12 * frame - 1).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(&format!("{name}: converting 12 frames of 16x8")), "{text}");
            assert!(text.contains("--frames uniform:N") && matches!(err, Error::Config(_)), "{text}");
            let few = converted(&path, FrameSampling::Uniform(4), Spatial::Native, Filter::Area, 4 * frame).unwrap();
            assert_eq!(few.len(), 4, "{name}");
        }
    }
}
