//! Static typing of target expressions by abstract interpretation: each
//! expression gets a [`Ty`] — a single value or a sequence — whose atoms are
//! the tokens, the integer interval and the booleans it can take. This finds
//! type errors (summing letters, indexing an integer) and the set of tokens a
//! target can emit, from which the output vocabulary is inferred or checked.

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir::{BinOp, Builtin, Expr, ExprKind, UnOp};
use std::collections::BTreeSet;

const LO: i64 = i64::MIN;
const HI: i64 = i64::MAX;
/// The widest integer interval that can still be an output vocabulary.
const MAX_INT_TOKENS: i64 = 4096;

#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Atom(Atoms),
    Seq(Box<Ty>),
}

/// What a single value can be. `LO`/`HI` bounds mean unbounded.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Atoms {
    pub toks: BTreeSet<String>,
    pub ints: Option<(i64, i64)>,
    pub bools: bool,
}

impl Atoms {
    fn int(lo: i64, hi: i64) -> Ty {
        Ty::Atom(Atoms { ints: Some((lo, hi)), ..Default::default() })
    }
    fn boolean() -> Ty {
        Ty::Atom(Atoms { bools: true, ..Default::default() })
    }
    fn join(&self, o: &Atoms) -> Atoms {
        let ints = match (self.ints, o.ints) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
        Atoms { toks: self.toks.union(&o.toks).cloned().collect(), ints, bools: self.bools || o.bools }
    }
    /// The integer interval these atoms denote, or why they are not numbers.
    pub(super) fn numeric(&self) -> Result<(i64, i64), String> {
        if self.bools {
            return Err("booleans are not numbers".into());
        }
        let mut r = self.ints;
        for t in &self.toks {
            let v: i64 = t.parse().map_err(|_| format!("token `{t}` is not a number"))?;
            r = Some(r.map_or((v, v), |(a, b)| (a.min(v), b.max(v))));
        }
        Ok(r.unwrap_or((0, 0)))
    }
    /// The tokens these atoms can be written as, alphabet tokens first.
    pub fn tokens(&self, alphabet: &[String]) -> Result<Vec<String>, String> {
        let mut set: BTreeSet<String> = self.toks.clone();
        let mut ints = vec![];
        if let Some((lo, hi)) = self.ints {
            if lo == LO || hi == HI || hi.saturating_sub(lo) > MAX_INT_TOKENS {
                let show = |v: i64, inf: &str| if v == LO || v == HI { inf.to_string() } else { v.to_string() };
                return Err(format!("the target can be any integer in [{}, {}]", show(lo, "-inf"), show(hi, "+inf")));
            }
            ints = (lo..=hi).map(|i| i.to_string()).collect();
        }
        if self.bools {
            set.insert("false".into());
            set.insert("true".into());
        }
        let mut out: Vec<String> = alphabet.iter().filter(|a| set.contains(*a) || ints.contains(a)).cloned().collect();
        for i in ints {
            if !out.contains(&i) {
                out.push(i);
            }
        }
        for t in set {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }
}

/// Types `e` with `input` a sequence over `alphabet`; reports errors into `cx`.
pub fn infer(cx: &mut Cx, e: &Expr, alphabet: &[String]) -> Option<Ty> {
    let input = Ty::Seq(Box::new(Ty::Atom(Atoms { toks: alphabet.iter().cloned().collect(), ..Default::default() })));
    match ty(e, &input) {
        Ok(t) => Some(t),
        Err((span, msg)) => {
            cx.push(
                Diag::error("algen::check::target_type", format!("type error in the target: {msg}"))
                    .at(span, msg.clone())
                    .help("targets compute on integers, tokens, booleans and sequences of them"),
            );
            None
        }
    }
}

/// Types `e` over the variables of a finite universe, each an integer in `lo..=hi`
/// (`input` is the tuple of them).
pub fn infer_vars(cx: &mut Cx, e: &Expr, lo: i64, hi: i64) -> Option<Ty> {
    let input = Ty::Seq(Box::new(Atoms::int(lo, hi)));
    match ty(e, &input) {
        Ok(t) => Some(t),
        Err((span, msg)) => {
            cx.push(
                Diag::error("algen::check::target_type", format!("type error in the target: {msg}"))
                    .at(span, msg.clone())
                    .help("universe targets compute on the variables' integers"),
            );
            None
        }
    }
}

type R = Result<Ty, (crate::source::Span, String)>;

fn join(a: &Ty, b: &Ty, e: &Expr) -> R {
    match (a, b) {
        (Ty::Atom(x), Ty::Atom(y)) => Ok(Ty::Atom(x.join(y))),
        (Ty::Seq(x), Ty::Seq(y)) => Ok(Ty::Seq(Box::new(join(x, y, e)?))),
        _ => Err((e.span, "mixes single values and sequences".into())),
    }
}

fn num(t: &Ty, e: &Expr) -> Result<(i64, i64), (crate::source::Span, String)> {
    match t {
        Ty::Atom(a) => a.numeric().map_err(|m| (e.span, m)),
        Ty::Seq(_) => Err((e.span, "expected a number, found a sequence".into())),
    }
}

fn elem(t: &Ty, e: &Expr) -> R {
    match t {
        Ty::Seq(inner) => Ok((**inner).clone()),
        Ty::Atom(_) => Err((e.span, "expected a sequence, found a single value".into())),
    }
}

fn as_seq(t: Ty) -> Ty {
    match t {
        Ty::Atom(_) => Ty::Seq(Box::new(t)),
        s => s,
    }
}

fn boolean(t: &Ty, e: &Expr) -> Result<(), (crate::source::Span, String)> {
    match t {
        Ty::Atom(a) if a.bools && a.toks.is_empty() && a.ints.is_none() => Ok(()),
        _ => Err((e.span, "expected a boolean (a comparison)".into())),
    }
}

fn ty(e: &Expr, input: &Ty) -> R {
    Ok(match &e.kind {
        ExprKind::Int(i) => Atoms::int(*i, *i),
        ExprKind::Tok(t) => Ty::Atom(Atoms { toks: [t.clone()].into(), ..Default::default() }),
        ExprKind::Bool(_) => Atoms::boolean(),
        ExprKind::Input => input.clone(),
        ExprKind::Var(_) => elem(input, e)?,
        ExprKind::Output => return Err((e.span, "`output` is only defined in split predicates".into())),
        ExprKind::List(items) => {
            let mut acc = Ty::Atom(Atoms::default());
            for (i, it) in items.iter().enumerate() {
                let t = ty(it, input)?;
                acc = if i == 0 { t } else { join(&acc, &t, it)? };
            }
            Ty::Seq(Box::new(acc))
        }
        ExprKind::Unary(UnOp::Neg, x) => {
            let (lo, hi) = num(&ty(x, input)?, x)?;
            Atoms::int(neg(hi), neg(lo))
        }
        ExprKind::Unary(UnOp::Not, x) => {
            boolean(&ty(x, input)?, x)?;
            Atoms::boolean()
        }
        ExprKind::Binary(op, a, b) => binary(*op, a, b, input)?,
        ExprKind::If(c, a, b) => {
            boolean(&ty(c, input)?, c)?;
            join(&ty(a, input)?, &ty(b, input)?, e)?
        }
        ExprKind::Index(s, i) => {
            num(&ty(i, input)?, i)?;
            elem(&ty(s, input)?, s)?
        }
        ExprKind::Slice(s, a, b, c) => {
            for p in [a, b, c].into_iter().flatten() {
                num(&ty(p, input)?, p)?;
            }
            let t = ty(s, input)?;
            elem(&t, s)?;
            t
        }
        ExprKind::Call(f, args) => call(*f, args, e, input)?,
        // RASP targets are checked by running them (check/rasp.rs), not typed here.
        ExprKind::Rasp(_) => Ty::Seq(Box::new(Ty::Atom(Atoms::default()))),
    })
}

fn neg(v: i64) -> i64 {
    match v {
        LO => HI,
        HI => LO,
        v => -v,
    }
}

fn binary(op: BinOp, a: &Expr, b: &Expr, input: &Ty) -> R {
    let (ta, tb) = (ty(a, input)?, ty(b, input)?);
    Ok(match op {
        BinOp::Concat => {
            let (sa, sb) = (as_seq(ta), as_seq(tb));
            let joined = join(&sa, &sb, b)?;
            as_seq(joined)
        }
        BinOp::Eq | BinOp::Ne => Atoms::boolean(),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            num(&ta, a)?;
            num(&tb, b)?;
            Atoms::boolean()
        }
        BinOp::And | BinOp::Or => {
            boolean(&ta, a)?;
            boolean(&tb, b)?;
            Atoms::boolean()
        }
        _ => {
            let ((al, ah), (bl, bh)) = (num(&ta, a)?, num(&tb, b)?);
            let bounded = al != LO && ah != HI && bl != LO && bh != HI;
            match op {
                BinOp::Add => Atoms::int(al.saturating_add(bl), ah.saturating_add(bh)),
                BinOp::Sub => Atoms::int(al.saturating_sub(bh), ah.saturating_sub(bl)),
                BinOp::Mul if bounded => corners(&[
                    al.saturating_mul(bl),
                    al.saturating_mul(bh),
                    ah.saturating_mul(bl),
                    ah.saturating_mul(bh),
                ]),
                BinOp::Div if bounded && (bl > 0 || bh < 0) => {
                    corners(&[al.div_euclid(bl), al.div_euclid(bh), ah.div_euclid(bl), ah.div_euclid(bh)])
                }
                BinOp::Mod if bl > 0 && al >= 0 && ah < bl => Atoms::int(al, ah),
                BinOp::Mod if bl > 0 => Atoms::int(0, bh.saturating_sub(1)),
                BinOp::Mod if bh < 0 => Atoms::int(bl.saturating_add(1), 0),
                _ => Atoms::int(LO, HI),
            }
        }
    })
}

fn corners(v: &[i64]) -> Ty {
    Atoms::int(*v.iter().min().unwrap_or(&0), *v.iter().max().unwrap_or(&0))
}

fn call(f: Builtin, args: &[Expr], e: &Expr, input: &Ty) -> R {
    let t: Vec<Ty> = args.iter().map(|a| ty(a, input)).collect::<Result<_, _>>()?;
    Ok(match f {
        Builtin::Reverse | Builtin::Sort => {
            elem(&t[0], &args[0])?;
            t[0].clone()
        }
        Builtin::Argsort => {
            elem(&t[0], &args[0])?;
            Ty::Seq(Box::new(Atoms::int(0, HI)))
        }
        Builtin::Concat => {
            let mut acc = as_seq(t[0].clone());
            for (x, a) in t.iter().zip(args).skip(1) {
                acc = join(&acc, &as_seq(x.clone()), a)?;
            }
            acc
        }
        Builtin::Len | Builtin::Count | Builtin::FromBinary => {
            elem(&t[0], &args[0])?;
            Atoms::int(0, HI)
        }
        Builtin::Contains => {
            elem(&t[0], &args[0])?;
            Atoms::boolean()
        }
        Builtin::Sum => {
            let (lo, hi) = num(&elem(&t[0], &args[0])?, &args[0])?;
            Atoms::int(if lo >= 0 { 0 } else { LO }, if hi <= 0 { 0 } else { HI })
        }
        Builtin::Min | Builtin::Max if t.len() == 1 => elem(&t[0], &args[0])?,
        Builtin::Min | Builtin::Max => {
            let ((al, ah), (bl, bh)) = (num(&t[0], &args[0])?, num(&t[1], &args[1])?);
            if f == Builtin::Min {
                Atoms::int(al.min(bl), ah.min(bh))
            } else {
                Atoms::int(al.max(bl), ah.max(bh))
            }
        }
        Builtin::Abs => {
            let (lo, hi) = num(&t[0], &args[0])?;
            if lo >= 0 {
                Atoms::int(lo, hi)
            } else {
                Atoms::int(0, neg(lo).max(hi))
            }
        }
        Builtin::ToBinary => {
            num(&t[0], &args[0])?;
            Ty::Seq(Box::new(Atoms::int(0, 1)))
        }
        Builtin::Split => {
            elem(&t[0], &args[0])?;
            Ty::Seq(Box::new(t[0].clone()))
        }
        Builtin::Repeat => {
            num(&t[1], &args[1])?;
            let _ = e;
            as_seq(t[0].clone())
        }
        Builtin::Inv => {
            num(&t[0], &args[0])?;
            match num(&t[1], &args[1])? {
                (lo, hi) if lo > 0 && hi != HI => Atoms::int(0, hi - 1),
                _ => Atoms::int(0, HI),
            }
        }
        Builtin::PermCompose => {
            num(&t[0], &args[0])?;
            num(&t[1], &args[1])?;
            match num(&t[2], &args[2])? {
                (lo, hi) if lo >= 0 && hi <= 10 => Atoms::int(0, (1..=hi.max(1)).product::<i64>() - 1),
                _ => Atoms::int(0, HI),
            }
        }
    })
}
