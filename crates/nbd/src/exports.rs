//! The exports the NBD server serves: names → volumes, with a QoS limiter
//! per volume. The service publishes and withdraws exports as attachments
//! come and go; withdrawing one closes its open connections.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use platter_backend::{BackendRegistry, BackendResult, Mirror, StorageBackend, VolumeIo};
use platter_backend::{DataPath, ExportSpec, Qos};
use tokio::sync::watch;

use crate::qos::Limiter;

/// One served export.
pub struct Export {
    pub name: String,
    pub volume_id: String,
    /// The pool whose backend holds the volume.
    pub pool: String,
    /// The pool of the volume's in-sync replica: writes go there too.
    pub replica_pool: Option<String>,
    pub read_only: bool,
    pub limiter: Arc<Limiter>,
    /// Becomes `true` when the export is withdrawn.
    pub closed: watch::Receiver<bool>,
}

struct Entry {
    export: Arc<Export>,
    close: watch::Sender<bool>,
}

#[derive(Default)]
struct Inner {
    exports: HashMap<String, Entry>,
    limiters: HashMap<String, Arc<Limiter>>,
}

pub struct Exports {
    pools: Arc<BackendRegistry>,
    inner: RwLock<Inner>,
}

impl Exports {
    /// Exports of one backend (the single pool [`platter_backend::DEFAULT_POOL`]).
    pub fn new(backend: Arc<dyn StorageBackend>) -> Arc<Exports> {
        Exports::with_pools(Arc::new(BackendRegistry::single(backend)))
    }

    /// Exports of volumes in any of these pools.
    pub fn with_pools(pools: Arc<BackendRegistry>) -> Arc<Exports> {
        Arc::new(Exports {
            pools,
            inner: RwLock::new(Inner::default()),
        })
    }

    /// The backend holding an export's volume.
    pub fn backend_of(&self, export: &Export) -> BackendResult<Arc<dyn StorageBackend>> {
        self.pools.backend(&export.pool)
    }

    /// Opens an export's volume for I/O (blocking): the volume itself, or
    /// the volume and its replica as one [`Mirror`].
    pub fn open_blocking(&self, export: &Export) -> BackendResult<Arc<dyn VolumeIo>> {
        let primary = self.backend_of(export)?.open_volume(&export.volume_id)?;
        match &export.replica_pool {
            None => Ok(primary),
            Some(pool) => {
                let replica = self.pools.backend(pool)?.open_volume(&export.volume_id)?;
                Ok(Arc::new(Mirror::new(primary, replica)))
            }
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Arc<Export>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.exports.get(name).map(|e| e.export.clone())
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .exports
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DataPath for Exports {
    fn publish(&self, spec: ExportSpec, qos: Qos) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let limiter = inner
            .limiters
            .entry(spec.volume_id.clone())
            .or_insert_with(|| Arc::new(Limiter::new(qos)))
            .clone();
        limiter.set(qos);
        let (close, closed) = watch::channel(false);
        let export = Arc::new(Export {
            name: spec.name.clone(),
            volume_id: spec.volume_id,
            pool: spec.pool,
            replica_pool: spec.replica_pool,
            read_only: spec.read_only,
            limiter,
            closed,
        });
        if let Some(old) = inner.exports.insert(spec.name, Entry { export, close }) {
            let _ = old.close.send(true);
        }
        tracing::info!(exports = inner.exports.len(), "export published");
    }

    fn withdraw(&self, export_name: &str) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = inner.exports.remove(export_name) {
            let _ = old.close.send(true);
            let volume = old.export.volume_id.clone();
            if !inner.exports.values().any(|e| e.export.volume_id == volume) {
                inner.limiters.remove(&volume);
                crate::metrics::forget(&volume);
            }
            tracing::info!(exports = inner.exports.len(), "export withdrawn");
        }
    }

    fn set_qos(&self, volume_id: &str, qos: Qos) {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = inner.limiters.get(volume_id) {
            l.set(qos);
        }
    }
}
