//! `videval compare BASE CAND`: a paired comparison (JSON, Markdown, JUnit and an HTML page) of two runs of the same plan content (same
//! suites, cases and seeds; different models), and a statistically honest gate.
//!
//! Samples are paired by (suite, case, seed index). For every metric both runs report, the
//! paired difference is oriented so that positive is better (neutral metrics are reported, never
//! gated); its mean over pairs gets a clustered bootstrap CI (cases are clusters), a sign-flip
//! permutation p-value of the same mean with each case's seeds flipped together (exact McNemar
//! when every value is pass/fail and each case has one sample), Holm's adjustment across the
//! gated family, and the minimum detectable effect within it. Verdicts follow the margin:
//! regressed / improved only when significant and the whole CI is beyond the margin; rows the
//! data cannot decide are underpowered, with why (`metrics::stats::paired::gate_verdict`). Both
//! runs must have planned the same samples.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use videval_metrics::stats::paired::{
    GateMode, GateVerdict, Weakness, cases_needed, gate_verdict, holm, paired_statistics,
};
use videval_reports::Results;
use videval_reports::format::{metric, signed};

use crate::error::{Error, ExitCode, Result};
use crate::hash::seed_of;
use crate::store::{write_atomic, write_json_atomic};

pub const COMPARE_SCHEMA: &str = "videval/compare/v1";
const N_BOOT: usize = 10_000;
const N_PERM: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Options {
    pub alpha: f64,
    pub margin: f64,
    pub allow_mismatch: bool,
    pub fail_on_inconclusive: bool,
    pub policy: Option<Policy>,
    /// Judgments of these two runs (`videval rate`'s database or the CSV form): the page gains a
    /// section on which metrics agree with the raters.
    pub judgments: Option<PathBuf>,
}

/// A gate policy (`--gate policy.yaml`): which metrics are gated, their margins, the level, and
/// the mode. Unknown keys are errors.
///
/// ```yaml
/// metrics: [probe:gravity, probe:position, motion_smoothness]   # default: every non-neutral one
/// margins: {probe:gravity: 0.05}                                # default: --margin
/// alpha: 0.05
/// mode: regression          # or non_inferiority: pass only if the CI's lower end > −margin
/// ```
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub metrics: Option<Vec<String>>,
    #[serde(default)]
    pub margins: BTreeMap<String, f64>,
    #[serde(default)]
    pub alpha: Option<f64>,
    #[serde(default)]
    pub mode: Mode,
    /// Fail a candidate whose videos move less than half as much as the baseline's (see
    /// [`Comparison::stilled`]); `false` for a change meant to calm the videos.
    #[serde(default = "yes")]
    pub motion_guard: bool,
    /// The file it was read from (for errors).
    #[serde(skip)]
    pub path: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Regression,
    NonInferiority,
}

impl Mode {
    /// The gate as the outputs' headers name it.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Regression => "regression gate (fails on a significant change worse than the margin)",
            Mode::NonInferiority => {
                "non-inferiority gate (passes only where the CI's lower end is above −margin on every row)"
            }
        }
    }
}

impl Policy {
    /// Reads a policy file with located errors.
    pub fn load(path: &Path) -> Result<Policy> {
        let name = path.to_string_lossy().into_owned();
        let mut p: Policy = crate::yaml::load_file(path)?;
        if p.alpha.is_some_and(|a| !(a > 0.0 && a < 1.0)) || p.margins.values().any(|m| !(*m >= 0.0 && m.is_finite())) {
            return Err(Error::Config(format!("{name}: alpha must be in (0, 1) and margins finite and non-negative")));
        }
        p.path = name;
        // A policy naming a renamed metric gates it under its new id.
        let current = |m: String| videval_metrics::registry::renamed(&m).map_or(m, String::from);
        p.metrics = p.metrics.map(|ms| ms.into_iter().map(current).collect());
        p.margins = p.margins.into_iter().map(|(k, v)| (current(k), v)).collect();
        Ok(p)
    }

    /// Every metric the policy names (`metrics`, `margins`) must be one the baseline measured and
    /// can gate: a misspelt or neutral name would otherwise gate nothing and pass.
    fn check_names(&self, base: &Results) -> Result<()> {
        let direction =
            |m: &str| base.suites.values().filter_map(|s| s.metrics.get(m)).map(|x| x.direction.as_str()).next();
        let gateable: std::collections::BTreeSet<&str> = base
            .suites
            .values()
            .flat_map(|s| s.metrics.iter())
            .filter(|(_, m)| m.direction != "neutral")
            .map(|(k, _)| k.as_str())
            .collect();
        let named =
            self.metrics.iter().flatten().map(|m| ("metrics", m)).chain(self.margins.keys().map(|m| ("margins", m)));
        for (field, m) in named {
            let known = videval_metrics::registry::lookup(m).is_some()
                || m.strip_prefix("probe:").is_some_and(|p| videval_metrics::probes::PROBES.contains(&p));
            let why = match direction(m) {
                // A policy shared by runs of other suites may name what this baseline lacks.
                None if known => {
                    eprintln!(
                        "note: {}: {field}: {m:?}: this baseline measured no such metric; nothing is gated on it",
                        self.path
                    );
                    continue;
                }
                None => "no metric of that name exists, and the baseline measured none",
                Some("neutral") => "it is neutral (reported, never gated)",
                Some(_) => continue,
            };
            let list: Vec<&str> = gateable.iter().copied().collect();
            return Err(Error::Config(format!(
                "{}: {field}: {m:?}: {why}; the baseline's metrics that can be gated: {}",
                self.path,
                list.join(", ")
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regressed,
    Improved,
    WithinMargin,
    NoChange,
    Underpowered,
    /// Significant, but the CI reaches across −margin: whether the change exceeds the margin is
    /// not settled (more cases would settle it).
    Unsettled,
    /// Non-inferiority mode: the candidate is not shown to be no worse than the margin (no CI,
    /// or its lower end is not above −margin). Fails the gate.
    NotShown,
    /// A neutral metric: reported, not gated.
    Reported,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub suite: String,
    pub metric: String,
    pub direction: String,
    pub pairs: usize,
    pub clusters: usize,
    /// The cases among the pairs; more than `clusters` where a suite groups cases into clusters
    /// (the units its intervals and tests resample).
    pub cases: usize,
    pub baseline: f64,
    pub candidate: f64,
    /// Mean oriented difference (positive = candidate better) with its 95% CI: none from fewer
    /// than 5 cases or when every case moved alike (`ci_note` says which).
    pub delta: f64,
    pub ci: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_note: Option<String>,
    pub test: String,
    pub p: f64,
    pub p_adj: f64,
    /// The minimum detectable effect; null in JSON where it is infinite or not computed, which
    /// `mde_note` tells apart.
    pub mde: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mde_note: Option<String>,
    /// The margin this row is judged against (the policy's, else --margin).
    pub margin: f64,
    /// When underpowered: about how many cases would decide it.
    pub cases_needed: Option<usize>,
    /// When underpowered: why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Seed of the bootstrap and the permutations (from suite and metric names).
    pub seed: u64,
    pub verdict: Verdict,
}

/// A suite whose candidate videos move far less than the baseline's (the motion guard).
#[derive(Debug, Clone, Serialize)]
pub struct Stilled {
    pub suite: String,
    /// Nearly frozen (the gate fails), else only calmer (inconclusive).
    pub frozen: bool,
    pub reason: String,
}

/// Baseline measurements of one metric the candidate failed to make.
#[derive(Debug, Clone, Serialize)]
pub struct Lost {
    pub suite: String,
    pub metric: String,
    pub samples: usize,
    /// The first candidate sample's error, as recorded.
    pub example: String,
}

impl Lost {
    /// `suite/metric: N sample(s) (first: reason)`.
    pub fn describe(&self) -> String {
        format!("{}/{}: {} sample(s) (first: {})", self.suite, self.metric, self.samples, self.example)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub schema: String,
    pub baseline: String,
    pub candidate: String,
    pub mode: Mode,
    pub alpha: f64,
    pub margin: f64,
    pub correction: String,
    pub mismatch: Vec<String>,
    pub unpaired: usize,
    /// Gated measurements the baseline made and the candidate failed to (its generation or the
    /// metric errored on that sample), per suite and metric: the gate fails on them, since a
    /// candidate that errors is never a pass by having fewer samples compared.
    pub lost: Vec<Lost>,
    /// Gated measurements the baseline made and the candidate's run could not make (no network
    /// weights given, or not measured at all): not measurable, so never a pass or a fail; the
    /// decision is inconclusive.
    pub unmeasured: Vec<Lost>,
    /// Suites where the candidate's videos move less than half as much as the baseline's
    /// (`dynamic_degree`, significantly): the temporal-quality metrics reward stillness, and a
    /// candidate of frozen frames was "improved" on every one and passed. Nearly frozen (below a
    /// twentieth) fails the gate; less than half is inconclusive (still scenes move little; a
    /// policy's `motion_guard: false` turns both off).
    pub stilled: Vec<Stilled>,
    /// What is not in the decision, with why: metrics of the suites both runs have that a run
    /// measured on no sample (its `unmeasured` block; they were left out without a word, and
    /// the gate passed on what remained), a suite the motion guard cannot see, and throughput
    /// (reported with both runs' numbers, never gated).
    pub not_compared: Vec<String>,
    pub rows: Vec<Row>,
    /// `pass`, `fail` or `inconclusive`.
    pub decision: String,
    /// The decision line as every output says it: `PASS`, `FAIL — 1 of 3 gated rows regressed`,
    /// `PASS — underpowered: 3 of 3 gated rows cannot detect a regression of the margin; ~240
    /// cases needed`.
    pub headline: String,
    pub gated_rows: usize,
    pub underpowered_rows: usize,
    /// Rows that changed significantly with a CI across −margin (not counted as underpowered).
    pub unsettled_rows: usize,
    /// The most cases any underpowered row needs for its MDE to reach the margin.
    pub cases_needed: Option<usize>,
    pub exit_code: i32,
}

fn load(dir: &Path) -> Result<Results> {
    let r: Results = crate::store::read_results(dir)?;
    if !r.complete {
        return Err(Error::Config(format!(
            "{}: results are partial (merged with --allow-partial); a gate never uses them",
            dir.display()
        )));
    }
    Ok(r)
}

/// One metric's paired differences in one suite, before its statistics.
struct Measured<'a> {
    suite: &'a String,
    metric: &'a String,
    direction: &'a String,
    neutral: bool,
    pairs: usize,
    cases: usize,
    b_sum: f64,
    c_sum: f64,
    groups: Vec<Vec<f64>>,
    flips: Option<(u64, u64)>,
}

/// Compares `cand` against `base` and writes `CAND/compare/<base name>.{json,md,junit.xml}`.
pub fn compare(base_dir: &Path, cand_dir: &Path, opts: &Options) -> Result<(Comparison, PathBuf)> {
    let (base, cand) = (load(base_dir)?, load(cand_dir)?);
    if let Some(p) = &opts.policy {
        p.check_names(&base)?;
    }
    let judgments = opts.judgments.as_deref().map(crate::agreement::read_judgments).transpose()?;
    let selected = |metric: &str| {
        opts.policy.as_ref().and_then(|p| p.metrics.as_ref()).is_none_or(|ms| ms.iter().any(|m| m == metric))
    };
    let alpha = opts.policy.as_ref().and_then(|p| p.alpha).unwrap_or(opts.alpha);
    let mut mismatch = Vec::new();
    // A suite the candidate has and the baseline not is as much a difference of plans (it was
    // let through as "unpaired samples" while the other way round was refused).
    for name in cand.suites.keys().filter(|n| !base.suites.contains_key(*n)) {
        mismatch.push(format!("suite {name} is only in the candidate"));
    }
    for (name, b) in &base.suites {
        match cand.suites.get(name) {
            None => mismatch.push(format!("suite {name} is only in the baseline")),
            Some(c) if c.content_hash != b.content_hash => {
                mismatch.push(format!("suite {name}: content hash {} vs {}", b.content_hash, c.content_hash))
            }
            Some(c) => {
                // The suite names its conditioning files; what they hold is checked per case
                // both runs planned (a replaced start image keeps the suite's hash).
                let changed: Vec<&str> = b
                    .inputs
                    .iter()
                    .filter(|(case, h)| c.inputs.get(*case).is_some_and(|ch| ch != *h))
                    .map(|(case, _)| case.as_str())
                    .collect();
                if !changed.is_empty() {
                    let more = changed.len().saturating_sub(5);
                    mismatch.push(format!(
                        "suite {name}: the conditioning files (images, videos) of {} case(s) hold different content: {}{}",
                        changed.len(),
                        changed[..changed.len().min(5)].join(", "),
                        if more > 0 { format!(" and {more} more") } else { String::new() }
                    ));
                }
                for (m, bm) in &b.metrics {
                    match c.metrics.get(m) {
                        Some(cm) if cm.metric_version != bm.metric_version => {
                            mismatch.push(format!("{name}/{m}: version {} vs {}", bm.metric_version, cm.metric_version))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let key = |s: &videval_reports::results::Sample| (s.suite.clone(), s.case_id.clone(), s.seed_idx);
    let cand_samples: BTreeMap<_, _> = cand.samples.iter().map(|s| (key(s), s)).collect();
    let base_keys: std::collections::BTreeSet<_> = base.samples.iter().map(key).collect();
    // Samples of a suite both runs have that only one run planned: a candidate run on a subset
    // (`--cases`, `--limit`, fewer seeds) has the same suite hash, and its missing samples were
    // skipped — a candidate sharing no sample with the baseline passed ("nothing gated").
    let shared = |k: &&(String, String, u32)| base.suites.contains_key(&k.0) && cand.suites.contains_key(&k.0);
    let only_base: Vec<_> = base_keys.iter().filter(shared).filter(|k| !cand_samples.contains_key(*k)).collect();
    let only_cand: Vec<_> = cand_samples.keys().filter(shared).filter(|k| !base_keys.contains(*k)).collect();
    for (list, side) in [(&only_base, "baseline"), (&only_cand, "candidate")] {
        if let Some((suite, case, seed)) = list.first() {
            mismatch.push(format!(
                "{} sample(s) only in the {side}'s plan (first: {suite}/{case} seed {seed}): were the runs made with the same --cases, --limit and seeds?",
                list.len()
            ));
        }
    }
    if !mismatch.is_empty() && !opts.allow_mismatch {
        return Err(Error::Config(format!(
            "the runs are not comparable (use --allow-mismatch to compare anyway):\n  {}",
            mismatch.join("\n  ")
        )));
    }
    let mut measured: Vec<Measured> = Vec::new();
    let mode = opts.policy.as_ref().map_or(Mode::Regression, |p| p.mode);
    // Per suite, of the samples whose baseline video moves (`dynamic_degree` at least
    // [`MOVING`]): how many, and how many of the candidate's are nearly frozen beside them.
    let mut frozen_samples: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut lost, mut unmeasured) = (Vec::new(), Vec::new());
    for (suite, bs) in &base.suites {
        if !cand.suites.contains_key(suite) {
            continue;
        }
        // Candidate generations that failed, counted under a gated metric the baseline measured.
        let mut counted = std::collections::BTreeSet::new();
        for (metric, bm) in &bs.metrics {
            let neutral = bm.direction == "neutral" || !selected(metric);
            let sign = match bm.direction.as_str() {
                "lower_is_better" => -1.0,
                _ => 1.0,
            };
            let mut clusters: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            let (mut b_sum, mut c_sum, mut pairs) = (0.0, 0.0, 0usize);
            let mut cases = std::collections::BTreeSet::new();
            let (mut only_base, mut only_cand, mut binary) = (0u64, 0u64, true);
            // Baseline values the candidate errored on (its generation failed, or the metric did),
            // and those it could not measure.
            let (mut failed, mut unmeasurable): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
            for s in base.samples.iter().filter(|s| &s.suite == suite) {
                let (Some(&bv), Some(c)) = (s.metrics.get(metric), cand_samples.get(&key(s))) else { continue };
                let Some(cv) = c.metrics.get(metric) else {
                    if c.status != "ok" {
                        failed.push(c.error.clone().unwrap_or_else(|| "generation failed".into()));
                        if !neutral {
                            counted.insert(key(s));
                        }
                    } else {
                        match c.metric_errors.get(metric) {
                            Some(why) if c.failed_metrics.contains(metric) => failed.push(why.clone()),
                            // A network the candidate's run was not given, or a video the
                            // measurement does not apply to (a probe's object never hidden, one
                            // frame): the baseline measured it, so it is not measurable here,
                            // never left out (a candidate that stopped drawing what a probe
                            // checks passed with the row gone).
                            Some(why) => unmeasurable.push(why.clone()),
                            None => unmeasurable.push("the candidate's run did not measure it".into()),
                        }
                    }
                    continue;
                };
                pairs += 1;
                cases.insert(s.case_id.as_str());
                if metric == "dynamic_degree" && bv >= MOVING {
                    let e = frozen_samples.entry(suite.as_str()).or_default();
                    e.0 += 1;
                    e.1 += usize::from(*cv < FROZEN * bv);
                }
                b_sum += bv;
                c_sum += cv;
                // A difference in the last bits of the values (a build or a library that rounds
                // otherwise) is no change: 1e-12 relative failed the default gate on 4 of 5 rows.
                let d = cv - bv;
                let d = if d.abs() <= 1e-9 * bv.abs().max(cv.abs()) { 0.0 } else { d };
                clusters.entry(s.cluster.as_str()).or_default().push(sign * d);
                binary &= (bv == 0.0 || bv == 1.0) && (*cv == 0.0 || *cv == 1.0);
                if bv > *cv {
                    only_base += 1;
                } else if bv < *cv {
                    only_cand += 1;
                }
            }
            for (list, into) in [(&failed, &mut lost), (&unmeasurable, &mut unmeasured)] {
                if let (false, Some(first)) = (neutral, list.first()) {
                    into.push(Lost {
                        suite: suite.clone(),
                        metric: metric.clone(),
                        samples: list.len(),
                        example: first.clone(),
                    });
                }
            }
            if pairs == 0 {
                continue;
            }
            let groups: Vec<Vec<f64>> = clusters.values().cloned().collect();
            let flips = binary.then_some((only_base, only_cand));
            measured.push(Measured {
                suite,
                metric,
                direction: &bm.direction,
                neutral,
                pairs,
                cases: cases.len(),
                b_sum,
                c_sum,
                groups,
                flips,
            });
        }
        // Generations the candidate failed where the baseline made a video are lost whatever is
        // gated: those no gated row counted (a suite with no gated metric, or gated metrics the
        // baseline could not measure on those videos) were counted nowhere, and a candidate that
        // made fewer videos passed.
        {
            let failed: Vec<String> = base
                .samples
                .iter()
                .filter(|s| &s.suite == suite && s.status == "ok" && !counted.contains(&key(s)))
                .filter_map(|s| cand_samples.get(&key(s)))
                .filter(|c| c.status != "ok")
                .map(|c| c.error.clone().unwrap_or_else(|| "generation failed".into()))
                .collect();
            if let Some(first) = failed.first() {
                lost.push(Lost {
                    suite: suite.clone(),
                    metric: "generation".into(),
                    samples: failed.len(),
                    example: first.clone(),
                });
            }
        }
    }
    // The statistics, once the gated family is known: a small p is resolved down to what Holm
    // needs at that family's size.
    let family = measured.iter().filter(|m| !m.neutral).count();
    let level = alpha / family.max(1) as f64;
    let mut rows = Vec::new();
    let mut gated = Vec::new();
    for Measured { suite, metric, direction, neutral, pairs, cases, b_sum, c_sum, groups, flips } in measured {
        let seed = seed_of(&["paired", suite, metric]);
        let stats = paired_statistics(&groups, flips, N_BOOT, N_PERM, level, seed);
        // Values so large that their differences or sums overflow give no verdict at all
        // (every comparison with a NaN is false, which read as "no change": a pass).
        let finite = stats.delta.is_finite() && stats.ci.is_none_or(|c| c.iter().all(|v| v.is_finite()));
        if !neutral && (!finite || stats.p.is_nan() || !(b_sum.is_finite() && c_sum.is_finite())) {
            return Err(Error::Config(format!(
                "{suite}/{metric}: the values are too large to compare (their differences or sums are not finite numbers); check the runs' results.json"
            )));
        }
        if !neutral {
            // Whether a change passes a margin is decided at the family's level too: each gated
            // row's CI against its margin at 95% failed a candidate exactly at the margins on 5
            // rows 18–27% of the time. With a margin, the verdict reads the interval at
            // `verdict_level` (the table shows the 95% one); at margin 0 significance decides.
            // Non-inferiority passes only if every row does (an intersection–union test): each
            // row's interval at 1 − α bounds a false pass, and widening for the rows only took
            // power (a re-encoded copy of the baseline failed); it read the 95% one whatever α
            // (α = 0.01 passed a lower end that its 99% interval put below −margin).
            let margin =
                opts.policy.as_ref().and_then(|p| p.margins.get(metric.as_str()).copied()).unwrap_or(opts.margin);
            let level = match mode {
                Mode::Regression if margin > 0.0 => verdict_level(alpha, family),
                Mode::Regression => 0.95,
                Mode::NonInferiority => verdict_level(alpha, 1),
            };
            let judged = match stats.ci {
                Some(_) if level != 0.95 => {
                    let wide = videval_metrics::stats::cluster_bootstrap_mean(&groups, N_BOOT, level, seed)
                        .and_then(|e| e.interval);
                    videval_metrics::stats::paired::PairedResult { ci: wide.or(stats.ci), ..stats.clone() }
                }
                _ => stats.clone(),
            };
            gated.push((rows.len(), judged));
        }
        rows.push(Row {
            suite: suite.clone(),
            metric: metric.clone(),
            direction: direction.clone(),
            pairs,
            clusters: stats.cases,
            cases,
            baseline: b_sum / pairs as f64,
            candidate: c_sum / pairs as f64,
            delta: stats.delta,
            ci: stats.ci,
            ci_note: stats.ci_note.clone(),
            test: stats.test.to_string(),
            p: stats.p,
            p_adj: stats.p,
            mde: f64::INFINITY,
            mde_note: Some("not computed: the row is reported, not gated".into()),
            margin: opts.margin,
            cases_needed: None,
            why: None,
            seed,
            verdict: if neutral { Verdict::Reported } else { Verdict::NoChange },
        });
    }
    let unpaired = base_keys.iter().filter(|k| !cand_samples.contains_key(*k)).count()
        + cand_samples.keys().filter(|k| !base_keys.contains(*k)).count();
    let adjusted = holm(&gated.iter().map(|(_, g)| g.p).collect::<Vec<_>>());
    // Non-inferiority within a margin of 0 asks a CI to lie above 0: a candidate identical to the
    // baseline (CI [0, 0]) failed. Each gated metric needs its margin.
    if mode == Mode::NonInferiority {
        let zero: Vec<String> = gated
            .iter()
            .map(|(i, _)| &rows[*i])
            .filter(|r| {
                opts.policy.as_ref().and_then(|p| p.margins.get(&r.metric).copied()).unwrap_or(opts.margin) <= 0.0
            })
            .map(|r| format!("{}/{}", r.suite, r.metric))
            .collect();
        if !zero.is_empty() {
            return Err(Error::Config(format!(
                "mode non_inferiority needs a margin above 0 for every gated metric (a change within it is accepted): none for {} (give margins: in the policy, or --margin)",
                zero.join(", ")
            )));
        }
    }
    for ((i, stats), &pa) in gated.iter().zip(&adjusted) {
        let r = &mut rows[*i];
        r.p_adj = pa;
        let m = opts.policy.as_ref().and_then(|p| p.margins.get(&r.metric).copied()).unwrap_or(opts.margin);
        r.margin = m;
        r.mde = stats.mde(alpha, family);
        r.mde_note = (!r.mde.is_finite()).then(|| {
            format!("infinite: no change of any size would be significant with these {}", units(r.cases != r.clusters))
        });
        let gate_mode = match mode {
            Mode::Regression => GateMode::Regression,
            Mode::NonInferiority => GateMode::NonInferiority,
        };
        r.verdict = match gate_verdict(gate_mode, stats, pa, m, alpha, family) {
            GateVerdict::Regressed if mode == Mode::NonInferiority => {
                let which = if stats.ci == r.ci { "CI".to_string() } else { verdict_ci_name(alpha, 1) };
                r.why = Some(match stats.ci {
                    Some([lo, _]) => {
                        format!(
                            "not shown non-inferior: the {which}'s lower end {} is not above −{}",
                            signed(lo),
                            r.margin
                        )
                    }
                    None => format!(
                        "not shown non-inferior: no CI ({})",
                        r.ci_note.clone().unwrap_or_else(|| "none".into())
                    ),
                });
                Verdict::NotShown
            }
            GateVerdict::Regressed => Verdict::Regressed,
            GateVerdict::Improved => Verdict::Improved,
            GateVerdict::WithinMargin => Verdict::WithinMargin,
            GateVerdict::NoChange => Verdict::NoChange,
            GateVerdict::Underpowered(weakness) => {
                r.cases_needed = cases_needed(stats, weakness, m, alpha, family);
                r.why = Some(underpowered_why(r, weakness, alpha, family, stats));
                if weakness == Weakness::Unsettled { Verdict::Unsettled } else { Verdict::Underpowered }
            }
        };
    }
    let mut not_compared = Vec::new();
    // Samples the baseline has no measurement of (its generation or its video failed): the
    // candidate's are not compared there, which was said nowhere (a case the baseline failed on
    // every seed left the gate without a word).
    for suite in base.suites.keys().filter(|s| cand.suites.contains_key(*s)) {
        let failed: Vec<_> = base.samples.iter().filter(|s| &s.suite == suite && s.status != "ok").collect();
        if let Some(first) = failed.first() {
            not_compared.push(format!(
                "{suite}: {} sample(s) the baseline's run failed on are not compared (first: {}#{}: {})",
                failed.len(),
                first.case_id,
                first.seed_idx,
                first.error.as_deref().unwrap_or("generation failed")
            ));
        }
    }
    for (name, bs) in &base.suites {
        let Some(cs) = cand.suites.get(name) else { continue };
        for (m, u) in &bs.unmeasured {
            if cs.unmeasured.contains_key(m) {
                not_compared.push(format!("{name}/{m}: measured in neither run ({})", u.reason));
            } else if cs.metrics.contains_key(m) {
                not_compared
                    .push(format!("{name}/{m}: measured only in the candidate's run (the baseline's: {})", u.reason));
            }
        }
    }
    // Throughput is reported, never gated (timings move with the machine and its load): said with
    // both runs' numbers (a candidate 5.5× slower passed without a word), and whether the two
    // were timed on the same device.
    match (&base.throughput, &cand.throughput) {
        (Some(b), Some(c)) => {
            let devices = if b.device == c.device {
                String::new()
            } else {
                format!("; timed on different devices ({} and {}): not comparable", b.device, c.device)
            };
            not_compared.push(format!(
                "throughput: not gated (timings move with the machine and its load): latency p50 {:.3} s → {:.3} s, {:.1} → {:.1} frames/s, MFU {:.1}% → {:.1}%{devices}",
                b.latency_p50_s,
                c.latency_p50_s,
                b.frames_per_s,
                c.frames_per_s,
                100.0 * b.mfu,
                100.0 * c.mfu
            ));
        }
        (Some(_), None) => not_compared.push("throughput: timed only in the baseline's run".into()),
        (None, Some(_)) => not_compared.push("throughput: timed only in the candidate's run".into()),
        (None, None) => {}
    }
    let guard = opts.policy.as_ref().is_none_or(|p| p.motion_guard);
    // A suite whose gated rows reward stillness but that measures no motion: the guard cannot
    // see a frozen candidate there, and says so (a VBench import holds one dimension a suite).
    if guard {
        let suites: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.verdict != Verdict::Reported && STILLNESS_REWARDED.contains(&r.metric.as_str()))
            .map(|r| r.suite.as_str())
            .collect();
        for suite in suites {
            if !rows.iter().any(|r| r.suite == suite && r.metric == "dynamic_degree") {
                not_compared.push(format!(
                    "{suite}/motion: the suite measures no dynamic_degree, so the motion guard cannot see a frozen candidate (its gated temporal-quality rows reward stillness)"
                ));
            }
        }
    }
    // Only where the baseline moves (a still scene's sensor noise reads a few px/s: denoising it
    // read as frozen). Nearly frozen: the mean below a twentieth, significantly, or every
    // moving sample frozen (5 cases cannot be significant); calmer: the mean below half,
    // significantly, or a quarter of the moving samples frozen (a model that freezes on some
    // prompts kept its mean above half).
    let mut stilled = Vec::new();
    for r in rows.iter().filter(|r| guard && r.metric == "dynamic_degree" && r.baseline >= MOVING) {
        let (moving, still) = frozen_samples.get(r.suite.as_str()).copied().unwrap_or_default();
        let ratio = r.candidate / r.baseline;
        let significant = r.p < alpha;
        let frozen = (ratio < FROZEN && significant) || (moving > 0 && still == moving);
        if !frozen && !((ratio < CALMER && significant) || (moving > 0 && 4 * still >= moving)) {
            continue;
        }
        let how = if frozen { "are nearly frozen beside the baseline's" } else { "move less than the baseline's" };
        stilled.push(Stilled {
            suite: r.suite.clone(),
            frozen,
            reason: format!(
                "{}: dynamic_degree {:.3} → {:.3} (p {}; {still} of {moving} moving samples nearly frozen): the candidate's videos {how}",
                r.suite,
                r.baseline,
                r.candidate,
                videval_reports::format::metric(r.p)
            ),
        });
    }
    let frozen = stilled.iter().filter(|s| s.frozen).count();
    // The candidate's videos behind its lost measurements: 176 errored measurements were 27
    // videos not generated, each counted once per metric.
    let failed_videos = base
        .samples
        .iter()
        .filter(|s| s.status == "ok")
        .filter_map(|s| cand_samples.get(&key(s)))
        .filter(|c| c.status != "ok")
        .count();
    let tally = Tally { frozen, calmer: stilled.len() - frozen, failed_videos, ..Tally::of(&rows, &lost, &unmeasured) };
    let (decision, code, headline) = tally.decide(opts.fail_on_inconclusive, mode);
    let comparison = Comparison {
        schema: COMPARE_SCHEMA.into(),
        baseline: base_dir.display().to_string(),
        candidate: cand_dir.display().to_string(),
        mode,
        alpha,
        margin: opts.margin,
        correction: "holm".into(),
        mismatch,
        unpaired,
        lost,
        unmeasured,
        stilled,
        not_compared,
        gated_rows: tally.gated,
        underpowered_rows: tally.underpowered,
        unsettled_rows: tally.unsettled,
        cases_needed: tally.cases_needed,
        rows,
        decision: decision.into(),
        headline,
        exit_code: code as i32,
    };
    // The judgments are checked before anything is written. They name the runs as `videval rate`
    // does by default: by their folders' names.
    let agreement = match &judgments {
        Some(j) => {
            let folder = |d: &Path| d.file_name().map_or("run".into(), |n| n.to_string_lossy().into_owned());
            let (b, c) = (folder(base_dir), folder(cand_dir));
            if b == c {
                return Err(Error::Config(format!(
                    "--judgments: the runs are named by their folders, and both are {b:?}; rename one, or use `videval agreement --runs NAME=DIR,…`"
                )));
            }
            // A rating database holds every pair of runs rated with it (rate A against B, then
            // against C): only these two runs' judgments, and the gold pairs, count here.
            let mine: Vec<crate::agreement::Judgment> = j
                .iter()
                .filter(|x| x.is_gold() || [&x.left, &x.right].iter().all(|s| **s == b || **s == c))
                .cloned()
                .collect();
            let others = j.len() - mine.len();
            let mut a = crate::agreement::compute(&[(b.clone(), base.clone()), (c.clone(), cand.clone())], &mine)?;
            if others > 0 {
                a.notes
                    .push(format!("{others} judgment(s) of other runs than {b:?} and {c:?} in the file were left out"));
            }
            Some(a)
        }
        None => None,
    };
    let name = base_dir.file_name().map_or("baseline".into(), |n| n.to_string_lossy().into_owned());
    let out = cand_dir.join("compare").join(&name);
    // Named by appending: a baseline folder `model-1.5` gives `model-1.5.json`, not `model-1.json`
    // (which `model-1.6` would overwrite).
    let file = |ext: &str| cand_dir.join("compare").join(format!("{name}.{ext}"));
    // What a killed compare left half-written there (a SIGTERM mid-write kept a page's .tmp).
    crate::store::sweep_leftovers(&cand_dir.join("compare"));
    // Everything is rendered (the page's clips staged) before the first file is replaced, so a
    // compare killed at work leaves the earlier four files together, and the four are replaced
    // within the few milliseconds of their renames rather than across the page's encoding.
    let html_path = file("html");
    let (mut page, placer) = view(&comparison, &base, &cand, base_dir, cand_dir, &html_path)?;
    if let Some(judgments) = &agreement {
        page.agreement = Some(serde_json::to_value(judgments).map_err(|e| Error::Internal(e.to_string()))?);
    }
    let html = videval_reports::compare::render_compare(&page).map_err(|e| Error::Internal(e.to_string()))?;
    let (md, xml) = (markdown(&comparison), junit(&comparison));
    write_json_atomic(&file("json"), &comparison)?;
    write_atomic(&file("md"), md.as_bytes())?;
    write_atomic(&file("junit.xml"), xml.as_bytes())?;
    placer.publish(|| write_atomic(&html_path, html.as_bytes()))?;
    Ok((comparison, out))
}

/// The gated rows' verdicts, counted once for the decision and the JSON.
#[derive(Clone, Copy)]
struct Tally {
    gated: usize,
    regressed: usize,
    /// Gated measurements the candidate errored on (all metrics together).
    lost: usize,
    /// Gated measurements the candidate could not make.
    unmeasured: usize,
    underpowered: usize,
    unsettled: usize,
    /// The most cases any underpowered or unsettled row needs.
    cases_needed: Option<usize>,
    /// Whether some such row groups its cases into clusters: what it needs are clusters.
    grouped: bool,
    /// Suites whose candidate videos are nearly frozen beside the baseline's (the gate fails).
    frozen: usize,
    /// Suites whose candidate videos move less than half as much, not frozen (inconclusive: a
    /// calmer model may be right, as for still scenes, or its gains may be stillness).
    calmer: usize,
    /// Samples the baseline made whose candidate video failed to generate.
    failed_videos: usize,
}

impl Tally {
    fn of(rows: &[Row], lost: &[Lost], unmeasured: &[Lost]) -> Tally {
        let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
        Tally {
            gated: rows.len() - count(Verdict::Reported),
            regressed: count(Verdict::Regressed) + count(Verdict::NotShown),
            lost: lost.iter().map(|l| l.samples).sum(),
            unmeasured: unmeasured.iter().map(|l| l.samples).sum(),
            underpowered: count(Verdict::Underpowered),
            unsettled: count(Verdict::Unsettled),
            cases_needed: rows.iter().filter_map(|r| r.cases_needed).max(),
            grouped: rows.iter().any(|r| r.cases_needed.is_some() && r.cases != r.clusters),
            frozen: 0,
            calmer: 0,
            failed_videos: 0,
        }
    }

    /// The gate's decision, its exit code and its headline. A pass is qualified when it says
    /// less than it seems: some gated rows could not have detected a regression of the margin,
    /// or nothing was gated at all.
    fn decide(&self, fail_on_inconclusive: bool, mode: Mode) -> (&'static str, ExitCode, String) {
        let Tally {
            gated,
            regressed,
            lost,
            unmeasured,
            underpowered,
            unsettled,
            cases_needed,
            grouped,
            frozen,
            calmer,
            failed_videos,
        } = *self;
        let failed = match mode {
            Mode::Regression => "regressed",
            Mode::NonInferiority => "not shown non-inferior (no CI, or its lower end is not above −margin)",
        };
        let mut weak = Vec::new();
        if underpowered > 0 {
            weak.push(format!("{underpowered} of {gated} gated rows cannot detect a regression of the margin"));
        }
        if unsettled > 0 {
            weak.push(format!(
                "{unsettled} of {gated} gated rows changed significantly, but whether by more than the margin is not settled"
            ));
        }
        let label = if underpowered > 0 { "underpowered" } else { "unsettled" };
        let weak = format!(
            "{}{}",
            weak.join("; "),
            cases_needed.map_or(String::new(), |n| format!("; ~{n} {} needed", units(grouped)))
        );
        let underpowered = underpowered + unsettled;
        let errored = match failed_videos {
            0 => format!("the candidate errored on {lost} gated measurement(s) the baseline made"),
            n => format!(
                "the candidate errored on {lost} gated measurement(s) the baseline made ({n} of its videos failed to generate)"
            ),
        };
        let still = format!("in {frozen} suite(s) the candidate's videos are nearly frozen beside the baseline's");
        if frozen > 0 {
            let mut why = vec![still];
            if regressed > 0 {
                why.push(format!("{regressed} of {gated} gated rows {failed}"));
            }
            if lost > 0 {
                why.push(errored);
            }
            return ("fail", ExitCode::GateFailed, format!("FAIL — {}", why.join("; ")));
        }
        if regressed > 0 && lost > 0 {
            ("fail", ExitCode::GateFailed, format!("FAIL — {regressed} of {gated} gated rows {failed}; {errored}"))
        } else if regressed > 0 {
            ("fail", ExitCode::GateFailed, format!("FAIL — {regressed} of {gated} gated rows {failed}"))
        } else if lost > 0 {
            ("fail", ExitCode::GateFailed, format!("FAIL — {errored}"))
        } else if calmer > 0 {
            // Less motion is no verdict either way: said in place of a pass.
            let code = if fail_on_inconclusive { ExitCode::Inconclusive } else { ExitCode::Ok };
            let why = format!(
                "in {calmer} suite(s) the candidate's videos move less than the baseline's (half as much, or frozen on a quarter of the moving samples): its temporal-quality gains may be stillness"
            );
            ("inconclusive", code, format!("INCONCLUSIVE — {why}"))
        } else if unmeasured > 0 {
            // Not measurable is never a pass: the decision says so, and fails the job only when
            // inconclusive gates should.
            let code = if fail_on_inconclusive { ExitCode::Inconclusive } else { ExitCode::Ok };
            let why = format!("the candidate could not measure {unmeasured} gated measurement(s) the baseline made");
            ("inconclusive", code, format!("INCONCLUSIVE — {why}"))
        } else if underpowered > 0 && fail_on_inconclusive {
            ("inconclusive", ExitCode::Inconclusive, format!("INCONCLUSIVE — {weak}"))
        } else if underpowered > 0 {
            ("pass", ExitCode::Ok, format!("PASS — {label}: {weak}"))
        } else if gated == 0 {
            // Nothing was compared: not a pass (a policy's metrics measured by neither run passed
            // even with --fail-on-inconclusive).
            let code = if fail_on_inconclusive { ExitCode::Inconclusive } else { ExitCode::Ok };
            ("inconclusive", code, "INCONCLUSIVE — nothing gated: no metric both runs report is gated".into())
        } else {
            ("pass", ExitCode::Ok, "PASS".into())
        }
    }
}

/// The motion guard's thresholds on the candidate's `dynamic_degree` relative to the baseline's:
/// below [`CALMER`] the gate is inconclusive, below [`FROZEN`] (a twentieth: frozen frames read
/// 10⁻⁴ of the baseline) it fails.
const CALMER: f64 = 0.5;
/// Metrics a still video scores well on (the motion guard's reason to exist).
const STILLNESS_REWARDED: &[&str] = &[
    "temporal_flicker",
    "motion_smoothness",
    "warping_error",
    "world_subject_consistency",
    "world_background_consistency",
    "vbench_subject_consistency",
    "vbench_background_consistency",
    "vbench_motion_smoothness",
    "raft_warping_error",
];
const FROZEN: f64 = 0.05;
/// The least `dynamic_degree` (px/s at a 256-px short side) a baseline's video must have for the
/// guard to read it as moving. Measured with `dynamic_degree` v8: a still shot reads 2.4 with
/// sensor noise of σ 1, 5.2 with σ 2 and about 7 through H.264 with a light drift; a ball
/// crossing a photo-like frame about 30, a pan about 90 (very noisy still footage, σ 4 and up,
/// reads 19 and more, and is read as moving).
const MOVING: f64 = 12.0;

/// Where each sample's video of a run is: (suite, case, seed index) → file. A video gone from
/// the path its record names is looked up in `store` by its hash (a store moved since).
pub fn video_paths(run_dir: &Path, store: Option<&Path>) -> Result<BTreeMap<(String, String, u32), PathBuf>> {
    use crate::records::{GenRecord, Status};
    let mut paths = BTreeMap::new();
    if let Ok(dirs) = std::fs::read_dir(run_dir.join("shards")) {
        for d in dirs.flatten() {
            for r in crate::records::read::<GenRecord>(&d.path().join("generations.jsonl"))? {
                if let (Status::Ok, Some(p)) = (r.status, r.video_path) {
                    let mut path = PathBuf::from(p);
                    if let (Some(root), Some(sha)) = (store, r.video_sha256.as_deref())
                        && let Some(here) = crate::store::moved_video(root, &path, sha)
                    {
                        path = here;
                    }
                    paths.insert((r.unit.suite, r.unit.case_id, r.unit.seed_idx), path);
                }
            }
        }
    }
    Ok(paths)
}

/// Each paired sample's drop over the gated metrics from its (suite, oriented changes as
/// (drop, metric, baseline, candidate)): the drops added in units of each metric's spread over its
/// suite's samples, so a metric counted in hundreds does not outrank a probe's 0-1 by its unit.
fn drop_scores(samples: &[(&str, &[(f64, String, f64, f64)])]) -> Vec<f64> {
    let unit =
        spreads(samples.iter().flat_map(|&(suite, cs)| cs.iter().map(move |c| ((suite, c.1.as_str()), c.2, c.3))));
    samples
        .iter()
        .map(|&(suite, cs)| cs.iter().filter_map(|c| Some(c.0 / unit.get(&(suite, c.1.as_str()))?)).sum())
        .collect()
}

/// Each key's spread: the standard deviation of its baseline and candidate values together. Keys
/// whose values are all equal (or not finite) have none, so they add nothing to a ranking.
fn spreads<K: Ord>(values: impl Iterator<Item = (K, f64, f64)>) -> BTreeMap<K, f64> {
    // Welford's running mean and sum of squared deviations (count, mean, m2).
    let mut acc: BTreeMap<K, (f64, f64, f64)> = BTreeMap::new();
    for (k, x, y) in values {
        let (n, mean, m2) = acc.entry(k).or_default();
        for v in [x, y] {
            *n += 1.0;
            let d = v - *mean;
            *mean += d / *n;
            *m2 += d * (v - *mean);
        }
    }
    acc.into_iter()
        .filter_map(|(k, (n, mean, m2))| {
            let sd = (m2 / n).sqrt();
            (sd.is_finite() && sd > 1e-12 * mean.abs()).then_some((k, sd))
        })
        .collect()
}

/// The comparison page's content: scatters for metrics that moved, and the biggest drops.
fn view(
    c: &Comparison,
    base: &Results,
    cand: &Results,
    base_dir: &Path,
    cand_dir: &Path,
    report: &Path,
) -> Result<(videval_reports::compare::CompareView, crate::media::Placer)> {
    use videval_reports::compare::{CompareView, GalleryItem, GateRow, Scatter};
    let key = |s: &videval_reports::results::Sample| (s.suite.clone(), s.case_id.clone(), s.seed_idx);
    let cand_samples: BTreeMap<_, _> = cand.samples.iter().map(|s| (key(s), s)).collect();
    let moved: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.verdict,
                Verdict::Regressed | Verdict::Improved | Verdict::WithinMargin | Verdict::Unsettled | Verdict::NotShown
            )
        })
        .take(6)
        .collect();
    let scatters = moved
        .iter()
        .map(|r| {
            let mut per_case: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
            for b in base.samples.iter().filter(|s| s.suite == r.suite) {
                if let (Some(&x), Some(y)) =
                    (b.metrics.get(&r.metric), cand_samples.get(&key(b)).and_then(|c| c.metrics.get(&r.metric)))
                {
                    let e = per_case.entry(b.case_id.as_str()).or_default();
                    *e = (e.0 + x, e.1 + y, e.2 + 1.0);
                }
            }
            Scatter {
                title: format!("{}/{}", r.suite, r.metric),
                points: per_case.iter().map(|(case, &(x, y, n))| (case.to_string(), x / n, y / n)).collect(),
                direction: r.direction.clone(),
            }
        })
        .collect();
    // Biggest paired drops summed over the gated metrics (oriented).
    let gated: Vec<&Row> = c.rows.iter().filter(|r| r.verdict != Verdict::Reported).collect();
    let sign = |r: &Row| if r.direction == "lower_is_better" { -1.0 } else { 1.0 };
    // Per paired sample, each gated metric's oriented drop: (drop, metric, baseline, candidate).
    let changes = |b: &videval_reports::results::Sample| -> Option<Vec<(f64, String, f64, f64)>> {
        let cs = cand_samples.get(&key(b))?;
        Some(
            gated
                .iter()
                .filter(|r| r.suite == b.suite)
                .filter_map(|r| {
                    let (x, y) = (*b.metrics.get(&r.metric)?, *cs.metrics.get(&r.metric)?);
                    Some((sign(r) * (x - y), r.metric.clone(), x, y))
                })
                .collect(),
        )
    };
    // Each metric that got worse, worst first.
    let worse = |b: &videval_reports::results::Sample| {
        let mut w: Vec<_> = changes(b).unwrap_or_default().into_iter().filter(|c| c.0 > 0.0).collect();
        w.sort_by(|a, b| b.0.total_cmp(&a.0));
        w
    };
    let paired: Vec<_> = base.samples.iter().filter_map(|b| Some((b, changes(b)?))).collect();
    let scores = drop_scores(&paired.iter().map(|(b, cs)| (b.suite.as_str(), cs.as_slice())).collect::<Vec<_>>());
    let mut drops: Vec<(f64, &videval_reports::results::Sample)> =
        paired.iter().zip(scores).filter(|(_, d)| *d > 0.0).map(|((b, _), d)| (d, *b)).collect();
    drops.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| key(a.1).cmp(&key(b.1))));
    let worst: Vec<_> = drops.iter().take(5).collect();
    let keys: Vec<_> = worst.iter().map(|(_, s)| key(s)).collect();
    // Only videos that are still the ones scored are shown.
    let shown = |dir: &Path, results: &Results| -> Result<BTreeMap<_, _>> {
        let paths = video_paths(dir, None)?;
        Ok(results
            .samples
            .iter()
            .filter(|s| keys.contains(&key(s)))
            .filter_map(|s| {
                let p = paths.get(&key(s))?;
                crate::media::is_scored_file(p, s.video_sha256.as_deref()).then(|| (key(s), p.clone()))
            })
            .collect())
    };
    let (base_paths, cand_paths) = (shown(base_dir, base)?, shown(cand_dir, cand)?);
    let (media, placer) = crate::media::gallery_media(&keys, &base_paths, &cand_paths, report)?;
    let gallery = worst
        .iter()
        .zip(media)
        .map(|((_, s), m)| GalleryItem {
            label: format!("{}/{}#{}", s.suite, s.case_id, s.seed_idx),
            prompt: s.prompt.clone(),
            changes: worse(s)
                .into_iter()
                .map(|(_, metric, x, y)| {
                    format!("{metric} {} → {}", videval_reports::format::metric(x), videval_reports::format::metric(y))
                })
                .collect(),
            baseline_strip: m.baseline,
            candidate_strip: m.candidate,
            pair: m.pair,
        })
        .collect();
    Ok((
        CompareView {
            baseline: c.baseline.clone(),
            candidate: c.candidate.clone(),
            decision: c.decision.clone(),
            headline: c.headline.clone(),
            alpha: c.alpha,
            mode: c.mode.describe().into(),
            margin: c.margin,
            row_margins: c
                .rows
                .iter()
                .any(|r| r.verdict != Verdict::Reported && r.margin != c.margin)
                .then_some(c.margin),
            mismatch: c.mismatch.clone(),
            unpaired: c.unpaired,
            lost: c.lost.iter().map(Lost::describe).collect(),
            unmeasured: c.unmeasured.iter().map(Lost::describe).collect(),
            not_compared: c.not_compared.clone(),
            stilled: c.stilled.iter().map(|s| (s.frozen, s.reason.clone())).collect(),
            rows: c
                .rows
                .iter()
                .map(|r| GateRow {
                    suite: r.suite.clone(),
                    metric: r.metric.clone(),
                    baseline: r.baseline,
                    candidate: r.candidate,
                    delta: r.delta,
                    ci: ci_text(r),
                    p_adj: r.p_adj,
                    margin: (r.verdict != Verdict::Reported).then_some(r.margin),
                    mde: (r.verdict != Verdict::Reported && r.mde.is_finite()).then_some(r.mde),
                    verdict: serde_json::to_value(r.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    why: r.why.clone(),
                })
                .collect(),
            scatters,
            gallery,
            agreement: None,
        },
        placer,
    ))
}

/// A row's CI as text: `[+0.0100, +0.0300]` or why there is none.
fn ci_text(r: &Row) -> String {
    match (r.ci, &r.ci_note) {
        (Some([lo, hi]), _) => format!("[{}, {}]", signed(lo), signed(hi)),
        (None, Some(note)) => note.clone(),
        (None, None) => "n/a".into(),
    }
}

/// What a row's intervals and tests resample: its cases, or the clusters a suite groups them into.
fn units(grouped: bool) -> &'static str {
    if grouped { "clusters" } else { "cases" }
}

/// The level of the CI a gated row's margin verdict reads: 1 − α for one or two gated rows,
/// 1 − 2α/rows (Bonferroni) for more — 95%, 95%, 96.7%, … at α = 0.05. It read the 95% one for a
/// single row whatever α, and 1 − 2α/rows from two: at α = 0.1 the second row narrowed it to 90%
/// and one set of numbers failed with two rows and passed with one or four.
fn verdict_level(alpha: f64, family: usize) -> f64 {
    1.0 - alpha * (2.0 / family.max(1) as f64).min(1.0)
}

/// How a reason names the CI [`verdict_level`] gives, where it is not the table's 95% one.
fn verdict_ci_name(alpha: f64, family: usize) -> String {
    let rows = if family == 1 { "one row".to_string() } else { format!("{family} gated rows") };
    format!("{:.1}% CI (α = {alpha}, {rows})", 100.0 * verdict_level(alpha, family))
}

/// Why a row is underpowered, for the JSON, the JUnit skip message and the Markdown table.
fn underpowered_why(
    r: &Row,
    weakness: Weakness,
    alpha: f64,
    family: usize,
    stats: &videval_metrics::stats::paired::PairedResult,
) -> String {
    let unit = units(r.cases != r.clusters);
    let needed = r.cases_needed.map_or(String::new(), |n| format!("; ~{n} {unit} needed"));
    let n = r.clusters;
    let why = match weakness {
        Weakness::FewCases => {
            let (what, decide) = match (n == 1, r.cases != r.clusters) {
                (true, true) => ("cluster", "decides"),
                (false, true) => ("clusters", "decide"),
                (true, false) => ("case", "decides"),
                (false, false) => ("cases", "decide"),
            };
            let cases = if r.cases != r.clusters { format!(" ({} cases)", r.cases) } else { String::new() };
            format!(
                "underpowered: {n} {what}{cases} {decide} nothing (a verdict needs {})",
                videval_metrics::stats::MIN_CLUSTERS
            )
        }
        Weakness::NotANumber => "underpowered: the difference is not a number".into(),
        Weakness::Unattainable => format!(
            "underpowered: with {n} {unit} and {family} gated row(s) no p-value can fall below α = {alpha} (the smallest is {} before Holm's adjustment)",
            metric(stats.p_floor)
        ),
        Weakness::Mde => format!("underpowered: MDE {} exceeds the margin {}", metric(r.mde), r.margin),
        // The interval the verdict read: the family's (Bonferroni) one where it differs from the
        // 95% one the table shows (the 95% one, quoted, lay wholly below −margin).
        Weakness::Unsettled => {
            let (which, ci) = match stats.ci {
                Some([lo, hi]) if stats.ci != r.ci => {
                    (verdict_ci_name(alpha, family), format!("[{}, {}]", signed(lo), signed(hi)))
                }
                _ => ("CI".to_string(), ci_text(r)),
            };
            format!(
                "unsettled: {}, but the {which} {ci} reaches across −margin ({}): whether it is worse by more than the margin is not settled",
                if r.delta < 0.0 { "significantly worse" } else { "a significant change" },
                0.0 - r.margin
            )
        }
    };
    why + &needed
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Regressed => "REGRESSED",
        Verdict::NotShown => "NOT SHOWN non-inferior",
        Verdict::Improved => "improved",
        Verdict::WithinMargin => "within margin",
        Verdict::NoChange => "no change",
        Verdict::Underpowered => "underpowered",
        Verdict::Unsettled => "unsettled",
        Verdict::Reported => "reported",
    }
}

/// The comparison as a Markdown table (for CI summaries and pull requests).
pub fn markdown(c: &Comparison) -> String {
    // The policy's per-metric margins are the ones the rows are judged by.
    let per_metric = c.rows.iter().any(|r| r.verdict != Verdict::Reported && r.margin != c.margin);
    let margin = if per_metric {
        format!("margins per metric from the policy (else {})", c.margin)
    } else {
        format!("margin = {}", c.margin)
    };
    let mut s = format!(
        "# videval compare: {}\n\nBaseline {} → candidate {}; {}, α = {}, {margin}, Holm-adjusted; {} unpaired sample(s).\n\n",
        c.headline,
        md_code(&c.baseline),
        md_code(&c.candidate),
        c.mode.describe(),
        c.alpha,
        c.unpaired
    );
    let list = |items: Vec<String>| items.iter().map(|i| md_code(i)).collect::<Vec<_>>().join("; ");
    if !c.mismatch.is_empty() {
        s.push_str(&format!("**Compared despite mismatches:** {}\n\n", list(c.mismatch.clone())));
    }
    if !c.stilled.is_empty() {
        s.push_str(&format!(
            "**The candidate's videos move far less** (temporal-quality metrics reward stillness; a policy's `motion_guard: false` allows it): {}\n\n",
            list(c.stilled.iter().map(|s| s.reason.clone()).collect())
        ));
    }
    if !c.lost.is_empty() {
        let lost = list(c.lost.iter().map(Lost::describe).collect());
        s.push_str(&format!("**Candidate errors where the baseline measured:** {lost}\n\n"));
    }
    if !c.unmeasured.is_empty() {
        let unmeasured = list(c.unmeasured.iter().map(Lost::describe).collect());
        s.push_str(&format!("**Not measurable in the candidate's run:** {unmeasured}\n\n"));
    }
    if !c.not_compared.is_empty() {
        let not_compared = list(c.not_compared.clone());
        s.push_str(&format!("**Not compared (not in the decision):** {not_compared}\n\n"));
    }
    // A gated row's margin and MDE (the smallest change it detects with 80% power): a pass with
    // margin 0 said nothing of how small a regression could have passed unseen.
    s.push_str("| suite | metric | baseline | candidate | Δ (better +) | 95% CI | margin | MDE | p (adj) | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &c.rows {
        let gated = r.verdict != Verdict::Reported;
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.suite,
            r.metric,
            metric(r.baseline),
            metric(r.candidate),
            signed(r.delta),
            ci_text(r),
            if gated { metric(r.margin) } else { "—".into() },
            if gated && r.mde.is_finite() { metric(r.mde) } else { "—".into() },
            // Reported rows are not among the tests adjusted for: their p is as measured.
            if r.verdict == Verdict::Reported { format!("{} (unadjusted)", metric(r.p_adj)) } else { metric(r.p_adj) },
            match r.cases_needed {
                Some(n) => format!("{} (needs ~{n} {})", verdict_word(r.verdict), units(r.cases != r.clusters)),
                None => verdict_word(r.verdict).to_string(),
            }
        ));
    }
    let undecided: Vec<String> = c
        .rows
        .iter()
        .filter_map(|r| r.why.as_ref().map(|w| format!("- {}/{}: {}", r.suite, r.metric, md_code(w))))
        .collect();
    if !undecided.is_empty() {
        s.push_str(&format!("\n**Why:**\n{}\n", undecided.join("\n")));
    }
    s.push_str(&format!(
        "\nCIs: bootstrap over cases ({N_BOOT} draws, seeds stay together; each row's seed in the JSON); p: exact McNemar for single-sample pass/fail cases, else sign-flip test of the pooled mean with each case's seeds flipped together (exact up to {} cases that moved, else at least {N_PERM} random flips, up to {} while a small p is not yet resolved).\n",
        videval_metrics::stats::paired::EXACT_CASES,
        videval_metrics::stats::paired::MAX_FLIPS
    ));
    s
}

/// Text for an XML 1.0 attribute or element: markup escaped, line breaks and tabs as character
/// references (kept in attributes), and the characters XML 1.0 forbids even as references (other
/// C0 controls, U+FFFE, U+FFFF: a prompt's ESC made the file unreadable) written as `\u{1b}`.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push_str(&crate::error::escape(c)),
            _ => out.push(c),
        }
    }
    out
}

/// Text from a run (errors, paths) as one Markdown code span: whitespace runs and line breaks
/// become one space, control characters `\u{…}`, and the fence is longer than any backtick run
/// inside, so a program's stderr cannot add headings, images or links to the summary.
fn md_code(s: &str) -> String {
    let mut flat = String::with_capacity(s.len());
    for word in s.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !flat.is_empty() {
            flat.push(' ');
        }
        flat.push_str(&crate::error::printable(word));
    }
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {flat} {fence}")
}

/// One JUnit test case per gated metric; regressions are failures.
pub fn junit(c: &Comparison) -> String {
    let gated: Vec<&Row> = c.rows.iter().filter(|r| r.verdict != Verdict::Reported).collect();
    // The motion guard's suites: a failure where the candidate is nearly frozen, skipped where it
    // only moves less (the file said "0 failures" for a gate that failed on motion).
    let failures = gated.iter().filter(|r| matches!(r.verdict, Verdict::Regressed | Verdict::NotShown)).count()
        + c.lost.len()
        + c.stilled.iter().filter(|s| s.frozen).count();
    // Not measurable is neither a pass nor a failure: a skipped case, as underpowered rows are.
    let skipped = gated.iter().filter(|r| matches!(r.verdict, Verdict::Underpowered | Verdict::Unsettled)).count()
        + c.unmeasured.len()
        + c.stilled.iter().filter(|s| !s.frozen).count();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"videval-compare\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  <properties><property name=\"decision\" value=\"{}\"/></properties>\n",
        gated.len() + c.lost.len() + c.unmeasured.len() + c.stilled.len(),
        xml_escape(&c.headline)
    );
    for st in &c.stilled {
        let kind = if st.frozen { "failure" } else { "skipped" };
        s.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"dynamic_degree (motion guard)\"><{kind} message=\"{}\"/></testcase>\n",
            xml_escape(&st.suite),
            xml_escape(&st.reason)
        ));
    }
    for r in gated {
        s.push_str(&format!("  <testcase classname=\"{}\" name=\"{}\">", xml_escape(&r.suite), xml_escape(&r.metric)));
        if r.verdict == Verdict::Regressed {
            s.push_str(&format!(
                "<failure message=\"{}\"/>",
                xml_escape(&format!("regressed by {} {}, p_adj {}", signed(r.delta), ci_text(r), metric(r.p_adj)))
            ));
        } else if r.verdict == Verdict::NotShown {
            s.push_str(&format!(
                "<failure message=\"{}\"/>",
                xml_escape(&format!("Δ {}: {}", signed(r.delta), r.why.as_deref().unwrap_or("not shown non-inferior")))
            ));
        } else if matches!(r.verdict, Verdict::Underpowered | Verdict::Unsettled) {
            s.push_str(&format!("<skipped message=\"{}\"/>", xml_escape(r.why.as_deref().unwrap_or("underpowered"))));
        }
        s.push_str("</testcase>\n");
    }
    for l in &c.lost {
        s.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{} (candidate errors)\"><failure message=\"{}\"/></testcase>\n",
            xml_escape(&l.suite),
            xml_escape(&l.metric),
            xml_escape(&l.describe())
        ));
    }
    for l in &c.unmeasured {
        s.push_str(&format!(
            "  <testcase classname=\"{}\" name=\"{} (not measurable)\"><skipped message=\"{}\"/></testcase>\n",
            xml_escape(&l.suite),
            xml_escape(&l.metric),
            xml_escape(&l.describe())
        ));
    }
    s.push_str("</testsuite>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A significant change that is not settled beyond the margin is said as such, not as
    /// "cannot detect a regression"; with underpowered rows both are said.
    #[test]
    fn the_verdicts_interval_widens_with_the_rows_never_narrows() {
        for alpha in [0.01, 0.05, 0.1, 0.2] {
            let levels: Vec<f64> = (1..=8).map(|k| verdict_level(alpha, k)).collect();
            assert!((levels[0] - (1.0 - alpha)).abs() < 1e-15 && levels[1] == levels[0], "{alpha}: {levels:?}");
            assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{alpha}: {levels:?}");
            assert!((levels[3] - (1.0 - alpha / 2.0)).abs() < 1e-15, "{alpha}: {levels:?}");
        }
        assert_eq!(verdict_level(0.05, 1), 0.95);
        assert_eq!(verdict_ci_name(0.1, 1), "90.0% CI (α = 0.1, one row)");
    }

    #[test]
    fn unsettled_rows_have_their_own_headline() {
        let t = Tally {
            gated: 2,
            regressed: 0,
            lost: 0,
            unmeasured: 0,
            underpowered: 0,
            unsettled: 1,
            cases_needed: Some(21),
            grouped: false,
            frozen: 0,
            calmer: 0,
            failed_videos: 0,
        };
        let (decision, code, headline) = t.decide(false, Mode::Regression);
        assert_eq!((decision, code as i32), ("pass", 0));
        assert_eq!(
            headline,
            "PASS — unsettled: 1 of 2 gated rows changed significantly, but whether by more than the margin is not settled; ~21 cases needed"
        );
        let both = Tally { underpowered: 1, ..t };
        let (_, code, headline) = both.decide(true, Mode::Regression);
        assert_eq!(code as i32, 2);
        assert!(headline.starts_with("INCONCLUSIVE — 1 of 2 gated rows cannot detect a regression of the margin; 1 of 2 gated rows changed significantly"), "{headline}");
    }

    /// The gallery adds drops in units of each metric's spread: a sample that lost 2 on a metric
    /// spread over hundreds ranks below one that lost a whole probe check, which it outranked
    /// when the raw numbers were added; a metric with no spread adds nothing.
    #[test]
    fn drops_are_ranked_in_units_of_each_metrics_spread() {
        let c = |drop: f64, metric: &str, x: f64| (drop, metric.to_string(), x, x - drop);
        // Flicker (higher is better here) spread over ~100; a probe check over 0-1.
        let a = vec![c(2.0, "flicker", 300.0), c(0.0, "probe", 1.0), c(0.0, "same", 5.0)];
        let b = vec![c(0.0, "flicker", 120.0), c(1.0, "probe", 1.0), c(0.0, "same", 5.0)];
        let d = vec![c(-1.0, "flicker", 200.0), c(0.0, "probe", 0.0), c(0.0, "same", 5.0)];
        let scores = drop_scores(&[("s", &a), ("s", &b), ("s", &d)]);
        assert!(scores[1] > scores[0] && scores[0] > 0.0 && scores[2] < 0.0, "{scores:?}");
        assert!((scores[1] - 2.0).abs() < 1e-12, "the probe's values 1,1,1,0,0,0 spread 0.5: {scores:?}");
        // The same metric in another suite has its own spread.
        let e = vec![c(2.0, "flicker", 3.0)];
        assert!((drop_scores(&[("t", &e)])[0] - 2.0).abs() < 1e-12, "values 3 and 1: spread 1");
        let sd = spreads([("k", 1.0, 3.0), ("k", 1.0, 3.0), ("z", 7.0, 7.0)].into_iter());
        assert!((sd["k"] - 1.0).abs() < 1e-12 && !sd.contains_key("z"), "{sd:?}");
    }

    /// A prompt's or a program's control characters cannot make the JUnit file ill-formed: XML
    /// 1.0 forbids them even as character references, so they are written as text.
    #[test]
    fn junit_text_holds_only_characters_xml_allows() {
        let e = xml_escape("a \u{1b}[1m & <right> \"q\"\nnext\u{7}\u{fffe}");
        assert_eq!(e, "a \\u{1b}[1m &amp; &lt;right&gt; &quot;q&quot;&#10;next\\u{7}\\u{fffe}");
        assert!(!e.chars().any(|c| c.is_control()));
    }

    /// Error text in the Markdown summary is one code span: a program's stderr with a heading, an
    /// image and backticks stays inside it.
    #[test]
    fn markdown_error_text_cannot_add_markup() {
        let m = md_code("oops\n\n# videval compare: PASS\n\n![ok](https://x.invalid/b.svg) ``a`` \u{1b}");
        assert_eq!(m, "``` oops # videval compare: PASS ![ok](https://x.invalid/b.svg) ``a`` \\u{1b} ```");
        assert!(!m.contains('\n'));
        assert_eq!(md_code("plain"), "` plain `");
    }
}
