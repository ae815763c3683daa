//! The full probe set and the flow-based consistency metrics on a 16-frame 256×256 world clip,
//! on one core: tracking, camera estimation, every expectation the ground truth supports, and
//! flicker / dynamic degree / smoothness / warping error; and the probe set on the same scene in
//! the photo style after H.264.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use videval::selftest::derive;
use videval_metrics::analysis;
use videval_metrics::probes::{Camera, CameraMotion, Context, Expectation, check};
use videval_metrics::registry::REGISTRY;
use videval_models::world::render::{Settings, render_sim};
use videval_models::world::sample::{Family, sample};
use videval_models::world::sim::Simulation;
use videval_models::world::spec::{Photo, Style};

fn bench(c: &mut Criterion) {
    let (scene, _) = sample(Family::Physics, 3);
    let settings = Settings { width: 256, height: 256, fps: 8.0, frames: 16 };
    let sim = Simulation::run(&scene, settings.aspect(), settings.duration());
    let (video, truth) = render_sim(&scene, &sim, &settings, true);
    let mut expectations: Vec<Expectation> = derive(Family::Physics, &scene, &settings, &sim, &truth.expect("truth"))
        .into_iter()
        .map(|d| d.expectation)
        .collect();
    expectations.push(Expectation::Camera(Camera { motion: CameraMotion::Static, speed: None }));
    let mut group = c.benchmark_group("probes_256x256_16f");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("{}_expectations", expectations.len()), |b| {
        b.iter(|| {
            let ctx = Context::new(&video);
            expectations.iter().map(|e| check(e, &ctx).pass).filter(|&p| p).count()
        })
    });
    group.bench_function("consistency_metrics", |b| {
        b.iter(|| REGISTRY.iter().map(|m| m.measure(&video).unwrap_or(0.0)).sum::<f64>())
    });
    // The windowed metrics together, as the scorer runs them: one window, flow shared.
    group.bench_function("windowed_metrics_one_pass", |b| {
        b.iter(|| analysis::run(&video, REGISTRY.iter().filter_map(|m| m.stream()).collect()))
    });
    group.finish();
    // The same scene in the photo style (shaded, textured setting, blur, shake, noise) after an
    // H.264 round trip at CRF 24, as a photoreal generator's clip arrives.
    let mut photo = scene.clone();
    photo.style = Style::Photo;
    photo.photo = Some(Photo { seed: 3, ..Photo::default() });
    let (rendered, _) = render_sim(&photo, &sim, &settings, false);
    let file = tempfile::Builder::new().suffix(".mp4").tempfile().expect("a temporary file");
    let params = videval::video::EncodeParams { crf: Some(24), ..videval::video::EncodeParams::h264() };
    videval::video::encode(&rendered, file.path(), &params).expect("H.264 encode");
    let decoded = videval::video::decode(file.path()).expect("decode");
    let mut group = c.benchmark_group("probes_photo_256x256_16f");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("{}_expectations", expectations.len()), |b| {
        b.iter(|| {
            let ctx = Context::new(&decoded);
            expectations.iter().map(|e| check(e, &ctx).pass).filter(|&p| p).count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
