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
    /// Port of the image service (Glance v2).
    #[arg(long, env = "PLATTER_IMAGE_PORT")]
    pub image_port: Option<u16>,
    /// Port of the NBD server (attached volumes).
    #[arg(long, env = "PLATTER_NBD_PORT")]
    pub nbd_port: Option<u16>,
    /// Port of the compute API (Nova and ECS).
    #[arg(long, env = "PLATTER_COMPUTE_PORT")]
    pub compute_port: Option<u16>,
    /// What runs servers: `qemu` (the default where `qemu-system-x86_64`
    /// is installed) or `none` (guests managed elsewhere: attachments and
    /// connectors only).
    #[arg(long, env = "PLATTER_COMPUTE_DRIVER")]
    pub compute_driver: Option<String>,
    /// The emulator the `qemu` driver runs.
    #[arg(long, env = "PLATTER_QEMU_BINARY")]
    pub qemu_binary: Option<String>,
    /// Host name clients use to reach this server (catalog and links).
    #[arg(long, env = "PLATTER_PUBLIC_HOST")]
    pub public_host: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "PLATTER_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Storage backend: `engine` (the default) or `sparse-file`; of the
    /// default pool, and of configured pools that name none.
    #[arg(long, env = "PLATTER_BACKEND")]
    pub backend: Option<String>,
    /// Port of the admin listener (`/metrics`, `/status`).
    #[arg(long, env = "PLATTER_ADMIN_PORT")]
    pub admin_port: Option<u16>,
    /// Address the admin listener binds to (default 127.0.0.1: metrics
    /// are not for the world).
    #[arg(long, env = "PLATTER_ADMIN_BIND")]
    pub admin_bind: Option<String>,
    /// Port of the web console (0: no console).
    #[arg(long, env = "PLATTER_CONSOLE_PORT")]
    pub console_port: Option<u16>,
    /// How often the console's history samples the metrics, seconds.
    #[arg(long, env = "PLATTER_METRICS_SAMPLE_SECONDS")]
    pub metrics_sample_seconds: Option<u64>,
    /// A request head must arrive within this many seconds (also the
    /// keep-alive idle timeout).
    #[arg(long, env = "PLATTER_HTTP_HEADER_TIMEOUT_SECONDS")]
    pub http_header_timeout_seconds: Option<u64>,
    /// A request body must keep moving: a chunk at least this often.
    #[arg(long, env = "PLATTER_HTTP_BODY_TIMEOUT_SECONDS")]
    pub http_body_timeout_seconds: Option<u64>,
    /// Connections one address may hold open on each listener (0: no cap).
    #[arg(long, env = "PLATTER_MAX_CONNECTIONS_PER_SOURCE")]
    pub max_connections_per_source: Option<usize>,
    /// An NBD client must finish negotiating within this many seconds.
    #[arg(long, env = "PLATTER_NBD_HANDSHAKE_TIMEOUT_SECONDS")]
    pub nbd_handshake_timeout_seconds: Option<u64>,
    /// Consecutive failed logins that lock a user (Keystone's
    /// `lockout_failure_attempts`; 0: never).
    #[arg(long, env = "PLATTER_LOCKOUT_FAILURE_ATTEMPTS")]
    pub lockout_failure_attempts: Option<u32>,
    /// How long a lockout lasts, seconds (Keystone's `lockout_duration`).
    #[arg(long, env = "PLATTER_LOCKOUT_DURATION_SECONDS")]
    pub lockout_duration_seconds: Option<u64>,
    /// Failed logins one address may make per minute (0: unlimited).
    #[arg(long, env = "PLATTER_AUTH_FAILURES_PER_MINUTE")]
    pub auth_failures_per_minute: Option<u32>,
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
    image_port: Option<u16>,
    nbd_port: Option<u16>,
    compute_port: Option<u16>,
    compute_driver: Option<String>,
    qemu_binary: Option<String>,
    /// The flavors servers may have (`[[flavors]]`); default: a small set.
    flavors: Option<Vec<FlavorFile>>,
    public_host: Option<String>,
    log_format: Option<String>,
    backend: Option<String>,
    region: Option<String>,
    availability_zones: Option<Vec<String>>,
    default_volume_type: Option<String>,
    /// The group type `GET /group_types/default` shows (Cinder's
    /// `default_group_type`); none by default.
    default_group_type: Option<String>,
    /// Token lifetime (Keystone's `[token] expiration`), default 86400.
    token_ttl_seconds: Option<u64>,
    job_concurrency: Option<usize>,
    /// Default quota limits, e.g. `volumes = 10`, `gigabytes_SSD = 500`.
    quota: Option<BTreeMap<String, i64>>,
    /// Storage pools (`[[pools]]`), the first the default.
    pools: Option<Vec<PoolFile>>,
    admin_port: Option<u16>,
    admin_bind: Option<String>,
    console_port: Option<u16>,
    metrics_sample_seconds: Option<u64>,
    /// Limits against hostile clients (`[security]`).
    security: Option<SecurityFile>,
}

/// The `[security]` table: the same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityFile {
    http_header_timeout_seconds: Option<u64>,
    http_body_timeout_seconds: Option<u64>,
    max_connections_per_source: Option<usize>,
    nbd_handshake_timeout_seconds: Option<u64>,
    lockout_failure_attempts: Option<u32>,
    lockout_duration_seconds: Option<u64>,
    auth_failures_per_minute: Option<u32>,
}

/// One `[[flavors]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlavorFile {
    id: String,
    name: Option<String>,
    vcpus: u32,
    ram_mib: u64,
    #[serde(default)]
    disk_gib: i64,
    #[serde(default)]
    extra_specs: BTreeMap<String, String>,
}

/// What runs servers' guests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComputeDriverKind {
    Qemu {
        binary: String,
    },
    None,
    /// No driver configured and no emulator found: servers are refused.
    Disabled,
}

/// One `[[pools]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolFile {
    name: String,
    /// `engine` or `sparse-file`; default: the `backend` setting.
    backend: Option<String>,
    /// Where the pool's data lives, relative to the data directory;
    /// default `pools/<name>`.
    path: Option<PathBuf>,
    /// The `volume_backend_name` extra spec(s) of the types placed here;
    /// default: the pool's name.
    volume_backend_name: Option<OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A storage pool, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub name: String,
    pub backend: BackendKind,
    /// Absolute, or relative to the working directory like the data directory.
    pub path: PathBuf,
    pub volume_backend_names: Vec<String>,
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
    pub image_port: u16,
    pub nbd_port: u16,
    pub compute_port: u16,
    pub compute_driver: ComputeDriverKind,
    pub public_host: String,
    pub log_format: String,
    /// The storage pools, the first the default; never empty.
    pub pools: Vec<PoolConfig>,
    pub region: String,
    pub service: ServiceConfig,
    /// Tunables of the engine's pool (defaults, less the test hooks).
    pub pool: PoolOptions,
    pub admin_bind: String,
    pub admin_port: u16,
    /// 0: no console.
    pub console_port: u16,
    pub metrics_sample: Duration,
    pub http_limits: platter_api::toolkit::server::Limits,
    pub nbd_limits: platter_nbd::Limits,
}

/// Whether `binary` names an executable (a path, or a name on `PATH`).
fn on_path(binary: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runs = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if binary.contains('/') {
        return runs(std::path::Path::new(binary));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| runs(&d.join(binary))))
}

impl BackendKind {
    fn parse(name: &str) -> Result<BackendKind> {
        match name {
            "engine" => Ok(BackendKind::Engine),
            "sparse-file" => Ok(BackendKind::SparseFile),
            other => bail!("backend must be 'engine' or 'sparse-file', not '{other}'"),
        }
    }
}

/// The pools of the file, or without any the single pool `pool` of
/// `backend` where a server without pools keeps its data (`<data-dir>/pool`
/// for the engine, `<data-dir>/sparse` for sparse files).
fn resolve_pools(
    file: Option<Vec<PoolFile>>,
    backend: BackendKind,
    data_dir: &std::path::Path,
) -> Result<Vec<PoolConfig>> {
    let Some(file) = file else {
        let dir = match backend {
            BackendKind::Engine => "pool",
            BackendKind::SparseFile => "sparse",
        };
        return Ok(vec![PoolConfig {
            name: platter_backend::DEFAULT_POOL.to_string(),
            backend,
            path: data_dir.join(dir),
            volume_backend_names: vec![platter_backend::DEFAULT_POOL.to_string()],
        }]);
    };
    if file.is_empty() {
        bail!("[[pools]] must name at least one pool");
    }
    let mut pools: Vec<PoolConfig> = Vec::with_capacity(file.len());
    for p in file {
        let name = p.name;
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            bail!("pool name '{name}' must be 1 to 64 letters, digits, '-', '_' or '.'");
        }
        if pools.iter().any(|q| q.name == name) {
            bail!("pool '{name}' is configured twice");
        }
        let kind = match p.backend {
            None => backend,
            Some(b) => BackendKind::parse(&b).with_context(|| format!("pool '{name}'"))?,
        };
        let path = data_dir.join(p.path.unwrap_or_else(|| PathBuf::from("pools").join(&name)));
        if let Some(q) = pools.iter().find(|q| q.path == path) {
            bail!(
                "pools '{}' and '{name}' both use {}",
                q.name,
                path.display()
            );
        }
        let volume_backend_names = match p.volume_backend_name {
            None => vec![name.clone()],
            Some(OneOrMany::One(n)) => vec![n],
            Some(OneOrMany::Many(list)) => list,
        };
        if volume_backend_names.is_empty() || volume_backend_names.iter().any(|n| n.is_empty()) {
            bail!("pool '{name}': volume_backend_name must not be empty");
        }
        for n in &volume_backend_names {
            if let Some(q) = pools.iter().find(|q| q.volume_backend_names.contains(n)) {
                bail!(
                    "volume_backend_name '{n}' names both pool '{}' and pool '{name}'",
                    q.name
                );
            }
        }
        pools.push(PoolConfig {
            name,
            backend: kind,
            path,
            volume_backend_names,
        });
    }
    Ok(pools)
}

impl Config {
    pub fn resolve(args: &ServeArgs) -> Result<Config> {
        let mut file: FileConfig = match &args.config {
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
        let backend = match args.backend.clone().or(file.backend) {
            None => BackendKind::Engine,
            Some(name) => BackendKind::parse(&name)?,
        };
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| "./platter-data".into());
        let pools = resolve_pools(file.pools, backend, &data_dir)?;
        let nbd_port = args.nbd_port.or(file.nbd_port).unwrap_or(10809);
        let mut service = ServiceConfig {
            data_path: platter_service::DataPathEndpoint {
                host: public_host.clone(),
                port: nbd_port,
            },
            scratch_dir: Some(data_dir.join("tmp")),
            backup_dir: Some(data_dir.join("backups")),
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
        service.default_group_type = file.default_group_type;
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
            ..Default::default()
        };
        let qemu_binary = args
            .qemu_binary
            .clone()
            .or(file.qemu_binary.clone())
            .unwrap_or_else(|| "qemu-system-x86_64".into());
        let compute_driver = match args
            .compute_driver
            .clone()
            .or(file.compute_driver.clone())
            .as_deref()
        {
            Some("qemu") => ComputeDriverKind::Qemu {
                binary: qemu_binary,
            },
            Some("none") => ComputeDriverKind::None,
            Some(other) => bail!("compute_driver must be 'qemu' or 'none', not '{other}'"),
            None if on_path(&qemu_binary) => ComputeDriverKind::Qemu {
                binary: qemu_binary,
            },
            None => ComputeDriverKind::Disabled,
        };
        if let Some(flavors) = file.flavors.take() {
            if flavors.is_empty() {
                bail!("[[flavors]] must list at least one flavor");
            }
            service.flavors = flavors
                .into_iter()
                .map(|f| platter_model::Flavor {
                    name: f.name.unwrap_or_else(|| f.id.clone()),
                    id: f.id,
                    vcpus: f.vcpus,
                    ram_mib: f.ram_mib,
                    disk_gib: f.disk_gib,
                    extra_specs: f.extra_specs,
                })
                .collect();
        }
        let mut pool = PoolOptions {
            sync_delay: Duration::from_millis(args.test_fsync_delay_ms.unwrap_or(0)),
            ..Default::default()
        };
        if let Some(bytes) = args.test_checkpoint_after_bytes {
            pool.checkpoint_after_bytes = bytes;
        }
        let sec = file.security.take().unwrap_or_default();
        let secs = |flag: Option<u64>, file: Option<u64>, default: Duration, name: &str| match flag
            .or(file)
        {
            Some(0) => bail!("{name} must be at least 1"),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        };
        let http_defaults = platter_api::toolkit::server::Limits::default();
        let max_connections_per_source = args
            .max_connections_per_source
            .or(sec.max_connections_per_source)
            .unwrap_or(http_defaults.max_connections_per_source);
        let http_limits = platter_api::toolkit::server::Limits {
            header_timeout: secs(
                args.http_header_timeout_seconds,
                sec.http_header_timeout_seconds,
                http_defaults.header_timeout,
                "http_header_timeout_seconds",
            )?,
            body_timeout: secs(
                args.http_body_timeout_seconds,
                sec.http_body_timeout_seconds,
                http_defaults.body_timeout,
                "http_body_timeout_seconds",
            )?,
            max_connections_per_source,
        };
        let nbd_limits = platter_nbd::Limits {
            handshake_timeout: secs(
                args.nbd_handshake_timeout_seconds,
                sec.nbd_handshake_timeout_seconds,
                platter_nbd::Limits::default().handshake_timeout,
                "nbd_handshake_timeout_seconds",
            )?,
            max_connections_per_source,
        };
        let auth = &mut service.auth_limits;
        if let Some(n) = args
            .lockout_failure_attempts
            .or(sec.lockout_failure_attempts)
        {
            auth.lockout_failure_attempts = n;
        }
        auth.lockout_duration = secs(
            args.lockout_duration_seconds,
            sec.lockout_duration_seconds,
            auth.lockout_duration,
            "lockout_duration_seconds",
        )?;
        if let Some(n) = args
            .auth_failures_per_minute
            .or(sec.auth_failures_per_minute)
        {
            auth.failures_per_minute_per_source = n;
        }
        let metrics_sample = secs(
            args.metrics_sample_seconds,
            file.metrics_sample_seconds,
            Duration::from_secs(5),
            "metrics_sample_seconds",
        )?;
        Ok(Config {
            data_dir,
            bind,
            identity_port: args.identity_port.or(file.identity_port).unwrap_or(5000),
            block_storage_port: args
                .block_storage_port
                .or(file.block_storage_port)
                .unwrap_or(8776),
            image_port: args.image_port.or(file.image_port).unwrap_or(9292),
            compute_port: args.compute_port.or(file.compute_port).unwrap_or(8774),
            compute_driver,
            nbd_port,
            public_host,
            log_format,
            pools,
            region: file.region.unwrap_or_else(|| "RegionOne".into()),
            service,
            pool,
            admin_bind: args
                .admin_bind
                .clone()
                .or(file.admin_bind)
                .unwrap_or_else(|| "127.0.0.1".into()),
            admin_port: args.admin_port.or(file.admin_port).unwrap_or(9180),
            console_port: args.console_port.or(file.console_port).unwrap_or(8080),
            metrics_sample,
            http_limits,
            nbd_limits,
        })
    }

    pub fn identity_url(&self) -> String {
        format!("http://{}:{}", self.public_host, self.identity_port)
    }

    pub fn block_storage_url(&self) -> String {
        format!("http://{}:{}", self.public_host, self.block_storage_port)
    }

    pub fn image_url(&self) -> String {
        format!("http://{}:{}", self.public_host, self.image_port)
    }

    pub fn compute_url(&self) -> String {
        format!("http://{}:{}", self.public_host, self.compute_port)
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

    fn resolve_file(text: &str, backend: Option<&str>) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platter.toml");
        std::fs::write(&path, text).unwrap();
        Config::resolve(&ServeArgs {
            config: Some(path),
            data_dir: Some("/data".into()),
            backend: backend.map(str::to_string),
            ..Default::default()
        })
    }

    #[test]
    fn without_pools_there_is_the_one_pool_of_before() {
        let c = resolve_file("", None).unwrap();
        assert_eq!(
            c.pools,
            vec![PoolConfig {
                name: "pool".into(),
                backend: BackendKind::Engine,
                path: "/data/pool".into(),
                volume_backend_names: vec!["pool".into()],
            }]
        );
        let c = resolve_file("", Some("sparse-file")).unwrap();
        assert_eq!(c.pools.len(), 1);
        assert_eq!(c.pools[0].backend, BackendKind::SparseFile);
        assert_eq!(c.pools[0].path, PathBuf::from("/data/sparse"));
    }

    #[test]
    fn pools_come_from_the_file_in_order() {
        let c = resolve_file(
            "[[pools]]\nname = \"fast\"\nbackend = \"engine\"\npath = \"nvme\"\nvolume_backend_name = \"SSD\"\n\
             [[pools]]\nname = \"bulk\"\nvolume_backend_name = [\"SATA\", \"SAS\"]\n\
             [[pools]]\nname = \"far\"\nbackend = \"sparse-file\"\npath = \"/mnt/far\"\n",
            Some("engine"),
        )
        .unwrap();
        let names: Vec<_> = c.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["fast", "bulk", "far"]);
        assert_eq!(c.pools[0].path, PathBuf::from("/data/nvme"));
        assert_eq!(c.pools[0].volume_backend_names, ["SSD"]);
        assert_eq!(c.pools[1].backend, BackendKind::Engine);
        assert_eq!(c.pools[1].path, PathBuf::from("/data/pools/bulk"));
        assert_eq!(c.pools[1].volume_backend_names, ["SATA", "SAS"]);
        assert_eq!(c.pools[2].backend, BackendKind::SparseFile);
        assert_eq!(c.pools[2].path, PathBuf::from("/mnt/far"));
        assert_eq!(c.pools[2].volume_backend_names, ["far"]);
    }

    #[test]
    fn bad_pools_are_refused_with_a_clear_error() {
        let err = |text: &str| format!("{:#}", resolve_file(text, None).unwrap_err());
        let e = err("[[pools]]\nname = \"a\"\nbackend = \"ceph\"\n");
        assert!(e.contains("pool 'a'") && e.contains("not 'ceph'"), "{e}");
        let e = err("[[pools]]\nname = \"a\"\n[[pools]]\nname = \"a\"\n");
        assert!(e.contains("configured twice"), "{e}");
        let e = err("[[pools]]\nname = \"a#b\"\n");
        assert!(e.contains("pool name 'a#b'"), "{e}");
        let e =
            err("[[pools]]\nname = \"a\"\npath = \"x\"\n[[pools]]\nname = \"b\"\npath = \"x\"\n");
        assert!(e.contains("both use"), "{e}");
        let e = err("[[pools]]\nname = \"a\"\nvolume_backend_name = \"SSD\"\n[[pools]]\nname = \"b\"\nvolume_backend_name = \"SSD\"\n");
        assert!(e.contains("'SSD' names both pool 'a' and pool 'b'"), "{e}");
        let e = err("pools = []\n");
        assert!(e.contains("at least one pool"), "{e}");
        let e = err("[[pools]]\nname = \"a\"\nsize = 3\n");
        assert!(e.contains("size"), "{e}");
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
