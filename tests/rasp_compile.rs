//! The RASP compiler (`algen::rasp_compile`, issue 21).
//!
//! Oracles: algen's RASP interpreter (itself checked against the original
//! interpreter's outputs in tests/rasp_corpus.rs) on every input up to max_len,
//! run here through the public APIs only; tracr's published sizes for its
//! library programs (Lindner et al. 2023, numbers quoted in the issue); the
//! diagnostics' snapshots, read by hand.

use algen::rasp::{self, Program, Val};
use algen::rasp_compile::{compile, trace::count_inputs, Compiled, Opts};
use std::sync::Arc;

fn program(path: &str) -> (algen::source::SourceMap, Program) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut sources = algen::source::SourceMap::new();
    let id = sources.add(path.to_string(), text.as_str());
    let text: Arc<str> = text.into();
    let p = rasp::compile(id, &text, 0, text.clone()).unwrap_or_else(|d| panic!("{path}: {}", d[0].message));
    (sources, p)
}

fn opts(vocab: &str, max_len: usize, bos: Option<&str>) -> Opts {
    Opts {
        vocab: vocab.chars().map(String::from).collect(),
        max_len,
        causal: false,
        program_bos: bos.map(String::from),
    }
}

/// Numbers compare as numbers (the interpreter writes a mean of [2, 2] as 2.0).
fn same(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Every input up to max_len: the compiled model's output equals the interpreter's.
fn agrees_everywhere(p: &Program, c: &Compiled, sop: &str) -> usize {
    let mut ev = p.evaluator(sop, None).expect("public s-op");
    let mut level: Vec<Vec<String>> = vec![vec![]];
    let mut n = 0;
    for _ in 0..c.opts.max_len {
        level = level
            .iter()
            .flat_map(|pre| c.opts.vocab.iter().map(move |t| [pre.clone(), vec![t.clone()]].concat()))
            .collect();
        for tail in &level {
            let input: Vec<String> = c.opts.program_bos.iter().cloned().chain(tail.iter().cloned()).collect();
            ev.start_input();
            let vals: Vec<Val> = input.iter().map(|t| Val::Str(ev.strings.intern(t))).collect();
            let out = ev.eval(&vals).expect("total program").to_vec();
            let want: Vec<String> = out.iter().map(|v| rasp::token_text(*v, &ev.strings)).collect();
            let got = c.run(&input).expect("input fits the model");
            assert!(want.iter().zip(&got).all(|(a, b)| same(a, b)), "{input:?}: interpreter {want:?}, model {got:?}");
            n += 1;
        }
    }
    n
}

/// (file, s-op, vocab, max_len, program BOS, tracr's layers / residual / MLP where published)
const PROGRAMS: &[(&str, &str, &str, usize, Option<&str>, Option<(usize, usize, usize)>)] = &[
    ("tests/data/rasp_compile/length.rasp", "result", "abc", 5, None, Some((1, 18, 0))),
    ("tests/data/rasp/reverse.rasp", "result", "abc", 5, None, Some((4, 41, 0))),
    ("tests/data/rasp/hist_nobos.rasp", "result", "abc", 5, None, Some((1, 18, 0))),
    ("tests/data/rasp_compile/sort_unique.rasp", "result", "12345", 5, None, Some((2, 25, 0))),
    ("tests/data/rasp_compile/frac_prevs.rasp", "result", "abc", 5, None, Some((2, 12, 0))),
    ("tests/data/rasp_compile/sort.rasp", "result", "abc", 5, None, None),
    ("tests/data/rasp_compile/sort_freq.rasp", "result", "abc", 5, None, Some((5, 64, 0))),
    ("tests/data/rasp_compile/shuffle_dyck2.rasp", "result", "(){}", 6, None, Some((8, 58, 292))),
    ("tests/data/rasp/dyck1_ptf.rasp", "result", "()", 8, None, None),
    ("tests/data/rasp/dyck2_ptf.rasp", "result", "(){}", 5, None, None),
    ("tests/data/rasp/hist_bos.rasp", "result", "abc", 4, Some("§"), None),
    ("tests/data/rasp/sort_bos.rasp", "result", "abc", 4, Some("§"), None),
    ("tests/data/rasp/readme_e_in_tokens.rasp", "result", "abe", 4, None, None),
];

#[test]
fn acceptance_programs_compile_and_agree_with_the_interpreter_on_every_input() {
    let mut table = String::from(
        "| program | max_len | algen layers / residual / MLP | tracr layers / residual / MLP |\n|---|---|---|---|\n",
    );
    for &(path, sop, vocab, max_len, bos, tracr) in PROGRAMS {
        let (_, p) = program(path);
        let c = compile(&p, sop, opts(vocab, max_len, bos)).unwrap_or_else(|d| panic!("{path}: {}", d.message));
        assert_eq!(c.verified, count_inputs(vocab.chars().count(), max_len), "{path}: verified every input");
        assert_eq!(agrees_everywhere(&p, &c, sop), c.verified, "{path}");
        let s = c.sizes();
        let name = std::path::Path::new(path).file_stem().unwrap().to_string_lossy().to_string();
        let theirs = match tracr {
            Some((l, r, 0)) => {
                assert!(s.layers <= l, "{name}: {} layers, tracr {l}", s.layers);
                format!("{l} / {r} / –")
            }
            Some((l, r, m)) => {
                assert!(s.layers <= l, "{name}: {} layers, tracr {l}", s.layers);
                format!("{l} / {r} / {m}")
            }
            None => "–".into(),
        };
        table += &format!("| {name} | {max_len} | {} / {} / {} | {theirs} |\n", s.layers, s.residual, s.mlp_hidden);
    }
    insta::assert_snapshot!("size_table", table);
}

#[test]
fn compiling_twice_gives_the_same_layout_and_weights() {
    let (_, p) = program("tests/data/rasp_compile/sort.rasp");
    let a = compile(&p, "result", opts("abc", 4, None)).expect("compiles");
    let b = compile(&p, "result", opts("abc", 4, None)).expect("compiles");
    assert_eq!(a.layout.labels, b.layout.labels);
    assert_eq!(a.model.tok, b.model.tok);
    assert_eq!(a.model.layers.len(), b.model.layers.len());
    for (x, y) in a.model.layers.iter().zip(&b.model.layers) {
        assert_eq!((&x.w1, &x.w2), (&y.w1, &y.w2));
    }
    // The layout follows the program: embeddings first, the output's block last.
    assert_eq!(&a.layout.labels[..2], ["one", "bos"]);
    assert!(
        a.layout.labels[2].starts_with("indices:") || a.layout.labels[2].starts_with("tokens"),
        "{:?}",
        a.layout.labels
    );
}

#[test]
fn a_damaged_model_is_caught_by_the_comparison() {
    // The oracle above can fail: zeroing one MLP breaks `hist`.
    let (_, p) = program("tests/data/rasp/hist_nobos.rasp");
    let mut c = compile(&p, "result", opts("ab", 3, None)).expect("compiles");
    c.model.layers[0].w2.iter_mut().for_each(|w| *w = 0.0);
    let input: Vec<String> = ["a", "b", "a"].iter().map(|s| s.to_string()).collect();
    assert_ne!(c.run(&input).unwrap(), vec!["2", "1", "2"]);
}

#[test]
fn causal_programs_compile_as_decoders() {
    let (_, p) = program("tests/data/rasp/dyck1_ptf.rasp");
    let mut o = opts("()", 6, None);
    o.causal = true;
    let c = compile(&p, "result", o).expect("dyck1 looks only backwards");
    assert!(c.model.causal);
    agrees_everywhere(&p, &c, "result");
}

#[test]
fn out_of_subset_constructs_are_coded_diagnostics() {
    let dir = std::path::Path::new("tests/fixtures/rasp_compile");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut codes = std::collections::BTreeSet::new();
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "rasp")) {
        let path = f.to_string_lossy().to_string();
        let (sources, p) = program(&path);
        let text = std::fs::read_to_string(f).unwrap();
        let args: Vec<&str> = text.lines().next().unwrap().trim_start_matches("# args:").split_whitespace().collect();
        let arg = |k: &str| args.iter().position(|a| *a == k).map(|i| args[i + 1]);
        let o = Opts {
            vocab: arg("--vocab").unwrap().chars().map(String::from).collect(),
            max_len: arg("--max-len").unwrap().parse().unwrap(),
            causal: args.contains(&"--causal"),
            program_bos: None,
        };
        let d = match compile(&p, arg("--sop").unwrap(), o) {
            Ok(_) => panic!("{path} compiles"),
            Err(d) => d,
        };
        codes.insert(d.code);
        let rendered = algen::diag::render(&[d.with_source(&sources)], 80, false);
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(format!("rasp_compile_{stem}"), rendered);
    }
    assert!(codes.len() >= 6, "{codes:?}");
    assert!(!codes.contains("algen::rasp_compile::internal") && !codes.contains("algen::rasp_compile::disagrees"));
}

#[test]
fn the_command_writes_weights_and_a_sidecar_that_describe_each_other() {
    let dir = std::env::temp_dir().join(format!("algen-rasp-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("rev.safetensors");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_algen"))
        .args(["compile-rasp", "tests/data/rasp/reverse.rasp", "--sop", "result", "--vocab", "abc", "--max-len", "4"])
        .arg("--out")
        .arg(&out)
        .arg("--explain")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("verified on all 120 inputs") && stdout.contains("head 0: reverse <- gather"), "{stdout}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("rev.json")).unwrap()).unwrap();
    let d = meta["sizes"]["residual"].as_u64().unwrap() as usize;
    assert_eq!(meta["residual"].as_array().unwrap().len(), d);
    assert_eq!(meta["vocab"], serde_json::json!(["<bos>", "a", "b", "c"]));
    let w = candle_core::safetensors::load(&out, &candle_core::Device::Cpu).unwrap();
    assert_eq!(w["embed.tokens"].dims(), &[4, d]);
    assert_eq!(w["unembed"].dims(), &[d, 3]);
    let layers = meta["layers"].as_array().unwrap();
    assert_eq!(layers.len(), meta["sizes"]["layers"].as_u64().unwrap() as usize);
    for (l, layer) in layers.iter().enumerate() {
        for h in 0..layer["attention"].as_array().unwrap().len() {
            assert_eq!(w[&format!("layers.{l}.heads.{h}.wq")].dims()[0], d);
        }
    }
    // A name the program does not define: the interpreter's diagnostic, exit 1.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_algen"))
        .args(["compile-rasp", "tests/data/rasp/reverse.rasp", "--sop", "nope", "--vocab", "ab", "--max-len", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("algen::check::rasp_output"));
    std::fs::remove_dir_all(&dir).ok();
}
