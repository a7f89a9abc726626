//! The engine's behaviour through its public API: thin volumes, snapshots
//! and clones, rollback, space reclamation, recovery, bit rot, concurrency.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use platter_engine::{EngineError, Pool, PoolOptions, BLOCK};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn opts() -> PoolOptions {
    PoolOptions {
        background_commit: None,
        ..Default::default()
    }
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add((i % 253) as u8) | 1)
        .collect()
}

fn read(pool: &Pool, dev: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    pool.open_device(dev)
        .unwrap()
        .read_at(&mut buf, offset)
        .unwrap();
    buf
}

fn write(pool: &Pool, dev: &str, offset: u64, data: &[u8]) {
    pool.open_device(dev)
        .unwrap()
        .write_at(data, offset)
        .unwrap();
}

#[test]
fn a_fresh_terabyte_volume_costs_nothing_and_reads_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    let before = pool.disk_bytes();
    pool.create("v:big", 1 << 40, false, None).unwrap();
    assert!(
        pool.disk_bytes() - before < MIB,
        "a fresh TiB volume is metadata only"
    );
    assert_eq!(
        read(&pool, "v:big", (1 << 40) - BLOCK, 4096),
        vec![0u8; 4096]
    );
    assert_eq!(read(&pool, "v:big", 12345, 100), vec![0u8; 100]);
    assert_eq!(pool.usage().0, 0);
    let io = pool.open_device("v:big").unwrap();
    assert!(io.read_at(&mut [0u8; 1], 1 << 40).is_err(), "past the end");
    assert!(matches!(
        pool.create("v:big", GIB, false, None),
        Err(EngineError::Exists(_))
    ));
}

#[test]
fn writes_read_back_aligned_or_not_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = pattern(1, 3 * MIB as usize);
    let b = pattern(2, 5000);
    {
        let pool = Pool::open(dir.path(), opts()).unwrap();
        pool.create("v:1", 64 * MIB, false, None).unwrap();
        write(&pool, "v:1", 0, &a);
        write(&pool, "v:1", 4095, &b); // unaligned, spans three blocks
        pool.commit().unwrap();
    }
    let pool = Pool::open(dir.path(), opts()).unwrap();
    let mut expect = a.clone();
    expect[4095..4095 + b.len()].copy_from_slice(&b);
    assert_eq!(read(&pool, "v:1", 0, expect.len()), expect);
    assert_eq!(read(&pool, "v:1", 4000, 200), expect[4000..4200].to_vec());
}

#[test]
fn uncommitted_writes_are_old_or_new_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let pool = Pool::open(dir.path(), opts()).unwrap();
        pool.create("v:1", 8 * MIB, false, None).unwrap();
        write(&pool, "v:1", 0, &pattern(1, MIB as usize));
        pool.commit().unwrap();
        write(&pool, "v:1", 0, &pattern(2, MIB as usize));
        // Dropped without a commit: the process "dies" here.
    }
    let pool = Pool::open(dir.path(), opts()).unwrap();
    assert_eq!(
        read(&pool, "v:1", 0, MIB as usize),
        pattern(1, MIB as usize)
    );
}

#[test]
fn snapshots_and_clones_share_and_diverge() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    pool.create("v:1", 16 * MIB, false, None).unwrap();
    write(&pool, "v:1", 0, &pattern(1, 4 * MIB as usize));
    pool.commit().unwrap();
    let live = pool.usage().0;
    pool.create("s:1", 16 * MIB, true, Some("v:1")).unwrap();
    assert_eq!(pool.usage().0, live, "a snapshot allocates nothing");
    write(&pool, "v:1", MIB, &pattern(2, MIB as usize));
    assert_eq!(
        read(&pool, "s:1", MIB, MIB as usize),
        pattern(1, 4 * MIB as usize)[MIB as usize..2 * MIB as usize]
    );
    assert_eq!(
        read(&pool, "v:1", MIB, MIB as usize),
        pattern(2, MIB as usize)
    );
    assert!(
        pool.open_device("s:1").unwrap().write_at(b"x", 0).is_err(),
        "snapshots are immutable"
    );

    // A clone of the snapshot, bigger, diverging on its own.
    pool.create("v:2", 32 * MIB, false, Some("s:1")).unwrap();
    write(&pool, "v:2", 0, &pattern(3, 4096));
    assert_eq!(read(&pool, "s:1", 0, 4096), pattern(1, 4096));
    assert_eq!(read(&pool, "v:2", 0, 4096), pattern(3, 4096));
    assert_eq!(
        read(&pool, "v:2", 4096, 4096),
        pattern(1, 8192)[4096..].to_vec()
    );
    assert_eq!(read(&pool, "v:2", 20 * MIB, 4096), vec![0u8; 4096]);

    // Deleting the snapshot keeps what the clone shares; deleting all frees all.
    pool.delete("s:1").unwrap();
    assert_eq!(
        read(&pool, "v:2", 2 * MIB, 4096),
        pattern(1, 4 * MIB as usize)[2 * MIB as usize..2 * MIB as usize + 4096]
    );
    pool.delete("v:1").unwrap();
    assert_eq!(
        read(&pool, "v:2", 3 * MIB, 4096),
        pattern(1, 4 * MIB as usize)[3 * MIB as usize..3 * MIB as usize + 4096]
    );
    pool.delete("v:2").unwrap();
    pool.commit().unwrap();
    assert_eq!(pool.usage().0, 0, "every block freed");
    assert!(pool.usage().1 < MIB, "and its disk space given back");
}

#[test]
fn rollback_restores_the_snapshot_and_extend_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    pool.create("v:1", 4 * MIB, false, None).unwrap();
    write(&pool, "v:1", 0, &pattern(1, MIB as usize));
    pool.create("s:1", 4 * MIB, true, Some("v:1")).unwrap();
    pool.resize("v:1", 8 * MIB).unwrap();
    assert!(pool.resize("v:1", 2 * MIB).is_err(), "no shrinking");
    write(&pool, "v:1", 0, &pattern(2, MIB as usize));
    write(&pool, "v:1", 6 * MIB, &pattern(3, 4096));
    assert_eq!(pool.device_size("v:1").unwrap(), 8 * MIB);
    pool.rollback("v:1", "s:1").unwrap();
    assert_eq!(
        read(&pool, "v:1", 0, MIB as usize),
        pattern(1, MIB as usize)
    );
    assert_eq!(
        read(&pool, "v:1", 6 * MIB, 4096),
        vec![0u8; 4096],
        "past the snapshot: zeros"
    );
    assert_eq!(
        pool.device_size("v:1").unwrap(),
        8 * MIB,
        "the volume keeps its size"
    );
    drop(pool);
    let pool = Pool::open(dir.path(), opts()).unwrap();
    assert_eq!(
        read(&pool, "v:1", 0, MIB as usize),
        pattern(1, MIB as usize)
    );
}

#[test]
fn trim_and_zeroes_give_space_back() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    pool.create("v:1", 64 * MIB, false, None).unwrap();
    write(&pool, "v:1", 0, &pattern(1, 16 * MIB as usize));
    pool.commit().unwrap();
    let (live, disk) = pool.usage();
    assert_eq!(live, 16 * MIB);
    assert!(disk >= 16 * MIB);
    let io = pool.open_device("v:1").unwrap();
    io.write_zeroes(100, 8 * MIB).unwrap(); // unaligned start: the edge block keeps its first 100 bytes
    io.write_zeroes(8 * MIB + 100, 8 * MIB - 100).unwrap();
    pool.commit().unwrap();
    let (live, disk) = pool.usage();
    assert!(live <= 2 * BLOCK, "{live}");
    assert!(disk <= 4 * BLOCK + MIB, "{disk}");
    assert_eq!(read(&pool, "v:1", 0, 100), pattern(1, 100));
    assert_eq!(read(&pool, "v:1", 100, 4096), vec![0u8; 4096]);
    // Writing zeros maps nothing either.
    write(&pool, "v:1", 32 * MIB, &vec![0u8; MIB as usize]);
    pool.commit().unwrap();
    assert!(pool.usage().0 <= 2 * BLOCK);
}

#[test]
fn a_flipped_bit_is_an_error_naming_the_volume_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let pool = Pool::open(dir.path(), opts()).unwrap();
        pool.create("v:rot", 4 * MIB, false, None).unwrap();
        write(&pool, "v:rot", 0, &pattern(7, MIB as usize));
        pool.close().unwrap();
    }
    // Find the physical block behind offset 64 KiB and flip one byte of it.
    let pblock = {
        let pool = Pool::open(dir.path(), opts()).unwrap();
        let report = pool.scrub().unwrap();
        assert_eq!(report.blocks_checked, 256);
        assert!(report.errors.is_empty());
        pool.physical_block("v:rot", 16).unwrap().unwrap()
    };
    let data = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join("data"))
        .unwrap();
    let mut byte = [0u8];
    data.read_exact_at(&mut byte, pblock * BLOCK + 17).unwrap();
    data.write_all_at(&[byte[0] ^ 0x10], pblock * BLOCK + 17)
        .unwrap();
    data.sync_all().unwrap();

    let pool = Pool::open(dir.path(), opts()).unwrap();
    let io = pool.open_device("v:rot").unwrap();
    let mut buf = vec![0u8; 4096];
    match io.read_at(&mut buf, 16 * BLOCK) {
        Err(EngineError::Checksum { device, offset, .. }) => {
            assert_eq!(device, "v:rot");
            assert_eq!(offset, 16 * BLOCK);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    let err = io
        .read_at(&mut vec![0u8; 1 << 17], 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("v:rot") && err.contains("65536"), "{err}");
    // Every other block reads fine.
    assert!(io.read_at(&mut buf, 15 * BLOCK).is_ok());
    assert!(io.read_at(&mut buf, 17 * BLOCK).is_ok());
    let report = pool.scrub().unwrap();
    assert_eq!(report.errors.len(), 1);
    assert_eq!(
        (report.errors[0].device.as_str(), report.errors[0].offset),
        ("v:rot", 16 * BLOCK)
    );
    // Rewriting the block heals it.
    io.write_at(&pattern(9, 4096), 16 * BLOCK).unwrap();
    assert!(io.read_at(&mut buf, 16 * BLOCK).is_ok());
}

#[test]
fn many_threads_read_and_write_one_volume() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), PoolOptions::default()).unwrap();
    pool.create("v:1", 64 * MIB, false, None).unwrap();
    let io = Arc::new(pool.open_device("v:1").unwrap());
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let io = io.clone();
            std::thread::spawn(move || {
                let base = t as u64 * 8 * MIB;
                for round in 0..20u8 {
                    for k in 0..16u64 {
                        let data = pattern(t.wrapping_mul(50).wrapping_add(round), 64 * 1024);
                        io.write_at(&data, base + k * 64 * 1024).unwrap();
                        let mut back = vec![0u8; data.len()];
                        io.read_at(&mut back, base + k * 64 * 1024).unwrap();
                        assert_eq!(back, data);
                    }
                    if round % 5 == 0 {
                        io.flush().unwrap();
                    }
                }
            })
        })
        .collect();
    // Snapshots taken while the writers run are each a consistent point in time per writer.
    for i in 0..5 {
        pool.create(&format!("s:{i}"), 64 * MIB, true, Some("v:1"))
            .unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    for t in 0..8u8 {
        let expect = pattern(t.wrapping_mul(50).wrapping_add(19), 64 * 1024);
        assert_eq!(read(&pool, "v:1", t as u64 * 8 * MIB, 64 * 1024), expect);
    }
    drop(io);
    pool.close().unwrap();
    let pool2_dir = dir.path().to_path_buf();
    drop(pool);
    let pool = Pool::open(&pool2_dir, opts()).unwrap();
    for t in 0..8u8 {
        let expect = pattern(t.wrapping_mul(50).wrapping_add(19), 64 * 1024);
        assert_eq!(
            read(&pool, "v:1", t as u64 * 8 * MIB + 15 * 64 * 1024, 64 * 1024),
            expect
        );
    }
}

#[test]
fn checkpoints_and_journal_rotation_keep_everything() {
    let dir = tempfile::tempdir().unwrap();
    let small = PoolOptions {
        checkpoint_after_bytes: 4096,
        background_commit: None,
        ..Default::default()
    };
    {
        let pool = Pool::open(dir.path(), small.clone()).unwrap();
        pool.create("v:1", 16 * MIB, false, None).unwrap();
        for i in 0..200u64 {
            write(&pool, "v:1", (i % 64) * 64 * 1024, &pattern(i as u8, 4096));
            if i % 10 == 0 {
                pool.commit().unwrap();
            }
            if i == 100 {
                pool.create("s:mid", 16 * MIB, true, Some("v:1")).unwrap();
            }
        }
        pool.commit().unwrap();
    }
    let pool = Pool::open(dir.path(), small).unwrap();
    for i in 136..200u64 {
        assert_eq!(
            read(&pool, "v:1", (i % 64) * 64 * 1024, 4096),
            pattern(i as u8, 4096),
            "block of write {i}"
        );
    }
    assert_eq!(
        read(&pool, "s:mid", (100 % 64) * 64 * 1024, 4096),
        pattern(100, 4096)
    );
    let journals = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("journal.")
        })
        .count();
    assert_eq!(journals, 1, "old journals are removed after a checkpoint");
}

#[test]
fn a_second_process_cannot_open_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let _pool = Pool::open(dir.path(), opts()).unwrap();
    assert!(Pool::open(dir.path(), opts()).is_err());
}

/// A writer bumps a counter in `v:a` and then in `v:b`, each write returned
/// before the next starts. A set of snapshots taken at one instant sees
/// `b == a` or `b == a - 1`; snapshots taken one after the other would let
/// `b` run ahead of `a`.
#[test]
fn a_snapshot_set_is_one_instant_across_devices() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    for dev in ["v:a", "v:b"] {
        pool.create(dev, 4 * MIB, false, None).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (pool, stop) = (pool.clone(), stop.clone());
        std::thread::spawn(move || {
            let (a, b) = (
                pool.open_device("v:a").unwrap(),
                pool.open_device("v:b").unwrap(),
            );
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // Unaligned, so each is a read-modify-write under the device lock.
                a.write_at(&n.to_le_bytes(), 100).unwrap();
                b.write_at(&n.to_le_bytes(), 100).unwrap();
            }
            n
        })
    };
    let counter = |dev: &str| u64::from_le_bytes(read(&pool, dev, 100, 8).try_into().unwrap());
    let mut seen = 0;
    for i in 0..40 {
        let (sa, sb) = (format!("s:a{i}"), format!("s:b{i}"));
        pool.snapshot_many(&[(&sa, "v:a"), (&sb, "v:b")]).unwrap();
        let (a, b) = (counter(&sa), counter(&sb));
        assert!(b == a || b + 1 == a, "cut {i}: a={a} b={b}");
        seen = seen.max(a);
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(seen > 0 && written > 0, "the writer ran during the cuts");
}

#[test]
fn a_snapshot_set_is_idempotent_and_retakes_a_partial_set() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    for dev in ["v:a", "v:b"] {
        pool.create(dev, MIB, false, None).unwrap();
        write(&pool, dev, 0, &pattern(1, 4096));
    }
    // A partial set, as a crash between the records could leave: s:a from
    // another instant than the one the set is taken at.
    pool.create("s:a", MIB, true, Some("v:a")).unwrap();
    write(&pool, "v:a", 0, &pattern(2, 4096));
    write(&pool, "v:b", 0, &pattern(2, 4096));
    pool.snapshot_many(&[("s:a", "v:a"), ("s:b", "v:b")])
        .unwrap();
    assert_eq!(read(&pool, "s:a", 0, 4096), pattern(2, 4096));
    assert_eq!(read(&pool, "s:b", 0, 4096), pattern(2, 4096));
    // A whole set is left as it is.
    write(&pool, "v:a", 0, &pattern(3, 4096));
    pool.snapshot_many(&[("s:a", "v:a"), ("s:b", "v:b")])
        .unwrap();
    assert_eq!(read(&pool, "s:a", 0, 4096), pattern(2, 4096));
    assert!(pool.open_device("s:a").unwrap().write_at(b"x", 0).is_err());
    // A missing source changes nothing.
    assert!(matches!(
        pool.snapshot_many(&[("s:c", "v:a"), ("s:d", "v:nope")]),
        Err(EngineError::NoDevice(_))
    ));
    assert!(!pool.exists("s:c"));
    // Durable: the set is there after a reopen.
    drop(pool);
    let pool = Pool::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&pool, "s:b", 0, 4096), pattern(2, 4096));
}

#[test]
fn changed_blocks_between_a_snapshot_and_its_volume_are_exactly_the_rewritten_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    pool.create("v:1", 4 * GIB, false, None).unwrap();
    write(&pool, "v:1", 0, &pattern(1, 8 * MIB as usize));
    write(&pool, "v:1", 3 * GIB, &pattern(2, MIB as usize));
    pool.create("s:base", 4 * GIB, true, Some("v:1")).unwrap();
    assert_eq!(pool.changed_blocks("s:base", "v:1").unwrap(), vec![]);
    // Rewrites (one unaligned, spanning two blocks), a new block far
    // away, and a rewrite with the very same bytes (still a change: the
    // engine tracks blocks, not contents).
    write(&pool, "v:1", 5 * BLOCK + 100, &pattern(3, 4096));
    write(&pool, "v:1", 2 * GIB, &pattern(4, 8192));
    write(&pool, "v:1", 3 * GIB, &pattern(2, 4096));
    let runs = pool.changed_blocks("s:base", "v:1").unwrap();
    let g = GIB / BLOCK;
    assert_eq!(runs, vec![(5, 2), (2 * g, 2), (3 * g, 1)]);
    // Symmetric, and the same after a reopen (trees rebuilt from disk).
    assert_eq!(pool.changed_blocks("v:1", "s:base").unwrap(), runs);
    pool.commit().unwrap();
    drop(pool);
    let pool = Pool::open(dir.path(), opts()).unwrap();
    assert_eq!(pool.changed_blocks("s:base", "v:1").unwrap(), runs);
    // A grown device: the new tail counts as changed.
    pool.resize("v:1", 4 * GIB + MIB).unwrap();
    let grown = pool.changed_blocks("s:base", "v:1").unwrap();
    assert_eq!(grown.last(), Some(&(4 * g, MIB / BLOCK)));
}

#[test]
fn the_backend_reports_changed_byte_ranges_for_incremental_backups() {
    use platter_backend::StorageBackend;
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::open(dir.path(), opts()).unwrap();
    pool.create_volume("vol", 64 * MIB).unwrap();
    pool.open_volume("vol")
        .unwrap()
        .write_at(&pattern(5, MIB as usize), 0)
        .unwrap();
    pool.create_snapshot("vol", "base").unwrap();
    pool.open_volume("vol")
        .unwrap()
        .write_at(&pattern(6, 10), 40 * MIB + 1)
        .unwrap();
    pool.create_snapshot("vol", "next").unwrap();
    assert_eq!(
        pool.changed_ranges("base", "next").unwrap(),
        Some(vec![(40 * MIB, BLOCK)])
    );
    assert!(pool.changed_ranges("nope", "next").is_err());
}
