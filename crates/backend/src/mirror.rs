//! A volume and its replica as one device: what the data path serves for a
//! replicated volume while its replica is in sync. Reads come from the
//! primary; every write, zeroing, trim and flush goes to both, and is
//! acknowledged only when both did it, so an acknowledged write is never
//! on one copy only. A replica that fails a write fails the request: the
//! copies never silently diverge.

use std::sync::Arc;

use crate::{BackendResult, VolumeIo};

pub struct Mirror {
    primary: Arc<dyn VolumeIo>,
    replica: Arc<dyn VolumeIo>,
}

impl Mirror {
    pub fn new(primary: Arc<dyn VolumeIo>, replica: Arc<dyn VolumeIo>) -> Mirror {
        Mirror { primary, replica }
    }
}

impl VolumeIo for Mirror {
    fn size(&self) -> BackendResult<u64> {
        self.primary.size()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> BackendResult<()> {
        self.primary.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> BackendResult<()> {
        self.primary.write_at(buf, offset)?;
        self.replica.write_at(buf, offset)
    }

    fn write_zeroes(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.primary.write_zeroes(offset, len)?;
        self.replica.write_zeroes(offset, len)
    }

    fn trim(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.primary.trim(offset, len)?;
        self.replica.trim(offset, len)
    }

    fn flush(&self) -> BackendResult<()> {
        self.primary.flush()?;
        self.replica.flush()
    }

    fn allocation(&self, offset: u64, len: u64) -> BackendResult<Vec<(u64, bool)>> {
        self.primary.allocation(offset, len)
    }

    fn write_zeroes_allocated(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.primary.write_zeroes_allocated(offset, len)?;
        self.replica.write_zeroes_allocated(offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryBackend, StorageBackend};

    #[test]
    fn writes_reach_both_copies_and_reads_come_from_the_primary() {
        let a = MemoryBackend::new();
        let b = MemoryBackend::new();
        a.create_volume("v", 1 << 20).unwrap();
        b.create_volume("v", 1 << 20).unwrap();
        let (pa, pb) = (a.open_volume("v").unwrap(), b.open_volume("v").unwrap());
        let m = Mirror::new(pa.clone(), pb.clone());
        m.write_at(&[7u8; 4096], 8192).unwrap();
        m.write_zeroes(8192, 512).unwrap();
        m.flush().unwrap();
        for io in [&pa, &pb] {
            let mut buf = vec![0u8; 4096];
            io.read_at(&mut buf, 8192).unwrap();
            assert!(buf[..512].iter().all(|&x| x == 0));
            assert!(buf[512..].iter().all(|&x| x == 7));
        }
        // Only the primary is read.
        pb.write_at(&[9u8; 16], 0).unwrap();
        let mut buf = [1u8; 16];
        m.read_at(&mut buf, 0).unwrap();
        assert_eq!(buf, [0u8; 16]);
    }

    #[test]
    fn a_replica_that_cannot_write_fails_the_write() {
        let a = MemoryBackend::new();
        let b = MemoryBackend::new();
        a.create_volume("v", 1 << 20).unwrap();
        b.create_volume("v", 4096).unwrap();
        let m = Mirror::new(a.open_volume("v").unwrap(), b.open_volume("v").unwrap());
        assert!(m.write_at(&[1u8; 4096], 65536).is_err());
    }
}
