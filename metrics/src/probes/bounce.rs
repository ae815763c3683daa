//! `bounce`: count floor bounces (lowest points followed by a rise) and estimate restitution
//! from successive peak heights above the contact line: e = √(h₁ / h₀). A time-reversed clip
//! gains height with every bounce (e > 1) and fails a restitution range.

use super::{Bounce, Context, Verdict, bound_words, contacts};

pub fn check(p: &Bounce, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    let unit = ctx.unit();
    let ys: Vec<f64> = track.seen().map(|(t, o)| ctx.world_center(t, o)[1] / unit).collect();
    if ys.len() < 3 {
        return Verdict::fail("object barely seen", "seen in fewer than 3 frames");
    }
    let contacts = contacts(&ys);
    let count = contacts.len() as f64;
    // Peak heights above each contact's level: before the first contact, and between contacts.
    let mut peaks = Vec::new();
    let mut start = 0;
    for &c in &contacts {
        let top = ys[start..=c].iter().copied().fold(f64::MAX, f64::min);
        peaks.push(ys[c] - top);
        start = c;
    }
    if let Some(&c) = contacts.last() {
        // The rise after the last contact counts only if it turned back down (a full peak).
        let after = &ys[c..];
        let top = after.iter().copied().fold(f64::MAX, f64::min);
        if after.last().is_some_and(|&y| y > top + 0.005) {
            peaks.push(ys[c] - top);
        }
    }
    let es: Vec<f64> = peaks.windows(2).filter(|w| w[0] > 0.02).map(|w| (w[1].max(0.0) / w[0]).sqrt()).collect();
    let e = (!es.is_empty()).then(|| es[0]);
    // (kind, reason) of each problem; the first names the failure.
    let mut problems: Vec<(&str, String)> = Vec::new();
    if let Some(b) = &p.count {
        if !b.contains(count) {
            problems.push(("wrong bounce count", format!("{count} bounce(s), expected {}", bound_words(b))));
        }
    }
    if let Some(b) = &p.restitution {
        match e {
            Some(e) if !b.contains(e) => {
                problems.push(("restitution out of range", format!("restitution {e:.2} not {}", bound_words(b))))
            }
            None => problems.push(("no rebound", "no rebound to measure restitution from".into())),
            _ => {}
        }
    }
    let pass = problems.is_empty();
    let reason = if pass {
        format!("{count} bounce(s){}", e.map_or(String::new(), |e| format!(", restitution {e:.2}")))
    } else {
        problems.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ")
    };
    Verdict::new(pass, problems.first().map_or("", |p| p.0), Some(count), reason)
}
