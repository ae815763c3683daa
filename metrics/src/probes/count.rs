//! `count`: how many distinct objects (optionally of one colour/shape) are visible: the median
//! over frames of the number of matching detections.

use super::{Context, Count, Verdict, bound_words, describe};

pub fn check(p: &Count, ctx: &Context<'_>) -> Verdict {
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
