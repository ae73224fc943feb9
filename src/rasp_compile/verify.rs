//! Built-in verification: the compiled model on every enumerated input against
//! the interpreter's values; a disagreement names the input and the first s-op
//! (in evaluation order) whose read-out from the residual stream differs.

use super::err;
use super::plan::Planner;
use super::trace::{tuple_text, Trace};
use super::Compiled;
use crate::diag::Diag;

pub fn verify(c: &Compiled, tr: &Trace, p: &Planner) -> Result<usize, Diag> {
    let target = c.output.node;
    let d = c.model.d;
    for (i, input) in tr.inputs.iter().enumerate() {
        let ids = c.ids(input).ok_or_else(|| err::internal("an input token outside the model's vocabulary"))?;
        let x = c.model.residual(&ids).ok_or_else(|| err::internal("an input longer than the model"))?;
        for pos in 0..input.len() {
            let want = tr.tuple(&[target], i, pos);
            let got = c.output.read(&x, d, pos + 1);
            if got != want {
                return Err(disagreement(c, tr, p, i, &x, (pos, &tuple_text(&want), &tuple_text(&got))));
            }
        }
    }
    Ok(tr.inputs.len())
}

fn disagreement(c: &Compiled, tr: &Trace, p: &Planner, i: usize, x: &[f32], out: (usize, &str, &str)) -> Diag {
    let input = &tr.inputs[i];
    let msg = format!(
        "the compiled model disagrees with the interpreter on input {} at position {}: the interpreter gives {}, the model {}",
        err::show_input(input),
        out.0,
        out.1,
        out.2
    );
    let mut d = Diag::error("algen::rasp_compile::disagrees", msg).help(
        "this is a bug in algen's RASP compiler (it must refuse what it cannot compile): please report the program",
    );
    for probe in &c.probes {
        for pos in 0..input.len() {
            let want = tr.tuple(&[probe.node], i, pos);
            let got = probe.read(x, c.model.d, pos + 1);
            if got != want {
                let label = format!(
                    "first s-op whose read-out differs: `{}` at position {pos} (interpreter {}, model {})",
                    probe.label,
                    tuple_text(&want),
                    tuple_text(&got)
                );
                return d.at(p.span(probe.node).0, label);
            }
        }
    }
    d.help = Some(format!("{} (every intermediate s-op read out agrees)", d.help.unwrap_or_default()));
    d
}
