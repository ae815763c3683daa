//! The agreement page (`videval agreement`): which metrics agree with people, how much raters
//! agree with each other, and how strong each run is by people's judgments. Reads the
//! `agreement` JSON value only.

use std::fmt::Write;

use serde_json::Value;

use crate::chart::{self, esc};
use crate::format::{count, metric, percent, percent_ceil, percent_floor, signed};

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

fn show(v: &Value) -> String {
    num(v).map_or("—".to_string(), metric)
}

fn interval(v: &Value, fmt: fn(f64) -> String) -> Option<String> {
    Some(format!("[{}, {}]", fmt(num(&v[0])?), fmt(num(&v[1])?)))
}

/// A proportion's interval in percent, its bounds rounded outward.
fn percent_interval(v: &Value) -> Option<String> {
    Some(format!("[{}, {}]", percent_floor(num(&v[0])?), percent_ceil(num(&v[1])?)))
}

/// The whole page.
pub fn render(a: &Value) -> Result<String, std::fmt::Error> {
    let mut o = String::new();
    write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>videval — metrics against people</title><style>\
         body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em}}\
         table{{border-collapse:collapse;margin:.6em 0}}th,td{{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}}\
         th{{background:#f6f6f6}}td.num{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}.muted{{color:#666}}{css}</style></head><body>\
         <h1>Do the metrics agree with people?</h1>",
        css = crate::html::COMMON_CSS
    )?;
    o.push_str(&section(a, "h2")?);
    o.push_str("</body></html>\n");
    Ok(o)
}

/// The tables, chart and method notes, with `h` as the heading tag of each part (the compare
/// report embeds them under its own heading).
pub fn section(a: &Value, h: &str) -> Result<String, std::fmt::Error> {
    let mut o = String::new();
    // Gold pairs are counted apart: "188 judgments on 40 pairs" held 28 on 7 gold pairs.
    let (all, gold) = (a["judgments"].as_u64().unwrap_or(0), a["gold_judgments"].as_u64().unwrap_or(0));
    write!(
        o,
        "<p class=\"muted\">{} judgments on {} pairs by {} rater(s){}.</p>",
        count(all.saturating_sub(gold)),
        count(a["pairs"].as_u64().unwrap_or(0)),
        count(a["raters"]["n"].as_u64().unwrap_or(0)),
        if gold > 0 { format!(", and {} on gold pairs", count(gold)) } else { String::new() }
    )?;
    let rows: Vec<&Value> = a["metrics"].as_array().map(|v| v.iter().collect()).unwrap_or_default();
    write!(o, "<{h}>Agreement per metric</{h}>")?;
    if rows.is_empty() {
        write!(o, "<p>No metric could be compared: no judged pair has values from both runs.</p>")?;
    } else {
        let bars: Vec<chart::Bar> = rows
            .iter()
            .filter_map(|m| {
                Some(chart::Bar {
                    label: format!("{}/{}", m["suite"].as_str()?, m["metric"].as_str()?),
                    value: num(&m["agreement"])?,
                    interval: num(&m["ci"][0]).zip(num(&m["ci"][1])),
                    cases: m["cases"].as_u64().unwrap_or(0) as usize,
                })
            })
            .collect();
        if !bars.is_empty() {
            write!(
                o,
                "{}",
                chart::figure(
                    &chart::interval_bars(
                        "Pairwise agreement with people",
                        "pairs where the metric prefers the video people preferred, with its 95% CI",
                        &bars
                    ),
                    "Chance is 50%. The numbers are in the table below.",
                    None
                )
            )?;
        }
        write!(
            o,
            "<div class=\"wide\"><table><tr><th>suite</th><th>metric</th><th>agreement</th><th>95% CI</th><th>with ties</th><th>Kendall τ-b</th><th>pairs</th><th>cases</th><th>interval</th></tr>"
        )?;
        for m in rows {
            write!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"muted\">{}</td></tr>",
                esc(m["suite"].as_str().unwrap_or("")),
                esc(m["metric"].as_str().unwrap_or("")),
                num(&m["agreement"]).map_or("—".into(), percent),
                percent_interval(&m["ci"]).unwrap_or_else(|| "n/a".into()),
                num(&m["agreement_with_ties"]).map_or("—".into(), percent),
                num(&m["kendall_tau_b"]).map_or("—".into(), signed),
                count(m["pairs"].as_u64().unwrap_or(0)),
                count(m["cases"].as_u64().unwrap_or(0)),
                esc(m["ci_method"].as_str().unwrap_or(""))
            )?;
        }
        write!(o, "</table></div>")?;
    }
    write!(
        o,
        "<{h}>Runs by people's judgments (Bradley–Terry)</{h}><table><tr><th>run</th><th>log-strength θ</th><th>95% CI</th><th></th></tr>"
    )?;
    for r in a["runs"].as_array().into_iter().flatten() {
        write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"muted\">{}</td></tr>",
            esc(r["run"].as_str().unwrap_or("")),
            num(&r["strength"]).map_or("—".into(), signed),
            interval(&r["ci"], signed).unwrap_or_else(|| "n/a".into()),
            esc(r["note"].as_str().unwrap_or(""))
        )?;
    }
    write!(
        o,
        "</table><p class=\"muted\">P(a preferred to b) = 1 / (1 + e<sup>θb − θa</sup>); a tie or “both bad” counts half a win each.</p>"
    )?;
    let raters = &a["raters"];
    write!(
        o,
        "<{h}>Raters</{h}><p>Krippendorff's α (nominal, between raters): <strong>{}</strong> {}</p>\
         <table><tr><th>rater</th><th>judgments</th><th>gold pairs</th><th>gold accuracy</th></tr>",
        show(&raters["krippendorff_alpha"]),
        esc(raters["alpha_note"].as_str().map_or(String::new(), |n| format!("({n})")).as_str())
    )?;
    for (name, r) in raters["per_rater"].as_object().into_iter().flatten() {
        write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(name),
            count(r["judgments"].as_u64().unwrap_or(0)),
            count(r["gold_judged"].as_u64().unwrap_or(0)),
            num(&r["gold_accuracy"]).map_or("—".into(), percent)
        )?;
    }
    write!(o, "</table><{h}>Method</{h}>")?;
    for n in a["notes"].as_array().into_iter().flatten() {
        write!(o, "<p>{}</p>", esc(n.as_str().unwrap_or("")))?;
    }
    write!(
        o,
        "<p>The human majority of a pair is the most frequent of: the first run, the second run, no preference (tie or both bad); \
         a shared maximum is a tie. The metric prefers the run with the better value in its direction, with no tie band. \
         A vendor practice keeps a question only when α exceeds 0.70; gold pairs (the world's rendering against a degraded copy) \
         measure each rater's attention.</p>"
    )?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_tables_a_chart_and_escapes() {
        let a = serde_json::json!({
            "judgments": 40, "gold_judgments": 8, "pairs": 20,
            "metrics": [{"suite": "left_right", "metric": "probe:position", "agreement": 1.0, "ci": [0.66, 1.0],
                          "agreement_with_ties": 0.9, "kendall_tau_b": 0.8, "pairs": 18, "cases": 9, "ci_method": "exact"}],
            "runs": [{"run": "<world>", "strength": null, "ci": null, "note": "n/a: never lost"}],
            "raters": {"n": 2, "krippendorff_alpha": 0.75, "alpha_note": null,
                        "per_rater": {"ann": {"judgments": 20, "gold_judged": 2, "gold_accuracy": 1.0}}},
            "notes": ["a note"]
        });
        let html = render(&a).unwrap();
        assert!(html.contains("probe:position") && html.contains("[66%, 100%]") && html.contains("&lt;world&gt;"));
        assert!(html.contains("<svg role=\"img\"") && html.contains("0.7500") && html.contains("a note"));
        assert!(html.contains("32 judgments on 20 pairs by 2 rater(s), and 8 on gold pairs."), "{html}");
    }
}
