//! Sweeps beyond one process (issue 17 items 1, 2, 3, 8): `algen plan`, `run --shard/--only`,
//! run folders, `algen report OUT` merging them, `algen status OUT`.

mod common;

use common::cli::algen_with_stdin;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Output;

fn algen(args: &[&str]) -> Output {
    algen_with_stdin(args, "")
}

fn ok(o: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{what}: {err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `algen plan FILE --json` as a list of runs.
fn plan(file: &Path) -> Vec<Json> {
    let out = ok(&algen(&["plan", s(file), "--json"]), "plan");
    serde_json::from_str::<Json>(&out).unwrap().as_array().unwrap().clone()
}

/// Acceptance: `algen plan specs/chomsky.alg` lists 675 runs with distinct, stable ids;
/// editing one learning rate in a copy changes only the ids of the 15 runs that use it.
#[test]
fn chomsky_plan_has_675_stable_ids() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let a = plan(&root.join("specs/chomsky.alg"));
    assert_eq!(a.len(), 675);
    let ids: std::collections::HashSet<&str> = a.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 675, "ids are distinct");
    assert_eq!(plan(&root.join("specs/chomsky.alg")), a, "the plan is the same every time");
    for k in ["experiment", "variant", "seed", "params", "flops_per_step", "steps"] {
        assert!(!a[0][k].is_null(), "{k} in {}", a[0]);
    }
    assert!(a[0]["params"].as_u64().unwrap() > 0 && a[0]["flops_per_step"].as_u64().unwrap() > 0);
    let dir = temp("chomsky");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    for f in ["lib/chomsky.alg", "lib/chomsky_models.alg"] {
        std::fs::copy(root.join("specs").join(f), dir.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(root.join("specs/chomsky.alg")).unwrap();
    let edited = text.replacen("adam(lr = 5e-4)", "adam(lr = 6e-4)", 1); // in ch_even_pairs
    std::fs::write(dir.join("chomsky.alg"), edited).unwrap();
    let b = plan(&dir.join("chomsky.alg"));
    assert_eq!(b.len(), 675);
    let changed: Vec<(&Json, &Json)> = a.iter().zip(&b).filter(|(x, y)| x["id"] != y["id"]).collect();
    assert_eq!(changed.len(), 15, "5 models × 3 seeds use the edited rate");
    for (x, y) in &changed {
        assert_eq!(x["experiment"], "ch_even_pairs");
        assert!(
            x["variant"].as_str().unwrap().contains("5e-4") || x["variant"].as_str().unwrap().contains("0.0005"),
            "{x}"
        );
        assert_eq!((&x["seed"], &x["experiment"]), (&y["seed"], &y["experiment"]));
    }
    let table = ok(&algen(&["plan", s(&root.join("specs/chomsky.alg")), "-e", "ch_parity_check"]), "plan table");
    assert!(table.contains("45 run(s)") && table.contains(a[45]["id"].as_str().unwrap()), "{table}");
    let _ = std::fs::remove_dir_all(dir);
}

/// 2 variants × 3 seeds over a universe task, plus a second experiment of 1 run.
const GRID: &str = r#"
let p = 5;
task add { input = (a: 0..p, b: 0..p), target = (a + b) % p, format = [a, "+", b, "="] }
split half { train = fraction 0.5, test = rest }
model m = transformer { kind = decoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = learned(max_len = 4) }
experiment g {
  task = add, model = m, split = half
  train { steps = 3, batch = 4, seeds = 3, optimizer = sweep [adamw(lr = 1e-3), adamw(lr = 3e-3)] }
  eval { every = 2 }
}
experiment h {
  task = add, model = m, split = half
  train { steps = 2, batch = 4 }
}
"#;

/// A length-generalization experiment of 3 variants × 2 seeds (added to `GRID` for `-j`).
const LENGTHS: &str = r#"
task rev { alphabet = "0123", input = string(alphabet), target = reverse(input), format = transduce }
split s { train = len 1..=4, test = len 5..=6, count = 4 }
experiment l {
  task = rev, split = s
  model = transformer { layers = 1, d_model = 8, heads = 2, ffn = 16, position = sweep [none, sinusoidal, learned(max_len = 32)] }
  train { steps = 3, batch = 4, seeds = 2 }
}
"#;

/// `results.json` of `exp` with every `timing` removed.
fn results(out: &Path, exp: &str) -> Json {
    common::results_without_timing(out, exp)
}

/// Acceptance: `--shard 1/2` + `--shard 2/2` + `algen report OUT` gives the same
/// `results.json` (timings aside) as one `algen run`; `status` and `report` see the
/// missing runs in between; `report` is idempotent.
#[test]
fn shards_then_report_equal_one_run() {
    let dir = temp("shards");
    let file = dir.join("grid.alg");
    std::fs::write(&file, GRID).unwrap();
    let (one, sh) = (dir.join("one"), dir.join("sharded"));
    ok(&algen(&["run", s(&file), "--out", s(&one)]), "one run");
    ok(&algen(&["run", s(&file), "--out", s(&sh), "--shard", "1/2"]), "shard 1/2");
    let status = ok(&algen(&["status", s(&sh)]), "status");
    let line = |exp: &str| {
        status.lines().find(|l| l.starts_with(exp)).unwrap().split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    };
    // Plan order: g's runs 0..6, then h's run 6; shard 1/2 takes 0, 2, 4, 6.
    assert_eq!(line("g "), "3 0 0 0 3 6", "{status}");
    assert_eq!(line("h "), "1 0 0 0 0 1", "{status}");
    let report = ok(&algen(&["report", s(&sh)]), "report after one shard");
    assert_eq!(report.matches("missing").count(), 3, "{report}");
    // A run started here by a process that is gone (killed) is interrupted, not running; one
    // started on another machine counts as running.
    let p = plan(&file);
    let fake = |i: usize, host: &str| {
        let rdir = sh.join("g/runs").join(p[i]["id"].as_str().unwrap());
        std::fs::create_dir_all(&rdir).unwrap();
        let info = serde_json::json!({"id": p[i]["id"], "variant": p[i]["variant"], "seed": p[i]["seed"], "config": "", "host": host, "pid": 999_999_999u32});
        std::fs::write(rdir.join("run.json"), info.to_string()).unwrap();
        rdir
    };
    let here = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
    let (killed, elsewhere) = (fake(1, &here), fake(3, "some-other-node"));
    let status = ok(&algen(&["status", s(&sh)]), "status with a killed run");
    let line = |exp: &str| {
        status.lines().find(|l| l.starts_with(exp)).unwrap().split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(line("g "), "3 1 1 0 1 6", "{status}");
    assert!(ok(&algen(&["report", s(&sh)]), "report").contains("interrupted"));
    std::fs::remove_dir_all(killed).unwrap();
    std::fs::remove_dir_all(elsewhere).unwrap();
    assert_eq!(results(&sh, "g")["runs"].as_array().unwrap().len(), 3);
    ok(&algen(&["run", s(&file), "--out", s(&sh), "--shard", "2/2"]), "shard 2/2");
    ok(&algen(&["report", s(&sh)]), "report");
    let first = std::fs::read(sh.join("g/results.json")).unwrap();
    ok(&algen(&["report", s(&sh)]), "report again");
    assert_eq!(std::fs::read(sh.join("g/results.json")).unwrap(), first, "report is idempotent");
    for exp in ["g", "h"] {
        assert_eq!(results(&sh, exp), results(&one, exp), "experiment {exp}");
    }
    // A universe experiment: the grokking plot, no (empty) accuracy-by-length plot.
    assert!(sh.join("g/report.md").is_file() && sh.join("g/grokking.svg").is_file());
    assert!(!sh.join("g/accuracy_by_length.svg").exists());
    let status = ok(&algen(&["status", s(&sh)]), "status");
    assert!(
        status.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["all", "7", "0", "0", "0", "0", "7"]),
        "{status}"
    );
    // Each run owns its folder, named by its id, with its result and metrics.
    let p = plan(&file);
    for r in &p {
        let rdir = sh.join(r["experiment"].as_str().unwrap()).join("runs").join(r["id"].as_str().unwrap());
        assert!(rdir.join("result.json").is_file() && rdir.join("metrics.jsonl").is_file(), "{}", rdir.display());
    }
    // Losing the derived files loses nothing: report rebuilds them from the run folders.
    std::fs::remove_file(sh.join("g/results.json")).unwrap();
    ok(&algen(&["report", s(&sh.join("g"))]), "report of one experiment folder");
    assert_eq!(results(&sh, "g"), results(&one, "g"));
    let _ = std::fs::remove_dir_all(dir);
}

/// Shards running at the same time into one folder, with `report` and `status` merging
/// while they write: every merge succeeds, and the final one equals one `algen run`.
#[test]
fn concurrent_shards_and_reports() {
    let dir = temp("concurrent");
    let file = dir.join("grid.alg");
    std::fs::write(&file, GRID).unwrap();
    let (one, sh) = (dir.join("one"), dir.join("sharded"));
    ok(&algen(&["run", s(&file), "--out", s(&one)]), "one run");
    let spawn = |k: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_algen"))
            .args(["run", s(&file), "--out", s(&sh), "--shard", k])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut shards = [spawn("1/3"), spawn("2/3"), spawn("3/3")];
    let mut merges = 0;
    while shards.iter_mut().any(|c| c.try_wait().unwrap().is_none()) {
        if sh.join("g/plan.json").is_file() && sh.join("h/plan.json").is_file() {
            ok(&algen(&["report", s(&sh)]), "report while shards write");
            ok(&algen(&["status", s(&sh)]), "status while shards write");
            merges += 1;
        }
    }
    for c in &mut shards {
        assert!(c.wait().unwrap().success(), "a shard failed");
    }
    ok(&algen(&["report", s(&sh)]), "final report");
    for exp in ["g", "h"] {
        assert_eq!(results(&sh, exp), results(&one, exp), "experiment {exp} ({merges} merges during the run)");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A shard checks no expectation over a partial experiment (exit 0 with a note); the shard
/// that completes it does (exit 1 when one fails), and `report` lists it.
#[test]
fn expectations_wait_for_every_run() {
    let dir = temp("expect");
    let file = dir.join("l.alg");
    std::fs::write(&file, LENGTHS.replace("seeds = 2 }", "seeds = 2 }\n  expect all test.sequence_accuracy >= 0.99"))
        .unwrap();
    let out = dir.join("out");
    let first = algen(&["run", s(&file), "--out", s(&out), "--shard", "1/2"]);
    let err = String::from_utf8_lossy(&first.stderr).into_owned();
    assert_eq!(first.status.code(), Some(0), "{err}");
    assert!(err.contains("checked once all 6 runs have finished (3 so far"), "{err}");
    let last = algen(&["run", s(&file), "--out", s(&out), "--shard", "2/2"]);
    let err = String::from_utf8_lossy(&last.stderr).into_owned();
    assert_eq!(last.status.code(), Some(1), "{err}");
    assert!(err.contains("algen::run::expect"), "{err}");
    let report = ok(&algen(&["report", s(&out)]), "report");
    assert!(report.contains("does not hold"), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Item 7: `-j 3` trains three runs at once and writes the same `results.json` (timings
/// aside) as `-j 1`; `-j 0` is a usage error.
#[test]
fn jobs_give_the_same_results() {
    let dir = temp("jobs");
    let file = dir.join("grid.alg");
    std::fs::write(&file, format!("{GRID}{LENGTHS}")).unwrap();
    let (one, three) = (dir.join("one"), dir.join("three"));
    ok(&algen(&["run", s(&file), "--out", s(&one), "-j", "1"]), "-j 1");
    ok(&algen(&["run", s(&file), "--out", s(&three), "-j", "3"]), "-j 3");
    for exp in ["g", "h", "l"] {
        assert_eq!(results(&three, exp), results(&one, exp), "experiment {exp}");
    }
    assert_eq!(results(&three, "l")["runs"].as_array().unwrap().len(), 6);
    assert_eq!(algen(&["run", s(&file), "--out", s(&three), "-j", "0"]).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

/// `--only` trains exactly the runs named; bad `--shard` values and unknown ids are usage
/// errors (exit 2) that write nothing; `--resume` keeps finished runs by id.
#[test]
fn only_and_bad_selections() {
    let dir = temp("only");
    let file = dir.join("grid.alg");
    std::fs::write(&file, GRID).unwrap();
    let out = dir.join("out");
    for bad in ["0/2", "3/2", "1/0", "x", "1/", "2"] {
        let o = algen(&["run", s(&file), "--out", s(&out), "--shard", bad]);
        assert_eq!(o.status.code(), Some(2), "--shard {bad}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = algen(&["run", s(&file), "--out", s(&out), "--only", "abcdef123456"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`abcdef123456`"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.exists(), "nothing written");
    let p = plan(&file);
    let (a, b) = (p[1]["id"].as_str().unwrap(), p[5]["id"].as_str().unwrap());
    ok(&algen(&["run", s(&file), "--out", s(&out), "--only", &format!("{a},{b}")]), "--only");
    let got: Vec<String> =
        results(&out, "g")["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, [a, b]);
    assert!(results(&out, "h")["runs"].as_array().unwrap().is_empty(), "h planned, none of its runs trained");
    let stamp =
        |id: &str| std::fs::metadata(out.join("g/runs").join(id).join("result.json")).unwrap().modified().unwrap();
    let before = stamp(a);
    ok(&algen(&["run", s(&file), "--out", s(&out), "--resume"]), "resume");
    assert_eq!(stamp(a), before, "a finished run is kept by id");
    assert_eq!(results(&out, "g")["runs"].as_array().unwrap().len(), 6);
    let _ = std::fs::remove_dir_all(dir);
}

/// `status` and `report` on a folder without experiments are usage errors.
#[test]
fn status_and_report_need_experiments() {
    let dir = temp("empty");
    for cmd in ["status", "report"] {
        let o = algen(&[cmd, s(&dir)]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("no experiment"), "{cmd}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("plan.json, runs/ and results.json"),
            "{cmd}: says what DIR holds"
        );
        let o = algen(&[cmd, s(&dir.join("nothing"))]);
        assert_eq!(o.status.code(), Some(2), "{cmd} on a missing folder");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("does not exist") && err.contains("--out` folder"), "{cmd}: {err}");
        assert!(!err.contains("os error"), "{cmd}: no bare OS error: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// `algen submit --dry-run` prints the array and merge scripts without writing or submitting
/// (no Slurm needed); bad options are usage errors (exit 2). `tests/slurm.rs` submits for real.
#[test]
fn submit_dry_run_and_usage_errors() {
    let dir = temp("submit");
    let file = dir.join("grid.alg");
    std::fs::write(&file, GRID).unwrap();
    let out = dir.join("o");
    let base = ["submit", s(&file), "--slurm", "--out", s(&out)];
    let with = |extra: &[&str]| algen(&[&base[..], extra].concat());
    let text = ok(
        &with(&[
            "--dry-run",
            "--runs-per-task",
            "3",
            "--time",
            "20:00",
            "--cpus",
            "2",
            "--gpus",
            "1",
            "--max-parallel",
            "2",
        ]),
        "dry run",
    );
    let text = text.replace(s(&dir), "DIR");
    for line in [
        "#SBATCH --array=0-2%2\n",
        "#SBATCH --requeue\n",
        "#SBATCH --signal=B:USR1@240\n", // a fifth of 20 minutes
        "#SBATCH --cpus-per-task=2\n",
        "#SBATCH --gpus=1\n",
        "#SBATCH --time=20:00\n",
        "#SBATCH --output=DIR/o/slurm-jobs/task-%A_%a.out\n",
        "#SBATCH --dependency=afterany:<array job id>\n",
        "#SBATCH --output=DIR/o/slurm-jobs/merge-%j.out\n",
        "run 'DIR/grid.alg' --out 'DIR/o' --resume --only \"$ids\"",
        "report 'DIR/o'",
    ] {
        assert!(text.contains(line), "`{line}` in\n{text}");
    }
    // Plan order, 3 runs per task: 7 runs in 3 tasks.
    let p = plan(&file);
    let ids: Vec<&str> = p.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(text.contains(&format!("runs=(\n  {}\n  {}\n  {}\n)", ids[..3].join(","), ids[3..6].join(","), ids[6])));
    assert!(!out.exists(), "--dry-run writes nothing");
    let one = ok(&with(&["--dry-run", "-e", "h", "--sbatch", "account=lab", "--sbatch=--qos=low"]), "-e h");
    assert!(one.contains("#SBATCH --array=0-0\n") && one.contains(" -e 'h'"), "{one}");
    assert_eq!(one.matches("#SBATCH --account=lab\n").count(), 2, "in both scripts: {one}");
    assert_eq!(one.matches("#SBATCH --qos=low\n").count(), 2, "{one}");
    for (bad, says) in [
        (vec!["--time", "2h"], "not a Slurm time"),
        (vec!["--partition", "a b"], "one word"),
        (vec!["--runs-per-task", "0"], "runs-per-task"),
        (vec!["-e", "nope"], "no experiment `nope`"),
    ] {
        let o = with(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{bad:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let spaced = dir.join("with space");
    let o = algen(&["submit", s(&file), "--slurm", "--out", s(&spaced), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("#SBATCH line cannot carry"));
    let o = algen(&["submit", s(&file), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "--slurm is required");
    let _ = std::fs::remove_dir_all(dir);
}
