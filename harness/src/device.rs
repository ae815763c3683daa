//! Which device tensors run on: CUDA when built with the `cuda` feature and a GPU is present
//! (or `VIDEVAL_DEVICE=cuda`), otherwise the CPU. `VIDEVAL_DEVICE=cpu` forces the CPU.

use candle_core::Device;

use crate::error::{Error, Result};

pub fn default_device() -> Result<Device> {
    match std::env::var("VIDEVAL_DEVICE").as_deref() {
        Ok("cpu") => Ok(Device::Cpu),
        Ok("cuda") => Device::new_cuda(0).map_err(|e| Error::Config(format!("VIDEVAL_DEVICE=cuda: {e}"))),
        Ok(other) if !other.is_empty() => Err(Error::Config(format!("VIDEVAL_DEVICE={other}: expected cpu or cuda"))),
        _ => Ok(Device::cuda_if_available(0).unwrap_or(Device::Cpu)),
    }
}
