//! OTLP metrics requests for tests: one resource (`svc` in `ns`, instance `inst-1`) with
//! gauges and sums built from a few numbers.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

pub fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        key_strindex: 0,
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }),
    }
}

pub fn request(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "svc"),
                    kv("service.namespace", "ns"),
                    kv("service.instance.id", "inst-1"),
                    kv("deployment.environment", "test"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
            ..Default::default()
        }],
    }
}

pub fn gauge(name: &str, unit: &str, v: f64, t: u64, attrs: Vec<KeyValue>) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint {
                time_unix_nano: t,
                attributes: attrs,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}

pub fn sum(name: &str, monotonic: bool, v: i64, t: u64) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            aggregation_temporality: 2,
            is_monotonic: monotonic,
            data_points: vec![NumberDataPoint {
                start_time_unix_nano: t - 60_000_000_000,
                time_unix_nano: t,
                value: Some(number_data_point::Value::AsInt(v)),
                ..Default::default()
            }],
        })),
        ..Default::default()
    }
}
