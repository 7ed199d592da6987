//! A writer that hashes what passes through it.

use std::io::Write;

use sha2::{Digest, Sha256};

/// Writes to `inner` and keeps the SHA-256 of every byte written.
pub(crate) struct Tee<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Tee<W> {
    pub(crate) fn new(inner: W) -> Tee<W> {
        Tee {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The same hash going on over writes to `inner`.
    pub(crate) fn chain_into<V: Write>(self, inner: V) -> Tee<V> {
        Tee {
            inner,
            hasher: self.hasher,
        }
    }

    /// The hex SHA-256 of everything written.
    pub(crate) fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
