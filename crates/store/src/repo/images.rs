//! Images: records, tags, properties and members.

use platter_model::{
    DomainResult, Image, ImageId, ImageMember, ImageStatus, Job, JobId, MemberStatus, Metadata,
    ProjectId, VolumeId, VolumeStatus,
};

/// A change to an image's record (Glance's PATCH, applied): `Some` fields
/// are set; properties in `remove_properties` are removed.
#[derive(Debug, Clone, Default)]
pub struct ImageUpdate {
    pub name: Option<Option<String>>,
    pub visibility: Option<platter_model::ImageVisibility>,
    pub protected: Option<bool>,
    pub os_hidden: Option<bool>,
    pub disk_format: Option<Option<platter_model::DiskFormat>>,
    pub container_format: Option<Option<String>>,
    pub min_disk: Option<i64>,
    pub min_ram: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub set_properties: Metadata,
    pub remove_properties: Vec<String>,
}

/// The data an upload stored.
#[derive(Debug, Clone)]
pub struct ImageData {
    pub pool: String,
    pub size: i64,
    pub virtual_size: i64,
    pub checksum: String,
    pub os_hash_value: String,
}

repository! {
    /// Images.
    pub trait ImageRepo {
        async fn image_insert(&self, image: &Image) -> DomainResult<()>;
        async fn image_get(&self, id: &ImageId) -> DomainResult<Option<Image>>;
        /// Every image `project` may see (its own, public, community,
        /// shared with it and not rejected), or every image with `None`.
        async fn image_list(&self, project: Option<&ProjectId>) -> DomainResult<Vec<Image>>;
        /// Applies an update; returns the image as it then is.
        async fn image_update(&self, id: &ImageId, u: &ImageUpdate) -> DomainResult<Image>;
        /// Deletes the record, its tags, properties and members.
        async fn image_delete(&self, id: &ImageId) -> DomainResult<bool>;
        /// Sets the status if it is one of `from`; whether it did.
        async fn image_cas_status(&self, id: &ImageId, from: &[ImageStatus], to: ImageStatus) -> DomainResult<bool>;
        /// `saving` -> `active` with the stored data's facts.
        async fn image_finish_upload(&self, id: &ImageId, data: &ImageData) -> DomainResult<bool>;
        async fn image_member_list(&self, id: &ImageId) -> DomainResult<Vec<ImageMember>>;
        async fn image_member_upsert(&self, m: &ImageMember) -> DomainResult<()>;
        async fn image_member_delete(&self, id: &ImageId, member: &ProjectId) -> DomainResult<bool>;
        async fn image_member_set_status(&self, id: &ImageId, member: &ProjectId, status: MemberStatus) -> DomainResult<bool>;
        /// Starts an upload of a volume to a new image, in one
        /// transaction: the image's row (`saving`), the volume from
        /// `available` (or, with `force`, `in-use`) to `uploading`, and the
        /// job. Returns the status to restore.
        async fn volume_begin_upload(&self, volume_id: &VolumeId, force: bool, image: &Image, job: &Job) -> DomainResult<VolumeStatus>;
        /// Ends it: the volume back to `restore`, the image `killed` on
        /// failure (its data is gone), and the job's end.
        async fn volume_finish_upload(
            &self,
            volume_id: &VolumeId,
            job_id: &JobId,
            image_id: &ImageId,
            restore: VolumeStatus,
            error: Option<&str>,
        ) -> DomainResult<()>;
    }
}
