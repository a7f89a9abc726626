//! Keystone's JSON shapes.

use platter_model::{Domain, Project, Role, Timestamp, TokenInfo, User};
use serde_json::{json, Value};

use crate::{ApiState, Listener, FAMILIES};

/// Keystone prints token times with a `Z`.
pub fn keystone_time(ts: &Timestamp) -> String {
    format!("{ts}Z")
}

pub fn domain(state: &ApiState, d: &Domain) -> Value {
    json!({
        "id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
        "tags": [], "options": {},
        "links": { "self": format!("{}/v3/domains/{}", state.urls.identity, d.id) },
    })
}

pub fn project(state: &ApiState, p: &Project) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
        "enabled": p.enabled, "is_domain": false, "parent_id": p.domain_id, "tags": [], "options": {},
        "links": { "self": format!("{}/v3/projects/{}", state.urls.identity, p.id) },
    })
}

pub fn user(state: &ApiState, u: &User) -> Value {
    let mut v = json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": null, "options": {},
        "links": { "self": format!("{}/v3/users/{}", state.urls.identity, u.id) },
    });
    if let Some(p) = &u.default_project_id {
        v["default_project_id"] = json!(p);
    }
    if let Some(e) = &u.email {
        v["email"] = json!(e);
    }
    if let Some(d) = &u.description {
        v["description"] = json!(d);
    }
    v
}

pub fn role(state: &ApiState, r: &Role) -> Value {
    json!({
        "id": r.id, "name": r.name, "domain_id": null, "description": null, "options": {},
        "links": { "self": format!("{}/v3/roles/{}", state.urls.identity, r.id) },
    })
}

pub fn collection(state: &ApiState, key: &str, path: &str, items: Vec<Value>) -> Value {
    json!({
        key: items,
        "links": { "self": format!("{}{}", state.urls.identity, path), "previous": null, "next": null },
    })
}

struct CatalogService {
    kind: &'static str,
    name: &'static str,
    url: String,
}

/// The catalog: every family's entries, under its listener's URL. Entries
/// with a `{project_id}` need a project-scoped caller.
fn catalog_services(state: &ApiState, project_id: Option<&str>) -> Vec<CatalogService> {
    let mut out = Vec::new();
    for family in FAMILIES {
        let base = match family.listener {
            Listener::Identity => &state.urls.identity,
            Listener::BlockStorage => &state.urls.block_storage,
            Listener::Image => &state.urls.image,
            Listener::Compute => &state.urls.compute,
        };
        for entry in family.catalog {
            let path = if entry.path.contains("{project_id}") {
                match project_id {
                    Some(pid) => entry.path.replace("{project_id}", pid),
                    None => continue,
                }
            } else {
                entry.path.to_string()
            };
            out.push(CatalogService {
                kind: entry.kind,
                name: entry.name,
                url: format!("{base}{path}"),
            });
        }
    }
    out
}

fn stable_id(parts: &[&str]) -> String {
    // Deterministic ids so the catalog is the same on every call and restart.
    let joined = parts.join("/");
    let mut h: u64 = 0xcbf29ce484222325;
    for b in joined.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}{:016x}", h.rotate_left(29) ^ 0x9e3779b97f4a7c15)
}

pub fn catalog(state: &ApiState, project_id: Option<&str>) -> Value {
    let region = &state.urls.region;
    let services: Vec<Value> = catalog_services(state, project_id)
        .into_iter()
        .map(|s| {
            let endpoints: Vec<Value> = ["public", "internal", "admin"]
                .iter()
                .map(|iface| {
                    json!({
                        "id": stable_id(&[s.kind, iface]),
                        "interface": iface, "region": region, "region_id": region, "url": s.url,
                    })
                })
                .collect();
            json!({ "id": stable_id(&[s.kind]), "type": s.kind, "name": s.name, "endpoints": endpoints })
        })
        .collect();
    Value::Array(services)
}

/// `/v3/services`: the catalog's services, without endpoints.
pub fn services(state: &ApiState) -> Vec<Value> {
    catalog_services(state, Some("$(project_id)s"))
        .into_iter()
        .map(|s| json!({ "id": stable_id(&[s.kind]), "type": s.kind, "name": s.name, "enabled": true, "description": "" }))
        .collect()
}

/// `/v3/endpoints`: URLs carry Keystone's `$(project_id)s` template.
pub fn endpoints(state: &ApiState) -> Vec<Value> {
    let region = &state.urls.region;
    catalog_services(state, Some("$(project_id)s"))
        .into_iter()
        .flat_map(|s| {
            ["public", "internal", "admin"].into_iter().map(move |iface| {
                json!({
                    "id": stable_id(&[s.kind, iface]), "interface": iface, "region": region, "region_id": region,
                    "url": s.url, "service_id": stable_id(&[s.kind]), "enabled": true,
                })
            })
        })
        .collect()
}

pub fn token(state: &ApiState, t: &TokenInfo, with_catalog: bool) -> Value {
    let mut body = json!({
        "methods": t.methods,
        "user": {
            "id": t.user.id, "name": t.user.name, "password_expires_at": null,
            "domain": { "id": t.user_domain.id, "name": t.user_domain.name },
        },
        "audit_ids": [t.audit_id],
        "expires_at": keystone_time(&t.expires_at),
        "issued_at": keystone_time(&t.issued_at),
    });
    if let (Some(p), Some(d)) = (&t.project, &t.project_domain) {
        body["project"] =
            json!({ "id": p.id, "name": p.name, "domain": { "id": d.id, "name": d.name } });
        body["is_domain"] = json!(false);
        body["roles"] = json!(t
            .roles
            .iter()
            .map(|r| json!({ "id": r.id, "name": r.name }))
            .collect::<Vec<_>>());
        if with_catalog {
            body["catalog"] = catalog(state, Some(p.id.as_str()));
        }
    } else if with_catalog {
        body["catalog"] = json!([]);
    }
    json!({ "token": body })
}
