//! One-step denoising of held-out world clips by a checkpoint: noise the clip's latents to level
//! s, predict the velocity, and decode x̂₀ = x_s − s·v. Writes a PPM sheet (rows per level:
//! input, x̂₀; frames 0, 8, 16) and prints the latent-space MSE of x̂₀ against x₀ next to that of
//! the trivial estimate 0 (the latent mean).
//!
//! ```sh
//! cargo run --release -p videval-models --example denoise_check -- models/weights/generator/tiny-l out.ppm
//! ```

use std::path::Path;

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use videval_models::generator::dit::DitInput;
use videval_models::generator::nn::randn;
use videval_models::generator::{Model, tensor_video, video_tensor};
use videval_models::world::caption::describe;
use videval_models::world::render::{Settings, render};
use videval_models::world::sample::{Family, sample};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dev = Device::Cpu;
    let model = Model::load(Path::new(&args[0]), &dev)?;
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (i, family) in [Family::Physics, Family::LeftRight].into_iter().enumerate() {
        let (scene, base) = sample(family, 50_000 + i as u64);
        let settings = Settings { width: 32, height: 32, fps: base.fps, frames: 17 };
        let (video, _) = render(&scene, &settings, false);
        let (_, short) = describe(&scene, &settings);
        let x0 = model.encode(&video_tensor(&video, &dev)?)?;
        let (text, mask) = model.text_features(&[short.as_str()])?;
        for s in [0.3f32, 0.6, 0.9] {
            let eps = randn(&mut rng, x0.dims(), &dev)?;
            let st = Tensor::new(&[s], &dev)?;
            let xs = videval_models::generator::flow::noised(&x0, &eps, &st)?;
            let v = model.dit.forward(&DitInput {
                x: &xs,
                s: &st,
                fps: &Tensor::new(&[8f32], &dev)?,
                text: &text,
                text_mask: &mask,
                frame_mask: None,
            })?;
            let x0_hat = (&xs - (v * f64::from(s))?)?;
            let mse = (&x0_hat - &x0)?.sqr()?.mean_all()?.to_scalar::<f32>()?;
            let base = x0.sqr()?.mean_all()?.to_scalar::<f32>()?;
            println!("{short:<50} s {s}: latent MSE of x̂₀ {mse:.3} (of 0: {base:.3})");
            let out = tensor_video(&model.decode(&x0_hat)?.squeeze(0)?, 8.0)?;
            for y in 0..32 {
                let mut row = Vec::new();
                for v in [&video, &out] {
                    for t in [0usize, 8, 16] {
                        row.extend_from_slice(&v.frame(t)[y * 96..(y + 1) * 96]);
                    }
                    row.extend_from_slice(&[0, 0, 0]);
                }
                rows.push(row);
            }
            rows.push(vec![0; rows[0].len()]);
        }
    }
    let mut bytes = format!("P6\n{} {}\n255\n", rows[0].len() / 3, rows.len()).into_bytes();
    rows.iter().for_each(|r| bytes.extend_from_slice(r));
    std::fs::write(&args[1], bytes)?;
    Ok(())
}
