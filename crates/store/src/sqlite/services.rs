//! Service states.

use async_trait::async_trait;
use platter_model::{DomainResult, ServiceState};
use sqlx::Row;

use super::{db_err, RowExt, SqliteStore};
use crate::repo::ServiceRepo;

#[async_trait]
impl ServiceRepo for SqliteStore {
    async fn service_states(&self) -> DomainResult<Vec<ServiceState>> {
        let rows = sqlx::query("SELECT * FROM service_states ORDER BY host, binary")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ServiceState {
                    host: r.get("host"),
                    binary: r.get("binary"),
                    disabled: r.get::<i64, _>("disabled") != 0,
                    disabled_reason: r.get("disabled_reason"),
                    frozen: r.get::<i64, _>("frozen") != 0,
                    updated_at: r.ts("updated_at")?,
                })
            })
            .collect()
    }

    async fn service_state_put(&self, s: &ServiceState) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO service_states (host, binary, disabled, disabled_reason, frozen, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (host, binary) DO UPDATE SET \
             disabled = excluded.disabled, disabled_reason = excluded.disabled_reason, \
             frozen = excluded.frozen, updated_at = excluded.updated_at",
        )
        .bind(&s.host)
        .bind(&s.binary)
        .bind(s.disabled as i64)
        .bind(&s.disabled_reason)
        .bind(s.frozen as i64)
        .bind(s.updated_at.to_string())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
