//! Crash harness for the engine: a child process writes, trims, flushes,
//! snapshots and rolls back in a loop; the parent kills it with SIGKILL at a
//! random moment, reopens the pool and checks that
//!
//! - the volume equals the model after *some* prefix of the operations, no
//!   shorter than the last acknowledged flush (an unflushed write is old or
//!   new, never garbage, and flushed writes are never lost);
//! - every snapshot that exists holds exactly the volume's content at the
//!   moment it was taken, and the set of snapshots matches that prefix;
//! - every block reads back with a valid checksum.
//!
//! `platter-crashtest run DIR [--iterations N] [--seed S]`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use platter_engine::{Pool, PoolOptions, BLOCK};

const VOLUME: &str = "v:main";
const SIZE: u64 = 16 << 20;
const BLOCKS: usize = (SIZE / BLOCK) as usize;
const MAX_SNAPSHOTS: usize = 4;

/// xorshift64*: small, deterministic, good enough for workloads.
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
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write { offset: u64, len: u64 },
    Zero { offset: u64, len: u64 },
    Flush,
    Snapshot,
    DeleteSnapshot,
    Rollback { pick: u64 },
}

/// The same sequence in the child and in the parent.
fn gen_op(rng: &mut Rng) -> Op {
    match rng.below(100) {
        0..=44 => {
            let blocks = 1 + rng.below(64);
            let start = rng.below(BLOCKS as u64 - blocks);
            Op::Write {
                offset: start * BLOCK,
                len: blocks * BLOCK,
            }
        }
        45..=64 => {
            let len = 1 + rng.below(20_000);
            Op::Write {
                offset: rng.below(SIZE - len),
                len,
            }
        }
        65..=74 => {
            let len = 1 + rng.below(256 * 1024);
            Op::Zero {
                offset: rng.below(SIZE - len),
                len,
            }
        }
        75..=88 => Op::Flush,
        89..=93 => Op::Snapshot,
        94..=96 => Op::DeleteSnapshot,
        _ => Op::Rollback { pick: rng.next() },
    }
}

fn content(op_index: u64, offset: u64, len: u64) -> Vec<u8> {
    let salt = (op_index as u8).wrapping_mul(37) | 1;
    (0..len)
        .map(|i| salt ^ (((offset + i) >> 3) as u8) ^ ((offset + i) as u8).rotate_left(3))
        .collect()
}

/// The model: the volume's bytes and the snapshots (name → bytes), in order.
#[derive(Clone)]
struct Model {
    volume: Vec<u8>,
    snapshots: BTreeMap<u64, Vec<u8>>,
}

impl Model {
    fn new() -> Model {
        Model {
            volume: vec![0u8; SIZE as usize],
            snapshots: BTreeMap::new(),
        }
    }

    /// Applies op `i`; returns the byte range of the volume it touched.
    fn apply(&mut self, i: u64, op: &Op) -> Option<(u64, u64)> {
        match op {
            Op::Write { offset, len } => {
                self.volume[*offset as usize..(*offset + *len) as usize]
                    .copy_from_slice(&content(i, *offset, *len));
                Some((*offset, *len))
            }
            Op::Zero { offset, len } => {
                self.volume[*offset as usize..(*offset + *len) as usize].fill(0);
                Some((*offset, *len))
            }
            Op::Flush => None,
            Op::Snapshot => {
                if self.snapshots.len() < MAX_SNAPSHOTS {
                    self.snapshots.insert(i, self.volume.clone());
                }
                None
            }
            Op::DeleteSnapshot => {
                let first = self.snapshots.keys().next().copied();
                if let Some(k) = first {
                    self.snapshots.remove(&k);
                }
                None
            }
            Op::Rollback { pick } => {
                let keys: Vec<u64> = self.snapshots.keys().copied().collect();
                if keys.is_empty() {
                    return None;
                }
                let k = keys[(*pick % keys.len() as u64) as usize];
                self.volume = self.snapshots[&k].clone();
                Some((0, SIZE))
            }
        }
    }
}

fn snap_name(i: u64) -> String {
    format!("s:{i}")
}

fn child(dir: &str, seed: u64) -> ! {
    let opts = PoolOptions {
        checkpoint_after_bytes: 2 << 20,
        background_commit: Some(Duration::from_millis(20)),
        ..Default::default()
    };
    let pool = Pool::open(dir, opts).unwrap_or_else(|e| fail(&format!("child open: {e}")));
    for name in pool.device_names() {
        pool.delete(&name)
            .unwrap_or_else(|e| fail(&format!("child reset: {e}")));
    }
    pool.create(VOLUME, SIZE, false, None)
        .unwrap_or_else(|e| fail(&format!("child create: {e}")));
    let io = pool
        .open_device(VOLUME)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "READY");
    let _ = out.flush();
    let mut rng = Rng(seed | 1);
    let mut model = Model::new();
    let max_ops: u64 = std::env::var("CRASHTEST_MAX_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    for i in 0.. {
        if i >= max_ops {
            // Die like a killed process: no destructors, no final commit.
            std::process::exit(0);
        }
        let op = gen_op(&mut rng);
        let _ = writeln!(out, "B {i}");
        let _ = out.flush();
        let result = match &op {
            Op::Write { offset, len } => io.write_at(&content(i, *offset, *len), *offset),
            Op::Zero { offset, len } => io.write_zeroes(*offset, *len),
            Op::Flush => io.flush(),
            Op::Snapshot => {
                if model.snapshots.len() < MAX_SNAPSHOTS {
                    pool.create(&snap_name(i), SIZE, true, Some(VOLUME))
                } else {
                    // Control operations commit; a skipped one flushes instead.
                    io.flush()
                }
            }
            Op::DeleteSnapshot => match model.snapshots.keys().next() {
                Some(&k) => pool.delete(&snap_name(k)),
                None => io.flush(),
            },
            Op::Rollback { pick } => {
                let keys: Vec<u64> = model.snapshots.keys().copied().collect();
                if keys.is_empty() {
                    io.flush()
                } else {
                    pool.rollback(
                        VOLUME,
                        &snap_name(keys[(*pick % keys.len() as u64) as usize]),
                    )
                }
            }
        };
        if let Err(e) = result {
            fail(&format!("child op {i} {op:?}: {e}"));
        }
        model.apply(i, &op);
        // Everything up to and including op i is durable.
        if matches!(
            op,
            Op::Flush | Op::Snapshot | Op::DeleteSnapshot | Op::Rollback { .. }
        ) {
            let _ = writeln!(out, "F {}", i + 1);
            let _ = out.flush();
        }
    }
    unreachable!()
}

fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(2)
}

/// Checks the reopened pool against the child's log. Returns a description
/// of the failure, if any.
fn verify(dir: &str, seed: u64, durable: u64, started: u64) -> Result<u64, String> {
    let pool = Pool::open(
        dir,
        PoolOptions {
            background_commit: None,
            ..Default::default()
        },
    )
    .map_err(|e| format!("reopen: {e}"))?;
    let io = pool
        .open_device(VOLUME)
        .map_err(|e| format!("volume: {e}"))?;
    let mut actual = vec![0u8; SIZE as usize];
    io.read_at(&mut actual, 0)
        .map_err(|e| format!("reading the volume: {e}"))?;

    let mut rng = Rng(seed | 1);
    let ops: Vec<Op> = (0..=started).map(|_| gen_op(&mut rng)).collect();
    let mut model = Model::new();
    for (i, op) in ops.iter().enumerate().take(durable as usize) {
        model.apply(i as u64, op);
    }
    let b = BLOCK as usize;
    if std::env::var("CRASHTEST_DEBUG").is_ok() {
        for (i, op) in ops.iter().enumerate() {
            eprintln!("op {i}: {op:?}");
        }
        let diff: Vec<usize> = (0..BLOCKS)
            .filter(|&k| actual[k * b..(k + 1) * b] != model.volume[k * b..(k + 1) * b])
            .collect();
        eprintln!(
            "blocks differing from the model at {durable}: {:?}",
            &diff[..diff.len().min(40)]
        );
        if let Some(&k) = diff.first() {
            let zero = actual[k * b..(k + 1) * b].iter().all(|&x| x == 0);
            eprintln!("first differing block {k}: actual all-zero={zero}, actual[0..8]={:?} model[0..8]={:?}", &actual[k * b..k * b + 8], &model.volume[k * b..k * b + 8]);
        }
    }
    let mut bad: Vec<bool> = (0..BLOCKS)
        .map(|k| actual[k * b..(k + 1) * b] != model.volume[k * b..(k + 1) * b])
        .collect();
    let mut mismatches = bad.iter().filter(|x| **x).count();
    let mut m = durable;
    let mut matched = None;
    loop {
        if mismatches == 0 {
            // The devices must be those of this prefix, with their content.
            let mut expect: Vec<String> = model.snapshots.keys().map(|&k| snap_name(k)).collect();
            expect.push(VOLUME.to_string());
            expect.sort();
            if pool.device_names() == expect {
                matched = Some((m, model.clone()));
                break;
            }
        }
        if m > started {
            break;
        }
        if let Some((offset, len)) = model.apply(m, &ops[m as usize]) {
            let (first, last) = (
                (offset / BLOCK) as usize,
                ((offset + len - 1) / BLOCK) as usize,
            );
            for k in first..=last {
                let now = actual[k * b..(k + 1) * b] != model.volume[k * b..(k + 1) * b];
                if now != bad[k] {
                    if now {
                        mismatches += 1;
                    } else {
                        mismatches -= 1;
                    }
                    bad[k] = now;
                }
            }
        }
        m += 1;
    }
    let Some((m, model)) = matched else {
        return Err(format!(
            "the volume matches no prefix between the last flush ({durable}) and the last op started ({started}); \
             {mismatches} blocks differ at the end; devices {:?}",
            pool.device_names()
        ));
    };
    for (k, data) in &model.snapshots {
        let mut back = vec![0u8; SIZE as usize];
        pool.open_device(&snap_name(*k))
            .and_then(|s| s.read_at(&mut back, 0))
            .map_err(|e| format!("snapshot {k}: {e}"))?;
        if &back != data {
            return Err(format!(
                "snapshot {k} differs from the volume at the moment it was taken"
            ));
        }
    }
    let report = pool.scrub().map_err(|e| format!("scrub: {e}"))?;
    if !report.errors.is_empty() {
        return Err(format!(
            "scrub found {} bad blocks: {:?}",
            report.errors.len(),
            &report.errors[..1]
        ));
    }
    Ok(m)
}

fn run(dir: &str, iterations: u64, seed: u64) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rng = Rng(seed | 1);
    let started_at = Instant::now();
    let (mut total_ops, mut lost_unflushed) = (0u64, 0u64);
    for it in 0..iterations {
        let child_seed = rng.next();
        let mut child = Command::new(&exe)
            .args(["child", dir, &child_seed.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut durable = 0u64;
            let mut started = 0u64;
            let mut ready = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut parts = line.split(' ');
                match (
                    parts.next(),
                    parts.next().and_then(|n| n.parse::<u64>().ok()),
                ) {
                    (Some("READY"), _) => ready = true,
                    (Some("B"), Some(n)) => started = n,
                    (Some("F"), Some(n)) => durable = n,
                    _ => {}
                }
            }
            (ready, durable, started)
        });
        // Let it run a random while, then SIGKILL.
        std::thread::sleep(Duration::from_millis(20 + rng.below(150)));
        let _ = child.kill();
        let status = child.wait().map_err(|e| e.to_string())?;
        let (ready, durable, started) = reader.join().map_err(|_| "reader thread panicked")?;
        if status.code() == Some(2) {
            return Err(format!(
                "iteration {it}: the child failed (seed {child_seed})"
            ));
        }
        if !ready {
            continue;
        }
        match verify(dir, child_seed, durable, started) {
            Ok(m) => {
                total_ops += started;
                lost_unflushed += started + 1 - m;
            }
            Err(e) => {
                return Err(format!(
                    "iteration {it} (child seed {child_seed}, last flush {durable}, last op started {started}): {e}"
                ))
            }
        }
    }
    println!(
        "crash test: {iterations} kill -9 iterations, {total_ops} operations, {lost_unflushed} unflushed operations rolled back, 0 lost flushed writes ({:.1}s)",
        started_at.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") => {
            let (Some(dir), Some(seed)) = (args.get(2), args.get(3).and_then(|s| s.parse().ok()))
            else {
                fail("usage: platter-crashtest child DIR SEED")
            };
            child(dir, seed)
        }
        Some("verify") => {
            let num = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            match verify(&args[2], num(3), num(4), num(5)) {
                Ok(m) => println!("ok: matches prefix {m}"),
                Err(e) => fail(&e),
            }
        }
        Some("run") => {
            let Some(dir) = args.get(2) else {
                fail("usage: platter-crashtest run DIR [--iterations N] [--seed S]")
            };
            let flag = |name: &str, default: u64| {
                args.iter()
                    .position(|a| a == name)
                    .and_then(|i| args.get(i + 1))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default)
            };
            let seed = flag("--seed", std::process::id() as u64 ^ 0x9e37_79b9);
            match run(dir, flag("--iterations", 100), seed) {
                Ok(()) => {}
                Err(e) => fail(&format!("crash test FAILED (harness seed {seed}): {e}")),
            }
        }
        _ => fail("usage: platter-crashtest run DIR [--iterations N] [--seed S]"),
    }
}
