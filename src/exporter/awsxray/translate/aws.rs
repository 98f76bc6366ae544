//! The `aws` block (EC2, ECS, Elastic Beanstalk, EKS, CloudWatch log groups, X-Ray SDK, and the
//! span's AWS call: operation, account, region, request id, queue, table) as the Go exporter's
//! aws.go `makeAws`, and `origin` as segment.go `determineAwsOrigin`.

use super::http::{go_str, value_of};
use crate::aws::xray::{
    AWS_ACCOUNT, AWS_OPERATION, AWS_QUEUE_URL, AWS_QUEUE_URL_2, AWS_REGION, AWS_REQUEST_ID, AWS_REQUEST_ID_2,
    AWS_TABLE_NAME, AWS_TABLE_NAME_2,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{json, Map, Value};

/// Span attributes makeAws takes out of what becomes metadata (`messaging.url` and
/// `aws.dynamodb.table_names` are read but stay).
pub const CONSUMED: &[&str] = &[
    "rpc.method",
    AWS_OPERATION,
    AWS_ACCOUNT,
    AWS_REGION,
    AWS_REQUEST_ID,
    AWS_REQUEST_ID_2,
    AWS_QUEUE_URL,
    AWS_QUEUE_URL_2,
    AWS_TABLE_NAME,
    AWS_TABLE_NAME_2,
];

// segment.go determineAwsOrigin: from `cloud.platform` (and the ECS launch type), unless
// `cloud.provider` names another cloud.
pub fn origin(res: &[KeyValue]) -> Option<&'static str> {
    if res.is_empty() {
        return None;
    }
    if value_of(res, "cloud.provider").is_some_and(|p| go_str(Some(p)) != "aws") {
        return None;
    }
    match go_str(Some(value_of(res, "cloud.platform")?)) {
        "aws_app_runner" => Some("AWS::AppRunner::Service"),
        "aws_eks" => Some("AWS::EKS::Container"),
        "aws_elastic_beanstalk" => Some("AWS::ElasticBeanstalk::Environment"),
        "aws_ecs" => Some(match value_of(res, "aws.ecs.launchtype").map(|v| go_str(Some(v))) {
            Some("ec2") => "AWS::ECS::EC2",
            Some("fargate") => "AWS::ECS::Fargate",
            _ => "AWS::ECS::Container",
        }),
        "aws_ec2" => Some("AWS::EC2::Instance"),
        _ => None,
    }
}

// aws.go normalizeToSlice: a string is split at `&` (OTEL_RESOURCE_ATTRIBUTES cannot hold
// lists), a list is taken as it is, other types give nothing.
fn normalize_to_list(v: &AnyValue) -> Vec<String> {
    match v.value.as_ref() {
        Some(any_value::Value::StringValue(s)) => s.split('&').filter(|x| !x.is_empty()).map(String::from).collect(),
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().map(|x| go_str(Some(x)).to_string()).collect(),
        _ => Vec::new(),
    }
}

// aws.go parseLogGroup: the seventh `:` field of a log group ARN.
fn parse_log_group(arn: &str) -> &str {
    arn.split(':').nth(6).unwrap_or(arn)
}

/// awsxray.String in an omitempty field: left out when empty.
fn put(m: &mut Map<String, Value>, k: &str, v: &str) {
    if !v.is_empty() {
        m.insert(k.into(), json!(v));
    }
}

/// awsxray.String in a field Go writes without omitempty: `null` when empty.
fn or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        json!(s)
    }
}

// aws.go makeAws. An empty map when `cloud.provider` names another cloud (Go: no aws block);
// else the block, which always has `xray`.
pub fn block(span: &Span, res: &[KeyValue], config_log_groups: &[String]) -> Map<String, Value> {
    let mut r: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut container = "";
    let mut log_groups: Option<Vec<String>> = None;
    let mut log_group_arns: Option<Vec<String>> = None;
    for a in res {
        let Some(v) = a.value.as_ref() else { continue };
        match a.key.as_str() {
            "container.name" => {
                if container.is_empty() {
                    container = go_str(Some(v));
                }
            }
            "aws.log.group.names" => log_groups = Some(normalize_to_list(v)),
            "aws.log.group.arns" => log_group_arns = Some(normalize_to_list(v)),
            "telemetry.auto.version" | "telemetry.distro.version" => {
                r.insert("auto", go_str(Some(v)));
            }
            k => {
                r.insert(k, go_str(Some(v)));
            }
        }
    }
    let res_str = |k: &str| r.get(k).copied().unwrap_or("");
    let a = &span.attributes;
    let mut account = res_str("cloud.account.id").to_string();
    let mut operation = String::new();
    if let Some(v) = value_of(a, AWS_OPERATION) {
        operation = go_str(Some(v)).into();
    } else if let Some(v) = value_of(a, "rpc.method") {
        operation = go_str(Some(v)).into();
    }
    let (mut region, mut request_id, mut queue_url, mut table_name) =
        (String::new(), String::new(), String::new(), String::new());
    for kv in a {
        let Some(v) = kv.value.as_ref() else { continue };
        let s = go_str(Some(v)).to_string();
        match kv.key.as_str() {
            AWS_ACCOUNT if v.value.is_some() => account = s,
            AWS_REGION => region = s,
            AWS_REQUEST_ID | AWS_REQUEST_ID_2 => request_id = s,
            AWS_QUEUE_URL | AWS_QUEUE_URL_2 => queue_url = s,
            AWS_TABLE_NAME | AWS_TABLE_NAME_2 => table_name = s,
            _ => {}
        }
    }
    let cloud = res_str("cloud.provider");
    if !cloud.is_empty() && cloud != "aws" {
        return Map::new();
    }
    // Semantic-convention attributes for SQS and DynamoDB win.
    if let Some(v) = value_of(a, "messaging.url") {
        queue_url = go_str(Some(v)).into();
    }
    let mut table_names: Vec<String> = Vec::new();
    if let Some(v) = value_of(a, "aws.dynamodb.table_names") {
        match v.value.as_ref() {
            Some(any_value::Value::ArrayValue(arr)) if arr.values.len() == 1 => {
                table_name = go_str(Some(&arr.values[0])).into();
            }
            Some(any_value::Value::ArrayValue(arr)) if arr.values.len() > 1 => {
                table_name.clear();
                table_names = arr.values.iter().map(|x| go_str(Some(x)).to_string()).collect();
            }
            Some(any_value::Value::StringValue(s)) => table_name = s.clone(),
            _ => {}
        }
    }
    let platform = res_str("cloud.platform");
    let mut aws = Map::new();
    // EC2: on cloud.platform aws_ec2, or whenever there is a host id.
    let host_id = res_str("host.id");
    if platform == "aws_ec2" || !host_id.is_empty() {
        aws.insert(
            "ec2".into(),
            json!({
                "instance_id": or_null(host_id),
                "availability_zone": or_null(res_str("cloud.availability_zone")),
                "instance_size": or_null(res_str("host.type")),
                "ami_id": or_null(res_str("host.image.id")),
            }),
        );
    }
    if platform == "aws_ecs" {
        let mut ecs = Map::new();
        put(&mut ecs, "container", container);
        for (k, attr) in [
            ("container_id", "container.id"),
            ("availability_zone", "cloud.availability_zone"),
            ("container_arn", "aws.ecs.container.arn"),
            ("cluster_arn", "aws.ecs.cluster.arn"),
            ("task_arn", "aws.ecs.task.arn"),
            ("task_family", "aws.ecs.task.family"),
            ("launch_type", "aws.ecs.launchtype"),
        ] {
            put(&mut ecs, k, res_str(attr));
        }
        aws.insert("ecs".into(), Value::Object(ecs));
    }
    // Elastic Beanstalk: the deployment id is service.instance.id (0 when not a number).
    let deploy_id = res_str("service.instance.id");
    if platform == "aws_elastic_beanstalk" && !deploy_id.is_empty() {
        aws.insert(
            "elastic_beanstalk".into(),
            json!({
                "environment_name": or_null(res_str("service.namespace")),
                "version_label": or_null(res_str("service.version")),
                "deployment_id": deploy_id.parse::<i64>().unwrap_or(0),
            }),
        );
    }
    // EKS, or any Kubernetes cluster.
    let cluster = res_str("k8s.cluster.name");
    if platform == "aws_eks" || !cluster.is_empty() {
        aws.insert(
            "eks".into(),
            json!({
                "cluster_name": or_null(cluster),
                "pod": or_null(res_str("k8s.pod.name")),
                "container_id": or_null(res_str("container.id")),
            }),
        );
    }
    // Log groups: ARNs on the resource, else names on the resource, else the config's.
    let groups: Vec<Value> = match (log_group_arns, log_groups) {
        (Some(arns), _) if !arns.is_empty() => arns
            .iter()
            .map(|arn| {
                let mut g = Map::new();
                g.insert("log_group".into(), or_null(parse_log_group(arn)));
                put(&mut g, "arn", arn);
                Value::Object(g)
            })
            .collect(),
        (_, Some(names)) if !names.is_empty() => names.iter().map(|g| json!({"log_group": or_null(g)})).collect(),
        _ => config_log_groups.iter().map(|g| json!({"log_group": or_null(g)})).collect(),
    };
    if !groups.is_empty() {
        aws.insert("cloudwatch_logs".into(), Value::Array(groups));
    }
    // xray.sdk: "<telemetry.sdk.name> for <telemetry.sdk.language>".
    let (sdk_name, sdk_lang) = (res_str("telemetry.sdk.name"), res_str("telemetry.sdk.language"));
    let sdk = if !sdk_name.is_empty() && !sdk_lang.is_empty() {
        format!("{sdk_name} for {sdk_lang}")
    } else {
        sdk_name.to_string()
    };
    let mut xray = Map::new();
    put(&mut xray, "sdk", &sdk);
    put(&mut xray, "sdk_version", res_str("telemetry.sdk.version"));
    xray.insert("auto_instrumentation".into(), json!(!res_str("auto").is_empty()));
    aws.insert("xray".into(), Value::Object(xray));
    put(&mut aws, "account_id", &account);
    put(&mut aws, "operation", &operation);
    put(&mut aws, "region", &region);
    put(&mut aws, "request_id", &request_id);
    put(&mut aws, "queue_url", &queue_url);
    put(&mut aws, "table_name", &table_name);
    if !table_names.is_empty() {
        aws.insert("table_names".into(), json!(table_names));
    }
    aws
}
