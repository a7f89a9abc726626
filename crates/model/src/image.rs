//! Images (Glance v2's subset): a named disk image a project owns, its
//! bytes stored in a pool, that volumes are created from and uploaded to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::volume::string_enum;
use crate::{ImageId, Metadata, ProjectId, Timestamp};

string_enum! {
    /// Glance's image statuses. `queued`: no data yet; `saving`: data is
    /// being written (an upload, or a volume's copy); `active`: readable;
    /// `killed`: the data could not be stored; `deactivated`: an admin
    /// hid its data.
    ImageStatus {
        Queued => "queued",
        Saving => "saving",
        Active => "active",
        Killed => "killed",
        Deactivated => "deactivated",
    }
}

string_enum! {
    /// Who sees an image: its owner (`private`), its members too
    /// (`shared`), everyone (`public`, set by admins), everyone who asks
    /// for it (`community`: listed only on request).
    ImageVisibility {
        Private => "private",
        Shared => "shared",
        Public => "public",
        Community => "community",
    }
}

string_enum! {
    /// The disk formats Platter stores (the data is checked against it).
    DiskFormat {
        Raw => "raw",
        Qcow2 => "qcow2",
        Vmdk => "vmdk",
        Vhd => "vhd",
        Vhdx => "vhdx",
        Iso => "iso",
    }
}

string_enum! {
    /// A member's answer to an image shared with its project.
    MemberStatus {
        Pending => "pending",
        Accepted => "accepted",
        Rejected => "rejected",
    }
}

impl DiskFormat {
    /// The name `qemu-img info` gives data of this format.
    pub fn qemu_format(self) -> &'static str {
        match self {
            DiskFormat::Raw | DiskFormat::Iso => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Vhd => "vpc",
            DiskFormat::Vhdx => "vhdx",
        }
    }
}

/// An image record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: ImageId,
    pub name: Option<String>,
    pub owner: ProjectId,
    pub status: ImageStatus,
    pub visibility: ImageVisibility,
    pub protected: bool,
    pub os_hidden: bool,
    pub disk_format: Option<DiskFormat>,
    pub container_format: Option<String>,
    /// GiB a volume from the image must have at least.
    pub min_disk: i64,
    /// MiB of RAM a server booted from it needs.
    pub min_ram: i64,
    /// Bytes of the data as uploaded.
    pub size: Option<i64>,
    /// Bytes of the disk the data holds (for raw, its size).
    pub virtual_size: Option<i64>,
    /// MD5 of the data, hex (Glance's `checksum`).
    pub checksum: Option<String>,
    /// SHA-512 of the data, hex (`os_hash_value`; `os_hash_algo` sha512).
    pub os_hash_value: Option<String>,
    pub tags: Vec<String>,
    /// Custom properties, shown at the top level of the record.
    pub properties: Metadata,
    /// The pool holding the data, once stored.
    pub pool: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Image {
    /// The least size, GiB, of a volume from the image: its `min_disk`,
    /// and room for its disk.
    pub fn min_volume_gib(&self) -> i64 {
        let bytes = self.virtual_size.max(self.size).unwrap_or(0).max(0) as u64;
        (bytes.div_ceil(crate::GIB) as i64)
            .max(self.min_disk)
            .max(1)
    }

    /// What a volume from the image records of it (Cinder's
    /// `volume_image_metadata`, every value a string): the image's
    /// identity and data facts, and its custom properties.
    pub fn volume_metadata(&self) -> Metadata {
        let mut m = self.properties.clone();
        m.insert("image_id".into(), self.id.to_string());
        if let Some(n) = &self.name {
            m.insert("image_name".into(), n.clone());
        }
        let facts = [
            ("checksum", self.checksum.clone()),
            ("container_format", self.container_format.clone()),
            ("disk_format", self.disk_format.map(|f| f.to_string())),
            ("min_disk", Some(self.min_disk.to_string())),
            ("min_ram", Some(self.min_ram.to_string())),
            ("size", self.size.map(|s| s.to_string())),
        ];
        for (k, v) in facts {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        }
        m
    }
}

/// A project an image is shared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageMember {
    pub image_id: ImageId,
    pub member_id: ProjectId,
    pub status: MemberStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Names of the devices an image's data lives in. The disk (raw) is a
/// snapshot device volumes are cloned from; for a format other than raw
/// the data as uploaded is kept too, in a second snapshot device, for
/// downloads.
pub fn image_disk_device(id: &ImageId) -> String {
    format!("img-{id}")
}

pub fn image_file_device(id: &ImageId) -> String {
    format!("imgf-{id}")
}

/// Whether a device name is one of an image's (not a volume's or a
/// snapshot's, for management listings).
pub fn is_image_device(name: &str) -> bool {
    name.starts_with("img-") || name.starts_with("imgf-")
}
