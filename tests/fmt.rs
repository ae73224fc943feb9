//! `algen fmt` (issue 23): the canonical layout is idempotent, keeps every comment and never
//! changes meaning. Oracle for meaning: the AST (spans aside) of the formatted text equals the
//! original's, and where the file checks, so does its checked IR (spans aside), on every
//! shipped spec and every fixture that parses, and on specs generated from them with random
//! whitespace and comments. The shipped specs are formatted (CI runs `algen fmt --check` too).

use algen::fmt::format;
use algen::syntax::{self, load::load_overlay};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn alg_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            alg_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "alg") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<PathBuf> {
    let mut v = vec![];
    alg_files(&root().join("specs"), &mut v);
    v
}

fn all_files() -> Vec<PathBuf> {
    let mut v = shipped();
    alg_files(&root().join("tests/fixtures"), &mut v);
    v
}

/// A JSON value with every source position removed (spans move when whitespace changes).
fn strip_spans(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let is_span = m.len() == 3 && ["file", "start", "end"].iter().all(|k| m.contains_key(*k));
            if is_span {
                return Value::Null;
            }
            let kept = m.into_iter().filter(|(k, _)| k != "span" && !k.ends_with("_span"));
            Value::Object(kept.map(|(k, v)| (k, strip_spans(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(strip_spans).collect()),
        v => v,
    }
}

fn ast_of(text: &str) -> Option<Value> {
    let file = syntax::parse_file(0, text).ok()?;
    Some(strip_spans(serde_json::to_value(&file).unwrap()))
}

/// The checked IR of `text` standing for the file at `path` (imports read from disk).
fn ir_of(path: &Path, text: &str) -> Option<Value> {
    let loaded = load_overlay(path, text.to_string());
    if !loaded.diags.is_empty() {
        return None;
    }
    let spec = algen::check::check(&loaded.files).spec?;
    Some(strip_spans(serde_json::to_value(&spec).unwrap()))
}

/// The `//` comments of a text, in order (as the lossless front end finds them).
fn comments(text: &str) -> Vec<String> {
    let cst = syntax::cst::Cst::parse(0, text).unwrap();
    cst.tokens.iter().filter(|t| t.kind == syntax::cst::TokKind::Comment).map(|t| t.text.clone()).collect()
}

/// Formats `text` and checks the three properties; returns the formatted text.
fn check_one(name: &str, path: &Path, text: &str) -> String {
    let once = format(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let twice = format(&once).unwrap_or_else(|e| panic!("{name} formatted does not parse: {e}\n{once}"));
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
    assert_eq!(ast_of(text), ast_of(&once), "{name}: the formatted AST differs\n{once}");
    assert_eq!(comments(text), comments(&once), "{name}: comments lost or reordered\n{once}");
    if let Some(ir) = ir_of(path, text) {
        assert_eq!(Some(ir), ir_of(path, &once), "{name}: the formatted IR differs");
    }
    once
}

#[test]
fn every_spec_and_fixture_formats_idempotently_and_keeps_meaning() {
    let (mut parsed, mut checked) = (0, 0);
    for path in all_files() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue }; // not_utf8.alg
        if syntax::parse_file(0, &text).is_err() {
            continue; // the parse-error fixtures
        }
        parsed += 1;
        checked += usize::from(ir_of(&path, &text).is_some());
        check_one(&path.display().to_string(), &path, &text);
    }
    assert!(parsed > 100 && checked > 30, "too few files: {parsed} parsed, {checked} checked");
}

/// The lossless front end: the tokens (comments included) are every character of the source
/// that is not whitespace, in order, and each token's text is its source slice; number
/// spellings and parentheses are tokens of their own.
#[test]
fn cst_tokens_are_the_source_without_whitespace() {
    for path in all_files() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Ok(cst) = syntax::cst::Cst::parse(0, &text) else { continue };
        let mut rebuilt = String::new();
        let mut last = 0;
        for t in &cst.tokens {
            assert!(text[last..t.start].trim().is_empty(), "{}: text lost before {}", path.display(), t.start);
            assert_eq!(t.text, &text[t.start..t.end]);
            rebuilt.push_str(&text[last..t.start]);
            rebuilt.push_str(&t.text);
            last = t.end;
        }
        rebuilt.push_str(&text[last..]);
        assert_eq!(rebuilt, text, "{}", path.display());
    }
    let cst = syntax::cst::Cst::parse(0, "let x = (1_000 + 10k) * 1e-3; // c\n").unwrap();
    let texts: Vec<&str> = cst.tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["let", "x", "=", "(", "1_000", "+", "10k", ")", "*", "1e-3", ";", "// c"]);
}

#[test]
fn shipped_specs_are_formatted() {
    let unformatted: Vec<String> = shipped()
        .into_iter()
        .filter(|p| !algen::fmt::is_formatted(&std::fs::read_to_string(p).unwrap()))
        .map(|p| p.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "run `algen fmt` on: {unformatted:?}");
}

#[test]
fn comments_in_every_position_survive() {
    let path = root().join("tests/fixtures/fmt/comments.alg");
    let text = std::fs::read_to_string(&path).unwrap();
    let out = check_one("comments.alg", &path, &text);
    assert_eq!(comments(&text).len(), 24, "the fixture's comment count");
    insta::assert_snapshot!("fmt_comments", out);
}

#[test]
fn layout_rules() {
    let src = "task t{alphabet=\"01\";input=string( alphabet ),target=reverse(input)  ,format=transduce}\n\n\n\
               split s {\n\ttrain = len 1 ..= 8 step 2,\n  test = len 9..=16;\n\n\n  count = 10k\n}\n\
               model m = transformer {layers=2,d_model=64 ,}\n\
               experiment e { task = t, model = m { position = sweep [ none , learned(max_len=64) , ] }, split = s\n\
               train { steps = 1_000, optimizer = adam(lr = 1e-3) } expect any test.sequence_accuracy>=0.5 }\n";
    let out = check_one("layout", Path::new("layout.alg"), src);
    insta::assert_snapshot!("fmt_layout", out);
}

/// Every gap between two tokens of `text` re-spaced at random (spaces, tabs, line breaks, blank
/// lines) and sometimes given a comment: a generated spec that means what `text` means.
fn perturb(text: &str, rng: &mut impl Rng, n: usize) -> String {
    let cst = syntax::cst::Cst::parse(0, text).unwrap();
    let mut out = String::new();
    for (i, t) in cst.tokens.iter().enumerate() {
        let gap = match rng.gen_range(0..6) {
            0 => " ",
            1 => "  ",
            2 => "\n",
            3 => "\n\n\n",
            4 => "\t",
            _ => "\n    ",
        };
        let first = i == 0;
        let after_comment = i > 0 && cst.tokens[i - 1].kind == syntax::cst::TokKind::Comment;
        let glued =
            !first && !after_comment && cst.tokens[i - 1].end == t.start && t.kind != syntax::cst::TokKind::Comment;
        if after_comment {
            out.push('\n');
        } else if !first && !glued {
            out.push_str(gap);
        } else if !first && rng.gen_bool(0.3) && can_split(&cst.tokens[i - 1], t) {
            out.push(' ');
        }
        if !first && rng.gen_bool(0.05) && !glued {
            out.push_str(&format!("// generated {n}.{i}\n"));
        }
        out.push_str(&t.text);
    }
    out.push('\n');
    out
}

/// Whether whitespace may go between two tokens written together (not inside `..=`-like
/// pairs of punctuation, which are one token each already).
fn can_split(a: &syntax::cst::Token, b: &syntax::cst::Token) -> bool {
    use syntax::cst::TokKind::*;
    !(matches!(a.kind, Leaf(_)) && matches!(b.kind, Leaf(_)))
}

#[test]
fn generated_specs_format_idempotently_and_keep_meaning() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
    let mut cases = 0;
    for path in all_files() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        if syntax::parse_file(0, &text).is_err() {
            continue;
        }
        for n in 0..2 {
            let generated = perturb(&text, &mut rng, n);
            let Some(before) = ast_of(&generated) else { continue };
            assert_eq!(Some(before), ast_of(&text), "{}: the generator changed meaning", path.display());
            check_one(&format!("{} (generated {n})", path.display()), &path, &generated);
            cases += 1;
        }
    }
    assert!(cases > 200, "only {cases} generated specs");
}

/// The examples of docs/style.md are in the layout they describe.
#[test]
fn style_guide_examples_are_formatted() {
    let doc = std::fs::read_to_string(root().join("docs/style.md")).unwrap();
    let blocks: Vec<&str> = doc.split("```text\n").skip(1).map(|b| b.split("```").next().unwrap_or("")).collect();
    assert!(blocks.len() >= 2);
    for b in blocks {
        assert_eq!(format(b).unwrap(), b);
    }
}
