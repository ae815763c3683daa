//! Scene specification (serde). Every struct refuses unknown keys so that a typo in a suite is an
//! error with a location, not a silently ignored setting.

use serde::{Deserialize, Serialize};

pub use crate::palette::{Color, Shape};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    #[serde(default)]
    pub background: Background,
    #[serde(default)]
    pub objects: Vec<Object>,
    /// Canvas heights per second², positive pointing down; 0 disables gravity.
    #[serde(default)]
    pub gravity: f64,
    /// A floor at the bottom edge that objects bounce on.
    #[serde(default)]
    pub floor: bool,
    /// Walls at the left and right edges; without them objects may leave the frame.
    #[serde(default)]
    pub walls: bool,
    #[serde(default)]
    pub occluders: Vec<Occluder>,
    #[serde(default)]
    pub camera: Camera,
    #[serde(default)]
    pub events: Vec<Event>,
    /// Hard cuts, in seconds from the start; the same objects continue after each cut.
    #[serde(default)]
    pub cuts: Vec<f64>,
    /// How the scene is drawn: `flat` (saturated shapes over the background above) or `photo`
    /// (shaded solids over a textured setting, with light, blur, shake and sensor noise). The
    /// ground truth is the same in both.
    #[serde(default, skip_serializing_if = "Style::is_flat")]
    pub style: Style,
    /// Settings of the photo style (defaults when absent); refused with the flat style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<Photo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    #[default]
    Flat,
    Photo,
}

impl Style {
    pub fn is_flat(&self) -> bool {
        *self == Style::Flat
    }
}

/// Where a photo-style scene takes place: procedural textures (`auto` picks one from the seed).
/// A photograph from a folder replaces the setting at render time (`world render --photos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    #[default]
    Auto,
    Wood,
    Brick,
    Tiles,
    Fabric,
    Sky,
    Plaster,
}

impl Setting {
    pub const CHOICES: [Setting; 6] =
        [Setting::Wood, Setting::Brick, Setting::Tiles, Setting::Fabric, Setting::Sky, Setting::Plaster];
}

/// The photo style's settings. Every default is a moderate, realistic amount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    #[serde(default)]
    pub setting: Setting,
    /// Seeds the setting's texture, the light's drift, the shake and the sensor noise.
    #[serde(default)]
    pub seed: u64,
    /// Sensor noise, standard deviation in 8-bit levels.
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// Exposure time in seconds (1/48 s is a 180° shutter at 24 fps): motion blur along the
    /// exact trajectory. At most the frame interval.
    #[serde(default = "default_exposure")]
    pub exposure: f64,
    /// Camera shake amplitude, canvas heights.
    #[serde(default = "default_shake")]
    pub shake: f64,
    /// Relative drift of the light's intensity over the clip.
    #[serde(default = "default_light_drift")]
    pub light_drift: f64,
    /// H.264 constant rate factor when written as .mp4 (20–30 is what generators ship).
    #[serde(default = "default_crf")]
    pub crf: u32,
}

impl Default for Photo {
    fn default() -> Self {
        Photo {
            setting: Setting::Auto,
            seed: 0,
            noise: default_noise(),
            exposure: default_exposure(),
            shake: default_shake(),
            light_drift: default_light_drift(),
            crf: default_crf(),
        }
    }
}

fn default_noise() -> f64 {
    2.0
}

fn default_exposure() -> f64 {
    1.0 / 48.0
}

fn default_shake() -> f64 {
    0.003
}

fn default_light_drift() -> f64 {
    0.1
}

fn default_crf() -> u32 {
    24
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
pub enum Background {
    Solid {
        color: Color,
    },
    Gradient {
        from: Color,
        to: Color,
    },
    /// A checkerboard of `cells` squares across the canvas height: camera motion is visible.
    Checker {
        cells: u32,
        a: Color,
        b: Color,
    },
    /// Smooth value noise from a seed: texture without a grid.
    Noise {
        seed: u64,
        scale: f64,
    },
}

impl Default for Background {
    fn default() -> Self {
        Background::Checker { cells: 8, a: Color::Gray, b: Color::White }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Background,
    #[default]
    Midground,
    Foreground,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    pub id: String,
    pub shape: Shape,
    pub color: Color,
    /// Diameter (or side) as a fraction of the canvas height.
    pub size: f64,
    pub pos: [f64; 2],
    #[serde(default)]
    pub vel: [f64; 2],
    #[serde(default = "one")]
    pub mass: f64,
    #[serde(default = "default_restitution")]
    pub restitution: f64,
    /// Static objects never move; others collide with them.
    #[serde(default, rename = "static")]
    pub fixed: bool,
    #[serde(default)]
    pub layer: Layer,
    /// Leaves a persistent paint trail where it passes.
    #[serde(default)]
    pub trail: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Occluder {
    pub pos: [f64; 2],
    /// Width and height as fractions of the canvas height.
    pub size: [f64; 2],
    pub color: Color,
    #[serde(default)]
    pub vel: [f64; 2],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraMotion {
    #[default]
    Static,
    PanLeft,
    PanRight,
    TiltUp,
    TiltDown,
    ZoomIn,
    ZoomOut,
    Keyframes,
}

impl CameraMotion {
    pub const ALL: [CameraMotion; 8] = [
        CameraMotion::Static,
        CameraMotion::PanLeft,
        CameraMotion::PanRight,
        CameraMotion::TiltUp,
        CameraMotion::TiltDown,
        CameraMotion::ZoomIn,
        CameraMotion::ZoomOut,
        CameraMotion::Keyframes,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Easing {
    #[default]
    Linear,
    EaseInOut,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    #[serde(default)]
    pub motion: CameraMotion,
    /// Canvas widths per second for pans, canvas heights per second for tilts; the log scale
    /// change per second for zooms (as the `camera` probe reads them).
    #[serde(default)]
    pub speed: f64,
    /// Used when `motion: keyframes`.
    #[serde(default)]
    pub keyframes: Vec<Keyframe>,
    #[serde(default)]
    pub easing: Easing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyframe {
    pub t: f64,
    /// Camera centre in world coordinates.
    pub center: [f64; 2],
    #[serde(default = "one")]
    pub zoom: f64,
}

/// A state change caused by a contact: the cause → effect relation probes check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The two object ids whose first contact triggers the effect.
    pub contact: [String; 2],
    pub then: Effect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    pub object: String,
    #[serde(default)]
    pub set_color: Option<Color>,
    #[serde(default)]
    pub set_shape: Option<Shape>,
    /// Velocity given to a resting object (canvas heights per second).
    #[serde(default)]
    pub start_moving: Option<[f64; 2]>,
}

fn one() -> f64 {
    1.0
}

fn default_restitution() -> f64 {
    0.8
}

impl Scene {
    /// Checks what serde cannot: references between objects and physical ranges. Returns every
    /// problem as `(field path relative to the scene, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let ids: Vec<&str> = self.objects.iter().map(|o| o.id.as_str()).collect();
        for (i, o) in self.objects.iter().enumerate() {
            if ids[..i].contains(&o.id.as_str()) {
                out.push((format!("objects[{i}].id"), format!("duplicate object id \"{}\"", o.id)));
            }
            if !(o.size > 0.0 && o.size <= 1.0) {
                out.push((format!("objects[{i}].size"), format!("expected a size in (0, 1], got {}", o.size)));
            }
            if !(0.0..=1.0).contains(&o.restitution) {
                out.push((
                    format!("objects[{i}].restitution"),
                    format!("expected a restitution in [0, 1], got {}", o.restitution),
                ));
            }
            if !(o.mass > 0.0 && o.mass.is_finite()) {
                out.push((format!("objects[{i}].mass"), format!("expected a positive mass, got {}", o.mass)));
            }
            within(&mut out, &format!("objects[{i}].pos"), &o.pos, MAX_COORD);
            within(&mut out, &format!("objects[{i}].vel"), &o.vel, MAX_SPEED);
            // Below the floor line nothing finds the floor again: it fell through the floor.
            if self.floor && !o.fixed && o.pos[1] + o.size / 2.0 > 1.0 + 1e-9 && o.size <= 1.0 {
                out.push((
                    format!("objects[{i}].pos"),
                    format!(
                        "starts below the floor (its bottom at {:.4}, the floor at 1): place it at y ≤ {:.4} to stand on it",
                        o.pos[1] + o.size / 2.0,
                        1.0 - o.size / 2.0
                    ),
                ));
            }
        }
        if self.objects.len() > MAX_OBJECTS {
            out.push((
                "objects".into(),
                format!("{} objects, over the {MAX_OBJECTS} a scene may have", self.objects.len()),
            ));
        }
        if !(self.gravity.abs() <= MAX_SPEED) {
            out.push((
                "gravity".into(),
                format!("expected a gravity in [-{MAX_SPEED}, {MAX_SPEED}], got {}", self.gravity),
            ));
        }
        for (i, o) in self.occluders.iter().enumerate() {
            within(&mut out, &format!("occluders[{i}].pos"), &o.pos, MAX_COORD);
            within(&mut out, &format!("occluders[{i}].vel"), &o.vel, MAX_SPEED);
            if !o.size.iter().all(|v| *v > 0.0 && *v <= MAX_COORD) {
                out.push((
                    format!("occluders[{i}].size"),
                    format!("expected a width and height in (0, {MAX_COORD}], got {:?}", o.size),
                ));
            }
        }
        match self.background {
            Background::Checker { cells, .. } if !(1..=1000).contains(&cells) => {
                out.push(("background.cells".into(), format!("expected 1 to 1000 cells, got {cells}")))
            }
            Background::Noise { scale, .. } if !(scale > 0.0 && scale <= 1000.0) => {
                out.push(("background.scale".into(), format!("expected a scale in (0, 1000], got {scale}")))
            }
            _ => {}
        }
        for (i, t) in self.cuts.iter().enumerate() {
            if !(t.is_finite() && *t >= 0.0) || (i > 0 && *t <= self.cuts[i - 1]) {
                out.push((
                    format!("cuts[{i}]"),
                    format!("expected cut times in seconds from the start, each after the one before, got {t}"),
                ));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            for (j, id) in e.contact.iter().enumerate() {
                if !ids.contains(&id.as_str()) {
                    out.push((format!("events[{i}].contact[{j}]"), unknown_object(id, &ids)));
                }
            }
            if !ids.contains(&e.then.object.as_str()) {
                out.push((format!("events[{i}].then.object"), unknown_object(&e.then.object, &ids)));
            }
            if e.contact[0] == e.contact[1] {
                out.push((format!("events[{i}].contact"), "an object never touches itself: name two objects".into()));
            }
            if let Some(v) = &e.then.start_moving {
                within(&mut out, &format!("events[{i}].then.start_moving"), v, MAX_SPEED);
            }
        }
        if let Some(p) = &self.photo {
            if self.style.is_flat() {
                out.push(("photo".into(), "photo settings given but the style is flat (add style: photo)".into()));
            }
            for (field, value, lo, hi) in [
                ("noise", p.noise, 0.0, 50.0),
                ("exposure", p.exposure, 0.0, 1.0),
                ("shake", p.shake, 0.0, 0.05),
                ("light_drift", p.light_drift, 0.0, 0.5),
                ("crf", f64::from(p.crf), 0.0, 51.0),
            ] {
                if !(lo..=hi).contains(&value) {
                    out.push((format!("photo.{field}"), format!("expected a value in [{lo}, {hi}], got {value}")));
                }
            }
        }
        let c = &self.camera;
        if c.motion == CameraMotion::Keyframes && c.keyframes.len() < 2 {
            out.push(("camera.keyframes".into(), "keyframed camera needs at least 2 keyframes".into()));
        }
        if c.motion != CameraMotion::Keyframes && !c.keyframes.is_empty() {
            out.push(("camera.keyframes".into(), "keyframes are followed only with motion: keyframes".into()));
        }
        if !(c.speed.abs() <= MAX_SPEED) {
            out.push((
                "camera.speed".into(),
                format!("expected a speed in [-{MAX_SPEED}, {MAX_SPEED}], got {}", c.speed),
            ));
        }
        for (i, k) in c.keyframes.iter().enumerate() {
            if !k.t.is_finite() || (i > 0 && k.t <= c.keyframes[i - 1].t) {
                out.push((
                    format!("camera.keyframes[{i}].t"),
                    format!("expected times in order, each after the one before, got {}", k.t),
                ));
            }
            within(&mut out, &format!("camera.keyframes[{i}].center"), &k.center, MAX_COORD);
            if !(k.zoom >= ZOOM_RANGE.0 && k.zoom <= ZOOM_RANGE.1) {
                out.push((
                    format!("camera.keyframes[{i}].zoom"),
                    format!("expected a zoom in [{}, {}], got {}", ZOOM_RANGE.0, ZOOM_RANGE.1, k.zoom),
                ));
            }
        }
        out
    }
}

/// Objects a scene may have (every event tests every pair).
pub const MAX_OBJECTS: usize = 64;
/// Positions and sizes, canvas heights from the origin: far beyond any frame.
const MAX_COORD: f64 = 100.0;
/// Speeds (canvas heights per second), accelerations and camera rates: 100 crosses a frame
/// in a hundredth of a second.
const MAX_SPEED: f64 = 100.0;
use super::render::ZOOM_RANGE;

/// A problem with `values` at `field` unless each is a finite number within ±`limit`.
fn within(out: &mut Vec<(String, String)>, field: &str, values: &[f64], limit: f64) {
    if !values.iter().all(|v| v.abs() <= limit) {
        out.push((field.into(), format!("expected finite numbers within ±{limit}, got {values:?}")));
    }
}

fn unknown_object(id: &str, ids: &[&str]) -> String {
    format!("unknown object \"{id}\", expected one of {}", ids.join(", "))
}

/// A standalone scene file: the scene and the frames to render it as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneFile {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u32,
    pub scene: Scene,
}
