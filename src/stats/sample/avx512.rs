//! The AVX-512 sampled kernels (F and BW): F32 sixteen values per step, BF16 and F16 thirty-two.

use super::extremes::read_extremes;
use super::pick::{count_picked, cut, for_each_group, for_each_step};
use super::scalar::{code16_run, scalar_run};
use super::window::Window;
use super::{BF16_CODES, F32_VALUES};
use crate::stats::kernel::Counter;
use crate::stats::lanes::{BlockSums, Code16, Lanes16, Lanes32, ord16};
use crate::stats::opaque::opaque;
use crate::stats::prefetch;
use std::arch::x86_64::*;

/// AVX-512 version of [`super::block_scalar`] for F32 (`SHIFTED`: `shift != 0`): values before
/// the first whole group of sixteen and after the last go through the scalar lanes; whole
/// groups through the vector lanes, lane `j` of the `lo` vectors being lane `j` and of the `hi`
/// vectors lane `8 + j`, each adding its values in the same order as the scalar kernel.
/// # Safety
///
/// The CPU must support AVX-512F and POPCNT (`Isa::Avx512`).
#[target_feature(enable = "avx512f,popcnt")]
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
    let shift_pd = _mm512_set1_pd(shift);
    let (lo_e, hi_e) = (_mm512_set1_ps(win.lo), _mm512_set1_ps(win.hi));
    let zero = _mm512_setzero_ps();
    // SAFETY: (this load and those below, which say "see above") `acc`'s arrays hold 16 lanes; the group loads read
    // `16 * width` bytes at `head + 16 * k` values, inside `bytes` for `k < groups`.
    let (mut sa, mut sb, mut qa, mut qb, mut mn, mut mx) = unsafe {
        (
            _mm512_loadu_pd(acc.s.as_ptr()),
            _mm512_loadu_pd(acc.s.as_ptr().add(8)),
            _mm512_loadu_pd(acc.q.as_ptr()),
            _mm512_loadu_pd(acc.q.as_ptr().add(8)),
            _mm512_loadu_ps(acc.min.as_ptr()),
            _mm512_loadu_ps(acc.max.as_ptr()),
        )
    };
    let mut zeros = 0u64;
    let first_group = (first + head as u64) / 16;
    for_each_group(first_group, groups, |k, picked| {
        let off = (head + 16 * k) * width;
        prefetch::ahead(bytes, off);
        // SAFETY: (these loads) the group's 64 bytes, inside `bytes` (see above). The upper half
        // is loaded again from L1 rather than extracted from `x` (see `block_code16`).
        let (x, lo, hi) = unsafe {
            let p = bytes.as_ptr().add(off).cast::<f32>();
            (
                _mm512_loadu_ps(p),
                _mm512_cvtps_pd(_mm256_loadu_ps(p)),
                _mm512_cvtps_pd(_mm256_loadu_ps(opaque(p.add(8)))),
            )
        };
        // `x - 0.0` is `x` for every finite x (and -0.0 stays -0.0).
        let (dlo, dhi) = if SHIFTED {
            (_mm512_sub_pd(lo, shift_pd), _mm512_sub_pd(hi, shift_pd))
        } else {
            (lo, hi)
        };
        sa = _mm512_add_pd(sa, dlo);
        sb = _mm512_add_pd(sb, dhi);
        qa = _mm512_fmadd_pd(dlo, dlo, qa);
        qb = _mm512_fmadd_pd(dhi, dhi, qb);
        mn = _mm512_min_ps(mn, x);
        mx = _mm512_max_ps(mx, x);
        zeros += u64::from(_mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, zero).count_ones());
        let central = _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(
            _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, lo_e),
            x,
            hi_e,
        );
        // SAFETY: the group just loaded.
        unsafe { count_picked::<F32_VALUES>(bytes.as_ptr().add(off), picked, central, t) };
    });
    // SAFETY: see above.
    unsafe {
        _mm512_storeu_pd(acc.s.as_mut_ptr(), sa);
        _mm512_storeu_pd(acc.s.as_mut_ptr().add(8), sb);
        _mm512_storeu_pd(acc.q.as_mut_ptr(), qa);
        _mm512_storeu_pd(acc.q.as_mut_ptr().add(8), qb);
        _mm512_storeu_ps(acc.min.as_mut_ptr(), mn);
        _mm512_storeu_ps(acc.max.as_mut_ptr(), mx);
    }
    acc.zeros += zeros;
    scalar_run(bytes, head + 16 * groups..n, first, shift, win, &mut acc, t);
    acc.finish(n)
}

/// AVX-512 version of [`super::scalar::block_scalar_code16`] for codes `KIND` (1: BF16, 2: F16): 32
/// values per step, BF16 widened by `vpunpck[lh]wd` with zero (the lane order of
/// [`crate::stats::lanes::bf16_lane`]), F16 by `vcvtph2ps` (in order).
///
/// A tensor of weights (no shift, a window symmetric about zero: [`Window::symmetric_magnitude`])
/// goes through the loop that tests magnitudes; any other through the loop in value order.
/// # Safety
///
/// The CPU must support AVX-512F, AVX-512BW, F16C and POPCNT (`Isa::Avx512`).
#[target_feature(enable = "avx512f,avx512bw,f16c,popcnt")]
pub(crate) unsafe fn block_code16<const KIND: u8, const SHIFTED: bool>(
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    match win.symmetric_magnitude() {
        // SAFETY: (the three calls) the CPU features are the caller's guarantee.
        Some(_) if !SHIFTED && win.extremes_in_tails => unsafe {
            code16_loop::<KIND, SHIFTED, true, false>(bytes, first, shift, win, t)
        },
        // SAFETY: see above.
        Some(_) if !SHIFTED => unsafe {
            code16_loop::<KIND, SHIFTED, true, true>(bytes, first, shift, win, t)
        },
        // SAFETY: see above.
        _ => unsafe { code16_loop::<KIND, SHIFTED, false, true>(bytes, first, shift, win, t) },
    }
}

/// The loop of [`block_code16`]. In value order (`SYMMETRIC` false): extremes and the window
/// test on the codes as signed integers in value order ([`crate::stats::lanes::ord16`]). By
/// magnitude (`SYMMETRIC`): the window test compares `code & 0x7FFF` with the window's magnitude,
/// and the extremes are the largest code as a signed integer (the largest positive value, if the
/// block has one) and as an unsigned one (the negative value of largest magnitude, if it has one):
/// two instructions where value order takes four (an arithmetic shift and a ternary-logic one to
/// order the codes, then a minimum and a maximum); a block without a value of either sign has its
/// extremes taken again in value order, from L1 and L2. Without `EXTREMES` (a window that leaves
/// them to the tails, [`Window::extremes_in_tails`]) the whole loop's extremes are left out.
/// # Safety
///
/// As [`block_code16`]; `SYMMETRIC` only with a symmetric window.
#[target_feature(enable = "avx512f,avx512bw,f16c,popcnt")]
unsafe fn code16_loop<
    const KIND: u8,
    const SHIFTED: bool,
    const SYMMETRIC: bool,
    const EXTREMES: bool,
>(
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let kind = if KIND == BF16_CODES {
        Code16::BF16
    } else {
        Code16::F16
    };
    let n = bytes.len() / 2;
    let mut acc = Lanes32::new();
    let (head, groups) = cut::<32>(first, n);
    code16_run(kind, bytes, 0..head, first, shift, win, &mut acc, t);
    let shift_pd = _mm512_set1_pd(shift);
    let m7 = _mm512_set1_epi16(0x7FFF);
    let (lo_o, hi_o) = (
        _mm512_set1_epi16(win.codes.0),
        _mm512_set1_epi16(win.codes.1),
    );
    let magnitude = _mm512_set1_epi16(win.codes.1);
    // SAFETY: (this load and those below, which say "see above") `acc`'s arrays hold 32 lanes; the group loads read 64
    // bytes at value `head + 32 * k`, inside `bytes` for `k < groups`.
    let mut s: [__m512d; 4] =
        unsafe { std::array::from_fn(|v| _mm512_loadu_pd(acc.s.as_ptr().add(8 * v))) };
    // SAFETY: see above (the lanes of `acc.q`).
    let mut q: [__m512d; 4] =
        unsafe { std::array::from_fn(|v| _mm512_loadu_pd(acc.q.as_ptr().add(8 * v))) };
    // Value order: the least and the greatest `ord16`. By magnitude: the greatest code as i16
    // and as u16 (see above).
    let (mut mn, mut mx) = if SYMMETRIC {
        (_mm512_setzero_si512(), _mm512_set1_epi16(i16::MIN))
    } else {
        (_mm512_set1_epi16(i16::MAX), _mm512_set1_epi16(i16::MIN))
    };
    let mut zeros = 0u64;
    let first_group = (first + head as u64) / 32;
    for_each_step::<2>(first_group, groups, |k, [p0, p1]| {
        let off = (head + 32 * k) * 2;
        prefetch::ahead(bytes, off);
        // SAFETY: see above.
        let v = unsafe { _mm512_loadu_si512(bytes.as_ptr().add(off).cast()) };
        // The values as f64, widened from the bytes in 256- and 128-bit parts: `vcvtps2pd`
        // takes its eight f32 from a ymm register, and extracting the upper half of a zmm one
        // costs a shuffle that the conversions (one every two cycles on Zen 4) wait for. On Zen
        // 4 this kernel ran 3.5% faster for BF16 and 10% for F16 than widening the whole zmm.
        // The lanes are those of `bf16_lane` (BF16: values 0-3 and 8-11 of each sixteen in the
        // first half, 4-7 and 12-15 in the second) and the values in order (F16).
        // SAFETY: the group's 64 bytes, inside `bytes` (see above).
        let x = unsafe {
            let p = bytes.as_ptr().add(off);
            if KIND == BF16_CODES {
                let zero = _mm256_setzero_si256();
                let (v0, v1) = (
                    _mm256_loadu_si256(p.cast()),
                    _mm256_loadu_si256(p.add(32).cast()),
                );
                let lo = |v| _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v)));
                let hi = |v| _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v)));
                [lo(v0), lo(v1), hi(v0), hi(v1)]
            } else {
                let f16 =
                    |at: usize| _mm512_cvtps_pd(_mm256_cvtph_ps(_mm_loadu_si128(p.add(at).cast())));
                [f16(0), f16(16), f16(32), f16(48)]
            }
        };
        for (j, &x) in x.iter().enumerate() {
            let d = if SHIFTED {
                _mm512_sub_pd(x, shift_pd)
            } else {
                x
            };
            s[j] = _mm512_add_pd(s[j], d);
            q[j] = _mm512_fmadd_pd(d, d, q[j]);
        }
        let central = if SYMMETRIC {
            if EXTREMES {
                mn = _mm512_max_epu16(mn, v);
                mx = _mm512_max_epi16(mx, v);
            }
            _mm512_cmple_epu16_mask(_mm512_and_si512(v, m7), magnitude)
        } else {
            // `v ^ ((v >> 15) & 0x7FFF)` in one ternary-logic instruction (0x6A: c ^ (a & b));
            // left to itself the compiler spent three vector instructions on it.
            let ord = _mm512_ternarylogic_epi32::<0x6A>(_mm512_srai_epi16::<15>(v), m7, v);
            mn = _mm512_min_epi16(mn, ord);
            mx = _mm512_max_epi16(mx, ord);
            _mm512_mask_cmple_epi16_mask(_mm512_cmpge_epi16_mask(ord, lo_o), ord, hi_o)
        };
        // Zeros by the mask's popcount: scalar instructions, while this kernel waits on its
        // vector ones (counted in the vector, three of them a step).
        zeros += u64::from(_cvtmask32_u32(_mm512_testn_epi16_mask(v, m7)).count_ones());
        // The upper half through a mask shift: left to itself the compiler moves the mask
        // through memory into a vector register, a store-forwarding stall per step.
        let (c0, c1) = (
            _cvtmask32_u32(central) as u16,
            _cvtmask32_u32(_kshiftri_mask32::<16>(central)) as u16,
        );
        // SAFETY: the two groups of 16 just loaded.
        unsafe {
            count_picked::<KIND>(bytes.as_ptr().add(off), p0, c0, t);
            count_picked::<KIND>(bytes.as_ptr().add(off + 32), p1, c1, t);
        }
    });
    let (mut mins, mut maxs) = ([0i16; 32], [0i16; 32]);
    // SAFETY: see above; `mins` and `maxs` hold 32 16-bit lanes.
    unsafe {
        for v in 0..4 {
            _mm512_storeu_pd(acc.s.as_mut_ptr().add(8 * v), s[v]);
            _mm512_storeu_pd(acc.q.as_mut_ptr().add(8 * v), q[v]);
        }
        _mm512_storeu_si512(mins.as_mut_ptr().cast(), mn);
        _mm512_storeu_si512(maxs.as_mut_ptr().cast(), mx);
    }
    let (lo, hi) = if !EXTREMES {
        (i16::MAX, i16::MIN)
    } else if !SYMMETRIC {
        (
            mins.iter().copied().fold(i16::MAX, i16::min),
            maxs.iter().copied().fold(i16::MIN, i16::max),
        )
    } else {
        let negative = mins.iter().map(|&c| c as u16).fold(0, u16::max);
        let positive = maxs.iter().copied().fold(i16::MIN, i16::max);
        if groups > 0 && (negative < 0x8000 || positive < 0) {
            // A value of one sign only: the extremes in value order (finite ones: a block with
            // NaN or Inf is redone whole by the masked kernel).
            read_extremes(kind, &bytes[2 * head..2 * (head + 32 * groups)])
        } else {
            (ord16(negative), positive)
        }
    };
    if groups > 0 {
        acc.min = acc.min.min(lo);
        acc.max = acc.max.max(hi);
    }
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
