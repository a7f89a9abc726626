//! Domains, projects, users, roles, role assignments and tokens.

use async_trait::async_trait;
use platter_model::{
    Domain, DomainError, DomainId, DomainResult, Project, ProjectId, Role, RoleAssignment, RoleId,
    Timestamp, User, UserId,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{db_err, now_text, opt_str, RowExt, SqliteStore};
use crate::repo::{IdentityRepo, NameFilter, TokenRow};

fn domain_from_row(r: &SqliteRow) -> Domain {
    Domain {
        id: r.id("id"),
        name: r.get("name"),
        description: r.get("description"),
        enabled: r.get::<i64, _>("enabled") != 0,
    }
}

fn project_from_row(r: &SqliteRow) -> Project {
    Project {
        id: r.id("id"),
        name: r.get("name"),
        domain_id: r.id("domain_id"),
        description: r.get("description"),
        enabled: r.get::<i64, _>("enabled") != 0,
    }
}

pub(super) fn user_from_row(r: &SqliteRow) -> User {
    User {
        id: r.id("id"),
        name: r.get("name"),
        domain_id: r.id("domain_id"),
        default_project_id: r.id_opt("default_project_id"),
        email: r.get("email"),
        description: r.get("description"),
        enabled: r.get::<i64, _>("enabled") != 0,
    }
}

pub(super) fn role_from_row(r: &SqliteRow) -> Role {
    Role {
        id: r.id("id"),
        name: r.get("name"),
    }
}

#[async_trait]
impl IdentityRepo for SqliteStore {
    // ---- domains ----

    async fn domain_insert(&self, d: &Domain) -> DomainResult<()> {
        sqlx::query("INSERT INTO domains (id, name, description, enabled, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(d.id.as_str())
            .bind(&d.name)
            .bind(&d.description)
            .bind(d.enabled as i64)
            .bind(now_text())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn domain_get(&self, id: &DomainId) -> DomainResult<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(domain_from_row))
    }

    async fn domain_find_by_name(&self, name: &str) -> DomainResult<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(domain_from_row))
    }

    async fn domain_list(&self, name: Option<&str>) -> DomainResult<Vec<Domain>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM domains WHERE 1=1");
        if let Some(name) = name {
            qb.push(" AND name = ").push_bind(name.to_string());
        }
        qb.push(" ORDER BY name");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        Ok(rows.iter().map(domain_from_row).collect())
    }

    // ---- projects ----

    async fn project_insert(&self, p: &Project) -> DomainResult<()> {
        sqlx::query("INSERT INTO projects (id, name, domain_id, description, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.domain_id.as_str())
            .bind(&p.description)
            .bind(p.enabled as i64)
            .bind(now_text())
            .execute(&self.write)
            .await
            .map_err(|e| match db_err(e) {
                DomainError::Conflict(_) => DomainError::Conflict(format!(
                    "Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {}.",
                    p.name
                )),
                other => other,
            })?;
        Ok(())
    }

    async fn project_get(&self, id: &ProjectId) -> DomainResult<Option<Project>> {
        let row = sqlx::query("SELECT * FROM projects WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(project_from_row))
    }

    async fn project_find_by_name(
        &self,
        domain_id: &DomainId,
        name: &str,
    ) -> DomainResult<Option<Project>> {
        let row = sqlx::query("SELECT * FROM projects WHERE domain_id = ? AND name = ?")
            .bind(domain_id.as_str())
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(project_from_row))
    }

    async fn project_list(&self, filter: &NameFilter) -> DomainResult<Vec<Project>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM projects WHERE 1=1");
        if let Some(name) = &filter.name {
            qb.push(" AND name = ").push_bind(name.clone());
        }
        if let Some(d) = &filter.domain_id {
            qb.push(" AND domain_id = ").push_bind(d.to_string());
        }
        qb.push(" ORDER BY name");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        Ok(rows.iter().map(project_from_row).collect())
    }

    /// Projects on which the user holds any role.
    async fn project_list_for_user(&self, user_id: &UserId) -> DomainResult<Vec<Project>> {
        let rows = sqlx::query(
            "SELECT p.* FROM projects p WHERE p.id IN ( \
               SELECT project_id FROM role_assignments WHERE user_id = ?1 \
               UNION SELECT g.target FROM group_grants g \
                 JOIN group_members m ON m.group_id = g.group_id \
                 WHERE m.user_id = ?1 AND g.scope = 'project') \
             OR p.domain_id IN (SELECT g.target FROM group_grants g \
                 JOIN group_members m ON m.group_id = g.group_id \
                 WHERE m.user_id = ?1 AND g.scope = 'inherited') \
             ORDER BY p.name",
        )
        .bind(user_id.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(project_from_row).collect())
    }

    async fn project_update(&self, p: &Project) -> DomainResult<()> {
        let res =
            sqlx::query("UPDATE projects SET name = ?, description = ?, enabled = ? WHERE id = ?")
                .bind(&p.name)
                .bind(&p.description)
                .bind(p.enabled as i64)
                .bind(p.id.as_str())
                .execute(&self.write)
                .await
                .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Project", &p.id));
        }
        Ok(())
    }

    /// Deletes a project, its role assignments and quota overrides. Its
    /// volumes and snapshots stay (as in OpenStack: identity does not know
    /// about them); admins still see and can delete them.
    async fn project_delete(&self, id: &ProjectId) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM quotas WHERE project_id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let res = sqlx::query("DELETE FROM projects WHERE id = ?")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Project", id));
        }
        tx.commit().await.map_err(db_err)
    }

    // ---- users ----

    async fn user_insert(&self, u: &User, password_hash: Option<&str>) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name, domain_id, password_hash, default_project_id, email, description, enabled, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(u.id.as_str())
        .bind(&u.name)
        .bind(u.domain_id.as_str())
        .bind(password_hash)
        .bind(opt_str(&u.default_project_id))
        .bind(&u.email)
        .bind(&u.description)
        .bind(u.enabled as i64)
        .bind(now_text())
        .execute(&self.write)
        .await
        .map_err(|e| match db_err(e) {
            DomainError::Conflict(_) => DomainError::Conflict(format!(
                "Conflict occurred attempting to store user - Duplicate entry found with name {} at domain ID {}.",
                u.name, u.domain_id
            )),
            other => other,
        })?;
        Ok(())
    }

    async fn user_get(&self, id: &UserId) -> DomainResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(user_from_row))
    }

    async fn user_find_by_name(
        &self,
        domain_id: &DomainId,
        name: &str,
    ) -> DomainResult<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE domain_id = ? AND name = ?")
            .bind(domain_id.as_str())
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(user_from_row))
    }

    async fn user_password_hash(&self, id: &UserId) -> DomainResult<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(&self.read)
                .await
                .map_err(db_err)?;
        Ok(hash.flatten())
    }

    async fn user_list(&self, filter: &NameFilter) -> DomainResult<Vec<User>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM users WHERE 1=1");
        if let Some(name) = &filter.name {
            qb.push(" AND name = ").push_bind(name.clone());
        }
        if let Some(d) = &filter.domain_id {
            qb.push(" AND domain_id = ").push_bind(d.to_string());
        }
        qb.push(" ORDER BY name");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        Ok(rows.iter().map(user_from_row).collect())
    }

    /// Updates a user; `password_hash` replaces the password when given, and
    /// revokes the user's tokens.
    async fn user_update(&self, u: &User, password_hash: Option<&str>) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let res = sqlx::query(
            "UPDATE users SET name = ?, default_project_id = ?, email = ?, description = ?, enabled = ? WHERE id = ?",
        )
        .bind(&u.name)
        .bind(opt_str(&u.default_project_id))
        .bind(&u.email)
        .bind(&u.description)
        .bind(u.enabled as i64)
        .bind(u.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("User", &u.id));
        }
        if let Some(hash) = password_hash {
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
                .bind(hash)
                .bind(u.id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if password_hash.is_some() || !u.enabled {
            sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = ?")
                .bind(u.id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn user_delete(&self, id: &UserId) -> DomainResult<()> {
        let res = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("User", id));
        }
        Ok(())
    }

    // ---- roles ----

    async fn role_insert(&self, r: &Role) -> DomainResult<()> {
        sqlx::query("INSERT INTO roles (id, name) VALUES (?, ?)")
            .bind(r.id.as_str())
            .bind(&r.name)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn role_get(&self, id: &RoleId) -> DomainResult<Option<Role>> {
        let row = sqlx::query("SELECT * FROM roles WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(role_from_row))
    }

    async fn role_find_by_name(&self, name: &str) -> DomainResult<Option<Role>> {
        let row = sqlx::query("SELECT * FROM roles WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(role_from_row))
    }

    async fn role_list(&self, name: Option<&str>) -> DomainResult<Vec<Role>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM roles WHERE 1=1");
        if let Some(name) = name {
            qb.push(" AND name = ").push_bind(name.to_string());
        }
        qb.push(" ORDER BY name");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        Ok(rows.iter().map(role_from_row).collect())
    }

    // ---- role assignments ----

    async fn assignment_add(&self, a: &RoleAssignment) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO role_assignments (user_id, project_id, role_id) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(a.user_id.as_str())
        .bind(a.project_id.as_str())
        .bind(a.role_id.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Removes an assignment; `false` if there was none.
    async fn assignment_remove(&self, a: &RoleAssignment) -> DomainResult<bool> {
        let res = sqlx::query(
            "DELETE FROM role_assignments WHERE user_id = ? AND project_id = ? AND role_id = ?",
        )
        .bind(a.user_id.as_str())
        .bind(a.project_id.as_str())
        .bind(a.role_id.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(res.rows_affected() > 0)
    }

    async fn assignment_list(
        &self,
        user_id: Option<&UserId>,
        project_id: Option<&ProjectId>,
        role_id: Option<&RoleId>,
    ) -> DomainResult<Vec<RoleAssignment>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM role_assignments WHERE 1=1");
        if let Some(u) = user_id {
            qb.push(" AND user_id = ").push_bind(u.to_string());
        }
        if let Some(p) = project_id {
            qb.push(" AND project_id = ").push_bind(p.to_string());
        }
        if let Some(r) = role_id {
            qb.push(" AND role_id = ").push_bind(r.to_string());
        }
        qb.push(" ORDER BY user_id, project_id, role_id");
        let rows = qb.build().fetch_all(&self.read).await.map_err(db_err)?;
        Ok(rows
            .iter()
            .map(|r| RoleAssignment {
                user_id: r.id("user_id"),
                project_id: r.id("project_id"),
                role_id: r.id("role_id"),
            })
            .collect())
    }

    /// The roles a user holds on a project.
    async fn roles_of(&self, user_id: &UserId, project_id: &ProjectId) -> DomainResult<Vec<Role>> {
        let rows = sqlx::query(
            "SELECT r.* FROM roles r WHERE r.id IN ( \
               SELECT role_id FROM role_assignments WHERE user_id = ?1 AND project_id = ?2 \
               UNION SELECT g.role_id FROM group_grants g \
                 JOIN group_members m ON m.group_id = g.group_id \
                 WHERE m.user_id = ?1 AND ((g.scope = 'project' AND g.target = ?2) \
                   OR (g.scope = 'inherited' \
                       AND g.target = (SELECT domain_id FROM projects WHERE id = ?2)))) \
             ORDER BY r.name",
        )
        .bind(user_id.as_str())
        .bind(project_id.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        Ok(rows.iter().map(role_from_row).collect())
    }

    // ---- tokens ----

    async fn token_insert(&self, token_hash: &str, t: &TokenRow) -> DomainResult<()> {
        sqlx::query(
            "INSERT INTO tokens (token_hash, user_id, project_id, methods, audit_id, issued_at, expires_at, revoked) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(token_hash)
        .bind(t.user_id.as_str())
        .bind(opt_str(&t.project_id))
        .bind(t.methods.join(","))
        .bind(&t.audit_id)
        .bind(t.issued_at.to_string())
        .bind(t.expires_at.to_string())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn token_get(&self, token_hash: &str) -> DomainResult<Option<TokenRow>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.map(|r| -> DomainResult<TokenRow> {
            Ok(TokenRow {
                user_id: r.id("user_id"),
                project_id: r.id_opt("project_id"),
                methods: r
                    .get::<String, _>("methods")
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
                audit_id: r.get("audit_id"),
                issued_at: r.ts("issued_at")?,
                expires_at: r.ts("expires_at")?,
                revoked: r.get::<i64, _>("revoked") != 0,
            })
        })
        .transpose()
    }

    /// Revokes a token and every token issued from it (same audit chain).
    async fn token_revoke(&self, token_hash: &str) -> DomainResult<bool> {
        let res = sqlx::query(
            "UPDATE tokens SET revoked = 1 WHERE token_hash = ? OR audit_id = (SELECT audit_id FROM tokens WHERE token_hash = ?)",
        )
        .bind(token_hash)
        .bind(token_hash)
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        Ok(res.rows_affected() > 0)
    }

    /// Drops tokens that expired before `now`.
    async fn token_purge_expired(&self, now: Timestamp) -> DomainResult<u64> {
        let res = sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
            .bind(now.to_string())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(res.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::store;

    #[tokio::test]
    async fn projects_are_unique_per_domain_and_assignments_list() {
        let (_d, s) = store().await;
        let d = Domain {
            id: "default".into(),
            name: "Default".into(),
            description: String::new(),
            enabled: true,
        };
        s.domain_insert(&d).await.unwrap();
        let p = Project {
            id: "p1".into(),
            name: "admin".into(),
            domain_id: "default".into(),
            description: String::new(),
            enabled: true,
        };
        s.project_insert(&p).await.unwrap();
        let dup = Project {
            id: "p2".into(),
            ..p.clone()
        };
        assert!(matches!(
            s.project_insert(&dup).await,
            Err(DomainError::Conflict(_))
        ));
        let u = User {
            id: "u1".into(),
            name: "admin".into(),
            domain_id: "default".into(),
            default_project_id: None,
            email: None,
            description: None,
            enabled: true,
        };
        s.user_insert(&u, Some("hash")).await.unwrap();
        s.role_insert(&Role {
            id: "r1".into(),
            name: "admin".into(),
        })
        .await
        .unwrap();
        let a = RoleAssignment {
            user_id: "u1".into(),
            project_id: "p1".into(),
            role_id: "r1".into(),
        };
        s.assignment_add(&a).await.unwrap();
        s.assignment_add(&a).await.unwrap();
        assert_eq!(
            s.assignment_list(Some(&a.user_id), None, None)
                .await
                .unwrap(),
            vec![a.clone()]
        );
        assert_eq!(
            s.roles_of(&a.user_id, &a.project_id).await.unwrap()[0].name,
            "admin"
        );
        assert_eq!(s.project_list_for_user(&a.user_id).await.unwrap(), vec![p]);
        assert!(s.assignment_remove(&a).await.unwrap());
        assert!(!s.assignment_remove(&a).await.unwrap());
    }
}
