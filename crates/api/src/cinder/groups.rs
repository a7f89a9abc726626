//! Generic volume groups (3.13+) and group snapshots (3.14+): create,
//! list, show, update, the `/action`s (`delete`, `reset_status` 3.20,
//! `create-from-src` 3.14), and upstream's views per microversion.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json};
use platter_model::{
    Group, GroupId, GroupSnapshot, GroupSnapshotId, GroupSnapshotStatus, GroupStatus, GroupTypeId,
    SortKey, VolumeId,
};
use platter_service::{
    GroupChange, GroupCreate, GroupFromSource, GroupListRequest, GroupSnapshotCreate,
    GroupSnapshotListRequest,
};
use serde_json::{json, Map, Value};

use super::params::{check_sort, ListQuery};
use super::versions::check_version;
use super::volumes::{action_object, check_uuid, single_action};
use super::{Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, parse_bool, Obj};
use crate::toolkit::normalize::empty;
use crate::toolkit::routes::{Gate, Routes};
use crate::ApiState;

type IdPath = Path<(String, String)>;

/// Groups from 3.13, group snapshots and creating from a source from 3.14,
/// resetting a group snapshot's status from 3.19, a group's from 3.20, the
/// member list of a group from 3.25.
const GROUPS: u16 = 13;
const GROUP_SNAPSHOTS: u16 = 14;
const GROUP_SNAPSHOT_RESET: u16 = 19;
const GROUP_RESET: u16 = 20;
const GROUP_VOLUME_LIST: u16 = 25;
const GROUP_REPLICATION: u16 = 38;
const GROUP_SNAPSHOT_PROJECT: u16 = 58;

const GROUP_SORT: &[SortKey] = &[
    SortKey::Id,
    SortKey::Name,
    SortKey::Status,
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::AvailabilityZone,
    SortKey::ProjectId,
];
const GROUP_SNAPSHOT_SORT: &[SortKey] = &[
    SortKey::Id,
    SortKey::Name,
    SortKey::Status,
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::ProjectId,
];

// ---- views

fn summary(g: &Group) -> Value {
    json!({ "id": g.id, "name": g.name })
}

fn detail(c: &Caller, q: Option<&ListQuery>, g: &Group) -> Result<Value, CinderError> {
    let mut out = json!({
        "id": g.id,
        "status": g.status.as_str(),
        "availability_zone": g.availability_zone,
        "created_at": g.created_at,
        "name": g.name,
        "description": g.description,
        "group_type": g.group_type_id,
        "volume_types": g.volume_type_ids,
    });
    if c.api.at_least(GROUP_SNAPSHOTS) {
        out["group_snapshot_id"] = json!(g.group_snapshot_id);
        out["source_group_id"] = json!(g.source_group_id);
    }
    if c.api.at_least(GROUP_VOLUME_LIST) {
        if let Some(q) = q {
            if q.flag("list_volume")? {
                out["volumes"] = json!(g.volume_ids);
            }
        }
    }
    if c.api.at_least(GROUP_REPLICATION) {
        out["replication_status"] = json!("disabled");
    }
    Ok(out)
}

fn snapshot_summary(gs: &GroupSnapshot) -> Value {
    json!({ "id": gs.id, "name": gs.name })
}

fn snapshot_detail(c: &Caller, gs: &GroupSnapshot) -> Value {
    let mut out = json!({
        "id": gs.id,
        "group_id": gs.group_id,
        "group_type_id": gs.group_type_id,
        "status": gs.status.as_str(),
        "created_at": gs.created_at,
        "name": gs.name,
        "description": gs.description,
    });
    if c.api.at_least(GROUP_SNAPSHOT_PROJECT) {
        out["project_id"] = json!(gs.project_id);
    }
    out
}

// ---- parsing

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string())
}

/// A comma-separated list of volume ids (`add_volumes`, `remove_volumes`).
fn id_list(field: &str, raw: Option<String>) -> Result<Vec<VolumeId>, CinderError> {
    let mut out = Vec::new();
    for id in raw
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        check_uuid(field, id)?;
        if !out.iter().any(|o: &VolumeId| o == id) {
            out.push(VolumeId::from(id));
        }
    }
    Ok(out)
}

fn parse_create(body: &Map<String, Value>) -> Result<GroupCreate, CinderError> {
    Obj::new(body, "body").deny_unknown(&["group"])?;
    let g = Obj::child(body, "group")?;
    g.deny_unknown(&[
        "name",
        "description",
        "group_type",
        "volume_types",
        "availability_zone",
    ])?;
    let group_type = g.req_str("group_type", 255)?;
    let volume_types = match g.require("volume_types")? {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() && s.len() <= 255 => Ok(s.clone()),
                other => Err(CinderError::bad_request(format!(
                    "Invalid input for field/attribute volume_types. Value: {other}. {other} is not a valid volume type."
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(CinderError::bad_request(format!(
                "Invalid input for field/attribute volume_types. Value: {other}. It must be a non-empty list of volume types."
            )))
        }
    };
    Ok(GroupCreate {
        name: trimmed(g.opt_str("name", 255)?),
        description: trimmed(g.opt_str("description", 255)?),
        group_type,
        volume_types,
        availability_zone: g.opt_str("availability_zone", 255)?,
    })
}

fn list_request(c: &Caller, q: &ListQuery) -> Result<GroupListRequest, CinderError> {
    let page = q.page(false)?;
    check_sort(&page, GROUP_SORT)?;
    Ok(GroupListRequest {
        all_tenants: q.flag("all_tenants")? && c.ctx.is_admin(),
        name: q.get("name").map(str::to_string),
        status: q.get("status").map(str::to_string),
        availability_zone: q.get("availability_zone").map(str::to_string),
        group_type_id: q.get("group_type").map(GroupTypeId::from),
        page,
    })
}

// ---- groups

/// `POST /groups` → 202 `{id, name}`.
async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    check_version(&c, GROUPS)?;
    let req = parse_create(&json_object(&body)?)?;
    let g = state.platter.group_create(&c.ctx, req).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "group": summary(&g) }))).into_response())
}

async fn list_common(state: ApiState, c: Caller, q: ListQuery, detailed: bool) -> CinderResult {
    check_version(&c, GROUPS)?;
    let req = list_request(&c, &q)?;
    let groups = state.platter.group_list(&c.ctx, req).await?;
    let items = groups
        .iter()
        .map(|g| {
            if detailed {
                detail(&c, Some(&q), g)
            } else {
                Ok(summary(g))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({ "groups": items })).into_response())
}

async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list_common(state, c, ListQuery { pairs }, false).await
}

async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list_common(state, c, ListQuery { pairs }, true).await
}

async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    check_version(&c, GROUPS)?;
    let g = state
        .platter
        .group_get(&c.ctx, &GroupId::from(id.as_str()))
        .await?;
    let q = ListQuery { pairs };
    Ok(Json(json!({ "group": detail(&c, Some(&q), &g)? })).into_response())
}

/// `PUT /groups/{id}`: name, description, `add_volumes`, `remove_volumes`
/// (comma-separated ids) → 202.
async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    check_version(&c, GROUPS)?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["group"])?;
    let g = Obj::child(&map, "group")?;
    g.deny_unknown(&["name", "description", "add_volumes", "remove_volumes"])?;
    let change = GroupChange {
        name: g.opt_nullable_str("name", 255)?.map(trimmed),
        description: g.opt_nullable_str("description", 255)?.map(trimmed),
        add_volumes: id_list("add_volumes", g.opt_str("add_volumes", 65535)?)?,
        remove_volumes: id_list("remove_volumes", g.opt_str("remove_volumes", 65535)?)?,
    };
    state
        .platter
        .group_update(&c.ctx, &GroupId::from(id.as_str()), change)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /groups/{id}/action`: `delete` (with `delete-volumes`) and
/// `reset_status` (3.20, admin).
async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    check_version(&c, GROUPS)?;
    let map = json_object(&body)?;
    let (name, value) = single_action(&map)?;
    match name {
        "delete" => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["delete-volumes"])?;
            let delete_volumes = match o.get("delete-volumes") {
                None | Some(Value::Null) => false,
                Some(v) => parse_bool(v).ok_or_else(|| {
                    CinderError::bad_request(format!(
                        "Invalid input for field/attribute delete-volumes. Value: {v}. {v} is not of type 'boolean'"
                    ))
                })?,
            };
            state
                .platter
                .group_delete(&c.ctx, &GroupId::from(id.as_str()), delete_volumes)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "reset_status" if c.api.at_least(GROUP_RESET) => {
            let o = action_object(name, value)?;
            o.deny_unknown(&["status"])?;
            let raw = o.req_str("status", 255)?.to_lowercase();
            let status = raw.parse::<GroupStatus>().map_err(|_| {
                CinderError::bad_request(format!(
                    "Group status: {raw} is invalid, valid statuses are: {}.",
                    GroupStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            state
                .platter
                .group_reset_status(&c.ctx, &GroupId::from(id.as_str()), status)
                .await?;
            Ok(empty(StatusCode::ACCEPTED))
        }
        "reset_status" => Err(CinderError::not_found("The resource could not be found.")),
        other => {
            state
                .platter
                .group_get(&c.ctx, &GroupId::from(id.as_str()))
                .await?;
            Err(CinderError::bad_request(format!(
                "There is no such action: {other}"
            )))
        }
    }
}

/// `POST /groups/action`: `create-from-src` (3.14) → 202 `{id, name}`.
async fn collection_action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    check_version(&c, GROUP_SNAPSHOTS)?;
    let map = json_object(&body)?;
    let (name, value) = single_action(&map)?;
    if name != "create-from-src" {
        return Err(CinderError::bad_request(format!(
            "There is no such action: {name}"
        )));
    }
    let o = action_object(name, value)?;
    o.deny_unknown(&[
        "name",
        "description",
        "group_snapshot_id",
        "source_group_id",
    ])?;
    let group_snapshot_id = o.opt_str("group_snapshot_id", 36)?;
    let source_group_id = o.opt_str("source_group_id", 36)?;
    match (&group_snapshot_id, &source_group_id) {
        (Some(_), Some(_)) => {
            return Err(CinderError::bad_request(
                "Invalid input received: Cannot provide both group_snapshot_id and source_group_id.",
            ))
        }
        (None, None) => {
            return Err(CinderError::bad_request(
                "Invalid input received: Either 'group_snapshot_id' or 'source_group_id' must be provided to create group from source.",
            ))
        }
        (Some(id), None) => check_uuid("group_snapshot_id", id)?,
        (None, Some(id)) => check_uuid("source_group_id", id)?,
    }
    let req = GroupFromSource {
        name: trimmed(o.opt_str("name", 255)?),
        description: trimmed(o.opt_str("description", 255)?),
        group_snapshot_id: group_snapshot_id.map(GroupSnapshotId::from),
        source_group_id: source_group_id.map(GroupId::from),
    };
    let (g, _job) = state.platter.group_create_from_src(&c.ctx, req).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "group": summary(&g) }))).into_response())
}

// ---- group snapshots

/// `POST /group_snapshots` → 202 `{id, name, group_type_id}`.
async fn snapshot_create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    check_version(&c, GROUP_SNAPSHOTS)?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["group_snapshot"])?;
    let o = Obj::child(&map, "group_snapshot")?;
    o.deny_unknown(&["group_id", "name", "description"])?;
    let group_id = o.req_str("group_id", 36)?;
    check_uuid("group_id", &group_id)?;
    let req = GroupSnapshotCreate {
        group_id: group_id.into(),
        name: trimmed(o.opt_str("name", 255)?),
        description: trimmed(o.opt_str("description", 255)?),
    };
    let (gs, _job) = state.platter.group_snapshot_create(&c.ctx, req).await?;
    let body = json!({ "group_snapshot": {
        "id": gs.id,
        "name": gs.name,
        "group_type_id": gs.group_type_id,
    }});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

async fn snapshot_list_common(
    state: ApiState,
    c: Caller,
    q: ListQuery,
    detailed: bool,
) -> CinderResult {
    check_version(&c, GROUP_SNAPSHOTS)?;
    let page = q.page(false)?;
    check_sort(&page, GROUP_SNAPSHOT_SORT)?;
    let req = GroupSnapshotListRequest {
        all_tenants: q.flag("all_tenants")? && c.ctx.is_admin(),
        name: q.get("name").map(str::to_string),
        status: q.get("status").map(str::to_string),
        group_id: q.get("group_id").map(GroupId::from),
        page,
    };
    let list = state.platter.group_snapshot_list(&c.ctx, req).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|gs| {
            if detailed {
                snapshot_detail(&c, gs)
            } else {
                snapshot_summary(gs)
            }
        })
        .collect();
    Ok(Json(json!({ "group_snapshots": items })).into_response())
}

async fn snapshot_list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    snapshot_list_common(state, c, ListQuery { pairs }, false).await
}

async fn snapshot_list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    snapshot_list_common(state, c, ListQuery { pairs }, true).await
}

async fn snapshot_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    check_version(&c, GROUP_SNAPSHOTS)?;
    let gs = state
        .platter
        .group_snapshot_get(&c.ctx, &GroupSnapshotId::from(id.as_str()))
        .await?;
    Ok(Json(json!({ "group_snapshot": snapshot_detail(&c, &gs) })).into_response())
}

async fn snapshot_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    check_version(&c, GROUP_SNAPSHOTS)?;
    state
        .platter
        .group_snapshot_delete(&c.ctx, &GroupSnapshotId::from(id.as_str()))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /group_snapshots/{id}/action`: `reset_status` (3.19, admin).
async fn snapshot_action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    check_version(&c, GROUP_SNAPSHOT_RESET)?;
    let map = json_object(&body)?;
    let (name, value) = single_action(&map)?;
    if name != "reset_status" {
        state
            .platter
            .group_snapshot_get(&c.ctx, &GroupSnapshotId::from(id.as_str()))
            .await?;
        return Err(CinderError::bad_request(format!(
            "There is no such action: {name}"
        )));
    }
    let o = action_object(name, value)?;
    o.deny_unknown(&["status"])?;
    let raw = o.req_str("status", 255)?.to_lowercase();
    let status = raw.parse::<GroupSnapshotStatus>().map_err(|_| {
        CinderError::bad_request(format!(
            "Group snapshot status: {raw} is invalid, valid statuses are: {}.",
            GroupSnapshotStatus::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    state
        .platter
        .group_snapshot_reset_status(&c.ctx, &GroupSnapshotId::from(id.as_str()), status)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// The routes of `/groups` and `/group_snapshots`.
pub(super) fn routes(r: Routes) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    r.add(M::GET, "/groups", Gate::All(&[GroupList]), get(list))
        .add(M::POST, "/groups", Gate::All(&[GroupCreate]), post(create))
        .add(
            M::GET,
            "/groups/detail",
            Gate::All(&[GroupList]),
            get(list_detail),
        )
        .add(
            M::POST,
            "/groups/action",
            Gate::OneOf(&[GroupCreate]),
            post(collection_action),
        )
        .add(
            M::GET,
            "/groups/{group_id}",
            Gate::All(&[GroupGet]),
            get(show),
        )
        .add(
            M::PUT,
            "/groups/{group_id}",
            Gate::All(&[GroupUpdate, GroupGet]),
            put(update),
        )
        .add(
            M::POST,
            "/groups/{group_id}/action",
            Gate::OneOf(&[GroupDelete, GroupResetStatus, GroupGet]),
            post(action),
        )
        .add(
            M::GET,
            "/group_snapshots",
            Gate::All(&[GroupSnapshotList]),
            get(snapshot_list),
        )
        .add(
            M::POST,
            "/group_snapshots",
            Gate::All(&[GroupSnapshotCreate, GroupGet]),
            post(snapshot_create),
        )
        .add(
            M::GET,
            "/group_snapshots/detail",
            Gate::All(&[GroupSnapshotList]),
            get(snapshot_list_detail),
        )
        .add(
            M::GET,
            "/group_snapshots/{group_snapshot_id}",
            Gate::All(&[GroupSnapshotGet]),
            get(snapshot_show),
        )
        .add(
            M::DELETE,
            "/group_snapshots/{group_snapshot_id}",
            Gate::All(&[GroupSnapshotDelete, GroupSnapshotGet]),
            delete(snapshot_delete),
        )
        .add(
            M::POST,
            "/group_snapshots/{group_snapshot_id}/action",
            Gate::OneOf(&[GroupSnapshotResetStatus]),
            post(snapshot_action),
        )
}
