//! A real guest (the test guest, under TCG) run by the QEMU driver: boot
//! from an NBD export, hot-plug and unplug a second one, adoption by a new
//! driver over the same state, stop. Skipped where qemu-system-x86_64 is
//! not installed (scripts/test.sh installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use platter_compute::{ComputeDriver, DiskSpec, GuestSpec, QemuDriver};
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A qemu-nbd serving `file`, stopped when dropped.
struct NbdServer {
    pid: u32,
    port: u16,
}

impl NbdServer {
    fn start(file: &Path, dir: &Path, name: &str) -> NbdServer {
        let port = free_port();
        let pidfile = dir.join(format!("{name}.pid"));
        let status = Command::new("qemu-nbd")
            .args([
                "--fork",
                "--persistent",
                "-f",
                "raw",
                "-x",
                name,
                "-b",
                "127.0.0.1",
            ])
            .arg("-p")
            .arg(port.to_string())
            .arg("--pid-file")
            .arg(&pidfile)
            .arg(file)
            .status()
            .unwrap();
        assert!(status.success());
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        NbdServer { pid, port }
    }

    fn disk(&self, volume_id: &str, name: &str, boot_index: Option<u32>) -> DiskSpec {
        DiskSpec {
            volume_id: volume_id.into(),
            host: "127.0.0.1".into(),
            port: self.port,
            export: name.into(),
            read_only: false,
            boot_index,
        }
    }
}

impl Drop for NbdServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

fn wait_console(d: &QemuDriver, id: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let log = d.console_log(id).unwrap();
        if log.contains(text) {
            return log;
        }
        assert!(Instant::now() < deadline, "no {text:?} in:\n{log}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn guest_image(dir: &Path) -> PathBuf {
    let out = dir.join("guest.raw");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-test-guest.sh");
    let status = Command::new(script).arg(&out).status().unwrap();
    assert!(status.success(), "building the test guest");
    out
}

#[test]
fn a_guest_boots_from_nbd_hot_plugs_a_disk_and_stops() {
    if Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("qemu-system-x86_64 is not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = NbdServer::start(&guest_image(dir.path()), dir.path(), "root");
    let data_file = dir.path().join("data.raw");
    let mut data = vec![0u8; 64 * MIB];
    data[..MIB].fill(0x42);
    std::fs::write(&data_file, &data).unwrap();
    let data = NbdServer::start(&data_file, dir.path(), "data");

    let d = QemuDriver::new(&dir.path().join("guests"), "qemu-system-x86_64").unwrap();
    let id = "6a1f5e0c-58b7-4c1e-9d4e-1b2c3d4e5f60";
    let spec = GuestSpec {
        id: id.into(),
        vcpus: 1,
        ram_mib: 256,
        disks: vec![root.disk("root-volume", "root", Some(0))],
    };
    d.spawn(&spec).unwrap();
    d.spawn(&spec).unwrap(); // running already: nothing more
    let pid = d.pid(id).unwrap().expect("a process");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains(&format!("-name\0{id}")));
    wait_console(&d, id, "PLATTER-GUEST: disk vda ");

    let disk = data.disk("data-volume", "data", None);
    d.attach_disk(id, &disk).unwrap();
    let sha = hex(&Sha256::digest(vec![0x42u8; MIB]));
    wait_console(
        &d,
        id,
        &format!("PLATTER-GUEST: disk vdb size={} sha256_1m={sha}", 64 * MIB),
    );
    d.detach_disk(id, "data-volume", Duration::from_secs(60))
        .unwrap();
    wait_console(&d, id, "PLATTER-GUEST: disk vdb removed");
    d.detach_disk(id, "data-volume", Duration::from_secs(5))
        .unwrap();

    // A new driver over the same state finds the guest (a service restart).
    let again = QemuDriver::new(&dir.path().join("guests"), "qemu-system-x86_64").unwrap();
    assert_eq!(again.running().unwrap(), vec![id.to_string()]);
    assert!(again.remove(id).is_err(), "a running guest's state stays");
    again.stop(id, Duration::from_secs(1)).unwrap();
    assert!(!again.is_running(id).unwrap());
    assert!(again.running().unwrap().is_empty());
    again.stop(id, Duration::from_secs(1)).unwrap();
    again.remove(id).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn kvm_is_used_only_where_a_probe_guest_runs() {
    if Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("qemu-system-x86_64 is not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = QemuDriver::new(dir.path(), "qemu-system-x86_64").unwrap();
    let accel = d.accel();
    let usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if !usable {
        assert_eq!(accel, platter_compute::Accel::Tcg);
    }
    eprintln!("accelerator here: {accel:?}");
    assert_eq!(d.accel(), accel, "decided once");
}
