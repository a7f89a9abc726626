//! Quota views and administration.

use std::collections::BTreeMap;

use platter_model::{
    Action, AuthContext, DomainError, DomainResult, ProjectId, QuotaUsage, QUOTA_GLOBAL_RESOURCES,
};
use platter_store::QuotaDefaults;

use crate::Platter;

/// A project's quota lines, in a stable order.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSetView {
    pub project_id: ProjectId,
    pub lines: Vec<QuotaUsage>,
}

/// The absolute limits view (`GET /limits`).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub usage: BTreeMap<String, QuotaUsage>,
}

impl Platter {
    async fn type_names(&self) -> DomainResult<Vec<String>> {
        Ok(self
            .store()
            .volume_type_list()
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect())
    }

    /// The defaults every project's limits fall back to now.
    pub(crate) fn quota_defaults_now(&self) -> QuotaDefaults {
        match self.inner.quota_defaults.read() {
            Ok(d) => d.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads what admins set on the default quota class (at start).
    pub async fn load_quota_class(&self) -> DomainResult<()> {
        let config = self.config().quota_defaults.clone();
        let lines = self
            .store()
            .quota_usage(&default_class_row(), &config, &self.type_names().await?)
            .await?;
        let mut defaults = config;
        for line in lines {
            defaults.0.insert(line.resource, line.limit);
        }
        self.set_quota_defaults(defaults);
        Ok(())
    }

    fn set_quota_defaults(&self, d: QuotaDefaults) {
        match self.inner.quota_defaults.write() {
            Ok(mut w) => *w = d,
            Err(poisoned) => *poisoned.into_inner() = d,
        }
    }

    /// Admin: a quota class's limits. Only `default` is kept; any other
    /// class shows the defaults, as upstream does for a class without rows.
    pub async fn quota_class_show(&self, ctx: &AuthContext) -> DomainResult<Vec<QuotaUsage>> {
        self.authorize(ctx, Action::QuotaClassGet)?;
        let defaults = self.quota_defaults_now();
        Ok(self
            .quota_resources()
            .await?
            .into_iter()
            .map(|r| QuotaUsage {
                limit: defaults.get(&r),
                in_use: 0,
                resource: r,
            })
            .collect())
    }

    /// Admin: sets limits of the default quota class, which every project
    /// without its own limit for a resource then gets.
    pub async fn quota_class_update(
        &self,
        ctx: &AuthContext,
        class: &str,
        limits: &[(String, i64)],
    ) -> DomainResult<Vec<QuotaUsage>> {
        self.authorize(ctx, Action::QuotaClassUpdate)?;
        if class != "default" {
            return Err(DomainError::invalid(format!(
                "only the quota class 'default' can be set, not '{class}'."
            )));
        }
        self.check_quota_limits(limits).await?;
        self.store().quota_set(&default_class_row(), limits).await?;
        let mut d = self.quota_defaults_now();
        for (r, l) in limits {
            d.0.insert(r.clone(), *l);
        }
        self.set_quota_defaults(d);
        self.quota_class_show(ctx).await
    }

    /// Every quota resource a project has: the global ones and the per-type
    /// ones of the existing volume types.
    pub async fn quota_resources(&self) -> DomainResult<Vec<String>> {
        let mut r: Vec<String> = QUOTA_GLOBAL_RESOURCES
            .iter()
            .map(|s| s.to_string())
            .collect();
        for t in self.type_names().await? {
            for prefix in ["volumes", "gigabytes", "snapshots"] {
                r.push(format!("{prefix}_{t}"));
            }
        }
        Ok(r)
    }

    /// A project's quotas: its own, or any project's for an admin.
    pub async fn quota_show(
        &self,
        ctx: &AuthContext,
        project_id: &ProjectId,
    ) -> DomainResult<QuotaSetView> {
        self.authorize(ctx, Action::QuotaGet)?;
        if ctx.project_id != *project_id && !ctx.is_admin() {
            return Err(DomainError::NotAllowed {
                action: Action::QuotaGet,
            });
        }
        let types = self.type_names().await?;
        let lines = self
            .store()
            .quota_usage(project_id, &self.quota_defaults_now(), &types)
            .await?;
        Ok(QuotaSetView {
            project_id: project_id.clone(),
            lines,
        })
    }

    /// The configured defaults.
    pub async fn quota_defaults(&self, project_id: &ProjectId) -> DomainResult<QuotaSetView> {
        let defaults = &self.quota_defaults_now();
        let lines = self
            .quota_resources()
            .await?
            .into_iter()
            .map(|r| QuotaUsage {
                limit: defaults.get(&r),
                in_use: 0,
                resource: r,
            })
            .collect();
        Ok(QuotaSetView {
            project_id: project_id.clone(),
            lines,
        })
    }

    /// Admin: sets limits for a project. Unknown resources and limits below
    /// -1 are refused; nothing is written unless all are valid.
    pub async fn quota_update(
        &self,
        ctx: &AuthContext,
        project_id: &ProjectId,
        limits: &[(String, i64)],
    ) -> DomainResult<QuotaSetView> {
        self.authorize(ctx, Action::QuotaUpdate)?;
        self.project_get(project_id).await?;
        self.check_quota_limits(limits).await?;
        self.store().quota_set(project_id, limits).await?;
        self.quota_show(ctx, project_id).await
    }

    /// Known resources, limits of -1 (unlimited) or more.
    async fn check_quota_limits(&self, limits: &[(String, i64)]) -> DomainResult<()> {
        let known = self.quota_resources().await?;
        for (resource, limit) in limits {
            if !known.contains(resource) {
                return Err(DomainError::invalid(format!(
                    "Bad key(s) in quota set: {resource}"
                )));
            }
            if *limit < -1 {
                return Err(DomainError::invalid(format!(
                    "Quota limit {limit} for {resource} must be -1 (unlimited) or greater."
                )));
            }
        }
        Ok(())
    }

    /// Admin: drops a project's explicit limits.
    pub async fn quota_reset(&self, ctx: &AuthContext, project_id: &ProjectId) -> DomainResult<()> {
        self.authorize(ctx, Action::QuotaDelete)?;
        self.store().quota_reset(project_id).await
    }

    pub async fn limits(&self, ctx: &AuthContext) -> DomainResult<Limits> {
        self.authorize(ctx, Action::LimitsGet)?;
        let view = self.quota_show(ctx, &ctx.project_id).await?;
        Ok(Limits {
            usage: view
                .lines
                .into_iter()
                .map(|l| (l.resource.clone(), l))
                .collect(),
        })
    }
}

/// The quotas row holding the default class's limits (no project has this
/// id: project ids are 32 hex digits).
const DEFAULT_CLASS_ROW: &str = "__default_class__";

/// The quotas rows of the default class are keyed by this pseudo project.
fn default_class_row() -> ProjectId {
    ProjectId::from(DEFAULT_CLASS_ROW)
}
