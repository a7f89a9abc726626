//! `/os-quota-sets` and `/limits`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::ProjectId;
use platter_service::QuotaSetView;
use serde_json::{json, Map, Value};

use super::params::ListQuery;
use super::{Caller, CinderResult};
use crate::cinder::CinderError;
use crate::toolkit::body::{json_object, parse_bool, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

/// The URL's project and the project whose quotas are meant.
type TargetPath = Path<(String, ProjectId)>;
/// The URL's project and a quota class name.
type ClassPath = Path<(String, String)>;

fn quota_set(view: &QuotaSetView, usage: bool, with_id: bool) -> Value {
    let mut out = Map::new();
    if with_id {
        out.insert("id".into(), json!(view.project_id));
    }
    for line in &view.lines {
        let v = if usage {
            json!({ "limit": line.limit, "in_use": line.in_use, "reserved": 0 })
        } else {
            json!(line.limit)
        };
        out.insert(line.resource.clone(), v);
    }
    json!({ "quota_set": out })
}

/// `GET /os-quota-sets/{target}[?usage=true]`.
pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, target)): TargetPath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    let usage = ListQuery { pairs }.flag("usage")?;
    let view = state.platter.quota_show(&c.ctx, &target).await?;
    Ok(Json(quota_set(&view, usage, true)).into_response())
}

pub async fn defaults(
    State(state): State<ApiState>,
    Extension(_c): Extension<Caller>,
    Path((_p, target)): TargetPath,
) -> CinderResult {
    let view = state.platter.quota_defaults(&target).await?;
    Ok(Json(quota_set(&view, false, true)).into_response())
}

/// `PUT /os-quota-sets/{target}` (admin): `{"quota_set": {"volumes": 5, ...}}`.
pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, target)): TargetPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["quota_set"])?;
    let set = Obj::child(&map, "quota_set")?;
    let mut limits = Vec::new();
    for key in set.keys() {
        // Sent by python-cinderclient; not a limit.
        if key == "tenant_id" || key == "id" {
            continue;
        }
        if key == "skip_validation" {
            if set.get(key).and_then(parse_bool).is_none() {
                return Err(CinderError::bad_request(
                    "skip_validation must be a boolean.",
                ));
            }
            continue;
        }
        let limit = set.opt_int(key)?.ok_or_else(|| {
            CinderError::bad_request(format!("Invalid input for field/attribute {key}. Value: None. None is not of type 'integer'"))
        })?;
        limits.push((key.clone(), limit));
    }
    let view = state.platter.quota_update(&c.ctx, &target, &limits).await?;
    Ok(Json(quota_set(&view, false, false)).into_response())
}

/// `DELETE /os-quota-sets/{target}` (admin): back to the defaults.
pub async fn reset(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, target)): TargetPath,
) -> CinderResult {
    state.platter.quota_reset(&c.ctx, &target).await?;
    Ok(empty(StatusCode::OK))
}

/// `GET /limits`: absolute limits and usage of the caller's project.
pub async fn limits(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    let l = state.platter.limits(&c.ctx).await?;
    let get = |r: &str| l.usage.get(r).cloned();
    let limit = |r: &str| get(r).map(|u| u.limit).unwrap_or(-1);
    let used = |r: &str| get(r).map(|u| u.in_use).unwrap_or(0);
    let absolute = json!({
        "maxTotalVolumes": limit("volumes"),
        "maxTotalSnapshots": limit("snapshots"),
        "maxTotalVolumeGigabytes": limit("gigabytes"),
        "maxTotalBackups": limit("backups"),
        "maxTotalBackupGigabytes": limit("backup_gigabytes"),
        "totalVolumesUsed": used("volumes"),
        "totalSnapshotsUsed": used("snapshots"),
        "totalGigabytesUsed": used("gigabytes"),
        "totalBackupsUsed": used("backups"),
        "totalBackupGigabytesUsed": used("backup_gigabytes"),
    });
    Ok(Json(json!({ "limits": { "rate": [], "absolute": absolute } })).into_response())
}

/// `{class limits}`, with `id` on a show (upstream's update answer has none).
fn quota_class_body(class: Option<&str>, lines: &[platter_model::QuotaUsage]) -> Value {
    let mut m = Map::new();
    if let Some(c) = class {
        m.insert("id".into(), json!(c));
    }
    for l in lines {
        m.insert(l.resource.clone(), json!(l.limit));
    }
    json!({ "quota_class_set": m })
}

/// `GET /os-quota-class-sets/{class}` (admin).
pub async fn class_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, class)): ClassPath,
) -> CinderResult {
    let lines = state.platter.quota_class_show(&c.ctx).await?;
    Ok(Json(quota_class_body(Some(&class), &lines)).into_response())
}

/// `PUT /os-quota-class-sets/{class}` (admin): `{"quota_class_set": {...}}`.
pub async fn class_update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, class)): ClassPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["quota_class_set"])?;
    let set = Obj::child(&map, "quota_class_set")?;
    let mut limits = Vec::new();
    for key in set.keys() {
        if key == "id" || key == "class_name" {
            continue;
        }
        let limit = set.opt_int(key)?.ok_or_else(|| {
            CinderError::bad_request(format!("Invalid input for field/attribute {key}. Value: None. None is not of type 'integer'"))
        })?;
        limits.push((key.clone(), limit));
    }
    let lines = state
        .platter
        .quota_class_update(&c.ctx, &class, &limits)
        .await?;
    Ok(Json(quota_class_body(None, &lines)).into_response())
}
