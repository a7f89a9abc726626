//! The Keystone v3 subset: enough for keystoneauth1-based clients (the
//! `openstack` CLI, openstacksdk, python-cinderclient) to log in with a
//! password or a token, and for an admin to manage projects, users and role
//! assignments; plus Huawei IAM's access keys (`/v3.0/OS-CREDENTIAL/credentials`)
//! for AK/SK request signing.

mod admin;
mod credentials;
mod tokens;
mod views;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use platter_model::TokenInfo;
use serde_json::json;

use crate::error::{normalize, www_authenticate, KeystoneError};
use crate::{request_id, ApiState, MAX_BODY_BYTES};

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(versions))
        .route("/v3", get(version))
        .route("/v3/", get(version))
        .route(
            "/v3/auth/tokens",
            get(tokens::validate)
                .head(tokens::check)
                .post(tokens::issue)
                .delete(tokens::revoke),
        )
        .route("/v3/auth/projects", get(tokens::auth_projects))
        .route("/v3/auth/domains", get(tokens::auth_domains))
        .route("/v3/auth/system", get(tokens::auth_system))
        .route("/v3/auth/catalog", get(tokens::auth_catalog))
        .route(
            "/v3/projects",
            get(admin::project_list).post(admin::project_create),
        )
        .route(
            "/v3/projects/{project_id}",
            get(admin::project_show)
                .patch(admin::project_update)
                .delete(admin::project_delete),
        )
        .route(
            "/v3/projects/{project_id}/users/{user_id}/roles",
            get(admin::project_user_roles),
        )
        .route(
            "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
            put(admin::role_grant)
                .head(admin::role_check)
                .get(admin::role_check)
                .delete(admin::role_revoke),
        )
        .route("/v3/users", get(admin::user_list).post(admin::user_create))
        .route(
            "/v3/users/{user_id}",
            get(admin::user_show)
                .patch(admin::user_update)
                .delete(admin::user_delete),
        )
        .route("/v3/users/{user_id}/projects", get(admin::user_projects))
        .route("/v3/roles", get(admin::role_list))
        .route("/v3/roles/{role_id}", get(admin::role_show))
        .route("/v3/role_assignments", get(admin::role_assignments))
        .route("/v3/domains", get(admin::domain_list))
        .route("/v3/domains/{domain_id}", get(admin::domain_show))
        .route("/v3/services", get(admin::service_list))
        .route("/v3/endpoints", get(admin::endpoint_list))
        .route("/v3/regions", get(admin::region_list))
        .route(
            "/v3.0/OS-CREDENTIAL/credentials",
            get(credentials::list).post(credentials::create),
        )
        .route(
            "/v3.0/OS-CREDENTIAL/credentials/{access_key}",
            get(credentials::show)
                .put(credentials::update)
                .delete(credentials::delete),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| KeystoneError::new(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state)
}

async fn not_found() -> KeystoneError {
    KeystoneError::new(StatusCode::NOT_FOUND, "The resource could not be found.")
}

fn version_doc(state: &ApiState) -> serde_json::Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{ "rel": "self", "href": format!("{}/v3/", state.urls.identity) }],
        "media-types": [{ "base": "application/json", "type": "application/vnd.openstack.identity-v3+json" }],
    })
}

async fn versions(State(state): State<ApiState>) -> Response {
    let body = json!({ "versions": { "values": [version_doc(&state)] } });
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

async fn version(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(json!({ "version": version_doc(&state) }))
}

/// A refusal for a missing or bad token, with the header clients follow.
pub(crate) fn unauthorized(state: &ApiState, e: KeystoneError) -> Response {
    let mut resp = e.into_response();
    if resp.status() == StatusCode::UNAUTHORIZED {
        www_authenticate(&mut resp, &state.urls.identity);
    }
    resp
}

/// The caller's validated token.
pub(crate) async fn caller(state: &ApiState, headers: &HeaderMap) -> Result<TokenInfo, Response> {
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized(state, KeystoneError::unauthorized()))?;
    state
        .platter
        .validate_token(token)
        .await
        .map_err(|e| unauthorized(state, e.into()))
}

/// The caller, who must hold the admin role on the token's project.
pub(crate) async fn admin_caller(
    state: &ApiState,
    headers: &HeaderMap,
    action: &str,
) -> Result<TokenInfo, Response> {
    let info = caller(state, headers).await?;
    match info.auth_context() {
        Some(ctx) if ctx.is_admin() => Ok(info),
        _ => Err(KeystoneError::new(
            StatusCode::FORBIDDEN,
            format!("You are not authorized to perform the requested action: {action}."),
        )
        .into_response()),
    }
}
