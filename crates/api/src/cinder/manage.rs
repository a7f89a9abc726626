//! Manage existing volumes and snapshots: `os-volume-manage` and
//! `os-snapshot-manage` (v2, v3), `manageable_volumes` and
//! `manageable_snapshots` (3.8+: manage, and list a pool's devices).
//! Unmanaging is the `os-unmanage` action of a volume or snapshot
//! (`volumes.rs`, `snapshots.rs`).
//!
//! References name a device the way upstream's LVM driver does:
//! `{"source-name": "volume-<id>"}` and `{"source-name": "_snapshot-<id>"}`
//! (`snapshot-<id>` too), or `{"source-id": "<id>"}`, where `<id>` is the
//! id of the volume or snapshot the device was.

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json};
use platter_model::{DomainError, VolumeId};
use platter_service::{ManageableDevice, SnapshotManage, VolumeManage};
use serde_json::{json, Map, Value};

use super::params::{ListQuery, MAX_LIMIT};
use super::volumes::check_uuid;
use super::{views, ApiVersion, Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::routes::{Gate, Routes};
use crate::ApiState;

/// `manageable_volumes` and `manageable_snapshots` exist from 3.8.
const MANAGE_EXISTING_LIST: u16 = 8;
/// From 3.16 a manage may name a cluster instead of a host.
const MANAGE_EXISTING_CLUSTER: u16 = 16;
/// Upstream's names, which they accept for managing too.
const VOLUME_PREFIX: &str = "volume-";
const SNAPSHOT_PREFIXES: &[&str] = &["_snapshot-", "snapshot-"];
/// Upstream's schema allows names and descriptions of 255 characters here.
const TEXT_MAX: usize = 255;

/// Which of the two kinds of device a request is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Volume,
    Snapshot,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Volume => "volume",
            Kind::Snapshot => "snapshot",
        }
    }

    /// The `source-name` of a device id, as the lists show it.
    fn source_name(self, id: &str) -> String {
        match self {
            Kind::Volume => format!("{VOLUME_PREFIX}{id}"),
            Kind::Snapshot => format!("{}{id}", SNAPSHOT_PREFIXES[0]),
        }
    }

    fn prefixes(self) -> &'static [&'static str] {
        match self {
            Kind::Volume => &[VOLUME_PREFIX],
            Kind::Snapshot => SNAPSHOT_PREFIXES,
        }
    }
}

fn not_found() -> CinderError {
    CinderError::not_found("The resource could not be found.")
}

/// Upstream's `ManageExistingInvalidReference` (400).
fn invalid_reference(kind: Kind, r: &Value, why: &str) -> CinderError {
    CinderError::bad_request(format!(
        "Manage existing {} failed due to invalid backend reference {r}: {why}",
        kind.word()
    ))
}

/// The device id a `ref` names.
fn device_of(kind: Kind, r: &Value) -> Result<String, CinderError> {
    let by_name = |name: &str| {
        kind.prefixes()
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                invalid_reference(
                    kind,
                    r,
                    &format!(
                        "source-name must be {}<id>.",
                        kind.prefixes().join("<id> or ")
                    ),
                )
            })
    };
    match r {
        Value::String(name) => by_name(name),
        Value::Object(m) => match (m.get("source-name"), m.get("source-id")) {
            (Some(Value::String(name)), None) => by_name(name),
            (None, Some(Value::String(id))) if !id.is_empty() => Ok(id.clone()),
            _ => Err(invalid_reference(
                kind,
                r,
                "give exactly one of source-name and source-id, as a string.",
            )),
        },
        _ => Err(invalid_reference(
            kind,
            r,
            "a reference is an object with source-name or source-id.",
        )),
    }
}

/// Words the service's refusals of a manage as upstream does: an unknown
/// host is `ServiceUnavailable` (400), a device not in the pool an invalid
/// reference (404: nothing of that name is there).
fn manage_error(kind: Kind, r: &Value, host: Option<&str>, e: DomainError) -> CinderError {
    match e {
        DomainError::NotFound {
            kind: "Service",
            id,
        } => CinderError::bad_request(format!("Service '{id}' not found")),
        DomainError::NotFound {
            kind: "Volume device" | "Snapshot device",
            id,
        } => {
            let place = host.map(|h| format!(" in {h}")).unwrap_or_default();
            CinderError::not_found(format!(
                "Manage existing {} failed due to invalid backend reference {r}: no {} device {id}{place}.",
                kind.word(),
                kind.word()
            ))
        }
        other => CinderError::from(other),
    }
}

/// The v2 views upstream's manage controllers answer with, whatever the
/// microversion.
fn base_version(c: &Caller) -> ApiVersion {
    ApiVersion {
        major: c.api.major,
        minor: 0,
    }
}

async fn manage_volume(state: ApiState, c: Caller, body: Bytes) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["volume"])?;
    let v = Obj::child(&map, "volume")?;
    // Upstream's schema lets other members through (and ignores them).
    let r = v.require("ref")?.clone();
    let host = v.opt_str("host", 255)?;
    let cluster = if c.api.at_least(MANAGE_EXISTING_CLUSTER) {
        v.opt_str("cluster", 255)?
    } else {
        None
    };
    let host = match (host, cluster) {
        (Some(h), None) => h,
        (None, Some(cluster)) => {
            // Platter has no clusters: none is found.
            return Err(CinderError::bad_request(format!(
                "Cluster '{cluster}' not found"
            )));
        }
        _ if c.api.at_least(MANAGE_EXISTING_CLUSTER) => {
            return Err(CinderError::bad_request(
                "Invalid input received: One and only one of cluster and host must be set.",
            ))
        }
        _ => {
            return Err(CinderError::bad_request(
                "Invalid input received: Host field is missing.",
            ))
        }
    };
    let device_id = device_of(Kind::Volume, &r)?;
    let req = VolumeManage {
        host: host.clone(),
        device_id,
        name: v.opt_str("name", TEXT_MAX)?,
        description: v.opt_str("description", TEXT_MAX)?,
        volume_type: v.opt_str("volume_type", 255)?.filter(|t| !t.is_empty()),
        availability_zone: v.opt_str("availability_zone", 255)?,
        bootable: v.opt_bool("bootable")?.unwrap_or(false),
        metadata: v.opt_metadata("metadata")?.unwrap_or_default(),
    };
    let (volume, _job) = state
        .platter
        .volume_manage(&c.ctx, req)
        .await
        .map_err(|e| manage_error(Kind::Volume, &r, Some(&host), e))?;
    let view = views::volume_detail(
        &state,
        base_version(&c),
        &volume,
        c.ctx.is_admin(),
        views::VolumeView::Written,
    );
    Ok((StatusCode::ACCEPTED, Json(json!({ "volume": view }))).into_response())
}

async fn manage_snapshot(state: ApiState, c: Caller, body: Bytes) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["snapshot"])?;
    let s = Obj::child(&map, "snapshot")?;
    let r = s.require("ref")?.clone();
    let volume_id = s.req_str("volume_id", 36)?;
    check_uuid("volume_id", &volume_id)?;
    let device_id = device_of(Kind::Snapshot, &r)?;
    let name = match s.opt_str("name", TEXT_MAX)? {
        Some(n) => Some(n),
        None => s.opt_str("display_name", TEXT_MAX)?,
    };
    let req = SnapshotManage {
        volume_id: VolumeId::from(volume_id),
        device_id,
        name,
        description: s.opt_str("description", TEXT_MAX)?,
        metadata: s.opt_metadata("metadata")?.unwrap_or_default(),
    };
    let (snapshot, _job) = state
        .platter
        .snapshot_manage(&c.ctx, req)
        .await
        .map_err(|e| manage_error(Kind::Snapshot, &r, None, e))?;
    let view = views::snapshot_summary(base_version(&c), &snapshot);
    Ok((StatusCode::ACCEPTED, Json(json!({ "snapshot": view }))).into_response())
}

/// Sorting and paging of a manageable list, as upstream pages it (in
/// memory): `sort` (or `sort_key`/`sort_dir`) by `reference` or `size`,
/// default `reference:desc`; `marker` is a reference (as JSON, or its
/// source-name); `offset` counts after the marker.
struct ListPage {
    sort: Vec<(&'static str, bool)>,
    marker: Option<String>,
    limit: Option<usize>,
    offset: usize,
}

fn count(q: &ListQuery, key: &str) -> Result<Option<usize>, CinderError> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(CinderError::bad_request(format!(
                "Invalid input received: {key} param must be an integer greater than or equal to 0, not '{v}'."
            ))),
        },
    }
}

fn list_page(q: &ListQuery) -> Result<ListPage, CinderError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(spec) = q.get("sort").filter(|s| !s.is_empty()) {
        for part in spec.split(',') {
            let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
            pairs.push((k.trim().to_string(), d.trim().to_string()));
        }
    } else if let Some(keys) = q.get("sort_key").filter(|s| !s.is_empty()) {
        let dirs: Vec<&str> = q
            .get("sort_dir")
            .map(|d| d.split(',').collect())
            .unwrap_or_default();
        for (i, k) in keys.split(',').enumerate() {
            let d = dirs.get(i).or(dirs.last()).copied().unwrap_or("desc");
            pairs.push((k.trim().to_string(), d.trim().to_string()));
        }
    } else {
        pairs.push(("reference".into(), "desc".into()));
    }
    let mut sort = Vec::new();
    for (k, d) in pairs {
        let key = match k.as_str() {
            "reference" => "reference",
            "size" => "size",
            other => {
                return Err(CinderError::bad_request(format!(
                    "Invalid sort keys passed: {other}"
                )))
            }
        };
        let desc = match d.as_str() {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(CinderError::bad_request(format!(
                    "Invalid sort dirs passed: {other}"
                )))
            }
        };
        sort.push((key, desc));
    }
    Ok(ListPage {
        sort,
        marker: q.get("marker").map(str::to_string),
        limit: count(q, "limit")?.map(|l| l.min(MAX_LIMIT as usize)),
        offset: count(q, "offset")?.unwrap_or(0),
    })
}

/// Sorts and pages `devices` (source-names computed by `kind`).
fn paged(
    kind: Kind,
    mut devices: Vec<ManageableDevice>,
    page: &ListPage,
) -> Result<Vec<ManageableDevice>, CinderError> {
    devices.sort_by(|a, b| {
        for (key, desc) in &page.sort {
            let o = match *key {
                "size" => a.size_gib.cmp(&b.size_gib),
                _ => a.device_id.cmp(&b.device_id),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    let mut start = 0;
    if let Some(marker) = &page.marker {
        let wanted = match serde_json::from_str::<Value>(marker) {
            Ok(Value::Object(m)) => m
                .get("source-name")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => Some(marker.clone()),
        };
        match devices
            .iter()
            .position(|d| Some(kind.source_name(&d.device_id)) == wanted)
        {
            Some(i) => start = i + 1,
            None => {
                return Err(CinderError::bad_request(format!(
                    "Invalid input received: marker not found: {marker}"
                )))
            }
        }
    }
    Ok(devices
        .into_iter()
        .skip(start + page.offset)
        .take(page.limit.unwrap_or(usize::MAX))
        .collect())
}

fn reference(kind: Kind, id: &str) -> Value {
    json!({ "source-name": kind.source_name(id) })
}

/// Upstream's views (`manageable_volumes`, `manageable_snapshots`).
fn device_view(kind: Kind, d: &ManageableDevice, detail: bool) -> Value {
    let mut out = Map::new();
    out.insert("reference".into(), reference(kind, &d.device_id));
    out.insert("size".into(), json!(d.size_gib));
    out.insert("safe_to_manage".into(), json!(d.tracked.is_none()));
    if kind == Kind::Snapshot {
        let source = d
            .tracked
            .as_ref()
            .and_then(|t| t.volume_id.as_ref())
            .map(|v| reference(Kind::Volume, v.as_str()));
        out.insert("source_reference".into(), json!(source));
    }
    if detail {
        let reason = d.tracked.as_ref().map(|t| {
            if t.adopting {
                "already being managed"
            } else {
                "already managed"
            }
        });
        out.insert("reason_not_safe".into(), json!(reason));
        out.insert(
            "cinder_id".into(),
            json!(d.tracked.as_ref().map(|t| &t.cinder_id)),
        );
        out.insert("extra_info".into(), Value::Null);
    }
    Value::Object(out)
}

async fn list(state: ApiState, c: Caller, q: ListQuery, kind: Kind, detail: bool) -> CinderResult {
    if !c.api.at_least(MANAGE_EXISTING_LIST) {
        return Err(not_found());
    }
    let host = match (q.get("host"), q.get("cluster")) {
        (Some(h), None) if !h.is_empty() => h.to_string(),
        (None, Some(cluster)) if c.api.at_least(MANAGE_EXISTING_CLUSTER) => {
            return Err(CinderError::not_found(format!(
                "Cluster {cluster} could not be found."
            )))
        }
        _ if c.api.at_least(MANAGE_EXISTING_CLUSTER) => {
            return Err(CinderError::bad_request(
                "Invalid input received: One and only one of cluster and host must be set.",
            ))
        }
        _ => {
            return Err(CinderError::bad_request(
                "Invalid input received: Host field is missing.",
            ))
        }
    };
    let page = list_page(&q)?;
    let devices = match kind {
        Kind::Volume => state.platter.manageable_volumes(&c.ctx, &host).await?,
        Kind::Snapshot => state.platter.manageable_snapshots(&c.ctx, &host).await?,
    };
    let items: Vec<Value> = paged(kind, devices, &page)?
        .iter()
        .map(|d| device_view(kind, d, detail))
        .collect();
    let collection = match kind {
        Kind::Volume => "manageable-volumes",
        Kind::Snapshot => "manageable-snapshots",
    };
    Ok(Json(json!({ collection: items })).into_response())
}

pub(super) async fn manage_volume_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    manage_volume(state, c, body).await
}

/// `POST /manageable_volumes`: 3.8 and later.
pub(super) async fn manageable_volume_create_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    if !c.api.at_least(MANAGE_EXISTING_LIST) {
        return Err(not_found());
    }
    manage_volume(state, c, body).await
}

pub(super) async fn manage_snapshot_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    manage_snapshot(state, c, body).await
}

/// `POST /manageable_snapshots`: 3.8 and later.
pub(super) async fn manageable_snapshot_create_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    if !c.api.at_least(MANAGE_EXISTING_LIST) {
        return Err(not_found());
    }
    manage_snapshot(state, c, body).await
}

pub(super) async fn volumes_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list(state, c, ListQuery { pairs }, Kind::Volume, false).await
}

pub(super) async fn volumes_detail_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list(state, c, ListQuery { pairs }, Kind::Volume, true).await
}

pub(super) async fn snapshots_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list(state, c, ListQuery { pairs }, Kind::Snapshot, false).await
}

pub(super) async fn snapshots_detail_h(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list(state, c, ListQuery { pairs }, Kind::Snapshot, true).await
}

/// The manage routes.
pub(super) fn routes(r: Routes) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    r.add(
        M::POST,
        "/os-volume-manage",
        Gate::All(&[VolumeManage]),
        post(manage_volume_h),
    )
    .add(
        M::POST,
        "/manageable_volumes",
        Gate::All(&[VolumeManage]),
        post(manageable_volume_create_h),
    )
    .add(
        M::GET,
        "/manageable_volumes",
        Gate::All(&[VolumeManageableList]),
        get(volumes_h),
    )
    .add(
        M::GET,
        "/manageable_volumes/detail",
        Gate::All(&[VolumeManageableList]),
        get(volumes_detail_h),
    )
    .add(
        M::POST,
        "/os-snapshot-manage",
        Gate::All(&[SnapshotManage, VolumeGet]),
        post(manage_snapshot_h),
    )
    .add(
        M::POST,
        "/manageable_snapshots",
        Gate::All(&[SnapshotManage, VolumeGet]),
        post(manageable_snapshot_create_h),
    )
    .add(
        M::GET,
        "/manageable_snapshots",
        Gate::All(&[SnapshotManageableList]),
        get(snapshots_h),
    )
    .add(
        M::GET,
        "/manageable_snapshots/detail",
        Gate::All(&[SnapshotManageableList]),
        get(snapshots_detail_h),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_devices_as_upstream_does() {
        let v = |r: Value| device_of(Kind::Volume, &r).map_err(|e| e.message);
        assert_eq!(v(json!({"source-name": "volume-abc"})).unwrap(), "abc");
        assert_eq!(v(json!({"source-id": "abc"})).unwrap(), "abc");
        assert_eq!(v(json!("volume-abc")).unwrap(), "abc");
        let err = v(json!({"source-name": "lvol0"})).unwrap_err();
        assert!(
            err.starts_with("Manage existing volume failed due to invalid backend reference"),
            "{err}"
        );
        assert!(v(json!({"source-name": "volume-"})).is_err());
        assert!(v(json!({"source-name": "volume-a", "source-id": "a"})).is_err());
        assert!(v(json!({"source-id": 7})).is_err());
        assert!(v(json!(7)).is_err());
        let s = |r: Value| device_of(Kind::Snapshot, &r).map_err(|e| e.message);
        assert_eq!(s(json!({"source-name": "_snapshot-x"})).unwrap(), "x");
        assert_eq!(s(json!({"source-name": "snapshot-x"})).unwrap(), "x");
        assert!(s(json!({"source-name": "volume-x"})).is_err());
    }

    fn dev(id: &str, size: i64) -> ManageableDevice {
        ManageableDevice {
            device_id: id.into(),
            size_gib: size,
            tracked: None,
        }
    }

    #[test]
    fn lists_sort_and_page_as_upstream_does() {
        let devices = vec![dev("b", 1), dev("a", 3), dev("c", 2)];
        let q = |pairs: &[(&str, &str)]| ListQuery {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let ids = |pairs: &[(&str, &str)]| -> Result<Vec<String>, String> {
            let page = list_page(&q(pairs)).map_err(|e| e.message)?;
            Ok(paged(Kind::Volume, devices.clone(), &page)
                .map_err(|e| e.message)?
                .into_iter()
                .map(|d| d.device_id)
                .collect())
        };
        assert_eq!(ids(&[]).unwrap(), ["c", "b", "a"]);
        assert_eq!(ids(&[("sort", "size:asc")]).unwrap(), ["b", "c", "a"]);
        assert_eq!(
            ids(&[("sort_key", "reference"), ("sort_dir", "asc")]).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(
            ids(&[("sort", "reference:asc"), ("limit", "1"), ("offset", "1")]).unwrap(),
            ["b"]
        );
        assert_eq!(
            ids(&[("sort", "reference:asc"), ("marker", "volume-a")]).unwrap(),
            ["b", "c"]
        );
        assert_eq!(
            ids(&[
                ("sort", "reference:asc"),
                ("marker", r#"{"source-name": "volume-b"}"#)
            ])
            .unwrap(),
            ["c"]
        );
        assert!(ids(&[("marker", "volume-z")]).is_err());
        assert!(ids(&[("sort", "name:asc")])
            .unwrap_err()
            .contains("Invalid sort keys passed: name"));
        assert!(ids(&[("sort", "size:up")])
            .unwrap_err()
            .contains("Invalid sort dirs passed: up"));
        assert!(ids(&[("limit", "-1")]).is_err());
    }
}
