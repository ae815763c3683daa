//! `manifest.json`: written before any work, it says what the run is — harness version and
//! commit, plan hash, model identity, suites with their content hashes, generation settings and
//! the machine. A run directory belongs to exactly one plan.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::{ModelIdentity, Plan, Selection};
use crate::store::{read_json, write_json_atomic};
use crate::suite::Suite;

pub const MANIFEST_SCHEMA: &str = "videval/manifest/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Harness {
    pub version: String,
    pub git_sha: String,
    pub dirty: String,
}

impl Harness {
    pub fn current() -> Harness {
        Harness {
            version: env!("CARGO_PKG_VERSION").into(),
            git_sha: env!("VIDEVAL_GIT_SHA").into(),
            dirty: env!("VIDEVAL_GIT_DIRTY").into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteEntry {
    pub name: String,
    pub version: u32,
    pub content_hash: String,
    pub cases: usize,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub harness: Harness,
    pub plan_hash: String,
    pub model: ModelIdentity,
    pub suites: Vec<SuiteEntry>,
    pub selection: Selection,
    pub units: usize,
    /// Per suite and case: the resolved generation settings, keyed `suite/case`.
    pub generation: BTreeMap<String, serde_json::Value>,
    pub environment: BTreeMap<String, String>,
    pub created_at: String,
}

pub fn environment() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("os".into(), std::env::consts::OS.into());
    env.insert("arch".into(), std::env::consts::ARCH.into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    env.insert("cpus".into(), cpus.to_string());
    env.insert("device".into(), "cpu".into());
    env.insert("ffmpeg_libavcodec".into(), {
        let v = ffmpeg_next::codec::version();
        format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
    });
    env
}

impl Manifest {
    pub fn new(plan: &Plan, suites: &[Suite]) -> Manifest {
        let mut generation = BTreeMap::new();
        for s in suites {
            for c in &s.cases {
                generation
                    .insert(format!("{}/{}", s.name, c.id), serde_json::to_value(&c.generation).unwrap_or_default());
            }
        }
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            harness: Harness::current(),
            plan_hash: plan.plan_hash.clone(),
            model: plan.model.clone(),
            suites: suites
                .iter()
                .map(|s| SuiteEntry {
                    name: s.name.clone(),
                    version: s.version,
                    content_hash: s.content_hash(),
                    cases: s.cases.len(),
                    description: s.description.trim().to_string(),
                })
                .collect(),
            selection: plan.selection.clone(),
            units: plan.units.len(),
            generation,
            environment: environment(),
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }

    /// Writes the manifest and plan into `run_dir`, or checks that the ones there are for the
    /// same plan (a restart, or another shard of the same run).
    pub fn establish(&self, run_dir: &Path, plan: &Plan) -> Result<()> {
        let path = run_dir.join("manifest.json");
        if path.exists() {
            let existing: Manifest = read_json(&path)?;
            if existing.plan_hash != self.plan_hash {
                return Err(Error::Config(format!(
                    "{}: this run directory holds plan {} but the requested run is plan {} (the suites, the flags or the model changed; for a folder of videos, a file was added, removed or changed size); use another --out",
                    path.display(),
                    existing.plan_hash,
                    self.plan_hash
                )));
            }
        } else {
            write_json_atomic(&path, self)?;
        }
        let plan_path = run_dir.join("plan.json");
        if !plan_path.exists() {
            write_json_atomic(&plan_path, plan)?;
        }
        Ok(())
    }
}
