//! The LSTM: the fused recurrence op and the stacked-LSTM model. Oracles: a hand computation
//! (1 unit, 1 and 2 steps), central finite differences (every gradient), the step-by-step
//! reference `lstm_ref` built from plain candle ops, PyTorch's parameter count, and properties
//! (determinism, causality, right padding); a tiny training run through the spec language.

use algen::ir::model::{Arch, LstmCfg};
use algen::model::ops::{self, Kernels};
use algen::model::{self, ModelIo, Net};
use candle_core::{DType, Device, Result, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::*;

/// The binary's allocator (DESIGN §7: glibc's page faults would dominate the timing below).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ---------------------------------------------------------------- helpers (shared ones: tests/common)

fn f64_t(v: &[f64], dims: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), dims, &Device::Cpu).unwrap()
}

// ---------------------------------------------------------------- the fused op

/// One unit, gate pre-activations z = (i, f, g, o) = (0.5, −0.3, 0.8, 1.2), h0 = c0 = 0.
/// By hand: σ(0.5) = 0.622459, tanh(0.8) = 0.664037, so c1 = 0.622459·0.664037 = 0.413336;
/// h1 = σ(1.2)·tanh(c1) = 0.768525·0.391297 = 0.300725 (f·c0 = 0 whatever f is).
/// Step 2 with w_hh = (0.4, −0.6, 0.9, 0.2) and x2 = (−0.1, 0.7, −0.5, 0.3):
/// z2 = x2 + w_hh·h1 = (0.020290, 0.519565, −0.229347, 0.360145),
/// c2 = σ(0.519565)·c1 + σ(0.020290)·tanh(−0.229347) = 0.627044·0.413336 − 0.505072·0.225425
///    = 0.145333; h2 = σ(0.360145)·tanh(c2) = 0.589076·0.144318 = 0.085014.
#[test]
fn one_unit_matches_hand_computation() {
    let w = f64_t(&[0.4, -0.6, 0.9, 0.2], &[4, 1]);
    let x1 = f64_t(&[0.5, -0.3, 0.8, 1.2], &[1, 1, 4]);
    let x2 = f64_t(&[0.5, -0.3, 0.8, 1.2, -0.1, 0.7, -0.5, 0.3], &[1, 2, 4]);
    for (x, want) in [(x1, vec![0.300725]), (x2, vec![0.300725, 0.085014])] {
        for (dt, tol) in [(DType::F64, 1e-6), (DType::F32, 2e-6)] {
            let (x, w) = (x.to_dtype(dt).unwrap(), w.to_dtype(dt).unwrap());
            assert_close(&vals(&ops::lstm(&x, &w).unwrap()), &want, 0.0, tol, &format!("fused {dt:?}"));
            assert_close(&vals(&ops::lstm_ref(&x, &w).unwrap()), &want, 0.0, tol, &format!("reference {dt:?}"));
        }
    }
}

/// (B, T, H) shapes: single step, single row, H not a multiple of 8, and a longer sequence.
const SHAPES: &[(usize, usize, usize)] = &[(1, 1, 1), (1, 1, 3), (2, 1, 4), (1, 6, 3), (3, 4, 5), (2, 7, 9)];

#[test]
fn fused_gradients_match_finite_differences_and_reference() {
    for (k, &(b, t, h)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
        let x = rand_var(&mut rng, &[b, t, 4 * h]);
        let w = rand_var(&mut rng, &[4 * h, h]);
        let fused = || project(&ops::lstm(x.as_tensor(), w.as_tensor())?, 99);
        let reference = || project(&ops::lstm_ref(x.as_tensor(), w.as_tensor())?, 99);
        let vars = [("xproj", &x), ("w_hh", &w)];
        if t > 1 {
            grad_check(&vars, &fused, 40);
            grad_check(&vars, &reference, 12);
        } else {
            // One step: h0 = 0, so w_hh gets exactly zero gradient.
            grad_check(&vars[..1], &fused, 40);
        }
        same_grads(&[&x, &w], &fused, &reference, &format!("lstm {b}x{t}x{h}"));
    }
}

#[test]
fn gradient_flows_to_either_input_alone() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (x, w) = (rand_var(&mut rng, &[2, 3, 8]), rand_var(&mut rng, &[8, 2]));
    let (xc, wc) = (x.as_tensor().detach(), w.as_tensor().detach());
    let g = project(&ops::lstm(x.as_tensor(), &wc).unwrap(), 1).unwrap().backward().unwrap();
    let r = project(&ops::lstm_ref(x.as_tensor(), &wc).unwrap(), 1).unwrap().backward().unwrap();
    assert_close(&vals(g.get(&x).unwrap()), &vals(r.get(&x).unwrap()), 1e-9, 1e-12, "xproj only");
    let g = project(&ops::lstm(&xc, w.as_tensor()).unwrap(), 1).unwrap().backward().unwrap();
    let r = project(&ops::lstm_ref(&xc, w.as_tensor()).unwrap(), 1).unwrap().backward().unwrap();
    assert_close(&vals(g.get(&w).unwrap()), &vals(r.get(&w).unwrap()), 1e-9, 1e-12, "w_hh only");
    // Detached inputs: forward only, same values.
    assert_eq!(vals(&ops::lstm(&xc, &wc).unwrap()), vals(&ops::lstm(x.as_tensor(), w.as_tensor()).unwrap()));
}

#[test]
fn bad_shapes_and_dtypes_are_errors() {
    let z = |dims: &[usize], dt: DType| Tensor::zeros(dims, dt, &Device::Cpu).unwrap();
    let (x, w) = (z(&[2, 3, 8], DType::F32), z(&[8, 2], DType::F32));
    assert!(ops::lstm(&x, &w).is_ok() && ops::lstm_ref(&x, &w).is_ok());
    for bad in [&[8, 3][..], &[6, 2], &[8, 2, 1], &[0, 2]] {
        let w = z(bad, DType::F32);
        assert!(ops::lstm(&x, &w).is_err() && ops::lstm_ref(&x, &w).is_err(), "w_hh {bad:?}");
    }
    assert!(ops::lstm(&z(&[6, 8], DType::F32), &w).is_err(), "xproj of rank 2");
    assert!(ops::lstm(&z(&[2, 3, 8], DType::F64), &w).is_err(), "mixed dtypes");
    assert!(ops::lstm(&z(&[2, 3, 8], DType::U32), &z(&[8, 2], DType::U32)).is_err(), "u32");
    let empty = ops::lstm(&z(&[2, 0, 8], DType::F32), &w).expect("T = 0 is an empty sequence");
    assert_eq!(empty.dims(), [2, 0, 2]);
}

// ---------------------------------------------------------------- the model

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

fn arch(layers: usize, hidden: usize, embed: usize) -> Arch {
    Arch::Lstm(LstmCfg { layers, hidden, embed, style: Default::default(), seq2seq: None })
}

fn tokens(rows: &[&[u32]]) -> Tensor {
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

fn f32_mat(rows: &[&[f32]]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

/// Two rows, the second right-padded after three tokens.
fn batch() -> (Tensor, Tensor, Tensor, Tensor) {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1]]);
    (x, pad.clone(), y, pad)
}

fn loss_of(net: &Net) -> Result<Tensor> {
    let (x, pad, y, mask) = batch();
    model::cross_entropy_masked(&net.forward(&x, Some(&pad), None)?, &y, &mask)
}

#[test]
fn model_gradients_match_finite_differences_and_reference() {
    // Every parameter tensor (embedding, w_ih, w_hh, both biases of every layer, head) gets a
    // non-zero gradient equal to central differences and to the reference model's.
    for a in [arch(1, 3, 4), arch(2, 5, 3)] {
        let (net, params) = model::build_with(&a, IO, 17, DType::F64).unwrap();
        model_grads_check(&net, &params, &loss_of, &format!("{a:?}"));
    }
}

fn random_tokens(seed: u64, b: usize, t: usize, vocab: u32) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ids: Vec<u32> = (0..b * t).map(|_| rng.gen_range(0..vocab)).collect();
    Tensor::from_vec(ids, (b, t), &Device::Cpu).unwrap()
}

#[test]
fn f32_fused_matches_reference() {
    let x = random_tokens(1, 4, 7, IO.vocab_in as u32);
    for a in [arch(2, 16, 8), arch(1, 9, 9)] {
        let (net, _) = model::build(&a, IO, 23).unwrap();
        let fused = vals(&net.forward(&x, None, None).unwrap());
        let reference = vals(&net.with_kernels(Kernels::Reference).forward(&x, None, None).unwrap());
        assert_close(&fused, &reference, 1e-5, 1e-5, &format!("{a:?} f32 logits"));
    }
}

#[test]
fn same_seed_gives_bit_identical_logits() {
    let a = arch(2, 12, 6);
    let x = random_tokens(2, 3, 6, IO.vocab_in as u32);
    let run = |seed: u64| vals(&model::build(&a, IO, seed).unwrap().0.forward(&x, None, None).unwrap());
    assert_eq!(run(42), run(42), "same seed");
    assert_ne!(run(42), run(43), "different seed");
    let (net, _) = model::build(&a, IO, 42).unwrap();
    assert_eq!(vals(&net.detached().forward(&x, None, None).unwrap()), run(42), "detached");
}

/// PyTorch's count for `nn.LSTM(256, 256, num_layers=2)` is 1_052_672 (4·(2·256² + 2·256)
/// per layer); plus a 3×256 embedding and a 256→2 head. FLOPs by the documented formula.
#[test]
fn parameter_count_and_flops() {
    let io = ModelIo { vocab_in: 3, vocab_out: 2 };
    let w = arch(2, 256, 256);
    assert_eq!(model::param_count(&w, io), 768 + 1_052_672 + 514);
    for (a, io) in [(w.clone(), io), (arch(1, 3, 4), IO), (arch(3, 5, 2), IO)] {
        assert_eq!(model::build(&a, io, 0).unwrap().1.count(), model::param_count(&a, io), "{a:?}");
    }
    // Per token: 8·256·512 (layer 0) + 8·256·512 (layer 1) + 2·256·2 (head) = 2_098_176.
    assert_eq!(model::flops_per_step(&w, io, 128, 80), 3 * 128 * 80 * 2_098_176);
}

#[test]
fn outputs_are_causal_and_right_padding_is_exact() {
    let (net, _) = model::build_with(&arch(2, 6, 4), IO, 5, DType::F64).unwrap();
    let at = |rows: &[&[u32]], pad: Option<&Tensor>| vals(&net.forward(&tokens(rows), pad, None).unwrap());
    // Changing the last token changes only the last position's logits.
    let (a, b) = (at(&[&[1, 2, 3, 4]], None), at(&[&[1, 2, 3, 0]], None));
    assert_eq!(a[..12], b[..12]);
    assert_ne!(a[12..], b[12..]);
    // A padded row's real positions equal the unpadded short row's.
    let short = at(&[&[2, 2, 3]], None);
    let padded = at(&[&[2, 2, 3, 1, 0]], Some(&f32_mat(&[&[1., 1., 1., 0., 0.]])));
    assert_close(&short, &padded[..12], 1e-12, 1e-14, "padded row");
    // Left padding, or a mask of the wrong shape, is an error.
    let x = tokens(&[&[0, 2, 3]]);
    assert!(net.forward(&x, Some(&f32_mat(&[&[0., 1., 1.]])), None).is_err(), "left padding");
    assert!(net.forward(&x, Some(&f32_mat(&[&[1., 1.]])), None).is_err(), "mask shape");
    assert!(net.forward(&tokens(&[&[0, 7]]), None, None).is_err(), "token outside the vocabulary");
    assert!(model::build(&arch(0, 4, 4), IO, 0).is_err() && model::build(&arch(1, 0, 4), IO, 0).is_err());
}

// ---------------------------------------------------------------- through the spec language

const SPEC: &str = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
task dup { alphabet = "01", input = string(alphabet), target = input ++ input, format = lm }
split s { train = len 1..=4, test = len 5..=6, count = 16 }
model m = lstm { layers = 2, hidden = 32 }
experiment enc { task = reverse, model = m, split = s, train { steps = 60, batch = 16, optimizer = adam(lr = 1e-2) } }
experiment dec { task = dup, model = m { layers = 1, embed = 8 }, split = s, train { steps = 60, batch = 16, optimizer = adam(lr = 1e-2), mixed_lengths = true } }
"#;

fn train_once(exp: &str) -> (Vec<f64>, String) {
    spec_run::train_spec(SPEC, exp, 7, Default::default(), None)
}

/// An encoder-format and an lm-format task (mixed lengths, so padded batches) train an LSTM
/// checked from a spec: same seed = bit-identical losses and results; the loss falls.
#[test]
fn tiny_lstm_runs_are_deterministic_and_learn() {
    spec_run::assert_deterministic_and_learns(&["enc", "dec"], train_once);
}

// ---------------------------------------------------------------- timing (not a test)

/// Forward + loss + backward of a 2-layer, hidden-256 LSTM on W's largest batch shape
/// (128 × 80 tokens, vocab 3 → 2). Run with
/// `cargo test --release --test lstm -- --ignored --nocapture bench`
/// (`ALGEN_BENCH=fused` times the fused kernels only).
#[test]
#[ignore = "timing only"]
fn bench_training_step() {
    let (a, io, b, t) = (arch(2, 256, 256), ModelIo { vocab_in: 3, vocab_out: 2 }, 128, 80);
    let x = random_tokens(0, b, t, 3);
    let y = random_tokens(1, b, t, 2);
    let mask = Tensor::ones((b, t), DType::F32, &Device::Cpu).unwrap();
    let which = match std::env::var("ALGEN_BENCH").as_deref() {
        Ok("fused") => vec![Kernels::Fused],
        _ => vec![Kernels::Fused, Kernels::Reference],
    };
    for kernels in which {
        let net = model::build(&a, io, 0).unwrap().0.with_kernels(kernels);
        let step = || {
            let logits = net.forward(&x, None, None).unwrap();
            model::cross_entropy_masked(&logits, &y, &mask).unwrap().backward().unwrap();
        };
        step();
        let n = if kernels == Kernels::Fused { 6 } else { 1 };
        let (mut total, mut best) = (0f64, f64::MAX);
        for _ in 0..n {
            let start = std::time::Instant::now();
            step();
            let dt = start.elapsed().as_secs_f64();
            (total, best) = (total + dt, best.min(dt));
        }
        let train = total / n as f64;
        let eval = net.detached();
        let start = std::time::Instant::now();
        eval.forward(&x, None, None).unwrap();
        let fwd = start.elapsed().as_secs_f64();
        let gf = model::flops_per_step(&a, io, b, t) as f64 / train / 1e9;
        println!(
            "{kernels:?}: train step {:.1} ms (best {:.1}; {:.2} steps/s, {gf:.1} GFLOP/s), eval forward {:.1} ms",
            train * 1e3,
            best * 1e3,
            1.0 / train,
            fwd * 1e3
        );
    }
}

// ---------------------------------------------------------------- the token-table first layer

/// The model from separate nodes (`embed`, `linear`, `lstm`). `table`: the first layer looks
/// up a `(V, 4H)` token table; otherwise it projects every position's input row (embedding or
/// one-hot) with one `(B·T, in) × (in, 4H)` GEMM, as every other layer does.
fn separate_nodes(l: &model::Lstm, x: &Tensor, table: bool) -> Result<Tensor> {
    let ids: Vec<u32> = x.flatten_all()?.to_vec1()?;
    let bt = x.dims2()?;
    let layer = |h: &Tensor, ly: &model::lstm::LstmLayer| {
        ops::lstm(&ops::linear(h, &ly.w_ih, &(&ly.b_ih + &ly.b_hh)?, false)?, &ly.w_hh)
    };
    let rows = l.input_rows()?;
    let mut h = match table {
        true => {
            let ly = &l.layers[0];
            let tab = ops::linear(&rows, &ly.w_ih, &(&ly.b_ih + &ly.b_hh)?, false)?; // (V, 4H)
            ops::lstm(&ops::embed(&tab, &ids, bt, 1.0, None)?, &ly.w_hh)?
        }
        false => layer(&ops::embed(&rows, &ids, bt, 1.0, None)?, &l.layers[0])?,
    };
    for ly in &l.layers[1..] {
        h = layer(&h, ly)?;
    }
    if l.cfg.style == algen::ir::model::LstmStyle::Haiku {
        h = h.relu()?;
    }
    l.head.forward(&h, Kernels::Fused)
}

/// Logits, loss and every gradient of the model (one fused node per layer, `lstm_tokens` and
/// `lstm_rows`) agree with the same computation from separate nodes, and with projecting every
/// position (no token table), within 1e-6 relative (of each tensor's largest entry), in f32
/// and f64, both styles; one-layer models equal the separate nodes bit for bit (the same
/// kernels in the same order). Not bit for bit otherwise: the GEMM kernel's blocking (and so
/// its summation order) depends on the row count (V vs B·T), dW_ih and the embedding's
/// gradient sum dZ per token before the product instead of inside one GEMM over B·T rows,
/// and on a CPU with AVX-512 `lstm_rows` projects with the packed recurrence's tiles
/// (`lstm_recur`) where `linear` runs the general GEMM.
#[test]
fn token_table_matches_projecting_every_position() {
    let (x, pad, y, mask) = batch();
    let haiku = |l, h| {
        Arch::Lstm(LstmCfg { layers: l, hidden: h, embed: h, style: algen::ir::model::LstmStyle::Haiku, seq2seq: None })
    };
    for a in [arch(2, 16, 8), arch(1, 9, 5), haiku(2, 12)] {
        for dt in [DType::F32, DType::F64] {
            let (net, params) = model::build_with(&a, IO, 5, dt).unwrap();
            let Net::Lstm(l) = &net else { panic!("not an lstm") };
            let what = format!("{a:?} {dt:?}");
            let new = net.forward(&x, Some(&pad), None).unwrap();
            let (tab, old) = (separate_nodes(l, &x, true).unwrap(), separate_nodes(l, &x, false).unwrap());
            let close = |a: &[f64], b: &[f64], what: &str| {
                let scale = b.iter().fold(0f64, |m, x| m.max(x.abs()));
                assert_close(a, b, 1e-6, 1e-6 * scale, what)
            };
            close(&vals(&new), &vals(&old), &format!("{what}: logits"));
            let loss = |z: &Tensor| model::cross_entropy_masked(z, &y, &mask).unwrap();
            let (ln, lt, lo) = (loss(&new), loss(&tab), loss(&old));
            close(&vals(&ln), &vals(&lo), &format!("{what}: loss"));
            let same = |a: &[f64], b: &[f64], what: &str| match l.layers.len() {
                1 => assert_eq!(a, b, "{what}"),
                _ => close(a, b, what),
            };
            same(&vals(&new), &vals(&tab), &format!("{what}: fused layer nodes vs separate nodes, logits"));
            same(&vals(&ln), &vals(&lt), &format!("{what}: fused layer nodes vs separate nodes, loss"));
            let (gn, gt, go) = (ln.backward().unwrap(), lt.backward().unwrap(), lo.backward().unwrap());
            for (name, v) in params.named() {
                let (n, t) = (vals(gn.get(v).unwrap()), vals(gt.get(v).unwrap()));
                close(&n, &vals(go.get(v).unwrap()), &format!("{what}: d {name}"));
                same(&n, &t, &format!("{what}: fused layer nodes vs separate nodes, d {name}"));
            }
        }
    }
}
