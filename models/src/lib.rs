//! Everything in videval that is a simulator or a network.
//!
//! - [`world`]: the procedural world. Today it holds the scene specification that suites embed
//!   (`scene:`); simulation and rendering with exact ground truth build on it.
//! - [`synthetic`]: a small deterministic, prompt-aware clip generator used to exercise the
//!   pipeline end to end before (and beside) the learned generator.
//! - [`palette`]: the named colours and shapes (defined with the probes in the metrics crate,
//!   which segment videos by them).

pub mod files;
pub mod synthetic;
pub mod training;
pub mod world;

pub use videval_metrics::palette;
pub mod encoders;
pub mod generator;
