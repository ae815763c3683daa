//! `shots`: hard cuts are frames whose mean absolute change is far above the clip's typical
//! change (> 3× the median and > 4% of the range). Across each cut the same colours are present
//! and every pair of objects at least 10 px across keeps its size ratio (box sizes) within 30%
//! (a closer shot scales all alike). A jump the picture comes back from within [`FLASH`] frames
//! through flat frames or frames of the same picture in other tones (a flash) is no cut, nor
//! flat frames opening or closing the clip, nor a jump that keeps the picture and changes only
//! each channel's level and contrast (a white-balance or exposure shift): all are said, never
//! counted (a 2-frame brightness flicker read as 2 cuts, a colour shift as 1). A frame of
//! another scene is two cuts however soon the picture comes back.

use std::collections::BTreeMap;

use super::{Context, Shots, Verdict, bound_words};
use crate::palette::Color;

/// The most frames a flash lasts: a jump the picture returns from within it is no cut.
const FLASH: usize = 2;

/// The cuts (each the first frame after one), the flashes (each its first frame) and the shifts
/// of tone (each the first frame after one), found once a clip.
fn cuts<'c>(ctx: &'c Context<'_>) -> &'c (Vec<usize>, Vec<usize>, Vec<usize>) {
    ctx.analysis().cuts.get_or_init(|| find_cuts(ctx))
}

fn find_cuts(ctx: &Context<'_>) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    // At the fixed analysis size, as `loop` and `continuity` compare frames: at full size a
    // CRF-35 encoder's grain refreshes read as 4–6 cuts in a static shot, and a pan's own
    // frame differences hid a real cut.
    let v = ctx.reduced();
    let diff = |s: usize, t: usize| {
        let (a, b) = (v.frame(s), v.frame(t));
        a.iter().zip(b).map(|(&x, &y)| f64::from(x.abs_diff(y))).sum::<f64>() / a.len() as f64 / 255.0
    };
    // Consecutive frames' differences, shared with the other probes (in 8-bit levels there).
    let (steps, median) = ctx.steps();
    let diffs: Vec<f64> = steps.iter().map(|d| d / 255.0).collect();
    let median = median / 255.0;
    // A jump between frames `span` steps apart: far above what the clip moves in that many.
    let jump = |d: f64, span: usize| d > 3.0 * median * span as f64 && d > 0.04;
    // The same distance with each channel of each frame standardised (its mean and spread
    // taken out): a shift of exposure or white balance keeps the picture, a cut does not. None
    // where a channel is flat (a black frame has no picture to compare).
    let standard = |t: usize| -> Option<Vec<f64>> {
        let f = v.frame(t);
        let mut out = vec![0.0; f.len()];
        for c in 0..3 {
            let vals: Vec<f64> = f.iter().skip(c).step_by(3).map(|&x| f64::from(x)).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let sd = (vals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
            if sd < 2.0 {
                return None;
            }
            for (k, x) in vals.iter().enumerate() {
                out[k * 3 + c] = (x - mean) / sd;
            }
        }
        Some(out)
    };
    let standard_diff = |s: usize, t: usize| -> Option<f64> {
        let (a, b) = (standard(s)?, standard(t)?);
        Some(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64)
    };
    // A flat frame (black, white, one colour): no picture.
    let flat = |t: usize| standard(t).is_none();
    // What the clip's own motion gives a standardised step next to the jump at t: the smaller
    // of the steps before and after it (the step after a glitch frame is the jump out of it).
    let own_standard = |t: usize| {
        let before = if t >= 2 { standard_diff(t - 2, t - 1) } else { None };
        let after = if t + 1 < v.len() { standard_diff(t, t + 1) } else { None };
        match (before, after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    // Frame f shows frame s's picture in other tones: their standardised distance at most 0.06
    // standard deviations a pixel beyond the clip's own step (a white-balance shift at 480p
    // added 0.03-0.04 with its clipping and codec; a cut adds 0.3-1).
    let same_picture =
        |s: usize, f: usize, own: Option<f64>| standard_diff(s, f).zip(own).is_some_and(|(d, own)| d <= own + 0.06);
    let (mut found, mut flashes, mut shifts) = (Vec::new(), Vec::new(), Vec::new());
    let mut t = 1;
    while t < v.len() {
        if !jump(diffs[t - 1], 1) {
            t += 1;
            continue;
        }
        // Flat frames opening or closing the clip (a white first frame, a fade from black) are
        // no second shot: a flash.
        if (0..t).all(flat) || (t..v.len()).all(flat) {
            flashes.push(t);
            t += 1;
            continue;
        }
        // Back within FLASH frames: the frame before and frame j differ by what the clip moves
        // in as many frames just before (or after) them, and by well under the jump, so frames
        // t..j were a flash (a cut's frames after it stay as far; a pan's own change over three
        // frames is no jump).
        // Its frames are flat or the same picture in other tones: a frame of another scene the
        // picture comes back from is two cuts (a glitch frame passed as a flash).
        let own = own_standard(t);
        let back = (t + 1..=(t + FLASH).min(v.len() - 1))
            .find(|&j| {
                let (d, span) = (diff(t - 1, j), j - t + 1);
                let moved = if t > span {
                    Some(diff(t - 1 - span, t - 1))
                } else {
                    (j + span < v.len()).then(|| diff(j, j + span))
                };
                d <= 0.75 * diffs[t - 1] && moved.map_or(!jump(d, span), |m| d <= 1.5 * m + 0.01)
            })
            .filter(|&j| (t..j).all(|f| flat(f) || same_picture(t - 1, f, own)));
        match back {
            Some(j) => {
                flashes.push(t);
                t = j + 1;
            }
            None => {
                if same_picture(t - 1, t, own) {
                    shifts.push(t)
                } else {
                    found.push(t)
                }
                t += 1;
            }
        }
    }
    (found, flashes, shifts)
}

/// Smallest box size (px) whose ratio to another is compared across a cut.
const MIN_SIZE: f64 = 10.0;

/// The hard cuts of the clip (each the first frame after one): flashes and shifts of tone left
/// out.
pub(super) fn cut_frames(ctx: &Context<'_>) -> Vec<usize> {
    cuts(ctx).0.clone()
}

/// The objects seen in frame t, by colour, of the colours seen once there.
pub(super) fn objects_alone_at<'c>(ctx: &'c Context<'_>, t: usize) -> BTreeMap<Color, &'c crate::track::Observation> {
    let mut by_color: BTreeMap<Color, Vec<&crate::track::Observation>> = BTreeMap::new();
    for o in ctx.tracks().iter().filter_map(|tr| tr.frames.get(t).and_then(|o| o.as_ref())) {
        by_color.entry(o.color).or_default().push(o);
    }
    by_color.into_iter().filter(|(_, v)| v.len() == 1).map(|(c, v)| (c, v[0])).collect()
}

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
    let (found, flashes, shifts) = cuts(ctx);
    let frames = |f: &[usize]| f.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
    let mut not_cuts = Vec::new();
    if !flashes.is_empty() {
        not_cuts.push(format!(
            "{} flash(es) at frame(s) {}: flat frames, or the picture back within {FLASH} frames",
            flashes.len(),
            frames(&flashes)
        ));
    }
    if !shifts.is_empty() {
        not_cuts.push(format!(
            "{} shift(s) of brightness or colour at frame(s) {}: the same picture in other tones",
            shifts.len(),
            frames(&shifts)
        ));
    }
    let flash_words = if not_cuts.is_empty() { String::new() } else { format!(" ({}; no cuts)", not_cuts.join("; ")) };
    if let Some(b) = &p.cuts {
        if !b.contains(found.len() as f64) {
            return Verdict::new(
                false,
                "wrong number of cuts",
                Some(found.len() as f64),
                format!("{} cut(s), expected {}{flash_words}", found.len(), bound_words(b)),
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
    for &c in found {
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
        format!("{} cut(s); the same objects keep colours and relative sizes{flash_words}", found.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::Bound;
    use crate::video::Video;

    /// A textured still picture (a fixed pseudo-random pattern per `scene`) at brightness `gain`.
    fn frame(scene: u64, gain: f64) -> Vec<u8> {
        let mut s = scene.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..128 * 96 * 3)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (f64::from((s % 160) as u8 + 40) * gain).min(255.0) as u8
            })
            .collect()
    }

    /// A two-frame brightness flash is said as a flash, not counted as two cuts; a cut to
    /// another picture is still a cut.
    #[test]
    fn a_flash_the_picture_comes_back_from_is_no_cut() {
        let clip = |frames: Vec<Vec<u8>>| Video::new(128, 96, 8.0, frames.concat()).unwrap();
        let flash = clip((0..16).map(|t| frame(1, if (6..8).contains(&t) { 1.35 } else { 1.0 })).collect());
        let one_shot = Shots { cuts: Some(Bound { max: Some(0.0), ..Bound::default() }) };
        let v = check(&one_shot, &Context::new(&flash));
        assert_eq!(find_cuts(&Context::new(&flash)), (vec![], vec![6], vec![]));
        assert!(v.pass && v.reason.contains("1 flash(es) at frame(s) 6"), "{v:?}");
        let cut = clip((0..16).map(|t| frame(if t < 9 { 1 } else { 2 }, 1.0)).collect());
        assert_eq!(find_cuts(&Context::new(&cut)), (vec![9], vec![], vec![]));
        assert!(!check(&one_shot, &Context::new(&cut)).pass);
        // Three bright frames are longer than a flash: two shifts of tone, no cut.
        let long = clip((0..16).map(|t| frame(1, if (6..9).contains(&t) { 1.35 } else { 1.0 })).collect());
        assert_eq!(find_cuts(&Context::new(&long)), (vec![], vec![], vec![6, 9]));
        // A black frame has no picture to standardise: into and out of it is a flash.
        let black = clip((0..16).map(|t| frame(1, if t == 6 { 0.0 } else { 1.0 })).collect());
        assert_eq!(find_cuts(&Context::new(&black)), (vec![], vec![6], vec![]));
        // A pan cut to another pan: still a cut, however much the pan itself moves.
        let pan = |scene: u64, t: usize| -> Vec<u8> {
            let k = 2.0 + scene as f64;
            (0..96 * 128)
                .flat_map(|i| {
                    let (x, y) = ((i % 128 + t) as f64 / 128.0, (i / 128) as f64 / 96.0);
                    let v = |c: f64| {
                        (128.0 + 90.0 * (std::f64::consts::TAU * (k * x + c)).sin() * (3.0 * y + c).cos()) as u8
                    };
                    [v(0.0), v(0.3 * k), v(0.7)]
                })
                .collect()
        };
        let pans = clip((0..16).map(|t| pan(if t < 9 { 1 } else { 2 }, t)).collect());
        assert_eq!(find_cuts(&Context::new(&pans)), (vec![9], vec![], vec![]));
        // A frame of another scene the picture comes back from: two cuts, no flash.
        let glitch = clip((0..16).map(|t| frame(if t == 6 { 2 } else { 1 }, 1.0)).collect());
        assert_eq!(find_cuts(&Context::new(&glitch)), (vec![6, 7], vec![], vec![]));
        // A white first frame, and white last ones: flashes, no second shot.
        let white = vec![255u8; 128 * 96 * 3];
        let start = clip((0..16).map(|t| if t == 0 { white.clone() } else { frame(1, 1.0) }).collect());
        assert_eq!(find_cuts(&Context::new(&start)), (vec![], vec![1], vec![]));
        let end = clip((0..16).map(|t| if t >= 13 { white.clone() } else { frame(1, 1.0) }).collect());
        assert_eq!(find_cuts(&Context::new(&end)), (vec![], vec![13], vec![]));
        // A cut to black that lasts to the end is no second shot either.
        let fade = clip((0..16).map(|t| frame(1, if t >= 9 { 0.0 } else { 1.0 })).collect());
        assert_eq!(find_cuts(&Context::new(&fade)), (vec![], vec![9], vec![]));
    }
}
