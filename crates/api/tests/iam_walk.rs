//! Issue 13's walk: every route of every family's action table, called by
//! a user whose custom policy allows exactly that route's IAM actions (the
//! gate lets it through), then by one missing each of them in turn (403).
//! Cloud-operator routes are walked with an admin whose custom policy
//! denies the one action. Policies change between calls while the token
//! stays the same: the cached decisions follow every change.

use std::sync::Arc;

use platter_api::routes::Gate;
use platter_api::{route_table, router_for, ApiState, Listener, PublicUrls};
use platter_backend::MemoryBackend;
use platter_model::{Access, Action, GrantScope, ProjectId, UserGroupId};
use platter_service::identity_fields::{ProjectFields, UserFields};
use platter_service::{GroupFields, Platter, PolicyFields, ServiceConfig};
use platter_store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "walk-Passw0rd";
const SOME_ID: &str = "3f2a1c7e-0000-4000-8000-00000000abcd";

async fn serve(listener: Listener, state: ApiState) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let router = router_for(listener, state);
    tokio::spawn(async move { axum::serve(l, router).await });
    port
}

async fn login(http: &reqwest::Client, identity: &str, user: &str) -> String {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "walk", "domain": {"name": "Default"}}}}});
    let r = http
        .post(format!("{identity}/v3/auth/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "login {user}");
    r.headers()["x-subject-token"].to_str().unwrap().to_string()
}

/// A bootstrapped service over a memory backend, with project `walk`.
async fn service() -> (tempfile::TempDir, Platter, platter_model::Project) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).await.unwrap();
    let platter = Platter::new(
        store,
        Arc::new(MemoryBackend::default()),
        ServiceConfig::default(),
    );
    platter.bootstrap(Some("admin-pw")).await.unwrap();
    let project = platter
        .project_create(ProjectFields {
            name: Some("walk".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    (dir, platter, project)
}

/// A user in its own group, holding `roles` and a custom policy on the
/// project; returns the policy's role id.
async fn walker(p: &Platter, project: &ProjectId, name: &str, roles: &[&str]) -> String {
    let user = p
        .user_create(UserFields {
            name: Some(name.into()),
            password: Some(PASSWORD.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let group = p
        .user_group_create(GroupFields {
            name: Some(format!("{name}s")),
            ..Default::default()
        })
        .await
        .unwrap();
    p.user_group_member_add(&group.id, &user.id).await.unwrap();
    let policy = p
        .custom_policy_create(
            user.domain_id.clone(),
            PolicyFields {
                display_name: Some(format!("{name}-policy")),
                kind: Some("AX".into()),
                document: Some(doc("Allow", &["none:none:none"])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let grant = |role: String, g: UserGroupId| {
        let scope = GrantScope::Project(project.clone());
        async move { p.group_grant(&g, &role, scope).await.unwrap() }
    };
    grant(policy.role_id.to_string(), group.id.clone()).await;
    for r in roles {
        grant(r.to_string(), group.id.clone()).await;
    }
    policy.role_id.to_string()
}

fn doc(effect: &str, actions: &[&str]) -> Value {
    let actions = if actions.is_empty() {
        vec!["none:none:none"]
    } else {
        actions.to_vec()
    };
    json!({"Version": "1.1", "Statement": [{"Effect": effect, "Action": actions}]})
}

async fn set_policy(p: &Platter, role: &str, document: Value) {
    p.custom_policy_update(
        &role.into(),
        PolicyFields {
            document: Some(document),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

/// The path with its parameters filled: the caller's project for project
/// ids outside identity, an id that matches nothing elsewhere.
fn fill(family: &str, path: &str, project: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        let name = &rest[start + 1..end - 1];
        // Quota paths name a target project: the caller's own (another's
        // is a cloud operator's business, refused for other reasons).
        let project_param = matches!(name, "project_id" | "tenant_id" | "project" | "target");
        out.push_str(if project_param && family != "identity" {
            project
        } else {
            SOME_ID
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_allows_exactly_its_actions_and_refuses_without_each() {
    let (_dir, platter, project) = service().await;

    // Listeners, then the state that knows their addresses.
    let ports: Vec<u16> = {
        let probe = ApiState::new(platter.clone(), urls(&[0, 0, 0, 0]));
        let mut ports = Vec::new();
        for l in [
            Listener::Identity,
            Listener::BlockStorage,
            Listener::Image,
            Listener::Compute,
        ] {
            ports.push(serve(l, probe.clone()).await);
        }
        ports
    };
    let state = ApiState::new(platter.clone(), urls(&ports));
    let base = |family: &str| {
        let port = match family {
            "identity" => ports[0],
            "glance" => ports[2],
            "nova" | "ecs" => ports[3],
            _ => ports[1],
        };
        format!("http://127.0.0.1:{port}")
    };

    let member_policy = walker(&platter, &project.id, "walker", &[]).await;
    let admin_policy = walker(&platter, &project.id, "operator", &["admin"]).await;
    set_policy(&platter, &admin_policy, doc("Deny", &[])).await;
    let http = reqwest::Client::new();
    let member = login(&http, &base("identity"), "walker").await;
    let operator = login(&http, &base("identity"), "operator").await;
    // htaiyun's callers: the session's secret is its audit id; the
    // project's application token.
    let secret = |token: String| {
        let http = http.clone();
        let url = format!("{}/v3/auth/tokens", base("identity"));
        async move {
            let r = http
                .get(url)
                .header("X-Auth-Token", &token)
                .header("X-Subject-Token", &token)
                .send()
                .await
                .unwrap();
            let body: Value = r.json().await.unwrap();
            body["token"]["audit_ids"][0].as_str().unwrap().to_string()
        }
    };
    let secrets = [
        (member.clone(), secret(member.clone()).await),
        (operator.clone(), secret(operator.clone()).await),
    ];
    let app_token = {
        let admin = platter
            .user_list(Some("admin".into()), None)
            .await
            .unwrap()
            .remove(0);
        let ctx =
            platter_model::AuthContext::new(admin.id, project.id.clone(), vec!["admin".into()]);
        platter.htaiyun_app_token_issue(&ctx).await.unwrap()
    };

    let call_with = |family: &str, method: &Method, path: &str, token: &str, body: &str| {
        let url = format!(
            "{}{}",
            base(family),
            fill(family, path, project.id.as_str())
        );
        let mut req = http
            .request(method.clone(), url)
            .header("X-Auth-Token", token);
        if family == "htaiyun" {
            let secret = secrets
                .iter()
                .find(|(t, _)| t == token)
                .map(|(_, s)| s.clone());
            req = req
                .header("IMR-SESSION-TOKEN", token)
                .header("IMR-SESSION-SECRET", secret.unwrap_or_default())
                .header("HT-ACCESS-TOKEN", &app_token);
        }
        if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
            req = req
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        // An /action body may name an action of a later microversion.
        if body != "{}" {
            req = req.header("OpenStack-API-Version", "volume 3.70");
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            (status, r.text().await.unwrap_or_default())
        }
    };

    let call = |family: &str, method: &Method, path: &str, token: &str| {
        call_with(family, method, path, token, "{}")
    };
    let mut walked = 0;
    let mut walked_actions = 0;
    let mut failures = Vec::new();
    for (family, e) in route_table(state) {
        let actions: Vec<Action> = e
            .gate
            .actions()
            .iter()
            .copied()
            .filter(|a| a.access() != Access::Public && a.iam_action().is_some())
            .collect();
        if actions.is_empty() {
            continue;
        }
        let names: Vec<&str> = actions.iter().filter_map(|a| a.iam_action()).collect();
        let operator_route = actions.iter().any(|a| a.access() == Access::Admin);
        let (token, role) = if operator_route {
            (&operator, &admin_policy)
        } else {
            (&member, &member_policy)
        };
        let what = format!("{family} {} {}", e.method, e.path);

        // Holding exactly the route's actions: past the gate.
        if operator_route {
            set_policy(&platter, role, doc("Deny", &[])).await;
        } else {
            set_policy(&platter, role, doc("Allow", &names)).await;
        }
        let (status, body) = call(family, &e.method, &e.path, token).await;
        if status == StatusCode::FORBIDDEN && body.contains("olicy") {
            failures.push(format!("{what} with {names:?}: {status} {body}"));
        }
        walked += 1;

        // An /action route: its body names the action; each is walked with
        // a body that chooses it, refused without the action's name.
        if let Gate::OneOf(_) = e.gate {
            for &action in &actions {
                let Some(body) = action_body(action) else {
                    // The co-listed read every body of the route needs.
                    if !matches!(action, Action::VolumeGet | Action::GroupGet) {
                        failures.push(format!("{what}: no body chooses {action:?}"));
                    }
                    continue;
                };
                // Cinder v2 has no microversions: these actions are v3's.
                let v3_only = matches!(
                    action,
                    Action::VolumeRevert
                        | Action::AttachmentComplete
                        | Action::GroupCreate
                        | Action::GroupDelete
                        | Action::GroupResetStatus
                        | Action::GroupSnapshotResetStatus
                );
                if v3_only && e.path.starts_with("/v2/") {
                    continue;
                }
                let Some(missing) = action.iam_action() else {
                    continue;
                };
                let (token, role) = if action.access() == Access::Admin {
                    set_policy(&platter, &admin_policy, doc("Deny", &[missing])).await;
                    (&operator, &admin_policy)
                } else {
                    let kept: Vec<&str> = names.iter().copied().filter(|n| *n != missing).collect();
                    set_policy(&platter, &member_policy, doc("Allow", &kept)).await;
                    (&member, &member_policy)
                };
                let _ = role;
                let (status, text) =
                    call_with(family, &e.method, &e.path, token, &body.to_string()).await;
                if status != StatusCode::FORBIDDEN {
                    failures.push(format!("{what} {body} without {missing}: {status} {text}"));
                }
                walked_actions += 1;
            }
            continue;
        }
        for missing in &names {
            if operator_route {
                set_policy(&platter, role, doc("Deny", &[missing])).await;
            } else {
                let kept: Vec<&str> = names.iter().copied().filter(|n| n != missing).collect();
                set_policy(&platter, role, doc("Allow", &kept)).await;
            }
            let (status, body) = call(family, &e.method, &e.path, token).await;
            if status != StatusCode::FORBIDDEN {
                failures.push(format!("{what} without {missing}: {status} {body}"));
            }
        }
    }
    assert!(walked > 250, "walked only {walked} routes");
    assert!(
        walked_actions > 50,
        "walked only {walked_actions} /action bodies"
    );
    assert!(
        failures.is_empty(),
        "{} of {walked} routes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn urls(ports: &[u16]) -> PublicUrls {
    let u = |p: u16| format!("http://127.0.0.1:{p}");
    PublicUrls {
        identity: u(ports[0]),
        block_storage: u(ports[1]),
        image: u(ports[2]),
        compute: u(ports[3]),
        region: "RegionOne".into(),
    }
}

/// Decisions are kept per caller and dropped when a policy changes.
#[tokio::test]
async fn decisions_are_cached_until_a_policy_or_grant_changes() {
    let (_dir, platter, project) = service().await;
    let role = walker(&platter, &project.id, "cached", &[]).await;
    let user = platter
        .user_list(Some("cached".into()), None)
        .await
        .unwrap()
        .remove(0);
    let ctx = platter_model::AuthContext::new(
        user.id.clone(),
        project.id.clone(),
        vec!["cached-policy".into()],
    );
    let before = platter.authz_evaluations();
    assert!(platter.authorize(&ctx, Action::VolumeList).is_err());
    assert!(platter.authorize(&ctx, Action::VolumeList).is_err());
    assert_eq!(
        platter.authz_evaluations(),
        before + 1,
        "the second is cached"
    );
    set_policy(&platter, &role, doc("Allow", &["evs:volumes:list"])).await;
    assert!(platter.authorize(&ctx, Action::VolumeList).is_ok());
    assert_eq!(
        platter.authz_evaluations(),
        before + 2,
        "re-evaluated after the change"
    );
    assert!(platter.authorize(&ctx, Action::VolumeList).is_ok());
    assert_eq!(platter.authz_evaluations(), before + 2);
}

/// A body that chooses `action` on its /action route.
fn action_body(action: Action) -> Option<Value> {
    use Action::*;
    let servers = json!([{"id": SOME_ID}]);
    Some(match action {
        VolumeExtend => json!({"os-extend": {"new_size": 5}}),
        VolumeRetype => json!({"os-retype": {"new_type": "SAS"}}),
        VolumeMigrate => json!({"os-migrate_volume": {"host": "x"}}),
        VolumeRevert => json!({"revert": {"snapshot_id": SOME_ID}}),
        VolumeImageMetadataGet => json!({"os-show_image_metadata": {}}),
        VolumeImageMetadataSet => json!({"os-set_image_metadata": {"metadata": {"a": "b"}}}),
        VolumeImageMetadataRemove => json!({"os-unset_image_metadata": {"key": "a"}}),
        VolumeResetStatus => json!({"os-reset_status": {"status": "available"}}),
        VolumeSetBootable => json!({"os-set_bootable": {"bootable": true}}),
        VolumeSetReadonly => json!({"os-update_readonly_flag": {"readonly": true}}),
        VolumeReserve => json!({"os-reserve": {}}),
        VolumeUnreserve => json!({"os-unreserve": {}}),
        VolumeInitializeConnection => {
            json!({"os-initialize_connection": {"connector": {"host": "h"}}})
        }
        VolumeTerminateConnection => {
            json!({"os-terminate_connection": {"connector": {"host": "h"}}})
        }
        VolumeAttach => json!({"os-attach": {"instance_uuid": SOME_ID, "mountpoint": "/dev/vdb"}}),
        VolumeDetach => json!({"os-detach": {}}),
        VolumeBeginDetaching => json!({"os-begin_detaching": {}}),
        VolumeForceDetach => json!({"os-force_detach": {}}),
        VolumeUnmanage => json!({"os-unmanage": {}}),
        VolumeUploadImage => json!({"os-volume_upload_image": {"image_name": "i"}}),
        VolumePromoteReplica => json!({"os-promote-replica": {}}),
        VolumeReenableReplica => json!({"os-reenable-replica": {}}),
        VolumeMigrateCompletion => json!({"os-migrate_volume_completion": {"new_volume": SOME_ID}}),
        SnapshotResetStatus | BackupResetStatus => {
            json!({"os-reset_status": {"status": "available"}})
        }
        SnapshotForceDelete | BackupForceDelete => json!({"os-force_delete": {}}),
        SnapshotUpdateStatus => json!({"os-update_snapshot_status": {"status": "available"}}),
        SnapshotUnmanage => json!({"os-unmanage": {}}),
        AttachmentComplete => json!({"os-complete": {}}),
        TypeAccessAdd => json!({"addProjectAccess": {"project": SOME_ID}}),
        TypeAccessRemove => json!({"removeProjectAccess": {"project": SOME_ID}}),
        GroupCreate => json!({"create-from-src": {"name": "g", "group_snapshot_id": SOME_ID}}),
        GroupDelete => json!({"delete": {"delete-volumes": false}}),
        GroupResetStatus | GroupSnapshotResetStatus => {
            json!({"reset_status": {"status": "available"}})
        }
        ServerStart => json!({"os-start": null}),
        ServerStop => json!({"os-stop": null}),
        ServerReboot => json!({"reboot": {"type": "SOFT"}}),
        ServerConsoleOutput => json!({"os-getConsoleOutput": {}}),
        ServerLock => json!({"lock": null}),
        ServerUnlock => json!({"unlock": null}),
        ServerCreateImage => json!({"createImage": {"name": "i"}}),
        ServerResize => json!({"resize": {"flavorRef": "1"}}),
        ServerRebuild => json!({"rebuild": {"imageRef": SOME_ID}}),
        ServerMonitorMetrics => json!({"monitorMetrics": null}),
        EcsServerStart => json!({"os-start": {"servers": servers}}),
        EcsServerStop => json!({"os-stop": {"servers": servers}}),
        EcsServerReboot => json!({"reboot": {"type": "SOFT", "servers": servers}}),
        VolumeTagsCreate => json!({"action": "create", "tags": [{"key": "k", "value": "v"}]}),
        VolumeTagsDelete => json!({"action": "delete", "tags": [{"key": "k"}]}),
        _ => return None,
    })
}
