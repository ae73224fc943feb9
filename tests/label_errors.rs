//! `algen label` answers an input it cannot label with the error line and its code (issue 23,
//! error quality: run-time codes exercised). Oracles: the task's alphabet size (ids 0..2 for
//! "01"), the `tag` format (one output per input token), the Chomsky benchmark's
//! `binary_addition` input (`a 2 b`, one separator).

use std::io::Write;
use std::process::{Command, Stdio};

/// The one answer line of `algen label FILE -t TASK` to `line`, as JSON.
fn label(spec: &str, task: &str, line: &str) -> serde_json::Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_algen"))
        .args(["label", spec, "-t", task])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("algen runs");
    child.stdin.take().unwrap().write_all(format!("{line}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

#[test]
fn an_input_id_outside_the_alphabet() {
    let v = label("specs/reverse.alg", "reverse", r#"{"input": [0, 7]}"#);
    assert_eq!(v["code"], "algen::task::input_id", "{v}");
    assert!(v["error"].as_str().unwrap().contains("input id 7 is out of range for an alphabet of 2 tokens"));
}

#[test]
fn a_tag_target_of_another_length() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let spec = dir.join(format!("tag-{}.alg", std::process::id()));
    let text = "task t { alphabet = \"01\", input = string(alphabet), target = input ++ input, format = tag }\n";
    std::fs::write(&spec, text).unwrap();
    let v = label(spec.to_str().unwrap(), "t", r#"{"input": "01"}"#);
    assert_eq!(v["code"], "algen::task::tag_length", "{v}");
    assert!(v["error"].as_str().unwrap().contains("target has length 4 for an input of length 2"), "{v}");
}

#[test]
fn an_input_the_builtin_task_does_not_define() {
    let v = label("specs/lib/chomsky.alg", "binary_addition", r#"{"input": [0, 2, 2, 1]}"#);
    assert_eq!(v["code"], "algen::task::invalid_input", "{v}");
}
