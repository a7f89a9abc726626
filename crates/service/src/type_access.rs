//! Who may use a volume type (private types and their project access), and
//! volume types' encryption specs (recorded; Platter does not encrypt).

use platter_model::{
    new_uuid, Action, AuthContext, DomainError, DomainResult, ProjectId, Timestamp, TypeEncryption,
    VolumeType, VolumeTypeId,
};

use crate::Platter;

/// What an encryption create or update sets.
#[derive(Debug, Clone, Default)]
pub struct EncryptionFields {
    pub provider: Option<String>,
    pub cipher: Option<Option<String>>,
    pub key_size: Option<Option<i64>>,
    pub control_location: Option<String>,
}

/// Refuses an encrypted type for new or retyped volumes: Platter has no
/// key manager and does not encrypt.
pub(crate) fn refuse_encrypted(t: &VolumeType) -> DomainResult<()> {
    if t.encrypted {
        return Err(type_state(format!(
            "Volume type {} is encrypted; Platter has no key manager and does not make encrypted volumes.",
            t.name
        )));
    }
    Ok(())
}

fn type_state(message: impl Into<String>) -> DomainError {
    DomainError::InvalidState {
        resource: "volume type",
        message: message.into(),
    }
}

fn check_encryption(e: &TypeEncryption) -> DomainResult<()> {
    if e.provider.trim().is_empty() || e.provider.len() > 255 {
        return Err(DomainError::invalid(
            "provider must be 1 to 255 characters.",
        ));
    }
    if !matches!(e.control_location.as_str(), "front-end" | "back-end") {
        return Err(DomainError::invalid(format!(
            "control_location must be front-end or back-end, not '{}'.",
            e.control_location
        )));
    }
    if e.key_size.is_some_and(|k| k < 0) {
        return Err(DomainError::invalid("key_size must not be negative."));
    }
    if e.cipher.as_ref().is_some_and(|c| c.len() > 255) {
        return Err(DomainError::invalid(
            "cipher is longer than 255 characters.",
        ));
    }
    Ok(())
}

impl Platter {
    /// Whether the caller may see and use a type: public ones, private ones
    /// its project was given access to, and every type for an admin.
    async fn type_visible(&self, ctx: &AuthContext, t: &VolumeType) -> DomainResult<bool> {
        Ok(t.is_public
            || ctx.is_admin()
            || self
                .store()
                .type_access_list(&t.id)
                .await?
                .contains(&ctx.project_id))
    }

    /// A type by id or name, if the caller may see it (else not found).
    pub async fn volume_type_get_for(
        &self,
        ctx: &AuthContext,
        id_or_name: &str,
    ) -> DomainResult<VolumeType> {
        self.authorize(ctx, Action::TypeGet)?;
        self.volume_type_usable(ctx, id_or_name).await
    }

    /// A type the caller may put volumes in (else not found).
    pub(crate) async fn volume_type_usable(
        &self,
        ctx: &AuthContext,
        id_or_name: &str,
    ) -> DomainResult<VolumeType> {
        let t = self.volume_type_get(id_or_name).await?;
        if self.type_visible(ctx, &t).await? {
            Ok(t)
        } else {
            Err(DomainError::not_found("Volume type", id_or_name))
        }
    }

    /// The types the caller may see; `is_public` filters (admins see every
    /// type unless they filter).
    pub async fn volume_type_list_for(
        &self,
        ctx: &AuthContext,
        is_public: Option<bool>,
    ) -> DomainResult<Vec<VolumeType>> {
        self.authorize(ctx, Action::TypeList)?;
        let mut out = Vec::new();
        for t in self.store().volume_type_list().await? {
            if is_public.is_some_and(|p| p != t.is_public) {
                continue;
            }
            if self.type_visible(ctx, &t).await? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Admin: sets a project's default type (Cinder 3.62); the type must
    /// be one the project may use.
    pub async fn default_type_set(
        &self,
        ctx: &AuthContext,
        project: &ProjectId,
        type_id_or_name: &str,
    ) -> DomainResult<VolumeTypeId> {
        self.authorize(ctx, Action::DefaultTypeSet)?;
        let t = self.volume_type_get(type_id_or_name).await?;
        if !t.is_public
            && !self
                .store()
                .type_access_list(&t.id)
                .await?
                .contains(project)
        {
            return Err(DomainError::not_found("Volume type", type_id_or_name));
        }
        self.store().default_type_set(project, &t.id).await?;
        Ok(t.id)
    }

    /// Admin: projects' default types, one project's (not found if none)
    /// or every one.
    pub async fn default_types(
        &self,
        ctx: &AuthContext,
        project: Option<&ProjectId>,
    ) -> DomainResult<Vec<(ProjectId, VolumeTypeId)>> {
        self.authorize(
            ctx,
            if project.is_some() {
                Action::DefaultTypeGet
            } else {
                Action::DefaultTypeList
            },
        )?;
        let all = self.store().default_types(project).await?;
        match project {
            Some(p) if all.is_empty() => Err(DomainError::not_found(
                "Default type for project",
                p.as_str(),
            )),
            _ => Ok(all),
        }
    }

    /// Admin: unsets a project's default type (not found if none).
    pub async fn default_type_unset(
        &self,
        ctx: &AuthContext,
        project: &ProjectId,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::DefaultTypeUnset)?;
        if self.store().default_type_unset(project).await? {
            Ok(())
        } else {
            Err(DomainError::not_found(
                "Default type for project",
                project.as_str(),
            ))
        }
    }

    /// Admin: the projects given access to a private type.
    pub async fn type_access_list(
        &self,
        ctx: &AuthContext,
        id: &str,
    ) -> DomainResult<(VolumeType, Vec<ProjectId>)> {
        self.authorize(ctx, Action::TypeAccessList)?;
        let t = self.volume_type_get(id).await?;
        if t.is_public {
            return Err(type_state(
                "Access list not available for public volume types.",
            ));
        }
        let projects = self.store().type_access_list(&t.id).await?;
        Ok((t, projects))
    }

    /// Admin: gives (`add`) or takes back a project's access to a private
    /// type.
    pub async fn type_access_change(
        &self,
        ctx: &AuthContext,
        id: &str,
        project: &ProjectId,
        add: bool,
    ) -> DomainResult<()> {
        self.authorize(
            ctx,
            if add {
                Action::TypeAccessAdd
            } else {
                Action::TypeAccessRemove
            },
        )?;
        let t = self.volume_type_get(id).await?;
        if t.is_public {
            return Err(type_state(
                "Type access modification is not applicable to public volume type.",
            ));
        }
        if add {
            self.store().type_access_add(&t.id, project).await
        } else {
            self.store().type_access_remove(&t.id, project).await
        }
    }

    /// Admin: a type's encryption spec, if any.
    pub async fn type_encryption_get(
        &self,
        ctx: &AuthContext,
        id: &str,
    ) -> DomainResult<Option<TypeEncryption>> {
        self.authorize(ctx, Action::TypeEncryptionGet)?;
        let t = self.volume_type_get(id).await?;
        self.store().type_encryption_get(&t.id).await
    }

    /// Admin: records a type's encryption spec (refused if it has one, or
    /// while volumes use the type).
    pub async fn type_encryption_create(
        &self,
        ctx: &AuthContext,
        id: &str,
        f: EncryptionFields,
    ) -> DomainResult<TypeEncryption> {
        self.authorize(ctx, Action::TypeEncryptionCreate)?;
        let t = self.volume_type_get(id).await?;
        if self.store().type_encryption_get(&t.id).await?.is_some() {
            return Err(type_state(format!(
                "Volume type encryption for type {} already exists.",
                t.id
            )));
        }
        let e = TypeEncryption {
            id: new_uuid(),
            volume_type_id: t.id.clone(),
            provider: f
                .provider
                .ok_or_else(|| DomainError::invalid("provider is required."))?,
            cipher: f.cipher.flatten(),
            key_size: f.key_size.flatten(),
            control_location: f.control_location.unwrap_or_else(|| "front-end".into()),
            created_at: Timestamp::now(),
            updated_at: None,
        };
        check_encryption(&e)?;
        self.store().type_encryption_put(&e).await?;
        Ok(e)
    }

    /// Admin: changes a type's encryption spec (`encryption_id` must be
    /// its own).
    pub async fn type_encryption_update(
        &self,
        ctx: &AuthContext,
        id: &str,
        encryption_id: &str,
        f: EncryptionFields,
    ) -> DomainResult<TypeEncryption> {
        self.authorize(ctx, Action::TypeEncryptionUpdate)?;
        let mut e = self.encryption_of(id, encryption_id).await?;
        if let Some(p) = f.provider {
            e.provider = p;
        }
        if let Some(c) = f.cipher {
            e.cipher = c;
        }
        if let Some(k) = f.key_size {
            e.key_size = k;
        }
        if let Some(l) = f.control_location {
            e.control_location = l;
        }
        e.updated_at = Some(Timestamp::now());
        check_encryption(&e)?;
        self.store().type_encryption_put(&e).await?;
        Ok(e)
    }

    pub async fn type_encryption_delete(
        &self,
        ctx: &AuthContext,
        id: &str,
        encryption_id: &str,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::TypeEncryptionDelete)?;
        let e = self.encryption_of(id, encryption_id).await?;
        self.store().type_encryption_delete(&e.volume_type_id).await
    }

    async fn encryption_of(&self, id: &str, encryption_id: &str) -> DomainResult<TypeEncryption> {
        let t = self.volume_type_get(id).await?;
        match self.store().type_encryption_get(&t.id).await? {
            Some(e) if e.id == encryption_id => Ok(e),
            _ => Err(DomainError::not_found(
                "Volume type encryption",
                encryption_id,
            )),
        }
    }
}
