//! Shared machinery of the flow-based consistency metrics: luma frames and forward–backward
//! checked Lucas–Kanade flow on a grid (stride 4 px, or 1/32 of the short side on larger
//! frames, so the cost per frame stays bounded; 8 px margin; 0.5 px round-trip tolerance).
//! Points that fail the check are occlusions, textureless areas or mismatches, and are left out.

use crate::flow::{Gray, dense_checked};
use crate::video::Video;

pub const MIN_STRIDE: usize = 4;
pub const MARGIN: usize = 8;
pub const MAX_FB: f32 = 0.5;

pub fn grays(video: &Video) -> Vec<Gray> {
    let (w, h) = (video.width() as usize, video.height() as usize);
    video.frames().map(|f| Gray::from_rgb(f, w, h)).collect()
}

/// Valid flow vectors `(x, y, u, v)` from `a` to `b`.
pub fn flow(a: &Gray, b: &Gray) -> Vec<(f32, f32, f32, f32)> {
    let stride = MIN_STRIDE.max(a.w.min(a.h) / 32);
    dense_checked(a, b, stride, MARGIN, MAX_FB)
        .into_iter()
        .filter_map(|(x, y, f)| f.map(|f| (x, y, f[0], f[1])))
        .collect()
}
