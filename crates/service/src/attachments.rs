//! Attaching volumes: Cinder's v3 attachments and the legacy actions, over
//! one set of attachment rows. An attachment with a connector has an NBD
//! export under an unguessable name, published to the data path.

use platter_model::{
    new_hex_id, Action, AttachMode, Attachment, AttachmentId, AttachmentStatus, AuthContext,
    DomainError, DomainResult, MigrationStatus, Volume, VolumeId,
};
use platter_store::{AttachmentQuery, NewAttachment};
use serde_json::Value;

use crate::{visible, Platter};
use platter_backend::ExportSpec;

/// How a client reaches a volume's data: one variant per transport (NBD
/// today; RBD and others later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// An NBD export of the data path.
    Nbd {
        host: String,
        port: u16,
        export: String,
    },
}

impl Connection {
    /// Cinder's `driver_volume_type` of the transport.
    pub fn driver_volume_type(&self) -> &'static str {
        match self {
            Connection::Nbd { .. } => "nbd",
        }
    }
}

/// What a client needs to connect: Cinder's `connection_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub connection: Connection,
    pub access_mode: AttachMode,
    pub volume_id: VolumeId,
}

impl ConnectionInfo {
    /// The URI a client opens (`nbd://host:port/export`).
    pub fn uri(&self) -> String {
        match &self.connection {
            Connection::Nbd { host, port, export } => format!("nbd://{host}:{port}/{export}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AttachmentListRequest {
    pub all_tenants: bool,
    pub volume_id: Option<VolumeId>,
    pub instance_uuid: Option<String>,
    pub status: Option<String>,
    pub page: platter_store::Page,
}

fn connector_host(connector: &Value) -> Option<String> {
    connector
        .get("host")
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl Platter {
    pub fn connection_info(&self, a: &Attachment, v: &Volume) -> Option<ConnectionInfo> {
        let ep = &self.config().data_path;
        a.export_name.as_ref().map(|name| ConnectionInfo {
            connection: Connection::Nbd {
                host: ep.host.clone(),
                port: ep.port,
                export: name.clone(),
            },
            access_mode: if v.readonly {
                AttachMode::ReadOnly
            } else {
                a.attach_mode
            },
            volume_id: v.id.clone(),
        })
    }

    pub(crate) async fn publish(&self, a: &Attachment) {
        let (Some(dp), Some(name)) = (self.inner.datapath.get(), &a.export_name) else {
            return;
        };
        let Ok(Some(v)) = self.store().volume_get(&a.volume_id).await else {
            return;
        };
        let qos = self.qos_of(&v).await;
        dp.publish(
            ExportSpec {
                name: name.clone(),
                volume_id: v.id.to_string(),
                pool: v.pool.clone(),
                replica_pool: v.mirror_pool().map(str::to_string),
                read_only: a.attach_mode == AttachMode::ReadOnly || v.readonly,
            },
            qos,
        );
    }

    pub(crate) fn withdraw(&self, a: &Attachment) {
        if let (Some(dp), Some(name)) = (self.inner.datapath.get(), &a.export_name) {
            dp.withdraw(name);
        }
    }

    /// Republishes every export recorded in the store (at start).
    pub async fn publish_all_exports(&self) -> DomainResult<usize> {
        let all = self.store().attachment_list_exported().await?;
        for a in &all {
            self.publish(a).await;
        }
        Ok(all.len())
    }

    pub async fn attachment_get(
        &self,
        ctx: &AuthContext,
        id: &AttachmentId,
    ) -> DomainResult<(Attachment, Volume)> {
        self.authorize(ctx, Action::AttachmentGet)?;
        let a = match self.store().attachment_get(id).await? {
            Some(a) if visible(ctx, &a.project_id) => a,
            _ => return Err(DomainError::not_found("Attachment", id)),
        };
        let v = self.volume_find(ctx, &a.volume_id).await?;
        Ok((a, v))
    }

    pub async fn attachment_list(
        &self,
        ctx: &AuthContext,
        req: AttachmentListRequest,
    ) -> DomainResult<Vec<Attachment>> {
        self.authorize(ctx, Action::AttachmentList)?;
        let q = AttachmentQuery {
            project_id: if req.all_tenants && ctx.is_admin() {
                None
            } else {
                Some(ctx.project_id.clone())
            },
            volume_id: req.volume_id,
            instance_uuid: req.instance_uuid,
            status: req.status,
            page: req.page,
        };
        self.store().attachment_list(&q).await
    }

    /// Cinder `POST /attachments`: reserved, or attaching (with an export)
    /// when a connector is given.
    pub async fn attachment_create(
        &self,
        ctx: &AuthContext,
        volume_id: &VolumeId,
        instance_uuid: Option<String>,
        connector: Option<Value>,
        mode: AttachMode,
    ) -> DomainResult<Attachment> {
        self.authorize(ctx, Action::AttachmentCreate)?;
        let v = self.volume_find(ctx, volume_id).await?;
        self.refuse_disabled(&v.id).await?;
        let (status, export_name) = match &connector {
            Some(_) => (
                AttachmentStatus::Attaching,
                Some(new_hex_id() + &new_hex_id()),
            ),
            None => (AttachmentStatus::Reserved, None),
        };
        let a = self
            .store()
            .attachment_create(&NewAttachment {
                id: AttachmentId::new(),
                volume_id: v.id.clone(),
                project_id: v.project_id.clone(),
                instance_uuid,
                host: connector.as_ref().and_then(connector_host),
                connector,
                mountpoint: None,
                mode,
                status,
                export_name,
            })
            .await?;
        self.publish(&a).await;
        Ok(a)
    }

    /// Cinder `PUT /attachments/{id}`: gives the attachment a connector and
    /// an export.
    pub async fn attachment_update(
        &self,
        ctx: &AuthContext,
        id: &AttachmentId,
        connector: Value,
    ) -> DomainResult<Attachment> {
        self.authorize(ctx, Action::AttachmentUpdate)?;
        let (a, _) = self.attachment_get(ctx, id).await?;
        let host = connector_host(&connector);
        let a = self
            .store()
            .attachment_connect(
                &a.id,
                &connector,
                host.as_deref(),
                &(new_hex_id() + &new_hex_id()),
            )
            .await?;
        self.publish(&a).await;
        Ok(a)
    }

    /// Cinder `os-complete`: the attachment is in use.
    pub async fn attachment_complete(
        &self,
        ctx: &AuthContext,
        id: &AttachmentId,
    ) -> DomainResult<Attachment> {
        self.authorize(ctx, Action::AttachmentComplete)?;
        let (a, _) = self.attachment_get(ctx, id).await?;
        self.store()
            .attachment_mark_attached(&a.id, None, None, None)
            .await
    }

    /// Cinder `DELETE /attachments/{id}`: ends the attachment and its
    /// export; returns the volume's remaining attachments.
    pub async fn attachment_delete(
        &self,
        ctx: &AuthContext,
        id: &AttachmentId,
    ) -> DomainResult<Vec<Attachment>> {
        self.authorize(ctx, Action::AttachmentDelete)?;
        let (a, _) = self.attachment_get(ctx, id).await?;
        self.refuse_server_disk(&a).await?;
        let gone = self.store().attachment_delete(&a.id).await?;
        self.withdraw(&gone);
        Ok(self
            .store()
            .volume_get(&a.volume_id)
            .await?
            .map(|v| v.attachments)
            .unwrap_or_default())
    }

    // ---- legacy actions ----

    /// `os-reserve`: a reservation (an attachment without a connector).
    pub async fn volume_reserve(&self, ctx: &AuthContext, id: &VolumeId) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeReserve)?;
        self.attachment_create(ctx, id, None, None, AttachMode::ReadWrite)
            .await
            .map(|_| ())
    }

    /// `os-unreserve`: drops reservations that never connected.
    pub async fn volume_unreserve(&self, ctx: &AuthContext, id: &VolumeId) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeUnreserve)?;
        let v = self.volume_find(ctx, id).await?;
        self.store()
            .attachment_delete_where(&v.id, &|a| {
                a.status == AttachmentStatus::Reserved && a.export_name.is_none()
            })
            .await?;
        Ok(())
    }

    /// `os-initialize_connection`: an export for this connector (reusing the
    /// attachment of the same host, or a reservation, or a new attachment).
    pub async fn volume_initialize_connection(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        connector: Value,
    ) -> DomainResult<ConnectionInfo> {
        self.authorize(ctx, Action::VolumeInitializeConnection)?;
        let v = self.volume_find(ctx, id).await?;
        self.refuse_disabled(&v.id).await?;
        let host = connector_host(&connector);
        let mode = match connector.get("mode").and_then(Value::as_str) {
            Some("ro") => AttachMode::ReadOnly,
            _ => AttachMode::ReadWrite,
        };
        let existing = v
            .attachments
            .iter()
            .find(|a| a.export_name.is_some() && a.host == host)
            .or_else(|| {
                v.attachments
                    .iter()
                    .find(|a| a.export_name.is_none() && a.status == AttachmentStatus::Reserved)
            })
            .cloned();
        let a = match existing {
            Some(a) => {
                let a = self
                    .store()
                    .attachment_connect(
                        &a.id,
                        &connector,
                        host.as_deref(),
                        &(new_hex_id() + &new_hex_id()),
                    )
                    .await?;
                self.publish(&a).await;
                a
            }
            None => {
                self.attachment_create(ctx, id, None, Some(connector), mode)
                    .await?
            }
        };
        let v = self.volume_find(ctx, id).await?;
        self.connection_info(&a, &v).ok_or_else(|| {
            DomainError::Internal("attachment without an export after connecting".into())
        })
    }

    /// `os-terminate_connection`: ends the export of this connector's host.
    pub async fn volume_terminate_connection(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        connector: &Value,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeTerminateConnection)?;
        let v = self.volume_find(ctx, id).await?;
        let host = connector_host(connector);
        let targets: Vec<Attachment> = v
            .attachments
            .iter()
            .filter(|a| a.export_name.is_some() && (host.is_none() || a.host == host))
            .cloned()
            .collect();
        for a in targets {
            let a = self.store().attachment_disconnect(&a.id).await?;
            self.withdraw(&a);
        }
        Ok(())
    }

    /// `os-attach`: marks an attachment attached to `instance_uuid` (the one
    /// initialized for `host_name`, a reservation, or a new one).
    pub async fn volume_attach(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        instance_uuid: String,
        mountpoint: String,
        host_name: Option<String>,
        mode: AttachMode,
    ) -> DomainResult<Attachment> {
        self.authorize(ctx, Action::VolumeAttach)?;
        let v = self.volume_find(ctx, id).await?;
        self.refuse_disabled(&v.id).await?;
        let pending = |a: &&Attachment| {
            matches!(
                a.status,
                AttachmentStatus::Reserved | AttachmentStatus::Attaching
            )
        };
        let found = v
            .attachments
            .iter()
            .filter(pending)
            .find(|a| host_name.is_some() && a.host == host_name)
            .or_else(|| {
                v.attachments
                    .iter()
                    .filter(pending)
                    .find(|a| a.instance_uuid.is_none())
            })
            .cloned();
        let a = match found {
            Some(a) => a,
            None => self.attachment_create(ctx, id, None, None, mode).await?,
        };
        self.store()
            .attachment_mark_attached(
                &a.id,
                Some(&instance_uuid),
                Some(&mountpoint),
                host_name.as_deref(),
            )
            .await
    }

    /// `os-detach`: ends one attachment (the only one when not named).
    pub async fn volume_detach(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        attachment_id: Option<&AttachmentId>,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeDetach)?;
        let v = self.volume_find(ctx, id).await?;
        let target = match attachment_id {
            Some(aid) => v
                .attachments
                .iter()
                .find(|a| a.id == *aid)
                .cloned()
                .ok_or_else(|| DomainError::not_found("Attachment", aid))?,
            None => match v.attachments.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(DomainError::volume_state(format!(
                        "Volume {id} is not attached."
                    )));
                }
                _ => {
                    return Err(DomainError::invalid(
                        "the volume has several attachments; attachment_id is required.",
                    ))
                }
            },
        };
        self.refuse_server_disk(&target).await?;
        let gone = self.store().attachment_delete(&target.id).await?;
        self.withdraw(&gone);
        Ok(())
    }

    /// A server's disk is detached through the compute API (which unplugs
    /// it from the guest first), never by deleting its attachment under
    /// the guest: Cinder's views and the server's stay in agreement.
    async fn refuse_server_disk(&self, a: &Attachment) -> DomainResult<()> {
        let Some(instance) = &a.instance_uuid else {
            return Ok(());
        };
        let servers = self.store().server_of_volume(&a.volume_id).await?;
        if servers.iter().any(|s| s.as_str() == instance) {
            return Err(DomainError::volume_state(format!(
                "Volume {} is a disk of server {instance}; detach it through the compute API.",
                a.volume_id
            )));
        }
        Ok(())
    }

    /// Admin `os-migrate_volume_completion`, as Nova calls it at the end
    /// of a volume swap: unless `error`, every attachment of `id` moves
    /// to `new_id` (detached from the old volume, attached to the new one
    /// with the same instance, host and mountpoint, read-write). Returns
    /// the id of the volume to keep: the new one. Platter's own
    /// migrations move bytes, not volumes, so a volume mid-migration is
    /// never completed this way (400, as upstream for a mismatched pair).
    /// Each attachment is made on the new volume before it is removed from
    /// the old one, so a failure in between loses none.
    pub async fn volume_migrate_completion(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        new_id: &VolumeId,
        error: bool,
    ) -> DomainResult<VolumeId> {
        self.authorize(ctx, Action::VolumeMigrateCompletion)?;
        let old = self.volume_find(ctx, id).await?;
        let new = self.volume_find(ctx, new_id).await?;
        let migrating = |v: &Volume| v.migration_status == Some(MigrationStatus::Migrating);
        if migrating(&old) {
            return Err(DomainError::volume_state(
                "Destination volume not mid-migration.",
            ));
        }
        if migrating(&new) {
            return Err(DomainError::volume_state(
                "Source volume not mid-migration.",
            ));
        }
        if old.id == new.id {
            return Err(DomainError::invalid(
                "the new volume must differ from the volume swapped out.",
            ));
        }
        if !error {
            for a in &old.attachments {
                self.volume_attach(
                    ctx,
                    &new.id,
                    a.instance_uuid.clone().unwrap_or_default(),
                    a.mountpoint.clone().unwrap_or_default(),
                    a.host.clone(),
                    AttachMode::ReadWrite,
                )
                .await?;
                self.volume_detach(ctx, &old.id, Some(&a.id)).await?;
            }
        }
        Ok(new.id)
    }

    pub async fn volume_begin_detaching(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        begin: bool,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeBeginDetaching)?;
        let v = self.volume_find(ctx, id).await?;
        self.store().volume_detaching(&v.id, begin).await
    }

    /// Admin `os-force_detach`: ends the named attachment, those of the
    /// connector's host, or all.
    pub async fn volume_force_detach(
        &self,
        ctx: &AuthContext,
        id: &VolumeId,
        attachment_id: Option<AttachmentId>,
        connector: Option<Value>,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeForceDetach)?;
        let v = self.volume_find(ctx, id).await?;
        for a in &v.attachments {
            if attachment_id.as_ref().is_none_or(|aid| a.id == *aid) {
                self.refuse_server_disk(a).await?;
            }
        }
        let host = connector.as_ref().and_then(connector_host);
        let gone = self
            .store()
            .attachment_delete_where(&v.id, &|a| match (&attachment_id, &host) {
                (Some(aid), _) => a.id == *aid,
                (None, Some(h)) => a.host.as_ref() == Some(h),
                (None, None) => true,
            })
            .await?;
        if let Some(aid) = &attachment_id {
            if gone.is_empty() {
                return Err(DomainError::not_found("Attachment", aid));
            }
        }
        for a in &gone {
            self.withdraw(a);
        }
        Ok(())
    }

    /// Applies a volume's current QoS to its live exports (after a retype
    /// or a QoS change, both jobs).
    pub(crate) async fn refresh_qos(&self, volume_id: &VolumeId) {
        if let (Some(dp), Ok(Some(v))) = (
            self.inner.datapath.get(),
            self.store().volume_get(volume_id).await,
        ) {
            dp.set_qos(v.id.as_str(), self.qos_of(&v).await);
        }
    }
}
