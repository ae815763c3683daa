//! The photo style: the same scenes and the same ground truth as the flat style, drawn the way a
//! camera sees a photoreal scene, so that probes are checked against what photoreal generators
//! draw. Objects are shaded solids (Lambert diffuse and a Blinn–Phong highlight on a normal read
//! from the shape's signed distance: a sphere for circles, a rounded bevel for the others) that
//! cast soft shadows on the setting behind them and, over a floor, a contact shadow that darkens
//! as they come down to it. The setting is a procedural texture (wood, brick, tiles, fabric, sky,
//! plaster; value noise at several scales) or a photograph. The light's intensity and direction
//! drift, the camera shakes (the shake is part of the truth's camera pose), every frame is
//! exposed for its exposure time (a 180° shutter at 24 fps by default) along the exact trajectory (motion blur), and
//! sensor noise and a lens vignette finish the frame. H.264 at the scene's CRF is applied where
//! the clip is written as .mp4.
//!
//! Everything is a function of the scene, its `photo.seed`, the frame and the pixel: the same
//! scene renders to the same bytes.

use videval_metrics::Video;

use super::render::{
    CameraPose, FrameTruth, Item, Prim, Settings, Truth, View, camera_at, frame_items, frame_states, frame_truth,
    layer_factor, mix, noise_value, pixel_range,
};
use super::sim::{Body, Simulation};
use super::spec::{Layer, Photo, Scene, Setting};

/// A photograph a setting is replaced by: RGB, row-major, 8 bits per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Backdrop {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Backdrop {
    /// A photograph from its pixels; `None` unless `data` holds exactly `width × height` RGB pixels.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Option<Backdrop> {
        (width > 0 && height > 0 && data.len() == width * height * 3).then_some(Backdrop { width, height, data })
    }

    /// The colour at a world point: the photograph spans 1.3 canvas heights around the canvas
    /// centre and is mirrored beyond its edges, so pans and zooms always find picture.
    fn at(&self, p: [f64; 2], aspect: f64) -> [f64; 3] {
        let scale = self.height as f64 / 1.3;
        let fx = (p[0] - aspect / 2.0) * scale + self.width as f64 / 2.0 - 0.5;
        let fy = (p[1] - 0.5) * scale + self.height as f64 / 2.0 - 0.5;
        let reflect = |v: i64, n: usize| {
            let n = n as i64;
            let m = v.rem_euclid(2 * n);
            (if m < n { m } else { 2 * n - 1 - m }) as usize
        };
        let (x0, y0) = (fx.floor(), fy.floor());
        let (ux, uy) = (fx - x0, fy - y0);
        let px = |dx: i64, dy: i64| {
            // Saturating: a camera far out (a long zoom-out) puts points past what an i64 holds.
            let (x, y) = (
                reflect((x0 as i64).saturating_add(dx), self.width),
                reflect((y0 as i64).saturating_add(dy), self.height),
            );
            let i = (y * self.width + x) * 3;
            [f64::from(self.data[i]), f64::from(self.data[i + 1]), f64::from(self.data[i + 2])]
        };
        mix(mix(px(0, 0), px(1, 0), ux), mix(px(0, 1), px(1, 1), ux), uy)
    }
}

/// Exposure instants per frame (odd: the middle one is the frame's time, where truth is taken).
const EXPOSURES: usize = 5;
/// Light that reaches the side facing away from it, as a fraction of the albedo.
const AMBIENT: f64 = 0.4;
const DIFFUSE: f64 = 0.65;
/// Darkening under an object's drop shadow, and how far behind the setting each layer stands
/// (canvas heights: the shadow's offset along the light).
const SHADOW: f64 = 0.4;

/// Seeds for the independent random streams of a look.
const SHAKE_STREAM: u64 = 0x5348_414b;
const LIGHT_STREAM: u64 = 0x4c49_4748;
const NOISE_STREAM: u64 = 0x4e4f_4953;
const TEXTURE_STREAM: u64 = 0x5445_5854;

/// An independent, well-mixed seed for one random stream of a look (SplitMix64's finaliser:
/// consecutive scene seeds give unrelated streams).
fn stream(seed: u64, tag: u64) -> u64 {
    let mut z = seed.wrapping_add(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for _ in 0..2 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// The setting `auto` resolves to for a seed.
pub fn setting_for(photo: &Photo) -> Setting {
    match photo.setting {
        Setting::Auto => {
            let k = (noise_value(stream(photo.seed, TEXTURE_STREAM), 7, 11) * Setting::CHOICES.len() as f64) as usize;
            Setting::CHOICES[k.min(Setting::CHOICES.len() - 1)]
        }
        s => s,
    }
}

/// The light at time `t`: unit direction towards the light (screen axes, y down, z towards the
/// viewer) and intensity.
fn light_at(photo: &Photo, t: f64) -> ([f64; 3], f64) {
    let light = stream(photo.seed, LIGHT_STREAM);
    let (a, b) = (noise_value(light, 0, 0), noise_value(light, 1, 0));
    let tau = std::f64::consts::TAU;
    let intensity = 1.0 + photo.light_drift * (tau * (t / 4.0 + a)).sin();
    // From the upper left, swinging by up to ±0.25 rad.
    let swing = 0.25 * (photo.light_drift / 0.1).min(1.0);
    let az = -2.2 + (0.6 * a - 0.3) + swing * (tau * (t / 6.0 + b)).sin();
    let d = [0.6 * az.cos(), 0.6 * az.sin(), 0.8];
    (d, intensity)
}

/// The camera at `t` with its shake: a smooth sum of two sinusoids per axis, `shake` canvas
/// heights on screen whatever the zoom.
fn shaken_camera(scene: &Scene, photo: &Photo, aspect: f64, t: f64) -> CameraPose {
    let mut cam = camera_at(scene, aspect, t);
    let tau = std::f64::consts::TAU;
    let shake = stream(photo.seed, SHAKE_STREAM);
    let phase = |k: i64| tau * noise_value(shake, k, 0);
    let dx = ((tau * 1.3 * t + phase(0)).sin() + 0.5 * (tau * 3.1 * t + phase(1)).sin()) / 1.5;
    let dy = ((tau * 1.7 * t + phase(2)).sin() + 0.5 * (tau * 2.9 * t + phase(3)).sin()) / 1.5;
    cam.center[0] += photo.shake * dx / cam.zoom;
    cam.center[1] += photo.shake * dy / cam.zoom;
    cam
}

/// Smooth value noise in [0, 1) at a point, one octave.
fn value_noise(seed: u64, x: f64, y: f64) -> f64 {
    let (ix, iy) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x.floor(), y - y.floor());
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let v = |i: i64, j: i64| noise_value(seed, ix.wrapping_add(i), iy.wrapping_add(j));
    let top = v(0, 0) + (v(1, 0) - v(0, 0)) * sx;
    let bottom = v(0, 1) + (v(1, 1) - v(0, 1)) * sx;
    top + (bottom - top) * sy
}

/// Fractal value noise in [0, 1): `octaves` octaves, each twice the frequency and half the weight.
fn fbm(seed: u64, x: f64, y: f64, octaves: u32) -> f64 {
    let (mut sum, mut weight, mut total, mut f) = (0.0, 0.5, 0.0, 1.0);
    for o in 0..octaves {
        sum += weight * value_noise(seed.wrapping_add(u64::from(o)), x * f, y * f);
        total += weight;
        weight *= 0.5;
        f *= 2.0;
    }
    sum / total
}

/// 1 on a line of the pattern, 0 away from it: `dist` from the line in world units, the line
/// `width` world units wide, anti-aliased over a pixel (`px` pixels per world unit).
fn line(dist: f64, width: f64, px: f64) -> f64 {
    let half = (width * px / 2.0).max(0.5);
    (half + 0.5 - dist * px).clamp(0.0, 1.0)
}

fn scale(c: [f64; 3], k: f64) -> [f64; 3] {
    c.map(|v| v * k)
}

/// The setting's colour at world point `p` (8-bit scale), `px` pixels per world unit.
fn setting_color(setting: Setting, seed: u64, p: [f64; 2], px: f64) -> [f64; 3] {
    let s = stream(seed, TEXTURE_STREAM);
    let h = |a: i64, b: i64| noise_value(s, a, b);
    match setting {
        // Horizontal planks of a table or floor, each its own tone, with grain and seams.
        Setting::Wood | Setting::Auto => {
            let plank = 0.14;
            let row = (p[1] / plank).floor();
            let v = p[1] / plank - row;
            let tone = 0.85 + 0.3 * h(row as i64, 0);
            let grain = fbm(s, (p[0] + 3.0 * h(row as i64, 1)) * 2.0, p[1] * 30.0, 3);
            let rings = 0.5 + 0.5 * (std::f64::consts::TAU * (4.0 * grain + 25.0 * p[1])).sin();
            // Fibres and pores: fine detail along and across the grain.
            let fibre = fbm(s ^ 1, p[0] * 40.0, p[1] * 160.0, 2) - 0.5;
            let wood = scale([160.0, 120.0, 88.0], tone * (0.82 + 0.18 * rings) * (1.0 + 0.25 * fibre));
            // Butt joints where one board ends and the next begins, staggered row by row.
            let board = 0.9 + 0.5 * h(row as i64, 2);
            let along = (p[0] / board + h(row as i64, 3)).rem_euclid(1.0) * board;
            let joint = line(along.min(board - along), 0.004, px);
            let seam = line(v.min(1.0 - v) * plank, 0.004, px).max(joint);
            scale(wood, 1.0 - 0.45 * seam)
        }
        // Running-bond brick with light mortar.
        Setting::Brick => {
            let (bh, bw) = (0.075, 0.2);
            let row = (p[1] / bh).floor();
            let xo = p[0] + if (row as i64).rem_euclid(2) == 1 { bw / 2.0 } else { 0.0 };
            let col = (xo / bw).floor();
            let (u, v) = (xo / bw - col, p[1] / bh - row);
            let d = (u.min(1.0 - u) * bw).min(v.min(1.0 - v) * bh);
            let tone = 0.85 + 0.3 * h(row as i64, col as i64) * (0.9 + 0.1 * fbm(s, p[0] * 40.0, p[1] * 40.0, 2));
            mix(scale([148.0, 86.0, 70.0], tone), [178.0, 172.0, 160.0], line(d, 0.008, px))
        }
        // Pale ceramic tiles with gray grout.
        Setting::Tiles => {
            let t = 0.11;
            let (cx, cy) = ((p[0] / t).floor(), (p[1] / t).floor());
            let (u, v) = (p[0] / t - cx, p[1] / t - cy);
            let d = (u.min(1.0 - u)).min(v.min(1.0 - v)) * t;
            let tone = 0.92 + 0.1 * h(cx as i64, cy as i64) + 0.04 * (fbm(s, p[0] * 8.0, p[1] * 8.0, 3) - 0.5);
            mix(scale([205.0, 208.0, 212.0], tone), [138.0, 136.0, 130.0], line(d, 0.006, px))
        }
        // A woven cloth in a muted colour of the seed, with folds.
        Setting::Fabric => {
            let hue = h(3, 5) * std::f64::consts::TAU;
            let tint =
                [170.0 + 25.0 * hue.cos(), 170.0 + 25.0 * (hue - 2.094).cos(), 170.0 + 25.0 * (hue + 2.094).cos()];
            let tau = std::f64::consts::TAU;
            let weave = 0.5 + 0.5 * (tau * 40.0 * p[0]).sin() * (tau * 40.0 * p[1]).sin();
            let folds = fbm(s, p[0] * 3.0, p[1] * 3.0, 4);
            // Slubs and lint: irregular detail the regular weave does not dominate.
            let slub = fbm(s ^ 1, p[0] * 45.0, p[1] * 45.0, 2) - 0.5;
            scale(tint, (0.75 + 0.35 * folds) * (0.95 + 0.05 * weave) * (1.0 + 0.3 * slub))
        }
        // Blue sky, paler towards the horizon, with clouds at several scales.
        Setting::Sky => {
            let blue = mix([112.0, 158.0, 212.0], [200.0, 218.0, 236.0], p[1].clamp(-0.5, 1.5) * 0.5 + 0.25);
            let c = fbm(s, p[0] * 2.5, p[1] * 5.0, 5);
            let cloud = ((c - 0.45) / 0.25).clamp(0.0, 1.0);
            mix(blue, [240.0, 241.0, 244.0], cloud * cloud * (3.0 - 2.0 * cloud) * 0.9)
        }
        // A warm plaster wall: value noise at several scales.
        Setting::Plaster => {
            let n = fbm(s, p[0] * 6.0, p[1] * 6.0, 5);
            // The trowel's marks and the sand in the plaster: detail down to a few pixels.
            let grit = fbm(s ^ 1, p[0] * 60.0, p[1] * 60.0, 2) - 0.5;
            scale([196.0, 184.0, 166.0], (0.7 + 0.45 * n) * (1.0 + 0.22 * grit))
        }
    }
}

/// An object's or occluder's shaded colour at pixel `p` (at signed distance `d` inside it), with the normal read from the signed
/// distance (a sphere for a circle, a rounded bevel of `bevel` pixels for other shapes).
fn shaded(prim: &Prim, d: f64, albedo: [f64; 3], p: [f64; 2], light: ([f64; 3], f64), shine: f64) -> [f64; 3] {
    let (g, bevel) = match prim {
        Prim::Circle { c, r } => {
            let (dx, dy) = (p[0] - c[0], p[1] - c[1]);
            let n = dx.hypot(dy).max(1e-9);
            ([dx / n, dy / n], *r)
        }
        _ => {
            let e = 0.25;
            let gx = prim.sdf([p[0] + e, p[1]]) - prim.sdf([p[0] - e, p[1]]);
            let gy = prim.sdf([p[0], p[1] + e]) - prim.sdf([p[0], p[1] - e]);
            let n = gx.hypot(gy).max(1e-9);
            let b = prim.bbox();
            ([gx / n, gy / n], (0.15 * (b[2] - b[0]).min(b[3] - b[1])).max(1.0))
        }
    };
    let q = 1.0 - (-d / bevel).clamp(0.0, 1.0);
    let n = [g[0] * q, g[1] * q, (1.0 - q * q).max(0.0).sqrt()];
    let (l, intensity) = light;
    let ndl = n[0] * l[0] + n[1] * l[1] + n[2] * l[2];
    let half = {
        let hv = [l[0], l[1], l[2] + 1.0];
        let m = (hv[0] * hv[0] + hv[1] * hv[1] + hv[2] * hv[2]).sqrt();
        hv.map(|v| v / m)
    };
    let ndh = (n[0] * half[0] + n[1] * half[1] + n[2] * half[2]).max(0.0);
    let spec = if ndl > 0.0 { shine * 255.0 * ndh.powi(60) } else { 0.0 };
    albedo.map(|a| intensity * (255.0 * a * (AMBIENT + DIFFUSE * ndl.max(0.0)) + spec))
}

/// How far an item stands in front of the setting (canvas heights), by what it is.
fn depth(item: &Item, sim: &Simulation) -> f64 {
    match item.object {
        Some(i) => 0.04 * layer_factor(sim.layers[i]),
        None => 0.05,
    }
}

/// Renders a photo-style clip; a `backdrop` photograph replaces the procedural setting.
pub fn render(
    scene: &Scene,
    sim: &Simulation,
    settings: &Settings,
    with_truth: bool,
    backdrop: Option<&Backdrop>,
) -> (Video, Option<Truth>) {
    let photo = scene.photo.clone().unwrap_or_default();
    let setting = setting_for(&photo);
    let (w, h) = (settings.width as usize, settings.height as usize);
    let aspect = settings.aspect();
    let home = [aspect / 2.0, 0.5];
    let (times, states) = frame_states(sim, settings);
    let mut data = Vec::with_capacity(settings.frames as usize * w * h * 3);
    let mut frames_truth: Vec<FrameTruth> = Vec::new();
    let exposure = photo.exposure.min(1.0 / settings.fps);
    let exposures = if exposure > 0.0 { EXPOSURES } else { 1 };
    let mut base = vec![[0.0f64; 3]; w * h];
    let mut acc = vec![[0.0f64; 3]; w * h];
    for (k, &t) in times.iter().enumerate() {
        let view = View { aspect, h: settings.height as f64, home, cam: shaken_camera(scene, &photo, aspect, t) };
        let light = light_at(&photo, t);
        let px = view.h * view.cam.zoom;
        for y in 0..h {
            for x in 0..w {
                let p = view.px_to_world(x as f64 + 0.5, y as f64 + 0.5);
                let c = match backdrop {
                    Some(b) => b.at(p, aspect),
                    None => setting_color(setting, photo.seed, p, px),
                };
                base[y * w + x] = scale(c, light.1);
            }
        }
        // Paint trails are on the setting: drawn once, lit like it.
        let centre_items = frame_items(scene, sim, &view, &states, k, &states[k], t);
        for item in centre_items.iter().filter(|i| matches!(i.prim, Prim::Capsule { .. })) {
            let (x0, y0, x1, y1) = pixel_range(&item.prim, w, h);
            for y in y0..y1 {
                for x in x0..x1 {
                    let cov = item.prim.coverage([x as f64 + 0.5, y as f64 + 0.5]);
                    if cov > 0.0 {
                        base[y * w + x] = mix(base[y * w + x], scale(item.color, light.1 * 0.9), cov);
                    }
                }
            }
        }
        acc.iter_mut().for_each(|a| *a = [0.0; 3]);
        for e in 0..exposures {
            let te = if exposures == 1 { t } else { t + (e as f64 / (exposures - 1) as f64 - 0.5) * exposure };
            // The bodies at this instant of the exposure (the frame's own at its middle).
            let moved = (te != t).then(|| sim.state_at(te));
            let bodies = moved.as_deref().unwrap_or(&states[k]);
            let items = moved.as_ref().map(|_| frame_items(scene, sim, &view, &states, k, bodies, te));
            let items = items.as_ref().unwrap_or(&centre_items);
            let mut buf = base.clone();
            shadows(scene, sim, &view, items, bodies, light.0, &mut buf, w, h);
            for item in items.iter().filter(|i| !matches!(i.prim, Prim::Capsule { .. })) {
                let shine = if item.object.is_some() { 0.35 } else { 0.08 };
                let albedo = item.color.map(|v| v / 255.0);
                let (x0, y0, x1, y1) = pixel_range(&item.prim, w, h);
                for y in y0..y1 {
                    for x in x0..x1 {
                        let p = [x as f64 + 0.5, y as f64 + 0.5];
                        let d = item.prim.sdf(p);
                        let cov = (0.5 - d).clamp(0.0, 1.0);
                        if cov > 0.0 {
                            buf[y * w + x] = mix(buf[y * w + x], shaded(&item.prim, d, albedo, p, light, shine), cov);
                        }
                    }
                }
            }
            for (a, b) in acc.iter_mut().zip(&buf) {
                *a = [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
            }
        }
        let n = exposures as f64;
        let (cx, cy, rr) = (w as f64 / 2.0, h as f64 / 2.0, (w * w + h * h) as f64 / 4.0);
        let noise_seed = stream(photo.seed ^ (k as u64).wrapping_mul(0xD1B5_4A32_D192_ED03), NOISE_STREAM);
        for (i, a) in acc.iter().enumerate() {
            let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
            let vignette = 1.0 - 0.18 * ((x - cx).powi(2) + (y - cy).powi(2)) / rr;
            for (c, v) in a.iter().enumerate() {
                let z = gaussian(noise_seed, i as i64, c as i64);
                data.push((v / n * vignette + photo.noise * z).round().clamp(0.0, 255.0) as u8);
            }
        }
        if with_truth {
            frames_truth.push(frame_truth(scene, sim, &states[k], &centre_items, &view, t, w, h));
        }
    }
    super::render::finish(settings, sim, data, frames_truth, with_truth)
}

/// A standard normal deviate from a hash (Box–Muller on two hashed uniforms).
fn gaussian(seed: u64, i: i64, c: i64) -> f64 {
    let u1 = noise_value(seed, i, c).max(1e-12);
    let u2 = noise_value(stream(seed, 1), i, c);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Darkens the setting under every object's and occluder's drop shadow (cast along the light,
/// by how far the item stands in front) and, over a floor, under each object's contact shadow.
#[allow(clippy::too_many_arguments)]
fn shadows(
    scene: &Scene,
    sim: &Simulation,
    view: &View,
    items: &[Item],
    bodies: &[Body],
    light: [f64; 3],
    buf: &mut [[f64; 3]],
    w: usize,
    h: usize,
) {
    let px = view.h * view.cam.zoom;
    for item in items.iter().filter(|i| !matches!(i.prim, Prim::Capsule { .. })) {
        let reach = depth(item, sim) * px;
        let off = [-light[0] / light[2] * reach, -light[1] / light[2] * reach];
        let soft = 0.3 * reach + 0.5;
        let b = item.prim.bbox();
        let grown = [b[0] + off[0] - soft, b[1] + off[1] - soft, b[2] + off[0] + soft, b[3] + off[1] + soft];
        let (x0, y0) = (grown[0].floor().max(0.0) as usize, grown[1].floor().max(0.0) as usize);
        let (x1, y1) = (grown[2].ceil().clamp(0.0, w as f64) as usize, grown[3].ceil().clamp(0.0, h as f64) as usize);
        for y in y0..y1 {
            for x in x0..x1 {
                let d = item.prim.sdf([x as f64 + 0.5 - off[0], y as f64 + 0.5 - off[1]]);
                let cov = (0.5 - d / (2.0 * soft)).clamp(0.0, 1.0);
                if cov > 0.0 {
                    buf[y * w + x] = scale(buf[y * w + x], 1.0 - SHADOW * cov);
                }
            }
        }
    }
    if !scene.floor {
        return;
    }
    for (i, body) in bodies.iter().enumerate() {
        if sim.layers[i] != Layer::Midground {
            continue;
        }
        let r = sim.radii[i];
        let gap = (1.0 - r - body.pos[1]).max(0.0);
        let strength = 0.55 * (-3.0 * gap / r.max(1e-6)).exp();
        if strength < 0.01 {
            continue;
        }
        let c = view.to_px([body.pos[0], 1.0], 1.0);
        let (rx, ry) = (1.2 * r * px, (0.25 * r * px).max(1.0));
        let (x0, x1) = ((c[0] - rx).floor().max(0.0) as usize, (c[0] + rx).ceil().clamp(0.0, w as f64) as usize);
        let (y0, y1) = ((c[1] - ry).floor().max(0.0) as usize, (c[1] + ry).ceil().clamp(0.0, h as f64) as usize);
        for y in y0..y1 {
            for x in x0..x1 {
                let e = ((x as f64 + 0.5 - c[0]) / rx).hypot((y as f64 + 0.5 - c[1]) / ry);
                let s = (1.0 - e).clamp(0.0, 1.0);
                if s > 0.0 {
                    buf[y * w + x] = scale(buf[y * w + x], 1.0 - strength * s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::render::render as render_scene;
    use crate::world::spec::Style;

    fn ball_scene(setting: Setting) -> Scene {
        serde_json::from_value(serde_json::json!({
            "style": "photo",
            "photo": {"setting": setting, "seed": 3},
            "gravity": 2.0, "floor": true,
            "objects": [{"id": "b", "shape": "circle", "color": "red", "size": 0.2, "pos": [0.5, 0.2]}]
        }))
        .expect("a scene")
    }

    #[test]
    fn a_photo_scene_is_deterministic_and_its_truth_is_the_flat_truth() {
        let settings = Settings { width: 96, height: 64, fps: 10.0, frames: 8 };
        let scene = ball_scene(Setting::Brick);
        let (a, ta) = render_scene(&scene, &settings, true);
        let (b, tb) = render_scene(&scene, &settings, true);
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_eq!(ta, tb);
        // Without shake the truth is the flat style's, exactly.
        let mut still = scene.clone();
        still.photo.as_mut().expect("photo settings").shake = 0.0;
        let mut flat = still.clone();
        (flat.style, flat.photo) = (Style::Flat, None);
        assert_eq!(render_scene(&still, &settings, true).1, render_scene(&flat, &settings, true).1);
        let mut other = scene.clone();
        other.photo.as_mut().expect("photo settings").seed = 4;
        assert_ne!(render_scene(&other, &settings, false).0.as_bytes(), a.as_bytes());
    }

    /// The centre of the ball's pixels (red chromaticity, each row filled between its outermost
    /// red pixels so the highlight's hole counts) follows the exact parabola within half a pixel
    /// on every setting, with sensor noise and the light drifting.
    #[test]
    fn a_shaded_ball_follows_the_parabola_within_half_a_pixel() {
        for setting in Setting::CHOICES {
            let mut scene = ball_scene(setting);
            let photo = scene.photo.as_mut().expect("photo settings");
            (photo.shake, photo.exposure) = (0.0, 0.0);
            scene.floor = false;
            let size = 128usize;
            let settings = Settings { width: size as u32, height: size as u32, fps: 10.0, frames: 6 };
            let (v, truth) = render_scene(&scene, &settings, true);
            let truth = truth.expect("truth");
            for t in 0..6 {
                let red = |x: usize, y: usize| {
                    let p = &v.frame(t)[(y * size + x) * 3..(y * size + x) * 3 + 3];
                    let sum: f64 = p.iter().map(|&c| f64::from(c)).sum();
                    f64::from(p[0]) > 0.6 * sum
                };
                let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
                for y in 0..size {
                    let xs: Vec<usize> = (0..size).filter(|&x| red(x, y)).collect();
                    if let (Some(&a), Some(&b)) = (xs.first(), xs.last()) {
                        let len = (b - a + 1) as f64;
                        n += len;
                        sx += len * (a + b + 1) as f64 / 2.0;
                        sy += len * (y as f64 + 0.5);
                    }
                }
                let want = (0.2 + (t as f64 / 10.0).powi(2)) * size as f64;
                let truth_y = truth.frames[t].objects[0].center[1];
                assert!((truth_y - want).abs() < 1e-9);
                assert!((sy / n - want).abs() < 0.5, "{setting:?} frame {t}: {} vs {want}", sy / n);
                assert!((sx / n - 64.0).abs() < 0.5, "{setting:?} frame {t}: x {}", sx / n);
            }
        }
    }

    #[test]
    fn the_ball_is_shaded_lit_from_above_with_a_highlight_and_a_shadow_below_right() {
        let mut scene = ball_scene(Setting::Plaster);
        let p = scene.photo.as_mut().expect("photo settings");
        (p.noise, p.shake, p.light_drift) = (0.0, 0.0, 0.0);
        (scene.gravity, scene.floor) = (0.0, false);
        scene.objects[0].pos = [0.5, 0.5];
        let settings = Settings { width: 128, height: 128, fps: 10.0, frames: 1 };
        let (v, _) = render_scene(&scene, &settings, false);
        let mut bare = scene.clone();
        bare.objects.clear();
        let (empty, _) = render_scene(&bare, &settings, false);
        let at = |v: &Video, x: usize, y: usize| {
            let i = (y * 128 + x) * 3;
            [v.frame(0)[i], v.frame(0)[i + 1], v.frame(0)[i + 2]].map(f64::from)
        };
        let (lit, dark) = (at(&v, 58, 56), at(&v, 70, 72));
        assert!(lit[0] > dark[0] + 40.0, "lit side {lit:?} vs shaded side {dark:?}");
        // The shaded side keeps its hue; the highlight is whiter than the albedo.
        assert!(dark[0] > 3.0 * dark[1] && dark[0] > 3.0 * dark[2], "{dark:?}");
        let greenest = (50..78).flat_map(|y| (50..78).map(move |x| (x, y))).map(|(x, y)| at(&v, x, y)[1]);
        assert!(greenest.fold(0.0, f64::max) > 100.0, "no highlight");
        // The drop shadow falls away from the light (down right), on the setting.
        let ratio = |x, y| at(&v, x, y).iter().sum::<f64>() / at(&empty, x, y).iter().sum::<f64>();
        assert!(ratio(73, 76) < 0.8, "below right: {}", ratio(73, 76));
        assert!((ratio(55, 52) - 1.0).abs() < 0.01, "above left: {}", ratio(55, 52));
    }

    #[test]
    fn a_photograph_replaces_the_setting_and_is_mirrored_past_its_edges() {
        let data: Vec<u8> = (0..4 * 2).flat_map(|i| [i as u8 * 30, 0, 0]).collect();
        let b = Backdrop::new(4, 2, data).expect("a backdrop");
        assert!(Backdrop::new(4, 2, vec![0; 5]).is_none());
        // Pixel centres: (0.5, 0.5) of the photo is its first pixel; mirrored on both sides.
        let scale = 2.0 / 1.3;
        let world = |fx: f64, fy: f64| [(fx + 0.5 - 2.0) / scale + 0.5, (fy + 0.5 - 1.0) / scale + 0.5];
        assert_eq!(b.at(world(0.0, 0.0), 1.0)[0], 0.0);
        assert_eq!(b.at(world(3.0, 1.0), 1.0)[0], 210.0);
        assert_eq!(b.at(world(-1.0, 0.0), 1.0)[0], 0.0);
        assert_eq!(b.at(world(4.0, 1.0), 1.0)[0], 210.0);
    }
}
