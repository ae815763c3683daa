//! Rendering speed of the world: a 16-frame clip at 64×64 and at 256×256, single-threaded
//! (the renderer uses one core; data loaders run one clip per core).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use videval_models::world::render::{Settings, render};
use videval_models::world::sample::{Family, sample};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("world_render_16_frames");
    for size in [64u32, 256] {
        for family in [Family::Physics, Family::Camera, Family::Coherence] {
            let (scene, _) = sample(family, 3);
            let settings = Settings { width: size, height: size, fps: 8.0, frames: 16 };
            group.throughput(Throughput::Elements(16));
            group.bench_function(format!("{}_{size}x{size}", family.name()), |b| {
                b.iter(|| render(&scene, &settings, false))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
