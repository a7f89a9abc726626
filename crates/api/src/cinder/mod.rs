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
use axum::http::Method;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use platter_model::AuthContext;
use serde_json::{json, Value};

use self::metadata::Owner;
use crate::auth::{self, AuthFailure};
use crate::error::{normalize, www_authenticate, CinderError};
use crate::routes::{nested, Gate, GateFamily, RouteEntry, Routes};
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
    build(state).0
}

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| CinderError::from(e).into_response(),
};

/// The routes under `/v3/{project_id}` and `/v2/{project_id}`, each with
/// the actions it needs.
fn project_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    Routes::new(state.clone(), FAMILY)
        .add(
            M::GET,
            "/",
            Gate::All(&[VersionsGet]),
            get(version_v3_for_project),
        )
        .add(
            M::GET,
            "/volumes",
            Gate::All(&[VolumeList]),
            get(volumes::list),
        )
        .add(
            M::POST,
            "/volumes",
            Gate::All(&[VolumeCreate, VolumeGet]),
            post(volumes::create),
        )
        .add(
            M::GET,
            "/volumes/detail",
            Gate::All(&[VolumeList]),
            get(volumes::list_detail),
        )
        .add(
            M::GET,
            "/volumes/{volume_id}",
            Gate::All(&[VolumeGet]),
            get(volumes::show),
        )
        .add(
            M::PUT,
            "/volumes/{volume_id}",
            Gate::All(&[VolumeUpdate, VolumeGet]),
            put(volumes::update),
        )
        .add(
            M::DELETE,
            "/volumes/{volume_id}",
            Gate::All(&[VolumeDelete, VolumeGet]),
            delete(volumes::delete),
        )
        .add(
            M::POST,
            "/volumes/{volume_id}/action",
            Gate::OneOf(&[
                VolumeExtend,
                VolumeResetStatus,
                VolumeSetBootable,
                VolumeSetReadonly,
                VolumeReserve,
                VolumeUnreserve,
                VolumeInitializeConnection,
                VolumeTerminateConnection,
                VolumeAttach,
                VolumeDetach,
                VolumeBeginDetaching,
                VolumeForceDetach,
                // Each of them reads the volume first.
                VolumeGet,
            ]),
            post(volumes::action),
        )
        .add(
            M::GET,
            "/volumes/{volume_id}/metadata",
            Gate::All(&[VolumeMetadataGet, VolumeGet]),
            metadata::collection_get(Owner::Volume),
        )
        .add(
            M::POST,
            "/volumes/{volume_id}/metadata",
            Gate::All(&[VolumeMetadataUpdate, VolumeGet]),
            metadata::collection_set(Owner::Volume, false),
        )
        .add(
            M::PUT,
            "/volumes/{volume_id}/metadata",
            Gate::All(&[VolumeMetadataUpdate, VolumeGet]),
            metadata::collection_set(Owner::Volume, true),
        )
        .add(
            M::GET,
            "/volumes/{volume_id}/metadata/{key}",
            Gate::All(&[VolumeMetadataGet, VolumeGet]),
            metadata::item_get(Owner::Volume),
        )
        .add(
            M::PUT,
            "/volumes/{volume_id}/metadata/{key}",
            Gate::All(&[VolumeMetadataUpdate, VolumeGet]),
            metadata::item_put(Owner::Volume),
        )
        .add(
            M::DELETE,
            "/volumes/{volume_id}/metadata/{key}",
            Gate::All(&[VolumeMetadataDelete, VolumeGet]),
            metadata::item_remove(Owner::Volume),
        )
        .add(
            M::GET,
            "/snapshots",
            Gate::All(&[SnapshotList]),
            get(snapshots::list),
        )
        .add(
            M::POST,
            "/snapshots",
            Gate::All(&[SnapshotCreate, VolumeGet]),
            post(snapshots::create),
        )
        .add(
            M::GET,
            "/snapshots/detail",
            Gate::All(&[SnapshotList]),
            get(snapshots::list_detail),
        )
        .add(
            M::GET,
            "/snapshots/{snapshot_id}",
            Gate::All(&[SnapshotGet]),
            get(snapshots::show),
        )
        .add(
            M::PUT,
            "/snapshots/{snapshot_id}",
            Gate::All(&[SnapshotUpdate, SnapshotGet]),
            put(snapshots::update),
        )
        .add(
            M::DELETE,
            "/snapshots/{snapshot_id}",
            Gate::All(&[SnapshotDelete, SnapshotGet, VolumeGet]),
            delete(snapshots::delete),
        )
        .add(
            M::POST,
            "/snapshots/{snapshot_id}/action",
            Gate::OneOf(&[SnapshotResetStatus]),
            post(snapshots::action),
        )
        .add(
            M::GET,
            "/snapshots/{snapshot_id}/metadata",
            Gate::All(&[SnapshotMetadataGet, SnapshotGet]),
            metadata::collection_get(Owner::Snapshot),
        )
        .add(
            M::POST,
            "/snapshots/{snapshot_id}/metadata",
            Gate::All(&[SnapshotMetadataUpdate, SnapshotGet]),
            metadata::collection_set(Owner::Snapshot, false),
        )
        .add(
            M::PUT,
            "/snapshots/{snapshot_id}/metadata",
            Gate::All(&[SnapshotMetadataUpdate, SnapshotGet]),
            metadata::collection_set(Owner::Snapshot, true),
        )
        .add(
            M::GET,
            "/snapshots/{snapshot_id}/metadata/{key}",
            Gate::All(&[SnapshotMetadataGet, SnapshotGet]),
            metadata::item_get(Owner::Snapshot),
        )
        .add(
            M::PUT,
            "/snapshots/{snapshot_id}/metadata/{key}",
            Gate::All(&[SnapshotMetadataUpdate, SnapshotGet]),
            metadata::item_put(Owner::Snapshot),
        )
        .add(
            M::DELETE,
            "/snapshots/{snapshot_id}/metadata/{key}",
            Gate::All(&[SnapshotMetadataDelete, SnapshotGet]),
            metadata::item_remove(Owner::Snapshot),
        )
        .add(
            M::GET,
            "/attachments",
            Gate::All(&[AttachmentList]),
            get(attachments::list),
        )
        .add(
            M::POST,
            "/attachments",
            Gate::All(&[AttachmentCreate, VolumeGet]),
            post(attachments::create),
        )
        .add(
            M::GET,
            "/attachments/detail",
            Gate::All(&[AttachmentList]),
            get(attachments::list_detail),
        )
        .add(
            M::GET,
            "/attachments/{attachment_id}",
            Gate::All(&[AttachmentGet]),
            get(attachments::show),
        )
        .add(
            M::PUT,
            "/attachments/{attachment_id}",
            Gate::All(&[AttachmentUpdate]),
            put(attachments::update),
        )
        .add(
            M::DELETE,
            "/attachments/{attachment_id}",
            Gate::All(&[AttachmentDelete]),
            delete(attachments::delete),
        )
        .add(
            M::POST,
            "/attachments/{attachment_id}/action",
            Gate::OneOf(&[AttachmentComplete]),
            post(attachments::action),
        )
        .add(M::GET, "/types", Gate::All(&[TypeList]), get(type_list))
        .add(
            M::GET,
            "/types/default",
            Gate::All(&[TypeGet]),
            get(type_default),
        )
        .add(
            M::GET,
            "/types/{type_id}",
            Gate::All(&[TypeGet]),
            get(type_show),
        )
        .add(
            M::GET,
            "/os-availability-zone",
            Gate::All(&[AvailabilityZoneList]),
            get(availability_zones),
        )
        .add(
            M::GET,
            "/limits",
            Gate::All(&[LimitsGet]),
            get(quotas::limits),
        )
        .add(
            M::GET,
            "/os-quota-sets/{target}",
            Gate::All(&[QuotaGet]),
            get(quotas::show),
        )
        .add(
            M::PUT,
            "/os-quota-sets/{target}",
            Gate::All(&[QuotaUpdate]),
            put(quotas::update),
        )
        .add(
            M::DELETE,
            "/os-quota-sets/{target}",
            Gate::All(&[QuotaDelete]),
            delete(quotas::reset),
        )
        .add(
            M::GET,
            "/os-quota-sets/{target}/defaults",
            Gate::All(&[QuotaDefaultsGet]),
            get(quotas::defaults),
        )
        .add(
            M::GET,
            "/extensions",
            Gate::All(&[ExtensionsList]),
            get(extensions),
        )
        .add(
            M::GET,
            "/scheduler-stats/get_pools",
            Gate::All(&[PoolsGet]),
            get(get_pools),
        )
}

/// The Cinder router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::VersionsGet;
    let (project, project_table) = project_routes(&state).finish();
    let project = project.layer(from_fn_with_state(state.clone(), authenticate));
    let (top, mut table) = Routes::new(state.clone(), FAMILY)
        .add(Method::GET, "/", Gate::All(&[VersionsGet]), get(versions))
        .add(
            Method::GET,
            "/v3",
            Gate::All(&[VersionsGet]),
            get(version_v3),
        )
        .add(
            Method::GET,
            "/v3/",
            Gate::All(&[VersionsGet]),
            get(version_v3),
        )
        .add(
            Method::GET,
            "/v2",
            Gate::All(&[VersionsGet]),
            get(version_v2),
        )
        .add(
            Method::GET,
            "/v2/",
            Gate::All(&[VersionsGet]),
            get(version_v2),
        )
        .finish();
    table.extend(nested(
        &["/v3/{project_id}", "/v2/{project_id}"],
        &project_table,
    ));

    let router = top
        .nest("/v3/{project_id}", project.clone())
        .nest("/v2/{project_id}", project)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A bug must cost one request a 500, never the connection or the process.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(middleware::from_fn(|req, next| {
            normalize(|s, m| CinderError::new(s, m).into_response(), req, next)
        }))
        .layer(from_fn(request_id::middleware))
        .with_state(state);
    (router, table)
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
        crate::common::version_v1_entry(&state),
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
