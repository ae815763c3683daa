//! `continuity`: a conditioned mode keeps what it was given. The output frames it holds — the
//! first frames for i2v (the image), extend forward (the head) and interpolate (the first clip),
//! the last frames for extend backward (the tail) and interpolate (the second clip), every frame
//! for edit (the source clip, which an edit keeps but for what it changes) — against
//! the conditioning input resized to the output's size (bilinear, the bundled adapter's resize),
//! both then reduced to the analysis size ([`super::ANALYSIS_SHORT`] short side, area): a PSNR in
//! dB over each held end's pixels (the pooled MSE of its frames), the lower of the two ends
//! within the bound. Without the input (a caller that has none, a mode that holds nothing) the
//! check is not measurable. A mode that must make frames of its own (all but edit) fails when
//! its output is only what it holds, and i2v and the extensions fail on a jump where the held
//! frames meet the generated ones (the step there against the clip's others, as `loop` judges
//! its seam).
//!
//! At the video's own size, sensor noise decided it (a correct first frame with noise read
//! 21.7 dB at 640×360, below a wrong image's 25.9) and so did the resolution (the same clip failed
//! at 640×360 and passed at 1080p); one PSNR pooled over both ends of an interpolation let an
//! exact first clip carry a wrong last one.

use super::{Context, Continuity, Verdict, at_analysis_size, bound_words, psnr};
use crate::preprocess::{Filter, Spatial, transform_video};
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
                "the output has {} frame(s); the conditioning input holds {nh} at the start and {nt} at the end",
                v.len()
            ),
        );
    }
    // An extension that returns its input, an interpolation that plays its two clips back to
    // back, an i2v that returns its image: each kept everything and made nothing (they passed).
    if held.adds && nh + nt == v.len() {
        return Verdict::fail(
            "nothing generated",
            format!(
                "the output's {} frame(s) are the {} the conditioning input holds: no frame of its own",
                v.len(),
                nh + nt
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
    // The output at the analysis size, as the context holds it for every check (the held frames
    // were reduced here a second time where the jumps below read the whole clip from it).
    let reduced = ctx.reduced();
    let (w, h) = (reduced.width(), reduced.height());
    let mut ends: Vec<(String, f64)> = Vec::new();
    for (input, from, n, which) in [(&held.head, 0, nh, "first"), (&held.tail, v.len() - nt, nt, "last")] {
        let Some(input) = input else { continue };
        let input = at_size(input);
        let db = psnr((0..n).map(|i| (reduced.frame(from + i), input.frame(i))));
        let words = if n == 1 { format!("the {which} frame") } else { format!("the {which} {n} frames") };
        ends.push((words, db));
    }
    let worst = ends.iter().map(|(_, db)| *db).fold(f64::INFINITY, f64::min);
    let said: Vec<String> = ends.iter().map(|(words, db)| format!("{words} {db:.1} dB")).collect();
    let said = format!(
        "PSNR vs the conditioning input at {w}x{h}: {}; the lower expected {}",
        said.join(", "),
        bound_words(&p.psnr)
    );
    // An interpolation between two different clips changes somewhere (the oracle cuts from the
    // first clip to the second's scene): where is the `shots` probe's to judge.
    let one_end = (nh > 0) != (nt > 0);
    let jumps = if held.adds && one_end { jumps(ctx, nh, nt) } else { Vec::new() };
    if jumps.is_empty() {
        Verdict::new(p.psnr.contains(worst), "seam at the conditioning input", Some(worst), said)
    } else {
        Verdict::new(false, "seam at the conditioning input", Some(worst), format!("{said}; {}", jumps.join("; ")))
    }
}

/// Jumps where the held frames meet the generated ones (i2v and extensions): the step there
/// (RMS at the analysis size, and each channel's mean and spread) against the clip's other
/// steps, as `loop` judges its seam. An extension that kept its input exactly and then shifted
/// colour (a channel's mean 157 → 180 where the clip's steps move it by 0.4), or cut to another
/// picture, passed on the held frames alone. Judged where at least three other steps show what the clip's are, and
/// only past [`JUMP_LEVELS`] and [`JUMP_COLOUR`]: on a still shot the steps are a fraction of a
/// level, and a model's softer frames after a sharp held image (1.9 levels RMS) or a cast of 1.5
/// levels failed as jumps at 42–45 dB.
fn jumps(ctx: &Context<'_>, nh: usize, nt: usize) -> Vec<String> {
    use super::loop_::{COLOUR_SLACK, SEAM_STEPS, colour_stats, largest_change, quantile, rms};
    let a = ctx.reduced();
    let n = a.len();
    let mut seams: Vec<usize> = Vec::new();
    if nh > 0 {
        seams.push(nh - 1);
    }
    if nt > 0 && n - nt > 0 && !seams.contains(&(n - nt - 1)) {
        seams.push(n - nt - 1);
    }
    let colours: Vec<[f64; 6]> = (0..n).map(|t| colour_stats(a.frame(t))).collect();
    let steps: Vec<(f64, f64)> = (0..n.saturating_sub(1))
        .map(|t| (rms(a.frame(t), a.frame(t + 1)), largest_change(&colours[t], &colours[t + 1])))
        .collect();
    let others: Vec<(f64, f64)> =
        steps.iter().enumerate().filter(|(t, _)| !seams.contains(t)).map(|(_, s)| *s).collect();
    if others.len() < 3 {
        return Vec::new();
    }
    let typical = quantile(&others.iter().map(|s| s.0).collect::<Vec<_>>(), 0.9);
    let usual_colour = quantile(&others.iter().map(|s| s.1).collect::<Vec<_>>(), 0.9);
    let mut out = Vec::new();
    for t in seams {
        let (step, colour) = steps[t];
        let at = format!("frames {t} → {}", t + 1);
        if step > (SEAM_STEPS * typical + 0.5).max(JUMP_LEVELS) {
            out.push(format!(
                "where the held frames meet the generated ones ({at}) the picture differs by {step:.1} levels (RMS), over {SEAM_STEPS} × the clip's 90th-percentile step {typical:.1}: a jump"
            ));
        } else if colour > (SEAM_STEPS * usual_colour + COLOUR_SLACK).max(JUMP_COLOUR) {
            out.push(format!(
                "where the held frames meet the generated ones ({at}) a channel's mean or spread moves {colour:.2} levels, over {SEAM_STEPS} × the clip's 90th-percentile step {usual_colour:.2} + {COLOUR_SLACK}"
            ));
        }
    }
    out
}

/// The least RMS difference (levels, at the analysis size) that is a jump where held frames
/// meet generated ones: 36 dB.
const JUMP_LEVELS: f64 = 4.0;

/// The least change of a channel's mean or spread (levels) that is a jump there.
const JUMP_COLOUR: f64 = 3.0;

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

    fn backwards(v: &Video) -> Video {
        let frames: Vec<u8> = (0..v.len()).rev().flat_map(|i| v.frame(i).to_vec()).collect();
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
        let head = Held { head: Some(slice(&v, 0, 4)), tail: None, adds: true };
        let ok = verdict(&v, Some(&head));
        assert!(ok.pass && ok.value == Some(IDENTICAL_DB), "{}", ok.reason);
        // Extend backward: the output ends with the given tail.
        let tail = Held { head: None, tail: Some(slice(&v, 8, 12)), adds: true };
        assert!(verdict(&v, Some(&tail)).pass);
        // Interpolate: both ends.
        let both = Held { head: Some(slice(&v, 0, 3)), tail: Some(slice(&v, 9, 12)), adds: true };
        let r = verdict(&v, Some(&both));
        assert!(r.pass && r.reason.contains("the first 3 frames 99.0 dB, the last 3 frames 99.0 dB"), "{}", r.reason);
        // Each end on its own: an exact first clip does not carry a wrong last one (pooled, it
        // lifted the wrong end by 3 dB).
        let half_wrong = Held { head: Some(slice(&v, 0, 3)), tail: Some(slice(&clip(12, 5), 9, 12)), adds: true };
        let alone = verdict(&v, Some(&Held { head: None, tail: half_wrong.tail.clone(), adds: true }));
        let r = verdict(&v, Some(&half_wrong));
        assert!(!r.pass && r.value == alone.value, "{} vs {}", r.reason, alone.reason);
        // Metamorphic: the same output against a head it does not keep (the clip shifted), or
        // a tail placed at the start, fails with a measured PSNR.
        let shifted = Held { head: Some(slice(&clip(12, 5), 0, 4)), tail: None, adds: true };
        let bad = verdict(&v, Some(&shifted));
        assert!(!bad.pass && bad.measurable() && bad.value.is_some_and(|p| p < 30.0), "{}", bad.reason);
        let swapped = Held { head: Some(slice(&v, 8, 12)), tail: None, adds: true };
        assert!(!verdict(&v, Some(&swapped)).pass);
    }

    /// An extension that returns its input, an interpolation that plays its clips back to back,
    /// or one that keeps its input exactly and then jumps (a colour shift, a cut) made nothing
    /// of its own or broke the seam: each passed on the held frames alone. An edit holds every
    /// frame and makes none of its own.
    #[test]
    fn what_a_mode_adds_must_flow_on_from_what_it_holds() {
        let v = clip(12, 0);
        let head = Held { head: Some(slice(&v, 0, 6)), tail: None, adds: true };
        let r = verdict(&slice(&v, 0, 6), Some(&head));
        assert!(!r.pass && r.kind == "nothing generated", "{}", r.reason);
        let both = Held { head: Some(slice(&v, 0, 6)), tail: Some(slice(&v, 6, 12)), adds: true };
        assert_eq!(verdict(&v, Some(&both)).kind, "nothing generated");
        // Between two clips the picture changes somewhere: not judged at the ends.
        let cut_between = Held { head: Some(slice(&v, 0, 5)), tail: Some(slice(&clip(12, 12), 7, 12)), adds: true };
        let out: Vec<u8> = [slice(&v, 0, 5).as_bytes(), slice(&clip(12, 12), 5, 12).as_bytes()].concat();
        let r = verdict(&Video::new(v.width(), v.height(), v.fps(), out).unwrap(), Some(&cut_between));
        assert!(r.pass, "{}", r.reason);
        let edit = Held { head: Some(v.clone()), tail: None, adds: false };
        assert!(verdict(&v, Some(&edit)).pass);
        assert!(verdict(&v, Some(&head)).pass);
        let recoloured: Vec<u8> = v
            .as_bytes()
            .iter()
            .enumerate()
            .map(|(i, &x)| if i >= 6 * v.frame_bytes() && i % 3 == 0 { x.saturating_add(25) } else { x })
            .collect();
        let cut: Vec<u8> = [slice(&v, 0, 6).as_bytes(), slice(&clip(12, 12), 6, 12).as_bytes()].concat();
        for (what, frames) in [("colour shift", recoloured), ("cut", cut)] {
            let out = Video::new(v.width(), v.height(), v.fps(), frames).unwrap();
            let r = verdict(&out, Some(&head));
            assert!(
                !r.pass
                    && r.value == Some(IDENTICAL_DB)
                    && r.reason.contains("where the held frames meet the generated ones (frames 5 → 6)"),
                "{what}: {}",
                r.reason
            );
            // Played backwards, the same jump before a held tail (extend backward).
            let tail = Held { head: None, tail: Some(backwards(&slice(&v, 0, 6))), adds: true };
            let r = verdict(&backwards(&out), Some(&tail));
            assert!(!r.pass && r.reason.contains("(frames 5 → 6)"), "{what} backwards: {}", r.reason);
        }
    }

    /// A still shot continued with a slight cast (2 levels of red, a model's own rendering) keeps
    /// its input: on a still the steps are a fraction of a level, and any difference at all read
    /// as a jump; a cast of 12 levels is one.
    #[test]
    fn a_still_shot_continued_in_a_slightly_other_tone_is_no_jump() {
        let still = Video::new(24, 16, 8.0, clip(1, 0).as_bytes().repeat(12)).unwrap();
        let head = Held { head: Some(slice(&still, 0, 6)), tail: None, adds: true };
        for (cast, passes) in [(2u8, true), (12, false)] {
            let frames: Vec<u8> = still
                .as_bytes()
                .iter()
                .enumerate()
                .map(|(i, &x)| if i >= 6 * still.frame_bytes() && i % 3 == 0 { x.saturating_add(cast) } else { x })
                .collect();
            let r = verdict(&Video::new(24, 16, 8.0, frames).unwrap(), Some(&head));
            assert_eq!(r.pass, passes, "cast {cast}: {}", r.reason);
        }
    }

    #[test]
    fn without_an_input_it_is_not_measurable_and_too_short_an_output_fails() {
        let v = clip(6, 0);
        assert!(!verdict(&v, None).measurable());
        assert!(!verdict(&v, Some(&Held::default())).measurable());
        let long = Held { head: Some(clip(5, 0)), tail: Some(clip(3, 0)), adds: true };
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
            // Only the held frame: what it adds is not the point here.
            let image = Held { head: Some(photo(w, h, 0.3, 0.0, false, 1)), tail: None, adds: false };
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
        let image = Held { head: Some(big), tail: None, adds: true };
        let r = verdict(&out, Some(&image));
        assert!(r.pass && r.value == Some(IDENTICAL_DB), "{}", r.reason);
    }
}
