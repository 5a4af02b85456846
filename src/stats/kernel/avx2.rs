//! The AVX2 (with FMA) F32 block kernel: eight values per step.

use super::scalar::f32_key;
use super::tables::{Counter, count_keys};
use crate::decode::groups;
use crate::stats::lanes::{BlockSums, LaneAcc, f32_lane};
use crate::stats::prefetch;
use std::arch::x86_64::*;

#[target_feature(enable = "avx2,fma")]
fn spill_pd(v: __m256d) -> [f64; 4] {
    let mut out = [0.0; 4];
    // SAFETY: `out` has room for four f64; storeu has no alignment requirement.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), v) };
    out
}

#[target_feature(enable = "avx2,fma")]
fn spill_ps(v: __m256) -> [f32; 8] {
    let mut out = [0.0; 8];
    // SAFETY: `out` has room for eight f32; storeu has no alignment requirement.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
    out
}

#[target_feature(enable = "avx2,fma")]
fn spill_epi32(v: __m256i) -> [u32; 8] {
    let mut out = [0u32; 8];
    // SAFETY: `out` has room for 32 bytes; storeu has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
    out
}

#[target_feature(enable = "avx2,fma")]
fn lane_total(v: __m256i) -> u64 {
    spill_epi32(v).iter().map(|&c| u64::from(c)).sum()
}

/// AVX2 version of [`super::f32_block_scalar`]: eight f32 per step, converted to two f64
/// vectors for the sums; non-finite lanes contribute `d = 0` and `rep` to min/max.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn f32_block(bytes: &[u8], shift: f64, rep: f32, t: &mut impl Counter) -> BlockSums {
    let chunks = bytes.chunks_exact(32);
    let tail = chunks.remainder();
    let whole = bytes.len() / 32;
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFF_FFFF));
    let inf = _mm256_set1_ps(f32::INFINITY);
    let zero = _mm256_setzero_ps();
    let shift_pd = _mm256_set1_pd(shift);
    let rep_ps = _mm256_set1_ps(rep);
    let (mut s_lo, mut s_hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let (mut q_lo, mut q_hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let (mut min, mut max) = (rep_ps, rep_ps);
    let (mut nan, mut infs, mut zeros) = (
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
    );
    for (i, g) in chunks.enumerate() {
        // One prefetch per 64-byte line (every other step).
        if i % 2 == 0 {
            prefetch::ahead(bytes, 32 * i);
        }
        // SAFETY: `g` is 32 readable bytes; loadu has no alignment requirement.
        let bits = unsafe { _mm256_loadu_si256(g.as_ptr().cast()) };
        let x = _mm256_castsi256_ps(bits);
        let finite = _mm256_cmp_ps::<_CMP_LT_OQ>(_mm256_and_ps(x, abs_mask), inf);
        let is_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
        let is_inf = _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_and_ps(x, abs_mask), inf);
        let is_zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(x, zero);
        // A true lane is all ones (-1): subtracting counts it.
        nan = _mm256_sub_epi32(nan, _mm256_castps_si256(is_nan));
        infs = _mm256_sub_epi32(infs, _mm256_castps_si256(is_inf));
        zeros = _mm256_sub_epi32(zeros, _mm256_castps_si256(is_zero));
        let xm = _mm256_blendv_ps(rep_ps, x, finite);
        min = _mm256_min_ps(min, xm);
        max = _mm256_max_ps(max, xm);
        // Sign-extended lane masks select x (finite) or the shift itself (d = 0).
        let fin_i = _mm256_castps_si256(finite);
        let m_lo = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(fin_i)));
        let m_hi = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(fin_i)));
        let x_lo = _mm256_blendv_pd(shift_pd, _mm256_cvtps_pd(_mm256_castps256_ps128(x)), m_lo);
        let x_hi = _mm256_blendv_pd(
            shift_pd,
            _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)),
            m_hi,
        );
        let d_lo = _mm256_sub_pd(x_lo, shift_pd);
        let d_hi = _mm256_sub_pd(x_hi, shift_pd);
        s_lo = _mm256_add_pd(s_lo, d_lo);
        s_hi = _mm256_add_pd(s_hi, d_hi);
        q_lo = _mm256_fmadd_pd(d_lo, d_lo, q_lo);
        q_hi = _mm256_fmadd_pd(d_hi, d_hi, q_hi);
        count_keys(g, t);
    }
    let (slo, shi, qlo, qhi) = (
        spill_pd(s_lo),
        spill_pd(s_hi),
        spill_pd(q_lo),
        spill_pd(q_hi),
    );
    let mut acc = LaneAcc {
        s: [
            slo[0], slo[1], slo[2], slo[3], shi[0], shi[1], shi[2], shi[3],
        ],
        q: [
            qlo[0], qlo[1], qlo[2], qlo[3], qhi[0], qhi[1], qhi[2], qhi[3],
        ],
        min: spill_ps(min).iter().copied().fold(rep, f32::min),
        max: spill_ps(max).iter().copied().fold(rep, f32::max),
        zeros: lane_total(zeros),
        nan: lane_total(nan),
        inf: lane_total(infs),
    };
    for (j, b) in groups::<4>(tail).enumerate() {
        let bits = u32::from_le_bytes(b);
        f32_lane(f32::from_bits(bits), j, shift, &mut acc);
        t.bump(f32_key(bits), j);
    }
    acc.finish(whole * 8 + tail.len() / 4)
}
