//! Reports: results.json, report.md, SVG plots.
//!
//! Everything here reads the [`results`] records, never models. An
//! experiment directory (`runs/<experiment>/`) gets:
//!
//! - `results.json`: [`ExperimentResults`], pretty JSON;
//! - `report.md`: tables ([`markdown::render`]);
//! - `accuracy_by_length.svg` (length splits): test token and sequence accuracy vs length,
//!   training lengths shaded, chance level drawn ([`svg::accuracy_by_length`]);
//! - `curves.svg`: train and test accuracy vs step through the final evaluation, when some run
//!   has at least two evaluations ([`svg::curves`]);
//! - `grokking.svg` (finite universes): train (clean and corrupted apart when labels are
//!   corrupted) and test accuracy vs step on a log axis, and a "Grokking" section in
//!   `report.md` ([`grokking`]).
//!
//! All files are written atomically ([`write_atomic`]). `algen report DIR`
//! calls [`rerender`].

mod axis;
pub mod chart;
pub mod glance;
pub mod grokking;
pub mod markdown;
pub mod merge;
pub mod results;
pub mod score;
pub mod stats;
pub mod svg;
pub mod table;
pub mod write;

pub use results::ExperimentResults;
pub use table::summary_table;
pub use write::{append_line, write_atomic};

use std::io;
use std::path::{Path, PathBuf};

pub const RESULTS_JSON: &str = "results.json";
pub const REPORT_MD: &str = "report.md";
pub const ACCURACY_SVG: &str = "accuracy_by_length.svg";
pub const CURVES_SVG: &str = "curves.svg";
pub const GROKKING_SVG: &str = "grokking.svg";

/// Writes `results.json`, `report.md`, `accuracy_by_length.svg` (length splits), `curves.svg`
/// (when some run has at least two evaluations) and `grokking.svg` (finite universes) into
/// `dir` (created if needed), each atomically. Returns the paths written, in that order.
///
/// JSON has no NaN or infinity: serde_json writes a non-finite `f64` as
/// `null`, which [`load`] then rejects, so the records should hold finite
/// numbers only.
pub fn write_experiment(dir: &Path, res: &ExperimentResults) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut json = serde_json::to_string_pretty(res).map_err(io::Error::other)?;
    json.push('\n');
    let path = dir.join(RESULTS_JSON);
    write_atomic(&path, json.as_bytes())?;
    let mut paths = vec![path];
    paths.extend(render_files(dir, res)?);
    Ok(paths)
}

/// Reads `dir/results.json`.
pub fn load(dir: &Path) -> io::Result<ExperimentResults> {
    let path = dir.join(RESULTS_JSON);
    let bytes = std::fs::read(&path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let msg = format!("{}: {e}", path.display());
        io::Error::new(io::ErrorKind::InvalidData, msg)
    })
}

/// Re-reads `dir/results.json` and rewrites `report.md` and the SVGs (for
/// `algen report DIR`). Returns the paths written.
pub fn rerender(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let res = load(dir)?;
    render_files(dir, &res)
}

/// A copy with every timing zeroed (wall time, steps/s, tokens/s, eval
/// seqs/s), so that snapshots of tables and reports are reproducible.
pub fn timings_redacted(res: &ExperimentResults) -> ExperimentResults {
    let mut out = res.clone();
    for r in &mut out.runs {
        r.timing = results::Timing::default();
    }
    out
}

/// Writes the rendered files (everything but `results.json`).
fn render_files(dir: &Path, res: &ExperimentResults) -> io::Result<Vec<PathBuf>> {
    let mut files = vec![(REPORT_MD, markdown::render(res))];
    if res.universe.is_none() && !res.test_lengths.is_empty() {
        files.push((ACCURACY_SVG, svg::accuracy_by_length(res)));
    }
    if svg::has_curves(res) {
        files.push((CURVES_SVG, svg::curves(res, false)));
    }
    if res.universe.is_some() {
        files.push((GROKKING_SVG, grokking::plot(res)));
    }
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        paths.push(path);
    }
    Ok(paths)
}
