//! OpenAPI 3.0.3 documents, one per API family, generated from the family's
//! route table (the entries [`crate::routes::Routes::add`] records): every
//! path and method the family serves, its path parameters, whether it needs
//! credentials (a route whose actions are all [`Access::Public`] does not),
//! the actions its gate checks (`x-platter-actions`), and the family's
//! error body for 4XX and 5XX answers, as precise as the family's error
//! type writes it.
//!
//! Response bodies of successful calls are built with `json!` and have no
//! types to describe: a success is documented as `default` with no schema.
//! Request bodies are described by media type only (a JSON object, a form,
//! an image's bytes, Glance's JSON patch).
//!
//! The documents are checked in under `docs/openapi/`; `tests/openapi.rs`
//! fails when they drift from the code (`PLATTER_OPENAPI_WRITE=1` rewrites
//! them).

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use platter_model::{Access, Action};
use serde_json::{json, Map, Value};

use crate::routes::{Gate, RouteEntry};
use crate::{ApiState, Listener, FAMILIES};

/// The OpenAPI version the documents follow.
pub const OPENAPI_VERSION: &str = "3.0.3";

/// The families a document is generated for, in [`FAMILIES`] order.
pub fn families() -> Vec<&'static str> {
    FAMILIES.iter().map(|f| f.name).collect()
}

/// The document of `family`, or `None` for a family this module does not
/// know the error body and credentials of (a new family must add them to
/// [`style`]).
pub fn document(family: &str, state: ApiState) -> Option<Value> {
    let def = FAMILIES.iter().find(|f| f.name == family)?;
    let style = style(family)?;
    let (_, entries) = (def.build)(state);
    Some(sorted(render(family, def.listener, &style, &entries)))
}

/// `v` with every object's keys in order, whatever order `serde_json`'s
/// maps keep (its `preserve_order` feature keeps insertion order).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let map: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(map.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Every family's document, in [`FAMILIES`] order.
pub fn documents(state: ApiState) -> Vec<(&'static str, Option<Value>)> {
    FAMILIES
        .iter()
        .map(|f| (f.name, document(f.name, state.clone())))
        .collect()
}

/// How a family writes its errors.
enum ErrorBody {
    /// Keystone: `{"error": {"code": N, "message", "title"}}`.
    Keystone,
    /// Cinder and Nova: `{"<fault>": {"code": N, "message"}}`, the fault
    /// named after the status by `name`; Cinder's 413 adds `retryAfter`.
    Fault {
        name: fn(StatusCode) -> &'static str,
        retry_after: bool,
    },
    /// EVS and ECS: `{"error": {"code": "EVS.1234", "message"}}`, the
    /// codes matching `pattern`.
    Coded { pattern: &'static str },
    /// Glance: HTML, or what `Accept` asks for: a flat JSON
    /// `{"message", "code": "404 Not Found", "title"}`, or plain text.
    Glance,
    /// htaiyun's envelope: `{"status": N, "message": "volumes.error.<key>",
    /// "description"}`.
    Envelope,
}

/// How a family's callers authenticate.
enum Credentials {
    /// `X-Auth-Token` only (Keystone validates its own tokens).
    Token,
    /// `X-Auth-Token`, or a Huawei AK/SK signature in `Authorization`.
    TokenOrSignature,
    /// htaiyun's session (`IMR-SESSION-TOKEN`, `IMR-SESSION-SECRET`) and
    /// application token (`HT-ACCESS-TOKEN`).
    Session,
}

struct Style {
    title: &'static str,
    description: &'static str,
    errors: ErrorBody,
    credentials: Credentials,
}

fn style(family: &str) -> Option<Style> {
    let s = match family {
        "identity" => Style {
            title: "Platter identity (Keystone v3, Huawei IAM)",
            description: "Keystone v3 tokens, projects, users, groups, roles and assignments, with Huawei IAM's access keys, custom policies and enterprise-project grants.",
            errors: ErrorBody::Keystone,
            credentials: Credentials::Token,
        },
        "cinder" => Style {
            title: "Platter block storage (Cinder v2/v3)",
            description: "The OpenStack block-storage API, v3 (with microversions, `OpenStack-API-Version: volume 3.x`) and v2, under the caller's project.",
            errors: ErrorBody::Fault {
                name: crate::cinder::fault_name,
                retry_after: true,
            },
            credentials: Credentials::TokenOrSignature,
        },
        "evs" => Style {
            title: "Platter EVS (Huawei Elastic Volume Service)",
            description: "Huawei Cloud's EVS API on the block-storage port: `cloudvolumes`, snapshots, tags, jobs.",
            errors: ErrorBody::Coded {
                pattern: "^(EVS|Common)\\.[0-9]{4}$",
            },
            credentials: Credentials::TokenOrSignature,
        },
        "glance" => Style {
            title: "Platter image service (Glance v2)",
            description: "The OpenStack image API v2. Errors are HTML unless `Accept` asks for JSON or plain text.",
            errors: ErrorBody::Glance,
            credentials: Credentials::TokenOrSignature,
        },
        "htaiyun" => Style {
            title: "Platter htaiyun volume API",
            description: "The htaiyun platform's volume API on the block-storage port, answering in its `{status, message, result}` envelope. Parameters come from the query string or the body, JSON or form-encoded.",
            errors: ErrorBody::Envelope,
            credentials: Credentials::Session,
        },
        "nova" => Style {
            title: "Platter compute (Nova v2.1)",
            description: "The OpenStack compute API v2.1 (and v2) under the caller's project, with microversions up to 2.60.",
            errors: ErrorBody::Fault {
                name: crate::nova::fault_name,
                retry_after: false,
            },
            credentials: Credentials::TokenOrSignature,
        },
        "ecs" => Style {
            title: "Platter ECS (Huawei Elastic Cloud Server)",
            description: "Huawei Cloud's ECS API on the compute port: cloud servers, their volumes, jobs.",
            errors: ErrorBody::Coded {
                pattern: "^(Ecs|Common|Pdp)\\.[0-9]{4}$",
            },
            credentials: Credentials::TokenOrSignature,
        },
        _ => return None,
    };
    Some(s)
}

fn default_port(listener: Listener) -> u16 {
    match listener {
        Listener::Identity => 5000,
        Listener::BlockStorage => 8776,
        Listener::Image => 9292,
        Listener::Compute => 8774,
    }
}

/// A path template's parameters: `{name}`, and `{*name}` (axum's wildcard,
/// written `{name}` in the document).
fn path_parameters(path: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 1..start + len];
        match inner.strip_prefix('*') {
            Some(name) => out.push((name.to_string(), true)),
            None => out.push((inner.to_string(), false)),
        }
        rest = &rest[start + len + 1..];
    }
    out
}

/// The path as OpenAPI writes it (`{*rest}` → `{rest}`).
fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// A stable operation id: the method and the path's segments
/// (`get_v3_project_id_volumes_volume_id`); a trailing `/` is `_slash`, the
/// root `root`.
fn operation_id(method: &Method, path: &str) -> String {
    let mut id = method.as_str().to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        id.push_str("_root");
    }
    for segment in segments {
        id.push('_');
        for c in segment.chars() {
            match c {
                '{' | '}' | '*' => {}
                c if c.is_ascii_alphanumeric() || c == '_' => id.push(c),
                _ => id.push('_'),
            }
        }
    }
    if path.len() > 1 && path.ends_with('/') {
        id.push_str("_slash");
    }
    id
}

/// The route's tag: its first literal segment that is not a version
/// (`v3`, `v2.1`, `v3.0`) nor htaiyun's `services/openstack` prefix;
/// `versions` for the version documents.
fn tag(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .filter(|s| !is_version(s))
        .find(|s| !matches!(*s, "services" | "openstack"))
        .unwrap_or("versions")
        .to_string()
}

fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

fn is_public(gate: &Gate) -> bool {
    match gate {
        Gate::All(actions) => actions.iter().all(|a| a.access() == Access::Public),
        Gate::OneOf(_) => false,
    }
}

fn security(style: &Style, entry: &RouteEntry) -> Value {
    if is_public(&entry.gate) {
        return json!([]);
    }
    match style.credentials {
        Credentials::Token => json!([{ "token": [] }]),
        Credentials::TokenOrSignature => json!([{ "token": [] }, { "signature": [] }]),
        // The application-token endpoint is where a session gets one.
        Credentials::Session
            if entry.gate.actions() == [Action::HtaiyunAppTokenIssue].as_slice() =>
        {
            json!([{ "sessionToken": [], "sessionSecret": [] }])
        }
        Credentials::Session => {
            json!([{ "sessionToken": [], "sessionSecret": [], "appToken": [] }])
        }
    }
}

fn security_schemes(style: &Style) -> Value {
    let header = |name: &str, description: &str| json!({ "type": "apiKey", "in": "header", "name": name, "description": description });
    let token = header(
        "X-Auth-Token",
        "A Keystone token (`POST /v3/auth/tokens` on the identity port).",
    );
    match style.credentials {
        Credentials::Token => json!({ "token": token }),
        Credentials::TokenOrSignature => json!({
            "token": token,
            "signature": header(
                "Authorization",
                "A Huawei AK/SK signature (`SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`) with `X-Sdk-Date`.",
            ),
        }),
        Credentials::Session => json!({
            "sessionToken": header("IMR-SESSION-TOKEN", "A session's token (`POST /services/openstack/session`)."),
            "sessionSecret": header("IMR-SESSION-SECRET", "The session's secret."),
            "appToken": header("HT-ACCESS-TOKEN", "The project's application token (`POST /services/openstack/apptoken`)."),
        }),
    }
}

/// The request body a route takes, by its method and actions.
fn request_body(style: &Style, entry: &RouteEntry) -> Option<Value> {
    let object = json!({ "schema": { "type": "object" } });
    let actions = entry.gate.actions();
    if actions.contains(&Action::ImageUpload) {
        return Some(json!({
            "required": true,
            "description": "The image's bytes.",
            "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } },
        }));
    }
    if entry.method == Method::PATCH && actions.contains(&Action::ImageUpdate) {
        return Some(json!({
            "required": true,
            "description": "A JSON patch of the image's properties.",
            "content": {
                "application/openstack-images-v2.1-json-patch": {
                    "schema": { "type": "array", "items": { "type": "object" } }
                }
            },
        }));
    }
    if ![Method::POST, Method::PUT, Method::PATCH].contains(&entry.method) {
        return None;
    }
    let content = match style.errors {
        ErrorBody::Envelope => json!({
            "application/json": object,
            "application/x-www-form-urlencoded": object,
        }),
        _ => json!({ "application/json": object }),
    };
    Some(json!({
        "required": false,
        "description": "The operation's JSON object (its fields are not described here).",
        "content": content,
    }))
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": properties,
    })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn status_range(server: bool) -> (u16, u16) {
    if server {
        (500, 599)
    } else {
        (400, 499)
    }
}

/// An integer `code` for the statuses of a range.
fn code_in(server: bool) -> Value {
    let (lo, hi) = status_range(server);
    json!({ "type": "integer", "minimum": lo, "maximum": hi })
}

/// A Cinder or Nova fault body for `status` (`Some`), or for any status of
/// the range that has no response of its own (`None`).
fn fault(
    name: fn(StatusCode) -> &'static str,
    retry_after: bool,
    status: Option<StatusCode>,
    server: bool,
) -> Value {
    let (key, code, retry) = match status {
        Some(s) => (
            name(s),
            json!({ "type": "integer", "enum": [s.as_u16()] }),
            retry_after && s == StatusCode::PAYLOAD_TOO_LARGE,
        ),
        None => (name(range_sample(server)), code_in(server), false),
    };
    let body = if retry {
        object(
            &["code", "message", "retryAfter"],
            json!({ "code": code, "message": { "type": "string" }, "retryAfter": { "type": "string" } }),
        )
    } else {
        object(
            &["code", "message"],
            json!({ "code": code, "message": { "type": "string" } }),
        )
    };
    object(&[key], json!({ key: body }))
}

/// A status of the range no fault table names (Cinder's and Nova's
/// `computeFault`).
fn range_sample(server: bool) -> StatusCode {
    let code = if server { 599 } else { 499 };
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The statuses of a range a fault table names other than the range's
/// catch-all: each gets a response of its own.
fn named_statuses(name: fn(StatusCode) -> &'static str, server: bool) -> Vec<StatusCode> {
    let (lo, hi) = status_range(server);
    let other = name(range_sample(server));
    (lo..=hi)
        .filter_map(|c| StatusCode::from_u16(c).ok())
        .filter(|s| s.canonical_reason().is_some() && name(*s) != other)
        .collect()
}

/// The error response of the range (`server`: 5XX, else 4XX).
fn range_error(errors: &ErrorBody, server: bool) -> Value {
    let range = if server { "5XX" } else { "4XX" };
    let description = format!("An error ({range}) in the family's format.");
    let content = match errors {
        ErrorBody::Keystone => json_content(object(
            &["error"],
            json!({ "error": object(
                &["code", "message", "title"],
                json!({ "code": code_in(server), "message": { "type": "string" }, "title": { "type": "string" } }),
            ) }),
        )),
        ErrorBody::Fault { name, retry_after } => {
            json_content(fault(*name, *retry_after, None, server))
        }
        ErrorBody::Coded { pattern } => json_content(object(
            &["error"],
            json!({ "error": object(
                &["code", "message"],
                json!({ "code": { "type": "string", "pattern": pattern }, "message": { "type": "string" } }),
            ) }),
        )),
        ErrorBody::Glance => {
            let first = if server { "5" } else { "4" };
            json!({
                "text/html": { "schema": { "type": "string" } },
                "application/json": { "schema": object(
                    &["code", "message", "title"],
                    json!({
                        "code": { "type": "string", "pattern": format!("^{first}[0-9]{{2}} ") },
                        "message": { "type": "string" },
                        "title": { "type": "string" },
                    }),
                ) },
                "text/plain": { "schema": { "type": "string" } },
            })
        }
        ErrorBody::Envelope => json_content(object(
            &["status", "message", "description"],
            json!({
                "status": code_in(server),
                "message": { "type": "string", "pattern": "^volumes\\.error\\." },
                "description": { "type": "string" },
            }),
        )),
    };
    json!({ "description": description, "content": content })
}

/// `components.responses`, and the error responses every operation refers
/// to (status or range → component name).
fn error_responses(errors: &ErrorBody) -> (Map<String, Value>, BTreeMap<String, String>) {
    let mut components = Map::new();
    let mut refs = BTreeMap::new();
    for server in [false, true] {
        let (range, component) = if server {
            ("5XX", "ServerError")
        } else {
            ("4XX", "ClientError")
        };
        components.insert(component.into(), range_error(errors, server));
        refs.insert(range.to_string(), component.to_string());
        if let ErrorBody::Fault { name, retry_after } = errors {
            for status in named_statuses(*name, server) {
                let component = format!("Error{}", status.as_u16());
                components.insert(
                    component.clone(),
                    json!({
                        "description": format!("{status} in the family's format."),
                        "content": json_content(fault(*name, *retry_after, Some(status), server)),
                    }),
                );
                refs.insert(status.as_u16().to_string(), component);
            }
        }
    }
    (components, refs)
}

fn operation(style: &Style, entry: &RouteEntry, error_refs: &BTreeMap<String, String>) -> Value {
    let actions = entry.gate.actions();
    let names: Vec<String> = actions.iter().map(|a| a.variant_name()).collect();
    let iam: Vec<&str> = actions.iter().filter_map(|a| a.iam_action()).collect();
    let policies: Vec<&str> = actions.iter().map(|a| a.policy()).collect();
    let summary = match entry.gate {
        Gate::All(_) => names.join(" + "),
        Gate::OneOf(_) => format!("One of: {} (chosen by the body)", names.join(", ")),
    };
    let mut responses = Map::new();
    if entry.method == Method::HEAD {
        responses.insert(
            "default".into(),
            json!({ "$ref": "#/components/responses/HeadAnswer" }),
        );
    } else {
        responses.insert(
            "default".into(),
            json!({ "$ref": "#/components/responses/Success" }),
        );
        for (status, component) in error_refs {
            responses.insert(
                status.clone(),
                json!({ "$ref": format!("#/components/responses/{component}") }),
            );
        }
    }
    let mut op = json!({
        "operationId": operation_id(&entry.method, &entry.path),
        "summary": summary,
        "tags": [tag(&entry.path)],
        "security": security(style, entry),
        "responses": responses,
        "x-platter-gate": match entry.gate { Gate::All(_) => "all", Gate::OneOf(_) => "one-of" },
        "x-platter-actions": names,
        "x-platter-policies": policies,
        "x-platter-iam-actions": iam,
        "x-platter-enterprise-project": entry.enterprise,
    });
    if let Some(body) = request_body(style, entry) {
        op["requestBody"] = body;
    }
    op
}

/// A path's parameters (name, wildcard) and its operations by method.
struct PathItem {
    parameters: Vec<(String, bool)>,
    methods: BTreeMap<String, Value>,
}

fn render(family: &str, listener: Listener, style: &Style, entries: &[RouteEntry]) -> Value {
    let (mut components, error_refs) = error_responses(&style.errors);
    components.insert(
        "Success".into(),
        json!({ "description": "Success: a 2XX (the version documents answer 300 Multiple Choices). The body is the API's own JSON, not described here." }),
    );
    components.insert(
        "HeadAnswer".into(),
        json!({ "description": "The status tells (2XX: yes, 4XX: no, or not allowed); a HEAD answer has no body." }),
    );
    // path → method → operation.
    let mut paths: BTreeMap<String, PathItem> = BTreeMap::new();
    for entry in entries {
        let item = paths
            .entry(openapi_path(&entry.path))
            .or_insert_with(|| PathItem {
                parameters: path_parameters(&entry.path),
                methods: BTreeMap::new(),
            });
        item.methods.insert(
            entry.method.as_str().to_ascii_lowercase(),
            operation(style, entry, &error_refs),
        );
    }
    let mut out = Map::new();
    for (
        path,
        PathItem {
            parameters: params,
            methods,
        },
    ) in paths
    {
        let mut item = Map::new();
        if !params.is_empty() {
            let params: Vec<Value> = params
                .into_iter()
                .map(|(name, wildcard)| {
                    let mut p = json!({
                        "name": name,
                        "in": "path",
                        "required": true,
                        "schema": { "type": "string", "minLength": 1 },
                    });
                    if wildcard {
                        p["description"] = json!("The rest of the path (one or more segments).");
                    }
                    p
                })
                .collect();
            item.insert("parameters".into(), Value::Array(params));
        }
        for (method, op) in methods {
            item.insert(method, op);
        }
        out.insert(path, Value::Object(item));
    }
    let port = default_port(listener);
    let tags: std::collections::BTreeSet<String> = entries.iter().map(|e| tag(&e.path)).collect();
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": style.title,
            "description": format!(
                "{} Generated from the `{family}` family's route table (crates/api/src/openapi.rs); do not edit by hand.",
                style.description
            ),
            "version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{
            "url": "http://{host}:{port}",
            "description": format!("The `{family}` family's listener."),
            "variables": {
                "host": { "default": "127.0.0.1" },
                "port": { "default": port.to_string() },
            },
        }],
        "tags": tags.into_iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
        "paths": out,
        "components": {
            "securitySchemes": security_schemes(style),
            "responses": components,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::{IntoResponse, Response};

    use crate::cinder::CinderError;
    use crate::ecs::EcsError;
    use crate::evs::EvsError;
    use crate::identity::KeystoneError;
    use crate::nova::NovaError;

    /// `v` against the subset of JSON Schema the error schemas use
    /// (`pattern` is left to Schemathesis).
    fn conforms(schema: &Value, v: &Value, at: &str) -> Result<(), String> {
        let type_ok = match schema["type"].as_str() {
            Some("object") => v.is_object(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            _ => true,
        };
        if !type_ok {
            return Err(format!("{at}: {v} is not {}", schema["type"]));
        }
        if let Some(values) = schema["enum"].as_array() {
            if !values.contains(v) {
                return Err(format!("{at}: {v} not in {values:?}"));
            }
        }
        if let (Some(min), Some(n)) = (schema["minimum"].as_i64(), v.as_i64()) {
            if n < min {
                return Err(format!("{at}: {n} < {min}"));
            }
        }
        if let (Some(max), Some(n)) = (schema["maximum"].as_i64(), v.as_i64()) {
            if n > max {
                return Err(format!("{at}: {n} > {max}"));
            }
        }
        if let Some(obj) = v.as_object() {
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap_or_default();
                if !obj.contains_key(key) {
                    return Err(format!("{at}: `{key}` missing"));
                }
            }
            for (key, value) in obj {
                match schema["properties"].get(key) {
                    Some(s) => conforms(s, value, &format!("{at}/{key}"))?,
                    None if schema["additionalProperties"] == json!(false) => {
                        return Err(format!("{at}: `{key}` not allowed"));
                    }
                    None => {}
                }
            }
        }
        Ok(())
    }

    async fn body(resp: Response) -> Value {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Every JSON family's error type, for every status, and the errors it
    /// writes for the framework, matches the schema its document gives.
    #[tokio::test]
    async fn error_schemas_describe_what_the_families_write() {
        let mut checked = 0;
        for code in 400..=599 {
            let Ok(s) = StatusCode::from_u16(code) else {
                continue;
            };
            if s.canonical_reason().is_none() {
                continue;
            }
            let written: Vec<(&str, Response)> = vec![
                ("identity", KeystoneError::new(s, "m").into_response()),
                ("cinder", CinderError::new(s, "m").into_response()),
                ("nova", NovaError::new(s, "m").into_response()),
                ("nova", NovaError::framework(s, "m".into()).into_response()),
                ("evs", EvsError::new(s, "EVS.1031", "m").into_response()),
                ("evs", EvsError::framework(s, "m".into()).into_response()),
                ("ecs", EcsError::new(s, "Ecs.0005", "m").into_response()),
                ("ecs", EcsError::framework(s, "m".into()).into_response()),
            ];
            for (family, resp) in written {
                assert_eq!(resp.status(), s, "{family}");
                let Some(style) = style(family) else {
                    panic!("{family} has no style")
                };
                let (components, refs) = error_responses(&style.errors);
                let range = if code >= 500 { "5XX" } else { "4XX" };
                let component = refs
                    .get(&code.to_string())
                    .or_else(|| refs.get(range))
                    .unwrap();
                let schema = &components[component]["content"]["application/json"]["schema"];
                let v = body(resp).await;
                if let Err(e) = conforms(schema, &v, "") {
                    panic!("{family} {code}: {e}\n{v}\n{schema:#}");
                }
                checked += 1;
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn operation_ids_and_tags() {
        assert_eq!(operation_id(&Method::GET, "/"), "get_root");
        assert_eq!(operation_id(&Method::GET, "/v3"), "get_v3");
        assert_eq!(operation_id(&Method::GET, "/v3/"), "get_v3_slash");
        assert_eq!(
            operation_id(&Method::DELETE, "/v2.1/{project_id}/os-volumes/{id}"),
            "delete_v2_1_project_id_os_volumes_id"
        );
        assert_eq!(tag("/v3/{project_id}/volumes/{volume_id}"), "volumes");
        assert_eq!(tag("/v3.0/OS-CREDENTIAL/credentials"), "OS-CREDENTIAL");
        assert_eq!(tag("/services/openstack/volume/list"), "volume");
        assert_eq!(tag("/v2/"), "versions");
        assert_eq!(
            path_parameters("/a/{x}/b/{*rest}"),
            vec![("x".to_string(), false), ("rest".to_string(), true)]
        );
        assert_eq!(openapi_path("/a/{*rest}"), "/a/{rest}");
    }

    #[test]
    fn faults_have_their_own_responses() {
        let (components, refs) = error_responses(&ErrorBody::Fault {
            name: crate::cinder::fault_name,
            retry_after: true,
        });
        assert_eq!(refs.get("404").map(String::as_str), Some("Error404"));
        assert_eq!(refs.get("4XX").map(String::as_str), Some("ClientError"));
        let schema = &components["Error413"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["properties"]["overLimit"]["required"],
            json!(["code", "message", "retryAfter"])
        );
        let other = &components["ClientError"]["content"]["application/json"]["schema"];
        assert_eq!(other["required"], json!(["computeFault"]));
    }
}
