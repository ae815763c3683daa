//! VBench's frame transforms against torchvision: `golden/vbench_preprocess.json` holds what
//! torchvision's `Resize(n, BICUBIC, antialias=False) + CenterCrop(n)` (background consistency)
//! and `Resize(n, antialias=False)` (subject consistency) make of formula frames on uint8
//! tensors, written once by `golden/vbench_preprocess.py`. videval's
//! `Spatial::TorchShortSide` with `Filter::BicubicTorch` / `Filter::Bilinear` must give the same
//! sizes and the same 8-bit values (float rounding may move a value that sits on .5 by one level:
//! allowed for at most 0.5% of the values).

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

fn preprocess(transform: &str, short: u32) -> Preprocess {
    let base = if transform == "clip" { Preprocess::VBENCH_CLIP } else { Preprocess::VBENCH_DINO };
    let crop = if transform == "clip" { short } else { 0 };
    Preprocess { spatial: Spatial::TorchShortSide { short, crop }, ..base }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn vbench_frame_transforms_match_torchvision() {
    let golden: Value =
        serde_json::from_str(include_str!("golden/vbench_preprocess.json")).expect("golden/vbench_preprocess.json");
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 16);
    let (mut values, mut off_by_one) = (0usize, 0usize);
    for c in cases {
        let (w, h, k) =
            (c["w"].as_u64().unwrap() as u32, c["h"].as_u64().unwrap() as u32, c["frame"].as_u64().unwrap() as u32);
        let t = c["transform"].as_str().unwrap();
        let p = preprocess(t, c["short"].as_u64().unwrap() as u32);
        let ((ow, oh), _) = geometry(p.spatial, w, h);
        assert_eq!(
            (u64::from(ow), u64::from(oh)),
            (c["out_w"].as_u64().unwrap(), c["out_h"].as_u64().unwrap()),
            "{t} {w}x{h}"
        );
        let ours: Vec<u8> = spatial_frame_u8(&frame(w, h, k), w, h, &p).iter().map(|&v| v as u8).collect();
        assert!(spatial_frame_u8(&frame(w, h, k), w, h, &p).iter().all(|v| v.fract() == 0.0), "8-bit values");
        match c.get("rgb") {
            Some(rgb) => {
                let want: Vec<u8> = rgb.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
                assert_eq!(ours.len(), want.len());
                for (a, b) in ours.iter().zip(&want) {
                    values += 1;
                    match a.abs_diff(*b) {
                        0 => {}
                        1 => off_by_one += 1,
                        d => panic!("{t} {w}x{h}: a value differs by {d} levels"),
                    }
                }
            }
            None => {
                // The full-size case is kept as per-row sums (and a checksum, said when equal):
                // every row within the off-by-one allowance.
                let row = (ow * 3) as usize;
                let want = c["row_sums"].as_array().unwrap();
                assert_eq!(want.len(), oh as usize);
                for (y, w) in want.iter().enumerate() {
                    let got: i64 = ours[y * row..(y + 1) * row].iter().map(|&v| i64::from(v)).sum();
                    let diff = (got - w.as_i64().unwrap()).unsigned_abs() as usize;
                    assert!(diff * 200 <= row, "{t} {w}x{h}: row {y} sums to {got}, torchvision {w}");
                    off_by_one += diff;
                    values += row;
                }
                if sha256_hex(&ours) == c["sha256"].as_str().unwrap() {
                    eprintln!("{t} {w}x{h}: identical to torchvision");
                }
            }
        }
    }
    eprintln!("{off_by_one} of {values} values differ from torchvision by one level");
    assert!(off_by_one * 200 <= values, "{off_by_one} of {values} values differ by one level");
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
}
