//! Quota views and administration.

use std::collections::BTreeMap;

use platter_model::{
    Action, AuthContext, DomainError, DomainResult, QuotaUsage, QUOTA_GLOBAL_RESOURCES,
};

use crate::Platter;

/// A project's quota lines, in a stable order.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSetView {
    pub project_id: String,
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
        project_id: &str,
    ) -> DomainResult<QuotaSetView> {
        self.authorize(ctx, Action::QuotaGet)?;
        if ctx.project_id != project_id && !ctx.is_admin() {
            return Err(DomainError::NotAllowed {
                action: Action::QuotaGet,
            });
        }
        let types = self.type_names().await?;
        let lines = self
            .store()
            .quota_usage(project_id, &self.config().quota_defaults, &types)
            .await?;
        Ok(QuotaSetView {
            project_id: project_id.to_string(),
            lines,
        })
    }

    /// The configured defaults.
    pub async fn quota_defaults(&self, project_id: &str) -> DomainResult<QuotaSetView> {
        let defaults = &self.config().quota_defaults;
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
            project_id: project_id.to_string(),
            lines,
        })
    }

    /// Admin: sets limits for a project. Unknown resources and limits below
    /// -1 are refused; nothing is written unless all are valid.
    pub async fn quota_update(
        &self,
        ctx: &AuthContext,
        project_id: &str,
        limits: &[(String, i64)],
    ) -> DomainResult<QuotaSetView> {
        self.authorize(ctx, Action::QuotaUpdate)?;
        self.project_get(project_id).await?;
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
        self.store().quota_set(project_id, limits).await?;
        self.quota_show(ctx, project_id).await
    }

    /// Admin: drops a project's explicit limits.
    pub async fn quota_reset(&self, ctx: &AuthContext, project_id: &str) -> DomainResult<()> {
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
