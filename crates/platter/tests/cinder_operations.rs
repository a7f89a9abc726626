//! Cinder's operator views through the real server: services that can be
//! disabled (and then get no volumes), the scheduler's capability filter,
//! the user messages a failed create leaves, and backend capabilities.

mod common;

use common::{admin, Client, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Creates a volume and waits until it is `available` or `error`.
async fn create_and_settle(c: &Client, body: Value) -> Value {
    let r = c.post("/volumes", json!({ "volume": body })).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["volume"]["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let v = c.get(&format!("/volumes/{id}")).await.body["volume"].clone();
        if v["status"] != "creating" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("volume {id} stuck creating");
}

async fn messages_about(c: &Client, id: &str) -> Vec<Value> {
    let r = c.call_mv("3.3", Method::GET, "/messages", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["resource_uuid"] == id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_disabled_volume_service_gets_no_volumes_and_the_failure_is_a_message() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = c.get("/os-services").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let services = r.body["services"].as_array().unwrap().clone();
    let binaries: Vec<&str> = services
        .iter()
        .map(|s| s["binary"].as_str().unwrap())
        .collect();
    assert_eq!(binaries, ["cinder-scheduler", "cinder-volume"]);
    let volume_host = services[1]["host"].as_str().unwrap().to_string();
    assert!(volume_host.starts_with("platter@"), "{volume_host}");
    assert_eq!(services[1]["status"], "enabled");
    // `host=platter` names every service of the host, at Cinder's host level.
    let r = c
        .get("/os-services?host=platter&binary=cinder-volume")
        .await;
    assert_eq!(r.body["services"].as_array().unwrap().len(), 1);

    let r = c
        .put("/os-services/disable-log-reason", json!({"host": volume_host, "binary": "cinder-volume", "disabled_reason": "maintenance"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(r.body["disabled_reason"], "maintenance");
    let listed = c.get("/os-services?binary=cinder-volume").await.body["services"][0].clone();
    assert_eq!(listed["status"], "disabled");
    assert_eq!(listed["disabled_reason"], "maintenance");

    let v = create_and_settle(&c, json!({"size": 1})).await;
    assert_eq!(v["status"], "error", "{v}");
    let id = v["id"].as_str().unwrap();
    let msgs = messages_about(&c, id).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["event_id"], "VOLUME_VOLUME_001_003");
    assert_eq!(
        msgs[0]["user_message"],
        "schedule allocate volume: Could not find any available weighted backend."
    );
    assert_eq!(msgs[0]["resource_type"], "VOLUME");

    let r = c
        .put(
            "/os-services/enable",
            json!({"host": volume_host, "binary": "cinder-volume"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "enabled");
    assert!(r.body["disabled_reason"].is_null());
    assert_eq!(
        create_and_settle(&c, json!({"size": 1})).await["status"],
        "available"
    );

    // Unknown services and hosts, and a reason that is missing.
    let r = c
        .put(
            "/os-services/disable",
            json!({"host": volume_host, "binary": "nope"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .put(
            "/os-services/enable",
            json!({"host": "nohost", "binary": "cinder-volume"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c
        .put(
            "/os-services/disable-log-reason",
            json!({"host": volume_host, "binary": "cinder-volume", "disabled_reason": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let keep = create_and_settle(&c, json!({"size": 1})).await;
    let keep = keep["id"].as_str().unwrap().to_string();
    let r = c
        .put("/os-services/freeze", json!({"host": "nohost"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .put("/os-services/freeze", json!({"host": "platter"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        c.get("/os-services?binary=cinder-volume").await.body["services"][0]["frozen"],
        true
    );
    // Frozen, it takes no new volumes either; thawed, it does again.
    assert_eq!(
        create_and_settle(&c, json!({"size": 1})).await["status"],
        "error"
    );
    // Nor does it change the volumes it holds (Cinder's rule).
    let frozen = "Modification operations are not allowed on frozen storage backends.";
    for r in [
        c.delete(&format!("/volumes/{keep}")).await,
        c.post(
            &format!("/volumes/{keep}/action"),
            json!({"os-extend": {"new_size": 2}}),
        )
        .await,
        c.post("/snapshots", json!({"snapshot": {"volume_id": keep}}))
            .await,
    ] {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.to_string().contains(frozen), "{}", r.body);
    }

    let r = c.put("/os-services/thaw", json!({"host": "platter"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        create_and_settle(&c, json!({"size": 1})).await["status"],
        "available"
    );
    let r = c.delete(&format!("/volumes/{keep}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

    // Members cannot see or change services.
    let m = c.new_project_user(&server, "p", "u", "member").await;
    assert_eq!(m.get("/os-services").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_type_no_pool_satisfies_fails_its_volumes_with_a_message_the_owner_can_delete() {
    let server = Server::start();
    let adm = admin(&server).await;
    let r = adm
        .post("/types", json!({"volume_type": {"name": "bogus", "extra_specs": {"vendor_name": "Other", "storage_protocol": "iSCSI"}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = adm
        .post("/types", json!({"volume_type": {"name": "fits", "extra_specs": {"capabilities:storage_protocol": "<or> iSCSI <or> NBD", "vendor_name": "Platter"}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let m = adm.new_project_user(&server, "p", "u", "member").await;
    assert_eq!(
        create_and_settle(&m, json!({"size": 1, "volume_type": "fits"})).await["status"],
        "available"
    );
    let v = create_and_settle(&m, json!({"size": 1, "volume_type": "bogus"})).await;
    assert_eq!(v["status"], "error");
    let id = v["id"].as_str().unwrap();

    let msgs = messages_about(&m, id).await;
    assert_eq!(msgs.len(), 1);
    let mid = msgs[0]["id"].as_str().unwrap().to_string();
    assert!(msgs[0]["request_id"].as_str().unwrap().starts_with("req-"));
    // Messages are 3.3+; other projects do not see them; admins see all.
    let r = m.call_mv("3.2", Method::GET, "/messages", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let other = adm.new_project_user(&server, "q", "w", "member").await;
    let r = other
        .call_mv("3.3", Method::GET, &format!("/messages/{mid}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(messages_about(&adm, id).await.len(), 1);

    let r = m
        .call_mv("3.3", Method::DELETE, &format!("/messages/{mid}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(messages_about(&m, id).await.is_empty());
    // The volume in error can be deleted, and its quota comes back.
    assert_eq!(
        m.delete(&format!("/volumes/{id}")).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn capabilities_agree_with_the_pools_view() {
    let server = Server::start();
    let c = admin(&server).await;
    let pools = c.get("/scheduler-stats/get_pools?detail=true").await.body["pools"].clone();
    let pool = &pools[0];
    let host = pool["name"].as_str().unwrap();
    let r = c.get(&format!("/capabilities/{host}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for key in ["vendor_name", "volume_backend_name", "storage_protocol"] {
        assert_eq!(r.body[key], pool["capabilities"][key], "{key}");
    }
    assert!(r.body["namespace"]
        .as_str()
        .unwrap()
        .starts_with("OS::Storage::Capabilities::platter@"));
    // The backend without its pool names the same.
    let backend = host.split('#').next().unwrap();
    assert_eq!(
        c.get(&format!("/capabilities/{backend}")).await.body,
        r.body
    );
    assert_eq!(
        c.get("/capabilities/nohost").await.status,
        StatusCode::NOT_FOUND
    );
}
