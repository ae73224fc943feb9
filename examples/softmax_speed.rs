//! Times the fused softmax on a `(64, 1000)` f32 block (one query block of length-500
//! evaluation in workload W, L2-resident): `cargo run --release --example softmax_speed`.

use algen::model::ops;
use candle_core::{Device, Tensor};
use std::time::Instant;

fn main() -> candle_core::Result<()> {
    let x = Tensor::randn(0f32, 3.0, (64, 1000), &Device::Cpu)?;
    let _ = ops::softmax_last_dim(&x)?;
    let t0 = Instant::now();
    let reps = 2000;
    for _ in 0..reps {
        let _ = ops::softmax_last_dim(&x)?;
    }
    let per = t0.elapsed().as_secs_f64() / reps as f64;
    println!("softmax (64 x 1000) f32: {:.1} us, {:.3} ns per element", per * 1e6, per * 1e9 / 64e3);
    Ok(())
}
