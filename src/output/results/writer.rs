//! Appending to results.csv: one row per attempt, appended and flushed as each attempt ends.
//!
//! Fixed columns come first; the job's inputs, the command and the result columns follow, each
//! group in the order first seen ([`insert_column`]). When rows bring new columns the file is
//! rewritten whole (new header, old rows' cells moved to their columns, the new ones empty)
//! through a temporary file and a rename, so a crash leaves either the old or the new file,
//! never a mix. Such rows wait in a journal until the rewrite ([`super::pending`]), which folds
//! a burst of new columns at once: the cost stays linear in the file, not rows x columns^2. An
//! existing file is read back with the one [`ResultsReader`] (the resume scan).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::columns::{column_name, insert_column, COMMAND};
use super::data::Data;
use super::pending::{self, Journal, PendingRow};
use super::reader::ResultsReader;
use super::resume::{scan, Existing, RUN_FIX};
use super::row::{fixed_cells, FixedCells, ResultRow, FIXED};
use crate::error::{Error, Result};
use crate::output::atomic::sync_dir;

/// Appends rows to a results.csv.
#[derive(Debug)]
pub struct ResultsWriter {
    path: PathBuf,
    file: File,
    fsync: bool,
    columns: Vec<String>,
    position: HashMap<String, usize>,
    /// The row being written.
    buf: Vec<u8>,
    fixed: FixedCells,
    /// The file's length after the last row written, if known.
    len: Option<u64>,
    /// Rows in the file (not counting the journal's).
    rows: u64,
    /// Rows waiting for the next fold, with their new columns.
    journal: Option<Journal>,
    last_fold_end: Instant,
    last_fold_took: Duration,
}

impl ResultsWriter {
    /// Opens `path` for appending, creating it with the fixed header if absent. An existing file
    /// is read first: a last row torn by a crash (no line end) is cut away; any other malformed
    /// row is an error naming its line, and the file is then left as it is.
    ///
    /// # Errors
    /// An unreadable or unwritable file, a full disk, a file that is not a jobsplit results.csv,
    /// a malformed row.
    pub fn open(path: &Path, fsync: bool) -> Result<(ResultsWriter, Existing)> {
        let io = |e| Error::io(path, e);
        let mut existing = Existing::default();
        crate::output::refuse_link(path)?;
        if let Some(dir) = path.parent() {
            crate::output::remove_stale_temps(dir, &["results.csv"]);
        }
        let mut header = FIXED.join(",");
        header.push('\n');
        // A header a kill cut as the file was created (by a version that wrote it in place)
        // holds no row: it is written again (nothing was lost, so nothing is said).
        let torn_header = torn_header(path, header.as_bytes())?;
        let mut columns = if path.exists() && torn_header.is_none() {
            let (columns, torn_at) = scan(path, &mut existing)?;
            if let Some(good_end) = torn_at {
                let f = crate::output::open_output(OpenOptions::new().write(true), path)?;
                let len = f.metadata().map_err(io)?.len();
                existing.repaired_bytes = len.saturating_sub(good_end);
                f.set_len(good_end).map_err(io)?;
                f.sync_all().map_err(io)?;
            }
            columns
        } else {
            // Whole or absent, never torn: a kill leaves no results.csv or its whole header.
            crate::output::write_atomic(path, header.as_bytes())?;
            Vec::new()
        };
        // Rows a killed run journaled and did not fold: folded now, before anything else.
        if let Some((after_rows, rows)) = pending::read_left(path)? {
            if after_rows == existing.rows && !rows.is_empty() {
                let wider = with_columns(&columns, &rows);
                rewrite(path, &positions(&columns), &wider, &rows)?;
            }
            pending::remove_left(path);
            let repaired_bytes = existing.repaired_bytes;
            existing = Existing {
                repaired_bytes,
                ..Existing::default()
            };
            columns = scan(path, &mut existing)?.0;
        }
        let file = crate::output::open_output(OpenOptions::new().append(true), path)?;
        Ok((
            ResultsWriter {
                path: path.to_path_buf(),
                file,
                fsync,
                position: positions(&columns),
                columns,
                buf: Vec::with_capacity(256),
                fixed: FixedCells::default(),
                len: None,
                rows: existing.rows,
                journal: None,
                last_fold_end: Instant::now(),
                last_fold_took: Duration::ZERO,
            },
            existing,
        ))
    }

    /// Checks an existing results file as [`ResultsWriter::open`] would, reading only: its
    /// header and every row but a torn last one.
    ///
    /// # Errors
    /// An unreadable file, a foreign header, a malformed row.
    pub fn check(path: &Path) -> Result<()> {
        let header = FIXED.join(",") + "\n";
        if torn_header(path, header.as_bytes())?.is_some() {
            return Ok(());
        }
        scan(path, &mut Existing::default()).map(|_| ())
    }

    /// The result columns so far.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Appends one row and flushes it to the file (and fsyncs, if asked). A row that brings a
    /// new column, and every row after it until the next fold, goes to the journal instead
    /// (flushed the same way) and reaches results.csv with the next fold (`results.csv.pending`
    /// in docs/output-format.md).
    ///
    /// # Errors
    /// A full disk or an I/O error; the file then holds every earlier row intact.
    ///
    /// # Panics
    /// Never: its `expect`s state what the code above them made sure of.
    pub fn append(&mut self, row: &ResultRow) -> Result<()> {
        // The row's cells after the fixed ones, by column name (a result field under its
        // column's name, which is its own name for most fields).
        let fields: Vec<String> = row.fields.iter().map(|(k, _)| column_name(k)).collect();
        let cells = || {
            let inputs = row.inputs.iter().map(|(c, v)| (c.as_str(), v.as_str()));
            let command = row.command.iter().map(|c| (COMMAND, c.as_str()));
            let fields = fields
                .iter()
                .zip(&row.fields)
                .map(|(c, (_, v))| (c.as_str(), v.as_str()));
            inputs.chain(command).chain(fields)
        };
        // Each cell's column, None for a new one (one lookup a cell).
        let at: Vec<Option<usize>> = cells()
            .map(|(n, _)| self.position.get(n).copied())
            .collect();
        if at.contains(&None) || self.journal.is_some() {
            if self.journal.is_none() {
                self.journal = Some(Journal::start(&self.path, self.rows)?);
            }
            let fixed = fixed_cells(row).to_vec();
            let cells = cells().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
            let journal = self.journal.as_mut().expect("started above");
            journal.push(PendingRow { fixed, cells }, self.fsync)?;
            return self.fold_if_due();
        }
        let mut columns = vec![""; self.columns.len()];
        for (at, (_, value)) in at.into_iter().zip(cells()) {
            columns[at.expect("every column is known here")] = value;
        }
        self.buf.clear();
        {
            // A small buffer: the default 8 KB, zeroed for every row, cost more than the row.
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .buffer_capacity(512)
                .from_writer(&mut self.buf);
            let fixed = self.fixed.cells(row);
            w.write_record(fixed.iter().chain(&columns))
                .expect("writing CSV to memory cannot fail");
            w.flush().expect("writing CSV to memory cannot fail");
        }
        self.write_row()?;
        self.rows += 1;
        if self.fsync {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Folds the journal into results.csv if it holds rows and the last fold is far enough
    /// behind (9 times what it took); the run calls it on its status tick.
    ///
    /// # Errors
    /// As [`ResultsWriter::finish`].
    pub fn fold_if_due(&mut self) -> Result<()> {
        if self.journal.is_some() && pending::due(self.last_fold_end, self.last_fold_took) {
            self.finish()?;
        }
        Ok(())
    }

    /// Folds the rows waiting in the journal into results.csv now (the run calls it as it
    /// ends; dropping the writer does it too, errors aside).
    ///
    /// # Errors
    /// A full disk or an I/O error: results.csv and the journal are then as they were (the
    /// next run folds the journal).
    pub fn finish(&mut self) -> Result<()> {
        let Some(journal) = self.journal.take() else {
            return Ok(());
        };
        let started = Instant::now();
        let columns = with_columns(&self.columns, &journal.rows);
        if let Err(e) = rewrite(&self.path, &self.position, &columns, &journal.rows) {
            self.journal = Some(journal);
            return Err(e);
        }
        self.rows += journal.rows.len() as u64;
        journal.remove();
        self.file = crate::output::open_output(OpenOptions::new().append(true), &self.path)?;
        self.len = None;
        self.position = positions(&columns);
        self.columns = columns;
        self.last_fold_took = started.elapsed();
        self.last_fold_end = Instant::now();
        Ok(())
    }

    /// Writes the row in `buf`. A row a full disk cuts short is taken back whole
    /// (the file is cut to where it started), so that rows written after it, once space comes
    /// back, never sit behind a torn one.
    fn write_row(&mut self) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        // Where the row starts: the length known since the last row (the directory's lock
        // keeps other writers out), asked of the file only after an open or a failure.
        let before = match self.len {
            Some(len) => len,
            None => self.file.metadata().map_err(io)?.len(),
        };
        if let Err(e) = self.file.write_all(&self.buf) {
            self.len = self.file.set_len(before).ok().map(|()| before);
            return Err(io(e));
        }
        self.len = Some(before + self.buf.len() as u64);
        Ok(())
    }
}

impl Drop for ResultsWriter {
    fn drop(&mut self) {
        // Errors aside (the journal then stays, and the next run folds it).
        let _ = self.finish();
    }
}

/// Column name -> position among `columns`.
fn positions(columns: &[String]) -> HashMap<String, usize> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i))
        .collect()
}

/// `columns` with the new columns of `rows` added, each at the end of its group.
fn with_columns(columns: &[String], rows: &[PendingRow]) -> Vec<String> {
    let mut wider = columns.to_vec();
    for r in rows {
        for (n, _) in &r.cells {
            insert_column(&mut wider, n);
        }
    }
    wider
}

/// Rewrites the file at `path` (whose result columns are at `old`) with `columns` as its
/// result columns and `tail` after its rows, through a temporary file and a rename.
fn rewrite(
    path: &Path,
    old: &HashMap<String, usize>,
    columns: &[String],
    tail: &[PendingRow],
) -> Result<()> {
    let io = |e| Error::io(path, e);
    let (tmp_file, tmp) = crate::output::create_temp(path).map_err(io)?;
    let result = (|| -> Result<()> {
        let mut reader = ResultsReader::from_data(path, Data::open(path)?, RUN_FIX)?;
        let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(tmp_file));
        let header: Vec<&str> = FIXED
            .iter()
            .copied()
            .chain(columns.iter().map(String::as_str))
            .collect();
        // The operating system's own error, so a full disk is told as one.
        let csv_io = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(e) => io(e),
            other => io(std::io::Error::other(format!("{other:?}"))),
        };
        writer.write_record(&header).map_err(csv_io)?;
        // For each column of the new header, the cell of an old row that fills it (none for
        // the new columns: empty).
        let from: Vec<Option<usize>> = header
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if i < FIXED.len() {
                    Some(i)
                } else {
                    old.get(*name).map(|p| FIXED.len() + p)
                }
            })
            .collect();
        while let Some(row) = reader.next_row()? {
            for cell in &from {
                let cell = cell.map_or(&b""[..], |i| row.cell(i));
                writer.write_field(cell).map_err(csv_io)?;
            }
            writer.write_record(None::<&[u8]>).map_err(csv_io)?;
        }
        let position = positions(columns);
        let mut cells = vec![""; columns.len()];
        for r in tail {
            cells.iter_mut().for_each(|c| *c = "");
            for (name, value) in &r.cells {
                cells[position[name]] = value;
            }
            let record = r
                .fixed
                .iter()
                .map(String::as_str)
                .chain(cells.iter().copied());
            writer.write_record(record).map_err(csv_io)?;
        }
        let file = writer
            .into_inner()
            .map_err(|e| io(e.into_error()))?
            .into_inner()
            .map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path);
    Ok(())
}

/// The length of `path` if it is a strict beginning of `header` (a header cut short, empty
/// included), `None` otherwise (absent, whole, or anything else, which [`scan`] judges).
///
/// # Errors
/// A file that exists and cannot be read.
fn torn_header(path: &Path, header: &[u8]) -> Result<Option<u64>> {
    let len = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        _ => return Ok(None),
    };
    if len >= header.len() as u64 {
        return Ok(None);
    }
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(header.starts_with(&data).then_some(data.len() as u64))
}
