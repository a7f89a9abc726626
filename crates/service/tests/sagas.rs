//! Sagas: for every job kind ([`JobKind::ALL`]) and every step of it, a job
//! run with each step twice, a job failed before each step, and a job
//! stopped before each step then recovered by a fresh service, all against
//! a real engine pool. Repeated and recovered jobs end exactly as a normal
//! run (rows, devices, bytes, quota usage); failed ones leave their
//! resource in the documented error status and, after the API's clean-up,
//! nothing behind.

mod common;
mod saga;

use platter_model::{JobKind, JobStatus};
use platter_service::FaultInjection;
use saga::{outcome, scenarios, Outcome, Scenario, World};

/// A normal run of `scenario` in a world of its own.
async fn normal(scenario: Scenario) -> Outcome {
    let mut w = World::new().await;
    let mut fx = scenario.setup(&w).await;
    let job = scenario.start(&w, &mut fx).await;
    assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
    let out = outcome(&w, &fx, &job).await;
    w.close().await;
    out
}

/// Every kind has scenarios and every scenario a kind's steps.
#[test]
fn every_kind_is_covered() {
    for kind in JobKind::ALL {
        assert!(!scenarios(kind).is_empty(), "{kind:?} has no saga scenario");
        for s in scenarios(kind) {
            assert_eq!(s.kind(), kind);
        }
        assert!(!kind.steps().is_empty());
    }
}

#[tokio::test]
async fn each_step_run_twice_ends_as_a_normal_run() {
    for kind in JobKind::ALL {
        for &scenario in scenarios(kind) {
            let expected = normal(scenario).await;
            let mut w = World::new().await;
            let mut fx = scenario.setup(&w).await;
            w.reopen(FaultInjection {
                repeat_steps: true,
                ..Default::default()
            })
            .await;
            let job = scenario.start(&w, &mut fx).await;
            assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
            let got = outcome(&w, &fx, &job).await;
            assert_eq!(got, expected, "{scenario:?} with every step run twice");
            w.close().await;
        }
    }
}

#[tokio::test]
async fn a_failure_before_each_step_undoes_and_leaks_nothing() {
    for kind in JobKind::ALL {
        let steps = kind.steps();
        for &scenario in scenarios(kind) {
            let expected = normal(scenario).await;
            for (step, name) in steps.iter().enumerate() {
                let what = format!("{scenario:?} failing before step {step} ({name})");
                let mut w = World::new().await;
                let mut fx = scenario.setup(&w).await;
                w.reopen(FaultInjection {
                    fail_before_step: Some((kind, step)),
                    ..Default::default()
                })
                .await;
                let job = scenario.start(&w, &mut fx).await;
                let ended = w.wait_job(&job).await;
                assert_eq!(ended.status, JobStatus::Fail, "{what}");
                assert!(
                    ended.error.as_deref().unwrap_or("").contains("injected"),
                    "{what}: {ended:?}"
                );
                let (usage, devices) = scenario.check_failed(&mut w, &fx, &expected).await;
                assert_eq!(w.usage().await, usage, "{what}: quota usage");
                let now = outcome(&w, &fx, &job).await;
                let now: Vec<String> = now.devices.into_keys().collect();
                assert_eq!(now, devices, "{what}: devices");
                w.close().await;
            }
        }
    }
}

#[tokio::test]
async fn a_crash_before_each_step_resumes_there_and_ends_as_a_normal_run() {
    for kind in JobKind::ALL {
        let steps = kind.steps();
        for &scenario in scenarios(kind) {
            let expected = normal(scenario).await;
            for (step, name) in steps.iter().enumerate() {
                let what = format!("{scenario:?} crashing before step {step} ({name})");
                let mut w = World::new().await;
                let mut fx = scenario.setup(&w).await;
                w.reopen(FaultInjection {
                    crash_before_step: Some((kind, step)),
                    ..Default::default()
                })
                .await;
                let job = scenario.start(&w, &mut fx).await;
                w.wait_stopped(&job, step).await;
                w.reopen(FaultInjection::default()).await;
                let redriven = w.p().recover().await.unwrap();
                assert_eq!(redriven, 1, "{what}");
                assert_eq!(w.wait_job(&job).await.status, JobStatus::Success, "{what}");
                let got = outcome(&w, &fx, &job).await;
                assert_eq!(got, expected, "{what}");
                w.close().await;
            }
        }
    }
}

/// A backup's snapshot stays in the pool its volume had when it was taken;
/// deleting the backup after the volume moved leaves nothing in either pool,
/// and the next incremental backup (no base in the new pool) is whole.
#[tokio::test]
async fn a_backup_of_a_volume_migrated_since_is_deleted_from_its_old_pool() {
    use platter_backend::StorageBackend;
    use platter_service::{BackupCreate, VolumeCreate};
    let w = World::new().await;
    let p = w.p();
    let v = p
        .volume_create(
            &w.ctx,
            VolumeCreate {
                size: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while p.volume_get(&w.ctx, &v.id).await.unwrap().status
        != platter_model::VolumeStatus::Available
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (b, job) = p
        .backup_create(
            &w.ctx,
            BackupCreate {
                volume_id: v.id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
    let snap = format!("bk-{}", b.id);
    assert!(w.pool().open_snapshot(&snap).is_ok());
    let job = p.volume_migrate(&w.ctx, &v.id, "pool2").await.unwrap();
    assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
    let (inc, job) = p
        .backup_create(
            &w.ctx,
            BackupCreate {
                volume_id: v.id.clone(),
                incremental: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
    assert!(w.pool2().open_snapshot(&format!("bk-{}", inc.id)).is_ok());
    for id in [&inc.id, &b.id] {
        let job = p.backup_delete(&w.ctx, id, false).await.unwrap();
        assert_eq!(w.wait_job(&job).await.status, JobStatus::Success);
    }
    assert!(
        w.pool().open_snapshot(&snap).is_err(),
        "left in the old pool"
    );
    assert!(w.pool2().open_snapshot(&format!("bk-{}", inc.id)).is_err());
    assert!(!w.pool().volume_exists(v.id.as_str()).unwrap());
}
