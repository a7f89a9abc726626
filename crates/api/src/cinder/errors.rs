//! Cinder's error body: `{"<faultName>": {"message": ..., "code": N}}`,
//! mapped from the one domain error type.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use platter_model::{CreateRule, DomainError};
use serde_json::json;

use crate::common::qos_rule_text;
use crate::toolkit::body::InputError;
use crate::toolkit::normalize::status_of;

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

pub(crate) fn cinder_fault_name(status: StatusCode) -> &'static str {
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
    } else if resource == "groups" {
        format!("GroupLimitExceeded: Maximum number of groups allowed ({limit}) exceeded")
    } else if resource.starts_with("snapshots") {
        format!("SnapshotLimitExceeded: Maximum number of snapshots allowed ({limit}) exceeded for quota '{resource}'.")
    } else {
        format!("VolumeLimitExceeded: Maximum number of volumes allowed ({limit}) exceeded for quota '{resource}'.")
    }
}

/// Cinder's words for the create rules (upstream's `InvalidInput` and
/// `InvalidSnapshot` texts).
fn cinder_create_message(rule: &CreateRule) -> String {
    let input = |m: String| format!("Invalid input received: {m}");
    match rule {
        CreateRule::TwoSources => {
            input("only one of snapshot_id and source_volid may be given.".into())
        }
        CreateRule::SizeRequired => input("size is required for a blank volume.".into()),
        CreateRule::SizeOutOfRange { size, min, max } => input(format!(
            "volume size must be an integer between {min} and {max} GiB, not {size}."
        )),
        CreateRule::SmallerThanSource { size, source_size } => input(format!(
            "volume size {size} GiB is smaller than its source ({source_size} GiB)."
        )),
        CreateRule::UnknownZone { zone } => {
            input(format!("Availability zone '{zone}' is invalid."))
        }
        CreateRule::TypeNotInZone { volume_type, zone } => input(format!(
            "volume type {volume_type} is not available in availability zone {zone}."
        )),
        CreateRule::SnapshotNotUsable { status, .. } => format!(
            "Invalid snapshot: Originating snapshot status must be one of 'available', 'backing-up' values, not '{status}'."
        ),
        other => input(format!("{other}.")),
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
            DomainError::InvalidCreate(rule) => cinder_create_message(rule),
            DomainError::InvalidQos(rule) => {
                format!("Invalid input received: {}", qos_rule_text(rule))
            }
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
