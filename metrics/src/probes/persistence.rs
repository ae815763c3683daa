//! `persistence`: a change stays made. `color`/`shape`: once the object's colour (shape) has
//! changed it never changes back; `trail`: the paint of the object's colour grows by half at
//! least over the clip and all of it is there at the end (at least 90% of the most ever
//! visible, the painting object's own area aside: occluders may hide paint for a while, and the
//! object may leave the frame), so a reversed clip fails.

use super::{Context, Persistence, Persisting, Verdict};

pub fn check(p: &Persistence, ctx: &Context<'_>) -> Verdict {
    let track = match ctx.find(&p.object) {
        Ok(t) => t,
        Err(v) => return v,
    };
    match p.what {
        Persisting::Color | Persisting::Shape => {
            let states: Vec<String> =
                track
                    .seen()
                    .map(|(_, o)| {
                        if p.what == Persisting::Color {
                            o.color.name().to_string()
                        } else {
                            o.shape.name().to_string()
                        }
                    })
                    .collect();
            // Runs of equal states; a persistent change has at most two runs (before, after),
            // ignoring single-frame shape flickers.
            let mut runs: Vec<(String, usize)> = Vec::new();
            for s in states {
                match runs.last_mut() {
                    Some((last, n)) if *last == s => *n += 1,
                    _ => runs.push((s, 1)),
                }
            }
            let runs: Vec<&(String, usize)> = runs.iter().filter(|r| p.what == Persisting::Color || r.1 > 1).collect();
            let mut distinct: Vec<&str> = Vec::new();
            for r in &runs {
                if distinct.last() != Some(&r.0.as_str()) {
                    distinct.push(&r.0);
                }
            }
            let changes = distinct.len().saturating_sub(1);
            let pass = changes <= 1;
            let path = distinct.join(" → ");
            Verdict::new(
                pass,
                "changes back",
                Some(changes as f64),
                if pass { format!("stays {path}") } else { format!("changes back: {path}") },
            )
        }
        Persisting::Trail => {
            let Some(color) = track.main_color() else { return Verdict::fail("object not found", "never seen") };
            let areas: Vec<f64> = ctx
                .video
                .frames()
                .map(|f| f.chunks_exact(3).filter(|px| crate::track::near_color(px, color)).count() as f64)
                .collect();
            let (a0, a1) = (areas[0].max(1.0), areas[areas.len() - 1]);
            let peak = areas.iter().copied().fold(0.0, f64::max);
            let growth = a1 / a0;
            // Occluders may hide paint for a while, but at the end all of it must be there. The
            // object that paints may leave the frame (a brush rolling out took its own disc, a
            // fifth of the colour, with it: the oracle failed): its own area, as first seen
            // before it painted, is not paint.
            let own = track.first().map_or(a0, |(_, o)| o.area.min(a0));
            let trail_peak = (peak - own).max(1.0);
            let pass = growth >= 1.5 && a1 >= 0.9 * trail_peak;
            let reason = format!(
                "paint area grows {growth:.2}× and ends at {:.0}% of the trail's peak (the object's own area aside)",
                100.0 * a1 / trail_peak
            );
            Verdict::new(pass, "trail does not persist", Some(growth), reason)
        }
    }
}
