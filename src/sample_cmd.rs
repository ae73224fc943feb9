//! `algen sample`: drawn examples of a task, or every example of a finite task (or of one part
//! of a split over it), as text lines or JSON.

use crate::commands::{find_task, load, print_diags, Failure};
use algen::diag;
use algen::ir;
use algen::task;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// Tokens joined for display: concatenated when all are one character.
fn show_tokens(toks: &[String]) -> String {
    if toks.iter().all(|t| t.chars().count() == 1) {
        toks.concat()
    } else {
        toks.join(" ")
    }
}

/// A scratchpad for display: one line per step (the steps end with `<sep>`), tokens spaced.
fn show_scratch(toks: &[String]) -> String {
    let mut out = String::new();
    for step in toks.split(|t| t == task::vocab::SEP).filter(|s| !s.is_empty()) {
        out.push_str("\n  | ");
        out.push_str(&step.join(" "));
    }
    out
}

pub(crate) fn sample(file: &Path, name: &str, len: usize, n: usize, seed: u64, as_json: bool) -> Result<(), Failure> {
    let loaded = load(file)?;
    let t = find_task(&loaded.spec, name)?;
    let mut stream = task::Stream::new(t, "sample", len, seed);
    let mut out = std::io::stdout().lock();
    for _ in 0..n {
        let ex = match stream.next_example() {
            Ok(e) => e,
            Err(e) => {
                print_diags(&loaded.sources, vec![e.to_diag()]);
                return Err(Failure::Spec);
            }
        };
        if writeln!(out, "{}", example_line(t, &ex, as_json)).is_err() {
            break;
        }
    }
    Ok(())
}

/// `sample --all [--split S --part P]`: a finite task's examples, or one part of a split.
pub(crate) fn sample_all(
    file: &Path,
    name: &str,
    part: Option<(&str, &str)>,
    as_json: bool,
    seed: u64,
) -> Result<(), Failure> {
    let loaded = load(file)?;
    let t = find_task(&loaded.spec, name)?;
    if !t.is_finite() {
        return Err(Failure::Usage(format!(
            "`--all` lists finite tasks (a grammar without recursion, a universe input); task `{name}` is not one"
        )));
    }
    let listed = match part {
        None => task::enumerate(t),
        Some((split, which)) => {
            let Some(s) = loaded.spec.split(split) else {
                let names: Vec<&str> = loaded.spec.splits.iter().map(|s| s.name.as_str()).collect();
                return Err(Failure::Usage(format!(
                    "no split `{split}` in the spec; {}",
                    diag::suggest(split, &names)
                )));
            };
            if !s.is_finite() {
                return Err(Failure::Usage(format!("split `{split}` selects by length; `--split` lists splits with `where`, `fraction` or `rest` parts")));
            }
            task::split_universe(t, s, seed).map(|p| if which == "train" { p.train } else { p.test })
        }
    };
    let examples = listed.map_err(|e| {
        print_diags(&loaded.sources, vec![e.to_diag()]);
        Failure::Spec
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for ex in &examples {
        if writeln!(out, "{}", example_line(t, ex, as_json)).is_err() {
            break;
        }
    }
    let _ = out.flush();
    Ok(())
}

/// One example as `sample` prints it, with the machine's scratchpad if the task has one.
fn example_line(t: &ir::Task, ex: &task::Example, as_json: bool) -> String {
    let input: Vec<String> = ex.input.iter().map(|&i| t.alphabet[i as usize].clone()).collect();
    let output: Vec<String> = ex.target.iter().map(|&i| t.output_text(i)).collect();
    let scratch = task::machine::scratchpad(t, &ex.input).unwrap_or_default();
    if as_json && !scratch.is_empty() {
        json!({"input": input, "scratchpad": scratch, "output": output}).to_string()
    } else if as_json {
        json!({"input": input, "output": output}).to_string()
    } else {
        format!("{} -> {}{}", show_tokens(&input), show_tokens(&output), show_scratch(&scratch))
    }
}
