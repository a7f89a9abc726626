//! Nova's deprecated proxies to the block-storage service (seed 003
//! §11.4, §11.6): `os-volumes` and `os-snapshots`, Nova's camelCase views
//! over the same volumes and snapshots Cinder serves.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{AttachmentStatus, Snapshot, SnapshotId, Volume, VolumeId};
use platter_service::{SnapshotCreate, VolumeCreate, VolumeListRequest};
use serde_json::{json, Value};

use super::views::nova_time;
use super::{Caller, NovaError, NovaResult};
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

fn volume_view(v: &Volume) -> Value {
    let attachments: Vec<Value> = v
        .attachments
        .iter()
        .filter(|a| a.status == AttachmentStatus::Attached)
        .map(|a| {
            json!({
                "id": v.id,
                "volumeId": v.id,
                "serverId": a.instance_uuid,
                "device": a.mountpoint,
            })
        })
        .collect();
    json!({
        "id": v.id,
        "status": v.status.as_str(),
        "size": v.size,
        "availabilityZone": v.availability_zone,
        "createdAt": nova_time(&v.created_at),
        // Upstream shows one empty object for a volume attached nowhere.
        "attachments": if attachments.is_empty() { vec![json!({})] } else { attachments },
        "displayName": v.name,
        "displayDescription": v.description,
        "volumeType": v.volume_type_name,
        "snapshotId": v.snapshot_id,
        "metadata": v.metadata,
    })
}

fn snapshot_view(s: &Snapshot) -> Value {
    json!({
        "id": s.id,
        "volumeId": s.volume_id,
        "status": s.status.as_str(),
        "size": s.size,
        "createdAt": nova_time(&s.created_at),
        "displayName": s.name,
        "displayDescription": s.description,
    })
}

async fn listing(
    state: &ApiState,
    c: &Caller,
    q: &HashMap<String, String>,
) -> Result<Vec<Value>, NovaError> {
    let req = VolumeListRequest::default();
    let mut volumes = state.platter.volume_list(&c.ctx, req).await?;
    let offset = q
        .get("offset")
        .map(|o| {
            o.parse::<usize>()
                .map_err(|_| NovaError::bad("offset param must be an integer"))
        })
        .transpose()?
        .unwrap_or(0);
    let limit = q
        .get("limit")
        .map(|o| {
            o.parse::<usize>()
                .map_err(|_| NovaError::bad("limit param must be an integer"))
        })
        .transpose()?
        .unwrap_or(1000);
    let items: Vec<Value> = volumes
        .drain(..)
        .skip(offset)
        .take(limit)
        .map(|v| volume_view(&v))
        .collect();
    Ok(items)
}

pub async fn volumes(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> NovaResult {
    let items = listing(&state, &c, &q).await?;
    Ok(Json(json!({"volumes": items})).into_response())
}

pub async fn volume(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
) -> NovaResult {
    let v = state.platter.volume_get(&c.ctx, &id).await?;
    Ok(Json(json!({"volume": volume_view(&v)})).into_response())
}

pub async fn volume_create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> NovaResult {
    let root = json_object(&body)?;
    let Some(Value::Object(v)) = root.get("volume") else {
        return Err(NovaError::bad(
            "Invalid input for field/attribute volume: an object is required.",
        ));
    };
    let o = Obj::new(v, "volume");
    o.deny_unknown(&[
        "size",
        "availability_zone",
        "display_name",
        "display_description",
        "metadata",
        "volume_type",
        "snapshot_id",
    ])?;
    let size = o.opt_int("size")?.ok_or_else(|| {
        NovaError::bad("Invalid input for field/attribute size: 'size' is a required property")
    })?;
    let req = VolumeCreate {
        size: Some(size),
        name: o.opt_str("display_name", 255)?,
        description: o.opt_str("display_description", 255)?,
        availability_zone: o.opt_str("availability_zone", 255)?,
        volume_type: o.opt_str("volume_type", 255)?,
        snapshot_id: o.opt_str("snapshot_id", 36)?.map(SnapshotId::from),
        metadata: o.opt_metadata("metadata")?.unwrap_or_default(),
        ..Default::default()
    };
    let v = state.platter.volume_create(&c.ctx, req).await?;
    Ok(Json(json!({"volume": volume_view(&v)})).into_response())
}

pub async fn volume_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
) -> NovaResult {
    state.platter.volume_delete(&c.ctx, &id, false).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn snapshot(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
) -> NovaResult {
    let s = state.platter.snapshot_get(&c.ctx, &id).await?;
    Ok(Json(json!({"snapshot": snapshot_view(&s)})).into_response())
}

pub async fn snapshot_create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> NovaResult {
    let root = json_object(&body)?;
    let Some(Value::Object(s)) = root.get("snapshot") else {
        return Err(NovaError::bad(
            "Invalid input for field/attribute snapshot: an object is required.",
        ));
    };
    let o = Obj::new(s, "snapshot");
    o.deny_unknown(&["volume_id", "force", "display_name", "display_description"])?;
    let volume = o.req_str("volume_id", 36)?;
    let mut req = SnapshotCreate::new(VolumeId::from(volume));
    req.force = o.opt_bool("force")?.unwrap_or(false);
    req.name = o.opt_str("display_name", 255)?;
    req.description = o.opt_str("display_description", 255)?;
    let s = state.platter.snapshot_create(&c.ctx, req).await?;
    Ok(Json(json!({"snapshot": snapshot_view(&s)})).into_response())
}

pub async fn snapshot_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, SnapshotId)>,
) -> NovaResult {
    state.platter.snapshot_delete(&c.ctx, &id).await?;
    Ok(empty(StatusCode::ACCEPTED))
}
