//! The UDP side: one X-Ray daemon datagram is the header `{"format":"json","version":1}`, a
//! newline and one segment document (Go: internal/udppoller/poller.go, internal/tracesegment).
//! Each document goes through the translator into the pipeline; a datagram that cannot be
//! used is counted as refused and logged (rate-limited), and the receiver keeps reading.

use super::translate::to_resource_spans;
use crate::component::ComponentId;
use crate::pipeline::consumer::{ConsumeError, Consumer};
use crate::pipeline::data::Batch;
use crate::telemetry::component::{ReceiveOutcome, ReceiverTelemetry};
use crate::telemetry::logging::RateLimit;
use serde::Deserialize;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// The only transport (udppoller.go `Transport`), also the `transport` label of the counters.
pub const TRANSPORT: &str = "udp";
/// poller.go `pollerBufferSizeKB`: the X-Ray daemon's buffer; a longer datagram is cut.
const BUFFER: usize = 64 * 1024;

/// The traces pipeline and the receiver's counters (`transport="udp"`).
pub struct Entry {
    pub consumer: Arc<dyn Consumer>,
    pub telemetry: ReceiverTelemetry,
}

impl Entry {
    /// Pushes one document's spans into the pipeline and counts them accepted or, on any
    /// pipeline error, refused (failed with `receiverhelper.newReceiverMetrics`), as the OTLP
    /// receiver counts a request.
    async fn deliver(&self, batch: Batch) -> Result<(), ConsumeError> {
        let items = batch.items() as u64;
        let r = self.consumer.consume(Arc::new(batch)).await;
        self.telemetry.record(items, if r.is_ok() { ReceiveOutcome::Success } else { ReceiveOutcome::Failure });
        r
    }
}

/// tracesegment.go `Header`.
#[derive(Deserialize, Debug, Default, PartialEq)]
#[serde(default)]
struct Header {
    format: String,
    version: i64,
}

/// util.go `SplitHeaderBody`: the body after the first newline, once the header says JSON,
/// version 1.
pub fn split_header_body(buf: &[u8]) -> Result<&[u8], String> {
    let Some(nl) = buf.iter().position(|b| *b == b'\n') else {
        return Err("unable to split incoming data as header and segment".into());
    };
    let (head, body) = (&buf[..nl], &buf[nl + 1..]);
    let h: Header = serde_json::from_slice(head).map_err(|e| format!("invalid header: {e}"))?;
    if !(h.format.eq_ignore_ascii_case("json") && h.version == 1) {
        return Err(format!("invalid header {{Format:{} Version:{}}}", h.format, h.version));
    }
    if body.is_empty() {
        return Err("dropped span due to missing body that contains segment".into());
    }
    Ok(body)
}

/// Rate limits of the warnings (one message per 10 s each; every drop is counted).
#[derive(Default)]
struct Logs {
    bad_datagram: RateLimit,
    bad_segment: RateLimit,
    refused: RateLimit,
}

/// Reads datagrams until `stop`.
pub async fn run(id: ComponentId, sock: UdpSocket, entry: Entry, mut stop: watch::Receiver<bool>) {
    let logs = Logs::default();
    let mut buf = vec![0u8; BUFFER];
    loop {
        let r = tokio::select! {
            _ = stop.wait_for(|s| *s) => None,
            r = sock.recv_from(&mut buf) => Some(r),
        };
        let n = match r {
            None => return,
            Some(Ok((n, _))) => n,
            Some(Err(e)) => {
                // A read error (ICMP unreachable, buffers) is not fatal: count it as the Go
                // poller does and go on, after a short pause so a broken socket cannot spin.
                entry.telemetry.record(1, ReceiveOutcome::Failure);
                if logs.bad_datagram.allow(10) {
                    tracing::error!(receiver = %id, error = %e, "Recoverable socket read error");
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        handle(&id, buf.get(..n).unwrap_or_default(), &entry, &logs).await;
    }
}

async fn handle(id: &ComponentId, datagram: &[u8], entry: &Entry, logs: &Logs) {
    let body = match split_header_body(datagram) {
        Ok(b) => b,
        Err(e) => {
            entry.telemetry.record(1, ReceiveOutcome::Failure);
            if logs.bad_datagram.allow(10) {
                tracing::warn!(receiver = %id, error = %e, "Failed to split segment header and body");
            }
            return;
        }
    };
    let rs = match to_resource_spans(body) {
        Ok((rs, _)) => rs,
        Err(e) => {
            entry.telemetry.record(e.spans as u64, ReceiveOutcome::Failure);
            if logs.bad_segment.allow(10) {
                tracing::warn!(receiver = %id, error = %e, spans = e.spans, "X-Ray segment to OT traces conversion failed");
            }
            return;
        }
    };
    // `deliver` counts the spans as accepted or refused.
    if let Err(e) = entry.deliver(Batch::Traces(vec![rs])).await {
        if logs.refused.allow(10) {
            tracing::warn!(receiver = %id, error = %e, "Trace consumer errored out");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_body_split_as_go() {
        // tracesegment/util_test.go cases.
        let ok = split_header_body(b"{\"format\": \"json\", \"version\": 1}\n{\"a\":1}").unwrap();
        assert_eq!(ok, b"{\"a\":1}");
        assert_eq!(split_header_body(b"{\"format\":\"JSON\",\"version\":1}\nx").unwrap(), b"x");
        assert!(split_header_body(b"no newline here").unwrap_err().contains("unable to split"));
        assert!(split_header_body(b"{\"format\": \"json\", \"version\": 2}\n{}")
            .unwrap_err()
            .contains("invalid header"));
        assert!(split_header_body(b"{\"format\": \"xml\", \"version\": 1}\n{}")
            .unwrap_err()
            .contains("invalid header"));
        assert!(split_header_body(b"{\"format\": \"json\"}\n{}").unwrap_err().contains("Version:0"));
        assert!(split_header_body(b"not json\n{}").unwrap_err().contains("invalid header"));
        assert!(split_header_body(b"{\"format\": \"json\", \"version\": 1}\n").unwrap_err().contains("missing body"));
    }
}
