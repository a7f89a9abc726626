//! Access keys (AK/SK) of users.

use async_trait::async_trait;
use platter_model::{AccessKeyId, Credential, DomainError, DomainResult, Timestamp, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{db_err, parse_enum, ts_text, RowExt, SqliteStore};
use crate::repo::CredentialRepo;

fn credential_from_row(r: &SqliteRow) -> DomainResult<Credential> {
    Ok(Credential {
        access_key: r.id("access_key"),
        secret_key: r.get("secret_key"),
        user_id: r.id("user_id"),
        description: r.get("description"),
        status: parse_enum(&r.get::<String, _>("status"))?,
        created_at: r.ts("created_at")?,
        last_use_time: r.ts_opt("last_use_time")?,
    })
}

#[async_trait]
impl CredentialRepo for SqliteStore {
    /// Inserts a new access key, refusing a user's `max_per_user + 1`-th key
    /// (counted in the same transaction).
    async fn credential_insert(&self, c: &Credential, max_per_user: i64) -> DomainResult<()> {
        let mut tx = self.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credentials WHERE user_id = ?")
            .bind(c.user_id.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if count >= max_per_user {
            return Err(DomainError::invalid(format!(
                "A user may have at most {max_per_user} access keys."
            )));
        }
        sqlx::query(
            "INSERT INTO credentials (access_key, secret_key, user_id, description, status, created_at, last_use_time) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.access_key.as_str())
        .bind(&c.secret_key)
        .bind(c.user_id.as_str())
        .bind(&c.description)
        .bind(c.status.as_str())
        .bind(c.created_at.to_string())
        .bind(ts_text(c.last_use_time))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn credential_get(&self, access_key: &AccessKeyId) -> DomainResult<Option<Credential>> {
        let row = sqlx::query("SELECT * FROM credentials WHERE access_key = ?")
            .bind(access_key.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db_err)?;
        row.as_ref().map(credential_from_row).transpose()
    }

    /// Every access key, or a user's, oldest first.
    async fn credential_list(&self, user_id: Option<&UserId>) -> DomainResult<Vec<Credential>> {
        let rows =
            match user_id {
                Some(u) => sqlx::query(
                    "SELECT * FROM credentials WHERE user_id = ? ORDER BY created_at, access_key",
                )
                .bind(u.as_str())
                .fetch_all(&self.read)
                .await,
                None => {
                    sqlx::query("SELECT * FROM credentials ORDER BY created_at, access_key")
                        .fetch_all(&self.read)
                        .await
                }
            }
            .map_err(db_err)?;
        rows.iter().map(credential_from_row).collect()
    }

    /// Changes status and/or description; `NotFound` for an unknown key.
    async fn credential_update(
        &self,
        access_key: &AccessKeyId,
        status: Option<platter_model::CredentialStatus>,
        description: Option<&str>,
    ) -> DomainResult<()> {
        let res = sqlx::query(
            "UPDATE credentials SET status = COALESCE(?, status), \
             description = COALESCE(?, description) WHERE access_key = ?",
        )
        .bind(status.map(|s| s.as_str()))
        .bind(description)
        .bind(access_key.as_str())
        .execute(&self.write)
        .await
        .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Credential", access_key));
        }
        Ok(())
    }

    /// Records a successful use of the key.
    async fn credential_touch(&self, access_key: &AccessKeyId, now: Timestamp) -> DomainResult<()> {
        sqlx::query("UPDATE credentials SET last_use_time = ? WHERE access_key = ?")
            .bind(now.to_string())
            .bind(access_key.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn credential_delete(&self, access_key: &AccessKeyId) -> DomainResult<()> {
        let res = sqlx::query("DELETE FROM credentials WHERE access_key = ?")
            .bind(access_key.as_str())
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(DomainError::not_found("Credential", access_key));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platter_model::{CredentialStatus, Domain, User};

    use super::*;
    use crate::test_support::store;

    fn key(user_id: &str, n: char) -> Credential {
        Credential {
            access_key: n.to_string().repeat(20).into(),
            secret_key: "s".repeat(40),
            user_id: user_id.into(),
            description: "ci".into(),
            status: CredentialStatus::Active,
            created_at: Timestamp::parse(&format!("2024-01-01T00:00:0{n}.000000")).unwrap(),
            last_use_time: None,
        }
    }

    #[tokio::test]
    async fn credentials_lifecycle_limit_and_cascade() {
        let (_d, s) = store().await;
        s.domain_insert(&Domain {
            id: "default".into(),
            name: "Default".into(),
            description: String::new(),
            enabled: true,
        })
        .await
        .unwrap();
        s.user_insert(
            &User {
                id: "u1".into(),
                name: "alice".into(),
                domain_id: "default".into(),
                default_project_id: None,
                email: None,
                description: None,
                enabled: true,
            },
            None,
        )
        .await
        .unwrap();
        s.credential_insert(&key("u1", '1'), 2).await.unwrap();
        s.credential_insert(&key("u1", '2'), 2).await.unwrap();
        assert!(matches!(
            s.credential_insert(&key("u1", '3'), 2).await,
            Err(DomainError::InvalidInput(_))
        ));
        // The key must belong to an existing user; the lengths are checked.
        assert!(s.credential_insert(&key("nobody", '4'), 2).await.is_err());
        let mut short = key("u1", '5');
        short.access_key = "SHORT".into();
        assert!(s.credential_insert(&short, 9).await.is_err());

        let list = s.credential_list(Some(&"u1".into())).await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0], key("u1", '1'));

        let ak = key("u1", '1').access_key;
        s.credential_update(&ak, Some(CredentialStatus::Inactive), None)
            .await
            .unwrap();
        let touched = Timestamp::parse("2024-02-01T00:00:00.000000").unwrap();
        s.credential_touch(&ak, touched).await.unwrap();
        let got = s.credential_get(&ak).await.unwrap().unwrap();
        assert_eq!(got.status, CredentialStatus::Inactive);
        assert_eq!(got.description, "ci");
        assert_eq!(got.last_use_time, Some(touched));

        s.credential_delete(&ak).await.unwrap();
        assert!(matches!(
            s.credential_delete(&ak).await,
            Err(DomainError::NotFound { .. })
        ));
        s.user_delete(&"u1".into()).await.unwrap();
        assert!(s.credential_list(None).await.unwrap().is_empty());
    }
}
