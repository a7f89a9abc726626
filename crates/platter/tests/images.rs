//! The image service's rules through the real server: upload statuses and
//! conflicts, media types, ranges, deactivation, sharing, errors in the
//! format `Accept` asks for, and an interrupted upload queued again after
//! a restart.

mod common;

use common::{admin, Client, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Images {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Images {
    fn new(server: &Server, c: &Client) -> Images {
        Images {
            http: c.http.clone(),
            base: format!("{}/v2/images", server.image_url()),
            token: c.token.clone(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Auth-Token", &self.token)
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn create(&self, body: Value) -> String {
        let (status, image) = self.call(Method::POST, "", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{image}");
        image["id"].as_str().unwrap().to_string()
    }

    async fn upload(&self, id: &str, data: Vec<u8>, media: &str) -> (StatusCode, String) {
        let resp = self
            .http
            .put(format!("{}/{id}/file", self.base))
            .header("X-Auth-Token", &self.token)
            .header("Content-Type", media)
            .body(data)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    async fn download(&self, id: &str, range: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("{}/{id}/file", self.base))
            .header("X-Auth-Token", &self.token);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req.send().await.unwrap()
    }
}

#[tokio::test]
async fn uploads_downloads_deactivation_and_errors_follow_glance() {
    let server = Server::start();
    let c = admin(&server).await;
    let img = Images::new(&server, &c);
    let id = img
        .create(
            json!({"name": "a", "disk_format": "raw", "container_format": "bare",
                       "tags": ["x"], "hw_disk_bus": "scsi"}),
        )
        .await;
    let (_, shown) = img.call(Method::GET, &format!("/{id}"), None).await;
    assert_eq!(shown["status"], "queued");
    assert_eq!(shown["visibility"], "shared");
    assert_eq!(shown["hw_disk_bus"], "scsi");
    assert_eq!(shown["checksum"], Value::Null);
    assert_eq!(shown["self"], format!("/v2/images/{id}"));
    // No data yet: 204.
    assert_eq!(
        img.download(&id, None).await.status(),
        StatusCode::NO_CONTENT
    );
    // Read-only attributes are refused; a bad type is 400.
    let (status, _) = img
        .call(
            Method::POST,
            "",
            Some(json!({"name": "b", "status": "active"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = img
        .call(Method::POST, "", Some(json!({"min_disk": "two"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The wrong media type: 415; then the data, and a second upload: 409.
    let data: Vec<u8> = (0..(1 << 20) + 100).map(|i| (i % 251) as u8).collect();
    let (status, _) = img.upload(&id, data.clone(), "application/json").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = img
        .upload(&id, data.clone(), "application/octet-stream")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = img
        .upload(&id, data.clone(), "application/octet-stream")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, shown) = img.call(Method::GET, &format!("/{id}"), None).await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["size"], data.len());
    assert_eq!(shown["os_hash_algo"], "sha512");

    // Whole, and a range.
    let resp = img.download(&id, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-md5"],
        shown["checksum"].as_str().unwrap()
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data);
    let resp = img.download(&id, Some("bytes=100-199")).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.headers()["content-range"],
        format!("bytes 100-199/{}", data.len())
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data[100..200]);
    let resp = img.download(&id, Some("bytes=999999999-")).await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // A member of another project: sees nothing until shared; accepts.
    let other = c.new_project_user(&server, "p2", "u2", "member").await;
    let theirs = Images::new(&server, &other);
    let (status, body) = theirs.call(Method::GET, &format!("/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Errors in the format asked for: flat JSON here.
    assert_eq!(body["code"], "404 Not Found", "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("No image found with ID"));
    let (status, m) = img
        .call(
            Method::POST,
            &format!("/{id}/members"),
            Some(json!({"member": other.project_id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["status"], "pending");
    let (_, listed) = theirs.call(Method::GET, "", None).await;
    assert_eq!(listed["images"], json!([]), "pending: not listed");
    let (status, m) = theirs
        .call(
            Method::PUT,
            &format!("/{id}/members/{}", other.project_id),
            Some(json!({"status": "accepted", "member": other.project_id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    let (_, listed) = theirs.call(Method::GET, "", None).await;
    assert_eq!(listed["images"][0]["id"], id.as_str());
    // The member may not change or delete it.
    let (status, _) = theirs.call(Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Deactivated: the member may not download, the admin may.
    let (status, _) = img
        .call(Method::POST, &format!("/{id}/actions/deactivate"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        theirs.download(&id, None).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(img.download(&id, None).await.status(), StatusCode::OK);
    let (status, _) = img
        .call(Method::POST, &format!("/{id}/actions/reactivate"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(theirs.download(&id, None).await.status(), StatusCode::OK);

    // A volume from it: too small is refused; the volume records the image.
    let r = c
        .post(
            "/volumes",
            json!({"volume": {"size": 1, "imageRef": "4e2b0a1c-0000-4000-8000-000000000000"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let v = c.volume(json!({"imageRef": id})).await;
    assert_eq!(v["size"], 1);
    assert_eq!(v["bootable"], "true");
    assert_eq!(v["volume_image_metadata"]["image_id"], id.as_str());
    assert_eq!(v["volume_image_metadata"]["hw_disk_bus"], "scsi");

    // Paging: limit and the next link.
    for n in 0..3 {
        img.create(json!({"name": format!("p{n}")})).await;
    }
    let (_, page) = img.call(Method::GET, "?limit=2&sort=name:asc", None).await;
    let names: Vec<&str> = page["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "p0"]);
    let next = page["next"].as_str().unwrap();
    assert!(
        next.starts_with("/v2/images?") && next.contains("marker="),
        "{next}"
    );
}

#[tokio::test]
async fn an_upload_a_crash_interrupted_is_queued_again() {
    let mut server = Server::start();
    let c = admin(&server).await;
    let img = Images::new(&server, &c);
    let id = img
        .create(json!({"name": "a", "disk_format": "raw", "container_format": "bare"}))
        .await;
    // An upload whose body never ends, then the server killed.
    let url = format!("{}/{id}/file", img.base);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let pending = img
        .http
        .put(url)
        .header("X-Auth-Token", &img.token)
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let upload = tokio::spawn(pending);
    tx.send(Ok(vec![7u8; 1 << 20])).await.unwrap();
    let mut saving = false;
    for _ in 0..100 {
        let (_, shown) = img.call(Method::GET, &format!("/{id}"), None).await;
        if shown["status"] == "saving" {
            saving = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(saving, "the upload never started");
    assert!(
        std::fs::read_dir(server.data_dir().join("tmp"))
            .unwrap()
            .next()
            .is_some(),
        "the upload is staged"
    );
    server.kill9();
    drop(tx);
    let _ = upload.await;
    server.restart_with(&[]);
    let c = admin(&server).await;
    let img = Images::new(&server, &c);
    let (_, shown) = img.call(Method::GET, &format!("/{id}"), None).await;
    assert_eq!(shown["status"], "queued", "{shown}");
    let scratch: Vec<_> = std::fs::read_dir(server.data_dir().join("tmp"))
        .unwrap()
        .collect();
    assert!(scratch.is_empty(), "scratch files left: {scratch:?}");
    // And it can be uploaded again.
    let (status, body) = img
        .upload(&id, vec![1u8; 4096], "application/octet-stream")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}
