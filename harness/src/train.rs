//! `videval train generator --config FILE`: trains the bundled generator from a YAML config
//! (`videval_models::generator::train::TrainConfig`) and writes a checkpoint folder with
//! `model.safetensors`, `config.json` and the loss curve `loss.csv`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use videval_models::generator::resume::TrainState;
use videval_models::generator::train::{LOSS_CSV_HEADER, LogRow, Saving, TrainConfig, train_saving};
use videval_reports::chart::LossPanel;

use crate::error::{Error, ExitCode, Result};
use crate::store::write_atomic;
use crate::suite::load::sibling;

#[derive(Debug, clap::Subcommand)]
pub enum TrainCommand {
    /// Train the bundled generator (VAE, text encoder, diffusion transformer) on the world.
    Generator {
        /// Training config YAML (architecture, data, optimiser, budgets).
        #[arg(long)]
        config: PathBuf,
        /// Checkpoint folder to write (default: beside the config, named after it): new or
        /// empty, or a checkpoint with --overwrite.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the checkpoint already in --out when training ends.
        #[arg(long)]
        overwrite: bool,
        /// Go on from the state a stopped training of this config saved in `OUT/.partial/`
        /// (killed, out of time, its machine taken back); trains from the start where there is
        /// none. The weights equal an uninterrupted training's, bit for bit, on the same machine
        /// kind and thread count.
        #[arg(long)]
        resume: bool,
        /// How often the training state is saved for --resume: `30s`, `10m`, `2h`; `0` after
        /// every step.
        #[arg(long, default_value = "10m", value_parser = parse_interval)]
        save_every: std::time::Duration,
    },
    /// Redraw a checkpoint's loss curve (`loss.svg`) from its `loss.csv`.
    Curve { checkpoint: PathBuf },
    /// Train the world encoder (video/text, contrastive) that FVD-W, CLIP-W and the consistency
    /// metrics use by default.
    Encoder {
        /// Training config YAML (`seed`, `steps`, `batch`, `lr`, optional `architecture`).
        #[arg(long)]
        config: PathBuf,
        /// Folder to write (default: beside the config, `world`): new or empty, or an encoder
        /// with --overwrite.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace the encoder already in --out when training ends.
        #[arg(long)]
        overwrite: bool,
    },
}

/// `--out` claimed for a training, checked before it starts (hours): a new or empty folder, or
/// (with `--overwrite`) a checkpoint. The checkpoint is written into `OUT/.partial/` and moved
/// into `OUT` when training ends, `config.json` last (a folder without it is no checkpoint, so a
/// kill in between never leaves new weights beside an old config, as writing file by file did);
/// `OUT/.lock` keeps a second training out of the folder meanwhile (one ran into a finished
/// checkpoint and replaced it without a word). Staging inside `OUT` keeps every move on one file
/// system, whatever `OUT` is: a link, a mount point, a folder whose parent cannot be written.
struct Claim {
    out: PathBuf,
    staging: PathBuf,
    lock: Option<std::fs::File>,
    /// Whether `--out` was made for this training (removed again if it ends without a checkpoint).
    created: bool,
    /// Whether the staging folder holds a finished checkpoint (kept if it cannot be moved).
    finished: bool,
}

/// The files of a checkpoint, in the order they are moved into place (the config last).
const CHECKPOINT_FILES: [&str; 4] = ["model.safetensors", "loss.csv", "loss.svg", "config.json"];
const STAGING: &str = ".partial";
const LOCK: &str = ".lock";
/// The saved state of a training, in the staging folder.
const STATE: &str = "state.json";

/// `30s`, `10m`, `2h` (a number and a unit; `0` alone) → a duration of at most a week.
pub fn parse_interval(spec: &str) -> std::result::Result<std::time::Duration, String> {
    let s = spec.trim();
    let (num, scale) = match s.char_indices().last() {
        _ if s == "0" => ("0", 1.0),
        Some((i, 's')) => (&s[..i], 1.0),
        Some((i, 'm')) => (&s[..i], 60.0),
        Some((i, 'h')) => (&s[..i], 3600.0),
        _ => return Err(format!("'{spec}': expected a number and a unit, s, m or h (e.g. 10m), or 0")),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && (0.0..=7.0 * 24.0 * 3600.0).contains(&(n * scale)) => {
            Ok(std::time::Duration::from_secs_f64(n * scale))
        }
        _ => Err(format!("'{spec}': expected a number from 0 to a week's worth and a unit, s, m or h (e.g. 10m)")),
    }
}

fn claim_out(out: &Path, overwrite: bool, resume: bool) -> Result<Claim> {
    // `ck/.` is `ck` (the moves below take the path as written).
    let out: PathBuf = out.components().collect();
    let out = out.as_path();
    if out.exists() && !out.is_dir() {
        return Err(Error::Config(format!(
            "--out {}: a file, where the checkpoint's folder is expected",
            out.display()
        )));
    }
    let created = !out.exists();
    let lock = crate::run::lock_file(out)?;
    if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
        return Err(Error::Config(format!("--out {}: another videval is training into it now", out.display())));
    }
    // From here on the claim is ours: a refusal below drops it, which removes the lock file (a
    // refused run left `.lock` in the checkpoint it would not replace).
    let staging = out.join(STAGING);
    let claim = Claim { out: out.to_path_buf(), staging, lock: Some(lock), created, finished: false };
    let entries: Vec<String> = std::fs::read_dir(out)
        .map_err(Error::io(out))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != LOCK && n != STAGING)
        .collect();
    let checkpoint = entries.iter().any(|e| CHECKPOINT_FILES.contains(&e.as_str()));
    if checkpoint && !overwrite {
        return Err(Error::Config(format!(
            "--out {}: already holds a checkpoint; give another --out, or --overwrite to replace it when training ends",
            out.display()
        )));
    }
    if let Some(other) = entries.iter().find(|e| !CHECKPOINT_FILES.contains(&e.as_str())) {
        return Err(Error::Config(format!(
            "--out {}: holds {other}, which is not a checkpoint's; a checkpoint is written into a new or empty folder, or over one",
            out.display()
        )));
    }
    // What a killed training left (the lock says none is running): its saved state is kept for
    // --resume, and not thrown away without it (hours of training).
    if claim.staging.join(STATE).exists() {
        if !resume {
            return Err(Error::Config(format!(
                "--out {}: holds the saved state of a training that was stopped ({}); --resume to go on from it, or remove that folder to start again",
                out.display(),
                claim.staging.join(STATE).display()
            )));
        }
    } else if claim.staging.exists() {
        std::fs::remove_dir_all(&claim.staging).map_err(Error::io(&claim.staging))?;
    }
    Ok(claim)
}

impl Claim {
    /// Moves the finished checkpoint from the staging folder into `--out`: the old config
    /// first out, the new one last in.
    fn publish(mut self) -> Result<()> {
        self.finished = true;
        let failed = |e: Error| {
            Error::Config(format!(
                "{e}; the finished checkpoint is in {} (move its files up one folder)",
                self.staging.display()
            ))
        };
        let old_config = self.out.join("config.json");
        if old_config.exists() {
            std::fs::remove_file(&old_config).map_err(Error::io(&old_config)).map_err(failed)?;
        }
        for name in CHECKPOINT_FILES {
            let from = self.staging.join(name);
            if from.exists() {
                let to = self.out.join(name);
                std::fs::rename(&from, &to).map_err(Error::io(&to)).map_err(failed)?;
            } else if name != "config.json" {
                // An old file the new checkpoint does not have (a curve) is not left beside it.
                let _ = std::fs::remove_file(self.out.join(name));
            }
        }
        std::fs::remove_dir_all(&self.staging).map_err(Error::io(&self.staging))?;
        self.created = false;
        Ok(())
    }
}

impl Drop for Claim {
    /// Training over, published or not: the lock goes; a training that failed leaves no staging
    /// folder, nor the `--out` it made, unless it saved a state to go on from.
    fn drop(&mut self) {
        if !self.finished && !self.staging.join(STATE).exists() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        drop(self.lock.take());
        let _ = std::fs::remove_file(self.out.join(LOCK));
        if self.created {
            let _ = std::fs::remove_dir(&self.out);
        }
    }
}

fn train_encoder(config: &Path, out: &Option<PathBuf>, overwrite: bool) -> Result<ExitCode> {
    use videval_models::encoders::world;
    let cfg: world::EncoderTrainConfig = crate::yaml::load_file(config)?;
    // The architecture is checked as the loader checks it: heads 1..=64 and channels 1..=1024
    // (a wider one trained, then fvd and clipscore refused its weights).
    let problem = if let Err(e) = cfg.architecture.check() {
        Some(e)
    } else if !(1..=4096).contains(&cfg.batch) {
        Some(format!("batch: {} is not in 1..=4096", cfg.batch))
    } else if !(1..=1024).contains(&cfg.eval_groups) {
        Some(format!("eval_groups: {} is not in 1..=1024", cfg.eval_groups))
    } else if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        Some(format!("lr: {} is not a positive finite number", cfg.lr))
    } else if cfg.steps == 0 {
        // An encoder trained on nothing is random weights under a trained name.
        Some("steps: 0 trains nothing (the encoder would be its random initialisation)".to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        return Err(Error::Config(format!("{}: {p}", config.display())));
    }
    let out = out.clone().unwrap_or_else(|| config.parent().unwrap_or(Path::new(".")).join("world"));
    let claim = claim_out(&out, overwrite, false)?;
    let device = crate::device::default_device()?;
    let interactive = std::io::stderr().is_terminal();
    let bar = if interactive { ProgressBar::new(cfg.steps) } else { ProgressBar::hidden() };
    if let Ok(style) = ProgressStyle::with_template("encoder [{bar:30}] {pos}/{len} {msg} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut on_row = |row: &world::EncoderLogRow, total: u64| {
        bar.set_position(row.step);
        bar.set_message(format!("loss {:.4}", row.loss));
        // The first step too: a log said nothing for the first ten (20 s of the world encoder's).
        if !interactive && (row.step % 10 == 0 || row.step == 1 || row.step == total) {
            eprintln!(
                "encoder step {}/{} loss {:.5} grad {:.3} lr {:.2e} {:.0}s",
                row.step, total, row.loss, row.grad_norm, row.lr, row.seconds
            );
        }
    };
    let (enc, params, log) = world::train(&cfg, env!("VIDEVAL_GIT_SHA"), &device, &mut on_row)
        .map_err(|e| Error::Config(format!("{}: {e}", config.display())))?;
    bar.finish();
    // A diverged training is not published (its weights were NaN, refused by every command).
    if let Some(r) = log.iter().find(|r| !r.loss.is_finite()) {
        return Err(Error::Config(format!(
            "{}: the training diverged (loss {} at step {}); nothing was published to {}: lower lr",
            config.display(),
            r.loss,
            r.step,
            out.display()
        )));
    }
    enc.save(&claim.staging, &params).map_err(Error::Internal)?;
    let mut csv = format!("{LOSS_CSV_HEADER}\n");
    for r in &log {
        csv.push_str(&format!(
            "encoder,{},{},{:.6},{:.6},{:.3e},{:.2}\n",
            r.step,
            r.step * cfg.batch as u64,
            r.loss,
            r.grad_norm,
            r.lr,
            r.seconds
        ));
    }
    write_atomic(&claim.staging.join("loss.csv"), csv.as_bytes())?;
    claim.publish()?;
    let t = &enc.file.training;
    println!(
        "wrote {}: {} steps × {} clips in {:.0} s; text→video top-1 among 32 held-out clips {:.1}% (chance 3.1%)",
        out.display(),
        t.steps,
        t.batch,
        t.seconds,
        100.0 * t.retrieval_top1
    );
    Ok(ExitCode::Ok)
}

/// The largest `loss.csv` read (a row per logged step: a million steps take about 60 MB).
const LOSS_CSV_BYTES: u64 = 1 << 30;

/// Says that `n` rows of `dir`'s `loss.csv` were not drawn in its curve.
fn warn_not_drawn(dir: &Path, n: usize) {
    if n > 0 {
        eprintln!(
            "warning: {}: {n} row(s) with a loss that is not a finite number (a diverged run?) are not drawn",
            dir.join("loss.csv").display()
        );
    }
}

/// Draws `loss.svg` from a checkpoint's `loss.csv` (stage, step, samples, loss, …), titled with
/// the checkpoint's `name`; returns how many rows were not drawn, their loss not a finite number
/// (said by [`warn_not_drawn`] under the folder the user will see, not a staging one).
pub fn write_curve(dir: &Path, name: &str) -> Result<usize> {
    if dir.is_file() {
        return Err(Error::Config(format!(
            "{}: a file; give the checkpoint's folder (the one holding loss.csv)",
            dir.display()
        )));
    }
    let path = dir.join("loss.csv");
    let text = videval_models::files::read_text(&path, LOSS_CSV_BYTES).map_err(Error::input(&path))?;
    let bad = |line: usize, message: String| Error::BadFile {
        path: path.clone(),
        message: format!("line {line}: {message}"),
    };
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let header = lines.next().map(|h| h.trim_start_matches('\u{feff}'));
    if header != Some(LOSS_CSV_HEADER) {
        return Err(bad(1, format!("the header is {:?}; expected {LOSS_CSV_HEADER:?}", header.unwrap_or(""))));
    }
    let (mut vae, mut dit, mut encoder) = (Vec::new(), Vec::new(), Vec::new());
    let mut not_finite = 0usize;
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let parsed = (f.len() == 7).then(|| Some((f[2].parse::<f64>().ok()?, f[3].parse::<f64>().ok()?))).flatten();
        let Some(point) = parsed else {
            return Err(bad(n, format!("expected {LOSS_CSV_HEADER} with numbers for samples and loss, got {line:?}")));
        };
        let panel = match f[0] {
            "vae" => &mut vae,
            "dit" => &mut dit,
            "encoder" => &mut encoder,
            // Rows training logs besides the steps: the pool's encoding, the VAE's final check
            // and rollbacks.
            "pool" | "vae-fixed" | "vae-rollback" => continue,
            other => {
                return Err(bad(
                    n,
                    format!("stage {other:?}; expected vae, dit, encoder, pool, vae-fixed or vae-rollback"),
                ));
            }
        };
        if point.0.is_finite() && point.1.is_finite() {
            panel.push(point);
        } else {
            not_finite += 1;
        }
    }
    // A stage this checkpoint did not train (a fine-tune reuses its VAE) has no panel.
    let mut panels: Vec<LossPanel> =
        [("VAE reconstruction MSE", vae), ("Rectified-flow loss (DiT)", dit), ("Contrastive loss (encoder)", encoder)]
            .into_iter()
            .filter(|(_, points)| !points.is_empty())
            .map(|(title, points)| LossPanel { title, x_title: "training clips seen", points })
            .collect();
    if panels.is_empty() {
        panels.push(LossPanel {
            title: "no training rows in loss.csv",
            x_title: "training clips seen",
            points: Vec::new(),
        });
    }
    let svg = videval_reports::chart::loss_panels(&format!("Training loss of {name}"), &panels);
    write_atomic(&dir.join("loss.svg"), svg.as_bytes())?;
    Ok(not_finite)
}

pub fn train_command(cmd: &TrainCommand) -> Result<ExitCode> {
    let (config, out, overwrite, resume, save_every) = match cmd {
        TrainCommand::Generator { config, out, overwrite, resume, save_every } => {
            (config, out, *overwrite, *resume, *save_every)
        }
        TrainCommand::Encoder { config, out, overwrite } => return train_encoder(config, out, *overwrite),
        TrainCommand::Curve { checkpoint } => {
            let name = std::path::absolute(checkpoint)
                .ok()
                .and_then(|p| p.components().next_back().map(|c| c.as_os_str().to_string_lossy().into_owned()))
                .unwrap_or_else(|| "checkpoint".into());
            warn_not_drawn(checkpoint, write_curve(checkpoint, &name)?);
            println!("wrote {}", checkpoint.join("loss.svg").display());
            return Ok(ExitCode::Ok);
        }
    };
    let mut cfg: TrainConfig = crate::yaml::load_file(config)?;
    let cfg_str = config.to_string_lossy().into_owned();
    if let Some(from) = &mut cfg.vae.from {
        *from = sibling(&cfg_str, from);
    }
    if let Some(t) = &mut cfg.text {
        t.from = sibling(&cfg_str, &t.from);
    }
    cfg.check().map_err(|e| Error::Config(format!("{}: {e}", config.display())))?;
    // The latent pool is held in memory whole: a million clips at 64×64 were 327 GB, found
    // when the machine ran out. (On a GPU it is held there; its memory is not known here.)
    let device = crate::device::default_device()?;
    let available = 2 * crate::scoring::MemoryBudget::default_limit();
    if let Some(bytes) = cfg.pool_bytes().filter(|&b| device.is_cpu() && b > available) {
        return Err(Error::Config(format!(
            "{}: dit.pool {} holds up to {:.1} GB of latents at the largest bucket and length; this machine has {:.1} GB available",
            config.display(),
            cfg.dit.pool.unwrap_or(0),
            bytes as f64 / 1e9,
            available as f64 / 1e9
        )));
    }
    // A training step keeps each block's attention scores for its backward pass: quadratic in
    // the tokens, so a large bucket or length aborted on the allocation at the first step, after
    // the VAE had trained.
    let attention = cfg.attention_bytes();
    if device.is_cpu() && attention > available {
        return Err(Error::Config(format!(
            "{}: a transformer step at the largest bucket and length (dit.batch {}, {} frames, {}) holds at least {:.1} GB of attention scores for its backward pass; this machine has {:.1} GB available: lower dit.batch, the buckets or the lengths",
            config.display(),
            cfg.dit.batch,
            cfg.lengths.iter().map(|l| l.0).max().unwrap_or(1),
            cfg.buckets.iter().max_by_key(|b| b[0] * b[1]).map(|b| format!("{}×{}", b[0], b[1])).unwrap_or_default(),
            attention as f64 / 1e9,
            available as f64 / 1e9
        )));
    }
    let out = out.clone().unwrap_or_else(|| config.parent().unwrap_or(Path::new(".")).join(&cfg.name));
    let claim = claim_out(&out, overwrite, resume)?;
    let state = if resume {
        let state = TrainState::load(&claim.staging, &device)
            .map_err(|e| Error::Config(format!("--resume: {e}; remove {} to start again", claim.staging.display())))?;
        match &state {
            Some(st) => {
                let m = &st.meta;
                // Another config is refused before "resuming" is said (it was said, then refused).
                let differs = videval_models::generator::resume::config_differences(&m.config, &cfg);
                if !differs.is_empty() {
                    return Err(Error::Config(format!(
                        "{}: the saved training state in {} is of another config ({} differ); train with the config it was saved with, or start again",
                        config.display(),
                        out.display(),
                        differs.join(", ")
                    )));
                }
                let of = |samples: u64, batch: usize| samples.div_ceil(batch as u64);
                let total = if m.stage == "vae" {
                    of(cfg.vae.samples, cfg.vae.batch)
                } else {
                    of(cfg.dit.samples, cfg.dit.batch)
                };
                eprintln!("resuming {}: stage {} at step {} of {}", out.display(), m.stage, m.step, total);
                if m.threads != 0 && m.threads != rayon::current_num_threads() {
                    eprintln!(
                        "warning: the state was saved with {} worker threads and goes on with {}; the weights may differ from an uninterrupted training's",
                        m.threads,
                        rayon::current_num_threads()
                    );
                }
                if m.git_sha != env!("VIDEVAL_GIT_SHA") {
                    eprintln!(
                        "warning: the state was saved by videval {} and goes on under {}; the weights may differ from an uninterrupted training's",
                        m.git_sha,
                        env!("VIDEVAL_GIT_SHA")
                    );
                }
            }
            None => eprintln!("nothing to resume in {}: training from the start", out.display()),
        }
        state
    } else {
        None
    };
    let interactive = std::io::stderr().is_terminal();
    let mut bar: Option<(ProgressBar, &'static str)> = None;
    let mut on_row = |row: &LogRow, total: u64| {
        if bar.as_ref().is_none_or(|(_, stage)| *stage != row.stage) {
            if let Some((b, _)) = &bar {
                b.finish();
            }
            let b = if interactive { ProgressBar::new(total) } else { ProgressBar::hidden() };
            if let Ok(style) = ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos}/{len} {msg} eta {eta}") {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix(row.stage);
            bar = Some((b, row.stage));
        }
        if let Some((b, _)) = &bar {
            b.set_position(row.step);
            b.set_message(format!("loss {:.4}", row.loss));
        }
        if !interactive
            && (row.step % 10 == 0 || row.step == 1 || row.step == total || row.stage != "vae" && row.stage != "dit")
        {
            eprintln!(
                "{} step {}/{} samples {} loss {:.5} grad {:.3} lr {:.2e} {:.0}s",
                row.stage, row.step, total, row.samples, row.loss, row.grad_norm, row.lr, row.seconds
            );
        }
    };
    let mut last_save = std::time::Instant::now();
    let mut due = || {
        let due = last_save.elapsed() >= save_every;
        if due {
            last_save = std::time::Instant::now();
        }
        due
    };
    let staging = claim.staging.clone();
    // A save that fails (a full disk) is said and training goes on from the state saved before,
    // which is kept: the training stopped, and each resume stopped again at its next save.
    let mut save = |st: &mut TrainState| {
        if let Err(e) = st.save(&staging) {
            eprintln!(
                "warning: {}: the training state could not be saved ({e}); training goes on, and a resume starts from the last state saved",
                staging.display()
            );
        }
        Ok(())
    };
    let mut saving = Saving { resume: state, due: &mut due, save: &mut save };
    let trained =
        train_saving(&cfg, env!("VIDEVAL_GIT_SHA"), &device, &mut on_row, &mut saving).map_err(|e| match e {
            // The disk's failure, with its path; everything else is the config's.
            videval_models::generator::GenError::Io { path, source } => Error::Io { path, source },
            e => Error::Config(format!("{}: {e}", config.display())),
        })?;
    if let Some((b, _)) = &bar {
        b.finish();
    }
    // A diverged training is not published: its config.json held a validation loss of null,
    // which no command could load (and one such rung stopped a whole sweep).
    let val_loss = trained.model.config.training.val_loss;
    if !val_loss.is_finite() {
        return Err(Error::Config(format!(
            "{}: the training diverged (validation loss {val_loss}); nothing was published to {}: lower the learning rates (vae.lr, dit.lr)",
            config.display(),
            out.display()
        )));
    }
    trained.save(&claim.staging).map_err(|e| Error::Internal(e.to_string()))?;
    let not_drawn = write_curve(&claim.staging, &cfg.name)?;
    claim.publish()?;
    warn_not_drawn(&out, not_drawn);
    let t = &trained.model.config.training;
    println!(
        "wrote {}: {} parameters ({} transformer), {} samples in {:.0} s, validation loss {:.5}",
        out.display(),
        trained.model.config.parameters.total,
        trained.model.config.parameters.dit,
        t.samples,
        t.seconds,
        t.val_loss
    );
    Ok(ExitCode::Ok)
}
