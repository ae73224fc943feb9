//! Attention heads (selectors as query/key bilinear forms, with a BOS sink) and
//! the discretising MLP that turns a number into a one-hot.
//!
//! A selector's predicate is read off the traces as a table over the value
//! tuples of its key-side and query-side s-ops, so `and`/`or`/`not` of
//! selectors compile like a single `select`: when a side has several s-ops,
//! their tuple is materialised by a lookup MLP first.

use super::err;
use super::plan::{next_attn, scale, Block, Enc, Head, Lin, Op, Planner, Res, Unit, R};
use super::trace::{Tuple, V};
use crate::rasp::graph::{Arg, Id, Node};
use crate::rasp::Val;
use std::collections::{BTreeSet, HashMap};

/// The attention score of a selected key (others score 0; BOS scores half of it for an
/// aggregate, all of it for a selector width). exp(-30) is below f32's resolution of 1.
pub const SCORE: f64 = 60.0;

fn leaves(p: &Planner, sel: Id, keys: &mut Vec<Id>, queries: &mut Vec<Id>) {
    let push = |v: &mut Vec<Id>, a: &Arg| {
        if let Arg::Node(i) = a {
            if !v.contains(i) {
                v.push(*i);
            }
        }
    };
    match p.node(sel) {
        Node::Select { keys: k, queries: q, .. } => {
            push(keys, k);
            push(queries, q);
        }
        Node::SelAnd(a, b) | Node::SelOr(a, b) => {
            leaves(p, *a, keys, queries);
            leaves(p, *b, keys, queries);
        }
        Node::SelNot(a) => leaves(p, *a, keys, queries),
        _ => {}
    }
}

/// What an attention head selects.
#[derive(Clone, Debug)]
pub enum Sel {
    /// Every position (`length`).
    All,
    /// A selector node (a `select`, or `and`/`or`/`not` of selectors).
    Node(Id),
    /// The positions whose s-op equals an atom (`atom in sop`), for every query.
    Eq(Id, V),
}

/// Python's `==` on two atoms (`True == 1`).
fn py_eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Str(x), V::Str(y)) => x == y,
        (V::Str(_), _) | (_, V::Str(_)) => false,
        _ => a.num() == b.num(),
    }
}

/// Breakpoint units that map a number `x` (one of `points`' values) to the one-hot
/// direction given with it; `bos_max` bounds |x| at the BOS position, where every unit is off.
pub fn discretise(x: &Lin, points: &[(f64, R)], bos_max: f64) -> Vec<Unit> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts.dedup_by(|a, b| a.0 == b.0);
    let Some(first) = pts.first() else { return vec![] };
    let mut units = vec![Unit { pre: vec![(R::One, 1.0), (R::Bos, -2.0)], out: vec![(first.1, 1.0)] }];
    for w in pts.windows(2) {
        let ((x0, r0), (x1, r1)) = (w[0], w[1]);
        if r0 == r1 {
            continue;
        }
        let (t, l) = ((x0 + x1) / 2.0, 4.0 / (x1 - x0));
        let g = l * (bos_max.abs() + t.abs()) + 2.0;
        for (c, sign) in [(0.5, 1.0), (-0.5, -1.0)] {
            let mut pre = scale(x, l);
            pre.push((R::One, -l * t + c));
            pre.push((R::Bos, -g));
            units.push(Unit { pre, out: vec![(r1, sign), (r0, -sign)] });
        }
    }
    units
}

impl Planner<'_> {
    /// Query and key functionals of a selector (`None`: select everything, as `length`
    /// does), the BOS key scoring `bos`; and the sublayer after which they can be read.
    pub fn selector(&mut self, sel: &Sel, bos: f64, at: Id) -> Res<(Vec<Lin>, Vec<Lin>, i32)> {
        let (mut kc, mut qc) = (vec![], vec![]);
        match sel {
            Sel::All => {}
            Sel::Node(s) => leaves(self, *s, &mut kc, &mut qc),
            Sel::Eq(s, _) => kc.push(*s),
        }
        let (ka, qa) = (self.access(&kc)?, self.access(&qc)?);
        let index = |tuples: &[Tuple]| -> HashMap<Tuple, usize> {
            tuples.iter().enumerate().map(|(i, t)| (t.clone(), i)).collect()
        };
        let (ki, qi) = (index(&ka.tuples), index(&qa.tuples));
        let mut pred = vec![vec![None; ka.tuples.len()]; qa.tuples.len()];
        for (i, input) in self.t.inputs.iter().enumerate() {
            let n = input.len();
            let tk: Vec<usize> = (0..n).map(|p| ki[&self.t.tuple(&kc, i, p)]).collect();
            let tq: Vec<usize> = (0..n).map(|p| qi[&self.t.tuple(&qc, i, p)]).collect();
            for q in 0..n {
                for k in 0..n {
                    let on = self.selects(sel, i, q, k);
                    if on && k > q && self.opts.causal {
                        return Err(self.not_causal(if let Sel::Node(s) = sel { *s } else { at }, i, q, k));
                    }
                    match pred[tq[q]][tk[k]] {
                        None => pred[tq[q]][tk[k]] = Some(on),
                        Some(x) if x != on => return Err(err::internal("a selector is not a function of its s-ops")),
                        _ => {}
                    }
                }
            }
        }
        let mut q: Vec<Lin> = qa.lins.clone();
        q.push(vec![(R::One, 1.0)]);
        let mut k: Vec<Lin> = pred
            .iter()
            .map(|row| {
                let on = row.iter().enumerate().filter(|(_, p)| **p == Some(true));
                on.flat_map(|(j, _)| scale(&ka.lins[j], SCORE)).collect()
            })
            .collect();
        k.push(vec![(R::Bos, bos)]);
        Ok((q, k, ka.ready.max(qa.ready)))
    }

    /// Whether query `q` selects key `k` on input `i`.
    fn selects(&self, sel: &Sel, i: usize, q: usize, k: usize) -> bool {
        match sel {
            Sel::All => true,
            Sel::Node(s) => self.t.sels[s][i][q][k],
            Sel::Eq(s, atom) => py_eq(&self.t.cols[s][i][k], atom),
        }
    }

    fn not_causal(&self, sel: Id, i: usize, q: usize, k: usize) -> crate::diag::Diag {
        let what = if self.node(sel).is_selector() {
            "this selector selects it".to_string()
        } else {
            format!("`{}` reads every position", self.label(sel))
        };
        err::construct(
            "algen::rasp_compile::not_causal",
            self.span(sel),
            format!(
                "with --causal, position {q} cannot attend to the later position {k}, but {what} on input {}",
                err::show_input(&self.t.inputs[i])
            ),
            "selects a later position",
            "compile without --causal (an encoder), or select only positions at or before the query",
        )
    }

    /// An aggregate: a gather (categorical) when every selected value equals the result,
    /// else a mean (numerical) of numbers.
    pub fn aggregate(&mut self, id: Id, sel: Id, seq: Arg, default: Val) -> Res<usize> {
        let numeric_seq = match seq {
            Arg::Node(s) => self.numeric(s)?,
            Arg::Atom(_) => None,
        };
        let (mut gather, mut empty, mut vals) = (numeric_seq.is_none(), None, BTreeSet::new());
        let out = &self.t.cols[&id];
        for (i, input) in self.t.inputs.iter().enumerate() {
            for q in 0..input.len() {
                let row = &self.t.sels[&sel][i][q];
                if !row.contains(&true) {
                    empty = Some(vec![out[i][q].clone()]);
                    continue;
                }
                vals.insert(vec![out[i][q].clone()]);
                if let Arg::Node(s) = seq {
                    let col = &self.t.cols[&s][i];
                    gather &= (0..input.len()).all(|k| !row[k] || col[k] == out[i][q]);
                }
            }
        }
        let (q, k, ready) = self.selector(&Sel::Node(sel), SCORE / 2.0, id)?;
        let label = self.label(id);
        if gather {
            let dims: Vec<Tuple> = vals.into_iter().collect();
            let mut v = vec![];
            let mut ready = ready;
            if let Arg::Node(s) = seq {
                let acc = self.access(&[s])?;
                ready = ready.max(acc.ready);
                for d in &dims {
                    let j = acc.tuples.binary_search(d).map_err(|_| err::internal("gathered value"))?;
                    v.push(acc.lins[j].clone());
                }
            } else {
                v = dims.iter().map(|_| vec![(R::One, 1.0), (R::Bos, -1.0)]).collect();
            }
            let me = self.blocks.len();
            let o = (0..dims.len()).map(|d| R::Dim(me, d)).collect();
            let block = Block {
                label,
                what: "gather (categorical aggregate)",
                comps: vec![id],
                enc: Enc::Cat { dims, implicit: empty },
                op: Op::Attn(Head { q, k, v, o }),
                sub: next_attn(ready),
                key: (id, 0),
            };
            return self.add(block);
        }
        let d = match default {
            Val::Int(i) => i as f64,
            Val::Float(f) => f,
            Val::Bool(b) => f64::from(u8::from(b)),
            Val::Str(_) => {
                return Err(err::construct(
                    "algen::rasp_compile::mean_default",
                    self.span(id),
                    "this aggregate averages numbers, but its default is a string".into(),
                    "a mean with a string default",
                    "give a numeric default (or none: 0), or select at most one position per query",
                ))
            }
        };
        let (v, ready) = self.mean_value(seq, numeric_seq, d, ready)?;
        self.check_gaps(id)?;
        let me = self.blocks.len();
        let block = Block {
            label,
            what: "mean (numerical aggregate)",
            comps: vec![id],
            enc: Enc::Num { offset: d },
            op: Op::Attn(Head { q, k, v: vec![v], o: vec![R::Dim(me, 0)] }),
            sub: next_attn(ready),
            key: (id, 0),
        };
        self.add(block)
    }

    /// The value functional of a mean: the number minus the default (zero at BOS).
    fn mean_value(&mut self, seq: Arg, num: Option<(Lin, i32)>, d: f64, ready: i32) -> Res<(Lin, i32)> {
        if let Some((mut x, r)) = num {
            x.push((R::One, -d));
            x.push((R::Bos, d));
            return Ok((x, ready.max(r)));
        }
        let Arg::Node(s) = seq else { return Err(err::internal("mean of an atom")) };
        let acc = self.access(&[s])?;
        let mut v = vec![];
        for (t, lin) in acc.tuples.iter().zip(&acc.lins) {
            // The interpreter refuses to average strings, and a sequence never mixes strings with
            // numbers, so a mean's values are numbers.
            let x = t[0].num().ok_or_else(|| err::internal("a mean over strings"))?;
            v.extend(scale(lin, x - d));
        }
        Ok((v, ready.max(acc.ready)))
    }

    /// Distinct means must stay apart in f32 after an attention average.
    fn check_gaps(&self, id: Id) -> Res<()> {
        let nums: Vec<f64> = self.t.values(&[id]).iter().filter_map(|t| t[0].num()).collect();
        let scale_ = nums.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        if let Some(w) = nums.windows(2).find(|w| w[1] - w[0] < 1e-4 * scale_) {
            return Err(err::construct(
                "algen::rasp_compile::precision",
                self.span(id),
                format!("this mean takes the values {} and {}, too close to tell apart in f32", w[0], w[1]),
                "values closer than 1e-4 of their scale",
                "average values of similar size (e.g. rescale them), or use a smaller --max-len",
            ));
        }
        Ok(())
    }

    /// `selector_width`, `has_focus`, `length` and `atom in sop`: BOS attention writes 1/(w+1), an MLP reads w.
    pub fn width(&mut self, id: Id) -> Res<usize> {
        let sel = match self.node(id) {
            Node::Width(s) | Node::HasFocus(s) => Sel::Node(*s),
            Node::AnyEq(s, atom) => Sel::Eq(*s, super::trace::atom(self.program, *atom)),
            _ => Sel::All,
        };
        let (q, k, ready) = self.selector(&sel, SCORE, id)?;
        let scratch = self.blocks.len();
        let label = self.label(id);
        let head = Head { q, k, v: vec![vec![(R::Bos, 1.0)]], o: vec![R::Dim(scratch, 0)] };
        let sub = next_attn(ready);
        let block = Block {
            label: format!("{label}:bos_weight"),
            what: "selector width (BOS attention)",
            comps: vec![id],
            enc: Enc::Num { offset: 0.0 },
            op: Op::Attn(head),
            sub,
            key: (id, 0),
        };
        self.add(block)?;
        let me = self.blocks.len();
        let mut map: HashMap<usize, V> = HashMap::new();
        for (i, input) in self.t.inputs.iter().enumerate() {
            for q in 0..input.len() {
                let w = (0..input.len()).filter(|&k| self.selects(&sel, i, q, k)).count();
                map.insert(w, self.t.cols[&id][i][q].clone());
            }
        }
        let dims = self.t.values(&[id]);
        let mut points = vec![];
        for (w, val) in &map {
            let d = dims.binary_search(&vec![val.clone()]).map_err(|_| err::internal("width value"))?;
            points.push((1.0 / (*w as f64 + 1.0), R::Dim(me, d)));
        }
        let units = discretise(&vec![(R::Dim(scratch, 0), 1.0)], &points, 1.0);
        let block = Block {
            label,
            what: "selector width (MLP)",
            comps: vec![id],
            enc: Enc::Cat { dims, implicit: None },
            op: Op::Mlp(units),
            sub: sub + 1,
            key: (id, 1),
        };
        self.add(block)
    }
}
