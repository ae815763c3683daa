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
    let reason = format!("{word} holds in {ok} of {} frame(s) (mean separation {mean:+.3} h)", results.len());
    Verdict::new(pass, "wrong side", Some(mean), reason)
}
