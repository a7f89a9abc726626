//! The Keystone v3 subset: enough for keystoneauth1-based clients (the
//! `openstack` CLI, openstacksdk, python-cinderclient) to log in with a
//! password or a token, and for an admin to manage projects, users and role
//! assignments; plus Huawei IAM's access keys (`/v3.0/OS-CREDENTIAL/credentials`)
//! for AK/SK request signing.

mod admin;
mod credentials;
mod errors;
mod iam;
mod tokens;
mod views;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, head, patch, post, put};
use axum::{Json, Router};
pub use errors::KeystoneError;
use platter_model::{Action, AuthContext, ProjectId, TokenInfo};
use serde_json::json;

use crate::toolkit::body::{json_bodies, JsonBodies};
use crate::toolkit::normalize::{normalize, www_authenticate};
use crate::toolkit::request_id;
use crate::toolkit::routes::{Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

/// Identity handlers validate the token themselves (several routes are
/// open, and a token may be unscoped) and authorize the route's action
/// through [`caller`]; the gate has no context to check here.
const FAMILY: GateFamily = GateFamily {
    context: |_| None,
    refuse: |e| KeystoneError::from(e).into_response(),
    narrow: crate::toolkit::routes::no_narrowing,
};

/// The Keystone router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::*;
    use Method as M;
    let (router, table) = Routes::new(state.clone(), FAMILY)
        .add(M::GET, "/", Gate::All(&[VersionsGet]), get(versions))
        .add(M::GET, "/v3", Gate::All(&[VersionsGet]), get(version))
        .add(M::GET, "/v3/", Gate::All(&[VersionsGet]), get(version))
        .add(
            M::GET,
            "/v3/auth/tokens",
            Gate::All(&[TokenValidate]),
            get(tokens::validate),
        )
        .add(
            M::HEAD,
            "/v3/auth/tokens",
            Gate::All(&[TokenValidate]),
            head(tokens::check),
        )
        .add(
            M::POST,
            "/v3/auth/tokens",
            Gate::All(&[TokenIssue]),
            post(tokens::issue),
        )
        .add(
            M::DELETE,
            "/v3/auth/tokens",
            Gate::All(&[TokenRevoke]),
            delete(tokens::revoke),
        )
        .add(
            M::GET,
            "/v3/auth/projects",
            Gate::All(&[AuthScopesList]),
            get(tokens::auth_projects),
        )
        .add(
            M::GET,
            "/v3/auth/domains",
            Gate::All(&[AuthScopesList]),
            get(tokens::auth_domains),
        )
        .add(
            M::GET,
            "/v3/auth/system",
            Gate::All(&[AuthScopesList]),
            get(tokens::auth_system),
        )
        .add(
            M::GET,
            "/v3/auth/catalog",
            Gate::All(&[CatalogGet]),
            get(tokens::auth_catalog),
        )
        .add(
            M::GET,
            "/v3/projects",
            Gate::All(&[ProjectList]),
            get(admin::project_list),
        )
        .add(
            M::POST,
            "/v3/projects",
            Gate::All(&[ProjectCreate]),
            post(admin::project_create),
        )
        .add(
            M::GET,
            "/v3/projects/{project_id}",
            Gate::All(&[ProjectGet]),
            get(admin::project_show),
        )
        .add(
            M::PATCH,
            "/v3/projects/{project_id}",
            Gate::All(&[ProjectUpdate]),
            patch(admin::project_update),
        )
        .add(
            M::DELETE,
            "/v3/projects/{project_id}",
            Gate::All(&[ProjectDelete]),
            delete(admin::project_delete),
        )
        .add(
            M::GET,
            "/v3/projects/{project_id}/users/{user_id}/roles",
            Gate::All(&[RoleGrantList]),
            get(admin::project_user_roles),
        )
        .add(
            M::PUT,
            "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
            Gate::All(&[RoleGrant]),
            put(admin::role_grant),
        )
        .add(
            M::HEAD,
            "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
            Gate::All(&[RoleCheck]),
            head(admin::role_check),
        )
        .add(
            M::GET,
            "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
            Gate::All(&[RoleCheck]),
            get(admin::role_check),
        )
        .add(
            M::DELETE,
            "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
            Gate::All(&[RoleRevoke]),
            delete(admin::role_revoke),
        )
        .add(
            M::GET,
            "/v3/users",
            Gate::All(&[UserList]),
            get(admin::user_list),
        )
        .add(
            M::POST,
            "/v3/users",
            Gate::All(&[UserCreate]),
            post(admin::user_create),
        )
        .add(
            M::GET,
            "/v3/users/{user_id}",
            Gate::All(&[UserGet]),
            get(admin::user_show),
        )
        .add(
            M::PATCH,
            "/v3/users/{user_id}",
            Gate::All(&[UserUpdate]),
            patch(admin::user_update),
        )
        .add(
            M::DELETE,
            "/v3/users/{user_id}",
            Gate::All(&[UserDelete]),
            delete(admin::user_delete),
        )
        .add(
            M::GET,
            "/v3/users/{user_id}/projects",
            Gate::All(&[UserProjectsList]),
            get(admin::user_projects),
        )
        .add(
            M::GET,
            "/v3/roles",
            Gate::All(&[RoleList]),
            get(admin::role_list),
        )
        .add(
            M::GET,
            "/v3/roles/{role_id}",
            Gate::All(&[RoleGet]),
            get(admin::role_show),
        )
        .add(
            M::GET,
            "/v3/role_assignments",
            Gate::All(&[RoleAssignmentList]),
            get(admin::role_assignments),
        )
        .add(
            M::GET,
            "/v3/domains",
            Gate::All(&[DomainList]),
            get(admin::domain_list),
        )
        .add(
            M::GET,
            "/v3/domains/{domain_id}",
            Gate::All(&[DomainGet]),
            get(admin::domain_show),
        )
        .add(
            M::GET,
            "/v3/services",
            Gate::All(&[ServiceList]),
            get(admin::service_list),
        )
        .add(
            M::GET,
            "/v3/endpoints",
            Gate::All(&[EndpointList]),
            get(admin::endpoint_list),
        )
        .add(
            M::GET,
            "/v3/regions",
            Gate::All(&[RegionList]),
            get(admin::region_list),
        )
        .add(
            M::GET,
            "/v3.0/OS-CREDENTIAL/credentials",
            Gate::All(&[CredentialList]),
            get(credentials::list),
        )
        .add(
            M::POST,
            "/v3.0/OS-CREDENTIAL/credentials",
            Gate::All(&[CredentialCreate]),
            post(credentials::create),
        )
        .add(
            M::GET,
            "/v3.0/OS-CREDENTIAL/credentials/{access_key}",
            Gate::All(&[CredentialGet]),
            get(credentials::show),
        )
        .add(
            M::PUT,
            "/v3.0/OS-CREDENTIAL/credentials/{access_key}",
            Gate::All(&[CredentialUpdate]),
            put(credentials::update),
        )
        .add(
            M::DELETE,
            "/v3.0/OS-CREDENTIAL/credentials/{access_key}",
            Gate::All(&[CredentialDelete]),
            delete(credentials::delete),
        )
        .add(
            M::GET,
            "/v3/groups",
            Gate::All(&[UserGroupList]),
            get(iam::group_list),
        )
        .add(
            M::POST,
            "/v3/groups",
            Gate::All(&[UserGroupCreate]),
            post(iam::group_create),
        )
        .add(
            M::GET,
            "/v3/groups/{group_id}",
            Gate::All(&[UserGroupGet]),
            get(iam::group_show),
        )
        .add(
            M::PATCH,
            "/v3/groups/{group_id}",
            Gate::All(&[UserGroupUpdate]),
            patch(iam::group_update),
        )
        .add(
            M::DELETE,
            "/v3/groups/{group_id}",
            Gate::All(&[UserGroupDelete]),
            delete(iam::group_delete),
        )
        .add(
            M::GET,
            "/v3/groups/{group_id}/users",
            Gate::All(&[UserGroupMemberList]),
            get(iam::group_users),
        )
        .add(
            M::PUT,
            "/v3/groups/{group_id}/users/{user_id}",
            Gate::All(&[UserGroupMemberAdd]),
            put(iam::member_add),
        )
        .add(
            M::HEAD,
            "/v3/groups/{group_id}/users/{user_id}",
            Gate::All(&[UserGroupMemberCheck]),
            head(iam::member_check),
        )
        .add(
            M::DELETE,
            "/v3/groups/{group_id}/users/{user_id}",
            Gate::All(&[UserGroupMemberRemove]),
            delete(iam::member_remove),
        )
        .add(
            M::GET,
            "/v3/users/{user_id}/groups",
            Gate::All(&[UserGroupsOfUser]),
            get(iam::user_groups),
        )
        .add(
            M::GET,
            "/v3/projects/{project_id}/groups/{group_id}/roles",
            Gate::All(&[RoleGrantList]),
            get(iam::project_roles),
        )
        .add(
            M::PUT,
            "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleGrant]),
            put(iam::project_grant),
        )
        .add(
            M::HEAD,
            "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleCheck]),
            head(iam::project_check),
        )
        .add(
            M::DELETE,
            "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleRevoke]),
            delete(iam::project_revoke),
        )
        .add(
            M::GET,
            "/v3/domains/{domain_id}/groups/{group_id}/roles",
            Gate::All(&[RoleGrantList]),
            get(iam::domain_roles),
        )
        .add(
            M::PUT,
            "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleGrant]),
            put(iam::domain_grant),
        )
        .add(
            M::HEAD,
            "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleCheck]),
            head(iam::domain_check),
        )
        .add(
            M::DELETE,
            "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleRevoke]),
            delete(iam::domain_revoke),
        )
        .add(
            M::GET,
            "/v3.0/OS-PERMISSION/enterprise-projects/{enterprise_project_id}/groups/{group_id}/roles",
            Gate::All(&[RoleGrantList]),
            get(iam::ep_roles),
        )
        .add(
            M::PUT,
            "/v3.0/OS-PERMISSION/enterprise-projects/{enterprise_project_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleGrant]),
            put(iam::ep_grant),
        )
        .add(
            M::HEAD,
            "/v3.0/OS-PERMISSION/enterprise-projects/{enterprise_project_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleCheck]),
            head(iam::ep_check),
        )
        .add(
            M::DELETE,
            "/v3.0/OS-PERMISSION/enterprise-projects/{enterprise_project_id}/groups/{group_id}/roles/{role_id}",
            Gate::All(&[RoleRevoke]),
            delete(iam::ep_revoke),
        )
        .add(
            M::GET,
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects",
            Gate::All(&[RoleGrantList]),
            get(iam::inherited_roles),
        )
        .add(
            M::PUT,
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
            Gate::All(&[RoleGrant]),
            put(iam::inherited_grant),
        )
        .add(
            M::HEAD,
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
            Gate::All(&[RoleCheck]),
            head(iam::inherited_check),
        )
        .add(
            M::DELETE,
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
            Gate::All(&[RoleRevoke]),
            delete(iam::inherited_revoke),
        )
        .add(
            M::GET,
            "/v3.0/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects",
            Gate::All(&[RoleGrantList]),
            get(iam::inherited_roles),
        )
        .add(
            M::PUT,
            "/v3.0/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
            Gate::All(&[RoleGrant]),
            put(iam::inherited_grant),
        )
        .add(
            M::HEAD,
            "/v3.0/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
            Gate::All(&[RoleCheck]),
            head(iam::inherited_check),
        )
        .add(
            M::DELETE,
            "/v3.0/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
            Gate::All(&[RoleRevoke]),
            delete(iam::inherited_revoke),
        )
        .add(
            M::GET,
            "/v3.0/OS-ROLE/roles",
            Gate::All(&[PolicyList]),
            get(iam::policy_list),
        )
        .add(
            M::POST,
            "/v3.0/OS-ROLE/roles",
            Gate::All(&[PolicyCreate]),
            post(iam::policy_create),
        )
        .add(
            M::GET,
            "/v3.0/OS-ROLE/roles/{role_id}",
            Gate::All(&[PolicyGet]),
            get(iam::policy_show),
        )
        .add(
            M::PATCH,
            "/v3.0/OS-ROLE/roles/{role_id}",
            Gate::All(&[PolicyUpdate]),
            patch(iam::policy_update),
        )
        .add(
            M::DELETE,
            "/v3.0/OS-ROLE/roles/{role_id}",
            Gate::All(&[PolicyDelete]),
            delete(iam::policy_delete),
        )
        .finish();
    let router = router
        .route_layer(middleware::from_fn(|req, next| {
            json_bodies(JSON_BODIES, req, next)
        }))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| KeystoneError::new(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
}

/// Keystone reads a body declared anything but JSON as a validation error
/// (`keystone.server.flask.request_processing.json_body`).
const JSON_BODIES: JsonBodies = JsonBodies {
    status: StatusCode::BAD_REQUEST,
    also: &[],
    message: |_| {
        "Expecting to find application/json in Content-Type header. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.".to_string()
    },
    render: |s, m| KeystoneError::new(s, m).into_response(),
};

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

/// The caller's validated token, authorized for `action`. An unscoped
/// token is asked about as a caller with no project and no role.
pub(crate) async fn caller(
    state: &ApiState,
    headers: &HeaderMap,
    action: Action,
) -> Result<TokenInfo, Response> {
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized(state, KeystoneError::unauthorized()))?;
    let info = state
        .platter
        .validate_token(token)
        .await
        .map_err(|e| unauthorized(state, e.into()))?;
    let ctx = info.auth_context().unwrap_or_else(|| {
        AuthContext::new(
            info.user.id.clone(),
            ProjectId::from(String::new()),
            Vec::new(),
        )
    });
    state
        .platter
        .authorize(&ctx, action)
        .map_err(|e| KeystoneError::from(e).into_response())?;
    Ok(info)
}
