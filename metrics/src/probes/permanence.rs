//! `permanence`: an object that disappears (behind an occluder or out of frame) comes back as
//! itself: the same track reappears with the same colour and shape and a similar size. A colour
//! swapped while hidden breaks the track and fails. An object never hidden, not even in part,
//! tests no permanence: not measurable (a frozen clip of a ball that should pass behind a pillar
//! passed with "hidden 0 frame(s)"); nor does one first seen mid-clip inside the frame (what came
//! out from behind the pillar was not seen going in).

use super::{Context, Permanence, Verdict};
use crate::track::Observation;

/// Under this share of its largest visible area, an object counts as partly hidden.
const PARTLY_HIDDEN: f64 = 0.5;

pub fn check(p: &Permanence, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let seen: Vec<usize> = track.seen().map(|(t, _)| t).collect();
    let gaps = seen.windows(2).filter(|w| w[1] > w[0] + 1).count();
    let total = ctx.video.len();
    let (first, last) = (seen[0], seen[seen.len() - 1]);
    let (w, h) = (f64::from(ctx.video.width()), f64::from(ctx.video.height()));
    let at_edge =
        |o: &Observation| o.bbox[0] <= 1.0 || o.bbox[1] <= 1.0 || o.bbox[2] >= w - 1.0 || o.bbox[3] >= h - 1.0;
    // Hidden in part: at some point under half its largest visible area, away from the frame's
    // edges (there the frame cuts it: an object leaving shrinks without being hidden).
    let areas: Vec<f64> = track.seen().filter(|(_, o)| !at_edge(o)).map(|(_, o)| o.area).collect();
    let largest = areas.iter().copied().fold(0.0, f64::max);
    let covered = areas.iter().any(|&a| a < PARTLY_HIDDEN * largest);
    let hidden = seen.windows(2).map(|w| w[1] - w[0] - 1).sum::<usize>();
    // First seen well after the start, inside the frame: nothing before tests that it stays
    // itself (a green cup went behind a pillar and a red one came out: the red one passed as
    // "same identity"; a ball that rolls out from behind a wall is no failure either).
    if let Some((_, o)) = track.first()
        && ctx.late(first)
        && !at_edge(o)
    {
        return Verdict::not_measurable(format!(
            "first seen at frame {first}, inside the frame: not seen before, so nothing tests that it stays itself"
        ));
    }
    // Gone for good: last seen well before the end, farther from the frame's edges than its own
    // size (one step of a fast ball takes it out from there: it "vanished" at the border).
    if let Some((_, o)) = track.last() {
        if last + 2 < total && !super::near_border(o, w, h) {
            return Verdict::new(
                false,
                "vanishes",
                Some(hidden as f64),
                format!("vanishes at frame {} and never comes back", last + 1),
            );
        }
    }
    if gaps == 0 && !covered && last + 2 >= total {
        return Verdict::not_measurable(format!(
            "never hidden: seen whole in frames {first}–{last}, so nothing tests that it stays itself"
        ));
    }
    // Gone out of the frame for good, never out of sight before: nothing comes back to be tested
    // (a ball rolling out at frame 38 passed as "hidden 0 frame(s), same identity"; a fast one,
    // blurred smaller in some frames, too).
    if gaps == 0 && last + 2 < total {
        return Verdict::not_measurable(format!(
            "leaves the frame at frame {} and does not come back, never out of sight before: nothing tests that it stays itself",
            last + 1
        ));
    }
    // Compare how the object looks in the first and the last third of its sightings: modal
    // colour and shape, and largest area (robust to partial occlusion). An occluder may leave a
    // sliver visible, so the track need not break for the identity to be tested.
    let third = (seen.len() / 3).max(1);
    // Within each third only whole sightings count (area within 80% of the third's largest): a
    // shape half behind the occluder is not its shape.
    let split_at = |after: bool| -> Vec<&Observation> {
        let frames = if after { &seen[seen.len() - third..] } else { &seen[..third] };
        let obs: Vec<&Observation> = frames.iter().filter_map(|&t| track.frames[t].as_ref()).collect();
        let largest = obs.iter().map(|o| o.area).fold(0.0, f64::max);
        obs.into_iter().filter(|o| o.area >= 0.8 * largest).collect()
    };
    let (before, after) = (split_at(false), split_at(true));
    let modal = |obs: &[&Observation], f: &dyn Fn(&Observation) -> String| {
        let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for o in obs {
            *counts.entry(f(o)).or_default() += 1;
        }
        counts.into_iter().max_by_key(|c| c.1).map(|c| c.0).unwrap_or_default()
    };
    let max_area = |obs: &[&Observation]| obs.iter().map(|o| o.area).fold(0.0, f64::max);
    // (kind, reason) of each problem; the first names the failure.
    let mut problems: Vec<(&str, String)> = Vec::new();
    let (ca, cb) = (modal(&before, &|o| o.color.name().into()), modal(&after, &|o| o.color.name().into()));
    if p.same_color && ca != cb {
        problems.push(("comes back another colour", format!("comes back {cb} instead of {ca}")));
    }
    // Shape classes are unreliable below ~80 px of area (a few pixels across).
    let (sa, sb) = (modal(&before, &|o| o.shape.name().into()), modal(&after, &|o| o.shape.name().into()));
    if p.same_shape && sa != sb && max_area(&before).min(max_area(&after)) >= 80.0 {
        problems.push(("comes back another shape", format!("comes back a {sb} instead of a {sa}")));
    }
    let ratio = max_area(&after) / max_area(&before).max(1.0);
    if gaps > 0 && !(0.5..=2.0).contains(&ratio) {
        problems.push(("comes back another size", format!("comes back {ratio:.2}× its size")));
    }
    let pass = problems.is_empty();
    let reason = if pass {
        format!("seen frames {first}–{last}, hidden {hidden} frame(s) in {gaps} gap(s), same identity")
    } else {
        problems.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
    };
    Verdict::new(pass, problems.first().map_or("", |p| p.0), Some(hidden as f64), reason)
}
