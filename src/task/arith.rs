//! The arithmetic formats: integer addition and N×M multiplication laid out for a decoder with
//! coupled position ids (Cho et al. 2024, "Position Coupling: Improving Length Generalization
//! of Arithmetic Transformers Using Task Structure"), and addition with index hints (Zhou et
//! al. 2023, "What Algorithms can Transformers Learn? A Study in Length Generalization").
//!
//! **Operands** ([`draw`]). An operand of `l` digits has a uniform non-zero leading digit and
//! uniform other digits, i.e. it is uniform over [10^(l−1), 10^l); a 1-digit operand is uniform
//! over 0..=9, zero included (as in the paper's reference implementation). Addition draws the
//! two operands' digit counts independently and uniformly from the lengths it is given;
//! multiplication draws the first operand's (N), the second has exactly `second` uniform digits,
//! leading zeros allowed (`07`), as in the reference implementation's N×M task.
//!
//! **Length** (evaluation by length): the number of digits of the longer operand; for
//! multiplication, the first operand's N. A one-length stream ([`super::Stream::new`]) thus
//! draws both addition operands with exactly `L` digits (the paper's evaluation sets), while
//! training draws over all train lengths at once ([`super::Stream::over`]).
//!
//! **Example** ([`super::Example`]): the input `a op b` as drawn (`653+49`, ids into the
//! alphabet `0`–`9`, operator), the target the answer as the model writes it: zero-padded,
//! least-significant digit first (`2070`). [`label`] computes it for any such input.
//!
//! **Layout** ([`encode_at`]), for `653 + 49`, n = 3 digits:
//!
//! ```text
//! addition     [EOS] 6 5 3 + 0 4 9 = 2 0 7 0 [EOS]      loss on `2 0 7 0 [EOS]`
//! coupled ids    0   4 3 2 1 4 3 2 1 2 3 4 5   0        (start = 1)
//! index hints  [EOS] c 6 b 5 a 3 + c 0 b 4 a 9 = a 2 b 0 c 7 d 0 [EOS]   (hint offset 0)
//! ```
//!
//! *Coupled ids*: the operator and `=` get `start`; a digit of significance k (worth 10^k) gets
//! `start + 1 + k` in both operands and in the answer, so digits of equal significance share an
//! id; both EOS tokens get 0. Evaluation uses `start = 1`; training shifts `start` uniformly
//! over 1..=max_position − |answer| ([`super::format::Coupling`]) so that every row of the
//! model's table is trained. The reference implementation (github.com/HanseulJo/position-coupling,
//! `src/data/addition.py`, `multiplication.py`) numbers the same coupling in mirror order
//! (operators highest, ids falling with significance).
//!
//! *Index hints*: hint `j` ([`hint_name`]: `a`, `b`, …, `z`, `aa`, `ab`, …) precedes every digit
//! of significance `j − offset`, counted from the least-significant digit, so the answer's carry
//! digit gets the next hint and each significance has one hint throughout. Zhou et al. write the
//! hints from the most-significant end; the reference implementation of Cho et al.
//! (`AdditionDatasetWithIndexHints`) zero-pads operands and answer to n + 1 digits, which pairs
//! the same digits; counting from the least-significant end needs no extra digit. Operands are
//! zero-padded to n digits as above; the model writes the hints of the answer too (loss and
//! score on them). Training draws the offset uniformly from 0..=k − (n + 1) so that every hint
//! is trained (as the reference implementation does); evaluation uses offset 0. Position ids
//! are the default ones (`None`).

use super::format::Encoded;
use super::generate::Example;
use super::label::LabelError;
use super::vocab::Vocab;
use crate::ir::{Format, Task};
use rand::Rng;

/// The token that separates the question from the answer.
pub const EQUALS: &str = "=";
/// Input id of the operator (after the ten digits).
pub const OPERATOR: u32 = 10;

/// Where the structure labels of a layout begin: the coupled ids' `start` and the first hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offsets {
    pub start: u32,
    pub hint: usize,
}

impl Offsets {
    /// Evaluation: `start = 1` (Cho et al. 2024), hints from the first one.
    pub const EVAL: Offsets = Offsets { start: 1, hint: 0 };
}

/// The operator token of an arithmetic format (`+` for any other).
pub fn operator(format: Format) -> &'static str {
    format.operator().unwrap_or("+")
}

/// The input alphabet: the ten digits, then the operator.
pub fn alphabet(format: Format) -> Vec<String> {
    let mut a = digits();
    a.push(operator(format).to_string());
    a
}

/// The output tokens: the ten digits.
pub fn digits() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

/// Name of hint `i`: `a`…`z`, then `aa`, `ab`, … (spreadsheet columns).
pub fn hint_name(i: usize) -> String {
    let mut s = vec![];
    let mut n = i + 1;
    while n > 0 {
        n -= 1;
        s.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// The hint tokens of `format` (none unless it is addition with index hints).
pub fn hint_tokens(format: Format) -> Vec<String> {
    match format {
        Format::Addition { index_hints: Some(k) } => (0..k).map(hint_name).collect(),
        _ => vec![],
    }
}

/// A uniform operand of `l` digits, most-significant first (see the module docs).
fn number(l: usize, rng: &mut impl Rng) -> Vec<u8> {
    (0..l)
        .map(|i| if i == 0 && l > 1 { rng.gen_range(1..10u32) as u8 } else { rng.gen_range(0..10u32) as u8 })
        .collect()
}

/// A uniform element of `lengths` (no draw for a single one; 0 when empty).
fn pick(lengths: &[usize], rng: &mut impl Rng) -> usize {
    match lengths {
        [] => 0,
        [l] => *l,
        ls => ls[rng.gen_range(0..ls.len() as u32) as usize],
    }
}

/// Draws one example; digit counts come uniformly from `lengths` (`[0]` when empty).
pub(super) fn draw(format: Format, lengths: &[usize], rng: &mut impl Rng) -> Example {
    let a = number(pick(lengths, rng), rng);
    let b = match format {
        Format::Multiplication { second } => (0..second).map(|_| rng.gen_range(0..10u32) as u8).collect(),
        _ => number(pick(lengths, rng), rng),
    };
    let target = answer(format, &a, &b).into_iter().map(u32::from).collect();
    let mut input: Vec<u32> = a.into_iter().map(u32::from).collect();
    input.push(OPERATOR);
    input.extend(b.into_iter().map(u32::from));
    Example { input, target }
}

/// The answer least-significant digit first: the sum zero-padded to max(|a|, |b|) + 1 digits,
/// or the product zero-padded to |a| + |b| digits.
fn answer(format: Format, a: &[u8], b: &[u8]) -> Vec<u8> {
    let at = |x: &[u8], k: usize| if k < x.len() { x[x.len() - 1 - k] as u32 } else { 0 };
    if let Format::Multiplication { .. } = format {
        let mut acc = vec![0u32; a.len() + b.len()];
        for i in 0..a.len() {
            for j in 0..b.len() {
                acc[i + j] += at(a, i) * at(b, j);
            }
        }
        let mut carry = 0;
        for s in &mut acc {
            let v = *s + carry;
            (*s, carry) = (v % 10, v / 10);
        }
        return acc.into_iter().map(|d| d as u8).collect();
    }
    let n = a.len().max(b.len());
    let mut carry = 0;
    let mut out: Vec<u8> = (0..n)
        .map(|k| {
            let s = at(a, k) + at(b, k) + carry;
            carry = s / 10;
            (s % 10) as u8
        })
        .collect();
    out.push(carry as u8);
    out
}

/// The answer to input `a op b` (ids into the task's alphabet) as output ids (the digits).
pub(super) fn label(task: &Task, input: &[u32]) -> Result<Vec<u32>, LabelError> {
    let ops = input.iter().filter(|&&t| t == OPERATOR).count();
    if ops != 1 || input.iter().any(|&t| t > OPERATOR) {
        let shown: Vec<&str> =
            input.iter().map(|&t| task.alphabet.get(t as usize).map_or("?", |s| s.as_str())).collect();
        return Err(LabelError::Eval {
            task: task.name.clone(),
            input: shown.join(" "),
            message: format!("expected two numbers joined by one `{}`", operator(task.format)),
            span: task.span,
        });
    }
    let (a, b) = operands(input);
    let a: Vec<u8> = a.iter().map(|&d| d as u8).collect();
    let b: Vec<u8> = b.iter().map(|&d| d as u8).collect();
    Ok(answer(task.format, &a, &b).into_iter().map(u32::from).collect())
}

/// The two operands of an input `a op b`.
fn operands(input: &[u32]) -> (&[u32], &[u32]) {
    match input.iter().position(|&t| t == OPERATOR) {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[]),
    }
}

/// A sequence under construction: tokens and their position ids.
#[derive(Default)]
struct Seq {
    tokens: Vec<u32>,
    ids: Vec<u32>,
}

impl Seq {
    fn push(&mut self, token: u32, id: u32) {
        self.tokens.push(token);
        self.ids.push(id);
    }
}

/// Lays `ex` out in `task`'s arithmetic format (see the module docs) with the given offsets.
pub fn encode_at(task: &Task, vocab: &Vocab, ex: &Example, off: Offsets) -> Encoded {
    let (a, b) = operands(&ex.input);
    let width = if let Format::Addition { .. } = task.format { a.len().max(b.len()) } else { 0 };
    let hints = matches!(task.format, Format::Addition { index_hints: Some(_) });
    let eos = vocab.eos.unwrap_or(0);
    let hint = |k: usize| eos + 1 + (off.hint + k) as u32;
    let digit_id = |k: usize| off.start + 1 + k as u32;
    let mut s = Seq::default();
    s.push(eos, 0);
    for (i, x) in [a, b].into_iter().enumerate() {
        let w = width.max(x.len());
        for j in 0..w {
            let k = w - 1 - j; // significance
            if hints {
                s.push(hint(k), digit_id(k));
            }
            s.push(if j < w - x.len() { 0 } else { x[j - (w - x.len())] }, digit_id(k));
        }
        s.push(if i == 0 { OPERATOR } else { vocab.sep.unwrap_or(0) }, off.start);
    }
    let question = s.tokens.len() - 1; // the `=`, whose next token is the first answer token
    for (k, &d) in ex.target.iter().enumerate() {
        if hints {
            s.push(hint(k), digit_id(k));
        }
        s.push(vocab.model_output(d).unwrap_or(0), digit_id(k));
    }
    s.push(eos, 0);
    let n = s.tokens.len() - 1;
    let mask: Vec<f32> = (0..n).map(|t| if t >= question { 1.0 } else { 0.0 }).collect();
    s.ids.truncate(n);
    Encoded {
        targets: s.tokens[1..].to_vec(),
        tokens: s.tokens[..n].to_vec(),
        loss_mask: mask.clone(),
        score_mask: mask,
        positions: (!hints).then_some(s.ids),
        source: None,
    }
}
