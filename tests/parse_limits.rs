//! Parsing hardening (issue 16, items 1, 2, 5, 6, 19): deep nesting is a coded
//! diagnostic and never a stack overflow; parsing is linear in the nesting
//! depth in both grammars; long lines render; did-you-mean is bounded; source
//! files are read with a size cap, a byte-order mark skipped and UTF-8 checked.
//!
//! Oracles: the depth limit `MAX_DEPTH` of `syntax::depth`; texts at the limit
//! must parse, check and evaluate on a 2 MiB stack (a test thread's default);
//! one level more must give `algen::parse::too_deep`.

use algen::syntax::depth::MAX_DEPTH;
use algen::{check, diag, rasp, syntax, task};
use std::time::{Duration, Instant};

/// Runs `f` on a thread with a 2 MiB stack (the default of test threads, stated here
/// so that the test does not depend on RUST_MIN_STACK).
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("spawn").join().expect("no panic")
}

fn parse_code(text: &str) -> Result<(), &'static str> {
    syntax::parse_file(0, text).map(|_| ()).map_err(|d| d.code)
}

fn rasp_code(text: &str) -> Result<(), &'static str> {
    rasp::parse::parse(0, text, 0).map(|_| ()).map_err(|d| d.code)
}

fn nest(open: &str, mid: &str, close: &str, n: usize) -> String {
    format!("{}{mid}{}", open.repeat(n), close.repeat(n))
}

/// Spec texts whose deepest point is `n` levels, one per construct of the grammar.
fn spec_nestings(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("lists", format!("let x = {};", nest("[", "1", "]", n))),
        ("parens", format!("let x = {};", nest("(", "1", ")", n))),
        ("tuples", format!("let x = {};", nest("(1, ", "1", ")", n))),
        ("indices", format!("let x = {};", nest("[", "0", "][0]", n))),
        ("index chain", format!("let x = [1]{};", "[0]".repeat(n))),
        ("slices", format!("let x = {};", nest("[1, 2][", "0", ":]", n))),
        ("calls", format!("let x = {};", nest("min(", "1", ", 2)", n))),
        ("records", format!("model m = {}", nest("r { a = ", "1", " }", n))),
        ("ifs", format!("let x = {}1{};", "if true then ".repeat(n), " else 0".repeat(n))),
        ("else ifs", format!("let x = {}0;", "if true then 1 else ".repeat(n))),
        ("sum", format!("let x = 1{};", " + 1".repeat(n))),
        ("unary minus", format!("let x = {}1;", "-".repeat(n))),
        ("not", format!("let x = {}true;", "not ".repeat(n))),
        ("rasp block", format!("rasp p {{ {} }}", nest("{", "", "}", n - 1))),
    ]
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    small_stack(|| {
        for (what, text) in spec_nestings(1000) {
            assert_eq!(parse_code(&text), Err("algen::parse::too_deep"), "{what}");
        }
        let huge = [
            format!("let x = {}1{};", "if true then ".repeat(5000), " else 0".repeat(5000)),
            format!("let x = 1{};", " + 1".repeat(40_000)),
            format!("let x = {}1;", "-".repeat(40_000)),
        ];
        for text in huge {
            assert_eq!(parse_code(&text), Err("algen::parse::too_deep"));
        }
        assert_eq!(rasp_code(&format!("x = {};", nest("(", "1", ")", 1000))), Err("algen::parse::too_deep"));
        assert_eq!(rasp_code(&format!("x = 1{};", " + 1".repeat(40_000))), Err("algen::parse::too_deep"));
    });
}

#[test]
fn nesting_at_the_limit_parses_and_one_more_does_not() {
    small_stack(|| {
        for (what, text) in spec_nestings(MAX_DEPTH) {
            assert_eq!(parse_code(&text), Ok(()), "{what} at the limit");
        }
        for (what, text) in spec_nestings(MAX_DEPTH + 1) {
            assert_eq!(parse_code(&text), Err("algen::parse::too_deep"), "{what} past the limit");
        }
    });
}

/// The checker (folding, type inference) and the evaluator over a target at the limit.
#[test]
fn targets_at_the_limit_check_and_evaluate_on_a_small_stack() {
    let n = MAX_DEPTH - 2;
    let targets = [
        format!("({}len(input){}) % 2", "(".repeat(n - 2), " + 1)".repeat(n - 2)),
        format!("(len(input){}) % 2", " + 1".repeat(n - 2)),
        format!("{}len(input) % 2", "- - ".repeat(n / 2 - 1)),
        format!("{}0", "if len(input) > 100 then 1 else ".repeat(n - 1)),
        format!("len(input{}) % 2", "[0:]".repeat(n - 2)),
        format!("len({}input{}) % 2", "reverse(".repeat(n - 2), ")".repeat(n - 2)),
    ];
    for target in targets {
        let spec =
            format!("task t {{ alphabet = \"01\", input = string(alphabet), target = {target}, format = classify }}");
        let errors = small_stack(move || {
            let l = syntax::load::load_str("t.alg", &spec);
            assert!(l.diags.is_empty(), "{:?}", l.diags.iter().map(|d| &d.message).collect::<Vec<_>>());
            let c = check::check(&l.files);
            let spec = c.spec.expect("checked");
            let t = &spec.tasks[0];
            for len in 1..4 {
                task::generate(t, "train", len, 0, 2).expect("labels");
            }
            c.diags.iter().filter(|d| !d.warning).count()
        });
        assert_eq!(errors, 0);
    }
}

/// RASP programs at the limit compile (check, define) and evaluate on a small stack.
#[test]
fn rasp_at_the_limit_compiles_and_evaluates_on_a_small_stack() {
    let n = MAX_DEPTH - 2;
    let programs = [
        format!("x = {};", nest("(", "tokens", ")", n)),
        format!("x = indices{};", " + 1".repeat(n)),
        format!("x = {}indices;", "- ".repeat(n)),
        format!("l = {};x = tokens;", nest("[", "0", "]", n - 1)),
        format!("d = {};x = tokens;", nest("{0: ", "1", "}", n - 1)),
        format!("x = indices{};", " if 1 else 0".repeat(n - 1)),
    ];
    for src in programs {
        small_stack(move || {
            let text: std::sync::Arc<str> = src.as_str().into();
            let p = rasp::compile(0, &src, 0, text)
                .unwrap_or_else(|d| panic!("{:?}", d.iter().map(|d| &d.message).collect::<Vec<_>>()));
            let mut ev = p.evaluator("x", None).expect("x");
            let toks = rasp::jsonl::tokens(&mut ev, &serde_json::json!([1, 2, 3])).expect("tokens");
            ev.eval(&toks).expect("evaluates");
        });
    }
}

/// Nesting that pest once parsed in exponential time (a failed alternative re-parsed its
/// whole inside): at the limit it parses in well under a second, even in a debug build.
#[test]
fn parsing_is_linear_in_the_nesting_depth() {
    let n = MAX_DEPTH;
    let spec = [
        nest("(", "1", ")", n),
        nest("(1, ", "1", ")", n),
        nest("[1][", "0", "]", n),
        nest("[1][", "0", ":]", n),
        nest("[1][:", "0", "]", n),
        nest("min(", "1", ", 2)", n),
        nest("min(a = ", "1", ")", n),
        nest("[", "1", "]", n),
        nest("r { a = ", "1", " }", n),
        nest("if true then ", "1", " else 0", n),
        nest("r { a = (", "1", ") }", n / 2),
    ];
    for v in spec {
        let text = format!("let x = {v};");
        let t = Instant::now();
        assert_eq!(small_stack(move || parse_code(&text)), Ok(()), "{v:.40}");
        assert!(t.elapsed() < Duration::from_secs(1), "{v:.40}: {:?}", t.elapsed());
        // An error at the innermost point must not be slow either.
        let text = format!("let x = {};", v.replacen('1', "1 1", 1));
        let t = Instant::now();
        assert_eq!(small_stack(move || parse_code(&text)), Err("algen::parse::syntax"));
        assert!(t.elapsed() < Duration::from_secs(1), "error in {v:.40}: {:?}", t.elapsed());
    }
    let rasp_texts = [
        nest("[", "1", "]", n - 4),
        nest("{0: ", "1", "}", n - 4),
        nest("(", "1", ")", n - 4),
        nest("len(", "tokens", ")", n - 4),
        nest("[", "1 for y in [1]", "]", n - 4),
        nest("{0: ", "1 for y in [1]", "}", n - 4),
        nest("select(", "1", ", 1, ==)", n - 4),
        nest("aggregate(", "1", ", 1)", n - 4),
        nest("round(", "1", ")", n - 4),
        nest("f(", "1", ")", n - 4),
        nest("[1][", "1", "]", n - 4),
        nest("(", "1", " if 1 else 0)", n - 4),
    ];
    for v in rasp_texts {
        let text = format!("x = {v};");
        let t = Instant::now();
        assert_eq!(small_stack(move || rasp_code(&text)), Ok(()), "{v:.40}");
        assert!(t.elapsed() < Duration::from_secs(1), "{v:.40}: {:?}", t.elapsed());
        let text = format!("x = {};", v.replacen("1", "1 1", 1).replacen("tokens", "tokens tokens", 1));
        let t = Instant::now();
        assert_eq!(small_stack(move || rasp_code(&text)), Err("algen::parse::syntax"));
        assert!(t.elapsed() < Duration::from_secs(1), "error in {v:.40}: {:?}", t.elapsed());
    }
    let statements = [
        format!("{}x = 1;{}", "def f() { ".repeat(n / 2 - 2), " return 1; }".repeat(n / 2 - 2)),
        format!("{}x = 1;{}", "for y in [1] { ".repeat(n / 2 - 2), " }".repeat(n / 2 - 2)),
    ];
    for text in statements {
        let t = Instant::now();
        small_stack(move || rasp_code(&text)).expect("parses");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
}

/// Every shipped spec stays far below the limit.
#[test]
fn shipped_specs_are_far_below_the_limit() {
    let mut files = vec![];
    for dir in ["specs", "specs/lib", "tests/fixtures/parse/ok", "tests/fixtures/check/ok"] {
        for e in std::fs::read_dir(dir).expect("dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "alg") {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 10);
    for p in files {
        let text = std::fs::read_to_string(&p).expect("read");
        // A limit of a quarter still accepts them.
        let doubled = format!("let x = {};\n{text}", nest("(", "1", ")", MAX_DEPTH * 3 / 4));
        assert_eq!(parse_code(&doubled), Ok(()), "{}", p.display());
    }
}

#[test]
fn a_line_longer_than_65535_chars_renders() {
    let long = "x".repeat(100_000);
    for text in [format!("let a = 1; {long} let b = 2;"), format!("let a = \"{long}"), format!("{long} {long}")] {
        let l = syntax::load::load_str("long.alg", &text);
        assert_eq!(l.diags.len(), 1);
        let diags: Vec<diag::Diag> = l.diags.into_iter().map(|d| d.with_source(&l.sources)).collect();
        let out = diag::render(&diags, 80, false);
        assert!(out.contains("algen::parse::syntax"), "{out:.300}");
        assert!(out.contains("long.alg:1:"), "{out:.300}");
        assert!(out.len() < 5_000, "the long line is shown as a window: {} bytes", out.len());
    }
    // The column in the header is the true one.
    let text = format!("let a = {long} 1;");
    let l = syntax::load::load_str("long.alg", &text);
    let diags: Vec<diag::Diag> = l.diags.into_iter().map(|d| d.with_source(&l.sources)).collect();
    let out = diag::render(&diags, 80, false);
    assert!(out.contains(&format!("long.alg:1:{}", 100_010)), "{out}");
    // Multi-byte characters, a label longer than the window, and a second label far away
    // on the same line (a duplicate name).
    let wide = "é".repeat(60_000);
    let pad = " ".repeat(100_000);
    for text in [format!("let a = \"{wide}"), format!("let a = 1; {pad}let a = 2; // {wide}")] {
        let l = syntax::load::load_str("long.alg", &text);
        let mut diags = l.diags;
        diags.extend(check::check(&l.files).diags);
        assert!(!diags.is_empty());
        let diags: Vec<diag::Diag> = diags.into_iter().map(|d| d.with_source(&l.sources)).collect();
        let out = diag::render(&diags, 80, false);
        assert!(out.contains("long.alg:1:"), "{out:.300}");
        assert!(out.len() < 5_000, "{} bytes", out.len());
        if text.contains("let a = 2") {
            // The window is around the primary label (the second definition).
            assert!(out.contains("long.alg:1:100016") && out.contains("let a = 2"), "{out}");
        }
    }
}

#[test]
fn did_you_mean_is_bounded_on_huge_names() {
    let huge = "a".repeat(100_000);
    let near = format!("{huge}b");
    let t = Instant::now();
    assert_eq!(diag::did_you_mean(&huge, [near.as_str(), "abc"]), None);
    assert_eq!(diag::did_you_mean("sequence_acuracy", ["sequence_accuracy", near.as_str()]), Some("sequence_accuracy"));
    // Through the checker and the RASP checker: an unknown 100,000-char name.
    let spec = format!(
        "let {huge} = 1;\ntask t {{ alphabet = \"01\", input = string(alphabet), target = {near}, {near} = 1 }}"
    );
    let l = syntax::load::load_str("t.alg", &spec);
    let c = check::check(&l.files);
    let codes: Vec<&str> = c.diags.iter().map(|d| d.code).collect();
    assert!(codes.contains(&"algen::check::unknown_name"), "{codes:?}");
    assert!(codes.contains(&"algen::check::unknown_field"), "{codes:?}");
    let src = format!("{huge} = tokens;\nx = {near};");
    let text: std::sync::Arc<str> = src.as_str().into();
    let d = rasp::compile(0, &src, 0, text).expect_err("unknown name");
    assert!(d.iter().any(|d| d.code == "algen::check::rasp_unknown_name"));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn split_is_a_function_in_values() {
    let spec = "task t { alphabet = \"01\", input = string(alphabet), target = len(split(input, \"0\")) % 4, \
                format = classify }";
    let l = syntax::load::load_str("t.alg", spec);
    assert!(l.diags.is_empty(), "{:?}", l.diags.iter().map(|d| &d.message).collect::<Vec<_>>());
    let c = check::check(&l.files);
    assert!(c.diags.iter().all(|d| d.warning), "{:?}", c.diags.iter().map(|d| &d.message).collect::<Vec<_>>());
    let spec = c.spec.expect("checked");
    // `split("1001", "0")` = ["1", "", "1"]: three pieces; `split("11", "0")` = ["11"].
    let t = &spec.tasks[0];
    assert_eq!(task::label_tokens(t, &["1", "0", "0", "1"]).expect("labels"), ["3"]);
    assert_eq!(task::label_tokens(t, &["1", "1"]).expect("labels"), ["1"]);
    // The item `split NAME { ... }` still parses.
    assert_eq!(parse_code("split s { train = len 1..=4, test = len 5..=8 }"), Ok(()));
}

/// `let` constants are substituted where they are used: a chain of them is as deep as it is
/// long, and a cycle infinitely deep. Too deep is `algen::parse::too_deep` (reported once, at
/// the first constant past the limit), a cycle `algen::check::let_cycle`; the checker never
/// expands either (it once overflowed its stack on both).
#[test]
fn let_chains_and_cycles_are_bounded() {
    let task = |target: &str| {
        format!("task t {{ alphabet = \"01\", input = string(alphabet), target = {target}, format = classify }}\n")
    };
    let chain = |n: usize, step: &str| {
        let mut s = "let a0 = 1;\n".to_string();
        for i in 1..n {
            s += &format!("let a{i} = a{}{step};\n", i - 1);
        }
        s
    };
    let codes = |text: String| {
        small_stack(move || {
            let l = syntax::load::load_str("t.alg", &text);
            let mut diags = l.diags;
            diags.extend(check::check(&l.files).diags);
            diags.iter().filter(|d| !d.warning).map(|d| d.code).collect::<Vec<_>>()
        })
    };
    let last = |n: usize| format!("(len(input) + a{}) % 2", n - 1);
    for step in [" + 1", ""] {
        let text = chain(5_000, step) + &task(&last(5_000));
        assert_eq!(codes(text), ["algen::parse::too_deep"], "chain with `{step}`");
    }
    // Under the limit: checks, and the target evaluates on a small stack.
    let text = chain(49, " + 1") + &task(&last(49));
    small_stack(move || {
        let l = syntax::load::load_str("t.alg", &text);
        assert!(l.diags.is_empty());
        let c = check::check(&l.files);
        assert!(c.diags.iter().all(|d| d.warning));
        let spec = c.spec.expect("checked");
        // a48 = 49, so the target is (len + 49) % 2.
        assert_eq!(task::label_tokens(&spec.tasks[0], &["0", "1"]).expect("labels"), ["1"]);
    });
    let cycle = "let a = b + 1;\nlet b = a + 1;\nlet c = a;\n".to_string() + &task("(len(input) + c) % 2");
    assert_eq!(codes(cycle), ["algen::check::let_cycle", "algen::check::let_cycle"]);
    let alias = "let a = b;\nlet b = a;\n".to_string() + &task("(len(input) + a) % 2");
    assert_eq!(codes(alias), ["algen::check::let_cycle", "algen::check::let_cycle"]);
}
