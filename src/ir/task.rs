//! Tasks: an input space, a target and a format.

use super::expr::Expr;
use crate::source::Span;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    /// Input tokens; input id `i` is `alphabet[i]`.
    pub alphabet: Vec<String>,
    /// Where inputs come from and what labels them: one payload per kind of task.
    pub kind: TaskKind,
    pub format: Format,
    /// Output vocabulary; output id `i` is `outputs[i]`. Declared with
    /// `outputs = ...` or inferred by the checker from the target.
    pub outputs: Vec<String>,
    /// Evaluation scores positions up to and including the first occurrence
    /// of this output token (`score_until = "2"`); `None` scores all.
    pub score_until: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

/// The kinds of task, decided once by the checker; everything downstream matches on this
/// exhaustively instead of re-deriving the kind from optional fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// `input = string(alphabet)`, `target = EXPR`: i.i.d. uniform tokens (the length comes from
    /// the split) labelled by the expression (formats `transduce`, `tag`, `classify`, `lm`).
    Expr { target: Expr },
    /// `target = rasp NAME.sop` (the expression's kind is [`super::expr::ExprKind::Rasp`]): the
    /// program's output s-op labels uniform strings, format `tag`.
    Rasp { target: Expr },
    /// A finite universe (`input = (a: 0..p, b: 0..p) where b != 0`), laid out by
    /// [`Format::Universe`] and labelled by the expression over its variables.
    Universe { universe: Universe, target: Expr },
    /// The arithmetic formats ([`Format::Addition`], [`Format::Multiplication`]): two decimal
    /// operands drawn and answered by the format ([`crate::task::arith`]).
    Arith,
    /// A builtin task of the Chomsky-hierarchy benchmark (`input = chomsky(NAME)`): it draws its
    /// inputs and labels them itself ([`crate::task::chomsky`]); the length comes from the split.
    Chomsky(super::chomsky::Chomsky),
    /// The sentences of a grammar, labelled by their interpretation.
    Grammar(super::grammar::Grammar),
    /// `target = run(M)`: the machine whose run labels the input, and the scratchpad (`lm` only)
    /// written between the separator and the answer.
    Machine { input: MachineInput, machine: Box<super::machine::MachineTask> },
}

/// The inputs of a machine task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineInput {
    /// `string(alphabet)`: i.i.d. uniform tokens; the length comes from the split.
    String,
    /// `numbers("+")`, `numbers("*", second = 1)`: `a op b` with the operands drawn as the
    /// arithmetic formats draw them ([`crate::task::arith`]): `a` and `b` with the split's
    /// length in digits, or `b` with exactly `second` digits. The alphabet is `0`–`9`, `op`.
    Numbers { op: String, second: Option<usize> },
}

impl Task {
    /// The BOS token of a RASP target (`bos = "§"`): it starts the program's input and, for
    /// the encoder formats, the model's input too (Weiss et al. 2021's programs count by
    /// attending to it), with nothing read at its position.
    pub fn bos(&self) -> Option<&str> {
        match &self.target()?.kind {
            super::expr::ExprKind::Rasp(r) => r.bos.as_deref(),
            _ => None,
        }
    }

    /// The text of target id `id`: output token `outputs[id]` (`"?"` out of range), or for
    /// [`Format::Pointer`], whose target ids are input positions, the position in decimal.
    pub fn output_text(&self, id: u32) -> String {
        match self.format {
            Format::Pointer => id.to_string(),
            _ => self.outputs.get(id as usize).map_or_else(|| "?".to_string(), String::clone),
        }
    }

    /// The target expression of the kinds that have one (expression, RASP, universe).
    pub fn target(&self) -> Option<&Expr> {
        match &self.kind {
            TaskKind::Expr { target } | TaskKind::Rasp { target } | TaskKind::Universe { target, .. } => Some(target),
            TaskKind::Arith | TaskKind::Chomsky(_) | TaskKind::Grammar(_) | TaskKind::Machine { .. } => None,
        }
    }

    /// The universe of a universe task.
    pub fn universe(&self) -> Option<&Universe> {
        match &self.kind {
            TaskKind::Universe { universe, .. } => Some(universe),
            _ => None,
        }
    }

    /// The grammar of a grammar task.
    pub fn grammar(&self) -> Option<&super::grammar::Grammar> {
        match &self.kind {
            TaskKind::Grammar(g) => Some(g),
            _ => None,
        }
    }

    /// The machine of a machine task.
    pub fn machine(&self) -> Option<&super::machine::MachineTask> {
        match &self.kind {
            TaskKind::Machine { machine, .. } => Some(machine),
            _ => None,
        }
    }

    /// Whether the task's examples can be listed (a universe, a grammar without recursion).
    pub fn is_finite(&self) -> bool {
        match &self.kind {
            TaskKind::Universe { .. } => true,
            TaskKind::Grammar(g) => g.finite,
            TaskKind::Expr { .. }
            | TaskKind::Rasp { .. }
            | TaskKind::Arith
            | TaskKind::Chomsky(_)
            | TaskKind::Machine { .. } => false,
        }
    }
}

/// `(a: 0..p, b: 0..p) where filter`, with the layout `format = [a, "+", b, "="]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Universe {
    pub vars: Vec<UniverseVar>,
    /// Tuples for which this is false are left out; the target's variables refer to `vars`.
    pub filter: Option<Expr>,
    /// The model's input sequence: one token per variable value or literal.
    pub layout: Vec<Slot>,
}

/// A universe variable: `name: lo..hi` (stored inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniverseVar {
    pub name: String,
    pub lo: i64,
    pub hi: i64,
}

/// One position of a universe layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// The value of variable `i`, as one token (its decimal text).
    Var(usize),
    /// A literal token.
    Tok(String),
}

impl Universe {
    /// How many tuples the variables span before filtering (saturating).
    pub fn size_unfiltered(&self) -> u64 {
        let width = |v: &UniverseVar| (v.hi as i128 - v.lo as i128 + 1).clamp(0, u64::MAX as i128) as u64;
        self.vars.iter().fold(1u64, |n, v| n.saturating_mul(width(v)))
    }
}

/// How an example is laid out for the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// Encoder: the input, then one query token per target position; outputs
    /// are read at the query positions (Delétang et al. 2023).
    Transduce,
    /// Encoder: one output per input position (the target has the input's length).
    Tag,
    /// Encoder: the input then one query token; one output.
    Classify,
    /// Encoder, as [`Format::Transduce`] (the input, then one query token per target position),
    /// with targets that are 0-based positions of the input (`argsort(input)`): read by a
    /// pointer head (Vinyals et al. 2015), whose classes are the input positions. The task
    /// lists no outputs.
    Pointer,
    /// Decoder: `input SEP target EOS`, loss on what follows SEP, greedy decoding at evaluation.
    Lm,
    /// Decoder: integer addition as in Cho et al. 2024 ("Position Coupling"):
    /// `[EOS] a + b = c [EOS]` with both operands zero-padded to the longer one's `n` digits,
    /// the sum `c` zero-padded to `n + 1` digits and written least-significant digit first;
    /// loss on `c` and the final EOS. Every token gets a coupled position id
    /// ([`crate::task::arith`]). With `index_hints = Some(k)`, every digit is preceded by one of
    /// `k` hint tokens shared by the digits of equal significance (Zhou et al. 2023) and the ids
    /// are the default ones.
    Addition { index_hints: Option<usize> },
    /// Decoder: N×M multiplication (Cho et al. 2024, the N×2 task with `second = 2`):
    /// `[EOS] a * b = c [EOS]` with `a` of N digits, `b` of exactly `second` digits (leading
    /// zeros allowed), the product zero-padded to N + `second` digits, least-significant first;
    /// coupled position ids as for addition.
    Multiplication { second: usize },
    /// Decoder over a finite universe (Power et al. 2022): the layout's tokens
    /// (`a + b =`), then the answer as one token; loss and score on the answer only.
    Universe,
    /// Encoder–decoder: the source `input <eos>` is read by an encoder; the decoder reads
    /// `<sep> target` and predicts `target <eos>` (teacher forcing), loss and score on every
    /// target token and the `<eos>`; greedy decoding at evaluation (`crate::task::format`).
    Seq2seq,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Transduce => "transduce",
            Format::Tag => "tag",
            Format::Classify => "classify",
            Format::Pointer => "pointer",
            Format::Lm => "lm",
            Format::Addition { .. } => "addition",
            Format::Multiplication { .. } => "multiplication",
            Format::Universe => "universe",
            Format::Seq2seq => "seq2seq",
        }
    }

    /// Whether the format is read by a decoder (greedy decoding at evaluation).
    pub fn is_decoder(self) -> bool {
        matches!(self, Format::Lm | Format::Addition { .. } | Format::Multiplication { .. } | Format::Universe)
    }

    /// Whether model inputs and outputs share one vocabulary with `<sep>` and `<eos>` (the
    /// decoder formats and `seq2seq`, [`crate::task::vocab`]).
    pub fn shares_vocab(self) -> bool {
        self.is_decoder() || self == Format::Seq2seq
    }

    /// Whether the format is one of the arithmetic ones (operands drawn and answered by the format).
    pub fn is_arith(self) -> bool {
        self.operator().is_some()
    }

    /// The largest coupled position id of an example of length `len` at evaluation
    /// (`start = 1`): 1 + the answer's digits — `len + 2` for addition, `len + second + 1` for
    /// multiplication; `None` for formats without coupled ids. A coupled table needs
    /// `max_position` at least this for the longest test length (hand-off for the checker).
    pub fn max_coupled_id(self, len: usize) -> Option<usize> {
        match self {
            Format::Addition { index_hints: None } => Some(len + 2),
            Format::Multiplication { second } => Some(len + second + 1),
            _ => None,
        }
    }

    /// The operator token of an arithmetic format: `+` or `*`.
    pub fn operator(self) -> Option<&'static str> {
        match self {
            Format::Addition { .. } => Some("+"),
            Format::Multiplication { .. } => Some("*"),
            _ => None,
        }
    }
}
