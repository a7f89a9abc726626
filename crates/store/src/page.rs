//! Sorting and marker/offset paging shared by the list queries.

use platter_model::{DomainError, DomainResult};
use sqlx::{QueryBuilder, Sqlite};

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
    fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }
    fn cmp(self) -> &'static str {
        match self {
            SortDir::Asc => ">",
            SortDir::Desc => "<",
        }
    }
}

/// A sortable column. Only whitelisted columns ever reach SQL.
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

    fn column(self) -> (&'static str, bool) {
        // (column, nullable)
        match self {
            SortKey::Id => ("id", false),
            SortKey::Name => ("name", true),
            SortKey::Status => ("status", false),
            SortKey::Size => ("size", false),
            SortKey::CreatedAt => ("created_at", false),
            SortKey::UpdatedAt => ("updated_at", true),
            SortKey::AvailabilityZone => ("availability_zone", false),
            SortKey::Bootable => ("bootable", false),
            SortKey::VolumeId => ("volume_id", false),
            SortKey::ProjectId => ("project_id", false),
        }
    }

    fn expr(self, alias: &str) -> String {
        match self.column() {
            (col, true) => format!("COALESCE({alias}.{col}, '')"),
            (col, false) => format!("{alias}.{col}"),
        }
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
    fn effective_sort(&self) -> Vec<(SortKey, SortDir)> {
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

    /// Appends `AND (rows after the marker)` for `table`'s `alias`.
    pub fn push_marker(&self, qb: &mut QueryBuilder<'_, Sqlite>, table: &str, alias: &str) {
        let Some(marker) = &self.marker else { return };
        let sort = self.effective_sort();
        qb.push(" AND (");
        for i in 0..sort.len() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("(");
            for (j, (key, dir)) in sort.iter().enumerate().take(i + 1) {
                if j > 0 {
                    qb.push(" AND ");
                }
                let op = if j == i { dir.cmp() } else { "=" };
                qb.push(format!(
                    "{} {op} (SELECT {} FROM {table} mk WHERE mk.id = ",
                    key.expr(alias),
                    key.expr("mk")
                ));
                qb.push_bind(marker.clone());
                qb.push(")");
            }
            qb.push(")");
        }
        qb.push(")");
    }

    pub fn push_order_and_limit(&self, qb: &mut QueryBuilder<'_, Sqlite>, alias: &str) {
        qb.push(" ORDER BY ");
        for (i, (key, dir)) in self.effective_sort().iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            qb.push(format!("{} {}", key.expr(alias), dir.sql()));
        }
        qb.push(" LIMIT ");
        qb.push_bind(self.limit.unwrap_or(-1));
        qb.push(" OFFSET ");
        qb.push_bind(self.offset.unwrap_or(0));
    }
}
