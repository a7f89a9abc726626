//! The metadata rule has one home: the service refuses metadata that breaks
//! it (keys of 1 to 255 characters, values of at most 255) in every
//! operation that sets volume, snapshot or backup metadata, whatever API
//! called it, and nothing is written (issue 14, finding A).

mod common;

use std::sync::Arc;

use platter_backend::MemoryBackend;
use platter_model::{DomainError, Metadata};
use platter_service::{
    CreateRules, Platter, ServiceConfig, SnapshotCreate, VolumeCreate, VolumeListRequest,
};
use platter_store::Store;

fn bad_metadata() -> Vec<Metadata> {
    vec![
        Metadata::from([("k".to_string(), "v".repeat(1_000_000))]),
        Metadata::from([(String::new(), "v".to_string())]),
        Metadata::from([("k".repeat(300), "v".to_string())]),
    ]
}

fn is_invalid_input(e: &DomainError) -> bool {
    matches!(e, DomainError::InvalidInput(m) if m.contains("etadata"))
}

#[tokio::test]
async fn every_operation_that_sets_metadata_refuses_what_breaks_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).await.unwrap();
    let platter = Platter::new(
        store,
        Arc::new(MemoryBackend::new()),
        ServiceConfig::default(),
    );
    let ctx = common::bootstrap_admin(&platter).await;
    let create = |metadata: Metadata| VolumeCreate {
        size: Some(10),
        metadata,
        ..Default::default()
    };
    for m in bad_metadata() {
        let e = platter.volume_create(&ctx, create(m.clone())).await;
        assert!(is_invalid_input(e.as_ref().unwrap_err()), "{e:?}");
        let e = platter
            .volume_create_many(&ctx, create(m.clone()), 2, None, CreateRules::EVS)
            .await;
        assert!(is_invalid_input(e.as_ref().err().unwrap()), "create_many");
    }
    let volumes = platter
        .volume_list(&ctx, VolumeListRequest::default())
        .await
        .unwrap();
    assert!(volumes.is_empty(), "{volumes:?}");

    // On an existing volume and snapshot: metadata set, volume update,
    // snapshot create; nothing changes.
    let v = platter
        .volume_create(&ctx, create(Metadata::new()))
        .await
        .unwrap();
    for m in bad_metadata() {
        let e = platter.volume_metadata_set(&ctx, &v.id, &m, false).await;
        assert!(is_invalid_input(e.as_ref().unwrap_err()), "{e:?}");
        let update = platter_service::VolumeUpdate {
            metadata: Some(m.clone()),
            ..Default::default()
        };
        let e = platter.volume_update(&ctx, &v.id, update).await;
        assert!(is_invalid_input(e.as_ref().unwrap_err()), "{e:?}");
        let mut snap = SnapshotCreate::new(v.id.clone());
        snap.force = true;
        snap.metadata = m.clone();
        let e = platter.snapshot_create(&ctx, snap).await;
        assert!(is_invalid_input(e.as_ref().unwrap_err()), "{e:?}");
    }
    let v = platter.volume_get(&ctx, &v.id).await.unwrap();
    assert!(v.metadata.is_empty(), "{:?}", v.metadata);
}
