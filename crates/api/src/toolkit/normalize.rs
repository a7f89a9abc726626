//! What every family's error handling shares: the HTTP status of a domain
//! error, and the rewriting of errors the framework produces itself into
//! the family's format.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use platter_model::DomainError;

/// The HTTP status of a domain error, as every family maps it (a family may
/// still choose another for an operation).
pub fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
        DomainError::InvalidInput(_)
        | DomainError::InvalidState { .. }
        | DomainError::InvalidQos(_)
        | DomainError::InvalidCreate(_) => StatusCode::BAD_REQUEST,
        DomainError::QuotaExceeded { .. } | DomainError::StorageFull(_) => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) | DomainError::NotAllowed { .. } => StatusCode::FORBIDDEN,
        DomainError::Conflict(_) => StatusCode::CONFLICT,
        DomainError::Overloaded {
            rate_limited: true, ..
        } => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Backend(_) | DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Marks a response a family has already written in its own error format
/// (one that is not JSON): [`normalize`] leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct FamilyRendered;

/// Writes an error in a family's format, from a status and a message.
pub type RenderError = fn(StatusCode, String) -> Response;

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Rewrites error responses the framework produced itself (unknown route,
/// wrong method, oversized or unreadable body) into the family's format, so
/// a client never sees a plain-text error. Each family passes its own
/// `render`.
pub async fn normalize(render: RenderError, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if status.as_u16() < 400
        || is_json(&resp)
        || resp.extensions().get::<FamilyRendered>().is_some()
    {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match status {
        StatusCode::NOT_FOUND => "The resource could not be found.".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "The method is not allowed for the requested URL.".to_string()
        }
        StatusCode::PAYLOAD_TOO_LARGE => "Request is too large.".to_string(),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("Error").to_string(),
        _ => text,
    };
    let mut out = render(status, message);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

pub fn www_authenticate(resp: &mut Response, identity_url: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{identity_url}\"")) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

/// An empty body with a status.
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}
