//! The counter-based number stream that the golden scripts (numpy) and the reference tests (Rust)
//! both evaluate, so goldens need no data files: splitmix64 of `seed + (k + 1)·γ`, mapped to
//! [-1, 1) from its top 53 bits. Exact in both languages (integer arithmetic, one power-of-two
//! scaling).

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Element `k` of the stream `seed`, in [-1, 1).
pub fn uniform(seed: u64, k: u64) -> f64 {
    let mut z = seed.wrapping_add((k + 1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * 2f64.powi(-53) * 2.0 - 1.0
}

/// FNV-1a (64-bit) of a name: the stream seed of a named tensor.
pub fn fnv1a(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

/// A network parameter from the formula of `models/tests/golden/encoders_golden.py`
/// (`formula_value`), by its state-dict name: He-uniform `u · √(6 / fan_in)` for tensors of two or
/// more dimensions, `1 + 0.1·u` for 1-D weights, `0.1·u` for biases and running means,
/// `1 + 0.5·u` for running variances, `u` for a class embedding, 2.6592 for a logit scale.
pub fn parameter(name: &str, dims: &[usize]) -> Vec<f64> {
    let n: usize = dims.iter().product();
    let seed = fnv1a(name);
    let last = name.rsplit('.').next().unwrap_or(name);
    let fan_in: usize = dims.iter().skip(1).product();
    (0..n as u64)
        .map(|k| {
            let u = uniform(seed, k);
            match last {
                "logit_scale" => 2.6592,
                "class_embedding" => u,
                "running_mean" => 0.1 * u,
                "running_var" => 1.0 + 0.5 * u,
                "bias" => 0.1 * u,
                _ if dims.len() >= 2 => u * (6.0 / fan_in as f64).sqrt(),
                _ => 1.0 + 0.1 * u,
            }
        })
        .collect()
}
