//! The recurrent encoder–decoder (`lstm { kind = seq2seq }`, issue 22). Oracles: central
//! finite differences in f64 (every parameter, padding on both sides, each attention), the
//! reference kernels, exact invariance under padded tokens, closed-form attention values on
//! hand-made memories, the teacher-forced pass recomputed on the greedy prefix, and
//! `Params::count` for the parameter formula.

mod common;

use algen::ir::model::{LstmSeq2seq, RnnAttention};
use algen::ir::{Arch, LstmCfg};
use algen::model::layers::Linear;
use algen::model::rnn_s2s::attention::{Bahdanau, Luong};
use algen::model::rnn_s2s::{self, AttnState, Memory, StepAttention};
use algen::model::{self, Kernels, ModelIo, Net};
use candle_core::{DType, Device, Tensor};
use common::{assert_close, model_grads_check, tokens, vals};

const V: usize = 7;

fn lstm(layers: usize, attention: RnnAttention, input_feeding: bool) -> LstmCfg {
    LstmCfg {
        layers,
        hidden: 3,
        embed: 4,
        style: Default::default(),
        seq2seq: Some(LstmSeq2seq { attention, input_feeding, cross_attention: Default::default() }),
    }
}

fn build(c: &LstmCfg, dtype: DType) -> (Net, model::Params) {
    model::build_with(&Arch::Lstm(c.clone()), ModelIo { vocab_in: V, vocab_out: V }, 5, dtype).unwrap()
}

fn inner(n: &Net) -> &model::RnnSeq2seq {
    match n {
        Net::RnnSeq2seq(m) => m,
        _ => panic!("not a recurrent seq2seq"),
    }
}

/// Every decoder configuration: (layers, attention, input feeding).
const CASES: [(usize, RnnAttention, bool); 4] = [
    (1, RnnAttention::Bahdanau, false),
    (2, RnnAttention::Luong, true),
    (1, RnnAttention::Luong, false),
    (2, RnnAttention::None, false),
];

#[test]
fn gradients_match_finite_differences_with_padding_on_both_sides() {
    let (src, src_pad, tgt, pad, targets, mask) = common::s2s_batch();
    for (layers, attention, feeding) in CASES {
        let what = format!("rnn seq2seq {layers} {attention:?} feeding {feeding}");
        let (net, params) = build(&lstm(layers, attention, feeding), DType::F64);
        let loss = |n: &Net| {
            let logits = n.forward_s2s(&src, Some(&src_pad), &tgt, Some(&pad), None)?;
            model::cross_entropy_masked(&logits, &targets, &mask)
        };
        model_grads_check(&net, &params, &loss, &what);
    }
}

#[test]
fn padded_tokens_change_no_real_logit() {
    let (src, src_pad, tgt, pad, _, _) = common::s2s_batch();
    let src2 = tokens(&[&[1, 2, 3, 4], &[2, 5, 6, 1]]);
    let tgt2 = tokens(&[&[6, 1, 2], &[6, 3, 4]]);
    for (layers, attention, feeding) in CASES {
        let (net, _) = build(&lstm(layers, attention, feeding), DType::F64);
        let a = vals(&net.forward_s2s(&src, Some(&src_pad), &tgt, Some(&pad), None).unwrap());
        let b = vals(&net.forward_s2s(&src2, Some(&src_pad), &tgt2, Some(&pad), None).unwrap());
        let real = |v: &[f64]| v[..3 * V + 2 * V].to_vec(); // row 0, then row 1's two real positions
        assert_eq!(real(&a), real(&b), "{attention:?}: logits at real positions must be bit-identical");
        assert_ne!(a, b, "the padded decoder position itself does see its token");
    }
}

#[test]
fn attention_weights_are_a_distribution_over_the_real_source() {
    let (src, src_pad, tgt, pad, _, _) = common::s2s_batch();
    for attention in [RnnAttention::Bahdanau, RnnAttention::Luong] {
        let (net, _) = build(&lstm(1, attention, true), DType::F64);
        let (_, weights) = inner(&net).run(&src, Some(&src_pad), &tgt, Some(&pad)).unwrap();
        assert_eq!(weights.len(), 3, "one (B, S) per step");
        for w in &weights {
            let w = vals(w);
            assert_close(&[w[..4].iter().sum(), w[4..6].iter().sum()], &[1.0, 1.0], 0.0, 1e-12, "row sums");
            assert_eq!(&w[6..], &[0.0, 0.0], "{attention:?}: padded positions get exactly 0");
            assert!(w[..6].iter().all(|&x| x > 0.0), "real positions get weight");
        }
    }
    let (net, _) = build(&lstm(1, RnnAttention::None, false), DType::F64);
    assert!(inner(&net).run(&src, Some(&src_pad), &tgt, Some(&pad)).unwrap().1.is_empty());
}

fn t(v: &[f64], dims: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), dims, &Device::Cpu).unwrap()
}

/// States `h_0 = (1, 0)`, `h_1 = (0, 1)` and a padded `h_2 = (5, 5)` (length 2).
fn memory() -> Memory {
    Memory::new(t(&[1., 0., 0., 1., 5., 5.], &[1, 3, 2]), vec![2]).unwrap()
}

#[test]
fn luong_general_score_by_hand() {
    // W_a = [[2, 0], [0, 1]], h_t = (ln 3 / 2, 0): scores h_tᵀ W_a h_j = (ln 3, 0, ·), so the
    // weights are (3/4, 1/4, 0) and the context (3/4, 1/4).
    let eye = Linear::new(t(&[2., 0., 0., 1.], &[2, 2]), t(&[0., 0.], &[2]));
    let a = Luong { w_a: eye };
    let mut mem = memory();
    mem.keys = a.prepare(&mem.states, &mem.lens, Kernels::Fused).unwrap();
    let q = t(&[3f64.ln() / 2.0, 0.], &[1, 2]);
    let r = a.step(&q, &mem, &AttnState::default(), Kernels::Fused).unwrap();
    assert_close(&vals(&r.weights), &[0.75, 0.25, 0.0], 0.0, 1e-15, "luong weights");
    assert_close(&vals(&r.context), &[0.75, 0.25], 0.0, 1e-15, "luong context");
    assert_eq!(r.state.step, 1);
    assert_eq!(vals(r.state.prev.as_ref().unwrap()), vals(&r.weights), "the state carries the weights");
}

#[test]
fn bahdanau_additive_score_by_hand() {
    // W_q = W_k = I, b = 0, v = (1, 1), s = (1, 0): e_j = Σ tanh(s + h_j), so
    // e_0 = tanh 2 + tanh 0, e_1 = tanh 1 + tanh 1; weights softmax(e_0, e_1), 0 on padding.
    let eye = || Linear::new(t(&[1., 0., 0., 1.], &[2, 2]), t(&[0., 0.], &[2]));
    let a = Bahdanau { w_q: eye(), w_k: eye(), v: t(&[1., 1.], &[2, 1]) };
    let mut mem = memory();
    mem.keys = a.prepare(&mem.states, &mem.lens, Kernels::Reference).unwrap();
    let q = t(&[1., 0.], &[1, 2]);
    let state = AttnState { step: 4, prev: None };
    let r = a.step(&q, &mem, &state, Kernels::Reference).unwrap();
    let (e0, e1) = (2f64.tanh(), 2.0 * 1f64.tanh());
    let w0 = 1.0 / (1.0 + (e1 - e0).exp());
    assert_close(&vals(&r.weights), &[w0, 1.0 - w0, 0.0], 0.0, 1e-15, "bahdanau weights");
    assert_close(&vals(&r.context), &[w0, 1.0 - w0], 0.0, 1e-15, "bahdanau context");
    assert_eq!(r.state.step, 5);
}

#[test]
fn greedy_decoding_equals_recomputation() {
    let (src, src_pad, ..) = common::s2s_batch();
    for (layers, attention, feeding) in CASES {
        let (net, _) = build(&lstm(layers, attention, feeding), DType::F64);
        let m = inner(&net).detached();
        let steps = 5;
        let d = rnn_s2s::decode::greedy(&m, &src, Some(&src_pad), 6, steps).unwrap();
        assert_eq!(d.tokens.iter().map(Vec::len).collect::<Vec<_>>(), [steps, steps]);
        // Teacher forcing on `<sep>` + the greedy prefix recomputes every step's logits.
        let rows: Vec<Vec<u32>> = d.tokens.iter().map(|r| [&[6][..], &r[..steps - 1]].concat()).collect();
        let prefix = tokens(&[&rows[0], &rows[1]]);
        let full = m.forward(&src, Some(&src_pad), &prefix, None).unwrap(); // (2, steps, V)
        for (s, logits) in d.logits.iter().enumerate() {
            let want = vals(&full.narrow(1, s, 1).unwrap().squeeze(1).unwrap());
            assert_close(&vals(logits), &want, 0.0, 1e-12, &format!("{attention:?} step {s}"));
        }
    }
}

#[test]
fn param_count_matches_the_registry() {
    for (layers, attention, feeding) in CASES {
        let c = lstm(layers, attention, feeding);
        let (_, params) = build(&c, DType::F32);
        let io = ModelIo { vocab_in: V, vocab_out: V };
        assert_eq!(model::param_count(&Arch::Lstm(c), io), params.count(), "{layers} {attention:?} {feeding}");
    }
}

#[test]
fn a_tiny_recurrent_seq2seq_run_is_deterministic_and_learns() {
    // Reverse of a binary string with Bahdanau and Luong decoders: two runs with one seed give
    // bit-identical losses and results, and the loss falls (common::spec_run).
    let text = r#"
        task rev { alphabet = "01", input = string(alphabet), target = reverse(input), format = seq2seq }
        split s { train = len 2..=4, test = len 5..=5, count = 4 }
        model b = lstm { kind = seq2seq, attention = bahdanau, hidden = 16, embed = 8 }
        model l = lstm { kind = seq2seq, attention = luong, hidden = 16, embed = 8 }
        experiment eb { task = rev, model = b, split = s, train { steps = 30, batch = 8, optimizer = adam(lr = 1e-2) } }
        experiment el { task = rev, model = l, split = s, train { steps = 30, batch = 8, optimizer = adam(lr = 1e-2) } }
    "#;
    common::spec_run::assert_deterministic_and_learns(&["eb", "el"], |exp| {
        common::spec_run::train_spec(text, exp, 0, model::Kernels::Fused, None)
    });
}
