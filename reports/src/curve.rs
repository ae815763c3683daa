//! Charts as standalone SVG: line charts (training loss curves: one panel per series, log-scaled
//! y, the raw values faint and a running mean on top) and interval bars (pass rates with their
//! CIs). No scripts, no external fonts; every label is escaped.

use std::fmt::Write;

/// One panel: a title and (x, y) points with y > 0.
pub struct Panel<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 360.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One bar: a label, a value in [0, 1] and its interval (none drawn where there is none).
pub struct Bar<'a> {
    pub label: &'a str,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// Horizontal bars on a 0–1 axis with interval whiskers (pass rates and their 95% CIs).
pub fn interval_bars_svg(bars: &[Bar<'_>]) -> String {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 150.0;
    const AXIS: f64 = 300.0;
    let h = ROW * bars.len() as f64 + 30.0;
    let w = LABEL + AXIS + 60.0;
    let x = |v: f64| LABEL + AXIS * v.clamp(0.0, 1.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"sans-serif\" font-size=\"11\" role=\"img\">"
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let px = x(t);
        let _ = write!(
            svg,
            "<line x1=\"{px:.1}\" y1=\"4\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666\">{t}</text>",
            h - 20.0,
            h - 6.0
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = 6.0 + ROW * i as f64;
        let mid = y + ROW / 2.0 - 3.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#7aa6d6\"/>",
            LABEL - 6.0,
            mid + 4.0,
            escape(b.label),
            y,
            x(b.value) - LABEL,
            ROW - 8.0,
        );
        if let Some((lower, upper)) = b.interval {
            let _ = write!(
                svg,
                "<line x1=\"{:.1}\" y1=\"{mid:.1}\" x2=\"{:.1}\" y2=\"{mid:.1}\" stroke=\"#222\" stroke-width=\"1.5\"/>",
                x(lower),
                x(upper),
            );
        }
        let _ =
            write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{:.2}</text>", x(1.0) + 6.0, mid + 4.0, b.value);
    }
    svg.push_str("</svg>");
    svg
}

fn polyline(points: &[(f64, f64)], map: &dyn Fn(f64, f64) -> (f64, f64), style: &str) -> String {
    let mut d = String::new();
    for &(x, y) in points {
        let (px, py) = map(x, y);
        let _ = write!(d, "{px:.1},{py:.1} ");
    }
    format!("<polyline fill=\"none\" {style} points=\"{}\"/>", d.trim_end())
}

/// Panels side by side in one SVG document.
pub fn panels_svg(panels: &[Panel<'_>]) -> String {
    let total_w = W * panels.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w}\" height=\"{H}\" viewBox=\"0 0 {total_w} {H}\" \
         font-family=\"sans-serif\" font-size=\"10\">"
    );
    for (i, p) in panels.iter().enumerate() {
        let ox = W * i as f64;
        let pts: Vec<(f64, f64)> =
            p.points.iter().copied().filter(|&(x, y)| x.is_finite() && y > 0.0 && y.is_finite()).collect();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            ox + W / 2.0,
            escape(p.title)
        );
        let (Some(x0), Some(x1)) = (pts.first().map(|p| p.0), pts.last().map(|p| p.0)) else {
            let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\">no data</text>", ox + PAD, H / 2.0);
            continue;
        };
        let ly: Vec<f64> = pts.iter().map(|p| p.1.log10()).collect();
        let (lo, hi) = ly.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let (lo, hi) = if hi - lo < 1e-9 { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
        let xspan = if x1 > x0 { x1 - x0 } else { 1.0 };
        let map = |x: f64, y: f64| {
            (ox + PAD + (x - x0) / xspan * (W - 1.5 * PAD), 24.0 + (hi - y.log10()) / (hi - lo) * (H - 24.0 - PAD))
        };
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"24\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#ccc\"/>",
            ox + PAD,
            W - 1.5 * PAD,
            H - 24.0 - PAD
        );
        svg.push_str(&polyline(&pts, &map, "stroke=\"#9ab\" stroke-width=\"0.7\""));
        // Running mean over a window of 5% of the points.
        let k = (pts.len() / 20).max(1);
        let smooth: Vec<(f64, f64)> = (0..pts.len())
            .map(|j| {
                let a = j.saturating_sub(k);
                let w = &pts[a..=j];
                (pts[j].0, w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64)
            })
            .collect();
        svg.push_str(&polyline(&smooth, &map, "stroke=\"#1f5fa8\" stroke-width=\"1.6\""));
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"30\" text-anchor=\"end\">{:.3}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.3}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} (log y)</text>",
            ox + PAD - 3.0,
            10f64.powf(hi),
            ox + PAD - 3.0,
            H - PAD,
            10f64.powf(lo),
            ox + PAD,
            H - PAD + 12.0,
            x0,
            ox + W - PAD / 2.0,
            H - PAD + 12.0,
            x1,
            ox + W / 2.0,
            H - 8.0,
            escape(p.x_label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_bars_scale_to_the_unit_axis_and_escape_labels() {
        let svg = interval_bars_svg(&[
            Bar { label: "physics", value: 0.5, interval: Some((0.25, 0.75)) },
            Bar { label: "<b>&\"x\"", value: 1.2, interval: Some((-0.1, 1.0)) },
        ]);
        // The bar of 0.5 spans half the 300-px axis; the whiskers end at 0.25 and 0.75.
        assert!(
            svg.contains("width=\"150.0\"") && svg.contains("x1=\"225.0\"") && svg.contains("x2=\"375.0\""),
            "{svg}"
        );
        // Values outside [0, 1] are clamped to the axis; labels are text, never markup.
        assert!(svg.contains("width=\"300.0\"") && svg.contains("&lt;b&gt;&amp;&quot;x&quot;") && !svg.contains("<b>"));
    }

    #[test]
    fn panels_draw_every_series_and_survive_bad_points() {
        let a = Panel {
            title: "VAE <mse>",
            x_label: "samples",
            points: (1..50).map(|i| (f64::from(i), 1.0 / f64::from(i))).collect(),
        };
        let b = Panel { title: "empty", x_label: "samples", points: vec![(1.0, 0.0), (2.0, f64::NAN)] };
        let svg = panels_svg(&[a, b]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("VAE &lt;mse&gt;") && svg.contains("no data"));
    }
}
