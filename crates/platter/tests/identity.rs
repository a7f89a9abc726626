//! The Keystone v3 subset: tokens, their lifecycle, and administration.

mod common;

use common::{admin, login, raw, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn password_auth(user: &str, password: &str, scope: Value) -> String {
    let mut auth = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}});
    if !scope.is_null() {
        auth["auth"]["scope"] = scope;
    }
    auth.to_string()
}

#[tokio::test]
async fn tokens_are_issued_validated_and_revoked() {
    let server = Server::start();
    let http = reqwest::Client::new();
    let url = format!("{}/v3/auth/tokens", server.identity_url());

    let scope = json!({"project": {"name": "admin", "domain": {"name": "Default"}}});
    let r = raw(
        &http,
        Method::POST,
        &url,
        None,
        Some(&password_auth("admin", ADMIN_PASSWORD, scope.clone())),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.headers["x-subject-token"].to_str().unwrap().to_string();
    let t = &r.body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(t["user"]["domain"]["name"], "Default");
    assert_eq!(t["project"]["name"], "admin");
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "admin"));
    let project_id = t["project"]["id"].as_str().unwrap();
    let types: Vec<&str> = t["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    for kind in ["identity", "block-storage", "volumev3", "volumev2"] {
        assert!(types.contains(&kind), "{kind} in {types:?}");
    }
    let v3 = t["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "volumev3")
        .unwrap();
    let public = v3["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["interface"] == "public")
        .unwrap();
    assert_eq!(
        public["url"],
        format!("{}/v3/{project_id}", server.volume_url())
    );

    // Wrong password, unknown user, unknown project: 401 in Keystone's format.
    for body in [
        password_auth("admin", "wrong", scope.clone()),
        password_auth("nobody", "x", scope.clone()),
        password_auth(
            "admin",
            ADMIN_PASSWORD,
            json!({"project": {"name": "nope", "domain": {"name": "Default"}}}),
        ),
    ] {
        let r = raw(&http, Method::POST, &url, None, Some(&body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        assert_eq!(r.body["error"]["code"], 401);
        assert_eq!(r.body["error"]["title"], "Unauthorized");
    }
    let r = raw(&http, Method::POST, &url, None, Some("{bad")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["error"]["code"], 400);

    // Validate, check and rescope with the token method.
    let validate = |subject: String| {
        let http = http.clone();
        let url = url.clone();
        let token = token.clone();
        async move {
            http.get(&url)
                .header("X-Auth-Token", &token)
                .header("X-Subject-Token", subject)
                .send()
                .await
                .unwrap()
        }
    };
    let resp = validate(token.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = format!(
        r#"{{"auth": {{"identity": {{"methods": ["token"], "token": {{"id": "{token}"}}}}, "scope": {{"project": {{"id": "{project_id}"}}}}}}}}"#
    );
    let r = raw(&http, Method::POST, &url, None, Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["token"]["methods"], json!(["password", "token"]));
    let rescoped = r.headers["x-subject-token"].to_str().unwrap().to_string();

    // Unscoped tokens have no catalog; /v3/auth/projects lists scopable projects.
    let r = raw(
        &http,
        Method::POST,
        &url,
        None,
        Some(&password_auth("admin", ADMIN_PASSWORD, json!("unscoped"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body["token"].get("project").is_none());
    let unscoped = r.headers["x-subject-token"].to_str().unwrap().to_string();
    let r = raw(
        &http,
        Method::GET,
        &format!("{}/v3/auth/projects", server.identity_url()),
        Some(&unscoped),
        None,
    )
    .await;
    assert_eq!(r.body["projects"][0]["name"], "admin");
    // An unscoped token cannot use the block-storage API.
    let r = raw(
        &http,
        Method::GET,
        &format!("{}/v3/{project_id}/volumes", server.volume_url()),
        Some(&unscoped),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Revocation: the token and those issued from it stop working.
    let resp = http
        .delete(&url)
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let vols = format!("{}/v3/{project_id}/volumes", server.volume_url());
    for t in [&token, &rescoped] {
        let r = raw(&http, Method::GET, &vols, Some(t), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "revoked token still works"
        );
    }
}

#[tokio::test]
async fn admin_manages_projects_users_and_roles() {
    let server = Server::start();
    let a = admin(&server).await;
    let u2 = a.new_project_user(&server, "p2", "u2", "member").await;

    // Names are unique per domain.
    let r = a
        .identity(
            Method::POST,
            "/v3/projects",
            Some(json!({"project": {"name": "p2"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = a
        .identity(
            Method::POST,
            "/v3/projects",
            Some(json!({"project": {"nom": "x"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = a.identity(Method::GET, "/v3/projects?name=p2", None).await;
    assert_eq!(r.body["projects"].as_array().unwrap().len(), 1);
    let r = a.identity(Method::GET, "/v3/users?name=u2", None).await;
    assert_eq!(r.body["users"][0]["id"], u2.user_id.as_str());
    let r = a
        .identity(
            Method::GET,
            &format!(
                "/v3/role_assignments?user.id={}&include_names=1",
                u2.user_id
            ),
            None,
        )
        .await;
    let ra = &r.body["role_assignments"][0];
    assert_eq!(ra["role"]["name"], "member");
    assert_eq!(ra["scope"]["project"]["name"], "p2");

    // A member is not an identity admin.
    let r = u2.identity(Method::GET, "/v3/users", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"]["code"], 403);
    let r = u2
        .identity(
            Method::POST,
            "/v3/projects",
            Some(json!({"project": {"name": "p3"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Removing the role ends the user's access to the project.
    let roles = a.identity(Method::GET, "/v3/roles?name=member", None).await;
    let rid = roles.body["roles"][0]["id"].as_str().unwrap();
    let path = format!(
        "/v3/projects/{}/users/{}/roles/{rid}",
        u2.project_id, u2.user_id
    );
    assert_eq!(
        a.identity(Method::HEAD, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.identity(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.identity(Method::HEAD, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(u2.get("/volumes").await.status, StatusCode::UNAUTHORIZED);

    // Changing a password revokes the user's tokens; the new one works.
    assert_eq!(
        a.identity(Method::PUT, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    let u2 = login(&server, "u2", "pw", "p2").await;
    let r = a
        .identity(
            Method::PATCH,
            &format!("/v3/users/{}", u2.user_id),
            Some(json!({"user": {"password": "pw2"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(u2.get("/volumes").await.status, StatusCode::UNAUTHORIZED);
    login(&server, "u2", "pw2", "p2").await;

    // Disabled projects cannot be logged in to.
    let r = a
        .identity(
            Method::PATCH,
            &format!("/v3/projects/{}", u2.project_id),
            Some(json!({"project": {"enabled": false}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let body = password_auth(
        "u2",
        "pw2",
        json!({"project": {"name": "p2", "domain": {"name": "Default"}}}),
    );
    let r = raw(
        &a.http,
        Method::POST,
        &format!("{}/v3/auth/tokens", server.identity_url()),
        None,
        Some(&body),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Unknown identity paths answer in Keystone's format.
    let r = a.identity(Method::GET, "/v3/nothing-here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], 404);
}

#[tokio::test]
async fn version_documents_are_open() {
    let server = Server::start();
    let http = reqwest::Client::new();
    let r = raw(
        &http,
        Method::GET,
        &format!("{}/", server.identity_url()),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(r.body["versions"]["values"][0]["id"], "v3.14");
    let r = raw(
        &http,
        Method::GET,
        &format!("{}/v3", server.identity_url()),
        None,
        None,
    )
    .await;
    assert_eq!(r.body["version"]["status"], "stable");
    assert!(r.headers.contains_key("x-openstack-request-id"));
}

/// Keystone never refuses a project delete for what other services hold
/// (Tempest's credential cleanup relies on it): the project's volumes stay,
/// visible to and deletable by admins.
#[tokio::test]
async fn deleting_a_project_that_owns_volumes_keeps_the_volumes() {
    let server = Server::start();
    let a = admin(&server).await;
    let u = a.new_project_user(&server, "doomed", "ud", "member").await;
    let v = u.volume(json!({"size": 1, "name": "orphan"})).await;
    let vid = v["id"].as_str().unwrap().to_string();

    let r = a
        .identity(
            Method::DELETE,
            &format!("/v3/projects/{}", u.project_id),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = a
        .identity(Method::GET, &format!("/v3/projects/{}", u.project_id), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The project's token no longer works; the volume is still there.
    assert_eq!(u.get("/volumes").await.status, StatusCode::UNAUTHORIZED);
    let r = a.get(&format!("/volumes/{vid}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["volume"]["os-vol-tenant-attr:tenant_id"],
        u.project_id.as_str()
    );
    assert_eq!(r.body["volume"]["status"], "available");
    // And an admin can delete it.
    let r = a.delete(&format!("/volumes/{vid}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

fn keystone_error(r: &common::Reply, code: u16, title: &str, message: &str) {
    assert_eq!(r.status.as_u16(), code, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert_eq!(r.body["error"]["title"], title, "{}", r.body);
    assert_eq!(r.body["error"]["message"], message, "{}", r.body);
}

/// Issue 14, finding D: a project's (and a user's) domain cannot change;
/// Keystone answers 400 `Cannot change Domain ID`, and the same domain is
/// accepted.
#[tokio::test]
async fn a_projects_or_users_domain_cannot_change() {
    let server = Server::start();
    let a = admin(&server).await;
    let r = a
        .identity(
            Method::POST,
            "/v3/projects",
            Some(json!({"project": {"name": "pd"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let pid = r.body["project"]["id"].as_str().unwrap().to_string();
    let r = a
        .identity(
            Method::POST,
            "/v3/users",
            Some(json!({"user": {"name": "ud", "password": "pw"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let uid = r.body["user"]["id"].as_str().unwrap().to_string();
    for (path, key) in [
        (format!("/v3/projects/{pid}"), "project"),
        (format!("/v3/users/{uid}"), "user"),
    ] {
        let r = a
            .identity(
                Method::PATCH,
                &path,
                Some(json!({key: {"domain_id": "another", "description": "moved"}})),
            )
            .await;
        keystone_error(&r, 400, "Bad Request", "Cannot change Domain ID");
        let r = a.identity(Method::GET, &path, None).await;
        assert_eq!(r.body[key]["domain_id"], "default", "{}", r.body);
        assert_ne!(r.body[key]["description"], "moved", "{}", r.body);
        // Naming the domain it is in changes nothing and is allowed.
        let r = a
            .identity(
                Method::PATCH,
                &path,
                Some(json!({key: {"domain_id": "default", "description": "same"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body[key]["domain_id"], "default", "{}", r.body);
        assert_eq!(r.body[key]["description"], "same", "{}", r.body);
    }
}

/// Issue 14, finding E: grant paths take role ids, as Keystone's do; a role
/// name there is a role that does not exist (404 `Could not find role:`).
#[tokio::test]
async fn grant_paths_take_role_ids_not_names() {
    let server = Server::start();
    let a = admin(&server).await;
    let u = a.new_project_user(&server, "pe", "ue", "member").await;
    let r = a
        .identity(
            Method::POST,
            "/v3/projects",
            Some(json!({"project": {"name": "pe2"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p2 = r.body["project"]["id"].as_str().unwrap().to_string();
    let by_name = format!("/v3/projects/{p2}/users/{}/roles/member", u.user_id);
    for method in [Method::PUT, Method::DELETE] {
        let r = a.identity(method, &by_name, None).await;
        keystone_error(&r, 404, "Not Found", "Could not find role: member.");
    }
    let r = a.identity(Method::HEAD, &by_name, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = a
        .identity(
            Method::GET,
            &format!("/v3/role_assignments?user.id={}", u.user_id),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let scopes: Vec<&str> = r.body["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|ra| ra["scope"]["project"]["id"].as_str())
        .collect();
    assert!(!scopes.contains(&p2.as_str()), "{}", r.body);

    // Groups: the same, for Keystone's and the system policies' names.
    let r = a
        .identity(
            Method::POST,
            "/v3/groups",
            Some(json!({"group": {"name": "ge"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["group"]["id"].as_str().unwrap().to_string();
    for name in ["member", "EVS ReadOnlyAccess"] {
        let r = a
            .identity(
                Method::PUT,
                &format!("/v3/projects/{p2}/groups/{gid}/roles/{name}"),
                None,
            )
            .await;
        keystone_error(
            &r,
            404,
            "Not Found",
            &format!("Could not find role: {name}."),
        );
    }
    // What `openstack role add` does: look the name up, then use the id.
    let r = a
        .identity(Method::GET, "/v3/roles?name=EVS%20ReadOnlyAccess", None)
        .await;
    let rid = r.body["roles"][0]["id"].as_str().unwrap().to_string();
    let r = a
        .identity(
            Method::PUT,
            &format!("/v3/projects/{p2}/groups/{gid}/roles/{rid}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = a.identity(Method::GET, "/v3/roles?name=member", None).await;
    let member = r.body["roles"][0]["id"].as_str().unwrap().to_string();
    let by_id = format!("/v3/projects/{p2}/users/{}/roles/{member}", u.user_id);
    let r = a.identity(Method::PUT, &by_id, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = a.identity(Method::HEAD, &by_id, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

/// Issue 14, finding F: only a token's owner or an admin may validate,
/// check or revoke it.
#[tokio::test]
async fn only_a_tokens_owner_or_an_admin_may_validate_check_or_revoke_it() {
    let server = Server::start();
    let a = admin(&server).await;
    let ua = a.new_project_user(&server, "pfa", "ufa", "member").await;
    let ub = a.new_project_user(&server, "pfb", "ufb", "member").await;
    let url = format!("{}/v3/auth/tokens", server.identity_url());
    let call = |method: Method, caller: String, subject: String| {
        let http = a.http.clone();
        let url = url.clone();
        async move {
            let resp = http
                .request(method, &url)
                .header("X-Auth-Token", caller)
                .header("X-Subject-Token", subject)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let bytes = resp.bytes().await.unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (status, body)
        }
    };
    let (status, body) = call(Method::GET, ua.token.clone(), ub.token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], 403, "{body}");
    assert_eq!(
        body["error"]["message"],
        "You are not authorized to perform the requested action: identity:validate_token.",
        "{body}"
    );
    let (status, _) = call(Method::HEAD, ua.token.clone(), ub.token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(Method::DELETE, ua.token.clone(), ub.token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["error"]["message"],
        "You are not authorized to perform the requested action: identity:revoke_token.",
        "{body}"
    );
    assert_eq!(ub.get("/volumes").await.status, StatusCode::OK);

    // The owner may; an admin may.
    let (status, body) = call(Method::GET, ua.token.clone(), ua.token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"]["user"]["id"], ua.user_id, "{body}");
    let (status, _) = call(Method::HEAD, ua.token.clone(), ua.token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(Method::GET, a.token.clone(), ub.token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"]["user"]["name"], "ufb", "{body}");
    let (status, body) = call(Method::DELETE, a.token.clone(), ub.token.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(ub.get("/volumes").await.status, StatusCode::UNAUTHORIZED);
    // A token that is gone is not found, whoever asks.
    let (status, body) = call(Method::GET, ua.token.clone(), ub.token.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["message"], "Could not find token.", "{body}");
}
