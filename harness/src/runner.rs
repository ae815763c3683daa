//! The generate and score stages for one shard of a plan.
//!
//! Work is keyed by content: a unit whose generation key already has an `ok` record in this
//! shard is skipped; a key already in the store is reused without calling the model; a score
//! whose key (video bytes + metric version) is already known is reused without decoding. So a
//! run killed at any point and started again does only what is unfinished.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use videval_metrics::probes::{self, Expectation};
use videval_metrics::registry;

use crate::error::{Error, Result};
use crate::generator::{Generator, Job, Output};
use crate::hash::{key_of, sha256_file};
use crate::plan::{Plan, Unit, UnitId};
use crate::records::{self, Appender, GEN_SCHEMA, GenRecord, SCORE_SCHEMA, ScoreRecord, Status};
use crate::scoring::{self, Failure, Need};
use crate::store::{Store, file_stamp, write_json_atomic};
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
    /// [`records_digest`] of the shard's record files when it finished: `merge` refuses records
    /// edited since (a changed value merged as complete). Absent in older shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_sha256: Option<String>,
}

/// SHA-256 over the SHA-256 of a shard's `generations.jsonl` and of its `scores.jsonl` (each
/// streamed; a missing file hashes as "absent").
pub fn records_digest(shard_dir: &Path) -> Result<String> {
    let mut both = String::new();
    for name in ["generations.jsonl", "scores.jsonl"] {
        let path = shard_dir.join(name);
        match sha256_file(&path) {
            Ok(h) => both.push_str(&h),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => both.push_str("absent"),
            Err(e) => return Err(Error::Io { path, source: e }),
        }
        both.push('\n');
    }
    Ok(crate::hash::sha256_tagged(both.as_bytes()))
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
    /// The cost measured when the video was generated (reported again when reused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    perf: Option<crate::generator::Perf>,
    /// For a video the model found rather than wrote (a folder of videos): its size and
    /// modification time when it was hashed. A file changed since is hashed again, never
    /// reused under its old hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stamp: Option<(u64, i128)>,
    /// For a video in the store: its size. A stored copy cut short since is generated again
    /// (a same-size change is caught by the hash check before scoring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

/// Whether a program's error says its output could not be written for a full disk or quota
/// (ENOSPC, EDQUOT as strerror words them): on a line naming the output (`{out}`), or anywhere
/// when the disk that holds it has little room left. A warning about some other disk (a cache
/// in /dev/shm) beside a model's own failure stopped the whole run. The program's own words are
/// read, not the adapter's around them ("… exited 0 but wrote no
/// video at {out}; stderr: <a /dev/shm warning>" named the output in the adapter's part).
fn says_disk_full(message: &str, out_dir: &Path) -> bool {
    let full = |line: &str| ["No space left on device", "Disk quota exceeded"].iter().any(|s| line.contains(s));
    message.lines().map(line_said).any(|l| full(l) && l.contains("{out}")) || (full(message) && little_room(out_dir))
}

/// The program's part of an error line: after the adapter's "; stderr: ", or the whole line.
fn line_said(line: &str) -> &str {
    line.rsplit_once("; stderr: ").map_or(line, |(_, said)| said)
}

/// Whether the filesystem holding `dir` has under 64 MiB or 1% of its space left for an
/// ordinary user's files (a program's partial output, removed, gives back what it took).
fn little_room(dir: &Path) -> bool {
    rustix::fs::statvfs(dir).is_ok_and(|s| {
        let free = s.f_bavail.saturating_mul(s.f_frsize);
        s.f_blocks > 0 && (free < 64 << 20 || s.f_bavail < s.f_blocks / 100)
    })
}

/// Whether the filesystem holding `dir` has no room left for an ordinary user's files.
fn disk_full(dir: &Path) -> bool {
    // Some filesystems (btrfs) report no inode counts at all: 0 free of 0 is not full.
    rustix::fs::statvfs(dir).is_ok_and(|s| s.f_blocks > 0 && (s.f_bavail == 0 || (s.f_files > 0 && s.f_favail == 0)))
}

/// A score kept in the store under its score key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ScoreCache {
    schema: String,
    status: Status,
    value: Option<f64>,
    error: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageCounts {
    pub units: usize,
    pub done_before: usize,
    pub generated: usize,
    pub reused: usize,
    pub generation_errors: usize,
    /// Videos generated or reused by this process that differ from what their unit asked for
    /// (frames, size, frame rate): see `off_request` in the records.
    pub off_request: usize,
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
    /// Shared by the videos scored in parallel.
    pub memory: &'a scoring::MemoryBudget,
}

/// A score's cache key: the video's bytes, how they are decoded
/// ([`crate::video::decode_versions`]), what measures it (name and version) and, for probes, the
/// expectations checked.
fn score_key<P: Serialize>(
    video_sha: &str,
    decode: (u32, Option<u32>),
    metric: &str,
    version: u32,
    params: &P,
) -> String {
    match decode {
        // A video's key is what it has always been.
        (d, None) => key_of(&("videval/score-key/v2", d, video_sha, metric, version, params)),
        (d, Some(still)) => key_of(&("videval/score-key/v2", d, still, video_sha, metric, version, params)),
    }
}

/// The results name of a probe's pass rate.
pub fn probe_metric(probe: &str) -> String {
    format!("probe:{probe}")
}

/// One thing measured on a video.
struct Measure {
    name: String,
    version: u32,
    key: String,
    /// The network the metric's value comes through (see [`ScoreRecord::network`]).
    network: Option<String>,
    kind: Kind,
}

enum Kind {
    Metric(&'static dyn videval_metrics::Metric),
    /// One probe's expectations, and whether they need what the case's mode holds in the output
    /// (`continuity`): loaded when the unit is scored, one unit at a time, never kept for all.
    Probes(Vec<Expectation>, bool),
}

/// The last record per key wins (a retried unit supersedes its failed attempt).
fn latest<T, K: Ord>(records: Vec<T>, key: impl Fn(&T) -> K) -> BTreeMap<K, T> {
    records.into_iter().map(|r| (key(&r), r)).collect()
}

impl ScoreCache {
    fn new(status: Status, value: Option<f64>, error: Option<String>) -> Self {
        Self { schema: SCORE_CACHE_SCHEMA.into(), status, value, error, detail: None }
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

    /// The suite and case a unit comes from.
    fn suite_case(&self, id: &UnitId) -> Result<(&Suite, &Case)> {
        self.suites
            .iter()
            .find(|s| s.name == id.suite)
            .and_then(|s| s.case(&id.case_id).map(|c| (s, c)))
            .ok_or_else(|| Error::Internal(format!("unit {id} is not in the loaded suites")))
    }

    fn bar(&self, len: usize, what: &str, noun: &str) -> crate::media::Progress {
        if !self.progress || len == 0 {
            return crate::media::Progress::hidden();
        }
        crate::media::progress(what, noun, len as u64)
    }

    /// Generates every unit of this shard that has no `ok` record yet.
    pub fn generate(&self, counts: &mut StageCounts) -> Result<()> {
        let units = self.my_units();
        counts.units = units.len();
        let path = self.shard_dir().join("generations.jsonl");
        let records: Vec<GenRecord> = records::read::<GenRecord>(&path)?
            .into_iter()
            .filter(|r| r.status == Status::Ok)
            .map(|r| self.relocated(r))
            .collect();
        // A found video replaced since this folder recorded it (by one of the same size: the plan
        // is the same) would keep the old file's numbers as done; said instead, before any work.
        self.store_is_here(records.iter())?;
        let changed: Vec<String> = records.iter().filter_map(|r| self.still_recorded(r).err()).collect();
        if let Some(first) = changed.first() {
            return Err(Error::Config(format!(
                "{} video(s) changed after this run folder recorded them (first: {first}); its results are of the files as they were: measure the new ones into another --out",
                changed.len()
            )));
        }
        let done: BTreeSet<(UnitId, String)> = records.into_iter().map(|r| (r.unit, r.gen_key)).collect();
        let pending: Vec<&Unit> =
            units.into_iter().filter(|u| !done.contains(&(u.id.clone(), u.gen_key.clone()))).collect();
        counts.done_before = counts.units - pending.len();
        // A store that cannot take new videos serves what it holds; anything else to generate is
        // refused before the model is asked (each delivery into tmp/ would fail, blamed on it).
        if !self.store.writable()
            && let Some(u) = pending.iter().find(|u| self.cached_generation(&u.gen_key).is_none())
        {
            return Err(Error::Config(format!(
                "--store {}: not writable, and {} (and perhaps more) is not in it yet; give a store this user can write",
                self.store.root().display(),
                u.id
            )));
        }
        let out = Appender::open(&path)?;
        let bar = self.bar(pending.len(), "generate", "units");
        // The first failure of the run itself (a full disk) stops the units not yet started:
        // every one of them was generated, and thrown away, first.
        let work = |unit: &&Unit| {
            let r = self.generate_one(unit, &out);
            bar.inc(1);
            r
        };
        // A model that spreads each generation over the machine makes one at a time, outside
        // the parallel loop: two at once made each one's time the pair's.
        let results = if self.generator.one_at_a_time() {
            in_order_until_first_error(&pending, work)
        } else {
            until_first_error(&pending, work)
        };
        bar.finish_and_clear();
        for r in results {
            let Some((ok, reused, off)) = r? else { continue };
            counts.off_request += usize::from(off);
            match (ok, reused) {
                (false, _) => counts.generation_errors += 1,
                (true, true) => counts.reused += 1,
                (true, false) => counts.generated += 1,
            }
        }
        Ok(())
    }

    /// A record whose stored video is gone from the path it names, pointed at the same video in
    /// this run's store (kept under its hash): a store moved or mounted elsewhere since. A
    /// killed run whose store was moved could not resume ("154 videos changed").
    fn relocated(&self, mut r: GenRecord) -> GenRecord {
        if let (Some(path), Some(sha)) = (r.video_path.as_deref(), r.video_sha256.as_deref())
            && let Some(here) = crate::store::moved_video(self.store.root(), Path::new(path), sha)
        {
            r.video_path = Some(here.to_string_lossy().into_owned());
        }
        r
    }

    /// A store's video not where the run recorded it, nor in this --store: the store moved. (Said
    /// as a change, it advised generating everything again into another --out; scoring failed
    /// every measurement as the model's.)
    fn store_is_here<'r>(&self, records: impl Iterator<Item = &'r GenRecord>) -> Result<()> {
        let mut records = records;
        match records.find_map(|r| self.elsewhere_store(r)) {
            Some(root) => Err(Error::Config(format!(
                "this run's videos are in the store at {}, which is not there, and --store {} does not hold them: give --store where that store is now",
                root.display(),
                self.store.root().display()
            ))),
            None => Ok(()),
        }
    }

    /// The root of the store a record's video was kept in, where that video is gone and the path
    /// has a store's layout (`ROOT/videos/ab/<sha>.<ext>`): a store that moved.
    fn elsewhere_store(&self, r: &GenRecord) -> Option<std::path::PathBuf> {
        let (path, sha) = (Path::new(r.video_path.as_deref()?), r.video_sha256.as_deref()?);
        let stem = path.file_stem()?.to_str()?;
        let videos = path.parent()?.parent()?;
        let stored = stem == crate::hash::digits(sha) && videos.file_name()? == "videos";
        (stored && !path.exists() && !self.store.holds(path)).then(|| videos.parent().map(Path::to_path_buf))?
    }

    /// For a video found where the model left it (not in the store): whether the file is still the
    /// one recorded. Its stamp (size, modification time) is compared with the one the store kept
    /// when it was hashed; a changed stamp (a copy, a touch) is hashed again, and the stamp kept is
    /// brought up to date when the content is the same. Stored videos are hashed before scoring.
    fn still_recorded(&self, r: &GenRecord) -> std::result::Result<(), String> {
        let (Some(path), Some(sha)) = (r.video_path.as_deref(), r.video_sha256.as_deref()) else { return Ok(()) };
        let path = Path::new(path);
        if self.store.holds(path) {
            return Ok(());
        }
        let cache = self.store.get::<GenCache>("gens", &r.gen_key).filter(|c| Path::new(&c.video_path) == path);
        let now = file_stamp(path);
        if now.is_some() && cache.as_ref().is_some_and(|c| c.stamp == now) {
            return Ok(());
        }
        match sha256_file(path) {
            Ok(actual) if actual == sha => {
                if let (Some(mut c), Some(stamp)) = (cache, now) {
                    c.stamp = Some(stamp);
                    // Only a shortcut for the next check: a store that cannot take it hashes again.
                    let _ = self.store.put("gens", &r.gen_key, &c);
                }
                Ok(())
            }
            Ok(actual) => Err(format!("{} is now {actual}, not the recorded {sha}", path.display())),
            Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
        }
    }

    /// The store's video for a generation key, where it is still there as stored.
    fn cached_generation(&self, gen_key: &str) -> Option<GenCache> {
        let cached: Option<GenCache> = self.store.get("gens", gen_key).map(|mut c: GenCache| {
            // A store moved or mounted elsewhere keeps its videos under their hashes: the entry's
            // video is looked up there when its recorded path is gone (found videos stay where
            // the model found them).
            if c.stamp.is_none()
                && let Some(here) =
                    crate::store::moved_video(self.store.root(), Path::new(&c.video_path), &c.video_sha256)
            {
                c.video_path = here.to_string_lossy().into_owned();
            }
            c
        });
        let fresh = |c: &GenCache| {
            c.schema == GEN_CACHE_SCHEMA
                && Path::new(&c.video_path).is_file()
                && c.stamp.is_none_or(|s| file_stamp(Path::new(&c.video_path)) == Some(s))
                && c.size.is_none_or(|n| std::fs::metadata(&c.video_path).is_ok_and(|m| m.len() == n))
        };
        cached.filter(fresh)
    }

    /// Whether the model finds `unit`'s video at `path` now (a folder's video, by its name).
    fn found_at(&self, unit: &Unit, path: &str) -> bool {
        let Ok((suite, case)) = self.suite_case(&unit.id) else { return false };
        let tmp = self.store.tmp_path(&unit.gen_key, self.generator.output_ext(case.mode));
        let job = Job { unit, case, suite, planned: &self.plan.units, out: &tmp };
        let found = self.generator.generate(&job);
        // A generator that writes (it was asked only where it finds its video) leaves nothing.
        let _ = std::fs::remove_file(&tmp);
        match found {
            Ok(Output::Existing(found)) => std::path::absolute(&found).unwrap_or(found) == Path::new(path),
            _ => false,
        }
    }

    /// Returns (ok, reused from the store, differs from what the unit asked for).
    fn generate_one(&self, unit: &Unit, out: &Appender) -> Result<(bool, bool, bool)> {
        let start = Instant::now();
        let (suite, case) = self.suite_case(&unit.id)?;
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
            perf: None,
            off_request: None,
        };
        // A file the model found (a folder's, not the store's) is reused only where the model
        // finds it now: two folders of one name and the same file sizes are one model to the
        // plan, and the second was served the first's videos (another picture's numbers, exit 0).
        let cached =
            self.cached_generation(&unit.gen_key).filter(|c| c.stamp.is_none() || self.found_at(unit, &c.video_path));
        if let Some(c) = cached {
            record.video_sha256 = Some(c.video_sha256);
            record.video_path = Some(c.video_path);
            record.encode = c.encode;
            record.perf = c.perf;
            record.cached = true;
        } else {
            self.generator.preflight()?;
            let mut stamp = None;
            let tmp = self.store.tmp_path(&unit.gen_key, self.generator.output_ext(case.mode));
            let job = Job { unit, case, suite, planned: &self.plan.units, out: &tmp };
            match self.generator.generate(&job) {
                Ok(Output::Written { encode, perf }) => {
                    record.perf = perf;
                    let (sha, path) = self.store.put_video(&tmp)?;
                    record.video_sha256 = Some(sha);
                    record.video_path = Some(path.to_string_lossy().into_owned());
                    record.encode = encode;
                }
                Ok(Output::Existing(path)) => {
                    // Only a regular file is read: a FIFO would block, a broken link fails. Either
                    // is this unit's error, not the run's.
                    let hashed = match file_stamp(&path) {
                        None => Err("not a regular file (a broken link, a folder or a device?)".to_string()),
                        Some(s) => sha256_file(&path).map(|sha| (s, sha)).map_err(|e| e.to_string()),
                    };
                    match hashed {
                        Ok((s, sha)) => {
                            stamp = Some(s);
                            record.video_sha256 = Some(sha);
                            record.video_path =
                                Some(std::path::absolute(&path).unwrap_or(path).to_string_lossy().into_owned());
                        }
                        Err(why) => {
                            record.status = Status::Error;
                            record.error = Some(format!("{}: cannot read: {why}", path.display()));
                        }
                    }
                }
                Err(e) if e.storage => {
                    // The disk, not the model: the run stops, and a rerun with room generates it.
                    let _ = std::fs::remove_file(&tmp);
                    return Err(Error::Internal(format!("{}: {}", unit.id, e.message)));
                }
                // A program's own error may not say that the disk was full; the disk does. Or it
                // says so where the disk no longer does: an atomic writer removes its partial
                // file, a video larger than the room left leaves room (both blamed the model).
                Err(e) if tmp.parent().is_some_and(|d| disk_full(d) || says_disk_full(&e.message, d)) => {
                    let _ = std::fs::remove_file(&tmp);
                    let which = match tmp.parent().filter(|p| disk_full(p)) {
                        Some(p) => format!("the disk holding {} is full", p.display()),
                        None => "the program reports a full disk".to_string(),
                    };
                    return Err(Error::Internal(format!(
                        "{}: {} — {which}: the disk, not the model; free some space and rerun",
                        unit.id, e.message
                    )));
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    record.status = Status::Error;
                    record.error = Some(e.message);
                }
            }
            // An image unit's output is one picture: a clip in its place was scored as a video
            // (frame_count 6, exit 0).
            if case.mode == crate::suite::Mode::Image
                && let Some(path) = record.video_path.as_deref()
                && crate::video::frames_upto(Path::new(path), 2).is_ok_and(|n| n > 1)
            {
                record.status = Status::Error;
                // A stored file named by its place in the store, as score errors are.
                record.error = Some(format!(
                    "{}: holds more than one frame, where the unit (mode: image) asks for a picture",
                    self.store.shown(Path::new(path))
                ));
                record.video_sha256 = None;
                record.video_path = None;
            }
            if let (Some(sha), Some(path)) = (&record.video_sha256, &record.video_path) {
                let cache = GenCache {
                    schema: GEN_CACHE_SCHEMA.into(),
                    video_sha256: sha.clone(),
                    video_path: path.clone(),
                    encode: record.encode.clone(),
                    perf: record.perf.clone(),
                    size: stamp.is_none().then(|| std::fs::metadata(path).map(|m| m.len()).ok()).flatten(),
                    stamp,
                };
                self.store.put("gens", &unit.gen_key, &cache)?;
            }
        }
        // A folder's videos were made before and without the suite's request (a VBench folder
        // at its own sizes): only a model given the request is held to it. HDR is said of any.
        if record.status == Status::Ok
            && let Some(path) = record.video_path.as_deref()
        {
            record.off_request = off_request(case, Path::new(path), self.generator.identity().adapter != "dir");
        }
        record.wall_s = start.elapsed().as_secs_f64();
        out.append(&record)?;
        Ok((record.status == Status::Ok, record.cached, record.off_request.is_some()))
    }

    /// What to measure on a unit's video: its suite's metrics, then one pass rate per probe
    /// named by the case's expectations.
    fn measures(&self, g: &GenRecord) -> Vec<Measure> {
        let sha = g.video_sha256.as_deref().unwrap_or_default();
        let decode = crate::video::decode_versions(Path::new(g.video_path.as_deref().unwrap_or_default()));
        let mut out = Vec::new();
        if let Some(s) = self.plan.suite(&g.unit.suite) {
            for name in &s.metrics {
                if let Some(m) = registry::lookup(name) {
                    // A feature or flow metric's value also depends on the network's weights.
                    let network = crate::distribution::network_id(m.reads());
                    let key = match &network {
                        Some(id) => score_key(sha, decode, name, m.version(), id),
                        None => score_key(sha, decode, name, m.version(), &()),
                    };
                    out.push(Measure { name: name.clone(), version: m.version(), key, network, kind: Kind::Metric(m) });
                }
            }
        }
        let case = self.suite_case(&g.unit).ok().map(|(_, c)| c);
        let mut by_probe: BTreeMap<&'static str, Vec<Expectation>> = BTreeMap::new();
        for e in case.map(|c| c.expect.as_slice()).unwrap_or_default() {
            by_probe.entry(e.probe()).or_default().push(e.clone());
        }
        for (probe, expectations) in by_probe {
            let name = probe_metric(probe);
            let needs_held = expectations.iter().any(|e| matches!(e, Expectation::Continuity(_)));
            // The verdict then depends on the conditioning input too: the generation key holds
            // what it contains (plan::input_content).
            let key = if needs_held {
                score_key(sha, decode, &name, probes::VERSION, &(&expectations, &g.gen_key))
            } else {
                score_key(sha, decode, &name, probes::VERSION, &expectations)
            };
            out.push(Measure {
                name,
                version: probes::VERSION,
                key,
                network: None,
                kind: Kind::Probes(expectations, needs_held),
            });
        }
        out
    }

    /// Scores every `ok` generation of this shard, skipping scores already recorded.
    pub fn score(&self, counts: &mut StageCounts) -> Result<()> {
        // The shard's units, for a summary of `score` alone (it said "0 units").
        counts.units = counts.units.max(self.my_units().len());
        let dir = self.shard_dir();
        let gens = latest(
            records::read::<GenRecord>(&dir.join("generations.jsonl"))?
                .into_iter()
                .map(|r| self.relocated(r))
                .collect(),
            |r| r.unit.clone(),
        );
        self.store_is_here(gens.values().filter(|r| r.status == Status::Ok))?;
        let path = dir.join("scores.jsonl");
        let done: BTreeSet<String> = records::read::<ScoreRecord>(&path)?
            .into_iter()
            .filter(|r| r.status != Status::Error)
            .map(|r| format!("{}|{}", r.unit, r.score_key))
            .collect();
        let mine: BTreeSet<UnitId> = self.my_units().into_iter().map(|u| u.id.clone()).collect();
        // Nothing generated at all: `score` on a run that was never generated (or another
        // shard's folder) scored nothing and called it done.
        if !mine.is_empty() && !gens.keys().any(|u| mine.contains(u)) {
            return Err(Error::Config(format!(
                "{}: no generations to score (run `videval generate` with the same flags first)",
                dir.display()
            )));
        }
        let todo: Vec<(&GenRecord, Vec<Measure>)> = gens
            .values()
            .filter(|g| g.status == Status::Ok && mine.contains(&g.unit))
            .map(|g| {
                (
                    g,
                    self.measures(g)
                        .into_iter()
                        .filter(|m| !done.contains(&format!("{}|{}", g.unit, m.key)))
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, ms)| !ms.is_empty())
            .collect();
        // The units of one video (one file, one hash: a folder's video serving several VBench
        // dimensions' suites) are scored together, in one decode.
        let mut groups: Vec<Vec<&(&GenRecord, Vec<Measure>)>> = Vec::new();
        let mut group_of: BTreeMap<(Option<&str>, Option<&str>), usize> = BTreeMap::new();
        for item in &todo {
            let key = (item.0.video_path.as_deref(), item.0.video_sha256.as_deref());
            let k = *group_of.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[k].push(item);
        }
        let out = Appender::open(&path)?;
        let bar = self.bar(groups.len(), "score", "videos");
        let results = until_first_error(&groups, |group| {
            let r = self.score_group(group, &out);
            bar.inc(1);
            r
        });
        bar.finish_and_clear();
        for r in results {
            let Some([scored, reused, errors]) = r? else { continue };
            counts.scored += scored;
            counts.scores_reused += reused;
            counts.score_errors += errors;
        }
        // What `score` alone says of the generations it found: the failed ones count (it said "0
        // failed" and exited 0 over 8 failed units), and units with no generation at all (a
        // `generate` killed part way) leave the shard unfinished, not done.
        let failed = gens.values().filter(|g| g.status == Status::Error && mine.contains(&g.unit)).count();
        counts.generation_errors = counts.generation_errors.max(failed);
        let missing: Vec<String> = mine.iter().filter(|u| !gens.contains_key(*u)).map(|u| u.to_string()).collect();
        if !missing.is_empty() {
            let more = missing.len().saturating_sub(5);
            return Err(Error::Config(format!(
                "{}: {} of {} units have no generation yet ({}{}); their videos were not scored: run `videval generate` with the same flags, then score again",
                dir.display(),
                missing.len(),
                mine.len(),
                missing[..missing.len().min(5)].join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            )));
        }
        Ok(())
    }

    /// Scores one video for every unit of `group` that holds it (one file, one hash): each
    /// measure not cached is computed in one decode shared by them all, a measure several units
    /// ask for alike (one key) once. A folder serving several VBench dimensions was decoded once
    /// per dimension's suite.
    fn score_group(&self, group: &[&(&GenRecord, Vec<Measure>)], out: &Appender) -> Result<[usize; 3]> {
        let (first, _) = group[0];
        let sha = first.video_sha256.clone().unwrap_or_default();
        let start = Instant::now();
        let mut results: Vec<Vec<Option<(ScoreCache, bool)>>> = group
            .iter()
            .map(|(_, measures)| {
                measures
                    .iter()
                    .map(|m| {
                        self.store
                            .get::<ScoreCache>("scores", &m.key)
                            .filter(|c| c.schema == SCORE_CACHE_SCHEMA)
                            .map(|c| (c, true))
                    })
                    .collect()
            })
            .collect();
        let mut pending: Vec<Vec<usize>> =
            results.iter().map(|r| (0..r.len()).filter(|&i| r[i].is_none()).collect()).collect();
        // Every measure cached for the recorded video: a found file replaced since is not that
        // video, so its cached numbers are not this unit's; the hash check below says so.
        for (j, (g, measures)) in group.iter().enumerate() {
            if pending[j].is_empty() && self.still_recorded(g).is_err() {
                results[j].iter_mut().for_each(|r| *r = None);
                pending[j] = (0..measures.len()).collect();
            }
        }
        let total: usize = pending.iter().map(Vec::len).sum();
        let mut computed_s = 0.0;
        if total > 0 {
            // What each unit's mode holds in the output, loaded only when a pending check needs it.
            let held: Vec<std::result::Result<Option<probes::Held>, String>> = group
                .iter()
                .zip(&pending)
                .map(|((g, measures), pending)| {
                    if pending.iter().any(|&i| matches!(measures[i].kind, Kind::Probes(_, true))) {
                        self.suite_case(&g.unit)
                            .map_err(|e| e.to_string())
                            .and_then(|(s, c)| crate::generator::held_frames(s, c).map_err(|e| e.to_string()))
                    } else {
                        Ok(None)
                    }
                })
                .collect();
            // The measures to compute, each key once; and where each unit's pending one is.
            let mut needs: Vec<Need<'_>> = Vec::new();
            let mut slot: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
            let mut at: Vec<Vec<usize>> = Vec::with_capacity(group.len());
            for (j, (_, measures)) in group.iter().enumerate() {
                let mut mine = Vec::with_capacity(pending[j].len());
                for &i in &pending[j] {
                    let m = &measures[i];
                    let k = *slot.entry(m.key.as_str()).or_insert_with(|| {
                        needs.push(match &m.kind {
                            Kind::Metric(metric) => Need::Metric(*metric),
                            Kind::Probes(expectations, false) => Need::Probes(expectations, Ok(None)),
                            Kind::Probes(expectations, true) => {
                                Need::Probes(expectations, held[j].as_ref().map(Option::as_ref).map_err(String::as_str))
                            }
                        });
                        needs.len() - 1
                    });
                    mine.push(k);
                }
                at.push(mine);
            }
            let path = Path::new(first.video_path.as_deref().unwrap_or_default());
            // A file that cannot be probed fails in score_video with its typed error.
            let bytes = video::probe(path).map_or(0, |i| {
                scoring::estimated_bytes(i.width, i.height, i.frames, scoring::needs_whole_clip(&needs))
                    .saturating_add(scoring::probe_bytes(&needs, &i))
                    .saturating_add(scoring::network_bytes(&needs, i.width, i.height))
            });
            let reservation = self.memory.reserve(bytes);
            // The file scored must be the file generated: scores are cached under its hash, and
            // a store or folder changed since would put another video's numbers there.
            let outcomes = match sha256_file(path) {
                Ok(actual) if actual == sha => scoring::score_video(path, &needs),
                // A stored copy damaged in place (same size, so the cache's check passed): the
                // store forgets it, and the next run into a new --out generates it again (and
                // replaces the copy). It was reused for ever, failing every run.
                Ok(actual) if self.store.holds(path) && self.store.writable() => {
                    for (g, _) in group {
                        self.store.forget("gens", &g.gen_key);
                    }
                    Err(format!(
                        "{} is damaged: it is no longer the video generated ({sha}; it is now {actual}); the store will not reuse it: rerun into a new --out to generate it again",
                        path.display()
                    ))
                }
                Ok(actual) if self.store.holds(path) => Err(format!(
                    "{} is damaged: it is no longer the video generated ({sha}; it is now {actual}); the store is read-only, so it keeps offering it: have its owner remove the file",
                    path.display()
                )),
                Ok(actual) => Err(format!(
                    "{} is no longer the video generated ({sha}; it is now {actual}): the store or folder changed since; rerun into a new --out",
                    path.display()
                )),
                Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
            };
            drop(reservation);
            // Messages name a stored video by its place in the store, not the store's folder.
            let (full, shown) = (path.display().to_string(), self.store.shown(path));
            let say = |e: &String| Some(if full.is_empty() { e.clone() } else { e.replace(&full, &shown) });
            // A file that is no longer the video generated (or cannot be read) fails every unit
            // of the group, their cached numbers too: another unit's were reported beside the
            // error, for a video no longer there.
            if let Err(e) = &outcomes {
                for r in results.iter_mut().flatten() {
                    if r.as_ref().is_some_and(|(_, cached)| *cached) {
                        *r = Some((ScoreCache::new(Status::Error, None, say(e)), false));
                    }
                }
            }
            for (j, (_, measures)) in group.iter().enumerate() {
                for (&i, &k) in pending[j].iter().zip(&at[j]) {
                    let c = match &outcomes {
                        Err(e) => ScoreCache::new(Status::Error, None, say(e)),
                        Ok(o) => match &o[k] {
                            Ok(v) => ScoreCache {
                                detail: v.detail.clone(),
                                ..ScoreCache::new(Status::Ok, Some(v.value), None)
                            },
                            Err(Failure::NotApplicable(e)) => ScoreCache::new(Status::NotApplicable, None, say(e)),
                            Err(Failure::Error(e)) => ScoreCache::new(Status::Error, None, say(e)),
                        },
                    };
                    // Errors are retried next time; so is "too large for this machine's memory",
                    // which another machine (or more memory) may measure.
                    let machine = c.status == Status::NotApplicable
                        && c.error.as_deref().is_some_and(scoring::depends_on_the_machine);
                    if c.status != Status::Error && !machine {
                        self.store.put("scores", &measures[i].key, &c)?;
                    }
                    results[j][i] = Some((c, false));
                }
            }
            // One decode served every pending measure: each record carries an equal share.
            computed_s = start.elapsed().as_secs_f64() / total as f64;
        }
        let mut tally = [0usize; 3];
        for ((g, measures), results) in group.iter().zip(results) {
            for (m, r) in measures.iter().zip(results) {
                let Some((mut cache, cached)) = r else { continue };
                if let (true, Status::NotApplicable, Kind::Metric(metric)) = (cached, cache.status, &m.kind)
                    && cache.error.as_deref().is_some_and(|e| e.starts_with("needs "))
                    && let Some(now) = crate::distribution::network_missing(metric.reads())
                {
                    cache.error = Some(now);
                }
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
                    metric: m.name.clone(),
                    metric_version: m.version,
                    score_key: m.key.clone(),
                    network: m.network.clone(),
                    status: cache.status,
                    value: cache.value,
                    error: cache.error,
                    detail: cache.detail,
                    cached,
                    wall_s: if cached { 0.0 } else { computed_s },
                })?;
            }
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
            records_sha256: Some(records_digest(&dir)?),
        };
        write_json_atomic(&dir.join("shard_done.json"), &done)?;
        Ok(done)
    }
}

/// Runs `work` on every item in parallel until the first error of the run itself: items not yet
/// started then give None (not started), those already running finish. In input order.
fn until_first_error<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> Result<R> + Sync) -> Vec<Result<Option<R>>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    items
        .par_iter()
        .map(|item| {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let r = work(item);
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            r.map(Some)
        })
        .collect()
}

/// [`until_first_error`] one item after another, in order.
fn in_order_until_first_error<T, R>(items: &[T], work: impl Fn(&T) -> Result<R>) -> Vec<Result<Option<R>>> {
    let mut failed = false;
    items
        .iter()
        .map(|item| {
            if failed {
                return Ok(None);
            }
            let r = work(item);
            failed = r.is_err();
            r.map(Some)
        })
        .collect()
}

/// How a video differs from what its case asked for, from its header: frames (where the header
/// counts them), the size it is shown at, and the frame rate (beyond 1%), where it is `held` to
/// the request; and HDR, measured without tone mapping, of any. None when it is as asked or
/// unreadable (reading it is the scorer's to fail). An image is judged by its size.
fn off_request(case: &crate::suite::Case, path: &Path, held: bool) -> Option<String> {
    let info = crate::video::probe(path).ok()?;
    let mut said = Vec::new();
    if held {
        said = off_size(case, &info, path);
    }
    // HDR code values are measured as SDR ones (no tone mapping): every number on it is off.
    if let Some(hdr) = info.hdr() {
        said.push(format!("HDR ({hdr}), measured without tone mapping"));
    }
    (!said.is_empty()).then(|| said.join(", "))
}

/// [`off_request`]'s frames, size and frame rate.
fn off_size(case: &crate::suite::Case, info: &crate::video::VideoInfo, path: &Path) -> Vec<String> {
    let g = &case.generation;
    let image = case.mode == crate::suite::Mode::Image;
    let mut said = Vec::new();
    // Frames from the header's count, or from its length at its rate (Matroska states no count;
    // an MP4's count includes what its edit list hides).
    let shown = || info.shown_frames_by_header().or_else(|| crate::video::shown_frames(path).ok().map(|n| n as u64));
    if let Some(n) = shown().filter(|&n| !image && n != u64::from(g.frames)) {
        said.push(format!("{n} frame{} ({} asked)", if n == 1 { "" } else { "s" }, g.frames));
    }
    // The size it is shown at: rotated, and its pixels' aspect applied (an anamorphic 192×144 at
    // 4:3 is shown at 256×144).
    let (w, h) = info.display_size();
    let w = videval_metrics::preprocess::shown_width(w, info.pixel_aspect());
    if (w, h) != (g.width, g.height) {
        said.push(format!("{w}x{h} ({}x{} asked)", g.width, g.height));
    }
    if !image && (info.fps / g.fps - 1.0).abs() > 0.01 {
        said.push(format!("{} fps ({} asked)", (info.fps * 1000.0).round() / 1000.0, g.fps));
    }
    said
}
