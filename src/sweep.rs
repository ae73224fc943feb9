//! The commands of sweeps beyond one process: `plan`, `report`, `status`, and the run
//! selection of `run --shard/--only`.

use crate::commands::{experiments, load, Failure};
use algen::ir::{Experiment, Spec};
use algen::plan::{self, PlannedRun, Shard};
use algen::report::{self, merge};
use serde_json::json;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// `algen plan FILE [-e NAME] [--steps N] [--json]`.
pub fn plan_cmd(file: &Path, only: Option<&str>, steps: Option<usize>, as_json: bool) -> Result<(), Failure> {
    let loaded = load(file)?;
    let exps = experiments(&loaded.spec, only)?;
    let runs = plan::plan(&loaded.spec, &exps, steps);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json!(runs)).unwrap_or_default())
    } else {
        plan_table(&mut out, &runs)
    };
    let _ = written.and_then(|_| out.flush());
    Ok(())
}

/// One line per run, columns aligned, then the total.
fn plan_table(out: &mut impl Write, runs: &[PlannedRun]) -> std::io::Result<()> {
    let w = |f: &dyn Fn(&PlannedRun) -> usize, min: usize| runs.iter().map(f).max().unwrap_or(0).max(min);
    let (we, wv) = (w(&|r| r.experiment.chars().count(), 10), w(&|r| r.variant.chars().count(), 7));
    writeln!(
        out,
        "{:<4} {:<we$} {:<wv$} {:>4} {:<12} {:>10} {:>14} {:>9}",
        "#", "experiment", "variant", "seed", "id", "params", "flops/step", "steps"
    )?;
    for (i, r) in runs.iter().enumerate() {
        writeln!(
            out,
            "{:<4} {:<we$} {:<wv$} {:>4} {:<12} {:>10} {:>14.3e} {:>9}",
            i, r.experiment, r.variant, r.seed, r.id, r.params, r.flops_per_step as f64, r.steps
        )?;
    }
    let flops: f64 = runs.iter().map(|r| r.flops_per_step as f64 * r.steps as f64).sum();
    writeln!(out, "{} run(s), {flops:.3e} training FLOPs in all", runs.len())
}

/// The ids `run --shard/--only` trains (`None`: every run), or a usage error.
pub fn selection(
    spec: &Spec,
    exps: &[&Experiment],
    steps: Option<usize>,
    shard: Option<Shard>,
    only: Option<&[String]>,
) -> Result<Option<HashSet<String>>, Failure> {
    if shard.is_none() && only.is_none() {
        return Ok(None);
    }
    let runs = plan::plan(spec, exps, steps);
    match plan::select(&runs, shard, only) {
        Ok(ids) => Ok(Some(ids)),
        Err(unknown) => Err(Failure::Usage(format!(
            "no run with id {} in the plan of this spec (see `algen plan`{})",
            unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            steps.map(|s| format!(" --steps {s}")).unwrap_or_default()
        ))),
    }
}

/// The experiment folders of `dir`, or a usage error.
fn experiment_dirs(dir: &Path, what: &str) -> Result<Vec<std::path::PathBuf>, Failure> {
    const SHOULD: &str = "give the `--out` folder of `algen run` (one folder per experiment, each with \
                          plan.json, runs/ and results.json) or one experiment folder in it";
    if !dir.is_dir() {
        let why = if dir.exists() { "is not a folder" } else { "does not exist" };
        return Err(Failure::Usage(format!("`{}` {why}: {SHOULD}", dir.display())));
    }
    let dirs =
        merge::experiment_dirs(dir).map_err(|e| Failure::Usage(format!("cannot {what} `{}`: {e}", dir.display())))?;
    if dirs.is_empty() {
        return Err(Failure::Usage(format!(
            "`{}` holds no experiment of `algen run` (no plan.json in it or its folders): {SHOULD}",
            dir.display()
        )));
    }
    Ok(dirs)
}

/// `algen report DIR`: merges every experiment under DIR (an `--out` folder or one
/// experiment folder); a folder with only `results.json` (an older algen) is re-rendered.
pub fn report_cmd(dir: &Path) -> Result<(), Failure> {
    if !dir.join(merge::PLAN_JSON).is_file() && dir.join(report::RESULTS_JSON).is_file() {
        let paths =
            report::rerender(dir).map_err(|e| Failure::Usage(format!("cannot re-render `{}`: {e}", dir.display())))?;
        paths.iter().for_each(|p| println!("{}", p.display()));
        return Ok(());
    }
    for exp in experiment_dirs(dir, "merge")? {
        let m = merge::merge(&exp).map_err(|e| Failure::Usage(format!("cannot merge `{}`: {e}", exp.display())))?;
        let done = m.results.runs.len();
        println!(
            "{}: {done} of {} run(s) merged into {}",
            m.results.experiment,
            m.states.len(),
            exp.join(report::RESULTS_JSON).display()
        );
        for (p, s) in &m.states {
            let line = |what: &str| println!("  {what:<8} {} {} seed {}", p.id, p.variant, p.seed);
            match s {
                merge::RunState::Done => {}
                merge::RunState::Failed(why) => line(&format!("failed   ({why})")),
                merge::RunState::Running => line("running"),
                merge::RunState::Interrupted => line("interrupted"),
                merge::RunState::Missing => line("missing"),
            }
        }
        for x in m.results.expects.iter().filter(|x| !x.holds) {
            println!("  expectation `{}` does not hold (value {:.4}, over {done} run(s))", x.text, x.value);
        }
    }
    Ok(())
}

/// `algen status OUT`: one line per experiment.
pub fn status_cmd(out: &Path) -> Result<(), Failure> {
    let dirs = experiment_dirs(out, "read")?;
    let we = dirs
        .iter()
        .filter_map(|d| d.file_name())
        .map(|n| n.to_string_lossy().chars().count())
        .max()
        .unwrap_or(0)
        .max(10);
    let row = |name: &str, n: &[usize; 6]| {
        println!("{name:<we$} {:>6} {:>8} {:>12} {:>7} {:>8} {:>6}", n[0], n[1], n[2], n[3], n[4], n[5])
    };
    println!(
        "{:<we$} {:>6} {:>8} {:>12} {:>7} {:>8} {:>6}",
        "experiment", "done", "running", "interrupted", "failed", "missing", "total"
    );
    let mut all = [0usize; 6];
    for exp in dirs {
        let m = merge::collect(&exp).map_err(|e| Failure::Usage(format!("cannot read `{}`: {e}", exp.display())))?;
        let n = [
            m.count(|s| *s == merge::RunState::Done),
            m.count(|s| *s == merge::RunState::Running),
            m.count(|s| *s == merge::RunState::Interrupted),
            m.count(|s| matches!(s, merge::RunState::Failed(_))),
            m.count(|s| *s == merge::RunState::Missing),
            m.states.len(),
        ];
        row(&m.results.experiment, &n);
        all.iter_mut().zip(n).for_each(|(a, x)| *a += x);
    }
    row("all", &all);
    Ok(())
}
