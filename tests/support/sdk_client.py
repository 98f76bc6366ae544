"""Sends spans, metrics and logs through the real OpenTelemetry Python SDK to oxidot.

Usage: sdk_client.py PROTOCOL ENDPOINT SPANS LOGS [--service NAME] [--ca FILE [--cert FILE --key FILE]]
PROTOCOL is grpc or http. With --ca the connection uses TLS trusting that CA (and presents the
client certificate --cert/--key when given). Prints one JSON line describing what was sent, then exits once every
exporter flushed (non-zero exit if an export failed).
"""
import argparse
import json
import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

p = argparse.ArgumentParser()
p.add_argument("protocol", choices=["grpc", "http"])
p.add_argument("endpoint")
p.add_argument("spans", type=int)
p.add_argument("logs", type=int)
p.add_argument("--service", default="sdk-test")
p.add_argument("--xray-ids", action="store_true", help="trace ids that start with the epoch, as X-Ray needs")
p.add_argument("--ca", help="TLS: the CA that signed the server certificate")
p.add_argument("--cert", help="TLS: client certificate (mTLS)")
p.add_argument("--key", help="TLS: client key (mTLS)")
p.add_argument("--crash", action="store_true", help="also emit the demo's /crash span shape with an error log inside it")
a = p.parse_args()

if a.protocol == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    kw = dict(endpoint=a.endpoint, insecure=True)
    if a.ca:
        import grpc

        def read(path):
            with open(path, "rb") as f:
                return f.read()

        creds = grpc.ssl_channel_credentials(
            root_certificates=read(a.ca),
            private_key=read(a.key) if a.key else None,
            certificate_chain=read(a.cert) if a.cert else None,
        )
        kw = dict(endpoint=a.endpoint, insecure=False, credentials=creds)
    span_exp, metric_exp, log_exp = OTLPSpanExporter(**kw), OTLPMetricExporter(**kw), OTLPLogExporter(**kw)
else:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = a.endpoint.rstrip("/")
    tls = dict(certificate_file=a.ca, client_certificate_file=a.cert, client_key_file=a.key) if a.ca else {}
    span_exp = OTLPSpanExporter(endpoint=base + "/v1/traces", **tls)
    metric_exp = OTLPMetricExporter(endpoint=base + "/v1/metrics", **tls)
    log_exp = OTLPLogExporter(endpoint=base + "/v1/logs", **tls)

failures = []


def watch(exp, name, ok):
    orig = exp.export

    def export(*args, **kwargs):
        r = orig(*args, **kwargs)
        if r != ok:
            failures.append(name)
        return r

    exp.export = export


watch(span_exp, "traces", SpanExportResult.SUCCESS)
watch(metric_exp, "metrics", MetricExportResult.SUCCESS)
watch(log_exp, "logs", LogRecordExportResult.SUCCESS)

resource = Resource.create({"service.name": a.service, "service.namespace": "oxidot-tests"})
id_generator = None
if a.xray_ids:
    import random
    import time

    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class EpochIdGenerator(RandomIdGenerator):
        """Puts the epoch in the first four bytes, like the AWS X-Ray id generator."""

        def generate_trace_id(self):
            return (int(time.time()) << 96) | random.getrandbits(96)

    id_generator = EpochIdGenerator()
tp = TracerProvider(resource=resource, id_generator=id_generator) if id_generator else TracerProvider(resource=resource)
tp.add_span_processor(BatchSpanProcessor(span_exp))
reader = PeriodicExportingMetricReader(metric_exp, export_interval_millis=60_000)
mp = MeterProvider(resource=resource, metric_readers=[reader])
lp = LoggerProvider(resource=resource)
lp.add_log_record_processor(BatchLogRecordProcessor(log_exp))
set_logger_provider(lp)
log = logging.getLogger("sdk-test")
log.propagate = False
log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=lp))
log.setLevel(logging.INFO)

tracer = tp.get_tracer("oxidot.tests")
meter = mp.get_meter("oxidot.tests")
counter = meter.create_counter("http_request_count", description="requests")


def observe_users(_options):
    from opentelemetry.metrics import Observation

    return [Observation(42)]


meter.create_observable_gauge("active_simulated_users", callbacks=[observe_users], description="simulated users")
trace_ids = []
for i in range(a.spans):
    with tracer.start_as_current_span(f"span-{i}") as sp:
        sp.set_attribute("i", i)
        trace_ids.append(format(sp.get_span_context().trace_id, "032x"))
        counter.add(1, {"endpoint": f"/items/{i % 3}", "method": "GET"})
for i in range(a.logs):
    log.error("log record %d", i)
crash_trace_id = None
if a.crash:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    with tracer.start_as_current_span("GET /crash", kind=SpanKind.SERVER) as sp:
        sp.set_attribute("http.method", "GET")
        sp.set_attribute("http.route", "/crash")
        sp.set_attribute("http.target", "/crash")
        sp.set_attribute("http.status_code", 500)
        crash_trace_id = format(sp.get_span_context().trace_id, "032x")
        try:
            raise RuntimeError("Intentional crash for testing")
        except RuntimeError as e:
            sp.record_exception(e)
            sp.set_status(Status(StatusCode.ERROR, "RuntimeError: Intentional crash for testing"))
            log.error("request failed: %s", e)

tp.force_flush()
lp.force_flush()
reader.force_flush()
tp.shutdown()
lp.shutdown()
mp.shutdown()
# Counter series (endpoint /items/0,1,2) plus the gauge.
points = min(a.spans, 3) + 1
print(json.dumps({"spans": a.spans, "logs": a.logs, "points": points, "trace_ids": trace_ids, "crash_trace_id": crash_trace_id, "failures": failures}))
sys.exit(1 if failures else 0)
