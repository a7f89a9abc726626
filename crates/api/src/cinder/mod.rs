//! The Cinder block-storage API, v3 (with microversions) and v2, under
//! `/v3/{project_id}` and `/v2/{project_id}`.

mod attachments;
mod metadata;
mod params;
mod quotas;
mod snapshots;
pub(crate) mod views;
mod volumes;

use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use platter_model::AuthContext;
use serde_json::{json, Value};

use self::metadata::Owner;
use crate::auth::{self, AuthFailure};
use crate::error::{normalize, www_authenticate, CinderError, Family};
use crate::{request_id, ApiState, MAX_BODY_BYTES};

/// Microversions this server speaks: `OpenStack-API-Version: volume 3.N`.
pub const MIN_MICROVERSION: u16 = 0;
pub const MAX_MICROVERSION: u16 = 70;

/// The API version of a request: `(2, 0)` for v2, `(3, N)` for v3.N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion {
    pub major: u8,
    pub minor: u16,
}

impl ApiVersion {
    pub fn at_least(self, minor: u16) -> bool {
        self.major == 3 && self.minor >= minor
    }
    pub fn prefix(self) -> &'static str {
        if self.major == 2 {
            "v2"
        } else {
            "v3"
        }
    }
}

/// Who is calling, with which API version: set by the auth middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
    pub api: ApiVersion,
}

pub type CinderResult = Result<Response, CinderError>;

pub fn router(state: ApiState) -> Router {
    let project = Router::new()
        .route("/", get(version_v3_for_project))
        .route("/volumes", get(volumes::list).post(volumes::create))
        .route("/volumes/detail", get(volumes::list_detail))
        .route(
            "/volumes/{volume_id}",
            get(volumes::show)
                .put(volumes::update)
                .delete(volumes::delete),
        )
        .route("/volumes/{volume_id}/action", post(volumes::action))
        .route(
            "/volumes/{volume_id}/metadata",
            metadata::collection(Owner::Volume),
        )
        .route(
            "/volumes/{volume_id}/metadata/{key}",
            metadata::item(Owner::Volume),
        )
        .route("/snapshots", get(snapshots::list).post(snapshots::create))
        .route("/snapshots/detail", get(snapshots::list_detail))
        .route(
            "/snapshots/{snapshot_id}",
            get(snapshots::show)
                .put(snapshots::update)
                .delete(snapshots::delete),
        )
        .route("/snapshots/{snapshot_id}/action", post(snapshots::action))
        .route(
            "/snapshots/{snapshot_id}/metadata",
            metadata::collection(Owner::Snapshot),
        )
        .route(
            "/snapshots/{snapshot_id}/metadata/{key}",
            metadata::item(Owner::Snapshot),
        )
        .route(
            "/attachments",
            get(attachments::list).post(attachments::create),
        )
        .route("/attachments/detail", get(attachments::list_detail))
        .route(
            "/attachments/{attachment_id}",
            get(attachments::show)
                .put(attachments::update)
                .delete(attachments::delete),
        )
        .route(
            "/attachments/{attachment_id}/action",
            post(attachments::action),
        )
        .route("/types", get(type_list))
        .route("/types/default", get(type_default))
        .route("/types/{type_id}", get(type_show))
        .route("/os-availability-zone", get(availability_zones))
        .route("/limits", get(quotas::limits))
        .route(
            "/os-quota-sets/{target}",
            get(quotas::show).put(quotas::update).delete(quotas::reset),
        )
        .route("/os-quota-sets/{target}/defaults", get(quotas::defaults))
        .route("/extensions", get(extensions))
        .route("/scheduler-stats/get_pools", get(get_pools))
        .layer(from_fn_with_state(state.clone(), authenticate));

    Router::new()
        .route("/", get(versions))
        .route("/v3", get(version_v3))
        .route("/v3/", get(version_v3))
        .route("/v2", get(version_v2))
        .route("/v2/", get(version_v2))
        .nest("/v3/{project_id}", project.clone())
        .nest("/v2/{project_id}", project)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(Family::Cinder, req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state)
}

async fn not_found() -> CinderError {
    CinderError::not_found("The resource could not be found.")
}

/// Parses `OpenStack-API-Version: volume 3.N` (or `latest`).
fn microversion(req: &Request) -> Result<u16, CinderError> {
    let Some(raw) = req.headers().get("openstack-api-version") else {
        return Ok(MIN_MICROVERSION);
    };
    let raw = raw
        .to_str()
        .map_err(|_| CinderError::bad_request("Invalid OpenStack-API-Version header."))?;
    let Some(value) = raw
        .split(',')
        .map(str::trim)
        .find_map(|item| item.strip_prefix("volume ").map(str::trim))
    else {
        return Ok(MIN_MICROVERSION);
    };
    if value.eq_ignore_ascii_case("latest") {
        return Ok(MAX_MICROVERSION);
    }
    let parsed = value
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse::<u16>().ok()?, minor.parse::<u16>().ok()?)));
    match parsed {
        Some((3, minor)) if (MIN_MICROVERSION..=MAX_MICROVERSION).contains(&minor) => Ok(minor),
        Some(_) => Err(CinderError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {value} is not supported by the API. Minimum is 3.{MIN_MICROVERSION} and maximum is 3.{MAX_MICROVERSION}."
            ),
        )),
        None => Err(CinderError::bad_request(format!(
            "API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum."
        ))),
    }
}

/// Authenticates (token or AK/SK signature) for the URL's project, and
/// negotiates the microversion.
async fn authenticate(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    // Inside the nested router the URI has lost its `/v3/{project_id}` prefix.
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments.len() < 3 {
        // `/v3/{project_id}`: the version document, open to all.
        return next.run(req).await;
    }
    let major = if segments[0] == "v2" { 2 } else { 3 };
    let minor = if major == 3 {
        match microversion(&req) {
            Ok(m) => m,
            Err(e) => return e.into_response(),
        }
    } else {
        0
    };
    let api = ApiVersion { major, minor };
    let url_project_id = segments[1].to_string();
    let (ctx, mut req) = match auth::authenticate(&state, req, &url_project_id).await {
        Ok(authenticated) => authenticated,
        Err(failure) => return auth_failure(&state, failure),
    };
    tracing::debug!(user = %ctx.user_id, project = %ctx.project_id, microversion = minor, "authenticated");
    req.extensions_mut().insert(Caller { ctx, api });
    let mut resp = next.run(req).await;
    if major == 3 {
        if let Ok(v) = HeaderValue::from_str(&format!("volume 3.{minor}")) {
            resp.headers_mut().insert("openstack-api-version", v);
        }
        resp.headers_mut().insert(
            header::VARY,
            HeaderValue::from_static("OpenStack-API-Version"),
        );
    }
    resp
}

/// Cinder's answer to a failed authentication: 401 (with WWW-Authenticate)
/// for missing or bad credentials, 400 "Malformed request url" when they
/// are not for the URL's project.
fn auth_failure(state: &ApiState, failure: AuthFailure) -> Response {
    let unauthorized = |e: CinderError| {
        let mut resp = e.into_response();
        if resp.status() == StatusCode::UNAUTHORIZED {
            www_authenticate(&mut resp, &state.urls.identity);
        }
        resp
    };
    match failure {
        AuthFailure::BadToken(e) | AuthFailure::Internal(e) => unauthorized(CinderError::from(e)),
        AuthFailure::ProjectMismatch(why) => {
            tracing::debug!(reason = %why, "credentials are for another project");
            CinderError::bad_request("Malformed request url").into_response()
        }
        AuthFailure::BodyTooLarge => {
            CinderError::new(StatusCode::PAYLOAD_TOO_LARGE, failure.message()).into_response()
        }
        AuthFailure::Missing
        | AuthFailure::UnknownKey
        | AuthFailure::BadSignature(_)
        | AuthFailure::Expired(_) => unauthorized(CinderError::new(
            StatusCode::UNAUTHORIZED,
            failure.message(),
        )),
    }
}

// ---- versions ----

fn version_entry(state: &ApiState, major: u8) -> Value {
    let (id, status, version, min_version, updated) = match major {
        2 => (
            "v2.0",
            "SUPPORTED",
            String::new(),
            String::new(),
            "2014-06-28T12:20:21Z",
        ),
        _ => (
            "v3.0",
            "CURRENT",
            format!("3.{MAX_MICROVERSION}"),
            format!("3.{MIN_MICROVERSION}"),
            "2023-01-09T00:00:00Z",
        ),
    };
    json!({
        "id": id,
        "status": status,
        "version": version,
        "min_version": min_version,
        "updated": updated,
        "links": [
            { "rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/" },
            { "rel": "self", "href": format!("{}/v{major}/", state.urls.block_storage) },
        ],
        "media-types": [
            { "base": "application/json", "type": format!("application/vnd.openstack.volume+json;version={major}") },
        ],
    })
}

/// `GET /`: 300 Multiple Choices with every version.
async fn versions(State(state): State<ApiState>) -> Response {
    let body = json!({ "versions": [
        crate::evs::version_v1_entry(&state),
        version_entry(&state, 2),
        version_entry(&state, 3),
    ] });
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

async fn version_v3(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "versions": [version_entry(&state, 3)] }))
}

async fn version_v2(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "versions": [version_entry(&state, 2)] }))
}

async fn version_v3_for_project(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
) -> Json<Value> {
    let major = if uri.path().starts_with("/v2") { 2 } else { 3 };
    Json(json!({ "versions": [version_entry(&state, major)] }))
}

// ---- pools ----

/// `GET /scheduler-stats/get_pools[?detail=true]` (admin): every storage
/// pool, named `platter@<backend>#<pool>`, with its capacity and
/// capabilities, as Cinder's scheduler reports backends.
async fn get_pools(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> CinderResult {
    let detail = params::ListQuery { pairs }.flag("detail")?;
    let reports = state.platter.pool_stats(&c.ctx).await?;
    let gib = |b: u64| (b as f64 / (1u64 << 30) as f64 * 100.0).round() / 100.0;
    let pools: Vec<Value> = reports
        .iter()
        .map(|p| {
            let mut pool = json!({ "name": p.host });
            if detail {
                let stats = &p.stats;
                let caps = &p.capabilities;
                pool["capabilities"] = json!({
                    "pool_name": p.name,
                    "volume_backend_name": p.volume_backend_names.first().unwrap_or(&p.name),
                    "platter:volume_backend_names": p.volume_backend_names,
                    "platter:backend": p.backend,
                    "vendor_name": "Platter",
                    "driver_version": env!("CARGO_PKG_VERSION"),
                    "storage_protocol": "nbd",
                    "total_capacity_gb": gib(stats.total_bytes),
                    "free_capacity_gb": gib(stats.free_bytes),
                    "allocated_capacity_gb": gib(stats.provisioned_bytes),
                    "provisioned_capacity_gb": gib(stats.provisioned_bytes),
                    "thin_provisioning_support": caps.thin_provisioning,
                    "thick_provisioning_support": !caps.thin_provisioning,
                    "max_over_subscription_ratio": if caps.thin_provisioning { "20.0" } else { "1.0" },
                    "reserved_percentage": 0,
                    "multiattach": true,
                    "QoS_support": true,
                    "platter:instant_snapshots": caps.instant_snapshots,
                    "platter:rollback": caps.rollback,
                    "platter:clone": caps.clone,
                    "platter:used_bytes": stats.allocated_bytes,
                    "timestamp": platter_model::now_timestamp(),
                });
            }
            pool
        })
        .collect();
    Ok(Json(json!({ "pools": pools })).into_response())
}

// ---- types, zones, extensions ----

async fn type_list(
    State(state): State<ApiState>,
    Extension(_c): Extension<Caller>,
) -> CinderResult {
    let types = state.platter.volume_type_list().await?;
    let items: Vec<Value> = types.iter().map(views::volume_type).collect();
    Ok(Json(json!({ "volume_types": items })).into_response())
}

async fn type_show(
    State(state): State<ApiState>,
    Extension(_c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
) -> CinderResult {
    let t = state.platter.volume_type_get(&id).await?;
    Ok(Json(json!({ "volume_type": views::volume_type(&t) })).into_response())
}

async fn type_default(
    State(state): State<ApiState>,
    Extension(_c): Extension<Caller>,
) -> CinderResult {
    let t = state.platter.volume_type_default().await?;
    Ok(Json(json!({ "volume_type": views::volume_type(&t) })).into_response())
}

async fn availability_zones(
    State(state): State<ApiState>,
    Extension(_c): Extension<Caller>,
) -> Json<Value> {
    let zones: Vec<Value> = state
        .platter
        .config()
        .availability_zones
        .iter()
        .map(|z| json!({ "zoneName": z, "zoneState": { "available": true } }))
        .collect();
    Json(json!({ "availabilityZoneInfo": zones }))
}

/// The extensions the document lists (both paths are deprecated but probed
/// by clients).
const EXTENSIONS: &[(&str, &str, &str, &str)] = &[
    (
        "2013-04-18T00:00:00+00:00",
        "SchedulerHints",
        "OS-SCH-HNT",
        "Pass arbitrary key/value pairs to the scheduler.",
    ),
    (
        "2011-06-29T00:00:00+00:00",
        "Hosts",
        "os-hosts",
        "Admin-only host administration.",
    ),
    (
        "2011-11-03T00:00:00+00:00",
        "VolumeTenantAttribute",
        "os-vol-tenant-attr",
        "Expose the internal project_id as an attribute of a volume.",
    ),
    (
        "2011-08-08T00:00:00+00:00",
        "Quotas",
        "os-quota-sets",
        "Quota management support.",
    ),
    (
        "2011-08-24T00:00:00+00:00",
        "TypesManage",
        "os-types-manage",
        "Types manage support.",
    ),
    (
        "2013-07-10T00:00:00+00:00",
        "VolumeEncryptionMetadata",
        "os-volume-encryption-metadata",
        "Volume encryption metadata retrieval support.",
    ),
    (
        "2012-12-12T00:00:00+00:00",
        "Backups",
        "backups",
        "Backups support.",
    ),
    (
        "2013-07-16T00:00:00+00:00",
        "SnapshotActions",
        "os-snapshot-actions",
        "Enable snapshot manager actions.",
    ),
    (
        "2012-05-31T00:00:00+00:00",
        "VolumeActions",
        "os-volume-actions",
        "Enable volume actions",
    ),
    (
        "2013-10-03T00:00:00+00:00",
        "UsedLimits",
        "os-used-limits",
        "Provide data on limited resources that are being used.",
    ),
    (
        "2012-05-31T00:00:00+00:00",
        "VolumeUnmanage",
        "os-volume-unmanage",
        "Enable volume unmanage operation.",
    ),
    (
        "2011-11-03T00:00:00+00:00",
        "VolumeHostAttribute",
        "os-vol-host-attr",
        "Expose host as an attribute of a volume.",
    ),
    (
        "2013-07-01T00:00:00+00:00",
        "VolumeTypeEncryption",
        "encryption",
        "Encryption support for volume types.",
    ),
    (
        "2013-06-27T00:00:00+00:00",
        "AvailabilityZones",
        "os-availability-zone",
        "Describe Availability Zones.",
    ),
    (
        "2013-08-02T00:00:00+00:00",
        "Qos_specs_manage",
        "qos-specs",
        "QoS specs support.",
    ),
    (
        "2011-08-24T00:00:00+00:00",
        "TypesExtraSpecs",
        "os-types-extra-specs",
        "Type extra specs support.",
    ),
    (
        "2013-08-08T00:00:00+00:00",
        "VolumeMigStatusAttribute",
        "os-vol-mig-status-attr",
        "Expose migration_status as an attribute of a volume.",
    ),
    (
        "2012-08-13T00:00:00+00:00",
        "CreateVolumeExtension",
        "os-image-create",
        "Allow creating a volume from an image in the Create Volume v1 API.",
    ),
    (
        "2014-01-10T00:00:00-00:00",
        "ExtendedServices",
        "os-extended-services",
        "Extended services support.",
    ),
    (
        "2012-06-19T00:00:00+00:00",
        "ExtendedSnapshotAttributes",
        "os-extended-snapshot-attributes",
        "Extended SnapshotAttributes support.",
    ),
    (
        "2012-12-07T00:00:00+00:00",
        "VolumeImageMetadata",
        "os-vol-image-meta",
        "Show image metadata associated with the volume.",
    ),
    (
        "2012-03-12T00:00:00+00:00",
        "QuotaClasses",
        "os-quota-class-sets",
        "Quota classes management support.",
    ),
    (
        "2013-05-29T00:00:00+00:00",
        "VolumeTransfer",
        "os-volume-transfer",
        "Volume transfer management support.",
    ),
    (
        "2014-02-10T00:00:00+00:00",
        "VolumeManage",
        "os-volume-manage",
        "Allows existing backend storage to be 'managed' by Cinder.",
    ),
    (
        "2012-08-25T00:00:00+00:00",
        "AdminActions",
        "os-admin-actions",
        "Enable admin actions.",
    ),
    (
        "2012-10-28T00:00:00-00:00",
        "Services",
        "os-services",
        "Services support.",
    ),
];

async fn extensions(Extension(caller): Extension<Caller>) -> Json<Value> {
    let count = if caller.api.major == 2 {
        3
    } else {
        EXTENSIONS.len()
    };
    let items: Vec<Value> = EXTENSIONS[..count]
        .iter()
        .map(|(updated, name, alias, description)| {
            json!({ "updated": updated, "name": name, "links": [], "alias": alias, "description": description })
        })
        .collect();
    Json(json!({ "extensions": items }))
}
