//! The API stays responsive while the data path is busy and the disk is
//! slow: NBD I/O runs on its own runtime and blocking threads, so a commit
//! or checkpoint that holds the engine's locks across slow fdatasyncs
//! stalls only the NBD clients, never the HTTP listeners.
//!
//! Run with `--no-capture` to see the figures.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{admin, raw, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Each fdatasync of a commit or checkpoint takes this long (a very slow
/// disk). A checkpoint holds the pool's quiesce lock, which every I/O takes,
/// across two of them.
const FSYNC_DELAY_MS: u64 = 1500;
/// Checkpoint at (nearly) every commit, so flushes keep the lock busy.
const CHECKPOINT_AFTER_BYTES: u64 = 4096;
/// How long fio writes, and how long the API is probed meanwhile.
const LOAD_SECS: u64 = 14;
/// One API request is started this often, whether or not the previous ones
/// have answered (open loop: a stall delays every request started in it).
const PROBE_EVERY: Duration = Duration::from_millis(50);
/// Generous, so a slow shared machine cannot fail it; an API waiting behind
/// the engine's fsyncs takes several seconds.
const P99_BOUND: Duration = Duration::from_secs(2);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_latency_stays_bounded_while_fio_saturates_an_export_with_slow_fsyncs() {
    let server = Server::start_with(&[
        ("PLATTER_TEST_FSYNC_DELAY_MS", &FSYNC_DELAY_MS.to_string()),
        (
            "PLATTER_TEST_CHECKPOINT_AFTER_BYTES",
            &CHECKPOINT_AFTER_BYTES.to_string(),
        ),
    ]);
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let (_att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;

    // Two connections: one keeps 32 random 4 KiB writes in flight, the
    // other writes and flushes one block at a time, so commits (and, with
    // the journal the first one fills, checkpoints) follow each other.
    let fio = Command::new("fio")
        .args([
            "--ioengine=nbd",
            &format!("--uri={uri}"),
            "--rw=randwrite",
            "--bs=4k",
            "--size=64M",
            "--time_based",
            &format!("--runtime={LOAD_SECS}"),
            "--output-format=json",
            "--name=writes",
            "--iodepth=32",
            "--name=flushes",
            "--iodepth=1",
            "--fsync=1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("fio: {e} (is it installed?)"));

    // Let the writes and the first slow commits get going.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let identity = format!("{}/v3", server.identity_url());
    let volumes = c.url("/volumes/detail");
    let started = Instant::now();
    let mut probes = Vec::new();
    let mut n = 0u32;
    while started.elapsed() < Duration::from_secs(LOAD_SECS - 4) {
        let http = c.http.clone();
        let token = c.token.clone();
        // Alternately the unauthenticated identity version document and a
        // token-authenticated volume list (identity and store, no data path).
        let authed = n % 2 == 1;
        let url = if authed {
            volumes.clone()
        } else {
            identity.clone()
        };
        probes.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = tokio::time::timeout(
                Duration::from_secs(60),
                raw(
                    &http,
                    Method::GET,
                    &url,
                    authed.then_some(token.as_str()),
                    None,
                ),
            )
            .await
            .expect("the API answers within a minute");
            assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
            t.elapsed()
        }));
        n += 1;
        tokio::time::sleep(PROBE_EVERY).await;
    }
    let mut latencies = Vec::new();
    for p in probes {
        latencies.push(p.await.expect("probe"));
    }

    let out = tokio::task::spawn_blocking(move || fio.wait_with_output())
        .await
        .expect("join")
        .expect("fio runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fio failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&text[text.find('{').expect("json")..]).unwrap();
    let jobs = report["jobs"].as_array().expect("fio jobs");
    assert!(jobs.iter().all(|j| j["error"] == 0), "{text}");
    let written: u64 = jobs
        .iter()
        .map(|j| j["write"]["io_bytes"].as_u64().unwrap_or(0))
        .sum();
    let syncs: u64 = jobs
        .iter()
        .map(|j| j["sync"]["total_ios"].as_u64().unwrap_or(0))
        .sum();
    assert!(written > 0, "fio wrote nothing: {text}");

    latencies.sort();
    let p50 = percentile(&latencies, 0.50);
    let p99 = percentile(&latencies, 0.99);
    let max = *latencies.last().expect("probes ran");
    println!(
        "API latency under NBD load (fsync delay {FSYNC_DELAY_MS} ms, checkpoint after \
         {CHECKPOINT_AFTER_BYTES} B): {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         fio wrote {} KiB with {} flushes in {LOAD_SECS} s",
        latencies.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        written / 1024,
        syncs,
    );
    assert!(
        p99 < P99_BOUND,
        "API p99 {p99:?} (max {max:?}) while NBD clients flush on a slow disk: \
         the API waits behind the data path"
    );
}
