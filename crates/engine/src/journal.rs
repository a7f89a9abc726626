//! The metadata journal: every change to a device's mapping or to the set
//! of devices is a record, appended *before* the change is made in memory
//! (write-ahead), made durable at commit, and replayed at open.
//!
//! Frame: `len: u32 | crc32c(body): u32 | body`. A torn or corrupt frame
//! ends the journal: everything before it is valid, nothing after it is
//! used. Journals are numbered by epoch (`journal.<epoch>`); a checkpoint
//! names the first epoch to replay after it.

use std::fs::File;
use std::path::{Path, PathBuf};

/// A metadata change.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// A new device; with `source`, sharing that device's tree as it is now.
    Create {
        dev: u32,
        name: String,
        size: u64,
        readonly: bool,
        source: Option<u32>,
    },
    Delete {
        dev: u32,
    },
    Resize {
        dev: u32,
        size: u64,
    },
    /// `dev` is known by `name` from now on.
    Rename {
        dev: u32,
        name: String,
    },
    /// `dev`'s tree becomes (a share of) `snap`'s.
    Rollback {
        dev: u32,
        snap: u32,
    },
    /// `vblock + i` → `pblock + i` with checksum `crcs[i]`.
    Map {
        dev: u32,
        vblock: u64,
        pblock: u64,
        crcs: Vec<u32>,
    },
    Unmap {
        dev: u32,
        vblock: u64,
        count: u64,
    },
}

const T_CREATE: u8 = 1;
const T_DELETE: u8 = 2;
const T_RESIZE: u8 = 3;
const T_ROLLBACK: u8 = 4;
const T_MAP: u8 = 5;
const T_UNMAP: u8 = 6;
const T_RENAME: u8 = 7;

/// Little-endian reader over a byte slice.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.bytes(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.bytes(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(b);
}

impl Record {
    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Record::Create {
                dev,
                name,
                size,
                readonly,
                source,
            } => {
                out.push(T_CREATE);
                out.extend_from_slice(&dev.to_le_bytes());
                put_str(out, name);
                out.extend_from_slice(&size.to_le_bytes());
                out.push(*readonly as u8);
                out.extend_from_slice(&source.map(|s| s as u64).unwrap_or(u64::MAX).to_le_bytes());
            }
            Record::Delete { dev } => {
                out.push(T_DELETE);
                out.extend_from_slice(&dev.to_le_bytes());
            }
            Record::Resize { dev, size } => {
                out.push(T_RESIZE);
                out.extend_from_slice(&dev.to_le_bytes());
                out.extend_from_slice(&size.to_le_bytes());
            }
            Record::Rename { dev, name } => {
                out.push(T_RENAME);
                out.extend_from_slice(&dev.to_le_bytes());
                put_str(out, name);
            }
            Record::Rollback { dev, snap } => {
                out.push(T_ROLLBACK);
                out.extend_from_slice(&dev.to_le_bytes());
                out.extend_from_slice(&snap.to_le_bytes());
            }
            Record::Map {
                dev,
                vblock,
                pblock,
                crcs,
            } => {
                out.push(T_MAP);
                out.extend_from_slice(&dev.to_le_bytes());
                out.extend_from_slice(&vblock.to_le_bytes());
                out.extend_from_slice(&pblock.to_le_bytes());
                out.extend_from_slice(&(crcs.len() as u32).to_le_bytes());
                for c in crcs {
                    out.extend_from_slice(&c.to_le_bytes());
                }
            }
            Record::Unmap { dev, vblock, count } => {
                out.push(T_UNMAP);
                out.extend_from_slice(&dev.to_le_bytes());
                out.extend_from_slice(&vblock.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
            }
        }
    }

    /// Appends the framed record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0u8; 8]);
        self.encode_body(out);
        let body_len = (out.len() - start - 8) as u32;
        let crc = crc32c::crc32c(&out[start + 8..]);
        out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    fn decode_body(body: &[u8]) -> Option<Record> {
        let mut c = Cursor::new(body);
        let rec = match c.u8()? {
            T_CREATE => {
                let dev = c.u32()?;
                let n = c.u16()? as usize;
                let name = String::from_utf8(c.bytes(n)?.to_vec()).ok()?;
                let size = c.u64()?;
                let readonly = c.u8()? != 0;
                let source = c.u64()?;
                let source = (source != u64::MAX).then_some(source as u32);
                Record::Create {
                    dev,
                    name,
                    size,
                    readonly,
                    source,
                }
            }
            T_DELETE => Record::Delete { dev: c.u32()? },
            T_RESIZE => Record::Resize {
                dev: c.u32()?,
                size: c.u64()?,
            },
            T_RENAME => {
                let dev = c.u32()?;
                let n = c.u16()? as usize;
                let name = String::from_utf8(c.bytes(n)?.to_vec()).ok()?;
                Record::Rename { dev, name }
            }
            T_ROLLBACK => Record::Rollback {
                dev: c.u32()?,
                snap: c.u32()?,
            },
            T_MAP => {
                let dev = c.u32()?;
                let vblock = c.u64()?;
                let pblock = c.u64()?;
                let n = c.u32()? as usize;
                if n > c.remaining() / 4 {
                    return None;
                }
                let crcs = (0..n).map(|_| c.u32()).collect::<Option<Vec<_>>>()?;
                Record::Map {
                    dev,
                    vblock,
                    pblock,
                    crcs,
                }
            }
            T_UNMAP => Record::Unmap {
                dev: c.u32()?,
                vblock: c.u64()?,
                count: c.u64()?,
            },
            _ => return None,
        };
        (c.remaining() == 0).then_some(rec)
    }

    /// Decodes the valid prefix of a journal: the records, and the length
    /// in bytes they occupy (where a torn tail, if any, begins).
    pub fn decode_all(buf: &[u8]) -> (Vec<Record>, usize) {
        let mut c = Cursor::new(buf);
        let mut out = Vec::new();
        loop {
            let start = c.pos();
            let (Some(len), Some(crc)) = (c.u32(), c.u32()) else {
                return (out, start);
            };
            let Some(body) = c.bytes(len as usize) else {
                return (out, start);
            };
            if crc32c::crc32c(body) != crc {
                return (out, start);
            }
            match Record::decode_body(body) {
                Some(r) => out.push(r),
                None => return (out, start),
            }
        }
    }
}

pub(crate) fn journal_path(dir: &Path, epoch: u64) -> PathBuf {
    dir.join(format!("journal.{epoch:016x}"))
}

/// Journal epochs present in `dir`, ascending.
pub(crate) fn list_epochs(dir: &Path) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(hex) = name.strip_prefix("journal.") {
            if let Ok(e) = u64::from_str_radix(hex, 16) {
                out.push(e);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Records appended in memory, written to the journal file at commit.
#[derive(Default)]
pub(crate) struct Journal {
    /// Framed records not yet written to the file.
    pub buffer: Vec<u8>,
    /// Records appended since the pool opened (a position for group commit).
    pub appended: u64,
}

impl Journal {
    pub fn append(&mut self, rec: &Record) {
        rec.encode(&mut self.buffer);
        self.appended += 1;
    }
}

/// Creates the (empty) journal file of `epoch`.
pub(crate) fn create_file(dir: &Path, epoch: u64) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(journal_path(dir, epoch))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_ends_the_journal() {
        let records = vec![
            Record::Create {
                dev: 1,
                name: "v:abc".into(),
                size: 1 << 30,
                readonly: false,
                source: None,
            },
            Record::Create {
                dev: 2,
                name: "s:def".into(),
                size: 1 << 30,
                readonly: true,
                source: Some(1),
            },
            Record::Map {
                dev: 1,
                vblock: 7,
                pblock: 99,
                crcs: vec![1, 2, 3],
            },
            Record::Unmap {
                dev: 1,
                vblock: 0,
                count: 1 << 20,
            },
            Record::Resize {
                dev: 1,
                size: 2 << 30,
            },
            Record::Rollback { dev: 1, snap: 2 },
            Record::Rename {
                dev: 1,
                name: "v:ghi".into(),
            },
            Record::Delete { dev: 2 },
        ];
        let mut buf = Vec::new();
        for r in &records {
            r.encode(&mut buf);
        }
        let (decoded, len) = Record::decode_all(&buf);
        assert_eq!(decoded, records);
        assert_eq!(len, buf.len());
        // Any truncation keeps exactly the whole records before it.
        for cut in 0..buf.len() {
            let (d, l) = Record::decode_all(&buf[..cut]);
            assert!(l <= cut);
            assert_eq!(d, records[..d.len()].to_vec());
        }
        // A flipped bit ends the journal at that record.
        let mut bad = buf.clone();
        bad[30] ^= 1;
        let (d, _) = Record::decode_all(&bad);
        assert!(d.len() < records.len());
    }
}
