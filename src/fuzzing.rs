//! Fuzz entry points: each takes arbitrary bytes and drives one untrusted-input path of oxidot
//! as the running collector does. They return nothing and must never panic, hang or allocate
//! without bound, whatever the bytes; the stable fuzzer in `tests/fuzz.rs` and the cargo-fuzz
//! targets in `tests/fuzz/` both call these, so a crash found by one replays in the other.

use crate::component::Signal;
use crate::exporter::awsxray::translate as xray;
use crate::exporter::loki::translate as loki;
use crate::exporter::prometheusremotewrite::translate as prw;
use crate::pipeline::data::Batch;
use crate::receiver::otlp::decode::{decode_request, decompress, reject_invalid, Encoding};
use bytes::Bytes;

/// The decompression limit used here: large enough for every seed, small enough that a bomb
/// is refused quickly.
const BODY_LIMIT: u64 = 4 << 20;

/// The Content-Encoding values the HTTP receiver accepts, plus one it refuses.
pub const ENCODINGS: &[&str] = &["", "gzip", "zstd", "deflate", "zlib", "snappy", "x-snappy-framed", "br"];

/// How the first byte of a fuzz input selects what the rest is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selector {
    pub signal: Signal,
    pub encoding: Encoding,
    /// Index into `ENCODINGS`.
    pub compression: usize,
}

impl Selector {
    pub fn from_byte(b: u8) -> Selector {
        let signal = [Signal::Traces, Signal::Metrics, Signal::Logs][(b % 3) as usize];
        let encoding = if (b / 3) % 2 == 0 { Encoding::Protobuf } else { Encoding::Json };
        let compression = ((b / 6) as usize) % ENCODINGS.len();
        Selector { signal, encoding, compression }
    }

    /// The byte `from_byte` maps back to this selector (for building seeds).
    pub fn to_byte(self) -> u8 {
        let s = match self.signal {
            Signal::Traces => 0,
            Signal::Metrics => 1,
            Signal::Logs => 2,
        };
        let e = if self.encoding == Encoding::Json { 1 } else { 0 };
        s + 3 * e + 6 * self.compression as u8
    }
}

/// The OTLP/HTTP body path: `data[0]` selects signal, encoding and Content-Encoding, the rest is
/// the body as it arrived. Decompressed with the receiver's bounded decoder, decoded, cleaned of
/// invalid ids, then handed to the translator of each exporter that takes that signal.
pub fn otlp_http_body(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else { return };
    let sel = Selector::from_byte(sel);
    let Ok(raw) = decompress(ENCODINGS[sel.compression], Bytes::copy_from_slice(body), BODY_LIMIT) else { return };
    if sel.encoding == Encoding::Protobuf {
        scan_agrees_with_prost(sel.signal, &raw);
    }
    let Ok(mut batch) = decode_request(sel.signal, sel.encoding, &raw) else { return };
    reject_invalid(&mut batch);
    translate_all(&batch);
}

/// The raw path's promise (`pipeline::data::raw`): its scan accepts exactly the bytes prost decodes,
/// counts the items decoding would, flags bad ids as the receiver's check does, and a raw batch
/// decodes to the same structs. Panics (a fuzz finding) when any of that is broken.
// A fuzz finding is reported as a panic: this runs only under the fuzzers.
#[allow(clippy::panic)]
pub fn scan_agrees_with_prost(signal: Signal, body: &[u8]) {
    use crate::pipeline::data::raw::{scan::scan, RawBatch};
    use opentelemetry_proto::tonic::collector::{logs::v1 as l, metrics::v1 as m, trace::v1 as t};
    use prost::Message;
    let decoded = match signal {
        Signal::Traces => t::ExportTraceServiceRequest::decode(body).map(|r| Batch::Traces(r.resource_spans)),
        Signal::Metrics => m::ExportMetricsServiceRequest::decode(body).map(|r| Batch::Metrics(r.resource_metrics)),
        Signal::Logs => l::ExportLogsServiceRequest::decode(body).map(|r| Batch::Logs(r.resource_logs)),
    };
    match (scan(signal, body), decoded) {
        (None, Err(_)) => {}
        (Some(s), Ok(b)) => {
            if s.regular {
                assert_eq!(s.items, b.items(), "scan and prost count different items");
            }
            let mut cleaned = b.clone();
            assert_eq!(s.ids_valid, reject_invalid(&mut cleaned).is_none(), "scan and the receiver disagree on ids");
            if let Some(raw) = RawBatch::scan(signal, Bytes::copy_from_slice(body)) {
                // Compared encoded: NaN values make the structs unequal to themselves.
                let (mut x, mut y) = (Vec::new(), Vec::new());
                raw.decode().encode_request(&mut x);
                b.encode_request(&mut y);
                assert!(x == y, "a raw batch decodes differently");
            }
        }
        (s, d) => panic!("scan and prost disagree: scan {s:?}, prost {:?}", d.err()),
    }
}

/// Every translator that takes `batch`'s signal: X-Ray segments (documents written out), remote
/// write series, Loki push requests.
pub fn translate_all(batch: &Batch) {
    match batch {
        Batch::Raw(_) => translate_all(&batch.decoded()),
        Batch::Traces(rs) => {
            let opts =
                xray::TranslateOptions { index_all_attributes: true, now_secs: 1_700_000_000, ..Default::default() };
            let mut next = 0u64;
            let mut new_id = || {
                next += 1;
                next.to_be_bytes()
            };
            for r in rs {
                for ss in &r.scope_spans {
                    for span in &ss.spans {
                        if let Ok(docs) = xray::segments(span, &r.resource, &opts, &mut new_id) {
                            for d in &docs {
                                let _ = xray::to_document(d);
                            }
                        }
                    }
                }
            }
        }
        Batch::Metrics(rm) => {
            let _ = prw::translate(rm, &prw::TranslateOptions::go_default());
        }
        Batch::Logs(rl) => {
            let _ = loki::translate(rl, &loki::DefaultLabels::default(), 1_700_000_000_000_000_000, false);
            let _ = loki::translate(rl, &loki::DefaultLabels::default(), 1_700_000_000_000_000_000, true);
        }
    }
}

/// Configuration text as `AOT_CONFIG_CONTENT` (the same path as a `--config` file after it is
/// read): parsed, `${env:...}` expanded against a small fixed environment, typed and validated.
pub fn config_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = text.to_string();
    let env = move |k: &str| match k {
        crate::config::source::AOT_CONFIG_CONTENT => Some(text.clone()),
        "HOME" => Some("/root".into()),
        "EMPTY" => Some(String::new()),
        "NESTED" => Some("${env:HOME}".into()),
        "PORT" => Some("4317".into()),
        _ => None,
    };
    let Ok(resolved) = crate::config::resolve(&[], &env) else { return };
    let _ = crate::collector::Config::from_resolved(&resolved);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_round_trips() {
        for b in 0..(6 * ENCODINGS.len()) as u8 {
            assert_eq!(Selector::from_byte(b).to_byte(), b);
        }
    }
}
