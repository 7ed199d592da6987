//! Job lists: one shell command per line, CSV records, or JSON lines.
//!
//! The file is read once into memory and indexed by byte spans, so a 10M-job list costs the
//! file plus 16 bytes a job; no job is held as its own `String`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::canonical::to_canonical;
use super::format::{Format, Record};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    len: u32,
    /// The 1-based line the job starts on, for messages. Kept only for CSV and JSONL.
    line: u32,
}

/// A job list read into memory and indexed.
#[derive(Debug)]
pub struct JobList {
    path: PathBuf,
    format: Format,
    data: Vec<u8>,
    spans: Vec<Span>,
    headers: Vec<String>,
}

impl JobList {
    /// Reads and checks the job list at `path`.
    ///
    /// # Errors
    /// A missing or unreadable file, a list with no jobs, a line that is not UTF-8, a CSV row
    /// with the wrong number of fields, a JSONL line that is not JSON: each names the line.
    pub fn load(path: &Path, format: Format) -> Result<JobList> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        JobList::from_bytes(path, format, data)
    }

    /// Indexes a job list already in memory; `path` names it in messages.
    ///
    /// # Errors
    /// As [`JobList::load`].
    pub fn from_bytes(path: &Path, format: Format, data: Vec<u8>) -> Result<JobList> {
        let mut list = JobList {
            path: path.to_path_buf(),
            format,
            data,
            spans: Vec::new(),
            headers: Vec::new(),
        };
        match format {
            Format::Lines => list.index_lines()?,
            Format::Jsonl => list.index_jsonl()?,
            Format::Csv => list.index_csv()?,
        }
        if list.spans.is_empty() {
            return Err(list.error(
                None,
                "the job list has no jobs: add one job per line (blank lines and # comments are skipped)",
            ));
        }
        Ok(list)
    }

    fn error(&self, line: Option<u64>, message: impl Into<String>) -> Error {
        Error::job_list(Some(&self.path), line, message)
    }

    fn push_span(&mut self, start: usize, end: usize, line: u64) -> Result<()> {
        let len = u32::try_from(end - start)
            .map_err(|_| self.error(Some(line), "a job longer than 4 GiB is not supported"))?;
        self.spans.push(Span {
            start: start as u64,
            len,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        });
        Ok(())
    }

    /// Calls `f(line_number, start, end)` for every line (without `\n` and one trailing `\r`).
    fn for_each_line(
        data: &[u8],
        mut f: impl FnMut(u64, usize, usize) -> Result<()>,
    ) -> Result<()> {
        let mut start = 0;
        let mut line = 0u64;
        while start < data.len() {
            line += 1;
            let nl = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |p| start + p);
            let end = if nl > start && data[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            f(line, start, end)?;
            start = nl + 1;
        }
        Ok(())
    }

    /// Refuses a UTF-8 byte order mark at the start of the file: in a lines list it would
    /// become part of job 0's command (split-v1 keeps it in the job's bytes, so refusing it
    /// changes no plan that was ever accepted); in JSONL it is not JSON.
    fn refuse_bom(&self) -> Result<()> {
        if self.data.starts_with(BOM) {
            return Err(self.error(
                Some(1),
                format!(
                    "the file starts with a byte order mark (bytes EF BB BF), which would become part of the first job: remove it, e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' {}",
                    self.path.display()
                ),
            ));
        }
        Ok(())
    }

    fn index_lines(&mut self) -> Result<()> {
        self.refuse_bom()?;
        let data = std::mem::take(&mut self.data);
        if let Err(e) = std::str::from_utf8(&data) {
            let line = memchr::memchr_iter(b'\n', &data[..e.valid_up_to()]).count() as u64 + 1;
            return Err(self.error(
                Some(line),
                "this line is not valid UTF-8: re-encode the job list as UTF-8",
            ));
        }
        // Reserve exactly (one pass of memchr is cheap) so 10M jobs cost 16 bytes each, not 32.
        let mut spans = Vec::with_capacity(memchr::memchr_iter(b'\n', &data).count() + 1);
        let too_long = Self::for_each_line(&data, |line, start, end| {
            if !skipped_line(&data[start..end]) {
                let len = u32::try_from(end - start).map_err(|_| {
                    Error::job_list(None, Some(line), "a job longer than 4 GiB is not supported")
                })?;
                spans.push(Span {
                    start: start as u64,
                    len,
                    line: 0,
                });
            }
            Ok(())
        });
        self.data = data;
        too_long.map_err(|e| match e {
            Error::Invalid { line, message, .. } => self.error(line, message),
            other => other,
        })?;
        spans.shrink_to_fit();
        self.spans = spans;
        Ok(())
    }

    fn index_jsonl(&mut self) -> Result<()> {
        self.refuse_bom()?;
        let data = std::mem::take(&mut self.data);
        let mut spans = Vec::new();
        Self::for_each_line(&data, |line, start, end| {
            let text = &data[start..end];
            if text.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            serde_json::from_slice::<Value>(text).map_err(|e| {
                self.error(
                    Some(line),
                    format!("not valid JSON ({e}): write one JSON value per line"),
                )
            })?;
            spans.push((start, end, line));
            Ok(())
        })?;
        self.data = data;
        for (start, end, line) in spans {
            self.push_span(start, end, line)?;
        }
        Ok(())
    }

    fn index_csv(&mut self) -> Result<()> {
        let data = std::mem::take(&mut self.data);
        let mut reader = csv::ReaderBuilder::new().from_reader(data.as_slice());
        let csv_error = |e: csv::Error| {
            let line = e.position().map(csv::Position::line);
            let message = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!(
                    "this row has {len} fields but the header has {expected_len}: quote fields that contain commas"
                ),
                csv::ErrorKind::Utf8 { .. } => {
                    "this row is not valid UTF-8: re-encode the job list as UTF-8".to_owned()
                }
                _ => format!("malformed CSV: {e}"),
            };
            Error::job_list(Some(&self.path), line, message)
        };
        let headers = reader.headers().map_err(csv_error)?.clone();
        let mut names: Vec<String> = Vec::with_capacity(headers.len());
        for (n, h) in headers.iter().enumerate() {
            if h.is_empty() {
                return Err(self.error(
                    Some(1),
                    format!(
                        "column {} of the header has no name: name every column",
                        n + 1
                    ),
                ));
            }
            if names.iter().any(|x| x == h) {
                return Err(self.error(
                    Some(1),
                    format!("the header names column `{h}` twice: give each column its own name"),
                ));
            }
            names.push(h.to_owned());
        }
        let mut record = csv::StringRecord::new();
        let mut spans = Vec::new();
        loop {
            let start = reader.position().byte() as usize;
            if !reader.read_record(&mut record).map_err(csv_error)? {
                break;
            }
            let line = record.position().map_or(0, csv::Position::line);
            let start = record.position().map_or(start, |p| p.byte() as usize);
            let end = reader.position().byte() as usize;
            spans.push((start, end, line));
        }
        drop(reader);
        self.data = data;
        self.headers = names;
        for (start, end, line) in spans {
            self.push_span(start, end, line)?;
        }
        Ok(())
    }

    /// Refuses a job whose shell command under `template` (none: the line is the command)
    /// would hold a NUL byte, which no command can carry: a line used as is or as `{}`, or a
    /// string field a `{name}` puts in. (`{}` of a record is canonical JSON, which writes a NUL
    /// as `\u0000`; a record list without a template is only hashed.) Names the line.
    ///
    /// # Errors
    /// The first such job, with its line.
    pub(crate) fn check_nul(&self, template: Option<&super::Template>) -> Result<()> {
        // A NUL is a 0 byte, or `\u0000` in JSON: most lists have neither.
        let maybe = memchr::memchr(0, &self.data).is_some()
            || (self.format == Format::Jsonl
                && memchr::memmem::find(&self.data, b"\\u0000").is_some());
        if !maybe {
            return Ok(());
        }
        let message = |what: &str| {
            format!("{what} holds a NUL byte, which no shell command can carry: remove it")
        };
        for i in 0..self.len() {
            match (self.record(i), template) {
                (Record::Line(line), t)
                    if line.contains('\0') && t.is_none_or(|t| t.uses_whole()) =>
                {
                    let start = self.spans[i as usize].start as usize;
                    let n = memchr::memchr_iter(b'\n', &self.data[..start]).count() as u64;
                    return Err(self.error(Some(n + 1), message("this job")));
                }
                (Record::Json(Value::Object(map)), Some(t)) => {
                    for name in t.fields() {
                        if let Some(Value::String(s)) = map.get(name) {
                            if s.contains('\0') {
                                return Err(self.error(
                                    self.line_of(i),
                                    message(&format!(
                                        "the field `{name}` the command template puts in"
                                    )),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The file the list was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The list's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The number of jobs.
    pub fn len(&self) -> u64 {
        self.spans.len() as u64
    }

    /// Always false: a loaded job list has at least one job.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The CSV header's column names (empty for other formats).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The 1-based line where job `index` starts, when the format keeps it (CSV, JSONL).
    pub fn line_of(&self, index: u64) -> Option<u64> {
        let line = self.spans[index as usize].line;
        (line > 0).then_some(u64::from(line))
    }

    fn raw(&self, index: u64) -> &[u8] {
        let span = self.spans[index as usize];
        &self.data[span.start as usize..span.start as usize + span.len as usize]
    }

    /// Job `index` as a record.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn record(&self, index: u64) -> Record<'_> {
        let raw = self.raw(index);
        match self.format {
            Format::Lines => Record::Line(std::str::from_utf8(raw).expect("validated as UTF-8")),
            Format::Jsonl => Record::Json(serde_json::from_slice(raw).expect("validated as JSON")),
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(raw);
                let mut record = csv::StringRecord::new();
                reader.read_record(&mut record).expect("validated as CSV");
                let map: Map<String, Value> = self
                    .headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.clone(), Value::String(v.to_owned())))
                    .collect();
                Record::Json(Value::Object(map))
            }
        }
    }

    /// The bytes of job `index` that split-v1 hashes: the line as is, or the record as
    /// canonical JSON.
    pub fn job_bytes(&self, index: u64) -> Cow<'_, [u8]> {
        match self.format {
            Format::Lines => Cow::Borrowed(self.raw(index)),
            _ => match self.record(index) {
                Record::Json(v) => Cow::Owned(to_canonical(&v)),
                Record::Line(_) => unreachable!("only the lines format yields lines"),
            },
        }
    }
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line is skipped when it is empty, only white space, or a `#` comment.
fn skipped_line(line: &[u8]) -> bool {
    // ASCII white space as Unicode counts it: `is_ascii_whitespace` leaves out U+000B.
    match line
        .iter()
        .position(|&b| !(b.is_ascii_whitespace() || b == 0x0b))
    {
        None => true,
        Some(p) if line[p] == b'#' => true,
        Some(p) if line[p] < 0x80 => false,
        // Non-ASCII: fall back to Unicode white space (validated as UTF-8 already).
        Some(_) => std::str::from_utf8(line)
            .map(|s| {
                let t = s.trim_start();
                t.is_empty() || t.starts_with('#')
            })
            .unwrap_or(false),
    }
}

#[path = "jobs_growing.rs"]
mod growing;

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
