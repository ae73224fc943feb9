//! Pointer networks (Vinyals et al. 2015): `format = pointer` tasks, whose targets are 0-based
//! positions of the input, and the `head = pointer` transformer head that reads them. The
//! format and the head need each other.

use super::cx::Cx;
use super::infer::Ty;
use crate::diag::Diag;
use crate::ir;
use crate::source::Span;

/// The outputs of a `format = pointer` task: none (its classes are the input positions), after
/// checking that the target is a sequence of non-negative integers and that no `outputs` are
/// declared. Whether each position is inside the input is checked per example at run time
/// (`algen::task::not_position`).
pub(super) fn outputs(
    cx: &mut Cx,
    target: &ir::Expr,
    ty: &Ty,
    declared: Option<(Vec<String>, Span)>,
) -> Option<Vec<String>> {
    if let Some((_, span)) = declared {
        cx.push(
            Diag::error("algen::check::fixed_by_format", "`format = pointer` fixes `outputs`")
                .at(span, "not allowed with this format")
                .help("remove `outputs`: a pointer task's classes are the positions of its input"),
        );
        return None;
    }
    let why = match ty {
        Ty::Seq(inner) => match inner.as_ref() {
            Ty::Atom(a) => match a.numeric() {
                Ok((lo, _)) if lo >= 0 => return Some(vec![]),
                Ok(_) => "its elements can be negative".to_string(),
                Err(m) => format!("its elements are not integers: {m}"),
            },
            Ty::Seq(_) => "it is a sequence of sequences".to_string(),
        },
        Ty::Atom(_) => "it is a single value, not a sequence".to_string(),
    };
    cx.push(
        Diag::error("algen::check::target_type", format!("a `pointer` target must be input positions; {why}"))
            .at(target.span, "not a list of positions")
            .help("a pointer task's target lists 0-based positions of the input, e.g. `argsort(input)`"),
    );
    None
}

/// The format and the output head must agree: `format = pointer` needs a transformer with
/// `head = pointer`, and a pointer head needs `format = pointer`.
pub(super) fn compatible(cx: &mut Cx, task: &ir::Task, arch: &ir::Arch, at: Span) {
    let head = matches!(arch, ir::Arch::Transformer(c) if c.head == ir::Head::Pointer);
    let pointer = task.format == ir::Format::Pointer;
    if pointer && !head {
        cx.push(
            Diag::error(
                "algen::check::pointer_head",
                format!("task `{}` has format `pointer`, which needs a pointer head", task.name),
            )
            .at(at, "this model has no pointer head")
            .help("use a transformer encoder with `head = pointer`: its classes are the input positions"),
        );
    } else if head && !pointer {
        cx.push(
            Diag::error(
                "algen::check::pointer_head",
                format!("a pointer head needs `format = pointer`; task `{}` has format `{}`", task.name, task.format.name()),
            )
            .at(at, "this model has a pointer head")
            .help("drop `head = pointer`, or give the task `format = pointer` and a target of input positions (`argsort(input)`)"),
        );
    }
}
