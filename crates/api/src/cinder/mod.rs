//! The Cinder block-storage API, v3 (with microversions) and v2, under
//! `/v3/{project_id}` and `/v2/{project_id}`.

mod attachments;
mod backups;
mod errors;
mod group_types;
mod groups;
mod manage;
mod messages;
mod metadata;
mod params;
mod qos;
mod quotas;
mod resources;
mod services;
mod snapshots;
mod transfers;
mod types;
mod versions;
pub(crate) mod views;
mod volumes;

use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::Method;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
pub(crate) use errors::cinder_fault_name as fault_name;
pub use errors::CinderError;
use platter_model::AuthContext;
use resources::*;
use versions::*;
pub use versions::{ApiVersion, MAX_MICROVERSION, MIN_MICROVERSION};

use self::metadata::Owner;
use crate::toolkit::auth::{self, AuthFailure};
use crate::toolkit::body::{json_bodies, JsonBodies};
use crate::toolkit::normalize::{normalize, www_authenticate};
use crate::toolkit::request_id;
use crate::toolkit::routes::{nested, Gate, GateFamily, RouteEntry, Routes};
use crate::{ApiState, MAX_BODY_BYTES};

/// Who is calling, with which API version: set by the auth middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    pub ctx: AuthContext,
    pub api: ApiVersion,
}

pub type CinderResult = Result<Response, CinderError>;

const FAMILY: GateFamily = GateFamily {
    context: |req| req.extensions().get::<Caller>().map(|c| c.ctx.clone()),
    refuse: |e| CinderError::from(e).into_response(),
    narrow: crate::toolkit::routes::no_narrowing,
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
            "/volumes/summary",
            Gate::All(&[VolumeSummary]),
            get(volumes::summary),
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
                VolumeRetype,
                VolumeMigrate,
                VolumeRevert,
                VolumeImageMetadataGet,
                VolumeImageMetadataSet,
                VolumeImageMetadataRemove,
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
                VolumeUnmanage,
                VolumeUploadImage,
                VolumePromoteReplica,
                VolumeReenableReplica,
                VolumeMigrateCompletion,
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
            "/backups",
            Gate::All(&[BackupList]),
            get(backups::list),
        )
        .add(
            M::POST,
            "/backups",
            Gate::All(&[BackupCreate, VolumeGet]),
            post(backups::create),
        )
        .add(
            M::GET,
            "/backups/detail",
            Gate::All(&[BackupList]),
            get(backups::list_detail),
        )
        .add(
            M::GET,
            "/backups/{backup_id}",
            Gate::All(&[BackupGet]),
            get(backups::show),
        )
        .add(
            M::DELETE,
            "/backups/{backup_id}",
            Gate::All(&[BackupDelete, BackupGet]),
            delete(backups::delete),
        )
        .add(
            M::PUT,
            "/backups/{backup_id}",
            Gate::All(&[BackupUpdate, BackupGet]),
            put(backups::update),
        )
        .add(
            M::POST,
            "/backups/{backup_id}/restore",
            Gate::All(&[BackupRestore, BackupGet]),
            post(backups::restore),
        )
        .add(
            M::GET,
            "/backups/{backup_id}/export_record",
            Gate::All(&[BackupExport]),
            get(backups::export_record),
        )
        .add(
            M::POST,
            "/backups/import_record",
            Gate::All(&[BackupImport]),
            post(backups::import_record),
        )
        .add(
            M::POST,
            "/backups/{backup_id}/action",
            Gate::OneOf(&[BackupResetStatus, BackupForceDelete]),
            post(backups::action),
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
            Gate::OneOf(&[
                SnapshotResetStatus,
                SnapshotForceDelete,
                SnapshotUpdateStatus,
                SnapshotUnmanage,
            ]),
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
            M::POST,
            "/types",
            Gate::All(&[TypeCreate]),
            post(types::create),
        )
        .add(
            M::PUT,
            "/types/{type_id}",
            Gate::All(&[TypeUpdate]),
            put(types::update),
        )
        .add(
            M::DELETE,
            "/types/{type_id}",
            Gate::All(&[TypeDelete]),
            delete(types::delete),
        )
        .add(
            M::GET,
            "/types/{type_id}/extra_specs",
            Gate::All(&[TypeExtraSpecsGet]),
            get(types::specs_show),
        )
        .add(
            M::POST,
            "/types/{type_id}/extra_specs",
            Gate::All(&[TypeExtraSpecsUpdate]),
            post(types::specs_set),
        )
        .add(
            M::GET,
            "/types/{type_id}/extra_specs/{key}",
            Gate::All(&[TypeExtraSpecsGet]),
            get(types::spec_show),
        )
        .add(
            M::PUT,
            "/types/{type_id}/extra_specs/{key}",
            Gate::All(&[TypeExtraSpecsUpdate]),
            put(types::spec_set),
        )
        .add(
            M::DELETE,
            "/types/{type_id}/extra_specs/{key}",
            Gate::All(&[TypeExtraSpecsDelete]),
            delete(types::spec_delete),
        )
        .add(
            M::POST,
            "/types/{type_id}/action",
            Gate::OneOf(&[TypeAccessAdd, TypeAccessRemove]),
            post(types::action),
        )
        .add(
            M::GET,
            "/types/{type_id}/os-volume-type-access",
            Gate::All(&[TypeAccessList]),
            get(types::access_list),
        )
        .add(
            M::GET,
            "/types/{type_id}/encryption",
            Gate::All(&[TypeEncryptionGet]),
            get(types::encryption_show),
        )
        .add(
            M::POST,
            "/types/{type_id}/encryption",
            Gate::All(&[TypeEncryptionCreate]),
            post(types::encryption_create),
        )
        .add(
            M::GET,
            "/types/{type_id}/encryption/{key}",
            Gate::All(&[TypeEncryptionGet]),
            get(types::encryption_item),
        )
        .add(
            M::PUT,
            "/types/{type_id}/encryption/{key}",
            Gate::All(&[TypeEncryptionUpdate]),
            put(types::encryption_update),
        )
        .add(
            M::DELETE,
            "/types/{type_id}/encryption/{key}",
            Gate::All(&[TypeEncryptionDelete]),
            delete(types::encryption_delete),
        )
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
            "/os-quota-class-sets/{target}",
            Gate::All(&[QuotaClassGet]),
            get(quotas::class_show),
        )
        .add(
            M::PUT,
            "/os-quota-class-sets/{target}",
            Gate::All(&[QuotaClassUpdate]),
            put(quotas::class_update),
        )
        .add(
            M::GET,
            "/resource_filters",
            Gate::All(&[ResourceFiltersList]),
            get(resource_filters),
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
        .with(|r| transfers::routes::<{ transfers::OLD }>(r, "/os-volume-transfer"))
        .with(|r| transfers::routes::<{ transfers::NEW }>(r, "/volume-transfers"))
        .with(manage::routes)
        .add(
            M::POST,
            "/qos-specs",
            Gate::All(&[QosSpecsCreate]),
            post(qos::create),
        )
        .add(
            M::GET,
            "/qos-specs",
            Gate::All(&[QosSpecsList]),
            get(qos::list),
        )
        .add(
            M::GET,
            "/qos-specs/{qos_id}",
            Gate::All(&[QosSpecsGet]),
            get(qos::show),
        )
        .add(
            M::PUT,
            "/qos-specs/{qos_id}",
            Gate::All(&[QosSpecsUpdate]),
            put(qos::set_keys),
        )
        .add(
            M::DELETE,
            "/qos-specs/{qos_id}",
            Gate::All(&[QosSpecsDelete]),
            delete(qos::delete),
        )
        .add(
            M::PUT,
            "/qos-specs/{qos_id}/delete_keys",
            Gate::All(&[QosSpecsUpdate]),
            put(qos::unset_keys),
        )
        .add(
            M::GET,
            "/qos-specs/{qos_id}/associations",
            Gate::All(&[QosSpecsGet]),
            get(qos::associations),
        )
        .add(
            M::GET,
            "/qos-specs/{qos_id}/associate",
            Gate::All(&[QosSpecsUpdate]),
            get(qos::associate),
        )
        .add(
            M::GET,
            "/qos-specs/{qos_id}/disassociate",
            Gate::All(&[QosSpecsUpdate]),
            get(qos::disassociate),
        )
        .add(
            M::GET,
            "/qos-specs/{qos_id}/disassociate_all",
            Gate::All(&[QosSpecsUpdate]),
            get(qos::disassociate_all),
        )
        .add(
            M::GET,
            "/messages",
            Gate::All(&[MessageList]),
            get(messages::list),
        )
        .add(
            M::GET,
            "/messages/{message_id}",
            Gate::All(&[MessageGet]),
            get(messages::show),
        )
        .add(
            M::DELETE,
            "/messages/{message_id}",
            Gate::All(&[MessageDelete]),
            delete(messages::delete),
        )
        .add(
            M::GET,
            "/os-services",
            Gate::All(&[VolumeServiceList]),
            get(services::list),
        )
        .add(
            M::PUT,
            "/os-services/{action}",
            Gate::All(&[VolumeServiceUpdate]),
            put(services::update),
        )
        .add(
            M::GET,
            "/capabilities/{host}",
            Gate::All(&[CapabilitiesGet]),
            get(capabilities),
        )
        .with(group_types::routes)
        .with(groups::routes)
        .add(M::GET, "/os-hosts", Gate::All(&[HostList]), get(host_list))
        .add(
            M::GET,
            "/os-hosts/{host}",
            Gate::All(&[HostGet]),
            get(host_show),
        )
}

/// `/v3/default-types` (3.62, admin): the URL names the project whose
/// default is meant, not the caller's.
fn default_type_routes(state: &ApiState) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    Routes::new(state.clone(), FAMILY)
        .add(
            M::GET,
            "/v3/default-types",
            Gate::All(&[DefaultTypeList]),
            get(types::default_type_list),
        )
        .add(
            M::GET,
            "/v3/default-types/{project_id}",
            Gate::All(&[DefaultTypeGet]),
            get(types::default_type_show),
        )
        .add(
            M::PUT,
            "/v3/default-types/{project_id}",
            Gate::All(&[DefaultTypeSet]),
            put(types::default_type_set),
        )
        .add(
            M::DELETE,
            "/v3/default-types/{project_id}",
            Gate::All(&[DefaultTypeUnset]),
            delete(types::default_type_unset),
        )
}

/// The Cinder router and its action table.
pub fn build(state: ApiState) -> (Router, Vec<RouteEntry>) {
    use platter_model::Action::VersionsGet;
    let (project, project_table) = project_routes(&state).finish();
    let project = project.layer(from_fn_with_state(state.clone(), authenticate));
    let (defaults, defaults_table) = default_type_routes(&state).finish();
    let defaults = defaults.layer(from_fn_with_state(state.clone(), authenticate));
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
    table.extend(defaults_table);
    table.extend(nested(
        &["/v3/{project_id}", "/v2/{project_id}"],
        &project_table,
    ));

    let router = top
        .merge(defaults)
        .nest("/v3/{project_id}", project.clone())
        .nest("/v2/{project_id}", project)
        .route_layer(middleware::from_fn(|req, next| {
            json_bodies(JSON_BODIES, req, next)
        }))
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

/// Cinder does not read a body of another type (`wsgi.Resource.get_body`
/// drops it, so the operation fails as without one): refused with
/// Cinder's `InvalidContentType` words.
const JSON_BODIES: JsonBodies = JsonBodies {
    status: StatusCode::BAD_REQUEST,
    also: &[],
    message: |media| format!("Invalid content type {media}."),
    render: |s, m| CinderError::new(s, m).into_response(),
};

/// The block-storage listener's fallback (Cinder's router holds it): an
/// unknown path under one of EVS's prefixes is EVS's to answer, any other
/// Cinder's.
async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    if crate::evs::claims_unknown_path(uri.path()) {
        return crate::evs::unknown_path();
    }
    CinderError::not_found("The resource could not be found.").into_response()
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
    let unscoped = segments.get(1) == Some(&"default-types");
    if segments.len() < 3 && !unscoped {
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
    let authenticated = if unscoped {
        auth::authenticate_unscoped_url(&state, req).await
    } else {
        auth::authenticate(&state, req, &url_project_id).await
    };
    let (ctx, mut req) = match authenticated {
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
