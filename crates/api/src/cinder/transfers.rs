//! Volume transfers: `os-volume-transfer` (v2, v3) and `volume-transfers`
//! (3.55+, which adds `no_snapshots`; 3.57 adds the projects and
//! `accepted`), with upstream's view per operation.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Extension, Json};
use platter_model::{Transfer, TransferId};
use platter_service::TransferCreate;
use serde_json::{json, Value};

use super::params::ListQuery;
use super::views::links;
use super::{Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::toolkit::routes::{Gate, Routes};
use crate::ApiState;

type TransferPath = Path<(String, TransferId)>;

/// Which of the two APIs a request came through: `LEGACY` is
/// `os-volume-transfer`, else `volume-transfers` (3.55+).
const LEGACY: bool = true;

/// The new API exists from 3.55; below, upstream answers 404.
fn check_version(c: &Caller, legacy: bool) -> Result<(), CinderError> {
    if legacy || c.api.at_least(55) {
        Ok(())
    } else {
        Err(CinderError::not_found("The resource could not be found."))
    }
}

fn collection(legacy: bool) -> &'static str {
    if legacy {
        "os-volume-transfer"
    } else {
        "volume-transfers"
    }
}

/// Which answer a transfer view is.
#[derive(Clone, Copy, PartialEq)]
enum View {
    /// List entries without detail, and the accept answer.
    Summary,
    /// Show and the detailed list.
    Detail,
}

fn view(state: &ApiState, c: &Caller, legacy: bool, t: &Transfer, v: View) -> Value {
    let mut out = json!({
        "id": t.id,
        "name": t.name,
        "volume_id": t.volume_id,
        "links": links(state, c.api, &t.source_project_id, collection(legacy), t.id.as_str()),
    });
    if v == View::Detail {
        out["created_at"] = json!(t.created_at);
        if !legacy && c.api.at_least(55) {
            out["no_snapshots"] = json!(t.no_snapshots);
        }
        if !legacy && c.api.at_least(57) {
            // Accepted transfers are gone, so what is shown is not yet taken.
            out["source_project_id"] = json!(t.source_project_id);
            out["destination_project_id"] = Value::Null;
            out["accepted"] = json!(false);
        }
    }
    out
}

async fn create(state: ApiState, c: Caller, body: Bytes, legacy: bool) -> CinderResult {
    check_version(&c, legacy)?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["transfer"])?;
    let t = Obj::child(&map, "transfer")?;
    let mut allowed = vec!["volume_id", "name"];
    if !legacy {
        allowed.push("no_snapshots");
    }
    t.deny_unknown(&allowed)?;
    let req = TransferCreate {
        volume_id: t.req_str("volume_id", 255)?.into(),
        name: t.opt_nullable_str("name", 255)?.flatten(),
        no_snapshots: t.opt_bool("no_snapshots")?.unwrap_or(false),
    };
    let created = state.platter.transfer_create(&c.ctx, req).await?;
    let mut out = view(&state, &c, legacy, &created.transfer, View::Detail);
    out["auth_key"] = json!(created.auth_key);
    Ok((StatusCode::ACCEPTED, Json(json!({ "transfer": out }))).into_response())
}

async fn list(
    state: ApiState,
    c: Caller,
    q: ListQuery,
    legacy: bool,
    detail: View,
) -> CinderResult {
    check_version(&c, legacy)?;
    let all = q.flag("all_tenants")?;
    let transfers = state.platter.transfer_list(&c.ctx, all).await?;
    let page = q.page(false)?;
    let start = match &page.marker {
        Some(m) => match transfers.iter().position(|t| &t.id == m) {
            Some(i) => i + 1,
            None => {
                return Err(CinderError::not_found(format!(
                    "Marker {m} could not be found."
                )))
            }
        },
        None => 0,
    };
    let items: Vec<Value> = transfers
        .iter()
        .skip(start + page.offset.unwrap_or(0).max(0) as usize)
        .take(page.limit.map_or(usize::MAX, |l| l.max(0) as usize))
        .map(|t| view(&state, &c, legacy, t, detail))
        .collect();
    Ok(Json(json!({ "transfers": items })).into_response())
}

async fn show(state: ApiState, c: Caller, id: TransferId, legacy: bool) -> CinderResult {
    check_version(&c, legacy)?;
    let t = state.platter.transfer_get(&c.ctx, &id).await?;
    Ok(Json(json!({ "transfer": view(&state, &c, legacy, &t, View::Detail) })).into_response())
}

async fn remove(state: ApiState, c: Caller, id: TransferId, legacy: bool) -> CinderResult {
    check_version(&c, legacy)?;
    state.platter.transfer_delete(&c.ctx, &id).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

async fn accept(
    state: ApiState,
    c: Caller,
    id: TransferId,
    body: Bytes,
    legacy: bool,
) -> CinderResult {
    check_version(&c, legacy)?;
    let map = json_object(&body)?;
    Obj::new(&map, "body").deny_unknown(&["accept"])?;
    let a = Obj::child(&map, "accept")?;
    a.deny_unknown(&["auth_key"])?;
    let key = a.req_str("auth_key", 255)?;
    let t = state.platter.transfer_accept(&c.ctx, &id, &key).await?;
    let out = view(&state, &c, legacy, &t, View::Summary);
    Ok((StatusCode::ACCEPTED, Json(json!({ "transfer": out }))).into_response())
}

/// The handlers of one of the two APIs: `L` is [`LEGACY`] or not.
pub(super) async fn create_h<const L: bool>(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> CinderResult {
    create(state, c, body, L).await
}

pub(super) async fn list_h<const L: bool>(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list(state, c, ListQuery { pairs }, L, View::Summary).await
}

pub(super) async fn list_detail_h<const L: bool>(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    list(state, c, ListQuery { pairs }, L, View::Detail).await
}

pub(super) async fn show_h<const L: bool>(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TransferPath,
) -> CinderResult {
    show(state, c, id, L).await
}

pub(super) async fn delete_h<const L: bool>(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TransferPath,
) -> CinderResult {
    remove(state, c, id, L).await
}

pub(super) async fn accept_h<const L: bool>(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, id)): TransferPath,
    body: Bytes,
) -> CinderResult {
    accept(state, c, id, body, L).await
}

/// The routes of one of the two APIs under `base`.
pub(super) fn routes<const L: bool>(r: Routes, base: &str) -> Routes {
    use platter_model::Action::*;
    use Method as M;
    let item = format!("{base}/{{transfer_id}}");
    r.add(
        M::POST,
        base,
        Gate::All(&[TransferCreate, VolumeGet]),
        post(create_h::<L>),
    )
    .add(M::GET, base, Gate::All(&[TransferList]), get(list_h::<L>))
    .add(
        M::GET,
        &format!("{base}/detail"),
        Gate::All(&[TransferList]),
        get(list_detail_h::<L>),
    )
    .add(M::GET, &item, Gate::All(&[TransferGet]), get(show_h::<L>))
    .add(
        M::DELETE,
        &item,
        Gate::All(&[TransferDelete]),
        delete(delete_h::<L>),
    )
    .add(
        M::POST,
        &format!("{item}/accept"),
        Gate::All(&[TransferAccept]),
        post(accept_h::<L>),
    )
}

/// The API of `os-volume-transfer`.
pub(super) const OLD: bool = LEGACY;
/// The API of `volume-transfers`.
pub(super) const NEW: bool = !LEGACY;
