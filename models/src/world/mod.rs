//! The procedural world: scenes whose physics is known exactly, so every probe has ground truth.
//!
//! [`spec`] is the scene language suites embed under `scene:` and standalone scene files use;
//! [`sim`] simulates it exactly; [`render`] draws anti-aliased frames with per-frame ground
//! truth; [`caption`] describes scenes in a closed vocabulary; [`sample`] draws random scenes per
//! family. Coordinates in a spec are normalised: `x` runs 0→1 across the canvas width, `y` 0→1
//! down the canvas height; sizes are fractions of the canvas height; velocities are canvas
//! heights per second and gravity canvas heights per second², positive down.

pub mod caption;
pub mod photo;
pub mod render;
pub mod sample;
pub mod sim;
pub mod spec;

pub use spec::Scene;

/// Bumped whenever rendered pixels or ground truth can change; part of the world adapter's
/// identity, so cached oracle videos are invalidated. 3: contacts found on the side where the
/// bodies do not overlap yet, resting on static bodies, walls that bounce a body placed at
/// them, clamped zooms (scenes where a body fell through a block or left through a wall).
pub const VERSION: u32 = 3;
