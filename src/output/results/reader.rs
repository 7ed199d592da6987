//! The one reader of results.csv (plain or `.csv.gz`), used by the writer's resume scan, by
//! `merge`, by a rescue and by `status`: one row at a time, never the whole file in memory.
//!
//! The torn-row rule lives here and only here ([`ResultsReader::next_row`]): a row is whole
//! only when the CSV parser ends it outside quotes, at a line end. A last row cut short by a
//! crash or a full disk (anywhere, also inside a quoted multi-line value right after a line
//! break) is skipped with a warning the caller gets back, and [`ResultsReader::torn_at`] says
//! where it starts; any other malformed row is an error naming its line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::data::Data;
use super::row::{check_header, facts, micros_to_time, FIXED};
use crate::error::{Error, Result};
use crate::model::Status;

/// Reads the rows of a results file in file order.
///
/// # Examples
/// ```no_run
/// use jobsplit::testing::ResultsReader;
///
/// let mut r = ResultsReader::open("out/ws1/results.csv".as_ref())?;
/// while let Some(row) = r.next_row()? {
///     println!("{} {}", row.index, row.status);
/// }
/// for w in r.warnings() {
///     eprintln!("warning: {w}");
/// }
/// # Ok::<(), jobsplit::Error>(())
/// ```
pub struct ResultsReader {
    path: PathBuf,
    csv: csv::Reader<Data>,
    names: Vec<String>,
    record: csv::ByteRecord,
    warnings: Vec<String>,
    done: bool,
    torn_at: Option<u64>,
}

impl std::fmt::Debug for ResultsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultsReader")
            .field("path", &self.path)
            .field("columns", &self.names)
            .finish_non_exhaustive()
    }
}

/// One checked row. The fixed columns are parsed; every cell is available as bytes.
#[derive(Debug)]
pub struct Row<'a> {
    /// The job's index.
    pub index: u64,
    /// The job key (its 16 hex digits as a number).
    pub key: u64,
    /// How the attempt ended.
    pub status: Status,
    /// The attempt number.
    pub attempt: u32,
    /// `started_at` in microseconds since the Unix epoch.
    pub started_us: i64,
    /// `duration_s`.
    pub duration_s: f64,
    /// Byte offset of the row's first byte in the (decompressed) file.
    pub offset: u64,
    /// Length of the row in bytes, its line end included.
    pub len: u64,
    /// 1-based line of the row's start.
    pub line: u64,
    record: &'a csv::ByteRecord,
}

impl Row<'_> {
    /// The `i`-th cell (fixed columns first, then the result columns), as written.
    pub fn cell(&self, i: usize) -> &[u8] {
        self.record.get(i).unwrap_or_default()
    }

    /// Number of cells (the header's width).
    pub fn width(&self) -> usize {
        self.record.len()
    }

    /// The `machine` cell.
    pub fn machine(&self) -> &[u8] {
        self.cell(2)
    }

    /// `started_at` as a time.
    pub fn started_at(&self) -> SystemTime {
        micros_to_time(self.started_us)
    }

    /// The byte offset just past the row.
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

impl ResultsReader {
    /// Opens a results file; a name ending in `.gz` is decompressed (a gzip stream cut short
    /// yields its readable part, with a warning). The header is read and checked.
    ///
    /// # Errors
    /// An unreadable file, or one whose header does not start with the fixed columns.
    pub fn open(path: &Path) -> Result<ResultsReader> {
        Self::from_data(path, Data::open(path)?, MERGE_FIX)
    }

    /// Reads results from `inner`; `path` names it in messages. With `lenient_io`, a read error
    /// (a gzip stream cut short) ends the data with a warning instead of failing.
    ///
    /// # Errors
    /// An unreadable header, or one that does not start with the fixed columns.
    pub fn from_reader(
        path: &Path,
        inner: Box<dyn Read + Send>,
        lenient_io: bool,
    ) -> Result<ResultsReader> {
        Self::from_data(path, Data::new(inner, lenient_io), MERGE_FIX)
    }

    /// Reads results from `data`; a header that is cut short or foreign is an error ending with
    /// `fix`.
    pub(crate) fn from_data(path: &Path, data: Data, fix: &str) -> Result<ResultsReader> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(data.with_end_mark());
        let header = csv.byte_headers().map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::io(path, io),
            other => Error::damaged(Some(path), Some(1), format!("unreadable header: {other:?}")),
        });
        let names: Vec<String> = header?
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        // Checked first, so that a header cut short is told apart from a foreign one.
        let t = csv.get_ref();
        if csv.position().byte() > t.total {
            let why = t
                .cut_warning(path)
                .map_or(String::new(), |w| format!(" ({w})"));
            return Err(Error::damaged(
                Some(path),
                Some(1),
                format!("the header is cut short{why} (a crash at the very start?): {fix}"),
            ));
        }
        check_header(path, &names, fix)?;
        Ok(ResultsReader {
            path: path.to_path_buf(),
            csv,
            names,
            record: csv::ByteRecord::new(),
            warnings: Vec::new(),
            done: false,
            torn_at: None,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every column name: the fixed ones, then the result columns.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The result columns (after the fixed ones).
    pub fn columns(&self) -> &[String] {
        &self.names[FIXED.len()..]
    }

    /// The byte offset just past the last row returned (or the header).
    pub fn position(&self) -> u64 {
        self.csv.position().byte()
    }

    /// Warnings so far: a torn last row, a gzip stream cut short.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Where the torn last row skipped starts (a byte offset), once the reading has met one.
    pub fn torn_at(&self) -> Option<u64> {
        self.torn_at
    }

    /// Takes the warnings so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The next row, or `None` at the end. A last row that runs to the end of the data without
    /// the parser ending it (outside quotes, at a line end) was cut short: it is skipped with a
    /// warning.
    ///
    /// # Errors
    /// A read error, or a malformed row that is not the file's torn last one.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>> {
        if self.done {
            return Ok(None);
        }
        let start = self.csv.position().clone();
        let more =
            self.csv
                .read_byte_record(&mut self.record)
                .map_err(|e| match e.into_kind() {
                    csv::ErrorKind::Io(io) => Error::io(&self.path, io),
                    other => Error::damaged(
                        Some(&self.path),
                        Some(start.line()),
                        format!("malformed CSV ({other:?}): repair or remove this row"),
                    ),
                })?;
        if !more {
            return Ok(self.end());
        }
        let end = self.csv.position().byte();
        let t = self.csv.get_ref();
        if end > t.total {
            // The parser ran into the end mark: the row did not end at a line end of its own.
            if t.content_end <= start.byte() {
                // Nothing but line ends before the mark: the data ended cleanly.
                return Ok(self.end());
            }
            return Ok(self.torn(start.byte(), start.line()));
        }
        let line = start.line();
        let f = facts(&self.record, self.names.len()).map_err(|m| {
            Error::damaged(
                Some(&self.path),
                Some(line),
                format!("{m}: repair or remove this row"),
            )
        })?;
        Ok(Some(Row {
            index: f.index,
            key: f.key,
            status: f.status,
            attempt: f.attempt,
            started_us: f.started_us,
            duration_s: f.duration_s,
            offset: start.byte(),
            len: end - start.byte(),
            line,
            record: &self.record,
        }))
    }

    fn end(&mut self) -> Option<Row<'_>> {
        self.done = true;
        if let Some(w) = self.csv.get_ref().cut_warning(&self.path) {
            self.warnings.push(w);
        }
        None
    }

    fn torn(&mut self, offset: u64, line: u64) -> Option<Row<'_>> {
        self.done = true;
        self.torn_at = Some(offset);
        if let Some(w) = self.csv.get_ref().cut_warning(&self.path) {
            self.warnings.push(w);
        }
        self.warnings.push(format!(
            "{}:{line}: ignored a last row cut short (a crash?)",
            self.path.display()
        ));
        None
    }
}

/// The end of a message about a foreign or cut header, for `merge` and `status`.
const MERGE_FIX: &str = "pass the files `jobsplit run` wrote";

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "index,key,machine,status,exit_code,attempt,started_at,duration_s,error,v\n";
    const ROW: &str = "3,00000000000000ff,m,ok,0,1,2026-11-23T05:01:02.123456Z,0.500000,,\"a,b\"\n";

    /// (index, offset, len) of every row, and the warnings.
    type Read = (Vec<(u64, u64, u64)>, Vec<String>);

    fn read_all(data: &[u8], gz: bool) -> Result<Read> {
        let cursor = std::io::Cursor::new(data.to_vec());
        let inner: Box<dyn std::io::Read + Send> = if gz {
            Box::new(flate2::read::MultiGzDecoder::new(cursor))
        } else {
            Box::new(cursor)
        };
        let mut r = ResultsReader::from_reader(Path::new("r.csv"), inner, gz)?;
        let mut rows = Vec::new();
        while let Some(row) = r.next_row()? {
            assert_eq!(row.cell(9), b"a,b");
            assert_eq!(row.key, 255);
            rows.push((row.index, row.offset, row.len));
        }
        Ok((rows, r.take_warnings()))
    }

    #[test]
    fn rows_with_offsets() {
        let data = format!("{HEAD}{ROW}{ROW}");
        let (rows, warnings) = read_all(data.as_bytes(), false).unwrap();
        let h = HEAD.len() as u64;
        let l = ROW.len() as u64;
        assert_eq!(rows, vec![(3, h, l), (3, h + l, l)]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_torn_last_row_is_skipped_with_a_warning() {
        let full = format!("{HEAD}{ROW}{ROW}");
        for cut in HEAD.len() + ROW.len() + 1..full.len() {
            let (rows, warnings) = read_all(&full.as_bytes()[..cut], false).unwrap();
            assert_eq!(rows.len(), 1, "cut at {cut}");
            assert_eq!(warnings.len(), 1, "cut at {cut}");
        }
    }

    #[test]
    fn a_bad_row_before_the_end_is_an_error_naming_its_line() {
        let data = format!("{HEAD}{ROW}3,zz,m,ok,0,1,x,0,,\n{ROW}");
        let e = read_all(data.as_bytes(), false).unwrap_err().to_string();
        assert!(e.starts_with("r.csv:3: "), "{e}");
        let data = format!("{HEAD}3,00000000000000ff,m,ok\n{ROW}");
        let e = read_all(data.as_bytes(), false).unwrap_err().to_string();
        assert!(e.contains(":2: this row has 4 fields"), "{e}");
    }

    #[test]
    fn not_a_results_file() {
        let e = read_all(b"a,b,c\n1,2,3\n", false).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Damaged, "{e}");
        assert!(e.to_string().contains("not a jobsplit results file"), "{e}");
    }

    #[test]
    fn a_gzip_cut_short_keeps_its_whole_rows() {
        use std::io::Write as _;
        let rows: String = (0..2000)
            .map(|i| ROW.replacen('3', &(i * 7919 % 2003).to_string(), 1))
            .collect();
        let body = format!("{HEAD}{rows}");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(body.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        for cut in [gz.len() - 1, gz.len() - 9, gz.len() / 2] {
            let (rows, warnings) = read_all(&gz[..cut], true).unwrap();
            assert!(rows.len() < 2000 || cut > gz.len() / 2, "cut at {cut}");
            assert!(!warnings.is_empty(), "cut at {cut}");
        }
        // Cut before the header is whole: an error, not a panic.
        for cut in 0..30 {
            assert!(read_all(&gz[..cut], true).is_err(), "cut at {cut}");
        }
    }
}
