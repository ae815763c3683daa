//! `parallax`: under camera motion, the nearer object's screen travel (over the frames where
//! both are wholly in the picture) exceeds the farther one's by at least 10%: the depth order the
//! scene implies. A flat picture moving as one piece fails, and so does a near object moving on
//! its own before a far one that stays put under a still camera (under a moving one the far one
//! is at infinity, and passes; where the camera cannot be measured, it is not measurable).
//!
//! Travel is the farthest an object gets from where it was first seen with the other, not the
//! distance between the first and last frames: a camera that trucks out and back brings both
//! objects back to their places, and the parallax was on the way.

use super::{CameraMotion, Context, Parallax, Verdict};
use crate::track::Track;

/// How far the object gets on the screen from where it is at `frames[0]`, over `frames`.
fn travel(t: &Track, frames: &[usize]) -> Option<f64> {
    let at = |i: usize| t.frames.get(i).and_then(Option::as_ref).map(|o| o.center);
    let start = at(*frames.first()?)?;
    frames.iter().filter_map(|&i| at(i)).map(|p| (p[0] - start[0]).hypot(p[1] - start[1])).reduce(f64::max)
}

/// Screen travel (canvas heights) under which the far object is taken to stay put: a still
/// object's centre wanders by a few thousandths under noise and compression.
const STILL: f64 = 0.01;

pub fn check(p: &Parallax, ctx: &Context<'_>) -> Verdict {
    let (near, far) = match (ctx.find(&p.near), ctx.find(&p.far)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(v), _) | (_, Err(v)) => return v,
    };
    if near.id == far.id {
        return Verdict::fail("bad expectation", "near and far name the same object");
    }
    // Compare over the frames where both objects are wholly inside the picture: a part cut off
    // by the border drags the visible centre.
    let (w, h) = (f64::from(ctx.video.width()), f64::from(ctx.video.height()));
    let whole = |t: &Track, i: usize| {
        t.frames
            .get(i)
            .and_then(|o| o.as_ref())
            .is_some_and(|o| o.bbox[0] > 0.5 && o.bbox[1] > 0.5 && o.bbox[2] < w - 0.5 && o.bbox[3] < h - 0.5)
    };
    let both: Vec<usize> = (0..ctx.video.len()).filter(|&i| whole(near, i) && whole(far, i)).collect();
    if both.is_empty() {
        return Verdict::fail("never both in the picture", "the two objects are never both wholly in the picture");
    }
    let (Some(a), Some(b)) = (travel(near, &both), travel(far, &both)) else {
        return Verdict::fail("object not found", "objects not seen");
    };
    let unit = ctx.unit();
    let (a, b) = (a / unit, b / unit);
    if a.max(b) < 0.02 {
        return Verdict::new(
            false,
            "no camera motion",
            Some(0.0),
            "neither object moves on screen: no camera motion to judge parallax by",
        );
    }
    // A far object that stays put on the screen is at infinity under a moving camera (the moon
    // from a trucking shot), or the near object moves on its own before a still camera.
    if b < STILL {
        return match super::camera_class(ctx) {
            Some((CameraMotion::Static, _)) => Verdict::new(
                false,
                "no camera motion",
                Some(0.0),
                format!(
                    "the far object stays put on screen ({b:.3} h) while the near one moves {a:.3} h, and the camera is still: that is the near object's own motion, not a moving camera's parallax"
                ),
            ),
            Some((class, _)) => Verdict::new(
                true,
                "",
                None,
                format!(
                    "near object moves {a:.3} h on screen, the far one stays put ({b:.3} h) under a camera that moves ({}): the far one is at infinity",
                    super::words(class)
                ),
            ),
            None => Verdict::not_measurable(format!(
                "the far object stays put on screen ({b:.3} h) while the near one moves {a:.3} h, and the camera cannot be measured (too little texture): the near one may move on its own"
            )),
        };
    }
    let ratio = a / b;
    Verdict::new(
        ratio >= 1.1,
        "no parallax",
        Some(ratio),
        format!("near object moves {a:.3} h, far {b:.3} h on screen (ratio {ratio:.2})"),
    )
}
