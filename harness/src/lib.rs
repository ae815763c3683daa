pub mod video;
pub mod yaml;
