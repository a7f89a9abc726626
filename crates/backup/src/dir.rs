//! Chunks as files in a directory, fanned out by the hash's first two hex
//! digits: `chunks/ab/abcdef…`. Each is written to a temporary name of its
//! own, synced, then renamed into place, so a crash never leaves a chunk
//! that reads as another. The renames are made durable together (the
//! fan-out directories synced once) by [`ChunkStore::sync`], before a
//! manifest names them.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::{io_err, BackupError, BackupResult, ChunkStore};

pub struct DirStore {
    root: PathBuf,
    /// Fan-out directories with renames not yet synced.
    dirty: Mutex<HashSet<PathBuf>>,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Writes `data` at `path` through a synced temporary file and a rename;
/// the directory is synced too.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> BackupResult<()> {
    let tmp = path.with_extension("tmp");
    let what = || path.display().to_string();
    let mut f = File::create(&tmp).map_err(io_err(what()))?;
    f.write_all(data).map_err(io_err(what()))?;
    f.sync_all().map_err(io_err(what()))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io_err(what()))?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir.display().to_string()))?;
    }
    Ok(())
}

fn check_hash(hash: &str) -> BackupResult<()> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(BackupError::Invalid(format!("bad chunk hash {hash:?}")))
    }
}

impl DirStore {
    pub fn open(root: &Path) -> BackupResult<DirStore> {
        fs::create_dir_all(root).map_err(io_err(root.display().to_string()))?;
        Ok(DirStore {
            root: root.to_path_buf(),
            dirty: Mutex::new(HashSet::new()),
        })
    }

    fn path(&self, hash: &str) -> BackupResult<PathBuf> {
        check_hash(hash)?;
        Ok(self.root.join(&hash[..2]).join(hash))
    }
}

impl ChunkStore for DirStore {
    fn has(&self, hash: &str) -> BackupResult<bool> {
        Ok(self.path(hash)?.exists())
    }

    fn put(&self, hash: &str, compressed: &[u8]) -> BackupResult<()> {
        let path = self.path(hash)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(dir.display().to_string()))?;
        // A name of its own: two writers of one hash never share a file.
        let seq = TMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!("{hash}.{}.{seq}.tmp", std::process::id()));
        let what = || path.display().to_string();
        let mut f = File::create(&tmp).map_err(io_err(what()))?;
        f.write_all(compressed).map_err(io_err(what()))?;
        f.sync_all().map_err(io_err(what()))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(io_err(what()))?;
        self.dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir);
        Ok(())
    }

    fn sync(&self) -> BackupResult<()> {
        let dirs: Vec<PathBuf> = self
            .dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (k, dir) in dirs.iter().enumerate() {
            if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
                // Not durable yet: the next sync tries these again.
                self.dirty
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(dirs[k..].iter().cloned());
                return Err(io_err(dir.display().to_string())(e));
            }
        }
        Ok(())
    }

    fn get(&self, hash: &str) -> BackupResult<Vec<u8>> {
        let path = self.path(hash)?;
        match fs::read(&path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BackupError::MissingChunk(hash.to_string()))
            }
            Err(e) => Err(io_err(path.display().to_string())(e)),
        }
    }

    fn delete(&self, hash: &str) -> BackupResult<()> {
        let path = self.path(hash)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path.display().to_string())(e)),
        }
    }

    fn sweep_temporaries(&self) -> BackupResult<u64> {
        let what = || self.root.display().to_string();
        let mut n = 0;
        for fan in fs::read_dir(&self.root).map_err(io_err(what()))? {
            let fan = fan.map_err(io_err(what()))?;
            if !fan.file_type().map_err(io_err(what()))?.is_dir() {
                continue;
            }
            for e in fs::read_dir(fan.path()).map_err(io_err(what()))? {
                let path = e.map_err(io_err(what()))?.path();
                if path.extension().is_some_and(|x| x == "tmp") {
                    fs::remove_file(&path).map_err(io_err(path.display().to_string()))?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    fn list(&self) -> BackupResult<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let what = || self.root.display().to_string();
        for fan in fs::read_dir(&self.root).map_err(io_err(what()))? {
            let fan = fan.map_err(io_err(what()))?;
            if !fan.file_type().map_err(io_err(what()))?.is_dir() {
                continue;
            }
            for e in fs::read_dir(fan.path()).map_err(io_err(what()))? {
                let e = e.map_err(io_err(what()))?;
                let name = e.file_name().to_string_lossy().to_string();
                if check_hash(&name).is_ok() {
                    let len = e.metadata().map_err(io_err(what()))?.len();
                    out.push((name, len));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
