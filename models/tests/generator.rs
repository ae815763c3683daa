//! The bundled generator end to end: grid shapes for every aspect and length, bit-exact seeds,
//! every conditioning mode, and the committed checkpoints (they load, keep an I2V frame, the
//! ladder's validation loss falls with size and its videos follow the prompt's colour family).

use std::path::{Path, PathBuf};

use candle_core::Device;
use videval_metrics::Video;
use videval_metrics::palette::Color;
use videval_models::generator::dit::DitConfig;
use videval_models::generator::text::TextConfig;
use videval_models::generator::vae::VaeConfig;
use videval_models::generator::{Architecture, Condition, Model, Request};
use videval_models::training::build_vocab;
use videval_models::world::render::{Settings, render};
use videval_models::world::spec::SceneFile;

fn tiny() -> Model {
    let arch = Architecture {
        vae: VaeConfig { channels: 16, latent: 8 },
        dit: DitConfig { dim: 32, depth: 1, heads: 2, mlp_ratio: 2 },
        text: TextConfig { dim: 32, layers: 1, heads: 2, max_tokens: 12 },
    };
    Model::init(&arch, build_vocab(), 7, &Device::Cpu).unwrap().0
}

fn request(frames: usize, width: usize, height: usize) -> Request<'static> {
    Request {
        prompt: "a red ball falls",
        seed: 42,
        frames,
        width,
        height,
        fps: 8.0,
        steps: 2,
        guidance: 3.0,
        condition: Condition::None,
    }
}

#[test]
fn every_aspect_and_length_gives_the_requested_shape() {
    let m = tiny();
    // 1:1, 16:9 and 9:16 grids (sides multiples of 8, latent sides even), 1, 5, 9 and 17 frames.
    for (w, h) in [(32, 32), (128, 72), (72, 128)] {
        for frames in [1, 5, 9, 17] {
            let out = m.generate(&request(frames, w, h)).unwrap();
            assert_eq!((out.video.width() as usize, out.video.height() as usize, out.video.len()), (w, h, frames));
            assert_eq!(out.tokens, (frames - 1) / 4 * (w / 8) * (h / 8) + (w / 8) * (h / 8));
            assert!(out.flops > 0.0);
        }
    }
    // A length that is not 1 + 4k is generated at the next one and cut.
    assert_eq!(m.generate(&request(7, 32, 32)).unwrap().video.len(), 7);
}

#[test]
fn the_same_seed_gives_bit_identical_videos() {
    let m = tiny();
    let a = m.generate(&request(9, 32, 32)).unwrap().video;
    let b = m.generate(&request(9, 32, 32)).unwrap().video;
    assert_eq!(a.as_bytes(), b.as_bytes());
    let c = m.generate(&Request { seed: 43, ..request(9, 32, 32) }).unwrap().video;
    assert_ne!(a.as_bytes(), c.as_bytes());
}

fn world_clip(frames: u32) -> Video {
    let scene: SceneFile = serde_json::from_str(
        r#"{"width": 32, "height": 32, "fps": 8, "frames": 1, "scene": {"objects": [
            {"id": "b", "shape": "circle", "color": "red", "size": 0.3, "pos": [0.3, 0.4], "vel": [0.5, 0]}]}}"#,
    )
    .unwrap();
    render(&scene.scene, &Settings { width: 32, height: 32, fps: 8.0, frames }, false).0
}

#[test]
fn conditioning_modes_check_their_inputs() {
    let m = tiny();
    let clip = world_clip(9);
    // The passes made: 2 guided steps are 4; a loop generates twice; an edit at strength 0.5
    // runs only the steps below it (tokens/s counted 4 for each).
    let edit = world_clip(17);
    for (cond, passes) in [
        (Condition::None, Some(4)),
        (Condition::Image(&clip), Some(4)),
        (Condition::Head(&clip), Some(4)),
        (Condition::Tail(&clip), Some(4)),
        (Condition::Loop, Some(8)),
        (Condition::Edit { video: &edit, strength: 0.5 }, None),
    ] {
        let out = m.generate(&Request { condition: cond, ..request(17, 32, 32) }).unwrap();
        assert_eq!(out.video.len(), 17);
        match passes {
            Some(p) => assert_eq!(out.passes, p),
            None => assert!(out.passes < 4 && out.passes % 2 == 0, "{}", out.passes),
        }
    }
    let short = world_clip(5);
    assert_eq!(
        m.generate(&Request { condition: Condition::Connect(&short, &short), ..request(17, 32, 32) })
            .unwrap()
            .video
            .len(),
        17
    );
    // Wrong sizes, too little room and bad strengths are errors, not panics.
    let e = m.generate(&Request { condition: Condition::Image(&clip), ..request(17, 40, 24) }).unwrap_err();
    assert!(e.to_string().contains("conditioning clip is 32×32"), "{e}");
    let e = m.generate(&Request { condition: Condition::Connect(&clip, &clip), ..request(9, 32, 32) }).unwrap_err();
    assert!(e.to_string().contains("latent frames"), "{e}");
    let e = m.generate(&Request { condition: Condition::Edit { video: &clip, strength: 1.5 }, ..request(9, 32, 32) });
    assert!(e.unwrap_err().to_string().contains("strength"));
    let e = m.generate(&request(17, 30, 32)).unwrap_err();
    assert!(e.to_string().contains("multiples of 8"), "{e}");
}

fn weights(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/generator").join(name)
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse: f64 = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-12)).log10()
}

/// Image-to-video keeps the conditioning frame: the first output frame is exactly the VAE's
/// reconstruction of the input image (its latent is held through sampling and the decoder is
/// causal), and it is closer to the input than a text-only generation's first frame.
#[test]
fn committed_checkpoint_keeps_the_i2v_frame() {
    let m = Model::load(&weights("tiny-s"), &Device::Cpu).unwrap();
    let clip = world_clip(1);
    let i2v = m.generate(&Request { condition: Condition::Image(&clip), steps: 4, ..request(9, 32, 32) }).unwrap();
    let x = videval_models::generator::video_tensor(&clip, &Device::Cpu).unwrap();
    let recon = m.decode(&m.encode(&x).unwrap()).unwrap().squeeze(0).unwrap();
    let recon = videval_models::generator::tensor_video(&recon, 8.0).unwrap();
    let held = psnr(i2v.video.frame(0), recon.frame(0));
    assert!(held > 40.0, "I2V frame 0 vs the VAE reconstruction of the image: {held:.1} dB");
    let vs_input = psnr(i2v.video.frame(0), clip.frame(0));
    let t2v = m.generate(&Request { steps: 4, ..request(9, 32, 32) }).unwrap();
    let free = psnr(t2v.video.frame(0), clip.frame(0));
    assert!(
        vs_input > I2V_PSNR_MIN && vs_input > free + 1.0,
        "I2V {vs_input:.1} dB, text-only {free:.1} dB vs the input"
    );
}

/// Stated bound for the committed VAE's reconstruction of a held frame (measured 14.6 dB: the
/// VAE, not the conditioning, limits it).
const I2V_PSNR_MIN: f64 = 12.0;

#[test]
fn committed_checkpoints_load_and_record_their_training() {
    for name in ["tiny-s", "tiny-m", "tiny-l"] {
        let m = Model::load(&weights(name), &Device::Cpu).unwrap();
        let c = &m.config;
        assert_eq!(c.name, name);
        assert!(c.training.samples > 0 && c.training.flops > 0.0 && c.training.val_loss > 0.0);
        assert!(weights(name).join("loss.csv").is_file());
    }
    let bad = Model::load(&weights("no-such"), &Device::Cpu).err().unwrap().to_string();
    assert!(bad.contains("config.json"), "{bad}");
}

/// A checkpoint whose `config.json` was edited to 0 text heads divided by zero in the attention
/// mid-run (exit 5); it is refused at load, naming the file and the field.
#[test]
fn a_checkpoint_config_with_impossible_sizes_is_refused_at_load() {
    let dir = std::env::temp_dir().join(format!("vv-gen-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(weights("tiny-s").join(f), dir.join(f)).unwrap();
    }
    let good = std::fs::read_to_string(dir.join("config.json")).unwrap();
    for (path, value, says) in [
        (["text", "heads"], 0, "architecture.text.heads: 0"),
        (["dit", "heads"], 0, "architecture.dit.heads: 0"),
        (["dit", "heads"], 5, "even head size"),
    ] {
        let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
        v["architecture"][path[0]][path[1]] = value.into();
        std::fs::write(dir.join("config.json"), v.to_string()).unwrap();
        let e = Model::load(&dir, &Device::Cpu).err().unwrap().to_string();
        assert!(e.contains("config.json") && e.contains(says), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ladder of record (v2: the world encoder's text tower, saliency-weighted loss, 147,200
/// clips each). Larger ones have more parameters and a lower validation loss.
const LADDER: [&str; 3] = ["tiny-s-v2", "tiny-m-v2", "tiny-l-v2"];

#[test]
fn larger_checkpoints_of_the_ladder_have_lower_validation_loss() {
    let configs: Vec<_> = LADDER.iter().map(|n| Model::load(&weights(n), &Device::Cpu).unwrap().config).collect();
    for pair in configs.windows(2) {
        let (small, large) = (&pair[0], &pair[1]);
        assert!(large.parameters.dit > small.parameters.dit, "{} vs {}", small.name, large.name);
        assert!(
            large.training.val_loss < small.training.val_loss,
            "{} {:.4} vs {} {:.4}",
            small.name,
            small.training.val_loss,
            large.name,
            large.training.val_loss
        );
    }
}

/// The 64×64 ladder's first run (issue 24; records committed beside its sweep report, the
/// weights not: undertrained): four sizes on the same clips spanning ≥ 30× in training compute,
/// the validation loss (on 64×64 clips) lower for more compute at every point of the curve.
#[test]
fn the_64_ladder_validation_loss_falls_with_compute_at_every_curve_point() {
    use videval_models::generator::CheckpointConfig;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/sweeps/ladder-64-2026-12-04");
    let configs: Vec<CheckpointConfig> = ["tiny-s-64", "tiny-m-64", "tiny-l-64", "tiny-xl-64"]
        .iter()
        .map(|n| {
            let path = dir.join(n).join("config.json");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect();
    let (first, last) = (&configs[0].training, &configs[3].training);
    assert!(last.flops >= 30.0 * first.flops, "compute spans {:.1}×", last.flops / first.flops);
    for c in &configs {
        assert_eq!(c.buckets.first(), Some(&[64, 64]), "{}", c.name);
        assert_eq!(c.training.samples, first.samples, "{}: same clips as {}", c.name, configs[0].name);
        assert_eq!(c.training.val_curve.len(), 3, "{}", c.name);
    }
    for pair in configs.windows(2) {
        let (small, large) = (&pair[0], &pair[1]);
        assert!(large.training.flops > small.training.flops, "{} vs {}", small.name, large.name);
        for (a, b) in small.training.val_curve.iter().zip(&large.training.val_curve) {
            assert!(
                b.val_loss < a.val_loss,
                "{} samples: {} {:.4} vs {} {:.4}",
                a.samples,
                small.name,
                a.val_loss,
                large.name,
                b.val_loss
            );
        }
    }
}

/// Mean hue (degrees) of the saturated, bright pixels of a video — the objects, not the gray and
/// white checkerboards — or None when there are none.
fn object_hue(video: &Video) -> Option<f64> {
    let (mut sx, mut sy) = (0.0f64, 0.0f64);
    let mut n = 0usize;
    for frame in video.frames() {
        for p in frame.chunks_exact(3) {
            let [r, g, b] = [p[0], p[1], p[2]].map(|v| f64::from(v) / 255.0);
            let (max, min) = (r.max(g).max(b), r.min(g).min(b));
            if max < 0.3 || (max - min) / max < 0.5 {
                continue;
            }
            let d = max - min;
            let sextant = if max == r {
                ((g - b) / d).rem_euclid(6.0)
            } else if max == g {
                (b - r) / d + 2.0
            } else {
                (r - g) / d + 4.0
            };
            let h = (sextant * 60.0).to_radians();
            sx += h.cos();
            sy += h.sin();
            n += 1;
        }
    }
    (n > 0).then(|| sy.atan2(sx).to_degrees().rem_euclid(360.0))
}

/// The hue reader reads the rendered palette colours, and the committed VAE keeps them: the
/// reconstruction's hue is within 6° of the original's (measured at most 5°), so the VAE is not
/// what merges red with yellow in the samples.
#[test]
fn object_hue_reads_the_rendered_colour_and_the_vae_keeps_it() {
    let m = Model::load(&weights("tiny-s"), &Device::Cpu).unwrap();
    for (color, hue) in [("red", 0.0), ("yellow", 51.0), ("green", 129.0), ("blue", 227.0), ("magenta", 311.0)] {
        let scene: SceneFile = serde_json::from_str(&format!(
            r#"{{"width": 32, "height": 32, "fps": 8, "frames": 1, "scene": {{"objects": [
            {{"id": "b", "shape": "circle", "color": "{color}", "size": 0.2, "pos": [0.3, 0.5], "vel": [0.5, 0]}}]}}}}"#
        ))
        .unwrap();
        let clip = render(&scene.scene, &Settings { width: 32, height: 32, fps: 8.0, frames: 5 }, false).0;
        let h = object_hue(&clip).unwrap();
        assert!(hue_apart(h, hue) < 3.0, "{color}: {h:.1}");
        let x = videval_models::generator::video_tensor(&clip, &Device::Cpu).unwrap();
        let recon = m.decode(&m.encode(&x).unwrap()).unwrap().squeeze(0).unwrap();
        let recon = object_hue(&videval_models::generator::tensor_video(&recon, 8.0).unwrap()).unwrap();
        assert!(hue_apart(recon, h) < 6.0, "{color}: {h:.1}° rendered, {recon:.1}° through the VAE");
    }
}

/// Warm (red, yellow: hue within 90° of 30°) or cool (green, blue).
fn is_warm(hue: f64) -> bool {
    let d = (hue - 30.0).rem_euclid(360.0);
    d.min(360.0 - d) < 90.0
}

/// Text conditioning reaches the pixels: prompted "a COLOUR ball rolls to the right" in red,
/// yellow, green and blue, three seeds each, at the suites' sampling settings (10 steps, guidance
/// 5), the objects' mean hue is warm for red/yellow prompts and cool for green/blue ones in at
/// least `MIN_WARM_COOL` of 12 videos for every checkpoint of the ladder (a model that ignores
/// the prompt gets about 6), and for the default checkpoint the hue is within 30° of the
/// prompted palette colour's in at least `MIN_HUE_DEFAULT` of 12 (red and yellow are 51° apart,
/// so a model that draws both orange fails).
#[test]
fn the_ladder_follows_the_prompted_colour_family() {
    let mut report = Vec::new();
    let (mut worst, mut close_default) = (usize::MAX, 0);
    for name in LADDER {
        let m = Model::load(&weights(name), &Device::Cpu).unwrap();
        let (mut right, mut close) = (0, 0);
        let mut hues = Vec::new();
        for (color, warm) in [(Color::Red, true), (Color::Yellow, true), (Color::Green, false), (Color::Blue, false)] {
            let prompt = format!("a {} ball rolls to the right", color.name());
            let target = object_hue(&palette_swatch(color)).unwrap();
            for seed in 0..3 {
                let req = Request { prompt: &prompt, seed, steps: 10, guidance: 5.0, ..request(17, 32, 32) };
                let hue = object_hue(&m.generate(&req).unwrap().video);
                right += usize::from(hue.is_some_and(|h| is_warm(h) == warm));
                close += usize::from(hue.is_some_and(|h| hue_apart(h, target) < 30.0));
                hues.push(hue.map_or("-".to_string(), |h| format!("{h:.0}")));
            }
        }
        worst = worst.min(right);
        if name == LADDER[2] {
            close_default = close;
        }
        report.push(format!(
            "{name}: {right}/12 family, {close}/12 within 30° (hues red, yellow, green, blue x3: {})",
            hues.join(" ")
        ));
    }
    assert!(worst >= MIN_WARM_COOL, "{report:#?}");
    assert!(close_default >= MIN_HUE_DEFAULT, "{report:#?}");
}

/// A one-frame 8×8 video filled with the palette colour.
fn palette_swatch(color: Color) -> Video {
    let rgb = color.rgb();
    Video::new(8, 8, 8.0, rgb.repeat(64)).unwrap()
}

/// Degrees between two hues.
fn hue_apart(a: f64, b: f64) -> f64 {
    let d = (a - b).abs();
    d.min(360.0 - d)
}

/// Stated bound (measured 12/12 for tiny-l-v2; tiny-m-v2 11, its green prompts come out 157–164°;
/// tiny-s-v2 7).
const MIN_HUE_DEFAULT: usize = 10;

/// Stated bound (measured 12/12 for every checkpoint of the ladder; the previous ladder, tiny-*-long,
/// 12 / 11 / 12; the under-trained tiny-s: 6/12, every video warm).
const MIN_WARM_COOL: usize = 10;

/// The acceptance rule, with the probes' own lookup (`Context::sees_moving`: the object found by
/// its colour in at least half the frames, moving at least 2 px): prompted "a COLOUR ball rolls
/// to the right" in each of the eight tracked colours, three seeds, at the suites' settings,
/// the default checkpoint draws a moving object of the prompted colour in at least
/// `MIN_SEEN_DEFAULT` of 24 videos, and no checkpoint of the ladder draws fewer than a smaller
/// one. (Measured with probes version 24: tiny-s-v2 / m-v2 / l-v2 0 / 6 / 6 of 24; version 23,
/// whose orange took saturation 0.66, read 8 for the default, two of whose orange balls are paler
/// than 0.8; the previous ladder, tiny-*-long, 2 / 1 / 0.)
#[test]
fn the_default_checkpoint_draws_moving_objects_of_the_prompted_colours() {
    use videval_metrics::probes::{Context, ObjectRef};
    use videval_metrics::track::TRACKED;
    let mut seen = Vec::new();
    for name in LADDER {
        let m = Model::load(&weights(name), &Device::Cpu).unwrap();
        let mut n = 0;
        for color in TRACKED {
            let prompt = format!("a {} ball rolls to the right", color.name());
            for seed in 0..3 {
                let req = Request { prompt: &prompt, seed, steps: 10, guidance: 5.0, ..request(17, 32, 32) };
                let video = m.generate(&req).unwrap().video;
                n += usize::from(Context::new(&video).sees_moving(&ObjectRef { color: Some(color), shape: None }));
            }
        }
        seen.push((name, n));
    }
    // The default checkpoint (harness DEFAULT_CHECKPOINT) is the ladder's largest.
    assert!(seen[2].1 >= MIN_SEEN_DEFAULT, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
}

/// Stated bound (measured 6 of 24 with probes version 24).
const MIN_SEEN_DEFAULT: usize = 6;

/// `text: {from: WORLD_ENCODER}` puts the world encoder's contrastively trained text tower in the
/// generator; frozen, it leaves training unchanged, and a tower of another shape is refused.
#[test]
fn a_frozen_world_encoder_text_tower_is_loaded_and_kept() {
    use videval_models::encoders::world::{EncoderConfig, WorldEncoder};
    use videval_models::generator::train::{TrainConfig, train};
    let dir = std::env::temp_dir().join(format!("videval-text-tower-{}", std::process::id()));
    let text = TextConfig { dim: 16, layers: 1, heads: 2, max_tokens: 12 };
    let (enc, params) =
        WorldEncoder::init(EncoderConfig { text: text.clone(), ..EncoderConfig::default() }, 9, &Device::Cpu).unwrap();
    enc.save(&dir, &params).unwrap();
    let config = |freeze: bool, dim: usize| -> TrainConfig {
        serde_json::from_value(serde_json::json!({
            "name": "micro", "seed": 3,
            "architecture": {"vae": {"channels": 8, "latent": 8}, "dit": {"dim": 32, "depth": 1, "heads": 2, "mlp_ratio": 2},
                             "text": {"dim": dim, "layers": 1, "heads": 2, "max_tokens": 12}},
            "vae": {"samples": 8, "batch": 4}, "dit": {"samples": 16, "batch": 8, "warmup": 1},
            "buckets": [[16, 16]], "lengths": [[5, 1.0]], "validation": 4,
            "text": {"from": dir.to_string_lossy(), "freeze": freeze}
        }))
        .unwrap()
    };
    let tower = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let same = |w: &std::collections::BTreeMap<String, candle_core::Tensor>, k: &str| {
        let d = (&w[k] - &tower[k]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        d == 0.0
    };
    let frozen = train(&config(true, 16), "test", &Device::Cpu, &mut |_, _| {}).unwrap();
    for k in ["text.token_embedding", "text.layers.0.qkv.weight", "text.norm_out.weight"] {
        assert!(same(&frozen.weights, k), "{k} changed while frozen");
    }
    assert!(frozen.model.config.training.text_encoder.as_deref().is_some_and(|t| t.ends_with("(frozen)")));
    let tuned = train(&config(false, 16), "test", &Device::Cpu, &mut |_, _| {}).unwrap();
    assert!(!same(&tuned.weights, "text.layers.0.qkv.weight"), "fine-tuning left the tower unchanged");
    let e = train(&config(true, 24), "test", &Device::Cpu, &mut |_, _| {}).err().unwrap().to_string();
    assert!(e.contains("text.from") && e.contains("must match"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The transformer's FLOP model (`Dit::flops`: what the throughput records' MFU and the training
/// compute are computed from) against a count made independently, from the weights each size
/// actually builds: 2·rows·cols per token a matrix is applied to (video tokens for the blocks'
/// projections and MLP, the patch embedding and the output layer; text tokens for the text
/// projections and cross-attention keys/values), plus attention's QKᵀ and AV products sized from
/// the projections' widths. Per-sample conditioning (timestep, fps, adaLN) is left out of both.
/// Sizes: the 64×64 ladder (17 frames: 5 × 8 × 8 tokens) and the DiT-B/L throughput benches
/// (256×256, 49 frames: 13 × 32 × 32 tokens).
#[test]
fn the_flop_model_matches_a_count_from_the_built_weights_at_every_ladder_and_bench_size() {
    use videval_models::generator::dit::Dit;
    use videval_models::generator::nn::Params;
    let ladder = Dit::tokens(5, 16, 16);
    let bench = Dit::tokens(13, 64, 64);
    assert_eq!((ladder, bench), (320, 13_312));
    let (latent, text_dim, l) = (16, 96, 32);
    let sizes = [
        (64, 2, 2, ladder),
        (128, 4, 4, ladder),
        (192, 6, 6, ladder),
        (288, 8, 8, ladder),
        (768, 12, 12, bench),
        (1024, 24, 16, bench),
    ];
    for (dim, depth, heads, n) in sizes {
        let mut p = Params::init(1, &Device::Cpu);
        let dit = Dit::new(&mut p, DitConfig { dim, depth, heads, mlp_ratio: 4 }, latent, text_dim, l).unwrap();
        let (mut count, mut matrices) = (0.0, 0);
        for (name, var) in p.vars() {
            let dims = var.dims();
            if dims.len() != 2 || !name.ends_with(".weight") {
                continue;
            }
            let rows = if name.contains(".cross.kv.") || name.starts_with("dit.y_embedder.") {
                l
            } else if name.starts_with("dit.blocks.")
                || name == "dit.x_embedder.weight"
                || name == "dit.final.linear.weight"
            {
                n
            } else {
                continue;
            };
            matrices += 1;
            count += 2.0 * (rows * dims[0] * dims[1]) as f64;
            if name.ends_with(".attn.qkv.weight") {
                count += 4.0 * (n * n * (dims[0] / 3)) as f64;
            }
            if name.ends_with(".cross.q.weight") {
                count += 4.0 * (n * l * dims[0]) as f64;
            }
        }
        assert_eq!(matrices, 7 * depth + 4, "d {dim}: matrices counted");
        let model = dit.flops(n, l);
        assert!((model - count).abs() <= 1e-12 * count, "d {dim} depth {depth}: model {model:.6e}, count {count:.6e}");
    }
}
