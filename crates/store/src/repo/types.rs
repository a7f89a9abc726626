//! Volume types.

use platter_model::{DomainResult, VolumeType, VolumeTypeId};

repository! {
    /// Volume types.
    pub trait TypeRepo {
        /// Inserts a type unless one of that name exists.
        async fn volume_type_ensure(&self, t: &VolumeType) -> DomainResult<()>;
        async fn volume_type_list(&self) -> DomainResult<Vec<VolumeType>>;
        /// Finds a type by id, or else by name (Cinder accepts either).
        async fn volume_type_find(&self, id_or_name: &str) -> DomainResult<Option<VolumeType>>;
        /// Inserts a type; a taken name is a `Conflict`.
        async fn volume_type_create(&self, t: &VolumeType) -> DomainResult<()>;
        /// Replaces a type's name, description, visibility and extra specs;
        /// a taken name is a `Conflict`.
        async fn volume_type_update(&self, t: &VolumeType) -> DomainResult<()>;
        /// Deletes a type no volume uses (else `InvalidState`).
        async fn volume_type_delete(&self, id: &VolumeTypeId) -> DomainResult<()>;
    }
}
