//! Several backends in one process: named pools, each with its own
//! [`StorageBackend`]. A volume lives in one pool for its whole life; its
//! snapshots and clones live there too.

use std::sync::Arc;

use crate::{BackendError, BackendResult, StorageBackend};

/// The pool name of the single pool a server has when none is configured
/// (and of every volume created before pools existed).
pub const DEFAULT_POOL: &str = "pool";

/// The host part of a pool's `host@backend#pool` name.
pub const HOST: &str = "platter";

/// One pool: a name, the `volume_backend_name`s of the volume types it
/// takes, and its backend.
#[derive(Clone)]
pub struct BackendPool {
    pub name: String,
    /// Types whose `volume_backend_name` extra spec is one of these place
    /// their volumes here.
    pub volume_backend_names: Vec<String>,
    pub backend: Arc<dyn StorageBackend>,
}

impl BackendPool {
    /// Cinder's host string of the pool: `platter@<pool>#<pool>`. Each
    /// pool is its own Cinder backend (a volume service with its own
    /// `volume_backend_name`s), so the backend part names the pool too;
    /// capabilities, services and hosts are per pool.
    pub fn host(&self) -> String {
        format!("{HOST}@{}#{}", self.name, self.name)
    }
}

impl std::fmt::Debug for BackendPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendPool")
            .field("name", &self.name)
            .field("volume_backend_names", &self.volume_backend_names)
            .field("backend", &self.backend.name())
            .finish()
    }
}

/// The pools of a server, the first being the default one.
#[derive(Debug, Clone)]
pub struct BackendRegistry {
    pools: Vec<BackendPool>,
}

impl BackendRegistry {
    /// One pool named [`DEFAULT_POOL`]: a server without pool configuration.
    pub fn single(backend: Arc<dyn StorageBackend>) -> BackendRegistry {
        BackendRegistry {
            pools: vec![BackendPool {
                name: DEFAULT_POOL.to_string(),
                volume_backend_names: vec![DEFAULT_POOL.to_string()],
                backend,
            }],
        }
    }

    /// Pools in order, the first the default. Names and
    /// `volume_backend_name`s must be unique.
    pub fn new(pools: Vec<BackendPool>) -> BackendResult<BackendRegistry> {
        if pools.is_empty() {
            return Err(BackendError::Invalid("at least one pool is needed".into()));
        }
        for (i, p) in pools.iter().enumerate() {
            if pools[..i].iter().any(|q| q.name == p.name) {
                return Err(BackendError::Invalid(format!(
                    "pool name {:?} is used twice",
                    p.name
                )));
            }
            for n in &p.volume_backend_names {
                if let Some(q) = pools[..i]
                    .iter()
                    .find(|q| q.volume_backend_names.contains(n))
                {
                    return Err(BackendError::Invalid(format!(
                        "volume_backend_name {n:?} names both pool {:?} and pool {:?}",
                        q.name, p.name
                    )));
                }
            }
        }
        Ok(BackendRegistry { pools })
    }

    /// The pool of volumes whose type names no pool.
    pub fn default_pool(&self) -> &BackendPool {
        // `new` and `single` never build an empty registry.
        &self.pools[0]
    }

    pub fn get(&self, name: &str) -> Option<&BackendPool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The backend of a pool; a pool that is not configured is an error.
    pub fn backend(&self, pool: &str) -> BackendResult<Arc<dyn StorageBackend>> {
        self.get(pool)
            .map(|p| p.backend.clone())
            .ok_or_else(|| BackendError::Invalid(format!("no pool named {pool:?} is configured")))
    }

    /// The pool a `volume_backend_name` extra spec selects, if any.
    pub fn by_volume_backend_name(&self, name: &str) -> Option<&BackendPool> {
        self.pools
            .iter()
            .find(|p| p.volume_backend_names.iter().any(|n| n == name))
    }

    pub fn iter(&self) -> impl Iterator<Item = &BackendPool> {
        self.pools.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    fn pool(name: &str, names: &[&str]) -> BackendPool {
        BackendPool {
            name: name.into(),
            volume_backend_names: names.iter().map(|s| s.to_string()).collect(),
            backend: Arc::new(MemoryBackend::new()),
        }
    }

    #[test]
    fn pools_are_found_by_name_and_by_volume_backend_name() {
        let r = BackendRegistry::new(vec![pool("a", &["a", "SAS"]), pool("b", &["b"])]).unwrap();
        assert_eq!(r.default_pool().name, "a");
        assert_eq!(r.by_volume_backend_name("SAS").unwrap().name, "a");
        assert_eq!(r.by_volume_backend_name("b").unwrap().name, "b");
        assert!(r.by_volume_backend_name("c").is_none());
        assert!(r.backend("b").is_ok());
        assert!(r.backend("c").is_err());
        assert_eq!(r.get("b").unwrap().host(), "platter@b#b");
    }

    #[test]
    fn duplicates_and_no_pools_are_refused() {
        assert!(BackendRegistry::new(vec![]).is_err());
        assert!(BackendRegistry::new(vec![pool("a", &["a"]), pool("a", &["x"])]).is_err());
        assert!(BackendRegistry::new(vec![pool("a", &["x"]), pool("b", &["x"])]).is_err());
        let single = BackendRegistry::single(Arc::new(MemoryBackend::new()));
        assert_eq!(single.default_pool().host(), "platter@pool#pool");
    }
}
