//! The JSON-lines conformance interface of `algen rasp FILE --eval NAME`:
//! `{"input": "abc"}` (one token per character) or `{"input": [tokens]}` in,
//! `{"input": …, "output": [v0, v1, …]}` or an error line out.
//!
//! Error lines ([`error_line`]) have one shape in both JSON-lines commands
//! (`rasp` and `label`): `{"input": …, "error": "message", "code":
//! "algen::…"}`. `"error"` stays a string, as the reference data
//! (`tests/data/rasp/*.jsonl`) has it; `"input"` echoes the line's input
//! (`null` when the line has none).

use super::run::Evaluator;
use super::value::{Val, MAX_STR_BYTES};
use serde_json::{json, Value as Json};

/// JSON tokens -> atoms (`tokens_asis`).
pub fn tokens(ev: &mut Evaluator, input: &Json) -> Result<Vec<Val>, String> {
    match input {
        Json::String(s) => {
            let mut buf = [0u8; 4];
            Ok(s.chars().map(|c| Val::Str(ev.strings.intern(c.encode_utf8(&mut buf)))).collect())
        }
        Json::Array(items) => items
            .iter()
            .map(|v| match v {
                Json::String(s) if s.len() > MAX_STR_BYTES => {
                    Err(format!("a token of {} bytes is over the limit of {MAX_STR_BYTES} bytes per string", s.len()))
                }
                Json::String(s) => Ok(Val::Str(ev.strings.intern(s))),
                Json::Bool(b) => Ok(Val::Bool(*b)),
                Json::Number(n) => {
                    Ok(n.as_i64().map(Val::Int).unwrap_or_else(|| Val::Float(n.as_f64().unwrap_or(f64::NAN))))
                }
                _ => Err(format!("tokens must be strings, numbers or booleans, got {v}")),
            })
            .collect(),
        _ => Err("\"input\" must be a string (one token per character) or a list of tokens".into()),
    }
}

/// Atoms -> JSON values.
pub fn to_json(ev: &Evaluator, vals: &[Val]) -> Json {
    Json::Array(
        vals.iter()
            .map(|v| match *v {
                Val::Int(i) => json!(i),
                Val::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
                Val::Bool(b) => json!(b),
                Val::Str(s) => json!(ev.strings.string(s)),
            })
            .collect(),
    )
}

/// Answers one input line (never fails: problems become the line's error).
pub fn answer(ev: &mut Evaluator, line: &str) -> String {
    let parsed: Json = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return error_line(&Json::Null, "algen::jsonl::invalid_json", &format!("invalid JSON: {e}")),
    };
    let Some(input) = parsed.get("input") else {
        return error_line(&Json::Null, "algen::jsonl::invalid_json", "expected an object with an \"input\" field");
    };
    ev.start_input();
    let toks = match tokens(ev, input) {
        Ok(t) => t,
        Err(e) => return error_line(input, "algen::jsonl::invalid_input", &e),
    };
    match ev.eval(&toks) {
        Ok(vals) => {
            let vals = vals.to_vec();
            format!("{{\"input\": {input}, \"output\": {}}}", to_json(ev, &vals))
        }
        Err(e) => error_line(input, "algen::rasp::eval", &e.message),
    }
}

/// The error line of both JSON-lines commands: `{"input": …, "error": "…", "code": "…"}`.
pub fn error_line(input: &Json, code: &str, message: &str) -> String {
    format!(
        "{{\"input\": {input}, \"error\": {}, \"code\": {}}}",
        Json::String(message.into()),
        Json::String(code.into())
    )
}
