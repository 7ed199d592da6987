//! gzip members (RFC 1952) built in memory: whole, from one buffer ([`gzip_member`],
//! [`stored_gzip_member`]), or piece by piece as lines come ([`Member`]). Every log jobsplit
//! writes is a series of such members, each written to its file in one piece.

use crc32fast::Hasher as Crc;
use flate2::{Compress, Compression, FlushCompress, Status};

/// A member with less than this is written stored (gzip framing, no compression): resetting a
/// deflate state clears ~200 KB of tables, which costs more than a small job itself. Larger
/// members, and every member `merge` writes, are compressed.
pub(crate) const STORE_BELOW: usize = 8 * 1024;

/// One gzip member built piece by piece: the lines go to deflate as they come, without being
/// gathered first (the first few KiB are held, so that a small member is written stored), and
/// the compressed bytes collect in memory until [`Member::end`] hands them out in one piece.
pub(crate) struct Member {
    deflate: Compress,
    /// The first bytes of a member, until it is known to be worth compressing.
    held: Vec<u8>,
    compressing: bool,
    crc: Crc,
    len: usize,
    out: Vec<u8>,
}

impl Member {
    /// An empty member compressed at `level`.
    pub(crate) fn new(level: u32) -> Member {
        Member {
            deflate: Compress::new(Compression::new(level), false),
            held: Vec::with_capacity(STORE_BELOW),
            compressing: false,
            crc: Crc::new(),
            len: 0,
            out: Vec::new(),
        }
    }

    /// Uncompressed bytes added so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds `data` (whole lines).
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.len == 0 {
            self.out.clear();
        }
        self.crc.update(data);
        self.len += data.len();
        if !self.compressing {
            if self.held.len() + data.len() < STORE_BELOW {
                self.held.extend_from_slice(data);
                return;
            }
            self.out.extend_from_slice(&GZIP_HEADER);
            self.deflate.reset();
            self.compressing = true;
            let held = std::mem::take(&mut self.held);
            deflate_into(&mut self.deflate, &held, &mut self.out, FlushCompress::None);
            self.held = held;
            self.held.clear();
        }
        deflate_into(&mut self.deflate, data, &mut self.out, FlushCompress::None);
    }

    /// Ends the member: its bytes, ready to write (empty if nothing was added). The next
    /// [`push`](Member::push) starts a new one.
    pub(crate) fn end(&mut self) -> &[u8] {
        if self.len == 0 {
            self.out.clear();
            return &self.out;
        }
        // The CRC of every byte added, taken as they came.
        let crc = std::mem::take(&mut self.crc).finalize();
        if self.compressing {
            deflate_into(&mut self.deflate, &[], &mut self.out, FlushCompress::Finish);
            self.out.extend_from_slice(&crc.to_le_bytes());
            self.out.extend_from_slice(&(self.len as u32).to_le_bytes());
        } else {
            stored_member(&self.held, crc, &mut self.out);
            self.held.clear();
        }
        self.compressing = false;
        self.len = 0;
        &self.out
    }
}

/// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Runs `data` through `deflate` into `out` (all of it; to the end of the stream with
/// `Finish`).
fn deflate_into(deflate: &mut Compress, mut data: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
    loop {
        // Room for all of it: deflate never expands by more than a few bytes per 16 KiB.
        out.reserve(data.len() + data.len() / 64 + 1024);
        let before = deflate.total_in();
        let status = deflate.compress_vec(data, out, flush);
        data = &data[(deflate.total_in() - before) as usize..];
        match status {
            Ok(Status::StreamEnd) => return,
            Ok(_) if data.is_empty() && flush == FlushCompress::None => return,
            Ok(_) => {}
            Err(e) => unreachable!("deflate into memory failed: {e}"),
        }
    }
}

/// Writes `data` as one gzip member (RFC 1952: header, raw deflate, CRC-32, size) into `out`,
/// reusing `deflate`.
pub(crate) fn gzip_member(deflate: &mut Compress, data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&GZIP_HEADER);
    deflate.reset();
    deflate_into(deflate, data, out, FlushCompress::Finish);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
}

/// Writes `data` as one gzip member of stored (uncompressed) deflate blocks into `out`.
pub(crate) fn stored_gzip_member(data: &[u8], out: &mut Vec<u8>) {
    stored_member(data, crc32fast::hash(data), out);
}

/// [`stored_gzip_member`] of `data` whose CRC-32 is `crc`.
fn stored_member(data: &[u8], crc: u32, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&GZIP_HEADER);
    let mut chunks = data.chunks(u16::MAX as usize).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = chunk.len() as u16;
        out.push(last); // BFINAL, BTYPE = 00 (stored)
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_compressed_members_read_back() {
        use std::io::Read as _;
        for size in [0usize, 1, 100, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let mut out = Vec::new();
            stored_gzip_member(&data, &mut out);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(out.as_slice())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "stored, {size} bytes");
            gzip_member(
                &mut Compress::new(Compression::new(2), false),
                &data,
                &mut out,
            );
            back.clear();
            flate2::read::GzDecoder::new(out.as_slice())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "compressed, {size} bytes");
        }
    }

    #[test]
    fn a_member_built_piece_by_piece_reads_back_whole() {
        use std::io::Read as _;
        for pieces in [
            vec![],
            vec![10usize],
            vec![5000, 5000],
            vec![100_000, 3, 70_000],
        ] {
            let data: Vec<u8> = (0..pieces.iter().sum::<usize>())
                .map(|i| b"abcdefgh\n"[i * 7 % 9])
                .collect();
            let mut member = Member::new(2);
            let mut at = 0;
            for n in &pieces {
                member.push(&data[at..at + n]);
                at += n;
            }
            assert_eq!(member.len(), data.len());
            let bytes = member.end().to_vec();
            if data.is_empty() {
                assert!(bytes.is_empty());
                continue;
            }
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{pieces:?}");
            // And again: the member starts afresh.
            member.push(b"again\n");
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(member.end())
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, b"again\n");
        }
    }
}
