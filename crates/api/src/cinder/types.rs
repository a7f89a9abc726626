//! Volume type administration: create, update, delete and extra specs
//! (admin), with upstream's view per operation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{Metadata, ProjectId, TypeEncryption, VolumeType, VolumeTypeId};
use platter_service::{EncryptionFields, TypeFields};
use serde_json::{json, Value};

use super::{Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, metadata, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

type TypePath = Path<(String, VolumeTypeId)>;
type SpecPath = Path<(String, VolumeTypeId, String)>;

/// The fields of a create or update's `volume_type` object.
fn type_fields(body: &Bytes, creating: bool) -> Result<TypeFields, CinderError> {
    let map = json_object(body)?;
    Obj::new(&map, "body").deny_unknown(&["volume_type"])?;
    let t = Obj::child(&map, "volume_type")?;
    let public_key = if creating {
        "os-volume-type-access:is_public"
    } else {
        "is_public"
    };
    let mut allowed = vec!["name", "description", public_key];
    if creating {
        allowed.push("extra_specs");
    }
    t.deny_unknown(&allowed)?;
    if creating {
        t.require("name")?;
    }
    Ok(TypeFields {
        name: t.opt_str("name", 255)?,
        description: t.opt_nullable_str("description", 255)?,
        is_public: t.opt_bool(public_key)?,
        extra_specs: t.opt_metadata("extra_specs")?,
    })
}

/// Upstream's create answer.
fn created(t: &VolumeType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public,
        "extra_specs": t.extra_specs,
    })
}

/// `POST /types` (admin).
pub(super) async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let f = type_fields(&body, true)?;
    let t = state.platter.volume_type_create(&c.ctx, f).await?;
    Ok(Json(json!({ "volume_type": created(&t) })).into_response())
}

/// `PUT /types/{id}` (admin).
pub(super) async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
    body: Bytes,
) -> CinderResult {
    let f = type_fields(&body, false)?;
    let t = state.platter.volume_type_update(&c.ctx, &id, f).await?;
    let body = json!({ "volume_type": {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "extra_specs": t.extra_specs,
    }});
    Ok(Json(body).into_response())
}

/// `DELETE /types/{id}` (admin).
pub(super) async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    state.platter.volume_type_delete(&c.ctx, &id).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `GET /types/{id}/extra_specs`.
pub(super) async fn specs_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    let specs = state.platter.volume_type_extra_specs(&c.ctx, &id).await?;
    Ok(Json(json!({ "extra_specs": specs })).into_response())
}

/// `POST /types/{id}/extra_specs` (admin): answers what it set.
pub(super) async fn specs_set(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let o = Obj::new(&map, "body");
    o.deny_unknown(&["extra_specs"])?;
    let specs = metadata("extra_specs", o.require("extra_specs")?)?;
    state
        .platter
        .volume_type_extra_specs_set(&c.ctx, &id, &specs)
        .await?;
    Ok(Json(json!({ "extra_specs": specs })).into_response())
}

/// `GET /types/{id}/extra_specs/{key}`: `{key: value}`.
pub(super) async fn spec_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
) -> CinderResult {
    let specs = state.platter.volume_type_extra_specs(&c.ctx, &id).await?;
    let value = specs.get(&key).ok_or_else(|| {
        CinderError::not_found(format!(
            "Volume Type {id} has no extra specs with key {key}."
        ))
    })?;
    Ok(Json(json!({ key: value })).into_response())
}

/// `PUT /types/{id}/extra_specs/{key}` (admin), body `{key: value}`.
pub(super) async fn spec_set(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let spec: Metadata = metadata("body", &Value::Object(map))?;
    if spec.len() != 1 || !spec.contains_key(&key) {
        return Err(CinderError::bad_request(
            "Invalid input received: the body must hold exactly the URL's key.",
        ));
    }
    state
        .platter
        .volume_type_extra_specs_set(&c.ctx, &id, &spec)
        .await?;
    Ok(Json(json!(spec)).into_response())
}

/// `DELETE /types/{id}/extra_specs/{key}` (admin).
pub(super) async fn spec_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
) -> CinderResult {
    state
        .platter
        .volume_type_extra_spec_delete(&c.ctx, &id, &key)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `POST /types/{id}/action` (admin): `addProjectAccess` or
/// `removeProjectAccess` of a private type, `{"project": id}`.
pub(super) async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let (name, add) =
        match map.keys().next().map(String::as_str) {
            Some("addProjectAccess") if map.len() == 1 => ("addProjectAccess", true),
            Some("removeProjectAccess") if map.len() == 1 => ("removeProjectAccess", false),
            _ => return Err(CinderError::bad_request(
                "Invalid input received: expected one of addProjectAccess, removeProjectAccess.",
            )),
        };
    let o = Obj::child(&map, name)?;
    o.deny_unknown(&["project"])?;
    let project = ProjectId::from(o.req_str("project", 255)?);
    state
        .platter
        .type_access_change(&c.ctx, id.as_str(), &project, add)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `GET /types/{id}/os-volume-type-access` (admin).
pub(super) async fn access_list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    let (t, projects) = state.platter.type_access_list(&c.ctx, id.as_str()).await?;
    let items: Vec<Value> = projects
        .iter()
        .map(|p| json!({ "volume_type_id": t.id, "project_id": p }))
        .collect();
    Ok(Json(json!({ "volume_type_access": items })).into_response())
}

fn encryption_view(e: &TypeEncryption) -> Value {
    json!({
        "volume_type_id": e.volume_type_id,
        "encryption_id": e.id,
        "provider": e.provider,
        "cipher": e.cipher,
        "key_size": e.key_size,
        "control_location": e.control_location,
    })
}

/// The fields of an encryption create or update.
fn encryption_fields(body: &Bytes) -> Result<EncryptionFields, CinderError> {
    let map = json_object(body)?;
    Obj::new(&map, "body").deny_unknown(&["encryption"])?;
    let o = Obj::child(&map, "encryption")?;
    o.deny_unknown(&["provider", "cipher", "key_size", "control_location"])?;
    let key_size = match o.get("key_size") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(o.opt_int("key_size")?),
    };
    Ok(EncryptionFields {
        provider: o.opt_str("provider", 255)?,
        cipher: o.opt_nullable_str("cipher", 255)?,
        key_size,
        control_location: o.opt_str("control_location", 255)?,
    })
}

/// `GET /types/{id}/encryption` (admin): the spec with its record
/// fields, or `{}` when the type has none.
pub(super) async fn encryption_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    let Some(e) = state
        .platter
        .type_encryption_get(&c.ctx, id.as_str())
        .await?
    else {
        return Ok(Json(json!({})).into_response());
    };
    let mut out = encryption_view(&e);
    out["created_at"] = json!(e.created_at);
    out["updated_at"] = json!(e.updated_at);
    out["deleted"] = json!(false);
    out["deleted_at"] = Value::Null;
    Ok(Json(out).into_response())
}

/// `GET /types/{id}/encryption/{key}` (admin): `{key: value}`.
pub(super) async fn encryption_item(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
) -> CinderResult {
    let e = state
        .platter
        .type_encryption_get(&c.ctx, id.as_str())
        .await?;
    let value = e
        .map(|e| encryption_view(&e))
        .and_then(|v| v.get(&key).cloned())
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            CinderError::not_found(format!("Volume type encryption of {id} has no {key}."))
        })?;
    let text = match value {
        Value::String(s) => s,
        other => other.to_string(),
    };
    Ok(Json(json!({ key: text })).into_response())
}

/// `POST /types/{id}/encryption` (admin).
pub(super) async fn encryption_create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
    body: Bytes,
) -> CinderResult {
    let f = encryption_fields(&body)?;
    let e = state
        .platter
        .type_encryption_create(&c.ctx, id.as_str(), f)
        .await?;
    Ok(Json(json!({ "encryption": encryption_view(&e) })).into_response())
}

/// `PUT /types/{id}/encryption/{encryption_id}` (admin): answers what it set.
pub(super) async fn encryption_update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, encryption_id)): SpecPath,
    body: Bytes,
) -> CinderResult {
    let f = encryption_fields(&body)?;
    let e = state
        .platter
        .type_encryption_update(&c.ctx, id.as_str(), &encryption_id, f)
        .await?;
    let out = json!({
        "provider": e.provider,
        "cipher": e.cipher,
        "key_size": e.key_size,
        "control_location": e.control_location,
    });
    Ok(Json(json!({ "encryption": out })).into_response())
}

/// `DELETE /types/{id}/encryption/{encryption_id}` (admin).
pub(super) async fn encryption_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, encryption_id)): SpecPath,
) -> CinderResult {
    state
        .platter
        .type_encryption_delete(&c.ctx, id.as_str(), &encryption_id)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// Default types (3.62): the URL's project, not the caller's.
fn check_default_types_version(c: &Caller) -> Result<(), CinderError> {
    if c.api.at_least(62) {
        Ok(())
    } else {
        Err(CinderError::not_found("The resource could not be found."))
    }
}

fn default_type_view(project: &ProjectId, t: &VolumeTypeId) -> Value {
    json!({ "project_id": project, "volume_type_id": t })
}

/// `PUT /v3/default-types/{project_id}`: `{"default_type": {"volume_type": id or name}}`.
pub(super) async fn default_type_set(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(project): Path<ProjectId>,
    body: Bytes,
) -> CinderResult {
    check_default_types_version(&c)?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["default_type"])?;
    let o = Obj::child(&map, "default_type")?;
    o.deny_unknown(&["volume_type"])?;
    let vtype = o.req_str("volume_type", 255)?;
    let t = state
        .platter
        .default_type_set(&c.ctx, &project, &vtype)
        .await?;
    Ok(Json(json!({ "default_type": default_type_view(&project, &t) })).into_response())
}

/// `GET /v3/default-types/{project_id}`.
pub(super) async fn default_type_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(project): Path<ProjectId>,
) -> CinderResult {
    check_default_types_version(&c)?;
    let all = state.platter.default_types(&c.ctx, Some(&project)).await?;
    let (p, t) = all
        .first()
        .ok_or_else(|| CinderError::not_found("The resource could not be found."))?;
    Ok(Json(json!({ "default_type": default_type_view(p, t) })).into_response())
}

/// `GET /v3/default-types`.
pub(super) async fn default_type_list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    check_default_types_version(&c)?;
    let all = state.platter.default_types(&c.ctx, None).await?;
    let items: Vec<Value> = all.iter().map(|(p, t)| default_type_view(p, t)).collect();
    Ok(Json(json!({ "default_types": items })).into_response())
}

/// `DELETE /v3/default-types/{project_id}` → 204.
pub(super) async fn default_type_unset(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(project): Path<ProjectId>,
) -> CinderResult {
    check_default_types_version(&c)?;
    state.platter.default_type_unset(&c.ctx, &project).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
