//! `gravity`: the object's vertical position over its first free-flight segment (up to the
//! first bounce) fits a parabola whose acceleration points the expected way, and the object ends
//! that segment lower than it began (a time-reversed drop rises and fails).

use super::{Context, Direction, Gravity, Verdict, bound_words, fit_parabola};

pub fn check(p: &Gravity, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let (unit, dt) = (ctx.unit(), ctx.dt());
    let pts: Vec<(f64, f64)> = track.seen().map(|(t, o)| (t as f64 * dt, ctx.world_center(t, o)[1] / unit)).collect();
    // Cut at the first bounce: the lowest point followed by a rise.
    let mut end = pts.len();
    for k in 1..pts.len().saturating_sub(1) {
        if pts[k].1 >= pts[k - 1].1 && pts[k + 1].1 < pts[k].1 - 1e-3 && pts[..k].iter().any(|q| q.1 < pts[k].1 - 0.02)
        {
            end = k + 1;
            break;
        }
    }
    let seg = &pts[..end];
    let (ts, ys): (Vec<f64>, Vec<f64>) = seg.iter().copied().unzip();
    let Some((c, r2)) = fit_parabola(&ts, &ys) else {
        return Verdict::fail(format!("only {} frames of free flight: too few to fit a parabola", seg.len()));
    };
    let accel = 2.0 * c[2];
    let (want_down, label) = match p.direction {
        Direction::Down => (true, "down"),
        Direction::Up => (false, "up"),
        Direction::Left | Direction::Right => return Verdict::fail("gravity direction must be up or down"),
    };
    let signed = if want_down { accel } else { -accel };
    let descent = if want_down { ys[ys.len() - 1] - ys[0] } else { ys[0] - ys[ys.len() - 1] };
    let mut problems = Vec::new();
    if signed < 0.2 {
        problems.push(format!("acceleration {accel:.2} h/s² does not point {label}"));
    }
    if descent <= 0.0 {
        problems.push(format!("the object does not move {label} over its flight ({descent:+.3} h)"));
    }
    if let Some(b) = &p.accel {
        if !b.contains(signed) {
            problems.push(format!("|acceleration| {signed:.2} h/s² not {}", bound_words(b)));
        }
    }
    if let Some(b) = &p.r2 {
        if !b.contains(r2) {
            problems.push(format!("parabola R² {r2:.3} not {}", bound_words(b)));
        }
    }
    let pass = problems.is_empty();
    let reason = if pass {
        format!("falls {label} with acceleration {signed:.2} h/s² (R² {r2:.3}) over {} frames", seg.len())
    } else {
        problems.join("; ")
    };
    Verdict::new(pass, Some(signed), reason)
}
