//! The spanned AST of a spec file, as written (before name resolution).
//!
//! Syntax of each node (see `grammar/algen.pest` for the full grammar):
//!
//! | node | syntax |
//! |---|---|
//! | [`Item::Import`] | `import "path.alg";` |
//! | [`Item::Let`] | `let NAME = expr;` |
//! | [`Item::Task`] | `task NAME { field = value, ... }` |
//! | [`Item::Model`] | `model NAME = transformer { ... }` or `model NAME = other { overrides }` |
//! | [`Item::Split`] | `split NAME { train = len 1..=40, test = len 41..=500 step 10, count = 512 }` |
//! | [`Item::Grammar`] | `grammar NAME { max_depth = 8, C = x1:S "and" x2:S => x1 x2 \| S }` |
//! | [`Item::Experiment`] | `experiment NAME { task = T, model = M { ... }, split = S, train { ... }, eval { ... }, expect ... }` |
//! | [`Item::Rasp`] | `rasp NAME { RASP program }` or `rasp NAME = "file.rasp";` |
//! | [`Item::Machine`] | `machine NAME { symbols = "01", ..., rules { (q, 0) -> (1, R, q) } }` or `machine NAME = generator(args);` |

use crate::source::Span;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub enum Item {
    Import { path: String, path_span: Span, span: Span },
    Let { name: Ident, value: Expr, span: Span },
    Task { name: Ident, body: Body, span: Span },
    Model { name: Ident, value: Expr, span: Span },
    Split { name: Ident, body: Body, span: Span },
    Experiment { name: Ident, body: Body, span: Span },
    Grammar(Grammar),
    Rasp { name: Ident, source: RaspSource, span: Span },
    Machine { name: Ident, def: MachineDef, span: Span },
}

/// A machine's definition: fields and rules, or a generator call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum MachineDef {
    /// `{ fields; rules { ... } }`: `fields` holds the `name = value` entries.
    Table { fields: Body, rules: Vec<Rule> },
    /// `= decimal_addition()`, `= random_machine(states = 3, symbols = 2, seed = 1)`.
    Generator(Expr),
}

/// `(state, read) -> (write, move, next)`; `state` and `read` may list alternatives.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    pub state: Vec<Sym>,
    pub read: Vec<Sym>,
    pub write: Sym,
    pub mv: Sym,
    pub next: Sym,
    pub span: Span,
}

/// A symbol, state or move in a rule: its text (strings unquoted; `*` for the wildcard).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sym {
    pub text: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub wildcard: bool,
    pub span: Span,
}

/// Where a RASP program's text is: inline, or in a file the loader reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum RaspSource {
    /// `rasp NAME { text }`: `span` covers `text` (between the braces).
    Inline { text: String, span: Span },
    /// `rasp NAME = "path";` (relative to the spec file). The loader fills
    /// `loaded` with the file's id and text, or reports the file missing.
    File { path: String, path_span: Span, loaded: Option<(crate::source::FileId, String)> },
}

impl Item {
    /// The item's name (`None` for imports).
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Item::Import { .. } => None,
            Item::Let { name, .. }
            | Item::Task { name, .. }
            | Item::Model { name, .. }
            | Item::Split { name, .. }
            | Item::Experiment { name, .. }
            | Item::Rasp { name, .. }
            | Item::Machine { name, .. } => Some(name),
            Item::Grammar(g) => Some(&g.name),
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Import { .. } => "import",
            Item::Let { .. } => "let",
            Item::Task { .. } => "task",
            Item::Model { .. } => "model",
            Item::Split { .. } => "split",
            Item::Experiment { .. } => "experiment",
            Item::Rasp { .. } => "rasp",
            Item::Grammar(_) => "grammar",
            Item::Machine { .. } => "machine",
        }
    }
}

/// `{ entry, entry; entry }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Body {
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Entry {
    /// `name = value`
    Field { name: Ident, value: FieldValue, span: Span },
    /// `name { entries }`
    Block { name: Ident, body: Body, span: Span },
    /// `expect [reducer] scope.metric op value`
    Expect(Expect),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum FieldValue {
    Expr(Expr),
    /// A split part: `len a..=b [step s] [count n]`.
    Part(Part),
    /// A split part over a finite universe: `where ...`, `fraction F`, `rest`.
    Pick(Pick),
    /// A finite universe: `(a: 0..p, b: 0..p) where b != 0`.
    Universe(Universe),
}

impl FieldValue {
    pub fn span(&self) -> Span {
        match self {
            FieldValue::Expr(e) => e.span,
            FieldValue::Part(p) => p.span,
            FieldValue::Pick(p) => p.span(),
            FieldValue::Universe(u) => u.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    pub range: Range,
    pub step: Option<Expr>,
    pub count: Option<Expr>,
    pub span: Span,
}

/// A split part over a finite universe (a grammar task's examples).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Pick {
    /// `where PREDICATE [repeat EXPR] [corrupt C]`
    Where {
        pred: Expr,
        repeat: Option<Expr>,
        #[serde(skip_serializing_if = "Option::is_none")]
        corrupt: Option<Expr>,
        span: Span,
    },
    /// `fraction F [corrupt C]`
    Fraction {
        fraction: Expr,
        #[serde(skip_serializing_if = "Option::is_none")]
        corrupt: Option<Expr>,
        span: Span,
    },
    /// `rest [corrupt C]`
    Rest {
        #[serde(skip_serializing_if = "Option::is_none")]
        corrupt: Option<Expr>,
        span: Span,
    },
}

impl Pick {
    pub fn span(&self) -> Span {
        match self {
            Pick::Where { span, .. } | Pick::Fraction { span, .. } | Pick::Rest { span, .. } => *span,
        }
    }
    /// `corrupt C`: the share of the part's labels to replace by wrong ones.
    pub fn corrupt(&self) -> Option<&Expr> {
        match self {
            Pick::Where { corrupt, .. } | Pick::Fraction { corrupt, .. } | Pick::Rest { corrupt, .. } => {
                corrupt.as_ref()
            }
        }
    }
}

/// `grammar NAME { settings, rules }`; the first rule's nonterminal is the start symbol.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grammar {
    pub name: Ident,
    /// `name = number` lines (`max_depth = 10`).
    pub settings: Vec<(Ident, Expr)>,
    pub rules: Vec<GRule>,
    pub span: Span,
}

/// `NAME = production | production ...`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GRule {
    pub name: Ident,
    pub prods: Vec<GProd>,
    pub span: Span,
}

/// `symbols [=> template]`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GProd {
    pub symbols: Vec<GSymbol>,
    pub template: Option<Vec<GTerm>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum GSymbol {
    /// `"word"`: a terminal.
    Word { word: String, span: Span },
    /// `NT` or `label:NT`.
    Child { label: Option<Ident>, rule: Ident },
}

/// One template term, optionally repeated (`t * 4`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GTerm {
    pub kind: GTermKind,
    pub times: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum GTermKind {
    /// `"TOKEN"`: an output token.
    Token(String),
    /// A child's interpretation, by its label or nonterminal name.
    Ref(Ident),
    /// `( terms )`
    Group(Vec<GTerm>),
}

/// `(a: 0..p, b: 0..p) where filter`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Universe {
    pub vars: Vec<UniverseVar>,
    pub filter: Option<Expr>,
    pub span: Span,
}

/// `name: lo..hi` in a universe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UniverseVar {
    pub name: Ident,
    pub range: Range,
}

/// `lo..=hi` (inclusive) or `lo..hi`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Range {
    pub lo: Expr,
    pub hi: Expr,
    pub inclusive: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expect {
    pub reducer: Option<Ident>,
    pub path: Vec<Ident>,
    pub op: String,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A numeric literal: its value, and the integer it denotes when it is whole.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Num {
    pub value: f64,
    pub int: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    Num(Num),
    Str(String),
    Bool(bool),
    Ident(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    /// `sweep [a, b]`
    Sweep(Vec<Expr>),
    /// `f(a, k = b)`
    Call {
        func: Ident,
        args: Vec<Arg>,
    },
    /// `name { entries }`
    Record {
        name: Ident,
        body: Body,
    },
    Unary {
        op: String,
        operand: Box<Expr>,
    },
    Binary {
        op: String,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    If {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    Index {
        seq: Box<Expr>,
        index: Box<Expr>,
    },
    Slice {
        seq: Box<Expr>,
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    /// `rasp NAME.sop`
    Rasp {
        program: Ident,
        sop: Ident,
    },
}

/// A call argument, positional or named.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

impl ExprKind {
    /// A short description for type errors ("a number", "a list").
    pub fn describe(&self) -> &'static str {
        match self {
            ExprKind::Num(n) if n.int.is_some() => "an integer",
            ExprKind::Num(_) => "a number",
            ExprKind::Str(_) => "a string",
            ExprKind::Bool(_) => "a boolean",
            ExprKind::Ident(_) => "a name",
            ExprKind::List(_) => "a list",
            ExprKind::Tuple(_) => "a tuple",
            ExprKind::Sweep(_) => "a sweep",
            ExprKind::Call { .. } => "a call",
            ExprKind::Record { .. } => "a record",
            ExprKind::Unary { .. } | ExprKind::Binary { .. } | ExprKind::If { .. } => "an expression",
            ExprKind::Index { .. } | ExprKind::Slice { .. } => "an expression",
            ExprKind::Rasp { .. } => "a RASP s-op",
        }
    }
}
