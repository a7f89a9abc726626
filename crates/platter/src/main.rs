//! `platter`: the service and its administration commands.

mod admin;
mod config;
mod image_cmd;
mod observe;
mod volume_cmd;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use platter_api::{ApiState, PublicUrls};
use platter_backend::{
    BackendPool, BackendRegistry, SparseFileBackend, StorageBackend, Unavailable,
};
use platter_engine::{Pool, PoolOptions};
use platter_nbd::Exports;
use platter_service::Platter;
use platter_store::Store;
use tokio::net::TcpListener;
use tokio::runtime::Handle;

use crate::config::{BackendKind, ComputeDriverKind, Config, PoolConfig, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "platter",
    version,
    about = "Block storage that speaks Cinder, EVS and Keystone, and stores real data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: identity on :5000, block storage on :8776, images
    /// on :9292.
    Serve(Box<ServeArgs>),
    /// Administer identity from the shell (works while the service runs).
    Admin(admin::AdminArgs),
    /// Import and export disk images (credentials from an openrc file).
    Volume(volume_cmd::VolumeArgs),
    /// Upload disk image files to the image service (credentials from an
    /// openrc file).
    Image(image_cmd::ImageArgs),
    /// Print the health of a running server (from its admin listener).
    Status(observe::StatusArgs),
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLATTER_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("info,{}", platter_store::LOG_DIRECTIVES))
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Holds an exclusive lock on the data directory while the service runs.
fn lock_data_dir(dir: &Path) -> Result<File> {
    let path = dir.join("platter.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        bail!("another platter is already serving {}", dir.display());
    }
    Ok(file)
}

/// Opens the backend of one configured pool.
fn open_backend(pool: &PoolConfig, options: &PoolOptions) -> Result<Arc<dyn StorageBackend>> {
    Ok(match pool.backend {
        BackendKind::Engine => Arc::new(
            Pool::open(&pool.path, options.clone())
                .with_context(|| format!("opening the storage pool '{}'", pool.name))?,
        ),
        BackendKind::SparseFile => Arc::new(
            SparseFileBackend::open(&pool.path)
                .with_context(|| format!("opening the sparse-file pool '{}'", pool.name))?,
        ),
    })
}

/// Opens the store (and, with `with_data`, the storage pools) under the
/// data directory and builds the service. Without data, every storage
/// operation is refused: identity administration runs beside a server that
/// owns the pools.
pub async fn open_service(config: &Config, with_data: bool) -> Result<Platter> {
    fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = Store::open(&config.data_dir.join("platter.db"))
        .await
        .context("opening the metadata store")?;
    let mut pools = Vec::with_capacity(config.pools.len());
    for p in &config.pools {
        let backend: Arc<dyn StorageBackend> = if with_data {
            open_backend(p, &config.pool)?
        } else {
            Arc::new(Unavailable(
                "the storage pool belongs to the running server",
            ))
        };
        pools.push(BackendPool {
            name: p.name.clone(),
            volume_backend_names: p.volume_backend_names.clone(),
            backend,
        });
    }
    let pools = BackendRegistry::new(pools).context("configuring the storage pools")?;
    Ok(Platter::with_pools(
        store,
        Arc::new(pools),
        config.service.clone(),
    ))
}

/// Gives the service the configured compute driver; guests' state lives
/// in `<data-dir>/guests`.
fn set_compute_driver(platter: &Platter, config: &Config) -> Result<()> {
    let root = config.data_dir.join("guests");
    let driver: Arc<dyn platter_compute::ComputeDriver> = match &config.compute_driver {
        ComputeDriverKind::Qemu { binary } => Arc::new(
            platter_compute::QemuDriver::new(&root, binary)
                .with_context(|| format!("preparing {}", root.display()))?,
        ),
        ComputeDriverKind::None => Arc::new(
            platter_compute::NoHypervisor::new(&root)
                .with_context(|| format!("preparing {}", root.display()))?,
        ),
        ComputeDriverKind::Disabled => {
            tracing::warn!("no compute driver: qemu-system-x86_64 is not installed and compute_driver is not set; servers cannot be created");
            return Ok(());
        }
    };
    platter.set_compute(driver);
    Ok(())
}

fn write_openrc(config: &Config, password: &str) -> Result<()> {
    let path = config.data_dir.join("admin-openrc.sh");
    let text = format!(
        "# Written by platter serve: credentials of the bootstrap admin.\n\
         export OS_AUTH_URL={auth}/v3\n\
         export OS_IDENTITY_API_VERSION=3\n\
         export OS_USERNAME=admin\n\
         export OS_PASSWORD='{password}'\n\
         export OS_PROJECT_NAME=admin\n\
         export OS_USER_DOMAIN_NAME=Default\n\
         export OS_PROJECT_DOMAIN_NAME=Default\n\
         export OS_REGION_NAME={region}\n\
         export OS_INTERFACE=public\n\
         export OS_VOLUME_API_VERSION=3\n",
        auth = config.identity_url(),
        region = config.region,
    );
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM. `term` is registered when the server
/// starts, so a SIGTERM that arrives while it is still starting is not
/// the default action (death) but a shutdown once it serves.
async fn shutdown_signal(term: Option<tokio::signal::unix::Signal>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match term {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// How long connections still open at shutdown may take to finish the
/// backend calls they have in flight.
const NBD_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The data path's own runtime: NBD connections are accepted and served on
/// its worker threads, and their backend I/O runs on its blocking pool, so
/// neither a busy export nor a disk slow to fdatasync holds up the threads
/// that serve HTTP.
fn nbd_runtime() -> Result<tokio::runtime::Runtime> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("platter-nbd")
        .enable_all()
        .build()
        .context("starting the NBD runtime")
}

/// Serves the APIs on the calling runtime and NBD on `nbd`.
async fn serve(args: ServeArgs, nbd: Handle) -> Result<()> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let config = Config::resolve(&args)?;
    init_logging(&config.log_format);
    fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let _lock = lock_data_dir(&config.data_dir)?;
    let scratch = config.data_dir.join("tmp");
    fs::create_dir_all(&scratch)
        .with_context(|| format!("creating scratch directory {}", scratch.display()))?;
    let platter = open_service(&config, true).await?;
    platter.check_pools().await?;

    let env_password = std::env::var("PLATTER_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    match platter.bootstrap(env_password.as_deref()).await? {
        Some(password) => {
            write_openrc(&config, &password)?;
            tracing::info!(
                openrc = %config.data_dir.join("admin-openrc.sh").display(),
                "bootstrapped domain Default, project admin and user admin"
            );
        }
        None => {
            if let Some(password) = &env_password {
                write_openrc(&config, password)?;
            }
        }
    }
    let exports = Exports::with_pools(platter.pools().clone());
    platter.set_datapath(exports.clone());
    set_compute_driver(&platter, &config)?;
    platter.load_quota_class().await?;
    // The data path serves before recovery, which may start guests whose
    // disks are its exports.
    let published = platter.publish_all_exports().await?;
    if published > 0 {
        tracing::info!(
            exports = published,
            "republished the exports of attached volumes"
        );
    }
    let nbd_addr = format!("{}:{}", config.bind, config.nbd_port);
    // Bound on the NBD runtime, whose reactor then drives its sockets.
    let nbd_listener = nbd
        .spawn(TcpListener::bind(nbd_addr.clone()))
        .await
        .context("the NBD runtime")?
        .with_context(|| format!("binding NBD listener {nbd_addr}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let nbd_server = nbd.spawn(platter_nbd::serve(
        nbd_listener,
        exports,
        config.nbd_limits.clone(),
        stop_rx.clone(),
    ));
    let redriven = platter.recover().await?;
    if redriven > 0 {
        tracing::info!(jobs = redriven, "re-driving unfinished jobs");
    }
    // IAM changes made by another process (`platter admin`, another node)
    // reach this one's policies within a second.
    {
        let platter = platter.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            while !*stop.borrow() {
                tick.tick().await;
                if let Err(e) = platter.iam_refresh().await {
                    tracing::warn!(error = %e, "reloading IAM policies");
                }
            }
        });
    }

    let state = ApiState::new(
        platter.clone(),
        PublicUrls {
            identity: config.identity_url(),
            block_storage: config.block_storage_url(),
            image: config.image_url(),
            compute: config.compute_url(),
            region: config.region.clone(),
        },
    );
    let identity_addr = format!("{}:{}", config.bind, config.identity_port);
    let volume_addr = format!("{}:{}", config.bind, config.block_storage_port);
    let identity_listener = TcpListener::bind(&identity_addr)
        .await
        .with_context(|| format!("binding identity listener {identity_addr}"))?;
    let volume_listener = TcpListener::bind(&volume_addr)
        .await
        .with_context(|| format!("binding block-storage listener {volume_addr}"))?;
    let image_addr = format!("{}:{}", config.bind, config.image_port);
    let image_listener = TcpListener::bind(&image_addr)
        .await
        .with_context(|| format!("binding image listener {image_addr}"))?;
    let compute_addr = format!("{}:{}", config.bind, config.compute_port);
    let compute_listener = TcpListener::bind(&compute_addr)
        .await
        .with_context(|| format!("binding compute listener {compute_addr}"))?;
    let admin_addr = format!("{}:{}", config.admin_bind, config.admin_port);
    let admin_listener = TcpListener::bind(&admin_addr)
        .await
        .with_context(|| format!("binding admin listener {admin_addr}"))?;
    let console_addr = format!("{}:{}", config.bind, config.console_port);
    let console_listener = if config.console_port == 0 {
        None
    } else {
        Some(
            TcpListener::bind(&console_addr)
                .await
                .with_context(|| format!("binding console listener {console_addr}"))?,
        )
    };
    tracing::info!(identity = %identity_addr, block_storage = %volume_addr, image = %image_addr, compute = %compute_addr, nbd = %nbd_addr, admin = %admin_addr, console = %if console_listener.is_some() { console_addr.as_str() } else { "off" }, compute_driver = platter.compute_driver_name().unwrap_or("disabled"), data_dir = %config.data_dir.display(), "platter serving");

    let mut listeners = vec![
        ("identity".to_string(), identity_addr.clone()),
        ("block_storage".to_string(), volume_addr.clone()),
        ("image".to_string(), image_addr.clone()),
        ("compute".to_string(), compute_addr.clone()),
        ("nbd".to_string(), nbd_addr.clone()),
        ("admin".to_string(), admin_addr.clone()),
    ];
    if console_listener.is_some() {
        listeners.push(("console".to_string(), console_addr.clone()));
    }
    let history = Arc::new(platter_metrics::History::new(
        platter_api::console::FAMILIES,
        observe::HISTORY_SAMPLES,
    ));
    let sampler = tokio::spawn(observe::sample_forever(
        platter.clone(),
        history.clone(),
        config.metrics_sample,
    ));
    let limits = config.http_limits.clone();
    let serve_http = |listener: TcpListener, router: axum::Router, name: &'static str| {
        tokio::spawn(platter_api::toolkit::server::serve(
            listener,
            router,
            limits.clone(),
            name,
            stop_rx.clone(),
        ))
    };
    let mut servers = vec![
        serve_http(
            identity_listener,
            platter_api::identity_router(state.clone()),
            "identity",
        ),
        serve_http(
            volume_listener,
            platter_api::block_storage_router(state.clone()),
            "block_storage",
        ),
        serve_http(
            image_listener,
            platter_api::image_router(state.clone()),
            "image",
        ),
        serve_http(
            compute_listener,
            platter_api::compute_router(state.clone()),
            "compute",
        ),
        serve_http(
            admin_listener,
            observe::admin_router(platter.clone(), observe::Listeners(listeners)),
            "admin",
        ),
    ];
    if let Some(listener) = console_listener {
        servers.push(serve_http(
            listener,
            platter_api::console::router(state, history),
            "console",
        ));
    }
    shutdown_signal(term).await;
    let _ = stop_tx.send(true);
    sampler.abort();
    for server in servers {
        server.await.context("serving")?;
    }
    let _ = nbd_server.await;
    platter.store().close().await;
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => {
            let nbd = nbd_runtime()?;
            let result = runtime.block_on(serve(*args, nbd.handle().clone()));
            // Connections still open end here.
            nbd.shutdown_timeout(NBD_SHUTDOWN_GRACE);
            result
        }
        Command::Admin(args) => runtime.block_on(admin::run(args)),
        Command::Volume(args) => runtime.block_on(volume_cmd::run(args)),
        Command::Image(args) => runtime.block_on(image_cmd::run(args)),
        Command::Status(args) => runtime.block_on(observe::run_status(args)),
    }
}
