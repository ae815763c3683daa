//! `framing`: the object stays inside the frame (seen, its box clear of the border, in at least
//! 90% of frames), or — with `inside: false` — leaves it (seen inside the frame in under 90% of
//! the frames, and out of it, or cut by its border, after being in it: a ball rolling in and
//! staying passed as leaving; one going out and coming back left).
//!
//! A frame where the object is not seen is out of the frame when a sighting next to it (the last
//! before or the first after) lies within the object's own size of the border: it went out, or
//! is coming in. Where both lie clear of the border and one of them shows it partly covered
//! (under [`PARTLY`] of its usual area: going behind something, or coming out), it was hidden in
//! the picture and counts as inside (`permanence` passed a cup hidden 15 frames by another that
//! `framing` failed as "lost from view"). Otherwise — seen whole on both sides, or before its
//! first or after its last sighting — it was lost in the middle of the picture (it vanished or
//! changed, or the tracker lost it: a ball popping out of view at full size and back). Staying
//! inside, such frames count against it, as "lost from view" where they outnumber those at or
//! past the border (a still ball in mid-picture, found in 9 of 48 frames, read "leaves the
//! frame"). Leaving, they say nothing of the frame and are left out: a vanishing object has not
//! left; fewer than half the frames left, not measurable.

use super::{Context, Framing, Verdict};
use crate::track::Observation;

/// Under this share of its usual area, a sighting next to a gap shows the object partly covered.
const PARTLY: f64 = 0.7;

pub fn check(p: &Framing, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    judge(&track.frames, f64::from(ctx.video.width()), f64::from(ctx.video.height()), p.inside)
}

/// The verdict on a track's frames in a `w × h` picture, for an object expected inside or not.
fn judge(frames: &[Option<Observation>], w: f64, h: f64, expect_inside: bool) -> Verdict {
    let n = frames.len();
    let touches =
        |o: &Observation| o.bbox[0] <= 0.5 || o.bbox[1] <= 0.5 || o.bbox[2] >= w - 0.5 || o.bbox[3] >= h - 0.5;
    let near_edge = |o: &Observation| super::near_border(o, w, h);
    let before = |t: usize| frames[..t].iter().rev().find_map(Option::as_ref);
    let after = |t: usize| frames[t + 1..].iter().find_map(Option::as_ref);
    // Its usual area: the median of its sightings clear of the border.
    let mut areas: Vec<f64> = frames.iter().flatten().filter(|o| !touches(o)).map(|o| o.area).collect();
    areas.sort_by(f64::total_cmp);
    let usual = areas.get(areas.len() / 2).copied().unwrap_or(0.0);
    let covered = |o: &Observation| o.area < PARTLY * usual;
    let (mut inside, mut lost, mut hidden) = (0usize, 0usize, 0usize);
    for (t, o) in frames.iter().enumerate() {
        match o {
            Some(o) => inside += usize::from(!touches(o)),
            None => match (before(t), after(t)) {
                (Some(b), Some(a)) if !near_edge(b) && !near_edge(a) && (covered(b) || covered(a)) => hidden += 1,
                (b, a) => lost += usize::from(!(b.is_some_and(near_edge) || a.is_some_and(near_edge))),
            },
        }
    }
    inside += hidden;
    let hidden_words = if hidden == 0 {
        String::new()
    } else {
        format!(
            " ({hidden} of them hidden in the picture: seen clear of the border on both sides, partly covered beside the gap)"
        )
    };
    let lost_words = |counted: &str| {
        if lost == 0 {
            String::new()
        } else {
            format!(
                "; not seen away from the border in {lost} frame(s) (it vanished or changed, or the tracker lost it: {counted})"
            )
        }
    };
    if expect_inside {
        let frac = inside as f64 / n as f64;
        let kind = if lost > n - inside - lost { "lost from view" } else { "leaves the frame" };
        let reason =
            format!("inside the frame in {inside} of {n} frames{hidden_words}{}", lost_words("counted as not inside"));
        return Verdict::new(frac >= 0.9, kind, Some(frac), reason);
    }
    let known = n - lost;
    if known * 2 < n {
        return Verdict::not_measurable(format!(
            "the object is placed in only {known} of {n} frames: not seen away from the border in the others, which says nothing of leaving the frame"
        ));
    }
    let frac = inside as f64 / known as f64;
    let reason = format!("inside the frame in {inside} of {known} frames{hidden_words}{}", lost_words("left out"));
    if frac >= 0.9 {
        return Verdict::new(false, "stays in the frame", Some(frac), reason);
    }
    // Leaving is being out after being inside: cut by the border, or unseen beside a sighting
    // near it, in a frame after one where it was seen clear of the border (a ball rolling in and
    // staying was out only before it was in, and passed; one going out and back left).
    let first_inside = frames.iter().position(|o| o.as_ref().is_some_and(|o| !touches(o)));
    let out = |t: usize| match &frames[t] {
        Some(o) => touches(o),
        None => before(t).is_some_and(near_edge) || after(t).is_some_and(near_edge),
    };
    if !first_inside.is_some_and(|f| (f + 1..n).any(out)) {
        return Verdict::new(
            false,
            "does not leave",
            Some(frac),
            format!("{reason}; but never out of it after being in it: it came in, it did not leave"),
        );
    }
    Verdict::new(true, "stays in the frame", Some(frac), reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::palette::{Color, Shape};

    fn seen(x: f64, y: f64, r: f64) -> Option<Observation> {
        Some(Observation {
            center: [x, y],
            bbox: [x - r, y - r, x + r, y + r],
            area: std::f64::consts::PI * r * r,
            color: Color::Blue,
            shape: Shape::Circle,
            fill: std::f64::consts::FRAC_PI_4,
        })
    }

    /// Frames where the object is lost in mid-picture are "lost from view", never "leaves the
    /// frame", and say nothing of leaving; frames next to a sighting at the border are outside.
    #[test]
    fn frames_lost_mid_picture_are_not_read_as_leaving_the_frame() {
        let stays = |frames: Vec<Option<Observation>>, inside: bool| judge(&frames, 100.0, 100.0, inside);
        // A still ball in mid-picture, seen whole in 6 of 10 frames.
        let flicker: Vec<_> = (0..10).map(|t| if t % 5 < 3 { seen(50.0, 50.0, 10.0) } else { None }).collect();
        let v = stays(flicker.clone(), true);
        assert!(!v.pass && v.kind == "lost from view" && v.value == Some(0.6), "{v:?}");
        assert!(v.reason.contains("not seen away from the border in 4 frame(s)"), "{v:?}");
        let v = stays(flicker, false);
        assert!(!v.pass && v.kind == "stays in the frame" && v.value == Some(1.0), "judged on the 6 placed: {v:?}");
        // Hidden behind something for three frames in mid-picture, going in and coming out in
        // part: inside. Gone at full size and back, it vanished for those frames.
        let hidden: Vec<_> = (0..10)
            .map(|t| match t {
                4..7 => None,
                3 | 7 => seen(50.0, 50.0, 5.0),
                _ => seen(50.0, 50.0, 10.0),
            })
            .collect();
        assert!(stays(hidden, true).pass);
        let popped: Vec<_> = (0..10).map(|t| if (4..7).contains(&t) { None } else { seen(50.0, 50.0, 10.0) }).collect();
        let v = stays(popped, true);
        assert!(!v.pass && v.kind == "lost from view", "{v:?}");
        // Seen in 2 of 10, then gone: whether it left cannot be told.
        let rare: Vec<_> = (0..10).map(|t| if t < 2 { seen(50.0, 50.0, 10.0) } else { None }).collect();
        assert!(!stays(rare, false).measurable(), "lost in most frames");
        // A ball that runs out at the right: its last sighting near the border, then gone.
        let exit: Vec<_> = (0..10).map(|t| if t < 6 { seen(40.0 + 8.0 * t as f64, 50.0, 8.0) } else { None }).collect();
        let v = stays(exit.clone(), true);
        assert!(!v.pass && v.kind == "leaves the frame" && v.value == Some(0.6), "6 of 10 frames inside: {v:?}");
        assert!(stays(exit.clone(), false).pass);
        // Played backwards it comes in and stays: no leaving (it passed, inside 60% of the time).
        let entry: Vec<_> = exit.into_iter().rev().collect();
        let v = stays(entry.clone(), false);
        assert!(!v.pass && v.kind == "does not leave" && v.reason.contains("it came in"), "{v:?}");
        // Out at the right and back again: it left.
        let out_and_back: Vec<_> =
            (0..10).map(|t| if (5..8).contains(&t) { None } else { seen(88.0, 50.0, 8.0) }).collect();
        assert!(stays(out_and_back, false).pass);
        // Cut by the border in the last frame: leaving.
        let half_out: Vec<_> = (0..10).map(|t| seen(40.0 + 7.0 * t as f64, 50.0, 8.0)).collect();
        assert!(stays(half_out, false).pass);
    }
}
