//! Domains, projects, users, roles, assignments and tokens.

use platter_model::{
    Domain, DomainId, DomainResult, Project, ProjectId, Role, RoleAssignment, RoleId, Timestamp,
    User, UserId,
};

/// Filters of a user or project listing.
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    pub name: Option<String>,
    pub domain_id: Option<DomainId>,
}

/// A stored token, found by the hash of its value.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub user_id: UserId,
    pub project_id: Option<ProjectId>,
    pub methods: Vec<String>,
    pub audit_id: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

repository! {
    /// Domains, projects, users, roles, assignments and tokens.
    pub trait IdentityRepo {
        async fn domain_insert(&self, d: &Domain) -> DomainResult<()>;
        async fn domain_get(&self, id: &DomainId) -> DomainResult<Option<Domain>>;
        async fn domain_find_by_name(&self, name: &str) -> DomainResult<Option<Domain>>;
        async fn domain_list(&self, name: Option<&str>) -> DomainResult<Vec<Domain>>;
        async fn project_insert(&self, p: &Project) -> DomainResult<()>;
        async fn project_get(&self, id: &ProjectId) -> DomainResult<Option<Project>>;
        async fn project_find_by_name(
            &self,
            domain_id: &DomainId,
            name: &str,
        ) -> DomainResult<Option<Project>>;
        async fn project_list(&self, filter: &NameFilter) -> DomainResult<Vec<Project>>;
        /// Projects on which the user holds any role.
        async fn project_list_for_user(&self, user_id: &UserId) -> DomainResult<Vec<Project>>;
        async fn project_update(&self, p: &Project) -> DomainResult<()>;
        /// Deletes a project; its volumes and snapshots stay.
        async fn project_delete(&self, id: &ProjectId) -> DomainResult<()>;
        async fn user_insert(&self, u: &User, password_hash: Option<&str>) -> DomainResult<()>;
        async fn user_get(&self, id: &UserId) -> DomainResult<Option<User>>;
        async fn user_find_by_name(
            &self,
            domain_id: &DomainId,
            name: &str,
        ) -> DomainResult<Option<User>>;
        async fn user_password_hash(&self, id: &UserId) -> DomainResult<Option<String>>;
        async fn user_list(&self, filter: &NameFilter) -> DomainResult<Vec<User>>;
        /// Updates a user; `password_hash` replaces the password when given, and
        /// revokes the user's tokens.
        async fn user_update(&self, u: &User, password_hash: Option<&str>) -> DomainResult<()>;
        async fn user_delete(&self, id: &UserId) -> DomainResult<()>;
        async fn role_insert(&self, r: &Role) -> DomainResult<()>;
        async fn role_get(&self, id: &RoleId) -> DomainResult<Option<Role>>;
        async fn role_find_by_name(&self, name: &str) -> DomainResult<Option<Role>>;
        async fn role_list(&self, name: Option<&str>) -> DomainResult<Vec<Role>>;
        async fn assignment_add(&self, a: &RoleAssignment) -> DomainResult<()>;
        /// Removes an assignment; `false` if there was none.
        async fn assignment_remove(&self, a: &RoleAssignment) -> DomainResult<bool>;
        async fn assignment_list(
            &self,
            user_id: Option<&UserId>,
            project_id: Option<&ProjectId>,
            role_id: Option<&RoleId>,
        ) -> DomainResult<Vec<RoleAssignment>>;
        /// The roles a user holds on a project.
        async fn roles_of(&self, user_id: &UserId, project_id: &ProjectId) -> DomainResult<Vec<Role>>;
        async fn token_insert(&self, token_hash: &str, t: &TokenRow) -> DomainResult<()>;
        async fn token_get(&self, token_hash: &str) -> DomainResult<Option<TokenRow>>;
        /// Revokes a token and every token issued from it (same audit chain).
        async fn token_revoke(&self, token_hash: &str) -> DomainResult<bool>;
        /// Drops tokens that expired before `now`.
        async fn token_purge_expired(&self, now: Timestamp) -> DomainResult<u64>;
    }
}
