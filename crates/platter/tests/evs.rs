//! The EVS API against the real binary: idempotent creates under
//! concurrency, failed and crashed batch jobs, error bodies the framework
//! produces, and project isolation of volumes and jobs.

mod common;

use std::time::{Duration, Instant};

use common::{admin, raw, Client, Reply, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// An EVS path under the caller's project (`v` is `v2`, `v2.1`, `v1`, `v5`).
fn evs_url(c: &Client, v: &str, path: &str) -> String {
    format!("{}/{v}/{}{path}", c.volume_url, c.project_id)
}

async fn evs(c: &Client, method: Method, v: &str, path: &str, body: Option<Value>) -> Reply {
    let text = body.map(|b| b.to_string());
    raw(
        &c.http,
        method,
        &evs_url(c, v, path),
        Some(&c.token),
        text.as_deref(),
    )
    .await
}

fn code(r: &Reply) -> &str {
    r.body["error"]["code"].as_str().unwrap_or_default()
}

fn volume(name: &str, count: i64) -> Value {
    json!({"volume": {"availability_zone": "nova", "volume_type": "SAS", "size": 10, "name": name, "count": count}})
}

/// Polls a job until it ends; returns its view.
async fn wait_job(c: &Client, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = evs(c, Method::GET, "v1", &format!("/jobs/{job_id}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let status = r.body["status"].as_str().unwrap_or_default().to_string();
        if status == "SUCCESS" || status == "FAIL" {
            return r.body;
        }
        assert!(Instant::now() < deadline, "job {job_id} stuck: {}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn concurrent_retries_with_one_client_token_create_once() {
    let server = Server::start_with(&[("PLATTER_TEST_JOB_DELAY_MS", "300")]);
    let c = admin(&server).await;
    let token = "7c3ad0a9-7bd5-4d9e-9a1d-6a7dfc3e2b11";
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let resp = c
                .http
                .post(evs_url(&c, "v2.1", "/cloudvolumes"))
                .header("X-Auth-Token", &c.token)
                .header("X-Client-Token", token)
                .json(&volume("idem", 2))
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        answers.push(body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let job = wait_job(&c, answers[0]["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SUCCESS");
    let list = evs(
        &c,
        Method::GET,
        "v2",
        "/cloudvolumes/detail?name=idem-0001",
        None,
    )
    .await;
    assert_eq!(list.body["count"], 1, "{}", list.body);
    let all = evs(&c, Method::GET, "v2", "/cloudvolumes/detail", None).await;
    assert_eq!(all.body["count"], 2, "{}", all.body);
}

#[tokio::test]
async fn a_failed_batch_reports_fail_with_its_reasons_and_its_volumes_can_go() {
    let server = Server::start_with(&[("PLATTER_TEST_FAIL_JOBS", "createVolume")]);
    let c = admin(&server).await;
    let r = evs(
        &c,
        Method::POST,
        "v2.1",
        "/cloudvolumes",
        Some(volume("bad", 2)),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = wait_job(&c, r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "FAIL", "{job}");
    assert_eq!(job["job_type"], "batchCreateVolume");
    assert_eq!(job["error_code"], "EVS.2024");
    let subs = job["entities"]["sub_jobs"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    for s in subs {
        assert_eq!(s["status"], "FAIL");
        assert!(
            s["fail_reason"]
                .as_str()
                .unwrap()
                .contains("injected fault"),
            "{s}"
        );
        let id = s["entities"]["volume_id"].as_str().unwrap();
        let v = evs(&c, Method::GET, "v2", &format!("/cloudvolumes/{id}"), None).await;
        assert_eq!(v.body["volume"]["status"], "error");
        let d = evs(
            &c,
            Method::DELETE,
            "v2",
            &format!("/cloudvolumes/{id}"),
            None,
        )
        .await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
        assert_eq!(
            wait_job(&c, d.body["job_id"].as_str().unwrap()).await["status"],
            "SUCCESS"
        );
    }
}

#[tokio::test]
async fn kill9_mid_batch_then_the_group_finishes_after_restart() {
    let mut server = Server::start_with(&[("PLATTER_TEST_JOB_DELAY_MS", "3000")]);
    let c = admin(&server).await;
    let r = evs(
        &c,
        Method::POST,
        "v2.1",
        "/cloudvolumes",
        Some(volume("crash", 3)),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job_id = r.body["job_id"].as_str().unwrap().to_string();
    let running = evs(&c, Method::GET, "v1", &format!("/jobs/{job_id}"), None).await;
    assert!(["INIT", "RUNNING"].contains(&running.body["status"].as_str().unwrap()));
    assert_eq!(running.body["end_time"], "");
    server.kill9();
    server.restart_with(&[]);
    let c = admin(&server).await;
    let job = wait_job(&c, &job_id).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let list = evs(
        &c,
        Method::GET,
        "v2",
        "/cloudvolumes/detail?status=available",
        None,
    )
    .await;
    assert_eq!(list.body["count"], 3, "{}", list.body);
}

#[tokio::test]
async fn errors_the_framework_makes_are_evs_shaped() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = evs(
        &c,
        Method::PATCH,
        "v2",
        "/cloudvolumes/detail",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::METHOD_NOT_ALLOWED, "EVS.5400"),
        "{}",
        r.body
    );
    let r = raw(
        &c.http,
        Method::POST,
        &evs_url(&c, "v2.1", "/cloudvolumes"),
        Some(&c.token),
        Some("{nope"),
    )
    .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "EVS.1008"),
        "{}",
        r.body
    );
    let r = evs(
        &c,
        Method::POST,
        "v2",
        "/cloudvolumes/resource_instances/action",
        Some(json!({"action": "filter"})),
    )
    .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "EVS.1062"),
        "{}",
        r.body
    );
    let r = evs(
        &c,
        Method::POST,
        "v5",
        "/volumes/batch-extend",
        Some(json!({"volumes": []})),
    )
    .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "EVS.5400"),
        "{}",
        r.body
    );
    assert!(!server.log().contains("panicked"));
}

#[tokio::test]
async fn another_projects_volumes_and_jobs_are_invisible() {
    let server = Server::start();
    let c = admin(&server).await;
    let other = c.new_project_user(&server, "p2", "u2", "member").await;
    let r = evs(
        &c,
        Method::POST,
        "v2.1",
        "/cloudvolumes",
        Some(volume("mine", 1)),
    )
    .await;
    let job_id = r.body["job_id"].as_str().unwrap().to_string();
    let vid = r.body["volume_ids"][0].as_str().unwrap().to_string();
    wait_job(&c, &job_id).await;
    let r = evs(&other, Method::GET, "v1", &format!("/jobs/{job_id}"), None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "Common.0011"),
        "{}",
        r.body
    );
    let r = evs(
        &other,
        Method::GET,
        "v2",
        &format!("/cloudvolumes/{vid}"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::NOT_FOUND, "EVS.5404"),
        "{}",
        r.body
    );
    let r = evs(&other, Method::GET, "v2", "/cloudvolumes/detail", None).await;
    assert_eq!(r.body["count"], 0);
    // Their token on my project's URL.
    let mine = raw(
        &other.http,
        Method::GET,
        &evs_url(&c, "v2", "/cloudvolumes/detail"),
        Some(&other.token),
        None,
    )
    .await;
    assert_eq!(
        (mine.status, code(&mine)),
        (StatusCode::BAD_REQUEST, "Common.0018"),
        "{}",
        mine.body
    );
    // A reader may look but not create.
    let reader = c.new_project_user(&server, "p3", "u3", "reader").await;
    let r = evs(
        &reader,
        Method::POST,
        "v2.1",
        "/cloudvolumes",
        Some(volume("no", 1)),
    )
    .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::FORBIDDEN, "EVS.5403"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_batch_extend_counts_quota_for_all_and_starts_all_or_none() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = evs(
        &c,
        Method::POST,
        "v2.1",
        "/cloudvolumes",
        Some(volume("pair", 2)),
    )
    .await;
    wait_job(&c, r.body["job_id"].as_str().unwrap()).await;
    let ids: Vec<String> = r.body["volume_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // 20 GiB used; each +10 fits alone under 35, both together do not.
    let q = c
        .put(
            &format!("/os-quota-sets/{}", c.project_id),
            json!({"quota_set": {"gigabytes": 35}}),
        )
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    let body = json!({"volumes": [{"id": ids[0], "new_size": 20}, {"id": ids[1], "new_size": 20}]});
    let r = evs(&c, Method::POST, "v5", "/volumes/batch-extend", Some(body)).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "EVS.1042"),
        "{}",
        r.body
    );
    for id in &ids {
        let v = evs(&c, Method::GET, "v2", &format!("/cloudvolumes/{id}"), None).await;
        assert_eq!(
            (
                v.body["volume"]["status"].as_str(),
                v.body["volume"]["size"].as_i64()
            ),
            (Some("available"), Some(10))
        );
    }
    let body = json!({"volumes": [{"id": ids[0], "new_size": 20}]});
    let r = evs(&c, Method::POST, "v5", "/volumes/batch-extend", Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = wait_job(&c, r.body["job_id"].as_str().unwrap()).await;
    assert_eq!(
        (job["status"].as_str(), job["job_type"].as_str()),
        (Some("SUCCESS"), Some("extendVolume"))
    );
    assert_eq!(job["entities"]["sub_jobs"][0]["entities"]["size"], 20);
}

#[tokio::test]
async fn the_deprecated_v1_show_answers_huaweis_cinder_volume_detail() {
    let server = Server::start();
    let c = admin(&server).await;
    let v = c.volume(json!({"size": 1, "name": "old"})).await;
    let id = v["id"].as_str().unwrap();
    let r = evs(&c, Method::GET, "v1", &format!("/volumes/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let d = &r.body["volume"];
    assert_eq!(d["id"], id);
    assert_eq!(d["name"], "old");
    assert_eq!(d["os-vol-tenant-attr:tenant_id"], c.project_id.as_str());
    assert!(d["snapshot_policy_id"].is_null());
    for absent in ["wwn", "service_type", "tags", "enterprise_project_id"] {
        assert!(d.get(absent).is_none(), "{absent} in {d}");
    }
    assert!(d["links"][0]["href"].as_str().unwrap().contains("/v1/"));
    let missing = "6a7bd0b9-6cb8-4a9a-9a9f-3b1f9e3e0a11";
    let r = evs(&c, Method::GET, "v1", &format!("/volumes/{missing}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(code(&r).starts_with("EVS."), "{}", r.body);
}

/// EVS's `imageRef`: a system disk from an image (Huawei IMS property
/// names are kept as the image's properties), bootable, with the image's
/// metadata; a bad or unknown image is refused with EVS's codes.
#[tokio::test]
async fn a_disk_from_an_image_is_bootable_and_records_the_image() {
    let server = Server::start();
    let c = admin(&server).await;
    let base = format!("{}/v2/images", server.image_url());
    let created: Value = c
        .http
        .post(&base)
        .header("X-Auth-Token", &c.token)
        .json(
            &json!({"name": "centos", "disk_format": "raw", "container_format": "bare",
                      "__os_type": "Linux", "__platform": "CentOS", "min_disk": 10}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image = created["id"].as_str().unwrap().to_string();
    let resp = c
        .http
        .put(format!("{base}/{image}/file"))
        .header("X-Auth-Token", &c.token)
        .header("Content-Type", "application/octet-stream")
        .body(vec![0x42u8; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    let mut body = volume("sys", 1);
    body["volume"]["imageRef"] = json!(image);
    let r = evs(&c, Method::POST, "v2.1", "/cloudvolumes", Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = r.body["job_id"].as_str().unwrap().to_string();
    assert_eq!(wait_job(&c, &job).await["status"], "SUCCESS");
    let id = r.body["volume_ids"][0].as_str().unwrap();
    let v = evs(&c, Method::GET, "v2", &format!("/cloudvolumes/{id}"), None).await;
    let v = &v.body["volume"];
    assert_eq!(v["bootable"], "true", "{v}");
    assert_eq!(v["volume_image_metadata"]["image_id"], image.as_str());
    assert_eq!(v["volume_image_metadata"]["__os_type"], "Linux");

    // Not a UUID, then an image nobody has.
    let mut body = volume("bad", 1);
    body["volume"]["imageRef"] = json!("centos");
    let r = evs(&c, Method::POST, "v2.1", "/cloudvolumes", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let mut body = volume("none", 1);
    body["volume"]["imageRef"] = json!("0d4e8e1a-0000-4000-8000-000000000000");
    let r = evs(&c, Method::POST, "v2.1", "/cloudvolumes", Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(code(&r).starts_with("EVS."), "{}", r.body);
}

/// Issue 14, finding A: EVS creates apply Cinder's metadata rule (keys 1 to
/// 255 characters, values at most 255) and create nothing when it fails.
#[tokio::test]
async fn evs_creates_refuse_the_metadata_cinder_refuses_and_create_nothing() {
    let server = Server::start();
    let c = admin(&server).await;
    let bad: [(&str, Value, &str); 3] = [
        (
            "a value of 1,000,000 characters",
            json!({"k": "v".repeat(1_000_000)}),
            "EVS.1005",
        ),
        ("an empty key", json!({"": "v"}), "EVS.5400"),
        (
            "a key of 300 characters",
            json!({"k".repeat(300): "v"}),
            "EVS.1005",
        ),
    ];
    for v in ["v2", "v2.1", "v3"] {
        for (what, metadata, want) in &bad {
            let mut body = volume("meta", 1);
            body["volume"]["metadata"] = metadata.clone();
            let r = evs(&c, Method::POST, v, "/cloudvolumes", Some(body)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{v}, {what}");
            assert_eq!(code(&r), *want, "{v}, {what}: {}", r.body);
            let message = r.body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("etadata"), "{v}, {what}: {message}");
        }
    }
    let r = evs(&c, Method::GET, "v2", "/cloudvolumes/detail", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["count"], 0, "{}", r.body);
    assert_eq!(r.body["volumes"], json!([]), "{}", r.body);
    let r = c.get("/volumes/detail").await;
    assert_eq!(r.body["volumes"], json!([]), "{}", r.body);
    // The boundary itself is allowed.
    let mut body = volume("meta", 1);
    body["volume"]["metadata"] = json!({"k".repeat(255): "v".repeat(255)});
    let r = evs(&c, Method::POST, "v2", "/cloudvolumes", Some(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

/// Issue 14, finding B: unknown paths under EVS's prefixes answer in EVS's
/// format (`EVS.5404`); Cinder's unknown paths keep Cinder's.
#[tokio::test]
async fn unknown_paths_under_evs_prefixes_are_evs_shaped() {
    let server = Server::start();
    let c = admin(&server).await;
    let id = "0b126d3b-f2af-404d-8d39-a42fce70065a";
    for (method, v, path) in [
        (Method::GET, "v5", "/nothing".to_string()),
        (Method::GET, "v1", "/nothing".to_string()),
        (Method::GET, "v2", format!("/cloudvolumes/{id}/nothing")),
        (Method::POST, "v2.1", "/cloudvolumes/x/y".to_string()),
        (Method::GET, "v2", format!("/cloudsnapshots/{id}/nothing")),
        (Method::DELETE, "v3", "/cloudvolumes/x/y".to_string()),
        (Method::GET, "v3", "/os-vendor-volumes/x/y".to_string()),
    ] {
        let r = evs(&c, method.clone(), v, &path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {v}{path}");
        assert_eq!(code(&r), "EVS.5404", "{method} {v}{path}: {}", r.body);
        assert_eq!(
            r.body["error"]["message"],
            "Resource(Volume, Snapshot, Backup .etc) could not be found.",
            "{}",
            r.body
        );
    }
    for v in ["v3", "v2"] {
        let r = evs(&c, Method::GET, v, "/nothing", None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(
            r.fault(),
            (
                "itemNotFound".to_string(),
                "The resource could not be found.".to_string()
            )
        );
    }
}
