//! Images (Glance v2's subset): records, visibility and sharing, and their
//! data, stored in a pool.
//!
//! An upload is written to a scratch file while its MD5 and SHA-512 are
//! computed; `qemu-img info` then checks that the data is of the declared
//! `disk_format` (Glance's format inspection: a qcow2 file declared raw is
//! refused, as is a qcow2 with a backing file). The disk, as raw, goes
//! into the default pool as the snapshot device `img-<id>`, so a volume
//! from the image is a clone (O(1) in the engine); data of another format
//! is converted to raw once, at upload (`qemu-img convert`), and also kept
//! as uploaded in `imgf-<id>` for downloads. A failed upload leaves the
//! image `queued` (it may be uploaded again) and no device behind.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use md5::{Digest, Md5};
use platter_backend::{StorageBackend, VolumeIo};
use platter_model::{
    image_disk_device, image_file_device, Action, AuthContext, DiskFormat, DomainError,
    DomainResult, Image, ImageId, ImageMember, ImageStatus, ImageVisibility, MemberStatus,
    Metadata, ProjectId, Timestamp,
};
use platter_store::{ImageData, ImageUpdate};
use sha2::Sha512;

use crate::Platter;

/// Engine devices are whole 4 KiB blocks.
const DEVICE_ALIGN: u64 = 4096;
const CHUNK: usize = 1 << 20;

/// A new image's record, as a create asks for it.
#[derive(Debug, Clone, Default)]
pub struct ImageCreate {
    pub id: Option<ImageId>,
    pub name: Option<String>,
    pub visibility: Option<ImageVisibility>,
    pub protected: bool,
    pub os_hidden: bool,
    pub disk_format: Option<DiskFormat>,
    pub container_format: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub tags: Vec<String>,
    pub properties: Metadata,
}

/// An upload of a volume to a new image (`os-volume_upload_image`).
#[derive(Debug, Clone)]
pub struct VolumeToImage {
    pub force: bool,
    pub image_name: Option<String>,
    pub disk_format: DiskFormat,
    pub container_format: String,
    pub visibility: ImageVisibility,
    pub protected: bool,
}

/// What a copy of a volume into an image stored.
struct Stored {
    size: u64,
    virtual_size: u64,
    md5: String,
    sha512: String,
}

/// Keys of a volume's image metadata that are facts of its source image,
/// not properties to carry to a new image.
const CORE_IMAGE_KEYS: &[&str] = &[
    "checksum",
    "container_format",
    "disk_format",
    "image_name",
    "image_id",
    "min_disk",
    "min_ram",
    "name",
    "size",
];

/// Reads volume `volume` of `src` into image `id`'s devices of `dst`: its
/// disk as raw (`img-<id>`), and, for another format, the data converted
/// with `qemu-img` (`imgf-<id>`). Hashes the image's data (the raw disk,
/// or the converted file).
fn copy_volume_to_image(
    src: &dyn StorageBackend,
    volume: &str,
    dst: &dyn StorageBackend,
    id: &ImageId,
    format: DiskFormat,
    scratch: &Path,
) -> Result<Stored, String> {
    use std::os::unix::fs::FileExt;
    let from = src
        .open_volume(volume)
        .map_err(|e| format!("opening the volume: {e}"))?;
    let len = from.size().map_err(|e| format!("sizing the volume: {e}"))?;
    let disk = image_disk_device(id);
    let raw = format.qemu_format() == "raw";
    dst.delete_snapshot(&disk)
        .and_then(|()| dst.delete_volume(&disk))
        .and_then(|()| dst.create_volume(&disk, len.div_ceil(DEVICE_ALIGN) * DEVICE_ALIGN))
        .map_err(|e| format!("creating the image's disk: {e}"))?;
    let to = dst
        .open_volume(&disk)
        .map_err(|e| format!("opening the image's disk: {e}"))?;
    let staged = scratch.join(format!("image-{id}.raw"));
    let file = if raw {
        None
    } else {
        let f = std::fs::File::create(&staged).map_err(|e| format!("staging: {e}"))?;
        f.set_len(len).map_err(|e| format!("staging: {e}"))?;
        Some(f)
    };
    let (mut md5, mut sha512) = (Md5::new(), Sha512::new());
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    while pos < len {
        let n = CHUNK.min((len - pos) as usize);
        from.read_at(&mut buf[..n], pos)
            .map_err(|e| format!("reading the volume: {e}"))?;
        if raw {
            md5.update(&buf[..n]);
            sha512.update(&buf[..n]);
        }
        if buf[..n].iter().any(|&b| b != 0) {
            to.write_at(&buf[..n], pos)
                .map_err(|e| format!("writing the image's disk: {e}"))?;
            if let Some(f) = &file {
                f.write_all_at(&buf[..n], pos)
                    .map_err(|e| format!("staging: {e}"))?;
            }
        }
        pos += n as u64;
    }
    to.flush()
        .map_err(|e| format!("flushing the image's disk: {e}"))?;
    drop(to);
    dst.create_snapshot(&disk, &disk)
        .and_then(|()| dst.delete_volume(&disk))
        .map_err(|e| format!("sealing the image's disk: {e}"))?;
    if raw {
        return Ok(Stored {
            size: len,
            virtual_size: len,
            md5: hex::encode(md5.finalize()),
            sha512: hex::encode(sha512.finalize()),
        });
    }
    drop(file);
    let converted = scratch.join(format!("image-{id}.{}", format.qemu_format()));
    let result = (|| {
        let out = Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", format.qemu_format()])
            .arg(&staged)
            .arg(&converted)
            .output()
            .map_err(|e| format!("running qemu-img: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "qemu-img convert: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let mut f = std::fs::File::open(&converted).map_err(|e| format!("reading: {e}"))?;
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| format!("reading: {e}"))?;
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
            sha512.update(&buf[..n]);
            size += n as u64;
        }
        store_file(dst, &image_file_device(id), &converted)?;
        Ok(Stored {
            size,
            virtual_size: len,
            md5: hex::encode(md5.finalize()),
            sha512: hex::encode(sha512.finalize()),
        })
    })();
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_file(&converted);
    result
}

/// A failed write of upload data: a full disk refuses the upload (413 in
/// Glance), anything else is internal.
fn upload_error(e: std::io::Error) -> DomainError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        DomainError::StorageFull(e.to_string())
    } else {
        DomainError::Internal(format!("writing the upload: {e}"))
    }
}

/// An upload in progress: the scratch file and the running hashes.
pub struct ImageUpload {
    image: Image,
    path: PathBuf,
    file: std::fs::File,
    md5: Md5,
    sha512: Sha512,
    size: u64,
}

impl ImageUpload {
    /// Appends a chunk of the data.
    pub fn write(&mut self, chunk: &[u8]) -> DomainResult<()> {
        self.md5.update(chunk);
        self.sha512.update(chunk);
        self.size += chunk.len() as u64;
        self.file.write_all(chunk).map_err(upload_error)
    }
}

/// What `qemu-img info` says of a file.
struct Probe {
    format: String,
    virtual_size: u64,
    backing: bool,
}

fn qemu_img_info(path: &Path) -> Result<Probe, String> {
    let out = Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(path)
        .output()
        .map_err(|e| format!("running qemu-img: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("reading qemu-img's answer: {e}"))?;
    Ok(Probe {
        format: v["format"].as_str().unwrap_or_default().to_string(),
        virtual_size: v["virtual-size"].as_u64().unwrap_or(0),
        backing: v.get("backing-filename").is_some() || v.get("full-backing-filename").is_some(),
    })
}

/// Copies a file into a new device of `backend` named `name` (as a
/// snapshot: written through a volume device, snapshotted, the volume
/// device dropped), skipping zero chunks. The device is the file's size
/// rounded up to whole blocks.
fn store_file(backend: &dyn StorageBackend, name: &str, path: &Path) -> Result<(), String> {
    let err = |what: &str| {
        let what = what.to_string();
        move |e: platter_backend::BackendError| format!("{what}: {e}")
    };
    let mut file = std::fs::File::open(path).map_err(|e| format!("opening {path:?}: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("sizing {path:?}: {e}"))?
        .len();
    let size = len.div_ceil(DEVICE_ALIGN).max(1) * DEVICE_ALIGN;
    backend.delete_snapshot(name).map_err(err("replacing"))?;
    backend.delete_volume(name).map_err(err("replacing"))?;
    backend
        .create_volume(name, size)
        .map_err(err("creating the device"))?;
    let io = backend
        .open_volume(name)
        .map_err(err("opening the device"))?;
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    file.rewind()
        .map_err(|e| format!("reading {path:?}: {e}"))?;
    while pos < len {
        let n = CHUNK.min((len - pos) as usize);
        file.read_exact(&mut buf[..n])
            .map_err(|e| format!("reading {path:?}: {e}"))?;
        if buf[..n].iter().any(|&b| b != 0) {
            io.write_at(&buf[..n], pos).map_err(err("writing"))?;
        }
        pos += n as u64;
    }
    io.flush().map_err(err("flushing"))?;
    drop(io);
    backend
        .create_snapshot(name, name)
        .map_err(err("sealing the device"))?;
    backend
        .delete_volume(name)
        .map_err(err("dropping the work device"))
}

/// Removes an image's devices (both, whichever exist).
fn delete_devices(backend: &dyn StorageBackend, id: &ImageId) -> Result<(), String> {
    for name in [image_disk_device(id), image_file_device(id)] {
        backend
            .delete_volume(&name)
            .and_then(|()| backend.delete_snapshot(&name))
            .map_err(|e| format!("deleting {name}: {e}"))?;
    }
    Ok(())
}

/// Checks the uploaded file against the declared format and stores it:
/// the disk as raw in `img-<id>`, the file as uploaded in `imgf-<id>`
/// when it is not raw. Returns the disk's virtual size.
fn store_upload(
    backend: &dyn StorageBackend,
    id: &ImageId,
    format: DiskFormat,
    path: &Path,
) -> Result<u64, DomainError> {
    let probe = qemu_img_info(path).map_err(DomainError::InvalidInput)?;
    if probe.format != format.qemu_format() {
        return Err(DomainError::InvalidInput(format!(
            "Image data does not match its disk_format {format}: it is {} data.",
            probe.format
        )));
    }
    if probe.backing {
        return Err(DomainError::InvalidInput(
            "Image data refers to a backing file; such images are refused.".into(),
        ));
    }
    let backend_err = |e: String| DomainError::Backend(e);
    if format.qemu_format() == "raw" {
        store_file(backend, &image_disk_device(id), path).map_err(backend_err)?;
        return Ok(probe.virtual_size);
    }
    let raw = path.with_extension("raw");
    let out = Command::new("qemu-img")
        .args(["convert", "-f", format.qemu_format(), "-O", "raw"])
        .arg(path)
        .arg(&raw)
        .output()
        .map_err(|e| DomainError::Internal(format!("running qemu-img: {e}")))?;
    let stored = if out.status.success() {
        store_file(backend, &image_disk_device(id), &raw)
            .and_then(|()| store_file(backend, &image_file_device(id), path))
            .map_err(backend_err)
    } else {
        Err(DomainError::InvalidInput(format!(
            "Image data could not be read as {format}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    };
    let _ = std::fs::remove_file(&raw);
    stored.map(|()| probe.virtual_size)
}

/// Copies a snapshot device of one backend into a new volume of another,
/// skipping zeros (a volume from an image stored in another pool).
pub(crate) fn copy_snapshot_to_volume(
    src: &dyn StorageBackend,
    snapshot: &str,
    dst: &dyn StorageBackend,
    volume: &str,
    size: u64,
) -> Result<(), String> {
    let from = src
        .open_snapshot(snapshot)
        .map_err(|e| format!("opening {snapshot}: {e}"))?;
    let len = from.size().map_err(|e| format!("sizing {snapshot}: {e}"))?;
    dst.delete_volume(volume)
        .and_then(|()| dst.create_volume(volume, size.max(len)))
        .map_err(|e| format!("creating {volume}: {e}"))?;
    let to = dst
        .open_volume(volume)
        .map_err(|e| format!("opening {volume}: {e}"))?;
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0;
    while pos < len {
        let n = CHUNK.min((len - pos) as usize);
        from.read_at(&mut buf[..n], pos)
            .map_err(|e| format!("reading {snapshot}: {e}"))?;
        if buf[..n].iter().any(|&b| b != 0) {
            to.write_at(&buf[..n], pos)
                .map_err(|e| format!("writing {volume}: {e}"))?;
        }
        pos += n as u64;
    }
    to.flush().map_err(|e| format!("flushing {volume}: {e}"))
}

impl Platter {
    /// An image a volume may be created from: visible to the caller and
    /// active (Cinder's 400s otherwise).
    pub(crate) async fn image_for_volume(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
    ) -> DomainResult<Image> {
        let image = match self.store().image_get(id).await? {
            Some(i) if self.image_visible(ctx, &i).await? => i,
            _ => {
                return Err(DomainError::invalid(
                    "Invalid image identifier or unable to access requested image.",
                ))
            }
        };
        if image.status != ImageStatus::Active || image.pool.is_none() {
            return Err(DomainError::invalid(format!("Image {id} is not active.")));
        }
        Ok(image)
    }

    /// The `AllocateVolume` step of a volume from an image: a clone of the
    /// image's disk when it is in the volume's pool, else a copy.
    pub(crate) async fn allocate_from_image(
        &self,
        image_id: &ImageId,
        volume: &Arc<dyn StorageBackend>,
        volume_pool: &str,
        volume_id: &str,
        size: u64,
    ) -> Result<(), String> {
        let image = self
            .store()
            .image_get(image_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("image {image_id} is gone"))?;
        let pool = image
            .pool
            .ok_or_else(|| format!("image {image_id} has no data"))?;
        let disk = image_disk_device(image_id);
        let (dst, id) = (volume.clone(), volume_id.to_string());
        let task = if pool == volume_pool {
            tokio::task::spawn_blocking(move || {
                dst.clone_from_snapshot(&disk, &id, size)
                    .map_err(|e| e.to_string())
            })
        } else {
            let src = self.backend_of(&pool).map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || {
                copy_snapshot_to_volume(&*src, &disk, &*dst, &id, size)
            })
        };
        task.await
            .map_err(|e| format!("image copy task failed: {e}"))?
    }

    /// Cinder's `os-volume_upload_image`: a new image (`saving`, owned by
    /// the caller's project) of the volume's data, made by a job while the
    /// volume is `uploading`. Returns the volume, the image and the job.
    pub async fn volume_upload_image(
        &self,
        ctx: &AuthContext,
        volume_id: &platter_model::VolumeId,
        req: VolumeToImage,
    ) -> DomainResult<(platter_model::Volume, Image, platter_model::JobId)> {
        self.authorize(ctx, Action::VolumeUploadImage)?;
        self.authorize(ctx, Action::ImageCreate)?;
        if req.visibility == ImageVisibility::Public {
            self.authorize(ctx, Action::VolumeUploadPublicImage)?;
        }
        let v = self.volume_find(ctx, volume_id).await?;
        let properties = v
            .image_metadata
            .iter()
            .filter(|(k, _)| !CORE_IMAGE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let now = Timestamp::now();
        let image = Image {
            id: ImageId::new(),
            name: req.image_name,
            owner: ctx.project_id.clone(),
            status: ImageStatus::Saving,
            visibility: req.visibility,
            protected: req.protected,
            os_hidden: false,
            disk_format: Some(req.disk_format),
            container_format: Some(req.container_format),
            min_disk: 0,
            min_ram: 0,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_value: None,
            tags: Vec::new(),
            properties,
            pool: None,
            created_at: now,
            updated_at: now,
        };
        let job = crate::volumes::new_job(
            platter_model::JobKind::VolumeUploadImage,
            &v.project_id,
            v.id.as_str(),
            platter_model::JobParams::VolumeUploadImage(platter_model::VolumeUploadParams {
                image_id: image.id.clone(),
                disk_format: req.disk_format,
                restore: v.status,
            }),
        );
        self.store()
            .volume_begin_upload(&v.id, req.force, &image, &job)
            .await?;
        let job_id = job.id.clone();
        self.inner.jobs.submit(job);
        let v = self.volume_find(ctx, volume_id).await?;
        Ok((v, image, job_id))
    }

    /// The `CopyVolumeToImage` step: the volume's data into the image,
    /// which becomes `active` (nothing to do if it already is).
    pub(crate) async fn run_copy_to_image(
        &self,
        volume_id: &platter_model::VolumeId,
        p: &platter_model::VolumeUploadParams,
    ) -> Result<(), String> {
        let store = self.store();
        let image = store
            .image_get(&p.image_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("image {} was deleted", p.image_id))?;
        match image.status {
            ImageStatus::Active => return Ok(()),
            ImageStatus::Saving => {}
            other => return Err(format!("image {} is {other}", p.image_id)),
        }
        let volume = store
            .volume_get(volume_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("volume {volume_id} is gone"))?;
        let src = self.backend_of(&volume.pool).map_err(|e| e.to_string())?;
        let (pool, dst) = self.image_pool().map_err(|e| e.to_string())?;
        let scratch = self.scratch_dir();
        let (vid, id, format) = (volume_id.to_string(), p.image_id.clone(), p.disk_format);
        let stored = tokio::task::spawn_blocking(move || {
            copy_volume_to_image(&*src, &vid, &*dst, &id, format, &scratch)
        })
        .await
        .map_err(|e| format!("copy task failed: {e}"))??;
        let data = ImageData {
            pool,
            size: stored.size as i64,
            virtual_size: stored.virtual_size as i64,
            checksum: stored.md5,
            os_hash_value: stored.sha512,
        };
        if !store
            .image_finish_upload(&p.image_id, &data)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!("image {} left saving meanwhile", p.image_id));
        }
        Ok(())
    }

    /// Undoes `CopyVolumeToImage`: the image's devices go.
    pub(crate) async fn undo_copy_to_image(&self, image_id: &ImageId) -> Result<(), String> {
        let (_, backend) = self.image_pool().map_err(|e| e.to_string())?;
        let id = image_id.clone();
        tokio::task::spawn_blocking(move || delete_devices(&*backend, &id))
            .await
            .map_err(|e| format!("undo task failed: {e}"))?
    }

    /// The pool images are stored in.
    fn image_pool(&self) -> DomainResult<(String, Arc<dyn StorageBackend>)> {
        let name = self.pools().default_pool().name.clone();
        let backend = self.backend_of(&name)?;
        Ok((name, backend))
    }

    /// Whether `ctx` may see `image` (admins, the owner, anyone for a
    /// public or community image, a member for a shared one).
    async fn image_visible(&self, ctx: &AuthContext, image: &Image) -> DomainResult<bool> {
        if ctx.is_admin() || image.owner == ctx.project_id {
            return Ok(true);
        }
        Ok(match image.visibility {
            ImageVisibility::Public | ImageVisibility::Community => true,
            ImageVisibility::Private => false,
            ImageVisibility::Shared => self
                .store()
                .image_member_list(&image.id)
                .await?
                .iter()
                .any(|m| m.member_id == ctx.project_id),
        })
    }

    async fn image_find(&self, ctx: &AuthContext, id: &ImageId) -> DomainResult<Image> {
        match self.store().image_get(id).await? {
            Some(i) if self.image_visible(ctx, &i).await? => Ok(i),
            _ => Err(DomainError::not_found("Image", id)),
        }
    }

    /// An image the caller may change: its owner's, or any for an admin.
    async fn image_owned(&self, ctx: &AuthContext, id: &ImageId) -> DomainResult<Image> {
        let image = self.image_find(ctx, id).await?;
        if ctx.is_admin() || image.owner == ctx.project_id {
            Ok(image)
        } else {
            Err(DomainError::Forbidden(format!(
                "You are not permitted to modify image {id}: it belongs to another project."
            )))
        }
    }

    pub async fn image_create(&self, ctx: &AuthContext, req: ImageCreate) -> DomainResult<Image> {
        self.authorize(ctx, Action::ImageCreate)?;
        let visibility = req.visibility.unwrap_or(ImageVisibility::Shared);
        if visibility == ImageVisibility::Public {
            self.authorize(ctx, Action::ImagePublicize)?;
        }
        if req.min_disk < 0 || req.min_ram < 0 {
            return Err(DomainError::invalid(
                "min_disk and min_ram must be non-negative integers.",
            ));
        }
        // Not `unwrap_or_default`: an id's default is empty.
        let id = match req.id {
            Some(id) => id,
            None => ImageId::new(),
        };
        if self.store().image_get(&id).await?.is_some() {
            return Err(DomainError::Conflict(format!(
                "Image with ID {id} already exists!"
            )));
        }
        let now = Timestamp::now();
        let image = Image {
            id,
            name: req.name,
            owner: ctx.project_id.clone(),
            status: ImageStatus::Queued,
            visibility,
            protected: req.protected,
            os_hidden: req.os_hidden,
            disk_format: req.disk_format,
            container_format: req.container_format,
            min_disk: req.min_disk,
            min_ram: req.min_ram,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_value: None,
            tags: req.tags,
            properties: req.properties,
            pool: None,
            created_at: now,
            updated_at: now,
        };
        self.store().image_insert(&image).await?;
        Ok(image)
    }

    pub async fn image_get(&self, ctx: &AuthContext, id: &ImageId) -> DomainResult<Image> {
        self.authorize(ctx, Action::ImageGet)?;
        self.image_find(ctx, id).await
    }

    /// Every image the caller may see, newest first, with the member
    /// status of its project for images shared with it.
    pub async fn image_list(
        &self,
        ctx: &AuthContext,
    ) -> DomainResult<Vec<(Image, Option<MemberStatus>)>> {
        self.authorize(ctx, Action::ImageList)?;
        let scope = (!ctx.is_admin()).then_some(&ctx.project_id);
        let mut out = Vec::new();
        for image in self.store().image_list(scope).await? {
            let member =
                if image.visibility == ImageVisibility::Shared && image.owner != ctx.project_id {
                    self.store()
                        .image_member_list(&image.id)
                        .await?
                        .into_iter()
                        .find(|m| m.member_id == ctx.project_id)
                        .map(|m| m.status)
                } else {
                    None
                };
            out.push((image, member));
        }
        Ok(out)
    }

    pub async fn image_update(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
        update: ImageUpdate,
    ) -> DomainResult<Image> {
        self.authorize(ctx, Action::ImageUpdate)?;
        let image = self.image_owned(ctx, id).await?;
        if update.visibility == Some(ImageVisibility::Public) {
            self.authorize(ctx, Action::ImagePublicize)?;
        }
        let data_fields = update.disk_format.is_some() || update.container_format.is_some();
        if data_fields && image.status != ImageStatus::Queued {
            return Err(DomainError::Forbidden(
                "Attribute disk_format/container_format can be only replaced for a queued image."
                    .into(),
            ));
        }
        if update.min_disk.is_some_and(|m| m < 0) || update.min_ram.is_some_and(|m| m < 0) {
            return Err(DomainError::invalid(
                "min_disk and min_ram must be non-negative integers.",
            ));
        }
        self.store().image_update(id, &update).await
    }

    pub async fn image_delete(&self, ctx: &AuthContext, id: &ImageId) -> DomainResult<()> {
        self.authorize(ctx, Action::ImageDelete)?;
        let image = self.image_owned(ctx, id).await?;
        if image.protected {
            return Err(DomainError::Forbidden(format!(
                "Image {id} is protected and cannot be deleted."
            )));
        }
        // The record first: a crash after it leaves only unreachable
        // devices, which the start-up sweep removes.
        self.store().image_delete(id).await?;
        if let Some(pool) = &image.pool {
            let backend = self.backend_of(pool)?;
            let id = id.clone();
            tokio::task::spawn_blocking(move || delete_devices(&*backend, &id))
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(DomainError::Backend)?;
        }
        Ok(())
    }

    /// The owner (or an admin) hides (`deactivated`) or shows again
    /// (`active`) an image's data.
    pub async fn image_set_active(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
        active: bool,
    ) -> DomainResult<()> {
        let (action, from, to) = if active {
            (
                Action::ImageReactivate,
                ImageStatus::Deactivated,
                ImageStatus::Active,
            )
        } else {
            (
                Action::ImageDeactivate,
                ImageStatus::Active,
                ImageStatus::Deactivated,
            )
        };
        self.authorize(ctx, action)?;
        let image = self.image_owned(ctx, id).await?;
        if image.status == to {
            return Ok(());
        }
        if !self.store().image_cas_status(id, &[from], to).await? {
            return Err(DomainError::Forbidden(format!(
                "Not allowed to {} image in status '{}'.",
                if active { "reactivate" } else { "deactivate" },
                image.status
            )));
        }
        Ok(())
    }

    /// Starts an upload: the image goes from `queued` to `saving` (409 in
    /// any other status, as Glance answers).
    pub async fn image_upload_begin(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
    ) -> DomainResult<ImageUpload> {
        self.authorize(ctx, Action::ImageUpload)?;
        let image = self.image_owned(ctx, id).await?;
        let Some(_) = image.disk_format else {
            return Err(DomainError::invalid(
                "Properties disk_format, container_format must be set prior to saving data.",
            ));
        };
        if !self
            .store()
            .image_cas_status(id, &[ImageStatus::Queued], ImageStatus::Saving)
            .await?
        {
            return Err(DomainError::Conflict(format!(
                "Image status transition from {} to saving is not allowed",
                image.status
            )));
        }
        let path = self.scratch_dir().join(format!("image-{id}.part"));
        let file = std::fs::File::create(&path);
        match file {
            Ok(file) => Ok(ImageUpload {
                image,
                path,
                file,
                md5: Md5::new(),
                sha512: Sha512::new(),
                size: 0,
            }),
            Err(e) => {
                self.image_upload_abort_status(id).await;
                Err(DomainError::Internal(format!("creating {path:?}: {e}")))
            }
        }
    }

    async fn image_upload_abort_status(&self, id: &ImageId) {
        let r = self
            .store()
            .image_cas_status(id, &[ImageStatus::Saving], ImageStatus::Queued)
            .await;
        if let Err(e) = r {
            tracing::warn!(image = %id, error = %e, "could not return an image to queued");
        }
    }

    /// Ends an upload whose data did not all arrive: the image is `queued`
    /// again.
    pub async fn image_upload_abort(&self, upload: ImageUpload) {
        let _ = std::fs::remove_file(&upload.path);
        self.image_upload_abort_status(&upload.image.id).await;
    }

    /// Ends an upload: checks and stores the data; the image is `active`,
    /// or `queued` again if the data was refused.
    pub async fn image_upload_finish(&self, upload: ImageUpload) -> DomainResult<Image> {
        let ImageUpload {
            image,
            path,
            mut file,
            md5,
            sha512,
            size,
        } = upload;
        let id = image.id.clone();
        let format = image.disk_format.unwrap_or(DiskFormat::Raw);
        let (pool, backend) = self.image_pool()?;
        let stored = {
            let (path, id) = (path.clone(), id.clone());
            tokio::task::spawn_blocking(move || {
                file.flush().map_err(upload_error)?;
                drop(file);
                let r = store_upload(&*backend, &id, format, &path);
                if r.is_err() {
                    let _ = delete_devices(&*backend, &id);
                }
                r
            })
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))
            .and_then(|r| r)
        };
        let _ = std::fs::remove_file(&path);
        let virtual_size = match stored {
            Ok(v) => v,
            Err(e) => {
                self.image_upload_abort_status(&id).await;
                return Err(e);
            }
        };
        let data = ImageData {
            pool,
            size: size as i64,
            virtual_size: virtual_size as i64,
            checksum: hex::encode(md5.finalize()),
            os_hash_value: hex::encode(sha512.finalize()),
        };
        if !self.store().image_finish_upload(&id, &data).await? {
            // Deleted meanwhile: its devices go too.
            let (_, backend) = self.image_pool()?;
            let id2 = id.clone();
            let _ = tokio::task::spawn_blocking(move || delete_devices(&*backend, &id2)).await;
            return Err(DomainError::not_found("Image", &id));
        }
        self.store()
            .image_get(&id)
            .await?
            .ok_or_else(|| DomainError::not_found("Image", &id))
    }

    /// The data of an active image, for a download: the record and the
    /// device holding the data as uploaded (its first `size` bytes).
    /// `None` when the image has no data yet (Glance's 204).
    pub async fn image_data(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
    ) -> DomainResult<(Image, Option<Arc<dyn VolumeIo>>)> {
        self.authorize(ctx, Action::ImageDownload)?;
        let image = self.image_find(ctx, id).await?;
        match image.status {
            ImageStatus::Active => {}
            ImageStatus::Deactivated if !ctx.is_admin() => {
                return Err(DomainError::Forbidden(
                    "The requested image has been deactivated. Image data download is forbidden."
                        .into(),
                ))
            }
            ImageStatus::Deactivated => {}
            _ => return Ok((image, None)),
        }
        let Some(pool) = image.pool.clone() else {
            return Ok((image, None));
        };
        let backend = self.backend_of(&pool)?;
        let name = match image.disk_format.map(|f| f.qemu_format()) {
            Some("raw") | None => image_disk_device(&image.id),
            Some(_) => image_file_device(&image.id),
        };
        let io = tokio::task::spawn_blocking(move || backend.open_snapshot(&name))
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .map_err(|e| DomainError::Backend(e.to_string()))?;
        Ok((image, Some(io)))
    }

    pub async fn image_members(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
    ) -> DomainResult<Vec<ImageMember>> {
        self.authorize(ctx, Action::ImageMemberList)?;
        let image = self.image_find(ctx, id).await?;
        let all = self.store().image_member_list(id).await?;
        Ok(if ctx.is_admin() || image.owner == ctx.project_id {
            all
        } else {
            all.into_iter()
                .filter(|m| m.member_id == ctx.project_id)
                .collect()
        })
    }

    /// The owner shares a `shared` image with a project (`pending`).
    pub async fn image_member_add(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
        member: ProjectId,
    ) -> DomainResult<ImageMember> {
        self.authorize(ctx, Action::ImageMemberAdd)?;
        let image = self.image_owned(ctx, id).await?;
        if image.visibility != ImageVisibility::Shared {
            return Err(DomainError::Forbidden(format!(
                "Only shared images have members; image {id} is {}.",
                image.visibility
            )));
        }
        if self
            .store()
            .image_member_list(id)
            .await?
            .iter()
            .any(|m| m.member_id == member)
        {
            return Err(DomainError::Conflict(format!(
                "Member {member} already exists for image {id}."
            )));
        }
        let now = Timestamp::now();
        let m = ImageMember {
            image_id: id.clone(),
            member_id: member,
            status: MemberStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        self.store().image_member_upsert(&m).await?;
        Ok(m)
    }

    pub async fn image_member_get(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
        member: &ProjectId,
    ) -> DomainResult<ImageMember> {
        self.authorize(ctx, Action::ImageMemberGet)?;
        self.image_members(ctx, id)
            .await?
            .into_iter()
            .find(|m| m.member_id == *member)
            .ok_or_else(|| DomainError::not_found("Member", member))
    }

    /// The member project accepts or rejects an image shared with it.
    pub async fn image_member_set_status(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
        member: &ProjectId,
        status: MemberStatus,
    ) -> DomainResult<ImageMember> {
        self.authorize(ctx, Action::ImageMemberModify)?;
        self.image_member_get(ctx, id, member).await?;
        if *member != ctx.project_id && !ctx.is_admin() {
            return Err(DomainError::Forbidden(
                "Only the member itself may accept or reject a shared image.".into(),
            ));
        }
        self.store()
            .image_member_set_status(id, member, status)
            .await?;
        self.image_member_get(ctx, id, member).await
    }

    pub async fn image_member_delete(
        &self,
        ctx: &AuthContext,
        id: &ImageId,
        member: &ProjectId,
    ) -> DomainResult<()> {
        self.authorize(ctx, Action::ImageMemberDelete)?;
        self.image_owned(ctx, id).await?;
        if !self.store().image_member_delete(id, member).await? {
            return Err(DomainError::not_found("Member", member));
        }
        Ok(())
    }

    /// At start: uploads a previous process left `saving` are `queued`
    /// again, with their partial devices and scratch files removed, except
    /// the images of unfinished upload jobs (`busy`), which those jobs end.
    pub(crate) async fn recover_images(
        &self,
        busy: &std::collections::HashSet<String>,
    ) -> DomainResult<()> {
        let (_, backend) = self.image_pool()?;
        for image in self.store().image_list(None).await? {
            if image.status != ImageStatus::Saving || busy.contains(image.id.as_str()) {
                continue;
            }
            tracing::warn!(image = %image.id, "upload interrupted; the image is queued again");
            let (b, id) = (backend.clone(), image.id.clone());
            tokio::task::spawn_blocking(move || delete_devices(&*b, &id))
                .await
                .map_err(|e| DomainError::Internal(e.to_string()))?
                .map_err(DomainError::Backend)?;
            self.image_upload_abort_status(&image.id).await;
        }
        // Only a scratch directory of our own is swept (the system's
        // temporary directory may be shared with other services).
        let own = self.config().scratch_dir.clone();
        if let Some(Ok(entries)) = own.map(std::fs::read_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with("image-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }
}
