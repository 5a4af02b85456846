//! The numbers of one pair of tensors, folded from row chunks of both sides at once.
//!
//! Each chunk decodes the same rows of A and B to f64 (a few MiB at most), folds them into a
//! `PairAccum`, and the chunk accumulators merge in row order, so the result does not depend on
//! the number of threads. Only values finite on both sides enter the sums; NaN and Inf appearing
//! in B where A was finite are counted apart.

use crate::dtype::DType;

/// Octaves of the |Δ| histogram (2^-64 … 2^64) and bins per octave: p99 is the upper edge of its
/// bin, so it overestimates by at most 2^(1/8) − 1 ≈ 9%.
pub(super) const OCTAVES: usize = 128;
pub(super) const BINS_PER_OCTAVE: usize = 8;
pub(super) const BINS: usize = OCTAVES * BINS_PER_OCTAVE + 1;

/// Running sums over the values of one pair.
#[derive(Debug, Clone)]
pub(crate) struct PairAccum {
    pub count: u64,
    /// Values whose f64 bits are equal (or both NaN).
    pub equal: u64,
    /// Finite on both sides: the sums below.
    pub finite: u64,
    pub sum_a: f64,
    pub sum_b: f64,
    pub sum_aa: f64,
    pub sum_bb: f64,
    pub sum_ab: f64,
    pub sum_dd: f64,
    pub max_abs: f64,
    /// |Δ| within half an ulp of the narrower dtype (re-rounding noise).
    pub within_rounding: u64,
    pub nan_introduced: u64,
    pub inf_introduced: u64,
    /// Bin 0 counts |Δ| = 0; bin 1 + i counts |Δ| in the i-th eighth of an octave from 2^-64.
    hist: Vec<u64>,
}

impl PairAccum {
    pub fn new() -> Self {
        PairAccum {
            count: 0,
            equal: 0,
            finite: 0,
            sum_a: 0.0,
            sum_b: 0.0,
            sum_aa: 0.0,
            sum_bb: 0.0,
            sum_ab: 0.0,
            sum_dd: 0.0,
            max_abs: 0.0,
            within_rounding: 0,
            nan_introduced: 0,
            inf_introduced: 0,
            hist: vec![0; BINS],
        }
    }

    /// Folds paired values; `rounding` is the narrower dtype's float layout, if both are floats.
    pub fn add(&mut self, a: &[f64], b: &[f64], rounding: Option<FloatLayout>) {
        debug_assert_eq!(a.len(), b.len());
        match rounding {
            Some(l) => self.fold(a, b, |x, y, ad| ad <= 0.5 * l.ulp(x.abs().max(y.abs()))),
            None => self.fold(a, b, |_, _, _| false),
        }
    }

    /// The hot loop: sums in locals (the histogram would otherwise force every field through
    /// memory), the rare non-finite pair out of line.
    #[inline(always)]
    fn fold(&mut self, a: &[f64], b: &[f64], within: impl Fn(f64, f64, f64) -> bool) {
        let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut sdd) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut max_abs, mut equal, mut finite, mut within_count) =
            (self.max_abs, 0u64, 0u64, 0u64);
        let hist = &mut self.hist;
        let (mut nan_in, mut inf_in) = (0u64, 0u64);
        for (&x, &y) in a.iter().zip(b) {
            equal += u64::from(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
            if !(x.is_finite() && y.is_finite()) {
                if x.is_finite() {
                    nan_in += u64::from(y.is_nan());
                    inf_in += u64::from(!y.is_nan());
                }
                continue;
            }
            let d = y - x;
            let ad = d.abs();
            finite += 1;
            sa += x;
            sb += y;
            saa += x * x;
            sbb += y * y;
            sab += x * y;
            sdd += d * d;
            max_abs = if ad > max_abs { ad } else { max_abs };
            hist[bin_of(ad)] += 1;
            within_count += u64::from(within(x, y, ad));
        }
        self.count += a.len() as u64;
        self.equal += equal;
        self.finite += finite;
        self.sum_a += sa;
        self.sum_b += sb;
        self.sum_aa += saa;
        self.sum_bb += sbb;
        self.sum_ab += sab;
        self.sum_dd += sdd;
        self.max_abs = max_abs;
        self.within_rounding += within_count;
        self.nan_introduced += nan_in;
        self.inf_introduced += inf_in;
    }

    pub fn merge(&mut self, o: &PairAccum) {
        self.count += o.count;
        self.equal += o.equal;
        self.finite += o.finite;
        self.sum_a += o.sum_a;
        self.sum_b += o.sum_b;
        self.sum_aa += o.sum_aa;
        self.sum_bb += o.sum_bb;
        self.sum_ab += o.sum_ab;
        self.sum_dd += o.sum_dd;
        self.max_abs = self.max_abs.max(o.max_abs);
        self.within_rounding += o.within_rounding;
        self.nan_introduced += o.nan_introduced;
        self.inf_introduced += o.inf_introduced;
        self.hist.iter_mut().zip(&o.hist).for_each(|(x, y)| *x += y);
    }

    /// The |Δ| histogram, for the fast fold of `fastfold` to count into.
    pub(super) fn histogram_mut(&mut self) -> &mut [u64] {
        &mut self.hist
    }

    #[cfg(test)]
    pub(super) fn histogram(&self) -> &[u64] {
        &self.hist
    }

    /// The 99th percentile of |Δ| over the finite pairs: the upper edge of its histogram bin. The
    /// histogram may hold sampled counts, each standing for several values (see `fastfold`), so
    /// the rank is taken of its own total.
    pub fn p99_abs(&self) -> Option<f64> {
        if self.finite == 0 {
            return None;
        }
        let total: u64 = self.hist.iter().sum();
        let target = (total as f64 * 0.99).ceil() as u64;
        let mut seen = 0;
        for (i, &c) in self.hist.iter().enumerate() {
            seen += c;
            if seen >= target.max(1) {
                return Some(if i == 0 { 0.0 } else { bin_upper(i) });
            }
        }
        Some(self.max_abs)
    }
}

#[inline(always)]
pub(super) fn bin_of(ad: f64) -> usize {
    // Biased exponent and the top 3 mantissa bits form a monotone index of |Δ| in eighths of an
    // octave; clamped to 2^-64 … 2^64, with 0 alone in bin 0.
    let bits = ad.to_bits();
    let top = (bits >> 49) as i64; // exponent · 8 + 3 mantissa bits (the sign is 0)
    let lowest = (1023 - 64) * BINS_PER_OCTAVE as i64;
    let k = (top - lowest).clamp(0, (OCTAVES * BINS_PER_OCTAVE) as i64 - 1) as usize;
    if ad == 0.0 { 0 } else { 1 + k }
}

fn bin_upper(i: usize) -> f64 {
    let k = i - 1;
    let (octave, sub) = (k / BINS_PER_OCTAVE, k % BINS_PER_OCTAVE);
    2f64.powi(octave as i32 - 64) * (1.0 + (sub + 1) as f64 / BINS_PER_OCTAVE as f64)
}

/// A binary float format: mantissa bits and the exponent of its smallest normal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FloatLayout {
    pub mantissa_bits: i32,
    pub min_exponent: i32,
}

impl FloatLayout {
    /// The layout of a float dtype whose values have a mantissa (not the quantisations, not
    /// `F8_E8M0`, which holds powers of two only).
    pub fn of(dtype: DType) -> Option<FloatLayout> {
        let (m, e) = match dtype {
            DType::F64 => (52, -1022),
            DType::F32 | DType::C64 => (23, -126),
            DType::F16 => (10, -14),
            DType::BF16 => (7, -126),
            DType::F8_E4M3 => (3, -6),
            DType::F8_E5M2 => (2, -14),
            DType::F8_E4M3FNUZ => (3, -7),
            DType::F8_E5M2FNUZ => (2, -15),
            DType::F6_E2M3 => (3, 0),
            DType::F6_E3M2 => (2, -2),
            DType::F4 => (1, 0),
            _ => return None,
        };
        Some(FloatLayout {
            mantissa_bits: m,
            min_exponent: e,
        })
    }

    /// The narrower of two layouts (fewer mantissa bits), when both are floats.
    pub fn narrower(a: DType, b: DType) -> Option<FloatLayout> {
        let (x, y) = (Self::of(a)?, Self::of(b)?);
        Some(if y.mantissa_bits < x.mantissa_bits {
            y
        } else {
            x
        })
    }

    /// The spacing of this format's values around |x| (subnormal spacing below the normal range).
    pub fn ulp(self, x: f64) -> f64 {
        let exp = if x == 0.0 || !x.is_finite() {
            self.min_exponent
        } else {
            (((x.to_bits() >> 52) & 0x7ff) as i32 - 1023).max(self.min_exponent)
        };
        2f64.powi(exp - self.mantissa_bits)
    }

    /// Unit roundoff: the largest relative error of rounding to nearest, 2^-(mantissa bits + 1).
    pub fn unit_roundoff(self) -> f64 {
        2f64.powi(-(self.mantissa_bits + 1))
    }
}

/// What the sums say, as reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PairNumbers {
    /// Values compared (the shared rows of a reshaped pair).
    pub count: u64,
    /// ‖B − A‖ / ‖A‖ over values finite on both sides.
    pub rel_l2: Option<f64>,
    /// 10·log10(‖A‖² / ‖B − A‖²); null when the values are equal.
    pub sqnr_db: Option<f64>,
    pub cosine: Option<f64>,
    pub pearson: Option<f64>,
    pub max_abs: Option<f64>,
    /// Upper edge of the histogram bin holding the 99th percentile of |Δ| (≤ 9% above it).
    pub p99_abs: Option<f64>,
    /// Share of values whose bits are equal.
    pub bit_identical: f64,
    /// Share of values within half an ulp of the narrower dtype; null unless both are floats.
    pub within_rounding: Option<f64>,
    /// Unit roundoff of the narrower dtype: the relative error re-rounding alone can cause.
    pub rounding_floor: Option<f64>,
    pub nan_introduced: u64,
    pub inf_introduced: u64,
    /// ‖B − A‖², kept for the low-rank energy shares.
    #[serde(skip)]
    pub delta_sq: f64,
    /// ‖A‖² / count: the mean square of A, for the rounding floor of singular values.
    #[serde(skip)]
    pub mean_sq_a: f64,
    /// Mean and standard deviation of each side (not in JSON: the TUI shows both tensors side by
    /// side, and these come free from the sums above).
    #[serde(skip)]
    pub sides: SideMoments,
    /// |Δ| per octave, folded from the p99 histogram (not in JSON: the TUI's histogram of Δ).
    #[serde(skip)]
    pub abs_delta: DeltaOctaves,
}

/// Mean and (population) standard deviation of A's and B's values over the pairs finite on both
/// sides; `None` when there are none.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SideMoments {
    pub mean_a: Option<f64>,
    pub std_a: Option<f64>,
    pub mean_b: Option<f64>,
    pub std_b: Option<f64>,
}

/// How |Δ| spreads over orders of magnitude: the counts of the p99 histogram summed per octave.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeltaOctaves {
    /// Pairs with Δ = 0.
    pub zeros: u64,
    /// `counts[i]` holds the |Δ| in [2^(first_exponent + i), 2^(first_exponent + i + 1)).
    pub first_exponent: i32,
    /// From the lowest non-empty octave to the highest (empty when every Δ is 0). The histogram
    /// is clamped to 2^-64 … 2^64, so the end octaves also hold what lies beyond.
    pub counts: Vec<u64>,
}

impl DeltaOctaves {
    fn from_bins(hist: &[u64]) -> DeltaOctaves {
        let mut per_octave = vec![0u64; OCTAVES];
        for (k, &c) in hist.iter().skip(1).enumerate() {
            per_octave[k / BINS_PER_OCTAVE] += c;
        }
        let first = per_octave.iter().position(|&c| c > 0);
        let last = per_octave.iter().rposition(|&c| c > 0);
        let (first_exponent, counts) = match (first, last) {
            (Some(f), Some(l)) => (f as i32 - 64, per_octave[f..=l].to_vec()),
            _ => (0, Vec::new()),
        };
        DeltaOctaves {
            zeros: hist.first().copied().unwrap_or(0),
            first_exponent,
            counts,
        }
    }
}

impl PairNumbers {
    pub(crate) fn from_accum(acc: &PairAccum, rounding: Option<FloatLayout>) -> PairNumbers {
        let n = acc.finite as f64;
        let finite = |x: f64| x.is_finite().then_some(x);
        let rel_l2 = if acc.sum_aa > 0.0 {
            finite((acc.sum_dd / acc.sum_aa).sqrt())
        } else if acc.sum_dd == 0.0 && acc.finite > 0 {
            Some(0.0)
        } else {
            None
        };
        let sqnr_db = (acc.sum_dd > 0.0 && acc.sum_aa > 0.0)
            .then(|| 10.0 * (acc.sum_aa / acc.sum_dd).log10());
        let cosine = (acc.sum_aa > 0.0 && acc.sum_bb > 0.0)
            .then(|| acc.sum_ab / (acc.sum_aa * acc.sum_bb).sqrt())
            .and_then(finite);
        let pearson = (acc.finite > 1)
            .then(|| {
                let (ma, mb) = (acc.sum_a / n, acc.sum_b / n);
                let cov = acc.sum_ab / n - ma * mb;
                let va = acc.sum_aa / n - ma * ma;
                let vb = acc.sum_bb / n - mb * mb;
                (va > 0.0 && vb > 0.0).then(|| (cov / (va * vb).sqrt()).clamp(-1.0, 1.0))
            })
            .flatten();
        let share = |k: u64| {
            if acc.count == 0 {
                1.0
            } else {
                k as f64 / acc.count as f64
            }
        };
        PairNumbers {
            count: acc.count,
            rel_l2,
            sqnr_db,
            cosine,
            pearson,
            max_abs: (acc.finite > 0).then_some(acc.max_abs),
            p99_abs: acc.p99_abs(),
            bit_identical: share(acc.equal),
            within_rounding: rounding.map(|_| {
                if acc.finite == 0 {
                    1.0
                } else {
                    acc.within_rounding as f64 / acc.finite as f64
                }
            }),
            rounding_floor: rounding.map(FloatLayout::unit_roundoff),
            nan_introduced: acc.nan_introduced,
            inf_introduced: acc.inf_introduced,
            delta_sq: acc.sum_dd,
            mean_sq_a: if n > 0.0 { acc.sum_aa / n } else { 0.0 },
            sides: SideMoments {
                mean_a: (n > 0.0).then(|| acc.sum_a / n),
                std_a: (n > 0.0).then(|| population_std(acc.sum_a, acc.sum_aa, n)),
                mean_b: (n > 0.0).then(|| acc.sum_b / n),
                std_b: (n > 0.0).then(|| population_std(acc.sum_b, acc.sum_bb, n)),
            },
            abs_delta: DeltaOctaves::from_bins(&acc.hist),
        }
    }
}

/// √(E[x²] − E[x]²), never negative (the difference of two rounded sums can be).
fn population_std(sum: f64, sum_sq: f64, n: f64) -> f64 {
    let mean = sum / n;
    (sum_sq / n - mean * mean).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_moments_and_delta_octaves_match_a_hand_count() {
        // Δ = 0, 0.5, 0.75, 1, 3: one zero; octave 2^-1 holds 0.5 and 0.75, 2^0 holds 1, 2^1
        // holds 3.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [1.0, 2.5, 3.75, 5.0, 8.0];
        let mut acc = PairAccum::new();
        acc.add(&a, &b, None);
        let n = PairNumbers::from_accum(&acc, None);
        assert_eq!(n.abs_delta.zeros, 1);
        assert_eq!(n.abs_delta.first_exponent, -1);
        assert_eq!(n.abs_delta.counts, vec![2, 1, 1]);
        // A: mean 3, population variance 2; B: mean 4.05, E[b²] = 22.0625.
        assert!((n.sides.mean_a.unwrap() - 3.0).abs() < 1e-15);
        assert!((n.sides.std_a.unwrap() - 2f64.sqrt()).abs() < 1e-15);
        assert!((n.sides.mean_b.unwrap() - 4.05).abs() < 1e-12);
        let var_b: f64 = 22.0625 - 4.05 * 4.05;
        assert!((n.sides.std_b.unwrap() - var_b.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn equal_values_have_no_octave_and_no_finite_pair_no_moments() {
        let mut acc = PairAccum::new();
        acc.add(&[1.0, 2.0], &[1.0, 2.0], None);
        let n = PairNumbers::from_accum(&acc, None);
        assert_eq!(n.abs_delta.zeros, 2);
        assert!(n.abs_delta.counts.is_empty());
        let mut acc = PairAccum::new();
        acc.add(&[f64::NAN], &[1.0], None);
        let n = PairNumbers::from_accum(&acc, None);
        assert_eq!(n.sides, SideMoments::default());
    }

    #[test]
    fn sums_match_a_direct_computation() {
        let a = [1.0, -2.0, 3.0, 0.5];
        let b = [1.0, -1.5, 3.5, 0.5];
        let mut acc = PairAccum::new();
        acc.add(&a, &b, None);
        let n = PairNumbers::from_accum(&acc, None);
        // ‖Δ‖² = 0.25 + 0.25 = 0.5, ‖A‖² = 1 + 4 + 9 + 0.25 = 14.25
        assert!((n.rel_l2.unwrap() - (0.5f64 / 14.25).sqrt()).abs() < 1e-15);
        assert!((n.sqnr_db.unwrap() - 10.0 * (14.25f64 / 0.5).log10()).abs() < 1e-12);
        assert_eq!(n.max_abs, Some(0.5));
        assert_eq!(n.bit_identical, 0.5);
        let ab = 1.0 + 3.0 + 10.5 + 0.25;
        let bb = 1.0 + 2.25 + 12.25 + 0.25;
        assert!((n.cosine.unwrap() - ab / (14.25f64 * bb).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn nan_and_inf_introduced_are_counted_apart() {
        let mut acc = PairAccum::new();
        acc.add(
            &[1.0, 2.0, f64::NAN],
            &[f64::NAN, f64::INFINITY, f64::NAN],
            None,
        );
        assert_eq!(
            (acc.nan_introduced, acc.inf_introduced, acc.equal),
            (1, 1, 1)
        );
        assert_eq!(acc.finite, 0);
    }

    #[test]
    fn bf16_rounding_is_within_half_an_ulp() {
        let l = FloatLayout::of(DType::BF16).unwrap();
        assert_eq!(l.ulp(1.0), 2f64.powi(-7));
        assert_eq!(l.ulp(3.0), 2f64.powi(-6));
        let x = 1.0 + 2f64.powi(-9); // rounds to 1.0 in bf16
        let mut acc = PairAccum::new();
        acc.add(&[x, 1.0], &[1.0, 1.0 + 2f64.powi(-7)], Some(l));
        // The first is re-rounding, the second a change of one whole ulp.
        assert_eq!(acc.within_rounding, 1);
    }

    #[test]
    fn p99_is_the_upper_edge_of_its_bin() {
        let mut acc = PairAccum::new();
        let a = vec![0.0; 100];
        let mut b = vec![1.0; 100];
        b[99] = 1000.0;
        acc.add(&a, &b, None);
        let p = acc.p99_abs().unwrap();
        assert!((1.0..=1.125).contains(&p), "{p}");
    }
}
