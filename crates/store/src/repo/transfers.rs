//! Volume transfers.

use platter_model::{DomainResult, ProjectId, Transfer, TransferId, UserId};

use super::QuotaDefaults;

/// A transfer with what checks its secret: the salt and the salted hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTransfer {
    pub transfer: Transfer,
    pub salt: String,
    pub crypt_hash: String,
}

/// Who takes a transferred volume.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferTaker<'a> {
    pub project_id: &'a ProjectId,
    pub user_id: &'a UserId,
}

repository! {
    /// Volume transfers.
    pub trait TransferRepo {
        /// Records a transfer and sets its volume `awaiting-transfer`, in one
        /// transaction: the volume must be `available` and belong to the
        /// transfer's source project, and (unless `no_snapshots`) every one of
        /// its snapshots must be `available`.
        async fn transfer_create(&self, t: &StoredTransfer) -> DomainResult<()>;
        async fn transfer_get(&self, id: &TransferId) -> DomainResult<Option<StoredTransfer>>;
        /// Transfers offered by a project (every project's with `None`),
        /// oldest first.
        async fn transfer_list(&self, source_project_id: Option<&ProjectId>) -> DomainResult<Vec<Transfer>>;
        /// Withdraws a transfer: the volume is `available` again.
        async fn transfer_delete(&self, id: &TransferId) -> DomainResult<()>;
        /// Gives the volume (and unless `no_snapshots` its snapshots) to the
        /// taker in one transaction: the taker's quota is checked for all of
        /// it, owner and user change, the volume is `available` again and the
        /// transfer is gone. The source project's usage drops by the same
        /// rows, since usage is counted from them.
        async fn transfer_accept(
            &self,
            id: &TransferId,
            taker: &TransferTaker<'_>,
            quota: &QuotaDefaults,
        ) -> DomainResult<Transfer>;
    }
}
