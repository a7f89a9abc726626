//! `/volumes`: create, list, show, update, delete, actions and metadata.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{
    AttachMode, AttachmentId, BackupId, GroupId, ImageId, ImageVisibility, ProjectId, SnapshotId,
    VolumeId, VolumeStatus,
};
use platter_service::{VolumeCreate, VolumeListRequest, VolumeToImage, VolumeUpdate};
use serde_json::{json, Map, Value};

use super::params::ListQuery;
use super::views::VolumeView;
use super::{views, Caller, CinderResult};
use crate::cinder::CinderError;
use crate::toolkit::body::{json_object, InputError, InputResult, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

/// Longest volume name and description (EVS limits for the Cinder API).
pub const NAME_MAX: usize = 64;
pub const DESCRIPTION_MAX: usize = 85;

type IdPath = Path<(String, VolumeId)>;

pub(super) fn check_uuid(field: &str, v: &str) -> InputResult<()> {
    if uuid::Uuid::parse_str(v).is_ok() {
        Ok(())
    } else {
        Err(InputError(format!(
            "Invalid input for field/attribute {field}. Value: {v}. '{v}' is not a 'uuid'"
        )))
    }
}

/// A field an update may set, clear (`Some(None)`) or leave alone (`None`).
pub(super) type Settable = Option<Option<String>>;

/// `name` wins over its `display_name` alias, `description` over `display_description`.
pub(super) fn name_and_description(o: &Obj) -> InputResult<(Settable, Settable)> {
    let name = match o.opt_nullable_str("name", NAME_MAX)? {
        Some(n) => Some(n),
        None => o.opt_nullable_str("display_name", NAME_MAX)?,
    };
    let description = match o.opt_nullable_str("description", DESCRIPTION_MAX)? {
        Some(d) => Some(d),
        None => o.opt_nullable_str("display_description", DESCRIPTION_MAX)?,
    };
    Ok((name, description))
}

/// A create's `volume` object; `group_id` is read from 3.13 (generic
/// volume groups).
fn parse_create(c: &Caller, body: &Map<String, Value>) -> Result<VolumeCreate, CinderError> {
    Obj::new(body, "body").deny_unknown(&["volume", "OS-SCH-HNT:scheduler_hints"])?;
    let v = Obj::child(body, "volume")?;
    let (name, description) = name_and_description(&v)?;
    let size = v.opt_int("size")?;
    if let Some(s) = size {
        if s < 1 {
            return Err(CinderError::bad_request(format!(
                "Invalid input for field/attribute size. Value: {s}. {s} is less than the minimum of 1"
            )));
        }
    }
    let snapshot_id = v.opt_str("snapshot_id", 36)?;
    if let Some(s) = &snapshot_id {
        check_uuid("snapshot_id", s)?;
    }
    let source_volid = v.opt_str("source_volid", 36)?;
    if let Some(s) = &source_volid {
        check_uuid("source_volid", s)?;
    }
    let group_id = if c.api.at_least(13) {
        v.opt_str("group_id", 36)?
    } else {
        None
    };
    if let Some(g) = &group_id {
        check_uuid("group_id", g)?;
    }
    let image_ref = match (v.opt_str("imageRef", 255)?, v.opt_str("image_id", 255)?) {
        (Some(a), Some(b)) if a != b => {
            return Err(CinderError::bad_request(
                "Invalid input received: imageRef and image_id name different images.",
            ))
        }
        (a, b) => a.or(b),
    };
    // Upstream reads backup_id from 3.47 and ignores it before.
    let backup_id = if c.api.at_least(47) {
        v.opt_str("backup_id", 36)?
    } else {
        None
    };
    if let Some(b) = &backup_id {
        check_uuid("backup_id", b)?;
    }
    for unsupported in ["source_replica", "consistencygroup_id", "group_id"] {
        if unsupported == "group_id" && c.api.at_least(13) {
            continue;
        }
        if v.get(unsupported).is_some_and(|x| !x.is_null()) {
            return Err(CinderError::bad_request(format!(
                "Invalid input received: creating a volume with '{unsupported}' is not supported by this service."
            )));
        }
    }
    let sources = [
        snapshot_id.is_some(),
        source_volid.is_some(),
        image_ref.is_some(),
        backup_id.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if sources > 1 {
        return Err(CinderError::bad_request(
            "Invalid input received: snapshot_id, source_volid, imageRef and backup_id are mutually exclusive.",
        ));
    }
    Ok(VolumeCreate {
        name: name.flatten(),
        description: description.flatten(),
        size,
        volume_type: v.opt_str("volume_type", 255)?,
        availability_zone: v.opt_str("availability_zone", 255)?,
        snapshot_id: snapshot_id.map(SnapshotId::from),
        source_volid: source_volid.map(VolumeId::from),
        metadata: v.opt_metadata("metadata")?.unwrap_or_default(),
        multiattach: v.opt_bool("multiattach")?.unwrap_or(false),
        iops: v.opt_int("iops")?,
        throughput: v.opt_int("throughput")?,
        group_id: group_id.map(GroupId::from),
        image_id: image_ref.map(ImageId::from),
        backup_id: backup_id.map(BackupId::from),
        ..Default::default()
    })
}

/// `POST /volumes` → 202 with the volume in `creating`.
pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let req = parse_create(&c, &json_object(&body)?)?;
    let volume = state.platter.volume_create(&c.ctx, req).await?;
    let body = json!({ "volume": views::volume_detail(&state, c.api, &volume, c.ctx.is_admin(), VolumeView::Written) });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn list_request(c: &Caller, q: &ListQuery) -> Result<VolumeListRequest, CinderError> {
    let bootable = match q.get("bootable") {
        None => None,
        Some(b) => Some(crate::toolkit::body::parse_bool_str(b).ok_or_else(|| {
            CinderError::bad_request(format!("Invalid value '{b}' for bootable filter."))
        })?),
    };
    Ok(VolumeListRequest {
        all_tenants: q.flag("all_tenants")? && c.ctx.is_admin(),
        project_id: q.get("project_id").map(ProjectId::from),
        name: q.get("name").or(q.get("display_name")).map(str::to_string),
        status: q.get("status").map(str::to_string),
        availability_zone: q.get("availability_zone").map(str::to_string),
        bootable,
        metadata: q.metadata()?,
        group_id: q
            .get("group_id")
            .filter(|_| c.api.at_least(13))
            .map(GroupId::from),
        page: q.page(false)?,
        ..Default::default()
    })
}

async fn list_common(state: ApiState, c: Caller, q: ListQuery, detail: bool) -> CinderResult {
    let req = list_request(&c, &q)?;
    let page = req.page.clone();
    let vols = state.platter.volume_list(&c.ctx, req).await?;
    let items: Vec<Value> = vols
        .iter()
        .map(|v| {
            if detail {
                views::volume_detail(&state, c.api, v, c.ctx.is_admin(), VolumeView::Shown)
            } else {
                views::volume_summary(&state, c.api, v)
            }
        })
        .collect();
    let mut body = json!({ "volumes": items });
    let path = if detail { "volumes/detail" } else { "volumes" };
    let base = format!(
        "{}/{}/{}/{path}",
        state.urls.block_storage,
        c.api.prefix(),
        c.ctx.project_id
    );
    if let Some(links) = q.next_links(&base, &page, vols.len(), vols.last().map(|v| v.id.as_str()))
    {
        body["volumes_links"] = links;
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

/// `GET /volumes/summary` (3.12; `metadata` from 3.36).
pub async fn summary(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    if !c.api.at_least(12) {
        return Err(CinderError::not_found("The resource could not be found."));
    }
    let q = ListQuery { pairs };
    let all_tenants = q.flag("all_tenants")? && c.ctx.is_admin();
    let s = state.platter.volume_summary(&c.ctx, all_tenants).await?;
    let mut body = json!({ "total_size": s.total_size, "total_count": s.count });
    if c.api.at_least(36) {
        body["metadata"] = json!(s.metadata);
    }
    Ok(Json(json!({ "volume-summary": body })).into_response())
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    let v = state.platter.volume_get(&c.ctx, &id).await?;
    Ok(Json(json!({ "volume": views::volume_detail(&state, c.api, &v, c.ctx.is_admin(), VolumeView::Shown) })).into_response())
}

/// `PUT /volumes/{id}`: name, description (and their display_ aliases), metadata.
pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["volume"])?;
    let v = Obj::child(&map, "volume")?;
    v.deny_unknown(&[
        "name",
        "description",
        "display_name",
        "display_description",
        "metadata",
    ])?;
    let (name, description) = name_and_description(&v)?;
    let update = VolumeUpdate {
        name,
        description,
        metadata: v.opt_metadata("metadata")?,
        ..Default::default()
    };
    let volume = state.platter.volume_update(&c.ctx, &id, update).await?;
    Ok(Json(json!({ "volume": views::volume_detail(&state, c.api, &volume, c.ctx.is_admin(), VolumeView::Written) })).into_response())
}

#[derive(serde::Deserialize)]
pub struct DeleteQuery {
    cascade: Option<String>,
    force: Option<String>,
}

/// `DELETE /volumes/{id}[?cascade=true]` → 202.
pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    Query(q): Query<DeleteQuery>,
) -> CinderResult {
    let flag = |v: &Option<String>, name: &str| -> Result<bool, CinderError> {
        match v {
            None => Ok(false),
            Some(s) => crate::toolkit::body::parse_bool_str(s).ok_or_else(|| {
                CinderError::bad_request(format!(
                    "Invalid value '{s}' for {name}: expected a boolean."
                ))
            }),
        }
    };
    let cascade = flag(&q.cascade, "cascade")?;
    if flag(&q.force, "force")? && !c.ctx.is_admin() {
        return Err(CinderError::new(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow volume:force_delete to be performed.",
        ));
    }
    state.platter.volume_delete(&c.ctx, &id, cascade).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// The single action of an action body: `{"os-extend": {...}}`.
pub(super) fn single_action(map: &Map<String, Value>) -> Result<(&str, &Value), CinderError> {
    let mut it = map.iter();
    match (it.next(), it.next()) {
        (Some((name, value)), None) => Ok((name.as_str(), value)),
        (None, _) => Err(CinderError::bad_request(
            "Invalid input received: the action body is empty.",
        )),
        _ => Err(CinderError::bad_request(
            "Invalid input received: an action body must contain exactly one action.",
        )),
    }
}

pub(super) fn action_object<'a>(name: &'a str, value: &'a Value) -> Result<Obj<'a>, CinderError> {
    match value {
        Value::Object(m) => Ok(Obj::new(m, name)),
        other => Err(CinderError::bad_request(format!(
            "Invalid input for field/attribute {name}. Value: {other}. {other} is not of type 'object'"
        ))),
    }
}

/// `POST /volumes/{id}/action`.
pub async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let (name, value) = single_action(&map)?;
    match name {
        "os-extend" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["new_size"])?;
            o.require("new_size")?;
            let new_size = o.opt_int("new_size")?.ok_or_else(|| {
                CinderError::bad_request("Invalid input for field/attribute new_size. Value: None. None is not of type 'integer'")
            })?;
            if new_size < 1 {
                return Err(CinderError::bad_request(format!(
                    "Invalid input for field/attribute new_size. Value: {new_size}. {new_size} is less than the minimum of 1"
                )));
            }
            if c.api.at_least(42) {
                state
                    .platter
                    .volume_extend_online(&c.ctx, &id, new_size)
                    .await?;
            } else {
                state.platter.volume_extend(&c.ctx, &id, new_size).await?;
            }
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-retype" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["new_type", "migration_policy"])?;
            let new_type = o.req_str("new_type", 255)?;
            let migrate = match o.opt_str("migration_policy", 16)?.as_deref() {
                None | Some("never") => false,
                Some("on-demand") => true,
                Some(other) => {
                    return Err(CinderError::bad_request(format!(
                        "Invalid input received: migration_policy must be 'never' or 'on-demand', not '{other}'."
                    )))
                }
            };
            state
                .platter
                .volume_retype_any(&c.ctx, &id, &new_type, migrate)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "revert" if c.api.at_least(40) => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["snapshot_id"])?;
            let snapshot_id = SnapshotId::from(o.req_str("snapshot_id", 255)?);
            state
                .platter
                .volume_revert(&c.ctx, &id, &snapshot_id)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-set_image_metadata" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["metadata"])?;
            let m = crate::toolkit::body::metadata("metadata", o.require("metadata")?)?;
            let all = state
                .platter
                .volume_image_metadata_set(&c.ctx, &id, &m)
                .await?;
            Ok(Json(json!({ "metadata": all })).into_response())
        }
        "os-unset_image_metadata" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["key"])?;
            let key = o.req_str("key", 255)?;
            state
                .platter
                .volume_image_metadata_unset(&c.ctx, &id, &key)
                .await?;
            Ok(empty(StatusCode::OK))
        }
        "os-show_image_metadata" => {
            action_object(name, value)?.deny_unknown(&[])?;
            let m = state.platter.volume_image_metadata(&c.ctx, &id).await?;
            Ok(Json(json!({ "metadata": m })).into_response())
        }
        "os-migrate_volume" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["host", "force_host_copy", "lock_volume", "cluster"])?;
            let host = o.req_str("host", 255)?;
            o.opt_bool("force_host_copy")?;
            o.opt_bool("lock_volume")?;
            state.platter.volume_migrate(&c.ctx, &id, &host).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-volume_upload_image" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&[
                "force",
                "image_name",
                "disk_format",
                "container_format",
                "visibility",
                "protected",
            ])?;
            let force = o.opt_bool("force")?.unwrap_or(false);
            let image_name = o.opt_str("image_name", 255)?;
            let disk_format = o
                .opt_str("disk_format", 16)?
                .unwrap_or_else(|| "raw".into());
            let disk_format = disk_format.parse().map_err(|_| {
                CinderError::bad_request(format!(
                    "Invalid input received: Invalid disk-format '{disk_format}' is specified. Allowed disk-formats are raw, qcow2, vmdk, vhd, vhdx, iso."
                ))
            })?;
            let container_format = o
                .opt_str("container_format", 16)?
                .unwrap_or_else(|| "bare".into());
            if container_format != "bare" {
                return Err(CinderError::bad_request(format!(
                    "Invalid input received: Invalid container format '{container_format}': only bare is supported."
                )));
            }
            let (visibility, protected) = if c.api.at_least(1) {
                let v = match o.opt_str("visibility", 16)?.as_deref() {
                    None | Some("private") => ImageVisibility::Private,
                    Some(other) => other.parse().map_err(|_| {
                        CinderError::bad_request(format!(
                            "Invalid input received: Invalid visibility '{other}'."
                        ))
                    })?,
                };
                (v, o.opt_bool("protected")?.unwrap_or(false))
            } else {
                (ImageVisibility::Shared, false)
            };
            let req = VolumeToImage {
                force,
                image_name,
                disk_format,
                container_format,
                visibility,
                protected,
            };
            let (v, image, _) = state.platter.volume_upload_image(&c.ctx, &id, req).await?;
            let mut out = json!({
                "id": v.id,
                "updated_at": v.updated_at,
                "status": views::volume_status(v.status),
                "display_description": v.description,
                "size": v.size,
                "volume_type": {
                    "id": v.volume_type_id,
                    "name": v.volume_type_name,
                    "description": null,
                    "is_public": true,
                    "extra_specs": {},
                    "qos_specs_id": null,
                    "deleted": false,
                    "deleted_at": null,
                },
                "image_id": image.id,
                "container_format": image.container_format,
                "disk_format": image.disk_format.map(|f| f.as_str()),
                "image_name": image.name,
            });
            if c.api.at_least(1) {
                out["visibility"] = json!(image.visibility.as_str());
                out["protected"] = json!(image.protected);
            }
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({ "os-volume_upload_image": out })),
            )
                .into_response())
        }
        "os-migrate_volume_completion" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["new_volume", "error"])?;
            let new_volume = o.req_str("new_volume", 255)?;
            let error = o.opt_bool("error")?.unwrap_or(false);
            let keep = state
                .platter
                .volume_migrate_completion(&c.ctx, &id, &new_volume.as_str().into(), error)
                .await?;
            Ok(Json(json!({ "save_volume_id": keep })).into_response())
        }
        // Replication v1 (admin): the value is not read, as upstream
        // (clients send `null`).
        "os-promote-replica" => {
            state.platter.volume_promote_replica(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-reenable-replica" => {
            state.platter.volume_reenable_replica(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-reset_status" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["status", "attach_status", "migration_status"])?;
            let status = match o.opt_str("status", 255)? {
                Some(s) => s.parse::<VolumeStatus>().map_err(|_| {
                    CinderError::bad_request(format!(
                        "Invalid input received: '{s}' is not a valid volume status."
                    ))
                })?,
                None => state.platter.volume_get(&c.ctx, &id).await?.status,
            };
            state
                .platter
                .volume_reset_status(&c.ctx, &id, status)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-set_bootable" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["bootable"])?;
            o.require("bootable")?;
            let bootable = o.opt_bool("bootable")?.unwrap_or(false);
            state
                .platter
                .volume_set_bootable(&c.ctx, &id, bootable)
                .await?;
            Ok(empty(StatusCode::OK))
        }
        "os-update_readonly_flag" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["readonly"])?;
            o.require("readonly")?;
            let readonly = o.opt_bool("readonly")?.unwrap_or(false);
            state
                .platter
                .volume_set_readonly(&c.ctx, &id, readonly)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-reserve" => {
            state.platter.volume_reserve(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-unreserve" => {
            state.platter.volume_unreserve(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-initialize_connection" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["connector"])?;
            let connector = match o.require("connector")? {
                v @ Value::Object(_) => v.clone(),
                other => {
                    return Err(CinderError::bad_request(format!(
                        "Invalid input for field/attribute connector. Value: {other}. {other} is not of type 'object'"
                    )))
                }
            };
            let ci = state
                .platter
                .volume_initialize_connection(&c.ctx, &id, connector)
                .await?;
            Ok(Json(json!({ "connection_info": views::connection_info(&ci) })).into_response())
        }
        "os-terminate_connection" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["connector"])?;
            let connector = o.require("connector")?.clone();
            state
                .platter
                .volume_terminate_connection(&c.ctx, &id, &connector)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-attach" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["instance_uuid", "mountpoint", "host_name", "mode"])?;
            let instance = o.req_str("instance_uuid", 36)?;
            let mountpoint = o.req_str("mountpoint", 255)?;
            let host_name = o.opt_str("host_name", 255)?;
            let mode = match o.opt_str("mode", 8)?.as_deref() {
                None | Some("rw") => AttachMode::ReadWrite,
                Some("ro") => AttachMode::ReadOnly,
                Some(other) => {
                    return Err(CinderError::bad_request(format!(
                        "Invalid input received: attach mode must be 'rw' or 'ro', not '{other}'."
                    )))
                }
            };
            state
                .platter
                .volume_attach(&c.ctx, &id, instance, mountpoint, host_name, mode)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-detach" => {
            let attachment_id = match value {
                Value::Null => None,
                _ => {
                    let o = action_object(name, value)?;
                    o.deny_unknown(&["attachment_id"])?;
                    o.opt_str("attachment_id", 36)?.map(AttachmentId::from)
                }
            };
            state
                .platter
                .volume_detach(&c.ctx, &id, attachment_id.as_ref())
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-begin_detaching" | "os-roll_detaching" => {
            state
                .platter
                .volume_begin_detaching(&c.ctx, &id, name == "os-begin_detaching")
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-unmanage" => {
            if !value.is_null() {
                action_object(name, value)?.deny_unknown(&[])?;
            }
            state.platter.volume_unmanage(&c.ctx, &id).await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "os-force_detach" => {
            let (attachment_id, connector) = match value {
                Value::Null => (None, None),
                _ => {
                    let o = action_object(name, value)?;
                    o.deny_unknown(&["attachment_id", "connector"])?;
                    (
                        o.opt_str("attachment_id", 36)?.map(AttachmentId::from),
                        o.get("connector").filter(|c| c.is_object()).cloned(),
                    )
                }
            };
            state
                .platter
                .volume_force_detach(&c.ctx, &id, attachment_id, connector)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        other => {
            // Make sure the volume exists before saying the action does not.
            state.platter.volume_get(&c.ctx, &id).await?;
            Err(CinderError::bad_request(format!(
                "There is no such action: {other}"
            )))
        }
    }
}
