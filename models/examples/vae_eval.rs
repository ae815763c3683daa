//! Reconstruction quality of a generator checkpoint's VAE on held-out world clips:
//!
//! ```sh
//! cargo run --release -p videval-models --example vae_eval -- models/weights/generator/tiny-s [out.ppm]
//! ```
//!
//! Per family, 8 clips (17 frames at 32×32, seeds 10_000…): PSNR over all pixels and over the
//! pixels inside visible objects' boxes (ground truth from the renderer), the numbers that decide
//! whether probes can still see the objects after compression. With a second argument, writes a
//! PPM contact sheet (each clip: frames 0, 4, 8, 12, 16; input row above reconstruction row).

use std::path::Path;

use candle_core::Device;
use videval_models::generator::{Model, tensor_video, video_tensor};
use videval_models::world::render::{Settings, render};
use videval_models::world::sample::{Family, sample};

fn psnr(se: f64, n: f64) -> f64 {
    10.0 * (255.0f64 * 255.0 / (se / n).max(1e-12)).log10()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dev = Device::Cpu;
    let model = Model::load(Path::new(&args[0]), &dev)?;
    let (w, h, frames) = (32usize, 32usize, 17usize);
    let cols = [0usize, 4, 8, 12, 16];
    let mut sheet: Vec<Vec<u8>> = Vec::new();
    let (mut all_se, mut all_n, mut obj_se, mut obj_n) = (0.0, 0.0, 0.0, 0.0);
    for family in Family::ALL {
        let (mut f_se, mut f_n, mut o_se, mut o_n) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..8u64 {
            let (scene, base) = sample(family, 10_000 + i);
            let settings = Settings { width: w as u32, height: h as u32, fps: base.fps, frames: frames as u32 };
            let (video, truth) = render(&scene, &settings, true);
            let truth = truth.ok_or("no truth")?;
            let x = video_tensor(&video, &dev)?;
            let recon = model.vae.decode(&model.vae.encode(&x)?.0)?;
            let out = tensor_video(&recon.squeeze(0)?, video.fps())?;
            for t in 0..frames {
                let (a, b) = (video.frame(t), out.frame(t));
                let mut mask = vec![false; w * h];
                for o in truth.frames[t].objects.iter().filter(|o| o.visible_fraction > 0.2) {
                    let [x0, y0, x1, y1] = o.bbox;
                    for y in (y0.max(0.0) as usize)..(y1.ceil().min(h as f64) as usize) {
                        for x in (x0.max(0.0) as usize)..(x1.ceil().min(w as f64) as usize) {
                            mask[y * w + x] = true;
                        }
                    }
                }
                for p in 0..w * h {
                    let se: f64 = (0..3).map(|c| (f64::from(a[p * 3 + c]) - f64::from(b[p * 3 + c])).powi(2)).sum();
                    f_se += se;
                    f_n += 3.0;
                    if mask[p] {
                        o_se += se;
                        o_n += 3.0;
                    }
                }
            }
            if i < 2 {
                for v in [&video, &out] {
                    for y in 0..h {
                        let mut row = Vec::new();
                        for &t in &cols {
                            row.extend_from_slice(&v.frame(t)[y * w * 3..(y + 1) * w * 3]);
                            row.extend_from_slice(&[0, 0, 0]);
                        }
                        sheet.push(row);
                    }
                }
                sheet.push(vec![0; sheet[0].len()]);
            }
        }
        println!("{:<13} PSNR all {:5.2} dB   objects {:5.2} dB", family.name(), psnr(f_se, f_n), psnr(o_se, o_n));
        (all_se, all_n, obj_se, obj_n) = (all_se + f_se, all_n + f_n, obj_se + o_se, obj_n + o_n);
    }
    println!("{:<13} PSNR all {:5.2} dB   objects {:5.2} dB", "all", psnr(all_se, all_n), psnr(obj_se, obj_n));
    if let Some(path) = args.get(1) {
        let mut bytes = format!("P6\n{} {}\n255\n", sheet[0].len() / 3, sheet.len()).into_bytes();
        sheet.iter().for_each(|r| bytes.extend_from_slice(r));
        std::fs::write(path, bytes)?;
    }
    Ok(())
}
