//! Bad input, wrong status, other projects and quotas: each a clear 4xx in
//! Cinder's format, never a 500, never a partial write.

mod common;

use common::{admin, raw, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// (method, path under the project, raw body, status, fault name, message fragment)
type Case<'a> = (Method, String, Option<&'a str>, u16, &'a str, &'a str);

#[tokio::test]
async fn bad_requests_get_cinder_faults_and_write_nothing() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let volumes = format!("/v3/{}/volumes", c.project_id);

    let long_name = format!(
        r#"{{"volume": {{"size": 1, "name": "{}"}}}}"#,
        "n".repeat(65)
    );
    let bogus_snapshot = format!(r#"{{"snapshot": {{"volume_id": "{vid}", "bogus": 1}}}}"#);
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/volumes".into(),
            Some("{not json"),
            400,
            "badRequest",
            "Malformed request body",
        ),
        (
            Method::POST,
            "/volumes".into(),
            None,
            400,
            "badRequest",
            "Missing request body",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some("[]"),
            400,
            "badRequest",
            "JSON object",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1}, "extra": 1}"#),
            400,
            "badRequest",
            "'extra' was unexpected",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some("{}"),
            400,
            "badRequest",
            "'volume' is a required property",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 0}}"#),
            400,
            "badRequest",
            "less than the minimum of 1",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": -5}}"#),
            400,
            "badRequest",
            "less than the minimum",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1.5}}"#),
            400,
            "badRequest",
            "not of type 'integer'",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": "ten"}}"#),
            400,
            "badRequest",
            "not of type 'integer'",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"name": "x"}}"#),
            400,
            "badRequest",
            "size is required",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 40000}}"#),
            400,
            "badRequest",
            "between 1 and 32768",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1, "volume_type": "NOPE"}}"#),
            404,
            "itemNotFound",
            "Volume type NOPE",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1, "availability_zone": "mars"}}"#),
            400,
            "badRequest",
            "Availability zone 'mars' is invalid",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1, "snapshot_id": "not-a-uuid"}}"#),
            400,
            "badRequest",
            "is not a 'uuid'",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(
                r#"{"volume": {"size": 1, "snapshot_id": "6d1f6b36-4b5e-4b0d-9b0e-9f8a3e0e0e0e"}}"#,
            ),
            404,
            "itemNotFound",
            "Snapshot",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1, "imageRef": "6d1f6b36-4b5e-4b0d-9b0e-9f8a3e0e0e0e"}}"#),
            400,
            "badRequest",
            "image identifier",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1, "name": 5}}"#),
            400,
            "badRequest",
            "not of type 'string'",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(r#"{"volume": {"size": 1, "metadata": {"k": null}}}"#),
            400,
            "badRequest",
            "not of type 'string'",
        ),
        (
            Method::POST,
            "/volumes".into(),
            Some(long_name.as_str()),
            400,
            "badRequest",
            "too long",
        ),
        (
            Method::PUT,
            format!("/volumes/{vid}"),
            Some(r#"{"volume": {"size": 5}}"#),
            400,
            "badRequest",
            "'size' was unexpected",
        ),
        (
            Method::POST,
            format!("/volumes/{vid}/action"),
            Some(r#"{"os-extend": {"new_size": "x"}}"#),
            400,
            "badRequest",
            "integer",
        ),
        (
            Method::POST,
            format!("/volumes/{vid}/action"),
            Some(r#"{"os-extend": {}}"#),
            400,
            "badRequest",
            "'new_size' is a required property",
        ),
        (
            Method::POST,
            format!("/volumes/{vid}/action"),
            Some(r#"{"os-frobnicate": {}}"#),
            400,
            "badRequest",
            "no such action",
        ),
        (
            Method::POST,
            format!("/volumes/{vid}/action"),
            Some(r#"{"os-extend": {"new_size": 2}, "os-set_bootable": {"bootable": true}}"#),
            400,
            "badRequest",
            "exactly one action",
        ),
        (
            Method::POST,
            format!("/volumes/{vid}/action"),
            Some(r#"{"os-reset_status": {"status": "sleeping"}}"#),
            400,
            "badRequest",
            "not a valid volume status",
        ),
        (
            Method::POST,
            "/snapshots".into(),
            Some(r#"{"snapshot": {"name": "s"}}"#),
            400,
            "badRequest",
            "'volume_id' is a required property",
        ),
        (
            Method::POST,
            "/snapshots".into(),
            Some(r#"{"snapshot": {"volume_id": "6d1f6b36-4b5e-4b0d-9b0e-9f8a3e0e0e0e"}}"#),
            404,
            "itemNotFound",
            "Volume",
        ),
        (
            Method::POST,
            "/snapshots".into(),
            Some(bogus_snapshot.as_str()),
            400,
            "badRequest",
            "'bogus' was unexpected",
        ),
        (
            Method::GET,
            "/volumes/6d1f6b36-4b5e-4b0d-9b0e-9f8a3e0e0e0e".into(),
            None,
            404,
            "itemNotFound",
            "could not be found",
        ),
        (
            Method::DELETE,
            "/volumes/6d1f6b36-4b5e-4b0d-9b0e-9f8a3e0e0e0e".into(),
            None,
            404,
            "itemNotFound",
            "could not be found",
        ),
        (
            Method::GET,
            "/no-such-thing".into(),
            None,
            404,
            "itemNotFound",
            "could not be found",
        ),
        (
            Method::PATCH,
            "/volumes".into(),
            Some("{}"),
            405,
            "badMethod",
            "not allowed",
        ),
        (
            Method::PUT,
            format!("/os-quota-sets/{}", c.project_id),
            Some(r#"{"quota_set": {"volumez": 3}}"#),
            400,
            "badRequest",
            "Bad key",
        ),
        (
            Method::PUT,
            format!("/os-quota-sets/{}", c.project_id),
            Some(r#"{"quota_set": {"volumes": -2}}"#),
            400,
            "badRequest",
            "-1",
        ),
        (
            Method::DELETE,
            format!("/volumes/{vid}?cascade=maybe"),
            None,
            400,
            "badRequest",
            "cascade",
        ),
    ];
    for (method, path, body, status, fault, fragment) in cases {
        let url = format!("{}/v3/{}{path}", c.volume_url, c.project_id);
        let r = raw(&c.http, method.clone(), &url, Some(&c.token), body).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path} {body:?}: {}",
            r.body
        );
        let (name, message) = r.fault();
        assert_eq!(name, fault, "{method} {path}: {}", r.body);
        assert!(
            message.contains(fragment),
            "{method} {path}: {message:?} lacks {fragment:?}"
        );
    }

    // Nothing was written by any of them: still exactly the one volume, unchanged.
    let r = c.get("/volumes/detail").await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(r.body["volumes"][0]["size"], 1);
    assert_eq!(r.body["volumes"][0]["status"], "available");
    assert_eq!(c.get("/snapshots").await.body["snapshots"], json!([]));

    // A body over the limit is refused whole.
    let big = format!(
        r#"{{"volume": {{"size": 1, "description": "{}"}}}}"#,
        "x".repeat(2 << 20)
    );
    let r = raw(
        &c.http,
        Method::POST,
        &format!("{}{volumes}", c.volume_url),
        Some(&c.token),
        Some(&big),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.fault().0, "overLimit");
    assert_eq!(
        server.log().matches("request failed").count(),
        0,
        "no 5xx:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn authentication_and_url_project_are_checked() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = c.url("/volumes");
    let r = raw(&c.http, Method::GET, &url, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.fault().0, "unauthorized");
    let www = r.headers["www-authenticate"].to_str().unwrap();
    assert!(www.contains(&c.identity_url), "{www}");
    let r = raw(&c.http, Method::GET, &url, Some("bogus-token"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A token of one project cannot use another project's URL.
    let other = format!(
        "{}/v3/{}/volumes",
        c.volume_url, "0123456789abcdef0123456789abcdef"
    );
    let r = raw(&c.http, Method::GET, &other, Some(&c.token), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.fault().1, "Malformed request url");
}

#[tokio::test]
async fn another_projects_volumes_are_not_found_and_untouched() {
    let server = Server::start();
    let admin = admin(&server).await;
    let alice = admin
        .new_project_user(&server, "pa", "alice", "member")
        .await;
    let bob = admin.new_project_user(&server, "pb", "bob", "member").await;
    let v = alice.volume(json!({"size": 1, "name": "alices"})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let r = alice
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    alice.wait_snapshot(&sid, "available").await;

    assert_eq!(bob.get("/volumes").await.body["volumes"], json!([]));
    assert_eq!(
        bob.get("/snapshots/detail").await.body["snapshots"],
        json!([])
    );
    let attempts = vec![
        bob.get(&format!("/volumes/{vid}")).await,
        bob.put(
            &format!("/volumes/{vid}"),
            json!({"volume": {"name": "mine"}}),
        )
        .await,
        bob.delete(&format!("/volumes/{vid}")).await,
        bob.post(
            &format!("/volumes/{vid}/action"),
            json!({"os-extend": {"new_size": 5}}),
        )
        .await,
        bob.get(&format!("/volumes/{vid}/metadata")).await,
        bob.post(
            &format!("/volumes/{vid}/metadata"),
            json!({"metadata": {"x": "y"}}),
        )
        .await,
        bob.post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
            .await,
        bob.post("/volumes", json!({"volume": {"source_volid": vid}}))
            .await,
        bob.post("/volumes", json!({"volume": {"snapshot_id": sid}}))
            .await,
        bob.get(&format!("/snapshots/{sid}")).await,
        bob.delete(&format!("/snapshots/{sid}")).await,
    ];
    for r in attempts {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(r.fault().0, "itemNotFound");
    }
    // all_tenants is ignored for non-admins.
    assert_eq!(
        bob.get("/volumes?all_tenants=1").await.body["volumes"],
        json!([])
    );
    // Bob cannot read alice's quotas either.
    assert_eq!(
        bob.get(&format!("/os-quota-sets/{}", alice.project_id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let r = alice.get(&format!("/volumes/{vid}")).await;
    assert_eq!(r.body["volume"]["name"], "alices");
    assert_eq!(r.body["volume"]["size"], 1);
    assert_eq!(r.body["volume"]["metadata"], json!({}));
    // The admin sees everyone's with all_tenants.
    let r = admin.get("/volumes?all_tenants=true").await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1);

    // A reader may look but not change.
    let reader = admin
        .new_project_user(&server, "pc", "carol", "reader")
        .await;
    assert_eq!(reader.get("/volumes").await.status, StatusCode::OK);
    let r = reader
        .post("/volumes", json!({"volume": {"size": 1}}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.fault().0, "forbidden");
    // And members cannot administer quotas or reset statuses.
    let r = alice
        .put(
            &format!("/os-quota-sets/{}", alice.project_id),
            json!({"quota_set": {"volumes": 100}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = alice
        .post(
            &format!("/volumes/{vid}/action"),
            json!({"os-reset_status": {"status": "error"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn concurrent_creates_admit_exactly_the_quota() {
    let server = Server::start();
    let admin = admin(&server).await;
    let user = admin
        .new_project_user(&server, "pq", "quinn", "member")
        .await;
    let r = admin
        .put(
            &format!("/os-quota-sets/{}", user.project_id),
            json!({"quota_set": {"volumes": 5}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["quota_set"]["volumes"], 5);

    let mut tasks = Vec::new();
    for i in 0..10 {
        let u = user.clone();
        tasks.push(tokio::spawn(async move {
            u.post(
                "/volumes",
                json!({"volume": {"size": 1, "name": format!("q{i}")}}),
            )
            .await
        }));
    }
    let mut accepted = 0;
    let mut over = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::PAYLOAD_TOO_LARGE => {
                over += 1;
                let (name, message) = r.fault();
                assert_eq!(name, "overLimit");
                assert_eq!(
                    message,
                    "VolumeLimitExceeded: Maximum number of volumes allowed (5) exceeded for quota 'volumes'."
                );
                assert_eq!(r.body["overLimit"]["retryAfter"], "0");
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!((accepted, over), (5, 5));
    let r = user.get("/volumes").await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 5);

    // Gigabytes are counted too, snapshots included, per type as well.
    let r = admin
        .put(
            &format!("/os-quota-sets/{}", user.project_id),
            json!({"quota_set": {"volumes": 10, "gigabytes": 7, "snapshots": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = user.post("/volumes", json!({"volume": {"size": 3}})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.fault().1.starts_with("VolumeSizeExceedsAvailableQuota"),
        "{}",
        r.body
    );
    let first = user.get("/volumes").await.body["volumes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    user.wait_volume(&first, "available").await;
    let r = user
        .post("/snapshots", json!({"snapshot": {"volume_id": first}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = user
        .post("/snapshots", json!({"snapshot": {"volume_id": first}}))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.fault().1.starts_with("SnapshotLimitExceeded"));
    let r = user
        .get(&format!("/os-quota-sets/{}?usage=true", user.project_id))
        .await;
    assert_eq!(
        r.body["quota_set"]["gigabytes"],
        json!({"limit": 7, "in_use": 6, "reserved": 0})
    );
    assert_eq!(r.body["quota_set"]["snapshots"]["in_use"], 1);
}
