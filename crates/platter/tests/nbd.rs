//! The data path with independent clients: nbdinfo, qemu-img, qemu-io,
//! nbdcopy and fio against the NBD exports of attached volumes.

mod common;

use std::process::Command;
use std::time::Duration;

use common::nbd_client::NbdClient;
use common::{admin, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (is it installed?)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn ok(cmd: &str, args: &[&str]) -> String {
    let (success, text) = run(cmd, args);
    assert!(success, "{cmd} {args:?} failed:\n{text}");
    text
}

fn sha256(path: &std::path::Path) -> String {
    ok("sha256sum", &[path.to_str().unwrap()])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn nbdinfo_sees_every_capability() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let (_att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;
    assert!(
        uri.starts_with(&format!("nbd://127.0.0.1:{}/", server.nbd_port)),
        "{uri}"
    );
    let info: Value = serde_json::from_str(&ok("nbdinfo", &["--json", &uri])).unwrap();
    assert_eq!(info["protocol"], "newstyle-fixed");
    assert_eq!(info["structured"], true);
    let e = &info["exports"][0];
    assert_eq!(e["export-size"], 1u64 << 30);
    assert_eq!(e["contexts"], json!(["base:allocation"]));
    for cap in [
        "can_flush",
        "can_fua",
        "can_trim",
        "can_zero",
        "can_fast_zero",
        "can_multi_conn",
        "can_cache",
        "can_df",
    ] {
        assert_eq!(e[cap], true, "{cap}: {e}");
    }
    assert_eq!(e["is_read_only"], false);
    // Export names are secrets: listing shows none.
    let list = ok(
        "nbdinfo",
        &[
            "--list",
            "--json",
            &format!("nbd://127.0.0.1:{}", server.nbd_port),
        ],
    );
    assert!(!list.contains(uri.rsplit('/').next().unwrap()), "{list}");
    // An unknown name is refused.
    let (success, _) = run(
        "nbdinfo",
        &[&format!(
            "nbd://127.0.0.1:{}/{}",
            server.nbd_port,
            "0".repeat(64)
        )],
    );
    assert!(!success);
}

#[tokio::test]
async fn bytes_survive_detach_snapshot_clone_and_reattach() {
    let server = Server::start();
    let c = admin(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.raw");
    ok(
        "dd",
        &[
            "if=/dev/urandom",
            &format!("of={}", image.display()),
            "bs=1M",
            "count=48",
            "status=none",
        ],
    );
    // A hole in the middle of the image, to check sparse reads too.
    ok(
        "dd",
        &[
            "if=/dev/zero",
            &format!("of={}", image.display()),
            "bs=1M",
            "seek=16",
            "count=8",
            "conv=notrunc",
            "status=none",
        ],
    );

    let v = c.volume(json!({"size": 1, "name": "src"})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (att, uri) = c.attach(&vid, "rw").await;
    ok(
        "qemu-img",
        &[
            "convert",
            "-n",
            "-f",
            "raw",
            "-O",
            "raw",
            image.to_str().unwrap(),
            &uri,
        ],
    );
    c.detach(&att).await;
    assert_eq!(
        c.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
        "available"
    );
    let (success, _) = run("nbdinfo", &[&uri]);
    assert!(!success, "a detached volume is not exported");

    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    c.wait_snapshot(&sid, "available").await;
    let clone = c.volume(json!({"snapshot_id": sid, "name": "clone"})).await;
    let (_att2, uri2) = c.attach(clone["id"].as_str().unwrap(), "ro").await;
    let out = dir.path().join("out.raw");
    ok("nbdcopy", &[&uri2, out.to_str().unwrap()]);
    ok("truncate", &["-s", "48M", out.to_str().unwrap()]);
    assert_eq!(
        sha256(&out),
        sha256(&image),
        "the clone holds the image's bytes"
    );
    // The map shows the hole the image had.
    let map = ok("nbdinfo", &["--map", &uri2]);
    assert!(map.contains("hole,zero"), "{map}");
}

#[tokio::test]
async fn qemu_io_patterns_and_fio_verify() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let (_att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;
    let out = ok(
        "qemu-io",
        &[
            "-f",
            "raw",
            "-c",
            "write -P 0xa5 0 1M",
            "-c",
            "write -P 0x5a 1000 3000",
            "-c",
            "write -z 512K 64K",
            "-c",
            "flush",
            "-c",
            "read -P 0xa5 0 1000",
            "-c",
            "read -P 0x5a 1000 3000",
            "-c",
            "read -P 0xa5 4000 520288",
            "-c",
            "read -P 0 512K 64K",
            "-c",
            "read -P 0xa5 576K 448K",
            "-c",
            "discard 0 1M",
            "-c",
            "read -P 0 0 1M",
            &uri,
        ],
    );
    assert!(!out.contains("Pattern verification failed"), "{out}");
    assert!(!out.to_lowercase().contains("error"), "{out}");

    let fio = ok(
        "fio",
        &[
            "--name=verify",
            "--ioengine=nbd",
            &format!("--uri={uri}"),
            "--rw=randwrite",
            "--bs=4k",
            "--size=64M",
            "--iodepth=16",
            "--verify=crc32c",
            "--do_verify=1",
            // No verify state file in the working directory.
            "--verify_state_save=0",
            "--output-format=json",
        ],
    );
    let report: Value = serde_json::from_str(&fio[fio.find('{').unwrap()..]).unwrap();
    assert_eq!(report["jobs"][0]["error"], 0, "{fio}");
    assert!(
        report["jobs"][0]["read"]["io_bytes"].as_u64().unwrap() >= 64 << 20,
        "verify read everything back"
    );
}

#[tokio::test]
async fn read_only_attachments_refuse_writes() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (_att, uri) = c.attach(&vid, "ro").await;
    let info: Value = serde_json::from_str(&ok("nbdinfo", &["--json", &uri])).unwrap();
    assert_eq!(info["exports"][0]["is_read_only"], true);
    let mut client = NbdClient::connect(&uri).unwrap();
    assert_eq!(client.write(0, &[1u8; 4096]).unwrap(), 1, "EPERM");
    assert_eq!(client.read(0, 4096).unwrap(), Ok(vec![0u8; 4096]));

    // A read-only volume refuses read-write attachments.
    let v2 = c.volume(json!({"size": 1})).await;
    let v2id = v2["id"].as_str().unwrap().to_string();
    let r = c
        .post(
            &format!("/volumes/{v2id}/action"),
            json!({"os-update_readonly_flag": {"readonly": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let body =
        json!({"attachment": {"volume_uuid": v2id, "connector": {"host": "h"}, "mode": "rw"}});
    let r = c
        .call_mv("3.54", Method::POST, "/attachments", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn detaching_ends_the_export_and_its_connections() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let (att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;
    let mut client = NbdClient::connect(&uri).unwrap();
    assert_eq!(client.write(4096, &[7u8; 4096]).unwrap(), 0);
    assert_eq!(client.read(4096, 4096).unwrap(), Ok(vec![7u8; 4096]));
    c.detach(&att).await;
    // The open connection is closed; new ones are refused.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        client.read(0, 4096).is_err() || client.is_closed(),
        "the connection outlived its export"
    );
    assert!(NbdClient::connect(&uri).is_err());
}

#[tokio::test]
async fn hostile_bytes_close_only_their_own_connection() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let (_att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;
    let mut good = NbdClient::connect(&uri).unwrap();
    let mut bad = NbdClient::connect(&uri).unwrap();
    bad.send_raw(&[0xde, 0xad, 0xbe, 0xef].repeat(16)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(bad.is_closed(), "garbage ends that connection");
    // A write claiming more than the maximum payload is refused by closing.
    let mut greedy = NbdClient::connect(&uri).unwrap();
    let mut h = Vec::new();
    h.extend_from_slice(&0x2560_9513u32.to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(&1u16.to_be_bytes());
    h.extend_from_slice(&1u64.to_be_bytes());
    h.extend_from_slice(&0u64.to_be_bytes());
    h.extend_from_slice(&u32::MAX.to_be_bytes());
    greedy.send_raw(&h).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(greedy.is_closed());
    // Out of range is an error reply, not a closed connection.
    assert_eq!(good.read(1 << 30, 4096).unwrap(), Err(22), "EINVAL");
    assert_eq!(good.write(1 << 30, &[1u8; 512]).unwrap(), 28, "ENOSPC");
    // And the good connection is untouched.
    assert_eq!(good.write(0, &[3u8; 512]).unwrap(), 0);
    assert_eq!(good.flush().unwrap(), 0);
    assert_eq!(good.read(0, 512).unwrap(), Ok(vec![3u8; 512]));
    // A client that never finishes the handshake holds nothing up.
    let _silent = std::net::TcpStream::connect(format!("127.0.0.1:{}", server.nbd_port)).unwrap();
    assert!(NbdClient::connect(&uri).is_ok());
}

#[tokio::test]
async fn qos_holds_an_essd2_volume_to_its_iops() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = c
        .post(
            "/volumes",
            json!({"volume": {"size": 1, "volume_type": "ESSD2", "iops": 1000}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    // Cinder's view has no iops (a Huawei extra): EVS's view shows it.
    assert!(r.body["volume"].get("iops").is_none(), "{}", r.body);
    let vid = r.body["volume"]["id"].as_str().unwrap().to_string();
    let evs_volume = |c: common::Client, vid: String| async move {
        let url = format!("{}/v2/{}/cloudvolumes/{vid}", c.volume_url, c.project_id);
        common::raw(&c.http, reqwest::Method::GET, &url, Some(&c.token), None)
            .await
            .body["volume"]
            .clone()
    };
    assert_eq!(
        evs_volume(c.clone(), vid.clone()).await["iops"]["total_val"],
        1000
    );
    c.wait_volume(&vid, "available").await;
    let (_att, uri) = c.attach(&vid, "rw").await;
    let measure = |uri: &str| {
        let fio = ok(
            "fio",
            &[
                "--name=qos",
                "--ioengine=nbd",
                &format!("--uri={uri}"),
                "--rw=randread",
                "--bs=4k",
                "--size=64M",
                "--iodepth=16",
                "--time_based",
                "--runtime=4",
                "--ramp_time=1",
                "--output-format=json",
            ],
        );
        let report: Value = serde_json::from_str(&fio[fio.find('{').unwrap()..]).unwrap();
        report["jobs"][0]["read"]["iops"].as_f64().unwrap()
    };
    let iops = measure(&uri);
    assert!(
        (900.0..=1100.0).contains(&iops),
        "1000 IOPS ± 10%, measured {iops}"
    );

    // EVS's QoS change applies to the live export, without reattaching.
    let url = format!(
        "{}/v5/{}/cloudvolumes/{vid}/qos",
        c.volume_url, c.project_id
    );
    let body = json!({"qos_modify": {"iops": 2000}}).to_string();
    let r = common::raw(&c.http, Method::PUT, &url, Some(&c.token), Some(&body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = format!(
        "{}/v1/{}/jobs/{}",
        c.volume_url,
        c.project_id,
        r.body["job_id"].as_str().unwrap()
    );
    for _ in 0..100 {
        let j = common::raw(&c.http, Method::GET, &job, Some(&c.token), None).await;
        if j.body["status"] == "SUCCESS" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        evs_volume(c.clone(), vid.clone()).await["iops"]["total_val"],
        2000
    );
    let iops = measure(&uri);
    assert!(
        (1800.0..=2200.0).contains(&iops),
        "2000 IOPS ± 10% after the change, measured {iops}"
    );

    // The rules of provisioned performance.
    for (body, fragment) in [
        (
            json!({"size": 1, "volume_type": "ESSD2"}),
            "ESSD2 type must input iops",
        ),
        (
            json!({"size": 1, "volume_type": "GPSSD2", "iops": 5000}),
            "GPSSD2 type must input iops and throughput",
        ),
        (
            json!({"size": 1, "volume_type": "SSD", "iops": 5000}),
            "only ESSD2 and GPSSD2",
        ),
        (
            json!({"size": 1, "volume_type": "GPSSD2", "iops": 5000, "throughput": 5}),
            "throughput must between",
        ),
    ] {
        let r = c.post("/volumes", json!({"volume": body})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.fault().1.contains(fragment), "{}", r.body);
    }
}

#[tokio::test]
async fn legacy_actions_attach_and_detach() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let action = |body: Value| {
        let c = c.clone();
        let vid = vid.clone();
        async move { c.post(&format!("/volumes/{vid}/action"), body).await }
    };
    let status = |c: common::Client, vid: String| async move {
        c.get(&format!("/volumes/{vid}")).await.body["volume"]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        action(json!({"os-reserve": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(status(c.clone(), vid.clone()).await, "reserved");
    assert_eq!(
        action(json!({"os-unreserve": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(status(c.clone(), vid.clone()).await, "available");

    assert_eq!(
        action(json!({"os-reserve": {}})).await.status,
        StatusCode::ACCEPTED
    );
    let r = action(
        json!({"os-initialize_connection": {"connector": {"host": "h9", "ip": "127.0.0.1"}}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ci = &r.body["connection_info"];
    assert_eq!(ci["driver_volume_type"], "nbd");
    let uri = ci["data"]["uri"].as_str().unwrap().to_string();
    assert_eq!(status(c.clone(), vid.clone()).await, "attaching");
    let mut client = NbdClient::connect(&uri).unwrap();
    assert_eq!(client.write(0, b"legacy").unwrap(), 0);
    let r = action(json!({"os-attach": {"instance_uuid": "0c0d2a94-8c8e-4f3c-a3ad-2f0a5ab2cc41", "mountpoint": "/dev/vdb", "host_name": "h9"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let vol = c.get(&format!("/volumes/{vid}")).await.body["volume"].clone();
    assert_eq!(vol["status"], "in-use");
    assert!(vol.get("attach_status").is_none(), "not in Cinder's view");
    assert_eq!(vol["attachments"][0]["device"], "/dev/vdb");
    assert_eq!(
        vol["attachments"][0]["server_id"],
        "0c0d2a94-8c8e-4f3c-a3ad-2f0a5ab2cc41"
    );
    // In use: not deletable.
    assert_eq!(
        c.delete(&format!("/volumes/{vid}")).await.status,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        action(json!({"os-begin_detaching": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(status(c.clone(), vid.clone()).await, "detaching");
    assert_eq!(
        action(json!({"os-roll_detaching": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(status(c.clone(), vid.clone()).await, "in-use");
    assert_eq!(
        action(json!({"os-begin_detaching": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        action(json!({"os-detach": {}})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(status(c.clone(), vid.clone()).await, "available");
    assert!(NbdClient::connect(&uri).is_err(), "detach ended the export");
    assert_eq!(
        action(json!({"os-terminate_connection": {"connector": {"host": "h9"}}}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        c.delete(&format!("/volumes/{vid}")).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn attach_and_delete_race_without_corrupting_state() {
    let server = Server::start();
    let c = admin(&server).await;
    for _ in 0..5 {
        let v = c.volume(json!({"size": 1})).await;
        let vid = v["id"].as_str().unwrap().to_string();
        let body = json!({"attachment": {"volume_uuid": vid, "connector": {"host": "h"}}});
        let path = format!("/volumes/{vid}");
        let (a, d) = tokio::join!(
            c.call_mv("3.54", Method::POST, "/attachments", Some(body)),
            c.delete(&path)
        );
        match (a.status, d.status) {
            (StatusCode::OK, StatusCode::BAD_REQUEST) => {
                // The attachment won: the volume is attaching and whole.
                assert_eq!(
                    c.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
                    "attaching"
                );
            }
            (StatusCode::BAD_REQUEST, StatusCode::ACCEPTED)
            | (StatusCode::NOT_FOUND, StatusCode::ACCEPTED) => {
                c.wait_volume(&vid, "deleted").await;
            }
            other => panic!("unexpected outcome {other:?}: {} / {}", a.body, d.body),
        }
    }
    // Multiattach volumes take several attachments; others only one.
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    c.attach(&vid, "rw").await;
    let body = json!({"attachment": {"volume_uuid": vid, "connector": {"host": "h2"}}});
    let r = c
        .call_mv("3.54", Method::POST, "/attachments", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let m = c.volume(json!({"size": 1, "multiattach": true})).await;
    let mid = m["id"].as_str().unwrap().to_string();
    let (a1, _) = c.attach(&mid, "rw").await;
    let (a2, _) = c.attach(&mid, "ro").await;
    let r = c
        .call_mv(
            "3.54",
            Method::GET,
            &format!("/attachments?volume_id={mid}"),
            None,
        )
        .await;
    assert_eq!(r.body["attachments"].as_array().unwrap().len(), 2);
    c.detach(&a1).await;
    assert_eq!(
        c.get(&format!("/volumes/{mid}")).await.body["volume"]["status"],
        "in-use"
    );
    c.detach(&a2).await;
    assert_eq!(
        c.get(&format!("/volumes/{mid}")).await.body["volume"]["status"],
        "available"
    );
    // Below 3.27 there is no attachments API.
    let r = c.call_mv("3.26", Method::GET, "/attachments", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn volume_import_and_export_round_trip_raw_and_qcow2() {
    let server = Server::start();
    let c = admin(&server).await;
    c.volume(json!({"size": 1, "name": "imported"})).await;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("in.raw");
    ok(
        "dd",
        &[
            "if=/dev/urandom",
            &format!("of={}", image.display()),
            "bs=1M",
            "count=20",
            "status=none",
        ],
    );
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_platter"))
            .args(args)
            .env("OS_AUTH_URL", format!("{}/v3", server.identity_url()))
            .env("OS_USERNAME", "admin")
            .env("OS_PASSWORD", common::ADMIN_PASSWORD)
            .env("OS_PROJECT_NAME", "admin")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "platter {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["volume", "import", image.to_str().unwrap(), "imported"]);
    let raw_out = dir.path().join("out.raw");
    cli(&["volume", "export", "imported", raw_out.to_str().unwrap()]);
    ok("truncate", &["-s", "20M", raw_out.to_str().unwrap()]);
    assert_eq!(sha256(&raw_out), sha256(&image));
    // The volume is detached again after each copy.
    let r = c.get("/volumes/detail?name=imported").await;
    assert_eq!(r.body["volumes"][0]["status"], "available");
    assert_eq!(r.body["volumes"][0]["attachments"], json!([]));

    // qcow2 in and out, through qemu-img.
    let qcow = dir.path().join("in.qcow2");
    ok(
        "qemu-img",
        &[
            "convert",
            "-O",
            "qcow2",
            image.to_str().unwrap(),
            qcow.to_str().unwrap(),
        ],
    );
    c.volume(json!({"size": 1, "name": "q"})).await;
    cli(&["volume", "import", qcow.to_str().unwrap(), "q"]);
    let qcow_out = dir.path().join("out.qcow2");
    cli(&[
        "volume",
        "export",
        "q",
        qcow_out.to_str().unwrap(),
        "--format",
        "qcow2",
    ]);
    let cmp = ok(
        "qemu-img",
        &[
            "compare",
            image.to_str().unwrap(),
            qcow_out.to_str().unwrap(),
        ],
    );
    assert!(cmp.contains("Images are identical"), "{cmp}");
}

/// EVS snapshot rollback, end to end: bytes written by qemu-io over NBD,
/// a snapshot through EVS, an overwrite, detach, rollback through EVS, and
/// the original bytes read back over NBD.
#[tokio::test]
async fn evs_rollback_brings_back_the_bytes_written_over_nbd() {
    let server = Server::start();
    let c = admin(&server).await;
    let evs = |v: &str, path: &str| format!("{}/{v}/{}{path}", c.volume_url, c.project_id);
    let call = |method: Method, url: String, body: Option<Value>| {
        let c = c.clone();
        async move {
            let text = body.map(|b| b.to_string());
            common::raw(&c.http, method, &url, Some(&c.token), text.as_deref()).await
        }
    };
    let body = json!({"volume": {"availability_zone": "nova", "volume_type": "SSD", "size": 10, "name": "rb"}});
    let r = call(Method::POST, evs("v2.1", "/cloudvolumes"), Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let vid = r.body["volume_ids"][0].as_str().unwrap().to_string();
    c.wait_volume(&vid, "available").await;

    let qemu_io = |uri: &str, cmds: &[&str]| {
        let mut args = vec!["-f", "raw"];
        for cmd in cmds {
            args.extend(["-c", cmd]);
        }
        args.push(uri);
        let out = ok("qemu-io", &args);
        assert!(!out.contains("Pattern verification failed"), "{out}");
        assert!(!out.to_lowercase().contains("error"), "{out}");
    };
    let (att, uri) = c.attach(&vid, "rw").await;
    qemu_io(
        &uri,
        &["write -P 0xa5 0 1M", "write -P 0x3c 5G 64K", "flush"],
    );

    // A snapshot of the attached volume (force), then an overwrite.
    let body = json!({"snapshot": {"volume_id": vid, "name": "before", "force": true}});
    let r = call(Method::POST, evs("v2", "/cloudsnapshots"), Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    c.wait_snapshot(&sid, "available").await;
    qemu_io(
        &uri,
        &[
            "write -P 0xff 0 1M",
            "write -P 0x11 8G 4K",
            "flush",
            "read -P 0xff 0 1M",
        ],
    );

    // Not while attached.
    let body = json!({"rollback": {"volume_id": vid}});
    let path = format!("/cloudsnapshots/{sid}/rollback");
    let r = call(Method::POST, evs("v2", &path), Some(body.clone())).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("EVS.1031")),
        "{}",
        r.body
    );
    c.detach(&att).await;
    c.wait_volume(&vid, "available").await;
    let r = call(Method::POST, evs("v2", &path), Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body, json!({"rollback": {"volume_id": vid}}));
    c.wait_volume(&vid, "available").await;

    let (_att, uri) = c.attach(&vid, "rw").await;
    qemu_io(
        &uri,
        &[
            "read -P 0xa5 0 1M",
            "read -P 0x3c 5G 64K",
            "read -P 0 8G 4K",
        ],
    );
}

/// Random 4 KiB reads (or writes) per second fio measures on `uri`.
fn fio_iops(uri: &str, rw: &str) -> f64 {
    let fio = ok(
        "fio",
        &[
            "--name=qos",
            "--ioengine=nbd",
            &format!("--uri={uri}"),
            &format!("--rw={rw}"),
            "--bs=4k",
            "--size=64M",
            "--iodepth=16",
            "--time_based",
            "--runtime=3",
            "--ramp_time=1",
            "--output-format=json",
        ],
    );
    let report: Value = serde_json::from_str(&fio[fio.find('{').unwrap()..]).unwrap();
    let dir = if rw.contains("read") { "read" } else { "write" };
    report["jobs"][0][dir]["iops"].as_f64().unwrap()
}

#[tokio::test]
async fn cinder_qos_specs_hold_a_volume_to_their_limits_and_change_live() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = c
        .post(
            "/qos-specs",
            json!({"qos_specs": {"name": "gold", "consumer": "front-end", "total_iops_sec": "500"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["qos_specs"]["specs"],
        json!({"total_iops_sec": "500"})
    );
    let qid = r.body["qos_specs"]["id"].as_str().unwrap().to_string();
    let r = c
        .post("/types", json!({"volume_type": {"name": "gold"}}))
        .await;
    let tid = r.body["volume_type"]["id"].as_str().unwrap().to_string();
    let r = c
        .get(&format!("/qos-specs/{qid}/associate?vol_type_id={tid}"))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        c.get(&format!("/types/{tid}")).await.body["volume_type"]["qos_specs_id"],
        qid.as_str()
    );
    // In use, the specs are not deleted without force.
    let r = c.delete(&format!("/qos-specs/{qid}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    let v = c.volume(json!({"size": 1, "volume_type": "gold"})).await;
    let (_att, uri) = c.attach(v["id"].as_str().unwrap(), "rw").await;
    let iops = fio_iops(&uri, "randread");
    assert!(
        (450.0..=550.0).contains(&iops),
        "500 IOPS ± 10%, measured {iops}"
    );

    // A new value reaches the live export, without reattaching; a write
    // limit holds writes and leaves reads to the total.
    let r = c
        .put(
            &format!("/qos-specs/{qid}"),
            json!({"qos_specs": {"total_iops_sec": "1000", "write_iops_sec": "300"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"qos_specs": {"total_iops_sec": "1000", "write_iops_sec": "300"}})
    );
    let iops = fio_iops(&uri, "randread");
    assert!(
        (900.0..=1100.0).contains(&iops),
        "1000 IOPS ± 10%, measured {iops}"
    );
    let iops = fio_iops(&uri, "randwrite");
    assert!(
        (270.0..=330.0).contains(&iops),
        "300 write IOPS ± 10%, measured {iops}"
    );

    // Disassociated, the volume is unlimited again.
    let r = c.get(&format!("/qos-specs/{qid}/disassociate_all")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c.get(&format!("/qos-specs/{qid}/associations")).await;
    assert_eq!(r.body, json!({"qos_associations": []}));
    let iops = fio_iops(&uri, "randread");
    assert!(iops > 1500.0, "unlimited, measured {iops}");

    // Bad input is the caller's error.
    let r = c
        .post(
            "/qos-specs",
            json!({"qos_specs": {"name": "x", "consumer": "sideways"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .post(
            "/qos-specs",
            json!({"qos_specs": {"name": "y", "total_iops_sec": "many"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .put(
            &format!("/qos-specs/{qid}/delete_keys"),
            json!({"keys": ["nope"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.delete(&format!("/qos-specs/{qid}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        c.get(&format!("/qos-specs/{qid}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cinder_revert_restores_the_latest_snapshot_and_refuses_older_ones() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (att, uri) = c.attach(&vid, "rw").await;
    ok("qemu-io", &["-f", "raw", "-c", "write -P 0xa1 0 1M", &uri]);
    c.detach(&att).await;
    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    let s1 = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    c.wait_snapshot(&s1, "available").await;
    let (att, uri) = c.attach(&vid, "rw").await;
    ok("qemu-io", &["-f", "raw", "-c", "write -P 0xb2 0 1M", &uri]);
    c.detach(&att).await;

    let revert = |snap: String| {
        let c = c.clone();
        let vid = vid.clone();
        async move {
            c.call_mv(
                "3.40",
                Method::POST,
                &format!("/volumes/{vid}/action"),
                Some(json!({"revert": {"snapshot_id": snap}})),
            )
            .await
        }
    };
    // Before 3.40 there is no such action.
    let r = c
        .post(
            &format!("/volumes/{vid}/action"),
            json!({"revert": {"snapshot_id": s1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = revert(s1.clone()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    c.wait_volume(&vid, "available").await;
    let (att, uri) = c.attach(&vid, "rw").await;
    let out = ok("qemu-io", &["-f", "raw", "-c", "read -P 0xa1 0 1M", &uri]);
    assert!(!out.contains("Pattern verification failed"), "{out}");
    c.detach(&att).await;

    // A newer snapshot makes s1 an older one: refused.
    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    c.wait_snapshot(r.body["snapshot"]["id"].as_str().unwrap(), "available")
        .await;
    let r = revert(s1).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(
        r.body["badRequest"]["message"]
            .as_str()
            .unwrap()
            .contains("not the latest"),
        "{:?}",
        r.body
    );

    // The filters the lists take (3.33).
    let r = c
        .call_mv(
            "3.33",
            Method::GET,
            "/resource_filters?resource=snapshot",
            None,
        )
        .await;
    assert_eq!(
        r.body,
        json!({"resource_filters": [{"resource": "snapshot", "filters": ["name", "status", "volume_id", "project_id"]}]})
    );
}

#[tokio::test]
async fn an_in_use_extend_grows_the_live_export_without_reconnecting() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let (_att, uri) = c.attach(&vid, "rw").await;
    let mut conn = NbdClient::connect(&uri).unwrap();
    let past = 1 << 30;
    assert_eq!(
        conn.write(past, &[7u8; 4096]).unwrap(),
        28,
        "ENOSPC past the end"
    );

    // Before 3.42 an attached volume does not grow.
    let extend = json!({"os-extend": {"new_size": 2}});
    let r = c
        .post(&format!("/volumes/{vid}/action"), extend.clone())
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = c
        .call_mv(
            "3.42",
            Method::POST,
            &format!("/volumes/{vid}/action"),
            Some(extend),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let shown = c.wait_volume(&vid, "in-use").await;
    for _ in 0..100 {
        if c.get(&format!("/volumes/{vid}")).await.body["volume"]["size"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        c.get(&format!("/volumes/{vid}")).await.body["volume"]["size"],
        2,
        "{shown}"
    );

    // The same connection now reaches the new GiB.
    assert_eq!(conn.write(past, &[7u8; 4096]).unwrap(), 0);
    assert_eq!(conn.read(past, 4096).unwrap(), Ok(vec![7u8; 4096]));
    assert_eq!(
        conn.write(2 << 30, &[7u8; 512]).unwrap(),
        28,
        "still bounded"
    );
}

/// Nova's volume swap with the legacy actions: the new volume reserved and
/// connected, then `os-migrate_volume_completion` on the old one moves the
/// attachment (instance, host, mountpoint) to the new volume, whose export
/// serves its own bytes; the old one is detached and its export gone.
#[tokio::test]
async fn a_nova_swap_ends_with_migrate_volume_completion() {
    const SERVER: &str = "6b1f2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    let server = Server::start();
    let c = admin(&server).await;
    let old = c.volume(json!({"size": 1})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let new = c.volume(json!({"size": 1})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let action = |vid: &str, body: Value| {
        let (c, vid) = (c.clone(), vid.to_string());
        async move { c.post(&format!("/volumes/{vid}/action"), body).await }
    };
    let connect = |vid: &str| {
        let action = &action;
        let vid = vid.to_string();
        async move {
            let r = action(&vid, json!({"os-reserve": {}})).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
            let connector = json!({"host": "compute-1", "ip": "127.0.0.1"});
            let r = action(
                &vid,
                json!({"os-initialize_connection": {"connector": connector}}),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["connection_info"]["data"]["uri"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let old_uri = connect(&old).await;
    let attach = json!({"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb", "host_name": "compute-1"}});
    assert_eq!(action(&old, attach).await.status, StatusCode::ACCEPTED);
    let new_uri = connect(&new).await;
    let mut client = NbdClient::connect(&new_uri).unwrap();
    assert_eq!(client.write(4096, b"swapped in").unwrap(), 0);
    drop(client);

    // Bad requests change nothing.
    let r = action(&old, json!({"os-migrate_volume_completion": {}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let missing = json!({"os-migrate_volume_completion": {"new_volume": "4f0c1c5e-0000-4000-8000-000000000000"}});
    assert_eq!(action(&old, missing).await.status, StatusCode::NOT_FOUND);
    // Nova reports an error: the volume to keep is still named, nothing moves.
    let r = action(
        &old,
        json!({"os-migrate_volume_completion": {"new_volume": new, "error": true}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"save_volume_id": new}));
    let shown = |vid: &str| {
        let (c, vid) = (c.clone(), vid.to_string());
        async move { c.get(&format!("/volumes/{vid}")).await.body["volume"].clone() }
    };
    assert_eq!(shown(&old).await["status"], "in-use");

    let r = action(
        &old,
        json!({"os-migrate_volume_completion": {"new_volume": new, "error": false}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"save_volume_id": new}));
    let (o, n) = (shown(&old).await, shown(&new).await);
    assert_eq!(o["status"], "available", "{o}");
    assert_eq!(o["attachments"], json!([]));
    assert_eq!(n["status"], "in-use", "{n}");
    let a = &n["attachments"][0];
    assert_eq!(
        (&a["server_id"], &a["device"], &a["host_name"]),
        (&json!(SERVER), &json!("/dev/vdb"), &json!("compute-1"))
    );
    // The new volume's export still serves its bytes; the old one's is gone.
    let mut client = NbdClient::connect(&new_uri).unwrap();
    let got = client.read(4096, 10).unwrap().unwrap();
    assert_eq!(got, b"swapped in");
    assert!(NbdClient::connect(&old_uri).is_err());
}
