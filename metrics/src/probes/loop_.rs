//! `loop`: the clip loops seamlessly: the last frame leads back into the first (PSNR between
//! them, in dB, within the bound).

use super::{Context, Loop, Verdict, bound_words, psnr};

pub fn check(p: &Loop, ctx: &Context<'_>) -> Verdict {
    let v = ctx.video;
    if v.len() < 2 {
        return Verdict::fail("too few frames", "a loop needs at least two frames");
    }
    let psnr = psnr([(v.frame(v.len() - 1), v.frame(0))]);
    let pass = p.psnr.contains(psnr);
    Verdict::new(
        pass,
        "does not loop",
        Some(psnr),
        format!("last → first frame PSNR {psnr:.1} dB, expected {}", bound_words(&p.psnr)),
    )
}
