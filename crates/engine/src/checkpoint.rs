//! Checkpoints: the whole metadata state (every device and its tree, shared
//! nodes written once) in one file, written beside the old one, synced and
//! renamed over it. Opening a pool loads the checkpoint and replays the
//! journals from the epoch it names.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use crate::journal::Cursor;
use crate::refs::Refs;
use crate::tree::{Interior, Leaf, Node, Tree, FANOUT};

const MAGIC: &[u8; 8] = b"PLTRCKP1";
const VERSION: u32 = 1;
pub(crate) const FILE: &str = "checkpoint";

/// One device as the checkpoint records it.
pub(crate) struct DeviceImage {
    pub id: u32,
    pub name: String,
    pub size: u64,
    pub readonly: bool,
    pub tree: Tree,
}

/// Everything a checkpoint holds.
pub(crate) struct Image {
    pub next_epoch: u64,
    pub next_dev: u32,
    pub devices: Vec<DeviceImage>,
}

/// A writer that keeps the CRC-32C of everything written.
struct Summing<W: Write> {
    inner: W,
    crc: u32,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn put_str<W: Write>(w: &mut W, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u16).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// Writes `image` to `<dir>/checkpoint` atomically and durably.
pub(crate) fn write(dir: &Path, image: &Image) -> std::io::Result<()> {
    let tmp = dir.join("checkpoint.tmp");
    let file = File::create(&tmp)?;
    let mut w = Summing {
        inner: BufWriter::with_capacity(1 << 20, &file),
        crc: 0,
    };
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&image.next_epoch.to_le_bytes())?;
    w.write_all(&image.next_dev.to_le_bytes())?;

    // Nodes, children before parents, each shared node once.
    let mut seen: HashSet<*const Node> = HashSet::new();
    let mut index: HashMap<*const Node, u64> = HashMap::new();
    let mut order: Vec<Arc<Node>> = Vec::new();
    for d in &image.devices {
        d.tree.visit_post_order(&mut seen, &mut |n| {
            index.insert(Arc::as_ptr(n), order.len() as u64);
            order.push(n.clone());
        });
    }
    w.write_all(&(order.len() as u64).to_le_bytes())?;
    let mut err: Option<std::io::Error> = None;
    for n in &order {
        let r = match &**n {
            Node::Interior(i) => {
                let children: Vec<(usize, u64)> = i
                    .children
                    .iter()
                    .enumerate()
                    .filter_map(|(idx, c)| {
                        c.as_ref()
                            .map(|c| (idx, index.get(&Arc::as_ptr(c)).copied().unwrap_or(u64::MAX)))
                    })
                    .collect();
                (|| {
                    w.write_all(&[0u8])?;
                    w.write_all(&(children.len() as u16).to_le_bytes())?;
                    for (idx, child) in children {
                        w.write_all(&(idx as u16).to_le_bytes())?;
                        w.write_all(&child.to_le_bytes())?;
                    }
                    Ok(())
                })()
            }
            Node::Leaf(l) => (|| {
                w.write_all(&[1u8])?;
                w.write_all(&(l.mapped as u16).to_le_bytes())?;
                for (idx, &p) in l.pblocks.iter().enumerate() {
                    if p != 0 {
                        w.write_all(&(idx as u16).to_le_bytes())?;
                        w.write_all(&p.to_le_bytes())?;
                        w.write_all(&l.crcs[idx].to_le_bytes())?;
                    }
                }
                Ok(())
            })(),
        };
        if let Err(e) = r {
            err = Some(e);
            break;
        }
    }
    if let Some(e) = err {
        return Err(e);
    }
    w.write_all(&(image.devices.len() as u32).to_le_bytes())?;
    for d in &image.devices {
        w.write_all(&d.id.to_le_bytes())?;
        put_str(&mut w, &d.name)?;
        w.write_all(&d.size.to_le_bytes())?;
        w.write_all(&[d.readonly as u8])?;
        let root = index
            .get(&Arc::as_ptr(&d.tree.root))
            .copied()
            .unwrap_or(u64::MAX);
        w.write_all(&root.to_le_bytes())?;
    }
    let crc = w.crc;
    let mut inner = w.inner;
    inner.write_all(&crc.to_le_bytes())?;
    inner.flush()?;
    drop(inner);
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE))?;
    File::open(dir)?.sync_all()
}

fn corrupt(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("checkpoint is corrupt: {what}"),
    )
}

/// Reads `<dir>/checkpoint`, claiming every mapped block in `refs`.
/// `Ok(None)` when there is no checkpoint (a new pool).
pub(crate) fn read(dir: &Path, refs: &Arc<Refs>) -> std::io::Result<Option<Image>> {
    let bytes = match std::fs::read(dir.join(FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if bytes.len() < 12 {
        return Err(corrupt("too short"));
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if crc32c::crc32c(body) != stored {
        return Err(corrupt("checksum mismatch"));
    }
    let mut c = Cursor::new(body);
    if c.bytes(8) != Some(&MAGIC[..]) {
        return Err(corrupt("bad magic"));
    }
    if c.u32() != Some(VERSION) {
        return Err(corrupt("unknown version"));
    }
    let next_epoch = c.u64().ok_or_else(|| corrupt("header"))?;
    let next_dev = c.u32().ok_or_else(|| corrupt("header"))?;
    let count = c.u64().ok_or_else(|| corrupt("node count"))?;
    let mut nodes: Vec<Arc<Node>> = Vec::with_capacity(count.min(1 << 24) as usize);
    let mut alloc = refs.lock_alloc();
    for _ in 0..count {
        let kind = c.u8().ok_or_else(|| corrupt("node"))?;
        let n = c.u16().ok_or_else(|| corrupt("node"))? as usize;
        if n > FANOUT {
            return Err(corrupt("node fanout"));
        }
        let node = if kind == 0 {
            let mut children: Vec<Option<Arc<Node>>> = (0..FANOUT).map(|_| None).collect();
            for _ in 0..n {
                let idx = c.u16().ok_or_else(|| corrupt("interior"))? as usize;
                let child = c.u64().ok_or_else(|| corrupt("interior"))? as usize;
                let child = nodes
                    .get(child)
                    .ok_or_else(|| corrupt("child index"))?
                    .clone();
                *children.get_mut(idx).ok_or_else(|| corrupt("child slot"))? = Some(child);
            }
            Node::Interior(Interior {
                children: children.into_boxed_slice(),
            })
        } else {
            let mut leaf = Leaf::empty(refs);
            for _ in 0..n {
                let idx = c.u16().ok_or_else(|| corrupt("leaf"))? as usize;
                let p = c.u64().ok_or_else(|| corrupt("leaf"))?;
                let crc = c.u32().ok_or_else(|| corrupt("leaf"))?;
                if idx >= FANOUT || p == 0 || leaf.pblocks[idx] != 0 {
                    return Err(corrupt("leaf entry"));
                }
                leaf.pblocks[idx] = p;
                leaf.crcs[idx] = crc;
                leaf.mapped += 1;
                alloc.claim(p);
            }
            Node::Leaf(leaf)
        };
        nodes.push(Arc::new(node));
    }
    drop(alloc);
    let dev_count = c.u32().ok_or_else(|| corrupt("device count"))?;
    let mut devices = Vec::new();
    for _ in 0..dev_count {
        let id = c.u32().ok_or_else(|| corrupt("device"))?;
        let len = c.u16().ok_or_else(|| corrupt("device"))? as usize;
        let name = String::from_utf8(c.bytes(len).ok_or_else(|| corrupt("device"))?.to_vec())
            .map_err(|_| corrupt("device name"))?;
        let size = c.u64().ok_or_else(|| corrupt("device"))?;
        let readonly = c.u8().ok_or_else(|| corrupt("device"))? != 0;
        let root = c.u64().ok_or_else(|| corrupt("device"))? as usize;
        let root = nodes
            .get(root)
            .ok_or_else(|| corrupt("device root"))?
            .clone();
        if !matches!(&*root, Node::Interior(_)) {
            return Err(corrupt("device root is a leaf"));
        }
        devices.push(DeviceImage {
            id,
            name,
            size,
            readonly,
            tree: Tree::from_root(root),
        });
    }
    if c.remaining() != 0 {
        return Err(corrupt("trailing bytes"));
    }
    Ok(Some(Image {
        next_epoch,
        next_dev,
        devices,
    }))
}
