//! `loop`: the clip loops seamlessly: the last frame leads back into the first (PSNR between
//! them, in dB, within the bound).

use super::{Context, Loop, Verdict, bound_words};

pub fn check(p: &Loop, ctx: &Context<'_>) -> Verdict {
    let v = ctx.video;
    if v.len() < 2 {
        return Verdict::fail("too few frames", "a loop needs at least two frames");
    }
    let (a, b) = (v.frame(0), v.frame(v.len() - 1));
    let mse = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    let psnr = if mse == 0.0 { 99.0 } else { 10.0 * (255.0 * 255.0 / mse).log10() };
    let pass = p.psnr.contains(psnr);
    Verdict::new(
        pass,
        "does not loop",
        Some(psnr),
        format!("last → first frame PSNR {psnr:.1} dB, expected {}", bound_words(&p.psnr)),
    )
}
