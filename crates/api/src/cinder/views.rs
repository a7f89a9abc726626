//! Cinder's JSON shapes of volumes, snapshots, types and connection info.

use platter_model::{ProjectId, Snapshot, SnapshotStatus, Volume, VolumeStatus, VolumeType};
use platter_service::{Connection, ConnectionInfo};
use serde_json::{json, Value};

use super::ApiVersion;
use crate::common::{volume_attachments, volume_metadata};
use crate::ApiState;

/// A volume's status in Cinder's words: EVS's rollback is Cinder's revert
/// (3.40), whose volume is `reverting` and, if it fails, `error`.
pub fn volume_status(s: VolumeStatus) -> &'static str {
    match s {
        VolumeStatus::Rollbacking => "reverting",
        VolumeStatus::ErrorRollbacking => "error",
        other => other.as_str(),
    }
}

/// A snapshot's status in Cinder's words (`restoring` while a volume
/// reverts to it).
pub fn snapshot_status(s: SnapshotStatus) -> &'static str {
    match s {
        SnapshotStatus::Rollbacking => "restoring",
        other => other.as_str(),
    }
}

pub(crate) fn links(
    state: &ApiState,
    api: ApiVersion,
    project_id: &ProjectId,
    collection: &str,
    id: &str,
) -> Value {
    let base = &state.urls.block_storage;
    json!([
        { "href": format!("{base}/{}/{project_id}/{collection}/{id}", api.prefix()), "rel": "self" },
        { "href": format!("{base}/{project_id}/{collection}/{id}"), "rel": "bookmark" },
    ])
}

/// `{id, links, name}`: the summary list entry.
pub fn volume_summary(state: &ApiState, api: ApiVersion, v: &Volume) -> Value {
    json!({ "id": v.id, "links": links(state, api, &v.project_id, "volumes", v.id.as_str()), "name": v.name })
}

/// Which answer a volume view is: upstream Cinder's create and update
/// answer the volume itself; show and the detailed list add the extension
/// attributes (tenant, and for admins host and migration status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeView {
    Written,
    Shown,
}

/// A volume as upstream Cinder renders it at `api`'s microversion for a
/// caller who is (or is not) an admin: exactly the fields of Cinder's view
/// builders and extensions (Tempest's response schemas check them), and
/// none of Huawei's (those are in the EVS views).
pub fn volume_detail(
    state: &ApiState,
    api: ApiVersion,
    v: &Volume,
    admin: bool,
    view: VolumeView,
) -> Value {
    let mut out = json!({
        "id": v.id,
        "links": links(state, api, &v.project_id, "volumes", v.id.as_str()),
        "name": v.name,
        "description": v.description,
        "status": volume_status(v.status),
        "size": v.size,
        "availability_zone": v.availability_zone,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "volume_type": v.volume_type_name,
        "snapshot_id": v.snapshot_id,
        "source_volid": v.source_volid,
        "metadata": volume_metadata(v),
        "bootable": if v.bootable { "true" } else { "false" },
        "encrypted": false,
        "multiattach": v.multiattach,
        "attachments": volume_attachments(v),
        "replication_status": v.replication_status.as_str(),
        "consistencygroup_id": null,
        "user_id": v.user_id,
    });
    let migstat = json!(v.migration_status.map(|m| m.as_str()));
    if admin {
        out["migration_status"] = migstat.clone();
    }
    if api.at_least(13) {
        out["group_id"] = json!(v.group_id);
    }
    if api.at_least(21) && admin {
        out["provider_id"] = Value::Null;
    }
    if api.at_least(48) {
        out["service_uuid"] = Value::Null;
        out["shared_targets"] = json!(false);
    }
    if api.at_least(61) && admin {
        out["cluster_name"] = Value::Null;
    }
    if api.at_least(63) {
        out["volume_type_id"] = json!(v.volume_type_id);
    }
    if api.at_least(65) {
        out["consumes_quota"] = json!(true);
    }
    if view == VolumeView::Shown {
        out["os-vol-tenant-attr:tenant_id"] = json!(v.project_id);
        if !v.image_metadata.is_empty() {
            out["volume_image_metadata"] = json!(v.image_metadata);
        }
        if admin {
            out["os-vol-host-attr:host"] = json!(state.platter.volume_host(v));
            out["os-vol-mig-status-attr:migstat"] = migstat;
            out["os-vol-mig-status-attr:name_id"] = Value::Null;
        }
    }
    out
}

/// The snapshot fields every view has.
pub fn snapshot_summary(api: ApiVersion, s: &Snapshot) -> Value {
    let mut out = json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "volume_id": s.volume_id,
        "status": snapshot_status(s.status),
        "size": s.size,
        "metadata": s.metadata,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    });
    if api.at_least(14) {
        out["group_snapshot_id"] = json!(s.group_snapshot_id);
    }
    if api.at_least(41) {
        out["user_id"] = json!(s.user_id);
    }
    if api.at_least(65) {
        out["consumes_quota"] = json!(true);
    }
    out
}

pub fn snapshot_detail(api: ApiVersion, s: &Snapshot) -> Value {
    let mut out = snapshot_summary(api, s);
    out["os-extended-snapshot-attributes:progress"] = json!(s.progress());
    out["os-extended-snapshot-attributes:project_id"] = json!(s.project_id);
    out
}

pub fn volume_type(t: &VolumeType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public,
        "extra_specs": t.extra_specs,
        "qos_specs_id": t.qos_specs_id,
    })
}

/// Cinder's `connection_info` for the `nbd` driver.
pub fn connection_info(ci: &ConnectionInfo) -> Value {
    let data = match &ci.connection {
        Connection::Nbd { host, port, export } => json!({
            "host": host,
            "port": port,
            "export_name": export,
            "uri": ci.uri(),
            "access_mode": ci.access_mode.as_str(),
            "volume_id": ci.volume_id,
            "tls": false,
        }),
    };
    json!({
        "driver_volume_type": ci.connection.driver_volume_type(),
        "data": data,
    })
}
