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
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::Status;
use crate::output::results::{Data, ResultsReader, FIXED};

/// Where the row that counts for a job sits, and how it ranks.
#[derive(Clone, Copy)]
struct Slot {
    key: u64,
    started: i64,
    offset: u64,
    /// Row length in the low 29 bits, status code (`STATUS_*`) in the top 3.
    len_status: u32,
    file: u32,
}

const EMPTY: u32 = u32::MAX;
const LEN_BITS: u32 = 29;
const LEN_MASK: u32 = (1 << LEN_BITS) - 1;

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
}

/// Statistics of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileStats {
    pub(crate) attempts: u64,
    pub(crate) ok_rows: u64,
    pub(crate) busy_s: f64,
    /// Earliest `started_at`, microseconds since the epoch.
    pub(crate) first_start_us: Option<i64>,
    /// Latest `started_at + duration_s`, microseconds since the epoch.
    pub(crate) last_end_us: Option<i64>,
}

/// One input to merge.
pub(crate) struct Source {
    /// The results file as the user knows it (for messages).
    pub(crate) shown: PathBuf,
    /// The plain CSV the rows are read back from (a temporary file for a gzip input).
    read: PathBuf,
    /// It, open: pass 2 reads the very file pass 1 read, even if a run replaced it since.
    file: File,
    temporary: bool,
    /// The machine of its manifest.
    pub(crate) machine: String,
}

/// A row of pass 1, before it is ranked against the others.
struct Candidate {
    index: u64,
    slot: Slot,
}

struct Scanned {
    columns: Vec<String>,
    rows: Vec<Candidate>,
    stats: FileStats,
    warnings: Vec<String>,
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

/// Rows rendered per chunk of pass 2.
const CHUNK: usize = 16 * 1024;

impl Table {
    pub(crate) fn new(jobs: u64) -> Table {
        let empty = Slot {
            key: 0,
            started: 0,
            offset: 0,
            len_status: 0,
            file: EMPTY,
        };
        Table {
            slots: vec![empty; jobs as usize],
            sources: Vec::new(),
            maps: Vec::new(),
            columns: Vec::new(),
            duplicates: Vec::new(),
            duplicate_count: 0,
            warnings: Vec::new(),
        }
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
        Ok(stats)
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
                if kept.ok() && slot.ok() {
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

    /// Final status counts and the indices with no ok row.
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
            }
            missing.push(i as u64);
        }
        (c, missing)
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
                .read_exact_at(&mut raw[at..], slot.offset)
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
    /// Jobs with no row at all.
    pub not_run: u64,
}

/// Finds `dir/results.csv` or `dir/results.csv.gz`; a gzip one is decompressed into `scratch`.
fn locate(dir: &Path, machine: &str, scratch: &Path, n: usize) -> Result<Source> {
    let plain = dir.join("results.csv");
    if plain.exists() {
        return Ok(Source {
            file: File::open(&plain).map_err(|e| Error::io(&plain, e))?,
            shown: plain.clone(),
            read: plain,
            temporary: false,
            machine: machine.to_owned(),
        });
    }
    let gz = dir.join("results.csv.gz");
    if !gz.exists() {
        return Err(Error::invalid(
            Some(dir),
            None,
            "has a manifest.json but no results.csv: the run wrote nothing yet, or the file was lost",
        ));
    }
    // Created now and filled by pass 1; the table removes it when dropped.
    let name = scratch.join(format!(".input-{n}.results.csv"));
    let (file, read) = crate::output::create_temp(&name).map_err(|e| Error::io(&name, e))?;
    Ok(Source {
        file,
        shown: gz,
        read,
        temporary: true,
        machine: machine.to_owned(),
    })
}

/// Pass 1 over one input: every row, checked, reduced to a candidate.
fn scan(source: &Source, jobs: u64) -> Result<Scanned> {
    let mut warnings = Vec::new();
    if source.temporary {
        if let Some(w) = gunzip(&source.shown, &source.file, &source.read)? {
            warnings.push(w);
        }
    }
    // pread-based, so that the shared handle's file offset does not matter.
    let reader_at = ReadAt {
        file: source
            .file
            .try_clone()
            .map_err(|e| Error::io(&source.shown, e))?,
        at: 0,
    };
    let mut reader = ResultsReader::from_reader(&source.shown, Box::new(reader_at), false)?;
    let columns = reader.columns().to_vec();
    let mut rows = Vec::new();
    let mut stats = FileStats::default();
    while let Some(row) = reader.next_row()? {
        if row.index >= jobs {
            return Err(Error::invalid(
                Some(&source.shown),
                Some(row.line),
                format!(
                    "job index {} is beyond the work's {jobs} jobs: repair or remove this row",
                    row.index
                ),
            ));
        }
        let len = u32::try_from(row.len)
            .ok()
            .filter(|&l| l <= LEN_MASK)
            .ok_or_else(|| {
                Error::invalid(
                    Some(&source.shown),
                    Some(row.line),
                    "a row of more than 512 MiB: repair or remove it",
                )
            })?;
        stats.attempts += 1;
        stats.busy_s += row.duration_s;
        if row.status == Status::Ok {
            stats.ok_rows += 1;
        }
        let end = row.started_us + (row.duration_s * 1e6) as i64;
        stats.first_start_us = Some(
            stats
                .first_start_us
                .map_or(row.started_us, |f| f.min(row.started_us)),
        );
        stats.last_end_us = Some(stats.last_end_us.map_or(end, |e| e.max(end)));
        rows.push(Candidate {
            index: row.index,
            slot: Slot {
                key: row.key,
                started: row.started_us,
                offset: row.offset,
                len_status: len | (row.status.code() << LEN_BITS),
                file: EMPTY,
            },
        });
    }
    warnings.extend(reader.take_warnings());
    Ok(Scanned {
        columns,
        rows,
        stats,
        warnings,
    })
}

/// Decompresses `gz` into `to` through the results codec's one gunzip path; a stream cut
/// short keeps what was readable and returns a warning.
fn gunzip(gz: &Path, to_file: &File, to: &Path) -> Result<Option<String>> {
    let mut data = Data::open(gz)?;
    let mut out = BufWriter::with_capacity(1 << 16, to_file);
    std::io::copy(&mut data, &mut out).map_err(|e| Error::io(to, e))?;
    out.flush().map_err(|e| Error::io(to, e))?;
    Ok(data.cut_warning(gz))
}

/// Reads a file from offset 0 with pread, leaving the handle's own offset alone.
struct ReadAt {
    file: File,
    at: u64,
}

impl Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}
