//! The one resize every decoded frame goes through, at the sizes a 1080p clip meets: RGB8 to
//! 224² (area, the `uniform:16` protocol), luma to a 512-pixel short side (the flow metrics'
//! analysis size), a mapped frame (the background painter's) to 224², and CLIP's short-side
//! 224 centre crop (which resizes only the window it keeps).

use criterion::{Criterion, criterion_group, criterion_main};
use videval_metrics::preprocess::{
    Filter, FrameSampling, Normalise, Preprocess, Spatial, apply_frame_mapped, resize_luma,
};

fn frame(w: usize, h: usize) -> Vec<u8> {
    (0..w * h * 3).map(|i| ((i * 2_654_435_761) >> 13) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let (w, h) = (1920u32, 1080u32);
    let rgb = frame(w as usize, h as usize);
    let stretch = Spatial::Stretch { width: 224, height: 224 };
    let mut g = c.benchmark_group("resize 1920x1080");
    g.bench_function("rgb8 to 224x224, area", |b| {
        b.iter(|| {
            videval_metrics::preprocess::transform_frame(std::hint::black_box(&rgb), w, h, stretch, Filter::Area, true)
        })
    });
    g.bench_function("luma to 910x512, area", |b| {
        b.iter(|| resize_luma(std::hint::black_box(&rgb), w, h, 910, 512, Filter::Area, true))
    });
    let p = Preprocess {
        frames: FrameSampling::All,
        spatial: stretch,
        filter: Filter::Bilinear,
        antialias: true,
        normalise: Normalise::Unit,
    };
    g.bench_function("mapped rgb8 to 224x224, bilinear", |b| {
        b.iter(|| apply_frame_mapped(std::hint::black_box(&rgb), w, h, &p, |[r, g, b]| [g, b, r]))
    });
    g.bench_function("rgb8 to CLIP's 224 centre crop, bicubic", |b| {
        b.iter(|| videval_metrics::preprocess::apply_frame(std::hint::black_box(&rgb), w, h, &Preprocess::CLIP))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
