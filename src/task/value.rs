//! Runtime values of target expressions.
//!
//! A token whose text parses as an integer (`"1"`, `"-3"`, also `"01"`) is
//! interchangeable with that integer: it takes part in arithmetic, ordering
//! comparisons and equality as the number. Equality is therefore semantic
//! (`Value::Int(1) == Value::tok("1")`); it is an equivalence relation
//! because every atom compares by one key: its number if it has one,
//! otherwise its text (tokens) or its truth value (booleans).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A value: an integer, a token, a boolean or a sequence of values.
///
/// Tokens are reference-counted so that copying a token (e.g. the elements
/// of `reverse(input)`) costs a counter increment, not an allocation.
#[derive(Clone, Debug)]
pub enum Value {
    Int(i64),
    Tok(Arc<str>),
    Bool(bool),
    Seq(Vec<Value>),
}

impl Value {
    /// A token value.
    pub fn tok(text: &str) -> Value {
        Value::Tok(Arc::from(text))
    }

    /// A sequence of tokens, one per string.
    pub fn toks<S: AsRef<str>>(texts: &[S]) -> Value {
        Value::Seq(texts.iter().map(|t| Value::tok(t.as_ref())).collect())
    }

    /// A sequence of integers.
    pub fn ints(ns: &[i64]) -> Value {
        Value::Seq(ns.iter().map(|&n| Value::Int(n)).collect())
    }

    /// The value as an integer: an `Int`, or a token whose text is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Tok(t) => parse_int(t),
            _ => None,
        }
    }

    /// The elements if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Tok(t) if parse_int(t).is_some() => "an integer token",
            Value::Tok(_) => "a token",
            Value::Bool(_) => "a boolean",
            Value::Seq(_) => "a sequence",
        }
    }
}

/// Parses a token's text as an integer (fast path for one ASCII digit).
pub fn parse_int(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() == 1 {
        return b[0].is_ascii_digit().then(|| (b[0] - b'0') as i64);
    }
    text.parse().ok()
}

/// The output token a value stands for: an integer's decimal text, a token's
/// text, `"true"`/`"false"`; `None` for a sequence.
pub fn to_token(v: &Value) -> Option<String> {
    match v {
        Value::Int(n) => Some(n.to_string()),
        Value::Tok(t) => Some(t.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Seq(_) => None,
    }
}

/// The comparison key of an atom.
enum Key<'a> {
    Num(i64),
    Text(&'a str),
    Bool(bool),
}

fn key(v: &Value) -> Option<Key<'_>> {
    match v {
        Value::Int(n) => Some(Key::Num(*n)),
        Value::Tok(t) => Some(parse_int(t).map(Key::Num).unwrap_or(Key::Text(t))),
        Value::Bool(b) => Some(Key::Bool(*b)),
        Value::Seq(_) => None,
    }
}

impl PartialEq for Value {
    /// Semantic equality: numbers (and integer tokens) by value, other tokens
    /// by text, sequences elementwise; values of different kinds are unequal.
    fn eq(&self, other: &Value) -> bool {
        if let (Value::Seq(a), Value::Seq(b)) = (self, other) {
            return a == b;
        }
        match (key(self), key(other)) {
            (Some(Key::Num(a)), Some(Key::Num(b))) => a == b,
            (Some(Key::Text(a)), Some(Key::Text(b))) => a == b,
            (Some(Key::Bool(a)), Some(Key::Bool(b))) => a == b,
            _ => false,
        }
    }
}

/// Orders two atoms: numbers numerically, non-numeric tokens by text;
/// `None` for any other pair (mixed kinds, booleans, sequences).
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (key(a)?, key(b)?) {
        (Key::Num(x), Key::Num(y)) => Some(x.cmp(&y)),
        (Key::Text(x), Key::Text(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl fmt::Display for Value {
    /// Tokens print bare, sequences as `[a, b, c]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Tok(t) => write!(f, "{t}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Seq(s) => {
                write!(f, "[")?;
                for (i, v) in s.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
        }
    }
}
