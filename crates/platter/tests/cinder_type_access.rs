//! Private volume types and their project access, and encryption specs
//! (recorded, never used to make volumes), through the real server.

mod common;

use common::{admin, Server};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_private_type_is_only_for_the_projects_given_access() {
    let server = Server::start();
    let adm = admin(&server).await;
    let m = adm.new_project_user(&server, "p", "u", "member").await;
    let r = adm
        .post(
            "/types",
            json!({"volume_type": {"name": "secret", "os-volume-type-access:is_public": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let tid = r.body["volume_type"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["volume_type"]["is_public"], false);

    // Hidden from the member: not listed, not shown, not usable.
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["volume_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!names(&m.get("/types").await.body).contains(&"secret".to_string()));
    assert!(names(&adm.get("/types").await.body).contains(&"secret".to_string()));
    assert!(!names(&adm.get("/types?is_public=true").await.body).contains(&"secret".to_string()));
    assert_eq!(
        m.get(&format!("/types/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
    let plain = m.volume(json!({"size": 1})).await;
    let r = m
        .post(
            &format!("/volumes/{}/action", plain["id"].as_str().unwrap()),
            json!({"os-retype": {"new_type": "secret"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = m
        .post(
            "/volumes",
            json!({"volume": {"size": 1, "volume_type": tid}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Given access, the member uses it.
    let add = json!({"addProjectAccess": {"project": m.project_id}});
    let r = adm.post(&format!("/types/{tid}/action"), add.clone()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        adm.post(&format!("/types/{tid}/action"), add).await.status,
        StatusCode::CONFLICT
    );
    let r = adm
        .get(&format!("/types/{tid}/os-volume-type-access"))
        .await;
    assert_eq!(
        r.body,
        json!({"volume_type_access": [{"volume_type_id": tid, "project_id": m.project_id}]})
    );
    assert!(names(&m.get("/types").await.body).contains(&"secret".to_string()));
    let v = m.volume(json!({"size": 1, "volume_type": tid})).await;
    assert_eq!(v["volume_type"], "secret");

    // Taken back; access to public types is not a thing; members cannot.
    let remove = json!({"removeProjectAccess": {"project": m.project_id}});
    assert_eq!(
        adm.post(&format!("/types/{tid}/action"), remove.clone())
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        adm.post(&format!("/types/{tid}/action"), remove)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        m.get(&format!("/types/{tid}")).await.status,
        StatusCode::NOT_FOUND
    );
    let public = adm.get("/types/default").await.body["volume_type"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = adm
        .post(
            &format!("/types/{public}/action"),
            json!({"addProjectAccess": {"project": m.project_id}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.starts_with("Invalid volume type"), "{}", r.body);
    let r = m
        .post(
            &format!("/types/{tid}/action"),
            json!({"addProjectAccess": {"project": m.project_id}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn encryption_specs_are_recorded_and_their_types_make_no_volumes() {
    let server = Server::start();
    let c = admin(&server).await;
    let r = c
        .post("/types", json!({"volume_type": {"name": "luks"}}))
        .await;
    let tid = r.body["volume_type"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(&format!("/types/{tid}/encryption")).await.body,
        json!({})
    );
    let spec = json!({"encryption": {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256, "control_location": "front-end"}});
    let r = c
        .post(&format!("/types/{tid}/encryption"), spec.clone())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let eid = r.body["encryption"]["encryption_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r.body["encryption"]["key_size"], 256);
    // One spec per type.
    assert_eq!(
        c.post(&format!("/types/{tid}/encryption"), spec)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = c.get(&format!("/types/{tid}/encryption/cipher")).await;
    assert_eq!(r.body, json!({"cipher": "aes-xts-plain64"}));

    // Platter does not encrypt: no volume of the type is made.
    let r = c
        .post(
            "/volumes",
            json!({"volume": {"size": 1, "volume_type": "luks"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.fault().1.contains("key manager"), "{}", r.body);

    let r = c
        .put(
            &format!("/types/{tid}/encryption/{eid}"),
            json!({"encryption": {"key_size": 128, "control_location": "back-end"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let shown = c.get(&format!("/types/{tid}/encryption")).await.body;
    assert_eq!(
        (
            shown["key_size"].clone(),
            shown["control_location"].clone(),
            shown["provider"].clone()
        ),
        (json!(128), json!("back-end"), json!("luks"))
    );
    let r = c
        .put(
            &format!("/types/{tid}/encryption/{eid}"),
            json!({"encryption": {"control_location": "middle"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        c.delete(&format!("/types/{tid}/encryption/wrong"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.delete(&format!("/types/{tid}/encryption/{eid}"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        c.get(&format!("/types/{tid}/encryption")).await.body,
        json!({})
    );
    // Without the spec the type makes volumes again.
    assert_eq!(
        c.volume(json!({"size": 1, "volume_type": "luks"})).await["status"],
        "available"
    );
    let missing = "6a7bd0b9-6cb8-4a9a-9a9f-3b1f9e3e0a11";
    let r = c
        .post(
            &format!("/types/{missing}/encryption"),
            json!({"encryption": {"provider": "luks"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_projects_default_type_is_what_its_volumes_get_without_one() {
    let server = Server::start();
    let adm = admin(&server).await;
    let m = adm.new_project_user(&server, "p", "u", "member").await;
    let url = |p: &str| format!("{}/v3/default-types/{p}", adm.volume_url);
    let call =
        |method: reqwest::Method, url: String, body: Option<serde_json::Value>, token: String| {
            let http = adm.http.clone();
            async move {
                let mut req = http
                    .request(method, url)
                    .header("X-Auth-Token", token)
                    .header("OpenStack-API-Version", "volume 3.62");
                if let Some(b) = body {
                    req = req.json(&b);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status();
                let text = resp.text().await.unwrap();
                (
                    status,
                    serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default(),
                )
            }
        };
    let ssd = adm.get("/types/SSD").await.body["volume_type"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = call(
        reqwest::Method::PUT,
        url(&m.project_id),
        Some(json!({"default_type": {"volume_type": "SSD"}})),
        adm.token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"default_type": {"project_id": m.project_id, "volume_type_id": ssd}})
    );
    let (status, body) = call(
        reqwest::Method::GET,
        url(&m.project_id),
        None,
        adm.token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["default_type"]["volume_type_id"], ssd.as_str());
    let (_, body) = call(
        reqwest::Method::GET,
        format!("{}/v3/default-types", adm.volume_url),
        None,
        adm.token.clone(),
    )
    .await;
    assert_eq!(body["default_types"].as_array().unwrap().len(), 1);

    // The member's volumes without a type are SSD; the admin's stay SAS.
    assert_eq!(m.volume(json!({"size": 1})).await["volume_type"], "SSD");
    assert_eq!(
        m.get("/types/default").await.body["volume_type"]["name"],
        "SSD"
    );
    assert_eq!(adm.volume(json!({"size": 1})).await["volume_type"], "SAS");
    // A type that is some project's default is not deleted.
    assert_eq!(
        adm.delete(&format!("/types/{ssd}")).await.status,
        StatusCode::BAD_REQUEST
    );

    // Members may not set defaults; below 3.62 there is no such API.
    let (status, _) = call(
        reqwest::Method::GET,
        url(&m.project_id),
        None,
        m.token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let r = common::raw(
        &adm.http,
        reqwest::Method::GET,
        &url(&m.project_id),
        Some(&adm.token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let (status, _) = call(
        reqwest::Method::DELETE,
        url(&m.project_id),
        None,
        adm.token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        reqwest::Method::DELETE,
        url(&m.project_id),
        None,
        adm.token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(m.volume(json!({"size": 1})).await["volume_type"], "SAS");
}
