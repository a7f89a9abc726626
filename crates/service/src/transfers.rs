//! Volume transfers: a project offers a volume; whichever project presents
//! the offer's secret key takes it (with its snapshots, unless the offer
//! says not), quota and all, in one transaction.

use platter_model::{
    Action, AuthContext, DomainError, DomainResult, Timestamp, Transfer, TransferId, VolumeId,
};
use platter_store::{StoredTransfer, TransferTaker};
use sha2::{Digest, Sha256};

use crate::credentials::random_chars;
use crate::{visible, Platter};

/// Cinder's alphabet for generated secrets: no look-alike characters.
const KEY_ALPHABET: &[u8] = b"23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
/// Cinder's `volume_transfer_key_length`.
pub const TRANSFER_KEY_LEN: usize = 16;
const SALT_LEN: usize = 8;

/// What a new transfer offers.
#[derive(Debug, Clone)]
pub struct TransferCreate {
    pub volume_id: VolumeId,
    pub name: Option<String>,
    /// Keep the snapshots with the source project.
    pub no_snapshots: bool,
}

/// A new transfer and its secret, which is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedTransfer {
    pub transfer: Transfer,
    pub auth_key: String,
}

fn crypt_hash(salt: &str, key: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}{key}").as_bytes()))
}

/// Compares two hashes in time independent of where they differ.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Platter {
    /// Offers a volume: it must be `available`, on demand (a yearly/monthly
    /// volume stays with the project that pays for it), and with every
    /// snapshot `available` unless they stay behind.
    pub async fn transfer_create(
        &self,
        ctx: &AuthContext,
        req: TransferCreate,
    ) -> DomainResult<CreatedTransfer> {
        self.authorize(ctx, Action::TransferCreate)?;
        let v = self.volume_find(ctx, &req.volume_id).await?;
        if let Some(group) = &v.group_id {
            return Err(DomainError::volume_state(format!(
                "Volume {} belongs to group {group}; remove it from the group to transfer it.",
                v.id
            )));
        }
        if let Some(order) = v.order_id() {
            return Err(DomainError::volume_state(format!(
                "Volume {} is yearly/monthly (order {order}) and cannot be transferred.",
                v.id
            )));
        }
        let auth_key = random_chars(TRANSFER_KEY_LEN, KEY_ALPHABET);
        let salt = random_chars(SALT_LEN, KEY_ALPHABET);
        let transfer = Transfer {
            id: TransferId::new(),
            volume_id: v.id.clone(),
            source_project_id: v.project_id.clone(),
            name: req.name,
            no_snapshots: req.no_snapshots,
            created_at: Timestamp::now(),
        };
        let stored = StoredTransfer {
            crypt_hash: crypt_hash(&salt, &auth_key),
            salt,
            transfer,
        };
        self.store().transfer_create(&stored).await?;
        Ok(CreatedTransfer {
            transfer: stored.transfer,
            auth_key,
        })
    }

    /// The transfers the caller's project offers (every project's for an
    /// admin asking for all).
    pub async fn transfer_list(
        &self,
        ctx: &AuthContext,
        all_projects: bool,
    ) -> DomainResult<Vec<Transfer>> {
        self.authorize(ctx, Action::TransferList)?;
        let project = (!(all_projects && ctx.is_admin())).then_some(&ctx.project_id);
        self.store().transfer_list(project).await
    }

    pub async fn transfer_get(&self, ctx: &AuthContext, id: &TransferId) -> DomainResult<Transfer> {
        self.authorize(ctx, Action::TransferGet)?;
        self.transfer_find(ctx, id).await
    }

    async fn transfer_find(&self, ctx: &AuthContext, id: &TransferId) -> DomainResult<Transfer> {
        match self.store().transfer_get(id).await? {
            Some(st) if visible(ctx, &st.transfer.source_project_id) => Ok(st.transfer),
            _ => Err(DomainError::not_found("Transfer", id.as_str())),
        }
    }

    /// Withdraws an offer; the volume is `available` again.
    pub async fn transfer_delete(&self, ctx: &AuthContext, id: &TransferId) -> DomainResult<()> {
        self.authorize(ctx, Action::TransferDelete)?;
        self.transfer_find(ctx, id).await?;
        self.store().transfer_delete(id).await
    }

    /// Takes the volume of a transfer into the caller's project. Any project
    /// that knows the transfer's id and key may; a wrong key is refused
    /// without changing anything.
    pub async fn transfer_accept(
        &self,
        ctx: &AuthContext,
        id: &TransferId,
        auth_key: &str,
    ) -> DomainResult<Transfer> {
        self.authorize(ctx, Action::TransferAccept)?;
        let st = self
            .store()
            .transfer_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Transfer", id.as_str()))?;
        if !same_hash(&crypt_hash(&st.salt, auth_key), &st.crypt_hash) {
            return Err(DomainError::InvalidState {
                resource: "auth key",
                message: format!("Attempt to transfer {id} with invalid auth key."),
            });
        }
        let taker = TransferTaker {
            project_id: &ctx.project_id,
            user_id: &ctx.user_id,
        };
        self.store()
            .transfer_accept(id, &taker, &self.quota_defaults_now())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_compare_by_value() {
        let h = crypt_hash("salt", "key");
        assert!(same_hash(&h, &crypt_hash("salt", "key")));
        assert!(!same_hash(&h, &crypt_hash("salt", "kez")));
        assert!(!same_hash(&h, &crypt_hash("tlas", "key")));
        assert!(!same_hash(&h, ""));
    }
}
