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

#[tokio::test]
async fn scrub_reports_a_flipped_bit_by_volume_and_offset() {
    use std::os::unix::fs::FileExt;

    let mut server = Server::start();
    let c = common::admin(&server).await;
    let v = c.volume(json!({"size": 1})).await;
    let vid = v["id"].as_str().unwrap().to_string();
    server.kill9();

    // Write through the engine while the server is down, then flip a bit.
    let pool_dir = server.data_dir().join("pool");
    let pblock = {
        let pool = platter_engine::Pool::open(&pool_dir, Default::default()).unwrap();
        let io = pool.open_device(&format!("v:{vid}")).unwrap();
        io.write_at(&vec![0x5a; 1 << 20], 0).unwrap();
        pool.close().unwrap();
        pool.physical_block(&format!("v:{vid}"), 3)
            .unwrap()
            .unwrap()
    };
    let clean = platter_admin_status(&server, &["scrub"]);
    assert_eq!(clean.0, 0, "{}", clean.1);
    assert!(clean.1.contains("256 blocks: 0 bad"), "{}", clean.1);

    let data = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(pool_dir.join("data"))
        .unwrap();
    data.write_all_at(&[0xa5], pblock * 4096 + 100).unwrap();
    let (code, out) = platter_admin_status(&server, &["scrub"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 bad"), "{out}");
    assert!(
        out.contains(&format!("volume {vid} offset 12288: checksum mismatch")),
        "{out}"
    );

    // The server still starts and serves the volume; only that block is bad.
    server.restart_with(&[]);
    let c = common::admin(&server).await;
    assert_eq!(
        c.get(&format!("/volumes/{vid}")).await.body["volume"]["status"],
        "available"
    );
}

fn platter_admin_status(server: &Server, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_platter"))
        .arg("admin")
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
