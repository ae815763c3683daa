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

/// The fields in which two training configs differ, a donor's path (`vae.from`, `text.from`)
/// compared as the folder it names.
pub fn config_differences(a: &TrainConfig, b: &TrainConfig) -> Vec<String> {
    let canonical = |c: &TrainConfig| {
        let mut c = c.clone();
        let resolve = |p: &mut String| {
            if let Ok(abs) = std::fs::canonicalize(&*p) {
                *p = abs.to_string_lossy().into_owned();
            }
        };
        if let Some(f) = c.vae.from.as_mut() {
            resolve(f);
        }
        if let Some(t) = c.text.as_mut() {
            resolve(&mut t.from);
        }
        serde_json::to_value(&c).unwrap_or_default()
    };
    let (x, y) = (canonical(a), canonical(b));
    let mut out = Vec::new();
    for (k, v) in x.as_object().into_iter().flatten() {
        if y.get(k) != Some(v) {
            out.push(k.clone());
        }
    }
    for k in y.as_object().into_iter().flatten().map(|(k, _)| k) {
        if x.get(k).is_none() {
            out.push(k.clone());
        }
    }
    out
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
    /// Its sha256: a damaged file (a bit flipped, a tail zeroed by a crash) is refused, not
    /// trained from into other weights.
    #[serde(default)]
    pub tensors_sha256: String,
    /// The worker threads it ran on (the weights are promised equal for the same count).
    #[serde(default)]
    pub threads: usize,
}

/// The sha256 of a file, streamed (as the weights manifest hashes).
fn sha256_of(path: &Path) -> std::io::Result<String> {
    crate::encoders::manifest::sha256_file(path).map(|(sha, _)| sha)
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
        let written = (|| -> Result<()> {
            candle_core::safetensors::save(&self.tensors, &tmp)?;
            // On disk before it is named (a machine taken back mid-write left a renamed file
            // with a zeroed tail).
            std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io(&tmp))?;
            self.meta.tensors_sha256 = sha256_of(&tmp).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &tensors).map_err(io(&tensors))?;
            let json = serde_json::to_string(&self.meta).map_err(|e| GenError::Request(e.to_string()))?;
            let (path, tmp) = (dir.join("state.json"), dir.join(".state.json.partial"));
            std::fs::write(&tmp, json).and_then(|()| std::fs::File::open(&tmp)?.sync_all()).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            Ok(())
        })();
        // Older states' tensors, and what a killed or failed save left half-written.
        for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let older = name.starts_with("state-") && name.ends_with(".safetensors") && name != self.meta.tensors;
            let partial = name.starts_with(".state") && name.ends_with(".partial");
            if (older && written.is_ok()) || partial {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        written
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
        let sha = sha256_of(&file).map_err(|e| GenError::Request(format!("{}: {e}", file.display())))?;
        if !meta.tensors_sha256.is_empty() && sha != meta.tensors_sha256 {
            return Err(GenError::Request(format!(
                "{}: damaged (its sha256 is not the one state.json recorded)",
                file.display()
            )));
        }
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

    /// A state's tensors are checked against the digest state.json recorded: a bit flipped (or
    /// a tail a crash zeroed) is refused, where it trained into other weights with exit 0; a
    /// half-written file a killed save left is removed by the next save.
    #[test]
    fn a_damaged_state_is_refused_and_leftovers_are_swept() {
        let dir = std::env::temp_dir().join(format!("videval-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".state-vae-3.safetensors.partial"), "half").unwrap();
        let cfg: TrainConfig = serde_json::from_value(serde_json::json!({
            "name": "t", "seed": 1,
            "architecture": {"vae": {"channels": 8, "latent": 8}, "dit": {"dim": 32, "depth": 1, "heads": 2, "mlp_ratio": 2},
                             "text": {"dim": 16, "layers": 1, "heads": 2, "max_tokens": 12}},
            "vae": {"samples": 8, "batch": 4}, "dit": {"samples": 8, "batch": 4}
        }))
        .unwrap();
        let (model, _) =
            crate::generator::Model::init(&cfg.architecture, crate::training::build_vocab(), 1, &Device::Cpu).unwrap();
        let meta = StateMeta {
            format: STATE_FORMAT,
            config: cfg.clone(),
            git_sha: "x".into(),
            stage: "vae".into(),
            step: 1,
            rng: RngState::of(&ChaCha8Rng::seed_from_u64(1)),
            dit_rng: None,
            lr_scale: 1.0,
            best_mse: None,
            adam_steps: 1,
            flops: 0.0,
            curve: vec![],
            log: vec![],
            seconds: 0.0,
            model: model.config.clone(),
            tensors: String::new(),
            tensors_sha256: String::new(),
            threads: 1,
        };
        let t = Tensor::new(&[1f32, 2.0, 3.0, 4.0], &Device::Cpu).unwrap();
        let mut st = TrainState { meta, tensors: HashMap::from([("param/x".to_string(), t)]) };
        st.save(&dir).unwrap();
        assert!(!dir.join(".state-vae-3.safetensors.partial").exists(), "a half-written file is swept");
        assert!(TrainState::load(&dir, &Device::Cpu).unwrap().is_some());
        let file = dir.join("state-vae-1.safetensors");
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        let e = TrainState::load(&dir, &Device::Cpu).err().unwrap().to_string();
        assert!(e.contains("damaged"), "{e}");
        // The same config named through another path to its donor is the same config.
        let mut a = cfg.clone();
        a.vae.from = Some(dir.display().to_string());
        let mut b = cfg;
        b.vae.from = Some(format!("{}/../{}", dir.display(), dir.file_name().unwrap().to_string_lossy()));
        assert!(config_differences(&a, &b).is_empty());
        b.seed = 2;
        assert_eq!(config_differences(&a, &b), ["seed"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
