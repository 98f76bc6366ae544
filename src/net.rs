//! Serving hyper connections (HTTP/1.1 and h2c) with timeouts and graceful shutdown.

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Replaces a `localhost` host with 127.0.0.1, as Go's listener binds IPv4 for it.
pub fn listen_addr(endpoint: &str) -> String {
    match endpoint.strip_prefix("localhost:") {
        Some(port) => format!("127.0.0.1:{port}"),
        None => endpoint.to_string(),
    }
}

/// Binds `addr`; a port in use or a bad address is an error naming both.
pub async fn bind(what: &str, addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| format!("{what}: cannot listen on {addr}: {e}"))
}

/// Per-listener limits; `None` disables one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timeouts {
    /// HTTP/1: the request line and headers must arrive within this (Go: ReadHeaderTimeout).
    pub header_read: Option<Duration>,
    /// A request (body read and answer) must finish within this, or the connection (HTTP/1) or
    /// stream (h2) is reset: a body that stops mid-way or never ends is not held.
    pub request: Option<Duration>,
    /// A connection with no request in flight for this long is closed (Go: IdleTimeout,
    /// gRPC max_connection_idle).
    pub idle: Option<Duration>,
    /// h2 PING interval and the wait for its answer (gRPC keepalive time / timeout).
    pub h2_keepalive: Option<(Duration, Duration)>,
}

impl Timeouts {
    pub fn none() -> Timeouts {
        Timeouts::default()
    }
}

/// Tracks requests in flight and the end of the last one, for the idle timeout.
struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.start.elapsed().saturating_sub(last))
    }
}

struct InFlight(Arc<Activity>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A service wrapper that enforces the request deadline and records activity.
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    deadline: Option<Duration>,
    activity: Arc<Activity>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> hyper::service::Service<Request<Incoming>> for Guarded<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = hyper::Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = hyper::Response<B>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(Arc::clone(&self.activity));
        let fut = self.inner.call(req);
        let deadline = self.deadline;
        Box::pin(async move {
            let _guard = guard;
            match deadline {
                Some(d) => match tokio::time::timeout(d, fut).await {
                    Ok(r) => r.map_err(Into::into),
                    // An error resets the h2 stream or closes the HTTP/1 connection.
                    Err(_) => Err(format!("request not finished within {d:?}").into()),
                },
                None => fut.await.map_err(Into::into),
            }
        })
    }
}

/// Backoff after a failed accept (Go net/http: 5 ms doubling to 1 s).
pub fn accept_backoff(prev: Option<Duration>) -> Duration {
    match prev {
        None => Duration::from_millis(5),
        Some(d) => (d * 2).min(Duration::from_secs(1)),
    }
}

/// Accepts connections until `stop` is true, then lets open requests finish (up to `drain`).
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    stop: watch::Receiver<bool>,
    drain: Duration,
    timeouts: Timeouts,
) where
    S: hyper::service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve_tls(listener, service, stop, drain, timeouts, None).await
}

/// The TLS handshake must finish within the header read timeout (Go's http.Server counts the
/// handshake in ReadHeaderTimeout), or this when that is off.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// `serve`, with TLS on every connection when `tls` is set. The handshake runs in the
/// connection's task under a deadline, so a client that stalls in it holds nothing else.
pub async fn serve_tls<S, B>(
    listener: TcpListener,
    service: S,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
    timeouts: Timeouts,
    tls: Option<Arc<crate::tls::ServerTls>>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    static LOG_ACCEPT: crate::telemetry::logging::RateLimit = crate::telemetry::logging::RateLimit::new();
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    {
        let mut h2 = builder.http2();
        h2.timer(TokioTimer::new());
        if let Some((interval, wait)) = timeouts.h2_keepalive {
            h2.keep_alive_interval(interval).keep_alive_timeout(wait);
        }
    }
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut backoff: Option<Duration> = None;
    let mut pause = false;
    loop {
        if let Some(d) = backoff.filter(|_| pause) {
            pause = false;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(d) => {}
            }
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            acc = listener.accept() => {
                let stream = match acc {
                    Ok((stream, _)) => { backoff = None; stream }
                    Err(e) => {
                        // Out of file descriptors (EMFILE/ENFILE), buffers…: wait instead of spinning.
                        let d = accept_backoff(backoff);
                        backoff = Some(d);
                        if LOG_ACCEPT.allow(10) {
                            tracing::warn!(endpoint = %local, error = %e, retry_in = ?d, "Accept failed; backing off");
                        }
                        pause = true;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let conn = Conn { builder: builder.clone(), service: service.clone(), timeouts, watcher: graceful.watcher() };
                match &tls {
                    None => {
                        tokio::spawn(conn.run(stream));
                    }
                    Some(tls) => {
                        let acceptor = tls.acceptor();
                        let handshake = timeouts.header_read.unwrap_or(HANDSHAKE_TIMEOUT);
                        tokio::spawn(async move {
                            match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                                Ok(Ok(s)) => conn.run(s).await,
                                // A failed or stalled handshake (plaintext client, unknown CA,
                                // no client certificate) only closes this connection.
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!(timeout = ?handshake, "TLS handshake timed out"),
                            }
                        });
                    }
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
}

/// What one accepted connection needs, whatever its transport (TCP or TLS over TCP).
struct Conn<S> {
    builder: auto::Builder<TokioExecutor>,
    service: S,
    timeouts: Timeouts,
    watcher: hyper_util::server::graceful::Watcher,
}

impl<S, B> Conn<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Serves the connection until it ends, its idle timeout passes, or shutdown drains it.
    async fn run<I>(self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let activity =
            Arc::new(Activity { start: Instant::now(), in_flight: AtomicUsize::new(0), last_ms: AtomicU64::new(0) });
        let svc = Guarded { inner: self.service, deadline: self.timeouts.request, activity: Arc::clone(&activity) };
        let conn = self.builder.serve_connection(TokioIo::new(io), svc).into_owned();
        let fut = self.watcher.watch(conn);
        let Some(idle) = self.timeouts.idle else {
            let _ = fut.await;
            return;
        };
        tokio::pin!(fut);
        let tick = (idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = &mut fut => return,
                _ = tokio::time::sleep(tick) => {
                    if activity.idle_for().is_some_and(|d| d >= idle) {
                        return; // dropping the connection closes it
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_from_5ms_to_1s() {
        let mut d = None;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let n = accept_backoff(d);
            seen.push(n.as_millis());
            d = Some(n);
        }
        assert_eq!(seen, vec![5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    }
}
