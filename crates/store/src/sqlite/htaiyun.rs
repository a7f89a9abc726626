//! UserVolumes and application tokens.

use async_trait::async_trait;
use platter_model::{DomainResult, ProjectId, Timestamp, UserVolume, VolumeId};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{db_err, metadata, RowExt, SqliteStore};
use crate::repo::{HtaiyunRepo, UserVolumeQuery};

fn from_row(r: &SqliteRow) -> DomainResult<UserVolume> {
    Ok(UserVolume {
        unique: r.get("unique_id"),
        volume_id: r.id("volume_id"),
        project_id: r.id("project_id"),
        owner: r.get("owner"),
        enabled: r.get::<i64, _>("enabled") != 0,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

fn push_filters(qb: &mut QueryBuilder<'_, Sqlite>, q: &UserVolumeQuery) {
    qb.push(" WHERE project_id = ")
        .push_bind(q.project_id.to_string());
    if let Some(o) = q.owner {
        qb.push(" AND owner = ").push_bind(o);
    }
    if let Some(e) = q.enabled {
        qb.push(" AND enabled = ").push_bind(e as i64);
    }
    if let Some(ids) = &q.volume_ids {
        metadata::push_in(qb, "volume_id", ids);
    }
}

#[async_trait]
impl HtaiyunRepo for SqliteStore {
    async fn user_volume_insert(
        &self,
        volume_id: &VolumeId,
        project_id: &ProjectId,
        owner: Option<i64>,
    ) -> DomainResult<UserVolume> {
        let now = Timestamp::now().to_string();
        let row = sqlx::query(
            "INSERT INTO user_volumes (volume_id, project_id, owner, enabled, created_at, updated_at) \
             VALUES (?, ?, ?, 1, ?, ?) RETURNING *",
        )
        .bind(volume_id.as_str())
        .bind(project_id.as_str())
        .bind(owner)
        .bind(&now)
        .bind(&now)
        .fetch_one(&self.write)
        .await
        .map_err(db_err)?;
        from_row(&row)
    }

    async fn user_volume_get(&self, unique: i64) -> DomainResult<Option<UserVolume>> {
        sqlx::query("SELECT * FROM user_volumes WHERE unique_id = ?")
            .bind(unique)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn user_volume_of(&self, volume_id: &VolumeId) -> DomainResult<Option<UserVolume>> {
        sqlx::query("SELECT * FROM user_volumes WHERE volume_id = ?")
            .bind(volume_id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    async fn user_volume_list(&self, q: &UserVolumeQuery) -> DomainResult<(Vec<UserVolume>, i64)> {
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) AS n FROM user_volumes");
        push_filters(&mut count, q);
        let total: i64 = count
            .build()
            .fetch_one(&self.read)
            .await
            .map_err(db_err)?
            .get("n");
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM user_volumes");
        push_filters(&mut qb, q);
        let column = match q.order.as_deref() {
            Some("updated") => "updated_at",
            _ => "created_at",
        };
        let dir = if q.ascending { "ASC" } else { "DESC" };
        qb.push(format!(" ORDER BY {column} {dir}, unique_id {dir}"));
        qb.push(" LIMIT ").push_bind(q.limit);
        qb.push(" OFFSET ").push_bind(q.offset);
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        let items = rows.iter().map(from_row).collect::<DomainResult<_>>()?;
        Ok((items, total))
    }

    async fn user_volume_set_enabled(&self, unique: i64, enabled: bool) -> DomainResult<()> {
        sqlx::query("UPDATE user_volumes SET enabled = ?, updated_at = ? WHERE unique_id = ?")
            .bind(enabled as i64)
            .bind(Timestamp::now().to_string())
            .bind(unique)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn user_volume_touch(&self, unique: i64) -> DomainResult<()> {
        sqlx::query("UPDATE user_volumes SET updated_at = ? WHERE unique_id = ?")
            .bind(Timestamp::now().to_string())
            .bind(unique)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn user_volume_delete(&self, unique: i64) -> DomainResult<()> {
        sqlx::query("DELETE FROM user_volumes WHERE unique_id = ?")
            .bind(unique)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn app_token_set(&self, project_id: &ProjectId, token_hash: &str) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO htaiyun_app_tokens (project_id, token_hash, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (project_id) DO UPDATE SET token_hash = excluded.token_hash, \
             created_at = excluded.created_at",
        )
        .bind(project_id.as_str())
        .bind(token_hash)
        .bind(Timestamp::now().to_string())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn app_token_get(&self, project_id: &ProjectId) -> DomainResult<Option<String>> {
        Ok(
            sqlx::query("SELECT token_hash FROM htaiyun_app_tokens WHERE project_id = ?")
                .bind(project_id.as_str())
                .fetch_optional(&self.read)
                .await
                .map_err(db_err)?
                .map(|r| r.get("token_hash")),
        )
    }
}
