//! The spanned AST of a RASP program, as written.
//!
//! [`Expr`] prints as an s-expression (`(== (not a) b)`), which the parser
//! snapshots use to show how the original's precedence groups a line.

use crate::source::Span;
use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole program: its statements in order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Stmt {
    /// `a = e;`, `a, b = e1, e2;`, `a, b = f();`
    Assign { names: Vec<Ident>, values: Vec<Expr>, span: Span },
    /// `e;` — evaluated for its errors only.
    Expr(Expr),
    /// `def f(x, y) { body; return e1, e2; }`
    Def(FuncDef),
    /// `for x in e { body }`
    For { names: Vec<Ident>, iter: Expr, body: Vec<Stmt>, span: Span },
    /// `load "file";` (not supported: a diagnostic).
    Load { span: Span },
    /// `draw(e[, example]);` (ignored: algen draws nothing).
    Draw { span: Span },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FuncDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: Vec<Stmt>,
    pub ret: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnOp {
    Not,
    Neg,
    Pos,
    Round,
    Indicator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Pow,
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Eq,
    Le,
    Ge,
    Lt,
    Gt,
    And,
    Or,
}

/// The comparison of a `select`: entry `[q][k]` is `key[k] OP query[q]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SelOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Name(String),
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    ListComp { val: Box<Expr>, names: Vec<Ident>, iter: Box<Expr> },
    DictComp { key: Box<Expr>, val: Box<Expr>, names: Vec<Ident>, iter: Box<Expr> },
    Unary { op: UnOp, e: Box<Expr> },
    Binary { op: BinOp, l: Box<Expr>, r: Box<Expr> },
    Select { keys: Box<Expr>, queries: Box<Expr>, op: SelOp },
    Aggregate { sel: Box<Expr>, seq: Box<Expr>, default: Option<Box<Expr>> },
    Ternary { then: Box<Expr>, cond: Box<Expr>, els: Box<Expr> },
    In { item: Box<Expr>, container: Box<Expr> },
    Index { seq: Box<Expr>, index: Box<Expr> },
    Call { func: Box<Expr>, args: Vec<Expr> },
    Range(Vec<Expr>),
    Zip(Vec<Expr>),
    Len(Box<Expr>),
}

impl UnOp {
    pub fn text(self) -> &'static str {
        match self {
            UnOp::Not => "not",
            UnOp::Neg => "-",
            UnOp::Pos => "+",
            UnOp::Round => "round",
            UnOp::Indicator => "indicator",
        }
    }
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Pow => "^",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Eq => "==",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

impl SelOp {
    pub fn text(self) -> &'static str {
        match self {
            SelOp::Eq => "==",
            SelOp::Ne => "!=",
            SelOp::Lt => "<",
            SelOp::Gt => ">",
            SelOp::Le => "<=",
            SelOp::Ge => ">=",
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, head: &str, es: &[Expr]) -> fmt::Result {
    write!(f, "({head}")?;
    for e in es {
        write!(f, " {e}")?;
    }
    write!(f, ")")
}

fn names(ns: &[Ident]) -> String {
    ns.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(",")
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Int(i) => write!(f, "{i}"),
            ExprKind::Float(x) => write!(f, "{x:?}"),
            ExprKind::Str(s) => write!(f, "{s:?}"),
            ExprKind::Name(n) => write!(f, "{n}"),
            ExprKind::List(es) => list(f, "list", es),
            ExprKind::Dict(kv) => {
                write!(f, "(dict")?;
                for (k, v) in kv {
                    write!(f, " {k}:{v}")?;
                }
                write!(f, ")")
            }
            ExprKind::ListComp { val, names: ns, iter } => write!(f, "(listcomp {val} for {} in {iter})", names(ns)),
            ExprKind::DictComp { key, val, names: ns, iter } => {
                write!(f, "(dictcomp {key}:{val} for {} in {iter})", names(ns))
            }
            ExprKind::Unary { op, e } => write!(f, "({} {e})", op.text()),
            ExprKind::Binary { op, l, r } => write!(f, "({} {l} {r})", op.text()),
            ExprKind::Select { keys, queries, op } => write!(f, "(select {keys} {queries} {})", op.text()),
            ExprKind::Aggregate { sel, seq, default } => match default {
                Some(d) => write!(f, "(aggregate {sel} {seq} {d})"),
                None => write!(f, "(aggregate {sel} {seq})"),
            },
            ExprKind::Ternary { then, cond, els } => write!(f, "(if {cond} {then} {els})"),
            ExprKind::In { item, container } => write!(f, "(in {item} {container})"),
            ExprKind::Index { seq, index } => write!(f, "(index {seq} {index})"),
            ExprKind::Call { func, args } => {
                write!(f, "(call {func}")?;
                for a in args {
                    write!(f, " {a}")?;
                }
                write!(f, ")")
            }
            ExprKind::Range(es) => list(f, "range", es),
            ExprKind::Zip(es) => list(f, "zip", es),
            ExprKind::Len(e) => write!(f, "(len {e})"),
        }
    }
}
