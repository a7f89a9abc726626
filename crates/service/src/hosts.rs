//! Cinder's `os-hosts`: the services of this server and, per volume host
//! (`platter@<backend>`), what its pools hold.

use std::collections::BTreeMap;

use platter_model::{Action, AuthContext, DomainError, DomainResult};

use crate::{Platter, SnapshotListRequest, VolumeListRequest};

/// One service on one host, as `os-hosts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostService {
    pub host_name: String,
    /// `cinder-scheduler` or `cinder-volume`.
    pub service: &'static str,
    pub zone: String,
}

/// What a volume host holds for one project (or, first, in total).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostUsage {
    /// A project id, or `(total)`.
    pub project: String,
    pub volume_count: i64,
    pub total_volume_gb: i64,
    pub snapshot_count: i64,
    pub total_snapshot_gb: i64,
}

impl Platter {
    /// Admin: the scheduler on `platter` and a volume service per backend.
    pub fn host_list(&self, ctx: &AuthContext) -> DomainResult<Vec<HostService>> {
        self.authorize(ctx, Action::HostList)?;
        let zone = self
            .config()
            .availability_zones
            .first()
            .cloned()
            .unwrap_or_else(|| "nova".into());
        let mut out = vec![HostService {
            host_name: platter_backend::HOST.to_string(),
            service: "cinder-scheduler",
            zone: zone.clone(),
        }];
        for pool in self.pools().iter() {
            let host_name = volume_host_of(&pool.host());
            if !out.iter().any(|h| h.host_name == host_name) {
                out.push(HostService {
                    host_name,
                    service: "cinder-volume",
                    zone: zone.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Admin: the volumes and snapshots a volume host holds, in total and
    /// per project.
    pub async fn host_show(&self, ctx: &AuthContext, host: &str) -> DomainResult<Vec<HostUsage>> {
        self.authorize(ctx, Action::HostGet)?;
        if !self
            .host_list(ctx)?
            .iter()
            .any(|h| h.host_name == host && h.service == "cinder-volume")
        {
            return Err(DomainError::not_found("Host", host));
        }
        let volumes = self
            .volume_list(
                ctx,
                VolumeListRequest {
                    all_tenants: true,
                    ..Default::default()
                },
            )
            .await?;
        let snapshots = self
            .snapshot_list(
                ctx,
                SnapshotListRequest {
                    all_tenants: true,
                    ..Default::default()
                },
            )
            .await?;
        let mut total = HostUsage {
            project: "(total)".into(),
            ..Default::default()
        };
        let mut per: BTreeMap<String, HostUsage> = BTreeMap::new();
        let mut here = std::collections::BTreeSet::new();
        for v in volumes
            .iter()
            .filter(|v| volume_host_of(&self.volume_host(v)) == host)
        {
            here.insert(v.id.clone());
            for u in [&mut total, per.entry(v.project_id.to_string()).or_default()] {
                u.volume_count += 1;
                u.total_volume_gb += v.size;
            }
        }
        for s in snapshots.iter().filter(|s| here.contains(&s.volume_id)) {
            for u in [&mut total, per.entry(s.project_id.to_string()).or_default()] {
                u.snapshot_count += 1;
                u.total_snapshot_gb += s.size;
            }
        }
        let mut out = vec![total];
        out.extend(
            per.into_iter()
                .map(|(project, u)| HostUsage { project, ..u }),
        );
        Ok(out)
    }
}

/// `platter@engine#pool` → `platter@engine`.
fn volume_host_of(pool_host: &str) -> String {
    pool_host.split('#').next().unwrap_or(pool_host).to_string()
}
