//! OTLP span → X-Ray segment documents: pure functions (the clock, the feature gates and new
//! ids come in through `TranslateOptions` and the caller), following the Go exporter's
//! translator (contrib `exporter/awsxrayexporter/internal/translator`). Split by concern:
//! segment.rs (segment.go), annotations.rs (segment.go makeXRayAttributes), http.rs, cause.rs,
//! aws.rs.

mod annotations;
mod aws;
mod cause;
mod http;
mod segment;
mod sql;

pub(crate) use crate::pipeline::attrs::str_attr;
use crate::translate::gojson::json_str_bytes;
pub use annotations::fix_annotation_key;
pub use segment::{fix_segment_name, make_segment, seconds, segments, xray_trace_id};
use serde_json::Value;

/// Translation settings: the exporter's config, the feature gates as they were when the
/// exporter was built, and the current time.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    pub indexed_attributes: Vec<String>,
    pub index_all_attributes: bool,
    /// `aws_log_groups`: overrides the log groups found on the resource.
    pub log_groups: Vec<String>,
    /// Gate `exporter.awsxray.skiptimestampvalidation` (beta, on by default).
    pub skip_timestamp_validation: bool,
    /// Gate `exporter.xray.allowDot` (beta, on by default).
    pub allow_dot: bool,
    /// Seconds since the epoch, for the trace id epoch check.
    pub now_secs: i64,
}

impl Default for TranslateOptions {
    /// The Go collector's defaults: both beta gates on.
    fn default() -> Self {
        TranslateOptions {
            indexed_attributes: Vec::new(),
            index_all_attributes: false,
            log_groups: Vec::new(),
            skip_timestamp_validation: true,
            allow_dot: true,
            now_secs: 0,
        }
    }
}

/// Why a span produced no document.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    InvalidTraceId(String),
    InvalidSpanId,
    /// segment.go MakeDocumentFromSegment: encoding/json cannot write NaN or ±Inf.
    UnsupportedValue,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::InvalidTraceId(m) => f.write_str(m),
            SkipReason::InvalidSpanId => f.write_str("span id is not 8 bytes"),
            SkipReason::UnsupportedValue => f.write_str("json: unsupported value: a NaN or infinite double"),
        }
    }
}

/// Numbers and strings as Go's encoding/json prints them (segment.go MakeDocumentFromSegment
/// encodes with a json.Encoder): floats shortest-round-trip without `.0` (`1700000000`, `5`),
/// exponent form below 1e-6 and from 1e21 (`1e-7`, `1e+21`); `<`, `>`, `&`, U+2028 and U+2029
/// escaped as `\u003c`….
struct GoJson;

impl serde_json::ser::Formatter for GoJson {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        // A Value holds no NaN or infinity (they are skipped before), so this is never an error.
        let text = crate::translate::gojson::float_json(v).unwrap_or_else(|_| "null".into());
        w.write_all(text.as_bytes())
    }

    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.write_f64(w, v as f64)
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(&mut self, w: &mut W, s: &str) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&s.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&s.as_bytes()[start..])
    }
}

/// internal/aws/xray tracesegment.go: the field order of each struct of a segment document, as
/// encoding/json writes them (maps, like `annotations` and `metadata`, come sorted).
#[derive(Clone, Copy)]
enum Shape {
    Segment,
    Aws,
    Ecs,
    Ec2,
    Eks,
    Beanstalk,
    LogGroup,
    XRay,
    Http,
    Request,
    Response,
    Cause,
    Exception,
    Frame,
    Sql,
    Service,
    Link,
    Map,
}

impl Shape {
    fn fields(self) -> &'static [&'static str] {
        match self {
            Shape::Segment => &[
                "name",
                "id",
                "start_time",
                "service",
                "origin",
                "user",
                "resource_arn",
                "links",
                "trace_id",
                "end_time",
                "in_progress",
                "http",
                "fault",
                "error",
                "throttle",
                "cause",
                "aws",
                "annotations",
                "metadata",
                "subsegments",
                "namespace",
                "parent_id",
                "type",
                "precursor_ids",
                "traced",
                "sql",
            ],
            Shape::Aws => &[
                "elastic_beanstalk",
                "cloudwatch_logs",
                "ecs",
                "ec2",
                "eks",
                "xray",
                "account_id",
                "operation",
                "region",
                "request_id",
                "queue_url",
                "table_name",
                "table_names",
                "retries",
            ],
            Shape::Ecs => &[
                "container",
                "container_id",
                "task_arn",
                "task_family",
                "cluster_arn",
                "container_arn",
                "availability_zone",
                "launch_type",
            ],
            Shape::Ec2 => &["instance_id", "availability_zone", "instance_size", "ami_id"],
            Shape::Eks => &["cluster_name", "pod", "container_id"],
            Shape::Beanstalk => &["environment_name", "version_label", "deployment_id"],
            Shape::LogGroup => &["log_group", "arn"],
            Shape::XRay => &["sdk", "sdk_version", "auto_instrumentation"],
            Shape::Http => &["request", "response"],
            Shape::Request => &["x_forwarded_for", "method", "url", "user_agent", "client_ip"],
            Shape::Response => &["status", "content_length"],
            Shape::Cause => &["working_directory", "paths", "exceptions"],
            Shape::Exception => &["id", "message", "type", "remote", "truncated", "skipped", "cause", "stack"],
            Shape::Frame => &["path", "line", "label"],
            Shape::Sql => &[
                "connection_string",
                "url",
                "sanitized_query",
                "database_type",
                "database_version",
                "driver_version",
                "user",
                "preparation",
            ],
            Shape::Service => &["version", "compiler_version", "compiler"],
            Shape::Link => &["trace_id", "id", "attributes"],
            Shape::Map => &[],
        }
    }

    /// The shape of field `key`'s value (of each element, for lists).
    fn child(self, key: &str) -> Shape {
        match (self, key) {
            (Shape::Segment, "service") => Shape::Service,
            (Shape::Segment, "links") => Shape::Link,
            (Shape::Segment, "http") => Shape::Http,
            (Shape::Segment, "cause") => Shape::Cause,
            (Shape::Segment, "aws") => Shape::Aws,
            (Shape::Segment, "sql") => Shape::Sql,
            (Shape::Segment, "subsegments") => Shape::Segment,
            (Shape::Aws, "elastic_beanstalk") => Shape::Beanstalk,
            (Shape::Aws, "cloudwatch_logs") => Shape::LogGroup,
            (Shape::Aws, "ecs") => Shape::Ecs,
            (Shape::Aws, "ec2") => Shape::Ec2,
            (Shape::Aws, "eks") => Shape::Eks,
            (Shape::Aws, "xray") => Shape::XRay,
            (Shape::Http, "request") => Shape::Request,
            (Shape::Http, "response") => Shape::Response,
            (Shape::Cause, "exceptions") => Shape::Exception,
            (Shape::Exception, "stack") => Shape::Frame,
            _ => Shape::Map,
        }
    }
}

/// Writes one scalar (or key) as Go's encoder does, straight into `out`.
fn write_scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, GoJson);
    // Writing to a Vec cannot fail (NaN and infinities are already null in a Value).
    let _ = v.serialize(&mut ser);
}

fn write_shaped(v: &Value, shape: Shape, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let fields = shape.fields();
            let mut keys: Vec<&String> = fields.iter().filter_map(|f| m.get_key_value(*f).map(|(k, _)| k)).collect();
            keys.extend(m.keys().filter(|k| !fields.contains(&k.as_str())));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_str_bytes(out, k);
                out.push(b':');
                write_shaped(&m[k.as_str()], shape.child(k), out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_shaped(x, shape, out);
            }
            out.push(b']');
        }
        // Strings are most of a document: escaped in one pass rather than through serde's
        // formatter (which splits every string into fragments).
        Value::String(s) => json_str_bytes(out, s),
        _ => write_scalar(v, out),
    }
}

/// A document as the Go exporter's JSON encoder writes it (segment.go MakeDocumentFromSegment,
/// without the encoder's trailing newline): struct fields in tracesegment.go's order, map keys
/// sorted, numbers and strings as encoding/json prints them.
pub fn to_document(doc: &Value) -> String {
    let mut out = Vec::with_capacity(1024);
    write_shaped(doc, Shape::Segment, &mut out);
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod parts_tests;
#[cfg(test)]
mod tests;
