//! Statistics of paired comparisons (same cases, same seeds, two models): sign-flip
//! permutation tests on cluster means, exact McNemar for pass/fail, Holm's step-down adjustment,
//! and the minimum detectable effect.

use super::MIN_CLUSTERS;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two-sided sign-flip permutation p-value of the pooled mean difference `Σ S_c / Σ n_c` being
/// zero, `S_c` being case c's sum of differences: under the null each case's sum is symmetric
/// about 0, so its sign is a coin flip, and a case's seeds flip together. The statistic is the
/// estimate the gate reports (the pooled mean over pairs, as a run's results weigh samples), so
/// the test and the interval speak of one number; with the same number of seeds in every case it
/// is the mean of the case means. `(1 + #{|flipped| ≥ |observed|}) / (1 + n_perm)`, never 0. Sums
/// within 1e-12 of the observed one, relative to the cases' scale, count as ties (extreme): an
/// absolute tolerance called every difference below 1e-12 a tie.
pub fn sign_flip_p(case_sums: &[f64], n_perm: usize, seed: u64) -> f64 {
    if case_sums.is_empty() {
        return 1.0;
    }
    let observed = case_sums.iter().sum::<f64>().abs();
    let tolerance = 1e-12 * case_sums.iter().map(|s| s.abs()).sum::<f64>();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut extreme = 0usize;
    for _ in 0..n_perm {
        let s: f64 = case_sums.iter().map(|&d| if rng.random_bool(0.5) { d } else { -d }).sum();
        if s.abs() >= observed - tolerance {
            extreme += 1;
        }
    }
    (1 + extreme) as f64 / (1 + n_perm) as f64
}

/// The smallest two-sided p-value `cases` cases allow: both tests are sign tests at heart, and the
/// most extreme of 2^n equally likely sign patterns (and its mirror) has p = 2 / 2^n. A Monte
/// Carlo p is never below `1 / (1 + n_perm)` either.
pub fn p_floor(cases: usize, n_perm: Option<usize>) -> f64 {
    let exact = 0.5f64.powi(cases.saturating_sub(1).min(4096) as i32);
    n_perm.map_or(exact, |n| exact.max(1.0 / (1 + n) as f64))
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

/// How a gated metric is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Fail when the candidate is significantly worse by more than the margin.
    Regression,
    /// Pass only when the candidate is shown to be no worse than the margin (CI lower end > −margin).
    NonInferiority,
}

/// Why a row cannot be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Fewer than [`MIN_CLUSTERS`] cases: no interval, no verdict.
    FewCases,
    /// A NaN in the estimate, its interval or its p-value.
    NotANumber,
    /// No p-value these cases allow can fall below α after Holm's adjustment over the gated rows
    /// (e.g. 8 cases and 13 gated rows: at best 13 · 2/2⁸ = 0.10).
    Unattainable,
    /// Not significant, and the minimum detectable effect exceeds the (non-zero) margin.
    Mde,
    /// Significant, but the interval reaches across −margin: whether the change exceeds the
    /// margin is not settled (calling it "within margin" said more than the data do).
    Unsettled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
    /// Regression mode: significant and the whole CI below −margin. Non-inferiority mode: the
    /// candidate is not shown to be no worse than the margin (the CI's lower end is not above
    /// −margin, or there is no CI).
    Regressed,
    Improved,
    /// Significant, and the CI lies above −margin.
    WithinMargin,
    NoChange,
    /// The data cannot decide, and why.
    Underpowered(Weakness),
}

/// The statistics of one metric's paired differences.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedResult {
    /// Mean oriented difference over pairs (positive = candidate better) and its 95% CI from a
    /// bootstrap over cases (a case's seeds stay together); no CI from fewer than
    /// [`MIN_CLUSTERS`] cases or when every case's difference is the same (`ci_note` says which).
    pub delta: f64,
    pub ci: Option<[f64; 2]>,
    pub ci_note: Option<String>,
    /// `mcnemar_exact` or `sign_flip_permutation`.
    pub test: &'static str,
    pub p: f64,
    /// The smallest p these cases allow ([`p_floor`]).
    pub p_floor: f64,
    /// Cluster-robust standard error of `delta` (cases as clusters): √(n/(n−1) · Σ (S_c − n_c·Δ)²)
    /// / N; infinite below 2 cases.
    pub se: f64,
    pub cases: usize,
}

/// `groups`: per case, the oriented differences of its seeds. `flips`: when every value is
/// pass/fail, the counts (passed by the baseline only, by the candidate only); McNemar applies
/// only with one sample per case (it assumes independent pairs), else the sign-flip test on case
/// sums. `seed` fixes the bootstrap and the permutations.
pub fn paired_statistics(
    groups: &[Vec<f64>],
    flips: Option<(u64, u64)>,
    n_boot: usize,
    n_perm: usize,
    seed: u64,
) -> PairedResult {
    let groups: Vec<Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).cloned().collect();
    let sums: Vec<f64> = groups.iter().map(|g| g.iter().sum::<f64>()).collect();
    let est = super::cluster_bootstrap_mean(&groups, n_boot, 0.95, seed);
    let (delta, ci, ci_note) =
        est.map_or((0.0, None, Some("n/a (no pairs)".into())), |e| (e.point_estimate, e.interval, e.note));
    let cases = groups.len();
    let (test, p, p_floor) = match flips {
        Some((b, c)) if groups.iter().all(|g| g.len() == 1) => {
            ("mcnemar_exact", mcnemar_exact(b, c), p_floor(cases, None))
        }
        _ => ("sign_flip_permutation", sign_flip_p(&sums, n_perm, seed ^ 0x5167_f11b), p_floor(cases, Some(n_perm))),
    };
    let pairs: usize = groups.iter().map(Vec::len).sum();
    let se = if cases < 2 {
        f64::INFINITY
    } else {
        let spread: f64 = groups.iter().zip(&sums).map(|(g, s)| (s - g.len() as f64 * delta).powi(2)).sum();
        (cases as f64 / (cases - 1) as f64 * spread).sqrt() / pairs as f64
    };
    PairedResult { delta, ci, ci_note, test, p, p_floor, se, cases }
}

impl PairedResult {
    /// Minimum detectable effect at level `alpha` (two-sided) with 80% power when this row is the
    /// one that moved among `family` gated rows (Holm then tests it at α/family):
    /// `(t₁₋α/(2·family) + t₀.₈) · se`, Student's t with cases − 1 degrees of freedom (the normal
    /// quantiles promised 80% where a few cases gave 50%). Infinite below 2 cases, or when no p
    /// these cases allow can be significant.
    pub fn mde(&self, alpha: f64, family: usize) -> f64 {
        if self.cases < 2 || !self.attainable(alpha, family) {
            return f64::INFINITY;
        }
        let df = (self.cases - 1) as f64;
        let level = alpha / family.max(1) as f64;
        (super::bootstrap::student_t_two_sided(1.0 - level, df) + super::bootstrap::student_t_two_sided(0.6, df))
            * self.se
    }

    /// Whether any p-value these cases allow falls below `alpha` after Holm's adjustment over
    /// `family` gated rows (its first step multiplies the smallest p by `family`).
    pub fn attainable(&self, alpha: f64, family: usize) -> bool {
        family.max(1) as f64 * self.p_floor < alpha
    }
}

/// The gate's rule for one metric, given its Holm-adjusted p-value over `family` gated rows.
///
/// Regression mode: `Regressed` only when significant and the whole CI lies below −margin;
/// `Improved` when significant and the whole CI lies above the margin; `WithinMargin` when
/// significant and the CI lies above −margin; a significant change whose CI reaches across
/// −margin is `Underpowered` (unsettled); not significant is `Underpowered` when no p these cases
/// allow could have been significant, or when the MDE exceeds a non-zero margin, else `NoChange`.
/// Fewer than [`MIN_CLUSTERS`] cases, or a NaN, decide nothing.
///
/// Non-inferiority mode: the candidate must show the CI's lower end above −margin; without a CI
/// (too few cases) or with a NaN it has not, so it fails. When every case moved by the same
/// amount there is no spread, and the CI is that amount.
pub fn gate_verdict(
    mode: GateMode,
    r: &PairedResult,
    p_adj: f64,
    margin: f64,
    alpha: f64,
    family: usize,
) -> GateVerdict {
    // A NaN anywhere decides nothing (every comparison with it is false, which fell through to
    // a pass).
    let nan = r.delta.is_nan() || p_adj.is_nan() || r.ci.is_some_and(|c| c[0].is_nan() || c[1].is_nan());
    let few = r.cases < MIN_CLUSTERS;
    let significant = p_adj < alpha;
    let ci = r.ci.unwrap_or([r.delta, r.delta]);
    match mode {
        GateMode::NonInferiority if nan || few || ci[0] <= -margin => GateVerdict::Regressed,
        GateMode::NonInferiority if significant && ci[0] > margin => GateVerdict::Improved,
        GateMode::NonInferiority => GateVerdict::NoChange,
        GateMode::Regression if nan => GateVerdict::Underpowered(Weakness::NotANumber),
        GateMode::Regression if few => GateVerdict::Underpowered(Weakness::FewCases),
        GateMode::Regression if significant && ci[1] < -margin => GateVerdict::Regressed,
        GateMode::Regression if significant && ci[0] > margin => GateVerdict::Improved,
        GateMode::Regression if significant && ci[0] < -margin => GateVerdict::Underpowered(Weakness::Unsettled),
        GateMode::Regression if significant => GateVerdict::WithinMargin,
        GateMode::Regression if !r.attainable(alpha, family) => GateVerdict::Underpowered(Weakness::Unattainable),
        GateMode::Regression if margin > 0.0 && r.mde(alpha, family) > margin => {
            GateVerdict::Underpowered(Weakness::Mde)
        }
        GateMode::Regression => GateVerdict::NoChange,
    }
}

/// About how many cases a row left undecided for `why` needs (at the same spread): at least
/// [`MIN_CLUSTERS`], and enough for a significant p to be possible among `family` gated rows
/// (too few cases, or unattainable); for the MDE (which shrinks as 1/√n) to reach a non-zero
/// margin; for an unsettled row, for the CI's half-width to shrink to the distance between the
/// estimate and −margin. `None` when no number of cases would settle it (a NaN, an estimate
/// exactly at −margin).
pub fn cases_needed(r: &PairedResult, why: Weakness, margin: f64, alpha: f64, family: usize) -> Option<usize> {
    let n = r.cases as f64;
    let scaled = |ratio: f64| (ratio.is_finite() && ratio > 1.0).then(|| (n * ratio * ratio).ceil() as usize);
    // The smallest n with family · 2^(1−n) < α.
    let attainable = (1..=4096).find(|&k| family.max(1) as f64 * p_floor(k, None) < alpha);
    let mde = || if margin > 0.0 { scaled(r.mde(alpha, family) / margin) } else { None };
    let needed = match why {
        Weakness::NotANumber => return None,
        Weakness::FewCases => [Some(MIN_CLUSTERS), attainable, mde()],
        Weakness::Unattainable => [attainable, None, None],
        Weakness::Mde => [mde(), None, None],
        Weakness::Unsettled => {
            let half = r.ci.map_or(f64::NAN, |[lo, hi]| (hi - lo) / 2.0);
            [scaled(half / (r.delta + margin).abs()), None, None]
        }
    };
    needed.into_iter().flatten().max().filter(|&k| k > r.cases)
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
        // sd 1 over 100 cases of one sample: (t₉₉(0.975) + t₉₉(0.8)) · sd / 10 (scipy's t.ppf).
        let xs: Vec<Vec<f64>> = (0..100).map(|i| vec![if i % 2 == 0 { 1.0 } else { -1.0 }]).collect();
        let r = paired_statistics(&xs, None, 10, 10_000, 1);
        let sd = (100.0f64 / 99.0).sqrt();
        assert!((r.se - sd / 10.0).abs() < 1e-12, "{}", r.se);
        assert!((r.mde(0.05, 1) - (1.984_216_951_6 + 0.845_267_032_0) * sd / 10.0).abs() < 1e-7, "{}", r.mde(0.05, 1));
        // One of 12 gated rows is tested at 0.05/12: t₉(1 − 0.05/24) + t₉(0.8) over 10 cases.
        let ten: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64]).collect();
        let r = paired_statistics(&ten, None, 10, 10_000, 1);
        assert!((r.mde(0.05, 12) - (3.807_878_444_7 + 0.883_403_859_7) * r.se).abs() < 1e-7 * r.se);
    }

    /// The pooled estimate, its cluster-robust standard error and the permutation statistic are
    /// one number: 15 cases of one seed each 0.2 worse and 5 cases of 40 seeds each 0.1 better
    /// pool to +0.079, and the test on case sums is no more sure of it than 5 big cases allow
    /// (the test on case means had called it a significant improvement, p 0.002, while the case
    /// means average −0.126). Reference numbers from numpy.
    #[test]
    fn the_test_and_the_estimate_speak_of_the_same_number() {
        let mut g = vec![vec![-0.2]; 15];
        g.extend(vec![vec![0.1; 40]; 5]);
        let r = paired_statistics(&g, None, 1000, 10_000, 7);
        assert!((r.delta - 0.079_069_767_441_860_49).abs() < 1e-12, "{}", r.delta);
        assert!((r.se - 0.010_315_449_400_614_733).abs() < 1e-12, "{}", r.se);
        // Exactly: the five big cases must all share a sign, p = 2/32 (within Monte Carlo error).
        assert!((r.p - 0.0625).abs() < 0.01, "{}", r.p);
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::Improved);
        // Mirrored, it is not a significant regression either.
        let mirrored: Vec<Vec<f64>> = g.iter().map(|c| c.iter().map(|d| -d).collect()).collect();
        let r = paired_statistics(&mirrored, None, 1000, 10_000, 7);
        assert!(r.p > 0.05 && r.delta < 0.0, "{r:?}");
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::Regressed);
    }

    /// Differences far below 1e-12 are not ties when every value is that small: all 30 cases
    /// 2.4e-13 worse is p = 2/2³⁰, not 1.
    #[test]
    fn tiny_differences_are_compared_at_their_own_scale() {
        let g = vec![vec![-2.4e-13]; 30];
        let r = paired_statistics(&g, None, 100, 1000, 3);
        assert!((r.p - 1.0 / 1001.0).abs() < 1e-15, "{}", r.p);
        // Genuine ties (every flip gives the same size) still count as extreme.
        assert_eq!(sign_flip_p(&[0.1, -0.1, 0.1, -0.1], 1000, 1), 1.0);
    }

    #[test]
    fn the_smallest_p_is_two_over_two_to_the_cases() {
        assert_eq!(p_floor(5, None), 0.0625);
        assert_eq!(p_floor(8, None), 2.0 / 256.0);
        assert_eq!(p_floor(30, Some(10_000)), 1.0 / 10_001.0);
        assert_eq!(p_floor(0, None), 1.0);
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
            let r = paired_statistics(&g, None, 1000, 1000, i);
            rejected += usize::from(r.p < 0.05);
            regressed +=
                usize::from(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1) == GateVerdict::Regressed);
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
                let r = paired_statistics(&g, None, 2000, 1000, i);
                gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1) == GateVerdict::Regressed
            })
            .count();
        let power = caught as f64 / sims as f64;
        eprintln!("power at 2x margin, N = 100: {power:.3}");
        assert!(power >= 0.8, "power {power}");
        // The same effect inside the margin is never called a regression.
        let g = draw(&mut rng, 100, -0.02, 0.15, 0.05);
        let r = paired_statistics(&g, None, 2000, 1000, 1);
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1), GateVerdict::Regressed);
    }

    #[test]
    fn a_large_mde_is_underpowered_with_the_count_needed() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let g = draw(&mut rng, 8, 0.0, 0.15, 0.05);
        let r = paired_statistics(&g, None, 1000, 1000, 3);
        assert!(r.p >= 0.05);
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Mde)
        );
        let need = cases_needed(&r, Weakness::Mde, 0.05, 0.05, 1).unwrap();
        // The MDE at the suggested count (same spread) is at the margin.
        let mde = r.mde(0.05, 1);
        assert!(need > 8 && (mde * (8.0 / need as f64).sqrt() - 0.05).abs() < 0.005, "{need} {mde}");
    }

    /// Five cases all 0.3 worse can never be significant (the smallest p is 2/2⁵ = 0.0625): the
    /// gate said "no change" and passed. Eight cases cannot be among 13 gated rows (13 · 2/2⁸ =
    /// 0.10 at best). Both are underpowered, with the cases that would make a p below α possible.
    #[test]
    fn a_row_that_cannot_reach_significance_is_underpowered() {
        let r = paired_statistics(&vec![vec![-0.3]; 5], None, 1000, 10_000, 1);
        assert!(r.p > 0.05, "{}", r.p);
        for margin in [0.0, 0.05] {
            let v = gate_verdict(GateMode::Regression, &r, r.p, margin, 0.05, 1);
            assert_eq!(v, GateVerdict::Underpowered(Weakness::Unattainable));
            assert_eq!(cases_needed(&r, Weakness::Unattainable, margin, 0.05, 1), Some(6));
        }
        assert!(r.mde(0.05, 1).is_infinite());
        let g: Vec<Vec<f64>> = (0..8).map(|i| vec![-0.3 - 0.01 * i as f64]).collect();
        let r = paired_statistics(&g, None, 1000, 10_000, 1);
        let p_adj = (13.0 * r.p).min(1.0);
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, p_adj, 0.0, 0.05, 13),
            GateVerdict::Underpowered(Weakness::Unattainable)
        );
        assert_eq!(cases_needed(&r, Weakness::Unattainable, 0.0, 0.05, 13), Some(10));
        // Alone, the same eight cases are a regression.
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::Regressed);
        // McNemar's smallest p is the same sign-test bound: five pass → fail flips, 0.0625.
        let r = paired_statistics(&vec![vec![-1.0]; 5], Some((5, 0)), 1000, 1000, 1);
        assert_eq!((r.test, r.p), ("mcnemar_exact", 0.0625));
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Unattainable)
        );
    }

    /// Significantly worse, by 0.12 against a margin of 0.05, with a CI [−0.21, −0.03] that
    /// reaches inside the margin: "within margin" said the change was shown to be small; it is
    /// not settled either way.
    #[test]
    fn a_significant_change_across_the_margin_is_unsettled() {
        let r = PairedResult {
            delta: -0.12,
            ci: Some([-0.211, -0.030]),
            ci_note: None,
            test: "sign_flip_permutation",
            p: 0.017,
            p_floor: p_floor(12, Some(10_000)),
            se: 0.046,
            cases: 12,
        };
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Unsettled)
        );
        // Half-width 0.0905 against 0.07 between the estimate and −margin: 12 · 1.29² → 21 cases.
        assert_eq!(cases_needed(&r, Weakness::Unsettled, 0.05, 0.05, 1), Some(21));
        // Inside the margin is within margin; wholly beyond it, regressed.
        let inside = PairedResult { delta: -0.03, ci: Some([-0.045, -0.015]), ..r.clone() };
        assert_eq!(gate_verdict(GateMode::Regression, &inside, r.p, 0.05, 0.05, 1), GateVerdict::WithinMargin);
        let beyond = PairedResult { delta: -0.12, ci: Some([-0.15, -0.09]), ..r.clone() };
        assert_eq!(gate_verdict(GateMode::Regression, &beyond, r.p, 0.05, 0.05, 1), GateVerdict::Regressed);
    }

    /// Non-inferiority must be shown: three cases 0.3–0.4 worse have no CI, and passed as
    /// "underpowered".
    #[test]
    fn non_inferiority_without_an_interval_is_not_shown() {
        let r = paired_statistics(&[vec![-0.3], vec![-0.35], vec![-0.4]], None, 1000, 1000, 1);
        assert!(r.ci.is_none());
        assert_eq!(gate_verdict(GateMode::NonInferiority, &r, r.p, 0.05, 0.05, 1), GateVerdict::Regressed);
        // Shown: a CI above −margin from enough cases.
        let g: Vec<Vec<f64>> = (0..20).map(|i| vec![0.01 * (i % 3) as f64]).collect();
        let r = paired_statistics(&g, None, 1000, 1000, 1);
        assert_eq!(gate_verdict(GateMode::NonInferiority, &r, r.p, 0.05, 0.05, 1), GateVerdict::NoChange);
    }

    /// At an effect equal to the MDE (from the true spread) the row is caught in about 80% of
    /// comparisons, alone and as one of six gated rows (Holm): with normal quantiles and no family
    /// it was caught in 47% of 6-case comparisons, and never among 13 rows of 8 cases.
    #[test]
    fn the_mde_has_the_power_it_claims() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for (cases, family) in [(8, 1), (10, 1), (20, 1), (12, 6), (30, 6)] {
            let df = (cases - 1) as f64;
            let t = |level: f64| crate::stats::bootstrap::student_t_two_sided(level, df);
            let sd = 0.1;
            let effect = (t(1.0 - 0.05 / family as f64) + t(0.6)) * sd / (cases as f64).sqrt();
            let sims = 300;
            let caught = (0..sims)
                .filter(|&i| {
                    let moved = draw(&mut rng, cases, -effect, sd, 0.0);
                    let r = paired_statistics(&moved, None, 200, 2000, i);
                    // The other rows are null: the moved row is the smallest p, tested at α/family.
                    r.p * (family as f64) < 0.05
                })
                .count();
            let power = caught as f64 / sims as f64;
            eprintln!("{cases} cases, family {family}: power at the MDE {power:.3}");
            assert!((0.68..=0.92).contains(&power), "{cases} cases, family {family}: power {power}");
        }
    }

    #[test]
    fn mcnemar_is_used_for_single_sample_pass_fail_cases() {
        // 12 cases, one sample each: 10 passed only by the baseline, 1 only by the candidate.
        let mut g = vec![vec![-1.0]; 10];
        g.push(vec![1.0]);
        g.push(vec![0.0]);
        let r = paired_statistics(&g, Some((10, 1)), 1000, 1000, 1);
        assert_eq!(r.test, "mcnemar_exact");
        // 2 · P(X ≤ 1), X ~ Bin(11, ½) = 2 · 12 / 2048.
        assert!((r.p - 24.0 / 2048.0).abs() < 1e-12);
        // With several seeds per case the pairs are not independent: the sign-flip test is used.
        let r = paired_statistics(&[vec![-1.0, -1.0], vec![0.0, -1.0]], Some((3, 0)), 100, 100, 1);
        assert_eq!(r.test, "sign_flip_permutation");
    }
}
