//! The parts of a span and its resource, one function per Go file of the receiver's translator.

use super::attrs::Attrs;
use super::{set_status_code, status_from_http};
use crate::aws::xray;
use crate::receiver::awsxray::segment::{AwsData, Cause, Exception, Segment, SqlData};
use crate::translate::gojson::{float_json, json_str};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// name.go `addNameAndNamespace`: the name, and the kind: server when the request has a client
/// ip, client for the namespaces `aws` (which also names the service) and `remote`, internal
/// for `local` (contrib PR #31514; the X-Ray SDKs' default for in-process subsegments) and
/// without a namespace. Another namespace fails the document.
pub fn name_and_namespace(seg: &Segment, span: &mut Span, attrs: &mut Attrs) -> Result<(), String> {
    // Go dereferences the name of embedded subsegments unchecked (a crash); refused here.
    let name = seg.name.as_deref().ok_or("a subsegment has no \"name\"")?;
    span.name = name.to_string();
    if seg.http.as_ref().and_then(|h| h.request.as_ref()).is_some_and(|r| r.client_ip.is_some()) {
        span.kind = SpanKind::Server as i32;
    }
    let Some(ns) = seg.namespace.as_deref() else {
        if span.kind == SpanKind::Unspecified as i32 {
            span.kind = SpanKind::Internal as i32;
        }
        return Ok(());
    };
    match ns {
        "aws" => {
            span.kind = SpanKind::Client as i32;
            attrs.put_str(xray::AWS_SERVICE, name);
        }
        "remote" => span.kind = SpanKind::Client as i32,
        "local" => span.kind = SpanKind::Internal as i32,
        other => return Err(format!("unexpected namespace: {other}")),
    }
    Ok(())
}

/// http.go `addHTTP` (attribute names of semconv 1.18–1.25 as Go uses them).
pub fn http(seg: &Segment, span: &mut Span, attrs: &mut Attrs) {
    let Some(h) = &seg.http else { return };
    if let Some(req) = &h.request {
        attrs.put_opt_str("http.method", req.method.as_deref());
        attrs.put_opt_str("http.client_ip", req.client_ip.as_deref());
        attrs.put_opt_str("http.user_agent", req.user_agent.as_deref());
        attrs.put_opt_str("http.url", req.url.as_deref());
        attrs.put_opt_bool(xray::X_FORWARDED_FOR, req.x_forwarded_for);
    }
    if let Some(resp) = &h.response {
        if let Some(status) = resp.status {
            set_status_code(span, status_from_http(status));
            attrs.put_opt_int("http.status_code", Some(status));
        }
        match &resp.content_length {
            Some(Value::String(s)) => attrs.put_str("http.response_content_length", s),
            // Go: int64(float64), truncating.
            Some(Value::Number(n)) => attrs.put_opt_int("http.response_content_length", n.as_f64().map(|f| f as i64)),
            _ => {}
        }
    }
}

/// cause.go `addCause`: any cause makes the status Error; an exception id becomes the status
/// message, exceptions become `exception` events.
pub fn cause(seg: &Segment, span: &mut Span) -> Result<(), String> {
    let Some(cause) = &seg.cause else { return Ok(()) };
    let status = span.status.get_or_insert_with(Default::default);
    if status.code == StatusCode::Unset as i32 {
        status.code = StatusCode::Error as i32;
    }
    match cause {
        Cause::ExceptionId(id) => status.message = id.clone(),
        Cause::Object(o) => {
            for ex in o.exceptions.iter().flatten() {
                span.events.push(exception_event(ex)?);
            }
        }
    }
    Ok(())
}

fn exception_event(ex: &Exception) -> Result<Event, String> {
    let mut a = Attrs::with_capacity(8);
    // Go dereferences the id unchecked (a crash); refused here.
    let id = ex.id.as_deref().ok_or("an exception has no \"id\"")?;
    a.put_str(xray::EXCEPTION_ID, id);
    a.put_opt_str("exception.message", ex.message.as_deref());
    a.put_opt_str("exception.type", ex.type_.as_deref());
    a.put_opt_bool(xray::EXCEPTION_REMOTE, ex.remote);
    a.put_opt_int(xray::EXCEPTION_TRUNCATED, ex.truncated);
    a.put_opt_int(xray::EXCEPTION_SKIPPED, ex.skipped);
    a.put_opt_str(xray::EXCEPTION_CAUSE, ex.cause.as_deref());
    if ex.stack.as_ref().is_some_and(|s| !s.is_empty()) {
        a.put_str("exception.stacktrace", &stack_trace(ex));
    }
    Ok(Event { name: "exception".into(), attributes: a.into_vec(), ..Default::default() })
}

/// cause.go `convertStackFramesToStackTraceStr`: `<type>: <message>\n` then
/// `\tat <label>(<path>: <line>)\n` per frame (`<unknown>` for a missing line).
pub fn stack_trace(ex: &Exception) -> String {
    let mut s = format!("{}: {}\n", ex.type_.as_deref().unwrap_or(""), ex.message.as_deref().unwrap_or(""));
    for f in ex.stack.iter().flatten() {
        let line = f.line.map_or_else(|| "<unknown>".to_string(), |l| l.to_string());
        s.push_str(&format!(
            "\tat {}({}: {line})\n",
            f.label.as_deref().unwrap_or(""),
            f.path.as_deref().unwrap_or("")
        ));
    }
    s
}

/// aws.go `addAWSToSpan`.
pub fn aws_to_span(aws: Option<&AwsData>, attrs: &mut Attrs) {
    let Some(aws) = aws else { return };
    attrs.put_opt_str(xray::AWS_ACCOUNT, aws.account_id.as_deref());
    attrs.put_opt_str(xray::AWS_OPERATION, aws.operation.as_deref());
    attrs.put_opt_str(xray::AWS_REGION, aws.region.as_deref());
    attrs.put_opt_str(xray::AWS_REQUEST_ID, aws.request_id.as_deref());
    attrs.put_opt_str(xray::AWS_QUEUE_URL, aws.queue_url.as_deref());
    attrs.put_opt_str(xray::AWS_TABLE_NAME, aws.table_name.as_deref());
    attrs.put_opt_int(xray::RETRIES, aws.retries);
}

/// aws.go `addAWSToResource` (semconv 1.38 names).
pub fn aws_to_resource(aws: Option<&AwsData>, attrs: &mut Attrs) {
    let Some(aws) = aws else {
        // Not generated by an AWS entity.
        attrs.put_str("cloud.provider", "unknown");
        return;
    };
    attrs.put_str("cloud.provider", "aws");
    attrs.put_opt_str("cloud.account.id", aws.account_id.as_deref());
    for lg in aws.cloudwatch_logs.iter().flatten() {
        if let Some(arn) = &lg.arn {
            attrs.append_str("aws.log.group.arns", arn);
        }
        if let Some(name) = &lg.log_group {
            attrs.append_str("aws.log.group.names", name);
        }
    }
    if let Some(ec2) = &aws.ec2 {
        attrs.put_opt_str("cloud.availability_zone", ec2.availability_zone.as_deref());
        attrs.put_opt_str("host.id", ec2.instance_id.as_deref());
        attrs.put_opt_str("host.type", ec2.instance_size.as_deref());
        attrs.put_opt_str("host.image.id", ec2.ami_id.as_deref());
    }
    if let Some(ecs) = &aws.ecs {
        attrs.put_opt_str("container.name", ecs.container.as_deref());
        attrs.put_opt_str("cloud.availability_zone", ecs.availability_zone.as_deref());
        attrs.put_opt_str("container.id", ecs.container_id.as_deref());
    }
    if let Some(bs) = &aws.elastic_beanstalk {
        attrs.put_opt_str("service.namespace", bs.environment_name.as_deref());
        if let Some(d) = bs.deployment_id {
            attrs.put_str("service.instance.id", &d.to_string());
        }
        attrs.put_opt_str("service.version", bs.version_label.as_deref());
    }
    if let Some(eks) = &aws.eks {
        attrs.put_opt_str("container.id", eks.container_id.as_deref());
        attrs.put_opt_str("k8s.cluster.name", eks.cluster_name.as_deref());
        attrs.put_opt_str("k8s.pod.name", eks.pod.as_deref());
    }
}

/// sdk.go `addSdkToResource`: the SDK's version and name, and the language: `java` when the
/// segment has exceptions (the X-Ray exporter only parses Java stack traces), else what follows
/// `for ` in the SDK name (`X-Ray for Go` → `Go`).
pub fn sdk_to_resource(seg: &Segment, attrs: &mut Attrs) {
    let Some(xr) = seg.aws.as_ref().and_then(|a| a.xray.as_ref()) else { return };
    attrs.put_opt_str("telemetry.sdk.version", xr.sdk_version.as_deref());
    let Some(sdk) = xr.sdk.as_deref() else { return };
    attrs.put_str("telemetry.sdk.name", sdk);
    let has_exceptions =
        matches!(&seg.cause, Some(Cause::Object(o)) if o.exceptions.as_ref().is_some_and(|e| !e.is_empty()));
    if has_exceptions {
        attrs.put_str("telemetry.sdk.language", "java");
    } else if let Some((_, after)) = sdk.split_once("for ") {
        attrs.put_str("telemetry.sdk.language", after);
    }
}

// sql.go: protocol+transport://host:port/dbName?queryParam (a constant pattern).
static SQL_URL: LazyLock<Option<regex::Regex>> = LazyLock::new(|| regex::Regex::new(r"^(.+//.+)/([^\?]+)\??.*$").ok());

/// sql.go `addSQLToSpan`: the url split into connection string and database name (a url that
/// does not split fails the document), the database type, query and user.
pub fn sql(sql: Option<&SqlData>, attrs: &mut Attrs) -> Result<(), String> {
    let Some(sql) = sql else { return Ok(()) };
    if let Some(url) = &sql.url {
        let caps = SQL_URL.as_ref().and_then(|re| re.captures(url));
        let (Some(conn), Some(db)) = (caps.as_ref().and_then(|c| c.get(1)), caps.as_ref().and_then(|c| c.get(2)))
        else {
            return Err(format!("failed to parse out the database name in the \"sql.url\" field, rawUrl: {url}"));
        };
        attrs.put_str("db.connection_string", conn.as_str());
        attrs.put_str("db.name", db.as_str());
    }
    attrs.put_opt_str("db.system", sql.database_type.as_deref());
    attrs.put_opt_str("db.statement", sql.sanitized_query.as_deref());
    attrs.put_opt_str("db.user", sql.user.as_deref());
    Ok(())
}

/// annotations.go `addAnnotations`: each annotation becomes an attribute (strings, booleans, and
/// numbers as doubles: Go decodes every JSON number into a float64), and its key is listed in
/// `aws.xray.annotations` (other JSON types are listed but set nothing). Keys in sorted order
/// (Go's map order is random).
pub fn annotations(annos: Option<&Map<String, Value>>, attrs: &mut Attrs) {
    let Some(annos) = annos.filter(|a| !a.is_empty()) else { return };
    attrs.put_empty_list(xray::ANNOTATIONS);
    let mut keys: Vec<&String> = annos.keys().collect();
    keys.sort();
    for k in keys {
        attrs.append_str(xray::ANNOTATIONS, k);
        match annos.get(k) {
            Some(Value::String(s)) => attrs.put_str(k, s),
            Some(Value::Bool(b)) => attrs.put(k, any_value::Value::BoolValue(*b)),
            Some(Value::Number(n)) => {
                if let Some(f) = n.as_f64() {
                    attrs.put(k, any_value::Value::DoubleValue(f));
                }
            }
            _ => {}
        }
    }
}

/// metadata.go `addMetadata`: each namespace as `aws.xray.metadata.<namespace>`, its object as
/// encoding/json marshals it.
pub fn metadata(meta: Option<&BTreeMap<String, Option<Map<String, Value>>>>, attrs: &mut Attrs) {
    for (ns, obj) in meta.into_iter().flatten() {
        let mut s = String::new();
        match obj {
            Some(m) => go_marshal_object(m, &mut s),
            None => s.push_str("null"),
        }
        attrs.put_str(&format!("{}{ns}", xray::METADATA_PREFIX), &s);
    }
}

/// A JSON value as Go's `json.Marshal` writes a decoded `any`: map keys sorted, numbers as
/// float64, strings HTML-escaped.
pub fn go_marshal(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // A parsed number is finite, so float_json does not fail.
        Value::Number(n) => out.push_str(&n.as_f64().and_then(|f| float_json(f).ok()).unwrap_or_else(|| "null".into())),
        Value::String(s) => json_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_marshal(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => go_marshal_object(m, out),
    }
}

fn go_marshal_object(m: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, k);
        out.push(':');
        if let Some(v) = m.get(k) {
            go_marshal(v, out);
        }
    }
    out.push('}');
}
