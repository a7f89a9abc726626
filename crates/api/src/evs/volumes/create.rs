//! Creating volumes: v2.1, v2 and v3, batches, billing and idempotency.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{AuthContext, BackupId, DomainError, ImageId, Metadata, SnapshotId};
use platter_service::{CreateRules, IdempotencyClaim, Prepaid, VolumeCreate};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::super::params::{check_enterprise_project, is_uuid, loose_bool, opt_text};
use super::super::tags::parse_tag_map;
use super::super::{Caller, EvsError, EvsResult};
use crate::toolkit::body::json_object;
use crate::ApiState;

use super::parse::*;

/// A create's refusals: a snapshot or type that does not exist is EVS's
/// bad request, not a 404.
fn create_refusal(e: DomainError) -> EvsError {
    match e {
        DomainError::NotFound {
            kind: "Snapshot",
            id,
        } => EvsError::bad(
            "EVS.2045",
            format!("invalid snapshot_id! Snapshot {id} could not be found."),
        ),
        DomainError::NotFound {
            kind: "Volume type",
            id,
        } => EvsError::bad("EVS.1020", format!("invalid volume type! '{id}'")),
        other => other.into(),
    }
}

/// A parsed create request.
pub(super) struct CreateRequest {
    create: VolumeCreate,
    count: i64,
    prepaid: Option<Prepaid>,
}

pub(super) fn parse_create(
    body: &Map<String, Value>,
    flavor: Flavor,
) -> Result<CreateRequest, EvsError> {
    let Some(Value::Object(v)) = body.get("volume") else {
        return Err(EvsError::bad(
            "EVS.1008",
            "null createVolume Req! The body needs a 'volume' object.",
        ));
    };
    if flavor == Flavor::V21 && body.get("server_id").is_some_and(|s| !s.is_null()) {
        return Err(EvsError::bad(
            "EVS.2229",
            "input server id not found at ECS.",
        ));
    }
    if let Some(Value::Object(h)) = body.get("OS-SCH-HNT:scheduler_hints") {
        if h.get("dedicated_storage_id").is_some_and(|d| !d.is_null()) {
            return Err(EvsError::malformed("Malformed request body. Dedicated storage pools are not available on this service."));
        }
    }
    let prepaid = if flavor == Flavor::V21 {
        parse_bss(body.get("bssParam"))?
    } else {
        None
    };
    let sources = ["imageRef", "snapshot_id", "backup_id"]
        .iter()
        .filter(|k| v.get(**k).is_some_and(|x| !x.is_null()))
        .count();
    if sources > 1 {
        return Err(EvsError::bad(
            "EVS.1016",
            "Invalid input received: May specify only one of imageRef, snapshot_id, backup_id!",
        ));
    }
    let image_id = match v.get("imageRef") {
        None | Some(Value::Null) => None,
        Some(Value::String(i)) if is_uuid(i) => Some(ImageId::from(i.as_str())),
        Some(other) => {
            return Err(EvsError::bad(
                "EVS.2044",
                format!("invalid imageRef! '{}'", other.as_str().unwrap_or_default()),
            ))
        }
    };
    let backup_id = match v.get("backup_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(b)) if is_uuid(b) => Some(BackupId::from(b.as_str())),
        Some(other) => {
            return Err(EvsError::bad(
                "EVS.1006",
                format!(
                    "invalid backup id! '{}'",
                    other.as_str().unwrap_or_default()
                ),
            ))
        }
    };
    let az = opt_text(v, "availability_zone", 255, "EVS.2083")?;
    let vtype = opt_text(v, "volume_type", 255, "EVS.2083")?;
    let (Some(az), Some(vtype)) = (az, vtype) else {
        return Err(EvsError::bad(
            "EVS.2083",
            "AZ and volume type must not be empty or null!",
        ));
    };
    let name = opt_text(
        v,
        "name",
        if flavor == Flavor::V3 { 85 } else { 64 },
        "EVS.1003",
    )?;
    let description = opt_text(v, "description", 85, "EVS.1004")?;
    let count = match v.get("count") {
        None | Some(Value::Null) => 1,
        Some(c) => trunc_int(c).ok_or_else(|| {
            EvsError::bad(
                "EVS.1021",
                format!("the quantity of volume is invalid! {c}"),
            )
        })?,
    };
    if !(1..=platter_service::MAX_CREATE_COUNT).contains(&count) {
        return Err(EvsError::bad(
            "EVS.1021",
            format!(
                "the quantity of volume is invalid! count must be between 1 and 100, not {count}."
            ),
        ));
    }
    let size = match v.get("size") {
        None | Some(Value::Null) => None,
        Some(s) => Some(
            trunc_int(s)
                .ok_or_else(|| EvsError::bad("EVS.1010", format!("invalid volume size! {s}")))?,
        ),
    };
    let metadata = match v.get("metadata") {
        None | Some(Value::Null) => Metadata::new(),
        Some(Value::Object(m)) => {
            let mut out = Metadata::new();
            for (k, val) in m {
                match val {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    Value::Null => {}
                    other => {
                        out.insert(k.clone(), other.to_string());
                    }
                }
            }
            out
        }
        Some(other) => {
            return Err(EvsError::malformed(format!(
                "Malformed request body. metadata must be an object, not {other}."
            )))
        }
    };
    let snapshot_id = opt_text(v, "snapshot_id", 64, "EVS.2045")?;
    check_metadata(&metadata, snapshot_id.is_some())?;
    let multiattach = match (v.get("multiattach"), v.get("shareable")) {
        (Some(m), _) if !m.is_null() => loose_bool(m).ok_or_else(|| {
            EvsError::malformed(format!(
                "Malformed request body. multiattach must be a boolean, not {m}."
            ))
        })?,
        (_, Some(s)) if !s.is_null() => loose_bool(s).ok_or_else(|| {
            EvsError::bad("EVS.1054", format!("invalid shareable parameter! {s}"))
        })?,
        _ => false,
    };
    let enterprise_project_id = opt_text(v, "enterprise_project_id", 64, "EVS.2059")?;
    if let Some(ep) = &enterprise_project_id {
        check_enterprise_project(ep)?;
    }
    let tags = match v.get("tags") {
        None | Some(Value::Null) => Metadata::new(),
        Some(t) => parse_tag_map(t)?,
    };
    let (iops, throughput) = qos_values(v)?;
    if let Some(sid) = &snapshot_id {
        if !is_uuid(sid) {
            return Err(EvsError::bad(
                "EVS.2045",
                format!("invalid snapshot_id! '{sid}'"),
            ));
        }
    }
    Ok(CreateRequest {
        create: VolumeCreate {
            name,
            description,
            size,
            volume_type: Some(vtype),
            availability_zone: Some(az),
            snapshot_id: snapshot_id.map(SnapshotId::from),
            source_volid: None,
            metadata,
            multiattach,
            iops,
            throughput,
            enterprise_project_id,
            tags,
            group_id: None,
            image_id,
            backup_id,
        },
        count,
        prepaid,
    })
}

/// Runs a create under its `X-Client-Token`: a retry of the same request
/// gets the first response; the same token on a different request is
/// refused.
pub(super) async fn idempotent<F, Fut>(
    state: &ApiState,
    ctx: &AuthContext,
    headers: &HeaderMap,
    fingerprint: String,
    run: F,
) -> EvsResult
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(StatusCode, Value), EvsError>> + Send + 'static,
{
    let Some(raw) = headers.get("x-client-token") else {
        let (status, body) = run().await?;
        return Ok((status, Json(body)).into_response());
    };
    let token = raw.to_str().unwrap_or_default().to_string();
    if !is_uuid(&token) {
        return Err(EvsError::bad(
            "EVS.2218",
            "invalid X-Client-Token in header",
        ));
    }
    let mut waited = 0;
    loop {
        match state
            .platter
            .idempotency_claim(ctx, &token, &fingerprint)
            .await?
        {
            IdempotencyClaim::New => break,
            IdempotencyClaim::Done { status, response } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
                let body: Value = serde_json::from_str(&response).unwrap_or(Value::Null);
                return Ok((status, Json(body)).into_response());
            }
            IdempotencyClaim::Mismatch => {
                return Err(EvsError::bad(
                    "EVS.2219",
                    "url/project id/body conflict with X-Client-Token",
                ))
            }
            IdempotencyClaim::Expired => {
                return Err(EvsError::bad(
                    "EVS.2220",
                    "idempotent request over 8 hours from the first request.",
                ))
            }
            IdempotencyClaim::Pending if waited < 50 => {
                waited += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            IdempotencyClaim::Pending => return Err(EvsError::bad(
                "EVS.2221",
                "idempotent request wait timeout, because of another same request is processing.",
            )),
        }
    }
    // The claimed request runs to its end (and records its answer) even if
    // the client goes away: its retry must find the answer, not a hole.
    let (state2, ctx2) = (state.clone(), ctx.clone());
    let task = tokio::spawn(async move {
        let out = run().await;
        let recorded = match &out {
            Ok((status, body)) => {
                state2
                    .platter
                    .idempotency_complete(&ctx2, &token, status.as_u16(), &body.to_string())
                    .await
            }
            Err(_) => state2.platter.idempotency_release(&ctx2, &token).await,
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the outcome of an idempotent request");
        }
        out
    });
    let (status, body) = task.await.map_err(|e| {
        tracing::error!(error = %e, "idempotent create task failed");
        EvsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "EVS.5500",
            "Internal server error.",
        )
    })??;
    Ok((status, Json(body)).into_response())
}

pub(super) fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

pub(super) async fn create(
    state: ApiState,
    c: Caller,
    flavor: Flavor,
    headers: HeaderMap,
    uri: OriginalUri,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)
        .map_err(|e| EvsError::bad("EVS.1008", format!("null createVolume Req! {}", e.0)))?;
    let req = parse_create(&obj, flavor)?;
    let (st, ctx) = (state.clone(), c.ctx.clone());
    let run = move || async move {
        let out = st
            .platter
            .volume_create_many(&ctx, req.create, req.count, req.prepaid, CreateRules::EVS)
            .await
            .map_err(create_refusal)?;
        let ids: Vec<&str> = out.volumes.iter().map(|v| v.id.as_str()).collect();
        Ok(match (flavor, &out.order_id) {
            (Flavor::V3, _) => (StatusCode::OK, json!({ "job_id": out.job_id })),
            (_, Some(order)) => (
                StatusCode::ACCEPTED,
                json!({ "order_id": order, "volume_ids": ids }),
            ),
            (_, None) => (
                StatusCode::ACCEPTED,
                json!({ "job_id": out.job_id, "volume_ids": ids }),
            ),
        })
    };
    if flavor == Flavor::V2 {
        let (status, body) = run().await?;
        return Ok((status, Json(body)).into_response());
    }
    let fp = fingerprint(&Method::POST, uri.0.path(), &body);
    idempotent(&state, &c.ctx, &headers, fp, run).await
}

pub async fn create_v21(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    uri: OriginalUri,
    body: Bytes,
) -> EvsResult {
    create(state, c, Flavor::V21, headers, uri, body).await
}

pub async fn create_v2(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    uri: OriginalUri,
    body: Bytes,
) -> EvsResult {
    create(state, c, Flavor::V2, headers, uri, body).await
}

pub async fn create_v3(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    headers: HeaderMap,
    uri: OriginalUri,
    body: Bytes,
) -> EvsResult {
    create(state, c, Flavor::V3, headers, uri, body).await
}
