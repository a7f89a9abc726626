//! The htaiyun volume API (seed 004) on the block-storage port:
//! `/services/openstack/volume/...`, answering in the platform's envelope
//! `{"status", "message", "result"}`. A caller is a user session
//! (`IMR-SESSION-TOKEN` and `IMR-SESSION-SECRET`, obtained from Keystone
//! credentials at `/services/openstack/session`) with its project's
//! application token (`HT-ACCESS-TOKEN`, from `/services/openstack/apptoken`).
//!
//! Parameters are read from the query string and from the body, JSON or
//! form-encoded, whichever the client sends (docs/DECISIONS.md).

use std::collections::HashMap;

use axum::body::to_bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use platter_model::{openstack4j_status, AuthContext, DomainError, ProjectId, ServerId, Timestamp};
use platter_service::{
    AuthRequest, DomainRef, ProjectScope, UserRef, UserVolumeCreate, UserVolumeList, UserVolumeView,
};
use serde_json::{json, Value};

use crate::toolkit::normalize::normalize;
use crate::toolkit::request_id;
use crate::toolkit::routes::{no_narrowing, Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

const BASE: &str = "/services/openstack/volume";

/// The caller, set by the session middleware.
#[derive(Clone)]
pub struct Caller {
    pub ctx: AuthContext,
}

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| HtError::from_domain("update", e).into_response(),
    narrow: no_narrowing,
};

/// A refusal in the envelope: `status` (also the HTTP status), `message`
/// (the seed's error key) and `description` (what went wrong).
#[derive(Debug)]
pub struct HtError {
    status: StatusCode,
    key: String,
    description: String,
}

impl HtError {
    fn new(status: StatusCode, key: &str, description: impl Into<String>) -> HtError {
        HtError {
            status,
            key: format!("volumes.error.{key}"),
            description: description.into(),
        }
    }

    fn invalid(key: &str, description: impl Into<String>) -> HtError {
        HtError::new(StatusCode::NOT_ACCEPTABLE, key, description)
    }

    fn denied(description: impl Into<String>) -> HtError {
        HtError::new(StatusCode::FORBIDDEN, "access-denied", description)
    }

    /// A domain error of operation `op`, with the seed's keys: 403
    /// access-denied, 406 not-exists / size-insufficient / size-invalid,
    /// 500 the operation's failure key.
    fn from_domain(op: &str, e: DomainError) -> HtError {
        use platter_model::CreateRule;
        match e {
            DomainError::Unauthorized(m) | DomainError::Forbidden(m) => HtError::denied(m),
            DomainError::NotAllowed { action } => HtError::denied(format!(
                "Policy doesn't allow {} to be performed.",
                action.iam_action().unwrap_or(action.policy())
            )),
            DomainError::NotFound { .. } => HtError::invalid("not-exists", e.to_string()),
            DomainError::QuotaExceeded { .. } | DomainError::StorageFull(_) => {
                HtError::invalid("size-insufficient", e.to_string())
            }
            DomainError::InvalidCreate(CreateRule::SizeRequired) => {
                HtError::invalid("require-parameter-size", e.to_string())
            }
            DomainError::InvalidCreate(CreateRule::SizeOutOfRange { .. })
            | DomainError::InvalidCreate(CreateRule::SmallerThanSource { .. }) => {
                HtError::invalid("size-invalid", e.to_string())
            }
            DomainError::Backend(_) | DomainError::Internal(_) => {
                tracing::error!(error = %e, "htaiyun request failed");
                let key = match op {
                    "create" => "create-fail",
                    "clone" => "clone-fail",
                    "update" => "update-fail",
                    "extend" => "update-failed",
                    "delete" => "delete-failed",
                    "status" => "get-status-failed",
                    _ => "system",
                };
                HtError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    key,
                    "A system error occurred.",
                )
            }
            other => HtError::invalid("invalid-parameter", other.to_string()),
        }
    }
}

impl IntoResponse for HtError {
    fn into_response(self) -> Response {
        let body = json!({
            "status": self.status.as_u16(),
            "message": self.key,
            "description": self.description,
        });
        (self.status, Json(body)).into_response()
    }
}

type HtResult = Result<Response, HtError>;

fn ok(result: Option<Value>) -> HtResult {
    let mut body = json!({"status": 200, "message": "OK"});
    if let Some(r) = result {
        body["result"] = r;
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}

fn millis(t: &Timestamp) -> i64 {
    (t.datetime().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A UserVolume as the platform shows it (create's and clone's fields;
/// `attachment` and clone's `attachments` both).
fn view(v: &UserVolumeView) -> Value {
    let attachments: Vec<Value> = v
        .volume
        .attachments
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "serverId": a.instance_uuid, "device": a.mountpoint,
                "hostName": a.host, "attachedAt": a.attached_at.as_ref().map(millis),
            })
        })
        .collect();
    json!({
        "unique": v.record.unique,
        "userid": v.record.owner,
        "created": millis(&v.record.created_at),
        "updated": millis(&v.record.updated_at),
        "volumeId": v.volume.id,
        "name": v.volume.name,
        "description": v.volume.description,
        "volumeStatus": openstack4j_status(v.volume.status),
        "size": v.volume.size,
        "zone": v.volume.availability_zone,
        "volumeType": v.volume.volume_type_name,
        "sourceVolid": v.volume.source_volid,
        "snapshotId": v.volume.snapshot_id,
        "bootable": v.volume.bootable,
        "attachment": attachments,
        "attachments": attachments,
        "migrateStatus": v.volume.migration_status.map(|m| m.as_str()),
        "status": v.record.status_word(),
    })
}

// ---- parameters ----

/// Request parameters: the query string's and the body's, merged (the
/// body wins); list values for `String[]` parameters.
#[derive(Debug, Default)]
struct Params(HashMap<String, Vec<String>>);

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Params {
    async fn read(req: Request) -> Result<Params, HtError> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let query = req.uri().query().unwrap_or("").to_string();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
            .map_err(|e| HtError::invalid("invalid-parameter", format!("query string: {e}")))?;
        for (k, v) in pairs {
            map.entry(k).or_default().push(v);
        }
        let json_body = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        let bytes = to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| HtError::invalid("invalid-parameter", "the body is too large"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params(map));
        }
        if json_body || bytes.first() == Some(&b'{') {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| HtError::invalid("invalid-parameter", format!("body: {e}")))?;
            let obj = v.as_object().ok_or_else(|| {
                HtError::invalid("invalid-parameter", "the body must be an object")
            })?;
            for (k, v) in obj {
                let values = match v {
                    Value::Array(items) => items.iter().filter_map(scalar).collect(),
                    Value::Null => continue,
                    other => scalar(other).into_iter().collect(),
                };
                map.insert(k.clone(), values);
            }
        } else {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| HtError::invalid("invalid-parameter", format!("body: {e}")))?;
            let mut body: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in pairs {
                body.entry(k).or_default().push(v);
            }
            map.extend(body);
        }
        Ok(Params(map))
    }

    fn str(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(|v| v.first()).cloned()
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.0
            .get(key)
            .map(|v| {
                v.iter()
                    .flat_map(|s| s.split(','))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn int(&self, key: &str) -> Result<Option<i64>, HtError> {
        match self.str(key) {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => s.trim().parse().map(Some).map_err(|_| {
                HtError::invalid("invalid-parameter", format!("{key} must be an integer"))
            }),
        }
    }

    fn size(&self) -> Result<Option<i64>, HtError> {
        self.int("size")
            .map_err(|_| HtError::invalid("size-invalid", "size must be a whole number of GB"))
    }

    fn required(&self, key: &str) -> Result<String, HtError> {
        self.str(key)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| HtError::invalid("invalid-parameter", format!("{key} is required")))
    }
}

fn caller(req: &Request) -> Result<AuthContext, HtError> {
    req.extensions()
        .get::<Caller>()
        .map(|c| c.ctx.clone())
        .ok_or_else(|| HtError::denied("not logged in"))
}

fn unique_of(s: &str) -> Result<i64, HtError> {
    s.parse()
        .map_err(|_| HtError::invalid("not-exists", format!("no volume {s}")))
}

fn enabled_of(status: &str) -> Result<bool, HtError> {
    match status {
        "ACTIVED" => Ok(true),
        "DISABLED" => Ok(false),
        other => Err(HtError::invalid(
            "invalid-parameter",
            format!("status must be ACTIVED or DISABLED, not {other}"),
        )),
    }
}

// ---- session ----

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Every volume route: the session, the application token, the project.
async fn authenticate(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let h = req.headers();
    let (token, secret, app) = (
        header_str(h, "imr-session-token").to_string(),
        header_str(h, "imr-session-secret").to_string(),
        header_str(h, "ht-access-token").to_string(),
    );
    if token.is_empty() || secret.is_empty() || app.is_empty() {
        return HtError::denied(
            "IMR-SESSION-TOKEN, IMR-SESSION-SECRET and HT-ACCESS-TOKEN are required",
        )
        .into_response();
    }
    match state.platter.htaiyun_caller(&token, &secret, &app).await {
        Ok(ctx) => {
            req.extensions_mut().insert(Caller { ctx });
            next.run(req).await
        }
        Err(e) => HtError::from_domain("session", e).into_response(),
    }
}

/// `POST /services/openstack/session`: a user session from Keystone
/// credentials (`username`, `password`, `project` name or `projectId`,
/// `domain`, default `Default`).
async fn session(State(state): State<ApiState>, req: Request) -> HtResult {
    let source = crate::toolkit::server::peer(&req).map(|p| p.ip());
    let p = Params::read(req).await?;
    let domain = DomainRef {
        id: None,
        name: Some(p.str("domain").unwrap_or_else(|| "Default".into())),
    };
    let project = ProjectScope {
        id: p.str("projectId").map(ProjectId::from),
        name: p.str("project"),
        domain: Some(domain.clone()),
    };
    if project.id.is_none() && project.name.is_none() {
        return Err(HtError::invalid(
            "invalid-parameter",
            "project or projectId is required",
        ));
    }
    let user = UserRef {
        id: None,
        name: Some(p.required("username")?),
        domain: Some(domain),
    };
    let issued = state
        .platter
        .authenticate(&AuthRequest {
            methods: vec!["password".into()],
            password: Some((user, p.required("password")?)),
            token: None,
            project: Some(project),
            source,
        })
        .await
        .map_err(|e| HtError::denied(e.to_string()))?;
    ok(Some(json!({
        "sessionToken": issued.token,
        "sessionSecret": issued.info.audit_id,
        "expires": millis(&issued.info.expires_at),
        "userId": issued.info.user.id,
        "projectId": issued.info.project.as_ref().map(|p| p.id.clone()),
    })))
}

/// `POST /services/openstack/apptoken`: (re)issues the session's project's
/// application token.
async fn app_token(State(state): State<ApiState>, headers: HeaderMap) -> HtResult {
    let token = header_str(&headers, "imr-session-token");
    let secret = header_str(&headers, "imr-session-secret");
    let ctx = state
        .platter
        .htaiyun_session(token, secret)
        .await
        .map_err(|e| HtError::from_domain("apptoken", e))?;
    let app = state
        .platter
        .htaiyun_app_token_issue(&ctx)
        .await
        .map_err(|e| HtError::from_domain("apptoken", e))?;
    ok(Some(
        json!({ "accessToken": app, "projectId": ctx.project_id }),
    ))
}

// ---- volumes ----

async fn create(State(state): State<ApiState>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let name = p.required("name")?;
    let size = p.size()?;
    let image = p.str("image").filter(|s| !s.is_empty());
    match size {
        Some(s) if s <= 0 => return Err(HtError::invalid("size-invalid", "size must be > 0")),
        None if image.is_none() => {
            return Err(HtError::invalid(
                "require-parameter-size",
                "size is required",
            ))
        }
        _ => {}
    }
    let v = state
        .platter
        .user_volume_create(
            &ctx,
            UserVolumeCreate {
                name,
                description: p.str("description"),
                size,
                image,
                owner: p.int("userid")?,
            },
        )
        .await
        .map_err(|e| HtError::from_domain("create", e))?;
    ok(Some(view(&v)))
}

async fn show(State(state): State<ApiState>, Path(unique): Path<String>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let v = state
        .platter
        .user_volume_get(&ctx, unique_of(&unique)?)
        .await
        .map_err(|e| HtError::from_domain("get", e))?;
    ok(Some(view(&v)))
}

async fn clone(
    State(state): State<ApiState>,
    Path(unique): Path<String>,
    req: Request,
) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let name = p.required("name")?;
    let owner = p.int("uid")?;
    let v = state
        .platter
        .user_volume_clone(&ctx, unique_of(&unique)?, name, p.str("description"), owner)
        .await
        .map_err(|e| HtError::from_domain("clone", e))?;
    ok(Some(view(&v)))
}

async fn update(
    State(state): State<ApiState>,
    Path(unique): Path<String>,
    req: Request,
) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    state
        .platter
        .user_volume_update(
            &ctx,
            unique_of(&unique)?,
            p.str("name"),
            p.str("description"),
        )
        .await
        .map_err(|e| HtError::from_domain("update", e))?;
    ok(None)
}

async fn update_one(
    State(state): State<ApiState>,
    Path((unique, field)): Path<(String, String)>,
    req: Request,
) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let value = p.str("value").unwrap_or_default();
    let (name, description) = match field.as_str() {
        "name" => (Some(value), None),
        "description" => (None, Some(value)),
        other => {
            return Err(HtError::invalid(
                "invalid-parameter",
                format!("{other} is not name or description"),
            ))
        }
    };
    state
        .platter
        .user_volume_update(&ctx, unique_of(&unique)?, name, description)
        .await
        .map_err(|e| HtError::from_domain("update", e))?;
    ok(None)
}

async fn extend(
    State(state): State<ApiState>,
    Path(unique): Path<String>,
    req: Request,
) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let size = p
        .size()?
        .ok_or_else(|| HtError::invalid("size-invalid", "size is required"))?;
    state
        .platter
        .user_volume_extend(&ctx, unique_of(&unique)?, size)
        .await
        .map_err(|e| match e {
            DomainError::InvalidInput(m) => HtError::invalid("size-invalid", m),
            e => HtError::from_domain("extend", e),
        })?;
    ok(None)
}

async fn delete(
    State(state): State<ApiState>,
    Path(unique): Path<String>,
    req: Request,
) -> HtResult {
    let ctx = caller(&req)?;
    state
        .platter
        .user_volume_delete(&ctx, unique_of(&unique)?)
        .await
        .map_err(|e| HtError::from_domain("delete", e))?;
    ok(None)
}

async fn status(
    State(state): State<ApiState>,
    Path(unique): Path<String>,
    req: Request,
) -> HtResult {
    let ctx = caller(&req)?;
    let v = state
        .platter
        .user_volume_get(&ctx, unique_of(&unique)?)
        .await
        .map_err(|e| HtError::from_domain("status", e))?;
    ok(Some(json!({
        "unique": v.record.unique,
        "volumeId": v.volume.id,
        "volumeStatus": openstack4j_status(v.volume.status),
        "status": v.record.status_word(),
    })))
}

async fn list(State(state): State<ApiState>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let enabled = match p.str("status").as_deref() {
        None | Some("") | Some("ALL_STATUS") => None,
        Some(s) => Some(enabled_of(s)?),
    };
    let order = p.str("order").filter(|s| !s.is_empty());
    if let Some(o) = &order {
        if !matches!(o.as_str(), "name" | "created" | "updated") {
            return Err(HtError::invalid(
                "invalid-parameter",
                format!("order must be name, created or updated, not {o}"),
            ));
        }
    }
    let page = state
        .platter
        .user_volume_list(
            &ctx,
            UserVolumeList {
                owner: p.int("userid")?,
                keywords: p.str("keywords"),
                enabled,
                page: p.int("page")?.unwrap_or(1),
                per_page: p.int("offset")?.unwrap_or(20),
                order,
                ascending: p.str("asc").is_some_and(|a| a == "true" || a == "1"),
            },
        )
        .await
        .map_err(|e| HtError::from_domain("list", e))?;
    ok(Some(json!({
        "hasPrevious": page.has_previous,
        "hasNext": page.has_next,
        "total": page.total,
        "entites": page.items.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// The volume `{volumeid}` names, with operation `op`'s error keys.
async fn resolve(
    state: &ApiState,
    ctx: &AuthContext,
    id: &str,
    op: &str,
) -> Result<UserVolumeView, HtError> {
    state
        .platter
        .user_volume_resolve(ctx, id)
        .await
        .map_err(|e| HtError::from_domain(op, e))
}

async fn enable(State(state): State<ApiState>, Path(id): Path<String>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let enabled = enabled_of(&p.required("status")?)?;
    let server = p
        .str("serverId")
        .filter(|s| !s.is_empty())
        .map(ServerId::from);
    let v = resolve(&state, &ctx, &id, "enable").await?;
    state
        .platter
        .user_volume_enable(&ctx, &v, enabled, server.as_ref())
        .await
        .map_err(|e| HtError::from_domain("enable", e))?;
    ok(None)
}

async fn attach(State(state): State<ApiState>, Path(id): Path<String>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let server = ServerId::from(p.required("serverid")?);
    let v = resolve(&state, &ctx, &id, "attach").await?;
    state
        .platter
        .user_volume_attach(&ctx, &v, &server)
        .await
        .map_err(|e| HtError::from_domain("attach", e))?;
    ok(None)
}

async fn detach(State(state): State<ApiState>, Path(id): Path<String>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let server = ServerId::from(p.required("serverid")?);
    let v = resolve(&state, &ctx, &id, "dettach").await?;
    state
        .platter
        .user_volume_detach(&ctx, &v, &server)
        .await
        .map_err(|e| HtError::from_domain("dettach", e))?;
    ok(None)
}

/// A batch's answer: 200 with each item's own status and key.
fn batch_result(items: Vec<(String, Result<(), HtError>)>) -> HtResult {
    let results: Vec<Value> = items
        .into_iter()
        .map(|(id, r)| match r {
            Ok(()) => json!({"id": id, "status": 200, "message": "OK"}),
            Err(e) => json!({"id": id, "status": e.status.as_u16(), "message": e.key,
                             "description": e.description}),
        })
        .collect();
    ok(Some(Value::Array(results)))
}

/// Runs `each` on every id of list parameter `key`; 200 with each item's
/// own status and key.
async fn batch<F, Fut>(ids: Vec<String>, key: &str, op: &str, each: F) -> HtResult
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), DomainError>>,
{
    if ids.is_empty() {
        return Err(HtError::invalid(
            "invalid-parameter",
            format!("{key} is required"),
        ));
    }
    let mut out = Vec::new();
    for id in ids {
        let r = each(id.clone())
            .await
            .map_err(|e| HtError::from_domain(op, e));
        out.push((id, r));
    }
    batch_result(out)
}

async fn batch_enable(State(state): State<ApiState>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let enabled = enabled_of(&p.required("status")?)?;
    let (state, ctx) = (&state, &ctx);
    batch(
        p.list("serverids"),
        "serverids",
        "enable",
        |id| async move {
            let v = state.platter.user_volume_resolve(ctx, &id).await?;
            state
                .platter
                .user_volume_enable(ctx, &v, enabled, None)
                .await
        },
    )
    .await
}

async fn batch_delete(State(state): State<ApiState>, req: Request) -> HtResult {
    let ctx = caller(&req)?;
    let p = Params::read(req).await?;
    let (state, ctx) = (&state, &ctx);
    batch(p.list("volumns"), "volumns", "delete", |id| async move {
        let v = state.platter.user_volume_resolve(ctx, &id).await?;
        state.platter.user_volume_delete(ctx, v.record.unique).await
    })
    .await
}

async fn not_found() -> Response {
    HtError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "The resource could not be found.",
    )
    .into_response()
}

/// The htaiyun router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::*;
    use Method as M;
    let p = |s: &str| format!("{BASE}{s}");
    let (api, mut table) = Routes::new(state.clone(), FAMILY)
        .add(
            M::POST,
            &p("/create"),
            Gate::All(&[VolumeCreate]),
            post(create),
        )
        .add(
            M::POST,
            &p("/{unique}/get"),
            Gate::All(&[VolumeGet]),
            post(show),
        )
        .add(
            M::POST,
            &p("/{unique}/clone"),
            Gate::All(&[VolumeCreate]),
            post(clone),
        )
        .add(
            M::POST,
            &p("/{unique}/update"),
            Gate::All(&[VolumeUpdate]),
            post(update),
        )
        .add(
            M::POST,
            &p("/{unique}/update/{name}"),
            Gate::All(&[VolumeUpdate]),
            post(update_one),
        )
        .add(
            M::POST,
            &p("/{unique}/extend"),
            Gate::All(&[VolumeExtend]),
            post(extend),
        )
        .add(
            M::POST,
            &p("/{unique}/delete"),
            Gate::All(&[VolumeDelete]),
            post(delete),
        )
        .add(
            M::POST,
            &p("/{unique}/status"),
            Gate::All(&[VolumeGet]),
            post(status),
        )
        .add(M::GET, &p("/list"), Gate::All(&[VolumeList]), get(list))
        .add(
            M::POST,
            &p("/{volumeid}/enable"),
            Gate::All(&[VolumeUpdate]),
            post(enable),
        )
        .add(
            M::POST,
            &p("/{volumeid}/attach"),
            Gate::All(&[VolumeAttach]),
            post(attach),
        )
        .add(
            M::POST,
            &p("/{volumeid}/dettach"),
            Gate::All(&[VolumeDetach]),
            post(detach),
        )
        .add(
            M::POST,
            &p("/batchenableordisable"),
            Gate::All(&[VolumeUpdate]),
            post(batch_enable),
        )
        .add(
            M::POST,
            &p("/batchdelete"),
            Gate::All(&[VolumeDelete]),
            post(batch_delete),
        )
        .finish();
    let api = api.route_layer(from_fn_with_state(state.clone(), authenticate));
    let (open, open_table) = Routes::new(state.clone(), FAMILY)
        .add(
            M::POST,
            "/services/openstack/session",
            Gate::All(&[TokenIssue]),
            post(session),
        )
        .add(
            M::POST,
            "/services/openstack/apptoken",
            Gate::All(&[HtaiyunAppTokenIssue]),
            post(app_token),
        )
        .finish();
    table.extend(open_table);
    let router = open
        .merge(api)
        .route("/services/openstack/{*rest}", axum::routing::any(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(
                |s, m| HtError::new(s, "request", m).into_response(),
                req,
                next,
            )
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
}
