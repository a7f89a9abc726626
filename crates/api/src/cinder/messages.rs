//! User messages (3.3+): `GET /messages`, `GET/DELETE /messages/{id}`, in
//! Cinder's words: `event_id` `VOLUME_<RESOURCE>_<action>_<detail>` and
//! `user_message` `<action>: <detail>`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{MessageAction, MessageDetail, MessageId, MessageResource, UserMessage};
use serde_json::{json, Value};

use super::views::links;
use super::{Caller, CinderError, CinderResult};
use crate::toolkit::normalize::empty;
use crate::ApiState;

/// Cinder's action ids and words; Platter's own operations that Cinder has
/// no id for are numbered from 101.
fn action_text(a: MessageAction) -> (&'static str, &'static str) {
    match a {
        MessageAction::ScheduleAllocateVolume => ("001", "schedule allocate volume"),
        MessageAction::ExtendVolume => ("007", "extend volume"),
        MessageAction::CreateVolume => ("008", "create volume from backend storage"),
        MessageAction::CreateSnapshot => ("009", "create snapshot"),
        MessageAction::DeleteSnapshot => ("010", "delete snapshot"),
        MessageAction::DeleteVolume => ("101", "delete volume"),
        MessageAction::RetypeVolume => ("102", "retype volume"),
        MessageAction::UpdateVolumeQos => ("103", "update volume QoS"),
        MessageAction::RevertVolume => ("104", "revert volume to snapshot"),
        MessageAction::MigrateVolume => ("105", "migrate volume"),
        MessageAction::CreateGroup => ("106", "create group"),
        MessageAction::DeleteGroup => ("107", "delete group"),
        MessageAction::CreateGroupSnapshot => ("108", "create group snapshot"),
        MessageAction::DeleteGroupSnapshot => ("109", "delete group snapshot"),
        MessageAction::ManageVolume => ("110", "manage existing volume"),
        MessageAction::ManageSnapshot => ("111", "manage existing snapshot"),
        MessageAction::ReenableReplica => ("112", "re-enable volume replication"),
        MessageAction::UploadImage => ("113", "copy volume to image"),
        MessageAction::CreateBackup => ("114", "create backup"),
        MessageAction::DeleteBackup => ("115", "delete backup"),
        MessageAction::RestoreBackup => ("116", "restore backup"),
    }
}

fn detail_text(d: MessageDetail) -> (&'static str, &'static str) {
    match d {
        MessageDetail::UnknownError => ("001", "An unknown error occurred."),
        MessageDetail::NoBackendAvailable => {
            ("003", "Could not find any available weighted backend.")
        }
        MessageDetail::BackendFailed => ("101", "The storage backend failed the operation."),
    }
}

fn view(state: &ApiState, c: &Caller, m: &UserMessage) -> Value {
    let (action_id, action) = action_text(m.action);
    let (detail_id, detail) = detail_text(m.detail);
    let resource = match m.resource_type {
        MessageResource::Volume => "VOLUME",
        MessageResource::Snapshot => "SNAPSHOT",
        MessageResource::Group => "GROUP",
        MessageResource::GroupSnapshot => "GROUP_SNAPSHOT",
        MessageResource::Backup => "BACKUP",
    };
    json!({
        "id": m.id,
        "event_id": format!("VOLUME_{resource}_{action_id}_{detail_id}"),
        "user_message": format!("{action}: {detail}"),
        "message_level": "ERROR",
        "resource_type": resource,
        "resource_uuid": m.resource_id,
        "request_id": m.request_id,
        "created_at": m.created_at,
        "guaranteed_until": m.expires_at,
        "links": links(state, c.api, &m.project_id, "messages", m.id.as_str()),
    })
}

fn check_version(c: &Caller) -> Result<(), CinderError> {
    if c.api.at_least(3) {
        Ok(())
    } else {
        Err(CinderError::not_found("The resource could not be found."))
    }
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    check_version(&c)?;
    let messages = state.platter.message_list(&c.ctx).await?;
    let items: Vec<Value> = messages.iter().map(|m| view(&state, &c, m)).collect();
    Ok(Json(json!({ "messages": items })).into_response())
}

pub(super) async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, MessageId)>,
) -> CinderResult {
    check_version(&c)?;
    let m = state.platter.message_get(&c.ctx, &id).await?;
    Ok(Json(json!({ "message": view(&state, &c, &m) })).into_response())
}

pub(super) async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, MessageId)>,
) -> CinderResult {
    check_version(&c)?;
    state.platter.message_delete(&c.ctx, &id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
