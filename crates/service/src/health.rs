//! What an operator asks a running server: the pools' capacity, jobs in
//! flight, guests by state; and the gauges of the metrics that are read
//! rather than counted (refreshed by the binary's sampler).

use std::collections::BTreeMap;

use platter_backend::PoolStats;
use platter_metrics::registry;
use platter_model::{DomainError, DomainResult, Timestamp};

use crate::Platter;

/// One pool, for operators.
#[derive(Debug, Clone)]
pub struct PoolHealth {
    pub name: String,
    pub backend: &'static str,
    /// `None` when the backend could not say (the error).
    pub stats: Result<PoolStats, String>,
}

/// A running server's state.
#[derive(Debug, Clone)]
pub struct Health {
    pub started_at: Timestamp,
    pub pools: Vec<PoolHealth>,
    /// Jobs not finished (running or waiting to).
    pub jobs_unfinished: usize,
    /// Servers by VM state (`active`, `stopped`, ...).
    pub guests: BTreeMap<String, usize>,
    pub compute_driver: Option<&'static str>,
}

impl Platter {
    /// The unfinished jobs the caller may see: its project's, or every
    /// project's for an admin (there is no public list of jobs; the
    /// console shows these).
    pub async fn jobs_unfinished(
        &self,
        ctx: &platter_model::AuthContext,
    ) -> DomainResult<Vec<platter_model::Job>> {
        self.authorize(ctx, platter_model::Action::JobGet)?;
        Ok(self
            .store()
            .job_list_unfinished()
            .await?
            .into_iter()
            .filter(|j| ctx.is_admin() || j.project_id == ctx.project_id)
            .collect())
    }

    /// The server's state (no caller: the admin listener is for the
    /// operator, bound to the loopback by default).
    pub async fn health(&self) -> DomainResult<Health> {
        let mut pools = Vec::new();
        for pool in self.inner.pools.iter() {
            let backend = pool.backend.clone();
            let stats = tokio::task::spawn_blocking(move || backend.pool_stats())
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(|e| e.to_string());
            pools.push(PoolHealth {
                name: pool.name.clone(),
                backend: pool.backend.name(),
                stats,
            });
        }
        let jobs_unfinished = self.store().job_list_unfinished().await?.len();
        let mut guests = BTreeMap::new();
        for s in self.store().server_list(None).await? {
            *guests.entry(s.vm_state.to_string()).or_insert(0) += 1;
        }
        Ok(Health {
            started_at: self.inner.started_at,
            pools,
            jobs_unfinished,
            guests,
            compute_driver: self.compute_driver_name(),
        })
    }

    /// Sets the gauges read from state: pool capacity and allocation,
    /// guests by state, unfinished jobs.
    pub async fn refresh_gauges(&self) -> DomainResult<Health> {
        let health = self.health().await?;
        let r = registry();
        let capacity = r.gauge_vec(
            "platter_pool_capacity_bytes",
            "Bytes a storage pool can hold in all.",
            &["pool"],
        );
        let free = r.gauge_vec(
            "platter_pool_free_bytes",
            "Bytes still free in a storage pool.",
            &["pool"],
        );
        let allocated = r.gauge_vec(
            "platter_pool_allocated_bytes",
            "Bytes allocated to volumes and snapshots in a storage pool.",
            &["pool"],
        );
        let provisioned = r.gauge_vec(
            "platter_pool_provisioned_bytes",
            "Sum of the sizes of the volumes in a storage pool.",
            &["pool"],
        );
        for p in &health.pools {
            if let Ok(s) = &p.stats {
                capacity.set(&[&p.name], s.total_bytes as f64);
                free.set(&[&p.name], s.free_bytes as f64);
                allocated.set(&[&p.name], s.allocated_bytes as f64);
                provisioned.set(&[&p.name], s.provisioned_bytes as f64);
            }
        }
        let guests = r.gauge_vec("platter_guests", "Compute servers by VM state.", &["state"]);
        for state in [
            "active",
            "building",
            "stopped",
            "error",
            "deleted",
            "paused",
            "suspended",
            "shelved",
        ] {
            guests.set(&[state], *health.guests.get(state).unwrap_or(&0) as f64);
        }
        for (state, n) in &health.guests {
            guests.set(&[state], *n as f64);
        }
        r.gauge(
            "platter_jobs_unfinished",
            "Jobs not finished (running, or waiting to run or to be re-driven).",
        )
        .set(health.jobs_unfinished as f64);
        Ok(health)
    }
}
