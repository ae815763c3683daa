//! The formula-generated feature sets of tests/golden/frechet_golden.py (a counter-based
//! splitmix64 stream), shared by the reference test and the benchmark so both use exactly the
//! numbers the Python side sees.

use videval_metrics::distribution::Features;
use videval_metrics::formula::uniform;

/// `x[i, j] = s_j·u[i·d + j] + 0.5·u[i·d + (j + 1) mod d] + shift·sin(0.1·j)`.
pub fn features(seed: u64, n: usize, d: usize, scale: f64, shift: f64) -> Features {
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
