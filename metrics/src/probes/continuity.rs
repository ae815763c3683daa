//! `continuity`: a conditioned mode keeps what it was given. The output frames it holds — the
//! first frames for i2v (the image), extend forward (the head) and interpolate (the first clip),
//! the last frames for extend backward (the tail) and interpolate (the second clip) — against
//! the conditioning input resized to the output's size (bilinear, the bundled adapter's resize):
//! one PSNR in dB over every held pixel (the pooled MSE), within the bound. Without the input
//! (a caller that has none, a mode that holds nothing) the check is not measurable.

use super::{Context, Continuity, Verdict, bound_words, psnr};
use crate::preprocess::{Filter, Spatial, transform_video};
use crate::video::Video;

pub fn check(p: &Continuity, ctx: &Context<'_>) -> Verdict {
    let Some(held) = ctx.held.filter(|h| h.head.is_some() || h.tail.is_some()) else {
        return Verdict::not_measurable(
            "no conditioning input: continuity is measured on i2v, extend and interpolate cases",
        );
    };
    let v = ctx.video;
    let at_size = |c: &Video| {
        if (c.width(), c.height()) == (v.width(), v.height()) {
            c.clone()
        } else {
            transform_video(c, Spatial::Stretch { width: v.width(), height: v.height() }, Filter::Bilinear, true)
        }
    };
    let head = held.head.as_ref().map(at_size);
    let tail = held.tail.as_ref().map(at_size);
    let (nh, nt) = (head.as_ref().map_or(0, Video::len), tail.as_ref().map_or(0, Video::len));
    if nh + nt > v.len() {
        return Verdict::fail(
            "too few frames",
            format!(
                "the output has {} frames; the conditioning input holds {nh} at the start and {nt} at the end",
                v.len()
            ),
        );
    }
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(nh + nt);
    if let Some(h) = &head {
        pairs.extend((0..nh).map(|i| (v.frame(i), h.frame(i))));
    }
    if let Some(t) = &tail {
        pairs.extend((0..nt).map(|i| (v.frame(v.len() - nt + i), t.frame(i))));
    }
    let psnr = psnr(pairs);
    let held_words = match (nh, nt) {
        (1, 0) => "the first frame".to_string(),
        (h, 0) => format!("the first {h} frames"),
        (0, 1) => "the last frame".to_string(),
        (0, t) => format!("the last {t} frames"),
        (h, t) => format!("the first {h} and last {t} frames"),
    };
    Verdict::new(
        p.psnr.contains(psnr),
        "seam at the conditioning input",
        Some(psnr),
        format!("{held_words} vs the conditioning input: PSNR {psnr:.1} dB, expected {}", bound_words(&p.psnr)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::{Bound, Context, Continuity, Held, IDENTICAL_DB};
    use super::*;

    /// A 24×16 clip whose frames differ (a moving bright bar over a ramp).
    fn clip(frames: usize, shift: usize) -> Video {
        let (w, h) = (24usize, 16usize);
        let mut data = Vec::with_capacity(frames * w * h * 3);
        for f in 0..frames {
            for y in 0..h {
                for x in 0..w {
                    let bar = (x + 24 - (f + shift) % 24) % 24 < 4;
                    let v = if bar { 250 } else { (x * 8 + y * 4) as u8 };
                    data.extend([v, v / 2, 255 - v]);
                }
            }
        }
        Video::new(w as u32, h as u32, 8.0, data).unwrap()
    }

    fn slice(v: &Video, from: usize, to: usize) -> Video {
        let frames: Vec<u8> = (from..to).flat_map(|i| v.frame(i).to_vec()).collect();
        Video::new(v.width(), v.height(), v.fps(), frames).unwrap()
    }

    fn expect(min: f64) -> Continuity {
        Continuity { psnr: Bound { min: Some(min), ..Bound::default() } }
    }

    fn verdict(video: &Video, held: Option<&Held>) -> Verdict {
        check(&expect(30.0), &Context::with_held(video, held))
    }

    #[test]
    fn held_frames_that_match_pass_and_a_broken_seam_fails() {
        let v = clip(12, 0);
        // Extend forward: the output starts with the given head.
        let head = Held { head: Some(slice(&v, 0, 4)), tail: None };
        let ok = verdict(&v, Some(&head));
        assert!(ok.pass && ok.value == Some(IDENTICAL_DB), "{}", ok.reason);
        // Extend backward: the output ends with the given tail.
        let tail = Held { head: None, tail: Some(slice(&v, 8, 12)) };
        assert!(verdict(&v, Some(&tail)).pass);
        // Interpolate: both ends.
        let both = Held { head: Some(slice(&v, 0, 3)), tail: Some(slice(&v, 9, 12)) };
        let r = verdict(&v, Some(&both));
        assert!(r.pass && r.reason.contains("the first 3 and last 3 frames"), "{}", r.reason);
        // Metamorphic: the same output against a head it does not keep (the clip shifted), or
        // a tail placed at the start, fails with a measured PSNR.
        let shifted = Held { head: Some(slice(&clip(12, 5), 0, 4)), tail: None };
        let bad = verdict(&v, Some(&shifted));
        assert!(!bad.pass && bad.measurable() && bad.value.is_some_and(|p| p < 30.0), "{}", bad.reason);
        let swapped = Held { head: Some(slice(&v, 8, 12)), tail: None };
        assert!(!verdict(&v, Some(&swapped)).pass);
    }

    #[test]
    fn without_an_input_it_is_not_measurable_and_too_short_an_output_fails() {
        let v = clip(6, 0);
        assert!(!verdict(&v, None).measurable());
        assert!(!verdict(&v, Some(&Held::default())).measurable());
        let long = Held { head: Some(clip(5, 0)), tail: Some(clip(3, 0)) };
        let r = verdict(&v, Some(&long));
        assert!(r.measurable() && !r.pass && r.kind == "too few frames", "{}", r.reason);
    }

    /// An image given at another size is compared at the output's size: the output whose first
    /// frame is the image resized (as the bundled adapter resizes it) keeps it.
    #[test]
    fn the_input_is_compared_at_the_output_size() {
        let big = clip(1, 0);
        let small = transform_video(&big, Spatial::Stretch { width: 12, height: 8 }, Filter::Bilinear, true);
        let mut frames = small.frame(0).to_vec();
        frames.extend(clip(3, 7).frames().take(2).flat_map(|f| {
            transform_video(
                &Video::new(24, 16, 8.0, f.to_vec()).unwrap(),
                Spatial::Stretch { width: 12, height: 8 },
                Filter::Bilinear,
                true,
            )
            .frame(0)
            .to_vec()
        }));
        let out = Video::new(12, 8, 8.0, frames).unwrap();
        let image = Held { head: Some(big), tail: None };
        let r = verdict(&out, Some(&image));
        assert!(r.pass && r.value == Some(IDENTICAL_DB), "{}", r.reason);
    }
}
