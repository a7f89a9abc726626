//! Backup benchmark: Platter's backup repository against the tools an
//! operator would otherwise use to keep a volume's bytes (`zstd` on the raw
//! image, `qemu-img convert -c` to a compressed qcow2), on the same data in
//! the same run. Run by `bench/backup.sh`; prints a Markdown report.
//!
//! The data (default 4 GiB): per 1 MiB, 40% holes, 20% random bytes, 30%
//! text-like bytes (compressible about 3x), 10% copies of earlier chunks.
//! Measured: a full backup, an incremental after 1% of the chunks change,
//! a second full backup of unchanged data (deduplicated), a restore; the
//! peers compress (and decompress) the whole image each time, each with
//! every core it can use (`zstd -T0`, `qemu-img convert -m 8 -W`), as
//! Platter's workers do.
//!
//! `backup-bench [--dir DIR] [--gib N]`

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use platter_backend::StorageBackend;
use platter_backup::Repository;
use platter_engine::{Pool, PoolOptions};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const WORDS: &[&str] = &[
    "volume", "snapshot", "backup", "the", "of", "block", "storage", "and", "chunk", "data",
    "restore", "a", "to", "in", "platter", "manifest", "hash", "zstd", "engine", "pool",
];

/// Chunk `i`'s bytes (`None`: a hole), and for a copy, the chunk copied.
fn chunk(i: u64, buf: &mut [u8], version: u64) -> bool {
    let kind = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) % 10;
    let seed = match kind {
        0..=3 => return false,
        9 if i > 16 => i / 3, // a copy of an earlier chunk's bytes
        _ => i,
    } ^ (version << 40);
    let mut r = Rng(seed | 1);
    if (4..=5).contains(&kind) {
        for c in buf.chunks_mut(8) {
            c.copy_from_slice(&r.next().to_le_bytes()[..c.len()]);
        }
    } else {
        let mut pos = 0;
        while pos < buf.len() {
            let w = WORDS[(r.next() % WORDS.len() as u64) as usize].as_bytes();
            let n = w.len().min(buf.len() - pos);
            buf[pos..pos + n].copy_from_slice(&w[..n]);
            pos += n;
            if pos < buf.len() {
                buf[pos] = b' ';
                pos += 1;
            }
        }
    }
    true
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn run(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().expect("running a peer tool");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            total += dir_size(&path);
        } else {
            total += file_size(&path);
        }
    }
    total
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut gib = 4u64;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().map(PathBuf::from),
            "--gib" => gib = args.next().and_then(|v| v.parse().ok()).expect("--gib N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let tmp = tempfile::tempdir_in(dir.unwrap_or_else(std::env::temp_dir)).expect("tempdir");
    let root = tmp.path();
    let size = gib * GIB;
    let chunks = size / MIB;

    // The same bytes in an engine volume and in a raw file (with holes).
    let pool = Pool::open(
        root.join("pool"),
        PoolOptions {
            background_commit: None,
            ..Default::default()
        },
    )
    .expect("pool");
    pool.create_volume("v", size).expect("volume");
    let io = pool.open_volume("v").expect("open");
    let raw = root.join("src.raw");
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&raw)
        .expect("raw file");
    file.set_len(size).expect("raw size");
    let mut buf = vec![0u8; MIB as usize];
    let mut data_chunks = 0;
    for i in 0..chunks {
        if chunk(i, &mut buf, 0) {
            io.write_at(&buf, i * MIB).expect("engine write");
            file.write_all_at(&buf, i * MIB).expect("file write");
            data_chunks += 1;
        }
    }
    io.flush().expect("flush");
    file.sync_all().expect("sync");

    let repo = Repository::open_dir(&root.join("repo")).expect("repository");
    pool.create_snapshot("v", "s1").expect("snapshot");
    let s1 = pool.open_snapshot("s1").expect("open snapshot");
    let t = Instant::now();
    let full = repo
        .backup("b1", &*s1, None, &|_| true)
        .expect("full backup");
    let p_full = t.elapsed();
    let stored_full = repo.usage().expect("usage").1;

    // 1% of the chunks change.
    let mut r = Rng(7);
    let changed = (chunks / 100).max(1);
    for _ in 0..changed {
        let i = r.next() % chunks;
        let mut b = vec![0u8; MIB as usize];
        if !chunk(i, &mut b, 1) {
            chunk(i + 1, &mut b, 1);
        }
        io.write_at(&b, i * MIB).expect("engine write");
        file.write_all_at(&b, i * MIB).expect("file write");
    }
    io.flush().expect("flush");
    file.sync_all().expect("sync");
    pool.create_snapshot("v", "s2").expect("snapshot");
    let s2 = pool.open_snapshot("s2").expect("open snapshot");
    let t = Instant::now();
    let ranges = pool.changed_ranges("s1", "s2").expect("diff");
    let mut dirty = vec![ranges.is_none(); chunks as usize];
    for (off, len) in ranges.into_iter().flatten() {
        if len == 0 {
            continue;
        }
        for c in (off / MIB)..=((off + len - 1) / MIB) {
            dirty[c as usize] = true;
        }
    }
    let inc = repo
        .backup("b2", &*s2, Some("b1"), &|i| dirty[i])
        .expect("incremental backup");
    let p_inc = t.elapsed();
    let stored_inc = repo.usage().expect("usage").1 - stored_full;

    // A second full backup of unchanged data: nothing new is stored.
    let before = repo.usage().expect("usage").1;
    let t = Instant::now();
    repo.backup("b3", &*s2, None, &|_| true)
        .expect("second full");
    let p_again = t.elapsed();
    let stored_again = repo.usage().expect("usage").1 - before;

    // Restore into a fresh volume.
    pool.create_volume("r", size).expect("restore target");
    let target = pool.open_volume("r").expect("open target");
    let t = Instant::now();
    repo.restore("b2", &*target).expect("restore");
    let p_restore = t.elapsed();

    // The peers, on the raw file as it is now (after the 1% change).
    let zst = root.join("src.zst");
    let z_full = run(Command::new("zstd")
        .args(["-3", "-T0", "-q", "-f"])
        .arg(&raw)
        .arg("-o")
        .arg(&zst));
    let z_size = file_size(&zst);
    let z_out = root.join("z.raw");
    let z_restore = run(Command::new("zstd")
        .args(["-d", "-q", "-f"])
        .arg(&zst)
        .arg("-o")
        .arg(&z_out));
    let qcow = root.join("src.qcow2");
    let q_full = run(Command::new("qemu-img")
        .args(["convert", "-c", "-m", "8", "-W", "-f", "raw", "-O", "qcow2"])
        .arg(&raw)
        .arg(&qcow));
    let q_size = file_size(&qcow);
    let q_out = root.join("q.raw");
    let q_restore = run(Command::new("qemu-img")
        .args(["convert", "-m", "8", "-W", "-f", "qcow2", "-O", "raw"])
        .arg(&qcow)
        .arg(&q_out));

    let logical = data_chunks * MIB;
    let repo_bytes = dir_size(&root.join("repo"));
    println!(
        "### {gib} GiB volume, {} MiB of data ({}% holes, 10% duplicate chunks)\n",
        logical / MIB,
        (chunks - data_chunks) * 100 / chunks
    );
    println!("| operation | Platter | zstd -3 -T0 | qemu-img convert -c -m 8 -W (qcow2) | Platter / zstd | Platter / qemu-img |");
    println!("|---|---|---|---|---|---|");
    let row = |what: &str, p: Duration, z: Duration, q: Duration| {
        println!(
            "| {what} | {:.2} s | {:.2} s | {:.2} s | {:.2} | {:.2} |",
            secs(p),
            secs(z),
            secs(q),
            secs(p) / secs(z),
            secs(p) / secs(q)
        );
    };
    row("full backup", p_full, z_full, q_full);
    row("incremental after 1% changed", p_inc, z_full, q_full);
    row("second full, data unchanged", p_again, z_full, q_full);
    row("restore", p_restore, z_restore, q_restore);
    let mb = |b: u64| b as f64 / MIB as f64;
    println!();
    println!("| stored | Platter | zstd | qemu-img | Platter / zstd | Platter / qemu-img |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| one full backup | {:.0} MiB | {:.0} MiB | {:.0} MiB | {:.2} | {:.2} |",
        mb(stored_full),
        mb(z_size),
        mb(q_size),
        stored_full as f64 / z_size as f64,
        stored_full as f64 / q_size as f64
    );
    println!(
        "| the incremental | {:.1} MiB | {:.0} MiB (a whole new file) | {:.0} MiB | {:.3} | {:.3} |",
        mb(stored_inc),
        mb(z_size),
        mb(q_size),
        stored_inc as f64 / z_size as f64,
        stored_inc as f64 / q_size as f64
    );
    println!(
        "| the second full | {:.1} MiB | {:.0} MiB | {:.0} MiB | {:.3} | {:.3} |",
        mb(stored_again),
        mb(z_size),
        mb(q_size),
        stored_again as f64 / z_size as f64,
        stored_again as f64 / q_size as f64
    );
    println!();
    println!(
        "Three backups hold {:.0} MiB of data as {:.0} MiB in the repository (chunks and manifests): a dedup-and-compression ratio of {:.1}. The full backup read {} chunks ({} of them zeros, holes unread); the incremental read {} of {}.",
        mb(3 * logical),
        mb(repo_bytes),
        (3 * logical) as f64 / repo_bytes as f64,
        full.chunks_read,
        full.chunks_zero,
        inc.chunks_read,
        chunks
    );
}
