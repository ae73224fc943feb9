//! The driver: runs batches of cases in worker child processes (under a memory bound),
//! blames a worker's death on the case it last started, restarts after it, and collects
//! the distinct failure signatures with one saved input each.

use crate::case::Case;
use crate::Opts;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One distinct failure.
pub struct Found {
    pub count: u64,
    pub first: u64,
    pub detail: String,
    pub saved: Option<String>,
}

pub struct Driver<'a> {
    pub opts: &'a Opts,
    /// The case of an index (to save a failing input).
    pub case_of: &'a (dyn Fn(u64) -> Case + Sync),
    /// Extra worker arguments that select the cases (`--seed S` or `--files …`).
    pub select: Vec<String>,
    pub found: Mutex<BTreeMap<String, Found>>,
    pub done: AtomicU64,
}

/// Why a worker died, from its exit status and stderr.
fn death(status: std::process::ExitStatus, stderr: &str) -> String {
    if stderr.contains("has overflowed its stack") {
        return "abort: stack overflow".into();
    }
    if let Some(l) = stderr.lines().find(|l| l.contains("memory allocation of")) {
        return format!("abort: {}", crate::normalize(l));
    }
    let line = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match status.signal() {
        Some(s) => format!("killed by signal {s}: {}", crate::normalize(line)),
        None => format!("worker exited with {status}: {}", crate::normalize(line)),
    }
}

impl Driver<'_> {
    fn record(&self, index: u64, sig: String, detail: String) {
        let first = {
            let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            let e = found.entry(sig.clone()).or_insert(Found { count: 0, first: index, detail, saved: None });
            e.count += 1;
            e.count == 1
        };
        if !first {
            return;
        }
        let make = std::panic::AssertUnwindSafe(|| (self.case_of)(index));
        let Ok(case) = std::panic::catch_unwind(make) else { return };
        let saved = if self.opts.save_cases {
            let dir = &self.opts.save;
            let _ = std::fs::create_dir_all(dir);
            let path = dir.join(format!("{}-{:08x}.{}", case.kind_name(), fxhash(&sig), case.ext()));
            std::fs::write(&path, case.to_bytes()).ok().map(|_| path.display().to_string())
        } else {
            Some(case.name)
        };
        if let Some(e) = self.found.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&sig) {
            e.saved = saved;
        }
    }

    /// Runs cases `[from, to)` in as many workers as deaths require.
    pub fn batch(&self, mut from: u64, to: u64) -> Result<(), String> {
        while from < to {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let mut cmd = crate::cli::bounded(&exe, self.opts.mem_mb);
            cmd.arg("--worker").args(&self.select).args(["--from", &from.to_string(), "--to", &to.to_string()]);
            cmd.args(self.opts.worker_args());
            let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
            let mut stderr = child.stderr.take().expect("piped");
            let err_reader = std::thread::spawn(move || {
                let mut s = vec![];
                let _ = stderr.read_to_end(&mut s);
                String::from_utf8_lossy(&s[s.len().saturating_sub(8000)..]).into_owned()
            });
            let (mut last, mut ended, mut hung) = (None, false, None);
            for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.splitn(3, ' ');
                let (tag, i) = (parts.next().unwrap_or(""), parts.next().and_then(|x| x.parse::<u64>().ok()));
                match (tag, i) {
                    ("S", Some(i)) => {
                        self.done.fetch_add(1, Ordering::Relaxed);
                        last = Some(i);
                    }
                    ("F", Some(i)) => {
                        let rest = parts.next().unwrap_or("");
                        let (sig, detail) = rest.split_once('\t').unwrap_or((rest, ""));
                        self.record(i, sig.to_string(), detail.to_string());
                    }
                    ("H", Some(i)) => hung = Some((i, parts.next().unwrap_or("?").to_string())),
                    ("E", _) => ended = true,
                    _ => {}
                }
            }
            let status = child.wait().map_err(|e| e.to_string())?;
            let stderr = err_reader.join().unwrap_or_default();
            if ended {
                return Ok(());
            }
            let Some(at) = last else {
                return Err(format!("a worker died before its first case: {}", death(status, &stderr)));
            };
            let kind = (self.case_of)(at).kind_name();
            match hung {
                Some((i, ms)) => self.record(i, format!("{kind}: hang (over the time bound)"), format!("{ms} ms")),
                None => {
                    self.record(at, format!("{kind}: {}", death(status, &stderr)), stderr.chars().take(600).collect())
                }
            }
            from = at + 1;
        }
        Ok(())
    }
}

fn fxhash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}
