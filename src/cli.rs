//! Command-line arguments (clap). No logic here.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "algen",
    version,
    about = "Declarative algorithmic-generalization experiments: check, run, submit, sample, label"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and check spec files; print every diagnostic; exit 1 on errors.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Train and evaluate experiments; write results, report and plots.
    Run {
        file: PathBuf,
        /// Run only this experiment (default: all in the file).
        #[arg(short = 'e', long = "experiment")]
        experiment: Option<String>,
        /// Output directory; each experiment writes OUT/<experiment>/.
        #[arg(long, default_value = "runs")]
        out: PathBuf,
        /// Override every experiment's step count (smoke runs, benchmarks).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        steps: Option<u64>,
        /// Continue an interrupted run: keep finished runs, continue from checkpoints
        /// (`checkpoint_every` in the spec's `train` block). A run whose configuration
        /// changed since is an error (see --restart-changed). The default inside a Slurm job
        /// (`SLURM_JOB_ID` set), so a requeued job continues.
        #[arg(long)]
        resume: bool,
        /// With --resume: train runs whose configuration changed afresh, with a warning.
        #[arg(long, requires = "resume")]
        restart_changed: bool,
        /// Train only these runs (ids from `algen plan`, comma-separated).
        #[arg(long, value_delimiter = ',', num_args = 1..)]
        only: Option<Vec<String>>,
        /// Train shard K of N: the runs at plan positions i (from 0) with i mod N = K-1.
        #[arg(long, value_name = "K/N", value_parser = clap::value_parser!(algen::plan::Shard))]
        shard: Option<algen::plan::Shard>,
        /// Train N runs at once, splitting the cores between them (same numbers as -j 1).
        #[arg(short = 'j', long = "jobs", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        jobs: u64,
        /// No progress on stderr (on a terminal a progress bar, else one line per evaluation).
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Also write each run's trace to DIR/<run id>/: `init.safetensors` (every parameter
        /// by name, before step 1), `batches.safetensors` (`tokens_S`, `targets_S`, `mask_S`,
        /// and `pad_S`/`ids_S` where used, for every step S) and `trace.json` (the resolved
        /// configuration, the lr multiplier and the training loss per step). For replaying a
        /// run elsewhere (benches/parity/); holds every batch in memory, so meant for short runs.
        #[arg(long, value_name = "DIR", conflicts_with = "resume")]
        trace: Option<PathBuf>,
        /// `fused` (the default): hand-written kernels, and for transformers the graph-free
        /// training step where it covers the model; `reference`: every op decomposed into
        /// plain candle ops, trained through candle's autograd (slow; for cross-checks).
        #[arg(long, value_parser = ["fused", "reference"], default_value = "fused")]
        kernels: String,
    },
    /// List every run of a spec in plan order: experiment, variant, seed, run id, params,
    /// FLOPs per step, steps.
    Plan {
        file: PathBuf,
        #[arg(short = 'e', long = "experiment")]
        experiment: Option<String>,
        /// Override every experiment's step count (as `run --steps` does; it changes the ids).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        steps: Option<u64>,
        /// One JSON array of run objects.
        #[arg(long)]
        json: bool,
    },
    /// Hand a spec's runs to a cluster scheduler: a Slurm job array (one task per group of
    /// runs, requeued after a time-limit signal, resuming from checkpoints) and a job that
    /// merges the report once the array ended. Scripts and logs: OUT/slurm-jobs/.
    Submit {
        file: PathBuf,
        #[arg(short = 'e', long = "experiment")]
        experiment: Option<String>,
        /// Submit to Slurm with `sbatch` (the only scheduler so far).
        #[arg(long, required = true)]
        slurm: bool,
        /// Output directory, as for `algen run` (on a file system the compute nodes share).
        #[arg(long, default_value = "runs")]
        out: PathBuf,
        /// Override every experiment's step count (as `run --steps`; it changes the ids).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        steps: Option<u64>,
        /// Slurm partition (default: the cluster's default partition).
        #[arg(long)]
        partition: Option<String>,
        /// Time limit of each array task, in Slurm's format (`90`, `4:00:00`, `1-12`). USR1
        /// comes 5 minutes before it (a fifth of a shorter limit): the runs checkpoint and the
        /// task is requeued.
        #[arg(long)]
        time: Option<String>,
        /// CPUs per array task (its runs' threads).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        cpus: u32,
        /// GPUs per array task.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        gpus: Option<u32>,
        /// At most K array tasks at once (`--array=…%K`).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
        max_parallel: Option<u32>,
        /// Runs per array task, trained one after another (default 1).
        #[arg(long, value_name = "M", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        runs_per_task: u64,
        /// A site-specific #SBATCH option for both jobs, e.g. `--sbatch account=abc`
        /// (repeatable; these come last, so they override algen's).
        #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
        sbatch: Vec<String>,
        /// Print the two scripts instead of writing and submitting them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Done, running, failed and missing runs per experiment of an output folder.
    Status {
        /// The `--out` folder of `algen run` (or one experiment folder in it).
        out: PathBuf,
    },
    /// Print sampled examples of a task.
    Sample {
        file: PathBuf,
        #[arg(short = 't', long = "task")]
        task: String,
        /// Input length.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
        len: u64,
        /// Number of examples.
        #[arg(short = 'n', default_value_t = 5)]
        n: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// One JSON object per line: {"input": [...], "output": [...]}.
        #[arg(long)]
        json: bool,
        /// List every example of a finite task (a grammar without recursion or a universe input)
        /// once (ignores --len and -n; --seed draws the `fraction` parts of --split).
        #[arg(long)]
        all: bool,
        /// With --all: list one part of this split (a split over a finite universe).
        #[arg(long, requires_all = ["all", "part"])]
        split: Option<String>,
        /// The part of --split to list.
        #[arg(long, value_parser = ["train", "test"], requires = "split")]
        part: Option<String>,
    },
    /// Label inputs: JSON lines {"input": [...]} on stdin -> {"input": ..., "output": ...}.
    Label {
        file: PathBuf,
        #[arg(short = 't', long = "task")]
        task: String,
    },
    /// Evaluate a RASP program: JSON lines {"input": "abc"} on stdin -> {"input": ..., "output": [...]} per line.
    Rasp {
        file: PathBuf,
        /// The s-op to evaluate (a public top-level name of the program).
        #[arg(long = "eval")]
        eval: String,
    },
    /// Compile a RASP s-op into transformer weights, verified against the interpreter on
    /// every input up to --max-len (see docs/rasp_compiler.md).
    CompileRasp {
        file: PathBuf,
        /// The s-op to compile (a public top-level name of the program).
        #[arg(long)]
        sop: String,
        /// Input tokens: one per character ("abc"), or comma-separated ("1,2,10").
        #[arg(long)]
        vocab: String,
        /// The longest input the model handles (the program's BOS token not counted).
        #[arg(long = "max-len")]
        max_len: u32,
        /// Compile a decoder: each position attends to itself and earlier positions only.
        #[arg(long)]
        causal: bool,
        /// A token the program expects at the front of every input (e.g. `§`).
        #[arg(long)]
        bos: Option<String>,
        /// Write the weights (safetensors) here, and a JSON sidecar next to them.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the residual layout and which layer, head or MLP computes which s-op.
        #[arg(long)]
        explain: bool,
    },
    /// Print the checked IR as JSON, with parameter counts and FLOPs per model variant.
    Compile {
        file: PathBuf,
        #[arg(short = 'e', long = "experiment")]
        experiment: Option<String>,
    },
    /// Rewrite spec files in the canonical layout (docs/style.md), in place; comments, blank-line
    /// groups, number spellings and parentheses are kept. With --check nothing is written: each
    /// file that is not formatted is printed as a diff, and the exit status is 1.
    Fmt {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; print a diff and fail when a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Run the language server (the Language Server Protocol over stdin/stdout) for editors:
    /// diagnostics, hover, go to definition, completion, formatting (see editors/README.md).
    Lsp,
    /// Print the longer explanation of a diagnostic code, with an example
    /// (`algen explain algen::check::step_end`; the `algen::` prefix may be left out).
    Explain { code: String },
    /// Rebuild results.json, report.md and the plots of each experiment from its finished runs,
    /// and list the runs that are missing or failed.
    Report {
        /// The `--out` folder of `algen run`, or one experiment folder in it.
        dir: PathBuf,
    },
}
