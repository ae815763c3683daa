//! Times RAFT (raft_large, random weights) on one frame pair: `cargo run --release -p
//! videval-models --example raft_speed -- 512 288 [updates]`.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use videval_models::encoders::raft::Raft;

fn main() -> candle_core::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let (w, h, updates) =
        (args.first().copied().unwrap_or(512), args.get(1).copied().unwrap_or(288), args.get(2).copied().unwrap_or(20));
    // Random weights as plain tensors, as loaded weights are (a VarMap's variables would record
    // every operation for a backward pass).
    let map = VarMap::new();
    Raft::new(VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu))?;
    let tensors = map.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.as_tensor().detach())).collect();
    let raft = Raft::new(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))?;
    let a = Tensor::rand(0f32, 255f32, (1, 3, h, w), &Device::Cpu)?;
    let b = Tensor::rand(0f32, 255f32, (1, 3, h, w), &Device::Cpu)?;
    if std::env::var("RAFT_MM").is_ok() {
        // The GRU's product alone: [128, 1920] x [1920, 2304].
        let wt = Tensor::rand(0f32, 1f32, (1, 128, 1920), &Device::Cpu)?;
        let cols = Tensor::rand(0f32, 1f32, (1, 1920, 2304), &Device::Cpu)?;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            for _ in 0..10 {
                let _ = wt.matmul(&cols)?;
            }
            let s = t.elapsed().as_secs_f64() / 10.0;
            eprintln!("matmul {:.1} ms, {:.1} GFLOP/s", s * 1e3, 2.0 * 128.0 * 1920.0 * 2304.0 / s / 1e9);
        }
        let x = Tensor::rand(0f32, 1f32, (1, 384, 36, 64), &Device::Cpu)?;
        let wc = Tensor::rand(0f32, 1f32, (128, 384, 1, 5), &Device::Cpu)?;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let _ = x.pad_with_zeros(3, 2, 2)?.conv2d(&wc, 0, 1, 1, 1)?;
            eprintln!("candle conv 1x5 {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let p = x.pad_with_zeros(3, 2, 2)?;
            let t1 = t.elapsed().as_secs_f64();
            let taps: Vec<Tensor> =
                (0..5).map(|k| p.narrow(3, k, 64).and_then(|t| t.contiguous())).collect::<candle_core::Result<_>>()?;
            let t2 = t.elapsed().as_secs_f64();
            let cols = Tensor::stack(&taps, 2)?.reshape((1, 384 * 5, 36 * 64))?;
            let t3 = t.elapsed().as_secs_f64();
            let w2 = wc.reshape((1, 128, 1920))?;
            let y = w2.matmul(&cols)?;
            let t4 = t.elapsed().as_secs_f64();
            eprintln!(
                "im2col conv: pad {:.1} ms, taps {:.1}, stack {:.1}, matmul {:.1}; {:?}",
                t1 * 1e3,
                (t2 - t1) * 1e3,
                (t3 - t2) * 1e3,
                (t4 - t3) * 1e3,
                y.shape()
            );
        }
        return Ok(());
    }
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let f = raft.flow(&(a.affine(2.0 / 255.0, -1.0))?, &(b.affine(2.0 / 255.0, -1.0))?, updates)?;
        let _ = f.sum_all()?.to_scalar::<f32>()?;
        eprintln!("{w}x{h}, {updates} updates: {:.2} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
