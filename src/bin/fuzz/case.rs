//! A fuzz case and its file form (the regression corpus, saved crashes).
//!
//! - `NAME.alg`: a spec, checked and compiled (its imports resolve next to the file);
//! - `NAME.rasp`: a RASP program, compiled and run on a few inputs;
//! - `NAME.label.jsonl` / `NAME.rasp.jsonl`: a header line
//!   `{"fuzz": "label", "spec": PATH, "task": NAME}` or `{"fuzz": "rasp", "program": PATH, "eval": NAME}`
//!   (paths relative to the repository root), then the input lines given to
//!   `algen label` / `algen rasp` (raw bytes: they may be blank or not UTF-8).

use serde_json::{json, Value as Json};
use std::path::Path;

#[derive(Clone, Debug)]
pub enum Kind {
    Spec,
    Rasp,
    Label {
        spec: String,
        task: String,
    },
    RaspLines {
        program: String,
        eval: String,
    },
    /// `NAME.selftest`: a deliberate failure (`panic`, `stack-overflow`, `alloc`, `hang`,
    /// `property`) that tests the harness itself.
    SelfTest,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub kind: Kind,
    /// Spec / RASP cases: the path the text is read as (imports resolve next to it).
    pub name: String,
    pub bytes: Vec<u8>,
    /// JSON-lines cases: the input lines.
    pub lines: Vec<Vec<u8>>,
    /// JSON-lines cases: also run the `algen` binary on the lines.
    pub cli: bool,
}

impl Case {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Spec => "spec",
            Kind::Rasp => "rasp",
            Kind::Label { .. } => "label",
            Kind::RaspLines { .. } => "rasp-lines",
            Kind::SelfTest => "selftest",
        }
    }

    /// The file extension of the case's file form.
    pub fn ext(&self) -> &'static str {
        match self.kind {
            Kind::Spec => "alg",
            Kind::Rasp => "rasp",
            Kind::Label { .. } => "label.jsonl",
            Kind::RaspLines { .. } => "rasp.jsonl",
            Kind::SelfTest => "selftest",
        }
    }

    /// The file form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = match &self.kind {
            Kind::Spec | Kind::Rasp | Kind::SelfTest => return self.bytes.clone(),
            Kind::Label { spec, task } => json!({"fuzz": "label", "spec": spec, "task": task}),
            Kind::RaspLines { program, eval } => json!({"fuzz": "rasp", "program": program, "eval": eval}),
        };
        let mut out = header.to_string().into_bytes();
        for l in &self.lines {
            out.push(b'\n');
            out.extend_from_slice(l);
        }
        out.push(b'\n');
        out
    }

    /// Reads a case file (JSON-lines cases always run the CLI check too).
    pub fn read(path: &Path) -> Result<Case, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.to_string_lossy().into_owned();
        if name.ends_with(".jsonl") {
            let mut parts = bytes.split(|&b| b == b'\n');
            let header: Json = serde_json::from_slice(parts.next().unwrap_or_default())
                .map_err(|e| format!("{}: bad header: {e}", path.display()))?;
            let field = |k: &str| header.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
            let mut lines: Vec<Vec<u8>> = parts.map(<[u8]>::to_vec).collect();
            if lines.last().is_some_and(Vec::is_empty) {
                lines.pop();
            }
            let kind = match field("fuzz").as_str() {
                "label" => Kind::Label { spec: field("spec"), task: field("task") },
                "rasp" => Kind::RaspLines { program: field("program"), eval: field("eval") },
                other => return Err(format!("{}: unknown case kind `{other}`", path.display())),
            };
            return Ok(Case { kind, name, bytes: vec![], lines, cli: true });
        }
        let kind = if name.ends_with(".rasp") {
            Kind::Rasp
        } else if name.ends_with(".selftest") {
            Kind::SelfTest
        } else {
            Kind::Spec
        };
        Ok(Case { kind, name, bytes, lines: vec![], cli: false })
    }
}

/// The targets of JSON-lines cases: seed specs' tasks and seed programs' s-ops that load cleanly.
#[derive(Default)]
pub struct Targets {
    /// `(spec path, task name, its input alphabet)`.
    pub tasks: Vec<(String, String, Vec<String>)>,
    /// `(program path, s-op name)`.
    pub sops: Vec<(String, String)>,
}

impl Targets {
    pub fn build(seeds: &crate::gen::Seeds) -> Targets {
        let mut t = Targets::default();
        for (path, _) in &seeds.specs {
            if !(path.contains("check/ok") || path.contains("specs/")) || path.contains("specs/lib") {
                continue;
            }
            if let Ok(l) = algen::pipeline::load(Path::new(path)) {
                for task in l.spec.tasks.iter().take(6) {
                    t.tasks.push((path.clone(), task.name.clone(), task.alphabet.clone()));
                }
            }
        }
        for (path, text) in &seeds.rasps {
            if path.contains("fuzz_corpus") {
                continue;
            }
            let arc: std::sync::Arc<str> = text.as_str().into();
            if let Ok(p) = algen::rasp::compile(0, text, 0, arc) {
                for s in p.sops().into_iter().take(4) {
                    t.sops.push((path.clone(), s.to_string()));
                }
            }
        }
        t
    }
}
