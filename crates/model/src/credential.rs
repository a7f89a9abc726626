//! Access keys (AK/SK): Huawei IAM's permanent credentials, with which a
//! client signs requests (`SDK-HMAC-SHA256`) instead of sending a token.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{AccessKeyId, Timestamp, UserId};

/// Length of an access key id: 20 uppercase letters and digits, as Huawei's.
pub const ACCESS_KEY_LEN: usize = 20;
/// Length of a secret access key: 40 letters and digits, as Huawei's.
pub const SECRET_KEY_LEN: usize = 40;

/// Whether an access key may sign requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CredentialStatus {
    Active,
    Inactive,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Active => "active",
            CredentialStatus::Inactive => "inactive",
        }
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "active" => Ok(CredentialStatus::Active),
            "inactive" => Ok(CredentialStatus::Inactive),
            other => Err(format!("unknown CredentialStatus '{other}'")),
        }
    }
}

/// An access key of a user. The secret is kept retrievable: verifying an
/// HMAC signature needs it (see docs/DECISIONS.md).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key: AccessKeyId,
    pub secret_key: String,
    pub user_id: UserId,
    pub description: String,
    pub status: CredentialStatus,
    pub created_at: Timestamp,
    pub last_use_time: Option<Timestamp>,
}

/// Never prints the secret.
impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("user_id", &self.user_id)
            .field("description", &self.description)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("last_use_time", &self.last_use_time)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_debug_hides_the_secret() {
        for s in [CredentialStatus::Active, CredentialStatus::Inactive] {
            assert_eq!(s.as_str().parse::<CredentialStatus>(), Ok(s));
        }
        assert!("enabled".parse::<CredentialStatus>().is_err());
        let c = Credential {
            access_key: "A".repeat(ACCESS_KEY_LEN).into(),
            secret_key: "s3cr3t".into(),
            user_id: "u".into(),
            description: String::new(),
            status: CredentialStatus::Active,
            created_at: Timestamp::parse("2024-01-01T00:00:00.000000").unwrap(),
            last_use_time: None,
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
