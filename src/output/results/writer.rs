//! Appending to results.csv: one row per attempt, appended and flushed as each attempt ends.
//!
//! Fixed columns come first; the job's inputs, the command and the result columns follow, each
//! group in the order first seen ([`insert_column`]). When a row brings a new column the file is
//! rewritten whole (new header, old rows' cells moved to their columns, the new ones empty)
//! through a temporary file and a rename, so a crash leaves either the old or the new file,
//! never a mix. An existing file is read back with the one [`ResultsReader`] (the resume scan).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::columns::{column_name, insert_column, COMMAND};
use super::data::Data;
use super::reader::ResultsReader;
use super::resume::{scan, Existing, RUN_FIX};
use super::row::{fixed_cells, ResultRow, FIXED};
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
    buf: Vec<u8>,
    cells: Vec<String>,
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
        let columns = if path.exists() {
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
            let mut header = FIXED.join(",");
            header.push('\n');
            let mut f =
                crate::output::open_output(OpenOptions::new().write(true).create_new(true), path)?;
            f.write_all(header.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            sync_dir(path);
            Vec::new()
        };
        let file = crate::output::open_output(OpenOptions::new().append(true), path)?;
        let position = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        Ok((
            ResultsWriter {
                path: path.to_path_buf(),
                file,
                fsync,
                columns,
                position,
                buf: Vec::with_capacity(256),
                cells: Vec::new(),
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
        scan(path, &mut Existing::default()).map(|_| ())
    }

    /// The result columns so far.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Appends one row and flushes it to the file (and fsyncs, if asked).
    ///
    /// # Errors
    /// A full disk or an I/O error; the file then holds every earlier row intact.
    pub fn append(&mut self, row: &ResultRow) -> Result<()> {
        let names: Vec<String> = row.fields.iter().map(|(k, _)| column_name(k)).collect();
        let cells = row
            .inputs
            .iter()
            .map(|(c, v)| (c.as_str(), v))
            .chain(row.command.as_ref().map(|c| (COMMAND, c)))
            .chain(
                names
                    .iter()
                    .map(String::as_str)
                    .zip(row.fields.iter().map(|(_, v)| v)),
            );
        let cells: Vec<(&str, &String)> = cells.collect();
        if cells.iter().any(|(n, _)| !self.position.contains_key(*n)) {
            let mut columns = self.columns.clone();
            for (n, _) in &cells {
                insert_column(&mut columns, n);
            }
            self.grow(columns)?;
        }
        self.cells.clear();
        self.cells.resize(self.columns.len(), String::new());
        for (name, value) in cells {
            self.cells[self.position[name]].clone_from(value);
        }
        self.buf.clear();
        {
            // A small buffer: the default 8 KB, zeroed for every row, cost more than the row.
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .buffer_capacity(512)
                .from_writer(&mut self.buf);
            let fixed = fixed_cells(row);
            w.write_record(
                fixed
                    .iter()
                    .map(String::as_str)
                    .chain(self.cells.iter().map(String::as_str)),
            )
            .expect("writing CSV to memory cannot fail");
            w.flush().expect("writing CSV to memory cannot fail");
        }
        self.write_row()?;
        if self.fsync {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Writes the row in `buf`. A row a full disk cuts short is taken back whole (the file is
    /// cut to where it started), so that rows written after it, once space comes back, never
    /// sit behind a torn one.
    fn write_row(&mut self) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        let before = self.file.metadata().map_err(io)?.len();
        if let Err(e) = self.file.write_all(&self.buf) {
            let _ = self.file.set_len(before);
            return Err(io(e));
        }
        Ok(())
    }

    /// Rewrites the file with `columns` as its result columns.
    fn grow(&mut self, columns: Vec<String>) -> Result<()> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        let (tmp_file, tmp) = crate::output::create_temp(&path).map_err(io)?;
        let result = (|| -> Result<()> {
            let mut reader = ResultsReader::from_data(&path, Data::open(&path)?, RUN_FIX)?;
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
                        self.position.get(*name).map(|p| FIXED.len() + p)
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
            let file = writer
                .into_inner()
                .map_err(|e| io(e.into_error()))?
                .into_inner()
                .map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        sync_dir(&path);
        self.file = crate::output::open_output(OpenOptions::new().append(true), &path)?;
        self.position = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        self.columns = columns;
        Ok(())
    }
}
