//! Quota limits and usage.

use std::collections::BTreeMap;

use platter_model::{DomainResult, ProjectId, QuotaUsage};

/// Default limits for resources a project has no explicit limit for. Per-type
/// resources default to -1 (unlimited) unless listed.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaDefaults(pub BTreeMap<String, i64>);

impl Default for QuotaDefaults {
    /// Cinder's stock defaults.
    fn default() -> Self {
        let mut m = BTreeMap::new();
        for (k, v) in [
            ("volumes", 10),
            ("snapshots", 10),
            ("gigabytes", 1000),
            ("backups", 10),
            ("backup_gigabytes", 1000),
            ("per_volume_gigabytes", -1),
            ("groups", 10),
            // Nova's: counted from the servers' rows.
            ("instances", 10),
            ("cores", 20),
            ("ram", 51200),
        ] {
            m.insert(k.to_string(), v);
        }
        QuotaDefaults(m)
    }
}

impl QuotaDefaults {
    pub fn get(&self, resource: &str) -> i64 {
        self.0.get(resource).copied().unwrap_or(-1)
    }
}

repository! {
    /// Quota limits and usage.
    pub trait QuotaRepo {
        /// Limits and usage of every resource of a project: the global resources
        /// and the per-type resources of every volume type.
        async fn quota_usage(
            &self,
            project_id: &ProjectId,
            defaults: &QuotaDefaults,
            type_names: &[String],
        ) -> DomainResult<Vec<QuotaUsage>>;
        /// Sets explicit limits for a project.
        async fn quota_set(&self, project_id: &ProjectId, limits: &[(String, i64)]) -> DomainResult<()>;
        /// Drops a project's explicit limits: the defaults apply again.
        async fn quota_reset(&self, project_id: &ProjectId) -> DomainResult<()>;
    }
}
