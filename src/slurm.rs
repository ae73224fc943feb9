//! The batch scripts of `algen submit --slurm` (issue 17 item 6): a job array whose task i
//! trains the i-th group of planned runs (`algen run --only ID,…`), and a merge job that starts
//! after every task ended (`afterany`) and rebuilds the report (`algen report OUT`).
//!
//! Preemption and time limits: the array asks Slurm for `--signal=B:USR1@<lead>` (USR1 to the
//! batch shell `lead` seconds before the time limit) and `--requeue`. The shell forwards USR1
//! (and SIGTERM) to `algen run`, which writes its checkpoint at the next step boundary and
//! exits with status 3 ([`crate::train::preempt::EXIT_STATUS`]); after a USR1 the shell then
//! requeues its own task (`scontrol requeue JOB_TASK`), and the requeued task continues from the
//! checkpoints (`algen run` resumes by default inside a Slurm job). A SIGTERM alone (`scancel`,
//! or a preemption that requeues by itself) is not requeued by the script. Logs are appended
//! (`--open-mode=append`), so one task's file shows every attempt.
//!
//! Everything here is text: [`array_script`] and [`merge_script`] render, the binary submits.

use std::path::{Path, PathBuf};

/// The folder under `--out` that holds the scripts and the logs (a name no experiment can
/// have: identifiers have no `-`).
pub const JOBS_DIR: &str = "slurm-jobs";

/// What the scripts say. Paths are absolute.
#[derive(Clone, Debug)]
pub struct Submit {
    pub spec: PathBuf,
    pub experiment: Option<String>,
    pub steps: Option<usize>,
    pub out: PathBuf,
    /// The working directory of the jobs (where `algen submit` ran).
    pub workdir: PathBuf,
    /// The `algen` binary the jobs run (overridable at run time by `$ALGEN`).
    pub algen: PathBuf,
    pub job_name: String,
    pub partition: Option<String>,
    /// Slurm's `--time` text, and its value in seconds (`None`: unlimited or the default).
    pub time: Option<(String, Option<u64>)>,
    pub cpus: u32,
    pub gpus: Option<u32>,
    pub max_parallel: Option<u32>,
    /// Site-specific `#SBATCH` options (`--account=x`, `--qos=y`), after algen's own, so they win.
    pub extra: Vec<String>,
    /// The run ids of each array task.
    pub tasks: Vec<Vec<String>>,
}

/// `ids` in groups of `per_task` (plan order; the last group may be shorter).
pub fn tasks(ids: &[String], per_task: usize) -> Vec<Vec<String>> {
    ids.chunks(per_task.max(1)).map(|c| c.to_vec()).collect()
}

/// Seconds of a Slurm time limit: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`; `None` for
/// `UNLIMITED`/`INFINITE`.
pub fn time_seconds(text: &str) -> Result<Option<u64>, String> {
    let bad =
        || format!("`{text}` is not a Slurm time: write minutes (`90`), `M:S`, `H:M:S`, `D-H`, `D-H:M` or `D-H:M:S`");
    let t = text.trim();
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("infinite") {
        return Ok(None);
    }
    let num = |s: &str| -> Result<u64, String> {
        if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(num(d)?), r),
        None => (None, t),
    };
    let parts: Vec<u64> = rest.split(':').map(num).collect::<Result<_, _>>()?;
    let secs = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) | (Some(_), [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(_), [h]) => h * 3600,
        (Some(_), [h, m]) => h * 3600 + m * 60,
        _ => return Err(bad()),
    };
    let secs = secs + days.unwrap_or(0) * 86_400;
    if secs == 0 {
        return Err(format!("`{text}` is a time limit of zero"));
    }
    Ok(Some(secs))
}

/// How long before the time limit Slurm sends USR1: 5 minutes, or a fifth of a shorter
/// limit (at least 30 s), so a run has time to finish its step and write its checkpoint.
pub fn signal_lead(limit_secs: Option<u64>) -> u64 {
    match limit_secs {
        Some(t) => 300.min((t / 5).max(30)),
        None => 300,
    }
}

/// A pass-through option as one `#SBATCH` argument: `account=x`, `--account=x` and
/// `#SBATCH --account=x` all give `--account=x`; `-A x` stays as written.
pub fn sbatch_option(text: &str) -> Result<String, String> {
    let t = text.trim();
    let t = t.strip_prefix("#SBATCH").map(str::trim_start).unwrap_or(t);
    if t.is_empty() || t.contains(['\n', '\r']) {
        return Err(format!(
            "`{}` is not an sbatch option (one option per --sbatch, e.g. `--account=abc`)",
            text.escape_debug()
        ));
    }
    Ok(if t.starts_with('-') { t.to_string() } else { format!("--{t}") })
}

/// `path` as text for an `#SBATCH` line or a script, or why it cannot be: Slurm splits
/// `#SBATCH` lines at whitespace and has no quoting there.
pub fn script_path(path: &Path) -> Result<String, String> {
    let s = path.to_str().ok_or_else(|| format!("`{}` is not UTF-8 text", path.display()))?;
    if s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'' || c == '%') {
        return Err(format!(
            "`{}` holds a space, quote, `%` or control character, which an #SBATCH line cannot carry; \
             use a path without them",
            s.escape_debug()
        ));
    }
    Ok(s.to_string())
}

/// `s` single-quoted for bash.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A job name Slurm and file names take: letters, digits, `_`, `-`, `.`.
pub fn job_name(stem: &str) -> String {
    let s: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || "_-.".contains(c) { c } else { '_' }).take(60).collect();
    format!("algen-{s}")
}

/// The `#SBATCH` lines both jobs share: working directory, partition, site options last.
fn common_lines(s: &Submit, out: &mut String, time: Option<&str>) {
    out.push_str(&format!("#SBATCH --chdir={}\n", s.workdir.display()));
    if let Some(p) = &s.partition {
        out.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = time {
        out.push_str(&format!("#SBATCH --time={t}\n"));
    }
    for e in &s.extra {
        out.push_str(&format!("#SBATCH {e}\n"));
    }
}

/// The arguments of `algen run`/`report` that name the spec and its runs.
fn run_args(s: &Submit) -> String {
    let mut a = format!("run {}", quote(&s.spec.display().to_string()));
    if let Some(e) = &s.experiment {
        a.push_str(&format!(" -e {}", quote(e)));
    }
    if let Some(n) = s.steps {
        a.push_str(&format!(" --steps {n}"));
    }
    a.push_str(&format!(" --out {} --resume", quote(&s.out.display().to_string())));
    a
}

/// The job array's sbatch script.
pub fn array_script(s: &Submit) -> String {
    let jobs = s.out.join(JOBS_DIR);
    let n = s.tasks.len();
    let runs: usize = s.tasks.iter().map(Vec::len).sum();
    let mut t = String::from("#!/bin/bash\n");
    t.push_str(&format!(
        "# algen submit: {runs} run(s) of {} as {n} array task(s); task i (from 0) trains the runs on\n\
         # line i of `runs` below. Merge what finished at any time with `algen report {}`.\n",
        s.spec.display(),
        s.out.display()
    ));
    t.push_str(&format!("#SBATCH --job-name={}\n", s.job_name));
    let limit = s.max_parallel.map(|k| format!("%{k}")).unwrap_or_default();
    t.push_str(&format!("#SBATCH --array=0-{}{limit}\n", n.saturating_sub(1)));
    t.push_str(&format!("#SBATCH --output={}/task-%A_%a.out\n", jobs.display()));
    t.push_str("#SBATCH --open-mode=append\n#SBATCH --requeue\n");
    let lead = signal_lead(s.time.as_ref().and_then(|t| t.1));
    t.push_str(&format!("#SBATCH --signal=B:USR1@{lead}\n"));
    t.push_str(&format!("#SBATCH --cpus-per-task={}\n", s.cpus));
    if let Some(g) = s.gpus {
        t.push_str(&format!("#SBATCH --gpus={g}\n"));
    }
    common_lines(s, &mut t, s.time.as_ref().map(|t| t.0.as_str()));
    t.push_str("set -u\n");
    t.push_str(&format!("ALGEN=${{ALGEN:-{}}}\n", quote(&s.algen.display().to_string())));
    t.push_str("runs=(\n");
    for ids in &s.tasks {
        t.push_str(&format!("  {}\n", ids.join(",")));
    }
    t.push_str(")\n");
    t.push_str(ARRAY_BODY.replace("@RUN_ARGS@", &run_args(s)).as_str());
    t
}

/// The array task's shell logic after the table of runs (`@RUN_ARGS@` is replaced).
const ARRAY_BODY: &str = r#"task=${SLURM_ARRAY_TASK_ID:?not inside a Slurm array task}
ids=${runs[$task]}
self="${SLURM_ARRAY_JOB_ID}_${task}"
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
echo "algen: task $self (attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 ))) on $(hostname): runs $ids"
requeue=0
"$ALGEN" @RUN_ARGS@ --only "$ids" &
pid=$!
trap 'requeue=1; kill -USR1 "$pid" 2>/dev/null' USR1
trap 'kill -TERM "$pid" 2>/dev/null' TERM
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do status=0; wait "$pid" || status=$?; done
if [ "$status" -gt 128 ]; then wait "$pid" 2>/dev/null; s=$?; [ "$s" != 127 ] && status=$s; fi
if [ "$status" = 3 ] && [ "$requeue" = 1 ]; then
  echo "algen: task $self wrote its checkpoints; requeueing it"
  scontrol requeue "$self" && exit 0
fi
echo "algen: task $self ended with status $status"
exit "$status"
"#;

/// The merge job's sbatch script; `after` is the array's job id (or a placeholder).
pub fn merge_script(s: &Submit, after: &str) -> String {
    let jobs = s.out.join(JOBS_DIR);
    let mut t = String::from("#!/bin/bash\n");
    t.push_str("# algen submit: rebuilds results, report and plots once every array task ended.\n");
    t.push_str(&format!("#SBATCH --job-name={}-merge\n", s.job_name));
    t.push_str(&format!("#SBATCH --dependency=afterany:{after}\n"));
    t.push_str(&format!("#SBATCH --output={}/merge-%j.out\n", jobs.display()));
    t.push_str("#SBATCH --cpus-per-task=1\n");
    // A merge takes seconds: ask for at most 15 minutes so it is scheduled soon.
    let time = s.time.as_ref().map(|(text, secs)| match secs {
        Some(x) if *x < 900 => text.clone(),
        _ => "15:00".to_string(),
    });
    common_lines(s, &mut t, time.as_deref());
    t.push_str("set -u\n");
    t.push_str(&format!("ALGEN=${{ALGEN:-{}}}\n", quote(&s.algen.display().to_string())));
    let out = quote(&s.out.display().to_string());
    t.push_str(&format!("\"$ALGEN\" report {out}\nstatus=$?\n\"$ALGEN\" status {out}\nexit $status\n"));
    t
}

/// The job id in `sbatch --parsable` output (`123` or `123;cluster`).
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let id = stdout.trim().split(';').next()?.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_times() {
        assert_eq!(time_seconds("90"), Ok(Some(5400)));
        assert_eq!(time_seconds("10:30"), Ok(Some(630)));
        assert_eq!(time_seconds("1:00:05"), Ok(Some(3605)));
        assert_eq!(time_seconds("2-3"), Ok(Some(2 * 86_400 + 3 * 3600)));
        assert_eq!(time_seconds("1-0:30"), Ok(Some(86_400 + 1800)));
        assert_eq!(time_seconds("1-2:3:4"), Ok(Some(86_400 + 7200 + 184)));
        assert_eq!(time_seconds("UNLIMITED"), Ok(None));
        for bad in ["", "1h", "1:2:3:4", "-5", "1-", "a:b", "0", "99999999999"] {
            assert!(time_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lead_fits_the_limit() {
        assert_eq!(signal_lead(None), 300);
        assert_eq!(signal_lead(Some(86_400)), 300);
        assert_eq!(signal_lead(Some(600)), 120);
        assert_eq!(signal_lead(Some(60)), 30);
    }

    #[test]
    fn options_and_names() {
        assert_eq!(sbatch_option("account=abc").unwrap(), "--account=abc");
        assert_eq!(sbatch_option("#SBATCH --qos=high").unwrap(), "--qos=high");
        assert_eq!(sbatch_option("-A abc").unwrap(), "-A abc");
        assert!(sbatch_option("a\nb").is_err() && sbatch_option(" ").is_err());
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(job_name("my spec!"), "algen-my_spec_");
        assert!(script_path(Path::new("/tmp/a b")).is_err() && script_path(Path::new("/tmp/%j")).is_err());
        assert_eq!(parse_job_id("4242;local\n"), Some("4242".into()));
        assert_eq!(parse_job_id("error"), None);
        let ids: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        assert_eq!(tasks(&ids, 3).iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    }
}
