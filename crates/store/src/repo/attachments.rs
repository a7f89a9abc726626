//! Attachments, and the volume status they imply.

use platter_model::{
    AttachMode, Attachment, AttachmentId, AttachmentStatus, DomainResult, Page, ProjectId, VolumeId,
};

/// A new attachment.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: AttachmentId,
    pub volume_id: VolumeId,
    pub project_id: ProjectId,
    pub instance_uuid: Option<String>,
    pub connector: Option<serde_json::Value>,
    pub host: Option<String>,
    pub mountpoint: Option<String>,
    pub mode: AttachMode,
    pub status: AttachmentStatus,
    pub export_name: Option<String>,
}

/// Filters and paging of an attachment listing.
#[derive(Debug, Clone, Default)]
pub struct AttachmentQuery {
    pub project_id: Option<ProjectId>,
    pub volume_id: Option<VolumeId>,
    pub instance_uuid: Option<String>,
    pub status: Option<String>,
    pub page: Page,
}

repository! {
    /// Attachments, and the volume status they imply.
    pub trait AttachmentRepo {
        async fn attachment_get(&self, id: &AttachmentId) -> DomainResult<Option<Attachment>>;
        async fn attachment_list(&self, q: &AttachmentQuery) -> DomainResult<Vec<Attachment>>;
        /// Attachments that hold an export: republished at start.
        async fn attachment_list_exported(&self) -> DomainResult<Vec<Attachment>>;
        /// Creates an attachment (reserved, or attaching with a connector) if
        /// the volume may take one; the volume's status follows.
        async fn attachment_create(&self, a: &NewAttachment) -> DomainResult<Attachment>;
        /// Gives an attachment its connector and export (status `attaching`),
        /// keeping an export it already has.
        async fn attachment_connect(
            &self,
            id: &AttachmentId,
            connector: &serde_json::Value,
            host: Option<&str>,
            export_name: &str,
        ) -> DomainResult<Attachment>;
        /// Marks an attachment attached (Cinder's `os-complete`, or legacy
        /// `os-attach`), filling in what the caller knows.
        async fn attachment_mark_attached(
            &self,
            id: &AttachmentId,
            instance_uuid: Option<&str>,
            mountpoint: Option<&str>,
            host: Option<&str>,
        ) -> DomainResult<Attachment>;
        /// Drops an attachment's export (legacy `os-terminate_connection`); an
        /// attachment that was never attached goes with it.
        async fn attachment_disconnect(&self, id: &AttachmentId) -> DomainResult<Attachment>;
        /// Deletes an attachment; the volume's status follows. Returns it.
        async fn attachment_delete(&self, id: &AttachmentId) -> DomainResult<Attachment>;
        /// Deletes every attachment of a volume matching `filter`; returns them.
        async fn attachment_delete_where(
            &self,
            volume_id: &VolumeId,
            filter: &(dyn for<'a> Fn(&'a Attachment) -> bool + Send + Sync),
        ) -> DomainResult<Vec<Attachment>>;
        /// Compare-and-swap of an attached volume between `in-use` and
        /// `detaching` (legacy `os-begin_detaching` / `os-roll_detaching`).
        async fn volume_detaching(&self, volume_id: &VolumeId, begin: bool) -> DomainResult<()>;
    }
}
