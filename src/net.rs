//! Serving hyper connections (HTTP/1.1 and h2c) with graceful shutdown.

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::time::Duration;
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

/// Accepts connections until `stop` is true, then lets open requests finish (up to `drain`).
pub async fn serve<S, B>(listener: TcpListener, service: S, mut stop: watch::Receiver<bool>, drain: Duration)
where
    S: hyper::service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            acc = listener.accept() => {
                let Ok((stream, _)) = acc else { continue };
                let _ = stream.set_nodelay(true);
                let conn = builder.serve_connection(TokioIo::new(stream), service.clone()).into_owned();
                let fut = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = fut.await;
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
}
