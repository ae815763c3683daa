pub mod hash;
pub mod suite;
pub mod video;
pub mod yaml;
