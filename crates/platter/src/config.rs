//! Settings: command-line flags, then `PLATTER_*` environment variables
//! (clap reads both), then a TOML file, then defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use platter_engine::PoolOptions;
use platter_model::{Action, JobKind};
use platter_service::{FaultInjection, QuotaDefaults, ServiceConfig};
use serde::Deserialize;

/// Flags of `platter serve`; each may also come from the environment.
#[derive(Debug, Clone, Args, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "PLATTER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where metadata (SQLite) and volume data live.
    #[arg(long, env = "PLATTER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address every listener binds to.
    #[arg(long, env = "PLATTER_BIND")]
    pub bind: Option<String>,
    /// Port of the identity (Keystone v3) API.
    #[arg(long, env = "PLATTER_IDENTITY_PORT")]
    pub identity_port: Option<u16>,
    /// Port of the block-storage (Cinder) API.
    #[arg(long, env = "PLATTER_BLOCK_STORAGE_PORT")]
    pub block_storage_port: Option<u16>,
    /// Port of the NBD server (attached volumes).
    #[arg(long, env = "PLATTER_NBD_PORT")]
    pub nbd_port: Option<u16>,
    /// Host name clients use to reach this server (catalog and links).
    #[arg(long, env = "PLATTER_PUBLIC_HOST")]
    pub public_host: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "PLATTER_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Storage backend: `engine` (the default) or `sparse-file`.
    #[arg(long, env = "PLATTER_BACKEND")]
    pub backend: Option<String>,
    /// Test hook: delay every job by this many milliseconds.
    #[arg(long, env = "PLATTER_TEST_JOB_DELAY_MS", hide = true)]
    pub test_job_delay_ms: Option<u64>,
    /// Test hook: comma-separated job kinds (e.g. `createVolume`) whose backend step fails.
    #[arg(long, env = "PLATTER_TEST_FAIL_JOBS", hide = true)]
    pub test_fail_jobs: Option<String>,
    /// Test hook: comma-separated actions (policy or IAM names, e.g.
    /// `volume:create`) the authorizer refuses to everyone.
    #[arg(long, env = "PLATTER_TEST_DENY_ACTIONS", hide = true)]
    pub test_deny_actions: Option<String>,
    /// Test hook: the engine sleeps this many milliseconds before each
    /// fdatasync of a commit or checkpoint (a slow disk).
    #[arg(long, env = "PLATTER_TEST_FSYNC_DELAY_MS", hide = true)]
    pub test_fsync_delay_ms: Option<u64>,
    /// Test hook: the engine checkpoints once its journal holds this many
    /// bytes (default 64 MiB).
    #[arg(long, env = "PLATTER_TEST_CHECKPOINT_AFTER_BYTES", hide = true)]
    pub test_checkpoint_after_bytes: Option<u64>,
}

/// The TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    data_dir: Option<PathBuf>,
    bind: Option<String>,
    identity_port: Option<u16>,
    block_storage_port: Option<u16>,
    nbd_port: Option<u16>,
    public_host: Option<String>,
    log_format: Option<String>,
    backend: Option<String>,
    region: Option<String>,
    availability_zones: Option<Vec<String>>,
    default_volume_type: Option<String>,
    /// Token lifetime (Keystone's `[token] expiration`), default 86400.
    token_ttl_seconds: Option<u64>,
    job_concurrency: Option<usize>,
    /// Default quota limits, e.g. `volumes = 10`, `gigabytes_SSD = 500`.
    quota: Option<BTreeMap<String, i64>>,
}

/// Actions named by policy or IAM name, comma-separated.
fn parse_actions(list: &str) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let found = Action::by_name(name);
        if found.is_empty() {
            bail!("unknown action {name:?} in PLATTER_TEST_DENY_ACTIONS");
        }
        out.extend(found);
    }
    Ok(out)
}

/// Which storage backend holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// The block engine (`platter-engine`) in `<data-dir>/pool`.
    Engine,
    /// One sparse file per volume in `<data-dir>/sparse` (simple, slow snapshots).
    SparseFile,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind: String,
    pub identity_port: u16,
    pub block_storage_port: u16,
    pub nbd_port: u16,
    pub public_host: String,
    pub log_format: String,
    pub backend: BackendKind,
    pub region: String,
    pub service: ServiceConfig,
    /// Tunables of the engine's pool (defaults, less the test hooks).
    pub pool: PoolOptions,
}

impl Config {
    pub fn resolve(args: &ServeArgs) -> Result<Config> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let bind = args
            .bind
            .clone()
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1".into());
        let public_host = args
            .public_host
            .clone()
            .or(file.public_host)
            .unwrap_or_else(|| {
                if bind == "0.0.0.0" || bind == "::" {
                    "127.0.0.1".into()
                } else {
                    bind.clone()
                }
            });
        let log_format = args
            .log_format
            .clone()
            .or(file.log_format)
            .unwrap_or_else(|| "text".into());
        if log_format != "text" && log_format != "json" {
            bail!("log format must be 'text' or 'json', not '{log_format}'");
        }
        let backend = match args.backend.clone().or(file.backend).as_deref() {
            None | Some("engine") => BackendKind::Engine,
            Some("sparse-file") => BackendKind::SparseFile,
            Some(other) => bail!("backend must be 'engine' or 'sparse-file', not '{other}'"),
        };
        let nbd_port = args.nbd_port.or(file.nbd_port).unwrap_or(10809);
        let mut service = ServiceConfig {
            data_path: platter_service::DataPathEndpoint {
                host: public_host.clone(),
                port: nbd_port,
            },
            ..Default::default()
        };
        if let Some(zones) = file.availability_zones {
            if zones.is_empty() {
                bail!("availability_zones must name at least one zone");
            }
            service.availability_zones = zones;
        }
        if let Some(t) = file.default_volume_type {
            service.default_volume_type = t;
        }
        if let Some(secs) = file.token_ttl_seconds {
            if secs == 0 {
                bail!("token_ttl_seconds must be at least 1");
            }
            service.token_ttl = Duration::from_secs(secs);
        }
        if let Some(n) = file.job_concurrency {
            service.job_concurrency = n.max(1);
        }
        if let Some(q) = file.quota {
            let mut defaults = QuotaDefaults::default();
            defaults.0.extend(q);
            service.quota_defaults = defaults;
        }
        service.faults = FaultInjection {
            job_delay: Duration::from_millis(args.test_job_delay_ms.unwrap_or(0)),
            fail_jobs: match &args.test_fail_jobs {
                Some(list) => list
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse::<JobKind>().map_err(anyhow::Error::msg))
                    .collect::<Result<_>>()?,
                None => Vec::new(),
            },
            deny_actions: match &args.test_deny_actions {
                Some(list) => parse_actions(list)?,
                None => Vec::new(),
            },
        };
        let mut pool = PoolOptions {
            sync_delay: Duration::from_millis(args.test_fsync_delay_ms.unwrap_or(0)),
            ..Default::default()
        };
        if let Some(bytes) = args.test_checkpoint_after_bytes {
            pool.checkpoint_after_bytes = bytes;
        }
        Ok(Config {
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| "./platter-data".into()),
            bind,
            identity_port: args.identity_port.or(file.identity_port).unwrap_or(5000),
            block_storage_port: args
                .block_storage_port
                .or(file.block_storage_port)
                .unwrap_or(8776),
            nbd_port,
            public_host,
            log_format,
            backend,
            region: file.region.unwrap_or_else(|| "RegionOne".into()),
            service,
            pool,
        })
    }

    pub fn identity_url(&self) -> String {
        format!("http://{}:{}", self.public_host, self.identity_port)
    }

    pub fn block_storage_url(&self) -> String {
        format!("http://{}:{}", self.public_host, self.block_storage_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platter.toml");
        std::fs::write(
            &path,
            "identity_port = 6000\nblock_storage_port = 9000\navailability_zones = [\"az1\", \"az2\"]\n[quota]\nvolumes = 3\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            identity_port: Some(7000),
            ..Default::default()
        };
        let c = Config::resolve(&args).unwrap();
        assert_eq!(c.identity_port, 7000);
        assert_eq!(c.block_storage_port, 9000);
        assert_eq!(c.bind, "127.0.0.1");
        assert_eq!(c.service.availability_zones, vec!["az1", "az2"]);
        assert_eq!(c.service.quota_defaults.get("volumes"), 3);
        assert_eq!(c.service.quota_defaults.get("snapshots"), 10);
        assert_eq!(c.identity_url(), "http://127.0.0.1:7000");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platter.toml");
        std::fs::write(&path, "identity_prot = 1\n").unwrap();
        assert!(Config::resolve(&ServeArgs {
            config: Some(path),
            ..Default::default()
        })
        .is_err());
        let args = ServeArgs {
            test_fail_jobs: Some("nonsense".into()),
            ..Default::default()
        };
        assert!(Config::resolve(&args).is_err());
    }
}
