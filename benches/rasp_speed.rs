//! RASP evaluation throughput (issue 3, item 6; issue 20, item 4): inputs per
//! second, single thread, on the reference programs at input length 40 (BOS
//! programs get the `§` on top: 41 tokens). Inputs are random over each
//! program's alphabet (seeded); every input is evaluated in full, one by one
//! (`Evaluator::eval`) and as batches (`Evaluator::eval_batch` over all 1024
//! inputs, which must give the same values). Rates are per second of this
//! thread's CPU time (from /proc/thread-self/stat), so that other processes on
//! a shared machine do not distort them; wall-clock rates are printed beside
//! them.
//!
//!     cargo bench --bench rasp_speed            (release; ~10 s)
//!     RASP_LEN=20 cargo bench --bench rasp_speed sort dyck2   (another length, some programs)
//!     RASP_MODE=batch cargo bench --bench rasp_speed         (time one mode only: eval or batch)

use algen::rasp::{self, Val};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The input length: 40 (the issue's), or `RASP_LEN`.
fn len() -> usize {
    std::env::var("RASP_LEN").ok().and_then(|v| v.parse().ok()).unwrap_or(40)
}

fn main() {
    let cases = [
        ("hist_nobos", "abcd", false),
        ("hist_bos", "abcd", true),
        ("sort_bos", "abcdefghij", true),
        ("reverse", "abcdefghij", false),
        ("dyck2_ptf", "(){}", false),
        ("dyck1_ptf", "()", false),
    ];
    println!(
        "{:<12} {:>6} {:>14} {:>10} {:>14} {:>14} {:>10} {:>14}",
        "program", "tokens", "inputs/cpu-s", "µs/input", "inputs/wall-s", "batch/cpu-s", "µs/input", "batch/wall-s"
    );
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for (name, alphabet, bos) in cases {
        if !only.is_empty() && !only.iter().any(|o| name.contains(o.as_str())) {
            continue;
        }
        let path = format!("{}/tests/data/rasp/{name}.rasp", env!("CARGO_MANIFEST_DIR"));
        let text: Arc<str> = std::fs::read_to_string(&path).expect("corpus program").into();
        let program = rasp::compile(0, &text, 0, text.clone()).expect("compiles");
        let mut ev = program.evaluator("result", None).expect("result");
        let letters: Vec<char> = alphabet.chars().collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let inputs: Vec<Vec<Val>> = (0..1024)
            .map(|_| {
                let mut toks: Vec<String> =
                    (0..len()).map(|_| letters[rng.gen_range(0..letters.len())].to_string()).collect();
                if bos {
                    toks.insert(0, "§".into());
                }
                toks.iter().map(|t| Val::Str(ev.strings.intern(t))).collect()
            })
            .collect();
        let mut checksum = 0usize;
        let one_by_one: Vec<_> = inputs.iter().map(|x| ev.eval(x).map(|o| o.to_vec()).map_err(|e| e.message)).collect();
        let batch = ev.eval_batch(&inputs);
        let batched: Vec<_> = batch.iter().map(|r| r.map(|o| o.to_vec()).map_err(|e| e.message.clone())).collect();
        assert!(one_by_one == batched, "{name}: eval_batch differs from eval");
        let mode = std::env::var("RASP_MODE").unwrap_or_default();
        let (rate, wall_rate) = rates(mode != "batch", || {
            for x in &inputs {
                checksum += ev.eval(x).map(|o| o.len()).unwrap_or(0);
            }
            inputs.len()
        });
        let (batch_rate, batch_wall) = rates(mode != "eval", || {
            checksum += ev.eval_batch(&inputs).iter().map(|r| r.map(|o| o.len()).unwrap_or(0)).sum::<usize>();
            inputs.len()
        });
        println!(
            "{name:<12} {:>6} {rate:>14.0} {:>10.2} {wall_rate:>14.0} {batch_rate:>14.0} {:>10.2} {batch_wall:>14.0}",
            inputs[0].len(),
            1e6 / rate,
            1e6 / batch_rate
        );
        std::hint::black_box(checksum);
    }
}

/// Inputs per CPU-second and per wall-second of `round` (which returns the inputs it did),
/// repeated for at least 2 CPU-seconds and half a wall-second (NaN unless `on`).
fn rates(on: bool, mut round: impl FnMut() -> usize) -> (f64, f64) {
    if !on {
        return (f64::NAN, f64::NAN);
    }
    let (mut done, start, cpu0) = (0usize, Instant::now(), cpu_seconds());
    while cpu_seconds() - cpu0 < 2.0 || start.elapsed() < Duration::from_millis(500) {
        done += round();
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, start.elapsed().as_secs_f64());
    (done as f64 / cpu, done as f64 / wall)
}

/// This thread's user + system CPU time in seconds (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is 0, utime is 11, stime is 12.
    (ticks(11) + ticks(12)) / 100.0
}
