//! The committed world encoder: held-out retrieval, and FVD-W behaving as a distance should —
//! small between two independent world sets, growing with the strength of every degradation.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use videval_metrics::Video;
use videval_metrics::degrade;
use videval_metrics::distribution::{FeatureStats, Features, frechet_distance};
use videval_models::encoders::manifest;
use videval_models::encoders::world::{WorldEncoder, retrieval_top1, world_clips};

fn encoder() -> (WorldEncoder, String) {
    let m = manifest::committed().expect("manifest");
    let dir = m.verify(&manifest::weights_root(), "world-encoder").expect("committed encoder verifies");
    let (sha, _) = manifest::sha256_file(&dir.join("model.safetensors")).expect("weights");
    (WorldEncoder::load(&dir, &candle_core::Device::Cpu).expect("loads"), sha)
}

#[test]
fn text_to_video_retrieval_is_far_above_chance_on_held_out_clips() {
    let (enc, _) = encoder();
    // Seed 77: groups never seen in training (training draws from its own seed's stream).
    let top1 = retrieval_top1(&enc, 4, 77).expect("retrieval");
    assert!(top1 > 8.0 / 32.0, "text→video top-1 among 32 = {top1:.3}; chance is 0.031");
}

#[test]
fn fvd_w_is_small_between_world_sets_and_grows_with_every_degradation() {
    let (enc, sha) = encoder();
    let n = 160;
    let (a, _) = world_clips(&mut ChaCha8Rng::seed_from_u64(1001), n);
    let (b, _) = world_clips(&mut ChaCha8Rng::seed_from_u64(2002), n);
    let stats = |videos: &[Video]| {
        let refs: Vec<&Video> = videos.iter().collect();
        let rows = enc.embed_videos(&refs).expect("embed");
        FeatureStats::from_features(&Features::from_rows(&rows).expect("finite"), enc.contract(&sha)).expect("stats")
    };
    let sa = stats(&a);
    let fvd = |videos: Vec<Video>| frechet_distance(&sa, &stats(&videos)).expect("distance");
    let clean = fvd(b.clone());
    let map = |f: &dyn Fn(&Video) -> Video| b.iter().map(f).collect::<Vec<_>>();
    type Degradation<'a> = (&'a str, Box<dyn Fn(&Video, usize) -> Video>);
    let cases: Vec<Degradation> = vec![
        ("blur radius 1, 2", Box::new(|v, s| degrade::blur(v, s))),
        ("noise sigma 12, 40", Box::new(|v, s| degrade::noise(v, [12.0, 40.0][s - 1], 9))),
        ("colour shift 25, 70", Box::new(|v, s| degrade::colour_shift(v, [25, 70][s - 1]))),
        ("shuffle 40%, 100% of frames", Box::new(|v, s| degrade::shuffle_frames(v, [0.4, 1.0][s - 1], 5))),
        ("freeze the last 40%, 90%", Box::new(|v, s| degrade::freeze_tail(v, [0.4, 0.9][s - 1]))),
    ];
    let mut table = format!("clean {clean:.4}\n");
    let mut bad = Vec::new();
    for (name, f) in &cases {
        let weak = fvd(map(&|v| f(v, 1)));
        let strong = fvd(map(&|v| f(v, 2)));
        table.push_str(&format!("{name}: {weak:.4}, {strong:.4}\n"));
        if !(clean < weak && weak < strong) {
            bad.push(*name);
        }
    }
    eprintln!("{table}");
    assert!(bad.is_empty(), "FVD-W not increasing for {bad:?}:\n{table}");
}

/// Metamorphic checks of the feature consistency metrics on world clips: a frozen clip is
/// perfectly consistent, shuffling frames lowers subject consistency, and painting the objects
/// out makes object motion invisible to background consistency.
#[test]
fn consistency_metrics_on_world_clips_frozen_shuffled_and_background_only() {
    use videval_metrics::Metric;
    use videval_metrics::feature_consistency::background_only;
    use videval_metrics::world_background_consistency::WorldBackgroundConsistency as BackgroundConsistency;
    use videval_metrics::world_subject_consistency::WorldSubjectConsistency as SubjectConsistency;
    let (enc, _) = encoder();
    let (clips, _) = world_clips(&mut ChaCha8Rng::seed_from_u64(3003), 24);
    let subject =
        |v: &Video| SubjectConsistency.measure_features(&enc.embed_frames(v).expect("features")).expect("score");
    let background = |v: &Video| {
        BackgroundConsistency
            .measure_features(&enc.embed_frames(&background_only(v)).expect("features"))
            .expect("score")
    };
    let (mut orig, mut shuffled) = (0.0, 0.0);
    for v in &clips {
        let frozen = degrade::freeze_tail(v, 1.0);
        assert!((subject(&frozen) - 1.0).abs() < 1e-9 && (background(&frozen) - 1.0).abs() < 1e-9);
        orig += subject(v);
        shuffled += subject(&degrade::shuffle_frames(v, 1.0, 7));
    }
    assert!(shuffled < orig, "shuffling should lower subject consistency: {shuffled} vs {orig} (sum over 24)");
    // A red square crossing a static gray frame: the subject changes, the background does not.
    let (w, h, n) = (32usize, 32usize, 17usize);
    let mut data = Vec::with_capacity(w * h * 3 * n);
    for t in 0..n {
        for y in 0..h {
            for x in 0..w {
                let inside = (10..16).contains(&y) && (t + 2..t + 8).contains(&x);
                data.extend_from_slice(if inside { &[230, 20, 20] } else { &[128, 128, 128] });
            }
        }
    }
    let v = Video::new(w as u32, h as u32, 8.0, data).expect("video");
    assert!((background(&v) - 1.0).abs() < 1e-9, "background_only leaves a static gray frame");
    assert!(subject(&v) < 1.0);
}
