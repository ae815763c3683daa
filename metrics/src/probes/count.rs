//! `count`: how many distinct objects (optionally of one colour/shape) are visible: the median
//! over frames of the number of matching detections.

use super::{Context, Count, Verdict, bound_words, describe};

pub fn check(p: &Count, ctx: &Context<'_>) -> Verdict {
    // Objects of a colour the tracker does not segment (white, black, gray: backgrounds,
    // shadows, highlights) cannot be counted: not measurable, as for every probe (they were
    // counted as none, a failure).
    if let Some(c) = p.object.as_ref().and_then(|r| r.color).filter(|c| !crate::track::TRACKED.contains(c)) {
        return Verdict::not_measurable(format!(
            "{} objects cannot be told from the background: the tracker follows saturated colours",
            c.name()
        ));
    }
    let tracks = ctx.tracks();
    let matches =
        |c, s| p.object.as_ref().is_none_or(|r| r.color.is_none_or(|x| x == c) && r.shape.is_none_or(|x| x == s));
    let mut per_frame: Vec<usize> = (0..ctx.video.len())
        .map(|t| {
            tracks
                .iter()
                .filter(|tr| tr.frames.get(t).and_then(|o| o.as_ref()).is_some_and(|o| matches(o.color, o.shape)))
                .count()
        })
        .collect();
    per_frame.sort_unstable();
    let median = per_frame[per_frame.len() / 2] as f64;
    let what = p.object.as_ref().map_or("objects".to_string(), |r| format!("{}s", describe(r)));
    let pass = p.count.contains(median);
    Verdict::new(
        pass,
        "wrong count",
        Some(median),
        format!("{median} {what} per frame (median), expected {}", bound_words(&p.count)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Bound, Context, Count, ObjectRef};
    use super::*;
    use crate::palette::Color;
    use crate::video::Video;

    /// Two red squares on gray are counted; white objects cannot be told from the background, so
    /// a count of them is not measurable (it read "0 white objects", a failure).
    #[test]
    fn saturated_objects_are_counted_and_white_ones_are_not_measurable() {
        let (w, h) = (48u32, 32u32);
        let red = Color::Red.rgb();
        let mut frame = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let square = (4..12).contains(&y) && ((4..12).contains(&x) || (30..38).contains(&x));
                frame.extend(if square { red } else { [128, 128, 128] });
            }
        }
        let video = Video::new(w, h, 8.0, frame.repeat(3)).unwrap();
        let ctx = Context::new(&video);
        let count = |color: Color| Count {
            object: Some(ObjectRef { color: Some(color), ..ObjectRef::default() }),
            count: Bound { min: Some(1.0), ..Bound::default() },
        };
        let reds = check(&count(Color::Red), &ctx);
        assert!(reds.pass && reds.value == Some(2.0), "{}", reds.reason);
        let whites = check(&count(Color::White), &ctx);
        assert!(!whites.measurable() && whites.reason.contains("white objects cannot be told"), "{}", whites.reason);
    }
}
