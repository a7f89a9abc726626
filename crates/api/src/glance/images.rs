//! `/v2/images`: records, JSON-patch updates, data upload and download,
//! tags, deactivation and members.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt;
use platter_model::{
    DiskFormat, Image, ImageId, ImageVisibility, MemberStatus, Metadata, ProjectId,
};
use platter_service::{ImageCreate, ImageUpdate};
use serde_json::{json, Map, Value};

use super::errors::GlanceError;
use super::{views, Caller, GlanceResult};
use crate::toolkit::normalize::empty;
use crate::ApiState;

/// Attributes only the server sets.
const READ_ONLY: &[&str] = &[
    "status",
    "checksum",
    "size",
    "virtual_size",
    "created_at",
    "updated_at",
    "os_hash_algo",
    "os_hash_value",
    "self",
    "file",
    "schema",
    "direct_url",
    "stores",
];
const RESERVED: &[&str] = &["location", "locations", "deleted", "deleted_at"];
const CONTAINER_FORMATS: &[&str] = &[
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];
const CHUNK: usize = 1 << 20;

fn check_writable(key: &str) -> Result<(), GlanceError> {
    if READ_ONLY.contains(&key) {
        return Err(GlanceError::forbidden(format!(
            "Attribute '{key}' is read-only."
        )));
    }
    if RESERVED.contains(&key) || key.starts_with("os_glance") {
        return Err(GlanceError::forbidden(format!(
            "Attribute '{key}' is reserved."
        )));
    }
    Ok(())
}

fn invalid(key: &str, value: &Value, why: &str) -> GlanceError {
    GlanceError::bad_request(format!(
        "Provided object does not match schema 'image': {value} {why} Failed validating '{key}'."
    ))
}

fn opt_string(key: &str, v: &Value, max: usize) -> Result<Option<String>, GlanceError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= max => Ok(Some(s.clone())),
        Value::String(_) => Err(invalid(key, v, "is too long.")),
        _ => Err(invalid(key, v, "is not of type 'null', 'string'.")),
    }
}

fn boolean(key: &str, v: &Value) -> Result<bool, GlanceError> {
    v.as_bool()
        .ok_or_else(|| invalid(key, v, "is not of type 'boolean'."))
}

fn non_negative(key: &str, v: &Value) -> Result<i64, GlanceError> {
    match v.as_i64() {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(invalid(key, v, "is not a non-negative integer.")),
    }
}

fn visibility(v: &Value) -> Result<ImageVisibility, GlanceError> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
        invalid(
            "visibility",
            v,
            "is not one of ['community', 'public', 'private', 'shared'].",
        )
    })
}

fn disk_format(v: &Value) -> Result<Option<DiskFormat>, GlanceError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => s.parse().map(Some).map_err(|_| {
            GlanceError::bad_request(format!(
                "Invalid disk format '{s}' for image: Platter stores raw, qcow2, vmdk, vhd, vhdx and iso images."
            ))
        }),
        _ => Err(invalid("disk_format", v, "is not of type 'null', 'string'.")),
    }
}

fn container_format(v: &Value) -> Result<Option<String>, GlanceError> {
    match opt_string("container_format", v, 255)? {
        Some(c) if !CONTAINER_FORMATS.contains(&c.as_str()) => Err(GlanceError::bad_request(
            format!("Invalid container format '{c}' for image."),
        )),
        other => Ok(other),
    }
}

fn tags(v: &Value) -> Result<Vec<String>, GlanceError> {
    let Some(items) = v.as_array() else {
        return Err(invalid("tags", v, "is not of type 'array'."));
    };
    let mut out: Vec<String> = Vec::new();
    for t in items {
        match t.as_str() {
            Some(s) if !s.is_empty() && s.chars().count() <= 255 => {
                if !out.iter().any(|x| x == s) {
                    out.push(s.to_string());
                }
            }
            _ => {
                return Err(invalid(
                    "tags",
                    t,
                    "is not a tag (a string of 1 to 255 characters).",
                ))
            }
        }
    }
    Ok(out)
}

fn property(key: &str, v: &Value) -> Result<String, GlanceError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(invalid(key, v, "is not of type 'string'.")),
    }
}

fn json_body(body: &Bytes) -> Result<Value, GlanceError> {
    serde_json::from_slice(body)
        .map_err(|e| GlanceError::bad_request(format!("Malformed JSON in request body: {e}")))
}

/// `POST /v2/images` → 201.
pub(super) async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> GlanceResult {
    let Value::Object(map) = json_body(&body)? else {
        return Err(GlanceError::bad_request(
            "Malformed request body: expected a JSON object.",
        ));
    };
    let mut req = ImageCreate::default();
    for (key, v) in &map {
        check_writable(key)?;
        match key.as_str() {
            "id" => {
                let id = opt_string(key, v, 36)?.unwrap_or_default();
                if uuid::Uuid::parse_str(&id).is_err() {
                    return Err(invalid(key, v, "does not match the UUID pattern."));
                }
                req.id = Some(ImageId::from(id));
            }
            "name" => req.name = opt_string(key, v, 255)?,
            "visibility" => req.visibility = Some(visibility(v)?),
            "protected" => req.protected = boolean(key, v)?,
            "os_hidden" => req.os_hidden = boolean(key, v)?,
            "disk_format" => req.disk_format = disk_format(v)?,
            "container_format" => req.container_format = container_format(v)?,
            "min_disk" => req.min_disk = non_negative(key, v)?,
            "min_ram" => req.min_ram = non_negative(key, v)?,
            "tags" => req.tags = tags(v)?,
            "owner" => {
                if v.as_str() != Some(c.ctx.project_id.as_str()) && !c.ctx.is_admin() {
                    return Err(GlanceError::forbidden(
                        "You are not permitted to create images owned by another project.",
                    ));
                }
            }
            _ => {
                req.properties.insert(key.clone(), property(key, v)?);
            }
        }
    }
    let image = state.platter.image_create(&c.ctx, req).await?;
    let mut resp = (StatusCode::CREATED, Json(views::image(&image))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v2/images/{}", image.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET /v2/images/{id}`.
pub(super) async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> GlanceResult {
    let image = state.platter.image_get(&c.ctx, &id.into()).await?;
    Ok(Json(views::image(&image)).into_response())
}

/// `DELETE /v2/images/{id}` → 204.
pub(super) async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> GlanceResult {
    state.platter.image_delete(&c.ctx, &id.into()).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// One JSON-patch operation, in either of Glance's media types.
struct PatchOp {
    op: String,
    path: String,
    value: Option<Value>,
}

fn patch_ops(body: &Value, draft4: bool) -> Result<Vec<PatchOp>, GlanceError> {
    let Some(items) = body.as_array() else {
        return Err(GlanceError::bad_request(
            "Request body must be a JSON array of operation objects.",
        ));
    };
    let mut ops = Vec::new();
    for item in items {
        let Some(o) = item.as_object() else {
            return Err(GlanceError::bad_request("Operations must be JSON objects."));
        };
        let (op, path) = if draft4 {
            let found = ["add", "replace", "remove"].iter().find_map(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .map(|p| (k.to_string(), p))
            });
            found.ok_or_else(|| {
                GlanceError::bad_request("Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".")
            })?
        } else {
            let op = o.get("op").and_then(Value::as_str).unwrap_or_default();
            if !matches!(op, "add" | "replace" | "remove") {
                return Err(GlanceError::bad_request(format!(
                    "Invalid operation: `{op}`: only add, replace and remove are supported."
                )));
            }
            let path = o.get("path").and_then(Value::as_str).ok_or_else(|| {
                GlanceError::bad_request("Unable to find 'path' in JSON Schema change")
            })?;
            (op.to_string(), path)
        };
        let name = path
            .strip_prefix('/')
            .filter(|p| !p.is_empty() && !p.contains('/'))
            .ok_or_else(|| {
                GlanceError::bad_request(format!(
                    "Invalid JSON pointer for this resource: '{path}'"
                ))
            })?
            .replace("~1", "/")
            .replace("~0", "~");
        let value = o.get("value").cloned();
        if op != "remove" && value.is_none() {
            return Err(GlanceError::bad_request(format!(
                "Operation \"{op}\" requires a member named \"value\"."
            )));
        }
        ops.push(PatchOp {
            op,
            path: name,
            value,
        });
    }
    Ok(ops)
}

/// Applies patch operations to an image's current record.
fn apply_patch(image: &Image, ops: Vec<PatchOp>, draft4: bool) -> Result<ImageUpdate, GlanceError> {
    let mut u = ImageUpdate::default();
    let mut props: Metadata = image.properties.clone();
    for PatchOp { op, path, value } in ops {
        check_writable(&path)?;
        let v = value.unwrap_or(Value::Null);
        let base = matches!(
            path.as_str(),
            "name"
                | "visibility"
                | "protected"
                | "os_hidden"
                | "disk_format"
                | "container_format"
                | "min_disk"
                | "min_ram"
                | "tags"
                | "owner"
                | "id"
        );
        if base {
            if op == "remove" {
                return Err(GlanceError::forbidden(format!(
                    "Property {path} may not be removed."
                )));
            }
            match path.as_str() {
                "name" => u.name = Some(opt_string("name", &v, 255)?),
                "visibility" => u.visibility = Some(visibility(&v)?),
                "protected" => u.protected = Some(boolean("protected", &v)?),
                "os_hidden" => u.os_hidden = Some(boolean("os_hidden", &v)?),
                "disk_format" => u.disk_format = Some(disk_format(&v)?),
                "container_format" => u.container_format = Some(container_format(&v)?),
                "min_disk" => u.min_disk = Some(non_negative("min_disk", &v)?),
                "min_ram" => u.min_ram = Some(non_negative("min_ram", &v)?),
                "tags" => u.tags = Some(tags(&v)?),
                _ => {
                    return Err(GlanceError::forbidden(format!(
                        "Attribute '{path}' is read-only."
                    )))
                }
            }
            continue;
        }
        let exists = props.contains_key(&path);
        match op.as_str() {
            "add" if draft4 && exists => {
                return Err(GlanceError::conflict(format!(
                    "Property {path} already present."
                )))
            }
            "replace" | "remove" if !exists => {
                return Err(GlanceError::conflict(format!(
                    "Property {path} does not exist."
                )))
            }
            "remove" => {
                props.remove(&path);
            }
            _ => {
                props.insert(path.clone(), property(&path, &v)?);
            }
        }
    }
    u.remove_properties = image
        .properties
        .keys()
        .filter(|k| !props.contains_key(*k))
        .cloned()
        .collect();
    u.set_properties = props;
    Ok(u)
}

/// `PATCH /v2/images/{id}` (JSON patch, media types v2.1 and v2.0).
pub(super) async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> GlanceResult {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let draft4 = match media.split(';').next().unwrap_or("").trim() {
        "application/openstack-images-v2.1-json-patch" => false,
        "application/openstack-images-v2.0-json-patch" => true,
        _ => {
            let mut resp = GlanceError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Unsupported Content-Type {media}"),
            )
            .into_response();
            resp.headers_mut().insert(
                "accept-patch",
                HeaderValue::from_static("application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch"),
            );
            return Ok(resp);
        }
    };
    let ops = patch_ops(&json_body(&body)?, draft4)?;
    let id = ImageId::from(id);
    let image = state.platter.image_get(&c.ctx, &id).await?;
    let u = apply_patch(&image, ops, draft4)?;
    let image = state.platter.image_update(&c.ctx, &id, u).await?;
    Ok(Json(views::image(&image)).into_response())
}

/// `PUT /v2/images/{id}/tags/{tag}` → 204 (idempotent).
pub(super) async fn tag_add(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, tag)): Path<(String, String)>,
) -> GlanceResult {
    if tag.is_empty() || tag.chars().count() > 255 {
        return Err(GlanceError::bad_request("A tag is 1 to 255 characters."));
    }
    let id = ImageId::from(id);
    let image = state.platter.image_get(&c.ctx, &id).await?;
    if !image.tags.contains(&tag) {
        let mut tags = image.tags.clone();
        tags.push(tag);
        let u = ImageUpdate {
            tags: Some(tags),
            ..Default::default()
        };
        state.platter.image_update(&c.ctx, &id, u).await?;
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE /v2/images/{id}/tags/{tag}` → 204, 404 for a tag it lacks.
pub(super) async fn tag_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, tag)): Path<(String, String)>,
) -> GlanceResult {
    let id = ImageId::from(id);
    let image = state.platter.image_get(&c.ctx, &id).await?;
    if !image.tags.contains(&tag) {
        return Err(GlanceError::not_found(format!(
            "Tag {tag} not found on image {id}."
        )));
    }
    let u = ImageUpdate {
        tags: Some(image.tags.into_iter().filter(|t| *t != tag).collect()),
        ..Default::default()
    };
    state.platter.image_update(&c.ctx, &id, u).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /v2/images/{id}/actions/deactivate` → 204.
pub(super) async fn deactivate(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> GlanceResult {
    state
        .platter
        .image_set_active(&c.ctx, &id.into(), false)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /v2/images/{id}/actions/reactivate` → 204.
pub(super) async fn reactivate(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> GlanceResult {
    state
        .platter
        .image_set_active(&c.ctx, &id.into(), true)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `PUT /v2/images/{id}/file` → 204: the data, streamed (chunked or not,
/// empty allowed), in `application/octet-stream`. An error answered before
/// the body was read closes the connection (`Connection: close`), so a
/// client does not send its next request after unread data.
pub(super) async fn upload(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    match receive(state, c, id, req).await {
        Ok(resp) => resp,
        Err(e) => {
            let mut resp = e.into_response();
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    }
}

async fn receive(state: ApiState, c: Caller, id: String, req: Request) -> GlanceResult {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if media.split(';').next().map(str::trim) != Some("application/octet-stream") {
        return Err(GlanceError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported Content-Type {media}: the data is application/octet-stream."),
        ));
    }
    let id = ImageId::from(id);
    let mut upload = state.platter.image_upload_begin(&c.ctx, &id).await?;
    let mut stream = req.into_body().into_data_stream();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    loop {
        let next = stream.next().await;
        let done = next.is_none();
        match next {
            Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
            Some(Err(e)) => {
                state.platter.image_upload_abort(upload).await;
                return Err(GlanceError::bad_request(format!(
                    "The image data could not be read: {e}"
                )));
            }
            None => {}
        }
        if buf.len() >= CHUNK || (done && !buf.is_empty()) {
            let data = std::mem::take(&mut buf);
            let written = tokio::task::spawn_blocking(move || {
                let r = upload.write(&data);
                (upload, r)
            })
            .await;
            let (u, r) = written.map_err(|e| {
                GlanceError::from(platter_model::DomainError::Internal(e.to_string()))
            })?;
            upload = u;
            if let Err(e) = r {
                state.platter.image_upload_abort(upload).await;
                return Err(e.into());
            }
        }
        if done {
            break;
        }
    }
    state.platter.image_upload_finish(upload).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The byte range a `Range: bytes=...` header asks of `size` bytes.
fn range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, GlanceError> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    let unsatisfiable = || {
        GlanceError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            format!("Requested range not satisfiable: bytes={spec} of {size} bytes."),
        )
    };
    let (a, b) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| unsatisfiable())?;
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (s, "") => (
            s.parse().map_err(|_| unsatisfiable())?,
            size.saturating_sub(1),
        ),
        (s, e) => (
            s.parse().map_err(|_| unsatisfiable())?,
            e.parse::<u64>()
                .map_err(|_| unsatisfiable())?
                .min(size.saturating_sub(1)),
        ),
    };
    if size == 0 || start > end || start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end)))
}

/// `GET /v2/images/{id}/file`: 200 with the data (206 for a range), 204
/// when the image has none.
pub(super) async fn download(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> GlanceResult {
    let (image, io) = state.platter.image_data(&c.ctx, &id.into()).await?;
    let Some(io) = io else {
        return Ok(empty(StatusCode::NO_CONTENT));
    };
    let size = image.size.unwrap_or(0).max(0) as u64;
    let wanted = range(&headers, size)?;
    let (start, end) = wanted.unwrap_or((0, size.saturating_sub(1)));
    let len = if size == 0 { 0 } else { end - start + 1 };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut pos = start;
        let stop = start + len;
        while pos < stop {
            let n = CHUNK.min((stop - pos) as usize);
            let mut buf = vec![0u8; n];
            let chunk = io
                .read_at(&mut buf, pos)
                .map(|()| Bytes::from(buf))
                .map_err(|e| std::io::Error::other(e.to_string()));
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
            pos += n as u64;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let status = if wanted.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut resp = (status, Body::from_stream(stream)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(sum) = image
        .checksum
        .as_deref()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        h.insert("content-md5", sum);
    }
    if wanted.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

/// The list's query: filters, sort and paging, as Glance reads them.
struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, key: &str) -> Option<&str> {
        self.all(key).into_iter().next()
    }
    fn flag(&self, key: &str) -> Result<Option<bool>, GlanceError> {
        match self.one(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(GlanceError::bad_request(format!(
                "Invalid value '{other}' for {key}: true or false."
            ))),
        }
    }
}

const SORT_KEYS: &[&str] = &[
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
];

fn sort_value(i: &Image, key: &str) -> Value {
    match key {
        "name" => json!(i.name),
        "status" => json!(i.status.as_str()),
        "container_format" => json!(i.container_format),
        "disk_format" => json!(i.disk_format.map(|f| f.as_str())),
        "size" => json!(i.size),
        "id" => json!(i.id),
        "updated_at" => json!(i.updated_at.to_string()),
        _ => json!(i.created_at.to_string()),
    }
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_i64().unwrap_or(0).cmp(&y.as_i64().unwrap_or(0))
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Less,
        (_, Value::Null) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    }
}

/// `(key, descending)` pairs of the request (Glance's default:
/// `created_at` descending, then `id`).
fn sort_keys(q: &ListQuery) -> Result<Vec<(String, bool)>, GlanceError> {
    let parse_dir = |d: &str| match d {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(GlanceError::bad_request(format!(
            "Invalid sort direction: {other}"
        ))),
    };
    let check = |k: &str| {
        if SORT_KEYS.contains(&k) {
            Ok(k.to_string())
        } else {
            Err(GlanceError::bad_request(format!("Invalid sort key: {k}")))
        }
    };
    let mut keys = Vec::new();
    if let Some(sort) = q.one("sort") {
        if q.one("sort_key").is_some() || q.one("sort_dir").is_some() {
            return Err(GlanceError::bad_request(
                "The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.",
            ));
        }
        for part in sort.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
            keys.push((check(k.trim())?, parse_dir(d.trim())?));
        }
    } else {
        let dirs = q.all("sort_dir");
        for (i, k) in q.all("sort_key").into_iter().enumerate() {
            let d = dirs.get(i).or(dirs.first()).copied().unwrap_or("desc");
            keys.push((check(k)?, parse_dir(d)?));
        }
        if keys.is_empty() {
            if let Some(d) = dirs.first() {
                keys.push(("created_at".into(), parse_dir(d)?));
            }
        }
    }
    if keys.is_empty() {
        keys.push(("created_at".into(), true));
    }
    if !keys.iter().any(|(k, _)| k == "id") {
        let last_desc = keys.last().is_some_and(|(_, d)| *d);
        keys.push(("id".into(), last_desc));
    }
    Ok(keys)
}

/// Filters of the list that are matched against custom properties: every
/// key that is not one of Glance's own parameters.
const LIST_PARAMS: &[&str] = &[
    "limit",
    "marker",
    "sort",
    "sort_key",
    "sort_dir",
    "visibility",
    "member_status",
    "tag",
    "os_hidden",
    "protected",
    "size_min",
    "size_max",
    "name",
    "status",
    "owner",
    "container_format",
    "disk_format",
    "id",
    "checksum",
    "os_hash_value",
];

/// `GET /v2/images`: filters, sort, `limit`/`marker`, and `first`/`next`
/// links (relative, as Glance gives them).
pub(super) async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> GlanceResult {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| GlanceError::bad_request(format!("Invalid query: {e}")))?;
    let q = ListQuery { pairs };
    if q.one("changes-since").is_some() {
        return Err(GlanceError::bad_request(
            "The 'changes-since' filter is no longer available on v2.",
        ));
    }
    let limit = match q.one("limit") {
        None => 25,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n >= 0 => n.min(1000) as usize,
            _ => return Err(GlanceError::bad_request("limit param must be an integer")),
        },
    };
    let visibility = match q.one("visibility") {
        None | Some("all") => None,
        Some(v) => Some(
            v.parse::<ImageVisibility>()
                .map_err(|_| GlanceError::bad_request(format!("Invalid visibility value: {v}")))?,
        ),
    };
    let member_status = match q.one("member_status").unwrap_or("accepted") {
        "all" => None,
        s => Some(
            s.parse::<MemberStatus>()
                .map_err(|_| GlanceError::bad_request(format!("Invalid status value: {s}")))?,
        ),
    };
    let hidden = q.flag("os_hidden")?.unwrap_or(false);
    let protected = q.flag("protected")?;
    let size = |k: &str| -> Result<Option<i64>, GlanceError> {
        q.one(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| GlanceError::bad_request(format!("Invalid {k} value: {v}")))
            })
            .transpose()
    };
    let (size_min, size_max) = (size("size_min")?, size("size_max")?);
    let tags = q.all("tag");
    let props: Vec<(&str, &str)> = q
        .pairs
        .iter()
        .filter(|(k, _)| !LIST_PARAMS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let me = &c.ctx.project_id;
    let eq = |want: Option<&str>, have: Option<&str>| want.is_none_or(|w| have == Some(w));
    let mut images: Vec<Image> = state
        .platter
        .image_list(&c.ctx)
        .await?
        .into_iter()
        .filter(|(i, member)| {
            let in_scope = match visibility {
                // Default scope: public, one's own, and shared images one
                // accepted (community images of others only when asked).
                // Admins see every image.
                None => {
                    c.ctx.is_admin()
                        || i.owner == *me
                        || i.visibility == ImageVisibility::Public
                        || (i.visibility == ImageVisibility::Shared
                            && member.is_some_and(|m| member_status.is_none_or(|s| s == m)))
                }
                Some(ImageVisibility::Shared) => {
                    i.visibility == ImageVisibility::Shared
                        && (i.owner == *me
                            || member.is_some_and(|m| member_status.is_none_or(|s| s == m)))
                }
                Some(v) => i.visibility == v,
            };
            in_scope
                && (hidden || !i.os_hidden)
                && protected.is_none_or(|p| p == i.protected)
                && eq(q.one("name"), i.name.as_deref())
                && eq(q.one("status"), Some(i.status.as_str()))
                && eq(q.one("owner"), Some(i.owner.as_str()))
                && eq(q.one("id"), Some(i.id.as_str()))
                && eq(q.one("container_format"), i.container_format.as_deref())
                && eq(q.one("disk_format"), i.disk_format.map(|f| f.as_str()))
                && eq(q.one("checksum"), i.checksum.as_deref())
                && eq(q.one("os_hash_value"), i.os_hash_value.as_deref())
                && size_min.is_none_or(|m| i.size.is_some_and(|s| s >= m))
                && size_max.is_none_or(|m| i.size.is_some_and(|s| s <= m))
                && tags.iter().all(|t| i.tags.iter().any(|x| x == t))
                && props
                    .iter()
                    .all(|(k, v)| i.properties.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(i, _)| i)
        .collect();
    let keys = sort_keys(&q)?;
    images.sort_by(|a, b| {
        keys.iter()
            .map(|(k, desc)| {
                let o = compare(&sort_value(a, k), &sort_value(b, k));
                if *desc {
                    o.reverse()
                } else {
                    o
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let start = match q.one("marker") {
        None => 0,
        Some(m) => {
            images.iter().position(|i| i.id == m).ok_or_else(|| {
                GlanceError::bad_request(format!("Invalid marker. Image {m} could not be found."))
            })? + 1
        }
    };
    let page: Vec<&Image> = images.iter().skip(start).take(limit).collect();
    let base: Vec<(String, String)> = q
        .pairs
        .iter()
        .filter(|(k, _)| k != "marker")
        .cloned()
        .collect();
    let link = |extra: Option<&ImageId>| {
        let mut p = base.clone();
        if let Some(m) = extra {
            p.push(("marker".into(), m.to_string()));
        }
        let qs = serde_urlencoded::to_string(&p).unwrap_or_default();
        if qs.is_empty() {
            "/v2/images".to_string()
        } else {
            format!("/v2/images?{qs}")
        }
    };
    let mut out = json!({
        "images": page.iter().map(|i| views::image(i)).collect::<Vec<_>>(),
        "first": link(None),
        "schema": "/v2/schemas/images",
    });
    if limit > 0 && page.len() == limit && start + limit < images.len() {
        if let Some(last) = page.last() {
            out["next"] = json!(link(Some(&last.id)));
        }
    }
    Ok(Json(out).into_response())
}

/// `GET /v2/images/{id}/members`.
pub(super) async fn members(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> GlanceResult {
    let members = state.platter.image_members(&c.ctx, &id.into()).await?;
    Ok(Json(json!({
        "members": members.iter().map(views::member).collect::<Vec<_>>(),
        "schema": "/v2/schemas/members",
    }))
    .into_response())
}

fn object(body: &Bytes) -> Result<Map<String, Value>, GlanceError> {
    match json_body(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(GlanceError::bad_request(
            "Malformed request body: expected a JSON object.",
        )),
    }
}

/// `POST /v2/images/{id}/members` → 200 (as Glance).
pub(super) async fn member_add(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> GlanceResult {
    let o = object(&body)?;
    let member = match o.get("member").and_then(Value::as_str) {
        Some(m) if !m.is_empty() && m.len() <= 255 => ProjectId::from(m),
        _ => return Err(GlanceError::bad_request("Member to be added not specified")),
    };
    let m = state
        .platter
        .image_member_add(&c.ctx, &id.into(), member)
        .await?;
    Ok(Json(views::member(&m)).into_response())
}

pub(super) async fn member_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
) -> GlanceResult {
    let m = state
        .platter
        .image_member_get(&c.ctx, &id.into(), &member.into())
        .await?;
    Ok(Json(views::member(&m)).into_response())
}

/// `PUT /v2/images/{id}/members/{member}`: `{"status": ...}` (other keys,
/// such as the `member` openstacksdk adds, are ignored).
pub(super) async fn member_update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
    body: Bytes,
) -> GlanceResult {
    let o = object(&body)?;
    let status = o
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| GlanceError::bad_request("Status not specified"))?;
    let status: MemberStatus = status
        .parse()
        .map_err(|_| GlanceError::bad_request(format!("Invalid status: {status}")))?;
    let m = state
        .platter
        .image_member_set_status(&c.ctx, &id.into(), &member.into(), status)
        .await?;
    Ok(Json(views::member(&m)).into_response())
}

pub(super) async fn member_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((id, member)): Path<(String, String)>,
) -> GlanceResult {
    state
        .platter
        .image_member_delete(&c.ctx, &id.into(), &member.into())
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
