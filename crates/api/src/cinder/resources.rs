//! Cinder's read-mostly resources: volume types, availability zones,
//! extensions and the scheduler's pools.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{params, views, Caller, CinderError, CinderResult};
use crate::ApiState;
use platter_service::{STORAGE_PROTOCOL, VENDOR_NAME};

/// `GET /scheduler-stats/get_pools[?detail=true]` (admin): every storage
/// pool, named `platter@<backend>#<pool>`, with its capacity and
/// capabilities, as Cinder's scheduler reports backends.
pub(super) async fn get_pools(
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
                    "vendor_name": VENDOR_NAME,
                    "driver_version": env!("CARGO_PKG_VERSION"),
                    "storage_protocol": STORAGE_PROTOCOL,
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
                    "replication_enabled": !p.replication_targets.is_empty(),
                    "replication_type": "sync",
                    "replication_targets": p.replication_targets,
                    "platter:instant_snapshots": caps.instant_snapshots,
                    "platter:rollback": caps.rollback,
                    "platter:clone": caps.clone,
                    "platter:used_bytes": stats.allocated_bytes,
                    "timestamp": platter_model::Timestamp::now(),
                });
            }
            pool
        })
        .collect();
    Ok(Json(json!({ "pools": pools })).into_response())
}

/// `GET /capabilities/{host}` (admin): a backend's capabilities, for
/// `host@backend` or one of its pools `host@backend#pool`.
pub(super) async fn capabilities(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, host)): Path<(String, String)>,
) -> CinderResult {
    let reports = state.platter.pool_stats(&c.ctx).await?;
    let Some(p) = reports.iter().find(|p| {
        p.host == host || p.host.split_once('#').map(|(backend, _)| backend) == Some(host.as_str())
    }) else {
        return Err(CinderError::not_found(format!(
            "Capabilities of host {host} could not be found."
        )));
    };
    let property = |title: &str, description: &str| json!({ "title": title, "description": description, "type": "boolean" });
    let backend = p.host.split_once('#').map_or(p.host.as_str(), |(b, _)| b);
    Ok(Json(json!({
        "namespace": format!("OS::Storage::Capabilities::{backend}"),
        "vendor_name": VENDOR_NAME,
        "volume_backend_name": p.volume_backend_names.first().unwrap_or(&p.name),
        "pool_name": p.name,
        "driver_version": env!("CARGO_PKG_VERSION"),
        "storage_protocol": STORAGE_PROTOCOL,
        "display_name": null,
        "description": null,
        "visibility": null,
        "replication_targets": p.replication_targets,
        "properties": {
            "thin_provisioning": property("Thin Provisioning", "Sets thin provisioning."),
            "qos": property("QoS", "Enables QoS."),
            "compression": property("Compression", "Enables compression."),
            "replication": property("Replication", "Enables replication."),
        },
    }))
    .into_response())
}

/// The filters each list answers to, exactly those its handler reads
/// (`GET /resource_filters`, 3.33).
const RESOURCE_FILTERS: &[(&str, &[&str])] = &[
    (
        "volume",
        &[
            "name",
            "status",
            "availability_zone",
            "bootable",
            "metadata",
            "project_id",
        ],
    ),
    ("snapshot", &["name", "status", "volume_id", "project_id"]),
    ("attachment", &["volume_id", "instance_id", "status"]),
];

/// `GET /resource_filters[?resource=]` (3.33).
pub(super) async fn resource_filters(
    Extension(c): Extension<Caller>,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> CinderResult {
    if !c.api.at_least(33) {
        return Err(CinderError::not_found("The resource could not be found."));
    }
    let q = params::ListQuery { pairs };
    let wanted = q.get("resource");
    let items: Vec<Value> = RESOURCE_FILTERS
        .iter()
        .filter(|(r, _)| wanted.is_none_or(|w| w == *r))
        .map(|(r, f)| json!({ "resource": r, "filters": f }))
        .collect();
    Ok(Json(json!({ "resource_filters": items })).into_response())
}

// ---- types, zones, extensions ----

/// `GET /types[?is_public=]`: the types the caller may use (admins: all
/// unless filtered; `is_public=None` also means all).
pub(super) async fn type_list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> CinderResult {
    let q = params::ListQuery { pairs };
    let is_public = match q.get("is_public") {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("none") => None,
        Some(_) => Some(q.flag("is_public")?),
    };
    let types = state
        .platter
        .volume_type_list_for(&c.ctx, is_public)
        .await?;
    let items: Vec<Value> = types.iter().map(views::volume_type).collect();
    Ok(Json(json!({ "volume_types": items })).into_response())
}

pub(super) async fn type_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): Path<(String, String)>,
) -> CinderResult {
    let t = state.platter.volume_type_get_for(&c.ctx, &id).await?;
    Ok(Json(json!({ "volume_type": views::volume_type(&t) })).into_response())
}

pub(super) async fn type_default(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    let t = state
        .platter
        .volume_type_default_for(&c.ctx.project_id)
        .await?;
    Ok(Json(json!({ "volume_type": views::volume_type(&t) })).into_response())
}

pub(super) async fn availability_zones(
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
        "2012-05-31T00:00:00+00:00",
        "VolumeUnmanage",
        "os-volume-unmanage",
        "Enable volume unmanage operation.",
    ),
    (
        "2014-12-31T00:00:00+00:00",
        "SnapshotManage",
        "os-snapshot-manage",
        "Allows existing backend storage to be 'managed' by Cinder.",
    ),
    (
        "2014-12-31T00:00:00+00:00",
        "SnapshotUnmanage",
        "os-snapshot-unmanage",
        "Enable volume unmanage operation.",
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

pub(super) async fn extensions(Extension(caller): Extension<Caller>) -> Json<Value> {
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

/// `GET /os-hosts` (admin): the scheduler and a volume service per backend.
pub(super) async fn host_list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    let now = platter_model::Timestamp::now();
    let hosts: Vec<Value> = state
        .platter
        .host_list(&c.ctx)?
        .into_iter()
        .map(|h| {
            json!({
                "host_name": h.host_name,
                "service": h.service,
                "zone": h.zone,
                "service-status": "available",
                "service-state": "enabled",
                "last-update": now,
            })
        })
        .collect();
    Ok(Json(json!({ "hosts": hosts })).into_response())
}

/// `GET /os-hosts/{host}` (admin): what the host holds, in total and per
/// project (counts as strings, as upstream).
pub(super) async fn host_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, host)): Path<(String, String)>,
) -> CinderResult {
    let usage = state.platter.host_show(&c.ctx, &host).await?;
    let items: Vec<Value> = usage
        .into_iter()
        .map(|u| {
            json!({ "resource": {
                "host": host,
                "project": u.project,
                "volume_count": u.volume_count.to_string(),
                "total_volume_gb": u.total_volume_gb.to_string(),
                "snapshot_count": u.snapshot_count.to_string(),
                "total_snapshot_gb": u.total_snapshot_gb.to_string(),
            }})
        })
        .collect();
    Ok(Json(json!({ "host": items })).into_response())
}
