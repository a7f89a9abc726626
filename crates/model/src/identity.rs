use serde::{Deserialize, Serialize};

use crate::{DomainId, ProjectId, RoleId, Timestamp, UserId};

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
    pub methods: Vec<String>,
    pub audit_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl TokenInfo {
    pub fn auth_context(&self) -> Option<AuthContext> {
        let project = self.project.as_ref()?;
        Some(AuthContext {
            user_id: self.user.id.clone(),
            project_id: project.id.clone(),
            roles: self.roles.iter().map(|r| r.name.clone()).collect(),
        })
    }
}

/// The caller of a project-scoped operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: UserId,
    pub project_id: ProjectId,
    pub roles: Vec<String>,
}

impl AuthContext {
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
