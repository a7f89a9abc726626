//! Keystone's error body: `{"error": {"code": N, "message": ..., "title": ...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::DomainError;
use serde_json::json;

use crate::toolkit::body::InputError;
use crate::toolkit::normalize::status_of;

/// A Keystone error: `{"error": {"code": N, "message": ..., "title": ...}}`.
#[derive(Debug)]
pub struct KeystoneError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds a throttled client should wait (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl KeystoneError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        KeystoneError {
            status,
            message: message.into(),
            retry_after: None,
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
        let retry_after = match &e {
            DomainError::Overloaded { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
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
        KeystoneError {
            status,
            message,
            retry_after,
        }
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
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
