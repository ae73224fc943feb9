//! `algen fmt`: the one layout of `.alg` files (described in `docs/style.md`).
//!
//! The formatter reads the lossless token stream of [`crate::syntax::cst`] and writes the same
//! tokens back with canonical whitespace: spacing inside lines by the rules of [`space`],
//! indentation by bracket depth (two spaces a level, two more for a line that continues an
//! expression), at most one blank line in a row (none just inside brackets), optional entry
//! separators dropped at line ends and before `}`, and alignment ([`align`]) of `=` in runs
//! of fields, of `->` in machine rules, of `=>` in grammar productions and of trailing
//! comments. Line breaks are the author's (as gofmt keeps them): the formatter never joins or
//! splits lines, so every comment stays where it was written. Only whitespace and optional
//! separators change, so the formatted file means what the original meant; the tests check
//! that on every shipped spec and fixture (the checked IR is equal) and on generated specs.

mod align;
mod lines;
mod space;

use crate::diag::Diag;
use crate::syntax::cst::Cst;

/// The canonical layout of a spec's text, or its parse error.
pub fn format(text: &str) -> Result<String, Diag> {
    let cst = Cst::parse(0, text)?;
    let mut lines = lines::build(&cst.tokens);
    align::align(&mut lines);
    Ok(lines::render(&lines))
}

/// Whether `text` is already in the canonical layout (a parse error counts as not).
pub fn is_formatted(text: &str) -> bool {
    format(text).is_ok_and(|f| f == text)
}
