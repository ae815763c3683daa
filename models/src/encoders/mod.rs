//! Feature extractors for distribution, alignment and consistency metrics.
//!
//! - [`world`]: the project's own video/text dual encoder, trained contrastively on world clips
//!   and their captions; the embedded default (FVD-W, CLIP-W, frame features) that needs no
//!   download.
//! - [`manifest`]: the checksum manifest every extractor's weights are loaded through.

pub mod manifest;
pub mod world;
