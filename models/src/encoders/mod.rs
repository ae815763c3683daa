//! Feature extractors for distribution, alignment and consistency metrics.
//!
//! - [`world`]: the project's own video/text dual encoder, trained contrastively on world clips
//!   and their captions; the embedded default (FVD-W, CLIP-W, frame features) that needs no
//!   download.
//! - [`i3d`]: Inception-I3D (Kinetics-400), the canonical FVD network, ported from pytorch-i3d;
//!   weights from the user (`models/weights/encoder/convert_i3d.py`).
//! - [`aesthetic`]: the LAION aesthetic predictor on CLIP ViT-L/14's image tower (VBench's
//!   aesthetic quality); weights from the user (`models/weights/encoder/convert_aesthetic.py`).
//! - [`clip`]: CLIP through candle-transformers, from a local Hugging Face checkpoint.
//! - [`dino`]: DINO's ViT (VBench's subject consistency), ported from facebookresearch/dino;
//!   weights from the user (`models/weights/encoder/convert_dino.py`).
//! - [`raft`]: RAFT optical flow (VBench's dynamic degree), torchvision's `raft_large` names;
//!   weights from the user (`models/weights/encoder/convert_raft.py`).
//! - [`amt`]: AMT-S frame interpolation (VBench's motion smoothness), the reference's names;
//!   weights from the user (`models/weights/encoder/convert_amt.py`).
//! - [`musiq`]: MUSIQ image quality (VBench's imaging quality), pyiqa's names; weights from the
//!   user (`models/weights/encoder/convert_musiq.py`).
//! - [`manifest`]: the checksum manifest every extractor's weights are loaded through.

pub mod aesthetic;
pub mod amt;
pub mod clip;
pub mod dino;
pub mod i3d;
mod layers;
pub mod manifest;
pub mod musiq;
pub mod raft;
pub mod world;
