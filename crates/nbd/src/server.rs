//! The handshake and the transmission phase, over any async stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use platter_backend::{BackendError, IoDirection, VolumeIo};
use platter_model::sources::SourceLimiter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::exports::{Export, Exports};
use crate::proto::*;
use crate::NbdError;

/// What the listener allows each client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a client may take to negotiate.
    pub handshake_timeout: Duration,
    /// Connections open at once from one address (0: unlimited).
    pub max_connections_per_source: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(30),
            max_connections_per_source: 256,
        }
    }
}
/// Requests one connection may have in flight.
const MAX_IN_FLIGHT: u32 = 64;
/// The longest range one BLOCK_STATUS reply describes.
const MAX_STATUS_RANGE: u64 = 256 << 20;

/// Resolves once the flag is (or becomes) true, or its sender is gone.
async fn until_set(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    exports: Arc<Exports>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let sources = SourceLimiter::new(limits.max_connections_per_source);
    loop {
        tokio::select! {
            _ = until_set(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Some(slot) = sources.admit(peer.ip()) else {
                        crate::metrics::refused();
                        tracing::warn!(%peer, "nbd: too many connections from one source");
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let exports = exports.clone();
                    let handshake = limits.handshake_timeout;
                    tokio::spawn(async move {
                        let _slot = slot;
                        let (rd, wr) = stream.into_split();
                        match serve_with_timeout(rd, wr, exports, handshake).await {
                            Ok(()) => tracing::debug!(%peer, "nbd connection closed"),
                            Err(e) => tracing::info!(%peer, error = %e, "nbd connection ended"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "nbd accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// What negotiation settled for the transmission phase.
struct Session {
    export: Arc<Export>,
    io: Arc<dyn VolumeIo>,
    /// The size the client was told, grown when the volume grows (an
    /// online extend): requests past it are checked against the volume's
    /// current size, so a client that learns the new size out of band uses
    /// it without reconnecting.
    size: AtomicU64,
    structured: bool,
    base_allocation: bool,
    /// The volume's data-path metrics.
    stats: crate::metrics::VolumeStats,
}

fn transmission_flags(export: &Export) -> u16 {
    let mut f = TFLAG_HAS_FLAGS
        | TFLAG_SEND_FLUSH
        | TFLAG_SEND_FUA
        | TFLAG_SEND_DF
        | TFLAG_CAN_MULTI_CONN
        | TFLAG_SEND_CACHE;
    if export.read_only {
        f |= TFLAG_READ_ONLY;
    } else {
        f |= TFLAG_SEND_TRIM | TFLAG_SEND_WRITE_ZEROES | TFLAG_SEND_FAST_ZERO;
    }
    f
}

async fn open(
    exports: &Arc<Exports>,
    export: &Arc<Export>,
) -> Result<(Arc<dyn VolumeIo>, u64), BackendError> {
    let (exports, export) = (exports.clone(), export.clone());
    tokio::task::spawn_blocking(move || {
        let io = exports.open_blocking(&export)?;
        let size = io.size()?;
        Ok((io, size))
    })
    .await
    .map_err(|e| BackendError::Invalid(e.to_string()))?
}

/// Serves one client: negotiation, then transmission until it disconnects,
/// breaks the protocol, or its export is withdrawn.
pub async fn handle_connection<S>(stream: S, exports: Arc<Exports>) -> Result<(), NbdError>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    serve_halves(rd, wr, exports).await
}

/// The same, over the two halves of a stream.
pub async fn serve_halves<R, W>(rd: R, wr: W, exports: Arc<Exports>) -> Result<(), NbdError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    serve_with_timeout(rd, wr, exports, Limits::default().handshake_timeout).await
}

async fn serve_with_timeout<R, W>(
    rd: R,
    mut wr: W,
    exports: Arc<Exports>,
    handshake: Duration,
) -> Result<(), NbdError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // Requests arrive back to back: read them through a buffer.
    let mut rd = BufReader::with_capacity(256 * 1024, rd);
    let session = match tokio::time::timeout(handshake, negotiate(&mut rd, &mut wr, &exports)).await
    {
        Ok(result) => result?,
        Err(_) => return Err(NbdError::Client("negotiation timed out".into())),
    };
    match session {
        Some(s) => {
            let volume = s.export.volume_id.clone();
            crate::metrics::connection(&volume, 1.0);
            let result = transmission(rd, wr, Arc::new(s)).await;
            crate::metrics::connection(&volume, -1.0);
            result
        }
        None => Ok(()),
    }
}

async fn reply<W: AsyncWrite + Unpin>(
    wr: &mut W,
    option: u32,
    kind: u32,
    data: &[u8],
) -> Result<(), NbdError> {
    wr.write_all(&option_reply(option, kind, data)).await?;
    Ok(())
}

async fn reply_error<W: AsyncWrite + Unpin>(
    wr: &mut W,
    option: u32,
    kind: u32,
    msg: &str,
) -> Result<(), NbdError> {
    reply(wr, option, kind, msg.as_bytes()).await
}

async fn negotiate<R, W>(
    rd: &mut R,
    wr: &mut W,
    exports: &Arc<Exports>,
) -> Result<Option<Session>, NbdError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut hello = Vec::with_capacity(18);
    hello.extend_from_slice(&NBDMAGIC.to_be_bytes());
    hello.extend_from_slice(&IHAVEOPT.to_be_bytes());
    hello.extend_from_slice(&(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES).to_be_bytes());
    wr.write_all(&hello).await?;
    wr.flush().await?;
    let client_flags = rd.read_u32().await?;
    if client_flags & !(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES) != 0 {
        return Err(NbdError::Client(format!(
            "unknown client flags {client_flags:#x}"
        )));
    }
    if client_flags & CLIENT_FLAG_FIXED_NEWSTYLE == 0 {
        return Err(NbdError::Client(
            "the fixed newstyle handshake is required".into(),
        ));
    }
    let no_zeroes = client_flags & CLIENT_FLAG_NO_ZEROES != 0;
    let mut structured = false;
    let mut base_allocation = false;
    loop {
        wr.flush().await?;
        let mut header = [0u8; 16];
        rd.read_exact(&mut header).await?;
        let (option, len) = parse_option_header(&header)?;
        if len > MAX_OPTION_LEN {
            return Err(NbdError::Client(format!(
                "option {option} of {len} bytes is too long"
            )));
        }
        let mut data = vec![0u8; len as usize];
        rd.read_exact(&mut data).await?;
        match option {
            OPT_EXPORT_NAME => {
                let name = String::from_utf8_lossy(&data).into_owned();
                // No way to report an error here: an unknown name ends the connection.
                let Some(export) = exports.lookup(&name) else {
                    return Ok(None);
                };
                let Ok((io, size)) = open(exports, &export).await else {
                    return Ok(None);
                };
                let mut out = Vec::with_capacity(134);
                out.extend_from_slice(&size.to_be_bytes());
                out.extend_from_slice(&transmission_flags(&export).to_be_bytes());
                if !no_zeroes {
                    out.extend_from_slice(&[0u8; 124]);
                }
                wr.write_all(&out).await?;
                wr.flush().await?;
                return Ok(Some(Session {
                    stats: crate::metrics::VolumeStats::new(&export.volume_id),
                    export,
                    io,
                    size: AtomicU64::new(size),
                    structured,
                    base_allocation,
                }));
            }
            OPT_ABORT => {
                reply(wr, option, REP_ACK, &[]).await?;
                wr.flush().await?;
                return Ok(None);
            }
            OPT_LIST => {
                if len != 0 {
                    reply_error(wr, option, REP_ERR_INVALID, "NBD_OPT_LIST takes no data").await?;
                } else {
                    // Export names are secrets (one per attachment): none are listed.
                    reply(wr, option, REP_ACK, &[]).await?;
                }
            }
            OPT_STARTTLS => {
                reply_error(
                    wr,
                    option,
                    REP_ERR_UNSUP,
                    "TLS is not configured on this server",
                )
                .await?;
            }
            OPT_INFO | OPT_GO => {
                let request = match parse_info_request(&data) {
                    Ok(r) => r,
                    Err(e) => {
                        reply_error(wr, option, REP_ERR_INVALID, &e.to_string()).await?;
                        continue;
                    }
                };
                let Some(export) = exports.lookup(&request.name) else {
                    reply_error(wr, option, REP_ERR_UNKNOWN, "no such export").await?;
                    continue;
                };
                let (io, size) = match open(exports, &export).await {
                    Ok(x) => x,
                    Err(e) => {
                        reply_error(
                            wr,
                            option,
                            REP_ERR_UNKNOWN,
                            &format!("export unavailable: {e}"),
                        )
                        .await?;
                        continue;
                    }
                };
                let mut info = Vec::with_capacity(12);
                info.extend_from_slice(&INFO_EXPORT.to_be_bytes());
                info.extend_from_slice(&size.to_be_bytes());
                info.extend_from_slice(&transmission_flags(&export).to_be_bytes());
                reply(wr, option, REP_INFO, &info).await?;
                if request.infos.contains(&INFO_NAME) {
                    let mut name = INFO_NAME.to_be_bytes().to_vec();
                    name.extend_from_slice(request.name.as_bytes());
                    reply(wr, option, REP_INFO, &name).await?;
                }
                let mut sizes = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
                sizes.extend_from_slice(&BLOCK_MIN.to_be_bytes());
                sizes.extend_from_slice(&BLOCK_PREFERRED.to_be_bytes());
                sizes.extend_from_slice(&BLOCK_MAX.to_be_bytes());
                reply(wr, option, REP_INFO, &sizes).await?;
                reply(wr, option, REP_ACK, &[]).await?;
                if option == OPT_GO {
                    wr.flush().await?;
                    return Ok(Some(Session {
                        stats: crate::metrics::VolumeStats::new(&export.volume_id),
                        export,
                        io,
                        size: AtomicU64::new(size),
                        structured,
                        base_allocation,
                    }));
                }
            }
            OPT_STRUCTURED_REPLY => {
                if len != 0 {
                    reply_error(
                        wr,
                        option,
                        REP_ERR_INVALID,
                        "NBD_OPT_STRUCTURED_REPLY takes no data",
                    )
                    .await?;
                } else {
                    structured = true;
                    reply(wr, option, REP_ACK, &[]).await?;
                }
            }
            OPT_LIST_META_CONTEXT | OPT_SET_META_CONTEXT => {
                if !structured {
                    reply_error(
                        wr,
                        option,
                        REP_ERR_INVALID,
                        "negotiate structured replies first",
                    )
                    .await?;
                    continue;
                }
                let request = match parse_meta_context_request(&data) {
                    Ok(r) => r,
                    Err(e) => {
                        reply_error(wr, option, REP_ERR_INVALID, &e.to_string()).await?;
                        continue;
                    }
                };
                if exports.lookup(&request.name).is_none() {
                    reply_error(wr, option, REP_ERR_UNKNOWN, "no such export").await?;
                    continue;
                }
                let listing = option == OPT_LIST_META_CONTEXT;
                let selected = if listing && request.queries.is_empty() {
                    true
                } else {
                    request
                        .queries
                        .iter()
                        .any(|q| query_matches_base_allocation(q))
                };
                if !listing {
                    base_allocation = selected;
                }
                if selected {
                    let id = if listing { 0 } else { BASE_ALLOCATION_ID };
                    let mut ctx = id.to_be_bytes().to_vec();
                    ctx.extend_from_slice(BASE_ALLOCATION.as_bytes());
                    reply(wr, option, REP_META_CONTEXT, &ctx).await?;
                }
                reply(wr, option, REP_ACK, &[]).await?;
            }
            other => {
                reply_error(wr, other, REP_ERR_UNSUP, "unsupported option").await?;
            }
        }
    }
}

async fn writer_loop<W: AsyncWrite + Unpin>(
    wr: W,
    mut rx: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, wr);
    while let Some(msg) = rx.recv().await {
        out.write_all(&msg).await?;
        while let Ok(more) = rx.try_recv() {
            out.write_all(&more).await?;
        }
        out.flush().await?;
    }
    out.shutdown().await
}

async fn transmission<R, W>(mut rd: R, wr: W, session: Arc<Session>) -> Result<(), NbdError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
    let writer = tokio::spawn(writer_loop(wr, rx));
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize));
    let mut closed = session.export.closed.clone();
    let result: Result<(), NbdError> = loop {
        let mut header = [0u8; REQUEST_HEADER_LEN];
        let read = tokio::select! {
            _ = until_set(&mut closed) => break Ok(()),
            r = rd.read_exact(&mut header) => r,
        };
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
            Err(e) => break Err(e.into()),
        }
        let request = match parse_request(&header) {
            Ok(r) => r,
            Err(e) => break Err(e.into()),
        };
        let payload = if request.kind == CMD_WRITE {
            if request.length > MAX_PAYLOAD {
                break Err(NbdError::Client(format!(
                    "write of {} bytes is too long",
                    request.length
                )));
            }
            let mut data = vec![0u8; request.length as usize];
            if let Err(e) = rd.read_exact(&mut data).await {
                break Err(e.into());
            }
            data
        } else {
            Vec::new()
        };
        if request.kind == CMD_DISC {
            break Ok(());
        }
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break Ok(());
        };
        let session = session.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let (kind, length) = (request.kind, request.length);
            let reply = process(&session, request, payload).await;
            session
                .stats
                .request(kind, length, started.elapsed().as_secs_f64());
            let _ = tx.send(reply).await;
            drop(permit);
        });
    };
    // Let requests in flight finish and their replies go out, then close.
    let _ = in_flight.acquire_many(MAX_IN_FLIGHT).await;
    drop(tx);
    let _ = writer.await;
    result
}

fn errno(e: &BackendError) -> u32 {
    match e {
        BackendError::Invalid(_) => EINVAL,
        BackendError::VolumeNotFound(_) | BackendError::SnapshotNotFound(_) => ESHUTDOWN,
        BackendError::Checksum { .. } | BackendError::Io { .. } => EIO,
    }
}

fn error_reply(session: &Session, request: &Request, error: u32, message: &str) -> Vec<u8> {
    let structured_kind = matches!(request.kind, CMD_READ | CMD_BLOCK_STATUS);
    if session.structured && structured_kind {
        error_chunk(request.cookie, error, message)
    } else {
        simple_reply(error, request.cookie)
    }
}

fn ok_reply(request: &Request) -> Vec<u8> {
    simple_reply(0, request.cookie)
}

/// Largest read or write run on the connection's own task: an I/O served
/// from the page cache takes microseconds, less than handing it to the
/// blocking pool and back. Everything else (flushes, FUA, large I/O,
/// zeroing) runs on the blocking pool. The connection's task runs on the
/// NBD runtime, never on the API's, so a small I/O that waits behind a
/// checkpoint holds up only NBD work (decision 51).
const INLINE_MAX: u32 = 1024 * 1024;

fn inline(req: &Request) -> bool {
    matches!(req.kind, CMD_READ | CMD_WRITE)
        && req.length <= INLINE_MAX
        && req.flags & CMD_FLAG_FUA == 0
}

/// Runs `f` inline for small reads and writes, else on the blocking pool.
async fn run_io<T: Send + 'static>(
    req: &Request,
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    if inline(req) {
        f()
    } else {
        blocking(f).await
    }
}

/// Runs one backend call on the blocking pool of the runtime serving the
/// connection: what may wait long (flushes, FUA, large I/O) must not hold
/// up the async workers that read requests and write replies.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackendError::Invalid(format!("task failed: {e}")))?
}

/// Runs one request and returns its complete reply.
/// Waits for the volume's QoS to allow `length` bytes, counting the wait.
async fn throttle(s: &Session, direction: IoDirection, length: u32) {
    let started = std::time::Instant::now();
    s.export.limiter.acquire(direction, u64::from(length)).await;
    s.stats.throttled(started.elapsed().as_secs_f64());
}

async fn process(s: &Session, req: Request, payload: Vec<u8>) -> Vec<u8> {
    let end = req.offset.checked_add(req.length as u64);
    let mut in_range = end.is_some_and(|e| e <= s.size.load(Ordering::Relaxed));
    if !in_range {
        if let Ok(now) = s.io.size() {
            s.size.fetch_max(now, Ordering::Relaxed);
            in_range = end.is_some_and(|e| e <= now);
        }
    }
    let writes = matches!(req.kind, CMD_WRITE | CMD_TRIM | CMD_WRITE_ZEROES);
    if writes && s.export.read_only {
        return error_reply(s, &req, EPERM, "the export is read-only");
    }
    if matches!(
        req.kind,
        CMD_READ | CMD_WRITE | CMD_TRIM | CMD_WRITE_ZEROES | CMD_CACHE | CMD_BLOCK_STATUS
    ) && !in_range
    {
        let e = if writes { ENOSPC } else { EINVAL };
        return error_reply(s, &req, e, "the request goes beyond the end of the export");
    }
    let fua = req.flags & CMD_FLAG_FUA != 0;
    let io = s.io.clone();
    match req.kind {
        CMD_READ => {
            if req.length == 0 || req.length > MAX_PAYLOAD {
                return error_reply(s, &req, EINVAL, "bad read length");
            }
            throttle(s, IoDirection::Read, req.length).await;
            read(s, req).await
        }
        CMD_WRITE => {
            throttle(s, IoDirection::Write, req.length).await;
            let offset = req.offset;
            let r = run_io(&req, move || {
                io.write_at(&payload, offset)?;
                if fua {
                    io.flush()?;
                }
                Ok(())
            })
            .await;
            match r {
                Ok(()) => ok_reply(&req),
                Err(e) => error_reply(s, &req, errno(&e), &e.to_string()),
            }
        }
        CMD_FLUSH => match blocking(move || io.flush()).await {
            Ok(()) => ok_reply(&req),
            Err(e) => error_reply(s, &req, errno(&e), &e.to_string()),
        },
        CMD_TRIM | CMD_WRITE_ZEROES => {
            let no_hole = req.kind == CMD_WRITE_ZEROES && req.flags & CMD_FLAG_NO_HOLE != 0;
            if no_hole && req.flags & CMD_FLAG_FAST_ZERO != 0 {
                // Allocated zeros mean writing them: not fast.
                return error_reply(s, &req, ENOTSUP, "allocated zeros cannot be written fast");
            }
            s.export.limiter.acquire(IoDirection::Write, 0).await;
            let (offset, len) = (req.offset, req.length as u64);
            let r = blocking(move || {
                if no_hole {
                    io.write_zeroes_allocated(offset, len)?;
                } else if len > 0 {
                    io.write_zeroes(offset, len)?;
                }
                if fua {
                    io.flush()?;
                }
                Ok(())
            })
            .await;
            match r {
                Ok(()) => ok_reply(&req),
                Err(e) => error_reply(s, &req, errno(&e), &e.to_string()),
            }
        }
        CMD_CACHE => ok_reply(&req),
        CMD_BLOCK_STATUS => block_status(s, req).await,
        _ => error_reply(s, &req, EINVAL, "unknown command"),
    }
}

async fn read(s: &Session, req: Request) -> Vec<u8> {
    let io = s.io.clone();
    let (offset, len) = (req.offset, req.length as u64);
    if !s.structured {
        let r = run_io(&req, move || {
            let mut out = simple_reply(0, req.cookie);
            let start = out.len();
            out.resize(start + len as usize, 0);
            io.read_at(&mut out[start..], offset)?;
            Ok(out)
        })
        .await;
        return match r {
            Ok(out) => out,
            Err(e) => simple_reply(errno(&e), req.cookie),
        };
    }
    let whole = req.flags & CMD_FLAG_DF != 0;
    let r = run_io(&req, move || {
        let runs = if whole {
            vec![(len, true)]
        } else {
            io.allocation(offset, len)?
        };
        let mut out = Vec::with_capacity(len as usize + 64);
        let mut pos = offset;
        let count = runs.len();
        for (i, (run_len, allocated)) in runs.into_iter().enumerate() {
            let flags = if i + 1 == count { REPLY_FLAG_DONE } else { 0 };
            if allocated {
                chunk_header(
                    &mut out,
                    flags,
                    REPLY_TYPE_OFFSET_DATA,
                    req.cookie,
                    8 + run_len as u32,
                );
                out.extend_from_slice(&pos.to_be_bytes());
                let start = out.len();
                out.resize(start + run_len as usize, 0);
                io.read_at(&mut out[start..], pos)?;
            } else {
                chunk_header(&mut out, flags, REPLY_TYPE_OFFSET_HOLE, req.cookie, 12);
                out.extend_from_slice(&pos.to_be_bytes());
                out.extend_from_slice(&(run_len as u32).to_be_bytes());
            }
            pos += run_len;
        }
        if count == 0 {
            chunk_header(&mut out, REPLY_FLAG_DONE, REPLY_TYPE_NONE, req.cookie, 0);
        }
        Ok(out)
    })
    .await;
    match r {
        Ok(out) => out,
        Err(e) => error_chunk(req.cookie, errno(&e), &e.to_string()),
    }
}

async fn block_status(s: &Session, req: Request) -> Vec<u8> {
    if !s.structured || !s.base_allocation {
        return error_reply(s, &req, EINVAL, "base:allocation was not negotiated");
    }
    if req.length == 0 {
        return error_reply(s, &req, EINVAL, "empty range");
    }
    let io = s.io.clone();
    let offset = req.offset;
    let len = (req.length as u64).min(MAX_STATUS_RANGE);
    let r = blocking(move || io.allocation(offset, len)).await;
    match r {
        Ok(mut runs) => {
            if req.flags & CMD_FLAG_REQ_ONE != 0 {
                runs.truncate(1);
            }
            let mut out = Vec::with_capacity(32 + runs.len() * 8);
            chunk_header(
                &mut out,
                REPLY_FLAG_DONE,
                REPLY_TYPE_BLOCK_STATUS,
                req.cookie,
                4 + 8 * runs.len() as u32,
            );
            out.extend_from_slice(&BASE_ALLOCATION_ID.to_be_bytes());
            for (run_len, allocated) in runs {
                out.extend_from_slice(&(run_len as u32).to_be_bytes());
                let flags = if allocated {
                    0
                } else {
                    STATE_HOLE | STATE_ZERO
                };
                out.extend_from_slice(&flags.to_be_bytes());
            }
            out
        }
        Err(e) => error_chunk(req.cookie, errno(&e), &e.to_string()),
    }
}
