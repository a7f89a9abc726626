//! Cinder generic volume groups through the real server: group types and
//! their specs, groups of volumes (views per microversion, membership,
//! quota, deletion with the volumes), and group snapshots, which cut every
//! member at one point in time even while writes race the cut.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::nbd_client::NbdClient;
use common::{admin, Client, Reply, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The microversion most calls here use: every group operation exists.
const MV: &str = "3.20";

async fn mv(c: &Client, version: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    c.call_mv(version, method, path, body).await
}

async fn get(c: &Client, path: &str) -> Reply {
    mv(c, MV, Method::GET, path, None).await
}

async fn post(c: &Client, path: &str, body: Value) -> Reply {
    mv(c, MV, Method::POST, path, Some(body)).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// Polls a group or group snapshot (`key`) until it has `status`.
async fn wait(c: &Client, path: &str, key: &str, status: &str) -> Value {
    for _ in 0..600 {
        let r = get(c, path).await;
        if status == "deleted" && r.status == StatusCode::NOT_FOUND {
            return Value::Null;
        }
        assert_eq!(r.status, StatusCode::OK, "poll {path}: {}", r.body);
        let current = r.body[key]["status"].as_str().unwrap().to_string();
        if current == status {
            return r.body[key].clone();
        }
        assert!(
            current.ends_with("ing") || current == "available",
            "{path} reached {current} while waiting for {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never reached {status}");
}

/// An admin-made group type, and a group of `c`'s with volume type `SAS`.
async fn group(adm: &Client, c: &Client, name: &str) -> (String, String) {
    let r = post(
        adm,
        "/group_types",
        json!({"group_type": {"name": format!("gt-{name}")}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let gt = id(&r.body["group_type"]);
    let r = post(
        c,
        "/groups",
        json!({"group": {"name": name, "group_type": gt, "volume_types": ["SAS"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    (gt, id(&r.body["group"]))
}

/// A volume of `size` GiB (type `SAS`) created in a group, once available.
async fn member(c: &Client, group: &str, size: i64) -> String {
    member_of_type(c, group, size, "SAS").await
}

async fn member_of_type(c: &Client, group: &str, size: i64, volume_type: &str) -> String {
    let r = post(
        c,
        "/volumes",
        json!({"volume": {"size": size, "volume_type": volume_type, "group_id": group}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["volume"]["group_id"], group);
    let vid = id(&r.body["volume"]);
    c.wait_volume(&vid, "available").await;
    vid
}

#[tokio::test]
async fn group_types_and_their_specs() {
    let server = Server::start();
    let adm = admin(&server).await;
    let c = adm
        .new_project_user(&server, "proj", "alice", "member")
        .await;

    let r = post(
        &adm,
        "/group_types",
        json!({"group_type": {"name": "gold", "description": "d", "is_public": true,
               "group_specs": {"consistent_group_snapshot_enabled": "<is> True"}}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let t = &r.body["group_type"];
    assert_eq!(
        keys(t),
        ["description", "group_specs", "id", "is_public", "name"]
    );
    assert_eq!(t["name"], "gold");
    assert_eq!(t["is_public"], true);
    let gold = id(t);
    let r = post(
        &adm,
        "/group_types",
        json!({"group_type": {"name": "secret", "is_public": false}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let secret = id(&r.body["group_type"]);
    assert_eq!(r.body["group_type"]["description"], Value::Null);

    // Names are unique; members may not manage types.
    let r = post(
        &adm,
        "/group_types",
        json!({"group_type": {"name": "gold"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = post(&c, "/group_types", json!({"group_type": {"name": "x"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        r.fault().1,
        "Policy doesn't allow group:group_types_manage to be performed."
    );
    let r = post(&adm, "/group_types", json!({"group_type": {"name": ""}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Listing: public by default; admins may ask for private or all; the
    // specs are shown to admins only; sorted as asked.
    let names = |r: &Reply| -> Vec<String> {
        r.body["group_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&get(&adm, "/group_types").await), ["gold"]);
    assert_eq!(
        names(&get(&adm, "/group_types?is_public=false").await),
        ["secret"]
    );
    assert_eq!(
        names(&get(&adm, "/group_types?is_public=None&sort=name:desc").await),
        ["secret", "gold"]
    );
    assert_eq!(
        names(&get(&adm, "/group_types?is_public=None&sort=name:asc").await),
        ["gold", "secret"]
    );
    let r = get(&c, "/group_types?is_public=None").await;
    assert_eq!(names(&r), ["gold"], "members see public types only");
    assert_eq!(
        keys(&r.body["group_types"][0]),
        ["description", "id", "is_public", "name"]
    );
    let r = get(&c, &format!("/group_types/{secret}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = get(&adm, "/group_types?is_public=maybe").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // Group types appeared in 3.11.
    let r = mv(&adm, "3.10", Method::GET, "/group_types", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // No default group type is configured.
    let r = get(&adm, "/group_types/default").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Update: 200 with the type; at least one field.
    let r = mv(
        &adm,
        MV,
        Method::PUT,
        &format!("/group_types/{gold}"),
        Some(json!({"group_type": {"name": "gold2", "description": null}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["group_type"]["name"], "gold2");
    assert_eq!(r.body["group_type"]["description"], Value::Null);
    let r = mv(
        &adm,
        MV,
        Method::PUT,
        &format!("/group_types/{gold}"),
        Some(json!({"group_type": {}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Specs: set (202, what was set), list, item show/update/delete.
    let specs = format!("/group_types/{gold}/group_specs");
    let r = post(
        &adm,
        &specs,
        json!({"group_specs": {"k1": "v1", "k2": "v2"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body, json!({"group_specs": {"k1": "v1", "k2": "v2"}}));
    let r = get(&adm, &specs).await;
    assert_eq!(
        r.body["group_specs"],
        json!({"consistent_group_snapshot_enabled": "<is> True", "k1": "v1", "k2": "v2"})
    );
    let r = mv(
        &adm,
        MV,
        Method::PUT,
        &format!("{specs}/k1"),
        Some(json!({"k1": "v1b"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"k1": "v1b"}));
    let r = mv(
        &adm,
        MV,
        Method::PUT,
        &format!("{specs}/k1"),
        Some(json!({"k2": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.fault().1, "Request body and URI mismatch");
    assert_eq!(
        get(&adm, &format!("{specs}/k1")).await.body,
        json!({"k1": "v1b"})
    );
    let r = mv(&adm, MV, Method::DELETE, &format!("{specs}/k1"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = get(&adm, &format!("{specs}/k1")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        r.fault().1,
        format!("Group Type {gold} has no specs with key k1.")
    );
    let r = get(&c, &specs).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A type in use is not deleted; an unused one is (202).
    let r = post(
        &c,
        "/groups",
        json!({"group": {"name": "g", "group_type": gold, "volume_types": ["SAS"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = mv(
        &adm,
        MV,
        Method::DELETE,
        &format!("/group_types/{gold}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = mv(
        &adm,
        MV,
        Method::DELETE,
        &format!("/group_types/{secret}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = get(&adm, &format!("/group_types/{secret}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn groups_views_membership_quota_and_deletion() {
    let server = Server::start();
    let adm = admin(&server).await;
    let c = adm
        .new_project_user(&server, "proj", "alice", "member")
        .await;
    let other = adm
        .new_project_user(&server, "other", "bob", "member")
        .await;
    let (gt, g) = group(&adm, &c, "g1").await;

    // Create answers {id, name}; a group holds no data: available at once.
    let r = get(&c, &format!("/groups/{g}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let shown = &r.body["group"];
    assert_eq!(shown["status"], "available");
    assert_eq!(shown["group_type"], gt.as_str());
    assert_eq!(shown["name"], "g1");
    assert_eq!(shown["availability_zone"], "nova");
    assert_eq!(shown["description"], Value::Null);
    let sas = get(&c, "/types/SAS").await.body["volume_type"]["id"].clone();
    assert_eq!(shown["volume_types"], json!([sas]));
    assert_eq!(
        keys(shown),
        [
            "availability_zone",
            "created_at",
            "description",
            "group_snapshot_id",
            "group_type",
            "id",
            "name",
            "source_group_id",
            "status",
            "volume_types"
        ]
    );
    // 3.13 has no sources yet; 3.25 lists members when asked; below 3.13
    // there are no groups.
    let r = mv(&c, "3.13", Method::GET, &format!("/groups/{g}"), None).await;
    assert!(r.body["group"].get("source_group_id").is_none());
    let r = mv(&c, "3.12", Method::GET, &format!("/groups/{g}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Volumes join at creation (3.13) and show their group.
    let v1 = member(&c, &g, 1).await;
    let v2 = member(&c, &g, 2).await;
    let r = mv(
        &c,
        "3.25",
        Method::GET,
        &format!("/groups/{g}?list_volume=True"),
        None,
    )
    .await;
    let mut members: Vec<String> =
        serde_json::from_value(r.body["group"]["volumes"].clone()).unwrap();
    members.sort();
    let mut want = vec![v1.clone(), v2.clone()];
    want.sort();
    assert_eq!(members, want);
    let r = mv(&c, "3.25", Method::GET, &format!("/groups/{g}"), None).await;
    assert!(r.body["group"].get("volumes").is_none());
    let r = mv(&c, "3.12", Method::GET, &format!("/volumes/{v1}"), None).await;
    assert!(r.body["volume"].get("group_id").is_none());
    let r = get(&c, &format!("/volumes/detail?group_id={g}")).await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 2);
    // A type the group does not list, a group of another project.
    let r = post(
        &c,
        "/volumes",
        json!({"volume": {"size": 1, "volume_type": "SSD", "group_id": g}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = post(
        &other,
        "/volumes",
        json!({"volume": {"size": 1, "volume_type": "SAS", "group_id": g}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = get(&other, &format!("/groups/{g}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A member is not deleted alone.
    let r = c.delete(&format!("/volumes/{v2}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Update: rename and remove a volume; add it back; refusals.
    let put = |body: Value| {
        let c = &c;
        let g = g.clone();
        async move { mv(c, MV, Method::PUT, &format!("/groups/{g}"), Some(body)).await }
    };
    let r =
        put(json!({"group": {"name": "renamed", "description": "d", "remove_volumes": v2}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let shown = get(&c, &format!("/groups/{g}")).await.body["group"].clone();
    assert_eq!(
        (shown["name"].clone(), shown["description"].clone()),
        (json!("renamed"), json!("d"))
    );
    assert_eq!(
        get(&c, &format!("/volumes/{v2}")).await.body["volume"]["group_id"],
        Value::Null
    );
    let r = put(json!({"group": {"remove_volumes": v2}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.contains("not in the group"), "{}", r.body);
    let r = put(json!({"group": {"name": "renamed"}})).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "nothing changes: {}",
        r.body
    );
    let ssd = id(&c.volume(json!({"size": 1, "volume_type": "SSD"})).await);
    let r = put(json!({"group": {"add_volumes": ssd}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.fault().1.contains("is not supported by the group"),
        "{}",
        r.body
    );
    let r = put(json!({"group": {"add_volumes": format!("{v2},"), "remove_volumes": v2}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = put(json!({"group": {"add_volumes": "not-a-uuid"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = put(json!({"group": {"add_volumes": v2}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        get(&c, &format!("/volumes/{v2}")).await.body["volume"]["group_id"],
        g.as_str()
    );

    // Lists: summary {id, name}, detail as show.
    let r = get(&c, "/groups").await;
    assert_eq!(r.body, json!({"groups": [{"id": g, "name": "renamed"}]}));
    let r = get(&c, "/groups/detail").await;
    assert_eq!(r.body["groups"][0]["status"], "available");
    assert!(get(&other, "/groups").await.body["groups"]
        .as_array()
        .unwrap()
        .is_empty());

    // Quota: groups are counted in the create transaction.
    let pid = c.project_id.clone();
    let r = adm
        .put(
            &format!("/os-quota-sets/{pid}"),
            json!({"quota_set": {"groups": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = post(
        &c,
        "/groups",
        json!({"group": {"name": "g2", "group_type": gt, "volume_types": ["SAS"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(
        r.fault().1,
        "GroupLimitExceeded: Maximum number of groups allowed (1) exceeded"
    );
    let r = adm.get(&format!("/os-quota-sets/{pid}?usage=true")).await;
    assert_eq!(r.body["quota_set"]["groups"]["in_use"], 1, "{}", r.body);

    // Reset status: admins, from 3.20.
    let action = format!("/groups/{g}/action");
    let r = post(&c, &action, json!({"reset_status": {"status": "error"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = mv(
        &adm,
        "3.19",
        Method::POST,
        &action,
        Some(json!({"reset_status": {"status": "error"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = post(&adm, &action, json!({"reset_status": {"status": "bogus"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    for status in ["creating", "error", "available"] {
        let r = post(&adm, &action, json!({"reset_status": {"status": status}})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(
            get(&c, &format!("/groups/{g}")).await.body["group"]["status"],
            status
        );
    }

    // Delete: refused with volumes unless delete-volumes; then group and
    // volumes go, and so does their quota.
    let r = post(&c, &action, json!({"delete": {"delete-volumes": false}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.starts_with("Invalid Group: "), "{}", r.body);
    let r = post(&c, &action, json!({"delete": {"delete-volumes": true}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    wait(&c, &format!("/groups/{g}"), "group", "deleted").await;
    for v in [&v1, &v2] {
        c.wait_volume(v, "deleted").await;
    }
    let r = adm.get(&format!("/os-quota-sets/{pid}?usage=true")).await;
    let q = &r.body["quota_set"];
    assert_eq!(q["groups"]["in_use"], 0, "{}", r.body);
    assert_eq!(q["volumes"]["in_use"], 1, "only the SSD volume: {}", r.body);
    assert_eq!(q["gigabytes"]["in_use"], 1, "{}", r.body);

    // An empty group goes at once.
    let r = post(
        &c,
        "/groups",
        json!({"group": {"name": "g3", "group_type": gt, "volume_types": ["SAS"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let g3 = id(&r.body["group"]);
    let r = post(&c, &format!("/groups/{g3}/action"), json!({"delete": {}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = get(&c, &format!("/groups/{g3}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.fault().1, format!("Group {g3} could not be found."));
}

/// Writes `value` over NBD as a counter block at offset 0.
fn counter_block(value: u64) -> Vec<u8> {
    let mut block = vec![0u8; 4096];
    for chunk in block.chunks_mut(8) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    block
}

fn read_counter(uri: &str) -> u64 {
    let mut client = NbdClient::connect(uri).unwrap();
    let block = client.read(0, 4096).unwrap().unwrap();
    let value = u64::from_le_bytes(block[..8].try_into().unwrap());
    assert_eq!(block, counter_block(value), "a torn block");
    value
}

/// Creates a group from a group snapshot and returns its members by the
/// volume each was made from.
async fn clones_of(
    c: &Client,
    group_snapshot: &str,
    sources: &[(String, String)],
) -> (String, Vec<(String, String)>) {
    let r = post(
        c,
        "/groups/action",
        json!({"create-from-src": {"name": "clone", "group_snapshot_id": group_snapshot}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(keys(&r.body["group"]), ["id", "name"]);
    let g = id(&r.body["group"]);
    let shown = wait(c, &format!("/groups/{g}"), "group", "available").await;
    assert_eq!(shown["group_snapshot_id"], group_snapshot);
    let vols = get(c, &format!("/volumes/detail?group_id={g}")).await.body["volumes"].clone();
    let mut out = Vec::new();
    for v in vols.as_array().unwrap() {
        assert_eq!(v["status"], "available");
        let snap = v["snapshot_id"].as_str().unwrap();
        let (source, _) = sources.iter().find(|(_, s)| s == snap).unwrap();
        out.push((source.clone(), id(v)));
    }
    (g, out)
}

#[tokio::test]
async fn a_group_snapshot_is_one_point_in_time_across_its_volumes() {
    let server = Server::start();
    let adm = admin(&server).await;
    let c = adm
        .new_project_user(&server, "proj", "alice", "member")
        .await;
    // Room for the clones of four group snapshots.
    let r = adm
        .put(
            &format!("/os-quota-sets/{}", c.project_id),
            json!({"quota_set": {"volumes": 20, "snapshots": 20, "groups": 10}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (_gt, g) = group(&adm, &c, "db").await;
    let v1 = member(&c, &g, 1).await;
    let v2 = member(&c, &g, 1).await;
    let (_a1, uri1) = c.attach(&v1, "rw").await;
    let (_a2, uri2) = c.attach(&v2, "rw").await;

    // Pattern A on both, acknowledged; the cut; then pattern B: the clones
    // of the group snapshot read A on both.
    let mut n1 = NbdClient::connect(&uri1).unwrap();
    let mut n2 = NbdClient::connect(&uri2).unwrap();
    assert_eq!(n1.write(0, &counter_block(0xA)).unwrap(), 0);
    assert_eq!(n2.write(0, &counter_block(0xA)).unwrap(), 0);
    let r = post(
        &c,
        "/group_snapshots",
        json!({"group_snapshot": {"group_id": g, "name": "gs-a", "description": "first"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        keys(&r.body["group_snapshot"]),
        ["group_type_id", "id", "name"]
    );
    let gs_a = id(&r.body["group_snapshot"]);
    let shown = wait(
        &c,
        &format!("/group_snapshots/{gs_a}"),
        "group_snapshot",
        "available",
    )
    .await;
    assert_eq!(
        keys(&shown),
        [
            "created_at",
            "description",
            "group_id",
            "group_type_id",
            "id",
            "name",
            "status"
        ]
    );
    assert_eq!(shown["group_id"], g.as_str());
    assert_eq!(n1.write(0, &counter_block(0xB)).unwrap(), 0);
    assert_eq!(n2.write(0, &counter_block(0xB)).unwrap(), 0);

    // One real snapshot per member, naming the group snapshot (3.14).
    let snaps = get(&c, "/snapshots/detail").await.body["snapshots"].clone();
    let members: Vec<(String, String)> = snaps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["group_snapshot_id"] == gs_a.as_str())
        .map(|s| (s["volume_id"].as_str().unwrap().to_string(), id(s)))
        .collect();
    assert_eq!(members.len(), 2, "{snaps}");
    for (_, sid) in &members {
        let s = c.wait_snapshot(sid, "available").await;
        assert_eq!(s["size"], 1);
        assert_eq!(s["name"], "gs-a");
        // Not deleted alone.
        let r = c.delete(&format!("/snapshots/{sid}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    }
    let r = adm
        .get(&format!("/os-quota-sets/{}?usage=true", c.project_id))
        .await;
    assert_eq!(r.body["quota_set"]["snapshots"]["in_use"], 2, "{}", r.body);
    let (_clone_a, clones) = clones_of(&c, &gs_a, &members).await;
    for (_, clone) in &clones {
        let (_att, uri) = c.attach(clone, "rw").await;
        assert_eq!(read_counter(&uri), 0xA);
    }

    // Writes racing the cuts: a writer bumps a counter on v1, then on v2,
    // each write acknowledged before the next. At one instant v2 holds the
    // counter of v1 or the one before; a cut of v2 later than v1's (or
    // earlier) would let them drift apart.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                assert_eq!(n1.write(0, &counter_block(n)).unwrap(), 0);
                assert_eq!(n2.write(0, &counter_block(n)).unwrap(), 0);
            }
            n
        })
    };
    let mut cuts = Vec::new();
    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = post(
            &c,
            "/group_snapshots",
            json!({"group_snapshot": {"group_id": g, "name": format!("race-{i}")}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let gs = id(&r.body["group_snapshot"]);
        wait(
            &c,
            &format!("/group_snapshots/{gs}"),
            "group_snapshot",
            "available",
        )
        .await;
        cuts.push(gs);
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 10, "the writer raced the cuts ({written} rounds)");
    let snaps = get(&c, "/snapshots/detail").await.body["snapshots"].clone();
    let mut seen = Vec::new();
    for gs in &cuts {
        let members: Vec<(String, String)> = snaps
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["group_snapshot_id"] == gs.as_str())
            .map(|s| (s["volume_id"].as_str().unwrap().to_string(), id(s)))
            .collect();
        let (_g, clones) = clones_of(&c, gs, &members).await;
        let clone_of = |of: &str| clones.iter().find(|(src, _)| src == of).unwrap().1.clone();
        let (c1, c2) = (clone_of(&v1), clone_of(&v2));
        let (_x, u1) = c.attach(&c1, "rw").await;
        let (_y, u2) = c.attach(&c2, "rw").await;
        let (a, b) = (read_counter(&u1), read_counter(&u2));
        assert!(b == a || b + 1 == a, "cut {gs}: v1 at {a}, v2 at {b}");
        seen.push(a);
    }
    assert!(
        seen.iter().any(|a| *a > 0),
        "the cuts fell among the writes: {seen:?}"
    );

    // Group snapshots list: summary {id, name}; detail; deleting one takes
    // its snapshots; a group with group snapshots is not deleted.
    let r = get(&c, "/group_snapshots").await;
    let listed = r.body["group_snapshots"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(
        listed.iter().all(|s| keys(s) == ["id", "name"]),
        "{}",
        r.body
    );
    let r = get(&c, "/group_snapshots/detail").await;
    assert!(r.body["group_snapshots"][0].get("created_at").is_some());
    let r = post(
        &c,
        &format!("/groups/{g}/action"),
        json!({"delete": {"delete-volumes": true}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.fault().1, "Invalid Group: Group has existing snapshots.");
    // The group made from gs_a is done: gs_a may go.
    let r = mv(
        &c,
        MV,
        Method::DELETE,
        &format!("/group_snapshots/{gs_a}"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    wait(
        &c,
        &format!("/group_snapshots/{gs_a}"),
        "group_snapshot",
        "deleted",
    )
    .await;
    for (_, sid) in &members_of(&snaps, &gs_a) {
        c.wait_snapshot(sid, "deleted").await;
    }
    // Reset status: admins, from 3.19.
    let action = format!("/group_snapshots/{}/action", cuts[0]);
    let r = mv(
        &adm,
        "3.18",
        Method::POST,
        &action,
        Some(json!({"reset_status": {"status": "error"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = post(&c, &action, json!({"reset_status": {"status": "error"}})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = post(&adm, &action, json!({"reset_status": {"status": "error"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let shown = get(&c, &format!("/group_snapshots/{}", cuts[0])).await;
    assert_eq!(shown.body["group_snapshot"]["status"], "error");
}

fn members_of(snaps: &Value, gs: &str) -> Vec<(String, String)> {
    snaps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["group_snapshot_id"] == gs)
        .map(|s| (s["volume_id"].as_str().unwrap().to_string(), id(s)))
        .collect()
}

#[tokio::test]
async fn a_group_from_a_group_clones_every_member() {
    let server = Server::start();
    let adm = admin(&server).await;
    let c = adm
        .new_project_user(&server, "proj", "alice", "member")
        .await;
    let (gt, g) = group(&adm, &c, "src").await;
    let v1 = member(&c, &g, 2).await;
    let (att, uri) = c.attach(&v1, "rw").await;
    let mut n = NbdClient::connect(&uri).unwrap();
    assert_eq!(n.write(0, &counter_block(7)).unwrap(), 0);
    assert_eq!(n.flush().unwrap(), 0);
    drop(n);
    c.detach(&att).await;
    c.wait_volume(&v1, "available").await;

    let r = post(
        &c,
        "/groups/action",
        json!({"create-from-src": {"name": "copy", "source_group_id": g}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let copy = id(&r.body["group"]);
    let shown = wait(&c, &format!("/groups/{copy}"), "group", "available").await;
    assert_eq!(shown["source_group_id"], g.as_str());
    assert_eq!(shown["group_type"], gt.as_str());
    let vols = get(&c, &format!("/volumes/detail?group_id={copy}"))
        .await
        .body["volumes"]
        .clone();
    let vols = vols.as_array().unwrap();
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0]["source_volid"], v1.as_str());
    assert_eq!(vols[0]["size"], 2);
    let (_att, uri) = c.attach(&id(&vols[0]), "ro").await;
    assert_eq!(read_counter(&uri), 7);

    // Refusals: both sources, none, an unknown one, below 3.14.
    for body in [
        json!({"create-from-src": {"source_group_id": g, "group_snapshot_id": g}}),
        json!({"create-from-src": {"name": "x"}}),
        json!({"nope": {}}),
    ] {
        let r = post(&c, "/groups/action", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    }
    let r = post(
        &c,
        "/groups/action",
        json!({"create-from-src": {"source_group_id": "9b4c6f5e-1d1e-4a37-9d3a-6a3f0d6f1a11"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = mv(
        &c,
        "3.13",
        Method::POST,
        "/groups/action",
        Some(json!({"create-from-src": {"source_group_id": g}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn a_group_lives_in_one_pool() {
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
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("platter.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_str().unwrap().to_string();
    let server = Server::start_with(&[("PLATTER_CONFIG", config.as_str())]);
    let adm = admin(&server).await;
    let r = post(&adm, "/group_types", json!({"group_type": {"name": "gt"}})).await;
    let gt = id(&r.body["group_type"]);
    let r = post(
        &adm,
        "/groups",
        json!({"group": {"name": "g", "group_type": gt, "volume_types": ["SAS", "SSD"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.contains("one pool"), "{}", r.body);
    let r = post(
        &adm,
        "/groups",
        json!({"group": {"name": "g", "group_type": gt, "volume_types": ["SSD"]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let g = id(&r.body["group"]);
    // A volume of pool 1 cannot join the pool-2 group.
    let sas = id(&adm.volume(json!({"size": 1, "volume_type": "SAS"})).await);
    let r = mv(
        &adm,
        MV,
        Method::PUT,
        &format!("/groups/{g}"),
        Some(json!({"group": {"add_volumes": sas}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let ssd = member_of_type(&adm, &g, 1, "SSD").await;
    let shown = adm.get(&format!("/volumes/{ssd}")).await;
    assert_eq!(
        shown.body["volume"]["os-vol-host-attr:host"],
        "platter@pool2#pool2"
    );
}
