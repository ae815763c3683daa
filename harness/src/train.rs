//! `videval train generator --config FILE`: trains the bundled generator from a YAML config
//! (`videval_models::generator::train::TrainConfig`) and writes a checkpoint folder with
//! `model.safetensors`, `config.json` and the loss curve `loss.csv`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use videval_models::generator::train::{LogRow, TrainConfig, train};
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
        /// Checkpoint folder to write (default: beside the config, named after it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Redraw a checkpoint's loss curve (`loss.svg`) from its `loss.csv`.
    Curve { checkpoint: PathBuf },
    /// Train the world encoder (video/text, contrastive) that FVD-W, CLIP-W and the consistency
    /// metrics use by default.
    Encoder {
        /// Training config YAML (`seed`, `steps`, `batch`, `lr`, optional `architecture`).
        #[arg(long)]
        config: PathBuf,
        /// Folder to write (default: beside the config, `world`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn train_encoder(config: &Path, out: &Option<PathBuf>) -> Result<ExitCode> {
    use videval_models::encoders::world;
    let cfg: world::EncoderTrainConfig = crate::yaml::load_file(config)?;
    let a = &cfg.architecture;
    let problem = if !(1..=4096).contains(&cfg.batch) {
        Some(format!("batch: {} is not in 1..=4096", cfg.batch))
    } else if !(1..=1024).contains(&cfg.eval_groups) {
        Some(format!("eval_groups: {} is not in 1..=1024", cfg.eval_groups))
    } else if !(cfg.lr.is_finite() && cfg.lr > 0.0) {
        Some(format!("lr: {} is not a positive finite number", cfg.lr))
    } else if a.channels.iter().chain([&a.frame_dim, &a.embed_dim]).any(|&c| !(1..=4096).contains(&c)) {
        Some("architecture: channels, frame_dim and embed_dim must be in 1..=4096".to_string())
    } else if a.text.heads == 0 || a.text.dim % a.text.heads != 0 || a.text.dim > 4096 || a.text.layers > 64 {
        Some(format!("architecture.text: dim {} over {} heads (at most 4096 and 64 layers)", a.text.dim, a.text.heads))
    } else {
        None
    };
    if let Some(p) = problem {
        return Err(Error::Config(format!("{}: {p}", config.display())));
    }
    let out = out.clone().unwrap_or_else(|| config.parent().unwrap_or(Path::new(".")).join("world"));
    let device = crate::device::default_device()?;
    let interactive = std::io::stderr().is_terminal();
    let bar = if interactive { ProgressBar::new(cfg.steps) } else { ProgressBar::hidden() };
    if let Ok(style) = ProgressStyle::with_template("encoder [{bar:30}] {pos}/{len} {msg} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut on_row = |row: &world::EncoderLogRow, total: u64| {
        bar.set_position(row.step);
        bar.set_message(format!("loss {:.4}", row.loss));
        if !interactive && (row.step % 10 == 0 || row.step == total) {
            eprintln!(
                "encoder step {}/{} loss {:.5} grad {:.3} lr {:.2e} {:.0}s",
                row.step, total, row.loss, row.grad_norm, row.lr, row.seconds
            );
        }
    };
    let (enc, params, log) = world::train(&cfg, env!("VIDEVAL_GIT_SHA"), &device, &mut on_row)
        .map_err(|e| Error::Config(format!("{}: {e}", config.display())))?;
    bar.finish();
    enc.save(&out, &params).map_err(Error::Internal)?;
    let mut csv = String::from("stage,step,samples,loss,grad_norm,lr,seconds\n");
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
    write_atomic(&out.join("loss.csv"), csv.as_bytes())?;
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

/// Draws `loss.svg` from a checkpoint's `loss.csv` (stage, step, samples, loss, …).
pub fn write_curve(dir: &Path) -> Result<()> {
    let path = dir.join("loss.csv");
    let text = std::fs::read_to_string(&path).map_err(Error::input(&path))?;
    let mut vae = Vec::new();
    let mut dit = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let parsed = (f.len() >= 4).then(|| Some((f[2].parse::<f64>().ok()?, f[3].parse::<f64>().ok()?))).flatten();
        let Some(point) = parsed else {
            return Err(Error::BadFile {
                path,
                message: format!("line {}: expected stage,step,samples,loss,…", i + 1),
            });
        };
        match f[0] {
            "vae" => vae.push(point),
            "dit" => dit.push(point),
            _ => {}
        }
    }
    let name = dir.file_name().map_or("checkpoint".into(), |n| n.to_string_lossy().into_owned());
    // A stage this checkpoint did not train (a fine-tune reuses its VAE) has no panel.
    let mut panels: Vec<LossPanel> = [("VAE reconstruction MSE", vae), ("Rectified-flow loss (DiT)", dit)]
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
    write_atomic(&dir.join("loss.svg"), svg.as_bytes())
}

pub fn train_command(cmd: &TrainCommand) -> Result<ExitCode> {
    let (config, out) = match cmd {
        TrainCommand::Generator { config, out } => (config, out),
        TrainCommand::Encoder { config, out } => return train_encoder(config, out),
        TrainCommand::Curve { checkpoint } => {
            write_curve(checkpoint)?;
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
    let out = out.clone().unwrap_or_else(|| config.parent().unwrap_or(Path::new(".")).join(&cfg.name));
    if out.exists() && !out.is_dir() {
        return Err(Error::Config(format!(
            "--out {}: a file, where the checkpoint's folder is expected",
            out.display()
        )));
    }
    let device = crate::device::default_device()?;
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
        if !interactive && (row.step % 10 == 0 || row.step == total || row.stage != "vae" && row.stage != "dit") {
            eprintln!(
                "{} step {}/{} samples {} loss {:.5} grad {:.3} lr {:.2e} {:.0}s",
                row.stage, row.step, total, row.samples, row.loss, row.grad_norm, row.lr, row.seconds
            );
        }
    };
    let trained = train(&cfg, env!("VIDEVAL_GIT_SHA"), &device, &mut on_row)
        .map_err(|e| Error::Config(format!("{}: {e}", config.display())))?;
    if let Some((b, _)) = &bar {
        b.finish();
    }
    trained.save(&out).map_err(|e| Error::Internal(e.to_string()))?;
    write_curve(&out)?;
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
