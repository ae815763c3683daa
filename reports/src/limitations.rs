//! The limitations report (`videval report --limitations`): what a model can and cannot do, in
//! the manner of a published model card — pass rates per capability with CIs, a failure
//! taxonomy (which probe fails, and how, by reason), and failure examples with their prompts and
//! frames.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::html::{Posters, RenderError};
use crate::results::Results;

const TEMPLATE: &str = include_str!("../templates/limitations.html");

#[derive(Serialize)]
struct Capability {
    suite: String,
    name: String,
    rate: String,
    interval: String,
    cases: usize,
    width: u32,
}

#[derive(Serialize)]
struct Failure {
    probe: String,
    kind: String,
    count: usize,
}

#[derive(Serialize)]
struct Example {
    label: String,
    prompt: String,
    reasons: Vec<String>,
    poster: Option<String>,
}

#[derive(Serialize)]
struct Ctx {
    model: String,
    capabilities: Vec<Capability>,
    taxonomy: Vec<Failure>,
    examples: Vec<Example>,
    complete: bool,
}

/// The kind of a failure: its reason with numbers and names of values removed
/// ("acceleration -0.00 h/s² does not point down" → "acceleration # h/s² does not point down").
pub fn failure_kind(reason: &str) -> String {
    reason
        .split_whitespace()
        .map(|w| if w.chars().any(|c| c.is_ascii_digit()) { "#" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn render_limitations(results: &Results, posters: &Posters, max_examples: usize) -> Result<String, RenderError> {
    let mut capabilities = Vec::new();
    for (suite, s) in &results.suites {
        for (name, r) in &s.capabilities {
            capabilities.push(Capability {
                suite: suite.clone(),
                name: name.clone(),
                rate: format!("{:.0}%", 100.0 * r.point_estimate),
                interval: r.interval_text(|x| format!("{:.0}%", 100.0 * x)),
                cases: r.n_clusters,
                width: (100.0 * r.point_estimate).round().clamp(0.0, 100.0) as u32,
            });
        }
    }
    let mut taxonomy: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut examples = Vec::new();
    for s in &results.samples {
        let mut reasons = Vec::new();
        if s.status != "ok" {
            let kind = "generation failed".to_string();
            *taxonomy.entry(("generation".into(), kind)).or_default() += 1;
            reasons.push(format!("generation: {}", s.error.clone().unwrap_or_default()));
        }
        for (probe, detail) in &s.details {
            for check in detail.split(" | ").filter_map(|c| c.strip_prefix("FAIL: ")) {
                *taxonomy.entry((probe.trim_start_matches("probe:").to_string(), failure_kind(check))).or_default() +=
                    1;
                reasons.push(format!("{}: {check}", probe.trim_start_matches("probe:")));
            }
        }
        if !reasons.is_empty() && s.seed_idx == 0 && examples.len() < max_examples {
            examples.push(Example {
                label: format!("{}/{}", s.suite, s.case_id),
                prompt: s.prompt.clone(),
                reasons,
                poster: posters
                    .get(&(s.suite.clone(), s.case_id.clone()))
                    .and_then(|m| m.preview.as_ref().or(m.poster.as_ref()))
                    .map(crate::html::Media::src),
            });
        }
    }
    let mut taxonomy: Vec<Failure> =
        taxonomy.into_iter().map(|((probe, kind), count)| Failure { probe, kind, count }).collect();
    taxonomy
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.probe.cmp(&b.probe)).then_with(|| a.kind.cmp(&b.kind)));
    let model = match &results.model {
        serde_json::Value::Object(m) => m.get("name").and_then(|v| v.as_str()).unwrap_or("?").to_string(),
        other => other.to_string(),
    };
    let ctx = Ctx { model, capabilities, taxonomy, examples, complete: results.complete };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("limitations.html", TEMPLATE).map_err(|e| RenderError(e.to_string()))?;
    env.get_template("limitations.html").and_then(|t| t.render(&ctx)).map_err(|e| RenderError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_kinds_drop_the_numbers() {
        assert_eq!(
            failure_kind("acceleration -0.00 h/s² does not point down"),
            "acceleration # h/s² does not point down"
        );
        assert_eq!(failure_kind("1 bounce(s), expected ≥ 2"), "# bounce(s), expected ≥ #");
    }
}
