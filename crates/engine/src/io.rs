//! Reads and writes on one device.
//!
//! Reads look the range up under the device's read lock, then read the
//! physical blocks with no lock held, verifying each block's CRC-32C.
//! Aligned writes checksum and write their data to newly allocated blocks
//! with no lock held, then take the device's write lock only to journal and
//! apply the new mapping: many threads read and write one device at once.
//! A write that covers part of a block is a read-modify-write done under
//! the device's write lock, so it cannot interleave with another write of
//! that block.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use platter_backend::{BackendError, BackendResult, VolumeIo};

use crate::device::{read, write, Device, DeviceState};
use crate::journal::Record;
use crate::pool::{Pool, PoolInner};
use crate::refs::Run;
use crate::tree::Entry;
use crate::{EngineError, EngineResult, BLOCK};

const B: usize = BLOCK as usize;

/// An open device.
#[derive(Clone)]
pub struct DeviceIo {
    pool: Arc<PoolInner>,
    dev: Arc<Device>,
}

fn is_zero(block: &[u8]) -> bool {
    let (chunks, tail) = block.as_chunks::<16>();
    chunks.iter().all(|c| u128::from_ne_bytes(*c) == 0) && tail.iter().all(|&b| b == 0)
}

impl Pool {
    pub fn open_device(&self, name: &str) -> EngineResult<DeviceIo> {
        let dev = self.inner.device(name)?;
        Ok(DeviceIo {
            pool: self.inner.clone(),
            dev,
        })
    }
}

impl DeviceIo {
    /// The device's name now (a rename changes it under open handles).
    pub fn name(&self) -> String {
        self.dev.name()
    }

    fn live<'a>(&self, st: &'a DeviceState) -> EngineResult<&'a DeviceState> {
        if st.deleted {
            Err(EngineError::NoDevice(self.dev.name()))
        } else {
            Ok(st)
        }
    }

    fn check_range(&self, st: &DeviceState, offset: u64, len: u64) -> EngineResult<()> {
        match offset.checked_add(len) {
            Some(end) if end <= st.size => Ok(()),
            _ => Err(EngineError::Invalid(format!(
                "range {offset}+{len} is beyond the end of {} ({} bytes)",
                self.dev.name(),
                st.size
            ))),
        }
    }

    pub fn size(&self) -> EngineResult<u64> {
        let st = read(&self.dev.state);
        Ok(self.live(&st)?.size)
    }

    /// Reads whole blocks `first..first+entries.len()` into `out`
    /// (`entries.len() * BLOCK` bytes), verifying checksums.
    fn read_blocks(&self, first: u64, entries: &[Entry], out: &mut [u8]) -> EngineResult<()> {
        let mut i = 0;
        while i < entries.len() {
            let e = entries[i];
            if e.pblock == 0 {
                out[i * B..(i + 1) * B].fill(0);
                i += 1;
                continue;
            }
            // A run of physically contiguous blocks: one read.
            let mut j = i + 1;
            while j < entries.len() && entries[j].pblock == e.pblock + (j - i) as u64 {
                j += 1;
            }
            let buf = &mut out[i * B..j * B];
            self.pool
                .data
                .read_exact_at(buf, e.pblock * BLOCK)
                .map_err(|err| {
                    EngineError::io(
                        format!(
                            "{} at offset {}",
                            self.dev.name(),
                            (first + i as u64) * BLOCK
                        ),
                        err,
                    )
                })?;
            for k in i..j {
                let block = &out[k * B..(k + 1) * B];
                if crc32c::crc32c(block) != entries[k].crc {
                    return Err(EngineError::Checksum {
                        device: self.dev.name(),
                        offset: (first + k as u64) * BLOCK,
                        pblock: entries[k].pblock,
                    });
                }
            }
            i = j;
        }
        Ok(())
    }

    /// Reads with the device's read lock held until the bytes are verified,
    /// so an in-place overwrite (which holds the write lock) is never seen
    /// half done.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> EngineResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let _q = read(&self.pool.quiesce);
        let len = buf.len() as u64;
        let first = offset / BLOCK;
        let last = (offset + len - 1) / BLOCK;
        let st = read(&self.dev.state);
        let st = self.live(&st)?;
        self.check_range(st, offset, len)?;
        if offset.is_multiple_of(BLOCK) && len == BLOCK {
            // The common 4 KiB read: no allocation.
            let entry = st.tree.get(first).unwrap_or_default();
            return self.read_blocks(first, &[entry], buf);
        }
        let mut entries = Vec::with_capacity((last - first + 1) as usize);
        st.tree.get_range(first, last - first + 1, &mut entries);
        if offset.is_multiple_of(BLOCK) && len.is_multiple_of(BLOCK) {
            return self.read_blocks(first, &entries, buf);
        }
        let mut tmp = vec![0u8; entries.len() * B];
        self.read_blocks(first, &entries, &mut tmp)?;
        let skip = (offset - first * BLOCK) as usize;
        buf.copy_from_slice(&tmp[skip..skip + buf.len()]);
        Ok(())
    }

    /// Writes `data` (whole blocks) at physical blocks `pblocks` (0: skip),
    /// coalescing physically contiguous runs into one write each.
    fn write_physical(&self, first: u64, data: &[u8], pblocks: &[u64]) -> EngineResult<()> {
        let n = pblocks.len();
        let mut i = 0;
        while i < n {
            if pblocks[i] == 0 {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < n && pblocks[j] == pblocks[i] + (j - i) as u64 {
                j += 1;
            }
            self.pool
                .data
                .write_all_at(&data[i * B..j * B], pblocks[i] * BLOCK)
                .map_err(|e| {
                    EngineError::io(
                        format!(
                            "{} at offset {}",
                            self.dev.name(),
                            (first + i as u64) * BLOCK
                        ),
                        e,
                    )
                })?;
            i = j;
        }
        Ok(())
    }

    /// Writes whole blocks starting at block `first`. The caller holds the
    /// in-place gate; with `held`, also the device's write lock.
    ///
    /// A block whose current physical block is *fresh* (allocated since the
    /// last journal swap, so no durable metadata names it) is overwritten in
    /// place under the device's write lock. Every other block goes to a
    /// newly allocated block, written with no lock held; then the mapping
    /// is journaled and applied under the write lock.
    /// With `store_zeros`, zero blocks are stored rather than unmapped.
    fn write_blocks(
        &self,
        first: u64,
        data: &[u8],
        held: Option<&mut DeviceState>,
        store_zeros: bool,
    ) -> EngineResult<()> {
        let n = data.len() / B;
        let zero: Vec<bool> = data
            .chunks_exact(B)
            .map(|c| !store_zeros && is_zero(c))
            .collect();
        let crcs: Vec<u32> = data
            .chunks_exact(B)
            .zip(&zero)
            .map(|(c, &z)| if z { 0 } else { crc32c::crc32c(c) })
            .collect();

        // Current mapping, and which blocks may be overwritten in place.
        let mut current = Vec::with_capacity(n);
        match &held {
            Some(st) => st.tree.get_range(first, n as u64, &mut current),
            None => read(&self.dev.state)
                .tree
                .get_range(first, n as u64, &mut current),
        }
        let inplace: Vec<bool> = {
            let alloc = self.pool.refs.lock_alloc();
            (0..n)
                .map(|k| !zero[k] && current[k].pblock != 0 && alloc.is_fresh(current[k].pblock))
                .collect()
        };

        // New blocks for the rest, written before any lock is taken.
        let wanted = (0..n).filter(|&k| !zero[k] && !inplace[k]).count() as u64;
        let runs = if wanted > 0 {
            self.pool.refs.lock_alloc().allocate(wanted)
        } else {
            Vec::new()
        };
        let mut fresh_blocks = vec![0u64; n];
        {
            let mut it = runs.iter().flat_map(|r: &Run| r.start..r.start + r.len);
            for k in 0..n {
                if !zero[k] && !inplace[k] {
                    fresh_blocks[k] = it.next().unwrap_or(0);
                }
            }
        }
        if let Err(e) = self.write_physical(first, data, &fresh_blocks) {
            self.pool.refs.bury(fresh_blocks.iter().copied());
            return Err(e);
        }

        let apply = |st: &mut DeviceState| -> EngineResult<()> {
            if st.deleted {
                return Err(EngineError::NoDevice(self.dev.name()));
            }
            let mut pblocks = fresh_blocks.clone();
            let mut in_place = vec![0u64; n];
            for k in 0..n {
                if inplace[k] {
                    // Another writer may have remapped the block meanwhile:
                    // then this one gets a new block like any other.
                    let now = st.tree.get(first + k as u64).map(|e| e.pblock).unwrap_or(0);
                    if now == current[k].pblock {
                        in_place[k] = now;
                        pblocks[k] = now;
                    }
                }
            }
            let late: Vec<usize> = (0..n).filter(|&k| inplace[k] && in_place[k] == 0).collect();
            if !late.is_empty() {
                let runs = self.pool.refs.lock_alloc().allocate(late.len() as u64);
                let mut it = runs.iter().flat_map(|r: &Run| r.start..r.start + r.len);
                let mut late_blocks = vec![0u64; n];
                for &k in &late {
                    late_blocks[k] = it.next().unwrap_or(0);
                    pblocks[k] = late_blocks[k];
                }
                self.write_physical(first, data, &late_blocks)?;
            }
            self.write_physical(first, data, &in_place)?;
            // The mapping: journal, then memory.
            let mut records = Vec::new();
            let dev = self.dev.id;
            let mut i = 0;
            while i < n {
                let mut j = i + 1;
                if pblocks[i] == 0 {
                    while j < n && pblocks[j] == 0 {
                        j += 1;
                    }
                    records.push(Record::Unmap {
                        dev,
                        vblock: first + i as u64,
                        count: (j - i) as u64,
                    });
                } else {
                    while j < n && pblocks[j] == pblocks[i] + (j - i) as u64 {
                        j += 1;
                    }
                    records.push(Record::Map {
                        dev,
                        vblock: first + i as u64,
                        pblock: pblocks[i],
                        crcs: crcs[i..j].to_vec(),
                    });
                }
                i = j;
            }
            self.pool.append(&records)?;
            let mut dead = Vec::new();
            for (k, &p) in pblocks.iter().enumerate() {
                if p != 0 {
                    if let Some(old) = st.tree.set(
                        first + k as u64,
                        Entry {
                            pblock: p,
                            crc: crcs[k],
                        },
                        &self.pool.refs,
                    ) {
                        if old != p {
                            dead.push(old);
                        }
                    }
                }
            }
            for r in &records {
                if let Record::Unmap { vblock, count, .. } = r {
                    st.tree.unmap_range(*vblock, *count, &mut dead);
                }
            }
            self.pool.refs.bury(dead.into_iter());
            Ok(())
        };
        let result = match held {
            Some(st) => apply(st),
            None => apply(&mut write(&self.dev.state)),
        };
        if result.is_err() {
            self.pool.refs.bury(fresh_blocks.iter().copied());
        }
        result
    }

    fn check_writable(&self, st: &DeviceState) -> EngineResult<()> {
        if st.readonly {
            return Err(EngineError::Invalid(format!(
                "{} is read-only",
                self.dev.name()
            )));
        }
        Ok(())
    }

    pub fn write_at(&self, buf: &[u8], offset: u64) -> EngineResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let _q = read(&self.pool.quiesce);
        let _gate = read(&self.pool.inplace_gate);
        self.write_at_gated(buf, offset)
    }

    /// [`DeviceIo::write_at`] for a caller that holds the quiesce lock and
    /// the in-place gate (read), so that no commit's buffer swap falls in
    /// the middle of its operation.
    fn write_at_gated(&self, buf: &[u8], offset: u64) -> EngineResult<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let len = buf.len() as u64;
        if offset.is_multiple_of(BLOCK) && len.is_multiple_of(BLOCK) {
            {
                let st = read(&self.dev.state);
                let st = self.live(&st)?;
                self.check_writable(st)?;
                self.check_range(st, offset, len)?;
            }
            return self.write_blocks(offset / BLOCK, buf, None, false);
        }
        // Read-modify-write of the covering blocks, under the write lock.
        let first = offset / BLOCK;
        let last = (offset + len - 1) / BLOCK;
        let mut st = write(&self.dev.state);
        self.live(&st)?;
        self.check_writable(&st)?;
        self.check_range(&st, offset, len)?;
        let mut entries = Vec::new();
        st.tree.get_range(first, last - first + 1, &mut entries);
        let mut tmp = vec![0u8; entries.len() * B];
        // Only the partial edge blocks need their old content.
        let edge = |k: usize| k == 0 || k == entries.len() - 1;
        for k in 0..entries.len() {
            if edge(k) {
                self.read_blocks(
                    first + k as u64,
                    &entries[k..k + 1],
                    &mut tmp[k * B..(k + 1) * B],
                )?;
            }
        }
        let skip = (offset - first * BLOCK) as usize;
        tmp[skip..skip + buf.len()].copy_from_slice(buf);
        self.write_blocks(first, &tmp, Some(&mut st), false)
    }

    /// Makes `offset..offset+len` read as zeros, freeing whole blocks.
    ///
    /// The edge writes and the unmap are one operation for crash
    /// consistency: the quiesce lock and the in-place gate are held across
    /// all of them, so no commit (which swaps the journal buffer under the
    /// gate) can make the edges durable without the unmap, or the reverse.
    pub fn write_zeroes(&self, offset: u64, len: u64) -> EngineResult<()> {
        if len == 0 {
            return Ok(());
        }
        let _q = read(&self.pool.quiesce);
        let _gate = read(&self.pool.inplace_gate);
        {
            let st = read(&self.dev.state);
            let st = self.live(&st)?;
            self.check_writable(st)?;
            self.check_range(st, offset, len)?;
        }
        let end = offset + len;
        let first_full = offset.div_ceil(BLOCK);
        let end_full = end / BLOCK;
        if first_full >= end_full {
            return self.write_at_gated(&vec![0u8; len as usize], offset);
        }
        if offset < first_full * BLOCK {
            self.write_at_gated(&vec![0u8; (first_full * BLOCK - offset) as usize], offset)?;
        }
        if end > end_full * BLOCK {
            self.write_at_gated(
                &vec![0u8; (end - end_full * BLOCK) as usize],
                end_full * BLOCK,
            )?;
        }
        let mut st = write(&self.dev.state);
        self.live(&st)?;
        self.pool.append(&[Record::Unmap {
            dev: self.dev.id,
            vblock: first_full,
            count: end_full - first_full,
        }])?;
        let mut dead = Vec::new();
        st.tree
            .unmap_range(first_full, end_full - first_full, &mut dead);
        self.pool.refs.bury(dead.into_iter());
        Ok(())
    }

    pub fn flush(&self) -> EngineResult<()> {
        self.pool.commit()
    }

    /// Zeros that stay allocated: whole blocks of zeros are stored, not
    /// unmapped (NBD's NO_HOLE).
    pub fn write_zeroes_allocated(&self, offset: u64, len: u64) -> EngineResult<()> {
        let end = offset + len;
        let first_full = offset.div_ceil(BLOCK);
        let end_full = end / BLOCK;
        if first_full >= end_full {
            return self.write_at(&vec![0u8; len as usize], offset);
        }
        if offset < first_full * BLOCK {
            self.write_at(&vec![0u8; (first_full * BLOCK - offset) as usize], offset)?;
        }
        if end > end_full * BLOCK {
            self.write_at(
                &vec![0u8; (end - end_full * BLOCK) as usize],
                end_full * BLOCK,
            )?;
        }
        const CHUNK: u64 = 256;
        let zeros = vec![0u8; (CHUNK * BLOCK) as usize];
        let mut b = first_full;
        while b < end_full {
            let n = CHUNK.min(end_full - b);
            let _q = read(&self.pool.quiesce);
            let _gate = read(&self.pool.inplace_gate);
            {
                let st = read(&self.dev.state);
                let st = self.live(&st)?;
                self.check_writable(st)?;
                self.check_range(st, b * BLOCK, n * BLOCK)?;
            }
            self.write_blocks(b, &zeros[..(n * BLOCK) as usize], None, true)?;
            b += n;
        }
        Ok(())
    }

    /// Whether each block of `offset..offset+len` is allocated (for NBD
    /// block status): runs of `(length, allocated)`.
    pub fn allocation(&self, offset: u64, len: u64) -> EngineResult<Vec<(u64, bool)>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let first = offset / BLOCK;
        let last = (offset + len - 1) / BLOCK;
        let mut entries = Vec::new();
        {
            let st = read(&self.dev.state);
            let st = self.live(&st)?;
            self.check_range(st, offset, len)?;
            st.tree.get_range(first, last - first + 1, &mut entries);
        }
        let mut out: Vec<(u64, bool)> = Vec::new();
        let mut pos = offset;
        for (k, e) in entries.iter().enumerate() {
            let block_end = ((first + k as u64 + 1) * BLOCK).min(offset + len);
            let piece = block_end - pos;
            let mapped = e.pblock != 0;
            match out.last_mut() {
                Some((l, m)) if *m == mapped => *l += piece,
                _ => out.push((piece, mapped)),
            }
            pos = block_end;
        }
        Ok(out)
    }
}

pub(crate) fn engine_to_backend(e: EngineError) -> BackendError {
    match e {
        EngineError::NoDevice(d) => BackendError::VolumeNotFound(d),
        EngineError::Invalid(m) | EngineError::Exists(m) => BackendError::Invalid(m),
        EngineError::Checksum { device, offset, .. } => BackendError::Checksum {
            object: device,
            offset,
        },
        EngineError::Io { what, source } => BackendError::Io { what, source },
    }
}

impl VolumeIo for DeviceIo {
    fn size(&self) -> BackendResult<u64> {
        DeviceIo::size(self).map_err(engine_to_backend)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> BackendResult<()> {
        DeviceIo::read_at(self, buf, offset).map_err(engine_to_backend)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> BackendResult<()> {
        DeviceIo::write_at(self, buf, offset).map_err(engine_to_backend)
    }
    fn write_zeroes(&self, offset: u64, len: u64) -> BackendResult<()> {
        DeviceIo::write_zeroes(self, offset, len).map_err(engine_to_backend)
    }
    fn trim(&self, offset: u64, len: u64) -> BackendResult<()> {
        DeviceIo::write_zeroes(self, offset, len).map_err(engine_to_backend)
    }
    fn flush(&self) -> BackendResult<()> {
        DeviceIo::flush(self).map_err(engine_to_backend)
    }
    fn allocation(&self, offset: u64, len: u64) -> BackendResult<Vec<(u64, bool)>> {
        DeviceIo::allocation(self, offset, len).map_err(engine_to_backend)
    }
    fn write_zeroes_allocated(&self, offset: u64, len: u64) -> BackendResult<()> {
        DeviceIo::write_zeroes_allocated(self, offset, len).map_err(engine_to_backend)
    }
}
