//! Volume tags (6.4): add, delete, show, the project summary, and the
//! query by tags.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use platter_model::{Action, Metadata, VolumeId};
use platter_service::{VolumeListRequest, MAX_TAGS};
use serde_json::{json, Value};

use super::params::volume_of;
use super::{views, Caller, EvsError, EvsResult};
use crate::toolkit::body::json_object;
use crate::toolkit::normalize::empty;
use crate::ApiState;

const MAX_KEY: usize = 36;
const MAX_VALUE: usize = 43;

fn cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

fn valid_key(k: &str) -> bool {
    let n = k.chars().count();
    (1..=MAX_KEY).contains(&n)
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || cjk(c))
}

fn valid_value(v: &str) -> bool {
    v.chars().count() <= MAX_VALUE
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || cjk(c))
}

fn invalid_tag(detail: impl std::fmt::Display) -> EvsError {
    EvsError::bad("EVS.1062", format!("invalid tag! {detail}"))
}

fn check(key: &str, value: &str) -> Result<(), EvsError> {
    if !valid_key(key) {
        return Err(invalid_tag(format!(
            "key '{key}': 1 to {MAX_KEY} characters of A-Z, a-z, 0-9, '_', '-' or CJK."
        )));
    }
    if !valid_value(value) {
        return Err(invalid_tag(format!(
            "value '{value}' of key '{key}': at most {MAX_VALUE} characters of A-Z, a-z, 0-9, '.', '_', '-' or CJK."
        )));
    }
    Ok(())
}

fn too_many(n: usize) -> EvsError {
    EvsError::bad(
        "EVS.1061",
        format!("The Volume Tags is Exceed Max Limit Num. At most {MAX_TAGS} tags, not {n}."),
    )
}

/// Tags given as a `{key: value}` map (volume create).
pub fn parse_tag_map(v: &Value) -> Result<Metadata, EvsError> {
    let Value::Object(m) = v else {
        return Err(invalid_tag("tags must be an object of key: value."));
    };
    if m.len() > MAX_TAGS {
        return Err(too_many(m.len()));
    }
    let mut out = Metadata::new();
    for (k, val) in m {
        let Value::String(val) = val else {
            return Err(invalid_tag(format!("the value of '{k}' must be a string.")));
        };
        check(k, val)?;
        out.insert(k.clone(), val.clone());
    }
    Ok(out)
}

fn tag_list(tags: &Metadata) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect(),
    )
}

/// `POST /v2/{project_id}/cloudvolumes/{volume_id}/tags/action`:
/// `action` `create` (upsert) or `delete`; 204.
pub async fn action(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    let action = obj
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(Value::Array(items)) = obj.get("tags") else {
        return Err(invalid_tag("'tags' must be a list."));
    };
    // The body chose the action: it is authorized before the volume is
    // looked for (a refused caller learns nothing of it).
    match action {
        "create" => state.platter.authorize(&c.ctx, Action::VolumeTagsCreate)?,
        "delete" => state.platter.authorize(&c.ctx, Action::VolumeTagsDelete)?,
        _ => {}
    }
    volume_of(&state, &c.ctx, &id).await?;
    match action {
        "create" => {
            let mut tags = Metadata::new();
            for t in items {
                let key = t
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid_tag("each tag needs a string 'key'."))?;
                let value = t
                    .get("value")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid_tag(format!("tag '{key}' needs a string 'value'.")))?;
                check(key, value)?;
                tags.insert(key.to_string(), value.to_string());
            }
            if tags.len() > MAX_TAGS {
                return Err(too_many(tags.len()));
            }
            state
                .platter
                .volume_tags_add(&c.ctx, &id, &tags)
                .await
                .map_err(|e| match e {
                    platter_model::DomainError::InvalidInput(m) => EvsError::bad("EVS.1061", m),
                    other => other.into(),
                })?;
        }
        "delete" => {
            let mut keys = Vec::new();
            for t in items {
                let key = t
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid_tag("each tag needs a string 'key'."))?;
                if !valid_key(key) {
                    return Err(invalid_tag(format!("key '{key}'.")));
                }
                keys.push(key.to_string());
            }
            state.platter.volume_tags_remove(&c.ctx, &id, &keys).await?;
        }
        other => {
            return Err(EvsError::malformed(format!(
                "Malformed request body. action must be create or delete, not '{other}'."
            )))
        }
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /v2/{project_id}/cloudvolumes/{volume_id}/tags`.
pub async fn show(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path((_, id)): Path<(String, VolumeId)>,
) -> EvsResult {
    let v = volume_of(&state, &c.ctx, &id).await?;
    Ok(Json(json!({ "tags": tag_list(&v.tags) })).into_response())
}

/// `GET /v2/{project_id}/cloudvolumes/tags`: every key with its values.
pub async fn summary(State(state): State<ApiState>, Extension(c): Extension<Caller>) -> EvsResult {
    let tags = state.platter.volume_tag_summary(&c.ctx).await?;
    Ok(Json(json!({ "tags": tags })).into_response())
}

/// `POST /v2/{project_id}/cloudvolumes/resource_instances/action`: volumes
/// with every given key (any of its values), optionally matching a name.
pub async fn filter(
    State(state): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> EvsResult {
    let obj = json_object(&body)?;
    if obj.get("action").and_then(Value::as_str) != Some("filter") {
        return Err(EvsError::malformed(
            "Malformed request body. action must be 'filter'.",
        ));
    }
    let limit = match obj.get("limit") {
        None | Some(Value::Null) => 1000,
        Some(l) => match l.as_i64() {
            Some(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(EvsError::bad(
                    "EVS.1023",
                    format!("invalid filter limit! {l}: 1 to 1000."),
                ))
            }
        },
    };
    let offset = match obj.get("offset") {
        None | Some(Value::Null) => 0,
        Some(o) => o
            .as_i64()
            .filter(|n| *n >= 0)
            .ok_or_else(|| EvsError::malformed("offset param must be an integer."))?,
    };
    let Some(Value::Array(tags)) = obj.get("tags") else {
        return Err(invalid_tag("'tags' is required: a list of {key, values}."));
    };
    if tags.len() > MAX_TAGS {
        return Err(too_many(tags.len()));
    }
    let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
    for t in tags {
        let key = t
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_tag("each tag needs a string 'key'."))?;
        if !valid_key(key) || wanted.iter().any(|(k, _)| k == key) {
            return Err(invalid_tag(format!("key '{key}' is invalid or repeated.")));
        }
        let Some(Value::Array(values)) = t.get("values") else {
            return Err(invalid_tag(format!("tag '{key}' needs a list 'values'.")));
        };
        if values.len() > MAX_TAGS {
            return Err(invalid_tag(format!(
                "tag '{key}' has more than {MAX_TAGS} values."
            )));
        }
        let mut vals: Vec<String> = Vec::new();
        for v in values {
            let v = v
                .as_str()
                .ok_or_else(|| invalid_tag(format!("the values of '{key}' must be strings.")))?;
            if !valid_value(v) || vals.iter().any(|x| x == v) {
                return Err(invalid_tag(format!(
                    "value '{v}' of '{key}' is invalid or repeated."
                )));
            }
            vals.push(v.to_string());
        }
        wanted.push((key.to_string(), vals));
    }
    let mut name_contains = None;
    let mut none = false;
    if let Some(Value::Array(matches)) = obj.get("matches") {
        let mut seen = Vec::new();
        for m in matches {
            let key = m.get("key").and_then(Value::as_str).unwrap_or_default();
            let value = m.get("value").and_then(Value::as_str).unwrap_or_default();
            if seen.contains(&key) || value.chars().count() > 255 {
                return Err(EvsError::malformed(format!(
                    "Malformed request body. Bad or repeated match '{key}'."
                )));
            }
            seen.push(key);
            match key {
                "resource_name" => name_contains = Some(value.to_string()),
                "service_type" => none |= value != "EVS",
                other => {
                    return Err(EvsError::malformed(format!(
                        "Malformed request body. matches key must be resource_name or service_type, not '{other}'."
                    )))
                }
            }
        }
    }
    let req = VolumeListRequest {
        tags: wanted,
        name_contains,
        page: platter_service::Page {
            limit: Some(limit),
            offset: Some(offset),
            ..Default::default()
        },
        ..Default::default()
    };
    let (volumes, total) = if none {
        (Vec::new(), 0)
    } else {
        state.platter.volume_list_counted(&c.ctx, req).await?
    };
    let resources: Vec<Value> = volumes
        .iter()
        .map(|v| {
            json!({
                "resource_id": v.id,
                "resource_name": v.name.clone().unwrap_or_default(),
                "resource_detail": views::volume_for_tag(&state, v),
                "tags": tag_list(&v.tags),
            })
        })
        .collect();
    Ok(Json(json!({ "total_count": total, "resources": resources })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_rules() {
        assert!(valid_key("env_1-a"));
        assert!(valid_key("环境"));
        assert!(!valid_key(""));
        assert!(!valid_key("a.b"));
        assert!(!valid_key(&"k".repeat(37)));
        assert!(valid_value(""));
        assert!(valid_value("v1.2"));
        assert!(!valid_value("a b"));
        assert!(!valid_value(&"v".repeat(44)));
        let eleven: serde_json::Map<String, Value> =
            (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(
            parse_tag_map(&Value::Object(eleven)).unwrap_err().code,
            "EVS.1061"
        );
    }
}
