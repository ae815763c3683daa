//! `gravity`: the object's vertical position over its first free flight long enough to fit (up
//! to a bounce, or to where it comes to rest) fits a parabola whose acceleration points the
//! expected way, and at the end of that flight the object is moving that way (a time-reversed
//! drop ends rising and fails). Sightings the frame cuts at its top or bottom are not fitted
//! where four others are.

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
    // (time, height, whether the frame cuts it at its top or bottom).
    let pts: Vec<(f64, f64, bool)> = track
        .seen()
        .map(|(t, o)| (t as f64 * dt, ctx.world_center(t, o)[1] / unit, ctx.cut_by_frame(o, true)))
        .collect();
    // The flights between bounces: the sample where a descent stops may lie on either side of
    // the contact (it falls between frames), so it belongs to neither flight. The last flight
    // ends where the object comes to rest (a fall onto clay fitted its seconds at rest too, and
    // read an acceleration pointing up), and so does any flight at rest before a later contact.
    // The first flight long enough to fit is judged: a clip that opens on a bounce (its first
    // contact 1.5 frames in) showed four full parabolas after it and failed "no free flight".
    let all: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let rest = landing(&all, if want_down { 1.0 } else { -1.0 }).unwrap_or(pts.len());
    let bounds: Vec<usize> = contacts(&all, &ctx.world_bottoms(track), ctx.video.fps(), fall_into(track, unit))
        .into_iter()
        .filter(|&k| k < rest)
        .collect();
    let flights = std::iter::once(0)
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
        let fitted: Vec<(f64, f64)> = if whole.len() >= 4 { whole } else { seg.iter().map(|p| (p.0, p.1)).collect() };
        let (ts, fit_ys): (Vec<f64>, Vec<f64>) = fitted.iter().copied().unzip();
        if let Some(fit) = fit_parabola(&ts, &fit_ys) {
            judged = Some((start, seg, fit));
            break;
        }
    }
    let Some((start, seg, (c, r2))) = judged else {
        // Flights contacts cut short (a bounce played backwards starts with one) are the
        // motion's failure, not the clip's length (it was grouped with one-frame videos).
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
        let after = if start > 0 {
            format!(" from {:.2} s (the flights before it too short to fit)", seg[0].0)
        } else {
            String::new()
        };
        format!("falls {label} with acceleration {signed:.2} h/s² (R² {r2:.3}) over {} frames{after}", seg.len())
    } else {
        problems.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
    };
    Verdict::new(pass, problems.first().map_or("", |p| p.0), Some(signed), reason)
}
