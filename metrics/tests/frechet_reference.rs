//! The Fréchet distance against numpy/scipy float64 goldens (tests/golden/frechet_golden.py
//! produced tests/golden/frechet.json; the features are regenerated here from the same formula).
//! Tolerance 1e-6 relative: both sides are f64 with different summation orders and
//! eigensolvers, which agree to ~1e-12 on these well-conditioned cases; 1e-6 is the bar the
//! acceptance sets, far below any difference a reader of an FVD table could see.

use videval_metrics::distribution::{Contract, FeatureStats, Features, frechet_distance};

#[path = "support/formula.rs"]
mod formula;

fn features(set: &serde_json::Value, d: usize) -> Features {
    let get = |k: &str| set[k].as_f64().unwrap_or_default();
    formula::features(set["seed"].as_u64().unwrap_or_default(), get("n") as usize, d, get("scale"), get("shift"))
}

#[test]
fn matches_numpy_scipy_at_400_and_2048_dimensions_including_rank_deficient() {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("golden/frechet.json")).expect("golden/frechet.json parses");
    let contract = Contract { extractor: "formula".into(), preprocess: "none".into() };
    let cases = golden["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let d = case["dim"].as_u64().unwrap_or_default() as usize;
        let a = FeatureStats::from_features(&features(&case["a"], d), contract.clone()).expect("stats a");
        let b = FeatureStats::from_features(&features(&case["b"], d), contract.clone()).expect("stats b");
        let name = case["name"].as_str().unwrap_or_default();
        // The regenerated features are the golden ones (guards the formula, not just the result).
        let m0 = case["mean_a_0"].as_f64().unwrap_or_default();
        assert!((a.mean[0] - m0).abs() < 1e-12, "{name}: mean[0] {} vs {m0}", a.mean[0]);
        let c01 = case["cov_a_01"].as_f64().unwrap_or_default();
        assert!((a.cov[1] - c01).abs() < 1e-12, "{name}: cov[0][1] {} vs {c01}", a.cov[1]);
        let want = case["eigh"].as_f64().unwrap_or_default();
        let got = frechet_distance(&a, &b).expect("distance");
        assert!((got - want).abs() <= 1e-6 * want, "{name}: {got} vs numpy/scipy {want}");
        // The sqrtm route agrees where it stays real; where it is not exact (N < d) we are
        // closer to the symmetric formulation than scipy's sqrtm is.
        let sqrtm = case["sqrtm"].as_f64().unwrap_or_default();
        assert!((got - sqrtm).abs() <= 1e-6 * want, "{name}: {got} vs scipy sqrtm {sqrtm}");
    }
}
