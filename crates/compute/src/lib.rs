//! Platter's compute drivers: a server is a guest whose disks are Platter
//! volumes reached over NBD through their attachments' connectors (never
//! a path into a pool).
//!
//! [`QemuDriver`] runs each guest as a `qemu-system-x86_64` process of its
//! own, daemonized so it outlives the service that started it, with the
//! server's id as `-uuid` and `-name` (an operator's `ps` finds it), KVM
//! when a probe guest runs under it and TCG otherwise, virtio-blk disks,
//! a serial console logged to a file and reachable on a socket, and QMP
//! on a socket for hot-plug and power. Its state is a directory per guest:
//! `<root>/<id>/{pid, qmp.sock, serial.sock, console.log}`; a guest runs
//! while its pid names a process whose command line carries its id.

mod none;
mod qmp;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use none::NoHypervisor;
pub use qmp::Qmp;

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("guest {0} is not running")]
    NotRunning(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("the hypervisor refused: {0}")]
    Hypervisor(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("I/O error on {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

pub type ComputeResult<T> = Result<T, ComputeError>;

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ComputeError {
    let what = what.into();
    move |source| ComputeError::Io { what, source }
}

/// One disk of a guest: an NBD export (from an attachment's connection
/// info) and how the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// The volume's id: names the guest's device.
    pub volume_id: String,
    pub host: String,
    pub port: u16,
    pub export: String,
    pub read_only: bool,
    /// The firmware's boot order (`Some(0)`: the root disk).
    pub boot_index: Option<u32>,
}

/// A guest to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSpec {
    /// The server's id (a UUID).
    pub id: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disks: Vec<DiskSpec>,
}

/// What runs guests.
pub trait ComputeDriver: Send + Sync {
    fn name(&self) -> &'static str;
    /// Starts a guest (its disks attached); returns once the process runs.
    fn spawn(&self, spec: &GuestSpec) -> ComputeResult<()>;
    fn is_running(&self, id: &str) -> ComputeResult<bool>;
    /// The ids of every guest with a live process.
    fn running(&self) -> ComputeResult<Vec<String>>;
    /// Stops a guest: an ACPI power-off with `grace` to obey it, then the
    /// process is ended. Stopping a stopped guest does nothing.
    fn stop(&self, id: &str, grace: Duration) -> ComputeResult<()>;
    /// Hot-plugs a disk into a running guest.
    fn attach_disk(&self, id: &str, disk: &DiskSpec) -> ComputeResult<()>;
    /// Unplugs a disk: the guest releases it (within `timeout`), then the
    /// export is closed.
    fn detach_disk(&self, id: &str, volume_id: &str, timeout: Duration) -> ComputeResult<()>;
    /// The serial console's output so far.
    fn console_log(&self, id: &str) -> ComputeResult<String>;
    /// Forgets a stopped guest's state.
    fn remove(&self, id: &str) -> ComputeResult<()>;
}

/// How QEMU runs guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// KVM if a probe guest runs under it, else TCG (decided once).
    Auto,
    Kvm,
    Tcg,
}

/// Guests as QEMU processes.
pub struct QemuDriver {
    root: PathBuf,
    binary: String,
    accel: Accel,
    probed: std::sync::OnceLock<Accel>,
}

/// QEMU's ids: letters, digits, `-`, `_`, `.`; node names at most 31.
fn node_name(volume_id: &str) -> String {
    let hex: String = volume_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    format!("v{hex}")
}

fn device_id(volume_id: &str) -> String {
    format!("disk-{}", node_name(volume_id))
}

fn check_id(id: &str) -> ComputeResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ComputeError::Invalid(format!("bad guest id {id:?}")))
    }
}

/// A value inside QEMU's `key=value,...` option syntax (commas doubled).
fn opt(value: &str) -> String {
    value.replace(',', ",,")
}

impl QemuDriver {
    /// Guests' state under `root`; `binary` is the emulator to run.
    pub fn new(root: &Path, binary: &str) -> ComputeResult<QemuDriver> {
        QemuDriver::with_accel(root, binary, Accel::Auto)
    }

    pub fn with_accel(root: &Path, binary: &str, accel: Accel) -> ComputeResult<QemuDriver> {
        fs::create_dir_all(root).map_err(io_err(root.display().to_string()))?;
        Ok(QemuDriver {
            root: root.to_path_buf(),
            binary: binary.to_string(),
            accel,
            probed: std::sync::OnceLock::new(),
        })
    }

    /// The accelerator guests get: `Auto` resolved by running the firmware
    /// under KVM and seeing whether it prints (a `/dev/kvm` that opens but
    /// cannot run guests, as in some nested setups, counts as no KVM).
    pub fn accel(&self) -> Accel {
        match self.accel {
            Accel::Auto => *self.probed.get_or_init(|| self.probe_kvm()),
            fixed => fixed,
        }
    }

    fn probe_kvm(&self) -> Accel {
        if fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_err()
        {
            return Accel::Tcg;
        }
        let log = self.root.join("kvm-probe.log");
        let _ = fs::remove_file(&log);
        // Under coreutils' `timeout`, which kills it after 6 s even if
        // this process has ended first (a KVM that hangs never lets the
        // probe exit by itself).
        let child = Command::new("timeout")
            .args(["-s", "KILL", "6"])
            .arg(&self.binary)
            .args(["-machine", "pc,accel=kvm", "-m", "64", "-display", "none"])
            .args(["-nodefaults", "-monitor", "none", "-no-reboot", "-serial"])
            .arg(format!("file:{}", log.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return Accel::Tcg;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut works = false;
        while Instant::now() < deadline {
            if fs::read(&log).is_ok_and(|b| b.windows(7).any(|w| w == b"SeaBIOS")) {
                works = true;
                break;
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if works {
            // A working probe ends on the SIGTERM `timeout` passes on (a
            // SIGKILL would end `timeout` and leave the probe behind).
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        // Otherwise `timeout` ends it at its deadline.
        let _ = child.wait();
        let _ = fs::remove_file(&log);
        if works {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }

    fn dir(&self, id: &str) -> ComputeResult<PathBuf> {
        check_id(id)?;
        Ok(self.root.join(id))
    }

    /// The guest's process id, if its process runs (and is this guest's).
    pub fn pid(&self, id: &str) -> ComputeResult<Option<u32>> {
        let dir = self.dir(id)?;
        let Ok(text) = fs::read_to_string(dir.join("pid")) else {
            return Ok(None);
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            return Ok(None);
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return Ok(None);
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let ours = args
            .windows(2)
            .any(|w| w[0] == b"-uuid" && w[1] == id.as_bytes());
        Ok(ours.then_some(pid))
    }

    fn qmp(&self, id: &str) -> ComputeResult<Qmp> {
        if self.pid(id)?.is_none() {
            return Err(ComputeError::NotRunning(id.to_string()));
        }
        Qmp::connect(&self.dir(id)?.join("qmp.sock"), Duration::from_secs(10))
    }

    /// The path of the guest's serial console socket (for a console client).
    pub fn console_socket(&self, id: &str) -> ComputeResult<PathBuf> {
        Ok(self.dir(id)?.join("serial.sock"))
    }

    fn args(&self, spec: &GuestSpec, dir: &Path) -> Vec<String> {
        let path = |name: &str| opt(&dir.join(name).display().to_string());
        let accel = match self.accel() {
            Accel::Kvm => "kvm",
            _ => "tcg",
        };
        let mut args: Vec<String> = vec![
            "-machine".into(),
            format!("pc,accel={accel}"),
            "-m".into(),
            spec.ram_mib.to_string(),
            "-smp".into(),
            spec.vcpus.to_string(),
            "-uuid".into(),
            spec.id.clone(),
            "-name".into(),
            spec.id.clone(),
            "-display".into(),
            "none".into(),
            "-nodefaults".into(),
            "-monitor".into(),
            "none".into(),
            "-chardev".into(),
            format!(
                "socket,id=console,path={},server=on,wait=off,logfile={},logappend=on",
                path("serial.sock"),
                path("console.log")
            ),
            "-serial".into(),
            "chardev:console".into(),
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", path("qmp.sock")),
            "-daemonize".into(),
            "-pidfile".into(),
            dir.join("pid").display().to_string(),
        ];
        for d in &spec.disks {
            let node = node_name(&d.volume_id);
            let mut blockdev = format!(
                "driver=nbd,node-name={node},server.type=inet,server.host={},server.port={},export={}",
                opt(&d.host),
                d.port,
                opt(&d.export)
            );
            if d.read_only {
                blockdev.push_str(",read-only=on");
            }
            let mut device = format!("virtio-blk-pci,id={},drive={node}", device_id(&d.volume_id));
            if let Some(i) = d.boot_index {
                device.push_str(&format!(",bootindex={i}"));
            }
            args.extend(["-blockdev".into(), blockdev, "-device".into(), device]);
        }
        args
    }
}

impl ComputeDriver for QemuDriver {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn spawn(&self, spec: &GuestSpec) -> ComputeResult<()> {
        if spec.vcpus == 0 || spec.ram_mib < 16 {
            return Err(ComputeError::Invalid(format!(
                "a guest needs a vCPU and 16 MiB, not {} and {} MiB",
                spec.vcpus, spec.ram_mib
            )));
        }
        if self.pid(&spec.id)?.is_some() {
            return Ok(());
        }
        let dir = self.dir(&spec.id)?;
        fs::create_dir_all(&dir).map_err(io_err(dir.display().to_string()))?;
        for stale in ["pid", "qmp.sock", "serial.sock"] {
            let _ = fs::remove_file(dir.join(stale));
        }
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("qemu.log"))
            .map_err(io_err("qemu.log"))?;
        let out = Command::new(&self.binary)
            .args(self.args(spec, &dir))
            .output()
            .map_err(io_err(self.binary.clone()))?;
        let _ = log.write_all(&out.stderr);
        if !out.status.success() {
            return Err(ComputeError::Hypervisor(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        match self.pid(&spec.id)? {
            Some(_) => Ok(()),
            None => Err(ComputeError::Hypervisor(
                "the emulator exited at once".into(),
            )),
        }
    }

    fn is_running(&self, id: &str) -> ComputeResult<bool> {
        Ok(self.pid(id)?.is_some())
    }

    fn running(&self) -> ComputeResult<Vec<String>> {
        let mut out = Vec::new();
        let entries = fs::read_dir(&self.root).map_err(io_err(self.root.display().to_string()))?;
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().to_string();
            if check_id(&id).is_ok() && self.pid(&id)?.is_some() {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }

    fn stop(&self, id: &str, grace: Duration) -> ComputeResult<()> {
        let Some(pid) = self.pid(id)? else {
            return Ok(());
        };
        if !grace.is_zero() {
            if let Ok(mut q) = self.qmp(id) {
                let _ = q.execute("system_powerdown", json!({}));
            }
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if self.pid(id)?.is_none() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if let Ok(mut q) = self.qmp(id) {
            let _ = q.execute("quit", json!({}));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.pid(id)?.is_none() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Still there: the process is ended.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.pid(id)?.is_some() {
            if Instant::now() > deadline {
                return Err(ComputeError::Timeout(format!("guest {id} does not end")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn attach_disk(&self, id: &str, disk: &DiskSpec) -> ComputeResult<()> {
        let mut q = self.qmp(id)?;
        let node = node_name(&disk.volume_id);
        q.execute(
            "blockdev-add",
            json!({
                "driver": "nbd",
                "node-name": node,
                "server": {"type": "inet", "host": disk.host, "port": disk.port.to_string()},
                "export": disk.export,
                "read-only": disk.read_only,
            }),
        )?;
        let added = q.execute(
            "device_add",
            json!({"driver": "virtio-blk-pci", "id": device_id(&disk.volume_id), "drive": node}),
        );
        if let Err(e) = added {
            let _ = q.execute("blockdev-del", json!({ "node-name": node }));
            return Err(e);
        }
        Ok(())
    }

    fn detach_disk(&self, id: &str, volume_id: &str, timeout: Duration) -> ComputeResult<()> {
        let mut q = self.qmp(id)?;
        let device = device_id(volume_id);
        let attached = q
            .execute("query-block", json!({}))?
            .as_array()
            .is_some_and(|blocks| {
                blocks.iter().any(|b| {
                    b.get("qdev").and_then(Value::as_str).is_some_and(|d| {
                        d == device || d.ends_with(&format!("/{device}/virtio-backend"))
                    })
                })
            });
        if attached {
            q.execute("device_del", json!({ "id": device }))?;
            // A guest still booting may miss the unplug request: it is
            // repeated every few seconds until the guest lets go.
            let deadline = Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let wait = left.min(Duration::from_secs(5));
                match q.wait_event("DEVICE_DELETED", wait, |data| {
                    data.get("device").and_then(Value::as_str) == Some(device.as_str())
                }) {
                    Ok(_) => break,
                    Err(ComputeError::Timeout(_)) if left > wait => {
                        let _ = q.execute("device_del", json!({ "id": device }));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        match q.execute("blockdev-del", json!({ "node-name": node_name(volume_id) })) {
            Err(ComputeError::Hypervisor(m)) if m.contains("Failed to find node") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn console_log(&self, id: &str) -> ComputeResult<String> {
        let path = self.dir(id)?.join("console.log");
        match fs::read(&path) {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(io_err(path.display().to_string())(e)),
        }
    }

    fn remove(&self, id: &str) -> ComputeResult<()> {
        if self.pid(id)?.is_some() {
            return Err(ComputeError::Invalid(format!("guest {id} still runs")));
        }
        let dir = self.dir(id)?;
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(dir.display().to_string())(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_qemu() {
        let n = node_name("3f0c2a7e-1b2c-4d5e-8f90-123456789abc");
        assert!(n.len() <= 31 && n.starts_with('v'), "{n}");
        assert_eq!(opt("a,b"), "a,,b");
        assert!(check_id("../x").is_err());
        assert!(check_id("3f0c2a7e-1b2c-4d5e-8f90-123456789abc").is_ok());
    }

    #[test]
    fn the_command_line_names_the_server_and_its_disks() {
        let d = QemuDriver {
            root: PathBuf::from("/r"),
            binary: "qemu-system-x86_64".into(),
            accel: Accel::Tcg,
            probed: std::sync::OnceLock::new(),
        };
        let spec = GuestSpec {
            id: "abc".into(),
            vcpus: 2,
            ram_mib: 512,
            disks: vec![DiskSpec {
                volume_id: "vol-1".into(),
                host: "127.0.0.1".into(),
                port: 10809,
                export: "secret,x".into(),
                read_only: true,
                boot_index: Some(0),
            }],
        };
        let args = d.args(&spec, Path::new("/r/abc")).join(" ");
        assert!(args.contains("-uuid abc -name abc"), "{args}");
        assert!(args.contains("-m 512 -smp 2"), "{args}");
        assert!(args.contains("pc,accel=tcg"), "{args}");
        assert!(args.contains("export=secret,,x,read-only=on"), "{args}");
        assert!(
            args.contains("virtio-blk-pci,id=disk-vvol1,drive=vvol1,bootindex=0"),
            "{args}"
        );
    }
}
