//! The spec library shipped inside the binary: `specs/lib/*.alg`, importable from any
//! directory as `import "std/NAME.alg";`.
//!
//! Resolution rule (see [`super::load`]): an import path is first read relative to the
//! importing file; only when no such file exists and the path starts with `std/` does it
//! name the embedded copy of `specs/lib/NAME.alg`. So a local `std/grokking.alg` next to
//! the importing spec wins over the shipped one. Inside an embedded file (shown as
//! `<std>/NAME.alg` in diagnostics) every import names another embedded file.
//!
//! [`FILES`] is the one list of shipped files; a test checks it against the folder.

/// The import prefix that names the shipped library.
pub const PREFIX: &str = "std/";
/// The display-name prefix of an embedded file (`<std>/grokking.alg`).
pub const DISPLAY: &str = "<std>/";

/// Every file of `specs/lib/`, by name, with its text.
pub const FILES: &[(&str, &str)] = &[
    ("chomsky.alg", include_str!("../../specs/lib/chomsky.alg")),
    ("chomsky_models.alg", include_str!("../../specs/lib/chomsky_models.alg")),
    ("grokking.alg", include_str!("../../specs/lib/grokking.alg")),
    ("location.alg", include_str!("../../specs/lib/location.alg")),
    ("references.alg", include_str!("../../specs/lib/references.alg")),
    ("scan.alg", include_str!("../../specs/lib/scan.alg")),
    ("turing.alg", include_str!("../../specs/lib/turing.alg")),
];

/// The embedded text of `name` (`grokking.alg`), if the library has it.
pub fn get(name: &str) -> Option<&'static str> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The names of the shipped files.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_match_the_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/lib");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".alg"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = names().collect();
        assert_eq!(on_disk, listed, "std_lib::FILES must list every specs/lib/*.alg, sorted");
        for (name, text) in FILES {
            assert_eq!(std::fs::read_to_string(format!("{dir}/{name}")).unwrap(), *text);
        }
    }
}
