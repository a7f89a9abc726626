//! Ceph RBD through librados and librbd's C API, loaded with `dlopen` when
//! first used, so Platter builds and runs without Ceph installed and only
//! an RBD pool needs `librbd1`. The wrapper covers what a block-storage
//! backend needs: connect to a cluster, create, open, read, write, discard,
//! flush, resize and remove images, snapshots (create, protect, unprotect,
//! roll back, remove), clones of protected snapshots, and flatten.
//!
//! Errors carry librbd's negative errno. Handles close on drop.

mod backend;

pub use backend::RbdBackend;

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Arc, OnceLock};

/// A librados or librbd call that failed, or the libraries are missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RbdError {
    #[error("Ceph's client libraries are not available: {0}")]
    Unavailable(String),
    #[error("{call} failed: {message} (errno {errno})")]
    Call {
        call: &'static str,
        errno: i32,
        message: String,
    },
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl RbdError {
    /// The errno of a failed call (positive), if it was one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            RbdError::Call { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

pub type RbdResult<T> = Result<T, RbdError>;

type Handle = *mut c_void;

/// The C functions, resolved once.
struct Api {
    rados_create: unsafe extern "C" fn(*mut Handle, *const c_char) -> c_int,
    rados_conf_read_file: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rados_connect: unsafe extern "C" fn(Handle) -> c_int,
    rados_shutdown: unsafe extern "C" fn(Handle),
    rados_ioctx_create: unsafe extern "C" fn(Handle, *const c_char, *mut Handle) -> c_int,
    rados_ioctx_destroy: unsafe extern "C" fn(Handle),
    rbd_create: unsafe extern "C" fn(Handle, *const c_char, u64, *mut c_int) -> c_int,
    rbd_remove: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rbd_open: unsafe extern "C" fn(Handle, *const c_char, *mut Handle, *const c_char) -> c_int,
    rbd_close: unsafe extern "C" fn(Handle) -> c_int,
    rbd_get_size: unsafe extern "C" fn(Handle, *mut u64) -> c_int,
    rbd_resize: unsafe extern "C" fn(Handle, u64) -> c_int,
    rbd_read: unsafe extern "C" fn(Handle, u64, usize, *mut c_char) -> isize,
    rbd_write: unsafe extern "C" fn(Handle, u64, usize, *const c_char) -> isize,
    rbd_discard: unsafe extern "C" fn(Handle, u64, u64) -> c_int,
    rbd_flush: unsafe extern "C" fn(Handle) -> c_int,
    rbd_snap_create: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rbd_snap_remove: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rbd_snap_protect: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rbd_snap_unprotect: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rbd_snap_rollback: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rbd_clone: unsafe extern "C" fn(
        Handle,
        *const c_char,
        *const c_char,
        Handle,
        *const c_char,
        u64,
        *mut c_int,
    ) -> c_int,
    rbd_flatten: unsafe extern "C" fn(Handle) -> c_int,
    rbd_list: unsafe extern "C" fn(Handle, *mut c_char, *mut usize) -> c_int,
    rbd_rename: unsafe extern "C" fn(Handle, *const c_char, *const c_char) -> c_int,
    rbd_snap_list: unsafe extern "C" fn(Handle, *mut SnapInfo, *mut c_int) -> c_int,
    rbd_snap_list_end: unsafe extern "C" fn(*mut SnapInfo),
    rbd_snap_rename: unsafe extern "C" fn(Handle, *const c_char, *const c_char) -> c_int,
    rados_write_full: unsafe extern "C" fn(Handle, *const c_char, *const c_char, usize) -> c_int,
    rados_read: unsafe extern "C" fn(Handle, *const c_char, *mut c_char, usize, u64) -> c_int,
    rados_remove: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
    rados_cluster_stat: unsafe extern "C" fn(Handle, *mut ClusterStat) -> c_int,
}

/// `rbd_snap_info_t`.
#[repr(C)]
struct SnapInfo {
    id: u64,
    size: u64,
    name: *const c_char,
}

/// `struct rados_cluster_stat_t`.
#[repr(C)]
#[derive(Default)]
struct ClusterStat {
    kb: u64,
    kb_used: u64,
    kb_avail: u64,
    num_objects: u64,
}

/// A cluster's capacity, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub total: u64,
    pub used: u64,
    pub available: u64,
}

/// One snapshot of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    pub size: u64,
}

fn dlopen(name: &str) -> RbdResult<Handle> {
    let c = CString::new(name).map_err(|_| RbdError::Invalid(name.into()))?;
    // SAFETY: dlopen with a valid C string; the handle is never closed (the
    // functions stay resolved for the process's life).
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if h.is_null() {
        return Err(RbdError::Unavailable(format!("{name} could not be loaded")));
    }
    Ok(h)
}

/// Resolves `name` in `lib` as a function of type `F`.
///
/// SAFETY (for callers): `F` must be the function's C signature.
unsafe fn symbol<F: Copy>(lib: Handle, name: &str) -> RbdResult<F> {
    let c = CString::new(name).map_err(|_| RbdError::Invalid(name.into()))?;
    let p = libc::dlsym(lib, c.as_ptr());
    if p.is_null() {
        return Err(RbdError::Unavailable(format!("symbol {name} not found")));
    }
    // A function pointer has the size of a data pointer on the platforms
    // Ceph supports.
    Ok(std::mem::transmute_copy::<*mut c_void, F>(&p))
}

fn api() -> RbdResult<&'static Api> {
    static API: OnceLock<Result<Api, RbdError>> = OnceLock::new();
    API.get_or_init(|| {
        let rados = dlopen("librados.so.2")?;
        let rbd = dlopen("librbd.so.1")?;
        // SAFETY: each type below is the function's signature in
        // librados.h / librbd.h.
        unsafe {
            Ok(Api {
                rados_create: symbol(rados, "rados_create")?,
                rados_conf_read_file: symbol(rados, "rados_conf_read_file")?,
                rados_connect: symbol(rados, "rados_connect")?,
                rados_shutdown: symbol(rados, "rados_shutdown")?,
                rados_ioctx_create: symbol(rados, "rados_ioctx_create")?,
                rados_ioctx_destroy: symbol(rados, "rados_ioctx_destroy")?,
                rbd_create: symbol(rbd, "rbd_create")?,
                rbd_remove: symbol(rbd, "rbd_remove")?,
                rbd_open: symbol(rbd, "rbd_open")?,
                rbd_close: symbol(rbd, "rbd_close")?,
                rbd_get_size: symbol(rbd, "rbd_get_size")?,
                rbd_resize: symbol(rbd, "rbd_resize")?,
                rbd_read: symbol(rbd, "rbd_read")?,
                rbd_write: symbol(rbd, "rbd_write")?,
                rbd_discard: symbol(rbd, "rbd_discard")?,
                rbd_flush: symbol(rbd, "rbd_flush")?,
                rbd_snap_create: symbol(rbd, "rbd_snap_create")?,
                rbd_snap_remove: symbol(rbd, "rbd_snap_remove")?,
                rbd_snap_protect: symbol(rbd, "rbd_snap_protect")?,
                rbd_snap_unprotect: symbol(rbd, "rbd_snap_unprotect")?,
                rbd_snap_rollback: symbol(rbd, "rbd_snap_rollback")?,
                rbd_clone: symbol(rbd, "rbd_clone")?,
                rbd_flatten: symbol(rbd, "rbd_flatten")?,
                rbd_list: symbol(rbd, "rbd_list")?,
                rbd_rename: symbol(rbd, "rbd_rename")?,
                rbd_snap_list: symbol(rbd, "rbd_snap_list")?,
                rbd_snap_list_end: symbol(rbd, "rbd_snap_list_end")?,
                rbd_snap_rename: symbol(rbd, "rbd_snap_rename")?,
                rados_write_full: symbol(rados, "rados_write_full")?,
                rados_read: symbol(rados, "rados_read")?,
                rados_remove: symbol(rados, "rados_remove")?,
                rados_cluster_stat: symbol(rados, "rados_cluster_stat")?,
            })
        }
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn check(call: &'static str, rc: c_int) -> RbdResult<()> {
    if rc >= 0 {
        return Ok(());
    }
    let errno = -rc;
    // SAFETY: strerror returns a static, NUL-terminated string.
    let message = unsafe { CStr::from_ptr(libc::strerror(errno)) }
        .to_string_lossy()
        .into_owned();
    Err(RbdError::Call {
        call,
        errno,
        message,
    })
}

/// The result of a read or write call that returns the bytes it moved:
/// an error, a short transfer, or all of `want`.
fn transferred(call: &'static str, n: isize, want: usize, offset: u64) -> RbdResult<()> {
    if n < 0 {
        return check(call, n as c_int);
    }
    if n as usize != want {
        return Err(RbdError::Invalid(format!(
            "{call} moved {n} of {want} bytes at {offset}"
        )));
    }
    Ok(())
}

fn cstr(s: &str) -> RbdResult<CString> {
    CString::new(s).map_err(|_| RbdError::Invalid(format!("{s:?} contains a NUL byte")))
}

/// A rados_t, shut down when the last holder lets go.
struct ClusterHandle {
    api: &'static Api,
    handle: Handle,
}

// SAFETY: a rados_t may be used from any thread (librados is thread-safe).
unsafe impl Send for ClusterHandle {}
unsafe impl Sync for ClusterHandle {}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        // SAFETY: the handle is ours; every ioctx holds this handle alive,
        // so none outlives it.
        unsafe { (self.api.rados_shutdown)(self.handle) }
    }
}

/// A connection to a cluster (cheap to clone; shut down with the last
/// clone, pool and image).
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<ClusterHandle>,
}

impl Cluster {
    /// Connects as client `id` (e.g. `admin`) with the settings of
    /// `ceph_conf`.
    pub fn connect(ceph_conf: &str, id: &str) -> RbdResult<Cluster> {
        let api = api()?;
        let (conf, id) = (cstr(ceph_conf)?, cstr(id)?);
        let mut handle: Handle = std::ptr::null_mut();
        // SAFETY: out-pointer to a local; valid C strings.
        check("rados_create", unsafe {
            (api.rados_create)(&mut handle, id.as_ptr())
        })?;
        let inner = Arc::new(ClusterHandle { api, handle });
        // SAFETY: a created handle and a valid path.
        check("rados_conf_read_file", unsafe {
            (api.rados_conf_read_file)(inner.handle, conf.as_ptr())
        })?;
        // SAFETY: a configured handle.
        check("rados_connect", unsafe {
            (api.rados_connect)(inner.handle)
        })?;
        Ok(Cluster { inner })
    }

    /// The cluster's raw capacity.
    pub fn capacity(&self) -> RbdResult<Capacity> {
        let mut st = ClusterStat::default();
        // SAFETY: a connected cluster; out-pointer to a local.
        check("rados_cluster_stat", unsafe {
            (self.inner.api.rados_cluster_stat)(self.inner.handle, &mut st)
        })?;
        Ok(Capacity {
            total: st.kb.saturating_mul(1024),
            used: st.kb_used.saturating_mul(1024),
            available: st.kb_avail.saturating_mul(1024),
        })
    }

    /// An I/O context on `pool`.
    pub fn pool(&self, pool: &str) -> RbdResult<Pool> {
        let name = cstr(pool)?;
        let mut io: Handle = std::ptr::null_mut();
        // SAFETY: a connected cluster; out-pointer to a local.
        check("rados_ioctx_create", unsafe {
            (self.inner.api.rados_ioctx_create)(self.inner.handle, name.as_ptr(), &mut io)
        })?;
        Ok(Pool {
            inner: Arc::new(PoolHandle {
                cluster: self.inner.clone(),
                io,
            }),
        })
    }
}

/// A rados_ioctx_t, destroyed when the last holder lets go.
struct PoolHandle {
    cluster: Arc<ClusterHandle>,
    io: Handle,
}

// SAFETY: an ioctx may be shared between threads (librados is thread-safe).
unsafe impl Send for PoolHandle {}
unsafe impl Sync for PoolHandle {}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        // SAFETY: the ioctx is ours; every image holds this handle alive.
        unsafe { (self.cluster.api.rados_ioctx_destroy)(self.io) }
    }
}

/// An I/O context on one RADOS pool (cheap to clone).
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolHandle>,
}

impl Pool {
    fn api(&self) -> &'static Api {
        self.inner.cluster.api
    }

    fn io(&self) -> Handle {
        self.inner.io
    }

    /// Creates a thin image of `size` bytes (the cluster's default format
    /// and features).
    pub fn create(&self, name: &str, size: u64) -> RbdResult<()> {
        let n = cstr(name)?;
        let mut order: c_int = 0;
        // SAFETY: a live ioctx, a valid name, out-pointer to a local.
        check("rbd_create", unsafe {
            (self.api().rbd_create)(self.io(), n.as_ptr(), size, &mut order)
        })
    }

    /// Removes an image (it must have no snapshots).
    pub fn remove(&self, name: &str) -> RbdResult<()> {
        let n = cstr(name)?;
        // SAFETY: a live ioctx and a valid name.
        check("rbd_remove", unsafe {
            (self.api().rbd_remove)(self.io(), n.as_ptr())
        })
    }

    /// The names of the pool's images.
    pub fn list(&self) -> RbdResult<Vec<String>> {
        let mut size: usize = 4096;
        loop {
            let mut buf = vec![0 as c_char; size];
            // SAFETY: a live ioctx; the buffer holds `size` bytes.
            let rc = unsafe { (self.api().rbd_list)(self.io(), buf.as_mut_ptr(), &mut size) };
            if rc == -libc::ERANGE {
                continue;
            }
            check("rbd_list", rc)?;
            let bytes: Vec<u8> = buf[..(rc as usize).min(buf.len())]
                .iter()
                .map(|c| *c as u8)
                .collect();
            return Ok(bytes
                .split(|b| *b == 0)
                .filter(|n| !n.is_empty())
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect());
        }
    }

    /// Renames an image.
    pub fn rename(&self, from: &str, to: &str) -> RbdResult<()> {
        let (f, t) = (cstr(from)?, cstr(to)?);
        // SAFETY: a live ioctx and valid names.
        check("rbd_rename", unsafe {
            (self.api().rbd_rename)(self.io(), f.as_ptr(), t.as_ptr())
        })
    }

    /// Writes a whole small RADOS object (replacing what it held).
    pub fn put_object(&self, oid: &str, data: &[u8]) -> RbdResult<()> {
        let o = cstr(oid)?;
        // SAFETY: a live ioctx; the buffer is valid for its length.
        check("rados_write_full", unsafe {
            (self.api().rados_write_full)(self.io(), o.as_ptr(), data.as_ptr().cast(), data.len())
        })
    }

    /// The first `max` bytes of a RADOS object; `None` if it does not exist.
    pub fn get_object(&self, oid: &str, max: usize) -> RbdResult<Option<Vec<u8>>> {
        let o = cstr(oid)?;
        let mut buf = vec![0u8; max];
        // SAFETY: a live ioctx; the buffer holds `max` bytes.
        let rc = unsafe {
            (self.api().rados_read)(self.io(), o.as_ptr(), buf.as_mut_ptr().cast(), max, 0)
        };
        if rc == -libc::ENOENT {
            return Ok(None);
        }
        check("rados_read", rc)?;
        buf.truncate(rc as usize);
        Ok(Some(buf))
    }

    /// Removes a RADOS object; a missing one is fine.
    pub fn remove_object(&self, oid: &str) -> RbdResult<()> {
        let o = cstr(oid)?;
        // SAFETY: a live ioctx and a valid name.
        let rc = unsafe { (self.api().rados_remove)(self.io(), o.as_ptr()) };
        if rc == -libc::ENOENT {
            return Ok(());
        }
        check("rados_remove", rc)
    }

    /// Opens an image (or, with `snapshot`, one of its snapshots, read-only).
    pub fn open(&self, name: &str, snapshot: Option<&str>) -> RbdResult<Image> {
        let n = cstr(name)?;
        let snap = snapshot.map(cstr).transpose()?;
        let mut image: Handle = std::ptr::null_mut();
        // SAFETY: a live ioctx, valid strings, out-pointer to a local.
        check("rbd_open", unsafe {
            (self.api().rbd_open)(
                self.io(),
                n.as_ptr(),
                &mut image,
                snap.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            )
        })?;
        Ok(Image {
            pool: self.inner.clone(),
            handle: image,
        })
    }

    /// Clones the protected snapshot `parent@snapshot` into a new image
    /// `child` of this pool, with `features` (librbd's bits; layering
    /// required).
    pub fn clone_from(
        &self,
        parent: &str,
        snapshot: &str,
        child: &str,
        features: u64,
    ) -> RbdResult<()> {
        let (p, s, c) = (cstr(parent)?, cstr(snapshot)?, cstr(child)?);
        let mut order: c_int = 0;
        // SAFETY: live ioctxs, valid names, out-pointer to a local.
        check("rbd_clone", unsafe {
            (self.api().rbd_clone)(
                self.io(),
                p.as_ptr(),
                s.as_ptr(),
                self.io(),
                c.as_ptr(),
                features,
                &mut order,
            )
        })
    }
}

/// librbd's feature bit for layering (clones).
pub const FEATURE_LAYERING: u64 = 1;

/// An open image; it keeps its pool and cluster open.
pub struct Image {
    pool: Arc<PoolHandle>,
    handle: Handle,
}

// SAFETY: librbd image handles are safe to use from several threads.
unsafe impl Send for Image {}
unsafe impl Sync for Image {}

impl Image {
    fn api(&self) -> &'static Api {
        self.pool.cluster.api
    }

    pub fn size(&self) -> RbdResult<u64> {
        let mut size = 0u64;
        // SAFETY: an open image; out-pointer to a local.
        check("rbd_get_size", unsafe {
            (self.api().rbd_get_size)(self.handle, &mut size)
        })?;
        Ok(size)
    }

    pub fn resize(&self, size: u64) -> RbdResult<()> {
        // SAFETY: an open image.
        check("rbd_resize", unsafe {
            (self.api().rbd_resize)(self.handle, size)
        })
    }

    /// Reads `buf.len()` bytes at `offset` (holes read as zeroes).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> RbdResult<()> {
        // SAFETY: an open image; the buffer is valid for its length.
        let n = unsafe {
            (self.api().rbd_read)(self.handle, offset, buf.len(), buf.as_mut_ptr().cast())
        };
        transferred("rbd_read", n, buf.len(), offset)
    }

    pub fn write_at(&self, buf: &[u8], offset: u64) -> RbdResult<()> {
        // SAFETY: an open image; the buffer is valid for its length.
        let n =
            unsafe { (self.api().rbd_write)(self.handle, offset, buf.len(), buf.as_ptr().cast()) };
        transferred("rbd_write", n, buf.len(), offset)
    }

    pub fn discard(&self, offset: u64, len: u64) -> RbdResult<()> {
        // SAFETY: an open image.
        check("rbd_discard", unsafe {
            (self.api().rbd_discard)(self.handle, offset, len)
        })
    }

    pub fn flush(&self) -> RbdResult<()> {
        // SAFETY: an open image.
        check("rbd_flush", unsafe { (self.api().rbd_flush)(self.handle) })
    }

    fn snap_call(
        &self,
        call: &'static str,
        f: unsafe extern "C" fn(Handle, *const c_char) -> c_int,
        snapshot: &str,
    ) -> RbdResult<()> {
        let s = cstr(snapshot)?;
        // SAFETY: an open image and a valid name.
        check(call, unsafe { f(self.handle, s.as_ptr()) })
    }

    pub fn snap_create(&self, snapshot: &str) -> RbdResult<()> {
        self.snap_call("rbd_snap_create", self.api().rbd_snap_create, snapshot)
    }

    pub fn snap_remove(&self, snapshot: &str) -> RbdResult<()> {
        self.snap_call("rbd_snap_remove", self.api().rbd_snap_remove, snapshot)
    }

    pub fn snap_protect(&self, snapshot: &str) -> RbdResult<()> {
        self.snap_call("rbd_snap_protect", self.api().rbd_snap_protect, snapshot)
    }

    pub fn snap_unprotect(&self, snapshot: &str) -> RbdResult<()> {
        self.snap_call(
            "rbd_snap_unprotect",
            self.api().rbd_snap_unprotect,
            snapshot,
        )
    }

    /// Rewrites the image with the snapshot's contents (RBD's rollback
    /// copies every object: its cost grows with the image's size).
    pub fn snap_rollback(&self, snapshot: &str) -> RbdResult<()> {
        self.snap_call("rbd_snap_rollback", self.api().rbd_snap_rollback, snapshot)
    }

    /// The image's snapshots (those in the user namespace).
    pub fn snapshots(&self) -> RbdResult<Vec<Snapshot>> {
        let mut max: c_int = 16;
        loop {
            let mut snaps: Vec<SnapInfo> = (0..max)
                .map(|_| SnapInfo {
                    id: 0,
                    size: 0,
                    name: std::ptr::null(),
                })
                .collect();
            // SAFETY: an open image; the array holds `max` entries.
            let rc =
                unsafe { (self.api().rbd_snap_list)(self.handle, snaps.as_mut_ptr(), &mut max) };
            if rc == -libc::ERANGE {
                continue;
            }
            check("rbd_snap_list", rc)?;
            let out = snaps[..rc as usize]
                .iter()
                .map(|s| Snapshot {
                    // SAFETY: librbd filled `rc` entries with C strings.
                    name: unsafe { CStr::from_ptr(s.name) }
                        .to_string_lossy()
                        .into_owned(),
                    size: s.size,
                })
                .collect();
            // SAFETY: frees the names librbd allocated for this list.
            unsafe { (self.api().rbd_snap_list_end)(snaps.as_mut_ptr()) };
            return Ok(out);
        }
    }

    pub fn snap_rename(&self, from: &str, to: &str) -> RbdResult<()> {
        let (f, t) = (cstr(from)?, cstr(to)?);
        // SAFETY: an open image and valid names.
        check("rbd_snap_rename", unsafe {
            (self.api().rbd_snap_rename)(self.handle, f.as_ptr(), t.as_ptr())
        })
    }

    /// Copies the parent's data into this clone, detaching it.
    pub fn flatten(&self) -> RbdResult<()> {
        // SAFETY: an open image.
        check("rbd_flatten", unsafe {
            (self.api().rbd_flatten)(self.handle)
        })
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: the image is ours and closed once.
        unsafe {
            (self.api().rbd_close)(self.handle);
        }
    }
}
