//! The packed LSTM recurrence (`ops::lstm` on a CPU with FMA: `W_hh` packed once, blocks of
//! batch rows stepping through time on their own) against the general path (`ops::lstm_general`,
//! one GEMM over the batch per step), the step-by-step reference `lstm_ref` and central
//! finite differences, on shapes that leave partial register tiles, partial weight panels and
//! several row blocks; and its results do not depend on the thread count.

use algen::model::ops;
use candle_core::{DType, Result, Tensor, Var};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod common;
use common::*;

/// (B, T, H): B = 21 is a block of 16 rows and one of 5 (a full 8-row tile and a partial
/// one); H = 9 and 40 leave partial panels (4H = 36, 160; H = 9, 40 for the backward product).
const SHAPES: &[(usize, usize, usize)] = &[(21, 5, 9), (3, 4, 40), (17, 3, 8)];

fn vars(seed: u64, (b, t, h): (usize, usize, usize), scale: f64) -> (Var, Var) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = rand_var(&mut rng, &[b, t, 4 * h]);
    let w = Var::from_tensor(&(rand_var(&mut rng, &[4 * h, h]).as_tensor() * scale).unwrap()).unwrap();
    (x, w)
}

/// In f64 the packed path's values and gradients equal the general path's to rounding
/// (1e-12 relative) and the reference's (1e-9), and match finite differences.
#[test]
fn f64_packed_matches_general_reference_and_finite_differences() {
    for (k, &shape) in SHAPES.iter().enumerate() {
        let (x, w) = vars(k as u64, shape, 0.5);
        let packed = || project(&ops::lstm(x.as_tensor(), w.as_tensor())?, 7);
        let general = || project(&ops::lstm_general(x.as_tensor(), w.as_tensor())?, 7);
        let reference = || project(&ops::lstm_ref(x.as_tensor(), w.as_tensor())?, 7);
        let what = format!("{shape:?}");
        let (lp, lg, lr) = (packed().unwrap(), general().unwrap(), reference().unwrap());
        assert_close(&vals(&lp), &vals(&lg), 1e-12, 0.0, &format!("{what} loss vs general"));
        assert_close(&vals(&lp), &vals(&lr), 1e-9, 0.0, &format!("{what} loss vs reference"));
        let (gp, gg, gr) = (lp.backward().unwrap(), lg.backward().unwrap(), lr.backward().unwrap());
        for (name, v) in [("xproj", &x), ("w_hh", &w)] {
            let p = vals(gp.get(v).unwrap());
            assert_close(&p, &vals(gg.get(v).unwrap()), 1e-10, 1e-12, &format!("{what} d{name} vs general"));
            assert_close(&p, &vals(gr.get(v).unwrap()), 1e-9, 1e-12, &format!("{what} d{name} vs reference"));
        }
        grad_check(&[("xproj", &x), ("w_hh", &w)], &packed, 24);
    }
}

fn f32_out_and_grads(f: fn(&Tensor, &Tensor) -> Result<Tensor>, x: &Tensor, w: &Tensor) -> Vec<Vec<f64>> {
    let (xv, wv) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
    let h = f(xv.as_tensor(), wv.as_tensor()).unwrap();
    let g = project(&h, 3).unwrap().backward().unwrap();
    vec![vals(&h), vals(g.get(&xv).unwrap()), vals(g.get(&wv).unwrap())]
}

/// In f32 the packed path agrees with the general one to f32 rounding, on a W-LSTM-like
/// shape (several row blocks, full tiles and panels) and the partial ones.
#[test]
fn f32_packed_matches_general() {
    for (k, &shape) in [(40, 6, 64)].iter().chain(SHAPES).enumerate() {
        let (x, w) = vars(10 + k as u64, shape, 0.2);
        let (x, w) = (x.as_tensor().to_dtype(DType::F32).unwrap(), w.as_tensor().to_dtype(DType::F32).unwrap());
        let p = f32_out_and_grads(ops::lstm, &x, &w);
        let g = f32_out_and_grads(ops::lstm_general, &x, &w);
        for (what, (a, b)) in ["h", "dxproj", "dw_hh"].iter().zip(p.iter().zip(&g)) {
            let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
            assert_close(a, b, 1e-4, 1e-5 * scale, &format!("{shape:?} f32 {what}"));
        }
    }
}

/// The same numbers on one thread as on two (each row's sums have one order).
#[test]
fn packed_results_do_not_depend_on_the_thread_count() {
    let (x, w) = vars(5, (37, 4, 24), 0.4);
    let (x, w) = (x.as_tensor().to_dtype(DType::F32).unwrap(), w.as_tensor().to_dtype(DType::F32).unwrap());
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| f32_out_and_grads(ops::lstm, &x, &w))
    };
    assert_eq!(on(1), on(2));
}
