//! Error bodies, one format per API family, all mapped from the one domain
//! error type.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::DomainError;
use serde_json::json;

use crate::body::InputError;

fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
        DomainError::InvalidInput(_) | DomainError::InvalidState { .. } => StatusCode::BAD_REQUEST,
        DomainError::QuotaExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) | DomainError::NotAllowed { .. } => StatusCode::FORBIDDEN,
        DomainError::Conflict(_) => StatusCode::CONFLICT,
        DomainError::Backend(_) | DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

// ---------------------------------------------------------------- Cinder

/// A Cinder fault: `{"<faultName>": {"message": ..., "code": N}}`.
#[derive(Debug)]
pub struct CinderError {
    pub status: StatusCode,
    pub message: String,
}

impl CinderError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        CinderError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        CinderError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        CinderError::new(StatusCode::NOT_FOUND, message)
    }
}

fn cinder_fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// Cinder's own over-quota messages.
fn cinder_quota_message(resource: &str, requested: i64, in_use: i64, limit: i64) -> String {
    if resource == "per_volume_gigabytes" {
        format!("VolumeSizeExceedsLimit: Requested volume size {requested}G is larger than maximum allowed limit {limit}G.")
    } else if resource.starts_with("gigabytes") {
        format!(
            "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed {resource} quota. \
             Requested {requested}G, quota is {limit}G and {in_use}G has been consumed."
        )
    } else if resource.starts_with("snapshots") {
        format!("SnapshotLimitExceeded: Maximum number of snapshots allowed ({limit}) exceeded for quota '{resource}'.")
    } else {
        format!("VolumeLimitExceeded: Maximum number of volumes allowed ({limit}) exceeded for quota '{resource}'.")
    }
}

impl From<DomainError> for CinderError {
    fn from(e: DomainError) -> Self {
        let status = status_of(&e);
        let message = match &e {
            DomainError::QuotaExceeded {
                resource,
                requested,
                in_use,
                limit,
            } => cinder_quota_message(resource, *requested, *in_use, *limit),
            DomainError::NotAllowed { action } => {
                format!("Policy doesn't allow {} to be performed.", action.policy())
            }
            // Cinder's InvalidInput and Invalid<Resource> exceptions.
            DomainError::InvalidInput(m) => format!("Invalid input received: {m}"),
            DomainError::InvalidState { resource, message } if !resource.is_empty() => {
                format!("Invalid {resource}: {message}")
            }
            DomainError::Internal(_) | DomainError::Backend(_) => {
                tracing::error!(error = %e, "internal error");
                "The server has either erred or is incapable of performing the requested operation."
                    .to_string()
            }
            other => other.to_string(),
        };
        CinderError { status, message }
    }
}

impl From<InputError> for CinderError {
    fn from(e: InputError) -> Self {
        CinderError::bad_request(format!("Invalid input received: {}", e.0))
    }
}

impl IntoResponse for CinderError {
    fn into_response(self) -> Response {
        let name = cinder_fault_name(self.status);
        let mut fault = json!({ "message": self.message, "code": self.status.as_u16() });
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            fault["retryAfter"] = json!("0");
        }
        (self.status, Json(json!({ name: fault }))).into_response()
    }
}

// ---------------------------------------------------------------- Keystone

/// A Keystone error: `{"error": {"code": N, "message": ..., "title": ...}}`.
#[derive(Debug)]
pub struct KeystoneError {
    pub status: StatusCode,
    pub message: String,
}

impl KeystoneError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        KeystoneError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        KeystoneError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized() -> Self {
        KeystoneError::new(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }
}

impl From<DomainError> for KeystoneError {
    fn from(e: DomainError) -> Self {
        let status = status_of(&e);
        let message = match &e {
            DomainError::NotFound { kind, id } => {
                format!("Could not find {}: {id}.", kind.to_lowercase())
            }
            DomainError::NotAllowed { action } => format!(
                "You are not authorized to perform the requested action: {}.",
                action.policy()
            ),
            DomainError::Internal(_) | DomainError::Backend(_) => {
                tracing::error!(error = %e, "internal error");
                "An unexpected error prevented the server from fulfilling your request.".to_string()
            }
            other => other.to_string(),
        };
        KeystoneError { status, message }
    }
}

impl From<InputError> for KeystoneError {
    fn from(e: InputError) -> Self {
        KeystoneError::bad_request(format!("Invalid input for field: {}", e.0))
    }
}

impl IntoResponse for KeystoneError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({ "error": { "code": self.status.as_u16(), "message": self.message, "title": title } });
        (self.status, Json(body)).into_response()
    }
}

// ---------------------------------------------------------------- normalising

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
    if status.as_u16() < 400 || is_json(&resp) {
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
