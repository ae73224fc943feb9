//! `report.md`: the experiment's tables in Markdown.

use super::results::{ExperimentResults, RunStatus};
use super::stats::{count, evenly, fmt3, fmt_lengths, opt, variants, Agg, VariantRuns};
use std::fmt::Write;

/// Most test-length columns in the accuracy tables (besides min, mean and max).
pub const MAX_LENGTH_COLUMNS: usize = 8;

/// Renders `report.md`. Numbers have three decimals so that the same
/// results always give the same text.
pub fn render(res: &ExperimentResults) -> String {
    let mut s = String::new();
    let vs = variants(res);
    let _ = writeln!(s, "# Experiment `{}`\n", code(&res.experiment));
    if let Some(note) = &res.note {
        let _ = writeln!(s, "> {}\n", note.replace('\n', " "));
    }
    header_lines(&mut s, res, &vs);
    s.push_str(&super::glance::section(res));
    if res.universe.is_none() && !res.test_lengths.is_empty() {
        by_length(&mut s, res, &vs);
    }

    // Per-variant summary.
    let _ = writeln!(s, "## Summary\n");
    let header: Vec<String> =
        ["variant", "seeds", "train seq acc", "test token acc", "test seq acc", "params", "steps/s", "eval seqs/s"]
            .iter()
            .map(|h| h.to_string())
            .collect();
    let mut rows = Vec::new();
    for v in &vs {
        let div = v.diverged();
        let seeds = if div > 0 { format!("{} ({div} diverged)", v.runs.len()) } else { v.runs.len().to_string() };
        rows.push(vec![
            cell(v.label),
            seeds,
            opt(v.final_agg(|e| e.train.sequence_accuracy), Agg::fmt_pm),
            opt(v.final_agg(|e| e.test.token_accuracy), Agg::fmt_pm),
            opt(v.final_agg(|e| e.test.sequence_accuracy), Agg::fmt_pm),
            v.runs.first().map(|r| r.params.to_string()).unwrap_or_default(),
            opt(v.run_agg(|r| r.timing.train_steps_per_s), |a| format!("{:.1}", a.mean)),
            opt(v.run_agg(|r| r.timing.eval_seqs_per_s), |a| format!("{:.1}", a.mean)),
        ]);
    }
    table(&mut s, &header, &rows, 1);
    s.push_str(&super::score::section(res));
    s.push_str(&super::grokking::section(res));

    // Diverged runs.
    let diverged: Vec<_> = res
        .runs
        .iter()
        .filter_map(|r| match &r.status {
            RunStatus::Diverged { step, message } => Some((r, step, message)),
            RunStatus::Ok => None,
        })
        .collect();
    if !diverged.is_empty() {
        let _ = writeln!(s, "## Diverged runs\n");
        for (r, step, message) in diverged {
            let _ =
                writeln!(s, "- `{}` seed {}: diverged at step {step}: {}", code(&r.variant), r.seed, inline(message));
        }
        s.push('\n');
    }

    // Expectations.
    if !res.expects.is_empty() {
        let _ = writeln!(s, "## Expectations\n");
        for e in &res.expects {
            let mark = if e.holds { "✓" } else { "✗" };
            let _ = writeln!(s, "- {mark} `{}` (value {})", code(&e.text), fmt3(e.value));
        }
        s.push('\n');
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

/// The list under the title: task and chance level, split, lengths or universe, runs.
fn header_lines(s: &mut String, res: &ExperimentResults, vs: &[VariantRuns]) {
    let _ = writeln!(s, "- task: `{}`", code(&res.task));
    if let Some(c) = res.chance.filter(|c| c.outputs > 0) {
        let tok = c.token().map_or_else(String::new, fmt3);
        let level = match c.sequence() {
            Some(_) => format!("accuracy {tok} (one output per example: token and sequence accuracy alike)"),
            None => format!("token accuracy {tok}, sequence accuracy (1/{})^n for n scored outputs", c.outputs),
        };
        let outs = count(c.outputs, "output", "outputs");
        let _ = writeln!(s, "- chance level (uniform guessing over {outs}): {level}");
    }
    let _ = writeln!(s, "- split: `{}`", code(&res.split));
    match res.universe {
        Some(u) => {
            let _ = writeln!(
                s,
                "- universe: {}: {} train ({} with corrupted labels), {} test",
                count(u.total, "example", "examples"),
                u.train,
                u.corrupted,
                u.test
            );
        }
        None => {
            let _ = writeln!(s, "- train lengths: {}", fmt_lengths(&res.train_lengths));
            let _ = writeln!(s, "- test lengths: {}", fmt_lengths(&res.test_lengths));
        }
    }
    let seeds: Vec<usize> = vs.iter().map(|v| v.runs.len()).collect();
    let each = match seeds.as_slice() {
        [k, rest @ ..] if rest.iter().all(|r| r == k) => format!(" × {}", count(*k, "seed", "seeds")),
        _ => String::new(),
    };
    let runs = count(res.runs.len(), "run", "runs");
    let _ = writeln!(s, "- runs: {runs} ({}{each})\n", count(vs.len(), "variant", "variants"));
}

/// "Test accuracy by length": per variant, the accuracy at a few evenly spaced test lengths
/// and its min, mean and max over all of them; sequence accuracy, and token accuracy too when
/// examples have several outputs (with one output the two are the same).
fn by_length(s: &mut String, res: &ExperimentResults, vs: &[VariantRuns]) {
    let cols = evenly(&res.test_lengths, MAX_LENGTH_COLUMNS);
    let _ = writeln!(s, "## Test accuracy by length\n");
    let mut note = String::from("Mean over seeds; `± h` is half the range over seeds. ");
    if cols.len() < res.test_lengths.len() {
        let _ = write!(note, "Columns: {} of the {} test lengths; min", cols.len(), res.test_lengths.len());
    } else {
        note.push_str("Min");
    }
    note.push_str(", mean and max are over every test length.");
    let _ = writeln!(s, "{note}\n");
    let one = res.chance.is_some_and(|c| c.one_output);
    let metrics: &[(bool, &str)] = if one { &[(false, "sequence")] } else { &[(false, "sequence"), (true, "token")] };
    for &(token, name) in metrics {
        if metrics.len() > 1 {
            let _ = writeln!(s, "{}{} accuracy:\n", name[..1].to_uppercase(), &name[1..]);
        }
        let mut header = vec!["variant".to_string()];
        header.extend(cols.iter().map(|l| l.to_string()));
        header.extend(["min", "mean", "max"].map(String::from));
        let mut rows = Vec::new();
        for v in vs {
            let mut row = vec![cell(v.label)];
            row.extend(cols.iter().map(|&l| opt(v.test_at(l, token), Agg::fmt_pm)));
            let means = Agg::of(res.test_lengths.iter().filter_map(|&l| v.test_at(l, token)).map(|a| a.mean));
            row.push(opt(means, |a| fmt3(a.min)));
            row.push(opt(
                v.final_agg(|e| if token { e.test.token_accuracy } else { e.test.sequence_accuracy }),
                Agg::fmt_pm,
            ));
            row.push(opt(means, |a| fmt3(a.max)));
            rows.push(row);
        }
        table(s, &header, &rows, 1);
    }
}

/// Writes a Markdown table; columns from `first_num` on are right-aligned.
pub(super) fn table(s: &mut String, header: &[String], rows: &[Vec<String>], first_num: usize) {
    let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(s, "{}", line(header));
    let sep: Vec<String> =
        (0..header.len()).map(|i| if i < first_num { "---".into() } else { "---:".into() }).collect();
    let _ = writeln!(s, "|{}|", sep.join("|"));
    for r in rows {
        let _ = writeln!(s, "{}", line(r));
    }
    s.push('\n');
}

/// A label in a table cell: a code span (shown literally), with the pipes
/// escaped as GFM tables require even inside code spans.
pub(super) fn cell(t: &str) -> String {
    format!("`{}`", code(t).replace('|', "\\|"))
}

/// Literal text on one line: characters that Markdown would read as
/// markup (emphasis, links, HTML, code) are backslash-escaped.
fn inline(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    for ch in t.chars() {
        match ch {
            '\r' | '\n' => s.push(' '),
            '\\' | '`' | '*' | '_' | '<' | '[' | ']' => {
                s.push('\\');
                s.push(ch);
            }
            c => s.push(c),
        }
    }
    s
}

/// Text inside a backtick code span, on one line (backticks cannot be
/// escaped there, so they become quotes).
pub(super) fn code(t: &str) -> String {
    t.replace(['\r', '\n'], " ").replace('`', "'")
}
