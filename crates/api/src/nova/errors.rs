//! Nova's error bodies: `{"badRequest": {"code": 400, "message": ...}}`,
//! `itemNotFound`, `conflictingRequest`, `forbidden`, `computeFault`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::DomainError;
use serde_json::json;

use crate::toolkit::body::InputError;

#[derive(Debug)]
pub struct NovaError {
    pub status: StatusCode,
    pub message: String,
}

impl NovaError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        NovaError {
            status,
            message: message.into(),
        }
    }
    pub fn bad(message: impl Into<String>) -> Self {
        NovaError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        NovaError::new(StatusCode::NOT_FOUND, message)
    }

    /// An error the framework produced, in Nova's format.
    pub fn framework(status: StatusCode, message: String) -> Self {
        match status {
            StatusCode::NOT_FOUND => NovaError::not_found("The resource could not be found."),
            s if s.is_server_error() => NovaError::new(
                s,
                "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.",
            ),
            s => NovaError::new(s, message),
        }
    }
}

/// The fault name Nova gives a status.
pub(crate) fn key(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "HTTPMethodNotAllowed",
        406 => "HTTPNotAcceptable",
        409 => "conflictingRequest",
        413 => "overLimit",
        415 => "badMediaType",
        429 => "overLimit",
        501 => "notImplemented",
        _ => "computeFault",
    }
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        let body =
            json!({ key(self.status): {"code": self.status.as_u16(), "message": self.message} });
        (self.status, Json(body)).into_response()
    }
}

impl From<InputError> for NovaError {
    fn from(e: InputError) -> Self {
        NovaError::bad(e.0)
    }
}

impl From<DomainError> for NovaError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { kind, id } => {
                let kind = if kind == "Server" { "Instance" } else { kind };
                NovaError::not_found(format!("{kind} {id} could not be found."))
            }
            DomainError::InvalidInput(m) => NovaError::bad(m),
            DomainError::InvalidCreate(rule) => NovaError::bad(format!("Invalid volume: {rule}")),
            DomainError::InvalidQos(rule) => NovaError::bad(rule.to_string()),
            DomainError::InvalidState { resource, message } => match resource {
                "server" => NovaError::new(StatusCode::CONFLICT, message),
                _ => NovaError::bad(format!("Invalid volume: {message}")),
            },
            DomainError::Conflict(m) => NovaError::new(StatusCode::CONFLICT, m),
            DomainError::QuotaExceeded {
                resource,
                requested,
                in_use,
                limit,
            } => NovaError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Quota exceeded for {resource}: Requested {requested}, but already used {in_use} of {limit} {resource}"
                ),
            ),
            DomainError::NotAllowed { action } => NovaError::new(
                StatusCode::FORBIDDEN,
                format!("Policy doesn't allow {} to be performed.", action.policy()),
            ),
            DomainError::Forbidden(m) => NovaError::new(StatusCode::FORBIDDEN, m),
            DomainError::StorageFull(m) => NovaError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            DomainError::Unauthorized(m) => NovaError::new(StatusCode::UNAUTHORIZED, m),
            DomainError::Overloaded { .. } => NovaError::new(crate::toolkit::normalize::status_of(&e), e.to_string()),
            DomainError::Backend(m) | DomainError::Internal(m) => {
                tracing::error!(error = %m, "compute request failed");
                NovaError::framework(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        }
    }
}
