//! Alignment in runs of lines: field names before `=`, `->` in machine rules, `=>` in grammar
//! productions, and trailing comments.
//!
//! A run is a sequence of lines with no blank line between them (see `docs/style.md` for
//! which lines belong to which kind of run). Alignment only pads with spaces.

use super::lines::{Line, Piece};
use crate::syntax::cst::TokKind;
use crate::syntax::Rule;

pub fn align(lines: &mut [Line]) {
    align_names(lines);
    align_token(lines, |l| rule_line(l).then(|| nth_of(l, "->")).flatten());
    align_token(lines, arrow);
    align_comments(lines);
}

/// The index of the only piece of `l` with text `text`.
fn nth_of(l: &Line, text: &str) -> Option<usize> {
    let mut found = l.pieces.iter().enumerate().filter(|(_, p)| p.kind == TokKind::Punct && p.text == text);
    let first = found.next()?.0;
    found.next().is_none().then_some(first)
}

fn rule_line(l: &Line) -> bool {
    l.pieces.first().is_some_and(|p| p.starts.iter().any(|(r, _)| *r == Rule::tm_rule))
}

/// The index of the only `=>` of a line.
fn arrow(l: &Line) -> Option<usize> {
    let mut found = l.pieces.iter().enumerate().filter(|(_, p)| p.kind == TokKind::Leaf(Rule::g_arrow));
    let first = found.next()?.0;
    found.next().is_none().then_some(first)
}

/// The width of the name of a line that starts a field or a block (`name = ...`, `name {`) and
/// holds no other entry of the same body.
fn entry_name(l: &Line) -> Option<usize> {
    let first: &Piece = l.pieces.first()?;
    let entry = first.starts.iter().any(|(r, _)| matches!(r, Rule::field | Rule::block));
    let alone = !l
        .pieces
        .iter()
        .skip(1)
        .scan(0i32, |depth, p| {
            let top = *depth == 0;
            match (p.kind, p.text.as_str()) {
                (TokKind::Punct, "{" | "[" | "(") => *depth += 1,
                (TokKind::Punct, "}" | "]" | ")") => *depth -= 1,
                _ => {}
            }
            Some(top && p.starts.iter().any(|(r, _)| matches!(r, Rule::field | Rule::block | Rule::expect)))
        })
        .any(|x| x);
    (entry && alone && first.kind == TokKind::Leaf(Rule::field_name) && l.pieces.len() > 1 && !l.multiline())
        .then(|| first.text.chars().count())
}

/// Pads field and block names to the longest name of their run: consecutive entry lines of
/// one indentation; deeper lines (continuations, nested blocks) and comment lines are passed
/// over; a blank line or any other line of that indentation ends the run.
fn align_names(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        let Some(_) = entry_name(&lines[i]) else {
            i += 1;
            continue;
        };
        let indent = lines[i].indent;
        let mut run = vec![i];
        let mut j = i + 1;
        while j < lines.len() && !lines[j].blank_before {
            let l = &lines[j];
            if l.is_comment_line() || l.indent > indent {
                j += 1;
                continue;
            }
            if l.indent < indent || entry_name(l).is_none() {
                break;
            }
            run.push(j);
            j += 1;
        }
        let width = run.iter().filter_map(|&k| entry_name(&lines[k])).max().unwrap_or(0);
        for &k in &run {
            let w = entry_name(&lines[k]).unwrap_or(width);
            lines[k].pieces[1].pad = 1 + width - w;
        }
        i = j.max(i + 1);
    }
}

/// Pads before the piece `at(line)` so that it lines up across a run of lines (no blank line
/// between) that all have one; comment lines are passed over, any other line ends the run.
fn align_token(lines: &mut [Line], at: impl Fn(&Line) -> Option<usize>) {
    let mut i = 0;
    while i < lines.len() {
        let mut run = vec![];
        let mut j = i;
        while j < lines.len() && (j == i || !lines[j].blank_before) {
            let l = &lines[j];
            if at(l).is_some() && !l.multiline() {
                run.push(j);
            } else if !(l.is_comment_line() && !run.is_empty()) {
                break;
            }
            j += 1;
        }
        if run.len() >= 2 {
            let before = |l: &Line, k: usize| {
                l.indent + l.pieces[..k].iter().map(|p| p.pad + p.text.chars().count()).sum::<usize>()
            };
            let col = run.iter().map(|&n| before(&lines[n], at(&lines[n]).unwrap_or(0)) + 1).max().unwrap_or(0);
            for &n in &run {
                let k = at(&lines[n]).unwrap_or(0);
                lines[n].pieces[k].pad = col - before(&lines[n], k);
            }
        }
        i = j.max(i + 1);
    }
}

/// Trailing comments of a run (lines of one indentation with no blank line between them,
/// their continuation comments included) share one column: one space after the widest code
/// that carries a comment.
fn align_comments(lines: &mut [Line]) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].multiline() {
            lines[i].comment_col = 0; // one space after the raw block's last line
            i += 1;
            continue;
        }
        let indent = lines[i].indent;
        let mut j = i + 1;
        while j < lines.len() {
            let l = &lines[j];
            let member = l.continues || (!l.is_comment_line() && l.indent == indent && !l.multiline());
            if l.blank_before || !member {
                break;
            }
            j += 1;
        }
        let commented = (i..j).filter(|&k| lines[k].comment.is_some() && !lines[k].pieces.is_empty());
        let col = commented.map(|k| lines[k].code_width() + 1).max().unwrap_or(0);
        for line in &mut lines[i..j] {
            line.comment_col = col;
        }
        i = j;
    }
}
