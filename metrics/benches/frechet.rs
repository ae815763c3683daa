//! The Fréchet distance from two feature sets' statistics (μ, Σ already computed), at FVD's 400-d
//! (I3D logits) and 2048-d, and the statistics themselves. The features are the formula-generated
//! ones of tests/golden/frechet_golden.py, so `python3 metrics/benches/frechet_scipy.py` times
//! scipy on exactly the same numbers:
//!
//! ```sh
//! cargo bench -p videval-metrics --bench frechet
//! python3 metrics/benches/frechet_scipy.py
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use videval_metrics::distribution::{Contract, FeatureStats, frechet_distance};

#[path = "../tests/support/formula.rs"]
mod formula;
use formula::features;

fn bench(c: &mut Criterion) {
    let contract = Contract { extractor: "formula".into(), preprocess: "none".into() };
    let mut g = c.benchmark_group("frechet");
    g.sample_size(10);
    for (d, na, nb) in [(400usize, 600usize, 500usize), (2048, 2500, 2200)] {
        let fa = features(1, na, d, 1.0, 0.0);
        let fb = features(2, nb, d, 1.5, 0.3);
        let a = FeatureStats::from_features(&fa, contract.clone()).unwrap_or_else(|e| panic!("{e}"));
        let b = FeatureStats::from_features(&fb, contract.clone()).unwrap_or_else(|e| panic!("{e}"));
        g.bench_function(format!("distance from statistics, {d}-d"), |bch| {
            bch.iter(|| frechet_distance(std::hint::black_box(&a), std::hint::black_box(&b)))
        });
        g.bench_function(format!("statistics of {na}x{d} features"), |bch| {
            bch.iter(|| FeatureStats::from_features(std::hint::black_box(&fa), contract.clone()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
