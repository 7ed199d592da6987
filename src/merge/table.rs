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

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::inputs::{locate, scan, Candidate, Scanned, Source};
use crate::error::{Error, Result};
use crate::model::Status;
use crate::output::results::{insert_column, FIXED};

/// Where the row that counts for a job sits, and how it ranks.
#[derive(Clone, Copy)]
pub(super) struct Slot {
    pub(super) key: u64,
    pub(super) started: i64,
    /// The row's offset in its file in the low [`OFFSET_BITS`] bits, its attempt number (at
    /// most 65,535) in the top 16: a slot stays 32 bytes.
    pub(super) offset_attempt: u64,
    /// Row length in the low 29 bits, status code ([`Status::code`]) in the top 3.
    pub(super) len_status: u32,
    pub(super) file: u32,
}

/// The `file` of a slot no row has filled yet.
pub(super) const EMPTY: u32 = u32::MAX;
pub(super) const LEN_BITS: u32 = 29;
pub(super) const LEN_MASK: u32 = (1 << LEN_BITS) - 1;
/// Bits of a row's offset in a slot: files up to 256 TiB.
pub(super) const OFFSET_BITS: u32 = 48;

impl Slot {
    fn status(&self) -> Status {
        Status::from_code(self.len_status >> LEN_BITS)
    }
    fn ok(&self) -> bool {
        self.status() == Status::Ok
    }
    fn len(&self) -> usize {
        (self.len_status & LEN_MASK) as usize
    }
    fn offset(&self) -> u64 {
        self.offset_attempt & ((1 << OFFSET_BITS) - 1)
    }
    fn attempt(&self) -> u64 {
        self.offset_attempt >> OFFSET_BITS
    }
}

/// Statistics of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileStats {
    pub(crate) attempts: u64,
    pub(crate) ok_rows: u64,
    /// Rows of attempts that timed out: their busy time measures the time limit, not speed.
    pub(crate) timeout_rows: u64,
    pub(crate) busy_s: f64,
    /// Earliest `started_at`, microseconds since the epoch.
    pub(crate) first_start_us: Option<i64>,
    /// Latest `started_at + duration_s`, microseconds since the epoch.
    pub(crate) last_end_us: Option<i64>,
}

/// The merged table under construction.
pub(crate) struct Table {
    slots: Vec<Slot>,
    sources: Vec<Source>,
    /// Per source: its result columns' positions in `columns`.
    maps: Vec<Vec<usize>>,
    pub(crate) columns: Vec<String>,
    pub(crate) duplicates: Vec<(u64, String, String)>,
    pub(crate) duplicate_count: u64,
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

/// Rows rendered per chunk of pass 2.
const CHUNK: usize = 16 * 1024;

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
            warnings: Vec::new(),
        })
    }

    /// Pass 1 over `dirs` (each a machine directory and its machine name), `threads` files at
    /// a time. Gzip inputs are decompressed into `scratch`. Returns each input's statistics.
    pub(crate) fn add_dirs(
        &mut self,
        dirs: &[(PathBuf, String)],
        scratch: &Path,
        threads: usize,
    ) -> Result<Vec<FileStats>> {
        let jobs = self.slots.len() as u64;
        let mut stats = Vec::with_capacity(dirs.len());
        for batch in dirs.chunks(threads.max(1)) {
            let first = self.sources.len();
            for (i, (dir, machine)) in batch.iter().enumerate() {
                let source = locate(dir, machine, scratch, first + i)?;
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
    fn fold(&mut self, file: usize, scanned: Scanned) -> Result<FileStats> {
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
                    return Err(Error::invalid(
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

    /// Final status counts and the indices with no ok row (a cancelled job is not missing).
    pub(crate) fn tally(&self) -> (Counts, Vec<u64>) {
        let mut c = Counts::default();
        let mut missing = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.file == EMPTY {
                c.not_run += 1;
                missing.push(i as u64);
                continue;
            }
            match slot.status() {
                Status::Ok => {
                    c.ok += 1;
                    continue;
                }
                Status::Failed => c.failed += 1,
                Status::Timeout => c.timeout += 1,
                Status::Interrupted => c.interrupted += 1,
                Status::Cancelled => {
                    c.cancelled += 1;
                    continue;
                }
            }
            missing.push(i as u64);
        }
        (c, missing)
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

    /// Pass 2: writes the merged results.csv to `path` through `path.tmp` and a rename.
    pub(crate) fn write_file(&self, path: &Path, threads: usize) -> Result<()> {
        let (file, tmp) = crate::output::create_temp(path).map_err(|e| Error::io(path, e))?;
        let result = self.write_to(file, &tmp, threads);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })?;
        crate::output::sync_dir(path);
        Ok(())
    }

    fn write_to(&self, file: File, tmp: &Path, threads: usize) -> Result<()> {
        let io = |e| Error::io(tmp, e);
        let files: Vec<&File> = self.sources.iter().map(|s| &s.file).collect();
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let header: Vec<&str> = FIXED
            .iter()
            .copied()
            .chain(self.columns.iter().map(String::as_str))
            .collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&header).map_err(|e| io(e.into()))?;
        out.write_all(&w.into_inner().map_err(|e| io(e.into_error()))?)
            .map_err(io)?;
        let chunks: Vec<&[Slot]> = self.slots.chunks(CHUNK).collect();
        let threads = threads.max(1);
        for batch in chunks.chunks(threads) {
            let rendered: Vec<Result<Vec<u8>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|chunk| scope.spawn(|| self.render(chunk, &files)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            for bytes in rendered {
                out.write_all(&bytes?).map_err(io)?;
            }
        }
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    }

    /// Reads back the winning rows of `chunk` and writes them with the merged columns.
    fn render(&self, chunk: &[Slot], files: &[&File]) -> Result<Vec<u8>> {
        let mut raw = Vec::with_capacity(chunk.len() * 128);
        let mut owners = Vec::with_capacity(chunk.len());
        for slot in chunk.iter().filter(|s| s.file != EMPTY) {
            let at = raw.len();
            raw.resize(at + slot.len(), 0);
            let f = slot.file as usize;
            files[f]
                .read_exact_at(&mut raw[at..], slot.offset())
                .map_err(|e| Error::io(&self.sources[f].shown, e))?;
            owners.push(f);
        }
        let width = FIXED.len() + self.columns.len();
        // A source whose result columns are the first of the merged ones, in the same order
        // (the usual case), has its rows copied as they are, with empty cells appended.
        let verbatim: Vec<bool> = self
            .maps
            .iter()
            .map(|m| m.iter().enumerate().all(|(k, &p)| k == p))
            .collect();
        if owners.iter().all(|&f| verbatim[f]) {
            let mut out = Vec::with_capacity(raw.len() + owners.len() * 4);
            let mut at = 0;
            for (slot, &f) in chunk.iter().filter(|s| s.file != EMPTY).zip(&owners) {
                let mut row = &raw[at..at + slot.len()];
                at += slot.len();
                while let [rest @ .., b'\n' | b'\r'] = row {
                    row = rest;
                }
                out.extend_from_slice(row);
                let pad = width - FIXED.len() - self.maps[f].len();
                out.resize(out.len() + pad, b',');
                out.push(b'\n');
            }
            return Ok(out);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(raw.as_slice());
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::with_capacity(raw.len() + raw.len() / 4));
        // Per source: for each merged column, the cell of that source's rows that fills it.
        let fill: Vec<Vec<Option<usize>>> = self
            .maps
            .iter()
            .map(|map| {
                let mut fill: Vec<Option<usize>> =
                    (0..width).map(|i| (i < FIXED.len()).then_some(i)).collect();
                for (k, &pos) in map.iter().enumerate() {
                    fill[FIXED.len() + pos] = Some(FIXED.len() + k);
                }
                fill
            })
            .collect();
        let mut record = csv::ByteRecord::new();
        for &f in &owners {
            let changed = || {
                Error::invalid(
                    Some(&self.sources[f].shown),
                    None,
                    "changed while being merged (is a run still writing it?): merge again when it ends",
                )
            };
            if !reader
                .read_byte_record(&mut record)
                .map_err(|_| changed())?
            {
                return Err(changed());
            }
            if record.len() != FIXED.len() + self.maps[f].len() {
                return Err(changed());
            }
            for cell in &fill[f] {
                writer
                    .write_field(cell.map_or(&b""[..], |i| &record[i]))
                    .expect("writing CSV to memory cannot fail");
            }
            writer
                .write_record(None::<&[u8]>)
                .expect("writing CSV to memory cannot fail");
        }
        Ok(writer
            .into_inner()
            .expect("writing CSV to memory cannot fail"))
    }
}

/// Final status counts of a merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Jobs with an ok row.
    pub ok: u64,
    /// Jobs whose last row failed.
    pub failed: u64,
    /// Jobs whose last row timed out.
    pub timeout: u64,
    /// Jobs whose last row was interrupted.
    pub interrupted: u64,
    /// Jobs whose last row was cancelled by the user (no ok row): not missing, not rescued.
    /// Absent (0) in summaries of older versions.
    #[serde(default)]
    pub cancelled: u64,
    /// Jobs with no row at all.
    pub not_run: u64,
}
