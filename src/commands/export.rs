//! `shopmirror export`: checks the options, opens a read-only connection and streams the
//! chosen format to stdout (a closed pipe ends it quietly) or to a file written atomically
//! (temp file in the same directory, fsync, rename; an existing file only with --force).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::Failure;
use crate::cli::{ExportArgs, ExportFormat};
use crate::config::Config;
use crate::export::{self, Format, Summary};
use crate::message::one_line;
use crate::store::{ExportFilter, Reader};

pub fn run(config: &Config, args: &ExportArgs) -> Result<(), Failure> {
    let format = match (args.format, args.variants) {
        (ExportFormat::Csv, false) => Format::Csv,
        (ExportFormat::Csv, true) => Format::VariantsCsv,
        (ExportFormat::Jsonl, false) => Format::Jsonl,
        (ExportFormat::ShopifyCsv, false) => Format::ShopifyCsv,
        (_, true) => {
            return Err(Failure::Usage(
                "--variants applies to --format csv only (jsonl holds the variants, \
                 shopify-csv is always one row per variant)"
                    .into(),
            ))
        }
    };
    if args.bom && format == Format::Jsonl {
        return Err(Failure::Usage(
            "--bom applies to the CSV formats only (JSON Lines must not start with one)".into(),
        ));
    }
    let changed_since = match &args.changed_since {
        Some(text) => Some(export::parse_time(text).map_err(|e| Failure::Usage(e.to_string()))?),
        None => None,
    };
    let to_stdout = args.output.as_os_str() == "-";
    if !to_stdout && !args.force && args.output.exists() {
        return Err(exists(&args.output));
    }
    let reader = open_reader(config)?;
    let store = match &args.store {
        Some(given) => Some(
            super::store_arg::resolve(&reader, &config.db_path, given).map_err(Failure::Usage)?,
        ),
        None => None,
    };
    if format == Format::ShopifyCsv && store.is_none() {
        let stores = reader.store_names()?;
        if stores.len() > 1 {
            return Err(Failure::Usage(format!(
                "--format shopify-csv needs --store: {} holds {} stores ({}), and one import \
                 file must not mix their products",
                config.db_path.display(),
                stores.len(),
                stores.join(", ")
            )));
        }
    }
    if let Some(handle) = &args.collection {
        if !reader.collection_exists(handle, store.as_deref())? {
            return Err(Failure::Usage(format!(
                "no collection with handle {handle:?} in {}",
                config.db_path.display()
            )));
        }
    }
    let filter = ExportFilter {
        store,
        collection: args.collection.clone(),
        changed_since,
        include_deleted: args.include_deleted,
        one_per_handle: false,
    };
    let how = How {
        format,
        bom: args.bom,
    };
    if to_stdout {
        to_standard_output(&reader, &filter, how)
    } else {
        to_file(&reader, &filter, how, &args.output, args.force)
    }
}

/// The format and whether to start with a byte-order mark.
#[derive(Clone, Copy)]
struct How {
    format: Format,
    bom: bool,
}

/// Says on stderr which products were left out, and why.
fn report(summary: &Summary) {
    for left_out in &summary.left_out {
        eprintln!("shopmirror: note: {left_out}");
    }
}

/// Opens the database read-only, with a clear message when it does not exist yet.
pub(super) fn open_reader(config: &Config) -> Result<Reader, Failure> {
    if !config.db_path.exists() {
        return Err(Failure::Failed(format!(
            "database {} does not exist yet: run `shopmirror sync` first",
            config.db_path.display()
        )));
    }
    Ok(Reader::open(&config.db_path)?)
}

fn to_standard_output(reader: &Reader, filter: &ExportFilter, how: How) -> Result<(), Failure> {
    let stdout = io::stdout();
    let out = BufWriter::new(stdout.lock());
    match export::write(reader, filter, how.format, how.bom, out, "stdout") {
        Ok(summary) => {
            report(&summary);
            tracing::debug!(products = summary.products, "export written to stdout");
            Ok(())
        }
        Err(e) if e.is_broken_pipe() => {
            tracing::debug!("stdout closed by its reader; export stopped");
            Ok(())
        }
        Err(e) => Err(Failure::Failed(one_line(&e))),
    }
}

fn to_file(
    reader: &Reader,
    filter: &ExportFilter,
    how: How,
    path: &Path,
    force: bool,
) -> Result<(), Failure> {
    let target = path.display().to_string();
    let failed = |what: &str, e: io::Error| Failure::Failed(format!("{what} {target}: {e}"));
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".shopmirror-export-")
        .suffix(".tmp")
        .permissions(new_file_permissions(path))
        .tempfile_in(dir)
        .map_err(|e| failed("cannot create a temporary file next to", e))?;
    let summary = {
        let mut out = BufWriter::new(temp.as_file_mut());
        let summary = export::write(reader, filter, how.format, how.bom, &mut out, &target)
            .map_err(|e| Failure::Failed(one_line(&e)))?;
        out.flush().map_err(|e| failed("cannot write", e))?;
        summary
    };
    temp.as_file()
        .sync_all()
        .map_err(|e| failed("cannot sync", e))?;
    let persisted = if force {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    if let Err(e) = persisted {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            return Err(exists(path));
        }
        return Err(failed("cannot rename the temporary file to", e.error));
    }
    // The rename is durable once the directory itself is synced.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed("cannot sync the directory of", e))?;
    report(&summary);
    tracing::debug!(products = summary.products, file = %target, "export written");
    Ok(())
}

/// What the export file gets: the replaced file's permissions, else those of any new file
/// (0666 less the umask) rather than a temp file's owner-only 0600.
fn new_file_permissions(path: &Path) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta.permissions(),
        _ => std::fs::Permissions::from_mode(0o666),
    }
}

fn exists(path: &Path) -> Failure {
    Failure::Usage(format!(
        "{} already exists: use --force to replace it",
        path.display()
    ))
}
