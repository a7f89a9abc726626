//! QoS specs: named sets of limits that volume types are associated with
//! (Cinder's `qos-specs`). Front-end limits are enforced by the data path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Metadata, QosSpecsId, Timestamp};

/// Who enforces a QoS spec: the host side (the data path), the backend, or
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QosConsumer {
    FrontEnd,
    BackEnd,
    Both,
}

impl QosConsumer {
    pub const ALL: &'static [QosConsumer] = &[
        QosConsumer::FrontEnd,
        QosConsumer::BackEnd,
        QosConsumer::Both,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            QosConsumer::FrontEnd => "front-end",
            QosConsumer::BackEnd => "back-end",
            QosConsumer::Both => "both",
        }
    }
    /// Whether the data path enforces specs of this consumer.
    pub fn front_end(self) -> bool {
        matches!(self, QosConsumer::FrontEnd | QosConsumer::Both)
    }
}

impl fmt::Display for QosConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QosConsumer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        QosConsumer::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown QoS consumer '{s}'"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QosSpecs {
    pub id: QosSpecsId,
    pub name: String,
    pub consumer: QosConsumer,
    pub specs: Metadata,
    pub created_at: Timestamp,
}
