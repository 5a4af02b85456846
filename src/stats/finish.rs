//! From merged partial results to [`TensorStats`]: moments, percentiles, histogram and outliers
//! over an ascending list of value ranges.

use super::accum::Summary;
use super::sample::Window;
use super::{Distribution, Histogram, StatsOptions, TensorStats};
use crate::decode::{CodeOrder, code_value};
use crate::dtype::DType;

/// What the engine gathered for one tensor.
pub(super) enum Gathered {
    /// Counts of every code (non-finite codes included), in code order.
    Codes {
        dtype: DType,
        bits: u32,
        counts: Vec<(u32, u64)>,
    },
    /// The finite values, in tensor order, and the non-finite counts.
    Values {
        values: Vec<f64>,
        nan: u64,
        inf: u64,
    },
    /// Kernel sums (the mean an offset from `shift`) and the counts of every value's f32 key
    /// (non-finite keys included).
    Buckets {
        summary: Summary,
        shift: f64,
        counts: Vec<(u32, u64)>,
    },
    /// Kernel sums as for `Buckets`; the counts are exact outside `window` and a sample inside it
    /// (see `sample`).
    Sampled {
        summary: Summary,
        shift: f64,
        counts: Vec<(u32, u64)>,
        window: Window,
        /// What the keys are.
        keys: Keys,
    },
}

/// `count` finite values somewhere in `[lo, hi]` (`lo == hi`: exactly that value). Counts are
/// whole numbers except for the scaled sample counts of the sampled method.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    lo: f64,
    hi: f64,
    count: f64,
}

/// Neumaier's compensated sum.
#[derive(Default)]
struct Sum {
    sum: f64,
    carry: f64,
}

impl Sum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.carry += (self.sum - t) + x;
        } else {
            self.carry += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.carry
    }
}

/// Counts in key order, rearranged into ascending value order (without sorting).
fn value_order(order: CodeOrder, bits: u32, counts: Vec<(u32, u64)>) -> Vec<(u32, u64)> {
    let sign = 1u32 << (bits - 1);
    let split = counts.partition_point(|&(k, _)| k < sign);
    let (pos, neg) = counts.split_at(split);
    match order {
        CodeOrder::Unsigned => counts,
        CodeOrder::TwosComplement => neg.iter().chain(pos).copied().collect(),
        CodeOrder::SignMagnitude => neg.iter().rev().chain(pos).copied().collect(),
    }
}

/// Finishes the statistics of a tensor of `count` values.
pub(super) fn finish(
    gathered: Gathered,
    count: u64,
    opts: &StatsOptions,
    dead_rows: Option<u64>,
    dead_columns: Option<u64>,
) -> TensorStats {
    let mut nan = 0;
    let mut inf = 0;
    let mut zeros = 0;
    let mut ranges = Vec::new();
    let distribution;
    let moments; // (n, mean, m2, sum of squares)
    let (min, max);
    match gathered {
        Gathered::Codes {
            dtype,
            bits,
            counts,
        } => {
            distribution = Distribution::Exact;
            for (code, c) in value_order(CodeOrder::of(dtype), bits, counts) {
                let v = code_value(dtype, code);
                if v.is_nan() {
                    nan += c;
                } else if v.is_infinite() {
                    inf += c;
                } else {
                    zeros += if v == 0.0 { c } else { 0 };
                    push_point(&mut ranges, v, c);
                }
            }
            moments = exact_moments(&ranges);
            (min, max) = ends(&ranges);
        }
        Gathered::Values {
            mut values,
            nan: n,
            inf: i,
        } => {
            distribution = Distribution::Exact;
            (nan, inf) = (n, i);
            values.sort_unstable_by(f64::total_cmp);
            for v in values {
                zeros += u64::from(v == 0.0);
                push_point(&mut ranges, v, 1);
            }
            moments = exact_moments(&ranges);
            (min, max) = ends(&ranges);
        }
        Gathered::Buckets {
            summary,
            shift,
            counts,
        } => {
            distribution = Distribution::Buckets;
            (nan, inf, zeros) = (summary.nan, summary.inf, summary.zeros);
            moments = kernel_moments(&summary, shift);
            (min, max) = (summary.min, summary.max);
            if summary.moments.n > 0 {
                ranges = bucket_ranges(counts, min, max, Keys::F32, |_| 1.0);
            }
        }
        Gathered::Sampled {
            summary,
            shift,
            counts,
            window,
            keys,
        } => {
            distribution = Distribution::Sampled;
            (nan, inf, zeros) = (summary.nan, summary.inf, summary.zeros);
            moments = kernel_moments(&summary, shift);
            (min, max) = (summary.min, summary.max);
            if summary.moments.n > 0 {
                ranges = sampled_ranges(counts, window, keys, summary.moments.n, min, max);
            }
        }
    }
    let (n, mean, m2, sumsq) = moments;
    debug_assert!(
        (ranges.iter().map(|r| r.count).sum::<f64>() - n as f64).abs() < 1e-6 * n as f64 + 1e-9
    );
    let finite = count - nan - inf;
    let has = n > 0;
    let std = (m2 / n as f64).sqrt();
    let percentile = |p: f64| has.then(|| percentile(&ranges, n, p, min, max));
    let outliers = if has {
        outliers(&ranges, mean, opts.outlier_sigmas * std)
    } else {
        0
    };
    TensorStats {
        count,
        finite,
        mean: has.then_some(mean),
        std: has.then_some(std),
        // `+ 0.0` turns a negative zero into zero.
        min: has.then_some(min + 0.0),
        max: has.then_some(max + 0.0),
        abs_max: has.then_some(min.abs().max(max.abs())),
        l2_norm: has.then_some(sumsq.sqrt()),
        zeros,
        nan,
        inf,
        p1: percentile(1.0),
        p50: percentile(50.0),
        p99: percentile(99.0),
        histogram: has.then(|| histogram(&ranges, min, max, opts.histogram_bins.max(1))),
        outliers,
        outlier_sigmas: opts.outlier_sigmas,
        exact_distribution: distribution == Distribution::Exact,
        distribution,
        dead_rows,
        dead_columns,
    }
}

/// (n, mean, M2, Σx²) from kernel sums whose mean is an offset from `shift`.
fn kernel_moments(summary: &Summary, shift: f64) -> (u64, f64, f64, f64) {
    let m = summary.moments;
    let mean = shift + m.mean;
    (m.n, mean, m.m2, m.m2 + mean * mean * m.n as f64)
}

/// The value range of the finite values under 16-bit f32 key `key` (in ascending order).
fn bucket(key: u32) -> (f64, f64) {
    let (a, b) = (
        f64::from(f32::from_bits(key << 16)),
        f64::from(f32::from_bits(key << 16 | 0xFFFF)),
    );
    if a <= b { (a, b) } else { (b, a) }
}

/// What the 16-bit keys of bucketed or sampled counts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keys {
    /// An f32's top 16 bits: a bucket of values 2^-7 wide.
    F32,
    /// A BF16 code: one value (the same as its f32 key).
    Bf16,
    /// An F16 code: one value.
    F16,
}

impl Keys {
    /// NaN and Inf: the all-ones exponent (counted by the kernel, not from keys).
    fn non_finite(self, key: u32) -> bool {
        match self {
            Keys::F32 | Keys::Bf16 => key & 0x7F80 == 0x7F80,
            Keys::F16 => key & 0x7C00 == 0x7C00,
        }
    }

    /// The values of a key, ascending.
    fn range(self, key: u32) -> (f64, f64) {
        match self {
            // The bucket of ±0 also holds the subnormals below 9.2e-41: taken as zeros, so that a
            // percentile among a tensor's zeros is 0, not a subnormal spread over the bucket (a
            // GGUF's quantised weights gave p50 = 3.5e-41); a subnormal is at most 9.2e-41 off.
            Keys::F32 if key & 0x7FFF == 0 => (0.0, 0.0),
            Keys::F32 => bucket(key),
            Keys::Bf16 => {
                let v = f64::from(f32::from_bits(key << 16));
                (v, v)
            }
            Keys::F16 => {
                let v = f64::from(half::f16::from_bits(key as u16).to_f32());
                (v, v)
            }
        }
    }

    /// Whether a key's values are central in `window`.
    fn central(self, window: &Window, key: u32) -> bool {
        match self {
            Keys::F32 | Keys::Bf16 => window.central_key(key),
            Keys::F16 => {
                let o = super::lanes::ord16(key as u16);
                window.codes.0 <= o && o <= window.codes.1
            }
        }
    }
}

/// Ranges of the finite keys among `counts` (in key order), each count times `weight(key)` (keys
/// of weight 0 are left out), clamped to `[min, max]`; the extreme ranges end at the exact extremes
/// (this also covers f64 values beyond the f32 range, kept in the largest finite bucket).
fn bucket_ranges(
    counts: Vec<(u32, u64)>,
    min: f64,
    max: f64,
    keys: Keys,
    weight: impl Fn(u32) -> f64,
) -> Vec<Range> {
    let mut ranges: Vec<Range> = value_order(CodeOrder::SignMagnitude, 16, counts)
        .into_iter()
        .filter(|&(key, _)| !keys.non_finite(key) && weight(key) > 0.0)
        .map(|(key, c)| {
            let (lo, hi) = keys.range(key);
            Range {
                lo: lo.clamp(min, max),
                hi: hi.clamp(min, max),
                count: c as f64 * weight(key),
            }
        })
        .collect();
    set_ends(&mut ranges, min, max);
    ranges
}

fn set_ends(ranges: &mut [Range], min: f64, max: f64) {
    if let Some(r) = ranges.first_mut() {
        r.lo = min;
    }
    if let Some(r) = ranges.last_mut() {
        r.hi = max;
    }
}

/// Ranges of a sampled tensor of `n` finite values: tail buckets with their exact counts, central
/// buckets with their sample counts scaled to the exact number of central values.
fn sampled_ranges(
    counts: Vec<(u32, u64)>,
    window: Window,
    keys: Keys,
    n: u64,
    min: f64,
    max: f64,
) -> Vec<Range> {
    let (mut tails, mut sampled) = (0u64, 0u64);
    for &(k, c) in &counts {
        if keys.non_finite(k) {
            continue;
        }
        if keys.central(&window, k) {
            sampled += c;
        } else {
            tails += c;
        }
    }
    let central = n.saturating_sub(tails);
    let scale = if sampled > 0 {
        central as f64 / sampled as f64
    } else {
        0.0
    };
    let mut ranges = bucket_ranges(counts, min, max, keys, |k| {
        if keys.central(&window, k) { scale } else { 1.0 }
    });
    if sampled == 0 && central > 0 {
        // Central values, none of them sampled (possible only for a handful of values).
        ranges.push(Range {
            lo: f64::from(window.lo).clamp(min, max),
            hi: f64::from(window.hi).clamp(min, max),
            count: central as f64,
        });
        ranges.sort_by(|a, b| a.lo.total_cmp(&b.lo));
        set_ends(&mut ranges, min, max);
    }
    ranges
}

fn push_point(ranges: &mut Vec<Range>, v: f64, c: u64) {
    match ranges.last_mut() {
        Some(r) if r.lo == v => r.count += c as f64, // -0 and +0 fold together
        _ => ranges.push(Range {
            lo: v,
            hi: v,
            count: c as f64,
        }),
    }
}

fn ends(ranges: &[Range]) -> (f64, f64) {
    match (ranges.first(), ranges.last()) {
        (Some(a), Some(b)) => (a.lo, b.hi),
        _ => (f64::INFINITY, f64::NEG_INFINITY),
    }
}

/// (n, mean, M2, Σx²) of exact points, with compensated sums.
fn exact_moments(points: &[Range]) -> (u64, f64, f64, f64) {
    let n = points.iter().map(|r| r.count).sum::<f64>() as u64;
    if n == 0 {
        return (0, 0.0, 0.0, 0.0);
    }
    let mut sum = Sum::default();
    let mut sumsq = Sum::default();
    for r in points {
        let c = r.count;
        sum.add(c * r.lo);
        sumsq.add(c * r.lo * r.lo);
    }
    let mean = sum.value() / n as f64;
    let mut m2 = Sum::default();
    for r in points {
        let d = r.lo - mean;
        m2.add(r.count * d * d);
    }
    (n, mean, m2.value(), sumsq.value())
}

/// The value of rank `rank` (0-based) among the `n` values of `ranges`. Inside a range of several
/// values, values are taken as spread evenly; the first and last ranks are the exact extremes.
fn order_statistic(ranges: &[Range], n: u64, rank: u64, min: f64, max: f64) -> f64 {
    if rank == 0 {
        return min;
    }
    if rank + 1 >= n {
        return max;
    }
    let rank = rank as f64;
    let mut before = 0.0;
    for r in ranges {
        if rank < before + r.count {
            if r.lo == r.hi {
                return r.lo;
            }
            let j = rank - before;
            return (r.lo + (r.hi - r.lo) * ((j + 0.5) / r.count)).min(r.hi);
        }
        before += r.count;
    }
    max
}

/// numpy's default percentile (method "linear"): the order statistics around `(n - 1)·p/100`,
/// interpolated as numpy's `_lerp` does.
fn percentile(ranges: &[Range], n: u64, p: f64, min: f64, max: f64) -> f64 {
    let virtual_index = (n - 1) as f64 * (p / 100.0);
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    let lo_rank = below as u64;
    let hi_rank = (lo_rank + 1).min(n - 1);
    let a = order_statistic(ranges, n, lo_rank, min, max);
    let b = order_statistic(ranges, n, hi_rank, min, max);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Bins as `numpy.histogram(values, bins, range=(lo, hi))` assigns them. Each range goes whole to
/// the bin of its midpoint.
fn histogram(ranges: &[Range], lo: f64, hi: f64, bins: usize) -> Histogram {
    let mut counts = vec![0f64; bins];
    if lo == hi {
        counts[0] = ranges.iter().map(|r| r.count).sum();
        return Histogram {
            lo,
            hi,
            counts: whole_counts(&counts),
        };
    }
    // numpy.linspace(lo, hi, bins + 1).
    let step = (hi - lo) / bins as f64;
    let edge = |i: usize| {
        if i == bins {
            hi
        } else if step == 0.0 {
            i as f64 / bins as f64 * (hi - lo) + lo
        } else {
            i as f64 * step + lo
        }
    };
    for r in ranges {
        let x = if r.lo == r.hi {
            r.lo
        } else {
            r.lo + (r.hi - r.lo) / 2.0
        };
        let f = (x - lo) / (hi - lo) * bins as f64;
        let mut i = (f.max(0.0) as usize).min(bins - 1);
        if x < edge(i) && i > 0 {
            i -= 1;
        } else if i + 1 < bins && x >= edge(i + 1) {
            i += 1;
        }
        counts[i] += r.count;
    }
    Histogram {
        lo,
        hi,
        counts: whole_counts(&counts),
    }
}

/// Rounds bin counts to whole numbers that add up to their rounded total: each bin gets its
/// floor, and the units left over go to the largest remainders (the first bin among equals).
/// Whole-number counts are returned as they are.
fn whole_counts(counts: &[f64]) -> Vec<u64> {
    let total = counts.iter().sum::<f64>().round() as u64;
    let mut out: Vec<u64> = counts.iter().map(|c| c.floor() as u64).collect();
    let mut left = total.saturating_sub(out.iter().sum());
    if left > 0 {
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by(|&a, &b| {
            let (fa, fb) = (counts[a] - counts[a].floor(), counts[b] - counts[b].floor());
            fb.total_cmp(&fa).then(a.cmp(&b))
        });
        for i in order {
            if left == 0 {
                break;
            }
            out[i] += 1;
            left -= 1;
        }
    }
    out
}

/// Values farther than `threshold` from `mean`; a range straddling the threshold counts in
/// proportion to the part of it beyond.
fn outliers(ranges: &[Range], mean: f64, threshold: f64) -> u64 {
    let (below, above) = (mean - threshold, mean + threshold);
    let mut total = 0.0f64;
    for r in ranges {
        if r.lo == r.hi {
            if (r.lo - mean).abs() > threshold {
                total += r.count;
            }
        } else if r.hi < below || r.lo > above {
            total += r.count;
        } else {
            let outside = (below - r.lo).max(0.0) + (r.hi - above).max(0.0);
            total += outside / (r.hi - r.lo) * r.count;
        }
    }
    total.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[f64]) -> TensorStats {
        let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        let nan = v.iter().filter(|x| x.is_nan()).count() as u64;
        let inf = v.iter().filter(|x| x.is_infinite()).count() as u64;
        let g = Gathered::Values {
            values: finite,
            nan,
            inf,
        };
        finish(g, v.len() as u64, &StatsOptions::default(), None, None)
    }

    /// Expected values computed by hand (and with numpy: `np.percentile`, `np.histogram`).
    #[test]
    fn exact_values_like_numpy() {
        let s = values(&[3.0, -1.0, f64::NAN, 0.0, 2.0, f64::INFINITY, -0.0, 5.0]);
        assert_eq!((s.count, s.finite, s.nan, s.inf, s.zeros), (8, 6, 1, 1, 2));
        assert_eq!(s.mean, Some(1.5));
        // population variance of [3,-1,0,2,0,5]: Σ(x-1.5)² = 2.25+6.25+2.25+0.25+2.25+12.25 = 25.5
        assert_eq!(s.std, Some((25.5f64 / 6.0).sqrt()));
        assert_eq!(
            (s.min, s.max, s.abs_max),
            (Some(-1.0), Some(5.0), Some(5.0))
        );
        assert_eq!(s.l2_norm, Some(39f64.sqrt()));
        // sorted [-1,0,0,2,3,5]: p50 at 2.5 -> 0 + 0.5*2 = 1; p1 at 0.05 -> -1 + 0.05 = -0.95;
        // p99 at 4.95 -> b - (b-a)(1-0.95) = 5 - 2*0.05 = 4.9
        assert_eq!(s.p50, Some(1.0));
        assert_eq!(s.p1, Some(-0.95));
        assert_eq!(s.p99, Some(4.9));
        assert!(s.exact_distribution);
        // np.histogram([-1,0,0,2,3,5], bins=64): bin width 6/64; 2 -> bin 32, 3 -> bin 42, 5 -> 63
        let h = s.histogram.unwrap();
        assert_eq!((h.lo, h.hi, h.counts.len()), (-1.0, 5.0, 64));
        let nonzero: Vec<(usize, u64)> = h
            .counts
            .iter()
            .copied()
            .enumerate()
            .filter(|c| c.1 > 0)
            .collect();
        assert_eq!(nonzero, vec![(0, 1), (10, 2), (32, 1), (42, 1), (63, 1)]);
    }

    #[test]
    fn no_finite_values() {
        let s = values(&[f64::NAN, f64::NEG_INFINITY]);
        assert_eq!((s.count, s.finite, s.nan, s.inf), (2, 0, 1, 1));
        assert!(
            s.mean.is_none() && s.l2_norm.is_none() && s.p50.is_none() && s.histogram.is_none()
        );
        let s = values(&[]);
        assert_eq!((s.count, s.finite), (0, 0));
        assert!(s.min.is_none());
    }

    #[test]
    fn constant_values_fill_the_first_bin() {
        let s = values(&[0.125; 10]);
        assert_eq!(
            (s.mean, s.std, s.p1, s.p99),
            (Some(0.125), Some(0.0), Some(0.125), Some(0.125))
        );
        let h = s.histogram.unwrap();
        assert_eq!((h.lo, h.hi, h.counts[0]), (0.125, 0.125, 10));
        assert_eq!(s.outliers, 0);
    }

    #[test]
    fn outliers_beyond_the_threshold() {
        let mut v = vec![0.0; 1000];
        for (i, x) in v.iter_mut().enumerate() {
            *x = if i % 2 == 0 { 1.0 } else { -1.0 };
        }
        v[0] = 100.0;
        let s = values(&v);
        // mean ≈ 0.099, std ≈ 3.31: only the 100 is beyond 6 std.
        assert_eq!(s.outliers, 1);
    }

    #[test]
    fn codes_in_value_order() {
        // I8 codes 0xFF (-1) x2, 0x01 (1) x1, 0x80 (-128) x1
        let g = Gathered::Codes {
            dtype: DType::I8,
            bits: 8,
            counts: vec![(0x01, 1), (0x80, 1), (0xFF, 2)],
        };
        let s = finish(g, 4, &StatsOptions::default(), None, None);
        assert_eq!((s.min, s.max, s.p50), (Some(-128.0), Some(1.0), Some(-1.0)));
        assert_eq!(s.mean, Some(-129.0 / 4.0));
        // BF16 codes: 0x8000 (-0), 0xBF80 (-1), 0x3F80 (1), 0x7FC0 (NaN), 0xFF80 (-inf)
        let g = Gathered::Codes {
            dtype: DType::BF16,
            bits: 16,
            counts: vec![
                (0x3F80, 1),
                (0x7FC0, 1),
                (0x8000, 2),
                (0xBF80, 1),
                (0xFF80, 1),
            ],
        };
        let s = finish(g, 6, &StatsOptions::default(), None, None);
        assert_eq!((s.finite, s.nan, s.inf, s.zeros), (4, 1, 1, 2));
        assert_eq!(
            (s.min, s.max, s.p50, s.mean),
            (Some(-1.0), Some(1.0), Some(0.0), Some(0.0))
        );
    }
}
