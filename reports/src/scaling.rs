//! The scaling report (`scaling.html`): per target a log–log plot of the fitted quantity against
//! training compute with the fitted law and its 95% bootstrap band, the parameter table with
//! intervals, the held-out point, residuals, notes and any off-trend flags. Reads the
//! `scaling.json` value only.

use std::fmt::Write;

use serde_json::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn plot(fit: &Value) -> String {
    let (w, h, pad) = (420.0, 280.0, 46.0);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for p in fit["points"].as_array().into_iter().flatten() {
        xs.push(num(&p["flops"]));
        ys.push(num(&p["y"]));
    }
    let curve: Vec<[f64; 4]> = fit["fit"]["curve"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| [num(&r[0]), num(&r[1]), num(&r[2]), num(&r[3])])
        .filter(|r| r.iter().all(|v| v.is_finite() && *v > 0.0))
        .collect();
    xs.extend(curve.iter().map(|r| r[0]));
    // The axes follow the points and the fitted law; the band, which can be orders of magnitude
    // wide where nothing was measured, is clipped to them.
    ys.extend(curve.iter().map(|r| r[1]));
    let good = |v: &f64| v.is_finite() && *v > 0.0;
    let lx: Vec<f64> = xs.iter().filter(|v| good(v)).map(|v| v.log10()).collect();
    let ly: Vec<f64> = ys.iter().filter(|v| good(v)).map(|v| v.log10()).collect();
    if lx.is_empty() || ly.is_empty() {
        return "<p>no plottable points</p>".into();
    }
    let span = |v: &[f64]| {
        let (a, b) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        if b - a < 1e-9 { (a - 0.5, b + 0.5) } else { (a - 0.1 * (b - a), b + 0.1 * (b - a)) }
    };
    let ((x0, x1), (y0, y1)) = (span(&lx), span(&ly));
    let px = |x: f64| pad + (x.log10() - x0) / (x1 - x0) * (w - 1.5 * pad);
    let py = |y: f64| 10.0 + (y1 - y.log10()) / (y1 - y0) * (h - 10.0 - pad);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-size=\"10\" role=\"img\">"
    );
    // One clip path per target (targets are unique within a report).
    let clip: String =
        fit["target"].as_str().unwrap_or("").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let clip = format!("band-{clip}");
    let _ = write!(
        s,
        "<defs><clipPath id=\"{clip}\"><rect x=\"{pad}\" y=\"10\" width=\"{pw}\" height=\"{ph}\"/></clipPath></defs>\
         <rect x=\"{pad}\" y=\"10\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#ccc\"/>",
        pw = w - 1.5 * pad,
        ph = h - 10.0 - pad
    );
    if !curve.is_empty() {
        let upper: Vec<String> = curve.iter().map(|r| format!("{:.1},{:.1}", px(r[0]), py(r[3]))).collect();
        let lower: Vec<String> = curve.iter().rev().map(|r| format!("{:.1},{:.1}", px(r[0]), py(r[2]))).collect();
        let _ = write!(
            s,
            "<polygon clip-path=\"url(#{clip})\" fill=\"#1f5fa8\" fill-opacity=\"0.15\" points=\"{} {}\"/>",
            upper.join(" "),
            lower.join(" ")
        );
        let line: Vec<String> = curve.iter().map(|r| format!("{:.1},{:.1}", px(r[0]), py(r[1]))).collect();
        let _ = write!(
            s,
            "<polyline clip-path=\"url(#{clip})\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.5\" points=\"{}\"/>",
            line.join(" ")
        );
    }
    for p in fit["points"].as_array().into_iter().flatten() {
        let (c, y) = (num(&p["flops"]), num(&p["y"]));
        if good(&c) && good(&y) {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#b5462f\"><title>{}: {y:.4}</title></circle>",
                px(c),
                py(y),
                esc(p["checkpoint"].as_str().unwrap_or("?"))
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{pad}\" y=\"{}\">{:.2e}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.2e}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">training compute C (FLOPs, log)</text>\
         <text x=\"{}\" y=\"18\" text-anchor=\"end\">{:.3}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3}</text></svg>",
        h - pad + 14.0,
        10f64.powf(x0),
        w - pad / 2.0,
        h - pad + 14.0,
        10f64.powf(x1),
        w / 2.0,
        h - 6.0,
        pad - 4.0,
        10f64.powf(y1),
        pad - 4.0,
        h - pad,
        10f64.powf(y0)
    );
    s
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
         .muted{{color:#666}}</style></head><body><h1>Scaling sweep {name}</h1>"
    )?;
    let trend = scaling["trend"].as_array().cloned().unwrap_or_default();
    if !trend.is_empty() {
        write!(o, "<h2 class=\"flag\">Off trend</h2><ul>")?;
        for t in &trend {
            write!(o, "<li class=\"flag\">{}</li>", esc(t.as_str().unwrap_or("")))?;
        }
        write!(o, "</ul>")?;
    }
    write!(
        o,
        "<h2>Checkpoints</h2><table><tr><th>name</th><th>model</th><th>N (params)</th><th>D (samples)</th><th>C (FLOPs)</th><th>lr</th><th>batch</th><th>tuned</th><th>val loss</th></tr>"
    )?;
    for c in scaling["checkpoints"].as_array().into_iter().flatten() {
        let f = |k: &str| c[k].as_f64().map_or("—".to_string(), |v| format!("{v:.4e}"));
        write!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(c["name"].as_str().unwrap_or("")),
            esc(c["model"].as_str().unwrap_or("")),
            f("params"),
            f("samples"),
            f("flops"),
            f("lr"),
            c["batch"].as_u64().map_or("—".into(), |b| b.to_string()),
            c["tuned"].as_bool().map_or("—", |t| if t { "yes" } else { "no" }),
            f("val_loss")
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
            let ci = |k: &str| format!("[{:.4}, {:.4}]", num(&f[k][0]), num(&f[k][1]));
            write!(
                o,
                "<table><tr><th>parameter</th><th>estimate</th><th>95% bootstrap CI</th></tr>\
                 <tr><td>E</td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>A (C / {:.3e})</td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td></tr>\
                 <tr><td>γ</td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td></tr></table>",
                num(&f["e"]),
                ci("e_ci"),
                num(&f["scale"]),
                num(&f["a"]),
                ci("a_ci"),
                num(&f["gamma"]),
                ci("gamma_ci")
            )?;
            if f["holdout"].is_object() {
                let hd = &f["holdout"];
                write!(
                    o,
                    "<p>Held out: <strong>{}</strong> actual {:.4}, predicted {:.4}, band [{:.4}, {:.4}] — {}</p>",
                    esc(hd["checkpoint"].as_str().unwrap_or("")),
                    num(&hd["actual"]),
                    num(&hd["predicted"]),
                    num(&hd["band"][0]),
                    num(&hd["band"][1]),
                    if hd["inside"].as_bool() == Some(true) {
                        "inside the band"
                    } else {
                        "<span class=\"flag\">outside the band</span>"
                    }
                )?;
            }
        }
        write!(
            o,
            "<table><tr><th>checkpoint</th><th>C</th><th>value</th><th>fitted y</th><th>predicted</th><th>residual (log)</th></tr>"
        )?;
        for p in fit["points"].as_array().into_iter().flatten() {
            let (y, pred) = (num(&p["y"]), num(&p["predicted"]));
            write!(
                o,
                "<tr><td>{}</td><td class=\"num\">{:.3e}</td><td class=\"num\">{:.4}</td><td class=\"num\">{y:.4}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(p["checkpoint"].as_str().unwrap_or("")),
                num(&p["flops"]),
                num(&p["value"]),
                if pred.is_finite() { format!("{pred:.4}") } else { "—".into() },
                if pred.is_finite() { format!("{:+.4}", y.ln() - pred.ln()) } else { "—".into() }
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
                    "<tr><td>{label}</td><td class=\"num\">{:.4}</td><td class=\"num\">[{:.4}, {:.4}]</td></tr>",
                    num(&f["fit"][k]),
                    num(&f[k][0]),
                    num(&f[k][1])
                )
            };
            write!(o, "<table><tr><th>parameter</th><th>estimate</th><th>95% bootstrap CI</th></tr>")?;
            row(&mut o, "E", "e")?;
            row(&mut o, &format!("A (N / {:.3e})", num(&f["fit"]["n_scale"])), "a")?;
            row(&mut o, &format!("B (D / {:.3e})", num(&f["fit"]["d_scale"])), "b")?;
            row(&mut o, "α", "alpha")?;
            row(&mut o, "β", "beta")?;
            write!(o, "</table>")?;
        }
        write!(o, "<table><tr><th>checkpoint</th><th>N</th><th>D</th><th>val loss</th><th>fitted</th></tr>")?;
        for p in nd["points"].as_array().into_iter().flatten() {
            let fitted = num(&p[4]);
            write!(
                o,
                "<tr><td>{}</td><td class=\"num\">{:.3e}</td><td class=\"num\">{:.3e}</td><td class=\"num\">{:.4}</td><td class=\"num\">{}</td></tr>",
                esc(p[0].as_str().unwrap_or("")),
                num(&p[1]),
                num(&p[2]),
                num(&p[3]),
                if fitted.is_finite() { format!("{fitted:.4}") } else { "—".into() }
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
        assert!(html.contains("inside the band"));
    }
}
