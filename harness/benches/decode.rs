//! Decode + uniform-16 sampling + stretch-to-224 (the FVD protocol) on a 1080p H.264 clip:
//! the path every distribution metric takes. Throughput is reported in output frames; each
//! iteration decodes the whole 3-second, 30 fps clip (90 source frames) to pick 16.

use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use videval::video::decode_with;
use videval_metrics::preprocess::{FrameSampling, Preprocess, apply};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let clip = dir.path().join("1080p.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=3"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast"])
        .arg(&clip)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "the ffmpeg CLI is needed to make the benchmark clip (ci/setup.sh installs it)");
    let protocol = Preprocess { frames: FrameSampling::All, ..Preprocess::FVD };
    let mut group = c.benchmark_group("fvd_input_1080p");
    group.sample_size(10);
    group.throughput(Throughput::Elements(16));
    group.bench_function("decode+uniform16+stretch224", |b| {
        b.iter(|| {
            let d = decode_with(&clip, FrameSampling::Uniform(16)).expect("decoding the clip");
            apply(&d.video, &protocol)
        })
    });
    group.bench_function("decode_only_uniform16", |b| {
        b.iter(|| decode_with(&clip, FrameSampling::Uniform(16)).expect("decoding"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
