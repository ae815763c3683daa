//! The comparison report: one offline HTML page for a paired comparison — the decision first,
//! then the gate table with CIs and verdict chips, baseline-vs-candidate scatters per case for
//! the metrics that moved, and a gallery of the biggest paired drops side by side (same seed).

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::html::{RenderError, base64};

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
    pub verdict: String,
}

/// Per-case means of one metric in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct Scatter {
    pub title: String,
    pub points: Vec<(f64, f64)>,
}

/// One sample where the candidate did worst relative to the baseline.
#[derive(Debug, Clone)]
pub struct GalleryItem {
    pub label: String,
    pub prompt: String,
    pub drop: f64,
    pub baseline_png: Option<Vec<u8>>,
    pub candidate_png: Option<Vec<u8>>,
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
    pub margin: f64,
    pub mismatch: Vec<String>,
    pub unpaired: usize,
    pub rows: Vec<GateRow>,
    pub scatters: Vec<Scatter>,
    pub gallery: Vec<GalleryItem>,
}

/// A square SVG scatter of (baseline, candidate) with the y = x diagonal; points below the
/// diagonal are cases where the candidate scored lower.
pub fn scatter_svg(s: &Scatter) -> String {
    let size = 220.0;
    let pad = 28.0;
    let (lo, hi) = s.points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &(a, b)| (lo.min(a).min(b), hi.max(a).max(b)));
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    let map = |v: f64| pad + (v - lo) / (hi - lo) * (size - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\" role=\"img\">\
         <rect x=\"{pad}\" y=\"{pad}\" width=\"{w}\" height=\"{w}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\
         <line x1=\"{pad}\" y1=\"{b}\" x2=\"{b}\" y2=\"{pad}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>",
        w = size - 2.0 * pad,
        b = size - pad
    );
    for &(x, y) in &s.points {
        let color = if y < x {
            "#b00020"
        } else if y > x {
            "#1b7f3b"
        } else {
            "#555"
        };
        svg.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\" fill-opacity=\"0.75\"/>",
            map(x),
            size - map(y)
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">baseline</text>\
         <text x=\"10\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" transform=\"rotate(-90 10 {})\">candidate</text>\
         <text x=\"{pad}\" y=\"{}\" font-size=\"9\">{lo:.3}</text><text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"end\">{hi:.3}</text></svg>",
        size / 2.0,
        size - 6.0,
        size / 2.0,
        size / 2.0,
        size - pad + 12.0,
        size - pad,
        size - pad + 12.0
    ));
    svg
}

#[derive(Serialize)]
struct ScatterOut {
    title: String,
    svg: String,
}

#[derive(Serialize)]
struct ItemOut {
    label: String,
    prompt: String,
    drop: String,
    baseline: Option<String>,
    candidate: Option<String>,
}

#[derive(Serialize)]
struct Ctx<'a> {
    baseline: &'a str,
    candidate: &'a str,
    decision: &'a str,
    headline: &'a str,
    /// A pass that says less than it seems (underpowered rows, nothing gated).
    caveat: bool,
    alpha: f64,
    margin: f64,
    mismatch: &'a [String],
    unpaired: usize,
    rows: &'a [GateRow],
    scatters: Vec<ScatterOut>,
    gallery: Vec<ItemOut>,
}

pub fn render_compare(v: &CompareView) -> Result<String, RenderError> {
    let uri = |png: &Option<Vec<u8>>| png.as_ref().map(|p| format!("data:image/png;base64,{}", base64(p)));
    let ctx = Ctx {
        baseline: &v.baseline,
        candidate: &v.candidate,
        decision: &v.decision,
        headline: &v.headline,
        caveat: v.headline.contains('—'),
        alpha: v.alpha,
        margin: v.margin,
        mismatch: &v.mismatch,
        unpaired: v.unpaired,
        rows: &v.rows,
        scatters: v.scatters.iter().map(|s| ScatterOut { title: s.title.clone(), svg: scatter_svg(s) }).collect(),
        gallery: v
            .gallery
            .iter()
            .map(|g| ItemOut {
                label: g.label.clone(),
                prompt: g.prompt.clone(),
                drop: format!("{:+.3}", -g.drop),
                baseline: uri(&g.baseline_png),
                candidate: uri(&g.candidate_png),
            })
            .collect(),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
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
            margin: 0.0,
            mismatch: vec![],
            unpaired: 0,
            rows: vec![GateRow {
                suite: "s".into(),
                metric: "probe:position".into(),
                baseline: 1.0,
                candidate: 0.0,
                delta: -1.0,
                ci: "[-1.0000, -0.5000]".into(),
                p_adj: 0.01,
                verdict: "regressed".into(),
            }],
            scatters: vec![Scatter { title: "probe:position".into(), points: vec![(1.0, 0.0), (0.5, 0.5)] }],
            gallery: vec![GalleryItem {
                label: "s/c#0".into(),
                prompt: "a <b>red</b> ball".into(),
                drop: 1.0,
                baseline_png: Some(vec![1, 2, 3]),
                candidate_png: None,
            }],
        }
    }

    #[test]
    fn the_page_leads_with_the_decision_and_shows_the_evidence() {
        let html = render_compare(&view("fail")).unwrap();
        assert!(html.contains("FAIL"));
        assert!(html.contains("class=\"chip regressed\""));
        assert!(html.contains("<svg") && html.contains("<circle"));
        assert!(html.contains("AQID"), "baseline poster inlined");
        assert!(html.contains("&lt;b&gt;red"), "prompts are escaped");
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
        let svg = scatter_svg(&Scatter { title: "m".into(), points: vec![(1.0, 0.0), (0.0, 1.0)] });
        assert!(svg.contains("#b00020") && svg.contains("#1b7f3b"));
    }
}
