//! Generated machines: `machine NAME = decimal_addition();`, `multiply_digit()`,
//! `random_machine(states = 3, symbols = 2, seed = 7)`. Each builds the rule table that a
//! written machine would declare (far too many rules to write by hand: addition has 31 states)
//! and goes through the same checks ([`super::machine::finish`]).
//!
//! **`decimal_addition()`** — input `a+b` (decimal, most-significant digit first), head on
//! the first digit. It adds in place over `a`: `right` walks to the end of `b`; `take_c`
//! (carry c) erases `b`'s last digit x and walks left as `go_{c+x}` to `+`, then as `goa_s` over
//! the result digits (`0'`…`9'`) to `a`'s last unused digit y, which it overwrites with the
//! result digit `(s+y) mod 10` marked `'` and walks back right as `back_{(s+y) div 10}` to
//! `b`'s new last digit. When `b` is used up (`take_c` reads `+`) the remaining digits of `a`
//! get the carry (`gob_c`), a final carry `1` is written left of the result, and `clean` turns
//! the marked result digits back into digits and erases `+`. Output: the non-blank cells (the
//! sum, most-significant digit first, no leading zeros beyond the operands'). Each result digit
//! costs about 4·|b| steps; the `take` states are entered once per digit of `b`, plus once
//! when `b` is used up (a scratchpad `at = [take0, take1]` writes one snapshot per digit).
//!
//! **`multiply_digit()`** — input `a*d` (d one digit). `right` walks to `d`, `read` erases it
//! and `erase_d` the `*`, then `m{d}c{c}` walks left over `a` writing `(y·d + c) mod 10` over each
//! digit y with carry c; at the blank left of `a` it writes the carry when non-zero and halts.
//! Output: the non-blank cells, `|a|` or `|a|+1` digits (`0` times `123` gives `000`). Only the
//! carries that occur get a state (`m0c0`, `m1c0`, `m2c0`, `m2c1`, …).
//!
//! **`random_machine(states, symbols, seed)`** — Hou et al. 2024's "random Turing programs":
//! symbols `0`…`symbols−1` and the blank; working states `q0`…; for each working state and
//! non-blank symbol a uniform written symbol, next state, and move (`R` with probability 3/4,
//! else `L`, so runs drift right and usually leave the input); reading a blank halts. A
//! random machine can cycle: such inputs fail with the step limit (`8·(n+2)²`).

use super::cx::Cx;
use super::machine::{finish, Decl};
use crate::diag::{suggest, Diag};
use crate::ir::{self, Action, Move, Output, StepLimit};
use crate::syntax::ast::{Expr, ExprKind, Ident};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

const GENERATORS: &[&str] = &["decimal_addition", "multiply_digit", "random_machine"];

/// A rule table under construction, by names.
struct Builder {
    symbols: Vec<String>,
    states: Vec<String>,
    rules: BTreeMap<(u32, u32), Action>,
}

impl Builder {
    fn new(symbols: Vec<String>) -> Self {
        Builder { symbols, states: vec![], rules: BTreeMap::new() }
    }
    fn state(&mut self, q: &str) -> u32 {
        match self.states.iter().position(|s| s == q) {
            Some(i) => i as u32,
            None => {
                self.states.push(q.to_string());
                self.states.len() as u32 - 1
            }
        }
    }
    fn sym(&self, s: &str) -> u32 {
        self.symbols.iter().position(|x| x == s).unwrap_or(0) as u32
    }
    fn rule(&mut self, q: &str, read: &str, write: &str, mv: Move, next: &str) {
        let (q, next) = (self.state(q), self.state(next));
        let (r, w) = (self.sym(read), self.sym(write));
        self.rules.insert((q, r), Action { write: w, mv, next });
    }
    fn build(self, cx: &mut Cx, name: &Ident, halt: &str, output: Output, max_steps: StepLimit) -> ir::Machine {
        let n = self.symbols.len();
        let mut table = vec![None; self.states.len() * n];
        for (&(q, s), a) in &self.rules {
            table[q as usize * n + s as usize] = Some(*a);
        }
        let halting = self.states.iter().map(|q| q == halt).collect();
        let decl =
            Decl { symbols: self.symbols, states: self.states, start: 0, halting, output, max_steps, partial: true };
        finish(cx, name, decl, table)
    }
}

fn digits() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

pub fn generate(cx: &mut Cx, name: &Ident, e: &Expr) -> Option<ir::Machine> {
    let (func, args) = match &e.kind {
        ExprKind::Call { func, args } => (func.clone(), args.as_slice()),
        ExprKind::Ident(n) => (Ident { name: n.clone(), span: e.span }, &[][..]),
        _ => {
            cx.wrong_type(e, "a machine generator like `decimal_addition()`");
            return None;
        }
    };
    let default = StepLimit { coeffs: ir::defaults::MACHINE_STEPS.to_vec() };
    match func.name.as_str() {
        "decimal_addition" if args.is_empty() => Some(addition().build(cx, name, "halt", Output::Nonblank, default)),
        "multiply_digit" if args.is_empty() => Some(multiply().build(cx, name, "halt", Output::Nonblank, default)),
        "random_machine" => random(cx, name, e, args),
        "decimal_addition" | "multiply_digit" => {
            cx.push(
                Diag::error("algen::check::arity", format!("`{}` takes no arguments", func.name))
                    .at(e.span, "unexpected arguments")
                    .help(format!("write `{}()`", func.name)),
            );
            None
        }
        f => {
            cx.push(
                Diag::error("algen::check::unknown_function", format!("unknown machine generator `{f}`"))
                    .at(func.span, "unknown generator")
                    .help(suggest(f, GENERATORS)),
            );
            None
        }
    }
}

fn addition() -> Builder {
    let mut syms = vec!["_".to_string()];
    syms.extend(digits());
    syms.push("+".into());
    syms.extend((0..10).map(|d| format!("{d}'")));
    let mut b = Builder::new(syms);
    let r = |d: u32| format!("{}'", d % 10);
    b.state("right");
    for d in 0..10u32 {
        let x = d.to_string();
        b.rule("right", &x, &x, Move::R, "right");
        for c in 0..2 {
            b.rule(&format!("take{c}"), &x, "_", Move::L, &format!("go{}", c + d));
            let t = c + d;
            b.rule(&format!("gob{c}"), &x, &r(t), Move::R, &format!("back{}", t / 10));
            b.rule(&format!("gob{c}"), &r(d), &r(d), Move::L, &format!("gob{c}"));
            b.rule(&format!("back{c}"), &x, &x, Move::R, &format!("back{c}"));
            b.rule(&format!("back{c}"), &r(d), &r(d), Move::R, &format!("back{c}"));
        }
        for s in 0..11u32 {
            b.rule(&format!("go{s}"), &x, &x, Move::L, &format!("go{s}"));
            b.rule(&format!("goa{s}"), &r(d), &r(d), Move::L, &format!("goa{s}"));
            b.rule(&format!("goa{s}"), &x, &r(s + d), Move::R, &format!("back{}", (s + d) / 10));
        }
        b.rule("clean", &r(d), &x, Move::R, "clean");
    }
    b.rule("right", "+", "+", Move::R, "right");
    b.rule("right", "_", "_", Move::L, "take0");
    for c in 0..2u32 {
        b.rule(&format!("take{c}"), "+", "+", Move::L, &format!("gob{c}"));
        b.rule(&format!("back{c}"), "+", "+", Move::R, &format!("back{c}"));
        b.rule(&format!("back{c}"), "_", "_", Move::L, &format!("take{c}"));
    }
    b.rule("gob0", "_", "_", Move::R, "clean");
    b.rule("gob1", "_", "1", Move::R, "clean");
    for s in 0..11u32 {
        b.rule(&format!("go{s}"), "+", "+", Move::L, &format!("goa{s}"));
        b.rule(&format!("goa{s}"), "_", &r(s), Move::R, &format!("back{}", s / 10));
    }
    b.rule("clean", "+", "_", Move::S, "halt");
    b
}

fn multiply() -> Builder {
    let mut syms = vec!["_".to_string()];
    syms.extend(digits());
    syms.push("*".into());
    let mut b = Builder::new(syms);
    b.state("right");
    b.rule("right", "*", "*", Move::R, "right");
    b.rule("right", "_", "_", Move::L, "read");
    for d in 0..10u32 {
        let x = d.to_string();
        b.rule("right", &x, &x, Move::R, "right");
        b.rule("read", &x, "_", Move::L, &format!("erase{d}"));
        b.rule(&format!("erase{d}"), "*", "_", Move::L, &format!("m{d}c0"));
        // Only the carries that occur: from 0, every carry (y·d + c) div 10 reachable.
        let mut todo = vec![0u32];
        let mut seen = vec![];
        while let Some(c) = todo.pop() {
            if seen.contains(&c) {
                continue;
            }
            seen.push(c);
            let q = format!("m{d}c{c}");
            for y in 0..10u32 {
                let v = y * d + c;
                b.rule(&q, &y.to_string(), &(v % 10).to_string(), Move::L, &format!("m{d}c{}", v / 10));
                todo.push(v / 10);
            }
            let w = if c > 0 { c.to_string() } else { "_".to_string() };
            b.rule(&q, "_", &w, Move::S, "halt");
        }
    }
    b
}

fn random(cx: &mut Cx, name: &Ident, e: &Expr, args: &[crate::syntax::ast::Arg]) -> Option<ir::Machine> {
    let mut vals: BTreeMap<&str, i64> = BTreeMap::new();
    let order = ["states", "symbols", "seed"];
    let limits = [(1, 64), (1, 10), (0, i64::MAX)];
    for (i, a) in args.iter().enumerate() {
        let key = a.name.as_ref().map_or(order.get(i).copied().unwrap_or("?"), |n| n.name.as_str());
        let Some(k) = order.iter().position(|o| *o == key) else {
            cx.push(
                Diag::error("algen::check::unknown_field", format!("`random_machine` has no parameter `{key}`"))
                    .at(a.value.span, "unknown parameter")
                    .help("write `random_machine(states = 3, symbols = 2, seed = 0)`"),
            );
            return None;
        };
        vals.insert(order[k], cx.int_in(&a.value, limits[k].0, limits[k].1)?);
    }
    if vals.len() != 3 {
        cx.push(
            Diag::error("algen::check::arity", "`random_machine` needs `states`, `symbols` and `seed`")
                .at(e.span, "missing parameters")
                .help("write `random_machine(states = 3, symbols = 2, seed = 0)`"),
        );
        return None;
    }
    let (k, m) = (vals["states"] as u32, vals["symbols"] as u32);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(vals["seed"] as u64);
    let mut syms = vec!["_".to_string()];
    syms.extend((0..m).map(|d| d.to_string()));
    let mut b = Builder::new(syms);
    for q in 0..k {
        b.state(&format!("q{q}"));
    }
    for q in 0..k {
        let qn = format!("q{q}");
        for s in 0..m {
            let w = rng.gen_range(0..m).to_string();
            let mv = if rng.gen_range(0..4u32) < 3 { Move::R } else { Move::L };
            let next = format!("q{}", rng.gen_range(0..k));
            b.rule(&qn, &s.to_string(), &w, mv, &next);
        }
        b.rule(&qn, "_", "_", Move::S, "halt");
    }
    Some(b.build(cx, name, "halt", Output::Nonblank, StepLimit { coeffs: vec![32, 32, 8] }))
}
