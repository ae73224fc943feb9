//! Labelling: the target expression's value on an input, as output ids.

use super::eval::eval;
use super::value::Value;
use crate::diag::Diag;
use crate::ir::{Expr, Format, Slot, Task, TaskKind, Universe};
use crate::source::Span;
use std::collections::HashMap;

/// Why an input could not be labelled. Every variant names the task and
/// carries the span to point at ([`LabelError::span`]): the target
/// expression (or the failing part of it), or the task.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LabelError {
    #[error("task `{task}`: the target fails on input `{input}`: {message}")]
    Eval { task: String, input: String, message: String, span: Span },

    #[error("task `{task}`: the target produced `{token}`, which is not an output token ({outputs})")]
    UnknownOutput { task: String, token: String, outputs: String, span: Span },

    #[error("task `{task}`: {format} needs {expected}, but the target gave {found}")]
    Shape { task: String, format: &'static str, expected: &'static str, found: String, span: Span },

    #[error("task `{task}`: tag needs one output per input token, but the target has length {target_len} for an input of length {input_len}")]
    TagLength { task: String, input_len: usize, target_len: usize, span: Span },

    #[error("task `{task}`: `{token}` is not in the alphabet ({alphabet})")]
    UnknownInput { task: String, token: String, alphabet: String, span: Span },

    #[error("task `{task}`: input id {id} is out of range for an alphabet of {alphabet_len} tokens")]
    InputId { task: String, id: u32, alphabet_len: usize, span: Span },

    #[error("task `{task}` {message}")]
    Grammar { task: String, message: String, span: Span },

    #[error("task `{task}`: `{input}` is not an input of the builtin task: {message}")]
    Invalid { task: String, input: String, message: String, span: Span },

    #[error("task `{task}`: `{input}` is not in the task's universe: {message}")]
    NotInUniverse { task: String, input: String, message: String, span: Span },

    #[error("task `{task}`: the pointer target gave `{value}` for input `{input}`, which is not a position of it (0..{input_len})")]
    NotPosition { task: String, input: String, value: String, input_len: usize, span: Span },

    #[error("task `{task}`: the alphabet is empty, so no input of length {len} exists")]
    EmptyAlphabet { task: String, len: usize, span: Span },
}

impl LabelError {
    /// Its diagnostic code (listed in [`crate::diag::CODES`]).
    pub fn code(&self) -> &'static str {
        match self {
            LabelError::Eval { .. } => "algen::task::eval",
            LabelError::UnknownOutput { .. } => "algen::task::unknown_output",
            LabelError::Shape { .. } => "algen::task::target_shape",
            LabelError::TagLength { .. } => "algen::task::tag_length",
            LabelError::UnknownInput { .. } => "algen::task::unknown_input",
            LabelError::InputId { .. } => "algen::task::input_id",
            LabelError::Grammar { .. } => "algen::task::grammar",
            LabelError::Invalid { .. } => "algen::task::invalid_input",
            LabelError::EmptyAlphabet { .. } => "algen::task::empty_alphabet",
            LabelError::NotInUniverse { .. } => "algen::task::not_in_universe",
            LabelError::NotPosition { .. } => "algen::task::not_position",
        }
    }

    /// The coded diagnostic at [`LabelError::span`], rendered like the checker's.
    pub fn to_diag(&self) -> Diag {
        let (label, help) = match self {
            LabelError::Eval { .. } => ("fails here", "the target must be defined on every input the task draws"),
            LabelError::UnknownOutput { .. } => ("emits it", "add it to `outputs`, or fix the target"),
            LabelError::Shape { .. } | LabelError::TagLength { .. } => {
                ("this target", "make the target's value fit the task's format")
            }
            LabelError::UnknownInput { .. } | LabelError::InputId { .. } => {
                ("this task", "give inputs made of the task's alphabet")
            }
            LabelError::Grammar { .. } | LabelError::Invalid { .. } => ("this task", "give an input the task can draw"),
            LabelError::EmptyAlphabet { .. } => ("this task", "give the task a non-empty alphabet or universe"),
            LabelError::NotPosition { .. } => {
                ("gives it", "a pointer target lists 0-based positions of the input, e.g. `argsort(input)`")
            }
            LabelError::NotInUniverse { .. } => (
                "this task",
                "an input is the format's layout of a tuple that the variables' ranges and the `where` filter keep",
            ),
        };
        Diag::error(self.code(), self.to_string()).at(self.span(), label).help(help)
    }

    /// Where in the spec the problem is.
    pub fn span(&self) -> Span {
        match self {
            LabelError::Eval { span, .. }
            | LabelError::UnknownOutput { span, .. }
            | LabelError::Shape { span, .. }
            | LabelError::TagLength { span, .. }
            | LabelError::UnknownInput { span, .. }
            | LabelError::InputId { span, .. }
            | LabelError::EmptyAlphabet { span, .. }
            | LabelError::Grammar { span, .. }
            | LabelError::Invalid { span, .. }
            | LabelError::NotInUniverse { span, .. }
            | LabelError::NotPosition { span, .. } => *span,
        }
    }
}

impl From<LabelError> for Diag {
    fn from(e: LabelError) -> Diag {
        e.to_diag()
    }
}

/// A task prepared for labelling many inputs (alphabet values and the output
/// lookup built once).
#[derive(Clone, Debug)]
pub struct Labeler<'t> {
    task: &'t Task,
    alphabet: Vec<Value>,
    outputs: HashMap<&'t str, u32>,
    /// For `target = rasp NAME.sop`: the compiled program's evaluator (or why it failed).
    rasp: Option<std::cell::RefCell<Result<crate::rasp::Evaluator, String>>>,
}

/// Quoted tokens, comma-separated, cut after 30.
fn listing(tokens: &[String]) -> String {
    let mut s: Vec<String> = tokens.iter().take(30).map(|t| format!("`{t}`")).collect();
    if tokens.len() > 30 {
        s.push(format!("… {} more", tokens.len() - 30));
    }
    s.join(", ")
}

impl<'t> Labeler<'t> {
    pub fn new(task: &'t Task) -> Self {
        let alphabet = task.alphabet.iter().map(|t| Value::tok(t)).collect();
        let mut outputs = HashMap::with_capacity(task.outputs.len());
        for (i, o) in task.outputs.iter().enumerate() {
            outputs.entry(o.as_str()).or_insert(i as u32);
        }
        let rasp = match &task.kind {
            TaskKind::Rasp { target: Expr { kind: crate::ir::ExprKind::Rasp(r), .. } } => {
                Some(std::cell::RefCell::new(crate::rasp::target_evaluator(r)))
            }
            _ => None,
        };
        Labeler { task, alphabet, outputs, rasp }
    }

    pub fn task(&self) -> &'t Task {
        self.task
    }

    /// The target on `input` (ids into `task.alphabet`), as ids into `task.outputs`.
    pub fn label(&self, input: &[u32]) -> Result<Vec<u32>, LabelError> {
        let task = self.task;
        let mut values = Vec::with_capacity(input.len());
        for &id in input {
            match self.alphabet.get(id as usize) {
                Some(v) => values.push(v.clone()),
                None => {
                    return Err(LabelError::InputId {
                        task: task.name.clone(),
                        id,
                        alphabet_len: task.alphabet.len(),
                        span: task.span,
                    })
                }
            }
        }
        let target = match &task.kind {
            TaskKind::Machine { machine, .. } => return super::machine::label(task, machine, input),
            TaskKind::Chomsky(kind) => {
                return super::chomsky::label(*kind, input).map_err(|message| LabelError::Invalid {
                    task: task.name.clone(),
                    input: render_input(&values),
                    message,
                    span: task.span,
                })
            }
            TaskKind::Grammar(_) => return super::grammar::parse(task, input),
            TaskKind::Arith => return super::arith::label(task, input),
            TaskKind::Rasp { target } => match (&self.rasp, &target.kind) {
                (Some(cell), crate::ir::ExprKind::Rasp(r)) => return self.label_rasp(cell, r, input, target.span),
                _ => target, // not built by the checker: evaluated as an expression (which fails clearly)
            },
            TaskKind::Universe { universe: u, target } => {
                values = self.universe_values(u, values)?;
                target
            }
            TaskKind::Expr { target } => target,
        };
        let result = eval(target, &values).map_err(|e| LabelError::Eval {
            task: task.name.clone(),
            input: render_input(&values),
            message: e.message,
            span: e.span,
        })?;
        let elems = self.shape(result, input.len())?;
        if task.format == Format::Pointer {
            return elems.iter().map(|v| self.position(v, &values)).collect();
        }
        elems.iter().map(|v| self.output_id(v)).collect()
    }

    /// A RASP target: alphabet tokens through the program, values to output ids.
    fn label_rasp(
        &self,
        cell: &std::cell::RefCell<Result<crate::rasp::Evaluator, String>>,
        r: &crate::ir::RaspTarget,
        input: &[u32],
        span: Span,
    ) -> Result<Vec<u32>, LabelError> {
        let task = self.task;
        let tokens: Vec<&str> = input.iter().map(|&i| task.alphabet[i as usize].as_str()).collect();
        let fail =
            |message: String| LabelError::Eval { task: task.name.clone(), input: tokens.join(" "), message, span };
        let mut ev = cell.borrow_mut();
        let ev = ev.as_mut().map_err(|m| fail(m.clone()))?;
        let out = crate::rasp::label(ev, r, &tokens).map_err(fail)?;
        out.iter()
            .map(|t| {
                self.outputs.get(t.as_str()).copied().ok_or_else(|| LabelError::UnknownOutput {
                    task: task.name.clone(),
                    token: t.clone(),
                    outputs: listing(&task.outputs),
                    span,
                })
            })
            .collect()
    }

    /// A universe input (laid out as the format) -> the variables' values, in
    /// order; an error unless the input is the layout of a tuple in the
    /// variables' ranges that the `where` filter keeps.
    fn universe_values(&self, u: &Universe, values: Vec<Value>) -> Result<Vec<Value>, LabelError> {
        let task = self.task;
        if values.len() != u.layout.len() {
            return Err(LabelError::Shape {
                task: task.name.clone(),
                format: "universe",
                expected: "an input laid out as the format",
                found: format!("{} tokens for a format of {}", values.len(), u.layout.len()),
                span: task.span,
            });
        }
        let outside = |message: String| LabelError::NotInUniverse {
            task: task.name.clone(),
            input: render_input(&values),
            message,
            span: task.span,
        };
        let (mut ints, mut vars) = (vec![0i64; u.vars.len()], vec![Value::Int(0); u.vars.len()]);
        for (k, (slot, v)) in u.layout.iter().zip(&values).enumerate() {
            match slot {
                Slot::Tok(t) if v.to_string() != *t => {
                    return Err(outside(format!("token {} is `{v}`, but the format has `{t}` there", k + 1)))
                }
                Slot::Tok(_) => {}
                Slot::Var(i) => {
                    let var = &u.vars[*i];
                    match v.as_int() {
                        // the universe writes a value as its decimal text (no `03`)
                        Some(n) if (var.lo..=var.hi).contains(&n) && v.to_string() == n.to_string() => {
                            (ints[*i], vars[*i]) = (n, v.clone())
                        }
                        _ => {
                            let range = format!("{}..={}", var.lo, var.hi);
                            return Err(outside(format!(
                                "token {} is `{v}`, not a value of `{}` ({range})",
                                k + 1,
                                var.name
                            )));
                        }
                    }
                }
            }
        }
        if !super::universe::keep(task, u, &ints)? {
            return Err(outside("the `where` filter leaves it out".into()));
        }
        Ok(vars)
    }

    /// Checks the result's shape for the format; returns its elements.
    fn shape(&self, result: Value, input_len: usize) -> Result<Vec<Value>, LabelError> {
        let task = self.task;
        let shape_err = |expected, found: String| LabelError::Shape {
            task: task.name.clone(),
            format: task.format.name(),
            expected,
            found,
            span: target_span(task),
        };
        match (task.format, result) {
            (Format::Classify | Format::Universe, Value::Seq(s)) if s.len() == 1 => Ok(s),
            (Format::Classify | Format::Universe, Value::Seq(s)) => {
                Err(shape_err("one token", format!("a sequence of length {}", s.len())))
            }
            (Format::Classify | Format::Universe, v) => Ok(vec![v]),
            (Format::Tag, Value::Seq(s)) if s.len() != input_len => Err(LabelError::TagLength {
                task: task.name.clone(),
                input_len,
                target_len: s.len(),
                span: target_span(task),
            }),
            (_, Value::Seq(s)) => Ok(s),
            (_, v) => Err(shape_err("a sequence", format!("{} `{v}`", v.kind()))),
        }
    }

    /// A pointer target's element: a position of the input (`0..|input|`).
    fn position(&self, v: &Value, input: &[Value]) -> Result<u32, LabelError> {
        match v.as_int() {
            Some(p) if (0..input.len() as i64).contains(&p) => Ok(p as u32),
            _ => Err(LabelError::NotPosition {
                task: self.task.name.clone(),
                input: render_input(input),
                value: v.to_string(),
                input_len: input.len(),
                span: target_span(self.task),
            }),
        }
    }

    fn output_id(&self, v: &Value) -> Result<u32, LabelError> {
        let task = self.task;
        let found = match v {
            Value::Tok(t) => self.outputs.get(&**t).copied(),
            Value::Int(n) => self.outputs.get(n.to_string().as_str()).copied(),
            Value::Bool(b) => self.outputs.get(if *b { "true" } else { "false" }).copied(),
            Value::Seq(_) => {
                return Err(LabelError::Shape {
                    task: task.name.clone(),
                    format: task.format.name(),
                    expected: "a token at each position",
                    found: format!("the sequence `{v}`"),
                    span: target_span(task),
                })
            }
        };
        found.ok_or_else(|| LabelError::UnknownOutput {
            task: task.name.clone(),
            token: v.to_string(),
            outputs: listing(&task.outputs),
            span: target_span(task),
        })
    }

    /// Input tokens to ids into `task.alphabet`.
    pub fn input_ids<S: AsRef<str>>(&self, tokens: &[S]) -> Result<Vec<u32>, LabelError> {
        let task = self.task;
        tokens
            .iter()
            .map(|t| {
                let t = t.as_ref();
                task.alphabet.iter().position(|a| a == t).map(|i| i as u32).ok_or_else(|| LabelError::UnknownInput {
                    task: task.name.clone(),
                    token: t.to_string(),
                    alphabet: listing(&task.alphabet),
                    span: task.span,
                })
            })
            .collect()
    }
}

/// The target expression's span, or the task's for the arithmetic formats.
fn target_span(task: &Task) -> Span {
    task.target().map_or(task.span, |t| t.span)
}

fn render_input(values: &[Value]) -> String {
    let text: Vec<String> = values.iter().take(40).map(|v| v.to_string()).collect();
    let more = if values.len() > 40 { " …" } else { "" };
    format!("{}{more}", text.join(" "))
}

/// The target on `input` (ids into `task.alphabet`), as ids into
/// `task.outputs`. For many inputs, build a [`Labeler`] once.
pub fn label(task: &Task, input: &[u32]) -> Result<Vec<u32>, LabelError> {
    Labeler::new(task).label(input)
}

/// [`label`] on tokens: validates `input` against the alphabet and returns
/// the output tokens (a `pointer` task's positions as decimal text).
pub fn label_tokens<S: AsRef<str>>(task: &Task, input: &[S]) -> Result<Vec<String>, LabelError> {
    let labeler = Labeler::new(task);
    let ids = labeler.input_ids(input)?;
    let out = labeler.label(&ids)?;
    Ok(out.iter().map(|&i| task.output_text(i)).collect())
}
