//! Administration of projects, users, roles and role assignments, and the
//! read-only catalog resources.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::{Action, DomainId, ProjectId, RoleId, TokenInfo, UserId};
use platter_service::identity_fields::{ProjectFields, UserFields};
use serde_json::{json, Value};

use super::{caller, views};
use crate::identity::KeystoneError;
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

type Q = Query<HashMap<String, String>>;

fn ok<T: IntoResponse>(r: Result<T, KeystoneError>) -> Response {
    match r {
        Ok(v) => v.into_response(),
        Err(e) => e.into_response(),
    }
}

fn is_admin(info: &TokenInfo) -> bool {
    info.auth_context().is_some_and(|c| c.is_admin())
}

/// The role a grant path names: by id only, as in Keystone, so a name is a
/// role that does not exist (404 `Could not find role: member.`). Clients
/// look names up first (`openstack role add` lists `/v3/roles?name=`);
/// `platter admin` grants by name through the service.
pub(super) async fn role_by_id(state: &ApiState, role: &str) -> Result<RoleId, KeystoneError> {
    Ok(state.platter.role_get(&RoleId::from(role)).await?.id)
}

fn forbidden(action: &str) -> KeystoneError {
    KeystoneError::new(
        StatusCode::FORBIDDEN,
        format!("You are not authorized to perform the requested action: {action}."),
    )
}

// ---- projects ----

fn project_fields(body: &Bytes, creating: bool) -> Result<ProjectFields, KeystoneError> {
    let map = json_object(body)?;
    let p = Obj::child(&map, "project")?;
    p.deny_unknown(&[
        "name",
        "domain_id",
        "description",
        "enabled",
        "is_domain",
        "parent_id",
        "tags",
        "options",
    ])?;
    if creating {
        p.require("name")?;
    }
    if p.opt_bool("is_domain")? == Some(true) {
        return Err(KeystoneError::bad_request(
            "Projects acting as domains are not supported.",
        ));
    }
    Ok(ProjectFields {
        name: p.opt_str("name", 64)?,
        domain_id: p.opt_str("domain_id", 64)?.map(DomainId::from),
        description: p.opt_str("description", 65535)?,
        enabled: p.opt_bool("enabled")?,
    })
}

pub async fn project_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let info = match caller(&state, &headers, Action::ProjectList).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let result = async {
        let projects = if is_admin(&info) {
            state
                .platter
                .project_list(
                    q.get("name").cloned(),
                    q.get("domain_id").map(DomainId::from),
                )
                .await?
        } else {
            // Non-admins see the projects they have roles on.
            state
                .platter
                .project_list_for_user(&info.user.id)
                .await?
                .into_iter()
                .filter(|p| q.get("name").is_none_or(|n| &p.name == n))
                .collect()
        };
        let items = projects.iter().map(|p| views::project(&state, p)).collect();
        Ok::<_, KeystoneError>(Json(views::collection(
            &state,
            "projects",
            "/v3/projects",
            items,
        )))
    }
    .await;
    ok(result)
}

pub async fn project_create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::ProjectCreate).await {
        return r;
    }
    ok(async {
        let fields = project_fields(&body, true)?;
        let p = state.platter.project_create(fields).await?;
        Ok((
            StatusCode::CREATED,
            Json(json!({ "project": views::project(&state, &p) })),
        ))
    }
    .await)
}

pub async fn project_show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<ProjectId>,
) -> Response {
    let info = match caller(&state, &headers, Action::ProjectGet).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let allowed = is_admin(&info)
            || info.project.as_ref().is_some_and(|p| p.id == id)
            || !state.platter.roles_of(&info.user.id, &id).await?.is_empty();
        if !allowed {
            return Err(forbidden("identity:get_project"));
        }
        let p = state.platter.project_get(&id).await?;
        Ok(Json(json!({ "project": views::project(&state, &p) })))
    }
    .await)
}

pub async fn project_update(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<ProjectId>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::ProjectUpdate).await {
        return r;
    }
    ok(async {
        let fields = project_fields(&body, false)?;
        let p = state.platter.project_update(&id, fields).await?;
        Ok(Json(json!({ "project": views::project(&state, &p) })))
    }
    .await)
}

pub async fn project_delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<ProjectId>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::ProjectDelete).await {
        return r;
    }
    ok(async {
        state.platter.project_delete(&id).await?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
    .await)
}

// ---- users ----

fn user_fields(body: &Bytes, creating: bool) -> Result<UserFields, KeystoneError> {
    let map = json_object(body)?;
    let u = Obj::child(&map, "user")?;
    u.deny_unknown(&[
        "name",
        "password",
        "default_project_id",
        "domain_id",
        "enabled",
        "email",
        "description",
        "options",
        "federated",
    ])?;
    if creating {
        u.require("name")?;
    }
    Ok(UserFields {
        name: u.opt_str("name", 255)?,
        domain_id: u.opt_str("domain_id", 64)?.map(DomainId::from),
        password: u.opt_str("password", 4096)?,
        default_project_id: u
            .opt_nullable_str("default_project_id", 64)?
            .map(|p| p.map(ProjectId::from)),
        email: u.opt_nullable_str("email", 255)?,
        description: u.opt_nullable_str("description", 65535)?,
        enabled: u.opt_bool("enabled")?,
    })
}

pub async fn user_list(State(state): State<ApiState>, headers: HeaderMap, Query(q): Q) -> Response {
    if let Err(r) = caller(&state, &headers, Action::UserList).await {
        return r;
    }
    ok(async {
        let users = state
            .platter
            .user_list(
                q.get("name").cloned(),
                q.get("domain_id").map(DomainId::from),
            )
            .await?;
        let items = users.iter().map(|u| views::user(&state, u)).collect();
        Ok(Json(views::collection(&state, "users", "/v3/users", items)))
    }
    .await)
}

pub async fn user_create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::UserCreate).await {
        return r;
    }
    ok(async {
        let fields = user_fields(&body, true)?;
        let u = state.platter.user_create(fields).await?;
        Ok((
            StatusCode::CREATED,
            Json(json!({ "user": views::user(&state, &u) })),
        ))
    }
    .await)
}

pub async fn user_show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserId>,
) -> Response {
    let info = match caller(&state, &headers, Action::UserGet).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        if !is_admin(&info) && info.user.id != id {
            return Err(forbidden("identity:get_user"));
        }
        let u = state.platter.user_get(&id).await?;
        Ok(Json(json!({ "user": views::user(&state, &u) })))
    }
    .await)
}

pub async fn user_update(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserId>,
    body: Bytes,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::UserUpdate).await {
        return r;
    }
    ok(async {
        let fields = user_fields(&body, false)?;
        let u = state.platter.user_update(&id, fields).await?;
        Ok(Json(json!({ "user": views::user(&state, &u) })))
    }
    .await)
}

pub async fn user_delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserId>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::UserDelete).await {
        return r;
    }
    ok(async {
        state.platter.user_delete(&id).await?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
    .await)
}

pub async fn user_projects(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserId>,
) -> Response {
    let info = match caller(&state, &headers, Action::UserProjectsList).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        if !is_admin(&info) && info.user.id != id {
            return Err(forbidden("identity:list_user_projects"));
        }
        state.platter.user_get(&id).await?;
        let projects = state.platter.project_list_for_user(&id).await?;
        let items = projects.iter().map(|p| views::project(&state, p)).collect();
        Ok(Json(views::collection(
            &state,
            "projects",
            &format!("/v3/users/{id}/projects"),
            items,
        )))
    }
    .await)
}

// ---- roles and assignments ----

pub async fn role_list(State(state): State<ApiState>, headers: HeaderMap, Query(q): Q) -> Response {
    if let Err(r) = caller(&state, &headers, Action::RoleList).await {
        return r;
    }
    ok(async {
        let roles = state
            .platter
            .role_list(q.get("name").map(String::as_str))
            .await?;
        let items = roles.iter().map(|r| views::role(&state, r)).collect();
        Ok(Json(views::collection(&state, "roles", "/v3/roles", items)))
    }
    .await)
}

pub async fn role_show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<RoleId>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::RoleGet).await {
        return r;
    }
    ok(async {
        let r = state.platter.role_get(&id).await?;
        Ok(Json(json!({ "role": views::role(&state, &r) })))
    }
    .await)
}

pub async fn project_user_roles(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((project_id, user_id)): Path<(ProjectId, UserId)>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::RoleGrantList).await {
        return r;
    }
    ok(async {
        state.platter.user_get(&user_id).await?;
        state.platter.project_get(&project_id).await?;
        let roles = state.platter.roles_of(&user_id, &project_id).await?;
        let items = roles.iter().map(|r| views::role(&state, r)).collect();
        let path = format!("/v3/projects/{project_id}/users/{user_id}/roles");
        Ok(Json(views::collection(&state, "roles", &path, items)))
    }
    .await)
}

pub async fn role_grant(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((project_id, user_id, role_id)): Path<(ProjectId, UserId, String)>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::RoleGrant).await {
        return r;
    }
    ok(async {
        let role = role_by_id(&state, &role_id).await?;
        state
            .platter
            .role_assign(&user_id, &project_id, role.as_str())
            .await?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
    .await)
}

pub async fn role_check(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((project_id, user_id, role_id)): Path<(ProjectId, UserId, String)>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::RoleCheck).await {
        return r;
    }
    ok(async {
        let role = role_by_id(&state, &role_id).await?;
        if state
            .platter
            .role_assignment_exists(&user_id, &project_id, role.as_str())
            .await?
        {
            Ok(empty(StatusCode::NO_CONTENT))
        } else {
            Err(KeystoneError::new(
                StatusCode::NOT_FOUND,
                format!("Could not find role assignment: {role_id}."),
            ))
        }
    }
    .await)
}

pub async fn role_revoke(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((project_id, user_id, role_id)): Path<(ProjectId, UserId, String)>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::RoleRevoke).await {
        return r;
    }
    ok(async {
        let role = role_by_id(&state, &role_id).await?;
        state
            .platter
            .role_unassign(&user_id, &project_id, role.as_str())
            .await?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
    .await)
}

/// `GET /v3/role_assignments`: filters `user.id`, `scope.project.id`,
/// `role.id`; `include_names` adds names. Non-admins see only their own.
pub async fn role_assignments(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let info = match caller(&state, &headers, Action::RoleAssignmentList).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let user_filter = q.get("user.id").map(UserId::from);
        if !is_admin(&info) && user_filter.as_ref() != Some(&info.user.id) {
            return Err(forbidden("identity:list_role_assignments"));
        }
        let names = q.get("include_names").is_some_and(|v| v.is_empty() || v == "true" || v == "True" || v == "1");
        let list = state
            .platter
            .role_assignment_list(
                user_filter.as_ref(),
                q.get("scope.project.id").map(ProjectId::from).as_ref(),
                q.get("role.id").map(RoleId::from).as_ref(),
            )
            .await?;
        let mut items = Vec::new();
        for a in list {
            let mut role = json!({ "id": a.role_id });
            let mut user = json!({ "id": a.user_id });
            let mut project = json!({ "id": a.project_id });
            if names {
                if let Ok(r) = state.platter.role_get(&a.role_id).await {
                    role["name"] = json!(r.name);
                }
                if let Ok(u) = state.platter.user_get(&a.user_id).await {
                    user["name"] = json!(u.name);
                    user["domain"] = domain_ref(&state, &u.domain_id).await;
                }
                if let Ok(p) = state.platter.project_get(&a.project_id).await {
                    project["name"] = json!(p.name);
                    project["domain"] = domain_ref(&state, &p.domain_id).await;
                }
            }
            let link = format!(
                "{}/v3/projects/{}/users/{}/roles/{}",
                state.urls.identity, a.project_id, a.user_id, a.role_id
            );
            items.push(json!({
                "role": role, "user": user, "scope": { "project": project }, "links": { "assignment": link },
            }));
        }
        Ok(Json(views::collection(&state, "role_assignments", "/v3/role_assignments", items)))
    }
    .await)
}

async fn domain_ref(state: &ApiState, id: &DomainId) -> Value {
    match state.platter.domain_get(id).await {
        Ok(d) => json!({ "id": d.id, "name": d.name }),
        Err(_) => json!({ "id": id }),
    }
}

// ---- domains and the catalog ----

pub async fn domain_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::DomainList).await {
        return r;
    }
    ok(async {
        let domains = state
            .platter
            .domain_list(q.get("name").map(String::as_str))
            .await?;
        let items = domains.iter().map(|d| views::domain(&state, d)).collect();
        Ok(Json(views::collection(
            &state,
            "domains",
            "/v3/domains",
            items,
        )))
    }
    .await)
}

pub async fn domain_show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<DomainId>,
) -> Response {
    if let Err(r) = caller(&state, &headers, Action::DomainGet).await {
        return r;
    }
    ok(async {
        let d = state.platter.domain_get(&id).await?;
        Ok(Json(json!({ "domain": views::domain(&state, &d) })))
    }
    .await)
}

pub async fn service_list(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match caller(&state, &headers, Action::ServiceList).await {
        Ok(_) => Json(views::collection(
            &state,
            "services",
            "/v3/services",
            views::services(&state),
        ))
        .into_response(),
        Err(r) => r,
    }
}

pub async fn endpoint_list(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match caller(&state, &headers, Action::EndpointList).await {
        Ok(_) => Json(views::collection(
            &state,
            "endpoints",
            "/v3/endpoints",
            views::endpoints(&state),
        ))
        .into_response(),
        Err(r) => r,
    }
}

pub async fn region_list(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match caller(&state, &headers, Action::RegionList).await {
        Ok(_) => {
            let region =
                json!({ "id": state.urls.region, "description": "", "parent_region_id": null });
            Json(views::collection(
                &state,
                "regions",
                "/v3/regions",
                vec![region],
            ))
            .into_response()
        }
        Err(r) => r,
    }
}
