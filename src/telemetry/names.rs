//! Every self-metric name and label key oxidot prints, each matching the Go collector's
//! (v0.156, printed without `_total` or unit suffixes, as `service.telemetry.metrics` does by
//! default). Nothing else in the code spells a metric name.

use crate::component::Signal;

// Labels.
pub const LABEL_RECEIVER: &str = "receiver";
pub const LABEL_TRANSPORT: &str = "transport";
pub const LABEL_EXPORTER: &str = "exporter";
pub const LABEL_PROCESSOR: &str = "processor";
pub const LABEL_DATA_TYPE: &str = "data_type";
pub const LABEL_SERVER_ADDRESS: &str = "server_address";
pub const LABEL_SERVER_PORT: &str = "server_port";
pub const LABEL_URL_PATH: &str = "url_path";
pub const LABEL_OUTCOME: &str = "outcome";

/// Per-signal counter names, indexed by signal.
pub struct SignalNames {
    pub traces: &'static str,
    pub metrics: &'static str,
    pub logs: &'static str,
}

impl SignalNames {
    pub fn get(&self, s: Signal) -> &'static str {
        match s {
            Signal::Traces => self.traces,
            Signal::Metrics => self.metrics,
            Signal::Logs => self.logs,
        }
    }
}

// receiverhelper/obsreport.go
pub const RECEIVER_ACCEPTED: SignalNames = SignalNames {
    traces: "otelcol_receiver_accepted_spans",
    metrics: "otelcol_receiver_accepted_metric_points",
    logs: "otelcol_receiver_accepted_log_records",
};
pub const RECEIVER_REFUSED: SignalNames = SignalNames {
    traces: "otelcol_receiver_refused_spans",
    metrics: "otelcol_receiver_refused_metric_points",
    logs: "otelcol_receiver_refused_log_records",
};
pub const RECEIVER_FAILED: SignalNames = SignalNames {
    traces: "otelcol_receiver_failed_spans",
    metrics: "otelcol_receiver_failed_metric_points",
    logs: "otelcol_receiver_failed_log_records",
};
/// `otelcol_receiver_requests{outcome=success|refused|failure}`: only with the alpha gate
/// `receiverhelper.newReceiverMetrics` (receiverhelper/obsreport.go `endOp`).
pub const RECEIVER_REQUESTS: &str = "otelcol_receiver_requests";

// exporterhelper/internal/obs_report_sender.go, queue/obs_queue.go
pub const EXPORTER_SENT: SignalNames = SignalNames {
    traces: "otelcol_exporter_sent_spans",
    metrics: "otelcol_exporter_sent_metric_points",
    logs: "otelcol_exporter_sent_log_records",
};
pub const EXPORTER_SEND_FAILED: SignalNames = SignalNames {
    traces: "otelcol_exporter_send_failed_spans",
    metrics: "otelcol_exporter_send_failed_metric_points",
    logs: "otelcol_exporter_send_failed_log_records",
};
pub const EXPORTER_ENQUEUE_FAILED: SignalNames = SignalNames {
    traces: "otelcol_exporter_enqueue_failed_spans",
    metrics: "otelcol_exporter_enqueue_failed_metric_points",
    logs: "otelcol_exporter_enqueue_failed_log_records",
};
pub const EXPORTER_QUEUE_SIZE: &str = "otelcol_exporter_queue_size";
pub const EXPORTER_QUEUE_CAPACITY: &str = "otelcol_exporter_queue_capacity";
pub const EXPORTER_IN_FLIGHT: &str = "otelcol_exporter_in_flight_requests";
// oxidot's own (no Go equivalent): the persistent sending queue's disk use, the corrupt regions
// it skipped at open or on reading, and the items it sends again after a restart because they
// were being sent when the process stopped (the backend may get them twice).
pub const OXIDOT_EXPORTER_QUEUE_DISK_BYTES: &str = "oxidot_exporter_queue_disk_bytes";
pub const OXIDOT_EXPORTER_QUEUE_CORRUPT: &str = "oxidot_exporter_queue_corrupt_regions";
pub const OXIDOT_EXPORTER_QUEUE_REDELIVERED: &str = "oxidot_exporter_queue_redelivered_items";
// oxidot's own: the process-wide export budget (crate::memory::export_budget): protobuf bytes
// the exporters hold (queued in memory and being sent) now, the most ever held, and the budget.
pub const OXIDOT_EXPORTER_HELD_BYTES: &str = "oxidot_exporter_held_bytes";
pub const OXIDOT_EXPORTER_HELD_BYTES_PEAK: &str = "oxidot_exporter_held_bytes_peak";
pub const OXIDOT_EXPORTER_HELD_BYTES_LIMIT: &str = "oxidot_exporter_held_bytes_limit";

// processor/batchprocessor/metadata.yaml
pub const BATCH_SEND_SIZE: &str = "otelcol_processor_batch_batch_send_size";
pub const BATCH_SIZE_TRIGGER: &str = "otelcol_processor_batch_batch_size_trigger_send";
pub const BATCH_TIMEOUT_TRIGGER: &str = "otelcol_processor_batch_timeout_trigger_send";
pub const BATCH_METADATA_CARDINALITY: &str = "otelcol_processor_batch_metadata_cardinality";
/// Buckets of the batch size histogram, as the batch processor declares them.
pub const BATCH_SEND_SIZE_BUCKETS: &[f64] = &[
    10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0, 7000.0, 8000.0,
    9000.0, 10000.0, 20000.0, 30000.0, 50000.0, 100000.0,
];

// service/internal/proctelemetry/process_telemetry.go
pub const PROCESS_UPTIME: &str = "otelcol_process_uptime";
pub const PROCESS_CPU_SECONDS: &str = "otelcol_process_cpu_seconds";
pub const PROCESS_MEMORY_RSS: &str = "otelcol_process_memory_rss";
pub const PROCESS_RUNTIME_HEAP_ALLOC: &str = "otelcol_process_runtime_heap_alloc_bytes";
pub const PROCESS_RUNTIME_TOTAL_ALLOC: &str = "otelcol_process_runtime_total_alloc_bytes";
pub const PROCESS_RUNTIME_TOTAL_SYS: &str = "otelcol_process_runtime_total_sys_memory_bytes";

pub const TARGET_INFO: &str = "target_info";

/// Items a processor had to drop (the batch processor at the shutdown deadline, or on a
/// permanent downstream error). Names as the collector's processorhelper printed them.
pub const PROCESSOR_DROPPED: SignalNames = SignalNames {
    traces: "otelcol_processor_dropped_spans",
    metrics: "otelcol_processor_dropped_metric_points",
    logs: "otelcol_processor_dropped_log_records",
};

// processor/processorhelper/obsreport.go: processors that change data in place.
pub const PROCESSOR_INCOMING_ITEMS: &str = "otelcol_processor_incoming_items";
pub const PROCESSOR_OUTGOING_ITEMS: &str = "otelcol_processor_outgoing_items";
pub const LABEL_OTEL_SIGNAL: &str = "otel_signal";

// processor/memorylimiterprocessor (names since v0.155).
pub const MEMORY_LIMITER_ACCEPTED: SignalNames = SignalNames {
    traces: "otelcol_processor_memory_limiter_accepted_spans",
    metrics: "otelcol_processor_memory_limiter_accepted_metric_points",
    logs: "otelcol_processor_memory_limiter_accepted_log_records",
};
pub const MEMORY_LIMITER_REFUSED: SignalNames = SignalNames {
    traces: "otelcol_processor_memory_limiter_refused_spans",
    metrics: "otelcol_processor_memory_limiter_refused_metric_points",
    logs: "otelcol_processor_memory_limiter_refused_log_records",
};

// exporter/lokiexporter (v0.130) metadata.yaml telemetry: Loki refused a request for a stream
// without labels; the whole batch's log records are added.
pub const LOKI_SEND_FAILED_DUE_TO_MISSING_LABELS: &str = "otelcol_lokiexporter_send_failed_due_to_missing_labels";

// exporter/prometheusremotewriteexporter/documentation.md
pub const PRW_TRANSLATED_TIME_SERIES: &str = "otelcol_exporter_prometheusremotewrite_translated_time_series";
pub const PRW_FAILED_TRANSLATIONS: &str = "otelcol_exporter_prometheusremotewrite_failed_translations";
pub const PRW_SENT_BATCHES: &str = "otelcol_exporter_prometheusremotewrite_sent_batches";
pub const PRW_CONSUMERS: &str = "otelcol_exporter_prometheusremotewrite_consumers";

/// oxidot only (Go counts no reloads): SIGHUP reloads, by `outcome`
/// (`success`, `failure`).
pub const CONFIG_RELOADS: &str = "oxidot_config_reloads";

// exporter/loadbalancingexporter metadata.yaml telemetry.
pub const LB_NUM_BACKENDS: &str = "otelcol_loadbalancer_num_backends";
pub const LB_NUM_BACKEND_UPDATES: &str = "otelcol_loadbalancer_num_backend_updates";
pub const LB_NUM_RESOLUTIONS: &str = "otelcol_loadbalancer_num_resolutions";
pub const LB_BACKEND_OUTCOME: &str = "otelcol_loadbalancer_backend_outcome";
pub const LB_BACKEND_LATENCY: &str = "otelcol_loadbalancer_backend_latency";
/// oxidot's own: items a failed backend handed to another (`endpoint_health.reroute_on_failure`).
pub const LB_REROUTED_ITEMS: &str = "otelcol_loadbalancer_rerouted_items";

// receiver/statsdreceiver metadata.yaml telemetry (reporter.go RecordParseSuccess/Failure).
pub const STATSD_RECEIVED: &str = "otelcol_receiver_received_statsd_metrics";
pub const LABEL_PARSE_SUCCESS: &str = "parse_success";
/// oxidot's own: StatsD lines parsed and then dropped, by `reason` (not_finite, limit).
pub const OXIDOT_STATSD_DROPPED: &str = "oxidot_receiver_statsd_dropped_lines";
pub const LABEL_REASON: &str = "reason";
// processor/filterprocessor metadata.yaml telemetry (`otelcol_processor_filter_<x>.filtered`,
// printed by the Prometheus exporter with `_` for `.`), label `filter` = the processor id.
pub const LABEL_FILTER: &str = "filter";
pub struct FilterNames;
pub const FILTER_FILTERED: FilterNames = FilterNames;
impl FilterNames {
    /// The counter's name and help for a signal.
    pub fn get(&self, s: Signal) -> (&'static str, &'static str) {
        match s {
            Signal::Traces => {
                ("otelcol_processor_filter_spans_filtered", "Number of spans dropped by the filter processor")
            }
            Signal::Metrics => (
                "otelcol_processor_filter_datapoints_filtered",
                "Number of metric data points dropped by the filter processor",
            ),
            Signal::Logs => {
                ("otelcol_processor_filter_logs_filtered", "Number of logs dropped by the filter processor")
            }
        }
    }
}
// exporter/kafkaexporter and receiver/kafkareceiver metadata.yaml telemetry. Labels `topic`,
// `partition`, `outcome` as Go's (Go also has node_id and server.address, which librdkafka does
// not report per record), plus the component id as the loki exporter's metric has.
pub const LABEL_TOPIC: &str = "topic";
pub const LABEL_PARTITION: &str = "partition";
pub const KAFKA_EXPORTER_RECORDS: &str = "otelcol_kafka_exporter_records";
pub const KAFKA_EXPORTER_MESSAGES: &str = "otelcol_kafka_exporter_messages";
pub const KAFKA_EXPORTER_BYTES_UNCOMPRESSED: &str = "otelcol_kafka_exporter_bytes_uncompressed";
pub const KAFKA_RECEIVER_RECORDS: &str = "otelcol_kafka_receiver_records";
pub const KAFKA_RECEIVER_MESSAGES: &str = "otelcol_kafka_receiver_messages";
pub const KAFKA_RECEIVER_BYTES_UNCOMPRESSED: &str = "otelcol_kafka_receiver_bytes_uncompressed";
pub const KAFKA_RECEIVER_CURRENT_OFFSET: &str = "otelcol_kafka_receiver_current_offset";
pub const KAFKA_RECEIVER_OFFSET_LAG: &str = "otelcol_kafka_receiver_offset_lag";
pub const KAFKA_RECEIVER_PARTITION_START: &str = "otelcol_kafka_receiver_partition_start";
pub const KAFKA_RECEIVER_PARTITION_CLOSE: &str = "otelcol_kafka_receiver_partition_close";
pub const KAFKA_RECEIVER_UNMARSHAL_FAILED: SignalNames = SignalNames {
    traces: "otelcol_kafka_receiver_unmarshal_failed_spans",
    metrics: "otelcol_kafka_receiver_unmarshal_failed_metric_points",
    logs: "otelcol_kafka_receiver_unmarshal_failed_log_records",
};
