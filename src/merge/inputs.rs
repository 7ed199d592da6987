//! Pass 1's reading of one input: find its results file (decompressing a gzip one into a
//! temporary file, so pass 2 can read rows back by offset), and reduce every checked row to a
//! candidate for the table.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::discover::MachineDir;
use super::report::run_start_us;
use super::report::RowFigures;
use crate::error::{Error, Result};
use crate::model::Status;
use crate::output::results::{Data, ResultsReader};

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
    pub(super) fn status(&self) -> Status {
        Status::from_code(self.len_status >> LEN_BITS)
    }
    pub(super) fn ok(&self) -> bool {
        self.status() == Status::Ok
    }
    pub(super) fn len(&self) -> usize {
        (self.len_status & LEN_MASK) as usize
    }
    pub(super) fn offset(&self) -> u64 {
        self.offset_attempt & ((1 << OFFSET_BITS) - 1)
    }
    pub(super) fn attempt(&self) -> u64 {
        self.offset_attempt >> OFFSET_BITS
    }
}

/// One input to merge.
pub(crate) struct Source {
    /// The results file as the user knows it (for messages).
    pub(crate) shown: PathBuf,
    /// The plain CSV the rows are read back from (a temporary file for a gzip input).
    pub(super) read: PathBuf,
    /// It, open: pass 2 reads the very file pass 1 read, even if a run replaced it since.
    pub(super) file: File,
    pub(super) temporary: bool,
    /// The machine of its manifest.
    pub(crate) machine: String,
    /// When its last run started (its manifest's `started_at`), microseconds since the epoch.
    pub(crate) run_start_us: Option<i64>,
}

/// A row of pass 1, before it is ranked against the others.
pub(super) struct Candidate {
    pub(super) index: u64,
    pub(super) slot: Slot,
}

pub(super) struct Scanned {
    pub(super) columns: Vec<String>,
    pub(super) rows: Vec<Candidate>,
    pub(super) stats: RowFigures,
    pub(super) warnings: Vec<String>,
}

/// Finds the results.csv or results.csv.gz of `d`; a gzip one is decompressed into `scratch`.
pub(super) fn locate(d: &MachineDir, scratch: &Path, n: usize) -> Result<Source> {
    let (dir, machine) = (&d.dir, &d.manifest.machine);
    let run_start_us = run_start_us(&d.manifest);
    let plain = dir.join("results.csv");
    if plain.exists() {
        return Ok(Source {
            file: File::open(&plain).map_err(|e| Error::io(&plain, e))?,
            shown: plain.clone(),
            read: plain,
            temporary: false,
            machine: machine.to_owned(),
            run_start_us,
        });
    }
    let gz = dir.join("results.csv.gz");
    if !gz.exists() {
        return Err(Error::output_dir(
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
        run_start_us,
    })
}

/// Pass 1 over one input: every row, checked, reduced to a candidate.
pub(super) fn scan(source: &Source, jobs: u64) -> Result<Scanned> {
    let mut warnings = Vec::new();
    warnings.extend(crate::output::results::pending_rows_warning(&source.shown));
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
    let mut stats = RowFigures::default();
    while let Some(row) = reader.next_row()? {
        if row.index >= jobs {
            return Err(Error::damaged(
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
                Error::damaged(
                    Some(&source.shown),
                    Some(row.line),
                    "a row of more than 512 MiB: repair or remove it",
                )
            })?;
        if row.offset >> OFFSET_BITS != 0 {
            return Err(Error::damaged(
                Some(&source.shown),
                Some(row.line),
                "a results.csv of more than 256 TiB: split it",
            ));
        }
        stats.add(
            row.status,
            row.started_us,
            row.duration_s,
            source.run_start_us,
        );
        rows.push(Candidate {
            index: row.index,
            slot: Slot {
                key: row.key,
                started: row.started_us,
                offset_attempt: row.offset | (u64::from(row.attempt).min(0xffff) << OFFSET_BITS),
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
