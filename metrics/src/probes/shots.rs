//! `shots`: hard cuts are frames whose mean absolute change is far above the clip's typical
//! change (> 3× the median and > 4% of the range). Across each cut the same colours are present
//! and every pair of objects at least 10 px across keeps its size ratio (box sizes) within 30%
//! (a closer shot scales all alike).

use std::collections::BTreeMap;

use super::{Context, Shots, Verdict, bound_words};
use crate::palette::Color;

fn cuts(ctx: &Context<'_>) -> Vec<usize> {
    // At the fixed analysis size, as `loop` and `continuity` compare frames: at full size a
    // CRF-35 encoder's grain refreshes read as 4–6 cuts in a static shot, and a pan's own
    // frame differences hid a real cut.
    let v = ctx.reduced();
    let diffs: Vec<f64> = (1..v.len())
        .map(|t| {
            let (a, b) = (v.frame(t - 1), v.frame(t));
            a.iter().zip(b).map(|(&x, &y)| f64::from(x.abs_diff(y))).sum::<f64>() / a.len() as f64 / 255.0
        })
        .collect();
    let mut sorted = diffs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    diffs.iter().enumerate().filter(|(_, d)| **d > 3.0 * median && **d > 0.04).map(|(i, _)| i + 1).collect()
}

/// Smallest box size (px) whose ratio to another is compared across a cut.
const MIN_SIZE: f64 = 10.0;

/// Colour → linear size (√ of the box area) of the objects seen in frame t. Box sizes scale
/// with a zoom regardless of how many anti-aliased edge pixels the segmentation keeps.
fn objects_at(ctx: &Context<'_>, t: usize) -> BTreeMap<Color, f64> {
    ctx.tracks()
        .iter()
        .filter_map(|tr| tr.frames.get(t).and_then(|o| o.as_ref()))
        .map(|o| (o.color, ((o.bbox[2] - o.bbox[0]) * (o.bbox[3] - o.bbox[1])).sqrt()))
        .collect()
}

pub fn check(p: &Shots, ctx: &Context<'_>) -> Verdict {
    let found = cuts(ctx);
    if let Some(b) = &p.cuts {
        if !b.contains(found.len() as f64) {
            return Verdict::new(
                false,
                "wrong number of cuts",
                Some(found.len() as f64),
                format!("{} cut(s), expected {}", found.len(), bound_words(b)),
            );
        }
    }
    // Cuts with no tracked object on either side test no identity (a clip of other things
    // entirely passed "the same objects keep colours"): not measurable, unless a count of cuts
    // was all that was asked.
    let seen_at_cut = found.iter().any(|&c| !objects_at(ctx, c - 1).is_empty() || !objects_at(ctx, c).is_empty());
    if !found.is_empty() && !seen_at_cut {
        let why =
            format!("{} cut(s), but no tracked object on either side of any: no identity to compare", found.len());
        return if p.cuts.is_some() {
            Verdict::new(true, "", Some(found.len() as f64), why)
        } else {
            Verdict::not_measurable(why)
        };
    }
    for &c in &found {
        let (before, after) = (objects_at(ctx, c - 1), objects_at(ctx, c));
        let (kb, ka): (Vec<Color>, Vec<Color>) = (before.keys().copied().collect(), after.keys().copied().collect());
        if kb != ka {
            let names = |v: &[Color]| v.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
            return Verdict::new(
                false,
                "objects change across a cut",
                Some(found.len() as f64),
                format!("cut at frame {c}: [{}] before, [{}] after", names(&kb), names(&ka)),
            );
        }
        let colors: Vec<&Color> = before.keys().collect();
        // Box sizes of objects under ~10 px carry ±1 px segmentation error each (±20%): their
        // ratios are not compared.
        let colors: Vec<&Color> = colors.into_iter().filter(|c| before[*c].min(after[*c]) >= MIN_SIZE).collect();
        for i in 0..colors.len() {
            for j in i + 1..colors.len() {
                let rb = before[colors[i]] / before[colors[j]];
                let ra = after[colors[i]] / after[colors[j]];
                if (ra / rb - 1.0).abs() > 0.3 {
                    return Verdict::new(
                        false,
                        "sizes change across a cut",
                        Some(found.len() as f64),
                        format!(
                            "cut at frame {c}: {} / {} size ratio {rb:.2} becomes {ra:.2}",
                            colors[i].name(),
                            colors[j].name()
                        ),
                    );
                }
            }
        }
    }
    Verdict::new(
        true,
        "",
        Some(found.len() as f64),
        format!("{} cut(s); the same objects keep colours and relative sizes", found.len()),
    )
}
