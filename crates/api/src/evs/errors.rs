//! EVS error bodies and the mapping of domain errors to appendix A.1 codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::{CreateRule, DomainError, QosRule};
use serde_json::json;

use crate::common::qos_rule_text;
use crate::toolkit::body::InputError;

/// An EVS error: `{"error": {"code": "EVS.XXXX", "message": ...}}`.
#[derive(Debug)]
pub struct EvsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub const NOT_FOUND_MESSAGE: &str = "Resource(Volume, Snapshot, Backup .etc) could not be found.";

impl EvsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        EvsError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 with `code`.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        EvsError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `EVS.5400`: a malformed body or URL.
    pub fn malformed(detail: impl Into<String>) -> Self {
        EvsError::bad("EVS.5400", detail)
    }

    pub fn not_found(detail: impl std::fmt::Display) -> Self {
        EvsError::new(
            StatusCode::NOT_FOUND,
            "EVS.5404",
            format!("{NOT_FOUND_MESSAGE} {detail}"),
        )
    }
}

impl EvsError {
    /// An error the framework produced (unknown route, bad path, oversized
    /// body) in EVS's format.
    pub fn framework(status: StatusCode, message: String) -> Self {
        match status {
            StatusCode::NOT_FOUND => {
                EvsError::new(StatusCode::NOT_FOUND, "EVS.5404", NOT_FOUND_MESSAGE)
            }
            StatusCode::UNAUTHORIZED => {
                EvsError::new(status, "EVS.5401", "Authentication required.")
            }
            StatusCode::METHOD_NOT_ALLOWED => EvsError::new(
                status,
                "EVS.5400",
                format!("Malformed request url. {message}"),
            ),
            s if s.is_server_error() => EvsError::new(status, "EVS.5500", "Internal server error."),
            _ => EvsError::new(
                status,
                "EVS.5400",
                format!("Malformed request body. {message}"),
            ),
        }
    }
}

impl From<DomainError> for EvsError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { .. } => EvsError::not_found(&e),
            DomainError::InvalidInput(m) => EvsError::malformed(m),
            DomainError::InvalidState { message: m, .. } => EvsError::bad("EVS.1031", m),
            DomainError::QuotaExceeded {
                ref resource,
                requested,
                in_use,
                limit,
            } => {
                let detail =
                    format!("{resource}: requested {requested}, in use {in_use}, limit {limit}.");
                if resource == "per_volume_gigabytes" {
                    EvsError::bad("EVS.1010", format!("invalid volume size! {detail}"))
                } else if resource.starts_with("volumes") {
                    EvsError::bad(
                        "EVS.1034",
                        format!("volume count exceeded volume count quota! {detail}"),
                    )
                } else if resource.starts_with("gigabytes") {
                    EvsError::bad(
                        "EVS.1042",
                        format!("volume gigabytes exceeded volume gigabytes quota! {detail}"),
                    )
                } else {
                    EvsError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "EVS.5413",
                        format!("Insufficient volume quota. {detail}"),
                    )
                }
            }
            DomainError::Unauthorized(m) => EvsError::new(
                StatusCode::UNAUTHORIZED,
                "EVS.5401",
                format!("Authentication required. {m}"),
            ),
            DomainError::Forbidden(m) => EvsError::new(
                StatusCode::FORBIDDEN,
                "EVS.5403",
                format!("Policy check failed. {m}"),
            ),
            DomainError::InvalidQos(rule) => qos_error(&rule),
            DomainError::InvalidCreate(rule) => create_error(&rule),
            DomainError::NotAllowed { action } => EvsError::new(
                StatusCode::FORBIDDEN,
                "EVS.5403",
                format!(
                    "Policy check failed. Action {} is not allowed.",
                    action.iam().unwrap_or(action.policy())
                ),
            ),
            DomainError::Conflict(m) => EvsError::malformed(m),
            DomainError::StorageFull(m) => EvsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "EVS.5413",
                format!("Insufficient storage capacity. {m}"),
            ),
            // API Gateway's throttling answer.
            DomainError::Overloaded { .. } => EvsError::new(
                crate::toolkit::normalize::status_of(&e),
                "APIGW.0308",
                e.to_string(),
            ),
            DomainError::Backend(_) | DomainError::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                EvsError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "EVS.5500",
                    "Internal server error.",
                )
            }
        }
    }
}

impl From<InputError> for EvsError {
    fn from(e: InputError) -> Self {
        EvsError::malformed(format!("Malformed request body. {}", e.0))
    }
}

/// Maps a domain error, giving input and status errors the operation's own
/// code (`EVS.1046` for a delete in the wrong status, ...).
pub fn with_code(code: &'static str) -> impl Fn(DomainError) -> EvsError {
    move |e| match e {
        DomainError::InvalidInput(m) | DomainError::InvalidState { message: m, .. } => {
            EvsError::bad(code, m)
        }
        other => other.into(),
    }
}

/// EVS's codes and words for the create rules.
fn create_error(rule: &CreateRule) -> EvsError {
    match rule {
        CreateRule::TwoSources => EvsError::bad(
            "EVS.1016",
            "Invalid input received: May specify only one of imageRef, snapshot_id, backup_id!",
        ),
        CreateRule::SizeRequired => {
            EvsError::bad("EVS.1010", "invalid volume size! size is required.")
        }
        CreateRule::SizeOutOfRange { size, min, max } => EvsError::bad(
            "EVS.1010",
            format!("invalid volume size! {size} GiB is outside {min}..={max} GiB."),
        ),
        CreateRule::SmallerThanSource { size, source_size } => EvsError::bad(
            "EVS.1010",
            format!("invalid volume size! {size} GiB is smaller than its source's {source_size} GiB."),
        ),
        CreateRule::UnknownZone { zone } => {
            EvsError::bad("EVS.1036", format!("invalid availability zone! '{zone}'"))
        }
        CreateRule::TypeNotInZone { volume_type, zone } => EvsError::bad(
            "EVS.1036",
            format!("invalid availability zone! Volume type {volume_type} is not offered in {zone}."),
        ),
        CreateRule::SnapshotNotUsable { status, .. } => EvsError::bad(
            "EVS.2043",
            format!("The status of snapshot is not available or backing-up. It is {status}."),
        ),
        CreateRule::ZoneMismatch { source_zone, .. } => EvsError::bad(
            "EVS.2054",
            format!("Cannot create volume from snapshot as the az is invalid! The snapshot is in {source_zone}."),
        ),
        CreateRule::TypeMismatch {
            volume_type,
            source_type,
        } => EvsError::bad(
            "EVS.2096",
            format!("Target volumeType[{volume_type}] is not matched with snapshot[{source_type}] !"),
        ),
    }
}

/// EVS's codes and words for the iops/throughput rules.
fn qos_error(rule: &QosRule) -> EvsError {
    let code = match rule {
        QosRule::OutOfRange { .. } => "EVS.2231",
        QosRule::NeedsIopsAndThroughput { .. } => "EVS.2233",
        QosRule::NeedsIopsOnly { .. } => "EVS.2232",
        QosRule::NotSettable { .. } => "EVS.2235",
        QosRule::NotModifiable { .. } => "EVS.2234",
    };
    EvsError::bad(code, qos_rule_text(rule))
}

impl IntoResponse for EvsError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}
