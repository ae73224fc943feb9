//! The `algen` binary: parses arguments, calls the library, renders
//! diagnostics and sets the exit code (0 ok, 1 spec or run failed, 2 usage, 3 a run stopped
//! by SIGTERM/SIGUSR1 after writing its checkpoint: `algen run --resume` continues it).
//!
//! A closed output pipe (`algen compile … | head -1`) ends the process
//! quietly the way it ends `cat`: SIGPIPE has its default action again (Rust
//! ignores it, and `println!` then panics on the write error), so the
//! process is killed by the signal and a shell reports status 141.

mod cli;
mod commands;
mod fmt_cmd;
mod lines;
mod progress;
mod rasp_cmd;
mod sample_cmd;
mod submit;
mod sweep;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Restores SIGPIPE's default action (terminate), which the Rust runtime sets to "ignore".
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any other thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    default_sigpipe();
    algen::alloc::keep_freed_memory();
    // Library errors (candle's) must not carry a backtrace into user-facing messages.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let cli = cli::Cli::parse();
    match commands::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(commands::Failure::Spec) => ExitCode::from(1),
        Err(commands::Failure::Preempted) => ExitCode::from(algen::train::preempt::EXIT_STATUS),
        Err(commands::Failure::Failed(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
        Err(commands::Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
