//! Cached decoding: attention over a key/value cache equals full causal attention, and greedy
//! decoding with the cache picks the same tokens as re-running the whole prefix.

use algen::ir::model::{Arch, ModelKind, Norm, Position, TransformerCfg};
use algen::model::ops::{self, Alibi, AttnSpec, KvLayer};
use algen::model::{self, decode, ModelIo, Net};
use candle_core::{DType, Device, Result, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

fn rand_t(rng: &mut ChaCha8Rng, dims: &[usize]) -> Tensor {
    let n = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, dims, &Device::Cpu).unwrap()
}

fn vals(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

/// Feeding a sequence in chunks (a prompt of 3, then single tokens, then a chunk of 2 —
/// enough to cross query blocks) gives the same context as one full causal pass, with and
/// without ALiBi (at the indices and at explicit ids) and windows.
#[test]
fn cached_attention_equals_full_causal_attention() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (b, t, d, h) = (3, 9, 6, 3);
    let specs = [
        AttnSpec { heads: h, causal: true, ..AttnSpec::default() },
        AttnSpec {
            heads: h,
            causal: true,
            alibi: Some(Alibi::new(Alibi::standard_slopes(h), 0.0)),
            window: Some(Arc::new(vec![1, 4, 0])),
            ..AttnSpec::default()
        },
        AttnSpec {
            heads: h,
            causal: true,
            alibi: Some(Alibi {
                positions: Some(Arc::new(vec![0, 2, 3, 7, 8, 20, 21, 30, 44])),
                ..Alibi::new(Alibi::standard_slopes(h), 0.0)
            }),
            ..AttnSpec::default()
        },
    ];
    for spec in &specs {
        let qkv = rand_t(&mut rng, &[b, t, 3 * d]);
        let full = vals(&ops::attention(&qkv, spec, None)?);
        let mut cache = KvLayer::new(b, t, d, DType::F64)?;
        let mut got = vec![vec![]; b];
        for (start, n) in [(0, 3), (3, 1), (4, 1), (5, 2), (7, 2)] {
            let part = ops::attention_cached(&qkv.narrow(1, start, n)?, &mut cache, spec)?;
            for (bi, g) in got.iter_mut().enumerate() {
                g.extend(vals(&part.get(bi)?));
            }
        }
        let got: Vec<f64> = got.concat();
        for (i, (a, e)) in got.iter().zip(&full).enumerate() {
            assert!((a - e).abs() < 1e-12, "element {i}: cached {a} vs full {e} ({spec:?})");
        }
        assert!(ops::attention_cached(&qkv.narrow(1, 0, 1)?, &mut cache, spec).is_err(), "cache is full");
    }
    Ok(())
}

fn decoder(norm: Norm, position: Position) -> Arch {
    Arch::Transformer(TransformerCfg {
        kind: ModelKind::Decoder,
        layers: 2,
        d_model: 16,
        heads: 4,
        ffn: 24,
        norm,
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

fn randomized(base: Position) -> Position {
    Position::Randomized { base: Box::new(base), max_len: 64, eval: true, per_layer: false }
}

/// Greedy decoding with the cache = re-running the prefix every step (the reference), for
/// pre- and post-norm decoders with every position scheme the cache supports, in f64 and
/// f32; randomized schemes draw the sequence's positions once in both paths (two evaluation
/// copies seeded alike). The other schemes report `cacheable` = false.
#[test]
fn cached_greedy_decoding_matches_recomputation() -> Result<()> {
    let io = ModelIo { vocab_in: 7, vocab_out: 7 };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let cached_schemes = [
        Position::None,
        Position::Sinusoidal,
        Position::Learned { max_len: 40 },
        Position::Rope { base: 10000.0 },
        Position::Alibi,
        Position::HardAlibi { masked: 2 },
        randomized(Position::Sinusoidal),
        randomized(Position::Learned { max_len: 64 }),
        randomized(Position::Rope { base: 10000.0 }),
        randomized(Position::Alibi),
        Position::Coupled { max_position: 64, random_start: true },
    ];
    for norm in [Norm::Pre, Norm::Post, Norm::Lee] {
        for pos in &cached_schemes {
            for dtype in [DType::F64, DType::F32] {
                let (net, _) = model::build_with(&decoder(norm, pos.clone()), io, 5, dtype)?;
                let (fast, slow_net) = (net.evaluation(9), net.evaluation(9));
                let Net::Transformer(t) = &fast else { panic!("a transformer") };
                assert!(decode::cacheable(t), "{pos:?}");
                let prompts: Vec<Vec<u32>> = (0..4).map(|_| (0..6).map(|_| rng.gen_range(0..7)).collect()).collect();
                let cached = decode::greedy(t, &prompts, 12)?;
                let mut seqs = prompts.clone();
                algen::eval::decode_uncached(&slow_net, &mut seqs, 4, 12)
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
                let slow: Vec<Vec<u32>> = seqs.iter().map(|s| s[6..].to_vec()).collect();
                assert_eq!(cached, slow, "{norm:?} {pos:?} {dtype:?}");
            }
        }
    }
    let uncached = [
        Position::SinusoidalReversed,
        Position::Relative,
        Position::T5 { buckets: 8, max_distance: 16 },
        randomized(Position::Relative),
    ];
    for pos in uncached {
        let (net, _) = model::build(&decoder(Norm::Pre, pos.clone()), io, 5)?;
        let Net::Transformer(t) = &net else { panic!("a transformer") };
        assert!(!decode::cacheable(t), "{pos:?} falls back to recomputation");
        let mut seqs = vec![vec![1, 2, 3]; 2];
        algen::eval::decode_uncached(&net.evaluation(1), &mut seqs, 2, 3)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        assert!(seqs.iter().all(|s| s.len() == 6), "{pos:?} decodes without the cache");
    }
    Ok(())
}

#[test]
fn decoding_rejects_bad_prompts_and_encoders() -> Result<()> {
    let io = ModelIo { vocab_in: 5, vocab_out: 5 };
    let (net, _) = model::build(&decoder(Norm::Pre, Position::Learned { max_len: 8 }), io, 1)?;
    let Net::Transformer(t) = &net else { panic!("a transformer") };
    assert!(decode::greedy(t, &[vec![1, 2], vec![1]], 2).is_err(), "ragged prompts");
    assert!(decode::greedy(t, &[vec![1; 6]], 4).is_err(), "beyond the learned table: an error, not a panic");
    assert_eq!(decode::greedy(t, &[vec![1, 2]], 0)?, vec![Vec::<u32>::new()]);
    let Arch::Transformer(mut cfg) = decoder(Norm::Pre, Position::None) else { panic!("a transformer") };
    cfg.kind = ModelKind::Encoder;
    let (enc, _) = model::build(&Arch::Transformer(cfg), io, 1)?;
    let Net::Transformer(e) = &enc else { panic!("a transformer") };
    assert!(!decode::cacheable(e));
    assert!(decode::greedy(e, &[vec![1]], 1).is_err());
    Ok(())
}
