//! Generator training without the harness (no FFmpeg), for machines that have a GPU but no
//! toolchain: build here, carry the binary, run it there.
//!
//! ```sh
//! cargo build --release -p videval-models --features cuda --example train_generator
//! train_generator CONFIG.json OUT_DIR      # CONFIG: `videval train generator`'s YAML, as JSON
//! videval train curve OUT_DIR              # then, with the harness: loss.svg
//! ```
//!
//! Same `train()` and the same checkpoint files as `videval train generator`; `vae.from` is
//! resolved beside the config file, as there.

use std::path::Path;

use videval_models::generator::default_device;
use videval_models::generator::train::{TrainConfig, train};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, out] = args.as_slice() else {
        return Err("usage: train_generator CONFIG.json OUT_DIR".into());
    };
    let text = std::fs::read_to_string(config).map_err(|e| format!("{config}: {e}"))?;
    let mut cfg: TrainConfig = serde_json::from_str(&text).map_err(|e| format!("{config}: {e}"))?;
    let beside =
        |from: &str| Path::new(config).parent().unwrap_or(Path::new(".")).join(from).to_string_lossy().into_owned();
    if let Some(from) = &mut cfg.vae.from {
        *from = beside(from);
    }
    if let Some(t) = &mut cfg.text {
        t.from = beside(&t.from);
    }
    let device = default_device()?;
    let sha = std::env::var("VIDEVAL_GIT_SHA").unwrap_or_else(|_| "unknown".into());
    let trained = train(&cfg, &sha, &device, &mut |row, total| {
        if row.step % 100 == 0 || row.step == 1 || row.step == total {
            eprintln!("{} {}/{total} loss {:.4} lr {:.2e} {:.0}s", row.stage, row.step, row.loss, row.lr, row.seconds);
        }
    })?;
    trained.save(Path::new(out))?;
    let t = &trained.model.config.training;
    println!(
        "{}: {} samples in {:.0} s on {}, validation loss {:.5}",
        cfg.name, t.samples, t.seconds, t.device, t.val_loss
    );
    Ok(())
}
