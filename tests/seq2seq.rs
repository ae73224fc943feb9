//! The encoder–decoder transformer (`kind = seq2seq`) and the `seq2seq` format. Oracles:
//! central finite differences in f64 (every parameter, padding on both sides), the reference
//! kernels, the teacher-forced forward pass recomputed at every decoding step (cached decoding
//! must give the same logits), `Params::count` for the parameter formula, and hand-written
//! layouts.

mod common;

use algen::ir::model::{ModelKind, Norm, Position};
use algen::ir::{Arch, Format, Task, TaskKind};
use algen::model::{self, decode_s2s, ModelIo, Net};
use algen::task::{self, Example};
use candle_core::DType;
use common::{assert_close, cfg, model_grads_check, tokens, vals};

fn s2s(norm: Norm, position: Position, enc: usize, dec: usize) -> algen::ir::TransformerCfg {
    cfg(
        ModelKind::Seq2seq { encoder_layers: enc, decoder_layers: dec, cross_attention: Default::default() },
        norm,
        position,
    )
}

fn build(c: &algen::ir::TransformerCfg, dtype: DType) -> (Net, model::Params) {
    model::build_with(&Arch::Transformer(c.clone()), ModelIo { vocab_in: 7, vocab_out: 7 }, 5, dtype).unwrap()
}

#[test]
fn gradients_match_finite_differences_with_padding_on_both_sides() {
    let (src, src_pad, tgt, pad, targets, mask) = common::s2s_batch();
    let cases = [
        (Norm::Pre, Position::Rope { base: 10000.0 }),
        (Norm::Post, Position::Learned { max_len: 6 }),
        (Norm::Lee, Position::Alibi),
        (Norm::Pre, Position::Sinusoidal),
    ];
    for (norm, pos) in cases {
        let what = format!("seq2seq {norm:?} {}", pos.name());
        let (net, params) = build(&s2s(norm, pos, 2, 1), DType::F64);
        let loss = |n: &Net| {
            let logits = n.forward_s2s(&src, Some(&src_pad), &tgt, Some(&pad), None)?;
            model::cross_entropy_masked(&logits, &targets, &mask)
        };
        model_grads_check(&net, &params, &loss, &what);
    }
}

#[test]
fn padding_is_hidden_on_both_sides() {
    // Changing padded tokens (source and decoder) changes no logit at a real position.
    let (src, src_pad, tgt, pad, _, _) = common::s2s_batch();
    let (net, _) = build(&s2s(Norm::Pre, Position::Learned { max_len: 6 }, 1, 2), DType::F64);
    let a = vals(&net.forward_s2s(&src, Some(&src_pad), &tgt, Some(&pad), None).unwrap());
    let src2 = tokens(&[&[1, 2, 3, 4], &[2, 5, 6, 1]]);
    let tgt2 = tokens(&[&[6, 1, 2], &[6, 3, 4]]);
    let b = vals(&net.forward_s2s(&src2, Some(&src_pad), &tgt2, Some(&pad), None).unwrap());
    let real = |v: &[f64]| v[..3 * 7 + 2 * 7].to_vec(); // row 0, then row 1's two real positions
    assert_close(&real(&a), &real(&b), 0.0, 1e-12, "logits at real positions");
    assert_ne!(a, b, "the padded position itself does see its token");
}

#[test]
fn cached_greedy_decoding_equals_recomputation() {
    let (src, src_pad, ..) = common::s2s_batch();
    let positions = [
        Position::None,
        Position::Sinusoidal,
        Position::Learned { max_len: 8 },
        Position::Rope { base: 100.0 },
        Position::Alibi,
    ];
    for (i, pos) in positions.into_iter().enumerate() {
        let norm = [Norm::Pre, Norm::Post, Norm::Lee][i % 3];
        let (net, _) = build(&s2s(norm, pos.clone(), 1, 2), DType::F64);
        let Net::Seq2seq(m) = net.detached() else { panic!("a seq2seq net") };
        let steps = 6;
        let out = decode_s2s::greedy(&m, &src, Some(&src_pad), 6, steps).unwrap();
        assert_eq!(out.logits.len(), steps);
        for k in 0..steps {
            // The decoder's input at step k: the start token, then the k tokens decoded so far.
            let rows: Vec<Vec<u32>> = out.tokens.iter().map(|r| [&[6u32][..], &r[..k]].concat()).collect();
            let prefix = tokens(&rows.iter().map(Vec::as_slice).collect::<Vec<_>>());
            let full = m.forward(&src, Some(&src_pad), &prefix, None, None).unwrap();
            let last = full.narrow(1, k, 1).unwrap().squeeze(1).unwrap();
            let what = format!("{} {norm:?} step {k}", pos.name());
            assert_close(&vals(&last), &vals(&out.logits[k]), 1e-9, 1e-10, &what);
        }
    }
}

#[test]
fn param_count_matches_the_registry() {
    let mut c = s2s(Norm::Pre, Position::Learned { max_len: 9 }, 3, 2);
    for variant in 0..3 {
        match variant {
            1 => {
                c.norm_type = algen::ir::NormType::RmsNorm;
                c.head_bias = false;
            }
            2 => {
                c.norm = Norm::Post;
                c.attn_bias_init = algen::ir::AttnBiasInit::None;
                c.position = Position::Rope { base: 10000.0 };
            }
            _ => {}
        }
        let (_, params) = build(&c, DType::F32);
        let io = ModelIo { vocab_in: 7, vocab_out: 7 };
        assert_eq!(model::param_count(&Arch::Transformer(c.clone()), io), params.count(), "variant {variant}");
    }
    let (_, params) = build(&s2s(Norm::Pre, Position::Learned { max_len: 9 }, 1, 1), DType::F32);
    let names: Vec<String> = params.list().into_iter().map(|(n, _)| n).collect();
    for n in ["encoder.pos_embed.weight", "decoder.pos_embed.weight", "decoder.layers.0.cross.kv.weight"] {
        assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
    }
}

#[test]
fn seq2seq_layout_reads_source_and_shifted_target() {
    // Hand layout: shared vocabulary a=0, b=1, <sep>=2, <eos>=3 (the lm layout).
    let t = Task {
        name: "rev".into(),
        alphabet: vec!["a".into(), "b".into()],
        kind: TaskKind::Expr {
            target: algen::ir::Expr {
                kind: algen::ir::ExprKind::Call(
                    algen::ir::Builtin::Reverse,
                    vec![algen::ir::Expr { kind: algen::ir::ExprKind::Input, span: Default::default() }],
                ),
                span: Default::default(),
            },
        },
        format: Format::Seq2seq,
        outputs: vec!["a".into(), "b".into()],
        score_until: None,
        span: Default::default(),
    };
    let v = task::vocab(&t);
    assert_eq!(v.input, ["a", "b", "<sep>", "<eos>"]);
    let e = task::encode(&t, &v, &Example { input: vec![0, 0, 1], target: vec![1, 0, 0] });
    assert_eq!(e.source.as_deref(), Some(&[0, 0, 1, 3][..]));
    assert_eq!(e.tokens, [2, 1, 0, 0]);
    assert_eq!(e.targets, [1, 0, 0, 3]);
    assert_eq!(e.loss_mask, [1.0; 4]);
    let short = task::encode(&t, &v, &Example { input: vec![1], target: vec![1] });
    let b = task::batch(&[e, short]);
    let s = b.source.expect("sources");
    assert_eq!((b.t, s.s), (4, 4));
    assert_eq!(s.tokens, [0, 0, 1, 3, 1, 3, 0, 0]);
    assert_eq!(s.pad, [1., 1., 1., 1., 1., 1., 0., 0.]);
    assert_eq!(b.pad, [1., 1., 1., 1., 1., 1., 0., 0.]);
}

#[test]
fn a_tiny_seq2seq_run_is_deterministic_and_learns() {
    // Reverse of a binary string with a 1+1-layer encoder–decoder: two runs with one seed give
    // bit-identical losses and results, and the loss falls (common::spec_run).
    let text = r#"
        task rev { alphabet = "01", input = string(alphabet), target = reverse(input), format = seq2seq }
        split s { train = len 2..=4, test = len 5..=5, count = 4 }
        model m = transformer { kind = seq2seq, encoder_layers = 1, decoder_layers = 1, d_model = 16, heads = 2, ffn = 32, norm = pre, position = sinusoidal }
        experiment e { task = rev, model = m, split = s, train { steps = 30, batch = 8, optimizer = adam(lr = 1e-2) } }
    "#;
    common::spec_run::assert_deterministic_and_learns(&["e"], |exp| {
        common::spec_run::train_spec(text, exp, 0, model::Kernels::Fused, None)
    });
}
