//! The console's router in process: the app's files, the families mounted
//! under `/api/...` answering as on their own listeners, and the console's
//! own endpoints' authentication and isolation.

use std::sync::Arc;

use platter_backend::MemoryBackend;
use platter_metrics::{History, Point, Registry};
use platter_service::{Platter, ServiceConfig};
use platter_store::Store;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::PublicUrls;

struct Served {
    base: String,
    registry: Registry,
    history: Arc<History>,
    _dir: tempfile::TempDir,
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).await.unwrap();
    let platter = Platter::new(
        store,
        Arc::new(MemoryBackend::default()),
        ServiceConfig::default(),
    );
    platter.bootstrap(Some("secret")).await.unwrap();
    let urls = PublicUrls {
        identity: "http://127.0.0.1:5000".into(),
        image: "http://127.0.0.1:9292".into(),
        compute: "http://127.0.0.1:8774".into(),
        block_storage: "http://127.0.0.1:8776".into(),
        region: "RegionOne".into(),
    };
    let history = Arc::new(History::new(FAMILIES, 30));
    let app = router(ApiState::new(platter, urls), history.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Served {
        base,
        registry: Registry::default(),
        history,
        _dir: dir,
    }
}

/// Logs in as the bootstrap admin: (token, project id).
async fn login(base: &str) -> (String, String) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/identity/v3/auth/tokens"))
        .json(&json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"}, "password": "secret"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = resp.json().await.unwrap();
    (
        token,
        body["token"]["project"]["id"].as_str().unwrap().into(),
    )
}

#[test]
fn rates_are_differences_over_time_and_survive_resets() {
    let p = |t, v| Point { t, v };
    let r = rates(&[p(0.0, 0.0), p(2.0, 100.0), p(3.0, 100.0), p(4.0, 20.0)]);
    assert_eq!(r, vec![[2.0, 50.0], [3.0, 0.0], [4.0, 20.0]]);
    assert!(rates(&[p(1.0, 5.0)]).is_empty());
    assert!(rates(&[p(1.0, 5.0), p(1.0, 9.0)]).is_empty());
}

#[tokio::test]
async fn serves_the_app_and_the_public_apis_on_one_origin() {
    let s = serve().await;
    let http = reqwest::Client::new();
    let index = http.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert!(index.text().await.unwrap().contains("app.js"));
    for (path, kind) in [("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let r = http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(kind));
    }

    let (token, project) = login(&s.base).await;
    // Cinder under /api/volume, as on its own port: authentication reads
    // the path below the prefix.
    let created: Value = http
        .post(format!("{}/api/volume/v3/{project}/volumes", s.base))
        .header("x-auth-token", &token)
        .json(&json!({"volume": {"size": 1, "name": "c1"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["volume"]["id"].as_str().unwrap().to_string();
    let attachments = http
        .get(format!("{}/api/volume/v3/{project}/attachments", s.base))
        .header("x-auth-token", &token)
        .header("openstack-api-version", "volume 3.27")
        .send()
        .await
        .unwrap();
    assert_eq!(attachments.status(), StatusCode::OK);
    let unknown = http
        .get(format!("{}/api/volume/v3/{project}/nothing-here", s.base))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let servers = http
        .get(format!(
            "{}/api/compute/v2.1/{project}/servers/detail",
            s.base
        ))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(servers.status(), StatusCode::OK);
    let images = http
        .get(format!("{}/api/image/v2/images", s.base))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(images.status(), StatusCode::OK);

    // The series: empty before any I/O, rates once sampled.
    let series = |path: String, token: Option<&str>| {
        let mut req = http.get(format!("{}{path}", s.base));
        if let Some(t) = token {
            req = req.header("x-auth-token", t);
        }
        req.send()
    };
    let path = format!("/console/series/volumes/{id}");
    let empty: Value = series(path.clone(), Some(&token))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["iops"], json!([]));
    let ops = s
        .registry
        .counter_vec(NBD_REQUESTS, "Requests.", &["volume", "op"]);
    let bytes = s
        .registry
        .counter_vec(NBD_BYTES, "Bytes.", &["volume", "op"]);
    for t in 0..3 {
        ops.inc_by(&[&id, "write"], 10.0);
        bytes.inc_by(&[&id, "write"], 40960.0);
        s.history.sample(&s.registry, 100.0 + 2.0 * t as f64);
    }
    let got: Value = series(path.clone(), Some(&token))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got["iops"],
        json!([{"label": "write", "points": [[102.0, 5.0], [104.0, 5.0]]}])
    );
    assert_eq!(got["throughput"][0]["points"][1], json!([104.0, 20480.0]));

    // No token, a bad token, a volume that is not there.
    let r = series(path.clone(), None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = series(path.clone(), Some("nope")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = series("/console/series/volumes/nope".into(), Some(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let pools: Value = series("/console/series/pools".into(), Some(&token))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pools["pools"], json!([]));
    let jobs = series("/console/jobs".into(), Some(&token)).await.unwrap();
    assert_eq!(jobs.status(), StatusCode::OK);
    let r = series("/console/nothing".into(), Some(&token))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
