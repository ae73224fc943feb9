//! The CLI's input and output under hostile conditions (issue 16, items 8, 9,
//! 10, 17 and the JSON-lines part of 20): the JSON-lines commands `label` and
//! `rasp` answer every input line with exactly one line, flushed at once, in
//! one error shape with a code; a closed output pipe ends algen quietly.
//!
//! Oracles: DESIGN §4 (one JSON object per input line, an `"error"` instead of
//! `"output"`), the README's "Command line" section (the error line's shape,
//! its codes, the 1 MiB line limit, SIGPIPE), and hand computations on
//! `specs/reverse.alg` (the reverse of `01` is `10`) and
//! `specs/lib/grokking.alg` (`mod_div` keeps `b != 0`; 5 · 3⁻¹ mod 97 = 34, as
//! 3 · 34 = 102 = 97 + 5).

use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const REVERSE: &str = "specs/reverse.alg";
const SORT_BOS: &str = "tests/data/rasp/sort_bos.rasp";

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_algen"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn algen")
}

/// `algen ARGS` with raw bytes on stdin (written from a thread: the input may
/// be larger than a pipe holds).
fn algen_bytes(args: &[&str], stdin: Vec<u8>) -> Output {
    let mut child = spawn(args);
    let mut input = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("wait for algen");
    writer.join().expect("writer thread");
    out
}

fn lines(o: &Output) -> Vec<Json> {
    let text = String::from_utf8(o.stdout.clone()).expect("utf-8 stdout");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}"))).collect()
}

fn assert_ok(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&o.stderr));
}

/// An error line has exactly `input`, `error` (a non-empty string) and `code`.
fn assert_error(l: &Json, code: &str) {
    let keys: Vec<&str> = l.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3, "input, error, code: {l}");
    assert!(l["error"].as_str().is_some_and(|e| !e.is_empty()), "{l}");
    assert_eq!(l["code"], json!(code), "{l}");
    assert!(l.get("input").is_some(), "{l}");
}

// ------------------------------------------------------------------ one line per line (items 8, 9)

#[test]
fn every_input_line_gets_one_line_even_blank_and_non_utf8_ones() {
    let mut stdin = b"{\"input\": \"01\"}\n\n{\"input\": \"0\xff1\"}\n\xfe\xfe\n{\"input\": \"10\"}\r\n".to_vec();
    stdin.extend_from_slice(b"{\"input\": \"1\"}"); // no final newline
    for (args, ok) in [
        (&["label", REVERSE, "-t", "reverse"][..], [json!("10"), json!("01"), json!("1")]), // a string in, a string out
        (
            &["rasp", "tests/data/rasp/reverse.rasp", "--eval", "result"][..],
            [json!(["1", "0"]), json!(["0", "1"]), json!(["1"])],
        ),
    ] {
        let o = algen_bytes(args, stdin.clone());
        assert_ok(&o, args[0]);
        let l = lines(&o);
        assert_eq!(l.len(), 6, "{}: one line per input line\n{}", args[0], String::from_utf8_lossy(&o.stdout));
        assert_eq!(l[0], json!({"input": "01", "output": ok[0]}), "{}", args[0]);
        assert_error(&l[1], "algen::jsonl::invalid_json");
        assert_error(&l[2], "algen::jsonl::not_utf8");
        assert_eq!(l[2]["input"], json!("0\u{fffd}1"), "the lossy input");
        assert_error(&l[3], "algen::jsonl::not_utf8");
        assert_eq!(l[4], json!({"input": "10", "output": ok[1]}), "{}: CRLF and later lines go on", args[0]);
        assert_eq!(l[5], json!({"input": "1", "output": ok[2]}), "{}: a last line without newline", args[0]);
    }
}

#[test]
fn an_oversized_line_gets_an_error_line_and_reading_goes_on() {
    let mut stdin = "{\"input\": \"§cab\"}\n{\"input\": \"".as_bytes().to_vec();
    stdin.extend(std::iter::repeat(b'a').take(3 << 20)); // 3 MiB: over the 1 MiB line limit
    stdin.extend_from_slice(b"\"}\n{\"input\": \"\xc2\xa7ba\"}\n");
    let o = algen_bytes(&["rasp", SORT_BOS, "--eval", "result"], stdin);
    assert_ok(&o, "rasp");
    let l = lines(&o);
    assert_eq!(l.len(), 3, "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(l[0], json!({"input": "§cab", "output": ["§", "a", "b", "c"]}));
    assert_error(&l[1], "algen::jsonl::line_too_long");
    assert_eq!(l[1]["input"], Json::Null);
    assert_eq!(l[2], json!({"input": "§ba", "output": ["§", "a", "b"]}));
}

/// Inputs over 10,000 tokens (README) get an error line; 10,000 is answered.
#[test]
fn label_inputs_have_a_token_limit() {
    let stdin = format!("{}\n{}\n", json!({"input": "0".repeat(10_001)}), json!({"input": "01".repeat(5_000)}));
    let o = algen_bytes(&["label", REVERSE, "-t", "reverse"], stdin.into_bytes());
    assert_ok(&o, "label");
    let l = lines(&o);
    assert_eq!(l.len(), 2);
    assert_error(&l[0], "algen::jsonl::invalid_input");
    assert!(l[0]["error"].as_str().unwrap_or("").contains("10000 tokens"), "{}", l[0]["error"]);
    assert_eq!(l[1]["output"].as_str().map(str::len), Some(10_000), "a string in, a string out");
}

/// Each answer is written and flushed before the next input line arrives.
#[test]
fn answers_are_flushed_line_by_line() {
    for args in [&["rasp", SORT_BOS, "--eval", "result"][..], &["label", REVERSE, "-t", "reverse"]] {
        let mut child = spawn(args);
        let mut stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        stdin.write_all("{\"input\": \"§10\"}\n".as_bytes()).expect("write");
        stdin.flush().expect("flush");
        let first = rx.recv_timeout(Duration::from_secs(60));
        drop(stdin); // let algen end either way
        let _ = child.wait();
        let first = first.unwrap_or_else(|_| panic!("{}: no answer while the input stays open", args[0]));
        assert!(first.ends_with('\n') && first.contains("\"input\""), "{}: {first:?}", args[0]);
    }
}

// ------------------------------------------------------------------ one error shape (item 20)

#[test]
fn label_and_rasp_answer_errors_in_one_shape() {
    let stdin = b"not json\n{\"inputs\": 1}\n{\"input\": {\"a\": 1}}\n".to_vec();
    let label = algen_bytes(&["label", REVERSE, "-t", "reverse"], stdin.clone());
    let rasp = algen_bytes(&["rasp", SORT_BOS, "--eval", "result"], stdin);
    assert_ok(&label, "label");
    assert_ok(&rasp, "rasp");
    let (l, r) = (lines(&label), lines(&rasp));
    assert_eq!(l.len(), 3);
    assert_eq!(r.len(), 3);
    for (i, code) in
        ["algen::jsonl::invalid_json", "algen::jsonl::invalid_json", "algen::jsonl::invalid_input"].iter().enumerate()
    {
        assert_error(&l[i], code);
        assert_error(&r[i], code);
        assert_eq!(l[i]["input"], r[i]["input"], "line {i}");
    }
    assert_eq!(l[2]["input"], json!({"a": 1}), "the input is echoed");
    // a label error carries its task code
    let o = algen_bytes(&["label", REVERSE, "-t", "reverse"], b"{\"input\": [\"0\", \"2\"]}\n".to_vec());
    assert_error(&lines(&o)[0], "algen::task::unknown_input");
}

#[test]
fn every_jsonl_code_is_registered() {
    for code in [
        "algen::jsonl::invalid_json",
        "algen::jsonl::invalid_input",
        "algen::jsonl::not_utf8",
        "algen::jsonl::line_too_long",
        "algen::rasp::eval",
        "algen::task::not_in_universe",
    ] {
        assert!(algen::diag::CODES.iter().any(|(c, _)| *c == code), "{code} is in diag::CODES");
    }
}

// ------------------------------------------------------------------ universe inputs (item 17)

#[test]
fn label_checks_a_universe_layout_ranges_and_filter() {
    let stdin = [
        r#"{"input": ["5", "/", "3", "="]}"#,
        r#"{"input": ["3", "3", "4", "3"]}"#, // literal tokens where `/` and `=` belong
        r#"{"input": ["5", "/", "0", "="]}"#, // the filter `b != 0` leaves it out
        r#"{"input": ["=", "/", "3", "="]}"#, // a literal where a number belongs
        r#"{"input": ["5", "/", "3"]}"#,      // too short for the layout
    ]
    .join("\n");
    let o = algen_bytes(&["label", "specs/lib/grokking.alg", "-t", "mod_div"], stdin.into_bytes());
    assert_ok(&o, "label mod_div");
    let l = lines(&o);
    assert_eq!(l.len(), 5, "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(l[0], json!({"input": ["5", "/", "3", "="], "output": ["34"]}));
    for (i, what) in [(1, "`/`"), (2, "filter"), (3, "`a`")] {
        assert_error(&l[i], "algen::task::not_in_universe");
        assert!(l[i]["error"].as_str().unwrap_or("").contains(what), "line {i} names {what}: {}", l[i]);
    }
    assert_error(&l[4], "algen::task::target_shape");
}

// ------------------------------------------------------------------ broken pipes (item 10)

/// Runs `algen ARGS` and closes the read end of its stdout (or stderr) after
/// `keep` bytes: algen must end without a panic, killed by SIGPIPE or with 0.
fn close_early(args: &[&str], stderr: bool, keep: usize) {
    let mut child = spawn(args);
    drop(child.stdin.take());
    let mut pipe: Box<dyn Read + Send> = if stderr {
        Box::new(child.stderr.take().expect("stderr"))
    } else {
        Box::new(child.stdout.take().expect("stdout"))
    };
    let mut head = vec![0u8; keep];
    pipe.read_exact(&mut head).expect("some output first");
    drop(pipe);
    let out = child.wait_with_output().expect("wait");
    let other = String::from_utf8_lossy(if stderr { &out.stdout } else { &out.stderr }).into_owned();
    assert!(!other.contains("panicked"), "{args:?}: {other}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(
            out.status.signal() == Some(libc_sigpipe()) || out.status.code() == Some(0),
            "{args:?}: killed by SIGPIPE or exit 0, got {:?}\n{other}",
            out.status
        );
    }
}

const fn libc_sigpipe() -> i32 {
    13 // SIGPIPE on Linux and the BSDs
}

#[test]
fn a_closed_stdout_ends_algen_quietly() {
    close_early(&["compile", "specs/chomsky.alg"], false, 16);
    let stdin_lines = "{\"input\": \"01\"}\n".repeat(20_000);
    // label answers each line: feed many, read a little, close
    let mut child = spawn(&["label", REVERSE, "-t", "reverse"]);
    let mut input = child.stdin.take().expect("stdin");
    std::thread::spawn(move || {
        let _ = input.write_all(stdin_lines.as_bytes());
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut head = [0u8; 16];
    out.read_exact(&mut head).expect("a first answer");
    drop(out);
    let o = child.wait_with_output().expect("wait");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_closed_stderr_ends_algen_quietly() {
    // 400 tasks with an unknown function each: far more diagnostics than a pipe holds
    let dir = std::env::temp_dir().join(format!("algen-cli-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("many_errors.alg");
    let text: String = (0..400)
        .map(|i| {
            format!(
                "task t{i} {{ alphabet = \"01\", input = string(alphabet), target = nosuch(input), format = tag }}\n"
            )
        })
        .collect();
    std::fs::write(&spec, text).expect("write spec");
    close_early(&["check", spec.to_str().expect("utf-8 path")], true, 16);
    let _ = std::fs::remove_dir_all(&dir);
}
