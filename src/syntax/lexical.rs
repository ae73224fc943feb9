//! The lexical helpers of [`super::build`]: literal text to values (`unescape`, `number`)
//! and the source extent of an item without its trailing comments (`trimmed_len`).

use super::ast::Num;
use super::Rule;
use pest::iterators::Pair;

/// Length of `text` without trailing whitespace and `//` comments.
pub(super) fn trimmed_len(text: &str) -> usize {
    let mut t = text.trim_end();
    loop {
        let line_start = t.rfind('\n').map_or(0, |i| i + 1);
        let line = &t[line_start..];
        let Some(c) = comment_start(line) else { return t.len() };
        t = t[..line_start + c].trim_end();
    }
}

/// Where a `//` comment starts in a line, outside string literals.
fn comment_start(line: &str) -> Option<usize> {
    let (mut in_str, mut escaped) = (false, false);
    let b = line.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            _ if escaped => escaped = false,
            b'\\' if in_str => escaped = true,
            b'"' => in_str = !in_str,
            b'/' if !in_str && b.get(i + 1) == Some(&b'/') => return Some(i),
            _ => {}
        }
    }
    None
}

pub(super) fn string_text<'a>(p: &Pair<'a, Rule>) -> &'a str {
    let s = p.as_str();
    &s[1..s.len() - 1]
}

/// Resolves `\"`, `\\`, `\n`, `\t`; other escapes keep the escaped char.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Numeric literal text -> value. `10k` = 10000, `2M` = 2000000, `1_000` = 1000.
pub fn number(text: &str) -> Num {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (body, mult) = match clean.strip_suffix('k') {
        Some(b) => (b.to_string(), 1e3),
        None => match clean.strip_suffix('M') {
            Some(b) => (b.to_string(), 1e6),
            None => (clean.clone(), 1.0),
        },
    };
    let plain_int = mult == 1.0 && body.chars().all(|c| c.is_ascii_digit());
    let int = if plain_int { body.parse::<i64>().ok() } else { None };
    let value = match int {
        Some(i) => i as f64,
        None => body.parse::<f64>().unwrap_or(f64::NAN) * mult,
    };
    let int = int.or_else(|| (value.fract() == 0.0 && value.abs() < 9.0e15).then_some(value as i64));
    Num { value, int }
}
