//! Rows waiting to be folded into results.csv: `results.csv.pending`, the writer's journal.
//!
//! A row that brings a column the header lacks needs the whole file rewritten (a CSV file has
//! one header). Rewriting once per new column costs rows x columns each time, so a run whose
//! jobs each bring a new column took rows x columns^2. Instead, such a row (and every row after
//! it, so that the file order stays the order of the attempts) is appended to this journal,
//! flushed as a results.csv row would be, and the writer folds the journal into results.csv
//! (one rewrite for all its new columns) when the last fold is far enough behind ([`due`]), on
//! the run's status tick and when the run ends. A run killed before it folded leaves the
//! journal; the next run of the directory folds it before anything else.
//!
//! The format: line 1 is `{"after_rows":N}` (results.csv held N rows when the journal
//! started; a fold that renamed the new results.csv into place but was killed before removing
//! the journal is told by results.csv holding more); then one JSON line per row: `{"fixed":
//! [the 9 fixed cells as written], "cells": [[column, value], ...]}`. A last line without its
//! line end was cut short by a crash and is dropped, as a torn results.csv row is.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One row as it will be written: its fixed cells, then its other cells by column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PendingRow {
    pub(super) fixed: Vec<String>,
    pub(super) cells: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct Head {
    after_rows: u64,
}

/// The journal beside `results`.
pub(super) fn path_of(results: &Path) -> PathBuf {
    let mut name = results.file_name().unwrap_or_default().to_os_string();
    name.push(".pending");
    results.with_file_name(name)
}

/// A fold is due when the time since the last one ended is at least [`FOLD_SPACING`] times what
/// that one took: folding then takes at most about a tenth of the run's time, however the rows
/// come, and a burst of new columns is folded in one rewrite.
pub(super) const FOLD_SPACING: u32 = 9;

/// True when a fold is due (see [`FOLD_SPACING`]).
pub(super) fn due(last_fold_end: Instant, last_fold_took: Duration) -> bool {
    last_fold_end.elapsed() >= last_fold_took * FOLD_SPACING
}

/// The open journal of a writer: its file and the rows in it.
#[derive(Debug)]
pub(super) struct Journal {
    path: PathBuf,
    file: File,
    pub(super) rows: Vec<PendingRow>,
}

impl Journal {
    /// Starts the journal beside `results`, which holds `after_rows` rows.
    ///
    /// # Errors
    /// The file cannot be created or written (a full disk).
    pub(super) fn start(results: &Path, after_rows: u64) -> Result<Journal> {
        let path = path_of(results);
        let mut file = crate::output::open_output(
            OpenOptions::new().write(true).create(true).truncate(true),
            &path,
        )?;
        let mut head = serde_json::to_vec(&Head { after_rows }).expect("plain data");
        head.push(b'\n');
        file.write_all(&head).map_err(|e| Error::io(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        crate::output::sync_dir(&path);
        Ok(Journal {
            path,
            file,
            rows: Vec::new(),
        })
    }

    /// Appends `row` (one write at the journal's end; a write cut short is taken back whole).
    ///
    /// # Errors
    /// A full disk or an I/O error; the journal then holds every earlier row intact.
    pub(super) fn push(&mut self, row: PendingRow, fsync: bool) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        let mut line = serde_json::to_vec(&row).expect("plain data");
        line.push(b'\n');
        let before = self.file.metadata().map_err(io)?.len();
        // At the journal's end by offset, not at the cursor: a write cut short and taken back
        // leaves the cursor past the end, and a row written there would follow a hole of zeros.
        if let Err(e) = self.file.write_all_at(&line, before) {
            let _ = self.file.set_len(before);
            return Err(io(e));
        }
        if fsync {
            self.file.sync_data().map_err(io)?;
        }
        self.rows.push(row);
        Ok(())
    }

    /// Removes the journal once its rows are in results.csv.
    pub(super) fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
        crate::output::sync_dir(&self.path);
    }
}

/// The journal a killed run left beside `results`: the rows results.csv held when it started,
/// and its whole rows.
///
/// # Errors
/// An unreadable journal, or a line that is not one (other than a torn last one).
pub(super) fn read_left(results: &Path) -> Result<Option<(u64, Vec<PendingRow>)>> {
    let path = path_of(results);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    // Only whole lines: a last one without its line end was cut short by a crash.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let mut lines = bytes[..whole]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty());
    let bad = |line: usize| {
        Error::damaged(
            Some(&path),
            Some(line as u64),
            "not a jobsplit pending row: move the file away (its rows are lost; those jobs run again)",
        )
    };
    let Some(head) = lines.next() else {
        return Ok(Some((u64::MAX, Vec::new())));
    };
    let head: Head = serde_json::from_slice(head).map_err(|_| bad(1))?;
    let rows = lines
        .enumerate()
        .map(|(i, l)| serde_json::from_slice(l).map_err(|_| bad(i + 2)))
        .collect::<Result<Vec<PendingRow>>>()?;
    Ok(Some((head.after_rows, rows)))
}

/// Removes a journal a killed run left (its rows are in results.csv, or it holds none).
pub(super) fn remove_left(results: &Path) {
    let path = path_of(results);
    let _ = std::fs::remove_file(&path);
    crate::output::sync_dir(&path);
}

/// A warning for readers of results.csv (merge) when a journal sits beside it: its rows are
/// not in results.csv yet (a run writing now folds them soon; a killed run's next run folds
/// them first).
pub(crate) fn left_warning(results: &Path) -> Option<String> {
    let path = path_of(results);
    path.exists().then(|| {
        format!(
            "{}: rows not yet folded into results.csv are not read (a run still writing folds them within seconds; after a killed run, run that machine again to fold them)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom};

    #[test]
    fn a_row_after_a_write_cut_short_follows_the_last_whole_row() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results.csv");
        let mut journal = Journal::start(&results, 3).unwrap();
        let row = |i: u64| PendingRow {
            fixed: vec![i.to_string()],
            cells: vec![("x".to_owned(), i.to_string())],
        };
        journal.push(row(1), false).unwrap();
        // A write the disk cut short, taken back by truncation, leaves the file's cursor where
        // the cut-short bytes ended.
        journal.file.seek(SeekFrom::Current(1000)).unwrap();
        journal.push(row(2), false).unwrap();
        let (after, rows) = read_left(&results).unwrap().unwrap();
        assert_eq!(after, 3);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].fixed, ["2"]);
    }
}
