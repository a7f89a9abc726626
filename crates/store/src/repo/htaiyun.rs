//! The htaiyun platform's records: UserVolumes and application tokens.

use platter_model::{DomainResult, ProjectId, UserVolume, VolumeId};

/// A UserVolume listing: seed 004's `list` filters and paging.
#[derive(Debug, Clone, Default)]
pub struct UserVolumeQuery {
    pub project_id: ProjectId,
    pub owner: Option<i64>,
    /// `Some(true)`: ACTIVED only; `Some(false)`: DISABLED only.
    pub enabled: Option<bool>,
    /// Only these volumes (a keyword matched against names, resolved by
    /// the service).
    pub volume_ids: Option<Vec<VolumeId>>,
    /// `created` or `updated` (names are sorted by the service).
    pub order: Option<String>,
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

repository! {
    /// UserVolumes and application tokens.
    pub trait HtaiyunRepo {
        /// Wraps a volume; its next `unique` id is the store's.
        async fn user_volume_insert(
            &self,
            volume_id: &VolumeId,
            project_id: &ProjectId,
            owner: Option<i64>,
        ) -> DomainResult<UserVolume>;
        async fn user_volume_get(&self, unique: i64) -> DomainResult<Option<UserVolume>>;
        async fn user_volume_of(&self, volume_id: &VolumeId) -> DomainResult<Option<UserVolume>>;
        /// A page of a project's records and the total matching.
        async fn user_volume_list(&self, q: &UserVolumeQuery) -> DomainResult<(Vec<UserVolume>, i64)>;
        async fn user_volume_set_enabled(&self, unique: i64, enabled: bool) -> DomainResult<()>;
        async fn user_volume_touch(&self, unique: i64) -> DomainResult<()>;
        async fn user_volume_delete(&self, unique: i64) -> DomainResult<()>;
        async fn app_token_set(&self, project_id: &ProjectId, token_hash: &str) -> DomainResult<()>;
        async fn app_token_get(&self, project_id: &ProjectId) -> DomainResult<Option<String>>;
    }
}
