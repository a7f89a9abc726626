//! Chunks as files in a directory, fanned out by the hash's first two hex
//! digits: `chunks/ab/abcdef…`. Each is written to a temporary name,
//! synced, then renamed into place, so a crash never leaves a chunk that
//! reads as another.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{io_err, BackupError, BackupResult, ChunkStore};

pub struct DirStore {
    root: PathBuf,
}

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
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir.display().to_string()))?;
        }
        write_atomic(&path, compressed)
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
