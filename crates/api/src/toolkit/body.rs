//! Strict request-body parsing shared by the API families: the media type a
//! JSON body must declare, JSON objects with typed accessors whose errors
//! read like OpenStack's validation messages, and metadata.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use platter_model::{check_metadata, Metadata};
use serde_json::{Map, Value};

use super::normalize::RenderError;

/// How a family answers a request body that is not declared JSON.
///
/// A body declared `application/json` or `application/*+json` (parameters
/// such as `; charset=UTF-8` aside), or declared nothing (clients that send
/// none are read as JSON, as Keystone and Nova read them), is read as JSON;
/// so are the family's `also` types. Any other declared type is refused
/// with `status` and `message`, in the family's format, before the handler
/// runs. A request without a body is not judged.
#[derive(Clone, Copy)]
pub struct JsonBodies {
    pub status: StatusCode,
    /// Types read as JSON besides the JSON ones (Nova: `text/plain`,
    /// eventlet's default, which Nova takes for no type).
    pub also: &'static [&'static str],
    /// The refusal's message, given the declared type.
    pub message: fn(&str) -> String,
    pub render: RenderError,
}

/// Whether a request carries a body: a non-zero `Content-Length`, or a
/// chunked one.
fn has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// The media type a request declares for its body when it is not one read
/// as JSON; `None` when the body may be read.
pub fn refused_media_type(headers: &HeaderMap, also: &[&str]) -> Option<String> {
    if !has_body(headers) {
        return None;
    }
    let raw = headers.get(header::CONTENT_TYPE)?;
    let Ok(text) = raw.to_str() else {
        return Some(String::from_utf8_lossy(raw.as_bytes()).into_owned());
    };
    let media = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = media.is_empty()
        || media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"))
        || also.contains(&media.as_str());
    (!json).then_some(media)
}

/// The middleware enforcing a family's [`JsonBodies`] rule.
pub async fn json_bodies(rule: JsonBodies, req: Request, next: Next) -> Response {
    match refused_media_type(req.headers(), rule.also) {
        Some(media) => (rule.render)(rule.status, (rule.message)(&media)),
        None => next.run(req).await,
    }
}

/// Why a body was refused; each family renders it as its own 400.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError(pub String);

impl InputError {
    pub fn new(msg: impl Into<String>) -> Self {
        InputError(msg.into())
    }
}

pub type InputResult<T> = Result<T, InputError>;

/// Parses a JSON body that must be an object.
pub fn json_object(bytes: &Bytes) -> InputResult<Map<String, Value>> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::new(
            "Missing request body: a JSON object is required.",
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(InputError::new(
            "Malformed request body: expected a JSON object.",
        )),
        Err(e) => Err(InputError::new(format!("Malformed request body: {e}."))),
    }
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 64 {
        format!("{}...", &s[..s.floor_char_boundary(64)])
    } else {
        s
    }
}

fn type_error(field: &str, v: &Value, expected: &str) -> InputError {
    InputError(format!(
        "Invalid input for field/attribute {field}. Value: {}. {} is not of type '{expected}'",
        show(v),
        show(v)
    ))
}

/// A JSON object being read field by field.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    name: &'a str,
}

impl<'a> Obj<'a> {
    pub fn new(map: &'a Map<String, Value>, name: &'a str) -> Self {
        Obj { map, name }
    }

    /// The object under `key` of a top-level body, required.
    pub fn child(map: &'a Map<String, Value>, key: &'a str) -> InputResult<Obj<'a>> {
        match map.get(key) {
            Some(Value::Object(inner)) => Ok(Obj {
                map: inner,
                name: key,
            }),
            Some(v) => Err(type_error(key, v, "object")),
            None => Err(InputError(format!("'{key}' is a required property"))),
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &'a String> {
        self.map.keys()
    }

    /// Refuses members other than `allowed`.
    pub fn deny_unknown(&self, allowed: &[&str]) -> InputResult<()> {
        let mut unknown: Vec<&str> = self
            .map
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        Err(InputError(format!(
            "Additional properties are not allowed ({} {} unexpected) in '{}'",
            unknown
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", "),
            if unknown.len() == 1 { "was" } else { "were" },
            self.name
        )))
    }

    pub fn require(&self, key: &str) -> InputResult<&'a Value> {
        match self.map.get(key) {
            Some(v) => Ok(v),
            None => Err(InputError(format!("'{key}' is a required property"))),
        }
    }

    /// A string of at most `max` characters; null and absent are `None`.
    pub fn opt_str(&self, key: &str, max: usize) -> InputResult<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                if s.chars().count() > max {
                    Err(InputError(format!(
                        "Invalid input for field/attribute {key}. Value: {}. '{}' is too long (at most {max} characters)",
                        show(&Value::String(s.clone())),
                        s
                    )))
                } else {
                    Ok(Some(s.clone()))
                }
            }
            Some(v) => Err(type_error(key, v, "string")),
        }
    }

    /// Present-and-null is `Some(None)`: the field is being cleared.
    pub fn opt_nullable_str(&self, key: &str, max: usize) -> InputResult<Option<Option<String>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(_) => Ok(Some(self.opt_str(key, max)?)),
        }
    }

    pub fn req_str(&self, key: &str, max: usize) -> InputResult<String> {
        self.require(key)?;
        self.opt_str(key, max)?
            .ok_or_else(|| InputError(format!("Invalid input for field/attribute {key}. Value: None. None is not of type 'string'")))
    }

    /// An integer, also accepted as a string of digits (as Cinder does);
    /// null and absent are `None`.
    pub fn opt_int(&self, key: &str) -> InputResult<Option<i64>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| type_error(key, &Value::Number(n.clone()), "integer")),
            Some(Value::String(s)) => {
                let t = s.trim();
                let digits = t.strip_prefix('-').unwrap_or(t);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    t.parse::<i64>()
                        .map(Some)
                        .map_err(|_| type_error(key, &Value::String(s.clone()), "integer"))
                } else {
                    Err(type_error(key, &Value::String(s.clone()), "integer"))
                }
            }
            Some(v) => Err(type_error(key, v, "integer")),
        }
    }

    /// A boolean, also accepted in the string spellings OpenStack allows.
    pub fn opt_bool(&self, key: &str) -> InputResult<Option<bool>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_bool(v)
                .map(Some)
                .ok_or_else(|| type_error(key, v, "boolean")),
        }
    }

    /// A map of string keys (1..=255 characters) to string values (≤255).
    pub fn opt_metadata(&self, key: &str) -> InputResult<Option<Metadata>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => metadata(key, v).map(Some),
        }
    }
}

pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool_str(s),
        _ => None,
    }
}

pub fn parse_bool_str(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "y" | "t" => Some(true),
        "false" | "0" | "no" | "off" | "n" | "f" => Some(false),
        _ => None,
    }
}

/// Validates a metadata object: string values, and the metadata rule
/// (`platter_model::check_metadata`, which the service applies too).
pub fn metadata(field: &str, v: &Value) -> InputResult<Metadata> {
    let Value::Object(map) = v else {
        return Err(type_error(field, v, "object"));
    };
    let mut out = Metadata::new();
    for (k, val) in map {
        match val {
            Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            other => return Err(type_error(&format!("{field}.{k}"), other, "string")),
        }
    }
    check_metadata(&out)
        .map_err(|rule| InputError(format!("Invalid input for field/attribute {field}. {rule}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn bodies_must_be_json_objects() {
        assert!(json_object(&Bytes::from_static(b"")).is_err());
        assert!(json_object(&Bytes::from_static(b"  \n")).is_err());
        assert!(json_object(&Bytes::from_static(b"{bad")).is_err());
        assert!(json_object(&Bytes::from_static(b"[1]")).is_err());
        assert!(json_object(&Bytes::from_static(b"{\"a\": 1}")).is_ok());
    }

    #[test]
    fn typed_accessors_accept_openstack_spellings_and_refuse_the_rest() {
        let m = obj(
            json!({"size": "10", "neg": "-1", "f": 1.5, "s": "x", "b": "True", "n": null, "long": "abcdef"}),
        );
        let o = Obj::new(&m, "volume");
        assert_eq!(o.opt_int("size").unwrap(), Some(10));
        assert_eq!(o.opt_int("neg").unwrap(), Some(-1));
        assert!(o.opt_int("f").is_err());
        assert!(o.opt_int("s").is_err());
        assert_eq!(o.opt_bool("b").unwrap(), Some(true));
        assert_eq!(o.opt_str("n", 10).unwrap(), None);
        assert_eq!(o.opt_nullable_str("n", 10).unwrap(), Some(None));
        assert!(o.opt_str("long", 3).is_err());
        assert!(o.deny_unknown(&["size"]).unwrap_err().0.contains("'b'"));
    }

    #[test]
    fn metadata_values_must_be_short_strings() {
        assert!(metadata("metadata", &json!({"a": "b"})).is_ok());
        assert!(metadata("metadata", &json!({"a": 1})).is_err());
        assert!(metadata("metadata", &json!({"": "b"})).is_err());
        assert!(metadata("metadata", &json!({"a": "x".repeat(256)})).is_err());
        assert!(metadata("metadata", &json!(["a"])).is_err());
        assert!(metadata("metadata", &json!({"k".repeat(256): "v"})).is_err());
        assert!(metadata("metadata", &json!({"k".repeat(255): "v".repeat(255)})).is_ok());
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, axum::http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn bodies_declared_json_or_nothing_are_read_and_others_refused() {
        let body = ("content-length", "2");
        for ok in [
            "application/json",
            "Application/JSON; charset=UTF-8",
            "application/vnd.openstack.volume+json",
            "",
        ] {
            assert_eq!(
                refused_media_type(&headers(&[body, ("content-type", ok)]), &[]),
                None,
                "{ok}"
            );
        }
        assert_eq!(refused_media_type(&headers(&[body]), &[]), None);
        assert_eq!(
            refused_media_type(&headers(&[body, ("content-type", "text/plain")]), &[]),
            Some("text/plain".to_string())
        );
        assert_eq!(
            refused_media_type(
                &headers(&[
                    ("transfer-encoding", "chunked"),
                    ("content-type", "application/xml")
                ]),
                &[]
            ),
            Some("application/xml".to_string())
        );
        assert_eq!(
            refused_media_type(
                &headers(&[body, ("content-type", "text/plain")]),
                &["text/plain"]
            ),
            None
        );
        // No body, no judgement.
        assert_eq!(
            refused_media_type(
                &headers(&[("content-length", "0"), ("content-type", "text/plain")]),
                &[]
            ),
            None
        );
        assert_eq!(
            refused_media_type(&headers(&[("content-type", "text/plain")]), &[]),
            None
        );
    }
}
