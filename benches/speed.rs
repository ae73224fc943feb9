//! Training and evaluation speed of the benchmark workloads `specs/bench/*.alg`.
//!
//! ```text
//! cargo bench --bench speed                 # W and the LSTM on W's task, 200 steps each
//! cargo bench --bench speed -- --steps 50   # shorter
//! cargo bench --bench speed -- --only w     # one workload (w or w_lstm)
//! cargo bench --bench speed -- --curve      # W, 300 steps: fused vs reference loss curves
//! cargo bench --bench speed -- --torch target/bench/torch.jsonl   # also the ratios to PyTorch
//! ```
//!
//! `--torch FILE` reads the JSON lines `benches/w_torch.py --out FILE` appends (one per
//! `--impl`) and prints algen's rate as a multiple of: the fastest PyTorch eager transformer
//! (`nn`, `sdpa`, `explicit`) for W training, PyTorch SDPA for W evaluation at length 500, and
//! `nn.LSTM` for W-LSTM training. Run both on the same lengths (the file this bench writes).
//!
//! For every spec in `specs/bench/` it trains the first variant with seed 0 for `--steps`
//! steps through `train::run` (exactly what `algen run` does) and prints the run's
//! `train_steps_per_s` and `eval_seqs_per_s`. It also writes the sequence of W's batch lengths
//! to `target/bench/w_lengths.txt`, so that `benches/w_torch.py --lengths` trains PyTorch on
//! the same batch shapes. Release build, mimalloc, as the binary. Before each workload it prints
//! the load average, with a warning when other work competes for the CPUs.

use algen::ir::split::{Part, Selector};
use algen::model::Kernels;
use algen::train::{self, Batches, Observer, Quiet, RunSpec};
use std::path::Path;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SPECS: &[(&str, &str)] =
    &[("W (transformer)", "specs/bench/w.alg"), ("W-LSTM (2 x 256)", "specs/bench/w_lstm.alg")];

struct Losses(Vec<f64>);
impl Observer for Losses {
    fn step(&mut self, _: usize, loss: f64, _: Option<f64>) {
        self.0.push(loss);
    }
}

fn arg_value(args: &[String], name: &str) -> Option<usize> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn main() {
    algen::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let steps = arg_value(&args, "--steps").unwrap_or(200);
    if args.iter().any(|a| a == "--curve") {
        return curve(arg_value(&args, "--steps").unwrap_or(300));
    }
    println!("{:<22} {:>6} {:>18} {:>16}", "workload", "steps", "train_steps_per_s", "eval_seqs_per_s");
    let mut rates = vec![];
    // `--only w_lstm`: just the spec `specs/bench/w_lstm.alg`.
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1));
    for (name, path) in SPECS {
        if only.is_some_and(|o| !path.ends_with(&format!("/{o}.alg"))) {
            continue;
        }
        warn_if_busy();
        let (steps_s, seqs_s) = run(path, steps, Kernels::Fused, &mut Quiet);
        println!("{name:<22} {steps:>6} {steps_s:>18.3} {seqs_s:>16.3}");
        rates.push((steps_s, seqs_s));
    }
    write_lengths("specs/bench/w.alg", steps);
    if only.is_some() {
        return; // the ratios need both workloads
    }
    if let Some(i) = args.iter().position(|a| a == "--torch") {
        let file = args.get(i + 1).expect("--torch FILE");
        torch_ratios(file, &rates);
    }
}

/// The 1-minute load average (Linux), if readable.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Prints the load average before a workload, with a warning when other work competes for the
/// CPUs (above their count + 0.5: a bench run just before leaves about its thread count): rates
/// measured then are not comparable with PyTorch's or with another build's.
fn warn_if_busy() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    match load_average() {
        Some(l) if l > cpus + 0.5 => {
            println!(
                "(load average {l:.2} on {cpus} CPUs: WARNING, the machine is busy; these rates are not comparable)"
            )
        }
        Some(l) => println!("(load average {l:.2} on {cpus} CPUs)"),
        None => {}
    }
}

/// Prints algen's rates (`rates`: W, W-LSTM) as multiples of PyTorch's in `file`.
fn torch_ratios(file: &str, rates: &[(f64, f64)]) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("--torch {file}: {e}"));
    let lines: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let best = |impls: &[&str], key: &str| -> Option<(f64, String)> {
        lines
            .iter()
            .filter(|v| v["impl"].as_str().is_some_and(|i| impls.contains(&i)))
            .filter_map(|v| Some((v[key].as_f64()?, v["impl"].as_str()?.to_string())))
            .fold(None, |m, x| if m.as_ref().is_none_or(|m: &(f64, String)| x.0 > m.0) { Some(x) } else { m })
    };
    let show = |what: &str, ours: f64, theirs: Option<(f64, String)>| match theirs {
        Some((t, imp)) => println!("{what:<36} algen {ours:>8.3}  PyTorch ({imp}) {t:>8.3}  ratio {:.2}x", ours / t),
        None => println!("{what:<36} no PyTorch result in {file}"),
    };
    show("W train steps/s vs fastest eager", rates[0].0, best(&["nn", "sdpa", "explicit"], "train_steps_per_s"));
    show("W eval seqs/s (len 500) vs SDPA", rates[0].1, best(&["sdpa"], "eval_seqs_per_s"));
    show("W-LSTM train steps/s vs nn.LSTM", rates[1].0, best(&["lstm"], "train_steps_per_s"));
}

/// Loads `path` and runs its first experiment's first variant for `steps` steps.
fn with_run<R>(path: &str, steps: usize, f: impl FnOnce(&RunSpec) -> R) -> R {
    let loaded = algen::pipeline::load(Path::new(path)).unwrap_or_else(|_| panic!("{path} must check"));
    let spec = &loaded.spec;
    let exp = &spec.experiments[0];
    let mut variant = exp.variants[0].clone();
    variant.train.steps = steps;
    let rs = RunSpec {
        task: spec.task(&exp.task).expect("task"),
        split: spec.split(&exp.split).expect("split"),
        variant: &variant,
        eval: &exp.eval,
        seed: 0,
        kernels: Kernels::Fused,
    };
    f(&rs)
}

fn run(path: &str, steps: usize, kernels: Kernels, obs: &mut dyn Observer) -> (f64, f64) {
    with_run(path, steps, |rs| {
        let rs = RunSpec { kernels, ..*rs };
        let r = train::run(&rs, obs).expect("run");
        (r.timing.train_steps_per_s, r.timing.eval_seqs_per_s)
    })
}

/// Like [`run`] but with a token final evaluation (one example of one test length): the
/// reference kernels would materialize several `(64, 8, 1000, 1000)` tensors at length 500.
fn train_only(path: &str, steps: usize, kernels: Kernels, obs: &mut dyn Observer) -> f64 {
    with_run(path, steps, |rs| {
        let mut split = rs.split.clone();
        split.train.count = 1;
        split.test = Part { select: Selector::Len { lengths: vec![41] }, count: 1 };
        let rs = RunSpec { kernels, split: &split, ..*rs };
        train::run(&rs, obs).expect("run").timing.train_steps_per_s
    })
}

/// Replays the run's curriculum (same seed) and writes each step's input length.
fn write_lengths(path: &str, steps: usize) {
    let lengths = with_run(path, steps, |rs| {
        let vocab = algen::task::vocab(rs.task);
        let lens = rs.split.train.lengths();
        let mut batches = Batches::new(rs.task, &vocab, lens, rs.seed, rs.variant.train.mixed_lengths);
        let mut out = String::new();
        for _ in 0..steps {
            let b = batches.next(rs.variant.train.batch).expect("batch");
            out.push_str(&format!("{}\n", b.t / 2)); // transduce: input ++ one query per output
        }
        out
    });
    std::fs::create_dir_all("target/bench").expect("target/bench");
    std::fs::write("target/bench/w_lengths.txt", lengths).expect("write lengths");
    println!("wrote target/bench/w_lengths.txt (W's {steps} batch lengths, for benches/w_torch.py --lengths)");
}

/// W for `steps` steps with the fused ops and with their decomposed references.
fn curve(steps: usize) {
    let (mut fused, mut reference) = (Losses(vec![]), Losses(vec![]));
    let f_s = train_only("specs/bench/w.alg", steps, Kernels::Fused, &mut fused);
    let r_s = train_only("specs/bench/w.alg", steps, Kernels::Reference, &mut reference);
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-3);
    let diffs: Vec<f64> = fused.0.iter().zip(&reference.0).map(|(&a, &b)| rel(a, b)).collect();
    let (at, worst) = diffs.iter().enumerate().fold((0, 0.0), |m, (i, &d)| if d > m.1 { (i, d) } else { m });
    println!("W, {steps} steps: fused {f_s:.3} steps/s, reference {r_s:.3} steps/s ({:.2}x)", f_s / r_s);
    for i in [0, steps / 4, steps / 2, 3 * steps / 4, steps - 1] {
        println!("  step {:>4}: loss fused {:.6}  reference {:.6}", i + 1, fused.0[i], reference.0[i]);
    }
    let first = |n: usize| diffs.iter().take(n).fold(0.0, |m: f64, &d| m.max(d));
    println!(
        "  largest relative difference: first 10 steps {:.1e}, first 50 {:.1e}, all {worst:.1e} (step {})",
        first(10),
        first(50),
        at + 1
    );
    let window =
        |v: &[f64], i: usize| v[i..(i + 25).min(v.len())].iter().sum::<f64>() / 25f64.min((v.len() - i) as f64);
    let smooth = (0..steps).step_by(25).map(|i| rel(window(&fused.0, i), window(&reference.0, i))).fold(0.0, f64::max);
    println!("  largest relative difference of 25-step means: {smooth:.1e}");
}
