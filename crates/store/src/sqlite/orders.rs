//! Orders of yearly/monthly resources, and idempotency keys of creates.

use async_trait::async_trait;
use platter_model::{DomainError, DomainResult, Order, OrderId, ProjectId, Timestamp};
use sqlx::{Row, SqliteConnection};

use super::{db_err, opt_str, RowExt, SqliteStore};
use crate::repo::{IdempotencyClaim, OrderRepo};

/// Inserts an order inside the caller's transaction.
pub(crate) async fn insert(conn: &mut SqliteConnection, o: &Order) -> DomainResult<()> {
    let ids = serde_json::to_string(&o.resource_ids)
        .map_err(|e| DomainError::Internal(format!("encoding an order: {e}")))?;
    sqlx::query(
        "INSERT INTO orders (id, project_id, action, resource_ids, params, job_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(o.id.as_str())
    .bind(o.project_id.as_str())
    .bind(&o.action)
    .bind(ids)
    .bind(o.params.to_string())
    .bind(opt_str(&o.job_id))
    .bind(o.created_at.to_string())
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl OrderRepo for SqliteStore {
    async fn order_insert(&self, o: &Order) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        insert(&mut tx, o).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn order_get(&self, id: &OrderId) -> DomainResult<Option<Order>> {
        let row = sqlx::query("SELECT * FROM orders WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        let ids: String = r.get("resource_ids");
        let params: String = r.get("params");
        Ok(Some(Order {
            id: r.id("id"),
            project_id: r.id("project_id"),
            action: r.get("action"),
            resource_ids: serde_json::from_str(&ids)
                .map_err(|e| DomainError::Internal(format!("bad order: {e}")))?,
            params: serde_json::from_str(&params)
                .map_err(|e| DomainError::Internal(format!("bad order: {e}")))?,
            job_id: r.id_opt("job_id"),
            created_at: r.ts("created_at")?,
        }))
    }

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
    ) -> DomainResult<IdempotencyClaim> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT project_id, fingerprint, status, response, created_at FROM idempotency_keys WHERE token = ?",
        )
        .bind(token)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let claim = match row {
            None => {
                sqlx::query(
                    "INSERT INTO idempotency_keys (token, project_id, fingerprint, created_at) VALUES (?, ?, ?, ?)",
                )
                .bind(token)
                .bind(project_id.as_str())
                .bind(fingerprint)
                .bind(now.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                IdempotencyClaim::New
            }
            Some(r) => {
                let created = r.ts("created_at")?;
                let owner: String = r.get("project_id");
                let fp: String = r.get("fingerprint");
                let status: Option<i64> = r.get("status");
                let response: Option<String> = r.get("response");
                if created < not_before {
                    IdempotencyClaim::Expired
                } else if fp != fingerprint || owner != *project_id {
                    IdempotencyClaim::Mismatch
                } else {
                    match (status, response) {
                        (Some(s), Some(resp)) => IdempotencyClaim::Done {
                            status: u16::try_from(s).unwrap_or(200),
                            response: resp,
                        },
                        _ if created < stale_before => {
                            sqlx::query(
                                "UPDATE idempotency_keys SET created_at = ? WHERE token = ?",
                            )
                            .bind(now.to_string())
                            .bind(token)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                            IdempotencyClaim::New
                        }
                        _ => IdempotencyClaim::Pending,
                    }
                }
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(claim)
    }

    /// Records the response of a claimed request.
    async fn idempotency_complete(
        &self,
        project_id: &ProjectId,
        token: &str,
        status: u16,
        response: &str,
    ) -> DomainResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = ?, response = ? WHERE project_id = ? AND token = ?",
        )
        .bind(i64::from(status))
        .bind(response)
        .bind(project_id.as_str())
        .bind(token)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Forgets keys created before `before` (they can only answer
    /// "expired" any more).
    async fn idempotency_purge(&self, before: Timestamp) -> DomainResult<u64> {
        let res = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(before.to_string())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(res.rows_affected())
    }

    /// Gives a claim up (the request failed): the key may be used again.
    async fn idempotency_release(&self, project_id: &ProjectId, token: &str) -> DomainResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE project_id = ? AND token = ? AND response IS NULL",
        )
        .bind(project_id.as_str())
        .bind(token)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
