//! `algen lsp` (issue 23), in process: the server runs on one end of an in-memory connection
//! and the test speaks LSP on the other: initialize, didOpen -> publishDiagnostics, didChange,
//! hover, definition, completion, formatting, shutdown. Oracles: the checker's own diagnostics
//! (codes and help lines as `algen check` prints them), the default and its reason in
//! `src/ir/defaults.rs`, the fixtures' text (tests/fixtures/lsp/), `algen::fmt::format`.

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::thread::JoinHandle;

struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<(), String>>>,
    next_id: i32,
}

impl Client {
    fn start() -> Client {
        let (server, conn) = Connection::memory();
        let handle = std::thread::spawn(move || algen::lsp::run(&server).map_err(|e| e.to_string()));
        let mut c = Client { conn, server: Some(handle), next_id: 0 };
        let caps = c.request("initialize", json!({ "capabilities": {} }));
        assert_eq!(caps["capabilities"]["hoverProvider"], json!(true), "{caps}");
        assert_eq!(caps["capabilities"]["documentFormattingProvider"], json!(true), "{caps}");
        c.notify("initialized", json!({}));
        c
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn.sender.send(Message::Request(Request::new(id.clone(), method.into(), params))).unwrap();
        loop {
            match self.conn.receiver.recv_timeout(std::time::Duration::from_secs(60)).expect("an answer") {
                Message::Response(Response { id: rid, result, error }) if rid == id => {
                    assert!(error.is_none(), "{method}: {error:?}");
                    return result.unwrap_or(Value::Null);
                }
                _ => {} // diagnostics published meanwhile
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn.sender.send(Message::Notification(Notification::new(method.into(), params))).unwrap();
    }

    /// The next publishDiagnostics for `uri`.
    fn diagnostics(&self, uri: &str) -> Vec<Value> {
        loop {
            let msg = self.conn.receiver.recv_timeout(std::time::Duration::from_secs(60)).expect("diagnostics");
            if let Message::Notification(n) = msg {
                if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri {
                    return n.params["diagnostics"].as_array().cloned().unwrap_or_default();
                }
            }
        }
    }

    fn open(&self, uri: &str, text: &str) -> Vec<Value> {
        let doc = json!({ "uri": uri, "languageId": "algen", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": doc }));
        self.diagnostics(uri)
    }

    fn change(&self, uri: &str, text: &str) -> Vec<Value> {
        let params = json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": text }] });
        self.notify("textDocument/didChange", params);
        self.diagnostics(uri)
    }

    fn at(&mut self, method: &str, uri: &str, text: &str, needle: &str, offset: usize) -> Value {
        let (line, character) = position(text, needle, offset);
        let params = json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } });
        self.request(method, params)
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let result = self.server.take().unwrap().join().expect("the server thread ends");
        assert_eq!(result, Ok(()));
    }
}

/// Line and character of the `offset`-th character of the first `needle` in `text`.
fn position(text: &str, needle: &str, offset: usize) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle} not in the text")) + offset;
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, col)
}

fn fixture() -> (String, String, PathBuf) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lsp/main.alg");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = lsp_types::Url::from_file_path(&path).unwrap().to_string();
    (uri, text, path)
}

#[test]
fn diagnostics_on_open_and_change_carry_codes_and_help() {
    let (uri, text, _) = fixture();
    let mut c = Client::start();
    assert_eq!(c.open(&uri, &text), Vec::<Value>::new(), "the fixture checks");
    let broken =
        text.replace("position = learned", "positon = learned").replace("format   = transduce", "format = transduc");
    let diags = c.change(&uri, &broken);
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"algen::check::unknown_field"), "{diags:?}");
    assert!(codes.contains(&"algen::check::unknown_value") || codes.len() >= 2, "{diags:?}");
    let field = diags.iter().find(|d| d["code"] == "algen::check::unknown_field").unwrap();
    assert!(field["message"].as_str().unwrap().contains("help: did you mean `position`?"), "{field}");
    assert_eq!(field["range"]["start"]["line"], json!(position(&broken, "positon", 0).0));
    assert_eq!(field["severity"], json!(1));
    let syntax = c.change(&uri, "task t {\n  alphabet = \n}\n");
    assert_eq!(syntax.len(), 1);
    assert_eq!(syntax[0]["code"], "algen::parse::syntax");
    // Completion still works from the last text that parsed.
    let items = c.at("textDocument/completion", &uri, "task t {\n  alphabet = \n}\n", "alphabet", 0);
    assert!(items.as_array().unwrap().iter().any(|i| i["label"] == "alphabet"));
    c.stop();
}

#[test]
fn hover_shows_field_docs_with_defaults_and_item_definitions() {
    let (uri, text, _) = fixture();
    let mut c = Client::start();
    c.open(&uri, &text);
    // `steps` in the train block: its meaning and the default 1000 with the reason.
    let h = c.at("textDocument/hover", &uri, &text, "steps", 1);
    let value = h["contents"]["value"].as_str().unwrap();
    assert!(value.contains("Optimizer steps") && value.contains("Default: `1000`"), "{value}");
    assert!(value.contains("Training steps when a spec names none"), "{value}");
    // `position` inside `small { ... }`: small is a transformer (defined in the import).
    let h = c.at("textDocument/hover", &uri, &text, "position", 0);
    assert!(h["contents"]["value"].as_str().unwrap().contains("positional encoding"), "{h}");
    // A model name: its definition as written, in lib.alg.
    let h = c.at("textDocument/hover", &uri, &text, "small {", 0);
    let value = h["contents"]["value"].as_str().unwrap();
    assert!(value.contains("model `small`") && value.contains("layers = 2, d_model = 32"), "{value}");
    assert!(value.contains("lib.alg"), "{value}");
    // Nothing to say on a number.
    assert_eq!(c.at("textDocument/hover", &uri, &text, "64", 0), Value::Null);
    c.stop();
}

#[test]
fn definition_goes_across_imports() {
    let (uri, text, path) = fixture();
    let mut c = Client::start();
    c.open(&uri, &text);
    let lib = path.with_file_name("lib.alg");
    let lib_text = std::fs::read_to_string(&lib).unwrap();
    let lib_uri = lsp_types::Url::from_file_path(lib.canonicalize().unwrap()).unwrap().to_string();
    let d = c.at("textDocument/definition", &uri, &text, "= short", 2);
    assert_eq!(d[0]["uri"], json!(lib_uri), "{d}");
    assert_eq!(d[0]["range"]["start"]["line"], json!(position(&lib_text, "split short", 0).0));
    // Within the document: `task = rev` goes to `task rev`.
    let d = c.at("textDocument/definition", &uri, &text, "= rev\n", 3);
    assert_eq!(d[0]["range"]["start"]["line"], json!(position(&text, "task rev", 0).0), "{d}");
    // The import path opens the file.
    let d = c.at("textDocument/definition", &uri, &text, "\"lib.alg\"", 2);
    assert_eq!(d[0]["uri"], json!(lib_uri), "{d}");
    c.stop();
}

#[test]
fn completion_offers_fields_names_encodings_and_builtins() {
    let (uri, text, _) = fixture();
    let mut c = Client::start();
    c.open(&uri, &text);
    let labels = |v: &Value, kind: i64| -> Vec<String> {
        let items = v.as_array().unwrap().iter().filter(|i| i["kind"] == json!(kind));
        items.map(|i| i["label"].as_str().unwrap().to_string()).collect()
    };
    // In the task body: task fields (kind 5 = Field), not experiment ones.
    let v = c.at("textDocument/completion", &uri, &text, "target   =", 0);
    let fields = labels(&v, 5);
    assert!(fields.contains(&"scratchpad".into()) && !fields.contains(&"steps".into()), "{fields:?}");
    // In the train block: its fields.
    let v = c.at("textDocument/completion", &uri, &text, "steps = 10", 0);
    assert!(labels(&v, 5).contains(&"optimizer".into()));
    // Inside `small { ... }`: transformer fields.
    let v = c.at("textDocument/completion", &uri, &text, "position =", 0);
    assert!(labels(&v, 5).contains(&"d_model".into()));
    // At the top level: item keywords (14), and everywhere names, encodings and builtins.
    let v = c.at("textDocument/completion", &uri, &text, "experiment e", 0);
    assert!(labels(&v, 14).contains(&"grammar".into()));
    assert!(labels(&v, 18).contains(&"short".into()) && labels(&v, 18).contains(&"rev".into()));
    assert!(labels(&v, 20).contains(&"rope".into()) && labels(&v, 20).contains(&"transduce".into()));
    assert!(labels(&v, 3).contains(&"reverse".into()));
    c.stop();
}

#[test]
fn formatting_returns_the_formatted_document() {
    let (uri, text, _) = fixture();
    let mut c = Client::start();
    let messy = text.replace("task  = rev", "task=rev").replace("  train { steps = 10 }", "      train {steps=10}");
    c.open(&uri, &messy);
    let params = json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } });
    let edits = c.request("textDocument/formatting", params.clone());
    assert_eq!(edits[0]["newText"], json!(algen::fmt::format(&messy).unwrap()));
    assert_eq!(edits[0]["newText"], json!(text), "the fixture is formatted");
    c.change(&uri, &text);
    assert_eq!(c.request("textDocument/formatting", params), json!([]));
    c.stop();
}
