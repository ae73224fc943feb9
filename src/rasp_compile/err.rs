//! The compiler's diagnostics: each names the construct (a span into the RASP
//! source) and why it cannot be compiled exactly, with a help line.

use crate::diag::Diag;
use crate::rasp::Program;
use crate::source::Span;

/// A span the user can see: `span` if it is in the program's own file, else the
/// definition of the requested s-op (a node built by the standard library).
pub fn user_span(program: &Program, span: Span, sop: &str) -> (Span, &'static str) {
    if span.file == program.file() && span.end <= program.source_text().len() {
        return (span, "");
    }
    let text = program.source_text();
    let mut at = 0;
    while let Some(i) = text[at..].find(sop) {
        let start = at + i;
        let before_ok = start == 0 || !is_ident(text.as_bytes()[start - 1]);
        let rest = text[start + sop.len()..].trim_start();
        if before_ok && rest.starts_with('=') && !rest.starts_with("==") {
            return (Span::new(program.file(), start, start + sop.len()), " (in the standard library)");
        }
        at = start + sop.len();
    }
    (Span::new(program.file(), 0, 0), " (in the standard library)")
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// An input written as the command line takes it: tokens joined (or spaced when longer than one char).
pub fn show_input(input: &[String]) -> String {
    if input.iter().all(|t| t.chars().count() == 1) {
        format!("\"{}\"", input.concat())
    } else {
        format!("[{}]", input.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", "))
    }
}

pub fn options(msg: impl Into<String>, help: &str) -> Diag {
    Diag::error("algen::rasp_compile::options", msg).help(help.to_string())
}

pub fn internal(msg: &str) -> Diag {
    Diag::error("algen::rasp_compile::internal", format!("internal compiler error: {msg}"))
        .help("this is a bug in algen's RASP compiler; please report the program")
}

pub fn fails_on_input(program: &Program, span: Span, input: &[String], msg: &str) -> Diag {
    Diag::error(
        "algen::rasp_compile::fails_on_input",
        format!("the program fails on input {}: {msg}", show_input(input)),
    )
    .at(span_of(program, span), "this s-op has no value on that input")
    .help("a compiled model must give a value on every input up to --max-len: restrict --vocab or --max-len, or make the program total")
}

fn span_of(program: &Program, span: Span) -> Span {
    if span.file == program.file() && span.end <= program.source_text().len() {
        span
    } else {
        Span::new(program.file(), 0, 0)
    }
}

/// A construct outside the compilable subset.
pub fn construct(code: &'static str, at: (Span, &str), msg: String, label: &str, help: &str) -> Diag {
    Diag::error(code, format!("{msg}{}", at.1)).at(at.0, label.to_string()).help(help.to_string())
}
