//! `model m = rasp_compiled { }`: the experiment's task must be a RASP target in the `tag`
//! format over a length split; its s-op is compiled here (over the task's alphabet, up to the
//! split's longest training length) so that what does not compile, or writes values the
//! task's outputs lack, is reported with the other mistakes, and the IR records the compiled
//! architecture ([`ir::model::RaspCompiledCfg`]).

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir::{self, ExprKind, Format, TaskKind};
use crate::source::Span;

pub fn resolve(cx: &mut Cx, task: &ir::Task, split: &ir::Split, cfg: &mut ir::model::RaspCompiledCfg, at: Span) {
    let unfit = |msg: String, label: &str, help: &str| {
        Diag::error("algen::check::compiled_task", msg).at(at, label.to_string()).help(help.to_string())
    };
    let r = match &task.kind {
        TaskKind::Rasp { target } => match &target.kind {
            ExprKind::Rasp(r) => r,
            _ => return,
        },
        _ => {
            cx.push(unfit(
                format!("task `{}` has no RASP target to compile", task.name),
                "a compiled model needs `target = rasp P.sop`",
                "give the task a RASP target (`rasp P { ... }` and `target = rasp P.sop`), or train another model",
            ));
            return;
        }
    };
    if task.format != Format::Tag {
        cx.push(unfit(
            format!(
                "task `{}` has format `{}`; a compiled RASP model writes one output per input position",
                task.name,
                task.format.name()
            ),
            "needs `format = tag`",
            "set `format = tag` on the task",
        ));
        return;
    }
    let Some(&max_len) = split.train.lengths().iter().max() else {
        cx.push(unfit(
            format!("split `{}` has no training lengths to compile for", split.name),
            "compiled up to the longest training length",
            "use a length split (`train = len a..=b`)",
        ));
        return;
    };
    let compiled = match crate::rasp_compile::for_target(r, &task.alphabet, max_len) {
        Ok(c) => c,
        Err(d) => {
            let mut e = Diag::error(
                "algen::check::compiled_fails",
                format!("`{}.{}` does not compile to weights ({}): {}", r.program, r.sop, d.code, d.message),
            )
            .at(at, format!("compiled over {} tokens up to length {max_len}", task.alphabet.len()));
            let said = d.help.map(|h| format!("the compiler says: {h}; ")).unwrap_or_default();
            e = e.help(format!(
                "{said}here the vocabulary is the task's alphabet and the longest input the split's longest training length"
            ));
            cx.push(e);
            return;
        }
    };
    let Some(values) = compiled.output_values() else {
        cx.push(
            Diag::error("algen::check::compiled_outputs", format!("`{}.{}` is a numerical mean", r.program, r.sop))
                .at(at, "read by nearness, not as classes")
                .help("compile an s-op with categorical values (e.g. `round(...)` of the mean)"),
        );
        return;
    };
    // The values at the positions the task scores (with a `bos`, the program's own BOS
    // position is never scored), from the interpreter on every compiled input.
    let scored = match scored_values(r, &task.alphabet, max_len) {
        Ok(v) => v,
        Err(message) => {
            cx.push(
                Diag::error("algen::check::compiled_fails", format!("`{}.{}` fails: {message}", r.program, r.sop))
                    .at(at, format!("compiled up to length {max_len}"))
                    .help("the program must run on every input up to the longest training length"),
            );
            return;
        }
    };
    let missing: Vec<String> =
        values.iter().filter(|v| scored.contains(*v) && !task.outputs.contains(v)).map(|v| format!("`{v}`")).collect();
    if !missing.is_empty() {
        cx.push(
            Diag::error(
                "algen::check::compiled_outputs",
                format!(
                    "`{}.{}` takes values {} that are not outputs of task `{}`",
                    r.program,
                    r.sop,
                    missing.join(", "),
                    task.name
                ),
            )
            .at(at, format!("compiled up to length {max_len}"))
            .help("list every value the s-op takes in the task's `outputs`"),
        );
        return;
    }
    let m = &compiled.model;
    cfg.max_len = max_len;
    cfg.d = m.d;
    cfg.max_pos = m.max_pos;
    cfg.layers = m
        .layers
        .iter()
        .map(|l| ir::model::CompiledLayer { heads: l.heads.iter().map(|h| (h.dh, h.dv)).collect(), hidden: l.hidden })
        .collect();
}

/// Every value the target takes at a scored position, on every input up to `max_len`.
fn scored_values(
    r: &ir::RaspTarget,
    alphabet: &[String],
    max_len: usize,
) -> Result<std::collections::BTreeSet<String>, String> {
    let mut ev = crate::rasp::target_evaluator(r)?;
    let mut seen = std::collections::BTreeSet::new();
    for len in 1..=max_len {
        let mut digits = vec![0usize; len];
        loop {
            let tokens: Vec<&str> = digits.iter().map(|&i| alphabet[i].as_str()).collect();
            seen.extend(crate::rasp::label(&mut ev, r, &tokens)?);
            let Some(i) = digits.iter().rposition(|&x| x + 1 < alphabet.len()) else { break };
            digits[i] += 1;
            digits[i + 1..].iter_mut().for_each(|x| *x = 0);
        }
    }
    Ok(seen)
}
