//! Training speed of the Chomsky-hierarchy benchmark's recurrent models (Delétang et al. 2023)
//! at the benchmark's batch and width: batch 128, sequences of `--len` tokens (default 40),
//! hidden 256, input vocabulary 3 (two symbols and the query), 2 output classes.
//!
//! ```text
//! cargo bench --bench recurrent                   # lstm, rnn, stack_rnn, tape_rnn; 20 steps each
//! cargo bench --bench recurrent -- --steps 5 --len 80
//! ```
//!
//! One training step = forward + masked cross-entropy + backward + Adam update, on the fused
//! kernels (what `algen run` does, minus data generation). Prints steps/s and the ratio to the
//! LSTM measured in the same run (a ratio above 1 is faster than the LSTM). Release build,
//! mimalloc, as the binary.

use algen::ir::model::{Activation, Arch, LstmCfg, RnnCfg, StackRnnCfg, TapeRnnCfg};
use algen::ir::{defaults, Optimizer, OptimizerKind};
use algen::model::{self, ModelIo};
use algen::train::optim::Adam;
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg_value(args: &[String], name: &str) -> Option<usize> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn random(seed: u64, b: usize, t: usize, vocab: u32) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ids: Vec<u32> = (0..b * t).map(|_| rng.gen_range(0..vocab)).collect();
    Tensor::from_vec(ids, (b, t), &Device::Cpu).expect("tokens")
}

/// Seconds per training step of `arch` (mean over `steps` after one warm-up step).
fn time(arch: &Arch, io: ModelIo, b: usize, t: usize, steps: usize) -> f64 {
    let (net, params) = model::build(arch, io, 0).expect("model");
    let net = net.with_query(Some(io.vocab_in as u32 - 1));
    let cfg = Optimizer {
        kind: OptimizerKind::Adam,
        lr: 1e-4,
        betas: defaults::BETAS,
        eps: defaults::EPS,
        weight_decay: 0.0,
    };
    let mut opt = Adam::new(&cfg, params.all()).expect("adam");
    let x = random(1, b, t, io.vocab_in as u32);
    let y = random(2, b, t, io.vocab_out as u32);
    let mask = Tensor::ones((b, t), DType::F32, &Device::Cpu).expect("mask");
    let mut step = || {
        let logits = net.forward(&x, None, None).expect("forward");
        let grads = model::cross_entropy_masked(&logits, &y, &mask).expect("loss").backward().expect("backward");
        opt.step(&grads, 1.0).expect("adam step");
    };
    step();
    let start = Instant::now();
    for _ in 0..steps {
        step();
    }
    start.elapsed().as_secs_f64() / steps as f64
}

fn main() {
    algen::alloc::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let steps = arg_value(&args, "--steps").unwrap_or(20);
    let t = arg_value(&args, "--len").unwrap_or(40);
    let (b, h) = (128, 256);
    let io = ModelIo { vocab_in: 3, vocab_out: 2 };
    let act = Activation::Relu;
    let archs = [
        ("lstm", Arch::Lstm(LstmCfg { layers: 1, hidden: h, embed: h, style: Default::default(), seq2seq: None })),
        ("rnn", Arch::Rnn(RnnCfg { hidden: h, activation: act })),
        ("stack_rnn", Arch::StackRnn(StackRnnCfg { hidden: h, activation: act, cell: 8, depth: 30 })),
        ("tape_rnn", Arch::TapeRnn(TapeRnnCfg { hidden: h, activation: act, cell: 8, size: 40 })),
    ];
    println!("batch {b}, length {t}, hidden {h}, {steps} steps each (forward + loss + backward + Adam)");
    println!("{:<10} {:>10} {:>12} {:>10}", "model", "params", "steps_per_s", "vs_lstm");
    let mut lstm = None;
    for (name, a) in &archs {
        let s = 1.0 / time(a, io, b, t, steps);
        let base = *lstm.get_or_insert(s);
        println!("{name:<10} {:>10} {s:>12.2} {:>10.2}", model::param_count(a, io), s / base);
    }
}
