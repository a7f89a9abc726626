//! The web console (issue 14): a single-page app on its own listener
//! (default 127.0.0.1:8080), served from three embedded files
//! (`assets/index.html`, `app.js`, `style.css`: hand-written, no build step,
//! nothing fetched from elsewhere).
//!
//! The app speaks the public APIs and nothing else for what they already
//! say: this router mounts the in-process families under same-origin
//! prefixes, so the browser calls Keystone, Cinder, Nova and Glance with
//! its token exactly as any client would:
//!
//! | prefix | listener |
//! |---|---|
//! | `/api/identity` | [`Listener::Identity`] (Keystone) |
//! | `/api/volume` | [`Listener::BlockStorage`] (Cinder, EVS) |
//! | `/api/image` | [`Listener::Image`] (Glance) |
//! | `/api/compute` | [`Listener::Compute`] (Nova, ECS) |
//!
//! What no public API says has three small endpoints of its own, each
//! authenticated by `X-Auth-Token` (401 without a valid one) and JSON out:
//!
//! - `GET /console/series/volumes/{volume_id}`: the volume's IOPS per
//!   operation and throughput (bytes/s) per direction, as rates computed
//!   here from consecutive samples of the NBD counters in the
//!   [`History`]. A volume the caller may not see (another project's) is
//!   404, as in Cinder; the action is `volume:get`.
//! - `GET /console/series/pools`: each pool's capacity and allocated bytes
//!   over time. The action is Cinder's `get_pools` (admins only).
//! - `GET /console/jobs`: the jobs not finished yet (queued or running) of
//!   the caller's project, every project's for admins. There is no public
//!   job list: EVS and ECS show one job by id.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use platter_metrics::{History, Point};
use platter_model::{Action, AuthContext, DomainError, VolumeId};
use serde_json::{json, Value};

use crate::{router_for, ApiState, Listener};

/// Requests per operation, by `volume` and `op` (a counter).
pub const NBD_REQUESTS: &str = "platter_nbd_requests_total";
/// Bytes read and written, by `volume` and `op` (a counter).
pub const NBD_BYTES: &str = "platter_nbd_bytes_total";
/// A pool's capacity, by `pool` (a gauge).
pub const POOL_CAPACITY: &str = "platter_pool_capacity_bytes";
/// A pool's allocated bytes, by `pool` (a gauge).
pub const POOL_ALLOCATED: &str = "platter_pool_allocated_bytes";

/// The families the console plots: what the binary samples into the
/// [`History`] it hands to [`router`].
pub const FAMILIES: &[&str] = &[NBD_REQUESTS, NBD_BYTES, POOL_CAPACITY, POOL_ALLOCATED];

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The app loads its own script and style only, and talks to its own
/// origin only; nothing inline runs.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

#[derive(Clone)]
struct Console {
    state: ApiState,
    history: Arc<History>,
}

/// The console's router: the app, its three endpoints, and the public API
/// families mounted under `/api/...`.
pub fn router(state: ApiState, history: Arc<History>) -> Router {
    let own = Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/app.js", get(app_js))
        .route("/style.css", get(style_css))
        .route("/console/series/volumes/{volume_id}", get(volume_series))
        .route("/console/series/pools", get(pool_series))
        .route("/console/jobs", get(jobs))
        .fallback(not_found)
        .with_state(Console {
            state: state.clone(),
            history,
        })
        // A bug costs one request a 500, never the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::new());
    own.nest("/api/identity", mounted(Listener::Identity, &state))
        .nest("/api/volume", mounted(Listener::BlockStorage, &state))
        .nest("/api/image", mounted(Listener::Image, &state))
        .nest("/api/compute", mounted(Listener::Compute, &state))
        .layer(middleware::from_fn(security_headers))
}

/// A listener's router as it is served on its own port. The families read
/// their path from [`OriginalUri`] (a router nested in them has stripped
/// its prefix from the request's URI), which the outer router set to the
/// console's full path: it is set again to the path below the prefix, so
/// a family sees exactly the request it would on its own listener.
fn mounted(listener: Listener, state: &ApiState) -> Router {
    router_for(listener, state.clone()).layer(middleware::map_request(own_uri))
}

async fn own_uri(mut req: Request) -> Request {
    let uri = req.uri().clone();
    req.extensions_mut().insert(OriginalUri(uri));
    req
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn not_found() -> ConsoleError {
    ConsoleError(
        StatusCode::NOT_FOUND,
        "The resource could not be found.".into(),
    )
}

/// An error of the console's own endpoints:
/// `{"error": {"code": 404, "message": "..."}}`.
#[derive(Debug)]
struct ConsoleError(StatusCode, String);

impl From<DomainError> for ConsoleError {
    fn from(e: DomainError) -> ConsoleError {
        let status = match &e {
            DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
            DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            DomainError::Forbidden(_) | DomainError::NotAllowed { .. } => StatusCode::FORBIDDEN,
            DomainError::Internal(_) | DomainError::Backend(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "console request failed");
        }
        ConsoleError(status, e.to_string())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let ConsoleError(status, message) = self;
        (
            status,
            Json(json!({"error": {"code": status.as_u16(), "message": message}})),
        )
            .into_response()
    }
}

type ConsoleResult = Result<Json<Value>, ConsoleError>;

/// The caller an `X-Auth-Token` stands for (a project-scoped token).
async fn caller(state: &ApiState, headers: &HeaderMap) -> Result<AuthContext, ConsoleError> {
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ConsoleError(
                StatusCode::UNAUTHORIZED,
                "The request you have made requires authentication.".into(),
            )
        })?;
    Ok(state.platter.auth_context(token).await?)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The per-second rate of a counter between consecutive samples, stamped
/// at the later one. A counter that went down was reset (the export
/// ended and began again): its new value is what was counted since.
pub fn rates(points: &[Point]) -> Vec<[f64; 2]> {
    points
        .windows(2)
        .filter_map(|w| {
            let dt = w[1].t - w[0].t;
            if dt <= 0.0 {
                return None;
            }
            let dv = if w[1].v >= w[0].v {
                w[1].v - w[0].v
            } else {
                w[1].v
            };
            Some([w[1].t, dv / dt])
        })
        .collect()
}

fn label<'a>(labels: &'a [(String, String)], name: &str) -> &'a str {
    labels
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Each series of `family` for the volume, as `{"label": op, "points":
/// [[t, rate], ...]}`, ordered by operation.
fn volume_rates(history: &History, family: &str, volume: &str) -> Vec<Value> {
    let mut series: Vec<(String, Vec<[f64; 2]>)> = history
        .query(family, &[("volume", volume)])
        .into_iter()
        .map(|(labels, points)| (label(&labels, "op").to_string(), rates(&points)))
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series
        .into_iter()
        .map(|(op, points)| json!({"label": op, "points": points}))
        .collect()
}

/// `GET /console/series/volumes/{volume_id}`.
async fn volume_series(
    State(c): State<Console>,
    Path(volume_id): Path<String>,
    headers: HeaderMap,
) -> ConsoleResult {
    let ctx = caller(&c.state, &headers).await?;
    let volume = c
        .state
        .platter
        .volume_get(&ctx, &VolumeId::from(volume_id.as_str()))
        .await?;
    let id = volume.id.to_string();
    Ok(Json(json!({
        "volume_id": id,
        "now": now(),
        "iops": volume_rates(&c.history, NBD_REQUESTS, &id),
        "throughput": volume_rates(&c.history, NBD_BYTES, &id),
    })))
}

fn gauge_points(points: &[Point]) -> Vec<[f64; 2]> {
    points.iter().map(|p| [p.t, p.v]).collect()
}

/// `GET /console/series/pools`.
async fn pool_series(State(c): State<Console>, headers: HeaderMap) -> ConsoleResult {
    let ctx = caller(&c.state, &headers).await?;
    c.state.platter.authorize(&ctx, Action::PoolsGet)?;
    let mut pools: std::collections::BTreeMap<String, Value> = Default::default();
    for (family, key) in [(POOL_CAPACITY, "capacity"), (POOL_ALLOCATED, "allocated")] {
        for (labels, points) in c.history.query(family, &[]) {
            let pool = label(&labels, "pool").to_string();
            let entry = pools
                .entry(pool.clone())
                .or_insert_with(|| json!({"pool": pool, "capacity": [], "allocated": []}));
            entry[key] = json!(gauge_points(&points));
        }
    }
    Ok(Json(json!({
        "now": now(),
        "pools": pools.into_values().collect::<Vec<_>>(),
    })))
}

/// `GET /console/jobs`: the unfinished jobs the caller may see.
async fn jobs(State(c): State<Console>, headers: HeaderMap) -> ConsoleResult {
    let ctx = caller(&c.state, &headers).await?;
    let jobs: Vec<Value> = c
        .state
        .platter
        .jobs_unfinished(&ctx)
        .await?
        .into_iter()
        .map(|j| {
            json!({
                "id": j.id,
                "kind": j.kind.as_str(),
                "status": j.status.as_str(),
                "resource_id": j.resource_id,
                "project_id": j.project_id,
                "step": j.step,
                "created_at": j.created_at,
                "begin_at": j.begin_at,
                "error": j.error,
                "parent_id": j.parent_id,
            })
        })
        .collect();
    Ok(Json(json!({ "jobs": jobs })))
}

#[cfg(test)]
mod tests;
