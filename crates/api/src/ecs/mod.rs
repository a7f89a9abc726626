//! The Huawei Cloud ECS API: `cloudservers` (create, batch delete, batch
//! start/stop/reboot, attach and detach disks, block devices, flavors,
//! limits) and its jobs, on the compute port beside Nova, over the same
//! servers. Async operations answer a `job_id` shown at
//! `GET /v1/{project_id}/jobs/{job_id}` in ECS's job shape. Errors are
//! `{"error": {"code": "Ecs.XXXX", "message"}}` (appendix A.2).

mod errors;
mod servers;

use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use platter_model::{AuthContext, DomainError};

pub use errors::EcsError;

use crate::toolkit::auth::{self, AuthFailure};
use crate::toolkit::body::{json_bodies, JsonBodies};
use crate::toolkit::normalize::normalize;
use crate::toolkit::request_id;
use crate::toolkit::routes::{Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

pub type EcsResult = Result<Response, EcsError>;

#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
}

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| EcsError::from(e).into_response(),
    narrow: crate::toolkit::routes::no_narrowing,
};

fn api_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    Routes::new(state.clone(), FAMILY)
        .add(
            M::POST,
            "/v1/{project_id}/cloudservers",
            Gate::All(&[EcsServerCreate]),
            post(servers::create),
        )
        .add(
            M::POST,
            "/v1.1/{project_id}/cloudservers",
            Gate::All(&[EcsServerCreate]),
            post(servers::create),
        )
        .add(
            M::POST,
            "/v1/{project_id}/cloudservers/delete",
            Gate::All(&[EcsServerDelete]),
            post(servers::delete_batch),
        )
        .add(
            M::POST,
            "/v1/{project_id}/cloudservers/action",
            Gate::OneOf(&[EcsServerStart, EcsServerStop, EcsServerReboot]),
            post(servers::action_batch),
        )
        .add(
            M::GET,
            "/v1/{project_id}/cloudservers/flavors",
            Gate::All(&[EcsFlavorList]),
            get(servers::flavors),
        )
        .add(
            M::GET,
            "/v1/{project_id}/cloudservers/limits",
            Gate::All(&[EcsLimitsGet]),
            get(servers::limits),
        )
        .add(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/resize",
            Gate::All(&[EcsServerResize]),
            post(servers::resize),
        )
        .add(
            M::POST,
            "/v1.1/{project_id}/cloudservers/{server_id}/resize",
            Gate::All(&[EcsServerResize]),
            post(servers::resize),
        )
        .add(
            M::POST,
            "/v2/{project_id}/cloudservers/{server_id}/reinstallos",
            Gate::All(&[EcsServerReinstall]),
            post(servers::reinstall),
        )
        .add(
            M::POST,
            "/v2/{project_id}/cloudservers/{server_id}/changeos",
            Gate::All(&[EcsServerChangeOs]),
            post(servers::change_os),
        )
        .add(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/migrate",
            Gate::All(&[EcsServerMigrate]),
            post(servers::migrate),
        )
        .add(
            M::POST,
            "/v1/{project_id}/cloudservers/{server_id}/attachvolume",
            Gate::All(&[EcsServerAttach]),
            post(servers::attach),
        )
        .add(
            M::DELETE,
            "/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}",
            Gate::All(&[EcsServerDetach]),
            delete(servers::detach),
        )
        .add(
            M::GET,
            "/v1/{project_id}/cloudservers/{server_id}/block_device",
            Gate::All(&[EcsBlockDeviceList]),
            get(servers::block_devices),
        )
        .add(
            M::GET,
            "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}",
            Gate::All(&[EcsBlockDeviceGet]),
            get(servers::block_device),
        )
        .add(
            M::GET,
            "/v1/{project_id}/jobs/{job_id}",
            Gate::All(&[EcsJobGet]),
            get(servers::job),
        )
}

/// The `/v2.1/servers/{server_id}/block_device` forms: no project in the
/// path (seed 003 §5.6.3), so the token's project (or AK/SK's
/// `X-Project-Id`) is the caller's.
fn unscoped_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    Routes::new(state.clone(), FAMILY)
        .add(
            Method::GET,
            "/v2.1/servers/{server_id}/block_device",
            Gate::All(&[EcsBlockDeviceList]),
            get(servers::block_devices_unscoped),
        )
        .add(
            Method::GET,
            "/v2.1/servers/{server_id}/block_device/{volume_id}",
            Gate::All(&[EcsBlockDeviceGet]),
            get(servers::block_device_unscoped),
        )
}

/// The ECS router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    let (api, mut table) = api_routes(&state).finish();
    let api = api.route_layer(from_fn_with_state(state.clone(), authenticate));
    let (unscoped, unscoped_table) = unscoped_routes(&state).finish();
    let unscoped = unscoped.route_layer(from_fn_with_state(state.clone(), authenticate_unscoped));
    table.extend(unscoped_table);
    let router = api
        .merge(unscoped)
        .route_layer(middleware::from_fn(|req, next| {
            json_bodies(JSON_BODIES, req, next)
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| EcsError::framework(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
}

/// ECS takes JSON bodies only; another type is `415 Unsupported Media
/// Type` (appendix A.1) with `Ecs.0005`.
const JSON_BODIES: JsonBodies = JsonBodies {
    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
    also: &[],
    message: |media| format!("Content-Type {media} is not supported; send application/json."),
    render: |s, m| EcsError::framework(s, m).into_response(),
};

fn url_project(req: &Request) -> String {
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    path.trim_matches('/')
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

async fn authenticate(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let project = url_project(&req);
    match auth::authenticate(&state, req, &project).await {
        Ok((ctx, mut req)) => {
            req.extensions_mut().insert(Caller { ctx });
            next.run(req).await
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
            req.extensions_mut().insert(Caller { ctx });
            next.run(req).await
        }
        Err(failure) => auth_failure(failure).into_response(),
    }
}

fn auth_failure(failure: AuthFailure) -> EcsError {
    let message = failure.message();
    match failure {
        AuthFailure::BadToken(DomainError::Internal(_)) | AuthFailure::Internal(_) => {
            tracing::error!(error = %message, "authentication failed on the server side");
            EcsError::framework(StatusCode::INTERNAL_SERVER_ERROR, message)
        }
        AuthFailure::ProjectMismatch(_) => EcsError::new(
            StatusCode::BAD_REQUEST,
            "Common.0018",
            format!("The project ID in the URL is different from that in the token. {message}"),
        ),
        AuthFailure::BodyTooLarge => EcsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Ecs.0005",
            format!("request body is illegal. {message}"),
        ),
        _ => EcsError::new(
            StatusCode::UNAUTHORIZED,
            "Common.0013",
            format!("Invalid token. {message}"),
        ),
    }
}
