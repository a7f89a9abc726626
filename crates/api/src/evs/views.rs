//! EVS's JSON shapes of volumes, snapshots and jobs.

use crate::common::{group_type, job_time, job_type};
use platter_model::{Job, JobGroup, JobKind, JobStatus, Snapshot, Volume, ORDER_ID_KEY};
use serde_json::{json, Map, Value};

use crate::common::{volume_attachments, volume_metadata};
use crate::ApiState;

fn volume_links(state: &ApiState, prefix: &str, v: &Volume) -> Value {
    let base = &state.urls.block_storage;
    let p = &v.project_id;
    json!([
        { "href": format!("{base}/{prefix}/{p}/volumes/{}", v.id), "rel": "self" },
        { "href": format!("{base}/{p}/volumes/{}", v.id), "rel": "bookmark" },
    ])
}

/// A stable world-wide name for a volume (NAA-6 style, 32 hex digits).
fn wwn(v: &Volume) -> String {
    let hex: String =
        v.id.as_str()
            .chars()
            .filter(|c| *c != '-')
            .take(22)
            .collect();
    format!("6888603000{hex}")
}

/// `VolumeDetail` (6.1.3, 6.1.5): the view of `cloudvolumes`.
pub fn volume_detail(state: &ApiState, v: &Volume) -> Value {
    volume_detail_with(state, "v2", v)
}

pub fn volume_detail_with(state: &ApiState, prefix: &str, v: &Volume) -> Value {
    let mut out = json!({
        "id": v.id,
        "links": volume_links(state, prefix, v),
        "name": v.name.clone().unwrap_or_default(),
        "status": v.status.as_str(),
        "attachments": volume_attachments(v),
        "availability_zone": v.availability_zone,
        "os-vol-host-attr:host": state.platter.volume_host(v),
        "source_volid": v.source_volid,
        "snapshot_id": v.snapshot_id,
        "description": v.description.clone().unwrap_or_default(),
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "os-vol-tenant-attr:tenant_id": v.project_id,
        "volume_image_metadata": v.image_metadata,
        "volume_type": v.volume_type_name,
        "size": v.size,
        "consistencygroup_id": null,
        "bootable": if v.bootable { "true" } else { "false" },
        "metadata": volume_metadata(v),
        "encrypted": false,
        "replication_status": v.replication_status.as_str(),
        "os-volume-replication:extended_status": null,
        "os-vol-mig-status-attr:migstat": v.migration_status.map(|m| m.as_str()),
        "os-vol-mig-status-attr:name_id": null,
        "shareable": if v.multiattach { "true" } else { "false" },
        "user_id": v.user_id,
        "service_type": "EVS",
        "multiattach": v.multiattach,
        "dedicated_storage_id": null,
        "dedicated_storage_name": null,
        "tags": v.tags,
        "wwn": wwn(v),
        "enterprise_project_id": v.enterprise_project_id,
    });
    if v.metadata
        .get("hw:passthrough")
        .is_some_and(|p| p == "true")
    {
        out["serial_number"] = json!(v
            .id
            .as_str()
            .replace('-', "")
            .chars()
            .take(20)
            .collect::<String>());
    }
    if let Some(iops) = v.iops {
        out["iops"] =
            json!({ "id": format!("{}-iops", v.id), "frozened": false, "total_val": iops });
    }
    if let Some(t) = v.throughput {
        out["throughput"] =
            json!({ "id": format!("{}-throughput", v.id), "frozened": false, "total_val": t });
    }
    out
}

/// Huawei's `CinderVolumeDetail` of the deprecated v1 show (8.2.1.1,
/// table 8-36): the EVS detail without the fields that table lacks.
pub fn cinder_volume_detail_v1(state: &ApiState, v: &Volume) -> Value {
    let mut out = volume_detail_with(state, "v1", v);
    if let Value::Object(m) = &mut out {
        for k in [
            "service_type",
            "dedicated_storage_id",
            "dedicated_storage_name",
            "tags",
            "wwn",
            "enterprise_project_id",
            "serial_number",
            "os-vol-mig-status-attr:migstat",
            "os-vol-mig-status-attr:name_id",
        ] {
            m.remove(k);
        }
        m.insert("snapshot_policy_id".into(), Value::Null);
    }
    out
}

/// `DiskDetail` (legacy `os-vendor-volumes`): the detail plus lock fields.
pub fn disk_detail(state: &ApiState, prefix: &str, v: &Volume) -> Value {
    let mut out = volume_detail_with(state, prefix, v);
    if let Value::Object(m) = &mut out {
        for k in [
            "os-vendor-extended:lock_check_endpoint",
            "os-vendor-extended:lock_scene",
            "os-vendor-extended:lock_source_id",
            "os-vendor-extended:lock_source_service",
            "os-volume-replication:driver_data",
        ] {
            m.insert(k.to_string(), Value::Null);
        }
        m.remove("iops");
        m.remove("throughput");
        m.remove("serial_number");
    }
    out
}

/// The volume of the update response (6.1.2): a subset, not wrapped.
pub fn volume_updated(state: &ApiState, v: &Volume) -> Value {
    let full = volume_detail(state, v);
    let keep = [
        "attachments",
        "availability_zone",
        "bootable",
        "created_at",
        "id",
        "links",
        "metadata",
        "multiattach",
        "name",
        "os-vol-host-attr:host",
        "os-vol-tenant-attr:tenant_id",
        "shareable",
        "size",
        "snapshot_id",
        "source_volid",
        "status",
        "volume_image_metadata",
        "volume_type",
        "description",
        "os-volume-replication:extended_status",
    ];
    let mut out = Map::new();
    if let Value::Object(m) = full {
        for (k, v) in m {
            if keep.contains(&k.as_str()) {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

/// `VolumeDetailForTag` (6.4.5): the detail without iops, throughput and
/// serial number, `shareable` a boolean and the order under `orderId`.
pub fn volume_for_tag(state: &ApiState, v: &Volume) -> Value {
    let mut out = volume_detail(state, v);
    if let Value::Object(m) = &mut out {
        m.remove("iops");
        m.remove("throughput");
        m.remove("serial_number");
        m.insert("shareable".into(), json!(v.multiattach));
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            if let Some(order) = meta.remove(ORDER_ID_KEY) {
                meta.insert("orderId".into(), order);
            }
        }
    }
    out
}

/// `SnapshotDetails` (6.2.x); `listed` adds the list-only fields.
pub fn snapshot_detail(s: &Snapshot, listed: bool) -> Value {
    let mut out = json!({
        "id": s.id,
        "status": s.status.as_str(),
        "name": s.name,
        "description": s.description,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "metadata": s.metadata,
        "volume_id": s.volume_id,
        "size": s.size,
        "os-extended-snapshot-attributes:project_id": s.project_id,
        "os-extended-snapshot-attributes:progress": s.progress(),
    });
    if listed {
        out["service_type"] = json!("EVS");
        out["dedicated_storage_id"] = Value::Null;
        out["dedicated_storage_name"] = Value::Null;
    }
    out
}

/// `SnapshotDetailV5` (7.1.x).
pub fn snapshot_v5(s: &Snapshot, availability_zone: &str) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "volume_id": s.volume_id,
        "size": s.size,
        "status": s.status.as_str(),
        "project_id": s.project_id,
        "enterprise_project_id": s.enterprise_project_id,
        "encrypted": false,
        "cmk_id": null,
        "category": "standard",
        "availability_zone": availability_zone,
        "tags": s.tags,
        "instant_access": s.instant_access,
        "retention_at": null,
        "instant_access_retention_at": null,
        "incremental": false,
        "snapshot_type": "user",
        "progress": s.progress().trim_end_matches('%'),
        "encrypt_algorithm": null,
        "snapshot_chains": [],
        "snapshot_group_id": null,
    })
}

fn job_entities(job: &Job) -> Value {
    let mut e = Map::new();
    match job.kind {
        k if k.on_snapshot() => {
            e.insert("snapshot_id".into(), json!(job.resource_id));
        }
        _ => {
            e.insert("volume_id".into(), json!(job.resource_id));
        }
    }
    let params = job.params.to_json();
    let size = params
        .get("size_gib")
        .or_else(|| params.get("new_size_gib"));
    if let Some(size) = size {
        e.insert("size".into(), size.clone());
    }
    for k in ["name", "volume_type"] {
        if let Some(v) = params.get(k).filter(|v| !v.is_null()) {
            e.insert(k.into(), v.clone());
        }
    }
    Value::Object(e)
}

/// The A.1 code of a failed job, by what it did.
fn job_error_code(kind: JobKind) -> &'static str {
    match kind {
        JobKind::VolumeCreate => "EVS.2024",
        JobKind::VolumeDelete => "EVS.2020",
        JobKind::VolumeExtend => "EVS.2026",
        JobKind::VolumeQos => "EVS.2050",
        JobKind::SnapshotDelete => "EVS.2019",
        _ => "EVS.2002",
    }
}

/// EVS's job statuses.
fn job_status(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Init => "INIT",
        JobStatus::Running => "RUNNING",
        JobStatus::Success => "SUCCESS",
        JobStatus::Fail => "FAIL",
    }
}

fn job_fields(job: &Job) -> Value {
    let failed = job.status == JobStatus::Fail;
    json!({
        "status": job_status(job.status),
        "entities": job_entities(job),
        "job_id": job.id,
        "job_type": job_type(job.kind),
        "begin_time": job_time(job.begin_at.or(Some(job.created_at))),
        "end_time": job_time(job.end_at),
        "error_code": if failed { json!(job_error_code(job.kind)) } else { Value::Null },
        "fail_reason": if failed { json!(job.error) } else { Value::Null },
    })
}

pub fn job(job: &Job) -> Value {
    job_fields(job)
}

/// A job group: its members as `sub_jobs`, the only member of `entities`.
pub fn job_group(group: &JobGroup, members: &[Job]) -> Value {
    let status = JobGroup::status_of(members);
    let done = status.is_terminal();
    let end = if done {
        members.iter().filter_map(|j| j.end_at).max()
    } else {
        None
    };
    let begin = members
        .iter()
        .filter_map(|j| j.begin_at)
        .min()
        .or(Some(group.created_at));
    let failed: Vec<&Job> = members
        .iter()
        .filter(|j| j.status == JobStatus::Fail)
        .collect();
    json!({
        "status": job_status(status),
        "entities": { "sub_jobs": members.iter().map(job_fields).collect::<Vec<_>>() },
        "job_id": group.id,
        "job_type": group_type(group.kind),
        "begin_time": job_time(begin),
        "end_time": job_time(end),
        "error_code": failed.first().map(|j| json!(job_error_code(j.kind))).unwrap_or(Value::Null),
        "fail_reason": if failed.is_empty() {
            Value::Null
        } else {
            json!(failed.iter().filter_map(|j| j.error.clone()).collect::<Vec<_>>().join("; "))
        },
    })
}
