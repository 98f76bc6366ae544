//! A batch → the Kafka messages that carry it (pure; no I/O). Go: kafkaexporter's marshalers
//! (`pdata_marshaler.go`: one message per batch, per trace id with `partition_traces_by_id`,
//! per resource with `partition_*_by_resource_attributes`) and its message size limit
//! (sarama's `Producer.MaxMessageBytes`), which oxidot meets by splitting per resource.

use super::Partitioning;
use crate::kafka::encoding::Encoding;
use crate::pipeline::data::Batch;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// One Kafka message: its key (which picks the partition), value and the items it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub items: usize,
}

/// The messages of a batch, and the items that fit in no message (one resource alone larger
/// than `max_message_bytes`).
#[derive(Debug, Default)]
pub struct Built {
    pub messages: Vec<Message>,
    pub dropped: usize,
}

/// The messages for `batch`, each at most `max_bytes` (key + value).
pub fn build(batch: &Batch, enc: Encoding, part: Partitioning, max_bytes: usize) -> Built {
    let mut out = Built::default();
    let groups: Vec<(Option<Vec<u8>>, Batch)> = match part {
        Partitioning::None => {
            // Fast path: a batch that fits is encoded once, straight from how it arrived.
            let value = enc.encode(batch);
            if value.len() <= max_bytes {
                out.messages.push(Message { key: None, value, items: batch.items() });
                return out;
            }
            vec![(None, batch.decoded().into_owned())]
        }
        Partitioning::TraceId => by_trace_id(&batch.decoded()),
        Partitioning::Resource => per_resource(&batch.decoded()).into_iter().map(|b| (resource_key(&b), b)).collect(),
    };
    for (key, b) in groups {
        push_fitting(&mut out, key, b, enc, max_bytes);
    }
    out
}

/// Adds `b` as one message if it fits, else one message per resource; a resource that alone
/// does not fit is dropped (counted).
fn push_fitting(out: &mut Built, key: Option<Vec<u8>>, b: Batch, enc: Encoding, max_bytes: usize) {
    let klen = key.as_ref().map_or(0, Vec::len);
    let value = enc.encode(&b);
    if value.len() + klen <= max_bytes {
        out.messages.push(Message { key, value, items: b.items() });
        return;
    }
    let parts = per_resource(&b);
    if parts.len() <= 1 {
        out.dropped += b.items();
        return;
    }
    for p in parts {
        push_fitting(out, key.clone(), p, enc, max_bytes);
    }
}

/// One batch per resource entry.
fn per_resource(b: &Batch) -> Vec<Batch> {
    match b {
        Batch::Traces(rs) => rs.iter().map(|r| Batch::Traces(vec![r.clone()])).collect(),
        Batch::Metrics(rs) => rs.iter().map(|r| Batch::Metrics(vec![r.clone()])).collect(),
        Batch::Logs(rs) => rs.iter().map(|r| Batch::Logs(vec![r.clone()])).collect(),
        Batch::Raw(r) => per_resource(&r.decode()),
    }
}

/// The key of a one-resource batch: a hash of its resource attributes (Go keys with
/// pdatautil.MapHash, 16 bytes over the sorted attributes; oxidot uses the first 16 bytes of
/// SHA-256 over the sorted, protobuf-encoded attributes: same grouping, other bytes).
fn resource_key(b: &Batch) -> Option<Vec<u8>> {
    let res: Option<&Resource> = match b {
        Batch::Traces(rs) => rs.first().and_then(|r| r.resource.as_ref()),
        Batch::Metrics(rs) => rs.first().and_then(|r| r.resource.as_ref()),
        Batch::Logs(rs) => rs.first().and_then(|r| r.resource.as_ref()),
        Batch::Raw(_) => None,
    };
    Some(attributes_hash(res.map(|r| r.attributes.as_slice()).unwrap_or_default()))
}

pub fn attributes_hash(attrs: &[KeyValue]) -> Vec<u8> {
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut h = Sha256::new();
    let mut buf = Vec::new();
    for kv in sorted {
        buf.clear();
        kv.encode_length_delimited(&mut buf).unwrap_or_default();
        h.update(&buf);
    }
    h.finalize()[..16].to_vec()
}

/// The message key of a trace id: its lowercase hex (Go: traceutil.TraceIDToHexOrEmptyString);
/// no key for an empty or all-zero id.
fn trace_key(id: &[u8]) -> Option<Vec<u8>> {
    (!id.is_empty() && id.iter().any(|b| *b != 0)).then(|| hex::encode(id).into_bytes())
}

/// One batch per trace id, in order of first appearance; resources and scopes kept.
fn by_trace_id(b: &Batch) -> Vec<(Option<Vec<u8>>, Batch)> {
    match b {
        Batch::Traces(rs) => split_spans(rs).into_iter().map(|(k, v)| (trace_key(&k), Batch::Traces(v))).collect(),
        Batch::Logs(rs) => split_logs(rs).into_iter().map(|(k, v)| (trace_key(&k), Batch::Logs(v))).collect(),
        other => vec![(None, other.clone())],
    }
}

/// Where the last item of one trace id went: (resource index, scope index) in the input.
type Last = (usize, usize);

fn split_spans(rs: &[ResourceSpans]) -> Vec<(Vec<u8>, Vec<ResourceSpans>)> {
    let mut order: Vec<Vec<u8>> = Vec::new();
    let mut groups: HashMap<Vec<u8>, (Last, Vec<ResourceSpans>)> = HashMap::new();
    for (ri, r) in rs.iter().enumerate() {
        for (si, s) in r.scope_spans.iter().enumerate() {
            for sp in &s.spans {
                let (last, out) = groups.entry(sp.trace_id.clone()).or_insert_with(|| {
                    order.push(sp.trace_id.clone());
                    ((usize::MAX, usize::MAX), Vec::new())
                });
                if last.0 != ri {
                    out.push(ResourceSpans { scope_spans: vec![], ..r_shell_spans(r) });
                }
                let res = out.last_mut();
                if let Some(res) = res {
                    if *last != (ri, si) {
                        res.scope_spans.push(ScopeSpans { spans: vec![], ..scope_shell_spans(s) });
                    }
                    if let Some(sc) = res.scope_spans.last_mut() {
                        sc.spans.push(sp.clone());
                    }
                }
                *last = (ri, si);
            }
        }
    }
    order.into_iter().filter_map(|k| groups.remove(&k).map(|(_, v)| (k, v))).collect()
}

fn split_logs(rs: &[ResourceLogs]) -> Vec<(Vec<u8>, Vec<ResourceLogs>)> {
    let mut order: Vec<Vec<u8>> = Vec::new();
    let mut groups: HashMap<Vec<u8>, (Last, Vec<ResourceLogs>)> = HashMap::new();
    for (ri, r) in rs.iter().enumerate() {
        for (si, s) in r.scope_logs.iter().enumerate() {
            for lr in &s.log_records {
                let (last, out) = groups.entry(lr.trace_id.clone()).or_insert_with(|| {
                    order.push(lr.trace_id.clone());
                    ((usize::MAX, usize::MAX), Vec::new())
                });
                if last.0 != ri {
                    out.push(ResourceLogs {
                        resource: r.resource.clone(),
                        scope_logs: vec![],
                        schema_url: r.schema_url.clone(),
                    });
                }
                if let Some(res) = out.last_mut() {
                    if *last != (ri, si) {
                        res.scope_logs.push(ScopeLogs {
                            scope: s.scope.clone(),
                            log_records: vec![],
                            schema_url: s.schema_url.clone(),
                        });
                    }
                    if let Some(sc) = res.scope_logs.last_mut() {
                        sc.log_records.push(lr.clone());
                    }
                }
                *last = (ri, si);
            }
        }
    }
    order.into_iter().filter_map(|k| groups.remove(&k).map(|(_, v)| (k, v))).collect()
}

fn r_shell_spans(r: &ResourceSpans) -> ResourceSpans {
    ResourceSpans { resource: r.resource.clone(), scope_spans: vec![], schema_url: r.schema_url.clone() }
}

fn scope_shell_spans(s: &ScopeSpans) -> ScopeSpans {
    ScopeSpans { scope: s.scope.clone(), spans: vec![], schema_url: s.schema_url.clone() }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
