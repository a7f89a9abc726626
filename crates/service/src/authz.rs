//! The one authorization point: every service operation, and every route
//! before its handler runs, asks [`Platter::authorize`] about an [`Action`].
//! The decision is behind [`Authorizer`]; [`IamAuthorizer`] evaluates the
//! IAM policies (Keystone roles, system and custom policies) the caller
//! holds on its project and on enterprise projects.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use platter_model::{
    system_policy, Access, Action, AuthContext, Decision, DomainError, DomainResult, Effect,
    Policy, ProjectId, RequestFacts, UserId, SYSTEM_POLICIES,
};

use crate::Platter;

/// Decides whether a caller may perform an action.
pub trait Authorizer: Send + Sync {
    fn decide(&self, ctx: &AuthContext, action: Action) -> Decision;

    /// Custom policy documents changed, or grants did: forget cached
    /// decisions. `custom` maps each custom role name to its document.
    fn policies_changed(&self, _custom: HashMap<String, Arc<Policy>>) {}

    /// How many decisions were evaluated rather than found in a cache.
    fn evaluations(&self) -> u64 {
        0
    }
}

/// The system policies' documents, built once (`reader`'s is generated
/// from the action table).
fn system_documents() -> &'static HashMap<&'static str, Arc<Policy>> {
    static DOCS: std::sync::OnceLock<HashMap<&'static str, Arc<Policy>>> =
        std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        SYSTEM_POLICIES
            .iter()
            .filter_map(|p| system_policy(p.name).map(|d| (p.name, Arc::new(d))))
            .collect()
    })
}

/// A cached evaluation: what one caller's roles decide, per action.
struct Cached {
    generation: u64,
    roles: Vec<String>,
    enterprise_roles: Vec<(String, String)>,
    decisions: HashMap<Action, Decision>,
}

/// Huawei IAM's evaluation over the roles a caller holds: explicit Deny
/// beats Allow, no Allow is denied; project grants first, then enterprise
/// project grants (allowed on those projects' resources only). Cloud-
/// operator actions ([`Access::Admin`]) also need Keystone's `admin` role.
///
/// Decisions are cached per caller (user and project: what a token
/// stands for) and dropped whenever a policy or a grant changes.
#[derive(Default)]
pub struct IamAuthorizer {
    custom: RwLock<HashMap<String, Arc<Policy>>>,
    generation: AtomicU64,
    cache: Mutex<HashMap<(UserId, ProjectId), Cached>>,
    evaluations: AtomicU64,
}

impl IamAuthorizer {
    fn document(&self, role: &str) -> Option<Arc<Policy>> {
        if let Some(p) = system_documents().get(role) {
            return Some(p.clone());
        }
        self.custom.read().ok().and_then(|m| m.get(role).cloned())
    }

    /// The combined effect of `roles`' documents on `name`.
    fn effect(&self, roles: &[&str], name: &str, facts: &RequestFacts<'_>) -> Option<Effect> {
        let mut allowed = false;
        for r in roles {
            match self.document(r).and_then(|d| d.effect(name, facts)) {
                Some(Effect::Deny) => return Some(Effect::Deny),
                Some(Effect::Allow) => allowed = true,
                None => {}
            }
        }
        allowed.then_some(Effect::Allow)
    }

    fn evaluate(&self, ctx: &AuthContext, action: Action) -> Decision {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        let Some(name) = action.iam_action() else {
            return Decision::Allow;
        };
        if action.access() == Access::Admin && !ctx.is_admin() {
            return Decision::Deny;
        }
        let facts = RequestFacts {
            user_id: ctx.user_id.as_str(),
            project_id: ctx.project_id.as_str(),
            now: time::OffsetDateTime::now_utc(),
        };
        let project: Vec<&str> = ctx.roles.iter().map(String::as_str).collect();
        match self.effect(&project, name, &facts) {
            Some(Effect::Deny) => return Decision::Deny,
            Some(Effect::Allow) => return Decision::Allow,
            None => {}
        }
        let mut by_ep: HashMap<&str, Vec<&str>> = HashMap::new();
        for (ep, role) in &ctx.enterprise_roles {
            by_ep.entry(ep).or_default().push(role);
        }
        let eps: BTreeSet<String> = by_ep
            .into_iter()
            .filter(|(_, roles)| self.effect(roles, name, &facts) == Some(Effect::Allow))
            .map(|(ep, _)| ep.to_string())
            .collect();
        if eps.is_empty() {
            Decision::Deny
        } else {
            Decision::AllowIn(eps)
        }
    }

    /// Whether a decision may be kept: not if a document in play tests
    /// the time.
    fn cacheable(&self, ctx: &AuthContext) -> bool {
        ctx.roles
            .iter()
            .chain(ctx.enterprise_roles.iter().map(|(_, r)| r))
            .all(|r| self.document(r).is_none_or(|d| !d.is_time_dependent()))
    }
}

impl Authorizer for IamAuthorizer {
    fn decide(&self, ctx: &AuthContext, action: Action) -> Decision {
        if action.access() == Access::Public {
            return Decision::Allow;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let key = (ctx.user_id.clone(), ctx.project_id.clone());
        if let Ok(cache) = self.cache.lock() {
            if let Some(c) = cache.get(&key) {
                if c.generation == generation
                    && c.roles == ctx.roles
                    && c.enterprise_roles == ctx.enterprise_roles
                {
                    if let Some(d) = c.decisions.get(&action) {
                        return d.clone();
                    }
                }
            }
        }
        let decision = self.evaluate(ctx, action);
        if self.cacheable(ctx) {
            if let Ok(mut cache) = self.cache.lock() {
                let entry = cache.entry(key).or_insert_with(|| Cached {
                    generation,
                    roles: ctx.roles.clone(),
                    enterprise_roles: ctx.enterprise_roles.clone(),
                    decisions: HashMap::new(),
                });
                if entry.generation != generation
                    || entry.roles != ctx.roles
                    || entry.enterprise_roles != ctx.enterprise_roles
                {
                    *entry = Cached {
                        generation,
                        roles: ctx.roles.clone(),
                        enterprise_roles: ctx.enterprise_roles.clone(),
                        decisions: HashMap::new(),
                    };
                }
                entry.decisions.insert(action, decision.clone());
            }
        }
        decision
    }

    fn policies_changed(&self, custom: HashMap<String, Arc<Policy>>) {
        if let Ok(mut m) = self.custom.write() {
            *m = custom;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }
}

/// Refuses the listed actions to everyone and asks `inner` about the rest:
/// the test hook that proves each family refuses what the authorizer
/// denies, in its own format, changing nothing.
pub struct DenyList {
    pub denied: BTreeSet<Action>,
    pub inner: Arc<dyn Authorizer>,
}

impl Authorizer for DenyList {
    fn decide(&self, ctx: &AuthContext, action: Action) -> Decision {
        if self.denied.contains(&action) {
            Decision::Deny
        } else {
            self.inner.decide(ctx, action)
        }
    }

    fn policies_changed(&self, custom: HashMap<String, Arc<Policy>>) {
        self.inner.policies_changed(custom)
    }

    fn evaluations(&self) -> u64 {
        self.inner.evaluations()
    }
}

/// Logs a denial: who, where, what, on what (the audit trail).
fn audit_denied(ctx: &AuthContext, action: Action, resource: &str) {
    tracing::warn!(
        target: "platter::audit",
        user = %ctx.user_id,
        project = %ctx.project_id,
        action = action.iam_action().unwrap_or(action.policy()),
        resource,
        "denied"
    );
}

impl Platter {
    /// Whether `ctx` may perform `action`; `NotAllowed` if not. A caller
    /// the route gate narrowed to enterprise projects passes on what those
    /// projects' grants allow (its resources are checked against them).
    pub fn authorize(&self, ctx: &AuthContext, action: Action) -> DomainResult<()> {
        match self.inner.authorizer.decide(ctx, action) {
            Decision::Allow => Ok(()),
            Decision::AllowIn(_) if ctx.enterprise_scope.is_some() => Ok(()),
            _ => {
                audit_denied(ctx, action, "-");
                Err(DomainError::NotAllowed { action })
            }
        }
    }

    /// [`Platter::authorize`] for every action of a route (co-listed
    /// actions are all required).
    pub fn authorize_all(&self, ctx: &AuthContext, actions: &[Action]) -> DomainResult<()> {
        actions.iter().try_for_each(|&a| self.authorize(ctx, a))
    }

    /// The route gate's question: may `ctx` call a route needing all of
    /// `actions`, on `resource` (the request path)? `Some(eps)` when only
    /// enterprise-project grants allow it, on a route that accepts that
    /// scope (`enterprise_capable`): the caller then acts on those
    /// projects' resources only.
    pub fn authorize_route(
        &self,
        ctx: &AuthContext,
        actions: &[Action],
        enterprise_capable: bool,
        resource: &str,
    ) -> DomainResult<Option<Arc<BTreeSet<String>>>> {
        let mut scope: Option<BTreeSet<String>> = None;
        for &action in actions {
            let allowed_in = match self.inner.authorizer.decide(ctx, action) {
                Decision::Allow => continue,
                Decision::AllowIn(eps) if enterprise_capable => eps,
                _ => {
                    audit_denied(ctx, action, resource);
                    return Err(DomainError::NotAllowed { action });
                }
            };
            let narrowed = match scope.take() {
                None => allowed_in,
                Some(s) => s.intersection(&allowed_in).cloned().collect(),
            };
            if narrowed.is_empty() {
                audit_denied(ctx, action, resource);
                return Err(DomainError::NotAllowed { action });
            }
            scope = Some(narrowed);
        }
        Ok(scope.map(Arc::new))
    }

    /// Decisions evaluated so far rather than found in the cache (tests).
    pub fn authz_evaluations(&self) -> u64 {
        self.inner.authorizer.evaluations()
    }

    /// Records an IAM change (policies, grants, group membership) for every
    /// process sharing the store, and reloads this one's policies.
    pub async fn iam_changed(&self) -> DomainResult<()> {
        self.store().iam_generation_bump().await?;
        self.iam_reload().await
    }

    /// Reloads if another process changed IAM since the last load (the
    /// server polls this, so a change made with `platter admin` or on
    /// another node takes effect within a second).
    pub async fn iam_refresh(&self) -> DomainResult<()> {
        let now = self.store().iam_generation().await?;
        if self
            .inner
            .iam_loaded
            .load(std::sync::atomic::Ordering::Acquire)
            != now
        {
            self.iam_reload().await?;
        }
        Ok(())
    }

    /// Loads the policies (at start).
    pub(crate) async fn iam_reload_now(&self) -> DomainResult<()> {
        self.iam_reload().await
    }

    /// Reloads the custom policies and drops cached decisions.
    async fn iam_reload(&self) -> DomainResult<()> {
        let generation = self.store().iam_generation().await?;
        let mut custom = HashMap::new();
        for p in self.store().custom_policy_list().await? {
            match Policy::parse_str(&p.document) {
                Ok(doc) => {
                    custom.insert(p.display_name.clone(), Arc::new(doc));
                }
                Err(e) => {
                    tracing::error!(policy = %p.role_id, error = %e, "stored policy unreadable")
                }
            }
        }
        self.inner.authorizer.policies_changed(custom);
        self.inner
            .iam_loaded
            .store(generation, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}
