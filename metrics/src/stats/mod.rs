//! Statistics over per-sample values: pure, seeded, and tested against analytic cases.

pub mod agreement;
pub mod bootstrap;
pub mod linalg;
pub mod paired;
pub mod scaling;

pub use bootstrap::{Estimate, MIN_CLUSTERS, cluster_bootstrap_mean, pass_rate};
