pub mod error;
pub mod hash;
pub mod plan;
pub mod records;
pub mod store;
pub mod suite;
pub mod video;
pub mod yaml;
