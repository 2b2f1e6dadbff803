//! The shopmirror binary: parse the command line, set up logging, run the command, and map
//! the outcome to an exit code (0 success, 1 a sync or command failed, 2 bad usage or config).

use std::process::ExitCode;

use clap::Parser;
use shopmirror::cli::Cli;
use shopmirror::commands;
use shopmirror::message::shown;

fn main() -> ExitCode {
    shopmirror::allocator::tune();
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Errors name stores, handles and URLs: shown without raw control characters.
            eprintln!("shopmirror: {}", shown(&failure.to_string()));
            ExitCode::from(failure.exit_code())
        }
    }
}
