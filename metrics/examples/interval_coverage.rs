//! Simulated coverage of the FVD and KVD intervals (`distribution::interval`) on Gaussian
//! feature sets at the sizes users have: N = 72 and 512 videos, 8-, 16- and 128-d features (the
//! world encoder's width), one set N(0, I) against a shifted and scaled one and against the same
//! distribution. The targets are known: for the Fréchet distance its expectation at this N (the
//! mean of `reps` estimates), for KVD the population MMD² (the mean of the unbiased estimates).
//! Prints one line per setting; the closing notes and README quote it.
//!
//! ```sh
//! cargo run --release -p videval-metrics --example interval_coverage -- 400 [GROUPS] [DIMS] [SIZES]
//! ```

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use videval_metrics::distribution::interval::simulation::gaussian;
use videval_metrics::distribution::interval::{GROUPS, Scale, frechet_interval, interval, kvd_interval};
use videval_metrics::stats::bootstrap::student_t_two_sided;

fn sd(v: &[(f64, f64, f64)]) -> f64 {
    let m = v.iter().map(|x| x.0).sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x.0 - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

fn covered(v: &[(f64, f64, f64)]) -> f64 {
    let truth = v.iter().map(|x| x.0).sum::<f64>() / v.len() as f64;
    v.iter().filter(|(_, lo, hi)| *lo <= truth && truth <= *hi).count() as f64 / v.len() as f64
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(400);
    let groups: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(GROUPS);
    let dims: Vec<usize> =
        std::env::args().nth(3).map_or(vec![8, 16, 128], |s| s.split(',').map(|x| x.parse().unwrap()).collect());
    let sizes: Vec<usize> =
        std::env::args().nth(4).map_or(vec![72, 512], |s| s.split(',').map(|x| x.parse().unwrap()).collect());
    println!("reps {reps}, {groups} jackknife groups per set, 95% intervals");
    for &d in &dims {
        for &n in &sizes {
            for (label, shift, scale) in [("shifted", 0.3, 1.2), ("same distribution", 0.0, 1.0)] {
                let (mut lin, mut log, mut kv) = (Vec::new(), Vec::new(), Vec::new());
                for r in 0..reps {
                    let mut rng = ChaCha8Rng::seed_from_u64(7_000 + r as u64);
                    let a = gaussian(&mut rng, n, d, 0.0, 1.0);
                    let b = gaussian(&mut rng, n, d, shift, scale);
                    let (est, i) = frechet_interval(&a, &b, groups, 0.95, r as u64).unwrap().unwrap();
                    let critical = student_t_two_sided(0.95, i.degrees_of_freedom);
                    let (lo, hi) = interval(est, i.standard_error, critical, Scale::Linear);
                    lin.push((est, lo, hi));
                    log.push((est, i.lower, i.upper));
                    let (k, i) = kvd_interval(&a, &b, groups, 0.95, r as u64).unwrap().unwrap();
                    kv.push((k, i.lower, i.upper));
                }
                println!(
                    "d {d:>3}  N {n:>3}  {label:<17}  FD coverage: linear {:.3}, log {:.3} (sd of the estimates {:.4}, \
                     mean se {:.4})   KVD coverage {:.3} (sd {:.3e}, mean se {:.3e})",
                    covered(&lin),
                    covered(&log),
                    sd(&lin),
                    lin.iter().map(|x| (x.2 - x.1) / 3.92).sum::<f64>() / reps as f64,
                    covered(&kv),
                    sd(&kv),
                    kv.iter().map(|x| (x.2 - x.1) / 3.92).sum::<f64>() / reps as f64
                );
            }
        }
    }
}
