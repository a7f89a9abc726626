//! AK/SK: access keys issued at the shell and through the identity API,
//! Cinder requests signed with them (SDK-HMAC-SHA256), and every way a
//! signed request is refused without changing anything.

mod common;

use std::process::Command;

use common::aksk_signer::{send, Keys, Tamper};
use common::{admin, login, Reply, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::OffsetDateTime;

fn platter_admin(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_platter"))
        .arg("admin")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "platter admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

#[tokio::test]
async fn signed_requests_are_accepted_and_bad_ones_refused_without_effect() {
    let server = Server::start();
    let admin = admin(&server).await;
    let http = reqwest::Client::new();

    // A key made at the shell, for the bootstrap admin.
    let out = platter_admin(
        &server,
        &[
            "credential",
            "create",
            "--user",
            "admin",
            "--description",
            "ci",
        ],
    );
    let shell_keys = Keys {
        access: field(&out, "access_key").to_string(),
        secret: field(&out, "secret_key").to_string(),
    };
    assert_eq!(field(&out, "user_id"), admin.user_id);
    assert_eq!(shell_keys.access.len(), 20);
    assert_eq!(shell_keys.secret.len(), 40);
    assert!(
        platter_admin(&server, &["credential", "list", "--user", "admin"])
            .contains(&shell_keys.access)
    );

    let volumes = format!("{}/v3/{}/volumes", server.volume_url(), admin.project_id);
    let r = send(
        &http,
        &shell_keys,
        Method::GET,
        &volumes,
        None,
        Tamper::default(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["volumes"], json!([]));
    // v2, with a query string.
    let url = format!(
        "{}/v2/{}/volumes/detail?limit=5&sort=created_at:desc",
        server.volume_url(),
        admin.project_id
    );
    let r = send(
        &http,
        &shell_keys,
        Method::GET,
        &url,
        None,
        Tamper::default(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // A key made through the identity API, by a member for themself.
    platter_admin(&server, &["project", "create", "akproj"]);
    platter_admin(
        &server,
        &[
            "user",
            "create",
            "akuser",
            "--password",
            "pw",
            "--project",
            "akproj",
        ],
    );
    let member = login(&server, "akuser", "pw", "akproj").await;
    let r = member
        .identity(
            Method::POST,
            "/v3.0/OS-CREDENTIAL/credentials",
            Some(json!({"credential": {"user_id": member.user_id, "description": "sdk"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = &r.body["credential"];
    assert_eq!(c["status"], "active");
    assert_eq!(c["user_id"], json!(member.user_id));
    assert_eq!(c["description"], "sdk");
    let keys = Keys {
        access: c["access"].as_str().unwrap().to_string(),
        secret: c["secret"].as_str().unwrap().to_string(),
    };
    let base = format!("{}/v3/{}", server.volume_url(), member.project_id);
    let volumes = format!("{base}/volumes");

    let r = send(&http, &keys, Method::GET, &volumes, None, Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let create = json!({"volume": {"size": 1, "name": "signed"}}).to_string();
    let refused: Vec<(&str, Reply, StatusCode)> = vec![
        (
            "wrong secret",
            send(
                &http,
                &Keys {
                    access: keys.access.clone(),
                    secret: "x".repeat(40),
                },
                Method::POST,
                &volumes,
                Some(&create),
                Tamper::default(),
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "tampered body",
            send(
                &http,
                &keys,
                Method::POST,
                &volumes,
                Some(&create),
                Tamper {
                    body: Some(json!({"volume": {"size": 50, "name": "signed"}}).to_string()),
                    ..Default::default()
                },
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "expired date",
            send(
                &http,
                &keys,
                Method::POST,
                &volumes,
                Some(&create),
                Tamper {
                    at: Some(OffsetDateTime::now_utc() - time::Duration::minutes(20)),
                    ..Default::default()
                },
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "future date",
            send(
                &http,
                &keys,
                Method::POST,
                &volumes,
                Some(&create),
                Tamper {
                    at: Some(OffsetDateTime::now_utc() + time::Duration::minutes(20)),
                    ..Default::default()
                },
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown key",
            send(
                &http,
                &Keys {
                    access: "A".repeat(20),
                    secret: keys.secret.clone(),
                },
                Method::POST,
                &volumes,
                Some(&create),
                Tamper::default(),
            )
            .await,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "another project in the URL",
            send(
                &http,
                &keys,
                Method::POST,
                &format!("{}/v3/{}/volumes", server.volume_url(), admin.project_id),
                Some(&create),
                Tamper::default(),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "X-Project-Id of another project",
            send(
                &http,
                &keys,
                Method::POST,
                &volumes,
                Some(&create),
                Tamper {
                    project_header: Some(admin.project_id.clone()),
                    ..Default::default()
                },
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, r, status) in &refused {
        assert_eq!(r.status, *status, "{what}: {}", r.body);
        let (name, message) = r.fault();
        if *status == StatusCode::UNAUTHORIZED {
            assert_eq!(name, "unauthorized", "{what}");
            assert!(r.headers.contains_key("www-authenticate"), "{what}");
        } else {
            assert_eq!(
                (name.as_str(), message.as_str()),
                ("badRequest", "Malformed request url"),
                "{what}"
            );
        }
    }
    // Nothing was created, in either project.
    for c in [&member, &admin] {
        let r = c.get("/volumes?all_tenants=1").await;
        assert_eq!(r.body["volumes"], json!([]), "{}", r.body);
    }

    // The genuine request does create, as the key's user in the URL's project.
    let r = send(
        &http,
        &keys,
        Method::POST,
        &volumes,
        Some(&create),
        Tamper {
            project_header: Some(member.project_id.clone()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["volume"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["volume"]["user_id"], json!(member.user_id));
    let shown = member.get(&format!("/volumes/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK);

    // last_use_time is recorded; the list carries no secret.
    let r = member
        .identity(
            Method::GET,
            &format!("/v3.0/OS-CREDENTIAL/credentials/{}", keys.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body["credential"]["last_use_time"].is_string(),
        "{}",
        r.body
    );
    assert!(r.body["credential"].get("secret").is_none());
    let r = member
        .identity(Method::GET, "/v3.0/OS-CREDENTIAL/credentials", None)
        .await;
    let listed = r.body["credentials"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "only their own: {}", r.body);
    assert!(listed[0].get("secret").is_none());

    // A member cannot see or make another user's keys; an admin can.
    let other = format!("/v3.0/OS-CREDENTIAL/credentials/{}", shell_keys.access);
    let r = member.identity(Method::GET, &other, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = member
        .identity(
            Method::POST,
            "/v3.0/OS-CREDENTIAL/credentials",
            Some(json!({"credential": {"user_id": admin.user_id}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"]["code"], 403);
    let r = admin
        .identity(
            Method::GET,
            &format!("/v3.0/OS-CREDENTIAL/credentials?user_id={}", member.user_id),
            None,
        )
        .await;
    assert_eq!(r.body["credentials"][0]["access"], json!(keys.access));

    // Deactivated, the key signs nothing; active again, it does.
    let key_path = format!("/v3.0/OS-CREDENTIAL/credentials/{}", keys.access);
    let r = member
        .identity(
            Method::PUT,
            &key_path,
            Some(json!({"credential": {"status": "inactive", "description": "off"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["credential"]["status"], "inactive");
    let r = send(&http, &keys, Method::GET, &volumes, None, Tamper::default()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = member
        .identity(
            Method::PUT,
            &key_path,
            Some(json!({"credential": {"status": "disabled"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    member
        .identity(
            Method::PUT,
            &key_path,
            Some(json!({"credential": {"status": "active"}})),
        )
        .await;
    let r = send(&http, &keys, Method::GET, &volumes, None, Tamper::default()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Deleted, it is gone.
    let r = member.identity(Method::DELETE, &key_path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(&http, &keys, Method::GET, &volumes, None, Tamper::default()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    platter_admin(&server, &["credential", "delete", &shell_keys.access]);
    assert!(!platter_admin(&server, &["credential", "list"]).contains(&shell_keys.access));
}
