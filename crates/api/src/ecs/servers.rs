//! ECS `cloudservers` handlers and views.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{
    is_uuid, Action, AuthContext, ImageId, Job, JobId, JobParams, JobStatus, PowerAction, Server,
    ServerDisk, ServerId, ServerOrigin, VolumeId,
};
use platter_service::{
    BlockDevice, CreateRules, DiskSource, JobView, ServerCreate, MAX_SERVER_COUNT,
};
use serde_json::{json, Map, Value};

use super::{Caller, EcsError, EcsResult};
use crate::common::{group_type, job_time, job_type};
use crate::toolkit::body::{json_object, parse_bool, Obj};
use crate::ApiState;

fn illegal(m: impl std::fmt::Display) -> EcsError {
    EcsError::illegal(m)
}

fn object<'a>(
    o: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, EcsError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(illegal(format!("{key} must be an object."))),
    }
}

fn int(o: &Map<String, Value>, key: &str) -> Result<Option<i64>, EcsError> {
    Ok(Obj::new(o, key).opt_int(key)?)
}

fn flag(o: &Map<String, Value>, key: &str) -> Result<bool, EcsError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => parse_bool(v).ok_or_else(|| illegal(format!("{key} must be a boolean."))),
    }
}

fn text(o: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, EcsError> {
    Ok(Obj::new(o, key).opt_str(key, max)?)
}

/// ECS server names: letters (Chinese too), digits, `_`, `-`, `.`.
fn check_name(name: &str, max: usize) -> Result<(), EcsError> {
    let n = name.chars().count();
    if n == 0 || n > max {
        return Err(EcsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Ecs.0914",
            format!("The length of the ECS name exceeds the maximum allowed limit. {n} characters, at most {max}."),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(EcsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Ecs.0915",
            format!("The ECS name '{name}' has characters other than letters, digits, '_', '-' and '.'."),
        ));
    }
    Ok(())
}

fn disk(v: &Map<String, Value>, root: bool) -> Result<BlockDevice, EcsError> {
    let what = if root { "root_volume" } else { "data_volumes" };
    let volume_type = text(v, "volumetype", 64)?
        .ok_or_else(|| illegal(format!("{what}.volumetype is required.")))?;
    let size = int(v, "size")?.filter(|s| !(root && *s == 0));
    let (lo, hi) = if root { (1, 1024) } else { (10, 32768) };
    match size {
        Some(s) if s < lo || s > hi => {
            return Err(illegal(format!(
                "{what}.size must be within [{lo}, {hi}], not {s}."
            )))
        }
        None if !root => return Err(illegal("data_volumes.size is required.")),
        _ => {}
    }
    Ok(BlockDevice {
        source: DiskSource::Blank,
        boot_index: root.then_some(0),
        size_gib: size,
        volume_type: Some(volume_type),
        delete_on_termination: root || flag(v, "delete_on_termination")?,
        multiattach: flag(v, "multiattach")?,
    })
}

fn parse_create(body: &Bytes) -> Result<(ServerCreate, bool), EcsError> {
    let root = json_object(body)?;
    let dry_run = flag(&root, "dry_run")?;
    let s = object(&root, "server")?.ok_or_else(|| illegal("server is required."))?;
    let name = text(s, "name", 256)?.ok_or_else(|| illegal("server.name is required."))?;
    let count = int(s, "count")?.unwrap_or(1);
    if !(1..=MAX_SERVER_COUNT).contains(&count) {
        return Err(EcsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Ecs.0913",
            format!("The number of ECSs to be created exceeds the maximum allowed limit ({MAX_SERVER_COUNT})."),
        ));
    }
    check_name(&name, if count > 1 { 59 } else { 64 })?;
    let image = text(s, "imageRef", 64)?.ok_or_else(|| illegal("server.imageRef is required."))?;
    if !is_uuid(&image) {
        return Err(illegal(format!(
            "server.imageRef '{image}' is not an image id."
        )));
    }
    let flavor =
        text(s, "flavorRef", 128)?.ok_or_else(|| illegal("server.flavorRef is required."))?;
    let vpcid = text(s, "vpcid", 64)?.ok_or_else(|| illegal("server.vpcid is required."))?;
    let nics = match s.get("nics") {
        Some(Value::Array(n)) if !n.is_empty() && n.len() <= 12 => n.clone(),
        _ => return Err(illegal("server.nics must list 1 to 12 NICs.")),
    };
    for n in &nics {
        match n.get("subnet_id") {
            Some(Value::String(id)) if !id.is_empty() => {}
            _ => return Err(illegal("server.nics[].subnet_id is required.")),
        }
    }
    let root_volume =
        object(s, "root_volume")?.ok_or_else(|| illegal("server.root_volume is required."))?;
    let mut root_disk = disk(root_volume, true)?;
    root_disk.source = DiskSource::Image(ImageId::from(image.clone()));
    let mut block_devices = vec![root_disk];
    match s.get("data_volumes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > 23 {
                return Err(EcsError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "Ecs.0042",
                    "The number of data disks exceeds the maximum allowed (23).",
                ));
            }
            for item in items {
                let Value::Object(m) = item else {
                    return Err(illegal("server.data_volumes[] must be objects."));
                };
                block_devices.push(disk(m, false)?);
            }
        }
        Some(_) => return Err(illegal("server.data_volumes must be an array.")),
    }
    let description = text(s, "description", 85)?;
    if description
        .as_deref()
        .is_some_and(|d| d.contains(['<', '>']))
    {
        return Err(illegal("server.description may not contain '<' or '>'."));
    }
    let metadata = match s.get("metadata") {
        None | Some(Value::Null) => Default::default(),
        Some(v) => crate::toolkit::body::metadata("metadata", v)?,
    };
    if metadata.len() > 10 {
        return Err(illegal("server.metadata may hold at most 10 pairs."));
    }
    let network = json!({
        "vpcid": vpcid,
        "nics": nics,
        "security_groups": s.get("security_groups").cloned().unwrap_or(Value::Null),
        "publicip": s.get("publicip").cloned().unwrap_or(Value::Null),
    });
    Ok((
        ServerCreate {
            name,
            description,
            flavor_ref: flavor,
            image_ref: Some(ImageId::from(image)),
            block_devices,
            availability_zone: text(s, "availability_zone", 255)?,
            metadata,
            user_data: text(s, "user_data", 65535)?,
            key_name: text(s, "key_name", 255)?,
            min_count: count,
            max_count: count,
            origin: ServerOrigin::Ecs,
            network,
            rules: CreateRules::EVS,
        },
        dry_run,
    ))
}

pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EcsResult {
    let (req, dry_run) = parse_create(&body)?;
    if dry_run {
        return Ok((axum::http::StatusCode::ACCEPTED, Json(json!({}))).into_response());
    }
    let created = state
        .platter
        .server_create(&c.ctx, req, Action::EcsServerCreate)
        .await?;
    let ids: Vec<String> = created.servers.iter().map(|s| s.id.to_string()).collect();
    Ok(Json(json!({"job_id": created.job_id, "serverIds": ids})).into_response())
}

/// `[{"id": ...}]`, the servers of a batch.
fn server_ids(v: Option<&Value>) -> Result<Vec<ServerId>, EcsError> {
    let Some(Value::Array(items)) = v else {
        return Err(illegal("servers must be an array of {\"id\"}."));
    };
    if items.len() > 1000 {
        return Err(EcsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Ecs.0118",
            "The number of ECSs exceeds the maximum allowed limit.",
        ));
    }
    items
        .iter()
        .map(|i| match i.get("id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(ServerId::from(id.as_str())),
            _ => Err(illegal("servers[].id is required.")),
        })
        .collect()
}

pub async fn delete_batch(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EcsResult {
    let root = json_object(&body)?;
    let ids = server_ids(root.get("servers"))?;
    let delete_volume = flag(&root, "delete_volume")?;
    flag(&root, "delete_publicip")?;
    let job = state
        .platter
        .server_delete_batch(&c.ctx, &ids, delete_volume)
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}

pub async fn action_batch(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EcsResult {
    let root = json_object(&body)?;
    if root.len() != 1 {
        return Err(illegal(
            "the body holds exactly one of os-start, os-stop, reboot.",
        ));
    }
    let Some((name, arg)) = root.iter().next() else {
        return Err(illegal("an action is required."));
    };
    let Value::Object(arg) = arg else {
        return Err(illegal(format!("{name} must be an object.")));
    };
    let kind = |required: bool| -> Result<Option<String>, EcsError> {
        match arg.get("type") {
            Some(Value::String(t)) if t == "SOFT" || t == "HARD" => Ok(Some(t.clone())),
            None | Some(Value::Null) if !required => Ok(None),
            other => Err(illegal(format!(
                "type must be SOFT or HARD, not {other:?}."
            ))),
        }
    };
    let (action, act) = match name.as_str() {
        "os-start" => (PowerAction::Start, Action::EcsServerStart),
        "os-stop" => {
            kind(false)?;
            (PowerAction::Stop, Action::EcsServerStop)
        }
        "reboot" => match kind(true)?.as_deref() {
            Some("HARD") => (PowerAction::HardReboot, Action::EcsServerReboot),
            _ => (PowerAction::SoftReboot, Action::EcsServerReboot),
        },
        other => return Err(illegal(format!("unknown action {other}."))),
    };
    let ids = server_ids(arg.get("servers"))?;
    let job = state
        .platter
        .server_power_batch(&c.ctx, &ids, action, act)
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}

pub async fn attach(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> EcsResult {
    let root = json_object(&body)?;
    let dry_run = flag(&root, "dry_run")?;
    let a = object(&root, "volumeAttachment")?
        .ok_or_else(|| illegal("volumeAttachment is required."))?;
    let volume = text(a, "volumeId", 64)?
        .ok_or_else(|| illegal("volumeAttachment.volumeId is required."))?;
    if !is_uuid(&volume) {
        return Err(illegal(format!(
            "volumeAttachment.volumeId '{volume}' is not a volume id."
        )));
    }
    // KVM servers: `/dev/sd*` names are rewritten to `/dev/vd*`.
    let device = text(a, "device", 32)?.map(|d| d.replacen("/dev/sd", "/dev/vd", 1));
    if dry_run {
        let s = state.platter.server_find(&c.ctx, &id).await?;
        state
            .platter
            .volume_get(&c.ctx, &VolumeId::from(volume.as_str()))
            .await?;
        if s.disks.iter().any(|d| d.volume_id.as_str() == volume) {
            return Err(EcsError::from(platter_model::DomainError::volume_state(
                "The volume is already attached to the server.",
            )));
        }
        return Ok((axum::http::StatusCode::ACCEPTED, Json(json!({}))).into_response());
    }
    let (_, job) = state
        .platter
        .server_attach_volume(
            &c.ctx,
            &id,
            &VolumeId::from(volume),
            device.as_deref(),
            Action::EcsServerAttach,
        )
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}

pub async fn detach(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id, volume)): Path<(String, ServerId, VolumeId)>,
    Query(q): Query<HashMap<String, String>>,
) -> EcsResult {
    let force = match q.get("delete_flag").map(String::as_str) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => return Err(illegal(format!("delete_flag must be 0 or 1, not {other}."))),
    };
    let job = state
        .platter
        .server_detach_volume(&c.ctx, &id, &volume, force, Action::EcsServerDetach)
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}

/// One block device: ints for `size` and `bootIndex`, as the SDK reads
/// them; the PCI slot follows the device letter.
async fn block_device_view(
    state: &ApiState,
    ctx: &AuthContext,
    s: &Server,
    d: &ServerDisk,
) -> Value {
    let size = state
        .platter
        .volume_get(ctx, &d.volume_id)
        .await
        .map(|v| v.size)
        .unwrap_or(0);
    let slot = d
        .device
        .bytes()
        .last()
        .map_or(0, |b| b.saturating_sub(b'a') as u32)
        + 4;
    json!({
        "serverId": s.id,
        "volumeId": d.volume_id,
        "id": d.volume_id,
        "size": size,
        "device": d.device,
        "pciAddress": format!("0000:00:{slot:02x}.0"),
        "bootIndex": d.boot_index.unwrap_or(-1),
        "bus": "virtio",
    })
}

async fn list_devices(state: &ApiState, c: &Caller, id: &ServerId) -> EcsResult {
    let s = state.platter.server_find(&c.ctx, id).await?;
    let mut items = Vec::with_capacity(s.disks.len());
    for d in &s.disks {
        items.push(block_device_view(state, &c.ctx, &s, d).await);
    }
    let free = 24 - s.disks.len() as i64;
    Ok(Json(json!({
        "attachableQuantity": {"free_scsi": 0, "free_blk": free, "free_disk": free},
        "volumeAttachments": items,
    }))
    .into_response())
}

async fn show_device(state: &ApiState, c: &Caller, id: &ServerId, volume: &VolumeId) -> EcsResult {
    let s = state.platter.server_find(&c.ctx, id).await?;
    let d = s
        .disks
        .iter()
        .find(|d| &d.volume_id == volume)
        .ok_or_else(|| platter_model::DomainError::not_found("Volume attachment", volume))?;
    Ok(
        Json(json!({"volumeAttachment": block_device_view(state, &c.ctx, &s, d).await}))
            .into_response(),
    )
}

pub async fn block_devices(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
) -> EcsResult {
    list_devices(&state, &c, &id).await
}

pub async fn block_device(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id, volume)): Path<(String, ServerId, VolumeId)>,
) -> EcsResult {
    show_device(&state, &c, &id, &volume).await
}

pub async fn block_devices_unscoped(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<ServerId>,
) -> EcsResult {
    list_devices(&state, &c, &id).await
}

pub async fn block_device_unscoped(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, volume)): Path<(ServerId, VolumeId)>,
) -> EcsResult {
    show_device(&state, &c, &id, &volume).await
}

pub async fn flavors(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> EcsResult {
    if let Some(az) = q.get("availability_zone") {
        if !state.platter.config().availability_zones.contains(az) {
            return Ok(Json(json!({"flavors": []})).into_response());
        }
    }
    let base = &state.urls.compute;
    let project = c.ctx.project_id.as_str();
    let items: Vec<Value> = state
        .platter
        .flavor_list_as(&c.ctx, platter_model::Action::EcsFlavorList)?
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "name": f.name,
                "vcpus": f.vcpus.to_string(),
                "ram": f.ram_mib,
                "disk": "0",
                "swap": "",
                "OS-FLV-EXT-DATA:ephemeral": 0,
                "OS-FLV-DISABLED:disabled": false,
                "rxtx_factor": 1.0,
                "rxtx_quota": Value::Null,
                "rxtx_cap": Value::Null,
                "os-flavor-access:is_public": true,
                "links": [
                    {"rel": "self", "href": format!("{base}/v1/{project}/flavors/{}", f.id), "type": Value::Null},
                    {"rel": "bookmark", "href": format!("{base}/{project}/flavors/{}", f.id), "type": Value::Null},
                ],
                "os_extra_specs": f.extra_specs,
            })
        })
        .collect();
    Ok(Json(json!({"flavors": items})).into_response())
}

pub async fn limits(State(state): State<ApiState>, Extension(c): Extension<Caller>) -> EcsResult {
    let l = state
        .platter
        .compute_limits(&c.ctx, Action::EcsLimitsGet)
        .await?;
    Ok(Json(json!({"absolute": crate::nova::views::absolute_limits(&l)})).into_response())
}

fn status(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Init => "INIT",
        JobStatus::Running => "RUNNING",
        JobStatus::Success => "SUCCESS",
        JobStatus::Fail => "FAIL",
    }
}

/// What a job is about: its server (or the disk and its server).
fn entities(job: &Job) -> Value {
    let mut e = Map::new();
    if job.kind.on_server() {
        e.insert("server_id".into(), json!(job.resource_id));
    } else {
        e.insert("volume_id".into(), json!(job.resource_id));
    }
    if let JobParams::ServerAttachVolume(p) | JobParams::ServerDetachVolume(p) = &job.params {
        e.insert("volume_id".into(), json!(p.volume_id));
    }
    if let (JobStatus::Fail, Some(err)) = (job.status, &job.error) {
        e.insert("errorcode_message".into(), json!(err));
    }
    Value::Object(e)
}

fn error_code(job: &Job) -> Value {
    match job.status {
        JobStatus::Fail => json!(match job.kind {
            platter_model::JobKind::ServerCreate => "Ecs.0204",
            platter_model::JobKind::ServerDelete => "Ecs.0501",
            platter_model::JobKind::ServerAttachVolume => "Ecs.0205",
            platter_model::JobKind::ServerPower => "Ecs.0226",
            _ => "Common.0020",
        }),
        _ => Value::Null,
    }
}

fn job_fields(job: &Job) -> Value {
    json!({
        "status": status(job.status),
        "entities": entities(job),
        "job_id": job.id,
        "job_type": job_type(job.kind),
        "begin_time": job_time(job.begin_at.or(Some(job.created_at))),
        "end_time": job_time(job.end_at),
        "error_code": error_code(job),
        "fail_reason": match job.status {
            JobStatus::Fail => json!(job.error),
            _ => Value::Null,
        },
    })
}

pub async fn job(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, JobId)>,
) -> EcsResult {
    let view = state
        .platter
        .job_view_as(&c.ctx, &id, platter_model::Action::EcsJobGet)
        .await?;
    let body = match view {
        JobView::Single(job) => job_fields(&job),
        JobView::Group(group, members) => {
            let st = platter_model::JobGroup::status_of(&members);
            let begin = members.iter().filter_map(|m| m.begin_at).min();
            let end = match st {
                JobStatus::Success | JobStatus::Fail => {
                    members.iter().filter_map(|m| m.end_at).max()
                }
                _ => None,
            };
            let failed = members.iter().find(|m| m.status == JobStatus::Fail);
            let subs: Vec<Value> = members.iter().map(job_fields).collect();
            json!({
                "status": status(st),
                "entities": {"sub_jobs_total": subs.len(), "sub_jobs": subs},
                "job_id": group.id,
                "job_type": group_type(group.kind),
                "begin_time": job_time(begin.or(Some(group.created_at))),
                "end_time": job_time(end),
                "error_code": failed.map_or(Value::Null, error_code),
                "fail_reason": failed.map_or(Value::Null, |f| json!(f.error)),
            })
        }
    };
    Ok(Json(body).into_response())
}

/// ECS resize (§5.2.4): a stopped server gets a new flavor, confirmed as
/// the job ends.
pub async fn resize(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> EcsResult {
    let root = json_object(&body)?;
    let dry_run = flag(&root, "dry_run")?;
    let r = object(&root, "resize")?.ok_or_else(|| illegal("resize is required."))?;
    let flavor =
        text(r, "flavorRef", 128)?.ok_or_else(|| illegal("resize.flavorRef is required."))?;
    let s = state.platter.server_find(&c.ctx, &id).await?;
    if s.flavor.id == flavor {
        return Err(EcsError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Ecs.0810",
            "The ECS flavor is the same as the target flavor.",
        ));
    }
    if dry_run {
        state.platter.flavor_lookup(&flavor)?;
        return Ok((axum::http::StatusCode::ACCEPTED, Json(json!({}))).into_response());
    }
    let job = state
        .platter
        .server_resize(&c.ctx, &id, &flavor, true, Action::EcsServerResize)
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}

/// ECS cold migration (§5.2.3) moves servers between dedicated hosts;
/// Platter has none, so a request is checked and refused: a host named
/// does not exist, and a server is never on one to move off.
pub async fn migrate(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> EcsResult {
    let root = json_object(&body)?;
    if !root.contains_key("migrate") {
        return Err(illegal("migrate is required."));
    }
    let host = match root.get("migrate") {
        Some(Value::Null) => None,
        Some(Value::Object(m)) => text(m, "dedicated_host_id", 64)?,
        _ => return Err(illegal("migrate must be an object or null.")),
    };
    let s = state.platter.server_find(&c.ctx, &id).await?;
    if s.status() != "SHUTOFF" {
        return Err(EcsError::from(platter_model::DomainError::server_state(
            format!(
                "Instance {id} must be stopped to migrate; it is {}.",
                s.status()
            ),
        )));
    }
    Err(match host {
        Some(h) => illegal(format!("dedicated host {h} does not exist.")),
        None => EcsError::from(platter_model::DomainError::server_state(format!(
            "Instance {id} is not on a dedicated host."
        ))),
    })
}

/// The body of a reinstall (`os-reinstall`) or change of OS
/// (`os-change`): its fields checked; the image of a change.
fn os_body(body: &Bytes, key: &str, needs_image: bool) -> Result<Option<ImageId>, EcsError> {
    let root = json_object(body)?;
    let o = object(&root, key)?.ok_or_else(|| illegal(format!("{key} is required.")))?;
    for k in ["keyname", "userid", "adminpass", "mode"] {
        text(o, k, 255)?;
    }
    if let Some(m) = object(o, "metadata")? {
        text(m, "user_data", 65535)?;
    }
    if !needs_image {
        return Ok(None);
    }
    let image =
        text(o, "imageid", 64)?.ok_or_else(|| illegal(format!("{key}.imageid is required.")))?;
    if !is_uuid(&image) {
        return Err(illegal(format!(
            "{key}.imageid '{image}' is not an image id."
        )));
    }
    Ok(Some(ImageId::from(image)))
}

/// ECS reinstall (§5.2.1): the root volume rewritten from the server's
/// own image; the server must be stopped (or a reinstall failed before).
pub async fn reinstall(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> EcsResult {
    os_body(&body, "os-reinstall", false)?;
    let (_, job) = state
        .platter
        .server_rebuild(&c.ctx, &id, None, None, true, Action::EcsServerReinstall)
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}

/// ECS change of OS (§5.2.2): the root volume rewritten from a new image.
pub async fn change_os(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, ServerId)>,
    body: Bytes,
) -> EcsResult {
    let image = os_body(&body, "os-change", true)?;
    let (_, job) = state
        .platter
        .server_rebuild(&c.ctx, &id, image, None, true, Action::EcsServerChangeOs)
        .await?;
    Ok(Json(json!({"job_id": job})).into_response())
}
