//! Query parameters of Cinder list requests: filters, sorting, paging, and
//! the `*_links` next link.

use platter_service::{Page, SortDir, SortKey};
use serde_json::{json, Value};

use crate::cinder::CinderError;
use crate::toolkit::body::parse_bool_str;

/// Cinder's `osapi_max_limit`: no page is longer.
pub const MAX_LIMIT: i64 = 1000;

/// Refuses a sort key the listing's table has no column for.
pub fn check_sort(page: &Page, allowed: &[SortKey]) -> Result<(), CinderError> {
    match page.sort.iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, _)) => Err(CinderError::bad_request(format!(
            "Invalid input received: sort key {} is not supported here.",
            format!("{k:?}").to_lowercase()
        ))),
        None => Ok(()),
    }
}

/// The query string as ordered pairs.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> Result<bool, CinderError> {
        match self.get(key) {
            None => Ok(false),
            Some("") => Ok(true),
            Some(v) => parse_bool_str(v).ok_or_else(|| {
                CinderError::bad_request(format!(
                    "Invalid value '{v}' for {key}: expected a boolean."
                ))
            }),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, CinderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Ok(Some(n)),
                _ => Err(CinderError::bad_request(format!(
                    "{key} param must be an integer greater than or equal to 0, not '{v}'."
                ))),
            },
        }
    }

    /// Sorting and paging: `sort=key:dir,...` (v3) or `sort_key`/`sort_dir`,
    /// `marker`, `limit` (capped at 1000), `offset`.
    pub fn page(&self, for_snapshots: bool) -> Result<Page, CinderError> {
        let mut sort = Vec::new();
        if let Some(spec) = self.get("sort").filter(|s| !s.is_empty()) {
            if self.get("sort_key").is_some() || self.get("sort_dir").is_some() {
                return Err(CinderError::bad_request(
                    "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.",
                ));
            }
            for part in spec.split(',') {
                let (k, d) = part.split_once(':').unwrap_or((part, "desc"));
                sort.push((
                    SortKey::parse(k.trim(), for_snapshots)?,
                    SortDir::parse(d.trim())?,
                ));
            }
        } else if let Some(keys) = self.get("sort_key").filter(|s| !s.is_empty()) {
            let dirs: Vec<&str> = self
                .get("sort_dir")
                .map(|d| d.split(',').collect())
                .unwrap_or_default();
            for (i, k) in keys.split(',').enumerate() {
                let d = dirs.get(i).or(dirs.last()).copied().unwrap_or("desc");
                sort.push((
                    SortKey::parse(k.trim(), for_snapshots)?,
                    SortDir::parse(d.trim())?,
                ));
            }
        } else if let Some(d) = self.get("sort_dir") {
            sort.push((SortKey::CreatedAt, SortDir::parse(d)?));
        }
        let limit = self
            .int("limit")?
            .map(|l| l.min(MAX_LIMIT))
            .unwrap_or(MAX_LIMIT);
        Ok(Page {
            sort,
            marker: self
                .get("marker")
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            limit: Some(limit),
            offset: self.int("offset")?,
        })
    }

    /// `metadata={"k": "v"}` (JSON, or the Python dict literal clients send).
    pub fn metadata(&self) -> Result<Vec<(String, String)>, CinderError> {
        let Some(raw) = self.get("metadata") else {
            return Ok(Vec::new());
        };
        let parsed: Option<Value> = serde_json::from_str(raw)
            .ok()
            .or_else(|| serde_json::from_str(&raw.replace('\'', "\"")).ok());
        match parsed {
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    other => Ok((k, other.to_string())),
                })
                .collect(),
            _ => Err(CinderError::bad_request(format!(
                "Invalid metadata filter '{raw}': expected a JSON object such as {{\"key\": \"value\"}}."
            ))),
        }
    }

    /// The `*_links` value: a next link when the page is full.
    pub fn next_links(
        &self,
        base: &str,
        page: &Page,
        returned: usize,
        last_id: Option<&str>,
    ) -> Option<Value> {
        let limit = page.limit.unwrap_or(MAX_LIMIT);
        let last_id = last_id?;
        if limit == 0 || (returned as i64) < limit {
            return None;
        }
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "marker" && k != "limit")
            .cloned()
            .collect();
        pairs.push(("limit".into(), limit.to_string()));
        pairs.push(("marker".into(), last_id.to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        Some(json!([{ "href": format!("{base}?{query}"), "rel": "next" }]))
    }
}
