//! Statistics of paired comparisons (same cases, same seeds, two models): sign-flip
//! permutation tests on cluster means, exact McNemar for pass/fail, Holm's step-down adjustment,
//! and the minimum detectable effect.

use super::MIN_CLUSTERS;
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

/// How a gated metric is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Fail when the candidate is significantly worse by more than the margin.
    Regression,
    /// Pass only when the candidate is shown to be no worse than the margin (CI lower end > −margin).
    NonInferiority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    Regressed,
    Improved,
    WithinMargin,
    NoChange,
    /// Not significant, and the minimum detectable effect exceeds the margin: the data could not
    /// have shown a regression of the margin's size.
    Underpowered,
}

/// The statistics of one metric's paired differences.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedResult {
    /// Mean oriented difference (positive = candidate better) and its 95% CI from a bootstrap
    /// over cases (a case's seeds stay together); no CI from fewer than [`MIN_CLUSTERS`] cases
    /// or when every case's difference is the same (`ci_note` says which).
    pub delta: f64,
    pub ci: Option<[f64; 2]>,
    pub ci_note: Option<String>,
    /// `mcnemar_exact` or `sign_flip_permutation`.
    pub test: &'static str,
    pub p: f64,
    pub mde: f64,
    pub cases: usize,
}

/// `groups`: per case, the oriented differences of its seeds. `flips`: when every value is
/// pass/fail, the counts (passed by the baseline only, by the candidate only); McNemar applies
/// only with one sample per case (it assumes independent pairs), else the sign-flip test on case
/// means. `seed` fixes the bootstrap and the permutations.
pub fn paired_statistics(
    groups: &[Vec<f64>],
    flips: Option<(u64, u64)>,
    alpha: f64,
    n_boot: usize,
    n_perm: usize,
    seed: u64,
) -> PairedResult {
    let groups: Vec<Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).cloned().collect();
    let means: Vec<f64> = groups.iter().map(|g| g.iter().sum::<f64>() / g.len() as f64).collect();
    let est = super::cluster_bootstrap_mean(&groups, n_boot, 0.95, seed);
    let (delta, ci, ci_note) =
        est.map_or((0.0, None, Some("n/a (no pairs)".into())), |e| (e.point_estimate, e.interval, e.note));
    let (test, p) = match flips {
        Some((b, c)) if groups.iter().all(|g| g.len() == 1) => ("mcnemar_exact", mcnemar_exact(b, c)),
        _ => ("sign_flip_permutation", sign_flip_p(&means, n_perm, seed ^ 0x5167_f11b)),
    };
    PairedResult { delta, ci, ci_note, test, p, mde: mde(&means, alpha), cases: groups.len() }
}

/// The gate's rule for one metric, given its (Holm-adjusted) p-value: `Regressed` only when
/// significant and the whole CI lies below −margin (non-inferiority: whenever the CI's lower end
/// is not above −margin); `Underpowered` when not significant and the MDE exceeds a non-zero margin.
///
/// Fewer than [`MIN_CLUSTERS`] cases decide nothing: `Underpowered`, whatever the margin. When
/// every case moved by the same amount there is no spread, and the CI is that amount.
pub fn gate_verdict(mode: GateMode, r: &PairedResult, p_adj: f64, margin: f64, alpha: f64) -> GateVerdict {
    // A NaN anywhere decides nothing (every comparison with it is false, which fell through to
    // a pass).
    if r.cases < MIN_CLUSTERS
        || r.delta.is_nan()
        || p_adj.is_nan()
        || r.ci.is_some_and(|c| c[0].is_nan() || c[1].is_nan())
    {
        return GateVerdict::Underpowered;
    }
    let significant = p_adj < alpha;
    let ci = r.ci.unwrap_or([r.delta, r.delta]);
    match mode {
        GateMode::NonInferiority if ci[0] <= -margin => GateVerdict::Regressed,
        GateMode::NonInferiority if significant && ci[0] > margin => GateVerdict::Improved,
        GateMode::NonInferiority => GateVerdict::NoChange,
        GateMode::Regression if significant && ci[1] < -margin => GateVerdict::Regressed,
        GateMode::Regression if significant && ci[0] > margin => GateVerdict::Improved,
        GateMode::Regression if significant => GateVerdict::WithinMargin,
        GateMode::Regression if margin > 0.0 && r.mde > margin => GateVerdict::Underpowered,
        GateMode::Regression => GateVerdict::NoChange,
    }
}

/// Cases needed for the MDE to reach `margin` (the MDE shrinks as 1/√n), when it does not yet.
/// With fewer than [`MIN_CLUSTERS`] cases, at least that many.
pub fn cases_needed(r: &PairedResult, margin: f64) -> Option<usize> {
    let scaled = (margin > 0.0 && r.mde.is_finite() && r.mde > margin)
        .then(|| (r.cases as f64 * (r.mde / margin).powi(2)).ceil() as usize);
    if r.cases < MIN_CLUSTERS { Some(scaled.unwrap_or(0).max(MIN_CLUSTERS)) } else { scaled }
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

#[cfg(test)]
mod simulations {
    //! The gate on synthetic paired data with known effects: each simulated comparison draws
    //! per-case differences (3 seeds per case sharing a case effect), runs the gate's statistics
    //! with its own seed, and applies the rule.
    use super::*;
    use crate::distribution::interval::simulation::normal;

    /// `cases` cases of 3 seeds: difference = effect + case noise (sd `case_sd`) + seed noise (sd `seed_sd`).
    fn draw(rng: &mut ChaCha8Rng, cases: usize, effect: f64, case_sd: f64, seed_sd: f64) -> Vec<Vec<f64>> {
        (0..cases)
            .map(|_| {
                let c = effect + case_sd * normal(rng);
                (0..3).map(|_| c + seed_sd * normal(rng)).collect()
            })
            .collect()
    }

    #[test]
    fn false_positive_rate_at_alpha_005_is_calibrated() {
        // 1,000 null comparisons of 40 cases: the two-sided test rejects in [3%, 7%] of them, and
        // the one-sided "regressed" verdict (margin 0) about half as often.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut rejected, mut regressed) = (0, 0);
        let sims = 1000;
        for i in 0..sims {
            let g = draw(&mut rng, 40, 0.0, 0.1, 0.05);
            let r = paired_statistics(&g, None, 0.05, 1000, 1000, i);
            rejected += usize::from(r.p < 0.05);
            regressed += usize::from(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05) == GateVerdict::Regressed);
        }
        let fpr = rejected as f64 / sims as f64;
        eprintln!("null: rejected {fpr:.3}, regressed {:.3}", regressed as f64 / sims as f64);
        assert!((0.03..=0.07).contains(&fpr), "false-positive rate {fpr}");
        assert!(regressed as f64 / (sims as f64) < 0.045, "regressed {regressed}");
    }

    #[test]
    fn a_regression_of_twice_the_margin_is_caught_with_power_above_080() {
        // Margin 0.05, planted effect −0.10, case sd 0.15 (seed sd 0.05) at the stated N = 100
        // cases: regressed needs p < α and the CI's upper end below −0.05; the normal
        // approximation gives power Φ((0.10 − 0.05)/0.0153 − 1.96) ≈ 0.91 (measured: 0.88 of 300).
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let sims = 300;
        let caught = (0..sims)
            .filter(|&i| {
                let g = draw(&mut rng, 100, -0.10, 0.15, 0.05);
                let r = paired_statistics(&g, None, 0.05, 2000, 1000, i);
                gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05) == GateVerdict::Regressed
            })
            .count();
        let power = caught as f64 / sims as f64;
        eprintln!("power at 2x margin, N = 100: {power:.3}");
        assert!(power >= 0.8, "power {power}");
        // The same effect inside the margin is never called a regression.
        let g = draw(&mut rng, 100, -0.02, 0.15, 0.05);
        let r = paired_statistics(&g, None, 0.05, 2000, 1000, 1);
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05), GateVerdict::Regressed);
    }

    #[test]
    fn too_few_cases_is_underpowered_with_the_count_needed() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let g = draw(&mut rng, 8, 0.0, 0.15, 0.05);
        let r = paired_statistics(&g, None, 0.05, 1000, 1000, 3);
        assert!(r.p >= 0.05);
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05), GateVerdict::Underpowered);
        let need = cases_needed(&r, 0.05).unwrap();
        // The MDE at the suggested count (same spread) is at the margin.
        assert!(need > 8 && (r.mde * (8.0 / need as f64).sqrt() - 0.05).abs() < 0.005, "{need} {}", r.mde);
    }

    /// A NaN (from differences that overflowed) decides nothing: it read as "no change".
    #[test]
    fn a_nan_anywhere_is_underpowered_never_a_pass() {
        let r = PairedResult {
            delta: f64::NAN,
            ci: Some([f64::NAN, f64::NAN]),
            ci_note: None,
            test: "sign_flip_permutation",
            p: 1e-4,
            mde: 0.01,
            cases: 40,
        };
        for mode in [GateMode::Regression, GateMode::NonInferiority] {
            assert_eq!(gate_verdict(mode, &r, r.p, 0.05, 0.05), GateVerdict::Underpowered);
            let p_nan = PairedResult { delta: -1.0, ci: Some([-2.0, -0.5]), ..r.clone() };
            assert_eq!(gate_verdict(mode, &p_nan, f64::NAN, 0.05, 0.05), GateVerdict::Underpowered);
        }
    }

    #[test]
    fn mcnemar_is_used_for_single_sample_pass_fail_cases() {
        // 12 cases, one sample each: 10 passed only by the baseline, 1 only by the candidate.
        let mut g = vec![vec![-1.0]; 10];
        g.push(vec![1.0]);
        g.push(vec![0.0]);
        let r = paired_statistics(&g, Some((10, 1)), 0.05, 1000, 1000, 1);
        assert_eq!(r.test, "mcnemar_exact");
        // 2 · P(X ≤ 1), X ~ Bin(11, ½) = 2 · 12 / 2048.
        assert!((r.p - 24.0 / 2048.0).abs() < 1e-12);
        // With several seeds per case the pairs are not independent: the sign-flip test is used.
        let r = paired_statistics(&[vec![-1.0, -1.0], vec![0.0, -1.0]], Some((3, 0)), 0.05, 100, 100, 1);
        assert_eq!(r.test, "sign_flip_permutation");
    }
}
