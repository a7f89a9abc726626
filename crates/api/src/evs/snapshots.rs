//! `cloudsnapshots` (6.2), rollback, and the v5 standard snapshots (7.1).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query as AxQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{
    AuthContext, DomainError, JobId, Metadata, Snapshot, SnapshotId, SnapshotStatus, VolumeId,
};
use platter_service::{SnapshotCreate, SnapshotListRequest};
use serde_json::{json, Map, Value};

use super::errors::with_code;
use super::params::{check_enterprise_project, is_uuid, loose_bool, opt_text, Query};
use super::tags::parse_tag_map;
use super::{views, Caller, EvsError, EvsResult};
use crate::toolkit::body::json_object;
use crate::toolkit::normalize::empty;
use crate::ApiState;

async fn snapshot_of(
    state: &ApiState,
    ctx: &AuthContext,
    id: &SnapshotId,
) -> Result<Snapshot, EvsError> {
    if !is_uuid(id.as_str()) {
        return Err(EvsError::malformed(format!(
            "Malformed request url. '{id}' is not a snapshot id."
        )));
    }
    Ok(state.platter.snapshot_find(ctx, id).await?)
}

/// A string member; a bad one is a malformed body (`EVS.5400`).
fn text(o: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, EvsError> {
    opt_text(o, key, max, "EVS.5400")
}

fn flag(o: &Map<String, Value>, key: &str) -> Result<Option<bool>, EvsError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => loose_bool(v).map(Some).ok_or_else(|| {
            EvsError::malformed(format!(
                "Malformed request body. {key} must be a boolean, not {v}."
            ))
        }),
    }
}

fn snapshot_body(body: &Bytes) -> Result<Map<String, Value>, EvsError> {
    let obj = json_object(body)?;
    match obj.get("snapshot") {
        Some(Value::Object(s)) => Ok(s.clone()),
        _ => Err(EvsError::malformed(
            "Malformed request body. The body needs a 'snapshot' object.",
        )),
    }
}

fn volume_id_of(s: &Map<String, Value>) -> Result<VolumeId, EvsError> {
    match s.get("volume_id") {
        Some(Value::String(v)) if is_uuid(v) => Ok(VolumeId::from(v)),
        Some(Value::String(v)) => Err(EvsError::bad(
            "EVS.1002",
            format!("invalid volume id! '{v}'"),
        )),
        _ => Err(EvsError::malformed(
            "Malformed request body. snapshot.volume_id is required.",
        )),
    }
}

fn metadata_of(s: &Map<String, Value>) -> Result<Metadata, EvsError> {
    match s.get("metadata") {
        None | Some(Value::Null) => Ok(Metadata::new()),
        Some(v) => Ok(crate::toolkit::body::metadata("metadata", v)?),
    }
}

/// `POST /v2/{project_id}/cloudsnapshots`: 202 with the new snapshot.
pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EvsResult {
    let s = snapshot_body(&body)?;
    let volume_id = volume_id_of(&s)?;
    let req = SnapshotCreate {
        name: text(&s, "name", 64)?,
        description: text(&s, "description", 85)?,
        force: flag(&s, "force")?.unwrap_or(false),
        metadata: metadata_of(&s)?,
        ..SnapshotCreate::new(volume_id)
    };
    let snap = state.platter.snapshot_create(&c.ctx, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "snapshot": views::snapshot_detail(&snap, false) })),
    )
        .into_response())
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
) -> EvsResult {
    let s = snapshot_of(&state, &c.ctx, &id).await?;
    Ok(Json(json!({ "snapshot": views::snapshot_detail(&s, false) })).into_response())
}

pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
    body: Bytes,
) -> EvsResult {
    let s = snapshot_body(&body)?;
    let name = text(&s, "name", 64)?;
    let description = text(&s, "description", 85)?;
    snapshot_of(&state, &c.ctx, &id).await?;
    let snap = state
        .platter
        .snapshot_update(&c.ctx, &id, name.map(Some), description.map(Some))
        .await?;
    Ok(Json(json!({ "snapshot": views::snapshot_detail(&snap, false) })).into_response())
}

async fn begin_delete(state: &ApiState, c: &Caller, id: &SnapshotId) -> Result<JobId, EvsError> {
    let s = snapshot_of(state, &c.ctx, id).await?;
    match s.status {
        SnapshotStatus::ErrorDeleting => Err(EvsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "EVS.2019",
            "snapshot is error_deleting !",
        )),
        st if !SnapshotStatus::DELETABLE.contains(&st) => Err(EvsError::bad(
            "EVS.1047",
            format!("snapshot status must be available or error when delete snapshot! It is {st}."),
        )),
        _ => Ok(state
            .platter
            .snapshot_delete(&c.ctx, id)
            .await
            .map_err(with_code("EVS.1047"))?),
    }
}

/// `DELETE /v2/{project_id}/cloudsnapshots/{snapshot_id}`: 202, no body.
pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
) -> EvsResult {
    begin_delete(&state, &c, &id).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

fn list_request(q: &Query, repeated_id: bool) -> Result<SnapshotListRequest, EvsError> {
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(
            s.parse::<SnapshotStatus>()
                .map_err(|_| {
                    EvsError::malformed(format!(
                        "Must specify a valid status. '{s}' is not a snapshot status."
                    ))
                })?
                .as_str()
                .to_string(),
        ),
    };
    Ok(SnapshotListRequest {
        name: q.string("name"),
        status,
        volume_id: q.string("volume_id").map(VolumeId::from),
        ids: q.ids(repeated_id)?,
        availability_zone: q.string("availability_zone"),
        enterprise_project_id: q.enterprise_project()?,
        page: q.page(true)?,
        ..Default::default()
    })
}

/// `GET /v2/{project_id}/cloudsnapshots/detail`.
pub async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    AxQuery(pairs): AxQuery<Vec<(String, String)>>,
) -> EvsResult {
    let q = Query { pairs };
    let req = list_request(&q, true)?;
    let page = req.page.clone();
    let (snaps, count) = if q.excludes_all() {
        (Vec::new(), 0)
    } else {
        state
            .platter
            .snapshot_list_counted(&c.ctx, req)
            .await
            .map_err(with_code("EVS.1024"))?
    };
    let base = format!(
        "{}/v2/{}/cloudsnapshots/detail",
        state.urls.block_storage, c.ctx.project_id
    );
    let links = q.next_links(
        &base,
        &page,
        snaps.len(),
        snaps.last().map(|s| s.id.as_str()),
    );
    let items: Vec<Value> = snaps
        .iter()
        .map(|s| views::snapshot_detail(s, true))
        .collect();
    Ok(
        Json(json!({ "count": count, "snapshots": items, "snapshots_links": links }))
            .into_response(),
    )
}

async fn rollback_to(
    state: &ApiState,
    c: &Caller,
    snapshot_id: &SnapshotId,
    volume_id: Option<VolumeId>,
) -> EvsResult {
    let s = snapshot_of(state, &c.ctx, snapshot_id).await?;
    let volume_id = volume_id.unwrap_or_else(|| s.volume_id.clone());
    if !is_uuid(volume_id.as_str()) {
        return Err(EvsError::bad(
            "EVS.1002",
            format!("invalid volume id! '{volume_id}'"),
        ));
    }
    if volume_id != s.volume_id {
        return Err(EvsError::malformed(format!(
            "Malformed request body. Snapshot {snapshot_id} can only be rolled back to its source volume {}.",
            s.volume_id
        )));
    }
    state
        .platter
        .snapshot_rollback(&c.ctx, snapshot_id, &volume_id)
        .await
        .map_err(|e| match e {
            DomainError::InvalidState { message: m, .. } => {
                EvsError::bad("EVS.1031", format!("invalid resources status! {m}"))
            }
            other => other.into(),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "rollback": { "volume_id": volume_id } })),
    )
        .into_response())
}

fn rollback_body(body: &Bytes) -> Result<Map<String, Value>, EvsError> {
    let obj = json_object(body)?;
    match obj.get("rollback") {
        Some(Value::Object(r)) => Ok(r.clone()),
        _ => Err(EvsError::malformed(
            "Malformed request body. The body needs a 'rollback' object.",
        )),
    }
}

/// `POST /v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback` and the v3
/// vendor path: `volume_id` required.
pub async fn rollback(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
    body: Bytes,
) -> EvsResult {
    let r = rollback_body(&body)?;
    text(&r, "name", 64)?;
    let volume_id = text(&r, "volume_id", 64)?.ok_or_else(|| {
        EvsError::malformed("Malformed request body. rollback.volume_id is required.")
    })?;
    rollback_to(&state, &c, &id, Some(VolumeId::from(volume_id))).await
}

/// `POST /v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback`:
/// `volume_id` optional (the snapshot's own), `name` only with it.
pub async fn rollback_vendor_v2(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
    body: Bytes,
) -> EvsResult {
    let r = rollback_body(&body)?;
    let name = text(&r, "name", 64)?;
    let volume_id = text(&r, "volume_id", 64)?;
    if name.is_some() && volume_id.is_none() {
        return Err(EvsError::malformed(
            "Malformed request body. rollback.name may only be given with rollback.volume_id.",
        ));
    }
    rollback_to(&state, &c, &id, volume_id.map(VolumeId::from)).await
}

// ---- v5 standard snapshots ----

async fn az_of(state: &ApiState, ctx: &AuthContext, s: &Snapshot) -> String {
    state
        .platter
        .volume_find(ctx, &s.volume_id)
        .await
        .map(|v| v.availability_zone)
        .unwrap_or_default()
}

/// `POST /v5/{project_id}/snapshots`: 202 `{job_id, snapshot_id}`.
pub async fn create_v5(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EvsResult {
    let s = snapshot_body(&body)?;
    let volume_id = volume_id_of(&s)?;
    let enterprise_project_id = text(&s, "enterprise_project_id", 64)?;
    if let Some(ep) = &enterprise_project_id {
        check_enterprise_project(ep)?;
    }
    let tags = match s.get("tags") {
        None | Some(Value::Null) => Metadata::new(),
        Some(t) => parse_tag_map(t)?,
    };
    flag(&s, "incremental")?;
    let req = SnapshotCreate {
        volume_id,
        name: text(&s, "name", 64)?,
        description: text(&s, "description", 85)?,
        // Standard snapshots are taken of attached volumes too.
        force: true,
        metadata: Metadata::new(),
        enterprise_project_id,
        tags,
        instant_access: flag(&s, "instant_access")?.unwrap_or(false),
    };
    let (snap, job_id) = state.platter.snapshot_create_job(&c.ctx, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": job_id, "snapshot_id": snap.id })),
    )
        .into_response())
}

pub async fn show_v5(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
) -> EvsResult {
    let s = snapshot_of(&state, &c.ctx, &id).await?;
    let az = az_of(&state, &c.ctx, &s).await;
    Ok(Json(json!({ "snapshot": views::snapshot_v5(&s, &az) })).into_response())
}

pub async fn update_v5(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
    body: Bytes,
) -> EvsResult {
    let s = snapshot_body(&body)?;
    let name = text(&s, "name", 64)?;
    let description = text(&s, "description", 85)?;
    let instant = flag(&s, "instant_access")?;
    snapshot_of(&state, &c.ctx, &id).await?;
    if name.is_some() || description.is_some() {
        state
            .platter
            .snapshot_update(&c.ctx, &id, name.map(Some), description.map(Some))
            .await?;
    }
    if let Some(on) = instant {
        state
            .platter
            .snapshot_set_instant_access(&c.ctx, &id, on)
            .await?;
    }
    let snap = snapshot_of(&state, &c.ctx, &id).await?;
    let az = az_of(&state, &c.ctx, &snap).await;
    Ok(Json(json!({ "snapshot": views::snapshot_v5(&snap, &az) })).into_response())
}

/// `DELETE /v5/{project_id}/snapshots/{snapshot_id}`: 202 `{job_id}`.
pub async fn delete_v5(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
) -> EvsResult {
    let job_id = begin_delete(&state, &c, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job_id": job_id }))).into_response())
}

/// `GET /v5/{project_id}/snapshots/detail`: `{snapshots}` only.
pub async fn list_v5(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    AxQuery(pairs): AxQuery<Vec<(String, String)>>,
) -> EvsResult {
    let q = Query { pairs };
    let mut req = list_request(&q, false)?;
    if let Some(key) = q.string("tag_key") {
        req.tags.push((key, Vec::new()));
    }
    if let Some(raw) = q.get("tags") {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => {
                for (k, v) in m {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string());
                    req.tags.push((k, vec![v]));
                }
            }
            _ => {
                return Err(EvsError::malformed(format!(
                    "Malformed request url. tags must be a JSON object, not '{raw}'."
                )))
            }
        }
    }
    let others = q.get("snapshot_type").is_some_and(|t| t != "user")
        || q.get("snapshot_chain_id").is_some()
        || q.get("snapshot_group_id").is_some();
    let snaps = if others || q.excludes_all() {
        Vec::new()
    } else {
        state
            .platter
            .snapshot_list(&c.ctx, req)
            .await
            .map_err(with_code("EVS.1024"))?
    };
    let mut zones: HashMap<VolumeId, String> = HashMap::new();
    let mut items = Vec::new();
    for s in &snaps {
        if !zones.contains_key(&s.volume_id) {
            let az = az_of(&state, &c.ctx, s).await;
            zones.insert(s.volume_id.clone(), az);
        }
        let az = zones.get(&s.volume_id).cloned().unwrap_or_default();
        items.push(views::snapshot_v5(s, &az));
    }
    Ok(Json(json!({ "snapshots": items })).into_response())
}
