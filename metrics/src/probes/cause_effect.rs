//! `cause_effect`: the effect object changes (starts moving, changes colour or shape) only after
//! the cause object touches it (or touches `via`, e.g. a switch). Reversing time moves the change before the contact and fails.

use super::{CauseEffect, Change, Context, Verdict};
use crate::track::{Observation, Track};

/// Displacement from the starting position (canvas heights) that counts as "started moving".
const MOVED: f64 = 0.02;

/// Gap between the two boxes in frame t (0 when they overlap), if both are seen.
fn gap(a: &Track, b: &Track, t: usize) -> Option<f64> {
    match (a.frames.get(t), b.frames.get(t)) {
        (Some(Some(x)), Some(Some(y))) => {
            let dx = (x.bbox[0] - y.bbox[2]).max(y.bbox[0] - x.bbox[2]).max(0.0);
            let dy = (x.bbox[1] - y.bbox[3]).max(y.bbox[1] - x.bbox[3]).max(0.0);
            Some(dx.hypot(dy))
        }
        _ => None,
    }
}

/// Largest distance either object moves between consecutive frames: a contact can happen
/// between two frames, so boxes closer than this may have touched.
fn step(t: &Track) -> f64 {
    let seen: Vec<_> = t.seen().collect();
    seen.windows(2)
        .filter(|w| w[1].0 == w[0].0 + 1)
        .map(|w| (w[1].1.center[0] - w[0].1.center[0]).hypot(w[1].1.center[1] - w[0].1.center[1]))
        .fold(0.0, f64::max)
}

/// How far an object moved between two sightings in the world (pixels; the camera taken out):
/// along an axis on which the frame's border cuts it in either sighting, by its edge the border
/// cuts in neither, whose move the visible centre halves.
fn shift(ctx: &Context<'_>, (ta, a): (usize, &Observation), (tb, b): (usize, &Observation)) -> f64 {
    let (ca, cb) = (ctx.world_center(ta, a), ctx.world_center(tb, b));
    let mut d = [cb[0] - ca[0], cb[1] - ca[1]];
    let size = [f64::from(ctx.video.width()), f64::from(ctx.video.height())];
    for axis in 0..2 {
        let low_cut = a.bbox[axis] <= 0.0 || b.bbox[axis] <= 0.0;
        let high_cut = a.bbox[axis + 2] >= size[axis] || b.bbox[axis + 2] >= size[axis];
        let edge = match (low_cut, high_cut) {
            (true, false) => axis + 2,
            (false, true) => axis,
            _ => continue,
        };
        d[axis] += (b.bbox[edge] - a.bbox[edge]) - (b.center[axis] - a.center[axis]);
    }
    d[0].hypot(d[1])
}

pub fn check(p: &CauseEffect, ctx: &Context<'_>) -> Verdict {
    // An effect named by the colour it starts in may be seen in it only at the end (a clip
    // played backwards): it is there, started changed ("no cyan object found" made a causality
    // failure read as a tracking one).
    let effect = ctx.find(&p.effect).or_else(|missing| match (p.change, p.effect.color) {
        (Change::ChangesColor, Some(c)) => ctx
            .tracks()
            .iter()
            .filter(|t| t.seen().any(|(_, o)| o.color == c))
            .filter(|t| p.effect.shape.is_none_or(|s| t.main_shape() == Some(s)))
            .max_by_key(|t| t.seen().count())
            .ok_or(missing),
        _ => Err(missing),
    });
    let (cause, effect) = match (ctx.find(&p.cause), effect) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(v), _) | (_, Err(v)) => return v,
    };
    if cause.id == effect.id {
        return Verdict::fail("bad expectation", "cause and effect name the same object");
    }
    let touched = match &p.via {
        Some(r) => match ctx.find(r) {
            Ok(t) => t,
            Err(v) => return v,
        },
        None => effect,
    };
    let n = cause.frames.len().min(touched.frames.len());
    let reach = step(cause).max(step(touched)) + 1.0;
    let contact = (0..n).find(|&t| gap(cause, touched, t).is_some_and(|g| g <= reach));
    let Some((t0, first)) = effect.first() else { return Verdict::fail("object not found", "effect never seen") };
    // The effect is named by how it looks before the change: it must start that way (a
    // time-reversed clip starts in the changed state).
    if p.change == Change::ChangesColor && p.effect.color.is_some_and(|c| c != first.color) {
        return Verdict::fail(
            "starts changed",
            format!("the effect starts {} rather than {}", first.color.name(), p.effect.color.map_or("", |c| c.name())),
        );
    }
    if p.change == Change::ChangesShape && p.effect.shape.is_some_and(|s| s != first.shape) {
        return Verdict::fail(
            "starts changed",
            format!(
                "the effect starts a {} rather than a {}",
                first.shape.name(),
                p.effect.shape.map_or("", |s| s.name())
            ),
        );
    }
    let unit = ctx.unit();
    // An effect already moving when first seen never starts moving in the clip: a push played
    // backwards (the cup moving back from the first frame, touching the ball) passed as "contact
    // at frame 0, then starts moving at frame 2". Moving is half the distance that counts as
    // started, in its first frame step and again over the two steps after it (a first frame
    // shifted by 7 px, the effect at rest after it until the contact, failed as moving):
    // (its second frame, the first step in heights).
    // An effect entering through the frame's border (a push played backwards whose effect had
    // rolled out of the picture) is read by its edge the border does not cut: its visible centre
    // moves half as fast.
    let already = match effect.seen().take(4).collect::<Vec<_>>()[..] {
        [(_, o0), (t1, o1), _, (t3, o3)] if p.change == Change::StartsMoving && t3 == t0 + 3 => {
            let step = shift(ctx, (t0, o0), (t1, o1)) / unit;
            let then = shift(ctx, (t1, o1), (t3, o3)) / unit;
            (step >= MOVED / 2.0 && then >= MOVED / 2.0).then_some((t1, step))
        }
        _ => None,
    };
    let change = match p.change {
        Change::StartsMoving => effect.seen().find(|(t, o)| {
            let (a, b) = (ctx.world_center(t0, first), ctx.world_center(*t, o));
            (b[0] - a[0]).hypot(b[1] - a[1]) / unit > MOVED
        }),
        Change::ChangesColor => effect.seen().find(|(_, o)| o.color != first.color),
        Change::ChangesShape => {
            // Shape classes flicker on anti-aliased edges: require two agreeing frames.
            let seen: Vec<_> = effect.seen().collect();
            seen.windows(2).find(|w| w[0].1.shape != first.shape && w[1].1.shape == w[0].1.shape).map(|w| w[0])
        }
    }
    .map(|(t, _)| t);
    let word = super::words(p.change);
    match (contact, change) {
        (_, None) => Verdict::fail("no effect", format!("the effect never {word}")),
        (None, Some(t)) => Verdict::new(
            false,
            "effect without contact",
            Some(t as f64 * ctx.dt()),
            format!("{word} at frame {t} without any contact"),
        ),
        // One frame of slack: the contact can fall between two frames.
        (Some(c), Some(t)) if t + 1 < c => Verdict::new(
            false,
            "effect before its cause",
            Some((t as f64 - c as f64) * ctx.dt()),
            format!("{word} at frame {t}, before the contact at frame {c}"),
        ),
        (Some(c), Some(_)) if let Some((t1, step)) = already => Verdict::new(
            false,
            "already moving",
            Some(0.0),
            format!(
                "the effect moves {step:.3} h between frames {t0} and {t1}, its first, {} from frame {c}: it is moving when first seen, not at rest before the contact",
                if p.via.is_some() { "the cause touching what it acts through" } else { "touching the cause" }
            ),
        ),
        (Some(c), Some(t)) => Verdict::new(
            true,
            "",
            Some((t as f64 - c as f64) * ctx.dt()),
            format!("contact at frame {c}, then {word} at frame {t}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CauseEffect, Change, Context, ObjectRef};
    use super::*;
    use crate::palette::Color;
    use crate::video::Video;

    /// A red square approaching at 2 px a frame touches a blue one at frame 9 and both go on at
    /// 1 px, on a `w`-wide, 64-high picture over 24 frames (a square past the right edge is cut
    /// by it). With `jolt`, the first frame is shifted 1 px (as a first frame encoded apart can
    /// be).
    fn push(w: usize, jolt: usize) -> Vec<Vec<u8>> {
        (0..24usize)
            .map(|t| {
                let mut f = [128u8, 128, 128].repeat(w * 64);
                let shift = if t == 0 { jolt } else { 0 };
                let blue = 30 + t.saturating_sub(9);
                let red = if t <= 9 { 4 + 2 * t } else { blue - 8 };
                for (x0, c) in [(red + shift, Color::Red), (blue + shift, Color::Blue)] {
                    for y in 28..36 {
                        for x in x0..(x0 + 8).min(w) {
                            f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c.rgb());
                        }
                    }
                }
                f
            })
            .collect()
    }

    /// The clip of `frames`, `w` wide, in the order given.
    fn clip<'a>(w: usize, frames: impl Iterator<Item = &'a Vec<u8>>) -> Video {
        Video::new(w as u32, 64, 24.0, frames.flatten().copied().collect()).unwrap()
    }

    const RED_MOVES_BLUE: CauseEffect = CauseEffect {
        cause: ObjectRef { color: Some(Color::Red), shape: None },
        effect: ObjectRef { color: Some(Color::Blue), shape: None },
        change: Change::StartsMoving,
        via: None,
    };

    /// A red square pushes a blue one: it passes forwards; played backwards the blue square is
    /// moving from the first frame, touching the red one, and never starts moving (it passed as
    /// "contact at frame 0, then starts moving at frame 2").
    #[test]
    fn a_push_passes_and_played_backwards_fails_as_already_moving() {
        let frames = push(64, 0);
        let v = check(&RED_MOVES_BLUE, &Context::new(&clip(64, frames.iter())));
        assert!(v.pass, "{}", v.reason);
        let v = check(&RED_MOVES_BLUE, &Context::new(&clip(64, frames.iter().rev())));
        assert!(!v.pass && v.kind == "already moving", "{} {}", v.kind, v.reason);
        assert!(v.reason.contains("between frames 0 and 1"), "{}", v.reason);
        // A jolt in the first frame alone, the effect at rest after it until the contact: a push.
        let v = check(&RED_MOVES_BLUE, &Context::new(&clip(64, push(64, 1).iter())));
        assert!(v.pass, "{} {}", v.kind, v.reason);
    }

    /// A push whose effect rolls on out of the picture: played backwards, the effect comes in
    /// through the border, its visible centre moving half its 1 px a frame (0.0078 h, under the
    /// 0.01 h that reads as moving): it passed as "contact at frame 0, then starts moving at
    /// frame 4". Its edge the border does not cut shows the whole move.
    #[test]
    fn an_effect_entering_through_the_border_backwards_is_already_moving() {
        let frames = push(48, 0);
        let v = check(&RED_MOVES_BLUE, &Context::new(&clip(48, frames.iter())));
        assert!(v.pass, "{}", v.reason);
        let v = check(&RED_MOVES_BLUE, &Context::new(&clip(48, frames.iter().rev())));
        assert!(!v.pass && v.kind == "already moving", "{} {}", v.kind, v.reason);
        assert!(v.reason.contains("moves 0.016 h between frames 0 and 1"), "{}", v.reason);
    }
}
