//! `os-services` (admin): Platter's scheduler and a volume service per
//! backend, with what operators set on them.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_service::{ServiceChange, ServiceEntry};
use serde_json::{json, Value};

use super::params::ListQuery;
use super::{Caller, CinderError, CinderResult};
use crate::toolkit::body::{json_object, Obj};
use crate::toolkit::normalize::empty;
use crate::ApiState;

fn view(e: &ServiceEntry) -> Value {
    let s = &e.state;
    json!({
        "binary": s.binary,
        "host": s.host,
        "zone": e.zone,
        "status": if s.disabled { "disabled" } else { "enabled" },
        "state": "up",
        "updated_at": s.updated_at,
        "disabled_reason": s.disabled_reason,
        "frozen": s.frozen,
        "replication_status": "disabled",
        "active_backend_id": null,
    })
}

/// `GET /os-services[?host=&binary=]`.
pub(super) async fn list(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> CinderResult {
    let q = ListQuery { pairs };
    let services = state
        .platter
        .service_list(&c.ctx, q.get("host"), q.get("binary"))
        .await?;
    let items: Vec<Value> = services.iter().map(view).collect();
    Ok(Json(json!({ "services": items })).into_response())
}

/// `PUT /os-services/{action}`: `enable`, `disable`, `disable-log-reason`,
/// `freeze`, `thaw`.
pub(super) async fn update(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_p, action)): Path<(String, String)>,
    body: Bytes,
) -> CinderResult {
    let map = json_object(&body)?;
    let o = Obj::new(&map, "body");
    if matches!(action.as_str(), "freeze" | "thaw") {
        let host = o.req_str("host", 255)?;
        state
            .platter
            .service_freeze(&c.ctx, &host, action == "freeze")
            .await?;
        return Ok(empty(StatusCode::OK));
    }
    let change = match action.as_str() {
        "enable" => ServiceChange::Enable,
        "disable" => ServiceChange::Disable { reason: None },
        "disable-log-reason" => {
            let reason = match o.get("disabled_reason") {
                Some(Value::String(r)) if !r.trim().is_empty() && r.len() <= 255 => r.clone(),
                _ => {
                    return Err(CinderError::bad_request(
                        "Disabled reason contains invalid characters or is too long",
                    ))
                }
            };
            ServiceChange::Disable {
                reason: Some(reason),
            }
        }
        other => return Err(CinderError::not_found(format!("Unknown action {other}."))),
    };
    let host = o.req_str("host", 255)?;
    let binary = o.req_str("binary", 255)?;
    let s = state
        .platter
        .service_update(&c.ctx, &host, &binary, change)
        .await?;
    let mut out = json!({
        "host": s.host,
        "binary": s.binary,
        "service": s.binary,
        "status": if s.disabled { "disabled" } else { "enabled" },
        "disabled": s.disabled,
    });
    if action != "disable" {
        out["disabled_reason"] = json!(s.disabled_reason);
    }
    Ok(Json(out).into_response())
}
