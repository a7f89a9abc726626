//! `backups`: create (full or incremental), list, detail, show, delete.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{Backup, BackupId, BackupStatus, VolumeId};
use platter_service::BackupCreate;
use serde_json::{json, Value};

use super::params::ListQuery;
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
        "snapshot_id": null,
        "fail_reason": b.fail_reason,
        "object_count": b.object_count,
        "is_incremental": b.parent_id.is_some(),
        "has_dependent_backups": dependents,
        "data_timestamp": b.created_at,
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut out, extra) {
        o.extend(e);
    }
    if c.api.at_least(18) && c.ctx.is_admin() {
        out["os-backup-project-attr:project_id"] = json!(b.project_id);
    }
    if c.api.at_least(43) {
        out["metadata"] = json!({});
    }
    if c.api.at_least(56) {
        out["user_id"] = json!(b.user_id);
    }
    out
}

/// `POST /backups` → 202 with the new backup's id, links and name.
pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let Some(v) = map.get("backup").and_then(Value::as_object) else {
        return Err(CinderError::bad_request(
            "Missing required element 'backup' in request body.",
        ));
    };
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
    if o.opt_str("snapshot_id", 36)?.is_some() {
        return Err(CinderError::bad_request(
            "Invalid input received: backing up a snapshot is not supported yet; back the volume up.",
        ));
    }
    let req = BackupCreate {
        volume_id: VolumeId::from(volume_id),
        name: o.opt_str("name", 255)?,
        description: o.opt_str("description", 255)?,
        incremental: o.opt_bool("incremental")?.unwrap_or(false),
        force: o.opt_bool("force")?.unwrap_or(false),
    };
    let (b, _) = state.platter.backup_create(&c.ctx, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "backup": summary(&state, &c, &b) })),
    )
        .into_response())
}

async fn list_common(state: ApiState, c: Caller, q: ListQuery, full: bool) -> CinderResult {
    let all = q.flag("all_tenants")?;
    let mut items = Vec::new();
    for b in state.platter.backup_list(&c.ctx, all).await? {
        let keep = q.get("name").is_none_or(|n| b.name.as_deref() == Some(n))
            && q.get("status").is_none_or(|s| b.status.as_str() == s)
            && q.get("volume_id").is_none_or(|v| b.volume_id == v);
        if !keep {
            continue;
        }
        items.push(if full {
            let dependents = state.platter.backup_has_dependents(&b).await?;
            detail(&state, &c, &b, dependents)
        } else {
            summary(&state, &c, &b)
        });
    }
    Ok(Json(json!({ "backups": items })).into_response())
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
