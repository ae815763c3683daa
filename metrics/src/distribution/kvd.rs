//! Kernel Video Distance: the squared maximum mean discrepancy with the cubic polynomial kernel
//! `k(x, y) = (x·y / d + 1)³` (KID's kernel, used on video features by the FVD paper).
//!
//! Estimator: the unbiased MMD² (diagonals of the within-set kernels excluded), averaged over
//! random subsets of size `m = min(N_a, N_b, max_subset)` drawn without replacement, exactly as
//! StyleGAN-V's / StyleGAN2-ADA's `compute_kid` does (100 subsets of at most 1000 by default).
//! The value is reported raw (papers often print ×10³); `estimator` names the choice, since
//! biased `mean(K)` variants that keep the diagonals exist and give different numbers.

use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{DistributionError, Features};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kvd {
    /// Mean of the subset estimates of MMD².
    pub mmd2: f64,
    /// Standard deviation of the subset estimates; None when every subset is the whole of both
    /// sets (then there is one estimate, and no spread to report).
    pub subset_std: Option<f64>,
    pub subsets: usize,
    pub subset_size: usize,
    pub estimator: String,
}

pub const ESTIMATOR: &str = "unbiased MMD², kernel (x·y/d + 1)^3, mean over random subsets without replacement \
                             (StyleGAN-V compute_kid)";

fn kernel(x: &[f64], y: &[f64], d: f64) -> f64 {
    let dot: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    (dot / d + 1.0).powi(3)
}

/// Unbiased MMD² between the rows `ia` of `a` and `ib` of `b` (equal sizes `m ≥ 2`).
fn mmd2_unbiased(a: &Features, ia: &[usize], b: &Features, ib: &[usize]) -> f64 {
    let m = ia.len() as f64;
    let d = a.dim() as f64;
    let within = |f: &Features, idx: &[usize]| {
        let mut s = 0.0;
        for (p, &i) in idx.iter().enumerate() {
            for &j in &idx[p + 1..] {
                s += 2.0 * kernel(f.row(i), f.row(j), d);
            }
        }
        s
    };
    let mut cross = 0.0;
    for &i in ia {
        for &j in ib {
            cross += kernel(a.row(i), b.row(j), d);
        }
    }
    (within(a, ia) + within(b, ib)) / (m * (m - 1.0)) - 2.0 * cross / (m * m)
}

/// KVD of `a` vs `b` over `subsets` subsets of at most `max_subset` rows, drawn from `seed`.
pub fn kvd(a: &Features, b: &Features, subsets: usize, max_subset: usize, seed: u64) -> Result<Kvd, DistributionError> {
    if a.dim() != b.dim() {
        return Err(DistributionError::DimMismatch { a: a.dim(), b: b.dim() });
    }
    if a.dim() == 0 {
        // The kernel divides by the dimension.
        return Err(DistributionError::NoValues);
    }
    let (a, b, _) = super::in_order(a, b);
    let m = a.n().min(b.n()).min(max_subset);
    if m < 2 {
        return Err(DistributionError::TooFew { needed: 2, got: m });
    }
    if a.n() == m && b.n() == m {
        // Every subset would be the whole of both sets: one estimate, not `subsets` copies of it.
        let all: Vec<usize> = (0..m).collect();
        let mmd2 = mmd2_unbiased(a, &all, b, &all);
        return Ok(Kvd { mmd2, subset_std: None, subsets: 1, subset_size: m, estimator: ESTIMATOR.to_string() });
    }
    let subsets = subsets.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<f64> = (0..subsets)
        .map(|_| {
            let ia = sample(&mut rng, a.n(), m).into_vec();
            let ib = sample(&mut rng, b.n(), m).into_vec();
            mmd2_unbiased(a, &ia, b, &ib)
        })
        .collect();
    let mean = values.iter().sum::<f64>() / subsets as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (subsets - 1) as f64;
    Ok(Kvd { mmd2: mean, subset_std: Some(var.sqrt()), subsets, subset_size: m, estimator: ESTIMATOR.to_string() })
}

/// The unbiased MMD² over all rows (no subsets): the estimator's value when every row is used.
pub fn mmd2_full(a: &Features, b: &Features) -> Result<f64, DistributionError> {
    if a.n() != b.n() || a.n() < 2 {
        return Err(DistributionError::TooFew { needed: 2, got: a.n().min(b.n()) });
    }
    let idx: Vec<usize> = (0..a.n()).collect();
    Ok(mmd2_unbiased(a, &idx, b, &idx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn set(seed: u64, n: usize, d: usize, shift: f64) -> Features {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows: Vec<Vec<f64>> =
            (0..n).map(|_| (0..d).map(|_| rng.random_range(-1.0..1.0) + shift).collect()).collect();
        Features::from_rows(&rows).unwrap()
    }

    #[test]
    fn hand_computed_two_point_sets() {
        // d = 1: x = {0, 1}, y = {2, 3}. k = (xy + 1)³.
        // within x: 2·k(0,1) = 2; within y: 2·k(2,3) = 2·343; m(m−1) = 2.
        // cross: k(0,2)+k(0,3)+k(1,2)+k(1,3) = 1 + 1 + 27 + 64 = 93; 2·93/4 = 46.5.
        let x = Features::from_rows(&[[0.0], [1.0]]).unwrap();
        let y = Features::from_rows(&[[2.0], [3.0]]).unwrap();
        let want = (2.0 + 686.0) / 2.0 - 46.5;
        assert!((mmd2_full(&x, &y).unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn unbiased_near_zero_for_one_distribution_and_grows_with_a_shift() {
        let same = kvd(&set(1, 400, 8, 0.0), &set(2, 400, 8, 0.0), 20, 200, 7).unwrap();
        // Unbiased: centred on 0 (can be negative), small against the shifted value.
        let shifted = kvd(&set(1, 400, 8, 0.0), &set(3, 400, 8, 0.5), 20, 200, 7).unwrap();
        let more = kvd(&set(1, 400, 8, 0.0), &set(3, 400, 8, 1.0), 20, 200, 7).unwrap();
        assert!(same.mmd2.abs() < 3.0 * same.subset_std.unwrap() / (20f64).sqrt() + 1e-3, "{same:?}");
        assert!(shifted.mmd2 > 10.0 * same.mmd2.abs(), "{shifted:?} vs {same:?}");
        assert!(more.mmd2 > shifted.mmd2);
        assert_eq!(shifted.subset_size, 200);
    }

    #[test]
    fn sets_no_larger_than_a_subset_give_one_estimate_without_a_fake_spread() {
        let (a, b) = (set(6, 72, 5, 0.0), set(7, 72, 5, 0.3));
        let k = kvd(&a, &b, 100, 1000, 1).unwrap();
        assert_eq!((k.subsets, k.subset_std), (1, None));
        // (Summed in the sets' own order, whichever is named first: equal to rounding.)
        let full = mmd2_full(&a, &b).unwrap();
        assert!((k.mmd2 - full).abs() <= 1e-12 * full.abs().max(1e-9), "{} vs {full}", k.mmd2);
    }

    #[test]
    fn symmetric_in_its_arguments_when_all_rows_are_used() {
        let (a, b) = (set(4, 30, 5, 0.0), set(5, 30, 5, 0.3));
        let ab = mmd2_full(&a, &b).unwrap();
        let ba = mmd2_full(&b, &a).unwrap();
        assert!((ab - ba).abs() < 1e-12);
    }
}
