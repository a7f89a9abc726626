//! The wrapper against a real single-node Ceph started from Debian's
//! packages (`scripts/micro-ceph.sh`): images, bytes, snapshots,
//! protection, clones, flatten, rollback, resize and removal, checked
//! through the wrapper and through the `rbd` command.

use std::path::PathBuf;
use std::process::Command;

use platter_backend::{BackendError, StorageBackend};
use platter_rbd::{Cluster, RbdBackend, FEATURE_LAYERING};

struct MicroCeph {
    dir: tempfile::TempDir,
    conf: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/micro-ceph.sh")
}

impl MicroCeph {
    fn start() -> MicroCeph {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ceph");
        let out = Command::new(script())
            .arg("start")
            .arg(&root)
            .env("PLATTER_CEPH_OSD_BYTES", "2147483648")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "micro-ceph: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let conf = root.join("ceph.conf").to_string_lossy().into_owned();
        MicroCeph { dir, conf }
    }

    fn rbd(&self, args: &[&str]) -> String {
        let out = Command::new("rbd")
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rbd {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for MicroCeph {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path().join("ceph"))
            .status();
    }
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

#[test]
fn images_snapshots_clones_and_rollback_on_a_real_cluster() {
    let ceph = MicroCeph::start();
    let cluster = Cluster::connect(&ceph.conf, "admin").unwrap();
    let pool = cluster.pool("rbd").unwrap();
    const MIB: u64 = 1 << 20;

    pool.create("volume-a", 64 * MIB).unwrap();
    assert!(ceph.rbd(&["ls", "rbd"]).lines().any(|l| l == "volume-a"));
    let a = pool.open("volume-a", None).unwrap();
    assert_eq!(a.size().unwrap(), 64 * MIB);
    // Thin: unwritten bytes read as zeroes.
    let mut buf = vec![0xffu8; 4096];
    a.read_at(&mut buf, 10 * MIB).unwrap();
    assert!(buf.iter().all(|b| *b == 0));
    let one = pattern(1, MIB as usize);
    a.write_at(&one, 3 * MIB).unwrap();
    a.flush().unwrap();

    // A snapshot keeps the bytes of its instant.
    a.snap_create("s1").unwrap();
    let two = pattern(2, MIB as usize);
    a.write_at(&two, 3 * MIB).unwrap();
    let snap = pool.open("volume-a", Some("s1")).unwrap();
    let mut got = vec![0u8; MIB as usize];
    snap.read_at(&mut got, 3 * MIB).unwrap();
    assert_eq!(got, one);
    a.read_at(&mut got, 3 * MIB).unwrap();
    assert_eq!(got, two);
    drop(snap);

    // A clone of the protected snapshot: the snapshot's bytes, then its own.
    a.snap_protect("s1").unwrap();
    pool.clone_from("volume-a", "s1", "volume-b", FEATURE_LAYERING)
        .unwrap();
    let info = ceph.rbd(&["info", "rbd/volume-b"]);
    assert!(info.contains("parent: rbd/volume-a@s1"), "{info}");
    let b = pool.open("volume-b", None).unwrap();
    b.read_at(&mut got, 3 * MIB).unwrap();
    assert_eq!(got, one);
    // Clone format 2 (the cluster requires mimic clients): the snapshot
    // need not stay protected while the clone exists.
    a.snap_unprotect("s1").unwrap();
    // Flatten detaches the clone.
    b.flatten().unwrap();
    assert!(!ceph.rbd(&["info", "rbd/volume-b"]).contains("parent:"));

    // Rollback rewrites the image with the snapshot's bytes.
    a.snap_rollback("s1").unwrap();
    a.read_at(&mut got, 3 * MIB).unwrap();
    assert_eq!(got, one);
    a.snap_remove("s1").unwrap();

    // An image keeps its pool and cluster open after their handles go.
    let owned = {
        let c = Cluster::connect(&ceph.conf, "admin").unwrap();
        c.pool("rbd").unwrap().open("volume-b", None).unwrap()
    };
    assert_eq!(owned.size().unwrap(), 64 * MIB);
    owned.read_at(&mut got, 3 * MIB).unwrap();
    assert_eq!(got, one);
    drop(owned);

    // Extend; discard makes zeroes.
    a.resize(128 * MIB).unwrap();
    assert_eq!(a.size().unwrap(), 128 * MIB);
    assert!(ceph.rbd(&["info", "rbd/volume-a"]).contains("size 128 MiB"));
    a.discard(3 * MIB, MIB).unwrap();
    a.read_at(&mut got, 3 * MIB).unwrap();
    assert!(got.iter().all(|x| *x == 0));
    // Reads past the end are refused, not invented.
    assert!(a.read_at(&mut buf, 128 * MIB).is_err());

    drop(a);
    drop(b);
    pool.remove("volume-a").unwrap();
    pool.remove("volume-b").unwrap();
    assert_eq!(ceph.rbd(&["ls", "rbd"]).trim(), "");
    // A missing image is ENOENT.
    assert_eq!(
        pool.open("volume-a", None).err().and_then(|e| e.errno()),
        Some(2)
    );
}

fn read(b: &RbdBackend, volume: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    b.open_volume(volume)
        .unwrap()
        .read_at(&mut buf, offset)
        .unwrap();
    buf
}

#[test]
fn the_backend_keeps_cinders_names_and_rbds_rules() {
    let ceph = MicroCeph::start();
    let b = RbdBackend::connect(&ceph.conf, "admin", "rbd").unwrap();
    const MIB: u64 = 1 << 20;
    let (one, two) = (pattern(7, MIB as usize), pattern(9, MIB as usize));

    b.create_volume("v1", 64 * MIB).unwrap();
    b.create_volume("v1", 64 * MIB).unwrap(); // a re-driven job
    b.open_volume("v1").unwrap().write_at(&one, 0).unwrap();
    b.create_snapshot("v1", "s1").unwrap();
    b.open_volume("v1").unwrap().write_at(&two, 0).unwrap();
    let mut got = vec![0u8; MIB as usize];
    b.open_snapshot("s1").unwrap().read_at(&mut got, 0).unwrap();
    assert_eq!(got, one, "the snapshot keeps its instant");
    assert!(ceph
        .rbd(&["snap", "ls", "rbd/volume-v1"])
        .contains("snapshot-s1"));

    // Clones from a snapshot and from a volume, grown on the way.
    b.clone_from_snapshot("s1", "v2", 128 * MIB).unwrap();
    assert_eq!(read(&b, "v2", 0, MIB as usize), one);
    assert_eq!(b.open_volume("v2").unwrap().size().unwrap(), 128 * MIB);
    b.clone_from_volume("v1", "v3", 64 * MIB).unwrap();
    assert_eq!(read(&b, "v3", 0, MIB as usize), two);
    assert!(ceph
        .rbd(&["info", "rbd/volume-v2"])
        .contains("parent: rbd/volume-v1@snapshot-s1"));

    // A snapshot with a clone can be deleted: the clone still reads it.
    b.delete_snapshot("s1").unwrap();
    b.delete_snapshot("s1").unwrap(); // deleting a missing one succeeds
    assert!(matches!(
        b.open_snapshot("s1"),
        Err(BackendError::SnapshotNotFound(_))
    ));
    assert_eq!(read(&b, "v2", 0, MIB as usize), one);
    // So can the volume: hidden while its clones need it.
    b.delete_volume("v1").unwrap();
    assert!(!b.volume_exists("v1").unwrap());
    assert!(ceph.rbd(&["ls", "rbd"]).contains("volume-v1.deleted"));
    let ids: Vec<String> = b
        .list_volumes()
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["v2", "v3"]);
    assert_eq!(read(&b, "v3", 0, MIB as usize), two);
    // Once the clones go, so does the hidden volume.
    b.delete_volume("v2").unwrap();
    b.delete_volume("v3").unwrap();
    b.delete_volume("v3").unwrap(); // deleting a missing one succeeds
    assert_eq!(ceph.rbd(&["ls", "rbd"]).trim(), "");

    // Rollback, extend, rename.
    b.create_volume("v4", 8 * MIB).unwrap();
    b.open_volume("v4").unwrap().write_at(&one, MIB).unwrap();
    b.create_snapshot("v4", "s4").unwrap();
    b.open_volume("v4").unwrap().write_at(&two, MIB).unwrap();
    b.rollback_volume("v4", "s4").unwrap();
    assert_eq!(read(&b, "v4", MIB, MIB as usize), one);
    assert!(b.extend_volume("v4", 4 * MIB).is_err(), "no shrinking");
    b.extend_volume("v4", 16 * MIB).unwrap();
    b.extend_volume("v4", 16 * MIB).unwrap();
    assert!(ceph.rbd(&["info", "rbd/volume-v4"]).contains("size 16 MiB"));
    b.rename_volume("v4", "v5").unwrap();
    b.rename_volume("v4", "v5").unwrap(); // done already
    assert!(matches!(
        b.rename_volume("v4", "v6"),
        Err(BackendError::VolumeNotFound(_))
    ));
    assert_eq!(read(&b, "v5", MIB, MIB as usize), one);
    b.rename_snapshot("s4", "s5").unwrap();
    b.rename_snapshot("s4", "s5").unwrap();
    let mut snapped = vec![0u8; MIB as usize];
    b.open_snapshot("s5")
        .unwrap()
        .read_at(&mut snapped, MIB)
        .unwrap();
    assert_eq!(snapped, one, "a snapshot follows its volume's rename");
    let snaps: Vec<String> = b
        .list_snapshots()
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(snaps, ["s5"]);

    let stats = b.pool_stats().unwrap();
    assert!(stats.total_bytes > 0 && stats.free_bytes <= stats.total_bytes);
    assert_eq!(stats.provisioned_bytes, 16 * MIB);
    // Zeroes and trims read back as zeroes.
    let io = b.open_volume("v5").unwrap();
    io.write_zeroes(MIB, MIB).unwrap();
    assert!(read(&b, "v5", MIB, MIB as usize).iter().all(|x| *x == 0));
}
