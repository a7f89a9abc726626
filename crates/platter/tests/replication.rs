//! Replicated volumes (Cinder replication v1, `os-promote-replica` and
//! `os-reenable-replica`) over two engine pools: a replicated type's
//! volume keeps a replica in the other pool, written through the NBD
//! data path; promoting swaps primary and replica with the data intact;
//! re-enabling copies the new primary's bytes back. Both pools' devices
//! are read without the server at the end.

mod common;

use common::storage::{config_file, engine_devices, engine_read, qemu_io, settled};
use common::{admin, Client, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[pools]]
name = "pool1"
backend = "engine"
path = "p1"

[[pools]]
name = "pool2"
backend = "engine"
path = "p2"
"#;

const MIB: usize = 1 << 20;

async fn show(c: &Client, id: &str) -> Value {
    let r = c.get(&format!("/volumes/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["volume"].clone()
}

async fn action(c: &Client, id: &str, body: Value) -> (StatusCode, Value) {
    let r = c.post(&format!("/volumes/{id}/action"), body).await;
    (r.status, r.body)
}

/// Creates the type `REPL`, whose volumes are replicated.
async fn replicated_type(c: &Client) {
    let r = c
        .post(
            "/types",
            json!({"volume_type": {"name": "REPL",
                   "extra_specs": {"replication_enabled": "<is> True"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A 400 whose message contains `want`.
fn refused(reply: (StatusCode, Value), want: &str) {
    let (status, body) = reply;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["badRequest"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(want), "{want:?} not in {body}");
}

#[tokio::test]
async fn a_replicated_volume_is_promoted_and_reenabled_with_its_data() {
    let (_config_dir, config) = config_file(CONFIG);
    let mut server = Server::start_with(&[("PLATTER_CONFIG", config.as_str())]);
    let c = admin(&server).await;

    // Each pool reports the other as its replication target.
    let r = c.get("/scheduler-stats/get_pools?detail=true").await;
    let caps = &r.body["pools"][0]["capabilities"];
    assert_eq!(caps["replication_enabled"], true, "{}", r.body);
    assert_eq!(caps["replication_targets"], json!(["platter@pool2#pool2"]));

    replicated_type(&c).await;
    let v = c.volume(json!({"size": 1, "volume_type": "REPL"})).await;
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["replication_status"], "active", "{v}");
    assert_eq!(v["os-vol-host-attr:host"], "platter@pool1#pool1");
    let plain = c.volume(json!({"size": 1})).await;
    assert_eq!(plain["replication_status"], "disabled");
    let plain_id = plain["id"].as_str().unwrap();

    // Writes over NBD reach both copies.
    let (att, uri) = c.attach(&id, "rw").await;
    qemu_io(
        &uri,
        &["write -P 0xaa 0 1M", "write -P 0xbb 1020M 4M", "flush"],
    );
    // Attached: no promote.
    refused(
        action(&c, &id, json!({"os-promote-replica": null})).await,
        "must be available",
    );
    c.detach(&att).await;

    // What does not apply is refused: re-enabling an in-sync replica,
    // promoting a volume that has none, moving a replicated volume.
    refused(
        action(&c, &id, json!({"os-reenable-replica": null})).await,
        "must be inactive or error",
    );
    refused(
        action(&c, plain_id, json!({"os-promote-replica": null})).await,
        "not replicated",
    );
    refused(
        action(
            &c,
            &id,
            json!({"os-migrate_volume": {"host": "platter@pool2#pool2"}}),
        )
        .await,
        "replicated",
    );
    refused(
        action(&c, &id, json!({"os-retype": {"new_type": "SATA"}})).await,
        "does not turn replication on or off",
    );
    // Not an admin: 403.
    let member = c.new_project_user(&server, "p2", "u2", "member").await;
    let r = member
        .post(
            &format!("/volumes/{plain_id}/action"),
            json!({"os-promote-replica": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Promote: the replica in pool 2 is the primary, with the bytes.
    let (status, body) = action(&c, &id, json!({"os-promote-replica": null})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let v = show(&c, &id).await;
    assert_eq!(v["os-vol-host-attr:host"], "platter@pool2#pool2");
    assert_eq!(v["replication_status"], "inactive");
    assert_eq!(v["status"], "available");
    refused(
        action(&c, &id, json!({"os-promote-replica": null})).await,
        "must be active",
    );
    let (att, uri) = c.attach(&id, "rw").await;
    qemu_io(
        &uri,
        &[
            "read -P 0xaa 0 1M",
            "read -P 0xbb 1020M 4M",
            // Inactive: this goes to the new primary only.
            "write -P 0xcc 2M 1M",
            "flush",
        ],
    );
    c.detach(&att).await;

    // Re-enable: the new primary's bytes are copied to pool 1.
    let (status, body) = action(&c, &id, json!({"os-reenable-replica": null})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let v = settled(&c, &id).await;
    assert_eq!(v["status"], "available", "{v}");
    assert_eq!(v["replication_status"], "active", "{v}");
    let (att, uri) = c.attach(&id, "rw").await;
    qemu_io(&uri, &["write -P 0xdd 3M 1M", "flush"]);
    c.detach(&att).await;
    c.wait_volume(&id, "available").await;

    // An extend grows both copies.
    let (status, body) = action(&c, &id, json!({"os-extend": {"new_size": 2}})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let v = c.wait_volume(&id, "available").await;
    assert_eq!(v["size"], 2);

    // Promote back: pool 1 has everything written since.
    let (status, body) = action(&c, &id, json!({"os-promote-replica": null})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        show(&c, &id).await["os-vol-host-attr:host"],
        "platter@pool1#pool1"
    );
    let (att, uri) = c.attach(&id, "rw").await;
    qemu_io(
        &uri,
        &[
            "read -P 0xaa 0 1M",
            "read -P 0xcc 2M 1M",
            "read -P 0xdd 3M 1M",
            "read -P 0xbb 1020M 4M",
            "read -P 0 1500M 1M",
            "write -P 0xee 1900M 1M",
        ],
    );
    c.detach(&att).await;

    // Without the server: both pools hold the volume, 2 GiB, with the
    // same first 4 MiB; the promoted pool 1 alone has the last write.
    server.kill9();
    let (p1, p2) = (server.data_dir().join("p1"), server.data_dir().join("p2"));
    let dev = format!("v:{id}");
    assert!(engine_devices(&p1).contains(&dev));
    assert!(engine_devices(&p2).contains(&dev));
    let (a, b) = (
        engine_read(&p1, &dev, 4 * MIB),
        engine_read(&p2, &dev, 4 * MIB),
    );
    assert!(a == b, "the replica differs from the primary");
    assert!(a[2 * MIB..3 * MIB].iter().all(|&x| x == 0xcc));
    let tail = |dir: &std::path::Path| engine_read(dir, &dev, 1901 * MIB)[1900 * MIB..].to_vec();
    assert!(tail(&p1).iter().all(|&x| x == 0xee));
    assert!(tail(&p2).iter().all(|&x| x == 0), "inactive: not mirrored");

    // Deleting the volume deletes both copies.
    server.restart_with(&[("PLATTER_CONFIG", config.as_str())]);
    let c = admin(&server).await;
    let r = c.delete(&format!("/volumes/{id}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    c.wait_volume(&id, "deleted").await;
    server.kill9();
    assert!(!engine_devices(&p1).contains(&dev));
    assert!(!engine_devices(&p2).contains(&dev));
}

#[tokio::test]
async fn a_replicated_type_needs_a_second_pool() {
    let server = Server::start();
    let c = admin(&server).await;
    replicated_type(&c).await;
    let r = c
        .post(
            "/volumes",
            json!({"volume": {"size": 1, "volume_type": "REPL"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["volume"]["id"].as_str().unwrap();
    let v = c.wait_volume(id, "error").await;
    assert_eq!(v["replication_status"], "disabled", "{v}");
    // The user message says placement failed; the log says why.
    let r = c
        .call_mv("3.3", reqwest::Method::GET, "/messages", None)
        .await;
    let m = &r.body["messages"][0];
    assert_eq!(m["resource_uuid"], id, "{}", r.body);
    let text = m["user_message"].as_str().unwrap_or_default();
    assert!(text.starts_with("schedule allocate volume"), "{text}");
    assert!(server.log().contains("no pool other than"));
}
