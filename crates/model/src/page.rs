//! Sorting and marker/offset paging of list requests: what a caller asks
//! for. How a store turns it into a query is the store's business.

use crate::{DomainError, DomainResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

impl SortDir {
    pub fn parse(s: &str) -> DomainResult<SortDir> {
        match s.to_ascii_lowercase().as_str() {
            "asc" => Ok(SortDir::Asc),
            "desc" => Ok(SortDir::Desc),
            other => Err(DomainError::invalid(format!(
                "Invalid sort direction '{other}': must be 'asc' or 'desc'."
            ))),
        }
    }
}

/// A sortable column. Only these keys ever reach a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    Name,
    Status,
    Size,
    CreatedAt,
    UpdatedAt,
    AvailabilityZone,
    Bootable,
    VolumeId,
    ProjectId,
}

impl SortKey {
    /// Parses an API sort key; `volume_only` keys are refused for snapshots.
    pub fn parse(s: &str, for_snapshots: bool) -> DomainResult<SortKey> {
        let key = match s {
            "id" => SortKey::Id,
            "name" | "display_name" => SortKey::Name,
            "status" => SortKey::Status,
            "size" => SortKey::Size,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "project_id" => SortKey::ProjectId,
            "availability_zone" if !for_snapshots => SortKey::AvailabilityZone,
            "bootable" if !for_snapshots => SortKey::Bootable,
            "volume_id" if for_snapshots => SortKey::VolumeId,
            other => {
                return Err(DomainError::invalid(format!("Invalid sort key '{other}'.")));
            }
        };
        Ok(key)
    }
}

/// Sorting and paging of one list request.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub sort: Vec<(SortKey, SortDir)>,
    pub marker: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Page {
    /// The sort with defaults (`created_at desc`) and `id` as the last
    /// tie-breaker, so marker paging is total.
    pub fn effective_sort(&self) -> Vec<(SortKey, SortDir)> {
        let mut sort = self.sort.clone();
        if sort.is_empty() {
            sort.push((SortKey::CreatedAt, SortDir::Desc));
        }
        if !sort.iter().any(|(k, _)| *k == SortKey::Id) {
            let dir = sort.last().map(|(_, d)| *d).unwrap_or(SortDir::Desc);
            sort.push((SortKey::Id, dir));
        }
        sort
    }
}
