//! Sampling speed of generator checkpoints, side by side in one process:
//!
//! ```sh
//! cargo run --release -p videval-models --example sample_bench -- models/weights/generator/tiny-{s,m,l}
//! # on a GPU: add --features cuda (needs nvcc); VIDEVAL_DEVICE=cpu forces the CPU
//! ```
//!
//! Per checkpoint: one warm-up video (excluded), then N timed text-to-video samples of 17 frames
//! at the checkpoint's native size (`CheckpointConfig::native_size`: 32×32 for the 32×32
//! ladders, 64×64 for the `-64` ladder) with 20 steps and guidance 5 (the bundled suites'
//! defaults). Prints latency p50/p95, frames/s, latent tokens/s, FLOPs per video, achieved FLOP/s
//! and MFU against the device's measured matmul peak, as a table and as JSON lines.

use std::path::Path;
use std::time::Instant;

use videval_models::generator::{Condition, Model, Request, default_device, measure_peak};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = std::env::var("BENCH_VIDEOS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let batch_prompts =
        ["a red ball falls and bounces on the floor", "a blue ball rolls to the right", "the camera pans left"];
    let dev = default_device()?;
    let (peak, source) = measure_peak(&dev)?;
    println!("peak {:.1} GFLOP/s ({source})", peak / 1e9);
    println!(
        "{:<10} {:>10} {:>9} {:>9} {:>9} {:>11} {:>10} {:>9} {:>7}",
        "model", "params", "p50 s", "p95 s", "frames/s", "tokens/s", "GFLOP/vid", "GFLOP/s", "MFU %"
    );
    for dir in &args {
        let model = Model::load(Path::new(dir), &dev)?;
        let [width, height] = model.config.native_size();
        let req = |i: usize| Request {
            prompt: batch_prompts[i % batch_prompts.len()],
            seed: i as u64,
            frames: 17,
            width,
            height,
            fps: 8.0,
            steps: 20,
            guidance: 5.0,
            condition: Condition::None,
        };
        model.generate(&req(999))?;
        let mut lat = Vec::new();
        let mut flops = 0.0;
        let mut tokens = 0.0;
        for i in 0..n {
            let t = Instant::now();
            let out = model.generate(&req(i))?;
            lat.push(t.elapsed().as_secs_f64());
            flops += out.flops;
            tokens += (out.tokens * 40) as f64; // 20 steps, two passes each (guidance)
        }
        let total: f64 = lat.iter().sum();
        lat.sort_by(f64::total_cmp);
        let pct = |q: f64| lat[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let achieved = flops / total;
        println!(
            "{:<10} {:>10} {:>9.3} {:>9.3} {:>9.1} {:>11.0} {:>10.2} {:>9.2} {:>7.2}",
            model.config.name,
            model.config.parameters.total,
            pct(0.5),
            pct(0.95),
            (17 * n) as f64 / total,
            tokens / total,
            flops / n as f64 / 1e9,
            achieved / 1e9,
            100.0 * achieved / peak
        );
        println!(
            "{}",
            serde_json::json!({"model": model.config.name, "params": model.config.parameters.total, "videos": n,
                "width": width, "height": height,
                "p50_s": pct(0.5), "p95_s": pct(0.95), "flops_per_video": flops / n as f64,
                "achieved_flops_per_s": achieved, "peak_flops_per_s": peak, "peak_source": source,
                "mfu": achieved / peak, "device": format!("{dev:?}")})
        );
    }
    Ok(())
}
