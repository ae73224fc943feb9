//! Reading a spec file and, transitively, the files it imports.

use super::ast::{File, Item, RaspSource};
use super::parse_file;
use crate::diag::Diag;
use crate::source::{read_source, FileId, ReadError, SourceMap, Span};
use std::path::{Path, PathBuf};

/// A spec and its imports, parsed.
pub struct Loaded {
    pub sources: SourceMap,
    /// Parsed files in load order (imports before the files that import them).
    pub files: Vec<(FileId, File)>,
    /// Parse and import errors.
    pub diags: Vec<Diag>,
}

/// Reads `path` and every file it imports (paths relative to the importing
/// file). Each file is parsed once even when imported twice; a cycle or a
/// missing file is a diagnostic at the `import` line.
///
/// A file that exists but cannot be used (larger than 16 MiB, not UTF-8) is a
/// coded diagnostic; only an unreadable top-level file is an I/O error. `let`
/// constants too deep once substituted, or cyclic, are diagnostics (see `lets.rs`).
pub fn load(path: &Path) -> Result<Loaded, std::io::Error> {
    let mut l = Loader {
        loaded: Loaded { sources: SourceMap::new(), files: vec![], diags: vec![] },
        paths: vec![],
        stack: vec![],
    };
    match read_source(path) {
        Ok(text) => l.file(path.to_path_buf(), text),
        Err(ReadError::Io(e)) => return Err(e),
        Err(e) => l.loaded.diags.extend(e.diag(path)),
    }
    let lets = super::lets::check_lets(&mut l.loaded.files);
    l.loaded.diags.extend(lets);
    Ok(l.loaded)
}

/// Parses one text with no imports followed (for tests and `label` on stdin specs).
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut l = Loader {
        loaded: Loaded { sources: SourceMap::new(), files: vec![], diags: vec![] },
        paths: vec![],
        stack: vec![],
    };
    l.file(PathBuf::from(name), text.to_string());
    let lets = super::lets::check_lets(&mut l.loaded.files);
    l.loaded.diags.extend(lets);
    l.loaded
}

struct Loader {
    loaded: Loaded,
    /// Canonical path of each FileId.
    paths: Vec<PathBuf>,
    /// Files being loaded (for cycle detection).
    stack: Vec<PathBuf>,
}

impl Loader {
    fn file(&mut self, path: PathBuf, text: String) {
        let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
        let id = self.loaded.sources.add(path.display().to_string(), text.clone());
        self.paths.push(canon.clone());
        let mut ast = match parse_file(id, &text) {
            Ok(ast) => ast,
            Err(d) => {
                self.loaded.diags.push(d);
                return;
            }
        };
        self.stack.push(canon);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for item in &ast.items {
            if let Item::Import { path: rel, path_span, .. } = item {
                self.import(&dir.join(rel), *path_span);
            }
        }
        self.stack.pop();
        for item in &mut ast.items {
            if let Item::Rasp { source: RaspSource::File { path: rel, path_span, loaded }, .. } = item {
                *loaded = self.rasp_file(&dir.join(&*rel), *path_span);
            }
        }
        self.loaded.files.push((id, ast));
    }

    /// Reads a `rasp NAME = "file.rasp";` program into the source map.
    fn rasp_file(&mut self, path: &Path, at: Span) -> Option<(FileId, String)> {
        match read_source(path) {
            Ok(text) => Some((self.loaded.sources.add(path.display().to_string(), text.clone()), text)),
            Err(e @ (ReadError::TooLarge | ReadError::NotUtf8 { .. })) => {
                self.loaded.diags.extend(e.diag(path).map(|d| d.at(at, "RASP program named here")));
                None
            }
            Err(e) => {
                self.loaded.diags.push(
                    Diag::error("algen::import::missing_file", format!("cannot read `{}`: {e}", path.display()))
                        .at(at, "RASP program named here")
                        .help("RASP file paths are relative to the spec that names them"),
                );
                None
            }
        }
    }

    fn import(&mut self, path: &Path, at: Span) {
        let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canon) {
            let chain: Vec<String> = self.stack.iter().chain([&canon]).map(|p| short(p)).collect();
            self.loaded.diags.push(
                Diag::error("algen::import::cycle", format!("import cycle: {}", chain.join(" -> ")))
                    .at(at, "this import closes the cycle")
                    .help("remove one of the imports; shared definitions can move to a file both import"),
            );
            return;
        }
        if self.paths.contains(&canon) {
            return; // already loaded
        }
        match read_source(path) {
            Ok(text) => self.file(path.to_path_buf(), text),
            Err(e @ (ReadError::TooLarge | ReadError::NotUtf8 { .. })) => {
                self.loaded.diags.extend(e.diag(path).map(|d| d.at(at, "imported here")))
            }
            Err(e) => self.loaded.diags.push(
                Diag::error("algen::import::missing_file", format!("cannot read `{}`: {e}", path.display()))
                    .at(at, "imported here")
                    .help("import paths are relative to the file that imports them"),
            ),
        }
    }
}

fn short(p: &Path) -> String {
    p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}
