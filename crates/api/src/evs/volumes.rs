//! `cloudvolumes`: create (v2.1, v2, v3), list, show, update, delete,
//! extend (single and batch), unsubscribe, retype and QoS.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query as AxQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{AuthContext, DomainError, Metadata, Volume, VolumeStatus, ORDER_ID_KEY};
use platter_service::{IdempotencyClaim, Prepaid, VolumeCreate, VolumeListRequest, VolumeUpdate};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::errors::{qos_error, with_code};
use super::params::{
    check_enterprise_project, is_uuid, loose_bool, opt_text, volume_of, Query, MAX_IDS,
};
use super::tags::parse_tag_map;
use super::{views, Caller, EvsError, EvsResult};
use crate::body::json_object;
use crate::ApiState;

/// Largest data disk, GiB.
pub const MAX_DATA_DISK_GIB: i64 = 32768;
/// Largest system (boot) disk, GiB.
pub const MAX_SYSTEM_DISK_GIB: i64 = 1024;
/// Smallest blank data disk, GiB.
pub const MIN_DATA_DISK_GIB: i64 = 10;
/// At most this many volumes in one batch extend.
pub const MAX_BATCH_EXTEND: usize = 50;

/// Which create endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `POST /v2.1/{project_id}/cloudvolumes`: current, billing, idempotency.
    V21,
    /// `POST /v2/{project_id}/cloudvolumes`: deprecated.
    V2,
    /// `POST /v3/{project_id}/cloudvolumes`: deprecated, 200, idempotency.
    V3,
}

/// An integer; decimals are truncated (as EVS documents for size and count).
fn trunc_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f.trunc() as i64),
        _ => None,
    }
}

/// `iops` and `throughput` of a body object (create, retype, QoS): integers
/// (decimals truncated) or absent.
fn qos_values(o: &Map<String, Value>) -> Result<(Option<i64>, Option<i64>), EvsError> {
    let int = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => trunc_int(x)
            .map(Some)
            .ok_or_else(|| EvsError::bad("EVS.2231", format!("invalid {key} value {x}."))),
    };
    Ok((int("iops")?, int("throughput")?))
}

fn truthy(v: Option<&Value>) -> Result<bool, EvsError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(v) => loose_bool(v).ok_or_else(|| {
            EvsError::bad(
                "EVS.2147",
                format!("invalid bssParam. {v} is not true or false."),
            )
        }),
    }
}

/// `bssParam` of a create: `None` for on-demand.
fn parse_bss(v: Option<&Value>) -> Result<Option<Prepaid>, EvsError> {
    let bss = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(EvsError::bad(
                "EVS.2147",
                format!("invalid bssParam. {other} is not an object."),
            ))
        }
    };
    let mode = match bss.get("chargingMode") {
        None | Some(Value::Null) => "postPaid".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(EvsError::bad(
                "EVS.2147",
                format!("invalid bssParam. chargingMode {other}."),
            ))
        }
    };
    match mode.as_str() {
        "postPaid" => Ok(None),
        "prePaid" | "PrePaid" => {
            let period_type = match bss.get("periodType") {
                Some(Value::String(t)) if t == "month" || t == "year" => t.clone(),
                other => {
                    return Err(EvsError::bad(
                        "EVS.2147",
                        format!(
                        "invalid bssParam. periodType must be month or year for prePaid, not {}.",
                        other.map_or("nothing".to_string(), Value::to_string)
                    ),
                    ))
                }
            };
            let max = if period_type == "month" { 9 } else { 1 };
            let period_num = bss.get("periodNum").and_then(trunc_int).filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                EvsError::bad("EVS.2147", format!("invalid bssParam. periodNum must be between 1 and {max} for periodType {period_type}."))
            })?;
            Ok(Some(Prepaid {
                period_type,
                period_num,
                auto_renew: truthy(bss.get("isAutoRenew"))?,
                auto_pay: truthy(bss.get("isAutoPay"))?,
            }))
        }
        other => Err(EvsError::bad(
            "EVS.2147",
            format!("invalid bssParam. chargingMode must be prePaid or postPaid, not '{other}'."),
        )),
    }
}

/// `bssParam.isAutoPay` of an extend or retype (`bss_param.is_auto_pay` of
/// a batch extend): `"true"`/`"false"` or a boolean; default false.
fn parse_auto_pay(v: Option<&Value>, field: &str) -> Result<bool, EvsError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(m)) => truthy(m.get(field)),
        Some(other) => Err(EvsError::bad(
            "EVS.2147",
            format!("invalid bssParam. {other} is not an object."),
        )),
    }
}

/// Checks the metadata keys with special meaning.
fn check_metadata(meta: &Metadata, from_source: bool) -> Result<(), EvsError> {
    let special = ["__system__encrypted", "__system__cmkid", "hw:passthrough"];
    if from_source && meta.keys().any(|k| special.contains(&k.as_str())) {
        return Err(EvsError::bad(
            "EVS.1043",
            "encrypt and cmk and passthrough in metadata is not support when create volume from snapshot or image!",
        ));
    }
    if let Some(p) = meta.get("hw:passthrough") {
        if p != "true" && p != "false" {
            return Err(EvsError::bad(
                "EVS.1057",
                format!("invalid hw:passthrough in metadata! '{p}'"),
            ));
        }
    }
    match meta.get("__system__encrypted").map(String::as_str) {
        None | Some("0") => {}
        Some("1") => {
            return Err(EvsError::bad(
                "EVS.2041",
                "The encrypt Param is invalid! Volume encryption (KMS) is not available on this service.",
            ))
        }
        Some(other) => return Err(EvsError::bad("EVS.2041", format!("The encrypt Param is invalid! __system__encrypted '{other}'"))),
    }
    if let Some(f) = meta.get("full_clone") {
        if f != "0" && f != "1" {
            return Err(EvsError::bad(
                "EVS.1063",
                format!("invalid full_clone in metadata! '{f}'"),
            ));
        }
    }
    if meta.contains_key(ORDER_ID_KEY) {
        return Err(EvsError::bad(
            "EVS.2047",
            "the metadata Param is not allowed to be updated! orderID is set by the system.",
        ));
    }
    let bytes: usize = meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes >= 1 << 20 {
        return Err(EvsError::bad("EVS.1005", "size of metadata is too large!"));
    }
    Ok(())
}

/// A parsed create request.
struct CreateRequest {
    create: VolumeCreate,
    count: i64,
    prepaid: Option<Prepaid>,
}

async fn parse_create(
    state: &ApiState,
    ctx: &AuthContext,
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
    if v.get("imageRef").is_some_and(|x| !x.is_null()) {
        return Err(EvsError::malformed(
            "Invalid imageRef provided. There is no image service on this endpoint.",
        ));
    }
    if v.get("backup_id").is_some_and(|x| !x.is_null()) {
        return Err(EvsError::bad(
            "EVS.1006",
            "invalid backup id! There is no backup service on this endpoint.",
        ));
    }
    let az = opt_text(v, "availability_zone", 255, "EVS.2083")?;
    let vtype = opt_text(v, "volume_type", 255, "EVS.2083")?;
    let (Some(az), Some(vtype)) = (az, vtype) else {
        return Err(EvsError::bad(
            "EVS.2083",
            "AZ and volume type must not be empty or null!",
        ));
    };
    if !state.platter.config().availability_zones.contains(&az) {
        return Err(EvsError::bad(
            "EVS.1036",
            format!("invalid availability zone! '{az}'"),
        ));
    }
    let vt = state
        .platter
        .volume_type_get(&vtype)
        .await
        .map_err(|_| EvsError::bad("EVS.1020", format!("invalid volume type! '{vtype}'")))?;
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
    platter_service::check_qos_fields(&vt.name, iops, throughput).map_err(qos_error)?;
    let mut bootable_source = false;
    let mut min_size = MIN_DATA_DISK_GIB;
    if let Some(sid) = &snapshot_id {
        if !is_uuid(sid) {
            return Err(EvsError::bad(
                "EVS.2045",
                format!("invalid snapshot_id! '{sid}'"),
            ));
        }
        let snap = state.platter.snapshot_get(ctx, sid).await.map_err(|_| {
            EvsError::bad(
                "EVS.2045",
                format!("invalid snapshot_id! Snapshot {sid} could not be found."),
            )
        })?;
        if !matches!(snap.status.as_str(), "available" | "backing-up") {
            return Err(EvsError::bad(
                "EVS.2043",
                format!(
                    "The status of snapshot is not available or backing-up. It is {}.",
                    snap.status
                ),
            ));
        }
        if let Ok(src) = state.platter.volume_get(ctx, &snap.volume_id).await {
            if src.availability_zone != az {
                return Err(EvsError::bad("EVS.2054", format!("Cannot create volume from snapshot as the az is invalid! The snapshot is in {}.", src.availability_zone)));
            }
            if src.volume_type_id != vt.id {
                return Err(EvsError::bad(
                    "EVS.2096",
                    format!(
                        "Target volumeType[{}] is not matched with snapshot[{}] !",
                        vt.name, src.volume_type_name
                    ),
                ));
            }
            bootable_source = src.bootable;
        }
        min_size = snap.size;
    }
    let max = if bootable_source {
        MAX_SYSTEM_DISK_GIB
    } else {
        MAX_DATA_DISK_GIB
    };
    let size = match size {
        Some(s) => s,
        None if snapshot_id.is_some() => min_size,
        None => {
            return Err(EvsError::bad(
                "EVS.1010",
                "invalid volume size! size is required.",
            ))
        }
    };
    if size < min_size || size > max {
        return Err(EvsError::bad(
            "EVS.1010",
            format!("invalid volume size! {size} GiB is outside {min_size}..={max} GiB."),
        ));
    }
    Ok(CreateRequest {
        create: VolumeCreate {
            name,
            description,
            size: Some(size),
            volume_type: Some(vt.id),
            availability_zone: Some(az),
            snapshot_id,
            source_volid: None,
            metadata,
            multiattach,
            iops,
            throughput,
            enterprise_project_id,
            tags,
        },
        count,
        prepaid,
    })
}

/// Runs a create under its `X-Client-Token`: a retry of the same request
/// gets the first response; the same token on a different request is
/// refused.
async fn idempotent<F, Fut>(
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

fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

async fn create(
    state: ApiState,
    c: Caller,
    flavor: Flavor,
    headers: HeaderMap,
    uri: OriginalUri,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)
        .map_err(|e| EvsError::bad("EVS.1008", format!("null createVolume Req! {}", e.0)))?;
    let req = parse_create(&state, &c.ctx, &obj, flavor).await?;
    let (st, ctx) = (state.clone(), c.ctx.clone());
    let run = move || async move {
        let out = st
            .platter
            .volume_create_many(&ctx, req.create, req.count, req.prepaid)
            .await?;
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
        volume_type_id: q.string("volume_type_id"),
        enterprise_project_id: q.enterprise_project()?,
        server_id: q.string("server_id"),
        page: q.page(false)?,
        ..Default::default()
    })
}

async fn list_with(
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
    Path((_, id)): Path<(String, String)>,
) -> EvsResult {
    let v = volume_of(&state, &c.ctx, &id).await?;
    Ok(Json(json!({ "volume": views::volume_detail(&state, &v) })).into_response())
}

pub async fn show_vendor(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    OriginalUri(uri): OriginalUri,
    Path((_, id)): Path<(String, String)>,
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
    Path((_, id)): Path<(String, String)>,
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
    Path((_, id)): Path<(String, String)>,
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

/// The `new_size` of an `os-extend`, checked against the volume.
fn check_extend(v: &Volume, new_size: i64) -> Result<(), EvsError> {
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

async fn extend(state: ApiState, c: Caller, id: String, body: Bytes, legacy: bool) -> EvsResult {
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
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> EvsResult {
    extend(state, c, id, body, false).await
}

/// `POST /v2/{project_id}/cloudvolumes/{volume_id}/action` (deprecated, 200).
pub async fn extend_v2(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
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
        let new_size = item.get("new_size").and_then(trunc_int).ok_or_else(|| {
            EvsError::malformed("Malformed request body. Each volume needs an integer 'new_size'.")
        })?;
        if targets.iter().any(|(t, _): &(String, i64)| t == id) {
            return Err(EvsError::malformed(format!(
                "Malformed request body. Volume {id} is listed twice."
            )));
        }
        let v = volume_of(&state, &c.ctx, id).await?;
        check_extend(&v, new_size)?;
        targets.push((id.to_string(), new_size));
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
    let ids: Vec<String> = raw
        .iter()
        .map(|v| v.as_str().map(str::to_string))
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
    Path((_, id)): Path<(String, String)>,
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
    platter_service::check_qos_fields(&t.name, iops, throughput).map_err(qos_error)?;
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
            DomainError::InvalidInput(_) => qos_error(e),
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
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    let Some(Value::Object(q)) = obj.get("qos_modify") else {
        return Err(EvsError::malformed(
            "Malformed request body. The body needs a 'qos_modify' object.",
        ));
    };
    let (iops, throughput) = qos_values(q)?;
    let v = volume_of(&state, &c.ctx, &id).await?;
    if !matches!(v.volume_type_name.as_str(), "GPSSD2" | "ESSD2") {
        return Err(EvsError::bad(
            "EVS.2234",
            "only ESSD2 and GPSSD2 can modify qos.",
        ));
    }
    platter_service::check_qos_fields(&v.volume_type_name, iops, throughput).map_err(qos_error)?;
    let job_id = state
        .platter
        .volume_modify_qos(&c.ctx, &id, iops, throughput)
        .await
        .map_err(|e| match e {
            DomainError::InvalidInput(_) => qos_error(e),
            other => other.into(),
        })?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job_id": job_id }))).into_response())
}
