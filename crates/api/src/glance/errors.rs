//! Glance's error bodies, as webob renders them: HTML for clients that
//! accept anything (`*/*`, what openstacksdk and glanceclient send), a flat
//! `{"message", "code", "title"}` for those asking for JSON (Tempest), and
//! plain text for those that ask for it.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use platter_model::DomainError;
use serde_json::json;

use crate::toolkit::body::InputError;
use crate::toolkit::normalize::{status_of, FamilyRendered};

#[derive(Debug)]
pub struct GlanceError {
    pub status: StatusCode,
    pub message: String,
}

/// The message of an error response, kept so [`by_accept`] can render it
/// in the format the client asked for.
#[derive(Debug, Clone)]
struct ErrorMessage(String);

impl GlanceError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        GlanceError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        GlanceError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        GlanceError::new(StatusCode::FORBIDDEN, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        GlanceError::new(StatusCode::CONFLICT, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        GlanceError::new(StatusCode::NOT_FOUND, message)
    }
}

fn title(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    )
}

fn html(status: StatusCode, message: &str) -> String {
    let t = title(status);
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<html>\n <head>\n  <title>{t}</title>\n </head>\n <body>\n  <h1>{t}</h1>\n  {escaped}<br /><br />\n\n\n\n </body>\n</html>"
    )
}

impl IntoResponse for GlanceError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, html(self.status, &self.message)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=UTF-8"),
        );
        resp.extensions_mut().insert(ErrorMessage(self.message));
        resp.extensions_mut().insert(FamilyRendered);
        resp
    }
}

/// Which format the request's `Accept` asks errors in.
enum Wants {
    Html,
    Json,
    Text,
}

fn wants(req: &Request) -> Wants {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // No Accept (openstacksdk's uploads send an empty one) gets HTML too,
    // which every client turns into a readable message; webob would give
    // plain text, which openstacksdk drops.
    if accept.contains("html") || accept.contains("*/*") || accept.trim().is_empty() {
        Wants::Html
    } else if accept.contains("json") {
        Wants::Json
    } else {
        Wants::Text
    }
}

/// Renders error responses in the format the request accepts.
pub async fn by_accept(req: Request, next: Next) -> Response {
    let wanted = wants(&req);
    let mut resp = next.run(req).await;
    let Some(ErrorMessage(message)) = resp.extensions_mut().remove::<ErrorMessage>() else {
        return resp;
    };
    let status = resp.status();
    let (body, content_type) = match wanted {
        Wants::Html => return resp,
        Wants::Json => (
            json!({
                "message": format!("{message}<br /><br />\n\n\n"),
                "code": title(status),
                "title": status.canonical_reason().unwrap_or("Error"),
            })
            .to_string(),
            "application/json",
        ),
        Wants::Text => (
            format!("{}\n\n{message}\n\n   ", title(status)),
            "text/plain; charset=UTF-8",
        ),
    };
    let mut out = (status, body).into_response();
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out
}

impl From<DomainError> for GlanceError {
    fn from(e: DomainError) -> Self {
        let status = status_of(&e);
        let message = match &e {
            DomainError::NotFound { kind: "Image", id } => format!("No image found with ID {id}"),
            DomainError::NotAllowed { action } => {
                format!(
                    "You are not authorized to complete {} action.",
                    action.policy()
                )
            }
            // Glance's StorageFull: 413 "Image storage media is full".
            DomainError::StorageFull(m) => format!("Image storage media is full: {m}"),
            DomainError::Backend(_) | DomainError::Internal(_) => {
                tracing::error!(error = %e, "request failed");
                "The server has either erred or is incapable of performing the requested operation."
                    .into()
            }
            _ => e.to_string(),
        };
        GlanceError::new(status, message)
    }
}

impl From<InputError> for GlanceError {
    fn from(e: InputError) -> Self {
        GlanceError::bad_request(e.0)
    }
}
