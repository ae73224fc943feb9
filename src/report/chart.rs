//! SVG chart primitives for the report's plots ([`super::svg`]): axes, panels side by side, a
//! legend, and one style per series.
//!
//! Output is deterministic: coordinates have two decimals and styles come from fixed tables in
//! series order. Series stay distinguishable where they overlap: each has its own colour, dash
//! pattern and hollow marker shape, and earlier series are drawn wider, so a later line lying
//! exactly on an earlier one shows as a core inside a band.

use super::axis::tick_label;
pub use super::axis::Axis;
use std::fmt::Write;

/// Tableau 10, cycled when there are more series.
const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
/// Dash patterns, cycled (the empty one is solid).
const DASHES: [&str; 4] = ["", "9 4", "3 3", "9 3 2 3"];
/// Marker shapes, cycled.
const MARKERS: [Marker; 5] = [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond, Marker::Cross];
pub const TOP: f64 = 48.0;
pub const LEFT: f64 = 64.0;
/// Space between panels (room for the next panel's tick labels).
const GAP: f64 = 80.0;
/// Most markers drawn along one series (every k-th point, and always the last).
const MAX_MARKERS: usize = 20;

#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
    Cross,
}

/// How series `i` is drawn.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: &'static str,
    dash: &'static str,
    marker: Marker,
    width: f64,
}

impl Style {
    pub fn of(i: usize) -> Style {
        Style {
            color: PALETTE[i % PALETTE.len()],
            dash: DASHES[i % DASHES.len()],
            marker: MARKERS[i % MARKERS.len()],
            width: (4.0 - 0.75 * i as f64).max(1.5),
        }
    }
    fn dash_attr(&self) -> String {
        if self.dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{}""#, self.dash)
        }
    }
    /// A hollow (unfilled, so that markers on each other all show) marker centred at `(x, y)`.
    fn marker(&self, x: f64, y: f64) -> String {
        let c = self.color;
        let attrs = format!(r#"fill="none" stroke="{c}" stroke-width="1.5""#);
        match self.marker {
            Marker::Circle => format!(r#"<circle cx="{x:.2}" cy="{y:.2}" r="4" {attrs}/>"#),
            Marker::Square => format!(r#"<rect x="{:.2}" y="{:.2}" width="7" height="7" {attrs}/>"#, x - 3.5, y - 3.5),
            Marker::Triangle => format!(
                r#"<path d="M{x:.2} {:.2}L{:.2} {:.2}L{:.2} {:.2}Z" {attrs}/>"#,
                y - 5.0,
                x + 4.5,
                y + 3.5,
                x - 4.5,
                y + 3.5
            ),
            Marker::Diamond => format!(
                r#"<path d="M{x:.2} {:.2}L{:.2} {y:.2}L{x:.2} {:.2}L{:.2} {y:.2}Z" {attrs}/>"#,
                y - 5.0,
                x + 5.0,
                y + 5.0,
                x - 5.0
            ),
            Marker::Cross => format!(
                r#"<path d="M{:.2} {:.2}L{:.2} {:.2}M{:.2} {:.2}L{:.2} {:.2}" fill="none" stroke="{c}" stroke-width="2"/>"#,
                x - 4.0,
                y - 4.0,
                x + 4.0,
                y + 4.0,
                x - 4.0,
                y + 4.0,
                x + 4.0,
                y - 4.0
            ),
        }
    }
}

/// One plot area: accuracy (0 to 1) up, the shared x axis across.
pub struct Panel<'a> {
    left: f64,
    width: f64,
    height: f64,
    axis: &'a Axis,
}

impl Panel<'_> {
    pub fn px(&self, x: f64) -> f64 {
        self.left + self.width * self.axis.frac(x)
    }
    pub fn py(&self, acc: f64) -> f64 {
        TOP + self.height * (1.0 - acc.clamp(0.0, 1.0))
    }
    fn right(&self) -> f64 {
        self.left + self.width
    }
    fn bottom(&self) -> f64 {
        TOP + self.height
    }
}

/// A chart being drawn: panels left to right sharing one x axis, the legend on the right.
pub struct Chart {
    title: String,
    subtitle: String,
    legend: String,
    pub body: String,
    /// Labels drawn over the series when the panel is closed.
    overlay: String,
    width: f64,
    height: f64,
    panel_w: f64,
    panel_h: f64,
}

impl Chart {
    /// A chart of `panels` panels with one legend entry per label (series `i` in [`Style::of`]`(i)`).
    pub fn new(title: &str, subtitle: &str, labels: &[&str], panels: usize) -> Chart {
        let panel_w = if panels <= 1 { 560.0 } else { 420.0 };
        let panel_h = 320.0;
        let lx = LEFT + panels as f64 * (panel_w + GAP) - GAP + 24.0;
        let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0).max(12);
        let mut legend = String::new();
        let mut y = TOP + 10.0;
        for (i, l) in labels.iter().enumerate() {
            let st = Style::of(i);
            let _ = writeln!(
                legend,
                r#"<line x1="{lx:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="{}" stroke-width="{:.2}"{}/>"#,
                lx + 36.0,
                st.color,
                st.width.min(3.0),
                st.dash_attr()
            );
            legend.push_str(&st.marker(lx + 18.0, y));
            legend.push('\n');
            let _ = writeln!(legend, r#"<text x="{:.2}" y="{:.2}">{}</text>"#, lx + 44.0, y + 4.0, esc(l));
            y += 20.0;
        }
        Chart {
            title: title.to_string(),
            subtitle: subtitle.to_string(),
            legend,
            body: String::new(),
            overlay: String::new(),
            width: (lx + 54.0 + 7.0 * chars as f64).round(),
            height: (TOP + panel_h + 68.0).max(y + 10.0).round(),
            panel_w,
            panel_h,
        }
    }

    /// Panel `k` (from 0) over `axis`, framed: border, grid, ticks, its title and axis labels.
    pub fn panel<'a>(&mut self, k: usize, axis: &'a Axis, title: &str, xlabel: &str, ylabel: &str) -> Panel<'a> {
        let p = Panel { left: LEFT + k as f64 * (self.panel_w + GAP), width: self.panel_w, height: self.panel_h, axis };
        let b = &mut self.body;
        let (left, right, bottom) = (p.left, p.right(), p.bottom());
        for i in 0..=5 {
            let v = i as f64 / 5.0;
            let y = p.py(v);
            let _ = writeln!(b, r##"<line x1="{left:.2}" y1="{y:.2}" x2="{right:.2}" y2="{y:.2}" stroke="#e5e5e5"/>"##);
            let _ = writeln!(b, r#"<text x="{:.2}" y="{:.2}" text-anchor="end">{v:.1}</text>"#, left - 6.0, y + 4.0);
        }
        for &t in &axis.ticks {
            let x = p.px(t);
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
        let mid = left + p.width / 2.0;
        let _ = writeln!(
            b,
            r#"<text x="{mid:.2}" y="{:.2}" text-anchor="middle" font-weight="bold">{}</text>"#,
            TOP - 8.0,
            esc(title)
        );
        let _ =
            writeln!(b, r#"<text x="{mid:.2}" y="{:.2}" text-anchor="middle">{}</text>"#, bottom + 38.0, esc(xlabel));
        let (yx, yy) = (left - 44.0, TOP + p.height / 2.0);
        let _ = writeln!(
            b,
            r#"<text x="{yx:.2}" y="{yy:.2}" text-anchor="middle" transform="rotate(-90 {yx:.2} {yy:.2})">{}</text>"#,
            esc(ylabel)
        );
        p
    }

    /// Closes panel `p`: its border and labels, drawn over the series.
    pub fn border(&mut self, p: &Panel) {
        self.body.push_str(&std::mem::take(&mut self.overlay));
        let _ = writeln!(
            self.body,
            r##"<rect x="{:.2}" y="{TOP:.2}" width="{:.2}" height="{:.2}" fill="none" stroke="#333"/>"##,
            p.left, p.width, p.height
        );
    }

    /// A shaded band from `x0` to `x1` (data units) with a label at its top.
    pub fn band(&mut self, p: &Panel, x0: f64, x1: f64, label: &str) {
        let (a, b) = (p.px(x0).max(p.left), p.px(x1).min(p.right()));
        let _ = writeln!(
            self.body,
            r##"<rect x="{a:.2}" y="{TOP:.2}" width="{:.2}" height="{:.2}" fill="#d9d9d9" fill-opacity="0.5"/>"##,
            (b - a).max(2.0),
            p.height
        );
        // At the bottom, over the series: inside the training range accuracy is usually high.
        let _ = writeln!(
            self.overlay,
            r##"<text x="{:.2}" y="{:.2}" fill="#555" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"##,
            a + 4.0,
            TOP + p.height - 6.0,
            esc(label)
        );
    }

    /// A dashed horizontal reference line at accuracy `y`, labelled at its left end (over the series).
    pub fn hline(&mut self, p: &Panel, y: f64, label: &str) {
        let py = p.py(y);
        let _ = writeln!(
            self.body,
            r##"<line x1="{:.2}" y1="{py:.2}" x2="{:.2}" y2="{py:.2}" stroke="#555" stroke-width="1.5" stroke-dasharray="2 4"/>"##,
            p.left,
            p.right()
        );
        let ly = if y > 0.9 { py + 14.0 } else { py - 5.0 };
        // A white halo keeps the label readable where a series crosses it.
        let _ = writeln!(
            self.overlay,
            r##"<text x="{:.2}" y="{ly:.2}" fill="#555" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"##,
            p.left + 4.0,
            esc(label)
        );
    }

    /// Series `i` through the points `(x, accuracy)` in data units; always emitted (with no
    /// points when there is no data) so that each series has exactly one polyline per panel.
    pub fn series(&mut self, p: &Panel, i: usize, pts: &[(f64, f64)], name: &str) {
        let st = Style::of(i);
        // An accuracy over no examples is NaN ("n/a"): no point.
        let px: Vec<(f64, f64)> =
            pts.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).map(|&(x, y)| (p.px(x), p.py(y))).collect();
        let points: Vec<String> = px.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="{:.2}" stroke-linejoin="round"{}><title>{}</title></polyline>"#,
            points.join(" "),
            st.color,
            st.width,
            st.dash_attr(),
            esc(name)
        );
        // Long series: every k-th point, staggered by series so that markers of series lying
        // on each other alternate instead of hiding each other.
        let every = px.len().div_ceil(MAX_MARKERS).max(1);
        for (k, (x, y)) in px.iter().enumerate() {
            if (k + i).is_multiple_of(every) || k + 1 == px.len() {
                self.body.push_str(&st.marker(*x, *y));
                self.body.push('\n');
            }
        }
    }

    pub fn finish(self) -> String {
        let mut s = String::new();
        let (w, h) = (self.width, self.height);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(s, r#"<text x="{LEFT:.2}" y="18" font-size="14">{}</text>"#, esc(&self.title));
        if !self.subtitle.is_empty() {
            let _ =
                writeln!(s, r##"<text x="{LEFT:.2}" y="{:.2}" fill="#555">{}</text>"##, h - 8.0, esc(&self.subtitle));
        }
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
