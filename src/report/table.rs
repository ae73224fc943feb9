//! The plain-text summary printed at the end of `algen run`.

use super::results::{ExperimentResults, RunStatus};
use super::stats::{fmt3, opt, variants, Agg};
use std::fmt::Write;

/// A fixed-width table (variant, seeds, train seq acc, test seq acc, test
/// token acc, steps/s; accuracies are means over seeds with `± half range`
/// when there are several), then one line per diverged run and per
/// expectation (`✓`/`✗`).
pub fn summary_table(res: &ExperimentResults) -> String {
    let header = ["variant", "seeds", "train seq acc", "test seq acc", "test tok acc", "steps/s"];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for v in variants(res) {
        let div = v.diverged();
        let seeds = if div > 0 { format!("{} ({div} div)", v.runs.len()) } else { v.runs.len().to_string() };
        rows.push(vec![
            v.label.replace(['\r', '\n'], " "),
            seeds,
            opt(v.final_agg(|e| e.train.sequence_accuracy), Agg::fmt_pm),
            opt(v.final_agg(|e| e.test.sequence_accuracy), Agg::fmt_pm),
            opt(v.final_agg(|e| e.test.token_accuracy), Agg::fmt_pm),
            opt(v.run_agg(|r| r.timing.train_steps_per_s), |a| format!("{:.1}", a.mean)),
        ]);
    }
    let width =
        |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = " ".repeat(widths[i] - c.chars().count());
                if i == 0 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut s = String::new();
    let _ = writeln!(s, "{}", line(&header.map(String::from)));
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let _ = writeln!(s, "{}", "-".repeat(total));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r));
    }
    for r in &res.runs {
        if let RunStatus::Diverged { step, message } = &r.status {
            let _ = writeln!(s, "diverged: {} seed {} at step {step}: {message}", r.variant, r.seed);
        }
    }
    for e in &res.expects {
        let mark = if e.holds { "✓" } else { "✗" };
        let _ = writeln!(s, "{mark} expect {} (value {})", e.text, fmt3(e.value));
    }
    s
}
