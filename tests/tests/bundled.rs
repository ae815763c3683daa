//! The bundled generator through the whole harness: every generation mode of the capabilities
//! suite, throughput in the results and the report, bit-identical videos from the same seeds.

use videval_tests::{Sandbox, code, text};

fn results(sb: &Sandbox, run: &str) -> serde_json::Value {
    serde_json::from_slice(&sb.read(&format!("{run}/results.json"))).unwrap()
}

#[test]
fn every_mode_generates_and_throughput_is_reported() {
    let sb = Sandbox::new();
    let o = sb.run(&["run", "--suite", "capabilities", "--model", "bundled:tiny-s", "--out", "runs/cap"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r = results(&sb, "runs/cap");
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 18);
    let failed: Vec<_> = samples.iter().filter(|s| s["status"] != "ok").map(|s| s["error"].to_string()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let t = &r["throughput"];
    assert_eq!(t["videos"], 18, "{t}");
    assert_eq!(t["device"], "cpu");
    for key in ["latency_p50_s", "latency_p95_s", "frames_per_s", "tokens_per_s", "flops_per_video", "mfu"] {
        assert!(t[key].as_f64().unwrap() > 0.0, "{key}: {t}");
    }
    assert!(t["latency_p95_s"].as_f64() >= t["latency_p50_s"].as_f64());
    assert!(t["mfu"].as_f64().unwrap() < 1.0);
    assert!(r["model"]["params"]["checkpoint"] == "tiny-s", "{}", r["model"]);
    let html = String::from_utf8(sb.read("runs/cap/report.html")).unwrap();
    assert!(html.contains("<h2>Throughput</h2>") && html.contains("MFU"));
}

#[test]
fn the_same_seeds_give_the_same_videos() {
    let sb = Sandbox::new();
    for run in ["a", "b"] {
        let o = sb.run(&[
            "run",
            "--suite",
            "smoke",
            "--model",
            "bundled:tiny-s",
            "--limit",
            "3",
            "--out",
            &format!("runs/{run}"),
            "--store",
            &format!("store-{run}"),
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let shas = |run: &str| -> Vec<String> {
        results(&sb, run)["samples"].as_array().unwrap().iter().map(|s| s["video_sha256"].to_string()).collect()
    };
    assert_eq!(shas("runs/a"), shas("runs/b"));
    // An unknown checkpoint is a configuration error that lists the committed ones.
    let o = sb.run(&["run", "--suite", "smoke", "--model", "bundled:tiny-xxl", "--out", "runs/c"]);
    assert_eq!(code(&o), 3);
    assert!(text(&o).contains("tiny-s") && text(&o).contains("tiny-l"), "{}", text(&o));
}

/// A training killed at any step goes on from its last saved state with `--resume` and ends
/// with the weights and log an uninterrupted training ends with, bit for bit: killed once in the
/// VAE stage and once in the transformer stage (with a latent pool, drawn again on resuming).
#[test]
fn a_killed_training_resumes_to_the_same_weights() {
    let sb = Sandbox::new();
    let config = "name: r\nseed: 5\narchitecture:\n  vae: {channels: 8, latent: 8}\n  \
                  dit: {dim: 32, depth: 1, heads: 2, mlp_ratio: 2}\n  text: {dim: 16, layers: 1, heads: 2, max_tokens: 12}\n\
                  vae: {samples: 400, batch: 4}\ndit: {samples: 1600, batch: 8, warmup: 2, pool: 16}\n\
                  buckets: [[16, 16]]\nlengths: [[5, 1.0]]\nvalidation: 4\n";
    sb.write("r.yaml", config);
    let o = sb.run(&["train", "generator", "--config", "r.yaml", "--out", "whole"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let state = || -> Option<(String, u64)> {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sb.join("cut/.partial/state.json")).ok()?).ok()?;
        Some((v["stage"].as_str()?.to_string(), v["step"].as_u64()?))
    };
    // Kills the training (saving after every step) once its saved state is in `stage`.
    let kill_in = |stage: &str, resume: bool| {
        let mut args = vec!["train", "generator", "--config", "r.yaml", "--out", "cut", "--save-every", "0"];
        if resume {
            args.push("--resume");
        }
        let mut child =
            sb.command(&args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let start = std::time::Instant::now();
        while !state().is_some_and(|(s, step)| s == stage && step >= 3) {
            assert!(child.try_wait().unwrap().is_none(), "the training ended before it was killed in {stage}");
            assert!(start.elapsed().as_secs() < 300);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        state().unwrap()
    };
    let (_, vae_step) = kill_in("vae", false);
    // Without --resume the saved state is not thrown away.
    let o = sb.run(&["train", "generator", "--config", "r.yaml", "--out", "cut"]);
    assert!(code(&o) == 3 && text(&o).contains("--resume to go on from it"), "{}", text(&o));
    // Another config is refused, and the state kept.
    sb.write("r2.yaml", &config.replace("seed: 5", "seed: 6"));
    let o = sb.run(&["train", "generator", "--config", "r2.yaml", "--out", "cut", "--resume"]);
    assert!(code(&o) == 3 && text(&o).contains("of another config (seed differ)"), "{}", text(&o));
    assert!(!text(&o).contains("resuming"), "said it resumed, then refused: {}", text(&o));
    assert_eq!(state().unwrap(), ("vae".to_string(), vae_step));
    let (_, dit_step) = kill_in("dit", true);
    assert!(dit_step < 200, "{dit_step}");
    let o = sb.run(&["train", "generator", "--config", "r.yaml", "--out", "cut", "--resume"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains(&format!("resuming cut: stage dit at step {dit_step} of 200")), "{}", text(&o));
    assert_eq!(sb.read("cut/model.safetensors"), sb.read("whole/model.safetensors"), "resumed weights differ");
    let log = |dir: &str| -> Vec<String> {
        let csv = String::from_utf8(sb.read(&format!("{dir}/loss.csv"))).unwrap();
        csv.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
    };
    assert_eq!(log("cut"), log("whole"), "the log, seconds aside");
    assert!(!sb.join("cut/.partial").exists() && !sb.join("cut/.lock").exists());
    // --resume with nothing saved trains from the start.
    let o = sb.run(&["train", "generator", "--config", "r.yaml", "--out", "fresh", "--resume"]);
    assert!(code(&o) == 0 && text(&o).contains("nothing to resume"), "{}", text(&o));
    assert_eq!(sb.read("fresh/model.safetensors"), sb.read("whole/model.safetensors"));
}

#[test]
fn training_writes_a_checkpoint_the_harness_runs() {
    let sb = Sandbox::new();
    sb.write(
        "tiny.yaml",
        "name: micro\nseed: 3\narchitecture:\n  vae: {channels: 8, latent: 8}\n  dit: {dim: 32, depth: 1, heads: 2, mlp_ratio: 2}\n  \
         text: {dim: 16, layers: 1, heads: 2, max_tokens: 12}\nvae: {samples: 16, batch: 4}\ndit: {samples: 32, batch: 8, warmup: 2}\n\
         buckets: [[16, 16]]\nlengths: [[5, 1.0]]\nvalidation: 4\n",
    );
    let o = sb.run(&["train", "generator", "--config", "tiny.yaml"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    for f in ["model.safetensors", "config.json", "loss.csv", "loss.svg"] {
        assert!(sb.join("micro").join(f).is_file(), "{f}");
    }
    // The weights are as readable as the rest (the safetensors writer made them 0600).
    let mode = |f: &str| std::fs::metadata(sb.join("micro").join(f)).unwrap().permissions();
    assert_eq!(mode("model.safetensors"), mode("config.json"));
    let csv = String::from_utf8(sb.read("micro/loss.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.starts_with("dit,")).count(), 4);
    let cfg: serde_json::Value = serde_json::from_slice(&sb.read("micro/config.json")).unwrap();
    assert_eq!(cfg["training"]["samples"], 32);
    assert!(cfg["training"]["flops"].as_f64().unwrap() > 0.0 && cfg["parameters"]["total"].as_u64().unwrap() > 0);
    let o = sb.run(&["run", "--suite", "smoke", "--limit", "2", "--model", "bundled:micro", "--out", "runs/m"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // A diverged training is not published (its config.json's validation loss was null, and no
    // command could load it).
    let tiny = String::from_utf8(sb.read("tiny.yaml")).unwrap();
    sb.write("nan.yaml", &tiny.replace("name: micro", "name: nan").replace("warmup: 2}", "warmup: 2, lr: 1.0e6}"));
    let o = sb.run(&["train", "generator", "--config", "nan.yaml"]);
    assert!(code(&o) == 3 && text(&o).contains("the training diverged"), "{}", text(&o));
    assert!(!sb.join("nan/config.json").exists());
    // A second training into a finished checkpoint is refused before it starts (it replaced it
    // without a word); with --overwrite the new one replaces it whole, nothing left beside it.
    let before = sb.read("micro/model.safetensors");
    let o = sb.run(&["train", "generator", "--config", "tiny.yaml"]);
    assert!(code(&o) == 3 && text(&o).contains("already holds a checkpoint"), "{}", text(&o));
    assert_eq!(sb.read("micro/model.safetensors"), before);
    assert!(!sb.join("micro/.lock").exists(), "a refused training leaves nothing in the checkpoint");
    sb.write("tiny2.yaml", &String::from_utf8(sb.read("tiny.yaml")).unwrap().replace("seed: 3", "seed: 4"));
    let o = sb.run(&["train", "generator", "--config", "tiny2.yaml", "--overwrite"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let cfg: serde_json::Value = serde_json::from_slice(&sb.read("micro/config.json")).unwrap();
    assert_eq!(cfg["training"]["data_seed"], 4, "{cfg}");
    assert_ne!(sb.read("micro/model.safetensors"), before);
    let mut names: Vec<String> = std::fs::read_dir(sb.join("micro"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.json", "loss.csv", "loss.svg", "model.safetensors"], "nothing left beside it");
    assert!(String::from_utf8(sb.read("micro/loss.svg")).unwrap().contains("Training loss of micro"));
    // A link to a folder, and a path ending in '.', are written through (the moves stay in the
    // folder); a folder of other files is refused before training.
    std::fs::create_dir_all(sb.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(sb.join("elsewhere"), sb.join("link")).unwrap();
    for out in ["link", "fresh/."] {
        let o = sb.run(&["train", "generator", "--config", "tiny.yaml", "--out", out]);
        assert_eq!(code(&o), 0, "{out}: {}", text(&o));
    }
    assert!(sb.join("elsewhere/config.json").is_file() && sb.join("fresh/config.json").is_file());
    assert!(std::fs::symlink_metadata(sb.join("link")).unwrap().file_type().is_symlink());
    sb.write("notes/readme.txt", "mine");
    let o = sb.run(&["train", "generator", "--config", "tiny.yaml", "--out", "notes", "--overwrite"]);
    assert!(code(&o) == 3 && text(&o).contains("holds readme.txt"), "{}", text(&o));
    assert_eq!(sb.read("notes/readme.txt"), b"mine");
    // The curve is redrawn from loss.csv, and a loss.csv it cannot read whole is refused.
    let o = sb.run(&["train", "curve", "micro"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let csv = String::from_utf8(sb.read("micro/loss.csv")).unwrap();
    for (broken, says) in [
        (csv.lines().skip(1).collect::<Vec<_>>().join("\n"), "line 1: the header is"),
        (csv.replacen("\ndit,", "\nDiT,", 1), "stage \"DiT\""),
    ] {
        sb.write("micro/loss.csv", &broken);
        let o = sb.run(&["train", "curve", "micro"]);
        assert!(code(&o) == 3 && text(&o).contains(says), "{says}: {}", text(&o));
    }
    let o = sb.run(&["train", "curve", "micro/loss.csv"]);
    assert!(code(&o) == 3 && text(&o).contains("give the checkpoint's folder"), "{}", text(&o));
    // An encoder trained for no steps is random weights under a trained name.
    sb.write("enc.yaml", "seed: 1\nsteps: 0\nbatch: 2\nlr: 0.001\n");
    let o = sb.run(&["train", "encoder", "--config", "enc.yaml", "--out", "enc"]);
    assert!(code(&o) == 3 && text(&o).contains("steps: 0 trains nothing"), "{}", text(&o));
    // An architecture the loader would refuse is refused before training (128 heads trained,
    // then fvd and clipscore refused the weights).
    sb.write(
        "enc.yaml",
        "seed: 1\nsteps: 2\nbatch: 2\nlr: 0.001\narchitecture:\n  channels: [8, 8, 8, 8]\n  frame_dim: 16\n  embed_dim: 16\n  text: {dim: 128, layers: 1, heads: 128, max_tokens: 16}\n",
    );
    let o = sb.run(&["train", "encoder", "--config", "enc.yaml", "--out", "enc"]);
    assert!(code(&o) == 3 && text(&o).contains("architecture.text.heads: 128 is not in 1..=64"), "{}", text(&o));
    // A config error names the file and the field.
    sb.write("bad.yaml", "name: x\nseed: 1\narchitecture: {vae: {channels: 8}}\n");
    let o = sb.run(&["train", "generator", "--config", "bad.yaml"]);
    assert_eq!(code(&o), 3);
    assert!(text(&o).contains("bad.yaml:3"), "{}", text(&o));
}

#[test]
fn the_ladder_sweep_fits_scaling_laws_and_a_rerun_is_on_trend() {
    let sb = Sandbox::new();
    // The committed nightly sweep, every checkpoint of it, on three smoke cases (the nightly
    // runs all of smoke and physics).
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/sweeps/tiny-ladder.yaml")).unwrap();
    let (suites, targets) = (
        committed.lines().find(|l| l.starts_with("suites:")).unwrap(),
        committed.lines().find(|l| l.starts_with("targets:")).unwrap(),
    );
    let spec = committed
        .replace(suites, "suites: [smoke]\nlimit: 3")
        .replace(targets, "targets: [val_loss, smoke/motion_smoothness, smoke/warping_error]");
    sb.write("ladder.yaml", &spec);
    let o = sb.run(&["sweep", "ladder.yaml", "--out", "sw"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&sb.read("sw/scaling.json")).unwrap();
    assert_eq!(v["schema"], "videval.scaling/v1");
    let cks = v["checkpoints"].as_array().unwrap();
    assert_eq!(cks.len(), 9);
    for c in cks {
        for key in ["params", "samples", "flops", "val_loss"] {
            assert!(c[key].as_f64().unwrap() > 0.0, "{key}: {c}");
        }
    }
    let fits = v["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 3);
    let val = fits.iter().find(|f| f["target"] == "val_loss").unwrap();
    assert_eq!(val["points"].as_array().unwrap().len(), 9);
    // Nine points: the largest-compute checkpoint is held out and predicted.
    assert!(val["fit"]["holdout"].is_object(), "{val}");
    let smooth = fits.iter().find(|f| f["target"] == "smoke/motion_smoothness").unwrap();
    assert_eq!(smooth["transform"], "1 - value");
    let html = String::from_utf8(sb.read("sw/scaling.html")).unwrap();
    assert!(html.contains("val_loss") && html.contains("<svg"));
    // Tonight equals last night: nothing is off trend, and the cached runs are reused.
    let o = sb.run(&["sweep", "ladder.yaml", "--out", "sw", "--previous", "sw/scaling.json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!text(&o).contains("OFF TREND") && text(&o).contains("ON TREND  with sw/scaling.json"), "{}", text(&o));
    assert!(text(&o).contains("6 reused from store") || text(&o).contains("6 already done"), "{}", text(&o));
    // Last night's file must be this sweep's on the same cases (another --limit or schema was
    // compared point by point): refused before any run.
    sb.write("ladder2.yaml", &spec.replace("limit: 3", "limit: 2"));
    let o = sb.run(&["sweep", "ladder2.yaml", "--out", "sw2", "--previous", "sw/scaling.json"]);
    assert!(code(&o) == 3 && text(&o).contains("not last night's run of this sweep"), "{}", text(&o));
    sb.write(
        "v9.json",
        &String::from_utf8(sb.read("sw/scaling.json")).unwrap().replace("videval.scaling/v1", "videval.scaling/v9"),
    );
    let o = sb.run(&["sweep", "ladder.yaml", "--out", "sw3", "--previous", "v9.json"]);
    assert!(code(&o) == 3 && text(&o).contains("schema \"videval.scaling/v9\""), "{}", text(&o));
    // A probe no case of the suite checks is refused before any run too (it was found after
    // every checkpoint had run, and the night's fits were lost).
    sb.write("ladder4.yaml", &spec.replace("smoke/warping_error", "\"smoke/probe:loop\""));
    let o = sb.run(&["sweep", "ladder4.yaml", "--out", "sw4"]);
    assert!(code(&o) == 3 && text(&o).contains("does not score probe:loop"), "{}", text(&o));
    assert!(!sb.join("sw2/runs").exists() && !sb.join("sw3/runs").exists(), "refused before any run");
    assert!(!sb.join("sw4/runs").exists(), "refused before any run");
}

/// `continuity` against a conditioning image given as a file: measured on the bundled
/// generator's i2v output; when the file is rewritten in place, the video is generated again and
/// scored again (neither is taken from the store: both depend on what the file holds).
#[test]
fn continuity_follows_a_conditioning_file_and_is_rescored_when_it_changes() {
    use videval::video::{self, EncodeParams};
    let sb = Sandbox::new();
    let image = |v: u8| {
        let px: Vec<u8> = (0..32 * 32).flat_map(|i| if i % 32 < 16 { [v, 40, 40] } else { [40, 40, v] }).collect();
        videval_metrics::Video::new(32, 32, 8.0, px).unwrap()
    };
    let path = sb.join("first.mkv");
    video::encode(&image(220), &path, &EncodeParams::lossless()).unwrap();
    sb.write(
        "cond.yaml",
        &format!(
            "schema: 1\nsuite: cond\nversion: 1\ndefaults:\n  generation: {{frames: 9, width: 32, height: 32, steps: 2}}\n  \
             seeds: {{per_case: 1}}\nmetrics: [frame_count]\ncases:\n  - id: i2v\n    mode: i2v\n    prompt: \"a red ball falls\"\n    \
             input: {{image: {{path: {}}}}}\n    expect:\n      - {{probe: continuity, psnr: {{min: 1}}}}\n",
            path.display()
        ),
    );
    let run = |out: &str| -> serde_json::Value {
        let (rc, v) = sb.run_json(&["run", "--suite", "cond.yaml", "--model", "bundled:tiny-s", "--out", out]);
        assert_eq!(rc, 0, "{v}");
        v
    };
    let first = run("runs/a");
    let r = results(&sb, "runs/a");
    let detail = r["samples"][0]["details"]["probe:continuity"].as_str().unwrap().to_string();
    assert!(detail.starts_with("pass: PSNR vs the conditioning input at 32x32: the first frame"), "{detail}");
    // The same input again: every score comes from the store.
    let again = run("runs/b");
    // A new image at the same path: the continuity check is measured again.
    video::encode(&image(90), &path, &EncodeParams::lossless()).unwrap();
    let changed = run("runs/c");
    let count = |v: &serde_json::Value, k: &str| v["counts"][k].as_u64().unwrap();
    assert!(count(&first, "scored") > 0 && count(&first, "scores_reused") == 0, "{first}");
    assert_eq!((count(&again, "generated"), count(&again, "scored")), (0, 0), "{again}");
    assert!(count(&changed, "generated") == 1 && count(&changed, "scored") > 0, "{changed}");
}

/// Every committed training config is within the ranges `train` checks, and a config out of them
/// is refused at once naming the field (zero batches divided by zero, zero heads panicked, a
/// huge width aborted on an allocation, a NaN rate trained a NaN checkpoint and exited 0).
#[test]
fn training_configs_are_checked_field_by_field_before_training() {
    use videval_models::generator::train::TrainConfig;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/weights/generator");
    let mut committed = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "yaml") {
            let cfg: TrainConfig = videval::yaml::load_file(&path).unwrap();
            cfg.check().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            committed += 1;
        }
    }
    assert!(committed >= 5, "{committed} committed configs");
    let sb = Sandbox::new();
    let base = std::fs::read_to_string(dir.join("tiny-s.yaml")).unwrap();
    for (from, to, field) in [
        ("batch: 4,", "batch: 0,", "vae.batch: 0"),
        ("batch: 32,", "batch: 0,", "dit.batch: 0"),
        ("heads: 2, mlp_ratio", "heads: 0, mlp_ratio", "architecture.dit.heads: 0"),
        ("heads: 2, mlp_ratio", "heads: 3, mlp_ratio", "architecture.dit: dim 64 over 3 heads"),
        ("channels: 48", "channels: 0", "architecture.vae.channels: 0"),
        ("caption_dropout: 0.1", "caption_dropout: 1.5", "dit.caption_dropout: 1.5"),
        ("dim: 64, depth", "dim: 1000000000, depth", "architecture.dit.dim: 1000000000"),
        ("lr: 4.0e-4", "lr: .nan", "dit.lr: NaN"),
        ("[[32, 32], [40, 24]", "[[4096, 4096], [40, 24]", "buckets: 4096×4096"),
        ("validation: 64", "validation: 1000000000", "validation: 1000000000"),
        ("[[17, 0.7]", "[[17, -1.0]", "lengths: the weight -1"),
        ("name: tiny-s", "name: ../../escaped", "name \"../../escaped\""),
        // Each field in range, the product not: 43 billion parameters, found by an aborted
        // allocation; a pool of latents larger than any machine's memory.
        (
            "dim: 64, depth: 2, heads: 2, mlp_ratio: 4",
            "dim: 4096, depth: 64, heads: 64, mlp_ratio: 16",
            "billion transformer parameters",
        ),
        ("clip: 1.0,", "clip: 1.0, pool: 100000000000,", "dit.pool 100000000000 holds up to"),
        // A donor that is not there is named by its field.
        ("vae: {samples: 6400,", "vae: {from: nosuch, samples: 6400,", "vae.from "),
        // Attention scores quadratic in the tokens: 1024² clips of 257 frames were refused only
        // by the allocation of the first transformer step, after the VAE had trained.
        (
            "buckets: [[32, 32], [40, 24], [24, 40]]\nlengths: [[17, 0.7]",
            "buckets: [[32, 32], [1024, 1024]]\nlengths: [[257, 0.7]",
            "(dit.batch 32, 257 frames, 1024×1024) holds at least",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        sb.write("c.yaml", &base.replacen(from, to, 1));
        let o = sb.run(&["train", "generator", "--config", "c.yaml", "--out", "ck"]);
        assert!(code(&o) == 3 && text(&o).contains(field), "{field}: {}", text(&o));
        assert!(!sb.join("ck").exists());
    }
}
