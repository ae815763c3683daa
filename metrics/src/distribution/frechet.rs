//! Fréchet distance between two Gaussians fitted to feature sets:
//!
//! `d² = ‖μ_a − μ_b‖² + Tr Σ_a + Tr Σ_b − 2 Tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}`.
//!
//! The trace term is computed the stable way (tfgan's `trace_sqrt_product`, the approach the
//! reference notes recommend over `scipy.linalg.sqrtm(Σ_a Σ_b)`): with `Σ_a = U Λ Uᵀ` (symmetric
//! eigendecomposition, eigenvalues clamped at 0) and `B = U Λ^{1/2}`, the matrix `Bᵀ Σ_b B` is
//! symmetric positive semi-definite and similar to `Σ_a^{1/2} Σ_b Σ_a^{1/2}`, so the trace of its
//! square root is the sum of the square roots of its (clamped) eigenvalues. No complex arithmetic,
//! no NaN when N < d.

use faer::linalg::matmul::triangular::{self as tri, BlockStructure as Block};
use faer::{Accum, Mat, Side};

use super::{Contract, DistributionError, FeatureStats, Features};

fn symmetric(d: usize, v: &[f64]) -> Mat<f64> {
    Mat::from_fn(d, d, |i, j| v[i * d + j])
}

fn eigen(m: &Mat<f64>) -> Result<(Vec<f64>, Mat<f64>), DistributionError> {
    let evd = m.self_adjoint_eigen(Side::Lower).map_err(|e| DistributionError::Eigen(format!("{e:?}")))?;
    let s = evd.S().column_vector();
    let values: Vec<f64> = (0..m.nrows()).map(|i| s[i]).collect();
    Ok((clamped(values)?, evd.U().to_owned()))
}

/// Eigenvalues clamped at 0, refused when one is not a number (`NaN.max(0.0)` is 0: an overflow
/// inside the products read as a zero cross term).
fn clamped(values: Vec<f64>) -> Result<Vec<f64>, DistributionError> {
    if values.iter().any(|v| !v.is_finite()) {
        return Err(DistributionError::Eigen("an eigenvalue is not a finite number".into()));
    }
    Ok(values.into_iter().map(|v| v.max(0.0)).collect())
}

/// `Tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}` for two `d × d` covariances (row-major).
///
/// The cheapest exact route first: when `Σ_a` is positive definite, its Cholesky factor `L`
/// (`Σ_a = L Lᵀ`) makes `Lᵀ Σ_b L` symmetric and similar to `Σ_a Σ_b`, so only its eigenvalues
/// are needed (no eigenvectors, no second factorisation) — about a quarter of the work of the
/// eigenvector route. A singular `Σ_a` (fewer samples than dimensions) takes
/// [`trace_sqrt_product_eigen`].
///
/// Covariances far from 1 are scaled by a power of two first (exact), as the term scales with
/// them: variances of 1e300 overflowed the products to a NaN cross term.
pub fn trace_sqrt_product(d: usize, cov_a: &[f64], cov_b: &[f64]) -> Result<f64, DistributionError> {
    let top = (0..d).map(|i| cov_a[i * d + i].max(cov_b[i * d + i])).fold(0.0f64, f64::max);
    if top.is_finite() && top > 0.0 && !(1e-100..=1e100).contains(&top) {
        let k = (top.log2().round() as i32).clamp(-1000, 1000);
        let scale = |c: &[f64]| c.iter().map(|v| v * 2f64.powi(-k)).collect::<Vec<f64>>();
        return Ok(trace_sqrt_product_scaled(d, &scale(cov_a), &scale(cov_b))? * 2f64.powi(k));
    }
    trace_sqrt_product_scaled(d, cov_a, cov_b)
}

/// [`trace_sqrt_product`] of covariances within range.
fn trace_sqrt_product_scaled(d: usize, cov_a: &[f64], cov_b: &[f64]) -> Result<f64, DistributionError> {
    let a = symmetric(d, cov_a);
    let Ok(llt) = a.llt(Side::Lower) else { return trace_sqrt_product_eigen(d, cov_a, cov_b) };
    let l = llt.L();
    // A factor that only just succeeded (a numerically singular Σ_a) takes the clamped route.
    let top = (0..d).map(|i| cov_a[i * d + i]).fold(0.0f64, f64::max);
    if (0..d).any(|i| l[(i, i)] * l[(i, i)] <= 1e-10 * top) {
        return trace_sqrt_product_eigen(d, cov_a, cov_b);
    }
    // Lᵀ Σ_b with Lᵀ upper triangular (half a full product), then only the lower triangle of
    // (Lᵀ Σ_b) L, which is all the symmetric eigensolver reads.
    let par = faer::get_global_parallelism();
    let mut y = Mat::<f64>::zeros(d, d);
    tri::matmul(
        y.as_mut(),
        Block::Rectangular,
        Accum::Replace,
        l.transpose(),
        Block::TriangularUpper,
        symmetric(d, cov_b).as_ref(),
        Block::Rectangular,
        1.0,
        par,
    );
    let mut m = Mat::<f64>::zeros(d, d);
    tri::matmul(
        m.as_mut(),
        Block::TriangularLower,
        Accum::Replace,
        y.as_ref(),
        Block::Rectangular,
        l,
        Block::TriangularLower,
        1.0,
        par,
    );
    let mu = m.self_adjoint_eigenvalues(Side::Lower).map_err(|e| DistributionError::Eigen(format!("{e:?}")))?;
    Ok(clamped(mu)?.iter().map(|v| v.sqrt()).sum())
}

/// The eigenvector route, valid for any positive semi-definite `Σ_a`: with `Σ_a = U Λ Uᵀ`
/// (eigenvalues clamped at 0) and `B = U Λ^{1/2}`, `Bᵀ Σ_b B` is similar to
/// `Σ_a^{1/2} Σ_b Σ_a^{1/2}`.
pub fn trace_sqrt_product_eigen(d: usize, cov_a: &[f64], cov_b: &[f64]) -> Result<f64, DistributionError> {
    let (lambda, u) = eigen(&symmetric(d, cov_a))?;
    let b = Mat::from_fn(d, d, |i, j| u[(i, j)] * lambda[j].sqrt());
    let m = b.transpose() * symmetric(d, cov_b) * &b;
    let m = Mat::from_fn(d, d, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    let (mu, _) = eigen(&m)?;
    Ok(mu.iter().map(|v| v.sqrt()).sum())
}

/// The Fréchet distance (squared, as FID/FVD report it) between two statistics computed under
/// the same contract; clamped at 0 (rounding can make a set's distance to itself −1e-12).
pub fn frechet_distance(a: &FeatureStats, b: &FeatureStats) -> Result<f64, DistributionError> {
    a.check_comparable(b)?;
    let d = a.dim();
    let mean_term: f64 = a.mean.iter().zip(&b.mean).map(|(x, y)| (x - y) * (x - y)).sum();
    let trace = |c: &[f64]| (0..d).map(|i| c[i * d + i]).sum::<f64>();
    let cross = trace_sqrt_product(d, &a.cov, &b.cov)?;
    Ok((mean_term + trace(&a.cov) + trace(&b.cov) - 2.0 * cross).max(0.0))
}

/// The Fréchet distance computed from the two feature sets themselves, never forming a `d × d`
/// matrix when there are fewer videos than dimensions. With `X_a`, `X_b` the centred features,
/// `Σ_a Σ_b = X_aᵀ X_a X_bᵀ X_b / ((n_a−1)(n_b−1))` shares its non-zero eigenvalues with
/// `(X_a X_bᵀ)(X_a X_bᵀ)ᵀ / (…)`, so the trace term is the sum of the singular values of the
/// `n_a × n_b` cross-product, scaled — `O(n_a n_b d)` instead of `O(d³)`. With as many videos as
/// dimensions or more, it is the statistics route. Same value either way (to rounding).
pub fn frechet_distance_features(a: &Features, b: &Features) -> Result<f64, DistributionError> {
    if a.dim() != b.dim() {
        return Err(DistributionError::DimMismatch { a: a.dim(), b: b.dim() });
    }
    for f in [a, b] {
        if f.n() < 2 {
            return Err(DistributionError::TooFew { needed: 2, got: f.n() });
        }
    }
    let d = a.dim();
    if a.n().max(b.n()) >= d {
        let contract = Contract { extractor: String::new(), preprocess: String::new() };
        return frechet_distance(
            &FeatureStats::from_features(a, contract.clone())?,
            &FeatureStats::from_features(b, contract)?,
        );
    }
    let mean = |f: &Features| {
        let mut m = vec![0.0; d];
        for i in 0..f.n() {
            for (m, v) in m.iter_mut().zip(f.row(i)) {
                *m += v;
            }
        }
        m.iter_mut().for_each(|m| *m /= f.n() as f64);
        m
    };
    let (ma, mb) = (mean(a), mean(b));
    let centred = |f: &Features, m: &[f64]| Mat::from_fn(f.n(), d, |i, j| f.row(i)[j] - m[j]);
    let (xa, xb) = (centred(a, &ma), centred(b, &mb));
    let (ca, cb) = ((a.n() - 1) as f64, (b.n() - 1) as f64);
    let frob = |x: &Mat<f64>| (0..x.nrows()).map(|i| (0..d).map(|j| x[(i, j)] * x[(i, j)]).sum::<f64>()).sum::<f64>();
    let cross = &xa * xb.transpose();
    let sv = cross.singular_values().map_err(|e| DistributionError::Eigen(format!("{e:?}")))?;
    let trace_sqrt: f64 = sv.iter().sum::<f64>() / (ca * cb).sqrt();
    let mean_term: f64 = ma.iter().zip(&mb).map(|(x, y)| (x - y) * (x - y)).sum();
    Ok((mean_term + frob(&xa) / ca + frob(&xb) / cb - 2.0 * trace_sqrt).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn contract() -> Contract {
        Contract { extractor: "test".into(), preprocess: "none".into() }
    }

    fn gaussian(rng: &mut ChaCha8Rng, n: usize, d: usize, shift: &[f64], scale: &[f64]) -> Features {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                (0..d)
                    .map(|j| {
                        let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
                        shift[j] + scale[j] * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                    })
                    .collect()
            })
            .collect();
        Features::from_rows(&rows).unwrap()
    }

    fn stats(f: &Features) -> FeatureStats {
        FeatureStats::from_features(f, contract()).unwrap()
    }

    #[test]
    fn a_set_against_itself_is_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let f = gaussian(&mut rng, 300, 20, &[0.5; 20], &[2.0; 20]);
        let d = frechet_distance(&stats(&f), &stats(&f)).unwrap();
        // Relative to Tr Σ ≈ 80: the trace term cancels to rounding.
        assert!(d < 1e-9, "{d}");
    }

    #[test]
    fn a_mean_shift_adds_its_squared_norm() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let f = gaussian(&mut rng, 200, 16, &[0.0; 16], &[1.0; 16]);
        let s: Vec<f64> = (0..16).map(|j| 0.1 * j as f64 - 0.4).collect();
        let shifted: Vec<Vec<f64>> =
            (0..f.n()).map(|i| f.row(i).iter().zip(&s).map(|(x, d)| x + d).collect()).collect();
        let g = Features::from_rows(&shifted).unwrap();
        let want: f64 = s.iter().map(|x| x * x).sum();
        let got = frechet_distance(&stats(&f), &stats(&g)).unwrap();
        assert!((got - want).abs() < 1e-9 * want.max(1.0), "{got} vs {want}");
    }

    #[test]
    fn diagonal_gaussians_match_the_closed_form_and_it_is_symmetric() {
        // Exact statistics (not samples): Σ_a = diag(a²), Σ_b = diag(b²) →
        // d² = ‖μ_a − μ_b‖² + Σ (a_i − b_i)².
        let d = 12;
        let mk = |mu: Vec<f64>, sd: Vec<f64>| {
            let mut cov = vec![0.0; d * d];
            for i in 0..d {
                cov[i * d + i] = sd[i] * sd[i];
            }
            FeatureStats { contract: contract(), n: 1000, mean: mu, cov }
        };
        let a = mk((0..d).map(|i| i as f64).collect(), (0..d).map(|i| 1.0 + i as f64 * 0.3).collect());
        let b = mk((0..d).map(|i| 2.0 - i as f64).collect(), (0..d).map(|i| 0.5 + i as f64 * 0.1).collect());
        let want: f64 = (0..d)
            .map(|i| (a.mean[i] - b.mean[i]).powi(2) + (a.cov[i * d + i].sqrt() - b.cov[i * d + i].sqrt()).powi(2))
            .sum();
        let ab = frechet_distance(&a, &b).unwrap();
        let ba = frechet_distance(&b, &a).unwrap();
        assert!((ab - want).abs() < 1e-9 * want, "{ab} vs {want}");
        assert!((ab - ba).abs() < 1e-9 * want, "not symmetric: {ab} vs {ba}");
    }

    #[test]
    fn rotated_full_covariances_match_the_commuting_closed_form() {
        // Σ_a = R diag(p) Rᵀ and Σ_b = R diag(q) Rᵀ commute: Tr sqrt = Σ sqrt(p_i q_i).
        let d = 6;
        let angle: f64 = 0.7;
        let mut r = vec![0.0; d * d];
        for i in 0..d {
            r[i * d + i] = 1.0;
        }
        let (c, s) = (angle.cos(), angle.sin());
        r[0] = c;
        r[1] = -s;
        r[d] = s;
        r[d + 1] = c;
        let rot = |p: &[f64]| {
            let mut m = vec![0.0; d * d];
            for i in 0..d {
                for j in 0..d {
                    m[i * d + j] = (0..d).map(|k| r[i * d + k] * p[k] * r[j * d + k]).sum();
                }
            }
            m
        };
        let p = [4.0, 1.0, 2.0, 0.5, 3.0, 0.0];
        let q = [1.0, 9.0, 2.0, 2.0, 0.0, 1.0];
        let a = FeatureStats { contract: contract(), n: 10, mean: vec![0.0; d], cov: rot(&p) };
        let b = FeatureStats { contract: contract(), n: 10, mean: vec![0.0; d], cov: rot(&q) };
        let want: f64 = p.iter().sum::<f64>() + q.iter().sum::<f64>()
            - 2.0 * p.iter().zip(&q).map(|(x, y)| (x * y).sqrt()).sum::<f64>();
        let got = frechet_distance(&a, &b).unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    /// The distance scales with the covariances: variances of 1e300 (products that overflow) and
    /// 1e-300 (that underflow) give the scaled distance, not a NaN cross term read as 0 (two
    /// identical sets at 2e300).
    #[test]
    fn covariances_far_from_one_are_scaled_not_overflowed() {
        let diag = |v: [f64; 2]| vec![v[0], 0.0, 0.0, v[1]];
        let at = |mean: [f64; 2], v: [f64; 2]| FeatureStats {
            contract: contract(),
            n: 10,
            mean: mean.to_vec(),
            cov: diag(v),
        };
        let same = at([0.0, 0.0], [1e300, 1.0]);
        assert_eq!(frechet_distance(&same, &same).unwrap(), 0.0);
        // (√1e300 − √4e300)² + 0 + |Δμ|² = 1e300 + 2.
        let got = frechet_distance(&at([0.0, 0.0], [1e300, 1e300]), &at([1.0, 1.0], [4e300, 1e300])).unwrap();
        assert!((got / 1e300 - 1.0).abs() < 1e-9, "{got}");
        let got = frechet_distance(&at([0.0, 0.0], [1e-300, 1e-300]), &at([0.0, 0.0], [4e-300, 1e-300])).unwrap();
        assert!((got / 1e-300 - 1.0).abs() < 1e-9, "{got}");
        // Within range nothing is scaled: bit for bit the unscaled route.
        let (a, b) = (diag([3.0, 0.5]), diag([1.5, 2.0]));
        assert_eq!(trace_sqrt_product(2, &a, &b).unwrap(), trace_sqrt_product_scaled(2, &a, &b).unwrap());
        // A NaN eigenvalue is an error, not a zero.
        assert!(clamped(vec![1.0, f64::NAN]).is_err());
    }

    #[test]
    fn statistics_from_another_contract_are_refused() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let f = gaussian(&mut rng, 10, 4, &[0.0; 4], &[1.0; 4]);
        let a = stats(&f);
        let mut b = a.clone();
        b.contract.preprocess = "16 frames, centre crop".into();
        let e = frechet_distance(&a, &b).unwrap_err().to_string();
        assert!(e.contains("centre crop"), "{e}");
    }

    #[test]
    fn the_cholesky_route_agrees_with_the_eigenvector_route() {
        // Full rank (N > d) takes the Cholesky route; rank-deficient (N < d) falls back.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (n, d) in [(400, 48), (30, 48)] {
            let scale: Vec<f64> = (0..d).map(|j| 0.5 + j as f64 / d as f64).collect();
            let a = stats(&gaussian(&mut rng, n, d, &vec![0.0; d], &scale));
            let b = stats(&gaussian(&mut rng, n, d, &vec![0.3; d], &vec![1.2; d]));
            let fast = trace_sqrt_product(d, &a.cov, &b.cov).unwrap();
            let slow = trace_sqrt_product_eigen(d, &a.cov, &b.cov).unwrap();
            // Both are exact up to rounding: 1e-9 relative is the parity bound.
            assert!((fast - slow).abs() <= 1e-9 * slow.abs(), "n={n} d={d}: {fast} vs {slow}");
        }
    }

    #[test]
    fn the_video_by_video_route_agrees_with_the_statistics_route() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let d = 64;
        let scale: Vec<f64> = (0..d).map(|j| 0.5 + j as f64 / d as f64).collect();
        let fa = gaussian(&mut rng, 40, d, &vec![0.0; d], &scale);
        let fb = gaussian(&mut rng, 30, d, &vec![0.2; d], &vec![1.1; d]);
        let direct = frechet_distance_features(&fa, &fb).unwrap();
        let via_stats = frechet_distance(&stats(&fa), &stats(&fb)).unwrap();
        // The statistics route clamps the 24 null eigenvalues of the rank-40 Σ_a; each leaves
        // ~sqrt(ε) of rounding noise in the trace term, so agreement is ~1e-9, bounded at 1e-8.
        assert!((direct - via_stats).abs() <= 1e-8 * via_stats, "{direct} vs {via_stats}");
        // A set against itself is 0 on this route too.
        assert!(frechet_distance_features(&fa, &fa).unwrap() < 1e-9);
    }
}
