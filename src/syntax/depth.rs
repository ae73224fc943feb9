//! A cheap pre-scan that bounds how deeply a text can nest, run before pest.
//!
//! pest recurses once per nesting level (brackets, `if … then … else`, nested
//! `def`s), and the AST builder, the checker and the evaluators recurse once
//! per level of the tree, where a flat chain `a + b + c` is one level per
//! operator and `- - x` one per unary operator. The scan counts, at every
//! point of the text, an upper bound on that depth: one per open bracket,
//! plus one per operator or `if` in each open bracket's current element
//! (a `,`, `;`, `:` or `=` ends an element). Above [`MAX_DEPTH`] the text is
//! refused with `algen::parse::too_deep`, so nothing downstream can overflow
//! a stack (the bound is tested at the limit on a 2 MiB thread in a debug build).

use crate::diag::Diag;
use crate::source::{FileId, Span};

/// The deepest nesting accepted. Real specs and RASP programs stay below 30; pest
/// needs 10 to 15 KiB of stack per level in a debug build, so that 100 levels and
/// the passes after parsing fit a 2 MiB thread.
pub const MAX_DEPTH: usize = 100;

/// Which of the two languages is scanned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `.alg` specs: `//` comments, `\` escapes in strings, `rasp NAME { … }` blocks.
    Spec,
    /// RASP programs: `#` comments, strings without escapes.
    Rasp,
}

/// The first place where `text` nests deeper than [`MAX_DEPTH`], as a diagnostic.
/// Spans are shifted by `offset` (a RASP block's start inside its spec file).
pub fn check_depth(file: FileId, text: &str, offset: usize, lang: Lang) -> Result<(), Diag> {
    let mut s = Scan { b: text.as_bytes(), i: 0, levels: vec![Level::default()], total: 0, lang, operand: false };
    match s.run() {
        None => Ok(()),
        Some((at, len, bracket)) => Err(too_deep(Span::new(file, offset + at, offset + at + len), bracket, lang)),
    }
}

fn too_deep(span: Span, bracket: bool, lang: Lang) -> Diag {
    let what = if bracket { "brackets nest" } else { "this expression nests" };
    let split = match lang {
        Lang::Spec => "split the expression with `let` constants",
        Lang::Rasp => "split the expression into several assignments",
    };
    Diag::error("algen::parse::too_deep", format!("{what} deeper than {MAX_DEPTH} levels"))
        .at(span, "the nesting limit is reached here")
        .help(format!(
            "brackets, `if`s and operators each add a level (a chain `a + b + c` adds one per operator); \
             {split}"
        ))
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// Per open bracket (the first: the top level).
    levels: Vec<Level>,
    /// Open brackets plus every counted operator: the depth bound at `i`.
    total: usize,
    lang: Lang,
    /// The last token ends an operand (a name, literal or closing bracket).
    operand: bool,
}

#[derive(Default)]
struct Level {
    /// Operators counted in the bracket's current element (since its last `,` `;` `:` `=`).
    ops: usize,
    /// `if`s in the current element: an `if` nests all that follows it in the element, while
    /// its condition and branches are siblings (`then` and `else` end an operator chain).
    ifs: usize,
    /// The level the bracket itself adds (0 for a postfix one, counted as an operator).
    own: usize,
}

const SPEC_WORDS: &[&str] = &["and", "or", "not", "if"];
const RASP_WORDS: &[&str] = &["and", "or", "not", "if", "in"];

impl<'a> Scan<'a> {
    /// `Some((offset, len, is_bracket))` of the token past the limit.
    fn run(&mut self) -> Option<(usize, usize, bool)> {
        while self.i < self.b.len() {
            let (start, c) = (self.i, self.b[self.i]);
            match c {
                b'(' | b'[' | b'{' => {
                    self.i += 1;
                    // After an operand, `(` and `[` are postfix (a call, an index): the level
                    // counts as an operator of the enclosing element, so that a chain
                    // `s[0][0][0]` nests one level per suffix.
                    let postfix = c != b'{' && std::mem::take(&mut self.operand);
                    if postfix && self.op() {
                        return Some((start, 1, false));
                    }
                    let own = usize::from(!postfix);
                    self.levels.push(Level { ops: 0, ifs: 0, own });
                    self.total += own;
                    if self.total > MAX_DEPTH {
                        return Some((start, 1, true));
                    }
                }
                b')' | b']' | b'}' => {
                    self.i += 1;
                    self.operand = true;
                    if self.levels.len() > 1 {
                        let l = self.levels.pop().unwrap_or_default();
                        self.total -= l.ops + l.ifs + l.own;
                    }
                }
                b',' | b';' | b':' => {
                    self.i += 1;
                    self.operand = false;
                    self.end_element();
                }
                b'"' => {
                    self.skip_string();
                    self.operand = true;
                }
                b'/' if self.lang == Lang::Spec && self.peek(1) == Some(b'/') => self.skip_line(),
                b'#' if self.lang == Lang::Rasp => self.skip_line(),
                _ if c.is_ascii_alphanumeric() || c == b'_' => {
                    let word = self.word();
                    if self.lang == Lang::Spec && word == "rasp" {
                        if let Some(hit) = self.rasp_block() {
                            return Some(hit);
                        }
                        continue;
                    }
                    let words = if self.lang == Lang::Spec { SPEC_WORDS } else { RASP_WORDS };
                    let is_op = words.contains(&word);
                    let len = word.len();
                    let branch = word == "else" || (word == "then" && self.lang == Lang::Spec);
                    if branch {
                        self.end_chain();
                    } else if word == "if" {
                        self.levels.last_mut().expect("the top level is never popped").ifs += 1;
                        self.total += 1;
                        if self.total > MAX_DEPTH {
                            return Some((start, len, false));
                        }
                    } else if is_op && self.op() {
                        return Some((start, len, false));
                    }
                    self.operand = !is_op && !branch;
                }
                _ if c.is_ascii_whitespace() => self.i += 1,
                _ => {
                    self.operand = false;
                    let len = self.symbol();
                    if let Some(len) = len {
                        if self.op() {
                            return Some((start, len, false));
                        }
                    }
                }
            }
        }
        None
    }

    fn peek(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    /// A `,` `;` `:` or `=`: the next element of the bracket starts.
    fn end_element(&mut self) {
        self.end_chain();
        let top = self.levels.last_mut().expect("the top level is never popped");
        self.total -= top.ifs;
        top.ifs = 0;
    }

    /// `then` or `else`: the operator chain before it is a sibling of what follows.
    fn end_chain(&mut self) {
        let top = self.levels.last_mut().expect("the top level is never popped");
        self.total -= top.ops;
        top.ops = 0;
    }

    /// Counts one operator; true when that passes the limit.
    fn op(&mut self) -> bool {
        self.levels.last_mut().expect("the top level is never popped").ops += 1;
        self.total += 1;
        self.total > MAX_DEPTH
    }

    /// Consumes one punctuation token; `Some(len)` when it is an operator.
    fn symbol(&mut self) -> Option<usize> {
        let c = self.b[self.i];
        let next = self.peek(1);
        let two = |s: &[u8]| next.is_some_and(|n| s.contains(&n));
        let len = match c {
            b'=' if two(b"=") => 2,
            b'=' if two(b">") => {
                self.i += 2;
                self.end_element();
                return None;
            }
            b'=' => {
                self.i += 1;
                self.end_element();
                return None;
            }
            b'-' if two(b">") => {
                self.i += 2;
                self.end_element();
                return None;
            }
            b'.' if two(b".") => {
                // A range `a..b` or `a..=b`: its bounds are siblings.
                self.i += if self.peek(2) == Some(b'=') { 3 } else { 2 };
                self.end_element();
                return None;
            }
            b'<' | b'>' | b'!' if two(b"=") => 2,
            b'+' if two(b"+") => 2,
            b'&' if two(b"&") => 2,
            b'|' if two(b"|") => 2,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'<' | b'>' | b'!' => 1,
            _ => {
                // Whitespace and other bytes (a multi-byte char is skipped byte by byte).
                self.i += 1;
                return None;
            }
        };
        self.i += len;
        Some(len)
    }

    fn word(&mut self) -> &'a str {
        let start = self.i;
        while self.peek(0).is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            self.i += 1;
        }
        let b: &'a [u8] = self.b;
        std::str::from_utf8(&b[start..self.i]).unwrap_or("")
    }

    fn skip_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != b'\n') {
            self.i += 1;
        }
    }

    /// A string literal, up to its closing quote or the end of its line.
    fn skip_string(&mut self) {
        self.i += 1;
        while let Some(c) = self.peek(0) {
            self.i += 1;
            match c {
                b'"' | b'\n' => return,
                b'\\' if self.lang == Lang::Spec => self.i += 1,
                _ => {}
            }
        }
    }

    /// After the word `rasp`: a `rasp NAME { … }` block is skipped as the spec grammar
    /// skips it (strings, `#` comments, nested braces), each brace counting one level.
    /// Its contents are scanned as RASP when the block is parsed.
    fn rasp_block(&mut self) -> Option<(usize, usize, bool)> {
        let save = self.i;
        self.skip_ws();
        if self.word().is_empty() {
            self.i = save;
            return None;
        }
        self.skip_ws();
        if self.peek(0) != Some(b'{') {
            self.i = save;
            return None;
        }
        let base = self.total;
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                b'{' => {
                    depth += 1;
                    if base + depth > MAX_DEPTH {
                        return Some((self.i, 1, true));
                    }
                }
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return None;
                    }
                }
                b'"' => {
                    self.i += 1;
                    while self.peek(0).is_some_and(|c| c != b'"' && c != b'\n') {
                        self.i += 1;
                    }
                }
                b'#' => {
                    self.skip_line();
                    continue;
                }
                _ => {}
            }
            self.i += 1;
        }
        None
    }

    fn skip_ws(&mut self) {
        while self.peek(0).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
}
