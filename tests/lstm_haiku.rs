//! `lstm { style = haiku }`: the Chomsky-hierarchy benchmark's `hk.LSTM` inside `make_rnn`
//! (Delétang et al. 2023). Oracles: the `hk.LSTM` equations evaluated by hand (one-hot input,
//! forget gate σ(z_f + 1), readout on relu(h)), central finite differences (f64), the
//! reference kernels, and Haiku's `hk.Linear` init (truncated at ±2σ, σ = 1/√fan_in, zero bias).

mod common;

use algen::ir::model::{Arch, LstmCfg, LstmStyle};
use algen::model::{self, Kernels, ModelIo, Net};
use candle_core::{DType, Device, Result, Tensor};
use common::*;

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

fn haiku(layers: usize, hidden: usize) -> Arch {
    Arch::Lstm(LstmCfg { layers, hidden, embed: hidden, style: LstmStyle::Haiku, seq2seq: None })
}

fn loss_of(net: &Net) -> Result<Tensor> {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1]]);
    model::cross_entropy_masked(&net.forward(&x, Some(&pad), None)?, &y, &pad)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One unit, two steps of token 0, recurrent weight r on every gate: by hand,
/// z_t = a + r·h_{t−1}, c_t = σ(z_f + 1)·c_{t−1} + σ(z_i)·tanh(z_g), h_t = σ(z_o)·tanh(c_t),
/// logit_t = w·relu(h_t) (zero head bias).
#[test]
fn one_unit_matches_the_hk_lstm_equations() -> Result<()> {
    let io = ModelIo { vocab_in: 2, vocab_out: 1 };
    let (net, params) = model::build_with(&haiku(1, 1), io, 0, DType::F64)?;
    let (ai, af, ag, ao, r, w) = (0.5, -0.3, 0.8, 0.2, 0.7, 1.5);
    let set = |n: &str, v: &[f64], dims: &[usize]| {
        params.get(n).unwrap().set(&Tensor::from_vec(v.to_vec(), dims, &Device::Cpu).unwrap()).unwrap()
    };
    // algen's row order i, f, g, o; column 0 reads token 0.
    set("lstm.0.w_ih", &[ai, 0.0, af, 0.0, ag, 0.0, ao, 0.0], &[4, 2]);
    set("lstm.0.w_hh", &[r, r, r, r], &[4, 1]);
    set("head.weight", &[w], &[1, 1]);
    let got = vals(&net.forward(&tokens(&[&[0, 0]]), None, None)?);
    let (mut h, mut c, mut want) = (0.0f64, 0.0f64, vec![]);
    for _ in 0..2 {
        let (zi, zf, zg, zo) = (ai + r * h, af + r * h, ag + r * h, ao + r * h);
        c = sigmoid(zf + 1.0) * c + sigmoid(zi) * zg.tanh();
        h = sigmoid(zo) * c.tanh();
        want.push(w * h.max(0.0));
    }
    assert_close(&got, &want, 1e-12, 1e-14, "haiku lstm by hand");
    // A negative hidden state is cut by the readout's ReLU.
    set("head.weight", &[w], &[1, 1]);
    set("lstm.0.w_ih", &[ai, 0.0, af, 0.0, -ag, 0.0, ao, 0.0], &[4, 2]);
    assert!(vals(&net.forward(&tokens(&[&[0]]), None, None)?)[0] == 0.0, "relu(h) with h < 0");
    Ok(())
}

#[test]
fn gradients_match_finite_differences_and_reference() {
    for a in [haiku(1, 3), haiku(2, 4)] {
        let (net, params) = model::build_with(&a, IO, 17, DType::F64).unwrap();
        model_grads_check(&net, &params, &loss_of, &format!("{a:?}"));
    }
}

/// Names, shapes, count and `hk.Linear` init: truncated N(0, 1/fan_in) within ±2σ, fan_in =
/// V_in + H for both parts of a layer's weight, H for the head; zero biases.
#[test]
fn parameters_follow_hk_linear() {
    let a = haiku(2, 8);
    let (_, p) = model::build(&a, IO, 3).unwrap();
    let list: Vec<(String, Vec<usize>)> = p.list();
    let want: Vec<(&str, Vec<usize>)> = vec![
        ("lstm.0.w_ih", vec![32, 5]),
        ("lstm.0.w_hh", vec![32, 8]),
        ("lstm.0.bias", vec![32]),
        ("lstm.1.w_ih", vec![32, 8]),
        ("lstm.1.w_hh", vec![32, 8]),
        ("lstm.1.bias", vec![32]),
        ("head.weight", vec![4, 8]),
        ("head.bias", vec![4]),
    ];
    let want: Vec<(String, Vec<usize>)> = want.into_iter().map(|(n, d)| (n.to_string(), d)).collect();
    assert_eq!(list, want);
    assert_eq!(model::param_count(&a, IO), p.count());
    assert_eq!(p.count(), 32 * 13 + 32 + 32 * 16 + 32 + 4 * 8 + 4);
    for (n, v) in p.named() {
        let x = vals(v.as_tensor());
        let fan_in = match n.as_str() {
            "lstm.0.w_ih" | "lstm.0.w_hh" => 13.0,
            "lstm.1.w_ih" | "lstm.1.w_hh" => 16.0,
            "head.weight" => 8.0,
            _ => {
                assert!(x.iter().all(|&b| b == 0.0), "{n}: zero bias");
                continue;
            }
        };
        let sigma = 1.0 / f64::sqrt(fan_in);
        assert!(x.iter().all(|v| v.abs() <= 2.0 * sigma), "{n}: within ±2σ");
        let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
        // The ±2σ-truncated unit normal has standard deviation 0.8796 (checked on the large
        // tensors only: the head's 32 draws are too few for a tight bound).
        if x.len() >= 128 {
            assert!((rms / sigma - 0.88).abs() < 0.15, "{n}: rms {rms} vs σ {sigma}");
        }
    }
}

#[test]
fn fused_f32_matches_reference_and_padding_is_exact() -> Result<()> {
    let (net, _) = model::build(&haiku(1, 6), IO, 5)?;
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let fused = vals(&net.forward(&x, None, None)?);
    let reference = vals(&net.clone().with_kernels(Kernels::Reference).forward(&x, None, None)?);
    assert_close(&fused, &reference, 1e-5, 1e-6, "f32 fused vs reference");
    // Outputs are causal: a prefix's logits do not depend on later tokens.
    let prefix = vals(&net.forward(&tokens(&[&[1, 4, 2]]), None, None)?);
    assert_close(&prefix, &fused[..3 * 4], 1e-6, 1e-7, "causal prefix");
    assert!(net.forward(&tokens(&[&[7]]), None, None).is_err(), "token outside the vocabulary");
    Ok(())
}
