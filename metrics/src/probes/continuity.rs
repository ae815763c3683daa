//! `continuity`: a conditioned mode keeps what it was given. The output frames it holds — the
//! first frames for i2v (the image), extend forward (the head) and interpolate (the first clip),
//! the last frames for extend backward (the tail) and interpolate (the second clip), every frame
//! for edit (the source clip, which an edit keeps but for what it changes) — against
//! the conditioning input resized to the output's size (bilinear, the bundled adapter's resize),
//! both then reduced to the analysis size ([`super::ANALYSIS_SHORT`] short side, area): a PSNR in
//! dB over each held end's pixels (the pooled MSE of its frames), the lower of the two ends
//! within the bound. Without the input (a caller that has none, a mode that holds nothing) the
//! check is not measurable.
//!
//! At the video's own size, sensor noise decided it (a correct first frame with noise read
//! 21.7 dB at 640×360, below a wrong image's 25.9) and so did the resolution (the same clip failed
//! at 640×360 and passed at 1080p); one PSNR pooled over both ends of an interpolation let an
//! exact first clip carry a wrong last one.

use super::{Context, Continuity, Verdict, at_analysis_size, bound_words, psnr};
use crate::preprocess::{Filter, Spatial, transform_frame, transform_video};
use crate::video::Video;

pub fn check(p: &Continuity, ctx: &Context<'_>) -> Verdict {
    let Some(held) = ctx.held.filter(|h| h.head.is_some() || h.tail.is_some()) else {
        return Verdict::not_measurable(
            "no conditioning input: continuity is measured on i2v, extend, interpolate and edit cases",
        );
    };
    let v = ctx.video;
    let (nh, nt) = (held.head.as_ref().map_or(0, Video::len), held.tail.as_ref().map_or(0, Video::len));
    if nh + nt > v.len() {
        return Verdict::fail(
            "too few frames",
            format!(
                "the output has {} frames; the conditioning input holds {nh} at the start and {nt} at the end",
                v.len()
            ),
        );
    }
    // The input as the output holds it (at its size), then both at the analysis size.
    let at_size = |c: &Video| {
        let resized = if (c.width(), c.height()) == (v.width(), v.height()) {
            c.clone()
        } else {
            transform_video(c, Spatial::Stretch { width: v.width(), height: v.height() }, Filter::Bilinear, true)
        };
        at_analysis_size(&resized).into_owned()
    };
    // The held frames of the output, each reduced as it is read (an edit holds the whole clip:
    // copied at full size first, it doubled the clip's memory).
    let (w, h) = super::analysis_size(v.width(), v.height());
    let reduced = |i: usize| {
        let frame = v.frame(i);
        if (w, h) == (v.width(), v.height()) {
            frame.to_vec()
        } else {
            transform_frame(frame, v.width(), v.height(), Spatial::Stretch { width: w, height: h }, Filter::Area, true)
        }
    };
    let mut ends: Vec<(String, f64)> = Vec::new();
    for (input, from, n, which) in [(&held.head, 0, nh, "first"), (&held.tail, v.len() - nt, nt, "last")] {
        let Some(input) = input else { continue };
        let input = at_size(input);
        let out: Vec<Vec<u8>> = (from..from + n).map(reduced).collect();
        let db = psnr(out.iter().enumerate().map(|(i, f)| (f.as_slice(), input.frame(i))));
        let words = if n == 1 { format!("the {which} frame") } else { format!("the {which} {n} frames") };
        ends.push((words, db));
    }
    let worst = ends.iter().map(|(_, db)| *db).fold(f64::INFINITY, f64::min);
    let said: Vec<String> = ends.iter().map(|(words, db)| format!("{words} {db:.1} dB")).collect();
    Verdict::new(
        p.psnr.contains(worst),
        "seam at the conditioning input",
        Some(worst),
        format!(
            "PSNR vs the conditioning input at {w}x{h}: {}; the lower expected {}",
            said.join(", "),
            bound_words(&p.psnr)
        ),
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
        assert!(r.pass && r.reason.contains("the first 3 frames 99.0 dB, the last 3 frames 99.0 dB"), "{}", r.reason);
        // Each end on its own: an exact first clip does not carry a wrong last one (pooled, it
        // lifted the wrong end by 3 dB).
        let half_wrong = Held { head: Some(slice(&v, 0, 3)), tail: Some(slice(&clip(12, 5), 9, 12)) };
        let alone = verdict(&v, Some(&Held { head: None, tail: half_wrong.tail.clone() }));
        let r = verdict(&v, Some(&half_wrong));
        assert!(!r.pass && r.value == alone.value, "{} vs {}", r.reason, alone.reason);
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

    /// A smooth textured 16:9 frame (a photograph's low frequencies) with a ball at `ball_x`,
    /// plus sensor noise of standard deviation `noise` (a seeded LCG's sum of uniforms), at
    /// `w × h`, mirrored if asked.
    fn photo(w: u32, h: u32, ball_x: f64, noise: f64, mirror: bool, seed: u64) -> Video {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut uniform = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let (u, v) =
                    (f64::from(if mirror { w - 1 - x } else { x }) / f64::from(w), f64::from(y) / f64::from(h));
                let ball = ((u - ball_x) * 16.0 / 9.0).hypot(v - 0.6) < 0.08;
                let base = 120.0 + 60.0 * (9.0 * u + 2.0 * (5.0 * v).sin()).sin() + 30.0 * (13.0 * v + 3.0 * u).cos();
                for c in 0..3 {
                    let n: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
                    let value = if ball { [40.0, 60.0, 200.0][c] } else { base * [1.0, 0.8, 0.6][c] };
                    data.push((value + noise * n).round().clamp(0.0, 255.0) as u8);
                }
            }
        }
        Video::new(w, h, 8.0, data).unwrap()
    }

    /// Compared at the analysis size, a correct first frame under heavy sensor noise keeps its
    /// input at 640×360 and at 1920×1080 alike, and a mirrored or moved one does not (at the
    /// video's size the noisy correct frame read below a wrong one, and the verdict flipped
    /// between the two resolutions).
    #[test]
    fn noise_and_resolution_do_not_decide_the_verdict() {
        let expectation = expect(26.0);
        for (w, h) in [(640, 360), (1920, 1080)] {
            let image = Held { head: Some(photo(w, h, 0.3, 0.0, false, 1)), tail: None };
            let judge = |out: &Video| check(&expectation, &Context::with_held(out, Some(&image)));
            let noisy = judge(&photo(w, h, 0.3, 20.0, false, 2));
            eprintln!("{w}x{h} noisy: {}", noisy.reason);
            assert!(noisy.pass, "{w}x{h}: {}", noisy.reason);
            for (what, wrong) in
                [("mirrored", photo(w, h, 0.3, 20.0, true, 3)), ("moved", photo(w, h, 0.6, 20.0, false, 4))]
            {
                let r = judge(&wrong);
                eprintln!("{w}x{h} {what}: {}", r.reason);
                assert!(!r.pass && r.measurable(), "{w}x{h} {what}: {}", r.reason);
            }
        }
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
