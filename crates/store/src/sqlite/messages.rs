//! User messages.

use async_trait::async_trait;
use platter_model::{DomainResult, MessageId, ProjectId, Timestamp, UserMessage};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{db_err, parse_enum, RowExt, SqliteStore};
use crate::repo::MessageRepo;

fn message_from_row(r: &SqliteRow) -> DomainResult<UserMessage> {
    Ok(UserMessage {
        id: r.id("id"),
        project_id: r.id("project_id"),
        request_id: r.get("request_id"),
        resource_type: parse_enum(r.get::<&str, _>("resource_type"))?,
        resource_id: r.get("resource_id"),
        action: parse_enum(r.get::<&str, _>("action"))?,
        detail: parse_enum(r.get::<&str, _>("detail"))?,
        created_at: r.ts("created_at")?,
        expires_at: r.ts("expires_at")?,
    })
}

#[async_trait]
impl MessageRepo for SqliteStore {
    async fn message_insert(&self, m: &UserMessage) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM messages WHERE expires_at < ?")
            .bind(m.created_at.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO messages (id, project_id, request_id, resource_type, resource_id, action, detail, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(m.id.as_str())
        .bind(m.project_id.as_str())
        .bind(&m.request_id)
        .bind(m.resource_type.as_str())
        .bind(&m.resource_id)
        .bind(m.action.as_str())
        .bind(m.detail.as_str())
        .bind(m.created_at.to_string())
        .bind(m.expires_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn message_list(
        &self,
        project_id: Option<&ProjectId>,
        now: Timestamp,
    ) -> DomainResult<Vec<UserMessage>> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE (?1 IS NULL OR project_id = ?1) AND expires_at >= ?2 \
             ORDER BY created_at, id",
        )
        .bind(project_id.map(ProjectId::as_str))
        .bind(now.to_string())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn message_get(&self, id: &MessageId) -> DomainResult<Option<UserMessage>> {
        let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn message_delete(&self, id: &MessageId) -> DomainResult<bool> {
        let res = sqlx::query("DELETE FROM messages WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }
}
