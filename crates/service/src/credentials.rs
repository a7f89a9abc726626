//! Access keys (AK/SK): issuing and administering them, and resolving a
//! signed request's key to the caller it stands for.
//!
//! Verifying the signature itself is wire format and lives in the api crate;
//! this module only hands it the secret and, once the signature holds, the
//! [`AuthContext`].

use platter_model::{
    AccessKeyId, AuthContext, Credential, CredentialStatus, DomainError, DomainResult, ProjectId,
    Timestamp, UserId, ACCESS_KEY_LEN, SECRET_KEY_LEN,
};
use rand::Rng;

use crate::Platter;

/// Huawei IAM allows two access keys per user; so does Platter.
pub const MAX_CREDENTIALS_PER_USER: i64 = 2;
/// Longest description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 255;
/// `last_use_time` is refreshed at most this often (seconds), so signed
/// requests do not each cost a write transaction.
const LAST_USE_RESOLUTION_SECS: i64 = 60;

/// Who administers access keys: a user their own, an admin (or the
/// operator at the shell) anyone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialCaller<'a> {
    Admin,
    User(&'a UserId),
}

impl CredentialCaller<'_> {
    fn may_manage(self, user_id: &UserId) -> bool {
        match self {
            CredentialCaller::Admin => true,
            CredentialCaller::User(me) => me == user_id,
        }
    }
}

pub(crate) fn random_chars(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

fn new_access_key() -> String {
    random_chars(ACCESS_KEY_LEN, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}

fn new_secret_key() -> String {
    random_chars(
        SECRET_KEY_LEN,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    )
}

fn check_description(d: &str) -> DomainResult<()> {
    if d.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(DomainError::invalid(format!(
            "The description must be at most {MAX_DESCRIPTION_LEN} characters."
        )));
    }
    Ok(())
}

fn bad_key() -> DomainError {
    DomainError::Unauthorized("The access key is unknown or inactive.".into())
}

impl Platter {
    /// Issues a new access key for `user_id`. The returned credential is the
    /// only answer that carries the secret to the caller.
    pub async fn credential_create(
        &self,
        caller: CredentialCaller<'_>,
        user_id: &UserId,
        description: &str,
    ) -> DomainResult<Credential> {
        if !caller.may_manage(user_id) {
            return Err(DomainError::Forbidden(
                "You are not authorized to create access keys of another user.".into(),
            ));
        }
        check_description(description)?;
        self.store()
            .user_get(user_id)
            .await?
            .ok_or_else(|| DomainError::not_found("User", user_id))?;
        let credential = Credential {
            access_key: AccessKeyId::from(new_access_key()),
            secret_key: new_secret_key(),
            user_id: user_id.clone(),
            description: description.to_string(),
            status: CredentialStatus::Active,
            created_at: Timestamp::now(),
            last_use_time: None,
        };
        self.store()
            .credential_insert(&credential, MAX_CREDENTIALS_PER_USER)
            .await?;
        tracing::info!(access_key = %credential.access_key, user = %user_id, "access key created");
        Ok(credential)
    }

    /// Access keys of `user_id`; without one, the caller's own (all of them
    /// for an admin).
    pub async fn credential_list(
        &self,
        caller: CredentialCaller<'_>,
        user_id: Option<&UserId>,
    ) -> DomainResult<Vec<Credential>> {
        let user_id = match (caller, user_id) {
            (_, Some(u)) if !caller.may_manage(u) => {
                return Err(DomainError::Forbidden(
                    "You are not authorized to list access keys of another user.".into(),
                ))
            }
            (_, Some(u)) => Some(u),
            (CredentialCaller::User(me), None) => Some(me),
            (CredentialCaller::Admin, None) => None,
        };
        self.store().credential_list(user_id).await
    }

    /// One access key; another user's is not found (ids do not leak).
    pub async fn credential_get(
        &self,
        caller: CredentialCaller<'_>,
        access_key: &AccessKeyId,
    ) -> DomainResult<Credential> {
        self.store()
            .credential_get(access_key)
            .await?
            .filter(|c| caller.may_manage(&c.user_id))
            .ok_or_else(|| DomainError::not_found("Credential", access_key))
    }

    pub async fn credential_update(
        &self,
        caller: CredentialCaller<'_>,
        access_key: &AccessKeyId,
        status: Option<CredentialStatus>,
        description: Option<&str>,
    ) -> DomainResult<Credential> {
        if let Some(d) = description {
            check_description(d)?;
        }
        self.credential_get(caller, access_key).await?;
        self.store()
            .credential_update(access_key, status, description)
            .await?;
        self.credential_get(caller, access_key).await
    }

    pub async fn credential_delete(
        &self,
        caller: CredentialCaller<'_>,
        access_key: &AccessKeyId,
    ) -> DomainResult<()> {
        self.credential_get(caller, access_key).await?;
        self.store().credential_delete(access_key).await?;
        tracing::info!(access_key = %access_key, "access key deleted");
        Ok(())
    }

    /// The secret of an active key whose user is enabled: what a signature
    /// is checked with. `Unauthorized` otherwise.
    pub async fn credential_secret(&self, access_key: &AccessKeyId) -> DomainResult<String> {
        Ok(self.active_credential(access_key).await?.secret_key)
    }

    async fn active_credential(&self, access_key: &AccessKeyId) -> DomainResult<Credential> {
        if access_key.as_str().len() != ACCESS_KEY_LEN {
            return Err(bad_key());
        }
        let credential = self
            .store()
            .credential_get(access_key)
            .await?
            .filter(|c| c.status == CredentialStatus::Active)
            .ok_or_else(bad_key)?;
        self.store()
            .user_get(&credential.user_id)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(bad_key)?;
        Ok(credential)
    }

    /// The caller a request signed with `access_key` stands for in
    /// `project_id`, and the key's secret.
    ///
    /// Errors: an unknown or inactive key, or a disabled user, is
    /// `Unauthorized`; a project that does not exist, is disabled, or on
    /// which the key's user holds no role is `Forbidden`. Call it only after
    /// the signature has been verified with [`Platter::credential_secret`],
    /// so that who may use which project does not leak to unsigned callers.
    pub async fn aksk_context(
        &self,
        access_key: &AccessKeyId,
        project_id: &ProjectId,
    ) -> DomainResult<(String, AuthContext)> {
        let credential = self.active_credential(access_key).await?;
        let no_access = || {
            DomainError::Forbidden(format!(
                "The access key's user has no role on project {project_id}."
            ))
        };
        let project = self
            .store()
            .project_get(project_id)
            .await?
            .filter(|p| p.enabled)
            .ok_or_else(no_access)?;
        let user = self
            .store()
            .user_get(&credential.user_id)
            .await?
            .ok_or_else(no_access)?;
        let roles = self
            .store()
            .roles_of(&credential.user_id, project_id)
            .await?;
        if roles.is_empty() && !self.has_access(&user, &project).await? {
            return Err(no_access());
        }
        let enterprise_roles = self
            .store()
            .enterprise_roles_of(&credential.user_id)
            .await?
            .into_iter()
            .map(|(ep, r)| (ep, r.name))
            .collect();
        self.touch_credential(&credential).await;
        let ctx = AuthContext {
            enterprise_roles,
            ..AuthContext::new(
                credential.user_id.clone(),
                project_id.clone(),
                roles.into_iter().map(|r| r.name).collect(),
            )
        };
        Ok((credential.secret_key, ctx))
    }

    /// Records the use, at most once a minute; a failure is only logged (it
    /// must not refuse a valid request).
    async fn touch_credential(&self, credential: &Credential) {
        let now = Timestamp::now();
        let fresh = credential
            .last_use_time
            .is_some_and(|t| (now - t).whole_seconds() < LAST_USE_RESOLUTION_SECS);
        if fresh {
            return;
        }
        if let Err(e) = self
            .store()
            .credential_touch(&credential.access_key, now)
            .await
        {
            tracing::warn!(error = %e, access_key = %credential.access_key, "recording the key's last use failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_huaweis_shape() {
        let ak = new_access_key();
        assert_eq!(ak.len(), ACCESS_KEY_LEN);
        assert!(ak
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let sk = new_secret_key();
        assert_eq!(sk.len(), SECRET_KEY_LEN);
        assert!(sk.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_secret_key(), sk);
    }

    #[test]
    fn a_user_manages_only_their_own_keys() {
        let (u1, u2) = (UserId::from("u1"), UserId::from("u2"));
        assert!(CredentialCaller::Admin.may_manage(&u2));
        assert!(CredentialCaller::User(&u1).may_manage(&u1));
        assert!(!CredentialCaller::User(&u1).may_manage(&u2));
    }
}
