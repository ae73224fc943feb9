//! The checked form of a RASP program: a DAG of s-ops and selectors over
//! the input, built once when the program is defined (see `define`), then
//! evaluated per input (see `run`). Nodes only refer to earlier nodes, so
//! creation order is a topological order.

use super::ast::SelOp;
use super::value::{Op, Val};
use crate::source::Span;

/// Index of a node in [`Graph::nodes`].
pub type Id = u32;

/// An operand that is either an s-op or an atom broadcast over positions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    Node(Id),
    Atom(Val),
}

/// The input s-ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokens {
    Str,
    Int,
    Float,
    Bool,
    Asis,
}

/// Elementwise unary maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Map1 {
    Neg,
    Pos,
    Not,
    Round,
    Indicator,
}

/// A lookup table lifted over an s-op: `DICT[sop]` or `LIST[sop]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Table {
    Dict(Vec<(Val, Val)>),
    List(Vec<Val>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Indices,
    Length,
    Tokens(Tokens),
    Map1(Map1, Id),
    Map2(Op, Arg, Arg),
    /// Truthiness `and` / `or` of two s-ops (a boolean s-op).
    And(Arg, Arg),
    Or(Arg, Arg),
    /// `a if c else b`, elementwise.
    Ternary {
        cond: Arg,
        then: Arg,
        els: Arg,
    },
    /// `sop in [atoms]`
    InList(Id, Vec<Val>),
    /// `atom in sop`: whether any position equals the atom (broadcast).
    AnyEq(Id, Val),
    Lookup(Id, Table),
    /// Selector: entry `[q][k]` is `keys[k] OP queries[q]`.
    Select {
        keys: Arg,
        queries: Arg,
        op: SelOp,
    },
    /// The all-true selector `full_s`.
    SelAll,
    SelAnd(Id, Id),
    SelOr(Id, Id),
    SelNot(Id),
    Aggregate {
        sel: Id,
        seq: Arg,
        default: Val,
    },
    /// Selected positions per row (the library's `selector_width`).
    Width(Id),
    /// Whether a row selects anything (the library's `has_focus`).
    HasFocus(Id),
}

impl Node {
    pub fn is_selector(&self) -> bool {
        matches!(self, Node::Select { .. } | Node::SelAll | Node::SelAnd(..) | Node::SelOr(..) | Node::SelNot(_))
    }

    /// The nodes this one reads.
    pub fn inputs(&self) -> Vec<Id> {
        let arg = |a: &Arg| match a {
            Arg::Node(i) => Some(*i),
            Arg::Atom(_) => None,
        };
        match self {
            Node::Indices | Node::Length | Node::Tokens(_) | Node::SelAll => vec![],
            Node::Map1(_, a) | Node::InList(a, _) | Node::AnyEq(a, _) | Node::Lookup(a, _) => vec![*a],
            Node::SelNot(a) | Node::Width(a) | Node::HasFocus(a) => vec![*a],
            Node::SelAnd(a, b) | Node::SelOr(a, b) => vec![*a, *b],
            Node::Map2(_, a, b) | Node::And(a, b) | Node::Or(a, b) => [a, b].iter().filter_map(|x| arg(x)).collect(),
            Node::Select { keys, queries, .. } => [keys, queries].iter().filter_map(|x| arg(x)).collect(),
            Node::Ternary { cond, then, els } => [cond, then, els].iter().filter_map(|x| arg(x)).collect(),
            Node::Aggregate { sel, seq, .. } => std::iter::once(*sel).chain(arg(seq)).collect(),
        }
    }
}

/// The DAG, with each node's source span (for per-input error messages).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub spans: Vec<Span>,
}

impl Graph {
    /// Adds `node`, or returns the identical node added before (common subexpressions, such
    /// as the library's `select(indices, 0, ==)` used twice, are evaluated once; an error
    /// in one then names the first occurrence's span).
    pub fn add(&mut self, node: Node, span: Span) -> Id {
        if let Some(i) = self.nodes.iter().position(|n| n == &node) {
            return i as Id;
        }
        self.nodes.push(node);
        self.spans.push(span);
        (self.nodes.len() - 1) as Id
    }

    /// Whether each node depends on the input's length alone (not on its tokens): such
    /// nodes are the same for every input of one length.
    pub fn length_only(&self) -> Vec<bool> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let own = !matches!(node, Node::Tokens(_));
            let inputs_too = node.inputs().iter().all(|&j| out[j as usize]);
            out.push(own && inputs_too);
        }
        out
    }

    /// The nodes `target` depends on (itself included), in evaluation order.
    pub fn ancestors(&self, target: Id) -> Vec<Id> {
        let mut needed = vec![false; target as usize + 1];
        needed[target as usize] = true;
        for i in (0..=target as usize).rev() {
            if needed[i] {
                for j in self.nodes[i].inputs() {
                    needed[j as usize] = true;
                }
            }
        }
        (0..=target).filter(|&i| needed[i as usize]).collect()
    }
}
