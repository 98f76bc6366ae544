//! A minimal HTTP/1.1 server for the self-metrics and health endpoints.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub type Handler = Arc<dyn Fn(&Request<hyper::body::Incoming>) -> Response<Full<Bytes>> + Send + Sync>;

/// Binds `addr`; a port in use or a bad address is an error naming both.
pub async fn bind(what: &str, addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| format!("{what}: cannot listen on {addr}: {e}"))
}

/// Serves `handler` on `listener` until `stop` turns true; returns when the accept loop ends.
pub async fn serve(listener: TcpListener, handler: Handler, mut stop: watch::Receiver<bool>) {
    static LOG_ACCEPT: crate::telemetry::logging::RateLimit = crate::telemetry::logging::RateLimit::new();
    let mut backoff = None;
    loop {
        // After a failed accept (out of fds…), wait 5 ms doubling to 1 s instead of spinning.
        if let Some(d) = backoff {
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
                        let d = crate::net::accept_backoff(backoff);
                        backoff = Some(d);
                        if LOG_ACCEPT.allow(10) {
                            tracing::warn!(error = %e, retry_in = ?d, "Accept failed; backing off");
                        }
                        continue;
                    }
                };
                let h = Arc::clone(&handler);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let resp = h(&req);
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
                });
            }
        }
    }
}

/// A response with a body and content type.
pub fn response(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}
