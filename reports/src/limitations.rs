//! The limitations report (`videval report --limitations`): what a model can and cannot do, in
//! the manner of a published model card — pass rates per capability with CIs, a failure
//! taxonomy (which probe fails, and how, by reason), and failure examples with their prompts and
//! frames.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::html::{Media, MediaMap, RenderError};
use crate::results::Results;
use crate::{chart, format};

const TEMPLATE: &str = include_str!("../templates/limitations.html");

#[derive(Serialize)]
struct Capability {
    suite: String,
    name: String,
    rate: String,
    interval: String,
    cases: String,
    /// Why nothing was measured, for a capability whose checks were all not measurable.
    unmeasured: Option<String>,
    /// A tag under its family's row.
    tag: bool,
}

#[derive(Serialize)]
struct Failure {
    probe: String,
    kind: String,
    count: usize,
    /// One reason of this kind, word for word.
    example: String,
}

#[derive(Serialize)]
struct Example {
    label: String,
    prompt: String,
    reasons: Vec<String>,
    poster: Option<String>,
    clip: Option<String>,
}

#[derive(Serialize)]
struct Ctx {
    common_css: &'static str,
    model: String,
    capabilities: Vec<Capability>,
    /// The pass rates as a bar chart with whiskers.
    chart: Option<String>,
    taxonomy: Vec<Failure>,
    examples: Vec<Example>,
    model_digest: String,
    plan_hash: String,
    /// Each suite with its version and content hash.
    suites: Vec<String>,
    provenance: crate::html::Provenance,
    /// Failing cases in all, when more than the examples shown.
    failing_total: Option<usize>,
    /// Per suite, the probe checks that could not be measured (n/a): they count toward no
    /// capability's rate, which therefore rests on fewer cases than the suite tags (said, so that
    /// a published rate does not claim more coverage than it has).
    not_measured: Vec<String>,
    complete: bool,
}

/// The samples shown as failure examples: each case's first seed that failed to generate or
/// failed a check, in results order, at most `max` (what the page needs pictures of).
pub fn example_keys(results: &Results, max: usize) -> Vec<crate::results::SampleKey> {
    failing_cases(results).into_iter().take(max).collect()
}

/// Each failing case's first failing sample (by seed), in results order: a case whose seed 0
/// passed and seed 1 failed had no example, while the taxonomy counted its failure.
fn failing_cases(results: &Results) -> Vec<crate::results::SampleKey> {
    let mut seen = std::collections::BTreeSet::new();
    let mut failing: Vec<&crate::results::Sample> = results
        .samples
        .iter()
        .filter(|s| {
            s.status != "ok"
                || s.details.values().any(|d| crate::results::failures(d).next().is_some())
                || s.failed_metrics.iter().any(|m| m.starts_with("probe:"))
        })
        .collect();
    failing.sort_by_key(|s| s.seed_idx);
    let first: std::collections::BTreeSet<crate::results::SampleKey> =
        failing.into_iter().filter(|s| seen.insert((s.suite.clone(), s.case_id.clone()))).map(|s| s.key()).collect();
    results.samples.iter().map(crate::results::Sample::key).filter(|k| first.contains(k)).collect()
}

pub fn render_limitations(
    results: &Results,
    provenance: &crate::html::Provenance,
    media: &MediaMap,
    max_examples: usize,
) -> Result<String, RenderError> {
    let mut capabilities = Vec::new();
    let mut bars = Vec::new();
    let several = results.suites.values().filter(|s| !s.capabilities.is_empty()).count() > 1;
    let family_of = crate::results::capability_family;
    for (suite, s) in &results.suites {
        // A row: its pass rate, or not measurable with why.
        let row = |name: &str, tag: bool| -> Option<Capability> {
            let rates = if tag { &s.capability_tags } else { &s.capabilities };
            if let Some(r) = rates.get(name) {
                return Some(Capability {
                    suite: suite.clone(),
                    name: name.to_string(),
                    rate: format::percent(r.point_estimate),
                    interval: r.interval_text_with(format::percent_floor, format::percent_ceil),
                    cases: crate::html::cases_in_clusters(r),
                    unmeasured: None,
                    tag,
                });
            }
            // A capability none of whose checks could be measured is said, neither passed nor
            // failed.
            s.unmeasured_capabilities.get(name).map(|u| Capability {
                suite: suite.clone(),
                name: name.to_string(),
                rate: "not measurable".into(),
                interval: "—".into(),
                cases: format!("{} sample(s)", format::count(u.not_applicable as u64)),
                unmeasured: Some(u.reason.clone()),
                tag,
            })
        };
        let names = s.capabilities.keys().chain(s.unmeasured_capabilities.keys()).chain(s.capability_tags.keys());
        let families: std::collections::BTreeSet<&str> = names.map(|n| family_of(n)).collect();
        for name in &families {
            capabilities.extend(row(name, false));
            // Its tags, where it has several: the family's rate alone hid which of them failed.
            let tags: std::collections::BTreeSet<&String> = s
                .capability_tags
                .keys()
                .chain(s.unmeasured_capabilities.keys().filter(|t| t.contains('.')))
                .filter(|t| family_of(t) == *name)
                .collect();
            capabilities.extend(tags.into_iter().filter_map(|t| row(t, true)));
            if let Some(r) = s.capabilities.get(*name) {
                bars.push(chart::Bar {
                    label: if several { format!("{suite}/{name}") } else { name.to_string() },
                    value: r.point_estimate,
                    interval: r.confidence_interval.as_ref().map(|i| (i.lower_bound, i.upper_bound)),
                    cases: r.n_clusters,
                });
            }
        }
    }
    let mut not_measured = Vec::new();
    let suites: std::collections::BTreeSet<&String> = results.samples.iter().map(|s| &s.suite).collect();
    for suite in suites {
        let mut first: Option<String> = None;
        let (mut checks, mut samples) = (0usize, 0usize);
        for s in results.samples.iter().filter(|s| &s.suite == suite) {
            let mut here = 0;
            for (probe, detail) in &s.details {
                for reason in crate::results::not_measured(detail) {
                    here += 1;
                    first.get_or_insert_with(|| format!("{probe} on {}#{}: {reason}", s.case_id, s.seed_idx));
                }
            }
            checks += here;
            samples += usize::from(here > 0);
        }
        if let Some(first) = first {
            not_measured.push(format!(
                "{suite}: {checks} check(s) on {samples} sample(s) could not be measured; they count toward no pass rate, neither passed nor failed (first: {first})"
            ));
        }
    }
    let chart = (!bars.is_empty()).then(|| {
        chart::figure(
            &chart::interval_bars("Pass rate by capability", crate::html::PASS_RATE_AXIS, &bars),
            "Pass rate per capability with its exact 95% CI; the numbers are in the table below.",
            None,
        )
    });
    // (probe, kind) → (samples, the first reason of that kind); a sample counts once per kind,
    // however many of its checks fail that way.
    let mut taxonomy: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
    let mut examples = Vec::new();
    let failing = failing_cases(results);
    let failing_total = failing.len();
    let shown: Vec<_> = failing.into_iter().take(max_examples).collect();
    for s in &results.samples {
        let mut reasons = Vec::new();
        if s.status != "ok" {
            let kind = "generation failed".to_string();
            let error = s.error.clone().unwrap_or_default();
            taxonomy.entry(("generation".into(), kind)).or_insert((0, error)).0 += 1;
            reasons.push(format!("generation: {}", s.error.clone().unwrap_or_default()));
        }
        let mut kinds = std::collections::BTreeSet::new();
        for (probe, detail) in &s.details {
            let probe = probe.trim_start_matches("probe:");
            for (kind, reason) in crate::results::failures(detail) {
                let entry = taxonomy.entry((probe.to_string(), kind.to_string())).or_insert((0, reason.to_string()));
                if kinds.insert((probe.to_string(), kind.to_string())) {
                    entry.0 += 1;
                }
                reasons.push(format!("{probe}: {kind} — {reason}"));
            }
        }
        // A probe whose measurement failed (the video could not be read) is a failed check too.
        for (name, reason) in s.metric_errors.iter().filter(|(n, _)| s.failed_metrics.contains(*n)) {
            let Some(probe) = name.strip_prefix("probe:") else { continue };
            taxonomy.entry((probe.to_string(), "not measured".into())).or_insert((0, reason.clone())).0 += 1;
            reasons.push(format!("{probe}: not measured — {reason}"));
        }
        if shown.contains(&s.key()) {
            examples.push(Example {
                // With its seed: the run page shows seed 0 first, which may have passed.
                label: format!("{}/{} seed {}", s.suite, s.case_id, s.seed_idx),
                prompt: s.prompt.clone(),
                reasons,
                poster: media.get(&s.key()).and_then(|m| m.filmstrip.as_ref()).map(Media::src),
                clip: media.get(&s.key()).and_then(|m| m.clip.as_ref()).map(Media::src),
            });
        }
    }
    let mut taxonomy: Vec<Failure> =
        taxonomy.into_iter().map(|((probe, kind), (count, example))| Failure { probe, kind, count, example }).collect();
    taxonomy
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.probe.cmp(&b.probe)).then_with(|| a.kind.cmp(&b.kind)));
    let model = match &results.model {
        serde_json::Value::Object(m) => m.get("name").and_then(|v| v.as_str()).unwrap_or("?").to_string(),
        other => other.to_string(),
    };
    // What a published page must say of where its numbers come from.
    let model_digest = results.model.get("digest").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let suites: Vec<String> =
        results.suites.iter().map(|(name, s)| format!("{name} v{} ({})", s.version, s.content_hash)).collect();
    let ctx = Ctx {
        common_css: crate::html::COMMON_CSS,
        model,
        capabilities,
        chart,
        model_digest,
        plan_hash: results.plan_hash.clone(),
        suites,
        provenance: provenance.clone(),
        failing_total: (failing_total > examples.len()).then_some(failing_total),
        not_measured,
        taxonomy,
        examples,
        complete: results.complete,
    };
    let mut env = crate::environment();
    env.add_template("limitations.html", TEMPLATE).map_err(|e| RenderError(e.to_string()))?;
    env.get_template("limitations.html").and_then(|t| t.render(&ctx)).map_err(|e| RenderError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_taxonomy_groups_on_the_probes_kinds_and_keeps_reasons_whole() {
        use crate::results::{Results, Sample};
        let sample = |case: &str, detail: &str| Sample {
            suite: "s".into(),
            case_id: case.into(),
            seed_idx: 0,
            seed: 1,
            cluster: case.into(),
            prompt: "p".into(),
            status: "ok".into(),
            video_sha256: None,
            error: None,
            off_request: None,
            metrics: Default::default(),
            metric_errors: Default::default(),
            failed_metrics: Default::default(),
            details: [("probe:motion".to_string(), detail.to_string())].into(),
        };
        let results = Results {
            schema: crate::results::RESULTS_SCHEMA.into(),
            plan_hash: "h".into(),
            model: serde_json::json!({"name": "m"}),
            complete: true,
            missing_units: vec![],
            suites: Default::default(),
            samples: vec![
                sample("a", "FAIL (wrong direction): moves -0.078 h left (dx +0.078, dy -0.043)"),
                sample("b", "FAIL (wrong direction): moves -0.191 h right (dx -0.191, dy -0.048)"),
                sample(
                    "c",
                    "FAIL (object not found): no green ball found in the video | n/a: a white ball is not tracked",
                ),
                sample("d", "FAIL (wrong direction): moves left | FAIL (wrong direction): moves up"),
                Sample {
                    metric_errors: [("probe:motion".to_string(), "d.mkv: file is truncated".to_string())].into(),
                    failed_metrics: ["probe:motion".to_string()].into(),
                    details: Default::default(),
                    ..sample("e", "")
                },
            ],
            throughput: None,
            vbench: None,
        };
        let html = render_limitations(&results, &Default::default(), &Default::default(), 5).unwrap();
        // No capability tags: said so, not an empty table.
        assert!(
            html.contains("No case of the run's suites is tagged with a capability")
                && !html.contains("<th>Capability</th>")
        );
        // Two kinds, counted exactly; reasons appear whole (parentheses, signs and all).
        // A sample failing two checks one way counts once; one not measured is said so.
        assert!(html.contains("<td>wrong direction</td><td class=\"num\">3</td>"), "{html}");
        assert!(html.contains("<td>not measured</td><td class=\"num\">1</td>"), "{html}");
        assert!(html.contains("file is truncated"), "{html}");
        assert!(html.contains("<td>object not found</td><td class=\"num\">1</td>"), "{html}");
        assert!(html.contains("moves -0.078 h left (dx +0.078, dy -0.043)"), "{html}");
        assert!(!html.contains("moves # h"), "no number is replaced");
        // A check that could not be measured is counted and said, not silently left out.
        assert!(
            html.contains("s: 1 check(s) on 1 sample(s) could not be measured")
                && html.contains("probe:motion on c#0: a white ball is not tracked"),
            "{html}"
        );
        // Five failing cases, three shown: said; and a case whose seed 0 passed shows its
        // failing seed 1 (it had no example).
        let html = render_limitations(&results, &Default::default(), &Default::default(), 3).unwrap();
        assert!(html.contains("The first 3 of 5 failing cases"), "{html}");
        let pass = |case: &str, seed_idx: u32| Sample { seed_idx, ..sample(case, "pass: moves right") };
        let fail =
            |case: &str, seed_idx: u32| Sample { seed_idx, ..sample(case, "FAIL (wrong direction): moves left") };
        let results = Results { samples: vec![pass("x", 0), fail("x", 1), fail("y", 0), fail("y", 1)], ..results };
        assert_eq!(
            example_keys(&results, 5),
            vec![("s".to_string(), "x".to_string(), 1), ("s".to_string(), "y".to_string(), 0)]
        );
    }
}
