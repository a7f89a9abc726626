//! A test-only Huawei `SDK-HMAC-SHA256` signer, written from the SDK's
//! algorithm (not from the server's verifier), so the integration tests
//! sign requests as a Huawei SDK client would.

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::OffsetDateTime;

use super::Reply;

pub struct Keys {
    pub access: String,
    pub secret: String,
}

/// `X-Sdk-Date` for a time.
pub fn sdk_date(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap()
}

fn quote(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Returns the `Authorization` value for a request; `headers` are the
/// headers to sign (names in any case), including Host and X-Sdk-Date.
pub fn authorization(
    keys: &Keys,
    method: &str,
    url: &reqwest::Url,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let mut uri = url
        .path()
        .split('/')
        .map(|seg| quote(&percent_decode(seg)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    params.sort();
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.trim().to_string()))
        .collect();
    signed.sort();
    let names = signed
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let payload = hex::encode(Sha256::digest(body));
    let canonical = format!("{method}\n{uri}\n{query}\n{canonical_headers}\n{names}\n{payload}");
    let date = &signed
        .iter()
        .find(|(k, _)| k == "x-sdk-date")
        .expect("X-Sdk-Date is signed")
        .1;
    let to_sign = format!(
        "SDK-HMAC-SHA256\n{date}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(keys.secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    format!(
        "SDK-HMAC-SHA256 Access={}, SignedHeaders={names}, Signature={signature}",
        keys.access
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How to spoil a signed request.
#[derive(Debug, Clone, Default)]
pub struct Tamper {
    /// Send this body instead of the signed one.
    pub body: Option<String>,
    /// Sign at this time instead of now.
    pub at: Option<OffsetDateTime>,
    /// Send this `X-Project-Id` (signed) instead of none.
    pub project_header: Option<String>,
}

/// Sends a request signed with `keys` (as the Huawei SDK does: Host,
/// X-Sdk-Date, Content-Type when there is a body, X-Project-Id if asked).
pub async fn send(
    http: &reqwest::Client,
    keys: &Keys,
    method: Method,
    url: &str,
    body: Option<&str>,
    tamper: Tamper,
) -> Reply {
    let parsed = reqwest::Url::parse(url).unwrap();
    let host = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port_or_known_default().unwrap()
    );
    let mut headers = vec![
        ("Host".to_string(), host),
        (
            "X-Sdk-Date".to_string(),
            sdk_date(tamper.at.unwrap_or_else(OffsetDateTime::now_utc)),
        ),
    ];
    if body.is_some() {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    if let Some(p) = &tamper.project_header {
        headers.push(("X-Project-Id".into(), p.clone()));
    }
    let signed_body = body.unwrap_or_default();
    let auth = authorization(
        keys,
        method.as_str(),
        &parsed,
        &headers,
        signed_body.as_bytes(),
    );
    let mut req = http.request(method, parsed);
    for (k, v) in &headers {
        if k != "Host" {
            req = req.header(k, v);
        }
    }
    req = req.header("Authorization", auth);
    if let Some(b) = tamper.body.as_deref().or(body) {
        req = req.body(b.to_string());
    }
    let resp = req.send().await.expect("request");
    let status: StatusCode = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Reply {
        status,
        headers,
        body,
    }
}
