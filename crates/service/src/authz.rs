//! The one authorization point: every service operation, and every route
//! before its handler runs, asks [`Platter::authorize`] about an [`Action`].
//! The decision is behind [`Authorizer`]; today's role rules are its first
//! implementation, IAM policies will be another.

use std::collections::BTreeSet;
use std::sync::Arc;

use platter_model::{Access, Action, AuthContext, DomainError, DomainResult};

use crate::Platter;

/// Decides whether a caller may perform an action.
pub trait Authorizer: Send + Sync {
    fn allows(&self, ctx: &AuthContext, action: Action) -> bool;
}

/// Keystone's and Cinder's default rules: `reader` looks, `member` changes
/// its project's resources, `admin` does anything.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoleAuthorizer;

impl Authorizer for RoleAuthorizer {
    fn allows(&self, ctx: &AuthContext, action: Action) -> bool {
        match action.access() {
            Access::Public | Access::Read => true,
            Access::Write => ctx.can_write(),
            Access::Admin => ctx.is_admin(),
        }
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
    fn allows(&self, ctx: &AuthContext, action: Action) -> bool {
        !self.denied.contains(&action) && self.inner.allows(ctx, action)
    }
}

impl Platter {
    /// Whether `ctx` may perform `action`; `NotAllowed` if not.
    pub fn authorize(&self, ctx: &AuthContext, action: Action) -> DomainResult<()> {
        if self.inner.authorizer.allows(ctx, action) {
            Ok(())
        } else {
            Err(DomainError::NotAllowed { action })
        }
    }

    /// [`Platter::authorize`] for every action of a route (co-listed
    /// actions are all required).
    pub fn authorize_all(&self, ctx: &AuthContext, actions: &[Action]) -> DomainResult<()> {
        actions.iter().try_for_each(|&a| self.authorize(ctx, a))
    }
}
