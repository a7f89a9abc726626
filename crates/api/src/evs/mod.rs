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
use axum::http::StatusCode;
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use platter_model::{AuthContext, DomainError};

pub use errors::EvsError;

use crate::auth::{self, AuthFailure};
use crate::error::normalize;
use crate::{request_id, ApiState, MAX_BODY_BYTES};

pub type EvsResult = Result<Response, EvsError>;

/// Who is calling: set by the auth middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
}

pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        // Volumes.
        .route("/v2.1/{project_id}/cloudvolumes", post(volumes::create_v21))
        .route(
            "/v2/{project_id}/cloudvolumes",
            post(volumes::create_v2).get(volumes::list_summary),
        )
        .route("/v3/{project_id}/cloudvolumes", post(volumes::create_v3))
        .route(
            "/v2/{project_id}/cloudvolumes/detail",
            get(volumes::list_detail),
        )
        .route(
            "/v2/{project_id}/os-vendor-volumes/detail",
            get(volumes::list_vendor),
        )
        .route(
            "/v3/{project_id}/os-vendor-volumes/detail",
            get(volumes::list_vendor),
        )
        .route(
            "/v2/{project_id}/cloudvolumes/{volume_id}",
            get(volumes::show)
                .put(volumes::update)
                .delete(volumes::delete),
        )
        .route(
            "/v2/{project_id}/os-vendor-volumes/{volume_id}",
            get(volumes::show_vendor),
        )
        .route(
            "/v3/{project_id}/os-vendor-volumes/{volume_id}",
            get(volumes::show_vendor),
        )
        .route(
            "/v2.1/{project_id}/cloudvolumes/{volume_id}/action",
            post(volumes::extend_v21),
        )
        .route(
            "/v2/{project_id}/cloudvolumes/{volume_id}/action",
            post(volumes::extend_v2),
        )
        .route(
            "/v2/{project_id}/cloudvolumes/unsubscribe",
            post(volumes::unsubscribe),
        )
        .route(
            "/v5/{project_id}/volumes/batch-extend",
            post(volumes::batch_extend),
        )
        .route(
            "/v2/{project_id}/volumes/{volume_id}/retype",
            post(volumes::retype),
        )
        .route(
            "/v5/{project_id}/cloudvolumes/{volume_id}/qos",
            put(volumes::modify_qos),
        )
        // Tags.
        .route("/v2/{project_id}/cloudvolumes/tags", get(tags::summary))
        .route(
            "/v2/{project_id}/cloudvolumes/{volume_id}/tags",
            get(tags::show),
        )
        .route(
            "/v2/{project_id}/cloudvolumes/{volume_id}/tags/action",
            post(tags::action),
        )
        .route(
            "/v2/{project_id}/cloudvolumes/resource_instances/action",
            post(tags::filter),
        )
        // Snapshots.
        .route("/v2/{project_id}/cloudsnapshots", post(snapshots::create))
        .route(
            "/v2/{project_id}/cloudsnapshots/detail",
            get(snapshots::list_detail),
        )
        .route(
            "/v2/{project_id}/cloudsnapshots/{snapshot_id}",
            get(snapshots::show)
                .put(snapshots::update)
                .delete(snapshots::delete),
        )
        .route(
            "/v2/{project_id}/cloudsnapshots/{snapshot_id}/rollback",
            post(snapshots::rollback),
        )
        .route(
            "/v2/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback",
            post(snapshots::rollback_vendor_v2),
        )
        .route(
            "/v3/{project_id}/os-vendor-snapshots/{snapshot_id}/rollback",
            post(snapshots::rollback),
        )
        .route("/v5/{project_id}/snapshots", post(snapshots::create_v5))
        .route("/v5/{project_id}/snapshots/detail", get(snapshots::list_v5))
        .route(
            "/v5/{project_id}/snapshots/{snapshot_id}",
            get(snapshots::show_v5)
                .put(snapshots::update_v5)
                .delete(snapshots::delete_v5),
        )
        // Jobs.
        .route("/v1/{project_id}/jobs/{job_id}", get(jobs::show))
        .route_layer(from_fn_with_state(state.clone(), authenticate));

    Router::new()
        .route("/v1", get(jobs::version_v1))
        .route("/v1/", get(jobs::version_v1))
        .merge(api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| EvsError::framework(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state)
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
