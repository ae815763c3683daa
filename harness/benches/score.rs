//! Scoring one H.264 clip end to end — one streamed decode, then frame count, temporal flicker
//! and the three flow metrics sharing one analysis window — at the sizes users render:
//! 256²×16, 480p×49, 720p×121 and 1080p×240 (ffmpeg `testsrc2`, 24 fps, CRF 23, made at start).
//! Feature metrics are left out: they add the world encoder's forward passes, measured by the
//! models crate's benches.
//!
//! ```sh
//! cargo bench -p videval --bench score
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use videval::scoring::{Need, score_video};
use videval_metrics::registry;

const METRICS: [&str; 5] = ["frame_count", "temporal_flicker", "dynamic_degree", "motion_smoothness", "warping_error"];

fn clip(dir: &Path, w: u32, h: u32, frames: u32) -> PathBuf {
    let out = dir.join(format!("{w}x{h}x{frames}.mp4"));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={w}x{h}:rate=24"))
        .args(["-frames:v", &frames.to_string(), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23"])
        .arg(&out)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "the ffmpeg CLI is needed (ci/setup.sh installs it)");
    out
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let needs: Vec<Need<'_>> = METRICS
        .iter()
        .map(|n| Need::Metric(registry::lookup(n).unwrap_or_else(|| panic!("{n} is registered"))))
        .collect();
    let mut group = c.benchmark_group("score_one_pass");
    group.sample_size(10);
    for (w, h, frames) in [(256, 256, 16), (854, 480, 49), (1280, 720, 121), (1920, 1080, 240)] {
        let path = clip(dir.path(), w, h, frames);
        group.throughput(Throughput::Elements(u64::from(frames)));
        group.bench_function(format!("{w}x{h}x{frames}"), |b| {
            b.iter(|| score_video(&path, &needs).unwrap_or_else(|e| panic!("{e}")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
