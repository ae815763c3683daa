//! The procedural world: scenes whose physics is known exactly, so every probe has ground truth.
//!
//! [`spec`] is the scene language suites embed under `scene:` and that standalone scene files
//! use. Coordinates are normalised: `x` runs 0→1 left to right across the canvas width, `y` runs
//! 0→1 top to bottom across the canvas height; sizes are fractions of the canvas height; gravity
//! is in canvas heights per second², positive pointing down.

pub mod spec;

pub use spec::Scene;
