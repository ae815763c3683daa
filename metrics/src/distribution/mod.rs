//! Distribution distances between two sets of feature vectors (one vector per video): the
//! Fréchet distance (FVD when the features are I3D logits, FVD-W with the world encoder) and the
//! kernel distance KVD, with jackknife intervals and the sample-size warnings that the FVD
//! literature learnt the hard way (see ../shared/reference/metric-recipes.md §3.1).
//!
//! Everything is f64. Features are rows of a [`Features`] matrix; [`FeatureStats`] holds the
//! Gaussian summary (μ, Σ with the N − 1 divisor, N) together with the extractor and
//! preprocessing contract it was computed under, and round-trips through a documented file
//! format ([`stats_file`]) so reference statistics can be cached and shared.

pub mod frechet;
pub mod interval;
pub mod kvd;
pub mod stats_file;

use serde::{Deserialize, Serialize};

pub use frechet::frechet_distance;
pub use interval::Interval;
pub use kvd::{Kvd, kvd};

/// Errors from the distribution metrics.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    #[error("feature rows have {got} values, expected {expected}")]
    Ragged { expected: usize, got: usize },
    #[error("a feature set needs at least {needed} vectors, got {got}")]
    TooFew { needed: usize, got: usize },
    #[error("feature dimensions differ: {a} vs {b}")]
    DimMismatch { a: usize, b: usize },
    #[error("feature value {value} at row {row}, column {col} is not finite")]
    NotFinite { row: usize, col: usize, value: f64 },
    #[error("statistics are not comparable: {0}")]
    Contract(String),
    #[error("eigendecomposition failed to converge ({0})")]
    Eigen(String),
    #[error("{0}")]
    File(String),
}

/// A feature matrix: `n` rows of `dim` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    n: usize,
    dim: usize,
    data: Vec<f64>,
}

impl Features {
    /// Rows of equal length with finite values.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self, DistributionError> {
        let dim = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * dim);
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != dim {
                return Err(DistributionError::Ragged { expected: dim, got: r.len() });
            }
            if let Some((j, &v)) = r.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(DistributionError::NotFinite { row: i, col: j, value: v });
            }
            data.extend_from_slice(r);
        }
        Ok(Self { n: rows.len(), dim, data })
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Self { n: idx.len(), dim: self.dim, data }
    }
}

/// What the features are: the extractor (network and weights) and the preprocessing contract
/// (frames, resize policy, value range, layer). Two statistics are comparable only when both
/// strings agree exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub extractor: String,
    pub preprocess: String,
}

/// Gaussian summary of a feature set.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStats {
    pub contract: Contract,
    pub n: usize,
    pub mean: Vec<f64>,
    /// `dim × dim`, row-major, divisor `n − 1` (numpy's `np.cov(rowvar=False)`).
    pub cov: Vec<f64>,
}

impl FeatureStats {
    pub fn from_features(f: &Features, contract: Contract) -> Result<Self, DistributionError> {
        if f.n < 2 {
            return Err(DistributionError::TooFew { needed: 2, got: f.n });
        }
        let (n, d) = (f.n, f.dim);
        let mut mean = vec![0.0; d];
        for i in 0..n {
            for (m, v) in mean.iter_mut().zip(f.row(i)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        // Centred features transposed (d × n, column j = video j), filled in memory order.
        let mut xt = faer::Mat::<f64>::zeros(d, n);
        for i in 0..n {
            for (dst, (v, m)) in xt.col_mut(i).iter_mut().zip(f.row(i).iter().zip(&mean)) {
                *dst = v - m;
            }
        }
        // Only the lower triangle of Xᵀ X (a symmetric rank-n update: half a full product);
        // the upper is its mirror, so Σ is exactly symmetric.
        let mut c = faer::Mat::<f64>::zeros(d, d);
        faer::linalg::matmul::triangular::matmul(
            c.as_mut(),
            faer::linalg::matmul::triangular::BlockStructure::TriangularLower,
            faer::Accum::Replace,
            xt.as_ref(),
            faer::linalg::matmul::triangular::BlockStructure::Rectangular,
            xt.transpose(),
            faer::linalg::matmul::triangular::BlockStructure::Rectangular,
            1.0,
            faer::get_global_parallelism(),
        );
        let scale = 1.0 / (n - 1) as f64;
        let mut cov = vec![0.0; d * d];
        for j in 0..d {
            for i in j..d {
                let v = c[(i, j)] * scale;
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        Ok(Self { contract, n, mean, cov })
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Refuses statistics computed under a different contract or dimension.
    pub fn check_comparable(&self, other: &Self) -> Result<(), DistributionError> {
        if self.dim() != other.dim() {
            return Err(DistributionError::DimMismatch { a: self.dim(), b: other.dim() });
        }
        if self.contract != other.contract {
            return Err(DistributionError::Contract(format!(
                "extractor {:?} / preprocessing {:?} vs extractor {:?} / preprocessing {:?}",
                self.contract.extractor, self.contract.preprocess, other.contract.extractor, other.contract.preprocess
            )));
        }
        Ok(())
    }
}

/// The sample size below which Fréchet distances are flagged: FVD, like FID, is biased upward at
/// small N (the bias falls roughly as 1/N), and 256 is the smallest count in common use
/// (FastVideo warns below it; StyleGAN-V's protocol uses 2048).
pub const MIN_SAMPLES: usize = 256;

/// Warnings that belong next to a distance computed from `n_a` and `n_b` vectors of `dim`.
pub fn sample_size_warnings(n_a: usize, n_b: usize, dim: usize) -> Vec<String> {
    let mut w = Vec::new();
    let n = n_a.min(n_b);
    if n < MIN_SAMPLES {
        w.push(format!(
            "only {n} videos in the smaller set (< {MIN_SAMPLES}): the Fréchet distance is biased upward at small N; \
             compare values only at equal N"
        ));
    }
    if n <= dim {
        w.push(format!(
            "{n} videos for {dim}-d features: the covariance is rank-deficient (computed stably, but dominated by the \
             missing directions)"
        ));
    }
    w
}
