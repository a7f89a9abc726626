use serde::{Deserialize, Serialize};

/// Quota resources that are not per volume type.
pub const QUOTA_GLOBAL_RESOURCES: &[&str] = &[
    "volumes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "per_volume_gigabytes",
    "groups",
];

/// A quota key: a global resource, or `volumes_<TYPE>`, `snapshots_<TYPE>`,
/// `gigabytes_<TYPE>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QuotaResource(pub String);

impl QuotaResource {
    pub fn per_type(prefix: &str, type_name: &str) -> Self {
        QuotaResource(format!("{prefix}_{type_name}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One quota line: the limit (-1 = unlimited) and what is counted in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    pub resource: String,
    pub limit: i64,
    pub in_use: i64,
}
