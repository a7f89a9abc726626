//! Strict request-body parsing shared by the API families: JSON objects with
//! typed accessors whose errors read like OpenStack's validation messages.

use axum::body::Bytes;
use platter_model::Metadata;
use serde_json::{Map, Value};

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

/// Validates a metadata object.
pub fn metadata(field: &str, v: &Value) -> InputResult<Metadata> {
    let Value::Object(map) = v else {
        return Err(type_error(field, v, "object"));
    };
    let mut out = Metadata::new();
    for (k, val) in map {
        if k.is_empty() || k.chars().count() > 255 {
            return Err(InputError(format!(
                "Invalid input for field/attribute {field}. Metadata keys must be 1 to 255 characters, got {}.",
                show(&Value::String(k.clone()))
            )));
        }
        match val {
            Value::String(s) if s.chars().count() <= 255 => {
                out.insert(k.clone(), s.clone());
            }
            Value::String(_) => {
                return Err(InputError(format!(
                    "Invalid input for field/attribute {field}. The value of metadata key '{k}' is longer than 255 characters."
                )))
            }
            other => return Err(type_error(&format!("{field}.{k}"), other, "string")),
        }
    }
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
    }
}
