//! The run report: one self-contained HTML file (inline CSS, no scripts from anywhere), verdicts
//! and estimates first, then every sample. Generic over the metric registry: a new metric shows
//! up as a new column without touching the template.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::results::{Results, VbenchScore};

const RUN_TEMPLATE: &str = include_str!("../templates/run.html");

/// The value axis of pass-rate charts.
pub const PASS_RATE_AXIS: &str = "pass rate, with its 95% CI";

/// The style every page shares: charts, clips, wide tables and the print stylesheet.
pub const COMMON_CSS: &str = include_str!("../templates/common.css");

#[derive(Debug, thiserror::Error)]
#[error("rendering the report: {0}")]
pub struct RenderError(pub(crate) String);

/// Standard base64 (RFC 4648, padded), for images inlined as data URIs.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A picture or clip a report shows: bytes inlined as a data URI, or a file beside the report
/// (once the inline budget is spent), by its path relative to the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    Inline { mime: &'static str, bytes: Vec<u8> },
    File(String),
}

impl Media {
    pub fn png(bytes: Vec<u8>) -> Media {
        Media::Inline { mime: "image/png", bytes }
    }

    /// The `src` of an `<img>` or `<video>`.
    pub fn src(&self) -> String {
        match self {
            Media::Inline { mime, bytes } => format!("data:{mime};base64,{}", base64(bytes)),
            Media::File(path) => path.clone(),
        }
    }
}

/// What a sample shows: a filmstrip (each case's first seed; it is also what prints) and a clip
/// that plays in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleMedia {
    pub filmstrip: Option<Media>,
    pub clip: Option<Media>,
}

/// Media by sample.
pub type MediaMap = BTreeMap<crate::results::SampleKey, SampleMedia>;

/// What the header shows about where the numbers came from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    pub run_dir: String,
    pub harness_version: String,
    pub git_sha: String,
    pub created_at: String,
    pub environment: BTreeMap<String, String>,
    /// The run's subset of its suites' cases (`--cases`, `--limit`), said where it has one: a
    /// page of a hand-picked subset read like the suite's.
    pub selection: Option<String>,
    /// Why some samples show no clip or filmstrip (videos moved or changed since they were
    /// scored), said on the page as well as on the terminal: a page missing every clip read as
    /// complete.
    pub media_notes: Vec<String>,
}

#[derive(Serialize)]
struct MetricRow<'a> {
    name: &'a str,
    estimate: String,
    interval: String,
    n: String,
    clusters: String,
    direction: &'a str,
    version: u32,
    description: &'a str,
}

#[derive(Serialize)]
struct UnmeasuredRow<'a> {
    name: &'a str,
    /// "not applicable to 12 samples", "failed on 3 samples", or both.
    counts: String,
    reason: &'a str,
    direction: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct SuiteView<'a> {
    name: &'a str,
    version: u32,
    content_hash: &'a str,
    cases: String,
    samples: String,
    failed_generations: usize,
    failed_scores: usize,
    not_applicable: usize,
    /// Samples whose video is not what their unit asked for.
    off_request: usize,
    metrics: Vec<MetricRow<'a>>,
    /// Metrics and probes no sample measured, with why: a row each, never left out.
    unmeasured: Vec<UnmeasuredRow<'a>>,
    capabilities: Vec<MetricRow<'a>>,
    /// Capabilities none of whose checks was measurable: neither passed nor failed.
    unmeasured_capabilities: Vec<UnmeasuredRow<'a>>,
    /// Capability pass rates with their CIs as an SVG bar chart.
    capability_chart: Option<String>,
    metric_names: Vec<&'a str>,
    samples_rows: Vec<SampleRow<'a>>,
}

#[derive(Serialize)]
struct SampleRow<'a> {
    case_id: &'a str,
    seed_idx: u32,
    prompt: &'a str,
    status: &'a str,
    error: Option<&'a str>,
    off_request: Option<&'a str>,
    values: Vec<Cell>,
    /// Failed probe checks with their reasons.
    failures: Vec<String>,
    /// Measures that failed (an unreadable video, say), grouped by reason: "a, b: reason".
    errors: Vec<String>,
    /// The `src` of the case's filmstrip (first seed only).
    poster: Option<String>,
    /// The `src` of the sample's clip.
    clip: Option<String>,
    /// Whether it plays in place (the first [`PLAYING_CLIPS`] of the page) or is a link.
    play: bool,
}

/// Clips that play in place on one run page: a browser creates a media player per `<video>`, and
/// a page of 600 took two minutes to load (1,200 never did); 300 load in a few seconds. Later
/// samples link to their clip.
pub const PLAYING_CLIPS: usize = 240;

/// One value of the samples table: the number, or why there is none (shown on hover).
#[derive(Serialize)]
struct Cell {
    text: String,
    why: Option<String>,
    error: bool,
}

#[derive(Serialize)]
struct VbenchRow {
    dimension: String,
    suite: String,
    raw: String,
    interval: String,
    normalised: String,
    weight: String,
    prompts: String,
    videos: String,
    aggregation: String,
    /// Which videos a protocol filter kept.
    filter: Option<String>,
}

#[derive(Serialize)]
struct VbenchView {
    rows: Vec<VbenchRow>,
    quality: Option<(String, String, String)>,
    skipped: Vec<(String, String)>,
    caveats: Vec<String>,
}

fn vbench_view(b: &crate::results::VbenchBlock) -> VbenchView {
    let interval = |s: &crate::results::VbenchScore| match (s.ci, &s.note) {
        (Some([lo, hi]), _) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
        (None, Some(note)) => note.clone(),
        (None, None) => "n/a".into(),
    };
    VbenchView {
        rows: b
            .dimensions
            .iter()
            .map(|d| VbenchRow {
                dimension: d.dimension.clone(),
                suite: d.suite.clone(),
                raw: fmt_num(d.raw.value),
                interval: interval(&d.raw),
                normalised: fmt_num(d.normalised.value),
                weight: fmt_num(d.weight),
                prompts: crate::format::count(d.prompts as u64),
                videos: crate::format::count(d.videos as u64),
                aggregation: d.aggregation.replace('_', " "),
                filter: match (&d.filter, &d.left_out) {
                    (Some(f), Some(l)) => Some(format!("{f}; {l}")),
                    (f, l) => f.clone().or_else(|| l.clone()),
                },
            })
            .collect(),
        quality: b.quality_score.as_ref().map(|q| {
            (fmt_num(q.value), interval(&VbenchScore { note: None, ..q.clone() }), q.note.clone().unwrap_or_default())
        }),
        skipped: b.skipped.iter().map(|s| (s.dimension.clone(), s.reason.clone())).collect(),
        caveats: b.caveats.clone(),
    }
}

#[derive(Serialize)]
struct Context<'a> {
    common_css: &'static str,
    vbench: Option<VbenchView>,
    provenance: &'a Provenance,
    model: String,
    plan_hash: &'a str,
    complete: bool,
    missing: &'a [String],
    suites: Vec<SuiteView<'a>>,
    throughput: Vec<(&'static str, String)>,
    playing_clips: usize,
}

/// The throughput panel as (label, value) rows.
fn throughput_rows(t: &crate::results::Throughput) -> Vec<(&'static str, String)> {
    vec![
        ("Device", t.device.clone()),
        ("Videos timed", crate::format::count(t.videos as u64)),
        (
            "Latency p50 / p95 / mean",
            format!(
                "{} s / {} s / {} s",
                fmt_num(t.latency_p50_s),
                fmt_num(t.latency_p95_s),
                fmt_num(t.latency_mean_s)
            ),
        ),
        ("Frames per second", fmt_num(t.frames_per_s)),
        ("Latent tokens per second", fmt_num(t.tokens_per_s)),
        ("Model FLOPs per video", format!("{} GFLOP", fmt_num(t.flops_per_video / 1e9))),
        ("Achieved", format!("{} GFLOP/s", fmt_num(t.achieved_flops_per_s / 1e9))),
        ("Peak", format!("{} GFLOP/s ({})", fmt_num(t.peak_flops_per_s / 1e9), t.peak_source)),
        ("MFU", format!("{}%", fmt_num(100.0 * t.mfu))),
        ("Peak memory", format!("{} MiB", fmt_num(t.peak_memory_bytes as f64 / 1048576.0))),
    ]
}

use crate::format::metric as fmt_num;

/// A capability's cases, "N (in K clusters)" where they are grouped into fewer clusters (what the
/// interval counts), else K.
pub fn cases_in_clusters(r: &crate::results::MetricResult) -> String {
    match r.n_cases.filter(|&n| n > r.n_clusters) {
        Some(n) => {
            format!("{} (in {} clusters)", crate::format::count(n as u64), crate::format::count(r.n_clusters as u64))
        }
        None => crate::format::count(r.n_clusters as u64),
    }
}

/// A table row; a pass rate (a capability, a `probe:` row) in percent, as the page's text and
/// charts give them (the tables printed `[0.02500, 1.000]` beside "[2.5%, 100%]").
fn metric_row<'a>(name: &'a str, r: &'a crate::results::MetricResult, pass_rate: bool) -> MetricRow<'a> {
    let fmt = if pass_rate { crate::format::percent } else { fmt_num };
    MetricRow {
        name,
        estimate: fmt(r.point_estimate),
        interval: if pass_rate {
            r.interval_text_with(crate::format::percent_floor, crate::format::percent_ceil)
        } else {
            r.interval_text(fmt)
        },
        n: crate::format::count(r.n_samples as u64),
        clusters: crate::format::count(r.n_clusters as u64),
        direction: &r.direction,
        version: r.metric_version,
        description: &r.description,
    }
}

pub fn render_run(results: &Results, provenance: &Provenance, media: &MediaMap) -> Result<String, RenderError> {
    let media = |x: &crate::results::Sample, pick: fn(&SampleMedia) -> Option<&Media>| {
        media.get(&x.key()).and_then(pick).map(Media::src)
    };
    let mut suites = Vec::new();
    let playing = std::cell::Cell::new(0usize);
    for (name, s) in &results.suites {
        let metric_names: Vec<&str> = s.metrics.keys().chain(s.unmeasured.keys()).map(String::as_str).collect();
        let unmeasured = s
            .unmeasured
            .iter()
            .map(|(m, u)| {
                let mut counts = Vec::new();
                if u.not_applicable > 0 {
                    counts
                        .push(format!("not applicable to {} sample(s)", crate::format::count(u.not_applicable as u64)));
                }
                if u.failed > 0 {
                    counts.push(format!("failed on {} sample(s)", crate::format::count(u.failed as u64)));
                }
                UnmeasuredRow {
                    name: m,
                    counts: counts.join(", "),
                    reason: &u.reason,
                    direction: &u.direction,
                    description: &u.description,
                }
            })
            .collect();
        // Each family, then its tags where it has several.
        let capabilities: Vec<MetricRow> = s
            .capabilities
            .iter()
            .flat_map(|(m, r)| {
                std::iter::once((m, r))
                    .chain(s.capability_tags.iter().filter(move |(t, _)| crate::results::capability_family(t) == m))
            })
            .map(|(m, r)| MetricRow { clusters: cases_in_clusters(r), ..metric_row(m, r, true) })
            .collect();
        let bars: Vec<crate::chart::Bar> = s
            .capabilities
            .iter()
            .map(|(m, r)| crate::chart::Bar {
                label: m.clone(),
                value: r.point_estimate,
                interval: r.confidence_interval.as_ref().map(|i| (i.lower_bound, i.upper_bound)),
                cases: r.n_clusters,
            })
            .collect();
        let capability_chart = (!bars.is_empty()).then(|| {
            crate::chart::figure(
                &crate::chart::interval_bars(&format!("Pass rate per capability, suite {name}"), PASS_RATE_AXIS, &bars),
                "Pass rate per capability family with its exact 95% CI (Clopper–Pearson over cases); the numbers are in the table below.",
                None,
            )
        });
        // The cases each metric measured: where a suite groups them into fewer clusters (what the
        // intervals resample), the cases column says both.
        let cases_of = |metric: &str| {
            results
                .samples
                .iter()
                .filter(|x| &x.suite == name && x.metrics.contains_key(metric))
                .map(|x| x.case_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        let metrics = s
            .metrics
            .iter()
            .map(|(m, r)| {
                let mut row = metric_row(m, r, m.starts_with("probe:"));
                let cases = cases_of(m);
                if cases > r.n_clusters {
                    row.clusters = format!(
                        "{} (in {} clusters)",
                        crate::format::count(cases as u64),
                        crate::format::count(r.n_clusters as u64)
                    );
                }
                row
            })
            .collect();
        let samples_rows = results
            .samples
            .iter()
            .filter(|x| &x.suite == name)
            .map(|x| SampleRow {
                case_id: &x.case_id,
                seed_idx: x.seed_idx,
                prompt: &x.prompt,
                status: &x.status,
                error: x.error.as_deref(),
                off_request: x.off_request.as_deref(),
                values: metric_names
                    .iter()
                    .map(|m| match (x.metrics.get(*m), x.metric_errors.get(*m)) {
                        (Some(v), _) => Cell { text: fmt_num(*v), why: None, error: false },
                        (None, Some(why)) => {
                            let error = x.failed_metrics.contains(*m);
                            Cell { text: if error { "error" } else { "n/a" }.into(), why: Some(why.clone()), error }
                        }
                        (None, None) => Cell { text: "—".into(), why: None, error: false },
                    })
                    .collect(),
                errors: {
                    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                    for m in &x.failed_metrics {
                        if let Some(why) = x.metric_errors.get(m) {
                            by_reason.entry(why.as_str()).or_default().push(m.as_str());
                        }
                    }
                    by_reason.into_iter().map(|(why, ms)| format!("{}: {why}", ms.join(", "))).collect()
                },
                failures: x
                    .details
                    .iter()
                    .flat_map(|(probe, d)| {
                        crate::results::failures(d).map(move |(kind, reason)| match kind {
                            "unclassified" => format!("{probe}: {reason}"),
                            _ => format!("{probe}: {kind} — {reason}"),
                        })
                    })
                    .collect(),
                poster: media(x, |m| m.filmstrip.as_ref()),
                clip: media(x, |m| m.clip.as_ref()),
                play: media(x, |m| m.clip.as_ref()).is_some() && {
                    playing.set(playing.get() + 1);
                    playing.get() <= PLAYING_CLIPS
                },
            })
            .collect();
        suites.push(SuiteView {
            name,
            version: s.version,
            content_hash: &s.content_hash,
            cases: crate::format::count(s.n.cases as u64),
            samples: crate::format::count(s.n.samples as u64),
            failed_generations: s.n.failed_generations,
            failed_scores: s.n.failed_scores,
            not_applicable: s.n.not_applicable,
            off_request: results.samples.iter().filter(|x| &x.suite == name && x.off_request.is_some()).count(),
            metrics,
            unmeasured,
            capabilities,
            unmeasured_capabilities: s
                .unmeasured_capabilities
                .iter()
                .map(|(m, u)| UnmeasuredRow {
                    name: m,
                    counts: format!("no check measured on {} sample(s)", crate::format::count(u.not_applicable as u64)),
                    reason: &u.reason,
                    direction: &u.direction,
                    description: &u.description,
                })
                .collect(),
            capability_chart,
            metric_names,
            samples_rows,
        });
    }
    let model = match &results.model {
        serde_json::Value::Object(m) => format!(
            "{} ({}, {})",
            m.get("name").and_then(|v| v.as_str()).unwrap_or("?"),
            m.get("adapter").and_then(|v| v.as_str()).unwrap_or("?"),
            m.get("digest").and_then(|v| v.as_str()).unwrap_or("?")
        ),
        other => other.to_string(),
    };
    let ctx = Context {
        common_css: COMMON_CSS,
        vbench: results.vbench.as_ref().map(vbench_view),
        provenance,
        model,
        plan_hash: &results.plan_hash,
        complete: results.complete,
        missing: &results.missing_units,
        suites,
        throughput: results.throughput.as_ref().map(throughput_rows).unwrap_or_default(),
        playing_clips: PLAYING_CLIPS,
    };
    let mut env = crate::environment();
    env.add_template("run.html", RUN_TEMPLATE).map_err(|e| RenderError(e.to_string()))?;
    env.get_template("run.html").and_then(|t| t.render(&ctx)).map_err(|e| RenderError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::*;

    fn results() -> Results {
        let metric = MetricResult {
            point_estimate: 0.25,
            standard_error: Some(0.01),
            confidence_interval: Some(Interval { confidence_level: 0.95, lower_bound: 0.2, upper_bound: 0.3 }),
            interval_note: None,
            method: "cluster_bootstrap_percentile".into(),
            unit: "case".into(),
            n_clusters: 2,
            n_samples: 4,
            n_cases: None,
            n_boot: 2000,
            rng_seed: 1,
            metric_version: 1,
            direction: "neutral".into(),
            description: "a metric".into(),
        };
        Results {
            schema: RESULTS_SCHEMA.into(),
            plan_hash: "sha256:abc".into(),
            model: serde_json::json!({"name": "m", "adapter": "synthetic", "digest": "sha256:1"}),
            complete: true,
            missing_units: vec![],
            throughput: None,
            vbench: None,
            suites: BTreeMap::from([(
                "smoke".to_string(),
                SuiteResults {
                    version: 1,
                    content_hash: "sha256:s".into(),
                    inputs: Default::default(),
                    n: Counts { cases: 2, samples: 4, ..Default::default() },
                    metrics: BTreeMap::from([("temporal_diff".to_string(), metric)]),
                    capabilities: BTreeMap::new(),
                    capability_tags: BTreeMap::new(),
                    unmeasured_capabilities: BTreeMap::new(),
                    unmeasured: BTreeMap::from([(
                        "vbench_aesthetic_quality".to_string(),
                        crate::results::Unmeasured {
                            not_applicable: 4,
                            failed: 0,
                            reason: "needs the clip-vit-l-14-laion network: no weights <given>".into(),
                            direction: "higher_is_better".into(),
                            description: "LAION aesthetic score".into(),
                        },
                    )]),
                },
            )]),
            samples: vec![Sample {
                suite: "smoke".into(),
                case_id: "c1".into(),
                seed_idx: 0,
                seed: 5,
                cluster: "c1".into(),
                prompt: "a <script>alert(1)</script> ball".into(),
                status: "ok".into(),
                video_sha256: None,
                error: None,
                off_request: None,
                metrics: BTreeMap::from([("temporal_diff".to_string(), 0.25)]),
                metric_errors: BTreeMap::new(),
                failed_metrics: Default::default(),
                details: BTreeMap::new(),
            }],
        }
    }

    #[test]
    fn a_failed_measure_shows_as_an_error_with_its_reason_and_one_that_does_not_apply_as_n_a() {
        let mut r = results();
        let unreadable = Sample {
            case_id: "c2".into(),
            cluster: "c2".into(),
            metrics: BTreeMap::new(),
            metric_errors: BTreeMap::from([
                ("temporal_diff".to_string(), "v/c2.mp4: file is truncated".to_string()),
                ("probe:count".to_string(), "n/a: nothing to count".to_string()),
            ]),
            failed_metrics: ["temporal_diff".to_string()].into(),
            ..r.samples[0].clone()
        };
        let mut no_apply = unreadable.clone();
        no_apply.case_id = "c3".into();
        no_apply.failed_metrics.clear();
        r.samples.extend([unreadable, no_apply]);
        let html = render_run(&r, &Provenance::default(), &MediaMap::new()).unwrap();
        assert!(html.contains(r#"<td class="num err" title="v&#x2f;c2.mp4: file is truncated">error</td>"#), "{html}");
        assert!(html.contains(r#"<td class="num" title="v&#x2f;c2.mp4: file is truncated">n&#x2f;a</td>"#), "{html}");
        assert_eq!(html.matches("temporal_diff: v&#x2f;c2.mp4: file is truncated").count(), 1, "listed for c2 only");
    }

    #[test]
    fn report_shows_estimates_and_escapes_prompts() {
        let html = render_run(&results(), &Provenance::default(), &MediaMap::new()).unwrap();
        assert!(html.contains("temporal_diff"));
        assert!(html.contains("[0.2000, 0.3000]"), "interval missing");
        assert!(!html.contains("<script>alert"), "prompt was not escaped");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("http://") && !html.contains("https://"), "report must be offline");
    }

    /// Cases grouped into fewer clusters: the cases column says both (it showed the clusters
    /// under "cases").
    #[test]
    fn grouped_cases_show_their_clusters() {
        let mut r = results();
        let mut second = r.samples[0].clone();
        second.case_id = "c2".into();
        r.samples.push(second);
        for m in r.suites.values_mut().flat_map(|s| s.metrics.values_mut()) {
            m.n_clusters = 1;
        }
        let html = render_run(&r, &Provenance::default(), &MediaMap::new()).unwrap();
        let row = html.lines().find(|l| l.contains("<code>temporal_diff</code>")).unwrap_or_default();
        assert!(row.contains("2 (in 1 clusters)"), "{row}");
    }

    /// A metric no sample measured has its row, saying so and why (it vanished from the page,
    /// whose only trace was "24 metric value(s) not applicable"), escaped like everything else.
    #[test]
    fn a_metric_measured_on_no_sample_has_a_row_with_its_reason() {
        let html = render_run(&results(), &Provenance::default(), &MediaMap::new()).unwrap();
        let row = html.lines().find(|l| l.contains("<code>vbench_aesthetic_quality</code>")).unwrap_or_default();
        assert!(row.contains("not measurable</strong>: not applicable to 4 sample(s)"), "{row}");
        assert!(row.contains("no weights &lt;given&gt;") && !row.contains("<given>"), "{row}");
        assert!(html.contains("<th>vbench_aesthetic_quality</th>"), "its column in the samples table");
    }

    #[test]
    fn failed_checks_are_listed_with_their_reasons() {
        let mut r = results();
        r.samples[0].details.insert(
            "probe:gravity".into(),
            "pass: falls | FAIL (wrong direction): acceleration -1.0 does not point down".into(),
        );
        r.samples[0].details.insert("probe:bounce".into(), "FAIL: 0 bounce(s), expected ≥ 1".into());
        let html = render_run(&r, &Provenance::default(), &MediaMap::new()).unwrap();
        assert!(html.contains("probe:gravity: wrong direction — acceleration -1.0 does not point down"), "{html}");
        assert!(html.contains("probe:bounce: 0 bounce(s), expected ≥ 1"), "a line without a kind reads as before");
        assert!(!html.contains("probe:gravity: falls"));
    }

    #[test]
    fn partial_results_are_watermarked() {
        let mut r = results();
        r.complete = false;
        r.missing_units = vec!["smoke/c2#0".into()];
        let html = render_run(&r, &Provenance::default(), &MediaMap::new()).unwrap();
        assert!(html.contains("PARTIAL"));
        assert!(html.contains("c2#0"));
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn filmstrips_and_clips_are_inlined() {
        let mut media = MediaMap::new();
        media.insert(
            ("smoke".into(), "c1".into(), 0),
            SampleMedia {
                filmstrip: Some(Media::png(b"\x89PNG".to_vec())),
                clip: Some(Media::Inline { mime: "video/mp4", bytes: b"mp4".to_vec() }),
            },
        );
        let html = render_run(&results(), &Provenance::default(), &media).unwrap();
        // Autoescaping writes "/" as "&#x2f;" inside the attribute; browsers decode it.
        assert!(html.contains("<img class=\"poster\"") && html.contains("png;base64,iVBORw==\""), "{html}");
        assert!(html.contains("<video class=\"clip\"") && html.contains("mp4;base64,bXA0\""), "{html}");
        assert!(html.contains("muted") && html.contains("loop") && html.contains("controls"));
    }

    /// A VBench-size page plays only its first clips in place: a browser makes a media player per
    /// `<video>`, and a page of 600 took two minutes to load (1,200 never did). Later samples link
    /// to their clip.
    #[test]
    fn only_the_first_clips_play_in_place() {
        let mut r = results();
        let template = r.samples[0].clone();
        r.samples = (0..300u32).map(|i| crate::results::Sample { seed_idx: i, ..template.clone() }).collect();
        let media: MediaMap = r
            .samples
            .iter()
            .map(|s| {
                (s.key(), SampleMedia { filmstrip: None, clip: Some(Media::File(format!("m/{}.mp4", s.seed_idx))) })
            })
            .collect();
        let html = render_run(&r, &Provenance::default(), &media).unwrap();
        assert_eq!(html.matches("<video class=\"clip\"").count(), PLAYING_CLIPS);
        assert_eq!(html.matches("class=\"cliplink\"").count(), 300 - PLAYING_CLIPS);
        assert!(!html.contains("preload=\"auto\""));
    }
}
