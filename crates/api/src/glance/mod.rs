//! The image service: Glance v2's subset (`/v2/images`, data, tags,
//! members, schemas), on its own listener. Authenticated by a Keystone
//! token (or an AK/SK signature with `X-Project-Id`); the URL names no
//! project.

mod errors;
mod images;
mod schemas;
mod views;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
pub use errors::GlanceError;
use platter_model::AuthContext;
use serde_json::{json, Value};

use crate::toolkit::auth::{self, AuthFailure};
use crate::toolkit::normalize::{normalize, www_authenticate};
use crate::toolkit::request_id;
use crate::toolkit::routes::{Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

/// The caller, set by the authentication middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
}

pub type GlanceResult = Result<Response, GlanceError>;

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| GlanceError::from(e).into_response(),
    narrow: crate::toolkit::routes::no_narrowing,
};

/// The versions Platter answers to: Glance's v2.0 to v2.16 (the image
/// API is the same document at each).
fn versions_doc(state: &ApiState) -> Value {
    let href = format!("{}/v2/", state.urls.image.trim_end_matches('/'));
    let versions: Vec<Value> = (0..=16)
        .rev()
        .map(|minor| {
            json!({
                "id": format!("v2.{minor}"),
                "status": if minor == 16 { "CURRENT" } else { "SUPPORTED" },
                "links": [{"rel": "self", "href": href}],
            })
        })
        .collect();
    json!({ "versions": versions })
}

/// `GET /`: 300 with the versions, as Glance.
async fn root(State(state): State<ApiState>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(versions_doc(&state))).into_response()
}

/// `GET /versions`: 200 with the versions.
async fn versions(State(state): State<ApiState>) -> Response {
    Json(versions_doc(&state)).into_response()
}

async fn schema(which: fn() -> Value) -> Response {
    Json(which()).into_response()
}

fn image_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    Routes::new(state.clone(), FAMILY)
        .add(
            M::GET,
            "/v2/images",
            Gate::All(&[ImageList]),
            get(images::list),
        )
        .add(
            M::POST,
            "/v2/images",
            Gate::All(&[ImageCreate]),
            post(images::create),
        )
        .add(
            M::GET,
            "/v2/images/{image_id}",
            Gate::All(&[ImageGet]),
            get(images::show),
        )
        .add(
            M::PATCH,
            "/v2/images/{image_id}",
            Gate::All(&[ImageUpdate, ImageGet]),
            patch(images::update),
        )
        .add(
            M::DELETE,
            "/v2/images/{image_id}",
            Gate::All(&[ImageDelete]),
            delete(images::delete),
        )
        .add(
            M::PUT,
            "/v2/images/{image_id}/file",
            Gate::All(&[ImageUpload]),
            put(images::upload).layer(DefaultBodyLimit::disable()),
        )
        .add(
            M::GET,
            "/v2/images/{image_id}/file",
            Gate::All(&[ImageDownload]),
            get(images::download),
        )
        .add(
            M::POST,
            "/v2/images/{image_id}/actions/deactivate",
            Gate::All(&[ImageDeactivate]),
            post(images::deactivate),
        )
        .add(
            M::POST,
            "/v2/images/{image_id}/actions/reactivate",
            Gate::All(&[ImageReactivate]),
            post(images::reactivate),
        )
        .add(
            M::PUT,
            "/v2/images/{image_id}/tags/{tag}",
            Gate::All(&[ImageUpdate, ImageGet]),
            put(images::tag_add),
        )
        .add(
            M::DELETE,
            "/v2/images/{image_id}/tags/{tag}",
            Gate::All(&[ImageUpdate, ImageGet]),
            delete(images::tag_delete),
        )
        .add(
            M::GET,
            "/v2/images/{image_id}/members",
            Gate::All(&[ImageMemberList]),
            get(images::members),
        )
        .add(
            M::POST,
            "/v2/images/{image_id}/members",
            Gate::All(&[ImageMemberAdd]),
            post(images::member_add),
        )
        .add(
            M::GET,
            "/v2/images/{image_id}/members/{member_id}",
            Gate::All(&[ImageMemberGet]),
            get(images::member_show),
        )
        .add(
            M::PUT,
            "/v2/images/{image_id}/members/{member_id}",
            Gate::All(&[ImageMemberModify]),
            put(images::member_update),
        )
        .add(
            M::DELETE,
            "/v2/images/{image_id}/members/{member_id}",
            Gate::All(&[ImageMemberDelete]),
            delete(images::member_delete),
        )
        .add(
            M::GET,
            "/v2/schemas/image",
            Gate::All(&[ImageGet]),
            get(|| schema(schemas::image)),
        )
        .add(
            M::GET,
            "/v2/schemas/images",
            Gate::All(&[ImageList]),
            get(|| schema(schemas::images)),
        )
        .add(
            M::GET,
            "/v2/schemas/member",
            Gate::All(&[ImageMemberList]),
            get(|| schema(schemas::member)),
        )
        .add(
            M::GET,
            "/v2/schemas/members",
            Gate::All(&[ImageMemberList]),
            get(|| schema(schemas::members)),
        )
}

pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::VersionsGet;
    let (v2, mut table) = image_routes(&state).finish();
    let v2 = v2.layer(from_fn_with_state(state.clone(), authenticate));
    let (top, top_table) = Routes::new(state.clone(), FAMILY)
        .add(Method::GET, "/", Gate::All(&[VersionsGet]), get(root))
        .add(
            Method::GET,
            "/versions",
            Gate::All(&[VersionsGet]),
            get(versions),
        )
        .finish();
    table.extend(top_table);
    let router = top
        .merge(v2)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| GlanceError::new(s, m).into_response(), req, next)
        }))
        .layer(from_fn(errors::by_accept))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
}

async fn not_found() -> Response {
    GlanceError::not_found("The resource could not be found.").into_response()
}

async fn authenticate(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    match auth::authenticate_unscoped_url(&state, req).await {
        Ok((ctx, mut req)) => {
            req.extensions_mut().insert(Caller { ctx });
            next.run(req).await
        }
        Err(failure) => {
            let status = match failure {
                AuthFailure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                AuthFailure::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                AuthFailure::ProjectMismatch(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut resp = GlanceError::new(status, failure.message()).into_response();
            if status == StatusCode::UNAUTHORIZED {
                www_authenticate(&mut resp, &state.urls.identity);
            }
            resp
        }
    }
}
