//! Platter's backup repository: volumes stored as fixed-size chunks,
//! compressed (zstd), named by their SHA-256 and so stored once however
//! many backups (and volumes) hold them, with one manifest per backup.
//!
//! - A chunk that reads as zeros is not stored (the manifest says so).
//! - An incremental backup reads only the chunks its caller says changed
//!   since the parent (the engine knows which blocks differ between two
//!   devices); the others are the parent's.
//! - A restore checks every chunk against its hash before writing it.
//! - Deleting a backup deletes its manifest; [`Repository::gc`] then
//!   removes the chunks no manifest names.
//!
//! Chunks live behind [`ChunkStore`], so an object store can replace the
//! directory ([`DirStore`]).

mod dir;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

use platter_backend::VolumeIo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use dir::DirStore;

/// Bytes per chunk: small enough that a 1% change rewrites about 1% of a
/// volume, large enough that a 1 TiB volume has a manageable manifest.
pub const CHUNK_SIZE: u64 = 1 << 20;
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup {0} does not exist in the repository")]
    NoBackup(String),
    #[error("chunk {0} is missing from the repository")]
    MissingChunk(String),
    #[error("chunk {hash} is corrupt: {why}")]
    Corrupt { hash: String, why: String },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("I/O error on {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("volume I/O: {0}")]
    Volume(#[from] platter_backend::BackendError),
}

pub type BackupResult<T> = Result<T, BackupError>;

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// Where chunks are kept: by hash, write-once.
pub trait ChunkStore: Send + Sync {
    fn has(&self, hash: &str) -> BackupResult<bool>;
    /// Stores a chunk's compressed bytes (replacing a partial earlier
    /// write of the same hash); durable when it returns.
    fn put(&self, hash: &str, compressed: &[u8]) -> BackupResult<()>;
    fn get(&self, hash: &str) -> BackupResult<Vec<u8>>;
    /// Deletes a chunk; a missing one is fine.
    fn delete(&self, hash: &str) -> BackupResult<()>;
    /// Makes every chunk stored so far durable under its name (a store
    /// whose `put` is durable on return has nothing to do).
    fn sync(&self) -> BackupResult<()> {
        Ok(())
    }
    /// Removes what interrupted `put`s left (called with no `put` running);
    /// how many.
    fn sweep_temporaries(&self) -> BackupResult<u64> {
        Ok(0)
    }
    /// Every stored chunk's hash, and its stored (compressed) size.
    fn list(&self) -> BackupResult<Vec<(String, u64)>>;
}

/// One backup: its size and, per chunk, the hash of its bytes (`None`: the
/// chunk reads as zeros).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    /// The volume's size in bytes.
    pub size: u64,
    pub chunk_size: u64,
    /// The backup this one is incremental to, if any.
    pub parent: Option<String>,
    pub chunks: Vec<Option<String>>,
}

impl Manifest {
    pub fn chunk_count(size: u64) -> usize {
        size.div_ceil(CHUNK_SIZE) as usize
    }
}

/// What a backup read and stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupStats {
    /// Chunks read from the volume.
    pub chunks_read: u64,
    /// Chunks the repository did not have and now stores.
    pub chunks_new: u64,
    /// Compressed bytes those new chunks take.
    pub bytes_stored: u64,
    /// Chunks that read as zeros (not stored).
    pub chunks_zero: u64,
}

/// The facts `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub backups: u64,
    pub chunks: u64,
    /// `(backup, chunk hash, what is wrong)`.
    pub problems: Vec<(String, String, String)>,
}

pub struct Repository {
    root: PathBuf,
    chunks: Box<dyn ChunkStore>,
    /// Writers of manifests (backups, imports) share it; [`Repository::gc`]
    /// takes it alone, so it never collects a chunk a backup has stored
    /// (or found stored) but not yet named in its manifest.
    gc_lock: std::sync::RwLock<()>,
}

/// Threads that hash and compress (backup) or decompress and verify
/// (restore) alongside the one doing the volume's I/O.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

#[derive(Default)]
struct AtomicStats {
    read: AtomicU64,
    new: AtomicU64,
    bytes: AtomicU64,
    zero: AtomicU64,
}

impl From<AtomicStats> for BackupStats {
    fn from(s: AtomicStats) -> BackupStats {
        BackupStats {
            chunks_read: s.read.into_inner(),
            chunks_new: s.new.into_inner(),
            bytes_stored: s.bytes.into_inner(),
            chunks_zero: s.zero.into_inner(),
        }
    }
}

/// Whether a range of `io` is all hole (reads as zeros, stores nothing).
fn unallocated(io: &dyn VolumeIo, offset: u64, len: u64) -> BackupResult<bool> {
    Ok(io
        .allocation(offset, len)?
        .iter()
        .all(|(_, allocated)| !allocated))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Repository {
    /// A repository in a directory: manifests in `manifests/`, chunks in
    /// `chunks/` ([`DirStore`]).
    pub fn open_dir(root: &Path) -> BackupResult<Repository> {
        let chunks = DirStore::open(&root.join("chunks"))?;
        Repository::with_store(root, Box::new(chunks))
    }

    /// Manifests in `root/manifests`, chunks in `chunks`.
    pub fn with_store(root: &Path, chunks: Box<dyn ChunkStore>) -> BackupResult<Repository> {
        let manifests = root.join("manifests");
        std::fs::create_dir_all(&manifests).map_err(io_err(manifests.display().to_string()))?;
        Ok(Repository {
            root: root.to_path_buf(),
            chunks,
            gc_lock: std::sync::RwLock::new(()),
        })
    }

    fn manifest_path(&self, id: &str) -> BackupResult<PathBuf> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(BackupError::Invalid(format!("bad backup id {id:?}")));
        }
        Ok(self.root.join("manifests").join(format!("{id}.json")))
    }

    pub fn manifest(&self, id: &str) -> BackupResult<Manifest> {
        let path = self.manifest_path(id)?;
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::NoBackup(id.to_string()))
            }
            Err(e) => return Err(io_err(path.display().to_string())(e)),
        };
        serde_json::from_slice(&text).map_err(|e| BackupError::Corrupt {
            hash: format!("manifest {id}"),
            why: e.to_string(),
        })
    }

    pub fn exists(&self, id: &str) -> BackupResult<bool> {
        Ok(self.manifest_path(id)?.exists())
    }

    /// Every backup's id.
    pub fn list(&self) -> BackupResult<Vec<String>> {
        let dir = self.root.join("manifests");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io_err(dir.display().to_string()))? {
            let e = e.map_err(io_err(dir.display().to_string()))?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".json") {
                out.push(id.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Backs `io` up as backup `id`. With a `parent`, `changed(i)` says
    /// whether chunk `i` may differ from the parent's: the others are
    /// taken from the parent's manifest unread. The manifest is written
    /// last (atomically), after every chunk it names is durable; running
    /// the same backup again (after a crash) redoes it.
    pub fn backup(
        &self,
        id: &str,
        io: &dyn VolumeIo,
        parent: Option<&str>,
        changed: &dyn Fn(usize) -> bool,
    ) -> BackupResult<BackupStats> {
        let path = self.manifest_path(id)?;
        let _writing = self.gc_lock.read().unwrap_or_else(|e| e.into_inner());
        let size = io.size()?;
        let parent = parent.map(|p| self.manifest(p)).transpose()?;
        if let Some(p) = &parent {
            if p.chunk_size != CHUNK_SIZE {
                return Err(BackupError::Invalid(format!(
                    "parent {} has chunks of {} bytes",
                    p.id, p.chunk_size
                )));
            }
        }
        let count = Manifest::chunk_count(size);
        let chunks: Vec<Mutex<Option<String>>> = (0..count).map(|_| Mutex::new(None)).collect();
        let stats = AtomicStats::default();
        // This thread reads the volume in order; workers hash, compress
        // and store what it read.
        let (tx, rx) = sync_channel::<(usize, Vec<u8>)>(workers() * 2);
        let rx = Mutex::new(rx);
        let failed: Mutex<Option<BackupError>> = Mutex::new(None);
        std::thread::scope(|scope| -> BackupResult<()> {
            for _ in 0..workers() {
                scope.spawn(|| loop {
                    let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((i, data)) = next else { break };
                    match self.store_chunk(&data, &stats) {
                        Ok(entry) => *chunks[i].lock().unwrap_or_else(|e| e.into_inner()) = entry,
                        Err(e) => {
                            failed
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                        }
                    }
                });
            }
            let read = || -> BackupResult<()> {
                for (i, slot) in chunks.iter().enumerate() {
                    if failed.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                        break;
                    }
                    let from_parent = parent
                        .as_ref()
                        .filter(|_| !changed(i))
                        .and_then(|p| p.chunks.get(i).cloned());
                    if let Some(entry) = from_parent {
                        *slot.lock().unwrap_or_else(|e| e.into_inner()) = entry;
                        continue;
                    }
                    let offset = i as u64 * CHUNK_SIZE;
                    let n = CHUNK_SIZE.min(size - offset) as usize;
                    // A hole is zeros without reading it.
                    if unallocated(io, offset, n as u64)? {
                        stats.zero.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let mut buf = vec![0u8; n];
                    io.read_at(&mut buf, offset)?;
                    stats.read.fetch_add(1, Ordering::Relaxed);
                    if tx.send((i, buf)).is_err() {
                        break;
                    }
                }
                Ok(())
            };
            let r = read();
            drop(tx);
            r
        })?;
        if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        // Every chunk the manifest names is durable before the manifest is.
        self.chunks.sync()?;
        let manifest = Manifest {
            id: id.to_string(),
            size,
            chunk_size: CHUNK_SIZE,
            parent: parent.map(|p| p.id),
            chunks: chunks
                .into_iter()
                .map(|c| c.into_inner().unwrap_or_else(|e| e.into_inner()))
                .collect(),
        };
        let text = serde_json::to_vec(&manifest)
            .map_err(|e| BackupError::Invalid(format!("writing the manifest: {e}")))?;
        dir::write_atomic(&path, &text)?;
        Ok(stats.into())
    }

    /// Hashes one chunk read from a volume and stores it unless the
    /// repository has it; its manifest entry (`None`: zeros).
    fn store_chunk(&self, data: &[u8], stats: &AtomicStats) -> BackupResult<Option<String>> {
        if data.iter().all(|&b| b == 0) {
            stats.zero.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        let hash = sha256_hex(data);
        if !self.chunks.has(&hash)? {
            let compressed = zstd::bulk::compress(data, ZSTD_LEVEL)
                .map_err(io_err(format!("compressing chunk {hash}")))?;
            self.chunks.put(&hash, &compressed)?;
            stats.new.fetch_add(1, Ordering::Relaxed);
            stats
                .bytes
                .fetch_add(compressed.len() as u64, Ordering::Relaxed);
        }
        Ok(Some(hash))
    }

    /// Records `manifest` (another repository's export, or this one's) as
    /// backup `id`, once every chunk it names is stored here.
    pub fn import(&self, id: &str, manifest: &Manifest) -> BackupResult<()> {
        let path = self.manifest_path(id)?;
        let _writing = self.gc_lock.read().unwrap_or_else(|e| e.into_inner());
        if path.exists() {
            return Err(BackupError::Invalid(format!("backup {id} already exists")));
        }
        self.verify(manifest)?;
        let m = Manifest {
            id: id.to_string(),
            ..manifest.clone()
        };
        let text = serde_json::to_vec(&m)
            .map_err(|e| BackupError::Invalid(format!("writing the manifest: {e}")))?;
        dir::write_atomic(&path, &text)
    }

    /// Whether a manifest is whole here: its chunks cover its size and are
    /// all stored (not read: [`Repository::check`] reads them).
    pub fn verify(&self, manifest: &Manifest) -> BackupResult<()> {
        if manifest.chunk_size != CHUNK_SIZE
            || manifest.chunks.len() != Manifest::chunk_count(manifest.size)
        {
            return Err(BackupError::Invalid(
                "the manifest's chunks do not cover its size".into(),
            ));
        }
        let mut seen = HashSet::new();
        for hash in manifest.chunks.iter().flatten() {
            let well_formed =
                hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !well_formed {
                return Err(BackupError::Invalid(format!("bad chunk hash {hash:?}")));
            }
            if seen.insert(hash.as_str()) && !self.chunks.has(hash)? {
                return Err(BackupError::MissingChunk(hash.clone()));
            }
        }
        Ok(())
    }

    /// A chunk's bytes, checked against its hash.
    fn chunk(&self, hash: &str, len: usize) -> BackupResult<Vec<u8>> {
        let compressed = self.chunks.get(hash)?;
        let data = zstd::bulk::decompress(&compressed, len).map_err(|e| BackupError::Corrupt {
            hash: hash.to_string(),
            why: e.to_string(),
        })?;
        if data.len() != len || sha256_hex(&data) != hash {
            return Err(BackupError::Corrupt {
                hash: hash.to_string(),
                why: "its bytes do not match its hash".into(),
            });
        }
        Ok(data)
    }

    /// Writes backup `id` onto `io` (at least the backup's size), every
    /// chunk checked against its hash first; zero chunks are written as
    /// zeros. Bytes past the backup's size are left as they are.
    pub fn restore(&self, id: &str, io: &dyn VolumeIo) -> BackupResult<()> {
        let m = self.manifest(id)?;
        if io.size()? < m.size {
            return Err(BackupError::Invalid(format!(
                "the target holds {} bytes, the backup {}",
                io.size()?,
                m.size
            )));
        }
        // Workers fetch, decompress and verify chunks; this thread writes
        // them (at their offsets, in whatever order they come).
        let next = AtomicUsize::new(0);
        let (tx, rx) = sync_channel::<BackupResult<(u64, Vec<u8>)>>(workers() * 2);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| -> BackupResult<()> {
            for _ in 0..workers() {
                let tx = tx.clone();
                let (m, next, stop) = (&m, &next, &stop);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= m.chunks.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(hash) = &m.chunks[i] else { continue };
                    let offset = i as u64 * m.chunk_size;
                    let n = m.chunk_size.min(m.size - offset) as usize;
                    let item = self.chunk(hash, n).map(|data| (offset, data));
                    if tx.send(item).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let write = || -> BackupResult<()> {
                for (i, entry) in m.chunks.iter().enumerate() {
                    let offset = i as u64 * m.chunk_size;
                    let n = m.chunk_size.min(m.size - offset);
                    // A hole in the target already reads as zeros.
                    if entry.is_none() && !unallocated(io, offset, n)? {
                        io.write_zeroes(offset, n)?;
                    }
                }
                for item in rx.iter() {
                    let (offset, data) = item?;
                    io.write_at(&data, offset)?;
                }
                Ok(())
            };
            let r = write();
            if r.is_err() {
                stop.store(true, Ordering::Relaxed);
                // Unblock the workers: drain what they still send.
                for _ in rx.iter() {}
            }
            r
        })?;
        io.flush()?;
        Ok(())
    }

    /// Deletes a backup's manifest (its chunks go at the next [`gc`]).
    ///
    /// [`gc`]: Repository::gc
    pub fn delete(&self, id: &str) -> BackupResult<()> {
        let path = self.manifest_path(id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path.display().to_string())(e)),
        }
    }

    /// Removes every chunk no manifest names; returns how many and their
    /// stored bytes.
    pub fn gc(&self) -> BackupResult<(u64, u64)> {
        let _alone = self.gc_lock.write().unwrap_or_else(|e| e.into_inner());
        let mut live = HashSet::new();
        for id in self.list()? {
            for h in self.manifest(&id)?.chunks.into_iter().flatten() {
                live.insert(h);
            }
        }
        self.chunks.sweep_temporaries()?;
        let (mut n, mut bytes) = (0, 0);
        for (hash, size) in self.chunks.list()? {
            if !live.contains(&hash) {
                self.chunks.delete(&hash)?;
                n += 1;
                bytes += size;
            }
        }
        Ok((n, bytes))
    }

    /// Stored chunks and their compressed bytes in all.
    pub fn usage(&self) -> BackupResult<(u64, u64)> {
        let all = self.chunks.list()?;
        Ok((all.len() as u64, all.iter().map(|(_, s)| s).sum()))
    }

    /// Reads every chunk of every backup and checks it against its hash.
    pub fn check(&self) -> BackupResult<CheckReport> {
        let mut report = CheckReport::default();
        let mut checked = HashSet::new();
        for id in self.list()? {
            report.backups += 1;
            let m = match self.manifest(&id) {
                Ok(m) => m,
                Err(e) => {
                    report.problems.push((id, String::new(), e.to_string()));
                    continue;
                }
            };
            for (i, entry) in m.chunks.iter().enumerate() {
                let Some(hash) = entry else { continue };
                if !checked.insert(hash.clone()) {
                    continue;
                }
                report.chunks += 1;
                let offset = i as u64 * m.chunk_size;
                let n = m.chunk_size.min(m.size - offset) as usize;
                if let Err(e) = self.chunk(hash, n) {
                    report
                        .problems
                        .push((id.clone(), hash.clone(), e.to_string()));
                }
            }
        }
        Ok(report)
    }
}
