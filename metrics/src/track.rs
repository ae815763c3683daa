//! Object tracking for the synthetic suites: segment pixels by the world's saturated palette
//! colours, split them into connected components, describe each (centre, box, area, colour,
//! shape from its fill ratio), and link them across frames with Hungarian assignment.
//!
//! Identity follows colour and position: a detection continues the track it is closest to among
//! tracks of the same colour; a track that vanished this frame may continue in a new colour at
//! the same place (a colour change on contact); a track unseen for a while is re-identified by
//! colour, shape and size wherever it reappears (permanence after occlusion). White, black and
//! gray objects are not segmented: they cannot be told from the checkerboard backgrounds.

use serde::{Deserialize, Serialize};

use crate::palette::{Color, Shape};
use crate::video::Video;

/// Colours the tracker segments.
pub const TRACKED: [Color; 8] =
    [Color::Red, Color::Green, Color::Blue, Color::Yellow, Color::Orange, Color::Purple, Color::Cyan, Color::Magenta];

/// Largest L1 RGB distance from a palette colour for a pixel to count as that colour. The
/// closest pair of tracked colours is more than twice this apart.
const MAX_DIST: i32 = 75;

/// One detected object in one frame (pixels, y down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub center: [f64; 2],
    pub bbox: [f64; 4],
    pub area: f64,
    pub color: Color,
    pub shape: Shape,
    /// Area / box area: 1 for squares, π/4 for circles, ½ for triangles.
    pub fill: f64,
}

/// A tracked object: its observation in every frame where it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: usize,
    pub frames: Vec<Option<Observation>>,
}

impl Track {
    pub fn seen(&self) -> impl Iterator<Item = (usize, &Observation)> {
        self.frames.iter().enumerate().filter_map(|(t, o)| o.as_ref().map(|o| (t, o)))
    }

    /// The colour it was seen in most (by frames).
    pub fn main_color(&self) -> Option<Color> {
        mode(self.seen().map(|(_, o)| o.color))
    }

    pub fn main_shape(&self) -> Option<Shape> {
        mode(self.seen().map(|(_, o)| o.shape))
    }

    pub fn first(&self) -> Option<(usize, &Observation)> {
        self.seen().next()
    }

    pub fn last(&self) -> Option<(usize, &Observation)> {
        self.seen().last()
    }

    pub fn mean_area(&self) -> f64 {
        let (n, s) = self.seen().fold((0.0, 0.0), |(n, s), (_, o)| (n + 1.0, s + o.area));
        if n > 0.0 { s / n } else { 0.0 }
    }
}

fn mode<T: PartialEq + Copy>(items: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: Vec<(T, usize)> = Vec::new();
    for x in items {
        match counts.iter_mut().find(|(y, _)| *y == x) {
            Some(c) => c.1 += 1,
            None => counts.push((x, 1)),
        }
    }
    counts.into_iter().max_by_key(|c| c.1).map(|c| c.0)
}

/// Shape class from solidity (area / convex hull area: a star's notches make it ≈ 0.6, convex
/// shapes ≈ 1) and, for convex shapes, the fill ratio of the box (square 1, circle π/4,
/// triangle ½).
pub fn shape_of(fill: f64, solidity: f64) -> Shape {
    if solidity < 0.8 {
        Shape::Star
    } else if fill > 0.9 {
        Shape::Square
    } else if fill > 0.64 {
        Shape::Circle
    } else {
        Shape::Triangle
    }
}

/// Area of the convex hull of pixel squares (Andrew's monotone chain over pixel corners).
fn hull_area(pixels: &[(usize, usize)]) -> f64 {
    let mut pts: Vec<(i64, i64)> = pixels
        .iter()
        .flat_map(|&(x, y)| {
            let (x, y) = (x as i64, y as i64);
            [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)]
        })
        .collect();
    pts.sort_unstable();
    pts.dedup();
    if pts.len() < 3 {
        return 0.0;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut hull: Vec<(i64, i64)> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(i64, i64)>> =
            if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let n = hull.len();
    (0..n).map(|i| (hull[i].0 * hull[(i + 1) % n].1 - hull[(i + 1) % n].0 * hull[i].1) as f64).sum::<f64>().abs() / 2.0
}

/// Whether a pixel is within the tracker's distance of a palette colour.
pub fn near_color(px: &[u8], color: Color) -> bool {
    px.iter().zip(color.rgb()).map(|(&a, b)| (i32::from(a) - i32::from(b)).abs()).sum::<i32>() <= MAX_DIST
}

fn classify(px: &[u8]) -> Option<u8> {
    let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
    if r.max(g).max(b) - r.min(g).min(b) < 60 {
        return None; // unsaturated: background, shadow, gray/white/black
    }
    let mut best = (i32::MAX, 0u8);
    for (k, c) in TRACKED.iter().enumerate() {
        let [cr, cg, cb] = c.rgb().map(i32::from);
        let d = (r - cr).abs() + (g - cg).abs() + (b - cb).abs();
        if d < best.0 {
            best = (d, k as u8);
        }
    }
    (best.0 <= MAX_DIST).then_some(best.1)
}

/// Connected components (4-neighbour) of each tracked colour in one frame; components smaller
/// than `min_area` pixels are dropped as noise.
pub fn detect(frame: &[u8], width: usize, height: usize, min_area: usize) -> Vec<Observation> {
    let labels: Vec<Option<u8>> = frame.chunks_exact(3).map(classify).collect();
    let mut seen = vec![false; labels.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..labels.len() {
        let Some(label) = labels[start] else { continue };
        if seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut n, mut sx, mut sy) = (0usize, 0.0, 0.0);
        let mut pixels = Vec::new();
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            pixels.push((x, y));
            n += 1;
            sx += x as f64 + 0.5;
            sy += y as f64 + 0.5;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            let mut push = |j: usize| {
                if !seen[j] && labels[j] == Some(label) {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                push(i - 1);
            }
            if x + 1 < width {
                push(i + 1);
            }
            if y > 0 {
                push(i - width);
            }
            if y + 1 < height {
                push(i + width);
            }
        }
        if n < min_area {
            continue;
        }
        let box_area = ((x1 - x0 + 1) * (y1 - y0 + 1)) as f64;
        let fill = n as f64 / box_area;
        let solidity = n as f64 / hull_area(&pixels).max(1.0);
        out.push(Observation {
            center: [sx / n as f64, sy / n as f64],
            bbox: [x0 as f64, y0 as f64, (x1 + 1) as f64, (y1 + 1) as f64],
            area: n as f64,
            color: TRACKED[label as usize],
            shape: shape_of(fill, solidity),
            fill,
        });
    }
    out
}

/// Minimum-cost assignment of rows to columns (Hungarian algorithm, O(n³)). Returns for each
/// row its column, or `None` when there are more rows than columns.
pub fn hungarian(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = cost.len();
    if rows == 0 {
        return Vec::new();
    }
    let cols = cost[0].len();
    let n = rows.max(cols);
    // Pad to square with a large cost.
    let big = cost.iter().flatten().fold(0.0f64, |m, &c| m.max(c.abs())) * 10.0 + 1.0;
    let a = |i: usize, j: usize| if i < rows && j < cols { cost[i][j] } else { big };
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; rows];
    for j in 1..=n {
        if p[j] > 0 && p[j] <= rows && j <= cols {
            out[p[j] - 1] = Some(j - 1);
        }
    }
    out
}

/// Tracks every segmented object through the video.
pub fn track(video: &Video) -> Vec<Track> {
    let (w, h) = (video.width() as usize, video.height() as usize);
    let diag = ((w * w + h * h) as f64).sqrt();
    let min_area = ((w * h) / 2000).max(3);
    let mut tracks: Vec<Track> = Vec::new();
    // For each track: last observation and the frame it was seen.
    let mut last: Vec<(usize, Observation)> = Vec::new();
    for (t, frame) in video.frames().enumerate() {
        let dets = detect(frame, w, h, min_area);
        let cost: Vec<Vec<f64>> = last
            .iter()
            .map(|(seen_at, prev)| {
                let gap = (t - seen_at) as f64;
                dets.iter()
                    .map(|d| {
                        let dist = (d.center[0] - prev.center[0]).hypot(d.center[1] - prev.center[1]) / diag;
                        let size = (d.area.max(1.0) / prev.area.max(1.0)).ln().abs();
                        if d.color == prev.color {
                            // Farther is fine after a longer gap (it moved while hidden).
                            dist / gap.max(1.0).sqrt() + 0.1 * size
                        } else if gap <= 1.0 && dist < 0.05 {
                            0.5 + dist // a colour change in place
                        } else {
                            f64::INFINITY
                        }
                    })
                    .collect()
            })
            .collect();
        let finite: Vec<Vec<f64>> =
            cost.iter().map(|r| r.iter().map(|&c| if c.is_finite() { c } else { 1e6 }).collect()).collect();
        let assignment = if dets.is_empty() || last.is_empty() { vec![None; last.len()] } else { hungarian(&finite) };
        let mut taken = vec![false; dets.len()];
        for (k, a) in assignment.iter().enumerate() {
            if let Some(j) = *a {
                if cost[k][j] < 1.0 {
                    taken[j] = true;
                    tracks[k].frames.push(Some(dets[j].clone()));
                    last[k] = (t, dets[j].clone());
                    continue;
                }
            }
            tracks[k].frames.push(None);
        }
        for (j, d) in dets.into_iter().enumerate() {
            if !taken[j] {
                let mut frames = vec![None; t];
                frames.push(Some(d.clone()));
                tracks.push(Track { id: tracks.len(), frames });
                last.push((t, d));
            }
        }
    }
    tracks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(w: usize, h: usize) -> Vec<u8> {
        vec![200; w * h * 3]
    }

    fn fill_rect(buf: &mut [u8], w: usize, x0: usize, y0: usize, x1: usize, y1: usize, c: Color) {
        for y in y0..y1 {
            for x in x0..x1 {
                buf[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c.rgb());
            }
        }
    }

    #[test]
    fn detects_components_with_centre_box_and_shape() {
        let (w, h) = (40, 30);
        let mut f = canvas(w, h);
        fill_rect(&mut f, w, 2, 3, 12, 13, Color::Red);
        fill_rect(&mut f, w, 20, 5, 30, 9, Color::Blue);
        let d = detect(&f, w, h, 3);
        assert_eq!(d.len(), 2);
        let red = d.iter().find(|o| o.color == Color::Red).unwrap();
        assert_eq!(red.center, [7.0, 8.0]);
        assert_eq!(red.bbox, [2.0, 3.0, 12.0, 13.0]);
        assert_eq!((red.area, red.shape), (100.0, Shape::Square));
    }

    #[test]
    fn hungarian_finds_the_minimum() {
        let cost = vec![vec![4.0, 1.0, 3.0], vec![2.0, 0.0, 5.0], vec![3.0, 2.0, 2.0]];
        assert_eq!(hungarian(&cost), vec![Some(1), Some(0), Some(2)]);
        let wide = vec![vec![5.0, 1.0, 9.0]];
        assert_eq!(hungarian(&wide), vec![Some(1)]);
        let tall = vec![vec![1.0], vec![0.5]];
        assert_eq!(hungarian(&tall), vec![None, Some(0)]);
    }

    #[test]
    fn tracks_survive_crossing_and_occlusion_gaps() {
        let (w, h) = (60, 20);
        let mut data = Vec::new();
        for t in 0..10usize {
            let mut f = canvas(w, h);
            let xr = 5 + 4 * t;
            let xb = 50 - 4 * t;
            // The red square is hidden in frames 4 and 5.
            if !(4..=5).contains(&t) {
                fill_rect(&mut f, w, xr, 5, xr + 6, 11, Color::Red);
            }
            fill_rect(&mut f, w, xb, 12, xb + 6, 18, Color::Blue);
            data.extend(f);
        }
        let v = Video::new(w as u32, h as u32, 10.0, data).unwrap();
        let tracks = track(&v);
        assert_eq!(tracks.len(), 2, "{tracks:?}");
        let red = tracks.iter().find(|t| t.main_color() == Some(Color::Red)).unwrap();
        assert_eq!(red.seen().count(), 8);
        assert!(red.frames[4].is_none() && red.frames[6].is_some());
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    /// Rasterises a polygon (pixel centres inside) in red on gray.
    fn polygon(pts: &[(f64, f64)], w: usize, h: usize) -> Vec<u8> {
        let mut f = vec![200u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
                let mut inside = false;
                for i in 0..pts.len() {
                    let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                    if (a.1 > py) != (b.1 > py) && px < a.0 + (py - a.1) / (b.1 - a.1) * (b.0 - a.0) {
                        inside = !inside;
                    }
                }
                if inside {
                    f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&Color::Red.rgb());
                }
            }
        }
        f
    }

    fn polar(n: usize, r: impl Fn(usize) -> f64, start: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|k| {
                let a = (start + 360.0 * k as f64 / n as f64).to_radians();
                (20.0 + r(k) * a.cos(), 20.0 + r(k) * a.sin())
            })
            .collect()
    }

    #[test]
    fn shapes_are_told_apart_at_small_sizes() {
        for radius in [8.0, 12.0, 16.0] {
            let cases = [
                (polar(10, |k| if k % 2 == 0 { radius } else { 0.45 * radius }, -90.0), Shape::Star),
                (polar(3, |_| radius, -90.0), Shape::Triangle),
                (polar(64, |_| radius, 0.0), Shape::Circle),
                (polar(4, |_| radius * 2f64.sqrt(), 45.0), Shape::Square),
            ];
            for (pts, want) in cases {
                let d = detect(&polygon(&pts, 40, 40), 40, 40, 3);
                assert_eq!(d.len(), 1);
                assert_eq!(d[0].shape, want, "radius {radius}: fill {:.2}", d[0].fill);
            }
        }
    }
}
