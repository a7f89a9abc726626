//! `backups`: create (full or incremental, of a volume or one of its
//! snapshots), list, detail, show, update (3.9), delete, restore,
//! export and import of records, and the admin actions.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use std::cmp::Ordering;
use std::collections::HashSet;

use platter_model::{Backup, BackupId, BackupStatus, SnapshotId, SortDir, SortKey, VolumeId};
use platter_service::{BackupCreate, BackupUpdate};
use serde_json::{json, Map, Value};

use super::params::ListQuery;
use super::versions::check_version;
use super::volumes::check_uuid;
use super::{views, Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

fn summary(state: &ApiState, c: &Caller, b: &Backup) -> Value {
    json!({
        "id": b.id,
        "name": b.name,
        "links": views::links(state, c.api, &b.project_id, "backups", b.id.as_str()),
    })
}

fn detail(state: &ApiState, c: &Caller, b: &Backup, dependents: bool) -> Value {
    let mut out = summary(state, c, b);
    let extra = json!({
        "description": b.description,
        "status": b.status.as_str(),
        "size": b.size,
        "availability_zone": b.availability_zone,
        "container": "platter",
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "volume_id": b.volume_id,
        "snapshot_id": b.snapshot_id,
        "fail_reason": b.fail_reason,
        "object_count": b.object_count,
        "is_incremental": b.parent_id.is_some(),
        "has_dependent_backups": dependents,
        "data_timestamp": b.data_timestamp,
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut out, extra) {
        o.extend(e);
    }
    if c.api.at_least(18) && c.ctx.is_admin() {
        out["os-backup-project-attr:project_id"] = json!(b.project_id);
    }
    if c.api.at_least(43) {
        out["metadata"] = json!(b.metadata);
    }
    if c.api.at_least(56) {
        out["user_id"] = json!(b.user_id);
    }
    if c.api.at_least(64) {
        out["encryption_key_id"] = Value::Null;
    }
    out
}

/// The object under `key` of a JSON body (400 when it is missing).
fn element<'a>(
    map: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, CinderError> {
    map.get(key).and_then(Value::as_object).ok_or_else(|| {
        CinderError::bad_request(format!("Missing required element '{key}' in request body."))
    })
}

/// Refuses fields a microversion does not know yet, as upstream's schema.
fn refuse_before(
    c: &Caller,
    o: &Map<String, Value>,
    field: &str,
    minor: u16,
) -> Result<(), CinderError> {
    if !c.api.at_least(minor) && o.contains_key(field) {
        return Err(CinderError::bad_request(format!(
            "Invalid input for field/attribute backup. Value: {}. Additional properties are not allowed ('{field}' was unexpected)",
            Value::Object(o.clone())
        )));
    }
    Ok(())
}

/// `POST /backups` → 202 with the new backup's id, links and name.
pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let v = element(&map, "backup")?;
    refuse_before(&c, v, "metadata", 43)?;
    refuse_before(&c, v, "availability_zone", 51)?;
    let o = Obj::new(v, "backup");
    o.deny_unknown(&[
        "volume_id",
        "container",
        "description",
        "incremental",
        "force",
        "name",
        "snapshot_id",
        "metadata",
        "availability_zone",
    ])?;
    let volume_id = o.req_str("volume_id", 36)?;
    check_uuid("volume_id", &volume_id)?;
    let snapshot_id = o.opt_str("snapshot_id", 36)?;
    if let Some(s) = &snapshot_id {
        check_uuid("snapshot_id", s)?;
    }
    let req = BackupCreate {
        volume_id: VolumeId::from(volume_id),
        name: o.opt_str("name", 255)?,
        description: o.opt_str("description", 255)?,
        incremental: o.opt_bool("incremental")?.unwrap_or(false),
        force: o.opt_bool("force")?.unwrap_or(false),
        snapshot_id: snapshot_id.map(SnapshotId::from),
        metadata: o.opt_metadata("metadata")?.unwrap_or_default(),
        availability_zone: o.opt_str("availability_zone", 255)?,
    };
    let (b, _) = state.platter.backup_create(&c.ctx, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "backup": summary(&state, &c, &b) })),
    )
        .into_response())
}

/// Orders two backups by one sort key.
fn by_key(a: &Backup, b: &Backup, key: SortKey) -> Ordering {
    match key {
        SortKey::Id => a.id.as_str().cmp(b.id.as_str()),
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Status => a.status.as_str().cmp(b.status.as_str()),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
        SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        SortKey::AvailabilityZone => a.availability_zone.cmp(&b.availability_zone),
        SortKey::VolumeId => a.volume_id.as_str().cmp(b.volume_id.as_str()),
        SortKey::ProjectId => a.project_id.as_str().cmp(b.project_id.as_str()),
        SortKey::Bootable => Ordering::Equal,
    }
}

/// Filters (`name`, `status`, `volume_id`), sorting, marker, offset and
/// limit, with `count` (3.45) and a next link.
async fn list_common(state: ApiState, c: Caller, q: ListQuery, full: bool) -> CinderResult {
    let all = q.flag("all_tenants")?;
    let page = q.page(true)?;
    let listed = state.platter.backup_list(&c.ctx, all).await?;
    // An incremental backup is in its parent's project: the listing holds
    // every backup that may depend on one it shows.
    let parents: HashSet<&BackupId> = listed.iter().filter_map(|b| b.parent_id.as_ref()).collect();
    let mut found: Vec<&Backup> = listed
        .iter()
        .filter(|b| {
            q.get("name").is_none_or(|n| b.name.as_deref() == Some(n))
                && q.get("status").is_none_or(|s| b.status.as_str() == s)
                && q.get("volume_id").is_none_or(|v| b.volume_id == v)
        })
        .collect();
    let sort = page.effective_sort();
    found.sort_by(|a, b| {
        sort.iter()
            .map(|(k, d)| match d {
                SortDir::Asc => by_key(a, b, *k),
                SortDir::Desc => by_key(b, a, *k),
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let count = found.len();
    let mut start = match &page.marker {
        Some(m) => match found.iter().position(|b| b.id == m.as_str()) {
            Some(i) => i + 1,
            None => {
                return Err(CinderError::not_found(format!(
                    "Marker {m} could not be found."
                )))
            }
        },
        None => 0,
    };
    start += page.offset.unwrap_or(0).max(0) as usize;
    let limit = page.limit.unwrap_or(i64::MAX).max(0) as usize;
    let shown: Vec<&Backup> = found.into_iter().skip(start).take(limit).collect();
    let items: Vec<Value> = shown
        .iter()
        .map(|b| match full {
            true => detail(&state, &c, b, parents.contains(&b.id)),
            false => summary(&state, &c, b),
        })
        .collect();
    let mut body = json!({ "backups": items });
    if c.api.at_least(45) && q.flag("with_count")? {
        body["count"] = json!(count);
    }
    let path = if full { "backups/detail" } else { "backups" };
    let base = format!(
        "{}/{}/{}/{path}",
        state.urls.block_storage,
        c.api.prefix(),
        c.ctx.project_id
    );
    if let Some(links) = q.next_links(
        &base,
        &page,
        shown.len(),
        shown.last().map(|b| b.id.as_str()),
    ) {
        body["backups_links"] = links;
    }
    Ok(Json(body).into_response())
}

/// `GET /backups`.
pub async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list_common(state, c, ListQuery { pairs }, false).await
}

/// `GET /backups/detail`.
pub async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list_common(state, c, ListQuery { pairs }, true).await
}

/// `GET /backups/{backup_id}`.
pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
) -> CinderResult {
    let b = state
        .platter
        .backup_get(&c.ctx, &BackupId::from(id))
        .await?;
    let dependents = state.platter.backup_has_dependents(&b).await?;
    Ok(Json(json!({ "backup": detail(&state, &c, &b, dependents) })).into_response())
}

/// `PUT /backups/{backup_id}` (3.9): name, description, metadata (3.43)
/// → 200 with the summary.
pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
    body: Bytes,
) -> CinderResult {
    check_version(&c, 9)?;
    let map = json_object(&body)?;
    let v = element(&map, "backup")?;
    refuse_before(&c, v, "metadata", 43)?;
    let o = Obj::new(v, "backup");
    o.deny_unknown(&["name", "description", "metadata"])?;
    let text = |key: &str| -> Result<Option<Option<String>>, CinderError> {
        match v.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(_) => Ok(Some(o.opt_str(key, 255)?)),
        }
    };
    let update = BackupUpdate {
        name: text("name")?,
        description: text("description")?,
        metadata: o.opt_metadata("metadata")?,
    };
    let b = state
        .platter
        .backup_update(&c.ctx, &BackupId::from(id), update)
        .await?;
    Ok(Json(json!({ "backup": summary(&state, &c, &b) })).into_response())
}

/// `DELETE /backups/{backup_id}` → 202 (`?force=True` for any status).
pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    let force = ListQuery { pairs }.flag("force")?;
    let id = BackupId::from(id);
    let b = state.platter.backup_get(&c.ctx, &id).await?;
    if b.status == BackupStatus::Deleting {
        return Ok(empty(StatusCode::ACCEPTED));
    }
    state.platter.backup_delete(&c.ctx, &id, force).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /backups/{backup_id}/restore` → 202 with the backup, the volume
/// written and its name.
pub async fn restore(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let v = element(&map, "restore")?;
    let o = Obj::new(v, "restore");
    o.deny_unknown(&["volume_id", "name"])?;
    let volume_id = o.opt_str("volume_id", 36)?;
    if let Some(v) = &volume_id {
        check_uuid("volume_id", v)?;
    }
    let name = o.opt_str("name", 255)?;
    let r = state
        .platter
        .backup_restore(
            &c.ctx,
            &BackupId::from(id),
            volume_id.map(VolumeId::from).as_ref(),
            name,
        )
        .await?;
    let body = json!({ "restore": {
        "backup_id": r.backup_id,
        "volume_id": r.volume_id,
        "volume_name": r.volume_name.unwrap_or_default(),
    }});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The driver name export records carry (Cinder's importers, Tempest
/// among them, check it starts with `cinder.backup.drivers`).
const BACKUP_SERVICE: &str = "cinder.backup.drivers.platter";

/// `GET /backups/{backup_id}/export_record` (admin).
pub async fn export_record(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
) -> CinderResult {
    let url = state
        .platter
        .backup_export(&c.ctx, &BackupId::from(id))
        .await?;
    Ok(Json(json!({ "backup-record": {
        "backup_service": BACKUP_SERVICE,
        "backup_url": url,
    }}))
    .into_response())
}

/// `POST /backups/import_record` (admin) → 201 with the summary.
pub async fn import_record(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let v = element(&map, "backup-record")?;
    let o = Obj::new(v, "backup-record");
    o.deny_unknown(&["backup_service", "backup_url"])?;
    let service = o.req_str("backup_service", 255)?;
    let url = o.req_str("backup_url", 64 << 20)?;
    if service != BACKUP_SERVICE {
        return Err(CinderError::bad_request(format!(
            "Invalid input received: Backup service {service} is not supported; this cloud's is {BACKUP_SERVICE}."
        )));
    }
    let b = state.platter.backup_import(&c.ctx, &url).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "backup": summary(&state, &c, &b) })),
    )
        .into_response())
}

/// `POST /backups/{backup_id}/action`: `os-reset_status` (admin;
/// `available` or `error`) and `os-force_delete` (admin) → 202.
pub async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let id = BackupId::from(id);
    if let Some(v) = map.get("os-reset_status") {
        let Some(v) = v.as_object() else {
            return Err(CinderError::bad_request(
                "Invalid input for field/attribute os-reset_status: it must be an object.",
            ));
        };
        let o = Obj::new(v, "os-reset_status");
        o.deny_unknown(&["status"])?;
        let status = o.req_str("status", 255)?;
        let status = match status.to_ascii_lowercase().as_str() {
            "available" => BackupStatus::Available,
            "error" => BackupStatus::Error,
            _ => {
                return Err(CinderError::bad_request(format!(
                    "Invalid input for field/attribute status. Value: {status}. '{status}' is not one of ['available', 'error']"
                )))
            }
        };
        state
            .platter
            .backup_reset_status(&c.ctx, &id, status)
            .await?;
        return Ok(empty(StatusCode::ACCEPTED));
    }
    if map.contains_key("os-force_delete") {
        state.platter.backup_delete(&c.ctx, &id, true).await?;
        return Ok(empty(StatusCode::ACCEPTED));
    }
    Err(CinderError::bad_request(
        "There is no such action: the backup actions are os-reset_status and os-force_delete.",
    ))
}
