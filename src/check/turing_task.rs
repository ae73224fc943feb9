//! Tasks labelled by a machine: `target = run(M)`, optionally `scratchpad = trace(M, style =
//! turing_program|trace|tail, every = k, at = [states])` with `format = lm`.
//!
//! Inputs: `string(alphabet)` (the alphabet's tokens must be tape symbols of `M`) or
//! `numbers("+")` / `numbers("*", second = 1)` (decimal operands as the arithmetic formats draw
//! them, alphabet `0`–`9` and the operator). Outputs: the tape symbols except the blank,
//! unless declared.

use super::cx::{Cx, Fields};
use crate::diag::{suggest, Diag};
use crate::ir::{self, Scratchpad, Style};
use crate::syntax::ast::{Expr, ExprKind, Ident};

const STYLES: &[(&str, Style)] =
    &[("turing_program", Style::TuringProgram), ("trace", Style::Trace), ("tail", Style::Tail)];

/// Whether `e` is `run(...)`.
pub fn is_run(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { func, .. } if func.name == "run")
}

/// The machine a `run(M)` / `trace(M, ...)` call names (its first argument).
fn machine<'c>(cx: &'c mut Cx, e: &Expr, what: &str) -> Option<&'c ir::Machine> {
    let ExprKind::Call { args, .. } = &e.kind else { return None };
    let Some(ExprKind::Ident(m)) = args.first().filter(|a| a.name.is_none()).map(|a| &a.value.kind) else {
        cx.push(
            Diag::error("algen::check::arity", format!("`{what}` takes a machine first: `{what}(M)`"))
                .at(e.span, "no machine named")
                .help(format!("write `{what}(M)` where `machine M {{ ... }}` is defined")),
        );
        return None;
    };
    if cx.broken_machines.contains(m) {
        return None; // reported where the machine is defined
    }
    if !cx.machines.contains_key(m) {
        let names: Vec<&str> = cx.machines.keys().map(String::as_str).collect();
        let help = suggest(m, &names);
        let span = args[0].value.span;
        cx.push(
            Diag::error("algen::check::unknown_name", format!("unknown machine `{m}`"))
                .at(span, "no such machine")
                .help(help),
        );
        return None;
    }
    cx.machines.get(m)
}

pub fn task(cx: &mut Cx, name: &Ident, f: &Fields, target: &Expr) -> Option<ir::Task> {
    if let ExprKind::Call { args, .. } = &target.kind {
        if args.len() != 1 {
            cx.push(
                Diag::error("algen::check::arity", "`run` takes one machine: `run(M)`")
                    .at(target.span, "wrong arguments")
                    .help("write `target = run(M)`"),
            );
            return None;
        }
    }
    let m = machine(cx, target, "run")?.clone();
    let (input, alphabet) = input(cx, name, f, &m)?;
    let format = match f.expr("format") {
        Some(e) => cx.choice(
            e,
            "format",
            &[("lm", ir::Format::Lm), ("transduce", ir::Format::Transduce), ("seq2seq", ir::Format::Seq2seq)],
            "algen::check::unknown_value",
        )?,
        None => ir::Format::Lm,
    };
    let scratchpad = match f.expr("scratchpad") {
        Some(e) => Some(scratchpad(cx, e, &m, format)?),
        None => None,
    };
    let outputs = match f.expr("outputs") {
        Some(e) => super::task::tokens(cx, e, "outputs")?,
        None => m.symbols[1..].to_vec(),
    };
    Some(ir::Task {
        name: name.name.clone(),
        alphabet,
        kind: ir::TaskKind::Machine { input, machine: Box::new(ir::MachineTask { machine: m, scratchpad }) },
        format,
        outputs,
        score_until: None,
        span: name.span,
    })
}

/// The input generator and the alphabet.
fn input(cx: &mut Cx, name: &Ident, f: &Fields, m: &ir::Machine) -> Option<(ir::MachineInput, Vec<String>)> {
    let Some(e) = f.expr("input") else {
        cx.missing("a task", "input", name.span, "input = string(alphabet)");
        return None;
    };
    if let ExprKind::Call { func, args } = &e.kind {
        if func.name == "numbers" {
            let op = args.first().filter(|a| a.name.is_none()).and_then(|a| match &a.value.kind {
                ExprKind::Str(s) if s.chars().count() == 1 && !s.chars().all(|c| c.is_ascii_digit()) => Some(s.clone()),
                _ => None,
            });
            let Some(op) = op else {
                cx.push(
                    Diag::error("algen::check::wrong_type", "`numbers` takes the operator token first")
                        .at(e.span, "no operator")
                        .help("write `numbers(\"+\")` or `numbers(\"*\", second = 1)`"),
                );
                return None;
            };
            let mut second = None;
            for a in &args[1..] {
                match a.name.as_ref().map(|n| n.name.as_str()) {
                    Some("second") => second = Some(cx.int_in(&a.value, 1, 64)? as usize),
                    _ => {
                        cx.push(
                            Diag::error("algen::check::unknown_field", "`numbers` knows only `second = N`")
                                .at(a.value.span, "unknown argument")
                                .help("write `numbers(\"*\", second = 1)`"),
                        );
                        return None;
                    }
                }
            }
            let mut alphabet: Vec<String> = (0..10).map(|d| d.to_string()).collect();
            alphabet.push(op.clone());
            symbols_known(cx, e, &alphabet, m)?;
            return Some((ir::MachineInput::Numbers { op, second }, alphabet));
        }
    }
    super::task::input_of(cx, e);
    let Some(a) = f.expr("alphabet") else {
        cx.missing("a task", "alphabet", name.span, "alphabet = \"01\"");
        return None;
    };
    let alphabet = super::task::tokens(cx, a, "alphabet")?;
    symbols_known(cx, a, &alphabet, m)?;
    Some((ir::MachineInput::String, alphabet))
}

/// Every input token must be a tape symbol.
fn symbols_known(cx: &mut Cx, at: &Expr, alphabet: &[String], m: &ir::Machine) -> Option<()> {
    let all: Vec<&str> = m.symbols.iter().map(String::as_str).collect();
    let bad: Vec<&String> = alphabet.iter().filter(|t| !m.symbols.contains(t)).collect();
    if let Some(t) = bad.first() {
        cx.push(
            Diag::error(
                "algen::check::machine_unknown_symbol",
                format!("input token `{t}` is not a tape symbol of `{}`", m.name),
            )
            .at(at.span, "not on the machine's tape")
            .help(format!("{} (the symbols are {})", suggest(t, &all), all.join(", "))),
        );
        return None;
    }
    Some(())
}

fn scratchpad(cx: &mut Cx, e: &Expr, m: &ir::Machine, format: ir::Format) -> Option<Scratchpad> {
    let ExprKind::Call { func, args } = &e.kind else {
        cx.wrong_type(e, "a scratchpad like `trace(M, style = turing_program)`");
        return None;
    };
    if func.name != "trace" {
        let help = suggest(&func.name, &["trace"]);
        cx.push(
            Diag::error("algen::check::unknown_function", format!("unknown scratchpad `{}`", func.name))
                .at(func.span, "not a scratchpad")
                .help(help),
        );
        return None;
    }
    let traced = machine(cx, e, "trace")?.name.clone();
    if traced != m.name {
        cx.push(
            Diag::error(
                "algen::check::scratchpad",
                format!("the scratchpad traces `{traced}` but the target runs `{}`", m.name),
            )
            .at(e.span, "another machine")
            .help("trace the machine whose run is the target"),
        );
        return None;
    }
    if format != ir::Format::Lm {
        cx.push(
            Diag::error("algen::check::scratchpad", "a scratchpad needs `format = lm`")
                .at(e.span, "scratchpad in a non-lm task")
                .help("the model writes `input <sep> scratchpad answer <eos>`: set `format = lm`"),
        );
        return None;
    }
    let mut sp = Scratchpad { style: Style::TuringProgram, every: 1, at: vec![] };
    for a in &args[1..] {
        match a.name.as_ref().map(|n| n.name.as_str()) {
            Some("style") => {
                sp.style = cx.choice(&a.value, "style", STYLES, "algen::check::unknown_value")?;
            }
            Some("every") => sp.every = cx.int_in(&a.value, 1, 1 << 20)? as usize,
            Some("at") => {
                let ExprKind::List(items) = &a.value.kind else {
                    cx.wrong_type(&a.value, "a list of states like `[take0, take1]`");
                    return None;
                };
                for it in items {
                    let t = match &it.kind {
                        ExprKind::Ident(s) | ExprKind::Str(s) => s.clone(),
                        _ => String::new(),
                    };
                    match m.states.iter().position(|q| *q == t) {
                        Some(i) => sp.at.push(i as u32),
                        None => {
                            let all: Vec<&str> = m.states.iter().map(String::as_str).collect();
                            cx.push(
                                Diag::error(
                                    "algen::check::machine_unknown_state",
                                    format!("`{}` has no state `{t}`", m.name),
                                )
                                .at(it.span, "unknown state")
                                .help(suggest(&t, &all)),
                            );
                            return None;
                        }
                    }
                }
            }
            _ => {
                cx.push(
                    Diag::error("algen::check::unknown_field", "`trace` takes `style`, `every` and `at`")
                        .at(a.value.span, "unknown argument")
                        .help("write `trace(M, style = turing_program, every = 1)`"),
                );
                return None;
            }
        }
    }
    if sp.style == Style::Tail && (sp.every != 1 || !sp.at.is_empty()) {
        cx.push(
            Diag::error("algen::check::scratchpad", "the `tail` style writes every step")
                .at(e.span, "`every`/`at` with `style = tail`")
                .help("`every` and `at` apply to `turing_program` and `trace`"),
        );
        return None;
    }
    Some(sp)
}
