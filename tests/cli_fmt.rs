//! `algen fmt` and `algen lsp` as commands (issue 23): exit codes, the diff of `--check`, the
//! file rewritten in place, and the language server answering over real stdin/stdout.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn algen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_algen")).args(args).output().expect("algen runs")
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fmt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const MESSY: &str = "task t {\nalphabet=\"01\"  // tokens\ninput=string(alphabet),\n}\n";
const TIDY: &str = "task t {\n  alphabet = \"01\" // tokens\n  input    = string(alphabet)\n}\n";

#[test]
fn check_prints_a_diff_and_fails_then_fmt_rewrites_in_place() {
    let dir = scratch("check");
    let (messy, tidy) = (dir.join("messy.alg"), dir.join("tidy.alg"));
    std::fs::write(&messy, MESSY).unwrap();
    std::fs::write(&tidy, TIDY).unwrap();
    let o = algen(&["fmt", "--check", messy.to_str().unwrap(), tidy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("-alphabet=\"01\"  // tokens") && out.contains("+  alphabet = \"01\" // tokens"), "{out}");
    assert!(!out.contains("tidy.alg"), "a formatted file has no diff: {out}");
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), MESSY, "--check writes nothing");
    let o = algen(&["fmt", messy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), TIDY);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary file is left: {leftovers:?}");
    assert_eq!(algen(&["fmt", "--check", messy.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn a_parse_error_fails_with_its_diagnostic_and_a_missing_file_is_usage() {
    let dir = scratch("errors");
    let bad = dir.join("bad.alg");
    std::fs::write(&bad, "task t { alphabet = }\n").unwrap();
    let o = algen(&["fmt", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("algen::parse::syntax"));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "task t { alphabet = }\n");
    let o = algen(&["fmt", dir.join("none.alg").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
    assert_eq!(algen(&["fmt"]).status.code(), Some(2), "no file: usage");
}

fn send(stdin: &mut impl Write, body: &str) {
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    stdin.flush().unwrap();
}

fn receive(out: &mut impl BufRead) -> serde_json::Value {
    let mut len = 0;
    loop {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        if let Some(n) = line.trim().strip_prefix("Content-Length: ") {
            len = n.parse().unwrap();
        } else if line.trim().is_empty() {
            break;
        }
    }
    let mut body = vec![0; len];
    out.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn lsp_serves_over_stdio() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_algen"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("algen lsp starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    send(&mut stdin, r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#);
    let init = receive(&mut out);
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["capabilities"]["definitionProvider"], true, "{init}");
    send(&mut stdin, r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
    let open = r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///tmp/x.alg","languageId":"algen","version":1,"text":"task t { alphabet = \"01\", input = string(alphabet), target = reverse(input), format = transduc }\n"}}}"#;
    send(&mut stdin, open);
    let diags = receive(&mut out);
    assert_eq!(diags["method"], "textDocument/publishDiagnostics");
    assert_eq!(diags["params"]["diagnostics"][0]["code"], "algen::check::unknown_value", "{diags}");
    send(&mut stdin, r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#);
    assert_eq!(receive(&mut out)["id"], 2);
    send(&mut stdin, r#"{"jsonrpc":"2.0","method":"exit"}"#);
    assert!(child.wait().unwrap().success());
}
