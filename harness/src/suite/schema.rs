//! The suite file format (what a YAML file may say) and the resolved suite (what a run uses).
//!
//! Raw types mirror the YAML one-to-one and refuse unknown keys. `include:`, `matrix:` and
//! `expect:` are handled by the loader before and after these are decoded, so they do not
//! appear here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use videval_models::world::Scene;

use super::expect::Expectation;

/// Schema versions this build reads.
pub const SCHEMA_VERSIONS: &[u32] = &[1];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    pub schema: u32,
    pub suite: String,
    pub version: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The question `videval rate` asks about this suite's pairs.
    #[serde(default)]
    pub question: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub generation: RawGeneration,
    #[serde(default)]
    pub seeds: RawSeeds,
}

/// Generation parameters, all optional at each level (built-in < suite defaults < case).
/// Size is given either as `width`+`height` or as `aspect` ("W:H") + `resolution` (short side).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeneration {
    pub frames: Option<u32>,
    pub fps: Option<f64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub aspect: Option<String>,
    pub resolution: Option<u32>,
    pub steps: Option<u32>,
    pub guidance: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeeds {
    pub per_case: Option<u32>,
    pub base: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub id: String,
    pub prompt: String,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub input: Option<Input>,
    #[serde(default)]
    pub generation: RawGeneration,
    #[serde(default)]
    pub seeds: RawSeeds,
    #[serde(default)]
    pub scene: Option<Scene>,
}

/// How the generator is conditioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    T2v,
    I2v,
    ExtendForward,
    ExtendBackward,
    Edit,
    Interpolate,
    Loop,
    Image,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::T2v => "t2v",
            Mode::I2v => "i2v",
            Mode::ExtendForward => "extend-forward",
            Mode::ExtendBackward => "extend-backward",
            Mode::Edit => "edit",
            Mode::Interpolate => "interpolate",
            Mode::Loop => "loop",
            Mode::Image => "image",
        }
    }
}

/// Conditioning inputs. Paths are relative to the suite file that names them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Media>,
    /// The second clip of an interpolation (connect `video` → `video2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video2: Option<Media>,
    /// SDEdit strength for `edit`: the fraction of the noise schedule re-run, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<f64>,
}

/// A conditioning image or clip: a file, or the rendered scene of another case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_of: Option<String>,
    /// Frame range `[first, last]` (inclusive) of a clip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<[u32; 2]>,
    /// The single frame taken as an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
    /// `path` as read: relative to the folder of the suite file that names it (set when the
    /// suite is loaded; not part of the suite's content, so its hash does not depend on where
    /// it was loaded from).
    #[serde(skip)]
    pub file: Option<std::path::PathBuf>,
}

impl Media {
    /// The file to read: `path` relative to the suite file that names it.
    pub fn file(&self) -> Option<std::path::PathBuf> {
        self.file.clone().or_else(|| self.path.as_ref().map(std::path::PathBuf::from))
    }
}

/// Fully resolved generation parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub frames: u32,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub steps: u32,
    pub guidance: f64,
}

impl Default for Generation {
    fn default() -> Self {
        Self { frames: 17, fps: 8.0, width: 64, height: 64, steps: 20, guidance: 5.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    pub per_case: u32,
    pub base: u64,
}

impl Default for Seeds {
    fn default() -> Self {
        Self { per_case: 2, base: 20_261_125 }
    }
}

/// A case after matrix expansion and default resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub prompt: String,
    /// Unit of the clustered bootstrap; defaults to the id of the entry before matrix expansion.
    pub cluster: String,
    pub tags: Vec<String>,
    pub capabilities: Vec<String>,
    pub mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    pub generation: Generation,
    pub seeds: Seeds,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<Scene>,
    pub expect: Vec<Expectation>,
    /// The matrix values this case was expanded with (empty without a matrix).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

/// A suite after includes, matrix expansion and defaults: exactly what a run evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suite {
    pub schema: u32,
    pub name: String,
    pub version: u32,
    pub description: String,
    pub tags: Vec<String>,
    pub metrics: Vec<String>,
    /// The question people are asked when rating this suite's videos (`videval rate`); absent
    /// from the canonical JSON when unset, so older suites keep their hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    pub cases: Vec<Case>,
}

impl Suite {
    /// Canonical JSON (fixed field order, no whitespace) — the bytes that are hashed.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Serialising plain structs of strings and numbers into memory cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `sha256:<hex>` of what decides the suite's values: its cases as the generator and the
    /// probes read them, without their tags, capabilities and clusters, and without the suite's
    /// description, question, tags and metric list (a nightly sweep stopped comparing every
    /// target of a suite whose description had a typo fixed).
    pub fn measurement_hash(&self) -> String {
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    for k in ["tags", "capabilities", "cluster"] {
                        o.remove(k);
                    }
                }
                v
            })
            .collect();
        crate::hash::sha256_tagged(&serde_json::to_vec(&cases).unwrap_or_default())
    }

    /// `sha256:<hex>` of the canonical JSON.
    pub fn content_hash(&self) -> String {
        crate::hash::sha256_tagged(&self.canonical_json())
    }

    pub fn case(&self, id: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.id == id)
    }
}
