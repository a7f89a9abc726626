//! What the volume endpoints share: size limits and the parsing of
//! integers, flags, billing parameters and metadata.

use platter_model::{Metadata, MetadataRule, ORDER_ID_KEY};
use platter_service::Prepaid;
use serde_json::{Map, Value};

use super::super::params::loose_bool;
use super::super::EvsError;

/// Largest data disk, GiB.
pub(super) const MAX_DATA_DISK_GIB: i64 = 32768;
/// Largest system (boot) disk, GiB.
pub(super) const MAX_SYSTEM_DISK_GIB: i64 = 1024;
/// At most this many volumes in one batch extend.
pub(super) const MAX_BATCH_EXTEND: usize = 50;

/// Which create endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// `POST /v2.1/{project_id}/cloudvolumes`: current, billing, idempotency.
    V21,
    /// `POST /v2/{project_id}/cloudvolumes`: deprecated.
    V2,
    /// `POST /v3/{project_id}/cloudvolumes`: deprecated, 200, idempotency.
    V3,
}

/// An integer; decimals are truncated (as EVS documents for size and count).
pub(super) fn trunc_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f.trunc() as i64),
        _ => None,
    }
}

/// `iops` and `throughput` of a body object (create, retype, QoS): integers
/// (decimals truncated) or absent.
pub(super) fn qos_values(o: &Map<String, Value>) -> Result<(Option<i64>, Option<i64>), EvsError> {
    let int = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => trunc_int(x)
            .map(Some)
            .ok_or_else(|| EvsError::bad("EVS.2231", format!("invalid {key} value {x}."))),
    };
    Ok((int("iops")?, int("throughput")?))
}

pub(super) fn truthy(v: Option<&Value>) -> Result<bool, EvsError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(v) => loose_bool(v).ok_or_else(|| {
            EvsError::bad(
                "EVS.2147",
                format!("invalid bssParam. {v} is not true or false."),
            )
        }),
    }
}

/// `bssParam` of a create: `None` for on-demand.
pub(super) fn parse_bss(v: Option<&Value>) -> Result<Option<Prepaid>, EvsError> {
    let bss = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(EvsError::bad(
                "EVS.2147",
                format!("invalid bssParam. {other} is not an object."),
            ))
        }
    };
    let mode = match bss.get("chargingMode") {
        None | Some(Value::Null) => "postPaid".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(EvsError::bad(
                "EVS.2147",
                format!("invalid bssParam. chargingMode {other}."),
            ))
        }
    };
    match mode.as_str() {
        "postPaid" => Ok(None),
        "prePaid" | "PrePaid" => {
            let period_type = match bss.get("periodType") {
                Some(Value::String(t)) if t == "month" || t == "year" => t.clone(),
                other => {
                    return Err(EvsError::bad(
                        "EVS.2147",
                        format!(
                        "invalid bssParam. periodType must be month or year for prePaid, not {}.",
                        other.map_or("nothing".to_string(), Value::to_string)
                    ),
                    ))
                }
            };
            let max = if period_type == "month" { 9 } else { 1 };
            let period_num = bss.get("periodNum").and_then(trunc_int).filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                EvsError::bad("EVS.2147", format!("invalid bssParam. periodNum must be between 1 and {max} for periodType {period_type}."))
            })?;
            Ok(Some(Prepaid {
                period_type,
                period_num,
                auto_renew: truthy(bss.get("isAutoRenew"))?,
                auto_pay: truthy(bss.get("isAutoPay"))?,
            }))
        }
        other => Err(EvsError::bad(
            "EVS.2147",
            format!("invalid bssParam. chargingMode must be prePaid or postPaid, not '{other}'."),
        )),
    }
}

/// `bssParam.isAutoPay` of an extend or retype (`bss_param.is_auto_pay` of
/// a batch extend): `"true"`/`"false"` or a boolean; default false.
pub(super) fn parse_auto_pay(v: Option<&Value>, field: &str) -> Result<bool, EvsError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(m)) => truthy(m.get(field)),
        Some(other) => Err(EvsError::bad(
            "EVS.2147",
            format!("invalid bssParam. {other} is not an object."),
        )),
    }
}

/// EVS's words for the metadata rule every family shares: a key or value
/// too long is `EVS.1005`, an empty key a malformed body.
fn metadata_refusal(rule: MetadataRule) -> EvsError {
    match rule {
        MetadataRule::EmptyKey => EvsError::malformed(format!("Malformed request body. {rule}")),
        _ => EvsError::bad("EVS.1005", format!("size of metadata is too large! {rule}")),
    }
}

/// Checks the metadata rule (`platter_model::check_metadata`, which the
/// service applies too), then the keys with special meaning.
pub(super) fn check_metadata(meta: &Metadata, from_source: bool) -> Result<(), EvsError> {
    platter_model::check_metadata(meta).map_err(metadata_refusal)?;
    let special = ["__system__encrypted", "__system__cmkid", "hw:passthrough"];
    if from_source && meta.keys().any(|k| special.contains(&k.as_str())) {
        return Err(EvsError::bad(
            "EVS.1043",
            "encrypt and cmk and passthrough in metadata is not support when create volume from snapshot or image!",
        ));
    }
    if let Some(p) = meta.get("hw:passthrough") {
        if p != "true" && p != "false" {
            return Err(EvsError::bad(
                "EVS.1057",
                format!("invalid hw:passthrough in metadata! '{p}'"),
            ));
        }
    }
    match meta.get("__system__encrypted").map(String::as_str) {
        None | Some("0") => {}
        Some("1") => {
            return Err(EvsError::bad(
                "EVS.2041",
                "The encrypt Param is invalid! Volume encryption (KMS) is not available on this service.",
            ))
        }
        Some(other) => return Err(EvsError::bad("EVS.2041", format!("The encrypt Param is invalid! __system__encrypted '{other}'"))),
    }
    if let Some(f) = meta.get("full_clone") {
        if f != "0" && f != "1" {
            return Err(EvsError::bad(
                "EVS.1063",
                format!("invalid full_clone in metadata! '{f}'"),
            ));
        }
    }
    if meta.contains_key(ORDER_ID_KEY) {
        return Err(EvsError::bad(
            "EVS.2047",
            "the metadata Param is not allowed to be updated! orderID is set by the system.",
        ));
    }
    let bytes: usize = meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes >= 1 << 20 {
        return Err(EvsError::bad("EVS.1005", "size of metadata is too large!"));
    }
    Ok(())
}
