//! Query parameters of EVS list requests, small validators, and the
//! volume a path names.

use platter_model::{AuthContext, Volume, VolumeId, VolumeStatus};
use platter_service::{Page, SortDir, SortKey};
use serde_json::{json, Value};

use super::EvsError;
use crate::toolkit::body::parse_bool_str;
use crate::ApiState;

pub const MAX_LIMIT: i64 = 1000;
/// At most this many ids in an `ids` filter or an unsubscribe.
pub const MAX_IDS: usize = 60;

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

/// Whether `s` is a UUID in its hyphenated form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// An enterprise project id: `0` or a UUID.
pub fn check_enterprise_project(ep: &str) -> Result<(), EvsError> {
    if ep == "0" || is_uuid(ep) {
        Ok(())
    } else {
        Err(EvsError::bad(
            "EVS.2059",
            format!("invalid enterpriseProjectID: '{ep}' is neither 0 nor a UUID."),
        ))
    }
}

impl Query {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_string)
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, EvsError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_bool_str(v).map(Some).ok_or_else(|| {
                EvsError::malformed(format!(
                    "Malformed request url. {key} must be true or false, not '{v}'."
                ))
            }),
        }
    }

    pub fn limit(&self) -> Result<i64, EvsError> {
        match self.get("limit") {
            None => Ok(MAX_LIMIT),
            Some(v) => match v.trim().parse::<i64>() {
                Err(_) => Err(EvsError::malformed("limit param must be an integer.")),
                Ok(n) if n < 1 => Err(EvsError::bad(
                    "EVS.1023",
                    format!(
                        "invalid filter limit! limit must be between 1 and {MAX_LIMIT}, not {n}."
                    ),
                )),
                Ok(n) if n > MAX_LIMIT => Err(EvsError::bad(
                    "EVS.2142",
                    "invalid filter limit, can not greater than 1000.",
                )),
                Ok(n) => Ok(n),
            },
        }
    }

    pub fn offset(&self) -> Result<Option<i64>, EvsError> {
        match self.get("offset") {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Ok(Some(n)),
                _ => Err(EvsError::malformed("offset param must be an integer.")),
            },
        }
    }

    /// Paging and sorting: `marker` (a UUID), `limit`, `offset`,
    /// `sort_key`, `sort_dir`.
    pub fn page(&self, for_snapshots: bool) -> Result<Page, EvsError> {
        let marker = self.string("marker");
        if let Some(m) = &marker {
            if !is_uuid(m) {
                return Err(EvsError::bad(
                    "EVS.1024",
                    format!("invalid filter marker! '{m}' is not a UUID."),
                ));
            }
        }
        let dir = match self.get("sort_dir") {
            None => SortDir::Desc,
            Some(d) => SortDir::parse(d).map_err(|_| {
                EvsError::bad(
                    "EVS.1040",
                    format!("invalid sort_dir! '{d}': use asc or desc."),
                )
            })?,
        };
        let key = match self.get("sort_key") {
            None => SortKey::CreatedAt,
            Some(k) => SortKey::parse(k, for_snapshots)
                .map_err(|_| EvsError::bad("EVS.1039", format!("invalid sort_key! '{k}'.")))?,
        };
        Ok(Page {
            sort: vec![(key, dir)],
            marker,
            limit: Some(self.limit()?),
            offset: self.offset()?,
        })
    }

    pub fn volume_status(&self) -> Result<Option<String>, EvsError> {
        match self.get("status") {
            None => Ok(None),
            Some(s) => s
                .parse::<VolumeStatus>()
                .map(|st| Some(st.as_str().to_string()))
                .map_err(|_| {
                    EvsError::malformed(format!(
                        "Must specify a valid status. '{s}' is not a volume status."
                    ))
                }),
        }
    }

    /// `ids=['a', 'b']` (the documented form), `ids=a,b`, or repeated `id`
    /// values. Malformed ids are ignored, as documented; more than 60 is an
    /// error. `id` is ignored when `ids` is given.
    pub fn ids<T: From<String>>(&self, repeated_id: bool) -> Result<Option<Vec<T>>, EvsError> {
        let raw: Vec<String> = if let Some(list) = self.get("ids") {
            list.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|s| {
                    s.trim()
                        .trim_matches(|c| c == '\'' || c == '"')
                        .trim()
                        .to_string()
                })
                .filter(|s| !s.is_empty())
                .collect()
        } else if repeated_id {
            self.all("id")
        } else {
            match self.get("id") {
                Some(id) => vec![id.to_string()],
                None => return Ok(None),
            }
        };
        if raw.is_empty() && self.get("ids").is_none() {
            return Ok(None);
        }
        if raw.len() > MAX_IDS {
            return Err(EvsError::malformed(format!(
                "Malformed request url. At most {MAX_IDS} ids may be given, not {}.",
                raw.len()
            )));
        }
        Ok(Some(
            raw.into_iter()
                .filter(|s| is_uuid(s))
                .map(T::from)
                .collect(),
        ))
    }

    /// `enterprise_project_id`: `None` for every project (absent or
    /// `all_granted_eps`).
    pub fn enterprise_project(&self) -> Result<Option<String>, EvsError> {
        match self.get("enterprise_project_id") {
            None | Some("all_granted_eps") => Ok(None),
            Some(ep) => {
                check_enterprise_project(ep)?;
                Ok(Some(ep.to_string()))
            }
        }
    }

    /// Whether filters on features Platter does not have (dedicated
    /// storage, other service types) exclude every resource.
    pub fn excludes_all(&self) -> bool {
        self.get("dedicated_storage_id").is_some()
            || self.get("dedicated_storage_name").is_some()
            || self.get("snapshot_policy_id").is_some()
            || self.get("service_type").is_some_and(|s| s != "EVS")
    }

    /// The `metadata` filter: a JSON object (or a Python dict literal).
    pub fn metadata(&self) -> Result<Vec<(String, String)>, EvsError> {
        let Some(raw) = self.get("metadata") else {
            return Ok(Vec::new());
        };
        let parsed: Option<Value> = serde_json::from_str(raw)
            .ok()
            .or_else(|| serde_json::from_str(&raw.replace('\'', "\"")).ok());
        match parsed {
            Some(Value::Object(map)) => Ok(map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect()),
            _ => Err(EvsError::bad(
                "EVS.1058",
                format!("invalid metadata filter! '{raw}' is not a JSON object."),
            )),
        }
    }

    /// A `next` link when the page is full.
    pub fn next_links(
        &self,
        base: &str,
        page: &Page,
        returned: usize,
        last_id: Option<&str>,
    ) -> Value {
        let limit = page.limit.unwrap_or(MAX_LIMIT);
        let Some(last_id) = last_id else {
            return json!([]);
        };
        if (returned as i64) < limit {
            return json!([]);
        }
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "marker" && k != "limit" && k != "offset")
            .cloned()
            .collect();
        pairs.push(("limit".into(), limit.to_string()));
        pairs.push(("marker".into(), last_id.to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        json!([{ "href": format!("{base}?{query}"), "rel": "next" }])
    }
}

/// A string member of at most `max` characters (null and absent are
/// `None`); anything else is refused with `code`.
pub fn opt_text(
    o: &serde_json::Map<String, Value>,
    key: &str,
    max: usize,
    code: &'static str,
) -> Result<Option<String>, EvsError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(EvsError::bad(
            code,
            format!("{key} is longer than {max} characters: '{s}'."),
        )),
        Some(other) => Err(EvsError::bad(
            code,
            format!("{key} must be a string, not {other}."),
        )),
    }
}

/// A boolean body value as EVS sends them: JSON booleans, `"true"`, `1`.
pub fn loose_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool_str(s),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

/// The volume of the caller named in a path, with EVS's codes for a bad id.
pub(super) async fn volume_of(
    state: &ApiState,
    ctx: &AuthContext,
    id: &VolumeId,
) -> Result<Volume, EvsError> {
    if !is_uuid(id.as_str()) {
        return Err(EvsError::bad(
            "EVS.1002",
            format!("invalid volume id! '{id}'"),
        ));
    }
    Ok(state.platter.volume_find(ctx, id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        Query {
            pairs: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn ids_accept_the_documented_list_form() {
        let a = "e92ba908-82f8-4728-b8cc-82f2f56bd461";
        let b = "b1fd8dcc-dd67-4edf-b89e-87c3485112ec";
        let got = q(&[("ids", &format!("['{a}', 'not-a-uuid', '{b}']")), ("id", a)])
            .ids(false)
            .unwrap();
        assert_eq!(got, Some(vec![a.to_string(), b.to_string()]));
        assert_eq!(
            q(&[("id", a)]).ids(false).unwrap(),
            Some(vec![a.to_string()])
        );
        assert_eq!(q(&[]).ids::<String>(true).unwrap(), None);
        let many: Vec<String> = (0..61).map(|_| a.to_string()).collect();
        assert!(q(&[("ids", &many.join(","))]).ids::<String>(false).is_err());
    }

    #[test]
    fn limits_follow_the_documented_codes() {
        assert_eq!(q(&[("limit", "0")]).limit().unwrap_err().code, "EVS.1023");
        assert_eq!(
            q(&[("limit", "1001")]).limit().unwrap_err().code,
            "EVS.2142"
        );
        assert_eq!(q(&[("limit", "x")]).limit().unwrap_err().code, "EVS.5400");
        assert_eq!(
            q(&[("marker", "x")]).page(false).unwrap_err().code,
            "EVS.1024"
        );
        assert_eq!(
            q(&[("sort_dir", "up")]).page(false).unwrap_err().code,
            "EVS.1040"
        );
        assert_eq!(
            q(&[("sort_key", "color")]).page(false).unwrap_err().code,
            "EVS.1039"
        );
    }
}
