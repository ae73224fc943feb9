//! The JSON-lines conformance interface of `algen rasp FILE --eval NAME`:
//! `{"input": "abc"}` (one token per character) or `{"input": [tokens]}` in,
//! `{"input": …, "output": [v0, v1, …]}` or `{"input": …, "error": "…"}` out.

use super::run::Evaluator;
use super::value::Val;
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

/// Answers one input line (never fails: problems become the line's `error`).
pub fn answer(ev: &mut Evaluator, line: &str) -> String {
    let parsed: Json = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return reply(&Json::Null, Err(format!("invalid JSON: {e}"))),
    };
    let Some(input) = parsed.get("input") else {
        return reply(&Json::Null, Err("expected an object with an \"input\" field".into()));
    };
    let result = tokens(ev, input).and_then(|toks| match ev.eval(&toks) {
        Ok(vals) => {
            let vals = vals.to_vec();
            Ok(to_json(ev, &vals))
        }
        Err(e) => Err(e.message),
    });
    reply(input, result)
}

fn reply(input: &Json, result: Result<Json, String>) -> String {
    match result {
        Ok(out) => format!("{{\"input\": {input}, \"output\": {out}}}"),
        Err(e) => format!("{{\"input\": {input}, \"error\": {}}}", Json::String(e)),
    }
}
