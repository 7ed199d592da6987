//! Readers for what a run writes: results.csv (strict and lenient), log.gz, JSON files, and a
//! results row to write through the library.

use super::text;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

/// A results.csv as its header and rows of column -> cell (lenient: no check of the fixed
/// columns; [`Results`] is the strict reader).
pub(crate) fn read_csv(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(data.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A multi-member gzip file, decompressed to text; panics if it is not whole.
pub(crate) fn gunzip(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(data.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

/// A parsed results.csv.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Results {
    /// The header.
    pub(crate) headers: Vec<String>,
    /// The rows, each as wide as the header.
    pub(crate) rows: Vec<Row>,
}

/// One row of a results.csv, by column name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub(crate) BTreeMap<String, String>);

impl Row {
    /// The cell of `column` (panics if the column does not exist).
    pub(crate) fn get(&self, column: &str) -> &str {
        self.0
            .get(column)
            .unwrap_or_else(|| panic!("no column `{column}` in {:?}", self.0))
    }

    /// The cell of `column`, if the column exists.
    pub(crate) fn try_get(&self, column: &str) -> Option<&str> {
        self.0.get(column).map(String::as_str)
    }

    /// The job index.
    pub(crate) fn index(&self) -> u64 {
        self.get("index").parse().expect("an index")
    }

    /// The attempt number.
    pub(crate) fn attempt(&self) -> u32 {
        self.get("attempt").parse().expect("an attempt")
    }

    /// The status.
    pub(crate) fn status(&self) -> &str {
        self.get("status")
    }

    /// The row without the columns that change from run to run (times, durations).
    pub(crate) fn stable(&self) -> BTreeMap<String, String> {
        let mut m = self.0.clone();
        m.remove("started_at");
        m.remove("duration_s");
        m
    }
}

impl Results {
    /// Reads `path` with a strict CSV reader: every row as wide as the header, the header
    /// starting with the fixed columns. Panics with the file's text otherwise.
    pub(crate) fn read(path: &Path) -> Results {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Results::parse(&data).unwrap_or_else(|e| {
            panic!(
                "{} is not a valid results.csv ({e}):\n{}",
                path.display(),
                text(&data)
            )
        })
    }

    /// Parses results.csv bytes strictly.
    pub(crate) fn parse(data: &[u8]) -> Result<Results, String> {
        if !data.is_empty() && !data.ends_with(b"\n") {
            return Err("the file does not end with a line end".into());
        }
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(data);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_owned)
            .collect();
        let fixed = [
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
        if headers.len() < fixed.len() || headers[..fixed.len()] != fixed {
            return Err(format!("unexpected header {headers:?}"));
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| e.to_string())?;
            let row: BTreeMap<String, String> = headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect();
            rows.push(Row(row));
        }
        Ok(Results { headers, rows })
    }

    /// The result columns (after the fixed ones, the inputs and the command).
    pub(crate) fn result_columns(&self) -> Vec<String> {
        self.columns_of(jobsplit::testing::ColumnKind::Result)
    }

    /// The columns after the fixed ones of one kind (inputs, command, results), in order.
    pub(crate) fn columns_of(&self, kind: jobsplit::testing::ColumnKind) -> Vec<String> {
        self.headers[9..]
            .iter()
            .filter(|c| jobsplit::testing::ColumnKind::of(c) == kind)
            .cloned()
            .collect()
    }

    /// Rows of job `index`, in file order.
    pub(crate) fn of(&self, index: u64) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.index() == index).collect()
    }

    /// key -> number of ok rows.
    pub(crate) fn ok_per_key(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.rows {
            if r.status() == "ok" {
                *m.entry(r.get("key").to_owned()).or_insert(0) += 1;
            }
        }
        m
    }

    /// index -> the row of its last attempt.
    pub(crate) fn last_by_index(&self) -> BTreeMap<u64, &Row> {
        let mut m = BTreeMap::new();
        for r in &self.rows {
            m.insert(r.index(), r);
        }
        m
    }
}

/// One line of a log.gz: `TIME\tJOB\tSTREAM\tTEXT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogLine {
    /// RFC 3339.
    pub(crate) time: String,
    /// The job index, or `None` for the runner's own lines (`-`).
    pub(crate) job: Option<u64>,
    /// out, err, log or event.
    pub(crate) stream: String,
    /// The text.
    pub(crate) text: String,
}

/// Decompresses a multi-member log.gz whole and splits its lines; panics on any gzip error or a
/// malformed line.
pub(crate) fn read_log(path: &Path) -> Vec<LogLine> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut data)
        .unwrap_or_else(|e| panic!("{} does not decompress: {e}", path.display()));
    let data = String::from_utf8(data).expect("the log is UTF-8");
    assert!(
        data.is_empty() || data.ends_with('\n'),
        "{}: the last line has no line end",
        path.display()
    );
    data.lines()
        .map(|line| {
            let mut parts = line.splitn(4, '\t');
            let mut next = || {
                parts
                    .next()
                    .unwrap_or_else(|| panic!("malformed log line {line:?}"))
            };
            let time = next().to_owned();
            let job = next();
            let job = (job != "-").then(|| job.parse().expect("a job index"));
            let stream = next().to_owned();
            let text = next().to_owned();
            LogLine {
                time,
                job,
                stream,
                text,
            }
        })
        .collect()
}

/// True if `gzip -t` accepts `path` (or gzip is not installed: then the check is skipped).
pub(crate) fn gzip_ok(path: &Path) -> bool {
    match std::process::Command::new("gzip")
        .arg("-t")
        .arg(path)
        .output()
    {
        Ok(out) => out.status.success(),
        Err(_) => {
            eprintln!("note: gzip is not installed; skipping gzip -t");
            true
        }
    }
}

/// Reads a JSON file.
pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An ok row of job `index` with result `fields`, at a fixed time, for tests that write
/// results.csv through the library's writer.
pub(crate) fn row(index: u64, fields: &[(&str, &str)]) -> jobsplit::testing::ResultRow {
    use std::time::{Duration, UNIX_EPOCH};
    jobsplit::testing::ResultRow {
        index,
        key: format!("{:016x}", index * 0x1111 + 7),
        machine: "m".into(),
        status: jobsplit::testing::Status::Ok,
        exit_code: Some(0),
        attempt: 1,
        started_at: UNIX_EPOCH + Duration::from_secs(1_795_000_000 + index),
        duration: Duration::from_millis(1500),
        error: None,
        inputs: Vec::new(),
        command: None,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}
