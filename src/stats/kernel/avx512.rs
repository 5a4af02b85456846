//! The AVX-512 F32 block kernel: sixteen values per step.

use super::scalar::f32_key;
use super::tables::{Counter, count_keys};
use crate::decode::groups;
use crate::stats::lanes::{BlockSums, LaneAcc, f32_lane};
use crate::stats::prefetch;
use std::arch::x86_64::*;

/// AVX-512 version of [`super::f32_block_scalar`]: sixteen f32 per step, as two groups of
/// eight whose f64 lanes are added in order (group 2k, then 2k + 1) into the same eight-lane
/// accumulators, so the sums are those of the scalar and AVX2 kernels bit for bit. Non-finite
/// lanes are masked out: `d = 0`, min/max unchanged.
#[target_feature(enable = "avx512f")]
pub(crate) fn f32_block(bytes: &[u8], shift: f64, rep: f32, t: &mut impl Counter) -> BlockSums {
    let chunks = bytes.chunks_exact(64);
    let tail = chunks.remainder();
    let whole = bytes.len() / 64;
    let abs_mask = _mm512_set1_epi32(0x7FFF_FFFF);
    let inf = _mm512_set1_ps(f32::INFINITY);
    let zero = _mm512_setzero_ps();
    let one = _mm512_set1_epi32(1);
    let shift_pd = _mm512_set1_pd(shift);
    let rep_ps = _mm512_set1_ps(rep);
    let (mut s, mut q) = (_mm512_setzero_pd(), _mm512_setzero_pd());
    let (mut min, mut max) = (rep_ps, rep_ps);
    let (mut nan, mut infs, mut zeros) = (
        _mm512_setzero_si512(),
        _mm512_setzero_si512(),
        _mm512_setzero_si512(),
    );
    for (i, g) in chunks.enumerate() {
        prefetch::ahead(bytes, 64 * i);
        // SAFETY: `g` is 64 readable bytes; loadu has no alignment requirement.
        let bits = unsafe { _mm512_loadu_si512(g.as_ptr().cast()) };
        let x = _mm512_castsi512_ps(bits);
        let ax = _mm512_castsi512_ps(_mm512_and_si512(bits, abs_mask));
        let finite = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(ax, inf);
        let is_nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        let is_inf = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(ax, inf);
        let is_zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, zero);
        nan = _mm512_mask_add_epi32(nan, is_nan, nan, one);
        infs = _mm512_mask_add_epi32(infs, is_inf, infs, one);
        zeros = _mm512_mask_add_epi32(zeros, is_zero, zeros, one);
        min = _mm512_mask_min_ps(min, finite, min, x);
        max = _mm512_mask_max_ps(max, finite, max, x);
        let x_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
        let x_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
            _mm512_castps_pd(x),
        )));
        let d_lo = _mm512_maskz_sub_pd(finite as __mmask8, x_lo, shift_pd);
        let d_hi = _mm512_maskz_sub_pd((finite >> 8) as __mmask8, x_hi, shift_pd);
        s = _mm512_add_pd(_mm512_add_pd(s, d_lo), d_hi);
        q = _mm512_fmadd_pd(d_hi, d_hi, _mm512_fmadd_pd(d_lo, d_lo, q));
        count_keys(g, t);
    }
    let (mut sl, mut ql) = ([0.0f64; 8], [0.0f64; 8]);
    let (mut mn, mut mx) = ([0.0f32; 16], [0.0f32; 16]);
    let mut counts = [[0u32; 16]; 3];
    // SAFETY: each destination has room for 64 bytes; the unaligned stores need no alignment.
    unsafe {
        _mm512_storeu_pd(sl.as_mut_ptr(), s);
        _mm512_storeu_pd(ql.as_mut_ptr(), q);
        _mm512_storeu_ps(mn.as_mut_ptr(), min);
        _mm512_storeu_ps(mx.as_mut_ptr(), max);
        _mm512_storeu_si512(counts[0].as_mut_ptr().cast(), zeros);
        _mm512_storeu_si512(counts[1].as_mut_ptr().cast(), nan);
        _mm512_storeu_si512(counts[2].as_mut_ptr().cast(), infs);
    }
    let total = |c: &[u32; 16]| c.iter().map(|&n| u64::from(n)).sum::<u64>();
    let mut acc = LaneAcc {
        s: sl,
        q: ql,
        min: mn.iter().copied().fold(rep, f32::min),
        max: mx.iter().copied().fold(rep, f32::max),
        zeros: total(&counts[0]),
        nan: total(&counts[1]),
        inf: total(&counts[2]),
    };
    for (j, b) in groups::<4>(tail).enumerate() {
        let bits = u32::from_le_bytes(b);
        f32_lane(f32::from_bits(bits), j % 8, shift, &mut acc);
        t.bump(f32_key(bits), j);
    }
    acc.finish(whole * 16 + tail.len() / 4)
}
