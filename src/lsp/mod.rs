//! `algen lsp`: a Language Server Protocol server for `.alg` files (over stdio, with the
//! synchronous `lsp-server` crate).
//!
//! - diagnostics on open and on every change: the checker's, with their codes, help lines and
//!   secondary labels (the same as `algen check`, imports read from disk);
//! - hover: a field's meaning and its default with the reason from `src/ir/defaults.rs`
//!   ([`fields`]); for a name, the item that defines it, as written;
//! - go to definition of a name (across imports) and of an `import` path;
//! - completion: fields of the body at the cursor (item keywords at the top level), item
//!   names, encodings, formats, model constructors and builtin functions;
//! - document formatting: [`crate::fmt::format`].
//!
//! Highlighting comes from the TextMate grammar in `editors/vscode/syntaxes/`.

mod doc;
pub mod fields;
mod query;

use doc::{analyze, path_of, Analysis, LineIndex};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::*;
use std::collections::HashMap;
use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Serves on stdin/stdout until the client sends `exit`.
pub fn serve_stdio() -> Res<()> {
    let (conn, io) = Connection::stdio();
    run(&conn)?;
    drop(conn);
    io.join()?;
    Ok(())
}

/// What the server offers.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions::default()),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// The initialize handshake, then requests and notifications until `shutdown` and `exit`.
pub fn run(conn: &Connection) -> Res<()> {
    conn.initialize(serde_json::to_value(capabilities())?)?;
    let mut server = Server::default();
    for msg in &conn.receiver {
        match msg {
            Message::Request(r) => {
                if conn.handle_shutdown(&r)? {
                    return Ok(());
                }
                let id = r.id.clone();
                let resp = catch_unwind(AssertUnwindSafe(|| server.request(r))).unwrap_or_else(|_| {
                    Response::new_err(id, ErrorCode::InternalError as i32, "algen failed on this request".into())
                });
                conn.sender.send(Message::Response(resp))?;
            }
            Message::Notification(n) => {
                let out = catch_unwind(AssertUnwindSafe(|| server.notification(n))).unwrap_or_default();
                for n in out {
                    conn.sender.send(Message::Notification(n))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Doc {
    text: String,
    analysis: Analysis,
    /// The last analysis whose text parsed (completion works from it while the text does not).
    parsed: Option<Analysis>,
}

#[derive(Default)]
struct Server {
    docs: HashMap<Url, Doc>,
}

impl Server {
    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        let uri = match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else { return vec![] };
                self.update(p.text_document.uri.clone(), p.text_document.text);
                p.text_document.uri
            }
            note::DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else { return vec![] };
                let Some(change) = p.content_changes.into_iter().last() else { return vec![] };
                self.update(p.text_document.uri.clone(), change.text);
                p.text_document.uri
            }
            note::DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else { return vec![] };
                self.docs.remove(&p.text_document.uri);
                return vec![publish(p.text_document.uri, vec![])];
            }
            _ => return vec![],
        };
        let diags = self.docs.get(&uri).map(|d| d.analysis.lsp_diagnostics(&uri, &d.text)).unwrap_or_default();
        vec![publish(uri, diags)]
    }

    fn update(&mut self, uri: Url, text: String) {
        let analysis = analyze(&path_of(&uri), &text);
        let old =
            self.docs.remove(&uri).and_then(|d| if d.analysis.file().is_some() { Some(d.analysis) } else { d.parsed });
        let parsed = if analysis.file().is_some() { None } else { old };
        self.docs.insert(uri, Doc { text, analysis, parsed });
    }

    fn request(&mut self, r: Request) -> Response {
        let id = r.id.clone();
        let result = match r.method.as_str() {
            req::HoverRequest::METHOD => self.params(r, |s, p: HoverParams| s.hover(p.text_document_position_params)),
            req::GotoDefinition::METHOD => {
                self.params(r, |s, p: GotoDefinitionParams| s.definition(p.text_document_position_params))
            }
            req::Completion::METHOD => self.params(r, |s, p: CompletionParams| s.complete(p.text_document_position)),
            req::Formatting::METHOD => self.params(r, |s, p: DocumentFormattingParams| s.format(&p.text_document.uri)),
            m => return Response::new_err(id, ErrorCode::MethodNotFound as i32, format!("unsupported request {m}")),
        };
        match result {
            Ok(v) => Response::new_ok(id, v),
            Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e),
        }
    }

    fn params<P: serde::de::DeserializeOwned, T: serde::Serialize>(
        &mut self,
        r: Request,
        f: impl FnOnce(&mut Self, P) -> T,
    ) -> Result<serde_json::Value, String> {
        let p = serde_json::from_value(r.params).map_err(|e| format!("bad parameters: {e}"))?;
        serde_json::to_value(f(self, p)).map_err(|e| e.to_string())
    }

    /// The document and the byte offset of a position in it.
    fn at(&self, p: &TextDocumentPositionParams) -> Option<(&Doc, usize)> {
        let d = self.docs.get(&p.text_document.uri)?;
        Some((d, LineIndex::new(&d.text).offset(&d.text, p.position)))
    }

    fn hover(&self, p: TextDocumentPositionParams) -> Option<Hover> {
        let (d, offset) = self.at(&p)?;
        let target = query::target_at(&d.text, offset, &d.analysis)?;
        let value = query::hover(&d.analysis, &target)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
            range: None,
        })
    }

    fn definition(&self, p: TextDocumentPositionParams) -> Option<GotoDefinitionResponse> {
        let (d, offset) = self.at(&p)?;
        let target = query::target_at(&d.text, offset, &d.analysis)?;
        let path = path_of(&p.text_document.uri);
        let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
        let locs = query::definition(&d.analysis, &target, &dir);
        (!locs.is_empty()).then_some(GotoDefinitionResponse::Array(locs))
    }

    fn complete(&self, p: TextDocumentPositionParams) -> Option<CompletionResponse> {
        let (d, offset) = self.at(&p)?;
        let analysis = if d.analysis.file().is_some() { &d.analysis } else { d.parsed.as_ref().unwrap_or(&d.analysis) };
        Some(CompletionResponse::Array(query::completions(analysis, &d.text, offset)))
    }

    /// One edit replacing the whole document, none when it is formatted or does not parse.
    fn format(&self, uri: &Url) -> Option<Vec<TextEdit>> {
        let d = self.docs.get(uri)?;
        let formatted = crate::fmt::format(&d.text).ok()?;
        if formatted == d.text {
            return Some(vec![]);
        }
        let range = LineIndex::new(&d.text).range(&d.text, 0, d.text.len());
        Some(vec![TextEdit::new(range, formatted)])
    }
}

fn publish(uri: Url, diagnostics: Vec<Diagnostic>) -> Notification {
    let params = PublishDiagnosticsParams { uri, diagnostics, version: None };
    Notification::new(note::PublishDiagnostics::METHOD.to_string(), params)
}
