//! Engine benchmark: snapshot and clone latency against volume size, the
//! disk cost of a fresh 1 TiB volume, and throughput of the engine against
//! the same workload on a plain preallocated file, fresh and with 50
//! snapshots in the volume's history. Run by `bench/engine.sh`.
//!
//! `engine-bench [--dir DIR] [--gib N]`

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use platter_engine::{DeviceIo, Pool, PoolOptions};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

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

/// Something to read and write at offsets.
trait Target {
    fn write(&self, buf: &[u8], offset: u64);
    fn read(&self, buf: &mut [u8], offset: u64);
}

impl Target for File {
    fn write(&self, buf: &[u8], offset: u64) {
        self.write_all_at(buf, offset).expect("plain write");
    }
    fn read(&self, buf: &mut [u8], offset: u64) {
        self.read_exact_at(buf, offset).expect("plain read");
    }
}

impl Target for DeviceIo {
    fn write(&self, buf: &[u8], offset: u64) {
        self.write_at(buf, offset).expect("engine write");
    }
    fn read(&self, buf: &mut [u8], offset: u64) {
        self.read_at(buf, offset).expect("engine read");
    }
}

fn fill(buf: &mut [u8], seed: u64) {
    let mut r = Rng(seed | 1);
    for chunk in buf.chunks_mut(8) {
        let v = r.next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

#[derive(Clone, Copy)]
enum Workload {
    SeqWrite,
    SeqRead,
    RandWrite,
    RandRead,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::SeqWrite => "1 MiB sequential write",
            Workload::SeqRead => "1 MiB sequential read",
            Workload::RandWrite => "4 KiB random write",
            Workload::RandRead => "4 KiB random read",
        }
    }
}

/// Runs a workload over `size` bytes for at least `min` time; returns bytes/second.
fn run(target: &dyn Target, w: Workload, size: u64, min: Duration) -> f64 {
    run_limited(target, w, size, min, u64::MAX)
}

/// The same, stopping after `max_ops` operations (cold-cache runs must not
/// read their working set twice).
fn run_limited(target: &dyn Target, w: Workload, size: u64, min: Duration, max_ops: u64) -> f64 {
    let (bs, random) = match w {
        Workload::SeqWrite | Workload::SeqRead => (MIB as usize, false),
        Workload::RandWrite | Workload::RandRead => (4096usize, true),
    };
    let mut buf = vec![0u8; bs];
    fill(&mut buf, 7);
    let blocks = size / bs as u64;
    let mut rng = Rng(42);
    let start = Instant::now();
    let mut done = 0u64;
    let mut i = 0u64;
    loop {
        for _ in 0..256 {
            let block = if random {
                rng.next() % blocks
            } else {
                i % blocks
            };
            let off = block * bs as u64;
            match w {
                Workload::SeqWrite | Workload::RandWrite => {
                    buf[0] = i as u8;
                    target.write(&buf, off)
                }
                _ => target.read(&mut buf, off),
            }
            i += 1;
            done += bs as u64;
        }
        if i >= max_ops || (start.elapsed() >= min && (random || i >= blocks)) {
            break;
        }
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn fmt_rate(w: Workload, bytes_per_sec: f64) -> String {
    match w {
        Workload::RandWrite | Workload::RandRead => format!("{:>9.0} IOPS", bytes_per_sec / 4096.0),
        _ => format!("{:>8.0} MiB/s", bytes_per_sec / MIB as f64),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn write_gib(io: &DeviceIo, gib: u64, spread: u64) {
    let mut buf = vec![0u8; MIB as usize];
    fill(&mut buf, 3);
    for i in 0..gib * 1024 {
        // With a spread, each MiB lands in a different GiB of the volume.
        let off = if spread > 0 {
            (i * spread) % (io.size().unwrap_or(GIB) - MIB) / MIB * MIB
        } else {
            i * MIB
        };
        buf[0] = i as u8;
        io.write_at(&buf, off).expect("write");
    }
}

fn latency(pool: &Pool, vol: &str, n: usize) -> (Duration, Duration) {
    let mut snaps = Vec::new();
    let mut clones = Vec::new();
    for i in 0..n {
        let s = format!("{vol}-snap{i}");
        let t = Instant::now();
        pool.create(&s, pool.device_size(vol).unwrap(), true, Some(vol))
            .expect("snapshot");
        snaps.push(t.elapsed());
        let c = format!("{vol}-clone{i}");
        let t = Instant::now();
        pool.create(&c, pool.device_size(vol).unwrap(), false, Some(&s))
            .expect("clone");
        clones.push(t.elapsed());
    }
    (median(snaps), median(clones))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let base = std::path::PathBuf::from(
        arg("--dir").unwrap_or_else(|| "/tmp/platter-engine-bench".into()),
    );
    let gib: u64 = arg("--gib").and_then(|v| v.parse().ok()).unwrap_or(1);
    let min = Duration::from_millis(arg("--ms").and_then(|v| v.parse().ok()).unwrap_or(2000));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("bench dir");
    // No background commits: the plain file gets none either (both run at page-cache speed).
    let pool = Pool::open(
        base.join("pool"),
        PoolOptions {
            background_commit: None,
            ..Default::default()
        },
    )
    .expect("pool");

    println!("# Platter engine benchmark");
    println!();
    println!("## Snapshot and clone latency (median of 5), each volume with {gib} GiB written");
    println!();
    println!("| volume | snapshot | clone |");
    println!("|---|---|---|");
    pool.create("v:small", gib * GIB, false, None).unwrap();
    write_gib(&pool.open_device("v:small").unwrap(), gib, 0);
    pool.commit().unwrap();
    let (s1, c1) = latency(&pool, "v:small", 5);
    println!(
        "| {gib} GiB | {:.2} ms | {:.2} ms |",
        s1.as_secs_f64() * 1e3,
        c1.as_secs_f64() * 1e3
    );
    pool.create("v:huge", TIB, false, None).unwrap();
    write_gib(&pool.open_device("v:huge").unwrap(), gib, GIB + MIB);
    pool.commit().unwrap();
    let (s2, c2) = latency(&pool, "v:huge", 5);
    println!(
        "| 1 TiB | {:.2} ms | {:.2} ms |",
        s2.as_secs_f64() * 1e3,
        c2.as_secs_f64() * 1e3
    );
    println!(
        "| ratio 1 TiB / {gib} GiB | {:.2} | {:.2} |",
        s2.as_secs_f64() / s1.as_secs_f64(),
        c2.as_secs_f64() / c1.as_secs_f64()
    );
    for n in pool.device_names() {
        pool.delete(&n).unwrap();
    }
    pool.checkpoint().unwrap();

    println!();
    println!("## Disk cost of a fresh 1 TiB volume");
    println!();
    let before = pool.disk_bytes();
    pool.create("v:fresh", TIB, false, None).unwrap();
    pool.checkpoint().unwrap();
    let after = pool.disk_bytes();
    println!(
        "{} bytes on disk for the pool after creating it ({} bytes more than before)",
        after,
        after.saturating_sub(before)
    );
    pool.delete("v:fresh").unwrap();

    // Throughput: a plain file written in full beforehand, and an engine volume.
    let size = gib * GIB;
    let plain_path = base.join("plain.img");
    let plain = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&plain_path)
        .unwrap();
    let mut buf = vec![0u8; MIB as usize];
    fill(&mut buf, 9);
    for i in 0..size / MIB {
        plain.write_all_at(&buf, i * MIB).unwrap();
    }
    plain.sync_all().unwrap();
    pool.create("v:io", size, false, None).unwrap();
    let io = pool.open_device("v:io").unwrap();
    for i in 0..size / MIB {
        io.write_at(&buf, i * MIB).unwrap();
    }
    pool.commit().unwrap();

    let workloads = [
        Workload::SeqWrite,
        Workload::SeqRead,
        Workload::RandWrite,
        Workload::RandRead,
    ];
    let drop_caches = || {
        let _ = plain.sync_all();
        // SAFETY: posix_fadvise on an open descriptor with plain integer arguments.
        unsafe { libc::posix_fadvise(plain.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let _ = pool.drop_caches();
    };
    let table = |title: &str, io: &DeviceIo| {
        println!();
        println!("## {title}");
        println!();
        println!("| workload | plain file | engine | engine / plain |");
        println!("|---|---|---|---|");
        for w in workloads {
            let p = run(&plain, w, size, min);
            let e = run(io, w, size, min);
            println!(
                "| {} | {} | {} | {:.2} |",
                w.name(),
                fmt_rate(w, p),
                fmt_rate(w, e),
                e / p
            );
            let _ = pool.commit();
        }
        // Sequential reads with an empty page cache show the layout: blocks
        // rewritten out of place are no longer contiguous on disk. (Cold
        // random reads are left out: on this kind of VM the host caches the
        // disk, and the figures could not be explained.)
        let w = Workload::SeqRead;
        drop_caches();
        let p = run_limited(&plain, w, size, Duration::ZERO, 256);
        drop_caches();
        let e = run_limited(io, w, size, Duration::ZERO, 256);
        println!(
            "| {}, cold cache | {} | {} | {:.2} |",
            w.name(),
            fmt_rate(w, p),
            fmt_rate(w, e),
            e / p
        );
    };
    table(
        &format!("Throughput on a {gib} GiB volume, one thread"),
        &io,
    );

    // 50 snapshots, each after 2000 random 4 KiB overwrites.
    let mut rng = Rng(99);
    let mut small = vec![0u8; 4096];
    fill(&mut small, 5);
    for s in 0..50 {
        for _ in 0..2000 {
            let off = (rng.next() % (size / 4096)) * 4096;
            io.write_at(&small, off).unwrap();
        }
        pool.create(&format!("s:hist{s}"), size, true, Some("v:io"))
            .unwrap();
    }
    table("The same with 50 snapshots in the volume's history", &io);
    println!();
    let (live, disk) = pool.usage();
    println!(
        "pool at the end: {} MiB live, {} MiB on disk",
        live / MIB,
        disk / MIB
    );
    drop(io);
    let _ = pool.close();
    let _ = std::fs::remove_dir_all(&base);
}
