//! The `otlp` exporter over gRPC (tonic), sending requests encoded in place from the batch.

use super::{encode_request, partial_success, OtlpGrpcConfig};
use crate::component::Signal;
use crate::exporter::{ExportError, Exporter};
use crate::pipeline::data::Batch;
use crate::wire::grpc_status::{retry_delay, LOGS_EXPORT_PATH, METRICS_EXPORT_PATH, TRACES_EXPORT_PATH};
use async_trait::async_trait;
use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

pub struct OtlpGrpcExporter {
    channel: Channel,
    metadata: MetadataMap,
    compression: Option<CompressionEncoding>,
    log_partial: crate::telemetry::logging::RateLimit,
}

/// `host:port` plus whether TLS is used. configgrpc `getGrpcDialOptions`: TLS unless
/// `tls.insecure: true` without a CA (configtls `ClientConfig.LoadTLSConfig` returns nil only
/// then), and always for `https://`; an `http://` prefix is only stripped (`sanitizedEndpoint`).
pub fn target(cfg: &OtlpGrpcConfig) -> (String, bool) {
    let e = cfg.endpoint.trim();
    let has_ca = cfg.tls.ca_file.as_deref().is_some_and(|f| !f.is_empty())
        || cfg.tls.ca_pem.as_ref().is_some_and(|p| !p.as_str().is_empty());
    let configured = !cfg.tls.insecure || has_ca;
    if let Some(rest) = e.strip_prefix("http://") {
        (rest.trim_end_matches('/').to_string(), configured)
    } else if let Some(rest) = e.strip_prefix("https://") {
        (rest.trim_end_matches('/').to_string(), true)
    } else {
        (e.to_string(), configured)
    }
}

impl OtlpGrpcExporter {
    pub fn new(cfg: &OtlpGrpcConfig) -> Result<Self, String> {
        let (hostport, tls) = target(cfg);
        // The channel dials `http://` so tonic adds no TLS of its own; with TLS the connector
        // does the handshake and `origin` keeps `https` in the requests' :scheme.
        let uri = format!("http://{hostport}");
        let mut ep = Endpoint::from_shared(uri.clone())
            .map_err(|e| format!("invalid endpoint {:?}: {e}", crate::secret::redact_url(&uri)))?;
        ep = ep.tcp_nodelay(true).connect_timeout(std::time::Duration::from_secs(10));
        let channel = if tls {
            let origin: http::Uri = format!("https://{hostport}")
                .parse()
                .map_err(|e| format!("invalid endpoint {:?}: {e}", crate::secret::redact_url(&uri)))?;
            let host = origin.host().unwrap_or_default().to_string();
            let connector = crate::tls::client::GrpcTlsConnector::new(&cfg.tls, &host)?;
            ep.origin(origin).connect_with_connector_lazy(connector)
        } else {
            ep.connect_lazy()
        };
        let mut metadata = MetadataMap::new();
        for (k, v) in &cfg.headers {
            let key = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("headers: invalid header name {k:?}"))?;
            // The value is never echoed: it may be a secret.
            let mut val =
                MetadataValue::try_from(v.as_str()).map_err(|_| format!("headers: invalid value for header {k:?}"))?;
            val.set_sensitive(true);
            metadata.insert(key, val);
        }
        let compression = match cfg.compression.as_str() {
            "gzip" => Some(CompressionEncoding::Gzip),
            "zstd" => Some(CompressionEncoding::Zstd),
            _ => None,
        };
        Ok(OtlpGrpcExporter { channel, metadata, compression, log_partial: Default::default() })
    }
}

#[async_trait]
impl Exporter for OtlpGrpcExporter {
    async fn export(&self, batch: &Batch) -> Result<(), ExportError> {
        let mut buf = Vec::new();
        encode_request(batch, &mut buf);
        let path = match batch.signal() {
            Signal::Traces => TRACES_EXPORT_PATH,
            Signal::Metrics => METRICS_EXPORT_PATH,
            Signal::Logs => LOGS_EXPORT_PATH,
        };
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        if let Some(c) = self.compression {
            client = client.send_compressed(c);
        }
        client.ready().await.map_err(|e| ExportError::retryable(format!("connection not ready: {e}")))?;
        let mut req = tonic::Request::new(Bytes::from(buf));
        *req.metadata_mut() = self.metadata.clone();
        match client.unary(req, http::uri::PathAndQuery::from_static(path), RawCodec).await {
            Ok(resp) => {
                if let Some((n, msg)) = partial_success(batch, resp.get_ref()) {
                    if self.log_partial.allow(10) {
                        tracing::warn!(rejected = n, message = %msg, "Partial success response from the OTLP backend");
                    }
                }
                Ok(())
            }
            Err(st) => Err(classify(&st)),
        }
    }
}

/// Retryable codes per the OTLP spec; RESOURCE_EXHAUSTED only with a RetryInfo delay.
pub fn classify(st: &Status) -> ExportError {
    let delay = retry_delay(st.details());
    // A connection lost mid-call: tonic says Unknown "transport error" with the hyper error as
    // its source (a server's own Unknown has none); grpc-go says UNAVAILABLE. The server never
    // answered, so the data may be sent again (a gateway killed mid-request lost nothing).
    let code = match (st.code(), std::error::Error::source(st)) {
        (Code::Unknown, Some(_)) => Code::Unavailable,
        (c, _) => c,
    };
    let reason = match std::error::Error::source(st) {
        Some(src) if code != st.code() => format!("rpc error: code = {code:?} desc = {}: {src}", st.message()),
        _ => format!("rpc error: code = {code:?} desc = {}", st.message()),
    };
    match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => ExportError::Retryable { reason, retry_after: delay },
        Code::ResourceExhausted if delay.is_some() => ExportError::Retryable { reason, retry_after: delay },
        _ => ExportError::Permanent(reason),
    }
}

/// Sends pre-encoded request bytes; returns the response bytes.
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

struct RawEncoder;
impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put(item);
        Ok(())
    }
}

struct RawDecoder;
impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_unless_insecure_as_configgrpc() {
        let t = |yaml: &str| {
            let c: OtlpGrpcConfig = serde_yaml_ng::from_str(yaml).unwrap();
            target(&c)
        };
        assert_eq!(t("endpoint: host:4317"), ("host:4317".into(), true));
        assert_eq!(t("endpoint: host:4317\ntls: {insecure: true}"), ("host:4317".into(), false));
        // Go strips http:// and still uses TLS unless insecure is set.
        assert_eq!(t("endpoint: http://host:4317"), ("host:4317".into(), true));
        assert_eq!(t("endpoint: http://host:4317\ntls: {insecure: true}"), ("host:4317".into(), false));
        assert_eq!(t("endpoint: https://host:4317\ntls: {insecure: true}"), ("host:4317".into(), true));
        // insecure with a CA: LoadTLSConfig still returns a config, so TLS.
        assert_eq!(t("endpoint: host:4317\ntls: {insecure: true, ca_file: /x}"), ("host:4317".into(), true));
    }
}

#[cfg(test)]
mod lost_connection {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A backend that dies mid-call (accepts, reads the request's first bytes, closes): the
    /// send is retryable, as grpc-go's UNAVAILABLE; a server's own UNKNOWN stays permanent.
    #[tokio::test]
    async fn a_connection_lost_mid_call_is_retryable() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
                drop(s);
            }
        });
        let cfg: OtlpGrpcConfig =
            serde_yaml_ng::from_str(&format!("endpoint: 127.0.0.1:{port}\ntls: {{insecure: true}}\ntimeout: 2s"))
                .unwrap();
        let e = OtlpGrpcExporter::new(&cfg).unwrap();
        let r = e.export(&Batch::Traces(vec![Default::default()])).await;
        assert!(matches!(r, Err(ExportError::Retryable { .. })), "{r:?}");
        assert!(matches!(classify(&Status::unknown("the server's own")), ExportError::Permanent(_)));
    }
}
