//! `videval sweep SWEEP.yaml`: evaluates every checkpoint of a scaling ladder over the same suites
//! (one shared store, so reruns reuse generations and scores), fits L(C) = E + A·C^−γ per target
//! with bootstrap intervals and a held-out largest-compute point, and writes `scaling.json` and
//! `scaling.html`. With `--previous scaling.json` it is the nightly trend check: parameters that
//! moved outside last night's intervals and checkpoints outside last night's prediction band are
//! flagged, and the exit code is 1 when anything is off trend.
//!
//! ```yaml
//! schema: 1
//! name: cpu-ladder
//! suites: [smoke]
//! limit: 8                      # optional, per suite (stratified)
//! targets: [val_loss, "smoke/probe:motion"]   # val_loss, or SUITE/METRIC of results.json
//! checkpoints:
//!   - {name: tiny-s, model: "bundled:tiny-s"}   # N, D, C, lr, batch read from the checkpoint
//!   - {name: ext-1, model: ext.yaml, params: 2.0e6, samples: 1.0e5, flops: 3.0e14, val_loss: 0.61}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use videval_metrics::stats::paired::normal_quantile;
use videval_metrics::stats::scaling::{Holdout, PowerFitCi, bootstrap_band, bootstrap_power, holdout_largest};

use crate::error::{Error, ExitCode, Result};
use crate::store::write_atomic;

pub const SCALING_SCHEMA: &str = "videval.scaling/v1";
const N_BOOT: usize = 1000;
const SEED: u64 = 20_261_125;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub schema: u32,
    pub name: String,
    pub suites: Vec<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    pub targets: Vec<String>,
    pub checkpoints: Vec<CheckpointEntry>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointEntry {
    pub name: String,
    /// The `--model` argument that runs it.
    pub model: String,
    #[serde(default)]
    pub params: Option<f64>,
    #[serde(default)]
    pub samples: Option<f64>,
    #[serde(default)]
    pub flops: Option<f64>,
    #[serde(default)]
    pub lr: Option<f64>,
    #[serde(default)]
    pub batch: Option<usize>,
    #[serde(default)]
    pub tuned: Option<bool>,
    #[serde(default)]
    pub val_loss: Option<f64>,
    /// (clips seen, validation loss) during training, for L(N, D): from config.json's
    /// `val_curve`, or given here.
    #[serde(default)]
    pub curve: Vec<(f64, f64)>,
}

impl CheckpointEntry {
    /// Fills what a bundled checkpoint records about itself.
    fn complete(&mut self) -> Result<()> {
        if let Some(ckpt) = self.model.strip_prefix("bundled:") {
            let dir = crate::generator::bundled::resolve(ckpt)?;
            let path = dir.join("config.json");
            let text = videval_models::files::read_text(&path, videval_models::files::CONFIG_BYTES)
                .map_err(Error::input(&path))?;
            let cfg: videval_models::generator::CheckpointConfig = serde_json::from_str(&text)
                .map_err(|e| Error::BadFile { path: path.clone(), message: e.to_string() })?;
            let t = &cfg.training;
            self.params = self.params.or(Some((cfg.parameters.dit + cfg.parameters.text) as f64));
            self.samples = self.samples.or(Some(t.samples as f64));
            self.flops = self.flops.or(Some(t.flops));
            self.lr = self.lr.or(Some(t.lr));
            self.batch = self.batch.or(Some(t.batch));
            self.tuned = self.tuned.or(Some(t.hyperparameters_tuned));
            self.val_loss = self.val_loss.or(Some(t.val_loss));
            if self.curve.is_empty() {
                self.curve = t.val_curve.iter().map(|p| (p.samples as f64, p.val_loss)).collect();
            }
        }
        Ok(())
    }
}

/// One target's fit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetFit {
    pub target: String,
    /// What was fitted: the value itself, or `1 - value` for a bounded higher-is-better score.
    pub transform: String,
    pub points: Vec<Point>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<FitOut>,
    /// Why there is no fit, or what to be careful about.
    pub notes: Vec<String>,
    /// What the values measure: the suite's cases as measured
    /// ([`crate::suite::Suite::measurement_hash`]) and the metric's version ("cases sha256:… v6";
    /// older files hold the suite's whole content hash, "sha256:… v6"). A night whose basis
    /// differs (edited cases, a metric whose version moved) is not compared with it: its values
    /// are of another measurement. Absent for `val_loss` and in the oldest files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub checkpoint: String,
    pub flops: f64,
    pub value: f64,
    /// The fitted quantity (after the transform).
    pub y: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitOut {
    pub e: f64,
    pub a: f64,
    pub gamma: f64,
    pub scale: f64,
    pub e_ci: [f64; 2],
    pub a_ci: [f64; 2],
    pub gamma_ci: [f64; 2],
    pub grid_edge: bool,
    pub n_boot: usize,
    pub failed_resamples: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<HoldoutOut>,
    /// The fitted curve and its 95% band on a grid of C (for plots).
    pub curve: Vec<[f64; 4]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HoldoutOut {
    pub checkpoint: String,
    pub actual: f64,
    pub predicted: f64,
    /// None with only 3 other points (they fit exactly: no spread to judge the point by).
    #[serde(default)]
    pub band: Option<[f64; 2]>,
    #[serde(default)]
    pub inside: Option<bool>,
    pub rel_err: f64,
}

fn render_scaling(scaling: &Scaling, path: &Path) -> Result<()> {
    let html = videval_reports::scaling::render(&serde_json::to_value(scaling).unwrap_or_default())
        .map_err(|e| Error::Internal(e.to_string()))?;
    write_atomic(path, html.as_bytes())
}

/// Re-renders a sweep folder's `scaling.html` from its `scaling.json` (nothing is refitted).
pub fn write_scaling_report(dir: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let file = dir.join("scaling.json");
    let scaling: Scaling = crate::store::read_json(&file)?;
    if scaling.schema != SCALING_SCHEMA {
        return Err(Error::BadFile {
            path: file,
            message: format!(
                "schema {:?}: this videval reads {SCALING_SCHEMA:?} (a newer videval wrote it?)",
                scaling.schema
            ),
        });
    }
    let path = out.map_or_else(|| dir.join("scaling.html"), Path::to_path_buf);
    crate::run::check_page_path(&path)?;
    render_scaling(&scaling, &path)?;
    Ok(path)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scaling {
    pub schema: String,
    pub name: String,
    pub suites: Vec<String>,
    /// The spec's `limit` (cases per suite), which decides the values as the suites do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    pub checkpoints: Vec<CheckpointEntry>,
    pub fits: Vec<TargetFit>,
    #[serde(default)]
    pub trend: Vec<String>,
    /// Targets not compared with last night, and why (its suite or metric changed since).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
    /// Checkpoints whose run failed (units not generated or measured, or the run refused): left
    /// out of every fit, named here with the run's exit code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// L(N, D) on the validation loss, when `val_loss` is a target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nd: Option<NdOut>,
}

/// The Chinchilla-style fit L(N, D) = E + A/N^α + B/D^β over every (N, D, loss) point the
/// checkpoints record (their validation curves).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NdOut {
    /// (checkpoint, N, D, validation loss, fitted value).
    pub points: Vec<(String, f64, f64, f64, Option<f64>)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<serde_json::Value>,
    pub notes: Vec<String>,
}

fn fit_nd_target(checkpoints: &[CheckpointEntry]) -> NdOut {
    let mut points = Vec::new();
    for c in checkpoints {
        let Some(n) = c.params else { continue };
        let curve: Vec<(f64, f64)> =
            if c.curve.is_empty() { c.samples.zip(c.val_loss).into_iter().collect() } else { c.curve.clone() };
        for (d, l) in curve {
            points.push((c.name.clone(), n, d, l, None));
        }
    }
    let ns: Vec<f64> = points.iter().map(|p| p.1).collect();
    let ds: Vec<f64> = points.iter().map(|p| p.2).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.3).collect();
    let mut notes = vec![
        "points at smaller D come from the validation curve of one cosine schedule: they sit above what a run of that \
         length would reach, which makes the loss fall faster with D than it would and biases β upward (Chinchilla's caveat)"
            .to_string(),
    ];
    let Some(ci) = videval_metrics::stats::scaling::bootstrap_nd(&ns, &ds, &ys, 200, SEED) else {
        notes.push(format!(
            "no fit: L(N, D) needs at least 6 points with 2 or more distinct N and D (have {} points)",
            points.len()
        ));
        return NdOut { points, fit: None, notes };
    };
    for p in &mut points {
        p.4 = Some(ci.fit.predict(p.1, p.2));
    }
    if ci.fit.grid_edge {
        notes.push("an exponent's grid optimum sits on the grid's edge: treat it as a bound".into());
    }
    if points.len() < 12 {
        notes.push(format!("{} points for 5 parameters: wide intervals are expected", points.len()));
    }
    NdOut { points, fit: serde_json::to_value(&ci).ok(), notes }
}

/// A target's value on one checkpoint from its run's results, its direction, and what it
/// measures (see [`TargetFit::basis`]: the suite's cases as measured, by `measured`, and the
/// metric's version).
fn target_value(
    target: &str,
    measured: &BTreeMap<String, String>,
    entry: &CheckpointEntry,
    results: &serde_json::Value,
) -> Result<(f64, String, Option<String>)> {
    if target == "val_loss" {
        let v = entry.val_loss.ok_or_else(|| {
            Error::Config(format!(
                "checkpoint {}: target val_loss needs val_loss (not a bundled checkpoint)",
                entry.name
            ))
        })?;
        return Ok((v, "lower_is_better".into(), None));
    }
    let (suite, metric) = target
        .split_once('/')
        .ok_or_else(|| Error::Config(format!("target {target}: expected val_loss or SUITE/METRIC")))?;
    // A target naming a renamed metric reads it under its new id.
    let metric = videval_metrics::registry::renamed(metric).unwrap_or(metric);
    let s = &results["suites"][suite];
    let m = &s["metrics"][metric];
    let v = m["point_estimate"].as_f64().ok_or_else(|| {
        // Measured on none of its videos (a flow metric on a featureless clip): said with why.
        let why = match s["unmeasured"][metric]["reason"].as_str() {
            Some(reason) => format!("not measurable on any of its videos ({reason})"),
            None => format!("has no {metric} in suite {suite} (under this spec's limit, no case may measure it)"),
        };
        Error::Config(format!("target {target}: checkpoint {} {why}", entry.name))
    })?;
    let basis = match (measured.get(suite), m["metric_version"].as_u64()) {
        (Some(h), Some(version)) => Some(format!("cases {h} v{version}")),
        _ => None,
    };
    Ok((v, m["direction"].as_str().unwrap_or("neutral").to_string(), basis))
}

/// How many distinct values a sorted list holds.
fn distinct_count(sorted: &[f64]) -> usize {
    sorted.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!sorted.is_empty())
}

/// How many distinct compute values a fit's points are at.
fn distinct_compute(points: &[Point]) -> usize {
    let mut cs: Vec<f64> = points.iter().map(|p| p.flops).collect();
    cs.sort_by(f64::total_cmp);
    distinct_count(&cs)
}

/// The least-squares slope of ln y on ln C.
fn log_slope(cs: &[f64], ys: &[f64]) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) = cs.iter().zip(ys).map(|(c, y)| (c.ln(), y.ln())).unzip();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    if sxx > 0.0 { sxy / sxx } else { 0.0 }
}

fn fit_target(target: &str, points: Vec<(String, f64, f64)>, direction: &str) -> TargetFit {
    let mut notes = Vec::new();
    let bounded = direction.starts_with("higher") && points.iter().all(|p| (0.0..=1.0).contains(&p.2));
    let transform = if bounded {
        notes.push("a bounded higher-is-better score: fitted on 1 − score (the error rate)".into());
        "1 - value"
    } else {
        if direction.starts_with("higher") {
            notes.push(
                "higher is better but the score is unbounded: fitted as is; a power law in C may not apply".into(),
            );
        }
        if direction == "neutral" {
            notes.push("a neutral (descriptive) metric: a scaling law says little about it".into());
        }
        "value"
    };
    let mut pts: Vec<Point> = points
        .into_iter()
        .map(|(checkpoint, flops, value)| Point {
            checkpoint,
            flops,
            value,
            y: if bounded { 1.0 - value } else { value },
            predicted: None,
            band: None,
        })
        .collect();
    pts.sort_by(|a, b| a.flops.total_cmp(&b.flops));
    let cs: Vec<f64> = pts.iter().map(|p| p.flops).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.y).collect();
    let no_fit = |pts: Vec<Point>, notes: Vec<String>| TargetFit {
        target: target.into(),
        transform: transform.into(),
        points: pts,
        fit: None,
        notes,
        basis: None,
    };
    // Points are counted by their compute: checkpoints at one C (seeds, or the same size twice)
    // say nothing about how the value falls with it (six points at two C gave a γ and a "95%
    // interval" that any γ fitted as well).
    let distinct = distinct_count(&cs);
    if distinct < 3 {
        notes.push(format!(
            "{} checkpoint(s) at {distinct} distinct compute value(s): a fit of E, A and γ needs at least 3 distinct",
            pts.len()
        ));
        return no_fit(pts, notes);
    }
    if ys.iter().any(|&y| y <= 0.0) {
        notes.push("a fitted value is ≤ 0: a power law in log space cannot be fitted".into());
        return no_fit(pts, notes);
    }
    let Some(PowerFitCi { fit, e, a, gamma, n_boot, failed }) = bootstrap_power(&cs, &ys, N_BOOT, SEED) else {
        notes.push("the fit did not converge".into());
        return no_fit(pts, notes);
    };
    // A value that does not fall with compute has no exponent to measure (a flat curve gave
    // γ 0.010 [0.010, 0.010]; a rising one an E at its largest value).
    if !(fit.a > 0.0) || log_slope(&cs, &ys) >= 0.0 {
        notes.push("the value does not fall with compute, so E + A·C^−γ cannot describe it".into());
        return no_fit(pts, notes);
    }
    if distinct == 3 {
        notes.push(
            "3 distinct compute values for 3 parameters: the fit passes through them and the intervals are not informative"
                .into(),
        );
    } else if distinct == 4 {
        notes.push(format!(
            "4 distinct compute values for 3 parameters: the intervals are the spread of fits to resamples of the points, most holding only 3 distinct ones ({} of {n_boot} resamples usable), a range of plausible fits rather than 95% intervals{}",
            n_boot - failed,
            // The held-out point's band needs a scatter: repeats at a compute value give one.
            if cs.len() == 4 { "; the held-out point has no band" } else { "" }
        ));
    }
    if fit.grid_edge {
        notes.push("the exponent is at the edge of the search grid".into());
    }
    let band = bootstrap_band(&cs, &ys, &cs, N_BOOT, SEED);
    for (p, b) in pts.iter_mut().zip(&band) {
        p.predicted = Some(fit.predict(p.flops));
        p.band = Some(*b);
    }
    let (lo, hi) = (cs[0].ln() - 1.0, cs[cs.len() - 1].ln() + 2.3);
    let grid: Vec<f64> = (0..40).map(|i| (lo + (hi - lo) * f64::from(i) / 39.0).exp()).collect();
    let gband = bootstrap_band(&cs, &ys, &grid, N_BOOT, SEED);
    let curve = grid.iter().zip(&gband).map(|(&c, b)| [c, fit.predict(c), b[0], b[1]]).collect();
    // The held-out point must be alone at the largest C (a twin at the same C in the fit made
    // its "prediction" an interpolation).
    let largest_alone = cs.len() >= 2 && cs[cs.len() - 1] != cs[cs.len() - 2];
    let holdout = if distinct >= 4 && largest_alone {
        holdout_largest(&cs, &ys).map(|h: Holdout| HoldoutOut {
            checkpoint: pts[pts.len() - 1].checkpoint.clone(),
            actual: h.actual,
            predicted: h.predicted,
            band: h.band,
            inside: h.inside,
            rel_err: h.rel_err,
        })
    } else if !largest_alone {
        notes.push("no held-out point: the largest compute is shared by several checkpoints".into());
        None
    } else {
        notes.push("no held-out point: predicting the largest checkpoint needs 3 others at distinct compute".into());
        None
    };
    TargetFit {
        target: target.into(),
        transform: transform.into(),
        points: pts,
        fit: Some(FitOut {
            e: fit.e,
            a: fit.a,
            gamma: fit.gamma,
            scale: fit.scale,
            e_ci: e,
            a_ci: a,
            gamma_ci: gamma,
            grid_edge: fit.grid_edge,
            n_boot,
            failed_resamples: failed,
            holdout,
            curve,
        }),
        notes,
        basis: None,
    }
}

/// Compares tonight's fits with last night's: parameters outside last night's 95% intervals, and
/// checkpoints — new ones, or known ones whose value changed — outside last night's prediction
/// interval (curve band and scatter, Bonferroni over the points).
/// Tonight's fits against last night's: the off-trend flags (each fails the night), and the
/// targets not compared, with why.
pub fn trend(now: &Scaling, before: &Scaling) -> (Vec<String>, Vec<String>) {
    let mut flags = Vec::new();
    let mut not_compared = Vec::new();
    for f in &now.fits {
        let Some(prev) = before.fits.iter().find(|p| p.target == f.target) else {
            // Said (it was passed over, and a night that compared nothing said it was on trend).
            not_compared.push(format!("{}: not in last night's file: not compared", f.target));
            continue;
        };
        // Values of another measurement (the suite's cases edited, the metric's version moved)
        // are not compared: the change is the measurement's, not the checkpoints'.
        // Last night's file from a videval that recorded no basis is of unknown measurement:
        // not compared either (the first night after an upgrade compared metric versions).
        // A basis of an older videval hashed the suite's whole text: compared on the metric's
        // version alone for the night after the upgrade, said.
        let older = |b: &Option<String>| b.as_deref().is_some_and(|b| b.starts_with("sha256:"));
        let version = |b: &Option<String>| b.as_deref().and_then(|b| b.rsplit_once(' ')).map(|(_, v)| v.to_string());
        // (Compared: said where the sweep prints its notes, not among those not compared.)
        let upgraded =
            older(&prev.basis) && !older(&f.basis) && f.basis.is_some() && version(&prev.basis) == version(&f.basis);
        if !upgraded && f.basis != prev.basis && f.basis.is_some() {
            let b = prev.basis.as_deref().unwrap_or("an unrecorded measurement");
            not_compared.push(format!(
                "{}: measured on {} tonight, {b} last night (the suite or the metric changed): not compared",
                f.target,
                f.basis.as_deref().unwrap_or_default()
            ));
            continue;
        }
        // A checkpoint measured last night and not tonight (its run failed, or the target was not
        // measurable on its videos) is a change the fit cannot show.
        for q in &prev.points {
            if !f.points.iter().any(|p| p.checkpoint == q.checkpoint)
                && now.checkpoints.iter().any(|c| c.name == q.checkpoint)
            {
                flags.push(format!(
                    "{}: checkpoint {} measured {:.4} last night and nothing tonight",
                    f.target, q.checkpoint, q.value
                ));
            }
        }
        let prev_distinct = distinct_compute(&prev.points);
        // Last night's E and γ have 95% intervals only from 5 distinct compute values on (with 3
        // or 4 they are the fit itself or a range of fits: a 0.6% change failed the night).
        // Half the target's 5% goes to E and γ (1.25% each), half to the points below. Both
        // nights' estimates are uncertain: their difference is judged on both intervals (tonight's
        // estimate against last night's interval alone, and the points on a normal quantile with a
        // scatter of 3 degrees of freedom, failed 14% of nights re-measured with nothing changed).
        let now_distinct = distinct_compute(&f.points);
        if let (Some(a), Some(b), true) = (&f.fit, &prev.fit, prev_distinct >= 5) {
            let z = normal_quantile(1.0 - 0.0125 / 2.0);
            let sd = |ci: [f64; 2]| (ci[1] - ci[0]) / (2.0 * 1.96);
            for (name, v, was, ci, ci_now) in
                [("E", a.e, b.e, b.e_ci, a.e_ci), ("γ", a.gamma, b.gamma, b.gamma_ci, a.gamma_ci)]
            {
                // Tonight's interval only where tonight has one (5 distinct compute values).
                let spread = if now_distinct >= 5 && ci_now.iter().all(|c| c.is_finite()) {
                    sd(ci).hypot(sd(ci_now))
                } else {
                    sd(ci)
                };
                // Tolerance on the interval's scale: an estimate at the boundary (E fitted as
                // 1e-16 with an interval from 2e-15) is not a move.
                let tol = 1e-6 * v.abs().max((ci[1] - ci[0]).abs()).max(1e-12);
                if spread.is_finite() && (v - was).abs() > z * spread + tol {
                    flags.push(format!(
                        "{}: {name} = {v:.4} moved outside what both nights' intervals allow (last night {was:.4} [{:.4}, {:.4}]; the difference {:+.4} beyond {z:.2} sd {spread:.4})",
                        f.target,
                        ci[0],
                        ci[1],
                        v - was
                    ));
                }
            }
        }
        let Some(b) = &prev.fit else {
            // Said, not passed over (a night after one where a single checkpoint ran compared
            // nothing, and a regression of every checkpoint passed without a word).
            not_compared
                .push(format!("{}: last night has no fit to judge tonight's checkpoints by: not compared", f.target));
            continue;
        };
        // Last night's scatter about its own fit, relative to the prediction, with the three
        // fitted parameters' degrees of freedom taken out; with no more points than parameters
        // there is no scatter to measure, and no prediction interval (a band of zero width
        // flagged a change of 1e-4 at 19,160σ).
        let rel: Vec<f64> = prev.points.iter().filter_map(|q| Some(q.y / q.predicted? - 1.0)).collect();
        if rel.len() <= 3 || prev_distinct <= 3 {
            not_compared.push(format!(
                "{}: last night's fit rests on {} point(s) at {prev_distinct} compute value(s), too few to measure its scatter: tonight's checkpoints are not compared",
                f.target,
                rel.len()
            ));
            continue;
        }
        let df = (rel.len() - 3) as f64;
        let rms = (rel.iter().map(|r| r * r).sum::<f64>() / df).sqrt();
        // Every point is a test: Bonferroni over tonight's points on 2.5% keeps the chance of a
        // false flag per target near 5% with E and γ's (with nine checkpoints, a plain 1.96
        // flagged one most nights); Student's t, the scatter being estimated from few points.
        let z_crit =
            videval_metrics::stats::bootstrap::student_t_two_sided(1.0 - 0.025 / f.points.len().max(1) as f64, df);
        for p in &f.points {
            // A checkpoint measured at the same value last night has not moved: its distance
            // from the law was already in last night's fit.
            let unchanged = prev
                .points
                .iter()
                .any(|q| q.checkpoint == p.checkpoint && (q.y - p.y).abs() <= 1e-9 * q.y.abs().max(1e-12));
            if unchanged {
                continue;
            }
            let predicted = b.e + b.a * (p.flops / b.scale).powf(-b.gamma);
            // The band at this C from last night's curve (nearest grid point).
            let Some(row) = b
                .curve
                .iter()
                .min_by(|x, y| (x[0].ln() - p.flops.ln()).abs().total_cmp(&(y[0].ln() - p.flops.ln()).abs()))
            else {
                continue;
            };
            // A prediction interval for a new point: the uncertainty of the curve (the bootstrap
            // band) and the scatter of points about it, added in quadrature.
            let band = (row[3] - row[2]) / (2.0 * 1.96);
            let sigma = band.hypot(rms * predicted.abs());
            let (lo, hi) = (predicted - z_crit * sigma, predicted + z_crit * sigma);
            let tol = 1e-6 * predicted.abs().max(1e-12);
            if !(lo - tol <= p.y && p.y <= hi + tol) {
                let z = if sigma > 0.0 { (p.y - predicted) / sigma } else { f64::INFINITY.copysign(p.y - predicted) };
                flags.push(format!(
                    "{}: checkpoint {} is off-trend by {z:+.1}σ (fitted value {:.4}, last night's prediction {predicted:.4}, band [{:.4}, {:.4}])",
                    f.target, p.checkpoint, p.y, lo, hi
                ));
            }
        }
    }
    (flags, not_compared)
}

/// Everything about a spec that can be checked before its runs: names that are folders and
/// unique, positive finite numbers, targets that name a suite of the sweep (or val_loss with
/// every checkpoint's val_loss), the models' spec files present. Returns what decides each
/// suite's values ([`crate::suite::Suite::measurement_hash`] by suite name), for the targets' bases.
fn check_before_running(
    spec: &SweepSpec,
    spec_str: &str,
    bad: &dyn Fn(String) -> Error,
) -> Result<BTreeMap<String, String>> {
    if !videval_models::generator::train::is_folder_name(&spec.name) {
        return Err(bad(format!(
            "name {:?}: it names the sweep's folder; no '/', '..' or empty, at most {} bytes",
            spec.name,
            videval_models::generator::train::MAX_FOLDER_NAME
        )));
    }
    if spec.limit == Some(0) {
        return Err(bad("limit: expected at least 1 case per suite".into()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &spec.checkpoints {
        if !videval_models::generator::train::is_folder_name(&c.name) || !seen.insert(c.name.as_str()) {
            return Err(bad(format!(
                "checkpoint name {:?}: each names its run's folder: unique, no '/', '..' or empty, at most {} bytes",
                c.name,
                videval_models::generator::train::MAX_FOLDER_NAME
            )));
        }
        // Within ranges the fits hold in f64 (flops of 1e305 or a loss of 5e-324 gave a
        // scaling.json of nulls that could not be read back).
        let numbers = [("params", c.params), ("samples", c.samples), ("flops", c.flops), ("lr", c.lr)];
        let sane = |v: f64| v.is_finite() && (1e-12..=1e40).contains(&v);
        if let Some((field, v)) = numbers.iter().find(|(_, v)| v.is_some_and(|v| !sane(v))) {
            let v = v.unwrap_or_default();
            let shown = if v.is_finite() && v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
                format!("{v:e}")
            } else {
                format!("{v}")
            };
            return Err(bad(format!(
                "checkpoint {}: {field} {shown}: expected a positive number from 1e-12 to 1e40",
                c.name
            )));
        }
        if c.val_loss.is_some_and(|v| !sane(v)) || c.curve.iter().any(|(n, l)| !(sane(*n) && sane(*l))) {
            return Err(bad(format!(
                "checkpoint {}: val_loss and curve (clips seen, loss) must be positive numbers from 1e-12 to 1e40",
                c.name
            )));
        }
        if c.batch == Some(0) {
            return Err(bad(format!("checkpoint {}: batch 0: expected at least one clip a step", c.name)));
        }
        let model = Path::new(&c.model);
        // A folder of videos that is not there failed that checkpoint after the others had run.
        if let Some(folder) = c.model.strip_prefix("dir:").filter(|f| !Path::new(f).is_dir()) {
            return Err(bad(format!(
                "checkpoint {}: model {}: {folder} is not a folder (paths are read from the spec's folder)",
                c.name, c.model
            )));
        }
        if (c.model.ends_with(".yaml") || c.model.ends_with(".yml")) && !model.is_file() {
            return Err(bad(format!("checkpoint {}: model {}: no such file", c.name, c.model)));
        }
        // Every other model is built now (a command whose script is not there, or a model
        // string that names none, failed after the checkpoints before it had run, and the night
        // was written without them); the bundled generator's weights are left to its run.
        let bundled = c.model == "bundled"
            || c.model.starts_with("bundled:")
            || (model.is_file()
                && crate::yaml::load_file::<crate::generator::ModelSpec>(model).is_ok_and(|s| s.adapter == "bundled"));
        if !bundled {
            crate::generator::from_arg(&c.model)
                .and_then(|g| g.preflight())
                .map_err(|e| bad(format!("checkpoint {}: model {}: {e}", c.name, c.model)))?;
        }
    }
    let limits = crate::suite::Limits::default();
    let suites: Vec<crate::suite::Suite> = spec
        .suites
        .iter()
        .map(|s| crate::run::load_suite(&spec_relative(spec_str, s), &limits))
        .collect::<Result<_>>()?;
    for target in &spec.targets {
        if target == "val_loss" {
            if let Some(c) = spec.checkpoints.iter().find(|c| c.val_loss.is_none()) {
                return Err(bad(format!(
                    "target val_loss: checkpoint {} has no val_loss (give it, or drop the target)",
                    c.name
                )));
            }
            continue;
        }
        let Some((suite, metric)) = target.split_once('/') else {
            return Err(bad(format!("target {target:?}: expected val_loss or SUITE/METRIC")));
        };
        let metric = videval_metrics::registry::renamed(metric).unwrap_or(metric);
        let Some(s) = suites.iter().find(|s| s.name == suite) else {
            let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
            return Err(bad(format!(
                "target {target:?}: the sweep runs no suite {suite:?} (it runs {})",
                names.join(", ")
            )));
        };
        // A probe's pass rate exists where the suite's cases expect that probe (a probe no case
        // checks was found missing after every checkpoint had run, and lost the night's fits).
        let probes: std::collections::BTreeSet<String> =
            s.cases.iter().flat_map(|c| c.expect.iter().map(|e| crate::runner::probe_metric(e.probe()))).collect();
        if !(s.metrics.iter().any(|m| m == metric) || probes.contains(metric)) {
            let scored: Vec<&str> =
                s.metrics.iter().map(String::as_str).chain(probes.iter().map(String::as_str)).collect();
            return Err(bad(format!(
                "target {target:?}: suite {suite} does not score {metric} (it scores {})",
                scored.join(", ")
            )));
        }
    }
    Ok(suites.iter().map(|s| (s.name.clone(), s.measurement_hash())).collect())
}

pub fn sweep_command(spec_path: &Path, out: Option<&Path>, previous: Option<&Path>) -> Result<ExitCode> {
    let mut spec: SweepSpec = crate::yaml::load_file(spec_path)?;
    let bad = |m: String| Error::Config(format!("{}: {m}", spec_path.display()));
    if spec.schema != 1 {
        return Err(bad(format!("schema {}: expected 1", spec.schema)));
    }
    if spec.checkpoints.is_empty() || spec.targets.is_empty() || spec.suites.is_empty() {
        return Err(bad("checkpoints, targets and suites must not be empty".into()));
    }
    let spec_str = spec_path.to_string_lossy().into_owned();
    for c in &mut spec.checkpoints {
        if c.model.starts_with("dir:")
            || c.model.starts_with("bundled:")
            || c.model.ends_with(".yaml")
            || c.model.ends_with(".yml")
        {
            c.model = spec_relative(&spec_str, &c.model);
        }
        c.complete()?;
        if c.flops.is_none() {
            return Err(bad(format!("checkpoint {}: flops (training compute C) is required", c.name)));
        }
    }
    // What decides each suite's values (its cases as measured), for each target's basis.
    let measured = check_before_running(&spec, &spec_str, &bad)?;
    // Read before the runs (hours for a real ladder), so a bad one is found first.
    let before: Option<Scaling> = match previous {
        Some(prev) => {
            let text = videval_models::files::read_text(prev, 256 << 20).map_err(Error::input(prev))?;
            let before: Scaling = serde_json::from_str(&text).map_err(|e| Error::BadFile {
                path: prev.to_path_buf(),
                message: format!("not a scaling.json: {e}"),
            })?;
            // Last night's must be this sweep's, measured on the same cases: another schema,
            // spec or --limit was compared point by point and failed the night (or passed it).
            let other = if before.schema != SCALING_SCHEMA {
                Some(format!("schema {:?}: this videval reads {SCALING_SCHEMA:?}", before.schema))
            } else if before.name != spec.name {
                Some(format!("sweep {:?}, not this spec's {:?}", before.name, spec.name))
            } else if sorted(&before.suites) != sorted(&spec.suites) || before.limit != spec.limit {
                let limit = |l: Option<usize>| l.map_or("no limit".to_string(), |l| format!("--limit {l}"));
                Some(format!(
                    "measured suites {} with {}; tonight's spec measures {} with {}: the values are of other cases",
                    before.suites.join(", "),
                    limit(before.limit),
                    spec.suites.join(", "),
                    limit(spec.limit)
                ))
            } else {
                None
            };
            if let Some(why) = other {
                return Err(Error::BadFile {
                    path: prev.to_path_buf(),
                    message: format!("not last night's run of this sweep: {why}"),
                });
            }
            Some(before)
        }
        None => None,
    };
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("sweeps").join(&spec.name));
    if out.exists() && !out.is_dir() {
        return Err(Error::Config(format!("--out {}: a file, where the sweep's folder is expected", out.display())));
    }
    std::fs::create_dir_all(&out).map_err(Error::io(&out))?;
    // One sweep at a time in a folder: a second (an overlapping nightly job) ran beside the first,
    // each failed the checkpoints the other held, and the night recorded them as failures.
    let _held = crate::run::hold_folder(&out, "running a sweep into this folder", "two sweeps into this folder")?;
    crate::store::sweep_leftovers(&out);
    // Every checkpoint is run, whatever happens to one: a model that fails units, or a run that
    // refuses, is named in `failed` and left out of the fits, and the night still writes its
    // fits and pages (one failure lost the whole night, and left last night's pages in place).
    let mut results = BTreeMap::new();
    let mut failed = Vec::new();
    let mut worst = ExitCode::Ok;
    for c in &spec.checkpoints {
        let run_dir = out.join("runs").join(&c.name);
        let args = crate::run::RunArgs {
            suites: spec.suites.iter().map(|s| spec_relative(&spec_str, s)).collect(),
            model: c.model.clone(),
            store: out.join("store"),
            out: Some(run_dir.clone()),
            shard: None,
            num_shards: None,
            limit: spec.limit,
            cases: None,
            jobs: None,
            memory_budget: None,
            suite_limits: crate::run::SuiteLimitArgs::default(),
            weights: None,
            json: false,
            // The sweep owns runs/<checkpoint>: a checkpoint changed since is run again there.
            replace_other_plan: true,
        };
        let code = match crate::run::run_command(&args, crate::run::Stages::All) {
            Ok(code) => code,
            // The machine, not the model (a full disk): the night stops.
            Err(e) if e.exit_code() == ExitCode::Internal => return Err(e),
            Err(e) => {
                eprintln!("checkpoint {}: {e}", c.name);
                // Its folder was scaled out by hand (`plan --emit` into runs/<name>): the sweep
                // runs a checkpoint in one process, and takes what the store holds.
                if e.to_string().contains("shard(s)") {
                    eprintln!(
                        "  a sweep runs each checkpoint in one process: to scale one out, emit its jobs into another --out with --store {}; the sweep then takes its videos and scores from the store",
                        out.join("store").display()
                    );
                }
                e.exit_code()
            }
        };
        if code != ExitCode::Ok {
            failed.push(format!(
                "checkpoint {}: its run ended with exit code {} (see {}); left out of the fits",
                c.name,
                code as i32,
                run_dir.display()
            ));
            // The first failure's code is the night's.
            worst = match (worst, code) {
                (ExitCode::Ok, c) => c,
                (w, _) => w,
            };
            continue;
        }
        let path = run_dir.join("results.json");
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::BadFile { path: path.clone(), message: e.to_string() })?;
        results.insert(c.name.clone(), v);
    }
    let mut fits = Vec::new();
    for target in &spec.targets {
        let mut points = Vec::new();
        let mut direction = String::from("lower_is_better");
        let mut basis = None;
        let mut missing = Vec::new();
        for c in &spec.checkpoints {
            let Some(r) = results.get(&c.name) else { continue };
            match target_value(target, &measured, c, r) {
                Ok((v, d, b)) => {
                    direction = d;
                    basis = basis.or(b);
                    points.push((c.name.clone(), c.flops.unwrap_or(f64::NAN), v));
                }
                // A checkpoint that did not measure the target is left out of its fit, said; the
                // others are fitted (one featureless clip lost every checkpoint's point).
                Err(e) => missing.push(e.to_string()),
            }
        }
        for why in &missing {
            eprintln!("warning: {why}: left out of its fit");
        }
        let mut fit = if points.is_empty() {
            TargetFit {
                target: target.clone(),
                transform: "value".into(),
                points: Vec::new(),
                fit: None,
                notes: vec!["no checkpoint measured it".into()],
                basis: None,
            }
        } else {
            fit_target(target, points, &direction)
        };
        fit.notes.extend(missing.into_iter().map(|why| format!("{why}: left out of the fit")));
        fit.basis = basis;
        fits.push(fit);
    }
    // Failed checkpoints are left out of L(N, D) too (their stated val_loss was fitted though
    // every output said they were left out of the fits).
    let fitted: Vec<CheckpointEntry> =
        spec.checkpoints.iter().filter(|c| results.contains_key(&c.name)).cloned().collect();
    let nd = spec.targets.iter().any(|t| t == "val_loss").then(|| fit_nd_target(&fitted));
    let mut scaling = Scaling {
        schema: SCALING_SCHEMA.into(),
        name: spec.name.clone(),
        suites: spec.suites.clone(),
        limit: spec.limit,
        checkpoints: spec.checkpoints.clone(),
        fits,
        trend: Vec::new(),
        not_compared: Vec::new(),
        failed,
        nd,
    };
    if let Some(before) = &before {
        (scaling.trend, scaling.not_compared) = trend(&scaling, before);
        if before.fits.iter().any(|f| f.basis.as_deref().is_some_and(|b| b.starts_with("sha256:"))) {
            eprintln!(
                "note: last night's file recorded each suite's whole hash (an older videval): its targets are compared on the metrics' versions"
            );
        }
    }
    // A night where no checkpoint ran (every one refused or failed) keeps the last night that did:
    // written over it, the next night's `--previous` had nothing to compare, and passed whatever
    // happened.
    if results.is_empty() && out.join("scaling.json").is_file() {
        for f in &scaling.failed {
            eprintln!("{f}");
        }
        eprintln!(
            "no checkpoint ran tonight: {} is kept as it was (the last night that measured something)",
            out.join("scaling.json").display()
        );
        return Ok(if worst == ExitCode::Ok { ExitCode::ModelFailure } else { worst });
    }
    let json = serde_json::to_string_pretty(&scaling).map_err(|e| Error::Internal(e.to_string()))?;
    write_atomic(&out.join("scaling.json"), json.as_bytes())?;
    render_scaling(&scaling, &out.join("scaling.html"))?;
    {
        for f in &scaling.fits {
            // What the brackets are: 95% intervals from 5 distinct compute values on; with 4 a
            // range of fits, with 3 none (the page said so, the terminal did not).
            let kind = match distinct_compute(&f.points) {
                3 => "no interval: 3 distinct C for 3 parameters",
                4 => "a range of fits through 3 of 4 points, not 95% intervals",
                _ => "95% bootstrap intervals",
            };
            match &f.fit {
                Some(x) => println!(
                    "{:<28} E {:.4} [{:.4}, {:.4}]  γ {:.3} [{:.3}, {:.3}]  ({} points, {}; {kind})",
                    f.target,
                    x.e,
                    x.e_ci[0],
                    x.e_ci[1],
                    x.gamma,
                    x.gamma_ci[0],
                    x.gamma_ci[1],
                    f.points.len(),
                    f.transform
                ),
                None => println!("{:<28} no fit: {}", f.target, f.notes.join("; ")),
            }
        }
        if let Some(nd) = &scaling.nd {
            match &nd.fit {
                Some(f) => {
                    let v = |k: &str| f["fit"][k].as_f64().unwrap_or(f64::NAN);
                    let ci = |k: &str| {
                        let x = |i: usize| f[k][i].as_f64().unwrap_or(f64::NAN);
                        format!("[{:.3}, {:.3}]", x(0), x(1))
                    };
                    println!(
                        "{:<28} E {:.4} {}  α {:.3} {}  β {:.3} {}  ({} points)",
                        "L(N, D) val_loss",
                        v("e"),
                        ci("e"),
                        v("alpha"),
                        ci("alpha"),
                        v("beta"),
                        ci("beta"),
                        nd.points.len()
                    )
                }
                None => println!("{:<28} {}", "L(N, D) val_loss", nd.notes.join("; ")),
            }
        }
        for t in &scaling.trend {
            println!("OFF TREND  {t}");
        }
        for t in &scaling.not_compared {
            println!("NOT COMPARED  {t}");
        }
        // Said when nothing is off trend and something was compared, so a passing night shows it
        // compared (it said nothing); each target not compared is said above, once.
        let compared = scaling.fits.len().saturating_sub(scaling.not_compared.len());
        if let Some(prev) = previous.filter(|_| scaling.trend.is_empty() && compared > 0) {
            println!(
                "ON TREND  with {}: every parameter within last night's 95% intervals and every checkpoint within its prediction{}",
                prev.display(),
                if scaling.not_compared.is_empty() { "" } else { " (the targets NOT COMPARED aside)" }
            );
        }
        for f in &scaling.failed {
            println!("FAILED  {f}");
        }
        println!("wrote {} and {}", out.join("scaling.json").display(), out.join("scaling.html").display());
    }
    Ok(match worst {
        ExitCode::Ok if scaling.trend.is_empty() => ExitCode::Ok,
        ExitCode::Ok => ExitCode::GateFailed,
        failure => failure,
    })
}

/// The names in order (the order a spec lists its suites in measures nothing different).
/// Suite names and paths as compared between nights: in order, a leading `./` left out (a spec
/// that wrote `./suite.yaml` was refused against last night's `suite.yaml`, "of other cases").
fn sorted(names: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = names
        .iter()
        .map(|n| {
            let mut s = n.as_str();
            while let Some(rest) = s.strip_prefix("./") {
                s = rest.trim_start_matches('/');
            }
            s
        })
        .collect();
    v.sort_unstable();
    v
}

/// A path the spec names (a `dir:` folder, a suite file), read from the spec's folder as its
/// model files are (from the working folder, a spec run from elsewhere found none of them); a
/// bundled suite's name, `bundled:…` and the other adapters' names are kept.
fn spec_relative(spec: &str, named: &str) -> String {
    if let Some(folder) = named.strip_prefix("dir:") {
        return format!("dir:{}", crate::suite::load::sibling(spec, folder));
    }
    // A checkpoint folder named by path (`bundled:ckpts/tiny-s`); a bare name is a committed one.
    if let Some(folder) = named.strip_prefix("bundled:").filter(|f| f.contains('/')) {
        return format!("bundled:{}", crate::suite::load::sibling(spec, folder));
    }
    let lower = named.to_ascii_lowercase();
    let beside = crate::suite::load::sibling(spec, named);
    if lower.ends_with(".yaml") || lower.ends_with(".yml") || named.contains('/') || Path::new(&beside).is_file() {
        return beside;
    }
    named.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A night after one where few checkpoints ran compares nothing, and says so (a regression
    /// of every checkpoint passed without a word).
    #[test]
    fn a_night_after_a_thin_one_says_it_compared_nothing() {
        let night = |ks: std::ops::Range<i32>, worse: f64| Scaling {
            schema: SCALING_SCHEMA.into(),
            name: "n".into(),
            suites: vec![],
            limit: None,
            checkpoints: vec![],
            fits: vec![fit_target(
                "val_loss",
                ks.map(|k| (format!("c{k}"), 1e11 * 4f64.powi(k), law(1e11 * 4f64.powi(k)) * worse)).collect(),
                "lower_is_better",
            )],
            trend: vec![],
            not_compared: vec![],
            failed: vec![],
            nd: None,
        };
        let (flags, skipped) = trend(&night(0..6, 1.5), &night(0..1, 1.0));
        assert!(flags.is_empty() && skipped.iter().any(|s| s.contains("not compared")), "{flags:?} {skipped:?}");
    }

    #[test]
    fn suites_written_with_a_leading_dot_are_the_same_suites() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(sorted(&s(&["./lab/suite.yaml", "smoke"])), sorted(&s(&["smoke", "lab/suite.yaml"])));
        assert_ne!(sorted(&s(&["../suite.yaml"])), sorted(&s(&["suite.yaml"])));
    }

    /// A night is compared with the last when the suite's cases are measured alike: a typo fixed
    /// in its description, a capability tag added or a metric added to its list left every
    /// target of the suite not compared (a regression passed, exit 0).
    #[test]
    fn a_suite_reworded_is_measured_alike_and_a_prompt_changed_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let suite = |description: &str, capabilities: &str, metrics: &str, prompt: &str| {
            let path = dir.path().join(format!("s{}.yaml", description.len() + capabilities.len() + prompt.len()));
            std::fs::write(
                &path,
                format!(
                    "schema: 1\nsuite: lab\nversion: 1\ndescription: {description}\nmetrics: [{metrics}]\ndefaults: {{generation: {{frames: 4, width: 32, height: 32}}}}\ncases:\n  - id: a\n    prompt: {prompt}\n    capabilities: [{capabilities}]\n"
                ),
            )
            .unwrap();
            crate::run::load_suite(path.to_str().unwrap(), &crate::suite::Limits::default()).unwrap()
        };
        let base = suite("pans", "camera", "temporal_flicker", "a red ball");
        let reworded = suite("pans over photos", "camera.pan", "temporal_flicker, motion_smoothness", "a red ball");
        assert_ne!(base.content_hash(), reworded.content_hash());
        assert_eq!(base.measurement_hash(), reworded.measurement_hash());
        assert_ne!(
            base.measurement_hash(),
            suite("pans", "camera", "temporal_flicker", "a blue ball").measurement_hash()
        );
    }

    fn law(c: f64) -> f64 {
        1.5 + 2.0 * (c / 1e12).powf(-0.3)
    }

    /// Points are counted by their compute, and a value that does not fall with it is not
    /// fitted: six checkpoints at two C, or a flat or rising curve, gave an exponent with a "95%
    /// interval"; a night compared with a fit through 3 points (an interval of zero width)
    /// flagged a change of 1e-4.
    #[test]
    fn fits_need_distinct_compute_and_a_falling_value() {
        let at = |cs: &[f64], f: &dyn Fn(f64) -> f64| -> Vec<(String, f64, f64)> {
            cs.iter().enumerate().map(|(i, &c)| (format!("c{i}"), c, f(c))).collect()
        };
        let twins = at(&[1e12, 1e12, 1e12, 1e14, 1e14, 1e14], &law);
        let f = fit_target("val_loss", twins, "lower_is_better");
        assert!(f.fit.is_none() && f.notes.iter().any(|n| n.contains("2 distinct compute")), "{:?}", f.notes);
        for (name, g) in
            [("flat", &(|_: f64| 1.5) as &dyn Fn(f64) -> f64), ("rising", &(|c: f64| 1.0 + c.ln() / 100.0))]
        {
            let f = fit_target("val_loss", at(&[1e11, 1e12, 1e13, 1e14, 1e15], g), "lower_is_better");
            assert!(f.fit.is_none() && f.notes.iter().any(|n| n.contains("does not fall")), "{name}: {:?}", f.notes);
        }
        // The largest compute shared: no held-out point.
        let f = fit_target("val_loss", at(&[1e11, 1e12, 1e13, 1e14, 1e15, 1e15], &law), "lower_is_better");
        assert!(f.fit.as_ref().unwrap().holdout.is_none(), "{:?}", f.notes);
        // Three points last night: nothing to compare a change against.
        let three = fit_target("val_loss", at(&[1e11, 1e13, 1e15], &law), "lower_is_better");
        let mut moved = at(&[1e11, 1e13, 1e15], &law);
        moved[1].2 *= 1.0001;
        let tonight = fit_target("val_loss", moved, "lower_is_better");
        let s = |f: TargetFit| Scaling {
            schema: SCALING_SCHEMA.into(),
            name: "n".into(),
            suites: vec![],
            limit: None,
            checkpoints: vec![],
            fits: vec![f],
            trend: vec![],
            not_compared: vec![],
            failed: vec![],
            nd: None,
        };
        assert!(trend(&s(tonight), &s(three)).0.is_empty());
    }

    #[test]
    fn bounded_scores_are_fitted_as_error_rates_and_trends_flag_off_law_points() {
        let pts: Vec<(String, f64, f64)> =
            (0..6).map(|k| (format!("c{k}"), 1e11 * 4f64.powi(k), 1.0 - law(1e11 * 4f64.powi(k)) / 10.0)).collect();
        let f = fit_target("smoke/probe:motion", pts.clone(), "higher_is_better");
        assert_eq!(f.transform, "1 - value");
        let fit = f.fit.as_ref().unwrap();
        assert!((fit.gamma - 0.3).abs() < 0.02, "{fit:?}");
        assert_eq!(fit.holdout.as_ref().unwrap().inside, Some(true));
        let before = Scaling {
            schema: SCALING_SCHEMA.into(),
            name: "n".into(),
            suites: vec![],
            limit: None,
            checkpoints: vec![],
            fits: vec![f.clone()],
            trend: vec![],
            not_compared: vec![],
            failed: vec![],
            nd: None,
        };
        let same = Scaling { fits: vec![f], ..before.clone() };
        assert!(trend(&same, &before).0.is_empty());
        // Nine points scattered about the law (±4%): the same data again is on trend, and so is
        // a new checkpoint that lands on the law.
        let wobble = [0.04, -0.03, 0.035, -0.04, 0.0, 0.03, -0.035, 0.04, -0.02];
        let scattered: Vec<(String, f64, f64)> = (0..9)
            .map(|k| (format!("c{k}"), 1e11 * 3f64.powi(k), law(1e11 * 3f64.powi(k)) * (1.0 + wobble[k as usize])))
            .collect();
        let s9 = Scaling { fits: vec![fit_target("val_loss", scattered.clone(), "lower_is_better")], ..before.clone() };
        assert!(trend(&s9, &s9).0.is_empty(), "{:?}", trend(&s9, &s9).0);
        let mut more = scattered.clone();
        more.push(("c9".into(), 1e11 * 3f64.powi(9), law(1e11 * 3f64.powi(9))));
        let s10 = Scaling { fits: vec![fit_target("val_loss", more.clone(), "lower_is_better")], ..before.clone() };
        assert!(trend(&s10, &s9).0.is_empty(), "{:?}", trend(&s10, &s9).0);
        // An estimate at the boundary, just outside its own bootstrap interval (E fitted as 3e-16,
        // interval from 2e-15), has not moved; an E well past the interval has.
        let mut edge = s9.clone();
        let fit = edge.fits[0].fit.as_mut().unwrap();
        (fit.e, fit.e_ci) = (2.9e-16, [2.0e-15, 0.023]);
        assert!(trend(&edge, &edge).0.is_empty(), "{:?}", trend(&edge, &edge).0);
        let mut moved = edge.clone();
        moved.fits[0].fit.as_mut().unwrap().e = 0.05;
        assert!(
            trend(&moved, &edge).0.iter().any(|f| f.contains("E = 0.0500 moved outside")),
            "{:?}",
            trend(&moved, &edge).0
        );
        // ... but a new checkpoint at twice the law's loss is flagged.
        more[9].2 *= 2.0;
        let bad = Scaling { fits: vec![fit_target("val_loss", more, "lower_is_better")], ..before.clone() };
        assert!(
            trend(&bad, &s9).0.iter().any(|f| f.contains("checkpoint c9 is off-trend by +")),
            "{:?}",
            trend(&bad, &s9).0
        );
        // Tonight the largest checkpoint got much worse.
        let mut worse = pts;
        worse[5].2 -= 0.05;
        let now = Scaling { fits: vec![fit_target("smoke/probe:motion", worse, "higher_is_better")], ..before.clone() };
        let flags = trend(&now, &before).0;
        assert!(flags.iter().any(|f| f.contains("checkpoint c5 is off-trend by +")), "{flags:?}");
        // Measured on another basis (the suite edited, the metric's version moved): not compared,
        // and said, where the new values read as off-trend checkpoints.
        let (mut other, mut was) = (now.clone(), before.clone());
        other.fits[0].basis = Some("sha256:b v7".into());
        was.fits[0].basis = Some("sha256:a v6".into());
        let (flags, skipped) = trend(&other, &was);
        assert!(flags.is_empty() && skipped.len() == 1 && skipped[0].contains("not compared"), "{flags:?} {skipped:?}");
        // Last night's from a videval that recorded no basis: of unknown measurement, not compared.
        was.fits[0].basis = None;
        let (flags, skipped) = trend(&other, &was);
        assert!(flags.is_empty() && skipped[0].contains("an unrecorded measurement"), "{flags:?} {skipped:?}");
        // A target last night did not have is said, not passed over (a night comparing nothing
        // said it was on trend).
        was.fits[0].target = "smoke/probe:other".into();
        let (flags, skipped) = trend(&other, &was);
        assert!(flags.is_empty() && skipped == ["smoke/probe:motion: not in last night's file: not compared"]);
        // A checkpoint of tonight's ladder measured last night and not tonight is flagged.
        let mut gone = before.clone();
        gone.checkpoints = (0..6).map(|k| CheckpointEntry { name: format!("c{k}"), ..Default::default() }).collect();
        gone.fits[0].points.retain(|p| p.checkpoint != "c5");
        let flags = trend(&gone, &before).0;
        assert!(
            flags.iter().any(|f| f.contains("checkpoint c5 measured") && f.contains("nothing tonight")),
            "{flags:?}"
        );
        // Too few points: no fit, and it says why.
        let f = fit_target("val_loss", vec![("a".into(), 1.0, 2.0), ("b".into(), 2.0, 1.0)], "lower");
        assert!(f.fit.is_none() && f.notes[0].contains("at least 3"));
    }

    #[test]
    fn l_of_n_and_d_comes_from_the_checkpoints_validation_curves() {
        // Three sizes, each with a three-point curve, on L = 1.5 + 4/N'^0.4 + 3/D'^0.3.
        let law = |n: f64, d: f64| 1.5 + 4.0 * (n / 1e6).powf(-0.4) + 3.0 * (d / 1e4).powf(-0.3);
        let ckpt = |name: &str, n: f64| CheckpointEntry {
            name: name.into(),
            params: Some(n),
            curve: [3e3, 6e3, 1.2e4, 2.4e4].iter().map(|&d| (d, law(n, d))).collect(),
            ..Default::default()
        };
        let nd = fit_nd_target(&[ckpt("s", 3e5), ckpt("m", 1.5e6), ckpt("l", 5e6)]);
        assert_eq!(nd.points.len(), 12);
        let fit = nd.fit.expect("fitted");
        let alpha = fit["fit"]["alpha"].as_f64().unwrap();
        let beta = fit["fit"]["beta"].as_f64().unwrap();
        assert!((alpha - 0.4).abs() < 0.02 && (beta - 0.3).abs() < 0.02, "{fit}");
        for p in &nd.points {
            assert!((p.4.unwrap() - p.3).abs() < 1e-3 * p.3);
        }
        // One checkpoint with one point: no fit, and the note says why.
        let one = fit_nd_target(&[CheckpointEntry {
            params: Some(1e6),
            samples: Some(1e4),
            val_loss: Some(2.0),
            ..Default::default()
        }]);
        assert!(one.fit.is_none() && one.notes.iter().any(|n| n.contains("at least 6 points")));
    }

    #[test]
    fn a_target_naming_a_renamed_metric_reads_the_new_id() {
        let results = serde_json::json!({"suites": {"smoke": {"metrics": {"world_subject_consistency":
            {"point_estimate": 0.9, "direction": "higher_is_better"}}}}});
        let entry = CheckpointEntry { name: "a".into(), ..Default::default() };
        for target in ["smoke/subject_consistency", "smoke/world_subject_consistency"] {
            let (v, direction, _) = target_value(target, &BTreeMap::new(), &entry, &results).expect("found");
            assert_eq!((v, direction.as_str()), (0.9, "higher_is_better"), "{target}");
        }
        assert!(target_value("smoke/gravty", &BTreeMap::new(), &entry, &results).is_err());
    }
}
