//! The checker's context: collected diagnostics, `let` constants, and
//! readers that turn field values into typed constants with diagnostics.

use crate::diag::{suggest, Diag};
use crate::source::Span;
use crate::syntax::ast::{Body, Entry, Expr, ExprKind, FieldValue, Ident, Num};
use std::collections::BTreeMap;

pub struct Cx {
    pub diags: Vec<Diag>,
    /// Fields that were reported as unknown with a suggestion: `missing`
    /// stays silent for the suggested field (one typo, one error).
    pub typos: Vec<String>,
    /// `let` constants, by name.
    pub lets: BTreeMap<String, Expr>,
    /// Compiled `rasp` items, by name.
    pub rasps: BTreeMap<String, super::rasp::RaspDef>,
    /// The variables of the finite universe whose target is being lowered (`a`, `b`).
    pub vars: Vec<String>,
    /// Checked `machine` items, by name.
    pub machines: BTreeMap<String, crate::ir::Machine>,
    /// `machine` items that failed their checks (references to them get no second error).
    pub broken_machines: Vec<String>,
    /// Constants whose folding overflowed or is not a finite number ([`Cx::num`] reads
    /// through `&self`): each span's diagnostic, drained into `diags` by [`Cx::finish`].
    pub folds: std::cell::RefCell<Vec<Diag>>,
}

/// The fields of one body, after unknown and duplicate fields were reported.
pub struct Fields<'a> {
    pub map: BTreeMap<&'a str, (&'a Ident, &'a FieldValue)>,
    pub blocks: BTreeMap<&'a str, (&'a Ident, &'a Body)>,
}

impl<'a> Fields<'a> {
    pub fn expr(&self, name: &str) -> Option<&'a Expr> {
        match self.map.get(name)? {
            (_, FieldValue::Expr(e)) => Some(e),
            _ => None,
        }
    }
}

impl Cx {
    pub fn new() -> Self {
        Cx {
            diags: vec![],
            typos: vec![],
            lets: BTreeMap::new(),
            rasps: BTreeMap::new(),
            vars: vec![],
            machines: BTreeMap::new(),
            broken_machines: vec![],
            folds: std::cell::RefCell::new(vec![]),
        }
    }

    /// Every diagnostic, the folding ones included.
    pub fn finish(self) -> Vec<Diag> {
        let mut diags = self.diags;
        diags.extend(self.folds.into_inner());
        diags
    }

    /// Whether a folding diagnostic lies inside `span` (its expression was already reported).
    fn fold_failed(&self, span: Span) -> bool {
        let inside = |s: &Span| s.file == span.file && s.start >= span.start && s.end <= span.end;
        self.folds.borrow().iter().any(|d| d.span.as_ref().is_some_and(|(s, _)| inside(s)))
    }

    pub fn push(&mut self, d: Diag) {
        self.diags.push(d);
    }

    /// Reads a body's entries: reports fields not in `allowed`, blocks not in
    /// `blocks`, duplicates, and `expect` lines where `expects` is false.
    pub fn fields<'a>(
        &mut self,
        what: &str,
        body: &'a Body,
        allowed: &[&str],
        blocks: &[&str],
        expects: bool,
    ) -> Fields<'a> {
        let mut f = Fields { map: BTreeMap::new(), blocks: BTreeMap::new() };
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        for e in &body.entries {
            let (name, is_block) = match e {
                Entry::Field { name, .. } => (name, false),
                Entry::Block { name, .. } => (name, true),
                Entry::Expect(x) => {
                    if !expects {
                        self.push(
                            Diag::error("algen::check::unknown_field", format!("`expect` is not allowed in {what}"))
                                .at(x.span, "not allowed here")
                                .help("`expect` lines belong in experiments"),
                        );
                    }
                    continue;
                }
            };
            let ok_list = if is_block { blocks } else { allowed };
            if !ok_list.contains(&name.name.as_str()) {
                let kind = if is_block { "block" } else { "field" };
                let mut all: Vec<&str> = allowed.to_vec();
                all.extend_from_slice(blocks);
                let help = if !is_block && blocks.contains(&name.name.as_str()) {
                    format!("`{}` is a block: write `{} {{ ... }}` without `=`", name.name, name.name)
                } else if is_block && allowed.contains(&name.name.as_str()) {
                    self.typos.push(name.name.clone());
                    format!("`{}` is a field: write `{} = ...`", name.name, name.name)
                } else {
                    if let Some(s) = crate::diag::did_you_mean(&name.name, all.iter().copied()) {
                        self.typos.push(s.to_string());
                    }
                    suggest(&name.name, &all)
                };
                self.push(
                    Diag::error("algen::check::unknown_field", format!("{what} has no {kind} `{}`", name.name))
                        .at(name.span, "unknown")
                        .help(help),
                );
                continue;
            }
            if let Some(first) = seen.get(name.name.as_str()) {
                self.push(
                    Diag::error("algen::check::duplicate_field", format!("`{}` is given twice", name.name))
                        .at(name.span, "given again here")
                        .label(*first, "first given here")
                        .help("remove one of them"),
                );
                continue;
            }
            seen.insert(&name.name, name.span);
            match e {
                Entry::Field { value, .. } => {
                    f.map.insert(&name.name, (name, value));
                }
                Entry::Block { body, .. } => {
                    f.blocks.insert(&name.name, (name, body));
                }
                Entry::Expect(_) => {}
            }
        }
        f
    }

    pub fn missing(&mut self, what: &str, field: &str, at: Span, example: &str) {
        if self.typos.iter().any(|t| t == field) {
            return;
        }
        self.push(
            Diag::error("algen::check::missing_field", format!("{what} needs `{field}`"))
                .at(at, format!("no `{field}` here"))
                .help(format!("add `{example}`")),
        );
    }

    pub fn wrong_type(&mut self, e: &Expr, expected: &str) {
        if self.fold_failed(e.span) {
            return;
        }
        self.push(
            Diag::error("algen::check::wrong_type", format!("expected {expected}, found {}", e.kind.describe()))
                .at(e.span, format!("expected {expected}"))
                .help(format!("write {expected} here")),
        );
    }

    /// Replaces `let` names by their values (keeping the use site's span).
    pub fn resolve<'e>(&self, e: &'e Expr) -> std::borrow::Cow<'e, Expr> {
        self.resolve_depth(e, 0)
    }

    fn resolve_depth<'e>(&self, e: &'e Expr, depth: usize) -> std::borrow::Cow<'e, Expr> {
        if let ExprKind::Ident(n) = &e.kind {
            if let Some(v) = self.lets.get(n) {
                if depth < 64 {
                    let mut v = self.resolve_depth(v, depth + 1).into_owned();
                    v.span = e.span;
                    return std::borrow::Cow::Owned(v);
                }
            }
        }
        std::borrow::Cow::Borrowed(e)
    }

    /// Folds a constant numeric expression (`n + 1`, `2 * k`, `-3`, lets) with checked
    /// arithmetic: an integer overflow, a division by zero or a number that is not finite
    /// (`1e309`) gives `None` and an `algen::check::overflow` diagnostic at its span.
    pub fn num(&self, e: &Expr) -> Option<Num> {
        let r = self.resolve(e);
        let n = match &r.kind {
            ExprKind::Num(n) => *n,
            ExprKind::Unary { op, operand } if op == "-" => {
                let n = self.num(operand)?;
                let int = match n.int {
                    Some(i) => Some(i.checked_neg().or_else(|| self.overflow(e, format!("-({i})")))?),
                    None => None,
                };
                Num { value: -n.value, int }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.num(lhs)?, self.num(rhs)?);
                if matches!(op.as_str(), "/" | "%") && b.value == 0.0 {
                    return self.overflow_msg(
                        e,
                        "division by zero in a constant".into(),
                        "divide by a non-zero number",
                    );
                }
                let int = match (a.int, b.int) {
                    (Some(x), Some(y)) => {
                        let r = match op.as_str() {
                            "+" => x.checked_add(y),
                            "-" => x.checked_sub(y),
                            "*" => x.checked_mul(y),
                            "/" => x.checked_div_euclid(y),
                            "%" if y == -1 => Some(0), // as at run time (task/eval.rs)
                            "%" => x.checked_rem_euclid(y),
                            _ => return None,
                        };
                        Some(r.or_else(|| self.overflow(e, format!("{x} {op} {y}")))?)
                    }
                    _ => None,
                };
                let value = match op.as_str() {
                    "+" => a.value + b.value,
                    "-" => a.value - b.value,
                    "*" => a.value * b.value,
                    "/" => int.map(|i| i as f64).unwrap_or(a.value / b.value),
                    "%" => a.value % b.value,
                    _ => return None,
                };
                Num { value, int }
            }
            _ => return None,
        };
        if !n.value.is_finite() {
            return self.overflow_msg(
                e,
                "this number is too large: it is not a finite 64-bit float".into(),
                "numbers must be finite (at most about 1.8e308 in magnitude)",
            );
        }
        Some(n)
    }

    fn overflow<T>(&self, e: &Expr, what: String) -> Option<T> {
        self.overflow_msg(
            e,
            format!("integer overflow in the constant `{what}`"),
            "integers are 64-bit: keep constants within -9223372036854775808..=9223372036854775807",
        )
    }

    fn overflow_msg<T>(&self, e: &Expr, msg: String, help: &str) -> Option<T> {
        if !self.fold_failed(e.span) {
            let d = Diag::error("algen::check::overflow", msg).at(e.span, "cannot be computed").help(help.to_string());
            self.folds.borrow_mut().push(d);
        }
        None
    }

    /// An integer in `lo..=hi`.
    pub fn int_in(&mut self, e: &Expr, lo: i64, hi: i64) -> Option<i64> {
        match self.num(e) {
            Some(Num { int: Some(i), .. }) if i >= lo && i <= hi => Some(i),
            Some(Num { int: Some(i), .. }) => {
                let range = if hi == i64::MAX { format!("at least {lo}") } else { format!("between {lo} and {hi}") };
                self.push(
                    Diag::error("algen::check::out_of_range", format!("{i} is out of range: must be {range}"))
                        .at(e.span, format!("must be {range}"))
                        .help(format!("use an integer {range}")),
                );
                None
            }
            _ => {
                self.wrong_type(e, "an integer");
                None
            }
        }
    }

    /// A number in `lo..=hi` (or `lo..hi` when `hi_open`).
    pub fn f64_in(&mut self, e: &Expr, lo: f64, hi: f64, hi_open: bool) -> Option<f64> {
        match self.num(e) {
            Some(n) if n.value >= lo && (n.value < hi || (!hi_open && n.value == hi)) => Some(n.value),
            Some(n) => {
                let close = if hi_open { ")" } else { "]" };
                let range = if hi.is_infinite() { format!("at least {lo}") } else { format!("in [{lo}, {hi}{close}") };
                self.push(
                    Diag::error("algen::check::out_of_range", format!("{} is out of range: must be {range}", n.value))
                        .at(e.span, format!("must be {range}"))
                        .help(format!("use a number {range}")),
                );
                None
            }
            None => {
                self.wrong_type(e, "a number");
                None
            }
        }
    }

    pub fn boolean(&mut self, e: &Expr) -> Option<bool> {
        match &self.resolve(e).kind {
            ExprKind::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(e, "`true` or `false`");
                None
            }
        }
    }

    pub fn string(&mut self, e: &Expr) -> Option<String> {
        match &self.resolve(e).kind {
            ExprKind::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(e, "a string");
                None
            }
        }
    }

    /// A bare word among `choices` (e.g. `format = transduce`).
    pub fn word(&mut self, e: &Expr, what: &str, choices: &[&str], code: &'static str) -> Option<String> {
        let e2 = self.resolve(e);
        let name = match &e2.kind {
            ExprKind::Ident(n) => n.clone(),
            ExprKind::Call { func, .. } => func.name.clone(),
            _ => {
                self.wrong_type(e, &format!("{} {what} ({})", article(what), choices.join(", ")));
                return None;
            }
        };
        if choices.contains(&name.as_str()) {
            return Some(name);
        }
        self.push(
            Diag::error(code, format!("unknown {what} `{name}`"))
                .at(e.span, format!("not {} {what}", article(what)))
                .help(suggest(&name, choices)),
        );
        None
    }

    /// A word among `choices` (name, value), read to its value once: an unknown word is reported
    /// like [`Cx::word`] does, so no caller needs a fallback arm on names.
    pub fn choice<T: Copy>(&mut self, e: &Expr, what: &str, choices: &[(&str, T)], code: &'static str) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
        let w = self.word(e, what, &names, code)?;
        choices.iter().find(|c| c.0 == w).map(|c| c.1)
    }

    /// [`Self::choice`] for an optional field: `default` when the field is absent.
    pub fn choice_or<T: Copy>(
        &mut self,
        e: Option<&Expr>,
        what: &str,
        choices: &[(&str, T)],
        code: &'static str,
        default: T,
    ) -> Option<T> {
        match e {
            Some(e) => self.choice(e, what, choices, code),
            None => Some(default),
        }
    }

    /// Reports a sweep where none is allowed; true when `e` is a sweep.
    pub fn no_sweep(&mut self, e: &Expr, field: &str) -> bool {
        if let ExprKind::Sweep(_) = e.kind {
            self.push(
                Diag::error("algen::check::unsweepable", format!("`{field}` cannot be swept"))
                    .at(e.span, "sweep not allowed here")
                    .help("sweeps are allowed on model fields and training settings inside an experiment"),
            );
            return true;
        }
        false
    }
}

/// "a" or "an" for a noun.
pub fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
