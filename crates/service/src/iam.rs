//! IAM administration: user groups and their members, grants of roles
//! (Keystone roles, system and custom policies) to groups on a project, a
//! domain, every project of a domain or an enterprise project, and custom
//! policies. Each change drops the authorizer's cached decisions.
//!
//! Authorization of these calls is the identity routes' (cloud admins).

use platter_model::{
    is_system_policy, CustomPolicy, DomainError, DomainId, DomainResult, GrantScope, GroupGrant,
    Policy, Role, RoleId, Timestamp, User, UserGroup, UserGroupId, UserId, MAX_POLICY_CHARS,
};
use platter_store::identity_types::NameFilter;

use crate::Platter;

/// Fields of a new or updated group.
#[derive(Debug, Clone, Default)]
pub struct GroupFields {
    pub name: Option<String>,
    pub domain_id: Option<DomainId>,
    pub description: Option<String>,
}

/// Fields of a new or updated custom policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyFields {
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// `AX` or `XA`.
    pub kind: Option<String>,
    pub document: Option<serde_json::Value>,
}

/// An enterprise project id: `0` (the default one) or up to 64 letters,
/// digits and dashes (EVS.2059 otherwise).
pub fn valid_enterprise_project(ep: &str) -> bool {
    !ep.is_empty() && ep.len() <= 64 && ep.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn check_group_name(name: &str) -> DomainResult<()> {
    if name.trim().is_empty() || name.chars().count() > 64 {
        return Err(DomainError::invalid(
            "Invalid input for field 'name': a group name is 1 to 64 characters.",
        ));
    }
    Ok(())
}

fn check_policy_name(name: &str) -> DomainResult<()> {
    if name.trim().is_empty() || name.chars().count() > 128 {
        return Err(DomainError::invalid(
            "Invalid input for field 'display_name': 1 to 128 characters.",
        ));
    }
    if is_system_policy(name) {
        return Err(DomainError::Conflict(format!(
            "{name} is a system policy's name."
        )));
    }
    Ok(())
}

fn check_kind(kind: &str) -> DomainResult<()> {
    match kind {
        "AX" | "XA" => Ok(()),
        _ => Err(DomainError::invalid(format!(
            "Invalid input for field 'type': {kind} is not AX (project services) or XA (global services)."
        ))),
    }
}

fn document_text(doc: &serde_json::Value) -> DomainResult<String> {
    Policy::parse(doc).map_err(|e| DomainError::invalid(format!("Invalid policy: {e}.")))?;
    let text = doc.to_string();
    if text.chars().count() > MAX_POLICY_CHARS {
        return Err(DomainError::invalid(format!(
            "Invalid policy: longer than {MAX_POLICY_CHARS} characters."
        )));
    }
    Ok(text)
}

impl Platter {
    // ---- groups ----

    pub async fn user_group_create(&self, f: GroupFields) -> DomainResult<UserGroup> {
        let name = f
            .name
            .ok_or_else(|| DomainError::invalid("'name' is a required property."))?;
        check_group_name(&name)?;
        let domain_id = f.domain_id.unwrap_or_else(crate::identity::default_domain);
        self.domain_get(&domain_id).await?;
        let g = UserGroup {
            id: UserGroupId::new(),
            domain_id,
            name,
            description: f.description.unwrap_or_default(),
            created_at: Timestamp::now(),
        };
        self.store().user_group_insert(&g).await?;
        Ok(g)
    }

    pub async fn user_group_get(&self, id: &UserGroupId) -> DomainResult<UserGroup> {
        self.store()
            .user_group_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Group", id))
    }

    pub async fn user_group_list(
        &self,
        name: Option<String>,
        domain_id: Option<DomainId>,
    ) -> DomainResult<Vec<UserGroup>> {
        self.store()
            .user_group_list(&NameFilter { name, domain_id })
            .await
    }

    pub async fn user_group_update(
        &self,
        id: &UserGroupId,
        f: GroupFields,
    ) -> DomainResult<UserGroup> {
        let mut g = self.user_group_get(id).await?;
        if let Some(name) = f.name {
            check_group_name(&name)?;
            g.name = name;
        }
        if let Some(d) = f.description {
            g.description = d;
        }
        self.store().user_group_update(&g).await?;
        Ok(g)
    }

    pub async fn user_group_delete(&self, id: &UserGroupId) -> DomainResult<()> {
        if !self.store().user_group_delete(id).await? {
            return Err(DomainError::not_found("Group", id));
        }
        self.iam_changed().await
    }

    pub async fn user_group_member_add(
        &self,
        group: &UserGroupId,
        user: &UserId,
    ) -> DomainResult<()> {
        self.user_group_get(group).await?;
        self.user_get(user).await?;
        self.store().user_group_member_add(group, user).await?;
        self.iam_changed().await
    }

    pub async fn user_group_member_remove(
        &self,
        group: &UserGroupId,
        user: &UserId,
    ) -> DomainResult<()> {
        self.user_group_get(group).await?;
        self.user_get(user).await?;
        if !self.store().user_group_member_remove(group, user).await? {
            return Err(DomainError::not_found(
                "User",
                format!("{user} in group {group}"),
            ));
        }
        self.iam_changed().await
    }

    pub async fn user_group_member_check(
        &self,
        group: &UserGroupId,
        user: &UserId,
    ) -> DomainResult<()> {
        self.user_group_get(group).await?;
        self.user_get(user).await?;
        let members = self.store().user_group_members(group).await?;
        if members.iter().any(|u| u.id == *user) {
            Ok(())
        } else {
            Err(DomainError::not_found(
                "User",
                format!("{user} in group {group}"),
            ))
        }
    }

    pub async fn user_group_members(&self, group: &UserGroupId) -> DomainResult<Vec<User>> {
        self.user_group_get(group).await?;
        self.store().user_group_members(group).await
    }

    pub async fn user_groups_of(&self, user: &UserId) -> DomainResult<Vec<UserGroup>> {
        self.user_get(user).await?;
        self.store().user_groups_of(user).await
    }

    // ---- grants ----

    /// A role by id, or by name (system policies are named).
    pub async fn role_resolve(&self, role: &str) -> DomainResult<Role> {
        match self.store().role_get(&RoleId::from(role)).await? {
            Some(r) => Ok(r),
            None => self
                .store()
                .role_find_by_name(role)
                .await?
                .ok_or_else(|| DomainError::not_found("Role", role)),
        }
    }

    async fn grant_of(
        &self,
        group: &UserGroupId,
        role: &str,
        scope: GrantScope,
    ) -> DomainResult<GroupGrant> {
        self.user_group_get(group).await?;
        let role = self.role_resolve(role).await?;
        match &scope {
            GrantScope::Project(p) => {
                self.project_get(p).await?;
            }
            GrantScope::Domain(d) | GrantScope::AllProjects(d) => {
                self.domain_get(d).await?;
            }
            GrantScope::EnterpriseProject(ep) => {
                if !valid_enterprise_project(ep) {
                    return Err(DomainError::invalid(format!(
                        "invalid enterpriseProjectID {ep}"
                    )));
                }
            }
        }
        Ok(GroupGrant {
            group_id: group.clone(),
            role_id: role.id,
            scope,
        })
    }

    /// Grants a role to a group on a scope (idempotent).
    pub async fn group_grant(
        &self,
        group: &UserGroupId,
        role: &str,
        scope: GrantScope,
    ) -> DomainResult<()> {
        let g = self.grant_of(group, role, scope).await?;
        self.store().group_grant_add(&g).await?;
        self.iam_changed().await
    }

    pub async fn group_revoke(
        &self,
        group: &UserGroupId,
        role: &str,
        scope: GrantScope,
    ) -> DomainResult<()> {
        let g = self.grant_of(group, role, scope).await?;
        if !self.store().group_grant_remove(&g).await? {
            return Err(DomainError::not_found(
                "Grant",
                format!("{} of group {group}", g.role_id),
            ));
        }
        self.iam_changed().await
    }

    pub async fn group_grant_check(
        &self,
        group: &UserGroupId,
        role: &str,
        scope: GrantScope,
    ) -> DomainResult<()> {
        let g = self.grant_of(group, role, scope.clone()).await?;
        let found = self
            .store()
            .group_grant_list(Some(group), Some(&scope))
            .await?;
        if found.iter().any(|x| x.role_id == g.role_id) {
            Ok(())
        } else {
            Err(DomainError::not_found(
                "Grant",
                format!("{} of group {group}", g.role_id),
            ))
        }
    }

    /// The roles a group holds on a scope.
    pub async fn group_grant_roles(
        &self,
        group: &UserGroupId,
        scope: &GrantScope,
    ) -> DomainResult<Vec<Role>> {
        self.user_group_get(group).await?;
        let mut roles = Vec::new();
        for g in self
            .store()
            .group_grant_list(Some(group), Some(scope))
            .await?
        {
            if let Some(r) = self.store().role_get(&g.role_id).await? {
                roles.push(r);
            }
        }
        Ok(roles)
    }

    pub async fn group_grant_list(&self) -> DomainResult<Vec<GroupGrant>> {
        self.store().group_grant_list(None, None).await
    }

    // ---- custom policies ----

    pub async fn custom_policy_create(
        &self,
        domain_id: DomainId,
        f: PolicyFields,
    ) -> DomainResult<CustomPolicy> {
        let display_name = f
            .display_name
            .ok_or_else(|| DomainError::invalid("'display_name' is a required property."))?;
        check_policy_name(&display_name)?;
        let kind = f
            .kind
            .ok_or_else(|| DomainError::invalid("'type' is a required property."))?;
        check_kind(&kind)?;
        let document = document_text(
            &f.document
                .ok_or_else(|| DomainError::invalid("'policy' is a required property."))?,
        )?;
        let now = Timestamp::now();
        let role = Role {
            id: RoleId::new(),
            name: display_name.clone(),
        };
        let p = CustomPolicy {
            role_id: role.id.clone(),
            domain_id,
            display_name,
            description: f.description.unwrap_or_default(),
            kind,
            document,
            created_at: now,
            updated_at: now,
        };
        self.store()
            .custom_policy_insert(&role, &p)
            .await
            .map_err(|e| match e {
                DomainError::Conflict(_) => DomainError::Conflict(format!(
                    "A role named {} exists already.",
                    p.display_name
                )),
                e => e,
            })?;
        self.iam_changed().await?;
        Ok(p)
    }

    pub async fn custom_policy_get(&self, id: &RoleId) -> DomainResult<CustomPolicy> {
        self.store()
            .custom_policy_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Role", id))
    }

    pub async fn custom_policy_list(&self) -> DomainResult<Vec<CustomPolicy>> {
        self.store().custom_policy_list().await
    }

    pub async fn custom_policy_update(
        &self,
        id: &RoleId,
        f: PolicyFields,
    ) -> DomainResult<CustomPolicy> {
        let mut p = self.custom_policy_get(id).await?;
        if let Some(n) = f.display_name {
            check_policy_name(&n)?;
            p.display_name = n;
        }
        if let Some(d) = f.description {
            p.description = d;
        }
        if let Some(k) = f.kind {
            check_kind(&k)?;
            p.kind = k;
        }
        if let Some(doc) = f.document {
            p.document = document_text(&doc)?;
        }
        p.updated_at = Timestamp::now();
        self.store().custom_policy_update(&p).await?;
        self.iam_changed().await?;
        Ok(p)
    }

    pub async fn custom_policy_delete(&self, id: &RoleId) -> DomainResult<()> {
        if !self.store().custom_policy_delete(id).await? {
            return Err(DomainError::not_found("Role", id));
        }
        self.iam_changed().await
    }
}
