//! Reading a job list that may be growing (docs/split-v1.md section 7): a last line caught half
//! appended, and the list cut to the jobs of its recorded epochs.

use std::path::Path;

use super::{Format, JobList};
use crate::error::{Error, Result};

impl JobList {
    /// Reads a job list that may be growing (docs/split-v1.md section 7.1): as
    /// [`JobList::load`], except that when the file does not end with `\n` and its last line
    /// does not read (a JSON line caught half written, say), the list is the file up to its
    /// last `\n`.
    ///
    /// # Errors
    /// As [`JobList::load`], for the whole file when the cut does not read either.
    pub(crate) fn load_growing(path: &Path, format: Format) -> Result<JobList> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let cut = match memchr::memrchr(b'\n', &data) {
            Some(p) if p + 1 < data.len() => Some(p + 1),
            _ => None,
        };
        match (JobList::from_bytes(path, format, data.clone()), cut) {
            (Ok(list), _) => Ok(list),
            (Err(e), Some(cut)) => {
                let mut data = data;
                data.truncate(cut);
                JobList::from_bytes(path, format, data).map_err(|_| e)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// How many jobs, from the first, are followed by `\n` in the file: all of them, or all
    /// but the last when the file ends inside it (an append that may be under way).
    pub(crate) fn terminated(&self) -> u64 {
        let Some(last) = self.spans.last() else {
            return 0;
        };
        let end = (last.start + u64::from(last.len)) as usize;
        let rest = &self.data[end.min(self.data.len())..];
        let done = match self.format {
            Format::Csv => self.data[..end].ends_with(b"\n"),
            _ => rest.starts_with(b"\n") || rest.starts_with(b"\r\n"),
        };
        self.len() - u64::from(!done)
    }

    /// Keeps only the first `n` jobs (the jobs of the recorded epochs of a list that grew).
    pub(crate) fn truncate(&mut self, n: u64) {
        self.spans.truncate(n as usize);
    }
}
