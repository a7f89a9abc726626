use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{DomainId, ProjectId, RoleId, Timestamp, UserGroupId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    pub id: DomainId,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub domain_id: DomainId,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub domain_id: DomainId,
    pub default_project_id: Option<ProjectId>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub user_id: UserId,
    pub project_id: ProjectId,
    pub role_id: RoleId,
}

/// A validated token: who is calling, in which project, with which roles.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    pub user: User,
    pub user_domain: Domain,
    /// `None` for an unscoped token.
    pub project: Option<Project>,
    pub project_domain: Option<Domain>,
    pub roles: Vec<Role>,
    /// Roles held through grants on enterprise projects: (enterprise
    /// project, role name).
    pub enterprise_roles: Vec<(String, String)>,
    pub methods: Vec<String>,
    pub audit_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl TokenInfo {
    /// Whether the holder of this token may validate, check or revoke a
    /// token of `owner`: its owner, or an admin (Keystone's
    /// `identity:validate_token`, `check_token` and `revoke_token`:
    /// `rule:admin_required or rule:token_subject`).
    pub fn may_handle_token_of(&self, owner: &UserId) -> bool {
        self.user.id == *owner || self.roles.iter().any(|r| r.name == "admin")
    }

    pub fn auth_context(&self) -> Option<AuthContext> {
        let project = self.project.as_ref()?;
        Some(AuthContext {
            user_id: self.user.id.clone(),
            project_id: project.id.clone(),
            roles: self.roles.iter().map(|r| r.name.clone()).collect(),
            enterprise_roles: self.enterprise_roles.clone(),
            enterprise_scope: None,
        })
    }
}

/// The caller of a project-scoped operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: UserId,
    pub project_id: ProjectId,
    /// Roles (Keystone roles, system and custom policies) held on the
    /// project: directly, through groups, or inherited from the domain.
    pub roles: Vec<String>,
    /// Roles held on enterprise projects: (enterprise project, role name).
    pub enterprise_roles: Vec<(String, String)>,
    /// Set by the route gate when only enterprise-project grants allow the
    /// route: the caller acts on resources of these enterprise projects
    /// only. `None`: the whole project.
    pub enterprise_scope: Option<Arc<BTreeSet<String>>>,
}

impl AuthContext {
    /// A caller with project roles only.
    pub fn new(user_id: UserId, project_id: ProjectId, roles: Vec<String>) -> AuthContext {
        AuthContext {
            user_id,
            project_id,
            roles,
            enterprise_roles: Vec::new(),
            enterprise_scope: None,
        }
    }

    /// Whether a resource of enterprise project `ep` is within the
    /// caller's scope.
    pub fn in_enterprise_scope(&self, ep: &str) -> bool {
        self.enterprise_scope
            .as_ref()
            .is_none_or(|s| s.contains(ep))
    }

    /// Holders of the `admin` role are cloud administrators, as in Keystone's
    /// and Cinder's default policies.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
    /// `reader` alone may look but not change.
    pub fn can_write(&self) -> bool {
        self.roles.iter().any(|r| r == "admin" || r == "member")
    }
}

/// A user group (Keystone's groups, Huawei IAM's user groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGroup {
    pub id: UserGroupId,
    pub domain_id: DomainId,
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GrantScope {
    Project(ProjectId),
    /// The domain itself (domain-scoped calls; Keystone's domain grants).
    Domain(DomainId),
    /// Every project of the domain, now and later (`OS-INHERIT`).
    AllProjects(DomainId),
    /// Resources of an enterprise project, in any project of the domain.
    EnterpriseProject(String),
}

impl GrantScope {
    /// The stored (kind, target) pair.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            GrantScope::Project(p) => ("project", p.as_str()),
            GrantScope::Domain(d) => ("domain", d.as_str()),
            GrantScope::AllProjects(d) => ("inherited", d.as_str()),
            GrantScope::EnterpriseProject(e) => ("enterprise_project", e),
        }
    }

    pub fn from_parts(kind: &str, target: &str) -> Option<GrantScope> {
        Some(match kind {
            "project" => GrantScope::Project(ProjectId::from(target)),
            "domain" => GrantScope::Domain(DomainId::from(target)),
            "inherited" => GrantScope::AllProjects(DomainId::from(target)),
            "enterprise_project" => GrantScope::EnterpriseProject(target.to_string()),
            _ => return None,
        })
    }
}

/// A role (policy) granted to a group somewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupGrant {
    pub group_id: UserGroupId,
    pub role_id: RoleId,
    pub scope: GrantScope,
}

/// A custom policy: a role whose document the domain wrote
/// (`/v3.0/OS-ROLE/roles`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomPolicy {
    pub role_id: RoleId,
    pub domain_id: DomainId,
    /// Its name as IAM shows it; also the role's Keystone name.
    pub display_name: String,
    pub description: String,
    /// `AX` (project-level services) or `XA` (global services).
    pub kind: String,
    /// The document's JSON text (valid: checked on the way in).
    pub document: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
