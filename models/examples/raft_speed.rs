//! Times RAFT (raft_large, random weights) on one RGB frame pair as VBench's dynamic degree runs it
//! (replicate padding, 20 updates, or as many as given): `cargo run --release -p videval-models
//! --example raft_speed -- 512 288 [updates]`. The first pass includes the allocator's warm-up.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use videval_models::encoders::raft::{Raft, pad_sintel};

fn main() -> candle_core::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (w, h, updates) = (arg(0, 512), arg(1, 288), arg(2, 20));
    // Random weights as plain tensors, as loaded weights are (a VarMap's variables would record
    // every operation for a backward pass).
    let map = VarMap::new();
    Raft::new(VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu))?;
    let tensors = map.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.as_tensor().detach())).collect();
    let raft = Raft::new(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))?;
    let frame = || -> candle_core::Result<Tensor> {
        pad_sintel(&Tensor::rand(0f32, 255f32, (1, 3, h, w), &Device::Cpu)?)?.affine(2.0 / 255.0, -1.0)
    };
    let (a, b) = (frame()?, frame()?);
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let flow = raft.flow(&a, &b, updates)?;
        let _ = flow.sum_all()?.to_scalar::<f32>()?;
        eprintln!("{w}x{h}, {updates} updates: {:.2} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
