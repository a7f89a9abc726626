//! The HTTP server loop every listener runs: hyper's HTTP/1 with the
//! limits a hostile client meets (a deadline for the request head, which is
//! also the idle keep-alive timeout; a body that must keep moving; a cap on
//! connections per source address), the peer's address recorded on each
//! request, and a graceful stop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use platter_model::sources::SourceLimiter;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// What a listener allows each connection.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The whole request head must arrive within this; a keep-alive
    /// connection idle this long is closed.
    pub header_timeout: Duration,
    /// A request body must deliver a frame at least this often, and, after
    /// this long, average at least [`MIN_BODY_RATE`] bytes a second.
    pub body_timeout: Duration,
    /// Connections open at once from one address (0: unlimited).
    pub max_connections_per_source: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections_per_source: 256,
        }
    }
}

/// The slowest average a request body may arrive at once its grace period
/// (the body timeout) has passed: 4 KiB/s.
pub const MIN_BODY_RATE: u64 = 4096;

/// How long connections still open at a stop may take to finish.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` turns true. `listener_name`
/// labels the metrics of refused connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    listener_name: &'static str,
    mut stop: watch::Receiver<bool>,
) {
    let sources = SourceLimiter::new(limits.max_connections_per_source);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors or the like: let others finish.
                    tracing::warn!(error = %e, listener = listener_name, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let Some(slot) = sources.admit(peer.ip()) else {
            crate::metrics::connection_refused(listener_name);
            tracing::warn!(peer = %peer, listener = listener_name, "too many connections from one source");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let body_timeout = limits.body_timeout;
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let router = router.clone();
            async move {
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                let body = Body::new(PacedBody::new(body, body_timeout));
                let response = router.oneshot(Request::from_parts(parts, body)).await;
                Ok::<_, Infallible>(match response {
                    Ok(r) => r,
                    Err(never) => match never {},
                })
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = listener_name,
            "connections still open at the stop were dropped"
        );
    }
}

/// Resolves once `stop` is (or turns) true, or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// The peer of a request served by [`serve`].
pub fn peer(req: &Request<Body>) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// A request body that must keep moving: a frame at least every `timeout`,
/// and after `timeout` an average of at least [`MIN_BODY_RATE`].
struct PacedBody {
    inner: Incoming,
    timeout: Duration,
    started: Instant,
    received: u64,
    sleep: Pin<Box<Sleep>>,
}

/// The error a stalled body ends with (the handler answers 400/408 and the
/// connection closes).
#[derive(Debug)]
struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body timed out")
    }
}

impl std::error::Error for BodyTimeout {}

impl PacedBody {
    fn new(inner: Incoming, timeout: Duration) -> PacedBody {
        let started = Instant::now();
        PacedBody {
            inner,
            timeout,
            started,
            received: 0,
            sleep: Box::pin(tokio::time::sleep_until(started + timeout)),
        }
    }

    fn deadline(&self) -> Instant {
        let idle = Instant::now() + self.timeout;
        let paced = self.started
            + self.timeout
            + Duration::from_secs_f64(self.received as f64 / MIN_BODY_RATE as f64);
        idle.min(paced)
    }
}

impl HttpBody for PacedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                }
                let deadline = self.deadline();
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
