//! Pure functions over frames and features: the metrics videval reports, and the statistics
//! that turn per-sample values into estimates with confidence intervals.
//!
//! Nothing here does I/O. A metric reads frames — streamed through an [`analysis::Window`] or
//! as a decoded [`Video`] — and returns a number; the harness decides where the video came from
//! and where the number goes. Each metric lives in its own file and is listed once in
//! [`registry::REGISTRY`].

pub mod analysis;
pub mod aspect_ratio;
pub mod degrade;
pub mod distribution;
pub mod dynamic_degree;
pub mod feature_consistency;
pub mod flow;
pub mod formula;
pub mod frame_count;
pub mod global_motion;
pub mod motion_smoothness;
pub mod palette;
pub mod preprocess;
pub mod probes;
pub mod raft_flow_score;
pub mod raft_warping_error;
pub mod registry;
pub mod stats;
pub mod temporal_diff;
pub mod temporal_flicker;
pub mod track;
pub mod vbench_aesthetic_quality;
pub mod vbench_background_consistency;
pub mod vbench_dynamic_degree;
pub mod vbench_imaging_quality;
pub mod vbench_motion_smoothness;
pub mod vbench_static;
pub mod vbench_subject_consistency;
pub mod video;
pub mod warping_error;
pub mod world_background_consistency;
pub mod world_subject_consistency;

pub use registry::{Direction, Metric, MetricError, MetricId, REGISTRY, Reads};
pub use video::{Video, VideoError};
