//! HTTP metrics: requests by family, route template and status, with
//! latency histograms (route templates, never ids, so label sets stay
//! bounded), and connections the listeners refused.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use platter_metrics::{registry, CounterVec, HistogramVec, LATENCY_BUCKETS};

struct HttpMetrics {
    requests: CounterVec,
    duration: HistogramVec,
    refused: CounterVec,
}

fn metrics() -> &'static HttpMetrics {
    static M: OnceLock<HttpMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let r = registry();
        HttpMetrics {
            requests: r.counter_vec(
                "platter_http_requests_total",
                "HTTP requests answered, by API family, method, route template and status.",
                &["family", "method", "route", "status"],
            ),
            duration: r.histogram_vec(
                "platter_http_request_duration_seconds",
                "Time to answer HTTP requests (to the response head), by API family, method and route template.",
                &["family", "method", "route"],
                LATENCY_BUCKETS,
            ),
            refused: r.counter_vec(
                "platter_http_connections_refused_total",
                "Connections closed at accept because their source had too many open.",
                &["listener"],
            ),
        }
    })
}

pub(crate) fn connection_refused(listener: &str) {
    metrics().refused.inc(&[listener]);
}

/// Which family serves each route template of a listener.
pub(crate) type Families = Arc<HashMap<String, &'static str>>;

/// The family of a matched route template; a router mounted under a
/// prefix (the console's `/api/volume/...`) is labelled as its own
/// listener's route.
fn family_of(families: &Families, route: String) -> (&'static str, String) {
    if let Some(f) = families.get(&route) {
        return (f, route);
    }
    let unprefixed = route
        .strip_prefix("/api/")
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, rest)| format!("/{rest}"));
    match unprefixed.and_then(|r| families.get(&r).map(|f| (*f, r))) {
        Some(found) => found,
        None => ("none", route),
    }
}

/// The middleware recording each request.
pub(crate) async fn record(State(families): State<Families>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let response = next.run(req).await;
    let (family, route) = match route {
        Some(r) => family_of(&families, r),
        None => ("none", "unmatched".to_string()),
    };
    let m = metrics();
    m.requests
        .inc(&[family, &method, &route, response.status().as_str()]);
    m.duration
        .observe(&[family, &method, &route], started.elapsed().as_secs_f64());
    response
}
