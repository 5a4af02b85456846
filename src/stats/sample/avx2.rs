//! The AVX2 sampled kernels (with FMA, F16C and POPCNT): F32 sixteen values per step, BF16 and F16
//! thirty-two.

use super::pick::{count_picked, cut, for_each_group, group_byte, pick_lane, step_hash};
use super::scalar::{code16_run, scalar_run};
use super::window::Window;
use super::{BF16_CODES, F32_VALUES};
use crate::stats::kernel::Counter;
use crate::stats::lanes::{BlockSums, Code16, Lanes16, Lanes32};
use crate::stats::prefetch;
use std::arch::x86_64::*;

/// AVX2 version of [`super::block_scalar`] for F32: sixteen values per step as two vectors of
/// eight, lane `j` of each f64 vector being lane `4v + j` of the scalar kernel (v = 0..4 in
/// order).
/// # Safety
///
/// The CPU must support AVX2, FMA, F16C and POPCNT (`Isa::Avx2`).
#[target_feature(enable = "avx2,fma,f16c,popcnt")]
pub(crate) unsafe fn block_f32<const SHIFTED: bool>(
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let width = 4;
    let n = bytes.len() / width;
    let mut acc = Lanes16::new();
    let (head, groups) = cut::<16>(first, n);
    scalar_run(bytes, 0..head, first, shift, win, &mut acc, t);
    let shift_pd = _mm256_set1_pd(shift);
    let (lo_e, hi_e) = (_mm256_set1_ps(win.lo), _mm256_set1_ps(win.hi));
    let zero = _mm256_setzero_ps();
    // SAFETY: (this load and those below, which say "see above") `acc`'s arrays hold 16 lanes; the group loads read
    // `16 * width` bytes at `head + 16 * k` values, inside `bytes` for `k < groups`.
    let mut s: [__m256d; 4] =
        unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.s.as_ptr().add(4 * v))) };
    // SAFETY: see above (the lanes of `acc.q`).
    let mut q: [__m256d; 4] =
        unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.q.as_ptr().add(4 * v))) };
    // SAFETY: see above (the lanes of `acc.min` and `acc.max`).
    let (mut mn, mut mx) = unsafe {
        (
            [
                _mm256_loadu_ps(acc.min.as_ptr()),
                _mm256_loadu_ps(acc.min.as_ptr().add(8)),
            ],
            [
                _mm256_loadu_ps(acc.max.as_ptr()),
                _mm256_loadu_ps(acc.max.as_ptr().add(8)),
            ],
        )
    };
    let mut zeros = 0u64;
    let first_group = (first + head as u64) / 16;
    for_each_group(first_group, groups, |k, picked| {
        let off = (head + 16 * k) * width;
        prefetch::ahead(bytes, off);
        // SAFETY: see above.
        let x = unsafe {
            [
                _mm256_loadu_ps(bytes.as_ptr().add(off).cast()),
                _mm256_loadu_ps(bytes.as_ptr().add(off + 32).cast()),
            ]
        };
        let mut central = 0u16;
        for h in 0..2 {
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(x[h]));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x[h]));
            let (dlo, dhi) = if SHIFTED {
                (_mm256_sub_pd(lo, shift_pd), _mm256_sub_pd(hi, shift_pd))
            } else {
                (lo, hi)
            };
            s[2 * h] = _mm256_add_pd(s[2 * h], dlo);
            s[2 * h + 1] = _mm256_add_pd(s[2 * h + 1], dhi);
            q[2 * h] = _mm256_fmadd_pd(dlo, dlo, q[2 * h]);
            q[2 * h + 1] = _mm256_fmadd_pd(dhi, dhi, q[2 * h + 1]);
            mn[h] = _mm256_min_ps(mn[h], x[h]);
            mx[h] = _mm256_max_ps(mx[h], x[h]);
            let z = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(x[h], zero));
            zeros += u64::from(z.count_ones());
            let c = _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_GE_OQ>(x[h], lo_e),
                _mm256_cmp_ps::<_CMP_LE_OQ>(x[h], hi_e),
            );
            central |= (_mm256_movemask_ps(c) as u16) << (8 * h);
        }
        // SAFETY: the group just loaded.
        unsafe { count_picked::<F32_VALUES>(bytes.as_ptr().add(off), picked, central, t) };
    });
    // SAFETY: see above.
    unsafe {
        for v in 0..4 {
            _mm256_storeu_pd(acc.s.as_mut_ptr().add(4 * v), s[v]);
            _mm256_storeu_pd(acc.q.as_mut_ptr().add(4 * v), q[v]);
        }
        for h in 0..2 {
            _mm256_storeu_ps(acc.min.as_mut_ptr().add(8 * h), mn[h]);
            _mm256_storeu_ps(acc.max.as_mut_ptr().add(8 * h), mx[h]);
        }
    }
    acc.zeros += zeros;
    scalar_run(bytes, head + 16 * groups..n, first, shift, win, &mut acc, t);
    acc.finish(n)
}

/// AVX2 version of [`super::scalar::block_scalar_code16`] for codes `KIND` (1: BF16, 2: F16): 32
/// values per step, widened in their order and each run of four added to the accumulator
/// [`Code16::lane`] gives it; extremes, zeros and the window test on the codes as
/// signed integers in value order.
/// # Safety
///
/// The CPU must support AVX2, FMA, F16C and POPCNT (`Isa::Avx2`).
#[target_feature(enable = "avx2,fma,f16c,popcnt")]
pub(crate) unsafe fn block_code16<const KIND: u8, const SHIFTED: bool>(
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    /// The accumulator (of eight, four lanes each) of values `4c..4c + 4` of a BF16 group.
    const ACC: [usize; 8] = [0, 4, 1, 5, 2, 6, 3, 7];
    let kind = if KIND == BF16_CODES {
        Code16::BF16
    } else {
        Code16::F16
    };
    let n = bytes.len() / 2;
    let mut acc = Lanes32::new();
    let (head, groups) = cut::<32>(first, n);
    code16_run(kind, bytes, 0..head, first, shift, win, &mut acc, t);
    let shift_pd = _mm256_set1_pd(shift);
    let m7 = _mm256_set1_epi16(0x7FFF);
    let (lo_o, hi_o) = (
        _mm256_set1_epi16(win.codes.0),
        _mm256_set1_epi16(win.codes.1),
    );
    // SAFETY: (this load and those below, which say "see above") `acc`'s arrays hold 32 lanes; the group loads read 64
    // bytes at value `head + 32 * k`, inside `bytes` for `k < groups`.
    let mut s: [__m256d; 8] =
        unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.s.as_ptr().add(4 * v))) };
    // SAFETY: see above (the lanes of `acc.q`).
    let mut q: [__m256d; 8] =
        unsafe { std::array::from_fn(|v| _mm256_loadu_pd(acc.q.as_ptr().add(4 * v))) };
    let (mut mn, mut mx) = (_mm256_set1_epi16(i16::MAX), _mm256_set1_epi16(i16::MIN));
    let mut zeros = 0u64;
    let first_group = (first + head as u64) / 32;
    // Each step finds its lanes from the octet's hash kept across steps, not through
    // `for_each_step` as the AVX-512 kernel does: there the compiler kept this body out of line
    // (the loop calls it from three places) and the kernel ran 22% slower (Intel Xeon, 2 GiB BF16).
    let mut hash = 0u64;
    for k in 0..groups {
        let off = (head + 32 * k) * 2;
        prefetch::ahead(bytes, off);
        for m in 0..4 {
            // SAFETY: see above.
            let codes = unsafe { _mm_loadu_si128(bytes.as_ptr().add(off + 16 * m).cast()) };
            let x = if KIND == BF16_CODES {
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(codes)))
            } else {
                _mm256_cvtph_ps(codes)
            };
            let halves = [
                _mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(x)),
            ];
            for (h, &x) in halves.iter().enumerate() {
                let a = if KIND == BF16_CODES {
                    ACC[2 * m + h]
                } else {
                    2 * m + h
                };
                let d = if SHIFTED {
                    _mm256_sub_pd(x, shift_pd)
                } else {
                    x
                };
                s[a] = _mm256_add_pd(s[a], d);
                q[a] = _mm256_fmadd_pd(d, d, q[a]);
            }
        }
        let mut central = 0u32;
        for h in 0..2 {
            // SAFETY: see above.
            let v = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(off + 32 * h).cast()) };
            let ord = _mm256_xor_si256(v, _mm256_and_si256(_mm256_srai_epi16::<15>(v), m7));
            mn = _mm256_min_epi16(mn, ord);
            mx = _mm256_max_epi16(mx, ord);
            let out = _mm256_or_si256(_mm256_cmpgt_epi16(lo_o, ord), _mm256_cmpgt_epi16(ord, hi_o));
            // Two mask bits per value: keep the even ones.
            let bits = _mm256_movemask_epi8(out) as u32;
            central |= u32::from(!compress_even(bits)) << (16 * h);
            let z = _mm256_cmpeq_epi16(_mm256_and_si256(v, m7), _mm256_setzero_si256());
            zeros += u64::from((_mm256_movemask_epi8(z) as u32).count_ones() / 2);
        }
        let (c0, c1) = (central as u16, (central >> 16) as u16);
        let group = 2 * (first_group + k as u64);
        let z = step_hash(&mut hash, k, group);
        let (p0, p1) = (
            pick_lane(group_byte(z, group)),
            pick_lane(group_byte(z, group + 1)),
        );
        // SAFETY: the two groups of 16 just loaded.
        unsafe {
            count_picked::<KIND>(bytes.as_ptr().add(off), p0, c0, t);
            count_picked::<KIND>(bytes.as_ptr().add(off + 32), p1, c1, t);
        }
    }
    let (mut mins, mut maxs) = ([0i16; 16], [0i16; 16]);
    // SAFETY: see above; `mins` and `maxs` hold 16 i16.
    unsafe {
        for v in 0..8 {
            _mm256_storeu_pd(acc.s.as_mut_ptr().add(4 * v), s[v]);
            _mm256_storeu_pd(acc.q.as_mut_ptr().add(4 * v), q[v]);
        }
        _mm256_storeu_si256(mins.as_mut_ptr().cast(), mn);
        _mm256_storeu_si256(maxs.as_mut_ptr().cast(), mx);
    }
    acc.min = mins.iter().copied().fold(acc.min, i16::min);
    acc.max = maxs.iter().copied().fold(acc.max, i16::max);
    acc.zeros += zeros;
    code16_run(
        kind,
        bytes,
        head + 32 * groups..n,
        first,
        shift,
        win,
        &mut acc,
        t,
    );
    acc.finish(kind, n)
}

/// Bits 0, 2, 4, … 30 of `m` as bits 0..16.
#[inline(always)]
fn compress_even(m: u32) -> u16 {
    let mut x = m & 0x5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF;
    x as u16
}
