//! `/snapshots`: create, list, show, update, delete, actions and metadata.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{ProjectId, SnapshotId, SnapshotStatus, VolumeId};
use platter_service::{SnapshotCreate, SnapshotListRequest};
use serde_json::{json, Value};

use super::params::ListQuery;
use super::volumes::{action_object, check_uuid, name_and_description, single_action};
use super::{views, Caller, CinderResult};
use crate::cinder::CinderError;
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

type IdPath = Path<(String, SnapshotId)>;

/// `POST /snapshots` → 202 with the snapshot in `creating`.
pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["snapshot"])?;
    let s = Obj::child(&map, "snapshot")?;
    s.deny_unknown(&[
        "name",
        "display_name",
        "description",
        "display_description",
        "volume_id",
        "force",
        "metadata",
    ])?;
    if map
        .get("snapshot")
        .and_then(|v| v.get("volume_id"))
        .is_some_and(Value::is_null)
    {
        // Upstream looks the volume up by the null id and finds none.
        return Err(CinderError::not_found("Volume None could not be found."));
    }
    let volume_id = s.req_str("volume_id", 36)?;
    check_uuid("volume_id", &volume_id)?;
    let (name, description) = name_and_description(&s)?;
    let req = SnapshotCreate {
        name: name.flatten(),
        description: description.flatten(),
        force: s.opt_bool("force")?.unwrap_or(false),
        metadata: s.opt_metadata("metadata")?.unwrap_or_default(),
        ..SnapshotCreate::new(VolumeId::from(volume_id))
    };
    let snap = state.platter.snapshot_create(&c.ctx, req).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "snapshot": views::snapshot_summary(c.api, &snap) })),
    )
        .into_response())
}

async fn list_common(state: ApiState, c: Caller, q: ListQuery, detail: bool) -> CinderResult {
    let req = SnapshotListRequest {
        all_tenants: q.flag("all_tenants")? && c.ctx.is_admin(),
        project_id: q.get("project_id").map(ProjectId::from),
        name: q.get("name").or(q.get("display_name")).map(str::to_string),
        status: q.get("status").map(str::to_string),
        volume_id: q.get("volume_id").map(VolumeId::from),
        metadata: q.metadata()?,
        page: q.page(true)?,
        ..Default::default()
    };
    let page = req.page.clone();
    let snaps = state.platter.snapshot_list(&c.ctx, req).await?;
    let items: Vec<Value> = snaps
        .iter()
        .map(|s| {
            if detail {
                views::snapshot_detail(c.api, s)
            } else {
                views::snapshot_summary(c.api, s)
            }
        })
        .collect();
    let mut body = json!({ "snapshots": items });
    let path = if detail {
        "snapshots/detail"
    } else {
        "snapshots"
    };
    let base = format!(
        "{}/{}/{}/{path}",
        state.urls.block_storage,
        c.api.prefix(),
        c.ctx.project_id
    );
    if let Some(links) = q.next_links(
        &base,
        &page,
        snaps.len(),
        snaps.last().map(|s| s.id.as_str()),
    ) {
        body["snapshots_links"] = links;
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list_common(state, c, ListQuery { pairs }, false).await
}

pub async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list_common(state, c, ListQuery { pairs }, true).await
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    let s = state.platter.snapshot_get(&c.ctx, &id).await?;
    Ok(Json(json!({ "snapshot": views::snapshot_detail(c.api, &s) })).into_response())
}

pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["snapshot"])?;
    let s = Obj::child(&map, "snapshot")?;
    s.deny_unknown(&["name", "display_name", "description", "display_description"])?;
    let (name, description) = name_and_description(&s)?;
    let snap = state
        .platter
        .snapshot_update(&c.ctx, &id, name, description)
        .await?;
    Ok(Json(json!({ "snapshot": views::snapshot_summary(c.api, &snap) })).into_response())
}

pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    state.platter.snapshot_delete(&c.ctx, &id).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /snapshots/{id}/action`: `os-reset_status`, `os-force_delete`,
/// `os-unmanage` (admin) and `os-update_snapshot_status`.
pub async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let (name, value) = single_action(&map)?;
    match name {
        "os-reset_status" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["status"])?;
            let raw = o.req_str("status", 255)?;
            let status = raw.parse::<SnapshotStatus>().map_err(|_| {
                CinderError::bad_request(format!(
                    "Invalid input received: '{raw}' is not a valid snapshot status."
                ))
            })?;
            state
                .platter
                .snapshot_reset_status(&c.ctx, &id, status)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-force_delete" => {
            action_object(name, value)?.deny_unknown(&[])?;
            state.platter.snapshot_force_delete(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-unmanage" => {
            if !value.is_null() {
                action_object(name, value)?.deny_unknown(&[])?;
            }
            state.platter.snapshot_unmanage(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-update_snapshot_status" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["status", "progress"])?;
            let raw = o.req_str("status", 255)?;
            let status = raw.parse::<SnapshotStatus>().map_err(|_| {
                CinderError::bad_request(format!(
                    "Invalid input received: '{raw}' is not a valid snapshot status."
                ))
            })?;
            let progress = o.opt_str("progress", 255)?;
            state
                .platter
                .snapshot_update_status(&c.ctx, &id, status, progress.as_deref())
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        other => {
            state.platter.snapshot_get(&c.ctx, &id).await?;
            Err(CinderError::bad_request(format!(
                "There is no such action: {other}"
            )))
        }
    }
}
