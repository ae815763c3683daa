//! Rendering a simulated scene to RGB frames, with per-frame ground truth.
//!
//! Anti-aliasing is analytic: every shape has a signed distance function in pixels and covers
//! `clamp(0.5 − d, 0, 1)` of a pixel; the checkerboard background is box-filtered exactly. One
//! world unit (a canvas height) is `height` pixels on both axes, so circles stay circular at any
//! aspect ratio. Draw order: background, paint trails, background-layer objects, midground
//! objects, occluders, foreground objects. Under camera motion the background layer moves at
//! 0.6× and the foreground at 1.6× the midground's displacement (parallax).

use serde::{Deserialize, Serialize};
use videval_metrics::Video;

use super::sim::{Body, Event, Simulation};
use super::spec::{Background, CameraMotion, Easing, Layer, Scene, Shape, Style};
use crate::palette::Color;

/// Output format of a rendering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u32,
}

impl Settings {
    pub fn aspect(&self) -> f64 {
        f64::from(self.width) / f64::from(self.height)
    }

    pub fn duration(&self) -> f64 {
        f64::from(self.frames) / self.fps
    }
}

/// Camera pose at a moment: the world point at the canvas centre, and the zoom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraPose {
    pub center: [f64; 2],
    pub zoom: f64,
    /// Index of the current shot (increments at every cut).
    pub shot: u32,
}

/// Ground truth of one object in one frame (pixel coordinates, y down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectTruth {
    pub id: String,
    pub center: [f64; 2],
    /// `[x0, y0, x1, y1]`, not clipped to the canvas.
    pub bbox: [f64; 4],
    /// Fraction of the shape's area visible on screen (not covered, inside the canvas).
    pub visible_fraction: f64,
    /// The centre is inside the canvas.
    pub in_frame: bool,
    /// More than 5% of its in-canvas area is covered by something drawn in front.
    pub occluded: bool,
    pub color: Color,
    pub shape: Shape,
    pub moving: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameTruth {
    pub t: f64,
    pub camera: CameraPose,
    pub objects: Vec<ObjectTruth>,
}

/// Everything known about a rendered clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub schema: String,
    pub settings: Settings,
    pub frames: Vec<FrameTruth>,
    pub events: Vec<Event>,
}

pub const TRUTH_SCHEMA: &str = "videval/world-truth/v1";

pub(super) fn layer_factor(l: Layer) -> f64 {
    match l {
        Layer::Background => 0.6,
        Layer::Midground => 1.0,
        Layer::Foreground => 1.6,
    }
}

fn ease(e: Easing, u: f64) -> f64 {
    match e {
        Easing::Linear => u,
        Easing::EaseInOut => u * u * (3.0 - 2.0 * u),
    }
}

/// The zoom a camera reaches at most, either way.
pub const ZOOM_RANGE: (f64, f64) = (1e-3, 1e3);

/// The camera at time `t`.
pub fn camera_at(scene: &Scene, aspect: f64, t: f64) -> CameraPose {
    let c = &scene.camera;
    let home = [aspect / 2.0, 0.5];
    let (center, zoom) = match c.motion {
        CameraMotion::Static => (home, 1.0),
        CameraMotion::PanLeft => ([home[0] - c.speed * aspect * t, home[1]], 1.0),
        CameraMotion::PanRight => ([home[0] + c.speed * aspect * t, home[1]], 1.0),
        CameraMotion::TiltUp => ([home[0], home[1] - c.speed * t], 1.0),
        CameraMotion::TiltDown => ([home[0], home[1] + c.speed * t], 1.0),
        CameraMotion::ZoomIn => (home, (c.speed * t).exp()),
        CameraMotion::ZoomOut => (home, (-c.speed * t).exp()),
        CameraMotion::Keyframes => {
            let k = &c.keyframes;
            match k.iter().position(|f| f.t > t) {
                _ if k.is_empty() => (home, 1.0),
                Some(0) => (world_point(k[0].center, aspect), k[0].zoom),
                None => (world_point(k[k.len() - 1].center, aspect), k[k.len() - 1].zoom),
                Some(i) => {
                    let (a, b) = (&k[i - 1], &k[i]);
                    let u = ease(c.easing, ((t - a.t) / (b.t - a.t).max(1e-9)).clamp(0.0, 1.0));
                    let (pa, pb) = (world_point(a.center, aspect), world_point(b.center, aspect));
                    ([pa[0] + (pb[0] - pa[0]) * u, pa[1] + (pb[1] - pa[1]) * u], a.zoom + (b.zoom - a.zoom) * u)
                }
            }
        }
    };
    // Every cut alternates between the wide shot and a 1.5× closer one.
    let shot = scene.cuts.iter().filter(|&&ct| ct <= t).count() as u32;
    // Zooms run exponentially; past a thousandfold either way nothing more can be seen.
    let zoom = zoom.clamp(ZOOM_RANGE.0, ZOOM_RANGE.1);
    CameraPose { center, zoom: if shot % 2 == 1 { zoom * 1.5 } else { zoom }, shot }
}

fn world_point(p: [f64; 2], aspect: f64) -> [f64; 2] {
    [p[0] * aspect, p[1]]
}

/// Maps world points of a layer to pixels for one frame.
#[derive(Debug, Clone, Copy)]
pub(super) struct View {
    pub(super) aspect: f64,
    pub(super) h: f64,
    pub(super) home: [f64; 2],
    pub(super) cam: CameraPose,
}

impl View {
    pub(super) fn to_px(&self, p: [f64; 2], layer: f64) -> [f64; 2] {
        let cx = self.home[0] + layer * (self.cam.center[0] - self.home[0]);
        let cy = self.home[1] + layer * (self.cam.center[1] - self.home[1]);
        [((p[0] - cx) * self.cam.zoom + self.aspect / 2.0) * self.h, ((p[1] - cy) * self.cam.zoom + 0.5) * self.h]
    }

    pub(super) fn px_to_world(&self, x: f64, y: f64) -> [f64; 2] {
        [
            (x / self.h - self.aspect / 2.0) / self.cam.zoom + self.cam.center[0],
            (y / self.h - 0.5) / self.cam.zoom + self.cam.center[1],
        ]
    }
}

/// A shape placed in pixels, with its signed distance function.
#[derive(Debug, Clone)]
pub(super) enum Prim {
    Circle { c: [f64; 2], r: f64 },
    Rect { c: [f64; 2], half: [f64; 2] },
    Poly { pts: Vec<[f64; 2]> },
    Capsule { a: [f64; 2], b: [f64; 2], r: f64 },
}

impl Prim {
    fn of(shape: Shape, c: [f64; 2], r: f64) -> Prim {
        match shape {
            Shape::Circle => Prim::Circle { c, r },
            Shape::Square => Prim::Rect { c, half: [r, r] },
            Shape::Triangle => Prim::Poly { pts: (0..3).map(|k| polar(c, r, -90.0 + 120.0 * f64::from(k))).collect() },
            Shape::Star => Prim::Poly {
                pts: (0..10)
                    .map(|k| polar(c, if k % 2 == 0 { r } else { 0.45 * r }, -90.0 + 36.0 * f64::from(k)))
                    .collect(),
            },
        }
    }

    pub(super) fn bbox(&self) -> [f64; 4] {
        match self {
            Prim::Circle { c, r } => [c[0] - r, c[1] - r, c[0] + r, c[1] + r],
            Prim::Rect { c, half } => [c[0] - half[0], c[1] - half[1], c[0] + half[0], c[1] + half[1]],
            Prim::Poly { pts } => pts.iter().fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
                [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])]
            }),
            Prim::Capsule { a, b, r } => {
                [a[0].min(b[0]) - r, a[1].min(b[1]) - r, a[0].max(b[0]) + r, a[1].max(b[1]) + r]
            }
        }
    }

    pub(super) fn area(&self) -> f64 {
        match self {
            Prim::Circle { r, .. } => std::f64::consts::PI * r * r,
            Prim::Rect { half, .. } => 4.0 * half[0] * half[1],
            Prim::Poly { pts } => {
                let n = pts.len();
                (0..n).map(|i| pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1]).sum::<f64>().abs()
                    / 2.0
            }
            Prim::Capsule { a, b, r } => std::f64::consts::PI * r * r + 2.0 * r * ((b[0] - a[0]).hypot(b[1] - a[1])),
        }
    }

    /// Signed distance (pixels, negative inside) from point p.
    pub(super) fn sdf(&self, p: [f64; 2]) -> f64 {
        match self {
            Prim::Circle { c, r } => (p[0] - c[0]).hypot(p[1] - c[1]) - r,
            Prim::Rect { c, half } => {
                let d = [(p[0] - c[0]).abs() - half[0], (p[1] - c[1]).abs() - half[1]];
                d[0].max(0.0).hypot(d[1].max(0.0)) + d[0].max(d[1]).min(0.0)
            }
            Prim::Capsule { a, b, r } => {
                let (ab, ap) = ([b[0] - a[0], b[1] - a[1]], [p[0] - a[0], p[1] - a[1]]);
                let len2 = (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-12);
                let h = ((ap[0] * ab[0] + ap[1] * ab[1]) / len2).clamp(0.0, 1.0);
                (ap[0] - ab[0] * h).hypot(ap[1] - ab[1] * h) - r
            }
            Prim::Poly { pts } => {
                let n = pts.len();
                let mut d = f64::MAX;
                let mut inside = false;
                for i in 0..n {
                    let (a, b) = (pts[i], pts[(i + 1) % n]);
                    let (e, w) = ([b[0] - a[0], b[1] - a[1]], [p[0] - a[0], p[1] - a[1]]);
                    let h = ((w[0] * e[0] + w[1] * e[1]) / (e[0] * e[0] + e[1] * e[1])).clamp(0.0, 1.0);
                    d = d.min((w[0] - e[0] * h).hypot(w[1] - e[1] * h));
                    if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * e[0] {
                        inside = !inside;
                    }
                }
                if inside { -d } else { d }
            }
        }
    }

    /// Fraction of the pixel whose centre is p covered by the shape.
    #[inline]
    pub(super) fn coverage(&self, p: [f64; 2]) -> f64 {
        (0.5 - self.sdf(p)).clamp(0.0, 1.0)
    }
}

fn polar(c: [f64; 2], r: f64, deg: f64) -> [f64; 2] {
    let a = deg.to_radians();
    [c[0] + r * a.cos(), c[1] + r * a.sin()]
}

/// ∫₀ᵘ of the parity of ⌊s⌋ (1 on odd cells): the box filter of a checkerboard axis.
fn odd_integral(u: f64) -> f64 {
    let whole = (u / 2.0).floor();
    whole + ((u - 2.0 * whole) - 1.0).max(0.0)
}

pub(super) fn noise_value(seed: u64, ix: i64, iy: i64) -> f64 {
    let mut h =
        seed ^ (ix as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (iy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

pub(super) fn mix(a: [f64; 3], b: [f64; 3], u: f64) -> [f64; 3] {
    [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u]
}

pub(super) fn rgb(c: Color) -> [f64; 3] {
    c.rgb().map(f64::from)
}

fn background(bg: &Background, view: &View, x: f64, y: f64) -> [f64; 3] {
    match bg {
        Background::Solid { color } => rgb(*color),
        Background::Gradient { from, to } => {
            let w = view.px_to_world(x + 0.5, y + 0.5);
            mix(rgb(*from), rgb(*to), w[1].clamp(0.0, 1.0))
        }
        Background::Checker { cells, a, b } => {
            let n = f64::from(*cells);
            let (w0, w1) = (view.px_to_world(x, y), view.px_to_world(x + 1.0, y + 1.0));
            let (u0, u1, v0, v1) = (w0[0] * n, w1[0] * n, w0[1] * n, w1[1] * n);
            let fx = (odd_integral(u1) - odd_integral(u0)) / (u1 - u0);
            let fy = (odd_integral(v1) - odd_integral(v0)) / (v1 - v0);
            // Cells where exactly one axis is odd take colour b.
            mix(rgb(*a), rgb(*b), fx * (1.0 - fy) + (1.0 - fx) * fy)
        }
        Background::Noise { seed, scale } => {
            // Three octaves of value noise: detail at every scale, so camera motion is visible
            // and trackable even on a small frame.
            let w = view.px_to_world(x + 0.5, y + 0.5);
            let mut level = 0.0;
            for (octave, weight) in [(1.0, 0.5), (2.0, 0.3), (4.0, 0.2)] {
                let s = scale.max(1e-3) / octave;
                let (gx, gy) = (w[0] / s, w[1] / s);
                let (ix, iy) = (gx.floor() as i64, gy.floor() as i64);
                let (fx, fy) = (gx - gx.floor(), gy - gy.floor());
                let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
                let oseed = seed.wrapping_add(octave as u64);
                let v = |i, j| noise_value(oseed, ix + i, iy + j);
                let top = v(0, 0) + (v(1, 0) - v(0, 0)) * sx;
                let bottom = v(0, 1) + (v(1, 1) - v(0, 1)) * sx;
                level += weight * (top + (bottom - top) * sy);
            }
            let level = 60.0 + 180.0 * level;
            [level, level * 0.95, level * 0.85]
        }
    }
}

/// Something drawn, in order, with its colour and (for objects) its index.
pub(super) struct Item {
    pub(super) prim: Prim,
    pub(super) color: [f64; 3],
    pub(super) object: Option<usize>,
}

/// Renders the scene at `settings`; also returns ground truth when `with_truth`.
pub fn render(scene: &Scene, settings: &Settings, with_truth: bool) -> (Video, Option<Truth>) {
    let aspect = settings.aspect();
    let sim = Simulation::run(scene, aspect, settings.duration());
    render_sim(scene, &sim, settings, with_truth)
}

pub fn render_sim(scene: &Scene, sim: &Simulation, settings: &Settings, with_truth: bool) -> (Video, Option<Truth>) {
    match scene.style {
        Style::Flat => render_flat(scene, sim, settings, with_truth),
        Style::Photo => super::photo::render(scene, sim, settings, with_truth, None),
    }
}

/// The bodies' states at every frame time (trails are drawn from them).
pub(super) fn frame_states(sim: &Simulation, settings: &Settings) -> (Vec<f64>, Vec<Vec<Body>>) {
    let times: Vec<f64> = (0..settings.frames).map(|k| f64::from(k) / settings.fps).collect();
    let states = times.iter().map(|&t| sim.state_at(t)).collect();
    (times, states)
}

/// What is drawn in frame `k`, in draw order, with the objects at `bodies` (their state at the
/// frame's time, or at an instant of its exposure): paint trails up to the frame, background-
/// layer and midground objects, occluders at time `t`, foreground objects.
pub(super) fn frame_items(
    scene: &Scene,
    sim: &Simulation,
    view: &View,
    states: &[Vec<Body>],
    k: usize,
    bodies: &[Body],
    t: f64,
) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    for (i, _) in scene.objects.iter().enumerate().filter(|(_, o)| o.trail) {
        let r = sim.radii[i] * 0.35 * view.cam.zoom * view.h;
        for j in 1..=k {
            let (a, b) = (view.to_px(states[j - 1][i].pos, 1.0), view.to_px(states[j][i].pos, 1.0));
            items.push(Item { prim: Prim::Capsule { a, b, r }, color: rgb(states[j][i].color), object: None });
        }
    }
    let object_item = |i: usize| {
        let f = layer_factor(sim.layers[i]);
        let c = view.to_px(bodies[i].pos, f);
        let r = sim.radii[i] * view.cam.zoom * view.h;
        Item { prim: Prim::of(bodies[i].shape, c, r), color: rgb(bodies[i].color), object: Some(i) }
    };
    for layer in [Layer::Background, Layer::Midground] {
        items.extend((0..bodies.len()).filter(|&i| sim.layers[i] == layer).map(object_item));
    }
    let aspect = view.aspect;
    for o in &scene.occluders {
        let c = view.to_px([(o.pos[0] + o.vel[0] * t / aspect) * aspect, o.pos[1] + o.vel[1] * t], 1.0);
        let half = [o.size[0] / 2.0 * view.cam.zoom * view.h, o.size[1] / 2.0 * view.cam.zoom * view.h];
        items.push(Item { prim: Prim::Rect { c, half }, color: rgb(o.color), object: None });
    }
    items.extend((0..bodies.len()).filter(|&i| sim.layers[i] == Layer::Foreground).map(object_item));
    items
}

/// The pixel range `[x0, x1) × [y0, y1)` a primitive can touch, clipped to the frame.
pub(super) fn pixel_range(prim: &Prim, w: usize, h: usize) -> (usize, usize, usize, usize) {
    let b = prim.bbox();
    let (x0, y0) = ((b[0] - 1.0).floor().max(0.0) as usize, (b[1] - 1.0).floor().max(0.0) as usize);
    let (x1, y1) =
        ((b[2] + 1.0).ceil().min(w as f64).max(0.0) as usize, (b[3] + 1.0).ceil().min(h as f64).max(0.0) as usize);
    (x0.min(x1), y0.min(y1), x1, y1)
}

/// Builds the clip's video from its frames (settings come from validated inputs: sizes are
/// positive and the buffer whole) and its truth.
pub(super) fn finish(
    settings: &Settings,
    sim: &Simulation,
    data: Vec<u8>,
    frames_truth: Vec<FrameTruth>,
    with_truth: bool,
) -> (Video, Option<Truth>) {
    let video = Video::new(settings.width, settings.height, settings.fps, data)
        .unwrap_or_else(|e| panic!("world::render: {e}"));
    let truth = with_truth.then(|| Truth {
        schema: TRUTH_SCHEMA.into(),
        settings: *settings,
        frames: frames_truth,
        events: sim.events.clone(),
    });
    (video, truth)
}

fn render_flat(scene: &Scene, sim: &Simulation, settings: &Settings, with_truth: bool) -> (Video, Option<Truth>) {
    let (w, h) = (settings.width as usize, settings.height as usize);
    let aspect = settings.aspect();
    let home = [aspect / 2.0, 0.5];
    let mut data = Vec::with_capacity(settings.frames as usize * w * h * 3);
    let mut frames_truth = Vec::new();
    let (times, states) = frame_states(sim, settings);
    let mut buf = vec![[0.0f64; 3]; w * h];
    for (k, &t) in times.iter().enumerate() {
        let view = View { aspect, h: settings.height as f64, home, cam: camera_at(scene, aspect, t) };
        for y in 0..h {
            for x in 0..w {
                buf[y * w + x] = background(&scene.background, &view, x as f64, y as f64);
            }
        }
        let items = frame_items(scene, sim, &view, &states, k, &states[k], t);
        for item in &items {
            let (x0, y0, x1, y1) = pixel_range(&item.prim, w, h);
            for y in y0..y1 {
                for x in x0..x1 {
                    let cov = item.prim.coverage([x as f64 + 0.5, y as f64 + 0.5]);
                    if cov > 0.0 {
                        buf[y * w + x] = mix(buf[y * w + x], item.color, cov);
                    }
                }
            }
        }
        data.extend(buf.iter().flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8)));
        if with_truth {
            frames_truth.push(frame_truth(scene, sim, &states[k], &items, &view, t, w, h));
        }
    }
    finish(settings, sim, data, frames_truth, with_truth)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn frame_truth(
    scene: &Scene,
    sim: &Simulation,
    bodies: &[Body],
    items: &[Item],
    view: &View,
    t: f64,
    w: usize,
    h: usize,
) -> FrameTruth {
    let mut objects = Vec::new();
    for (pos, item) in items.iter().enumerate() {
        let Some(i) = item.object else { continue };
        let b = item.prim.bbox();
        let center = view.to_px(bodies[i].pos, layer_factor(sim.layers[i]));
        let (mut in_canvas, mut visible) = (0.0, 0.0);
        let (x0, y0, x1, y1) = pixel_range(&item.prim, w, h);
        for y in y0..y1 {
            for x in x0..x1 {
                let p = [x as f64 + 0.5, y as f64 + 0.5];
                let cov = item.prim.coverage(p);
                if cov == 0.0 {
                    continue;
                }
                in_canvas += cov;
                let through: f64 = items[pos + 1..].iter().map(|later| 1.0 - later.prim.coverage(p)).product();
                visible += cov * through;
            }
        }
        let area = item.prim.area().max(1e-9);
        objects.push(ObjectTruth {
            id: sim.ids[i].clone(),
            center,
            bbox: b,
            visible_fraction: (visible / area).min(1.0),
            in_frame: center[0] >= 0.0 && center[1] >= 0.0 && center[0] < w as f64 && center[1] < h as f64,
            occluded: in_canvas > 0.0 && visible < 0.95 * in_canvas,
            color: bodies[i].color,
            shape: bodies[i].shape,
            moving: bodies[i].dynamic
                && (bodies[i].vel[0] != 0.0 || bodies[i].vel[1] != 0.0 || (!bodies[i].resting && sim.gravity != 0.0)),
        });
    }
    objects.sort_by_key(|o| scene.objects.iter().position(|s| s.id == o.id));
    FrameTruth { t, camera: view.cam, objects }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::spec::{Object, Occluder};

    fn ball(color: Color, pos: [f64; 2], vel: [f64; 2]) -> Object {
        Object {
            id: color.name().into(),
            shape: Shape::Circle,
            color,
            size: 0.2,
            pos,
            vel,
            mass: 1.0,
            restitution: 0.7,
            fixed: false,
            layer: Layer::Midground,
            trail: false,
        }
    }

    fn plain(objects: Vec<Object>, gravity: f64, floor: bool) -> Scene {
        Scene {
            background: Background::Solid { color: Color::White },
            objects,
            gravity,
            floor,
            walls: false,
            occluders: vec![],
            camera: Default::default(),
            events: vec![],
            cuts: vec![],
            style: Default::default(),
            photo: None,
        }
    }

    /// Coverage-weighted centroid and second moments of a red object on white, from the green
    /// channel (white 245 → red 40).
    fn moments(v: &Video, t: usize) -> ([f64; 2], [f64; 2]) {
        let (w, _) = (v.width() as usize, v.height() as usize);
        let (mut s, mut sx, mut sy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, px) in v.frame(t).chunks_exact(3).enumerate() {
            let cov = ((245.0 - f64::from(px[1])) / 205.0).clamp(0.0, 1.0);
            let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
            s += cov;
            sx += cov * x;
            sy += cov * y;
            sxx += cov * x * x;
            syy += cov * y * y;
        }
        let (mx, my) = (sx / s, sy / s);
        ([mx, my], [sxx / s - mx * mx, syy / s - my * my])
    }

    #[test]
    fn a_dropped_ball_follows_the_parabola_within_half_a_pixel() {
        for size in [64u32, 256] {
            let settings = Settings { width: size, height: size, fps: 10.0, frames: 6 };
            let scene = plain(vec![ball(Color::Red, [0.5, 0.2], [0.0, 0.0])], 2.0, false);
            let (v, _) = render(&scene, &settings, false);
            for t in 0..6 {
                let time = t as f64 / 10.0;
                let want = (0.2 + time * time) * f64::from(size);
                let (c, _) = moments(&v, t);
                assert!((c[1] - want).abs() < 0.5, "{size}px frame {t}: centroid y {} vs {want}", c[1]);
                assert!((c[0] - 0.5 * f64::from(size)).abs() < 0.5);
            }
        }
    }

    #[test]
    fn rebound_apex_follows_the_restitution_law_in_pixels() {
        // Drop from 0.2 (r = 0.1): floor contact at t = sqrt(0.7); apex e²·0.7 above contact.
        let settings = Settings { width: 128, height: 128, fps: 1000.0, frames: 1 };
        let scene = plain(vec![ball(Color::Red, [0.5, 0.2], [0.0, 0.0])], 2.0, true);
        let sim = Simulation::run(&scene, 1.0, 3.0);
        let t_apex = 0.7f64.sqrt() * (1.0 + 0.7);
        let state = sim.state_at(t_apex);
        let one = Simulation { segments: vec![(0.0, state.clone())], duration: 1.0, gravity: 0.0, ..sim.clone() };
        let (v, _) = render_sim(&scene, &one, &settings, false);
        let (c, _) = moments(&v, 0);
        let want = (0.9 - 0.49 * 0.7) * 128.0;
        assert!((c[1] - want).abs() < 0.5, "{} vs {want}", c[1]);
    }

    #[test]
    fn circles_stay_circular_at_any_aspect_ratio() {
        for (w, h) in [(112u32, 63u32), (63, 112), (80, 80), (147, 63)] {
            let settings = Settings { width: w, height: h, fps: 8.0, frames: 1 };
            let (v, _) = render(&plain(vec![ball(Color::Red, [0.5, 0.5], [0.0, 0.0])], 0.0, false), &settings, false);
            let (_, var) = moments(&v, 0);
            let ratio = (var[0] / var[1]).sqrt();
            assert!((ratio - 1.0).abs() < 0.02, "{w}x{h}: measured aspect {ratio}");
            // Diameter 0.2 of the height: the variance of a uniform disc is r²/4.
            let r = 0.1 * f64::from(h);
            assert!((var[1].sqrt() / (r / 2.0) - 1.0).abs() < 0.05, "{w}x{h}");
        }
    }

    #[test]
    fn an_occluded_object_is_hidden_and_marked_so() {
        let mut scene = plain(vec![ball(Color::Red, [0.1, 0.5], [0.8, 0.0])], 0.0, false);
        scene.occluders.push(Occluder { pos: [0.5, 0.5], size: [0.4, 0.6], color: Color::Gray, vel: [0.0, 0.0] });
        let settings = Settings { width: 64, height: 64, fps: 10.0, frames: 10 };
        let (v, truth) = render(&scene, &settings, true);
        let truth = truth.unwrap();
        // At t = 0.5 s the ball's centre is at x = 0.5: fully behind the 0.4-wide wall.
        let f = &truth.frames[5].objects[0];
        assert!(f.occluded && f.visible_fraction < 0.01 && f.in_frame, "{f:?}");
        let red = v.frame(5).chunks_exact(3).filter(|p| p[0] > 150 && p[1] < 100).count();
        assert_eq!(red, 0, "red pixels visible while occluded");
        let first = &truth.frames[0].objects[0];
        assert!(!first.occluded && first.visible_fraction > 0.95, "{first:?}");
    }

    #[test]
    fn rendering_is_deterministic_and_textures_follow_their_seed() {
        let mut scene = plain(vec![ball(Color::Blue, [0.3, 0.3], [0.4, 0.1])], 1.0, true);
        scene.background = Background::Noise { seed: 1, scale: 0.1 };
        let settings = Settings { width: 48, height: 32, fps: 8.0, frames: 5 };
        let (a, ta) = render(&scene, &settings, true);
        let (b, tb) = render(&scene, &settings, true);
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_eq!(ta, tb);
        scene.background = Background::Noise { seed: 2, scale: 0.1 };
        assert_ne!(render(&scene, &settings, false).0.as_bytes(), a.as_bytes());
    }

    #[test]
    fn a_pan_moves_the_background_against_the_camera() {
        let mut scene = plain(vec![], 0.0, false);
        scene.background = Background::Checker { cells: 4, a: Color::Black, b: Color::White };
        scene.camera = crate::world::spec::Camera { motion: CameraMotion::PanRight, speed: 0.25, ..Default::default() };
        let settings = Settings { width: 64, height: 64, fps: 4.0, frames: 2 };
        let (v, _) = render(&scene, &settings, false);
        // In 0.25 s the camera moves 0.0625 canvas widths = 4 px right: content moves 4 px left.
        let (f0, f1) = (v.frame(0), v.frame(1));
        for y in 0..64 {
            for x in 0..60 {
                assert_eq!(f1[(y * 64 + x) * 3], f0[(y * 64 + x + 4) * 3], "pixel ({x}, {y})");
            }
        }
    }
}
