//! Object tracking for the synthetic suites: segment pixels by the world's saturated palette
//! colours — by hue and saturation, so the lit and shadowed sides of a shaded solid are one
//! colour (see [`color_of`]) —, split them into connected components, describe each (centre,
//! box, area, colour, shape from its fill ratio, solidity and moment), and link them across
//! frames with Hungarian assignment.
//!
//! Identity follows colour and position: a detection continues the track it is closest to among
//! tracks of the same colour; a track that vanished this frame may continue in a new colour at
//! the same place (a colour change on contact); a track unseen for a while is re-identified by
//! colour, shape and size wherever it reappears (permanence after occlusion). White, black and
//! gray objects are not segmented: they cannot be told from backgrounds, shadows and highlights.

use serde::{Deserialize, Serialize};

use crate::palette::{Color, Shape};
use crate::video::Video;

/// Colours the tracker segments.
pub const TRACKED: [Color; 8] =
    [Color::Red, Color::Green, Color::Blue, Color::Yellow, Color::Orange, Color::Purple, Color::Cyan, Color::Magenta];

/// Largest hue difference (degrees) from a palette colour's hue for a pixel to count as that
/// colour. The closest pair of tracked hues (orange 31°, yellow 51°) is twice this apart. Wider
/// windows were tried (30°: a tennis ball's yellow at 67–70° and a basketball's orange at 18° are
/// outside these): a lawn (68–112°) and a deep-blue sky then read as one green or blue region,
/// which swallowed the objects over them (motion and position on a lawn photo fell from 100% to
/// 42% and 6%). An object of such a hue is "not found".
const MAX_HUE: f64 = 10.0;
/// The pure sRGB colour of each tracked name, where the name has one (purple's, #800080, is
/// magenta's hue): a colour's window reaches its hue and [`PURE_MARGIN`] past it where the hue
/// is outside [`MAX_HUE`]. A pure blue
/// (#0000FF, 240°) is 13° from the palette's blue (227°) and a pure magenta (#FF00FF, 300°) 11°
/// from the palette's (311°): both were "not found".
const PURE: [Option<[i32; 3]>; 8] = [
    Some([255, 0, 0]),
    Some([0, 255, 0]),
    Some([0, 0, 255]),
    Some([255, 255, 0]),
    Some([255, 165, 0]),
    None,
    Some([0, 255, 255]),
    Some([255, 0, 255]),
];
const PURE_MARGIN: f64 = 5.0;
/// Least saturation (chroma / max channel) for a pixel to count as a palette colour, relative to
/// the colour's own: shading scales a pixel's channels together and keeps it; a specular
/// highlight or a pale setting (brick, wood, sky) lowers it.
const MIN_SATURATION: f64 = 0.75;
/// Orange's least saturation, absolute, and higher (0.91 of the palette orange's 0.878): its hues
/// are those of skin, wood and brown hair, which are orange of lower saturation. At 0.75 of it
/// (0.658) a tan arm (#C68642, 0.667) and a dark one (#8D5524, 0.745) were orange objects, as were
/// 20% of an oak table's pixels (its darker grain), 31% of walnut's and 66% of brown hair's; the
/// grain joined into one region across the frame, which was dropped as the setting and took the
/// ball rolling on it along ("no orange object found" on oak, walnut, teak and honey wood), and a
/// face or forearm was "the orange object" of position and cause-and-effect checks. At 0.80 a
/// tan arm keeps none of its pixels, a dark one 0.6% (3% of a face), oak none, walnut 0.9%, brown
/// hair 6%, while an orange ball, fruit or traffic cone under shading and H.264 keeps 89–91%
/// (95–96% at 0.658: its highlight and rim). At 0.78 a dark face kept 8%, in pieces that were
/// counted as a second orange object. Wood as saturated as teak or honey keeps an eighth.
const ORANGE_MIN_SATURATION: f64 = 0.8;
/// Pixels darker than this (max channel) or greyer than this (chroma) carry no colour.
const MIN_VALUE: i32 = 40;
const MIN_CHROMA: i32 = 25;

/// Hue in degrees [0, 360) and saturation (chroma / max) of an RGB pixel.
#[inline(always)]
fn hue_saturation(r: i32, g: i32, b: i32) -> (f64, f64) {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    if max == min {
        return (0.0, 0.0);
    }
    let c = f64::from(max - min);
    (hue_degrees(sector(r, g, b, max, c)), c / f64::from(max))
}

/// The hue in sixths of a turn, in [−1, 5): which channel is largest, and how far towards the
/// next (`c` = max − min, positive).
#[inline(always)]
fn sector(r: i32, g: i32, b: i32, max: i32, c: f64) -> f64 {
    if max == r {
        f64::from(g - b) / c
    } else if max == g {
        2.0 + f64::from(b - r) / c
    } else {
        4.0 + f64::from(r - g) / c
    }
}

/// `(sector · 60).rem_euclid(360)` for a sector in [−1, 5): on that range it only adds 360 to a
/// negative value, so it is a comparison instead of a `fmod` call (checked for every colour).
#[inline(always)]
fn hue_degrees(sector: f64) -> f64 {
    let degrees = sector * 60.0;
    if degrees < 0.0 { degrees + 360.0 } else { degrees }
}

/// Hue and saturation of every tracked colour.
fn palette_hues() -> &'static [(f64, f64); 8] {
    static HUES: std::sync::OnceLock<[(f64, f64); 8]> = std::sync::OnceLock::new();
    HUES.get_or_init(|| {
        TRACKED.map(|c| {
            let [r, g, b] = c.rgb().map(i32::from);
            hue_saturation(r, g, b)
        })
    })
}

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

    /// How much of the clip it is: frames seen times its mean area (an object reference takes the
    /// heaviest of the tracks that match it).
    pub fn weight(&self) -> f64 {
        self.seen().count() as f64 * self.mean_area()
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
/// shapes ≈ 1), how much of its smallest enclosing rectangle, at any angle, the convex hull fills
/// (square and any rectangle 1, circle and any ellipse π/4, any triangle ½; the hull, not the
/// pixels, so a dark edge lost to shading or a highlight's hole leaves a square square) and the
/// shape's affine moment, 2·√det(second moments) / area² (any ellipse 1/2π ≈ 0.159, any
/// parallelogram 1/6, any triangle √3/9 ≈ 0.192; for shapes the same along every axis, the polar
/// moment over area²). Both are the same however the object is turned in the picture, and the
/// moment however it is stretched: a box at 10° read as a circle and at 45° as a triangle (its
/// upright box was half empty), a ball flattened 1.44:1 as a triangle. On shaded, compressed
/// solids a circle's hull may fill 0.9 of its rectangle while its moment stays below 0.162 and a
/// square's at or above 0.165: the moment decides between them when the fill is ambiguous. A
/// triangle whose tips a codec or a bevel has rounded fills its rectangle like a circle but
/// keeps its moment.
pub fn shape_of(hull_fill: f64, solidity: f64, moment: f64) -> Shape {
    if solidity < 0.8 {
        Shape::Star
    } else if hull_fill > 0.93 || (hull_fill > 0.85 && (0.1635..=0.176).contains(&moment)) {
        Shape::Square
    } else if moment > 0.176 || hull_fill <= 0.6 {
        Shape::Triangle
    } else {
        Shape::Circle
    }
}

/// Convex hull (counter-clockwise, integer pixel-corner coordinates) of pixel squares (Andrew's
/// monotone chain over pixel corners). Only the outer corners of each row's leftmost and
/// rightmost pixels can be hull vertices (every other corner lies on a segment between two of
/// them), so those are the points: O(rows) instead of sorting four corners of every pixel of a
/// large object. Fewer than three points when the pixels make no area.
fn hull(pixels: &[(usize, usize)]) -> Vec<(i64, i64)> {
    let Some(y0) = pixels.iter().map(|p| p.1).min() else { return Vec::new() };
    let y1 = pixels.iter().map(|p| p.1).max().unwrap_or(y0);
    let mut rows = vec![(usize::MAX, 0usize); y1 - y0 + 1];
    for &(x, y) in pixels {
        let r = &mut rows[y - y0];
        *r = (r.0.min(x), r.1.max(x));
    }
    let mut pts: Vec<(i64, i64)> = Vec::with_capacity(4 * rows.len());
    for (k, &(lo, hi)) in rows.iter().enumerate() {
        if lo == usize::MAX {
            continue;
        }
        let (y, lo, hi) = ((y0 + k) as i64, lo as i64, hi as i64 + 1);
        pts.extend([(lo, y), (lo, y + 1), (hi, y), (hi, y + 1)]);
    }
    pts.sort_unstable();
    pts.dedup();
    if pts.len() < 3 {
        return Vec::new();
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
    hull
}

/// Area of a polygon (shoelace).
fn polygon_area(poly: &[(i64, i64)]) -> f64 {
    let n = poly.len();
    (0..n).map(|i| (poly[i].0 * poly[(i + 1) % n].1 - poly[(i + 1) % n].0 * poly[i].1) as f64).sum::<f64>().abs() / 2.0
}

/// Area of the convex hull of pixel squares ([`hull`]).
fn hull_area(pixels: &[(usize, usize)]) -> f64 {
    let h = hull(pixels);
    if h.len() < 3 { 0.0 } else { polygon_area(&h) }
}

/// Area of the smallest rectangle, at any angle, around a convex polygon: one of its sides lies
/// along one of the polygon's edges (Freeman and Shapira), so each edge's direction is tried.
fn min_rectangle_area(poly: &[(i64, i64)]) -> f64 {
    let n = poly.len();
    (0..n)
        .filter_map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
            let len = dx.hypot(dy);
            (len > 0.0).then(|| {
                let (ux, uy) = (dx / len, dy / len);
                let (mut along, mut across) = ((f64::MAX, f64::MIN), (f64::MAX, f64::MIN));
                for &(x, y) in poly {
                    let (x, y) = (x as f64, y as f64);
                    let (s, t) = (x * ux + y * uy, -x * uy + y * ux);
                    along = (along.0.min(s), along.1.max(s));
                    across = (across.0.min(t), across.1.max(t));
                }
                (along.1 - along.0) * (across.1 - across.0)
            })
        })
        .fold(f64::INFINITY, f64::min)
}

/// Whether a pixel shows a palette colour: the tracker's colour for it, or for a colour it does
/// not track, within a small RGB distance of it.
pub fn near_color(px: &[u8], color: Color) -> bool {
    match TRACKED.iter().position(|&c| c == color) {
        Some(k) => classify(px) == Some(k as u8),
        None => px.iter().zip(color.rgb()).map(|(&a, b)| (i32::from(a) - i32::from(b)).abs()).sum::<i32>() <= 75,
    }
}

/// The tracked colour a pixel shows, if any, by a shading model: a lit or shadowed surface of
/// one albedo keeps its hue and its saturation while its brightness varies, so a pixel is a
/// palette colour when its hue is within [`MAX_HUE`] of the colour's and its saturation at least
/// [`MIN_SATURATION`] of the colour's. Unsaturated pixels (backgrounds, shadows, highlights,
/// white, black and gray objects) are no colour.
pub fn color_of(px: &[u8]) -> Option<Color> {
    classify(px).map(|k| TRACKED[k as usize])
}

#[inline(always)]
fn classify(px: &[u8]) -> Option<u8> {
    classify_as(px, None)
}

/// Too dark or too grey to carry a colour: the cheap test most pixels stop at.
#[inline(always)]
fn colourless(r: i32, g: i32, b: i32) -> bool {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    max < MIN_VALUE || max - min < MIN_CHROMA
}

/// [`classify`] with the saturation read from `chroma_of` instead of the pixel when given.
#[inline(always)]
fn classify_as(px: &[u8], chroma_of: Option<[i32; 3]>) -> Option<u8> {
    let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
    if colourless(r, g, b) {
        return None;
    }
    let (h, own) = hue_saturation(r, g, b);
    let s = chroma_of.map_or(own, |[r, g, b]| own.min(hue_saturation(r, g, b).1));
    let mut best = (f64::MAX, 0u8, 0.0);
    for (k, &(ph, _)) in palette_hues().iter().enumerate() {
        let d = signed_hue_difference(h, ph);
        if d.abs() < best.0 {
            best = (d.abs(), k as u8, d);
        }
    }
    let floor = saturation_floor(best.1 as usize);
    let [below, above] = hue_windows()[best.1 as usize];
    ((-below..=above).contains(&best.2) && s >= floor).then_some(best.1)
}

/// The tracked colour `color`'s floor of saturation, and the largest saturation (below it) of a
/// pixel of its hue that [`pale_fraction`] counts: half the floor.
fn saturation_floor(k: usize) -> f64 {
    if TRACKED[k] == Color::Orange { ORANGE_MIN_SATURATION } else { MIN_SATURATION * palette_hues()[k].1 }
}

/// The fraction of a frame's pixels whose hue is `color`'s (its window, nearest of the palette)
/// at a saturation under the tracker's floor for it, from half the floor: a desaturated grade's
/// object, or a paler one, which [`color_of`] leaves out. 0 for a colour the tracker does not
/// follow.
pub fn pale_fraction(frame: &[u8], color: Color) -> f64 {
    let Some(k) = TRACKED.iter().position(|&c| c == color) else { return 0.0 };
    let floor = saturation_floor(k);
    let [below, above] = hue_windows()[k];
    let pixels = frame.as_chunks::<3>().0;
    let pale = pixels
        .iter()
        .filter(|px| {
            let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
            if colourless(r, g, b) {
                return false;
            }
            let (h, s) = hue_saturation(r, g, b);
            let nearest = palette_hues()
                .iter()
                .enumerate()
                .min_by(|a, b| signed_hue_difference(h, a.1.0).abs().total_cmp(&signed_hue_difference(h, b.1.0).abs()))
                .map(|(j, _)| j);
            nearest == Some(k)
                && (-below..=above).contains(&signed_hue_difference(h, palette_hues()[k].0))
                && (0.5 * floor..floor).contains(&s)
        })
        .count();
    pale as f64 / pixels.len().max(1) as f64
}

/// `h − from` in degrees, in (−180, 180].
#[inline(always)]
fn signed_hue_difference(h: f64, from: f64) -> f64 {
    let d = (h - from).rem_euclid(360.0);
    if d > 180.0 { d - 360.0 } else { d }
}

/// How far below and above each palette hue a pixel's may be: [`MAX_HUE`], or as far as the
/// name's pure sRGB hue and [`PURE_MARGIN`] past it (the nearest palette hue decides first, so a
/// window never takes a neighbour's pixels).
fn hue_windows() -> &'static [[f64; 2]; 8] {
    static WINDOWS: std::sync::OnceLock<[[f64; 2]; 8]> = std::sync::OnceLock::new();
    WINDOWS.get_or_init(|| {
        std::array::from_fn(|k| {
            let mut w = [MAX_HUE, MAX_HUE];
            if let Some([r, g, b]) = PURE[k] {
                let d = signed_hue_difference(hue_saturation(r, g, b).0, palette_hues()[k].0);
                // Only where the pure hue is outside: pure green (7° off) widened green's window
                // towards lawns for nothing.
                if d.abs() > MAX_HUE {
                    let side = usize::from(d > 0.0);
                    w[side] = d.abs() + PURE_MARGIN;
                }
            }
            w
        })
    })
}

/// Every pixel's tracked colour. Video codecs store colour at half resolution (4:2:0): a pixel
/// much darker than its 2×2 block's brightest takes the block's colour difference, which makes
/// it look more saturated than the surface it shows (a dark wood grain line reads as orange).
/// Such a pixel's saturation is read from its block's mean as well (the lower of the two counts).
pub fn labels(frame: &[u8], width: usize, height: usize) -> Vec<Option<u8>> {
    let table = (width * height >= TABLE_PIXELS).then(colour_table);
    labels_with(frame, width, height, table)
}

/// Frames this large (1280×800 and up) look each coloured pixel's class up in [`colour_table`]:
/// building it once per process is repaid within a frame or two.
const TABLE_PIXELS: usize = 1 << 20;

/// [`classify`] of every 8-bit colour, indexed `r << 16 | g << 8 | b` (255: no colour), built once
/// per process on first use (16 MiB). Built on the calling thread alone: a parallel build inside
/// the lock could let this thread take another frame's job while it waits, and that job would
/// ask for the table again (a re-entrant initialisation: a deadlock).
fn colour_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..1usize << 24).map(|i| classify(&[(i >> 16) as u8, (i >> 8) as u8, i as u8]).unwrap_or(u8::MAX)).collect()
    })
}

fn labels_with(frame: &[u8], width: usize, height: usize, table: Option<&[u8]>) -> Vec<Option<u8>> {
    pulp::Arch::new().dispatch(Labels { frame, width, height, table })
}

/// [`labels`] compiled for the machine's widest vector unit (the same operations: the same labels).
struct Labels<'a> {
    frame: &'a [u8],
    width: usize,
    height: usize,
    table: Option<&'a [u8]>,
}

impl pulp::WithSimd for Labels<'_> {
    type Output = Vec<Option<u8>>;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<Option<u8>> {
        labels_of(self.frame, self.width, self.height, self.table)
    }
}

/// [`classify`], from `table` when given: the cheap test for no colour first (most pixels), the
/// table for the rest.
#[inline(always)]
fn classify_in(px: &[u8], table: Option<&[u8]>) -> Option<u8> {
    let Some(t) = table else { return classify(px) };
    if colourless(i32::from(px[0]), i32::from(px[1]), i32::from(px[2])) {
        return None;
    }
    let k = t[(usize::from(px[0]) << 16) | (usize::from(px[1]) << 8) | usize::from(px[2])];
    (k != u8::MAX).then_some(k)
}

#[inline(always)]
fn labels_of(frame: &[u8], width: usize, height: usize, table: Option<&[u8]>) -> Vec<Option<u8>> {
    let value = |i: usize| i32::from(frame[i].max(frame[i + 1]).max(frame[i + 2]));
    let mut out = vec![None; width * height];
    for by in (0..height).step_by(2) {
        for bx in (0..width).step_by(2) {
            let (mut cells, mut n) = ([0usize; 4], 0);
            for y in by..(by + 2).min(height) {
                for x in bx..(bx + 2).min(width) {
                    cells[n] = y * width + x;
                    n += 1;
                }
            }
            let block = &cells[..n];
            let mut brightest: Option<i32> = None;
            let mut mean: Option<[i32; 3]> = None;
            for &p in block {
                let i = p * 3;
                let px = &frame[i..i + 3];
                // Most pixels carry no colour at all: no block statistics for them.
                let Some(own) = classify_in(px, table) else { continue };
                let top = *brightest.get_or_insert_with(|| block.iter().map(|&q| value(q * 3)).max().unwrap_or(0));
                out[p] = if 5 * value(i) < 4 * top {
                    let m = *mean.get_or_insert_with(|| {
                        let mut sum = [0i32; 3];
                        for &q in block {
                            for c in 0..3 {
                                sum[c] += i32::from(frame[q * 3 + c]);
                            }
                        }
                        sum.map(|v| v / block.len() as i32)
                    });
                    classify_as(px, Some(m))
                } else {
                    Some(own)
                };
            }
        }
    }
    out
}

/// No component ([`components`]' map for a pixel in none).
const NONE: u32 = u32::MAX;

/// The 4-neighbour connected components of a `width × height` grid's pixels of one class (`class`
/// of a pixel's index; `None`: in none): each with its class, its pixels in the order the fill
/// reached them, and its box [x0, y0, x1, y1]; and each pixel's component index ([`NONE`]).
fn components<T: Copy + PartialEq>(
    width: usize,
    height: usize,
    class: impl Fn(usize) -> Option<T>,
) -> (Vec<u32>, Vec<(T, Vec<(usize, usize)>, [usize; 4])>) {
    let mut comp = vec![NONE; width * height];
    let mut comps = Vec::new();
    let mut stack = Vec::new();
    for start in 0..width * height {
        let Some(label) = class(start) else { continue };
        if comp[start] != NONE {
            continue;
        }
        let id = comps.len() as u32;
        comp[start] = id;
        stack.push(start);
        let mut pixels = Vec::new();
        let mut b = [usize::MAX, usize::MAX, 0, 0];
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            pixels.push((x, y));
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            for (ok, j) in [
                (x > 0, i.wrapping_sub(1)),
                (x + 1 < width, i + 1),
                (y > 0, i.wrapping_sub(width)),
                (y + 1 < height, i + width),
            ] {
                if ok && comp[j] == NONE && class(j) == Some(label) {
                    comp[j] = id;
                    stack.push(j);
                }
            }
        }
        comps.push((label, pixels, b));
    }
    (comp, comps)
}

/// Connected components (4-neighbour) of each tracked colour in one frame, those of a colour a
/// gap of at most [`JOIN_GAP`] apart joined ([`join_near`]). Dropped: components smaller than
/// `min_area` pixels, or joined from specks none of which is that large (noise); larger than a
/// quarter of the frame and running off it on two sides (a region of the setting in that
/// colour, a wall or a floor); thinner on average than [`thin_limit`] (a fringe along an edge,
/// where a codec's colour bleeds across a boundary); and those touching an object of another
/// colour more than ten times their size and no thicker than a codec's bleed, [`bleed_limit`]
/// (the fringe of that object, shifted in hue by its neighbour; a blue ball standing on a red
/// cup ten times its size is thick, and was dropped in most frames as the cup's fringe).
pub fn detect(frame: &[u8], width: usize, height: usize, min_area: usize) -> Vec<Observation> {
    let labels = labels(frame, width, height);
    // (label, pixels, [x0, y0, x1, y1]) of every component, and each pixel's component.
    let (mut comp, comps) = components(width, height, |i| labels[i]);
    let thin = thin_limit(width, height);
    // Regions the size of a setting: a quarter of the frame reaching two of its edges, or a
    // twentieth spanning it edge to edge (a honey-oak table top across the frame read as an
    // orange object, and the ball on it was dropped as its fringe).
    let is_setting = |pixels: &[(usize, usize)], [x0, y0, x1, y1]: [usize; 4]| {
        let n = pixels.len();
        let borders = [x0 == 0, y0 == 0, x1 + 1 == width, y1 + 1 == height];
        let across = (borders[0] && borders[2]) || (borders[1] && borders[3]);
        (n * 4 > labels.len() && borders.iter().filter(|&&b| b).count() >= 2) || (n * 20 > labels.len() && across)
    };
    let alone: Vec<bool> = comps.iter().map(|(_, p, b)| is_setting(p, *b)).collect();
    // The largest patch of each joined group: a cloud of specks, none of an object's size, is no
    // object (a brick wall's specks at CRF 30 joined into seven red "objects"); specks still join
    // an object's larger parts (bridging the gaps between them).
    let largest: Vec<usize> = comps.iter().map(|(_, p, _)| p.len()).collect();
    let (comps, group_of) = join_near(comps, &alone, width, height);
    let mut largest_part = vec![0; comps.len()];
    for (id, &g) in group_of.iter().enumerate() {
        largest_part[g] = largest_part[g].max(largest[id]);
    }
    for c in comp.iter_mut().filter(|c| **c != NONE) {
        *c = group_of[*c as usize] as u32;
    }
    let setting: Vec<bool> = comps.iter().map(|(_, p, b)| is_setting(p, *b)).collect();
    // Object-like groups: not a setting, a speck cloud or a thin fringe along an edge.
    let candidate: Vec<bool> = comps
        .iter()
        .enumerate()
        .map(|(id, (_, pixels, [x0, y0, x1, y1]))| {
            let n = pixels.len();
            let longest = (x1 - x0 + 1).max(y1 - y0 + 1);
            n >= min_area && largest_part[id] >= min_area && !setting[id] && n as f64 >= thin * longest as f64
        })
        .collect();
    let bleed = bleed_limit(width, height);
    let mut out = Vec::new();
    for (id, (label, pixels, [x0, y0, x1, y1])) in comps.iter().enumerate() {
        let n = pixels.len();
        if !candidate[id] {
            continue;
        }
        // A fringe: far smaller than an object it borders (not than a setting it lies on, nor a
        // speck cloud joined around it).
        let mut neighbour = 0;
        for &(x, y) in pixels {
            let i = y * width + x;
            let around = [(x > 0, i.wrapping_sub(1)), (x + 1 < width, i + 1), (y > 0, i.wrapping_sub(width))];
            for (_, j) in around.into_iter().chain([(y + 1 < height, i + width)]).filter(|a| a.0) {
                let c = comp[j];
                if c != NONE && c as usize != id && candidate[c as usize] {
                    neighbour = neighbour.max(comps[c as usize].1.len());
                }
            }
        }
        if n * 10 < neighbour && !thicker_than(pixels, [*x0, *y0, *x1, *y1], bleed) {
            continue;
        }
        out.push(observe(*label, pixels, [*x0, *y0, *x1, *y1]));
    }
    for ((label, pixels, _), _) in comps.iter().zip(&setting).filter(|(_, s)| **s) {
        out.extend(rescue(frame, width, height, *label, pixels, min_area));
    }
    out
}

/// Hue window (degrees either side of the palette hue) and least saturation (of the palette
/// colour's) of the pixels [`rescue`] looks for inside a setting: an object's own colour, not
/// its surface's paler or neighbouring hue. Where those make no object, pixels of nearly pure
/// colour ([`RESCUE_PURE`]) anywhere in the colour's window are looked at instead: a pure blue
/// (240°, 13° off the palette's) or pure yellow ball on dark denim or straw was "not found".
/// (Counted together, lush grass's vivid blades were more than [`RESCUE_SHARE`] of it, and a green
/// ball on it was lost again.)
const RESCUE_HUE: f64 = 6.0;
const RESCUE_SATURATION: f64 = 0.9;
const RESCUE_PURE: f64 = 0.92;
/// The most of a setting those pixels may be for [`rescue`] to look: past it the surface is
/// itself the palette colour (a red carpet, a cyan pool's caustics), and its pieces are not
/// objects.
const RESCUE_SHARE: f64 = 0.3;
/// The largest object [`rescue`] keeps, as a share of the frame.
const RESCUE_AREA: f64 = 0.03;

/// Objects inside a region dropped as the setting (`pixels`, labelled `label`): an object on a
/// surface of its own hue but paler (an orange ball rolling on teak or honey wood, a green ball on
/// lush grass, a yellow one on straw) is labelled with the surface's paler pixels, joins them and
/// was dropped with them ("no orange object found"). Its own pixels — within [`RESCUE_HUE`] of
/// the palette hue and [`RESCUE_SATURATION`] of its saturation — opened by a 3×3 square (specks
/// and grain lines go), make compact components (box fill ≥ 0.5, solidity ≥ 0.85, thicker than a
/// fringe, from `min_area` to [`RESCUE_AREA`] of the frame) that are kept as objects, where such
/// pixels are at most [`RESCUE_SHARE`] of the region. On 54 clips of balls on same-hue surfaces
/// and 22 of the surfaces alone (h3, session 41), a prototype of this rule found the ball in 245
/// of 324 frames (119 without it) and made 23 objects in the 132 frames of bare surfaces; as
/// built, 103 of those 71 clips' 174 checks are right (80 without it; five count checks went
/// wrong, pieces of mahogany, satin, felt and cherry wood made into objects), and 44 of 56 on
/// balls up to 13° off their palette hue on such surfaces (36 without the second look at pure
/// pixels).
fn rescue(
    frame: &[u8],
    width: usize,
    height: usize,
    label: u8,
    pixels: &[(usize, usize)],
    min_area: usize,
) -> Vec<Observation> {
    let (hue, sat) = palette_hues()[label as usize];
    let floor = if TRACKED[label as usize] == Color::Orange {
        ORANGE_MIN_SATURATION.max(RESCUE_SATURATION * sat)
    } else {
        RESCUE_SATURATION * sat
    };
    // Each pixel's hue and saturation read once: the pixels near the palette hue, and the pure.
    let (mut near, mut pure) = (Vec::new(), Vec::new());
    for &(x, y) in pixels {
        let i = (y * width + x) * 3;
        let (h, s) = hue_saturation(i32::from(frame[i]), i32::from(frame[i + 1]), i32::from(frame[i + 2]));
        if s >= floor && signed_hue_difference(h, hue).abs() <= RESCUE_HUE {
            near.push((x, y));
        }
        if s >= RESCUE_PURE.max(floor) {
            pure.push((x, y));
        }
    }
    for strong in [near, pure] {
        if strong.len() < min_area || strong.len() as f64 > RESCUE_SHARE * pixels.len() as f64 {
            continue;
        }
        let found = compact_parts(&strong, width, height, label, min_area);
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// [`rescue`]'s compact objects made of the `strong` pixels.
fn compact_parts(
    strong: &[(usize, usize)],
    width: usize,
    height: usize,
    label: u8,
    min_area: usize,
) -> Vec<Observation> {
    // The strong pixels' box, a pixel of margin each side, opened by a 3×3 square.
    let x0 = strong.iter().map(|p| p.0).min().unwrap_or(0).saturating_sub(1);
    let y0 = strong.iter().map(|p| p.1).min().unwrap_or(0).saturating_sub(1);
    let x1 = (strong.iter().map(|p| p.0).max().unwrap_or(0) + 1).min(width - 1);
    let y1 = (strong.iter().map(|p| p.1).max().unwrap_or(0) + 1).min(height - 1);
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut mask = vec![false; bw * bh];
    for &(x, y) in strong {
        mask[(y - y0) * bw + (x - x0)] = true;
    }
    let square = |m: &[bool], all: bool| -> Vec<bool> {
        let mut out = vec![false; bw * bh];
        for y in 0..bh {
            for x in 0..bw {
                let mut hits = 0;
                let mut seen = 0;
                for ny in y.saturating_sub(1)..=(y + 1).min(bh - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(bw - 1) {
                        seen += 1;
                        hits += usize::from(m[ny * bw + nx]);
                    }
                }
                out[y * bw + x] = if all { hits == seen } else { hits > 0 };
            }
        }
        out
    };
    let opened = square(&square(&mask, true), false);
    let thin = thin_limit(width, height);
    let largest = RESCUE_AREA * (width * height) as f64;
    let mut out = Vec::new();
    for (_, part, b) in components(bw, bh, |i| opened[i].then_some(())).1 {
        // In the frame's pixels.
        let part: Vec<(usize, usize)> = part.into_iter().map(|(x, y)| (x + x0, y + y0)).collect();
        let b = [b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0];
        let n = part.len();
        let (w, h) = (b[2] - b[0] + 1, b[3] - b[1] + 1);
        if n < min_area || n as f64 > largest || (w.min(h) as f64) < 2.0 * thin || (n as f64) < thin * w.max(h) as f64 {
            continue;
        }
        let o = observe(label, &part, b);
        if o.fill >= 0.5 && o.area / hull_area(&part).max(1.0) >= 0.85 {
            out.push(o);
        }
    }
    out
}

/// Joins the patches of one colour a few pixels apart into one: a real object's colour is
/// broken by its own detail and shading (a saucer's rim parted from the cup by a dark line, a
/// cup's coffee), and a setting by what stands in front of it (sky between a tower's struts read
/// as ten "blue objects"). Patches with a gap of at most [`JOIN_GAP`] of the short side between
/// them (at least one pixel: at 64×64, patches one pixel apart) join; a patch that is a
/// setting by itself (`alone`) joins nothing (an orange ball on an orange table top is not the
/// table).
/// Returns the joined patches and each original patch's index among them.
#[allow(clippy::type_complexity)]
fn join_near(
    comps: Vec<(u8, Vec<(usize, usize)>, [usize; 4])>,
    alone: &[bool],
    width: usize,
    height: usize,
) -> (Vec<(u8, Vec<(usize, usize)>, [usize; 4])>, Vec<usize>) {
    // Pixels with at most `gap` others between them are `reach` apart or less (Chebyshev), so
    // they lie in the same or touching cells of `reach` pixels: the pixels are sorted by cell
    // (stably: each cell's are grouped by patch), and only pairs of cells holding two patches
    // of a colour are looked into.
    let gap = ((width.min(height) as f64 * JOIN_GAP).round() as usize).max(1);
    let reach = gap + 1;
    let cols = width.div_ceil(reach);
    let rows = height.div_ceil(reach);
    let cell_of = |x: usize, y: usize| (y / reach) * cols + x / reach;
    let mut start = vec![0usize; cols * rows + 1];
    for (_, pixels, _) in comps.iter().zip(alone).filter(|(_, a)| !**a).map(|(c, _)| c) {
        for &(x, y) in pixels {
            start[cell_of(x, y) + 1] += 1;
        }
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut fill = start.clone();
    let mut sorted = vec![(0u32, 0usize, 0usize); start[cols * rows]];
    for (id, (_, pixels, _)) in comps.iter().enumerate().filter(|(id, _)| !alone[*id]) {
        for &(x, y) in pixels {
            let c = cell_of(x, y);
            sorted[fill[c]] = (id as u32, x, y);
            fill[c] += 1;
        }
    }
    let mut parent: Vec<usize> = (0..comps.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let cell = |c: usize| &sorted[start[c]..start[c + 1]];
    for cy in 0..rows {
        for cx in 0..cols {
            let here = cell(cy * cols + cx);
            // One patch alone in its cell has nothing to join there.
            let Some(&(first, _, _)) = here.first() else { continue };
            let others = |s: &[(u32, usize, usize)]| s.iter().any(|p| p.0 != first);
            // This cell with itself and the four after it (the others see it from theirs).
            let after = [(1isize, 0usize), (-1, 1), (0, 1), (1, 1)].into_iter().filter_map(|(dx, dy)| {
                let (nx, ny) = (cx.checked_add_signed(dx)?, cy + dy);
                (nx < cols && ny < rows).then(|| cell(ny * cols + nx))
            });
            for there in std::iter::once(here).chain(after) {
                if !others(here) && !others(there) {
                    continue;
                }
                for &(a, ax, ay) in here {
                    for &(b, bx, by) in there {
                        let (a, b) = (a as usize, b as usize);
                        if a == b || comps[a].0 != comps[b].0 || ax.abs_diff(bx).max(ay.abs_diff(by)) > reach {
                            continue;
                        }
                        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                        if ra != rb {
                            parent[ra.max(rb)] = ra.min(rb);
                        }
                    }
                }
            }
        }
    }
    let mut index = vec![usize::MAX; comps.len()];
    let mut joined: Vec<(u8, Vec<(usize, usize)>, [usize; 4])> = Vec::new();
    let mut group_of = vec![0; comps.len()];
    for (id, (label, pixels, [x0, y0, x1, y1])) in comps.into_iter().enumerate() {
        let r = root(&mut parent, id);
        if index[r] == usize::MAX {
            index[r] = joined.len();
            joined.push((label, Vec::new(), [usize::MAX, usize::MAX, 0, 0]));
        }
        let g = &mut joined[index[r]];
        g.1.extend(pixels);
        g.2 = [g.2[0].min(x0), g.2[1].min(y0), g.2[2].max(x1), g.2[3].max(y1)];
        group_of[id] = index[r];
    }
    (joined, group_of)
}

/// The widest gap (a share of the frame's short side) between patches of one colour that are
/// still one object: 1%, five pixels at the probes' 480.
const JOIN_GAP: f64 = 0.01;

/// The least mean thickness (area / longest side, pixels) of an object at this frame size.
fn thin_limit(width: usize, height: usize) -> f64 {
    (width.min(height) as f64 / 100.0).max(1.5)
}

/// How far a codec's colour bleeds across an edge at most, in pixels: a fringe is a band no
/// wider than twice this, however long.
fn bleed_limit(width: usize, height: usize) -> usize {
    (width.min(height) / 120).max(2)
}

/// Whether a region holds a pixel more than `limit` pixels (chessboard distance) from every
/// pixel outside it: a square of side `2 limit + 1` fits inside. Two passes of the chamfer
/// distance over the region's box (outside the box is outside the region).
fn thicker_than(pixels: &[(usize, usize)], [x0, y0, x1, y1]: [usize; 4], limit: usize) -> bool {
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    if bw.min(bh) <= 2 * limit {
        return false;
    }
    let mut d = vec![0u32; bw * bh];
    for &(x, y) in pixels {
        d[(y - y0) * bw + (x - x0)] = u32::MAX;
    }
    let at = |d: &[u32], x: isize, y: isize| -> u32 {
        if x < 0 || y < 0 || x >= bw as isize || y >= bh as isize { 0 } else { d[y as usize * bw + x as usize] }
    };
    for y in 0..bh as isize {
        for x in 0..bw as isize {
            let i = y as usize * bw + x as usize;
            if d[i] != 0 {
                let m = [(-1, 0), (-1, -1), (0, -1), (1, -1)].iter().map(|&(dx, dy)| at(&d, x + dx, y + dy)).min();
                d[i] = m.unwrap_or(0).saturating_add(1).min(d[i]);
            }
        }
    }
    for y in (0..bh as isize).rev() {
        for x in (0..bw as isize).rev() {
            let i = y as usize * bw + x as usize;
            if d[i] != 0 {
                let m = [(1, 0), (1, 1), (0, 1), (-1, 1)].iter().map(|&(dx, dy)| at(&d, x + dx, y + dy)).min();
                d[i] = m.unwrap_or(0).saturating_add(1).min(d[i]);
                if d[i] as usize > limit {
                    return true;
                }
            }
        }
    }
    false
}

/// An observation of a component. Holes (a specular highlight, a reflection) belong to the
/// object: pixels of its box that the box's border cannot reach without crossing it.
fn observe(label: u8, pixels: &[(usize, usize)], [x0, y0, x1, y1]: [usize; 4]) -> Observation {
    let mut pixels = pixels.to_vec();
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut mine = vec![0u8; bw * bh];
    for &(x, y) in &pixels {
        mine[(y - y0) * bw + (x - x0)] = 1;
    }
    let mut outside = Vec::new();
    for y in 0..bh {
        for x in 0..bw {
            if (x == 0 || y == 0 || x + 1 == bw || y + 1 == bh) && mine[y * bw + x] == 0 {
                mine[y * bw + x] = 2;
                outside.push((x, y));
            }
        }
    }
    while let Some((x, y)) = outside.pop() {
        for (nx, ny) in [(x.wrapping_sub(1), y), (x + 1, y), (x, y.wrapping_sub(1)), (x, y + 1)] {
            if nx < bw && ny < bh && mine[ny * bw + nx] == 0 {
                mine[ny * bw + nx] = 2;
                outside.push((nx, ny));
            }
        }
    }
    for y in 0..bh {
        for x in 0..bw {
            if mine[y * bw + x] == 0 {
                pixels.push((x + x0, y + y0));
            }
        }
    }
    let n = pixels.len() as f64;
    let (sx, sy) = pixels.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x as f64 + 0.5, sy + y as f64 + 0.5));
    let fill = n / (bw * bh) as f64;
    let outline = hull(&pixels);
    let (hull_area, rectangle) = if outline.len() < 3 {
        (1.0, (bw * bh) as f64)
    } else {
        (polygon_area(&outline).max(1.0), min_rectangle_area(&outline).max(1.0))
    };
    let solidity = n / hull_area;
    // Second moments of the pixel squares about the centroid (each square adds its own 1/12
    // along each axis), and the affine moment from them.
    let (cx, cy) = (sx / n, sy / n);
    let (xx, yy, xy) = pixels.iter().fold((n / 12.0, n / 12.0, 0.0), |(xx, yy, xy), &(x, y)| {
        let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
        (xx + dx * dx, yy + dy * dy, xy + dx * dy)
    });
    let moment = 2.0 * (xx * yy - xy * xy).max(0.0).sqrt() / (n * n);
    Observation {
        center: [sx / n, sy / n],
        bbox: [x0 as f64, y0 as f64, (x1 + 1) as f64, (y1 + 1) as f64],
        area: n,
        color: TRACKED[label as usize],
        shape: shape_of(hull_area / rectangle, solidity, moment),
        fill,
    }
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

/// How long (seconds) an object may go unseen in place and come back in another colour as the
/// same object: a blend from one colour to the next shows neither for a while (an 80 ms change
/// linked at 24 fps, two frames, and broke into two objects at 60 fps).
pub const RECOLOUR_WITHIN: f64 = 0.3;

/// Tracks every segmented object through the video.
pub fn track(video: &Video) -> Vec<Track> {
    let (w, h) = (video.width() as usize, video.height() as usize);
    let dt = 1.0 / video.fps();
    let diag = ((w * w + h * h) as f64).sqrt();
    let min_area = ((w * h) / 2000).max(3);
    let mut tracks: Vec<Track> = Vec::new();
    // For each track: last observation and the frame it was seen.
    let mut last: Vec<(usize, Observation)> = Vec::new();
    // Each frame's objects are found independently (in parallel); linking them is sequential.
    let detections: Vec<Vec<Observation>> = {
        use rayon::prelude::*;
        let frames: Vec<&[u8]> = video.frames().collect();
        frames.par_iter().map(|frame| detect(frame, w, h, min_area)).collect()
    };
    // How far back a track is looked at to tell whether it stands still.
    let lookback = ((RECOLOUR_WITHIN / dt).round() as usize).max(2);
    for (t, dets) in detections.into_iter().enumerate() {
        let recent = |seen_at: usize| {
            let gap = (t - seen_at) as f64;
            gap <= 2.0 || gap * dt <= RECOLOUR_WITHIN
        };
        let dist = |d: &Observation, prev: &Observation| {
            (d.center[0] - prev.center[0]).hypot(d.center[1] - prev.center[1]) / diag
        };
        // Detections that may be a still object just seen in place in another colour: for them,
        // an object of their colour unseen for longer is the worse guess (a cup that turned green
        // and back to red was joined to a red fragment seen once, two seconds before, and
        // "vanished" while still in view). Only a still one: a red ball coming out from behind a
        // pillar where a green one had just gone in, rolling the other way, is the red ball (it
        // became "the green one turned red", and both failed permanence).
        // (Seen at least once more in that time: a track first seen a frame ago is not known to
        // stand still.)
        let still = |k: usize| {
            let (seen_at, prev) = &last[k];
            let back = seen_at.saturating_sub(lookback);
            let mut before = tracks[k].frames[back..*seen_at].iter().flatten().peekable();
            before.peek().is_some() && before.all(|o| dist(o, prev) < 0.01)
        };
        let recoloured: Vec<bool> = dets
            .iter()
            .map(|d| {
                last.iter()
                    .enumerate()
                    .any(|(k, (s, prev))| prev.color != d.color && recent(*s) && dist(d, prev) < 0.05 && still(k))
            })
            .collect();
        let cost: Vec<Vec<f64>> = last
            .iter()
            .map(|(seen_at, prev)| {
                let gap = (t - seen_at) as f64;
                dets.iter()
                    .zip(&recoloured)
                    .map(|(d, &recoloured)| {
                        let dist = dist(d, prev);
                        let size = (d.area.max(1.0) / prev.area.max(1.0)).ln().abs();
                        if d.color == prev.color {
                            // Farther is fine after a longer gap (it moved while hidden).
                            let back = if recoloured && !recent(*seen_at) { 0.5 } else { 0.0 };
                            dist / gap.max(1.0).sqrt() + 0.1 * size + back
                        } else if recent(*seen_at) && dist < 0.05 {
                            // A colour change in place (the frames exposed across the change
                            // may show neither colour: a blend's in-between colours are
                            // unsaturated or off-hue for a while).
                            0.5 + dist
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

    /// The hue without `fmod` is `rem_euclid(360)`'s, bit for bit, for every 8-bit colour.
    #[test]
    fn hue_is_the_rem_euclid_formula_for_every_colour() {
        for rgb in 0u32..1 << 24 {
            let [r, g, b] = [rgb >> 16, (rgb >> 8) & 255, rgb & 255].map(|v| v as i32);
            let (max, min) = (r.max(g).max(b), r.min(g).min(b));
            if max == min {
                assert_eq!(hue_saturation(r, g, b), (0.0, 0.0));
                continue;
            }
            let s = sector(r, g, b, max, f64::from(max - min));
            let (h, want) = (hue_degrees(s), (s * 60.0).rem_euclid(360.0));
            assert_eq!(h.to_bits(), want.to_bits(), "hue of {r},{g},{b}");
            assert_eq!(h.to_bits(), hue_saturation(r, g, b).0.to_bits());
        }
    }

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

    /// A shaded ball (lit side, shadowed side at 40% of its albedo, a white highlight inside)
    /// over a brick-coloured wall is one red object: the hole is filled, the centre is the disc's
    /// and the wall, red-brown but paler, is no object. A thin fringe of orange along its edge
    /// (a codec's bleed) is dropped, and a dark wall pixel borrowing its 2×2 block's colour is
    /// not counted as saturated.
    #[test]
    fn a_shaded_ball_over_brick_is_one_object_with_its_highlight() {
        let (w, h) = (64usize, 64usize);
        let brick = [148u8, 86, 70];
        let mut f: Vec<u8> = (0..w * h).flat_map(|i| if (i / w) % 8 == 0 { [178, 172, 160] } else { brick }).collect();
        let (cx, cy, r) = (30.0f64, 34.0f64, 12.0f64);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                if dx.hypot(dy) > r {
                    continue;
                }
                // Lambert from the upper left, ambient 0.4; a highlight near (-0.3r, -0.3r).
                let nz = (1.0 - (dx * dx + dy * dy) / (r * r)).max(0.0).sqrt();
                let lit = 0.4 + 0.65 * ((-0.45 * dx / r - 0.55 * dy / r + 0.7 * nz).max(0.0));
                let mut px = Color::Red.rgb().map(|c| (f64::from(c) * lit).min(255.0) as u8);
                if (dx + 0.3 * r).hypot(dy + 0.3 * r) < 2.0 {
                    px = [250, 235, 235];
                }
                f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&px);
            }
        }
        // A one-pixel orange fringe along the ball's right edge.
        for y in 28..40 {
            let x = (cx + r) as usize + 1;
            f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&Color::Orange.rgb());
        }
        let d = detect(&f, w, h, 3);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].color, d[0].shape), (Color::Red, Shape::Circle));
        assert!((d[0].center[0] - cx).abs() < 0.5 && (d[0].center[1] - cy).abs() < 0.5, "{:?}", d[0].center);
        assert!((d[0].area - std::f64::consts::PI * r * r).abs() < 0.05 * std::f64::consts::PI * r * r);
        assert_eq!(color_of(&brick), None);
        // A dark pixel whose saturation was inflated (its block's chroma on its own darkness).
        let block = [120u8, 90, 60, 120, 90, 60, 62, 34, 12, 120, 90, 60];
        assert_eq!(color_of(&block[6..9]), Some(Color::Orange), "alone it reads as dark orange");
        assert_eq!(labels(&block, 2, 2)[2], None, "in its block it is the pale surface's");
    }

    /// A ball standing on an object ten times its size is an object, not that object's fringe;
    /// a band of another hue along the object's edge, as wide as a codec's bleed, still is one.
    #[test]
    fn a_ball_on_a_large_object_is_kept_and_a_bleed_band_is_dropped() {
        let (w, h) = (256usize, 144usize);
        let mut f: Vec<u8> = [128u8, 128, 128].repeat(w * h);
        let mut paint =
            |x: usize, y: usize, c: Color| f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c.rgb());
        for y in 20..120 {
            for x in 60..180 {
                paint(x, y, Color::Red);
            }
            // A band three pixels wide along the right edge.
            if (40..100).contains(&y) {
                for x in 180..183 {
                    paint(x, y, Color::Orange);
                }
            }
        }
        let (cx, cy, r) = (120.0f64, 60.0f64, 12.0f64);
        for y in 0..h {
            for x in 0..w {
                if (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy) <= r {
                    paint(x, y, Color::Blue);
                }
            }
        }
        let d = detect(&f, w, h, 20);
        let colours: Vec<Color> = d.iter().map(|o| o.color).collect();
        assert_eq!(colours.len(), 2, "{d:?}");
        assert!(colours.contains(&Color::Red) && colours.contains(&Color::Blue), "{colours:?}");
        let ball = d.iter().find(|o| o.color == Color::Blue).unwrap();
        assert!((ball.center[0] - cx).abs() < 0.5 && (ball.center[1] - cy).abs() < 0.5, "{:?}", ball.center);
        // The rule itself: a 3-wide band is within the bleed at this size, a 5-wide square is not.
        let square: Vec<(usize, usize)> = (0..5).flat_map(|y| (0..5).map(move |x| (x, y))).collect();
        assert!(thicker_than(&square, [0, 0, 4, 4], 2) && !thicker_than(&square, [0, 0, 4, 4], 3));
        let band: Vec<(usize, usize)> = (0..3).flat_map(|y| (0..40).map(move |x| (x, y))).collect();
        assert!(!thicker_than(&band, [0, 0, 39, 2], 2) && thicker_than(&band, [0, 0, 39, 2], 1));
    }

    /// Pixels near a palette hue are that colour, shaded or not; the hues of common settings
    /// (a lawn, a deep-blue sky, dry grass) and pale or grey ones are no colour (30° windows made
    /// a lawn one green region that swallowed the objects on it).
    #[test]
    fn settings_hues_are_no_colour() {
        let cases: [([u8; 3], Option<Color>); 20] = [
            ([210, 40, 50], Some(Color::Red)),     // 356°
            ([60, 200, 90], Some(Color::Green)),   // 133°
            ([0, 0, 255], Some(Color::Blue)),      // pure blue, 240° (was "not found")
            ([40, 40, 200], Some(Color::Blue)),    // 240°, shaded
            ([255, 0, 255], Some(Color::Magenta)), // pure magenta, 300°
            ([110, 60, 20], Some(Color::Orange)),  // orange in shadow, 27°
            ([98, 56, 12], Some(Color::Orange)),   // the palette orange at 0.4 of its light
            ([240, 140, 20], Some(Color::Orange)), // an orange (the fruit)
            ([255, 100, 0], Some(Color::Orange)),  // a traffic cone, 23.5°
            ([198, 134, 66], None),                // tan skin (#C68642), 31°, saturation 0.67
            ([141, 85, 36], None),                 // dark skin (#8D5524), 28°, 0.74
            ([141, 94, 46], None),                 // an oak table's dark grain, 30°, 0.67
            ([95, 58, 30], None),                  // brown hair, 26°, 0.68
            ([60, 150, 40], None),                 // lawn, 109°
            ([150, 170, 40], None),                // dry grass, 69°
            ([30, 144, 255], None),                // deep-blue sky, 210°
            ([150, 220, 40], None),                // chartreuse, 83°
            ([148, 86, 70], None),                 // brick: too pale for red
            ([160, 160, 150], None),               // grey
            ([30, 20, 10], None),                  // too dark
        ];
        for (px, want) in cases {
            assert_eq!(
                color_of(&px),
                want,
                "{px:?} is hue {:.1}",
                hue_saturation(px[0].into(), px[1].into(), px[2].into()).0
            );
        }
    }

    /// The hull over every corner of every pixel, as it was computed before rows were reduced to
    /// their ends: the reference for [`hull_area`].
    fn hull_area_of_every_corner(pixels: &[(usize, usize)]) -> f64 {
        let mut pts: Vec<(i64, i64)> = pixels
            .iter()
            .flat_map(|&(x, y)| {
                let (x, y) = (x as i64, y as i64);
                [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)]
            })
            .collect();
        pts.sort_unstable();
        pts.dedup();
        let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
        let mut hull: Vec<(i64, i64)> = Vec::new();
        for pass in 0..2 {
            let start = hull.len();
            let ordered: Vec<(i64, i64)> = if pass == 0 { pts.clone() } else { pts.iter().rev().copied().collect() };
            for p in ordered {
                while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
                    hull.pop();
                }
                hull.push(p);
            }
            hull.pop();
        }
        let n = hull.len();
        (0..n).map(|i| (hull[i].0 * hull[(i + 1) % n].1 - hull[(i + 1) % n].0 * hull[i].1) as f64).sum::<f64>().abs()
            / 2.0
    }

    #[test]
    fn the_hull_from_row_ends_is_the_hull_of_every_corner() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut sets: Vec<Vec<(usize, usize)>> = vec![
            vec![(5, 5)],
            vec![(0, 0), (1, 0), (2, 0)],
            vec![(3, 1), (3, 2), (3, 3)],
            // Rows with gaps, a row missing, a concave L.
            vec![(0, 0), (9, 0), (4, 2), (0, 3), (1, 3), (2, 3), (2, 4), (2, 5)],
        ];
        for _ in 0..300 {
            let (w, h) = (rng.random_range(1..40usize), rng.random_range(1..40usize));
            let density = rng.random_range(0.02..1.0f64);
            let set: Vec<(usize, usize)> =
                (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|_| rng.random_bool(density)).collect();
            if !set.is_empty() {
                sets.push(set);
            }
        }
        for set in &sets {
            let (a, b) = (hull_area(set), hull_area_of_every_corner(set));
            assert!(a.to_bits() == b.to_bits(), "{a} vs {b} for {set:?}");
        }
    }

    #[test]
    fn the_colour_table_labels_as_the_classifier_does() {
        // Every colour, through the table and through the classifier.
        let table = colour_table();
        for i in 0..1usize << 24 {
            let px = [(i >> 16) as u8, (i >> 8) as u8, i as u8];
            assert_eq!(classify_in(&px, Some(table)), classify(&px), "{px:?}");
        }
        // A whole frame (with the dark-pixel block rule) as large frames are labelled.
        let (w, h) = (257, 131);
        let frame: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7919) % 251 + (i / (w * 3)) % 5) as u8).collect();
        let labelled = labels_with(&frame, w, h, Some(table));
        assert!(labelled.iter().filter(|l| l.is_some()).count() > 100, "the frame must hold coloured pixels");
        assert_eq!(labelled, labels_with(&frame, w, h, None));
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

    /// A yellow ball on straw (the same hue, paler: every pixel yellow to the classifier) was
    /// dropped with the straw as the setting; it is found inside it, and the straw alone holds no
    /// object. A surface as saturated as the ball in a third of its pixels is not looked into.
    #[test]
    fn a_ball_on_a_paler_surface_of_its_hue_is_found_inside_the_setting() {
        let (w, h) = (128usize, 96usize);
        let mut seed = 7u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as i32 % 7 - 3
        };
        let straw: Vec<u8> = (0..w * h)
            .flat_map(|_| {
                let d = noise();
                [230 + d, 205 + d, 75 + d].map(|c| c.clamp(0, 255) as u8)
            })
            .collect();
        assert_eq!(color_of(&straw[..3]), Some(Color::Yellow), "the straw is yellow to the classifier");
        assert!(detect(&straw, w, h, 20).is_empty(), "the straw alone is the setting");
        let disc = |f: &mut [u8], cx: f64, cy: f64, r: f64, c: [u8; 3]| {
            for y in 0..h {
                for x in 0..w {
                    if (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy) <= r {
                        f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
                    }
                }
            }
        };
        let mut f = straw.clone();
        disc(&mut f, 60.0, 50.0, 10.0, Color::Yellow.rgb());
        let d = detect(&f, w, h, 20);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].color, d[0].shape), (Color::Yellow, Shape::Circle));
        assert!((d[0].center[0] - 60.0).abs() < 1.0 && (d[0].center[1] - 50.0).abs() < 1.0, "{:?}", d[0].center);
        // A pure yellow ball (60°, 9° from the palette's yellow) is found by its purity.
        let mut p = straw.clone();
        disc(&mut p, 70.0, 40.0, 10.0, [250, 250, 10]);
        let d = detect(&p, w, h, 20);
        assert!(d.len() == 1 && (d[0].center[0] - 70.0).abs() < 1.0, "{d:?}");
        // Half the surface as saturated as the ball: the surface's own colour, no object in it.
        let mut g = straw.clone();
        for y in 0..h {
            for x in (0..w).filter(|x| (x / 8 + y / 8) % 2 == 0) {
                g[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&Color::Yellow.rgb());
            }
        }
        disc(&mut g, 60.0, 50.0, 10.0, Color::Yellow.rgb());
        assert!(detect(&g, w, h, 20).iter().all(|o| o.area > 0.25 * (w * h) as f64), "{:?}", detect(&g, w, h, 20));
    }

    #[test]
    fn a_band_across_the_frame_is_a_setting_and_the_object_on_it_stays() {
        // An orange table top across the frame (a fifth of it) and a red ball resting on it.
        let (w, h) = (60, 40);
        let mut f = canvas(w, h);
        fill_rect(&mut f, w, 0, 28, w, 36, Color::Orange);
        fill_rect(&mut f, w, 25, 22, 31, 28, Color::Red);
        let found = detect(&f, w, h, 3);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].color, Color::Red);
        // A band that does not reach across is an object.
        let mut g = canvas(w, h);
        fill_rect(&mut g, w, 5, 28, 55, 36, Color::Orange);
        assert_eq!(detect(&g, w, h, 3).len(), 1);
    }

    /// A real object's colour broken by its own detail (a saucer's rim parted from the cup by a
    /// dark line) is one object; sky broken by a tower's struts is one setting, not ten blue
    /// objects; two objects of a colour well apart stay two.
    #[test]
    fn patches_of_one_colour_a_few_pixels_apart_are_one() {
        let (w, h) = (400, 300);
        let dark = |buf: &mut [u8], x0: usize, y0: usize, x1: usize, y1: usize| {
            for y in y0..y1 {
                for x in x0..x1 {
                    buf[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[20, 20, 20]);
                }
            }
        };
        let mut f = canvas(w, h);
        fill_rect(&mut f, w, 100, 150, 160, 200, Color::Red);
        dark(&mut f, 100, 170, 160, 173);
        fill_rect(&mut f, w, 260, 150, 300, 200, Color::Red);
        let found = detect(&f, w, h, 3);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().any(|o| o.bbox == [100.0, 150.0, 160.0, 200.0]), "one object across the line: {found:?}");
        let mut sky = canvas(w, h);
        fill_rect(&mut sky, w, 0, 0, w, 120, Color::Blue);
        for k in 0..10 {
            dark(&mut sky, 20 + 40 * k, 0, 23 + 40 * k, 120);
        }
        assert!(detect(&sky, w, h, 3).is_empty());
        // A wall's specks, each smaller than an object, within the gap of each other: no object.
        let mut wall = canvas(w, h);
        for y in (0..100).step_by(4) {
            for x in (0..200).step_by(4) {
                fill_rect(&mut wall, w, x, y, x + 2, y + 2, Color::Red);
            }
        }
        assert!(detect(&wall, w, h, 20).is_empty());
    }

    #[test]
    fn a_colour_blend_in_place_is_one_object_within_its_time() {
        // Red for 10 frames, 6 frames of in-between grey, then blue in the same place.
        let (w, h) = (40, 30);
        let data: Vec<u8> = (0..24usize)
            .flat_map(|t| {
                let mut f = canvas(w, h);
                match t {
                    0..10 => fill_rect(&mut f, w, 15, 10, 25, 20, Color::Red),
                    10..16 => fill_rect(&mut f, w, 15, 10, 25, 20, Color::Gray),
                    _ => fill_rect(&mut f, w, 15, 10, 25, 20, Color::Blue),
                }
                f
            })
            .collect();
        // At 60 fps the blend takes 0.1 s: one object changing colour (it was two at any rate
        // once the change took more than two frames). At 8 fps it takes 0.75 s: two objects.
        for (fps, objects) in [(60.0, 1), (8.0, 2)] {
            let tracks = track(&Video::new(w as u32, h as u32, fps, data.clone()).unwrap());
            assert_eq!(tracks.len(), objects, "{fps} fps: {tracks:?}");
        }
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

    /// A shape keeps its class however it is turned in the picture, and a box or a ball
    /// however it is stretched: a photographed box at 10° read as a circle and at 30–45° as a
    /// triangle (its upright box was half empty), a ball flattened 1.44:1 as a triangle (its
    /// polar moment grows with the stretch).
    #[test]
    fn shapes_keep_their_class_when_turned_or_stretched() {
        // `corners` (x, y) about the origin, stretched `sx` along x, turned `degrees`, at the
        // middle of an 80-pixel canvas.
        let turned = |corners: &[(f64, f64)], sx: f64, degrees: f64| -> Vec<(f64, f64)> {
            let (s, c) = degrees.to_radians().sin_cos();
            corners.iter().map(|&(x, y)| (40.0 + sx * x * c - y * s, 40.0 + sx * x * s + y * c)).collect()
        };
        let ring = |n: usize, r: f64, start: f64| -> Vec<(f64, f64)> {
            (0..n)
                .map(|k| (start + 360.0 * k as f64 / n as f64).to_radians())
                .map(|a| (r * a.cos(), r * a.sin()))
                .collect()
        };
        let square = ring(4, 15.0 * 2f64.sqrt(), 45.0);
        let (disc, triangle) = (ring(64, 16.0, 0.0), ring(3, 18.0, -90.0));
        let mut cases = Vec::new();
        for degrees in [0.0, 10.0, 20.0, 30.0, 45.0, 60.0, 80.0] {
            cases.push((turned(&square, 1.0, degrees), Shape::Square, format!("a square at {degrees}°")));
            cases.push((turned(&square, 1.8, degrees), Shape::Square, format!("a 1.8:1 box at {degrees}°")));
            cases.push((turned(&triangle, 1.0, degrees), Shape::Triangle, format!("a triangle at {degrees}°")));
            cases.push((turned(&triangle, 1.5, degrees), Shape::Triangle, format!("a 1.5:1 triangle at {degrees}°")));
            for stretch in [1.2, 1.44, 1.7] {
                cases.push((
                    turned(&disc, stretch, degrees),
                    Shape::Circle,
                    format!("a {stretch}:1 ellipse at {degrees}°"),
                ));
            }
        }
        for (pts, want, what) in cases {
            let d = detect(&polygon(&pts, 80, 80), 80, 80, 3);
            assert_eq!(d.len(), 1, "{what}");
            assert_eq!(d[0].shape, want, "{what}");
        }
    }
}
