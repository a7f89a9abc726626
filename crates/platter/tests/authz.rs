//! One authorization point: an action the authorizer denies is refused by
//! every family in its own error format, and nothing changes. The server is
//! started with the test hook `PLATTER_TEST_DENY_ACTIONS`, which puts a
//! deny list in front of the role rules.

mod common;

use common::{admin, raw, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn volume_count(c: &common::Client) -> usize {
    let r = c.get("/volumes?all_tenants=1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["volumes"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_denied_action_is_refused_in_each_familys_format_and_changes_nothing() {
    let mut server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1, "name": "kept"})).await;
    let volume_id = v["id"].as_str().unwrap().to_string();
    server.restart_with(&[(
        "PLATTER_TEST_DENY_ACTIONS",
        "volume:create,evs:snapshots:create,identity:create_project",
    )]);
    let c = admin(&server).await;
    assert_eq!(volume_count(&c).await, 1);

    // Cinder: 403 forbidden with Cinder's policy message; no volume made.
    let r = c.post("/volumes", json!({"volume": {"size": 1}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let (name, message) = r.fault();
    assert_eq!(name, "forbidden");
    assert_eq!(
        message,
        "Policy doesn't allow volume:create to be performed."
    );
    // Refused before the body is read: a malformed body is still a 403.
    let r = c.post("/volumes", json!({"nonsense": true})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(volume_count(&c).await, 1);

    // Cinder snapshot create shares the IAM action evs:snapshots:create.
    let r = c
        .post(
            "/snapshots",
            json!({"snapshot": {"volume_id": volume_id, "name": "s"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        r.fault().1,
        "Policy doesn't allow volume:create_snapshot to be performed."
    );

    // EVS: EVS.5403 in EVS's error body; no volume, no snapshot, no job.
    let evs = format!("{}/v2.1/{}/cloudvolumes", c.volume_url, c.project_id);
    let body = json!({"volume": {"availability_zone": "nova", "volume_type": "SAS", "size": 10}});
    let r = raw(
        &c.http,
        Method::POST,
        &evs,
        Some(&c.token),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "EVS.5403", "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("evs:volumes:create"),
        "{}",
        r.body
    );
    let snap = format!("{}/v2/{}/cloudsnapshots", c.volume_url, c.project_id);
    let body = json!({"snapshot": {"volume_id": volume_id, "name": "s"}});
    let r = raw(
        &c.http,
        Method::POST,
        &snap,
        Some(&c.token),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "EVS.5403", "{}", r.body);
    assert_eq!(volume_count(&c).await, 1);
    let snaps = c.get("/snapshots?all_tenants=1").await;
    assert_eq!(snaps.body["snapshots"], json!([]), "{}", snaps.body);

    // Keystone: 403 in Keystone's error body; no project made.
    let before = c.identity(Method::GET, "/v3/projects", None).await;
    let r = c
        .identity(
            Method::POST,
            "/v3/projects",
            Some(json!({"project": {"name": "denied"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], 403, "{}", r.body);
    assert_eq!(
        r.body["error"]["message"],
        "You are not authorized to perform the requested action: identity:create_project."
    );
    let after = c.identity(Method::GET, "/v3/projects", None).await;
    assert_eq!(before.body["projects"], after.body["projects"]);

    // What is not denied still works, for the same admin.
    let r = c
        .put(
            &format!("/volumes/{volume_id}"),
            json!({"volume": {"name": "renamed"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["volume"]["name"], "renamed");
}

#[tokio::test]
async fn an_unknown_action_in_the_deny_list_stops_the_server_with_a_clear_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_platter"))
        .args(["serve", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("PLATTER_TEST_DENY_ACTIONS", "volume:fly")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown action \"volume:fly\""), "{err}");
}
