//! Shared machinery of the flow-based consistency metrics: luma frames and forward–backward
//! checked Lucas–Kanade flow on a grid (stride 4 px, 8 px margin, 0.5 px round-trip tolerance).
//! Points that fail the check are occlusions, textureless areas or mismatches, and are left out.

use crate::flow::{Gray, dense_checked};
use crate::video::Video;

pub const STRIDE: usize = 4;
pub const MARGIN: usize = 8;
pub const MAX_FB: f32 = 0.5;

pub fn grays(video: &Video) -> Vec<Gray> {
    let (w, h) = (video.width() as usize, video.height() as usize);
    video.frames().map(|f| Gray::from_rgb(f, w, h)).collect()
}

/// Valid flow vectors `(x, y, u, v)` from `a` to `b`.
pub fn flow(a: &Gray, b: &Gray) -> Vec<(f32, f32, f32, f32)> {
    dense_checked(a, b, STRIDE, MARGIN, MAX_FB)
        .into_iter()
        .filter_map(|(x, y, f)| f.map(|f| (x, y, f[0], f[1])))
        .collect()
}
