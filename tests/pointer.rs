//! Pointer networks (issue 22; Vinyals et al. 2015): the `argsort` builtin, the `pointer`
//! format's layout and labels, and the pointer head. Oracles: hand computations (argsort, the
//! layout, one head's scores), central finite differences in f64 (the head alone, and a whole
//! small model on a padded batch), and tiny training runs through the trainer.

mod common;

use algen::ir::model::{Arch, Head, ModelKind, Norm, Position};
use algen::model::pointer::{candidates, Pointer, MASKED};
use algen::model::{self, Kernels, ModelIo, Params};
use algen::task;
use candle_core::{DType, Device, Tensor, Var};
use common::*;

fn checked(text: &str) -> algen::ir::Spec {
    let l = algen::syntax::load::load_str("t.alg", text);
    let c = algen::check::check(&l.files);
    let msgs: Vec<String> = c.diags.iter().filter(|d| !d.warning).map(|d| d.message.clone()).collect();
    assert!(msgs.is_empty(), "{msgs:?}");
    c.spec.expect("checks")
}

fn task_of(target: &str, alphabet: &str, format: &str, outputs: &str) -> algen::ir::Task {
    let text = format!(
        "task t {{ alphabet = \"{alphabet}\", input = string(alphabet), target = {target}, format = {format} {outputs} }}"
    );
    checked(&text).tasks.remove(0)
}

/// `argsort` is 0-based and stable: equal elements keep their order of position. By hand:
/// `3 1 3 0` sorts to `0 1 3 3`, taken from positions 3, 1, 0, 2.
#[test]
fn argsort_known_values_with_ties() {
    let t = task_of("argsort(input)", "0123", "pointer", "");
    let cases: &[(&[&str], &[&str])] = &[
        (&["3", "1", "3", "0"], &["3", "1", "0", "2"]),
        (&["2", "2", "2"], &["0", "1", "2"]),
        (&["1", "0"], &["1", "0"]),
        (&["0"], &["0"]),
        (&["3", "2", "1", "0", "1"], &["3", "2", "4", "1", "0"]),
    ];
    for (input, want) in cases {
        assert_eq!(task::label_tokens(&t, input).expect("labels"), *want, "argsort {input:?}");
    }
    // Non-numeric tokens sort by their text, ties by position too.
    let t = task_of("argsort(input)", "abc", "pointer", "");
    assert_eq!(task::label_tokens(&t, &["c", "a", "b", "a"]).unwrap(), ["1", "3", "2", "0"]);
    // The same builtin as ordinary output tokens (`transduce`, outputs declared).
    let t = task_of("argsort(input)", "0123", "transduce", ", outputs = [0, 1, 2, 3]");
    assert_eq!(task::label_tokens(&t, &["3", "1", "3", "0"]).unwrap(), ["3", "1", "0", "2"]);
}

/// The layout is `transduce`'s with the positions themselves as target ids: `213` with target
/// `argsort = [1, 0, 2]` is `2 1 3 <q> <q> <q>` (the query is id 10 after the ten digits),
/// targets `0 0 0 1 0 2`, mask `0 0 0 1 1 1`.
#[test]
fn pointer_layout_by_hand() {
    let t = task_of("argsort(input)", "0123456789", "pointer", "");
    let v = task::vocab(&t);
    assert_eq!(v.query, Some(10));
    assert!(v.output.is_empty(), "a pointer task has no output vocabulary");
    let ex = task::Example { input: vec![2, 1, 3], target: task::label(&t, &[2, 1, 3]).unwrap() };
    assert_eq!(ex.target, [1, 0, 2]);
    let e = task::encode(&t, &v, &ex);
    assert_eq!(e.tokens, [2, 1, 3, 10, 10, 10]);
    assert_eq!(e.targets, [0, 0, 0, 1, 0, 2]);
    assert_eq!(e.loss_mask, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    assert_eq!(e.score_mask, e.loss_mask);
    assert_eq!(e.positions, None);
}

/// A target value outside `0..|input|` is a run-time data error naming the value and input.
#[test]
fn out_of_range_position_is_a_data_error() {
    let t = task_of("[len(input)]", "01", "pointer", "");
    let err = task::label(&t, &[0, 1]).unwrap_err();
    assert_eq!(err.code(), "algen::task::not_position");
    let msg = err.to_string();
    assert!(msg.contains("`2`") && msg.contains("0..2") && msg.contains("0 1"), "{msg}");
    let t = task_of("input", "0123", "pointer", "");
    assert_eq!(task::label(&t, &[1, 0, 1]).unwrap(), [1, 0, 1], "in range: fine");
    assert_eq!(task::label(&t, &[1, 3]).unwrap_err().code(), "algen::task::not_position");
}

/// One row, d = 2, W1 = W2 = I, v = (1, 1): u_ij = tanh(x_i1 + x_j1) + tanh(x_i2 + x_j2),
/// with the query and padding columns masked.
#[test]
fn head_scores_by_hand() {
    let dev = &Device::Cpu;
    let eye = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0], (2, 2), dev).unwrap();
    let zero2 = Tensor::zeros(2, DType::F64, dev).unwrap();
    let lin = |w: &Tensor, b: &Tensor| algen::model::layers::Linear::new(w.clone(), b.clone());
    let v = Tensor::from_vec(vec![1.0f64, 1.0], (1, 2), dev).unwrap();
    let p = Pointer {
        w1: lin(&eye, &zero2),
        w2: lin(&eye, &zero2),
        v: lin(&v, &Tensor::zeros(1, DType::F64, dev).unwrap()),
    };
    let xs = [[0.5, -0.2], [0.1, 0.3], [-0.4, 0.6]];
    let x = Tensor::from_vec(xs.iter().flatten().copied().collect::<Vec<f64>>(), (1, 3, 2), dev).unwrap();
    let cand = candidates(&[4, 5, 9], None, Some(9)); // the last token is the query
    assert_eq!(cand, [1.0, 1.0, 0.0]);
    let got = vals(&p.forward(&x, &cand, Kernels::Fused).unwrap());
    for i in 0..3 {
        for j in 0..3 {
            let want = if j == 2 { MASKED } else { (xs[i][0] + xs[j][0]).tanh() + (xs[i][1] + xs[j][1]).tanh() };
            assert!(
                (got[i * 3 + j] - want).abs() < 1e-9 * want.abs().max(1.0),
                "u[{i}][{j}]: {} vs {want}",
                got[i * 3 + j]
            );
        }
    }
    assert_eq!(candidates(&[4, 5, 9, 0], Some(&[1.0, 1.0, 1.0, 0.0]), Some(9)), [1.0, 1.0, 0.0, 0.0]);
}

/// The head's gradients (W1, W2, v and the states) against central differences in f64, with
/// masked columns; the loss is the masked cross-entropy the trainer uses.
#[test]
fn head_gradients_match_finite_differences() {
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
    let (b, t, d) = (2, 5, 4);
    let mut params = Params::new(3, DType::F64);
    let p = Pointer::load(&mut params, "pointer", d).unwrap();
    let x = rand_var(&mut rng, &[b, t, d]);
    // Row 0: 3 inputs, 2 queries; row 1: 2 inputs, 2 queries, 1 padding.
    let ids = [1u32, 2, 0, 9, 9, 3, 1, 9, 9, 0];
    let pad = [1.0f32, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0];
    let cand = candidates(&ids, Some(&pad), Some(9));
    let targets = Tensor::from_vec(vec![0u32, 0, 0, 2, 1, 0, 0, 1, 0, 0], (b, t), &Device::Cpu).unwrap();
    let mask = Tensor::from_vec(vec![0f32, 0., 0., 1., 1., 0., 0., 1., 1., 0.], (b, t), &Device::Cpu).unwrap();
    let loss = || model::cross_entropy_masked(&p.forward(x.as_tensor(), &cand, Kernels::Fused)?, &targets, &mask);
    let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
    let mut vars = named.clone();
    vars.push(("states", &x));
    grad_check(&vars, &loss, 12);
    // Masked columns get no gradient through the states of padding (row 1, position 4 is not
    // a candidate, and its own query row is not in the loss).
    let g = loss().unwrap().backward().unwrap();
    let gx = vals(g.get(&x).unwrap());
    assert!(gx[(t + 4) * d..(t + 5) * d].iter().all(|v| v.abs() < 1e-12), "padding state: {gx:?}");
}

fn pointer_cfg(norm: Norm, position: Position) -> algen::ir::model::TransformerCfg {
    algen::ir::model::TransformerCfg { head: Head::Pointer, ..cfg(ModelKind::Encoder, norm, position) }
}

/// A whole small pointer model (2 layers, width 8, post- and pre-norm) on a padded batch:
/// every parameter's gradient equals central differences and the reference kernels' model's.
#[test]
fn model_gradients_with_padding() {
    for (norm, pos) in [(Norm::Post, Position::Sinusoidal), (Norm::Pre, Position::Learned { max_len: 8 })] {
        let arch = Arch::Transformer(pointer_cfg(norm, pos));
        let io = ModelIo { vocab_in: 5, vocab_out: 0 };
        let (net, params) = model::build_with(&arch, io, 11, DType::F64).unwrap();
        let net = net.with_query(Some(4));
        assert_eq!(params.count(), model::param_count(&arch, io), "param_count formula");
        let toks = tokens(&[&[2, 0, 3, 4, 4, 4], &[1, 2, 4, 4, 0, 0]]);
        let pad = f32_mat(&[&[1., 1., 1., 1., 1., 1.], &[1., 1., 1., 1., 0., 0.]]);
        let targets = tokens(&[&[0, 0, 0, 1, 0, 2], &[0, 0, 1, 0, 0, 0]]);
        let mask = f32_mat(&[&[0., 0., 0., 1., 1., 1.], &[0., 0., 1., 1., 0., 0.]]);
        let loss = |n: &model::Net| {
            let logits = n.forward(&toks, Some(&pad), None)?;
            assert_eq!(logits.dims(), [2, 6, 6], "one column per position");
            model::cross_entropy_masked(&logits, &targets, &mask)
        };
        model_grads_check(&net, &params, &loss, &format!("pointer model {norm:?}"));
    }
}

/// The pointer head never points at a query or padding position, whatever the weights.
#[test]
fn argmax_is_always_an_input_position() {
    let arch = Arch::Transformer(pointer_cfg(Norm::Pre, Position::Sinusoidal));
    let (net, _) = model::build(&arch, ModelIo { vocab_in: 5, vocab_out: 0 }, 2).unwrap();
    let net = net.with_query(Some(4)).detached();
    let toks = tokens(&[&[2, 0, 3, 4, 4, 4], &[1, 4, 0, 0, 0, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1., 1.], &[1., 1., 0., 0., 0., 0.]]);
    let pred = algen::eval::argmax(&net.forward(&toks, Some(&pad), None).unwrap()).unwrap();
    assert!(pred[..6].iter().all(|&j| j < 3), "{pred:?}");
    assert!(pred[6..].iter().all(|&j| j == 0), "{pred:?}");
}

const SPEC: &str = r#"
task order { alphabet = "0123", input = string(alphabet), target = argsort(input), format = pointer }
split s { train = len 4..=4, test = len 5..=6 count 8, count = 8 }
model enc = transformer { kind = encoder, layers = 1, d_model = 16, heads = 2, ffn = 32, norm = pre, position = sinusoidal }
experiment e {
  task = order, model = enc { head = pointer }, split = s
  train { steps = 40, batch = 16, optimizer = adam(lr = 1e-2), seeds = 1 }
  eval  { every = 0 }
}
"#;

/// Notes the trainer logs.
#[derive(Default)]
struct Notes(Vec<String>, Vec<f64>);
impl algen::train::Observer for Notes {
    fn note(&mut self, line: &str) {
        self.0.push(line.to_string());
    }
    fn step(&mut self, _: usize, loss: f64, _: Option<f64>) {
        self.1.push(loss);
    }
}

/// A pointer model trains through the normal trainer (on the autograd path, said once),
/// deterministically, its loss falls, and the evaluator scores it per length.
#[test]
fn trains_and_evaluates_through_the_trainer() {
    let spec = checked(SPEC);
    let e = &spec.experiments[0];
    let run = || {
        let rs = algen::train::RunSpec {
            task: &spec.tasks[0],
            split: &spec.splits[0],
            variant: &e.variants[0],
            eval: &e.eval,
            seed: 1,
            kernels: Kernels::Fused,
        };
        let mut obs = Notes::default();
        let mut r = algen::train::run(&rs, &mut obs).expect("runs");
        r.timing = Default::default();
        (obs, serde_json::to_string(&r).unwrap(), r)
    };
    let (a, ja, r) = run();
    let (b, jb, _) = run();
    assert_eq!((&a.1, &ja), (&b.1, &jb), "bit-identical reruns");
    assert_eq!(a.0.len(), 1, "one note: {:?}", a.0);
    assert!(a.0[0].contains("a pointer head") && a.0[0].contains("autograd"), "{:?}", a.0);
    let first: f64 = a.1[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = a.1[a.1.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(last < 0.8 * first, "loss did not fall: {first} -> {last}");
    let fe = r.final_eval.expect("final evaluation");
    let lens: Vec<usize> = fe.test_by_length.iter().map(|l| l.len).collect();
    assert_eq!(lens, [5, 6]);
    assert!(fe.train.token_accuracy > 0.0 && fe.train.token_accuracy <= 1.0);
}
