//! The route table every family registers through: each route names the
//! [`Action`]s it needs, and the gate asks the service's authorizer about
//! them before the handler runs (before the body is read).
//!
//! A family builds its router with [`Routes::add`]; the entries it records
//! are the family's action table, which `tests/routes.rs` checks against
//! the documented endpoints and IAM actions.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::Router;
use platter_model::{Access, Action, AuthContext, DomainError};

use crate::ApiState;

/// What a route needs.
#[derive(Debug, Clone, Copy)]
pub enum Gate {
    /// All of these, checked before the handler runs (co-listed IAM actions
    /// are all required).
    All(&'static [Action]),
    /// One of these, chosen by the request body (`/action` endpoints): the
    /// service operation the body selects authorizes its own action.
    OneOf(&'static [Action]),
}

impl Gate {
    pub fn actions(&self) -> &'static [Action] {
        match self {
            Gate::All(a) | Gate::OneOf(a) => a,
        }
    }
}

/// One row of a family's action table.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub method: Method,
    pub path: String,
    pub gate: Gate,
    /// Whether a grant on an enterprise project authorizes the route (on
    /// that project's resources): the documents' "enterprise project"
    /// scope column.
    pub enterprise: bool,
}

/// How a family's gate finds its caller and words a refusal.
#[derive(Clone, Copy)]
pub struct GateFamily {
    /// The caller, as the family's authentication middleware recorded it.
    pub context: fn(&Request) -> Option<AuthContext>,
    /// A refusal in the family's error format.
    pub refuse: fn(DomainError) -> Response,
    /// Limits the recorded caller to resources of these enterprise
    /// projects (families with enterprise-project routes).
    pub narrow: fn(&mut Request, Arc<BTreeSet<String>>),
}

#[derive(Clone)]
struct GateState {
    api: ApiState,
    family: GateFamily,
    actions: &'static [Action],
    enterprise: bool,
}

async fn check_gate(State(g): State<GateState>, mut req: Request, next: Next) -> Response {
    if let Some(ctx) = (g.family.context)(&req) {
        let path = req.uri().path().to_string();
        match g
            .api
            .platter
            .authorize_route(&ctx, g.actions, g.enterprise, &path)
        {
            Ok(None) => {}
            // Allowed by enterprise-project grants only: the handler acts
            // on those projects' resources only.
            Ok(Some(scope)) => (g.family.narrow)(&mut req, scope),
            Err(e) => return (g.family.refuse)(e),
        }
    }
    next.run(req).await
}

/// For families without enterprise-project routes (the gate never narrows
/// them).
pub fn no_narrowing(_: &mut Request, _: Arc<BTreeSet<String>>) {}

/// A family's router under construction, with its action table.
pub struct Routes {
    state: ApiState,
    family: GateFamily,
    router: Router<ApiState>,
    entries: Vec<RouteEntry>,
}

impl Routes {
    pub fn new(state: ApiState, family: GateFamily) -> Routes {
        Routes {
            state,
            family,
            router: Router::new(),
            entries: Vec::new(),
        }
    }

    /// Serves `method path` with `handler` (a one-method router such as
    /// `get(show)`), behind `gate`.
    pub fn add(
        self,
        method: Method,
        path: &str,
        gate: Gate,
        handler: MethodRouter<ApiState>,
    ) -> Routes {
        self.route(method, path, gate, false, handler)
    }

    /// [`Routes::add`] for a route that enterprise-project grants also
    /// authorize (on resources of those projects).
    pub fn add_ep(
        self,
        method: Method,
        path: &str,
        gate: Gate,
        handler: MethodRouter<ApiState>,
    ) -> Routes {
        self.route(method, path, gate, true, handler)
    }

    fn route(
        mut self,
        method: Method,
        path: &str,
        gate: Gate,
        enterprise: bool,
        handler: MethodRouter<ApiState>,
    ) -> Routes {
        let checked: &'static [Action] = match gate {
            Gate::All(actions) if actions.iter().any(|a| a.access() != Access::Public) => actions,
            _ => &[],
        };
        let handler = if checked.is_empty() {
            handler
        } else {
            handler.route_layer(from_fn_with_state(
                GateState {
                    api: self.state.clone(),
                    family: self.family,
                    actions: checked,
                    enterprise,
                },
                check_gate,
            ))
        };
        self.router = self.router.route(path, handler);
        self.entries.push(RouteEntry {
            method,
            path: path.to_string(),
            gate,
            enterprise,
        });
        self
    }

    /// Adds a group of routes built elsewhere (a family's sub-resource).
    pub fn with(self, add: impl FnOnce(Routes) -> Routes) -> Routes {
        add(self)
    }

    /// The router and its action table.
    pub fn finish(self) -> (Router<ApiState>, Vec<RouteEntry>) {
        (self.router, self.entries)
    }
}

/// Entries of a router nested under each of `prefixes`.
pub fn nested(prefixes: &[&str], entries: &[RouteEntry]) -> Vec<RouteEntry> {
    prefixes
        .iter()
        .flat_map(|p| {
            entries.iter().map(move |e| RouteEntry {
                method: e.method.clone(),
                path: format!("{p}{}", if e.path == "/" { "" } else { &e.path }),
                gate: e.gate,
                enterprise: e.enterprise,
            })
        })
        .collect()
}
