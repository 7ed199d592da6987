//! Joining results.csv files: for every job, the attempt that counts (an ok row beats any other;
//! between rows of the same kind the latest start wins), kept compactly until written in index
//! order with the union of the result columns.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::results::FIXED;

/// A chosen row: where its cells sit in the arena and how it ranks.
#[derive(Clone, Copy)]
struct Slot {
    file: u32,
    ok: bool,
    started: [u8; 27],
    key: u64,
    at: u64,
}

const EMPTY: u32 = u32::MAX;

/// Statistics of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileStats {
    pub(crate) attempts: u64,
    pub(crate) ok_rows: u64,
    pub(crate) busy_s: f64,
    pub(crate) first_start: Option<String>,
    pub(crate) last_end_s: Option<f64>,
}

/// The merged table under construction.
pub(crate) struct Table {
    slots: Vec<Slot>,
    arena: Vec<u8>,
    /// Per input file: its result columns' positions in `columns`.
    maps: Vec<Vec<usize>>,
    /// File of each map, for messages.
    files: Vec<PathBuf>,
    pub(crate) columns: Vec<String>,
    pub(crate) duplicates: Vec<(u64, String, String)>,
    pub(crate) duplicate_count: u64,
    pub(crate) warnings: Vec<String>,
}

impl Table {
    pub(crate) fn new(jobs: u64) -> Table {
        Table {
            slots: vec![
                Slot {
                    file: EMPTY,
                    ok: false,
                    started: [0; 27],
                    key: 0,
                    at: 0
                };
                jobs as usize
            ],
            arena: Vec::new(),
            maps: Vec::new(),
            files: Vec::new(),
            columns: Vec::new(),
            duplicates: Vec::new(),
            duplicate_count: 0,
            warnings: Vec::new(),
        }
    }

    /// Reads one machine directory's results (results.csv or results.csv.gz).
    pub(crate) fn add_dir(&mut self, dir: &Path, machine_label: &str) -> Result<FileStats> {
        let (path, data) = read_results(dir)?;
        let file_id = self.files.len() as u32;
        self.files.push(path.clone());
        let mut stats = FileStats::default();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(data.as_slice());
        let names = crate::output::results::read_header(&path, &mut reader, "repair or remove it")?;
        let map: Vec<usize> = names[FIXED.len()..]
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
        let width = names.len();
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    if at_tail(&data, reader.position().byte()) {
                        self.warnings.push(format!(
                            "{}:{line}: ignored a last row cut short (a crash?)",
                            path.display()
                        ));
                        break;
                    }
                    return Err(Error::invalid(
                        Some(&path),
                        Some(line),
                        format!("corrupt row ({e}): repair or remove it"),
                    ));
                }
            }
            let end = reader.position().byte() as usize;
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() != width || !(end <= data.len() && data[end - 1] == b'\n') {
                if at_tail(&data, end as u64) {
                    self.warnings.push(format!(
                        "{}:{line}: ignored a last row cut short (a crash?)",
                        path.display()
                    ));
                    break;
                }
                return Err(Error::invalid(
                    Some(&path),
                    Some(line),
                    format!(
                        "this row has {} fields but the header has {width}: repair or remove it",
                        record.len()
                    ),
                ));
            }
            let bad = |what: &str| {
                Error::invalid(
                    Some(&path),
                    Some(line),
                    format!("{what}: repair or remove this row"),
                )
            };
            let index: u64 = parse(&record[0]).ok_or_else(|| bad("not a job index"))?;
            let key = std::str::from_utf8(&record[1])
                .ok()
                .and_then(|k| u64::from_str_radix(k, 16).ok())
                .ok_or_else(|| bad("not a job key"))?;
            let ok = match &record[3] {
                b"ok" => true,
                b"failed" | b"timeout" | b"interrupted" => false,
                _ => return Err(bad("unknown status")),
            };
            let mut started = [0u8; 27];
            let s = &record[6];
            started[..s.len().min(27)].copy_from_slice(&s[..s.len().min(27)]);
            let duration: f64 = parse(&record[7]).unwrap_or(0.0);
            stats.attempts += 1;
            stats.busy_s += duration;
            if ok {
                stats.ok_rows += 1;
            }
            let start_text = String::from_utf8_lossy(s);
            if stats
                .first_start
                .as_deref()
                .is_none_or(|f| start_text.as_ref() < f)
            {
                stats.first_start = Some(start_text.clone().into_owned());
            }
            if let Some(t) = crate::output::parse_rfc3339(&start_text) {
                let end_s = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
                    + duration;
                stats.last_end_s = Some(stats.last_end_s.map_or(end_s, |e: f64| e.max(end_s)));
            }
            let Some(slot) = self.slots.get_mut(index as usize) else {
                return Err(bad(&format!(
                    "job index {index} is beyond the work's {} jobs",
                    self.slots.len()
                )));
            };
            if slot.file != EMPTY && slot.key != key {
                return Err(bad(&format!(
                    "job {index} has another key in {}: these results are of different work",
                    self.files[slot.file as usize].display()
                )));
            }
            if slot.file != EMPTY && slot.ok && ok {
                self.duplicate_count += 1;
                if self.duplicates.len() < 100 {
                    let other = self.files[slot.file as usize].display().to_string();
                    self.duplicates
                        .push((index, other, machine_label.to_owned()));
                }
            }
            let wins = slot.file == EMPTY || (ok, started) > (slot.ok, slot.started);
            if wins {
                let at = self.arena.len() as u64;
                for cell in record.iter() {
                    self.arena
                        .extend_from_slice(&(cell.len() as u32).to_le_bytes());
                    self.arena.extend_from_slice(cell);
                }
                *slot = Slot {
                    file: file_id,
                    ok,
                    started,
                    key,
                    at,
                };
            }
        }
        Ok(stats)
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
            if slot.ok {
                c.ok += 1;
                continue;
            }
            missing.push(i as u64);
            match self.status_of(slot) {
                b"timeout" => c.timeout += 1,
                b"interrupted" => c.interrupted += 1,
                _ => c.failed += 1,
            }
        }
        (c, missing)
    }

    fn cells(&self, slot: &Slot) -> Vec<&[u8]> {
        let width = FIXED.len() + self.maps[slot.file as usize].len();
        let mut at = slot.at as usize;
        let mut cells = Vec::with_capacity(width);
        for _ in 0..width {
            let len =
                u32::from_le_bytes(self.arena[at..at + 4].try_into().expect("4 bytes")) as usize;
            cells.push(&self.arena[at + 4..at + 4 + len]);
            at += 4 + len;
        }
        cells
    }

    fn status_of(&self, slot: &Slot) -> &[u8] {
        self.cells(slot)[3]
    }

    /// The machine of job `index`'s chosen row.
    pub(crate) fn machine_of(&self, index: usize) -> Option<String> {
        let slot = &self.slots[index];
        (slot.file != EMPTY && slot.ok)
            .then(|| String::from_utf8_lossy(self.cells(slot)[2]).into_owned())
    }

    /// Writes the merged results.csv.
    pub(crate) fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut w = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(out);
        let header: Vec<&str> = FIXED
            .iter()
            .copied()
            .chain(self.columns.iter().map(String::as_str))
            .collect();
        w.write_record(&header)?;
        let mut row: Vec<&[u8]> = vec![b""; header.len()];
        for slot in self.slots.iter().filter(|s| s.file != EMPTY) {
            row.iter_mut().for_each(|c| *c = b"");
            let cells = self.cells(slot);
            row[..FIXED.len()].copy_from_slice(&cells[..FIXED.len()]);
            for (k, &pos) in self.maps[slot.file as usize].iter().enumerate() {
                row[FIXED.len() + pos] = cells[FIXED.len() + k];
            }
            w.write_record(&row)?;
        }
        w.flush()
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

fn parse<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// True if the row ending at `pos` is the file's last and has no line end: torn by a crash.
fn at_tail(data: &[u8], pos: u64) -> bool {
    pos as usize >= data.len() && !data.ends_with(b"\n")
}

/// Reads `dir/results.csv`, or `dir/results.csv.gz` (a gzip cut short yields what it held).
fn read_results(dir: &Path) -> Result<(PathBuf, Vec<u8>)> {
    let plain = dir.join("results.csv");
    if plain.exists() {
        let data = std::fs::read(&plain).map_err(|e| Error::io(&plain, e))?;
        return Ok((plain, data));
    }
    let gz = dir.join("results.csv.gz");
    if gz.exists() {
        let file = std::fs::File::open(&gz).map_err(|e| Error::io(&gz, e))?;
        let mut data = Vec::new();
        // A gzip cut short yields its readable prefix; the torn last row is dropped later.
        let _ =
            flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file)).read_to_end(&mut data);
        return Ok((gz, data));
    }
    Err(Error::invalid(
        Some(dir),
        None,
        "has a manifest.json but no results.csv: the run wrote nothing yet, or the file was lost",
    ))
}
