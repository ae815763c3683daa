//! The generate and score stages for one shard of a plan.
//!
//! Work is keyed by content: a unit whose generation key already has an `ok` record in this
//! shard is skipped; a key already in the store is reused without calling the model; a score
//! whose key (video bytes + metric version) is already known is reused without decoding. So a
//! run killed at any point and started again does only what is unfinished.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use videval_metrics::registry::{self, MetricError};

use crate::error::{Error, Result};
use crate::generator::{Generator, Job, Output};
use crate::hash::{key_of, sha256_file};
use crate::plan::{Plan, Unit, UnitId};
use crate::records::{self, Appender, GEN_SCHEMA, GenRecord, SCORE_SCHEMA, ScoreRecord, Status};
use crate::store::{Store, write_json_atomic};
use crate::suite::{Case, Suite};
use crate::video::{self, EncodeParams};

pub const SHARD_DONE_SCHEMA: &str = "videval/shard-done/v1";

/// This process's slice of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl Shard {
    pub const WHOLE: Shard = Shard { k: 0, n: 1 };

    pub fn dir_name(&self) -> String {
        format!("{}-of-{}", self.k, self.n)
    }

    /// Parses a shard directory name (`2-of-8`).
    pub fn from_dir_name(name: &str) -> Option<Shard> {
        let (k, n) = name.split_once("-of-")?;
        let s = Shard { k: k.parse().ok()?, n: n.parse().ok()? };
        (s.n > 0 && s.k < s.n).then_some(s)
    }
}

/// Written last by a shard, atomically: the shard finished its stages for this plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardDone {
    pub schema: String,
    pub plan_hash: String,
    pub shard: String,
    pub units: usize,
    pub generated_ok: usize,
    pub generation_errors: usize,
    pub scores_ok: usize,
    pub score_errors: usize,
}

pub const GEN_CACHE_SCHEMA: &str = "videval/gen-cache/v1";
pub const SCORE_CACHE_SCHEMA: &str = "videval/score-cache/v1";

/// What a generation key produced, kept in the store so any run can reuse it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct GenCache {
    schema: String,
    video_sha256: String,
    video_path: String,
    encode: Option<EncodeParams>,
}

/// A score kept in the store under its score key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScoreCache {
    schema: String,
    status: Status,
    value: Option<f64>,
    error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageCounts {
    pub units: usize,
    pub done_before: usize,
    pub generated: usize,
    pub reused: usize,
    pub generation_errors: usize,
    pub scored: usize,
    pub scores_reused: usize,
    pub score_errors: usize,
}

pub struct Runner<'a> {
    pub plan: &'a Plan,
    pub suites: &'a [Suite],
    pub generator: &'a dyn Generator,
    pub store: &'a Store,
    pub run_dir: &'a Path,
    pub shard: Shard,
    pub progress: bool,
}

fn score_key(video_sha: &str, metric: &str, version: u32) -> String {
    key_of(&("videval/score-key/v1", video_sha, metric, version))
}

/// The last record per key wins (a retried unit supersedes its failed attempt).
fn latest<T, K: Ord>(records: Vec<T>, key: impl Fn(&T) -> K) -> BTreeMap<K, T> {
    records.into_iter().map(|r| (key(&r), r)).collect()
}

impl ScoreCache {
    fn new(status: Status, value: Option<f64>, error: Option<String>) -> Self {
        Self { schema: SCORE_CACHE_SCHEMA.into(), status, value, error }
    }
}

impl Runner<'_> {
    pub fn shard_dir(&self) -> PathBuf {
        self.run_dir.join("shards").join(self.shard.dir_name())
    }

    fn my_units(&self) -> Vec<&Unit> {
        let assignment = self.plan.assign(self.shard.n);
        self.plan.units.iter().zip(assignment).filter(|(_, k)| *k == self.shard.k).map(|(u, _)| u).collect()
    }

    fn case(&self, unit: &Unit) -> Result<&Case> {
        self.suites
            .iter()
            .find(|s| s.name == unit.id.suite)
            .and_then(|s| s.case(&unit.id.case_id))
            .ok_or_else(|| Error::Internal(format!("unit {} is not in the loaded suites", unit.id)))
    }

    fn bar(&self, len: usize, what: &str) -> ProgressBar {
        if !self.progress || len == 0 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        bar
    }

    /// Generates every unit of this shard that has no `ok` record yet.
    pub fn generate(&self, counts: &mut StageCounts) -> Result<()> {
        let units = self.my_units();
        counts.units = units.len();
        let path = self.shard_dir().join("generations.jsonl");
        let done: BTreeSet<(UnitId, String)> = records::read::<GenRecord>(&path)?
            .into_iter()
            .filter(|r| r.status == Status::Ok)
            .map(|r| (r.unit, r.gen_key))
            .collect();
        let pending: Vec<&Unit> =
            units.into_iter().filter(|u| !done.contains(&(u.id.clone(), u.gen_key.clone()))).collect();
        counts.done_before = counts.units - pending.len();
        let out = Appender::open(&path)?;
        let bar = self.bar(pending.len(), "generate");
        let results: Vec<Result<(bool, bool)>> = pending
            .par_iter()
            .map(|unit| {
                let r = self.generate_one(unit, &out);
                bar.inc(1);
                r
            })
            .collect();
        bar.finish_and_clear();
        for r in results {
            let (ok, reused) = r?;
            match (ok, reused) {
                (false, _) => counts.generation_errors += 1,
                (true, true) => counts.reused += 1,
                (true, false) => counts.generated += 1,
            }
        }
        Ok(())
    }

    /// Returns (ok, reused from the store).
    fn generate_one(&self, unit: &Unit, out: &Appender) -> Result<(bool, bool)> {
        let start = Instant::now();
        let mut record = GenRecord {
            schema: GEN_SCHEMA.into(),
            unit: unit.id.clone(),
            seed: unit.seed,
            gen_key: unit.gen_key.clone(),
            status: Status::Ok,
            video_sha256: None,
            video_path: None,
            encode: None,
            error: None,
            cached: false,
            wall_s: 0.0,
        };
        let cached: Option<GenCache> = self.store.get("gens", &unit.gen_key);
        if let Some(c) = cached.filter(|c| c.schema == GEN_CACHE_SCHEMA && Path::new(&c.video_path).is_file()) {
            record.video_sha256 = Some(c.video_sha256);
            record.video_path = Some(c.video_path);
            record.encode = c.encode;
            record.cached = true;
        } else {
            let case = self.case(unit)?;
            let tmp = self.store.tmp_path(&unit.gen_key, self.generator.output_ext());
            let job = Job { unit, case, out: &tmp };
            match self.generator.generate(&job) {
                Ok(Output::Written { encode }) => {
                    let (sha, path) = self.store.put_video(&tmp)?;
                    record.video_sha256 = Some(sha);
                    record.video_path = Some(path.to_string_lossy().into_owned());
                    record.encode = encode;
                }
                Ok(Output::Existing(path)) => {
                    let sha = sha256_file(&path).map_err(Error::io(&path))?;
                    record.video_sha256 = Some(sha);
                    record.video_path = Some(std::path::absolute(&path).unwrap_or(path).to_string_lossy().into_owned());
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    record.status = Status::Error;
                    record.error = Some(e.0);
                }
            }
            if let (Some(sha), Some(path)) = (&record.video_sha256, &record.video_path) {
                let cache = GenCache {
                    schema: GEN_CACHE_SCHEMA.into(),
                    video_sha256: sha.clone(),
                    video_path: path.clone(),
                    encode: record.encode.clone(),
                };
                self.store.put("gens", &unit.gen_key, &cache)?;
            }
        }
        record.wall_s = start.elapsed().as_secs_f64();
        out.append(&record)?;
        Ok((record.status == Status::Ok, record.cached))
    }

    /// Scores every `ok` generation of this shard with its suite's metrics, skipping scores
    /// already recorded.
    pub fn score(&self, counts: &mut StageCounts) -> Result<()> {
        let dir = self.shard_dir();
        let gens = latest(records::read::<GenRecord>(&dir.join("generations.jsonl"))?, |r| r.unit.clone());
        let path = dir.join("scores.jsonl");
        let done: BTreeSet<String> = records::read::<ScoreRecord>(&path)?
            .into_iter()
            .filter(|r| r.status != Status::Error)
            .map(|r| format!("{}|{}", r.unit, r.score_key))
            .collect();
        let metrics_of: HashMap<&str, &[String]> =
            self.plan.suites.iter().map(|s| (s.name.as_str(), s.metrics.as_slice())).collect();
        let mine: BTreeSet<UnitId> = self.my_units().into_iter().map(|u| u.id.clone()).collect();
        let todo: Vec<&GenRecord> = gens
            .values()
            .filter(|g| g.status == Status::Ok && mine.contains(&g.unit))
            .filter(|g| {
                let sha = g.video_sha256.as_deref().unwrap_or_default();
                metrics_of.get(g.unit.suite.as_str()).is_some_and(|ms| {
                    ms.iter().any(|m| {
                        let version = registry::lookup(m).map_or(0, |x| x.version());
                        !done.contains(&format!("{}|{}", g.unit, score_key(sha, m, version)))
                    })
                })
            })
            .collect();
        let out = Appender::open(&path)?;
        let bar = self.bar(todo.len(), "score");
        let results: Vec<Result<[usize; 3]>> = todo
            .par_iter()
            .map(|g| {
                let r =
                    self.score_one(g, metrics_of.get(g.unit.suite.as_str()).copied().unwrap_or_default(), &done, &out);
                bar.inc(1);
                r
            })
            .collect();
        bar.finish_and_clear();
        for r in results {
            let [scored, reused, errors] = r?;
            counts.scored += scored;
            counts.scores_reused += reused;
            counts.score_errors += errors;
        }
        Ok(())
    }

    fn score_one(
        &self,
        g: &GenRecord,
        metrics: &[String],
        done: &BTreeSet<String>,
        out: &Appender,
    ) -> Result<[usize; 3]> {
        let sha = g.video_sha256.clone().unwrap_or_default();
        let mut decoded: Option<std::result::Result<videval_metrics::Video, String>> = None;
        let mut tally = [0usize; 3];
        for name in metrics {
            let Some(metric) = registry::lookup(name) else {
                continue;
            };
            let key = score_key(&sha, name, metric.version());
            if done.contains(&format!("{}|{key}", g.unit)) {
                continue;
            }
            let start = Instant::now();
            let (cache, cached) = match self.store.get::<ScoreCache>("scores", &key) {
                Some(c) if c.schema == SCORE_CACHE_SCHEMA => (c, true),
                _ => {
                    let video = decoded.get_or_insert_with(|| {
                        video::decode(Path::new(g.video_path.as_deref().unwrap_or_default())).map_err(|e| e.to_string())
                    });
                    let c = match video {
                        Err(e) => ScoreCache::new(Status::Error, None, Some(e.clone())),
                        Ok(v) => match metric.measure(v) {
                            Ok(x) => ScoreCache::new(Status::Ok, Some(x), None),
                            Err(e @ MetricError::TooFewFrames { .. }) => {
                                ScoreCache::new(Status::NotApplicable, None, Some(e.to_string()))
                            }
                            Err(e) => ScoreCache::new(Status::Error, None, Some(e.to_string())),
                        },
                    };
                    if c.status != Status::Error {
                        self.store.put("scores", &key, &c)?;
                    }
                    (c, false)
                }
            };
            tally[if cache.status == Status::Error {
                2
            } else if cached {
                1
            } else {
                0
            }] += 1;
            out.append(&ScoreRecord {
                schema: SCORE_SCHEMA.into(),
                unit: g.unit.clone(),
                gen_key: g.gen_key.clone(),
                video_sha256: sha.clone(),
                metric: name.clone(),
                metric_version: metric.version(),
                score_key: key,
                status: cache.status,
                value: cache.value,
                error: cache.error,
                cached,
                wall_s: start.elapsed().as_secs_f64(),
            })?;
        }
        Ok(tally)
    }

    /// Marks the shard finished for this plan, with counts taken from its records.
    pub fn finish(&self) -> Result<ShardDone> {
        let dir = self.shard_dir();
        let gens = latest(records::read::<GenRecord>(&dir.join("generations.jsonl"))?, |r| r.unit.clone());
        let scores =
            latest(records::read::<ScoreRecord>(&dir.join("scores.jsonl"))?, |r| (r.unit.clone(), r.metric.clone()));
        let done = ShardDone {
            schema: SHARD_DONE_SCHEMA.into(),
            plan_hash: self.plan.plan_hash.clone(),
            shard: self.shard.dir_name(),
            units: self.my_units().len(),
            generated_ok: gens.values().filter(|r| r.status == Status::Ok).count(),
            generation_errors: gens.values().filter(|r| r.status == Status::Error).count(),
            scores_ok: scores.values().filter(|r| r.status == Status::Ok).count(),
            score_errors: scores.values().filter(|r| r.status == Status::Error).count(),
        };
        write_json_atomic(&dir.join("shard_done.json"), &done)?;
        Ok(done)
    }
}
