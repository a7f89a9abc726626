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
