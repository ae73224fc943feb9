//! Runs as units: a run's stable id, the lock on an experiment folder, and the checks that
//! make `--resume` continue only what the spec still describes.
//!
//! **Run id.** A run is one variant × seed of an experiment. Its id is the first 12 hex
//! digits of the SHA-256 of its *resolved configuration* written as canonical JSON (object
//! keys sorted, no spaces): the task, the split, the model, the training settings (without
//! the seed list), the evaluation settings (without the report-only `reduce`) and the seed.
//! Spans, labels and the other runs of the sweep are not part of it, so editing one variant
//! leaves the ids of the others unchanged, and the id is the same on every machine and with
//! every Rust version (SHA-256, not `std`'s hasher). A checkpoint and a finished run record it;
//! `--resume` continues a run only when the spec still gives the same id.
//!
//! **Lock.** [`RunLock`] holds an exclusive `flock` on `OUT/<experiment>/runs/<id>/.lock`
//! while the run trains, so a second `algen run` training the same run is refused instead of
//! interleaving its `metrics.jsonl` and checkpoint; shards training other runs of the same
//! experiment write beside it (the experiment's `results.json` and report are derived from
//! the run folders and written atomically, [`crate::report::merge`]). The operating system
//! releases the lock when the process dies, so a killed run never leaves a stale lock.

use crate::diag::Diag;
use crate::ir::{EvalCfg, Model, Split, Task, TrainCfg, Variant};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Hex digits of a run id (48 bits: a collision among 10⁴ runs has odds below 10⁻⁶).
pub const ID_LEN: usize = 12;

/// Bump when the meaning of a configuration changes while its JSON does not.
const ID_VERSION: u32 = 1;

/// What determines a run's numbers.
#[derive(Serialize)]
struct RunConfig<'a> {
    version: u32,
    task: &'a Task,
    split: &'a Split,
    model: &'a Model,
    train: TrainCfg,
    eval: EvalCfg,
    seed: u64,
}

/// The resolved configuration of one run as canonical JSON (sorted keys, compact).
pub fn config_json(task: &Task, split: &Split, variant: &Variant, eval: &EvalCfg, seed: u64) -> String {
    let train = TrainCfg { seeds: vec![], ..variant.train.clone() };
    let eval = EvalCfg { reduce: None, grok_threshold: None, ..eval.clone() };
    let cfg = RunConfig { version: ID_VERSION, task, split, model: &variant.model, train, eval, seed };
    let value = serde_json::to_value(&cfg).unwrap_or(Value::Null);
    let mut out = String::new();
    canonical(&value, &mut out);
    out
}

/// The id of a run with this canonical configuration ([`config_json`]).
pub fn id_of(config_json: &str) -> String {
    let digest = Sha256::digest(config_json.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect::<String>()[..ID_LEN].to_string()
}

/// The stable id of one run: variant × seed of an experiment over `task` and `split`.
pub fn run_id(task: &Task, split: &Split, variant: &Variant, eval: &EvalCfg, seed: u64) -> String {
    id_of(&config_json(task, split, variant, eval, seed))
}

/// Writes `v` as JSON with every object's keys in sorted order (independent of serde_json's
/// `preserve_order` feature and of field order).
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Where two JSON values differ, as `path: old → new` lines (at most `max`).
pub fn differences(old: &Value, new: &Value, max: usize) -> Vec<String> {
    let mut out = vec![];
    diff_at("", old, new, &mut out, max);
    out
}

fn diff_at(path: &str, old: &Value, new: &Value, out: &mut Vec<String>, max: usize) {
    if out.len() >= max || old == new {
        return;
    }
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (x, y) = (a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null));
                diff_at(&join(k), x, y, out, max);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_at(&join(&i.to_string()), x, y, out, max);
            }
        }
        _ => out.push(format!("`{path}`: {} → {}", short(old), short(new))),
    }
}

/// A JSON value for a message, cut to 60 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// An exclusive lock on a run folder, held until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file inside a run folder.
pub const LOCK_FILE: &str = ".lock";

impl RunLock {
    /// Locks the run folder `dir` (created if needed) for this process, or explains who holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, Box<Diag>> {
        let path = dir.join(LOCK_FILE);
        let io = |e: std::io::Error| {
            Box::new(
                Diag::error("algen::run::locked", format!("cannot lock the run folder `{}`: {e}", dir.display()))
                    .help("check that the folder is writable, or choose another with `--out`"),
            )
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = File::options().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() { "another process".to_string() } else { holder.to_string() };
                return Err(Box::new(Diag::error(
                    "algen::run::locked",
                    format!("the run folder `{}` is in use by another algen run ({who})", dir.display()),
                )
                .help("two processes training one run would mix its metrics and checkpoint: wait for the other to end, give this one another `--out`, or give the shards disjoint runs (`--shard K/N`, `--only`)")));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let note = format!("pid {}", std::process::id());
        let written = file.set_len(0).and_then(|_| file.rewind()).and_then(|_| file.write_all(note.as_bytes()));
        written.map_err(io)?;
        Ok(RunLock { _file: file, path })
    }
}

/// What `--resume` does with a run: continue it, or refuse with a diagnostic.
pub struct Resume<'a> {
    pub exp: &'a crate::ir::Experiment,
    pub variant: &'a Variant,
    pub seed: u64,
    /// `--steps`, when given.
    pub steps_flag: Option<usize>,
}

impl Resume<'_> {
    fn who(&self) -> String {
        format!("run `{}` seed {} of experiment `{}`", self.variant.label, self.seed, self.exp.name)
    }

    fn diag(&self, code: &'static str, message: String, help: String) -> Diag {
        Diag::error(code, message).at(self.exp.span, format!("experiment `{}`", self.exp.name)).help(help)
    }

    /// A finished run of this variant and seed whose recorded id is not `id`: the spec's
    /// configuration changed since it ran.
    pub fn finished_changed(&self, old: &crate::report::results::RunResult, id: &str) -> Diag {
        let strip = |v: &Variant| {
            let mut x = serde_json::to_value(v).unwrap_or(Value::Null);
            if let Some(m) = x.as_object_mut() {
                m.remove("label");
            }
            if let Some(t) = x.get_mut("train").and_then(|t| t.as_object_mut()) {
                t.remove("seeds");
            }
            x
        };
        let what = match differences(&strip(&old.config), &strip(self.variant), 3) {
            d if old.id.is_empty() => {
                format!("its record in results.json has no configuration id (an older algen wrote it){}", list(&d))
            }
            d if d.is_empty() => "the task, split or evaluation settings changed".to_string(),
            d => format!("changed: {}", d.join("; ")),
        };
        self.diag(
            "algen::run::config_changed",
            format!(
                "{} finished with another configuration than the spec now gives (run id {} then, {id} now): {what}",
                self.who(),
                if old.id.is_empty() { "unknown" } else { &old.id },
            ),
            "keeping it would report numbers of another configuration under this one; run with \
             `--restart-changed` to train changed runs again, or without `--resume` to start afresh"
                .into(),
        )
    }

    /// Checks the checkpoint at `path` before continuing from it: it must be readable, no
    /// further than the run's steps, and made with the same configuration (`config`, canonical).
    pub fn checkpoint(&self, path: &Path, config: &str) -> Result<(), Box<Diag>> {
        let (step, saved) =
            crate::train::checkpoint::peek(path).map_err(|e| Box::new(corrupt(path, &e.to_string())))?;
        let steps = self.variant.train.steps;
        if step > steps {
            let asked = match self.steps_flag {
                Some(s) => format!("`--steps {s}`"),
                None => format!("`steps = {steps}` in the spec"),
            };
            return Err(Box::new(self.diag(
                "algen::run::resume_steps",
                format!(
                    "the checkpoint of {} is at step {step}, past the {steps} steps this run trains ({asked})",
                    self.who()
                ),
                format!(
                    "a run cannot be resumed backwards: resume with at least {step} steps, or add \
                     `--restart-changed` to train it afresh for {steps} steps (checkpoint: {})",
                    path.display()
                ),
            )));
        }
        if saved.as_deref() == Some(config) {
            return Ok(());
        }
        let what = match saved.as_deref().map(serde_json::from_str::<Value>) {
            None => "the checkpoint records no configuration (an older algen wrote it)".to_string(),
            Some(Err(_)) => "the checkpoint's recorded configuration is unreadable".to_string(),
            Some(Ok(old)) => {
                let new: Value = serde_json::from_str(config).unwrap_or(Value::Null);
                format!("changed: {}", differences(&old, &new, 3).join("; "))
            }
        };
        Err(Box::new(self.diag(
            "algen::run::config_changed",
            format!(
                "the checkpoint of {} was made with another configuration than the spec now gives: {what}",
                self.who()
            ),
            format!(
                "continuing would mix two configurations in one run; run with `--restart-changed` to \
                 train changed runs afresh, or without `--resume` (checkpoint: {})",
                path.display()
            ),
        )))
    }
}

fn list(d: &[String]) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!("; changed: {}", d.join("; "))
    }
}

/// A checkpoint that cannot be read.
pub fn corrupt(path: &Path, error: &str) -> Diag {
    Diag::error(
        "algen::run::checkpoint_corrupt",
        format!("the checkpoint `{}` is corrupt or unreadable ({error})", path.display()),
    )
    .help(format!(
        "delete `{}` to train this run again from step 0, or run without `--resume` to start the experiment afresh",
        path.display()
    ))
}
