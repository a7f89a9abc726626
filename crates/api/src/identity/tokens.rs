//! `/v3/auth/*`: issuing, validating and revoking tokens.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use platter_model::{Action, DomainError, DomainId, ProjectId, TokenInfo, UserId};
use platter_service::{AuthRequest, DomainRef, ProjectScope, UserRef};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::SocketAddr;

use super::{caller, unauthorized, views};
use crate::identity::KeystoneError;
use crate::toolkit::body::{json_object, InputError, InputResult, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

fn domain_ref(v: Option<&Value>) -> InputResult<Option<DomainRef>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            let o = Obj::new(m, "domain");
            Ok(Some(DomainRef {
                id: o.opt_str("id", 64)?.map(DomainId::from),
                name: o.opt_str("name", 255)?,
            }))
        }
        Some(_) => Err(InputError::new("'domain' must be an object")),
    }
}

/// The request, and whether it asked for an unscoped token in so many words.
fn parse_auth(body: &Map<String, Value>) -> InputResult<(AuthRequest, bool)> {
    let auth = Obj::child(body, "auth")?;
    let identity = match auth.get("identity") {
        Some(Value::Object(m)) => Obj::new(m, "identity"),
        _ => return Err(InputError::new("'identity' is a required property")),
    };
    let methods: Vec<String> = match identity.get("methods") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                m.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| InputError::new("'methods' must be strings"))
            })
            .collect::<InputResult<_>>()?,
        _ => return Err(InputError::new("'methods' is a required property")),
    };
    if methods.is_empty() {
        return Err(InputError::new("'methods' must not be empty"));
    }
    let mut req = AuthRequest {
        methods,
        ..Default::default()
    };
    if let Some(Value::Object(pw)) = identity.get("password") {
        let user = match pw.get("user") {
            Some(Value::Object(u)) => u,
            _ => return Err(InputError::new("'user' is a required property")),
        };
        let u = Obj::new(user, "user");
        let user_ref = UserRef {
            id: u.opt_str("id", 64)?.map(UserId::from),
            name: u.opt_str("name", 255)?,
            domain: domain_ref(u.get("domain"))?,
        };
        let password = u.opt_str("password", 4096)?.unwrap_or_default();
        req.password = Some((user_ref, password));
    }
    if let Some(Value::Object(t)) = identity.get("token") {
        req.token = Obj::new(t, "token").opt_str("id", 1024)?;
    }
    let mut unscoped = false;
    match auth.get("scope") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "unscoped" => unscoped = true,
        Some(Value::Object(scope)) => {
            if let Some(Value::Object(p)) = scope.get("project") {
                let p = Obj::new(p, "project");
                req.project = Some(ProjectScope {
                    id: p.opt_str("id", 64)?.map(ProjectId::from),
                    name: p.opt_str("name", 255)?,
                    domain: domain_ref(p.get("domain"))?,
                });
            } else if scope.contains_key("domain") || scope.contains_key("system") {
                return Err(InputError::new(
                    "Only project-scoped and unscoped tokens are supported; scope the token to a project.",
                ));
            } else {
                return Err(InputError::new("Unsupported scope."));
            }
        }
        Some(_) => return Err(InputError::new("'scope' must be an object or \"unscoped\"")),
    }
    Ok((req, unscoped))
}

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    nocatalog: Option<String>,
}

fn with_catalog(q: &TokenQuery) -> bool {
    q.nocatalog.is_none()
}

/// `POST /v3/auth/tokens`: 201 with the token in `X-Subject-Token`.
pub async fn issue(
    State(state): State<ApiState>,
    Query(q): Query<TokenQuery>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let parsed = json_object(&body).and_then(|b| parse_auth(&b));
    let (mut req, unscoped) = match parsed {
        Ok(r) => r,
        Err(e) => return KeystoneError::from(e).into_response(),
    };
    req.source = peer.map(|p| p.0 .0.ip());
    // With no scope, scope to the user's default project if they have a role on it.
    if req.project.is_none() && !unscoped {
        if let Some(default) = default_project(&state, &req).await {
            req.project = Some(ProjectScope {
                id: Some(default),
                ..Default::default()
            });
        }
    }
    match state.platter.authenticate(&req).await {
        Ok(issued) => {
            let body = views::token(&state, &issued.info, with_catalog(&q));
            let mut resp = (StatusCode::CREATED, Json(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&issued.token) {
                resp.headers_mut().insert("x-subject-token", v);
            }
            resp
        }
        Err(e) => unauthorized(&state, e.into()),
    }
}

async fn default_project(state: &ApiState, req: &AuthRequest) -> Option<ProjectId> {
    let (user_ref, _) = req.password.as_ref()?;
    let user = match (&user_ref.id, &user_ref.name) {
        (Some(id), _) => state.platter.user_get(id).await.ok()?,
        (None, Some(name)) => {
            let domain_id = match &user_ref.domain {
                Some(DomainRef { id: Some(id), .. }) => id.clone(),
                Some(DomainRef { name: Some(n), .. }) => {
                    state
                        .platter
                        .domain_list(Some(n))
                        .await
                        .ok()?
                        .into_iter()
                        .next()?
                        .id
                }
                _ => DomainId::from("default"),
            };
            state
                .platter
                .user_list(Some(name.clone()), Some(domain_id))
                .await
                .ok()?
                .into_iter()
                .next()?
        }
        _ => return None,
    };
    let project = user.default_project_id?;
    let roles = state.platter.roles_of(&user.id, &project).await.ok()?;
    (!roles.is_empty()).then_some(project)
}

fn subject_token(headers: &HeaderMap) -> Result<String, KeystoneError> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| KeystoneError::bad_request("X-Subject-Token is required."))
}

/// The subject token, if `action` may be done to it by the caller: its
/// owner or an admin (Keystone's `rule:admin_required or
/// rule:token_subject`); a token that does not validate is not found, to
/// anyone.
async fn subject(
    state: &ApiState,
    headers: &HeaderMap,
    action: Action,
) -> Result<(String, TokenInfo), Response> {
    let info = caller(state, headers, action).await?;
    let token = subject_token(headers).map_err(IntoResponse::into_response)?;
    let subject = state
        .platter
        .validate_token(&token)
        .await
        .map_err(|e| match e {
            DomainError::Internal(_) | DomainError::Backend(_) => {
                KeystoneError::from(e).into_response()
            }
            _ => KeystoneError::new(StatusCode::NOT_FOUND, "Could not find token.").into_response(),
        })?;
    if !info.may_handle_token_of(&subject.user.id) {
        return Err(KeystoneError::from(DomainError::NotAllowed { action }).into_response());
    }
    Ok((token, subject))
}

/// `GET /v3/auth/tokens`: the subject token's body.
pub async fn validate(
    State(state): State<ApiState>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    match subject(&state, &headers, Action::TokenValidate).await {
        Ok((token, info)) => {
            let mut resp = Json(views::token(&state, &info, with_catalog(&q))).into_response();
            if let Ok(v) = HeaderValue::from_str(&token) {
                resp.headers_mut().insert("x-subject-token", v);
            }
            resp
        }
        Err(r) => r,
    }
}

/// `HEAD /v3/auth/tokens`.
pub async fn check(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match subject(&state, &headers, Action::TokenValidate).await {
        Ok(_) => empty(StatusCode::OK),
        Err(r) => empty(r.status()),
    }
}

/// `DELETE /v3/auth/tokens`: revokes the subject token (a valid one: an
/// expired or revoked token is not found, as in Keystone).
pub async fn revoke(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let token = match subject(&state, &headers, Action::TokenRevoke).await {
        Ok((token, _)) => token,
        Err(r) => return r,
    };
    match state.platter.revoke_token(&token).await {
        Ok(()) => empty(StatusCode::NO_CONTENT),
        Err(_) => {
            KeystoneError::new(StatusCode::NOT_FOUND, "Could not find token.").into_response()
        }
    }
}

/// `GET /v3/auth/projects`: projects the caller may scope to.
pub async fn auth_projects(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let info = match caller(&state, &headers, Action::AuthScopesList).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    match state.platter.project_list_for_user(&info.user.id).await {
        Ok(projects) => {
            let items = projects
                .iter()
                .filter(|p| p.enabled)
                .map(|p| views::project(&state, p))
                .collect();
            Json(views::collection(
                &state,
                "projects",
                "/v3/auth/projects",
                items,
            ))
            .into_response()
        }
        Err(e) => KeystoneError::from(e).into_response(),
    }
}

pub async fn auth_domains(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match caller(&state, &headers, Action::AuthScopesList).await {
        Ok(_) => Json(views::collection(
            &state,
            "domains",
            "/v3/auth/domains",
            vec![],
        ))
        .into_response(),
        Err(r) => r,
    }
}

pub async fn auth_system(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    match caller(&state, &headers, Action::AuthScopesList).await {
        Ok(_) => Json(views::collection(
            &state,
            "system",
            "/v3/auth/system",
            vec![],
        ))
        .into_response(),
        Err(r) => r,
    }
}

pub async fn auth_catalog(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(_q): Query<HashMap<String, String>>,
) -> Response {
    match caller(&state, &headers, Action::CatalogGet).await {
        Ok(info) => {
            let pid = info.project.as_ref().map(|p| p.id.as_str());
            let body = json!({
                "catalog": views::catalog(&state, pid),
                "links": { "self": format!("{}/v3/auth/catalog", state.urls.identity), "previous": null, "next": null },
            });
            Json(body).into_response()
        }
        Err(r) => r,
    }
}
