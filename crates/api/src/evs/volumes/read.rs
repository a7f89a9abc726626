//! Listing, showing, updating and deleting volumes.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query as AxQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{Volume, VolumeId, VolumeStatus, VolumeTypeId};
use platter_service::{VolumeListRequest, VolumeUpdate};
use serde_json::{json, Value};

use super::super::errors::with_code;
use super::super::params::{opt_text, volume_of, Query};
use super::super::{views, Caller, EvsError, EvsResult};
use crate::toolkit::body::json_object;
use crate::ApiState;

/// The list request of the EVS query parameters.
pub(super) fn list_request(q: &Query) -> Result<VolumeListRequest, EvsError> {
    let ids = q.ids(false)?;
    Ok(VolumeListRequest {
        name: q.string("name"),
        status: q.volume_status()?,
        availability_zone: q.string("availability_zone"),
        bootable: q.bool("bootable")?,
        metadata: q.metadata()?,
        ids,
        multiattach: q.bool("multiattach")?,
        volume_type_id: q.string("volume_type_id").map(VolumeTypeId::from),
        enterprise_project_id: q.enterprise_project()?,
        server_id: q.string("server_id"),
        page: q.page(false)?,
        ..Default::default()
    })
}

pub(super) async fn list_with(
    state: &ApiState,
    c: &Caller,
    q: Query,
    prefix: &str,
    render: fn(&ApiState, &str, &Volume) -> Value,
) -> EvsResult {
    let req = list_request(&q)?;
    let page = req.page.clone();
    let (volumes, count) = if q.excludes_all() {
        (Vec::new(), 0)
    } else {
        state
            .platter
            .volume_list_counted(&c.ctx, req)
            .await
            .map_err(with_code("EVS.1024"))?
    };
    let base = format!(
        "{}/{prefix}/{}/volumes/detail",
        state.urls.block_storage, c.ctx.project_id
    );
    let links = q.next_links(
        &base,
        &page,
        volumes.len(),
        volumes.last().map(|v| v.id.as_str()),
    );
    let items: Vec<Value> = volumes.iter().map(|v| render(state, prefix, v)).collect();
    Ok(Json(json!({ "count": count, "volumes": items, "volumes_links": links })).into_response())
}

/// `GET /v2/{project_id}/cloudvolumes/detail`.
pub async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    AxQuery(pairs): AxQuery<Vec<(String, String)>>,
) -> EvsResult {
    list_with(&state, &c, Query { pairs }, "v2", views::volume_detail_with).await
}

/// `GET /v{2,3}/{project_id}/os-vendor-volumes/detail` (deprecated).
pub async fn list_vendor(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    AxQuery(pairs): AxQuery<Vec<(String, String)>>,
) -> EvsResult {
    let prefix = if uri.path().starts_with("/v3") {
        "v3"
    } else {
        "v2"
    };
    list_with(&state, &c, Query { pairs }, prefix, views::disk_detail).await
}

/// `GET /v2/{project_id}/cloudvolumes` (deprecated): `{id, links, name}`.
pub async fn list_summary(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    AxQuery(pairs): AxQuery<Vec<(String, String)>>,
) -> EvsResult {
    let q = Query { pairs };
    let req = VolumeListRequest {
        name: q.string("name"),
        status: q.volume_status()?,
        availability_zone: q.string("availability_zone"),
        page: q.page(false)?,
        ..Default::default()
    };
    let volumes = state
        .platter
        .volume_list(&c.ctx, req)
        .await
        .map_err(with_code("EVS.1024"))?;
    let items: Vec<Value> = volumes
        .iter()
        .map(|v| {
            let d = views::volume_detail(&state, v);
            json!({ "id": v.id, "links": d["links"], "name": d["name"] })
        })
        .collect();
    Ok(Json(json!({ "volumes": items })).into_response())
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
) -> EvsResult {
    let v = volume_of(&state, &c.ctx, &id).await?;
    Ok(Json(json!({ "volume": views::volume_detail(&state, &v) })).into_response())
}

/// `GET /v1/{project_id}/volumes/{volume_id}` (8.2.1.1, deprecated):
/// Huawei's `CinderVolumeDetail`, the fields of its table 8-36.
pub async fn show_v1(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
) -> EvsResult {
    let v = volume_of(&state, &c.ctx, &id).await?;
    Ok(Json(json!({ "volume": views::cinder_volume_detail_v1(&state, &v) })).into_response())
}

pub async fn show_vendor(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    Path((_, id)): Path<(String, VolumeId)>,
) -> EvsResult {
    let prefix = if uri.path().starts_with("/v3") {
        "v3"
    } else {
        "v2"
    };
    let v = volume_of(&state, &c.ctx, &id).await?;
    Ok(Json(json!({ "volume": views::disk_detail(&state, prefix, &v) })).into_response())
}

pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)
        .map_err(|e| EvsError::bad("EVS.1001", format!("null volume! {}", e.0)))?;
    let Some(Value::Object(v)) = obj.get("volume") else {
        return Err(EvsError::bad(
            "EVS.1001",
            "null volume! The body needs a 'volume' object.",
        ));
    };
    let name = opt_text(v, "name", 64, "EVS.1003")?;
    let description = opt_text(v, "description", 85, "EVS.1004")?;
    if name.is_none() && description.is_none() {
        return Err(EvsError::bad(
            "EVS.1007",
            "volume name and description can not both be empty!",
        ));
    }
    volume_of(&state, &c.ctx, &id).await?;
    let updated = state
        .platter
        .volume_update(
            &c.ctx,
            &id,
            VolumeUpdate {
                name: name.map(Some),
                description: description.map(Some),
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(views::volume_updated(&state, &updated)).into_response())
}

pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
) -> EvsResult {
    let v = volume_of(&state, &c.ctx, &id).await?;
    if v.order_id().is_some() {
        return Err(EvsError::bad(
            "EVS.1035",
            "periodic volume can not be deleted!",
        ));
    }
    match v.status {
        VolumeStatus::ErrorDeleting => {
            return Err(EvsError::new(StatusCode::INTERNAL_SERVER_ERROR, "EVS.2020", "volume is error_deleting !"))
        }
        VolumeStatus::BackingUp => {
            return Err(EvsError::bad("EVS.2130", "Volume is backing-up, forbidden deleting!"))
        }
        s if !VolumeStatus::DELETABLE.contains(&s) || !v.attachments.is_empty() => {
            return Err(EvsError::bad(
                "EVS.1046",
                format!("volume status must be available, error, error_extending, error_restoring, error_rollbacking when delete volume! It is {s}."),
            ))
        }
        _ => {}
    }
    // EVS deletes a volume's snapshots with it.
    let job_id = state
        .platter
        .volume_delete(&c.ctx, &id, true)
        .await
        .map_err(with_code("EVS.1046"))?;
    Ok(Json(json!({ "job_id": job_id })).into_response())
}
