//! `persistence`: a change stays made. `color`/`shape`: once the object's colour (shape) has
//! changed it never changes back; `trail`: the paint of the object's colour grows by half at
//! least over the clip and all of it is there at the end (at least 90% of the most ever
//! visible, the painting object's own area aside: occluders may hide paint for a while, and the
//! object may leave the frame), so a reversed clip fails. Paint is the colour's pixels plus
//! partial credit, by chroma, for the pixels around its regions ([`paint_area`]).

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
            let first_area = track.first().map(|(_, o)| o.area);
            let (w, h) = (ctx.video.width() as usize, ctx.video.height() as usize);
            let areas: Vec<f64> = ctx.video.frames().map(|f| paint_area(f, w, h, color, first_area)).collect();
            let (a0, a1) = (areas[0].max(1.0), areas[areas.len() - 1]);
            let peak = areas.iter().copied().fold(0.0, f64::max);
            let growth = a1 / a0;
            // Occluders may hide paint for a while, but at the end all of it must be there. The
            // object that paints may leave the frame (a brush rolling out took its own disc, a
            // fifth of the colour, with it: the oracle failed): its own area, as first seen
            // before it painted, is not paint.
            let own = first_area.map_or(a0, |a| a.min(a0));
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

/// How much of a frame shows paint of `color`: the pixels of that colour, plus partial credit for
/// the pixels around its regions by how far their chroma goes towards the paint's. A band of
/// paint shaken by a fraction of a pixel lands differently on H.264's 2×2 colour blocks: its edge
/// rows blend with the background in pairs and fall in or out of the colour test together, a
/// fifth of a thin trail from one frame to the next (a trail that never faded ended at 87% of its
/// peak and failed). A half-covered edge pixel now counts about half, whatever the shake.
/// Regions smaller than a tenth of the painter (grain of a wooden background) give no credit
/// around them.
fn paint_area(frame: &[u8], w: usize, h: usize, color: crate::palette::Color, painter: Option<f64>) -> f64 {
    let inside: Vec<bool> = frame.chunks_exact(3).map(|px| crate::track::near_color(px, color)).collect();
    let count = inside.iter().filter(|&&b| b).count();
    let min_region = painter.map_or(4.0, |a| (a / 10.0).max(4.0)) as usize;
    // 8-connected regions of the colour; the large ones are paint.
    let mut label = vec![0u32; w * h];
    let mut big = vec![false; w * h];
    let mut stack = Vec::new();
    let mut region = Vec::new();
    let mut next = 0u32;
    for start in 0..w * h {
        if !inside[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        region.clear();
        while let Some(i) = stack.pop() {
            region.push(i);
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if inside[j] && label[j] == 0 {
                        label[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
        if region.len() >= min_region {
            region.iter().for_each(|&i| big[i] = true);
        }
    }
    // The paint's chroma in this frame (its median, so light drift moves it along).
    let chroma = |px: &[u8]| -> (f64, f64) {
        let (r, g, b) = (f64::from(px[0]), f64::from(px[1]), f64::from(px[2]));
        (-0.169 * r - 0.331 * g + 0.5 * b, 0.5 * r - 0.419 * g - 0.081 * b)
    };
    let (mut us, mut vs): (Vec<f64>, Vec<f64>) =
        (0..w * h).filter(|&i| big[i]).map(|i| chroma(&frame[i * 3..i * 3 + 3])).unzip();
    if us.is_empty() {
        return count as f64;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (cu, cv) = (median(&mut us), median(&mut vs));
    let norm = cu * cu + cv * cv;
    if norm <= 0.0 {
        return count as f64;
    }
    // The ring: within 2 px (Chebyshev) of a large region, not of the colour itself.
    const RING: usize = 2;
    let mut near = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if big[y * w + x] {
                for ny in y.saturating_sub(RING)..(y + RING + 1).min(h) {
                    near[ny * w + x.saturating_sub(RING)..ny * w + (x + RING + 1).min(w)].fill(true);
                }
            }
        }
    }
    let partial: f64 = (0..w * h)
        .filter(|&i| near[i] && !inside[i])
        .map(|i| {
            let (u, v) = chroma(&frame[i * 3..i * 3 + 3]);
            ((u * cu + v * cv) / norm).clamp(0.0, 1.0)
        })
        .sum();
    count as f64 + partial
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
