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
