//! The Huawei Cloud EVS API: `cloudvolumes`, `cloudsnapshots`, v5 standard
//! snapshots, tags, jobs, retype, QoS, batch extend and unsubscribe, over
//! the same volumes and snapshots the Cinder API serves.
//!
//! Paths share the `/v2/{project_id}` and `/v3/{project_id}` prefixes with
//! Cinder; the EVS router holds only EVS's own paths and is merged beside
//! the Cinder router. Errors are `{"error": {"code": "EVS.XXXX", "message"}}`
//! with the codes of the API reference's appendix A.1.

mod errors;
mod jobs;
mod params;
mod snapshots;
mod tags;
mod views;
mod volumes;

use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use platter_model::{AuthContext, DomainError};

pub use errors::EvsError;

use crate::toolkit::auth::{self, AuthFailure};
use crate::toolkit::body::{json_bodies, JsonBodies};
use crate::toolkit::normalize::normalize;
use crate::toolkit::request_id;
use crate::toolkit::routes::{Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

pub type EvsResult = Result<Response, EvsError>;

/// Who is calling: set by the auth middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
}

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| EvsError::from(e).into_response(),
    narrow: |req, scope| {
        if let Some(c) = req.extensions_mut().get_mut::<Caller>() {
            c.ctx.enterprise_scope = Some(scope);
        }
    },
};

/// EVS's own paths, each with the actions it needs (IAM actions of seed
/// 001 chapter 9 and seed 003).
fn api_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    const ROLLBACK: Gate = Gate::All(&[SnapshotRollback, SnapshotGet, VolumeGet]);
    Routes::new(state.clone(), FAMILY)
        // Volumes.
        .add_ep(
            M::POST,
            "/v2.1/{project_id}/cloudvolumes",
            Gate::All(&[VolumeCreate]),
            post(volumes::create_v21),
        )
        .add_ep(
            M::POST,
            "/v2/{project_id}/cloudvolumes",
            Gate::All(&[VolumeCreate]),
            post(volumes::create_v2),
        )
        .add(
            M::GET,
            "/v2/{project_id}/cloudvolumes",
            Gate::All(&[VolumeList]),
            get(volumes::list_summary),
        )
        .add_ep(
            M::POST,
            "/v3/{project_id}/cloudvolumes",
            Gate::All(&[VolumeCreate]),
            post(volumes::create_v3),
        )
        .add_ep(
            M::GET,
            "/v2/{project_id}/cloudvolumes/detail",
            Gate::All(&[VolumeList]),
            get(volumes::list_detail),
        )
        .add(
            M::GET,
            "/v2/{project_id}/os-vendor-volumes/detail",
            Gate::All(&[VolumeList]),
            get(volumes::list_vendor),
        )
        .add(
            M::GET,
            "/v3/{project_id}/os-vendor-volumes/detail",
            Gate::All(&[VolumeList]),
            get(volumes::list_vendor),
        )
        .add(
            M::GET,
            "/v2/{project_id}/cloudvolumes/{volume_id}",
            Gate::All(&[VolumeGet]),
            get(volumes::show),
        )
        .add_ep(
            M::PUT,
            "/v2/{project_id}/cloudvolumes/{volume_id}",
            Gate::All(&[VolumeUpdate]),
            put(volumes::update),
        )
        .add_ep(
            M::DELETE,
            "/v2/{project_id}/cloudvolumes/{volume_id}",
            Gate::All(&[VolumeDelete]),
            delete(volumes::delete),
        )
        .add(
            M::GET,
            "/v2/{project_id}/os-vendor-volumes/{volume_id}",
            Gate::All(&[VolumeGet]),
            get(volumes::show_vendor),
        )
        .add(
            M::GET,
            "/v3/{project_id}/os-vendor-volumes/{volume_id}",
            Gate::All(&[VolumeGet]),
            get(volumes::show_vendor),
        )
        .add_ep(
            M::POST,
            "/v2.1/{project_id}/cloudvolumes/{volume_id}/action",
            Gate::All(&[VolumeExtend]),
            post(volumes::extend_v21),
        )
        .add_ep(
            M::POST,
            "/v2/{project_id}/cloudvolumes/{volume_id}/action",
            Gate::All(&[VolumeExtend]),
            post(volumes::extend_v2),
        )
        .add(
            M::POST,
            "/v2/{project_id}/cloudvolumes/unsubscribe",
            Gate::All(&[VolumeUnsubscribe]),
            post(volumes::unsubscribe),
        )
        .add(
            M::POST,
            "/v5/{project_id}/volumes/batch-extend",
            Gate::All(&[VolumeExtend]),
            post(volumes::batch_extend),
        )
        .add_ep(
            M::POST,
            "/v2/{project_id}/volumes/{volume_id}/retype",
            Gate::All(&[VolumeRetype]),
            post(volumes::retype),
        )
        .add(
            M::PUT,
            "/v5/{project_id}/cloudvolumes/{volume_id}/qos",
            Gate::All(&[VolumeModifyQos]),
            put(volumes::modify_qos),
        )
        // Tags.
        .add(
            M::GET,
            "/v2/{project_id}/cloudvolumes/tags",
            Gate::All(&[VolumeTagsList]),
            get(tags::summary),
        )
        .add(
            M::GET,
            "/v2/{project_id}/cloudvolumes/{volume_id}/tags",
            Gate::All(&[VolumeTagsGet]),
            get(tags::show),
        )
        .add(
            M::POST,
            "/v2/{project_id}/cloudvolumes/{volume_id}/tags/action",
            Gate::OneOf(&[VolumeTagsCreate, VolumeTagsDelete]),
            post(tags::action),
        )
        .add(
            M::POST,
            "/v2/{project_id}/cloudvolumes/resource_instances/action",
            Gate::All(&[VolumeTagsQuery]),
            post(tags::filter),
        )
        // Snapshots.
        .add_ep(
            M::POST,
            "/v2/{project_id}/cloudsnapshots",
            Gate::All(&[SnapshotCreate]),
            post(snapshots::create),
        )
        .add_ep(
            M::GET,
            "/v2/{project_id}/cloudsnapshots/detail",
            Gate::All(&[SnapshotList]),
            get(snapshots::list_detail),
        )
        .add_ep(
            M::GET,
            "/v2/{project_id}/cloudsnapshots/{snapshot_id}",
            Gate::All(&[SnapshotGet]),
            get(snapshots::show),
        )
        .add_ep(
            M::PUT,
            "/v2/{project_id}/cloudsnapshots/{snapshot_id}",
            Gate::All(&[SnapshotUpdate]),
            put(snapshots::update),
        )
        .add_ep(
            M::DELETE,
            "/v2/{project_id}/cloudsnapshots/{snapshot_id}",
            Gate::All(&[SnapshotDelete]),
            delete(snapshots::delete),
        )
        .add_ep(
            M::POST,
            "/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback",
            Gate::All(&[SnapshotRollback]),
            post(snapshots::rollback),
        )
        .add(
            M::POST,
            "/v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback",
            ROLLBACK,
            post(snapshots::rollback_vendor_v2),
        )
        .add(
            M::POST,
            "/v3/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback",
            ROLLBACK,
            post(snapshots::rollback),
        )
        .add(
            M::POST,
            "/v5/{project_id}/snapshots",
            Gate::All(&[SnapshotCreate]),
            post(snapshots::create_v5),
        )
        .add(
            M::GET,
            "/v5/{project_id}/snapshots/detail",
            Gate::All(&[SnapshotList]),
            get(snapshots::list_v5),
        )
        .add(
            M::GET,
            "/v5/{project_id}/snapshots/{snapshot_id}",
            Gate::All(&[SnapshotGet]),
            get(snapshots::show_v5),
        )
        .add(
            M::PUT,
            "/v5/{project_id}/snapshots/{snapshot_id}",
            Gate::All(&[SnapshotUpdate]),
            put(snapshots::update_v5),
        )
        .add(
            M::DELETE,
            "/v5/{project_id}/snapshots/{snapshot_id}",
            Gate::All(&[SnapshotDelete]),
            delete(snapshots::delete_v5),
        )
        // Cinder v1 (deprecated): one volume, in Huawei's view.
        .add(
            M::GET,
            "/v1/{project_id}/volumes/{volume_id}",
            Gate::All(&[VolumeGet]),
            get(volumes::show_v1),
        )
        // Jobs.
        .add(
            M::GET,
            "/v1/{project_id}/jobs/{job_id}",
            Gate::All(&[JobGet]),
            get(jobs::show),
        )
}

/// The EVS router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::VersionsGet;
    let (api, api_table) = api_routes(&state).finish();
    let api = api.route_layer(from_fn_with_state(state.clone(), authenticate));
    let (top, mut table) = Routes::new(state.clone(), FAMILY)
        .add(
            Method::GET,
            "/v1",
            Gate::All(&[VersionsGet]),
            get(jobs::version_v1),
        )
        .add(
            Method::GET,
            "/v1/",
            Gate::All(&[VersionsGet]),
            get(jobs::version_v1),
        )
        .finish();
    table.extend(api_table);
    let router = top
        .merge(api)
        .route_layer(middleware::from_fn(|req, next| {
            json_bodies(JSON_BODIES, req, next)
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| EvsError::framework(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
}

/// EVS takes JSON bodies only; another type is appendix A.2's `415
/// badMediaType`, with the malformed-body code.
const JSON_BODIES: JsonBodies = JsonBodies {
    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
    also: &[],
    message: |media| format!("Content-Type {media} is not supported; send application/json."),
    render: |s, m| EvsError::framework(s, m).into_response(),
};

/// Whether an unknown path of the block-storage listener is under one of
/// EVS's prefixes: the versions only EVS serves there (`/v1`, `/v2.1`,
/// `/v5`), or EVS's own collections under Cinder's `/v2` and `/v3`
/// (`cloudvolumes`, `cloudsnapshots`, `os-vendor-volumes`,
/// `os-vendor-snapshots`). Such a path is answered in EVS's format.
pub(crate) fn claims_unknown_path(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    match segments.next() {
        Some("v1" | "v2.1" | "v5") => true,
        Some("v2" | "v3") => matches!(
            segments.nth(1),
            Some("cloudvolumes" | "cloudsnapshots" | "os-vendor-volumes" | "os-vendor-snapshots")
        ),
        _ => false,
    }
}

/// EVS's answer to an unknown path: `404 EVS.5404`.
pub(crate) fn unknown_path() -> Response {
    EvsError::framework(StatusCode::NOT_FOUND, String::new()).into_response()
}

/// The `{project_id}` of an EVS path: its second segment.
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

/// Authenticates by X-Auth-Token or AK/SK signature for the URL's project;
/// refusals carry EVS's codes and never reach a handler.
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

fn auth_failure(failure: AuthFailure) -> EvsError {
    let message = failure.message();
    match failure {
        AuthFailure::Missing
        | AuthFailure::UnknownKey
        | AuthFailure::BadSignature(_)
        | AuthFailure::Expired(_) => EvsError::new(
            StatusCode::UNAUTHORIZED,
            "EVS.5401",
            format!("Authentication required. {message}"),
        ),
        AuthFailure::BadToken(DomainError::Internal(_)) | AuthFailure::Internal(_) => {
            tracing::error!(error = %message, "authentication failed on the server side");
            EvsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "EVS.5500",
                "Internal server error.",
            )
        }
        AuthFailure::BadToken(_) => EvsError::bad(
            "Common.0013",
            format!("Invalid token in the header. {message}"),
        ),
        AuthFailure::ProjectMismatch(_) => EvsError::bad(
            "Common.0018",
            format!("Invalid token in the header. {message}"),
        ),
        AuthFailure::BodyTooLarge => EvsError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "EVS.5400",
            format!("Malformed request body. {message}"),
        ),
    }
}
