//! Definition time: runs a program's statements once, without any input,
//! and builds the [`Graph`] of its s-ops and selectors. Lists, dicts, atoms,
//! functions and loops are evaluated here (as the original does); s-ops stay
//! lazy. Errors found here are diagnostics with spans; a failing top-level
//! statement is reported and the names it would have set are left undefined
//! (quietly: later uses of them report nothing more).

use super::ast::*;
use super::graph::{Arg, Graph, Id, Node, Tokens};
use super::value::{Strings, Val};
use crate::diag::Diag;
use crate::source::Span;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A definition-time value.
#[derive(Clone, Debug)]
pub enum Value {
    Atom(Val),
    List(Rc<Vec<Value>>),
    Dict(Rc<Vec<(Val, Value)>>),
    Func(Rc<Func>),
    Native(Native),
    Sop(Id),
    Sel(Id),
    /// The value of a name whose definition failed (already reported).
    Poison,
}

/// Library functions implemented natively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Native {
    SelectorWidth,
    HasFocus,
}

#[derive(Debug)]
pub struct Func {
    pub def: Rc<FuncDef>,
    pub env: Env,
}

/// A scope: its variables and the enclosing scope.
#[derive(Debug, Default)]
pub struct Frame {
    pub vars: HashMap<String, Value>,
    pub parent: Option<Env>,
}

pub type Env = Rc<RefCell<Frame>>;

pub fn new_env(parent: Option<Env>) -> Env {
    Rc::new(RefCell::new(Frame { vars: HashMap::new(), parent }))
}

pub fn lookup(env: &Env, name: &str) -> Option<Value> {
    let f = env.borrow();
    match f.vars.get(name) {
        Some(v) => Some(v.clone()),
        None => f.parent.as_ref().and_then(|p| lookup(p, name)),
    }
}

/// Every name visible from `env` (for did-you-mean).
pub fn visible(env: &Env) -> Vec<String> {
    let f = env.borrow();
    let mut names: Vec<String> = f.vars.keys().cloned().collect();
    if let Some(p) = &f.parent {
        names.extend(visible(p));
    }
    names
}

/// Why an evaluation stopped: a diagnostic, or a use of a poisoned name.
pub enum Stop {
    Diag(Box<Diag>),
    Quiet,
}

impl From<Diag> for Stop {
    fn from(d: Diag) -> Stop {
        Stop::Diag(Box::new(d))
    }
}

pub type R<T> = Result<T, Stop>;

pub fn type_error(span: Span, msg: impl Into<String>, label: impl Into<String>) -> Stop {
    let label = label.into();
    let help = if label.contains("a selector where") {
        "a selector becomes an s-op through `aggregate(sel, sop)`, `selector_width(sel)` or `has_focus(sel)`"
    } else if label.contains("selector mixed") || label.contains("both sides must be selectors") {
        "`and`/`or`/`not` combine two selectors or two s-ops, never one of each"
    } else if label.contains("where an s-op belongs") {
        "atoms broadcast over positions in most places; here write the s-op itself (e.g. `tokens == x`)"
    } else {
        "RASP values are s-ops, selectors, atoms (int, float, string, bool), lists, dicts and functions"
    };
    Diag::error("algen::check::rasp_type", msg).at(span, label).help(help).into()
}

pub fn value_error(span: Span, msg: impl Into<String>, label: impl Into<String>) -> Stop {
    Diag::error("algen::check::rasp_value", msg)
        .at(span, label)
        .help("this part of the program runs once, before any input: its lists, dicts and atoms must work")
        .into()
}

/// The definition-time interpreter.
pub struct Definer {
    pub graph: Graph,
    pub strings: Strings,
    pub depth: usize,
    /// Nodes of the input s-ops and `length`, `full_s`.
    pub indices: Id,
    pub length: Id,
}

const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 1 << 20;

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Atom(_) => "an atom",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Func(_) | Value::Native(_) => "a function",
            Value::Sop(_) => "an s-op",
            Value::Sel(_) => "a selector",
            Value::Poison => "an undefined value",
        }
    }
    /// Python truthiness of a definition-time value.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Atom(v) => v.truthy(),
            Value::List(l) => !l.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            _ => true,
        }
    }
}

impl Definer {
    /// A fresh interpreter with the input s-ops in a base scope.
    pub fn new(span: Span) -> (Definer, Env) {
        let mut graph = Graph::default();
        let env = new_env(None);
        let set = |name: &str, node: Node, graph: &mut Graph| {
            let id = graph.add(node, span);
            env.borrow_mut().vars.insert(name.to_string(), Value::Sop(id));
            id
        };
        let indices = set("indices", Node::Indices, &mut graph);
        let length = set("length", Node::Length, &mut graph);
        let tok = set("tokens_str", Node::Tokens(Tokens::Str), &mut graph);
        env.borrow_mut().vars.insert("tokens".into(), Value::Sop(tok));
        set("tokens_int", Node::Tokens(Tokens::Int), &mut graph);
        set("tokens_float", Node::Tokens(Tokens::Float), &mut graph);
        set("tokens_bool", Node::Tokens(Tokens::Bool), &mut graph);
        set("tokens_asis", Node::Tokens(Tokens::Asis), &mut graph);
        let full = graph.add(Node::SelAll, span);
        {
            let mut e = env.borrow_mut();
            e.vars.insert("full_s".into(), Value::Sel(full));
            e.vars.insert("True".into(), Value::Atom(Val::Bool(true)));
            e.vars.insert("False".into(), Value::Atom(Val::Bool(false)));
            e.vars.insert("selector_width".into(), Value::Native(Native::SelectorWidth));
            e.vars.insert("has_focus".into(), Value::Native(Native::HasFocus));
        }
        (Definer { graph, strings: Strings::default(), depth: 0, indices, length }, env)
    }

    pub fn node(&mut self, node: Node, span: Span) -> R<Id> {
        if self.graph.nodes.len() >= MAX_NODES {
            return Err(value_error(span, "the program builds too many s-ops (over a million)", "here"));
        }
        Ok(self.graph.add(node, span))
    }

    /// Runs top-level statements, collecting one diagnostic per failing statement.
    pub fn run_top(&mut self, stmts: &[Stmt], env: &Env, diags: &mut Vec<Diag>) {
        for s in stmts {
            match self.stmt(s, env) {
                Ok(()) => {}
                Err(stop) => {
                    if let Stop::Diag(d) = stop {
                        diags.push(*d);
                    }
                    for n in assigned(s) {
                        env.borrow_mut().vars.insert(n, Value::Poison);
                    }
                }
            }
        }
    }

    pub fn stmt(&mut self, s: &Stmt, env: &Env) -> R<()> {
        match s {
            Stmt::Assign { names, values, span } => {
                let mut vals = values.iter().map(|e| self.expr(e, env)).collect::<R<Vec<_>>>()?;
                let v = if vals.len() == 1 { vals.pop().unwrap() } else { Value::List(Rc::new(vals)) };
                self.bind(names, v, *span, env)
            }
            Stmt::Expr(e) => self.expr(e, env).map(|_| ()),
            Stmt::Def(d) => {
                let f = Func { def: Rc::new(d.clone()), env: env.clone() };
                env.borrow_mut().vars.insert(d.name.name.clone(), Value::Func(Rc::new(f)));
                Ok(())
            }
            Stmt::For { names, iter, body, .. } => {
                let items = self.iterate(iter, env)?;
                for item in items {
                    self.bind(names, item, iter.span, env)?;
                    for b in body {
                        self.stmt(b, env)?;
                    }
                }
                Ok(())
            }
            Stmt::Load { span } => Err(Diag::error("algen::check::rasp_unsupported", "`load` is not supported")
                .at(*span, "here")
                .help("paste the loaded file's definitions into this program (or use `rasp NAME = \"file.rasp\";` in a spec)")
                .into()),
            Stmt::Draw { .. } => Ok(()),
        }
    }

    /// The items a `for` loop or comprehension walks: a list's elements or a dict's keys.
    pub fn iterate(&mut self, iter: &Expr, env: &Env) -> R<Vec<Value>> {
        match self.expr(iter, env)? {
            Value::List(l) => Ok(l.as_ref().clone()),
            Value::Dict(d) => Ok(d.iter().map(|(k, _)| Value::Atom(*k)).collect()),
            Value::Poison => Err(Stop::Quiet),
            v => Err(type_error(
                iter.span,
                format!("a loop needs a list or dict, got {}", v.kind()),
                "not a list or dict",
            )),
        }
    }

    /// Assigns `v` to one name, or unpacks a list over several names.
    pub fn bind(&mut self, names: &[Ident], v: Value, span: Span, env: &Env) -> R<()> {
        if names.len() == 1 {
            env.borrow_mut().vars.insert(names[0].name.clone(), v);
            return Ok(());
        }
        let items: Vec<Value> = match &v {
            Value::List(l) => l.as_ref().clone(),
            Value::Poison => return Err(Stop::Quiet),
            _ => {
                return Err(type_error(
                    span,
                    format!("{} names to unpack, but the value is {}", names.len(), v.kind()),
                    "expected a list of values",
                ))
            }
        };
        if items.len() != names.len() {
            return Err(value_error(
                span,
                format!("expected {} values, got {}", names.len(), items.len()),
                "wrong number of values",
            ));
        }
        for (n, item) in names.iter().zip(items) {
            env.borrow_mut().vars.insert(n.name.clone(), item);
        }
        Ok(())
    }

    /// Calls a RASP function (a new scope inside the function's defining scope).
    pub fn call(&mut self, f: &Func, args: Vec<Value>, span: Span) -> R<Value> {
        let d = &f.def;
        if args.len() != d.params.len() {
            return Err(Diag::error(
                "algen::check::rasp_value",
                format!("`{}` takes {} argument(s), got {}", d.name.name, d.params.len(), args.len()),
            )
            .at(span, "this call")
            .label(d.name.span, "defined here")
            .help(format!(
                "`{}({})`",
                d.name.name,
                d.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
            .into());
        }
        if self.depth >= MAX_DEPTH {
            return Err(value_error(span, "functions call each other too deeply (over 64 levels)", "this call"));
        }
        let env = new_env(Some(f.env.clone()));
        for (p, a) in d.params.iter().zip(args) {
            env.borrow_mut().vars.insert(p.name.clone(), a);
        }
        self.depth += 1;
        let out = self.body(d, &env);
        self.depth -= 1;
        out
    }

    fn body(&mut self, d: &FuncDef, env: &Env) -> R<Value> {
        for s in &d.body {
            self.stmt(s, env)?;
        }
        let mut vals = d.ret.iter().map(|e| self.expr(e, env)).collect::<R<Vec<_>>>()?;
        Ok(if vals.len() == 1 { vals.pop().unwrap() } else { Value::List(Rc::new(vals)) })
    }

    /// An s-op or atom operand (atoms broadcast over positions).
    pub fn arg(&self, v: &Value, span: Span, what: &str) -> R<Arg> {
        match v {
            Value::Sop(i) => Ok(Arg::Node(*i)),
            Value::Atom(a) => Ok(Arg::Atom(*a)),
            Value::Poison => Err(Stop::Quiet),
            Value::Sel(_) => Err(type_error(
                span,
                format!("{what} needs an s-op or an atom, got a selector"),
                "a selector where an s-op belongs",
            )),
            _ => Err(type_error(span, format!("{what} needs an s-op or an atom, got {}", v.kind()), "not an s-op")),
        }
    }
}

/// The names a statement assigns at its own level.
pub fn assigned(s: &Stmt) -> Vec<String> {
    match s {
        Stmt::Assign { names, .. } => names.iter().map(|n| n.name.clone()).collect(),
        Stmt::Def(d) => vec![d.name.name.clone()],
        Stmt::For { names, body, .. } => {
            names.iter().map(|n| n.name.clone()).chain(body.iter().flat_map(assigned)).collect()
        }
        _ => vec![],
    }
}
