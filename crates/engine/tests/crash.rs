//! Runs the crash harness: kill -9 at random moments under a write,
//! flush, snapshot and rollback workload, then check that no flushed write
//! was lost and nothing unflushed came back as garbage. The number of
//! iterations comes from `PLATTER_CRASH_ITERATIONS` (default 300).

use std::process::Command;

#[test]
fn kill9_never_loses_a_flushed_write() {
    let iterations: u64 = std::env::var("PLATTER_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platter-crashtest"))
        .arg("run")
        .arg(dir.path().join("pool"))
        .args(["--iterations", &iterations.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{iterations} kill -9 iterations")),
        "{stdout}"
    );
    assert!(stdout.contains("0 lost flushed writes"), "{stdout}");
    println!("{stdout}");
}
