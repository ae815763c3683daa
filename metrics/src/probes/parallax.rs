//! `parallax`: under camera motion, the nearer object's screen displacement (over the frames
//! where both are wholly in the picture) exceeds the farther one's by at least 10%: the depth order the scene implies. A
//! flat picture moving as one piece fails.

use super::{Context, Parallax, Verdict};
use crate::track::Track;

/// Screen displacement between frames t0 and t1.
fn shift(t: &Track, t0: usize, t1: usize) -> Option<f64> {
    let (a, b) = (t.frames.get(t0)?.as_ref()?, t.frames.get(t1)?.as_ref()?);
    Some((b.center[0] - a.center[0]).hypot(b.center[1] - a.center[1]))
}

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
    let (Some(&t0), Some(&t1)) = (both.first(), both.last()) else {
        return Verdict::fail("never both in the picture", "the two objects are never both wholly in the picture");
    };
    let (Some(a), Some(b)) = (shift(near, t0, t1), shift(far, t0, t1)) else {
        return Verdict::fail("object not found", "objects not seen");
    };
    let unit = ctx.unit();
    if a.max(b) / unit < 0.02 {
        return Verdict::new(
            false,
            "no camera motion",
            Some(0.0),
            "neither object moves on screen: no camera motion to judge parallax by",
        );
    }
    let ratio = a / b.max(1e-6);
    let pass = ratio >= 1.1;
    Verdict::new(
        pass,
        "no parallax",
        Some(ratio),
        format!("near object moves {:.3} h, far {:.3} h on screen (ratio {ratio:.2})", a / unit, b / unit),
    )
}
