//! Service states (Cinder's `os-services`).

use platter_model::{DomainResult, ServiceState};

repository! {
    /// What operators set on services.
    pub trait ServiceRepo {
        /// Every recorded state (services without one are enabled).
        async fn service_states(&self) -> DomainResult<Vec<ServiceState>>;
        /// Records a service's state, replacing any earlier one.
        async fn service_state_put(&self, s: &ServiceState) -> DomainResult<()>;
    }
}
