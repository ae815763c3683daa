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
            // Colours seen briefly (together within the tracker's recolouring time) between two
            // others are the blend from one to the next, not changes of their own: a cup fading
            // from green to blue over 0.25 s read "green → cyan → blue", changes back. Taken as
            // one stretch: two short colours in a row each between differing neighbours made
            // green → cyan → blue → green "never changes".
            let blend = ((crate::track::RECOLOUR_WITHIN * ctx.video.fps()).round() as usize).max(1);
            let mut keep = vec![true; runs.len()];
            let mut i = 0;
            while i < runs.len() {
                if runs[i].1 > blend {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < runs.len() && runs[i].1 <= blend {
                    i += 1;
                }
                let total: usize = runs[start..i].iter().map(|r| r.1).sum();
                if start > 0 && i < runs.len() && total <= blend && runs[start - 1].0 != runs[i].0 {
                    keep[start..i].fill(false);
                }
            }
            let runs: Vec<&(String, usize)> = runs
                .iter()
                .zip(keep)
                .filter(|&(r, kept)| match p.what {
                    Persisting::Color => kept,
                    _ => r.1 > 1,
                })
                .map(|(r, _)| r)
                .collect();
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
                match changes {
                    0 => format!("never changes: {path}"),
                    1 => format!("changes once and stays changed: {path}"),
                    _ => format!("changes back: {path}"),
                },
            )
        }
        Persisting::Trail => {
            let Some(color) = track.main_color() else { return Verdict::fail("object not found", "never seen") };
            // Measured with a short side of at most PAINT_SHORT (area averaging: the partial
            // credit counts what it blends), in the painter's area at that size too: at 1080p a
            // frame took 0.1 s. Each frame is reduced as it is measured (no second copy of the
            // clip).
            let (vw, vh) = (ctx.video.width(), ctx.video.height());
            let (w, h) = super::size_at_most(vw, vh, PAINT_SHORT);
            let scale = f64::from(w * h) / f64::from(vw * vh);
            let first_area = track.first().map(|(_, o)| o.area * scale);
            let frames: Vec<&[u8]> = ctx.video.frames().collect();
            let areas: Vec<f64> = {
                use crate::preprocess::{Filter, Spatial, transform_frame};
                use rayon::prelude::*;
                frames
                    .par_iter()
                    .map(|f| {
                        let f: std::borrow::Cow<[u8]> = if (w, h) == (vw, vh) {
                            std::borrow::Cow::Borrowed(f)
                        } else {
                            transform_frame(f, vw, vh, Spatial::Stretch { width: w, height: h }, Filter::Area, true)
                                .into()
                        };
                        paint_area(&f, w as usize, h as usize, color, first_area)
                    })
                    .collect()
            };
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

/// The short side at most at which a trail's paint is measured.
const PAINT_SHORT: u32 = 256;

/// How much of a frame shows paint of `color`: the pixels of that colour, plus partial credit for
/// the pixels around its regions by how far their chroma goes from the background's towards the
/// paint's (the median chroma of those pixels, mostly background, and of the regions). A band of
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
    let median = |v: &mut Vec<f64>| {
        let k = v.len() / 2;
        *v.select_nth_unstable_by(k, f64::total_cmp).1
    };
    let (mut us, mut vs): (Vec<f64>, Vec<f64>) =
        (0..w * h).filter(|&i| big[i]).map(|i| chroma(&frame[i * 3..i * 3 + 3])).unzip();
    if us.is_empty() {
        return count as f64;
    }
    let (cu, cv) = (median(&mut us), median(&mut vs));
    // The ring: within 2 px (Chebyshev) of a large region, not of the colour itself; the
    // background: 3 or 4 px from it.
    let near = dilate(&big, w, h, 2);
    let around = dilate(&near, w, h, 2);
    let ring: Vec<(f64, f64)> =
        (0..w * h).filter(|&i| near[i] && !inside[i]).map(|i| chroma(&frame[i * 3..i * 3 + 3])).collect();
    let (mut bu, mut bv): (Vec<f64>, Vec<f64>) =
        (0..w * h).filter(|&i| around[i] && !near[i] && !inside[i]).map(|i| chroma(&frame[i * 3..i * 3 + 3])).unzip();
    if ring.is_empty() || bu.is_empty() {
        return count as f64;
    }
    // Credit from the background's chroma towards the paint's: a blue wall credited every ring
    // pixel 0.93 of yellow paint's chroma against grey's (the painter's own ring made a trail
    // on blue grow 8% less).
    let (bu, bv) = (median(&mut bu), median(&mut bv));
    let (du, dv) = (cu - bu, cv - bv);
    let norm = du * du + dv * dv;
    if norm <= 0.0 {
        return count as f64;
    }
    let partial: f64 = ring.iter().map(|&(u, v)| (((u - bu) * du + (v - bv) * dv) / norm).clamp(0.0, 1.0)).sum();
    count as f64 + partial
}

/// `mask` grown by `r` pixels in each direction (a (2r+1)² square), in two passes.
fn dilate(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    let pass = |src: &[bool], len: usize, lines: usize, at: &dyn Fn(usize, usize) -> usize| {
        let mut out = vec![false; src.len()];
        for line in 0..lines {
            // The last set position seen, to reach forward; then backward.
            let mut last: Option<usize> = None;
            for k in 0..len {
                if src[at(line, k)] {
                    last = Some(k);
                }
                out[at(line, k)] = last.is_some_and(|l| k - l <= r);
            }
            last = None;
            for k in (0..len).rev() {
                if src[at(line, k)] {
                    last = Some(k);
                }
                out[at(line, k)] |= last.is_some_and(|l| l - k <= r);
            }
        }
        out
    };
    let rows = pass(mask, w, h, &|y, x| y * w + x);
    pass(&rows, h, w, &|x, y| y * w + x)
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
        brush_on([200, 200, 200], speed, erase)
    }

    /// [`brush`] over a wall of colour `bg`.
    fn brush_on(bg: [u8; 3], speed: usize, erase: impl Fn(usize) -> usize) -> Video {
        let (w, h) = (64usize, 24usize);
        let mut data = Vec::new();
        for t in 0..12 {
            let mut f = bg.repeat(w * h);
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

    /// The wall's colour is not paint: the same trail reads the same over grey and over blue
    /// (the ring around the paint was credited by its chroma as if the wall were grey, and a
    /// trail on blue grew 8% less).
    #[test]
    fn a_trail_reads_the_same_over_any_wall() {
        let grey = verdict(&brush_on([150, 150, 150], 3, |_| 0)).1;
        let blue = verdict(&brush_on([60, 60, 200], 3, |_| 0)).1;
        assert_eq!(grey, blue);
    }

    #[test]
    fn dilation_is_the_square_around_each_pixel() {
        let (w, h) = (13usize, 9usize);
        let mask: Vec<bool> = (0..w * h).map(|i| (i * 7919) % 23 == 0).collect();
        for r in [0, 1, 2, 4] {
            let brute: Vec<bool> = (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as i64, (i / w) as i64);
                    (0..w * h).any(|j| {
                        let (a, b) = ((j % w) as i64, (j / w) as i64);
                        mask[j] && (a - x).abs() <= r as i64 && (b - y).abs() <= r as i64
                    })
                })
                .collect();
            assert_eq!(super::dilate(&mask, w, h, r), brute, "r = {r}");
        }
    }
}
