//! Cinder's versions: the microversions spoken, their negotiation from
//! `OpenStack-API-Version`, and the version documents.

use axum::extract::{OriginalUri, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::CinderError;
use crate::ApiState;

/// Refuses a resource that appeared at 3.`minor` to an older request
/// (upstream's `VersionNotFoundForAPIMethod`: 404).
pub(super) fn check_version(c: &super::Caller, minor: u16) -> Result<(), CinderError> {
    if c.api.at_least(minor) {
        Ok(())
    } else {
        Err(CinderError::not_found("The resource could not be found."))
    }
}

/// Microversions this server speaks: `OpenStack-API-Version: volume 3.N`.
pub const MIN_MICROVERSION: u16 = 0;
pub const MAX_MICROVERSION: u16 = 70;

/// The API version of a request: `(2, 0)` for v2, `(3, N)` for v3.N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion {
    pub major: u8,
    pub minor: u16,
}

impl ApiVersion {
    pub fn at_least(self, minor: u16) -> bool {
        self.major == 3 && self.minor >= minor
    }
    pub fn prefix(self) -> &'static str {
        if self.major == 2 {
            "v2"
        } else {
            "v3"
        }
    }
}

/// Parses `OpenStack-API-Version: volume 3.N` (or `latest`).
pub(super) fn microversion(req: &Request) -> Result<u16, CinderError> {
    let Some(raw) = req.headers().get("openstack-api-version") else {
        return Ok(MIN_MICROVERSION);
    };
    let raw = raw
        .to_str()
        .map_err(|_| CinderError::bad_request("Invalid OpenStack-API-Version header."))?;
    let Some(value) = raw
        .split(',')
        .map(str::trim)
        .find_map(|item| item.strip_prefix("volume ").map(str::trim))
    else {
        return Ok(MIN_MICROVERSION);
    };
    if value.eq_ignore_ascii_case("latest") {
        return Ok(MAX_MICROVERSION);
    }
    let parsed = value
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse::<u16>().ok()?, minor.parse::<u16>().ok()?)));
    match parsed {
        Some((3, minor)) if (MIN_MICROVERSION..=MAX_MICROVERSION).contains(&minor) => Ok(minor),
        Some(_) => Err(CinderError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {value} is not supported by the API. Minimum is 3.{MIN_MICROVERSION} and maximum is 3.{MAX_MICROVERSION}."
            ),
        )),
        None => Err(CinderError::bad_request(format!(
            "API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum."
        ))),
    }
}

// ---- versions ----

fn version_entry(state: &ApiState, major: u8) -> Value {
    let (id, status, version, min_version, updated) = match major {
        2 => (
            "v2.0",
            "SUPPORTED",
            String::new(),
            String::new(),
            "2014-06-28T12:20:21Z",
        ),
        _ => (
            "v3.0",
            "CURRENT",
            format!("3.{MAX_MICROVERSION}"),
            format!("3.{MIN_MICROVERSION}"),
            "2023-01-09T00:00:00Z",
        ),
    };
    json!({
        "id": id,
        "status": status,
        "version": version,
        "min_version": min_version,
        "updated": updated,
        "links": [
            { "rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/" },
            { "rel": "self", "href": format!("{}/v{major}/", state.urls.block_storage) },
        ],
        "media-types": [
            { "base": "application/json", "type": format!("application/vnd.openstack.volume+json;version={major}") },
        ],
    })
}

/// `GET /`: 300 Multiple Choices with every version.
pub(super) async fn versions(State(state): State<ApiState>) -> Response {
    let body = json!({ "versions": [
        crate::common::version_v1_entry(&state),
        version_entry(&state, 2),
        version_entry(&state, 3),
    ] });
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

pub(super) async fn version_v3(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "versions": [version_entry(&state, 3)] }))
}

pub(super) async fn version_v2(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "versions": [version_entry(&state, 2)] }))
}

pub(super) async fn version_v3_for_project(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
) -> Json<Value> {
    let major = if uri.path().starts_with("/v2") { 2 } else { 3 };
    Json(json!({ "versions": [version_entry(&state, major)] }))
}
