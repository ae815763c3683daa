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
    #[error("a set needs at least {needed} videos (feature rows), got {got}")]
    TooFew { needed: usize, got: usize },
    #[error("feature vectors have no values")]
    NoValues,
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
        if f.dim == 0 {
            return Err(DistributionError::NoValues);
        }
        let (n, d) = (f.n, f.dim);
        let mean = column_means(&f.data, n, d);
        // Xᵀ X of the centred features, a chunk of rows at a time: each chunk is copied into a
        // rows × d column-major buffer (column j = feature j over the chunk's videos), reused so
        // its pages are touched once; a whole-set buffer cost 0.2 s in page faults and fill.
        // Only the lower triangle is multiplied, in panels of rows (≈ half a full product).
        let rows = n.min(COV_CHUNK);
        let mut buffer = vec![0.0f64; rows * d];
        let mut panels = LowerPanels::new(d);
        for (k, i0) in (0..n).step_by(rows).enumerate() {
            let r = rows.min(n - i0);
            let chunk = &mut buffer[..r * d];
            fill_centred(&f.data[i0 * d..(i0 + r) * d], &mean, chunk);
            panels.add_products(chunk, r, k > 0);
        }
        let cov = panels.into_symmetric(1.0 / (n - 1) as f64);
        Ok(Self { contract, n, mean, cov })
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Refuses statistics computed under a different contract or dimension.
    pub fn check_comparable(&self, other: &Self) -> Result<(), DistributionError> {
        // The extractors first: features of another network differ in size too, and "dimensions
        // differ: 132 vs 400" did not say why.
        if self.contract != other.contract {
            return Err(DistributionError::Contract(format!(
                "extractor {:?} / preprocessing {:?} vs extractor {:?} / preprocessing {:?}",
                self.contract.extractor, self.contract.preprocess, other.contract.extractor, other.contract.preprocess
            )));
        }
        if self.dim() != other.dim() {
            return Err(DistributionError::DimMismatch { a: self.dim(), b: other.dim() });
        }
        Ok(())
    }
}

/// Rows of features [`FeatureStats::from_features`] centres and multiplies at a time.
const COV_CHUNK: usize = 2048;

/// Rows per panel of the covariance product: 128 measured fastest on this machine's kind
/// (10,000 × 2048: 0.26 s against 0.27 s at 64 and 0.30 s at 256).
const COV_PANEL: usize = 128;

/// Column means of a row-major `n × d` matrix, summed row by row in order; columns are split
/// among threads, so each column's sum is the same whatever the thread count.
fn column_means(data: &[f64], n: usize, d: usize) -> Vec<f64> {
    use rayon::prelude::*;
    const COLS: usize = 256;
    let mut mean = vec![0.0; d];
    mean.par_chunks_mut(COLS).enumerate().for_each(|(t, m)| {
        let j0 = t * COLS;
        for row in data.chunks_exact(d).take(n) {
            for (m, v) in m.iter_mut().zip(&row[j0..]) {
                *m += v;
            }
        }
        m.iter_mut().for_each(|m| *m /= n as f64);
    });
    mean
}

/// `c` (+)= `aᵀ b` through the `gemm` crate, single-threaded: `a` is `r × m` and `b` is `r × n`,
/// both column-major (the summed-over index contiguous), `c` is `m × n` column-major; `c` is
/// overwritten unless `accumulate`. gemm's AVX-512 kernels ran this product 1.4× faster than
/// faer's on this machine's kind (168 against 120 GFLOP/s, 2 threads).
#[allow(unsafe_code)] // gemm's only interface is raw pointers; the extents are checked first
fn gemm_tn(c: &mut [f64], a: &[f64], b: &[f64], m: usize, n: usize, r: usize, accumulate: bool) {
    assert!(c.len() == m * n && a.len() == r * m && b.len() == r * n, "gemm_tn: extents do not match");
    let (m_, r_) = (m as isize, r as isize);
    // SAFETY: every offset gemm reads or writes is below the lengths just checked (c: q·m + p,
    // a: p·r + i, b: q·r + i for p < m, q < n, i < r); `c` is borrowed mutably, so it aliases
    // neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            r,
            c.as_mut_ptr(),
            m_,
            1,
            accumulate,
            a.as_ptr(),
            1,
            r_,
            b.as_ptr(),
            r_,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The lower triangle of a `d × d` symmetric product Xᵀ X, accumulated over chunks of rows of
/// X, as panels of [`COV_PANEL`] rows: panel I holds rows I·P.. and columns 0 up to the end of
/// its diagonal block, column-major (≈ half a full product; only the diagonal blocks' upper
/// halves are computed and not used).
struct LowerPanels {
    d: usize,
    panels: Vec<Vec<f64>>,
}

impl LowerPanels {
    fn new(d: usize) -> Self {
        let panels = (0..d.div_ceil(COV_PANEL)).map(|i| vec![0.0; Self::rows(d, i) * Self::cols(d, i)]).collect();
        Self { d, panels }
    }

    fn rows(d: usize, panel: usize) -> usize {
        COV_PANEL.min(d - panel * COV_PANEL)
    }

    fn cols(d: usize, panel: usize) -> usize {
        ((panel + 1) * COV_PANEL).min(d)
    }

    /// Adds (or, when `accumulate` is false, writes) one chunk's share: `x` is `r × d`,
    /// column-major. One single-threaded product per panel, the panels in parallel (largest
    /// first), so each panel's sums run in the same order whatever the thread count.
    fn add_products(&mut self, x: &[f64], r: usize, accumulate: bool) {
        use rayon::prelude::*;
        let d = self.d;
        self.panels.par_iter_mut().enumerate().rev().for_each(|(i, c)| {
            let (i0, m, n) = (i * COV_PANEL, Self::rows(d, i), Self::cols(d, i));
            gemm_tn(c, &x[i0 * r..(i0 + m) * r], &x[..n * r], m, n, r, accumulate);
        });
    }

    /// The full `d × d` matrix, row-major, times `scale`: element (i, j) is the product's
    /// element (max, min) of the two, so the matrix is exactly symmetric.
    fn into_symmetric(self, scale: f64) -> Vec<f64> {
        use rayon::prelude::*;
        let d = self.d;
        let mut out = vec![0.0; d * d];
        out.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
            let (panel, p) = (i / COV_PANEL, i % COV_PANEL);
            // Columns 0..=i: row p of panel I, column-major (stride = the panel's rows).
            let (c, m) = (&self.panels[panel], Self::rows(d, panel));
            for (q, v) in row[..=i].iter_mut().enumerate() {
                *v = c[q * m + p] * scale;
            }
            // Columns past i: column i of the panels below, a contiguous run in each.
            let mut q = i + 1;
            while q < d {
                let (below, q0) = (q / COV_PANEL, q % COV_PANEL);
                let (c, m) = (&self.panels[below], Self::rows(d, below));
                let end = (below * COV_PANEL + m).min(d);
                for (v, &x) in row[q..end].iter_mut().zip(&c[i * m + q0..i * m + m]) {
                    *v = x * scale;
                }
                q = end;
            }
        });
        out
    }
}

/// Copies the rows of `data` (row-major, each `mean.len()` long) less `mean` into `out`, column-
/// major (`out[j·r + i]` = feature j of row i), in parallel over tiles of 32 columns; 32 × 32
/// blocks keep the strided side within the caches and the TLB.
fn fill_centred(data: &[f64], mean: &[f64], out: &mut [f64]) {
    use rayon::prelude::*;
    const TILE: usize = 32;
    let d = mean.len();
    let r = data.len() / d;
    out.par_chunks_mut(r * TILE).enumerate().for_each(|(t, cols)| {
        let j0 = t * TILE;
        for i0 in (0..r).step_by(TILE) {
            for (dj, col) in cols.chunks_exact_mut(r).enumerate() {
                let (j, m) = (j0 + dj, mean[j0 + dj]);
                for (dst, row) in col[i0..(i0 + TILE).min(r)].iter_mut().zip(data[i0 * d..].chunks_exact(d)) {
                    *dst = row[j] - m;
                }
            }
        }
    });
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

/// The two sets in an order of their own (fewer rows first, else the first row that differs,
/// compared value by value): the groups and the pairs left out are drawn for the sets, not for
/// the order they were named in, so swapping the two gives the same interval (FVD(A, B) and
/// FVD(B, A) had one value and two intervals, se 0.110 and 0.153), and KVD's subsets are drawn
/// alike (KVD(A, B) 0.025846, KVD(B, A) 0.026015).
pub(crate) fn in_order<'f>(a: &'f Features, b: &'f Features) -> (&'f Features, &'f Features, bool) {
    let key = |f: &Features| f.n();
    let order = key(a).cmp(&key(b)).then_with(|| {
        (0..a.n().min(b.n()))
            .flat_map(|i| a.row(i).iter().zip(b.row(i)))
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if order.is_gt() { (b, a, true) } else { (a, b, false) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_between_empty_vectors_are_an_error() {
        let f = Features::from_rows(&[Vec::<f64>::new(), Vec::new()]).unwrap();
        let c = Contract { extractor: "x".into(), preprocess: "y".into() };
        assert!(matches!(FeatureStats::from_features(&f, c), Err(DistributionError::NoValues)));
        assert!(matches!(kvd(&f, &f, 4, 2, 0), Err(DistributionError::NoValues)));
        assert!(matches!(frechet::frechet_distance_features(&f, &f), Err(DistributionError::NoValues)));
    }

    #[test]
    fn chunked_covariance_equals_the_two_pass_definition() {
        // More rows than a chunk, not a multiple of it, with a large common offset (centring
        // first is what keeps the small spread exact); d not a multiple of the fill's tile nor
        // of the product's panel (three panels, the last one short).
        let (n, d) = (COV_CHUNK * 2 + 37, COV_PANEL * 2 + 37);
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..d).map(|j| 1e6 + ((i * 7919 + j * 104_729) % 1009) as f64 / 1009.0 * (1 + j % 3) as f64).collect()
            })
            .collect();
        let f = Features::from_rows(&rows).unwrap();
        let s = FeatureStats::from_features(&f, Contract { extractor: "x".into(), preprocess: "y".into() }).unwrap();
        let mean: Vec<f64> = (0..d).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64).collect();
        let centred: Vec<Vec<f64>> = (0..d).map(|j| rows.iter().map(|r| r[j] - mean[j]).collect()).collect();
        for a in 0..d {
            assert!((s.mean[a] - mean[a]).abs() < 1e-9);
            for b in 0..d {
                let want = centred[a].iter().zip(&centred[b]).map(|(x, y)| x * y).sum::<f64>() / (n - 1) as f64;
                let got = s.cov[a * d + b];
                assert!((got - want).abs() <= 1e-12 * want.abs().max(1e-3), "Σ[{a},{b}] = {got}, two-pass {want}");
                assert_eq!(got, s.cov[b * d + a], "Σ is exactly symmetric");
            }
        }
    }
}
