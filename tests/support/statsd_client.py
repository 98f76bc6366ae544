"""Sends StatsD lines to oxidot with two real clients: `statsd` (StatsD) and `datadog`'s
DogStatsD (tags, histograms, distributions). Each client's lines go out in one datagram (the
statsd pipeline; DogStatsD's buffer flushed once), so one aggregation interval holds them all.

usage: statsd_client.py HOST PORT
"""
import json
import random
import sys

import statsd
from datadog.dogstatsd import base as dd_base
from datadog.dogstatsd import DogStatsd

host, port = sys.argv[1], int(sys.argv[2])

# Both clients sample client-side with random(); make every sampled call send.
random.random = lambda: 0.0
dd_base.random = lambda: 0.0

c = statsd.StatsClient(host, port)
with c.pipeline() as p:
    p.incr("requests", 3)
    p.incr("requests", 2)
    p.incr("sampled", 1, rate=0.5)
    p.gauge("temp", 20)
    p.gauge("temp", 5, delta=True)
    p.gauge("temp", -3, delta=True)
    p.timing("latency", 10)
    p.timing("latency", 20)
    p.timing("latency", 30)
    p.set("users", "alice")

d = DogStatsd(
    host=host,
    port=port,
    disable_buffering=False,
    flush_interval=30,
    disable_telemetry=True,
    origin_detection_enabled=False,
)
d.increment("dd.hits", 2, tags=["env:prod", "region:eu"])
d.increment("dd.hits", 1, tags=["region:eu", "env:prod"])
d.gauge("dd.queue", 7, tags=["env:prod"])
d.histogram("dd.size", 1.5, tags=["env:prod"])
d.histogram("dd.size", 3.0, tags=["env:prod"])
d.histogram("dd.size", 0, tags=["env:prod"])
d.distribution("dd.dist", 4, tags=["env:prod"])
d.timing("dd.rt", 100, tags=["env:prod"])
d.increment("dd.flag", tags=["beta"])
d.set("dd.visitors", "bob")
d.flush()
d.close_socket()
print(json.dumps({"sent": True}))
