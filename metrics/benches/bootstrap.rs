//! How long the clustered bootstrap takes at the sizes a suite produces (analyze runs it once
//! per suite × metric).

use criterion::{Criterion, criterion_group, criterion_main};
use videval_metrics::stats::cluster_bootstrap_mean;

fn bench(c: &mut Criterion) {
    let data: Vec<Vec<f64>> = (0..200).map(|i| (0..4).map(|s| ((i * 31 + s * 7) % 97) as f64).collect()).collect();
    c.bench_function("cluster_bootstrap 200x4, B=2000", |b| {
        b.iter(|| cluster_bootstrap_mean(std::hint::black_box(&data), 2000, 0.95, 1))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
