//! Nova's views of servers, flavors, attachments, limits and versions.

use platter_model::{Flavor, Server, ServerDisk, Timestamp};
use platter_service::ComputeLimits;
use serde_json::{json, Value};

use super::Microversion;

/// Nova's time: seconds and `Z`.
pub fn nova_time(t: &Timestamp) -> String {
    let s = t.to_string();
    format!("{}Z", &s[..s.len().min(19)])
}

fn links(base: &str, project: &str, kind: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{base}/v2.1/{project}/{kind}/{id}")},
        {"rel": "bookmark", "href": format!("{base}/{project}/{kind}/{id}")},
    ])
}

pub fn server_summary(base: &str, s: &Server) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "links": links(base, s.project_id.as_str(), "servers", s.id.as_str()),
    })
}

/// The create answer: the id, links and the defaults Nova reports.
pub fn server_created(base: &str, s: &Server) -> Value {
    json!({
        "id": s.id,
        "links": links(base, s.project_id.as_str(), "servers", s.id.as_str()),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": platter_model::new_hex_id()[..12].to_string(),
    })
}

fn flavor_embedded(base: &str, s: &Server, mv: Microversion) -> Value {
    if mv.at_least(2, 47) {
        json!({
            "vcpus": s.flavor.vcpus,
            "ram": s.flavor.ram_mib,
            "disk": s.flavor.disk_gib,
            "ephemeral": 0,
            "swap": 0,
            "original_name": s.flavor.name,
            "extra_specs": s.flavor.extra_specs,
        })
    } else {
        json!({
            "id": s.flavor.id,
            "links": [{"rel": "bookmark", "href": format!("{base}/{}/flavors/{}", s.project_id, s.flavor.id)}],
        })
    }
}

fn volumes_attached(s: &Server, mv: Microversion) -> Value {
    Value::Array(
        s.disks
            .iter()
            .map(|d: &ServerDisk| {
                if mv.at_least(2, 3) {
                    json!({"id": d.volume_id, "delete_on_termination": d.delete_on_termination})
                } else {
                    json!({"id": d.volume_id})
                }
            })
            .collect(),
    )
}

/// The detail view at microversion `mv`; `admin` sees the host fields.
pub fn server_detail(base: &str, s: &Server, mv: Microversion, admin: bool) -> Value {
    let image = match &s.image_id {
        Some(i) if s.root_disk().is_none() => json!({
            "id": i,
            "links": [{"rel": "bookmark", "href": format!("{base}/{}/images/{i}", s.project_id)}],
        }),
        _ => json!(""),
    };
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "status": s.status(),
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": s.metadata,
        "hostId": if s.vm_state == platter_model::VmState::Building { String::new() } else { hex_host(s) },
        "image": image,
        "flavor": flavor_embedded(base, s, mv),
        "created": nova_time(&s.created_at),
        "updated": nova_time(&s.updated_at),
        "addresses": {},
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(base, s.project_id.as_str(), "servers", s.id.as_str()),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": if s.status() == "ACTIVE" { 100 } else { 0 },
        "OS-EXT-AZ:availability_zone": s.availability_zone,
        "config_drive": "",
        "key_name": s.key_name,
        "OS-SRV-USG:launched_at": s.launched_at.map(|t| t.to_string()),
        "OS-SRV-USG:terminated_at": Value::Null,
        "OS-EXT-STS:task_state": s.task_state.map(|t| t.as_str()),
        "OS-EXT-STS:vm_state": s.vm_state.as_str(),
        "OS-EXT-STS:power_state": s.power_state.code(),
        "os-extended-volumes:volumes_attached": volumes_attached(s, mv),
        "security_groups": [{"name": "default"}],
    });
    let Some(o) = v.as_object_mut() else {
        return v;
    };
    if admin {
        o.insert("OS-EXT-SRV-ATTR:host".into(), json!(s.host));
        o.insert("OS-EXT-SRV-ATTR:hypervisor_hostname".into(), json!(s.host));
        o.insert(
            "OS-EXT-SRV-ATTR:instance_name".into(),
            json!(format!("instance-{}", s.id)),
        );
        if mv.at_least(2, 3) {
            o.insert("OS-EXT-SRV-ATTR:hostname".into(), json!(s.name));
            o.insert(
                "OS-EXT-SRV-ATTR:reservation_id".into(),
                json!(s.reservation_id),
            );
            o.insert("OS-EXT-SRV-ATTR:launch_index".into(), json!(s.launch_index));
            o.insert("OS-EXT-SRV-ATTR:kernel_id".into(), json!(""));
            o.insert("OS-EXT-SRV-ATTR:ramdisk_id".into(), json!(""));
            o.insert(
                "OS-EXT-SRV-ATTR:root_device_name".into(),
                json!(s.root_disk().map(|d| d.device.clone())),
            );
            o.insert("OS-EXT-SRV-ATTR:user_data".into(), json!(s.user_data));
        }
        if mv.at_least(2, 16) {
            o.insert("host_status".into(), json!("UP"));
        }
    }
    if mv.at_least(2, 9) {
        o.insert("locked".into(), json!(s.locked));
    }
    if mv.at_least(2, 19) {
        o.insert("description".into(), json!(s.description));
    }
    if mv.at_least(2, 26) {
        o.insert("tags".into(), json!([]));
    }
    if let Some(f) = &s.fault {
        o.insert(
            "fault".into(),
            json!({"code": f.code, "message": f.message, "created": nova_time(&f.created)}),
        );
    }
    v
}

/// Nova's `hostId`: a hash of the project and the host, stable per pair.
fn hex_host(s: &Server) -> String {
    use sha2::{Digest, Sha224};
    hex::encode(Sha224::digest(format!("{}{}", s.project_id, s.host)))
}

pub fn flavor(base: &str, project: &str, f: &Flavor, detail: bool) -> Value {
    let mut v = json!({
        "id": f.id,
        "name": f.name,
        "links": links(base, project, "flavors", &f.id),
    });
    if let (true, Some(o)) = (detail, v.as_object_mut()) {
        for (k, x) in [
            ("vcpus", json!(f.vcpus)),
            ("ram", json!(f.ram_mib)),
            ("disk", json!(f.disk_gib)),
            ("swap", json!("")),
            ("OS-FLV-EXT-DATA:ephemeral", json!(0)),
            ("OS-FLV-DISABLED:disabled", json!(false)),
            ("rxtx_factor", json!(1.0)),
            ("os-flavor-access:is_public", json!(true)),
            ("description", Value::Null),
            ("extra_specs", json!(f.extra_specs)),
        ] {
            o.insert(k.into(), x);
        }
    }
    v
}

/// A volume attachment (`id` and `volumeId` are the volume's id).
pub fn attachment(server: &Server, d: &ServerDisk, mv: Microversion) -> Value {
    let mut v = json!({
        "id": d.volume_id,
        "volumeId": d.volume_id,
        "serverId": server.id,
        "device": d.device,
    });
    if mv.at_least(2, 70) {
        v["tag"] = Value::Null;
    }
    v
}

pub fn absolute_limits(l: &ComputeLimits) -> Value {
    json!({
        "maxTotalInstances": l.max_instances,
        "maxTotalCores": l.max_cores,
        "maxTotalRAMSize": l.max_ram_mib,
        "maxTotalKeypairs": 100,
        "maxServerMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "maxSecurityGroups": 10,
        "maxSecurityGroupRules": 20,
        "maxTotalFloatingIps": 10,
        "maxImageMeta": 128,
        "totalInstancesUsed": l.instances,
        "totalCoresUsed": l.cores,
        "totalRAMUsed": l.ram_mib,
        "totalSecurityGroupsUsed": 0,
        "totalFloatingIpsUsed": 0,
        "totalServerGroupsUsed": 0,
    })
}

pub fn version_v21(base: &str) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": super::MAX_MICROVERSION_TEXT,
        "min_version": "2.1",
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/v2.1/")},
                  {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

pub fn version_v2(base: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": format!("{base}/v2/")},
                  {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}],
    })
}
