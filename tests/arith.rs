//! The arithmetic formats (issue 4): addition with coupled position ids (Cho et al. 2024,
//! "Position Coupling"), N×M multiplication with its coupling (same paper), addition with index
//! hints (Zhou et al. 2023). Oracles: the issue's worked example (`653 + 049 = 2070`), layouts
//! worked by hand below, Rust's `u128` arithmetic for the answers, counting for the sampling
//! distributions, and a full forward pass for the ids that greedy decoding feeds.

use algen::ir::model::{Arch, ModelKind, Norm, Position, TransformerCfg};
use algen::ir::{Format, Spec, Task};
use algen::model::{self, decode, ModelIo, Net};
use algen::task::arith::{self, Offsets};
use algen::task::{self, Coupling, Encoded, Example, Stream};
use algen::train::Batches;
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SPEC: &str = r#"
task add { format = addition }
task hints { format = addition(index_hints = 5) }
task mul { format = multiplication }
task mul1 { format = multiplication(second = 1) }
"#;

fn spec() -> Spec {
    let l = algen::syntax::load::load_str("arith.alg", SPEC);
    assert!(l.diags.is_empty());
    algen::check::check(&l.files).spec.expect("spec checks")
}

fn get(s: &Spec, name: &str) -> Task {
    s.task(name).expect("task").clone()
}

/// The example `a op b` from its text, labelled by the task.
fn example(t: &Task, text: &str) -> Example {
    let toks: Vec<String> = text.chars().map(String::from).collect();
    let l = task::Labeler::new(t);
    let input = l.input_ids(&toks).expect("alphabet");
    Example { target: l.label(&input).expect("label"), input }
}

/// The tokens of `ids` as text, space-separated.
fn show(t: &Task, ids: &[u32]) -> String {
    let v = task::vocab(t);
    ids.iter().map(|&i| v.input[i as usize].as_str()).collect::<Vec<_>>().join(" ")
}

fn mask(n: usize, from: usize) -> Vec<f32> {
    (0..n).map(|i| if i >= from { 1.0 } else { 0.0 }).collect()
}

#[test]
fn addition_worked_example_of_the_issue() {
    let s = spec();
    let t = get(&s, "add");
    assert_eq!(task::vocab(&t).input, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "<eos>"]);
    let ex = example(&t, "653+49");
    assert_eq!(show(&t, &ex.target), "2 0 7 0"); // 653 + 49 = 702, padded to 4 digits, reversed
    let e = task::encode(&t, &task::vocab(&t), &ex);
    assert_eq!(show(&t, &e.tokens), "<eos> 6 5 3 + 0 4 9 = 2 0 7 0");
    assert_eq!(show(&t, &e.targets), "6 5 3 + 0 4 9 = 2 0 7 0 <eos>");
    // Loss and score on the answer and the final EOS: the targets of positions 8..=12.
    assert_eq!(e.loss_mask, mask(13, 8));
    assert_eq!(e.score_mask, e.loss_mask);
    // [EOS]0 6:4 5:3 3:2 +:1 0:4 4:3 9:2 =:1 2:2 0:3 7:4 0:5 — the final [EOS] (id 0) is only
    // predicted, never fed, so it has no input row.
    assert_eq!(e.positions.as_deref(), Some(&[0, 4, 3, 2, 1, 4, 3, 2, 1, 2, 3, 4, 5][..]));
    assert_eq!(e.first_loss(), Some(8));
    assert_eq!(task::prompt(&t, &task::vocab(&t), &ex.input), e.tokens[..9]); // up to `=`
                                                                              // Same lengths: 99 + 1 = 100 → `001`; a 1-digit sum keeps its carry digit.
    assert_eq!(show(&t, &example(&t, "99+1").target), "0 0 1");
    assert_eq!(show(&t, &example(&t, "0+0").target), "0 0");
}

#[test]
fn multiplication_worked_examples() {
    let s = spec();
    let t = get(&s, "mul");
    assert_eq!(t.format, Format::Multiplication { second: 2 });
    let v = task::vocab(&t);
    // 653 × 49 = 31997 (= 653·50 − 653): 3 + 2 digits, reversed `7 9 9 1 3`. Ids: `*` and `=`
    // get start = 1, a digit worth 10^k gets 2 + k in both factors and in the product.
    let e = task::encode(&t, &v, &example(&t, "653*49"));
    assert_eq!(show(&t, &e.tokens), "<eos> 6 5 3 * 4 9 = 7 9 9 1 3");
    assert_eq!(show(&t, &e.targets), "6 5 3 * 4 9 = 7 9 9 1 3 <eos>");
    assert_eq!(e.positions.as_deref(), Some(&[0, 4, 3, 2, 1, 3, 2, 1, 2, 3, 4, 5, 6][..]));
    assert_eq!(e.loss_mask, mask(13, 7));
    // A second factor with a leading zero: 25 × 07 = 175 → `0175` reversed.
    let e = task::encode(&t, &v, &example(&t, "25*07"));
    assert_eq!(show(&t, &e.tokens), "<eos> 2 5 * 0 7 = 5 7 1 0");
    assert_eq!(e.positions.as_deref(), Some(&[0, 3, 2, 1, 3, 2, 1, 2, 3, 4, 5][..]));
    // N×1 (`second = 1`): 87 × 9 = 783.
    let t1 = get(&s, "mul1");
    let e = task::encode(&t1, &task::vocab(&t1), &example(&t1, "87*9"));
    assert_eq!(show(&t1, &e.tokens), "<eos> 8 7 * 9 = 3 8 7");
    assert_eq!(e.positions.as_deref(), Some(&[0, 3, 2, 1, 2, 1, 2, 3, 4][..]));
}

#[test]
fn index_hints_worked_example() {
    let s = spec();
    let t = get(&s, "hints");
    let v = task::vocab(&t);
    assert_eq!(v.input[10..], ["+", "=", "<eos>", "a", "b", "c", "d", "e"]);
    let ex = example(&t, "653+49");
    // Hint `a` marks the units, `b` the tens, …: equal significance, equal hint.
    let e = task::encode(&t, &v, &ex);
    assert_eq!(show(&t, &e.tokens), "<eos> c 6 b 5 a 3 + c 0 b 4 a 9 = a 2 b 0 c 7 d 0");
    assert_eq!(show(&t, &e.targets[14..]), "a 2 b 0 c 7 d 0 <eos>");
    assert_eq!(e.loss_mask, mask(23, 14)); // after `=`: the answer's hints and digits, and the EOS
    assert_eq!(e.positions, None); // default ids 0..n
                                   // Training shifts the hints (offset 1 of 0..=5 − 4).
    let e = arith::encode_at(&t, &v, &ex, Offsets { start: 1, hint: 1 });
    assert_eq!(show(&t, &e.tokens), "<eos> d 6 c 5 b 3 + d 0 c 4 b 9 = b 2 c 0 d 7 e 0");
    assert_eq!(
        (arith::hint_name(25), arith::hint_name(26), arith::hint_name(27)),
        ("z".into(), "aa".into(), "ab".into())
    );
}

/// Training offsets: the coupled start is uniform over 1..=max_position − |answer| and keeps the
/// structure; the first hint is uniform over the hints that leave room for the answer; both
/// come from the seed alone.
#[test]
fn random_starts_cover_their_range_and_follow_the_seed() {
    let s = spec();
    let (t, h) = (get(&s, "add"), get(&s, "hints"));
    let (v, vh) = (task::vocab(&t), task::vocab(&h));
    let ex = example(&t, "653+49"); // answer of 4 digits
    let base = task::encode(&t, &v, &ex).positions.unwrap();
    let c = Coupling { max_position: 10, random_start: true };
    let draw = |seed: u64| -> (Vec<u32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let starts =
            (0..400).map(|_| task::encode_train(&t, &v, &ex, Some(c), &mut rng).positions.unwrap()[4]).collect();
        let hints =
            (0..400).map(|_| task::encode_train(&h, &vh, &ex, None, &mut rng).tokens[5] as usize - 13).collect();
        (starts, hints)
    };
    let (starts, hints) = draw(5);
    assert_eq!(draw(5), (starts.clone(), hints.clone()), "same seed, same offsets");
    assert_ne!(draw(6).0, starts, "another seed, other offsets");
    for k in 1..=6 {
        assert!(starts.contains(&k), "start {k} of 1..=10−4 drawn");
    }
    assert!(starts.iter().all(|&s| (1..=6).contains(&s)), "{starts:?}");
    for hint in 0..=1 {
        assert!(hints.contains(&hint), "first hint {hint} of 0..=5−4 drawn");
    }
    assert!(hints.iter().all(|&x| x <= 1));
    // The shift keeps the coupling: EOS stays 0, every other id moves by start − 1.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..20 {
        let ids = task::encode_train(&t, &v, &ex, Some(c), &mut rng).positions.unwrap();
        let shift = ids[4] - 1;
        let back: Vec<u32> = ids.iter().map(|&i| if i == 0 { 0 } else { i - shift }).collect();
        assert_eq!(back, base);
        assert!(ids.iter().all(|&i| i <= 10));
    }
    // Without random_start (or without coupling) training keeps start = 1.
    let fixed = Coupling { random_start: false, ..c };
    assert_eq!(task::encode_train(&t, &v, &ex, Some(fixed), &mut rng).positions.unwrap(), base);
}

/// Operands: a k-digit operand has a non-zero leading digit (k > 1), a 1-digit one may be 0;
/// one-length streams give both addition operands that length; training streams draw each
/// operand's digit count independently and uniformly (Cho et al. 2024).
#[test]
fn operands_follow_the_papers_distribution() {
    let s = spec();
    let t = get(&s, "add");
    let parts = |ex: &Example| -> (Vec<u32>, Vec<u32>) {
        let i = ex.input.iter().position(|&x| x == arith::OPERATOR).unwrap();
        (ex.input[..i].to_vec(), ex.input[i + 1..].to_vec())
    };
    for len in [1, 2, 7, 30] {
        let exs = Stream::new(&t, "test", len, 3).take(300).unwrap();
        let mut zero = false;
        for ex in &exs {
            let (a, b) = parts(ex);
            assert_eq!((a.len(), b.len()), (len, len));
            assert!(len == 1 || (a[0] != 0 && b[0] != 0), "leading zero in {ex:?}");
            zero |= a[0] == 0;
            assert_eq!(ex.target.len(), len + 1);
        }
        assert_eq!(zero, len == 1, "a 1-digit operand may be 0, longer ones never start with 0");
    }
    let lengths: Vec<usize> = (1..=10).collect();
    let n = 20_000;
    let mut joint = [[0usize; 10]; 10];
    let mut lead = [0usize; 10];
    let mut stream = Stream::over(&t, "train", &lengths, 0);
    for _ in 0..n {
        let (a, b) = parts(&stream.next_example().unwrap());
        joint[a.len() - 1][b.len() - 1] += 1;
        if a.len() > 1 {
            lead[a[0] as usize] += 1;
        }
    }
    // Each (|a|, |b|) cell expects n/100 = 200 (sd ≈ 14); each length's margin n/10.
    for (i, row) in joint.iter().enumerate() {
        assert!(row.iter().all(|&c| (140..=260).contains(&c)), "row {i}: {row:?}");
        let col: usize = joint.iter().map(|r| r[i]).sum();
        assert!((1800..=2200).contains(&row.iter().sum::<usize>()) && (1800..=2200).contains(&col));
    }
    assert_eq!(lead[0], 0);
    let per = lead[1..].iter().sum::<usize>() / 9;
    assert!(lead[1..].iter().all(|&c| c.abs_diff(per) < per / 8), "leading digits {lead:?}");
    // N×2: the second factor always has 2 digits, a leading zero allowed.
    let m = get(&s, "mul");
    let exs = Stream::over(&m, "train", &lengths, 1).take(500).unwrap();
    assert!(exs.iter().all(|ex| parts(ex).1.len() == 2 && ex.target.len() == parts(ex).0.len() + 2));
    assert!(exs.iter().any(|ex| parts(ex).1[0] == 0));
}

fn value(digits: &[u32]) -> u128 {
    digits.iter().fold(0, |acc, &d| acc * 10 + d as u128)
}

/// Answers against `u128` arithmetic (oracle), read back least-significant digit first.
#[test]
fn answers_match_integer_arithmetic() {
    let s = spec();
    for (name, op) in [("add", 0), ("mul", 1), ("mul1", 1)] {
        let t = get(&s, name);
        let mut stream = Stream::over(&t, "train", &[1, 2, 5, 17, 30], 9);
        for _ in 0..300 {
            let ex = stream.next_example().unwrap();
            let i = ex.input.iter().position(|&x| x == arith::OPERATOR).unwrap();
            let (a, b) = (value(&ex.input[..i]), value(&ex.input[i + 1..]));
            let want = if op == 0 { a + b } else { a * b };
            let mut rev = ex.target.clone();
            rev.reverse();
            assert_eq!(value(&rev), want, "{name}: {ex:?}");
        }
    }
    let t = get(&s, "add");
    assert_eq!(task::label_tokens(&t, &["9", "+", "9"]).unwrap(), ["8", "1"]);
    assert!(task::label_tokens(&t, &["1", "2"]).is_err(), "no operator");
    assert!(task::label_tokens(&t, &["1", "+", "2", "+", "3"]).is_err(), "two operators");
}

/// `Format::max_coupled_id` (for checking a coupled table's size) is the largest id of an
/// evaluation layout.
#[test]
fn largest_coupled_id_per_length() {
    let s = spec();
    for name in ["add", "mul", "mul1", "hints"] {
        let t = get(&s, name);
        let v = task::vocab(&t);
        for len in [1, 3, 10] {
            let ex = Stream::new(&t, "test", len, 0).next_example().unwrap();
            let top = task::encode(&t, &v, &ex).positions.map(|p| *p.iter().max().unwrap() as usize);
            assert_eq!(t.format.max_coupled_id(len), top, "{name} at {len}");
        }
    }
}

/// Ids are padded with 0 like tokens; a row without ids gets the default 0..n.
#[test]
fn batches_pad_position_ids() {
    let s = spec();
    let t = get(&s, "add");
    let v = task::vocab(&t);
    let long = task::encode(&t, &v, &example(&t, "12+3")); // <eos> 1 2 + 0 3 = 5 1 0
    let short = task::encode(&t, &v, &example(&t, "1+2")); // <eos> 1 + 2 = 3 0
    let plain = Encoded { positions: None, ..short.clone() };
    let b = task::batch(&[&long, &short, &plain]);
    assert_eq!((b.b, b.t), (3, 10));
    let ids = b.positions.unwrap();
    assert_eq!(ids[..10], [0, 3, 2, 1, 3, 2, 1, 2, 3, 4]);
    assert_eq!(ids[10..20], [0, 2, 1, 2, 1, 2, 3, 0, 0, 0]);
    assert_eq!(ids[20..], [0, 1, 2, 3, 4, 5, 6, 0, 0, 0]);
    assert_eq!(b.pad[10..20], [1., 1., 1., 1., 1., 1., 1., 0., 0., 0.]);
}

/// Training batches of an arithmetic task mix operand lengths, carry ids for a coupled model
/// (random start within the table) and none otherwise, and follow the seed.
#[test]
fn training_batches_carry_coupled_ids() {
    let s = spec();
    let t = get(&s, "add");
    let v = task::vocab(&t);
    let lengths: Vec<usize> = (1..=10).collect();
    let c = Coupling { max_position: 40, random_start: true };
    let mut a = Batches::new(&t, &v, &lengths, 4, false).with_coupling(Some(c));
    let mut b = Batches::new(&t, &v, &lengths, 4, false).with_coupling(Some(c));
    let (x, y) = (a.next(16).unwrap(), b.next(16).unwrap());
    assert_eq!(x, y, "seeded");
    assert!(x.pad.contains(&0.0), "mixed lengths are padded");
    let ids = x.positions.unwrap();
    assert!(ids.iter().all(|&i| i <= 40));
    let starts: Vec<u32> =
        (0..16).map(|r| ids[r * x.t + 1..(r + 1) * x.t].iter().copied().filter(|&i| i > 0).min().unwrap()).collect();
    assert!(starts.iter().any(|&s| s > 1), "random starts {starts:?}");
    let mut mixed = Batches::new(&t, &v, &lengths, 4, true);
    let m = mixed.next(16).unwrap();
    let min = m.positions.unwrap().chunks(m.t).map(|r| r[1..].iter().copied().filter(|&i| i > 0).min().unwrap()).max();
    assert_eq!(min, Some(1), "without coupling, start = 1");
}

fn decoder(position: Position) -> Arch {
    Arch::Transformer(TransformerCfg {
        kind: ModelKind::Decoder,
        layers: 1,
        d_model: 16,
        heads: 2,
        ffn: 32,
        norm: Norm::Pre,
        dropout: 0.0,
        position,
        embed_scale: false,
        norm_type: Default::default(),
        embed_init: None,
        activation: Default::default(),
        final_norm: None,
        head_bias: true,
        attn_bias_init: Default::default(),
        attn_weight_init: Default::default(),
        head: Default::default(),
    })
}

/// Greedy decoding with ids feeds generated tokens the ids their positions have: every decoded
/// token is the argmax of one full forward pass over the decoded sequence with those ids, for
/// the cached and the uncached path; and evaluation decodes with the format's ids. For a
/// learned table read at the ids and for the coupled table (both cached).
#[test]
fn decoding_continues_the_formats_ids() -> candle_core::Result<()> {
    for position in [Position::Learned { max_len: 64 }, Position::Coupled { max_position: 64, random_start: true }] {
        decoding_continues_ids(position)?;
    }
    Ok(())
}

fn decoding_continues_ids(position: Position) -> candle_core::Result<()> {
    let s = spec();
    let t = get(&s, "add");
    let v = task::vocab(&t);
    let io = ModelIo { vocab_in: v.input.len(), vocab_out: v.output.len() };
    let (net, _) = model::build(&decoder(position), io, 11)?;
    let net = net.detached();
    let Net::Transformer(tr) = &net else { panic!("a transformer") };
    assert!(decode::cacheable(tr));
    let encs: Vec<Encoded> =
        Stream::new(&t, "test", 4, 2).take(3).unwrap().iter().map(|e| task::encode(&t, &v, e)).collect();
    let p = encs[0].first_loss().unwrap() + 1; // prompt `[EOS] a + b =`
    let steps = encs[0].tokens.len() + 1 - p; // the answer and the EOS
    let prompts: Vec<Vec<u32>> = encs.iter().map(|e| e.tokens[..p].to_vec()).collect();
    let ids: Vec<Vec<u32>> = encs.iter().map(|e| e.positions.clone().unwrap()).collect();
    let cached = decode::greedy_at(tr, &prompts, steps, Some(&ids))?;
    let mut seqs = prompts.clone();
    algen::eval::decode_uncached_at(&net, &mut seqs, 3, steps, Some(&ids))
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    for (r, new) in cached.iter().enumerate() {
        assert_eq!(&seqs[r][p..], &new[..], "cached = uncached");
        let full: Vec<u32> = seqs[r][..p + steps - 1].to_vec();
        let n = full.len();
        let logits = net.forward_at(&Tensor::from_vec(full, (1, n), &Device::Cpu)?, None, Some(&ids[r][..n]), None)?;
        let pred = algen::eval::argmax(&logits)?;
        assert_eq!(&pred[p - 1..], &new[..], "row {r}: each token is the argmax after the previous ones at their ids");
    }
    assert_ne!(decode::greedy(tr, &prompts, steps)?, cached, "the ids matter for this model");
    assert!(decode::greedy_at(tr, &prompts, steps, Some(&ids[..2])).is_err(), "ids for every row");
    // Evaluation with ids scores exactly these decodings (the stream and seed above).
    let set = algen::eval::EvalSet { part: "test", lengths: &[4], count: 3, seed: 2, batch: 8 };
    let with =
        algen::eval::evaluate_with(&net, &t, &v, &set, true).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let (mut right, mut all) = (0, 0);
    for (e, new) in encs.iter().zip(&cached) {
        for (k, &tok) in new.iter().enumerate() {
            all += 1;
            right += usize::from(tok == e.targets[p - 1 + k]);
        }
    }
    assert_eq!(with.mean.token_accuracy, right as f64 / all as f64);
    Ok(())
}
