//! The exports the NBD server serves: names → volumes, with a QoS limiter
//! per volume. The service publishes and withdraws exports as attachments
//! come and go; withdrawing one closes its open connections.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use platter_backend::{BackendRegistry, BackendResult, StorageBackend};
use platter_backend::{DataPath, ExportSpec, Qos};
use tokio::sync::watch;

use crate::qos::Limiter;

/// One served export.
pub struct Export {
    pub name: String,
    pub volume_id: String,
    /// The pool whose backend holds the volume.
    pub pool: String,
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
