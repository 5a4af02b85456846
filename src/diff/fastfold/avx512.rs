//! The AVX-512 fold of a changed same-dtype pair: sixteen values of each side per step, widened to
//! f32 (exact), then to two halves of eight f64 lanes, folded with FMA into fourteen f64 vector
//! accumulators (seven sums × two halves) that never leave the registers.
//!
//! Why it is shaped so (perf, Intel Xeon AVX-512, two 2 GiB BF16 files, every value changed):
//! the portable kernel spent most of its time on the |Δ| histogram, one increment per value, and
//! most increments hit the same few bins, so each waited for the previous store to the same
//! counter (store-to-load forwarding, about five cycles); its f64 lane sums also spilled to the
//! stack (fourteen AVX2 registers of sums out of sixteen). Here the bin of each |Δ| is computed in
//! the vector registers and counted into [`COPIES`] interleaved copies of the histogram (value `j`
//! of a step into copy `j % COPIES`), which breaks those chains; the copies belong to the caller's
//! `FoldScratch` and are summed into the accumulator once per chunk. Both input streams are prefetched [`PREFETCH`] bytes ahead: the
//! diff reads two maps at once, and the hardware prefetcher follows fewer streams across 4 KiB
//! pages than the kernel consumes.
//!
//! A step holding a NaN or an infinity on either side goes through the general path
//! ([`PairAccum::add`]), which counts them; the sums of the other steps differ from the general
//! path only in the order of the additions.

use std::arch::x86_64::*;

use super::super::numbers::{BINS, BINS_PER_OCTAVE, OCTAVES, PairAccum};
use super::{BIN_ROWS, COPIES, Copies};
use crate::dtype::DType;

/// Values per step: one 512-bit vector of f32.
const STEP: usize = 16;
/// Bytes read ahead of the current step on both streams (the value the statistics engine measured
/// best on the same CPU).
const PREFETCH: usize = 8192;
/// Bins computed in the vector registers and stored before they are counted: counting from
/// memory keeps the counting loop on the load ports (counting straight from the registers
/// spent two shuffle uops per value extracting them, the bottleneck).
const PENDING: usize = 1024;
/// Bits of an f32 whose exponent field is all ones: NaN or infinity.
const F32_EXPONENT: i32 = 0x7f80_0000;

/// A stored float type, loaded sixteen values at a time.
pub(super) trait Load16 {
    /// Bytes per value.
    const WIDTH: usize;
    const DTYPE: DType;
    /// The stored bits of the sixteen values at `p`, zero-extended to 32 bits (equal bits, equal
    /// values), and the values as f32.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; `p` must be valid for `16 * WIDTH` bytes of reads.
    unsafe fn load(p: *const u8) -> (__m512i, __m512);
}

pub(super) struct Bf16;
pub(super) struct F16;
pub(super) struct F32;

impl Load16 for Bf16 {
    const DTYPE: DType = DType::BF16;
    const WIDTH: usize = 2;
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(p: *const u8) -> (__m512i, __m512) {
        // SAFETY: the caller guarantees 32 readable bytes at `p`; the load is unaligned.
        let raw = _mm512_cvtepu16_epi32(unsafe { _mm256_loadu_si256(p.cast()) });
        // A BF16 value is the upper half of the f32 with the same bits.
        (raw, _mm512_castsi512_ps(_mm512_slli_epi32::<16>(raw)))
    }
}

impl Load16 for F16 {
    const DTYPE: DType = DType::F16;
    const WIDTH: usize = 2;
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(p: *const u8) -> (__m512i, __m512) {
        // SAFETY: the caller guarantees 32 readable bytes at `p`; the load is unaligned.
        let halves = unsafe { _mm256_loadu_si256(p.cast()) };
        (_mm512_cvtepu16_epi32(halves), _mm512_cvtph_ps(halves))
    }
}

impl Load16 for F32 {
    const DTYPE: DType = DType::F32;
    const WIDTH: usize = 4;
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(p: *const u8) -> (__m512i, __m512) {
        // SAFETY: the caller guarantees 64 readable bytes at `p`; the load is unaligned.
        let raw = unsafe { _mm512_loadu_si512(p.cast()) };
        (raw, _mm512_castsi512_ps(raw))
    }
}

/// Folds the stored bytes `a` and `b` (the same values of type `T`, equal lengths) into `acc`,
/// counting the |Δ| bins into `copies`; returns the Σ Δ² of the finite pairs.
///
/// # Safety
/// The CPU must support AVX-512F and POPCNT.
#[target_feature(enable = "avx512f,popcnt")]
pub(super) unsafe fn fold<T: Load16>(
    acc: &mut PairAccum,
    copies: &mut Copies,
    a: &[u8],
    b: &[u8],
) -> f64 {
    let step_bytes = STEP * T::WIDTH;
    let steps = a.len() / step_bytes;
    const _: () = assert!(BINS <= BIN_ROWS && PENDING.is_multiple_of(STEP));
    let mut specials = 0usize;
    let mut pending = [0u16; PENDING];
    let mut filled = 0;
    let zero = _mm512_setzero_pd();
    let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut sdd, mut mx) = (
        [zero; 2], [zero; 2], [zero; 2], [zero; 2], [zero; 2], [zero; 2], [zero; 2],
    );
    let exponent = _mm512_set1_epi32(F32_EXPONENT);
    // The bin of |Δ| as `numbers::bin_of` computes it: (exponent · 8 + 3 mantissa bits) from
    // 2^-64, clamped to the histogram, plus one; zero alone in bin 0.
    let lowest = _mm512_set1_epi64(((1023 - 64) * BINS_PER_OCTAVE) as i64);
    let top_bin = _mm512_set1_epi64((OCTAVES * BINS_PER_OCTAVE) as i64 - 1);
    let (one, zero_i) = (_mm512_set1_epi64(1), _mm512_setzero_si512());
    let (mut fast, mut equal) = (0u64, 0u64);
    for s in 0..steps {
        let off = s * step_bytes;
        // Prefetching is a hint: an address past the end of the maps is never dereferenced, so
        // `wrapping_add` keeps the pointer arithmetic defined.
        _mm_prefetch::<_MM_HINT_T0>(a.as_ptr().wrapping_add(off + PREFETCH).cast());
        _mm_prefetch::<_MM_HINT_T0>(b.as_ptr().wrapping_add(off + PREFETCH).cast());
        // SAFETY: `off + step_bytes <= steps * step_bytes <= a.len()`, and `b` is as long; the
        // CPU supports AVX-512F (this function's contract).
        let ((ra, va), (rb, vb)) =
            unsafe { (T::load(a.as_ptr().add(off)), T::load(b.as_ptr().add(off))) };
        let special = special_lanes(va, vb, exponent);
        if special != 0 {
            // Counted here, folded after the loop: a call inside the loop would make every
            // vector sum live across it, and the sums would be kept on the stack.
            specials += 1;
            continue;
        }
        fast += STEP as u64;
        equal += u64::from(_mm512_cmpeq_epi32_mask(ra, rb).count_ones());
        let a_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(va));
        let a_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
            _mm512_castps_pd(va),
        )));
        let b_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(vb));
        let b_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
            _mm512_castps_pd(vb),
        )));
        for (h, (x, y)) in [(a_lo, b_lo), (a_hi, b_hi)].into_iter().enumerate() {
            let d = _mm512_sub_pd(y, x);
            sa[h] = _mm512_add_pd(sa[h], x);
            sb[h] = _mm512_add_pd(sb[h], y);
            saa[h] = _mm512_fmadd_pd(x, x, saa[h]);
            sbb[h] = _mm512_fmadd_pd(y, y, sbb[h]);
            sab[h] = _mm512_fmadd_pd(x, y, sab[h]);
            sdd[h] = _mm512_fmadd_pd(d, d, sdd[h]);
            let ad = _mm512_abs_pd(d);
            mx[h] = _mm512_max_pd(mx[h], ad);
            let top = _mm512_srli_epi64::<49>(_mm512_castpd_si512(ad));
            let k = _mm512_min_epi64(
                _mm512_max_epi64(_mm512_sub_epi64(top, lowest), zero_i),
                top_bin,
            );
            let is_zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(ad, zero);
            let bin = _mm512_mask_mov_epi64(_mm512_add_epi64(k, one), is_zero, zero_i);
            // SAFETY: `filled + 16 <= PENDING` (it is flushed when full, and PENDING is whole
            // steps); this half's eight u16 go to `filled + 8 * h ..`, in bounds.
            unsafe {
                _mm_storeu_si128(
                    pending.as_mut_ptr().add(filled + 8 * h).cast(),
                    _mm512_cvtepi64_epi16(bin),
                )
            };
        }
        filled += STEP;
        if filled == PENDING {
            count_bins(copies, &pending);
            filled = 0;
        }
    }
    count_bins(copies, &pending[..filled]);
    acc.count += fast;
    acc.finite += fast;
    acc.equal += equal;
    acc.sum_a += _mm512_reduce_add_pd(_mm512_add_pd(sa[0], sa[1]));
    acc.sum_b += _mm512_reduce_add_pd(_mm512_add_pd(sb[0], sb[1]));
    acc.sum_aa += _mm512_reduce_add_pd(_mm512_add_pd(saa[0], saa[1]));
    acc.sum_bb += _mm512_reduce_add_pd(_mm512_add_pd(sbb[0], sbb[1]));
    acc.sum_ab += _mm512_reduce_add_pd(_mm512_add_pd(sab[0], sab[1]));
    let fast_dd = _mm512_reduce_add_pd(_mm512_add_pd(sdd[0], sdd[1]));
    acc.sum_dd += fast_dd;
    acc.max_abs = acc
        .max_abs
        .max(_mm512_reduce_max_pd(_mm512_max_pd(mx[0], mx[1])));
    let special_dd = if specials > 0 {
        // SAFETY: AVX-512F as this function's caller guarantees; same slices and steps.
        unsafe { fold_special_steps::<T>(acc, a, b, steps) }
    } else {
        0.0
    };
    let tail = steps * step_bytes;
    fast_dd + special_dd + super::fold_tail(acc, T::DTYPE, &a[tail..], &b[tail..])
}

/// The lanes where `va` or `vb` holds a NaN or an infinity (every exponent bit set).
#[target_feature(enable = "avx512f")]
#[inline]
fn special_lanes(va: __m512, vb: __m512, exponent: __m512i) -> u16 {
    _mm512_cmpeq_epi32_mask(
        _mm512_and_si512(_mm512_castps_si512(va), exponent),
        exponent,
    ) | _mm512_cmpeq_epi32_mask(
        _mm512_and_si512(_mm512_castps_si512(vb), exponent),
        exponent,
    )
}

/// The steps of `a` and `b` holding a NaN or an infinity on either side, through the general path
/// (which counts them); returns their Σ Δ² over the finite pairs.
///
/// # Safety
/// The CPU must support AVX-512F; `steps` whole steps must lie within both slices.
#[target_feature(enable = "avx512f")]
#[inline(never)]
unsafe fn fold_special_steps<T: Load16>(
    acc: &mut PairAccum,
    a: &[u8],
    b: &[u8],
    steps: usize,
) -> f64 {
    let exponent = _mm512_set1_epi32(F32_EXPONENT);
    let mut dd = 0.0;
    for s in 0..steps {
        let off = s * STEP * T::WIDTH;
        // SAFETY: `steps` whole steps lie within both slices (this function's contract).
        let ((_, va), (_, vb)) =
            unsafe { (T::load(a.as_ptr().add(off)), T::load(b.as_ptr().add(off))) };
        let special = special_lanes(va, vb, exponent);
        if special != 0 {
            let (mut xa, mut xb) = ([0f32; STEP], [0f32; STEP]);
            // SAFETY: both arrays hold 16 f32; the stores are unaligned.
            unsafe {
                _mm512_storeu_ps(xa.as_mut_ptr(), va);
                _mm512_storeu_ps(xb.as_mut_ptr(), vb);
            }
            dd += super::general_block(acc, &xa, &xb);
        }
    }
    dd
}

/// Counts stored bins into the copies, value `j` into copy `j % COPIES`.
#[inline(always)]
fn count_bins(copies: &mut Copies, bins: &[u16]) {
    for (j, &bin) in bins.iter().enumerate() {
        // Bins are at most `BINS - 1` < BIN_ROWS: the mask changes nothing but the bounds check.
        copies[usize::from(bin) & (BIN_ROWS - 1)][j % COPIES] += 1;
    }
}
