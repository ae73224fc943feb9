//! `algen submit FILE --slurm`: writes the job array and merge scripts of [`algen::slurm`]
//! into `OUT/slurm-jobs/` and submits them with `sbatch` (the merge job depends on the array
//! with `afterany`). Runs that already finished in OUT are not submitted again.

use crate::commands::{experiments, load, Failure};
use algen::pipeline;
use algen::plan;
use algen::report::merge;
use algen::slurm::{self, Submit};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The options of `algen submit` besides the spec and experiment.
pub struct Options {
    pub out: PathBuf,
    pub steps: Option<usize>,
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus: u32,
    pub gpus: Option<u32>,
    pub max_parallel: Option<u32>,
    pub runs_per_task: usize,
    pub sbatch: Vec<String>,
    pub dry_run: bool,
}

fn absolute(p: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(p).map_err(|e| Failure::Usage(format!("cannot resolve `{}`: {e}", p.display())))
}

/// Checks every option and fills the scripts' contents (no run ids yet).
fn submit_of(file: &Path, experiment: Option<&str>, o: &Options) -> Result<Submit, Failure> {
    let usage = Failure::Usage;
    let spec = absolute(file)?;
    let out = absolute(&o.out)?;
    let workdir = std::env::current_dir().map_err(|e| usage(format!("cannot read the working directory: {e}")))?;
    let algen = std::env::current_exe().map_err(|e| Failure::Failed(format!("cannot find the algen binary: {e}")))?;
    for (what, p) in [("--out", &out), ("the working directory", &workdir)] {
        slurm::script_path(p).map_err(|e| usage(format!("{what}: {e}")))?;
    }
    let time = match &o.time {
        Some(t) => Some((t.trim().to_string(), slurm::time_seconds(t).map_err(|e| usage(format!("--time: {e}")))?)),
        None => None,
    };
    let word = |what: &str, v: &Option<String>| -> Result<(), Failure> {
        match v {
            Some(s) if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                Err(usage(format!("{what} `{}` must be one word", s.escape_debug())))
            }
            _ => Ok(()),
        }
    };
    word("--partition", &o.partition)?;
    let extra = o.sbatch.iter().map(|x| slurm::sbatch_option(x).map_err(usage)).collect::<Result<Vec<_>, _>>()?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Submit {
        spec,
        experiment: experiment.map(str::to_string),
        steps: o.steps,
        out,
        workdir,
        algen,
        job_name: slurm::job_name(experiment.unwrap_or(&stem)),
        partition: o.partition.clone(),
        time,
        cpus: o.cpus,
        gpus: o.gpus,
        max_parallel: o.max_parallel,
        extra,
        tasks: vec![],
    })
}

/// `algen submit` from its arguments.
pub fn dispatch(cmd: crate::cli::Command) -> Result<(), Failure> {
    let crate::cli::Command::Submit {
        file,
        experiment,
        slurm: _,
        out,
        steps,
        partition,
        time,
        cpus,
        gpus,
        max_parallel,
        runs_per_task,
        sbatch,
        dry_run,
    } = cmd
    else {
        return Err(Failure::Usage("not a submit command".into()));
    };
    let steps = steps.map(|s| s as usize);
    let runs_per_task = runs_per_task as usize;
    let opts = Options { out, steps, partition, time, cpus, gpus, max_parallel, runs_per_task, sbatch, dry_run };
    submit_cmd(&file, experiment.as_deref(), opts)
}

/// `algen submit FILE [-e NAME] --slurm …`.
pub fn submit_cmd(file: &Path, experiment: Option<&str>, o: Options) -> Result<(), Failure> {
    let mut sub = submit_of(file, experiment, &o)?;
    let loaded = load(file)?;
    let exps = experiments(&loaded.spec, experiment)?;
    let runs = plan::plan(&loaded.spec, &exps, o.steps);
    if runs.is_empty() {
        return Err(Failure::Usage(format!("`{}` plans no run: nothing to submit", file.display())));
    }
    let finished = |r: &plan::PlannedRun| {
        merge::read_result(&merge::run_dir(&sub.out.join(&r.experiment), &r.id)).is_ok_and(|x| x.id == r.id)
    };
    let todo: Vec<String> = runs.iter().filter(|r| !finished(r)).map(|r| r.id.clone()).collect();
    sub.tasks = slurm::tasks(&todo, o.runs_per_task);
    let done = runs.len() - todo.len();
    if done > 0 {
        eprintln!("{done} of {} run(s) already finished in `{}`: not submitted again", runs.len(), o.out.display());
    }
    if sub.tasks.len() > 1000 {
        eprintln!(
            "note: {} array tasks; many clusters allow at most 1000 (MaxArraySize): \
             group runs with --runs-per-task",
            sub.tasks.len()
        );
    }
    if o.dry_run {
        if todo.is_empty() {
            println!("# every run is finished: nothing to submit; `algen report` merges them");
            return Ok(());
        }
        print!("{}\n{}", slurm::array_script(&sub), slurm::merge_script(&sub, "<array job id>"));
        return Ok(());
    }
    for exp in &exps {
        pipeline::write_experiment_plan(&loaded.spec, exp, &sub.out, o.steps).map_err(|e| {
            Failure::Failed(format!("cannot write the plan of `{}` into `{}`: {e}", exp.name, o.out.display()))
        })?;
    }
    if todo.is_empty() {
        println!("every run is finished: nothing to submit (`algen report {}` merges them)", o.out.display());
        return Ok(());
    }
    submit(&sub, todo.len())
}

/// Writes both scripts and submits them.
fn submit(sub: &Submit, runs: usize) -> Result<(), Failure> {
    let jobs = sub.out.join(slurm::JOBS_DIR);
    let write = |name: &str, text: &str| -> Result<PathBuf, Failure> {
        let p = jobs.join(name);
        std::fs::create_dir_all(&jobs)
            .and_then(|_| algen::report::write_atomic(&p, text.as_bytes()))
            .map_err(|e| Failure::Failed(format!("cannot write `{}`: {e}", p.display())))?;
        Ok(p)
    };
    let array = write("array.sbatch", &slurm::array_script(sub))?;
    let array_id = sbatch(&array)?;
    println!("submitted job array {array_id}: {runs} run(s) in {} task(s)", sub.tasks.len());
    let merge = write("merge.sbatch", &slurm::merge_script(sub, &array_id))?;
    match sbatch(&merge) {
        Ok(id) => println!("submitted merge job {id} (starts when the array ended)"),
        Err(Failure::Failed(e)) => {
            eprintln!(
                "warning: the merge job was not submitted ({e}); once the array ended, run `algen report {}`",
                sub.out.display()
            );
        }
        Err(e) => return Err(e),
    }
    println!("scripts and logs: {}", jobs.display());
    println!("progress: algen status {}", sub.out.display());
    Ok(())
}

/// `sbatch --parsable SCRIPT`: the job id.
fn sbatch(script: &Path) -> Result<String, Failure> {
    let out = Command::new("sbatch").arg("--parsable").arg(script).output().map_err(|e| {
        Failure::Failed(format!(
            "cannot run `sbatch` ({e}): is this a Slurm login node? `algen submit --dry-run` prints the scripts"
        ))
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Failure::Failed(format!(
            "`sbatch {}` failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    slurm::parse_job_id(&stdout)
        .ok_or_else(|| Failure::Failed(format!("`sbatch --parsable` printed no job id: `{}`", stdout.trim())))
}
