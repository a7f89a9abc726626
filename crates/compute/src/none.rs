//! The driver for hosts whose guests are managed elsewhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{check_id, io_err, ComputeDriver, ComputeError, ComputeResult, DiskSpec, GuestSpec};

/// A driver for hosts whose guests are managed elsewhere: attachments and
/// their connectors are made as for any server, but no hypervisor runs.
/// Whether a guest "runs" is a marker file in `<root>/<id>/running`, so
/// states survive a restart as a real guest's would. Only an explicit
/// configuration selects it.
pub struct NoHypervisor {
    root: PathBuf,
}

impl NoHypervisor {
    pub fn new(root: &Path) -> ComputeResult<NoHypervisor> {
        fs::create_dir_all(root).map_err(io_err(root.display().to_string()))?;
        Ok(NoHypervisor {
            root: root.to_path_buf(),
        })
    }

    fn marker(&self, id: &str) -> ComputeResult<PathBuf> {
        check_id(id)?;
        Ok(self.root.join(id).join("running"))
    }
}

impl ComputeDriver for NoHypervisor {
    fn name(&self) -> &'static str {
        "none"
    }

    fn spawn(&self, spec: &GuestSpec) -> ComputeResult<()> {
        let marker = self.marker(&spec.id)?;
        if let Some(dir) = marker.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir.display().to_string()))?;
        }
        let disks: Vec<&str> = spec.disks.iter().map(|d| d.volume_id.as_str()).collect();
        fs::write(&marker, disks.join("\n")).map_err(io_err(marker.display().to_string()))
    }

    fn is_running(&self, id: &str) -> ComputeResult<bool> {
        Ok(self.marker(id)?.exists())
    }

    fn running(&self) -> ComputeResult<Vec<String>> {
        let mut out = Vec::new();
        let entries = fs::read_dir(&self.root).map_err(io_err(self.root.display().to_string()))?;
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().to_string();
            if check_id(&id).is_ok() && self.is_running(&id)? {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }

    fn stop(&self, id: &str, _grace: Duration) -> ComputeResult<()> {
        match fs::remove_file(self.marker(id)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("running")(e)),
            _ => Ok(()),
        }
    }

    fn attach_disk(&self, id: &str, _disk: &DiskSpec) -> ComputeResult<()> {
        match self.is_running(id)? {
            true => Ok(()),
            false => Err(ComputeError::NotRunning(id.to_string())),
        }
    }

    fn detach_disk(&self, _id: &str, _volume_id: &str, _timeout: Duration) -> ComputeResult<()> {
        Ok(())
    }

    fn console_log(&self, _id: &str) -> ComputeResult<String> {
        Ok(String::new())
    }

    fn remove(&self, id: &str) -> ComputeResult<()> {
        self.stop(id, Duration::ZERO)?;
        let dir = self.root.join(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err("guest dir")(e)),
            _ => Ok(()),
        }
    }
}
