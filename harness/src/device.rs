//! Which device tensors run on (the rule lives with the generator: `VIDEVAL_DEVICE=cpu|cuda`, or
//! CUDA when built with the `cuda` feature and a GPU is present, else the CPU).

use candle_core::Device;

use crate::error::{Error, Result};

pub fn default_device() -> Result<Device> {
    videval_models::generator::default_device().map_err(Error::Config)
}
