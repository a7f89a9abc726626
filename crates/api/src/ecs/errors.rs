//! ECS error bodies (`{"error": {"code": "Ecs.XXXX", "message"}}`, seed 003
//! §10.3.1) and the mapping of domain errors to appendix A.2 codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::DomainError;
use serde_json::json;

use crate::toolkit::body::InputError;

#[derive(Debug)]
pub struct EcsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl EcsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        EcsError {
            status,
            code,
            message: message.into(),
        }
    }

    /// `Ecs.0005`: the request body (or a parameter) is invalid.
    pub fn illegal(detail: impl std::fmt::Display) -> Self {
        EcsError::new(
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            format!("request body is illegal. {detail}"),
        )
    }

    pub fn framework(status: StatusCode, message: String) -> Self {
        match status {
            StatusCode::NOT_FOUND => EcsError::new(status, "Ecs.0114", "The ECS does not exist."),
            s if s.is_server_error() => EcsError::new(
                s,
                "Common.0001",
                "A system exception occurred. Try again later or contact customer service.",
            ),
            s => EcsError::new(s, "Ecs.0005", format!("request body is illegal. {message}")),
        }
    }
}

impl IntoResponse for EcsError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<InputError> for EcsError {
    fn from(e: InputError) -> Self {
        EcsError::illegal(e.0)
    }
}

impl From<DomainError> for EcsError {
    fn from(e: DomainError) -> Self {
        let bad = |code, m: String| EcsError::new(StatusCode::BAD_REQUEST, code, m);
        match e {
            DomainError::NotFound { kind: "Server", .. } => EcsError::new(
                StatusCode::NOT_FOUND,
                "Ecs.0114",
                format!("The ECS does not exist. {e}"),
            ),
            DomainError::NotFound { kind: "Volume attachment", .. } => bad(
                "Ecs.0111",
                format!("The EVS disk has been detached from the ECS. Refresh the disk list and check the disk. {e}"),
            ),
            DomainError::NotFound { kind: "Volume", .. } => bad(
                "Ecs.0103",
                format!("The disk can be attached to a server only if it exists and the state must be in the available. {e}"),
            ),
            DomainError::NotFound { kind: "Job", .. } => bad(
                "Common.0011",
                format!("Failed to query system tasks. {e}"),
            ),
            DomainError::NotFound { .. } => EcsError::illegal(e),
            DomainError::InvalidInput(m) => EcsError::illegal(m),
            DomainError::InvalidCreate(rule) => bad(
                "Ecs.0203",
                format!("Failed to create the data disk. {rule}"),
            ),
            DomainError::InvalidQos(rule) => EcsError::illegal(rule),
            DomainError::InvalidState { resource, message } => match resource {
                "server" => bad(
                    "Ecs.0100",
                    format!("The ECS status does not meet requirements. {message}"),
                ),
                _ if message.contains("already") => bad(
                    "Ecs.0057",
                    format!("The disk has already been attached to the ECS and you cannot repeatedly attach it. {message}"),
                ),
                _ => bad(
                    "Ecs.0103",
                    format!("The disk can be attached to a server only if it exists and the state must be in the available. {message}"),
                ),
            },
            DomainError::Conflict(m) => bad(
                "Ecs.0100",
                format!("The ECS status does not meet requirements. {m}"),
            ),
            DomainError::QuotaExceeded {
                resource,
                requested,
                in_use,
                limit,
            } => {
                let detail = format!("{resource}: requested {requested}, in use {in_use}, limit {limit}.");
                if matches!(resource.as_str(), "instances" | "cores" | "ram") {
                    bad(
                        "Ecs.0001",
                        format!("Insufficient ECS quota. Contact customer service to increase quota. {detail}"),
                    )
                } else {
                    bad("Ecs.0021", format!("Insufficient EVS disk quota. {detail}"))
                }
            }
            DomainError::NotAllowed { action } => EcsError::new(
                StatusCode::FORBIDDEN,
                "Pdp.0001",
                format!("Policy doesn't allow {} to be performed.", action.iam().unwrap_or(action.policy())),
            ),
            DomainError::Forbidden(m) => EcsError::new(StatusCode::FORBIDDEN, "Ecs.0110", m),
            DomainError::Unauthorized(m) => {
                EcsError::new(StatusCode::UNAUTHORIZED, "Common.0013", format!("Invalid token. {m}"))
            }
            DomainError::StorageFull(m) => EcsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Ecs.0000",
                format!("Insufficient storage capacity. {m}"),
            ),
            // API Gateway's throttling answer.
            DomainError::Overloaded { .. } => EcsError::new(crate::toolkit::normalize::status_of(&e), "APIGW.0308", e.to_string()),
            DomainError::Backend(m) | DomainError::Internal(m) => {
                tracing::error!(error = %m, "ECS request failed");
                EcsError::framework(StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        }
    }
}
