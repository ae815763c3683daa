//! The scorer's one-pass streaming path holds a bounded amount of memory: the peak of scoring a
//! clip does not grow with the clip's length. Measured by a counting allocator (every heap byte
//! this process holds), not by timing; this binary has one test so nothing else allocates
//! beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use videval::scoring::{Need, score_video};
use videval_metrics::registry;
use videval_tests::counting::{self, Counting};

#[global_allocator]
static ALLOC: Counting = Counting;

fn clip(dir: &Path, name: &str, secs: u32) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size=320x240:rate=24:duration={secs}"))
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
