//! videval: an evaluation and benchmarking harness for text-to-video models.
//!
//! The pipeline reads as the modules do: [`suite`] files are loaded and resolved; a [`plan`]
//! expands them into work units with content keys; [`generator`] adapters produce videos into
//! the content-addressed [`store`]; the [`runner`] scores them with the metric registry and
//! appends [`records`]; [`analyze`] merges shards into `results.parquet` and `results.json`; the
//! reports crate renders them. [`cli`] is the command line over all of it, with the exit codes
//! of [`error::ExitCode`].

pub mod agreement;
pub mod analyze;
pub mod cli;
pub mod compare;
pub mod device;
pub mod distribution;
pub mod error;
pub mod generator;
pub mod hash;
pub mod http;
pub mod manifest;
pub mod media;
pub mod plan;
pub mod rate;
pub mod records;
pub mod run;
pub mod runner;
pub mod scoring;
pub mod selftest;
pub mod store;
pub mod suite;
pub mod sweep;
pub mod train;
pub mod vbench;
pub mod video;
pub mod weights;
pub mod yaml;
