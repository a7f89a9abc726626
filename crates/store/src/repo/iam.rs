//! IAM: user groups and their members, grants to groups, custom policies.

use platter_model::{
    CustomPolicy, DomainResult, GrantScope, GroupGrant, Role, RoleId, User, UserGroup, UserGroupId,
    UserId,
};

use super::NameFilter;

repository! {
    /// User groups, group grants and custom policies.
    pub trait IamRepo {
        /// Adds a group; a taken name in its domain is a conflict.
        async fn user_group_insert(&self, g: &UserGroup) -> DomainResult<()>;
        async fn user_group_get(&self, id: &UserGroupId) -> DomainResult<Option<UserGroup>>;
        async fn user_group_list(&self, filter: &NameFilter) -> DomainResult<Vec<UserGroup>>;
        async fn user_group_update(&self, g: &UserGroup) -> DomainResult<()>;
        /// Removes a group with its memberships and grants; `false` if none.
        async fn user_group_delete(&self, id: &UserGroupId) -> DomainResult<bool>;
        async fn user_group_member_add(&self, group: &UserGroupId, user: &UserId) -> DomainResult<()>;
        /// `false` if the user was not a member.
        async fn user_group_member_remove(&self, group: &UserGroupId, user: &UserId) -> DomainResult<bool>;
        async fn user_group_members(&self, group: &UserGroupId) -> DomainResult<Vec<User>>;
        async fn user_groups_of(&self, user: &UserId) -> DomainResult<Vec<UserGroup>>;
        async fn group_grant_add(&self, g: &GroupGrant) -> DomainResult<()>;
        /// `false` if there was no such grant.
        async fn group_grant_remove(&self, g: &GroupGrant) -> DomainResult<bool>;
        async fn group_grant_list(
            &self,
            group: Option<&UserGroupId>,
            scope: Option<&GrantScope>,
        ) -> DomainResult<Vec<GroupGrant>>;
        /// The roles a user holds on enterprise projects through its groups:
        /// (enterprise project, role).
        async fn enterprise_roles_of(&self, user: &UserId) -> DomainResult<Vec<(String, Role)>>;
        /// Adds a custom policy with its role row, in one transaction.
        async fn custom_policy_insert(&self, role: &Role, p: &CustomPolicy) -> DomainResult<()>;
        async fn custom_policy_get(&self, role: &RoleId) -> DomainResult<Option<CustomPolicy>>;
        async fn custom_policy_list(&self) -> DomainResult<Vec<CustomPolicy>>;
        /// Replaces a custom policy (and its role's name).
        async fn custom_policy_update(&self, p: &CustomPolicy) -> DomainResult<()>;
        /// Removes a custom policy, its role and every grant of it.
        async fn custom_policy_delete(&self, role: &RoleId) -> DomainResult<bool>;
        /// Counts an IAM change; returns the new generation.
        async fn iam_generation_bump(&self) -> DomainResult<i64>;
        async fn iam_generation(&self) -> DomainResult<i64>;
    }
}
