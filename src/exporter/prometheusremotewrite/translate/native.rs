//! Exponential histograms → Prometheus native histograms (histograms.go
//! `exponentialToNativeHistogram`, `convertBucketsLayout`).

use super::{ms, FLAG_NO_RECORDED_VALUE, STALE_NAN};
use crate::proto::prometheus::{histogram, BucketSpan, Histogram};
use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;

/// Exponential histogram → native histogram (schema = scale, down-scaled to 8 at most).
pub fn native_histogram(p: &ExponentialHistogramDataPoint) -> Result<Histogram, String> {
    if p.scale < -4 {
        return Err(format!("cannot convert exponential to native histogram: scale must be >= -4, was {}", p.scale));
    }
    let scale_down = (p.scale - 8).max(0);
    let schema = p.scale - scale_down;
    let (pos_spans, pos_deltas) =
        p.positive.as_ref().map(|b| spans(b.offset, &b.bucket_counts, scale_down)).unwrap_or_default();
    let (neg_spans, neg_deltas) =
        p.negative.as_ref().map(|b| spans(b.offset, &b.bucket_counts, scale_down)).unwrap_or_default();
    let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
    Ok(Histogram {
        count: Some(histogram::Count::CountInt(if stale { STALE_NAN } else { p.count })),
        sum: if stale { f64::from_bits(STALE_NAN) } else { p.sum.unwrap_or(0.0) },
        schema,
        zero_threshold: p.zero_threshold,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(p.zero_count)),
        negative_spans: neg_spans,
        negative_deltas: neg_deltas,
        positive_spans: pos_spans,
        positive_deltas: pos_deltas,
        reset_hint: histogram::ResetHint::Unknown as i32,
        timestamp: ms(p.time_unix_nano),
        ..Default::default()
    })
}

/// OTel buckets (index i covers (base^i, base^(i+1)]) → Prometheus spans and count deltas
/// (index i+1). Gaps of up to two empty buckets stay inside a span, longer ones start a new span.
pub(super) fn spans(offset: i32, counts: &[u64], scale_down: i32) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut merged: Vec<(i32, u64)> = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let idx = (offset + i as i32) >> scale_down;
        match merged.last_mut() {
            Some((last, n)) if *last == idx => *n += c,
            _ => merged.push((idx, *c)),
        }
    }
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut prev_count = 0i64;
    let mut next_idx: Option<i32> = None; // Prometheus index after the last one written
    for (idx, c) in merged.into_iter().filter(|(_, c)| *c > 0) {
        let pidx = idx + 1;
        match next_idx {
            Some(n) if pidx - n <= 2 => {
                // Fill the small gap with empty buckets in the current span.
                for _ in n..pidx {
                    deltas.push(-prev_count);
                    prev_count = 0;
                }
                if let Some(s) = spans.last_mut() {
                    s.length += (pidx - n) as u32 + 1;
                }
            }
            Some(n) => spans.push(BucketSpan { offset: pidx - n, length: 1 }),
            None => spans.push(BucketSpan { offset: pidx, length: 1 }),
        }
        deltas.push(c as i64 - prev_count);
        prev_count = c as i64;
        next_idx = Some(pidx + 1);
    }
    (spans, deltas)
}
