//! Every chart the reports show, drawn with plotters' SVG backend and inlined: log–log scaling
//! fits, pass-rate bars with interval whiskers, baseline-vs-candidate scatters and training loss
//! curves. Axes carry titles with units, ticks come from [`Axis`] (decades and minor ticks on
//! log axes, 1–2–5 steps on linear ones), and each chart's numbers can be shown next to it as a
//! [`Table`] (the text alternative). Output is deterministic: the same numbers give the same
//! bytes.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;

use crate::format;

type Drawn = Result<(), Box<dyn std::error::Error>>;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(27, 27, 27);
const BLUE: RGBColor = RGBColor(31, 95, 168);
const PALE_BLUE: RGBColor = RGBColor(154, 187, 221);
const RED: RGBColor = RGBColor(176, 0, 32);
const RUST: RGBColor = RGBColor(181, 70, 47);
const GREEN: RGBColor = RGBColor(27, 127, 59);
const GREY: RGBColor = RGBColor(110, 110, 110);
const GRID: RGBColor = RGBColor(222, 222, 222);
const FAINT_GRID: RGBColor = RGBColor(242, 242, 242);

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// Base-10 logarithmic; only positive values are drawn.
    Log,
}

/// One axis: its title (with the unit), scale and the data range it spans.
#[derive(Debug, Clone)]
pub struct Axis {
    pub title: String,
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
    /// Labels as percentages (for 0–1 fractions).
    pub percent: bool,
}

impl Axis {
    /// An axis spanning `values` with a margin (10% of the span, in log space on log axes).
    pub fn fit(title: impl Into<String>, scale: Scale, values: impl IntoIterator<Item = f64>) -> Axis {
        let t = |v: f64| if scale == Scale::Log { v.log10() } else { v };
        let (lo, hi) = values
            .into_iter()
            .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
            .map(t)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if !lo.is_finite() {
            (0.0, 1.0)
        } else if hi - lo < 1e-12 {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
        };
        // The margin must not carry a log axis past what a float holds (1e308 plus 10% of its
        // span is infinite, and an infinite end had the tick loop run for ever).
        let back = |v: f64| if scale == Scale::Log { 10f64.powf(v.clamp(-300.0, 300.0)) } else { v };
        Axis { title: title.into(), scale, lo: back(lo), hi: back(hi), percent: false }
    }

    /// A fixed range.
    pub fn range(title: impl Into<String>, scale: Scale, lo: f64, hi: f64) -> Axis {
        Axis { title: title.into(), scale, lo, hi, percent: false }
    }

    /// Where a value sits in the chart's (linear) coordinate: log10 on log axes.
    fn to(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log => v.max(f64::MIN_POSITIVE).log10(),
        }
    }

    /// Labelled (major) and unlabelled (minor) tick positions, in data units.
    pub fn ticks(&self) -> (Vec<f64>, Vec<f64>) {
        match self.scale {
            Scale::Log => log_ticks(self.lo, self.hi),
            Scale::Linear => linear_ticks(self.lo, self.hi),
        }
    }

    /// The label of a major tick.
    pub fn label(&self, v: f64) -> String {
        if self.percent {
            return format::percent(v);
        }
        match self.scale {
            Scale::Log => log_label(v),
            Scale::Linear => {
                let (major, _) = linear_ticks(self.lo, self.hi);
                let step = major.windows(2).map(|w| w[1] - w[0]).next().unwrap_or(1.0).abs();
                let decimals = (-step.log10().floor()).max(0.0) as usize;
                if step >= 1000.0 {
                    return format::si(v);
                }
                let s = format!("{v:.decimals$}");
                if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') { s.replace('-', "") } else { s }
            }
        }
    }

    fn coord(&self) -> Ticks {
        let (major, minor) = self.ticks();
        let (lo, hi) = (self.to(self.lo), self.to(self.hi));
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
        Ticks {
            lo,
            hi,
            major: major.iter().map(|&v| self.to(v)).collect(),
            light: minor.iter().chain(&major).map(|&v| self.to(v)).collect(),
        }
    }
}

/// A linear chart coordinate (data already log-transformed on log axes) whose ticks are ours:
/// labelled `major` ticks and light grid lines at `light`.
#[derive(Debug, Clone)]
struct Ticks {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Ticks {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let along = (v - self.lo) / (self.hi - self.lo);
        let length = f64::from(limit.1 - limit.0);
        limit.0 + (length * along.clamp(-10.0, 10.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { self.light.clone() } else { self.major.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Decades as major ticks (with 2× and 5× too when fewer than two decades show), 2–9× as minor.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (Vec::new(), Vec::new());
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let inside = |v: f64| v >= lo * (1.0 - 1e-12) && v <= hi * (1.0 + 1e-12);
    let decades: Vec<f64> = (a..=b).map(|k| 10f64.powi(k)).filter(|&v| inside(v)).collect();
    // Under two decades, 2× and 5× are labelled too; under one, every mantissa.
    let labelled: &[i32] = if hi / lo < 4.0 {
        &[2, 3, 4, 5, 6, 7, 8, 9]
    } else if decades.len() < 2 {
        &[2, 5]
    } else {
        &[]
    };
    let (mut major, mut minor) = (decades, Vec::new());
    for k in a..=b {
        for m in 2..=9 {
            let v = f64::from(m) * 10f64.powi(k);
            if !inside(v) {
                continue;
            }
            if labelled.contains(&m) { major.push(v) } else { minor.push(v) }
        }
    }
    major.sort_by(f64::total_cmp);
    (major, minor)
}

/// A 1–2–5 step giving four to eight labelled ticks; five minor ticks per step.
fn linear_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(hi > lo) || !lo.is_finite() || !hi.is_finite() {
        return (Vec::new(), Vec::new());
    }
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw * 0.999).unwrap_or(10.0 * mag);
    let at = |k: i64, s: f64| {
        let v = k as f64 * s;
        if v.abs() < s * 1e-9 { 0.0 } else { v }
    };
    let span = |s: f64| ((lo / s).ceil() as i64..=(hi / s).floor() as i64).map(move |k| at(k, s));
    let major: Vec<f64> = span(step).collect();
    let minor: Vec<f64> = span(step / 5.0).filter(|v| major.iter().all(|m| (m - v).abs() > step * 1e-6)).collect();
    (major, minor)
}

fn log_label(v: f64) -> String {
    let k = v.log10().floor() as i32;
    let m = (v / 10f64.powi(k)).round() as i32;
    if (-2..=3).contains(&k) {
        let decimals = (-k).max(0) as usize;
        return format!("{v:.decimals$}");
    }
    if m == 1 { format::power_of_ten(k) } else { format!("{m}×{}", format::power_of_ten(k)) }
}

/// The numbers behind a chart, shown as a table next to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn html(&self) -> String {
        let cell = |tag: &str, s: &String| format!("<{tag}>{}</{tag}>", esc(s));
        let head: String = self.head.iter().map(|h| cell("th", h)).collect();
        let rows: String = self
            .rows
            .iter()
            .map(|r| format!("<tr>{}</tr>", r.iter().map(|c| cell("td", c)).collect::<String>()))
            .collect();
        format!("<table class=\"numbers\"><tr>{head}</tr>{rows}</table>")
    }
}

/// A chart with its caption and text alternative, as one `<figure>`.
pub fn figure(svg: &str, caption: &str, numbers: Option<&Table>) -> String {
    let numbers = numbers.map_or(String::new(), |t| {
        format!("<details class=\"numbers\"><summary>The numbers in this chart</summary>{}</details>", t.html())
    });
    format!("<figure class=\"chart\">{svg}<figcaption>{}</figcaption>{numbers}</figure>", esc(caption))
}

/// Runs `draw` on a `w × h` SVG and finishes the document: an accessible name (`<title>`,
/// `role="img"`), and a visible note instead of a chart if drawing failed.
fn svg(
    w: u32,
    h: u32,
    title: &str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Drawn,
) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Into::into))
    };
    if let Err(e) = result {
        return format!("<p class=\"err\">chart {} could not be drawn: {}</p>", esc(title), esc(&e.to_string()));
    }
    let out = out.replacen("<svg ", "<svg role=\"img\" class=\"plot\" ", 1);
    match out.find(">\n") {
        Some(i) => format!("{}<title>{}</title>{}", &out[..i + 2], esc(title), &out[i + 2..]),
        None => out,
    }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticks, Ticks>>;

/// Axes, grid, tick labels and axis titles; minor ticks as short marks on both axes.
fn axes<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    x: &Axis,
    y: &Axis,
    y_label_width: u32,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(y_label_width)
        .build_cartesian_2d(x.coord(), y.coord())?;
    let xf = |v: &f64| x.label(if x.scale == Scale::Log { 10f64.powf(*v) } else { *v });
    let yf = |v: &f64| y.label(if y.scale == Scale::Log { 10f64.powf(*v) } else { *v });
    house_style(chart.configure_mesh().x_desc(x.title.as_str()).y_desc(y.title.as_str()))
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .draw()?;
    minor_ticks(&mut chart, x, y)?;
    Ok(chart)
}

/// Grid, axis and label styles every chart shares.
fn house_style<'m, 'a, 'b, DB: DrawingBackend>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, Ticks, Ticks, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, Ticks, Ticks, DB> {
    mesh.bold_line_style(GRID)
        .light_line_style(FAINT_GRID)
        .axis_style(GREY)
        .label_style((FONT, 12).into_font().color(&INK))
        .axis_desc_style((FONT, 13).into_font().color(&INK))
}

fn minor_ticks<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, x: &Axis, y: &Axis) -> Drawn {
    let (x0, x1) = (x.to(x.lo), x.to(x.hi));
    let (y0, y1) = (y.to(y.lo), y.to(y.hi));
    let (dx, dy) = ((x1 - x0) * 0.012, (y1 - y0) * 0.018);
    let marks = x
        .ticks()
        .1
        .into_iter()
        .map(|v| vec![(x.to(v), y0), (x.to(v), y0 + dy)])
        .chain(y.ticks().1.into_iter().map(|v| vec![(x0, y.to(v)), (x0 + dx, y.to(v))]));
    chart.draw_series(marks.map(|p| PathElement::new(p, GREY.stroke_width(1))))?;
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font((FONT, 12).into_font().color(&INK))
        .draw()?;
    Ok(())
}

/// One checkpoint on a scaling plot.
#[derive(Debug, Clone)]
pub struct ScalingPoint {
    pub label: String,
    pub compute: f64,
    pub y: f64,
    /// The largest compute, also predicted from the others.
    pub held_out: bool,
    /// For the held-out point: its prediction from the others and that prediction's band.
    pub prediction: Option<(f64, Option<[f64; 2]>)>,
}

/// A log–log scaling plot: the checkpoints, the fitted law over compute and its 95% band
/// (`curve` rows are `[compute, fitted, lower, upper]`), the held-out point marked, a legend.
/// The axes follow the points and the fitted law; the band is clipped to them.
/// `band` names the band in the legend (a 95% bootstrap band, or a range of fits where there are
/// too few points for one).
pub fn scaling(title: &str, y_title: &str, points: &[ScalingPoint], curve: &[[f64; 4]], band_label: &str) -> String {
    let good = |v: f64| v.is_finite() && v > 0.0;
    let curve: Vec<[f64; 4]> = curve.iter().copied().filter(|r| r.iter().all(|&v| good(v))).collect();
    let points: Vec<&ScalingPoint> = points.iter().filter(|p| good(p.compute) && good(p.y)).collect();
    let x = Axis::fit(
        "training compute C (FLOPs)",
        Scale::Log,
        points.iter().map(|p| p.compute).chain(curve.iter().map(|r| r[0])),
    );
    let y = Axis::fit(y_title, Scale::Log, points.iter().map(|p| p.y).chain(curve.iter().map(|r| r[1])));
    svg(560, 360, title, |root| {
        let mut chart = axes(root, &x, &y, 64)?;
        let (ylo, yhi) = (y.to(y.lo), y.to(y.hi));
        let clip = |v: f64| y.to(v).clamp(ylo, yhi);
        if !curve.is_empty() {
            let band: Vec<(f64, f64)> = curve
                .iter()
                .map(|r| (x.to(r[0]), clip(r[3])))
                .chain(curve.iter().rev().map(|r| (x.to(r[0]), clip(r[2]))))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.15).filled())))?
                .label(band_label)
                .legend(|(px, py)| Rectangle::new([(px, py - 5), (px + 16, py + 5)], BLUE.mix(0.15).filled()));
            chart
                .draw_series(LineSeries::new(curve.iter().map(|r| (x.to(r[0]), clip(r[1]))), BLUE.stroke_width(2)))?
                .label("fitted law")
                .legend(|(px, py)| PathElement::new(vec![(px, py), (px + 16, py)], BLUE.stroke_width(2)));
        }
        let fitted: Vec<(f64, f64)> =
            points.iter().filter(|p| !p.held_out).map(|p| (x.to(p.compute), y.to(p.y))).collect();
        if !fitted.is_empty() {
            chart
                .draw_series(fitted.into_iter().map(|c| Circle::new(c, 4, RUST.filled())))?
                .label(if curve.is_empty() { "checkpoint" } else { "checkpoint (fitted)" })
                .legend(|c| Circle::new((c.0 + 8, c.1), 4, RUST.filled()));
        }
        // The drawn law is fitted on every point, the held-out one too; its prediction from the
        // others (with that prediction's band) is drawn beside it, as the text reports it.
        let held: Vec<&&ScalingPoint> = points.iter().filter(|p| p.held_out).collect();
        if !held.is_empty() {
            chart
                .draw_series(held.iter().map(|p| Circle::new((x.to(p.compute), y.to(p.y)), 6, RED.stroke_width(2))))?
                .label("largest compute (also in the fit)")
                .legend(|c| Circle::new((c.0 + 8, c.1), 5, RED.stroke_width(2)));
            let predicted: Vec<(f64, f64, Option<[f64; 2]>)> = held
                .iter()
                .filter_map(|p| p.prediction.map(|(v, band)| (p.compute, v, band)))
                .filter(|&(_, v, _)| good(v))
                .collect();
            if !predicted.is_empty() {
                let mut interval = false;
                for &(c, _, band) in &predicted {
                    if let Some([lo, hi]) = band.filter(|b| good(b[0]) && good(b[1])) {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(x.to(c), clip(lo)), (x.to(c), clip(hi))],
                            RED.stroke_width(1),
                        )))?;
                        interval = true;
                    }
                }
                chart
                    .draw_series(
                        predicted.iter().map(|&(c, v, _)| Cross::new((x.to(c), clip(v)), 5, RED.stroke_width(2))),
                    )?
                    .label(if interval {
                        "its prediction from the others (95% prediction interval)"
                    } else {
                        "its prediction from the others"
                    })
                    .legend(|c| Cross::new((c.0 + 8, c.1), 4, RED.stroke_width(2)));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// One horizontal bar: a value in [0, 1], its interval, and how many cases it rests on.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub interval: Option<(f64, f64)>,
    pub cases: usize,
}

/// Rates (pass rates, agreement) as horizontal bars on a 0–100% axis titled `x_title`, with 95%
/// CI whiskers and the case count.
pub fn interval_bars(title: &str, x_title: &str, bars: &[Bar]) -> String {
    let n = bars.len().max(1);
    let longest = bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(4);
    let label_w = (longest as u32 * 7 + 16).clamp(60, 260);
    let mut x = Axis::range(x_title, Scale::Linear, 0.0, 1.0);
    x.percent = true;
    let h = 28 * n as u32 + 76;
    svg(label_w + 460, h, title, |root| {
        // Room right of 100% for the case counts; ticks stop at 100%.
        let (major, minor) = x.ticks();
        let light = minor.iter().chain(&major).copied().collect();
        let xc = Ticks { lo: 0.0, hi: 1.22, major, light };
        let centres: Vec<f64> = (0..bars.len()).map(|i| (n - i) as f64 - 0.5).collect();
        let yc = Ticks { lo: 0.0, hi: n as f64, major: centres.clone(), light: Vec::new() };
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(label_w)
            .build_cartesian_2d(xc, yc)?;
        // A label longer than its room is cut in the middle, its start and end kept (two long
        // families told apart by their ends); the whole name is in the table beside the chart.
        // Drawn whole, it ran off the picture's left edge.
        let room = ((label_w - 16) / 7) as usize;
        let yl = |v: &f64| {
            let i = n as f64 - 0.5 - *v;
            bars.get(i.round().max(0.0) as usize).map(|b| middle_cut(&b.label, room)).unwrap_or_default()
        };
        let xl = |v: &f64| format::percent(*v);
        house_style(chart.configure_mesh().disable_y_mesh().x_desc(x.title.as_str()))
            .x_label_formatter(&xl)
            .y_label_formatter(&yl)
            .draw()?;
        for (b, &c) in bars.iter().zip(&centres) {
            let v = b.value.clamp(0.0, 1.0);
            chart.draw_series(std::iter::once(Rectangle::new([(0.0, c - 0.32), (v, c + 0.32)], PALE_BLUE.filled())))?;
            if let Some((lo, hi)) = b.interval {
                let (lo, hi) = (lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0));
                let style = INK.stroke_width(2);
                chart.draw_series([
                    PathElement::new(vec![(lo, c), (hi, c)], style),
                    PathElement::new(vec![(lo, c - 0.15), (lo, c + 0.15)], style),
                    PathElement::new(vec![(hi, c - 0.15), (hi, c + 0.15)], style),
                ])?;
            }
            let cases =
                if b.cases == 1 { "1 case".to_string() } else { format!("{} cases", format::count(b.cases as u64)) };
            chart.draw_series(std::iter::once(Text::new(
                format!("{} · {cases}", format::percent(b.value)),
                (1.03, c),
                (FONT, 12).into_font().color(&INK).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                )),
            )))?;
        }
        Ok(())
    })
}

/// `s` in at most `room` characters: whole, or its start and end around an ellipsis.
fn middle_cut(s: &str, room: usize) -> String {
    let n = s.chars().count();
    if n <= room || room < 5 {
        return s.to_string();
    }
    let head = (room - 1) * 2 / 3;
    let tail = room - 1 - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Which way a scatter's metric is better: its points are coloured better (green) or worse (red)
/// for the candidate, or only higher and lower where neither is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    Neither,
}

/// Baseline (x) against candidate (y) per case, on equal axes with the y = x line: points below
/// it are cases where the candidate scored lower, coloured by which way is `better`.
pub fn scatter(title: &str, metric: &str, points: &[(f64, f64)], better: Better) -> String {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|(a, b)| a.is_finite() && b.is_finite()).collect();
    let both = Axis::fit("", Scale::Linear, finite.iter().flat_map(|&(a, b)| [a, b]));
    let x = Axis::range(format!("baseline {metric}"), Scale::Linear, both.lo, both.hi);
    let y = Axis::range(format!("candidate {metric}"), Scale::Linear, both.lo, both.hi);
    svg(340, 340, title, |root| {
        let mut chart = axes(root, &x, &y, 56)?;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(both.lo, both.lo), (both.hi, both.hi)],
                5,
                4,
                GREY.stroke_width(1),
            ))?
            .label("no change (y = x)")
            .legend(|(px, py)| PathElement::new(vec![(px, py), (px + 16, py)], GREY.stroke_width(1)));
        let part = |keep: fn(f64, f64) -> bool| finite.iter().copied().filter(move |&(a, b)| keep(a, b));
        let lower = (|a, b| b < a) as fn(f64, f64) -> bool;
        let higher = (|a, b| b > a) as fn(f64, f64) -> bool;
        // Green is better and red worse for the candidate, whichever way the metric points.
        let series = match better {
            Better::Higher => [(lower, RED, "candidate worse (lower)"), (higher, GREEN, "candidate better (higher)")],
            Better::Lower => [(higher, RED, "candidate worse (higher)"), (lower, GREEN, "candidate better (lower)")],
            Better::Neither => [(lower, RUST, "candidate lower"), (higher, BLUE, "candidate higher")],
        };
        let equal = (|a, b| a == b) as fn(f64, f64) -> bool;
        for (keep, colour, label) in series.into_iter().chain([(equal, GREY, "equal")]) {
            if part(keep).next().is_some() {
                chart
                    .draw_series(part(keep).map(|c| Circle::new(c, 4, colour.mix(0.75).filled())))?
                    .label(label)
                    .legend(move |c| Circle::new((c.0 + 8, c.1), 4, colour.mix(0.75).filled()));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// One training-loss panel: a title, what x counts, and (x, loss) points with loss > 0.
pub struct LossPanel<'a> {
    pub title: &'a str,
    pub x_title: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// Loss curves, one panel per series side by side: log-scaled loss, each step faint and a running
/// mean (over 5% of the steps) on top.
pub fn loss_panels(title: &str, panels: &[LossPanel<'_>]) -> String {
    let n = panels.len().max(1);
    svg(400 * n as u32, 300, title, |root| {
        for (area, p) in root.split_evenly((1, n)).iter().zip(panels) {
            let pts: Vec<(f64, f64)> =
                p.points.iter().copied().filter(|&(x, y)| x.is_finite() && y.is_finite() && y > 0.0).collect();
            let area = area.titled(p.title, (FONT, 14).into_font().color(&INK))?;
            if pts.is_empty() {
                area.draw(&Text::new("no data", (60, 100), (FONT, 13).into_font().color(&GREY)))?;
                continue;
            }
            let x = Axis::fit(p.x_title, Scale::Linear, pts.iter().map(|q| q.0));
            let y = Axis::fit("loss (log scale)", Scale::Log, pts.iter().map(|q| q.1));
            let mut chart = axes(&area, &x, &y, 60)?;
            // The running mean from prefix sums (each window was summed anew: 200,000 steps took
            // 21 s), and at most ~4,000 points of each line drawn, every bucket of steps by its
            // lowest and highest (a spike stays) — the SVG was 15 bytes a step.
            let k = (pts.len() / 20).max(1);
            let mut prefix = Vec::with_capacity(pts.len() + 1);
            prefix.push(0.0);
            for q in &pts {
                prefix.push(prefix[prefix.len() - 1] + q.1);
            }
            let smooth: Vec<(f64, f64)> = (0..pts.len())
                .map(|j| {
                    let from = j.saturating_sub(k);
                    (pts[j].0, (prefix[j + 1] - prefix[from]) / (j + 1 - from) as f64)
                })
                .collect();
            let bucket = pts.len().div_ceil(2000).max(1);
            let thin = |line: &[(f64, f64)]| -> Vec<(f64, f64)> {
                if bucket == 1 {
                    return line.to_vec();
                }
                line.chunks(bucket)
                    .flat_map(|c| {
                        let lo = c.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(c[0]);
                        let hi = c.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or(c[0]);
                        if lo.0 <= hi.0 { [lo, hi] } else { [hi, lo] }
                    })
                    .collect()
            };
            let (pts, smooth) = (thin(&pts), thin(&smooth));
            chart
                .draw_series(LineSeries::new(pts.iter().map(|&(a, b)| (x.to(a), y.to(b))), PALE_BLUE.stroke_width(1)))?
                .label("each step")
                .legend(|(px, py)| PathElement::new(vec![(px, py), (px + 16, py)], PALE_BLUE.stroke_width(1)));
            chart
                .draw_series(LineSeries::new(smooth.iter().map(|&(a, b)| (x.to(a), y.to(b))), BLUE.stroke_width(2)))?
                .label("running mean")
                .legend(|(px, py)| PathElement::new(vec![(px, py), (px + 16, py)], BLUE.stroke_width(2)));
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value near the largest float made the log axis end at infinity and the tick loop run
    /// for ever (gigabytes of ticks). Both ends stay finite; infinite ends give no ticks.
    #[test]
    fn a_log_axis_over_huge_values_stays_finite_and_ticks_end() {
        let a = Axis::fit("x", Scale::Log, [1.0, 1e308]);
        assert!(a.lo.is_finite() && a.hi.is_finite() && a.hi >= 1e300, "{a:?}");
        let (major, minor) = a.ticks();
        assert!(!major.is_empty() && major.len() + minor.len() < 10_000);
        assert_eq!(log_ticks(1.0, f64::INFINITY), (Vec::new(), Vec::new()));
        let tiny = Axis::fit("x", Scale::Log, [1e-320, 1.0]);
        assert!(tiny.lo > 0.0 && tiny.hi.is_finite(), "{tiny:?}");
    }

    #[test]
    fn log_axes_tick_every_decade_with_minor_ticks_between() {
        let (major, minor) = log_ticks(3e10, 2e14);
        assert_eq!(major, vec![1e11, 1e12, 1e13, 1e14]);
        assert!(minor.contains(&4e10) && minor.contains(&2e12) && minor.contains(&9e13) && !minor.contains(&3e14));
        assert_eq!(log_label(1e12), "10¹²");
        assert_eq!(log_label(0.01), "0.01");
        assert_eq!(log_label(1000.0), "1000");
        // Less than two decades: 2× and 5× are labelled too.
        let (major, _) = log_ticks(1.5, 9.0);
        assert_eq!(major, vec![2.0, 5.0]);
        let (major, _) = log_ticks(0.9, 3.3);
        assert_eq!(major, vec![0.9, 1.0, 2.0, 3.0]);
        assert_eq!(log_label(5e12), "5×10¹²");
    }

    #[test]
    fn linear_axes_step_by_one_two_five() {
        let (major, minor) = linear_ticks(0.0, 1.0);
        assert_eq!(major, vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(minor.len(), 20);
        let (major, _) = linear_ticks(-0.37, 2.9);
        assert_eq!(major.first(), Some(&0.0));
        let a = Axis::range("t", Scale::Linear, -0.37, 2.9);
        assert_eq!(a.label(0.0), "0");
        assert_eq!(a.label(2.0), "2");
        let a = Axis::range("t", Scale::Linear, -0.05, 1.0);
        assert_eq!((a.label(-0.0), a.label(0.2)), ("0.0".to_string(), "0.2".to_string()));
    }

    #[test]
    fn a_scaling_plot_has_titled_axes_decades_a_band_the_held_out_point_and_a_legend() {
        let points: Vec<ScalingPoint> = [(1e11, 2.0), (1e12, 1.5), (1e13, 1.2), (1e14, 1.1)]
            .iter()
            .enumerate()
            .map(|(i, &(c, y))| ScalingPoint {
                label: format!("c{i}"),
                compute: c,
                y,
                held_out: i == 3,
                prediction: (i == 3).then_some((1.12, Some([1.05, 1.2]))),
            })
            .collect();
        let curve: Vec<[f64; 4]> = (0..20)
            .map(|i| 1e11 * 10f64.powf(f64::from(i) * 0.15))
            .map(|c| [c, 1.0 + c.powf(-0.05), 0.9, 1e9])
            .collect();
        let svg = scaling("val_loss <fit>", "val_loss", &points, &curve, "95% bootstrap band");
        assert!(svg.starts_with("<svg role=\"img\"") && svg.contains("<title>val_loss &lt;fit&gt;</title>"), "{svg}");
        for text in [
            "training compute C (FLOPs)",
            "val_loss",
            "10¹²",
            "10¹³",
            "95% bootstrap band",
            "fitted law",
            "largest compute",
            "its prediction",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(svg.contains("<polygon") && svg.matches("<circle").count() >= 4);
        assert_eq!(svg, scaling("val_loss <fit>", "val_loss", &points, &curve, "95% bootstrap band"), "deterministic");
    }

    #[test]
    fn bars_scatters_and_loss_panels_label_their_axes_and_escape_text() {
        let bars = interval_bars(
            "caps",
            "pass rate, with its 95% CI",
            &[
                Bar { label: "left_right".into(), value: 0.5, interval: Some((0.2, 0.8)), cases: 12 },
                Bar { label: "<b>&".into(), value: 1.2, interval: None, cases: 1 },
            ],
        );
        assert!(
            bars.contains("pass rate, with its 95% CI")
                && bars.contains("left_right")
                && bars.contains("50% · 12 cases")
        );
        assert!(bars.contains("&lt;b&gt;&amp;") && !bars.contains("<b>") && bars.contains("120% · 1 case"), "{bars}");
        // A family name longer than the label room keeps its start and end around an ellipsis.
        let long = format!("start_{}_end", "x".repeat(80));
        let cut = interval_bars("caps", "rate", &[Bar { label: long.clone(), value: 0.5, interval: None, cases: 2 }]);
        assert!(
            !cut.contains(&long) && cut.contains("start_xxx") && cut.contains("xx_end") && cut.contains('…'),
            "{cut}"
        );
        assert_eq!(middle_cut("short", 34), "short");
        assert_eq!(middle_cut("abcdefghij", 7), "abcd…ij");
        let sc = scatter("s", "probe:gravity", &[(1.0, 0.0), (0.0, 1.0), (0.5, 0.5), (f64::NAN, 1.0)], Better::Higher);
        assert!(
            sc.contains("baseline probe:gravity") && sc.contains("candidate probe:gravity") && sc.contains("y = x")
        );
        assert_eq!(sc.matches("<circle").count(), 3 + 3, "three points and three legend marks");
        // A lower-is-better metric's rise is the candidate's loss: red, said as worse.
        let red = |s: &str| s.matches("#B00020").count();
        let up = [(1.0, 2.0), (1.0, 3.0)];
        let (worse, better) = (scatter("s", "m", &up, Better::Lower), scatter("s", "m", &up, Better::Higher));
        assert!(red(&worse) >= 2 && worse.contains("candidate worse (higher)"), "{worse}");
        assert!(red(&better) == 0 && better.contains("candidate better (higher)"), "{better}");
        let loss = loss_panels(
            "loss",
            &[
                LossPanel {
                    title: "VAE",
                    x_title: "samples seen",
                    points: (1..50).map(|i| (f64::from(i), 1.0 / f64::from(i))).collect(),
                },
                LossPanel { title: "empty", x_title: "samples seen", points: vec![(1.0, 0.0), (2.0, f64::NAN)] },
            ],
        );
        assert!(loss.contains("samples seen") && loss.contains("loss (log scale)") && loss.contains("no data"));
        assert!(loss.contains("running mean"));
        // A long training draws at most ~4,000 points a line (15 bytes a step made 3 MB at
        // 200,000 steps, drawn in 21 s).
        let long = LossPanel {
            title: "DiT",
            x_title: "samples seen",
            points: (1..200_000).map(|i| (f64::from(i), 1.0 / f64::from(i).sqrt())).collect(),
        };
        let svg = loss_panels("loss", &[long]);
        assert!(svg.len() < 400_000, "{} bytes", svg.len());
    }
}
