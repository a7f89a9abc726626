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

/// An action's IAM name, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IamName {
    /// Named by Huawei's documents (seeds 001, 002, 003 ch. 9).
    Doc(&'static str),
    /// Not documented: Platter's choice, in the same `service:resource:verb`
    /// form (docs/DECISIONS.md, "IAM names of undocumented routes").
    Ours(&'static str),
    /// No authorization beyond authentication (the documents' "无"):
    /// discovery, one's own tokens and access keys, Keystone's reads.
    Free,
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

            /// The IAM name and its origin.
            pub fn iam_name(self) -> IamName {
                use IamName::*;
                match self { $(Action::$variant => $iam,)* }
            }
        }
    };
}

impl Action {
    /// The IAM action the documents name for this operation, if they do.
    pub fn iam(self) -> Option<&'static str> {
        match self.iam_name() {
            IamName::Doc(n) => Some(n),
            _ => None,
        }
    }

    /// The IAM action policies are matched against: documented or chosen;
    /// `None` when no authorization is needed beyond authentication.
    pub fn iam_action(self) -> Option<&'static str> {
        match self.iam_name() {
            IamName::Doc(n) | IamName::Ours(n) => Some(n),
            IamName::Free => None,
        }
    }
}

actions! {
    // ---- versions and discovery
    VersionsGet => "versions:get", Public, Free;
    ResourceFiltersList => "volume:get_resource_filters", Read, Free;
    ExtensionsList => "volume_extension:extensions:get", Read, Free;
    AvailabilityZoneList => "volume_extension:availability_zone_list", Read, Free;
    LimitsGet => "limits_extension:used_limits", Read, Ours("evs:quotas:get");

    // ---- volumes
    VolumeCreate => "volume:create", Write, Doc("evs:volumes:create");
    VolumeList => "volume:get_all", Read, Doc("evs:volumes:list");
    VolumeGet => "volume:get", Read, Doc("evs:volumes:get");
    VolumeSummary => "volume:get_volume_summary", Read, Doc("evs:volumes:list");
    VolumeUpdate => "volume:update", Write, Doc("evs:volumes:update");
    VolumeDelete => "volume:delete", Write, Doc("evs:volumes:delete");
    VolumeExtend => "volume:extend", Write, Doc("evs:volumes:extend");
    VolumeRetype => "volume:retype", Write, Doc("evs:volumes:retype");
    VolumeMetadataGet => "volume:get_volume_metadata", Read, Doc("evs:volumes:get");
    VolumeMetadataUpdate => "volume:update_volume_metadata", Write, Doc("evs:volumes:update");
    VolumeMetadataDelete => "volume:delete_volume_metadata", Write, Doc("evs:volumes:delete");
    VolumeSetBootable => "volume:update", Write, Doc("evs:volumes:update");
    VolumeSetReadonly => "volume:update_readonly_flag", Write, Doc("evs:volumes:update");
    VolumeRevert => "volume:revert_to_snapshot", Write, Doc("evs:snapshots:rollback");
    VolumeImageMetadataGet => "volume_extension:volume_image_metadata:show", Read, Doc("evs:volumes:get");
    VolumeImageMetadataSet => "volume_extension:volume_image_metadata:set", Write, Doc("evs:volumes:update");
    VolumeImageMetadataRemove => "volume_extension:volume_image_metadata:remove", Write, Doc("evs:volumes:update");
    VolumeMigrate => "volume_extension:volume_admin_actions:migrate_volume", Admin, Ours("evs:volumes:migrate");
    /// Cinder `os-volume_upload_image`: a new image of the volume's data.
    VolumeUploadImage => "volume_extension:volume_actions:upload_image", Write, Doc("evs:volumes:uploadImage");
    /// Uploading to a `public` image (admins, as upstream).
    VolumeUploadPublicImage => "volume_extension:volume_actions:upload_public", Admin, Ours("evs:volumes:uploadPublicImage");
    /// Cinder `os-migrate_volume_completion`: Nova's volume swap ends.
    VolumeMigrateCompletion => "volume_extension:volume_admin_actions:migrate_volume_completion", Admin, Ours("evs:volumes:migrateCompletion");
    VolumeResetStatus => "volume_extension:volume_admin_actions:reset_status", Admin, Ours("evs:volumes:resetStatus");
    /// Cinder `os-promote-replica`: the replica becomes the primary.
    VolumePromoteReplica => "volume:promote_replica", Admin, Ours("evs:volumes:promoteReplica");
    /// Cinder `os-reenable-replica`: the replica is made again.
    VolumeReenableReplica => "volume:reenable_replica", Admin, Ours("evs:volumes:reenableReplica");
    VolumeForceDetach => "volume_extension:volume_admin_actions:force_detach", Admin, Ours("evs:volumes:forceDetach");
    /// Cinder `os-unmanage`: the volume leaves Platter, its device stays.
    VolumeUnmanage => "volume_extension:volume_unmanage", Admin, Ours("evs:volumes:unmanage");
    /// Cinder manage existing (`os-volume-manage`, `manageable_volumes`).
    VolumeManage => "volume_extension:volume_manage", Admin, Ours("evs:volumes:manage");
    /// The devices of a pool a volume could be managed from.
    VolumeManageableList => "volume_extension:list_manageable", Admin, Ours("evs:volumes:listManageable");
    VolumeReserve => "volume:reserve_volume", Write, Doc("evs:volumes:attach");
    VolumeUnreserve => "volume:unreserve_volume", Write, Doc("evs:volumes:detach");
    VolumeBeginDetaching => "volume:begin_detaching", Write, Doc("evs:volumes:detach");
    VolumeInitializeConnection => "volume:initialize_connection", Write, Doc("evs:volumes:attach");
    VolumeTerminateConnection => "volume:terminate_connection", Write, Doc("evs:volumes:detach");
    VolumeAttach => "volume:attach", Write, Doc("evs:volumes:attach");
    VolumeDetach => "volume:detach", Write, Doc("evs:volumes:detach");
    /// EVS: change a volume's QoS (iops/throughput).
    VolumeModifyQos => "volume:update", Write, Doc("evs:volumes:update");
    /// EVS: unsubscribe (delete) prepaid volumes.
    VolumeUnsubscribe => "volume:delete", Write, Doc("evs:volumes:delete");
    VolumeTagsCreate => "volume:update", Write, Doc("evs:volumeTags:create");
    VolumeTagsDelete => "volume:update", Write, Doc("evs:volumeTags:delete");
    VolumeTagsList => "volume:get_all", Read, Doc("evs:volumeTags:list");
    VolumeTagsGet => "volume:get", Read, Doc("evs:volumeTags:getById");
    VolumeTagsQuery => "volume:get_all", Read, Doc("evs:volumeTags:get");

    // ---- snapshots
    SnapshotCreate => "volume:create_snapshot", Write, Doc("evs:snapshots:create");
    SnapshotList => "volume:get_all_snapshots", Read, Doc("evs:snapshots:list");
    SnapshotGet => "volume:get_snapshot", Read, Doc("evs:snapshots:get");
    SnapshotUpdate => "volume:update_snapshot", Write, Doc("evs:snapshots:update");
    SnapshotDelete => "volume:delete_snapshot", Write, Doc("evs:snapshots:delete");
    SnapshotMetadataGet => "volume:get_snapshot_metadata", Read, Doc("evs:snapshots:get");
    SnapshotMetadataUpdate => "volume:update_snapshot_metadata", Write, Doc("evs:snapshots:update");
    SnapshotMetadataDelete => "volume:delete_snapshot_metadata", Write, Doc("evs:snapshots:delete");
    SnapshotRollback => "volume:rollback", Write, Doc("evs:snapshots:rollback");
    SnapshotResetStatus => "volume_extension:snapshot_admin_actions:reset_status", Admin, Ours("evs:snapshots:resetStatus");
    SnapshotForceDelete => "volume_extension:snapshot_admin_actions:force_delete", Admin, Doc("evs:snapshots:delete");
    SnapshotUpdateStatus => "snapshot_extension:snapshot_actions:update_snapshot_status", Write, Doc("evs:snapshots:update");
    /// Cinder snapshot `os-unmanage`: the row leaves, the device stays.
    SnapshotUnmanage => "snapshot_extension:snapshot_unmanage", Admin, Ours("evs:snapshots:unmanage");
    /// Cinder manage existing snapshot (`os-snapshot-manage`, `manageable_snapshots`).
    SnapshotManage => "snapshot_extension:snapshot_manage", Admin, Ours("evs:snapshots:manage");
    /// The snapshot devices of a pool a snapshot could be managed from.
    SnapshotManageableList => "snapshot_extension:list_manageable", Admin, Ours("evs:snapshots:listManageable");

    // ---- attachments (Cinder 3.27+)
    AttachmentCreate => "volume:attachment_create", Write, Doc("evs:volumes:attach");
    AttachmentList => "volume:attachment_get_all", Read, Ours("evs:attachments:list");
    AttachmentGet => "volume:attachment_get", Read, Ours("evs:attachments:get");
    AttachmentUpdate => "volume:attachment_update", Write, Doc("evs:volumes:attach");
    AttachmentComplete => "volume:attachment_complete", Write, Doc("evs:volumes:attach");
    AttachmentDelete => "volume:attachment_delete", Write, Doc("evs:volumes:detach");

    // ---- transfers (a project gives a volume to another)
    TransferCreate => "volume:create_transfer", Write, Doc("evs:transfers:create");
    TransferList => "volume:get_all_transfers", Read, Doc("evs:transfers:list");
    TransferGet => "volume:get_transfer", Read, Doc("evs:transfers:get");
    TransferDelete => "volume:delete_transfer", Write, Doc("evs:transfers:delete");
    TransferAccept => "volume:accept_transfer", Write, Doc("evs:transfers:accept");

    // ---- generic volume groups (Cinder 3.11+)
    /// Reading group types has no policy upstream: any caller.
    GroupTypeList => "group:group_types:get_all", Read, Ours("evs:groupTypes:list");
    GroupTypeGet => "group:group_types:get", Read, Ours("evs:groupTypes:get");
    /// Create, update and delete group types.
    GroupTypeManage => "group:group_types_manage", Admin, Ours("evs:groupTypes:manage");
    /// Create, show, update and delete group specs.
    GroupTypeSpecs => "group:group_types_specs", Admin, Ours("evs:groupTypes:manageSpecs");
    /// See a group type's specs in its view.
    GroupTypeSpecsAccess => "group:access_group_types_specs", Admin, Ours("evs:groupTypes:accessSpecs");
    GroupCreate => "group:create", Write, Ours("evs:groups:create");
    GroupGet => "group:get", Read, Ours("evs:groups:get");
    GroupList => "group:get_all", Read, Ours("evs:groups:list");
    GroupUpdate => "group:update", Write, Ours("evs:groups:update");
    GroupDelete => "group:delete", Write, Ours("evs:groups:delete");
    GroupResetStatus => "group:reset_status", Admin, Ours("evs:groups:resetStatus");
    GroupSnapshotCreate => "group:create_group_snapshot", Write, Ours("evs:groupSnapshots:create");
    GroupSnapshotGet => "group:get_group_snapshot", Read, Ours("evs:groupSnapshots:get");
    GroupSnapshotList => "group:get_all_group_snapshots", Read, Ours("evs:groupSnapshots:list");
    GroupSnapshotDelete => "group:delete_group_snapshot", Write, Ours("evs:groupSnapshots:delete");
    GroupSnapshotResetStatus => "group:reset_group_snapshot_status", Admin, Ours("evs:groupSnapshots:resetStatus");

    // ---- types, quotas, pools, jobs
    TypeList => "volume_extension:types_manage", Read, Doc("evs:types:get");
    TypeGet => "volume_extension:type_get", Read, Doc("evs:types:get");
    TypeCreate => "volume_extension:type_create", Admin, Ours("evs:types:create");
    TypeUpdate => "volume_extension:type_update", Admin, Ours("evs:types:update");
    TypeDelete => "volume_extension:type_delete", Admin, Ours("evs:types:delete");
    DefaultTypeSet => "volume_extension:default_set_or_update", Admin, Ours("evs:defaultTypes:set");
    DefaultTypeGet => "volume_extension:default_get", Admin, Ours("evs:defaultTypes:get");
    DefaultTypeList => "volume_extension:default_get_all", Admin, Ours("evs:defaultTypes:list");
    DefaultTypeUnset => "volume_extension:default_unset", Admin, Ours("evs:defaultTypes:unset");
    TypeAccessList => "volume_extension:volume_type_access", Admin, Ours("evs:types:listAccess");
    TypeAccessAdd => "volume_extension:volume_type_access:addProjectAccess", Admin, Ours("evs:types:addAccess");
    TypeAccessRemove => "volume_extension:volume_type_access:removeProjectAccess", Admin, Ours("evs:types:removeAccess");
    TypeEncryptionGet => "volume_extension:volume_type_encryption:get", Admin, Ours("evs:types:getEncryption");
    TypeEncryptionCreate => "volume_extension:volume_type_encryption:create", Admin, Ours("evs:types:createEncryption");
    TypeEncryptionUpdate => "volume_extension:volume_type_encryption:update", Admin, Ours("evs:types:updateEncryption");
    TypeEncryptionDelete => "volume_extension:volume_type_encryption:delete", Admin, Ours("evs:types:deleteEncryption");
    TypeExtraSpecsGet => "volume_extension:types_extra_specs:index", Read, Doc("evs:types:get");
    TypeExtraSpecsUpdate => "volume_extension:types_extra_specs:update", Admin, Ours("evs:types:updateExtraSpecs");
    TypeExtraSpecsDelete => "volume_extension:types_extra_specs:delete", Admin, Ours("evs:types:deleteExtraSpecs");
    QosSpecsCreate => "volume_extension:qos_specs_manage:create", Admin, Ours("evs:qosSpecs:create");
    QosSpecsList => "volume_extension:qos_specs_manage:get_all", Admin, Ours("evs:qosSpecs:list");
    QosSpecsGet => "volume_extension:qos_specs_manage:get", Admin, Ours("evs:qosSpecs:get");
    QosSpecsUpdate => "volume_extension:qos_specs_manage:update", Admin, Ours("evs:qosSpecs:update");
    QosSpecsDelete => "volume_extension:qos_specs_manage:delete", Admin, Ours("evs:qosSpecs:delete");
    QuotaGet => "volume_extension:quotas:show", Read, Doc("evs:quotas:get");
    QuotaDefaultsGet => "volume_extension:quotas:show", Read, Doc("evs:quotas:get");
    QuotaUpdate => "volume_extension:quotas:update", Admin, Ours("evs:quotas:update");
    QuotaDelete => "volume_extension:quotas:delete", Admin, Ours("evs:quotas:delete");
    QuotaClassGet => "volume_extension:quota_classes", Admin, Ours("evs:quotaClasses:get");
    QuotaClassUpdate => "volume_extension:quota_classes:update", Admin, Ours("evs:quotaClasses:update");
    PoolsGet => "scheduler_extension:scheduler_stats:get_pools", Admin, Ours("evs:pools:list");
    MessageList => "message:get_all", Read, Ours("evs:messages:list");
    MessageGet => "message:get", Read, Ours("evs:messages:get");
    MessageDelete => "message:delete", Write, Ours("evs:messages:delete");
    VolumeServiceList => "volume_extension:services:index", Admin, Ours("evs:services:list");
    VolumeServiceUpdate => "volume_extension:services:update", Admin, Ours("evs:services:update");
    CapabilitiesGet => "volume_extension:capabilities", Admin, Ours("evs:capabilities:get");
    HostList => "volume_extension:hosts", Admin, Ours("evs:hosts:list");
    HostGet => "volume_extension:hosts", Admin, Ours("evs:hosts:get");
    JobGet => "evs:jobs:get", Read, Ours("evs:jobs:get");

    // ---- backups
    BackupCreate => "backup:create", Write, Ours("evs:backups:create");
    BackupList => "backup:get_all", Read, Ours("evs:backups:list");
    BackupGet => "backup:get", Read, Ours("evs:backups:get");
    BackupDelete => "backup:delete", Write, Ours("evs:backups:delete");
    BackupUpdate => "backup:update", Write, Ours("evs:backups:update");
    BackupRestore => "backup:restore", Write, Ours("evs:backups:restore");
    BackupExport => "backup:export-import", Admin, Ours("evs:backups:export");
    BackupImport => "backup:backup-import", Admin, Ours("evs:backups:import");
    BackupResetStatus => "volume_extension:backup_admin_actions:reset_status", Admin, Ours("evs:backups:resetStatus");
    BackupForceDelete => "volume_extension:backup_admin_actions:force_delete", Admin, Ours("evs:backups:forceDelete");

    // ---- images (Glance's policy names, Huawei IMS's IAM actions)
    ImageCreate => "add_image", Write, Doc("ims:images:create");
    ImageList => "get_images", Read, Doc("ims:images:list");
    ImageGet => "get_image", Read, Doc("ims:images:get");
    ImageUpdate => "modify_image", Write, Doc("ims:images:update");
    /// Making an image `public` (Glance's default: admins only).
    ImagePublicize => "publicize_image", Admin, Ours("ims:images:publicize");
    // ---- compute (Nova policy names; IAM actions of seed 003 ch. 9)
    ServerCreate => "os_compute_api:servers:create", Write, Doc("ecs:servers:create");
    ServerList => "os_compute_api:servers:index", Read, Doc("ecs:servers:list");
    ServerGet => "os_compute_api:servers:show", Read, Doc("ecs:servers:get");
    ServerUpdate => "os_compute_api:servers:update", Write, Doc("ecs:servers:update");
    ServerDelete => "os_compute_api:servers:delete", Write, Doc("ecs:servers:delete");
    ServerStart => "os_compute_api:servers:start", Write, Doc("ecs:servers:start");
    ServerStop => "os_compute_api:servers:stop", Write, Doc("ecs:servers:stop");
    ServerReboot => "os_compute_api:servers:reboot", Write, Doc("ecs:servers:reboot");
    ServerConsoleOutput => "os_compute_api:os-console-output", Write, Ours("ecs:servers:showConsoleOutput");
    ServerLock => "os_compute_api:os-lock-server:lock", Write, Doc("ecs:servers:lock");
    ServerUnlock => "os_compute_api:os-lock-server:unlock", Write, Doc("ecs:servers:unlock");
    ServerCreateImage => "os_compute_api:servers:create_image", Write, Doc("ecs:servers:createImage");
    ServerMonitorMetrics => "os_compute_api:servers:monitor_metrics", Write, Ours("ecs:servers:showMonitorMetrics");
    ServerResize => "os_compute_api:servers:resize", Write, Doc("ecs:servers:resize");
    ServerRebuild => "os_compute_api:servers:rebuild", Write, Doc("ecs:servers:rebuild");
    NovaVolumesRead => "os_compute_api:os-volumes:show", Read, Doc("ecs:serverVolumes:use");
    NovaVolumesWrite => "os_compute_api:os-volumes:create", Write, Doc("ecs:serverVolumes:use");
    NovaSnapshotsRead => "os_compute_api:os-volumes:snapshots:show", Read, Ours("ecs:serverSnapshots:get");
    NovaSnapshotsWrite => "os_compute_api:os-volumes:snapshots:create", Write, Ours("ecs:serverSnapshots:create");
    EcsServerReinstall => "ecs:cloudServers:rebuild", Write, Doc("ecs:cloudServers:rebuild");
    EcsServerChangeOs => "ecs:cloudServers:changeOS", Write, Doc("ecs:cloudServers:changeOS");
    EcsServerResize => "ecs:cloudServers:resize", Write, Doc("ecs:cloudServers:resize");
    EcsServerMigrate => "ecs:cloudServers:migrate", Write, Ours("ecs:cloudServers:migrate");
    ServerVolumeAttachmentList => "os_compute_api:os-volumes-attachments:index", Read, Doc("ecs:serverVolumeAttachments:list");
    ServerVolumeAttachmentGet => "os_compute_api:os-volumes-attachments:show", Read, Doc("ecs:serverVolumeAttachments:get");
    ServerVolumeAttach => "os_compute_api:os-volumes-attachments:create", Write, Doc("ecs:serverVolumeAttachments:create");
    ServerVolumeSwap => "os_compute_api:os-volumes-attachments:swap", Admin, Ours("ecs:serverVolumeAttachments:swap");
    ServerVolumeDetach => "os_compute_api:os-volumes-attachments:delete", Write, Doc("ecs:serverVolumeAttachments:delete");
    FlavorList => "os_compute_api:flavors:index", Read, Ours("ecs:flavors:list");
    FlavorGet => "os_compute_api:flavors:show", Read, Ours("ecs:flavors:get");
    FlavorExtraSpecsGet => "os_compute_api:os-flavor-extra-specs:index", Read, Doc("ecs:flavors:get");
    ComputeLimitsGet => "os_compute_api:limits", Read, Ours("ecs:quotas:get");
    ComputeQuotaGet => "os_compute_api:os-quota-sets:show", Read, Doc("ecs:quotas:get");
    EcsServerCreate => "ecs:cloudServers:create", Write, Doc("ecs:cloudServers:create");
    EcsServerDelete => "ecs:cloudServers:delete", Write, Doc("ecs:cloudServers:delete");
    EcsServerStart => "ecs:cloudServers:start", Write, Doc("ecs:cloudServers:start");
    EcsServerStop => "ecs:cloudServers:stop", Write, Doc("ecs:cloudServers:stop");
    EcsServerReboot => "ecs:cloudServers:reboot", Write, Doc("ecs:cloudServers:reboot");
    EcsServerAttach => "ecs:cloudServers:attach", Write, Doc("ecs:cloudServers:attach");
    EcsServerDetach => "ecs:cloudServers:detachVolume", Write, Doc("ecs:cloudServers:detachVolume");
    EcsBlockDeviceList => "ecs:cloudServers:listBlockDevices", Read, Ours("evs:volumes:list");
    EcsBlockDeviceGet => "ecs:cloudServers:showBlockDevice", Read, Ours("evs:volumes:get");
    EcsFlavorList => "ecs:cloudServerFlavors:get", Read, Doc("ecs:cloudServerFlavors:get");
    EcsLimitsGet => "ecs:cloudServerQuotas:get", Read, Doc("ecs:cloudServerQuotas:get");
    EcsJobGet => "ecs:jobs:get", Read, Ours("ecs:jobs:get");
    ImageDelete => "delete_image", Write, Doc("ims:images:delete");
    ImageUpload => "upload_image", Write, Doc("ims:images:upload");
    ImageDownload => "download_image", Read, Doc("ims:images:download");
    /// The image's owner (a member of its project) or an admin.
    ImageDeactivate => "deactivate", Write, Doc("ims:images:deactivate");
    ImageReactivate => "reactivate", Write, Doc("ims:images:reactivate");
    ImageMemberList => "get_members", Read, Doc("ims:images:getMembers");
    ImageMemberAdd => "add_member", Write, Doc("ims:images:share");
    ImageMemberGet => "get_member", Read, Doc("ims:images:getMember");
    /// A member accepting or rejecting an image shared with its project.
    ImageMemberModify => "modify_member", Write, Doc("ims:images:updateMember");
    ImageMemberDelete => "delete_member", Write, Doc("ims:images:deleteMember");

    // ---- identity
    TokenIssue => "identity:authenticate", Public, Free;
    TokenValidate => "identity:validate_token", Read, Free;
    TokenRevoke => "identity:revoke_token", Read, Free;
    AuthScopesList => "identity:get_auth_projects", Read, Free;
    CatalogGet => "identity:get_auth_catalog", Read, Free;
    ProjectCreate => "identity:create_project", Admin, Ours("iam:projects:create");
    /// Admins list every project; others get their own (the handler scopes).
    ProjectList => "identity:list_projects", Read, Free;
    ProjectGet => "identity:get_project", Read, Free;
    ProjectUpdate => "identity:update_project", Admin, Ours("iam:projects:update");
    ProjectDelete => "identity:delete_project", Admin, Ours("iam:projects:delete");
    UserCreate => "identity:create_user", Admin, Ours("iam:users:create");
    UserList => "identity:list_users", Admin, Ours("iam:users:list");
    /// Admins, or the user itself (the handler checks which).
    UserGet => "identity:get_user", Read, Free;
    UserUpdate => "identity:update_user", Read, Free;
    UserDelete => "identity:delete_user", Admin, Ours("iam:users:delete");
    UserProjectsList => "identity:list_user_projects", Read, Free;
    RoleList => "identity:list_roles", Read, Free;
    RoleGet => "identity:get_role", Read, Free;
    RoleGrant => "identity:create_grant", Admin, Ours("iam:permissions:grantRole");
    RoleCheck => "identity:check_grant", Admin, Ours("iam:permissions:checkRole");
    RoleRevoke => "identity:revoke_grant", Admin, Ours("iam:permissions:revokeRole");
    RoleGrantList => "identity:list_grants", Admin, Ours("iam:permissions:listRoles");
    RoleAssignmentList => "identity:list_role_assignments", Read, Free;
    /// The htaiyun platform's application token of a project.
    HtaiyunAppTokenIssue => "htaiyun:issue_app_token", Write, Ours("evs:appTokens:create");
    // ---- IAM: user groups and custom policies (Huawei IAM's action names)
    UserGroupCreate => "identity:create_group", Admin, Ours("iam:groups:createGroup");
    UserGroupList => "identity:list_groups", Admin, Ours("iam:groups:listGroups");
    UserGroupGet => "identity:get_group", Admin, Ours("iam:groups:getGroup");
    UserGroupUpdate => "identity:update_group", Admin, Ours("iam:groups:updateGroup");
    UserGroupDelete => "identity:delete_group", Admin, Ours("iam:groups:deleteGroup");
    UserGroupMemberAdd => "identity:add_user_to_group", Admin, Ours("iam:permissions:addUserToGroup");
    UserGroupMemberRemove => "identity:remove_user_from_group", Admin, Ours("iam:permissions:removeUserFromGroup");
    UserGroupMemberCheck => "identity:check_user_in_group", Admin, Ours("iam:permissions:checkUserInGroup");
    UserGroupMemberList => "identity:list_users_in_group", Admin, Ours("iam:users:listUsersForGroup");
    UserGroupsOfUser => "identity:list_groups_for_user", Admin, Ours("iam:groups:listGroupsForUser");
    PolicyCreate => "identity:create_role", Admin, Ours("iam:roles:createRole");
    PolicyList => "identity:list_custom_roles", Admin, Ours("iam:roles:listRoles");
    PolicyGet => "identity:get_custom_role", Admin, Ours("iam:roles:getRole");
    PolicyUpdate => "identity:update_role", Admin, Ours("iam:roles:updateRole");
    PolicyDelete => "identity:delete_role", Admin, Ours("iam:roles:deleteRole");
    DomainList => "identity:list_domains", Read, Free;
    DomainGet => "identity:get_domain", Read, Free;
    ServiceList => "identity:list_services", Read, Free;
    EndpointList => "identity:list_endpoints", Read, Free;
    RegionList => "identity:list_regions", Read, Free;
    /// Access keys: a user manages its own; admins anyone's.
    CredentialCreate => "identity:create_credential", Read, Free;
    CredentialList => "identity:list_credentials", Read, Free;
    CredentialGet => "identity:get_credential", Read, Free;
    CredentialUpdate => "identity:update_credential", Read, Free;
    CredentialDelete => "identity:delete_credential", Read, Free;
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
            if let Some(iam) = a.iam_action() {
                let service = if image { "ims:" } else { "evs:" };
                assert!(
                    iam.starts_with(service) || iam.starts_with("ecs:") || iam.starts_with("iam:"),
                    "{a:?}: {iam}"
                );
                assert_eq!(iam.split(':').count(), 3, "{a:?}: {iam}");
            }
            // Free actions are those that need no authorization: never
            // a change to a resource.
            if a.iam_action().is_none() {
                assert!(
                    a.access() != Access::Write && a.access() != Access::Admin
                        || matches!(a, Action::TokenRevoke),
                    "{a:?}"
                );
            }
        }
        assert_eq!(
            Action::by_name("evs:volumes:create"),
            vec![Action::VolumeCreate]
        );
        assert!(Action::by_name("volume:update").contains(&Action::VolumeUpdate));
    }

    /// Huawei's read-only policies are `*:*:get*` and `*:*:list*`: every
    /// read Platter names is named so, and no change is (documented names
    /// excepted: Nova's proxies take `ecs:serverVolumes:use` for both,
    /// image downloads `ims:images:download`).
    #[test]
    fn reads_are_gets_and_lists_and_changes_are_not() {
        for a in Action::ALL {
            let Some(name) = a.iam_action() else { continue };
            let verb = name.rsplit(':').next().unwrap_or("");
            let looks = verb.starts_with("get") || verb.starts_with("list");
            match (a.access(), a.iam_name()) {
                (_, IamName::Doc(_)) if verb == "use" => {}
                (Access::Read, IamName::Doc(_)) => {}
                (Access::Read, _) => assert!(looks, "{a:?} reads but is named {name}"),
                (Access::Write, _) => assert!(!looks, "{a:?} changes but is named {name}"),
                // Cloud-operator actions need the admin role whatever
                // their name (docs/DECISIONS.md).
                _ => {}
            }
        }
    }
}
