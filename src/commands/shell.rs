//! `shopmirror completions SHELL` and `shopmirror man`: the shell completion scripts and the
//! manual page, generated from the command-line definitions so they never drift from them.

use std::io::Write;

use clap::CommandFactory;

use super::Failure;
use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "shopmirror", &mut out);
    write_stdout(&out)
}

pub fn man() -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Failure::Failed(format!("cannot render the manual page: {e}")))?;
    write_stdout(&out)
}

/// Writes all of `bytes` to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Failed(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
