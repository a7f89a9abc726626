//! Test harness: runs the real `platter` binary on free ports with a
//! temporary data directory, and a small authenticated HTTP client.

#![allow(dead_code)]

pub mod storage;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-secret";

pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub identity_port: u16,
    pub volume_port: u16,
    pub image_port: u16,
    pub nbd_port: u16,
    pub compute_port: u16,
    pub admin_port: u16,
    pub console_port: u16,
}

/// Seven distinct free ports: the listeners are held together while the
/// ports are chosen, so the system cannot hand out one twice.
fn free_ports() -> [u16; 7] {
    let held: Vec<TcpListener> = (0..7)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let port = |i: usize| held[i].local_addr().unwrap().port();
    [
        port(0),
        port(1),
        port(2),
        port(3),
        port(4),
        port(5),
        port(6),
    ]
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> Server {
        // A free port can be taken by someone else between our probe and the
        // server's bind (tests run in parallel): then start again elsewhere.
        for _ in 0..5 {
            let [identity_port, volume_port, image_port, nbd_port, compute_port, admin_port, console_port] =
                free_ports();
            let mut s = Server {
                child: None,
                dir: tempfile::tempdir().unwrap(),
                identity_port,
                volume_port,
                image_port,
                nbd_port,
                compute_port,
                admin_port,
                console_port,
            };
            match s.try_spawn(env) {
                Ok(()) => return s,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("platter exited early; log:\n{log}"),
            }
        }
        panic!("platter could not bind free ports in 5 attempts");
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn identity_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.identity_port)
    }

    pub fn image_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.image_port)
    }

    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    pub fn volume_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.volume_port)
    }

    fn spawn(&mut self, env: &[(&str, &str)]) {
        if let Err(log) = self.try_spawn(env) {
            panic!("platter exited early; log:\n{log}");
        }
    }

    /// Starts the server and waits until it answers; `Err(log)` if it
    /// exited first.
    fn try_spawn(&mut self, env: &[(&str, &str)]) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_platter"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--identity-port")
            .arg(self.identity_port.to_string())
            .arg("--block-storage-port")
            .arg(self.volume_port.to_string())
            .arg("--image-port")
            .arg(self.image_port.to_string())
            .arg("--nbd-port")
            .arg(self.nbd_port.to_string())
            .arg("--compute-port")
            .arg(self.compute_port.to_string())
            .arg("--admin-port")
            .arg(self.admin_port.to_string())
            .arg("--console-port")
            .arg(self.console_port.to_string())
            .env("PLATTER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "PLATTER_LOG",
                format!("info,{}", platter_store::LOG_DIRECTIVES),
            )
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start platter"));
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let urls = [
            format!("{}/v3", self.identity_url()),
            format!("{}/v3/", self.volume_url()),
        ];
        loop {
            let ready = urls.iter().all(|u| http_get_ok(u));
            if ready {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("({status})\n{}", self.log()));
                }
            }
            assert!(
                Instant::now() < deadline,
                "platter did not become ready; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stops the process at once, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same data directory and ports.
    pub fn restart_with(&mut self, env: &[(&str, &str)]) {
        self.kill9();
        self.spawn(env);
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub mod aksk_signer;
pub mod nbd_client;

/// A tiny blocking probe: does `GET url` answer 200?
fn http_get_ok(url: &str) -> bool {
    http_get(url).is_some_and(|r| r.starts_with("HTTP/1.1 200"))
}

/// A GET with a fresh connection: the whole response (head and body), or
/// `None` if the connection failed.
pub fn http_get(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(host).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    Some(buf)
}

/// An HTTP response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The Cinder fault name and message of an error reply.
    pub fn fault(&self) -> (String, String) {
        let obj = self.body.as_object().expect("fault body is an object");
        assert_eq!(obj.len(), 1, "one fault key: {}", self.body);
        let (name, inner) = obj.iter().next().unwrap();
        assert_eq!(
            inner["code"],
            json!(self.status.as_u16()),
            "fault code matches status: {}",
            self.body
        );
        (
            name.clone(),
            inner["message"].as_str().unwrap_or_default().to_string(),
        )
    }
}

/// A client logged in to one project.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub token: String,
    pub project_id: String,
    pub user_id: String,
    pub volume_url: String,
    pub identity_url: String,
}

pub async fn raw(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn login(server: &Server, user: &str, password: &str, project: &str) -> Client {
    let http = reqwest::Client::new();
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}
    }});
    let resp = http
        .post(format!("{}/v3/auth/tokens", server.identity_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED, "login {user}/{project}");
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = resp.json().await.unwrap();
    Client {
        http,
        token,
        project_id: body["token"]["project"]["id"].as_str().unwrap().to_string(),
        user_id: body["token"]["user"]["id"].as_str().unwrap().to_string(),
        volume_url: server.volume_url(),
        identity_url: server.identity_url(),
    }
}

pub async fn admin(server: &Server) -> Client {
    login(server, "admin", ADMIN_PASSWORD, "admin").await
}

impl Client {
    /// A Cinder v3 path under the caller's project.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v3/{}{path}", self.volume_url, self.project_id)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let text = body.map(|b| b.to_string());
        raw(
            &self.http,
            method,
            &self.url(path),
            Some(&self.token),
            text.as_deref(),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// A call at a microversion.
    pub async fn call_mv(
        &self,
        mv: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("X-Auth-Token", &self.token)
            .header("OpenStack-API-Version", format!("volume {mv}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Attaches a volume with a connector (v3 attachments API); returns the
    /// attachment id and its NBD URI.
    pub async fn attach(&self, volume_id: &str, mode: &str) -> (String, String) {
        let body = json!({"attachment": {
            "volume_uuid": volume_id,
            "instance_uuid": "6a7bd0b9-6cb8-4a9a-9a9f-3b1f9e3e0a11",
            "connector": {"host": "test-host", "ip": "127.0.0.1"},
            "mode": mode,
        }});
        let r = self
            .call_mv("3.54", Method::POST, "/attachments", Some(body))
            .await;
        assert_eq!(r.status, StatusCode::OK, "attach: {}", r.body);
        let a = &r.body["attachment"];
        let id = a["id"].as_str().unwrap().to_string();
        let uri = a["connection_info"]["data"]["uri"]
            .as_str()
            .unwrap()
            .to_string();
        let r = self
            .call_mv(
                "3.54",
                Method::POST,
                &format!("/attachments/{id}/action"),
                Some(json!({"os-complete": null})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "complete: {:?}", r.body);
        (id, uri)
    }

    pub async fn detach(&self, attachment_id: &str) {
        let r = self
            .call_mv(
                "3.54",
                Method::DELETE,
                &format!("/attachments/{attachment_id}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "detach: {}", r.body);
    }

    pub async fn identity(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let text = body.map(|b| b.to_string());
        raw(
            &self.http,
            method,
            &format!("{}{path}", self.identity_url),
            Some(&self.token),
            text.as_deref(),
        )
        .await
    }

    /// Creates a volume and waits for it to become available.
    pub async fn volume(&self, body: Value) -> Value {
        let r = self.post("/volumes", json!({ "volume": body })).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "create: {}", r.body);
        let id = r.body["volume"]["id"].as_str().unwrap().to_string();
        self.wait_volume(&id, "available").await
    }

    /// Polls a volume until it has `status` (panics on another terminal one).
    pub async fn wait_volume(&self, id: &str, status: &str) -> Value {
        self.wait(&format!("/volumes/{id}"), "volume", status).await
    }

    pub async fn wait_snapshot(&self, id: &str, status: &str) -> Value {
        self.wait(&format!("/snapshots/{id}"), "snapshot", status)
            .await
    }

    pub async fn wait(&self, path: &str, key: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.get(path).await;
            if status == "deleted" && r.status == StatusCode::NOT_FOUND {
                return Value::Null;
            }
            assert_eq!(r.status, StatusCode::OK, "poll {path}: {}", r.body);
            let current = r.body[key]["status"].as_str().unwrap().to_string();
            if current == status {
                return r.body[key].clone();
            }
            assert!(
                current.ends_with("ing") || current == "available",
                "{path} reached {current} while waiting for {status}"
            );
            assert!(Instant::now() < deadline, "{path} stuck in {current}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a project and a user with `role` on it; returns a client for that user.
    pub async fn new_project_user(
        &self,
        server: &Server,
        project: &str,
        user: &str,
        role: &str,
    ) -> Client {
        let r = self
            .identity(
                Method::POST,
                "/v3/projects",
                Some(json!({"project": {"name": project}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let pid = r.body["project"]["id"].as_str().unwrap().to_string();
        let r = self
            .identity(
                Method::POST,
                "/v3/users",
                Some(json!({"user": {"name": user, "password": "pw", "default_project_id": pid}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let uid = r.body["user"]["id"].as_str().unwrap().to_string();
        let roles = self
            .identity(Method::GET, &format!("/v3/roles?name={role}"), None)
            .await;
        let rid = roles.body["roles"][0]["id"].as_str().unwrap().to_string();
        let r = self
            .identity(
                Method::PUT,
                &format!("/v3/projects/{pid}/users/{uid}/roles/{rid}"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        login(server, user, "pw", project).await
    }
}
