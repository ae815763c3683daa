//! A training's state between two steps, saved so that a killed training goes on from its last
//! save and ends with the weights an uninterrupted one ends with, bit for bit: every variable,
//! the optimiser's moments and step count, the EMA's averages, the VAE's best weights and
//! learning-rate scale, the random stream's position, and the log so far.
//!
//! On disk a state is a folder holding `state.json` (the numbers, and the name of the tensor
//! file) and `state-<stage>-<step>.safetensors`. The tensors are written first and `state.json`
//! last, each beside its place and renamed into it, and older tensor files are removed only after
//! that: a kill at any moment leaves the previous state whole.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::train::{LogRow, TrainConfig};
use super::{CheckpointConfig, CurvePoint, GenError, Result};

/// The layout of `state.json`; another is refused.
pub const STATE_FORMAT: u32 = 1;
/// The largest `state.json` read (its log holds a row per step: a million steps take ~120 MB).
const STATE_JSON_BYTES: u64 = 1 << 30;

/// Where a ChaCha8 stream stands: its seed, stream and word position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RngState {
    seed: String,
    stream: u64,
    /// A u128, as text (JSON numbers stop at 2⁶⁴).
    word_pos: String,
}

impl RngState {
    pub fn of(rng: &ChaCha8Rng) -> Self {
        let seed = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        Self { seed, stream: rng.get_stream(), word_pos: rng.get_word_pos().to_string() }
    }

    pub fn rng(&self) -> Result<ChaCha8Rng> {
        let bad = || GenError::Request(format!("state.json: a random stream's state is damaged ({self:?})"));
        let bytes: Vec<u8> = (0..self.seed.len())
            .step_by(2)
            .map(|i| self.seed.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().map_err(|_| bad())?);
        Ok(rng)
    }
}

/// A log row as saved (its stage owned).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedRow {
    pub stage: String,
    pub step: u64,
    pub samples: u64,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub seconds: f64,
}

impl SavedRow {
    pub fn of(r: &LogRow) -> Self {
        Self {
            stage: r.stage.into(),
            step: r.step,
            samples: r.samples,
            loss: r.loss,
            grad_norm: r.grad_norm,
            lr: r.lr,
            seconds: r.seconds,
        }
    }

    pub fn row(&self) -> Result<LogRow> {
        let stage = ["vae", "vae-fixed", "vae-rollback", "pool", "dit"]
            .into_iter()
            .find(|s| *s == self.stage)
            .ok_or_else(|| GenError::Request(format!("state.json: a log row of unknown stage {:?}", self.stage)))?;
        Ok(LogRow {
            stage,
            step: self.step,
            samples: self.samples,
            loss: self.loss,
            grad_norm: self.grad_norm,
            lr: self.lr,
            seconds: self.seconds,
        })
    }
}

/// The numbers of a state; its tensors are beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMeta {
    pub format: u32,
    /// The config the training started with (paths resolved); a resume must be given the same.
    pub config: TrainConfig,
    pub git_sha: String,
    /// `vae` or `dit`: the stage the next step belongs to.
    pub stage: String,
    /// Steps done in that stage.
    pub step: u64,
    pub rng: RngState,
    /// The stream where the transformer stage began (its latent pool is drawn from it again).
    pub dit_rng: Option<RngState>,
    pub lr_scale: f64,
    pub best_mse: Option<f64>,
    pub adam_steps: i32,
    pub flops: f64,
    pub curve: Vec<CurvePoint>,
    pub log: Vec<SavedRow>,
    /// Seconds the stage had run before this state was saved.
    pub seconds: f64,
    /// The checkpoint's config as it stood (the VAE's latent statistics and record once trained).
    pub model: CheckpointConfig,
    /// The file holding the tensors, beside `state.json`.
    pub tensors: String,
}

/// A state: its numbers and its tensors (`param/`, `adam.m/`, `adam.v/`, `ema/`, `best/`).
pub struct TrainState {
    pub meta: StateMeta,
    pub tensors: HashMap<String, Tensor>,
}

impl TrainState {
    /// Writes the state into `dir` (made if missing), then removes the tensor files of older
    /// states.
    pub fn save(&mut self, dir: &Path) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| GenError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        self.meta.tensors = format!("state-{}-{}.safetensors", self.meta.stage, self.meta.step);
        let tensors = dir.join(&self.meta.tensors);
        let tmp = dir.join(format!(".{}.partial", self.meta.tensors));
        candle_core::safetensors::save(&self.tensors, &tmp)?;
        std::fs::rename(&tmp, &tensors).map_err(io(&tensors))?;
        let json = serde_json::to_string(&self.meta).map_err(|e| GenError::Request(e.to_string()))?;
        let (path, tmp) = (dir.join("state.json"), dir.join(".state.json.partial"));
        std::fs::write(&tmp, json).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("state-") && name.ends_with(".safetensors") && name != self.meta.tensors {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// The state saved in `dir`, or `None` where there is none.
    pub fn load(dir: &Path, device: &Device) -> Result<Option<Self>> {
        let path = dir.join("state.json");
        if !path.exists() {
            return Ok(None);
        }
        let text = crate::files::read_text(&path, STATE_JSON_BYTES)
            .map_err(|source| GenError::Io { path: path.clone(), source })?;
        let meta: StateMeta = serde_json::from_str(&text)
            .map_err(|e| GenError::Request(format!("{}: not a training state videval wrote ({e})", path.display())))?;
        if meta.format != STATE_FORMAT {
            return Err(GenError::Request(format!(
                "{}: a training state of format {}, this videval reads {STATE_FORMAT}",
                path.display(),
                meta.format
            )));
        }
        if meta.tensors.contains(['/', '\\']) || !meta.tensors.ends_with(".safetensors") {
            return Err(GenError::Request(format!(
                "{}: tensors {:?} is not a file beside it",
                path.display(),
                meta.tensors
            )));
        }
        let file = dir.join(&meta.tensors);
        let tensors = candle_core::safetensors::load(&file, device)
            .map_err(|e| GenError::Request(format!("{}: {e}", file.display())))?;
        Ok(Some(Self { meta, tensors }))
    }

    /// The tensor `name`, which the state must hold.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| GenError::Request(format!("the training state has no {name}: it belongs to another model")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn a_random_stream_goes_on_where_it_stood() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        rng.set_stream(3);
        for _ in 0..1001 {
            rng.random::<u32>();
        }
        let state = RngState::of(&rng);
        let json = serde_json::to_string(&state).unwrap();
        let mut again = serde_json::from_str::<RngState>(&json).unwrap().rng().unwrap();
        for _ in 0..100 {
            assert_eq!(rng.random::<u64>(), again.random::<u64>());
        }
        let broken = RngState { seed: "zz".into(), ..state };
        assert!(broken.rng().is_err());
    }
}
