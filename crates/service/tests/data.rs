//! Real bytes through the service: what a clone or an extend holds is
//! exactly what its source held, and delete gives the space back.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use platter_backend::{SparseFileBackend, StorageBackend};
use platter_engine::{Pool, PoolOptions};
use platter_model::{AuthContext, SnapshotStatus, VolumeId, VolumeStatus, GIB};
use platter_service::{
    CreateRules, Platter, ServiceConfig, SnapshotCreate, VolumeCreate, VolumeListRequest,
};
use platter_store::Store;

const MIB: u64 = 1 << 20;

#[derive(Clone, Copy)]
enum Kind {
    Engine,
    SparseFile,
}

async fn service(kind: Kind) -> (tempfile::TempDir, Platter, AuthContext) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).await.unwrap();
    let backend: Arc<dyn StorageBackend> = match kind {
        Kind::Engine => {
            Arc::new(Pool::open(dir.path().join("pool"), PoolOptions::default()).unwrap())
        }
        Kind::SparseFile => Arc::new(SparseFileBackend::open(dir.path().join("sparse")).unwrap()),
    };
    let platter = Platter::new(store, backend, ServiceConfig::default());
    let ctx = common::bootstrap_admin(&platter).await;
    (dir, platter, ctx)
}

async fn wait_volume(p: &Platter, ctx: &AuthContext, id: &VolumeId, status: VolumeStatus) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match p.volume_get(ctx, id).await {
            Ok(v) if v.status == status => return,
            Ok(v) => assert!(v.status.is_transitional(), "volume {id} is {}", v.status),
            Err(_) if status == VolumeStatus::Deleting => return,
            Err(e) => panic!("{e}"),
        }
        assert!(
            Instant::now() < deadline,
            "volume {id} never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

fn read(b: &dyn StorageBackend, id: &str, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    b.open_volume(id)
        .unwrap()
        .read_at(&mut buf, offset)
        .unwrap();
    buf
}

#[tokio::test]
async fn clones_and_extends_hold_exactly_the_source_bytes_engine() {
    clones_and_extends_hold_exactly_the_source_bytes(Kind::Engine).await
}

#[tokio::test]
async fn clones_and_extends_hold_exactly_the_source_bytes_sparse_file() {
    clones_and_extends_hold_exactly_the_source_bytes(Kind::SparseFile).await
}

async fn clones_and_extends_hold_exactly_the_source_bytes(kind: Kind) {
    let (_dir, p, ctx) = service(kind).await;
    let v1 = p
        .volume_create(
            &ctx,
            VolumeCreate {
                size: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_volume(&p, &ctx, &v1.id, VolumeStatus::Available).await;
    let backend = p.backend().clone();
    let original = pattern(1, MIB as usize);
    let io = backend.open_volume(v1.id.as_str()).unwrap();
    io.write_at(&original, 0).unwrap();
    io.write_at(&original, GIB - MIB).unwrap();
    io.flush().unwrap();

    let snap = p
        .snapshot_create(
            &ctx,
            SnapshotCreate {
                ..SnapshotCreate::new(v1.id.clone())
            },
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.snapshot_get(&ctx, &snap.id).await.unwrap().status != SnapshotStatus::Available {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Overwrite the source after the snapshot: the snapshot keeps the old bytes.
    let newer = pattern(99, MIB as usize);
    io.write_at(&newer, 0).unwrap();

    let from_snap = p
        .volume_create(
            &ctx,
            VolumeCreate {
                snapshot_id: Some(snap.id.clone()),
                size: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let from_vol = p
        .volume_create(
            &ctx,
            VolumeCreate {
                source_volid: Some(v1.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_volume(&p, &ctx, &from_snap.id, VolumeStatus::Available).await;
    wait_volume(&p, &ctx, &from_vol.id, VolumeStatus::Available).await;

    assert_eq!(
        backend
            .open_volume(from_snap.id.as_str())
            .unwrap()
            .size()
            .unwrap(),
        2 * GIB
    );
    assert_eq!(
        read(backend.as_ref(), from_snap.id.as_str(), 0, MIB as usize),
        original
    );
    assert_eq!(
        read(
            backend.as_ref(),
            from_snap.id.as_str(),
            GIB - MIB,
            MIB as usize
        ),
        original
    );
    assert_eq!(
        read(backend.as_ref(), from_snap.id.as_str(), GIB + 5 * MIB, 4096),
        vec![0u8; 4096]
    );
    assert_eq!(
        read(backend.as_ref(), from_vol.id.as_str(), 0, MIB as usize),
        newer
    );

    // Extend keeps the data and grows the device.
    p.volume_extend(&ctx, &from_vol.id, 3).await.unwrap();
    wait_volume(&p, &ctx, &from_vol.id, VolumeStatus::Available).await;
    assert_eq!(p.volume_get(&ctx, &from_vol.id).await.unwrap().size, 3);
    assert_eq!(
        backend
            .open_volume(from_vol.id.as_str())
            .unwrap()
            .size()
            .unwrap(),
        3 * GIB
    );
    assert_eq!(
        read(backend.as_ref(), from_vol.id.as_str(), 0, MIB as usize),
        newer
    );
    assert_eq!(
        read(
            backend.as_ref(),
            from_vol.id.as_str(),
            GIB - MIB,
            MIB as usize
        ),
        original
    );

    // Delete frees the space the volume does not share.
    let own = pattern(42, 4 * MIB as usize);
    let clone_io = backend.open_volume(from_vol.id.as_str()).unwrap();
    clone_io.write_at(&own, 2 * GIB).unwrap();
    clone_io.flush().unwrap();
    drop(clone_io);
    let before = backend.pool_stats().unwrap().allocated_bytes;
    p.volume_delete(&ctx, &from_vol.id, false).await.unwrap();
    wait_volume(&p, &ctx, &from_vol.id, VolumeStatus::Deleting).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while backend.volume_exists(from_vol.id.as_str()).unwrap() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Freed blocks are counted at the next commit.
    backend
        .open_volume(v1.id.as_str())
        .unwrap()
        .flush()
        .unwrap();
    let after = backend.pool_stats().unwrap().allocated_bytes;
    assert!(
        after + 2 * MIB <= before,
        "delete freed space: {before} -> {after}"
    );
}

#[tokio::test]
async fn concurrent_creates_never_overshoot_quota() {
    let (_dir, p, ctx) = service(Kind::Engine).await;
    p.quota_update(&ctx, &ctx.project_id, &[("volumes".into(), 7)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (p, ctx) = (p.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            p.volume_create(
                &ctx,
                VolumeCreate {
                    size: Some(1),
                    ..Default::default()
                },
            )
            .await
            .is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 7);
    let view = p.quota_show(&ctx, &ctx.project_id).await.unwrap();
    let volumes = view.lines.iter().find(|l| l.resource == "volumes").unwrap();
    assert_eq!((volumes.limit, volumes.in_use), (7, 7));
}

#[tokio::test]
async fn rollback_restores_the_snapshot_bytes_engine() {
    rollback_restores_the_snapshot_bytes(Kind::Engine).await
}

#[tokio::test]
async fn rollback_restores_the_snapshot_bytes_sparse_file() {
    rollback_restores_the_snapshot_bytes(Kind::SparseFile).await
}

async fn rollback_restores_the_snapshot_bytes(kind: Kind) {
    let (_dir, p, ctx) = service(kind).await;
    let v = p
        .volume_create(
            &ctx,
            VolumeCreate {
                size: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_volume(&p, &ctx, &v.id, VolumeStatus::Available).await;
    let backend = p.backend().clone();
    let original = pattern(7, MIB as usize);
    let io = backend.open_volume(v.id.as_str()).unwrap();
    io.write_at(&original, 0).unwrap();
    io.write_at(&original, 512 * MIB).unwrap();
    io.flush().unwrap();
    let snap = p
        .snapshot_create(
            &ctx,
            SnapshotCreate {
                ..SnapshotCreate::new(v.id.clone())
            },
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.snapshot_get(&ctx, &snap.id).await.unwrap().status != SnapshotStatus::Available {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Overwrite, and write where nothing was: both must be undone.
    let newer = pattern(200, MIB as usize);
    io.write_at(&newer, 0).unwrap();
    io.write_at(&newer, 700 * MIB).unwrap();
    io.flush().unwrap();
    drop(io);
    assert_eq!(
        read(backend.as_ref(), v.id.as_str(), 0, MIB as usize),
        newer
    );

    // Only the source volume, and only while it is available.
    let other = p
        .volume_create(
            &ctx,
            VolumeCreate {
                size: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_volume(&p, &ctx, &other.id, VolumeStatus::Available).await;
    assert!(p
        .snapshot_rollback(&ctx, &snap.id, &other.id)
        .await
        .is_err());

    p.snapshot_rollback(&ctx, &snap.id, &v.id).await.unwrap();
    assert_eq!(
        p.snapshot_get(&ctx, &snap.id).await.unwrap().status,
        SnapshotStatus::Rollbacking
    );
    wait_volume(&p, &ctx, &v.id, VolumeStatus::Available).await;
    assert_eq!(
        p.snapshot_get(&ctx, &snap.id).await.unwrap().status,
        SnapshotStatus::Available
    );
    assert_eq!(
        read(backend.as_ref(), v.id.as_str(), 0, MIB as usize),
        original
    );
    assert_eq!(
        read(backend.as_ref(), v.id.as_str(), 512 * MIB, MIB as usize),
        original
    );
    assert_eq!(
        read(backend.as_ref(), v.id.as_str(), 700 * MIB, MIB as usize),
        vec![0u8; MIB as usize]
    );
}

#[tokio::test]
async fn a_batch_create_is_all_or_nothing_under_quota() {
    let (_dir, p, ctx) = service(Kind::SparseFile).await;
    p.quota_update(&ctx, &ctx.project_id, &[("volumes".into(), 4)])
        .await
        .unwrap();
    let req = VolumeCreate {
        size: Some(10),
        name: Some("batch".into()),
        ..Default::default()
    };
    // Five do not fit: none is created.
    assert!(p
        .volume_create_many(&ctx, req.clone(), 5, None, CreateRules::EVS)
        .await
        .is_err());
    assert!(p
        .volume_list(&ctx, Default::default())
        .await
        .unwrap()
        .is_empty());
    let out = p
        .volume_create_many(&ctx, req, 3, None, CreateRules::EVS)
        .await
        .unwrap();
    let names: Vec<_> = out
        .volumes
        .iter()
        .map(|v| v.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["batch-0001", "batch-0002", "batch-0003"]);
    for v in &out.volumes {
        wait_volume(&p, &ctx, &v.id, VolumeStatus::Available).await;
    }
    match p.job_view(&ctx, &out.job_id).await.unwrap() {
        platter_service::JobView::Group(g, members) => {
            assert_eq!(g.kind, platter_model::JobGroupKind::VolumeCreateBatch);
            assert_eq!(members.len(), 3);
            assert_eq!(
                platter_model::JobGroup::status_of(&members),
                platter_model::JobStatus::Success
            );
        }
        other => panic!("expected a job group, got {other:?}"),
    }
}

#[tokio::test]
async fn extends_in_flight_hold_their_quota() {
    let (_dir, p, ctx) = service(Kind::SparseFile).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let v = p
            .volume_create(
                &ctx,
                VolumeCreate {
                    size: Some(10),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        wait_volume(&p, &ctx, &v.id, VolumeStatus::Available).await;
        ids.push(v.id);
    }
    // 20 GiB used of 35: either +10 fits alone, both do not.
    p.quota_update(&ctx, &ctx.project_id, &[("gigabytes".into(), 35)])
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        p.volume_extend(&ctx, &ids[0], 20),
        p.volume_extend(&ctx, &ids[1], 20)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let refused = a.err().or(b.err()).unwrap();
    assert!(
        matches!(refused, platter_model::DomainError::QuotaExceeded { ref resource, .. } if resource == "gigabytes"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn retypes_in_flight_hold_room_in_their_new_type() {
    let (_dir, p, ctx) = service(Kind::SparseFile).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let v = p
            .volume_create(
                &ctx,
                VolumeCreate {
                    size: Some(10),
                    volume_type: Some("SAS".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        wait_volume(&p, &ctx, &v.id, VolumeStatus::Available).await;
        ids.push(v.id);
    }
    // Room for one SSD volume only.
    p.quota_update(&ctx, &ctx.project_id, &[("volumes_SSD".into(), 1)])
        .await
        .unwrap();
    let (a, b) = tokio::join!(
        p.volume_retype(&ctx, &ids[0], "SSD", None, None, false),
        p.volume_retype(&ctx, &ids[1], "SSD", None, None, false)
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
}

/// Mixed sizes racing for a gigabytes quota: whatever order they commit in,
/// usage is exactly what was admitted and never passes the limit (each
/// check takes the project's quota lock before counting).
#[tokio::test]
async fn concurrent_creates_never_overshoot_gigabytes() {
    let (_dir, p, ctx) = service(Kind::SparseFile).await;
    p.quota_update(&ctx, &ctx.project_id, &[("gigabytes".into(), 10)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (p, ctx) = (p.clone(), ctx.clone());
        let size = 1 + (i % 4);
        tasks.push(tokio::spawn(async move {
            let ok = p
                .volume_create(
                    &ctx,
                    VolumeCreate {
                        size: Some(size),
                        ..Default::default()
                    },
                )
                .await
                .is_ok();
            if ok {
                size
            } else {
                0
            }
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert!(
        admitted <= 10,
        "admitted {admitted} GiB against a quota of 10"
    );
    let view = p.quota_show(&ctx, &ctx.project_id).await.unwrap();
    let gb = view
        .lines
        .iter()
        .find(|l| l.resource == "gigabytes")
        .unwrap();
    assert_eq!((gb.limit, gb.in_use), (10, admitted));
}

/// A name filter is a case-sensitive substring test, `%` and `_` included.
#[tokio::test]
async fn name_filter_is_a_literal_case_sensitive_substring() {
    let (_dir, p, ctx) = service(Kind::SparseFile).await;
    for name in ["Data_1", "dataX1", "data%2"] {
        p.volume_create(
            &ctx,
            VolumeCreate {
                name: Some(name.into()),
                size: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let names = |needle: &str| {
        let (p, ctx) = (p.clone(), ctx.clone());
        let needle = needle.to_string();
        async move {
            let mut found: Vec<String> = p
                .volume_list(
                    &ctx,
                    VolumeListRequest {
                        name_contains: Some(needle),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .into_iter()
                .filter_map(|v| v.name)
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(names("data").await, ["data%2", "dataX1"]);
    assert_eq!(names("a_1").await, ["Data_1"]);
    assert_eq!(names("%").await, ["data%2"]);
    assert_eq!(names("").await.len(), 3);
}
