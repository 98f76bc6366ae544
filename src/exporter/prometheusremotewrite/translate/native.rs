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

/// `v >> n` as Go computes it: a shift by 32 or more gives 0 or -1, not a panic.
fn shr(v: i32, n: i32) -> i32 {
    u32::try_from(n).ok().and_then(|n| v.checked_shr(n)).unwrap_or(if v < 0 { -1 } else { 0 })
}

/// OTel buckets (index i covers (base^i, base^(i+1)]) → Prometheus spans and count deltas
/// (index i+1). Gaps of up to two empty buckets stay inside a span, longer ones start a new span.
pub(super) fn spans(offset: i32, counts: &[u64], scale_down: i32) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut merged: Vec<(i32, u64)> = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        // Go's int32/uint64 arithmetic wraps (an offset near the int32 limit, counts near
        // uint64's); so does this, instead of panicking. Found by tests/fuzz.rs.
        let idx = shr(offset.wrapping_add(i as i32), scale_down);
        match merged.last_mut() {
            Some((last, n)) if *last == idx => *n = n.wrapping_add(*c),
            _ => merged.push((idx, *c)),
        }
    }
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let mut prev_count = 0i64;
    let mut next_idx: Option<i32> = None; // Prometheus index after the last one written
    for (idx, c) in merged.into_iter().filter(|(_, c)| *c > 0) {
        let pidx = idx.wrapping_add(1);
        match next_idx {
            Some(n) if pidx.wrapping_sub(n) <= 2 => {
                // Fill the small gap with empty buckets in the current span.
                for _ in n..pidx {
                    deltas.push(-prev_count);
                    prev_count = 0;
                }
                if let Some(s) = spans.last_mut() {
                    s.length = s.length.wrapping_add(pidx.wrapping_sub(n) as u32).wrapping_add(1);
                }
            }
            Some(n) => spans.push(BucketSpan { offset: pidx.wrapping_sub(n), length: 1 }),
            None => spans.push(BucketSpan { offset: pidx, length: 1 }),
        }
        deltas.push((c as i64).wrapping_sub(prev_count));
        prev_count = c as i64;
        next_idx = Some(pidx.wrapping_add(1));
    }
    (spans, deltas)
}

#[cfg(test)]
mod shift_tests {
    #[test]
    fn shifts_beyond_the_width_are_go_s() {
        assert_eq!(super::shr(-5, 40), -1);
        assert_eq!(super::shr(5, 40), 0);
        assert_eq!(super::shr(-8, 2), -2);
        // A scale far above 8 and an offset at the int32 edge: no panic.
        // Indexes MAX, MIN, MIN+1 (wrapped) shift down to 0, -1, -1: two merged buckets.
        let (s, d) = super::spans(i32::MAX, &[1, 2, 3], 100);
        assert_eq!(d, vec![1, 4]);
        assert_eq!(s.len(), 1);
    }
}
