//! `shopmirror completions SHELL` and `shopmirror man [--dir DIR]`: the shell completion scripts
//! and the manual pages (shopmirror(1) and one per command, e.g. shopmirror-sync(1),
//! shopmirror-stores-list(1)), generated from the command-line definitions so they never drift
//! from them; the main page adds the sections in `sections`.

mod config;
mod sections;

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_mangen::Man;

use super::Failure;
use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "shopmirror", &mut out);
    write_stdout(&out)
}

/// The main page on stdout, or every page into `dir` (each path printed).
pub fn man(dir: Option<&Path>) -> Result<(), Failure> {
    let pages = pages().map_err(|e| Failure::Failed(format!("cannot render the manual: {e}")))?;
    let Some(dir) = dir else {
        return write_stdout(&pages[0].1);
    };
    for (name, text) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", path.display())))?;
        super::print_line(&path.display().to_string());
    }
    Ok(())
}

/// Every page as (file name, roff): the main page first, then one per command and
/// subcommand, named after the path to it (`shopmirror-stores-list.1`).
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = vec![("shopmirror.1".to_string(), main_page(&root)?)];
    for sub in commands(&root) {
        add_pages(sub, &mut pages)?;
    }
    Ok(pages)
}

/// The commands of `cmd` that get a page: not hidden, not clap's `help`.
fn commands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

fn add_pages(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    let mut cmd = cmd.clone().disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone());
    let mut text = Vec::new();
    man.render(&mut text)?;
    pages.push((man.get_filename(), text));
    for sub in commands(&cmd) {
        add_pages(sub, pages)?;
    }
    Ok(())
}

/// shopmirror(1): clap's sections, then configuration, files, environment, exit status,
/// examples and see-also.
fn main_page(root: &clap::Command) -> std::io::Result<Vec<u8>> {
    let man = Man::new(root.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    let see_also: Vec<String> = page_names(root);
    sections::render(&see_also).to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// The page names of every command below `root`, e.g. `shopmirror-stores-list`.
fn page_names(root: &clap::Command) -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in commands(cmd) {
            let name = format!("{prefix}-{}", sub.get_name());
            out.push(name.clone());
            walk(sub, &name, out);
        }
    }
    let mut out = Vec::new();
    walk(root, root.get_name(), &mut out);
    out
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

#[cfg(test)]
mod tests;
