//! Helpers shared by the numerics tests (model, LSTM, positions): central finite
//! differences and fused-vs-reference agreement.
#![allow(dead_code)]

pub mod approx;
pub mod chomsky;
pub mod cli;
pub mod spec_run;

use candle_core::{DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn vals(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

pub fn rand_t(rng: &mut ChaCha8Rng, dims: &[usize], dtype: DType) -> Tensor {
    let n = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, dims, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

pub fn rand_var(rng: &mut ChaCha8Rng, dims: &[usize]) -> Var {
    Var::from_tensor(&rand_t(rng, dims, DType::F64)).unwrap()
}

/// |a − b| ≤ rtol·max(|a|, |b|) + atol, elementwise.
pub fn assert_close(a: &[f64], b: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(x.is_finite() && y.is_finite(), "{what}[{i}]: non-finite {x} vs {y}");
        let tol = rtol * x.abs().max(y.abs()) + atol;
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y} (tol {tol})");
    }
}

/// A fixed random projection turning an op's output into a scalar loss.
pub fn project(out: &Tensor, seed: u64) -> Result<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let r = rand_t(&mut rng, out.dims(), out.dtype());
    (out * r)?.sum_all()
}

/// Central-difference check of d loss / d var for (up to `per_var` elements of) each var; also
/// asserts that every var gets a non-zero gradient. Oracle: (f(x+h) − f(x−h)) / 2h.
pub fn grad_check(vars: &[(&str, &Var)], loss: &dyn Fn() -> Result<Tensor>, per_var: usize) {
    let grads = loss().unwrap().backward().unwrap();
    let h = 1e-6;
    for (name, var) in vars {
        let g = vals(grads.get(var).unwrap_or_else(|| panic!("{name}: no gradient")));
        assert!(g.iter().any(|v| v.abs() > 1e-12), "{name}: gradient is all zero");
        let x0 = vals(var.as_tensor());
        let picks: Vec<usize> = if x0.len() <= per_var {
            (0..x0.len()).collect()
        } else {
            (0..per_var).map(|k| ((k * x0.len()) / per_var + k % 3).min(x0.len() - 1)).collect()
        };
        let at = |i: usize, d: f64| {
            let mut x = x0.clone();
            x[i] += d;
            var.set(&Tensor::from_vec(x, var.dims(), &Device::Cpu).unwrap()).unwrap();
            let l = vals(&loss().unwrap())[0];
            var.set(&Tensor::from_vec(x0.clone(), var.dims(), &Device::Cpu).unwrap()).unwrap();
            l
        };
        for i in picks {
            let fd = (at(i, h) - at(i, -h)) / (2.0 * h);
            let tol = 1e-6 + 1e-5 * fd.abs().max(g[i].abs());
            assert!((fd - g[i]).abs() <= tol, "{name}[{i}]: analytic {} vs finite difference {fd}", g[i]);
        }
    }
}

/// Values and gradients (w.r.t. `vars`) of two scalar functions agree within 1e-5 relative.
pub fn same_grads(vars: &[&Var], a: &dyn Fn() -> Result<Tensor>, b: &dyn Fn() -> Result<Tensor>, what: &str) {
    let (la, lb) = (a().unwrap(), b().unwrap());
    assert_close(&vals(&la), &vals(&lb), 1e-5, 1e-10, what);
    let (ga, gb) = (la.backward().unwrap(), lb.backward().unwrap());
    for (k, v) in vars.iter().enumerate() {
        let (x, y) = (vals(ga.get(v).expect("fused grad")), vals(gb.get(v).expect("reference grad")));
        assert_close(&x, &y, 1e-5, 1e-10, &format!("{what}: grad of input {k}"));
    }
}

pub fn tokens(rows: &[&[u32]]) -> Tensor {
    let t = rows[0].len();
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), t), &Device::Cpu).unwrap()
}

pub fn f32_mat(rows: &[&[f32]]) -> Tensor {
    let t = rows[0].len();
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), t), &Device::Cpu).unwrap()
}

/// The tiny transformer the numerics tests check: 2 layers, width 8, 2 heads, ffn 12.
pub fn cfg(
    kind: algen::ir::model::ModelKind,
    norm: algen::ir::model::Norm,
    position: algen::ir::model::Position,
) -> algen::ir::model::TransformerCfg {
    algen::ir::model::TransformerCfg {
        kind,
        layers: 2,
        d_model: 8,
        heads: 2,
        ffn: 12,
        norm,
        dropout: 0.0,
        position,
        embed_scale: true,
        norm_type: Default::default(),
        embed_init: None,
        activation: Default::default(),
        final_norm: None,
        head_bias: true,
        attn_bias_init: Default::default(),
        attn_weight_init: Default::default(),
        head: Default::default(),
    }
}

/// Every parameter of `net` (built with `params`) gets a gradient of `loss` equal to central
/// differences ([`grad_check`], up to 6 elements each) and to the reference kernels' model's.
pub fn model_grads_check(
    net: &algen::model::Net,
    params: &algen::model::Params,
    loss: &dyn Fn(&algen::model::Net) -> Result<Tensor>,
    what: &str,
) {
    let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
    grad_check(&named, &|| loss(net), 6);
    let reference = net.clone().with_kernels(algen::model::Kernels::Reference);
    let vars: Vec<&Var> = params.named().iter().map(|(_, v)| v).collect();
    same_grads(&vars, &|| loss(net), &|| loss(&reference), what);
}

/// `OUT/<exp>/results.json` with every run's `timing` removed (what must match between two
/// ways of running the same runs).
pub fn results_without_timing(out: &std::path::Path, exp: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join(exp).join("results.json")).expect("results.json");
    let mut j: serde_json::Value = serde_json::from_str(&text).expect("results.json is JSON");
    for r in j["runs"].as_array_mut().expect("runs") {
        r.as_object_mut().expect("run").remove("timing");
    }
    j
}

/// The seq2seq tests' batch (tests/seq2seq.rs, rnn_seq2seq.rs, location.rs, location_rnn.rs):
/// two sources (the second padded by 2) and two decoder rows (the second padded by 1).
pub fn s2s_batch() -> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor) {
    let src = tokens(&[&[1, 2, 3, 4], &[2, 5, 0, 0]]);
    let src_pad = f32_mat(&[&[1., 1., 1., 1.], &[1., 1., 0., 0.]]);
    let tgt = tokens(&[&[6, 1, 2], &[6, 3, 0]]);
    let pad = f32_mat(&[&[1., 1., 1.], &[1., 1., 0.]]);
    let targets = tokens(&[&[1, 2, 5], &[3, 5, 0]]);
    let mask = f32_mat(&[&[1., 1., 1.], &[1., 1., 0.]]);
    (src, src_pad, tgt, pad, targets, mask)
}
