//! Experiment files derived from run folders.
//!
//! Each run owns `OUT/<experiment>/runs/<id>/`: `run.json` (what it is, written when it
//! starts), `metrics.jsonl`, its checkpoint, and `result.json` when it finished (written
//! atomically, the run's only record). [`merge`] rebuilds the experiment's `results.json`,
//! `report.md` and plots from `plan.json` and the finished runs, in plan order, so one
//! process, N shards and a later `algen report` all write the same `results.json` (timings
//! aside). It takes no lock: every file it reads was written atomically, and what it writes
//! is written atomically too, so it is safe while shards are still writing (a merge that
//! misses a run finishing beside it is followed by that run's own merge).

use super::results::{ExperimentResults, RunResult, RunStatus};
use crate::plan::{ExperimentPlan, PlannedRun};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

pub const PLAN_JSON: &str = "plan.json";
pub const RUN_JSON: &str = "run.json";
pub const RESULT_JSON: &str = "result.json";
pub const METRICS_JSONL: &str = "metrics.jsonl";

/// The folder of run `id` in the experiment folder `exp_dir`.
pub fn run_dir(exp_dir: &Path, id: &str) -> PathBuf {
    exp_dir.join("runs").join(id)
}

/// `runs/<id>/run.json`: which run the folder holds (written when the run starts).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub variant: String,
    pub seed: u64,
    /// The canonical resolved configuration ([`crate::runs::config_json`]).
    pub config: String,
    /// The machine and process training it (absent in folders of an older algen).
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub pid: u32,
}

/// This machine's host name (empty when unknown).
#[cfg(not(unix))]
pub fn host_name() -> String {
    String::new()
}

/// Whether process `pid` exists (unknown off Unix: never called, the host is empty).
#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// This machine's host name (empty when unknown).
#[cfg(unix)]
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether process `pid` exists on this machine.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> io::Result<()> {
    let mut json = serde_json::to_string_pretty(v).map_err(io::Error::other)?;
    json.push('\n');
    super::write_atomic(path, json.as_bytes())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))
}

/// Writes `plan.json` into `exp_dir` (created if needed), atomically.
pub fn write_plan(exp_dir: &Path, plan: &ExperimentPlan) -> io::Result<()> {
    std::fs::create_dir_all(exp_dir)?;
    write_json(&exp_dir.join(PLAN_JSON), plan)
}

pub fn read_plan(exp_dir: &Path) -> io::Result<ExperimentPlan> {
    read_json(&exp_dir.join(PLAN_JSON))
}

pub fn write_run_info(rdir: &Path, info: &RunInfo) -> io::Result<()> {
    write_json(&rdir.join(RUN_JSON), info)
}

pub fn read_run_info(rdir: &Path) -> io::Result<RunInfo> {
    read_json(&rdir.join(RUN_JSON))
}

/// Writes a finished run's `result.json`, atomically.
pub fn write_result(rdir: &Path, r: &RunResult) -> io::Result<()> {
    write_json(&rdir.join(RESULT_JSON), r)
}

pub fn read_result(rdir: &Path) -> io::Result<RunResult> {
    read_json(&rdir.join(RESULT_JSON))
}

/// The run folders of `exp_dir`, sorted by name (none when it has no `runs/`).
pub fn run_dirs(exp_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(exp_dir.join("runs")) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(e),
    };
    dirs.sort();
    Ok(dirs)
}

/// The state of one planned run, read from its folder.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    Done,
    /// Finished with a diverged loss, or its `result.json` is unreadable: the message.
    Failed(String),
    /// Started (its folder has `run.json` or metrics) but has no result, and not known to be
    /// dead: training now (or on another machine).
    Running,
    /// Started on this machine by a process that no longer exists, without a result: killed
    /// (`algen run --resume` continues it).
    Interrupted,
    Missing,
}

/// The state of a run with this result.
fn finished_state(r: &RunResult) -> RunState {
    match &r.status {
        RunStatus::Ok => RunState::Done,
        RunStatus::Diverged { step, message } => RunState::Failed(format!("diverged at step {step}: {message}")),
    }
}

/// The state of run `id` in `exp_dir`, and its result when it has one.
pub fn run_state(exp_dir: &Path, id: &str) -> (RunState, Option<RunResult>) {
    let rdir = run_dir(exp_dir, id);
    match read_result(&rdir) {
        Ok(r) => (finished_state(&r), Some(r)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Ok(info) = read_run_info(&rdir) {
                let dead = info.pid != 0 && !info.host.is_empty() && info.host == host_name() && !alive(info.pid);
                (if dead { RunState::Interrupted } else { RunState::Running }, None)
            } else if rdir.join(METRICS_JSONL).exists() {
                (RunState::Running, None)
            } else {
                (RunState::Missing, None)
            }
        }
        Err(e) => (RunState::Failed(format!("unreadable result: {e}")), None),
    }
}

/// What a merge found: the merged results and each planned run's state.
pub struct Merged {
    pub results: ExperimentResults,
    pub states: Vec<(PlannedRun, RunState)>,
}

impl Merged {
    pub fn count(&self, f: impl Fn(&RunState) -> bool) -> usize {
        self.states.iter().filter(|(_, s)| f(s)).count()
    }
}

/// Results already read (or written) by this process, by run id: a finished run's
/// `result.json` changes only when the run is trained again, which drops it from here.
pub type Cache = HashMap<String, RunResult>;

/// Reads `plan.json` and the run folders of `exp_dir` without writing anything.
pub fn collect(exp_dir: &Path) -> io::Result<Merged> {
    collect_cached(exp_dir, &mut Cache::new())
}

fn collect_cached(exp_dir: &Path, cache: &mut Cache) -> io::Result<Merged> {
    let plan = read_plan(exp_dir)?;
    let mut runs = vec![];
    let mut states = vec![];
    for p in &plan.runs {
        let (state, result) = match cache.get(&p.id) {
            Some(r) => (finished_state(r), Some(r.clone())),
            None => run_state(exp_dir, &p.id),
        };
        if let Some(r) = &result {
            cache.insert(p.id.clone(), r.clone());
        }
        runs.extend(result);
        states.push((p.clone(), state));
    }
    let expects = crate::eval::expect::check(&plan.expects, &runs);
    let results = ExperimentResults {
        experiment: plan.experiment,
        task: plan.task,
        split: plan.split,
        train_lengths: plan.train_lengths,
        test_lengths: plan.test_lengths,
        universe: plan.universe,
        runs,
        expects,
        reduce: plan.reduce,
        grok_threshold: plan.grok_threshold,
        note: plan.note,
        chance: plan.chance,
    };
    Ok(Merged { results, states })
}

/// Rebuilds `results.json`, `report.md` and the plots of `exp_dir` from its finished runs.
pub fn merge(exp_dir: &Path) -> io::Result<Merged> {
    merge_cached(exp_dir, &mut Cache::new())
}

/// [`merge`], reading only the results `cache` lacks (and adding them to it).
pub fn merge_cached(exp_dir: &Path, cache: &mut Cache) -> io::Result<Merged> {
    let m = collect_cached(exp_dir, cache)?;
    super::write_experiment(exp_dir, &m.results)?;
    Ok(m)
}

/// The experiment folders under `out`: `out` itself when it holds `plan.json`, else its
/// subfolders that do, sorted by name.
pub fn experiment_dirs(out: &Path) -> io::Result<Vec<PathBuf>> {
    if out.join(PLAN_JSON).is_file() {
        return Ok(vec![out.to_path_buf()]);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join(PLAN_JSON).is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}
