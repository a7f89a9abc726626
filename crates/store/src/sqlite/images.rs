//! Images: the record, its tags (`image_tags`), custom properties
//! (`image_properties`) and members (`image_members`).

use std::collections::HashMap;

use async_trait::async_trait;
use platter_model::{
    DomainResult, Image, ImageId, ImageMember, ImageStatus, Job, JobId, MemberStatus, ProjectId,
    VolumeId, VolumeStatus,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::metadata::{self, MetaTable};
use super::volume_rows::settle;
use super::volumes::{begin_read, cas};
use super::{db_err, jobs, now_text, opt_str, parse_enum, RowExt, SqliteStore};
use crate::repo::{ImageData, ImageRepo, ImageUpdate};

fn image_from_row(r: &SqliteRow) -> DomainResult<Image> {
    Ok(Image {
        id: r.id("id"),
        name: r.get("name"),
        owner: r.id("owner"),
        status: parse_enum(r.get::<&str, _>("status"))?,
        visibility: parse_enum(r.get::<&str, _>("visibility"))?,
        protected: r.get::<i64, _>("protected") != 0,
        os_hidden: r.get::<i64, _>("os_hidden") != 0,
        disk_format: r
            .get::<Option<String>, _>("disk_format")
            .map(|s| parse_enum(&s))
            .transpose()?,
        container_format: r.get("container_format"),
        min_disk: r.get("min_disk"),
        min_ram: r.get("min_ram"),
        size: r.get("size"),
        virtual_size: r.get("virtual_size"),
        checksum: r.get("checksum"),
        os_hash_value: r.get("os_hash_value"),
        tags: Vec::new(),
        properties: Default::default(),
        pool: r.get("pool"),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Reads images with their tags and properties.
async fn load(conn: &mut SqliteConnection, rows: &[SqliteRow]) -> DomainResult<Vec<Image>> {
    let mut images = rows
        .iter()
        .map(image_from_row)
        .collect::<DomainResult<Vec<_>>>()?;
    let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
    let mut props = metadata::load(conn, MetaTable::ImageProperties, &ids).await?;
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        let mut qb =
            QueryBuilder::<Sqlite>::new("SELECT image_id, tag FROM image_tags WHERE image_id IN (");
        let mut sep = qb.separated(", ");
        for id in &ids {
            sep.push_bind(id.to_string());
        }
        qb.push(") ORDER BY tag");
        for r in qb.build().fetch_all(&mut *conn).await.map_err(db_err)? {
            tags.entry(r.get("image_id"))
                .or_default()
                .push(r.get("tag"));
        }
    }
    for i in &mut images {
        i.properties = props.remove(i.id.as_str()).unwrap_or_default();
        i.tags = tags.remove(i.id.as_str()).unwrap_or_default();
    }
    Ok(images)
}

async fn get_in(conn: &mut SqliteConnection, id: &ImageId) -> DomainResult<Option<Image>> {
    let row = sqlx::query("SELECT * FROM images WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(load(conn, &Vec::from_iter(row)).await?.pop())
}

async fn set_tags(conn: &mut SqliteConnection, id: &ImageId, tags: &[String]) -> DomainResult<()> {
    sqlx::query("DELETE FROM image_tags WHERE image_id = ?")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for tag in tags {
        sqlx::query(
            "INSERT INTO image_tags (image_id, tag) VALUES (?, ?) ON CONFLICT (image_id, tag) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(tag)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// A value for [`set_column`].
enum Col {
    Text(Option<String>),
    Int(i64),
}

/// Sets one column of an image (a constant name) and its `updated_at`.
async fn set_column(
    conn: &mut SqliteConnection,
    id: &ImageId,
    column: &'static str,
    value: Col,
) -> DomainResult<()> {
    let sql = format!("UPDATE images SET {column} = ?, updated_at = ? WHERE id = ?");
    let q = sqlx::query(&sql);
    let q = match value {
        Col::Text(t) => q.bind(t),
        Col::Int(i) => q.bind(i),
    };
    q.bind(now_text())
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn insert_image(conn: &mut SqliteConnection, i: &Image) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO images (id, name, owner, status, visibility, protected, os_hidden, disk_format, \
         container_format, min_disk, min_ram, size, virtual_size, checksum, os_hash_value, pool, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(i.id.as_str())
    .bind(&i.name)
    .bind(i.owner.as_str())
    .bind(i.status.as_str())
    .bind(i.visibility.as_str())
    .bind(i.protected as i64)
    .bind(i.os_hidden as i64)
    .bind(i.disk_format.map(|f| f.as_str()))
    .bind(&i.container_format)
    .bind(i.min_disk)
    .bind(i.min_ram)
    .bind(i.size)
    .bind(i.virtual_size)
    .bind(&i.checksum)
    .bind(&i.os_hash_value)
    .bind(opt_str(&i.pool))
    .bind(i.created_at.to_string())
    .bind(i.updated_at.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    set_tags(conn, &i.id, &i.tags).await?;
    metadata::upsert(
        conn,
        MetaTable::ImageProperties,
        i.id.as_str(),
        &i.properties,
    )
    .await?;
    Ok(())
}

fn member_from_row(r: &SqliteRow) -> DomainResult<ImageMember> {
    Ok(ImageMember {
        image_id: r.id("image_id"),
        member_id: r.id("member_id"),
        status: parse_enum(r.get::<&str, _>("status"))?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

#[async_trait]
impl ImageRepo for SqliteStore {
    async fn image_insert(&self, i: &Image) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        insert_image(&mut tx, i).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn image_get(&self, id: &ImageId) -> DomainResult<Option<Image>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        get_in(&mut conn, id).await
    }

    async fn image_list(&self, project: Option<&ProjectId>) -> DomainResult<Vec<Image>> {
        let mut conn = self.read.acquire().await.map_err(db_err)?;
        let rows = sqlx::query(
            "SELECT * FROM images WHERE ?1 IS NULL OR owner = ?1 \
             OR visibility IN ('public', 'community') \
             OR (visibility = 'shared' AND EXISTS \
                 (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member_id = ?1)) \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(project.map(ProjectId::as_str))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        load(&mut conn, &rows).await
    }

    async fn image_update(&self, id: &ImageId, u: &ImageUpdate) -> DomainResult<Image> {
        let mut tx = self.begin().await?;
        if get_in(&mut tx, id).await?.is_none() {
            return Err(platter_model::DomainError::not_found("Image", id));
        }
        if let Some(name) = &u.name {
            set_column(&mut tx, id, "name", Col::Text(name.clone())).await?;
        }
        if let Some(v) = u.visibility {
            set_column(
                &mut tx,
                id,
                "visibility",
                Col::Text(Some(v.as_str().into())),
            )
            .await?;
        }
        if let Some(p) = u.protected {
            set_column(&mut tx, id, "protected", Col::Int(p as i64)).await?;
        }
        if let Some(h) = u.os_hidden {
            set_column(&mut tx, id, "os_hidden", Col::Int(h as i64)).await?;
        }
        if let Some(f) = u.disk_format {
            set_column(
                &mut tx,
                id,
                "disk_format",
                Col::Text(f.map(|f| f.as_str().into())),
            )
            .await?;
        }
        if let Some(c) = &u.container_format {
            set_column(&mut tx, id, "container_format", Col::Text(c.clone())).await?;
        }
        if let Some(m) = u.min_disk {
            set_column(&mut tx, id, "min_disk", Col::Int(m)).await?;
        }
        if let Some(m) = u.min_ram {
            set_column(&mut tx, id, "min_ram", Col::Int(m)).await?;
        }
        if let Some(tags) = &u.tags {
            set_tags(&mut tx, id, tags).await?;
        }
        metadata::upsert(
            &mut tx,
            MetaTable::ImageProperties,
            id.as_str(),
            &u.set_properties,
        )
        .await?;
        for key in &u.remove_properties {
            metadata::delete_key(&mut tx, MetaTable::ImageProperties, id.as_str(), key).await?;
        }
        set_column(&mut tx, id, "updated_at", Col::Text(Some(now_text()))).await?;
        let image = get_in(&mut tx, id)
            .await?
            .ok_or_else(|| platter_model::DomainError::not_found("Image", id))?;
        tx.commit().await.map_err(db_err)?;
        Ok(image)
    }

    async fn image_delete(&self, id: &ImageId) -> DomainResult<bool> {
        let mut tx = self.begin().await?;
        for table in ["image_tags", "image_properties", "image_members"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE image_id = ?"))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let res = sqlx::query("DELETE FROM images WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }

    async fn image_cas_status(
        &self,
        id: &ImageId,
        from: &[ImageStatus],
        to: ImageStatus,
    ) -> DomainResult<bool> {
        let mut qb = QueryBuilder::<Sqlite>::new("UPDATE images SET status = ");
        qb.push_bind(to.as_str());
        qb.push(", updated_at = ").push_bind(now_text());
        qb.push(" WHERE id = ").push_bind(id.to_string());
        qb.push(" AND status IN (");
        let mut sep = qb.separated(", ");
        for s in from {
            sep.push_bind(s.as_str());
        }
        qb.push(")");
        let res = qb.build().execute(&self.write).await.map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }

    async fn image_finish_upload(&self, id: &ImageId, d: &ImageData) -> DomainResult<bool> {
        let res = sqlx::query(
            "UPDATE images SET status = 'active', pool = ?, size = ?, virtual_size = ?, checksum = ?, \
             os_hash_value = ?, updated_at = ? WHERE id = ? AND status = 'saving'",
        )
        .bind(&d.pool)
        .bind(d.size)
        .bind(d.virtual_size)
        .bind(&d.checksum)
        .bind(&d.os_hash_value)
        .bind(now_text())
        .bind(id.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }

    async fn image_member_list(&self, id: &ImageId) -> DomainResult<Vec<ImageMember>> {
        let rows =
            sqlx::query("SELECT * FROM image_members WHERE image_id = ? ORDER BY created_at")
                .bind(id.as_str())
                .fetch_all(&self.read)
                .await
                .map_err(db_err)?;
        rows.iter().map(member_from_row).collect()
    }

    async fn image_member_upsert(&self, m: &ImageMember) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (image_id, member_id) DO UPDATE SET \
             status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(m.image_id.as_str())
        .bind(m.member_id.as_str())
        .bind(m.status.as_str())
        .bind(m.created_at.to_string())
        .bind(m.updated_at.to_string())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn image_member_delete(&self, id: &ImageId, member: &ProjectId) -> DomainResult<bool> {
        let res = sqlx::query("DELETE FROM image_members WHERE image_id = ? AND member_id = ?")
            .bind(id.as_str())
            .bind(member.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }

    async fn image_member_set_status(
        &self,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
    ) -> DomainResult<bool> {
        let res = sqlx::query(
            "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member_id = ?",
        )
        .bind(status.as_str())
        .bind(now_text())
        .bind(id.as_str())
        .bind(member.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(res.rows_affected() == 1)
    }

    async fn volume_begin_upload(
        &self,
        volume_id: &VolumeId,
        force: bool,
        image: &Image,
        job: &Job,
    ) -> DomainResult<VolumeStatus> {
        let mut tx = self.begin().await?;
        let v = begin_read(&mut tx, volume_id, force, VolumeStatus::Uploading).await?;
        insert_image(&mut tx, image).await?;
        jobs::insert(&mut tx, job).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(v.status)
    }

    async fn volume_finish_upload(
        &self,
        volume_id: &VolumeId,
        job_id: &JobId,
        image_id: &ImageId,
        restore: VolumeStatus,
        error: Option<&str>,
    ) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        if cas(&mut tx, volume_id, &[VolumeStatus::Uploading], restore).await? {
            settle(&mut tx, volume_id).await?;
        }
        // A failed job's image is killed, even if its copy had finished:
        // the undo removed its data.
        if error.is_some() {
            sqlx::query(
                "UPDATE images SET status = 'killed', updated_at = ? WHERE id = ? AND status IN ('saving', 'active')",
            )
            .bind(now_text())
            .bind(image_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        jobs::finish_in(&mut tx, job_id, error).await?;
        tx.commit().await.map_err(db_err)
    }
}
