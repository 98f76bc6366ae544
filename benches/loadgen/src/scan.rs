//! Item counts read straight off the protobuf wire format, without building messages: the sink
//! must cost far less than the collector it measures. Field numbers are those of the OTLP
//! protos (opentelemetry-proto), Prometheus' remote.proto and Loki's push.proto.

/// Reads one varint at `*i`.
fn varint(buf: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*i)?;
        *i += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Calls `f` with the payload of every length-delimited field numbered `field`; skips the rest.
/// `None` when the bytes are not a well-formed message.
fn each_len(buf: &[u8], field: u64, mut f: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
    let mut i = 0;
    while i < buf.len() {
        let key = varint(buf, &mut i)?;
        match key & 7 {
            0 => {
                varint(buf, &mut i)?;
            }
            1 => i = i.checked_add(8)?,
            5 => i = i.checked_add(4)?,
            2 => {
                let n = usize::try_from(varint(buf, &mut i)?).ok()?;
                let end = i.checked_add(n)?;
                let payload = buf.get(i..end)?;
                if key >> 3 == field {
                    f(payload)?;
                }
                i = end;
            }
            _ => return None,
        }
    }
    (i == buf.len()).then_some(())
}

fn count(buf: &[u8], field: u64) -> Option<u64> {
    let mut n = 0;
    each_len(buf, field, |_| {
        n += 1;
        Some(())
    })?;
    Some(n)
}

/// `resource_* (1) → scope_* (2) → items (2)`: spans or log records of an OTLP export request.
fn two_levels(req: &[u8]) -> Option<u64> {
    let mut n = 0;
    each_len(req, 1, |res| {
        each_len(res, 2, |scope| {
            n += count(scope, 2)?;
            Some(())
        })
    })?;
    Some(n)
}

/// Spans in an ExportTraceServiceRequest.
pub fn spans(req: &[u8]) -> Option<u64> {
    two_levels(req)
}

/// Log records in an ExportLogsServiceRequest.
pub fn log_records(req: &[u8]) -> Option<u64> {
    two_levels(req)
}

/// Data points in an ExportMetricsServiceRequest (gauge 5, sum 7, histogram 9, exponential
/// histogram 10, summary 11; each holds `data_points` as field 1).
pub fn data_points(req: &[u8]) -> Option<u64> {
    let mut n = 0;
    each_len(req, 1, |res| {
        each_len(res, 2, |scope| {
            each_len(scope, 2, |metric| {
                for data in [5, 7, 9, 10, 11] {
                    each_len(metric, data, |d| {
                        n += count(d, 1)?;
                        Some(())
                    })?;
                }
                Some(())
            })
        })
    })?;
    Some(n)
}

/// Samples and native histograms in a remote write WriteRequest (timeseries 1; samples 2,
/// histograms 4).
pub fn remote_write_samples(req: &[u8]) -> Option<u64> {
    let mut n = 0;
    each_len(req, 1, |ts| {
        n += count(ts, 2)? + count(ts, 4)?;
        Some(())
    })?;
    Some(n)
}

/// Entries in a Loki PushRequest (streams 1; entries 2).
pub fn loki_entries(req: &[u8]) -> Option<u64> {
    let mut n = 0;
    each_len(req, 1, |stream| {
        n += count(stream, 2)?;
        Some(())
    })?;
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{Generator, Kind};
    use prost::Message;

    /// The wire counts equal the counts of the decoded messages, for every generated shape.
    #[test]
    fn counts_match_decoded_messages() {
        let g = Generator::new(42);
        for batch in [1, 7, 100] {
            let t = g.request(Kind::Traces, batch, 3);
            let m = g.request(Kind::Metrics, batch, 3);
            let l = g.request(Kind::Logs, batch, 3);
            use opentelemetry_proto::tonic::collector::{logs, metrics, trace};
            let td = trace::v1::ExportTraceServiceRequest::decode(&t[..]).unwrap();
            let spans_decoded: usize =
                td.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
            assert_eq!(spans(&t), Some(spans_decoded as u64));
            assert_eq!(spans_decoded, batch);
            let ld = logs::v1::ExportLogsServiceRequest::decode(&l[..]).unwrap();
            let logs_decoded: usize =
                ld.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum();
            assert_eq!(log_records(&l), Some(logs_decoded as u64));
            assert_eq!(logs_decoded, batch);
            let md = metrics::v1::ExportMetricsServiceRequest::decode(&m[..]).unwrap();
            use opentelemetry_proto::tonic::metrics::v1::metric::Data;
            let points: usize = md
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| match &m.data {
                    Some(Data::Gauge(g)) => g.data_points.len(),
                    Some(Data::Sum(s)) => s.data_points.len(),
                    Some(Data::Histogram(h)) => h.data_points.len(),
                    _ => 0,
                })
                .sum();
            assert_eq!(data_points(&m), Some(points as u64));
            assert_eq!(points, batch);
        }
    }

    #[test]
    fn malformed_is_none() {
        assert_eq!(spans(&[0x0a, 0x05, 0x01]), None);
        assert_eq!(spans(&[0x0b]), None);
        assert_eq!(spans(&[]), Some(0));
    }
}
