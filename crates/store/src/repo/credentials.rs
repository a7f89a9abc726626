//! Access keys (AK/SK).

use platter_model::{AccessKeyId, Credential, DomainResult, Timestamp, UserId};

repository! {
    /// Access keys (AK/SK).
    pub trait CredentialRepo {
        /// Inserts a new access key, refusing a user's `max_per_user + 1`-th key
        /// (counted in the same transaction).
        async fn credential_insert(&self, c: &Credential, max_per_user: i64) -> DomainResult<()>;
        async fn credential_get(&self, access_key: &AccessKeyId) -> DomainResult<Option<Credential>>;
        /// Every access key, or a user's, oldest first.
        async fn credential_list(&self, user_id: Option<&UserId>) -> DomainResult<Vec<Credential>>;
        /// Changes status and/or description; `NotFound` for an unknown key.
        async fn credential_update(
            &self,
            access_key: &AccessKeyId,
            status: Option<platter_model::CredentialStatus>,
            description: Option<&str>,
        ) -> DomainResult<()>;
        /// Records a successful use of the key.
        async fn credential_touch(&self, access_key: &AccessKeyId, now: Timestamp) -> DomainResult<()>;
        async fn credential_delete(&self, access_key: &AccessKeyId) -> DomainResult<()>;
    }
}
