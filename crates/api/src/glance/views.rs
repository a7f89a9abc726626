//! Glance's image and member records.

use platter_model::{Image, ImageMember, Timestamp};
use serde_json::{json, Map, Value};

/// Glance's timestamps: UTC to the second, `Z`.
pub fn glance_time(t: Timestamp) -> String {
    let d = t.datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// An image record: custom properties at the top level (strings), then
/// every base attribute (`null` when unset), then the links.
pub fn image(i: &Image) -> Value {
    let mut out: Map<String, Value> = i
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let hashed = i.os_hash_value.is_some();
    let base = json!({
        "id": i.id,
        "name": i.name,
        "status": i.status.as_str(),
        "visibility": i.visibility.as_str(),
        "protected": i.protected,
        "os_hidden": i.os_hidden,
        "checksum": i.checksum,
        "os_hash_algo": if hashed { Some("sha512") } else { None },
        "os_hash_value": i.os_hash_value,
        "size": i.size,
        "virtual_size": i.virtual_size,
        "disk_format": i.disk_format.map(|f| f.as_str()),
        "container_format": i.container_format,
        "min_disk": i.min_disk,
        "min_ram": i.min_ram,
        "owner": i.owner,
        "tags": i.tags,
        "created_at": glance_time(i.created_at),
        "updated_at": glance_time(i.updated_at),
        "self": format!("/v2/images/{}", i.id),
        "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(m) = base {
        out.extend(m);
    }
    Value::Object(out)
}

pub fn member(m: &ImageMember) -> Value {
    json!({
        "member_id": m.member_id,
        "image_id": m.image_id,
        "status": m.status.as_str(),
        "created_at": glance_time(m.created_at),
        "updated_at": glance_time(m.updated_at),
        "schema": "/v2/schemas/member",
    })
}
