//! From grouped samples to OTLP points and attributes (Go: metricfamily.go toNumberDataPoint,
//! toHistogramDataPoint, toSummaryPoint; util.go; prom_to_otlp.go).

use super::*;

/// transaction.go getScopeWithAttributes.
pub(super) fn scope_of(ls: &Labels) -> ScopeKey {
    let mut s = ScopeKey::default();
    for (k, v) in ls.iter() {
        match k {
            "otel_scope_name" => s.name = v.to_string(),
            "otel_scope_version" => s.version = v.to_string(),
            "otel_scope_schema_url" => s.schema_url = v.to_string(),
            _ => {
                if let Some(a) = k.strip_prefix(SCOPE_PREFIX) {
                    s.attributes.push((a.to_string(), v.to_string()));
                }
            }
        }
    }
    s
}

/// metricfamily.go convertExemplar: `trace_id`/`span_id` become the exemplar's ids.
pub(super) fn convert_exemplar(e: &Exemplar, t: i64) -> OtlpExemplar {
    let mut out = OtlpExemplar {
        time_unix_nano: ms_to_ns(e.timestamp_ms.unwrap_or(t)),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..Default::default()
    };
    for (k, v) in &e.labels {
        match k.to_ascii_lowercase().as_str() {
            "trace_id" if hex_id::<16>(v).is_some() => out.trace_id = hex_id::<16>(v).unwrap_or_default().to_vec(),
            "span_id" if hex_id::<8>(v).is_some() => out.span_id = hex_id::<8>(v).unwrap_or_default().to_vec(),
            _ => out.filtered_attributes.push(kv(k, v)),
        }
    }
    out
}

/// decodeAndCopyToLowerBytes: a longer id keeps its first bytes, a shorter one is left-padded.
pub(super) fn hex_id<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let src = if s.len() > 2 * N { s.get(..2 * N)? } else { s };
    let bytes = hex::decode(src).ok()?;
    out[N - bytes.len()..].copy_from_slice(&bytes);
    Some(out)
}

pub(super) fn ms_to_ns(ms: i64) -> u64 {
    (ms.max(0) as u64).saturating_mul(1_000_000)
}

/// util.go timestampFromFloat64.
pub(super) fn seconds_to_ns(s: f64) -> u64 {
    if !s.is_finite() || s <= 0.0 {
        return 0;
    }
    let secs = s.trunc();
    ((secs as u64).saturating_mul(1_000_000_000)).saturating_add(((s - secs) * 1e9) as u64)
}

pub(super) fn attributes(k: Kind, ls: &Labels) -> Vec<KeyValue> {
    let skip = not_useful(k);
    ls.iter()
        .filter(|(n, v)| !v.is_empty() && !skip.contains(n) && !n.starts_with(SCOPE_PREFIX))
        .map(|(n, v)| kv(n, v))
        .collect()
}

/// pkg/translator/prometheus TrimPromSuffixes (`trim_metric_suffixes`): drops `_total` of a
/// monotonic sum and the unit's words at the end of the name.
pub(super) fn trim_suffixes(name: &str, k: Kind, unit: &str) -> String {
    let mut tokens: Vec<&str> = name.split('_').collect();
    if tokens.len() == 1 {
        return name.to_string();
    }
    if matches!(k, Kind::Sum { monotonic: true }) && tokens.last() == Some(&"total") {
        tokens.pop();
    }
    let unit_tokens: Vec<&str> = unit.split('_').filter(|t| !t.is_empty()).collect();
    if !unit_tokens.is_empty() && tokens.len() > unit_tokens.len() && tokens.ends_with(&unit_tokens) {
        tokens.truncate(tokens.len() - unit_tokens.len());
    }
    tokens.join("_")
}

impl Family {
    /// metricfamily.go appendMetric; `None` when no point came out.
    pub(super) fn into_metric(self, trim: bool) -> Option<Metric> {
        let name = if trim { trim_suffixes(&self.name, self.kind, &self.metadata.unit) } else { self.name.clone() };
        let kind = self.kind;
        let data = match kind {
            Kind::Histogram => {
                let pts: Vec<HistogramDataPoint> = self.order.into_iter().filter_map(histogram_point).collect();
                if pts.is_empty() {
                    return None;
                }
                metric::Data::Histogram(Histogram {
                    data_points: pts,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })
            }
            Kind::Summary => {
                let pts: Vec<SummaryDataPoint> = self.order.into_iter().filter_map(summary_point).collect();
                if pts.is_empty() {
                    return None;
                }
                metric::Data::Summary(Summary { data_points: pts })
            }
            Kind::Sum { monotonic } => {
                let pts: Vec<NumberDataPoint> = self.order.into_iter().map(|g| number_point(g, kind)).collect();
                if pts.is_empty() {
                    return None;
                }
                metric::Data::Sum(Sum {
                    data_points: pts,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: monotonic,
                })
            }
            Kind::Gauge | Kind::Empty => {
                let pts: Vec<NumberDataPoint> = self.order.into_iter().map(|g| number_point(g, kind)).collect();
                if pts.is_empty() {
                    return None;
                }
                metric::Data::Gauge(Gauge { data_points: pts })
            }
        };
        Some(Metric {
            name,
            description: self.metadata.help,
            unit: self.metadata.unit,
            data: Some(data),
            ..Default::default()
        })
    }
}

/// The start time: `_created` when the target sent one, else the point's own time (the
/// start-time adjuster then moves it back to the series' first scrape).
pub(super) fn start_of(g: &Group, ts: u64) -> u64 {
    if g.created_seconds != 0.0 {
        seconds_to_ns(g.created_seconds)
    } else {
        ts
    }
}

pub(super) fn number_point(g: Group, k: Kind) -> NumberDataPoint {
    let ts = ms_to_ns(g.ts);
    let stale = is_stale_nan(g.value);
    NumberDataPoint {
        attributes: attributes(k, &g.ls),
        start_time_unix_nano: if matches!(k, Kind::Sum { .. }) { start_of(&g, ts) } else { 0 },
        time_unix_nano: ts,
        exemplars: g.exemplars.clone(),
        flags: if stale { FLAG_NO_RECORDED_VALUE } else { 0 },
        value: (!stale).then_some(number_data_point::Value::AsDouble(g.value)),
    }
}

/// metricfamily.go toDistributionPoint.
pub(super) fn histogram_point(mut g: Group) -> Option<HistogramDataPoint> {
    if !g.has_count {
        return None;
    }
    g.complex.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut n = g.complex.len() + 1;
    if n > 1 && g.complex[n - 2].0 == f64::INFINITY {
        n -= 1;
    }
    let stale = is_stale_nan(g.sum) || is_stale_nan(g.count);
    let mut bounds = Vec::with_capacity(n - 1);
    let mut counts = Vec::with_capacity(n);
    for i in 0..n - 1 {
        bounds.push(g.complex[i].0);
        let c = if stale {
            0.0
        } else if i > 0 {
            g.complex[i].1 - g.complex[i - 1].1
        } else {
            g.complex[i].1
        };
        counts.push(c as u64);
    }
    let last = if stale {
        0.0
    } else if n > 1 {
        g.count - g.complex[n - 2].1
    } else {
        g.count
    };
    counts.push(last as u64);
    let ts = ms_to_ns(g.ts);
    Some(HistogramDataPoint {
        attributes: attributes(Kind::Histogram, &g.ls),
        start_time_unix_nano: start_of(&g, ts),
        time_unix_nano: ts,
        count: if stale { 0 } else { g.count as u64 },
        sum: (!stale && g.has_sum).then_some(g.sum),
        bucket_counts: counts,
        explicit_bounds: bounds,
        exemplars: g.exemplars.clone(),
        flags: if stale { FLAG_NO_RECORDED_VALUE } else { 0 },
        min: None,
        max: None,
    })
}

/// metricfamily.go toSummaryPoint.
pub(super) fn summary_point(mut g: Group) -> Option<SummaryDataPoint> {
    if !g.has_count {
        return None;
    }
    g.complex.sort_by(|a, b| a.0.total_cmp(&b.0));
    let stale = is_stale_nan(g.sum) || is_stale_nan(g.count);
    let ts = ms_to_ns(g.ts);
    Some(SummaryDataPoint {
        attributes: attributes(Kind::Summary, &g.ls),
        start_time_unix_nano: start_of(&g, ts),
        time_unix_nano: ts,
        count: if stale { 0 } else { g.count as u64 },
        sum: if stale || !g.has_sum { 0.0 } else { g.sum },
        quantile_values: g
            .complex
            .iter()
            .map(|(q, v)| ValueAtQuantile { quantile: *q, value: if stale { 0.0 } else { *v } })
            .collect(),
        flags: if stale { FLAG_NO_RECORDED_VALUE } else { 0 },
    })
}
