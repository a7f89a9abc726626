//! Sorting and marker/offset paging of the list queries, in SQL.

use platter_model::{Page, SortDir, SortKey};
use sqlx::{QueryBuilder, Sqlite};

fn dir_sql(dir: SortDir) -> &'static str {
    match dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    }
}

fn dir_cmp(dir: SortDir) -> &'static str {
    match dir {
        SortDir::Asc => ">",
        SortDir::Desc => "<",
    }
}

/// The column of a sort key, and whether it is nullable. Only these
/// whitelisted columns ever reach SQL.
fn column(key: SortKey) -> (&'static str, bool) {
    match key {
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

fn expr(key: SortKey, alias: &str) -> String {
    match column(key) {
        (col, true) => format!("COALESCE({alias}.{col}, '')"),
        (col, false) => format!("{alias}.{col}"),
    }
}

/// A `Page` rendered into a query.
pub(crate) trait PageSql {
    /// Appends `AND (rows after the marker)` for `table`'s `alias`.
    fn push_marker(&self, qb: &mut QueryBuilder<'_, Sqlite>, table: &str, alias: &str);
    /// Appends `ORDER BY`, `LIMIT` and `OFFSET`.
    fn push_order_and_limit(&self, qb: &mut QueryBuilder<'_, Sqlite>, alias: &str);
}

impl PageSql for Page {
    fn push_marker(&self, qb: &mut QueryBuilder<'_, Sqlite>, table: &str, alias: &str) {
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
                let op = if j == i { dir_cmp(*dir) } else { "=" };
                qb.push(format!(
                    "{} {op} (SELECT {} FROM {table} mk WHERE mk.id = ",
                    expr(*key, alias),
                    expr(*key, "mk")
                ));
                qb.push_bind(marker.clone());
                qb.push(")");
            }
            qb.push(")");
        }
        qb.push(")");
    }

    fn push_order_and_limit(&self, qb: &mut QueryBuilder<'_, Sqlite>, alias: &str) {
        qb.push(" ORDER BY ");
        for (i, (key, dir)) in self.effective_sort().iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            qb.push(format!("{} {}", expr(*key, alias), dir_sql(*dir)));
        }
        // No limit is the largest bound rather than a dialect's "no limit"
        // spelling: an OFFSET needs a LIMIT before it in SQLite, and
        // `LIMIT <bigint>` means the same in every database.
        qb.push(" LIMIT ");
        qb.push_bind(self.limit.unwrap_or(i64::MAX));
        qb.push(" OFFSET ");
        qb.push_bind(self.offset.unwrap_or(0));
    }
}
