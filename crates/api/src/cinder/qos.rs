//! QoS specs (admin): `/qos-specs` create, list, show, set and unset keys,
//! delete, and association with volume types, with upstream's views.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{QosConsumer, QosSpecs, QosSpecsId};
use platter_service::QosSpecsChange;
use serde_json::{json, Map, Value};

use super::params::ListQuery;
use super::views::links;
use super::{Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, metadata, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

type QosPath = Path<(String, QosSpecsId)>;

fn view(q: &QosSpecs) -> Value {
    json!({
        "id": q.id,
        "name": q.name,
        "consumer": q.consumer.as_str(),
        "specs": q.specs,
    })
}

fn with_links(state: &ApiState, c: &Caller, q: &QosSpecs) -> Value {
    json!({
        "qos_specs": view(q),
        "links": links(state, c.api, &c.ctx.project_id, "qos-specs", q.id.as_str()),
    })
}

/// `POST /qos-specs`: `{"qos_specs": {"name", "consumer", <spec>: <value>…}}`.
pub(super) async fn create(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["qos_specs"])?;
    let o = Obj::child(&map, "qos_specs")?;
    let name = o.req_str("name", 255)?;
    let consumer = match o.opt_str("consumer", 255)? {
        None => None,
        Some(c) => Some(c.parse::<QosConsumer>().map_err(|_| {
            CinderError::bad_request(format!(
                "Invalid input received: consumer must be one of front-end, back-end, both; not '{c}'."
            ))
        })?),
    };
    let rest: Map<String, Value> = o
        .keys()
        .filter(|k| *k != "name" && *k != "consumer")
        .filter_map(|k| o.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    let specs = metadata("qos_specs", &Value::Object(rest))?;
    let q = state
        .platter
        .qos_specs_create(&c.ctx, &name, consumer, specs)
        .await?;
    Ok(Json(with_links(&state, &c, &q)).into_response())
}

pub(super) async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> CinderResult {
    let all = state.platter.qos_specs_list(&c.ctx).await?;
    let items: Vec<Value> = all.iter().map(view).collect();
    Ok(Json(json!({ "qos_specs": items })).into_response())
}

pub(super) async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
) -> CinderResult {
    let q = state.platter.qos_specs_get(&c.ctx, &id).await?;
    Ok(Json(with_links(&state, &c, &q)).into_response())
}

/// `PUT /qos-specs/{id}`: sets keys; answers what it set.
pub(super) async fn set_keys(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["qos_specs"])?;
    let specs = metadata("qos_specs", Obj::new(&map, "body").require("qos_specs")?)?;
    state
        .platter
        .qos_specs_update(&c.ctx, &id, QosSpecsChange::Set(specs.clone()))
        .await?;
    Ok(Json(json!({ "qos_specs": specs })).into_response())
}

/// `PUT /qos-specs/{id}/delete_keys`: `{"keys": [...]}`.
pub(super) async fn unset_keys(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let o = Obj::new(&map, "body");
    o.deny_unknown(&["keys"])?;
    let keys = match o.require("keys")? {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|k| k.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    }
    .ok_or_else(|| {
        CinderError::bad_request(
            "Invalid input received: keys must be a non-empty list of strings.",
        )
    })?;
    state
        .platter
        .qos_specs_update(&c.ctx, &id, QosSpecsChange::Unset(keys))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `DELETE /qos-specs/{id}[?force=true]`.
pub(super) async fn delete(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    let force = ListQuery { pairs }.flag("force")?;
    state.platter.qos_specs_delete(&c.ctx, &id, force).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub(super) async fn associations(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
) -> CinderResult {
    let types = state.platter.qos_specs_associations(&c.ctx, &id).await?;
    let items: Vec<Value> = types
        .iter()
        .map(|t| json!({ "association_type": "volume_type", "id": t.id, "name": t.name }))
        .collect();
    Ok(Json(json!({ "qos_associations": items })).into_response())
}

fn vol_type_id(pairs: Vec<(String, String)>) -> Result<String, CinderError> {
    ListQuery { pairs }
        .get("vol_type_id")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| CinderError::bad_request("Invalid input received: vol_type_id is required."))
}

/// `GET /qos-specs/{id}/associate?vol_type_id=`.
pub(super) async fn associate(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    let t = vol_type_id(pairs)?;
    state.platter.qos_specs_associate(&c.ctx, &id, &t).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `GET /qos-specs/{id}/disassociate?vol_type_id=`.
pub(super) async fn disassociate(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    let t = vol_type_id(pairs)?;
    state
        .platter
        .qos_specs_disassociate(&c.ctx, &id, Some(&t))
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}

/// `GET /qos-specs/{id}/disassociate_all`.
pub(super) async fn disassociate_all(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): QosPath,
) -> CinderResult {
    state
        .platter
        .qos_specs_disassociate(&c.ctx, &id, None)
        .await?;
    Ok(empty(StatusCode::ACCEPTED))
}
