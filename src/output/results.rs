//! results.csv: one row per attempt, appended and flushed as each attempt ends.
//!
//! Fixed columns come first; result columns follow in the order first seen. When a row brings a
//! new column the file is rewritten whole (new header, old rows padded) through a temporary file
//! and a rename, so a crash leaves either the old or the new file, never a mix.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::atomic::sync_dir;
use super::rfc3339;
use crate::error::{Error, Result};
use crate::model::Status;

/// The fixed columns, in order.
pub const FIXED: [&str; 9] = [
    "index",
    "key",
    "machine",
    "status",
    "exit_code",
    "attempt",
    "started_at",
    "duration_s",
    "error",
];

/// One attempt, as the runner records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The job's index.
    pub index: u64,
    /// The job key's 16 hex digits.
    pub key: String,
    /// The machine that ran it.
    pub machine: String,
    /// How it ended.
    pub status: Status,
    /// The exit code, if the process exited by itself.
    pub exit_code: Option<i32>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub started_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// Result columns.
    pub fields: Vec<(String, String)>,
}

/// What an existing results.csv already holds.
#[derive(Debug, Default)]
pub struct Existing {
    /// Rows read.
    pub rows: u64,
    /// Keys with an ok row.
    pub ok_keys: HashSet<String>,
    /// The highest attempt number per key.
    pub attempts: HashMap<String, u32>,
    /// Bytes cut from a row torn by a crash.
    pub repaired_bytes: u64,
}

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
    /// is read: a row torn by a crash at its end is cut away; a malformed row elsewhere is an
    /// error naming its line.
    ///
    /// # Errors
    /// An unreadable or unwritable file, a full disk, a file that is not a jobsplit results.csv.
    pub fn open(path: &Path, fsync: bool) -> Result<(ResultsWriter, Existing)> {
        let io = |e| Error::io(path, e);
        let mut existing = Existing::default();
        super::refuse_link(path)?;
        if let Some(dir) = path.parent() {
            super::remove_stale_temps(dir, &["results.csv"]);
        }
        let columns = if path.exists() {
            let mut data = Vec::new();
            super::open_output(OpenOptions::new().read(true), path)?
                .read_to_end(&mut data)
                .map_err(io)?;
            let (columns, good_end) = scan(path, &data, &mut existing)?;
            if good_end < data.len() {
                existing.repaired_bytes = (data.len() - good_end) as u64;
                let f = super::open_output(OpenOptions::new().write(true), path)?;
                f.set_len(good_end as u64).map_err(io)?;
                f.sync_all().map_err(io)?;
            }
            columns
        } else {
            let mut header = FIXED.join(",");
            header.push('\n');
            let mut f = super::open_output(OpenOptions::new().write(true).create_new(true), path)?;
            f.write_all(header.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            sync_dir(path);
            Vec::new()
        };
        let file = super::open_output(OpenOptions::new().append(true), path)?;
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
        let new: Vec<&String> = names
            .iter()
            .filter(|n| !self.position.contains_key(*n))
            .collect();
        if !new.is_empty() {
            let mut columns = self.columns.clone();
            for n in new {
                if !columns.contains(n) {
                    columns.push(n.clone());
                }
            }
            self.grow(columns)?;
        }
        self.cells.clear();
        self.cells.resize(self.columns.len(), String::new());
        for (name, (_, value)) in names.iter().zip(&row.fields) {
            self.cells[self.position[name]].clone_from(value);
        }
        self.buf.clear();
        {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
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
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.path, e))?;
        if self.fsync {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    /// Rewrites the file with `columns` as its result columns.
    fn grow(&mut self, columns: Vec<String>) -> Result<()> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        let (tmp_file, tmp) = super::create_temp(&path).map_err(io)?;
        let result = (|| -> std::io::Result<()> {
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(&path)?;
            let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(tmp_file));
            let header: Vec<&str> = FIXED
                .iter()
                .copied()
                .chain(columns.iter().map(String::as_str))
                .collect();
            writer.write_record(&header)?;
            let width = header.len();
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record)? {
                let mut cells: Vec<&[u8]> = record.iter().collect();
                cells.resize(width, b"");
                writer.write_record(&cells)?;
            }
            let file = writer
                .into_inner()
                .map_err(|e| e.into_error())?
                .into_inner()
                .map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        sync_dir(&path);
        self.file = super::open_output(OpenOptions::new().append(true), &path)?;
        self.position = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        self.columns = columns;
        Ok(())
    }
}

/// A result field's column name: a name that clashes with a fixed column gets `result_`.
pub fn column_name(field: &str) -> String {
    if FIXED.contains(&field) {
        format!("result_{field}")
    } else {
        field.to_owned()
    }
}

fn fixed_cells(row: &ResultRow) -> [String; 9] {
    [
        row.index.to_string(),
        row.key.clone(),
        row.machine.clone(),
        row.status.as_str().to_owned(),
        row.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        row.attempt.to_string(),
        rfc3339(row.started_at),
        format!("{:.6}", row.duration.as_secs_f64()),
        row.error.as_deref().map(one_line).unwrap_or_default(),
    ]
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Reads and checks the header of a results file: every column name, the fixed ones first.
///
/// # Errors
/// An unreadable header or one that does not start with [`FIXED`]; `fix` ends the message.
pub(crate) fn read_header<R: std::io::Read>(
    path: &Path,
    reader: &mut csv::Reader<R>,
    fix: &str,
) -> Result<Vec<String>> {
    let header = reader.byte_headers().map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::invalid(Some(path), Some(1), format!("unreadable header: {other:?}")),
    })?;
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    if names.len() < FIXED.len() || names[..FIXED.len()] != FIXED {
        return Err(Error::invalid(
            Some(path),
            Some(1),
            format!(
                "not a jobsplit results file (the header must start with {}): {fix}",
                FIXED.join(",")
            ),
        ));
    }
    Ok(names)
}

/// Reads an existing file: its result columns and the end of its last whole row.
fn scan(path: &Path, data: &[u8], existing: &mut Existing) -> Result<(Vec<String>, usize)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(data);
    let names = read_header(path, &mut reader, "move it away or pass --fresh")?;
    let header_end = reader.position().byte() as usize;
    if header_end > data.len() || (header_end == data.len() && !data.ends_with(b"\n")) {
        return Err(Error::invalid(
            Some(path),
            Some(1),
            "the header is torn: move the file away or pass --fresh",
        ));
    }
    let mut good_end = header_end;
    let mut record = csv::StringRecord::new();
    let mut bad: Option<(u64, String)> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let end = reader.position().byte() as usize;
                let line = record.position().map_or(0, csv::Position::line);
                let terminated = end <= data.len() && end > 0 && data[end - 1] == b'\n';
                match row_facts(&record, names.len()) {
                    Ok((key, status, attempt)) if terminated => {
                        if let Some((l, m)) = bad.take() {
                            return Err(Error::invalid(
                                Some(path),
                                Some(l),
                                format!("{m}: fix or remove this row"),
                            ));
                        }
                        existing.rows += 1;
                        if status == Status::Ok {
                            existing.ok_keys.insert(key.clone());
                        }
                        let a = existing.attempts.entry(key).or_insert(0);
                        *a = (*a).max(attempt);
                        good_end = end;
                    }
                    Ok(_) => bad = bad.or(Some((line, "a row without its line end".into()))),
                    Err(m) => bad = bad.or(Some((line, m))),
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                bad = bad.or(Some((line, format!("malformed row ({e})"))));
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    Ok((names[FIXED.len()..].to_vec(), good_end))
}

/// The key, status and attempt of a row, checked.
fn row_facts(
    record: &csv::StringRecord,
    width: usize,
) -> std::result::Result<(String, Status, u32), String> {
    if record.len() != width {
        return Err(format!(
            "the row has {} fields, the header {width}",
            record.len()
        ));
    }
    let key = record[1].to_owned();
    if key.len() != 16 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{key}` is not a job key"));
    }
    let status = record[3].parse::<Status>()?;
    let attempt = record[5]
        .parse::<u32>()
        .map_err(|_| format!("`{}` is not an attempt number", &record[5]))?;
    record[0]
        .parse::<u64>()
        .map_err(|_| format!("`{}` is not a job index", &record[0]))?;
    Ok((key, status, attempt))
}
