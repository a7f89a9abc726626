//! The first, simple local backend: one sparse file per volume and per
//! snapshot. Snapshots and clones are full (sparse-aware) copies, so they cost
//! time proportional to the data written; the block engine replaces this.
//!
//! Layout under the root: `volumes/<id>.img`, `snapshots/<id>.img`. New files
//! are built under a `.tmp` name, synced, and renamed into place, so a crash
//! never leaves a half-built volume under its real name.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::{
    check_id, BackendError, BackendResult, Capabilities, DeviceInfo, PoolStats, StorageBackend,
    VolumeIo,
};

const COPY_CHUNK: usize = 1 << 20;

pub struct SparseFileBackend {
    root: PathBuf,
    /// Per-volume lock: I/O takes it shared, snapshot/clone/extend exclusive,
    /// so a snapshot is a consistent point in time.
    locks: Mutex<HashMap<String, Arc<RwLock<()>>>>,
    /// Serialises renames, so checking the target and renaming is one step.
    renames: Mutex<()>,
}

impl SparseFileBackend {
    pub fn open(root: impl Into<PathBuf>) -> BackendResult<Self> {
        let root = root.into();
        for dir in ["volumes", "snapshots"] {
            let path = root.join(dir);
            fs::create_dir_all(&path)
                .map_err(|e| BackendError::io(path.display().to_string(), e))?;
            // Leftovers of a build a crash interrupted.
            if let Ok(entries) = fs::read_dir(&path) {
                for entry in entries.flatten() {
                    if entry.path().extension().is_some_and(|e| e == "tmp") {
                        let _ = fs::remove_file(entry.path());
                    }
                }
            }
        }
        Ok(SparseFileBackend {
            root,
            locks: Mutex::new(HashMap::new()),
            renames: Mutex::new(()),
        })
    }

    fn volume_path(&self, id: &str) -> BackendResult<PathBuf> {
        check_id(id)?;
        Ok(self.root.join("volumes").join(format!("{id}.img")))
    }

    fn snapshot_path(&self, id: &str) -> BackendResult<PathBuf> {
        check_id(id)?;
        Ok(self.root.join("snapshots").join(format!("{id}.img")))
    }

    /// The `<id>.img` files of `dir` (`volumes` or `snapshots`), sorted.
    fn list(&self, dir: &str) -> BackendResult<Vec<DeviceInfo>> {
        let path = self.root.join(dir);
        let entries =
            fs::read_dir(&path).map_err(|e| BackendError::io(path.display().to_string(), e))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".img")) else {
                continue;
            };
            if check_id(id).is_err() {
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| BackendError::io(entry.path().display().to_string(), e))?;
            out.push(DeviceInfo {
                id: id.to_string(),
                size: meta.len(),
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Renames `from` to `to` (paths of one directory): atomic, never over
    /// an existing file, idempotent; `missing` when neither exists.
    fn rename(&self, from: &Path, to: &Path, missing: BackendError) -> BackendResult<()> {
        let _guard = self.renames.lock().unwrap_or_else(|p| p.into_inner());
        match (from.exists(), to.exists()) {
            (true, false) => {}
            (false, true) => return Ok(()),
            (true, true) if from == to => return Ok(()),
            (true, true) => {
                return Err(BackendError::Invalid(format!(
                    "cannot rename {} to {}: the target exists",
                    from.display(),
                    to.display()
                )))
            }
            (false, false) => return Err(missing),
        }
        rename_noreplace(from, to).map_err(|e| BackendError::io(to.display().to_string(), e))?;
        sync_dir(to)
    }

    fn lock_for(&self, volume_id: &str) -> Arc<RwLock<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(volume_id.to_string()).or_default().clone()
    }

    /// Builds `dest` from `source` (or empty if `None`) at `size`, atomically.
    fn build_file(&self, source: Option<&Path>, dest: &Path, size: u64) -> BackendResult<()> {
        if dest.exists() {
            return Ok(());
        }
        let tmp = dest.with_extension("img.tmp");
        let out = File::create(&tmp).map_err(|e| BackendError::io(tmp.display().to_string(), e))?;
        if let Some(source) = source {
            let input = File::open(source)
                .map_err(|e| BackendError::io(source.display().to_string(), e))?;
            sparse_copy(&input, &out)
                .map_err(|e| BackendError::io(source.display().to_string(), e))?;
        }
        let current = out
            .metadata()
            .map_err(|e| BackendError::io(tmp.display().to_string(), e))?
            .len();
        if size > current {
            out.set_len(size)
                .map_err(|e| BackendError::io(tmp.display().to_string(), e))?;
        }
        out.sync_all()
            .map_err(|e| BackendError::io(tmp.display().to_string(), e))?;
        fs::rename(&tmp, dest).map_err(|e| BackendError::io(dest.display().to_string(), e))?;
        sync_dir(dest)
    }
}

fn sync_dir(path: &Path) -> BackendResult<()> {
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| BackendError::io(dir.display().to_string(), e))?;
    }
    Ok(())
}

/// `rename(2)` that refuses to replace an existing target (Linux's
/// `RENAME_NOREPLACE`); where the filesystem lacks it, a plain rename after
/// the caller's check (renames are serialised, ids are never reused).
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::new(ErrorKind::InvalidInput, "path contains NUL"))
    };
    let (cf, ct) = (c(from)?, c(to)?);
    // SAFETY: renameat2 with two valid C strings relative to the cwd.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            cf.as_ptr(),
            libc::AT_FDCWD,
            ct.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) => fs::rename(from, to),
        _ => Err(err),
    }
}

fn remove_if_exists(path: &Path) -> BackendResult<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackendError::io(path.display().to_string(), e)),
    }
}

/// Finds the next data extent at or after `offset`: `(start, end)`.
fn next_data(file: &File, offset: u64, len: u64) -> std::io::Result<Option<(u64, u64)>> {
    if offset >= len {
        return Ok(None);
    }
    let fd = file.as_raw_fd();
    // SAFETY: lseek on a valid, open descriptor with plain integer arguments.
    let start = unsafe { libc::lseek(fd, offset as libc::off_t, libc::SEEK_DATA) };
    if start < 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            // Filesystems without SEEK_DATA: treat everything as data.
            Some(libc::EINVAL) => Ok(Some((offset, len))),
            _ => Err(err),
        };
    }
    // SAFETY: as above.
    let end = unsafe { libc::lseek(fd, start, libc::SEEK_HOLE) };
    if end < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Some((start as u64, (end as u64).min(len))))
}

/// Copies `input` to `out` (same size), leaving holes where the input has
/// holes or all-zero chunks.
fn sparse_copy(input: &File, out: &File) -> std::io::Result<()> {
    let len = input.metadata()?.len();
    out.set_len(len)?;
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut offset = 0;
    while let Some((start, end)) = next_data(input, offset, len)? {
        let mut pos = start;
        while pos < end {
            let n = ((end - pos) as usize).min(COPY_CHUNK);
            input.read_exact_at(&mut buf[..n], pos)?;
            if buf[..n].iter().any(|&b| b != 0) {
                out.write_all_at(&buf[..n], pos)?;
            }
            pos += n as u64;
        }
        offset = end;
    }
    Ok(())
}

impl StorageBackend for SparseFileBackend {
    fn name(&self) -> &'static str {
        "sparse-file"
    }

    /// Snapshots and clones are copies: not instant.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            thin_provisioning: true,
            instant_snapshots: false,
            rollback: true,
            clone: true,
            consistent_group_snapshots: true,
        }
    }

    fn create_volume(&self, volume_id: &str, size: u64) -> BackendResult<()> {
        let dest = self.volume_path(volume_id)?;
        self.build_file(None, &dest, size)
    }

    fn clone_from_snapshot(
        &self,
        snapshot_id: &str,
        volume_id: &str,
        size: u64,
    ) -> BackendResult<()> {
        let src = self.snapshot_path(snapshot_id)?;
        let dest = self.volume_path(volume_id)?;
        if dest.exists() {
            return Ok(());
        }
        if !src.exists() {
            return Err(BackendError::SnapshotNotFound(snapshot_id.to_string()));
        }
        self.build_file(Some(&src), &dest, size)
    }

    fn clone_from_volume(&self, source_id: &str, volume_id: &str, size: u64) -> BackendResult<()> {
        let src = self.volume_path(source_id)?;
        let dest = self.volume_path(volume_id)?;
        if dest.exists() {
            return Ok(());
        }
        if !src.exists() {
            return Err(BackendError::VolumeNotFound(source_id.to_string()));
        }
        let lock = self.lock_for(source_id);
        let _guard = lock.write().unwrap_or_else(|p| p.into_inner());
        self.build_file(Some(&src), &dest, size)
    }

    fn delete_volume(&self, volume_id: &str) -> BackendResult<()> {
        let path = self.volume_path(volume_id)?;
        let lock = self.lock_for(volume_id);
        let _guard = lock.write().unwrap_or_else(|p| p.into_inner());
        remove_if_exists(&path)
    }

    fn create_snapshot(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let src = self.volume_path(volume_id)?;
        let dest = self.snapshot_path(snapshot_id)?;
        if dest.exists() {
            return Ok(());
        }
        if !src.exists() {
            return Err(BackendError::VolumeNotFound(volume_id.to_string()));
        }
        let lock = self.lock_for(volume_id);
        let _guard = lock.write().unwrap_or_else(|p| p.into_inner());
        self.build_file(Some(&src), &dest, 0)
    }

    fn delete_snapshot(&self, snapshot_id: &str) -> BackendResult<()> {
        remove_if_exists(&self.snapshot_path(snapshot_id)?)
    }

    /// Takes every member's lock exclusively (in id order: I/O takes them
    /// shared), then copies each: no write runs on any member meanwhile.
    fn create_group_snapshot(&self, members: &[(String, String)]) -> BackendResult<()> {
        let mut paths = Vec::with_capacity(members.len());
        for (volume_id, snapshot_id) in members {
            let src = self.volume_path(volume_id)?;
            if !src.exists() {
                return Err(BackendError::VolumeNotFound(volume_id.clone()));
            }
            paths.push((src, self.snapshot_path(snapshot_id)?));
        }
        if paths.iter().all(|(_, dest)| dest.exists()) {
            return Ok(());
        }
        let mut ids: Vec<&str> = members.iter().map(|(v, _)| v.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let locks: Vec<_> = ids.iter().map(|id| self.lock_for(id)).collect();
        let _guards: Vec<_> = locks
            .iter()
            .map(|l| l.write().unwrap_or_else(|p| p.into_inner()))
            .collect();
        // A partial set (a crash in the middle) is taken again, whole.
        for (_, dest) in &paths {
            remove_if_exists(dest)?;
        }
        for (src, dest) in &paths {
            self.build_file(Some(src), dest, 0)?;
        }
        Ok(())
    }

    fn rollback_volume(&self, volume_id: &str, snapshot_id: &str) -> BackendResult<()> {
        let src = self.snapshot_path(snapshot_id)?;
        let dest = self.volume_path(volume_id)?;
        if !src.exists() {
            return Err(BackendError::SnapshotNotFound(snapshot_id.to_string()));
        }
        let lock = self.lock_for(volume_id);
        let _guard = lock.write().unwrap_or_else(|p| p.into_inner());
        // Rewritten in place, so handles already open on the volume see the
        // rolled-back content. A crash midway leaves a mix; the rollback job
        // re-runs this step until it completes.
        let what = dest.display().to_string();
        let out = OpenOptions::new()
            .write(true)
            .open(&dest)
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => BackendError::VolumeNotFound(volume_id.to_string()),
                _ => BackendError::io(what.clone(), e),
            })?;
        let size = out
            .metadata()
            .map_err(|e| BackendError::io(what.clone(), e))?
            .len();
        let input = File::open(&src).map_err(|e| BackendError::io(src.display().to_string(), e))?;
        out.set_len(0)
            .and_then(|_| sparse_copy(&input, &out))
            .and_then(|_| out.set_len(size.max(out.metadata()?.len())))
            .and_then(|_| out.sync_all())
            .map_err(|e| BackendError::io(what, e))
    }

    fn extend_volume(&self, volume_id: &str, new_size: u64) -> BackendResult<()> {
        let path = self.volume_path(volume_id)?;
        let lock = self.lock_for(volume_id);
        let _guard = lock.write().unwrap_or_else(|p| p.into_inner());
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => BackendError::VolumeNotFound(volume_id.to_string()),
                _ => BackendError::io(path.display().to_string(), e),
            })?;
        let current = file
            .metadata()
            .map_err(|e| BackendError::io(path.display().to_string(), e))?
            .len();
        if new_size < current {
            return Err(BackendError::Invalid(format!(
                "cannot shrink volume {volume_id} from {current} to {new_size} bytes"
            )));
        }
        if new_size > current {
            file.set_len(new_size)
                .and_then(|_| file.sync_all())
                .map_err(|e| BackendError::io(path.display().to_string(), e))?;
        }
        Ok(())
    }

    fn volume_exists(&self, volume_id: &str) -> BackendResult<bool> {
        Ok(self.volume_path(volume_id)?.exists())
    }

    fn open_volume(&self, volume_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let path = self.volume_path(volume_id)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => BackendError::VolumeNotFound(volume_id.to_string()),
                _ => BackendError::io(path.display().to_string(), e),
            })?;
        Ok(Arc::new(SparseFileIo {
            file,
            name: path.display().to_string(),
            lock: self.lock_for(volume_id),
            writable: true,
        }))
    }

    fn open_snapshot(&self, snapshot_id: &str) -> BackendResult<Arc<dyn VolumeIo>> {
        let path = self.snapshot_path(snapshot_id)?;
        let file = File::open(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => BackendError::SnapshotNotFound(snapshot_id.to_string()),
            _ => BackendError::io(path.display().to_string(), e),
        })?;
        Ok(Arc::new(SparseFileIo {
            file,
            name: path.display().to_string(),
            lock: Arc::new(RwLock::new(())),
            writable: false,
        }))
    }

    fn pool_stats(&self) -> BackendResult<PoolStats> {
        let mut stats = PoolStats::default();
        for dir in ["volumes", "snapshots"] {
            let path = self.root.join(dir);
            let entries =
                fs::read_dir(&path).map_err(|e| BackendError::io(path.display().to_string(), e))?;
            for entry in entries.flatten() {
                if let Ok(meta) = entry.metadata() {
                    stats.allocated_bytes += meta.blocks() * 512;
                    if dir == "volumes" {
                        stats.provisioned_bytes += meta.len();
                    }
                }
            }
        }
        let (total, free) = crate::fs_capacity(&self.root)?;
        stats.total_bytes = total;
        stats.free_bytes = free;
        Ok(stats)
    }

    fn list_volumes(&self) -> BackendResult<Vec<DeviceInfo>> {
        self.list("volumes")
    }

    fn list_snapshots(&self) -> BackendResult<Vec<DeviceInfo>> {
        self.list("snapshots")
    }

    fn rename_volume(&self, from: &str, to: &str) -> BackendResult<()> {
        let (src, dest) = (self.volume_path(from)?, self.volume_path(to)?);
        self.rename(&src, &dest, BackendError::VolumeNotFound(from.to_string()))
    }

    fn rename_snapshot(&self, from: &str, to: &str) -> BackendResult<()> {
        let (src, dest) = (self.snapshot_path(from)?, self.snapshot_path(to)?);
        self.rename(
            &src,
            &dest,
            BackendError::SnapshotNotFound(from.to_string()),
        )
    }
}

struct SparseFileIo {
    file: File,
    name: String,
    lock: Arc<RwLock<()>>,
    writable: bool,
}

impl SparseFileIo {
    fn check_range(&self, offset: u64, len: u64) -> BackendResult<()> {
        let size = self.size()?;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(BackendError::Invalid(format!(
                "range {offset}+{len} is beyond the end of {} ({size} bytes)",
                self.name
            )));
        }
        Ok(())
    }

    fn check_writable(&self) -> BackendResult<()> {
        if self.writable {
            Ok(())
        } else {
            Err(BackendError::Invalid(format!("{} is read-only", self.name)))
        }
    }

    fn punch_hole(&self, offset: u64, len: u64) -> BackendResult<()> {
        // SAFETY: fallocate on a valid descriptor with plain integer arguments.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset as libc::off_t,
                len as libc::off_t,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        // No hole punching here: write zeros instead.
        let zeros = vec![0u8; COPY_CHUNK];
        let mut pos = offset;
        let end = offset + len;
        while pos < end {
            let n = ((end - pos) as usize).min(COPY_CHUNK);
            self.file
                .write_all_at(&zeros[..n], pos)
                .map_err(|e| BackendError::io(self.name.clone(), e))?;
            pos += n as u64;
        }
        Ok(())
    }
}

impl VolumeIo for SparseFileIo {
    fn size(&self) -> BackendResult<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| BackendError::io(self.name.clone(), e))?
            .len())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> BackendResult<()> {
        let _guard = self.lock.read().unwrap_or_else(|p| p.into_inner());
        self.check_range(offset, buf.len() as u64)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| BackendError::io(self.name.clone(), e))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> BackendResult<()> {
        self.check_writable()?;
        let _guard = self.lock.read().unwrap_or_else(|p| p.into_inner());
        self.check_range(offset, buf.len() as u64)?;
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| BackendError::io(self.name.clone(), e))
    }

    fn write_zeroes(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.trim(offset, len)
    }

    fn trim(&self, offset: u64, len: u64) -> BackendResult<()> {
        self.check_writable()?;
        let _guard = self.lock.read().unwrap_or_else(|p| p.into_inner());
        self.check_range(offset, len)?;
        self.punch_hole(offset, len)
    }

    fn flush(&self) -> BackendResult<()> {
        self.file
            .sync_data()
            .map_err(|e| BackendError::io(self.name.clone(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn backend() -> (tempfile::TempDir, SparseFileBackend) {
        let dir = tempfile::tempdir().unwrap();
        let b = SparseFileBackend::open(dir.path()).unwrap();
        (dir, b)
    }

    fn read(io: &dyn VolumeIo, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        io.read_at(&mut buf, offset).unwrap();
        buf
    }

    #[test]
    fn new_volume_is_sparse_and_reads_zeros() {
        let (_d, b) = backend();
        b.create_volume("v1", 1 << 30).unwrap();
        let io = b.open_volume("v1").unwrap();
        assert_eq!(io.size().unwrap(), 1 << 30);
        assert_eq!(read(&*io, 512 * MIB, 4096), vec![0u8; 4096]);
        assert!(b.pool_stats().unwrap().allocated_bytes < MIB);
        // Idempotent create keeps the data.
        io.write_at(b"hello", 0).unwrap();
        b.create_volume("v1", 1 << 30).unwrap();
        assert_eq!(read(&*io, 0, 5), b"hello");
    }

    #[test]
    fn snapshot_and_clones_hold_exactly_the_source_bytes() {
        let (_d, b) = backend();
        b.create_volume("v1", 8 * MIB).unwrap();
        let io = b.open_volume("v1").unwrap();
        io.write_at(&[7u8; 4096], 3 * MIB).unwrap();
        b.create_snapshot("v1", "s1").unwrap();
        io.write_at(&[9u8; 4096], 3 * MIB).unwrap();

        b.clone_from_snapshot("s1", "v2", 16 * MIB).unwrap();
        let v2 = b.open_volume("v2").unwrap();
        assert_eq!(v2.size().unwrap(), 16 * MIB);
        assert_eq!(read(&*v2, 3 * MIB, 4096), vec![7u8; 4096]);
        assert_eq!(read(&*v2, 12 * MIB, 4096), vec![0u8; 4096]);

        b.clone_from_volume("v1", "v3", 8 * MIB).unwrap();
        assert_eq!(
            read(&*b.open_volume("v3").unwrap(), 3 * MIB, 4096),
            vec![9u8; 4096]
        );

        let snap = b.open_snapshot("s1").unwrap();
        assert!(snap.write_at(b"x", 0).is_err(), "snapshots are immutable");

        b.rollback_volume("v1", "s1").unwrap();
        assert_eq!(
            read(&*b.open_volume("v1").unwrap(), 3 * MIB, 4096),
            vec![7u8; 4096]
        );
    }

    #[test]
    fn a_group_snapshot_is_one_instant_and_retakes_a_partial_set() {
        let (_d, b) = backend();
        for v in ["v1", "v2"] {
            b.create_volume(v, MIB).unwrap();
            b.open_volume(v).unwrap().write_at(b"AAAA", 0).unwrap();
        }
        let members = vec![
            ("v1".to_string(), "s1".to_string()),
            ("v2".to_string(), "s2".to_string()),
        ];
        // A partial set left by a crash: s1 from a later instant.
        b.open_volume("v1").unwrap().write_at(b"BBBB", 0).unwrap();
        b.create_snapshot("v1", "s1").unwrap();
        b.open_volume("v1").unwrap().write_at(b"AAAA", 0).unwrap();
        b.create_group_snapshot(&members).unwrap();
        for s in ["s1", "s2"] {
            assert_eq!(read(&*b.open_snapshot(s).unwrap(), 0, 4), b"AAAA");
        }
        // Whole sets are left alone.
        b.open_volume("v2").unwrap().write_at(b"CCCC", 0).unwrap();
        b.create_group_snapshot(&members).unwrap();
        assert_eq!(read(&*b.open_snapshot("s2").unwrap(), 0, 4), b"AAAA");
        assert!(matches!(
            b.create_group_snapshot(&[("v9".to_string(), "s9".to_string())]),
            Err(BackendError::VolumeNotFound(_))
        ));
    }

    #[test]
    fn extend_keeps_data_and_refuses_shrink() {
        let (_d, b) = backend();
        b.create_volume("v1", MIB).unwrap();
        b.open_volume("v1").unwrap().write_at(b"keep", 100).unwrap();
        b.extend_volume("v1", 4 * MIB).unwrap();
        b.extend_volume("v1", 4 * MIB).unwrap();
        let io = b.open_volume("v1").unwrap();
        assert_eq!(io.size().unwrap(), 4 * MIB);
        assert_eq!(read(&*io, 100, 4), b"keep");
        assert!(matches!(
            b.extend_volume("v1", MIB),
            Err(BackendError::Invalid(_))
        ));
    }

    #[test]
    fn delete_frees_space_and_is_idempotent() {
        let (_d, b) = backend();
        b.create_volume("v1", 4 * MIB).unwrap();
        b.open_volume("v1")
            .unwrap()
            .write_at(&[1u8; MIB as usize], 0)
            .unwrap();
        assert!(b.pool_stats().unwrap().allocated_bytes >= MIB);
        b.delete_volume("v1").unwrap();
        b.delete_volume("v1").unwrap();
        assert!(!b.volume_exists("v1").unwrap());
        assert_eq!(b.pool_stats().unwrap().allocated_bytes, 0);
        assert!(matches!(
            b.open_volume("v1"),
            Err(BackendError::VolumeNotFound(_))
        ));
    }

    #[test]
    fn trim_reads_back_zeros_and_io_past_end_fails() {
        let (_d, b) = backend();
        b.create_volume("v1", MIB).unwrap();
        let io = b.open_volume("v1").unwrap();
        io.write_at(&[5u8; 8192], 0).unwrap();
        io.trim(0, 4096).unwrap();
        assert_eq!(read(&*io, 0, 4096), vec![0u8; 4096]);
        assert_eq!(read(&*io, 4096, 4096), vec![5u8; 4096]);
        assert!(io.write_at(b"x", MIB).is_err());
        let mut buf = [0u8; 2];
        assert!(io.read_at(&mut buf, MIB - 1).is_err());
    }

    #[test]
    fn devices_are_listed_with_their_sizes_and_leftovers_are_not() {
        let (d, b) = backend();
        b.create_volume("v2", 2 * MIB).unwrap();
        b.create_volume("v1", MIB).unwrap();
        b.create_snapshot("v1", "s1").unwrap();
        std::fs::write(d.path().join("volumes").join("v3.img.tmp"), b"x").unwrap();
        std::fs::write(d.path().join("volumes").join("notes.txt"), b"x").unwrap();
        let vols: Vec<(String, u64)> = b
            .list_volumes()
            .unwrap()
            .into_iter()
            .map(|d| (d.id, d.size))
            .collect();
        assert_eq!(vols, [("v1".to_string(), MIB), ("v2".to_string(), 2 * MIB)]);
        let snaps = b.list_snapshots().unwrap();
        assert_eq!(snaps.len(), 1);
        assert_eq!((snaps[0].id.as_str(), snaps[0].size), ("s1", MIB));
    }

    #[test]
    fn renames_keep_the_bytes_survive_reopening_and_are_idempotent() {
        let (d, b) = backend();
        b.create_volume("old", MIB).unwrap();
        b.open_volume("old")
            .unwrap()
            .write_at(b"keep", 100)
            .unwrap();
        b.create_snapshot("old", "s1").unwrap();
        b.rename_volume("old", "new").unwrap();
        b.rename_volume("old", "new").unwrap();
        b.rename_snapshot("s1", "s2").unwrap();
        b.rename_snapshot("s1", "s2").unwrap();
        drop(b);
        let b = SparseFileBackend::open(d.path()).unwrap();
        assert!(!b.volume_exists("old").unwrap());
        assert_eq!(read(&*b.open_volume("new").unwrap(), 100, 4), b"keep");
        assert_eq!(read(&*b.open_snapshot("s2").unwrap(), 100, 4), b"keep");
        assert!(b.open_snapshot("s1").is_err());

        b.create_volume("other", MIB).unwrap();
        assert!(matches!(
            b.rename_volume("new", "other"),
            Err(BackendError::Invalid(_))
        ));
        assert_eq!(read(&*b.open_volume("other").unwrap(), 100, 4), [0u8; 4]);
        assert!(matches!(
            b.rename_volume("gone", "nowhere"),
            Err(BackendError::VolumeNotFound(_))
        ));
        assert!(matches!(
            b.rename_snapshot("gone", "nowhere"),
            Err(BackendError::SnapshotNotFound(_))
        ));
        assert!(matches!(
            b.rename_volume("new", "../x"),
            Err(BackendError::Invalid(_))
        ));
    }

    #[test]
    fn rename_never_replaces_a_file() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        assert!(rename_noreplace(&a, &b).is_err());
        assert_eq!(std::fs::read(&b).unwrap(), b"b");
        std::fs::remove_file(&b).unwrap();
        rename_noreplace(&a, &b).unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"a");
    }

    #[test]
    fn ids_cannot_escape_the_root() {
        let (_d, b) = backend();
        assert!(matches!(
            b.create_volume("../x", MIB),
            Err(BackendError::Invalid(_))
        ));
        assert!(matches!(
            b.create_volume("", MIB),
            Err(BackendError::Invalid(_))
        ));
    }
}
