//! A volume type's encryption spec (Cinder's encryption types): recorded
//! and shown. Platter has no key manager and does not encrypt; volumes of
//! an encrypted type are refused (see decision 60).

use serde::{Deserialize, Serialize};

use crate::{Timestamp, VolumeTypeId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeEncryption {
    /// Cinder's `encryption_id` (a UUID).
    pub id: String,
    pub volume_type_id: VolumeTypeId,
    /// The encryptor class or format (`luks`, `LuksEncryptor`, ...).
    pub provider: String,
    pub cipher: Option<String>,
    pub key_size: Option<i64>,
    /// Where encryption happens: `front-end` (the host) or `back-end`.
    pub control_location: String,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}
