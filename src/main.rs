//! The `algen` binary: parses arguments, calls the library, renders
//! diagnostics and sets the exit code (0 ok, 1 spec or run failed, 2 usage).

mod cli;
mod commands;
mod progress;

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    algen::alloc::keep_freed_memory();
    // Library errors (candle's) must not carry a backtrace into user-facing messages.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let cli = cli::Cli::parse();
    match commands::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(commands::Failure::Spec) => ExitCode::from(1),
        Err(commands::Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
