//! What travels over ssh besides command lines: an inventory (what one side holds) and a stream
//! of file frames (what the other side sends back), both JSON lines, a frame followed by its
//! bytes. Both sides are the same jobsplit binary, so the format is private to a version; it is
//! described in docs/remote.md.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A file one side holds: its path (relative, `/`-separated), size, SHA-256 and modification
/// time (ns since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    #[serde(default)]
    pub(crate) mtime: i64,
}

/// How a frame's bytes apply to the receiver's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Op {
    /// The bytes are the whole file: replace it.
    Whole,
    /// The bytes follow the receiver's `offset` bytes, which are unchanged: append them.
    Append,
}

/// One file sent: its `len` bytes follow the header line, then a line with the JSON string of
/// the SHA-256 of the file as it must stand once they are applied (`offset + len` bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Frame {
    pub(crate) path: String,
    pub(crate) op: Op,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) mtime: i64,
    #[serde(default)]
    pub(crate) exec: bool,
}

/// The last line of a stream: how many files the sender left alone and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct End {
    pub(crate) end: bool,
    /// Files the same on both sides.
    pub(crate) same: u64,
    /// Files the receiver holds a newer copy of (kept).
    pub(crate) newer_kept: Vec<String>,
    /// Files passed over (links, non-UTF-8 names, unreadable), with why.
    pub(crate) passed: Vec<String>,
}

/// Writes one JSON line.
pub(crate) fn write_line<T: Serialize>(out: &mut dyn Write, value: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Reads one JSON line (`None` at the end of the stream).
pub(crate) fn read_line<T: for<'de> Deserialize<'de>>(
    input: &mut dyn BufRead,
) -> std::io::Result<Option<T>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(line.trim_end())
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Every JSON line of `input`.
pub(crate) fn read_lines<T: for<'de> Deserialize<'de>>(
    input: &mut dyn BufRead,
) -> std::io::Result<Vec<T>> {
    let mut all = Vec::new();
    while let Some(v) = read_line(input)? {
        all.push(v);
    }
    Ok(all)
}

/// Writes the line after a frame's bytes: the SHA-256 of the file they make (67 bytes).
pub(crate) fn write_trailer(out: &mut dyn Write, sha256: &str) -> std::io::Result<()> {
    write_line(out, &sha256)
}

/// Reads the line after a frame's bytes (exactly 67 bytes, so a buffered reader is not needed).
pub(crate) fn read_trailer(input: &mut dyn Read) -> std::io::Result<String> {
    let mut line = [0u8; 67];
    input.read_exact(&mut line)?;
    let text = std::str::from_utf8(&line)
        .ok()
        .and_then(|t| serde_json::from_str::<String>(t.trim_end()).ok())
        .filter(|h| h.len() == 64);
    text.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "a bad frame trailer"))
}

/// A frame line (header or end), told apart by `end`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Line {
    End(End),
    Frame(Frame),
}

/// SHA-256 of the first `len` bytes of `path` (hex), reading it once.
pub(crate) fn sha256_prefix(path: &Path, len: u64) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let n = std::io::copy(&mut file.take(len), &mut HashWriter(&mut hasher))?;
    if n != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{} is shorter than {len} bytes", path.display()),
        ));
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of a whole file (hex).
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let len = std::fs::metadata(path)?.len();
    sha256_prefix(path, len)
}

/// SHA-256 of bytes (hex).
pub(crate) fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Modification time of `meta` in ns since the epoch (0 if unknown).
pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// A relative `/`-separated path that stays below its root: no `..`, no absolute part, no
/// empty or `.` component.
pub(crate) fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_below_the_root_are_safe() {
        assert!(safe_relative("a/b c/$(x)"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/."] {
            assert!(!safe_relative(bad), "{bad}");
        }
    }

    #[test]
    fn frames_and_ends_are_told_apart() {
        let mut buf = Vec::new();
        let f = Frame {
            path: "a b".into(),
            op: Op::Append,
            offset: 3,
            len: 2,
            mtime: 5,
            exec: false,
        };
        write_line(&mut buf, &f).unwrap();
        write_line(
            &mut buf,
            &End {
                end: true,
                ..End::default()
            },
        )
        .unwrap();
        let mut r = std::io::Cursor::new(buf);
        assert!(matches!(read_line::<Line>(&mut r).unwrap(), Some(Line::Frame(g)) if g == f));
        assert!(matches!(
            read_line::<Line>(&mut r).unwrap(),
            Some(Line::End(_))
        ));
    }
}
