//! User messages.

use platter_model::{DomainResult, MessageId, ProjectId, Timestamp, UserMessage};

repository! {
    /// User messages.
    pub trait MessageRepo {
        /// Records a message, and forgets those expired before `m.created_at`.
        async fn message_insert(&self, m: &UserMessage) -> DomainResult<()>;
        /// Unexpired messages at `now` of a project (every project's with
        /// `None`), oldest first.
        async fn message_list(&self, project_id: Option<&ProjectId>, now: Timestamp) -> DomainResult<Vec<UserMessage>>;
        async fn message_get(&self, id: &MessageId) -> DomainResult<Option<UserMessage>>;
        /// Deletes a message; whether it existed.
        async fn message_delete(&self, id: &MessageId) -> DomainResult<bool>;
    }
}
