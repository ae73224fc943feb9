//! Machine steps per second of the Turing-machine runner ([`algen::turing`]), on the library's
//! decimal addition (16-digit and 200-digit operands), copy and a random machine; and
//! `turing_program` scratchpads written per second. `cargo bench --bench turing_speed`.

use algen::ir::{Machine, Spec};
use algen::turing::{self, Exec};
use std::time::Instant;

fn lib() -> Spec {
    match algen::pipeline::load(std::path::Path::new("specs/lib/turing.alg")) {
        Ok(l) => l.spec,
        Err(_) => panic!("specs/lib/turing.alg does not check"),
    }
}

fn ids(m: &Machine, text: &str) -> Vec<u32> {
    turing::ids(m, &text.chars().map(String::from).collect::<Vec<_>>()).expect("symbols")
}

/// Runs `m` on `input` repeatedly for about a second; prints steps per second.
fn bench(label: &str, m: &Machine, input: &[u32]) {
    let (mut steps, mut runs) = (0u64, 0u64);
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < 1.0 {
        let mut e = Exec::new(m, input);
        e.finish().expect("halts");
        std::hint::black_box(e.output().expect("output"));
        steps += e.steps;
        runs += 1;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{label:<28} {:>8} steps/run  {:>10.2} M steps/s  {:>9.0} runs/s",
        steps / runs,
        steps as f64 / s / 1e6,
        runs as f64 / s
    );
}

fn main() {
    let spec = lib();
    let m = |n: &str| spec.machines.iter().find(|m| m.name == n).expect("machine");
    let add = m("add");
    let a16 = "8374619283746512+9182736450192837";
    bench("addition 16+16 digits", add, &ids(add, a16));
    let long: String = (0..200).map(|i| char::from(b'1' + (i % 9) as u8)).collect();
    bench("addition 200+200 digits", add, &ids(add, &format!("{long}+{long}")));
    let copy = m("copy");
    bench("copy 64 bits", copy, &ids(copy, &"0110".repeat(16)));
    let rnd = m("random3");
    bench("random3 on 64 bits", rnd, &ids(rnd, &"01".repeat(32)));
    let t = spec.task("addition_tp").expect("task");
    let input: Vec<u32> =
        a16.chars().map(|c| t.alphabet.iter().position(|a| *a == c.to_string()).expect("a") as u32).collect();
    let (mut toks, mut n) = (0usize, 0u64);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 1.0 {
        toks += algen::task::machine::scratchpad(t, &input).expect("scratchpad").len();
        n += 1;
    }
    let s = start.elapsed().as_secs_f64();
    println!("addition_tp scratchpad 16 digits: {} tokens, {:.0} scratchpads/s", toks as u64 / n, n as f64 / s);
}
