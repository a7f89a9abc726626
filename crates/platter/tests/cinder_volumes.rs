//! Cinder volumes and snapshots through the real server: lifecycles, views,
//! metadata, paging, and the rules that refuse bad transitions.

mod common;

use common::{admin, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn volume_lifecycle_with_cinder_fields_and_statuses() {
    let server = Server::start();
    let c = admin(&server).await;

    let r = c
        .post("/volumes", json!({"volume": {"size": 1, "name": "v1", "description": "first", "metadata": {"k": "v"}}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert!(r.headers.contains_key("x-openstack-request-id"));
    let v = &r.body["volume"];
    assert_eq!(v["status"], "creating");
    assert_eq!(v["size"], 1);
    assert_eq!(v["bootable"], "false", "bootable is a string in Cinder");
    assert_eq!(v["volume_type"], "SAS", "the configured default type");
    assert_eq!(v["availability_zone"], "nova");
    assert_eq!(v["metadata"], json!({"k": "v"}));
    assert_eq!(v["attachments"], json!([]));
    assert_eq!(v["encrypted"], false);
    // Upstream's create answer has no extension attributes (Tempest's
    // create schema forbids them); show has them.
    for attr in [
        "os-vol-tenant-attr:tenant_id",
        "os-vol-host-attr:host",
        "os-vol-mig-status-attr:migstat",
        "attach_status",
        "iops",
    ] {
        assert!(v.get(attr).is_none(), "{attr} in {v}");
    }
    assert_eq!(v["user_id"], c.user_id.as_str());
    assert!(v["updated_at"].is_null());
    let created_at = v["created_at"].as_str().unwrap();
    assert_eq!(
        created_at.len(),
        26,
        "YYYY-MM-DDTHH:MM:SS.ffffff: {created_at}"
    );
    let id = v["id"].as_str().unwrap().to_string();
    let self_link = v["links"][0]["href"].as_str().unwrap();
    assert_eq!(
        self_link,
        format!("{}/v3/{}/volumes/{id}", c.volume_url, c.project_id)
    );
    assert_eq!(v["links"][1]["rel"], "bookmark");

    let v = c.wait_volume(&id, "available").await;
    assert_eq!(v["name"], "v1");

    // Summary list is {id, links, name}; detail has everything.
    let r = c.get("/volumes").await;
    assert_eq!(r.status, StatusCode::OK);
    let item = &r.body["volumes"][0];
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["id", "links", "name"]);
    let r = c.get("/volumes/detail").await;
    assert_eq!(r.body["volumes"][0]["status"], "available");
    assert!(
        r.body.get("volumes_links").is_none(),
        "no next link when the page is not full"
    );

    // Update: name, description, metadata replaced.
    let r = c
        .put(
            &format!("/volumes/{id}"),
            json!({"volume": {"name": "renamed", "description": "d2", "metadata": {"a": "1"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["volume"]["name"], "renamed");
    assert_eq!(r.body["volume"]["metadata"], json!({"a": "1"}));
    assert!(r.body["volume"]["updated_at"].is_string());

    // Extend keeps going through extending to available with the new size.
    let r = c
        .post(
            &format!("/volumes/{id}/action"),
            json!({"os-extend": {"new_size": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert!(r.body.is_null(), "os-extend has no body");
    let v = c.wait_volume(&id, "available").await;
    assert_eq!(v["size"], 3);
    // Not bigger: refused.
    let r = c
        .post(
            &format!("/volumes/{id}/action"),
            json!({"os-extend": {"new_size": 3}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.fault().1.contains("must be greater than current size"),
        "{}",
        r.body
    );

    // Bootable and read-only flags.
    let r = c
        .post(
            &format!("/volumes/{id}/action"),
            json!({"os-set_bootable": {"bootable": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        c.get(&format!("/volumes/{id}")).await.body["volume"]["bootable"],
        "true"
    );
    let r = c
        .post(
            &format!("/volumes/{id}/action"),
            json!({"os-update_readonly_flag": {"readonly": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);

    // Delete: 202, then gone.
    let r = c.delete(&format!("/volumes/{id}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    c.wait_volume(&id, "deleted").await;
    let r = c.get(&format!("/volumes/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.fault(),
        (
            "itemNotFound".to_string(),
            format!("Volume {id} could not be found.")
        )
    );
}

#[tokio::test]
async fn volume_metadata_in_all_its_forms() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1, "metadata": {"a": "1"}})).await;
    let base = format!("/volumes/{}/metadata", v["id"].as_str().unwrap());

    let r = c.post(&base, json!({"metadata": {"b": "2"}})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"metadata": {"a": "1", "b": "2"}}),
        "POST merges"
    );
    let r = c.put(&base, json!({"metadata": {"c": "3"}})).await;
    assert_eq!(r.body, json!({"metadata": {"c": "3"}}), "PUT replaces");
    assert_eq!(c.get(&base).await.body, json!({"metadata": {"c": "3"}}));
    let r = c
        .put(&format!("{base}/d"), json!({"meta": {"d": "4"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"meta": {"d": "4"}}));
    assert_eq!(
        c.get(&format!("{base}/d")).await.body,
        json!({"meta": {"d": "4"}})
    );
    let r = c
        .put(&format!("{base}/d"), json!({"meta": {"e": "4"}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "body and URI mismatch");
    let r = c
        .put(&format!("{base}/d"), json!({"meta": {"d": "4", "e": "5"}}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "too many items");
    let r = c.delete(&format!("{base}/d")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = c.get(&format!("{base}/d")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.fault().1, "Metadata item was not found");
    let r = c.delete(&format!("{base}/d")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.post(&base, json!({"metadata": {"x": 1}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "values must be strings");

    // The metadata filter of the list.
    c.volume(json!({"size": 1, "name": "tagged", "metadata": {"team": "blue"}}))
        .await;
    let r = c
        .get("/volumes/detail?metadata=%7B%22team%22%3A%20%22blue%22%7D")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<&str> = r.body["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["tagged"]);
    // Python-literal form, as python-cinderclient sends it.
    let r = c
        .get("/volumes/detail?metadata=%7B%27team%27%3A%20%27blue%27%7D")
        .await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn snapshots_clones_and_the_delete_rules() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 2, "name": "src"})).await;
    let vid = v["id"].as_str().unwrap().to_string();

    let r = c
        .post(
            "/snapshots",
            json!({"snapshot": {"volume_id": vid, "name": "s1", "metadata": {"m": "1"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["snapshot"]["status"], "creating");
    assert_eq!(r.body["snapshot"]["size"], 2);
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    let s = c.wait_snapshot(&sid, "available").await;
    assert_eq!(s["os-extended-snapshot-attributes:progress"], "100%");
    assert_eq!(
        s["os-extended-snapshot-attributes:project_id"],
        c.project_id.as_str()
    );
    assert_eq!(s["metadata"], json!({"m": "1"}));

    // A volume with snapshots cannot be deleted without cascade.
    let r = c.delete(&format!("/volumes/{vid}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.fault().1.contains("dependent snapshots"), "{}", r.body);

    // From the snapshot: its size by default, not smaller, bigger allowed.
    let r = c
        .post(
            "/volumes",
            json!({"volume": {"snapshot_id": sid, "size": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let clone = c
        .volume(json!({"snapshot_id": sid, "name": "from-snap"}))
        .await;
    assert_eq!(clone["size"], 2);
    assert_eq!(clone["snapshot_id"], sid.as_str());
    let clone2 = c.volume(json!({"source_volid": vid, "size": 4})).await;
    assert_eq!(clone2["source_volid"], vid.as_str());
    assert_eq!(clone2["size"], 4);

    // Snapshot update and list filters.
    let r = c
        .put(
            &format!("/snapshots/{sid}"),
            json!({"snapshot": {"name": "s1b", "description": "d"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["snapshot"]["name"], "s1b");
    let r = c.get(&format!("/snapshots/detail?volume_id={vid}")).await;
    assert_eq!(r.body["snapshots"].as_array().unwrap().len(), 1);
    let r = c.get("/snapshots?name=nope").await;
    assert_eq!(r.body["snapshots"], json!([]));

    // Snapshot metadata.
    let r = c
        .post(
            &format!("/snapshots/{sid}/metadata"),
            json!({"metadata": {"n": "2"}}),
        )
        .await;
    assert_eq!(r.body, json!({"metadata": {"m": "1", "n": "2"}}));
    let r = c.delete(&format!("/snapshots/{sid}/metadata/m")).await;
    assert_eq!(r.status, StatusCode::OK);

    // Cascade deletes the volume and its snapshots.
    let r = c.delete(&format!("/volumes/{vid}?cascade=true")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    c.wait_volume(&vid, "deleted").await;
    assert_eq!(
        c.get(&format!("/snapshots/{sid}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Clones are independent of their source.
    assert_eq!(
        c.get(&format!("/volumes/{}", clone["id"].as_str().unwrap()))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn paging_sorting_and_next_links() {
    let server = Server::start();
    let c = admin(&server).await;
    for name in ["c", "a", "e", "b", "d"] {
        c.volume(json!({"size": 1, "name": name})).await;
    }
    let r = c.get("/volumes/detail?sort_key=name&sort_dir=asc").await;
    let names: Vec<&str> = r.body["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["a", "b", "c", "d", "e"]);
    let r = c.get("/volumes?sort=name:desc").await;
    assert_eq!(r.body["volumes"][0]["name"], "e");

    // Walk the pages by following the next links.
    let mut seen = Vec::new();
    let mut url = c.url("/volumes?sort=name:asc&limit=2");
    loop {
        let r = common::raw(&c.http, Method::GET, &url, Some(&c.token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for v in r.body["volumes"].as_array().unwrap() {
            seen.push(v["name"].as_str().unwrap().to_string());
        }
        match r.body.get("volumes_links") {
            Some(links) => url = links[0]["href"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(seen, vec!["a", "b", "c", "d", "e"]);

    let r = c.get("/volumes?sort=name:asc&limit=2&offset=3").await;
    let names: Vec<&str> = r.body["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["d", "e"]);
    let r = c.get("/volumes?name=c").await;
    assert_eq!(r.body["volumes"].as_array().unwrap().len(), 1);
    let r = c.get("/volumes?status=creating").await;
    assert_eq!(r.body["volumes"], json!([]));

    for bad in ["limit=-1", "limit=x", "sort_key=bogus", "sort_dir=up"] {
        let r = c.get(&format!("/volumes?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert_eq!(r.fault().0, "badRequest");
    }
    // An unknown marker is upstream's MarkerNotFound: 404.
    for list in ["/volumes", "/snapshots"] {
        let r = c
            .get(&format!(
                "{list}?marker=00000000-0000-0000-0000-000000000000"
            ))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{list}: {}", r.body);
        assert_eq!(
            r.fault(),
            (
                "itemNotFound".to_string(),
                "Marker 00000000-0000-0000-0000-000000000000 could not be found.".to_string()
            )
        );
    }
    // A snapshot of a null volume id: upstream finds no volume "None".
    let r = c
        .post(
            "/snapshots",
            json!({"snapshot": {"volume_id": null, "display_name": "s"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.fault().0, "itemNotFound");
}

#[tokio::test]
async fn types_zones_limits_versions_and_extensions() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = c.get("/types").await;
    let mut names: Vec<&str> = r.body["volume_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["ESSD", "ESSD2", "GPSSD", "GPSSD2", "SAS", "SATA", "SSD"]
    );
    let ssd = r.body["volume_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "SSD")
        .unwrap()
        .clone();
    let r = c
        .get(&format!("/types/{}", ssd["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.body["volume_type"]["name"], "SSD");
    assert_eq!(
        c.get("/types/default").await.body["volume_type"]["name"],
        "SAS"
    );
    assert_eq!(c.get("/types/nope").await.status, StatusCode::NOT_FOUND);

    let r = c.get("/os-availability-zone").await;
    assert_eq!(
        r.body,
        json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}}]})
    );

    c.volume(json!({"size": 3, "volume_type": "SSD"})).await;
    let r = c.get("/limits").await;
    let abs = &r.body["limits"]["absolute"];
    assert_eq!(abs["totalVolumesUsed"], 1);
    assert_eq!(abs["totalGigabytesUsed"], 3);
    assert_eq!(abs["maxTotalVolumes"], 10);

    let r = c
        .get(&format!("/os-quota-sets/{}?usage=true", c.project_id))
        .await;
    assert_eq!(
        r.body["quota_set"]["volumes_SSD"],
        json!({"limit": -1, "in_use": 1, "reserved": 0})
    );
    assert_eq!(r.body["quota_set"]["gigabytes"]["in_use"], 3);

    // Version documents, without a token.
    let http = reqwest::Client::new();
    let r = common::raw(
        &http,
        Method::GET,
        &format!("{}/", c.volume_url),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES);
    let v3 = r.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "v3.0")
        .unwrap()
        .clone();
    assert_eq!(v3["status"], "CURRENT");
    assert_eq!(v3["min_version"], "3.0");
    assert_eq!(
        v3["version"],
        format!("3.{}", platter_api::MAX_MICROVERSION)
    );
    let r = common::raw(
        &http,
        Method::GET,
        &format!("{}/v3/", c.volume_url),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["versions"][0]["id"], "v3.0");
    let r = common::raw(
        &http,
        Method::GET,
        &format!("{}/v2/", c.volume_url),
        None,
        None,
    )
    .await;
    assert_eq!(r.body["versions"][0]["id"], "v2.0");

    let r = c.get("/extensions").await;
    assert_eq!(r.body["extensions"].as_array().unwrap().len(), 29);
}

#[tokio::test]
async fn microversions_are_negotiated() {
    let server = Server::start();
    let c = admin(&server).await;
    let send = |v: &'static str| {
        let c = c.clone();
        async move {
            let resp = c
                .http
                .get(c.url("/volumes/detail"))
                .header("X-Auth-Token", &c.token)
                .header("OpenStack-API-Version", v)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let header = resp
                .headers()
                .get("openstack-api-version")
                .map(|h| h.to_str().unwrap().to_string());
            let body: serde_json::Value = resp.json().await.unwrap();
            (status, header, body)
        }
    };
    let (s, h, _) = send("volume 3.27").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.as_deref(), Some("volume 3.27"));
    let (_, h, _) = send("volume latest").await;
    assert_eq!(
        h,
        Some(format!("volume 3.{}", platter_api::MAX_MICROVERSION))
    );
    let (s, _, body) = send("volume 3.999").await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE, "{body}");
    assert!(body["computeFault"]["message"]
        .as_str()
        .unwrap()
        .contains("not supported"));
    let (s, _, _) = send("volume 4.0").await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE);
    let (s, _, body) = send("volume three").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");

    // Fields that appear with microversions.
    c.volume(json!({"size": 1})).await;
    let (_, _, body) = send("volume 3.0").await;
    assert!(body["volumes"][0].get("volume_type_id").is_none());
    let (_, _, body) = send("volume 3.63").await;
    assert!(body["volumes"][0]["volume_type_id"].is_string());

    // v2 serves the same volumes with v2 links.
    let r = common::raw(
        &c.http,
        Method::GET,
        &format!("{}/v2/{}/volumes/detail", c.volume_url, c.project_id),
        Some(&c.token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["volumes"][0]["links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("/v2/"));
    assert!(r.headers.get("openstack-api-version").is_none());
}

#[tokio::test]
async fn the_pool_reports_thin_capacity_to_admins_only() {
    let server = Server::start();
    let c = admin(&server).await;
    c.volume(json!({"size": 2})).await;
    c.volume(json!({"size": 3})).await;
    let r = c.get("/scheduler-stats/get_pools?detail=true").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let pool = &r.body["pools"][0];
    assert_eq!(pool["name"], "platter@pool#pool");
    let caps = &pool["capabilities"];
    assert_eq!(caps["thin_provisioning_support"], true);
    assert_eq!(caps["provisioned_capacity_gb"], 5.0, "{caps}");
    assert!(caps["total_capacity_gb"].as_f64().unwrap() > 0.0);
    assert!(
        caps["free_capacity_gb"].as_f64().unwrap() <= caps["total_capacity_gb"].as_f64().unwrap()
    );
    assert_eq!(caps["platter:used_bytes"], 0, "nothing written yet: thin");
    let r = c.get("/scheduler-stats/get_pools").await;
    assert!(r.body["pools"][0].get("capabilities").is_none());

    let member = c.new_project_user(&server, "pm", "mona", "member").await;
    let r = member.get("/scheduler-stats/get_pools").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_volume_summary_counts_sizes_and_metadata_from_3_12() {
    let server = Server::start();
    let c = admin(&server).await;
    c.volume(json!({"size": 1, "metadata": {"tier": "gold"}}))
        .await;
    c.volume(json!({"size": 2, "metadata": {"tier": "silver", "app": "db"}}))
        .await;
    let r = c
        .call_mv("3.12", Method::GET, "/volumes/summary", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"volume-summary": {"total_size": 3, "total_count": 2}})
    );
    let r = c
        .call_mv("3.36", Method::GET, "/volumes/summary", None)
        .await;
    assert_eq!(
        r.body["volume-summary"]["metadata"]["tier"],
        json!(["gold", "silver"])
    );
    assert_eq!(r.body["volume-summary"]["metadata"]["app"], json!(["db"]));
    let r = c
        .call_mv("3.11", Method::GET, "/volumes/summary", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn snapshot_status_updates_and_force_delete_as_upstream() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap();
    let r = c
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    c.wait_snapshot(&sid, "available").await;
    let action = |body: serde_json::Value| {
        let c = c.clone();
        let sid = sid.clone();
        async move { c.post(&format!("/snapshots/{sid}/action"), body).await }
    };

    // A status report is refused unless the snapshot is being made.
    let r = action(json!({"os-update_snapshot_status": {"status": "error"}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = action(json!({"os-reset_status": {"status": "creating"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r =
        action(json!({"os-update_snapshot_status": {"status": "error", "progress": "80%"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let s = c.get(&format!("/snapshots/{sid}")).await.body["snapshot"].clone();
    assert_eq!(s["status"], "error");
    assert_eq!(s["os-extended-snapshot-attributes:progress"], "80%");

    // Force delete from a status a plain delete refuses; members may not.
    let r = action(json!({"os-reset_status": {"status": "error_deleting"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = c.delete(&format!("/snapshots/{sid}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let member = c.new_project_user(&server, "pm", "um", "member").await;
    let r = member
        .post(
            &format!("/snapshots/{sid}/action"),
            json!({"os-force_delete": {}}),
        )
        .await;
    assert_ne!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = action(json!({"os-force_delete": {}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while c.get(&format!("/snapshots/{sid}")).await.status != StatusCode::NOT_FOUND {
        assert!(
            std::time::Instant::now() < deadline,
            "snapshot never went away"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn admins_create_update_and_delete_types_and_their_extra_specs() {
    let server = Server::start();
    let a = admin(&server).await;
    let body =
        json!({"volume_type": {"name": "fast", "description": "d", "extra_specs": {"k1": "v1"}}});
    let r = a.post("/types", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = r.body["volume_type"].clone();
    assert_eq!(t["name"], "fast");
    assert_eq!(t["os-volume-type-access:is_public"], true);
    assert_eq!(t["extra_specs"], json!({"k1": "v1"}));
    assert!(
        t.get("qos_specs_id").is_none(),
        "not in upstream's create answer"
    );
    let id = t["id"].as_str().unwrap().to_string();
    // A taken name is 409; an empty one 400; members may not create.
    assert_eq!(a.post("/types", body).await.status, StatusCode::CONFLICT);
    let r = a.post("/types", json!({"volume_type": {"name": ""}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let m = a.new_project_user(&server, "pt", "ut", "member").await;
    let r = m
        .post("/types", json!({"volume_type": {"name": "x"}}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Update and extra specs.
    let r = a
        .put(
            &format!("/types/{id}"),
            json!({"volume_type": {"name": "faster", "description": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["volume_type"]["name"], "faster");
    assert_eq!(
        r.body["volume_type"]["description"],
        serde_json::Value::Null
    );
    let r = a
        .post(
            &format!("/types/{id}/extra_specs"),
            json!({"extra_specs": {"k2": "v2"}}),
        )
        .await;
    assert_eq!(r.body, json!({"extra_specs": {"k2": "v2"}}));
    let r = a
        .put(&format!("/types/{id}/extra_specs/k1"), json!({"k1": "v9"}))
        .await;
    assert_eq!(r.body, json!({"k1": "v9"}));
    let r = a.get(&format!("/types/{id}/extra_specs")).await;
    assert_eq!(r.body, json!({"extra_specs": {"k1": "v9", "k2": "v2"}}));
    let r = a.delete(&format!("/types/{id}/extra_specs/k2")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = a.get(&format!("/types/{id}/extra_specs/k2")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A type in use is not deleted; an unused one is; an unknown one is 404.
    let v = a.volume(json!({"size": 1, "volume_type": "faster"})).await;
    assert_eq!(v["volume_type"], "faster");
    let r = a.delete(&format!("/types/{id}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = a
        .delete(&format!("/volumes/{}", v["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = a.delete(&format!("/types/{id}")).await;
        if r.status == StatusCode::ACCEPTED {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", r.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        a.get(&format!("/types/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = a
        .delete("/types/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn os_hosts_lists_services_and_what_the_volume_host_holds() {
    let server = Server::start();
    let a = admin(&server).await;
    let v = a.volume(json!({"size": 2})).await;
    let vid = v["id"].as_str().unwrap();
    let r = a
        .post("/snapshots", json!({"snapshot": {"volume_id": vid}}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    a.wait_snapshot(&sid, "available").await;

    let r = a.get("/os-hosts").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hosts = r.body["hosts"].as_array().unwrap().clone();
    let services: Vec<(&str, &str)> = hosts
        .iter()
        .map(|h| {
            (
                h["host_name"].as_str().unwrap(),
                h["service"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        services,
        vec![
            ("platter", "cinder-scheduler"),
            ("platter@pool", "cinder-volume")
        ]
    );
    let r = a.get("/os-hosts/platter@pool").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let total = &r.body["host"][0]["resource"];
    assert_eq!(total["project"], "(total)");
    assert_eq!(total["volume_count"], "1");
    assert_eq!(total["total_volume_gb"], "2");
    assert_eq!(total["snapshot_count"], "1");
    assert_eq!(total["total_snapshot_gb"], "2");
    assert_eq!(
        r.body["host"][1]["resource"]["project"],
        a.project_id.as_str()
    );
    assert_eq!(
        a.get("/os-hosts/nowhere").await.status,
        StatusCode::NOT_FOUND
    );
    let m = a.new_project_user(&server, "ph", "uh", "member").await;
    assert_eq!(m.get("/os-hosts").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cinder_retype_changes_the_type_within_the_pool() {
    let server = Server::start();
    let a = admin(&server).await;
    let r = a
        .post("/types", json!({"volume_type": {"name": "gold"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = a.volume(json!({"size": 1, "volume_type": "SATA"})).await;
    let vid = v["id"].as_str().unwrap();
    let retype = |t: &str| json!({"os-retype": {"new_type": t, "migration_policy": "never"}});
    // SATA -> gold is outside EVS's upgrade matrix, and fine for Cinder.
    let r = a
        .post(&format!("/volumes/{vid}/action"), retype("gold"))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = a.get(&format!("/volumes/{vid}")).await.body["volume"].clone();
        if v["volume_type"] == "gold" && v["status"] == "available" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = a
        .post(&format!("/volumes/{vid}/action"), retype("gold"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "same type: {}", r.body);
    let r = a
        .post(&format!("/volumes/{vid}/action"), retype("nope"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test]
async fn the_default_quota_class_sets_every_projects_defaults_and_persists() {
    let mut server = Server::start();
    let a = admin(&server).await;
    let r = a.get("/os-quota-class-sets/default").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["quota_class_set"]["id"], "default");
    assert_eq!(r.body["quota_class_set"]["volumes"], 10);
    let r = a
        .put(
            "/os-quota-class-sets/default",
            json!({"quota_class_set": {"volumes": 15, "gigabytes_SSD": 7}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["quota_class_set"]["volumes"], 15);
    assert!(r.body["quota_class_set"].get("id").is_none());
    let r = a
        .put(
            "/os-quota-class-sets/default",
            json!({"quota_class_set": {"bogus": 1}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    server.restart_with(&[]);
    let a = admin(&server).await;
    let m = a.new_project_user(&server, "pq", "uq", "member").await;
    let r = a
        .get(&format!("/os-quota-sets/{}/defaults", m.project_id))
        .await;
    assert_eq!(r.body["quota_set"]["volumes"], 15, "{}", r.body);
    assert_eq!(r.body["quota_set"]["gigabytes_SSD"], 7, "{}", r.body);
    let r = m.get(&format!("/os-quota-sets/{}", m.project_id)).await;
    assert_eq!(r.body["quota_set"]["volumes"], 15, "{}", r.body);
    // The class's per-type limit is enforced.
    let r = m
        .post(
            "/volumes",
            json!({"volume": {"size": 8, "volume_type": "SSD"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = m.get("/os-quota-class-sets/default").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn image_metadata_actions_set_show_and_unset_what_views_show() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    let path = format!("/volumes/{vid}/action");
    // None yet: the view has no volume_image_metadata.
    let shown = c.get(&format!("/volumes/{vid}")).await.body["volume"].clone();
    assert!(shown.get("volume_image_metadata").is_none(), "{shown}");

    let r = c
        .post(&path, json!({"os-set_image_metadata": {"metadata": {"image_name": "cirros", "__os_type": "Linux"}}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"metadata": {"image_name": "cirros", "__os_type": "Linux"}})
    );
    let r = c.post(&path, json!({"os-show_image_metadata": {}})).await;
    assert_eq!(r.body["metadata"]["image_name"], "cirros");
    let shown = c.get(&format!("/volumes/{vid}")).await.body["volume"].clone();
    assert_eq!(shown["volume_image_metadata"]["__os_type"], "Linux");

    let r = c
        .post(
            &path,
            json!({"os-unset_image_metadata": {"key": "image_name"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c
        .post(
            &path,
            json!({"os-unset_image_metadata": {"key": "image_name"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = c.post(&path, json!({"os-show_image_metadata": {}})).await;
    assert_eq!(r.body, json!({"metadata": {"__os_type": "Linux"}}));
    let r = c
        .post(
            &path,
            json!({"os-set_image_metadata": {"metadata": "nope"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
