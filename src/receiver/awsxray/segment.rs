//! The X-Ray segment document as the Go receiver decodes it (contrib
//! `internal/aws/xray/tracesegment.go` `Segment` and its parts): every field optional, unknown
//! fields ignored, a field of the wrong JSON type fails the whole document (as encoding/json's
//! `Unmarshal` does).

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct Segment {
    pub name: Option<String>,
    pub id: Option<String>,
    pub start_time: Option<f64>,
    pub service: Option<ServiceData>,
    pub origin: Option<String>,
    pub user: Option<String>,
    pub resource_arn: Option<String>,
    pub trace_id: Option<String>,
    pub end_time: Option<f64>,
    pub in_progress: Option<bool>,
    pub http: Option<HttpData>,
    pub fault: Option<bool>,
    pub error: Option<bool>,
    pub throttle: Option<bool>,
    pub cause: Option<Cause>,
    pub aws: Option<AwsData>,
    /// Go: `map[string]any`, numbers decoded as float64.
    pub annotations: Option<Map<String, Value>>,
    /// Go: `map[string]map[string]any`: each namespace an object (or null).
    pub metadata: Option<BTreeMap<String, Option<Map<String, Value>>>>,
    pub subsegments: Option<Vec<Segment>>,
    pub namespace: Option<String>,
    pub parent_id: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub precursor_ids: Option<Vec<String>>,
    pub traced: Option<bool>,
    pub sql: Option<SqlData>,
    pub links: Option<Vec<SpanLink>>,
}

impl Segment {
    /// tracesegment.go `Validate`: what the root document must have.
    pub fn validate(&self) -> Result<(), String> {
        for (missing, key) in [
            (self.name.is_none(), "name"),
            (self.id.is_none(), "id"),
            (self.start_time.is_none(), "start_time"),
            (self.trace_id.is_none(), "trace_id"),
        ] {
            if missing {
                return Err(format!("segment {key:?} can not be nil"));
            }
        }
        Ok(())
    }

    /// This segment and all the subsegments it embeds (translator.go `totalSegmentsCount`).
    pub fn count(&self) -> usize {
        1 + self.subsegments.iter().flatten().map(Segment::count).sum::<usize>()
    }
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct AwsData {
    pub elastic_beanstalk: Option<BeanstalkMetadata>,
    pub cloudwatch_logs: Option<Vec<LogGroupMetadata>>,
    pub ecs: Option<EcsMetadata>,
    pub ec2: Option<Ec2Metadata>,
    pub eks: Option<EksMetadata>,
    pub xray: Option<XrayMetadata>,
    pub account_id: Option<String>,
    pub operation: Option<String>,
    pub region: Option<String>,
    pub request_id: Option<String>,
    pub queue_url: Option<String>,
    pub table_name: Option<String>,
    pub table_names: Option<Vec<String>>,
    pub retries: Option<i64>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct Ec2Metadata {
    pub instance_id: Option<String>,
    pub availability_zone: Option<String>,
    pub instance_size: Option<String>,
    pub ami_id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct EcsMetadata {
    pub container: Option<String>,
    pub container_id: Option<String>,
    pub task_arn: Option<String>,
    pub task_family: Option<String>,
    pub cluster_arn: Option<String>,
    pub container_arn: Option<String>,
    pub availability_zone: Option<String>,
    pub launch_type: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct BeanstalkMetadata {
    pub environment_name: Option<String>,
    pub version_label: Option<String>,
    pub deployment_id: Option<i64>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct EksMetadata {
    pub cluster_name: Option<String>,
    pub pod: Option<String>,
    pub container_id: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct LogGroupMetadata {
    pub log_group: Option<String>,
    pub arn: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct XrayMetadata {
    pub sdk: Option<String>,
    pub sdk_version: Option<String>,
    pub auto_instrumentation: Option<bool>,
}

/// tracesegment.go `CauseData`: an object (`CauseTypeObject`), or a string holding the id of an
/// exception recorded elsewhere (`CauseTypeExceptionID`); anything else fails the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    ExceptionId(String),
    Object(CauseObject),
}

impl<'de> Deserialize<'de> for Cause {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Cause::ExceptionId(s)),
            v @ Value::Object(_) => serde_json::from_value(v).map(Cause::Object).map_err(D::Error::custom),
            _ => Err(D::Error::custom("the value assigned to the `cause` field does not appear to be a string")),
        }
    }
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct CauseObject {
    pub working_directory: Option<String>,
    pub paths: Option<Vec<String>>,
    pub exceptions: Option<Vec<Exception>>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct Exception {
    pub id: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub remote: Option<bool>,
    pub truncated: Option<i64>,
    pub skipped: Option<i64>,
    pub cause: Option<String>,
    pub stack: Option<Vec<StackFrame>>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct StackFrame {
    pub path: Option<String>,
    pub line: Option<i64>,
    pub label: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct HttpData {
    pub request: Option<RequestData>,
    pub response: Option<ResponseData>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct RequestData {
    pub x_forwarded_for: Option<bool>,
    pub method: Option<String>,
    pub url: Option<String>,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct ResponseData {
    pub status: Option<i64>,
    /// Go: `any`: a number or a string (anything else is ignored).
    pub content_length: Option<Value>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct SqlData {
    pub connection_string: Option<String>,
    pub url: Option<String>,
    pub sanitized_query: Option<String>,
    pub database_type: Option<String>,
    pub database_version: Option<String>,
    pub driver_version: Option<String>,
    pub user: Option<String>,
    pub preparation: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct ServiceData {
    pub version: Option<String>,
    pub compiler_version: Option<String>,
    pub compiler: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub struct SpanLink {
    pub trace_id: Option<String>,
    pub id: Option<String>,
    pub attributes: Option<Map<String, Value>>,
}
