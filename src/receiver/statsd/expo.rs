//! The auto-scaling exponential histogram the statsd receiver's `observer_type: histogram`
//! fills (Go: github.com/lightstep/go-expohisto `structure.Histogram[float64]` with its
//! `mapping/logarithm` and `mapping/exponent` index functions): it starts at scale 20 and
//! halves its resolution whenever one side's buckets would span more than `max_size` indexes.

/// go-expohisto structure.DefaultMaxSize, MinSize, MaximumMaxSize.
pub const DEFAULT_MAX_SIZE: i32 = 160;
pub const MIN_SIZE: i32 = 2;
pub const MAXIMUM_MAX_SIZE: i32 = 16384;
/// logarithm.MaxScale and exponent.MinScale.
pub const MAX_SCALE: i32 = 20;
pub const MIN_SCALE: i32 = -10;

const SIGNIFICAND_WIDTH: u32 = 52;
const SIGNIFICAND_MASK: u64 = (1 << SIGNIFICAND_WIDTH) - 1;
const EXPONENT_BIAS: i32 = 1023;
const MIN_NORMAL_EXPONENT: i32 = -EXPONENT_BIAS + 1;
const MAX_NORMAL_EXPONENT: i32 = EXPONENT_BIAS;
/// The smallest normal float64, 0x1p-1022.
const MIN_VALUE: f64 = f64::MIN_POSITIVE;

/// internal.GetNormalBase2: the unbiased exponent bits.
fn normal_base2(v: f64) -> i32 {
    ((v.to_bits() >> SIGNIFICAND_WIDTH) & 0x7ff) as i32 - EXPONENT_BIAS
}

fn significand(v: f64) -> u64 {
    v.to_bits() & SIGNIFICAND_MASK
}

/// mapping.MapToIndex for a positive, finite, non-zero `v`: bucket `i` holds (base^i, base^(i+1)].
pub fn map_to_index(v: f64, scale: i32) -> i32 {
    if scale > 0 {
        // logarithm.go
        if v <= MIN_VALUE {
            return (MIN_NORMAL_EXPONENT << scale) - 1;
        }
        if significand(v) == 0 {
            return (normal_base2(v) << scale) - 1;
        }
        let factor = std::f64::consts::LOG2_E * 2f64.powi(scale);
        let index = (v.ln() * factor).floor() as i32;
        let max = ((MAX_NORMAL_EXPONENT + 1) << scale) - 1;
        index.min(max)
    } else {
        // exponent.go
        let shift = -scale;
        if v < MIN_VALUE {
            let idx = MIN_NORMAL_EXPONENT >> shift;
            return if shift < 2 { idx - 1 } else { idx };
        }
        // An exact power of two belongs to the bucket below: a correction of -1.
        let correction = if significand(v) == 0 { -1 } else { 0 };
        (normal_base2(v) + correction) >> shift
    }
}

/// One side's buckets: `counts[i]` is the bucket at index `start + i`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub start: i32,
    pub counts: Vec<u64>,
}

impl Buckets {
    fn end(&self) -> i32 {
        self.start + self.counts.len() as i32 - 1
    }

    /// incrementIndexBy's range check: `Some((low, high))` when `index` would make the span
    /// reach `max_size` (a rescale is needed).
    fn overflow(&self, index: i32, max_size: i32) -> Option<(i32, i32)> {
        if self.counts.is_empty() {
            return None;
        }
        let end = self.end();
        if index < self.start && end - index >= max_size {
            return Some((index, end));
        }
        if index > end && index - self.start >= max_size {
            return Some((self.start, index));
        }
        None
    }

    /// incrementIndexBy: `Err((low, high))` when `index` would make the span reach `max_size`.
    fn increment(&mut self, index: i32, incr: u64, max_size: i32) -> Result<(), (i32, i32)> {
        if self.counts.is_empty() {
            self.start = index;
            self.counts.push(incr);
            return Ok(());
        }
        let end = self.end();
        if index < self.start {
            if end - index >= max_size {
                return Err((index, end));
            }
            let grow = (self.start - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.start = index;
        } else if index > end {
            if index - self.start >= max_size {
                return Err((self.start, index));
            }
            self.counts.resize((index - self.start + 1) as usize, 0);
        }
        let pos = (index - self.start) as usize;
        if let Some(c) = self.counts.get_mut(pos) {
            *c = c.saturating_add(incr);
        }
        Ok(())
    }

    /// Buckets.downscale: merges each run of 2^by buckets (index >> by).
    fn downscale(&mut self, by: i32) {
        if self.counts.is_empty() {
            self.start >>= by;
            return;
        }
        let new_start = self.start >> by;
        let new_end = self.end() >> by;
        let mut out = vec![0u64; (new_end - new_start + 1) as usize];
        for (i, c) in self.counts.iter().enumerate() {
            let idx = (self.start + i as i32) >> by;
            if let Some(o) = out.get_mut((idx - new_start) as usize) {
                *o = o.saturating_add(*c);
            }
        }
        self.start = new_start;
        self.counts = out;
    }
}

/// structure.Histogram[float64].
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    max_size: i32,
    scale: i32,
    pub sum: f64,
    pub count: u64,
    pub zero_count: u64,
    pub min: f64,
    pub max: f64,
    pub positive: Buckets,
    pub negative: Buckets,
}

/// changeScale: how many halvings make `high - low` fit in `size`.
fn change_scale(mut low: i32, mut high: i32, size: i32) -> i32 {
    let mut change = 0;
    while high - low >= size {
        high >>= 1;
        low >>= 1;
        change += 1;
    }
    change
}

impl Histogram {
    /// Histogram.Init with structure.NewConfig(WithMaxSize(n)) when n >= MinSize, else the
    /// default size; `max_scale` is the starting (and largest) scale.
    pub fn new(max_size: i32, max_scale: i32) -> Histogram {
        let max_size = if max_size >= MIN_SIZE { max_size.min(MAXIMUM_MAX_SIZE) } else { DEFAULT_MAX_SIZE };
        Histogram {
            max_size,
            scale: max_scale.clamp(MIN_SCALE, MAX_SCALE),
            sum: 0.0,
            count: 0,
            zero_count: 0,
            min: 0.0,
            max: 0.0,
            positive: Buckets::default(),
            negative: Buckets::default(),
        }
    }

    /// Histogram.Scale: 0 while only zeros were seen.
    pub fn scale(&self) -> i32 {
        if self.count == self.zero_count {
            0
        } else {
            self.scale
        }
    }

    /// UpdateByIncr. Returns false (nothing recorded) only when no scale down to MinScale can
    /// hold the value (Go panics there).
    pub fn update(&mut self, value: f64, incr: u64) -> bool {
        if incr == 0 {
            return true;
        }
        if value != 0.0 {
            let side = if value > 0.0 { &self.positive } else { &self.negative };
            let index = map_to_index(value.abs(), self.scale);
            if let Some((low, high)) = side.overflow(index, self.max_size) {
                let change = change_scale(low, high, self.max_size);
                if self.scale - change < MIN_SCALE {
                    return false;
                }
                self.positive.downscale(change);
                self.negative.downscale(change);
                self.scale -= change;
            }
            let index = map_to_index(value.abs(), self.scale);
            let side = if value > 0.0 { &mut self.positive } else { &mut self.negative };
            if side.increment(index, incr, self.max_size).is_err() {
                return false;
            }
        }
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count = self.count.saturating_add(incr);
        if value == 0.0 {
            self.zero_count = self.zero_count.saturating_add(incr);
        } else {
            self.sum += value * incr as f64;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(values: &[(f64, u64)]) -> Histogram {
        let mut h = Histogram::new(10, MAX_SCALE);
        for (v, n) in values {
            assert!(h.update(*v, *n));
        }
        h
    }

    // Go TestStatsDParser_AggregateTimerWithHistogram "basic": max_size 10, 2^0..2^9 → scale 0.
    #[test]
    fn go_basic() {
        let vals: Vec<(f64, u64)> =
            [0.0, 1.5, 2.5, 4.5, 8.5, 16.5, 32.5, 64.5, 128.5, 256.5, 512.5].iter().map(|v| (*v, 1)).collect();
        let h = run(&vals);
        assert_eq!((h.count, h.sum, h.min, h.max, h.zero_count, h.scale()), (11, 1028.0, 0.0, 512.5, 1, 0));
        assert_eq!(h.positive, Buckets { start: 0, counts: vec![1; 10] });
        let neg: Vec<(f64, u64)> = vals.iter().map(|(v, n)| (-v, *n)).collect();
        let h = run(&neg);
        assert_eq!((h.count, h.sum, h.min, h.max, h.zero_count, h.scale()), (11, -1028.0, -512.5, 0.0, 1, 0));
        assert_eq!(h.negative, Buckets { start: 0, counts: vec![1; 10] });
        assert!(h.positive.counts.is_empty());
    }

    // "halffull"
    #[test]
    fn go_halffull() {
        let h = run(&[(1.5, 1), (4.5, 1), (16.5, 1), (64.5, 1), (512.5, 1)]);
        assert_eq!((h.count, h.sum, h.min, h.max, h.zero_count, h.scale()), (5, 599.5, 1.5, 512.5, 0, 0));
        assert_eq!(h.positive, Buckets { start: 0, counts: vec![1, 0, 1, 0, 1, 0, 1, 0, 0, 1] });
    }

    // "one_each", "all_zeros", "sampled"
    #[test]
    fn go_one_each_zeros_sampled() {
        let h = run(&[(1.0, 1), (0.0, 1), (-1.0, 1)]);
        assert_eq!((h.count, h.sum, h.min, h.max, h.zero_count, h.scale()), (3, 0.0, -1.0, 1.0, 1, MAX_SCALE));
        assert_eq!(h.positive, Buckets { start: -1, counts: vec![1] });
        assert_eq!(h.negative, Buckets { start: -1, counts: vec![1] });
        let h = run(&[(0.0, 1), (0.0, 1), (0.0, 1), (0.0, 1)]);
        assert_eq!((h.count, h.sum, h.zero_count, h.scale()), (4, 0.0, 4, 0));
        let h = run(&[(1.0, 8), (0.0, 4), (-1.0, 2)]);
        assert_eq!((h.count, h.sum, h.min, h.max, h.zero_count, h.scale()), (14, 6.0, -1.0, 1.0, 4, MAX_SCALE));
        assert_eq!(h.positive, Buckets { start: -1, counts: vec![8] });
        assert_eq!(h.negative, Buckets { start: -1, counts: vec![2] });
    }

    // go-expohisto mapping tests: exact powers of two fall in the bucket below.
    #[test]
    fn index_functions() {
        assert_eq!(map_to_index(1.0, 0), -1);
        assert_eq!(map_to_index(2.0, 0), 0);
        assert_eq!(map_to_index(3.0, 0), 1);
        assert_eq!(map_to_index(4.0, -1), 0);
        assert_eq!(map_to_index(5.0, -1), 1);
        assert_eq!(map_to_index(1.0, 1), -1);
        assert_eq!(map_to_index(1.5, 1), 1);
        assert_eq!(map_to_index(f64::MAX, 20), ((MAX_NORMAL_EXPONENT + 1) << 20) - 1);
        assert_eq!(map_to_index(f64::MIN_POSITIVE / 2.0, 0), MIN_NORMAL_EXPONENT - 1);
    }
}
