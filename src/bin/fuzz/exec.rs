//! Runs one case in-process, through the library functions each CLI command calls
//! (`check`/`compile` on specs, `rasp` on programs, `label`/`rasp` on JSON lines), and
//! checks the properties: every failing load has a coded error that renders, every JSON
//! line gets exactly one well-formed answer line. Panics are caught by the caller.

use crate::case::{Case, Kind};
use algen::diag::{self, Diag};
use algen::source::SourceMap;
use algen::{check, ir, model, pipeline, syntax, task};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// JSON lines longer than this go to the CLI only, where the per-line size limit lives
/// (issue 16 item 8), not to the library functions directly.
pub const HUGE_LINE: usize = 1 << 20;

/// A property violation: `(signature, detail)`.
pub type Fail = (String, String);

fn fail<T>(sig: impl Into<String>, detail: impl Into<String>) -> Result<T, Fail> {
    Err((sig.into(), detail.into()))
}

/// Per-worker state: loaded targets, the `algen` binary for the CLI checks.
pub struct Ctx {
    pub algen: Option<PathBuf>,
    pub timeout_ms: u64,
    pub mem_mb: u64,
    pub tmp: PathBuf,
    specs: HashMap<String, Option<pipeline::Loaded>>,
    programs: HashMap<String, Option<algen::rasp::Program>>,
}

impl Ctx {
    pub fn new(algen: Option<PathBuf>, timeout_ms: u64, mem_mb: u64) -> Ctx {
        let tmp = std::env::temp_dir().join(format!("algen-fuzz-{}", std::process::id()));
        Ctx { algen, timeout_ms, mem_mb, tmp, specs: HashMap::new(), programs: HashMap::new() }
    }
}

pub fn run(ctx: &mut Ctx, case: &Case) -> Result<(), Fail> {
    match &case.kind {
        Kind::Spec => spec(ctx, &case.name, &case.bytes),
        Kind::Rasp => rasp_program(&case.name, &case.bytes),
        Kind::SelfTest => self_test(&case.bytes),
        Kind::Label { spec, task } => {
            label_lines(ctx, spec, task, &case.lines)?;
            if case.cli {
                crate::cli::check(ctx, &["label", spec, "-t", task], &case.lines)?;
            }
            Ok(())
        }
        Kind::RaspLines { program, eval } => {
            rasp_lines(ctx, program, eval, &case.lines)?;
            if case.cli {
                crate::cli::check(ctx, &["rasp", program, "--eval", eval], &case.lines)?;
            }
            Ok(())
        }
    }
}

/// The diagnostics of a failed load: at least one error, every code listed, all render.
fn diags_ok(sources: &SourceMap, diags: Vec<Diag>) -> Result<(), Fail> {
    if !diags.iter().any(|d| !d.warning) {
        return fail("exit 1 without an error diagnostic", format!("{} warnings only", diags.len()));
    }
    for d in &diags {
        if !d.code.starts_with("algen::") || !diag::CODES.iter().any(|(c, _)| *c == d.code) {
            return fail(format!("unlisted code {}", d.code), d.message.clone());
        }
        if d.message.trim().is_empty() {
            return fail(format!("empty message for {}", d.code), "");
        }
    }
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    let diags: Vec<Diag> = diags.into_iter().map(|d| d.with_source(sources)).collect();
    let text = diag::render(&diags, 80, false);
    if let Some(c) = codes.iter().find(|c| !text.contains(**c)) {
        return fail(format!("rendered diagnostics lack code {c}"), text.chars().take(300).collect::<String>());
    }
    Ok(())
}

fn spec(ctx: &mut Ctx, name: &str, bytes: &[u8]) -> Result<(), Fail> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Not UTF-8: through the file-reading path the CLI takes.
        std::fs::create_dir_all(&ctx.tmp).ok();
        let path = ctx.tmp.join("case.alg");
        std::fs::write(&path, bytes).map_err(|e| ("cannot write temp file".to_string(), e.to_string()))?;
        return match pipeline::load(&path) {
            Ok(l) => compile(&l.spec),
            Err(pipeline::LoadError::Diags(s, d)) => diags_ok(&s, d),
            Err(pipeline::LoadError::Io(_, e)) => fail("non-UTF-8 spec: uncoded I/O error", e.to_string()),
        };
    };
    let l = syntax::load::load_str(name, text);
    let mut diags = l.diags;
    let c = check::check(&l.files);
    diags.extend(c.diags);
    if let Some(s) = &c.spec {
        diags.extend(pipeline::validate(s));
    }
    match c.spec {
        Some(s) if diags.iter().all(|d| d.warning) => {
            compile(&s)?;
            label_some(&s);
            Ok(())
        }
        _ => diags_ok(&l.sources, diags),
    }
}

/// What `algen compile` computes after loading (commands::compile_json).
fn compile(spec: &ir::Spec) -> Result<(), Fail> {
    let mut models = vec![];
    for exp in &spec.experiments {
        let (Some(t), Some(s)) = (spec.task(&exp.task), spec.split(&exp.split)) else { continue };
        let v = task::vocab(t);
        let io = model::ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
        let longest = s.train.lengths().iter().max().copied().unwrap_or(1);
        for var in &exp.variants {
            let seq = algen::train::seq_len(t, &v, longest);
            models.push(json!({
                "params": model::param_count(&var.model.arch, io),
                "flops": model::flops_per_step(&var.model.arch, io, var.train.batch, seq),
            }));
        }
    }
    let j = json!({"ir": spec, "models": models});
    serde_json::to_string_pretty(&j).map(drop).or_else(|e| fail("compile output does not serialize", e.to_string()))
}

/// Labels a few short inputs of every task of a checked spec (errors are fine, panics are not).
fn label_some(spec: &ir::Spec) {
    for t in spec.tasks.iter().take(3) {
        let labeler = task::Labeler::new(t);
        let n = t.alphabet.len() as u32;
        for len in 0..4u32 {
            let ids: Vec<u32> = (0..len).map(|i| if n == 0 { 0 } else { (i * 7 + len) % n }).collect();
            let _ = labeler.label(&ids);
        }
    }
}

fn rasp_program(name: &str, bytes: &[u8]) -> Result<(), Fail> {
    let text = String::from_utf8_lossy(bytes);
    let mut sources = SourceMap::new();
    let id = sources.add(name.to_string(), &*text);
    let arc: std::sync::Arc<str> = text.as_ref().into();
    let program = match algen::rasp::compile(id, &text, 0, arc) {
        Ok(p) => p,
        Err(d) => return diags_ok(&sources, d),
    };
    let sops: Vec<String> = program.sops().iter().take(2).map(|s| s.to_string()).collect();
    for s in sops {
        let mut ev =
            program.evaluator(&s, None).map_err(|d| ("public s-op has no evaluator".to_string(), d.message))?;
        for line in
            [r#"{"input": "abc"}"#, r#"{"input": ["a", "b", "a"]}"#, r#"{"input": []}"#, r#"{"input": [1, 2, 3]}"#]
        {
            answer_ok(line, &algen::rasp::jsonl::answer(&mut ev, line))?;
        }
    }
    Ok(())
}

/// One answer line: no newline, valid JSON, an `input` and exactly one of `output`/`error`.
pub fn answer_ok(line: &str, answer: &str) -> Result<(), Fail> {
    if answer.contains('\n') {
        return fail("answer spans several lines", answer.chars().take(200).collect::<String>());
    }
    let j: Json = serde_json::from_str(answer).map_err(|e| {
        ("answer is not JSON".to_string(), format!("{e}: {}", answer.chars().take(200).collect::<String>()))
    })?;
    if !j.is_object() || j.get("input").is_none() || (j.get("output").is_some() == j.get("error").is_some()) {
        return fail("answer lacks input/output/error", format!("{} -> {}", short(line), short(answer)));
    }
    Ok(())
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

fn label_lines(ctx: &mut Ctx, spec: &str, name: &str, lines: &[Vec<u8>]) -> Result<(), Fail> {
    let loaded = ctx.specs.entry(spec.to_string()).or_insert_with(|| pipeline::load(Path::new(spec)).ok());
    let Some(t) = loaded.as_ref().and_then(|l| l.spec.task(name)) else {
        return fail("label target does not load", format!("{spec} task {name}"));
    };
    let labeler = task::Labeler::new(t);
    for l in lines.iter().filter(|l| l.len() <= HUGE_LINE) {
        let line = String::from_utf8_lossy(l);
        let reply = label_line(&labeler, t, &line).to_string();
        answer_ok(&line, &reply)?;
    }
    Ok(())
}

/// `algen label`'s answer to one line (commands::label_line, which lives in the binary).
fn label_line(labeler: &task::Labeler, t: &ir::Task, line: &str) -> Json {
    let parsed: Json = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"input": Json::Null, "error": format!("invalid JSON: {e}")}),
    };
    let Some(input) = parsed.get("input").cloned() else {
        return json!({"input": Json::Null, "error": "no input"});
    };
    let result: Result<Json, String> = match &input {
        Json::Array(items) if items.iter().all(|v| v.is_u64()) => {
            let ids: Vec<u32> = items.iter().map(|v| v.as_u64().unwrap_or(0).min(u32::MAX as u64) as u32).collect();
            labeler.label(&ids).map(|o| json!(o)).map_err(|e| e.to_string())
        }
        Json::Array(items) if items.iter().all(|v| v.is_string()) => {
            let toks: Vec<&str> = items.iter().filter_map(|v| v.as_str()).collect();
            task::label_tokens(t, &toks).map(|o| json!(o)).map_err(|e| e.to_string())
        }
        Json::String(s) => {
            let toks: Vec<String> = s.chars().map(String::from).collect();
            task::label_tokens(t, &toks).map(|o| json!(o)).map_err(|e| e.to_string())
        }
        _ => Err("bad input".into()),
    };
    match result {
        Ok(o) => json!({"input": input, "output": o}),
        Err(e) => json!({"input": input, "error": e}),
    }
}

fn rasp_lines(ctx: &mut Ctx, program: &str, eval: &str, lines: &[Vec<u8>]) -> Result<(), Fail> {
    let p = ctx.programs.entry(program.to_string()).or_insert_with(|| {
        let text = std::fs::read_to_string(program).ok()?;
        let arc: std::sync::Arc<str> = text.as_str().into();
        algen::rasp::compile(0, &text, 0, arc).ok()
    });
    let Some(mut ev) = p.as_ref().and_then(|p| p.evaluator(eval, None).ok()) else {
        return fail("rasp target does not load", format!("{program} --eval {eval}"));
    };
    for l in lines.iter().filter(|l| l.len() <= HUGE_LINE) {
        let line = String::from_utf8_lossy(l);
        answer_ok(&line, &algen::rasp::jsonl::answer(&mut ev, &line))?;
    }
    Ok(())
}

/// Deliberate failures, to test the harness.
fn self_test(what: &[u8]) -> Result<(), Fail> {
    fn deep(n: u64) -> u64 {
        let pad = std::hint::black_box([n; 64]);
        if n == 0 {
            0
        } else {
            deep(n - 1) + pad[7]
        }
    }
    match String::from_utf8_lossy(what).trim() {
        "panic" => panic!("self-test panic"),
        "stack-overflow" => {
            std::hint::black_box(deep(u64::MAX));
        }
        "alloc" => {
            let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(1 << 42));
            std::hint::black_box(v);
        }
        "hang" => loop {
            std::thread::sleep(std::time::Duration::from_millis(10));
        },
        "property" => return fail("self-test property violation", ""),
        _ => {}
    }
    Ok(())
}
