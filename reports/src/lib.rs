//! Result file types and the renderers that turn them into documents people read.
//!
//! Reports read result files only ([`results::Results`], the run manifest and the generation
//! records), so a report can be re-rendered without re-running anything. Templates are compiled
//! into the binary and fed typed context structs.

pub mod agreement;
pub mod chart;
pub mod compare;
pub mod format;
pub mod html;
pub mod limitations;
pub mod results;
pub mod scaling;

pub use results::Results;
