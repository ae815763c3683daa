//! `framing`: the object stays inside the frame (its box never touches the border and it is
//! seen in at least 90% of frames), or — with `inside: false` — leaves it.

use super::{Context, Framing, Verdict};

pub fn check(p: &Framing, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let (w, h) = (f64::from(ctx.video.width()), f64::from(ctx.video.height()));
    let n = ctx.video.len();
    let inside = track
        .frames
        .iter()
        .filter(|o| {
            o.as_ref().is_some_and(|o| o.bbox[0] > 0.5 && o.bbox[1] > 0.5 && o.bbox[2] < w - 0.5 && o.bbox[3] < h - 0.5)
        })
        .count();
    let frac = inside as f64 / n as f64;
    let stays = frac >= 0.9;
    let pass = stays == p.inside;
    let reason = format!("inside the frame in {inside} of {n} frames");
    let kind = if p.inside { "leaves the frame" } else { "stays in the frame" };
    Verdict::new(pass, kind, Some(frac), reason)
}
