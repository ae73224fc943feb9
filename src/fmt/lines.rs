//! Tokens -> lines: the author's line breaks, canonical spacing and indentation.

use super::space::{separator, space};
use crate::syntax::cst::{TokKind, Token};
use crate::syntax::Rule;

/// One code token placed on a line.
#[derive(Clone, Debug)]
pub struct Piece {
    pub text: String,
    /// Spaces before it (0 or 1; alignment adds more).
    pub pad: usize,
    pub kind: TokKind,
    /// Rules of the nodes that start at this token (see [`Token::starts`]).
    pub starts: Vec<(Rule, Option<Rule>)>,
}

/// One output line.
#[derive(Clone, Debug, Default)]
pub struct Line {
    pub indent: usize,
    /// The code, left to right (empty for a comment line).
    pub pieces: Vec<Piece>,
    /// A `//` comment: after the code (trailing) or alone on the line.
    pub comment: Option<String>,
    /// The source column of the trailing comment (or of the one a continuation continues).
    pub comment_src_col: usize,
    /// A comment line that continues the trailing comment of the line above: it is placed in
    /// that comment's column.
    pub continues: bool,
    /// The column the trailing comment goes to (set by alignment; 0: one space after the code).
    pub comment_col: usize,
    pub blank_before: bool,
}

impl Line {
    pub fn code_width(&self) -> usize {
        self.pieces.iter().map(|p| p.pad + p.text.chars().count()).sum::<usize>() + self.indent
    }
    /// The line holds a token with a line break in it (a raw RASP block).
    pub fn multiline(&self) -> bool {
        self.pieces.iter().any(|p| p.text.contains('\n'))
    }
    pub fn is_comment_line(&self) -> bool {
        self.pieces.is_empty() && self.comment.is_some()
    }
}

fn is_opener(p: &Piece) -> bool {
    p.kind == TokKind::Punct && matches!(p.text.as_str(), "{" | "[" | "(")
}
fn is_closer(p: &Piece) -> bool {
    p.kind == TokKind::Punct && matches!(p.text.as_str(), "}" | "]" | ")")
}

/// Whether a line starting with `p` starts a unit of its own (an item, an entry, a list
/// element, an argument, a rule) rather than continuing an expression.
fn starts_unit(p: &Piece) -> bool {
    use Rule::*;
    p.starts.iter().any(|(r, parent)| match r {
        import | let_item | task_item | model_item | split_item | experiment_item | rasp_item | grammar_item
        | machine_item | field | block | expect | rules_block | tm_rule | g_setting | g_rule | universe_var | arg => {
            true
        }
        expr => matches!(parent, Some(list | paren)),
        _ => false,
    })
}

/// Places the tokens on lines (without alignment).
pub fn build(tokens: &[Token]) -> Vec<Line> {
    let mut lines: Vec<Line> = vec![];
    let mut prev: Option<&Token> = None; // the previous code token kept
    for (i, t) in tokens.iter().enumerate() {
        let text = match separator(tokens, i) {
            Some(None) => continue,
            Some(Some(s)) => s.to_string(),
            None => t.text.clone(),
        };
        let new_line = lines.is_empty() || t.newlines > 0;
        if t.kind == TokKind::Comment {
            if new_line {
                let blank = t.newlines > 1 && !lines.is_empty() && !prev.is_some_and(opens);
                lines.push(comment_line(&lines, t, text, blank));
            } else if let Some(l) = lines.last_mut() {
                l.comment = Some(text);
                l.comment_src_col = t.column;
            }
            continue;
        }
        if new_line {
            let closer = t.kind == TokKind::Punct && matches!(t.text.as_str(), "}" | "]" | ")");
            let blank = t.newlines > 1 && !lines.is_empty() && !closer && !prev.is_some_and(opens);
            lines.push(Line { blank_before: blank, ..Line::default() });
        }
        let line = lines.last_mut().expect("a line was pushed");
        if needs_separator(line, t) {
            line.pieces.push(Piece { text: ",".into(), pad: 0, kind: TokKind::Punct, starts: vec![] });
        }
        let pad = match (line.pieces.last(), prev) {
            (Some(_), Some(p)) => usize::from(space(p, t)),
            _ => 0,
        };
        line.pieces.push(Piece { text, pad, kind: t.kind, starts: t.starts.clone() });
        prev = Some(t);
    }
    indent(&mut lines);
    lines
}

/// Two entries of a body on one line with nothing between them (`{ a = 1 b = 2 }`) get `, `.
fn needs_separator(line: &Line, t: &Token) -> bool {
    use Rule::*;
    let starts_entry = t.starts.iter().any(|(r, parent)| {
        matches!(r, field | block | expect | rules_block | tm_rule | g_setting | g_rule)
            && matches!(parent, Some(body | machine_body | rules_block | grammar_item))
    });
    let after = line.pieces.last().is_some_and(|p| !(p.kind == TokKind::Punct && matches!(p.text.as_str(), "{" | ",")));
    starts_entry && after
}

fn opens(t: &Token) -> bool {
    t.kind == TokKind::Punct && matches!(t.text.as_str(), "{" | "[" | "(")
}

/// A comment alone on its line. Right after a trailing comment it may continue that comment
/// ([`indent`] decides, once it knows the indentation).
fn comment_line(lines: &[Line], t: &Token, text: String, blank: bool) -> Line {
    let above = lines.last().filter(|l| !blank && l.comment.is_some() && (l.continues || !l.pieces.is_empty()));
    Line {
        comment: Some(text),
        comment_src_col: t.column,
        continues: above.is_some(),
        blank_before: blank,
        ..Line::default()
    }
}

/// Indentation: two spaces for each line that opened a bracket still open, two more for a line
/// that continues an expression.
/// A comment line right after a trailing comment continues it when it starts right of the
/// indentation it would get on its own.
fn indent(lines: &mut [Line]) {
    let mut open: Vec<usize> = vec![]; // the line of each open bracket
    for n in 0..lines.len() {
        let above_ok = n > 0 && {
            let above = &lines[n - 1];
            (above.continues || !above.pieces.is_empty()) && !above.multiline()
        };
        let line = &mut lines[n];
        let lead_closers = line.pieces.iter().take_while(|p| is_closer(p)).count();
        for _ in 0..lead_closers {
            open.pop();
        }
        let mut depth = open.clone();
        depth.dedup();
        let continuing = match line.pieces.first() {
            Some(p) => n > 0 && !is_closer(p) && !starts_unit(p),
            None => false,
        };
        line.indent = 2 * depth.len() + if continuing { 2 } else { 0 };
        if line.continues {
            line.continues = above_ok && line.comment_src_col > line.indent;
        }
        for p in &line.pieces[lead_closers..] {
            if is_opener(p) {
                open.push(n);
            } else if is_closer(p) {
                open.pop();
            }
        }
    }
}

/// The lines as text: one `\n` after each, trailing spaces never.
pub fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        if l.blank_before && !out.is_empty() {
            out.push('\n');
        }
        let mut s = " ".repeat(l.indent);
        for p in &l.pieces {
            s.extend(std::iter::repeat_n(' ', p.pad));
            s.push_str(&p.text);
        }
        if let Some(c) = &l.comment {
            let col = if l.pieces.is_empty() && !l.continues { l.indent } else { l.comment_col };
            let width = s.rsplit('\n').next().map_or(0, |last| last.chars().count());
            let gap = if l.pieces.is_empty() { col.saturating_sub(width) } else { col.saturating_sub(width).max(1) };
            s.extend(std::iter::repeat_n(' ', gap));
            s.push_str(c);
        }
        out.push_str(s.trim_end_matches(' '));
        out.push('\n');
    }
    out
}
