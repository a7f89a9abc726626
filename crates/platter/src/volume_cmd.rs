//! `platter volume import FILE VOLUME` and `platter volume export VOLUME
//! FILE`: disk images in and out of volumes, as a user of the API (the
//! credentials of an openrc file), through a temporary attachment. Raw
//! images go through Platter's own NBD client with a progress bar; other
//! formats through `qemu-img convert`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use platter_nbd::client::NbdClient;
use serde_json::{json, Value};

const CHUNK: usize = 4 << 20;

#[derive(Debug, Args)]
pub struct VolumeArgs {
    #[command(flatten)]
    auth: Credentials,
    #[command(subcommand)]
    command: VolumeCommand,
}

/// The same variables an openrc file sets.
#[derive(Debug, Args)]
pub(crate) struct Credentials {
    #[arg(long, env = "OS_AUTH_URL", hide_env_values = true)]
    os_auth_url: String,
    #[arg(long, env = "OS_USERNAME")]
    os_username: String,
    #[arg(long, env = "OS_PASSWORD", hide_env_values = true)]
    os_password: String,
    #[arg(long, env = "OS_PROJECT_NAME")]
    os_project_name: String,
    #[arg(long, env = "OS_USER_DOMAIN_NAME", default_value = "Default")]
    os_user_domain_name: String,
    #[arg(long, env = "OS_PROJECT_DOMAIN_NAME", default_value = "Default")]
    os_project_domain_name: String,
}

#[derive(Debug, Subcommand)]
enum VolumeCommand {
    /// Copy a disk image into a volume (the image must fit).
    Import {
        file: PathBuf,
        /// Volume name or id.
        volume: String,
        /// Image format (`raw`, `qcow2`, ... anything qemu-img reads); by default
        /// `qcow2` for *.qcow2 files, else `raw`.
        #[arg(long)]
        format: Option<String>,
    },
    /// Copy a volume into a disk image file.
    Export {
        /// Volume name or id.
        volume: String,
        file: PathBuf,
        #[arg(long, default_value = "raw")]
        format: String,
    },
}

struct Api {
    http: reqwest::Client,
    token: String,
    volume_url: String,
}

/// A logged-in user: its token and the catalog it was given.
pub(crate) struct Session {
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
    catalog: Value,
}

impl Session {
    pub(crate) async fn login(c: &Credentials) -> Result<Session> {
        let http = reqwest::Client::new();
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.os_username, "domain": {"name": c.os_user_domain_name}, "password": c.os_password}}},
            "scope": {"project": {"name": c.os_project_name, "domain": {"name": c.os_project_domain_name}}}
        }});
        let url = format!("{}/auth/tokens", c.os_auth_url.trim_end_matches('/'));
        let resp = http
            .post(&url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("reaching {url}"))?;
        if !resp.status().is_success() {
            bail!(
                "login failed: {} {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("no token in the login reply"))?
            .to_string();
        let body: Value = resp.json().await?;
        Ok(Session {
            http,
            token,
            catalog: body["token"]["catalog"].clone(),
        })
    }

    /// The public URL of the catalog's service of `kind`.
    pub(crate) fn endpoint(&self, kind: &str) -> Result<String> {
        self.catalog
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["type"] == kind)
            .and_then(|s| {
                s["endpoints"]
                    .as_array()?
                    .iter()
                    .find(|e| e["interface"] == "public")
            })
            .and_then(|e| e["url"].as_str())
            .map(|u| u.trim_end_matches('/').to_string())
            .ok_or_else(|| anyhow!("no {kind} endpoint in the catalog"))
    }
}

impl Api {
    async fn login(c: &Credentials) -> Result<Api> {
        let session = Session::login(c).await?;
        let volume_url = session.endpoint("volumev3")?;
        Ok(Api {
            http: session.http,
            token: session.token,
            volume_url,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.volume_url))
            .header("X-Auth-Token", &self.token)
            .header("OpenStack-API-Version", "volume 3.54");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// A volume by id, or by its (unique) name.
    async fn find_volume(&self, name_or_id: &str) -> Result<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/volumes/{name_or_id}"),
                None,
            )
            .await?;
        if status == 200 {
            return Ok(body["volume"].clone());
        }
        let (_, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/volumes/detail?name={name_or_id}"),
                None,
            )
            .await?;
        let found = body["volumes"].as_array().cloned().unwrap_or_default();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!("no volume named or with id {name_or_id}"),
            _ => bail!("several volumes are named {name_or_id}; use the id"),
        }
    }

    async fn attach(&self, volume_id: &str, mode: &str) -> Result<(String, String)> {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "platter-cli".into());
        let body = json!({"attachment": {"volume_uuid": volume_id, "mode": mode,
            "connector": {"host": host, "ip": "127.0.0.1", "platform": std::env::consts::ARCH}}});
        let (status, body) = self
            .call(reqwest::Method::POST, "/attachments", Some(body))
            .await?;
        if status != 200 {
            bail!("attaching the volume failed ({status}): {body}");
        }
        let id = body["attachment"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no attachment id"))?
            .to_string();
        let uri = body["attachment"]["connection_info"]["data"]["uri"]
            .as_str()
            .ok_or_else(|| anyhow!("no connection_info in {body}"))?
            .to_string();
        Ok((id, uri))
    }

    async fn detach(&self, attachment_id: &str) -> Result<()> {
        let (status, body) = self
            .call(
                reqwest::Method::DELETE,
                &format!("/attachments/{attachment_id}"),
                None,
            )
            .await?;
        if status != 200 {
            bail!("detaching failed ({status}): {body}");
        }
        Ok(())
    }
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn guess_format(path: &Path) -> String {
    match path.extension().and_then(|e| e.to_str()) {
        Some("qcow2") => "qcow2".into(),
        _ => "raw".into(),
    }
}

async fn qemu_img(args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("qemu-img")
        .args(args)
        .output()
        .await
        .context("running qemu-img (install qemu-utils for non-raw images)")?;
    if !out.status.success() {
        bail!(
            "qemu-img {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn run_qemu_img_with_progress(args: &[&str]) -> Result<()> {
    let status = tokio::process::Command::new("qemu-img")
        .args(args)
        .status()
        .await
        .context("running qemu-img (install qemu-utils for non-raw images)")?;
    if !status.success() {
        bail!("qemu-img {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn is_zero(buf: &[u8]) -> bool {
    buf.iter().all(|&b| b == 0)
}

async fn import_raw(file: &Path, uri: &str) -> Result<()> {
    let f = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = f.metadata()?.len();
    let mut nbd = NbdClient::connect(uri).await?;
    if size > nbd.size() {
        bail!(
            "{} ({size} bytes) does not fit the volume ({} bytes)",
            file.display(),
            nbd.size()
        );
    }
    let bar = progress(size, "import");
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = (CHUNK as u64).min(size - offset) as usize;
        f.read_exact_at(&mut buf[..n], offset)?;
        if is_zero(&buf[..n]) {
            nbd.write_zeroes(offset, n as u32).await?;
        } else {
            nbd.write(offset, &buf[..n]).await?;
        }
        offset += n as u64;
        bar.set_position(offset);
    }
    nbd.flush().await?;
    nbd.disconnect().await?;
    bar.finish_with_message("imported");
    Ok(())
}

async fn export_raw(uri: &str, file: &Path) -> Result<()> {
    let mut nbd = NbdClient::connect(uri).await?;
    let size = nbd.size();
    let out = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(file)
        .with_context(|| format!("creating {}", file.display()))?;
    let bar = progress(size, "export");
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = (CHUNK as u64).min(size - offset) as usize;
        nbd.read(offset, &mut buf[..n]).await?;
        if !is_zero(&buf[..n]) {
            out.write_all_at(&buf[..n], offset)?;
        }
        offset += n as u64;
        bar.set_position(offset);
    }
    out.set_len(size)?;
    out.sync_all()?;
    nbd.disconnect().await?;
    bar.finish_with_message("exported");
    Ok(())
}

pub async fn run(args: VolumeArgs) -> Result<()> {
    let api = Api::login(&args.auth).await?;
    match args.command {
        VolumeCommand::Import {
            file,
            volume,
            format,
        } => {
            let format = format.unwrap_or_else(|| guess_format(&file));
            let v = api.find_volume(&volume).await?;
            let vid = v["id"]
                .as_str()
                .ok_or_else(|| anyhow!("volume without id"))?
                .to_string();
            if format != "raw" {
                let info: Value = serde_json::from_str(
                    &qemu_img(&[
                        "info",
                        "--output=json",
                        "-f",
                        &format,
                        file.to_str().unwrap_or_default(),
                    ])
                    .await?,
                )?;
                let virtual_size = info["virtual-size"].as_u64().unwrap_or(0);
                let capacity = v["size"].as_u64().unwrap_or(0) << 30;
                if virtual_size > capacity {
                    bail!("the image's virtual size ({virtual_size} bytes) does not fit the volume ({capacity} bytes)");
                }
            }
            let (attachment, uri) = api.attach(&vid, "rw").await?;
            let result = if format == "raw" {
                import_raw(&file, &uri).await
            } else {
                let src = file.to_string_lossy().into_owned();
                run_qemu_img_with_progress(&[
                    "convert", "-p", "-n", "-f", &format, "-O", "raw", &src, &uri,
                ])
                .await
            };
            api.detach(&attachment).await?;
            result?;
            println!("imported {} into volume {vid}", file.display());
        }
        VolumeCommand::Export {
            volume,
            file,
            format,
        } => {
            let v = api.find_volume(&volume).await?;
            let vid = v["id"]
                .as_str()
                .ok_or_else(|| anyhow!("volume without id"))?
                .to_string();
            let (attachment, uri) = api.attach(&vid, "ro").await?;
            let result = if format == "raw" {
                export_raw(&uri, &file).await
            } else {
                let dst = file.to_string_lossy().into_owned();
                run_qemu_img_with_progress(&[
                    "convert", "-p", "-f", "raw", "-O", &format, &uri, &dst,
                ])
                .await
            };
            api.detach(&attachment).await?;
            result?;
            println!("exported volume {vid} to {}", file.display());
        }
    }
    Ok(())
}
