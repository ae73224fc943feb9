//! JSON input lines for `algen label` and `algen rasp`: valid, wrong-typed, malformed,
//! blank, long, huge (beyond any sensible per-line limit) or not UTF-8.

use crate::gen::{depth, pick};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One JSON input line over `alphabet`: valid, wrong-typed, malformed, huge or not UTF-8.
pub fn json_line(rng: &mut ChaCha8Rng, alphabet: &[String], samples: &[String]) -> Vec<u8> {
    // Mostly short; sometimes long (RASP is quadratic: keep these within the time bound);
    // rarely huge (beyond any sensible per-line limit: it must be refused quickly, item 8).
    let len = match rng.gen_range(0..1000) {
        0..=959 => rng.gen_range(0..12),
        960..=995 => rng.gen_range(100..1500),
        _ => rng.gen_range(2_000_000..3_000_000),
    };
    let tok = |rng: &mut ChaCha8Rng| -> String {
        if alphabet.is_empty() || rng.gen_bool(0.05) {
            pick(rng, &["zz", "", "\u{1F600}", "3", "BOS"]).to_string()
        } else {
            pick(rng, alphabet).clone()
        }
    };
    let line = match rng.gen_range(0..16) {
        0..=4 => serde_json::json!({ "input": (0..len).map(|_| tok(rng)).collect::<Vec<_>>() }).to_string(),
        5 | 6 => serde_json::json!({ "input": (0..len).map(|_| tok(rng)).collect::<String>() }).to_string(),
        7 => {
            let max = alphabet.len() as i64 + 2;
            let ids: Vec<i64> = (0..len).map(|_| rng.gen_range(-1..max)).collect();
            serde_json::json!({ "input": ids }).to_string()
        }
        8 if !samples.is_empty() => pick(rng, samples).clone(),
        9 => pick(
            rng,
            &[
                "{\"input\": 5}",
                "{\"input\": null}",
                "{\"input\": [1.5, true, null]}",
                "[1, 2]",
                "\"str\"",
                "{\"input\": [99999999999999999999]}",
                "{\"inp\": []}",
                "{\"input\": {}}",
                "{\"input\": [[1]]}",
                "{\"input\": [-9223372036854775808]}",
                "{\"input\": [1e309]}",
            ],
        )
        .to_string(),
        10 => format!("{}{}", "{\"input\": [".repeat(depth(rng)), "1"),
        11 => {
            pick(rng, &["", "   ", "\t", "{", "}", "{\"input\": [\"a\"", "nul", "{\"input\": \"\\ud800\"}"]).to_string()
        }
        12 => {
            let mut s = serde_json::json!({ "input": (0..len).map(|_| tok(rng)).collect::<Vec<_>>() }).to_string();
            let mut k = rng.gen_range(0..=s.len());
            while !s.is_char_boundary(k) {
                k -= 1;
            }
            s.truncate(k);
            s
        }
        13 => format!("{{\"input\": \"{}\"}}", "a".repeat(len)),
        _ => {
            let mut b = serde_json::json!({ "input": (0..len.min(8)).map(|_| tok(rng)).collect::<Vec<_>>() })
                .to_string()
                .into_bytes();
            let at = rng.gen_range(0..=b.len());
            b.splice(at..at, [0xFF, 0xFE]).for_each(drop);
            return b;
        }
    };
    line.into_bytes()
}
