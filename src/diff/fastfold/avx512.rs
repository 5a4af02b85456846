//! The AVX-512 fold of a changed same-dtype pair: sixteen values of each side per step, widened to
//! f32 (exact), then to two halves of eight f64 lanes, folded with FMA into ten f64 vector
//! accumulators (five sums × two halves) and two maxima that never leave the registers.
//!
//! Why it is shaped so (perf, AMD EPYC Zen 4 and Intel Xeon, two 2 GiB BF16 files, every value
//! changed): the arithmetic of a step is about thirty vector operations, and anything more per
//! value shows at once. So the loop does only the sums, the maximum and the equal-bits count:
//!
//! - NaN and infinity are not tested value by value: a block of [`BLOCK_STEPS`] steps is folded
//!   into block-local sums, and a non-finite value on either side makes Σ a² or Σ b² of the block
//!   non-finite (the square of a finite f32 value never overflows an f64), so one test per block
//!   finds it; such a block is then folded again through the general path, which counts them.
//! - Σ ab is not summed: it follows from (Σ a² + Σ b² − Σ Δ²) / 2, off by about 1e-16 of Σ a².
//! - The |Δ| histogram (for p99) is counted after the block, from the values again (they are in
//!   L1): every step when the pair is counted exactly, otherwise the steps [`super::sampled_step`]
//!   picks (one in eight). Counting every value was half of the time: one store per value, and the
//!   increments of the few hot bins wait for each other, so the copies interleave (value `j` of a
//!   step into copy `j % COPIES`).
//!
//! Both input streams are prefetched [`PREFETCH`] bytes ahead: the diff reads two maps at once,
//! and the hardware prefetcher follows fewer streams across 4 KiB pages than the kernel consumes.

use std::arch::x86_64::*;

use super::super::numbers::{BINS, BINS_PER_OCTAVE, OCTAVES, PairAccum};
use super::{BIN_ROWS, COPIES, Copies, Sampling};
use crate::dtype::DType;
use crate::stats::opaque::opaque;

/// Values per step: one 512-bit vector of f32.
const STEP: usize = 16;
/// Steps per block: the unit of the non-finite test (1,024 values).
const BLOCK_STEPS: usize = 64;
/// Bytes read ahead of the current step on both streams (the value the statistics engine measured
/// best on the same CPU).
const PREFETCH: usize = 8192;

/// A stored float type, loaded sixteen values at a time.
pub(super) trait Load16 {
    /// Bytes per value.
    const WIDTH: usize;
    const DTYPE: DType;
    /// The stored bits of sixteen values.
    type Raw: Copy;
    /// The stored bits of the sixteen values at `p`, and the values as two vectors of eight f32.
    /// The order of the values within the halves is the type's own, the same for both sides of a
    /// pair (the sums, the maximum and the bins do not depend on it).
    ///
    /// # Safety
    /// The CPU must support AVX-512F, BW and VL; `p` must be valid for `16 * WIDTH` bytes of reads.
    unsafe fn load(p: *const u8) -> (Self::Raw, [__m256; 2]);
    /// The lanes whose stored bits are equal.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, BW and VL.
    unsafe fn same(a: Self::Raw, b: Self::Raw) -> __mmask16;
}

pub(super) struct Bf16;
pub(super) struct F16;
pub(super) struct F32;

impl Load16 for Bf16 {
    const DTYPE: DType = DType::BF16;
    const WIDTH: usize = 2;
    type Raw = __m256i;
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load(p: *const u8) -> (__m256i, [__m256; 2]) {
        // SAFETY: the caller guarantees 32 readable bytes at `p`; the load is unaligned.
        let raw = unsafe { _mm256_loadu_si256(p.cast()) };
        // A BF16 value is the upper half of the f32 with the same bits: interleaving zeros below
        // each value makes it one (values 0-3 and 8-11, then 4-7 and 12-15).
        let zero = _mm256_setzero_si256();
        (
            raw,
            [
                _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, raw)),
                _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, raw)),
            ],
        )
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn same(a: __m256i, b: __m256i) -> __mmask16 {
        _mm256_cmpeq_epi16_mask(a, b)
    }
}

impl Load16 for F16 {
    const DTYPE: DType = DType::F16;
    const WIDTH: usize = 2;
    type Raw = __m256i;
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
    unsafe fn load(p: *const u8) -> (__m256i, [__m256; 2]) {
        // SAFETY: the caller guarantees 32 readable bytes at `p`; the load is unaligned.
        let raw = unsafe { _mm256_loadu_si256(p.cast()) };
        (
            raw,
            [
                _mm256_cvtph_ps(_mm256_castsi256_si128(raw)),
                _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(raw)),
            ],
        )
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn same(a: __m256i, b: __m256i) -> __mmask16 {
        _mm256_cmpeq_epi16_mask(a, b)
    }
}

impl Load16 for F32 {
    const DTYPE: DType = DType::F32;
    const WIDTH: usize = 4;
    type Raw = __m512i;
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load(p: *const u8) -> (__m512i, [__m256; 2]) {
        // SAFETY: the caller guarantees 64 readable bytes at `p`; the loads are unaligned (the
        // halves are loaded again from L1 rather than extracted from the whole; the upper one
        // through an opaque pointer, see `stats::opaque`).
        unsafe {
            (
                _mm512_loadu_si512(p.cast()),
                [
                    _mm256_loadu_ps(p.cast()),
                    _mm256_loadu_ps(opaque(p.add(32)).cast()),
                ],
            )
        }
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn same(a: __m512i, b: __m512i) -> __mmask16 {
        _mm512_cmpeq_epi32_mask(a, b)
    }
}

/// The two f64 halves of sixteen f32 held as two vectors of eight.
#[target_feature(enable = "avx512f")]
#[inline]
fn widen(v: [__m256; 2]) -> [__m512d; 2] {
    [_mm512_cvtps_pd(v[0]), _mm512_cvtps_pd(v[1])]
}

/// Sums of the finite pairs, two halves of eight f64 lanes each.
#[derive(Clone, Copy)]
struct Sums {
    a: [__m512d; 2],
    b: [__m512d; 2],
    aa: [__m512d; 2],
    bb: [__m512d; 2],
    dd: [__m512d; 2],
    max: [__m512d; 2],
}

impl Sums {
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn zero() -> Sums {
        let z = [_mm512_setzero_pd(); 2];
        Sums {
            a: z,
            b: z,
            aa: z,
            bb: z,
            dd: z,
            max: z,
        }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    fn add(&mut self, o: &Sums) {
        for h in 0..2 {
            self.a[h] = _mm512_add_pd(self.a[h], o.a[h]);
            self.b[h] = _mm512_add_pd(self.b[h], o.b[h]);
            self.aa[h] = _mm512_add_pd(self.aa[h], o.aa[h]);
            self.bb[h] = _mm512_add_pd(self.bb[h], o.bb[h]);
            self.dd[h] = _mm512_add_pd(self.dd[h], o.dd[h]);
            self.max[h] = _mm512_max_pd(self.max[h], o.max[h]);
        }
    }

    /// Whether a NaN or an infinity entered the sums.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn non_finite(&self) -> bool {
        let t = _mm512_add_pd(
            _mm512_add_pd(self.aa[0], self.aa[1]),
            _mm512_add_pd(self.bb[0], self.bb[1]),
        );
        // t − t is 0 for a finite t and NaN for an infinite or NaN one.
        let z = _mm512_sub_pd(t, t);
        _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(z, z) != 0
    }
}

/// Folds the stored bytes `a` and `b` (the same values of type `T`, equal lengths) into `acc`,
/// counting the |Δ| bins of the steps `sampling` picks into `copies`; returns the Σ Δ² of the
/// finite pairs.
///
/// # Safety
/// The CPU must support AVX-512F, BW, VL and DQ, F16C and POPCNT ([`super::Isa::Avx512`]).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,f16c,popcnt")]
pub(super) unsafe fn fold<T: Load16>(
    acc: &mut PairAccum,
    copies: &mut Copies,
    sampling: Sampling,
    a: &[u8],
    b: &[u8],
) -> f64 {
    let step_bytes = STEP * T::WIDTH;
    let steps = a.len() / step_bytes;
    let mut total = Sums::zero();
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
            // the CPU supports AVX-512F (this function's contract).
            let ((ra, va), (rb, vb)) =
                unsafe { (T::load(a.as_ptr().add(off)), T::load(b.as_ptr().add(off))) };
            // SAFETY: AVX-512F, BW and VL, as this function's caller guarantees.
            same += unsafe { T::same(ra, rb) }.count_ones();
            let (xs, ys) = (widen(va), widen(vb));
            for h in 0..2 {
                let (x, y) = (xs[h], ys[h]);
                let d = _mm512_sub_pd(y, x);
                s.a[h] = _mm512_add_pd(s.a[h], x);
                s.b[h] = _mm512_add_pd(s.b[h], y);
                s.aa[h] = _mm512_fmadd_pd(x, x, s.aa[h]);
                s.bb[h] = _mm512_fmadd_pd(y, y, s.bb[h]);
                s.dd[h] = _mm512_fmadd_pd(d, d, s.dd[h]);
                // The larger in absolute value, sign cleared (`vrangepd`): max(|max|, |d|).
                s.max[h] = _mm512_range_pd::<0b1011>(s.max[h], d);
            }
        }
        let span = first * step_bytes..(first + n) * step_bytes;
        if s.non_finite() {
            // SAFETY: AVX-512F as this function's caller guarantees; whole steps of both slices.
            special_dd += unsafe { fold_general::<T>(acc, &a[span.clone()], &b[span]) };
            continue;
        }
        total.add(&s);
        fast += (n * STEP) as u64;
        equal += u64::from(same);
        for k in first..first + n {
            if sampling.takes(k * STEP) {
                let off = k * step_bytes;
                // SAFETY: as above, the step lies within both slices.
                unsafe { count_step::<T>(copies, a.as_ptr().add(off), b.as_ptr().add(off)) };
            }
        }
    }
    acc.count += fast;
    acc.finite += fast;
    acc.equal += equal;
    let sum = |v: [__m512d; 2]| _mm512_reduce_add_pd(_mm512_add_pd(v[0], v[1]));
    let (aa, bb, dd) = (sum(total.aa), sum(total.bb), sum(total.dd));
    acc.sum_a += sum(total.a);
    acc.sum_b += sum(total.b);
    acc.sum_aa += aa;
    acc.sum_bb += bb;
    acc.sum_ab += super::product_sum(aa, bb, dd);
    acc.sum_dd += dd;
    acc.max_abs = acc.max_abs.max(_mm512_reduce_max_pd(_mm512_max_pd(
        total.max[0],
        total.max[1],
    )));
    let tail = steps * step_bytes;
    dd + special_dd + super::fold_tail(acc, T::DTYPE, &a[tail..], &b[tail..])
}

/// Counts the |Δ| bins of the sixteen values at `pa` and `pb` into `copies`, value `j` into copy
/// `j % COPIES`, as `numbers::bin_of` bins them.
///
/// # Safety
/// The CPU must support AVX-512F, BW and VL, and F16C; `pa` and `pb` must be valid for one step
/// of reads.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
#[inline]
unsafe fn count_step<T: Load16>(copies: &mut Copies, pa: *const u8, pb: *const u8) {
    const _: () = assert!(BINS <= BIN_ROWS && STEP.is_multiple_of(COPIES));
    // SAFETY: this function's contract.
    let ((_, va), (_, vb)) = unsafe { (T::load(pa), T::load(pb)) };
    // The bin of |Δ|: (exponent · 8 + 3 mantissa bits) from 2^-64, clamped to the histogram,
    // plus one; zero alone in bin 0.
    let lowest = _mm512_set1_epi64(((1023 - 64) * BINS_PER_OCTAVE) as i64);
    let top_bin = _mm512_set1_epi64((OCTAVES * BINS_PER_OCTAVE) as i64 - 1);
    let (one, zero) = (_mm512_set1_epi64(1), _mm512_setzero_si512());
    let mut bins = [0u64; STEP];
    let (xs, ys) = (widen(va), widen(vb));
    for h in 0..2 {
        let ad = _mm512_abs_pd(_mm512_sub_pd(ys[h], xs[h]));
        let top = _mm512_srli_epi64::<49>(_mm512_castpd_si512(ad));
        let k = _mm512_min_epi64(
            _mm512_max_epi64(_mm512_sub_epi64(top, lowest), zero),
            top_bin,
        );
        let is_zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(ad, _mm512_setzero_pd());
        let bin = _mm512_mask_mov_epi64(_mm512_add_epi64(k, one), is_zero, zero);
        // SAFETY: `bins` holds sixteen u64; this half's eight go to `8 * h ..`.
        unsafe { _mm512_storeu_si512(bins.as_mut_ptr().add(8 * h).cast(), bin) };
    }
    super::count_bins(copies, &bins);
}

/// Whole steps of `a` and `b` holding a NaN or an infinity somewhere, through the general path
/// (which counts them); returns their Σ Δ² over the finite pairs.
///
/// # Safety
/// The CPU must support AVX-512F, BW and VL, and F16C; both slices hold the same whole number of
/// steps.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,f16c")]
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
            let ((_, va), (_, vb)) = (T::load(pa), T::load(pb));
            (super::store16(va), super::store16(vb))
        }
    })
}
