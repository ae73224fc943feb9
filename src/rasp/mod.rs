//! RASP (Weiss, Goldberg & Yahav 2021) in its original syntax and with the
//! original interpreter's exact results, as a task source and a command.
//!
//! ```text
//!  .rasp text ─parse─► ast::Program ─check─► (names) ─define─► Graph ─Evaluator::eval─► values per input
//! ```
//!
//! [`compile`] parses (`grammar/rasp.pest`), checks names statically, and runs
//! the program once without an input (lists, dicts, functions and loops are
//! evaluated; s-ops and selectors become a DAG). An [`Evaluator`] then
//! computes one s-op per input, or for a batch of inputs at once
//! ([`Evaluator::eval_batch`], typed columns: see `run`), reusing its
//! buffers. Errors while evaluating one input belong to that input.

pub mod ast;
mod check;
mod column;
mod define;
mod define_call;
mod define_expr;
mod dense;
mod elementwise;
pub mod graph;
pub mod jsonl;
mod kernels;
mod nodes;
pub mod parse;
mod run;
mod select;
mod strings;
mod typed;
pub mod value;

pub use check::RESERVED;
pub use run::{Batch, EvalError, Evaluator, MAX_INPUT_TOKENS};
pub use value::{Strings, Val};

use crate::diag::{did_you_mean, Diag};
use crate::source::{FileId, Span};
use define::{Definer, Value};
use std::sync::Arc;

/// The standard library, in RASP (see the file for what each function does).
pub const PRELUDE: &str = include_str!("prelude.rasp");

/// The file id that spans into the standard library use.
pub const PRELUDE_FILE: FileId = usize::MAX - 1;

/// A checked program: its graph and its top-level names.
#[derive(Clone)]
pub struct Program {
    graph: Arc<graph::Graph>,
    strings: Strings,
    /// Top-level names in definition order, with what they hold.
    names: Vec<(String, &'static str, Option<graph::Id>)>,
    file: FileId,
    text: Arc<str>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rasp::Program({} nodes)", self.graph.nodes.len())
    }
}

/// Parses, checks and defines a program. `text` starts at byte `offset` of
/// file `file`, whose whole text is `file_text` (for `rasp NAME { ... }`
/// blocks inside specs; a stand-alone file has offset 0).
pub fn compile(file: FileId, text: &str, offset: usize, file_text: Arc<str>) -> Result<Program, Vec<Diag>> {
    let program = parse::parse(file, text, offset).map_err(|d| vec![d])?;
    // Name mistakes (check) and type/value mistakes (define) are reported together: the
    // definitions run even after a name mistake, and a name define reports again is dropped.
    let mut diags = check::check(&program);
    let (mut definer, base) = Definer::new(Span::new(PRELUDE_FILE, 0, 0));
    let prelude = parse::parse(PRELUDE_FILE, PRELUDE, 0).expect("the standard library parses");
    let lib = define::new_env(Some(base));
    let mut lib_diags = vec![];
    definer.run_top(&prelude.stmts, &lib, &mut lib_diags);
    assert!(lib_diags.is_empty(), "the standard library defines cleanly");
    let env = define::new_env(Some(lib));
    let mut defined = vec![];
    definer.run_top(&program.stmts, &env, &mut defined);
    for d in defined {
        if !diags.iter().any(|x| x.code == d.code && x.sort_key() == d.sort_key()) {
            diags.push(d);
        }
    }
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.sort_key());
        return Err(diags);
    }
    let mut names = vec![];
    let mut seen = std::collections::HashSet::new();
    for s in &program.stmts {
        for n in define::assigned(s) {
            if seen.insert(n.clone()) {
                let v = define::lookup(&env, &n).unwrap_or(Value::Poison);
                let id = match v {
                    Value::Sop(i) | Value::Sel(i) => Some(i),
                    _ => None,
                };
                names.push((n, v.kind(), id));
            }
        }
    }
    Ok(Program { graph: Arc::new(definer.graph), strings: definer.strings, names, file, text: file_text })
}

impl Program {
    /// The public s-ops (top-level names not starting with `_`), in definition order.
    pub fn sops(&self) -> Vec<&str> {
        let public = |n: &str, kind: &str| kind == "an s-op" && !n.starts_with('_');
        self.names.iter().filter(|(n, kind, _)| public(n, kind)).map(|(n, _, _)| n.as_str()).collect()
    }

    /// An evaluator of the public s-op `name`; `span` locates the request (a spec's target).
    #[allow(clippy::result_large_err)] // a Diag, as the checker's functions return
    pub fn evaluator(&self, name: &str, span: Option<Span>) -> Result<Evaluator, Diag> {
        let target = self.output(name).map_err(|(msg, help)| {
            let d = Diag::error("algen::check::rasp_output", msg).help(help);
            match span {
                Some(s) => d.at(s, "not a public s-op of the program"),
                None => d,
            }
        })?;
        let (file, text) = (self.file, self.text.clone());
        let describe = Arc::new(move |s: Span| describe(file, &text, s));
        Ok(Evaluator::new(self.graph.clone(), target, self.strings.clone(), describe))
    }

    /// An evaluator whose target is the top-level selector `name` (read with
    /// [`Evaluator::matrix`]); private names allowed (for tests and debugging).
    pub fn selector(&self, name: &str) -> Option<Evaluator> {
        let id = self.names.iter().find(|(n, kind, _)| n == name && *kind == "a selector")?.2?;
        let (file, text) = (self.file, self.text.clone());
        let describe = Arc::new(move |s: Span| describe(file, &text, s));
        Some(Evaluator::new(self.graph.clone(), id, self.strings.clone(), describe))
    }

    /// The program's graph of s-ops and selectors (read by the weights compiler, `rasp_compile`).
    pub fn graph(&self) -> &graph::Graph {
        &self.graph
    }

    /// The node a top-level name holds (s-op or selector; private names too).
    pub fn node(&self, name: &str) -> Option<graph::Id> {
        self.names.iter().find(|(n, _, _)| n == name).and_then(|(_, _, id)| *id)
    }

    /// Top-level names that hold an s-op or a selector, with their nodes, in definition order.
    pub fn named_nodes(&self) -> Vec<(&str, graph::Id)> {
        self.names.iter().filter_map(|(n, _, id)| id.map(|i| (n.as_str(), i))).collect()
    }

    /// The text the program's spans point into (the whole file).
    pub fn source_text(&self) -> &str {
        &self.text
    }

    /// The file the program's spans point into.
    pub fn file(&self) -> FileId {
        self.file
    }

    /// An evaluator whose target is any node of the graph (an s-op, or a selector read with
    /// [`Evaluator::matrix`]); `None` for an id outside the graph.
    pub fn node_evaluator(&self, id: graph::Id) -> Option<Evaluator> {
        if id as usize >= self.graph.nodes.len() {
            return None;
        }
        let (file, text) = (self.file, self.text.clone());
        let describe = Arc::new(move |s: Span| describe(file, &text, s));
        Some(Evaluator::new(self.graph.clone(), id, self.strings.clone(), describe))
    }

    fn output(&self, name: &str) -> Result<graph::Id, (String, String)> {
        let public = self.sops();
        if name.starts_with('_') {
            let msg = format!("`{name}` is private to its program (names starting with `_` are)");
            return Err((msg, crate::diag::suggest(name, &public)));
        }
        match self.names.iter().find(|(n, _, _)| n == name) {
            Some((_, "an s-op", Some(id))) => Ok(*id),
            Some((_, kind, _)) => {
                Err((format!("`{name}` is {kind}, not an s-op"), crate::diag::suggest(name, &public)))
            }
            None => {
                let help = match did_you_mean(name, public.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => crate::diag::suggest(name, &public),
                };
                Err((format!("the program defines no `{name}`"), help))
            }
        }
    }
}

/// Where a node comes from, for per-input error messages.
fn describe(file: FileId, text: &str, s: Span) -> String {
    if s.file != file || s.end > text.len() {
        return "in the standard library".into();
    }
    let line = text[..s.start].matches('\n').count() + 1;
    let snippet: String = text[s.start..s.end].split_whitespace().collect::<Vec<_>>().join(" ");
    let snippet: String =
        if snippet.chars().count() > 60 { snippet.chars().take(57).collect::<String>() + "..." } else { snippet };
    format!("line {line}: `{snippet}`")
}

/// A task label: the target s-op on `tokens` (with `bos` prepended, its
/// output dropped), each value written as Python's `str` writes it.
pub fn label(ev: &mut Evaluator, t: &crate::ir::RaspTarget, tokens: &[&str]) -> Result<Vec<String>, String> {
    ev.start_input();
    let mut vals = Vec::with_capacity(tokens.len() + 1);
    if let Some(b) = &t.bos {
        vals.push(Val::Str(ev.strings.intern(b)));
    }
    for tok in tokens {
        vals.push(Val::Str(ev.strings.intern(tok)));
    }
    let out = ev.eval(&vals).map_err(|e| e.message)?.to_vec();
    let skip = usize::from(t.bos.is_some());
    Ok(out[skip..].iter().map(|v| token_text(*v, &ev.strings)).collect())
}

/// Python's `str` of an atom: `3`, `0.5`, `True`, `abc`.
pub fn token_text(v: Val, strings: &Strings) -> String {
    match v {
        Val::Int(i) => i.to_string(),
        Val::Float(f) => value::py_float_repr(f),
        Val::Bool(b) => if b { "True" } else { "False" }.to_string(),
        Val::Str(s) => strings.string(s),
    }
}

/// Compiles a target's program (as the checker did) and makes its evaluator.
pub fn target_evaluator(t: &crate::ir::RaspTarget) -> Result<Evaluator, String> {
    let text: Arc<str> = Arc::from(t.text.as_str());
    let program = compile(0, &text, 0, text.clone())
        .map_err(|d| format!("RASP program `{}` does not compile: {}", t.program, d[0].message))?;
    program.evaluator(&t.sop, None).map_err(|d| d.message)
}
