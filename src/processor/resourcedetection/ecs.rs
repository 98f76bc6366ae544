//! The `ecs` detector: the ECS task metadata endpoint (`ECS_CONTAINER_METADATA_URI_V4`, else
//! `ECS_CONTAINER_METADATA_URI`), its `/task` document and the collector's own container
//! document at its root → cloud.* and aws.ecs.* attributes, and the CloudWatch log groups and
//! streams of the task's *other* containers (Go: internal/aws/ecs/ecs.go, internal/aws/ecsutil).
//! The collector's own container identity is never an attribute: Go has no container.* here.

use super::{enabled, validate_toggles, AttrValue, Detected, Detection, Toggles};
use crate::config::ConfigError;
use serde::Deserialize;
use serde_json::Value as Json;
use tokio::time::Instant;

/// internal/aws/ecs/metadata.yaml: attributes and whether they are on by default.
pub const KNOWN: &[(&str, bool)] = &[
    ("cloud.provider", true),
    ("cloud.platform", true),
    ("cloud.account.id", true),
    ("cloud.region", true),
    ("cloud.availability_zone", true),
    ("aws.ecs.cluster.arn", true),
    ("aws.ecs.task.arn", true),
    ("aws.ecs.task.family", true),
    ("aws.ecs.task.id", true),
    ("aws.ecs.task.revision", true),
    ("aws.ecs.launchtype", true),
    ("aws.log.group.names", true),
    ("aws.log.group.arns", true),
    ("aws.log.stream.names", true),
    ("aws.log.stream.arns", true),
];

/// The semantic conventions ecs.go follows (semconv v1.39.0).
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.39.0";

#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EcsConfig {
    pub resource_attributes: Toggles,
}

impl EcsConfig {
    pub fn validate(&self, base: &str) -> Vec<ConfigError> {
        validate_toggles(base, &self.resource_attributes, KNOWN)
    }
}

/// ecsutil LogOptions: the three awslogs options Go reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogOptions {
    pub group: String,
    pub region: String,
    pub stream: String,
}

/// ecsutil ContainerMetadata: the fields the detector uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Container {
    pub docker_id: String,
    pub known_status: String,
    pub kind: String,
    pub log_driver: String,
    pub log_options: LogOptions,
}

/// ecsutil TaskMetadata: the fields the detector uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Task {
    pub availability_zone: String,
    pub cluster: String,
    pub containers: Vec<Container>,
    pub family: String,
    pub launch_type: String,
    pub revision: String,
    pub task_arn: String,
}

/// A string field as Go's encoding/json fills a `string` struct field: absent or null is "",
/// any other type is an error.
fn string_field(v: &Json, key: &str, go_type: &str) -> Result<String, String> {
    match v.get(key) {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field {go_type}.{key} of type string",
            json_kind(other)
        )),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn object<'a>(v: &'a Json, what: &str) -> Result<&'a Json, String> {
    match v {
        Json::Object(_) | Json::Null => Ok(v),
        other => Err(format!("json: cannot unmarshal {} into Go value of type {what}", json_kind(other))),
    }
}

impl Container {
    pub fn from_json(v: &Json) -> Result<Container, String> {
        let v = object(v, "ecsutil.ContainerMetadata")?;
        let t = "ContainerMetadata";
        let lo = object(v.get("LogOptions").unwrap_or(&Json::Null), "ecsutil.LogOptions")?;
        Ok(Container {
            docker_id: string_field(v, "DockerId", t)?,
            known_status: string_field(v, "KnownStatus", t)?,
            kind: string_field(v, "Type", t)?,
            log_driver: string_field(v, "LogDriver", t)?,
            log_options: LogOptions {
                group: string_field(lo, "awslogs-group", "LogOptions")?,
                region: string_field(lo, "awslogs-region", "LogOptions")?,
                stream: string_field(lo, "awslogs-stream", "LogOptions")?,
            },
        })
    }
}

impl Task {
    pub fn from_json(v: &Json) -> Result<Task, String> {
        let v = object(v, "ecsutil.TaskMetadata")?;
        let t = "TaskMetadata";
        let containers = match v.get("Containers") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(a)) => a.iter().map(Container::from_json).collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field TaskMetadata.Containers of type []ecsutil.ContainerMetadata",
                    json_kind(other)
                ))
            }
        };
        Ok(Task {
            availability_zone: string_field(v, "AvailabilityZone", t)?,
            cluster: string_field(v, "Cluster", t)?,
            containers,
            family: string_field(v, "Family", t)?,
            launch_type: string_field(v, "LaunchType", t)?,
            revision: string_field(v, "Revision", t)?,
            task_arn: string_field(v, "TaskARN", t)?,
        })
    }
}

/// ecs.go constructClusterArn: a name containing ':' is already an ARN.
fn cluster_arn(cluster: &str, region: &str, account: &str) -> String {
    if cluster.contains(':') {
        cluster.to_string()
    } else {
        format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}")
    }
}

/// ecs.go parseTaskARN: region, account and task id (the last '/' part of the resource, for
/// both `task/<id>` and `task/<cluster>/<id>`). oxidot: an ARN of exactly five parts yields no
/// task id (Go indexes past its end and panics).
fn parse_task_arn(arn: &str) -> (String, String, String) {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 5 {
        return (String::new(), String::new(), String::new());
    }
    let id = parts.get(5).map(|r| r.rsplit('/').next().unwrap_or("").to_string()).unwrap_or_default();
    (parts[3].to_string(), parts[4].to_string(), id)
}

fn log_group_arn(region: &str, account: &str, group: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:{group}")
}

/// Maps the task document and the collector's own container document to attributes, in the
/// order ecs.go Detect sets them, keeping the enabled ones.
pub fn map(task: &Task, own: &Container, toggles: &Toggles) -> Detected {
    let mut out: Detected = Vec::new();
    let mut set = |k: &str, v: AttrValue| {
        if enabled(toggles, KNOWN, k) {
            out.push((k.to_string(), v));
        }
    };
    let s = |v: &str| AttrValue::Str(v.to_string());
    set("cloud.provider", s("aws"));
    set("cloud.platform", s("aws_ecs"));
    set("aws.ecs.task.arn", s(&task.task_arn));
    set("aws.ecs.task.family", s(&task.family));
    set("aws.ecs.task.revision", s(&task.revision));
    let (region, account, task_id) = parse_task_arn(&task.task_arn);
    if !account.is_empty() {
        set("cloud.account.id", s(&account));
    }
    if !region.is_empty() {
        set("cloud.region", s(&region));
    }
    if !task_id.is_empty() {
        set("aws.ecs.task.id", s(&task_id));
    }
    set("aws.ecs.cluster.arn", s(&cluster_arn(&task.cluster, &region, &account)));
    if !task.availability_zone.is_empty() {
        set("cloud.availability_zone", s(&task.availability_zone));
    }
    match task.launch_type.to_lowercase().as_str() {
        "ec2" => set("aws.ecs.launchtype", s("ec2")),
        "fargate" => set("aws.ecs.launchtype", s("fargate")),
        _ => {}
    }
    // ecs.go addValidLogData: running NORMAL containers with awslogs options, except the
    // collector's own container (it runs as a sidecar: the logs are the application's).
    let mut logs: [Vec<String>; 4] = Default::default();
    for c in &task.containers {
        let o = &c.log_options;
        if c.kind == "NORMAL"
            && c.known_status == "RUNNING"
            && c.log_driver == "awslogs"
            && c.docker_id != own.docker_id
            && *o != LogOptions::default()
        {
            let group_arn = log_group_arn(&o.region, &account, &o.group);
            logs[0].push(o.group.clone());
            logs[1].push(group_arn.clone());
            logs[2].push(o.stream.clone());
            logs[3].push(format!("{group_arn}:log-stream:{}", o.stream));
        }
    }
    if !logs[0].is_empty() {
        let [g, ga, st, sta] = logs;
        set("aws.log.group.names", AttrValue::List(g));
        set("aws.log.group.arns", AttrValue::List(ga));
        set("aws.log.stream.names", AttrValue::List(st));
        set("aws.log.stream.arns", AttrValue::List(sta));
    }
    out
}

/// ecsutil/endpoints GetTMEFromEnv: the v4 variable, else the v3 one; each trimmed and checked
/// as url.ParseRequestURI does (an absolute URI or an absolute path).
pub fn endpoint(env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Option<String> {
    let valid = |v: String| {
        let v = v.trim().to_string();
        let scheme_ok = v.split_once(':').is_some_and(|(s, _)| {
            let mut c = s.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|ch| ch.is_ascii_alphanumeric() || "+-.".contains(ch))
        });
        (!v.is_empty() && (v.starts_with('/') || scheme_ok)).then_some(v)
    };
    env("ECS_CONTAINER_METADATA_URI_V4").and_then(valid).or_else(|| env("ECS_CONTAINER_METADATA_URI").and_then(valid))
}

/// ecsutil clientImpl.Get: GET base+path; a status other than 200 is an error.
async fn get(client: &crate::http_client::HttpClient, url: &str, deadline: Instant) -> Result<bytes::Bytes, String> {
    use http_body_util::BodyExt;
    let uri: http::Uri = url.parse().map_err(|e| format!("parse {}: {e}", super::go_quote(url)))?;
    let req = http::Request::get(uri)
        .header("Content-Type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .map_err(|e| e.to_string())?;
    let exceeded = || format!("Get {}: context deadline exceeded", super::go_quote(url));
    let resp = tokio::time::timeout_at(deadline, client.request(req))
        .await
        .map_err(|_| exceeded())?
        .map_err(|e| format!("Get {}: {}", super::go_quote(url), crate::http_client::error_chain(&e)))?;
    let status = resp.status();
    let body = tokio::time::timeout_at(deadline, http_body_util::Limited::new(resp.into_body(), 4 << 20).collect())
        .await
        .map_err(|_| exceeded())?
        .map_err(|e| format!("failed to read response body {e}"))?
        .to_bytes();
    if status != http::StatusCode::OK {
        let text = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
        return Err(format!("request GET {url} failed - {}", super::go_quote(text.trim_end())));
    }
    Ok(body)
}

fn decode(body: &[u8], which: &str) -> Result<Json, String> {
    let mut de = serde_json::Deserializer::from_slice(body).into_iter::<Json>();
    match de.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(format!("encountered unexpected error reading response from ECS {which} Endpoint: {e}")),
        None => Err(format!("encountered unexpected error reading response from ECS {which} Endpoint: EOF")),
    }
}

/// ecs.go Detector.Detect. No endpoint variable: not on ECS, an empty result and no error.
pub async fn detect(
    cfg: &EcsConfig,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    deadline: Instant,
) -> Result<Detection, String> {
    let Some(base) = endpoint(env) else { return Ok(Detection::default()) };
    let client = crate::http_client::build(&Default::default())?;
    let task = async {
        let body = get(&client, &format!("{base}/task"), deadline).await?;
        Task::from_json(&decode(&body, "Task Metadata")?)
            .map_err(|e| format!("encountered unexpected error reading response from ECS Task Metadata Endpoint: {e}"))
    }
    .await
    .map_err(|e| format!("unable to fetch task metadata: {e}"))?;
    let own = async {
        let body = get(&client, &base, deadline).await?;
        Container::from_json(&decode(&body, "Container Metadata")?).map_err(|e| {
            format!("encountered unexpected error reading response from ECS Container Metadata Endpoint: {e}")
        })
    }
    .await?;
    Ok(Detection { attrs: map(&task, &own, &cfg.resource_attributes), schema_url: SCHEMA_URL })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_prefers_v4_and_skips_invalid_values() {
        let env = |k: &str| match k {
            "ECS_CONTAINER_METADATA_URI_V4" => Some(" endpoint ".to_string()),
            "ECS_CONTAINER_METADATA_URI" => Some("http://169.254.170.2/v3/x".to_string()),
            _ => None,
        };
        assert_eq!(endpoint(&env).as_deref(), Some("http://169.254.170.2/v3/x"));
        assert_eq!(endpoint(&|_: &str| None), None);
        assert_eq!(endpoint(&|_: &str| Some("  ".to_string())), None);
    }

    #[test]
    fn go_json_typing_errors() {
        let e = Task::from_json(&serde_json::json!({"TaskARN": "a", "Revision": 3})).unwrap_err();
        assert_eq!(e, "json: cannot unmarshal number into Go struct field TaskMetadata.Revision of type string");
    }

    #[tokio::test]
    async fn no_endpoint_is_an_empty_result() {
        let d = detect(&Default::default(), &|_: &str| None, Instant::now()).await.unwrap();
        assert_eq!(d, Detection::default());
    }
}
