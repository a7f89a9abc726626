//! `Content-Type` on JSON endpoints (issue 14, finding C): a body of another
//! media type is refused as each upstream refuses it, in the family's error
//! format, and nothing is created; what real clients send (`application/json`,
//! with or without `; charset=UTF-8`, or no type at all) keeps working.

mod common;

use common::{admin, Client, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Sends `body` with `content_type` (none when `None`); returns status and
/// JSON body (`Null` when empty).
async fn send(
    c: &Client,
    method: Method,
    url: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut req = c
        .http
        .request(method, url)
        .header("X-Auth-Token", &c.token)
        .body(body.to_string());
    if let Some(t) = content_type {
        req = req.header("Content-Type", t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let bytes = resp.bytes().await.expect("body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (status, value)
}

async fn volume_count(c: &Client) -> usize {
    let r = c.get("/volumes").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["volumes"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn cinder_refuses_a_body_that_is_not_json_and_creates_nothing() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = c.url("/volumes");
    let body = json!({"volume": {"size": 1, "name": "ct"}}).to_string();
    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        let (status, reply) = send(&c, Method::POST, &url, Some(ct), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct}: {reply}");
        assert_eq!(reply["badRequest"]["code"], 400, "{ct}: {reply}");
        assert_eq!(
            reply["badRequest"]["message"],
            format!("Invalid content type {ct}."),
            "{reply}"
        );
    }
    assert_eq!(volume_count(&c).await, 0);
    // What clients send keeps working.
    for ct in [
        Some("application/json"),
        Some("application/json; charset=UTF-8"),
        Some("application/vnd.openstack.volume+json"),
        None,
    ] {
        let (status, reply) = send(&c, Method::POST, &url, ct, &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ct:?}: {reply}");
        assert_eq!(reply["volume"]["name"], "ct", "{reply}");
    }
    assert_eq!(volume_count(&c).await, 4);
    // Cinder's unknown paths keep Cinder's format, whatever the type.
    let (status, reply) = send(&c, Method::GET, &c.url("/nothing"), None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    assert_eq!(reply["itemNotFound"]["code"], 404, "{reply}");
}

#[tokio::test]
async fn evs_answers_415_in_its_format() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = format!("{}/v2.1/{}/cloudvolumes", c.volume_url, c.project_id);
    let body = json!({"volume": {"availability_zone": "nova", "volume_type": "SAS", "size": 10, "name": "ct"}})
        .to_string();
    for ct in ["text/plain", "application/xml"] {
        let (status, reply) = send(&c, Method::POST, &url, Some(ct), &body).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}: {reply}");
        assert_eq!(reply["error"]["code"], "EVS.5400", "{reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(ct) && message.contains("application/json"),
            "{reply}"
        );
    }
    assert_eq!(volume_count(&c).await, 0);
    let (status, reply) = send(
        &c,
        Method::POST,
        &url,
        Some("application/json;charset=UTF-8"),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    assert!(reply["job_id"].is_string(), "{reply}");
}

#[tokio::test]
async fn keystone_wants_json_and_says_so_in_its_format() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = format!("{}/v3/auth/tokens", server.identity_url());
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}
    }})
    .to_string();
    for ct in ["text/plain", "application/xml"] {
        let (status, reply) = send(&c, Method::POST, &url, Some(ct), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct}: {reply}");
        assert_eq!(reply["error"]["code"], 400, "{reply}");
        assert_eq!(reply["error"]["title"], "Bad Request", "{reply}");
        assert_eq!(
            reply["error"]["message"],
            "Expecting to find application/json in Content-Type header. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
            "{reply}"
        );
    }
    for ct in [
        Some("application/json"),
        Some("application/json; charset=UTF-8"),
        None,
    ] {
        let (status, reply) = send(&c, Method::POST, &url, ct, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{ct:?}: {reply}");
        assert_eq!(reply["token"]["user"]["name"], "admin", "{reply}");
    }
    // A request without a body is not judged by its type.
    let (status, reply) = send(
        &c,
        Method::GET,
        &format!("{}/v3/projects", server.identity_url()),
        Some("text/plain"),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

#[tokio::test]
async fn nova_answers_415_and_reads_text_plain_as_json_as_upstream_does() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = format!(
        "http://127.0.0.1:{}/v2.1/{}/os-volumes",
        server.compute_port, c.project_id
    );
    let body = json!({"volume": {"size": 1, "display_name": "ct"}}).to_string();
    let (status, reply) = send(&c, Method::POST, &url, Some("application/xml"), &body).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{reply}");
    assert_eq!(reply["badMediaType"]["code"], 415, "{reply}");
    assert_eq!(
        reply["badMediaType"]["message"], "Unsupported Content-Type",
        "{reply}"
    );
    assert_eq!(volume_count(&c).await, 0);
    // Nova takes text/plain (eventlet's default) as no type: the body is JSON.
    for ct in [Some("text/plain"), Some("application/json"), None] {
        let (status, reply) = send(&c, Method::POST, &url, ct, &body).await;
        assert_eq!(status, StatusCode::OK, "{ct:?}: {reply}");
        assert_eq!(reply["volume"]["displayName"], "ct", "{reply}");
    }
}

#[tokio::test]
async fn ecs_answers_415_in_its_format() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = format!(
        "http://127.0.0.1:{}/v1/{}/cloudservers",
        server.compute_port, c.project_id
    );
    let (status, reply) = send(&c, Method::POST, &url, Some("text/plain"), "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{reply}");
    assert_eq!(reply["error"]["code"], "Ecs.0005", "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("text/plain"),
        "{reply}"
    );
}

#[tokio::test]
async fn glance_reads_json_whatever_its_declared_type_as_upstream_does() {
    let server = Server::start();
    let c = admin(&server).await;
    let url = format!("{}/v2/images", server.image_url());
    let body = json!({"name": "ct", "disk_format": "raw", "container_format": "bare"}).to_string();
    let (status, reply) = send(&c, Method::POST, &url, Some("text/plain"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["name"], "ct", "{reply}");
}
