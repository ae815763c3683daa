//! The small dense solves the fits need (3–4 unknowns): Gauss–Jordan elimination with partial
//! pivoting, and least squares through the normal equations.

/// Solves `m · x = v` for square `m`; `None` when a pivot falls below `tiny` (singular).
pub fn solve(mut m: Vec<Vec<f64>>, mut v: Vec<f64>, tiny: f64) -> Option<Vec<f64>> {
    let n = v.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[p][c].abs() < tiny {
            return None;
        }
        m.swap(c, p);
        v.swap(c, p);
        for r in 0..n {
            if r != c {
                let f = m[r][c] / m[c][c];
                for k in c..n {
                    m[r][k] -= f * m[c][k];
                }
                v[r] -= f * v[c];
            }
        }
    }
    Some((0..n).map(|i| v[i] / m[i][i]).collect())
}

/// Least-squares coefficients of `y ≈ Σ coef_i · cols[i]`.
pub fn least_squares(cols: &[&[f64]], y: &[f64], tiny: f64) -> Option<Vec<f64>> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let m = cols.iter().map(|a| cols.iter().map(|b| dot(a, b)).collect()).collect();
    let v = cols.iter().map(|a| dot(a, y)).collect();
    solve(m, v, tiny)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_that_needs_pivoting_and_refuses_singular_ones() {
        // The first pivot is 0: without row swaps this fails.
        let x = solve(vec![vec![0.0, 2.0, 1.0], vec![1.0, 1.0, 0.0], vec![2.0, 0.0, 3.0]], vec![7.0, 3.0, 11.0], 1e-12)
            .unwrap();
        for (got, want) in x.iter().zip([1.0, 2.0, 3.0]) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0], 1e-12).is_none());
        let t = [0.0, 1.0, 2.0, 3.0];
        let y: Vec<f64> = t.iter().map(|t| 1.0 - 2.0 * t).collect();
        let c = least_squares(&[&[1.0; 4], &t], &y, 1e-12).unwrap();
        assert!((c[0] - 1.0).abs() < 1e-12 && (c[1] + 2.0).abs() < 1e-12);
    }
}
