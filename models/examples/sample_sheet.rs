//! A contact sheet of text-to-video samples from checkpoints, for looking at what a ladder
//! produces:
//!
//! ```sh
//! cargo run --release -p videval-models --example sample_sheet -- out.ppm models/weights/generator/tiny-{s,m,l}
//! ```
//!
//! Rows: checkpoint × prompt (seed 0, 17 frames at 32×32, 20 steps, guidance `GUIDANCE` or 5);
//! columns: frames 0, 4, 8, 12, 16.

use std::path::Path;

use videval_models::generator::{Condition, Model, Request, default_device};

const PROMPTS: [&str; 4] = [
    "a red ball falls and bounces on the floor",
    "a blue square moves to the right",
    "a yellow ball rolls to the left",
    "a green circle at the center",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let guidance: f64 = std::env::var("GUIDANCE").ok().and_then(|g| g.parse().ok()).unwrap_or(5.0);
    let dev = default_device()?;
    let (w, h) = (32usize, 32usize);
    let mut rows: Vec<Vec<u8>> = Vec::new();
    for dir in &args[1..] {
        let model = Model::load(Path::new(dir), &dev)?;
        for prompt in PROMPTS {
            let req = Request {
                prompt,
                seed: 0,
                frames: 17,
                width: w,
                height: h,
                fps: 8.0,
                steps: 20,
                guidance,
                condition: Condition::None,
            };
            let v = model.generate(&req)?.video;
            for y in 0..h {
                let mut row = Vec::new();
                for t in [0usize, 4, 8, 12, 16] {
                    row.extend_from_slice(&v.frame(t)[y * w * 3..(y + 1) * w * 3]);
                    row.extend_from_slice(&[0, 0, 0]);
                }
                rows.push(row);
            }
            rows.push(vec![0; rows[0].len()]);
        }
        rows.push(vec![255; rows[0].len()]);
    }
    let mut bytes = format!("P6\n{} {}\n255\n", rows[0].len() / 3, rows.len()).into_bytes();
    rows.iter().for_each(|r| bytes.extend_from_slice(r));
    std::fs::write(&args[0], bytes)?;
    Ok(())
}
