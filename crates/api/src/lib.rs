//! Platter's HTTP APIs: one axum router per API family, each a view over
//! the one domain service.
//!
//! - [`identity_router`]: the Keystone v3 subset clients log in with.
//! - [`block_storage_router`]: Cinder v3 and v2 under `/v3/{project_id}` and
//!   `/v2/{project_id}`, with the version documents at `/`, `/v3/`, `/v2/`.
//!
//! Wire formats (field names, status codes, error bodies) live here and only
//! here.

mod cinder;
mod common;
pub mod console;
mod ecs;
mod evs;
mod glance;
mod htaiyun;
mod identity;
mod metrics;
mod nova;
pub mod openapi;
pub mod toolkit;

pub use toolkit::routes;

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
    /// e.g. `http://127.0.0.1:9292`
    pub image: String,
    /// e.g. `http://127.0.0.1:8774`
    pub compute: String,
    pub region: String,
}

#[derive(Clone)]
pub struct ApiState {
    pub platter: Platter,
    pub urls: Arc<PublicUrls>,
    /// Signed `POST`s already received (AK/SK replay protection), shared
    /// by every listener.
    pub replay: Arc<toolkit::aksk::ReplayCache>,
}

impl ApiState {
    pub fn new(platter: Platter, urls: PublicUrls) -> ApiState {
        ApiState {
            platter,
            urls: Arc::new(urls),
            replay: Arc::default(),
        }
    }
}

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The listener (port) a family is served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// Keystone's port (5000).
    Identity,
    /// The block-storage port (8776): Cinder and EVS share it, as on
    /// Huawei Cloud (EVS paths are its own: `cloudvolumes`, `/v5/...`).
    BlockStorage,
    /// The image service's port (9292).
    Image,
    /// The compute port (8774): Nova and ECS share it, as on Huawei Cloud.
    Compute,
}

/// A service the catalog lists for a family: its type, name, and the path
/// under the family's listener (`{project_id}` is the caller's project).
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub kind: &'static str,
    pub name: &'static str,
    pub path: &'static str,
}

/// An API family: a folder under `crates/api/src/` and one line in
/// [`FAMILIES`].
pub struct FamilyDef {
    pub name: &'static str,
    pub listener: Listener,
    /// The family's router and its action table.
    pub build: fn(ApiState) -> (Router, Vec<routes::RouteEntry>),
    /// What the identity catalog advertises for it.
    pub catalog: &'static [CatalogEntry],
}

/// Every API family this server speaks. Listeners, route tables and the
/// catalog are all built from this list.
pub const FAMILIES: &[FamilyDef] = &[
    FamilyDef {
        name: "identity",
        listener: Listener::Identity,
        build: identity::build,
        catalog: &[CatalogEntry {
            kind: "identity",
            name: "keystone",
            path: "/v3",
        }],
    },
    FamilyDef {
        name: "cinder",
        listener: Listener::BlockStorage,
        build: cinder::build,
        catalog: &[
            CatalogEntry {
                kind: "block-storage",
                name: "cinder",
                path: "/v3/{project_id}",
            },
            CatalogEntry {
                kind: "volumev3",
                name: "cinderv3",
                path: "/v3/{project_id}",
            },
            CatalogEntry {
                kind: "volumev2",
                name: "cinderv2",
                path: "/v2/{project_id}",
            },
        ],
    },
    FamilyDef {
        name: "evs",
        listener: Listener::BlockStorage,
        build: evs::build,
        catalog: &[],
    },
    FamilyDef {
        name: "glance",
        listener: Listener::Image,
        build: glance::build,
        // The unversioned root: clients discover `/v2` from it.
        catalog: &[CatalogEntry {
            kind: "image",
            name: "glance",
            path: "",
        }],
    },
    FamilyDef {
        name: "htaiyun",
        listener: Listener::BlockStorage,
        build: htaiyun::build,
        catalog: &[],
    },
    FamilyDef {
        name: "nova",
        listener: Listener::Compute,
        build: nova::build,
        catalog: &[CatalogEntry {
            kind: "compute",
            name: "nova",
            path: "/v2.1/{project_id}",
        }],
    },
    FamilyDef {
        name: "ecs",
        listener: Listener::Compute,
        build: ecs::build,
        catalog: &[CatalogEntry {
            kind: "ecs",
            name: "ecs",
            path: "/v1/{project_id}",
        }],
    },
];

/// The router of one listener: every family served on it, merged.
/// Requests are counted in the metrics by family and route template.
pub fn router_for(listener: Listener, state: ApiState) -> Router {
    let mut families = std::collections::HashMap::new();
    let router =
        FAMILIES
            .iter()
            .filter(|f| f.listener == listener)
            .fold(Router::new(), |router, f| {
                let (r, entries) = (f.build)(state.clone());
                for e in entries {
                    families.entry(e.path).or_insert(f.name);
                }
                router.merge(r)
            });
    router.layer(axum::middleware::from_fn_with_state(
        Arc::new(families),
        metrics::record,
    ))
}

pub fn identity_router(state: ApiState) -> Router {
    router_for(Listener::Identity, state)
}

/// Every family's action table: `(family, route)`, for the tests that hold
/// each route to its declared actions.
pub fn route_table(state: ApiState) -> Vec<(&'static str, routes::RouteEntry)> {
    FAMILIES
        .iter()
        .flat_map(|f| {
            (f.build)(state.clone())
                .1
                .into_iter()
                .map(move |e| (f.name, e))
        })
        .collect()
}

/// The image service (Glance v2).
pub fn image_router(state: ApiState) -> Router {
    router_for(Listener::Image, state)
}

/// Nova and the ECS API share the compute endpoint.
pub fn compute_router(state: ApiState) -> Router {
    router_for(Listener::Compute, state)
}

/// Cinder v2/v3 and the EVS API share the block-storage endpoint.
pub fn block_storage_router(state: ApiState) -> Router {
    router_for(Listener::BlockStorage, state)
}
