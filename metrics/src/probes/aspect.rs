//! `aspect`: the output's width / height matches the requested ratio within the relative
//! tolerance, the picture fills the frame (no black letterbox or pillarbox bars), and circles are
//! round (an anamorphic squeeze keeps the frame's ratio but stretches the picture).

use super::{Aspect, Context, Verdict, parse_ratio};

/// A border band is a bar when it is this dark and this uniform across all frames: its mean level
/// under [`BAR_LEVEL`], and its pixels' spread under [`BAR_SPREAD`] (a night sky's dim but textured
/// top, mean 6.6 with a spread of 3.3, read as a bar).
const BAR_LEVEL: f64 = 12.0;
const BAR_SPREAD: f64 = 2.0;

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
    // A band's mean level and the spread of its pixels' levels.
    let band = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
        let (mut s, mut s2, mut n) = (0.0f64, 0.0f64, 0.0f64);
        for f in v.frames() {
            for y in ys.clone() {
                for x in xs.clone() {
                    let px = &f[(y * w + x) * 3..(y * w + x) * 3 + 3];
                    let l = px.iter().map(|&c| f64::from(c)).sum::<f64>() / 3.0;
                    s += l;
                    s2 += l * l;
                    n += 1.0;
                }
            }
        }
        let mean = s / n.max(1.0);
        (mean, (s2 / n.max(1.0) - mean * mean).max(0.0).sqrt())
    };
    let (bw, bh) = ((w / 20).max(1), (h / 20).max(1));
    let bars = [band(0..w, 0..bh), band(0..w, h - bh..h), band(0..bw, 0..h), band(w - bw..w, 0..h)];
    if bars.iter().any(|&(level, spread)| level < BAR_LEVEL && spread < BAR_SPREAD) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Video;

    /// A black band is a bar; a dim but textured one (a night sky) is picture.
    #[test]
    fn only_a_dark_and_uniform_border_is_a_bar() {
        let (w, h) = (64usize, 36usize);
        let frame = |top: &dyn Fn(usize) -> u8| -> Vec<u8> {
            (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .flat_map(|(x, y)| {
                    let l = if y < 6 { top(x * 31 + y * 17) } else { 90 + ((x * 7 + y * 3) % 40) as u8 };
                    [l, l, l]
                })
                .collect()
        };
        let want = serde_json::from_value::<Aspect>(serde_json::json!({"ratio": "16:9"})).unwrap();
        let judge = |top: &dyn Fn(usize) -> u8| {
            let data: Vec<u8> = (0..3).flat_map(|_| frame(top)).collect();
            check(&want, &Context::new(&Video::new(w as u32, h as u32, 8.0, data).unwrap()))
        };
        let black = judge(&|_| 0);
        assert!(!black.pass && black.kind == "black bars", "{black:?}");
        let night = judge(&|i| [2u8, 5, 9, 13, 4, 1, 8][i % 7]);
        assert_ne!(night.kind, "black bars", "{night:?}");
    }
}
