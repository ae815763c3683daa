//! `motion`: the object's displacement from its first to its last sighting, with the camera's
//! motion removed, points the expected way by at least 3% of the frame height (and its speed,
//! canvas heights per second while it moves, lies in the bound: time it stays put at either end
//! is not counted). A mirrored clip flips left and right.
//! Sightings the frame cuts along the motion's axis are not read where two others are. The
//! picture must change both where the object was and where it went ([`Context::unchanged_in`]).

use super::{Context, Direction, Motion, Verdict, bound_words};

/// Smallest displacement (canvas heights) that counts as moving.
pub const MIN_SHIFT: f64 = 0.03;

/// How far (canvas heights) an object staying put at the start or the end may wander: tracking
/// noise.
const STILL: f64 = 0.01;

pub fn check(p: &Motion, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    // The first and last sightings the frame does not cut along the motion's axis.
    let vertical = matches!(p.direction, Direction::Up | Direction::Down);
    let seen = ctx.whole_sightings(track, vertical, 2);
    let (Some(&(t0, a)), Some(&(t1, b))) = (seen.first(), seen.last()) else {
        return Verdict::fail("object not found", "never seen");
    };
    if t1 == t0 {
        return Verdict::fail("object barely seen", "seen in one frame only");
    }
    let (pa, pb) = (ctx.world_center(t0, a), ctx.world_center(t1, b));
    let unit = ctx.unit();
    let (dx, dy) = ((pb[0] - pa[0]) / unit, (pb[1] - pa[1]) / unit);
    let along = match p.direction {
        Direction::Left => -dx,
        Direction::Right => dx,
        Direction::Up => -dy,
        Direction::Down => dy,
    };
    // Its speed is over the time it moves: from its last sighting still where it started to its
    // first already where it ends (a ball rolling at 0.3 h/s from 1 s into the clip read 0.198,
    // a block pushed 26 s into a 30 s clip 0.025 for 0.45). The same stretch's displacement, so
    // a steady mover, its first steps within the tolerance, reads the same speed.
    let placed: Vec<(usize, [f64; 2])> = seen.iter().map(|&(t, o)| (t, ctx.world_center(t, o))).collect();
    let within = |p: [f64; 2], q: [f64; 2]| (p[0] - q[0]).hypot(p[1] - q[1]) <= STILL * unit;
    let from = placed.iter().take_while(|(_, p)| within(*p, pa)).count().max(1) - 1;
    let to = placed.len() - placed.iter().rev().take_while(|(_, p)| within(*p, pb)).count().max(1);
    let ((ts, ps), (te, pe)) = if from < to { (placed[from], placed[to]) } else { ((t0, pa), (t1, pb)) };
    let moving = match p.direction {
        Direction::Left => ps[0] - pe[0],
        Direction::Right => pe[0] - ps[0],
        Direction::Up => ps[1] - pe[1],
        Direction::Down => pe[1] - ps[1],
    } / unit;
    let speed = moving / ((te - ts) as f64 * ctx.dt());
    let span = if (ts, te) == (t0, t1) { String::new() } else { format!(" while it moves (frames {ts}–{te})") };
    let word = super::words(p.direction);
    // Where it was and where it went must both change: on a still picture a track that hopped
    // between look-alike regions read as motion. Asked where the track moved within the picture
    // under a camera that stayed put over the two frames (a camera following the object keeps
    // it in one place of the picture, and a slow pan is under a pixel a frame).
    let hop = (b.center[0] - a.center[0]).hypot(b.center[1] - a.center[1]) / unit;
    // How far the camera carried the content where the track ended.
    let back = ctx.unmove(t0, t1, b.center);
    let carried = (b.center[0] - back[0]).hypot(b.center[1] - back[1]);
    if hop >= MIN_SHIFT && carried < 2.0 && ctx.unchanged_in(t0, t1, &[a.bbox, b.bbox]) {
        return Verdict::new(
            false,
            "does not move",
            Some(0.0),
            format!(
                "the track goes {hop:.3} h, but the picture where it was (frame {t0}) and where it went (frame {t1}) is unchanged between those frames: it hopped between look-alike regions of a still picture"
            ),
        );
    }
    // Steps whose camera could not be measured (a pan over a white wall) count as still, so a
    // still object "moved" against such a pan: the reason says so (a still camera over the same
    // wall reads the same pixels, so the verdict stands, said as a reading on the screen).
    let blind = ctx.camera()[t0..t1].iter().filter(|m| m.inliers < crate::global_motion::MIN_INLIERS).count();
    let screen = |mut v: Verdict| {
        if 2 * blind > t1 - t0 {
            v.reason.push_str(&format!(
                " (on the screen: the camera could not be measured in {blind} of {} frame steps, too little texture)",
                t1 - t0
            ));
        }
        v
    };
    if along < MIN_SHIFT {
        // Which way it went, said as it went: "moves -1.245 h right" was printed for a ball that
        // went left, and a ball that stayed put was filed with mirrored motion.
        let went = if dx.abs() >= dy.abs() {
            if dx < 0.0 { "left" } else { "right" }
        } else if dy < 0.0 {
            "up"
        } else {
            "down"
        };
        // Judged on the dominant axis: along the expected one it is under the threshold here, so
        // it went another way, or not far enough on either to count as moving.
        let moved = dx.abs().max(dy.abs());
        let (kind, said) = if moved < MIN_SHIFT {
            (
                "does not move",
                format!("moves at most {moved:.3} h either way, less than the {MIN_SHIFT} h that counts as moving"),
            )
        } else {
            ("wrong direction", format!("moves {moved:.3} h {went}, expected {word}"))
        };
        return screen(Verdict::new(false, kind, Some(speed), format!("{said} (dx {dx:+.3}, dy {dy:+.3})")));
    }
    if let Some(b) = &p.speed {
        if !b.contains(speed) {
            return screen(Verdict::new(
                false,
                "speed out of range",
                Some(speed),
                format!("speed {speed:.3} h/s {word}{span}, expected {}", bound_words(b)),
            ));
        }
    }
    screen(Verdict::new(true, "", Some(speed), format!("moves {word} {along:.3} h at {speed:.3} h/s{span}")))
}
