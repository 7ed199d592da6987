//! What the crash checks read of a study's directory: ok rows per job among the complete rows,
//! whether Python reads the files whole, who holds the lock, and the figures over cases.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::text;

/// Totals over cases.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Figures {
    pub(crate) cases: usize,
    pub(crate) kills: usize,
    pub(crate) reruns: u64,
    pub(crate) lost: usize,
    pub(crate) duplicates: usize,
    pub(crate) rerun: usize,
    pub(crate) orphans: usize,
    pub(crate) python_failures: usize,
    pub(crate) failed_cases: usize,
}

impl Figures {
    pub(crate) fn add(&mut self, o: &Figures) {
        self.cases += o.cases;
        self.kills += o.kills;
        self.reruns += o.reruns;
        self.lost += o.lost;
        self.duplicates += o.duplicates;
        self.rerun += o.rerun;
        self.orphans += o.orphans;
        self.python_failures += o.python_failures;
        self.failed_cases += o.failed_cases;
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} kills, {} reruns: {} lost jobs, {} duplicate ok rows, {} finished jobs run again, {} orphans, {} files Python could not read; {} cases failed",
            self.cases,
            self.kills,
            self.reruns,
            self.lost,
            self.duplicates,
            self.rerun,
            self.orphans,
            self.python_failures,
            self.failed_cases
        )
    }
}

/// Ok rows per job index among the complete rows of a results.csv: a row is complete only when
/// it ends with a line break outside quotes (a file cut inside a quoted multi-line value ends
/// with a torn row, whatever its last byte).
pub(crate) fn ok_rows(path: &Path) -> BTreeMap<u64, usize> {
    let data = std::fs::read(path).unwrap_or_default();
    let mut complete = 0;
    let mut quoted = false;
    for (at, &b) in data.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => complete = at + 1,
            _ => {}
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(&data[..complete]);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(_) => return BTreeMap::new(),
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(index), Some(status)) = (column("index"), column("status")) else {
        return BTreeMap::new();
    };
    let mut ok = BTreeMap::new();
    for record in reader.records().flatten() {
        if record.get(status) == Some("ok") {
            if let Some(i) = record.get(index).and_then(|s| s.parse().ok()) {
                *ok.entry(i).or_default() += 1;
            }
        }
    }
    ok
}

/// Python's csv module reads results.csv whole (every row as wide as the header) and its gzip
/// module reads log.gz whole. A missing python3 is a loud skip, not a failure.
pub(crate) fn python_reads(dir: &Path) -> Result<(), String> {
    const SCRIPT: &str = r#"
import csv, gzip, sys
csv.field_size_limit(sys.maxsize)
with open(sys.argv[1], newline="") as f:
    rows = csv.reader(f)
    width = len(next(rows))
    for n, row in enumerate(rows, 2):
        if len(row) != width:
            sys.exit("results.csv record %d has %d fields, the header %d" % (n, len(row), width))
with gzip.open(sys.argv[2]) as g:
    g.read()
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(dir.join("results.csv"))
        .arg(dir.join("log.gz"))
        .output();
    match out {
        Err(e) => {
            eprintln!("note: python3 cannot be run ({e}); the Python checks are skipped");
            Ok(())
        }
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(text(&o.stderr).trim_end().to_owned()),
    }
}

/// The processes with `path` open (pid, command line), from /proc.
pub(super) fn lock_holders(path: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let fds = std::fs::read_dir(entry.path().join("fd"));
        let holds = fds
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == path));
        if holds {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push((pid, text(&cmd).replace('\0', " ")));
        }
    }
    found
}
