//! Huawei IAM's permanent access keys (AK/SK):
//! `/v3.0/OS-CREDENTIAL/credentials[/{access_key}]`. A user manages their
//! own keys, an admin anyone's. The secret appears only in the answer to
//! the create.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::{AccessKeyId, Action, Credential, CredentialStatus, TokenInfo, UserId};
use platter_service::CredentialCaller;
use serde_json::{json, Value};

use super::caller;
use super::views::keystone_time;
use crate::identity::KeystoneError;
use crate::toolkit::body::{json_object, Obj};
use crate::ApiState;

fn ok<T: IntoResponse>(r: Result<T, KeystoneError>) -> Response {
    match r {
        Ok(v) => v.into_response(),
        Err(e) => e.into_response(),
    }
}

fn as_caller(info: &TokenInfo) -> CredentialCaller<'_> {
    if info.auth_context().is_some_and(|c| c.is_admin()) {
        CredentialCaller::Admin
    } else {
        CredentialCaller::User(&info.user.id)
    }
}

/// A key as listed: no secret, no last use.
fn summary(c: &Credential) -> Value {
    json!({
        "access": c.access_key,
        "status": c.status.as_str(),
        "user_id": c.user_id,
        "create_time": keystone_time(&c.created_at),
        "description": c.description,
    })
}

fn detail(c: &Credential) -> Value {
    let mut v = summary(c);
    v["last_use_time"] = json!(c.last_use_time.as_ref().map(keystone_time));
    v
}

/// `POST /v3.0/OS-CREDENTIAL/credentials`
/// `{"credential": {"user_id": "...", "description": "..."}}` → 201 with the secret.
pub async fn create(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let info = match caller(&state, &headers, Action::CredentialCreate).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let map = json_object(&body)?;
        let c = Obj::child(&map, "credential")?;
        c.deny_unknown(&["user_id", "description"])?;
        let user_id = c.req_str("user_id", 64)?;
        let description = c.opt_str("description", 255)?.unwrap_or_default();
        let created = state
            .platter
            .credential_create(as_caller(&info), &UserId::from(user_id), &description)
            .await?;
        let mut view = summary(&created);
        view["secret"] = json!(created.secret_key);
        Ok((StatusCode::CREATED, Json(json!({ "credential": view }))))
    }
    .await)
}

/// `GET /v3.0/OS-CREDENTIAL/credentials[?user_id=]`
pub async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let info = match caller(&state, &headers, Action::CredentialList).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let keys = state
            .platter
            .credential_list(
                as_caller(&info),
                q.get("user_id").map(UserId::from).as_ref(),
            )
            .await?;
        let items: Vec<Value> = keys.iter().map(summary).collect();
        Ok::<_, KeystoneError>(Json(json!({ "credentials": items })))
    }
    .await)
}

/// `GET /v3.0/OS-CREDENTIAL/credentials/{access_key}`
pub async fn show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(access_key): Path<AccessKeyId>,
) -> Response {
    let info = match caller(&state, &headers, Action::CredentialGet).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let c = state
            .platter
            .credential_get(as_caller(&info), &access_key)
            .await?;
        Ok::<_, KeystoneError>(Json(json!({ "credential": detail(&c) })))
    }
    .await)
}

/// `PUT /v3.0/OS-CREDENTIAL/credentials/{access_key}`
/// `{"credential": {"status": "active|inactive", "description": "..."}}`
pub async fn update(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(access_key): Path<AccessKeyId>,
    body: Bytes,
) -> Response {
    let info = match caller(&state, &headers, Action::CredentialUpdate).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let map = json_object(&body)?;
        let c = Obj::child(&map, "credential")?;
        c.deny_unknown(&["status", "description"])?;
        let status = match c.opt_str("status", 16)? {
            None => None,
            Some(s) => Some(s.parse::<CredentialStatus>().map_err(|_| {
                KeystoneError::bad_request(format!(
                    "Invalid input for field: status must be 'active' or 'inactive', not '{s}'."
                ))
            })?),
        };
        let description = c.opt_str("description", 255)?;
        let updated = state
            .platter
            .credential_update(
                as_caller(&info),
                &access_key,
                status,
                description.as_deref(),
            )
            .await?;
        Ok::<_, KeystoneError>(Json(json!({ "credential": summary(&updated) })))
    }
    .await)
}

/// `DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}` → 204
pub async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(access_key): Path<AccessKeyId>,
) -> Response {
    let info = match caller(&state, &headers, Action::CredentialDelete).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        state
            .platter
            .credential_delete(as_caller(&info), &access_key)
            .await?;
        Ok::<_, KeystoneError>(StatusCode::NO_CONTENT)
    }
    .await)
}
