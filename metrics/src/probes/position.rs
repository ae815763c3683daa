//! `position`: sign-correct spatial relations between two objects ("A left of B" and "A right
//! of B" are different claims) at the start, the end, or in every frame both are seen.

use super::{Context, Position, Relation, Verdict, When};

pub fn check(p: &Position, ctx: &Context<'_>) -> Verdict {
    let (a, b) = match (ctx.find(&p.object), ctx.find(&p.other)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(v), _) | (_, Err(v)) => return v,
    };
    if a.id == b.id {
        return Verdict::fail("bad expectation", "both references name the same object");
    }
    let both: Vec<usize> =
        (0..a.frames.len().min(b.frames.len())).filter(|&t| a.frames[t].is_some() && b.frames[t].is_some()).collect();
    let frames: Vec<usize> = match p.at {
        When::Start => both.first().copied().into_iter().collect(),
        When::End => both.last().copied().into_iter().collect(),
        When::Throughout => both.clone(),
    };
    if frames.is_empty() {
        return Verdict::fail("never seen together", "the two objects are never seen together");
    }
    // The start (end) is where both are seen within a quarter second of the clip's start (end):
    // seen together only later, their places at the start are not seen (a cup's track broken
    // where it passed behind another was read "at the start" at frame 36, and passed).
    let total = ctx.video.len();
    match p.at {
        When::Start if ctx.late(frames[0]) => {
            return Verdict::not_measurable(format!(
                "the two objects are first seen together at frame {} of {total}: their places at the start are not seen",
                frames[0]
            ));
        }
        When::End if ctx.late(total - 1 - frames[0]) => {
            return Verdict::not_measurable(format!(
                "the two objects are last seen together at frame {} of {total}: their places at the end are not seen",
                frames[0]
            ));
        }
        _ => {}
    }
    let unit = ctx.unit();
    let margin = 0.01 * unit;
    let holds = |t: usize| {
        let (ca, cb) = (a.frames[t].as_ref().map(|o| o.center), b.frames[t].as_ref().map(|o| o.center));
        let (Some(ca), Some(cb)) = (ca, cb) else { return (false, 0.0) };
        let d = match p.relation {
            Relation::LeftOf => cb[0] - ca[0],
            Relation::RightOf => ca[0] - cb[0],
            Relation::Above => cb[1] - ca[1],
            Relation::Below => ca[1] - cb[1],
        };
        (d > margin, d / unit)
    };
    let results: Vec<(bool, f64)> = frames.iter().map(|&t| holds(t)).collect();
    let ok = results.iter().filter(|r| r.0).count();
    let mean = results.iter().map(|r| r.1).sum::<f64>() / results.len() as f64;
    let word = super::words(p.relation);
    let pass = ok == results.len();
    let judged = match p.at {
        When::Throughout if results.len() < total => format!(" where both are seen, of the clip's {total}"),
        When::Throughout => String::new(),
        When::Start | When::End => format!(" (frame {})", frames[0]),
    };
    let reason = format!("{word} holds in {ok} of {} frame(s){judged} (mean separation {mean:+.3} h)", results.len());
    Verdict::new(pass, "wrong side", Some(mean), reason)
}

#[cfg(test)]
mod tests {
    use super::super::{ObjectRef, Position, Relation, When};
    use super::*;
    use crate::palette::Color;
    use crate::video::Video;

    /// A red square on the left throughout and a blue one on the right from frame 6 of 12: the
    /// start is not seen with both (it was read at frame 6), the end is, and every frame both
    /// are seen is named as such.
    #[test]
    fn places_are_judged_where_both_are_seen_and_say_so() {
        let (w, h) = (64usize, 48usize);
        let mut data = Vec::new();
        for f in 0..12 {
            for y in 0..h {
                for x in 0..w {
                    let red = (8..20).contains(&x) && (18..30).contains(&y);
                    let blue = f >= 6 && (44..56).contains(&x) && (18..30).contains(&y);
                    data.extend(if red {
                        Color::Red.rgb()
                    } else if blue {
                        Color::Blue.rgb()
                    } else {
                        [200, 200, 200]
                    });
                }
            }
        }
        let v = Video::new(w as u32, h as u32, 8.0, data).unwrap();
        let ctx = Context::new(&v);
        let at = |when: When| Position {
            object: ObjectRef { color: Some(Color::Red), ..Default::default() },
            relation: Relation::LeftOf,
            other: ObjectRef { color: Some(Color::Blue), ..Default::default() },
            at: when,
        };
        let start = check(&at(When::Start), &ctx);
        assert!(!start.measurable() && start.reason.contains("first seen together at frame 6"), "{start:?}");
        let end = check(&at(When::End), &ctx);
        assert!(end.pass && end.reason.contains("(frame 11)"), "{end:?}");
        let all = check(&at(When::Throughout), &ctx);
        assert!(all.pass && all.reason.contains("6 of 6 frame(s) where both are seen, of the clip's 12"), "{all:?}");
    }
}
