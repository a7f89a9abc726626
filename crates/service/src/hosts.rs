//! Cinder's `os-hosts`: the services of this server and, per volume host
//! (`platter@<backend>`), what its pools hold.

use std::collections::BTreeMap;

use platter_model::{Action, AuthContext, DomainError, DomainResult, ServiceState, Timestamp};

use crate::scheduler::volume_host_of;
use crate::{Platter, SnapshotListRequest, VolumeListRequest};

/// One service on one host, as `os-hosts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostService {
    pub host_name: String,
    /// `cinder-scheduler` or `cinder-volume`.
    pub service: &'static str,
    pub zone: String,
}

/// A service with its state and zone, as `os-services` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEntry {
    pub state: ServiceState,
    pub zone: String,
}

/// What an operator changes on a service.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceChange {
    Enable,
    Disable { reason: Option<String> },
}

/// Whether `host` names `service_host` at Cinder's host level: `platter`
/// names `platter` and `platter@pool`; `platter@pool` names itself.
fn host_matches(service_host: &str, host: &str) -> bool {
    service_host == host
        || service_host
            .strip_prefix(host)
            .is_some_and(|rest| rest.starts_with('@') || rest.starts_with('#'))
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
        Ok(self.host_list_unchecked())
    }

    fn host_list_unchecked(&self) -> Vec<HostService> {
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
        out
    }

    /// Admin: the services (`os-services`), filtered by host (at Cinder's
    /// host level) and binary.
    pub async fn service_list(
        &self,
        ctx: &AuthContext,
        host: Option<&str>,
        binary: Option<&str>,
    ) -> DomainResult<Vec<ServiceEntry>> {
        self.authorize(ctx, Action::VolumeServiceList)?;
        let states = self.store().service_states().await?;
        let started = self.started_at();
        Ok(self
            .host_list_unchecked()
            .into_iter()
            .filter(|h| host.is_none_or(|want| host_matches(&h.host_name, want)))
            .filter(|h| binary.is_none_or(|want| want == h.service))
            .map(|h| {
                let state = states
                    .iter()
                    .find(|s| s.host == h.host_name && s.binary == h.service)
                    .cloned()
                    .unwrap_or_else(|| ServiceState {
                        host: h.host_name.clone(),
                        binary: h.service.to_string(),
                        disabled: false,
                        disabled_reason: None,
                        frozen: false,
                        updated_at: started,
                    });
                ServiceEntry {
                    state,
                    zone: h.zone,
                }
            })
            .collect())
    }

    /// Admin: enables or disables one service; an unknown host or binary is
    /// not found.
    pub async fn service_update(
        &self,
        ctx: &AuthContext,
        host: &str,
        binary: &str,
        change: ServiceChange,
    ) -> DomainResult<ServiceState> {
        self.authorize(ctx, Action::VolumeServiceUpdate)?;
        let current = self
            .service_list(ctx, None, None)
            .await?
            .into_iter()
            .find(|e| e.state.host == host && e.state.binary == binary)
            .ok_or_else(|| DomainError::not_found("Service", format!("{host}/{binary}")))?;
        let mut state = current.state;
        (state.disabled, state.disabled_reason) = match change {
            ServiceChange::Enable => (false, None),
            ServiceChange::Disable { reason } => (true, reason),
        };
        state.updated_at = Timestamp::now();
        self.store().service_state_put(&state).await?;
        Ok(state)
    }

    /// Admin: freezes or thaws the volume services of a host. A host with
    /// no volume service is the caller's error, as upstream.
    pub async fn service_freeze(
        &self,
        ctx: &AuthContext,
        host: &str,
        frozen: bool,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeServiceUpdate)?;
        let volume_services: Vec<ServiceEntry> = self
            .service_list(ctx, Some(host), Some("cinder-volume"))
            .await?;
        if volume_services.is_empty() {
            return Err(DomainError::invalid(format!(
                "Host {host} has no volume service."
            )));
        }
        for e in volume_services {
            let state = ServiceState {
                frozen,
                updated_at: Timestamp::now(),
                ..e.state
            };
            self.store().service_state_put(&state).await?;
        }
        Ok(())
    }

    /// The volume hosts (`platter@<pool>`) that take no new volumes, with
    /// why: an operator disabled or froze them.
    pub(crate) async fn closed_volume_hosts(&self) -> DomainResult<Vec<(String, &'static str)>> {
        Ok(self
            .store()
            .service_states()
            .await?
            .into_iter()
            .filter(|s| s.binary == "cinder-volume" && (s.disabled || s.frozen))
            .map(|s| (s.host, if s.disabled { "disabled" } else { "frozen" }))
            .collect())
    }

    /// Cinder's rule for a frozen backend (replication freeze): no
    /// management operation changes what it holds, while attachments and
    /// I/O go on.
    pub(crate) async fn refuse_frozen(&self, v: &platter_model::Volume) -> DomainResult<()> {
        let host = crate::scheduler::volume_host_of(&self.volume_host(v));
        let frozen = self
            .store()
            .service_states()
            .await?
            .into_iter()
            .any(|s| s.binary == "cinder-volume" && s.frozen && s.host == host);
        if frozen {
            return Err(DomainError::invalid(
                "Modification operations are not allowed on frozen storage backends.",
            ));
        }
        Ok(())
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
