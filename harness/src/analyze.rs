//! Merge and analyze: check that a run's shards add up to its plan, then turn the records into
//! `results.parquet` (one row per sample × metric) and `results.json` (estimates with CIs).
//!
//! Merge refuses shards from another plan, mixed shard counts, units outside the plan and units
//! recorded by two shards; units with no record at all are listed and make the merge fail unless
//! `--allow-partial` (then the results say `complete: false`). A unit whose generation failed is
//! present: it counts as a failure in the results, not as missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use videval_metrics::registry;
use videval_metrics::stats::{cluster_bootstrap_mean, pass_rate};
use videval_reports::results::{
    Counts, Interval, MetricResult, RESULTS_SCHEMA, Results, Sample, SuiteResults, Unmeasured,
};

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::plan::{Plan, UnitId};
use crate::records::{self, GenRecord, ScoreRecord, Status};
use crate::runner::{Shard, ShardDone};
use crate::store::{read_json, write_atomic, write_json_atomic};

pub const N_BOOT: usize = 2000;
pub const LEVEL: f64 = 0.95;

/// The columns of `results.parquet`, in order (documented in the README).
pub const PARQUET_COLUMNS: &[&str] = &[
    "suite",
    "suite_version",
    "case_id",
    "cluster",
    "seed_idx",
    "seed",
    "metric",
    "metric_version",
    "value",
    "video_sha256",
    "gen_key",
];

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Merged {
    pub results_json: PathBuf,
    pub results_parquet: PathBuf,
    pub complete: bool,
    pub missing: Vec<String>,
    pub failed_generations: usize,
    /// Measurements that errored (an unreadable video, a failed computation), every suite.
    pub failed_scores: usize,
    /// Samples whose video differs from what their unit asked for (frames, size, frame rate).
    pub off_request: usize,
    /// Why the merge is partial besides missing units (merged with --allow-partial).
    pub problems: Vec<String>,
    /// VBench dimensions whose suite is in the run but that have no score, with why
    /// (`aesthetic_quality: needs CLIP ViT-L/14 … weights`): said where the run ends, not only in
    /// the results.
    pub vbench_unscored: Vec<String>,
    /// VBench dimensions scored without some of their videos, with which and why (VBench itself
    /// gives NaN or stops on them): said where the run ends too.
    pub vbench_left_out: Vec<String>,
    /// Where the run's VBench scores depart from VBench's protocol (a subset of prompts, other
    /// sample counts).
    pub vbench_caveats: Vec<String>,
    /// The VBench scores themselves, one line each (each dimension, then the Quality Score):
    /// said where the run ends (only paths and what was not scored were).
    pub vbench_scores: Vec<String>,
}

struct Loaded {
    gens: BTreeMap<UnitId, GenRecord>,
    scores: BTreeMap<(UnitId, String), ScoreRecord>,
    missing: Vec<UnitId>,
    /// What keeps the merge from being whole (a shard not finished, records that disagree with
    /// its shard_done.json); empty for a complete merge.
    problems: Vec<String>,
}

fn shard_dirs(run_dir: &Path) -> Result<Vec<(Shard, PathBuf)>> {
    let root = run_dir.join("shards");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(_) if !root.is_dir() => {
            return Err(Error::BadFile {
                path: root,
                message: "not a folder (a run's shards/ holds K-of-N folders)".into(),
            });
        }
        Err(e) => {
            return Err(Error::Io { path: root, source: e });
        }
    };
    for entry in entries {
        let path = entry.map_err(Error::io(&root))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !path.is_dir() {
            continue;
        }
        let shard = Shard::from_dir_name(&name).ok_or_else(|| Error::BadFile {
            path: path.clone(),
            message: "not a shard directory (expected K-of-N)".into(),
        })?;
        out.push((shard, path));
    }
    out.sort_by_key(|(s, _)| (s.n, s.k));
    Ok(out)
}

fn load(run_dir: &Path, plan: &Plan, allow_partial: bool) -> Result<Loaded> {
    // What killed writers left beside the run's files and the shards' (merges, reports and runs
    // stopped mid-write).
    crate::store::sweep_leftovers(run_dir);
    for entry in std::fs::read_dir(run_dir.join("shards")).into_iter().flatten().flatten() {
        crate::store::sweep_leftovers(&entry.path());
    }
    let shards = shard_dirs(run_dir)?;
    let counts: BTreeSet<u32> = shards.iter().map(|(s, _)| s.n).collect();
    if counts.len() > 1 {
        return Err(Error::Incomplete(format!(
            "{}: shards of different shard counts ({counts:?}) in one run; merge one sharding",
            run_dir.display()
        )));
    }
    let mut problems = Vec::new();
    let mut finished: Vec<(PathBuf, ShardDone)> = Vec::new();
    if let Some(&n) = counts.iter().next() {
        if n > crate::run::MAX_SHARDS {
            return Err(Error::Incomplete(format!(
                "{}: shards of {n}: more than the {} a run may have",
                run_dir.display(),
                crate::run::MAX_SHARDS
            )));
        }
        for k in 0..n {
            match shards.iter().find(|(s, _)| s.k == k) {
                None => problems.push(format!("shard {k}-of-{n} never started (no shards/{k}-of-{n})")),
                Some((_, dir)) => match read_json::<ShardDone>(&dir.join("shard_done.json")) {
                    Ok(done) if done.plan_hash != plan.plan_hash => {
                        return Err(Error::Incomplete(format!(
                            "{}: shard {k}-of-{n} ran plan {} but this run's plan is {}",
                            dir.display(),
                            done.plan_hash,
                            plan.plan_hash
                        )));
                    }
                    Ok(done) => finished.push((dir.clone(), done)),
                    Err(_) if !dir.join("shard_done.json").exists() => {
                        problems.push(format!("shard {k}-of-{n} has not finished (no shard_done.json)"))
                    }
                    // Cut short or overwritten: said as such, not as a shard still running.
                    Err(e) => problems.push(format!(
                        "shard {k}-of-{n}: its shard_done.json cannot be read ({e}); rerun the shard to finish it again"
                    )),
                },
            }
        }
    }
    let planned: BTreeMap<&UnitId, &str> = plan.units.iter().map(|u| (&u.id, u.gen_key.as_str())).collect();
    let mut gens: BTreeMap<UnitId, (GenRecord, String)> = BTreeMap::new();
    let mut scores = BTreeMap::new();
    for (shard, dir) in &shards {
        let shard_gens = records::read::<GenRecord>(&dir.join("generations.jsonl"))?;
        let mut last: BTreeMap<UnitId, GenRecord> = BTreeMap::new();
        for r in shard_gens {
            match planned.get(&r.unit) {
                None => {
                    return Err(Error::Incomplete(format!("{}: unit {} is not in the plan", dir.display(), r.unit)));
                }
                Some(k) if *k != r.gen_key => {
                    return Err(Error::Incomplete(format!(
                        "{}: unit {} has generation key {} but the plan says {k}",
                        dir.display(),
                        r.unit,
                        r.gen_key
                    )));
                }
                Some(_) => {}
            }
            if let Some(prev) = last.get(&r.unit) {
                if prev.status == Status::Ok && r.status == Status::Ok {
                    return Err(Error::Incomplete(format!("{}: unit {} was generated twice", dir.display(), r.unit)));
                }
            }
            last.insert(r.unit.clone(), r);
        }
        for (unit, r) in last {
            if let Some((_, other)) = gens.get(&unit) {
                return Err(Error::Incomplete(format!(
                    "unit {unit} is recorded by two shards: {other} and {}",
                    shard.dir_name()
                )));
            }
            gens.insert(unit, (r, shard.dir_name()));
        }
        let path = dir.join("scores.jsonl");
        let mut shard_scores = BTreeMap::new();
        for r in records::read::<ScoreRecord>(&path)? {
            if r.status == Status::Ok && !r.value.is_some_and(f64::is_finite) {
                return Err(Error::BadFile {
                    path,
                    message: format!("unit {} {}: status ok without a finite value", r.unit, r.metric),
                });
            }
            shard_scores.insert((r.unit.clone(), r.metric.clone()), r);
        }
        // The records must still hold what the shard counted when it finished: a record file
        // cut short or edited would otherwise merge into other estimates, marked complete.
        if let Some((_, done)) = finished.iter().find(|(d, _)| d == dir) {
            if let Some(want) = &done.records_sha256
                && crate::runner::records_digest(dir)? != *want
            {
                problems.push(format!(
                    "shard {}: its record files changed after it finished (generated again without scoring: run its score stage; edited: remove the shard's folder and run it again, the store keeps what it made)",
                    shard.dir_name()
                ));
            }
            let count = |s: Status| shard_scores.values().filter(|r: &&ScoreRecord| r.status == s).count();
            let (ok, errors) = (count(Status::Ok), count(Status::Error));
            if ok < done.scores_ok || errors < done.score_errors {
                problems.push(format!(
                    "shard {}: shard_done.json counted {} scores and {} errors, its scores.jsonl holds {ok} and {errors} (cut short or edited?); rerun the shard to redo the missing ones",
                    shard.dir_name(),
                    done.scores_ok,
                    done.score_errors
                ));
            }
        }
        scores.extend(shard_scores);
    }
    // One metric, one scorer: shards scored through different networks (another --weights, or
    // none) or by another version of a metric would merge into one estimate of mixed numbers,
    // marked complete.
    let mut scorers: BTreeMap<&str, BTreeMap<(u32, Option<&str>), &UnitId>> = BTreeMap::new();
    for ((unit, metric), r) in &scores {
        scorers.entry(metric.as_str()).or_default().entry((r.metric_version, r.network.as_deref())).or_insert(unit);
    }
    for (metric, ways) in &scorers {
        if ways.len() > 1 {
            let shown: Vec<String> = ways
                .iter()
                .take(3)
                .map(|((v, net), unit)| format!("v{v} through {} (e.g. {unit})", net.unwrap_or("no network")))
                .collect();
            return Err(Error::Incomplete(format!(
                "{}: metric {metric} was scored in {} ways: {}; score every shard with the same videval and the same --weights (VIDEVAL_WEIGHTS), then merge",
                run_dir.display(),
                ways.len(),
                shown.join("; ")
            )));
        }
    }
    let missing: Vec<UnitId> = plan.units.iter().filter(|u| !gens.contains_key(&u.id)).map(|u| u.id.clone()).collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(|u| u.to_string()).collect();
        let more = if missing.len() > 20 { format!(" and {} more", missing.len() - 20) } else { String::new() };
        problems.push(format!(
            "{} of {} units have no record: {}{more}",
            missing.len(),
            plan.units.len(),
            shown.join(", ")
        ));
    }
    if !problems.is_empty() && !allow_partial {
        return Err(Error::Incomplete(format!("{}: cannot merge:\n  {}", run_dir.display(), problems.join("\n  "))));
    }
    // Keep only scores of the generation that is current for each unit.
    let gens: BTreeMap<UnitId, GenRecord> = gens.into_iter().map(|(k, (r, _))| (k, r)).collect();
    scores.retain(|(unit, _), s: &mut ScoreRecord| {
        gens.get(unit).is_some_and(|g| g.gen_key == s.gen_key && g.video_sha256.as_deref() == Some(&s.video_sha256))
    });
    Ok(Loaded { gens, scores, missing, problems })
}

/// Merges the shards of `run_dir` and writes `results.parquet` and `results.json`.
pub fn merge(run_dir: &Path, allow_partial: bool) -> Result<Merged> {
    if !run_dir.is_dir() {
        return Err(Error::BadFile { path: run_dir.to_path_buf(), message: "no such run folder".into() });
    }
    let plan: Plan = read_json(&run_dir.join("plan.json"))?;
    let manifest: Manifest = read_json(&run_dir.join("manifest.json"))?;
    if manifest.plan_hash != plan.plan_hash {
        return Err(Error::Incomplete(format!(
            "{}: manifest and plan.json disagree on the plan hash",
            run_dir.display()
        )));
    }
    let loaded = load(run_dir, &plan, allow_partial)?;
    let results = build_results(&plan, &loaded);
    let parquet = run_dir.join("results.parquet");
    write_parquet(&parquet, &plan, &loaded)?;
    let json = run_dir.join("results.json");
    write_json_atomic(&json, &results)?;
    Ok(Merged {
        results_json: json,
        results_parquet: parquet,
        complete: results.complete,
        missing: results.missing_units.clone(),
        failed_generations: results.suites.values().map(|s| s.n.failed_generations).sum(),
        failed_scores: results.suites.values().map(|s| s.n.failed_scores).sum(),
        off_request: results.samples.iter().filter(|s| s.off_request.is_some()).count(),
        problems: loaded.problems.clone(),
        vbench_unscored: results.vbench.as_ref().map_or_else(Vec::new, |b| {
            b.skipped
                .iter()
                .filter(|s| results.suites.contains_key(&format!("vbench_{}", s.dimension)))
                .map(|s| format!("{}: {}", s.dimension, s.reason))
                .collect()
        }),
        vbench_caveats: results.vbench.as_ref().map_or_else(Vec::new, |b| b.caveats.clone()),
        vbench_scores: results.vbench.as_ref().map_or_else(Vec::new, |b| {
            let ci = |c: Option<[f64; 2]>| c.map_or(String::new(), |[lo, hi]| format!(" [{lo:.4}, {hi:.4}]"));
            let mut lines: Vec<String> = b
                .dimensions
                .iter()
                .map(|d| {
                    format!(
                        "{}: {:.4}{} (normalised {:.4}), {} prompts, {} videos",
                        d.dimension,
                        d.raw.value,
                        ci(d.raw.ci),
                        d.normalised.value,
                        d.prompts,
                        d.videos
                    )
                })
                .collect();
            if let Some(q) = &b.quality_score {
                let note = q.note.as_deref().map_or(String::new(), |n| format!(" ({n})"));
                lines.push(format!("Quality Score: {:.4}{}{note}", q.value, ci(q.ci)));
            }
            lines
        }),
        vbench_left_out: results.vbench.as_ref().map_or_else(Vec::new, |b| {
            b.dimensions.iter().filter_map(|d| d.left_out.as_ref().map(|l| format!("{}: {l}", d.dimension))).collect()
        }),
    })
}

fn build_results(plan: &Plan, loaded: &Loaded) -> Results {
    let mut suites = BTreeMap::new();
    for s in &plan.suites {
        let units: Vec<_> = plan.units.iter().filter(|u| u.id.suite == s.name).collect();
        let mut n = Counts {
            cases: units.iter().map(|u| &u.id.case_id).collect::<BTreeSet<_>>().len(),
            samples: units.len(),
            ..Default::default()
        };
        n.failed_generations =
            units.iter().filter(|u| loaded.gens.get(&u.id).is_some_and(|g| g.status == Status::Error)).count();
        let mut metrics = BTreeMap::new();
        let mut unmeasured = BTreeMap::new();
        for m in s.metrics.iter().chain(&s.probes) {
            let mut clusters: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            let (mut not_applicable, mut failed, mut reason) = (0, 0, None);
            for u in &units {
                match loaded.scores.get(&(u.id.clone(), m.clone())) {
                    Some(r) if r.status == Status::Ok => {
                        clusters.entry(u.cluster.as_str()).or_default().push(r.value.unwrap_or(f64::NAN));
                    }
                    Some(r) => {
                        if r.status == Status::NotApplicable {
                            not_applicable += 1;
                        } else {
                            failed += 1;
                        }
                        if reason.is_none() {
                            reason = r.error.clone().or_else(|| r.detail.clone());
                        }
                    }
                    None => {}
                }
            }
            n.not_applicable += not_applicable;
            n.failed_scores += failed;
            let groups: Vec<Vec<f64>> = clusters.into_values().collect();
            // One fixed seed per (suite, metric): intervals are reproducible and independent.
            let seed = crate::hash::seed_of(&["videval/boot/v1", &s.name, m]);
            // Pass rates get an exact interval over cases; other metrics a clustered bootstrap.
            let estimate = if m.starts_with("probe:") {
                pass_rate(&groups, LEVEL)
            } else {
                cluster_bootstrap_mean(&groups, N_BOOT, LEVEL, seed)
            };
            match (estimate, describe(m)) {
                (Some(e), Some((version, direction, description))) => {
                    metrics.insert(m.clone(), metric_result(e, version, direction, description));
                }
                // Measured on no sample: said with why (it vanished from the report and from
                // compare, whose gate then passed on what remained).
                (None, Some((_, direction, description))) if not_applicable + failed + n.failed_generations > 0 => {
                    let reason = reason.unwrap_or_else(|| {
                        format!("no video to measure: {} generation(s) of this suite failed", n.failed_generations)
                    });
                    unmeasured.insert(m.clone(), Unmeasured { not_applicable, failed, reason, direction, description });
                }
                _ => {}
            }
        }
        let (capabilities, capability_tags, unmeasured_capabilities) = capabilities(s, &units, loaded);
        suites.insert(
            s.name.clone(),
            SuiteResults {
                version: s.version,
                content_hash: s.content_hash.clone(),
                inputs: s.inputs.clone(),
                n,
                metrics,
                capabilities,
                capability_tags,
                unmeasured_capabilities,
                unmeasured,
            },
        );
    }
    let samples = plan
        .units
        .iter()
        .filter_map(|u| {
            let g = loaded.gens.get(&u.id)?;
            let mut metrics = BTreeMap::new();
            let mut metric_errors = BTreeMap::new();
            let mut failed_metrics = std::collections::BTreeSet::new();
            let mut details = BTreeMap::new();
            let suite = plan.suite(&u.id.suite);
            for m in suite.iter().flat_map(|s| s.metrics.iter().chain(&s.probes)) {
                match loaded.scores.get(&(u.id.clone(), m.clone())) {
                    Some(r) if r.status == Status::Ok => {
                        metrics.insert(m.clone(), r.value.unwrap_or(f64::NAN));
                        if let Some(d) = &r.detail {
                            details.insert(m.clone(), d.clone());
                        }
                    }
                    Some(r) => {
                        metric_errors.insert(m.clone(), r.error.clone().unwrap_or_default());
                        if r.status == Status::Error {
                            failed_metrics.insert(m.clone());
                        }
                    }
                    None => {}
                }
            }
            Some(Sample {
                suite: u.id.suite.clone(),
                case_id: u.id.case_id.clone(),
                seed_idx: u.id.seed_idx,
                seed: u.seed,
                cluster: u.cluster.clone(),
                prompt: u.prompt.clone(),
                status: if g.status == Status::Ok { "ok".into() } else { "error".into() },
                video_sha256: g.video_sha256.clone(),
                error: g.error.clone(),
                off_request: g.off_request.clone(),
                metrics,
                metric_errors,
                failed_metrics,
                details,
            })
        })
        .collect();
    let mut results = Results {
        schema: RESULTS_SCHEMA.into(),
        plan_hash: plan.plan_hash.clone(),
        model: serde_json::to_value(&plan.model).unwrap_or_default(),
        complete: loaded.missing.is_empty() && loaded.problems.is_empty(),
        missing_units: loaded.missing.iter().map(|u| u.to_string()).collect(),
        suites,
        samples,
        throughput: throughput(plan, loaded),
        vbench: None,
    };
    results.vbench = crate::vbench::block(&results, &plan.narrowed);
    crate::vbench::mark_unfiltered_rows(&mut results);
    results
}

/// Latency percentiles, rates and MFU over the units whose generator measured itself.
/// The peak and the MFU of generations that may have run on machines of different peaks: each
/// against the peak measured where it ran (shards elsewhere, or side by side, measure other
/// peaks: the first one's was used for all) — the FLOPs done over what those peaks could have
/// done in the same seconds, the peak their time-weighted mean. Whether every peak was the same.
fn utilisation(perfs: &[&crate::generator::Perf]) -> (f64, f64, bool) {
    let Some(first) = perfs.first() else { return (0.0, 0.0, true) };
    let time: f64 = perfs.iter().map(|p| p.seconds).sum();
    let flops: f64 = perfs.iter().map(|p| p.flops).sum();
    let capacity: f64 = perfs.iter().map(|p| p.seconds * p.peak_flops).sum();
    let same = perfs.iter().all(|p| p.peak_flops == first.peak_flops && p.peak_source == first.peak_source);
    if same || !(capacity > 0.0 && time > 0.0) {
        (first.peak_flops, flops / time / first.peak_flops, same)
    } else {
        (capacity / time, flops / capacity, same)
    }
}

fn throughput(plan: &Plan, loaded: &Loaded) -> Option<videval_reports::results::Throughput> {
    let perfs: Vec<&crate::generator::Perf> = plan
        .units
        .iter()
        .filter_map(|u| loaded.gens.get(&u.id))
        .filter(|g| g.status == Status::Ok)
        .filter_map(|g| g.perf.as_ref())
        .collect();
    let first = perfs.first()?;
    let mut lat: Vec<f64> = perfs.iter().map(|p| p.seconds).collect();
    lat.sort_by(f64::total_cmp);
    // Nearest-rank percentile.
    let pct = |q: f64| lat[((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1];
    let time: f64 = lat.iter().sum();
    let flops: f64 = perfs.iter().map(|p| p.flops).sum();
    let frames: f64 = perfs.iter().map(|p| f64::from(p.frames)).sum();
    let tokens: f64 = perfs.iter().map(|p| p.tokens as f64 * f64::from(p.passes)).sum();
    let n = perfs.len() as f64;
    let achieved = flops / time;
    let (peak, mfu, same_peak) = utilisation(&perfs);
    let peak_source = if same_peak {
        first.peak_source.clone()
    } else {
        format!(
            "time-weighted mean of the peaks measured where each video was generated (first: {})",
            first.peak_source
        )
    };
    Some(videval_reports::results::Throughput {
        device: first.device.clone(),
        videos: perfs.len(),
        latency_p50_s: pct(0.5),
        latency_p95_s: pct(0.95),
        latency_mean_s: time / n,
        frames_per_s: frames / time,
        tokens_per_s: tokens / time,
        flops_per_video: flops / n,
        achieved_flops_per_s: achieved,
        peak_flops_per_s: peak,
        peak_source,
        mfu,
        peak_memory_bytes: perfs.iter().map(|p| p.peak_memory_bytes).max().unwrap_or(0),
    })
}

/// A results entry from an estimate and what it measures.
fn metric_result(
    e: videval_metrics::stats::Estimate,
    version: u32,
    direction: String,
    description: String,
) -> MetricResult {
    MetricResult {
        point_estimate: e.point_estimate,
        standard_error: e.standard_error,
        confidence_interval: e.interval.map(|[lower_bound, upper_bound]| Interval {
            confidence_level: e.confidence_level,
            lower_bound,
            upper_bound,
        }),
        interval_note: e.note,
        method: e.method,
        unit: "case".into(),
        n_clusters: e.n_clusters,
        n_samples: e.n_samples,
        n_cases: None,
        n_boot: e.n_boot,
        rng_seed: e.rng_seed,
        metric_version: version,
        direction,
        description,
    }
}

/// Capability pass rates of one suite, per family and per tag where a family has several in the
/// run: every tagged unit's mean probe pass rate (0 for a unit that failed to generate, and 0 for
/// each probe whose measurement failed: an unreadable video is the model's failure, as the exit
/// code has it; a model whose every video was unreadable had an empty table and "No check
/// failed" on the page it publishes), Clopper–Pearson interval over cases. And the families and
/// tags none of whose samples had a check measured, with why (they vanished from results.json,
/// and the limitations page said no case was tagged).
#[allow(clippy::type_complexity)]
fn capabilities<'a>(
    s: &crate::plan::SuiteRef,
    units: &[&'a crate::plan::Unit],
    loaded: &Loaded,
) -> (BTreeMap<String, MetricResult>, BTreeMap<String, MetricResult>, BTreeMap<String, Unmeasured>) {
    // Per family (`physics`) and per dotted tag (`physics.gravity`; a tag without a dot is its
    // family): clusters' values, cases, and units with nothing measured with the first reason.
    #[derive(Default)]
    struct Group<'a> {
        clusters: BTreeMap<&'a str, Vec<f64>>,
        cases: BTreeSet<&'a str>,
        nothing: usize,
        why: Option<String>,
    }
    let family_of = |t: &str| videval_reports::results::capability_family(t).to_string();
    let mut families: BTreeMap<String, Group<'a>> = BTreeMap::new();
    let mut tags: BTreeMap<String, Group<'a>> = BTreeMap::new();
    for u in units {
        let Some(g) = loaded.gens.get(&u.id) else { continue };
        let records: Vec<_> = s.probes.iter().filter_map(|p| loaded.scores.get(&(u.id.clone(), p.clone()))).collect();
        let value = if g.status == Status::Error {
            Some(0.0)
        } else {
            let rates: Vec<f64> = records
                .iter()
                .filter_map(|r| match r.status {
                    Status::Ok => r.value,
                    Status::Error => Some(0.0),
                    Status::NotApplicable => None,
                })
                .collect();
            (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
        };
        let why = || records.iter().find_map(|r| r.error.clone().or_else(|| r.detail.clone()));
        let fams: BTreeSet<String> = u.capabilities.iter().map(|c| family_of(c)).collect();
        let dotted: BTreeSet<&String> = u.capabilities.iter().filter(|c| c.contains('.')).collect();
        let add = |g: &mut Group<'a>| match value {
            Some(v) => {
                g.clusters.entry(u.cluster.as_str()).or_default().push(v);
                g.cases.insert(u.id.case_id.as_str());
            }
            None => {
                g.nothing += 1;
                if g.why.is_none() {
                    g.why = why();
                }
            }
        };
        fams.into_iter().for_each(|f| add(families.entry(f).or_default()));
        dotted.into_iter().for_each(|t| add(tags.entry(t.clone()).or_default()));
    }
    let description = |name: &str, family: bool| {
        let tagged = if family { format!("`{name}.*`") } else { format!("`{name}`") };
        format!(
            "Pass rate of the probe checks of cases tagged {tagged} (all of a case's checks count toward each capability it is tagged with)."
        )
    };
    let mut unmeasured = BTreeMap::new();
    let mut rates_of = |groups: BTreeMap<String, Group>, family: bool| -> BTreeMap<String, MetricResult> {
        let mut rates = BTreeMap::new();
        for (name, g) in groups {
            let values: Vec<Vec<f64>> = g.clusters.into_values().collect();
            match pass_rate(&values, LEVEL) {
                Some(e) => {
                    let mut r = metric_result(
                        e,
                        videval_metrics::probes::VERSION,
                        "higher_is_better".into(),
                        description(&name, family),
                    );
                    r.n_cases = (g.cases.len() > r.n_clusters).then_some(g.cases.len());
                    rates.insert(name, r);
                }
                None if g.nothing > 0 => {
                    let u = Unmeasured {
                        not_applicable: g.nothing,
                        failed: 0,
                        reason: g.why.unwrap_or_else(|| "no check of its cases was measurable".into()),
                        direction: "higher_is_better".into(),
                        description: description(&name, family),
                    };
                    unmeasured.insert(name, u);
                }
                None => {}
            }
        }
        rates
    };
    // Tags only where their family has several in the run (measured or not): one tag alone is
    // its family's row.
    let mut per_family: BTreeMap<String, usize> = BTreeMap::new();
    for t in tags.keys() {
        *per_family.entry(family_of(t)).or_default() += 1;
    }
    tags.retain(|t, _| per_family.get(&family_of(t)).is_some_and(|&n| n > 1));
    let family_rates = rates_of(families, true);
    let tag_rates = rates_of(tags, false);
    (family_rates, tag_rates, unmeasured)
}

/// Version, direction and description of a metric or probe pass rate by its results name.
fn describe(name: &str) -> Option<(u32, String, String)> {
    if let Some(probe) = name.strip_prefix("probe:") {
        return Some((
            videval_metrics::probes::VERSION,
            "higher_is_better".into(),
            format!("Pass rate of the `{probe}` expectations (per sample: the fraction of its checks that pass)."),
        ));
    }
    // Score records written before a metric was renamed keep their name and their metric.
    let m = registry::lookup(name).or_else(|| registry::renamed(name).and_then(registry::lookup))?;
    let direction =
        serde_json::to_value(m.direction()).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    Some((m.version(), direction, m.description().into()))
}

fn write_parquet(path: &Path, plan: &Plan, loaded: &Loaded) -> Result<()> {
    let mut cols: (
        Vec<String>,
        Vec<u32>,
        Vec<String>,
        Vec<String>,
        Vec<u32>,
        Vec<u64>,
        Vec<String>,
        Vec<u32>,
        Vec<f64>,
        Vec<String>,
        Vec<String>,
    ) = Default::default();
    for u in &plan.units {
        let Some(suite) = plan.suite(&u.id.suite) else {
            continue;
        };
        for m in suite.metrics.iter().chain(&suite.probes) {
            let Some(r) = loaded.scores.get(&(u.id.clone(), m.clone())).filter(|r| r.status == Status::Ok) else {
                continue;
            };
            cols.0.push(u.id.suite.clone());
            cols.1.push(suite.version);
            cols.2.push(u.id.case_id.clone());
            cols.3.push(u.cluster.clone());
            cols.4.push(u.id.seed_idx);
            cols.5.push(u.seed);
            cols.6.push(m.clone());
            cols.7.push(r.metric_version);
            cols.8.push(r.value.unwrap_or(f64::NAN));
            cols.9.push(r.video_sha256.clone());
            cols.10.push(r.gen_key.clone());
        }
    }
    let c = PARQUET_COLUMNS;
    let height = cols.0.len();
    let mut df = DataFrame::new(
        height,
        vec![
            Column::new(c[0].into(), cols.0),
            Column::new(c[1].into(), cols.1),
            Column::new(c[2].into(), cols.2),
            Column::new(c[3].into(), cols.3),
            Column::new(c[4].into(), cols.4),
            Column::new(c[5].into(), cols.5),
            Column::new(c[6].into(), cols.6),
            Column::new(c[7].into(), cols.7),
            Column::new(c[8].into(), cols.8),
            Column::new(c[9].into(), cols.9),
            Column::new(c[10].into(), cols.10),
        ],
    )
    .map_err(|e| Error::Internal(format!("building the results table: {e}")))?;
    // Made in memory and written atomically: two merges at once never share a scratch file.
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .map_err(|e| Error::Internal(format!("writing {}: {e}", path.display())))?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf(seconds: f64, flops: f64, peak: f64) -> crate::generator::Perf {
        crate::generator::Perf {
            seconds,
            frames: 1,
            tokens: 1,
            passes: 1,
            flops,
            peak_memory_bytes: 0,
            device: "cpu".into(),
            peak_flops: peak,
            peak_source: format!("{peak}"),
        }
    }

    #[test]
    fn each_generation_counts_against_the_peak_where_it_ran() {
        // One peak: achieved over it.
        let (a, b) = (perf(1.0, 10.0, 100.0), perf(3.0, 30.0, 100.0));
        assert_eq!(utilisation(&[&a, &b]), (100.0, 0.1, true));
        // A shard on a machine of a fifth the peak, at the same share of it: 10% still, where the
        // first unit's peak alone made it 4.5%.
        let (a, b) = (perf(1.0, 10.0, 100.0), perf(9.0, 18.0, 20.0));
        let (peak, mfu, same) = utilisation(&[&a, &b]);
        assert!(!same && (mfu - 0.1).abs() < 1e-12 && (peak - 28.0).abs() < 1e-12, "{peak} {mfu}");
    }
}
