//! The OpenAPI documents under `docs/openapi/` are the ones the code
//! generates (`platter_api::openapi`): a route added, removed or
//! re-gated without regenerating them fails here.
//!
//! Regenerate with
//! `PLATTER_OPENAPI_WRITE=1 cargo test -p platter-api --test openapi`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use platter_api::{openapi, route_table, ApiState, PublicUrls};
use platter_backend::MemoryBackend;
use platter_service::{Platter, ServiceConfig};
use platter_store::Store;
use serde_json::Value;

const REGENERATE: &str = "PLATTER_OPENAPI_WRITE=1 cargo test -p platter-api --test openapi";

async fn state() -> (tempfile::TempDir, ApiState) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).await.unwrap();
    let platter = Platter::new(
        store,
        Arc::new(MemoryBackend::default()),
        ServiceConfig::default(),
    );
    let state = ApiState::new(
        platter,
        PublicUrls {
            identity: "http://127.0.0.1:5000".into(),
            image: "http://127.0.0.1:9292".into(),
            compute: "http://127.0.0.1:8774".into(),
            block_storage: "http://127.0.0.1:8776".into(),
            region: "RegionOne".into(),
        },
    );
    (dir, state)
}

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi")
}

fn text(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap();
    s.push('\n');
    s
}

async fn generated() -> Vec<(&'static str, Value)> {
    let (_dir, state) = state().await;
    openapi::documents(state)
        .into_iter()
        .map(|(family, doc)| {
            let doc = doc.unwrap_or_else(|| {
                panic!("no OpenAPI style for family {family}: add it to openapi::style")
            });
            (family, doc)
        })
        .collect()
}

#[tokio::test]
async fn checked_in_documents_match_the_code() {
    let docs = generated().await;
    let dir = docs_dir();
    if std::env::var_os("PLATTER_OPENAPI_WRITE").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for (family, doc) in &docs {
            std::fs::write(dir.join(format!("{family}.json")), text(doc)).unwrap();
        }
    }
    let mut drifted = Vec::new();
    for (family, doc) in &docs {
        let path = dir.join(format!("{family}.json"));
        match std::fs::read_to_string(&path) {
            Ok(on_disk) if on_disk == text(doc) => {}
            Ok(_) => drifted.push(format!("docs/openapi/{family}.json differs from the code")),
            Err(e) => drifted.push(format!("docs/openapi/{family}.json: {e}")),
        }
    }
    // No document of a family that is gone.
    let families: BTreeSet<String> = docs.iter().map(|(f, _)| format!("{f}.json")).collect();
    for entry in std::fs::read_dir(&dir).into_iter().flatten() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".json") && !families.contains(&name) {
            drifted.push(format!("docs/openapi/{name} is no family's"));
        }
    }
    assert!(
        drifted.is_empty(),
        "the OpenAPI documents drifted from the code:\n  {}\nregenerate them with `{REGENERATE}` and review the diff",
        drifted.join("\n  ")
    );
}

#[tokio::test]
async fn documents_cover_the_route_table() {
    let docs = generated().await;
    let (_dir, state) = state().await;
    let table = route_table(state);
    assert_eq!(
        docs.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
        openapi::families()
    );
    for (family, doc) in &docs {
        assert_eq!(doc["openapi"], "3.0.3", "{family}");
        let routes: BTreeSet<(String, String)> = table
            .iter()
            .filter(|(f, _)| f == family)
            .map(|(_, e)| (e.method.as_str().to_ascii_lowercase(), e.path.clone()))
            .collect();
        let paths = doc["paths"].as_object().unwrap();
        let mut operations = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (path, item) in paths {
            let declared: BTreeSet<&str> = item["parameters"]
                .as_array()
                .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
                .unwrap_or_default();
            let templated: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, templated, "{family} {path}: path parameters");
            for (method, op) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                operations.insert((method.clone(), path.clone()));
                let id = op["operationId"].as_str().unwrap().to_string();
                assert!(ids.insert(id.clone()), "{family}: operationId {id} twice");
                assert!(
                    !op["x-platter-actions"].as_array().unwrap().is_empty(),
                    "{family} {method} {path}: no actions"
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key("default"),
                    "{family} {method} {path}"
                );
                if method != "head" {
                    assert!(responses.contains_key("4XX"), "{family} {method} {path}");
                }
            }
        }
        assert_eq!(operations, routes, "{family}: operations are the routes");
        assert_eq!(operations.len(), routes.len());
    }
}

fn family<'a>(docs: &'a [(&'static str, Value)], name: &str) -> &'a Value {
    &docs.iter().find(|(f, _)| *f == name).unwrap().1
}

#[tokio::test]
async fn known_operations_are_described() {
    let docs = generated().await;

    // Cinder: a volume, its project and id as path parameters, behind a
    // token, refused in Cinder's keyed format.
    let cinder = family(&docs, "cinder");
    let item = &cinder["paths"]["/v3/{project_id}/volumes/{volume_id}"];
    let names: Vec<&str> = item["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["project_id", "volume_id"]);
    assert_eq!(item["parameters"][1]["in"], "path");
    assert_eq!(item["parameters"][1]["schema"]["type"], "string");
    let get = &item["get"];
    assert_eq!(get["operationId"], "get_v3_project_id_volumes_volume_id");
    assert_eq!(get["x-platter-actions"], serde_json::json!(["VolumeGet"]));
    assert_eq!(
        get["x-platter-iam-actions"],
        serde_json::json!(["evs:volumes:get"])
    );
    assert_eq!(get["security"][0]["token"], serde_json::json!([]));
    let not_found =
        &cinder["components"]["responses"]["Error404"]["content"]["application/json"]["schema"];
    assert_eq!(not_found["required"], serde_json::json!(["itemNotFound"]));
    assert_eq!(
        not_found["properties"]["itemNotFound"]["properties"]["code"]["enum"],
        serde_json::json!([404])
    );
    assert_eq!(
        get["responses"]["404"]["$ref"],
        "#/components/responses/Error404"
    );

    // Identity: issuing a token and the version documents need no token;
    // revoking one does.
    let identity = family(&docs, "identity");
    let tokens = &identity["paths"]["/v3/auth/tokens"];
    assert_eq!(tokens["post"]["security"], serde_json::json!([]));
    assert_eq!(
        identity["paths"]["/"]["get"]["security"],
        serde_json::json!([])
    );
    assert_eq!(
        tokens["delete"]["security"],
        serde_json::json!([{ "token": [] }])
    );
    let error = &identity["components"]["responses"]["ClientError"]["content"]["application/json"]
        ["schema"]["properties"]["error"];
    assert_eq!(
        error["required"],
        serde_json::json!(["code", "message", "title"])
    );

    // EVS and htaiyun formats.
    let evs = family(&docs, "evs");
    let code = &evs["components"]["responses"]["ClientError"]["content"]["application/json"]
        ["schema"]["properties"]["error"]["properties"]["code"];
    assert_eq!(code["type"], "string");
    let ht = family(&docs, "htaiyun");
    assert_eq!(
        ht["paths"]["/services/openstack/session"]["post"]["security"],
        serde_json::json!([])
    );
    assert_eq!(
        ht["paths"]["/services/openstack/volume/list"]["get"]["security"][0]
            .as_object()
            .unwrap()
            .len(),
        3
    );
}
