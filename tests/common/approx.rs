//! Snapshots of trained numbers compared with a tolerance (issue 16 item 22).
//!
//! A trained loss or accuracy depends on the summation order of the kernels, which the CPU
//! picks at run time (the softmax's AVX2+FMA build or its portable one; `gemm`'s FMA or
//! baseline microkernels and its cache-sized blocking). [`close_to_snapshot`] compares a JSON
//! value with the one stored in an insta snapshot: every number within a relative tolerance
//! ([`REL`], floor [`ABS`] near zero), everything else (strings, integers, lengths, keys,
//! array sizes) exactly. Use it through [`assert_json_close!`]: when the stored snapshot
//! agrees within the tolerance nothing is rewritten (so snapshots don't churn between
//! machines); when it does not, or there is none, insta's own assertion runs and reports the
//! diff (and writes `.snap.new` as usual).

use serde_json::Value;
use std::path::Path;

/// Relative tolerance on floating-point numbers of a trained run.
pub const REL: f64 = 1e-3;
/// Absolute tolerance for numbers near zero.
pub const ABS: f64 = 1e-6;

/// Whether `got` equals the body of the insta snapshot at `snap` within the tolerance; the
/// error says where it does not.
pub fn close_to_snapshot(snap: &Path, got: &Value) -> Result<(), String> {
    let text = std::fs::read_to_string(snap).map_err(|e| format!("{}: {e}", snap.display()))?;
    // An insta file: `---`, a header, `---`, the serialized value.
    let body = text.splitn(3, "---\n").nth(2).ok_or_else(|| format!("{}: no insta header", snap.display()))?;
    let want: Value = serde_json::from_str(body).map_err(|e| format!("{}: {e}", snap.display()))?;
    let mut diffs = vec![];
    compare("", &want, got, &mut diffs);
    match diffs.is_empty() {
        true => Ok(()),
        false => Err(format!("{}: {}", snap.display(), diffs.join("; "))),
    }
}

/// Whether two numbers agree: integers exactly, floats within the tolerance.
pub fn numbers_close(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if a.is_f64() || b.is_f64() {
        let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
        x == y || (x - y).abs() <= REL * x.abs().max(y.abs()) + ABS
    } else {
        a == b
    }
}

fn compare(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    if out.len() >= 5 {
        return;
    }
    match (want, got) {
        (Value::Number(a), Value::Number(b)) if numbers_close(a, b) => {}
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() && a.keys().all(|k| b.contains_key(k)) => {
            for (k, v) in a {
                compare(&format!("{path}.{k}"), v, &b[k], out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("`{path}`: stored {a}, got {b}")),
    }
}

/// `assert_json_close!(name, value)`: like `insta::assert_json_snapshot!(name, value)`, but a
/// stored snapshot that agrees within [`REL`] passes ([`close_to_snapshot`]).
#[macro_export]
macro_rules! assert_json_close {
    ($name:expr, $value:expr) => {{
        let name: String = $name.into();
        let given = &$value;
        let value = serde_json::to_value(given).expect("serializable");
        let module = module_path!().split("::").next().unwrap_or("").to_string();
        let snap = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(format!("{module}__{name}.snap"));
        if let Err(why) = $crate::common::approx::close_to_snapshot(&snap, &value) {
            eprintln!("not within the tolerance of the stored snapshot: {why}");
            insta::assert_json_snapshot!(name, given);
        }
    }};
}
