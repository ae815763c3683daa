//! Statistics of paired comparisons (same cases, same seeds, two models): sign-flip
//! permutation tests on cluster means, exact McNemar for pass/fail, Holm's step-down adjustment,
//! and the minimum detectable effect.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two-sided sign-flip permutation p-value of the mean of `cluster_means` being zero: under the
/// null each cluster's mean difference is symmetric about 0, so its sign is a coin flip.
/// `(1 + #{|perm mean| ≥ |observed|}) / (1 + n_perm)`, never 0.
pub fn sign_flip_p(cluster_means: &[f64], n_perm: usize, seed: u64) -> f64 {
    if cluster_means.is_empty() {
        return 1.0;
    }
    let n = cluster_means.len() as f64;
    let observed = (cluster_means.iter().sum::<f64>() / n).abs();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut extreme = 0usize;
    for _ in 0..n_perm {
        let s: f64 = cluster_means.iter().map(|&d| if rng.random_bool(0.5) { d } else { -d }).sum();
        // A small tolerance keeps ties (e.g. all zeros) counted as extreme.
        if (s / n).abs() >= observed - 1e-12 {
            extreme += 1;
        }
    }
    (1 + extreme) as f64 / (1 + n_perm) as f64
}

/// Exact two-sided McNemar test: `b` pairs passed only by the baseline, `c` only by the
/// candidate. p = min(1, 2 · P(X ≤ min(b, c))) for X ~ Binomial(b + c, ½).
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    // Sum binomial probabilities in log space to stay exact enough for large n.
    let ln_choose = |n: u64, k: u64| -> f64 { (1..=k).map(|i| ((n - k + i) as f64).ln() - (i as f64).ln()).sum() };
    let tail: f64 = (0..=k).map(|i| (ln_choose(n, i) - n as f64 * std::f64::consts::LN_2).exp()).sum();
    (2.0 * tail).min(1.0)
}

/// Holm's step-down adjusted p-values (family-wise error), in the input order.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * ps[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -39.696_830_286_653_76,
        220.946_098_424_520_5,
        -275.928_510_446_968_7,
        138.357_751_867_269,
        -30.664_798_066_147_16,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -54.476_098_798_224_06,
        161.585_836_858_040_9,
        -155.698_979_859_886_6,
        66.801_311_887_719_72,
        -13.280_681_552_885_72,
    ];
    const C: [f64; 6] = [
        -0.007_784_894_002_430_293,
        -0.322_396_458_041_136_4,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [0.007_784_695_709_041_462, 0.322_467_129_070_039_8, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Minimum detectable effect of a paired comparison at level `alpha` (two-sided) with 80%
/// power: (z₁₋α/₂ + z₀.₈) · sd(cluster mean differences) / √n.
pub fn mde(cluster_means: &[f64], alpha: f64) -> f64 {
    let n = cluster_means.len();
    if n < 2 {
        return f64::INFINITY;
    }
    let m = cluster_means.iter().sum::<f64>() / n as f64;
    let sd = (cluster_means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    (normal_quantile(1.0 - alpha / 2.0) + normal_quantile(0.8)) * sd / (n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_matches_hand_computed_binomials() {
        // b = 0, c = 5: 2 · 0.5⁵ = 0.0625.
        assert!((mcnemar_exact(0, 5) - 0.0625).abs() < 1e-12);
        // b = 1, c = 9: 2 · (1 + 10) / 1024 = 0.021484375.
        assert!((mcnemar_exact(1, 9) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact(4, 4), 1.0);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
    }

    #[test]
    fn holm_adjusts_step_down_and_stays_monotone() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max-accumulated 0.06.
        assert_eq!(adj, vec![0.03, 0.06, 0.06, 0.02]);
    }

    #[test]
    fn sign_flip_is_calibrated_and_detects_shifts() {
        let null: Vec<f64> = (0..30).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        assert!(sign_flip_p(&null, 4000, 1) > 0.5);
        let shifted: Vec<f64> = (0..30).map(|i| 0.5 + 0.1 * ((i % 5) as f64 - 2.0)).collect();
        assert!(sign_flip_p(&shifted, 4000, 1) < 0.001);
        assert_eq!(sign_flip_p(&[0.0, 0.0, 0.0], 100, 1), 1.0);
    }

    #[test]
    fn normal_quantiles_and_mde() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.8) - 0.841_621_234).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-8);
        // sd 1 over 100 clusters: (1.96 + 0.8416) / 10.
        let xs: Vec<f64> = (0..100).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let sd = (100.0f64 / 99.0).sqrt();
        assert!((mde(&xs, 0.05) - 2.801_585_219 * sd / 10.0).abs() < 1e-6);
    }
}
