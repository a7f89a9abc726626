//! The pool: devices, the journal, commits, checkpoints, and opening
//! (checkpoint + journal replay).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use crate::checkpoint::{self, DeviceImage, Image};
use crate::device::{lock, read, write, Device, DeviceState};
use crate::journal::{self, Journal, Record};
use crate::refs::Refs;
use crate::tree::{Entry, Tree, MAX_BLOCKS};
use crate::{EngineError, EngineResult, BLOCK};

/// Tunables; the defaults suit a server.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Write a checkpoint (and start a new journal) once the journal is this big.
    pub checkpoint_after_bytes: u64,
    /// Commit on the writer's thread once this many journal bytes wait.
    pub commit_after_bytes: usize,
    /// Commit in the background this often when there is anything to commit
    /// (`None`: only on flush). The default, 30 s, matches how long the
    /// kernel keeps dirty pages of a plain file: unflushed writes are at risk
    /// for as long as they would be in a file, and clients that flush never
    /// wait for it.
    pub background_commit: Option<Duration>,
    /// Test hook: sleep this long before each fdatasync of a commit or a
    /// checkpoint, as a slow disk would take (zero, the default: no delay).
    pub sync_delay: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            checkpoint_after_bytes: 64 << 20,
            commit_after_bytes: 16 << 20,
            background_commit: Some(Duration::from_secs(30)),
            sync_delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct Devices {
    by_name: HashMap<String, Arc<Device>>,
    by_id: HashMap<u32, Arc<Device>>,
    next_id: u32,
}

impl Devices {
    fn insert(&mut self, id: u32, name: String, state: DeviceState) {
        let dev = Arc::new(Device {
            id,
            name: RwLock::new(name.clone()),
            state: RwLock::new(state),
        });
        self.by_name.insert(name, dev.clone());
        self.by_id.insert(id, dev);
        self.next_id = self.next_id.max(id + 1);
    }

    fn remove(&mut self, id: u32) -> Option<Arc<Device>> {
        let dev = self.by_id.remove(&id)?;
        self.by_name.remove(&dev.name());
        Some(dev)
    }

    /// Gives device `id` the name `name` (which the caller checked is free).
    fn rename(&mut self, id: u32, name: String) {
        let Some(dev) = self.by_id.get(&id).cloned() else {
            return;
        };
        let mut current = write(&dev.name);
        self.by_name.remove(&*current);
        self.by_name.insert(name.clone(), dev.clone());
        *current = name;
    }
}

struct JournalFile {
    epoch: u64,
    file: File,
    len: u64,
}

pub(crate) struct PoolInner {
    dir: PathBuf,
    _lock: File,
    pub data: File,
    pub refs: Arc<Refs>,
    /// Held shared by every I/O and metadata change; taken exclusively as a
    /// barrier (wait until nothing is in flight) before freed blocks are
    /// reused and while the journal is switched.
    pub quiesce: RwLock<()>,
    /// Held shared by in-place overwrites of fresh blocks, exclusively while
    /// the journal buffer is swapped out for commit (which ends freshness).
    pub inplace_gate: RwLock<()>,
    /// Serialises device creation, deletion and rollback.
    control: Mutex<()>,
    devices: RwLock<Devices>,
    journal: Mutex<Journal>,
    journal_file: Mutex<JournalFile>,
    commit_lock: Mutex<()>,
    durable: AtomicU64,
    /// Set when a commit failed: the journal can no longer be trusted to
    /// follow memory, so every later change is refused (fail-stop).
    poisoned: AtomicBool,
    /// A writer saw the journal buffer grow large: commit soon.
    wants_commit: AtomicBool,
    opts: PoolOptions,
}

/// A pool of volumes and snapshots in a directory. Cheap to clone.
#[derive(Clone)]
pub struct Pool {
    pub(crate) inner: Arc<PoolInner>,
}

fn io_err(what: &Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |e| EngineError::io(what.display().to_string(), e)
}

fn flock(file: &File, dir: &Path) -> EngineResult<()> {
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(EngineError::Invalid(format!(
            "pool {} is in use by another process",
            dir.display()
        )));
    }
    Ok(())
}

/// Frees the disk space of `blocks` in the data file.
fn punch(data: &File, blocks: &mut [u64]) {
    blocks.sort_unstable();
    let mut i = 0;
    while i < blocks.len() {
        let start = blocks[i];
        let mut end = start + 1;
        while i + 1 < blocks.len() && blocks[i + 1] == end {
            end += 1;
            i += 1;
        }
        // SAFETY: fallocate on our descriptor with plain integer arguments.
        unsafe {
            libc::fallocate(
                data.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                (start * BLOCK) as libc::off_t,
                ((end - start) * BLOCK) as libc::off_t,
            );
        }
        i += 1;
    }
}

impl PoolInner {
    fn check_poison(&self) -> EngineResult<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(EngineError::Invalid(
                "the pool stopped after a failed commit; restart to recover from the journal"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Appends records (write-ahead: before the change is made in memory).
    pub(crate) fn append(&self, records: &[Record]) -> EngineResult<()> {
        self.check_poison()?;
        let big = {
            let mut j = lock(&self.journal);
            for r in records {
                j.append(r);
            }
            j.buffer.len() >= self.opts.commit_after_bytes
        };
        if big {
            self.wants_commit.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// fdatasync of the data file or the journal (after the test delay).
    fn sync(&self, file: &File, what: &str) -> EngineResult<()> {
        if !self.opts.sync_delay.is_zero() {
            std::thread::sleep(self.opts.sync_delay);
        }
        file.sync_data().map_err(|e| EngineError::io(what, e))
    }

    pub(crate) fn device(&self, name: &str) -> EngineResult<Arc<Device>> {
        read(&self.devices)
            .by_name
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::NoDevice(name.to_string()))
    }

    /// Makes everything appended so far durable: data first, then the
    /// journal. Blocks freed by what was committed become reusable after
    /// every I/O that might still read them has finished.
    pub(crate) fn commit(&self) -> EngineResult<()> {
        self.check_poison()?;
        let target = lock(&self.journal).appended;
        let _c = lock(&self.commit_lock);
        if self.durable.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let result = self.commit_locked();
        crate::metrics::commit(&self.dir, started.elapsed().as_secs_f64());
        if result.is_err() {
            self.poisoned.store(true, Ordering::Release);
        }
        result
    }

    /// Takes the buffered records for commit, counting the references that
    /// died with them; every block allocated until now stops being fresh.
    fn swap_buffer(&self) -> (Vec<u8>, u64, Vec<u64>) {
        let _gate = write(&self.inplace_gate);
        let mut j = lock(&self.journal);
        let dead = self.refs.drain_graveyard();
        let mut alloc = self.refs.lock_alloc();
        let freed = alloc.dec_all(&dead);
        alloc.clear_fresh();
        (std::mem::take(&mut j.buffer), j.appended, freed)
    }

    fn commit_locked(&self) -> EngineResult<()> {
        let (bytes, upto, mut freed) = self.swap_buffer();
        self.sync(&self.data, "data file")?;
        let checkpoint_due = {
            let mut jf = lock(&self.journal_file);
            (&jf.file)
                .write_all(&bytes)
                .map_err(|e| EngineError::io("journal", e))?;
            self.sync(&jf.file, "journal")?;
            jf.len += bytes.len() as u64;
            jf.len >= self.opts.checkpoint_after_bytes
        };
        self.durable.store(upto, Ordering::Release);
        self.wants_commit.store(false, Ordering::Release);
        if !freed.is_empty() {
            // Grace period: wait for every read that may hold an old mapping.
            drop(write(&self.quiesce));
            punch(&self.data, &mut freed);
            self.refs.lock_alloc().release(&freed);
        }
        if checkpoint_due {
            self.checkpoint_locked()?;
        }
        Ok(())
    }

    /// Starts a new journal and writes a checkpoint of the state at the
    /// switch. Called with the commit lock held.
    fn checkpoint_locked(&self) -> EngineResult<()> {
        let started = std::time::Instant::now();
        let result = self.checkpoint_inner();
        crate::metrics::checkpoint(&self.dir, started.elapsed().as_secs_f64());
        result
    }

    fn checkpoint_inner(&self) -> EngineResult<()> {
        let (image, old_epoch, mut freed) = {
            let _q = write(&self.quiesce);
            // Nothing is in flight: commit what was appended since.
            let (bytes, upto, freed) = self.swap_buffer();
            self.sync(&self.data, "data file")?;
            let mut jf = lock(&self.journal_file);
            (&jf.file)
                .write_all(&bytes)
                .map_err(|e| EngineError::io("journal", e))?;
            self.sync(&jf.file, "journal")?;
            self.durable.store(upto, Ordering::Release);
            let new_epoch = jf.epoch + 1;
            let devices = read(&self.devices);
            let mut images = Vec::new();
            for dev in devices.by_id.values() {
                let st = read(&dev.state);
                images.push(DeviceImage {
                    id: dev.id,
                    name: dev.name(),
                    size: st.size,
                    readonly: st.readonly,
                    tree: st.tree.clone(),
                });
            }
            let image = Image {
                next_epoch: new_epoch,
                next_dev: devices.next_id,
                devices: images,
            };
            let file = journal::create_file(&self.dir, new_epoch).map_err(io_err(&self.dir))?;
            let old = std::mem::replace(
                &mut *jf,
                JournalFile {
                    epoch: new_epoch,
                    file,
                    len: 0,
                },
            );
            (image, old.epoch, freed)
        };
        checkpoint::write(&self.dir, &image).map_err(io_err(&self.dir))?;
        drop(image);
        for e in journal::list_epochs(&self.dir).map_err(io_err(&self.dir))? {
            if e <= old_epoch {
                let _ = std::fs::remove_file(journal::journal_path(&self.dir, e));
            }
        }
        if !freed.is_empty() {
            punch(&self.data, &mut freed);
            self.refs.lock_alloc().release(&freed);
        }
        Ok(())
    }
}

impl Pool {
    /// Opens (creating if needed) the pool in `dir`: loads the checkpoint,
    /// replays the journals, and writes a fresh checkpoint.
    pub fn open(dir: impl Into<PathBuf>, opts: PoolOptions) -> EngineResult<Pool> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_path = dir.join("pool.lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        flock(&lock_file, &dir)?;
        let data_path = dir.join("data");
        let data = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&data_path)
            .map_err(io_err(&data_path))?;
        let refs = Arc::new(Refs::new());
        let image = checkpoint::read(&dir, &refs).map_err(io_err(&dir))?;
        let (mut devices, first_epoch) = match image {
            Some(img) => {
                let mut d = Devices {
                    next_id: img.next_dev,
                    ..Default::default()
                };
                for di in img.devices {
                    d.insert(
                        di.id,
                        di.name,
                        DeviceState {
                            size: di.size,
                            readonly: di.readonly,
                            tree: di.tree,
                            deleted: false,
                        },
                    );
                }
                (d, img.next_epoch)
            }
            None => (
                Devices {
                    next_id: 1,
                    ..Default::default()
                },
                1,
            ),
        };
        let mut last_epoch = first_epoch.saturating_sub(1);
        for epoch in journal::list_epochs(&dir).map_err(io_err(&dir))? {
            if epoch < first_epoch {
                continue;
            }
            let path = journal::journal_path(&dir, epoch);
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            let (records, _valid) = Record::decode_all(&bytes);
            for rec in &records {
                replay(&mut devices, &refs, rec);
                let dead = refs.drain_graveyard();
                let mut a = refs.lock_alloc();
                let freed = a.dec_all(&dead);
                a.release(&freed);
            }
            last_epoch = epoch;
        }
        refs.lock_alloc().finish_load();

        // Start clean: a checkpoint of the replayed state, a new journal.
        let epoch = last_epoch + 1;
        let image = Image {
            next_epoch: epoch,
            next_dev: devices.next_id,
            devices: devices
                .by_id
                .values()
                .map(|d| {
                    let st = read(&d.state);
                    DeviceImage {
                        id: d.id,
                        name: d.name(),
                        size: st.size,
                        readonly: st.readonly,
                        tree: st.tree.clone(),
                    }
                })
                .collect(),
        };
        let journal_file = journal::create_file(&dir, epoch).map_err(io_err(&dir))?;
        checkpoint::write(&dir, &image).map_err(io_err(&dir))?;
        drop(image);
        for e in journal::list_epochs(&dir).map_err(io_err(&dir))? {
            if e < epoch {
                let _ = std::fs::remove_file(journal::journal_path(&dir, e));
            }
        }
        // Space of blocks nobody maps (freed, or written but never committed).
        let mut unused = refs.lock_alloc().free_blocks();
        punch(&data, &mut unused);
        let _ = refs.drain_graveyard();

        let journal_file = JournalFile {
            epoch,
            file: journal_file,
            len: 0,
        };
        let inner = Arc::new(PoolInner {
            dir,
            _lock: lock_file,
            data,
            refs,
            quiesce: RwLock::new(()),
            inplace_gate: RwLock::new(()),
            control: Mutex::new(()),
            devices: RwLock::new(devices),
            journal: Mutex::new(Journal::default()),
            journal_file: Mutex::new(journal_file),
            commit_lock: Mutex::new(()),
            durable: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            wants_commit: AtomicBool::new(false),
            opts,
        });
        if let Some(every) = inner.opts.background_commit {
            spawn_committer(Arc::downgrade(&inner), every);
        }
        Ok(Pool { inner })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Makes every acknowledged write and every device change durable.
    pub fn commit(&self) -> EngineResult<()> {
        self.inner.commit()
    }

    /// Commits and writes a checkpoint now.
    pub fn checkpoint(&self) -> EngineResult<()> {
        self.inner.commit()?;
        let _c = lock(&self.inner.commit_lock);
        let r = self.inner.checkpoint_locked();
        if r.is_err() {
            self.inner.poisoned.store(true, Ordering::Release);
        }
        r
    }

    pub fn exists(&self, name: &str) -> bool {
        read(&self.inner.devices).by_name.contains_key(name)
    }

    /// Device names, sorted.
    pub fn device_names(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.inner.devices).by_name.keys().cloned().collect();
        names.sort();
        names
    }

    fn check_size(size: u64) -> EngineResult<()> {
        if !size.is_multiple_of(BLOCK) {
            return Err(EngineError::Invalid(format!(
                "size {size} is not a multiple of {BLOCK}"
            )));
        }
        if size / BLOCK > MAX_BLOCKS {
            return Err(EngineError::Invalid(format!(
                "size {size} is beyond the largest device"
            )));
        }
        Ok(())
    }

    /// Creates a device: empty, or sharing `source`'s tree as it is now
    /// (a snapshot when `readonly`, a clone otherwise). `size` must not be
    /// smaller than the source's. Durable when it returns.
    pub fn create(
        &self,
        name: &str,
        size: u64,
        readonly: bool,
        source: Option<&str>,
    ) -> EngineResult<()> {
        Pool::check_size(size)?;
        if name.is_empty() || name.len() > 255 {
            return Err(EngineError::Invalid(format!("bad device name {name:?}")));
        }
        let inner = &self.inner;
        {
            let _q = read(&inner.quiesce);
            // Sharing a tree ends the freshness of every block in it: no
            // write may be deciding to overwrite one in place meanwhile.
            let _gate = source.map(|_| write(&inner.inplace_gate));
            if source.is_some() {
                inner.refs.lock_alloc().clear_fresh();
            }
            let _c = lock(&inner.control);
            let mut devices = write(&inner.devices);
            if devices.by_name.contains_key(name) {
                return Err(EngineError::Exists(name.to_string()));
            }
            let id = devices.next_id;
            let (tree, src_id) = match source {
                None => {
                    inner.append(&[Record::Create {
                        dev: id,
                        name: name.into(),
                        size,
                        readonly,
                        source: None,
                    }])?;
                    (Tree::new(), None)
                }
                Some(src) => {
                    let src = devices
                        .by_name
                        .get(src)
                        .cloned()
                        .ok_or_else(|| EngineError::NoDevice(src.into()))?;
                    // The source's lock orders this record after its acknowledged writes.
                    let st = read(&src.state);
                    if size < st.size {
                        return Err(EngineError::Invalid(format!(
                            "size {size} is smaller than the source's {}",
                            st.size
                        )));
                    }
                    inner.append(&[Record::Create {
                        dev: id,
                        name: name.into(),
                        size,
                        readonly,
                        source: Some(src.id),
                    }])?;
                    (st.tree.clone(), Some(src.id))
                }
            };
            let _ = src_id;
            devices.insert(
                id,
                name.to_string(),
                DeviceState {
                    size,
                    readonly,
                    tree,
                    deleted: false,
                },
            );
        }
        self.commit()
    }

    /// Creates read-only snapshots of several devices at one instant: each
    /// `(snapshot, source)` shares `source`'s tree as it is at the cut. The
    /// quiesce lock is held exclusively for the whole set, so no I/O on any
    /// device is in flight while the trees are shared: a write that returned
    /// before is in its device's snapshot, and one that starts after is in
    /// none. (Writes hold the lock shared from start to acknowledgement.)
    ///
    /// Idempotent for the set: when every snapshot exists nothing changes;
    /// when only some do (a crash committed part of an earlier set), those
    /// are replaced, so the set never mixes two instants. Durable when it
    /// returns.
    pub fn snapshot_many(&self, items: &[(&str, &str)]) -> EngineResult<()> {
        for (name, _) in items {
            if name.is_empty() || name.len() > 255 {
                return Err(EngineError::Invalid(format!("bad device name {name:?}")));
            }
        }
        let inner = &self.inner;
        let mut dropped = Vec::new();
        {
            let _q = write(&inner.quiesce);
            // Sharing trees ends the freshness of their blocks (see `create`).
            let _gate = write(&inner.inplace_gate);
            let _c = lock(&inner.control);
            let mut devices = write(&inner.devices);
            if items
                .iter()
                .all(|(name, _)| devices.by_name.contains_key(*name))
            {
                return Ok(());
            }
            let mut sources = Vec::with_capacity(items.len());
            for (_, src) in items {
                let dev = devices
                    .by_name
                    .get(*src)
                    .cloned()
                    .ok_or_else(|| EngineError::NoDevice(src.to_string()))?;
                sources.push(dev);
            }
            inner.refs.lock_alloc().clear_fresh();
            for (name, _) in items {
                if let Some(old) = devices.by_name.get(*name).cloned() {
                    let mut st = write(&old.state);
                    inner.append(&[Record::Delete { dev: old.id }])?;
                    devices.remove(old.id);
                    st.deleted = true;
                    dropped.push(std::mem::replace(&mut st.tree, Tree::new()));
                }
            }
            for ((name, _), src) in items.iter().zip(&sources) {
                let st = read(&src.state);
                let id = devices.next_id;
                inner.append(&[Record::Create {
                    dev: id,
                    name: (*name).into(),
                    size: st.size,
                    readonly: true,
                    source: Some(src.id),
                }])?;
                devices.insert(
                    id,
                    name.to_string(),
                    DeviceState {
                        size: st.size,
                        readonly: true,
                        tree: st.tree.clone(),
                        deleted: false,
                    },
                );
            }
        }
        drop(dropped);
        self.commit()
    }

    /// Gives a device a new name (O(1)), keeping its data; handles open on
    /// it keep working. One journal record, durable when this returns: after
    /// a crash the device has exactly one of the two names. Refused when
    /// `to` names a device (even `from` itself) or `from` names none.
    pub fn rename(&self, from: &str, to: &str) -> EngineResult<()> {
        if to.is_empty() || to.len() > 255 {
            return Err(EngineError::Invalid(format!("bad device name {to:?}")));
        }
        let inner = &self.inner;
        {
            let _q = read(&inner.quiesce);
            let _c = lock(&inner.control);
            let mut devices = write(&inner.devices);
            if devices.by_name.contains_key(to) {
                return Err(EngineError::Exists(to.to_string()));
            }
            let dev = devices
                .by_name
                .get(from)
                .cloned()
                .ok_or_else(|| EngineError::NoDevice(from.into()))?;
            inner.append(&[Record::Rename {
                dev: dev.id,
                name: to.into(),
            }])?;
            devices.rename(dev.id, to.to_string());
        }
        self.commit()
    }

    /// Deletes a device; its blocks are freed once nothing else shares them.
    pub fn delete(&self, name: &str) -> EngineResult<()> {
        let inner = &self.inner;
        let tree = {
            let _q = read(&inner.quiesce);
            let _c = lock(&inner.control);
            let mut devices = write(&inner.devices);
            let dev = devices
                .by_name
                .get(name)
                .cloned()
                .ok_or_else(|| EngineError::NoDevice(name.into()))?;
            let mut st = write(&dev.state);
            inner.append(&[Record::Delete { dev: dev.id }])?;
            devices.remove(dev.id);
            st.deleted = true;
            std::mem::replace(&mut st.tree, Tree::new())
        };
        drop(tree);
        self.commit()
    }

    /// Grows a device (O(1)); shrinking is refused, the same size is a no-op.
    pub fn resize(&self, name: &str, size: u64) -> EngineResult<()> {
        Pool::check_size(size)?;
        let inner = &self.inner;
        {
            let _q = read(&inner.quiesce);
            let dev = inner.device(name)?;
            let mut st = write(&dev.state);
            if size < st.size {
                return Err(EngineError::Invalid(format!(
                    "cannot shrink {name} from {} to {size} bytes",
                    st.size
                )));
            }
            if size == st.size {
                return Ok(());
            }
            inner.append(&[Record::Resize { dev: dev.id, size }])?;
            st.size = size;
        }
        self.commit()
    }

    /// Makes `name`'s content `snapshot`'s (O(1)); the device keeps its size.
    pub fn rollback(&self, name: &str, snapshot: &str) -> EngineResult<()> {
        let inner = &self.inner;
        let old = {
            let _q = read(&inner.quiesce);
            let _c = lock(&inner.control);
            let dev = inner.device(name)?;
            let snap = inner.device(snapshot)?;
            if dev.id == snap.id {
                return Err(EngineError::Invalid(
                    "cannot roll a device back to itself".into(),
                ));
            }
            let snap_st = read(&snap.state);
            let mut st = write(&dev.state);
            if st.readonly {
                return Err(EngineError::Invalid(format!("{name} is read-only")));
            }
            if snap_st.size > st.size {
                return Err(EngineError::Invalid(format!(
                    "{snapshot} is larger than {name}"
                )));
            }
            inner.append(&[Record::Rollback {
                dev: dev.id,
                snap: snap.id,
            }])?;
            std::mem::replace(&mut st.tree, snap_st.tree.clone())
        };
        drop(old);
        self.commit()
    }

    pub fn device_size(&self, name: &str) -> EngineResult<u64> {
        Ok(read(&self.inner.device(name)?.state).size)
    }

    /// Blocks in use (mapped by some device), and bytes of the data file on disk.
    pub fn usage(&self) -> (u64, u64) {
        let live = self.inner.refs.lock_alloc().live_blocks();
        let on_disk = std::fs::metadata(self.inner.dir.join("data"))
            .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
            .unwrap_or(0);
        (live * BLOCK, on_disk)
    }

    /// Bytes the pool's files occupy on disk (data, journal, checkpoint).
    pub fn disk_bytes(&self) -> u64 {
        std::fs::read_dir(&self.inner.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Entries of a device's mapping (for scrub and tests).
    pub(crate) fn mapped(&self, name: &str) -> EngineResult<Vec<(u64, Entry)>> {
        let dev = self.inner.device(name)?;
        let st = read(&dev.state);
        let mut out = Vec::new();
        st.tree.for_each_mapped(&mut |v, e| out.push((v, e)));
        Ok(out)
    }

    /// The blocks whose contents may differ between devices `a` and `b`
    /// (say a snapshot and the volume it was taken of), as runs of
    /// `(first block, count)` in order. Shared subtrees are skipped, so
    /// the cost follows the changes. Blocks past the smaller device's end
    /// count as changed.
    pub fn changed_blocks(&self, a: &str, b: &str) -> EngineResult<Vec<(u64, u64)>> {
        let snapshot_of = |name: &str| -> EngineResult<(Tree, u64)> {
            let dev = self.inner.device(name)?;
            let st = read(&dev.state);
            Ok((st.tree.clone(), st.size))
        };
        let (ta, sa) = snapshot_of(a)?;
        let (tb, sb) = snapshot_of(b)?;
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut push = |v: u64| match runs.last_mut() {
            Some((first, count)) if *first + *count == v => *count += 1,
            _ => runs.push((v, 1)),
        };
        ta.diff(&tb, &mut push);
        let (small, large) = (sa.min(sb) / BLOCK, sa.max(sb).div_ceil(BLOCK));
        if large > small {
            // Trim runs past the smaller end, then add the tail whole.
            runs.retain(|(first, _)| *first < small);
            if let Some((first, count)) = runs.last_mut() {
                *count = (*count).min(small - *first);
            }
            runs.push((small, large - small));
        }
        Ok(runs)
    }

    /// The physical block behind a device's virtual block (for tests and tools).
    pub fn physical_block(&self, name: &str, vblock: u64) -> EngineResult<Option<u64>> {
        let dev = self.inner.device(name)?;
        let st = read(&dev.state);
        Ok(st.tree.get(vblock).map(|e| e.pblock))
    }

    /// Commits, then asks the kernel to drop the data file's cached pages, so
    /// that the next reads come from the disk (for benchmarks).
    pub fn drop_caches(&self) -> EngineResult<()> {
        self.commit()?;
        // SAFETY: posix_fadvise on our descriptor with plain integer arguments.
        unsafe {
            libc::posix_fadvise(self.inner.data.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED)
        };
        Ok(())
    }

    /// Commits and writes a final checkpoint; the pool stays usable.
    pub fn close(&self) -> EngineResult<()> {
        self.checkpoint()
    }
}

/// Applies one journal record to the devices being loaded.
fn replay(devices: &mut Devices, refs: &Arc<Refs>, rec: &Record) {
    match rec {
        Record::Create {
            dev,
            name,
            size,
            readonly,
            source,
        } => {
            let tree = match source.and_then(|s| devices.by_id.get(&s)) {
                Some(src) => read(&src.state).tree.clone(),
                None => Tree::new(),
            };
            devices.insert(
                *dev,
                name.clone(),
                DeviceState {
                    size: *size,
                    readonly: *readonly,
                    tree,
                    deleted: false,
                },
            );
        }
        Record::Delete { dev } => {
            if let Some(d) = devices.remove(*dev) {
                let mut st = write(&d.state);
                st.deleted = true;
                st.tree = Tree::new();
            }
        }
        Record::Rename { dev, name } => devices.rename(*dev, name.clone()),
        Record::Resize { dev, size } => {
            if let Some(d) = devices.by_id.get(dev) {
                write(&d.state).size = *size;
            }
        }
        Record::Rollback { dev, snap } => {
            let snap_tree = devices.by_id.get(snap).map(|s| read(&s.state).tree.clone());
            if let (Some(d), Some(t)) = (devices.by_id.get(dev), snap_tree) {
                write(&d.state).tree = t;
            }
        }
        Record::Map {
            dev,
            vblock,
            pblock,
            crcs,
        } => {
            if let Some(d) = devices.by_id.get(dev) {
                let mut st = write(&d.state);
                for (i, crc) in crcs.iter().enumerate() {
                    let p = pblock + i as u64;
                    refs.lock_alloc().claim(p);
                    if let Some(old) = st.tree.set(
                        vblock + i as u64,
                        Entry {
                            pblock: p,
                            crc: *crc,
                        },
                        refs,
                    ) {
                        refs.bury(std::iter::once(old));
                    }
                }
            }
        }
        Record::Unmap { dev, vblock, count } => {
            if let Some(d) = devices.by_id.get(dev) {
                let mut dead = Vec::new();
                write(&d.state).tree.unmap_range(*vblock, *count, &mut dead);
                refs.bury(dead.into_iter());
            }
        }
    }
}

fn spawn_committer(pool: Weak<PoolInner>, every: Duration) {
    let tick = Duration::from_millis(50).min(every);
    let _ = std::thread::Builder::new()
        .name("platter-commit".into())
        .spawn(move || {
            let mut waited = Duration::ZERO;
            loop {
                std::thread::sleep(tick);
                waited += tick;
                let Some(inner) = pool.upgrade() else { return };
                let due = waited >= every || inner.wants_commit.load(Ordering::Acquire);
                let dirty = lock(&inner.journal).appended > inner.durable.load(Ordering::Acquire);
                if due && dirty && !inner.poisoned.load(Ordering::Acquire) {
                    let _ = inner.commit();
                }
                if due {
                    waited = Duration::ZERO;
                }
            }
        });
}
