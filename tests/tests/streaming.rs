//! The scorer's one-pass streaming path, and `videval fvd` / `clipscore`, hold a bounded amount
//! of memory: the peak of scoring a clip does not grow with the clip's length. Measured by a
//! counting allocator (every heap byte this process holds), not by timing; the tests take one
//! lock so nothing else allocates beside the one measuring.

use std::path::{Path, PathBuf};
use std::process::Command;

use videval::scoring::{Need, score_video};
use videval_metrics::registry;
use videval_tests::counting::{self, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Held by each test for its whole run: one measurement at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// faer's matrix products (the Fréchet distance's) reserve a scratch buffer per thread on their
/// first use there: 960 MiB of address space, untouched until needed, so not resident. Whichever
/// thread first ran one during a measurement counted it as that call's heap ("fvd: peak grew
/// with length: 4.9 MB for 3 s, 1.0 GB for 12 s" in a few runs): every thread reserves its own
/// before anything is measured.
fn reserve_matrix_scratch_on_every_thread() {
    let d = 128;
    let identity: Vec<f64> = (0..d * d).map(|k| if k % (d + 1) == 0 { 1.0 } else { 0.0 }).collect();
    let product = || videval_metrics::distribution::frechet::trace_sqrt_product(d, &identity, &identity).unwrap();
    rayon::broadcast(|_| product());
    assert!((product() - d as f64).abs() < 1e-9);
}

fn clip(dir: &Path, name: &str, secs: u32) -> PathBuf {
    clip_of_size(dir, name, secs, "320x240")
}

fn clip_of_size(dir: &Path, name: &str, secs: u32, size: &str) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate=24:duration={secs}"))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23"])
        .arg(&out)
        .status()
        .expect("the ffmpeg CLI (ci/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed making {name}");
    out
}

/// Peak heap bytes above what was held before, while scoring `path`.
fn peak_while_scoring(path: &Path, needs: &[Need<'_>]) -> usize {
    let (out, peak) = counting::peak_during(|| score_video(path, needs).expect("the clip decodes"));
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    peak
}

#[test]
fn peak_memory_of_the_streaming_scorer_does_not_grow_with_clip_length() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    // 3 s is past one full chunk of the feature extractor (64 frames), so both peaks include it.
    let (short, long) = (clip(dir.path(), "short.mp4", 3), clip(dir.path(), "long.mp4", 12));
    let needs: Vec<Need<'_>> = [
        "frame_count",
        "temporal_flicker",
        "dynamic_degree",
        "motion_smoothness",
        "warping_error",
        "world_subject_consistency",
        "world_background_consistency",
    ]
    .iter()
    .map(|n| Need::Metric(registry::lookup(n).unwrap()))
    .collect();
    // The first call loads the world encoder (held for the process): not part of either peak.
    peak_while_scoring(&short, &needs);
    let a = peak_while_scoring(&short, &needs);
    let b = peak_while_scoring(&long, &needs);
    eprintln!("peak heap while scoring: 3 s {a} B, 12 s {b} B");
    // Four times the length: within 10% (and 1 MB of allocator noise).
    assert!(b as f64 <= a as f64 * 1.10 + 1e6, "peak grew with length: {a} B for 3 s, {b} B for 12 s");
    // The 12 s clip's frames alone (288 × 320×240 RGB, 66 MB) are more than the whole peak.
    assert!(b < 288 * 320 * 240 * 3, "peak {b} B");
}

/// `videval fvd` and `videval clipscore` decode each video straight to the network's input (8
/// frames of 32×32 for the world encoder): a folder of 12 s clips takes no more memory than one
/// of 3 s clips, and less than one such clip decoded whole (they used to hold every video of both
/// folders, decoded at full size).
#[test]
fn fvd_and_clipscore_do_not_hold_decoded_videos() {
    use videval::distribution::{Extractor, FvdArgs, TextExtractor, clipscore_command, fvd_command};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    reserve_matrix_scratch_on_every_thread();
    let dir = tempfile::tempdir().unwrap();
    let folder = |name: &str, secs: u32| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        for k in 0..2 {
            clip_of_size(&d, &format!("v{k}.mp4"), secs, "640x360");
        }
        std::fs::write(d.join("prompts.tsv"), "v0.mp4\ta red ball falls\nv1.mp4\ta blue cube slides\n").unwrap();
        d
    };
    let (short, long) = (folder("short", 3), folder("long", 12));
    let fvd = |d: &Path| {
        let args = FvdArgs {
            a: d,
            b: d,
            extractor: Extractor::World,
            weights: None,
            save_stats: None,
            jackknife_groups: 0,
            seed: 0,
            json: true,
        };
        let (out, peak) = counting::peak_during(|| fvd_command(&args));
        out.expect("fvd runs");
        peak
    };
    let clipscore = |d: &Path| {
        let (out, peak) =
            counting::peak_during(|| clipscore_command(d, &d.join("prompts.tsv"), TextExtractor::World, None, true));
        out.expect("clipscore runs");
        peak
    };
    fvd(&short);
    let one_clip = 288 * 640 * 360 * 3;
    for (name, measure) in [("fvd", &fvd as &dyn Fn(&Path) -> usize), ("clipscore", &clipscore)] {
        let (a, b) = (measure(&short), measure(&long));
        eprintln!("{name}: peak heap 3 s clips {a} B, 12 s clips {b} B");
        assert!(b as f64 <= a as f64 * 1.10 + 1e6, "{name}: peak grew with length: {a} B for 3 s, {b} B for 12 s");
        assert!(b < one_clip, "{name}: peak {b} B, more than one 12 s clip decoded whole ({one_clip} B)");
    }
}

/// A centre crop of an extreme strip makes only the window it keeps: a 16384×2 frame through
/// CLIP's short-side-224 crop (and I3D's) resized its whole 1.8-million-column stretch first, 5 GB.
#[test]
fn a_centre_crop_of_a_thin_strip_holds_only_its_window() {
    use videval_metrics::preprocess::{Preprocess, Spatial, apply_frame};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let torch = Preprocess { spatial: Spatial::TorchShortSide { short: 224, crop: 224 }, ..Preprocess::CLIP };
    for (w, h) in [(16384u32, 2u32), (2, 16384)] {
        let strip = vec![90u8; (w * h * 3) as usize];
        for p in [&Preprocess::CLIP, &torch] {
            let (out, peak) = counting::peak_during(|| apply_frame(&strip, w, h, p));
            assert_eq!(out.len(), 224 * 224 * 3);
            // The window (224×224), its source rows' horizontal pass and the taps: a few MB.
            assert!(peak < 32 << 20, "{w}×{h} {:?}: peak {peak} B", p.spatial);
        }
    }
}
