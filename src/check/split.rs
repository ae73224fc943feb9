//! Splits: `train = len 1..=40`, `test = len 41..=500 step 10 count 256`, `count = 512`.

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir::{self, defaults};
use crate::syntax::ast::{Body, Expr, ExprKind, FieldValue, Ident, Part};

pub(super) const FIELDS: &[&str] = &["train", "test", "count"];

/// The longest input a length range may ask for (tokens). Every example is built in memory,
/// and the longest length studied by the shipped specs is 500 (Delétang et al. 2023).
pub const MAX_LEN: i64 = 100_000;
/// The most lengths one part may list (`len 1..=100000` needs `step 10` or more).
pub const MAX_LENGTHS: usize = 10_000;
/// The most examples per length (`count`).
pub const MAX_COUNT: i64 = 1 << 20;
/// The most input tokens one length of one part may hold (`count` × the longest length):
/// an evaluation builds that many at once.
pub const MAX_PART_TOKENS: i64 = 1 << 28;

pub fn split(cx: &mut Cx, name: &Ident, body: &Body) -> Option<ir::Split> {
    let f = cx.fields("a split", body, FIELDS, &[], false);
    let count = match f.expr("count") {
        Some(e) => {
            if cx.no_sweep(e, "count") {
                None
            } else {
                cx.int_in(e, 1, MAX_COUNT).map(|c| c as usize)
            }
        }
        None => Some(defaults::COUNT),
    };
    let explicit_count = f.expr("count").is_some().then_some(count).flatten();
    let part = |cx: &mut Cx, which: &str| -> Option<ir::Part> {
        match f.map.get(which) {
            Some((_, FieldValue::Part(p))) => self::part(cx, p, count.unwrap_or(defaults::COUNT)),
            Some((_, FieldValue::Universe(u))) => {
                cx.push(
                    Diag::error("algen::check::wrong_type", "expected a split part, found a universe")
                        .at(u.span, "not a split part")
                        .help("a universe is a task's `input`; split it with `fraction 0.5` and `rest`"),
                );
                None
            }
            Some((_, FieldValue::Pick(p))) => super::pick::pick(cx, p, which, explicit_count),
            Some((_, FieldValue::Expr(e))) => {
                not_a_part(cx, e);
                None
            }
            None => {
                cx.missing("a split", which, name.span, &format!("{which} = len 1..=40"));
                None
            }
        }
    };
    let train = part(cx, "train");
    let test = part(cx, "test");
    super::pick::mixed(cx, name, &f, train.as_ref(), test.as_ref())?;
    Some(ir::Split { name: name.name.clone(), train: train?, test: test?, span: name.span })
}

fn not_a_part(cx: &mut Cx, e: &Expr) {
    let help = match &e.kind {
        ExprKind::Sweep(_) => "splits cannot be swept; define one split per setting",
        _ => "write a length range like `len 1..=40` (optionally `step 5`, `count 256`)",
    };
    cx.push(
        Diag::error("algen::check::wrong_type", format!("expected a split part, found {}", e.kind.describe()))
            .at(e.span, "not a split part")
            .help(help),
    );
}

fn part(cx: &mut Cx, p: &Part, default_count: usize) -> Option<ir::Part> {
    let range = &p.range;
    let lo = cx.num(&range.lo).and_then(|n| n.int);
    let hi = cx.num(&range.hi).and_then(|n| n.int);
    let (Some(lo), Some(hi)) = (lo, hi) else {
        for e in [&range.lo, &range.hi] {
            if cx.num(e).and_then(|n| n.int).is_none() {
                cx.wrong_type(e, "an integer length");
            }
        }
        return None;
    };
    let end = hi;
    let hi = if range.inclusive { hi } else { hi.saturating_sub(1) };
    let bad = |cx: &mut Cx, msg: String, help: &str| {
        cx.push(Diag::error("algen::check::bad_range", msg).at(range.span, "bad range").help(help.to_string()));
    };
    if lo < 1 {
        bad(
            cx,
            format!("lengths start at 1, this range starts at {lo}"),
            "use a range of positive lengths, e.g. `1..=40`",
        );
        return None;
    }
    if hi < lo {
        if range.inclusive {
            bad(cx, format!("the range {lo}..={hi} is reversed"), "the first length must not exceed the last");
        } else {
            bad(
                cx,
                format!("the range {lo}..{end} is empty"),
                &format!("`..` excludes its end; write `{lo}..={end}` to include it"),
            );
        }
        return None;
    }
    if hi > MAX_LEN {
        cx.push(
            Diag::error(
                "algen::check::too_large",
                format!("length {hi} is longer than the longest input algen builds ({MAX_LEN} tokens)"),
            )
            .at(range.span, format!("at most {MAX_LEN}"))
            .help(format!("inputs are at most {MAX_LEN} tokens long: lower the range's end")),
        );
        return None;
    }
    let step = match &p.step {
        Some(e) => cx.int_in(e, 1, MAX_LEN)? as usize,
        None => 1,
    };
    let count = match &p.count {
        Some(e) => cx.int_in(e, 1, MAX_COUNT)? as usize,
        None => default_count,
    };
    let (lo, hi) = (lo as usize, hi as usize);
    let listed = (hi - lo) / step + 1;
    if listed > MAX_LENGTHS {
        cx.push(
            Diag::error(
                "algen::check::too_large",
                format!("this part lists {listed} lengths, more than {MAX_LENGTHS}"),
            )
            .at(range.span, format!("at most {MAX_LENGTHS} lengths"))
            .help(format!(
                "a part may list at most {MAX_LENGTHS} lengths: add a `step` (e.g. `step {}`) or narrow the range",
                listed.div_ceil(MAX_LENGTHS)
            )),
        );
        return None;
    }
    if (count as i64).saturating_mul(hi as i64) > MAX_PART_TOKENS {
        let at = p.count.as_ref().map_or(range.span, |e| e.span);
        cx.push(
            Diag::error(
                "algen::check::too_large",
                format!(
                    "{count} examples of length {hi} are {} tokens, more than {MAX_PART_TOKENS}",
                    count as u128 * hi as u128
                ),
            )
            .at(at, "too many tokens for one length")
            .help(format!("`count` × the longest length may be at most {MAX_PART_TOKENS} tokens: lower `count`")),
        );
        return None;
    }
    let lengths: Vec<usize> = (lo..=hi).step_by(step).collect();
    if let (Some(e), Some(&last)) = (&p.step, lengths.last()) {
        if last != hi {
            cx.push(step_skips_end(&lengths, hi, step, range.span.to(e.span)));
        }
    }
    Some(ir::Part { select: ir::Selector::Len { lengths }, count })
}

/// The warning for a `step` that does not land on the range's last length.
fn step_skips_end(lengths: &[usize], hi: usize, step: usize, at: crate::source::Span) -> Diag {
    let (lo, last) = (lengths[0], lengths[lengths.len() - 1]);
    let shown = if lengths.len() <= 8 {
        lengths.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
    } else {
        format!("{}, {}, {}, …, {last}", lengths[0], lengths[1], lengths[2])
    };
    Diag::warning(
        "algen::check::step_end",
        format!("`step {step}` from {lo} does not reach length {hi}: the lengths used are {shown}"),
    )
    .at(at, format!("ends at {last}"))
    .help(format!(
        "lengths go from the start in steps of {step} and stop at or before the end; write `{lo}..={last} step {step}` \
         to say so, or `{lo}..={} step {step}` to go one step further",
        last + step
    ))
}
