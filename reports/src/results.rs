//! `results.json`: per suite and metric, a point estimate with a bootstrap interval; and every
//! sample's values. A pure function of the run's records: the same records give the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const RESULTS_SCHEMA: &str = "videval/results/v2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub plan_hash: String,
    pub model: serde_json::Value,
    /// False when merged with `--allow-partial`: some units have no record. Never gate on it.
    pub complete: bool,
    pub missing_units: Vec<String>,
    pub suites: BTreeMap<String, SuiteResults>,
    pub samples: Vec<Sample>,
    /// Generation speed, when the model measured itself (in-process adapters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    /// VBench's dimensions as VBench aggregates and normalises them, when the run has imported
    /// VBench suites (`vbench_<dimension>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbench: Option<VbenchBlock>,
}

/// A score with its 95% interval (or why there is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VbenchScore {
    pub value: f64,
    pub ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One VBench dimension scored by videval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VbenchDimension {
    pub dimension: String,
    pub quality: bool,
    pub suite: String,
    pub metric: String,
    /// `video_mean` or `frame_weighted`, as VBench aggregates this dimension.
    pub aggregation: String,
    pub prompts: usize,
    pub videos: usize,
    /// VBench's dimension score; the interval resamples prompts (a prompt's samples together).
    pub raw: VbenchScore,
    /// (raw − min) / (max − min) with VBench's constants.
    pub normalised: VbenchScore,
    pub min: f64,
    pub max: f64,
    pub weight: f64,
    /// Which videos a protocol filter kept (temporal flickering under VBench's static filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Videos of the suite the score leaves out, and why (not generated or read, or not
    /// measurable): the score is over the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
}

/// A dimension not computed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VbenchSkipped {
    pub dimension: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VbenchBlock {
    pub dimensions: Vec<VbenchDimension>,
    /// The weighted mean of the normalised quality dimensions present (the note says which).
    pub quality_score: Option<VbenchScore>,
    /// Every quality dimension not computed, and every imported dimension not computed, with why.
    pub skipped: Vec<VbenchSkipped>,
    /// Where the run differs from VBench's protocol: a subset of the prompts (`--limit`,
    /// `--cases`), or other than 5 samples per prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}

/// How fast the model generated this run's videos (warm-up excluded; model time only, not file
/// encoding; reused videos report the cost measured when they were made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    pub device: String,
    pub videos: usize,
    pub latency_p50_s: f64,
    pub latency_p95_s: f64,
    pub latency_mean_s: f64,
    /// Output frames per second of model time.
    pub frames_per_s: f64,
    /// Latent tokens processed per second (tokens × transformer passes / time).
    pub tokens_per_s: f64,
    /// Mean model FLOPs per video, from the architecture.
    pub flops_per_video: f64,
    pub achieved_flops_per_s: f64,
    /// The attainable peak MFU is stated against, and how it was obtained.
    pub peak_flops_per_s: f64,
    pub peak_source: String,
    /// Model FLOPs utilisation: achieved / peak.
    pub mfu: f64,
    pub peak_memory_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteResults {
    pub version: u32,
    pub content_hash: String,
    /// Per case conditioned on files, the hash of their contents (the plan's): `compare` refuses
    /// to pair cases whose conditioning pictures differ. Absent for suites without such inputs
    /// (and in results written before it was recorded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
    pub n: Counts,
    pub metrics: BTreeMap<String, MetricResult>,
    /// Per capability family (`physics` of `physics.gravity`): the pass rate of the probe checks
    /// of the cases tagged with it; a unit that failed to generate, or whose probe measurement
    /// failed (an unreadable video), counts as failing.
    #[serde(default)]
    pub capabilities: BTreeMap<String, MetricResult>,
    /// Per capability tag (`capabilities.i2v`), where its family has several in the run: the
    /// same pass rate over that tag's cases (a family alone read one row for all of its tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capability_tags: BTreeMap<String, MetricResult>,
    /// Capability families and tags with cases in the run but no check measured on any of their
    /// samples (every check not measurable), with why: neither a pass nor a failure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmeasured_capabilities: BTreeMap<String, Unmeasured>,
    /// The suite's metrics and probes with no estimate: measured on no sample (every one not
    /// applicable, or failed), with why. Absent when every metric has an estimate.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmeasured: BTreeMap<String, Unmeasured>,
}

/// A metric or probe of a suite that no sample measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmeasured {
    /// Samples it did not apply to (a network without weights, a check that cannot be made).
    pub not_applicable: usize,
    /// Samples whose measurement failed.
    pub failed: usize,
    /// The first sample's reason, in plan order.
    pub reason: String,
    pub direction: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub cases: usize,
    pub samples: usize,
    pub failed_generations: usize,
    pub failed_scores: usize,
    pub not_applicable: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub point_estimate: f64,
    /// None where there is no interval.
    pub standard_error: Option<f64>,
    /// None where the data cannot support one (fewer than 5 cases for a bootstrap, or no spread):
    /// `interval_note` says why. Never zero-width.
    pub confidence_interval: Option<Interval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_note: Option<String>,
    /// `cluster_bootstrap_percentile` (metrics), `clopper_pearson_cases` (pass rates) or `none`.
    pub method: String,
    /// The resampled unit: the case (its seeds stay together).
    pub unit: String,
    pub n_clusters: usize,
    pub n_samples: usize,
    /// The distinct cases measured, where they are grouped into fewer clusters (a capability's
    /// cases); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_cases: Option<usize>,
    pub n_boot: usize,
    pub rng_seed: u64,
    pub metric_version: u32,
    pub direction: String,
    pub description: String,
}

impl MetricResult {
    /// `[lo, hi]` with `fmt`, or the reason there is no interval.
    pub fn interval_text(&self, fmt: impl Fn(f64) -> String) -> String {
        self.interval_text_with(&fmt, &fmt)
    }

    /// [`Self::interval_text`] with a formatter per bound (rounding each outward, say).
    pub fn interval_text_with(&self, lower: impl Fn(f64) -> String, upper: impl Fn(f64) -> String) -> String {
        match (&self.confidence_interval, &self.interval_note) {
            (Some(i), _) => format!("[{}, {}]", lower(i.lower_bound), upper(i.upper_bound)),
            (None, Some(note)) => note.clone(),
            (None, None) => "n/a".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub confidence_level: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub suite: String,
    pub case_id: String,
    pub seed_idx: u32,
    pub seed: u64,
    pub cluster: String,
    pub prompt: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How its video differs from what its unit asked for (frames, size, frame rate), from the
    /// video's header; absent when it is as asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_request: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    /// Metrics that failed or did not apply, with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metric_errors: BTreeMap<String, String>,
    /// Which of `metric_errors` are errors (an unreadable video, a failed computation) rather than
    /// measures that do not apply to this sample.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub failed_metrics: std::collections::BTreeSet<String>,
    /// For probe pass rates: each expectation's verdict and reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// A sample's identity within a run: (suite, case id, seed index).
pub type SampleKey = (String, String, u32);

impl Sample {
    pub fn key(&self) -> SampleKey {
        (self.suite.clone(), self.case_id.clone(), self.seed_idx)
    }

    /// Why `self` and `other`, one sample of two runs, do not answer the same request (another
    /// prompt or seed: runs of suites that share only case ids); None when they do.
    pub fn other_request(&self, other: &Sample) -> Option<String> {
        (self.prompt != other.prompt || self.seed != other.seed).then(|| {
            format!(
                "made it for different requests (prompt {:?} seed {} against prompt {:?} seed {})",
                self.prompt, self.seed, other.prompt, other.seed
            )
        })
    }
}

/// The family of a capability tag: `physics` of `physics.gravity`; a tag without a dot is its
/// family.
pub fn capability_family(tag: &str) -> &str {
    tag.split('.').next().unwrap_or(tag)
}

/// The failed checks of a probe's detail line (`pass: … | FAIL (kind): reason | …`), each as
/// (kind, reason). Lines written before probes named their failures (`FAIL: reason`) give the
/// kind "unclassified" and keep their reason whole.
pub fn failures(detail: &str) -> impl Iterator<Item = (&str, &str)> {
    detail.split(" | ").filter_map(|check| {
        if let Some(rest) = check.strip_prefix("FAIL (") {
            return rest.split_once("): ");
        }
        check.strip_prefix("FAIL: ").map(|reason| ("unclassified", reason))
    })
}

/// The reasons of a `details` entry's checks that could not be measured (`n/a: reason`).
pub fn not_measured(detail: &str) -> impl Iterator<Item = &str> {
    detail.split(" | ").filter_map(|check| check.strip_prefix("n/a: "))
}

#[cfg(test)]
mod tests {
    use super::failures;

    #[test]
    fn failed_checks_keep_their_kind_and_their_whole_reason() {
        let detail = "pass: falls down | FAIL (wrong direction): moves -0.078 h left (dx +0.078, dy -0.043) | \
                      FAIL: 1 bounce(s), expected ≥ 2";
        let got: Vec<(&str, &str)> = failures(detail).collect();
        assert_eq!(
            got,
            [
                ("wrong direction", "moves -0.078 h left (dx +0.078, dy -0.043)"),
                ("unclassified", "1 bounce(s), expected ≥ 2")
            ]
        );
    }
}
