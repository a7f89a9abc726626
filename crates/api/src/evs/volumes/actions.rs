//! Extend (single and batch), unsubscribe, retype and QoS.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{DomainError, Volume, VolumeId, VolumeStatus};
use serde_json::{json, Value};

use super::super::errors::with_code;
use super::super::params::{volume_of, MAX_IDS};
use super::super::{Caller, EvsError, EvsResult};
use crate::toolkit::body::json_object;
use crate::ApiState;

use super::parse::*;

/// The `new_size` of an `os-extend`, checked against the volume.
pub(super) fn check_extend(v: &Volume, new_size: i64) -> Result<(), EvsError> {
    if new_size <= v.size {
        return Err(EvsError::bad(
            "EVS.1015",
            format!("new volume Size must be greater than old Size! Volume {} is {} GiB, asked {new_size} GiB.", v.id, v.size),
        ));
    }
    let max = if v.bootable {
        MAX_SYSTEM_DISK_GIB
    } else {
        MAX_DATA_DISK_GIB
    };
    if new_size > max {
        return Err(EvsError::bad(
            "EVS.1014",
            format!("volume can not be extended! {new_size} GiB is over the maximum of {max} GiB."),
        ));
    }
    match v.status {
        VolumeStatus::Available => Ok(()),
        VolumeStatus::InUse if v.multiattach => Err(EvsError::bad(
            "EVS.1065",
            "multiattach volume status must be available when extending!",
        )),
        VolumeStatus::InUse => Ok(()),
        s => Err(EvsError::bad(
            "EVS.1064",
            format!("volume status must be available or in-use when extending! It is {s}."),
        )),
    }
}

pub(super) async fn extend(
    state: ApiState,
    c: Caller,
    id: VolumeId,
    body: Bytes,
    legacy: bool,
) -> EvsResult {
    let obj = json_object(&body)
        .map_err(|e| EvsError::bad("EVS.1011", format!("null extendVolume Req! {}", e.0)))?;
    let Some(Value::Object(ext)) = obj.get("os-extend") else {
        return Err(EvsError::bad(
            "EVS.1011",
            "null extendVolume Req! The body needs an 'os-extend' object.",
        ));
    };
    let new_size = ext.get("new_size").and_then(trunc_int).ok_or_else(|| {
        EvsError::bad(
            "EVS.1011",
            "null extendVolume Req! os-extend.new_size must be an integer.",
        )
    })?;
    let auto_pay = parse_auto_pay(obj.get("bssParam"), "isAutoPay")?;
    let v = volume_of(&state, &c.ctx, &id).await?;
    check_extend(&v, new_size)?;
    let (job_id, order) = state
        .platter
        .volume_extend_many(&c.ctx, &[(id, new_size)], false, auto_pay)
        .await
        .map_err(with_code("EVS.1064"))?;
    if legacy {
        return Ok(Json(json!({ "job_id": job_id })).into_response());
    }
    let body = match order {
        Some(order) => json!({ "order_id": order }),
        None => json!({ "job_id": job_id }),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `POST /v2.1/{project_id}/cloudvolumes/{volume_id}/action` (202).
pub async fn extend_v21(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
    body: Bytes,
) -> EvsResult {
    extend(state, c, id, body, false).await
}

/// `POST /v2/{project_id}/cloudvolumes/{volume_id}/action` (deprecated, 200).
pub async fn extend_v2(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
    body: Bytes,
) -> EvsResult {
    extend(state, c, id, body, true).await
}

/// `POST /v5/{project_id}/volumes/batch-extend`.
pub async fn batch_extend(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    let Some(Value::Array(items)) = obj.get("volumes") else {
        return Err(EvsError::malformed(
            "Malformed request body. 'volumes' must be a list of {id, new_size}.",
        ));
    };
    if items.is_empty() {
        return Err(EvsError::malformed(
            "Malformed request body. 'volumes' is empty.",
        ));
    }
    if items.len() > MAX_BATCH_EXTEND {
        return Err(EvsError::bad(
            "EVS.2238",
            "The maximum number of batch extend volume is 50",
        ));
    }
    let auto_pay = parse_auto_pay(obj.get("bss_param"), "is_auto_pay")?;
    let mut targets = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id").and_then(Value::as_str).ok_or_else(|| {
            EvsError::malformed("Malformed request body. Each volume needs an 'id'.")
        })?;
        let id = VolumeId::from(id);
        let new_size = item.get("new_size").and_then(trunc_int).ok_or_else(|| {
            EvsError::malformed("Malformed request body. Each volume needs an integer 'new_size'.")
        })?;
        if targets.iter().any(|(t, _): &(VolumeId, i64)| *t == id) {
            return Err(EvsError::malformed(format!(
                "Malformed request body. Volume {id} is listed twice."
            )));
        }
        let v = volume_of(&state, &c.ctx, &id).await?;
        check_extend(&v, new_size)?;
        targets.push((id, new_size));
    }
    let (group, order) = state
        .platter
        .volume_extend_many(&c.ctx, &targets, true, auto_pay)
        .await
        .map_err(with_code("EVS.1064"))?;
    let body = match order {
        Some(order) => json!({ "order_id": order }),
        None => json!({ "job_id": group }),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `POST /v2/{project_id}/cloudvolumes/unsubscribe`.
pub async fn unsubscribe(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    let Some(Value::Array(raw)) = obj.get("volume_ids") else {
        return Err(EvsError::malformed(
            "Malformed request body. 'volume_ids' must be a list of volume ids.",
        ));
    };
    if raw.is_empty() || raw.len() > MAX_IDS {
        return Err(EvsError::malformed(format!(
            "Malformed request body. Give 1 to {MAX_IDS} volume ids, not {}.",
            raw.len()
        )));
    }
    let ids: Vec<VolumeId> = raw
        .iter()
        .map(|v| v.as_str().map(VolumeId::from))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            EvsError::malformed("Malformed request body. volume_ids must be strings.")
        })?;
    let results = state
        .platter
        .volume_unsubscribe(&c.ctx, &ids)
        .await
        .map_err(|e| match e {
            DomainError::NotFound { id, .. } => {
                EvsError::bad("EVS.2203", format!("Volume id: {id},please check."))
            }
            other => other.into(),
        })?;
    let items: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut o = json!({ "volume_id": r.volume_id });
            match (&r.order_id, &r.error) {
                (_, Some(why)) => {
                    o["result"] = json!("FAIL");
                    o["fail_reason"] = json!(why);
                }
                (Some(order), None) => {
                    o["result"] = json!("SUCCESS");
                    o["order_id"] = json!(order);
                }
                (None, None) => o["result"] = json!("SUCCESS"),
            }
            o
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "results": items }))).into_response())
}

/// `POST /v2/{project_id}/volumes/{volume_id}/retype`.
pub async fn retype(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    let Some(Value::Object(r)) = obj.get("os-retype") else {
        return Err(EvsError::malformed(
            "Malformed request body. The body needs an 'os-retype' object.",
        ));
    };
    let auto_pay = parse_auto_pay(obj.get("bssParam"), "isAutoPay")?;
    let new_type = r.get("new_type").and_then(Value::as_str).ok_or_else(|| {
        EvsError::malformed("Malformed request body. os-retype.new_type is required.")
    })?;
    let (iops, throughput) = qos_values(r)?;
    let v = volume_of(&state, &c.ctx, &id).await?;
    let t = state.platter.volume_type_get(new_type).await.map_err(|_| {
        EvsError::bad(
            "EVS.2088",
            format!("The EVS disk does not support retype. Type '{new_type}' does not exist."),
        )
    })?;
    if !platter_service::retype_allowed(&v.volume_type_name, &t.name) {
        return Err(EvsError::bad(
            "EVS.2087",
            format!("retype failed. please make sure that type is supported and the new one is higher than origin: {} to {}.", v.volume_type_name, t.name),
        ));
    }
    platter_service::check_qos_fields(&t.name, iops, throughput).map_err(EvsError::from)?;
    if !matches!(v.status, VolumeStatus::Available | VolumeStatus::InUse) {
        return Err(EvsError::bad(
            "EVS.2088",
            format!(
                "The EVS disk does not support retype. Volume status is {}.",
                v.status
            ),
        ));
    }
    let (job_id, order) = state
        .platter
        .volume_retype(&c.ctx, &id, &t.name, iops, throughput, auto_pay)
        .await
        .map_err(|e| match e {
            // A bad target (another pool's type, ...) is a malformed request.
            DomainError::InvalidInput(_) => EvsError::from(e),
            other => with_code("EVS.2088")(other),
        })?;
    let body = match order {
        Some(order) => json!({ "order_id": order }),
        None => json!({ "job_id": job_id }),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `PUT /v5/{project_id}/cloudvolumes/{volume_id}/qos`.
pub async fn modify_qos(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    let Some(Value::Object(q)) = obj.get("qos_modify") else {
        return Err(EvsError::malformed(
            "Malformed request body. The body needs a 'qos_modify' object.",
        ));
    };
    let (iops, throughput) = qos_values(q)?;
    let job_id = state
        .platter
        .volume_modify_qos(&c.ctx, &id, iops, throughput)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job_id": job_id }))).into_response())
}
