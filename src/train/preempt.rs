//! Preemption (issue 17 item 5): SIGTERM or SIGUSR1 — what a cluster scheduler sends before it
//! stops or requeues a job (Slurm: `--signal=B:USR1@<seconds>`, and SIGTERM at preemption) —
//! sets a flag. The training loop ([`super::run_with`]) looks at it after every step: with a
//! checkpoint file to write it saves the run's checkpoint at that step boundary and stops with
//! [`crate::eval::EvalError::Preempted`]; `algen run` then exits with [`EXIT_STATUS`], and a
//! later `algen run --resume` (the default inside a Slurm job) continues bit for bit.
//!
//! The handler only stores to an atomic (async-signal-safe). It is installed by `algen run`
//! alone ([`install`]); other commands keep the default actions.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit status of a run stopped by SIGTERM/SIGUSR1 after writing its checkpoint
/// (0 ok, 1 failed, 2 usage).
pub const EXIT_STATUS: u8 = 3;

static REQUESTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_signal(_sig: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Catches SIGTERM and SIGUSR1 from now on: they request a stop instead of killing the process.
pub fn install() {
    #[cfg(unix)]
    for sig in [libc::SIGTERM, libc::SIGUSR1] {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the handler only stores
        // to an atomic, which is async-signal-safe.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Whether a stop was requested (by a signal, or [`request`]).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Requests a stop as the signals do (for tests and embedders).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Withdraws a request (after a stop was handled, in a process that goes on).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
