//! The comparison report: one offline HTML page for a paired comparison — the decision first,
//! then the gate table with CIs and verdict chips, baseline-vs-candidate scatters per case for
//! the metrics that moved, and a gallery of the biggest paired drops side by side (same seed).

use serde::Serialize;

use crate::html::{COMMON_CSS, Media, RenderError};
use crate::{chart, format};

const TEMPLATE: &str = include_str!("../templates/compare.html");

#[derive(Debug, Clone, Serialize)]
pub struct GateRow {
    pub suite: String,
    pub metric: String,
    pub baseline: f64,
    pub candidate: f64,
    pub delta: f64,
    /// `[+0.0100, +0.0300]`, or why there is no interval ("n/a (3 cases; …)").
    pub ci: String,
    pub p_adj: f64,
    /// A gated row's margin and minimum detectable effect (80% power), `None` for a reported
    /// row (and the MDE where no change of any size would be significant).
    pub margin: Option<f64>,
    pub mde: Option<f64>,
    pub verdict: String,
    /// Why an undecided row is undecided, and the cases it needs.
    pub why: Option<String>,
}

/// Per-case means of one metric in both runs: (case, baseline, candidate).
#[derive(Debug, Clone, Serialize)]
pub struct Scatter {
    pub title: String,
    pub points: Vec<(String, f64, f64)>,
    /// The metric's direction: `higher_is_better`, `lower_is_better` or `neutral`.
    pub direction: String,
}

/// One sample where the candidate did worst relative to the baseline.
#[derive(Debug, Clone)]
pub struct GalleryItem {
    pub label: String,
    pub prompt: String,
    /// What got worse in this sample, each `metric baseline → candidate`, worst first.
    pub changes: Vec<String>,
    /// Filmstrips (what prints).
    pub baseline_strip: Option<Media>,
    pub candidate_strip: Option<Media>,
    /// Both videos side by side in one clip (baseline left), so they cannot drift apart.
    pub pair: Option<Media>,
}

#[derive(Debug, Clone)]
pub struct CompareView {
    pub baseline: String,
    pub candidate: String,
    /// `pass`, `fail` or `inconclusive`.
    pub decision: String,
    /// The decision line as said everywhere: "PASS — underpowered: 3 of 3 gated rows …".
    pub headline: String,
    pub alpha: f64,
    /// The gate's kind in words (regression or non-inferiority, and what fails it).
    pub mode: String,
    pub margin: f64,
    /// When a policy's per-metric margins judge some rows: the default margin, for the text.
    pub row_margins: Option<f64>,
    pub mismatch: Vec<String>,
    pub unpaired: usize,
    /// Gated measurements the candidate errored on, each `suite/metric: N sample(s) (first: …)`.
    pub lost: Vec<String>,
    /// Gated measurements the candidate's run could not make (no weights for its network, or
    /// not measured): neither a pass nor a failure; the decision is inconclusive.
    pub unmeasured: Vec<String>,
    /// Metrics of the suites both runs have that a run measured on no sample, with why: not
    /// compared, and not in the gate's decision.
    pub not_compared: Vec<String>,
    /// The motion guard's findings: suites whose candidate videos move far less than the
    /// baseline's, each `(nearly frozen: the gate fails, reason)`.
    pub stilled: Vec<(bool, String)>,
    pub rows: Vec<GateRow>,
    pub scatters: Vec<Scatter>,
    pub gallery: Vec<GalleryItem>,
    /// `videval agreement`'s result for these two runs, when judgments were given.
    pub agreement: Option<serde_json::Value>,
}

/// A scatter of (baseline, candidate) per case with the y = x line, and its numbers.
pub fn scatter_figure(s: &Scatter) -> String {
    let xy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.1, p.2)).collect();
    // Δ as the gate table orients it (better +), so the two never disagree in sign.
    let (better, sign, delta) = match s.direction.as_str() {
        "lower_is_better" => (chart::Better::Lower, -1.0, "Δ (better +)"),
        "higher_is_better" => (chart::Better::Higher, 1.0, "Δ (better +)"),
        _ => (chart::Better::Neither, 1.0, "Δ (candidate − baseline)"),
    };
    let numbers = chart::Table {
        head: ["case", "baseline", "candidate", delta].map(String::from).to_vec(),
        rows: s
            .points
            .iter()
            .map(|(case, a, b)| {
                vec![case.clone(), format::metric(*a), format::metric(*b), format::signed(sign * (b - a))]
            })
            .collect(),
    };
    chart::figure(
        &chart::scatter(&format!("{}: baseline against candidate per case", s.title), &s.title, &xy, better),
        &s.title,
        Some(&numbers),
    )
}

#[derive(Serialize)]
struct RowOut<'a> {
    suite: &'a str,
    metric: &'a str,
    baseline: String,
    candidate: String,
    delta: String,
    ci: &'a str,
    margin: String,
    mde: String,
    p_adj: String,
    verdict: &'a str,
    why: Option<&'a str>,
}

#[derive(Serialize)]
struct ItemOut {
    label: String,
    prompt: String,
    changes: String,
    baseline: Option<String>,
    candidate: Option<String>,
    pair: Option<String>,
}

#[derive(Serialize)]
struct Ctx<'a> {
    common_css: &'static str,
    baseline: &'a str,
    candidate: &'a str,
    decision: &'a str,
    headline: &'a str,
    /// A pass that says less than it seems (underpowered rows, nothing gated).
    caveat: bool,
    mode: &'a str,
    alpha: f64,
    margin_text: String,
    mismatch: &'a [String],
    unpaired: usize,
    unpaired_text: String,
    lost: &'a [String],
    unmeasured: &'a [String],
    not_compared: &'a [String],
    frozen: Vec<&'a str>,
    calmer: Vec<&'a str>,
    rows: Vec<RowOut<'a>>,
    scatters: Vec<String>,
    gallery: Vec<ItemOut>,
    agreement: Option<String>,
}

pub fn render_compare(v: &CompareView) -> Result<String, RenderError> {
    let src = |m: &Option<Media>| m.as_ref().map(Media::src);
    let ctx = Ctx {
        common_css: COMMON_CSS,
        baseline: &v.baseline,
        candidate: &v.candidate,
        decision: &v.decision,
        headline: &v.headline,
        caveat: v.headline.contains('—'),
        mode: &v.mode,
        alpha: v.alpha,
        // The rows are judged by a policy's per-metric margins where it gives them.
        margin_text: match &v.row_margins {
            Some(default) => format!("margins per metric from the policy (else {default})"),
            None => format!("margin = {}", v.margin),
        },
        mismatch: &v.mismatch,
        unpaired: v.unpaired,
        unpaired_text: format::count(v.unpaired as u64),
        lost: &v.lost,
        unmeasured: &v.unmeasured,
        not_compared: &v.not_compared,
        frozen: v.stilled.iter().filter(|s| s.0).map(|s| s.1.as_str()).collect(),
        calmer: v.stilled.iter().filter(|s| !s.0).map(|s| s.1.as_str()).collect(),
        rows: v
            .rows
            .iter()
            .map(|r| RowOut {
                suite: &r.suite,
                metric: &r.metric,
                baseline: format::metric(r.baseline),
                candidate: format::metric(r.candidate),
                delta: format::signed(r.delta),
                ci: &r.ci,
                margin: r.margin.map_or("—".into(), format::metric),
                mde: r.mde.map_or("—".into(), format::metric),
                // Reported rows are not among the tests adjusted for: their p is as measured.
                p_adj: if r.verdict == "reported" {
                    format!("{} (unadjusted)", format::metric(r.p_adj))
                } else {
                    format::metric(r.p_adj)
                },
                verdict: &r.verdict,
                why: r.why.as_deref(),
            })
            .collect(),
        scatters: v.scatters.iter().map(scatter_figure).collect(),
        agreement: match &v.agreement {
            Some(a) => Some(crate::agreement::section(a, "h3").map_err(|e| RenderError(e.to_string()))?),
            None => None,
        },
        gallery: v
            .gallery
            .iter()
            .map(|g| ItemOut {
                label: g.label.clone(),
                prompt: g.prompt.clone(),
                changes: g.changes.join("; "),
                baseline: src(&g.baseline_strip),
                candidate: src(&g.candidate_strip),
                pair: src(&g.pair),
            })
            .collect(),
    };
    let mut env = crate::environment();
    env.add_template("compare.html", TEMPLATE).map_err(|e| RenderError(e.to_string()))?;
    env.get_template("compare.html").and_then(|t| t.render(&ctx)).map_err(|e| RenderError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(decision: &str) -> CompareView {
        CompareView {
            baseline: "runs/a".into(),
            candidate: "runs/b".into(),
            decision: decision.into(),
            headline: decision.to_uppercase(),
            alpha: 0.05,
            mode: "non-inferiority gate".into(),
            margin: 0.0,
            row_margins: None,
            mismatch: vec![],
            unpaired: 0,
            lost: vec![],
            unmeasured: vec!["s/probe:gravity: 2 sample(s) (first: needs CLIP weights)".into()],
            not_compared: vec!["s/vbench_aesthetic_quality: measured in neither run (needs <weights>)".into()],
            stilled: vec![(true, "s: 4 of 4 moving samples nearly frozen".into())],
            rows: vec![GateRow {
                suite: "s".into(),
                metric: "probe:position".into(),
                baseline: 1.0,
                candidate: 0.0,
                delta: -1.0,
                ci: "[-1.0000, -0.5000]".into(),
                p_adj: 0.01,
                margin: Some(0.05),
                mde: Some(0.125),
                verdict: "regressed".into(),
                why: None,
            }],
            scatters: vec![Scatter {
                title: "probe:position".into(),
                points: vec![("c1".into(), 1.0, 0.0), ("c2".into(), 0.5, 0.5)],
                direction: "higher_is_better".into(),
            }],
            gallery: vec![GalleryItem {
                label: "s/c#0".into(),
                prompt: "a <b>red</b> ball".into(),
                changes: vec!["probe:position 1 → 0".into()],
                baseline_strip: Some(Media::png(vec![1, 2, 3])),
                candidate_strip: None,
                pair: Some(Media::Inline { mime: "video/mp4", bytes: vec![4, 5, 6] }),
            }],
            agreement: None,
        }
    }

    #[test]
    fn the_page_leads_with_the_decision_and_shows_the_evidence() {
        let html = render_compare(&view("fail")).unwrap();
        assert!(html.contains("FAIL"));
        assert!(html.contains("· non-inferiority gate ·"), "the gate's kind is in the header");
        assert!(html.contains("class=\"chip regressed\""));
        assert!(html.contains("<th>Margin</th><th>MDE</th>") && html.contains(">0.1250<"), "the gate's margin and MDE");
        assert!(html.contains("<svg") && html.contains("<circle"));
        assert!(html.contains("AQID"), "baseline filmstrip inlined");
        assert!(html.contains("<video class=\"pair\"") && html.contains("BAUG"), "the pair plays");
        assert!(html.contains("baseline probe:position") && html.contains("<td>c1</td>"), "axis titles and numbers");
        assert!(html.contains("&lt;b&gt;red"), "prompts are escaped");
        assert!(html.contains("Not measurable in the candidate's run") && html.contains("needs CLIP weights"));
        // The motion guard's evidence is on the page (only the banner said FAIL, over green rows).
        assert!(html.contains("nearly frozen beside the baseline's") && html.contains("4 of 4 moving samples"));
        assert!(
            html.contains("<strong>Not compared</strong>")
                && html.contains("measured in neither run (needs &lt;weights&gt;)")
        );
        // Offline: the only URL is the SVG namespace identifier, which is never fetched.
        assert_eq!(html.matches("http").count(), html.matches("http://www.w3.org/2000/svg").count());
    }

    #[test]
    fn an_underpowered_pass_says_so_in_the_banner() {
        let mut v = view("pass");
        v.headline =
            "PASS — underpowered: 1 of 1 gated rows cannot detect a regression of the margin; ~240 cases needed".into();
        v.rows[0].ci = "n/a (3 cases; an interval needs 5)".into();
        v.rows[0].verdict = "underpowered".into();
        let html = render_compare(&v).unwrap();
        assert!(html.contains("class=\"banner pass caveat\""), "not the plain green banner");
        assert!(html.contains("Gate: PASS — underpowered: 1 of 1 gated rows"));
        assert!(html.contains("n&#x2f;a (3 cases; an interval needs 5)"), "escaped as HTML");
    }

    #[test]
    fn scatter_marks_drops_in_red() {
        let svg = scatter_figure(&Scatter {
            title: "m".into(),
            points: vec![("a".into(), 1.0, 0.0), ("b".into(), 0.0, 1.0)],
            direction: "higher_is_better".into(),
        });
        assert!(svg.contains("#B00020") && svg.contains("#1B7F3B"), "{svg}");
        // Lower is better: a rise is a loss, and the table's Δ says so with the gate's sign.
        let svg = scatter_figure(&Scatter {
            title: "warping".into(),
            points: vec![("a".into(), 0.1, 0.3)],
            direction: "lower_is_better".into(),
        });
        assert!(
            svg.contains("Δ (better +)") && svg.contains("-0.2") && svg.contains("candidate worse (higher)"),
            "{svg}"
        );
    }
}
