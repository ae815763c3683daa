//! Sampling throughput of the bundled generator's architecture at realistic sizes, with random
//! weights: DiT-B- and DiT-L-like transformers over a 256×256, 49-frame video (13 × 64 × 64
//! latents, 13,312 tokens per pass).
//!
//! ```sh
//! cargo run --release -p videval-models --features cuda --example scale_bench            # b, l
//! cargo run --release -p videval-models --features cuda --example scale_bench -- b wide=1536,24,24
//! # env: BENCH_VIDEOS (4), BENCH_STEPS (10), BENCH_FRAMES (49), BENCH_SIDE (256); VIDEVAL_TF32=1
//! ```
//!
//! Per size: one warm-up video (excluded), then N text-to-video samples with classifier-free
//! guidance (two transformer passes per step). Prints, as a table and as JSON lines, the same
//! throughput record as the harness keeps per run — latency p50/p95 per video, latent tokens/s,
//! FLOPs per video (the architecture's FLOP model, [`Model::generate`]), achieved FLOP/s and MFU
//! against the device's matrix-product peak measured in this process (`measure_peak_at`: f32
//! 8192² products on random data at the bench's precision, synchronised), peak device memory (CUDA: the most memory in use, polled
//! every 5 ms, less what was in use before the model was built) — and the share of the FLOPs
//! spent in attention's score and weighted-sum products, which a fused kernel would not
//! materialise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use candle_core::{DType, Device};
use videval_models::generator::dit::DitConfig;
use videval_models::generator::text::TextConfig;
use videval_models::generator::vae::VaeConfig;
use videval_models::generator::{Architecture, Condition, Model, Request, default_device, measure_peak_at, train};
use videval_models::training::build_vocab;

/// A named transformer shape: (name, dim, depth, heads).
type Size = (String, usize, usize, usize);

fn parse_size(arg: &str) -> Result<Size, String> {
    match arg {
        // DiT-B/2 and DiT-L/2 (Peebles & Xie): width, depth, heads.
        "b" => Ok(("dit-b".into(), 768, 12, 12)),
        "l" => Ok(("dit-l".into(), 1024, 24, 16)),
        other => {
            let (name, dims) = other
                .split_once('=')
                .ok_or_else(|| format!("size {other:?}: expected b, l or NAME=DIM,DEPTH,HEADS"))?;
            let v: Vec<usize> = dims
                .split(',')
                .map(|x| x.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("size {other:?}: {e}"))?;
            match v.as_slice() {
                &[d, depth, heads] if d > 0 && depth > 0 && heads > 0 && d % heads == 0 => {
                    Ok((name.to_string(), d, depth, heads))
                }
                _ => Err(format!("size {other:?}: expected NAME=DIM,DEPTH,HEADS with DIM divisible by HEADS")),
            }
        }
    }
}

fn env_usize(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|e| format!("{name}={v}: {e}")),
        Err(_) => Ok(default),
    }
}

/// Device memory in use (bytes), where the device can say.
fn used_memory(dev: &Device) -> Option<u64> {
    #[cfg(feature = "cuda")]
    if let Device::Cuda(c) = dev {
        let (free, total) = c.cuda_stream().context().mem_get_info().ok()?;
        return Some((total - free) as u64);
    }
    let _ = dev;
    None
}

/// Polls [`used_memory`] every 5 ms until dropped; `peak()` is the most seen.
struct MemoryWatch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemoryWatch {
    fn start(dev: &Device) -> Self {
        let (peak, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let thread = used_memory(dev).map(|_| {
            let (dev, peak, stop) = (dev.clone(), peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(u) = used_memory(&dev) {
                        peak.fetch_max(u, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        });
        Self { peak, stop, thread }
    }

    fn peak(&self) -> Option<u64> {
        self.thread.as_ref().map(|_| self.peak.load(Ordering::Relaxed))
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<Size> = if args.is_empty() { vec!["b".into(), "l".into()] } else { args }
        .iter()
        .map(|a| parse_size(a))
        .collect::<Result<_, _>>()?;
    let n = env_usize("BENCH_VIDEOS", 4)?.max(1);
    let steps = env_usize("BENCH_STEPS", 10)?.max(1);
    let frames = env_usize("BENCH_FRAMES", 49)?.max(1);
    let side = env_usize("BENCH_SIDE", 256)?;
    if side == 0 || side % 8 != 0 {
        return Err(format!("BENCH_SIDE={side}: expected a positive multiple of 8").into());
    }
    let dev = default_device()?;
    let device = train::device_name(&dev);
    let peak_n = if matches!(dev, Device::Cpu) { 1024 } else { 8192 };
    let (peak, peak_source) = measure_peak_at(&dev, peak_n, 10)?;
    println!("peak {:.1} TFLOP/s ({peak_source})", peak / 1e12);
    println!(
        "{:<8} {:>8} {:>7} {:>8} {:>8} {:>11} {:>10} {:>9} {:>6} {:>7} {:>8}",
        "size", "params", "tokens", "p50 s", "p95 s", "tokens/s", "TFLOP/vid", "TFLOP/s", "MFU %", "attn %", "mem GiB"
    );
    let prompts = ["a red ball falls and bounces on the floor", "the camera pans left over a city street"];
    for (name, dim, depth, heads) in sizes {
        let arch = Architecture {
            vae: VaeConfig { channels: 48, latent: 16 },
            dit: DitConfig { dim, depth, heads, mlp_ratio: 4 },
            text: TextConfig { dim: 256, layers: 2, heads: 4, max_tokens: 32 },
        };
        dev.synchronize()?;
        let base = used_memory(&dev);
        let watch = MemoryWatch::start(&dev);
        let model = Model::random(&arch, build_vocab(), 7, &dev)?;
        eprintln!("{name}: built ({} parameters); warm-up video", model.config.parameters.total);
        let req = |i: usize| Request {
            prompt: prompts[i % prompts.len()],
            seed: i as u64,
            frames,
            width: side,
            height: side,
            fps: 24.0,
            steps,
            guidance: 5.0,
            condition: Condition::None,
        };
        model.generate(&req(999))?;
        eprintln!("{name}: warm-up done; {n} timed videos");
        let (mut lat, mut flops, mut tokens) = (Vec::new(), 0.0, 0usize);
        for i in 0..n {
            let t = Instant::now();
            let out = model.generate(&req(i))?;
            dev.synchronize()?;
            lat.push(t.elapsed().as_secs_f64());
            flops += out.flops;
            tokens = out.tokens;
        }
        let mem = watch.peak().zip(base).map(|(p, b)| p.saturating_sub(b));
        drop(watch);
        let total: f64 = lat.iter().sum();
        lat.sort_by(f64::total_cmp);
        let pct = |q: f64| lat[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let passes = 2 * steps;
        let achieved = flops / total;
        // Self-attention's QKᵀ and AV products (the FLOP model's 4·n²·d per block), as a share
        // of one video's FLOPs.
        let attn = 2.0 * steps as f64 * depth as f64 * 4.0 * (tokens as f64).powi(2) * dim as f64 / (flops / n as f64);
        let params = model.config.parameters.total;
        println!(
            "{:<8} {:>7.0}M {:>7} {:>8.3} {:>8.3} {:>11.0} {:>10.2} {:>9.1} {:>6.1} {:>7.1} {:>8}",
            name,
            params as f64 / 1e6,
            tokens,
            pct(0.5),
            pct(0.95),
            (tokens * passes * n) as f64 / total,
            flops / n as f64 / 1e12,
            achieved / 1e12,
            100.0 * achieved / peak,
            100.0 * attn,
            mem.map_or("n/a".into(), |m| format!("{:.1}", m as f64 / (1u64 << 30) as f64)),
        );
        println!(
            "{}",
            serde_json::json!({"size": name, "dim": dim, "depth": depth, "heads": heads, "params": params,
                "width": side, "height": side, "frames": frames, "steps": steps, "guidance": 5.0,
                "tokens_per_pass": tokens, "videos": n, "latencies_s": lat, "p50_s": pct(0.5), "p95_s": pct(0.95),
                "tokens_per_s": (tokens * passes * n) as f64 / total, "flops_per_video": flops / n as f64,
                "achieved_flops_per_s": achieved, "peak_flops_per_s": peak, "peak_source": peak_source,
                "mfu": achieved / peak, "attention_flop_share": attn, "peak_memory_bytes": mem,
                "dtype": format!("{:?}", DType::F32), "device": device})
        );
    }
    Ok(())
}
