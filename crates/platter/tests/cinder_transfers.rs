//! Cinder volume transfers through the real server: a project offers a
//! volume, another takes it with the secret key, and quota, owners and
//! snapshots move in one step (or not at all).

mod common;

use common::{admin, Client, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// An admin, a giving and a taking project's members, and a volume of
/// `size` GiB of the giver's with one available snapshot.
struct Scene {
    adm: Client,
    a: Client,
    b: Client,
    vid: String,
    sid: String,
}

async fn scene(server: &Server, size: i64) -> Scene {
    let adm = admin(server).await;
    let a = adm
        .new_project_user(server, "giver", "alice", "member")
        .await;
    let b = adm.new_project_user(server, "taker", "bob", "member").await;
    let v = a.volume(json!({"size": size, "name": "gift"})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let r = a
        .post(
            "/snapshots",
            json!({"snapshot": {"volume_id": vid, "name": "s"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    a.wait_snapshot(&sid, "available").await;
    Scene {
        adm,
        a,
        b,
        vid,
        sid,
    }
}

#[tokio::test]
async fn a_transfer_moves_the_volume_its_snapshots_and_their_quota() {
    let server = Server::start();
    let Scene {
        adm,
        a,
        b,
        vid,
        sid,
    } = scene(&server, 1).await;

    let r = a
        .post(
            "/os-volume-transfer",
            json!({"transfer": {"volume_id": vid, "name": "t1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let t = &r.body["transfer"];
    let key = t["auth_key"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 16);
    let tid = t["id"].as_str().unwrap().to_string();
    assert_eq!(t["volume_id"], vid.as_str());
    assert_eq!(t["name"], "t1");
    let mut keys: Vec<_> = t.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["auth_key", "created_at", "id", "links", "name", "volume_id"]
    );
    assert_eq!(
        a.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
        "awaiting-transfer"
    );

    // The key is shown once; others do not see the offer.
    let r = a.get(&format!("/os-volume-transfer/{tid}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["transfer"].get("auth_key").is_none());
    assert_eq!(
        b.get(&format!("/os-volume-transfer/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/os-volume-transfer").await.body["transfers"],
        json!([])
    );
    let r = a.get("/os-volume-transfer").await;
    assert_eq!(r.body["transfers"][0]["id"], tid.as_str());
    assert!(
        r.body["transfers"][0].get("created_at").is_none(),
        "summary list"
    );
    assert!(
        a.get("/os-volume-transfer/detail").await.body["transfers"][0]["created_at"].is_string()
    );

    // A wrong key changes nothing.
    let r = b
        .post(
            &format!("/os-volume-transfer/{tid}/accept"),
            json!({"accept": {"auth_key": "x"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.starts_with("Invalid auth key"), "{}", r.body);
    assert_eq!(
        b.get(&format!("/volumes/{vid}")).await.status,
        StatusCode::NOT_FOUND
    );

    let usage = |p: String| {
        let adm = adm.clone();
        async move {
            let r = adm.get(&format!("/os-quota-sets/{p}?usage=true")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let q = &r.body["quota_set"];
            (
                q["volumes"]["in_use"].as_i64().unwrap(),
                q["snapshots"]["in_use"].as_i64().unwrap(),
                q["gigabytes"]["in_use"].as_i64().unwrap(),
            )
        }
    };
    assert_eq!(usage(a.project_id.clone()).await, (1, 1, 2));
    assert_eq!(usage(b.project_id.clone()).await, (0, 0, 0));

    let r = b
        .post(
            &format!("/os-volume-transfer/{tid}/accept"),
            json!({"accept": {"auth_key": key}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["transfer"]["id"], tid.as_str());
    let moved = b.get(&format!("/volumes/{vid}")).await.body["volume"].clone();
    assert_eq!(moved["status"], "available");
    assert_eq!(moved["user_id"], b.user_id.as_str());
    assert_eq!(moved["os-vol-tenant-attr:tenant_id"], b.project_id.as_str());
    assert_eq!(
        b.get(&format!("/snapshots/{sid}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        a.get(&format!("/volumes/{vid}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get(&format!("/os-volume-transfer/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(usage(a.project_id.clone()).await, (0, 0, 0));
    assert_eq!(usage(b.project_id.clone()).await, (1, 1, 2));
}

#[tokio::test]
async fn the_new_api_keeps_snapshots_back_and_a_full_quota_refuses_the_whole_move() {
    let server = Server::start();
    let Scene {
        adm,
        a,
        b,
        vid,
        sid,
    } = scene(&server, 2).await;

    // `volume-transfers` exists from 3.55.
    let body = json!({"transfer": {"volume_id": vid, "no_snapshots": true}});
    let r = a
        .call_mv(
            "3.54",
            Method::POST,
            "/volume-transfers",
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // ... and the old API does not take `no_snapshots`.
    let r = a.post("/os-volume-transfer", body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    let r = a
        .call_mv("3.57", Method::POST, "/volume-transfers", Some(body))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let t = r.body["transfer"].clone();
    assert_eq!(t["no_snapshots"], true);
    assert_eq!(t["accepted"], false);
    assert_eq!(t["source_project_id"], a.project_id.as_str());
    assert!(t["destination_project_id"].is_null());
    assert!(t["name"].is_null());
    let tid = t["id"].as_str().unwrap();
    let key = t["auth_key"].as_str().unwrap();

    // A second offer of the same volume is refused.
    let r = a
        .post(
            "/os-volume-transfer",
            json!({"transfer": {"volume_id": vid}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // The taker has no room: nothing moves.
    let r = adm
        .put(
            &format!("/os-quota-sets/{}", b.project_id),
            json!({"quota_set": {"gigabytes": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let accept = json!({"accept": {"auth_key": key}});
    let r = b
        .call_mv(
            "3.57",
            Method::POST,
            &format!("/volume-transfers/{tid}/accept"),
            Some(accept.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(
        a.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
        "awaiting-transfer"
    );

    let r = adm
        .put(
            &format!("/os-quota-sets/{}", b.project_id),
            json!({"quota_set": {"gigabytes": 10}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = b
        .call_mv(
            "3.57",
            Method::POST,
            &format!("/volume-transfers/{tid}/accept"),
            Some(accept),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    // The snapshot stayed with the giver.
    assert_eq!(
        a.get(&format!("/snapshots/{sid}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.get(&format!("/snapshots/{sid}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
        "available"
    );
}

#[tokio::test]
async fn withdrawing_an_offer_makes_the_volume_available_again() {
    let server = Server::start();
    let a = admin(&server).await;
    let vid = a.volume(json!({"size": 1})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = a
        .post(
            "/os-volume-transfer",
            json!({"transfer": {"volume_id": vid}}),
        )
        .await;
    let tid = r.body["transfer"]["id"].as_str().unwrap().to_string();
    // Awaiting transfer, the volume cannot be deleted.
    assert_eq!(
        a.delete(&format!("/volumes/{vid}")).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = a.delete(&format!("/os-volume-transfer/{tid}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        a.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
        "available"
    );
    assert_eq!(
        a.get(&format!("/os-volume-transfer/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = a.delete(&format!("/os-volume-transfer/{tid}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (_, msg) = r.fault();
    assert_eq!(msg, format!("Transfer {tid} could not be found."));
    // A missing volume id is the caller's error.
    let r = a
        .post("/os-volume-transfer", json!({"transfer": {"name": "x"}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
