//! The scaling report (`scaling.html`): per target a log–log plot of the fitted quantity against
//! training compute with the fitted law and its 95% bootstrap band, the parameter table with
//! intervals, the held-out point, residuals, notes and any off-trend flags. Reads the
//! `scaling.json` value only.

use std::fmt::Write;

use serde_json::Value;

use crate::chart::{self, esc};
use crate::format::{count, metric, rate, si};

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The log–log plot of one fit: checkpoints, the fitted law, its band, the held-out point.
fn plot(fit: &Value) -> String {
    let target = fit["target"].as_str().unwrap_or("");
    let holdout = &fit["fit"]["holdout"];
    let held = holdout["checkpoint"].as_str();
    let prediction = holdout["predicted"].as_f64().map(|p| {
        let band = holdout["band"].as_array().filter(|b| b.len() == 2).map(|b| [num(&b[0]), num(&b[1])]);
        (p, band)
    });
    let points: Vec<chart::ScalingPoint> = fit["points"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let label = p["checkpoint"].as_str().unwrap_or("?").to_string();
            let held_out = held == Some(label.as_str());
            chart::ScalingPoint {
                held_out,
                prediction: if held_out { prediction } else { None },
                label,
                compute: num(&p["flops"]),
                y: num(&p["y"]),
            }
        })
        .collect();
    let curve: Vec<[f64; 4]> = fit["fit"]["curve"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| [num(&r[0]), num(&r[1]), num(&r[2]), num(&r[3])])
        .collect();
    let y_title = match fit["transform"].as_str() {
        Some("value") | None => target.to_string(),
        Some(t) => format!("{target} ({t})"),
    };
    // With 4 distinct compute values the band is a range of fits through 3 of them, with 3 it
    // is the fit itself: not 95% bands (the legend said so whatever the points).
    let mut cs: Vec<f64> = points.iter().map(|p| p.compute).collect();
    cs.sort_by(f64::total_cmp);
    cs.dedup();
    let no_fit = curve.is_empty();
    let (band, caption) = match cs.len() {
        _ if no_fit => (
            "no fit",
            "Both axes logarithmic. No law is fitted to these points (the notes below say why); the numbers are in the table below.",
        ),
        0..=3 => (
            "no band (3 compute values)",
            "Both axes logarithmic. With 3 distinct compute values the law passes through them: there is no band; the numbers are in the table below.",
        ),
        4 => (
            "range of fits (4 points)",
            "Both axes logarithmic. The band is the range of refits to resamples of the 4 points, most through 3 of them: a range of plausible fits, not a 95% band; the numbers are in the table below.",
        ),
        _ => (
            "95% bootstrap band",
            "Both axes logarithmic. The band is the 2.5–97.5% range of bootstrap refits, clipped to the axes; the numbers are in the table below.",
        ),
    };
    chart::figure(
        &chart::scaling(&format!("{target} against training compute"), &y_title, &points, &curve, band),
        caption,
        None,
    )
}

pub fn render(scaling: &Value) -> Result<String, std::fmt::Error> {
    let mut o = String::new();
    let name = esc(scaling["name"].as_str().unwrap_or("sweep"));
    write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>videval scaling — {name}</title><style>\
         body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em}}\
         table{{border-collapse:collapse;margin:.6em 0}}th,td{{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}}\
         th{{background:#f6f6f6}}td.num{{text-align:right;font-variant-numeric:tabular-nums}}.flag{{color:#b00020;font-weight:bold}}\
         .muted{{color:#666}}{css}</style></head><body><h1>Scaling sweep {name}</h1>",
        css = crate::html::COMMON_CSS
    )?;
    let trend = scaling["trend"].as_array().cloned().unwrap_or_default();
    if !trend.is_empty() {
        write!(o, "<h2 class=\"flag\">Off trend</h2><ul>")?;
        for t in &trend {
            write!(o, "<li class=\"flag\">{}</li>", esc(t.as_str().unwrap_or("")))?;
        }
        write!(o, "</ul>")?;
    }
    for (key, title) in
        [("failed", "Failed checkpoints (left out of the fits)"), ("not_compared", "Not compared with last night")]
    {
        let items = scaling[key].as_array().cloned().unwrap_or_default();
        if !items.is_empty() {
            let class = if key == "failed" { " class=\"flag\"" } else { "" };
            write!(o, "<h2{class}>{title}</h2><ul>")?;
            for t in &items {
                write!(o, "<li>{}</li>", esc(t.as_str().unwrap_or("")))?;
            }
            write!(o, "</ul>")?;
        }
    }
    write!(
        o,
        "<h2>Checkpoints</h2><table><tr><th>name</th><th>model</th><th>N (params)</th><th>D (samples)</th><th>C (FLOPs)</th><th>lr</th><th>batch</th><th>tuned</th><th>val loss</th></tr>"
    )?;
    for c in scaling["checkpoints"].as_array().into_iter().flatten() {
        let f = |k: &str, show: fn(f64) -> String| c[k].as_f64().map_or("—".to_string(), show);
        write!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(c["name"].as_str().unwrap_or("")),
            esc(c["model"].as_str().unwrap_or("")),
            f("params", si),
            f("samples", si),
            f("flops", si),
            f("lr", rate),
            c["batch"].as_u64().map_or("—".into(), count),
            c["tuned"].as_bool().map_or("—", |t| if t { "yes" } else { "no" }),
            f("val_loss", metric)
        )?;
    }
    write!(o, "</table>")?;
    for fit in scaling["fits"].as_array().into_iter().flatten() {
        write!(
            o,
            "<h2>{} <span class=\"muted\">(fitted: {})</span></h2>",
            esc(fit["target"].as_str().unwrap_or("")),
            esc(fit["transform"].as_str().unwrap_or(""))
        )?;
        write!(o, "{}", plot(fit))?;
        let f = &fit["fit"];
        if f.is_object() {
            let ci = |k: &str| format!("[{}, {}]", metric(num(&f[k][0])), metric(num(&f[k][1])));
            // Four distinct compute values for three parameters: the resamples' fits are a range,
            // not an interval (points at one compute value count once).
            let mut cs: Vec<f64> = fit["points"].as_array().into_iter().flatten().map(|p| num(&p["flops"])).collect();
            cs.sort_by(f64::total_cmp);
            cs.dedup();
            let few = cs.len() <= 4;
            let head = if few { "range of bootstrap refits (too few points for a 95% CI)" } else { "95% bootstrap CI" };
            write!(
                o,
                "<table><tr><th>parameter</th><th>estimate</th><th>{head}</th></tr>\
                 <tr><td>E</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>A (C / {} FLOPs)</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>γ</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr></table>",
                metric(num(&f["e"])),
                ci("e_ci"),
                si(num(&f["scale"])),
                metric(num(&f["a"])),
                ci("a_ci"),
                metric(num(&f["gamma"])),
                ci("gamma_ci")
            )?;
            if f["holdout"].is_object() {
                let hd = &f["holdout"];
                let verdict = match (hd["band"].as_array(), hd["inside"].as_bool()) {
                    (Some(b), Some(inside)) if b.len() == 2 => format!(
                        "95% prediction interval [{}, {}] (on the log scale: the fit's uncertainty by the delta method and the other points' scatter) — {}",
                        metric(num(&b[0])),
                        metric(num(&b[1])),
                        if inside { "inside it" } else { "<span class=\"flag\">outside it</span>" }
                    ),
                    _ => "no band: the other points leave no scatter to judge it by (3 fit exactly), or their fit's uncertainty could not be computed".to_string(),
                };
                write!(
                    o,
                    "<p>Held out: <strong>{}</strong> actual {}, predicted {}, {verdict}</p>",
                    esc(hd["checkpoint"].as_str().unwrap_or("")),
                    metric(num(&hd["actual"])),
                    metric(num(&hd["predicted"])),
                )?;
            }
        }
        write!(
            o,
            "<table><tr><th>checkpoint</th><th>C (FLOPs)</th><th>value</th><th>fitted y</th><th>law at C (all points)</th><th>residual (log)</th></tr>"
        )?;
        for p in fit["points"].as_array().into_iter().flatten() {
            let (y, pred) = (num(&p["y"]), num(&p["predicted"]));
            write!(
                o,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(p["checkpoint"].as_str().unwrap_or("")),
                si(num(&p["flops"])),
                metric(num(&p["value"])),
                metric(y),
                metric(pred),
                if pred.is_finite() { crate::format::signed(y.ln() - pred.ln()) } else { "—".into() }
            )?;
        }
        write!(o, "</table>")?;
        for n in fit["notes"].as_array().into_iter().flatten() {
            write!(o, "<p class=\"muted\">{}</p>", esc(n.as_str().unwrap_or("")))?;
        }
    }
    let nd = &scaling["nd"];
    if nd.is_object() {
        write!(
            o,
            "<h2>L(N, D) = E + A/N<sup>α</sup> + B/D<sup>β</sup> <span class=\"muted\">(validation loss)</span></h2>"
        )?;
        let f = &nd["fit"];
        if f.is_object() {
            let row = |o: &mut String, label: &str, k: &str| {
                write!(
                    o,
                    "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">[{}, {}]</td></tr>",
                    metric(num(&f["fit"][k])),
                    metric(num(&f[k][0])),
                    metric(num(&f[k][1]))
                )
            };
            write!(o, "<table><tr><th>parameter</th><th>estimate</th><th>95% bootstrap CI</th></tr>")?;
            row(&mut o, "E", "e")?;
            row(&mut o, &format!("A (N / {} parameters)", si(num(&f["fit"]["n_scale"]))), "a")?;
            row(&mut o, &format!("B (D / {} samples)", si(num(&f["fit"]["d_scale"]))), "b")?;
            row(&mut o, "α", "alpha")?;
            row(&mut o, "β", "beta")?;
            write!(o, "</table>")?;
        }
        write!(
            o,
            "<table><tr><th>checkpoint</th><th>N (params)</th><th>D (samples)</th><th>val loss</th><th>fitted</th></tr>"
        )?;
        for p in nd["points"].as_array().into_iter().flatten() {
            let fitted = num(&p[4]);
            write!(
                o,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(p[0].as_str().unwrap_or("")),
                si(num(&p[1])),
                si(num(&p[2])),
                metric(num(&p[3])),
                metric(fitted)
            )?;
        }
        write!(o, "</table>")?;
        for n in nd["notes"].as_array().into_iter().flatten() {
            write!(o, "<p class=\"muted\">{}</p>", esc(n.as_str().unwrap_or("")))?;
        }
    }
    write!(
        o,
        "<h2>Method</h2><p>L(C) = E + A·(C/scale)<sup>−γ</sup> fitted by Huber loss (δ = 10<sup>−3</sup>) on log residuals: a grid over γ with \
         non-negative least squares for E and A, then Nelder–Mead. Intervals: percentile bootstrap over checkpoints (1,000 resamples, fixed seed). \
         The band is the 2.5–97.5% range of bootstrap refits' predictions. The largest-compute checkpoint is predicted from the others when there \
         are at least four. L(N, D): Chinchilla's approach 3 — a grid over (α, β) with non-negative least squares for (E, A, B), then \
         Nelder–Mead on all five on the same Huber objective; intervals from 200 refits on resampled points.</p></body></html>\n"
    )?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fits_flags_and_escapes() {
        let v = serde_json::json!({
            "name": "<ladder>", "trend": ["x: checkpoint b is off-trend by -3.1σ"],
            "checkpoints": [{"name": "a", "model": "bundled:a", "params": 1e5, "flops": 1e12}],
            "fits": [{"target": "val_loss", "transform": "value", "notes": ["n"],
                "points": [{"checkpoint": "a", "flops": 1e12, "value": 1.0, "y": 1.0, "predicted": 1.01},
                           {"checkpoint": "b", "flops": 1e13, "value": 0.8, "y": 0.8, "predicted": 0.79}],
                "fit": {"e": 0.5, "a": 0.5, "gamma": 0.3, "scale": 1e12, "e_ci": [0.4, 0.6], "a_ci": [0.4, 0.6], "gamma_ci": [0.2, 0.4],
                        "curve": [[1e12, 1.0, 0.9, 1.1], [1e13, 0.8, 0.7, 0.9]],
                        "holdout": {"checkpoint": "b", "actual": 0.8, "predicted": 0.79, "band": [0.7, 0.9], "inside": true}}}]
        });
        let html = render(&v).unwrap();
        assert!(html.contains("&lt;ladder&gt;") && !html.contains("<ladder>"));
        assert!(html.contains("off-trend by -3.1σ") && html.contains("<polygon") && html.contains("<circle"));
        assert!(html.contains("prediction interval [0.7000, 0.9000]") && html.contains("inside it"));
        // Decade ticks, axis titles with units, a legend marking the held-out point; sizes for people.
        for text in [
            "10¹²",
            "10¹³",
            "training compute C (FLOPs)",
            "largest compute (also in the fit)",
            "its prediction from the others",
            "fitted law",
        ] {
            assert!(html.contains(text), "{text} missing");
        }
        assert!(html.contains("<td class=\"num\">100 k</td>") && html.contains("<td class=\"num\">1 T</td>"), "{html}");
        assert!(!html.contains("e5") && !html.contains("e12"), "no scientific notation for sizes");
        // Two points: the legend does not call the band a 95% one.
        assert!(html.contains("no band (3 compute values)") && !html.contains("95% bootstrap band"), "legend");
        // Two checkpoints at two compute values: a range of refits in the table, not a 95% CI.
        assert!(html.contains("too few points for a 95% CI"), "{html}");
        // No fit: neither a band nor "fitted" points are claimed.
        let mut unfit = v.clone();
        unfit["fits"][0]["fit"] = serde_json::Value::Null;
        let html = render(&unfit).unwrap();
        assert!(html.contains("No law is fitted") && !html.contains("checkpoint (fitted)"), "{html}");
        assert!(!html.contains("passes through them") && !html.contains("bootstrap refits,"), "{html}");
    }
}
