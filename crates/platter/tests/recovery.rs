//! Durable jobs: kill -9 with work in flight, restart, and every volume and
//! snapshot reaches a terminal status; failed jobs leave error statuses and
//! nothing behind.

mod common;

use std::time::{Duration, Instant};

use common::{admin, Server};
use reqwest::StatusCode;
use serde_json::json;

const TERMINAL: &[&str] = &["available", "error", "error_deleting", "error_extending"];

#[tokio::test]
async fn kill9_with_jobs_in_flight_then_every_volume_reaches_a_terminal_status() {
    // Slow jobs down so the kill lands while they are running.
    let mut server = Server::start_with(&[("PLATTER_TEST_JOB_DELAY_MS", "3000")]);
    let c = admin(&server).await;
    // Some settled volumes to delete, extend and snapshot during the crash.
    let mut settled = Vec::new();
    for i in 0..3 {
        let r = c
            .post(
                "/volumes",
                json!({"volume": {"size": 1, "name": format!("old{i}")}}),
            )
            .await;
        settled.push(r.body["volume"]["id"].as_str().unwrap().to_string());
    }
    for id in &settled {
        c.wait_volume(id, "available").await;
    }
    let mut creating = Vec::new();
    for i in 0..5 {
        let r = c
            .post(
                "/volumes",
                json!({"volume": {"size": 1, "name": format!("new{i}")}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        creating.push(r.body["volume"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        c.delete(&format!("/volumes/{}", settled[0])).await.status,
        StatusCode::ACCEPTED
    );
    let r = c
        .post(
            &format!("/volumes/{}/action", settled[1]),
            json!({"os-extend": {"new_size": 2}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": settled[2]}}))
        .await;
    let snap = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(&format!("/volumes/{}", creating[0])).await.body["volume"]["status"],
        "creating"
    );

    server.kill9();
    server.restart_with(&[]);
    let c = admin(&server).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let vols = c.get("/volumes/detail").await.body["volumes"]
            .as_array()
            .unwrap()
            .clone();
        let snaps = c.get("/snapshots").await.body["snapshots"]
            .as_array()
            .unwrap()
            .clone();
        let busy = vols
            .iter()
            .any(|v| !TERMINAL.contains(&v["status"].as_str().unwrap()))
            || snaps
                .iter()
                .any(|s| s["status"] != "available" && s["status"] != "error");
        if !busy {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still transitional after restart: {vols:?} {snaps:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Re-driven, not just failed: every job completed.
    for id in &creating {
        assert_eq!(
            c.get(&format!("/volumes/{id}")).await.body["volume"]["status"],
            "available"
        );
    }
    assert_eq!(
        c.get(&format!("/volumes/{}", settled[0])).await.status,
        StatusCode::NOT_FOUND
    );
    let extended = c.get(&format!("/volumes/{}", settled[1])).await;
    assert_eq!(extended.body["volume"]["size"], 2);
    assert_eq!(
        c.get(&format!("/snapshots/{snap}")).await.body["snapshot"]["status"],
        "available"
    );
    assert!(server.log().contains("re-driving unfinished job"));
}

#[tokio::test]
async fn failing_jobs_end_in_error_statuses_and_leave_nothing_behind() {
    let mut server = Server::start_with(&[(
        "PLATTER_TEST_FAIL_JOBS",
        "createVolume,extendVolume,createSnapshot",
    )]);
    let c = admin(&server).await;
    let r = c.post("/volumes", json!({"volume": {"size": 1}})).await;
    let failed = r.body["volume"]["id"].as_str().unwrap().to_string();
    c.wait_volume(&failed, "error").await;
    let pool = server.data_dir().join("pool").join("volumes");
    assert!(
        !pool.join(format!("{failed}.img")).exists(),
        "undo removed the half-made volume"
    );
    // An errored volume can be deleted.
    assert_eq!(
        c.delete(&format!("/volumes/{failed}")).await.status,
        StatusCode::ACCEPTED
    );
    c.wait_volume(&failed, "deleted").await;

    // Now with creation working but extend and snapshot failing.
    server.restart_with(&[("PLATTER_TEST_FAIL_JOBS", "extendVolume,createSnapshot")]);
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    c.post(
        &format!("/volumes/{vid}/action"),
        json!({"os-extend": {"new_size": 2}}),
    )
    .await;
    let v = c.wait_volume(&vid, "error_extending").await;
    assert_eq!(v["size"], 1, "a failed extend keeps the old size");
    let r = c
        .post(
            &format!("/volumes/{vid}/action"),
            json!({"os-reset_status": {"status": "available"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    c.wait_snapshot(&sid, "error").await;
    assert_eq!(
        c.delete(&format!("/snapshots/{sid}")).await.status,
        StatusCode::ACCEPTED
    );
    c.wait(&format!("/snapshots/{sid}"), "snapshot", "deleted")
        .await;
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let mut server = Server::start();
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn sigterm_with_open_nbd_connections_still_exits() {
    let mut server = Server::start();
    let c = common::admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let (_att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;
    let mut client = common::nbd_client::NbdClient::connect(&uri).unwrap();
    assert_eq!(client.write(0, &[1u8; 4096]).unwrap(), 0);
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        started.elapsed()
    );
}
