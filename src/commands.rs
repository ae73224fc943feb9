//! One function per subcommand; each calls the library's pipeline stages.

use crate::cli::Command;
use crate::progress::{self, Bar};
use crate::sample_cmd;
use algen::diag::{self, Diag};
use algen::ir::{self, Spec};
use algen::model::{Kernels, ModelIo};
use algen::pipeline::{self, LoadError, Loaded, RunOptions};
use algen::report;
use algen::task;
use serde_json::{json, Value as Json};
use std::io::IsTerminal;
use std::path::Path;

pub enum Failure {
    /// A diagnostic or run failure was printed: exit 1.
    Spec,
    /// Bad usage: exit 2 with this message.
    Usage(String),
    /// Something outside algen failed (e.g. `sbatch`): exit 1 with this message.
    Failed(String),
    /// Stopped by SIGTERM/SIGUSR1 after writing a checkpoint: exit 3
    /// ([`algen::train::preempt::EXIT_STATUS`]).
    Preempted,
}

pub fn dispatch(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Check { files } => check(&files),
        Command::Run {
            file,
            experiment,
            out,
            steps,
            resume,
            restart_changed,
            only,
            shard,
            jobs,
            quiet,
            trace,
            kernels,
        } => {
            let steps = steps.map(|s| s as usize);
            // Inside a Slurm job (a requeued one too) a run continues what it finds (not a
            // traced one: a trace starts at step 1).
            let resume = resume || (trace.is_none() && std::env::var_os("SLURM_JOB_ID").is_some());
            algen::train::preempt::install();
            let kernels = if kernels == "reference" { Kernels::Reference } else { Kernels::Fused };
            let opts =
                RunOptions { out, steps, resume, restart_changed, select: None, jobs: jobs as usize, trace, kernels };
            run(&file, experiment.as_deref(), opts, shard, only.as_deref(), progress::mode(quiet))
        }
        Command::Plan { file, experiment, steps, json } => {
            crate::sweep::plan_cmd(&file, experiment.as_deref(), steps.map(|s| s as usize), json)
        }
        Command::Status { out } => crate::sweep::status_cmd(&out),
        cmd @ Command::Submit { .. } => crate::submit::dispatch(cmd),
        Command::Sample { file, task, all: true, split, part, json, seed, .. } => {
            sample_cmd::sample_all(&file, &task, split.as_deref().zip(part.as_deref()), json, seed)
        }
        Command::Sample { file, task, len, n, seed, json, .. } => {
            sample_cmd::sample(&file, &task, len as usize, n, seed, json)
        }
        Command::Label { file, task } => label(&file, &task),
        Command::Compile { file, experiment } => compile(&file, experiment.as_deref()),
        Command::Rasp { file, eval } => rasp(&file, &eval),
        Command::CompileRasp { file, sop, vocab, max_len, causal, bos, out, explain } => {
            let opts = algen::rasp_compile::Opts {
                vocab: crate::rasp_cmd::parse_vocab(&vocab),
                max_len: max_len as usize,
                causal,
                program_bos: bos,
            };
            crate::rasp_cmd::compile_rasp(&file, &sop, opts, out.as_deref(), explain)
        }
        Command::Report { dir } => crate::sweep::report_cmd(&dir),
        Command::Fmt { files, check } => crate::fmt_cmd::fmt(&files, check),
        Command::Lsp => crate::fmt_cmd::lsp(),
        Command::Explain { code } => {
            print!("{}", algen::explain::explain(&code).map_err(Failure::Usage)?);
            Ok(())
        }
    }
}

pub(crate) fn print_diags(sources: &algen::source::SourceMap, diags: Vec<Diag>) {
    let diags: Vec<Diag> = diags.into_iter().map(|d| d.with_source(sources)).collect();
    let color = std::io::stderr().is_terminal();
    let width = if color { 100 } else { 80 };
    eprint!("{}", diag::render(&diags, width, color));
    let errors = diags.iter().filter(|d| !d.warning).count();
    if errors > 0 {
        eprintln!("{errors} error{} found", if errors == 1 { "" } else { "s" });
    }
}

/// Loads and checks a spec; prints diagnostics. A missing file is a usage error.
pub(crate) fn load(path: &Path) -> Result<Loaded, Failure> {
    match pipeline::load(path) {
        Ok(l) => {
            if !l.warnings.is_empty() {
                print_diags(&l.sources, l.warnings.clone());
            }
            Ok(l)
        }
        Err(LoadError::Io(p, e)) => Err(Failure::Usage(format!("cannot read `{}`: {e}", p.display()))),
        Err(LoadError::Diags(sources, diags)) => {
            print_diags(&sources, diags);
            Err(Failure::Spec)
        }
    }
}

fn check(files: &[std::path::PathBuf]) -> Result<(), Failure> {
    let mut failed = None;
    for f in files {
        if let Err(e) = load(f) {
            if matches!(e, Failure::Usage(_)) {
                return Err(e);
            }
            failed = Some(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

pub(crate) fn find_task<'s>(spec: &'s Spec, name: &str) -> Result<&'s ir::Task, Failure> {
    spec.task(name).ok_or_else(|| {
        let names: Vec<&str> = spec.tasks.iter().map(|t| t.name.as_str()).collect();
        Failure::Usage(format!("no task `{name}` in the spec; {}", diag::suggest(name, &names)))
    })
}

pub(crate) fn experiments<'s>(spec: &'s Spec, only: Option<&str>) -> Result<Vec<&'s ir::Experiment>, Failure> {
    match only {
        None => Ok(spec.experiments.iter().collect()),
        Some(n) => match spec.experiment(n) {
            Some(e) => Ok(vec![e]),
            None => {
                let names: Vec<&str> = spec.experiments.iter().map(|e| e.name.as_str()).collect();
                Err(Failure::Usage(format!("no experiment `{n}` in the spec; {}", diag::suggest(n, &names))))
            }
        },
    }
}

fn run(
    file: &Path,
    only: Option<&str>,
    mut opts: RunOptions,
    shard: Option<algen::plan::Shard>,
    ids: Option<&[String]>,
    mode: progress::Mode,
) -> Result<(), Failure> {
    let loaded = load(file)?;
    let exps = experiments(&loaded.spec, only)?;
    if exps.is_empty() {
        return Err(Failure::Usage(format!("`{}` defines no experiment", file.display())));
    }
    opts.select = crate::sweep::selection(&loaded.spec, &exps, opts.steps, shard, ids)?;
    let mut failed = false;
    for exp in exps {
        let mut make = |v: &ir::Variant, seed: u64, i: usize, n: usize| -> Box<dyn algen::train::Observer + Send> {
            let steps = opts.steps.unwrap_or(v.train.steps);
            Box::new(Bar::new(steps, format!("{} [{}/{}] {} seed {seed}", exp.name, i + 1, n, v.label), mode))
        };
        let planned = algen::plan::experiment_runs(&loaded.spec, exp, opts.steps);
        let picked = planned.iter().filter(|r| opts.select.as_ref().is_none_or(|s| s.contains(&r.id))).count();
        if mode == progress::Mode::Lines {
            eprintln!("running experiment `{}` ({picked} of {} run(s))", exp.name, planned.len());
        }
        let (res, dir) = match pipeline::run_experiment(&loaded.spec, exp, &opts, &mut make) {
            Ok(r) => r,
            Err(pipeline::RunError::Diag(d)) => {
                print_diags(&loaded.sources, vec![*d]);
                return Err(Failure::Spec);
            }
            Err(pipeline::RunError::Train(e @ algen::train::TrainError::Preempted { .. })) => {
                eprintln!("algen: experiment `{}` {e}; continue it with `algen run --resume`", exp.name);
                return Err(Failure::Preempted);
            }
            Err(e) => {
                print_diags(&loaded.sources, vec![e.to_diag(exp.span)]);
                return Err(Failure::Spec);
            }
        };
        if picked > 0 {
            println!("{}", report::summary_table(&res));
        }
        println!("results: {}", dir.join("results.json").display());
        let diags = run_diags(exp, &res, planned.len(), opts.select.as_ref());
        failed |= !diags.is_empty();
        print_diags(&loaded.sources, diags);
    }
    if failed {
        Err(Failure::Spec)
    } else {
        Ok(())
    }
}

/// The errors of a finished experiment: the diverged runs this process trained (or all,
/// without a selection; their results are kept) and, once every planned run finished, the
/// expectations that do not hold, at the experiment's and the `expect` line's spans.
fn run_diags(
    exp: &ir::Experiment,
    res: &report::ExperimentResults,
    planned: usize,
    select: Option<&std::collections::HashSet<String>>,
) -> Vec<Diag> {
    let mut diags = vec![];
    for r in res.runs.iter().filter(|r| select.is_none_or(|s| s.contains(&r.id))) {
        if let report::results::RunStatus::Diverged { message, .. } = &r.status {
            diags.push(
                Diag::error("algen::run::diverged", format!("run `{}` seed {} diverged: {message}", r.variant, r.seed))
                    .at(exp.span, "this experiment")
                    .help("results so far are kept; lower the learning rate or add `clip` to the train block"),
            );
        }
    }
    if res.runs.len() < planned {
        if !res.expects.is_empty() {
            eprintln!(
                "note: the expectations of `{}` are checked once all {planned} runs have finished ({} so far; `algen report` lists them)",
                res.experiment,
                res.runs.len()
            );
        }
        return diags;
    }
    for (x, outcome) in exp.expects.iter().zip(&res.expects).filter(|(_, o)| !o.holds) {
        diags.push(
            Diag::error(
                "algen::run::expect",
                format!("expectation `{}` does not hold (value {:.4})", outcome.text, outcome.value),
            )
            .at(x.span, format!("the value is {:.4}", outcome.value))
            .help("the results are written; see report.md for the runs behind the value"),
        );
    }
    diags
}

fn label(file: &Path, name: &str) -> Result<(), Failure> {
    let loaded = load(file)?;
    let t = find_task(&loaded.spec, name)?;
    let labeler = task::Labeler::new(t);
    serve(|line| label_line(&labeler, t, line))
}

/// The JSON-lines loop of `label` and `rasp` on stdin and stdout (see `lines`).
fn serve(answer: impl FnMut(&str) -> String) -> Result<(), Failure> {
    crate::lines::serve(std::io::stdin().lock(), std::io::stdout().lock(), answer)
        .map_err(|e| Failure::Usage(format!("cannot read the input lines or write the answers: {e}")))
}

/// The most tokens one `label` input may have (README, "Command line").
const MAX_LABEL_TOKENS: usize = 10_000;

/// One `label` line: ids in -> ids out, tokens in -> tokens out; or an error
/// line (`jsonl::error_line`, the shape `rasp` answers with too).
pub fn label_line(labeler: &task::Labeler, t: &ir::Task, line: &str) -> String {
    use algen::rasp::jsonl::error_line;
    let parsed: Json = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return error_line(&Json::Null, "algen::jsonl::invalid_json", &format!("invalid JSON: {e}")),
    };
    let Some(input) = parsed.get("input").cloned() else {
        return error_line(&Json::Null, "algen::jsonl::invalid_json", "expected an object with an \"input\" field");
    };
    let len = match &input {
        Json::Array(items) => items.len(),
        Json::String(s) => s.chars().count(),
        _ => 0,
    };
    if len > MAX_LABEL_TOKENS {
        let msg = format!("the input has {len} tokens, over the limit of {MAX_LABEL_TOKENS} tokens per input");
        return error_line(&input, "algen::jsonl::invalid_input", &msg);
    }
    let words = |ids: Vec<u32>| json!(ids.iter().map(|&i| t.output_text(i)).collect::<Vec<_>>());
    let result = match &input {
        Json::Array(items) if items.iter().all(|v| v.is_u64()) => {
            let ids: Vec<u32> = items.iter().map(|v| v.as_u64().unwrap_or(0).min(u32::MAX as u64) as u32).collect();
            labeler.label(&ids).map(|o| json!(o))
        }
        Json::Array(items) if items.iter().all(|v| v.is_string()) => {
            let toks: Vec<&str> = items.iter().filter_map(|v| v.as_str()).collect();
            labeler.input_ids(&toks).and_then(|ids| labeler.label(&ids)).map(words)
        }
        Json::String(s) => {
            // A string in, a string out: the output tokens written one after another.
            let toks: Vec<String> = s.chars().map(String::from).collect();
            let joined = |ids: Vec<u32>| json!(ids.iter().map(|&i| t.output_text(i)).collect::<String>());
            labeler.input_ids(&toks).and_then(|ids| labeler.label(&ids)).map(joined)
        }
        _ => {
            let msg = "\"input\" must be a list of token ids, a list of token strings, or a string";
            return error_line(&input, "algen::jsonl::invalid_input", msg);
        }
    };
    match result {
        Ok(o) => json!({"input": input, "output": o}).to_string(),
        Err(e) => error_line(&input, e.code(), &e.to_string()),
    }
}

/// The IR plus, per experiment variant, the model's size and cost.
pub fn compile_json(spec: &Spec, only: &[&ir::Experiment]) -> Json {
    let mut models = vec![];
    for exp in only {
        let Some(t) = spec.task(&exp.task) else { continue };
        let Some(s) = spec.split(&exp.split) else { continue };
        let v = task::vocab(t);
        let io = ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
        let longest = s.train.lengths().iter().max().copied().unwrap_or(1);
        for var in &exp.variants {
            let (params, flops) = algen::plan::cost(t, s, var);
            models.push(json!({
                "experiment": exp.name,
                "variant": var.label,
                "vocab_in": io.vocab_in,
                "vocab_out": io.vocab_out,
                "params": params,
                "flops_per_step": flops,
                "flops_at": {"batch": var.train.batch, "input_len": longest, "seq_len": algen::train::seq_len(t, &v, longest)},
            }));
        }
    }
    json!({"ir": spec, "models": models})
}

fn compile(file: &Path, only: Option<&str>) -> Result<(), Failure> {
    let loaded = load(file)?;
    let exps = experiments(&loaded.spec, only)?;
    let j = compile_json(&loaded.spec, &exps);
    println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
    Ok(())
}

/// `algen rasp FILE --eval NAME`: one output line per input line, in order.
fn rasp(file: &Path, name: &str) -> Result<(), Failure> {
    let (sources, program) = crate::rasp_cmd::rasp_program(file)?;
    let mut ev = program.evaluator(name, None).map_err(|d| {
        print_diags(&sources, vec![d]);
        Failure::Spec
    })?;
    serve(|line| algen::rasp::jsonl::answer(&mut ev, line))
}
