//! `platter image import FILE --name N`: a disk image file into the image
//! service, as a user of the API (the credentials of an openrc file):
//! the record, then the data, streamed with a progress bar.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use crate::volume_cmd::{Credentials, Session};

const CHUNK: usize = 4 << 20;

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(flatten)]
    auth: Credentials,
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Debug, Subcommand)]
enum ImageCommand {
    /// Upload a disk image file as a new image.
    Import {
        file: PathBuf,
        /// The image's name.
        #[arg(long)]
        name: String,
        /// `raw`, `qcow2`, `vmdk`, `vhd`, `vhdx` or `iso`; by default from
        /// the file's extension (`qcow2`, `vmdk`, `vhd`, `vhdx`, `iso`),
        /// else `raw`.
        #[arg(long)]
        disk_format: Option<String>,
        /// `private`, `shared`, `community` or `public` (admins).
        #[arg(long, default_value = "private")]
        visibility: String,
    },
}

pub async fn run(args: ImageArgs) -> Result<()> {
    let session = Session::login(&args.auth).await?;
    let base = session.endpoint("image")?;
    match args.command {
        ImageCommand::Import {
            file,
            name,
            disk_format,
            visibility,
        } => {
            let format = disk_format.unwrap_or_else(|| {
                match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
                    e @ ("qcow2" | "vmdk" | "vhd" | "vhdx" | "iso") => e.to_string(),
                    _ => "raw".to_string(),
                }
            });
            let body = json!({"name": name, "disk_format": format,
                              "container_format": "bare", "visibility": visibility});
            let resp = session
                .http
                .post(format!("{base}/v2/images"))
                .header("X-Auth-Token", &session.token)
                .header("Accept", "application/json")
                .json(&body)
                .send()
                .await?;
            let status = resp.status();
            let created: Value = resp.json().await.unwrap_or(Value::Null);
            if status.as_u16() != 201 {
                bail!("creating the image failed ({status}): {created}");
            }
            let id = created["id"].as_str().unwrap_or_default().to_string();
            let f = tokio::fs::File::open(&file)
                .await
                .with_context(|| format!("opening {}", file.display()))?;
            let len = f.metadata().await?.len();
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let progress = bar.clone();
            let stream = futures_util::stream::unfold(f, move |mut f| {
                let progress = progress.clone();
                async move {
                    let mut buf = vec![0u8; CHUNK];
                    match f.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            progress.inc(n as u64);
                            Some((Ok::<_, std::io::Error>(buf), f))
                        }
                        Err(e) => Some((Err(e), f)),
                    }
                }
            })
            .boxed();
            let resp = session
                .http
                .put(format!("{base}/v2/images/{id}/file"))
                .header("X-Auth-Token", &session.token)
                .header("Content-Type", "application/octet-stream")
                .header("Accept", "application/json")
                .header("Content-Length", len)
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await?;
            bar.finish();
            let status = resp.status();
            if status.as_u16() != 204 {
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                let message = body["message"].as_str().unwrap_or_default();
                let message = message.split("<br").next().unwrap_or(message);
                bail!("uploading the data failed ({status}): {message}");
            }
            let shown: Value = session
                .http
                .get(format!("{base}/v2/images/{id}"))
                .header("X-Auth-Token", &session.token)
                .header("Accept", "application/json")
                .send()
                .await?
                .json()
                .await?;
            println!(
                "{id} {} {} bytes, virtual {} bytes",
                shown["status"].as_str().unwrap_or("?"),
                shown["size"],
                shown["virtual_size"]
            );
            Ok(())
        }
    }
}
