//! The operator's side of a running server: the admin listener (`/metrics`
//! in Prometheus' text format, `/status` as JSON), the sampler that feeds
//! the console's history, and `platter status`, which prints `/status`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use platter_metrics::{registry, History};
use platter_service::Platter;
use serde_json::{json, Value};

/// Samples kept per series: an hour at the default 5 s.
pub const HISTORY_SAMPLES: usize = 720;

/// The listeners a server has, for `/status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listeners(pub Vec<(String, String)>);

#[derive(Clone)]
struct AdminState {
    platter: Platter,
    listeners: Arc<Listeners>,
}

/// The admin listener's routes.
pub fn admin_router(platter: Platter, listeners: Listeners) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(AdminState {
            platter,
            listeners: Arc::new(listeners),
        })
}

async fn metrics(State(s): State<AdminState>) -> Response {
    if let Err(e) = s.platter.refresh_gauges().await {
        tracing::warn!(error = %e, "refreshing gauges for a scrape");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        registry().render(),
    )
        .into_response()
}

async fn status(State(s): State<AdminState>) -> Response {
    let health = match s.platter.health().await {
        Ok(h) => h,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unhealthy", "error": e.to_string()})),
            )
                .into_response()
        }
    };
    let pools: Vec<Value> = health
        .pools
        .iter()
        .map(|p| match &p.stats {
            Ok(st) => json!({
                "name": p.name, "backend": p.backend, "healthy": true,
                "total_bytes": st.total_bytes, "free_bytes": st.free_bytes,
                "allocated_bytes": st.allocated_bytes, "provisioned_bytes": st.provisioned_bytes,
            }),
            Err(e) => json!({"name": p.name, "backend": p.backend, "healthy": false, "error": e}),
        })
        .collect();
    let healthy = health.pools.iter().all(|p| p.stats.is_ok());
    let listeners: serde_json::Map<String, Value> = s
        .listeners
        .0
        .iter()
        .map(|(name, addr)| (name.clone(), json!(addr)))
        .collect();
    Json(json!({
        "status": if healthy { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": health.started_at.to_string(),
        "listeners": listeners,
        "pools": pools,
        "jobs": {
            "unfinished": health.jobs_unfinished,
            "running": registry().samples("platter_jobs_running").first().map_or(0.0, |s| s.value),
        },
        "compute_driver": health.compute_driver,
        "guests": health.guests,
    }))
    .into_response()
}

/// Refreshes the read gauges and samples the history every `every`.
pub async fn sample_forever(platter: Platter, history: Arc<History>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = platter.refresh_gauges().await {
            tracing::debug!(error = %e, "refreshing gauges");
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        history.sample(registry(), now);
    }
}

/// `platter status`: the health of a running server.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The server's admin listener.
    #[arg(
        long,
        env = "PLATTER_ADMIN_URL",
        default_value = "http://127.0.0.1:9180"
    )]
    pub admin_url: String,
    /// Print the JSON as the server sent it.
    #[arg(long)]
    pub json: bool,
}

fn gib(v: &Value) -> String {
    v.as_f64().map_or_else(
        || "?".into(),
        |b| format!("{:.1} GiB", b / (1u64 << 30) as f64),
    )
}

pub async fn run_status(args: StatusArgs) -> Result<()> {
    let url = format!("{}/status", args.admin_url.trim_end_matches('/'));
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no server answers at {url}"))?;
    let code = resp.status();
    let body: Value = resp.json().await.context("reading the status")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!(
            "platter {}: {} (since {})",
            body["version"].as_str().unwrap_or("?"),
            body["status"].as_str().unwrap_or("?"),
            body["started_at"].as_str().unwrap_or("?")
        );
        if let Some(l) = body["listeners"].as_object() {
            println!("listeners:");
            for (name, addr) in l {
                println!("  {name:<14} {}", addr.as_str().unwrap_or("?"));
            }
        }
        if let Some(pools) = body["pools"].as_array() {
            println!("pools:");
            for p in pools {
                if p["healthy"].as_bool() == Some(true) {
                    println!(
                        "  {:<14} {:<12} {} free of {}, {} allocated, {} provisioned",
                        p["name"].as_str().unwrap_or("?"),
                        p["backend"].as_str().unwrap_or("?"),
                        gib(&p["free_bytes"]),
                        gib(&p["total_bytes"]),
                        gib(&p["allocated_bytes"]),
                        gib(&p["provisioned_bytes"])
                    );
                } else {
                    println!(
                        "  {:<14} UNHEALTHY: {}",
                        p["name"].as_str().unwrap_or("?"),
                        p["error"].as_str().unwrap_or("?")
                    );
                }
            }
        }
        println!(
            "jobs: {} running, {} unfinished",
            body["jobs"]["running"].as_f64().unwrap_or(0.0),
            body["jobs"]["unfinished"].as_u64().unwrap_or(0)
        );
        let guests = body["guests"]
            .as_object()
            .map(|g| {
                g.iter()
                    .map(|(k, v)| format!("{} {k}", v.as_u64().unwrap_or(0)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        println!(
            "guests: {} (driver: {})",
            if guests.is_empty() {
                "none".into()
            } else {
                guests
            },
            body["compute_driver"].as_str().unwrap_or("disabled")
        );
    }
    if !code.is_success() || body["status"] != "ok" {
        bail!(
            "the server is {}",
            body["status"].as_str().unwrap_or("unhealthy")
        );
    }
    Ok(())
}
