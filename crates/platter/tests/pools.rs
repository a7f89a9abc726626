//! Two engine pools in one server: types place volumes by their
//! `volume_backend_name`, bytes written over NBD land in the volume's pool,
//! snapshots and clones stay in their source's pool, clones and plain
//! retypes do not cross pools, and migration (admin, or a retype on
//! demand) moves the bytes, verified.

mod common;

use std::process::Command;

use common::storage::{config_file, engine_devices, engine_read, qemu_io, settled};
use common::{admin, Client, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[pools]]
name = "pool1"
backend = "engine"
path = "p1"
volume_backend_name = "SAS"

[[pools]]
name = "pool2"
backend = "engine"
path = "p2"
volume_backend_name = "SSD"
"#;

async fn host_of(c: &Client, id: &str) -> String {
    let r = c.get(&format!("/volumes/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["volume"]["os-vol-host-attr:host"]
        .as_str()
        .unwrap()
        .to_string()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn types_place_volumes_in_their_pool_and_nothing_crosses_pools() {
    let (_config_dir, config) = config_file(CONFIG);
    let env = [("PLATTER_CONFIG", config.as_str())];
    let mut server = Server::start_with(&env);
    let c = admin(&server).await;

    // Every pool is reported, named host@backend#pool, with capabilities.
    let r = c.get("/scheduler-stats/get_pools?detail=true").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<&str> = r.body["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["platter@pool1#pool1", "platter@pool2#pool2"]);
    let caps = &r.body["pools"][1]["capabilities"];
    assert_eq!(caps["pool_name"], "pool2");
    assert_eq!(caps["volume_backend_name"], "SSD");
    assert_eq!(caps["thin_provisioning_support"], true);
    assert_eq!(caps["platter:instant_snapshots"], true);
    assert_eq!(caps["platter:rollback"], true);
    assert_eq!(caps["platter:clone"], true);

    // Type SAS (volume_backend_name SAS) → pool1, SSD → pool2; a type
    // naming no pool (SATA) → the default, first pool.
    let a = id(&c.volume(json!({"size": 1, "volume_type": "SAS"})).await);
    let b = id(&c.volume(json!({"size": 2, "volume_type": "SSD"})).await);
    let other = id(&c.volume(json!({"size": 1, "volume_type": "SATA"})).await);
    assert_eq!(host_of(&c, &a).await, "platter@pool1#pool1");
    assert_eq!(host_of(&c, &b).await, "platter@pool2#pool2");
    assert_eq!(host_of(&c, &other).await, "platter@pool1#pool1");
    let r = c.get("/scheduler-stats/get_pools?detail=true").await;
    let provisioned =
        |i: usize| r.body["pools"][i]["capabilities"]["provisioned_capacity_gb"].clone();
    assert_eq!((provisioned(0), provisioned(1)), (json!(2.0), json!(2.0)));

    // Bytes written over NBD go to each volume's pool.
    let (att_a, uri_a) = c.attach(&a, "rw").await;
    let (att_b, uri_b) = c.attach(&b, "rw").await;
    qemu_io(&uri_a, &["write -P 0xaa 0 1M", "flush"]);
    qemu_io(&uri_b, &["write -P 0xbb 0 1M", "flush"]);
    c.detach(&att_a).await;
    c.detach(&att_b).await;
    c.wait_volume(&b, "available").await;

    // A snapshot of the pool-2 volume, a volume from it and a clone of the
    // volume: all in pool 2, with the volume's bytes.
    let r = c
        .post(
            "/snapshots",
            json!({"snapshot": {"volume_id": b, "name": "s"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let snap = id(&r.body["snapshot"]);
    c.wait_snapshot(&snap, "available").await;
    let from_snap = id(&c.volume(json!({"snapshot_id": snap})).await);
    let clone = id(&c.volume(json!({"source_volid": b})).await);
    assert_eq!(host_of(&c, &from_snap).await, "platter@pool2#pool2");
    assert_eq!(host_of(&c, &clone).await, "platter@pool2#pool2");
    // The source's own type, named explicitly, is fine too.
    let same = id(&c
        .volume(json!({"source_volid": b, "volume_type": "SSD"}))
        .await);
    assert_eq!(host_of(&c, &same).await, "platter@pool2#pool2");
    let (att, uri) = c.attach(&clone, "rw").await;
    qemu_io(&uri, &["read -P 0xbb 0 1M"]);
    c.detach(&att).await;

    // A type of another pool for a clone or a volume from a snapshot: 400.
    for body in [
        json!({"snapshot_id": snap, "volume_type": "SAS"}),
        json!({"source_volid": b, "volume_type": "SAS"}),
    ] {
        let r = c.post("/volumes", json!({ "volume": body })).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let (fault, message) = r.fault();
        assert_eq!(fault, "badRequest");
        assert!(
            message.contains("pool pool1") && message.contains("pool pool2"),
            "{message}"
        );
    }

    // A retype to a type of another pool: 400 naming it (EVS retype); to a
    // type that names no pool, the volume stays and the retype succeeds.
    let retype = |vid: String, new_type: &'static str| {
        let c = c.clone();
        async move {
            let url = format!("{}/v2/{}/volumes/{vid}/retype", c.volume_url, c.project_id);
            let body = json!({"os-retype": {"new_type": new_type}}).to_string();
            common::raw(&c.http, Method::POST, &url, Some(&c.token), Some(&body)).await
        }
    };
    let r = retype(a.clone(), "SSD").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("pool pool2"), "{}", r.body);
    assert_eq!(r.body["error"]["code"], "EVS.5400", "{}", r.body);
    let r = retype(a.clone(), "GPSSD").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let v = c.wait_volume(&a, "available").await;
    assert_eq!(v["volume_type"], "GPSSD");
    assert_eq!(v["os-vol-host-attr:host"], "platter@pool1#pool1");

    // The data is where the host string says, read without the server.
    server.kill9();
    let p1 = server.data_dir().join("p1");
    let p2 = server.data_dir().join("p2");
    let mut want1 = vec![format!("v:{a}"), format!("v:{other}")];
    want1.sort();
    let mut want2 = vec![
        format!("v:{b}"),
        format!("s:{snap}"),
        format!("v:{from_snap}"),
        format!("v:{clone}"),
        format!("v:{same}"),
    ];
    want2.sort();
    assert_eq!(engine_devices(&p1), want1);
    assert_eq!(engine_devices(&p2), want2);
    assert!(engine_read(&p1, &format!("v:{a}"), 1 << 20)
        .iter()
        .all(|&x| x == 0xaa));
    assert!(engine_read(&p2, &format!("v:{b}"), 1 << 20)
        .iter()
        .all(|&x| x == 0xbb));
    assert!(engine_read(&p2, &format!("v:{from_snap}"), 1 << 20)
        .iter()
        .all(|&x| x == 0xbb));
    assert!(
        !server.data_dir().join("pool").exists(),
        "no default pool directory when pools are configured"
    );

    // A fresh process serves both pools' volumes again over NBD.
    server.restart_with(&env);
    let c = admin(&server).await;
    let (_att, uri) = c.attach(&b, "rw").await;
    qemu_io(&uri, &["read -P 0xbb 0 1M"]);
    let (_att, uri) = c.attach(&a, "rw").await;
    qemu_io(&uri, &["read -P 0xaa 0 1M"]);
}

#[tokio::test]
async fn a_server_refuses_to_start_without_the_pool_of_its_volumes() {
    // Volumes made in the default pool, then a configuration without it.
    let mut server = Server::start();
    let c = admin(&server).await;
    c.volume(json!({"size": 1})).await;
    server.kill9();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("platter.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platter"))
        .arg("serve")
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("--config")
        .arg(&config)
        // Never serves: an address of no local interface.
        .arg("--bind")
        .arg("203.0.113.1")
        .env("PLATTER_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("pool 'pool'") && text.contains("not configured"),
        "{text}"
    );
}

#[tokio::test]
async fn a_retype_on_demand_and_an_admin_migration_move_the_bytes_between_pools() {
    let (_config_dir, config) = config_file(CONFIG);
    let mut server = Server::start_with(&[("PLATTER_CONFIG", config.as_str())]);
    let c = admin(&server).await;

    let v = c.volume(json!({"size": 1, "volume_type": "SAS"})).await;
    let vid = id(&v);
    assert_eq!(host_of(&c, &vid).await, "platter@pool1#pool1");
    let (att, uri) = c.attach(&vid, "rw").await;
    qemu_io(
        &uri,
        &["write -P 0x5c 0 1M", "write -P 0xc5 1020M 4M", "flush"],
    );

    // Attached, it does not move; nor with `never` across pools.
    let retype = |policy: &'static str| {
        let c = c.clone();
        let vid = vid.clone();
        async move {
            c.post(
                &format!("/volumes/{vid}/action"),
                json!({"os-retype": {"new_type": "SSD", "migration_policy": policy}}),
            )
            .await
        }
    };
    let r = retype("on-demand").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    c.detach(&att).await;
    let r = retype("never").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    let r = retype("on-demand").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let moved = settled(&c, &vid).await;
    assert_eq!(moved["status"], "available", "{moved}");
    assert_eq!(moved["volume_type"], "SSD");
    assert_eq!(moved["os-vol-host-attr:host"], "platter@pool2#pool2");
    assert_eq!(moved["os-vol-mig-status-attr:migstat"], "success");
    assert_eq!(moved["migration_status"], "success");
    let (att, uri) = c.attach(&vid, "rw").await;
    qemu_io(
        &uri,
        &[
            "read -P 0x5c 0 1M",
            "read -P 0 1M 1019M",
            "read -P 0xc5 1020M 4M",
        ],
    );
    c.detach(&att).await;

    // An admin moves it back by host, keeping its type.
    let r = c
        .post(
            &format!("/volumes/{vid}/action"),
            json!({"os-migrate_volume": {"host": "platter@pool1#pool1", "force_host_copy": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let back = settled(&c, &vid).await;
    assert_eq!(back["status"], "available");
    assert_eq!(back["volume_type"], "SSD");
    assert_eq!(back["os-vol-host-attr:host"], "platter@pool1#pool1");
    let (att, uri) = c.attach(&vid, "rw").await;
    qemu_io(&uri, &["read -P 0x5c 0 1M", "read -P 0xc5 1020M 4M"]);
    c.detach(&att).await;

    // Refusals: same pool, unknown host, a volume with snapshots, members.
    let migrate = |host: &'static str| {
        let c = c.clone();
        let vid = vid.clone();
        async move {
            c.post(
                &format!("/volumes/{vid}/action"),
                json!({"os-migrate_volume": {"host": host}}),
            )
            .await
        }
    };
    assert_eq!(
        migrate("platter@pool1#pool1").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        migrate("platter@nowhere#nowhere").await.status,
        StatusCode::NOT_FOUND
    );
    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    c.wait_snapshot(r.body["snapshot"]["id"].as_str().unwrap(), "available")
        .await;
    assert_eq!(
        migrate("platter@pool2#pool2").await.status,
        StatusCode::BAD_REQUEST
    );
    let m = c.new_project_user(&server, "p", "u", "member").await;
    let mine = m.volume(json!({"size": 1, "volume_type": "SAS"})).await;
    let r = m
        .post(
            &format!("/volumes/{}/action", id(&mine)),
            json!({"os-migrate_volume": {"host": "platter@pool2#pool2"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The source devices are gone: pool2 holds nothing after the move back.
    server.terminate();
    let data = server.data_dir();
    let p2 = engine_devices(&data.join("p2"));
    assert!(p2.is_empty(), "{p2:?}");
}
