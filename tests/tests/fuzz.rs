//! Mutation fuzzing on stable Rust, with fixed seeds: every reader a stranger's bytes reach —
//! suite YAML (parse, include, matrix, decode), `.vvstats` statistics, safetensors weights, the
//! weights manifest, the command adapter's argument templates, and the video decoder on mutated
//! real files — gets thousands of damaged inputs and must answer each with a value or an error:
//! no panic (checked here), no hang and no unbounded memory (the readers' limits; a hang fails
//! the test run by its time limit).
//!
//! `VIDEVAL_FUZZ_SCALE` multiplies every iteration count (CI runs 1; the nightly script
//! `ci/fuzz-nightly.sh` runs 100 in release). An input that panics is saved under
//! `target/fuzz-crashes/` and named in the failure, to become a regression test.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use videval::suite::{Limits, Source, bundled, load_with};

fn scale() -> usize {
    std::env::var("VIDEVAL_FUZZ_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1)
}

const INTERESTING: &[u8] = b"\x00\xff\x7f\x80\n:*&[]{}-'\"!%#\\";

/// One to four random edits: bit flips, special bytes, deletions, duplications, dictionary
/// tokens, truncation, and large integers over 8 bytes. `focus` biases positions to the start.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], tokens: &[&[u8]], focus: usize) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let span = if focus > 0 && rng.random_bool(0.7) { focus.min(v.len()) } else { v.len() };
        let pos = if span == 0 { 0 } else { rng.random_range(0..span) };
        let last = pos.min(v.len().saturating_sub(1));
        match rng.random_range(0..7) {
            0 if !v.is_empty() => v[last] ^= 1 << rng.random_range(0..8),
            1 if !v.is_empty() => v[last] = INTERESTING[rng.random_range(0..INTERESTING.len())],
            2 => {
                let end = (pos + rng.random_range(1..=16)).min(v.len());
                v.drain(pos.min(end)..end);
            }
            3 if !v.is_empty() => {
                let start = rng.random_range(0..v.len());
                let end = (start + rng.random_range(1..=64)).min(v.len());
                let chunk = v[start..end].to_vec();
                let at = pos.min(v.len());
                v.splice(at..at, chunk);
            }
            4 if !tokens.is_empty() => {
                let t = tokens[rng.random_range(0..tokens.len())];
                let at = pos.min(v.len());
                v.splice(at..at, t.iter().copied());
            }
            5 => v.truncate(pos),
            _ => {
                let big: u64 = [u64::MAX, 1 << 40, u64::from(u32::MAX), 0x7fff_ffff_ffff_ffff][rng.random_range(0..4)];
                let at = pos.min(v.len().saturating_sub(8));
                for (i, b) in big.to_le_bytes().iter().enumerate() {
                    if let Some(x) = v.get_mut(at + i) {
                        *x = *b;
                    }
                }
            }
        }
    }
    v
}

/// Runs `f` on each input; returns the indices whose call panicked, saving those inputs.
fn survive(target: &str, inputs: impl Iterator<Item = Vec<u8>>, f: impl Fn(&[u8])) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
    let mut crashes = Vec::new();
    for (i, input) in inputs.enumerate() {
        if catch_unwind(AssertUnwindSafe(|| f(&input))).is_err() {
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{target}-{i}.bin"));
            let _ = std::fs::write(&path, &input);
            crashes.push(path.display().to_string());
        }
    }
    crashes
}

/// Suite files from memory: the mutated file under its own name, the bundled partials beside it.
struct Mem {
    main: String,
    text: String,
}

impl Source for Mem {
    fn read(&self, name: &str) -> std::io::Result<String> {
        if name == self.main { Ok(self.text.clone()) } else { bundled::Bundled.read(name) }
    }
}

#[test]
fn suite_files() {
    let tokens: &[&[u8]] = &[
        b"&a ",
        b"*a",
        b"include: [",
        b"matrix: {x: [1, 2, 3]}",
        b"{{ x }}",
        b"{% for %}",
        b"\n  - ",
        b": ",
        b"!!str ",
        b"<<: *a",
        b"99999999999999999999",
        b"-.inf",
        b"id: ",
        b"\t",
        b"\xef\xbb\xbf",
        b"\xc3",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let files: Vec<(&str, &str)> = bundled::FILES.to_vec();
    let n = 2_000 * scale();
    let inputs = (0..n).map(|_| {
        let (_, text) = files[rng.random_range(0..files.len())];
        mutate(&mut rng, text.as_bytes(), tokens, 0)
    });
    let crashes = survive("suite", inputs, |bytes| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let mem = Mem { main: "suites/fuzz.yaml".into(), text };
        if let Err(e) = load_with(&mem, "suites/fuzz.yaml", &Limits::default()) {
            // Every error is located in a file the loader read, or names its file.
            for y in &e.errors {
                let shown = y.to_string();
                assert!(!shown.is_empty());
                if let Some(loc) = &y.loc {
                    assert!(loc.file.starts_with("suites/") && loc.line >= 1, "{shown}");
                }
            }
        }
    });
    assert!(crashes.is_empty(), "suite loader panicked on: {crashes:?}");
}

#[test]
fn statistics_files() {
    use videval_metrics::distribution::{Contract, FeatureStats, Features, stats_file};
    let rows: Vec<Vec<f64>> = (0..9).map(|i| (0..6).map(|j| ((i * 6 + j) as f64).cos()).collect()).collect();
    let c = Contract { extractor: "world-encoder@x".into(), preprocess: "8 frames".into() };
    let good = stats_file::to_bytes(&FeatureStats::from_features(&Features::from_rows(&rows).unwrap(), c).unwrap());
    let tokens: &[&[u8]] = &[b"\"dim\":99999999999", b"\"n\":-1", b"null", b"1e999", b"\"dim\":0"];
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let inputs: Vec<Vec<u8>> = (0..3_000 * scale()).map(|_| mutate(&mut rng, &good, tokens, 200)).collect();
    let crashes = survive("vvstats", inputs.into_iter(), |bytes| {
        let _ = stats_file::from_bytes(bytes, "fuzz.vvstats");
    });
    assert!(crashes.is_empty(), "statistics reader panicked on: {crashes:?}");
}

fn weights_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/weights")
}

#[test]
fn safetensors_weights_and_the_manifest() {
    let good = std::fs::read(weights_dir().join("encoder/world/model.safetensors")).unwrap();
    let header = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.safetensors");
    let tokens: &[&[u8]] =
        &[b"\"dtype\":\"F64\"", b"\"shape\":[4294967296,4294967296]", b"\"data_offsets\":[0,", b"{}"];
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    // The header is where parsing happens; the tensor bytes are data.
    let inputs: Vec<Vec<u8>> = (0..300 * scale()).map(|_| mutate(&mut rng, &good, tokens, header)).collect();
    let crashes = survive("safetensors", inputs.into_iter(), |bytes| {
        std::fs::write(&file, bytes).unwrap();
        let _ = candle_core::safetensors::load(&file, &candle_core::Device::Cpu);
    });
    assert!(crashes.is_empty(), "safetensors loading panicked on: {crashes:?}");

    let manifest = std::fs::read(weights_dir().join("manifest.json")).unwrap();
    let tokens: &[&[u8]] = &[b"\"../../", b"\"/etc/passwd\"", b"null", b"\"bytes\": -1", b"[]"];
    let mpath = dir.path().join("manifest.json");
    let inputs: Vec<Vec<u8>> = (0..1_000 * scale()).map(|_| mutate(&mut rng, &manifest, tokens, 0)).collect();
    let crashes = survive("manifest", inputs.into_iter(), |bytes| {
        std::fs::write(&mpath, bytes).unwrap();
        if let Ok(m) = videval_models::encoders::manifest::Manifest::load(&mpath) {
            for e in &m.entries {
                // Verified against the real weights folder: never outside it.
                let _ = m.verify(&weights_dir(), &e.name);
            }
        }
    });
    assert!(crashes.is_empty(), "manifest reading panicked on: {crashes:?}");
}

#[test]
fn command_adapter_templates() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("model.yaml");
    let seed =
        "adapter: command\nname: fuzz\ntimeout_s: 5\nargv: [gen, '--prompt={prompt}', '{seed}', '{{out}}', '{out}']\n";
    let tokens: &[&[u8]] = &[b"{", b"}", b"{{", b"}}", b"{prompt", b"{out}", b"{nosuch}", b"{seed}{seed}", b"''"];
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let inputs: Vec<Vec<u8>> = (0..1_000 * scale()).map(|_| mutate(&mut rng, seed.as_bytes(), tokens, 0)).collect();
    let crashes = survive("adapter", inputs.into_iter(), |bytes| {
        std::fs::write(&spec, bytes).unwrap();
        let _ = videval::generator::from_arg(spec.to_str().unwrap());
    });
    assert!(crashes.is_empty(), "the command adapter panicked on: {crashes:?}");
}

#[test]
fn video_decoder_on_mutated_files() {
    use videval_metrics::preprocess::FrameSampling;
    let dir = tempfile::tempdir().unwrap();
    let mut originals = Vec::new();
    for (name, codec) in [("a.mp4", "libx264"), ("b.webm", "libvpx-vp9"), ("c.mkv", "mpeg4")] {
        let out = dir.path().join(name);
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=12:duration=1", "-c:v", codec])
            .args(["-pix_fmt", "yuv420p"])
            .arg(&out)
            .status()
            .expect("the ffmpeg CLI (ci/setup.sh installs it)");
        assert!(status.success(), "ffmpeg could not make {name}");
        originals.push((name, std::fs::read(&out).unwrap()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(26);
    let mut crashes = Vec::new();
    for (name, good) in &originals {
        let path = dir.path().join(format!("fuzz-{name}"));
        // Container headers are in the first kilobytes; deeper damage hits packets.
        let inputs: Vec<Vec<u8>> = (0..150 * scale()).map(|_| mutate(&mut rng, good, &[], 2048)).collect();
        crashes.extend(survive(&format!("video-{name}"), inputs.into_iter(), |bytes| {
            std::fs::write(&path, bytes).unwrap();
            let _ = videval::video::probe(&path);
            let _ = videval::video::decode(&path);
            let _ = videval::video::decode_stream(&path, FrameSampling::Uniform(4), |_, _| {});
        }));
    }
    assert!(crashes.is_empty(), "the decoder panicked on: {crashes:?}");
}
