//! `/volumes/{id}/metadata` and `/snapshots/{id}/metadata`: the same six
//! operations on either owner.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::{Extension, Json};
use platter_model::{AuthContext, DomainError, DomainResult, Metadata, SnapshotId, VolumeId};
use serde_json::json;

use super::{Caller, CinderResult};
use crate::cinder::CinderError;
use crate::common::{volume_metadata, with_order};
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Volume,
    Snapshot,
}

impl Owner {
    async fn get(self, s: &ApiState, ctx: &AuthContext, id: &str) -> DomainResult<Metadata> {
        match self {
            Owner::Volume => Ok(volume_metadata(
                &s.platter.volume_get(ctx, &VolumeId::from(id)).await?,
            )),
            Owner::Snapshot => Ok(s
                .platter
                .snapshot_get(ctx, &SnapshotId::from(id))
                .await?
                .metadata),
        }
    }

    async fn set(
        self,
        s: &ApiState,
        ctx: &AuthContext,
        id: &str,
        m: &Metadata,
        replace: bool,
    ) -> DomainResult<Metadata> {
        match self {
            Owner::Volume => {
                let id = VolumeId::from(id);
                let all = s.platter.volume_metadata_set(ctx, &id, m, replace).await?;
                let v = s.platter.volume_get(ctx, &id).await?;
                Ok(with_order(all, v.order_id()))
            }
            Owner::Snapshot => {
                s.platter
                    .snapshot_metadata_set(ctx, &SnapshotId::from(id), m, replace)
                    .await
            }
        }
    }

    async fn delete(
        self,
        s: &ApiState,
        ctx: &AuthContext,
        id: &str,
        key: &str,
    ) -> DomainResult<()> {
        match self {
            Owner::Volume => {
                s.platter
                    .volume_metadata_delete(ctx, &VolumeId::from(id), key)
                    .await
            }
            Owner::Snapshot => {
                s.platter
                    .snapshot_metadata_delete(ctx, &SnapshotId::from(id), key)
                    .await
            }
        }
    }
}

fn item_not_found() -> CinderError {
    CinderError::not_found("Metadata item was not found")
}

/// `{"metadata": {...}}`, strictly.
fn metadata_body(body: &Bytes) -> Result<Metadata, CinderError> {
    let map = json_object(body)?;
    let o = Obj::new(&map, "body");
    o.deny_unknown(&["metadata"])?;
    o.require("metadata")?;
    Ok(o.opt_metadata("metadata")?.unwrap_or_default())
}

/// `{"meta": {key: value}}` whose one key is the URL's.
fn meta_item_body(body: &Bytes, key: &str) -> Result<Metadata, CinderError> {
    let map = json_object(body)?;
    let o = Obj::new(&map, "body");
    o.deny_unknown(&["meta"])?;
    o.require("meta")?;
    let meta = o.opt_metadata("meta")?.unwrap_or_default();
    if meta.len() > 1 {
        return Err(CinderError::bad_request(
            "Request body contains too many items",
        ));
    }
    if !meta.contains_key(key) {
        return Err(CinderError::bad_request("Request body and URI mismatch"));
    }
    Ok(meta)
}

async fn show(owner: Owner, s: ApiState, c: Caller, id: String) -> CinderResult {
    let all = owner.get(&s, &c.ctx, &id).await?;
    Ok(Json(json!({ "metadata": all })).into_response())
}

async fn set(
    owner: Owner,
    s: ApiState,
    c: Caller,
    id: String,
    body: Bytes,
    replace: bool,
) -> CinderResult {
    let meta = metadata_body(&body)?;
    let all = owner.set(&s, &c.ctx, &id, &meta, replace).await?;
    Ok(Json(json!({ "metadata": all })).into_response())
}

async fn item_show(owner: Owner, s: ApiState, c: Caller, id: String, key: String) -> CinderResult {
    let all = owner.get(&s, &c.ctx, &id).await?;
    let value = all.get(&key).ok_or_else(item_not_found)?;
    Ok(Json(json!({ "meta": { key: value } })).into_response())
}

async fn item_set(
    owner: Owner,
    s: ApiState,
    c: Caller,
    id: String,
    key: String,
    body: Bytes,
) -> CinderResult {
    let meta = meta_item_body(&body, &key)?;
    owner.set(&s, &c.ctx, &id, &meta, false).await?;
    Ok(Json(json!({ "meta": meta })).into_response())
}

async fn item_delete(
    owner: Owner,
    s: ApiState,
    c: Caller,
    id: String,
    key: String,
) -> CinderResult {
    match owner.delete(&s, &c.ctx, &id, &key).await {
        Ok(()) => Ok(empty(StatusCode::OK)),
        Err(DomainError::NotFound {
            kind: "Metadata item",
            ..
        }) => Err(item_not_found()),
        Err(e) => Err(e.into()),
    }
}

/// `GET …/{id}/metadata`.
pub fn collection_get(owner: Owner) -> MethodRouter<ApiState> {
    get(
        move |State(s): State<ApiState>,
              Extension(c): Extension<Caller>,
              Path((_p, id)): Path<(String, String)>| { show(owner, s, c, id) },
    )
}

/// `POST …/{id}/metadata` (merge) and `PUT` (replace).
pub fn collection_set(owner: Owner, replace: bool) -> MethodRouter<ApiState> {
    let handler = move |State(s): State<ApiState>,
                        Extension(c): Extension<Caller>,
                        Path((_p, id)): Path<(String, String)>,
                        body: Bytes| { set(owner, s, c, id, body, replace) };
    if replace {
        put(handler)
    } else {
        post(handler)
    }
}

type KeyPath = Path<(String, String, String)>;

/// `GET …/{id}/metadata/{key}`.
pub fn item_get(owner: Owner) -> MethodRouter<ApiState> {
    get(
        move |State(s): State<ApiState>,
              Extension(c): Extension<Caller>,
              Path((_p, id, key)): KeyPath| { item_show(owner, s, c, id, key) },
    )
}

/// `PUT …/{id}/metadata/{key}`.
pub fn item_put(owner: Owner) -> MethodRouter<ApiState> {
    put(
        move |State(s): State<ApiState>,
              Extension(c): Extension<Caller>,
              Path((_p, id, key)): KeyPath,
              body: Bytes| { item_set(owner, s, c, id, key, body) },
    )
}

/// `DELETE …/{id}/metadata/{key}`.
pub fn item_remove(owner: Owner) -> MethodRouter<ApiState> {
    delete(
        move |State(s): State<ApiState>,
              Extension(c): Extension<Caller>,
              Path((_p, id, key)): KeyPath| { item_delete(owner, s, c, id, key) },
    )
}
