//! Platter's HTTP APIs: one axum router per API family, each a view over
//! the one domain service.
//!
//! - [`identity_router`]: the Keystone v3 subset clients log in with.
//! - [`block_storage_router`]: Cinder v3 and v2 under `/v3/{project_id}` and
//!   `/v2/{project_id}`, with the version documents at `/`, `/v3/`, `/v2/`.
//!
//! Wire formats (field names, status codes, error bodies) live here and only
//! here.

mod aksk;
mod auth;
mod body;
mod cinder;
mod common;
mod error;
mod evs;
mod identity;
mod request_id;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use platter_service::Platter;

pub use cinder::{MAX_MICROVERSION, MIN_MICROVERSION};

/// Where clients reach each service: the base URLs written into the catalog
/// and into links.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// e.g. `http://127.0.0.1:5000`
    pub identity: String,
    /// e.g. `http://127.0.0.1:8776`
    pub block_storage: String,
    pub region: String,
}

#[derive(Clone)]
pub struct ApiState {
    pub platter: Platter,
    pub urls: Arc<PublicUrls>,
}

impl ApiState {
    pub fn new(platter: Platter, urls: PublicUrls) -> ApiState {
        ApiState {
            platter,
            urls: Arc::new(urls),
        }
    }
}

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub fn identity_router(state: ApiState) -> Router {
    identity::router(state)
}

/// Every family's action table: `(family, route)`, for the tests that hold
/// each route to its declared actions.
pub fn route_table(state: ApiState) -> Vec<(&'static str, routes::RouteEntry)> {
    let mut all = Vec::new();
    for (family, table) in [
        ("identity", identity::build(state.clone()).1),
        ("cinder", cinder::build(state.clone()).1),
        ("evs", evs::build(state).1),
    ] {
        all.extend(table.into_iter().map(|e| (family, e)));
    }
    all
}

/// Cinder v2/v3 and the EVS API share the block-storage endpoint, as on
/// Huawei Cloud: EVS paths are its own (`cloudvolumes`, `/v5/...`).
pub fn block_storage_router(state: ApiState) -> Router {
    cinder::router(state.clone()).merge(evs::router(state))
}
