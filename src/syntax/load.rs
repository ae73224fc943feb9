//! Reading a spec file and, transitively, the files it imports.

use super::ast::{File, Item, RaspSource};
use super::parse_file;
use super::std_lib;
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
/// file; `std/NAME.alg` names the shipped library when no such local file exists, see
/// [`super::std_lib`]). Each file is parsed once even when imported twice; a cycle or a
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

/// As [`load`], with `text` standing for the file at `path` (an editor's unsaved buffer); the
/// files it imports are read from disk. The file is [`FileId`] 0.
pub fn load_overlay(path: &Path, text: String) -> Loaded {
    let mut l = Loader {
        loaded: Loaded { sources: SourceMap::new(), files: vec![], diags: vec![] },
        paths: vec![],
        stack: vec![],
    };
    l.file(path.to_path_buf(), text);
    let lets = super::lets::check_lets(&mut l.loaded.files);
    l.loaded.diags.extend(lets);
    l.loaded
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
                self.import(resolve(&dir, rel), *path_span);
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

    fn import(&mut self, target: Target, at: Span) {
        let path = match &target {
            Target::Disk(p) => p.clone(),
            Target::Std(name) => PathBuf::from(format!("{}{name}", std_lib::DISPLAY)),
        };
        let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
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
        if let Target::Std(name) = &target {
            return match std_lib::get(name) {
                Some(text) => self.file(path, text.to_string()),
                None => self.loaded.diags.push(unknown_std(name, at)),
            };
        }
        match read_source(&path) {
            Ok(text) => self.file(path, text),
            Err(e @ (ReadError::TooLarge | ReadError::NotUtf8 { .. })) => {
                self.loaded.diags.extend(e.diag(&path).map(|d| d.at(at, "imported here")))
            }
            Err(e) => self.loaded.diags.push(
                Diag::error("algen::import::missing_file", format!("cannot read `{}`: {e}", path.display()))
                    .at(at, "imported here")
                    .help(
                        "import paths are relative to the file that imports them; \
                         `std/NAME.alg` names the shipped library when no such local file exists",
                    ),
            ),
        }
    }
}

/// Where an import path leads.
enum Target {
    /// A file on disk.
    Disk(PathBuf),
    /// A file of the shipped library, by name (`grokking.alg`).
    Std(String),
}

/// The import rule: relative to the importing file's folder `dir`; a path `std/NAME` that
/// names no local file is the shipped `NAME`; inside a shipped file, every path is shipped.
fn resolve(dir: &Path, rel: &str) -> Target {
    let std_dir = std_lib::DISPLAY.trim_end_matches('/');
    if dir == Path::new(std_dir) {
        return Target::Std(rel.strip_prefix(std_lib::PREFIX).unwrap_or(rel).to_string());
    }
    let local = dir.join(rel);
    match rel.strip_prefix(std_lib::PREFIX) {
        Some(name) if !local.exists() => Target::Std(name.to_string()),
        _ => Target::Disk(local),
    }
}

fn unknown_std(name: &str, at: Span) -> Diag {
    let names: Vec<&str> = std_lib::names().collect();
    let help = match crate::diag::did_you_mean(name, names.iter().copied()) {
        Some(c) => format!("did you mean `std/{c}`?"),
        None => {
            format!("the library has: {}", names.iter().map(|n| format!("`std/{n}`")).collect::<Vec<_>>().join(", "))
        }
    };
    Diag::error("algen::import::unknown_std", format!("the shipped library has no file `{name}`"))
        .at(at, "imported here")
        .help(format!("{help} (a local file at this path would be read first)"))
}

fn short(p: &Path) -> String {
    p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}
