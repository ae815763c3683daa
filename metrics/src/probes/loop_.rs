//! `loop`: the clip loops seamlessly: played on repeat, its last frame leads into its first as
//! one frame leads into the next. At the analysis size ([`super::ANALYSIS_SHORT`] short side,
//! area averaging, which averages sensor noise away):
//!
//! - the clip moves: some pixels vary over time well beyond the frame-to-frame noise (a still
//!   clip repeats without a seam and is no loop: a frozen clip passed at 59 dB);
//! - the seam, the last frame against the first, is a step like the clip's own: its distance
//!   (RMS) at most [`SEAM_STEPS`] times the 90th percentile of the frame-to-frame ones (a clip
//!   cut short at 80% scored higher than a true loop by last-to-first PSNR alone). A last frame
//!   that repeats the first (the closing frame drawn twice) is read as that: the seam is then the
//!   step into it;
//! - the colours across the seam change no more than across the clip's steps (each channel's
//!   mean and spread over the frame: motion within the frame keeps them, a recoloured object or
//!   a jump in lighting does not);
//! - every object the tracker follows across the seam moves across it by a step like its own
//!   (pixel distances saturate for a small fast object, whose every step replaces it);
//! - the last frame against the first has a PSNR within the bound (the value reported), unless
//!   the seam is no larger than the clip's 90th-percentile step: a loop of fast motion is far from
//!   one frame to the next, across its seam too.
//!
//! Not detected: a clip that plays forward then backward (a boomerang) loops without a seam;
//! told from a true loop only by which way things move, which a bounce reverses too.

use super::{Context, Loop, Verdict, at_analysis_size, bound_words, psnr};
use crate::video::Video;

/// How many times the clip's 90th-percentile step a seam may be.
pub const SEAM_STEPS: f64 = 1.5;

/// A seam smaller than this share of the median step is a repeated frame.
const REPEAT: f64 = 0.5;

pub fn check(p: &Loop, ctx: &Context<'_>) -> Verdict {
    let v = ctx.video;
    if v.len() < 4 {
        return Verdict::fail("too few frames", "a loop needs at least four frames to tell its seam from its steps");
    }
    let a = at_analysis_size(v);
    let n = a.len();
    let rms = |i: usize, j: usize| rms(a.frame(i), a.frame(j));
    let steps: Vec<f64> = (0..n - 1).map(|t| rms(t, t + 1)).collect();
    let (noise, varying) = motion(&a);
    if varying <= 3.0 * noise + 2.0 {
        return Verdict::fail(
            "does not loop",
            format!(
                "no motion: the most varying pixels change by {varying:.1} levels over the clip, within its frame-to-frame noise ({noise:.1}); a still clip is not a loop"
            ),
        );
    }
    let wrap = rms(n - 1, 0);
    // A last frame that repeats the first: the loop is frames 0..n−1, its seam the step into it.
    let repeated = wrap < REPEAT * median(&steps);
    let seam_db = psnr([(a.frame(n - 1), a.frame(0))]);
    let (seam, reference, words) = if repeated {
        (steps[n - 2], &steps[..n - 2], "the last frame repeats the first; the step into it")
    } else {
        (wrap, &steps[..], "the last frame against the first")
    };
    let typical = quantile(reference, 0.9);
    let mut problems = Vec::new();
    if seam > SEAM_STEPS * typical + 0.5 {
        problems.push(format!(
            "the seam differs by {seam:.1} levels (RMS), over {SEAM_STEPS} × the clip's 90th-percentile step {typical:.1}: a jump"
        ));
    }
    // Colours: a frame's mean and spread per channel, which motion within the frame keeps and a
    // change of appearance at the seam does not (a ball turned black halfway crossed the seam by
    // an ordinary-sized pixel step); what the clip's own steps move them by is allowed.
    let colours: Vec<[f64; 6]> = (0..n).map(|t| colour_stats(a.frame(t))).collect();
    let colour_steps: Vec<f64> = (0..n - 1).map(|t| largest_change(&colours[t], &colours[t + 1])).collect();
    let (colour_seam, colour_reference) = if repeated {
        (colour_steps[n - 2], &colour_steps[..n - 2])
    } else {
        (largest_change(&colours[n - 1], &colours[0]), &colour_steps[..])
    };
    let usual_colour = quantile(colour_reference, 0.9);
    if colour_seam > SEAM_STEPS * usual_colour + COLOUR_SLACK {
        problems.push(format!(
            "the colours change across the seam: a channel's mean or spread moves {colour_seam:.2} levels, over {SEAM_STEPS} × the clip's 90th-percentile step {usual_colour:.2} + {COLOUR_SLACK}"
        ));
    }
    let last = if repeated { n - 2 } else { n - 1 };
    for (what, jump, usual) in object_seams(ctx, last) {
        problems.push(format!(
            "the {what} jumps {jump:.1} px across the seam, over {SEAM_STEPS} × its usual step {usual:.1} px"
        ));
    }
    // The bound is for seams that are not steps like the clip's own: a loop of fast motion is
    // far from one frame to the next, its seam too (a true loop panning over brick read 23.4 dB
    // against a bound of 24).
    if !p.psnr.contains(seam_db) && seam > typical {
        problems.push(format!("PSNR {seam_db:.1} dB, expected {}", bound_words(&p.psnr)));
    }
    let (w, h) = (a.width(), a.height());
    let said = format!(
        "last → first frame PSNR {seam_db:.1} dB at {w}x{h}; {words} differs by {seam:.1} levels RMS vs a 90th-percentile step of {typical:.1}"
    );
    if problems.is_empty() {
        Verdict::new(true, "does not loop", Some(seam_db), said)
    } else {
        Verdict::new(false, "does not loop", Some(seam_db), format!("{said}; {}", problems.join("; ")))
    }
}

/// How far, in levels, a frame's colour statistics may move across a seam beyond what the
/// clip's own steps move them: the selftest's ball turned from yellow to black in a 64-px frame
/// moves a mean by 3.5.
const COLOUR_SLACK: f64 = 0.75;

/// A frame's mean and standard deviation of each channel, in levels.
fn colour_stats(frame: &[u8]) -> [f64; 6] {
    let (mut sum, mut sq) = ([0.0f64; 3], [0.0f64; 3]);
    for px in frame.chunks_exact(3) {
        for c in 0..3 {
            let v = f64::from(px[c]);
            sum[c] += v;
            sq[c] += v * v;
        }
    }
    let n = (frame.len() / 3).max(1) as f64;
    let mean = sum.map(|s| s / n);
    let sd = |c: usize| (sq[c] / n - mean[c] * mean[c]).max(0.0).sqrt();
    [mean[0], mean[1], mean[2], sd(0), sd(1), sd(2)]
}

/// The largest change of one of the statistics between two frames.
fn largest_change(a: &[f64; 6], b: &[f64; 6]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Root mean square difference of two frames, in levels.
fn rms(x: &[u8], y: &[u8]) -> f64 {
    let sum: f64 = x.iter().zip(y).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum();
    (sum / x.len().max(1) as f64).sqrt()
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// The `q` quantile of `v` (nearest rank; 0 for none).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)]
}

/// (the frame-to-frame noise, the variation of the most varying pixels), in levels: the noise
/// as the standard deviation of a value's independent noise, from the median absolute
/// difference of consecutive frames over every value (most values of a clip hold still; for
/// Gaussian noise that median is 0.954 σ); the variation as the 99th percentile over values
/// of their standard deviation over time. Noise varies every value alike; motion varies some
/// far more than the rest.
fn motion(a: &Video) -> (f64, f64) {
    let (n, size) = (a.len(), a.frame(0).len());
    let mut diffs: Vec<f64> = Vec::with_capacity((n - 1) * size);
    for t in 0..n - 1 {
        diffs.extend(a.frame(t).iter().zip(a.frame(t + 1)).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()));
    }
    let mid = diffs.len() / 2;
    let noise = *diffs.select_nth_unstable_by(mid, f64::total_cmp).1 / 0.954;
    let mut spread: Vec<f64> = (0..size)
        .map(|k| {
            let mean = (0..n).map(|t| f64::from(a.frame(t)[k])).sum::<f64>() / n as f64;
            ((0..n).map(|t| (f64::from(a.frame(t)[k]) - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
        })
        .collect();
    let at = (size * 99 / 100).min(size - 1);
    let varying = *spread.select_nth_unstable_by(at, f64::total_cmp).1;
    (noise, varying)
}

/// Tracked objects that jump across the seam: for each track seen at the seam's two sides (the
/// frame `last` and frame 0) and in enough frames to have usual steps, (what, the seam's step,
/// the 90th-percentile step), where the seam's step exceeds [`SEAM_STEPS`] times that plus 1% of
/// the frame height.
fn object_seams(ctx: &Context<'_>, last: usize) -> Vec<(String, f64, f64)> {
    let slack = 0.01 * ctx.unit();
    let mut out = Vec::new();
    for t in ctx.tracks() {
        let at = |k: usize| t.frames.get(k).and_then(Option::as_ref).map(|o| o.center);
        let (Some(end), Some(start)) = (at(last), at(0)) else { continue };
        let usual: Vec<f64> = (0..last)
            .filter_map(|k| Some((at(k)?, at(k + 1)?)))
            .map(|(p, q)| (p[0] - q[0]).hypot(p[1] - q[1]))
            .collect();
        if usual.len() < 3 {
            continue;
        }
        let typical = quantile(&usual, 0.9);
        let jump = (end[0] - start[0]).hypot(end[1] - start[1]);
        if jump > SEAM_STEPS * typical + slack {
            let what = match t.main_color() {
                Some(c) => format!("{} object", c.name()),
                None => "object".into(),
            };
            out.push((what, jump, typical));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Bound, Context, Loop};
    use super::*;
    use crate::palette::Color;

    /// Frames `0..frames` of a scene that repeats every `period` frames, at `w × h`: a smooth
    /// texture panned by `pan` of its periods per loop (0 or 1), a yellow ball circling once per loop (a
    /// diameter or more per step), sensor noise of standard deviation `noise` (seeded).
    fn scene(w: u32, h: u32, period: usize, frames: &mut dyn Iterator<Item = usize>, noise: f64, pan: f64) -> Video {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let yellow = Color::Yellow.rgb();
        let mut data = Vec::new();
        for f in frames {
            let phase = (f % period) as f64 / period as f64;
            let angle = std::f64::consts::TAU * phase;
            let (bx, by) = (0.5 + 0.3 * angle.cos() * f64::from(h) / f64::from(w), 0.5 + 0.3 * angle.sin());
            for y in 0..h {
                for x in 0..w {
                    let (u, v) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
                    let ball = ((u - bx) * f64::from(w) / f64::from(h)).hypot(v - by) < 0.06;
                    let shade =
                        110.0 + 50.0 * (std::f64::consts::TAU * (2.0 * u + pan * phase)).sin() + 20.0 * (9.0 * v).cos();
                    for c in 0..3 {
                        let n: f64 = (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
                        let value = if ball { f64::from(yellow[c]) } else { shade };
                        data.push((value + noise * n).round().clamp(0.0, 255.0) as u8);
                    }
                }
            }
        }
        Video::new(w, h, 24.0, data).unwrap()
    }

    fn judge(v: &Video) -> Verdict {
        check(&Loop { psnr: Bound { min: Some(20.0), ..Bound::default() } }, &Context::new(v))
    }

    /// A true loop passes whether its last frame flows into the first or repeats it, with and
    /// without sensor noise; with a jump in its lighting, cut short at 80%, played with a jump
    /// back to the start, or frozen, it fails — where last-to-first PSNR alone passed the frozen clip (59 dB) and ranked the
    /// cut one above the true loop.
    #[test]
    fn true_loops_pass_and_cut_jumping_or_frozen_clips_fail() {
        let period = 24;
        // A panning camera, and a still one where only the small fast ball moves (its every step
        // replaces it, so only its track tells a jump from a step).
        for (w, h, noise, pan) in
            [(160, 96, 0.0, 1.0), (640, 360, 12.0, 1.0), (160, 96, 0.0, 0.0), (640, 360, 12.0, 0.0)]
        {
            let scene = |frames: &mut dyn Iterator<Item = usize>| scene(w, h, period, frames, noise, pan);
            let seamless = judge(&scene(&mut (0..period)));
            assert!(seamless.pass, "{w}x{h} pan {pan} seamless: {}", seamless.reason);
            let repeated = judge(&scene(&mut (0..=period)));
            assert!(repeated.pass && repeated.reason.contains("repeats the first"), "{w}x{h}: {}", repeated.reason);
            // The light jumps by 12 levels halfway: every step is ordinary but the seam is a jump.
            let lit = {
                let v = scene(&mut (0..period));
                let half = v.len() / 2 * v.frame_bytes();
                let data: Vec<u8> = v
                    .as_bytes()
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| if i >= half { x.saturating_add(12) } else { x })
                    .collect();
                Video::new(v.width(), v.height(), v.fps(), data).unwrap()
            };
            for (what, clip) in [
                ("light jump", lit),
                ("cut at 80%", scene(&mut (0..period * 4 / 5))),
                ("jump back", scene(&mut (0..12).chain([0]))),
                ("frozen", scene(&mut std::iter::repeat_n(3, period))),
            ] {
                let r = judge(&clip);
                assert!(!r.pass && r.measurable(), "{w}x{h} pan {pan} {what}: {}", r.reason);
                if what == "frozen" {
                    assert!(r.reason.contains("no motion"), "{}", r.reason);
                }
            }
        }
    }
}
