//! `/attachments` (v3.27+; `os-complete` 3.44+, `mode` 3.54+).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{AttachMode, Attachment, AttachmentId, VolumeId};
use platter_service::{AttachmentListRequest, SortDir, SortKey};
use serde_json::{json, Value};

use super::params::ListQuery;
use super::views::connection_info;
use super::volumes::{action_object, check_uuid, single_action};
use super::{Caller, CinderResult};
use crate::cinder::CinderError;
use crate::toolkit::body::{json_object, InputError, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

type IdPath = Path<(String, AttachmentId)>;

fn summary(a: &Attachment) -> Value {
    json!({ "id": a.id, "status": a.status.as_str(), "instance": a.instance_uuid, "volume_id": a.volume_id })
}

async fn detail(state: &ApiState, c: &Caller, a: &Attachment) -> Value {
    let ci = match state.platter.volume_get(&c.ctx, &a.volume_id).await {
        Ok(v) => state
            .platter
            .connection_info(a, &v)
            .map(|ci| connection_info(&ci)),
        Err(_) => None,
    };
    json!({
        "id": a.id,
        "status": a.status.as_str(),
        "instance": a.instance_uuid,
        "volume_id": a.volume_id,
        "attached_at": a.attached_at,
        "detached_at": a.detached_at,
        "attach_mode": a.attach_mode.as_str(),
        "connection_info": ci,
        "connector": a.connector,
    })
}

fn require_version(c: &Caller, minor: u16, what: &str) -> Result<(), CinderError> {
    if c.api.at_least(minor) {
        Ok(())
    } else {
        Err(CinderError::not_found(format!(
            "{what} requires microversion 3.{minor} or later."
        )))
    }
}

fn parse_mode(c: &Caller, o: &Obj) -> Result<AttachMode, CinderError> {
    match o.opt_str("mode", 8)? {
        None => Ok(AttachMode::ReadWrite),
        Some(_) if !c.api.at_least(54) => Err(CinderError::bad_request(
            "Invalid input received: 'mode' requires microversion 3.54 or later.",
        )),
        Some(m) => m.parse::<AttachMode>().map_err(|_| {
            CinderError::bad_request(format!(
                "Invalid input received: attach mode must be 'rw' or 'ro', not '{m}'."
            ))
        }),
    }
}

fn connector(o: &Obj, key: &str) -> Result<Option<Value>, CinderError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(other) => Err(InputError(format!(
            "Invalid input for field/attribute {key}. Value: {other}. {other} is not of type 'object'"
        ))
        .into()),
    }
}

/// `POST /attachments`.
pub async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    require_version(&c, 27, "The attachments API")?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["attachment"])?;
    let a = Obj::child(&map, "attachment")?;
    a.deny_unknown(&["volume_uuid", "instance_uuid", "connector", "mode"])?;
    let volume = a.req_str("volume_uuid", 36)?;
    check_uuid("volume_uuid", &volume)?;
    let instance = a.opt_str("instance_uuid", 36)?;
    if let Some(i) = &instance {
        check_uuid("instance_uuid", i)?;
    }
    let mode = parse_mode(&c, &a)?;
    let connector = connector(&a, "connector")?;
    let att = state
        .platter
        .attachment_create(&c.ctx, &VolumeId::from(volume), instance, connector, mode)
        .await?;
    Ok(Json(json!({ "attachment": detail(&state, &c, &att).await })).into_response())
}

fn list_request(c: &Caller, q: &ListQuery) -> Result<AttachmentListRequest, CinderError> {
    let mut page = q.page(true)?;
    for (key, _) in &page.sort {
        if !matches!(
            key,
            SortKey::Id | SortKey::Status | SortKey::CreatedAt | SortKey::VolumeId
        ) {
            return Err(CinderError::bad_request(
                "Attachments sort by id, status, created_at or volume_id.",
            ));
        }
    }
    if page.sort.is_empty() {
        page.sort.push((SortKey::CreatedAt, SortDir::Desc));
    }
    Ok(AttachmentListRequest {
        all_tenants: q.flag("all_tenants")? && c.ctx.is_admin(),
        volume_id: q.get("volume_id").map(VolumeId::from),
        instance_uuid: q
            .get("instance_id")
            .or(q.get("instance_uuid"))
            .map(str::to_string),
        status: q
            .get("status")
            .or(q.get("attach_status"))
            .map(str::to_string),
        page,
    })
}

pub async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    require_version(&c, 27, "The attachments API")?;
    let req = list_request(&c, &ListQuery { pairs })?;
    let items = state.platter.attachment_list(&c.ctx, req).await?;
    Ok(
        Json(json!({ "attachments": items.iter().map(summary).collect::<Vec<_>>() }))
            .into_response(),
    )
}

pub async fn list_detail(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    require_version(&c, 27, "The attachments API")?;
    let req = list_request(&c, &ListQuery { pairs })?;
    let items = state.platter.attachment_list(&c.ctx, req).await?;
    let mut out = Vec::with_capacity(items.len());
    for a in &items {
        out.push(detail(&state, &c, a).await);
    }
    Ok(Json(json!({ "attachments": out })).into_response())
}

pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    require_version(&c, 27, "The attachments API")?;
    let (a, _) = state.platter.attachment_get(&c.ctx, &id).await?;
    Ok(Json(json!({ "attachment": detail(&state, &c, &a).await })).into_response())
}

/// `PUT /attachments/{id}`: `{"attachment": {"connector": {...}}}`.
pub async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    require_version(&c, 27, "The attachments API")?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["attachment"])?;
    let a = Obj::child(&map, "attachment")?;
    a.deny_unknown(&["connector"])?;
    let connector = connector(&a, "connector")?.ok_or_else(|| {
        CinderError::bad_request("Invalid input received: 'connector' is a required property")
    })?;
    let att = state
        .platter
        .attachment_update(&c.ctx, &id, connector)
        .await?;
    Ok(Json(json!({ "attachment": detail(&state, &c, &att).await })).into_response())
}

/// `DELETE /attachments/{id}`: 200 with the volume's remaining attachments.
pub async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
) -> CinderResult {
    require_version(&c, 27, "The attachments API")?;
    let left = state.platter.attachment_delete(&c.ctx, &id).await?;
    Ok(
        Json(json!({ "attachments": left.iter().map(summary).collect::<Vec<_>>() }))
            .into_response(),
    )
}

/// `POST /attachments/{id}/action`: `os-complete` (3.44+).
pub async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): IdPath,
    body: Bytes,
) -> CinderResult {
    require_version(&c, 44, "os-complete")?;
    let map = json_object(&body)?;
    let (name, value) = single_action(&map)?;
    match name {
        "os-complete" => {
            if !value.is_null() {
                action_object(name, value)?.deny_unknown(&[])?;
            }
            state.platter.attachment_complete(&c.ctx, &id).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        other => Err(CinderError::bad_request(format!(
            "There is no such action: {other}"
        ))),
    }
}
