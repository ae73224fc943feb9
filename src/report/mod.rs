//! Reports: results.json, report.md, SVG plots.
pub mod results;
