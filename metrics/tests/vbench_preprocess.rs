//! VBench's frame transforms against torchvision: `golden/vbench_preprocess.json` holds what
//! torchvision's `Resize(n, BICUBIC, antialias=False) + CenterCrop(n)` (background consistency,
//! aesthetic quality) and `Resize(n, antialias=False)` (subject consistency) make of formula
//! frames as float32 tensors — VBench's `load_video` hands 8-bit frames on as `torch.Tensor`, so
//! nothing is rounded back to 8 bits and bicubic overshoot stays — written once by
//! `golden/vbench_preprocess.py` (values to 1e-3). videval's `Spatial::TorchShortSide` with
//! `Filter::BicubicTorch` / `Filter::Bilinear` must give the same sizes and the same values within
//! 2e-3 of a level (the golden's rounding plus float32 sums).

use serde_json::Value;
use videval_metrics::preprocess::{Filter, FrameSampling, Normalise, Preprocess, Spatial, geometry, spatial_frame_u8};

fn frame(w: u32, h: u32, k: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                out.push(((3 * x * x + 7 * y + 50 * c + x * y + 13 * k) % 256) as u8);
            }
        }
    }
    out
}

fn preprocess(transform: &str, case: &Value) -> Preprocess {
    if transform == "musiq" {
        let long = case["long"].as_u64().unwrap() as u32;
        return Preprocess { spatial: Spatial::TorchLongSide { long }, ..Preprocess::VBENCH_MUSIQ };
    }
    let short = case["short"].as_u64().unwrap() as u32;
    let base = if transform == "clip" { Preprocess::VBENCH_CLIP } else { Preprocess::VBENCH_DINO };
    let crop = if transform == "clip" { short } else { 0 };
    Preprocess { spatial: Spatial::TorchShortSide { short, crop }, ..base }
}

#[test]
fn vbench_frame_transforms_match_torchvision() {
    let golden: Value =
        serde_json::from_str(include_str!("golden/vbench_preprocess.json")).expect("golden/vbench_preprocess.json");
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 24);
    let (mut values, mut worst, mut overshoot) = (0usize, 0.0f64, 0usize);
    for c in cases {
        let (w, h, k) =
            (c["w"].as_u64().unwrap() as u32, c["h"].as_u64().unwrap() as u32, c["frame"].as_u64().unwrap() as u32);
        let t = c["transform"].as_str().unwrap();
        let p = preprocess(t, c);
        let ((ow, oh), _) = geometry(p.spatial, w, h);
        assert_eq!(
            (u64::from(ow), u64::from(oh)),
            (c["out_w"].as_u64().unwrap(), c["out_h"].as_u64().unwrap()),
            "{t} {w}x{h}"
        );
        let ours = spatial_frame_u8(&frame(w, h, k), w, h, &p);
        match c.get("rgb") {
            Some(rgb) => {
                let want: Vec<f64> = rgb.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                assert_eq!(ours.len(), want.len());
                for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
                    let d = (f64::from(*a) - b).abs();
                    assert!(d <= 2e-3, "{t} {w}x{h}: value {i} is {a}, torchvision {b}");
                    worst = worst.max(d);
                    values += 1;
                    overshoot += usize::from(!(0.0..=255.0).contains(b));
                }
            }
            None => {
                // The full-size case is kept as per-row sums: each within 1e-5 relative.
                let row = (ow * 3) as usize;
                let want = c["row_sums"].as_array().unwrap();
                assert_eq!(want.len(), oh as usize);
                for (y, s) in want.iter().enumerate() {
                    let got: f64 = ours[y * row..(y + 1) * row].iter().map(|&v| f64::from(v)).sum();
                    let s = s.as_f64().unwrap();
                    assert!(
                        (got - s).abs() <= 1e-5 * s.abs().max(1.0),
                        "{t} {w}x{h}: row {y} sums to {got}, torchvision {s}"
                    );
                    values += row;
                }
            }
        }
    }
    eprintln!("{values} values; largest difference from torchvision {worst:.1e} levels");
    // The formula frames' sharp edges make bicubic overshoot: kept, as VBench keeps it.
    assert!(overshoot > 0, "the golden should exercise values outside 0..=255");
}

#[test]
fn vbench_transforms_are_every_frame_with_their_networks_statistics() {
    assert_eq!(Preprocess::VBENCH_CLIP.frames, FrameSampling::All);
    assert_eq!(Preprocess::VBENCH_CLIP.normalise, Normalise::ClipMeanStd);
    assert_eq!(Preprocess::VBENCH_CLIP.filter, Filter::BicubicTorch);
    assert_eq!(Preprocess::VBENCH_DINO.normalise, Normalise::ImageNetMeanStd);
    assert_eq!(Preprocess::VBENCH_DINO.filter, Filter::Bilinear);
    // The aspect is kept without a crop for DINO: 1920x1080 → 398x224 (398.2 truncated).
    assert_eq!(geometry(Preprocess::VBENCH_DINO.spatial, 1920, 1080).0, (398, 224));
    // 854x480 → 398 (398.5 truncated, where rounding would give 399).
    assert_eq!(geometry(Preprocess::VBENCH_DINO.spatial, 854, 480).0, (398, 224));
    // Imaging quality: the longer side to 512, only when larger.
    assert_eq!(Preprocess::VBENCH_MUSIQ.normalise, Normalise::Unit);
    assert_eq!(geometry(Preprocess::VBENCH_MUSIQ.spatial, 1920, 1080).0, (512, 288));
    assert_eq!(geometry(Preprocess::VBENCH_MUSIQ.spatial, 720, 1280).0, (288, 512));
    assert_eq!(geometry(Preprocess::VBENCH_MUSIQ.spatial, 854, 480).0, (512, 287));
    assert_eq!(geometry(Preprocess::VBENCH_MUSIQ.spatial, 512, 320).0, (512, 320));
}
