//! Hand-written SVG line charts: accuracy vs test length, curves vs step.
//!
//! Output is deterministic: coordinates have two decimals, colors come from a
//! fixed palette in variant order, and nothing depends on time or hashing.

use super::results::ExperimentResults;
use super::stats::{variants, Agg};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Tableau 10, cycled when there are more variants.
const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const LEFT: f64 = 64.0;
const TOP: f64 = 40.0;
const PW: f64 = 560.0;
const PH: f64 = 340.0;
/// Fraction of the x span added on each side.
const MARGIN: f64 = 0.03;

/// Sequence accuracy (mean over seeds) vs test length: one polyline with
/// markers per variant, and a dashed vertical line at the largest training
/// length.
pub fn accuracy_by_length(res: &ExperimentResults) -> String {
    let vs = variants(res);
    let max_train = res.train_lengths.iter().copied().max();
    let mut xs: Vec<f64> = res.test_lengths.iter().map(|&l| l as f64).collect();
    xs.extend(max_train.map(|l| l as f64));
    let axis = Axis::linear(&xs);
    let labels: Vec<&str> = vs.iter().map(|v| v.label).collect();
    let mut c = Chart::new(&format!("{}: test sequence accuracy by length", res.experiment), &labels, false);
    c.frame(&axis, "test length", "sequence accuracy");
    if let Some(t) = max_train {
        let x = axis.px(t as f64);
        let _ = writeln!(
            c.body,
            r##"<line x1="{x:.2}" y1="{TOP:.2}" x2="{x:.2}" y2="{:.2}" stroke="#555" stroke-dasharray="6 4"/>"##,
            TOP + PH
        );
        // Label on the side with more room.
        let (lx, anchor) = if x > LEFT + 0.7 * PW { (x - 4.0, "end") } else { (x + 4.0, "start") };
        let _ = writeln!(
            c.body,
            r##"<text x="{lx:.2}" y="{:.2}" fill="#555" text-anchor="{anchor}">max train length {t}</text>"##,
            TOP + 14.0
        );
    }
    for (i, v) in vs.iter().enumerate() {
        let pts: Vec<(f64, f64)> = res
            .test_lengths
            .iter()
            .filter_map(|&l| v.test_seq_at(l).map(|a| (axis.px(l as f64), py(a.mean))))
            .collect();
        c.polyline(&pts, PALETTE[i % PALETTE.len()], false, v.label);
        for (x, y) in &pts {
            let _ =
                writeln!(c.body, r#"<circle cx="{x:.2}" cy="{y:.2}" r="3" fill="{}"/>"#, PALETTE[i % PALETTE.len()]);
        }
    }
    c.finish()
}

/// Whether any run has at least two periodic evaluations (`curves.svg` is drawn then).
pub fn has_curves(res: &ExperimentResults) -> bool {
    res.runs.iter().any(|r| r.periodic.len() >= 2)
}

/// Test (solid) and train (dashed) sequence accuracy vs step from the
/// periodic evaluations, mean over seeds at each step. With `log_x`, the
/// step axis is logarithmic and evaluations at step 0 are left out.
pub fn curves(res: &ExperimentResults, log_x: bool) -> String {
    let vs = variants(res);
    let steps: BTreeSet<usize> =
        res.runs.iter().flat_map(|r| r.periodic.iter().map(|e| e.step)).filter(|&s| !log_x || s > 0).collect();
    let xs: Vec<f64> = steps.iter().map(|&s| s as f64).collect();
    let axis = if log_x { Axis::log(&xs) } else { Axis::linear(&xs) };
    let labels: Vec<&str> = vs.iter().map(|v| v.label).collect();
    let mut c = Chart::new(&format!("{}: sequence accuracy during training", res.experiment), &labels, true);
    c.frame(&axis, if log_x { "step (log scale)" } else { "step" }, "sequence accuracy");
    for (i, v) in vs.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        for (train, name) in [(false, "test"), (true, "train")] {
            let pts: Vec<(f64, f64)> = steps
                .iter()
                .filter_map(|&s| {
                    let vals = v.runs.iter().flat_map(|r| r.periodic.iter()).filter(|e| e.step == s);
                    let a = Agg::of(vals.map(|e| if train { e.train } else { e.test }.sequence_accuracy))?;
                    Some((axis.px(s as f64), py(a.mean)))
                })
                .collect();
            c.polyline(&pts, color, train, &format!("{} ({name})", v.label));
        }
    }
    c.finish()
}

/// The y pixel of an accuracy (0 at the bottom, 1 at the top).
fn py(acc: f64) -> f64 {
    TOP + PH * (1.0 - acc.clamp(0.0, 1.0))
}

/// An x axis: domain, scale and ticks.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl Axis {
    fn linear(xs: &[f64]) -> Axis {
        let (mut lo, mut hi) = min_max(xs).unwrap_or((0.0, 1.0));
        if hi <= lo {
            lo -= 1.0;
            hi += 1.0;
        }
        // A margin so that end points and the train-length line clear the frame.
        let pad = (hi - lo) * MARGIN;
        let (lo, hi) = (lo - pad, hi + pad);
        let raw = (hi - lo) / 8.0;
        let mag = 10f64.powf(raw.log10().floor());
        let norm = raw / mag;
        let nice = mag
            * if norm < 1.5 {
                1.0
            } else if norm < 3.0 {
                2.0
            } else if norm < 7.0 {
                5.0
            } else {
                10.0
            };
        // Lengths and steps are integers: no fractional ticks.
        let step = nice.max(1.0);
        let mut ticks = Vec::new();
        let mut k = (lo / step).ceil();
        while k * step <= hi + step * 1e-9 {
            ticks.push(k * step);
            k += 1.0;
        }
        Axis { lo, hi, log: false, ticks }
    }
    fn log(xs: &[f64]) -> Axis {
        let (mut lo, mut hi) = min_max(xs).unwrap_or((1.0, 10.0));
        if hi <= lo {
            lo /= 2.0;
            hi *= 2.0;
        }
        let pad = (hi / lo).powf(MARGIN);
        let (lo, hi) = (lo / pad, hi * pad);
        let mut ticks = Vec::new();
        let mut p = 10f64.powf(lo.log10().floor());
        while p <= hi * (1.0 + 1e-9) {
            for m in [1.0, 2.0, 5.0] {
                let t = p * m;
                if t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9) {
                    ticks.push(t);
                }
            }
            p *= 10.0;
        }
        // Few decades: keep 1-2-5; many: keep powers of ten only.
        if ticks.len() > 10 {
            ticks.retain(|t| (t.log10() - t.log10().round()).abs() < 1e-9);
        }
        Axis { lo, hi, log: true, ticks }
    }
    fn px(&self, x: f64) -> f64 {
        let f = if self.log {
            (x.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (x - self.lo) / (self.hi - self.lo)
        };
        LEFT + PW * f
    }
}

fn min_max(xs: &[f64]) -> Option<(f64, f64)> {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// A tick label: integers without decimals, others with as few as needed (up to 3).
fn tick_label(t: f64) -> String {
    if (t - t.round()).abs() < 1e-9 {
        format!("{:.0}", t.round())
    } else {
        let s = format!("{t:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// A chart being drawn: the plot area on the left, the legend on the right.
struct Chart {
    title: String,
    legend: String,
    body: String,
    width: f64,
    height: f64,
}

impl Chart {
    fn new(title: &str, labels: &[&str], line_key: bool) -> Chart {
        let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0).max(12);
        let legend_w = 40.0 + 7.0 * chars as f64;
        let lx = LEFT + PW + 20.0;
        let mut legend = String::new();
        let mut y = TOP + 10.0;
        for (i, l) in labels.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let _ = writeln!(
                legend,
                r#"<line x1="{lx:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="{color}" stroke-width="2"/>"#,
                lx + 24.0
            );
            let _ = writeln!(legend, r#"<text x="{:.2}" y="{:.2}">{}</text>"#, lx + 30.0, y + 4.0, esc(l));
            y += 18.0;
        }
        if line_key {
            y += 8.0;
            for (dash, name) in [("", "test"), (r#" stroke-dasharray="6 4""#, "train")] {
                let _ = writeln!(
                    legend,
                    r##"<line x1="{lx:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="#333" stroke-width="2"{dash}/>"##,
                    lx + 24.0
                );
                let _ = writeln!(legend, r#"<text x="{:.2}" y="{:.2}">{name}</text>"#, lx + 30.0, y + 4.0);
                y += 18.0;
            }
        }
        let width = (lx + legend_w + 10.0).round();
        let height = (TOP + PH + 50.0).max(y + 10.0).round();
        Chart { title: title.to_string(), legend, body: String::new(), width, height }
    }

    /// Plot border, ticks, grid and axis labels.
    fn frame(&mut self, axis: &Axis, xlabel: &str, ylabel: &str) {
        let b = &mut self.body;
        let (bottom, right) = (TOP + PH, LEFT + PW);
        for i in 0..=5 {
            let v = i as f64 / 5.0;
            let y = py(v);
            let _ = writeln!(b, r##"<line x1="{LEFT:.2}" y1="{y:.2}" x2="{right:.2}" y2="{y:.2}" stroke="#e5e5e5"/>"##);
            let _ = writeln!(b, r#"<text x="{:.2}" y="{:.2}" text-anchor="end">{v:.1}</text>"#, LEFT - 6.0, y + 4.0);
        }
        for &t in &axis.ticks {
            let x = axis.px(t);
            let _ = writeln!(
                b,
                r##"<line x1="{x:.2}" y1="{bottom:.2}" x2="{x:.2}" y2="{:.2}" stroke="#333"/>"##,
                bottom + 5.0
            );
            let _ = writeln!(
                b,
                r#"<text x="{x:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
                bottom + 18.0,
                tick_label(t)
            );
        }
        let _ = writeln!(
            b,
            r##"<rect x="{LEFT:.2}" y="{TOP:.2}" width="{PW:.2}" height="{PH:.2}" fill="none" stroke="#333"/>"##
        );
        let _ = writeln!(
            b,
            r#"<text x="{:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
            LEFT + PW / 2.0,
            bottom + 38.0,
            esc(xlabel)
        );
        let (yx, yy) = (16.0, TOP + PH / 2.0);
        let _ = writeln!(
            b,
            r#"<text x="{yx:.2}" y="{yy:.2}" text-anchor="middle" transform="rotate(-90 {yx:.2} {yy:.2})">{}</text>"#,
            esc(ylabel)
        );
    }

    /// One series; always emitted (with no points when there is no data) so
    /// that each series has exactly one polyline.
    fn polyline(&mut self, pts: &[(f64, f64)], color: &str, dashed: bool, name: &str) {
        // An accuracy over no examples is NaN ("n/a"): no point.
        let pts = pts.iter().filter(|(x, y)| x.is_finite() && y.is_finite());
        let points: Vec<String> = pts.map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
        let dash = if dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}><title>{}</title></polyline>"#,
            points.join(" "),
            esc(name)
        );
    }

    fn finish(self) -> String {
        let mut s = String::new();
        let (w, h) = (self.width, self.height);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="24" text-anchor="middle" font-size="14">{}</text>"#,
            LEFT + PW / 2.0,
            esc(&self.title)
        );
        s.push_str(&self.body);
        s.push_str(&self.legend);
        s.push_str("</svg>\n");
        s
    }
}

/// Escapes text for XML content and attribute values.
pub fn esc(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    for ch in t.chars() {
        match ch {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            c => s.push(c),
        }
    }
    s
}
