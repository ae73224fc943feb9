//! Spacing between two tokens on one line, and which separators the layout drops.

use crate::syntax::cst::{TokKind, Token};
use crate::syntax::Rule;

/// Whether one space goes between `prev` and `next` (on the same line).
pub fn space(prev: &Token, next: &Token) -> bool {
    let (p, n) = (prev.text.as_str(), next.text.as_str());
    let punct = |t: &Token| t.kind == TokKind::Punct;
    if punct(next) && matches!(n, "," | ";" | ")" | "]" | ".") {
        return false;
    }
    if punct(prev) && matches!(p, "(" | "[" | ".") {
        return false;
    }
    if punct(prev) && p == "{" {
        return !(punct(next) && n == "}");
    }
    if punct(next) && n == "(" && next.parent == Rule::call {
        return false; // `f(x)`
    }
    if punct(next) && n == "[" && next.parent == Rule::index {
        return false; // `s[i]`
    }
    if prev.kind == TokKind::Leaf(Rule::range_op) || next.kind == TokKind::Leaf(Rule::range_op) {
        return false; // `1..=40`
    }
    if punct(prev) && p == ":" {
        return prev.parent == Rule::universe_var; // `a: 0..97`, but `x1:S` and `s[1:3]`
    }
    if punct(next) && n == ":" {
        return false;
    }
    if prev.kind == TokKind::Leaf(Rule::unary_op) && p != "not" {
        return false; // `-1`, `!x`, but `not x`
    }
    let alt = |t: &Token| punct(t) && t.text == "|" && t.parent == Rule::sym_alts;
    if alt(prev) || alt(next) {
        return false; // `(q, 0|1)`
    }
    true
}

fn is_body(rule: Rule) -> bool {
    matches!(rule, Rule::body | Rule::machine_body | Rule::rules_block | Rule::grammar_item)
}

/// What becomes of the separator token `tokens[i]`: `None` drops it, `Some(text)` keeps it
/// (`;` between entries on one line becomes `,`). Every other token is kept as it is.
pub fn separator(tokens: &[Token], i: usize) -> Option<Option<&'static str>> {
    let t = &tokens[i];
    if t.kind != TokKind::Punct || !matches!(t.text.as_str(), "," | ";") {
        return None;
    }
    let next = tokens.get(i + 1)?;
    let closer = next.kind == TokKind::Punct && matches!(next.text.as_str(), "}" | ")" | "]");
    if is_body(t.parent) {
        // Entries on their own lines need no separator; nor does the last one.
        let line_ends = next.kind == TokKind::Comment || next.newlines > 0;
        return Some(if line_ends || closer { None } else { Some(",") });
    }
    if t.text == "," && closer && next.newlines == 0 {
        return Some(None); // `[a, b,]` -> `[a, b]`
    }
    None
}
