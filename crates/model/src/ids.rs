//! Typed ids: one newtype over `String` per kind of entity, so that a
//! snapshot's id cannot be passed where a volume's is expected.
//!
//! On the wire and in the database an id is exactly its text (serde
//! transparent; stores bind [`VolumeId::as_str`] and read a `String` back).
//! No id is validated: an id a client sends is whatever text it sent, and a
//! lookup of text that names nothing is simply not found. There is no
//! `Deref<Target = str>`: use `as_str()`, `Display`, or compare with `==`
//! against a `&str` or `String`.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A new random UUID in its canonical hyphenated form (volumes, snapshots,
/// attachments, jobs, volume types).
/// Whether `s` is a UUID in any of its usual spellings.
pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new random id in Keystone's form: 32 lowercase hex digits, no hyphens
/// (domains, projects, users, roles, job groups).
pub fn new_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Declares an id type: the newtype, its conversions and comparisons, and
/// (when a generator is named) `new()`.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident $(, new = $generator:path)?) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            $(
                /// A new random id of this kind.
                #[allow(clippy::new_without_default)]
                pub fn new() -> Self {
                    $name($generator())
                }
            )?

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(s.clone())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        /// For messages and untyped sinks (`DomainError::not_found`).
        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id_type! {
    /// A volume (UUID).
    VolumeId, new = new_uuid
}
id_type! {
    /// A compute server (UUID).
    ServerId, new = new_uuid
}
id_type! {
    /// A snapshot (UUID).
    SnapshotId, new = new_uuid
}
id_type! {
    /// An attachment of a volume (UUID).
    AttachmentId, new = new_uuid
}
id_type! {
    /// A durable job (UUID), or a job group (see [`JobId::new_group`]): EVS
    /// shows both as one `job_id`, looks both up at `GET /jobs/{job_id}`,
    /// and an order names either, so they share one id type.
    JobId, new = new_uuid
}
id_type! {
    /// A volume type (UUID).
    VolumeTypeId, new = new_uuid
}
id_type! {
    /// A generic volume group (UUID).
    GroupId, new = new_uuid
}
id_type! {
    /// A group type (UUID).
    GroupTypeId, new = new_uuid
}
id_type! {
    /// A group snapshot (UUID).
    GroupSnapshotId, new = new_uuid
}
id_type! {
    /// A volume transfer (UUID).
    TransferId, new = new_uuid
}
id_type! {
    /// QoS specs (UUID).
    QosSpecsId, new = new_uuid
}
id_type! {
    /// A user message (UUID).
    MessageId, new = new_uuid
}
id_type! {
    /// An image (UUID).
    ImageId, new = new_uuid
}
id_type! {
    /// A backup (UUID).
    BackupId, new = new_uuid
}
id_type! {
    /// A yearly/monthly order (EVS's shape, `CS` + date and time + 5
    /// letters; made by the service).
    OrderId
}
id_type! {
    /// A Keystone domain (32 hex digits, or `default`).
    DomainId, new = new_hex_id
}
id_type! {
    /// A Keystone project (32 hex digits).
    ProjectId, new = new_hex_id
}
id_type! {
    /// A Keystone user (32 hex digits).
    UserId, new = new_hex_id
}
id_type! {
    /// A Keystone role (32 hex digits).
    RoleId, new = new_hex_id
}
id_type! {
    /// A user group (32 hex digits): Keystone's groups, Huawei IAM's user
    /// groups.
    UserGroupId, new = new_hex_id
}
id_type! {
    /// An access key (AK/SK): 20 uppercase letters and digits, made by the
    /// service. The key is its own id.
    AccessKeyId
}

impl JobId {
    /// A new job group's id: 32 hex digits, as group ids have always been.
    pub fn new_group() -> Self {
        JobId(new_hex_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_their_text_on_the_wire() {
        let id = VolumeId::from("6f1c1b8e-0000-4000-8000-000000000001");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"6f1c1b8e-0000-4000-8000-000000000001\"");
        let back: VolumeId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(id, "6f1c1b8e-0000-4000-8000-000000000001");
        assert_eq!(
            serde_json::to_value(Some(ProjectId::from("p"))).unwrap(),
            serde_json::json!("p")
        );
    }

    #[test]
    fn new_ids_have_their_kinds_shape() {
        let v = VolumeId::new();
        assert_eq!(v.as_str().len(), 36);
        assert!(uuid::Uuid::parse_str(v.as_str()).is_ok());
        assert_ne!(VolumeId::new(), v);
        let p = ProjectId::new();
        assert_eq!(p.as_str().len(), 32);
        assert!(p.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(JobId::new().as_str().len(), 36);
        assert_eq!(JobId::new_group().as_str().len(), 32);
    }

    #[test]
    fn ids_order_and_look_up_as_their_text() {
        let mut ids = vec![SnapshotId::from("b"), SnapshotId::from("a")];
        ids.sort();
        assert_eq!(ids, ["a", "b"]);
        let mut map = std::collections::HashMap::new();
        map.insert(UserId::from("u1"), 1);
        assert_eq!(map.get("u1"), Some(&1));
    }
}
