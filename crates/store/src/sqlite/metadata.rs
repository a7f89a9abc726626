//! Key/value metadata of volumes and snapshots: one table each, the same
//! operations on both.

use std::collections::HashMap;

use platter_model::{DomainResult, Metadata};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::db_err;

/// Which metadata table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MetaTable {
    Volume,
    Snapshot,
    /// EVS tags: the same shape as metadata, in their own tables.
    VolumeTags,
    SnapshotTags,
    /// Cinder's `volume_image_metadata`.
    VolumeImage,
    /// An image's custom properties.
    ImageProperties,
}

impl MetaTable {
    fn table(self) -> &'static str {
        match self {
            MetaTable::Volume => "volume_metadata",
            MetaTable::Snapshot => "snapshot_metadata",
            MetaTable::VolumeTags => "volume_tags",
            MetaTable::SnapshotTags => "snapshot_tags",
            MetaTable::VolumeImage => "volume_image_metadata",
            MetaTable::ImageProperties => "image_properties",
        }
    }

    fn owner(self) -> &'static str {
        match self {
            MetaTable::Volume | MetaTable::VolumeTags | MetaTable::VolumeImage => "volume_id",
            MetaTable::Snapshot | MetaTable::SnapshotTags => "snapshot_id",
            MetaTable::ImageProperties => "image_id",
        }
    }
}

/// The metadata of every owner in `ids`.
pub(crate) async fn load(
    conn: &mut SqliteConnection,
    t: MetaTable,
    ids: &[&str],
) -> DomainResult<HashMap<String, Metadata>> {
    let mut out: HashMap<String, Metadata> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut qb = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {owner} AS owner, key, value FROM {table} WHERE {owner} IN (",
        owner = t.owner(),
        table = t.table()
    ));
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(id.to_string());
    }
    qb.push(")");
    for r in qb.build().fetch_all(&mut *conn).await.map_err(db_err)? {
        out.entry(r.get("owner"))
            .or_default()
            .insert(r.get("key"), r.get("value"));
    }
    Ok(out)
}

/// Sets the given keys, keeping the others.
pub(crate) async fn upsert(
    conn: &mut SqliteConnection,
    t: MetaTable,
    id: &str,
    metadata: &Metadata,
) -> DomainResult<()> {
    let sql = format!(
        "INSERT INTO {table} ({owner}, key, value) VALUES (?, ?, ?) \
         ON CONFLICT ({owner}, key) DO UPDATE SET value = excluded.value",
        owner = t.owner(),
        table = t.table()
    );
    for (k, v) in metadata {
        sqlx::query(&sql)
            .bind(id)
            .bind(k)
            .bind(v)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Replaces the whole set.
pub(crate) async fn replace(
    conn: &mut SqliteConnection,
    t: MetaTable,
    id: &str,
    metadata: &Metadata,
) -> DomainResult<()> {
    sqlx::query(&format!(
        "DELETE FROM {} WHERE {} = ?",
        t.table(),
        t.owner()
    ))
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    upsert(conn, t, id, metadata).await
}

/// Deletes one key; `false` if there was none.
pub(crate) async fn delete_key(
    conn: &mut SqliteConnection,
    t: MetaTable,
    id: &str,
    key: &str,
) -> DomainResult<bool> {
    let res = sqlx::query(&format!(
        "DELETE FROM {} WHERE {} = ? AND key = ?",
        t.table(),
        t.owner()
    ))
    .bind(id)
    .bind(key)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(res.rows_affected() > 0)
}

/// Appends `AND` filters requiring each `(key, value)` on the row `alias`.
pub(crate) fn push_filter(
    qb: &mut QueryBuilder<'_, Sqlite>,
    t: MetaTable,
    alias: &str,
    filters: &[(String, String)],
) {
    for (k, v) in filters {
        qb.push(format!(
            " AND EXISTS (SELECT 1 FROM {} mm WHERE mm.{} = {alias}.id AND mm.key = ",
            t.table(),
            t.owner()
        ));
        qb.push_bind(k.clone());
        qb.push(" AND mm.value = ").push_bind(v.clone()).push(")");
    }
}

/// Appends `AND` filters requiring, for each `(key, values)`, a tag `key`
/// on the row `alias` with one of `values` (any value if empty). `t` is a
/// tag table.
pub(crate) fn push_tag_filter(
    qb: &mut QueryBuilder<'_, Sqlite>,
    t: MetaTable,
    alias: &str,
    tags: &[(String, Vec<String>)],
) {
    for (key, values) in tags {
        qb.push(format!(
            " AND EXISTS (SELECT 1 FROM {} tg WHERE tg.{} = {alias}.id AND tg.key = ",
            t.table(),
            t.owner()
        ))
        .push_bind(key.clone());
        if !values.is_empty() {
            qb.push(" AND tg.value IN (");
            let mut sep = qb.separated(", ");
            for val in values {
                sep.push_bind(val.clone());
            }
            qb.push(")");
        }
        qb.push(")");
    }
}

/// Appends `AND {alias}.id IN (ids)`; an empty list matches nothing.
pub(crate) fn push_id_filter<I: AsRef<str>>(
    qb: &mut QueryBuilder<'_, Sqlite>,
    alias: &str,
    ids: &[I],
) {
    push_in(qb, &format!("{alias}.id"), ids)
}

/// ` AND <column> IN (...)`, nothing matching when `values` is empty.
pub(crate) fn push_in<I: AsRef<str>>(
    qb: &mut QueryBuilder<'_, Sqlite>,
    column: &str,
    values: &[I],
) {
    if values.is_empty() {
        qb.push(" AND 0");
        return;
    }
    qb.push(format!(" AND {column} IN ("));
    let mut sep = qb.separated(", ");
    for v in values {
        sep.push_bind(v.as_ref().to_string());
    }
    qb.push(")");
}
