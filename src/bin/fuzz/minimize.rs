//! `fuzz --minimize FILE`: shrinks a failing case file while it keeps failing with the same
//! signature (delta debugging over lines for JSON-lines cases, over tokens otherwise), and
//! writes `FILE.min.EXT`. Every trial runs in a worker process, so aborts shrink too.

use crate::case::{Case, Kind};
use crate::driver::Driver;
use crate::Opts;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

/// The failure signatures of `case`, run in a worker.
fn signatures(opts: &Opts, case: &Case, tmp: &Path) -> Vec<String> {
    let file = tmp.join(format!("candidate.{}", case.ext()));
    if std::fs::write(&file, case.to_bytes()).is_err() {
        return vec![];
    }
    let Ok(read) = Case::read(&file) else { return vec![] };
    let case_of = move |_: u64| read.clone();
    let select = vec!["--files".to_string(), file.display().to_string()];
    let d = Driver { opts, case_of: &case_of, select, found: Default::default(), done: AtomicU64::new(0) };
    let _ = d.batch(0, 1);
    d.found.into_inner().unwrap_or_default().into_keys().collect()
}

/// The units a case shrinks by, and the case rebuilt from some of them.
fn units(case: &Case) -> Vec<Vec<u8>> {
    match case.kind {
        Kind::Label { .. } | Kind::RaspLines { .. } => case.lines.clone(),
        Kind::Spec | Kind::Rasp | Kind::SelfTest => match std::str::from_utf8(&case.bytes) {
            Ok(t) => crate::gen::tokenize(t).into_iter().map(String::into_bytes).collect(),
            Err(_) => case.bytes.chunks(8).map(<[u8]>::to_vec).collect(),
        },
    }
}

fn rebuild(case: &Case, units: &[Vec<u8>]) -> Case {
    let mut c = case.clone();
    match case.kind {
        Kind::Label { .. } | Kind::RaspLines { .. } => c.lines = units.to_vec(),
        Kind::Spec | Kind::Rasp | Kind::SelfTest => c.bytes = units.concat(),
    }
    c
}

pub fn minimize(opts: &Opts, path: &Path) -> Result<PathBuf, String> {
    let case = Case::read(path)?;
    let tmp = std::env::temp_dir().join(format!("algen-fuzz-min-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let sigs = signatures(opts, &case, &tmp);
    let Some(sig) = sigs.first().cloned() else { return Err(format!("{} does not fail", path.display())) };
    eprintln!("minimizing for: {sig}");
    let mut cur = units(&case);
    let mut n = (cur.len() / 2).max(1);
    loop {
        let mut i = 0;
        while i < cur.len() {
            let mut cand = cur.clone();
            cand.drain(i..(i + n).min(cur.len()));
            if signatures(opts, &rebuild(&case, &cand), &tmp).contains(&sig) {
                cur = cand;
            } else {
                i += n;
            }
        }
        if n == 1 {
            break;
        }
        n /= 2;
    }
    let out = PathBuf::from(format!("{}.min.{}", path.display(), case.ext()));
    std::fs::write(&out, rebuild(&case, &cur).to_bytes()).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!("{sig}\n  -> {} ({} units)", out.display(), cur.len());
    Ok(out)
}
