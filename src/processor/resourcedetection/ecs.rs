//! The `ecs` detector: ECS task metadata endpoint v4 (`ECS_CONTAINER_METADATA_URI_V4`, its
//! `/task` document and the container document at its root) → cloud.* and aws.ecs.* attributes.
//! The mapping is a pure function of the two JSON documents.

use super::{enabled, validate_toggles, AttrValue, Detected, Toggles};
use crate::config::ConfigError;
use serde::Deserialize;
use serde_json::Value as Json;

/// Attributes and whether they are on by default.
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
    ("aws.ecs.container.arn", true),
    ("container.id", true),
    ("container.name", true),
    ("aws.log.group.names", true),
    ("aws.log.group.arns", true),
    ("aws.log.stream.names", true),
    ("aws.log.stream.arns", true),
];

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

fn s<'a>(v: &'a Json, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Json::as_str).filter(|s| !s.is_empty())
}

/// Maps the task and container metadata documents to resource attributes.
pub fn map(task: &Json, container: &Json) -> Result<Detected, String> {
    let task_arn = s(task, "TaskARN").ok_or("the task metadata has no TaskARN")?;
    // arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
    let parts: Vec<&str> = task_arn.splitn(6, ':').collect();
    let (region, account) = match parts.as_slice() {
        [_, _, _, r, a, _] => (*r, *a),
        _ => return Err(format!("cannot parse the task ARN {task_arn:?}")),
    };
    let mut out: Detected = vec![
        ("cloud.provider".into(), AttrValue::Str("aws".into())),
        ("cloud.platform".into(), AttrValue::Str("aws_ecs".into())),
        ("cloud.account.id".into(), AttrValue::Str(account.into())),
        ("cloud.region".into(), AttrValue::Str(region.into())),
    ];
    if let Some(az) = s(task, "AvailabilityZone") {
        out.push(("cloud.availability_zone".into(), AttrValue::Str(az.into())));
    }
    if let Some(c) = s(task, "Cluster") {
        let arn =
            if c.starts_with("arn:") { c.to_string() } else { format!("arn:aws:ecs:{region}:{account}:cluster/{c}") };
        out.push(("aws.ecs.cluster.arn".into(), AttrValue::Str(arn)));
    }
    out.push(("aws.ecs.task.arn".into(), AttrValue::Str(task_arn.into())));
    if let Some(f) = s(task, "Family") {
        out.push(("aws.ecs.task.family".into(), AttrValue::Str(f.into())));
    }
    if let Some(id) = task_arn.rsplit('/').next().filter(|id| !id.contains(':')) {
        out.push(("aws.ecs.task.id".into(), AttrValue::Str(id.into())));
    }
    if let Some(r) = s(task, "Revision") {
        out.push(("aws.ecs.task.revision".into(), AttrValue::Str(r.into())));
    }
    if let Some(lt) = s(task, "LaunchType") {
        let lt = lt.to_ascii_lowercase();
        if lt == "ec2" || lt == "fargate" {
            out.push(("aws.ecs.launchtype".into(), AttrValue::Str(lt)));
        }
    }
    if let Some(arn) = s(container, "ContainerARN") {
        out.push(("aws.ecs.container.arn".into(), AttrValue::Str(arn.into())));
    }
    if let Some(id) = s(container, "DockerId") {
        out.push(("container.id".into(), AttrValue::Str(id.into())));
    }
    if let Some(n) = s(container, "Name") {
        out.push(("container.name".into(), AttrValue::Str(n.into())));
    }
    if s(container, "LogDriver") == Some("awslogs") {
        let opts = container.get("LogOptions").cloned().unwrap_or(Json::Null);
        if let (Some(group), Some(stream)) = (s(&opts, "awslogs-group"), s(&opts, "awslogs-stream")) {
            let log_region = s(&opts, "awslogs-region").unwrap_or(region);
            let group_arn = format!("arn:aws:logs:{log_region}:{account}:log-group:{group}");
            out.push(("aws.log.group.names".into(), AttrValue::List(vec![group.into()])));
            out.push(("aws.log.group.arns".into(), AttrValue::List(vec![group_arn.clone()])));
            out.push(("aws.log.stream.names".into(), AttrValue::List(vec![stream.into()])));
            out.push(("aws.log.stream.arns".into(), AttrValue::List(vec![format!("{group_arn}:log-stream:{stream}")])));
        }
    }
    Ok(out)
}

async fn get_json(client: &crate::http_client::HttpClient, url: &str) -> Result<Json, String> {
    use http_body_util::BodyExt;
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid metadata URL {url:?}: {e}"))?;
    let req =
        http::Request::get(uri).body(http_body_util::Full::new(bytes::Bytes::new())).map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    let body = http_body_util::Limited::new(resp.into_body(), 1 << 20)
        .collect()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {}", status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

pub async fn detect(cfg: &EcsConfig, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Detected, String> {
    let base = env("ECS_CONTAINER_METADATA_URI_V4")
        .or_else(|| env("ECS_CONTAINER_METADATA_URI"))
        .ok_or("not running on ECS: ECS_CONTAINER_METADATA_URI_V4 is not set")?;
    let base = base.trim_end_matches('/').to_string();
    let client = crate::http_client::build(&Default::default())?;
    let task = get_json(&client, &format!("{base}/task")).await?;
    let container = get_json(&client, &base).await?;
    let mut out = map(&task, &container)?;
    out.retain(|(k, _)| enabled(&cfg.resource_attributes, KNOWN, k));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Json {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ecs").join(name);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn maps_the_aws_fargate_sample() {
        let got = map(&sample("task.json"), &sample("container.json")).unwrap();
        let str_ = |v: &str| AttrValue::Str(v.into());
        let list = |v: &str| AttrValue::List(vec![v.into()]);
        let want: Detected = vec![
            ("cloud.provider".into(), str_("aws")),
            ("cloud.platform".into(), str_("aws_ecs")),
            ("cloud.account.id".into(), str_("111122223333")),
            ("cloud.region".into(), str_("us-west-2")),
            ("cloud.availability_zone".into(), str_("us-west-2a")),
            ("aws.ecs.cluster.arn".into(), str_("arn:aws:ecs:us-west-2:111122223333:cluster/default")),
            ("aws.ecs.task.arn".into(), str_("arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3")),
            ("aws.ecs.task.family".into(), str_("curltest")),
            ("aws.ecs.task.id".into(), str_("e9028f8d5d8e4f258373e7b93ce9a3c3")),
            ("aws.ecs.task.revision".into(), str_("3")),
            ("aws.ecs.launchtype".into(), str_("fargate")),
            ("aws.ecs.container.arn".into(), str_("arn:aws:ecs:us-west-2:111122223333:container/05966557-f16c-49cb-9352-24b3a0dcd0e1")),
            ("container.id".into(), str_("cd189a933e5849daa93386466019ab50-2495160603")),
            ("container.name".into(), str_("curl")),
            ("aws.log.group.names".into(), list("/ecs/containerlogs")),
            ("aws.log.group.arns".into(), list("arn:aws:logs:us-west-2:111122223333:log-group:/ecs/containerlogs")),
            ("aws.log.stream.names".into(), list("ecs/curl/cd189a933e5849daa93386466019ab50")),
            (
                "aws.log.stream.arns".into(),
                list("arn:aws:logs:us-west-2:111122223333:log-group:/ecs/containerlogs:log-stream:ecs/curl/cd189a933e5849daa93386466019ab50"),
            ),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn short_cluster_names_become_arns_and_garbage_is_an_error() {
        let task = serde_json::json!({"TaskARN": "arn:aws:ecs:eu-west-1:123:task/prod/abc", "Cluster": "prod", "LaunchType": "EC2"});
        let got = map(&task, &serde_json::json!({})).unwrap();
        assert!(got.contains(&(
            "aws.ecs.cluster.arn".into(),
            AttrValue::Str("arn:aws:ecs:eu-west-1:123:cluster/prod".into())
        )));
        assert!(got.contains(&("aws.ecs.launchtype".into(), AttrValue::Str("ec2".into()))));
        assert!(map(&serde_json::json!({"nope": 1}), &serde_json::json!({})).is_err());
        assert!(map(&serde_json::json!({"TaskARN": "not-an-arn"}), &serde_json::json!({})).is_err());
    }
}
