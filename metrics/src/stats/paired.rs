//! Statistics of paired comparisons (same cases, same seeds, two models): sign-flip
//! permutation tests of the pooled mean (exact up to 32 moved cases), exact McNemar for pass/fail,
//! Holm's step-down adjustment, what the cases can show at all, and the minimum detectable
//! effect.

use super::MIN_CLUSTERS;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Up to this many moved cases the sign-flip p-value is exact (all 2^n sign patterns, counted by
/// meeting in the middle: two halves of up to 2^16 sums each, milliseconds); above, Monte Carlo, whose
/// smallest p (1/(1 + [`MAX_FLIPS`])) only matters at α/rows below 4e-7. A Monte Carlo p near the smallest p the cases allow
/// decided verdicts by its draw: 8 cases all worse among 6 gated rows gave p 0.0088 (exactly
/// 2/256 = 0.0078), Holm-adjusted 0.053, and passed.
pub const EXACT_CASES: usize = 32;

/// Two-sided sign-flip permutation p-value of the pooled mean difference `Σ S_c / Σ n_c` being
/// zero, `S_c` being case c's sum of differences: under the null each case's sum is symmetric
/// about 0, so its sign is a coin flip, and a case's seeds flip together. The statistic is the
/// estimate the gate reports (the pooled mean over pairs, as a run's results weigh samples), so
/// the test and the interval speak of one number; with the same number of seeds in every case it
/// is the mean of the case means. Exact up to [`EXACT_CASES`] cases (the share of sign patterns
/// at least as extreme, the observed one included), else `(1 + #{|flipped| ≥ |observed|}) /
/// (1 + draws)`, with `n_perm` draws and more (up to [`MAX_FLIPS`]) while fewer than 100 are
/// extreme and the draws cannot yet resolve a p 100 times below `level`; never 0. Sums within 1e-12 of the observed one, relative to the cases' scale,
/// count as ties (extreme): an absolute tolerance called every difference below 1e-12 a tie.
pub fn sign_flip_p(case_sums: &[f64], n_perm: usize, level: f64, seed: u64) -> f64 {
    if case_sums.is_empty() {
        return 1.0;
    }
    // Cases whose sum is 0 (to 1e-12 of the cases' scale) flip nothing: the exact count over the
    // others is the same p, and 12 moved cases among 28 unchanged ones are counted exactly
    // instead of drawn (a draw decided 4 of 12 such rows at a strict α). The statistic and its
    // tolerance are the moved cases' own: taken over all, 99 dropped sums of 5e-13 lifted the
    // threshold above every pattern, and one moved case gave p = 0.
    let moved = moved_cases(case_sums);
    let case_sums = &moved;
    let observed = case_sums.iter().sum::<f64>().abs();
    let threshold = observed - 1e-12 * case_sums.iter().map(|s| s.abs()).sum::<f64>();
    if case_sums.is_empty() {
        return 1.0;
    }
    if case_sums.len() <= EXACT_CASES {
        return exact_sign_flip_p(case_sums, threshold);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut extreme, mut drawn) = (0usize, 0usize);
    let mut target = n_perm;
    loop {
        while drawn < target {
            let s: f64 = case_sums.iter().map(|&d| if rng.random_bool(0.5) { d } else { -d }).sum();
            if s.abs() >= threshold {
                extreme += 1;
            }
            drawn += 1;
        }
        // A small p is estimated from more draws until it is resolved against `level` (the
        // per-row level Holm needs), so that it is not floored at 1/(1 + n_perm): among many
        // gated rows, or at a strict α, no row of many cases could be significant, and
        // adding cases turned a failing gate into a passing one. Resolved: 100 extreme draws
        // (p known to ±20%), or a bound on p, (extreme + 3) / draws (95% when none is extreme;
        // the half-level margin covers a few), below half the level.
        let resolved = extreme >= 100 || ((extreme + 3) as f64) / (drawn as f64) < level / 2.0;
        if resolved || target >= MAX_FLIPS || n_perm == 0 {
            break;
        }
        target = (target * 4).min(MAX_FLIPS);
    }
    (1 + extreme) as f64 / (1 + drawn) as f64
}

/// The case sums that moved: those above 1e-12 of the cases' scale (the rest flip nothing).
pub fn moved_cases(case_sums: &[f64]) -> Vec<f64> {
    let scale = case_sums.iter().map(|s| s.abs()).sum::<f64>();
    case_sums.iter().copied().filter(|s| s.abs() > 1e-12 * scale).collect()
}

/// The most random sign flips a p-value above [`EXACT_CASES`] moved cases is estimated from (when
/// fewer than 100 of the first ones are as extreme as the data and its bound is not yet clear of
/// the level).
pub const MAX_FLIPS: usize = 2_560_000;

/// The share of the 2^n sign patterns of `xs` whose sum is at least `threshold` in size: every
/// signed sum of the first half against the sorted signed sums of the second.
fn exact_sign_flip_p(xs: &[f64], threshold: f64) -> f64 {
    let signed_sums = |half: &[f64]| {
        let mut sums = vec![0.0f64];
        for &x in half {
            sums = sums.iter().flat_map(|&s| [s + x, s - x]).collect();
        }
        sums
    };
    let (left, right) = xs.split_at(xs.len() / 2);
    let left = signed_sums(left);
    let mut right = signed_sums(right);
    right.sort_by(f64::total_cmp);
    let extreme: usize = if threshold <= 0.0 {
        left.len() * right.len()
    } else {
        // |a + b| ≥ t: b ≥ t − a, or b ≤ −t − a (disjoint for t > 0).
        left.iter()
            .map(|&a| {
                let above = right.len() - right.partition_point(|&b| b < threshold - a);
                let below = right.partition_point(|&b| b <= -threshold - a);
                above + below
            })
            .sum()
    };
    extreme as f64 / (left.len() * right.len()) as f64
}

/// The smallest two-sided p-value `cases` cases allow: both tests are sign tests at heart, and the
/// most extreme of 2^n equally likely sign patterns (and its mirror) has p = 2 / 2^n. A Monte
/// Carlo p (above [`EXACT_CASES`] moved cases) is never below `1 / (1 + draws)`, draws being at
/// most [`MAX_FLIPS`].
pub fn p_floor(cases: usize, n_perm: Option<usize>) -> f64 {
    let exact = 0.5f64.powi(cases.saturating_sub(1).min(4096) as i32);
    match n_perm {
        Some(n) if cases > EXACT_CASES => exact.max(1.0 / (1 + n.max(MAX_FLIPS)) as f64),
        _ => exact,
    }
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
    /// Cases whose difference is not 0 (McNemar: discordant pairs): only they move the p-value.
    pub moved: usize,
    /// The smallest p these cases allow ([`p_floor`]).
    pub p_floor: f64,
    /// Random sign flips asked for when more than [`EXACT_CASES`] cases moved.
    pub permutations: usize,
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
    level: f64,
    seed: u64,
) -> PairedResult {
    let groups: Vec<Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).cloned().collect();
    let sums: Vec<f64> = groups.iter().map(|g| g.iter().sum::<f64>()).collect();
    let est = super::cluster_bootstrap_mean(&groups, n_boot, 0.95, seed);
    let (delta, ci, ci_note) =
        est.map_or((0.0, None, Some("n/a (no pairs)".into())), |e| (e.point_estimate, e.interval, e.note));
    let cases = groups.len();
    let (test, p, moved, p_floor) = match flips {
        Some((b, c)) if groups.iter().all(|g| g.len() == 1) => {
            ("mcnemar_exact", mcnemar_exact(b, c), (b + c) as usize, p_floor(cases, None))
        }
        _ => {
            let moved = moved_cases(&sums).len();
            let p = sign_flip_p(&sums, n_perm, level, seed ^ 0x5167_f11b);
            let floor = if moved <= EXACT_CASES { p_floor(cases, None) } else { p_floor(cases, Some(n_perm)) };
            ("sign_flip_permutation", p, moved, floor)
        }
    };
    let pairs: usize = groups.iter().map(Vec::len).sum();
    let se = if cases < 2 {
        f64::INFINITY
    } else {
        // Squared relative to the largest deviation: values near 1e300 overflowed the squares
        // to an infinite MDE beside a significant regression.
        let dev: Vec<f64> = groups.iter().zip(&sums).map(|(g, s)| s - g.len() as f64 * delta).collect();
        let top = dev.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        if top.is_infinite() {
            f64::INFINITY
        } else if top == 0.0 {
            0.0
        } else {
            let spread: f64 = dev.iter().map(|d| (d / top).powi(2)).sum();
            top * (cases as f64 / (cases - 1) as f64 * spread).sqrt() / pairs as f64
        }
    };
    PairedResult { delta, ci, ci_note, test, p, moved, p_floor, permutations: n_perm, se, cases }
}

impl PairedResult {
    /// Minimum detectable effect at level `alpha` (two-sided) with 80% power when this row is the
    /// one that moved among `family` gated rows (Holm then tests it at α/family), for case
    /// differences of the observed spread (`se · √cases`, a normal shift). Up to
    /// [`SIMULATED_MDE_CASES`] cases it is found by simulating the exact test itself: with few
    /// cases it can reject only a handful of sign patterns, and Student's t, which is used above,
    /// overstated its power (0.50 instead of 0.80 at 10 cases among 13 gated rows; the normal
    /// quantiles before it gave 0.47 at 6 cases). Infinite below 2 cases, or when no p these
    /// cases allow can be significant.
    pub fn mde(&self, alpha: f64, family: usize) -> f64 {
        if self.cases < 2 || !self.attainable(alpha, family) {
            return f64::INFINITY;
        }
        self.mde_at(self.cases, alpha / family.max(1) as f64)
    }

    /// The MDE this row would have with `cases` cases of the same spread, at per-row `level`. A
    /// pass/fail row tested by McNemar gets [`mcnemar_mde`] (a normal shift fits 0/1 values
    /// badly: its MDE promised 0.8 and gave 0.47).
    pub fn mde_at(&self, cases: usize, level: f64) -> f64 {
        if self.test == "mcnemar_exact" {
            return mcnemar_mde(cases, level);
        }
        let sd = self.se * (self.cases as f64).sqrt();
        if cases < 2 || !sd.is_finite() { f64::INFINITY } else { sd * mde_in_sds(cases, level) }
    }

    /// Whether any p-value these cases allow falls below `alpha` after Holm's adjustment over
    /// `family` gated rows (its first step multiplies the smallest p by `family`). A property of
    /// the comparison's design (its cases), not of what moved: judged on the cases that moved, one
    /// flip among 100 pass/fail cases was "underpowered" where none was "no change"; a row whose
    /// few moving cases cannot be significant is left to its MDE (with a margin).
    pub fn attainable(&self, alpha: f64, family: usize) -> bool {
        family.max(1) as f64 * self.p_floor < alpha
    }
}

/// The drop in pass rate that `cases` single-sample pass/fail cases detect with 80% power at
/// two-sided `level` by exact McNemar, when every case that changes goes from pass to fail: the
/// share d of cases that flip such that P(Binomial(cases, d) ≥ k) = 0.8, k being the fewest flips
/// (all one way) whose p, 2/2^k, is below `level`. Infinite when even every case flipping cannot.
pub fn mcnemar_mde(cases: usize, level: f64) -> f64 {
    let Some(k) = (1..=cases).find(|&k| 2.0 * 0.5f64.powi(k as i32) < level) else { return f64::INFINITY };
    // P(X ≥ k) = 1 − P(X < k), the k terms by the pmf's recurrence in log space (summing the
    // upper tail was O(n²) a call, minutes for the cases-needed search at a small margin).
    let tail = |d: f64| -> f64 {
        let (ln_d, ln_q) = (d.ln(), (1.0 - d).ln());
        let mut ln_choose = 0.0f64;
        let mut below = 0.0f64;
        for j in 0..k {
            below += (ln_choose + j as f64 * ln_d + (cases - j) as f64 * ln_q).exp();
            ln_choose += ((cases - j) as f64).ln() - ((j + 1) as f64).ln();
        }
        (1.0 - below).max(0.0)
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    if tail(1.0 - 1e-12) < 0.8 {
        return f64::INFINITY;
    }
    while hi - lo > 1e-9 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) < 0.8 { lo = mid } else { hi = mid }
    }
    hi
}

/// Up to this many cases the minimum detectable effect comes from simulating the exact test.
pub const SIMULATED_MDE_CASES: usize = 20;

/// The shift, in standard deviations of the case differences, that `cases` cases detect with 80%
/// power at two-sided level `level`: by simulation of the exact sign-flip test on normal
/// differences up to [`SIMULATED_MDE_CASES`] cases (600 seeded draws, shared by every shift
/// tried, bisected to 1e-4 sd; kept per cases and level for the process), else
/// `(t₁₋level/2 + t₀.₈) / √n` with n − 1 degrees of freedom.
pub fn mde_in_sds(cases: usize, level: f64) -> f64 {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    let df = cases.saturating_sub(1).max(1) as f64;
    let t = |l: f64| super::bootstrap::student_t_two_sided(l, df);
    let approx = (t(1.0 - level) + t(0.6)) / (cases as f64).sqrt();
    if cases > SIMULATED_MDE_CASES || cases < 2 {
        return approx;
    }
    // No p these cases allow is below the level: no shift is detected.
    if p_floor(cases, None) >= level {
        return f64::INFINITY;
    }
    static FOUND: Mutex<BTreeMap<(usize, u64), f64>> = Mutex::new(BTreeMap::new());
    let key = (cases, level.to_bits());
    if let Some(&d) = FOUND.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
        return d;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x6d64_6500 ^ cases as u64);
    let draws: Vec<Vec<f64>> = (0..600)
        .map(|_| (0..cases).map(|_| crate::distribution::interval::simulation::normal(&mut rng)).collect())
        .collect();
    let power = |shift: f64| {
        let detected = draws
            .iter()
            .filter(|z| {
                // Up to SIMULATED_MDE_CASES (below EXACT_CASES) the gate's own test is exact.
                let xs: Vec<f64> = z.iter().map(|v| v - shift).collect();
                sign_flip_p(&xs, 0, level, 0) < level
            })
            .count();
        detected as f64 / draws.len() as f64
    };
    let mut hi = approx.max(0.1);
    while power(hi) < 0.8 && hi < 1e3 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    while hi - lo > 1e-4 {
        let mid = 0.5 * (lo + hi);
        if power(mid) < 0.8 { lo = mid } else { hi = mid }
    }
    FOUND.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, hi);
    hi
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
        GateMode::NonInferiority if significant => GateVerdict::WithinMargin,
        GateMode::NonInferiority => GateVerdict::NoChange,
        GateMode::Regression if nan => GateVerdict::Underpowered(Weakness::NotANumber),
        GateMode::Regression if few => GateVerdict::Underpowered(Weakness::FewCases),
        // At margin 0 "worse by more than the margin" is "worse": the test at α (Holm across
        // the rows) decides, in the estimate's direction. The 95% interval read beside it held a
        // significant regression at α = 0.1 as "unsettled" (a pass).
        GateMode::Regression if significant && margin <= 0.0 && r.delta < 0.0 => GateVerdict::Regressed,
        GateMode::Regression if significant && margin <= 0.0 && r.delta > 0.0 => GateVerdict::Improved,
        GateMode::Regression if significant && ci[1] < -margin => GateVerdict::Regressed,
        GateMode::Regression if significant && ci[0] > margin => GateVerdict::Improved,
        // Worse, significantly, but perhaps by less than the margin. A significant change for the
        // better whose CI reaches below −margin is not a regression in doubt (it held a
        // `--fail-on-inconclusive` gate as "unsettled").
        GateMode::Regression if significant && ci[0] < -margin && r.delta < 0.0 => {
            GateVerdict::Underpowered(Weakness::Unsettled)
        }
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
/// margin; for an unsettled row, for the CI's bound that crosses −margin to shrink (about the
/// estimate) to the estimate's distance from −margin. `None` when no number of cases would settle it (a NaN, an estimate
/// exactly at −margin).
pub fn cases_needed(r: &PairedResult, why: Weakness, margin: f64, alpha: f64, family: usize) -> Option<usize> {
    let n = r.cases as f64;
    let scaled = |ratio: f64| (ratio.is_finite() && ratio > 1.0).then(|| (n * ratio * ratio).ceil() as usize);
    let level = alpha / family.max(1) as f64;
    // The fewest cases with family · (smallest p) < α (none when random flips above the exact
    // range cannot go low enough either; McNemar is exact at any size).
    let flips = (r.test != "mcnemar_exact").then_some(r.permutations);
    // Searched above the cases there are: the floor is not monotone where the count turns from
    // exact to drawn, and a smaller count found first was dropped, leaving none.
    let attainable =
        (r.cases + 1..=r.cases.max(1) * 64 + 4096).find(|&k| family.max(1) as f64 * p_floor(k, flips) < alpha);
    // The fewest cases whose MDE (at this spread, from the same test) reaches a non-zero margin:
    // searched, as the MDE shrinks faster than 1/√n with few cases (scaling by (MDE/margin)²
    // asked for up to 2.3 times too many).
    let mde = || {
        if margin <= 0.0 || !(r.se.is_finite() || r.test == "mcnemar_exact") {
            return None;
        }
        let fits = |k: usize| r.mde_at(k, level) <= margin;
        let (mut lo, mut hi) = (r.cases.max(1), r.cases.max(2) * 2);
        while !fits(hi) {
            if hi > 10_000_000 {
                return None;
            }
            (lo, hi) = (hi, hi * 2);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) { hi = mid } else { lo = mid }
        }
        Some(hi)
    };
    let needed = match why {
        Weakness::NotANumber => return None,
        Weakness::FewCases => [Some(MIN_CLUSTERS), attainable, mde()],
        Weakness::Unattainable => [attainable, mde(), None],
        Weakness::Mde => [mde(), None, None],
        // The bound that crosses −margin, shrinking about the estimate as 1/√n: the upper one
        // where the estimate is below −margin, else the lower one (the half-width of an
        // asymmetric interval could be less than the distance, and no count was given).
        Weakness::Unsettled => {
            let reach = r.ci.map_or(f64::NAN, |[lo, hi]| if r.delta < -margin { hi - r.delta } else { r.delta - lo });
            [scaled(reach / (r.delta + margin).abs()), None, None]
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
        assert!(sign_flip_p(&null, 4000, 0.05, 1) > 0.5);
        let shifted: Vec<f64> = (0..30).map(|i| 0.5 + 0.1 * ((i % 5) as f64 - 2.0)).collect();
        assert!(sign_flip_p(&shifted, 4000, 0.05, 1) < 0.001);
        assert_eq!(sign_flip_p(&[0.0, 0.0, 0.0], 100, 0.05, 1), 1.0);
    }

    #[test]
    fn normal_quantiles_and_mde() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.8) - 0.841_621_234).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-8);
        // sd 1 over 100 cases of one sample: (t₉₉(0.975) + t₉₉(0.8)) · sd / 10 (scipy's t.ppf).
        let xs: Vec<Vec<f64>> = (0..100).map(|i| vec![if i % 2 == 0 { 1.0 } else { -1.0 }]).collect();
        let r = paired_statistics(&xs, None, 10, 10_000, 0.05, 1);
        let sd = (100.0f64 / 99.0).sqrt();
        assert!((r.se - sd / 10.0).abs() < 1e-12, "{}", r.se);
        assert!((r.mde(0.05, 1) - (1.984_216_951_6 + 0.845_267_032_0) * sd / 10.0).abs() < 1e-7, "{}", r.mde(0.05, 1));
        // One of 12 gated rows is tested at 0.05/12; at 10 cases the exact test detects less than
        // Student's t says (t₉(1 − 0.05/24) + t₉(0.8) = 4.69 standard errors), and the
        // simulated MDE is larger.
        let ten: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64]).collect();
        let r = paired_statistics(&ten, None, 10, 10_000, 0.05, 1);
        let simulated = r.mde(0.05, 12) / r.se;
        assert!(simulated > 3.807_878_444_7 + 0.883_403_859_7, "{simulated}");
        assert!((simulated - mde_in_sds(10, 0.05 / 12.0) * 10f64.sqrt()).abs() < 1e-12);
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
        let r = paired_statistics(&g, None, 1000, 10_000, 0.05, 7);
        assert!((r.delta - 0.079_069_767_441_860_49).abs() < 1e-12, "{}", r.delta);
        assert!((r.se - 0.010_315_449_400_614_733).abs() < 1e-12, "{}", r.se);
        // Exactly: the five big cases must all share a sign, p = 2/32 (within Monte Carlo error).
        assert!((r.p - 0.0625).abs() < 0.01, "{}", r.p);
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::Improved);
        // Mirrored, it is not a significant regression either.
        let mirrored: Vec<Vec<f64>> = g.iter().map(|c| c.iter().map(|d| -d).collect()).collect();
        let r = paired_statistics(&mirrored, None, 1000, 10_000, 0.05, 7);
        assert!(r.p > 0.05 && r.delta < 0.0, "{r:?}");
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::Regressed);
    }

    /// Differences far below 1e-12 are not ties when every value is that small: all 30 cases
    /// 2.4e-13 worse is p = 2/2³⁰ (exact), and at 45 cases the smallest a Monte Carlo p can be
    /// (none of MAX_FLIPS draws as extreme), not 1.
    #[test]
    fn tiny_differences_are_compared_at_their_own_scale() {
        let r = paired_statistics(&vec![vec![-2.4e-13]; 30], None, 100, 1000, 0.05, 3);
        assert_eq!(r.p, 2.0 / 2f64.powi(30));
        let r = paired_statistics(&vec![vec![-2.4e-13]; 45], None, 100, 1000, 1e-9, 3);
        assert_eq!(r.p, 1.0 / (1 + MAX_FLIPS) as f64);
        // At a usual level the first 1,000 draws resolve it (none extreme: p below 3/1,000, under
        // half of 0.05).
        let r = paired_statistics(&vec![vec![-2.4e-13]; 45], None, 100, 1000, 0.05, 3);
        assert_eq!(r.p, 1.0 / 1001.0);
        // Genuine ties (every flip gives the same size) still count as extreme.
        assert_eq!(sign_flip_p(&[0.1, -0.1, 0.1, -0.1], 1000, 0.05, 1), 1.0);
    }

    #[test]
    fn the_smallest_p_is_two_over_two_to_the_cases() {
        assert_eq!(p_floor(5, None), 0.0625);
        assert_eq!(p_floor(8, None), 2.0 / 256.0);
        assert_eq!(p_floor(30, Some(10_000)), 2.0 / 2f64.powi(30));
        assert_eq!(p_floor(41, Some(10_000)), 1.0 / (1 + MAX_FLIPS) as f64);
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
            let r = paired_statistics(&g, None, 1000, 1000, 0.05, i);
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
                let r = paired_statistics(&g, None, 2000, 1000, 0.05, i);
                gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1) == GateVerdict::Regressed
            })
            .count();
        let power = caught as f64 / sims as f64;
        eprintln!("power at 2x margin, N = 100: {power:.3}");
        assert!(power >= 0.8, "power {power}");
        // The same effect inside the margin is never called a regression.
        let g = draw(&mut rng, 100, -0.02, 0.15, 0.05);
        let r = paired_statistics(&g, None, 2000, 1000, 0.05, 1);
        assert_ne!(gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1), GateVerdict::Regressed);
    }

    /// The spread scales with the values: at 1e300 its squares overflowed, and a significant
    /// regression was said to have an infinite MDE.
    #[test]
    fn the_spread_of_huge_values_is_finite() {
        let groups = |s: f64| -> Vec<Vec<f64>> { (0..10).map(|i| vec![s * (-1.0 - 0.1 * f64::from(i))]).collect() };
        let unit = paired_statistics(&groups(1.0), None, 200, 200, 0.05, 1);
        let huge = paired_statistics(&groups(1e300), None, 200, 200, 0.05, 1);
        assert!(huge.se.is_finite() && (huge.se / 1e300 / unit.se - 1.0).abs() < 1e-12, "{} vs {}", huge.se, unit.se);
        assert!(huge.mde(0.05, 1).is_finite());
    }

    #[test]
    fn a_large_mde_is_underpowered_with_the_count_needed() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let g = draw(&mut rng, 8, 0.0, 0.15, 0.05);
        let r = paired_statistics(&g, None, 1000, 1000, 0.05, 3);
        assert!(r.p >= 0.05);
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Mde)
        );
        let need = cases_needed(&r, Weakness::Mde, 0.05, 0.05, 1).unwrap();
        // The MDE at the suggested count (same spread, the same test) reaches the margin, and
        // one case fewer does not (scaling by (MDE/margin)² asked for up to 2.3 times too many).
        assert!(need > 8 && r.mde_at(need, 0.05) <= 0.05 && r.mde_at(need - 1, 0.05) > 0.05, "{need}");
        assert!(need < (8.0 * (r.mde(0.05, 1) / 0.05).powi(2)).ceil() as usize, "{need}");
    }

    /// Five cases all 0.3 worse can never be significant (the smallest p is 2/2⁵ = 0.0625): the
    /// gate said "no change" and passed. Eight cases cannot be among 13 gated rows (13 · 2/2⁸ =
    /// 0.10 at best). Both are underpowered, with the cases that would make a p below α possible.
    #[test]
    fn a_row_that_cannot_reach_significance_is_underpowered() {
        let r = paired_statistics(&vec![vec![-0.3]; 5], None, 1000, 10_000, 0.05, 1);
        assert!(r.p > 0.05, "{}", r.p);
        for margin in [0.0, 0.05] {
            let v = gate_verdict(GateMode::Regression, &r, r.p, margin, 0.05, 1);
            assert_eq!(v, GateVerdict::Underpowered(Weakness::Unattainable));
            assert_eq!(cases_needed(&r, Weakness::Unattainable, margin, 0.05, 1), Some(6));
        }
        assert!(r.mde(0.05, 1).is_infinite());
        let g: Vec<Vec<f64>> = (0..8).map(|i| vec![-0.3 - 0.01 * i as f64]).collect();
        let r = paired_statistics(&g, None, 1000, 10_000, 0.05, 1);
        let p_adj = (13.0 * r.p).min(1.0);
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, p_adj, 0.0, 0.05, 13),
            GateVerdict::Underpowered(Weakness::Unattainable)
        );
        assert_eq!(cases_needed(&r, Weakness::Unattainable, 0.0, 0.05, 13), Some(10));
        // Above 32 moved cases a small p is estimated from up to MAX_FLIPS random flips: 45 cases
        // all worse among 13 gated rows at α = 0.001 are significant (capped at 10,000 flips, no
        // row of more than 30 cases could ever fail there). Among 200,000 rows nothing can be,
        // and no number of cases is suggested.
        let r = paired_statistics(&vec![vec![-0.3]; 45], None, 100, 10_000, 0.001 / 13.0, 1);
        assert!(r.p * 13.0 < 0.001, "{}", r.p);
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p * 13.0, 0.0, 0.001, 13), GateVerdict::Regressed);
        assert_eq!(cases_needed(&r, Weakness::Unattainable, 0.0, 0.05, 200_000), None);
        // Attainability is the design's (its cases), not what moved: 5 worse among 15 unchanged
        // cases is p 2/2⁵ exactly; with no margin that is "no change" (not significant), with
        // one its MDE says the 20 cases cannot show a drop of the margin. One flip among 100
        // pass/fail cases is "no change" as none is (judged on what moved it was "underpowered").
        let mut g = vec![vec![0.0]; 15];
        g.extend((0..5).map(|i| vec![-0.3 - 0.01 * i as f64]));
        let r = paired_statistics(&g, None, 100, 10_000, 0.05, 1);
        assert_eq!((r.moved, r.p), (5, 0.0625));
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::NoChange);
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Mde)
        );
        let mut g = vec![vec![0.0]; 15];
        g.extend(vec![vec![-1.0]; 5]);
        let r = paired_statistics(&g, Some((5, 0)), 100, 1000, 0.05, 1);
        assert_eq!((r.test, r.moved), ("mcnemar_exact", 5));
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Mde)
        );
        let mut g = vec![vec![0.0]; 99];
        g.push(vec![-1.0]);
        let r = paired_statistics(&g, Some((1, 0)), 100, 1000, 0.05, 1);
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::NoChange);
        // Twelve moved among 28 unchanged (40 cases) are counted exactly, not drawn: 2/2¹².
        let mut g = vec![vec![0.0]; 28];
        g.extend((0..12).map(|i| vec![-0.3 - 0.01 * i as f64]));
        assert_eq!(paired_statistics(&g, None, 100, 10_000, 0.0005, 1).p, 2.0 / 4096.0);
        // Nothing moved at all: no change, nothing it could have missed.
        let r = paired_statistics(&vec![vec![0.0]; 20], None, 100, 1000, 0.05, 1);
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::NoChange);
        // Alone, the eight cases all worse are a regression.
        let g: Vec<Vec<f64>> = (0..8).map(|i| vec![-0.3 - 0.01 * i as f64]).collect();
        let r = paired_statistics(&g, None, 1000, 10_000, 0.05, 1);
        assert_eq!(gate_verdict(GateMode::Regression, &r, r.p, 0.0, 0.05, 1), GateVerdict::Regressed);
        // McNemar's smallest p is the same sign-test bound: five pass → fail flips, 0.0625.
        let r = paired_statistics(&vec![vec![-1.0]; 5], Some((5, 0)), 1000, 1000, 0.05, 1);
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
            moved: 12,
            p_floor: p_floor(12, Some(10_000)),
            permutations: 10_000,
            se: 0.046,
            cases: 12,
        };
        assert_eq!(
            gate_verdict(GateMode::Regression, &r, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Unsettled)
        );
        // The upper bound 0.09 above the estimate against 0.07 between it and −margin:
        // 12 · (0.09 / 0.07)² → 20 cases.
        assert_eq!(cases_needed(&r, Weakness::Unsettled, 0.05, 0.05, 1), Some(20));
        // An asymmetric interval whose half-width is less than that distance still gets a count
        // (it had none): the lower bound 0.03 below an estimate 0.02 above −margin.
        let near = PairedResult { delta: -0.03, ci: Some([-0.06, 0.05]), ..r.clone() };
        assert_eq!(
            gate_verdict(GateMode::Regression, &near, r.p, 0.05, 0.05, 1),
            GateVerdict::Underpowered(Weakness::Unsettled)
        );
        assert_eq!(cases_needed(&near, Weakness::Unsettled, 0.05, 0.05, 1), Some(27));
        // Significantly better with a CI reaching below −margin is not a regression in doubt.
        let better = PairedResult { delta: 0.0094, ci: Some([-0.0006, 0.0172]), ..r.clone() };
        assert_eq!(gate_verdict(GateMode::Regression, &better, 0.048, 0.01, 0.05, 1), GateVerdict::WithinMargin);
        // At margin 0 the test decides, in the estimate's direction, whatever the 95% interval.
        assert_eq!(gate_verdict(GateMode::Regression, &better, 0.048, 0.0, 0.05, 1), GateVerdict::Improved);
        let worse = PairedResult { delta: -0.022, ci: Some([-0.0474, 0.0016]), ..r.clone() };
        assert_eq!(gate_verdict(GateMode::Regression, &worse, 0.083, 0.0, 0.1, 1), GateVerdict::Regressed);
        assert_eq!(gate_verdict(GateMode::Regression, &worse, 0.083, 0.0, 0.05, 1), GateVerdict::NoChange);
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
        let r = paired_statistics(&[vec![-0.3], vec![-0.35], vec![-0.4]], None, 1000, 1000, 0.05, 1);
        assert!(r.ci.is_none());
        assert_eq!(gate_verdict(GateMode::NonInferiority, &r, r.p, 0.05, 0.05, 1), GateVerdict::Regressed);
        // Shown: a CI above −margin from enough cases (a significant small change is within the
        // margin, as in regression mode).
        let g: Vec<Vec<f64>> = (0..20).map(|i| vec![0.01 * (i % 3) as f64]).collect();
        let r = paired_statistics(&g, None, 1000, 1000, 0.05, 1);
        assert_eq!(gate_verdict(GateMode::NonInferiority, &r, r.p, 0.05, 0.05, 1), GateVerdict::WithinMargin);
        let g: Vec<Vec<f64>> = (0..20).map(|i| vec![0.01 * ((i % 3) as f64 - 1.0)]).collect();
        let r = paired_statistics(&g, None, 1000, 1000, 0.05, 1);
        assert_eq!(gate_verdict(GateMode::NonInferiority, &r, r.p, 0.05, 0.05, 1), GateVerdict::NoChange);
    }

    /// At an effect equal to the MDE (from the true spread) the row is caught in about 80% of
    /// comparisons, alone and among gated rows (Holm), near the fewest cases that can be
    /// significant too: with Student's t it was caught in 63% of comparisons of 8 cases among 6
    /// rows and 50% of 10 among 13; with normal quantiles, 47% of 6-case comparisons. Fresh draws
    /// (not the ones the MDE was found with), the gate's own statistics.
    #[test]
    fn the_mde_has_the_power_it_claims() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for (cases, family) in [(6, 1), (8, 6), (10, 13), (7, 3), (12, 6), (20, 1), (30, 6)] {
            let sd = 0.1;
            let level = 0.05 / family as f64;
            let effect = mde_in_sds(cases, level) * sd;
            let sims = 400;
            let caught = (0..sims)
                .filter(|&i| {
                    let moved = draw(&mut rng, cases, -effect, sd, 0.0);
                    let r = paired_statistics(&moved, None, 200, 2000, 0.05, i);
                    // The other rows are null: the moved row is the smallest p, tested at α/family.
                    r.p * (family as f64) < 0.05
                })
                .count();
            let power = caught as f64 / sims as f64;
            eprintln!("{cases} cases, family {family}: power at the MDE {power:.3}");
            assert!((0.72..=0.88).contains(&power), "{cases} cases, family {family}: power {power}");
        }
    }

    /// Near-zero sums left out of the count are left out of the statistic too: one case that moved
    /// among 99 at 5e-13 (summing past the tolerance) gave p = 0 and "regressed".
    #[test]
    fn dropped_near_zero_cases_cannot_make_p_zero() {
        let mut xs = vec![-1.0];
        xs.extend(vec![-5e-13; 99]);
        assert_eq!(sign_flip_p(&xs, 10_000, 0.05, 1), 1.0);
        let r = paired_statistics(&xs.iter().map(|&x| vec![x]).collect::<Vec<_>>(), None, 100, 10_000, 0.05, 1);
        assert_eq!((r.moved, r.p), (1, 1.0));
    }

    /// The exact p-value counts sign patterns: all 8 cases one way is 2/256, and the same data
    /// by 20,000 random flips agrees within its error.
    #[test]
    fn the_exact_p_counts_sign_patterns() {
        let all_worse: Vec<f64> = (0..8).map(|i| -1.0 - 0.1 * i as f64).collect();
        assert_eq!(sign_flip_p(&all_worse, 0, 0.05, 1), 2.0 / 256.0);
        let mixed = [0.3, -0.1, 0.25, 0.4, -0.05, 0.2, 0.15, -0.3, 0.35, 0.1, 0.05];
        let exact = sign_flip_p(&mixed, 0, 0.05, 1);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let hits = (0..n)
            .filter(|_| {
                let s: f64 = mixed.iter().map(|&d| if rng.random_bool(0.5) { d } else { -d }).sum();
                s.abs() >= mixed.iter().sum::<f64>().abs() - 1e-12
            })
            .count();
        let mc = hits as f64 / n as f64;
        assert!((exact - mc).abs() < 4.0 * (exact * (1.0 - exact) / n as f64).sqrt(), "{exact} vs {mc}");
        // Brute force over every pattern for a small case.
        let xs = [0.5, -0.2, 0.1, 0.7, -0.4];
        let brute = (0..32u32)
            .filter(|m| {
                let s: f64 = xs.iter().enumerate().map(|(i, &x)| if m & (1 << i) != 0 { -x } else { x }).sum();
                s.abs() >= xs.iter().sum::<f64>().abs() - 1e-12
            })
            .count();
        assert_eq!(sign_flip_p(&xs, 0, 0.05, 1), brute as f64 / 32.0);
    }

    /// A pass/fail row's MDE is a drop in pass rate with McNemar's power: at the MDE of 20
    /// cases, a regression that flips that share of cases (each independently) is caught 80% of
    /// the time. The normal-shift MDE promised 0.8 and gave 0.47.
    #[test]
    fn a_pass_fail_rows_mde_has_mcnemars_power() {
        let d = mcnemar_mde(20, 0.05);
        // Six flips all one way are needed (2/2⁶ < 0.05): P(Bin(20, d) ≥ 6) = 0.8.
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let sims = 4000;
        let caught = (0..sims)
            .filter(|_| {
                let flips = (0..20).filter(|_| rng.random_bool(d)).count() as u64;
                mcnemar_exact(flips, 0) < 0.05
            })
            .count();
        let power = caught as f64 / sims as f64;
        eprintln!("McNemar, 20 cases: MDE {d:.4}, power at it {power:.3}");
        assert!((power - 0.8).abs() < 0.03, "{d} {power}");
        assert!(mcnemar_mde(5, 0.05).is_infinite());
        let g: Vec<Vec<f64>> = (0..20).map(|i| vec![if i < 4 { -1.0 } else { 0.0 }]).collect();
        let r = paired_statistics(&g, Some((4, 0)), 100, 1000, 0.05, 1);
        assert_eq!(r.mde_at(20, 0.05), d);
    }

    #[test]
    fn mcnemar_is_used_for_single_sample_pass_fail_cases() {
        // 12 cases, one sample each: 10 passed only by the baseline, 1 only by the candidate.
        let mut g = vec![vec![-1.0]; 10];
        g.push(vec![1.0]);
        g.push(vec![0.0]);
        let r = paired_statistics(&g, Some((10, 1)), 1000, 1000, 0.05, 1);
        assert_eq!(r.test, "mcnemar_exact");
        // 2 · P(X ≤ 1), X ~ Bin(11, ½) = 2 · 12 / 2048.
        assert!((r.p - 24.0 / 2048.0).abs() < 1e-12);
        // With several seeds per case the pairs are not independent: the sign-flip test is used.
        let r = paired_statistics(&[vec![-1.0, -1.0], vec![0.0, -1.0]], Some((3, 0)), 100, 100, 0.05, 1);
        assert_eq!(r.test, "sign_flip_permutation");
    }
}
