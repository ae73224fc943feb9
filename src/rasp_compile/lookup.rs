//! The MLP blocks of a plan: lookup tables over the input tuples that occur, and the
//! categorical copy of a numerical s-op (a discretising MLP over its value set).

use super::err;
use super::plan::{next_mlp, Block, Enc, Lin, Op, Planner, Res, Unit, R};
use super::trace::Tuple;
use crate::rasp::graph::Id;
use std::collections::HashMap;

impl Planner<'_> {
    /// A lookup MLP: one unit per input tuple that occurs, writing the one-hot of `comps`.
    pub(super) fn lookup(&mut self, comps: &[Id], srcs: &[usize]) -> Res<usize> {
        if let Some(b) = self.lookups.get(comps) {
            return Ok(*b);
        }
        let src_comps: Vec<Vec<Id>> = srcs.iter().map(|&b| self.blocks[b].comps.clone()).collect();
        let mut table: HashMap<Vec<Tuple>, Tuple> = HashMap::new();
        for (i, p) in self.t.positions() {
            let key: Vec<Tuple> = src_comps.iter().map(|c| self.t.tuple(c, i, p)).collect();
            let val = self.t.tuple(comps, i, p);
            if let Some(old) = table.insert(key, val.clone()) {
                if old != val {
                    return Err(err::internal("an elementwise s-op is not a function of its sources"));
                }
            }
        }
        let mut dims: Vec<Tuple> = table.values().cloned().collect();
        dims.sort();
        dims.dedup();
        let me = self.blocks.len();
        let k = srcs.len() as f64;
        let mut rows: Vec<(&Vec<Tuple>, &Tuple)> = table.iter().collect();
        rows.sort();
        let mut units = Vec::with_capacity(rows.len());
        for (key, val) in rows {
            let mut pre: Lin = vec![(R::One, -(k - 1.0)), (R::Bos, -k)];
            for (b, u) in srcs.iter().zip(key) {
                pre.extend(self.ind(*b, u));
            }
            let d = dims.binary_search(val).map_err(|_| err::internal("lookup value"))?;
            units.push(Unit { pre, out: vec![(R::Dim(me, d), 1.0)] });
        }
        let ready = srcs.iter().map(|&b| self.blocks[b].sub).max().unwrap_or(-1);
        let label = comps.iter().map(|&c| self.label(c)).collect::<Vec<_>>().join(",");
        let last = *comps.iter().max().unwrap_or(&0);
        let block = Block {
            label: if comps.len() == 1 { label } else { format!("({label})") },
            what: "lookup MLP",
            comps: comps.to_vec(),
            enc: Enc::Cat { dims, implicit: None },
            op: Op::Mlp(units),
            sub: next_mlp(ready),
            key: (last, 3),
        };
        let b = self.add(block)?;
        self.lookups.insert(comps.to_vec(), b);
        Ok(b)
    }

    /// The categorical copy of numeric block `b` (a discretising MLP).
    pub(super) fn shadow(&mut self, b: usize) -> Res<usize> {
        if let Some(s) = self.shadows.get(&b) {
            return Ok(*s);
        }
        let id = self.blocks[b].comps[0];
        let dims = self.t.values(&[id]);
        let Some((x, ready)) = self.numeric(id)? else { return Err(err::internal("shadow of a categorical block")) };
        let me = self.blocks.len();
        let mut points = vec![];
        for (i, d) in dims.iter().enumerate() {
            let v = d[0].num().ok_or_else(|| err::internal("non-number in a numeric block"))?;
            points.push((v, R::Dim(me, i)));
        }
        let units = super::attn::discretise(&x, &points, 0.0);
        let block = Block {
            label: format!("{}:cat", self.blocks[b].label),
            what: "discretising MLP",
            comps: vec![id],
            enc: Enc::Cat { dims, implicit: None },
            op: Op::Mlp(units),
            sub: next_mlp(ready),
            key: (id, 2),
        };
        let s = self.add(block)?;
        self.shadows.insert(b, s);
        Ok(s)
    }
}
