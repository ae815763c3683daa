//! `bounce`: count floor bounces (lowest points followed by a rise) and estimate restitution
//! from successive peak heights above the contact line: e = √(h₁ / h₀). A time-reversed clip
//! gains height with every bounce (e > 1) and fails a restitution range.
//!
//! With no bounds in the suite the check still asks for what its name promises: at least one
//! bounce, and no rebound that gains height — every restitution measured (and the lower bound
//! that a rise after the last contact already gives, even before it turns back down) at most
//! [`MAX_RESTITUTION`]. Where no rebound can be measured only the count is checked.
//!
//! A count that admits no bounce ("lands without bouncing") passes with none only over a landing:
//! the object falls at least [`MIN_DEFAULT_PEAK`] and ends at its lowest point. Without it a clip
//! played backwards (a lump leaping from the floor) or frozen (hanging in the air) passed.

use super::{Bounce, Bound, Context, Verdict, bound_words, contacts, fall_into, fit_parabola};

/// The restitution a bounce may show when the suite gives no range: a rebound never gains height
/// (e ≤ 1), with 10% for tracking noise on rebounds of at least [`MIN_DEFAULT_PEAK`].
pub const MAX_RESTITUTION: f64 = 1.1;

/// The smallest peak (canvas heights above the contact) the default restitution check reads:
/// below it a pixel of tracking noise moves the height ratio by more than the tolerance.
pub const MIN_DEFAULT_PEAK: f64 = 0.05;

/// How far above its lowest point (canvas heights) a landed object may end: tracking noise.
pub const LANDED: f64 = 0.02;

pub fn check(p: &Bounce, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let unit = ctx.unit();
    let (ts, ys): (Vec<f64>, Vec<f64>) =
        track.seen().map(|(t, o)| (t as f64, ctx.world_center(t, o)[1] / unit)).unzip();
    if ys.len() < 3 {
        return Verdict::fail("object barely seen", "seen in fewer than 3 frames");
    }
    let contacts = contacts(&ys, &ctx.world_bottoms(track), ctx.video.fps(), fall_into(track, unit));
    let count = contacts.len() as f64;
    // Peak heights above each contact's level: before the first contact, and between contacts.
    let mut peaks = Vec::new();
    let mut start = 0;
    for &c in &contacts {
        let top = ys[start..=c].iter().copied().fold(f64::MAX, f64::min);
        peaks.push(ys[c] - top);
        start = c;
    }
    // The rise after the last contact: a full peak only if it turned back down, else a lower
    // bound on the next peak.
    let mut rising = None;
    if let Some(&c) = contacts.last() {
        let after = &ys[c..];
        let top = after.iter().copied().fold(f64::MAX, f64::min);
        if after.last().is_some_and(|&y| y > top + 0.005) {
            peaks.push(ys[c] - top);
        } else {
            rising = Some(ys[c] - top);
        }
    }
    // A clip may start with the object already falling: the first peak seen is then only the
    // height it entered at. Its apex is that of the parabola through the first flight (reversing
    // time keeps the parabola, so a reversed clip's apex is its true one too); without a clean
    // fit the first peak is not read. (Only the default check read it so: with a range, a clip
    // starting 0.55 s into a drop read restitution 1.06 for 0.7.)
    if let (Some(&c0), Some(first)) = (contacts.first(), peaks.first_mut())
        && ys[1] > ys[0]
    {
        *first = match fit_parabola(&ts[..c0], &ys[..c0]) {
            Some((c, r2)) if r2 >= 0.95 && c[2] > 0.0 => {
                let t_apex = -c[1] / (2.0 * c[2]);
                let apex = c[0] + c[1] * t_apex + c[2] * t_apex * t_apex;
                ys[c0] - apex.min(ys[0])
            }
            _ => 0.0,
        };
    }
    let es: Vec<f64> = peaks.windows(2).filter(|w| w[0] > 0.02).map(|w| (w[1].max(0.0) / w[0]).sqrt()).collect();
    let e = (!es.is_empty()).then(|| es[0]);
    // (kind, reason) of each problem; the first names the failure.
    let mut problems: Vec<(&str, String)> = Vec::new();
    let at_least_one = Bound { min: Some(1.0), ..Default::default() };
    let count_bound = p.count.as_ref().unwrap_or(&at_least_one);
    if !count_bound.contains(count) {
        problems.push(("wrong bounce count", format!("{count} bounce(s), expected {}", bound_words(count_bound))));
    } else if count == 0.0 {
        // (y grows downwards, in canvas heights.)
        let highest = ys.iter().copied().fold(f64::MAX, f64::min);
        let lowest = ys.iter().copied().fold(f64::MIN, f64::max);
        let end = ys[ys.len() - 1];
        let fell = end - highest;
        if fell < MIN_DEFAULT_PEAK || lowest - end > LANDED {
            problems.push((
                "no landing",
                format!(
                    "no fall that ends at rest: it ends {fell:.3} canvas heights below its highest point and {:.3} above its lowest (a landing falls at least {MIN_DEFAULT_PEAK} and ends within {LANDED} of its lowest)",
                    lowest - end
                ),
            ));
        }
    }
    // A clip that ends during the first rebound (a 1 s, 8 fps output) gives only a lower bound on
    // its restitution, from the rise so far: it decides a range it is above the top of, or a
    // range with no top it is inside; any other range is not measurable (it failed as "no
    // rebound" where the count passed).
    let mut partial = None;
    let mut unmeasured = None;
    match &p.restitution {
        Some(b) => match e {
            Some(e) if !b.contains(e) => {
                problems.push(("restitution out of range", format!("restitution {e:.2} not {}", bound_words(b))))
            }
            None => match (rising, peaks.last()) {
                (Some(r), Some(&drop)) if drop > 0.02 => {
                    let at_least = (r.max(0.0) / drop).sqrt();
                    let (lo, hi) = b.limits().unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
                    if at_least > hi {
                        problems.push((
                            "restitution out of range",
                            format!(
                                "restitution at least {at_least:.2} (the clip ends during the rebound) not {}",
                                bound_words(b)
                            ),
                        ));
                    } else if at_least >= lo && hi.is_infinite() {
                        partial = Some(at_least);
                    } else {
                        unmeasured = Some(format!(
                            "the clip ends during the rebound, restitution at least {at_least:.2} so far: whether it is {} is not known",
                            bound_words(b)
                        ));
                    }
                }
                _ => problems.push(("no rebound", "no rebound to measure restitution from".into())),
            },
            _ => {}
        },
        None => {
            // Every pair of readable successive peaks, and the unfinished last rise as a lower bound.
            let mut ratios: Vec<(f64, bool)> = peaks
                .windows(2)
                .filter(|w| w[0] >= MIN_DEFAULT_PEAK && w[1] >= MIN_DEFAULT_PEAK)
                .map(|w| ((w[1] / w[0]).sqrt(), false))
                .collect();
            if let (Some(&last), Some(r)) = (peaks.last(), rising)
                && last >= MIN_DEFAULT_PEAK
                && r >= MIN_DEFAULT_PEAK
            {
                ratios.push(((r / last).sqrt(), true));
            }
            if let Some(&(worst, partial)) = ratios.iter().max_by(|a, b| a.0.total_cmp(&b.0))
                && worst > MAX_RESTITUTION
            {
                let what = if partial { "at least " } else { "" };
                problems.push((
                    "gains height",
                    format!("a rebound gains height: restitution {what}{worst:.2} (at most {MAX_RESTITUTION} without a range)"),
                ));
            }
        }
    }
    if let (true, Some(why)) = (problems.is_empty(), unmeasured) {
        return Verdict::not_measurable(format!("{count} bounce(s); {why}"));
    }
    let pass = problems.is_empty();
    let reason = if pass {
        let restitution = match (e, partial) {
            (Some(e), _) => format!(", restitution {e:.2}"),
            (None, Some(at_least)) => {
                format!(", restitution at least {at_least:.2} (the clip ends during the rebound)")
            }
            _ => String::new(),
        };
        format!("{count} bounce(s){restitution}")
    } else {
        problems.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
    };
    Verdict::new(pass, problems.first().map_or("", |p| p.0), Some(count), reason)
}
