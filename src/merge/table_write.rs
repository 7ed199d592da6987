//! Pass 2 of a merge: the winning rows read back by their offsets and written in index order
//! with the union of the result columns (see [`super::table`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::inputs::{Slot, EMPTY};
use super::table::Table;
use crate::error::{Error, Result};
use crate::output::results::FIXED;

/// Rows rendered per chunk of pass 2.
const CHUNK: usize = 16 * 1024;

impl Table {
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

    /// The rows of `chunk` (read into `raw`, from the sources `owners`) copied as they are,
    /// with the empty cells of the merged columns their sources lack appended.
    fn render_verbatim(&self, chunk: &[Slot], raw: &[u8], owners: &[usize]) -> Vec<u8> {
        let width = FIXED.len() + self.columns.len();
        let mut out = Vec::with_capacity(raw.len() + owners.len() * 4);
        let mut at = 0;
        for (slot, &f) in chunk.iter().filter(|s| s.file != EMPTY).zip(owners) {
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
        out
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
            return Ok(self.render_verbatim(chunk, &raw, &owners));
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
                Error::output_dir(
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
