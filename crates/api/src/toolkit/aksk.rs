//! Huawei Cloud AK/SK request signatures (`SDK-HMAC-SHA256`), verified
//! exactly as the Huawei SDKs compute them (`huaweicloudsdkcore`'s
//! `Signer`).
//!
//! A signed request carries
//! `Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex>`
//! and `X-Sdk-Date: YYYYMMDDTHHMMSSZ`. The signature is
//! `hex(HMAC-SHA256(SK, string_to_sign))` with
//!
//! ```text
//! string_to_sign    = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(canonical_request))
//! canonical_request = METHOD \n canonical URI \n canonical query \n
//!                     (name ":" trimmed value \n, for each signed header) \n
//!                     signed headers joined by ";" \n hex(sha256(body))
//! ```
//!
//! The canonical URI is the path percent-decoded, split at `/`, each segment
//! re-encoded with only unreserved characters (`A-Z a-z 0-9 - _ . ~`) left
//! as they are, and always ending in `/`. The canonical query is every
//! `key=value` pair decoded, sorted by key then value, and re-encoded the
//! same way (a repeated key gives one pair per value). The server derives
//! both from the URL as sent, so the order and the encoding the client chose
//! do not matter, only the decoded values (which are what handlers see).
//!
//! Everything here is pure: no clock, no store. [`crate::toolkit::auth`] looks the
//! key up and calls [`verify`].

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The scheme word of the `Authorization` header.
pub(crate) const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signing time.
pub(crate) const DATE_HEADER: &str = "x-sdk-date";
/// Set by the SDK to the body's hash (or `UNSIGNED-PAYLOAD` for bodies that
/// are not JSON).
pub(crate) const CONTENT_HASH_HEADER: &str = "x-sdk-content-sha256";
/// The project the SDK's `BasicCredentials` were given.
pub(crate) const PROJECT_HEADER: &str = "x-project-id";
/// Headers every SDK signs (it adds them when absent), so every signature
/// must cover them: without `x-sdk-date` a signature could be replayed
/// forever, without `host` against another endpoint.
pub(crate) const REQUIRED_SIGNED_HEADERS: [&str; 2] = ["host", DATE_HEADER];
/// How far `X-Sdk-Date` may be from the server's clock, either way.
pub(crate) const MAX_CLOCK_SKEW: time::Duration = time::Duration::minutes(15);

/// sha256 of the empty string: the payload hash of a request without body.
const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Why a signed request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignatureError {
    /// The `Authorization` header is not `SDK-HMAC-SHA256 Access=.., SignedHeaders=.., Signature=..`.
    #[error("Malformed Authorization header: {0}.")]
    MalformedAuthorization(String),
    /// A header that must be signed is not in `SignedHeaders`.
    #[error("The header {0} must be signed.")]
    UnsignedHeader(&'static str),
    /// A header named in `SignedHeaders` is not in the request.
    #[error("The signed header {0} is missing from the request.")]
    MissingHeader(String),
    /// A signed header appears more than once.
    #[error("The signed header {0} appears more than once.")]
    RepeatedHeader(String),
    /// `X-Sdk-Date` is not of the form `YYYYMMDDTHHMMSSZ`.
    #[error("X-Sdk-Date must be of the form YYYYMMDDTHHMMSSZ.")]
    BadDate,
    /// `X-Sdk-Date` is more than [`MAX_CLOCK_SKEW`] away from now.
    #[error("The request was signed at {0}, more than 15 minutes away from the server's time.")]
    Expired(String),
    /// `X-Sdk-Content-Sha256` is not the body's hash (or is `UNSIGNED-PAYLOAD`).
    #[error("The body does not match the signed content hash.")]
    BodyMismatch,
    /// The signature is not the one the key's secret gives.
    #[error("The request signature does not match.")]
    Mismatch,
    /// This signed request was received before: a `POST` is accepted once.
    #[error("The request was already received: a signed POST is accepted once.")]
    Replayed,
    /// The key signed more `POST`s within the date window than the replay
    /// cache holds for one key.
    #[error("Too many signed requests with this access key; retry in a minute.")]
    ReplayCacheFull,
}

/// Signed `POST`s seen within the date window, so a replay (same key,
/// same signature) is refused: a `POST` creates something, and the window
/// alone would let it be sent again for 30 minutes. Other methods are
/// idempotent and are not cached (an SDK signs to the second, so two equal
/// `GET`s in one second have equal signatures). Bounded: at most
/// [`REPLAY_PER_KEY`] entries per key and [`REPLAY_TOTAL`] in all; entries
/// leave once their date is out of the window.
#[derive(Default)]
pub struct ReplayCache {
    seen: std::sync::Mutex<ReplaySeen>,
}

#[derive(Default)]
struct ReplaySeen {
    /// Access key → signature → when it stops being acceptable anyway.
    keys: std::collections::HashMap<String, std::collections::HashMap<Vec<u8>, OffsetDateTime>>,
    /// Entries in all the keys' maps.
    total: usize,
}

impl ReplaySeen {
    /// Drops the entries of `key` (or of every key) whose date is out of
    /// the window.
    fn sweep(&mut self, key: Option<&str>, now: OffsetDateTime) {
        let mut dropped = 0;
        for (k, entries) in self.keys.iter_mut() {
            if key.is_some_and(|key| key != k) {
                continue;
            }
            let before = entries.len();
            entries.retain(|_, until| *until > now);
            dropped += before - entries.len();
        }
        self.keys.retain(|_, entries| !entries.is_empty());
        self.total -= dropped;
    }
}

/// Signed `POST`s remembered per access key within the window.
pub const REPLAY_PER_KEY: usize = 50_000;
/// Signed `POST`s remembered in all.
pub const REPLAY_TOTAL: usize = 500_000;

impl ReplayCache {
    /// Records a verified signature of a `POST` by `access_key` signed at
    /// `signed_at`; refuses one seen before.
    pub(crate) fn admit(
        &self,
        access_key: &str,
        signature: &str,
        signed_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), SignatureError> {
        let sig = hex::decode(signature).map_err(|_| SignatureError::Mismatch)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.total >= REPLAY_TOTAL {
            seen.sweep(None, now);
        }
        if seen.keys.get(access_key).map_or(0, |e| e.len()) >= REPLAY_PER_KEY {
            seen.sweep(Some(access_key), now);
        }
        let full = seen.total >= REPLAY_TOTAL;
        let entries = seen.keys.entry(access_key.to_string()).or_default();
        if entries.contains_key(&sig) {
            return Err(SignatureError::Replayed);
        }
        if full || entries.len() >= REPLAY_PER_KEY {
            return Err(SignatureError::ReplayCacheFull);
        }
        entries.insert(sig, signed_at + MAX_CLOCK_SKEW);
        seen.total += 1;
        Ok(())
    }
}

/// Whether a signed `POST` is made idempotent by the service itself: an
/// EVS volume create (`.../cloudvolumes`) whose signature covers an
/// `X-Client-Token`. The same token gives back the same job (and another
/// body under it is refused), so a replay creates nothing, and an SDK's
/// deliberate retry of the same request within the second is answered,
/// not refused as a replay.
pub(crate) fn idempotent_by_client_token(path: &str, auth: &Authorization) -> bool {
    path.trim_end_matches('/').ends_with("/cloudvolumes")
        && auth.signed_headers.iter().any(|h| h == "x-client-token")
}

/// When a request verified by [`verify`] was signed.
pub(crate) fn signed_at(headers: &HeaderMap) -> Result<OffsetDateTime, SignatureError> {
    let date = single_header(headers, DATE_HEADER)?;
    let date = std::str::from_utf8(date).map_err(|_| SignatureError::BadDate)?;
    parse_sdk_date(date)
}

/// A parsed `Authorization: SDK-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub access_key: String,
    /// Lowercase header names, as listed.
    pub signed_headers: Vec<String>,
    /// Lowercase hex.
    pub signature: String,
}

/// Whether an `Authorization` value claims to be a Huawei SDK signature
/// (`SDK-...`), and so must be verified as one or refused (an unsupported
/// algorithm such as `SDK-HMAC-SM3` is refused as malformed).
pub(crate) fn is_signature(authorization: &str) -> bool {
    authorization.starts_with("SDK-")
}

/// Parses `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b>, Signature=<hex>`.
pub(crate) fn parse_authorization(value: &str) -> Result<Authorization, SignatureError> {
    let malformed = |why: &str| SignatureError::MalformedAuthorization(why.to_string());
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| malformed("the scheme must be SDK-HMAC-SHA256"))?;
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("expected key=value pairs"))?;
        let slot = match key {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(malformed("unknown field")),
        };
        if slot.replace(val).is_some() {
            return Err(malformed("repeated field"));
        }
    }
    let access_key = access
        .filter(|a| !a.is_empty())
        .ok_or_else(|| malformed("Access is missing"))?;
    let signed = signed
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("SignedHeaders is missing"))?;
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if signed_headers.iter().any(|h| {
        h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }) {
        return Err(malformed("SignedHeaders must be lowercase header names"));
    }
    let signature = signature
        .filter(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| malformed("Signature must be 64 lowercase hex digits"))?;
    Ok(Authorization {
        access_key: access_key.to_string(),
        signed_headers,
        signature: signature.to_string(),
    })
}

/// A request as the server received it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded), with any router prefix.
    pub path: &'a str,
    /// The query as sent, without `?`; empty when there is none.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Verifies `req`'s signature under `auth` with the key's `secret`, at
/// time `now`. Constant-time in the signature comparison.
pub(crate) fn verify(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    for required in REQUIRED_SIGNED_HEADERS {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(SignatureError::UnsignedHeader(required));
        }
    }
    let date = single_header(req.headers, DATE_HEADER)?;
    let date = std::str::from_utf8(date).map_err(|_| SignatureError::BadDate)?;
    let signed_at = parse_sdk_date(date)?;
    if (now - signed_at).abs() > MAX_CLOCK_SKEW {
        return Err(SignatureError::Expired(date.to_string()));
    }
    let payload_hash = payload_hash(req.headers, req.body)?;

    let mut canonical = Vec::with_capacity(256 + req.path.len() + req.query.len());
    canonical.extend_from_slice(req.method.to_ascii_uppercase().as_bytes());
    canonical.push(b'\n');
    canonical.extend_from_slice(canonical_uri(req.path).as_bytes());
    canonical.push(b'\n');
    canonical.extend_from_slice(canonical_query(req.query).as_bytes());
    canonical.push(b'\n');
    for name in &auth.signed_headers {
        canonical.extend_from_slice(name.as_bytes());
        canonical.push(b':');
        canonical.extend_from_slice(single_header(req.headers, name)?.trim_ascii());
        canonical.push(b'\n');
    }
    canonical.push(b'\n');
    canonical.extend_from_slice(auth.signed_headers.join(";").as_bytes());
    canonical.push(b'\n');
    canonical.extend_from_slice(payload_hash.as_bytes());

    let string_to_sign = format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(&canonical))
    );
    let expected = hex::decode(&auth.signature).map_err(|_| SignatureError::Mismatch)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(string_to_sign.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Whether the request's `X-Project-Id`, if it has one, names `project_id`
/// (the project in the URL). Absent is fine: the URL's project is the scope.
pub(crate) fn project_header_matches(headers: &HeaderMap, project_id: &str) -> bool {
    let mut values = headers.get_all(PROJECT_HEADER).iter();
    match (values.next(), values.next()) {
        (None, _) => true,
        (Some(v), None) => v.as_bytes().trim_ascii() == project_id.as_bytes(),
        (Some(_), Some(_)) => false,
    }
}

fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h [u8], SignatureError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => Ok(v.as_bytes()),
        (None, _) => Err(SignatureError::MissingHeader(name.to_string())),
        (Some(_), Some(_)) => Err(SignatureError::RepeatedHeader(name.to_string())),
    }
}

/// `YYYYMMDDTHHMMSSZ`, UTC.
fn parse_sdk_date(s: &str) -> Result<OffsetDateTime, SignatureError> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    if s.len() != 16 {
        return Err(SignatureError::BadDate);
    }
    PrimitiveDateTime::parse(s, format)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| SignatureError::BadDate)
}

/// The body's hash, as the SDK puts it in the canonical request: the empty
/// hash without a body (whatever the content header says), else the
/// body's sha256, which `X-Sdk-Content-Sha256` must equal when present.
/// `UNSIGNED-PAYLOAD` is refused: it would leave the body unprotected, and
/// every body this server takes is JSON, which the SDK always hashes.
fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, SignatureError> {
    if body.is_empty() {
        return Ok(EMPTY_HASH.to_string());
    }
    let actual = hex::encode(Sha256::digest(body));
    if let Some(claimed) = headers.get(CONTENT_HASH_HEADER) {
        if !claimed
            .as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(actual.as_bytes())
        {
            return Err(SignatureError::BodyMismatch);
        }
    }
    Ok(actual)
}

/// Characters left as they are: Python's `quote(s, safe='~')`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes (`+` as a space when `plus_is_space`, as in a query);
/// a `%` not followed by two hex digits stays as it is, and bytes that are
/// not UTF-8 become U+FFFD, as Python's `unquote` does.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            let hi = char::from(bytes[i + 1]).to_digit(16);
            let lo = char::from(bytes[i + 2]).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path decoded, each segment re-encoded, always ending in `/`.
fn canonical_uri(raw_path: &str) -> String {
    let decoded = percent_decode(raw_path, false);
    let mut uri = decoded
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The query's pairs decoded, sorted by key then value, re-encoded.
fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    // Vectors signed by huaweicloudsdkcore's own `Signer` (Python), with
    // `tests/clients/aksk_vectors.py`: these keys, this date and host.
    const SK: &str = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";
    const AK: &str = "QTWAOYTTINDUT2QVKYUC";
    const DATE: &str = "20240102T030405Z";
    const HOST: &str = "127.0.0.1:8776";
    const PROJECT: &str = "0123456789abcdef0123456789abcdef";

    struct Vector {
        method: &'static str,
        path: &'static str,
        query: &'static str,
        body: &'static str,
        json: bool,
        signature: &'static str,
    }

    /// A GET with several parameters, one repeated (a list in the SDK),
    /// values needing encoding, a boolean; no body.
    const QUERY: Vector = Vector {
        method: "GET",
        path: "/v3/0123456789abcdef0123456789abcdef/volumes",
        query:
            "all_tenants=true&limit=10&marker=x~y%2Az&name=a%20b%2Fc&status=available&status=error",
        body: "",
        json: true,
        signature: "be1a8fae5d28969e72bf75dd6c0a20cecd692889428f4c8704d67cbbbacc07e3",
    };
    /// A path whose segments need encoding (space, non-ASCII, parentheses, `+`).
    const ENCODED_PATH: Vector = Vector {
        method: "GET",
        path: "/v3/0123456789abcdef0123456789abcdef/volumes/my%20vol%C3%A9(1)/metadata/k%2Bey",
        query: "",
        body: "",
        json: true,
        signature: "51c34367eaf3e8721e754c1719dcca1fbf4083396bc593908bafcd1cec6985ba",
    };
    /// A JSON body.
    const JSON_BODY: Vector = Vector {
        method: "POST",
        path: "/v3/0123456789abcdef0123456789abcdef/volumes",
        query: "",
        body: r#"{"volume": {"size": 1, "name": "signed"}}"#,
        json: true,
        signature: "867bfbd045c3a8d9fc8bee427d9efb576c73234ebe713f9012e2b6eeda5149d5",
    };
    /// An empty body, no Content-Type, a path ending in `/`.
    const EMPTY_BODY: Vector = Vector {
        method: "DELETE",
        path: "/v2/0123456789abcdef0123456789abcdef/volumes/",
        query: "",
        body: "",
        json: false,
        signature: "a13c965d2ac9f2cafd9bfe7a31a2103480afb01d04718d4358be4c2bcac4f9f6",
    };

    fn signed_at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_704_164_645).unwrap() // 2024-01-02T03:04:05Z
    }

    fn headers_of(v: &Vector) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-sdk-date", HeaderValue::from_static(DATE));
        h.insert("x-project-id", HeaderValue::from_static(PROJECT));
        h.insert("host", HeaderValue::from_static(HOST));
        if v.json {
            h.insert("content-type", HeaderValue::from_static("application/json"));
        }
        h
    }

    fn auth_of(v: &Vector) -> Authorization {
        let signed = if v.json {
            "content-type;host;x-project-id;x-sdk-date"
        } else {
            "host;x-project-id;x-sdk-date"
        };
        parse_authorization(&format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={signed}, Signature={}",
            v.signature
        ))
        .unwrap()
    }

    fn check(
        v: &Vector,
        headers: &HeaderMap,
        body: &[u8],
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<(), SignatureError> {
        let req = SignedRequest {
            method: v.method,
            path: v.path,
            query: v.query,
            headers,
            body,
        };
        verify(&req, &auth_of(v), secret, now)
    }

    #[test]
    fn sdk_vectors_verify() {
        for v in [&QUERY, &ENCODED_PATH, &JSON_BODY, &EMPTY_BODY] {
            assert_eq!(
                check(v, &headers_of(v), v.body.as_bytes(), SK, signed_at()),
                Ok(()),
                "{} {}",
                v.method,
                v.path
            );
        }
    }

    #[test]
    fn query_order_and_encoding_as_sent_do_not_matter() {
        let reordered = Vector {
            query: "status=error&name=a+b%2fc&marker=x%7Ey*z&status=available&limit=10&all_tenants=true",
            ..QUERY
        };
        assert_eq!(
            check(&reordered, &headers_of(&QUERY), b"", SK, signed_at()),
            Ok(())
        );
        // A different value is a different request.
        let changed = Vector {
            query: "all_tenants=true&limit=11&marker=x~y%2Az&name=a%20b%2Fc&status=available&status=error",
            ..QUERY
        };
        assert_eq!(
            check(&changed, &headers_of(&QUERY), b"", SK, signed_at()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn canonical_forms_match_the_sdk() {
        assert_eq!(canonical_uri("/v3/p/volumes"), "/v3/p/volumes/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a%20b/c%2fd"), "/a%20b/c/d/");
        assert_eq!(canonical_uri("/%zz/é"), "/%25zz/%C3%A9/");
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a&a=1&&c=%7e"), "a=&a=1&b=2&c=~");
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let h = headers_of(&JSON_BODY);
        let tampered = br#"{"volume": {"size": 100, "name": "signed"}}"#;
        assert_eq!(
            check(&JSON_BODY, &h, tampered, SK, signed_at()),
            Err(SignatureError::Mismatch)
        );
        // With a content hash header that no longer matches the body.
        let mut with_hash = h.clone();
        let hash = hex::encode(Sha256::digest(JSON_BODY.body.as_bytes()));
        with_hash.insert(
            "x-sdk-content-sha256",
            HeaderValue::from_str(&hash).unwrap(),
        );
        assert_eq!(
            check(&JSON_BODY, &with_hash, tampered, SK, signed_at()),
            Err(SignatureError::BodyMismatch)
        );
        with_hash.insert(
            "x-sdk-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        assert_eq!(
            check(
                &JSON_BODY,
                &with_hash,
                JSON_BODY.body.as_bytes(),
                SK,
                signed_at()
            ),
            Err(SignatureError::BodyMismatch)
        );
    }

    #[test]
    fn a_wrong_secret_or_method_is_refused() {
        let h = headers_of(&QUERY);
        let wrong = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHd";
        assert_eq!(
            check(&QUERY, &h, b"", wrong, signed_at()),
            Err(SignatureError::Mismatch)
        );
        let delete = Vector {
            method: "DELETE",
            ..QUERY
        };
        assert_eq!(
            check(&delete, &h, b"", SK, signed_at()),
            Err(SignatureError::Mismatch)
        );
        // A signed header whose value changed.
        let mut other_host = h.clone();
        other_host.insert("host", HeaderValue::from_static("evil.example:8776"));
        assert_eq!(
            check(&QUERY, &other_host, b"", SK, signed_at()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_date_must_be_within_fifteen_minutes() {
        let h = headers_of(&EMPTY_BODY);
        let body = b"";
        let at = signed_at();
        for ok in [at + MAX_CLOCK_SKEW, at - MAX_CLOCK_SKEW] {
            assert_eq!(check(&EMPTY_BODY, &h, body, SK, ok), Ok(()));
        }
        let one = time::Duration::seconds(1);
        // Replayed too late, or dated too far in the future.
        for late in [at + MAX_CLOCK_SKEW + one, at - MAX_CLOCK_SKEW - one] {
            assert_eq!(
                check(&EMPTY_BODY, &h, body, SK, late),
                Err(SignatureError::Expired(DATE.into()))
            );
        }
        for bad in [
            "2024-01-02T03:04:05Z",
            "20240102T030405",
            "20241302T030405Z",
        ] {
            let mut h = h.clone();
            h.insert("x-sdk-date", HeaderValue::from_static(bad));
            assert_eq!(
                check(&EMPTY_BODY, &h, body, SK, at),
                Err(SignatureError::BadDate)
            );
        }
    }

    #[test]
    fn missing_and_unsigned_headers_are_refused() {
        let v = &EMPTY_BODY;
        for name in ["x-sdk-date", "host", "x-project-id"] {
            let mut h = headers_of(v);
            h.remove(name);
            assert_eq!(
                check(v, &h, b"", SK, signed_at()),
                Err(SignatureError::MissingHeader(name.into()))
            );
        }
        let mut h = headers_of(v);
        h.append(
            HeaderName::from_static("host"),
            HeaderValue::from_static(HOST),
        );
        assert_eq!(
            check(v, &h, b"", SK, signed_at()),
            Err(SignatureError::RepeatedHeader("host".into()))
        );
        for signed in ["host;x-project-id", "x-project-id;x-sdk-date"] {
            let auth = parse_authorization(&format!(
                "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={signed}, Signature={}",
                v.signature
            ))
            .unwrap();
            let req = SignedRequest {
                method: v.method,
                path: v.path,
                query: v.query,
                headers: &headers_of(v),
                body: b"",
            };
            assert!(matches!(
                verify(&req, &auth, SK, signed_at()),
                Err(SignatureError::UnsignedHeader(_))
            ));
        }
    }

    #[test]
    fn authorization_headers_parse_strictly() {
        let good = format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;x-sdk-date, Signature={}",
            QUERY.signature
        );
        assert!(is_signature(&good));
        let a = parse_authorization(&good).unwrap();
        assert_eq!(a.access_key, AK);
        assert_eq!(a.signed_headers, vec!["host", "x-sdk-date"]);
        assert!(!is_signature("Bearer x"));
        assert!(is_signature("SDK-HMAC-SM3 Access=x"));
        let sig = QUERY.signature;
        for bad in [
            format!("SDK-HMAC-SM3 Access={AK}, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=Host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;;date, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature=abc"),
            format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature={sig}, Access=X"),
            format!("SDK-HMAC-SHA256 Access={AK} SignedHeaders=host Signature={sig}"),
            format!(
                "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host, Signature={}",
                sig.to_uppercase()
            ),
        ] {
            assert!(
                matches!(
                    parse_authorization(&bad),
                    Err(SignatureError::MalformedAuthorization(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn x_project_id_must_name_the_url_project() {
        let mut h = HeaderMap::new();
        assert!(project_header_matches(&h, PROJECT));
        h.insert("x-project-id", HeaderValue::from_static(PROJECT));
        assert!(project_header_matches(&h, PROJECT));
        assert!(!project_header_matches(&h, "another"));
        h.append("x-project-id", HeaderValue::from_static(PROJECT));
        assert!(!project_header_matches(&h, PROJECT));
    }
}
