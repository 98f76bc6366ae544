//! Task metadata + docker stats → OTLP metrics (contrib awsecscontainermetricsreceiver
//! internal/awsecscontainermetrics: metrics_helper.go, accumulator.go, translator.go,
//! resource.go, constant.go). Pure: the clock is passed in.

use super::model::{parse_rfc3339, ContainerMetadata, ContainerStats, TaskMetadata, TaskStats};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// The semantic conventions version resource.go names its attributes from (semconv v1.21.0).
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.21.0";
pub const TASK_PREFIX: &str = "ecs.task.";
pub const CONTAINER_PREFIX: &str = "container.";
const CPUS_IN_VCPU: f64 = 1024.0;
const BYTES_IN_MIB: u64 = 1024 * 1024;

// constant.go units.
const UNIT_BYTES: &str = "Bytes";
const UNIT_MEGABYTES: &str = "Megabytes";
const UNIT_NANOSECOND: &str = "Nanoseconds";
const UNIT_BYTES_PER_SEC: &str = "Bytes/Second";
const UNIT_COUNT: &str = "Count";
const UNIT_VCPU: &str = "vCPU";
const UNIT_SECOND: &str = "Seconds";
const UNIT_NONE: &str = "None";

/// Go ECSMetrics: one container's numbers, or the task's sums.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EcsMetrics {
    pub memory_usage: u64,
    pub memory_max_usage: u64,
    pub memory_limit: u64,
    pub memory_reserved: u64,
    pub memory_utilized: u64,
    pub cpu_total_usage: u64,
    pub cpu_usage_in_kernelmode: u64,
    pub cpu_usage_in_usermode: u64,
    pub num_of_cpu_cores: u64,
    pub cpu_online_cpus: u64,
    pub system_cpu_usage: u64,
    pub cpu_usage_in_vcpu: f64,
    pub cpu_utilized: f64,
    pub cpu_reserved: f64,
    pub network_rate_rx: f64,
    pub network_rate_tx: f64,
    /// rx bytes, packets, errors, dropped, then tx the same.
    pub network: [u64; 8],
    pub storage_read_bytes: u64,
    pub storage_write_bytes: u64,
}

/// metrics_helper.go getContainerMetrics. Missing fields read 0.
pub fn container_metrics(s: &ContainerStats) -> EcsMetrics {
    let mut m = EcsMetrics::default();
    if let Some(mem) = &s.memory_stats {
        m.memory_usage = mem.usage.unwrap_or(0);
        m.memory_max_usage = mem.max_usage.unwrap_or(0);
        m.memory_limit = mem.limit.unwrap_or(0);
        if let Some(stats) = &mem.stats {
            // Go subtracts in uint64 (a cache above usage wraps); oxidot floors at 0.
            let cache = stats.get("cache").copied().unwrap_or(0);
            m.memory_utilized = m.memory_usage.saturating_sub(cache) / BYTES_IN_MIB;
        }
    }
    let cur = s.cpu_stats.as_ref().and_then(|c| c.cpu_usage.as_ref().map(|u| (c, u)));
    let prev = s.precpu_stats.as_ref().and_then(|c| c.cpu_usage.as_ref());
    if let (Some((cpu, usage)), Some(prev)) = (cur, prev) {
        // Go time.Time.Sub saturates at the Duration range.
        let diff = (s.read - s.preread).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as f64;
        let total = usage.total_usage.unwrap_or(0);
        let mut vcpu = 0.0;
        if diff > 0.0 {
            vcpu = total.saturating_sub(prev.total_usage.unwrap_or(0)) as f64 / diff;
        }
        m.cpu_total_usage = total;
        m.cpu_usage_in_kernelmode = usage.usage_in_kernelmode.unwrap_or(0);
        m.cpu_usage_in_usermode = usage.usage_in_usermode.unwrap_or(0);
        m.num_of_cpu_cores = usage.percpu_usage.as_ref().map_or(0, |v| v.len() as u64);
        m.cpu_online_cpus = cpu.online_cpus.unwrap_or(0);
        m.system_cpu_usage = cpu.system_cpu_usage.unwrap_or(0);
        m.cpu_usage_in_vcpu = vcpu;
        m.cpu_utilized = vcpu * 100.0;
    }
    if let Some(r) = &s.network_rate_stats {
        m.network_rate_rx = r.rx_bytes_per_sec.unwrap_or(0.0);
        m.network_rate_tx = r.tx_bytes_per_sec.unwrap_or(0.0);
    }
    if let Some(nets) = &s.networks {
        // getNetworkStats: the interfaces summed (ECS agent utils.go).
        for n in nets.values() {
            let v = [
                n.rx_bytes,
                n.rx_packets,
                n.rx_errors,
                n.rx_dropped,
                n.tx_bytes,
                n.tx_packets,
                n.tx_errors,
                n.tx_dropped,
            ];
            for (acc, x) in m.network.iter_mut().zip(v) {
                *acc = acc.wrapping_add(x.unwrap_or(0));
            }
        }
    }
    if let Some(disk) = &s.blkio_stats {
        // extractStorageUsage: "Read" and "Write" ops only (not Async, Total, Sum ...).
        for b in disk.io_service_bytes_recursive.iter().flatten() {
            match b.op.as_str() {
                "Read" => m.storage_read_bytes = m.storage_read_bytes.wrapping_add(b.value.unwrap_or(0)),
                "Write" => m.storage_write_bytes = m.storage_write_bytes.wrapping_add(b.value.unwrap_or(0)),
                _ => {}
            }
        }
    }
    m
}

/// accumulator.go convertContainerMetrics: the container's limits, CPU utilized per reserved unit.
fn convert_container(s: &ContainerStats, c: &ContainerMetadata) -> EcsMetrics {
    let mut m = container_metrics(s);
    if let Some(l) = &c.limits {
        if let Some(mem) = l.memory {
            m.memory_reserved = mem;
        }
        if let Some(cpu) = l.cpu {
            m.cpu_reserved = cpu;
        }
    }
    if m.cpu_reserved > 0.0 {
        m.cpu_utilized /= m.cpu_reserved;
    }
    m
}

/// metrics_helper.go aggregateTaskMetrics (CPU utilized is not summed).
fn add_to_task(t: &mut EcsMetrics, c: &EcsMetrics) {
    t.memory_usage = t.memory_usage.wrapping_add(c.memory_usage);
    t.memory_max_usage = t.memory_max_usage.wrapping_add(c.memory_max_usage);
    t.memory_limit = t.memory_limit.wrapping_add(c.memory_limit);
    t.memory_reserved = t.memory_reserved.wrapping_add(c.memory_reserved);
    t.memory_utilized = t.memory_utilized.wrapping_add(c.memory_utilized);
    t.cpu_total_usage = t.cpu_total_usage.wrapping_add(c.cpu_total_usage);
    t.cpu_usage_in_kernelmode = t.cpu_usage_in_kernelmode.wrapping_add(c.cpu_usage_in_kernelmode);
    t.cpu_usage_in_usermode = t.cpu_usage_in_usermode.wrapping_add(c.cpu_usage_in_usermode);
    t.num_of_cpu_cores = t.num_of_cpu_cores.wrapping_add(c.num_of_cpu_cores);
    t.cpu_online_cpus = t.cpu_online_cpus.wrapping_add(c.cpu_online_cpus);
    t.system_cpu_usage = t.system_cpu_usage.wrapping_add(c.system_cpu_usage);
    t.cpu_reserved += c.cpu_reserved;
    t.cpu_usage_in_vcpu += c.cpu_usage_in_vcpu;
    t.network_rate_rx += c.network_rate_rx;
    t.network_rate_tx += c.network_rate_tx;
    for (a, b) in t.network.iter_mut().zip(c.network) {
        *a = a.wrapping_add(b);
    }
    t.storage_read_bytes = t.storage_read_bytes.wrapping_add(c.storage_read_bytes);
    t.storage_write_bytes = t.storage_write_bytes.wrapping_add(c.storage_write_bytes);
}

fn kv_str(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_string(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.to_string())) }),
        ..Default::default()
    }
}

/// internal/common/docker ParseImageName (k8s parsers over docker's reference grammar): the
/// normalized repository (`docker.io/library/` added as docker does) and the tag (`latest`
/// when there is neither tag nor digest). An unparseable reference gives two empty strings.
pub fn parse_image(image: &str) -> (String, String) {
    let fail = (String::new(), String::new());
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let (name, tag) = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    };
    if name.is_empty() || digest.is_some_and(|d| !d.contains(':')) {
        return fail;
    }
    if let Some(t) = tag {
        let ok = t.len() <= 128
            && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return fail;
        }
    }
    let (domain, path) = match name.split_once('/') {
        Some((d, rest)) if d.contains(['.', ':']) || d == "localhost" || d.chars().any(|c| c.is_ascii_uppercase()) => {
            (d.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    let domain = if domain == "index.docker.io" { "docker.io".to_string() } else { domain };
    let path = if domain == "docker.io" && !path.contains('/') { format!("library/{path}") } else { path };
    // Path components: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    if !path.split('/').all(component_ok) {
        return fail;
    }
    let tag = match (tag, digest) {
        (Some(t), _) => t.to_string(),
        (None, Some(_)) => String::new(),
        (None, None) => "latest".to_string(),
    };
    (format!("{domain}/{path}"), tag)
}

/// resource.go containerResource (the task's attributes are appended by the caller).
fn container_resource(c: &ContainerMetadata) -> Vec<KeyValue> {
    let (repo, tag) = parse_image(&c.image);
    let mut a = vec![
        kv_str("container.name", &c.container_name),
        kv_str("container.id", &c.docker_id),
        kv_str("aws.ecs.docker.name", &c.docker_name),
        kv_str("container.image.name", &repo),
        kv_str("aws.ecs.container.image.id", &c.image_id),
        kv_str("container.image.tag", &tag),
        kv_str("aws.ecs.container.created_at", &c.created_at),
        kv_str("aws.ecs.container.started_at", &c.started_at),
    ];
    if !c.finished_at.is_empty() {
        a.push(kv_str("aws.ecs.container.finished_at", &c.finished_at));
    }
    // Go's spelling: "know_status".
    a.push(kv_str("aws.ecs.container.know_status", &c.known_status));
    if let Some(code) = c.exit_code {
        a.push(KeyValue {
            key: "aws.ecs.container.exit_code".into(),
            value: Some(AnyValue { value: Some(any_value::Value::IntValue(code)) }),
            ..Default::default()
        });
    }
    a
}

/// resource.go getResourceFromARN: region, account id and task id of
/// `arn:aws:ecs:<region>:<account>:task/[<cluster>/]<id>`; empty for anything else.
fn arn_parts(arn: &str) -> (String, String, String) {
    if !arn.starts_with("arn:aws:ecs") {
        return (String::new(), String::new(), String::new());
    }
    let task_id = arn.rsplit('/').next().unwrap_or("");
    let head = arn.split('/').next().unwrap_or("");
    let mut sub = head.split(':');
    // Go indexes [3] and [4] (and panics when they are missing).
    let region = sub.nth(3).unwrap_or("");
    let account = sub.next().unwrap_or("");
    (region.to_string(), account.to_string(), task_id.to_string())
}

/// resource.go getNameFromCluster: the name out of a cluster ARN.
fn cluster_name(cluster: &str) -> &str {
    if cluster.is_empty() || !cluster.starts_with("arn:aws") {
        return cluster;
    }
    cluster.rsplit('/').next().unwrap_or(cluster)
}

/// resource.go taskResource.
fn task_resource(t: &TaskMetadata) -> Vec<KeyValue> {
    let (region, account, task_id) = arn_parts(&t.task_arn);
    let mut a = vec![
        kv_str("aws.ecs.cluster.name", cluster_name(&t.cluster)),
        kv_str("aws.ecs.task.arn", &t.task_arn),
        kv_str("aws.ecs.task.id", &task_id),
        kv_str("aws.ecs.task.family", &t.family),
        kv_str("aws.ecs.task.version", &t.revision),
        kv_str("aws.ecs.task.revision", &t.revision),
        kv_str("aws.ecs.service.name", &t.service_name),
        kv_str("cloud.availability_zone", &t.availability_zone),
        kv_str("aws.ecs.task.pull_started_at", &t.pull_started_at),
        kv_str("aws.ecs.task.pull_stopped_at", &t.pull_stopped_at),
        kv_str("aws.ecs.task.known_status", &t.known_status),
        kv_str("aws.ecs.task.launch_type", &t.launch_type),
    ];
    match t.launch_type.to_lowercase().as_str() {
        "ec2" => a.push(kv_str("aws.ecs.launchtype", "ec2")),
        "fargate" => a.push(kv_str("aws.ecs.launchtype", "fargate")),
        _ => {}
    }
    a.push(kv_str("cloud.region", &region));
    a.push(kv_str("cloud.account.id", &account));
    a
}

fn point(v: number_data_point::Value, ts: u64) -> NumberDataPoint {
    NumberDataPoint { time_unix_nano: ts, value: Some(v), ..Default::default() }
}

fn int_gauge(name: String, unit: &str, v: u64, ts: u64) -> Metric {
    // Go converts with int64(v): values above i64::MAX wrap.
    let dp = point(number_data_point::Value::AsInt(v as i64), ts);
    Metric {
        name,
        unit: unit.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: vec![dp] })),
        ..Default::default()
    }
}

fn int_sum(name: String, unit: &str, v: u64, ts: u64) -> Metric {
    let dp = point(number_data_point::Value::AsInt(v as i64), ts);
    Metric {
        name,
        unit: unit.into(),
        data: Some(metric::Data::Sum(Sum {
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: false,
            data_points: vec![dp],
        })),
        ..Default::default()
    }
}

fn double_gauge(name: String, unit: &str, v: f64, ts: u64) -> Metric {
    let dp = point(number_data_point::Value::AsDouble(v), ts);
    Metric {
        name,
        unit: unit.into(),
        data: Some(metric::Data::Gauge(Gauge { data_points: vec![dp] })),
        ..Default::default()
    }
}

/// One metric per scope, as Go appends each to its own ScopeMetrics.
fn resource_metrics(attrs: Vec<KeyValue>, metrics: Vec<Metric>, schema_url: &str) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource { attributes: attrs, ..Default::default() }),
        scope_metrics: metrics.into_iter().map(|m| ScopeMetrics { metrics: vec![m], ..Default::default() }).collect(),
        schema_url: schema_url.to_string(),
    }
}

/// translator.go convertToOTLPMetrics: the 26 metrics of a container or the task.
pub fn convert(prefix: &str, m: &EcsMetrics, attrs: Vec<KeyValue>, ts: u64) -> ResourceMetrics {
    let n = |s: &str| format!("{prefix}{s}");
    let net = &m.network;
    let metrics = vec![
        int_gauge(n("memory.usage"), UNIT_BYTES, m.memory_usage, ts),
        int_gauge(n("memory.usage.max"), UNIT_BYTES, m.memory_max_usage, ts),
        int_gauge(n("memory.usage.limit"), UNIT_BYTES, m.memory_limit, ts),
        int_gauge(n("memory.utilized"), UNIT_MEGABYTES, m.memory_utilized, ts),
        int_gauge(n("memory.reserved"), UNIT_MEGABYTES, m.memory_reserved, ts),
        int_sum(n("cpu.usage.total"), UNIT_NANOSECOND, m.cpu_total_usage, ts),
        int_sum(n("cpu.usage.kernelmode"), UNIT_NANOSECOND, m.cpu_usage_in_kernelmode, ts),
        int_sum(n("cpu.usage.usermode"), UNIT_NANOSECOND, m.cpu_usage_in_usermode, ts),
        int_gauge(n("cpu.cores"), UNIT_COUNT, m.num_of_cpu_cores, ts),
        int_gauge(n("cpu.onlines"), UNIT_COUNT, m.cpu_online_cpus, ts),
        int_sum(n("cpu.usage.system"), UNIT_NANOSECOND, m.system_cpu_usage, ts),
        double_gauge(n("cpu.utilized"), UNIT_NONE, m.cpu_utilized, ts),
        double_gauge(n("cpu.reserved"), UNIT_NONE, m.cpu_reserved, ts),
        double_gauge(n("cpu.usage.vcpu"), UNIT_VCPU, m.cpu_usage_in_vcpu, ts),
        double_gauge(n("network.rate.rx"), UNIT_BYTES_PER_SEC, m.network_rate_rx, ts),
        double_gauge(n("network.rate.tx"), UNIT_BYTES_PER_SEC, m.network_rate_tx, ts),
        int_sum(n("network.io.usage.rx_bytes"), UNIT_BYTES, net[0], ts),
        int_sum(n("network.io.usage.rx_packets"), UNIT_COUNT, net[1], ts),
        int_sum(n("network.io.usage.rx_errors"), UNIT_COUNT, net[2], ts),
        int_sum(n("network.io.usage.rx_dropped"), UNIT_COUNT, net[3], ts),
        int_sum(n("network.io.usage.tx_bytes"), UNIT_BYTES, net[4], ts),
        int_sum(n("network.io.usage.tx_packets"), UNIT_COUNT, net[5], ts),
        int_sum(n("network.io.usage.tx_errors"), UNIT_COUNT, net[6], ts),
        int_sum(n("network.io.usage.tx_dropped"), UNIT_COUNT, net[7], ts),
        int_sum(n("storage.read_bytes"), UNIT_BYTES, m.storage_read_bytes, ts),
        int_sum(n("storage.write_bytes"), UNIT_BYTES, m.storage_write_bytes, ts),
    ];
    resource_metrics(attrs, metrics, SCHEMA_URL)
}

/// accumulator.go calculateDuration: seconds from StartedAt to FinishedAt (Duration.Seconds).
fn duration_secs(start: &str, end: &str) -> Option<f64> {
    let d = (parse_rfc3339(end)? - parse_rfc3339(start)?).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    Some((d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9)
}

/// accumulator.go getMetricsData: for each container in the task's order, its 26 metrics
/// (when it has stats) or `container.duration` (when it has finished), then the task's 26.
/// Also returns the warnings Go logs (a start or finish time that does not parse).
pub fn metrics_data(stats: &TaskStats, md: &TaskMetadata, ts: u64) -> (Vec<ResourceMetrics>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut task = EcsMetrics::default();
    let task_attrs = task_resource(md);
    for c in md.containers.iter().flatten() {
        let mut attrs = container_resource(c);
        attrs.extend(task_attrs.iter().cloned());
        // isEmptyStats: no stats, or stats without an id (`{}`).
        match stats.get(&c.docker_id).and_then(|s| s.as_ref()).filter(|s| !s.id.is_empty()) {
            Some(s) => {
                let m = convert_container(s, c);
                add_to_task(&mut task, &m);
                out.push(convert(CONTAINER_PREFIX, &m, attrs, ts));
            }
            None if !c.finished_at.is_empty() && !c.started_at.is_empty() => {
                let d = duration_secs(&c.started_at, &c.finished_at).unwrap_or_else(|| {
                    warnings.push(format!("Error time format error found for this container:{}", c.container_name));
                    0.0
                });
                // convertStoppedContainerDataToOTMetrics: no schema URL on this one.
                out.push(resource_metrics(
                    attrs,
                    vec![double_gauge("container.duration".into(), UNIT_SECOND, d, ts)],
                    "",
                ));
            }
            None => {}
        }
    }
    // overrideWithTaskLevelLimit
    if let Some(l) = &md.limits {
        if let Some(mem) = l.memory {
            task.memory_reserved = mem;
        }
        if let Some(cpu) = l.cpu {
            task.cpu_reserved = cpu * CPUS_IN_VCPU;
        }
    }
    if task.cpu_reserved > 0.0 {
        task.cpu_utilized = task.cpu_usage_in_vcpu * CPUS_IN_VCPU;
    }
    out.push(convert(TASK_PREFIX, &task, task_attrs, ts));
    (out, warnings)
}

#[cfg(test)]
mod tests;
