//! The htaiyun platform (seed 004) over Platter's volumes: its sessions and
//! application tokens, its UserVolume records, enable/disable, and its
//! operations mapped onto the volume operations every family shares (each
//! authorizes its own EVS action, so IAM policies apply here too).

use platter_model::{
    Action, AuthContext, DomainError, DomainResult, ImageId, ServerId, UserVolume, Volume, VolumeId,
};
use platter_store::{UserVolumeQuery, VolumeUpdate};

use crate::identity::{random_token, token_hash};
use crate::transfers::same_hash;
use crate::{Platter, VolumeCreate, VolumeListRequest};

/// A UserVolume with the volume it wraps.
#[derive(Debug, Clone)]
pub struct UserVolumeView {
    pub record: UserVolume,
    pub volume: Volume,
}

/// What `create` asks for.
#[derive(Debug, Clone, Default)]
pub struct UserVolumeCreate {
    pub name: String,
    pub description: Option<String>,
    pub size: Option<i64>,
    pub image: Option<String>,
    pub owner: Option<i64>,
}

/// `list`'s filters: `keywords` against name or description, `status`,
/// paging (`page` from 1, `offset` records per page), `order` and `asc`.
#[derive(Debug, Clone, Default)]
pub struct UserVolumeList {
    pub owner: Option<i64>,
    pub keywords: Option<String>,
    pub enabled: Option<bool>,
    pub page: i64,
    pub per_page: i64,
    pub order: Option<String>,
    pub ascending: bool,
}

/// A page of UserVolumes.
#[derive(Debug, Clone)]
pub struct UserVolumePage {
    pub items: Vec<UserVolumeView>,
    pub total: i64,
    pub has_previous: bool,
    pub has_next: bool,
}

impl Platter {
    /// The caller of an htaiyun request: a user session (`IMR-SESSION-TOKEN`,
    /// a project-scoped token; `IMR-SESSION-SECRET`, its audit id) and the
    /// project's application token (`HT-ACCESS-TOKEN`). `Unauthorized` if
    /// any is missing, wrong or expired.
    pub async fn htaiyun_caller(
        &self,
        session_token: &str,
        session_secret: &str,
        app_token: &str,
    ) -> DomainResult<AuthContext> {
        let ctx = self.htaiyun_session(session_token, session_secret).await?;
        match self.store().app_token_get(&ctx.project_id).await? {
            Some(hash) if same_hash(&hash, &token_hash(app_token)) => Ok(ctx),
            _ => Err(session_denied()),
        }
    }

    /// The caller of a user session alone (a project-scoped token and its
    /// audit id), as the application-token endpoint takes it.
    pub async fn htaiyun_session(
        &self,
        session_token: &str,
        session_secret: &str,
    ) -> DomainResult<AuthContext> {
        let info = self
            .validate_token(session_token)
            .await
            .map_err(|_| session_denied())?;
        if !same_hash(&info.audit_id, session_secret) {
            return Err(session_denied());
        }
        info.auth_context().ok_or_else(session_denied)
    }

    /// Issues (or replaces) the caller's project's application token: a
    /// project member may (the platform registers its application).
    pub async fn htaiyun_app_token_issue(&self, ctx: &AuthContext) -> DomainResult<String> {
        self.authorize(ctx, Action::HtaiyunAppTokenIssue)?;
        let token = random_token();
        self.store()
            .app_token_set(&ctx.project_id, &token_hash(&token))
            .await?;
        Ok(token)
    }

    /// The record and volume of `unique`, if the caller may see the volume.
    /// A record whose volume is gone (deleted through another family) goes.
    async fn user_volume_find(
        &self,
        ctx: &AuthContext,
        unique: i64,
    ) -> DomainResult<UserVolumeView> {
        let gone = || DomainError::not_found("UserVolume", unique.to_string());
        let record = self
            .store()
            .user_volume_get(unique)
            .await?
            .filter(|r| r.project_id == ctx.project_id || ctx.is_admin())
            .ok_or_else(gone)?;
        match self.volume_find(ctx, &record.volume_id).await {
            Ok(volume) => Ok(UserVolumeView { record, volume }),
            Err(DomainError::NotFound { .. }) => {
                if self.store().volume_get(&record.volume_id).await?.is_none() {
                    self.store().user_volume_delete(unique).await?;
                }
                Err(gone())
            }
            Err(e) => Err(e),
        }
    }

    /// A volume named by `{volumeid}`: a UserVolume's `unique`, or a
    /// Platter volume's id (adopted: it gets a record on first use).
    pub async fn user_volume_resolve(
        &self,
        ctx: &AuthContext,
        id: &str,
    ) -> DomainResult<UserVolumeView> {
        if let Ok(unique) = id.parse::<i64>() {
            return self.user_volume_find(ctx, unique).await;
        }
        let volume = self.volume_find(ctx, &VolumeId::from(id)).await?;
        let record = match self.store().user_volume_of(&volume.id).await? {
            Some(r) => r,
            None => {
                self.store()
                    .user_volume_insert(&volume.id, &volume.project_id, None)
                    .await?
            }
        };
        Ok(UserVolumeView { record, volume })
    }

    pub async fn user_volume_get(
        &self,
        ctx: &AuthContext,
        unique: i64,
    ) -> DomainResult<UserVolumeView> {
        self.authorize(ctx, Action::VolumeGet)?;
        self.user_volume_find(ctx, unique).await
    }

    pub async fn user_volume_create(
        &self,
        ctx: &AuthContext,
        req: UserVolumeCreate,
    ) -> DomainResult<UserVolumeView> {
        let volume = self
            .volume_create(
                ctx,
                VolumeCreate {
                    name: Some(req.name),
                    description: req.description,
                    size: req.size,
                    image_id: req.image.map(ImageId::from),
                    ..Default::default()
                },
            )
            .await?;
        let record = self
            .store()
            .user_volume_insert(&volume.id, &ctx.project_id, req.owner)
            .await?;
        Ok(UserVolumeView { record, volume })
    }

    /// A clone of `unique`'s volume, of its size, with its own record.
    pub async fn user_volume_clone(
        &self,
        ctx: &AuthContext,
        unique: i64,
        name: String,
        description: Option<String>,
        owner: Option<i64>,
    ) -> DomainResult<UserVolumeView> {
        self.authorize(ctx, Action::VolumeCreate)?;
        let source = self.user_volume_find(ctx, unique).await?;
        let volume = self
            .volume_create(
                ctx,
                VolumeCreate {
                    name: Some(name),
                    description,
                    source_volid: Some(source.volume.id.clone()),
                    ..Default::default()
                },
            )
            .await?;
        let record = self
            .store()
            .user_volume_insert(&volume.id, &ctx.project_id, owner)
            .await?;
        Ok(UserVolumeView { record, volume })
    }

    pub async fn user_volume_update(
        &self,
        ctx: &AuthContext,
        unique: i64,
        name: Option<String>,
        description: Option<String>,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeUpdate)?;
        let v = self.user_volume_find(ctx, unique).await?;
        self.volume_update(
            ctx,
            &v.volume.id,
            VolumeUpdate {
                name: name.map(Some),
                description: description.map(Some),
                ..Default::default()
            },
        )
        .await?;
        self.store().user_volume_touch(unique).await
    }

    /// Grows the volume to `size` GiB (strictly larger than it is).
    pub async fn user_volume_extend(
        &self,
        ctx: &AuthContext,
        unique: i64,
        size: i64,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeExtend)?;
        let v = self.user_volume_find(ctx, unique).await?;
        if size <= v.volume.size {
            return Err(DomainError::invalid(format!(
                "size {size} is not larger than the volume's {} GB",
                v.volume.size
            )));
        }
        self.volume_extend(ctx, &v.volume.id, size).await?;
        self.store().user_volume_touch(unique).await
    }

    pub async fn user_volume_delete(&self, ctx: &AuthContext, unique: i64) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeDelete)?;
        let v = self.user_volume_find(ctx, unique).await?;
        self.volume_delete(ctx, &v.volume.id, false).await?;
        self.store().user_volume_delete(unique).await
    }

    pub async fn user_volume_list(
        &self,
        ctx: &AuthContext,
        req: UserVolumeList,
    ) -> DomainResult<UserVolumePage> {
        self.authorize(ctx, Action::VolumeList)?;
        let volume_ids = match &req.keywords {
            Some(k) if !k.is_empty() => {
                let k = k.to_lowercase();
                let all = self.volume_list(ctx, VolumeListRequest::default()).await?;
                Some(
                    all.into_iter()
                        .filter(|v| {
                            v.name.as_deref().unwrap_or("").to_lowercase().contains(&k)
                                || v.description
                                    .as_deref()
                                    .unwrap_or("")
                                    .to_lowercase()
                                    .contains(&k)
                        })
                        .map(|v| v.id)
                        .collect(),
                )
            }
            _ => None,
        };
        let per_page = req.per_page.clamp(1, 1000);
        let page = req.page.max(1);
        let by_name = req.order.as_deref() == Some("name");
        let query = UserVolumeQuery {
            project_id: ctx.project_id.clone(),
            owner: req.owner,
            enabled: req.enabled,
            volume_ids,
            order: req.order.clone(),
            ascending: req.ascending,
            offset: if by_name { 0 } else { (page - 1) * per_page },
            limit: if by_name { i64::MAX } else { per_page },
        };
        let (records, total) = self.store().user_volume_list(&query).await?;
        let mut items = Vec::new();
        for record in records {
            if let Ok(volume) = self.volume_find(ctx, &record.volume_id).await {
                items.push(UserVolumeView { record, volume });
            }
        }
        if by_name {
            items.sort_by(|a, b| a.volume.name.cmp(&b.volume.name));
            if !req.ascending {
                items.reverse();
            }
            items = items
                .into_iter()
                .skip(((page - 1) * per_page) as usize)
                .take(per_page as usize)
                .collect();
        }
        Ok(UserVolumePage {
            items,
            total,
            has_previous: page > 1,
            has_next: page * per_page < total,
        })
    }

    /// Enables or disables a volume. Disabling detaches it from `server`
    /// (seed 004: "the host ID must be passed in") and from anything else
    /// it is attached to: a disabled volume takes no writes.
    pub async fn user_volume_enable(
        &self,
        ctx: &AuthContext,
        v: &UserVolumeView,
        enabled: bool,
        server: Option<&ServerId>,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::VolumeUpdate)?;
        if !enabled {
            if let Some(server) = server {
                let attached = v
                    .volume
                    .attachments
                    .iter()
                    .any(|a| a.instance_uuid.as_deref() == Some(server.as_str()));
                if attached {
                    self.server_detach_volume(
                        ctx,
                        server,
                        &v.volume.id,
                        false,
                        Action::VolumeDetach,
                    )
                    .await?;
                }
            }
        }
        self.store()
            .user_volume_set_enabled(v.record.unique, enabled)
            .await
    }

    /// Attaches through the server's disks (hot-plugged into its guest),
    /// as Nova and ECS do; a disabled volume is refused.
    pub async fn user_volume_attach(
        &self,
        ctx: &AuthContext,
        v: &UserVolumeView,
        server: &ServerId,
    ) -> DomainResult<()> {
        if !v.record.enabled {
            return Err(volume_disabled(&v.volume.id));
        }
        self.server_attach_volume(ctx, server, &v.volume.id, None, Action::VolumeAttach)
            .await?;
        Ok(())
    }

    pub async fn user_volume_detach(
        &self,
        ctx: &AuthContext,
        v: &UserVolumeView,
        server: &ServerId,
    ) -> DomainResult<()> {
        self.server_detach_volume(ctx, server, &v.volume.id, false, Action::VolumeDetach)
            .await?;
        Ok(())
    }

    /// Refuses attaching a volume the htaiyun platform disabled (every
    /// family asks before it attaches).
    pub(crate) async fn refuse_disabled(&self, volume_id: &VolumeId) -> DomainResult<()> {
        match self.store().user_volume_of(volume_id).await? {
            Some(r) if !r.enabled => Err(volume_disabled(volume_id)),
            _ => Ok(()),
        }
    }
}

fn session_denied() -> DomainError {
    DomainError::Unauthorized("not logged in, or the session expired".into())
}

fn volume_disabled(id: &VolumeId) -> DomainError {
    DomainError::InvalidState {
        resource: "volume",
        message: format!("volume {id} is disabled"),
    }
}
