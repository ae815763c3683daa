//! Intervals for a mean over clustered samples, honest about what the data can support.
//!
//! Samples come in clusters (a case and its seeds): seeds of one prompt are not independent, so
//! resampling individual samples understates the standard error. A metric's mean gets a clustered
//! percentile bootstrap: whole clusters resampled with replacement, the pooled mean recomputed
//! (each cluster weighted by its sample count). Below [`MIN_CLUSTERS`] clusters a bootstrap
//! says nothing reliable (with one cluster it collapses to the point), so there is no interval.
//! Pass rates (values in [0, 1]) instead get an exact Clopper–Pearson interval with the cases as
//! trials, valid at any number of cases. No interval is ever zero-width: where the resamples have
//! no spread, there is none.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The fewest clusters a bootstrap interval is computed from.
pub const MIN_CLUSTERS: usize = 5;

/// A point estimate with its interval (when the data support one) and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub point_estimate: f64,
    /// The bootstrap standard error, or the binomial one for pass rates; None without interval.
    pub standard_error: Option<f64>,
    pub confidence_level: f64,
    /// `[lower, upper]`, or None when the data cannot support an interval (`note` says why).
    pub interval: Option<[f64; 2]>,
    /// Why there is no interval, for readers: "n/a (3 cases)".
    pub note: Option<String>,
    pub n_samples: usize,
    pub n_clusters: usize,
    pub n_boot: usize,
    pub rng_seed: u64,
    /// `cluster_bootstrap_percentile`, `clopper_pearson_cases`, or `none`.
    pub method: String,
}

/// Clusters with at least one sample, as (sum, count).
fn sums(clusters: &[Vec<f64>]) -> Vec<(f64, usize)> {
    clusters.iter().filter(|c| !c.is_empty()).map(|c| (c.iter().sum::<f64>(), c.len())).collect()
}

fn no_interval(point: f64, level: f64, n_samples: usize, k: usize, note: String) -> Estimate {
    Estimate {
        point_estimate: point,
        standard_error: None,
        confidence_level: level,
        interval: None,
        note: Some(note),
        n_samples,
        n_clusters: k,
        n_boot: 0,
        rng_seed: 0,
        method: "none".into(),
    }
}

/// Whether an interval's bounds are one value: equal, or apart by rounding alone (clusters of
/// unequal sizes with one value throughout gave bounds a last bit apart, shown as a real CI).
/// Relative to the bounds themselves: a floor of 1 took every interval of values near 1e-12 for
/// no spread ("all 12 cases equal"), and a gate judged on the estimate alone.
pub fn no_spread(lower: f64, upper: f64) -> bool {
    upper - lower <= 1e-12 * lower.abs().max(upper.abs())
}

/// Pooled mean of `clusters` with a clustered percentile bootstrap interval at `level`
/// (e.g. 0.95). `None` when there is no sample at all. Empty clusters are ignored. No interval
/// from fewer than [`MIN_CLUSTERS`] clusters, or when no resample differs from another.
pub fn cluster_bootstrap_mean(clusters: &[Vec<f64>], n_boot: usize, level: f64, seed: u64) -> Option<Estimate> {
    let clusters = sums(clusters);
    let n_samples: usize = clusters.iter().map(|c| c.1).sum();
    if n_samples == 0 {
        return None;
    }
    let point = clusters.iter().map(|c| c.0).sum::<f64>() / n_samples as f64;
    let k = clusters.len();
    if k < MIN_CLUSTERS {
        let note = format!("n/a ({k} case{}; an interval needs {MIN_CLUSTERS})", if k == 1 { "" } else { "s" });
        return Some(no_interval(point, level, n_samples, k, note));
    }
    if n_boot < 2 {
        return Some(no_interval(point, level, n_samples, k, "n/a (no resamples)".into()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means = Vec::with_capacity(n_boot);
    for _ in 0..n_boot {
        let (mut sum, mut n) = (0.0, 0usize);
        for _ in 0..k {
            let (s, c) = clusters[rng.random_range(0..k)];
            sum += s;
            n += c;
        }
        means.push(sum / n as f64);
    }
    let m = means.iter().sum::<f64>() / n_boot as f64;
    let var = means.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n_boot - 1) as f64;
    means.sort_by(f64::total_cmp);
    let alpha = expanded_tail((1.0 - level) / 2.0, k);
    let (lower, upper) = (quantile_sorted(&means, alpha), quantile_sorted(&means, 1.0 - alpha));
    if no_spread(lower, upper) {
        return Some(no_interval(point, level, n_samples, k, format!("n/a (all {k} cases equal)")));
    }
    Some(Estimate {
        point_estimate: point,
        standard_error: Some(var.sqrt()),
        confidence_level: level,
        interval: Some([lower, upper]),
        note: None,
        n_samples,
        n_clusters: k,
        n_boot,
        rng_seed: seed,
        method: "cluster_bootstrap_percentile".to_string(),
    })
}

/// A pass rate (values in [0, 1]) with an exact Clopper–Pearson interval at `level`, the cases
/// as trials: k cases at pooled rate p count as k·p successes of k. Exact for one pass/fail
/// sample per case and conservative for fractional rates (a [0, 1] value varies no more than a
/// pass/fail one of the same mean). The pooled rate weighs a case by its samples, so cases of
/// unequal sizes count as Kish's effective number of trials, (Σ nᵢ)² / Σ nᵢ² (k when the sizes
/// are equal; near 1 when one case holds most samples): the pooled rate's variance is at most
/// p(1 − p) / that number, as a binomial rate's of that many trials. (With k trials, 20 agreeing
/// pairs of one case beside 3 cases of one disagreeing pair gave [0.28, 1.00] where the cases
/// say no more than 1 in 4; such intervals covered 85–91% at a nominal 95%.) Valid at any k;
/// never zero-width. `None` without samples.
pub fn pass_rate(clusters: &[Vec<f64>], level: f64) -> Option<Estimate> {
    let clusters = sums(clusters);
    let n_samples: usize = clusters.iter().map(|c| c.1).sum();
    if n_samples == 0 {
        return None;
    }
    let point = (clusters.iter().map(|c| c.0).sum::<f64>() / n_samples as f64).clamp(0.0, 1.0);
    let k = clusters.len();
    let trials = effective_clusters(&clusters);
    let interval = clopper_pearson(point * trials, trials, level);
    Some(Estimate {
        point_estimate: point,
        standard_error: Some((point * (1.0 - point) / trials).sqrt()),
        confidence_level: level,
        interval: Some(interval),
        note: None,
        n_samples,
        n_clusters: k,
        n_boot: 0,
        rng_seed: 0,
        method: "clopper_pearson_cases".into(),
    })
}

/// Kish's effective number of clusters of a pooled mean, (Σ nᵢ)² / Σ nᵢ² over the clusters'
/// sizes (as many as there are when they are equal).
fn effective_clusters(clusters: &[(f64, usize)]) -> f64 {
    let n: f64 = clusters.iter().map(|c| c.1 as f64).sum();
    n * n / clusters.iter().map(|c| (c.1 as f64).powi(2)).sum::<f64>()
}

/// [`effective_clusters`] of `clusters` (empty ones left out), as [`pass_rate`] counts its trials.
pub fn pass_rate_trials(clusters: &[Vec<f64>]) -> f64 {
    effective_clusters(&sums(clusters))
}

/// The Clopper–Pearson interval for `x` successes in `n` trials (x may be fractional):
/// `[B⁻¹(α/2; x, n−x+1), B⁻¹(1−α/2; x+1, n−x)]`, 0 and 1 at the ends.
pub fn clopper_pearson(x: f64, n: f64, level: f64) -> [f64; 2] {
    let alpha = 1.0 - level;
    let x = x.clamp(0.0, n);
    let lower = if x <= 0.0 { 0.0 } else { beta_quantile(alpha / 2.0, x, n - x + 1.0) };
    let upper = if x >= n { 1.0 } else { beta_quantile(1.0 - alpha / 2.0, x + 1.0, n - x) };
    [lower, upper]
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-14).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G[1..].iter().enumerate().fold(G[0], |acc, (i, g)| acc + g / (x + 1.0 + i as f64));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (modified
/// Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
pub fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut h = d;
    for m in 1..=1000 {
        let m = f64::from(m);
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + num / c;
            if c.abs() < TINY {
                c = TINY;
            }
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The p-quantile of Beta(a, b), by bisection on [`beta_cdf`] (to 1e-15).
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if beta_cdf(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The tail probability at which a percentile bootstrap over `k` clusters is read for a two-sided
/// interval of tail `tail` (0.025 for 95%): Hesterberg's expanded percentile interval. The plain
/// percentile interval is too narrow with few clusters — the bootstrap's spread is the sample's
/// (divided by k, not k − 1) and normal, not Student's t — and covered 83% at 5 cases, 91% at 10
/// (nominal 95%). Reading it at `Φ(−√(k/(k−1)) · t_{k−1})` instead widens it by both factors;
/// as k grows it tends to `tail` (0.0216 at 50 clusters for 0.025).
pub fn expanded_tail(tail: f64, k: usize) -> f64 {
    if k < 2 || !(tail > 0.0 && tail < 0.5) {
        return tail;
    }
    let n = k as f64;
    let z = (n / (n - 1.0)).sqrt() * student_t_two_sided(1.0 - 2.0 * tail, n - 1.0);
    // Φ(−z) by bisection (geometric: it may be tiny) on the normal quantile, which is monotone.
    let (mut lo, mut hi) = (1e-300f64, 0.5f64);
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if crate::stats::paired::normal_quantile(mid) < -z {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The two-sided critical value of Student's t with `df` degrees of freedom (fractional allowed):
/// `P(|T| ≤ t) = level`. From `P(|T| > t) = I_x(df/2, 1/2)` with `x = df/(df + t²)`.
pub fn student_t_two_sided(level: f64, df: f64) -> f64 {
    let x = beta_quantile(1.0 - level, df / 2.0, 0.5);
    (df * (1.0 - x) / x).sqrt()
}

/// Linear interpolation between order statistics (Hyndman–Fan type 7, numpy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of an empty sample");
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value throughout, in clusters of unequal sizes: the cluster sums' rounding spreads the
    /// resampled means by a last bit, which was shown as a real (one-step-wide) interval.
    /// The interval scales with the values: at 1e-12 (a metric in small units) it was "n/a (all
    /// 12 cases equal)" where the 12 values all differ.
    #[test]
    fn intervals_of_tiny_values_scale_with_them() {
        let values = [0.012, -0.004, 0.02, 0.007, -0.011, 0.016, 0.003, 0.009, -0.002, 0.014, 0.001, 0.005];
        for scale in [1.0, 1e-9, 1e-12, 1e-200] {
            let clusters: Vec<Vec<f64>> = values.iter().map(|v| vec![v * scale]).collect();
            let e = cluster_bootstrap_mean(&clusters, 2000, 0.95, 7).unwrap();
            let [lo, hi] = e.interval.unwrap_or_else(|| panic!("no interval at scale {scale}: {e:?}"));
            assert!(lo < e.point_estimate && e.point_estimate < hi && (hi - lo) / scale > 0.005, "{scale}: {e:?}");
        }
        // Equal values in small units still have none.
        let clusters: Vec<Vec<f64>> = [1, 2, 3, 1, 2].iter().map(|&n| vec![3.3e-13; n]).collect();
        assert!(cluster_bootstrap_mean(&clusters, 2000, 0.95, 7).unwrap().interval.is_none());
    }

    #[test]
    fn one_value_in_unequal_clusters_has_no_interval() {
        let v = 0.9995724665267127;
        let clusters: Vec<Vec<f64>> = [1, 2, 3, 1, 2, 3, 1, 2, 3, 2, 1].iter().map(|&n| vec![v; n]).collect();
        let e = cluster_bootstrap_mean(&clusters, 2000, 0.95, 7).unwrap();
        assert!(e.interval.is_none(), "{e:?}");
        assert_eq!(e.note.as_deref(), Some("n/a (all 11 cases equal)"));
        // A real spread, however small against the value, keeps its interval.
        let spread: Vec<Vec<f64>> = (0..11).map(|i| vec![1e3 + 1e-6 * i as f64]).collect();
        assert!(cluster_bootstrap_mean(&spread, 2000, 0.95, 7).unwrap().interval.is_some());
    }

    /// The expanded tail: Φ(−√(k/(k−1))·t_{k−1, 0.975}); 0.025 as k grows.
    #[test]
    fn the_expanded_tail_follows_students_t() {
        // k = 5: √(5/4)·2.7764 = 3.1041, Φ(−3.1041) = 0.000954.
        assert!((expanded_tail(0.025, 5) - 0.000954).abs() < 2e-6, "{}", expanded_tail(0.025, 5));
        // k = 20: √(20/19)·2.0930 = 2.1474, Φ(−2.1474) = 0.01588.
        assert!((expanded_tail(0.025, 20) - 0.01588).abs() < 5e-5, "{}", expanded_tail(0.025, 20));
        assert!((expanded_tail(0.025, 100_000) - 0.025).abs() < 1e-4);
    }

    /// 95% intervals over few clusters cover near 95% (the plain percentile interval covered 83%
    /// at 5 cases and 89% at 8): normal case effects, two seeds each.
    #[test]
    fn few_cluster_intervals_cover_near_nominal() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // Box–Muller.
        let mut normal = || {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        for k in [5usize, 8] {
            let reps = 600;
            let mut covered = 0;
            for r in 0..reps {
                let clusters: Vec<Vec<f64>> = (0..k)
                    .map(|_| {
                        let case = normal();
                        (0..2).map(|_| case + 0.5 * normal()).collect()
                    })
                    .collect();
                let e = cluster_bootstrap_mean(&clusters, 4000, 0.95, r as u64).unwrap();
                let [lo, hi] = e.interval.unwrap();
                covered += usize::from(lo <= 0.0 && 0.0 <= hi);
            }
            let coverage = covered as f64 / reps as f64;
            assert!(coverage > 0.92 && coverage < 0.985, "{k} clusters: coverage {coverage}");
        }
    }

    #[test]
    fn student_t_critical_values_match_tables() {
        // scipy.stats.t.ppf(0.975, df)
        for (df, t) in [(1.0, 12.706_204_736), (3.0, 3.182_446_305), (10.0, 2.228_138_852), (37.5, 2.025_280_941)] {
            let got = student_t_two_sided(0.95, df);
            assert!((got - t).abs() < 1e-6 * t, "df {df}: {got} vs {t}");
        }
        assert!((student_t_two_sided(0.95, 1e7) - 1.959_964).abs() < 1e-5);
    }

    fn bounds(e: &Estimate) -> [f64; 2] {
        e.interval.expect("an interval")
    }

    #[test]
    fn constant_data_has_no_interval_rather_than_a_zero_width_one() {
        let data = vec![vec![2.5, 2.5], vec![2.5], vec![2.5], vec![2.5], vec![2.5]];
        let e = cluster_bootstrap_mean(&data, 500, 0.95, 1).unwrap();
        assert_eq!(e.point_estimate, 2.5);
        assert_eq!((e.interval, e.standard_error), (None, None));
        assert_eq!(e.note.as_deref(), Some("n/a (all 5 cases equal)"));
        assert_eq!((e.n_samples, e.n_clusters, e.method.as_str()), (6, 5, "none"));
    }

    #[test]
    fn fewer_than_five_clusters_have_no_bootstrap_interval() {
        for k in 1..MIN_CLUSTERS {
            let data: Vec<Vec<f64>> = (0..k).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
            let e = cluster_bootstrap_mean(&data, 500, 0.95, 1).unwrap();
            assert_eq!(e.interval, None, "{k} clusters");
            assert!(e.note.as_deref().unwrap().starts_with(&format!("n/a ({k} case")), "{:?}", e.note);
        }
        let five: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64]).collect();
        assert!(cluster_bootstrap_mean(&five, 500, 0.95, 1).unwrap().interval.is_some());
    }

    #[test]
    fn point_is_the_pooled_mean_and_interval_contains_it() {
        let data = vec![vec![1.0, 2.0], vec![4.0], vec![10.0, 11.0, 12.0], vec![3.0], vec![7.0, 8.0]];
        let e = cluster_bootstrap_mean(&data, 2000, 0.95, 7).unwrap();
        assert!((e.point_estimate - 58.0 / 9.0).abs() < 1e-12);
        let [lo, hi] = bounds(&e);
        assert!(lo < e.point_estimate && e.point_estimate < hi);
        assert!(lo >= 1.0 && hi <= 12.0);
    }

    #[test]
    fn same_seed_same_numbers_other_seed_other_numbers() {
        let data: Vec<Vec<f64>> = (0..30).map(|i| vec![(i * 7 % 11) as f64]).collect();
        let a = cluster_bootstrap_mean(&data, 1000, 0.95, 3).unwrap();
        let b = cluster_bootstrap_mean(&data, 1000, 0.95, 3).unwrap();
        let c = cluster_bootstrap_mean(&data, 1000, 0.95, 4).unwrap();
        assert_eq!(a, b);
        assert_ne!(bounds(&a)[0].to_bits(), bounds(&c)[0].to_bits());
    }

    #[test]
    fn standard_error_matches_the_analytic_value_for_iid_clusters() {
        // For n singleton clusters the bootstrap SE of the mean approaches
        // sqrt((n-1)/n) * sd / sqrt(n). Values 0..n-1 have a known sd; 4000 resamples keep the
        // Monte-Carlo error of the SE near 1.1%, so a 5% tolerance cannot fail by chance.
        let n = 200;
        let data: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64]).collect();
        let e = cluster_bootstrap_mean(&data, 4000, 0.95, 11).unwrap();
        let mean = (n - 1) as f64 / 2.0;
        let var_pop = (0..n).map(|i| (i as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let expected = (var_pop / n as f64).sqrt();
        let se = e.standard_error.unwrap();
        assert!((se / expected - 1.0).abs() < 0.05, "{se} vs {expected}");
    }

    #[test]
    fn clustering_widens_the_interval_when_seeds_agree_within_a_prompt() {
        // Ten prompts, five identical seeds each: the information is ten values, not fifty.
        let clustered: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64; 5]).collect();
        let flat: Vec<Vec<f64>> = clustered.iter().flatten().map(|&v| vec![v]).collect();
        let c = cluster_bootstrap_mean(&clustered, 3000, 0.95, 5).unwrap();
        let f = cluster_bootstrap_mean(&flat, 3000, 0.95, 5).unwrap();
        assert!(c.standard_error.unwrap() > 2.0 * f.standard_error.unwrap());
    }

    #[test]
    fn no_samples_no_estimate_and_quantiles_interpolate() {
        assert!(cluster_bootstrap_mean(&[vec![], vec![]], 10, 0.95, 0).is_none());
        assert!(pass_rate(&[vec![]], 0.95).is_none());
        assert_eq!(quantile_sorted(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(quantile_sorted(&[3.0], 0.9), 3.0);
    }

    #[test]
    fn beta_functions_match_scipy() {
        // scipy.stats.beta.cdf / .ppf, SciPy 1.14.
        assert!((beta_cdf(0.3, 2.5, 8.5) - 0.745_008_448_543_971_5).abs() < 1e-12);
        for (p, a, b, q) in [
            (0.025, 3.0, 8.0, 0.066_739_511_177_734_47),
            (0.975, 4.0, 7.0, 0.652_452_850_059_997_3),
            (0.025, 2.5, 8.5, 0.044_059_413_552_630_794),
            (0.975, 3.5, 7.5, 0.605_818_318_148_671_3),
            (0.025, 120.0, 81.0, 0.528_535_672_797_046),
            (0.975, 121.0, 80.0, 0.668_453_736_264_360_4),
        ] {
            let got = beta_quantile(p, a, b);
            assert!((got - q).abs() < 1e-10, "Beta({a}, {b}) {p}-quantile {got} vs {q}");
        }
    }

    #[test]
    fn clopper_pearson_matches_closed_forms_and_covers() {
        // Ends: 0 of n → [0, 1 − (α/2)^(1/n)], n of n → [(α/2)^(1/n), 1].
        let [lo, hi] = clopper_pearson(0.0, 5.0, 0.95);
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025f64.powf(0.2))).abs() < 1e-12);
        let [lo, hi] = clopper_pearson(5.0, 5.0, 0.95);
        assert!((lo - 0.025f64.powf(0.2)).abs() < 1e-12 && hi == 1.0);
        let [lo, hi] = clopper_pearson(3.0, 10.0, 0.95);
        assert!((lo - 0.066_739_511_177_734_47).abs() < 1e-10 && (hi - 0.652_452_850_059_997_3).abs() < 1e-10);
        // Exact coverage: for every true p on a grid, the probability mass of the x whose
        // interval holds p is at least 95% (the interval is conservative, never below).
        for n in [1u32, 2, 5, 12] {
            let intervals: Vec<[f64; 2]> = (0..=n).map(|x| clopper_pearson(f64::from(x), f64::from(n), 0.95)).collect();
            for i in 1..100 {
                let p = f64::from(i) / 100.0;
                let coverage: f64 = (0..=n)
                    .filter(|&x| intervals[x as usize][0] <= p && p <= intervals[x as usize][1])
                    .map(|x| binomial_pmf(n, x, p))
                    .sum();
                assert!(coverage >= 0.95 - 1e-9, "n {n} p {p}: coverage {coverage}");
            }
        }
    }

    fn binomial_pmf(n: u32, x: u32, p: f64) -> f64 {
        let ln_choose = ln_gamma(f64::from(n + 1)) - ln_gamma(f64::from(x + 1)) - ln_gamma(f64::from(n - x + 1));
        (ln_choose + f64::from(x) * p.ln() + f64::from(n - x) * (1.0 - p).ln()).exp()
    }

    #[test]
    fn pass_rates_have_an_exact_interval_at_any_number_of_cases_never_zero_width() {
        // One case that passed: [0.025, 1], not [1, 1].
        let e = pass_rate(&[vec![1.0]], 0.95).unwrap();
        assert_eq!(e.point_estimate, 1.0);
        let [lo, hi] = bounds(&e);
        assert!((lo - 0.025).abs() < 1e-12 && hi == 1.0);
        assert_eq!(e.method, "clopper_pearson_cases");
        // Two cases, seeds pooled: 3 of 4 samples pass → rate 0.75 over 2 trials.
        let e = pass_rate(&[vec![1.0, 1.0], vec![1.0, 0.0]], 0.95).unwrap();
        assert_eq!((e.point_estimate, e.n_clusters, e.n_samples), (0.75, 2, 4));
        let [lo, hi] = bounds(&e);
        assert!(lo > 0.0 && lo < 0.75 && hi > 0.75 && hi < 1.0, "{lo} {hi}");
        // All fail: [0, upper] with upper > 0.
        let e = pass_rate(&[vec![0.0], vec![0.0], vec![0.0]], 0.95).unwrap();
        let [lo, hi] = bounds(&e);
        assert!(lo == 0.0 && hi > 0.5);
    }

    /// Cases of unequal sizes: the pooled rate leans on the large case, and the interval is as
    /// wide as the effective number of cases says. Coverage simulated with whole cases passing or
    /// failing together (the hardest case for the interval), sizes 1, 1, 1 and 50: k trials gave
    /// 85–91% at p = 0.2–0.35.
    #[test]
    fn pass_rates_of_unequal_cases_keep_their_coverage() {
        let mut clusters = vec![vec![1.0; 20]];
        clusters.extend((0..3).map(|_| vec![0.0]));
        let e = pass_rate(&clusters, 0.95).unwrap();
        let [lo, hi] = bounds(&e);
        assert!((e.point_estimate - 20.0 / 23.0).abs() < 1e-12);
        assert!(lo < 0.1 && hi > 0.99, "[{lo}, {hi}]: 20 pairs of one case and 3 of three others");
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let sizes = [1usize, 1, 1, 50];
        for p in [0.2, 0.25, 0.35, 0.5, 0.8] {
            let trials = 4000;
            let mut covered = 0;
            for _ in 0..trials {
                let clusters: Vec<Vec<f64>> =
                    sizes.iter().map(|&n| vec![if rng.random::<f64>() < p { 1.0 } else { 0.0 }; n]).collect();
                let [lo, hi] = bounds(&pass_rate(&clusters, 0.95).unwrap());
                covered += usize::from(lo <= p && p <= hi);
            }
            let coverage = covered as f64 / trials as f64;
            println!("p = {p}: coverage {coverage:.4}");
            assert!(coverage >= 0.94, "p = {p}: coverage {coverage}");
        }
    }
}
