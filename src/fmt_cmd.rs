//! `algen fmt [--check] FILE...`: the canonical layout ([`algen::fmt`]), written in place or
//! checked; and `algen lsp`, the language server ([`algen::lsp`]) on stdin/stdout.

use crate::commands::{print_diags, Failure};
use algen::source::{read_source, ReadError, SourceMap};
use std::path::{Path, PathBuf};

/// Formats each file in place (written atomically, untouched when already formatted). With
/// `check`, changes nothing, prints a unified diff of each file that is not formatted and
/// fails (exit 1). A file that does not parse is reported and fails too.
pub fn fmt(files: &[PathBuf], check: bool) -> Result<(), Failure> {
    let mut failed = false;
    for path in files {
        let text = match read_source(path) {
            Ok(text) => text,
            Err(ReadError::Io(e)) => return Err(Failure::Usage(format!("cannot read `{}`: {e}", path.display()))),
            Err(e) => {
                print_diags(&SourceMap::new(), e.diag(path).into_iter().collect());
                failed = true;
                continue;
            }
        };
        match algen::fmt::format(&text) {
            Err(d) => {
                let mut sources = SourceMap::new();
                sources.add(path.display().to_string(), text.clone());
                print_diags(&sources, vec![d]);
                failed = true;
            }
            Ok(out) if out == text => {}
            Ok(out) if check => {
                print!("{}", diff(path, &text, &out));
                failed = true;
            }
            Ok(out) => algen::report::write::write_atomic(path, out.as_bytes())
                .map_err(|e| Failure::Failed(format!("cannot write `{}`: {e}", path.display())))?,
        }
    }
    if failed {
        Err(Failure::Spec)
    } else {
        Ok(())
    }
}

/// A unified diff from the file as it is to its formatted text.
fn diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    let d = similar::TextDiff::from_lines(old, new);
    format!("{}", d.unified_diff().context_radius(2).header(&name, &format!("{name} (formatted)")))
}

/// Serves the Language Server Protocol on stdin/stdout until the client exits.
pub fn lsp() -> Result<(), Failure> {
    algen::lsp::serve_stdio().map_err(|e| Failure::Failed(format!("language server: {e}")))
}
