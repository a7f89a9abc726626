//! The OpenStack compute API (Nova v2.1, and v2 on the same paths):
//! servers booted from Platter volumes, their volume attachments, power
//! actions, console output, flavors, limits and versions.
//!
//! Microversions come from `X-OpenStack-Nova-API-Version` or
//! `OpenStack-API-Version: compute X.Y` (2.1 to [`MAX_MICROVERSION`]); `/v2`
//! paths have none. Errors are Nova's `{"badRequest": {"code", "message"}}`
//! bodies.

mod errors;
mod proxies;
mod servers;
pub(crate) mod views;

use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use platter_model::{AuthContext, DomainError};
use serde_json::json;

pub(crate) use errors::key as fault_name;
pub use errors::NovaError;

use crate::toolkit::auth::{self, AuthFailure};
use crate::toolkit::body::{json_bodies, JsonBodies};
use crate::toolkit::normalize::normalize;
use crate::toolkit::request_id;
use crate::toolkit::routes::{Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

pub type NovaResult = Result<Response, NovaError>;

/// The highest compute microversion served (seed 003 §6.1: 2.60).
pub const MAX_MICROVERSION: (u16, u16) = (2, 60);
pub const MAX_MICROVERSION_TEXT: &str = "2.60";

/// The request's compute microversion (2.1 without a header; 2.0 on `/v2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u16, pub u16);

impl Microversion {
    pub fn at_least(self, major: u16, minor: u16) -> bool {
        (self.0, self.1) >= (major, minor)
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
    pub mv: Microversion,
}

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| NovaError::from(e).into_response(),
    narrow: crate::toolkit::routes::no_narrowing,
};

fn api_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    let mut r = Routes::new(state.clone(), FAMILY);
    for v in ["v2.1", "v2"] {
        let p = |tail: &str| format!("/{v}/{{project_id}}{tail}");
        r = r
            .add(
                M::POST,
                &p("/servers"),
                Gate::All(&[ServerCreate]),
                post(servers::create),
            )
            .add(
                M::GET,
                &p("/servers"),
                Gate::All(&[ServerList]),
                get(servers::list),
            )
            .add(
                M::GET,
                &p("/servers/detail"),
                Gate::All(&[ServerList]),
                get(servers::list_detail),
            )
            .add(
                M::GET,
                &p("/servers/{server_id}"),
                Gate::All(&[ServerGet]),
                get(servers::show),
            )
            .add(
                M::PUT,
                &p("/servers/{server_id}"),
                Gate::All(&[ServerUpdate]),
                put(servers::update),
            )
            .add(
                M::DELETE,
                &p("/servers/{server_id}"),
                Gate::All(&[ServerDelete]),
                delete(servers::delete),
            )
            .add(
                M::POST,
                &p("/servers/{server_id}/action"),
                Gate::OneOf(&[
                    ServerStart,
                    ServerStop,
                    ServerReboot,
                    ServerConsoleOutput,
                    ServerLock,
                    ServerUnlock,
                    ServerCreateImage,
                    ServerResize,
                    ServerRebuild,
                ]),
                post(servers::action),
            )
            .add(
                M::GET,
                &p("/servers/{server_id}/os-volume_attachments"),
                Gate::All(&[ServerVolumeAttachmentList]),
                get(servers::attachments),
            )
            .add(
                M::POST,
                &p("/servers/{server_id}/os-volume_attachments"),
                Gate::All(&[ServerVolumeAttach]),
                post(servers::attach),
            )
            .add(
                M::GET,
                &p("/servers/{server_id}/os-volume_attachments/{volume_id}"),
                Gate::All(&[ServerVolumeAttachmentGet]),
                get(servers::attachment),
            )
            .add(
                M::DELETE,
                &p("/servers/{server_id}/os-volume_attachments/{volume_id}"),
                Gate::All(&[ServerVolumeDetach]),
                delete(servers::detach),
            )
            .add(
                M::POST,
                &p("/os-volumes_boot"),
                Gate::All(&[ServerCreate]),
                post(servers::create),
            )
            .add(
                M::GET,
                &p("/flavors"),
                Gate::All(&[FlavorList]),
                get(servers::flavors),
            )
            .add(
                M::GET,
                &p("/flavors/detail"),
                Gate::All(&[FlavorList]),
                get(servers::flavors_detail),
            )
            .add(
                M::GET,
                &p("/flavors/{flavor_id}"),
                Gate::All(&[FlavorGet]),
                get(servers::flavor),
            )
            .add(
                M::GET,
                &p("/flavors/{flavor_id}/os-extra_specs"),
                Gate::All(&[FlavorExtraSpecsGet]),
                get(servers::flavor_extra_specs),
            )
            .add(
                M::GET,
                &p("/limits"),
                Gate::All(&[ComputeLimitsGet]),
                get(servers::limits),
            )
            .add(
                M::GET,
                &p("/os-quota-sets/{tenant_id}"),
                Gate::All(&[ComputeQuotaGet]),
                get(servers::quota_set),
            )
            .add(
                M::GET,
                &p("/os-quota-sets/{tenant_id}/defaults"),
                Gate::All(&[ComputeQuotaGet]),
                get(servers::quota_defaults),
            )
            // The deprecated block-storage proxies: each also needs the
            // EVS action it performs (docs/DECISIONS.md).
            .add(
                M::GET,
                &p("/os-volumes"),
                Gate::All(&[NovaVolumesRead, VolumeList]),
                get(proxies::volumes),
            )
            .add(
                M::GET,
                &p("/os-volumes/detail"),
                Gate::All(&[NovaVolumesRead, VolumeList]),
                get(proxies::volumes),
            )
            .add(
                M::GET,
                &p("/os-volumes/{volume_id}"),
                Gate::All(&[NovaVolumesRead, VolumeGet]),
                get(proxies::volume),
            )
            .add(
                M::POST,
                &p("/os-volumes"),
                Gate::All(&[NovaVolumesWrite, VolumeCreate]),
                post(proxies::volume_create),
            )
            .add(
                M::DELETE,
                &p("/os-volumes/{volume_id}"),
                Gate::All(&[NovaVolumesWrite, VolumeDelete]),
                delete(proxies::volume_delete),
            )
            .add(
                M::POST,
                &p("/os-snapshots"),
                Gate::All(&[NovaSnapshotsWrite, SnapshotCreate]),
                post(proxies::snapshot_create),
            )
            .add(
                M::GET,
                &p("/os-snapshots/{snapshot_id}"),
                Gate::All(&[NovaSnapshotsRead, SnapshotGet]),
                get(proxies::snapshot),
            )
            .add(
                M::DELETE,
                &p("/os-snapshots/{snapshot_id}"),
                Gate::All(&[NovaSnapshotsWrite, SnapshotDelete]),
                delete(proxies::snapshot_delete),
            );
    }
    r
}

/// The Nova router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::VersionsGet;
    let (api, api_table) = api_routes(&state).finish();
    let api = api.route_layer(from_fn_with_state(state.clone(), authenticate));
    let mut top = Routes::new(state.clone(), FAMILY);
    for path in ["/", "/v2.1", "/v2.1/", "/v2", "/v2/"] {
        top = top.add(Method::GET, path, Gate::All(&[VersionsGet]), get(versions));
    }
    let (top, mut table) = top.finish();
    table.extend(api_table);
    // No project in the path (seed 003 §6.3.11): the token's project.
    let (metrics, metrics_table) = Routes::new(state.clone(), FAMILY)
        .add(
            Method::POST,
            "/v1.0/servers/{server_id}/action",
            Gate::OneOf(&[platter_model::Action::ServerMonitorMetrics]),
            post(servers::monitor_metrics),
        )
        .finish();
    let metrics = metrics.route_layer(from_fn_with_state(state.clone(), authenticate_unscoped));
    table.extend(metrics_table);
    let router = top
        .merge(api)
        .merge(metrics)
        .route_layer(middleware::from_fn(|req, next| {
            json_bodies(JSON_BODIES, req, next)
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| NovaError::framework(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
}

/// Nova's `wsgi.Resource`: a declared type other than JSON is `415
/// Unsupported Content-Type`; `text/plain` (eventlet's default) counts as
/// no type, so its body is read as JSON.
const JSON_BODIES: JsonBodies = JsonBodies {
    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
    also: &["text/plain"],
    message: |_| "Unsupported Content-Type".to_string(),
    render: |s, m| NovaError::framework(s, m).into_response(),
};

fn path_of(req: &Request) -> String {
    req.extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string())
}

async fn versions(State(state): State<ApiState>, OriginalUri(uri): OriginalUri) -> Response {
    let base = &state.urls.compute;
    match uri.path().trim_end_matches('/') {
        "/v2.1" => Json(json!({"version": views::version_v21(base)})).into_response(),
        "/v2" => Json(json!({"version": views::version_v2(base)})).into_response(),
        _ => (
            StatusCode::MULTIPLE_CHOICES,
            Json(json!({"versions": [views::version_v2(base), views::version_v21(base)]})),
        )
            .into_response(),
    }
}

/// The microversion a request asks for, or why it cannot be served.
fn microversion(req: &Request, v2: bool) -> Result<Microversion, NovaError> {
    if v2 {
        return Ok(Microversion(2, 0));
    }
    let h = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .map(str::to_string)
    };
    let asked = match h("openstack-api-version") {
        Some(v) => v
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("compute ").map(|x| x.trim().to_string())),
        None => None,
    }
    .or_else(|| h("x-openstack-nova-api-version"));
    let Some(asked) = asked else {
        return Ok(Microversion(2, 1));
    };
    let (lo, hi) = ((2, 1), MAX_MICROVERSION);
    if asked.eq_ignore_ascii_case("latest") {
        return Ok(Microversion(hi.0, hi.1));
    }
    let parsed = asked
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)));
    match parsed {
        Some(v) if v >= lo && v <= hi => Ok(Microversion(v.0, v.1)),
        Some(_) => Err(NovaError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {asked} is not supported by the API. Minimum is 2.1 and maximum is {MAX_MICROVERSION_TEXT}."
            ),
        )),
        None => Err(NovaError::bad(format!(
            "API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum."
        ))),
    }
}

/// Authenticates by token or AK/SK for the URL's project and reads the
/// microversion; answers carry the version served.
async fn authenticate(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let path = path_of(&req);
    let mut segs = path.trim_matches('/').split('/');
    let v2 = segs.next() == Some("v2");
    let project = segs.next().unwrap_or_default().to_string();
    let mv = match microversion(&req, v2) {
        Ok(mv) => mv,
        Err(e) => return e.into_response(),
    };
    match auth::authenticate(&state, req, &project).await {
        Ok((ctx, mut req)) => {
            req.extensions_mut().insert(Caller { ctx, mv });
            let mut resp = next.run(req).await;
            if !v2 {
                let text = format!("{}.{}", mv.0, mv.1);
                if let Ok(v) = HeaderValue::from_str(&text) {
                    resp.headers_mut().insert("x-openstack-nova-api-version", v);
                }
                if let Ok(v) = HeaderValue::from_str(&format!("compute {text}")) {
                    resp.headers_mut().insert("openstack-api-version", v);
                }
                resp.headers_mut().insert(
                    "vary",
                    HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
                );
            }
            resp
        }
        Err(failure) => auth_failure(failure).into_response(),
    }
}

async fn authenticate_unscoped(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    match auth::authenticate_unscoped_url(&state, req).await {
        Ok((ctx, mut req)) => {
            req.extensions_mut().insert(Caller {
                ctx,
                mv: Microversion(2, 1),
            });
            next.run(req).await
        }
        Err(failure) => auth_failure(failure).into_response(),
    }
}

fn auth_failure(failure: AuthFailure) -> NovaError {
    let message = failure.message();
    match failure {
        AuthFailure::BadToken(DomainError::Internal(_)) | AuthFailure::Internal(_) => {
            tracing::error!(error = %message, "authentication failed on the server side");
            NovaError::framework(StatusCode::INTERNAL_SERVER_ERROR, message)
        }
        AuthFailure::ProjectMismatch(_) => NovaError::new(
            StatusCode::BAD_REQUEST,
            format!("Malformed request URL: URL's project_id does not match Context's project_id. {message}"),
        ),
        AuthFailure::BodyTooLarge => NovaError::new(StatusCode::PAYLOAD_TOO_LARGE, message),
        _ => NovaError::new(
            StatusCode::UNAUTHORIZED,
            format!("The request you have made requires authentication. {message}"),
        ),
    }
}
