//! The AVX2 fold of a changed same-dtype pair, for x86-64 CPUs without AVX-512 (most desktop and
//! laptop CPUs, AMD before Zen 4): the same steps as [`super::avx512`] — sixteen values of each side
//! widened to f32, then to f64, folded into block-local sums, NaN and infinity found per block from
//! Σ a² and Σ b², Σ ab derived at the end, the |Δ| histogram counted after each block from the
//! steps the sample takes — with four f64 lanes per register. The f64 sums are kept in two
//! independent sets (quarters 0 and 2 of a step into one, 1 and 3 into the other), so each sum's
//! chain of additions is half as long; twelve accumulators of the sixteen registers.
//!
//! The portable kernel compiled for AVX2 ran at about a third of this speed: LLVM kept its
//! eight-lane f64 arrays on the stack and shuffled every value between halves.

use std::arch::x86_64::*;

use super::super::numbers::PairAccum;
use super::super::numbers::{BINS_PER_OCTAVE, OCTAVES};
use super::{Copies, Sampling};
use crate::dtype::DType;

/// Values per step (the unit the histogram sample picks, as in the AVX-512 kernel).
const STEP: usize = 16;
/// Steps per block: the unit of the non-finite test (1,024 values).
const BLOCK_STEPS: usize = 64;
/// Bytes read ahead of the current step on both streams.
const PREFETCH: usize = 8192;

/// A stored float type, read sixteen values of each side at a time.
pub(super) trait Load16 {
    /// Bytes per value.
    const WIDTH: usize;
    const DTYPE: DType;
    /// The sixteen values at `pa` and at `pb` as two vectors of eight f32 each (in the type's own
    /// order, the same for both sides), and how many of the sixteen have equal stored bits.
    ///
    /// # Safety
    /// The CPU must support AVX2 and F16C; `pa` and `pb` must be valid for `16 * WIDTH` bytes of
    /// reads.
    unsafe fn load_pair(pa: *const u8, pb: *const u8) -> ([__m256; 2], [__m256; 2], u32);
}

pub(super) struct Bf16;
pub(super) struct F16;
pub(super) struct F32;

/// Equal 16-bit values among the sixteen of `a` and `b`.
#[target_feature(enable = "avx2,popcnt")]
#[inline]
fn same16(a: __m256i, b: __m256i) -> u32 {
    // Two mask bits per equal 16-bit value.
    (_mm256_movemask_epi8(_mm256_cmpeq_epi16(a, b)) as u32).count_ones() / 2
}

impl Load16 for Bf16 {
    const DTYPE: DType = DType::BF16;
    const WIDTH: usize = 2;
    #[inline]
    #[target_feature(enable = "avx2,f16c,popcnt")]
    unsafe fn load_pair(pa: *const u8, pb: *const u8) -> ([__m256; 2], [__m256; 2], u32) {
        // SAFETY: the caller guarantees 32 readable bytes at each; the loads are unaligned.
        let (ra, rb) = unsafe { (_mm256_loadu_si256(pa.cast()), _mm256_loadu_si256(pb.cast())) };
        // A BF16 value is the upper half of the f32 with the same bits: interleaving zeros below
        // each value makes it one (values 0-3 and 8-11, then 4-7 and 12-15).
        let zero = _mm256_setzero_si256();
        let f32s = |r| {
            [
                _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, r)),
                _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, r)),
            ]
        };
        (f32s(ra), f32s(rb), same16(ra, rb))
    }
}

impl Load16 for F16 {
    const DTYPE: DType = DType::F16;
    const WIDTH: usize = 2;
    #[inline]
    #[target_feature(enable = "avx2,f16c,popcnt")]
    unsafe fn load_pair(pa: *const u8, pb: *const u8) -> ([__m256; 2], [__m256; 2], u32) {
        // SAFETY: the caller guarantees 32 readable bytes at each; the loads are unaligned.
        let (ra, rb) = unsafe { (_mm256_loadu_si256(pa.cast()), _mm256_loadu_si256(pb.cast())) };
        let f32s = |r| {
            [
                _mm256_cvtph_ps(_mm256_castsi256_si128(r)),
                _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(r)),
            ]
        };
        (f32s(ra), f32s(rb), same16(ra, rb))
    }
}

impl Load16 for F32 {
    const DTYPE: DType = DType::F32;
    const WIDTH: usize = 4;
    #[inline]
    #[target_feature(enable = "avx2,f16c,popcnt")]
    unsafe fn load_pair(pa: *const u8, pb: *const u8) -> ([__m256; 2], [__m256; 2], u32) {
        // SAFETY: the caller guarantees 64 readable bytes at each; the loads are unaligned.
        let (va, vb) = unsafe {
            (
                [
                    _mm256_loadu_ps(pa.cast()),
                    _mm256_loadu_ps(pa.add(32).cast()),
                ],
                [
                    _mm256_loadu_ps(pb.cast()),
                    _mm256_loadu_ps(pb.add(32).cast()),
                ],
            )
        };
        let same = |h: usize| {
            let eq = _mm256_cmpeq_epi32(_mm256_castps_si256(va[h]), _mm256_castps_si256(vb[h]));
            (_mm256_movemask_ps(_mm256_castsi256_ps(eq)) as u32).count_ones()
        };
        (va, vb, same(0) + same(1))
    }
}

/// Sums of the finite pairs, four f64 lanes each. The sums of squares are kept in two sets
/// (quarters 0 and 2 of a step into one, 1 and 3 into the other), so their chains of fused
/// multiply-adds are half as long; the plain sums and the maximum take two quarters at once.
/// Nine accumulators, so that they and the values in flight fit the sixteen registers.
#[derive(Clone, Copy)]
struct Sums {
    a: __m256d,
    b: __m256d,
    aa: [__m256d; 2],
    bb: [__m256d; 2],
    dd: __m256d,
    max: __m256d,
}

impl Sums {
    #[target_feature(enable = "avx2")]
    #[inline]
    fn zero() -> Sums {
        let z = _mm256_setzero_pd();
        Sums {
            a: z,
            b: z,
            aa: [z; 2],
            bb: [z; 2],
            dd: z,
            max: z,
        }
    }

    /// Eight pairs, as two quarters of four.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn fold(&mut self, x: [__m256d; 2], y: [__m256d; 2], sign: __m256d) {
        let d = [_mm256_sub_pd(y[0], x[0]), _mm256_sub_pd(y[1], x[1])];
        self.a = _mm256_add_pd(self.a, _mm256_add_pd(x[0], x[1]));
        self.b = _mm256_add_pd(self.b, _mm256_add_pd(y[0], y[1]));
        for s in 0..2 {
            self.aa[s] = _mm256_fmadd_pd(x[s], x[s], self.aa[s]);
            self.bb[s] = _mm256_fmadd_pd(y[s], y[s], self.bb[s]);
        }
        let dd = _mm256_fmadd_pd(d[0], d[0], _mm256_mul_pd(d[1], d[1]));
        self.dd = _mm256_add_pd(self.dd, dd);
        let abs = |v| _mm256_andnot_pd(sign, v);
        self.max = _mm256_max_pd(self.max, _mm256_max_pd(abs(d[0]), abs(d[1])));
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn add(&mut self, o: &Sums) {
        self.a = _mm256_add_pd(self.a, o.a);
        self.b = _mm256_add_pd(self.b, o.b);
        for s in 0..2 {
            self.aa[s] = _mm256_add_pd(self.aa[s], o.aa[s]);
            self.bb[s] = _mm256_add_pd(self.bb[s], o.bb[s]);
        }
        self.dd = _mm256_add_pd(self.dd, o.dd);
        self.max = _mm256_max_pd(self.max, o.max);
    }

    /// Whether a NaN or an infinity entered the sums (the square of a finite f32 value never
    /// overflows an f64, so a non-finite Σ a² or Σ b² means a non-finite value).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn non_finite(&self) -> bool {
        let t = _mm256_add_pd(
            _mm256_add_pd(self.aa[0], self.aa[1]),
            _mm256_add_pd(self.bb[0], self.bb[1]),
        );
        // t − t is 0 for a finite t and NaN for an infinite or NaN one.
        let z = _mm256_sub_pd(t, t);
        _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(z, z)) != 0
    }
}

/// The four lanes of `v`.
#[target_feature(enable = "avx2")]
#[inline]
fn lanes(v: __m256d) -> [f64; 4] {
    let mut out = [0.0; 4];
    // SAFETY: `out` holds four f64 (unaligned store).
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), v) };
    out
}

/// The sum of the lanes of both sets.
#[target_feature(enable = "avx2")]
#[inline]
fn total(v: [__m256d; 2]) -> f64 {
    lanes(_mm256_add_pd(v[0], v[1])).iter().sum()
}

/// The two f64 quarters of eight f32.
#[target_feature(enable = "avx2")]
#[inline]
fn widen(v: __m256) -> [__m256d; 2] {
    [
        _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)),
    ]
}

/// Folds the stored bytes `a` and `b` (the same values of type `T`, equal lengths) into `acc`,
/// counting the |Δ| bins of the steps `sampling` takes into `copies`; returns the Σ Δ² of the
/// finite pairs.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and POPCNT ([`super::Isa::Avx2`]).
#[target_feature(enable = "avx2,fma,f16c,popcnt")]
pub(super) unsafe fn fold<T: Load16>(
    acc: &mut PairAccum,
    copies: &mut Copies,
    sampling: Sampling,
    a: &[u8],
    b: &[u8],
) -> f64 {
    let step_bytes = STEP * T::WIDTH;
    let steps = a.len() / step_bytes;
    let sign = _mm256_set1_pd(-0.0);
    let mut total_sums = Sums::zero();
    let (mut fast, mut equal, mut special_dd) = (0u64, 0u64, 0.0);
    for first in (0..steps).step_by(BLOCK_STEPS) {
        let n = BLOCK_STEPS.min(steps - first);
        let mut s = Sums::zero();
        let mut same = 0u32;
        for k in first..first + n {
            let off = k * step_bytes;
            // Prefetching is a hint: an address past the end of the maps is never dereferenced,
            // so `wrapping_add` keeps the pointer arithmetic defined.
            _mm_prefetch::<_MM_HINT_T0>(a.as_ptr().wrapping_add(off + PREFETCH).cast());
            _mm_prefetch::<_MM_HINT_T0>(b.as_ptr().wrapping_add(off + PREFETCH).cast());
            // SAFETY: `off + step_bytes <= steps * step_bytes <= a.len()`, and `b` is as long;
            // the CPU supports AVX2 and F16C (this function's contract).
            let (va, vb, eq) = unsafe { T::load_pair(a.as_ptr().add(off), b.as_ptr().add(off)) };
            same += eq;
            for h in 0..2 {
                s.fold(widen(va[h]), widen(vb[h]), sign);
            }
        }
        let span = first * step_bytes..(first + n) * step_bytes;
        if s.non_finite() {
            // SAFETY: AVX2 and F16C as this function's caller guarantees; whole steps.
            special_dd += unsafe { fold_general::<T>(acc, &a[span.clone()], &b[span]) };
            continue;
        }
        total_sums.add(&s);
        fast += (n * STEP) as u64;
        equal += u64::from(same);
        for k in first..first + n {
            if sampling.takes(k * STEP) {
                let off = k * step_bytes;
                // SAFETY: as above, the step lies within both slices.
                let (va, vb, _) = unsafe { T::load_pair(a.as_ptr().add(off), b.as_ptr().add(off)) };
                count_step(copies, va, vb, sign);
            }
        }
    }
    acc.count += fast;
    acc.finite += fast;
    acc.equal += equal;
    let (aa, bb, dd) = (
        total(total_sums.aa),
        total(total_sums.bb),
        lanes(total_sums.dd).iter().sum::<f64>(),
    );
    acc.sum_a += lanes(total_sums.a).iter().sum::<f64>();
    acc.sum_b += lanes(total_sums.b).iter().sum::<f64>();
    acc.sum_aa += aa;
    acc.sum_bb += bb;
    acc.sum_ab += super::product_sum(aa, bb, dd);
    acc.sum_dd += dd;
    acc.max_abs = lanes(total_sums.max)
        .iter()
        .fold(acc.max_abs, |m, &v| m.max(v));
    let tail = steps * step_bytes;
    dd + special_dd + super::fold_tail(acc, T::DTYPE, &a[tail..], &b[tail..])
}

/// Counts the |Δ| bins of sixteen pairs into `copies`, as `numbers::bin_of` bins them: the bin
/// is (exponent · 8 + 3 mantissa bits) of |Δ| from 2^-64, clamped, plus one, and zero alone in bin
/// 0. Those bits are the top 15 of the f64, so the bins are computed on the upper 32-bit halves of
/// eight |Δ| at once (AVX2 has no 64-bit minimum or maximum).
#[target_feature(enable = "avx2")]
#[inline]
fn count_step(copies: &mut Copies, va: [__m256; 2], vb: [__m256; 2], sign: __m256d) {
    let lowest = _mm256_set1_epi32(((1023 - 64) * BINS_PER_OCTAVE) as i32);
    let top_bin = _mm256_set1_epi32((OCTAVES * BINS_PER_OCTAVE) as i32 - 1);
    let (one, zero) = (_mm256_set1_epi32(1), _mm256_setzero_si256());
    for h in 0..2 {
        let (xs, ys) = (widen(va[h]), widen(vb[h]));
        let ad = [
            _mm256_andnot_pd(sign, _mm256_sub_pd(ys[0], xs[0])),
            _mm256_andnot_pd(sign, _mm256_sub_pd(ys[1], xs[1])),
        ];
        // The odd 32-bit elements (the upper halves) of both, and their zero tests, alike.
        let upper = |v: [__m256d; 2]| {
            _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(
                _mm256_castpd_ps(v[0]),
                _mm256_castpd_ps(v[1]),
            ))
        };
        let is_zero = upper([
            _mm256_cmp_pd::<_CMP_EQ_OQ>(ad[0], _mm256_setzero_pd()),
            _mm256_cmp_pd::<_CMP_EQ_OQ>(ad[1], _mm256_setzero_pd()),
        ]);
        let top = _mm256_srli_epi32::<17>(upper(ad));
        let k = _mm256_min_epi32(
            _mm256_max_epi32(_mm256_sub_epi32(top, lowest), zero),
            top_bin,
        );
        let bins = _mm256_andnot_si256(is_zero, _mm256_add_epi32(k, one));
        let mut stored = [0u32; 8];
        // SAFETY: `stored` holds eight u32 (unaligned store).
        unsafe { _mm256_storeu_si256(stored.as_mut_ptr().cast(), bins) };
        super::count_bins(copies, &stored);
    }
}

/// Whole steps of `a` and `b` holding a NaN or an infinity somewhere, through the general path
/// (which counts them); returns their Σ Δ² over the finite pairs.
///
/// # Safety
/// The CPU must support AVX2, F16C and POPCNT; both slices hold the same whole number of steps.
#[target_feature(enable = "avx2,f16c,popcnt")]
#[inline(never)]
unsafe fn fold_general<T: Load16>(acc: &mut PairAccum, a: &[u8], b: &[u8]) -> f64 {
    let step_bytes = STEP * T::WIDTH;
    super::general_steps(acc, a.len() / step_bytes, |k| {
        // SAFETY: step `k` lies within both slices and the CPU has the features (this function's
        // contract).
        unsafe {
            let (pa, pb) = (
                a.as_ptr().add(k * step_bytes),
                b.as_ptr().add(k * step_bytes),
            );
            let (va, vb, _) = T::load_pair(pa, pb);
            (super::store16(va), super::store16(vb))
        }
    })
}
