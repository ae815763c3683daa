//! Training utilities the bundled generator and the world encoder share: the AdamW optimiser,
//! the learning-rate schedule, and the closed caption vocabulary with its paraphrases.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use crate::generator::text::Vocab;
use crate::world::caption::describe;
use crate::world::sample::{Family, sample};

/// Paraphrases that carry the caption grammar over to how people write prompts ("a red ball
/// rolls to the right" for "a red circle moves right"). Each is applied with probability 1/2.
const PARAPHRASES: [(&str, &[&str]); 9] = [
    ("circle", &["ball"]),
    ("square", &["box", "block"]),
    ("moves right", &["rolls to the right", "rolls right", "moves to the right"]),
    ("moves left", &["rolls to the left", "rolls left", "moves to the left"]),
    ("falls and bounces", &["falls and bounces on the floor", "bounces on the floor", "drops and bounces"]),
    ("flies in an arc to the right", &["is thrown and flies to the right in an arc"]),
    ("flies in an arc to the left", &["is thrown and flies to the left in an arc"]),
    ("stays still", &["rests", "is still"]),
    ("moves up", &["rises up"]),
];

pub fn paraphrase(caption: &str, rng: &mut ChaCha8Rng) -> String {
    let mut out = caption.to_string();
    for (from, tos) in PARAPHRASES {
        if out.contains(from) && rng.random_bool(0.5) {
            let to = tos.choose(rng).copied().unwrap_or(from);
            out = out.replace(from, to);
        }
    }
    out
}

/// The closed vocabulary: every word of the world's captions (both forms) over many scenes, and
/// of the paraphrases.
pub fn build_vocab() -> Vocab {
    let mut texts = Vec::new();
    for family in Family::ALL {
        for seed in 0..300 {
            let (scene, settings) = sample(family, seed);
            let (long, short) = describe(&scene, &settings);
            texts.push(long);
            texts.push(short);
        }
    }
    for (from, tos) in PARAPHRASES {
        texts.push(from.to_string());
        texts.extend(tos.iter().map(|s| s.to_string()));
    }
    Vocab::build(texts.iter().map(String::as_str))
}

/// AdamW with decoupled weight decay, over a fixed list of variables.
pub struct AdamW {
    vars: Vec<(Var, Tensor, Tensor)>,
    t: i32,
    wd: f64,
    beta2: f64,
}

impl AdamW {
    pub fn new(vars: Vec<Var>, wd: f64, beta2: f64) -> Result<Self> {
        let vars = vars
            .into_iter()
            .map(|v| Ok((v.clone(), v.zeros_like()?, v.zeros_like()?)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { vars, t: 0, wd, beta2 })
    }

    /// Steps taken, and the first and second moments in the variables' order.
    pub fn state(&self) -> (i32, Vec<Tensor>, Vec<Tensor>) {
        (self.t, self.vars.iter().map(|v| v.1.clone()).collect(), self.vars.iter().map(|v| v.2.clone()).collect())
    }

    /// Puts back what [`AdamW::state`] gave: as many moments as variables, each of its shape.
    pub fn restore(&mut self, t: i32, m: Vec<Tensor>, s: Vec<Tensor>) -> Result<()> {
        if m.len() != self.vars.len() || s.len() != self.vars.len() {
            candle_core::bail!("{} and {} saved moments for {} variables", m.len(), s.len(), self.vars.len());
        }
        for ((v, m0, s0), (m, s)) in self.vars.iter_mut().zip(m.into_iter().zip(s)) {
            if m.dims() != v.dims() || s.dims() != v.dims() {
                candle_core::bail!("a saved moment of shape {:?} for a variable of shape {:?}", m.dims(), v.dims());
            }
            (*m0, *s0) = (m, s);
        }
        self.t = t;
        Ok(())
    }

    /// Clips the global gradient norm to `clip` and takes a step; returns the norm before clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f64, clip: f64) -> Result<f64> {
        let (b1, b2, eps) = (0.9f64, self.beta2, 1e-8);
        let mut sq = 0.0;
        for (v, _, _) in &self.vars {
            if let Some(g) = grads.get(v) {
                sq += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
            }
        }
        let norm = sq.sqrt();
        let scale = if norm > clip { clip / norm } else { 1.0 };
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for (v, m, s) in &mut self.vars {
            let Some(g) = grads.get(v) else { continue };
            // Detached: a gradient carries the step's whole graph, and the moments would keep
            // every step's graph alive.
            let g = (g.detach() * scale)?;
            *m = ((&*m * b1)? + (&g * (1.0 - b1))?)?.detach();
            *s = ((&*s * b2)? + (g.sqr()? * (1.0 - b2))?)?.detach();
            let update = ((&*m / c1)? / ((&*s / c2)?.sqrt()? + eps)?)?;
            let decayed = (v.as_tensor().detach() * (1.0 - lr * self.wd))?;
            v.set(&(decayed - (update * lr)?)?.detach())?;
        }
        Ok(norm)
    }
}

/// Linear warm-up, then cosine decay to 10% of the peak.
pub fn cosine(step: u64, steps: u64, warmup: u64) -> f64 {
    if step < warmup {
        return (step + 1) as f64 / warmup as f64;
    }
    let p = (step - warmup) as f64 / (steps.saturating_sub(warmup)).max(1) as f64;
    0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
}
