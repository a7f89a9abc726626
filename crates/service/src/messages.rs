//! User messages: a failed asynchronous operation leaves its project a
//! message saying what failed and why (Cinder's `messages`, 3.3).

use platter_model::{
    Action, AuthContext, DomainError, DomainResult, Job, JobKind, JobParams, MessageAction,
    MessageDetail, MessageId, MessageResource, Timestamp, UserMessage,
};

use crate::{visible, Platter};

/// How long a message is kept: Cinder's `message_ttl` (30 days).
pub const MESSAGE_TTL_SECS: i64 = 30 * 24 * 3600;

/// What failed and why, for a failed job.
/// What a failed job's message says; `None` for server jobs (a server
/// reports its failures as its `fault`).
fn event_of(job: &Job) -> Option<(MessageResource, MessageAction, MessageDetail)> {
    use MessageAction as A;
    let detail = match &job.params {
        JobParams::Unreadable { .. } => MessageDetail::UnknownError,
        _ => MessageDetail::BackendFailed,
    };
    Some(match (&job.kind, &job.params) {
        (JobKind::VolumeCreate, JobParams::VolumeCreate(p)) if p.unschedulable.is_some() => (
            MessageResource::Volume,
            A::ScheduleAllocateVolume,
            MessageDetail::NoBackendAvailable,
        ),
        (JobKind::VolumeCreate, _) => (MessageResource::Volume, A::CreateVolume, detail),
        (JobKind::VolumeDelete, _) => (MessageResource::Volume, A::DeleteVolume, detail),
        (JobKind::VolumeExtend, _) => (MessageResource::Volume, A::ExtendVolume, detail),
        (JobKind::VolumeRetype, _) => (MessageResource::Volume, A::RetypeVolume, detail),
        (JobKind::VolumeQos, _) => (MessageResource::Volume, A::UpdateVolumeQos, detail),
        (JobKind::VolumeRollback, _) => (MessageResource::Volume, A::RevertVolume, detail),
        (JobKind::VolumeMigrate, _) => (MessageResource::Volume, A::MigrateVolume, detail),
        (JobKind::GroupDelete, _) => (MessageResource::Group, A::DeleteGroup, detail),
        (JobKind::GroupCreateFromSrc, _) => (MessageResource::Group, A::CreateGroup, detail),
        (JobKind::GroupSnapshotCreate, _) => (
            MessageResource::GroupSnapshot,
            A::CreateGroupSnapshot,
            detail,
        ),
        (JobKind::GroupSnapshotDelete, _) => (
            MessageResource::GroupSnapshot,
            A::DeleteGroupSnapshot,
            detail,
        ),
        (JobKind::SnapshotCreate, _) => (MessageResource::Snapshot, A::CreateSnapshot, detail),
        (JobKind::SnapshotDelete, _) => (MessageResource::Snapshot, A::DeleteSnapshot, detail),
        (JobKind::VolumeManage, _) => (MessageResource::Volume, A::ManageVolume, detail),
        (JobKind::SnapshotManage, _) => (MessageResource::Snapshot, A::ManageSnapshot, detail),
        (JobKind::VolumeReenableReplica, _) => {
            (MessageResource::Volume, A::ReenableReplica, detail)
        }
        (JobKind::VolumeUploadImage, _) => (MessageResource::Volume, A::UploadImage, detail),
        (JobKind::BackupCreate, _) => (MessageResource::Backup, A::CreateBackup, detail),
        (JobKind::BackupDelete, _) => (MessageResource::Backup, A::DeleteBackup, detail),
        (JobKind::BackupRestore, _) => (MessageResource::Volume, A::RestoreBackup, detail),
        (
            JobKind::ServerCreate
            | JobKind::ServerDelete
            | JobKind::ServerAttachVolume
            | JobKind::ServerDetachVolume
            | JobKind::ServerPower,
            _,
        ) => return None,
    })
}

impl Platter {
    /// Leaves the project of a failed job a message. Best effort: a
    /// message that cannot be written is logged, the job's end stands.
    pub(crate) async fn record_failure(&self, job: &Job) {
        let Some((resource_type, action, detail)) = event_of(job) else {
            return;
        };
        let now = Timestamp::now();
        let m = UserMessage {
            id: MessageId::new(),
            project_id: job.project_id.clone(),
            request_id: format!("req-{}", job.id),
            resource_type,
            resource_id: job.resource_id.clone(),
            action,
            detail,
            created_at: now,
            expires_at: now + time::Duration::seconds(MESSAGE_TTL_SECS),
        };
        if let Err(e) = self.store().message_insert(&m).await {
            tracing::error!(error = %e, "could not record the user message of a failed job");
        }
    }

    /// The caller's project's messages (every project's for an admin).
    pub async fn message_list(&self, ctx: &AuthContext) -> DomainResult<Vec<UserMessage>> {
        self.authorize(ctx, Action::MessageList)?;
        let project = (!ctx.is_admin()).then_some(&ctx.project_id);
        self.store().message_list(project, Timestamp::now()).await
    }

    pub async fn message_get(
        &self,
        ctx: &AuthContext,
        id: &MessageId,
    ) -> DomainResult<UserMessage> {
        self.authorize(ctx, Action::MessageGet)?;
        match self.store().message_get(id).await? {
            Some(m) if visible(ctx, &m.project_id) && m.expires_at >= Timestamp::now() => Ok(m),
            _ => Err(DomainError::not_found("Message", id.as_str())),
        }
    }

    pub async fn message_delete(&self, ctx: &AuthContext, id: &MessageId) -> DomainResult<()> {
        self.authorize(ctx, Action::MessageDelete)?;
        self.message_get(ctx, id).await?;
        if self.store().message_delete(id).await? {
            Ok(())
        } else {
            Err(DomainError::not_found("Message", id.as_str()))
        }
    }
}
