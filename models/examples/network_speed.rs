//! Times one pass of a VBench network on random weights, as VBench runs it on a `W × H` video:
//! `cargo run --release -p videval-models --example network_speed -- NETWORK W H [passes]`.
//!
//! - `raft`: RAFT (raft_large) on a frame pair, replicate-padded to multiples of 8, 20 updates
//!   (dynamic degree: one pass per sampled frame);
//! - `amt`: AMT-S interpolating the middle of two frames, padded to multiples of 16, quantised to
//!   8 bits (motion smoothness: one pass per two frames of the video);
//! - `musiq`: MUSIQ on one frame (imaging quality: one pass per frame; frames with a longer side
//!   over 512 are brought down to it first, so give at most 512);
//! - `dino`: DINO ViT-B/16 on one frame (subject consistency: one pass per frame, the frame's
//!   short side brought to 224 first, so give e.g. 398 224 for 16:9).
//!
//! Prints one line per pass: `NETWORK W H seconds`. The first pass includes the allocator's
//! warm-up; `ci/bench/networks_side_by_side.py` reads the others.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use videval_models::encoders::{
    amt::Amt,
    dino::{Dino, DinoConfig},
    musiq::Musiq,
    raft::Raft,
};

/// Random weights as plain tensors, as loaded weights are (a VarMap's variables would record every
/// operation for a backward pass).
fn random<T>(build: impl Fn(VarBuilder<'static>) -> candle_core::Result<T>) -> candle_core::Result<T> {
    let map = VarMap::new();
    build(VarBuilder::from_varmap(&map, DType::F32, &Device::Cpu))?;
    let tensors = map.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.as_tensor().detach())).collect();
    build(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))
}

fn main() -> candle_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let network = args.first().map_or("raft", String::as_str).to_string();
    let number = |i: usize, default: usize| args.get(i).map_or(default, |a| a.parse().expect("a number"));
    let (w, h, passes) = (number(1, 512), number(2, 288), number(3, 3));
    let rgb = || Tensor::rand(0f32, 255f32, (1, 3, h, w), &Device::Cpu);
    let (a, b) = (rgb()?, rgb()?);
    let pass: Box<dyn Fn() -> candle_core::Result<()>> = match network.as_str() {
        "raft" => {
            let raft = random(Raft::new)?;
            let (ea, eb) = (raft.encode_vbench(&a)?, raft.encode_vbench(&b)?);
            // Each sampled frame is encoded once and joins one new pair: time a pair's flow and
            // one frame's encoding.
            Box::new(move || {
                let e = raft.encode_vbench(&b)?;
                drop(e);
                raft.vbench_flow(&ea, &eb)?.sum_all()?.to_scalar::<f32>().map(drop)
            })
        }
        "amt" => {
            let amt = random(Amt::new)?;
            Box::new(move || amt.vbench_middle(&a, &b).map(drop))
        }
        "musiq" => {
            let musiq = random(Musiq::new)?;
            let x = (a.clone() / 255.0)?;
            Box::new(move || musiq.forward(&x)?.sum_all()?.to_scalar::<f32>().map(drop))
        }
        "dino" => {
            let dino = random(|vb| Dino::new(vb, &DinoConfig::VIT_B16))?;
            let x = (a.clone() / 255.0)?;
            Box::new(move || dino.forward(&x)?.sum_all()?.to_scalar::<f32>().map(drop))
        }
        other => panic!("unknown network {other}: raft, amt, musiq or dino"),
    };
    for _ in 0..passes {
        let t = std::time::Instant::now();
        pass()?;
        println!("{network} {w} {h} {:.4}", t.elapsed().as_secs_f64());
    }
    Ok(())
}
