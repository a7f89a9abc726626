//! Volume types.

use platter_model::{DomainResult, ProjectId, TypeEncryption, VolumeType, VolumeTypeId};

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
        /// The default type of `project`, else the type named or id'd
        /// `fallback` (one read).
        async fn volume_type_default_for(
            &self,
            project: &ProjectId,
            fallback: &str,
        ) -> DomainResult<Option<VolumeType>>;
        /// Projects' default types, one project's or all.
        async fn default_types(
            &self,
            project: Option<&ProjectId>,
        ) -> DomainResult<Vec<(ProjectId, VolumeTypeId)>>;
        /// Sets a project's default type, in place of any earlier one.
        async fn default_type_set(&self, project: &ProjectId, t: &VolumeTypeId) -> DomainResult<()>;
        /// Unsets a project's default type; whether it had one.
        async fn default_type_unset(&self, project: &ProjectId) -> DomainResult<bool>;
        /// The projects given access to a (private) type.
        async fn type_access_list(&self, id: &VolumeTypeId) -> DomainResult<Vec<ProjectId>>;
        /// Gives a project access; already given is a `Conflict`.
        async fn type_access_add(&self, id: &VolumeTypeId, project: &ProjectId) -> DomainResult<()>;
        /// Takes access back; not given is `NotFound`.
        async fn type_access_remove(&self, id: &VolumeTypeId, project: &ProjectId) -> DomainResult<()>;
        async fn type_encryption_get(&self, id: &VolumeTypeId) -> DomainResult<Option<TypeEncryption>>;
        /// Records a type's encryption spec, the new one in place of any old; refused
        /// (`InvalidState`) while volumes use the type.
        async fn type_encryption_put(&self, e: &TypeEncryption) -> DomainResult<()>;
        /// Drops a type's encryption spec; refused while volumes use the type.
        async fn type_encryption_delete(&self, id: &VolumeTypeId) -> DomainResult<()>;
    }
}
