//! IAM administration on the identity port: Keystone's groups, group
//! membership and group grants (on a project, a domain, every project of a
//! domain through `OS-INHERIT`), Huawei IAM's grants on enterprise
//! projects (`/v3.0/OS-PERMISSION/enterprise-projects/...`) and custom
//! policies (`/v3.0/OS-ROLE/roles`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::{
    system_policy, Action, CustomPolicy, DomainError, DomainId, GrantScope, Policy, ProjectId,
    Role, RoleId, UserGroup, UserGroupId, UserId, SYSTEM_POLICIES,
};
use platter_service::{GroupFields, PolicyFields};
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

/// Runs `body` for a caller allowed `action`.
macro_rules! admin {
    ($state:expr, $headers:expr, $action:expr, $body:expr) => {{
        if let Err(r) = caller(&$state, &$headers, $action).await {
            return r;
        }
        ok(async { $body }.await)
    }};
}

fn group_view(state: &ApiState, g: &UserGroup) -> Value {
    json!({
        "id": g.id, "name": g.name, "domain_id": g.domain_id, "description": g.description,
        "create_time": millis(&g.created_at),
        "links": { "self": format!("{}/v3/groups/{}", state.urls.identity, g.id) },
    })
}

fn group_fields(body: &Bytes, creating: bool) -> Result<GroupFields, KeystoneError> {
    let map = json_object(body)?;
    let g = Obj::child(&map, "group")?;
    g.deny_unknown(&["name", "domain_id", "description"])?;
    if creating {
        g.require("name")?;
    }
    Ok(GroupFields {
        name: g.opt_str("name", 255)?,
        domain_id: g.opt_str("domain_id", 64)?.map(DomainId::from),
        description: g.opt_str("description", 255)?,
    })
}

pub async fn group_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    admin!(state, headers, Action::UserGroupList, {
        let groups = state
            .platter
            .user_group_list(
                q.get("name").cloned(),
                q.get("domain_id").map(DomainId::from),
            )
            .await?;
        let items = groups.iter().map(|g| group_view(&state, g)).collect();
        Ok::<_, KeystoneError>(Json(views::collection(
            &state,
            "groups",
            "/v3/groups",
            items,
        )))
    })
}

pub async fn group_create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin!(state, headers, Action::UserGroupCreate, {
        let fields = group_fields(&body, true)?;
        let name = fields.name.clone().unwrap_or_default();
        let g = state
            .platter
            .user_group_create(fields)
            .await
            .map_err(|e| match e {
                DomainError::Conflict(_) => KeystoneError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "Conflict occurred attempting to store group - Duplicate entry found with name {name}."
                    ),
                ),
                e => e.into(),
            })?;
        Ok::<_, KeystoneError>((
            StatusCode::CREATED,
            Json(json!({ "group": group_view(&state, &g) })),
        ))
    })
}

pub async fn group_show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserGroupId>,
) -> Response {
    admin!(state, headers, Action::UserGroupGet, {
        let g = state.platter.user_group_get(&id).await?;
        Ok::<_, KeystoneError>(Json(json!({ "group": group_view(&state, &g) })))
    })
}

pub async fn group_update(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserGroupId>,
    body: Bytes,
) -> Response {
    admin!(state, headers, Action::UserGroupUpdate, {
        let g = state
            .platter
            .user_group_update(&id, group_fields(&body, false)?)
            .await?;
        Ok::<_, KeystoneError>(Json(json!({ "group": group_view(&state, &g) })))
    })
}

pub async fn group_delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserGroupId>,
) -> Response {
    admin!(state, headers, Action::UserGroupDelete, {
        state.platter.user_group_delete(&id).await?;
        Ok::<_, KeystoneError>(empty(StatusCode::NO_CONTENT))
    })
}

pub async fn group_users(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<UserGroupId>,
) -> Response {
    admin!(state, headers, Action::UserGroupMemberList, {
        let users = state.platter.user_group_members(&id).await?;
        let items = users.iter().map(|u| views::user(&state, u)).collect();
        let path = format!("/v3/groups/{id}/users");
        Ok::<_, KeystoneError>(Json(views::collection(&state, "users", &path, items)))
    })
}

pub async fn member_add(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((g, u)): Path<(UserGroupId, UserId)>,
) -> Response {
    admin!(state, headers, Action::UserGroupMemberAdd, {
        state.platter.user_group_member_add(&g, &u).await?;
        Ok::<_, KeystoneError>(empty(StatusCode::NO_CONTENT))
    })
}

pub async fn member_check(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((g, u)): Path<(UserGroupId, UserId)>,
) -> Response {
    admin!(state, headers, Action::UserGroupMemberCheck, {
        state.platter.user_group_member_check(&g, &u).await?;
        Ok::<_, KeystoneError>(empty(StatusCode::NO_CONTENT))
    })
}

pub async fn member_remove(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((g, u)): Path<(UserGroupId, UserId)>,
) -> Response {
    admin!(state, headers, Action::UserGroupMemberRemove, {
        state.platter.user_group_member_remove(&g, &u).await?;
        Ok::<_, KeystoneError>(empty(StatusCode::NO_CONTENT))
    })
}

pub async fn user_groups(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(u): Path<UserId>,
) -> Response {
    admin!(state, headers, Action::UserGroupsOfUser, {
        let groups = state.platter.user_groups_of(&u).await?;
        let items = groups.iter().map(|g| group_view(&state, g)).collect();
        let path = format!("/v3/users/{u}/groups");
        Ok::<_, KeystoneError>(Json(views::collection(&state, "groups", &path, items)))
    })
}

// ---- group grants ----

/// The scope a grant path names.
fn project_scope(p: String) -> GrantScope {
    GrantScope::Project(ProjectId::from(p))
}
fn domain_scope(d: String) -> GrantScope {
    GrantScope::Domain(DomainId::from(d))
}
fn inherited_scope(d: String) -> GrantScope {
    GrantScope::AllProjects(DomainId::from(d))
}
fn enterprise_scope(ep: String) -> GrantScope {
    GrantScope::EnterpriseProject(ep)
}

/// What a grant path asks of a grant.
#[derive(Clone, Copy)]
enum GrantOp {
    Put,
    Check,
    Delete,
}

async fn grant_op(
    state: ApiState,
    headers: HeaderMap,
    op: GrantOp,
    scope: GrantScope,
    group: String,
    role: String,
) -> Response {
    let action = match op {
        GrantOp::Put => Action::RoleGrant,
        GrantOp::Check => Action::RoleCheck,
        GrantOp::Delete => Action::RoleRevoke,
    };
    admin!(state, headers, action, {
        let role = super::admin::role_by_id(&state, &role).await?;
        let (p, g, role) = (&state.platter, UserGroupId::from(group), role.as_str());
        match op {
            GrantOp::Put => p.group_grant(&g, role, scope).await?,
            GrantOp::Check => p.group_grant_check(&g, role, scope).await?,
            GrantOp::Delete => p.group_revoke(&g, role, scope).await?,
        }
        Ok::<_, KeystoneError>(empty(StatusCode::NO_CONTENT))
    })
}

async fn grant_list(
    state: ApiState,
    headers: HeaderMap,
    scope: GrantScope,
    group: String,
) -> Response {
    admin!(state, headers, Action::RoleGrantList, {
        let roles = state
            .platter
            .group_grant_roles(&UserGroupId::from(group), &scope)
            .await?;
        let items = roles.iter().map(|r| views::role(&state, r)).collect();
        Ok::<_, KeystoneError>(Json(views::collection(&state, "roles", "/v3/roles", items)))
    })
}

/// The four grant handlers of one kind of scope.
macro_rules! grant_handlers {
    ($scope:ident, $put:ident, $head:ident, $delete:ident, $list:ident) => {
        pub async fn $put(
            State(state): State<ApiState>,
            headers: HeaderMap,
            Path((target, group, role)): Path<(String, String, String)>,
        ) -> Response {
            grant_op(state, headers, GrantOp::Put, $scope(target), group, role).await
        }
        pub async fn $head(
            State(state): State<ApiState>,
            headers: HeaderMap,
            Path((target, group, role)): Path<(String, String, String)>,
        ) -> Response {
            grant_op(state, headers, GrantOp::Check, $scope(target), group, role).await
        }
        pub async fn $delete(
            State(state): State<ApiState>,
            headers: HeaderMap,
            Path((target, group, role)): Path<(String, String, String)>,
        ) -> Response {
            grant_op(state, headers, GrantOp::Delete, $scope(target), group, role).await
        }
        pub async fn $list(
            State(state): State<ApiState>,
            headers: HeaderMap,
            Path((target, group)): Path<(String, String)>,
        ) -> Response {
            grant_list(state, headers, $scope(target), group).await
        }
    };
}

grant_handlers!(
    project_scope,
    project_grant,
    project_check,
    project_revoke,
    project_roles
);
grant_handlers!(
    domain_scope,
    domain_grant,
    domain_check,
    domain_revoke,
    domain_roles
);
grant_handlers!(
    inherited_scope,
    inherited_grant,
    inherited_check,
    inherited_revoke,
    inherited_roles
);
grant_handlers!(enterprise_scope, ep_grant, ep_check, ep_revoke, ep_roles);

// ---- custom policies (Huawei IAM's OS-ROLE) ----

fn millis(t: &platter_model::Timestamp) -> i64 {
    (t.datetime().unix_timestamp_nanos() / 1_000_000) as i64
}

fn iam_time(t: &platter_model::Timestamp) -> String {
    millis(t).to_string()
}

/// A custom policy as IAM shows it.
fn policy_view(state: &ApiState, p: &CustomPolicy) -> Value {
    let doc: Value = serde_json::from_str(&p.document).unwrap_or(Value::Null);
    json!({
        "id": p.role_id, "name": p.display_name, "display_name": p.display_name,
        "description": p.description, "domain_id": p.domain_id, "type": p.kind,
        "catalog": "CUSTOMED", "flag": "", "policy": doc,
        "created_time": iam_time(&p.created_at), "updated_time": iam_time(&p.updated_at),
        "links": { "self": format!("{}/v3.0/OS-ROLE/roles/{}", state.urls.identity, p.role_id) },
    })
}

/// A system policy (or Keystone role) as IAM shows it.
fn system_view(state: &ApiState, r: &Role) -> Option<Value> {
    let sys = SYSTEM_POLICIES.iter().find(|p| p.name == r.name)?;
    let doc = system_policy(sys.name).map(|p: Policy| p.to_json());
    Some(json!({
        "id": r.id, "name": r.name, "display_name": r.name, "description": sys.description,
        "domain_id": null, "type": "AX", "catalog": sys.catalog, "flag": "fine_grained",
        "policy": doc,
        "links": { "self": format!("{}/v3/roles/{}", state.urls.identity, r.id) },
    }))
}

fn policy_fields(body: &Bytes, creating: bool) -> Result<PolicyFields, KeystoneError> {
    let map = json_object(body)?;
    let r = Obj::child(&map, "role")?;
    r.deny_unknown(&[
        "display_name",
        "name",
        "description",
        "description_cn",
        "type",
        "policy",
    ])?;
    if creating {
        r.require("display_name")?;
        r.require("type")?;
        r.require("policy")?;
    }
    Ok(PolicyFields {
        display_name: r.opt_str("display_name", 128)?,
        description: r.opt_str("description", 1000)?,
        kind: r.opt_str("type", 2)?,
        document: r.get("policy").cloned(),
    })
}

pub async fn policy_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    admin!(state, headers, Action::PolicyList, {
        let mut items = Vec::new();
        let wanted = q.get("display_name");
        let custom_only = q.get("type").is_some_and(|t| t == "custom");
        if !custom_only {
            for r in state.platter.role_list(None).await? {
                if let Some(v) = system_view(&state, &r) {
                    if wanted.is_none_or(|w| *w == r.name) {
                        items.push(v);
                    }
                }
            }
        }
        for p in state.platter.custom_policy_list().await? {
            if wanted.is_none_or(|w| *w == p.display_name) {
                items.push(policy_view(&state, &p));
            }
        }
        let total = items.len();
        Ok::<_, KeystoneError>(Json(json!({
            "roles": items,
            "links": { "self": format!("{}/v3.0/OS-ROLE/roles", state.urls.identity),
                       "previous": null, "next": null },
            "total_number": total,
        })))
    })
}

pub async fn policy_create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let info = match caller(&state, &headers, Action::PolicyCreate).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    ok(async {
        let p = state
            .platter
            .custom_policy_create(info.user.domain_id.clone(), policy_fields(&body, true)?)
            .await?;
        Ok::<_, KeystoneError>((
            StatusCode::CREATED,
            Json(json!({ "role": policy_view(&state, &p) })),
        ))
    }
    .await)
}

pub async fn policy_show(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<RoleId>,
) -> Response {
    admin!(state, headers, Action::PolicyGet, {
        if let Ok(p) = state.platter.custom_policy_get(&id).await {
            return Ok(Json(json!({ "role": policy_view(&state, &p) })));
        }
        let r = state.platter.role_get(&id).await?;
        let v = system_view(&state, &r).unwrap_or_else(|| views::role(&state, &r));
        Ok::<_, KeystoneError>(Json(json!({ "role": v })))
    })
}

pub async fn policy_update(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<RoleId>,
    body: Bytes,
) -> Response {
    admin!(state, headers, Action::PolicyUpdate, {
        let p = state
            .platter
            .custom_policy_update(&id, policy_fields(&body, false)?)
            .await?;
        Ok::<_, KeystoneError>(Json(json!({ "role": policy_view(&state, &p) })))
    })
}

pub async fn policy_delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<RoleId>,
) -> Response {
    admin!(state, headers, Action::PolicyDelete, {
        state.platter.custom_policy_delete(&id).await?;
        Ok::<_, KeystoneError>(empty(StatusCode::OK))
    })
}
