//! Identity: bootstrap, password and token authentication, token validation
//! and revocation, and administration of projects, users and roles.

use platter_model::{
    new_hex_id, AuthContext, Domain, DomainError, DomainId, DomainResult, Project, ProjectId, Role,
    RoleAssignment, RoleId, Timestamp, TokenInfo, User, UserId,
};
use platter_store::identity_types::{NameFilter, TokenRow};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::password::Login;
use crate::Platter;

pub const ADMIN_ROLE: &str = "admin";
pub const MEMBER_ROLE: &str = "member";
pub const READER_ROLE: &str = "reader";
pub const DEFAULT_DOMAIN_ID: &str = "default";

/// The id of the `Default` domain.
pub(crate) fn default_domain() -> DomainId {
    DomainId::from(DEFAULT_DOMAIN_ID)
}

/// A domain named by id or by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainRef {
    pub id: Option<DomainId>,
    pub name: Option<String>,
}

/// A user named by id, or by name within a domain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRef {
    pub id: Option<UserId>,
    pub name: Option<String>,
    pub domain: Option<DomainRef>,
}

/// A project named by id, or by name within a domain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectScope {
    pub id: Option<ProjectId>,
    pub name: Option<String>,
    pub domain: Option<DomainRef>,
}

/// `POST /v3/auth/tokens`, decoded.
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    pub methods: Vec<String>,
    pub password: Option<(UserRef, String)>,
    pub token: Option<String>,
    pub project: Option<ProjectScope>,
    /// Where the request came from (the per-source limit on failures).
    pub source: Option<std::net::IpAddr>,
}

pub struct IssuedToken {
    pub token: String,
    pub info: TokenInfo,
}

fn unauthorized() -> DomainError {
    DomainError::Unauthorized("The request you have made requires authentication.".into())
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("gAAAAA{}", hex::encode(bytes))
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Fields of a new or updated user.
#[derive(Debug, Clone, Default)]
pub struct UserFields {
    pub name: Option<String>,
    pub domain_id: Option<DomainId>,
    pub password: Option<String>,
    pub default_project_id: Option<Option<ProjectId>>,
    pub email: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// Fields of a new or updated project.
#[derive(Debug, Clone, Default)]
pub struct ProjectFields {
    pub name: Option<String>,
    pub domain_id: Option<DomainId>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A project's or user's domain is fixed (Keystone's
/// `_require_matching_domain_id`): naming another is refused, naming its
/// own is allowed.
fn refuse_domain_change(wanted: Option<&DomainId>, current: &DomainId) -> DomainResult<()> {
    match wanted {
        Some(d) if d != current => Err(DomainError::invalid("Cannot change Domain ID")),
        _ => Ok(()),
    }
}

fn check_name(kind: &str, name: &str) -> DomainResult<()> {
    if name.trim().is_empty() || name.len() > 255 {
        return Err(DomainError::invalid(format!(
            "Invalid input for field '{kind}': the name must be 1 to 255 characters."
        )));
    }
    Ok(())
}

impl Platter {
    /// Creates the `Default` domain, the standard roles, project `admin` and
    /// user `admin` (with the admin role on it) when the store is new.
    /// Returns the admin password when this call created the admin user.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> DomainResult<Option<String>> {
        let store = self.store();
        if store.domain_get(&default_domain()).await?.is_none() {
            store
                .domain_insert(&Domain {
                    id: default_domain(),
                    name: "Default".into(),
                    description: "The default domain".into(),
                    enabled: true,
                })
                .await?;
        }
        // Keystone's roles and IAM's system policies, each a role.
        for role in platter_model::SYSTEM_POLICIES.iter().map(|p| p.name) {
            if store.role_find_by_name(role).await?.is_none() {
                store
                    .role_insert(&Role {
                        id: RoleId::new(),
                        name: role.into(),
                    })
                    .await?;
            }
        }
        self.ensure_volume_types().await?;
        self.iam_reload_now().await?;
        if store
            .user_find_by_name(&default_domain(), "admin")
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let project = match store
            .project_find_by_name(&default_domain(), "admin")
            .await?
        {
            Some(p) => p,
            None => {
                self.project_create(ProjectFields {
                    name: Some("admin".into()),
                    description: Some("Bootstrap project for initializing the cloud.".into()),
                    ..Default::default()
                })
                .await?
            }
        };
        let password = admin_password
            .map(str::to_string)
            .unwrap_or_else(random_password);
        let user = self
            .user_create(UserFields {
                name: Some("admin".into()),
                password: Some(password.clone()),
                default_project_id: Some(Some(project.id.clone())),
                ..Default::default()
            })
            .await?;
        self.role_assign(&user.id, &project.id, ADMIN_ROLE).await?;
        Ok(Some(password))
    }

    async fn resolve_domain(&self, d: Option<&DomainRef>) -> DomainResult<Domain> {
        let store = self.store();
        let found = match d {
            None => store.domain_get(&default_domain()).await?,
            Some(DomainRef { id: Some(id), .. }) => store.domain_get(id).await?,
            Some(DomainRef {
                name: Some(name), ..
            }) => store.domain_find_by_name(name).await?,
            Some(_) => {
                return Err(DomainError::invalid(
                    "A domain must be given by id or name.",
                ))
            }
        };
        found.ok_or_else(unauthorized)
    }

    /// The user `u` names if `password` is theirs. Every failure costs the
    /// same (an unknown or disabled user is verified against a dummy hash)
    /// and reads the same (401); a user or name with too many failures is
    /// locked out, and a source with too many is refused (429).
    async fn check_password(
        &self,
        u: &UserRef,
        password: &str,
        source: Option<std::net::IpAddr>,
    ) -> DomainResult<User> {
        let guard = &self.inner.passwords;
        guard.check_source(source)?;
        let user = match (&u.id, &u.name) {
            (Some(id), _) => self.store().user_get(id).await?,
            (None, Some(name)) => {
                let domain = self.resolve_domain(u.domain.as_ref()).await?;
                self.store().user_find_by_name(&domain.id, name).await?
            }
            (None, None) => {
                return Err(DomainError::invalid("A user must be given by id or name."))
            }
        };
        let who = match &user {
            Some(user) => user.id.to_string(),
            None => format!("unknown:{:?}/{:?}/{:?}", u.id, u.domain, u.name),
        };
        let hash = match &user {
            Some(user) if user.enabled => self.store().user_password_hash(&user.id).await?,
            _ => None,
        };
        let login = guard.login(&who, password, hash.as_deref()).await?;
        match (login, user) {
            (Login::Valid, Some(user)) => {
                guard.clear(&who);
                Ok(user)
            }
            (Login::Locked, _) => {
                crate::metrics::auth_failure("password", "locked");
                tracing::warn!(target: "platter::audit", user = %who, source = ?source, "login refused: account locked");
                Err(unauthorized())
            }
            _ => {
                crate::metrics::auth_failure("password", "invalid");
                if guard.failed(&who, source) {
                    tracing::warn!(target: "platter::audit", user = %who, source = ?source, "account locked after repeated failures");
                }
                Err(unauthorized())
            }
        }
    }

    async fn resolve_project(&self, p: &ProjectScope) -> DomainResult<Project> {
        let project = match (&p.id, &p.name) {
            (Some(id), _) => self.store().project_get(id).await?,
            (None, Some(name)) => {
                let domain = self.resolve_domain(p.domain.as_ref()).await?;
                self.store().project_find_by_name(&domain.id, name).await?
            }
            (None, None) => {
                return Err(DomainError::invalid(
                    "A project must be given by id or name.",
                ))
            }
        };
        project.filter(|p| p.enabled).ok_or_else(unauthorized)
    }

    /// Authenticates and issues a token.
    pub async fn authenticate(&self, req: &AuthRequest) -> DomainResult<IssuedToken> {
        let now = Timestamp::now();
        let (user, methods, audit_parent, expires_at) =
            if req.methods.iter().any(|m| m == "password") {
                let (user_ref, password) = req.password.as_ref().ok_or_else(|| {
                    DomainError::invalid("Expecting to find password in identity.")
                })?;
                let user = self.check_password(user_ref, password, req.source).await?;
                let ttl = time::Duration::try_from(self.config().token_ttl)
                    .unwrap_or(time::Duration::DAY);
                (user, vec!["password".to_string()], None, now + ttl)
            } else if req.methods.iter().any(|m| m == "token") {
                let token = req
                    .token
                    .as_deref()
                    .ok_or_else(|| DomainError::invalid("Expecting to find id in token."))?;
                let info = self.validate_token(token).await?;
                let mut methods = info.methods.clone();
                if !methods.iter().any(|m| m == "token") {
                    methods.push("token".into());
                }
                (info.user, methods, Some(info.audit_id), info.expires_at)
            } else {
                return Err(DomainError::Unauthorized(
                    "Attempted to authenticate with an unsupported method.".into(),
                ));
            };

        let project = match &req.project {
            Some(scope) => {
                let project = self.resolve_project(scope).await?;
                if !self.has_access(&user, &project).await? {
                    return Err(DomainError::Unauthorized(format!(
                        "User {} has no access to project {}",
                        user.id, project.id
                    )));
                }
                Some(project)
            }
            None => None,
        };

        let token = random_token();
        let row = TokenRow {
            user_id: user.id.clone(),
            project_id: project.as_ref().map(|p| p.id.clone()),
            methods,
            audit_id: audit_parent.unwrap_or_else(new_hex_id),
            issued_at: now,
            expires_at,
            revoked: false,
        };
        self.store().token_insert(&token_hash(&token), &row).await?;
        let info = self.token_info(row).await?;
        Ok(IssuedToken { token, info })
    }

    async fn token_info(&self, row: TokenRow) -> DomainResult<TokenInfo> {
        let store = self.store();
        let user = store
            .user_get(&row.user_id)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(unauthorized)?;
        let user_domain = store
            .domain_get(&user.domain_id)
            .await?
            .ok_or_else(unauthorized)?;
        let (project, project_domain, roles) = match &row.project_id {
            Some(pid) => {
                let project = store
                    .project_get(pid)
                    .await?
                    .filter(|p| p.enabled)
                    .ok_or_else(unauthorized)?;
                let domain = store
                    .domain_get(&project.domain_id)
                    .await?
                    .ok_or_else(unauthorized)?;
                let roles = store.roles_of(&user.id, pid).await?;
                if roles.is_empty() && !self.has_access(&user, &project).await? {
                    return Err(unauthorized());
                }
                (Some(project), Some(domain), roles)
            }
            None => (None, None, Vec::new()),
        };
        let enterprise_roles = if project.is_some() {
            store
                .enterprise_roles_of(&user.id)
                .await?
                .into_iter()
                .map(|(ep, r)| (ep, r.name))
                .collect()
        } else {
            Vec::new()
        };
        Ok(TokenInfo {
            user,
            user_domain,
            project,
            project_domain,
            roles,
            enterprise_roles,
            methods: row.methods,
            audit_id: row.audit_id,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
        })
    }

    /// Validates a token: known, not revoked, not expired, its user and
    /// project still enabled and still holding a role.
    pub async fn validate_token(&self, token: &str) -> DomainResult<TokenInfo> {
        if token.is_empty() || token.len() > 1024 {
            return Err(unauthorized());
        }
        let row = self
            .store()
            .token_get(&token_hash(token))
            .await?
            .ok_or_else(unauthorized)?;
        if row.revoked || row.expires_at <= Timestamp::now() {
            return Err(unauthorized());
        }
        self.token_info(row).await
    }

    /// The project-scoped caller a token stands for.
    pub async fn auth_context(&self, token: &str) -> DomainResult<AuthContext> {
        let info = self.validate_token(token).await?;
        info.auth_context()
            .ok_or_else(|| DomainError::Unauthorized("A project-scoped token is required.".into()))
    }

    pub async fn revoke_token(&self, token: &str) -> DomainResult<()> {
        let hash = token_hash(token);
        match self.store().token_get(&hash).await? {
            Some(row) if !row.revoked => {
                self.store().token_revoke(&hash).await?;
                Ok(())
            }
            _ => Err(DomainError::not_found("Token", "(subject token)")),
        }
    }

    // ---- projects ----

    pub async fn project_create(&self, f: ProjectFields) -> DomainResult<Project> {
        let name = f
            .name
            .ok_or_else(|| DomainError::invalid("'name' is a required property"))?;
        check_name("name", &name)?;
        let domain_id = f.domain_id.unwrap_or_else(default_domain);
        if self.store().domain_get(&domain_id).await?.is_none() {
            return Err(DomainError::not_found("Domain", domain_id));
        }
        let p = Project {
            id: ProjectId::new(),
            name,
            domain_id,
            description: f.description.unwrap_or_default(),
            enabled: f.enabled.unwrap_or(true),
        };
        self.store().project_insert(&p).await?;
        Ok(p)
    }

    pub async fn project_get(&self, id: &ProjectId) -> DomainResult<Project> {
        self.store()
            .project_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Project", id))
    }

    pub async fn project_list(
        &self,
        name: Option<String>,
        domain_id: Option<DomainId>,
    ) -> DomainResult<Vec<Project>> {
        self.store()
            .project_list(&NameFilter { name, domain_id })
            .await
    }

    pub async fn project_list_for_user(&self, user_id: &UserId) -> DomainResult<Vec<Project>> {
        self.store().project_list_for_user(user_id).await
    }

    pub async fn project_update(&self, id: &ProjectId, f: ProjectFields) -> DomainResult<Project> {
        let mut p = self.project_get(id).await?;
        refuse_domain_change(f.domain_id.as_ref(), &p.domain_id)?;
        if let Some(name) = f.name {
            check_name("name", &name)?;
            p.name = name;
        }
        if let Some(d) = f.description {
            p.description = d;
        }
        if let Some(e) = f.enabled {
            p.enabled = e;
        }
        self.store().project_update(&p).await?;
        Ok(p)
    }

    pub async fn project_delete(&self, id: &ProjectId) -> DomainResult<()> {
        self.store().project_delete(id).await
    }

    // ---- users ----

    pub async fn user_create(&self, f: UserFields) -> DomainResult<User> {
        let name = f
            .name
            .ok_or_else(|| DomainError::invalid("'name' is a required property"))?;
        check_name("name", &name)?;
        let domain_id = f.domain_id.unwrap_or_else(default_domain);
        if self.store().domain_get(&domain_id).await?.is_none() {
            return Err(DomainError::not_found("Domain", domain_id));
        }
        let default_project_id = f.default_project_id.flatten();
        if let Some(pid) = &default_project_id {
            self.project_get(pid).await?;
        }
        let hash = match &f.password {
            Some(p) => Some(self.inner.passwords.hash(p).await?),
            None => None,
        };
        let u = User {
            id: UserId::new(),
            name,
            domain_id,
            default_project_id,
            email: f.email.flatten(),
            description: f.description.flatten(),
            enabled: f.enabled.unwrap_or(true),
        };
        self.store().user_insert(&u, hash.as_deref()).await?;
        Ok(u)
    }

    pub async fn user_get(&self, id: &UserId) -> DomainResult<User> {
        self.store()
            .user_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("User", id))
    }

    pub async fn user_list(
        &self,
        name: Option<String>,
        domain_id: Option<DomainId>,
    ) -> DomainResult<Vec<User>> {
        self.store()
            .user_list(&NameFilter { name, domain_id })
            .await
    }

    pub async fn user_update(&self, id: &UserId, f: UserFields) -> DomainResult<User> {
        let mut u = self.user_get(id).await?;
        refuse_domain_change(f.domain_id.as_ref(), &u.domain_id)?;
        if let Some(name) = f.name {
            check_name("name", &name)?;
            u.name = name;
        }
        if let Some(p) = f.default_project_id {
            if let Some(pid) = &p {
                self.project_get(pid).await?;
            }
            u.default_project_id = p;
        }
        if let Some(e) = f.email {
            u.email = e;
        }
        if let Some(d) = f.description {
            u.description = d;
        }
        if let Some(e) = f.enabled {
            u.enabled = e;
        }
        let hash = match &f.password {
            Some(p) => Some(self.inner.passwords.hash(p).await?),
            None => None,
        };
        self.store().user_update(&u, hash.as_deref()).await?;
        if hash.is_some() || f.enabled == Some(true) {
            // A new password, or enabling the account, lifts a lockout.
            self.inner.passwords.clear(u.id.as_str());
        }
        Ok(u)
    }

    pub async fn user_delete(&self, id: &UserId) -> DomainResult<()> {
        self.store().user_delete(id).await
    }

    // ---- roles and assignments ----

    pub async fn role_list(&self, name: Option<&str>) -> DomainResult<Vec<Role>> {
        self.store().role_list(name).await
    }

    pub async fn role_get(&self, id: &RoleId) -> DomainResult<Role> {
        self.store()
            .role_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Role", id))
    }

    /// Gives a user a role (by id or name) on a project.
    pub async fn role_assign(
        &self,
        user_id: &UserId,
        project_id: &ProjectId,
        role: &str,
    ) -> DomainResult<()> {
        let a = self.assignment(user_id, project_id, role).await?;
        self.store().assignment_add(&a).await
    }

    pub async fn role_unassign(
        &self,
        user_id: &UserId,
        project_id: &ProjectId,
        role: &str,
    ) -> DomainResult<()> {
        let a = self.assignment(user_id, project_id, role).await?;
        if !self.store().assignment_remove(&a).await? {
            return Err(DomainError::not_found(
                "Role assignment",
                format!("{user_id}/{project_id}/{role}"),
            ));
        }
        Ok(())
    }

    pub async fn role_assignment_exists(
        &self,
        user_id: &UserId,
        project_id: &ProjectId,
        role: &str,
    ) -> DomainResult<bool> {
        let a = self.assignment(user_id, project_id, role).await?;
        let found = self
            .store()
            .assignment_list(Some(&a.user_id), Some(&a.project_id), Some(&a.role_id))
            .await?;
        Ok(!found.is_empty())
    }

    pub async fn role_assignment_list(
        &self,
        user_id: Option<&UserId>,
        project_id: Option<&ProjectId>,
        role_id: Option<&RoleId>,
    ) -> DomainResult<Vec<RoleAssignment>> {
        self.store()
            .assignment_list(user_id, project_id, role_id)
            .await
    }

    pub async fn roles_of(
        &self,
        user_id: &UserId,
        project_id: &ProjectId,
    ) -> DomainResult<Vec<Role>> {
        self.store().roles_of(user_id, project_id).await
    }

    async fn assignment(
        &self,
        user_id: &UserId,
        project_id: &ProjectId,
        role: &str,
    ) -> DomainResult<RoleAssignment> {
        self.user_get(user_id).await?;
        self.project_get(project_id).await?;
        let role = match self.store().role_get(&RoleId::from(role)).await? {
            Some(r) => r,
            None => self
                .store()
                .role_find_by_name(role)
                .await?
                .ok_or_else(|| DomainError::not_found("Role", role))?,
        };
        Ok(RoleAssignment {
            user_id: user_id.clone(),
            project_id: project_id.clone(),
            role_id: role.id,
        })
    }

    /// Whether a user may act in a project: a role on it (directly,
    /// through a group, inherited from its domain), or a grant on an
    /// enterprise project of the project's domain (enterprise projects span
    /// the domain's projects).
    pub async fn has_access(&self, user: &User, project: &Project) -> DomainResult<bool> {
        let store = self.store();
        if !store.roles_of(&user.id, &project.id).await?.is_empty() {
            return Ok(true);
        }
        Ok(user.domain_id == project.domain_id
            && !store.enterprise_roles_of(&user.id).await?.is_empty())
    }

    pub async fn domain_get(&self, id: &DomainId) -> DomainResult<Domain> {
        self.store()
            .domain_get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Domain", id))
    }

    pub async fn domain_list(&self, name: Option<&str>) -> DomainResult<Vec<Domain>> {
        self.store().domain_list(name).await
    }
}
