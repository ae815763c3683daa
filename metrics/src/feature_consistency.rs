//! VBench's consistency recipe over per-frame features (../shared/reference/metric-recipes.md
//! §3.3): with unit features e_0 … e_{T−1},
//! s_i = (max(0, cos(e_{i−1}, e_i)) + max(0, cos(e_0, e_i))) / 2 for i ≥ 1, and a video's score is
//! the mean of s_i. Shared by `world_subject_consistency` and `world_background_consistency`, which differ in
//! the frames the extractor sees.

use crate::registry::MetricError;
use crate::video::Video;

fn cos(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// The per-video VBench consistency of `features` (at least 2 frames).
pub fn vbench_consistency(features: &[Vec<f64>]) -> Result<f64, MetricError> {
    if features.len() < 2 {
        return Err(MetricError::TooFewFrames { needed: 2, got: features.len() });
    }
    let sum: f64 = (1..features.len())
        .map(|i| (cos(&features[i - 1], &features[i]).max(0.0) + cos(&features[0], &features[i]).max(0.0)) / 2.0)
        .sum();
    // Rounding can put a cosine of identical vectors a hair above 1.
    Ok((sum / (features.len() - 1) as f64).min(1.0))
}

/// Saturation (max − min channel, 0–255) above which a pixel counts as foreground: the palette's
/// object colours are saturated, the world's backgrounds (gray, white, black, checkers, value
/// noise) are not.
pub const FOREGROUND_SATURATION: u8 = 90;

/// Each frame with its saturated pixels replaced by the mean colour of its unsaturated ones, so a
/// feature extractor sees the background only.
pub fn background_only(video: &Video) -> Video {
    let mut out = Vec::with_capacity(video.as_bytes().len());
    for f in video.frames() {
        out.extend(background_only_frame(f));
    }
    Video::new(video.width(), video.height(), video.fps(), out).unwrap_or_else(|_| video.clone())
}

/// [`background_only`] of one RGB8 frame.
pub fn background_only_frame(f: &[u8]) -> Vec<u8> {
    let paint = background_painter(f);
    f.as_chunks::<3>().0.iter().flat_map(|&p| paint(p)).collect()
}

/// What [`background_only_frame`] does to each pixel of the RGB8 frame `f`, for consumers that
/// read the frame a row at a time (`preprocess::apply_frame_mapped`) instead of making it.
pub fn background_painter(f: &[u8]) -> impl Fn([u8; 3]) -> [u8; 3] + use<> {
    let fill = background_fill(f);
    move |p| if is_foreground(p) { fill } else { p }
}

/// Whether a pixel counts as foreground (saturation above [`FOREGROUND_SATURATION`]).
#[inline]
fn is_foreground([r, g, b]: [u8; 3]) -> bool {
    r.max(g).max(b) - r.min(g).min(b) > FOREGROUND_SATURATION
}

/// The colour foreground pixels are painted with: the rounded mean of the other pixels (black
/// when every pixel is foreground). Exact integer sums, without a branch per pixel (a block's
/// sums fit in u32).
fn background_fill(f: &[u8]) -> [u8; 3] {
    // Compiled for the widest vector unit the machine has (integer sums: the same in any order).
    pulp::Arch::new().dispatch(BackgroundFill(f))
}

/// [`background_fill_scalar`] as a pulp operation: `with_simd` is inlined into the dispatch, so
/// the sums are compiled for the vector unit it picks (a closure's body was not).
struct BackgroundFill<'a>(&'a [u8]);

impl pulp::WithSimd for BackgroundFill<'_> {
    type Output = [u8; 3];
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> [u8; 3] {
        background_fill_scalar(self.0)
    }
}

#[inline(always)]
fn background_fill_scalar(f: &[u8]) -> [u8; 3] {
    let (pixels, _) = f.as_chunks::<3>();
    let (mut sum, mut n) = ([0u64; 3], 0u64);
    for block in pixels.chunks(4096) {
        let (mut s, mut k) = ([0u32; 3], 0u32);
        for &p in block {
            let keep = u32::from(!is_foreground(p));
            for c in 0..3 {
                s[c] += keep * u32::from(p[c]);
            }
            k += keep;
        }
        for c in 0..3 {
            sum[c] += u64::from(s[c]);
        }
        n += u64::from(k);
    }
    if n == 0 { [0u8; 3] } else { sum.map(|s| ((s + n / 2) / n) as u8) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_frames_score_one_and_orthogonal_frames_score_zero() {
        let same = vec![vec![0.6, 0.8]; 5];
        assert!((vbench_consistency(&same).unwrap() - 1.0).abs() < 1e-12);
        let flip = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        // s_1 = (0 + 0)/2, s_2 = (0 + 1)/2 → 0.25.
        assert!((vbench_consistency(&flip).unwrap() - 0.25).abs() < 1e-12);
        assert!(vbench_consistency(&[vec![1.0]]).is_err());
    }

    #[test]
    fn background_only_removes_saturated_objects_and_keeps_the_rest() {
        // 2×1 frame: a gray pixel and a red one.
        let v = Video::new(2, 1, 8.0, vec![100, 100, 100, 255, 0, 0]).unwrap();
        assert_eq!(background_only(&v).as_bytes(), &[100, 100, 100, 100, 100, 100]);
    }
}
