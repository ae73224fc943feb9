//! The worker process: runs cases in-process and reports on stdout, one line each:
//! `S i` before case `i`, `F i SIGNATURE\tDETAIL` for a failure, `H i MS` when the
//! watchdog finds case `i` over the time bound (then the worker exits with 3), `E` at
//! the end. An abort (stack overflow, failed allocation) kills the worker: the driver
//! blames the last case started.

use crate::case::Case;
use crate::exec::{self, Ctx};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static PANIC: Mutex<Option<String>> = Mutex::new(None);
/// The running case's index + 1 (0 = none) and its start, in ms since `EPOCH`.
static CURRENT: AtomicU64 = AtomicU64::new(0);
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn now_ms(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

/// Records panics quietly (message and location) instead of printing them.
fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into());
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(format!("panic at {at}: {msg}"));
        }
    }));
}

fn start_watchdog(epoch: Instant, timeout_ms: u64) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(20));
        let cur = CURRENT.load(Ordering::SeqCst);
        let elapsed = now_ms(epoch).saturating_sub(STARTED_MS.load(Ordering::SeqCst));
        if cur != 0 && elapsed > timeout_ms {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "H {} {elapsed}", cur - 1);
            let _ = out.flush();
            std::process::exit(3);
        }
    });
}

/// One case, panics caught: `None` when every property holds, else `(signature, detail)`.
pub fn run_one(ctx: &mut Ctx, case: &Case) -> Option<(String, String)> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec::run(ctx, case)));
    match r {
        Ok(Ok(())) => None,
        Ok(Err((sig, detail))) => Some((format!("{}: {sig}", case.kind_name()), detail)),
        Err(_) => {
            let msg = PANIC.lock().ok().and_then(|mut p| p.take()).unwrap_or_else(|| "panic".into());
            Some((format!("{}: {}", case.kind_name(), crate::normalize(&msg)), msg))
        }
    }
}

/// Runs the cases of `indices` (made by `make`) and reports each on stdout.
pub fn run(ctx: &mut Ctx, indices: impl Iterator<Item = u64>, make: impl Fn(u64) -> Case) {
    install_hook();
    let epoch = Instant::now();
    start_watchdog(epoch, ctx.timeout_ms);
    // Lock stdout per line only: the watchdog writes too.
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    for i in indices {
        say(format!("S {i}"));
        let case = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| make(i))) {
            Ok(c) => c,
            Err(_) => {
                let msg = PANIC.lock().ok().and_then(|mut p| p.take()).unwrap_or_default();
                say(format!("F {i} fuzzer bug: the generator panics\t{}", msg.replace(['\n', '\t'], " ")));
                continue;
            }
        };
        STARTED_MS.store(now_ms(epoch), Ordering::SeqCst);
        CURRENT.store(i + 1, Ordering::SeqCst);
        let failed = run_one(ctx, &case);
        CURRENT.store(0, Ordering::SeqCst);
        if let Some((sig, detail)) = failed {
            let detail: String = detail.replace(['\n', '\t'], " ").chars().take(600).collect();
            say(format!("F {i} {}\t{detail}", sig.replace(['\n', '\t'], " ")));
        }
    }
    say("E".into());
}
