//! The `aws` block (account, ECS task and container, log groups, SDK), `origin`, and `sql`.

use super::{str_attr, to_json};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::{json, Map, Value};

/// AWS SDK span attributes this block consumes.
pub const CONSUMED: &[&str] = &[
    "aws.operation",
    "aws.region",
    "aws.request_id",
    "aws.requestId",
    "aws.queue_url",
    "aws.table_name",
    "aws.dynamodb.table_names",
    "rpc.method",
    "rpc.service",
    "rpc.system",
    "aws.service",
];

/// `origin` from the resource: where the instrumented service runs.
pub fn origin(res: &[KeyValue]) -> Option<&'static str> {
    if str_attr(res, "cloud.provider") != Some("aws") {
        return None;
    }
    match str_attr(res, "cloud.platform")? {
        "aws_ecs" => Some(match str_attr(res, "aws.ecs.launchtype") {
            Some("ec2") => "AWS::ECS::EC2",
            Some("fargate") => "AWS::ECS::Fargate",
            _ => "AWS::ECS::Container",
        }),
        "aws_ec2" => Some("AWS::EC2::Instance"),
        "aws_eks" => Some("AWS::EKS::Container"),
        "aws_elastic_beanstalk" => Some("AWS::ElasticBeanstalk::Environment"),
        "aws_app_runner" => Some("AWS::AppRunner::Service"),
        _ => None,
    }
}

fn str_list(res: &[KeyValue], k: &str) -> Vec<String> {
    match res.iter().find(|a| a.key == k).and_then(|a| a.value.as_ref()?.value.as_ref()) {
        Some(any_value::Value::ArrayValue(arr)) => arr
            .values
            .iter()
            .filter_map(|v| match v.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Some(any_value::Value::StringValue(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

pub fn block(span: &Span, res: &[KeyValue], config_log_groups: &[String]) -> Map<String, Value> {
    let mut aws = Map::new();
    if let Some(acct) = str_attr(res, "cloud.account.id") {
        aws.insert("account_id".into(), json!(acct));
    }
    if str_attr(res, "cloud.platform") == Some("aws_ecs") {
        let mut ecs = Map::new();
        for (k, attr) in [
            ("container", "container.name"),
            ("container_id", "container.id"),
            ("task_arn", "aws.ecs.task.arn"),
            ("task_family", "aws.ecs.task.family"),
            ("cluster_arn", "aws.ecs.cluster.arn"),
            ("container_arn", "aws.ecs.container.arn"),
            ("availability_zone", "cloud.availability_zone"),
            ("launch_type", "aws.ecs.launchtype"),
        ] {
            if let Some(v) = str_attr(res, attr) {
                ecs.insert(k.into(), json!(v));
            }
        }
        if !ecs.is_empty() {
            aws.insert("ecs".into(), Value::Object(ecs));
        }
    }
    if str_attr(res, "cloud.platform") == Some("aws_ec2") {
        let mut ec2 = Map::new();
        for (k, attr) in [
            ("instance_id", "host.id"),
            ("availability_zone", "cloud.availability_zone"),
            ("instance_size", "host.type"),
            ("ami_id", "host.image.id"),
        ] {
            if let Some(v) = str_attr(res, attr) {
                ec2.insert(k.into(), json!(v));
            }
        }
        if !ec2.is_empty() {
            aws.insert("ec2".into(), Value::Object(ec2));
        }
    }
    // Log groups: the config's `aws_log_groups` wins over what the resource says.
    let groups: Vec<Value> = if !config_log_groups.is_empty() {
        config_log_groups.iter().map(|g| json!({"log_group": g})).collect()
    } else {
        let arns = str_list(res, "aws.log.group.arns");
        if !arns.is_empty() {
            arns.iter()
                .map(|arn| {
                    let group = arn.split(":log-group:").nth(1).unwrap_or(arn).trim_end_matches(":*");
                    json!({"log_group": group, "arn": arn})
                })
                .collect()
        } else {
            str_list(res, "aws.log.group.names").iter().map(|g| json!({"log_group": g})).collect()
        }
    };
    if !groups.is_empty() {
        aws.insert("cloudwatch_logs".into(), Value::Array(groups));
    }
    if let Some(lang) = str_attr(res, "telemetry.sdk.language") {
        let mut x = Map::new();
        x.insert("sdk".into(), json!(format!("opentelemetry for {lang}")));
        if let Some(v) = str_attr(res, "telemetry.sdk.version") {
            x.insert("sdk_version".into(), json!(v));
        }
        x.insert("auto_instrumentation".into(), json!(str_attr(res, "telemetry.auto.version").is_some()));
        aws.insert("xray".into(), Value::Object(x));
    }
    let a = &span.attributes;
    if let Some(op) = str_attr(a, "aws.operation")
        .or_else(|| (str_attr(a, "rpc.system") == Some("aws-api")).then(|| str_attr(a, "rpc.method")).flatten())
    {
        aws.insert("operation".into(), json!(op));
    }
    for (k, attr) in [
        ("region", "aws.region"),
        ("request_id", "aws.request_id"),
        ("queue_url", "aws.queue_url"),
        ("table_name", "aws.table_name"),
    ] {
        if let Some(v) = str_attr(a, attr) {
            aws.insert(k.into(), json!(v));
        }
    }
    if let Some(t) = a.iter().find(|x| x.key == "aws.dynamodb.table_names") {
        aws.insert("table_names".into(), to_json(&t.value));
    }
    aws
}

const SQL_SYSTEMS: &[&str] = &[
    "db2",
    "derby",
    "firebird",
    "h2",
    "hsqldb",
    "informix",
    "mariadb",
    "mssql",
    "mysql",
    "oracle",
    "other_sql",
    "postgresql",
    "sqlite",
    "sybase",
    "cloudscape",
    "edb",
    "ingres",
    "interbase",
    "maxdb",
    "netezza",
    "pervasive",
    "pointbase",
    "progress",
];

/// The `sql` block for spans of SQL databases.
pub fn sql(a: &[KeyValue]) -> Option<Value> {
    let system = str_attr(a, "db.system")?;
    if !SQL_SYSTEMS.contains(&system) {
        return None;
    }
    let mut s = Map::new();
    let db = str_attr(a, "db.name").or_else(|| str_attr(a, "db.namespace"));
    if let Some(url) = str_attr(a, "db.connection_string") {
        let u = match db {
            Some(d) => format!("{url}/{d}"),
            None => url.to_string(),
        };
        s.insert("url".into(), json!(u));
    }
    s.insert("database_type".into(), json!(system));
    if let Some(u) = str_attr(a, "db.user") {
        s.insert("user".into(), json!(u));
    }
    if let Some(q) = str_attr(a, "db.statement").or_else(|| str_attr(a, "db.query.text")) {
        s.insert("sanitized_query".into(), json!(q));
    }
    Some(Value::Object(s))
}
