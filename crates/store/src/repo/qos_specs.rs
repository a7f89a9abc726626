//! QoS specs and their association with volume types.

use platter_model::{DomainResult, QosSpecs, QosSpecsId, VolumeType, VolumeTypeId};

repository! {
    /// QoS specs.
    pub trait QosSpecsRepo {
        /// Inserts QoS specs; a taken name is a `Conflict`.
        async fn qos_specs_create(&self, q: &QosSpecs) -> DomainResult<()>;
        async fn qos_specs_list(&self) -> DomainResult<Vec<QosSpecs>>;
        async fn qos_specs_get(&self, id: &QosSpecsId) -> DomainResult<Option<QosSpecs>>;
        /// Replaces the specs (the keys and values).
        async fn qos_specs_set(&self, q: &QosSpecs) -> DomainResult<()>;
        /// Deletes QoS specs; while types are associated, refused
        /// (`InvalidState`) unless `force`, which disassociates them first.
        async fn qos_specs_delete(&self, id: &QosSpecsId, force: bool) -> DomainResult<()>;
        /// Associates a type; a type already associated with other specs is
        /// refused (`InvalidState`).
        async fn qos_specs_associate(&self, id: &QosSpecsId, type_id: &VolumeTypeId) -> DomainResult<()>;
        /// Disassociates one type (`None`: every type).
        async fn qos_specs_disassociate(&self, id: &QosSpecsId, type_id: Option<&VolumeTypeId>) -> DomainResult<()>;
        /// The types associated with QoS specs.
        async fn qos_specs_types(&self, id: &QosSpecsId) -> DomainResult<Vec<VolumeType>>;
    }
}
