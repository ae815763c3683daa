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

/// Selects an object in the generated video by what can be seen of it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
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
    pub fn limits(&self) -> Result<(f64, f64), String> {
        let (lo, hi) = match (self.between, self.min, self.max) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err("give either between or min/max, not both".into());
            }
            (Some([a, b]), None, None) => (a, b),
            (None, None, None) => return Err("expected at least one of min, max, between".into()),
            (None, lo, hi) => (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY)),
        };
        if lo > hi || lo.is_nan() || hi.is_nan() {
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
    }
    /// `object` stands in `relation` to `other` (sign-correct left/right).
    Position {
        object: ObjectRef,
        relation: Relation,
        other: ObjectRef,
        #[serde(default)] at: When,
    }
    /// `object` moves in `direction`, optionally at a speed in canvas widths/heights per second.
    Motion {
        object: ObjectRef,
        direction: Direction,
        #[serde(default)] speed: Option<Bound>,
    }
    /// Global camera motion estimated from the whole frame.
    Camera {
        motion: CameraMotion,
        /// Canvas widths per second for pans and tilts, relative scale per second for zooms.
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
        }
    }

    /// Semantic checks serde cannot express, as `(field relative to the entry, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut bound = |field: &'static str, b: &Option<Bound>| {
            if let Some(Err(m)) = b.as_ref().map(Bound::limits) {
                out.push((field, m));
            }
        };
        match self {
            Expectation::Gravity(g) => {
                bound("accel", &g.accel);
                bound("r2", &g.r2);
            }
            Expectation::Bounce(b) => {
                bound("count", &b.count);
                bound("restitution", &b.restitution);
            }
            Expectation::Motion(m) => bound("speed", &m.speed),
            Expectation::Camera(c) => bound("speed", &c.speed),
            Expectation::Continuity(c) => bound("psnr", &Some(c.psnr.clone())),
            Expectation::Loop(l) => bound("psnr", &Some(l.psnr.clone())),
            Expectation::Count(c) => bound("count", &Some(c.count.clone())),
            Expectation::Aspect(a) => {
                if parse_ratio(&a.ratio).is_none() {
                    out.push(("ratio", format!("expected a ratio like \"16:9\", got \"{}\"", a.ratio)));
                }
            }
            _ => {}
        }
        out
    }
}

/// Parses "W:H" into width/height, both positive.
pub fn parse_ratio(s: &str) -> Option<f64> {
    let (w, h) = s.split_once(':')?;
    let (w, h): (f64, f64) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0.0 && h > 0.0).then(|| w / h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_ratios_are_checked() {
        assert_eq!(Bound { min: Some(1.0), ..Default::default() }.limits(), Ok((1.0, f64::INFINITY)));
        assert!(Bound { min: Some(2.0), max: Some(1.0), between: None }.limits().is_err());
        assert!(Bound::default().limits().is_err());
        assert!(Bound { between: Some([0.4, 0.9]), ..Default::default() }.contains(0.5));
        assert_eq!(parse_ratio("9:16"), Some(9.0 / 16.0));
        assert_eq!(parse_ratio("9x16"), None);
    }
}
