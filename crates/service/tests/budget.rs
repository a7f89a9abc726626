//! What an EVS create costs the store: one read of each source, one write
//! transaction, however many volumes `count` asks for (the plan is made once
//! and stamped `count` times). The counts are the store handle's own.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use platter_engine::{Pool, PoolOptions};
use platter_model::{AuthContext, SnapshotStatus, VolumeStatus};
use platter_service::{CreateRules, Platter, ServiceConfig, SnapshotCreate, VolumeCreate};
use platter_store::Store;

async fn service() -> (tempfile::TempDir, Platter, AuthContext) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).await.unwrap();
    let mut config = ServiceConfig::default();
    for key in ["volumes", "gigabytes", "snapshots"] {
        config.quota_defaults.0.insert(key.to_string(), -1);
    }
    let pool = Pool::open(dir.path().join("pool"), PoolOptions::default()).unwrap();
    let platter = Platter::new(store, Arc::new(pool), config);
    let ctx = common::bootstrap_admin(&platter).await;
    (dir, platter, ctx)
}

async fn settle(p: &Platter, ctx: &AuthContext, check: impl AsyncFn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "never settled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = (p, ctx);
}

#[tokio::test]
async fn an_evs_create_reads_its_sources_once_and_writes_once_for_any_count() {
    let (_dir, p, ctx) = service().await;
    let source = p
        .volume_create(
            &ctx,
            VolumeCreate {
                size: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    settle(&p, &ctx, async || {
        let v = p.volume_get(&ctx, &source.id).await.unwrap();
        assert!(v.status != VolumeStatus::Error, "{v:?}");
        v.status == VolumeStatus::Available
    })
    .await;
    let snap = p
        .snapshot_create(
            &ctx,
            SnapshotCreate {
                volume_id: source.id.clone(),
                name: None,
                description: None,
                force: false,
                metadata: Default::default(),
                enterprise_project_id: None,
                tags: Default::default(),
                instant_access: false,
            },
        )
        .await
        .unwrap();
    settle(&p, &ctx, async || {
        let s = p.snapshot_get(&ctx, &snap.id).await.unwrap();
        assert!(s.status != SnapshotStatus::Error, "{s:?}");
        s.status == SnapshotStatus::Available
    })
    .await;

    let mut costs = Vec::new();
    for (count, snapshot) in [
        (1, None),
        (50, None),
        (1, Some(snap.id.clone())),
        (50, Some(snap.id.clone())),
    ] {
        let req = VolumeCreate {
            name: Some("budget".into()),
            size: Some(20),
            volume_type: Some("SAS".into()),
            availability_zone: Some("nova".into()),
            snapshot_id: snapshot.clone(),
            ..Default::default()
        };
        // Every earlier job has ended, so the job runner does not touch the
        // store between these two readings.
        let before = p.store().stats();
        let out = p
            .volume_create_many(&ctx, req, count, None, CreateRules::EVS)
            .await
            .unwrap();
        let after = p.store().stats();
        assert_eq!(out.volumes.len(), count as usize);
        let writes = after.write_transactions - before.write_transactions;
        let calls = after.calls - before.calls;
        assert_eq!(writes, 1, "count {count}: one write transaction");
        costs.push((count, snapshot.is_some(), calls));
        for v in &out.volumes {
            settle(&p, &ctx, async || {
                p.volume_get(&ctx, &v.id).await.unwrap().status == VolumeStatus::Available
            })
            .await;
        }
    }
    // Reads: the type (and the snapshot and its volume), the service
    // states placement filters on, then the create.
    for (count, from_snapshot, calls) in &costs {
        let expected = if *from_snapshot { 5 } else { 3 };
        assert_eq!(
            *calls, expected,
            "count {count}, from snapshot {from_snapshot}: {costs:?}"
        );
    }
}
