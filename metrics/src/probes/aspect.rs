//! `aspect`: the output's width / height matches the requested ratio within the relative
//! tolerance, the picture fills the frame (no black letterbox or pillarbox bars), and circles are
//! round (an anamorphic squeeze keeps the frame's ratio but stretches the picture).

use super::{Aspect, Context, Verdict, parse_ratio};

/// A border band is a bar when it is this dark and this uniform across all frames.
const BAR_LEVEL: f64 = 12.0;

pub fn check(p: &Aspect, ctx: &Context<'_>) -> Verdict {
    let Some(want) = parse_ratio(&p.ratio) else {
        return Verdict::fail("bad expectation", format!("bad ratio \"{}\"", p.ratio));
    };
    let v = ctx.video;
    let got = f64::from(v.width()) / f64::from(v.height());
    let err = (got / want - 1.0).abs();
    if err > p.tolerance {
        return Verdict::new(
            false,
            "wrong aspect ratio",
            Some(got),
            format!("aspect {got:.4} vs {want:.4} requested ({:.1}% off)", 100.0 * err),
        );
    }
    let (w, h) = (v.width() as usize, v.height() as usize);
    let band = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
        let (mut s, mut n) = (0.0f64, 0.0f64);
        for f in v.frames() {
            for y in ys.clone() {
                for x in xs.clone() {
                    let px = &f[(y * w + x) * 3..(y * w + x) * 3 + 3];
                    s += px.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0;
                    n += 1.0;
                }
            }
        }
        s / n.max(1.0)
    };
    let (bw, bh) = ((w / 20).max(1), (h / 20).max(1));
    let bars = [band(0..w, 0..bh), band(0..w, h - bh..h), band(0..bw, 0..h), band(w - bw..w, 0..h)];
    if bars.iter().any(|&l| l < BAR_LEVEL) {
        return Verdict::new(false, "black bars", Some(got), format!("aspect {got:.4} but the picture has black bars"));
    }
    // Anamorphic squeezes keep the frame's ratio but stretch the picture: circles must stay round.
    for t in ctx.tracks() {
        let boxes: Vec<f64> = t
            .seen()
            .filter(|(_, o)| o.shape == crate::palette::Shape::Circle && o.area >= 50.0)
            .map(|(_, o)| (o.bbox[2] - o.bbox[0]) / (o.bbox[3] - o.bbox[1]))
            .collect();
        if boxes.len() >= 2 {
            let mut sorted = boxes.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            if !(0.87..=1.15).contains(&median) {
                return Verdict::new(
                    false,
                    "picture stretched",
                    Some(got),
                    format!("aspect {got:.4} but circles are stretched (box width/height {median:.2})"),
                );
            }
        }
    }
    Verdict::new(true, "", Some(got), format!("aspect {got:.4} ({} requested), circles round", p.ratio))
}
