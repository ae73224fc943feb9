//! `fuzz`: a grammar-aware generator and mutator of specs, RASP programs and JSON lines
//! that checks algen never panics or aborts, every failed load has a coded diagnostic that
//! renders, every JSON-lines input line gets exactly one answer line, and no case runs
//! over a time bound. Run from the repository root:
//!
//! ```text
//! cargo run --release --bin fuzz -- --cases 1000000 [--seed S] [--jobs J] [--allow TEXT]…
//! cargo run --release --bin fuzz -- --replay tests/fuzz_corpus
//! ```
//!
//! Cases run in worker child processes (`--worker`, internal) under `ulimit -v`; a worker
//! that dies (stack overflow, failed allocation) is blamed on the case it last started, and
//! the batch goes on after it. Each distinct failure signature gets one saved input under
//! `--save` (default `fuzz-out/`), in the corpus file format of `case.rs`. Exit 1 when a
//! signature is found that no `--allow TEXT` (a substring) accepts.

mod case;
mod cli;
mod driver;
mod exec;
mod gen;
mod lines;
mod minimize;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Clone)]
pub struct Opts {
    cases: u64,
    seed: u64,
    jobs: u64,
    batch: u64,
    timeout_ms: u64,
    mem_mb: u64,
    cli_every: u32,
    algen: Option<PathBuf>,
    save: PathBuf,
    save_cases: bool,
    allow: Vec<String>,
    replay: Vec<PathBuf>,
    minimize: Option<PathBuf>,
    extra_seeds: Vec<PathBuf>,
    worker: bool,
    from: u64,
    to: u64,
}

impl Opts {
    /// The options a worker needs.
    fn worker_args(&self) -> Vec<String> {
        let mut v =
            vec!["--timeout-ms".into(), self.timeout_ms.to_string(), "--mem-mb".into(), self.mem_mb.to_string()];
        v.extend(["--cli-every".into(), self.cli_every.to_string()]);
        if let Some(a) = &self.algen {
            v.extend(["--algen".into(), a.display().to_string()]);
        }
        for e in &self.extra_seeds {
            v.extend(["--extra-seeds".into(), e.display().to_string()]);
        }
        v
    }
}

const USAGE: &str = "usage: fuzz [--cases N] [--seed S] [--jobs J] [--batch B] [--timeout-ms T] [--mem-mb M]
            [--algen PATH] [--cli-every K] [--save DIR] [--allow TEXT]… [--extra-seeds DIR]…
       fuzz --replay FILE_OR_DIR…   (run saved cases)
       fuzz --minimize FILE         (shrink a failing case file to FILE.min.EXT)";

fn parse_args() -> Result<Opts, String> {
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
    let exe_dir = std::env::current_exe().ok().and_then(|p| p.parent().map(PathBuf::from));
    let sibling = exe_dir.map(|d| d.join("algen")).filter(|p| p.exists());
    let mut o = Opts {
        cases: 10_000,
        seed: 0,
        jobs,
        batch: 1000,
        timeout_ms: 5000,
        mem_mb: 4096,
        cli_every: 20,
        algen: sibling,
        save: PathBuf::from("fuzz-out"),
        save_cases: true,
        allow: vec![],
        replay: vec![],
        minimize: None,
        extra_seeds: vec![],
        worker: false,
        from: 0,
        to: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
        let num = |v: String| v.replace('_', "").parse::<u64>().map_err(|e| format!("{a}: {e}"));
        match a.as_str() {
            "--cases" => o.cases = num(val()?)?,
            "--seed" => o.seed = num(val()?)?,
            "--jobs" => o.jobs = num(val()?)?.max(1),
            "--batch" => o.batch = num(val()?)?.max(1),
            "--timeout-ms" => o.timeout_ms = num(val()?)?,
            "--mem-mb" => o.mem_mb = num(val()?)?,
            "--cli-every" => o.cli_every = num(val()?)? as u32,
            "--algen" => o.algen = Some(PathBuf::from(val()?)).filter(|p| !p.as_os_str().is_empty()),
            "--no-cli" => o.algen = None,
            "--save" => o.save = PathBuf::from(val()?),
            "--allow" => o.allow.push(val()?),
            "--minimize" => o.minimize = Some(PathBuf::from(val()?)),
            "--extra-seeds" => o.extra_seeds.push(PathBuf::from(val()?)),
            "--worker" => o.worker = true,
            "--from" => o.from = num(val()?)?,
            "--to" => o.to = num(val()?)?,
            "--replay" | "--files" => {
                o.replay.push(PathBuf::from(val()?));
                // Further non-flag arguments are more files.
            }
            "-h" | "--help" => return Err(USAGE.into()),
            f if !f.starts_with("--") && !o.replay.is_empty() => o.replay.push(PathBuf::from(f)),
            f => return Err(format!("unknown argument `{f}`\n{USAGE}")),
        }
    }
    Ok(o)
}

/// A message without its numbers (so that one bug has one signature), shortened.
pub fn normalize(msg: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in msg.chars() {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('N');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out.chars().take(160).collect()
}

/// Replay files: the given files, and the case files in the given directories, sorted.
fn replay_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = vec![];
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            v.retain(|f| ["alg", "rasp", "jsonl", "selftest"].iter().any(|x| f.extension().is_some_and(|e| e == *x)));
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let root = PathBuf::from(".");
    if let Some(f) = &opts.minimize {
        return match minimize::minimize(&Opts { save_cases: false, ..opts.clone() }, f) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    if !opts.replay.is_empty() {
        let files = replay_files(&opts.replay);
        let cases: Vec<case::Case> = match files.iter().map(|f| case::Case::read(f)).collect() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        if opts.worker {
            let mut ctx = exec::Ctx::new(opts.algen.clone(), opts.timeout_ms, opts.mem_mb);
            let to = opts.to.min(cases.len() as u64);
            worker::run(&mut ctx, opts.from..to, |i| cases[i as usize].clone());
            return ExitCode::SUCCESS;
        }
        let mut select = vec!["--files".to_string()];
        select.extend(files.iter().map(|f| f.display().to_string()));
        let case_of = move |i: u64| cases[i as usize].clone();
        let opts = Opts { save_cases: false, jobs: 1, batch: u64::MAX, cases: files.len() as u64, ..opts };
        return drive(&opts, &case_of, select);
    }
    let seeds = gen::Seeds::load(&root, &opts.extra_seeds);
    let targets = case::Targets::build(&seeds);
    let (seed, cli_every) = (opts.seed, opts.cli_every);
    let case_of = move |i: u64| gen::case(&seeds, &targets, seed, i, cli_every);
    if opts.worker {
        let mut ctx = exec::Ctx::new(opts.algen.clone(), opts.timeout_ms, opts.mem_mb);
        worker::run(&mut ctx, opts.from..opts.to, &case_of);
        let _ = std::fs::remove_dir_all(&ctx.tmp);
        return ExitCode::SUCCESS;
    }
    drive(&opts, &case_of, vec!["--seed".into(), opts.seed.to_string()])
}

fn drive(opts: &Opts, case_of: &(dyn Fn(u64) -> case::Case + Sync), select: Vec<String>) -> ExitCode {
    let t0 = Instant::now();
    if opts.algen.is_none() {
        eprintln!("note: no `algen` binary next to this one (or --algen PATH): the CLI checks of JSON lines are off");
    }
    let d = driver::Driver { opts, case_of, select, found: Default::default(), done: AtomicU64::new(0) };
    let next = AtomicU64::new(0);
    let error = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(opts.cases.div_ceil(opts.batch.min(opts.cases.max(1)))).max(1) {
            s.spawn(|| loop {
                let from = next.fetch_add(opts.batch, Ordering::SeqCst);
                if from >= opts.cases {
                    break;
                }
                if let Err(e) = d.batch(from, from.saturating_add(opts.batch).min(opts.cases)) {
                    *error.lock().expect("lock") = Some(e);
                    break;
                }
            });
        }
    });
    if let Some(e) = error.into_inner().expect("lock") {
        eprintln!("fuzz: {e}");
        return ExitCode::from(2);
    }
    let secs = t0.elapsed().as_secs_f64();
    let done = d.done.load(Ordering::Relaxed);
    println!("{done} cases in {secs:.1} s ({:.0} cases/s, {} jobs)", done as f64 / secs, opts.jobs);
    let found = d.found.into_inner().expect("lock");
    let mut failing = 0;
    for (sig, f) in &found {
        let allowed = opts.allow.iter().any(|a| sig.contains(a.as_str()));
        failing += usize::from(!allowed);
        let tag = if allowed { "allowed" } else { "FAIL" };
        println!("{tag} ×{}: {sig}\n    first case {}; input: {}", f.count, f.first, f.saved.as_deref().unwrap_or("-"));
        println!("    {}", f.detail.chars().take(300).collect::<String>());
    }
    println!("{} distinct failure signatures, {failing} not allowed", found.len());
    if failing > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
