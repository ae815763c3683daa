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
            // The object's own area counts as paint at the end too, unless it may have left the
            // frame: the paint it is tracked with reaches the frame's edge (the oracle's brush
            // rolled out). A trail half erased with the object still in view failed before and
            // fails again.
            let (w, h) = (f64::from(ctx.video.width()), f64::from(ctx.video.height()));
            let at_edge = track.frames.last().and_then(Option::as_ref).is_none_or(|o| {
                let [x0, y0, x1, y1] = o.bbox;
                x0 <= 1.0 || y0 <= 1.0 || x1 >= w - 1.0 || y1 >= h - 1.0
            });
            let trail_end = if at_edge { a1 } else { (a1 - own).max(0.0) };
            let pass = growth >= 1.5 && trail_end >= 0.9 * trail_peak;
            let reason = format!(
                "paint area grows {growth:.2}× and ends at {:.0}% of the trail's peak (the object's own area aside)",
                100.0 * (trail_end / trail_peak).min(1.0)
            );
            Verdict::new(pass, "trail does not persist", Some(growth), reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Video;
    use crate::palette::Color;
    use crate::probes::{Context, Expectation, check};

    /// A purple square moving right 3 px a frame from x = 2 and leaving a band of paint behind
    /// it, over 12 frames of 64×24; `erase(t)` is how many columns of paint (from the left) are
    /// gone in frame t; past the frame's right edge the square has left.
    fn brush(speed: usize, erase: impl Fn(usize) -> usize) -> Video {
        let (w, h) = (64usize, 24usize);
        let mut data = Vec::new();
        for t in 0..12 {
            let mut f = vec![200u8; w * h * 3];
            let x = 2 + speed * t;
            for y in 9..15 {
                for c in erase(t)..(x + 6).min(w) {
                    f[(y * w + c) * 3..][..3].copy_from_slice(&Color::Purple.rgb());
                }
            }
            data.extend(f);
        }
        Video::new(w as u32, h as u32, 8.0, data).unwrap()
    }

    fn verdict(v: &Video) -> (bool, String) {
        let e: Expectation =
            serde_json::from_str(r#"{"probe": "persistence", "object": {"color": "purple"}, "what": "trail"}"#)
                .unwrap();
        let r = check(&e, &Context::new(v));
        (r.pass, r.detail())
    }

    /// The trail stays: a pass, the painter in view or rolled out of the frame (the oracle's
    /// brush left and failed, 88% of the peak); half of it erased with the painter in view is a
    /// failure (the painter's own area let it pass at 97%).
    #[test]
    fn a_trail_must_stay_whether_or_not_its_painter_leaves() {
        let (pass, why) = verdict(&brush(3, |_| 0));
        assert!(pass, "{why}");
        let (pass, why) = verdict(&brush(7, |_| 0));
        assert!(pass, "rolled out: {why}");
        let (pass, why) = verdict(&brush(3, |t| if t >= 10 { 16 } else { 0 }));
        assert!(!pass, "half erased: {why}");
    }
}
