//! Orders and idempotency keys.

use platter_model::{DomainResult, Order, OrderId, ProjectId, Timestamp};

/// What an idempotency key says about a request.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyClaim {
    /// First use: the caller runs the request and records its response.
    New,
    /// A finished request with the same key and fingerprint: its response.
    Done { status: u16, response: String },
    /// The same request is still being processed.
    Pending,
    /// The key was used for a different request.
    Mismatch,
    /// The key is older than its validity.
    Expired,
}

repository! {
    /// Orders and idempotency keys.
    pub trait OrderRepo {
        async fn order_insert(&self, o: &Order) -> DomainResult<()>;
        async fn order_get(&self, id: &OrderId) -> DomainResult<Option<Order>>;
        /// Claims `token` for a request of `project_id` with `fingerprint`, or
        /// reports what an earlier use of it left. Keys created before
        /// `not_before` have expired; a claim still without a response from
        /// before `stale_before` was abandoned (its request died) and is taken
        /// over.
        async fn idempotency_claim(
            &self,
            project_id: &ProjectId,
            token: &str,
            fingerprint: &str,
            now: Timestamp,
            not_before: Timestamp,
            stale_before: Timestamp,
        ) -> DomainResult<IdempotencyClaim>;
        /// Records the response of a claimed request.
        async fn idempotency_complete(
            &self,
            project_id: &ProjectId,
            token: &str,
            status: u16,
            response: &str,
        ) -> DomainResult<()>;
        /// Forgets keys created before `before` (they can only answer
        /// "expired" any more).
        async fn idempotency_purge(&self, before: Timestamp) -> DomainResult<u64>;
        /// Gives a claim up (the request failed): the key may be used again.
        async fn idempotency_release(&self, project_id: &ProjectId, token: &str) -> DomainResult<()>;
    }
}
