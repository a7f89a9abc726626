//! Cinder manage and unmanage through the real server: a volume (or a
//! snapshot) leaves Platter with its device left in the pool, is listed as
//! manageable, and comes back under a new id with the same bytes, its
//! quota released and counted again; and every refusal in Cinder's words.

mod common;

use std::collections::BTreeSet;

use common::nbd_client::NbdClient;
use common::{admin, Client, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MIB: u64 = 1 << 20;

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| seed ^ (i % 251) as u8).collect()
}

/// Writes `seed`'s pattern at the start and at 512 MiB over NBD.
async fn write_pattern(c: &Client, volume_id: &str, seed: u8) {
    let (att, uri) = c.attach(volume_id, "rw").await;
    let mut nbd = NbdClient::connect(&uri).unwrap();
    for offset in [0, 512 * MIB] {
        assert_eq!(nbd.write(offset, &pattern(seed, 64 * 1024)).unwrap(), 0);
    }
    assert_eq!(nbd.flush().unwrap(), 0);
    drop(nbd);
    c.detach(&att).await;
}

/// Reads back what [`write_pattern`] wrote.
async fn read_pattern(c: &Client, volume_id: &str) -> Vec<Vec<u8>> {
    let (att, uri) = c.attach(volume_id, "ro").await;
    let mut nbd = NbdClient::connect(&uri).unwrap();
    let mut out = Vec::new();
    for offset in [0, 512 * MIB] {
        out.push(nbd.read(offset, 64 * 1024).unwrap().expect("read"));
    }
    drop(nbd);
    c.detach(&att).await;
    out
}

/// `(volumes, snapshots, gigabytes)` in use by the caller's project.
async fn usage(c: &Client) -> (i64, i64, i64) {
    let r = c
        .get(&format!("/os-quota-sets/{}?usage=true", c.project_id))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let q = &r.body["quota_set"];
    let n = |k: &str| q[k]["in_use"].as_i64().unwrap();
    (n("volumes"), n("snapshots"), n("gigabytes"))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

async fn host_of(c: &Client, volume_id: &str) -> String {
    let r = c.get(&format!("/volumes/{volume_id}")).await;
    r.body["volume"]["os-vol-host-attr:host"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn manageable(c: &Client, what: &str, host: &str) -> Vec<Value> {
    let r = c
        .call_mv(
            "3.8",
            Method::GET,
            &format!(
                "/manageable_{what}/detail?host={}",
                host.replace('#', "%23")
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body[format!("manageable-{what}")]
        .as_array()
        .unwrap()
        .clone()
}

fn entry<'a>(list: &'a [Value], source_name: &str) -> Option<&'a Value> {
    list.iter()
        .find(|e| e["reference"]["source-name"] == source_name)
}

async fn unmanage(c: &Client, what: &str, id: &str) -> common::Reply {
    c.post(&format!("/{what}/{id}/action"), json!({"os-unmanage": {}}))
        .await
}

#[tokio::test]
async fn an_unmanaged_volume_is_managed_again_with_its_bytes_and_quota() {
    let server = Server::start();
    let adm = admin(&server).await;
    let v = adm.volume(json!({"size": 1, "name": "original"})).await;
    let old = v["id"].as_str().unwrap().to_string();
    write_pattern(&adm, &old, 7).await;
    let host = host_of(&adm, &old).await;
    assert_eq!(host, "platter@pool#pool");
    assert_eq!(usage(&adm).await, (1, 0, 1));

    let r = unmanage(&adm, "volumes", &old).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body, Value::Null, "202 without a body");
    assert_eq!(
        adm.get(&format!("/volumes/{old}")).await.status,
        StatusCode::NOT_FOUND
    );
    let all = adm.get("/volumes/detail?all_tenants=1").await;
    assert!(!all.body.to_string().contains(&old));
    assert_eq!(usage(&adm).await, (0, 0, 0), "the quota is released");

    // The device stays in the pool, safe to manage.
    let list = manageable(&adm, "volumes", &host).await;
    let e = entry(&list, &format!("volume-{old}")).expect("listed");
    assert_eq!(
        *e,
        json!({"reference": {"source-name": format!("volume-{old}")}, "size": 1,
               "safe_to_manage": true, "reason_not_safe": null, "cinder_id": null,
               "extra_info": null})
    );
    let summary = adm
        .call_mv(
            "3.8",
            Method::GET,
            &format!("/manageable_volumes?host={}", host.replace('#', "%23")),
            None,
        )
        .await;
    assert_eq!(
        summary.body["manageable-volumes"][0],
        json!({"reference": {"source-name": format!("volume-{old}")}, "size": 1, "safe_to_manage": true})
    );

    let r = adm
        .post(
            "/os-volume-manage",
            json!({"volume": {"host": host, "ref": {"source-name": format!("volume-{old}")},
                   "name": "adopted", "description": "came back", "bootable": true,
                   "metadata": {"k": "v"}, "availability_zone": "nova"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let m = &r.body["volume"];
    let new = m["id"].as_str().unwrap().to_string();
    assert_ne!(new, old, "a new id");
    assert_eq!(m["name"], "adopted");
    assert_eq!(m["size"], 1);
    assert_eq!(m["status"], "creating");
    // Upstream's v2 view, whatever the microversion.
    let expected: BTreeSet<String> = [
        "attachments",
        "availability_zone",
        "bootable",
        "consistencygroup_id",
        "created_at",
        "description",
        "encrypted",
        "id",
        "links",
        "metadata",
        "migration_status",
        "multiattach",
        "name",
        "replication_status",
        "size",
        "snapshot_id",
        "source_volid",
        "status",
        "updated_at",
        "user_id",
        "volume_type",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys(m), expected);
    let shown = adm.wait_volume(&new, "available").await;
    assert_eq!(shown["os-vol-host-attr:host"], host.as_str());
    assert_eq!(shown["bootable"], "true");
    assert_eq!(shown["description"], "came back");
    assert_eq!(shown["metadata"], json!({"k": "v"}));
    assert_eq!(shown["volume_type"], v["volume_type"]);
    assert_eq!(usage(&adm).await, (1, 0, 1), "the quota is counted again");

    // The bytes written before unmanaging are there.
    assert_eq!(
        read_pattern(&adm, &new).await,
        vec![pattern(7, 64 * 1024); 2]
    );

    // Listed now under its new id, and not safe.
    let list = manageable(&adm, "volumes", &host).await;
    assert!(entry(&list, &format!("volume-{old}")).is_none());
    let e = entry(&list, &format!("volume-{new}")).expect("listed");
    assert_eq!(e["safe_to_manage"], false);
    assert_eq!(e["reason_not_safe"], "already managed");
    assert_eq!(e["cinder_id"], new.as_str());

    // A managed volume is a volume like any other.
    let r = adm.delete(&format!("/volumes/{new}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    adm.wait_volume(&new, "deleted").await;
    assert!(manageable(&adm, "volumes", &host).await.is_empty());
    assert_eq!(usage(&adm).await, (0, 0, 0));
}

#[tokio::test]
async fn manageable_volumes_by_source_id_at_3_8_and_a_manage_in_flight() {
    // Slow jobs: the manage below is still adopting its device when the
    // second one and the list come.
    let server = Server::start_with(&[("PLATTER_TEST_JOB_DELAY_MS", "1500")]);
    let adm = admin(&server).await;
    let v = adm.volume(json!({"size": 2})).await;
    let old = v["id"].as_str().unwrap().to_string();
    let host = host_of(&adm, &old).await;
    assert_eq!(
        unmanage(&adm, "volumes", &old).await.status,
        StatusCode::ACCEPTED
    );

    let body = json!({"volume": {"host": host, "ref": {"source-id": old}}});
    let r = adm
        .call_mv(
            "3.8",
            Method::POST,
            "/manageable_volumes",
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let new = r.body["volume"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["volume"]["size"], 2);
    assert_eq!(r.body["volume"]["name"], Value::Null);

    // Claimed while its job runs: listed as being managed, and a second
    // manage is refused.
    let list = manageable(&adm, "volumes", &host).await;
    let e = entry(&list, &format!("volume-{old}")).expect("listed");
    assert_eq!(e["safe_to_manage"], false);
    assert_eq!(e["reason_not_safe"], "already being managed");
    assert_eq!(e["cinder_id"], new.as_str());
    let r = adm.post("/os-volume-manage", body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let (fault, msg) = r.fault();
    assert_eq!(fault, "badRequest");
    assert!(msg.contains("already being managed"), "{msg}");

    adm.wait_volume(&new, "available").await;
    // Adopted: the old name is gone.
    let r = adm.post("/os-volume-manage", body).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(usage(&adm).await, (1, 0, 2));

    // Below 3.8 the new collection does not exist.
    let r = adm
        .call_mv(
            "3.7",
            Method::GET,
            &format!("/manageable_volumes?host={}", host.replace('#', "%23")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn refusals_are_cinders() {
    let server = Server::start();
    let adm = admin(&server).await;
    let member = adm
        .new_project_user(&server, "tenant", "alice", "member")
        .await;
    let v = adm.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let host = host_of(&adm, &vid).await;
    let mine = member.volume(json!({"size": 1})).await;
    let mine = mine["id"].as_str().unwrap().to_string();

    let bad = |r: &common::Reply, status: StatusCode, text: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        let (_, msg) = r.fault();
        assert!(msg.contains(text), "{msg:?} lacks {text:?}");
    };

    // Admin only.
    let r = unmanage(&member, "volumes", &mine).await;
    bad(
        &r,
        StatusCode::FORBIDDEN,
        "Policy doesn't allow volume_extension:volume_unmanage to be performed.",
    );
    let r = member
        .post(
            "/os-volume-manage",
            json!({"volume": {"host": host, "ref": {"source-name": "volume-x"}}}),
        )
        .await;
    bad(
        &r,
        StatusCode::FORBIDDEN,
        "Policy doesn't allow volume_extension:volume_manage to be performed.",
    );
    let r = member
        .call_mv(
            "3.8",
            Method::GET,
            &format!("/manageable_volumes?host={}", host.replace('#', "%23")),
            None,
        )
        .await;
    bad(
        &r,
        StatusCode::FORBIDDEN,
        "volume_extension:list_manageable",
    );

    // Unmanage: not found, attached, with snapshots, busy.
    let r = unmanage(&adm, "volumes", "6a7bd0b9-0000-4a9a-9a9f-3b1f9e3e0a11").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (att, _) = adm.attach(&vid, "rw").await;
    let r = unmanage(&adm, "volumes", &vid).await;
    bad(&r, StatusCode::BAD_REQUEST, "Invalid volume: ");
    adm.detach(&att).await;
    let r = adm
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    adm.wait_snapshot(&sid, "available").await;
    let r = unmanage(&adm, "volumes", &vid).await;
    bad(&r, StatusCode::BAD_REQUEST, "dependent snapshots");
    let r = adm
        .post(
            &format!("/volumes/{vid}/action"),
            json!({"os-reset_status": {"status": "extending"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = unmanage(&adm, "snapshots", &sid).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = unmanage(&adm, "volumes", &vid).await;
    bad(
        &r,
        StatusCode::BAD_REQUEST,
        "Invalid volume: Volume status must be available or error to unmanage, but current status is: extending.",
    );
    let r = adm
        .post(
            &format!("/volumes/{vid}/action"),
            json!({"os-unmanage": {"force": true}}),
        )
        .await;
    bad(&r, StatusCode::BAD_REQUEST, "Additional properties");
    assert_eq!(usage(&adm).await, (1, 0, 1), "nothing was unmanaged");

    // Manage: a tracked device, none, a bad reference, an unknown or
    // missing host, a type of another pool.
    let manage = |body: Value| {
        let adm = adm.clone();
        async move {
            adm.post("/os-volume-manage", json!({ "volume": body }))
                .await
        }
    };
    let r = manage(json!({"host": host, "ref": {"source-name": format!("volume-{mine}")}})).await;
    bad(
        &r,
        StatusCode::BAD_REQUEST,
        &format!("Unable to manage existing volume. Volume {mine} already managed"),
    );
    let r = manage(json!({"host": host, "ref": {"source-name": "volume-nothing"}})).await;
    bad(
        &r,
        StatusCode::NOT_FOUND,
        "Manage existing volume failed due to invalid backend reference",
    );
    let r = manage(json!({"host": host, "ref": {"source-name": "lvol0"}})).await;
    bad(
        &r,
        StatusCode::BAD_REQUEST,
        "Manage existing volume failed due to invalid backend reference",
    );
    let r = manage(json!({"host": "nowhere@lvm#x", "ref": {"source-id": mine}})).await;
    bad(
        &r,
        StatusCode::BAD_REQUEST,
        "Service 'nowhere@lvm#x' not found",
    );
    let r = manage(json!({"ref": {"source-id": mine}})).await;
    bad(&r, StatusCode::BAD_REQUEST, "Host field is missing.");
    let r = manage(json!({"host": host})).await;
    bad(&r, StatusCode::BAD_REQUEST, "'ref' is a required property");
    let r = manage(json!({"host": host, "ref": {"source-id": mine}, "volume_type": "nope"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Over quota: the device stays where it was, safe to manage.
    let r = adm.post("/volumes", json!({"volume": {"size": 1}})).await;
    let spare = r.body["volume"]["id"].as_str().unwrap().to_string();
    adm.wait_volume(&spare, "available").await;
    assert_eq!(
        unmanage(&adm, "volumes", &spare).await.status,
        StatusCode::ACCEPTED
    );
    let r = adm
        .put(
            &format!("/os-quota-sets/{}", adm.project_id),
            json!({"quota_set": {"volumes": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = manage(json!({"host": host, "ref": {"source-id": spare}})).await;
    bad(&r, StatusCode::PAYLOAD_TOO_LARGE, "VolumeLimitExceeded");
    let e = manageable(&adm, "volumes", &host).await;
    assert_eq!(
        entry(&e, &format!("volume-{spare}")).unwrap()["safe_to_manage"],
        true
    );

    // The lists' own refusals.
    let r = adm
        .call_mv("3.8", Method::GET, "/manageable_volumes", None)
        .await;
    bad(&r, StatusCode::BAD_REQUEST, "Host field is missing.");
    let r = adm
        .call_mv(
            "3.8",
            Method::GET,
            &format!(
                "/manageable_volumes?host={}&sort=name:asc",
                host.replace('#', "%23")
            ),
            None,
        )
        .await;
    bad(
        &r,
        StatusCode::BAD_REQUEST,
        "Invalid sort keys passed: name",
    );
    let r = adm
        .call_mv(
            "3.8",
            Method::GET,
            "/manageable_snapshots?host=nowhere@x%23y",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn an_unmanaged_snapshot_is_managed_again_with_its_bytes() {
    let server = Server::start();
    let adm = admin(&server).await;
    let v = adm.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let host = host_of(&adm, &vid).await;
    write_pattern(&adm, &vid, 3).await;
    let r = adm
        .post(
            "/snapshots",
            json!({"snapshot": {"volume_id": vid, "name": "s"}}),
        )
        .await;
    let old = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    adm.wait_snapshot(&old, "available").await;
    // The volume moves on; the snapshot keeps the older bytes.
    write_pattern(&adm, &vid, 9).await;
    assert_eq!(usage(&adm).await, (1, 1, 2));

    let member = adm
        .new_project_user(&server, "tenant", "alice", "member")
        .await;
    let r = unmanage(&member, "snapshots", &old).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "admin only: {}", r.body);
    assert!(r.fault().1.contains("snapshot_extension:snapshot_unmanage"));

    let r = unmanage(&adm, "snapshots", &old).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        adm.get(&format!("/snapshots/{old}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(usage(&adm).await, (1, 0, 1));
    let list = manageable(&adm, "snapshots", &host).await;
    assert_eq!(
        *entry(&list, &format!("_snapshot-{old}")).expect("listed"),
        json!({"reference": {"source-name": format!("_snapshot-{old}")}, "size": 1,
               "safe_to_manage": true, "reason_not_safe": null, "cinder_id": null,
               "extra_info": null, "source_reference": null})
    );

    let r = adm
        .post(
            "/os-snapshot-manage",
            json!({"snapshot": {"volume_id": vid,
                   "ref": {"source-name": format!("_snapshot-{old}")},
                   "name": "adopted", "description": "d", "metadata": {"a": "1"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let s = &r.body["snapshot"];
    let new = s["id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let expected: BTreeSet<String> = [
        "created_at",
        "description",
        "id",
        "metadata",
        "name",
        "size",
        "status",
        "updated_at",
        "volume_id",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys(s), expected, "upstream's v2 snapshot view");
    assert_eq!(s["volume_id"], vid.as_str());
    let shown = adm.wait_snapshot(&new, "available").await;
    assert_eq!(shown["name"], "adopted");
    assert_eq!(shown["description"], "d");
    assert_eq!(shown["metadata"], json!({"a": "1"}));
    assert_eq!(shown["size"], 1);
    assert_eq!(usage(&adm).await, (1, 1, 2));
    let list = manageable(&adm, "snapshots", &host).await;
    let e = entry(&list, &format!("_snapshot-{new}")).expect("listed");
    assert_eq!(e["reason_not_safe"], "already managed");
    assert_eq!(
        e["source_reference"],
        json!({"source-name": format!("volume-{vid}")})
    );

    // A volume from the managed snapshot holds the snapshot's bytes.
    let r = adm
        .post("/volumes", json!({"volume": {"snapshot_id": new}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let copy = r.body["volume"]["id"].as_str().unwrap().to_string();
    adm.wait_volume(&copy, "available").await;
    assert_eq!(
        read_pattern(&adm, &copy).await,
        vec![pattern(3, 64 * 1024); 2]
    );
    assert_eq!(
        read_pattern(&adm, &vid).await,
        vec![pattern(9, 64 * 1024); 2]
    );

    // Refusals: a tracked device, none, an unknown volume, admin only.
    let body = |r: Value, volume: &str| json!({"snapshot": {"volume_id": volume, "ref": r}});
    let r = adm
        .post(
            "/os-snapshot-manage",
            body(json!({"source-name": format!("_snapshot-{new}")}), &vid),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.contains("already managed"), "{}", r.body);
    let r = adm
        .post(
            "/os-snapshot-manage",
            body(json!({"source-name": format!("_snapshot-{old}")}), &vid),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = adm
        .post(
            "/os-snapshot-manage",
            body(
                json!({"source-id": new}),
                "6a7bd0b9-0000-4a9a-9a9f-3b1f9e3e0a11",
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = member
        .post("/os-snapshot-manage", body(json!({"source-id": new}), &vid))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = adm
        .call_mv(
            "3.7",
            Method::POST,
            "/manageable_snapshots",
            Some(body(json!({"source-id": new}), &vid)),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "below 3.8: {}", r.body);
}
