//! Times videval's Fréchet routes on the formula features of `tests/golden/frechet_golden.py`
//! (the same numbers scipy and numpy get in `ci/bench/side_by_side.py`), and prints one JSON
//! object: medians in milliseconds and the values, so the script can check agreement and print
//! ratios measured in the same run.
//!
//! ```sh
//! cargo run --release -p videval-metrics --example frechet_timing
//! cargo run --release -p videval-metrics --example frechet_timing -- stats   # statistics only
//! ```
//!
//! With `stats`, only the statistics of 10,000 × 2048 features are timed (the median of 3 after a
//! warm-up), so that the script can alternate them with `np.cov` pair by pair.

use std::time::Instant;

use videval_metrics::distribution::frechet::{frechet_distance_features, trace_sqrt_product_eigen};
use videval_metrics::distribution::{Contract, FeatureStats, frechet_distance};

#[path = "../tests/support/formula.rs"]
mod formula;

/// Median wall time of `reps` runs after one warm-up, in ms.
fn median_ms<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    std::hint::black_box(f());
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

fn main() {
    let contract = Contract { extractor: "formula".into(), preprocess: "none".into() };
    let stats = |f| FeatureStats::from_features(f, contract.clone()).unwrap_or_else(|e| panic!("{e}"));
    let d = 2048;
    if std::env::args().nth(1).as_deref() == Some("stats") {
        let big = formula::features(3, 10_000, d, 1.0, 0.0);
        println!("{}", serde_json::json!({"stats_10000x2048_ms": median_ms(3, || stats(&big))}));
        return;
    }
    let (fa, fb) = (formula::features(1, 2500, d, 1.0, 0.0), formula::features(2, 2200, d, 1.5, 0.3));
    let (a, b) = (stats(&fa), stats(&fb));
    let value = frechet_distance(&a, &b).unwrap_or_else(|e| panic!("{e}"));
    let fd_ms = median_ms(5, || frechet_distance(&a, &b));
    let trace = |c: &[f64]| (0..d).map(|i| c[i * d + i]).sum::<f64>();
    let mean_term: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y) * (x - y)).sum();
    let eigen_value = mean_term + trace(&a.cov) + trace(&b.cov)
        - 2.0 * trace_sqrt_product_eigen(d, &a.cov, &b.cov).unwrap_or_else(|e| panic!("{e}"));
    let eigen_ms = median_ms(3, || trace_sqrt_product_eigen(d, &a.cov, &b.cov));
    let big = formula::features(3, 10_000, d, 1.0, 0.0);
    let stats_ms = median_ms(3, || stats(&big));
    let (sa, sb) = (formula::features(1, 300, d, 1.0, 0.0), formula::features(2, 300, d, 1.5, 0.3));
    let nxn_value = frechet_distance_features(&sa, &sb).unwrap_or_else(|e| panic!("{e}"));
    let nxn_ms = median_ms(5, || frechet_distance_features(&sa, &sb));
    println!(
        "{}",
        serde_json::json!({
            "d": d,
            "fd_2048": {"n_a": 2500, "n_b": 2200, "ms": fd_ms, "value": value,
                        "eigen_route_ms": eigen_ms, "eigen_route_value": eigen_value},
            "stats_10000x2048_ms": stats_ms,
            "fd_features_300": {"n": 300, "ms": nxn_ms, "value": nxn_value},
        })
    );
}
