//! Every operation of every API family, as one enum: what authorization
//! decides about.
//!
//! Each action carries the name of its policy rule (Cinder's and Keystone's
//! policy names, which Cinder's 403 message quotes), the class of caller the
//! default role rules let through, and, where Huawei's documents give one,
//! its IAM action (`evs:volumes:create`, from the IAM tables of seeds 001 and
//! 003). A route declares the actions it needs; a service operation asks
//! [`Action`] to be authorized before it reads or changes anything.

/// Who the default role rules (admin / member / reader) let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// No credentials needed (versions, issuing a token).
    Public,
    /// Any authenticated caller; what it may see is still scoped to its
    /// project (others' resources are not found, not forbidden).
    Read,
    /// `member` or `admin`.
    Write,
    /// `admin` only.
    Admin,
}

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $policy:literal, $access:ident, $iam:expr;)*) => {
        /// An operation that authorization decides about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The policy rule's name (`volume:create`).
            pub fn policy(self) -> &'static str {
                match self { $(Action::$variant => $policy,)* }
            }

            /// The class of caller the default role rules allow.
            pub fn access(self) -> Access {
                match self { $(Action::$variant => Access::$access,)* }
            }

            /// The IAM action, where the documents name one.
            pub fn iam(self) -> Option<&'static str> {
                match self { $(Action::$variant => $iam,)* }
            }
        }
    };
}

actions! {
    // ---- versions and discovery
    VersionsGet => "versions:get", Public, None;
    ResourceFiltersList => "volume:get_resource_filters", Read, None;
    ExtensionsList => "volume_extension:extensions:get", Read, None;
    AvailabilityZoneList => "volume_extension:availability_zone_list", Read, None;
    LimitsGet => "limits_extension:used_limits", Read, None;

    // ---- volumes
    VolumeCreate => "volume:create", Write, Some("evs:volumes:create");
    VolumeList => "volume:get_all", Read, Some("evs:volumes:list");
    VolumeGet => "volume:get", Read, Some("evs:volumes:get");
    VolumeSummary => "volume:get_volume_summary", Read, Some("evs:volumes:list");
    VolumeUpdate => "volume:update", Write, Some("evs:volumes:update");
    VolumeDelete => "volume:delete", Write, Some("evs:volumes:delete");
    VolumeExtend => "volume:extend", Write, Some("evs:volumes:extend");
    VolumeRetype => "volume:retype", Write, Some("evs:volumes:retype");
    VolumeMetadataGet => "volume:get_volume_metadata", Read, Some("evs:volumes:get");
    VolumeMetadataUpdate => "volume:update_volume_metadata", Write, Some("evs:volumes:update");
    VolumeMetadataDelete => "volume:delete_volume_metadata", Write, Some("evs:volumes:delete");
    VolumeSetBootable => "volume:update", Write, Some("evs:volumes:update");
    VolumeSetReadonly => "volume:update_readonly_flag", Write, Some("evs:volumes:update");
    VolumeRevert => "volume:revert_to_snapshot", Write, Some("evs:snapshots:rollback");
    VolumeImageMetadataGet => "volume_extension:volume_image_metadata:show", Read, Some("evs:volumes:get");
    VolumeImageMetadataSet => "volume_extension:volume_image_metadata:set", Write, Some("evs:volumes:update");
    VolumeImageMetadataRemove => "volume_extension:volume_image_metadata:remove", Write, Some("evs:volumes:update");
    VolumeMigrate => "volume_extension:volume_admin_actions:migrate_volume", Admin, None;
    /// Cinder `os-volume_upload_image`: a new image of the volume's data.
    VolumeUploadImage => "volume_extension:volume_actions:upload_image", Write, None;
    /// Uploading to a `public` image (admins, as upstream).
    VolumeUploadPublicImage => "volume_extension:volume_actions:upload_public", Admin, None;
    /// Cinder `os-migrate_volume_completion`: Nova's volume swap ends.
    VolumeMigrateCompletion => "volume_extension:volume_admin_actions:migrate_volume_completion", Admin, None;
    VolumeResetStatus => "volume_extension:volume_admin_actions:reset_status", Admin, None;
    /// Cinder `os-promote-replica`: the replica becomes the primary.
    VolumePromoteReplica => "volume:promote_replica", Admin, None;
    /// Cinder `os-reenable-replica`: the replica is made again.
    VolumeReenableReplica => "volume:reenable_replica", Admin, None;
    VolumeForceDetach => "volume_extension:volume_admin_actions:force_detach", Admin, None;
    /// Cinder `os-unmanage`: the volume leaves Platter, its device stays.
    VolumeUnmanage => "volume_extension:volume_unmanage", Admin, None;
    /// Cinder manage existing (`os-volume-manage`, `manageable_volumes`).
    VolumeManage => "volume_extension:volume_manage", Admin, None;
    /// The devices of a pool a volume could be managed from.
    VolumeManageableList => "volume_extension:list_manageable", Admin, None;
    VolumeReserve => "volume:reserve_volume", Write, Some("evs:volumes:attach");
    VolumeUnreserve => "volume:unreserve_volume", Write, Some("evs:volumes:detach");
    VolumeBeginDetaching => "volume:begin_detaching", Write, Some("evs:volumes:detach");
    VolumeInitializeConnection => "volume:initialize_connection", Write, Some("evs:volumes:attach");
    VolumeTerminateConnection => "volume:terminate_connection", Write, Some("evs:volumes:detach");
    VolumeAttach => "volume:attach", Write, Some("evs:volumes:attach");
    VolumeDetach => "volume:detach", Write, Some("evs:volumes:detach");
    /// EVS: change a volume's QoS (iops/throughput).
    VolumeModifyQos => "volume:update", Write, Some("evs:volumes:update");
    /// EVS: unsubscribe (delete) prepaid volumes.
    VolumeUnsubscribe => "volume:delete", Write, Some("evs:volumes:delete");
    VolumeTagsCreate => "volume:update", Write, Some("evs:volumeTags:create");
    VolumeTagsDelete => "volume:update", Write, Some("evs:volumeTags:delete");
    VolumeTagsList => "volume:get_all", Read, Some("evs:volumeTags:list");
    VolumeTagsGet => "volume:get", Read, Some("evs:volumeTags:getById");
    VolumeTagsQuery => "volume:get_all", Read, Some("evs:volumeTags:get");

    // ---- snapshots
    SnapshotCreate => "volume:create_snapshot", Write, Some("evs:snapshots:create");
    SnapshotList => "volume:get_all_snapshots", Read, Some("evs:snapshots:list");
    SnapshotGet => "volume:get_snapshot", Read, Some("evs:snapshots:get");
    SnapshotUpdate => "volume:update_snapshot", Write, Some("evs:snapshots:update");
    SnapshotDelete => "volume:delete_snapshot", Write, Some("evs:snapshots:delete");
    SnapshotMetadataGet => "volume:get_snapshot_metadata", Read, Some("evs:snapshots:get");
    SnapshotMetadataUpdate => "volume:update_snapshot_metadata", Write, Some("evs:snapshots:update");
    SnapshotMetadataDelete => "volume:delete_snapshot_metadata", Write, Some("evs:snapshots:delete");
    SnapshotRollback => "volume:rollback", Write, Some("evs:snapshots:rollback");
    SnapshotResetStatus => "volume_extension:snapshot_admin_actions:reset_status", Admin, None;
    SnapshotForceDelete => "volume_extension:snapshot_admin_actions:force_delete", Admin, Some("evs:snapshots:delete");
    SnapshotUpdateStatus => "snapshot_extension:snapshot_actions:update_snapshot_status", Write, Some("evs:snapshots:update");
    /// Cinder snapshot `os-unmanage`: the row leaves, the device stays.
    SnapshotUnmanage => "snapshot_extension:snapshot_unmanage", Admin, None;
    /// Cinder manage existing snapshot (`os-snapshot-manage`, `manageable_snapshots`).
    SnapshotManage => "snapshot_extension:snapshot_manage", Admin, None;
    /// The snapshot devices of a pool a snapshot could be managed from.
    SnapshotManageableList => "snapshot_extension:list_manageable", Admin, None;

    // ---- attachments (Cinder 3.27+)
    AttachmentCreate => "volume:attachment_create", Write, Some("evs:volumes:attach");
    AttachmentList => "volume:attachment_get_all", Read, None;
    AttachmentGet => "volume:attachment_get", Read, None;
    AttachmentUpdate => "volume:attachment_update", Write, Some("evs:volumes:attach");
    AttachmentComplete => "volume:attachment_complete", Write, Some("evs:volumes:attach");
    AttachmentDelete => "volume:attachment_delete", Write, Some("evs:volumes:detach");

    // ---- transfers (a project gives a volume to another)
    TransferCreate => "volume:create_transfer", Write, Some("evs:transfers:create");
    TransferList => "volume:get_all_transfers", Read, Some("evs:transfers:list");
    TransferGet => "volume:get_transfer", Read, Some("evs:transfers:get");
    TransferDelete => "volume:delete_transfer", Write, Some("evs:transfers:delete");
    TransferAccept => "volume:accept_transfer", Write, Some("evs:transfers:accept");

    // ---- generic volume groups (Cinder 3.11+)
    /// Reading group types has no policy upstream: any caller.
    GroupTypeList => "group:group_types:get_all", Read, None;
    GroupTypeGet => "group:group_types:get", Read, None;
    /// Create, update and delete group types.
    GroupTypeManage => "group:group_types_manage", Admin, None;
    /// Create, show, update and delete group specs.
    GroupTypeSpecs => "group:group_types_specs", Admin, None;
    /// See a group type's specs in its view.
    GroupTypeSpecsAccess => "group:access_group_types_specs", Admin, None;
    GroupCreate => "group:create", Write, None;
    GroupGet => "group:get", Read, None;
    GroupList => "group:get_all", Read, None;
    GroupUpdate => "group:update", Write, None;
    GroupDelete => "group:delete", Write, None;
    GroupResetStatus => "group:reset_status", Admin, None;
    GroupSnapshotCreate => "group:create_group_snapshot", Write, None;
    GroupSnapshotGet => "group:get_group_snapshot", Read, None;
    GroupSnapshotList => "group:get_all_group_snapshots", Read, None;
    GroupSnapshotDelete => "group:delete_group_snapshot", Write, None;
    GroupSnapshotResetStatus => "group:reset_group_snapshot_status", Admin, None;

    // ---- types, quotas, pools, jobs
    TypeList => "volume_extension:types_manage", Read, Some("evs:types:get");
    TypeGet => "volume_extension:type_get", Read, Some("evs:types:get");
    TypeCreate => "volume_extension:type_create", Admin, None;
    TypeUpdate => "volume_extension:type_update", Admin, None;
    TypeDelete => "volume_extension:type_delete", Admin, None;
    DefaultTypeSet => "volume_extension:default_set_or_update", Admin, None;
    DefaultTypeGet => "volume_extension:default_get", Admin, None;
    DefaultTypeList => "volume_extension:default_get_all", Admin, None;
    DefaultTypeUnset => "volume_extension:default_unset", Admin, None;
    TypeAccessList => "volume_extension:volume_type_access", Admin, None;
    TypeAccessAdd => "volume_extension:volume_type_access:addProjectAccess", Admin, None;
    TypeAccessRemove => "volume_extension:volume_type_access:removeProjectAccess", Admin, None;
    TypeEncryptionGet => "volume_extension:volume_type_encryption:get", Admin, None;
    TypeEncryptionCreate => "volume_extension:volume_type_encryption:create", Admin, None;
    TypeEncryptionUpdate => "volume_extension:volume_type_encryption:update", Admin, None;
    TypeEncryptionDelete => "volume_extension:volume_type_encryption:delete", Admin, None;
    TypeExtraSpecsGet => "volume_extension:types_extra_specs:index", Read, Some("evs:types:get");
    TypeExtraSpecsUpdate => "volume_extension:types_extra_specs:update", Admin, None;
    TypeExtraSpecsDelete => "volume_extension:types_extra_specs:delete", Admin, None;
    QosSpecsCreate => "volume_extension:qos_specs_manage:create", Admin, None;
    QosSpecsList => "volume_extension:qos_specs_manage:get_all", Admin, None;
    QosSpecsGet => "volume_extension:qos_specs_manage:get", Admin, None;
    QosSpecsUpdate => "volume_extension:qos_specs_manage:update", Admin, None;
    QosSpecsDelete => "volume_extension:qos_specs_manage:delete", Admin, None;
    QuotaGet => "volume_extension:quotas:show", Read, Some("evs:quotas:get");
    QuotaDefaultsGet => "volume_extension:quotas:show", Read, Some("evs:quotas:get");
    QuotaUpdate => "volume_extension:quotas:update", Admin, None;
    QuotaDelete => "volume_extension:quotas:delete", Admin, None;
    QuotaClassGet => "volume_extension:quota_classes", Admin, None;
    QuotaClassUpdate => "volume_extension:quota_classes:update", Admin, None;
    PoolsGet => "scheduler_extension:scheduler_stats:get_pools", Admin, None;
    MessageList => "message:get_all", Read, None;
    MessageGet => "message:get", Read, None;
    MessageDelete => "message:delete", Write, None;
    VolumeServiceList => "volume_extension:services:index", Admin, None;
    VolumeServiceUpdate => "volume_extension:services:update", Admin, None;
    CapabilitiesGet => "volume_extension:capabilities", Admin, None;
    HostList => "volume_extension:hosts", Admin, None;
    HostGet => "volume_extension:hosts", Admin, None;
    JobGet => "evs:jobs:get", Read, None;

    // ---- backups
    BackupCreate => "backup:create", Write, None;
    BackupList => "backup:get_all", Read, None;
    BackupGet => "backup:get", Read, None;
    BackupDelete => "backup:delete", Write, None;
    BackupUpdate => "backup:update", Write, None;
    BackupRestore => "backup:restore", Write, None;
    BackupExport => "backup:export-import", Admin, None;
    BackupImport => "backup:backup-import", Admin, None;
    BackupResetStatus => "volume_extension:backup_admin_actions:reset_status", Admin, None;
    BackupForceDelete => "volume_extension:backup_admin_actions:force_delete", Admin, None;

    // ---- images (Glance's policy names, Huawei IMS's IAM actions)
    ImageCreate => "add_image", Write, Some("ims:images:create");
    ImageList => "get_images", Read, Some("ims:images:list");
    ImageGet => "get_image", Read, Some("ims:images:get");
    ImageUpdate => "modify_image", Write, Some("ims:images:update");
    /// Making an image `public` (Glance's default: admins only).
    ImagePublicize => "publicize_image", Admin, None;
    // ---- compute (Nova policy names; IAM actions of seed 003 ch. 9)
    ServerCreate => "os_compute_api:servers:create", Write, Some("ecs:servers:create");
    ServerList => "os_compute_api:servers:index", Read, Some("ecs:servers:list");
    ServerGet => "os_compute_api:servers:show", Read, Some("ecs:servers:get");
    ServerUpdate => "os_compute_api:servers:update", Write, Some("ecs:servers:update");
    ServerDelete => "os_compute_api:servers:delete", Write, Some("ecs:servers:delete");
    ServerStart => "os_compute_api:servers:start", Write, Some("ecs:servers:start");
    ServerStop => "os_compute_api:servers:stop", Write, Some("ecs:servers:stop");
    ServerReboot => "os_compute_api:servers:reboot", Write, Some("ecs:servers:reboot");
    ServerConsoleOutput => "os_compute_api:os-console-output", Write, None;
    ServerLock => "os_compute_api:os-lock-server:lock", Write, Some("ecs:servers:lock");
    ServerUnlock => "os_compute_api:os-lock-server:unlock", Write, Some("ecs:servers:unlock");
    ServerCreateImage => "os_compute_api:servers:create_image", Write, Some("ecs:servers:createImage");
    ServerMonitorMetrics => "os_compute_api:servers:monitor_metrics", Write, None;
    ServerResize => "os_compute_api:servers:resize", Write, Some("ecs:servers:resize");
    ServerRebuild => "os_compute_api:servers:rebuild", Write, Some("ecs:servers:rebuild");
    NovaVolumesRead => "os_compute_api:os-volumes:show", Read, Some("ecs:serverVolumes:use");
    NovaVolumesWrite => "os_compute_api:os-volumes:create", Write, Some("ecs:serverVolumes:use");
    NovaSnapshotsRead => "os_compute_api:os-volumes:snapshots:show", Read, None;
    NovaSnapshotsWrite => "os_compute_api:os-volumes:snapshots:create", Write, None;
    EcsServerReinstall => "ecs:cloudServers:rebuild", Write, Some("ecs:cloudServers:rebuild");
    EcsServerChangeOs => "ecs:cloudServers:changeOS", Write, Some("ecs:cloudServers:changeOS");
    EcsServerResize => "ecs:cloudServers:resize", Write, Some("ecs:cloudServers:resize");
    EcsServerMigrate => "ecs:cloudServers:migrate", Write, None;
    ServerVolumeAttachmentList => "os_compute_api:os-volumes-attachments:index", Read, Some("ecs:serverVolumeAttachments:list");
    ServerVolumeAttachmentGet => "os_compute_api:os-volumes-attachments:show", Read, Some("ecs:serverVolumeAttachments:get");
    ServerVolumeAttach => "os_compute_api:os-volumes-attachments:create", Write, Some("ecs:serverVolumeAttachments:create");
    ServerVolumeSwap => "os_compute_api:os-volumes-attachments:swap", Admin, None;
    ServerVolumeDetach => "os_compute_api:os-volumes-attachments:delete", Write, Some("ecs:serverVolumeAttachments:delete");
    FlavorList => "os_compute_api:flavors:index", Read, None;
    FlavorGet => "os_compute_api:flavors:show", Read, None;
    FlavorExtraSpecsGet => "os_compute_api:os-flavor-extra-specs:index", Read, Some("ecs:flavors:get");
    ComputeLimitsGet => "os_compute_api:limits", Read, None;
    ComputeQuotaGet => "os_compute_api:os-quota-sets:show", Read, Some("ecs:quotas:get");
    EcsServerCreate => "ecs:cloudServers:create", Write, Some("ecs:cloudServers:create");
    EcsServerDelete => "ecs:cloudServers:delete", Write, Some("ecs:cloudServers:delete");
    EcsServerStart => "ecs:cloudServers:start", Write, Some("ecs:cloudServers:start");
    EcsServerStop => "ecs:cloudServers:stop", Write, Some("ecs:cloudServers:stop");
    EcsServerReboot => "ecs:cloudServers:reboot", Write, Some("ecs:cloudServers:reboot");
    EcsServerAttach => "ecs:cloudServers:attach", Write, Some("ecs:cloudServers:attach");
    EcsServerDetach => "ecs:cloudServers:detachVolume", Write, Some("ecs:cloudServers:detachVolume");
    EcsBlockDeviceList => "ecs:cloudServers:listBlockDevices", Read, None;
    EcsBlockDeviceGet => "ecs:cloudServers:showBlockDevice", Read, None;
    EcsFlavorList => "ecs:cloudServerFlavors:get", Read, Some("ecs:cloudServerFlavors:get");
    EcsLimitsGet => "ecs:cloudServerQuotas:get", Read, Some("ecs:cloudServerQuotas:get");
    EcsJobGet => "ecs:jobs:get", Read, None;
    ImageDelete => "delete_image", Write, Some("ims:images:delete");
    ImageUpload => "upload_image", Write, Some("ims:images:upload");
    ImageDownload => "download_image", Read, Some("ims:images:download");
    /// The image's owner (a member of its project) or an admin.
    ImageDeactivate => "deactivate", Write, Some("ims:images:deactivate");
    ImageReactivate => "reactivate", Write, Some("ims:images:reactivate");
    ImageMemberList => "get_members", Read, Some("ims:images:getMembers");
    ImageMemberAdd => "add_member", Write, Some("ims:images:share");
    ImageMemberGet => "get_member", Read, Some("ims:images:getMember");
    /// A member accepting or rejecting an image shared with its project.
    ImageMemberModify => "modify_member", Read, Some("ims:images:updateMember");
    ImageMemberDelete => "delete_member", Write, Some("ims:images:deleteMember");

    // ---- identity
    TokenIssue => "identity:authenticate", Public, None;
    TokenValidate => "identity:validate_token", Read, None;
    TokenRevoke => "identity:revoke_token", Read, None;
    AuthScopesList => "identity:get_auth_projects", Read, None;
    CatalogGet => "identity:get_auth_catalog", Read, None;
    ProjectCreate => "identity:create_project", Admin, None;
    /// Admins list every project; others get their own (the handler scopes).
    ProjectList => "identity:list_projects", Read, None;
    ProjectGet => "identity:get_project", Read, None;
    ProjectUpdate => "identity:update_project", Admin, None;
    ProjectDelete => "identity:delete_project", Admin, None;
    UserCreate => "identity:create_user", Admin, None;
    UserList => "identity:list_users", Admin, None;
    /// Admins, or the user itself (the handler checks which).
    UserGet => "identity:get_user", Read, None;
    UserUpdate => "identity:update_user", Read, None;
    UserDelete => "identity:delete_user", Admin, None;
    UserProjectsList => "identity:list_user_projects", Read, None;
    RoleList => "identity:list_roles", Read, None;
    RoleGet => "identity:get_role", Read, None;
    RoleGrant => "identity:create_grant", Admin, None;
    RoleCheck => "identity:check_grant", Admin, None;
    RoleRevoke => "identity:revoke_grant", Admin, None;
    RoleGrantList => "identity:list_grants", Admin, None;
    RoleAssignmentList => "identity:list_role_assignments", Read, None;
    DomainList => "identity:list_domains", Read, None;
    DomainGet => "identity:get_domain", Read, None;
    ServiceList => "identity:list_services", Read, None;
    EndpointList => "identity:list_endpoints", Read, None;
    RegionList => "identity:list_regions", Read, None;
    /// Access keys: a user manages its own; admins anyone's.
    CredentialCreate => "identity:create_credential", Read, None;
    CredentialList => "identity:list_credentials", Read, None;
    CredentialGet => "identity:get_credential", Read, None;
    CredentialUpdate => "identity:update_credential", Read, None;
    CredentialDelete => "identity:delete_credential", Read, None;
}

impl Action {
    /// An action by its policy or IAM name (several actions may share a
    /// policy name: the first declared wins). For configuration and tests.
    pub fn by_name(name: &str) -> Vec<Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(|a| a.policy() == name || a.iam() == Some(name) || a.variant_name() == name)
            .collect()
    }

    /// The Rust name of the variant (`VolumeCreate`).
    pub fn variant_name(self) -> String {
        format!("{self:?}")
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.policy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_well_formed() {
        for a in Action::ALL {
            // Glance's policy names have no scope (`add_image`).
            let image = format!("{a:?}").starts_with("Image");
            assert!(image || a.policy().contains(':'), "{a:?}");
            if let Some(iam) = a.iam() {
                let service = if image { "ims:" } else { "evs:" };
                assert!(
                    iam.starts_with(service) || iam.starts_with("ecs:"),
                    "{a:?}: {iam}"
                );
                assert_eq!(iam.split(':').count(), 3, "{a:?}: {iam}");
            }
        }
        assert_eq!(
            Action::by_name("evs:volumes:create"),
            vec![Action::VolumeCreate]
        );
        assert!(Action::by_name("volume:update").contains(&Action::VolumeUpdate));
    }
}
