//! `gravity`: the object's vertical position over its first free flight long enough to fit (up
//! to a bounce, or to where it comes to rest) fits a parabola whose acceleration points the
//! expected way, and at the end of that flight the object is moving that way (a time-reversed
//! drop ends rising and fails). Sightings the frame cuts at its top or bottom are not fitted
//! where four others are, and are placed by their edge the frame does not cut where fewer are.
//! An object held still before it is let go is judged from its release.

use super::bounce::LANDED;
use super::{Context, Direction, Gravity, Verdict, bound_words, contacts, fall_into, fit_parabola};

/// Where a fall comes to rest without bouncing: the first sample from which the object stays
/// within [`LANDED`] of its end position, having come toward it from farther away (`toward` is
/// +1 for down in image rows, −1 for up); None where it never settles before the end. A ball
/// tossed up that lands where it started came from its apex (measured from its first position,
/// it never landed, and its time at rest was fitted).
fn landing(ys: &[f64], toward: f64) -> Option<usize> {
    let end = *ys.last()?;
    let k = (0..ys.len()).find(|&k| ys[k..].iter().all(|&y| (y - end).abs() <= LANDED))?;
    let farthest = ys[..k].iter().map(|&y| toward * (ys[k] - y)).fold(f64::MIN, f64::max);
    // At rest from the start is no landing; nor is a flight that ends still on its way.
    (k >= 2 && k + 1 < ys.len() && farthest > LANDED).then_some(k)
}

/// How far (canvas heights) an object held before its fall may wander: tracking noise.
const HELD: f64 = 0.01;

/// The sighting at which an object held still from the start is let go: the last of its first
/// sightings within [`HELD`] of the first, where they span at least [`HELD_S`] and three
/// sightings; 0 otherwise (a ball dropped at the first frame takes 0.1 s to fall 0.01 h at
/// 2 h/s²). Its seconds at rest were fitted as flight: a ball held 0.5 s read 1.36 h/s² for
/// 2.00, held 5 s an acceleration 'pointing up'.
fn release(ts: &[f64], ys: &[f64]) -> usize {
    let Some((&t0, &first)) = ts.first().zip(ys.first()) else { return 0 };
    let held = ys.iter().take_while(|&&y| (y - first).abs() <= HELD).count();
    if held >= 3 && ts[held - 1] - t0 >= HELD_S { held - 1 } else { 0 }
}

/// The shortest time at the start that counts as held before a fall.
const HELD_S: f64 = 0.25;

pub fn check(p: &Gravity, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let (want_down, label) = match p.direction {
        Direction::Down => (true, "down"),
        Direction::Up => (false, "up"),
        Direction::Left | Direction::Right => {
            return Verdict::fail("bad expectation", "gravity direction must be up or down");
        }
    };
    let (unit, dt) = (ctx.unit(), ctx.dt());
    // A sighting the frame cuts at its top (bottom) is placed by its bottom (top) edge and the
    // object's height where it is whole (its visible centre lags by half what is cut: a ball
    // falling in from above at 8 fps kept three whole sightings, all were fitted as seen, and
    // read 2.85 h/s² for 2.00).
    let mut heights: Vec<f64> =
        track.seen().filter(|(_, o)| !ctx.cut_by_frame(o, true)).map(|(_, o)| o.bbox[3] - o.bbox[1]).collect();
    heights.sort_by(f64::total_cmp);
    let height = heights.get(heights.len() / 2).copied();
    let frame_h = f64::from(ctx.video.height());
    let placed = |o: &crate::track::Observation| {
        let mut o = o.clone();
        match height {
            Some(hh) if o.bbox[1] <= 0.0 && o.bbox[3] < frame_h => o.center[1] = o.bbox[3] - hh / 2.0,
            Some(hh) if o.bbox[3] >= frame_h && o.bbox[1] > 0.0 => o.center[1] = o.bbox[1] + hh / 2.0,
            _ => {}
        }
        o
    };
    // (time, height, whether the frame cuts it at its top or bottom, height placed by the edge
    // the frame does not cut).
    let pts: Vec<(f64, f64, bool, f64)> = track
        .seen()
        .map(|(t, o)| {
            let y = ctx.world_center(t, o)[1] / unit;
            let cut = ctx.cut_by_frame(o, true);
            (t as f64 * dt, y, cut, if cut { ctx.world_center(t, &placed(o))[1] / unit } else { y })
        })
        .collect();
    // The flights between bounces: the sample where a descent stops may lie on either side of
    // the contact (it falls between frames), so it belongs to neither flight. The last flight
    // ends where the object comes to rest (a fall onto clay fitted its seconds at rest too, and
    // read an acceleration pointing up), and so does any flight at rest before a later contact.
    // The first flight long enough to fit is judged: a clip that opens on a bounce (its first
    // contact 1.5 frames in) showed four full parabolas after it and failed "no free flight".
    let all: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let rest = landing(&all, if want_down { 1.0 } else { -1.0 }).unwrap_or(pts.len());
    let times: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let let_go = release(&times, &all).min(rest.saturating_sub(1));
    let bounds: Vec<usize> = contacts(&all, &ctx.world_bottoms(track), ctx.video.fps(), fall_into(track, unit))
        .into_iter()
        .filter(|&k| k >= let_go && k < rest)
        .collect();
    let flights = std::iter::once(let_go)
        .chain(bounds.iter().map(|&k| k + 1))
        .zip(bounds.iter().copied().chain(std::iter::once(rest)))
        .filter(|(start, end)| start < end);
    // The judged flight: where it starts among the sightings, its sightings and its fit.
    let mut longest = 0;
    let mut judged = None;
    for (start, end) in flights {
        let seg = &pts[start..end];
        longest = longest.max(seg.len());
        let whole: Vec<(f64, f64)> = seg.iter().filter(|p| !p.2).map(|p| (p.0, p.1)).collect();
        let fitted: Vec<(f64, f64)> = if whole.len() >= 4 { whole } else { seg.iter().map(|p| (p.0, p.3)).collect() };
        let (ts, fit_ys): (Vec<f64>, Vec<f64>) = fitted.iter().copied().unzip();
        if let Some(fit) = fit_parabola(&ts, &fit_ys) {
            judged = Some((start, seg, fit));
            break;
        }
    }
    let Some((start, seg, (c, r2))) = judged else {
        // Flights contacts cut short (a bounce played backwards starts with one) are the
        // motion's failure, not the clip's length (it was grouped with one-frame videos).
        // An object that keeps its height (held, parked, rolling along a table) to the end
        // never falls in the clip: said so (a frozen clip read "only 1 frames of free flight",
        // as a clip too short). One let go too late to fit is a flight too short, below.
        if let_go > 0 && let_go + 1 == pts.len() {
            let what = if want_down { "does not fall" } else { "does not rise" };
            return Verdict::fail(
                what,
                format!(
                    "its height stays within {HELD} h over the {:.2} s it is seen: it {what} in the clip",
                    pts[let_go].0 - pts[0].0
                ),
            );
        }
        if !bounds.is_empty() {
            return Verdict::fail(
                "no free flight",
                format!(
                    "the longest free flight between contacts is {longest} frames, of {} seen: too few to fit a parabola",
                    pts.len()
                ),
            );
        }
        return Verdict::fail(
            "too few frames",
            format!("only {longest} frames of free flight: too few to fit a parabola"),
        );
    };
    let accel = 2.0 * c[2];
    let ys: Vec<f64> = seg.iter().map(|p| p.1).collect();
    let signed = if want_down { accel } else { -accel };
    // At the end of its flight the object must be moving the way gravity pulls it (a
    // time-reversed fall ends rising to a stop).
    let last_step = ys[ys.len() - 1] - ys[ys.len() - 2];
    let descent = if want_down { last_step } else { -last_step };
    // (kind, reason) of each problem; the first names the failure.
    let mut problems: Vec<(&str, String)> = Vec::new();
    if signed < 0.2 {
        problems.push(("wrong acceleration direction", format!("acceleration {accel:.2} h/s² does not point {label}")));
    }
    if descent <= 0.0 {
        problems.push((
            "not falling at the end",
            format!("the object is not moving {label} at the end of its flight ({descent:+.3} h per frame)"),
        ));
    }
    if let Some(b) = &p.accel {
        if !b.contains(signed) {
            problems
                .push(("acceleration out of range", format!("|acceleration| {signed:.2} h/s² not {}", bound_words(b))));
        }
    }
    if let Some(b) = &p.r2 {
        if !b.contains(r2) {
            problems.push(("not a parabola", format!("parabola R² {r2:.3} not {}", bound_words(b))));
        }
    }
    let pass = problems.is_empty();
    let reason = if pass {
        let after = if start > let_go {
            format!(" from {:.2} s (the flights before it too short to fit)", seg[0].0)
        } else if start > 0 {
            format!(" from {:.2} s, when it is let go (held still before)", seg[0].0)
        } else {
            String::new()
        };
        format!("falls {label} with acceleration {signed:.2} h/s² (R² {r2:.3}) over {} frames{after}", seg.len())
    } else {
        problems.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
    };
    Verdict::new(pass, problems.first().map_or("", |p| p.0), Some(signed), reason)
}
