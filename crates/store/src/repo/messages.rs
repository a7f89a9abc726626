//! User messages.

use platter_model::{DomainResult, UserMessage};

repository! {
    /// User messages.
    pub trait MessageRepo {
        /// Records a message, and forgets those expired before `m.created_at`.
        async fn message_insert(&self, m: &UserMessage) -> DomainResult<()>;
        /// Unexpired messages at `now` of a project (every project's with
        /// `None`), oldest first.
        async fn message_list(&self, project_id: Option<&str>, now: &str) -> DomainResult<Vec<UserMessage>>;
        async fn message_get(&self, id: &str) -> DomainResult<Option<UserMessage>>;
        /// Deletes a message; whether it existed.
        async fn message_delete(&self, id: &str) -> DomainResult<bool>;
    }
}
