//! Nova's servers, their actions and volume attachments, flavors, limits.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{
    is_uuid, Action, ImageId, PowerAction, Server, ServerId, ServerOrigin, SnapshotId, Timestamp,
    VolumeId,
};
use platter_service::{BlockDevice, CreateRules, DiskSource, ServerCreate, ServerListRequest};
use serde_json::{json, Map, Value};

use super::{views, Caller, NovaError, NovaResult};
use crate::toolkit::body::{json_object, parse_bool, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

fn bad(m: impl Into<String>) -> NovaError {
    NovaError::bad(m)
}

/// An id that may come as a URL (`.../flavors/1`): its last segment.
fn ref_id(v: &Value, field: &str) -> Result<Option<String>, NovaError> {
    let s = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(bad(format!(
                "Invalid input for field/attribute {field}. Value: {other}. {other} is not of type 'string'"
            )))
        }
    };
    let last = s.rsplit('/').next().unwrap_or_default().to_string();
    Ok((!last.is_empty()).then_some(last))
}

fn loose_int(v: &Value, field: &str) -> Result<Option<i64>, NovaError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("Invalid input for field/attribute {field}."))),
        Value::String(s) if s.trim().is_empty() || s.eq_ignore_ascii_case("none") => Ok(None),
        Value::String(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
            bad(format!(
                "Invalid input for field/attribute {field}. Value: {s}."
            ))
        }),
        other => Err(bad(format!(
            "Invalid input for field/attribute {field}. Value: {other}."
        ))),
    }
}

fn loose_bool(v: Option<&Value>, field: &str) -> Result<bool, NovaError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(v) => parse_bool(v).ok_or_else(|| {
            bad(format!(
                "Invalid input for field/attribute {field}. Value: {v}. {v} is not of type 'boolean'"
            ))
        }),
    }
}

fn block_device(o: &Map<String, Value>) -> Result<BlockDevice, NovaError> {
    let source_type = o
        .get("source_type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Block Device Mapping is Invalid: source_type is required."))?;
    let dest = o
        .get("destination_type")
        .and_then(Value::as_str)
        .unwrap_or("volume");
    if dest != "volume" {
        return Err(bad(format!(
            "Block Device Mapping is Invalid: destination_type {dest} is not supported; only volume is."
        )));
    }
    let uuid = match o.get("uuid") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let need_uuid = |what: &str| {
        uuid.clone().ok_or_else(|| {
            bad(format!(
                "Block Device Mapping is Invalid: a {what} source needs a uuid."
            ))
        })
    };
    let source = match source_type {
        "volume" => DiskSource::Volume(VolumeId::from(need_uuid("volume")?)),
        "image" => DiskSource::Image(ImageId::from(need_uuid("image")?)),
        "snapshot" => DiskSource::Snapshot(SnapshotId::from(need_uuid("snapshot")?)),
        "blank" => DiskSource::Blank,
        other => {
            return Err(bad(format!(
                "Block Device Mapping is Invalid: source_type {other} is not one of volume, image, snapshot, blank."
            )))
        }
    };
    let boot_index = match o.get("boot_index") {
        Some(v) => loose_int(v, "boot_index")?,
        None => None,
    };
    let size_gib = match o.get("volume_size") {
        Some(v) => loose_int(v, "volume_size")?,
        None => None,
    };
    if size_gib.is_some_and(|s| s < 1) {
        return Err(bad(
            "Block Device Mapping is Invalid: volume_size must be at least 1.",
        ));
    }
    let volume_type = match o.get("volume_type") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    Ok(BlockDevice {
        source,
        boot_index: boot_index.filter(|b| *b >= 0),
        size_gib,
        volume_type,
        delete_on_termination: loose_bool(o.get("delete_on_termination"), "delete_on_termination")?,
        multiattach: false,
    })
}

fn parse_create(body: &Bytes) -> Result<(ServerCreate, bool), NovaError> {
    let root = json_object(body)?;
    let Some(Value::Object(s)) = root.get("server") else {
        return Err(bad(
            "Invalid input for field/attribute server: a 'server' object is required.",
        ));
    };
    let o = Obj::new(s, "server");
    let name = o.req_str("name", 255)?;
    if name.trim().is_empty() {
        return Err(bad(
            "Invalid input for field/attribute name. Value: ''. '' is too short",
        ));
    }
    let flavor_ref = ref_id(o.require("flavorRef")?, "flavorRef")?
        .ok_or_else(|| bad("Invalid flavorRef provided."))?;
    let image_ref = match s.get("imageRef") {
        Some(v) => ref_id(v, "imageRef")?,
        None => None,
    };
    if let Some(i) = &image_ref {
        if !is_uuid(i) {
            return Err(bad("Invalid imageRef provided."));
        }
    }
    let mut block_devices = Vec::new();
    match s.get("block_device_mapping_v2") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(m) = item else {
                    return Err(bad(
                        "Block Device Mapping is Invalid: each mapping is an object.",
                    ));
                };
                block_devices.push(block_device(m)?);
            }
        }
        Some(_) => {
            return Err(bad(
                "Invalid input for field/attribute block_device_mapping_v2.",
            ))
        }
    }
    let count = |k: &str| -> Result<Option<i64>, NovaError> {
        match s.get(k) {
            Some(v) => loose_int(v, k),
            None => Ok(None),
        }
    };
    let min_count = count("min_count")?.unwrap_or(1);
    let max_count = count("max_count")?.unwrap_or(min_count);
    let user_data = o.opt_str("user_data", 65535)?;
    if let Some(u) = &user_data {
        use base64::Engine;
        if base64::engine::general_purpose::STANDARD.decode(u).is_err() {
            return Err(bad("User data needs to be valid base 64."));
        }
    }
    let return_reservation_id =
        loose_bool(s.get("return_reservation_id"), "return_reservation_id")?;
    Ok((
        ServerCreate {
            name,
            description: o.opt_str("description", 255)?,
            flavor_ref,
            image_ref: image_ref.map(ImageId::from),
            block_devices,
            availability_zone: o.opt_str("availability_zone", 255)?,
            metadata: o.opt_metadata("metadata")?.unwrap_or_default(),
            user_data,
            key_name: o.opt_str("key_name", 255)?,
            min_count,
            max_count,
            origin: ServerOrigin::Nova,
            network: s.get("networks").cloned().unwrap_or(Value::Null),
            rules: CreateRules::CINDER,
        },
        return_reservation_id,
    ))
}

pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> NovaResult {
    let (req, reservation) = parse_create(&body)?;
    let created = state
        .platter
        .server_create(&c.ctx, req, Action::ServerCreate)
        .await?;
    if reservation {
        let r = created
            .servers
            .first()
            .map(|s| s.reservation_id.clone())
            .unwrap_or_default();
        return Ok((StatusCode::ACCEPTED, Json(json!({"reservation_id": r}))).into_response());
    }
    let Some(s) = created.servers.first() else {
        return Err(NovaError::framework(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no server was created".into(),
        ));
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"server": views::server_created(&state.urls.compute, s)})),
    )
        .into_response())
}

fn list_request(c: &Caller, q: &HashMap<String, String>) -> Result<ServerListRequest, NovaError> {
    let changes_since = match q.get("changes-since") {
        Some(t) => Some(
            Timestamp::parse(t.trim_end_matches('Z'))
                .ok_or_else(|| bad(format!("Invalid changes-since value: {t}")))?,
        ),
        None => None,
    };
    let status = q.get("status").map(|s| s.to_uppercase());
    if let Some(st) = &status {
        if c.mv.at_least(2, 38) && !platter_model::server_status_known(st) {
            return Err(bad(format!("Invalid status value: {st}")));
        }
    }
    Ok(ServerListRequest {
        all_tenants: q
            .get("all_tenants")
            .is_some_and(|v| v.is_empty() || platter_model_bool(v)),
        name: q
            .get("name")
            .map(|n| n.trim_start_matches('^').trim_end_matches('$').to_string()),
        status,
        flavor: q.get("flavor").cloned(),
        reservation_id: q.get("reservation_id").cloned(),
        changes_since,
    })
}

fn platter_model_bool(v: &str) -> bool {
    crate::toolkit::body::parse_bool_str(v).unwrap_or(false)
}

/// Applies `marker` and `limit` to a listing (newest first).
fn page(
    servers: Vec<Server>,
    q: &HashMap<String, String>,
    base: &str,
    project: &str,
    detail: bool,
) -> Result<(Vec<Server>, Option<Value>), NovaError> {
    let mut servers = servers;
    if let Some(m) = q.get("marker") {
        let at = servers
            .iter()
            .position(|s| s.id.as_str() == m)
            .ok_or_else(|| bad(format!("marker [{m}] not found")))?;
        servers.drain(..=at);
    }
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| bad("limit param must be an integer"))?
            .min(1000),
        None => 1000,
    };
    let more = servers.len() > limit;
    servers.truncate(limit);
    let links = match (more, servers.last()) {
        (true, Some(last)) => Some(json!([{
            "rel": "next",
            "href": format!(
                "{base}/v2.1/{project}/servers{}?limit={limit}&marker={}",
                if detail { "/detail" } else { "" },
                last.id
            ),
        }])),
        _ => None,
    };
    Ok((servers, links))
}

async fn listing(
    state: &ApiState,
    c: &Caller,
    q: &HashMap<String, String>,
    detail: bool,
) -> NovaResult {
    let req = list_request(c, q)?;
    let all = state.platter.server_list(&c.ctx, &req).await?;
    let base = &state.urls.compute;
    let (servers, links) = page(all, q, base, c.ctx.project_id.as_str(), detail)?;
    let items: Vec<Value> = servers
        .iter()
        .map(|s| {
            if detail {
                views::server_detail(base, s, c.mv, c.ctx.is_admin())
            } else {
                views::server_summary(base, s)
            }
        })
        .collect();
    let mut body = json!({ "servers": items });
    if let Some(l) = links {
        body["servers_links"] = l;
    }
    Ok(Json(body).into_response())
}

pub async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> NovaResult {
    listing(&state, &c, &q, false).await
}

pub async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> NovaResult {
    listing(&state, &c, &q, true).await
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
) -> NovaResult {
    let s = state.platter.server_get(&c.ctx, &id).await?;
    Ok(Json(
        json!({"server": views::server_detail(&state.urls.compute, &s, c.mv, c.ctx.is_admin())}),
    )
    .into_response())
}

pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> NovaResult {
    let root = json_object(&body)?;
    let Some(Value::Object(s)) = root.get("server") else {
        return Err(bad(
            "Invalid input for field/attribute server: a 'server' object is required.",
        ));
    };
    let o = Obj::new(s, "server");
    let allowed: &[&str] = if c.mv.at_least(2, 19) {
        &[
            "name",
            "description",
            "accessIPv4",
            "accessIPv6",
            "OS-DCF:diskConfig",
        ]
    } else {
        &["name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"]
    };
    o.deny_unknown(allowed)?;
    let name = o.opt_str("name", 255)?;
    if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(bad(
            "Invalid input for field/attribute name. Value: ''. '' is too short",
        ));
    }
    let description = o.opt_nullable_str("description", 255)?;
    let s = state
        .platter
        .server_update(&c.ctx, &id, name, description)
        .await?;
    Ok(Json(
        json!({"server": views::server_detail(&state.urls.compute, &s, c.mv, c.ctx.is_admin())}),
    )
    .into_response())
}

pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
) -> NovaResult {
    state
        .platter
        .server_delete(&c.ctx, &id, None, Action::ServerDelete, None)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> NovaResult {
    let root = json_object(&body)?;
    let Some((name, arg)) = root.iter().next() else {
        return Err(bad("Malformed request body: an action is required."));
    };
    let p = &state.platter;
    let power = |a: PowerAction, act: Action| (a, act);
    let (action, act) = match name.as_str() {
        "os-start" => power(PowerAction::Start, Action::ServerStart),
        "os-stop" => power(PowerAction::Stop, Action::ServerStop),
        "reboot" => {
            let kind = arg
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_uppercase)
                .ok_or_else(|| {
                    bad("Invalid input for field/attribute reboot: 'type' is a required property")
                })?;
            match kind.as_str() {
                "SOFT" => power(PowerAction::SoftReboot, Action::ServerReboot),
                "HARD" => power(PowerAction::HardReboot, Action::ServerReboot),
                other => {
                    return Err(bad(format!(
                        "Invalid input for field/attribute type. Value: {other}. '{other}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"
                    )))
                }
            }
        }
        "os-getConsoleOutput" => {
            let length = match arg.get("length") {
                Some(v) => loose_int(v, "length")?,
                None => None,
            };
            if length.is_some_and(|l| l < -1) {
                return Err(bad(
                    "Invalid input for field/attribute length: must be -1 or more.",
                ));
            }
            let lines = length.filter(|l| *l >= 0).map(|l| l as usize);
            let output = p.server_console_output(&c.ctx, &id, lines).await?;
            return Ok(Json(json!({"output": output})).into_response());
        }
        "resize" => {
            let flavor = arg
                .get("flavorRef")
                .map(|v| ref_id(v, "flavorRef"))
                .transpose()?
                .flatten()
                .ok_or_else(|| bad("Invalid input for field/attribute resize: 'flavorRef' is a required property"))?;
            p.server_resize(&c.ctx, &id, &flavor, false, Action::ServerResize)
                .await?;
            return Ok(empty(StatusCode::ACCEPTED));
        }
        "rebuild" => {
            let Value::Object(arg) = arg else {
                return Err(bad(
                    "Invalid input for field/attribute rebuild: an object is required.",
                ));
            };
            let o = Obj::new(arg, "rebuild");
            let image = ref_id(o.require("imageRef")?, "imageRef")?
                .filter(|i| is_uuid(i))
                .ok_or_else(|| bad("Invalid imageRef provided."))?;
            let name = o.opt_str("name", 255)?;
            if name.as_deref().is_some_and(|n| n.trim().is_empty()) {
                return Err(bad(
                    "Invalid input for field/attribute name. Value: ''. '' is too short",
                ));
            }
            o.opt_metadata("metadata")?;
            let (s, _) = p
                .server_rebuild(
                    &c.ctx,
                    &id,
                    Some(ImageId::from(image)),
                    name,
                    false,
                    Action::ServerRebuild,
                )
                .await?;
            let view = views::server_detail(&state.urls.compute, &s, c.mv, c.ctx.is_admin());
            return Ok((StatusCode::ACCEPTED, Json(json!({"server": view}))).into_response());
        }
        "confirmResize" => {
            p.server_confirm_resize(&c.ctx, &id).await?;
            return Ok(empty(StatusCode::NO_CONTENT));
        }
        "revertResize" => {
            p.server_revert_resize(&c.ctx, &id).await?;
            return Ok(empty(StatusCode::ACCEPTED));
        }
        "lock" | "unlock" => {
            p.server_lock(&c.ctx, &id, name == "lock").await?;
            return Ok(empty(StatusCode::ACCEPTED));
        }
        "createImage" => {
            let Value::Object(arg) = arg else {
                return Err(bad(
                    "Invalid input for field/attribute createImage: an object is required.",
                ));
            };
            let o = Obj::new(arg, "createImage");
            let image_name = o.req_str("name", 255)?;
            if image_name.trim().is_empty() {
                return Err(bad(
                    "Invalid input for field/attribute name. Value: ''. '' is too short",
                ));
            }
            o.opt_metadata("metadata")?;
            let image = p.server_create_image(&c.ctx, &id, image_name).await?;
            let location = format!("{}/v2/images/{image}", state.urls.image);
            if c.mv.at_least(2, 45) {
                return Ok((StatusCode::ACCEPTED, Json(json!({"image_id": image}))).into_response());
            }
            let mut resp = empty(StatusCode::ACCEPTED);
            if let Ok(v) = axum::http::HeaderValue::from_str(&location) {
                resp.headers_mut().insert(axum::http::header::LOCATION, v);
            }
            return Ok(resp);
        }
        other => return Err(bad(format!("There is no such action: {other}"))),
    };
    p.server_power(&c.ctx, &id, action, act, None).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub async fn attachments(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
) -> NovaResult {
    let s = state.platter.server_find(&c.ctx, &id).await?;
    let items: Vec<Value> = s
        .disks
        .iter()
        .map(|d| views::attachment(&s, d, c.mv))
        .collect();
    Ok(Json(json!({"volumeAttachments": items})).into_response())
}

pub async fn attachment(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id, volume)): Path<(String, ServerId, VolumeId)>,
) -> NovaResult {
    let s = state.platter.server_find(&c.ctx, &id).await?;
    let d = s
        .disks
        .iter()
        .find(|d| d.volume_id == volume)
        .ok_or_else(|| {
            NovaError::not_found(format!("Volume {volume} is not attached to instance {id}."))
        })?;
    Ok(Json(json!({"volumeAttachment": views::attachment(&s, d, c.mv)})).into_response())
}

pub async fn attach(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> NovaResult {
    let root = json_object(&body)?;
    let Some(Value::Object(a)) = root.get("volumeAttachment") else {
        return Err(bad(
            "Invalid input for field/attribute volumeAttachment: an object is required.",
        ));
    };
    let o = Obj::new(a, "volumeAttachment");
    let volume = o.req_str("volumeId", 36)?;
    if !is_uuid(&volume) {
        return Err(bad(format!(
            "Invalid input for field/attribute volumeId. Value: {volume}. '{volume}' is not a 'uuid'"
        )));
    }
    let device = o.opt_str("device", 255)?;
    let (disk, _) = state
        .platter
        .server_attach_volume(
            &c.ctx,
            &id,
            &VolumeId::from(volume),
            device.as_deref(),
            Action::ServerVolumeAttach,
        )
        .await?;
    let s = state.platter.server_find(&c.ctx, &id).await?;
    Ok(Json(json!({"volumeAttachment": views::attachment(&s, &disk, c.mv)})).into_response())
}

pub async fn detach(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id, volume)): Path<(String, ServerId, VolumeId)>,
    Query(q): Query<HashMap<String, String>>,
) -> NovaResult {
    let force = q.get("delete_flag").is_some_and(|f| f == "1");
    state
        .platter
        .server_detach_volume(&c.ctx, &id, &volume, force, Action::ServerVolumeDetach)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

fn sorted_flavors(
    mut flavors: Vec<platter_model::Flavor>,
    q: &HashMap<String, String>,
) -> Result<Vec<platter_model::Flavor>, NovaError> {
    let num = |k: &str| -> Result<Option<i64>, NovaError> {
        q.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| bad(format!("Invalid {k} filter [{v}]")))
            })
            .transpose()
    };
    if let Some(d) = num("minDisk")? {
        flavors.retain(|f| f.disk_gib >= d);
    }
    if let Some(r) = num("minRam")? {
        flavors.retain(|f| f.ram_mib as i64 >= r);
    }
    match q.get("sort_key").map(String::as_str).unwrap_or("flavorid") {
        "flavorid" | "id" => flavors.sort_by(|a, b| a.id.cmp(&b.id)),
        "name" => flavors.sort_by(|a, b| a.name.cmp(&b.name)),
        "memory_mb" => flavors.sort_by_key(|f| f.ram_mib),
        "vcpus" => flavors.sort_by_key(|f| f.vcpus),
        "root_gb" => flavors.sort_by_key(|f| f.disk_gib),
        other => return Err(bad(format!("Invalid sort_key: {other}"))),
    }
    if q.get("sort_dir").is_some_and(|d| d == "desc") {
        flavors.reverse();
    }
    Ok(flavors)
}

async fn flavor_listing(
    state: &ApiState,
    c: &Caller,
    q: &HashMap<String, String>,
    detail: bool,
) -> NovaResult {
    let flavors = sorted_flavors(state.platter.flavor_list(&c.ctx)?, q)?;
    let base = &state.urls.compute;
    let items: Vec<Value> = flavors
        .iter()
        .map(|f| views::flavor(base, c.ctx.project_id.as_str(), f, detail))
        .collect();
    Ok(Json(json!({"flavors": items})).into_response())
}

pub async fn flavors(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> NovaResult {
    flavor_listing(&state, &c, &q, false).await
}

pub async fn flavors_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> NovaResult {
    flavor_listing(&state, &c, &q, true).await
}

pub async fn flavor(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> NovaResult {
    let f = state.platter.flavor_get(&c.ctx, &id)?;
    Ok(Json(
        json!({"flavor": views::flavor(&state.urls.compute, c.ctx.project_id.as_str(), &f, true)}),
    )
    .into_response())
}

pub async fn flavor_extra_specs(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> NovaResult {
    let f = state.platter.flavor_get(&c.ctx, &id)?;
    Ok(Json(json!({"extra_specs": f.extra_specs})).into_response())
}

pub async fn limits(State(state): State<ApiState>, Extension(c): Extension<Caller>) -> NovaResult {
    let l = state
        .platter
        .compute_limits(&c.ctx, Action::ComputeLimitsGet)
        .await?;
    let mut absolute = views::absolute_limits(&l);
    if c.mv.at_least(2, 36) {
        if let Some(o) = absolute.as_object_mut() {
            for k in [
                "maxSecurityGroups",
                "maxSecurityGroupRules",
                "maxTotalFloatingIps",
                "totalSecurityGroupsUsed",
                "totalFloatingIpsUsed",
            ] {
                o.remove(k);
            }
        }
    }
    Ok(Json(json!({"limits": {"rate": [], "absolute": absolute}})).into_response())
}

/// `POST /v1.0/servers/{server_id}/action` `{"monitorMetrics": null}`:
/// registers the server for metrics (seed 003 §6.3.11); Platter records
/// nothing more, the server must exist.
pub async fn monitor_metrics(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<ServerId>,
    body: Bytes,
) -> NovaResult {
    let root = json_object(&body)?;
    if !root.contains_key("monitorMetrics") || root.len() != 1 {
        return Err(bad(
            "There is no such action: the body must be {\"monitorMetrics\": null}.",
        ));
    }
    state
        .platter
        .authorize(&c.ctx, Action::ServerMonitorMetrics)?;
    state.platter.server_find(&c.ctx, &id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Nova's `quota_set` of a project: the compute limits Platter enforces
/// (instances, cores, ram) and Nova's fixed defaults for the rest, with
/// the fields each microversion drops left out.
fn quota_set_view(id: &str, l: &platter_service::ComputeLimits, mv: super::Microversion) -> Value {
    let mut q = json!({
        "id": id,
        "instances": l.max_instances,
        "cores": l.max_cores,
        "ram": l.max_ram_mib,
        "key_pairs": 100,
        "metadata_items": 128,
        "server_groups": 10,
        "server_group_members": 10,
    });
    if let Some(o) = q.as_object_mut() {
        if !mv.at_least(2, 36) {
            for (k, v) in [
                ("fixed_ips", -1),
                ("floating_ips", 10),
                ("security_groups", 10),
                ("security_group_rules", 20),
            ] {
                o.insert(k.into(), json!(v));
            }
        }
        if !mv.at_least(2, 57) {
            for (k, v) in [
                ("injected_files", 5),
                ("injected_file_content_bytes", 10240),
                ("injected_file_path_bytes", 255),
            ] {
                o.insert(k.into(), json!(v));
            }
        }
    }
    q
}

pub async fn quota_set(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, project)): Path<(String, String)>,
) -> NovaResult {
    let l = state
        .platter
        .compute_quota(&c.ctx, &project.as_str().into(), Action::ComputeQuotaGet)
        .await?;
    Ok(Json(json!({"quota_set": quota_set_view(&project, &l, c.mv)})).into_response())
}

pub async fn quota_defaults(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, project)): Path<(String, String)>,
) -> NovaResult {
    let l = state.platter.compute_quota_defaults(&c.ctx)?;
    Ok(Json(json!({"quota_set": quota_set_view(&project, &l, c.mv)})).into_response())
}
