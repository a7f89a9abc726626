//! User groups, group grants and custom policies.

use async_trait::async_trait;
use platter_model::{
    CustomPolicy, DomainError, DomainResult, GrantScope, GroupGrant, Role, RoleId, User, UserGroup,
    UserGroupId, UserId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::identity::{role_from_row, user_from_row};
use super::{db_err, RowExt, SqliteStore};
use crate::repo::{IamRepo, NameFilter};

fn group_from_row(r: &SqliteRow) -> DomainResult<UserGroup> {
    Ok(UserGroup {
        id: r.id("id"),
        domain_id: r.id("domain_id"),
        name: r.get("name"),
        description: r.get("description"),
        created_at: r.ts("created_at")?,
    })
}

fn grant_from_row(r: &SqliteRow) -> DomainResult<GroupGrant> {
    let (kind, target): (String, String) = (r.get("scope"), r.get("target"));
    Ok(GroupGrant {
        group_id: r.id("group_id"),
        role_id: r.id("role_id"),
        scope: GrantScope::from_parts(&kind, &target)
            .ok_or_else(|| DomainError::Internal(format!("grant scope {kind:?}")))?,
    })
}

fn policy_from_row(r: &SqliteRow) -> DomainResult<CustomPolicy> {
    Ok(CustomPolicy {
        role_id: r.id("role_id"),
        domain_id: r.id("domain_id"),
        display_name: r.get("display_name"),
        description: r.get("description"),
        kind: r.get("kind"),
        document: r.get("document"),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

#[async_trait]
impl IamRepo for SqliteStore {
    async fn user_group_insert(&self, g: &UserGroup) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO user_groups (id, domain_id, name, description, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(g.id.as_str())
        .bind(g.domain_id.as_str())
        .bind(&g.name)
        .bind(&g.description)
        .bind(g.created_at.to_string())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn user_group_get(&self, id: &UserGroupId) -> DomainResult<Option<UserGroup>> {
        sqlx::query("SELECT * FROM user_groups WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(group_from_row)
            .transpose()
    }

    async fn user_group_list(&self, filter: &NameFilter) -> DomainResult<Vec<UserGroup>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM user_groups WHERE 1=1");
        if let Some(name) = &filter.name {
            qb.push(" AND name = ").push_bind(name.clone());
        }
        if let Some(d) = &filter.domain_id {
            qb.push(" AND domain_id = ").push_bind(d.to_string());
        }
        qb.push(" ORDER BY name");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        rows.iter().map(group_from_row).collect()
    }

    async fn user_group_update(&self, g: &UserGroup) -> DomainResult<()> {
        sqlx::query("UPDATE user_groups SET name = ?, description = ? WHERE id = ?")
            .bind(&g.name)
            .bind(&g.description)
            .bind(g.id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn user_group_delete(&self, id: &UserGroupId) -> DomainResult<bool> {
        let r = sqlx::query("DELETE FROM user_groups WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    async fn user_group_member_add(&self, group: &UserGroupId, user: &UserId) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(group.as_str())
        .bind(user.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn user_group_member_remove(
        &self,
        group: &UserGroupId,
        user: &UserId,
    ) -> DomainResult<bool> {
        let r = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group.as_str())
            .bind(user.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    async fn user_group_members(&self, group: &UserGroupId) -> DomainResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id \
             WHERE m.group_id = ? ORDER BY u.name",
        )
        .bind(group.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(user_from_row).collect())
    }

    async fn user_groups_of(&self, user: &UserId) -> DomainResult<Vec<UserGroup>> {
        let rows = sqlx::query(
            "SELECT g.* FROM user_groups g JOIN group_members m ON m.group_id = g.id \
             WHERE m.user_id = ? ORDER BY g.name",
        )
        .bind(user.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(group_from_row).collect()
    }

    async fn group_grant_add(&self, g: &GroupGrant) -> DomainResult<()> {
        let (kind, target) = g.scope.parts();
        sqlx::query(
            "INSERT INTO group_grants (group_id, role_id, scope, target) \
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(g.group_id.as_str())
        .bind(g.role_id.as_str())
        .bind(kind)
        .bind(target)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn group_grant_remove(&self, g: &GroupGrant) -> DomainResult<bool> {
        let (kind, target) = g.scope.parts();
        let r = sqlx::query(
            "DELETE FROM group_grants WHERE group_id = ? AND role_id = ? AND scope = ? AND target = ?",
        )
        .bind(g.group_id.as_str())
        .bind(g.role_id.as_str())
        .bind(kind)
        .bind(target)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    async fn group_grant_list(
        &self,
        group: Option<&UserGroupId>,
        scope: Option<&GrantScope>,
    ) -> DomainResult<Vec<GroupGrant>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM group_grants WHERE 1=1");
        if let Some(g) = group {
            qb.push(" AND group_id = ").push_bind(g.to_string());
        }
        if let Some(s) = scope {
            let (kind, target) = s.parts();
            qb.push(" AND scope = ").push_bind(kind);
            qb.push(" AND target = ").push_bind(target.to_string());
        }
        qb.push(" ORDER BY group_id, scope, target, role_id");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        rows.iter().map(grant_from_row).collect()
    }

    async fn enterprise_roles_of(&self, user: &UserId) -> DomainResult<Vec<(String, Role)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT g.target AS ep, r.* FROM group_grants g \
             JOIN group_members m ON m.group_id = g.group_id JOIN roles r ON r.id = g.role_id \
             WHERE m.user_id = ? AND g.scope = 'enterprise_project' ORDER BY g.target, r.name",
        )
        .bind(user.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<String, _>("ep"), role_from_row(r)))
            .collect())
    }

    async fn custom_policy_insert(&self, role: &Role, p: &CustomPolicy) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO roles (id, name) VALUES (?, ?)")
            .bind(role.id.as_str())
            .bind(&role.name)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO custom_policies (role_id, domain_id, display_name, description, kind, \
             document, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.role_id.as_str())
        .bind(p.domain_id.as_str())
        .bind(&p.display_name)
        .bind(&p.description)
        .bind(&p.kind)
        .bind(&p.document)
        .bind(p.created_at.to_string())
        .bind(p.updated_at.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn custom_policy_get(&self, role: &RoleId) -> DomainResult<Option<CustomPolicy>> {
        sqlx::query("SELECT * FROM custom_policies WHERE role_id = ?")
            .bind(role.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(policy_from_row)
            .transpose()
    }

    async fn custom_policy_list(&self) -> DomainResult<Vec<CustomPolicy>> {
        let rows = sqlx::query("SELECT * FROM custom_policies ORDER BY display_name")
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn custom_policy_update(&self, p: &CustomPolicy) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE roles SET name = ? WHERE id = ?")
            .bind(&p.display_name)
            .bind(p.role_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "UPDATE custom_policies SET display_name = ?, description = ?, kind = ?, \
             document = ?, updated_at = ? WHERE role_id = ?",
        )
        .bind(&p.display_name)
        .bind(&p.description)
        .bind(&p.kind)
        .bind(&p.document)
        .bind(p.updated_at.to_string())
        .bind(p.role_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn custom_policy_delete(&self, role: &RoleId) -> DomainResult<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query("DELETE FROM custom_policies WHERE role_id = ?")
            .bind(role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected()
            > 0;
        if found {
            sqlx::query("DELETE FROM roles WHERE id = ?")
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(found)
    }

    async fn iam_generation_bump(&self) -> DomainResult<i64> {
        let row = sqlx::query(
            "UPDATE iam_generation SET generation = generation + 1 WHERE id = 1 RETURNING generation",
        )
        .fetch_one(&self.write)
        .await
        .map_err(db_err)?;
        Ok(row.get("generation"))
    }

    async fn iam_generation(&self) -> DomainResult<i64> {
        let row = sqlx::query("SELECT generation FROM iam_generation WHERE id = 1")
            .fetch_one(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.get("generation"))
    }
}
