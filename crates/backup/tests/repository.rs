//! The repository over a memory volume: round trips, dedup, incremental
//! backups that read only what changed, restore verification, GC.

use platter_backend::{MemoryBackend, StorageBackend, VolumeIo};
use platter_backup::{Repository, CHUNK_SIZE};

const MIB: u64 = 1 << 20;

fn volume(b: &MemoryBackend, id: &str, mib: u64) -> std::sync::Arc<dyn VolumeIo> {
    b.create_volume(id, mib * MIB).unwrap();
    b.open_volume(id).unwrap()
}

fn fill(io: &dyn VolumeIo, offset: u64, len: usize, seed: u8) {
    let data: Vec<u8> = (0..len)
        .map(|i| seed.wrapping_add((i % 253) as u8))
        .collect();
    io.write_at(&data, offset).unwrap();
}

fn read_all(io: &dyn VolumeIo) -> Vec<u8> {
    let mut buf = vec![0u8; io.size().unwrap() as usize];
    io.read_at(&mut buf, 0).unwrap();
    buf
}

#[test]
fn a_backup_restores_byte_for_byte_and_zeros_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 16);
    fill(&*v, 0, 3 * MIB as usize, 1);
    fill(&*v, 10 * MIB + 123, 5000, 2);
    let stats = repo.backup("b1", &*v, None, &|_| true).unwrap();
    assert_eq!(stats.chunks_read, 16);
    assert_eq!(stats.chunks_zero, 12);
    assert_eq!(stats.chunks_new, 4);
    let target = volume(&b, "t", 16);
    fill(&*target, 0, 16 * MIB as usize, 9);
    repo.restore("b1", &*target).unwrap();
    assert_eq!(read_all(&*target), read_all(&*v));
    // A smaller target is refused.
    let small = volume(&b, "s", 8);
    assert!(repo.restore("b1", &*small).is_err());
}

#[test]
fn a_second_full_backup_of_the_same_data_stores_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 8);
    fill(&*v, 0, 8 * MIB as usize, 3);
    let first = repo.backup("b1", &*v, None, &|_| true).unwrap();
    let (chunks, bytes) = repo.usage().unwrap();
    let second = repo.backup("b2", &*v, None, &|_| true).unwrap();
    assert_eq!(first.chunks_new, 8);
    assert_eq!(second.chunks_new, 0);
    assert_eq!(repo.usage().unwrap(), (chunks, bytes));
}

#[test]
fn an_incremental_backup_reads_and_stores_only_changed_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 32);
    fill(&*v, 0, 32 * MIB as usize, 4);
    repo.backup("full", &*v, None, &|_| true).unwrap();
    // Change one chunk; the caller says which.
    fill(&*v, 5 * MIB + 17, 100, 99);
    let changed = |i: usize| i == 5;
    let stats = repo.backup("inc", &*v, Some("full"), &changed).unwrap();
    assert_eq!(stats.chunks_read, 1);
    assert_eq!(stats.chunks_new, 1);
    assert_eq!(
        repo.manifest("inc").unwrap().parent.as_deref(),
        Some("full")
    );
    let target = volume(&b, "t", 32);
    repo.restore("inc", &*target).unwrap();
    assert_eq!(read_all(&*target), read_all(&*v));
}

#[test]
fn a_corrupt_or_missing_chunk_fails_the_restore_and_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 4);
    fill(&*v, 0, 4 * MIB as usize, 5);
    repo.backup("b1", &*v, None, &|_| true).unwrap();
    assert!(repo.check().unwrap().problems.is_empty());
    let hash = repo.manifest("b1").unwrap().chunks[2].clone().unwrap();
    let path = dir.path().join("chunks").join(&hash[..2]).join(&hash);
    let other = repo.manifest("b1").unwrap().chunks[1].clone().unwrap();
    let other_path = dir.path().join("chunks").join(&other[..2]).join(&other);
    std::fs::copy(&other_path, &path).unwrap();
    let target = volume(&b, "t", 4);
    let err = repo.restore("b1", &*target).unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
    let report = repo.check().unwrap();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].1, hash);
    std::fs::remove_file(&path).unwrap();
    let err = repo.restore("b1", &*target).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn gc_removes_only_chunks_no_backup_names() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 4);
    fill(&*v, 0, 4 * MIB as usize, 6);
    repo.backup("b1", &*v, None, &|_| true).unwrap();
    fill(&*v, 0, MIB as usize, 7);
    repo.backup("b2", &*v, None, &|_| true).unwrap();
    assert_eq!(repo.usage().unwrap().0, 5);
    repo.delete("b1").unwrap();
    let (removed, _) = repo.gc().unwrap();
    assert_eq!(removed, 1, "b1's first chunk only");
    let target = volume(&b, "t", 4);
    repo.restore("b2", &*target).unwrap();
    assert_eq!(read_all(&*target), read_all(&*v));
    assert!(repo.check().unwrap().problems.is_empty());
    assert_eq!(CHUNK_SIZE, MIB);
}

#[test]
fn an_imported_manifest_needs_every_chunk_and_restores_like_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 4);
    fill(&*v, MIB, 2 * MIB as usize, 5);
    repo.backup("b1", &*v, None, &|_| true).unwrap();
    let m = repo.manifest("b1").unwrap();

    repo.import("b2", &m).unwrap();
    assert_eq!(repo.manifest("b2").unwrap().chunks, m.chunks);
    assert!(repo.import("b2", &m).is_err(), "an id is imported once");
    // Deleting the source keeps the chunks the import names.
    repo.delete("b1").unwrap();
    assert_eq!(repo.gc().unwrap().0, 0);
    let target = volume(&b, "t", 4);
    repo.restore("b2", &*target).unwrap();
    assert_eq!(read_all(&*target), read_all(&*v));

    // A manifest naming a chunk the repository lacks, or not covering its
    // size, is refused and leaves nothing behind.
    let mut missing = m.clone();
    missing.chunks[0] = Some("ab".repeat(32));
    assert!(repo.import("b3", &missing).is_err());
    let mut short = m.clone();
    short.chunks.pop();
    assert!(repo.import("b3", &short).is_err());
    assert!(!repo.exists("b3").unwrap());
}

#[test]
fn identical_chunks_hashed_at_once_are_stored_once_and_leave_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let b = MemoryBackend::new();
    let v = volume(&b, "v", 32);
    let same = vec![0x5au8; MIB as usize];
    for i in 0..32 {
        v.write_at(&same, i * MIB).unwrap();
    }
    let stats = repo.backup("b1", &*v, None, &|_| true).unwrap();
    assert_eq!((stats.chunks_read, stats.chunks_zero), (32, 0));
    assert_eq!(repo.usage().unwrap().0, 1);
    let m = repo.manifest("b1").unwrap();
    assert!(m.chunks.iter().all(|c| c == &m.chunks[0] && c.is_some()));
    let target = volume(&b, "t", 32);
    repo.restore("b1", &*target).unwrap();
    assert_eq!(read_all(&*target), read_all(&*v));
    assert!(repo.check().unwrap().problems.is_empty());
    let leftovers: Vec<_> = walk(&dir.path().join("chunks"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn gc_sweeps_what_an_interrupted_put_left() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open_dir(dir.path()).unwrap();
    let fan = dir.path().join("chunks").join("ab");
    std::fs::create_dir_all(&fan).unwrap();
    let stale = fan.join(format!("{}.1.2.tmp", "ab".repeat(32)));
    std::fs::write(&stale, b"half").unwrap();
    repo.gc().unwrap();
    assert!(!stale.exists());
}
