//! One span → its segment document(s) (segment.go `MakeSegmentDocuments`,
//! `MakeSegmentsFromSpan`, `MakeSegment`).

use super::annotations;
use super::{aws, cause, http, sql, str_attr, SkipReason, TranslateOptions};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::sync::LazyLock;

// segment.go: attributes the X-Ray SDKs and the AWS distros set.
const AWS_LOCAL_SERVICE: &str = "aws.local.service";
const AWS_REMOTE_SERVICE: &str = "aws.remote.service";
const AWS_REMOTE_OPERATION: &str = "aws.remote.operation";
const REMOTE_TARGET: &str = "remoteTarget";
const AWS_SPAN_KIND: &str = "aws.span.kind";
const K8S_REMOTE_NAMESPACE: &str = "K8s.RemoteNamespace";
const LOCAL_ROOT: &str = "LOCAL_ROOT";
const AWS_API_RPC_SYSTEM: &str = "aws-api";
const DEFAULT_SEGMENT_NAME: &str = "span";
const MAX_SEGMENT_NAME_LEN: usize = 200;
// segment.go convertToAmazonTraceID: 28 days back, 5 minutes ahead.
const MAX_AGE_SECS: i64 = 60 * 60 * 24 * 28;
const MAX_SKEW_SECS: i64 = 60 * 5;

/// segment.go removeAnnotationsFromServiceSegment: what a LOCAL_ROOT's service segment drops.
const REMOVED_FROM_SERVICE_SEGMENT: [&str; 4] =
    [AWS_REMOTE_SERVICE, AWS_REMOTE_OPERATION, REMOTE_TARGET, K8S_REMOTE_NAMESPACE];

/// segment.go reInvalidSpanCharacters: X-Ray names allow space, ASCII digits, Unicode letters
/// and `_ . : / % & # = + - @` (no comma, no backslash).
/// (The pattern is a constant that compiles; `None` would fall back to `char::is_alphabetic`.)
static INVALID_NAME_CHARS: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[^ 0-9\p{L}N_.:/%&#=+\-@]").ok());

/// segment.go fixSegmentName: drops the characters X-Ray refuses, cuts at 200 bytes (as Go
/// slices bytes; a character cut in two prints as one U+FFFD per byte, as encoding/json does),
/// `span` when nothing is left.
pub fn fix_segment_name(name: &str) -> String {
    let name: std::borrow::Cow<str> = match INVALID_NAME_CHARS.as_ref() {
        Some(re) => re.replace_all(name, ""),
        None => {
            name.chars().filter(|c| c.is_alphabetic() || c.is_ascii_digit() || " N_.:/%&#=+-@".contains(*c)).collect()
        }
    };
    if name.is_empty() {
        return DEFAULT_SEGMENT_NAME.into();
    }
    if name.len() <= MAX_SEGMENT_NAME_LEN {
        return name.into_owned();
    }
    let mut cut = MAX_SEGMENT_NAME_LEN;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = name[..cut].to_string();
    out.extend(std::iter::repeat_n('\u{FFFD}', MAX_SEGMENT_NAME_LEN - cut));
    out
}

/// segment.go convertToAmazonTraceID: `1-<4 bytes hex>-<12 bytes hex>`; unless the
/// `exporter.awsxray.skiptimestampvalidation` gate is on, the first four bytes must be an epoch
/// within the last 28 days (5 minutes of skew).
pub fn xray_trace_id(id: &[u8], opts: &TranslateOptions) -> Result<String, SkipReason> {
    if id.len() != 16 {
        return Err(SkipReason::InvalidTraceId(format!("trace id must be 16 bytes, got {}", id.len())));
    }
    let epoch = u32::from_be_bytes([id[0], id[1], id[2], id[3]]) as i64;
    let delta = opts.now_secs - epoch;
    if !opts.skip_timestamp_validation && !(-MAX_SKEW_SECS..=MAX_AGE_SECS).contains(&delta) {
        return Err(SkipReason::InvalidTraceId(format!("invalid xray traceid: {}", hex::encode(id))));
    }
    Ok(format!("1-{}-{}", hex::encode(&id[..4]), hex::encode(&id[4..])))
}

/// segment.go timestampToFloatSeconds: nanoseconds / 1e9 as a float64, full precision.
pub fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn is_aws_sdk_span(span: &Span) -> bool {
    str_attr(&span.attributes, "rpc.system") == Some(AWS_API_RPC_SYSTEM)
}

fn has_attr(span: &Span, k: &str) -> bool {
    span.attributes.iter().any(|a| a.key == k)
}

/// pcommon `Value.Str()`: the string, or "" for any other type.
fn attr_str<'a>(span: &'a Span, k: &str) -> Option<&'a str> {
    span.attributes.iter().find(|a| a.key == k).map(|a| match a.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.as_str(),
        _ => "",
    })
}

/// segment.go trimAwsSdkPrefix: AWS SDK spans name the service without `AWS.SDK.` / `AWS::`.
fn trim_aws_sdk_prefix<'a>(name: &'a str, span: &Span) -> &'a str {
    if !is_aws_sdk_span(span) {
        return name;
    }
    name.strip_prefix("AWS.SDK.").or_else(|| name.strip_prefix("AWS::")).unwrap_or(name)
}

/// The host of a database URL as Go's `url.Parse(..).Hostname()` finds it: only URLs with an
/// authority (`scheme://host[:port]/…`) have one.
fn url_hostname(u: &str) -> Option<String> {
    let (_, rest) = u.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = if let Some(inner) = host_port.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host_port,
        }
    };
    (!host.is_empty()).then(|| host.to_string())
}

fn kind(span: &Span) -> SpanKind {
    SpanKind::try_from(span.kind).unwrap_or(SpanKind::Unspecified)
}

/// segment.go MakeSegment: name, first match of
/// `aws.local.service` (server, or internal LOCAL_ROOT), `aws.remote.service` (client, producer,
/// consumer; SDK prefix trimmed), `peer.service`, `aws.service`, `db.name[@host]`, the resource's
/// `service.name` (server), `rpc.service`, `http.host`, `net.peer.name`, then the span name
/// (sanitised: the only source that is).
fn name_and_namespace(span: &Span, res: &[KeyValue]) -> (String, Option<&'static str>) {
    let k = kind(span);
    let mut name = String::new();
    let mut namespace: Option<&'static str> = None;
    if k == SpanKind::Server {
        if let Some(s) = attr_str(span, AWS_LOCAL_SERVICE) {
            name = s.to_string();
        }
    }
    if k == SpanKind::Internal && attr_str(span, AWS_SPAN_KIND) == Some(LOCAL_ROOT) {
        if let Some(s) = attr_str(span, AWS_LOCAL_SERVICE) {
            name = s.to_string();
        }
    }
    if matches!(k, SpanKind::Client | SpanKind::Producer | SpanKind::Consumer) {
        if let Some(s) = attr_str(span, AWS_REMOTE_SERVICE) {
            name = trim_aws_sdk_prefix(s, span).to_string();
        }
    }
    if name.is_empty() {
        if let Some(s) = attr_str(span, "peer.service") {
            name = s.to_string();
        }
    }
    if is_aws_sdk_span(span) {
        namespace = Some("aws");
    }
    if name.is_empty() {
        if let Some(s) = attr_str(span, crate::aws::xray::AWS_SERVICE) {
            name = s.to_string();
            namespace.get_or_insert("aws");
        }
    }
    if name.is_empty() {
        if let Some(db) = attr_str(span, "db.name") {
            name = db.to_string();
            if let Some(host) =
                attr_str(span, "db.connection_string").and_then(|u| url_hostname(u.trim_start_matches("jdbc:")))
            {
                name = format!("{name}@{host}");
            }
        }
    }
    if name.is_empty() && k == SpanKind::Server {
        if let Some(s) = str_attr(res, "service.name") {
            name = s.to_string();
        }
    }
    for key in ["rpc.service", "http.host", "net.peer.name"] {
        if name.is_empty() {
            if let Some(s) = attr_str(span, key) {
                name = s.to_string();
            }
        }
    }
    if name.is_empty() {
        name = fix_segment_name(&span.name);
    }
    if namespace.is_none() && k == SpanKind::Client {
        namespace = Some("remote");
    }
    (name, namespace)
}

/// The attributes left for annotations and metadata after the http, cause, aws and sql blocks
/// took theirs (segment.go MakeSegment's `*filtered` chain), with the configured
/// `indexed_attributes` put back (segment.go addSpecialAttributes).
fn remaining_attributes<'a>(span: &'a Span, has_sql: bool, opts: &TranslateOptions) -> Vec<&'a KeyValue> {
    // Each block says which attributes it takes (http.go, aws.go, cause.go, sql.go).
    let consumed = |k: &str| {
        http::CONSUMED.contains(&k)
            || aws::CONSUMED.contains(&k)
            || cause::consumes(span, k)
            || (has_sql && sql::consumes(span, k))
    };
    span.attributes.iter().filter(|a| !consumed(&a.key) || opts.indexed_attributes.contains(&a.key)).collect()
}

/// pcommon `SpanID.String()` / traceutil `SpanIDToHexOrEmptyString`: hex, or "" for the empty
/// (all-zero) id.
fn span_id_text(id: &[u8]) -> String {
    if id.iter().all(|b| *b == 0) {
        String::new()
    } else {
        hex::encode(id)
    }
}

/// pdata ids are fixed arrays: an id missing from the request is the all-zero id.
fn fixed_trace_id(id: &[u8]) -> &[u8] {
    if id.is_empty() {
        &[0u8; 16]
    } else {
        id
    }
}

/// service.go makeService: `service.version`, else `container.image.tag`, chosen by the key being
/// there whatever its value: a value that is not a non-empty string gives `"service": {}` (and no
/// fallback to the image tag), as Go's `awsxray.String(v.Str())` leaves the version out.
fn service(res: &[KeyValue]) -> Option<Value> {
    let found = res
        .iter()
        .find(|a| a.key == "service.version")
        .or_else(|| res.iter().find(|a| a.key == "container.image.tag"))?;
    let version = match found.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) if !s.is_empty() => json!({ "version": s }),
        _ => json!({}),
    };
    Some(version)
}

/// span_links.go makeSpanLinks: a link whose trace id X-Ray cannot take fails the whole span.
fn links(span: &Span, opts: &TranslateOptions) -> Result<Vec<Value>, SkipReason> {
    span.links
        .iter()
        .map(|l| {
            let mut o = Map::new();
            // An empty (all-zero in pdata) link trace id converts like any other.
            o.insert("trace_id".into(), json!(xray_trace_id(fixed_trace_id(&l.trace_id), opts)?));
            o.insert("id".into(), json!(span_id_text(&l.span_id)));
            if l.attributes.iter().any(|a| annotations::non_finite(&a.value)) {
                return Err(SkipReason::UnsupportedValue);
            }
            if !l.attributes.is_empty() {
                let attrs: Map<String, Value> = l
                    .attributes
                    .iter()
                    .map(|a| (a.key.clone(), annotations::raw_value(&a.value).unwrap_or(Value::Null)))
                    .collect();
                o.insert("attributes".into(), Value::Object(attrs));
            }
            Ok(Value::Object(o))
        })
        .collect()
}

/// segment.go MakeSegment: one span → one segment document (no LOCAL_ROOT handling).
pub fn make_segment(span: &Span, res: &[KeyValue], opts: &TranslateOptions) -> Result<Map<String, Value>, SkipReason> {
    // Not a server span and has a parent: a subsegment, without the resource's attributes.
    let has_parent = !span.parent_span_id.is_empty() && span.parent_span_id.iter().any(|b| *b != 0);
    let subsegment = kind(span) != SpanKind::Server && has_parent;
    let trace_id = xray_trace_id(fixed_trace_id(&span.trace_id), opts)?;
    if !span.span_id.is_empty() && span.span_id.len() != 8 {
        return Err(SkipReason::InvalidSpanId);
    }
    let links = links(span, opts)?;
    let (name, namespace) = name_and_namespace(span, res);
    let mut doc = Map::new();
    doc.insert("name".into(), json!(name));
    // awsxray.String(SpanIDToHexOrEmptyString(..)): the empty span id is a `null` id (the field
    // has no omitempty); X-Ray then returns the document as unprocessed.
    let id = span_id_text(&span.span_id);
    doc.insert("id".into(), if id.is_empty() { Value::Null } else { json!(id) });
    doc.insert("start_time".into(), json!(seconds(span.start_time_unix_nano)));
    if let Some(service) = service(res) {
        doc.insert("service".into(), service);
    }
    if let Some(origin) = aws::origin(res) {
        doc.insert("origin".into(), json!(origin));
    }
    if !links.is_empty() {
        doc.insert("links".into(), Value::Array(links));
    }
    doc.insert("trace_id".into(), json!(trace_id));
    doc.insert("end_time".into(), json!(seconds(span.end_time_unix_nano)));
    if let Some(h) = http::block(span) {
        doc.insert("http".into(), h);
    }
    // Go's document always carries the three flags (pointers to false are still written).
    let c = cause::cause(span, res);
    doc.insert("fault".into(), json!(c.fault));
    doc.insert("error".into(), json!(c.error));
    doc.insert("throttle".into(), json!(c.throttle));
    if let Some(cause) = c.cause {
        doc.insert("cause".into(), cause);
    }
    let aws_block = aws::block(span, res, &opts.log_groups);
    if !aws_block.is_empty() {
        doc.insert("aws".into(), Value::Object(aws_block));
    }
    let sql = sql::sql(span);
    let rest = remaining_attributes(span, sql.is_some(), opts);
    let x = annotations::make(&rest, res, !subsegment, opts);
    if x.non_finite {
        return Err(SkipReason::UnsupportedValue);
    }
    if let Some(u) = x.user {
        doc.insert("user".into(), json!(u));
    }
    if !x.annotations.is_empty() {
        doc.insert("annotations".into(), Value::Object(x.annotations));
    }
    if !x.metadata.is_empty() {
        doc.insert("metadata".into(), Value::Object(x.metadata.into_iter().collect()));
    }
    if let Some(ns) = namespace {
        doc.insert("namespace".into(), json!(ns));
    }
    if has_parent {
        doc.insert("parent_id".into(), json!(hex::encode(&span.parent_span_id)));
    }
    if subsegment {
        doc.insert("type".into(), json!("subsegment"));
    }
    if let Some(sql) = sql {
        doc.insert("sql".into(), sql);
    }
    Ok(doc)
}

/// segment.go isLocalRoot: the AWS distros mark a service's entry span `aws.span.kind: LOCAL_ROOT`.
fn is_local_root(span: &Span) -> bool {
    attr_str(span, AWS_SPAN_KIND) == Some(LOCAL_ROOT)
}

/// segment.go MakeSegmentsFromSpan / MakeSegmentDocuments: usually one document; a LOCAL_ROOT
/// span that is also a dependency call (client, producer, consumer) becomes a dependency
/// subsegment followed by the service segment it hangs from, whose id `new_id` supplies (Go
/// draws a random one).
pub fn segments(
    span: &Span,
    resource: &Option<Resource>,
    opts: &TranslateOptions,
    new_id: &mut dyn FnMut() -> [u8; 8],
) -> Result<Vec<Value>, SkipReason> {
    let res: &[KeyValue] = resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
    let k = kind(span);
    if !is_local_root(span) {
        // segment.go MakeNonLocalRootSegment + addNamespaceToSubsegmentWithRemoteService.
        let mut doc = make_segment(span, res, opts)?;
        if matches!(k, SpanKind::Client | SpanKind::Consumer | SpanKind::Producer)
            && doc.contains_key("type")
            && !doc.contains_key("namespace")
            && has_attr(span, AWS_REMOTE_SERVICE)
        {
            doc.insert("namespace".into(), json!("remote"));
        }
        return Ok(vec![Value::Object(doc)]);
    }
    if matches!(k, SpanKind::Server | SpanKind::Internal) {
        // segment.go MakeServiceSegmentForLocalRootSpanWithoutDependency.
        let mut doc = make_segment(span, res, opts)?;
        doc.remove("type");
        doc.remove("namespace");
        return Ok(vec![Value::Object(doc)]);
    }
    // segment.go MakeServiceSegmentAndDependencySubsegment.
    let service_id = new_id();
    // MakeDependencySubsegmentForLocalRootDependencySpan: the span under the service segment.
    let mut dep_span = span.clone();
    dep_span.parent_span_id = service_id.to_vec();
    let mut dep = make_segment(&dep_span, res, opts)?;
    dep.insert("type".into(), json!("subsegment"));
    dep.entry("namespace").or_insert_with(|| json!("remote"));
    if k == SpanKind::Consumer {
        dep.remove("links");
    }
    if let Some(remote) = attr_str(span, AWS_REMOTE_SERVICE) {
        dep.insert("name".into(), json!(trim_aws_sdk_prefix(remote, span)));
    }
    // MakeServiceSegmentForLocalRootDependencySpan: the local service, with the new id.
    let mut svc_span = span.clone();
    svc_span.span_id = service_id.to_vec();
    svc_span.attributes.retain(|a| !REMOVED_FROM_SERVICE_SEGMENT.contains(&a.key.as_str()));
    let mut svc = make_segment(&svc_span, res, opts)?;
    if let Some(local) = attr_str(span, AWS_LOCAL_SERVICE) {
        svc.insert("name".into(), json!(local));
    }
    svc.remove("http");
    if let Some(Value::Object(a)) = svc.get_mut("aws") {
        for f in ["operation", "account_id", "region", "request_id", "queue_url", "table_name", "table_names"] {
            a.remove(f);
        }
        // Go keeps an AWSData struct whatever is left; an empty one prints as `{}`.
    }
    if let Some(Value::Object(md)) = svc.get_mut("metadata") {
        for ns in md.values_mut() {
            if let Value::Object(m) = ns {
                m.retain(|k, _| k.starts_with("otel.resource."));
            }
        }
    }
    svc.remove("type");
    svc.remove("namespace");
    if k != SpanKind::Consumer {
        svc.remove("links");
    }
    Ok(vec![Value::Object(dep), Value::Object(svc)])
}
