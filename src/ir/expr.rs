//! Target expressions: a small pure language over sequences and integers.
//!
//! Values are integers, tokens (strings), booleans and sequences of values.
//! A token whose text is an integer (`"1"`) is interchangeable with that
//! integer, so `sum(input) % 2` works over the alphabet `"01"`.

use crate::source::Span;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ExprKind {
    Int(i64),
    /// A token literal (`"a"`).
    Tok(String),
    Bool(bool),
    /// The task's input sequence.
    Input,
    /// Variable `i` of a finite universe (`a` in `(a: 0..p, b: 0..p)`).
    Var(usize),
    /// The labelled output sequence: split predicates only (`where output_len <= 22`).
    Output,
    /// `[a, b, c]`
    List(Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Builtin, Vec<Expr>),
    /// `s[i]`; negative `i` counts from the end.
    Index(Box<Expr>, Box<Expr>),
    /// `s[a:b:c]` with Python semantics (each part optional).
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>, Option<Box<Expr>>),
    /// `rasp NAME.sop`: a RASP program's s-op on the input (one value per position).
    Rasp(Box<RaspTarget>),
}

/// A RASP target: the program's text travels with the IR, so every stage
/// after the checker can compile it (with `crate::rasp::compile`) on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaspTarget {
    /// The `rasp` item's name.
    pub program: String,
    /// The public s-op read as the target.
    pub sop: String,
    /// The program text (original RASP syntax).
    pub text: String,
    /// A token prepended to every input before the program runs (`bos = "§"`);
    /// the output at that position is dropped.
    pub bos: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    /// Integer division, rounding toward negative infinity.
    Div,
    /// Modulo with the sign of the divisor (Python's `%`).
    Mod,
    /// Sequence concatenation `++`.
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// The standard library. Argument counts are checked by the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Builtin {
    /// `reverse(s)`
    Reverse,
    /// `sort(s)`: ascending; integers (and integer tokens) numerically, other tokens by their text.
    Sort,
    /// `argsort(s)`: the 0-based positions of `s`'s elements in the order [`Builtin::Sort`] puts
    /// them, stable (equal elements by position): `argsort([3, 1, 3, 0]) = [3, 1, 0, 2]`.
    Argsort,
    /// `concat(a, b, ...)`: same as `a ++ b ++ ...`
    Concat,
    /// `len(s)`
    Len,
    /// `count(s, x)`: how many elements equal `x`.
    Count,
    /// `sum(s)`
    Sum,
    /// `min(s)` or `min(a, b)`
    Min,
    /// `max(s)` or `max(a, b)`
    Max,
    /// `abs(n)`
    Abs,
    /// `to_binary(n)` big-endian bits, `"0"` for 0; `to_binary(n, width)` zero-padded to `width` (an error if it doesn't fit).
    ToBinary,
    /// `from_binary(bits)` big-endian.
    FromBinary,
    /// `split(s, x)`: the pieces of `s` between occurrences of `x`.
    Split,
    /// `repeat(s, n)`: `s` concatenated `n` times.
    Repeat,
    /// `inv(x, p)`: the inverse of `x` modulo `p` (`x·inv(x, p) ≡ 1`), in `0..p`; an error
    /// when `gcd(x, p) ≠ 1`.
    Inv,
    /// `perm_compose(a, b, n)`: the permutations of `0..n` numbered in lexicographic order;
    /// the number of `a∘b`, `(a∘b)(i) = a(b(i))` (the group Sₙ of Power et al. 2022 for n = 5).
    PermCompose,
    /// `contains(s, x)`: whether some element of `s` equals `x`; when `x` is a list,
    /// whether `x` occurs in `s` as a contiguous run (`contains(input, ["around", "right"])`;
    /// `[]` occurs in every sequence).
    Contains,
}

impl Builtin {
    pub const ALL: &'static [(&'static str, Builtin, usize, usize)] = &[
        ("reverse", Builtin::Reverse, 1, 1),
        ("sort", Builtin::Sort, 1, 1),
        ("argsort", Builtin::Argsort, 1, 1),
        ("concat", Builtin::Concat, 1, usize::MAX),
        ("len", Builtin::Len, 1, 1),
        ("count", Builtin::Count, 2, 2),
        ("sum", Builtin::Sum, 1, 1),
        ("min", Builtin::Min, 1, 2),
        ("max", Builtin::Max, 1, 2),
        ("abs", Builtin::Abs, 1, 1),
        ("to_binary", Builtin::ToBinary, 1, 2),
        ("from_binary", Builtin::FromBinary, 1, 1),
        ("split", Builtin::Split, 2, 2),
        ("repeat", Builtin::Repeat, 2, 2),
        ("inv", Builtin::Inv, 2, 2),
        ("perm_compose", Builtin::PermCompose, 3, 3),
        ("contains", Builtin::Contains, 2, 2),
    ];
    /// Looks a builtin up by name: `(builtin, min args, max args)`.
    pub fn lookup(name: &str) -> Option<(Builtin, usize, usize)> {
        Self::ALL.iter().find(|(n, ..)| *n == name).map(|&(_, b, lo, hi)| (b, lo, hi))
    }
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, b, ..)| *b == self).map(|(n, ..)| *n).unwrap_or("?")
    }
}
