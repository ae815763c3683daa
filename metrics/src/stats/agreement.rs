//! Agreement between metrics and people, and between people: Kendall's τ-b (ties on both sides),
//! Krippendorff's α for nominal labels (any number of raters, missing judgments allowed), and
//! Bradley–Terry strengths from pairwise wins (Hunter's MM algorithm).

/// Kendall's τ-b between `x` and `y` (same length): concordant minus discordant pairs over the
/// square root of the untied pairs on each side. `None` with fewer than two points or when either
/// side is constant (τ-b is undefined then). O(n²), which is fine for thousands of pairs.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    // Knight's O(n log n) count (what scipy does): sorted by (x, y), the pairs out of order in y
    // are the discordant ones; ties are counted from runs of equal values. The pairwise double
    // loop took 28 s on 20,000 pairs × 10 metrics.
    let n = x.len().min(y.len());
    if x[..n].iter().chain(&y[..n]).any(|v| v.is_nan()) {
        return None;
    }
    let zero = |v: f64| if v == 0.0 { 0.0 } else { v };
    let mut p: Vec<(f64, f64)> = x[..n].iter().zip(&y[..n]).map(|(&a, &b)| (zero(a), zero(b))).collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // Pairs tied in a key: Σ t(t−1)/2 over runs of equal keys (−0 and 0 are equal).
    let tied = |v: &[f64], same: &dyn Fn(usize, usize) -> bool| -> u64 {
        let (mut total, mut run) = (0u64, 1u64);
        for i in 1..v.len().max(1) {
            if same(i - 1, i) {
                run += 1;
            } else {
                total += run * (run - 1) / 2;
                run = 1;
            }
        }
        total + run * (run - 1) / 2
    };
    let xs: Vec<f64> = p.iter().map(|q| q.0).collect();
    let ties_x = tied(&xs, &|i, j| p[i].0 == p[j].0);
    let ties_xy = tied(&xs, &|i, j| p[i].0 == p[j].0 && p[i].1 == p[j].1);
    let mut ys: Vec<f64> = p.iter().map(|q| q.1).collect();
    let swaps = merge_count(&mut ys);
    let ties_y = tied(&ys, &|i, j| ys[i] == ys[j]);
    let n0 = (n as u64) * (n as u64).saturating_sub(1) / 2;
    let (n0x, n0y) = ((n0 - ties_x) as f64, (n0 - ties_y) as f64);
    if n0x == 0.0 || n0y == 0.0 {
        return None;
    }
    // Concordant − discordant = n0 − ties_x − ties_y + ties_xy − 2·discordant.
    let s = n0 as f64 - ties_x as f64 - ties_y as f64 + ties_xy as f64 - 2.0 * swaps as f64;
    Some(s / (n0x * n0y).sqrt())
}

/// Sorts `v` (a stable merge sort) and returns how many pairs were out of order (strictly
/// greater before smaller).
fn merge_count(v: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut swaps = merge_count(&mut v[..mid]) + merge_count(&mut v[mid..]);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if v[j] < v[i] {
            swaps += (mid - i) as u64;
            merged.push(v[j]);
            j += 1;
        } else {
            merged.push(v[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..]);
    v.copy_from_slice(&merged);
    swaps
}

/// Krippendorff's α for nominal values. `units[u][r]` is rater r's label of unit u (`None` when r
/// did not judge u). Units with fewer than two labels are not pairable and are left out. `None`
/// when fewer than two pairable labels remain or every label is the same (no expected
/// disagreement). From the coincidence matrix: α = 1 − (n − 1)·Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k.
pub fn krippendorff_alpha_nominal(units: &[Vec<Option<u32>>]) -> Option<f64> {
    use std::collections::BTreeMap;
    let mut o: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    for unit in units {
        // Per label its count in the unit: o[c][k] += n_c·(n_k − [c = k]) / (m − 1), which is
        // the sum over ordered pairs of distinct raters (that loop was m² per unit: 40,000
        // raters of one pair took 20 s).
        let mut counts: BTreeMap<u32, f64> = BTreeMap::new();
        for &v in unit.iter().flatten() {
            *counts.entry(v).or_default() += 1.0;
        }
        let m: f64 = counts.values().sum();
        if m < 2.0 {
            continue;
        }
        for (&c, &nc) in &counts {
            for (&k, &nk) in &counts {
                let pairs = nc * (nk - if c == k { 1.0 } else { 0.0 });
                if pairs > 0.0 {
                    *o.entry((c, k)).or_default() += pairs / (m - 1.0);
                }
            }
        }
    }
    let mut n_c: BTreeMap<u32, f64> = BTreeMap::new();
    for (&(c, _), &v) in &o {
        *n_c.entry(c).or_default() += v;
    }
    let n: f64 = n_c.values().sum();
    if n < 2.0 {
        return None;
    }
    let observed: f64 = o.iter().filter(|((c, k), _)| c != k).map(|(_, v)| v).sum();
    let total: f64 = n_c.values().sum::<f64>().powi(2) - n_c.values().map(|v| v * v).sum::<f64>();
    if total <= 0.0 {
        return None;
    }
    Some(1.0 - (n - 1.0) * observed / total)
}

/// Bradley–Terry log-strengths (mean zero) of `players` from `wins[(i, j)]`, the (possibly
/// fractional: a tie is half a win each) number of times i beat j. P(i beats j) =
/// 1 / (1 + exp(θ_j − θ_i)). `None` when the maximum-likelihood estimate does not exist: some
/// group of players never lost to the rest (the win graph is not strongly connected), or there
/// are no comparisons.
pub fn bradley_terry(players: usize, wins: &[(usize, usize, f64)]) -> Option<Vec<f64>> {
    if players < 2 {
        return None;
    }
    let mut w = vec![vec![0.0f64; players]; players];
    for &(i, j, x) in wins {
        if i < players && j < players && i != j && x > 0.0 {
            w[i][j] += x;
        }
    }
    // Strong connectivity of "i beat j at least fractionally" (transitive closure).
    let mut reach: Vec<Vec<bool>> =
        (0..players).map(|i| (0..players).map(|j| i == j || w[i][j] > 0.0).collect()).collect();
    for k in 0..players {
        for i in 0..players {
            for j in 0..players {
                if reach[i][k] && reach[k][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    if reach.iter().any(|r| r.iter().any(|&x| !x)) {
        return None;
    }
    // Newton's method on the concave log-likelihood, the last player's strength held at 0, each
    // step halved until the likelihood does not fall. (The minorise–maximise iteration used
    // before crawled when one player won nearly everything: stopped at 10,000 steps, 2e-7 short,
    // and said nothing.)
    let log_sigmoid = |x: f64| if x > 0.0 { -(-x).exp().ln_1p() } else { x - x.exp().ln_1p() };
    let likelihood = |t: &[f64]| -> f64 {
        let mut l = 0.0;
        for i in 0..players {
            for j in 0..players {
                if w[i][j] > 0.0 {
                    l += w[i][j] * log_sigmoid(t[i] - t[j]);
                }
            }
        }
        l
    };
    let free = players - 1;
    let scale: f64 = w.iter().flatten().sum::<f64>().max(1.0);
    // Converged when the gradient is zero to rounding: each term is at most the games played.
    let tolerance = 1e-11 * scale;
    let mut t = vec![0.0f64; players];
    let mut gradient_max = f64::INFINITY;
    for _ in 0..500 {
        let mut gradient = vec![0.0; free];
        let mut information = vec![vec![0.0; free]; free];
        for i in 0..players {
            for j in 0..players {
                let games = w[i][j] + w[j][i];
                if i == j || games == 0.0 {
                    continue;
                }
                let p = log_sigmoid(t[i] - t[j]).exp();
                if i < free {
                    gradient[i] += w[i][j] - games * p;
                    information[i][i] += games * p * (1.0 - p);
                    if j < free {
                        information[i][j] -= games * p * (1.0 - p);
                    }
                }
            }
        }
        gradient_max = gradient.iter().fold(0.0, |m, g| f64::max(m, g.abs()));
        if gradient_max <= tolerance {
            break;
        }
        let step = crate::stats::linalg::solve(information, gradient, 1e-300)?;
        // Halved while the likelihood falls by more than its rounding (near the estimate a full
        // step gains less than the sum's last digit, and refusing it stalled short of it).
        let before = likelihood(&t);
        let slack = 1e-12 * (1.0 + before.abs());
        let mut size = 1.0;
        let mut next = t.clone();
        for _ in 0..60 {
            next.iter_mut().zip(&t).zip(step.iter().chain(std::iter::once(&0.0))).for_each(|((n, t), d)| {
                *n = t + size * d;
            });
            if likelihood(&next) >= before - slack {
                break;
            }
            size /= 2.0;
        }
        t = next;
    }
    if gradient_max > tolerance || t.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mean = t.iter().sum::<f64>() / players as f64;
    Some(t.iter().map(|v| v - mean).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_b_matches_hand_computed_cases() {
        // Perfect agreement and perfect reversal.
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        // x = (1, 2, 2, 3), y = (1, 3, 2, 2): pairs (i<j): (1,2) C, (1,3) C, (1,4) C, (2,3) tie x,
        // (2,4) D, (3,4) tie y. C = 3, D = 1, ties_x = 1, ties_y = 1:
        // τ-b = 2 / √((3 + 1 + 1)·(3 + 1 + 1)) = 0.4.
        let t = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 2.0]).unwrap();
        assert!((t - 0.4).abs() < 1e-12, "{t}");
        // Preference signs with ties on both sides: x = (1, 1, 0, −1), y = (1, 0, 0, −1).
        // (1,2) tie x; (1,3) C; (1,4) C; (2,3) tie y; (2,4) C; (3,4) C → C = 4, D = 0,
        // n0x = 4 + 0 + 1 = 5 (ties in y only), n0y = 4 + 0 + 1 = 5: τ-b = 4 / 5.
        let t = kendall_tau_b(&[1.0, 1.0, 0.0, -1.0], &[1.0, 0.0, 0.0, -1.0]).unwrap();
        assert!((t - 0.8).abs() < 1e-12, "{t}");
        assert_eq!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]), None, "a constant side");
        assert_eq!(kendall_tau_b(&[1.0], &[1.0]), None);
    }

    /// The O(n log n) count equals the pairwise definition, ties and all.
    #[test]
    fn tau_b_equals_the_pairwise_count_on_tied_data() {
        let brute = |x: &[f64], y: &[f64]| {
            let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
            for i in 0..x.len() {
                for j in i + 1..x.len() {
                    let (dx, dy) = (
                        (x[i] - x[j]).signum() * f64::from(x[i] != x[j]),
                        (y[i] - y[j]).signum() * f64::from(y[i] != y[j]),
                    );
                    match (dx == 0.0, dy == 0.0) {
                        (true, true) => {}
                        (true, false) => tx += 1,
                        (false, true) => ty += 1,
                        _ if dx == dy => c += 1,
                        _ => d += 1,
                    }
                }
            }
            let (a, b) = ((c + d + ty) as f64, (c + d + tx) as f64);
            (a > 0.0 && b > 0.0).then(|| (c - d) as f64 / (a * b).sqrt())
        };
        let mut state = 7u64;
        let mut next = |k: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % k) as f64 - 1.0
        };
        for n in [0, 1, 2, 3, 7, 50, 301] {
            for levels in [2, 3, 10] {
                let x: Vec<f64> = (0..n).map(|_| next(levels)).collect();
                let y: Vec<f64> = (0..n).map(|_| next(3)).collect();
                match (kendall_tau_b(&x, &y), brute(&x, &y)) {
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "n {n}: {a} vs {b}"),
                    (a, b) => assert_eq!(a, b, "n {n}"),
                }
            }
        }
        assert_eq!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    }

    #[test]
    fn krippendorff_alpha_reproduces_the_published_example() {
        // Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with
        // four observers, twelve units and missing values: nominal α = 0.743.
        let rows: [[u32; 12]; 4] = [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
            [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
        ];
        let units: Vec<Vec<Option<u32>>> =
            (0..12).map(|u| rows.iter().map(|r| (r[u] != 0).then_some(r[u])).collect()).collect();
        let a = krippendorff_alpha_nominal(&units).unwrap();
        assert!((a - 0.743).abs() < 5e-4, "{a}");
        // Perfect agreement is 1; one label everywhere has no expected disagreement.
        let same: Vec<Vec<Option<u32>>> = (0..5).map(|u| vec![Some(u % 2), Some(u % 2)]).collect();
        assert_eq!(krippendorff_alpha_nominal(&same), Some(1.0));
        assert_eq!(krippendorff_alpha_nominal(&[vec![Some(1), Some(1)]]), None);
    }

    #[test]
    fn bradley_terry_recovers_strengths_and_refuses_an_unbeaten_player() {
        // Two players, 30 to 10: θ_a − θ_b = ln 3.
        let t = bradley_terry(2, &[(0, 1, 30.0), (1, 0, 10.0)]).unwrap();
        assert!((t[0] - t[1] - 3f64.ln()).abs() < 1e-9 && (t[0] + t[1]).abs() < 1e-12, "{t:?}");
        // Three players with true strengths 4 : 2 : 1 and expected win counts over 60 games per
        // pair: the MLE is exact.
        let s = [4.0f64, 2.0, 1.0];
        let mut wins = Vec::new();
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    wins.push((i, j, 60.0 * s[i] / (s[i] + s[j])));
                }
            }
        }
        let t = bradley_terry(3, &wins).unwrap();
        assert!((t[0] - t[1] - 2f64.ln()).abs() < 1e-6 && (t[1] - t[2] - 2f64.ln()).abs() < 1e-6, "{t:?}");
        // One player winning 1999 of 2000 against each of two others who never met: θ_a − θ_b =
        // ln 1999 exactly (the earlier iteration stopped short of such estimates after 10,000
        // steps by 2e-7, with a gradient of 6e-7, and said nothing).
        let t = bradley_terry(3, &[(0, 1, 1999.0), (1, 0, 1.0), (0, 2, 1999.0), (2, 0, 1.0)]).unwrap();
        assert!((t[0] - 2.0 / 3.0 * 1999f64.ln()).abs() < 1e-12, "{t:?}");
        assert!((t[1] - t[2]).abs() < 1e-12 && t.iter().sum::<f64>().abs() < 1e-12, "{t:?}");
        // Random tournaments of 2 to 7 players, some lopsided: the gradient of the likelihood is
        // zero at every estimate (the step-halving rule stopped 1e-9 to 9e-8 short in 46 of
        // 3,000 such fits when it refused steps that gained less than rounding).
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2000 {
            let n = rng.random_range(2..8usize);
            let skill: Vec<f64> = (0..n).map(|_| rng.random_range(-4.0..4.0)).collect();
            let mut wins = Vec::new();
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        let games = rng.random_range(1..200) as f64;
                        let p = 1.0 / (1.0 + (skill[j] - skill[i]).exp());
                        wins.push((i, j, (games * p).round().max(0.5)));
                    }
                }
            }
            let t = bradley_terry(n, &wins).unwrap();
            let total: f64 = wins.iter().map(|w| w.2).sum();
            for i in 0..n {
                let mut g = 0.0;
                for &(a, b, x) in &wins {
                    let p = 1.0 / (1.0 + (t[b] - t[a]).exp());
                    if a == i {
                        g += x * (1.0 - p);
                    } else if b == i {
                        g -= x * (1.0 - p);
                    }
                }
                assert!(g.abs() <= 1e-9 * total, "gradient {g} at {t:?}");
            }
        }
        // A player who never lost: no finite estimate.
        assert_eq!(bradley_terry(2, &[(0, 1, 5.0)]), None);
        assert_eq!(bradley_terry(3, &[(0, 1, 1.0), (1, 0, 1.0)]), None, "player 2 never played");
    }
}
