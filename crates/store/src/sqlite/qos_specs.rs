//! QoS specs.

use async_trait::async_trait;
use platter_model::{
    DomainError, DomainResult, Metadata, QosSpecs, QosSpecsId, VolumeType, VolumeTypeId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::types::type_from_row;
use super::{db_err, parse_enum, RowExt, SqliteStore};
use crate::repo::QosSpecsRepo;

fn qos_from_row(r: &SqliteRow) -> DomainResult<QosSpecs> {
    let specs: String = r.get("specs");
    Ok(QosSpecs {
        id: r.id("id"),
        name: r.get("name"),
        consumer: parse_enum(r.get::<&str, _>("consumer"))?,
        specs: serde_json::from_str::<Metadata>(&specs)
            .map_err(|e| DomainError::Internal(format!("bad QoS specs: {e}")))?,
        created_at: r.ts("created_at")?,
    })
}

fn specs_json(q: &QosSpecs) -> DomainResult<String> {
    serde_json::to_string(&q.specs).map_err(|e| DomainError::Internal(e.to_string()))
}

async fn require(conn: &mut SqliteConnection, id: &QosSpecsId) -> DomainResult<()> {
    sqlx::query("SELECT id FROM qos_specs WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .map(|_| ())
        .ok_or_else(|| DomainError::not_found("QoS specs", id.as_str()))
}

#[async_trait]
impl QosSpecsRepo for SqliteStore {
    async fn qos_specs_create(&self, q: &QosSpecs) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO qos_specs (id, name, consumer, specs, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(q.id.as_str())
        .bind(&q.name)
        .bind(q.consumer.as_str())
        .bind(specs_json(q)?)
        .bind(q.created_at.to_string())
        .execute(&self.write)
        .await
        .map_err(|e| match db_err(e) {
            DomainError::Conflict(_) => {
                DomainError::Conflict(format!("QoS Specs {} already exists.", q.name))
            }
            other => other,
        })?;
        Ok(())
    }

    async fn qos_specs_list(&self) -> DomainResult<Vec<QosSpecs>> {
        let rows = sqlx::query("SELECT * FROM qos_specs ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(qos_from_row).collect()
    }

    async fn qos_specs_get(&self, id: &QosSpecsId) -> DomainResult<Option<QosSpecs>> {
        let row = sqlx::query("SELECT * FROM qos_specs WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(qos_from_row).transpose()
    }

    async fn qos_specs_set(&self, q: &QosSpecs) -> DomainResult<()> {
        let res = sqlx::query("UPDATE qos_specs SET specs = ? WHERE id = ?")
            .bind(specs_json(q)?)
            .bind(q.id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("QoS specs", q.id.as_str()));
        }
        Ok(())
    }

    async fn qos_specs_delete(&self, id: &QosSpecsId, force: bool) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require(&mut tx, id).await?;
        let (in_use,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM volume_types WHERE qos_specs_id = ?")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        if in_use > 0 && !force {
            return Err(DomainError::state(format!(
                "QoS Specs {id} is still associated with entities."
            )));
        }
        sqlx::query("UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM qos_specs WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn qos_specs_associate(
        &self,
        id: &QosSpecsId,
        type_id: &VolumeTypeId,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require(&mut tx, id).await?;
        let current: Option<(Option<String>,)> =
            sqlx::query_as("SELECT qos_specs_id FROM volume_types WHERE id = ?")
                .bind(type_id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        match current {
            None => return Err(DomainError::not_found("Volume type", type_id.as_str())),
            Some((Some(other),)) if other != id.as_str() => {
                return Err(DomainError::state(format!(
                    "Type {type_id} is already associated with another qos specs: {other}"
                )))
            }
            Some(_) => {}
        }
        sqlx::query("UPDATE volume_types SET qos_specs_id = ? WHERE id = ?")
            .bind(id.as_str())
            .bind(type_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn qos_specs_disassociate(
        &self,
        id: &QosSpecsId,
        type_id: Option<&VolumeTypeId>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        require(&mut tx, id).await?;
        if let Some(t) = type_id {
            let exists: Option<(String,)> =
                sqlx::query_as("SELECT id FROM volume_types WHERE id = ?")
                    .bind(t.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if exists.is_none() {
                return Err(DomainError::not_found("Volume type", t.as_str()));
            }
        }
        sqlx::query(
            "UPDATE volume_types SET qos_specs_id = NULL WHERE qos_specs_id = ?1 AND (?2 IS NULL OR id = ?2)",
        )
        .bind(id.as_str())
        .bind(type_id.map(VolumeTypeId::as_str))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn qos_specs_types(&self, id: &QosSpecsId) -> DomainResult<Vec<VolumeType>> {
        let rows = sqlx::query("SELECT * FROM volume_types WHERE qos_specs_id = ? ORDER BY name")
            .bind(id.as_str())
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(type_from_row).collect()
    }
}
