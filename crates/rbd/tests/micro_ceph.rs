//! The wrapper against a real single-node Ceph started from Debian's
//! packages (`scripts/micro-ceph.sh`): images, bytes, snapshots,
//! protection, clones, flatten, rollback, resize and removal, checked
//! through the wrapper and through the `rbd` command.

use std::path::PathBuf;
use std::process::Command;

use platter_rbd::{Cluster, FEATURE_LAYERING};

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
    // A protected snapshot with a clone cannot be unprotected or removed.
    assert_eq!(
        a.snap_unprotect("s1").unwrap_err().errno(),
        Some(libc_ebusy())
    );
    // Flatten detaches the clone; then the snapshot can go.
    b.flatten().unwrap();
    assert!(!ceph.rbd(&["info", "rbd/volume-b"]).contains("parent:"));
    a.snap_unprotect("s1").unwrap();

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

fn libc_ebusy() -> i32 {
    16
}
