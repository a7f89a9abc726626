//! Storage helpers for tests with pools: qemu-io over NBD, and reading an
//! engine pool's devices directly while the server is stopped.

use std::process::Command;

use serde_json::Value;

use super::Client;

/// A `platter.toml` holding `text` in a directory of its own (kept while
/// the returned guard lives), and its path.
pub fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platter.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_string())
}

/// Runs qemu-io commands on an NBD URI; fails on any error or pattern
/// mismatch.
pub fn qemu_io(uri: &str, cmds: &[&str]) {
    let mut args = vec!["-f", "raw"];
    for cmd in cmds {
        args.extend(["-c", cmd]);
    }
    args.push(uri);
    let out = Command::new("qemu-io")
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("qemu-io: {e} (is it installed?)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "qemu-io {args:?}:\n{text}");
    assert!(!text.contains("Pattern verification failed"), "{text}");
    assert!(!text.to_lowercase().contains("error"), "{text}");
}

/// The device names of an engine pool directory, and the first `len`
/// bytes of a device (opened while the server is stopped).
pub fn engine_devices(dir: &std::path::Path) -> Vec<String> {
    let pool = platter_engine::Pool::open(dir, Default::default()).unwrap();
    let mut names = pool.device_names();
    names.sort();
    pool.close().unwrap();
    names
}

pub fn engine_read(dir: &std::path::Path, device: &str, len: usize) -> Vec<u8> {
    let pool = platter_engine::Pool::open(dir, Default::default()).unwrap();
    let io = pool.open_device(device).unwrap();
    let mut buf = vec![0u8; len];
    io.read_at(&mut buf, 0).unwrap();
    drop(io);
    pool.close().unwrap();
    buf
}

/// Polls a volume until its status is settled (not retyping, not in
/// maintenance).
pub async fn settled(c: &Client, id: &str) -> Value {
    for _ in 0..600 {
        let v = c.get(&format!("/volumes/{id}")).await.body["volume"].clone();
        if !matches!(v["status"].as_str(), Some("retyping" | "maintenance")) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("volume {id} never settled");
}
