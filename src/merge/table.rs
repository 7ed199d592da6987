//! Joining results.csv files in two passes with memory bounded by the number of jobs, not by
//! the size of the files.
//!
//! Pass 1 streams every input (several at once) and keeps, per job index, only where the row
//! that counts sits: its file, byte offset and length, its status, start time and key (32
//! bytes a job). An ok row beats any other; between rows of the same kind the latest start
//! wins; on a tie the earlier input (then the earlier row) stays. Pass 2 walks the indices in
//! order in chunks, reads each winning row back by its offset (the files were just read, so
//! they sit in the page cache), and writes it with the union of the result columns; chunks are
//! rendered in parallel and written in order. A gzip input is decompressed once into a
//! temporary file in the output directory so that its rows can be read back the same way.
//! Pass 2 lives in [`super::table_write`].

use std::path::Path;

use super::discover::MachineDir;
use super::inputs::{locate, scan, Candidate, Scanned, Slot, Source, EMPTY};
use super::report::RowFigures;
use crate::error::{Error, Result};
use crate::model::{Status, Tally};
use crate::output::results::insert_column;

/// The merged table under construction.
pub(crate) struct Table {
    pub(super) slots: Vec<Slot>,
    pub(super) sources: Vec<Source>,
    /// Per source: its result columns' positions in `columns`.
    pub(super) maps: Vec<Vec<usize>>,
    pub(crate) columns: Vec<String>,
    pub(crate) duplicates: Vec<(u64, String, String)>,
    pub(crate) duplicate_count: u64,
    /// Per machine, jobs with more than one ok row one of which is that machine's.
    pub(crate) twice_on: std::collections::BTreeMap<String, u64>,
    pub(crate) warnings: Vec<String>,
}

impl Drop for Table {
    fn drop(&mut self) {
        for s in self.sources.iter().filter(|s| s.temporary) {
            let _ = std::fs::remove_file(&s.read);
        }
    }
}

/// The most jobs a merge takes (a table of 128 GiB): more is a corrupt manifest, not a study.
pub(crate) const MAX_JOBS: usize = 1 << 32;

impl Table {
    /// A table for `jobs` jobs (32 bytes each), or `None` when that much memory cannot be had:
    /// `jobs` comes from a manifest, which may say anything.
    pub(crate) fn new(jobs: u64) -> Option<Table> {
        let mut slots = Vec::new();
        let jobs = usize::try_from(jobs).ok().filter(|&n| n <= MAX_JOBS)?;
        slots.try_reserve_exact(jobs).ok()?;
        let empty = Slot {
            key: 0,
            started: 0,
            offset_attempt: 0,
            len_status: 0,
            file: EMPTY,
        };
        slots.resize(jobs, empty);
        Some(Table {
            slots,
            sources: Vec::new(),
            maps: Vec::new(),
            columns: Vec::new(),
            duplicates: Vec::new(),
            duplicate_count: 0,
            twice_on: std::collections::BTreeMap::new(),
            warnings: Vec::new(),
        })
    }

    /// Pass 1 over `dirs`, `threads` files at a time. Gzip inputs are decompressed into
    /// `scratch`. Returns each input's statistics.
    pub(crate) fn add_dirs(
        &mut self,
        dirs: &[MachineDir],
        scratch: &Path,
        threads: usize,
    ) -> Result<Vec<RowFigures>> {
        let jobs = self.slots.len() as u64;
        let mut stats = Vec::with_capacity(dirs.len());
        for batch in dirs.chunks(threads.max(1)) {
            let first = self.sources.len();
            for (i, d) in batch.iter().enumerate() {
                let source = locate(d, scratch, first + i)?;
                self.sources.push(source);
            }
            let sources = &self.sources[first..];
            let scanned: Vec<Result<Scanned>> = std::thread::scope(|scope| {
                let handles: Vec<_> = sources
                    .iter()
                    .map(|s| scope.spawn(move || scan(s, jobs)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            for (i, scanned) in scanned.into_iter().enumerate() {
                let scanned = scanned?;
                stats.push(self.fold(first + i, scanned)?);
            }
        }
        self.order_columns();
        Ok(stats)
    }

    /// Puts the merged columns in the one order of results.csv (inputs, `command`, results;
    /// each group in the order first seen: [`insert_column`]) and points the inputs' maps at
    /// their new places.
    fn order_columns(&mut self) {
        let mut ordered = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            insert_column(&mut ordered, c);
        }
        let moved: Vec<usize> = self
            .columns
            .iter()
            .map(|c| {
                ordered
                    .iter()
                    .position(|o| o == c)
                    .expect("every column placed")
            })
            .collect();
        for map in &mut self.maps {
            for p in map.iter_mut() {
                *p = moved[*p];
            }
        }
        self.columns = ordered;
    }

    /// Ranks one scanned input's rows against the rows kept so far.
    fn fold(&mut self, file: usize, scanned: Scanned) -> Result<RowFigures> {
        let map = scanned
            .columns
            .iter()
            .map(|n| match self.columns.iter().position(|c| c == n) {
                Some(p) => p,
                None => {
                    self.columns.push(n.clone());
                    self.columns.len() - 1
                }
            })
            .collect();
        self.maps.push(map);
        self.warnings.extend(scanned.warnings);
        for Candidate { index, mut slot } in scanned.rows {
            slot.file = file as u32;
            let kept = &mut self.slots[index as usize];
            if kept.file != EMPTY {
                if kept.key != slot.key {
                    return Err(Error::mismatch(
                        Some(&self.sources[file].shown),
                        None,
                        format!(
                            "job {index} has key {:016x} here but {:016x} in {}: these results are of different work",
                            slot.key,
                            kept.key,
                            self.sources[kept.file as usize].shown.display()
                        ),
                    ));
                }
                // Two ok rows in one file are a `run --rerun` when the later one counts on from
                // the attempts before it: then it counts, with no warning. Two runs of one
                // machine at once (two hosts) write the same attempt number: run twice.
                let rerun = kept.file == slot.file && slot.attempt() > kept.attempt();
                if kept.ok() && slot.ok() && !rerun {
                    self.duplicate_count += 1;
                    let first = &self.sources[kept.file as usize].machine;
                    let other = &self.sources[file].machine;
                    *self.twice_on.entry(first.clone()).or_default() += 1;
                    if other != first {
                        *self.twice_on.entry(other.clone()).or_default() += 1;
                    }
                    if self.duplicates.len() < 100 {
                        self.duplicates.push((
                            index,
                            self.sources[kept.file as usize].shown.display().to_string(),
                            self.sources[file].machine.clone(),
                        ));
                    }
                }
            }
            if kept.file == EMPTY || (slot.ok(), slot.started) > (kept.ok(), kept.started) {
                *kept = slot;
            }
        }
        Ok(scanned.stats)
    }

    /// The final status of every job (a job with no row is `not_run`) and the indices with no
    /// ok row (a cancelled job is not missing).
    pub(crate) fn tally(&self) -> (Tally, Vec<u64>) {
        let mut t = Tally::default();
        let mut missing = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.file == EMPTY {
                t.not_run += 1;
                missing.push(i as u64);
                continue;
            }
            let status = slot.status();
            t.add(status);
            if !status.is_settled() {
                missing.push(i as u64);
            }
        }
        (t, missing)
    }

    /// The first `limit` jobs whose row that counts is `cancelled`, ascending.
    pub(crate) fn cancelled(&self, limit: usize) -> Vec<u64> {
        (0..self.slots.len() as u64)
            .filter(|&i| {
                let s = &self.slots[i as usize];
                s.file != EMPTY && s.status() == Status::Cancelled
            })
            .take(limit)
            .collect()
    }

    /// Every job with a row: its index and the input (in the order of `add_dirs`) whose row won.
    pub(crate) fn winners(&self) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.file != EMPTY)
            .map(|(i, s)| (i as u64, s.file as usize))
    }

    /// Ok jobs of the merged table per machine name (the machine of the input its row is in).
    pub(crate) fn credited(&self) -> std::collections::HashMap<&str, u64> {
        let mut per_file = vec![0u64; self.sources.len()];
        for s in self.slots.iter().filter(|s| s.file != EMPTY && s.ok()) {
            per_file[s.file as usize] += 1;
        }
        let mut out = std::collections::HashMap::new();
        for (n, s) in per_file.into_iter().zip(&self.sources) {
            *out.entry(s.machine.as_str()).or_default() += n;
        }
        out
    }
}
