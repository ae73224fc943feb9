//! Progress of `algen run` when stderr is not a terminal (issue 19 item 2): one log line per
//! evaluation — run title, step of steps, loss, accuracies, steps/s, ETA — and nothing with
//! `--quiet`; the results on stdout are the same either way.

mod common;

use common::cli::algen_with_stdin;
use std::path::PathBuf;

const SPEC: &str = r#"
task rev { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
split s { train = len 1..=4, test = len 5..=6, count = 4 }
experiment x {
  task = rev, split = s
  model = transformer { layers = 1, d_model = 8, heads = 2, ffn = 16 }
  train { steps = 40, batch = 4, seeds = 2 }
  eval { every = 10, count = 4 }
}
"#;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-progress-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn one_line_per_evaluation_off_a_terminal_and_none_when_quiet() {
    let dir = temp("lines");
    let spec = dir.join("s.alg");
    std::fs::write(&spec, SPEC).unwrap();
    let (a, b) = (dir.join("a"), dir.join("b"));
    let run = |out: &PathBuf, quiet: bool| {
        let mut args = vec!["run", spec.to_str().unwrap(), "--out", out.to_str().unwrap()];
        if quiet {
            args.push("--quiet");
        }
        let o = algen_with_stdin(&args, "");
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        (String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
    };
    let (out, err) = run(&a, false);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(" steps/s ETA ")).collect();
    // 2 seeds × evaluations at steps 10, 20, 30 and the final one at 40.
    assert_eq!(lines.len(), 8, "{err}");
    // ... each after a line for the untrained model at step 0 (no speed, no training loss).
    let untrained: Vec<&str> = err.lines().filter(|l| l.contains(": step 0/40 loss n/a ")).collect();
    assert_eq!(untrained.len(), 2, "{err}");
    assert!(untrained.iter().all(|l| l.ends_with(" (untrained)")), "{err}");
    for (i, step) in [10, 20, 30, 40].iter().enumerate() {
        let l = lines[i];
        assert!(l.starts_with("x [1/2] "), "{l}");
        assert!(l.contains(&format!(": step {step}/40 loss ")), "{l}");
        for field in ["train seq acc ", "test seq acc ", "test tok acc "] {
            assert!(l.contains(field), "{field} in {l}");
        }
    }
    assert!(lines[3].ends_with("ETA 0s") && lines[7].starts_with("x [2/2] "), "{err}");
    assert!(err.contains("running experiment `x` (2 of 2 run(s))"), "{err}");
    let (quiet_out, quiet_err) = run(&b, true);
    assert_eq!(quiet_err, "", "--quiet prints nothing on stderr");
    assert_eq!(out.lines().count(), quiet_out.lines().count(), "stdout keeps its summary:\n{out}\n{quiet_out}");
    assert!(quiet_out.contains("results: ") && quiet_out.contains("x/results.json"), "{quiet_out}");
    let _ = std::fs::remove_dir_all(dir);
}
