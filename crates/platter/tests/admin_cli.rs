//! `platter admin` at the shell, the TOML configuration, and token expiry.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{login, Server};
use reqwest::StatusCode;
use serde_json::json;

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

#[tokio::test]
async fn admin_commands_create_users_who_can_log_in_while_the_server_runs() {
    let server = Server::start();
    let pid = platter_admin(
        &server,
        &[
            "project",
            "create",
            "shellproj",
            "--description",
            "from the shell",
        ],
    );
    assert_eq!(pid.trim().len(), 32);
    platter_admin(
        &server,
        &[
            "user",
            "create",
            "shelly",
            "--password",
            "pw",
            "--project",
            "shellproj",
        ],
    );
    platter_admin(
        &server,
        &[
            "role",
            "add",
            "--user",
            "shelly",
            "--project",
            "shellproj",
            "reader",
        ],
    );
    assert!(platter_admin(&server, &["project", "list"]).contains("shellproj"));
    assert!(platter_admin(&server, &["user", "list"]).contains("shelly"));

    let c = login(&server, "shelly", "pw", "shellproj").await;
    assert_eq!(c.project_id, pid.trim());
    let r = c.post("/volumes", json!({"volume": {"size": 1}})).await;
    assert_eq!(
        r.status,
        StatusCode::ACCEPTED,
        "member role from `user create`: {}",
        r.body
    );

    platter_admin(
        &server,
        &[
            "role",
            "remove",
            "--user",
            "shelly",
            "--project",
            "shellproj",
            "member",
        ],
    );
    let r = c.post("/volumes", json!({"volume": {"size": 1}})).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only reader is left: {}",
        r.body
    );

    // Bad input at the shell is an error exit, not a panic.
    let out = Command::new(env!("CARGO_BIN_EXE_platter"))
        .args(["admin", "--data-dir"])
        .arg(server.data_dir())
        .args([
            "role",
            "add",
            "--user",
            "nobody",
            "--project",
            "shellproj",
            "member",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
}

#[tokio::test]
async fn tokens_expire_and_the_config_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("platter.toml");
    std::fs::write(
        &config,
        "token_ttl_seconds = 2\navailability_zones = [\"az-dc-1\", \"az-dc-2\"]\ndefault_volume_type = \"SSD\"\n[quota]\nvolumes = 2\n",
    )
    .unwrap();
    let server = Server::start_with(&[("PLATTER_CONFIG", config.to_str().unwrap())]);
    let c = common::admin(&server).await;
    let r = c.get("/os-availability-zone").await;
    assert_eq!(r.body["availabilityZoneInfo"][1]["zoneName"], "az-dc-2");
    let r = c.post("/volumes", json!({"volume": {"size": 1}})).await;
    assert_eq!(r.body["volume"]["volume_type"], "SSD");
    assert_eq!(r.body["volume"]["availability_zone"], "az-dc-1");
    let r = c.get(&format!("/os-quota-sets/{}", c.project_id)).await;
    assert_eq!(r.body["quota_set"]["volumes"], 2);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = c.get("/volumes").await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "expired token: {}",
        r.body
    );
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let server = Server::start();
    let out = Command::new(env!("CARGO_BIN_EXE_platter"))
        .args(["serve", "--data-dir"])
        .arg(server.data_dir())
        .args(["--identity-port", "0", "--block-storage-port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already serving"));
}
