//! The one authentication entry point of the project-scoped API families:
//! a Keystone token (`X-Auth-Token`) or a Huawei AK/SK signature
//! (`Authorization: SDK-HMAC-SHA256 ...`, see [`crate::toolkit::aksk`]).
//!
//! Each family calls [`authenticate`] from its middleware and maps an
//! [`AuthFailure`] to its own error bodies.

use axum::body::{to_bytes, Body};
use axum::extract::{OriginalUri, Request};
use platter_model::{AccessKeyId, AuthContext, DomainError, ProjectId};
use time::OffsetDateTime;

use crate::toolkit::aksk::{self, SignatureError, SignedRequest};
use crate::{ApiState, MAX_BODY_BYTES};

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AuthFailure {
    /// Neither an `X-Auth-Token` nor an `Authorization: SDK-...` header.
    Missing,
    /// The token is unknown, expired, revoked, not project-scoped, or its
    /// user or project is disabled or lost its role. Holds the service's
    /// error: `Unauthorized`, or `Internal` when the store failed.
    BadToken(DomainError),
    /// The access key is unknown or inactive, or its user is disabled.
    UnknownKey,
    /// The signature does not hold: a malformed `Authorization`, a required
    /// header (`host`, `x-sdk-date`) not signed, a signed header missing,
    /// a malformed `X-Sdk-Date`, a body that does not match its signed hash,
    /// or a signature the key's secret does not give.
    BadSignature(SignatureError),
    /// `X-Sdk-Date` (held here) is more than 15 minutes from the server's
    /// clock: a replay, or a client with a wrong clock.
    Expired(String),
    /// The credentials are valid but not for the project in the URL: a
    /// token scoped to another project, an `X-Project-Id` header naming
    /// another project, or an access key whose user holds no role on the
    /// URL's project (or the project does not exist or is disabled).
    ProjectMismatch(String),
    /// The body of a signed request is larger than [`MAX_BODY_BYTES`] (or
    /// could not be read) while it was buffered to check its hash.
    BodyTooLarge,
    /// The store failed while looking up an access key: a server error,
    /// not the client's.
    Internal(DomainError),
}

impl AuthFailure {
    /// The method and reason labels of the failure in the metrics.
    fn labels(&self) -> (&'static str, &'static str) {
        match self {
            AuthFailure::Missing => ("none", "missing"),
            AuthFailure::BadToken(_) => ("token", "invalid"),
            AuthFailure::UnknownKey => ("aksk", "unknown_key"),
            AuthFailure::BadSignature(SignatureError::Replayed) => ("aksk", "replayed"),
            AuthFailure::BadSignature(_) => ("aksk", "invalid"),
            AuthFailure::Expired(_) => ("aksk", "expired"),
            AuthFailure::ProjectMismatch(_) => ("any", "project_mismatch"),
            AuthFailure::BodyTooLarge => ("aksk", "body_too_large"),
            AuthFailure::Internal(_) => ("any", "internal"),
        }
    }

    /// A human-readable account of the failure, fit for an error body.
    pub(crate) fn message(&self) -> String {
        match self {
            AuthFailure::Missing => "The request you have made requires authentication.".into(),
            AuthFailure::BadToken(e) | AuthFailure::Internal(e) => e.to_string(),
            AuthFailure::UnknownKey => "The access key is unknown or inactive.".into(),
            AuthFailure::BadSignature(e) => e.to_string(),
            AuthFailure::Expired(date) => SignatureError::Expired(date.clone()).to_string(),
            AuthFailure::ProjectMismatch(why) => why.clone(),
            AuthFailure::BodyTooLarge => {
                format!("The request body is larger than {MAX_BODY_BYTES} bytes.")
            }
        }
    }
}

/// Authenticates a request by X-Auth-Token or by AK/SK signature, for the
/// project `url_project_id` (the `{project_id}` of the URL). Buffers the
/// body when a signature needs it and gives the request back intact.
///
/// A token wins when both are present. The canonical URI and query of a
/// signature come from [`OriginalUri`], since a nested router has stripped
/// its prefix from the request's own URI.
pub(crate) async fn authenticate(
    state: &ApiState,
    req: Request,
    url_project_id: &str,
) -> Result<(AuthContext, Request), AuthFailure> {
    let result = authenticate_any(state, req, url_project_id).await;
    if let Err(e) = &result {
        let (method, reason) = e.labels();
        platter_service::record_auth_failure(method, reason);
    }
    result
}

async fn authenticate_any(
    state: &ApiState,
    req: Request,
    url_project_id: &str,
) -> Result<(AuthContext, Request), AuthFailure> {
    if let Some(ctx) = token_context(state, header_str(&req, "x-auth-token")).await? {
        if ctx.project_id != url_project_id {
            return Err(AuthFailure::ProjectMismatch(format!(
                "The token is scoped to project {}, not {url_project_id}.",
                ctx.project_id
            )));
        }
        return Ok((ctx, req));
    }
    match header_str(&req, "authorization") {
        Some(value) if aksk::is_signature(&value) => {
            authenticate_signed(state, req, &value, url_project_id).await
        }
        _ => Err(AuthFailure::Missing),
    }
}

/// Authenticates a request whose URL names no project (Cinder's
/// `/v3/default-types`): a token for whatever project it is scoped to, or
/// an AK/SK signature for the project its `X-Project-Id` names.
pub(crate) async fn authenticate_unscoped_url(
    state: &ApiState,
    req: Request,
) -> Result<(AuthContext, Request), AuthFailure> {
    if let Some(ctx) = token_context(state, header_str(&req, "x-auth-token")).await? {
        return Ok((ctx, req));
    }
    let project = header_str(&req, "x-project-id").unwrap_or_default();
    authenticate(state, req, &project).await
}

/// The caller an `X-Auth-Token` stands for, if the request has one.
async fn token_context(
    state: &ApiState,
    token: Option<String>,
) -> Result<Option<AuthContext>, AuthFailure> {
    match token {
        Some(token) => state
            .platter
            .auth_context(&token)
            .await
            .map(Some)
            .map_err(AuthFailure::BadToken),
        None => Ok(None),
    }
}

fn header_str(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn authenticate_signed(
    state: &ApiState,
    req: Request,
    authorization: &str,
    url_project_id: &str,
) -> Result<(AuthContext, Request), AuthFailure> {
    let auth = aksk::parse_authorization(authorization).map_err(AuthFailure::BadSignature)?;
    let access_key = AccessKeyId::from(auth.access_key.as_str());
    let secret = state
        .platter
        .credential_secret(&access_key)
        .await
        .map_err(|e| match e {
            DomainError::Unauthorized(_) => AuthFailure::UnknownKey,
            other => AuthFailure::Internal(other),
        })?;

    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| AuthFailure::BodyTooLarge)?;
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |u| &u.0);
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    let now = OffsetDateTime::now_utc();
    aksk::verify(&signed, &auth, &secret, now).map_err(|e| match e {
        SignatureError::Expired(date) => AuthFailure::Expired(date),
        other => AuthFailure::BadSignature(other),
    })?;
    if parts.method == axum::http::Method::POST
        && !aksk::idempotent_by_client_token(uri.path(), &auth)
    {
        let signed_at = aksk::signed_at(&parts.headers).map_err(AuthFailure::BadSignature)?;
        state
            .replay
            .admit(&auth.access_key, &auth.signature, signed_at, now)
            .map_err(AuthFailure::BadSignature)?;
    }
    if !aksk::project_header_matches(&parts.headers, url_project_id) {
        return Err(AuthFailure::ProjectMismatch(format!(
            "X-Project-Id does not name the project of the URL, {url_project_id}."
        )));
    }
    let (_, ctx) = state
        .platter
        .aksk_context(&access_key, &ProjectId::from(url_project_id))
        .await
        .map_err(|e| match e {
            DomainError::Forbidden(why) => AuthFailure::ProjectMismatch(why),
            DomainError::Unauthorized(_) => AuthFailure::UnknownKey,
            other => AuthFailure::Internal(other),
        })?;
    tracing::debug!(access_key = %auth.access_key, user = %ctx.user_id, project = %ctx.project_id, "signature verified");
    Ok((ctx, Request::from_parts(parts, Body::from(body))))
}
