//! Probes: checks of structured expectations (a suite case's `expect:` entries) against a
//! video, each returning pass/fail, a measured value and the reason in words.
//!
//! This module holds every probe's parameters (the schema suites are validated against) and the
//! dispatch; each probe's logic lives in its own file. Probes read objects through
//! [`crate::track`] (colour segmentation and tracking) and camera motion through
//! [`crate::global_motion`].

use serde::{Deserialize, Serialize};

use crate::palette::{Color, Shape};

/// Global camera motion classes a `camera` expectation can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraMotion {
    Static,
    PanLeft,
    PanRight,
    TiltUp,
    TiltDown,
    ZoomIn,
    ZoomOut,
}

/// Selects an object in the generated video by what can be seen of it: its colour, its shape or
/// both (`object: {}` named none, and the check followed whatever was largest).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "ObjectFields")]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
}

/// [`ObjectRef`] as written, before it is checked to name something.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectFields {
    #[serde(default)]
    color: Option<Color>,
    #[serde(default)]
    shape: Option<Shape>,
}

impl TryFrom<ObjectFields> for ObjectRef {
    type Error = String;
    fn try_from(f: ObjectFields) -> Result<ObjectRef, String> {
        if f.color.is_none() && f.shape.is_none() {
            return Err(
                "an object names its color, its shape or both (e.g. {color: red}); this one names neither".into()
            );
        }
        Ok(ObjectRef { color: f.color, shape: f.shape })
    }
}

/// A numeric bound: `{min: a}`, `{max: b}`, `{min: a, max: b}` or `{between: [a, b]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[f64; 2]>,
}

impl Bound {
    /// `(lo, hi)` with open ends as infinities, or a message when the bound is contradictory.
    /// Ends given are finite numbers: an open end is a key left out (`min: .inf` and
    /// `min: -.inf` — one never passing, one always — were both written `null` in the suite's
    /// canonical form and hashed alike).
    pub fn limits(&self) -> Result<(f64, f64), String> {
        let given = [("between", self.between.map(|b| b[0])), ("between", self.between.map(|b| b[1]))];
        let given = given.into_iter().chain([("min", self.min), ("max", self.max)]);
        for (key, v) in given {
            if let Some(v) = v.filter(|v| !v.is_finite()) {
                return Err(format!("{key}: {v} is not a finite number (leave the key out for an open end)"));
            }
        }
        let (lo, hi) = match (self.between, self.min, self.max) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err("give either between or min/max, not both".into());
            }
            (Some([a, b]), None, None) => (a, b),
            (None, None, None) => return Err("expected at least one of min, max, between".into()),
            (None, lo, hi) => (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY)),
        };
        if lo > hi {
            return Err(format!("empty range: lower bound {lo} is above upper bound {hi}"));
        }
        Ok((lo, hi))
    }

    pub fn contains(&self, x: f64) -> bool {
        self.limits().is_ok_and(|(lo, hi)| lo <= x && x <= hi)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Left,
    Right,
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    LeftOf,
    RightOf,
    Above,
    Below,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    Start,
    #[default]
    End,
    Throughout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    StartsMoving,
    ChangesColor,
    ChangesShape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persisting {
    Trail,
    Color,
    Shape,
}

macro_rules! probe_params {
    ($($(#[$doc:meta])* $name:ident { $($(#[$fattr:meta])* $field:ident : $ty:ty),* $(,)? })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fattr])* pub $field: $ty),* }
    )*};
}

probe_params! {
    /// The object's vertical position follows a parabola with downward (or upward) acceleration.
    Gravity {
        object: ObjectRef,
        #[serde(default = "down")] direction: Direction,
        /// Acceleration magnitude, canvas heights per second².
        #[serde(default)] accel: Option<Bound>,
        #[serde(default)] r2: Option<Bound>,
    }
    /// The object bounces; rebound heights imply a restitution in range.
    Bounce {
        object: ObjectRef,
        #[serde(default)] count: Option<Bound>,
        #[serde(default)] restitution: Option<Bound>,
    }
    /// `effect` changes only after `cause` touches it.
    CauseEffect {
        cause: ObjectRef,
        effect: ObjectRef,
        change: Change,
        /// The object the cause touches when it is not the effect itself (a switch).
        #[serde(default, skip_serializing_if = "Option::is_none")] via: Option<ObjectRef>,
    }
    /// `object` stands in `relation` to `other` (sign-correct left/right).
    Position {
        object: ObjectRef,
        relation: Relation,
        other: ObjectRef,
        #[serde(default)] at: When,
    }
    /// `object` moves in `direction`, optionally at a speed in canvas heights per second, across
    /// too (crossing the frame's width in 4 s is 0.44 h/s at 16:9 and 0.14 h/s at 9:16).
    Motion {
        object: ObjectRef,
        direction: Direction,
        #[serde(default)] speed: Option<Bound>,
    }
    /// Global camera motion estimated from the whole frame.
    Camera {
        motion: CameraMotion,
        /// Canvas widths per second for pans, heights per second for tilts, relative scale per
        /// second for zooms.
        #[serde(default)] speed: Option<Bound>,
    }
    /// The object reappears after being hidden, looking the same.
    Permanence {
        object: ObjectRef,
        #[serde(default = "yes")] same_color: bool,
        #[serde(default = "yes")] same_shape: bool,
    }
    /// A change (a paint trail, a new colour or shape) stays once made.
    Persistence {
        object: ObjectRef,
        what: Persisting,
    }
    /// The object stays (or does not stay) inside the frame.
    Framing {
        object: ObjectRef,
        #[serde(default = "yes")] inside: bool,
    }
    /// The output's aspect ratio, as "W:H".
    Aspect {
        ratio: String,
        #[serde(default = "aspect_tolerance")] tolerance: f64,
    }
    /// Generated frames continue the conditioning input without a visible seam (PSNR in dB).
    Continuity {
        psnr: Bound,
    }
    /// The last frame leads back into the first (PSNR in dB).
    Loop {
        psnr: Bound,
    }
    /// Under camera motion the nearer object moves across the screen more than the farther one
    /// (3D consistency).
    Parallax {
        near: ObjectRef,
        far: ObjectRef,
    }
    /// Across hard cuts the same objects keep their colours, shapes and relative sizes.
    Shots {
        #[serde(default)] cuts: Option<Bound>,
    }
    /// How many distinct objects are visible.
    Count {
        #[serde(default)] object: Option<ObjectRef>,
        count: Bound,
    }
}

fn down() -> Direction {
    Direction::Down
}

fn yes() -> bool {
    true
}

fn aspect_tolerance() -> f64 {
    0.02
}

/// One `expect:` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "probe", rename_all = "snake_case")]
pub enum Expectation {
    Gravity(Gravity),
    Bounce(Bounce),
    CauseEffect(CauseEffect),
    Position(Position),
    Motion(Motion),
    Camera(Camera),
    Permanence(Permanence),
    Persistence(Persistence),
    Framing(Framing),
    Aspect(Aspect),
    Continuity(Continuity),
    Loop(Loop),
    Count(Count),
    Parallax(Parallax),
    Shots(Shots),
}

/// Every probe name, in documentation order.
pub const PROBES: &[&str] = &[
    "gravity",
    "bounce",
    "cause_effect",
    "position",
    "motion",
    "camera",
    "permanence",
    "persistence",
    "framing",
    "aspect",
    "continuity",
    "loop",
    "count",
    "parallax",
    "shots",
];

impl Expectation {
    pub fn probe(&self) -> &'static str {
        match self {
            Expectation::Gravity(_) => "gravity",
            Expectation::Bounce(_) => "bounce",
            Expectation::CauseEffect(_) => "cause_effect",
            Expectation::Position(_) => "position",
            Expectation::Motion(_) => "motion",
            Expectation::Camera(_) => "camera",
            Expectation::Permanence(_) => "permanence",
            Expectation::Persistence(_) => "persistence",
            Expectation::Framing(_) => "framing",
            Expectation::Aspect(_) => "aspect",
            Expectation::Continuity(_) => "continuity",
            Expectation::Loop(_) => "loop",
            Expectation::Count(_) => "count",
            Expectation::Parallax(_) => "parallax",
            Expectation::Shots(_) => "shots",
        }
    }

    /// The objects the check names, each with its field.
    fn objects(&self) -> Vec<(&'static str, &ObjectRef)> {
        match self {
            Expectation::Gravity(g) => vec![("object", &g.object)],
            Expectation::Bounce(b) => vec![("object", &b.object)],
            Expectation::CauseEffect(c) => {
                let mut v = vec![("cause", &c.cause), ("effect", &c.effect)];
                v.extend(c.via.as_ref().map(|o| ("via", o)));
                v
            }
            Expectation::Position(p) => vec![("object", &p.object), ("other", &p.other)],
            Expectation::Motion(m) => vec![("object", &m.object)],
            Expectation::Permanence(p) => vec![("object", &p.object)],
            Expectation::Persistence(p) => vec![("object", &p.object)],
            Expectation::Framing(f) => vec![("object", &f.object)],
            Expectation::Parallax(p) => vec![("near", &p.near), ("far", &p.far)],
            Expectation::Count(c) => c.object.iter().map(|o| ("object", o)).collect(),
            _ => Vec::new(),
        }
    }

    /// Semantic checks serde cannot express, as `(field relative to the entry, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        // A colour the tracker cannot follow makes a check that is never measured: said when
        // the suite is written, not as "n/a" on every video.
        for (field, o) in self.objects() {
            if let Some(c) = o.color.filter(|c| !crate::track::TRACKED.contains(c)) {
                out.push((
                    field,
                    format!(
                        "{} objects cannot be told from the background (the tracker follows saturated colours: {}): this check could never be measured",
                        c.name(),
                        crate::track::TRACKED.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        let mut bound = |field: &'static str, b: &Option<Bound>| {
            if let Some(Err(m)) = b.as_ref().map(Bound::limits) {
                out.push((field, m));
            }
        };
        // The same reference twice always finds the same track: the check cannot be made, and
        // the probe said so as the model's failure on every video.
        let same = |a: &ObjectRef, b: &ObjectRef, what: &str| {
            (a == b).then(|| format!("{what} name the same object (the same colour and shape find the same track)"))
        };
        match self {
            Expectation::Gravity(g) => {
                bound("accel", &g.accel);
                bound("r2", &g.r2);
                if matches!(g.direction, Direction::Left | Direction::Right) {
                    out.push(("direction", "gravity pulls up or down, not sideways: expected up or down".into()));
                }
            }
            Expectation::CauseEffect(c) => {
                out.extend(same(&c.cause, &c.effect, "cause and effect").map(|m| ("effect", m)));
            }
            Expectation::Position(p) => out.extend(same(&p.object, &p.other, "object and other").map(|m| ("other", m))),
            Expectation::Parallax(p) => out.extend(same(&p.near, &p.far, "near and far").map(|m| ("far", m))),
            Expectation::Bounce(b) => {
                bound("count", &b.count);
                bound("restitution", &b.restitution);
            }
            Expectation::Motion(m) => bound("speed", &m.speed),
            Expectation::Camera(c) => bound("speed", &c.speed),
            Expectation::Continuity(c) => bound("psnr", &Some(c.psnr.clone())),
            Expectation::Loop(l) => bound("psnr", &Some(l.psnr.clone())),
            Expectation::Count(c) => bound("count", &Some(c.count.clone())),
            Expectation::Shots(s) => bound("cuts", &s.cuts),
            Expectation::Aspect(a) => {
                if parse_ratio(&a.ratio).is_none() {
                    out.push((
                        "ratio",
                        format!("expected a ratio like \"16:9\" (between 1:64 and 64:1), got \"{}\"", a.ratio),
                    ));
                }
                // A NaN tolerance passed every ratio (no comparison with NaN is true).
                if !(a.tolerance.is_finite() && a.tolerance >= 0.0) {
                    out.push(("tolerance", format!("expected a finite tolerance ≥ 0, got {}", a.tolerance)));
                }
            }
            _ => {}
        }
        out
    }
}

impl Expectation {
    /// Whether the check reads motion or change over time (a one-frame image cannot show it).
    pub fn reads_time(&self) -> bool {
        !matches!(
            self,
            Expectation::Position(_)
                | Expectation::Framing(_)
                | Expectation::Aspect(_)
                | Expectation::Count(_)
                | Expectation::Continuity(_)
        )
    }

    /// The fewest frames the check reads anything from: a flight or a bounce needs three
    /// sightings, any other change over time two.
    pub fn min_frames(&self) -> usize {
        match self {
            _ if !self.reads_time() => 1,
            Expectation::Gravity(_) | Expectation::Bounce(_) => 3,
            _ => 2,
        }
    }
}

/// Parses "W:H" into width/height, both positive and finite, the ratio within 1:64 and 64:1
/// (`inf:1` or `1e12:1` describe no frame).
pub fn parse_ratio(s: &str) -> Option<f64> {
    let (w, h) = s.split_once(':')?;
    let (w, h): (f64, f64) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    let ratio = w / h;
    (w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 && (1.0 / 64.0..=64.0).contains(&ratio)).then_some(ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ball dropped from half the canvas height (g = 4 heights/s², restitution 0.6) bounces
    /// three times and comes to rest: every frame rate from 24 fps sees the three contacts (120
    /// fps saw two when the rise was looked for within two samples); at 8 fps the third
    /// rebound's 0.22 s flight falls between two frames.
    #[test]
    fn contacts_are_the_same_at_every_frame_rate() {
        let (g, e, floor) = (4.0f64, 0.6f64, 1.0f64);
        let y_at = |t: f64| {
            let (mut t0, mut v, mut y0) = (0.0f64, 0.0f64, 0.5f64);
            loop {
                // In flight from height y0 (downward velocity v) at t0 until the floor.
                let land = t0 + (-v + (v * v + 2.0 * g * (floor - y0)).sqrt()) / g;
                if t < land {
                    let s = t - t0;
                    return y0 + v * s + 0.5 * g * s * s;
                }
                let up = e * (v + g * (land - t0));
                if up < 0.3 {
                    return floor;
                }
                (t0, v, y0) = (land, -up, floor);
            }
        };
        for (fps, seen) in [(8.0, 2), (24.0, 3), (30.0, 3), (60.0, 3), (120.0, 3)] {
            let ys: Vec<f64> = (0..(3.0 * fps) as usize).map(|k| y_at(k as f64 / fps)).collect();
            assert_eq!(
                contacts(&ys, &some(&ys), fps, 0.005).len(),
                seen,
                "at {fps} fps: {:?}",
                contacts(&ys, &some(&ys), fps, 0.005)
            );
        }
    }

    #[test]
    fn bounds_and_ratios_are_checked() {
        assert_eq!(Bound { min: Some(1.0), ..Default::default() }.limits(), Ok((1.0, f64::INFINITY)));
        assert!(Bound { min: Some(2.0), max: Some(1.0), between: None }.limits().is_err());
        assert!(Bound::default().limits().is_err());
        for inf in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            let e = Bound { min: Some(inf), ..Default::default() }.limits().unwrap_err();
            assert!(e.starts_with("min: ") && e.contains("not a finite number"), "{e}");
            assert!(Bound { between: Some([0.0, inf]), ..Default::default() }.limits().is_err());
        }
        assert!(Bound { between: Some([0.4, 0.9]), ..Default::default() }.contains(0.5));
        assert_eq!(parse_ratio("9:16"), Some(9.0 / 16.0));
        assert_eq!(parse_ratio("9x16"), None);
    }

    /// Bottoms the frame never cuts.
    fn some(ys: &[f64]) -> Vec<Option<f64>> {
        ys.iter().copied().map(Some).collect()
    }

    /// A red square moving 2 px per frame over 8 frames, shown in the frames `shown` keeps.
    fn red_square(step: usize, shown: impl Fn(usize) -> bool) -> Video {
        let (w, h) = (40usize, 16usize);
        let mut data = Vec::new();
        for t in 0..8 {
            let mut f = vec![200u8; w * h * 3];
            if shown(t) {
                for y in 5..11 {
                    for x in 4 + step * t..10 + step * t {
                        f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&Color::Red.rgb());
                    }
                }
            }
            data.extend(f);
        }
        Video::new(w as u32, h as u32, 8.0, data).unwrap()
    }

    /// A cup tracked under a warm grade (480 px, 24 fps): landed, its centre rises 0.005–0.007 h
    /// as its rim and crema go in and out of its colour while its bottom stays on the floor to
    /// 0.0001 h (it read one bounce); one bouncing under a teal-and-orange grade keeps its
    /// contacts, the fourth lifting its bottom 2 px (0.0042 h) for 5 at its centre.
    #[test]
    fn a_bounce_lifts_the_bottom_too() {
        let lands = [
            0.1529, 0.1549, 0.1605, 0.1717, 0.1845, 0.2021, 0.2259, 0.2488, 0.2733, 0.3036, 0.3413, 0.3799, 0.4246,
            0.4652, 0.5161, 0.5667, 0.6204, 0.6753, 0.7397, 0.7662, 0.7609, 0.7599, 0.7649, 0.7578, 0.7596, 0.7592,
            0.7599, 0.7576, 0.7586, 0.7584, 0.7622, 0.7607, 0.7613, 0.7612, 0.7612, 0.7600, 0.7596, 0.7596, 0.7609,
            0.7613, 0.7594, 0.7595, 0.7595, 0.7610, 0.7595, 0.7595, 0.7623, 0.7601, 0.7600, 0.7594, 0.7603, 0.7591,
            0.7592, 0.7590, 0.7598, 0.7598, 0.7598, 0.7606, 0.7617, 0.7608, 0.7599, 0.7614, 0.7607, 0.7608, 0.7611,
            0.7605, 0.7605, 0.7611, 0.7610, 0.7604, 0.7605, 0.7626,
        ];
        let lands_bottom = [
            0.2500, 0.2500, 0.2583, 0.2667, 0.2791, 0.2958, 0.3166, 0.3375, 0.3625, 0.3958, 0.4333, 0.4708, 0.5083,
            0.5541, 0.6041, 0.6541, 0.7083, 0.7583, 0.8208, 0.8584, 0.8584, 0.8584, 0.8584, 0.8583, 0.8583, 0.8583,
            0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583,
            0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583,
            0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583,
            0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583, 0.8583,
        ];
        let bounce = [
            0.1358, 0.1374, 0.1435, 0.1538, 0.1685, 0.1853, 0.2101, 0.2339, 0.2563, 0.2878, 0.3230, 0.3598, 0.4029,
            0.4438, 0.4929, 0.5473, 0.5925, 0.6464, 0.7139, 0.7307, 0.6847, 0.6562, 0.6320, 0.6083, 0.5835, 0.5684,
            0.5467, 0.5443, 0.5366, 0.5320, 0.5323, 0.5342, 0.5329, 0.5467, 0.5618, 0.5764, 0.5964, 0.6123, 0.6515,
            0.6708, 0.7091, 0.7425, 0.7264, 0.7135, 0.6956, 0.6812, 0.6773, 0.6700, 0.6701, 0.6707, 0.6804, 0.6866,
            0.7024, 0.7193, 0.7328, 0.7412, 0.7310, 0.7277, 0.7205, 0.7231, 0.7273, 0.7319, 0.7432, 0.7442, 0.7387,
            0.7350, 0.7322, 0.7402, 0.7399, 0.7368, 0.7412, 0.7442,
        ];
        let bounce_bottom = [
            0.2500, 0.2521, 0.2583, 0.2667, 0.2812, 0.3000, 0.3167, 0.3417, 0.3666, 0.3979, 0.4312, 0.4708, 0.5083,
            0.5541, 0.6041, 0.6541, 0.6958, 0.7541, 0.8292, 0.8417, 0.7875, 0.7583, 0.7417, 0.7208, 0.6958, 0.6791,
            0.6625, 0.6521, 0.6458, 0.6416, 0.6416, 0.6437, 0.6500, 0.6583, 0.6729, 0.6896, 0.7083, 0.7187, 0.7583,
            0.7750, 0.8083, 0.8542, 0.8375, 0.8209, 0.8042, 0.7938, 0.7875, 0.7792, 0.7793, 0.7834, 0.7897, 0.8001,
            0.8126, 0.8293, 0.8355, 0.8542, 0.8417, 0.8334, 0.8334, 0.8334, 0.8376, 0.8417, 0.8542, 0.8542, 0.8500,
            0.8501, 0.8501, 0.8584, 0.8583, 0.8584, 0.8583, 0.8584,
        ];
        // The cup is 0.2 h tall.
        let fall = fall_for(0.2);
        assert_eq!(contacts(&lands, &some(&lands), 24.0, fall), vec![19], "the centre alone");
        assert_eq!(contacts(&lands, &some(&lands_bottom), 24.0, fall), Vec::<usize>::new());
        // Its bottom cut by the frame's edge from the contact on: the centre decides.
        let mut cut = some(&lands_bottom);
        cut[19..24].fill(None);
        assert_eq!(contacts(&lands, &cut, 24.0, fall), vec![19]);
        // Its bottom drops none of the contacts its centre shows.
        let centre = contacts(&bounce, &some(&bounce), 24.0, fall);
        assert!(centre.len() >= 4 && centre[..4] == [19, 41, 55, 62], "{centre:?}");
        assert_eq!(contacts(&bounce, &some(&bounce_bottom), 24.0, fall), centre);
    }

    /// A photographed cup (0.23 h tall) landing on a floor and resting there (h = 480, 24 fps,
    /// sensor noise σ = 2 levels, tracked by this tracker): at rest its centre jitters by up to
    /// 5 px where its outline catches its shadow or spoon, one sample out of line or a jump to
    /// another level that stays, sometimes after a smaller step the same way. None is a bounce
    /// (each read as one, and gravity then pointed up), nor played backwards; a real rebound
    /// at the same noise still is one, and so is a close-up ball's small one.
    #[test]
    fn a_resting_objects_jitter_is_no_bounce() {
        let spike = [
            0.14981, 0.15231, 0.16141, 0.17280, 0.18632, 0.19693, 0.22618, 0.24539, 0.26833, 0.29985, 0.33529, 0.37254,
            0.41691, 0.45612, 0.50927, 0.56373, 0.61352, 0.67691, 0.74175, 0.76307, 0.76009, 0.76015, 0.76347, 0.75959,
            0.75968, 0.75999, 0.76111, 0.75906, 0.76294, 0.76135, 0.76340, 0.76208, 0.76854, 0.76087, 0.76088, 0.76097,
            0.76114, 0.75924, 0.76072, 0.75919, 0.75930, 0.75805, 0.75803, 0.75981, 0.75779, 0.75805, 0.76061, 0.75933,
            0.76088, 0.75981, 0.76092, 0.76094, 0.76018, 0.76004, 0.76084,
        ];
        let levels = [
            0.15343, 0.15253, 0.15661, 0.16677, 0.17968, 0.19362, 0.21090, 0.22702, 0.26194, 0.29374, 0.32615, 0.35973,
            0.40363, 0.44188, 0.49307, 0.54087, 0.59776, 0.65469, 0.72199, 0.76284, 0.76289, 0.76197, 0.76809, 0.76738,
            0.76738, 0.76740, 0.76741, 0.76741, 0.76734, 0.76729, 0.76839, 0.75779, 0.75785, 0.75795, 0.76053, 0.75966,
            0.75956, 0.75969, 0.76551, 0.75971, 0.75970, 0.75970, 0.75978, 0.75957, 0.75948, 0.75783, 0.76051, 0.76040,
            0.75861, 0.75861, 0.75834, 0.75808, 0.76032, 0.75845, 0.75836,
        ];
        // The cup played backwards: at rest, then leaping up.
        let leaps = [
            0.76775, 0.76777, 0.76776, 0.76841, 0.76121, 0.76021, 0.76017, 0.75996, 0.75984, 0.75956, 0.76069, 0.76664,
            0.76608, 0.76603, 0.76603, 0.76565, 0.76036, 0.76000, 0.75944, 0.75893, 0.76013, 0.75997, 0.75944, 0.75951,
            0.76009, 0.76014, 0.75830, 0.75853, 0.76000, 0.75840, 0.75836, 0.75856, 0.75854, 0.76018, 0.75853, 0.75936,
            0.76064, 0.76061, 0.76061, 0.76137, 0.76126, 0.76106, 0.76131, 0.76044, 0.75900, 0.75802, 0.75833, 0.75826,
            0.75944, 0.76569, 0.75948, 0.76013, 0.76542, 0.74240, 0.67166, 0.61470, 0.56237, 0.51005, 0.45574, 0.41504,
            0.37232, 0.33206, 0.29663, 0.27427, 0.25055,
        ];
        let fall = fall_for(0.23);
        // At rest from the first frame, out of line at the second (the fall was not asked of a
        // contact there).
        let start = [0.760, 0.768, 0.760, 0.760, 0.761, 0.760, 0.760, 0.760, 0.760, 0.760];
        for ys in [&spike[..], &levels[..], &leaps[..], &start[..]] {
            assert_eq!(contacts(ys, &some(ys), 24.0, fall), Vec::<usize>::new(), "{ys:?}");
        }
        // The same fall with a rebound of 0.03 h (restitution 0.2) and that jitter added.
        let mut bounced = spike.to_vec();
        for (k, y) in bounced.iter_mut().enumerate().skip(20).take(8) {
            let s = (k - 19) as f64 / 24.0;
            *y -= (0.392 * s - 1.0 * s * s).max(0.0);
        }
        assert_eq!(contacts(&bounced, &some(&bounced), 24.0, fall), vec![19], "{bounced:?}");
        // A ball 0.3 h tall dropped 0.4 h (g = 2.5 h/s², restitution 0.2): a rebound of 0.016 h
        // that 24 fps samples at 0.0148 at most.
        let (g, e, drop) = (2.5f64, 0.2f64, 0.4f64);
        let (land, up) = ((2.0 * drop / g).sqrt(), e * (2.0 * g * drop).sqrt());
        let ys: Vec<f64> = (0..60)
            .map(|k| {
                let t = k as f64 / 24.0 + 0.01;
                if t < land {
                    0.5 * g * t * t
                } else {
                    let s = t - land;
                    drop - (up * s - 0.5 * g * s * s).max(0.0)
                }
            })
            .collect();
        assert_eq!(contacts(&ys, &some(&ys), 24.0, fall_for(0.3)).len(), 1, "{ys:?}");
    }

    /// A still red cup turns green, then red again, with a red speck seen once early on: the cup
    /// is one object throughout (it was joined to the speck when it turned back, and "vanished
    /// at frame 48 and never came back" while in view, its colour "changed once and stayed").
    /// Played backwards, green then red half and half, it is still a red object.
    #[test]
    fn an_object_that_changes_colour_back_is_one_object() {
        let (w, h) = (96usize, 54usize);
        let frame = |t: usize| {
            let mut f = vec![200u8; w * h * 3];
            let mut fill = |x0: usize, y0: usize, side: usize, c: Color| {
                for y in y0..y0 + side {
                    for x in x0..x0 + side {
                        f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c.rgb());
                    }
                }
            };
            fill(42, 21, 12, if (29..48).contains(&t) { Color::Green } else { Color::Red });
            if t == 4 {
                fill(6, 6, 5, Color::Red);
            }
            f
        };
        let clip = |frames: Vec<usize>| {
            Video::new(w as u32, h as u32, 24.0, frames.into_iter().flat_map(frame).collect()).unwrap()
        };
        let red = ObjectRef { color: Some(Color::Red), shape: None };
        let colour = Expectation::Persistence(Persistence { object: red.clone(), what: Persisting::Color });
        let there = Expectation::Framing(Framing { object: red.clone(), inside: true });
        let v = clip((0..72).collect());
        let ctx = Context::new(&v);
        let verdict = check(&colour, &ctx);
        assert!(!verdict.pass && verdict.reason.contains("red → green → red"), "{}", verdict.reason);
        assert!(check(&there, &ctx).pass, "{}", check(&there, &ctx).reason);
        // Backwards from the change: green, then red.
        let v = clip((12..48).rev().collect());
        let verdict = check(&colour, &Context::new(&v));
        assert!(verdict.reason.contains("green → red"), "{}: {}", verdict.kind, verdict.reason);
    }

    /// A red ball rolls right and a green one left behind a pillar; the red one comes out at
    /// the pillar's right edge 4 frames (0.17 s) after the green one went in there. Each is
    /// itself throughout: the red one was taken for the green one turned red (a colour change
    /// in place), and both failed permanence, the green one's motion too.
    #[test]
    fn balls_crossing_behind_a_pillar_keep_their_identities() {
        let (w, h) = (160usize, 90usize);
        let frame = |t: usize| {
            let mut f = vec![200u8; w * h * 3];
            let mut fill = |x0: i64, y0: usize, c: [u8; 3]| {
                for y in y0..y0 + 8 {
                    for x in x0.max(0)..(x0 + 8).min(w as i64) {
                        let i = (y * w + x as usize) * 3;
                        f[i..i + 3].copy_from_slice(&c);
                    }
                }
            };
            fill(10 + 2 * t as i64, 60, Color::Red.rgb());
            fill(150 - 2 * t as i64, 62, Color::Green.rgb());
            // The pillar, drawn over both.
            for y in 0..h {
                for x in 70..90 {
                    f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[110, 110, 110]);
                }
            }
            f
        };
        let v = Video::new(w as u32, h as u32, 24.0, (0..64).flat_map(frame).collect()).unwrap();
        let ctx = Context::new(&v);
        for c in [Color::Red, Color::Green] {
            let object = ObjectRef { color: Some(c), shape: None };
            let e = Expectation::Permanence(Permanence { object: object.clone(), same_color: true, same_shape: true });
            let verdict = check(&e, &ctx);
            assert!(verdict.pass, "{}: {}", c.name(), verdict.reason);
            let direction = if c == Color::Red { Direction::Right } else { Direction::Left };
            let verdict = check(&Expectation::Motion(Motion { object, direction, speed: None }), &ctx);
            assert!(verdict.pass, "{}: {}", c.name(), verdict.reason);
        }
    }

    /// A still square fades from green to blue through three frames of cyan (0.125 s at 24 fps):
    /// one change, through a blend (it read "green → cyan → blue", changes back). Three frames of
    /// cyan between two greens, or a blue that turns green again, still change back.
    #[test]
    fn a_blend_between_two_colours_is_one_change() {
        let (w, h) = (96usize, 54usize);
        let clip = |colours: &[(Color, usize)]| {
            let mut data = Vec::new();
            for &(c, n) in colours {
                for _ in 0..n {
                    let mut f = vec![200u8; w * h * 3];
                    for y in 21..33 {
                        for x in 42..54 {
                            f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c.rgb());
                        }
                    }
                    data.extend(f);
                }
            }
            Video::new(w as u32, h as u32, 24.0, data).unwrap()
        };
        let green = ObjectRef { color: Some(Color::Green), shape: None };
        let colour = Expectation::Persistence(Persistence { object: green, what: Persisting::Color });
        let v = check(&colour, &Context::new(&clip(&[(Color::Green, 20), (Color::Cyan, 3), (Color::Blue, 20)])));
        assert!(v.pass && v.reason.ends_with("green → blue"), "{}", v.reason);
        // Two short colours in a row are one stretch: back to green through cyan and blue (each
        // was taken as a blend between differing neighbours, and it "never changed").
        for back in [
            &[(Color::Green, 20), (Color::Cyan, 3), (Color::Green, 20)][..],
            &[(Color::Green, 20), (Color::Blue, 12), (Color::Green, 20)],
            &[(Color::Green, 20), (Color::Cyan, 3), (Color::Blue, 5), (Color::Green, 20)],
            &[(Color::Green, 20), (Color::Red, 4), (Color::Blue, 4), (Color::Green, 20)],
        ] {
            let v = check(&colour, &Context::new(&clip(back)));
            assert!(!v.pass && v.kind == "changes back", "{back:?}: {}", v.reason);
        }
    }

    /// A blue square slides into a cyan one, which turns magenta at the contact (frame 3 of 12).
    /// Played backwards the effect starts magenta and is cyan only at the end: a causality
    /// failure, said as one ("no cyan object found" made it read as a tracking failure).
    #[test]
    fn a_colour_change_played_backwards_starts_changed() {
        let (w, h) = (60usize, 20usize);
        let frame = |t: usize| {
            let mut f = vec![200u8; w * h * 3];
            let mut fill = |x0: usize, c: Color| {
                for y in 6..14 {
                    for x in x0..x0 + 8 {
                        f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c.rgb());
                    }
                }
            };
            fill(4 + 6 * t.min(3), Color::Blue);
            fill(30, if t < 3 { Color::Cyan } else { Color::Magenta });
            f
        };
        let forward: Vec<u8> = (0..12).flat_map(frame).collect();
        let backward: Vec<u8> = (0..12).rev().flat_map(frame).collect();
        let e = Expectation::CauseEffect(CauseEffect {
            cause: ObjectRef { color: Some(Color::Blue), shape: None },
            effect: ObjectRef { color: Some(Color::Cyan), shape: None },
            change: Change::ChangesColor,
            via: None,
        });
        let v = check(&e, &Context::new(&Video::new(w as u32, h as u32, 8.0, forward).unwrap()));
        assert!(v.pass, "{}", v.reason);
        let v = check(&e, &Context::new(&Video::new(w as u32, h as u32, 8.0, backward).unwrap()));
        assert!(!v.pass && v.kind == "starts changed", "{}: {}", v.kind, v.reason);
    }

    /// An expectation about a white, black or gray object is neither passed nor failed: the
    /// tracker cannot segment those colours, so the check is reported as not measurable.
    #[test]
    fn untracked_colours_are_not_measurable_rather_than_missing() {
        let v = red_square(2, |_| true);
        let ctx = Context::new(&v);
        for c in [Color::White, Color::Black, Color::Gray] {
            let e = Expectation::Motion(Motion {
                object: ObjectRef { color: Some(c), shape: None },
                direction: Direction::Right,
                speed: None,
            });
            let v = check(&e, &ctx);
            assert!(!v.pass && !v.measurable(), "{c:?}: {}", v.detail());
            assert!(v.detail().starts_with("n/a: "), "{}", v.detail());
        }
        let red = Expectation::Motion(Motion {
            object: ObjectRef { color: Some(Color::Red), shape: None },
            direction: Direction::Right,
            speed: None,
        });
        // Over a flat picture the camera cannot be measured: the motion is read on the screen,
        // and the reason says so.
        let verdict = check(&red, &ctx);
        assert!(
            verdict.pass
                && verdict.reason.ends_with(
                    "(on the screen: the camera could not be measured in 7 of 7 frame steps, too little texture)"
                ),
            "{}",
            verdict.reason
        );
        // One frame of it shows no motion: a failure that says so (it was "object barely seen"),
        // while where it is can still be judged.
        let one = Video::new(v.width(), v.height(), v.fps(), v.frame(0).to_vec()).unwrap();
        let verdict = check(&red, &Context::new(&one));
        assert!(
            verdict.measurable()
                && !verdict.pass
                && verdict.kind == "too few frames"
                && verdict.reason.contains("the video has 1 frame(s); motion is judged over at least 2"),
            "{}",
            verdict.detail()
        );
        let framing =
            Expectation::Framing(Framing { object: ObjectRef { color: Some(Color::Red), shape: None }, inside: true });
        assert!(check(&framing, &Context::new(&one)).pass);
    }

    /// A red disc parked a quarter of the width from a textured picture's centre, filmed by a
    /// camera that zooms by `zoom` and rolls by `roll` radians each frame about the frame's
    /// centre (the disc is part of the picture: it grows and turns with it), and shifted `dx`
    /// pixels a frame in the picture (its own motion).
    fn filmed_disc(frames: usize, zoom: f64, roll: f64, dx: f64) -> Video {
        let (w, h) = (192usize, 128usize);
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let mut data = Vec::with_capacity(frames * w * h * 3);
        for t in 0..frames {
            let (s, r) = (zoom.powi(t as i32), roll * t as f64);
            let disc = [-48.0 + dx * t as f64, 16.0];
            for y in 0..h {
                for x in 0..w {
                    // The picture's point that lands at pixel (x, y).
                    let (px, py) = ((x as f64 - cx) / s, (y as f64 - cy) / s);
                    let (u, v) = (px * r.cos() + py * r.sin(), -px * r.sin() + py * r.cos());
                    if (u - disc[0]).hypot(v - disc[1]) < 9.0 {
                        data.extend(Color::Red.rgb());
                    } else {
                        let l = 128.0 + 50.0 * (0.37 * u).sin() * (0.29 * v).cos() + 40.0 * (0.21 * u + 0.33 * v).sin();
                        data.extend([l.round() as u8; 3]);
                    }
                }
            }
        }
        Video::new(w as u32, h as u32, 24.0, data).unwrap()
    }

    /// A red (near) and a blue (far) square over a grey textured ground, at `near(t)`, `far(t)`
    /// and `ground(t)` pixels right of their starting places in frame `t` of 24.
    fn near_and_far(near: impl Fn(usize) -> f64, far: impl Fn(usize) -> f64, ground: impl Fn(usize) -> f64) -> Video {
        let (w, h) = (192usize, 96usize);
        let mut data = Vec::with_capacity(24 * w * h * 3);
        for t in 0..24 {
            let mut f = Vec::with_capacity(w * h * 3);
            for y in 0..h {
                for x in 0..w {
                    let (u, v) = (x as f64 - ground(t), y as f64);
                    let l = 128.0 + 50.0 * (0.37 * u).sin() * (0.29 * v).cos() + 40.0 * (0.21 * u + 0.33 * v).sin();
                    f.extend([l.round() as u8; 3]);
                }
            }
            for (x0, y0, size, color) in
                [(40.0 + near(t), 52.0, 16, Color::Red), (100.0 + far(t), 20.0, 12, Color::Blue)]
            {
                let x0 = x0.round() as usize;
                for y in y0 as usize..y0 as usize + size {
                    for x in x0..x0 + size {
                        f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&color.rgb());
                    }
                }
            }
            data.extend(f);
        }
        Video::new(w as u32, h as u32, 24.0, data).unwrap()
    }

    /// A red disc of radius `r` pixels on a grey 160×120 picture at `fps`, for `seconds`, its
    /// centre at `at(t)` (pixels, t in seconds; partly or wholly outside the picture where it
    /// says so).
    fn disc_clip(fps: f64, seconds: f64, r: f64, at: impl Fn(f64) -> (f64, f64)) -> Video {
        let (w, h) = (160usize, 120usize);
        let n = (fps * seconds).round() as usize;
        let mut data = Vec::with_capacity(n * w * h * 3);
        for k in 0..n {
            let (cx, cy) = at(k as f64 / fps);
            for y in 0..h {
                for x in 0..w {
                    let inside = (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy) <= r;
                    data.extend(if inside { Color::Red.rgb() } else { [140, 140, 140] });
                }
            }
        }
        Video::new(w as u32, h as u32, fps, data).unwrap()
    }

    /// A fall at 2 canvas heights/s² (240 px/s² on a 120-px picture) from `y0` pixels, starting
    /// `hold` seconds in, onto a floor at `floor` px where it stays.
    fn drop_from(y0: f64, hold: f64, floor: f64) -> impl Fn(f64) -> (f64, f64) {
        move |t: f64| {
            let s = (t - hold).max(0.0);
            (80.0, (y0 + 120.0 * s * s).min(floor))
        }
    }

    /// Gravity is read from the release: a ball held still half a second before it drops read
    /// 1.36 h/s² for 2.00 (its time at rest fitted as flight), held 2 s 0.27. A ball falling in
    /// from above the picture at 8 fps keeps three whole sightings: those the top edge cuts are
    /// placed by their bottom edge (fitted as seen, it read 2.72–3.08 at 8 fps, 2.81 at 12).
    #[test]
    fn gravity_is_read_from_the_release_and_through_the_top_edge() {
        let g = |range: [f64; 2]| {
            Expectation::Gravity(Gravity {
                object: ObjectRef { color: Some(Color::Red), shape: None },
                direction: Direction::Down,
                accel: Some(Bound { between: Some(range), ..Default::default() }),
                r2: None,
            })
        };
        for (hold, fps) in [(0.0, 24.0), (0.5, 24.0), (2.0, 24.0), (1.0, 8.0)] {
            let v = disc_clip(fps, hold + 1.5, 6.0, drop_from(20.0, hold, 110.0));
            let verdict = check(&g([1.9, 2.1]), &Context::new(&v));
            assert!(verdict.pass, "held {hold} s at {fps} fps: {}", verdict.reason);
            if hold > 0.0 {
                assert!(verdict.reason.contains("when it is let go"), "{}", verdict.reason);
            }
        }
        for fps in [8.0, 12.0, 24.0] {
            for phase in [0.0, 0.03, 0.06, 0.09] {
                let v = disc_clip(fps, 1.5, 14.0, move |t| drop_from(-14.0, 0.0, 62.0)(t + phase));
                let verdict = check(&g([1.85, 2.15]), &Context::new(&v));
                assert!(verdict.pass, "falling in at {fps} fps, {phase} s later: {}", verdict.reason);
            }
        }
        // Still throughout, it does not fall; held 1 s, then a fall too short to fit, it does
        // (it read "does not fall" as well).
        let still = check(&g([1.9, 2.1]), &Context::new(&disc_clip(24.0, 2.0, 6.0, |_| (80.0, 60.0))));
        assert_eq!(still.kind, "does not fall", "{}", still.reason);
        let short = check(&g([1.9, 2.1]), &Context::new(&disc_clip(8.0, 2.25, 10.0, drop_from(20.0, 1.0, 38.0))));
        assert!(!short.pass && short.kind != "does not fall", "{} {}", short.kind, short.reason);
    }

    /// A clip that ends during the first rebound gives a lower bound on the restitution: it
    /// passes a range with no top that it is inside, fails one whose top it is above, and leaves
    /// a closed range not measurable (each failed as "no rebound", the bounce counted). The whole
    /// rebound reads its restitution.
    #[test]
    fn a_clip_ending_in_the_rebound_bounds_the_restitution() {
        // Dropped 80 px at 240 px/s² onto a floor at 100 px, rebounding at 0.7 of its speed.
        let (fall, up) = ((2.0f64 * 80.0 / 240.0).sqrt(), 0.7 * 240.0 * (2.0f64 * 80.0 / 240.0).sqrt());
        let ball = move |t: f64| {
            let y = if t < fall {
                20.0 + 120.0 * t * t
            } else {
                let s = t - fall;
                (100.0 - up * s + 120.0 * s * s).min(100.0)
            };
            (80.0, y)
        };
        let bounce = |min: Option<f64>, max: Option<f64>| {
            Expectation::Bounce(Bounce {
                object: ObjectRef { color: Some(Color::Red), shape: None },
                count: None,
                restitution: Some(Bound { min, max, between: None }),
            })
        };
        let cut_short = disc_clip(24.0, fall + 0.3, 6.0, ball);
        let ctx = Context::new(&cut_short);
        let v = check(&bounce(Some(0.5), None), &ctx);
        assert!(v.pass && v.reason.contains("restitution at least 0.5"), "{}", v.reason);
        let v = check(&bounce(None, Some(0.5)), &ctx);
        assert!(!v.pass && v.kind == "restitution out of range", "{} {}", v.kind, v.reason);
        let v = check(&bounce(Some(0.5), Some(0.9)), &ctx);
        assert!(!v.measurable() && v.reason.contains("1 bounce(s); the clip ends during the rebound"), "{}", v.reason);
        let whole = disc_clip(24.0, fall + 1.5, 6.0, ball);
        let v = check(&bounce(Some(0.6), Some(0.8)), &Context::new(&whole));
        assert!(v.pass && !v.reason.contains("at least"), "{}", v.reason);
    }

    /// Speed is over the time the object moves: a ball that waits 1 s, rolls right at 0.3 h/s
    /// (36 px/s) and stops for the last second read 0.150 h/s over the whole clip; a ball rolling
    /// throughout reads its speed either way.
    #[test]
    fn motion_speed_is_over_the_time_it_moves() {
        let right = Expectation::Motion(Motion {
            object: ObjectRef { color: Some(Color::Red), shape: None },
            direction: Direction::Right,
            speed: Some(Bound { between: Some([0.28, 0.32]), ..Default::default() }),
        });
        let waits = disc_clip(24.0, 4.0, 6.0, |t| (20.0 + 36.0 * (t - 1.0).clamp(0.0, 2.0), 60.0));
        let v = check(&right, &Context::new(&waits));
        assert!(v.pass && v.reason.contains("while it moves (frames 24–72)"), "{}", v.reason);
        let rolls = disc_clip(24.0, 3.0, 6.0, |t| (20.0 + 36.0 * t, 60.0));
        let v = check(&right, &Context::new(&rolls));
        assert!(v.pass && v.value.is_some_and(|s| (s - 0.3).abs() < 0.005), "{}", v.reason);
    }

    /// A failure that may be of the wrong object says so: a red logo in a corner through the
    /// whole clip outweighs a red ball rolling in from the sixth frame, and `motion` fails on
    /// the logo; the reason names both and where the one judged was.
    #[test]
    fn a_failure_says_when_another_object_fits_the_reference_too() {
        let (w, h) = (160usize, 120usize);
        let mut data = Vec::new();
        for k in 0..24 {
            let mut f = [140u8, 140, 140].repeat(w * h);
            let mut paint = |x0: usize, y0: usize, inside: &dyn Fn(usize, usize) -> bool| {
                for y in y0..(y0 + 24).min(h) {
                    for x in x0..(x0 + 24).min(w) {
                        if inside(x - x0, y - y0) {
                            f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&Color::Red.rgb());
                        }
                    }
                }
            };
            paint(130, 90, &|_, _| true);
            if k >= 6 {
                paint(10 + 4 * k, 40, &|x, y| (x as f64 - 5.5).hypot(y as f64 - 5.5) <= 6.0);
            }
            data.extend(f);
        }
        let v = Video::new(w as u32, h as u32, 24.0, data).unwrap();
        let moves = |color| {
            Expectation::Motion(Motion {
                object: ObjectRef { color: Some(color), shape: None },
                direction: Direction::Right,
                speed: None,
            })
        };
        let ctx = Context::new(&v);
        let verdict = check(&moves(Color::Red), &ctx);
        assert!(!verdict.pass, "{}", verdict.reason);
        assert!(
            verdict.reason.contains("(another red object, tracked through at least half the clip, could be the object too; the one judged is first seen at (1.18, 0.85) h in frame 0"),
            "{}",
            verdict.reason
        );
        let ball = Expectation::Motion(Motion {
            object: ObjectRef { color: Some(Color::Red), shape: Some(Shape::Circle) },
            direction: Direction::Right,
            speed: None,
        });
        let verdict = check(&ball, &ctx);
        assert!(verdict.pass && !verdict.reason.contains("tracked through"), "{}", verdict.reason);
    }

    /// Parallax is the near object travelling farther on screen than the far one: a truck out
    /// and back brings both home and passes (it read "neither object moves", from the first and
    /// last frames alone); a near object rolling before a far one that stays put under a still
    /// camera is its own motion and fails (it passed with a ratio of 3394), while under a moving
    /// camera the far one is at infinity and passes; one way, the depth order decides, and a pan
    /// moving all alike fails.
    #[test]
    fn parallax_is_travel_under_a_moving_camera() {
        let claim = |near: Color, far: Color| {
            Expectation::Parallax(Parallax {
                near: ObjectRef { color: Some(near), shape: None },
                far: ObjectRef { color: Some(far), shape: None },
            })
        };
        let there_and_back = |k: f64| move |t: usize| k * (12.0 - (t as f64 - 12.0).abs());
        let one_way = |k: f64| move |t: usize| k * t as f64;
        let still = |_: usize| 0.0;
        for (v, red_nearer, blue_nearer, what) in [
            (
                near_and_far(there_and_back(4.0), there_and_back(1.5), there_and_back(1.0)),
                true,
                false,
                "a truck out and back",
            ),
            (near_and_far(one_way(2.5), one_way(0.8), one_way(0.5)), true, false, "a truck one way"),
            (near_and_far(one_way(2.5), still, one_way(1.0)), true, false, "a truck, the far object at infinity"),
            (near_and_far(one_way(2.5), still, still), false, false, "a near object rolling, the camera still"),
            (near_and_far(one_way(2.0), one_way(2.0), one_way(2.0)), false, false, "a pan"),
        ] {
            let ctx = Context::new(&v);
            let red = check(&claim(Color::Red, Color::Blue), &ctx);
            let blue = check(&claim(Color::Blue, Color::Red), &ctx);
            assert_eq!((red.pass, blue.pass), (red_nearer, blue_nearer), "{what}: {} / {}", red.reason, blue.reason);
            assert!(red.measurable() && blue.measurable(), "{what}: {} / {}", red.reason, blue.reason);
        }
        let rolling = check(&claim(Color::Red, Color::Blue), &Context::new(&near_and_far(one_way(2.5), still, still)));
        assert!(rolling.reason.contains("the near object's own motion"), "{}", rolling.reason);
        assert_eq!(rolling.kind, "no camera motion");
    }

    /// A parked object under a zoom or a roll does not move (the camera's shifts alone were
    /// taken out: a zoom in carried it outwards, "moves left 0.150 h", and a roll "down"),
    /// while one rolling right under the same zoom still moves right.
    #[test]
    fn a_zoom_or_a_roll_does_not_move_a_parked_object() {
        let red = |direction| {
            Expectation::Motion(Motion {
                object: ObjectRef { color: Some(Color::Red), shape: None },
                direction,
                speed: None,
            })
        };
        for (zoom, roll) in [(1.02, 0.0), (1.0 / 1.02, 0.0), (1.0, 0.015), (1.015, -0.01)] {
            let v = filmed_disc(16, zoom, roll, 0.0);
            let ctx = Context::new(&v);
            for direction in [Direction::Left, Direction::Right, Direction::Up, Direction::Down] {
                let verdict = check(&red(direction), &ctx);
                assert!(!verdict.pass && verdict.kind == "does not move", "{zoom} {roll}: {}", verdict.detail());
            }
            let v = filmed_disc(16, zoom, roll, 1.5);
            let verdict = check(&red(Direction::Right), &Context::new(&v));
            assert!(verdict.pass && !verdict.reason.contains("on the screen"), "{zoom} {roll}: {}", verdict.detail());
            let world = verdict.value.unwrap() / 24.0 * 128.0;
            assert!((world / 1.5 - 1.0).abs() < 0.1, "{zoom} {roll}: {world:.3} px a frame for 1.5");
        }
    }

    /// A red square greyed to half the tracker's saturation for red (a flat log grade) is not
    /// found, and the reason says its hue is there, too pale; in a picture without that hue it
    /// does not.
    #[test]
    fn a_colour_too_pale_to_track_is_said_so() {
        let (w, h) = (64usize, 48usize);
        let clip = |c: [u8; 3]| {
            let mut data = Vec::new();
            for t in 0..8 {
                let mut f = vec![128u8; w * h * 3];
                for y in 18..30 {
                    for x in 8 + 3 * t..20 + 3 * t {
                        f[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
                    }
                }
                data.extend(f);
            }
            Video::new(w as u32, h as u32, 8.0, data).unwrap()
        };
        let red = Expectation::Motion(Motion {
            object: ObjectRef { color: Some(Color::Red), shape: None },
            direction: Direction::Right,
            speed: None,
        });
        // Saturation 0.4 at red's hue.
        let v = check(&red, &Context::new(&clip([200, 120, 120])));
        assert!(v.kind == "object not found" && v.reason.contains("4.7% of the picture has red's hue"), "{}", v.reason);
        let v = check(&red, &Context::new(&clip([120, 120, 200])));
        assert!(v.kind == "object not found" && !v.reason.contains("hue"), "{}", v.reason);
        assert!(check(&red, &Context::new(&clip(Color::Red.rgb()))).pass);
    }

    /// A wrong way is said as it went, and an object that stays put is not "wrong direction".
    #[test]
    fn motion_says_which_way_the_object_went_or_that_it_stayed() {
        let to = |direction| {
            Expectation::Motion(Motion {
                object: ObjectRef { color: Some(Color::Red), shape: None },
                direction,
                speed: None,
            })
        };
        let moving = red_square(2, |_| true);
        let v = check(&to(Direction::Left), &Context::new(&moving));
        assert!(!v.pass && v.kind == "wrong direction", "{}", v.detail());
        assert!(v.reason.starts_with("moves ") && v.reason.contains(" h right, expected left (dx +"), "{}", v.reason);
        let still = red_square(0, |_| true);
        for d in [Direction::Left, Direction::Right, Direction::Up] {
            let v = check(&to(d), &Context::new(&still));
            assert!(!v.pass && v.kind == "does not move", "{d:?}: {}", v.detail());
            assert!(v.reason.contains("moves at most 0.000 h either way"), "{}", v.reason);
        }
        assert!(check(&to(Direction::Right), &Context::new(&moving)).pass);
    }

    /// The picture changes where a moving object was and where it went; on a still, noisy clip
    /// it changes nowhere beyond its noise.
    #[test]
    fn a_moved_object_changes_the_picture_at_both_ends() {
        let moving = red_square(2, |_| true);
        let ctx = Context::new(&moving);
        let (first, last) = ([4.0, 5.0, 10.0, 11.0], [18.0, 5.0, 24.0, 11.0]);
        assert!(!ctx.unchanged_in(0, 7, &[first, last]));
        assert!(ctx.unchanged_in(0, 7, &[[30.0, 0.0, 40.0, 16.0]]), "the background stays");
        let mut s = 7u32;
        let noisy: Vec<u8> = moving
            .frame(0)
            .iter()
            .cycle()
            .take(moving.as_bytes().len())
            .map(|&p| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                p.saturating_add(((s >> 16) % 7) as u8).saturating_sub(3)
            })
            .collect();
        let still = Video::new(40, 16, 8.0, noisy).unwrap();
        assert!(Context::new(&still).unchanged_in(0, 7, &[first, last]), "a frozen clip's noise");
    }

    #[test]
    fn a_moving_object_is_seen_and_a_frozen_or_fleeting_one_is_not() {
        let red = ObjectRef { color: Some(Color::Red), shape: None };
        let blue = ObjectRef { color: Some(Color::Blue), shape: None };
        let moving = red_square(2, |_| true);
        assert!(Context::new(&moving).sees_moving(&red));
        assert!(!Context::new(&moving).sees_moving(&blue), "a colour that is not there");
        assert!(!Context::new(&red_square(0, |_| true)).sees_moving(&red), "frozen");
        assert!(Context::new(&red_square(2, |t| t < 4)).sees_moving(&red), "half the frames");
        assert!(!Context::new(&red_square(2, |t| t < 3)).sees_moving(&red), "3 of 8 frames");
    }
}

mod aspect;
mod bounce;
mod camera;

pub use camera::classify as camera_class;
mod cause_effect;
mod continuity;
mod count;
mod framing;
mod gravity;
mod loop_;
mod motion;
mod parallax;
mod permanence;
mod persistence;
mod position;
mod shots;

use std::cell::OnceCell;

use crate::global_motion::{Motion as FrameMotion, camera_path};
use crate::track::{Observation, Track, track};
use crate::video::Video;

/// Bumped when any probe's verdicts can change; part of every probe score's cache key.
/// 2: videos are decoded with PyAV's colour conversion (YUV sources change by ±1).
/// 3: a check that cannot be measured (continuity; camera motion on a textureless picture) no
///    longer counts as a failure.
/// 4: the camera checks' Lucas–Kanade flow is computed the faster way (flow metrics version 3);
///    motions move by up to about 1e-4 relative.
/// 5: `bounce` without bounds asks for at least one bounce and no rebound gaining height.
/// 6: `continuity` is measured (PSNR of the held frames against the conditioning input) where
///    the case's conditioning input is given ([`Held`]); not measurable otherwise, as before.
/// 7: objects are segmented by hue and saturation (a shading model) instead of RGB distance,
///    fringes and setting-sized regions are dropped, highlights filled; camera fits need spread
///    support; triangles are told from circles by their moment; white, black and gray objects
///    are not measurable instead of not found; permanence compares whole sightings only.
/// 8: decoding follows each frame's colour tags (a BT.709 or full-range video was read as
///    BT.601 limited range).
/// 9: a video with non-square pixels is judged as a player shows it (resampled to square pixels),
///    so an anamorphic stream's aspect and round shapes are those people see.
/// 10: a bounce count that admits none passes only over a landing; permanence of an object never
///    hidden is not measurable.
/// 11: `continuity` and `loop` compare frames at a fixed analysis size ([`ANALYSIS_SHORT`]) rather
///    than at the video's own size (sensor noise and resolution decided verdicts: the same clip
///    failed at 640×360 and passed at 1080p); `continuity` judges each held end on its own (one
///    exact end lifted a wrong one by 3 dB); `loop` needs motion and a seam no larger than the
///    clip's own steps (a frozen clip passed at 59 dB, a clip cut short at 80% as a true loop);
///    `count` of white, black or gray objects is not measurable (it counted none, a failure).
/// 12: a `trail` may lose the painting object's own area (it left the frame: the oracle failed).
/// 13: `shots` finds cuts at the analysis size (compression grain read as cuts at 1080p) and is
///    not measurable where no tracked object is on either side of a cut; `aspect` calls a dark
///    border a bar only when it is also uniform (a night sky's dim, textured top was a bar); a
///    static `camera` must stay still over every half second and not roll (a pan that came back,
///    or a 6°/s roll, read as static).
/// 14: a bounce's rebound is looked for within a quarter second of the contact, not two frames
///    (at 60 fps and up small late rebounds were missed).
/// 15: `gravity` ends a flight where the object comes to rest, not only at a bounce (a fall onto
///    clay fitted its time at rest and failed); `motion` and `gravity` do not read sightings the
///    frame cuts along their axis (a still object entering during a pan "moved right", a ball
///    falling in from above fitted 35% too much acceleration); `bounce` reads the first peak of a
///    clip that starts mid-fall at its parabola's apex with a restitution range too; an object
///    that changes colour in place may be unseen for up to 0.3 s between its colours (two
///    frames: a blend that took 80 ms broke into two objects at 60 fps); a colour region that
///    spans the frame edge to edge (a twentieth of it or more) is a setting, and an object on a
///    setting is not dropped as its fringe (a honey-oak table read as an orange object, and a
///    red ball resting on it vanished); `cause_effect`'s effect named by the colour it starts in is
///    found where it shows that colour only at the end, so a reversed change fails as "starts
///    changed", not "object not found".
/// 16: a `trail`'s paint is its colour's pixels plus partial credit, by chroma, for the pixels
///    around its regions (a trail shaken by fractions of a pixel at half-resolution chroma lost
///    its edge rows in pairs, a fifth of it, and a trail that never faded failed at 87%).
/// 17: where a colour name's pure sRGB hue lies outside its 10° hue window, the window reaches it
///    and 5° past it (a pure blue #0000FF and a pure magenta #FF00FF were "not found"); the
///    trail's paint is credited from the wall's chroma and measured at a short side of at most
///    256 px.
/// 18: the probes judge a clip reduced to a short side of at most 480 px as it is decoded (area
///    averaging; the harness's `PROBE_SHORT`): every 1080p frame was held and segmented. A clip
///    shorter than a check reads (one frame; two for `gravity` and `bounce`) fails as "too few
///    frames", not "object barely seen". Area reductions weigh pixels by their covered part.
/// 19: the tracker joins patches of one colour with a gap of at most 1% of the short side between
///    them (a real cup's rim and body, sky between struts), so a photographed object is one
///    object and a broken-up sky one setting (a joined group none of whose patches is an
///    object's size is no object); `permanence` of an object first seen mid-clip inside the
///    frame is not measurable (a red cup that came out from behind a pillar a green one went
///    behind passed).
/// 20: `motion` files an object that stays put as "does not move" (it was "wrong direction",
///    beside mirrored motion) and says which way a wrongly moving one went ("moves -1.245 h
///    right" was printed for a ball that went left). Verdicts are unchanged.
/// 21: the tracker drops a region bordering an object ten times its size as that object's
///    fringe only when it is no thicker than a codec's bleed (a blue ball standing on a red cup
///    was dropped in most frames); `framing` files frames where the object is not seen away from the
///    border as "lost from view" (a still ball in mid-picture, found in 9 of 48 frames, "left the
///    frame"), and leaves them out of whether it left (not measurable below half the frames); `persistence` says "never changes"
///    or "changes once and stays changed" (it said "stays blue → purple"); `shots` counts no cut
///    for a jump the picture comes back from within two frames through flat frames or the same
///    picture in other tones (a flash), for flat frames opening or closing the clip, or for a
///    jump that keeps the picture in other tones (each channel standardised), and says them (a two-frame brightness
///    flicker read as two cuts, a white-balance shift as one); across a hard cut, positions
///    in the new shot are mapped onto the old one (scale from the objects' sizes, place from
///    where the old shot would have shown them), so `motion`, `gravity`, `bounce` and
///    `cause_effect` read one path through a cut to a closer shot (a cube's 0.3 h/s read 0.359,
///    and a bounce "gained height" at restitution 3.3); `motion` under a still camera fails
///    "does not move" where the picture is unchanged both where the object was and where it
///    went (a frozen photo of a cup "moved left 0.417 h": the track hopped between look-alike
///    regions).
/// 22: a floor contact needs a fall into it (its last two steps descending, by a twentieth of
///    the object's height over the rebound's time, 0.005–0.02 h): a photographed cup at rest
///    jittering by a few pixels read as bouncing after a plain landing, and `gravity`, fitted up
///    to that false contact, pointed up (its flight now ends at the first contact or where it
///    comes to rest, whichever is first); the tracker joins a still object that turns back to a
///    colour to itself, just seen in place in the other colour, rather than to something of that
///    colour seen long before (a cup green and back to red "vanished"
///    in view and passed `persistence`); `find` takes a track seen in the colour named in a third
///    of its sightings when none starts or mostly is that colour ("no red object found" for a
///    cup green then red); `persistence` of a colour reads a colour seen for at most 0.3 s
///    between two others as the blend from one to the next (a cup fading from green to blue over
///    0.25 s "changed back": green → cyan → blue).
/// 23: `gravity` judges the first flight long enough to fit a parabola, not only the flight
///    before the first contact (a clip opening on a bounce, its first contact 1.5 frames in,
///    failed "no free flight" with four full parabolas after it); `loop` judges a jump across the
///    seam only by objects seen whole and in one colour throughout, each against first-frame
///    objects of its end colour, its main colour or itself, and past its own size only where its
///    area changed (every true loop over a colour photograph failed on a patch that came and went,
///    merged, or flipped between red and orange: "the red object jumps 214 px");
///    a static `camera` is judged over half seconds of its path smoothed over a quarter second (a
///    tripod shot held by hand, trembling ±5 px at 5 Hz, "tilted up at 0.040/s"); `continuity`
///    fails an output that is only what it holds (an extension that returned its input passed
///    at 45 dB) and, for i2v and the extensions, a jump where the held frames meet the generated
///    ones (a colour shift right after an exact head passed); `framing` counts
///    frames where the object is unseen between two sightings clear of the border, one showing it
///    partly covered, as inside, hidden in the picture (a cup hidden 15 frames by another, which
///    `permanence` passed, was
///    "lost from view"), and `inside: false` needs the object out of the frame, or cut by its
///    border, after being in it (a ball rolling in and staying passed as leaving); `permanence`
///    of an object that leaves the frame for good, never out of sight before, is not measurable (it
///    passed as "hidden 0 frame(s), same identity"); `position` at the start (end) is not
///    measurable where the two are first (last) seen together more than a quarter second from
///    it, and says which frames it judged; `find` takes the first seen of the tracks within a
///    tenth of the most seen (a cup's track broken where it passed behind another was read "at
///    the start" at frame 36); a static `camera`'s path is smoothed as positions, so any clip over
///    half a second is judged and a short move is not overstated.
/// 24: the tracker's orange needs saturation 0.8 (it took 0.658): tan and dark skin, brown hair
///    and wood grain were orange objects (a ball rolling on oak or walnut was "not found", its
///    grain dropped as the setting with the ball; a face was "the orange ball" of a position
///    check); an object on a paler surface of its own hue, dropped with it as the setting (a
///    ball on straw, lush grass, dark denim, teak), is found inside the setting by its own
///    saturated pixels; `cause_effect`'s effect moving in its first frame step fails "already moving" (a
///    push played backwards passed as "contact at frame 0, then starts moving at frame 2").
/// 25: the camera's zoom and roll are taken out of objects' positions with its shifts (a parked
///    bike "moved left 0.150 h" under a zoom in, "down 0.237 h" under a roll); the camera's
///    motion is fitted by residuals within 0.25 px (MSAC), not by points within 0.5 px (a tram
///    over 35–40% of a tripod shot read "pan left 0.034/s" and its own motion 0.109 h/s for
///    0.178); `motion` says where the camera could not be measured over most of the way (its
///    reading is on the screen); a camera still on average that expected a move says how it
///    moved (a roll); a bounce's rebound lifts the object's bottom too (a landed cup's centre
///    rose 0.006 h under a warm grade or an exposure drift, its bottom still on the floor, and
///    read as 1–2 bounces).
/// 26: `parallax` reads each object's travel (the farthest from where both were first seen), not
///    first-to-last displacement (a truck out and back read "neither object moves"), and fails a
///    near object moving before a far one that stays put (a still camera; it passed with a ratio
///    of 3394); shape classes are read from the smallest rectangle around the object at any angle
///    and its affine moment, the same however it is turned or stretched (a box at 10° was a
///    circle and at 30–45° a triangle, a ball flattened 1.44:1 a triangle); `gravity` is fitted
///    from the object's release (held 0.5 s, it read 1.36 h/s² for 2.00) and places sightings the
///    frame's top or bottom cuts by their other edge where fewer than four are whole (a ball
///    falling in at 8 fps read 2.72–3.08); `motion`'s speed is over the time the object moves (a
///    ball rolling from 1 s in read 0.198 h/s for 0.3); `bounce` with a restitution range reads
///    the lower bound of a clip that ends during the rebound (it failed as "no rebound");
///    `cause_effect` reads an effect the frame's border cuts by its uncut edge (a push played
///    backwards whose effect had rolled out of the picture passed).
pub const VERSION: u32 = 26;

/// The short side, in pixels, at which `continuity` and `loop` compare frames: reduced by area
/// averaging, which averages sensor noise and compression away (σ/4 at 360p, σ/11 at 1080p) and
/// makes a frame's PSNR mean the same thing at every resolution. Smaller videos are compared at
/// their own size.
pub const ANALYSIS_SHORT: u32 = 96;

/// The size frames of a `width × height` video are compared at: its aspect ratio, short side
/// [`ANALYSIS_SHORT`] (or its own, if smaller).
pub fn analysis_size(width: u32, height: u32) -> (u32, u32) {
    size_at_most(width, height, ANALYSIS_SHORT)
}

/// `width × height` scaled to a short side of `short`, its aspect ratio kept; itself when its
/// short side is no larger.
pub fn size_at_most(width: u32, height: u32, short: u32) -> (u32, u32) {
    let s = width.min(height);
    if s <= short {
        return (width, height);
    }
    let scale = f64::from(short) / f64::from(s);
    let side = |x: u32| ((f64::from(x) * scale).round() as u32).max(1);
    (side(width), side(height))
}

/// `video` at its [`analysis_size`] (area averaging, antialiased); itself when that is its size.
pub fn at_analysis_size(video: &Video) -> std::borrow::Cow<'_, Video> {
    let (w, h) = analysis_size(video.width(), video.height());
    if (w, h) == (video.width(), video.height()) {
        return std::borrow::Cow::Borrowed(video);
    }
    std::borrow::Cow::Owned(crate::preprocess::transform_video(
        video,
        crate::preprocess::Spatial::Stretch { width: w, height: h },
        crate::preprocess::Filter::Area,
        true,
    ))
}

/// Whether `o` lies within its own width (height) of a side of a `w × h` frame: one step of a
/// fast object takes it out from there (`framing`'s out of the frame, `permanence`'s gone for
/// good rather than vanished).
pub fn near_border(o: &Observation, w: f64, h: f64) -> bool {
    let (bw, bh) = (o.bbox[2] - o.bbox[0], o.bbox[3] - o.bbox[1]);
    o.bbox[0] <= bw || o.bbox[1] <= bh || o.bbox[2] >= w - bw || o.bbox[3] >= h - bh
}

/// How long (seconds) from the clip's start or end is still its start or end ([`Context::late`]).
pub const LATE_S: f64 = 0.25;

/// The kind of a verdict that measured nothing: neither a pass nor a failure.
pub const NOT_MEASURABLE: &str = "not measurable";

/// The outcome of one expectation on one video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub pass: bool,
    /// The measured quantity the verdict rests on (units in the reason), when there is one.
    pub value: Option<f64>,
    pub reason: String,
    /// What kind of failure this is, in a few fixed words ("object not found", "wrong
    /// direction"): reports group failures on it, exactly, while the reason keeps the numbers.
    /// Empty for a pass.
    pub kind: String,
}

impl Verdict {
    /// The verdict of a measured check: `kind` names the failure when `pass` is false.
    pub fn new(pass: bool, kind: &str, value: Option<f64>, reason: impl Into<String>) -> Verdict {
        let kind = if pass { String::new() } else { kind.to_string() };
        Verdict { pass, value, reason: reason.into(), kind }
    }

    pub fn fail(kind: &str, reason: impl Into<String>) -> Verdict {
        Verdict::new(false, kind, None, reason)
    }

    /// A check that could not be measured on this video: reported, never counted.
    pub fn not_measurable(reason: impl Into<String>) -> Verdict {
        Verdict::new(false, NOT_MEASURABLE, None, reason)
    }

    pub fn measurable(&self) -> bool {
        self.kind != NOT_MEASURABLE
    }

    /// The verdict as the sample's detail line: `pass: reason` or `FAIL (kind): reason`
    /// (`videval_reports::results::parse_failure` reads it back).
    pub fn detail(&self) -> String {
        match (self.pass, self.measurable()) {
            (true, _) => format!("pass: {}", self.reason),
            (false, false) => format!("n/a: {}", self.reason),
            (false, true) => format!("FAIL ({}): {}", self.kind, self.reason),
        }
    }
}

/// "StartsMoving" → "starts moving": an enum's name as words for reasons.
pub fn words(name: impl std::fmt::Debug) -> String {
    let mut out = String::new();
    for (i, c) in format!("{name:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// What probes measure a video through, computed once and shared by all its expectations.
pub struct Context<'a> {
    pub video: &'a Video,
    /// The conditioning input a conditioned mode holds in the output, when the caller has it.
    pub held: Option<&'a Held>,
    seen: Seen<'a>,
}

/// What the probes read off a clip (its object tracks and camera path), computed on first use:
/// a context's own, or one shared by every context of the same clip ([`Analysis`]).
enum Seen<'a> {
    Own(Analysis),
    Shared(&'a Analysis),
}

/// The tracks and camera path of one clip, computed on first use. Contexts of the same clip made
/// with [`Context::sharing`] read one `Analysis`, so each is computed once per clip however many
/// probe kinds judge it.
#[derive(Default)]
pub struct Analysis {
    tracks: OnceCell<Vec<Track>>,
    camera: OnceCell<Vec<FrameMotion>>,
    /// The clip at the analysis size, where it is larger (`loop` and `shots` compare frames there).
    reduced: OnceCell<Option<Video>>,
    /// Each hard cut (its first frame) and how positions after it map to before it.
    shots: OnceCell<Vec<(usize, Option<ShotMap>)>>,
    /// `shots`' cuts, flashes and shifts of tone, found once for the probe and the shot maps.
    cuts: OnceCell<(Vec<usize>, Vec<usize>, Vec<usize>)>,
    /// Each frame's mean absolute difference from the one before, at the analysis size (8-bit
    /// levels), and their median: read by `shots` and every `unchanged_in` (which walked the
    /// whole clip again for each motion check).
    steps: OnceCell<(Vec<f64>, f64)>,
}

/// How many frames after a cut the objects that map its shot onto the old one are looked for.
const SHOT_AHEAD: usize = 6;

/// How a position in the frame after a cut maps to the frame before it: the new shot is the old
/// one scaled by `scale` (1.5 for a closer shot) about some point, `before = (after − from) /
/// scale + to`. Estimated from the objects of one colour on both sides of the cut, as `shots`
/// compares them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShotMap {
    pub scale: f64,
    pub from: [f64; 2],
    pub to: [f64; 2],
}

impl ShotMap {
    fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        [(p[0] - self.from[0]) / self.scale + self.to[0], (p[1] - self.from[1]) / self.scale + self.to[1]]
    }
}

/// What a conditioned mode holds in its output: the clip the output must start with (i2v: the
/// image, one frame; extend forward: the head; interpolate: the first clip) and the one it must
/// end with (extend backward: the tail; interpolate: the second clip), as the case gave them.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub head: Option<Video>,
    pub tail: Option<Video>,
    /// Whether the output must make frames of its own besides those it holds (every mode but
    /// edit, whose source clip spans it): an extension that returned its input passed.
    pub adds: bool,
}

impl<'a> Context<'a> {
    pub fn new(video: &'a Video) -> Context<'a> {
        Context { video, held: None, seen: Seen::Own(Analysis::default()) }
    }

    /// A context that knows the conditioning input (for `continuity`).
    pub fn with_held(video: &'a Video, held: Option<&'a Held>) -> Context<'a> {
        Context { held, ..Context::new(video) }
    }

    /// A context of `video` that reads (and fills) `analysis`, which must be of this same clip:
    /// probe kinds judged in turn share its tracks and camera path.
    pub fn sharing(video: &'a Video, held: Option<&'a Held>, analysis: &'a Analysis) -> Context<'a> {
        Context { video, held, seen: Seen::Shared(analysis) }
    }

    fn analysis(&self) -> &Analysis {
        match &self.seen {
            Seen::Own(a) => a,
            Seen::Shared(a) => a,
        }
    }

    pub fn tracks(&self) -> &[Track] {
        self.analysis().tracks.get_or_init(|| track(self.video))
    }

    pub fn camera(&self) -> &[FrameMotion] {
        self.analysis().camera.get_or_init(|| camera_path(self.video))
    }

    /// The clip at the analysis size ([`at_analysis_size`]), reduced once per clip however many
    /// probe kinds compare frames there.
    /// Each step's mean absolute difference at the analysis size (8-bit levels) and their
    /// median, found once a clip.
    pub fn steps(&self) -> &(Vec<f64>, f64) {
        self.analysis().steps.get_or_init(|| {
            let v = self.reduced();
            let diff = |a: &[u8], b: &[u8]| {
                a.iter().zip(b).map(|(&x, &y)| u64::from(x.abs_diff(y))).sum::<u64>() as f64 / a.len().max(1) as f64
            };
            let diffs: Vec<f64> = (1..v.len()).map(|t| diff(v.frame(t - 1), v.frame(t))).collect();
            let mut sorted = diffs.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
            (diffs, median)
        })
    }

    pub fn reduced(&self) -> &Video {
        let reduced = self.analysis().reduced.get_or_init(|| match at_analysis_size(self.video) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(v) => Some(v),
        });
        reduced.as_ref().unwrap_or(self.video)
    }

    /// Whether the picture inside each box (full-size pixels) is the same in frames `t0` and
    /// `t1`, at the analysis size: their mean absolute difference there at most twice the
    /// clip's median frame-to-frame difference and a level. An object that moved from one box
    /// to the other changes both; a track that jumped between look-alike regions of a still
    /// picture changes neither (a frozen photo of a cup "moved left 0.417 h").
    pub fn unchanged_in(&self, t0: usize, t1: usize, boxes: &[[f64; 4]]) -> bool {
        let v = self.reduced();
        let (w, h) = (v.width() as usize, v.height() as usize);
        let scale = f64::from(v.width()) / f64::from(self.video.width());
        let mad = |a: &[u8], b: &[u8], region: Option<[usize; 4]>| -> f64 {
            let [x0, y0, x1, y1] = region.unwrap_or([0, 0, w, h]);
            let mut sum = 0u64;
            for y in y0..y1 {
                let row = (y * w + x0) * 3..(y * w + x1) * 3;
                sum += a[row.clone()].iter().zip(&b[row]).map(|(&p, &q)| u64::from(p.abs_diff(q))).sum::<u64>();
            }
            sum as f64 / (((x1 - x0) * (y1 - y0) * 3).max(1)) as f64
        };
        let noise = self.steps().1;
        boxes.iter().all(|b| {
            let px = |x: f64, n: usize| ((x * scale).max(0.0) as usize).min(n);
            let region = [
                px(b[0], w),
                px(b[1], h),
                px(b[2], w).max(px(b[0], w) + 1).min(w),
                px(b[3], h).max(px(b[1], h) + 1).min(h),
            ];
            region[0] < region[2]
                && region[1] < region[3]
                && mad(v.frame(t0), v.frame(t1), Some(region)) <= 2.0 * noise + 1.0
        })
    }

    /// Pixels per canvas height (the unit of positions and speeds in expectations).
    pub fn unit(&self) -> f64 {
        f64::from(self.video.height())
    }

    /// Whether `frames` frames from the clip's start (or end) are later than [`LATE_S`] and two
    /// frames: an object first seen there was not there at the start (`permanence`), two objects
    /// first seen together there were not seen together at the start (`position`).
    pub fn late(&self, frames: usize) -> bool {
        frames > 2 && frames as f64 * self.dt() > LATE_S
    }

    pub fn dt(&self) -> f64 {
        1.0 / self.video.fps()
    }

    /// The track an object reference means: the longest-seen track whose first or main colour
    /// and shape match, else one seen in the colour named in a third of its sightings at least (a
    /// cup green for half the clip and red for the other half, the reverse of a change to green,
    /// was "no red object found"). An object named by a colour the tracker does not segment
    /// (white, black, gray: the colours of backgrounds, shadows and highlights) cannot be found
    /// or missed: the check is not measurable.
    pub fn find(&self, r: &ObjectRef) -> Result<&Track, Verdict> {
        if let Some(c) = r.color.filter(|c| !crate::track::TRACKED.contains(c)) {
            return Err(Verdict::not_measurable(format!(
                "{} objects cannot be told from the background: the tracker follows saturated colours",
                c.name()
            )));
        }
        self.lookup(r).ok_or_else(|| {
            // Where the colour's hue is there, too pale to be the colour, the reason says so (a
            // flat log grade halved a red cup's saturation: "not found", as a dropped object).
            let v = self.reduced();
            let (n, k) = (v.len(), v.len().min(8));
            let pale = r.color.filter(|_| k > 0).map_or(0.0, |c| {
                (0..k).map(|i| crate::track::pale_fraction(v.frame(i * n / k), c)).sum::<f64>() / k as f64
            });
            let hint = match r.color {
                Some(c) if pale >= 0.001 => format!(
                    " ({:.1}% of the picture has {}'s hue at under the saturation the tracker needs: an object there paler than it follows, or a desaturated look, would read so)",
                    100.0 * pale,
                    c.name()
                ),
                _ => String::new(),
            };
            Verdict::fail("object not found", format!("no {} found in the video{hint}", describe(r)))
        })
    }

    /// The track [`Context::find`] takes for `r`, if any, without the reason there is none (the
    /// generator's colour test and `video tracks` ask for every colour, and need no reason).
    pub fn lookup(&self, r: &ObjectRef) -> Option<&Track> {
        let matches = |t: &Track| refers_to(r, t);
        let a_third = |t: &Track| {
            let shape_ok = r.shape.is_none_or(|s| t.main_shape() == Some(s));
            let (n, held) = t.seen().fold((0, 0), |(n, h), (_, o)| (n + 1, h + usize::from(Some(o.color) == r.color)));
            shape_ok && held >= 2 && 3 * held >= n
        };
        // Of those within a tenth of the most seen, the one seen first (of a cup's track broken
        // in two where it passed behind another, the later half won, and its place "at the
        // start" was read at frame 36).
        let longest = |keep: &dyn Fn(&Track) -> bool| {
            let kept: Vec<&Track> = self.tracks().iter().filter(|t| keep(t)).collect();
            let most = kept.iter().map(|t| t.weight()).fold(0.0, f64::max);
            let first = |t: &Track| t.first().map_or(usize::MAX, |(k, _)| k);
            kept.into_iter().filter(|t| t.weight() >= 0.9 * most).min_by_key(|t| first(t))
        };
        longest(&matches).or_else(|| longest(&a_third))
    }

    /// The other tracks `r` names as well as `chosen` (by how they look first or mostly), each
    /// seen in at least half the clip's frames: a reading of `chosen` may be of the wrong one
    /// (a red watermark seen throughout outweighed a red ball rolling in after the first frame;
    /// a chain of red cars passing behind a red ball outweighed it).
    pub fn rivals(&self, r: &ObjectRef, chosen: &Track) -> Vec<&Track> {
        let half = self.video.len().div_ceil(2);
        self.tracks().iter().filter(|t| t.id != chosen.id && refers_to(r, t) && t.seen().count() >= half).collect()
    }

    /// Whether `r` is there as a moving object: [`Context::lookup`] finds it, in at least half the
    /// frames, and its centre moves at least 2 px between its first and last sighting. The
    /// generator's colour test applies this to text-to-video samples.
    pub fn sees_moving(&self, r: &ObjectRef) -> bool {
        let Some(t) = self.lookup(r) else { return false };
        let (Some((_, a)), Some((_, b))) = (t.first(), t.last()) else { return false };
        2 * t.seen().count() >= self.video.frames().len()
            && (a.center[0] - b.center[0]).hypot(a.center[1] - b.center[1]) >= 2.0
    }

    /// Where the content seen at `p` (pixels) in frame `to` was in frame `from` (`from <= to`):
    /// the camera's steps between them composed as similarities (shift, zoom and roll about the
    /// frame's centre) and undone. Shifts alone were undone, so a parked bike at a quarter of the
    /// width "moved left 0.150 h" under a zoom the `camera` probe read right, and "down 0.237 h"
    /// under a 10°/s roll.
    pub fn unmove(&self, from: usize, to: usize, p: [f64; 2]) -> [f64; 2] {
        // Content at z (complex, from the centre) in frame `from` is at a·z + b in frame `to`.
        let mul = |x: [f64; 2], y: [f64; 2]| [x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]];
        let (a, b) = self.camera().iter().take(to).skip(from).fold(([1.0, 0.0], [0.0, 0.0]), |(a, b), m| {
            let step = [m.scale * m.rotation.cos(), m.scale * m.rotation.sin()];
            let turned = mul(step, b);
            (mul(step, a), [turned[0] + m.tx, turned[1] + m.ty])
        });
        let (cx, cy) = (f64::from(self.video.width()) / 2.0, f64::from(self.video.height()) / 2.0);
        let w = [p[0] - cx - b[0], p[1] - cy - b[1]];
        let n = a[0] * a[0] + a[1] * a[1];
        let z = mul(w, [a[0] / n, -a[1] / n]);
        [z[0] + cx, z[1] + cy]
    }

    /// The hard cuts (`shots`' cuts, flashes and shifts of tone left out), each with how its new
    /// shot maps onto the one before ([`ShotMap`]), `None` where no object of one colour is seen
    /// alone on both sides of it.
    pub fn shot_maps(&self) -> &[(usize, Option<ShotMap>)] {
        self.analysis().shots.get_or_init(|| {
            // The cuts found once (each cut looked them all up again for the next one).
            let cuts = shots::cut_frames(self);
            let next = |i: usize| cuts.get(i + 1).copied().unwrap_or(self.video.len());
            cuts.iter().enumerate().map(|(i, &c)| (c, self.shot_map(c, next(i)))).collect()
        })
    }

    /// How the shot after the cut at `c` (lasting to `next_cut`) maps onto the one before, from each colour seen alone
    /// and whole (the frame cuts neither its sides nor its top or bottom: a closer shot crops
    /// what was near the border, and a cropped box is neither its size nor its place) in the
    /// last frame before the cut and within [`SHOT_AHEAD`] frames after it: the scale from their
    /// sizes, the place from where the old shot would have shown it then (its last three
    /// sightings carried on at their velocity and acceleration: anchored where it last was, a
    /// falling ball stood still for a frame and the fit read 2.27 h/s² for 2.0).
    fn shot_map(&self, c: usize, next_cut: usize) -> Option<ShotMap> {
        let whole = |o: &Observation| !self.cut_by_frame(o, false) && !self.cut_by_frame(o, true);
        let size = |o: &Observation| ((o.bbox[2] - o.bbox[0]) * (o.bbox[3] - o.bbox[1])).max(1.0).sqrt();
        let before = shots::objects_alone_at(self, c - 1);
        let mut pairs: Vec<(f64, [f64; 2], [f64; 2])> = Vec::new();
        for (color, b) in before.iter().filter(|(_, b)| whole(b)) {
            // Its last sightings in the old shot, oldest first, consecutive frames.
            let mut hist = vec![b.center];
            for t in (c.saturating_sub(3)..c - 1).rev() {
                match shots::objects_alone_at(self, t).get(color) {
                    Some(o) => hist.insert(0, o.center),
                    None => break,
                }
            }
            let ahead = (c..(c + SHOT_AHEAD).min(next_cut))
                .find_map(|t| shots::objects_alone_at(self, t).get(color).filter(|a| whole(a)).map(|a| (t, *a)));
            let Some((t, a)) = ahead else { continue };
            let k = (t + 1 - c) as f64;
            let p0 = hist[hist.len() - 1];
            let (v, acc) = match hist.as_slice() {
                [pm2, pm1, _] => {
                    let acc = [p0[0] - 2.0 * pm1[0] + pm2[0], p0[1] - 2.0 * pm1[1] + pm2[1]];
                    ([p0[0] - pm1[0] + acc[0] / 2.0, p0[1] - pm1[1] + acc[1] / 2.0], acc)
                }
                [pm1, _] => ([p0[0] - pm1[0], p0[1] - pm1[1]], [0.0, 0.0]),
                _ => ([0.0, 0.0], [0.0, 0.0]),
            };
            let predicted = [p0[0] + v[0] * k + acc[0] * k * k / 2.0, p0[1] + v[1] * k + acc[1] * k * k / 2.0];
            // Its place in the new shot's first frame (the camera's path within the shot taken out).
            pairs.push((size(a) / size(b), self.unmove(c, t, a.center), predicted));
        }
        if pairs.is_empty() {
            return None;
        }
        let mut scales: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        scales.sort_by(f64::total_cmp);
        let n = pairs.len() as f64;
        let mean = |f: fn(&(f64, [f64; 2], [f64; 2])) -> [f64; 2]| {
            let s = pairs.iter().map(f).fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
            [s[0] / n, s[1] / n]
        };
        Some(ShotMap { scale: scales[scales.len() / 2], from: mean(|p| p.1), to: mean(|p| p.2) })
    }

    /// An observation's centre in the first shot's picture with the camera's displacement
    /// removed (world-like pixels): within a shot the camera's path is taken out; across a cut
    /// the new shot is mapped onto the old ([`ShotMap`]; a cut to a 1.5× closer shot read a
    /// cube sliding at 0.3 h/s as 0.359 and a bounce as gaining height). Where a cut's map is
    /// unknown, its shot is taken as it stands.
    pub fn world_center(&self, t: usize, o: &Observation) -> [f64; 2] {
        let (mut p, mut at) = (o.center, t);
        for &(c, map) in self.shot_maps().iter().rev().filter(|(c, _)| *c <= t) {
            p = self.unmove(c, at, p);
            if let Some(m) = map {
                p = m.apply(p);
            }
            at = c - 1;
        }
        self.unmove(0, at, p)
    }

    /// A track's lowest points (the middle of its box's bottom edge) at each sighting, placed as
    /// [`Context::world_center`] places centres, in canvas heights; `None` where the frame's
    /// bottom edge cuts it (the edge, not the object's bottom).
    pub fn world_bottoms(&self, track: &Track) -> Vec<Option<f64>> {
        let h = f64::from(self.video.height());
        track
            .seen()
            .map(|(t, o)| {
                let bottom = Observation { center: [o.center[0], o.bbox[3]], ..o.clone() };
                (o.bbox[3] < h).then(|| self.world_center(t, &bottom)[1] / self.unit())
            })
            .collect()
    }

    /// Whether the frame cuts `o` at its left or right edge (`vertical` false) or at its top or
    /// bottom edge (true): the centre of what is seen then lies inside the object's, by up to
    /// its radius.
    pub fn cut_by_frame(&self, o: &Observation, vertical: bool) -> bool {
        let (w, h) = (f64::from(self.video.width()), f64::from(self.video.height()));
        if vertical { o.bbox[1] <= 0.0 || o.bbox[3] >= h } else { o.bbox[0] <= 0.0 || o.bbox[2] >= w }
    }

    /// A track's sightings, without those the frame cuts along that axis where at least `min`
    /// others remain (else all of them): a still object entering or leaving the frame during a
    /// pan read as moving the pan's way ("moves right 0.06 h"), and a ball falling in from above
    /// fitted an acceleration 35% high.
    pub fn whole_sightings<'t>(&self, track: &'t Track, vertical: bool, min: usize) -> Vec<(usize, &'t Observation)> {
        let whole: Vec<(usize, &Observation)> = track.seen().filter(|(_, o)| !self.cut_by_frame(o, vertical)).collect();
        if whole.len() >= min { whole } else { track.seen().collect() }
    }
}

/// "red square", "red object", "square".
pub fn describe(r: &ObjectRef) -> String {
    match (r.color, r.shape) {
        (Some(c), Some(s)) => format!("{} {}", c.name(), s.name()),
        (Some(c), None) => format!("{} object", c.name()),
        (None, Some(s)) => s.name().to_string(),
        (None, None) => "object".into(),
    }
}

/// Whether `r` names track `t`: by the colour and shape it first shows, or shows most.
fn refers_to(r: &ObjectRef, t: &Track) -> bool {
    let first = t.first().map(|(_, o)| o);
    let color_ok = r.color.is_none_or(|c| first.is_some_and(|o| o.color == c) || t.main_color() == Some(c));
    let shape_ok = r.shape.is_none_or(|s| first.is_some_and(|o| o.shape == s) || t.main_shape() == Some(s));
    color_ok && shape_ok
}

/// Checks one expectation against the video behind `ctx`. A failure whose object could have been
/// another track, seen through at least half the clip, says so and where the one judged was.
pub fn check(e: &Expectation, ctx: &Context<'_>) -> Verdict {
    let mut v = check_one(e, ctx);
    if v.pass || !v.measurable() || matches!(e, Expectation::Count(_)) {
        return v;
    }
    let unit = ctx.unit();
    for (field, r) in e.objects() {
        let Some(chosen) = ctx.lookup(r) else { continue };
        let rivals = ctx.rivals(r, chosen).len();
        if let (true, Some((k, o))) = (rivals > 0, chosen.first()) {
            let others = if rivals == 1 {
                format!("another {}", describe(r))
            } else {
                format!("{rivals} other {}s", describe(r))
            };
            let role = if field == "object" { "object".to_string() } else { format!("{field} object") };
            v.reason.push_str(&format!(
                " ({others}, tracked through at least half the clip, could be the {role} too; the one judged is first seen at ({:.2}, {:.2}) h in frame {k}: `videval video tracks` lists them)",
                o.center[0] / unit,
                o.center[1] / unit
            ));
        }
    }
    v
}

fn check_one(e: &Expectation, ctx: &Context<'_>) -> Verdict {
    // Too short a clip shows none of the change asked for: a failure, said as such (a one-frame
    // clip failed `motion` and `bounce` as "object barely seen", with the object in full view).
    // Not "not measurable": a model that answers motion prompts with one frame would pass the
    // gate. A suite cannot ask for fewer frames than its checks read (lint refuses it).
    let need = e.min_frames();
    if ctx.video.len() < need {
        return Verdict::fail(
            "too few frames",
            format!("the video has {} frame(s); {} is judged over at least {need}", ctx.video.len(), e.probe()),
        );
    }
    match e {
        Expectation::Gravity(p) => gravity::check(p, ctx),
        Expectation::Bounce(p) => bounce::check(p, ctx),
        Expectation::CauseEffect(p) => cause_effect::check(p, ctx),
        Expectation::Position(p) => position::check(p, ctx),
        Expectation::Motion(p) => motion::check(p, ctx),
        Expectation::Camera(p) => camera::check(p, ctx),
        Expectation::Permanence(p) => permanence::check(p, ctx),
        Expectation::Persistence(p) => persistence::check(p, ctx),
        Expectation::Framing(p) => framing::check(p, ctx),
        Expectation::Aspect(p) => aspect::check(p, ctx),
        Expectation::Continuity(p) => continuity::check(p, ctx),
        Expectation::Loop(p) => loop_::check(p, ctx),
        Expectation::Count(p) => count::check(p, ctx),
        Expectation::Parallax(p) => parallax::check(p, ctx),
        Expectation::Shots(p) => shots::check(p, ctx),
    }
}

/// PSNR reported for identical frames (the MSE is 0).
pub const IDENTICAL_DB: f64 = 99.0;

/// PSNR in dB of 8-bit frames against their references, one MSE pooled over every pair's
/// pixels; [`IDENTICAL_DB`] when they are identical.
pub fn psnr<'p>(pairs: impl IntoIterator<Item = (&'p [u8], &'p [u8])>) -> f64 {
    let (sum, count) = pairs.into_iter().fold((0.0f64, 0usize), |(s, n), (a, b)| {
        (s + a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>(), n + a.len())
    });
    let mse = sum / count.max(1) as f64;
    if mse == 0.0 { IDENTICAL_DB } else { 10.0 * (255.0 * 255.0 / mse).log10() }
}

/// How soon after a contact (seconds) the rebound must rise clear of it: two frames at the
/// world's 8 fps.
pub const RISE_WITHIN: f64 = 0.25;

/// Formats a bound for reasons: "in [0.4, 0.95]", "≥ 1", "≤ 0".
pub fn bound_words(b: &Bound) -> String {
    match b.limits() {
        Ok((lo, hi)) if lo.is_infinite() => format!("≤ {hi}"),
        Ok((lo, hi)) if hi.is_infinite() => format!("≥ {lo}"),
        Ok((lo, hi)) => format!("in [{lo}, {hi}]"),
        Err(e) => e,
    }
}

/// How far (canvas heights) an object's bottom must rise after a contact for [`contacts`].
pub const BOTTOM_RISE: f64 = 0.003;

/// Floor contacts in a vertical track (canvas heights, y down, sampled at `fps`): samples where
/// a fall stops and a clear rise follows within [`RISE_WITHIN`] seconds (two samples at
/// least). Free flight has no such point, so each one is a bounce; the contact itself lies within
/// a frame of the returned index. The rise is looked for over a time, not a number of samples:
/// two samples at 60 fps (33 ms) missed the small late rebounds that 24 fps saw.
///
/// The rise is by 0.005 at least, and the fall into the contact is its last two steps descending
/// and by `fall` at least over that time ([`fall_into`]): a photographed cup at rest jitters by
/// a few pixels where its outline catches its shadow or spoon (one sample out of line, or a
/// jump to another level that stays, sometimes after a smaller step the same way), which read
/// as bounces after a plain landing (and gravity, fitted up to the first, pointed up). A real
/// bounce falls from at least the height it rebounds to.
///
/// `bottoms` are the object's lowest points at the same samples: a rebound lifts them too, by
/// [`BOTTOM_RISE`] within the same time from their lowest within a sample of the contact (a
/// bottom may touch down a frame after the centre stops). A landed cup whose bottom stayed on
/// the floor to 0.0001 h rose 0.006 h at its centre where a warm grade or an exposure drift
/// moved its rim and crema in and out of its colour, and read as 1–2 bounces. Where the frame
/// cuts the bottom (`None`) around the contact, the centre decides alone: a ball bouncing half
/// below the frame's edge kept its bottom on the edge and read none of its bounces.
pub fn contacts(ys: &[f64], bottoms: &[Option<f64>], fps: f64, fall: f64) -> Vec<usize> {
    // Under the centre's 0.005: a box's bottom moves in whole pixels and caught 2 px (0.0042 h)
    // of a cup's last 5-px rebound; a bottom at rest moves by less than one (0.0021 h at 480).
    let within = ((RISE_WITHIN * fps).round() as usize).max(2);
    let mut out = Vec::new();
    for k in 1..ys.len().saturating_sub(1).min(bottoms.len().saturating_sub(1)) {
        let step = |j: usize| ys[j] - ys[j - 1] > 1e-3;
        let before = ys[k.saturating_sub(within)..k].iter().copied().fold(f64::MAX, f64::min);
        let descending_in = step(k) && (k < 2 || step(k - 1)) && ys[k] - before > fall;
        let stops = ys[k + 1] <= ys[k] + 1e-3;
        let after = k + 1..(k + 1 + within).min(ys.len()).min(bottoms.len());
        // The bottom from a sample before the contact to the end of the rise, unless the frame
        // cuts it there.
        let lifted = match bottoms[k - 1..after.end].iter().copied().collect::<Option<Vec<f64>>>() {
            Some(b) => {
                let down = b[..3].iter().copied().fold(f64::MIN, f64::max);
                b[2..].iter().any(|&y| y < down - BOTTOM_RISE)
            }
            None => true,
        };
        let rises = ys[after].iter().any(|&y| y < ys[k] - 0.005) && lifted;
        if descending_in && stops && rises {
            out.push(k);
        }
    }
    out
}

/// How far (canvas heights) an object must fall into a contact for [`contacts`]: a twentieth
/// of its own height (the median of its sightings), within 0.005 and 0.02. A photographed
/// object's outline catches its shadow or a highlight in some frames and not in others, and its
/// centre jumps by a few per cent of its size (a cup 0.23 h tall, resting, by up to 0.0077 h).
/// The rise out of it is not held to this: a close-up ball's plain rebound (0.016 h for a ball
/// 0.3 h tall, sampled at 0.009 above the first frame after the contact) was lost.
pub fn fall_into(track: &Track, unit: f64) -> f64 {
    let mut heights: Vec<f64> = track.seen().map(|(_, o)| (o.bbox[3] - o.bbox[1]) / unit).collect();
    if heights.is_empty() {
        return 0.005;
    }
    let mid = heights.len() / 2;
    let (_, median, _) = heights.select_nth_unstable_by(mid, f64::total_cmp);
    fall_for(*median)
}

/// [`fall_into`] for an object `height` canvas heights tall.
fn fall_for(height: f64) -> f64 {
    (0.05 * height).clamp(0.005, 0.02)
}

/// Least-squares parabola y = c0 + c1·t + c2·t² and its R².
pub fn fit_parabola(ts: &[f64], ys: &[f64]) -> Option<([f64; 3], f64)> {
    if ts.len() < 4 {
        return None;
    }
    let (t1, t2): (Vec<f64>, Vec<f64>) = ts.iter().map(|&t| (t, t * t)).unzip();
    let c = crate::stats::linalg::least_squares(&[&vec![1.0; ts.len()], &t1, &t2], ys, 1e-12)?;
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let ss_tot: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = ts.iter().zip(ys).map(|(&t, &y)| (y - (c[0] + c[1] * t + c[2] * t * t)).powi(2)).sum();
    Some(([c[0], c[1], c[2]], if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 1.0 }))
}
