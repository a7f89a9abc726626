//! Group types (3.11+): list, show, default, and for admins create, update,
//! delete and the group specs, with upstream's view and statuses.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json};
use platter_model::{GroupType, Metadata, SortKey};
use platter_service::GroupTypeFields;
use serde_json::{json, Value};

use super::params::{check_sort, ListQuery};
use super::versions::check_version;
use super::{Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, metadata, parse_bool_str, Obj};
use crate::toolkit::normalize::empty;
use crate::toolkit::routes::{Gate, Routes};
use crate::ApiState;

type TypePath = Path<(String, String)>;
type SpecPath = Path<(String, String, String)>;

/// Upstream's view: the specs only for callers allowed to see them.
fn view(state: &ApiState, c: &Caller, t: &GroupType) -> Value {
    let mut out = json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
    });
    if state.platter.group_type_specs_visible(&c.ctx) {
        out["group_specs"] = json!(t.group_specs);
    }
    out
}

fn fields(body: &Bytes, creating: bool) -> Result<GroupTypeFields, CinderError> {
    let map = json_object(body)?;
    Obj::new(&map, "body").deny_unknown(&["group_type"])?;
    let t = Obj::child(&map, "group_type")?;
    let mut allowed = vec!["name", "description", "is_public"];
    if creating {
        allowed.push("group_specs");
        t.require("name")?;
    }
    t.deny_unknown(&allowed)?;
    let f = GroupTypeFields {
        name: t.opt_str("name", 255)?,
        description: t.opt_nullable_str("description", 255)?,
        is_public: t.opt_bool("is_public")?,
        group_specs: t.opt_metadata("group_specs")?,
    };
    if !creating && f.name.is_none() && f.description.is_none() && f.is_public.is_none() {
        return Err(CinderError::bad_request(
            "Specify group type name, description or a combination thereof.",
        ));
    }
    Ok(f)
}

/// `GET /group_types`: public types by default; admins may ask
/// `is_public=false` (private only) or `is_public=None` (all).
async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    check_version(&c, 11)?;
    let q = ListQuery { pairs };
    let is_public =
        match q.get("is_public") {
            None => Some(true),
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            Some(v) => Some(parse_bool_str(v).ok_or_else(|| {
                CinderError::bad_request(format!("Invalid is_public filter [{v}]"))
            })?),
        };
    let page = q.page(false)?;
    check_sort(&page, &[SortKey::Id, SortKey::Name, SortKey::CreatedAt])?;
    let types = state
        .platter
        .group_type_list(&c.ctx, is_public, page)
        .await?;
    let items: Vec<Value> = types.iter().map(|t| view(&state, &c, t)).collect();
    Ok(Json(json!({ "group_types": items })).into_response())
}

async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    check_version(&c, 11)?;
    let t = state.platter.group_type_get(&c.ctx, &id).await?;
    Ok(Json(json!({ "group_type": view(&state, &c, &t) })).into_response())
}

async fn show_default(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    check_version(&c, 11)?;
    let t = state
        .platter
        .group_type_default(&c.ctx)
        .await
        .map_err(|e| match e {
            platter_model::DomainError::NotFound { .. } => {
                CinderError::not_found("Default group type can not be found.")
            }
            other => other.into(),
        })?;
    Ok(Json(json!({ "group_type": view(&state, &c, &t) })).into_response())
}

/// `POST /group_types` (admin) → 202.
async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    check_version(&c, 11)?;
    let f = fields(&body, true)?;
    let t = state.platter.group_type_create(&c.ctx, f).await?;
    let body = json!({ "group_type": view(&state, &c, &t) });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `PUT /group_types/{id}` (admin) → 200.
async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
    body: Bytes,
) -> CinderResult {
    check_version(&c, 11)?;
    let f = fields(&body, false)?;
    let t = state.platter.group_type_update(&c.ctx, &id, f).await?;
    Ok(Json(json!({ "group_type": view(&state, &c, &t) })).into_response())
}

/// `DELETE /group_types/{id}` (admin) → 202.
async fn remove(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    check_version(&c, 11)?;
    state.platter.group_type_delete(&c.ctx, &id).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

async fn specs_list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
) -> CinderResult {
    check_version(&c, 11)?;
    let specs = state.platter.group_type_specs(&c.ctx, &id).await?;
    Ok(Json(json!({ "group_specs": specs })).into_response())
}

/// `POST /group_types/{id}/group_specs` → 202 with what it set.
async fn specs_set(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TypePath,
    body: Bytes,
) -> CinderResult {
    check_version(&c, 11)?;
    let map = json_object(&body)?;
    let o = Obj::new(&map, "body");
    o.deny_unknown(&["group_specs"])?;
    let specs = metadata("group_specs", o.require("group_specs")?)?;
    state
        .platter
        .group_type_specs_set(&c.ctx, &id, &specs)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "group_specs": specs }))).into_response())
}

async fn spec_show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
) -> CinderResult {
    check_version(&c, 11)?;
    let specs = state.platter.group_type_specs(&c.ctx, &id).await?;
    let value = specs.get(&key).ok_or_else(|| {
        CinderError::not_found(format!("Group Type {id} has no specs with key {key}."))
    })?;
    Ok(Json(json!({ key: value })).into_response())
}

/// `PUT /group_types/{id}/group_specs/{key}`, body `{key: value}` → 200.
async fn spec_set(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
    body: Bytes,
) -> CinderResult {
    check_version(&c, 11)?;
    let map = json_object(&body)?;
    let spec: Metadata = metadata("body", &Value::Object(map))?;
    if spec.len() > 1 {
        return Err(CinderError::bad_request(
            "Request body contains too many items.",
        ));
    }
    if !spec.contains_key(&key) {
        return Err(CinderError::bad_request("Request body and URI mismatch"));
    }
    state
        .platter
        .group_type_specs_set(&c.ctx, &id, &spec)
        .await?;
    Ok(Json(json!(spec)).into_response())
}

async fn spec_delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id, key)): SpecPath,
) -> CinderResult {
    check_version(&c, 11)?;
    state
        .platter
        .group_type_spec_delete(&c.ctx, &id, &key)
        .await
        .map_err(|e| match e {
            platter_model::DomainError::NotFound {
                kind: "Group type spec",
                ..
            } => CinderError::not_found(format!("Group Type {id} has no specs with key {key}.")),
            other => other.into(),
        })?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// The routes of `/group_types`.
pub(super) fn routes(r: Routes) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    r.add(
        M::GET,
        "/group_types",
        Gate::All(&[GroupTypeList]),
        get(list),
    )
    .add(
        M::POST,
        "/group_types",
        Gate::All(&[GroupTypeManage]),
        post(create),
    )
    .add(
        M::GET,
        "/group_types/default",
        Gate::All(&[GroupTypeGet]),
        get(show_default),
    )
    .add(
        M::GET,
        "/group_types/{group_type_id}",
        Gate::All(&[GroupTypeGet]),
        get(show),
    )
    .add(
        M::PUT,
        "/group_types/{group_type_id}",
        Gate::All(&[GroupTypeManage]),
        put(update),
    )
    .add(
        M::DELETE,
        "/group_types/{group_type_id}",
        Gate::All(&[GroupTypeManage]),
        delete(remove),
    )
    .add(
        M::GET,
        "/group_types/{group_type_id}/group_specs",
        Gate::All(&[GroupTypeSpecs]),
        get(specs_list),
    )
    .add(
        M::POST,
        "/group_types/{group_type_id}/group_specs",
        Gate::All(&[GroupTypeSpecs]),
        post(specs_set),
    )
    .add(
        M::GET,
        "/group_types/{group_type_id}/group_specs/{key}",
        Gate::All(&[GroupTypeSpecs]),
        get(spec_show),
    )
    .add(
        M::PUT,
        "/group_types/{group_type_id}/group_specs/{key}",
        Gate::All(&[GroupTypeSpecs]),
        put(spec_set),
    )
    .add(
        M::DELETE,
        "/group_types/{group_type_id}/group_specs/{key}",
        Gate::All(&[GroupTypeSpecs]),
        delete(spec_delete),
    )
}
