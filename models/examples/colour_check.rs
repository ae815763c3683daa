//! Which colour the tracker sees when a checkpoint is prompted with each tracked colour:
//!
//! ```sh
//! cargo run --release -p videval-models --example colour_check -- models/weights/generator/tiny-{s,m,l}-long
//! ```
//!
//! For "a COLOUR ball rolls to the right" × the eight tracked colours × `SEEDS` seeds (17 frames,
//! 32×32, `STEPS` steps, guidance `GUIDANCE`; defaults the suites' 10 and 5), prints the colours
//! the probes see as moving objects (`Context::sees_moving`; `-` for none), and per checkpoint
//! how many videos show the prompted one.

use std::path::Path;

use videval_metrics::palette::Color;
use videval_metrics::probes::{Context, ObjectRef};
use videval_metrics::track::TRACKED;
use videval_models::generator::{Condition, Model, Request, default_device};

fn env<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (steps, guidance, seeds) = (env("STEPS", 10usize), env("GUIDANCE", 5.0f64), env("SEEDS", 3u64));
    let dev = default_device()?;
    for dir in std::env::args().skip(1) {
        let model = Model::load(Path::new(&dir), &dev)?;
        let mut right = 0;
        let mut line = Vec::new();
        for color in TRACKED {
            let prompt = format!("a {} ball rolls to the right", color.name());
            let mut seen = Vec::new();
            for seed in 0..seeds {
                let req = Request {
                    prompt: &prompt,
                    seed,
                    frames: 17,
                    width: 32,
                    height: 32,
                    fps: 8.0,
                    steps,
                    guidance,
                    condition: Condition::None,
                };
                let video = model.generate(&req)?.video;
                if let Ok(sheet) = std::env::var("SHEET") {
                    // Frames 0, 4, 8, 12, 16 side by side, one row per video, appended as raw RGB.
                    let mut row = Vec::new();
                    for y in 0..req.height {
                        for t in [0usize, 4, 8, 12, 16] {
                            let w = req.width * 3;
                            row.extend_from_slice(&video.frame(t)[y * w..(y + 1) * w]);
                        }
                    }
                    use std::io::Write;
                    std::fs::OpenOptions::new().create(true).append(true).open(sheet)?.write_all(&row)?;
                }
                let ctx = Context::new(&video);
                let moving: Vec<&str> = TRACKED
                    .into_iter()
                    .filter(|&c| ctx.sees_moving(&ObjectRef { color: Some(c), shape: None }))
                    .map(Color::name)
                    .collect();
                right += usize::from(ctx.sees_moving(&ObjectRef { color: Some(color), shape: None }));
                seen.push(if moving.is_empty() { "-".to_string() } else { moving.join("+") });
            }
            line.push(format!("{}→{}", color.name(), seen.join(",")));
        }
        println!("{dir}: {right}/{}  {}", TRACKED.len() as u64 * seeds, line.join(" "));
    }
    Ok(())
}
