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
use videval_metrics::distribution::{Contract, FeatureStats, Features, frechet_distance};

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn uniform(seed: u64, k: u64) -> f64 {
    let mut z = seed.wrapping_add((k + 1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * 2f64.powi(-53) * 2.0 - 1.0
}

fn features(seed: u64, n: usize, d: usize, scale: f64, shift: f64) -> Features {
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let u = |j: usize| uniform(seed, (i * d + j) as u64);
            (0..d)
                .map(|j| {
                    let s = 0.5 + ((j * 7) % 13) as f64 / 13.0 * scale;
                    s * u(j) + 0.5 * u((j + 1) % d) + shift * (0.1 * j as f64).sin()
                })
                .collect()
        })
        .collect();
    Features::from_rows(&rows).unwrap_or_else(|e| panic!("{e}"))
}

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
