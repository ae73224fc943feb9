//! The spec library shipped in the binary (`import "std/…"`) and `algen explain`, run as a
//! user would: the binary started in a temporary directory that has no `specs/` folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `algen ARGS` with `dir` as the working directory (colours off).
fn algen_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_algen"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run algen")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-cli-std-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GROK: &str = r#"import "std/grokking.alg";
model m = transformer { kind = decoder, layers = 1, d_model = 16, heads = 2, ffn = 32 }
split half { train = fraction 0.5, test = rest }
experiment e { task = mod_add, model = m, split = half, train { steps = 10 } }
"#;

#[test]
fn std_import_works_from_any_directory() {
    let dir = temp("ok");
    std::fs::write(dir.join("g.alg"), GROK).unwrap();
    let o = algen_in(&dir, &["check", "g.alg"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The imported task is really there: sample it (97 × 97 equations a + b = c mod 97).
    let o = algen_in(&dir, &["sample", "g.alg", "-t", "mod_add", "--all", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).lines().count(), 97 * 97);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_local_file_at_the_same_path_wins() {
    let dir = temp("local");
    std::fs::create_dir_all(dir.join("std")).unwrap();
    // A local std/grokking.alg with a task the shipped one lacks, and without `mod_add`.
    std::fs::write(
        dir.join("std/grokking.alg"),
        "task mine { input = (a: 0..5, b: 0..5), target = (a + b) % 5, format = [a, b, \"=\"] }\n",
    )
    .unwrap();
    std::fs::write(dir.join("g.alg"), GROK.replace("task = mod_add", "task = mine")).unwrap();
    let o = algen_in(&dir, &["check", "g.alg"]);
    assert_eq!(o.status.code(), Some(0), "the local file is read: {}", text(&o.stderr));
    std::fs::write(dir.join("h.alg"), GROK).unwrap();
    let o = algen_in(&dir, &["check", "h.alg"]);
    assert_eq!(o.status.code(), Some(1), "mod_add is not in the local file");
    assert!(text(&o.stderr).contains("algen::check::unknown_name"), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unknown_std_file_suggests_a_name_and_errors_render_the_embedded_source() {
    let dir = temp("bad");
    std::fs::write(dir.join("g.alg"), GROK.replace("std/grokking.alg", "std/groking.alg")).unwrap();
    let o = algen_in(&dir, &["check", "g.alg"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("algen::import::unknown_std") && err.contains("did you mean `std/grokking.alg`?"), "{err}");
    // A diagnostic inside the embedded file renders with its text and name.
    std::fs::write(dir.join("g.alg"), GROK).unwrap();
    let l = algen::syntax::load(&dir.join("g.alg")).expect("readable");
    assert!(l.diags.is_empty(), "{:?}", l.diags.iter().map(|d| &d.message).collect::<Vec<_>>());
    let id = (0..l.sources.len()).find(|&i| l.sources.get(i).name == "<std>/grokking.alg").expect("named <std>/…");
    let at = l.sources.get(id).text.find("let p = 97").expect("the shipped text");
    let d = algen::diag::Diag::error("algen::check::out_of_range", "probe")
        .at(algen::source::Span::new(id, at, at + 10), "here")
        .with_source(&l.sources);
    let shown = algen::diag::render(&[d], 80, false);
    assert!(shown.contains("<std>/grokking.alg") && shown.contains("let p = 97"), "{shown}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_prints_an_explanation_or_suggests_a_code() {
    let dir = temp("explain");
    let o = algen_in(&dir, &["explain", "algen::check::step_end"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("Example") && text(&o.stdout).contains("13..=30 step 3"), "{}", text(&o.stdout));
    let o = algen_in(&dir, &["explain", "check::unknown_nmae"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("did you mean `algen::check::unknown_name`?"), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(dir);
}
