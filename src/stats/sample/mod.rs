//! The sampled method for large F32, BF16 and F16 tensors (and ggml-quantised ones, dequantised to
//! f32 runs): exact moments, exact tails, and a deterministic one-in-sixteen sample of the central
//! values for the distribution.
//!
//! Counting every value into a table (the *Codes* and *Buckets* methods) costs a load and a store
//! per value, which bounds a core at about one value per cycle: 30-40% of the memory bandwidth of
//! the Zen 4 machines here (on the Intel Xeon, with prefetch, 70-73% of the read limit for the
//! whole process while the sampled method reached 76-81%, loaded machine: see the README). This
//! method counts only what the distribution needs:
//!
//! - **Moments** of every value, in f64 lanes (sixteen: lane `i % 16` takes value `i` of the
//!   tensor; for BF16 thirty-two, in the order AVX-512 widens them, see `bf16_lane`), shifted by
//!   one value per tensor near its centre, with min, max and zeros, all exact up to f64 rounding
//!   as in the bucketed kernel. A block holding NaN or Inf (its f64 sums turn
//!   non-finite, which finite f32 values cannot do) has its moments recomputed by the masked
//!   masked F32 kernel of `kernel`, which counts NaN and Inf.
//! - A **window** of central values `[lo, hi]`, chosen per tensor before it is read (the median ±
//!   twice the larger of its distances to the 1st and 99th percentiles, about ±4.7σ for normal
//!   weights, of values spread over the tensor; for weights centred near zero, symmetric about
//!   zero, which AVX-512 tests with one comparison of a 16-bit value's magnitude) and widened to
//!   whole 16-bit key buckets
//!   (the f32's top 16 bits, as in the bucketed method), so that a key is either central or not.
//! - **Tails**: every value outside the window (and every NaN and Inf) is counted under its key:
//!   exactly, as in the bucketed method. The key of an F32 (or dequantised) value is its top 16
//!   bits; a BF16 or F16 value is keyed by its code, so those buckets are single values.
//! - **Sample**: in each aligned group of 16 values (`16g..16g + 16` of the tensor), one lane
//!   chosen by a hash of `g / 8` (a nibble of it per group) is counted under its key if it is
//!   central. Each value is sampled with probability 1/16, independently of its row or column
//!   (a fixed stride would alias with matrix structure); the choice depends only on the value's
//!   position, so results never depend on threads or chunking.
//!
//! At the end (`finish`), central buckets hold sampled counts scaled to the exact number of central
//! values (`finite - tails`), tail buckets exact counts. Percentiles and the histogram are estimates
//! for central values (standard error of a percentile about `sqrt(p(1-p)/m)/density`: 0.007σ for
//! p1 from the 2^18 samples of a 2^22-value tensor), exact to a bucket beyond the window, which is
//! where outliers lie for any threshold above ±4.7σ.
//!
//! The kernels (AVX-512; AVX2 with FMA and F16C; a scalar twin, the reference) perform the same
//! operations per lane in the same order and agree bit for bit, so results do not depend on the
//! CPU either. A tensor whose centre lies within its spread (weights around zero) gets a shift of
//! 0, which spares a subtraction per value at no cost in precision.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod extremes;
mod pick;
mod portable;
mod scalar;
mod window;

pub(crate) use extremes::extremes;
pub(crate) use scalar::block_scalar;
pub(crate) use window::{Window, window, window_ggml};

use super::accum::Summary;
use super::isa::Isa;
use super::kernel::{self, Counter, KeyTable, Layout};
use super::lanes::{BlockSums, Code16};
use crate::model::DType;

/// Values per block: the per-block work (folding the lanes, merging, choosing the count table's
/// layout) is a few hundred nanoseconds, and a block's f64 lane sums stay within about 1e-16
/// relative for any length.
pub(crate) const BLOCK: usize = 1 << 15;

/// The element types the sampled kernels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    F32,
    BF16,
    F16,
}

impl Source {
    pub fn of(dtype: DType) -> Option<Source> {
        match dtype {
            DType::F32 => Some(Source::F32),
            DType::BF16 => Some(Source::BF16),
            DType::F16 => Some(Source::F16),
            _ => None,
        }
    }

    pub fn width(self) -> usize {
        match self {
            Source::F32 => 4,
            Source::BF16 | Source::F16 => 2,
        }
    }

    /// Value `i` of `bytes`, as f32 (exact for all three types).
    #[inline(always)]
    pub fn value(self, bytes: &[u8], i: usize) -> f32 {
        match self {
            Source::F32 => {
                let b = &bytes[4 * i..4 * i + 4];
                f32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
            Source::BF16 => {
                Code16::BF16.value(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]))
            }
            Source::F16 => Code16::F16.value(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])),
        }
    }
}

/// The 16-bit key of an f32 (its top 16 bits), as the bucketed method keys values.
#[inline(always)]
pub(crate) fn key(x: f32) -> usize {
    (x.to_bits() >> 16) as usize
}

/// The element layouts the vector kernels are compiled for, as their const generic parameter (an
/// enum cannot be one on stable Rust): F32 values, keyed by their top half, or 16-bit codes, keyed
/// by the code.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
pub(crate) const F32_VALUES: u8 = 0;
/// BF16 codes (see [`F32_VALUES`]).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
pub(crate) const BF16_CODES: u8 = 1;
/// F16 codes (see [`F32_VALUES`]).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
pub(crate) const F16_CODES: u8 = 2;

/// A vector kernel compiled to subtract the tensor's shift from every value.
pub(crate) const SHIFTED: bool = true;
/// A vector kernel compiled for a shift of 0 (weights centred near zero): one subtraction fewer
/// per value.
pub(crate) const UNSHIFTED: bool = false;

/// One block with the kernel of `isa` (see [`block_scalar`]); without its extremes (±∞) when the
/// window leaves them to the tails ([`Window::extremes_in_tails`]), whichever kernel ran.
pub(crate) fn block(
    isa: Isa,
    source: Source,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let sums = kernel_block(isa, source, bytes, first, shift, win, t)?;
    Some(if win.extremes_in_tails {
        BlockSums {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            ..sums
        }
    } else {
        sums
    })
}

/// One block with the kernel of `isa`, as it comes out of the kernel.
fn kernel_block(
    isa: Isa,
    source: Source,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    #[cfg(target_arch = "x86_64")]
    let unshifted = shift == 0.0;
    match isa {
        Isa::Scalar => block_scalar(source, bytes, first, shift, win, t),
        Isa::Portable => match source {
            Source::F32 => portable::block_f32(bytes, first, shift, win, t),
            Source::BF16 => portable::block_code16(Code16::BF16, bytes, first, shift, win, t),
            Source::F16 => portable::block_code16(Code16::F16, bytes, first, shift, win, t),
        },
        // SAFETY: `Isa::Avx2` is only constructed by `Isa::available` after the CPU reported AVX2,
        // FMA, F16C and POPCNT, all that the `avx2` kernels enable.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe {
            use avx2::{block_code16, block_f32};
            match (source, unshifted) {
                (Source::F32, true) => block_f32::<UNSHIFTED>(bytes, first, shift, win, t),
                (Source::F32, false) => block_f32::<SHIFTED>(bytes, first, shift, win, t),
                (Source::BF16, true) => {
                    block_code16::<BF16_CODES, UNSHIFTED>(bytes, first, shift, win, t)
                }
                (Source::BF16, false) => {
                    block_code16::<BF16_CODES, SHIFTED>(bytes, first, shift, win, t)
                }
                (Source::F16, true) => {
                    block_code16::<F16_CODES, UNSHIFTED>(bytes, first, shift, win, t)
                }
                (Source::F16, false) => {
                    block_code16::<F16_CODES, SHIFTED>(bytes, first, shift, win, t)
                }
            }
        },
        // SAFETY: `Isa::Avx512` is only constructed by `Isa::available` after the CPU reported
        // AVX-512F, AVX-512BW and the features of `Avx2`, all that the `avx512` kernels enable.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe {
            use avx512::{block_code16, block_f32};
            match (source, unshifted) {
                (Source::F32, true) => block_f32::<UNSHIFTED>(bytes, first, shift, win, t),
                (Source::F32, false) => block_f32::<SHIFTED>(bytes, first, shift, win, t),
                (Source::BF16, true) => {
                    block_code16::<BF16_CODES, UNSHIFTED>(bytes, first, shift, win, t)
                }
                (Source::BF16, false) => {
                    block_code16::<BF16_CODES, SHIFTED>(bytes, first, shift, win, t)
                }
                (Source::F16, true) => {
                    block_code16::<F16_CODES, UNSHIFTED>(bytes, first, shift, win, t)
                }
                (Source::F16, false) => {
                    block_code16::<F16_CODES, SHIFTED>(bytes, first, shift, win, t)
                }
            }
        },
    }
}

/// Summary of the values `bytes` of a tensor, the first being value `first`, block by block; tails
/// and samples go into `table`. `scratch` holds f32 bytes when a block with NaN or Inf has its
/// moments recomputed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn summarise(
    isa: Isa,
    source: Source,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    table: &mut KeyTable,
    scratch: &mut Vec<u8>,
) -> Summary {
    let mut out = Summary::default();
    let width = source.width();
    for (b, block) in bytes.chunks(BLOCK * width).enumerate() {
        let start = first + (b * BLOCK) as u64;
        let sums = match table.pick() {
            Layout::Plain(t) => self::block(isa, source, block, start, shift, win, t),
            Layout::Lanes(t) => self::block(isa, source, block, start, shift, win, t),
        };
        let n = block.len() / width;
        table.observe(n, |i| key(source.value(block, i)));
        match sums {
            Some(sums) => out.add_block(&sums),
            None => {
                // NaN or Inf in the block: the masked kernel counts them (keys are already
                // counted), over f32 bytes in its own block size.
                let f32_bytes = if source == Source::F32 {
                    block
                } else {
                    scratch.clear();
                    scratch.extend((0..n).flat_map(|i| source.value(block, i).to_le_bytes()));
                    &scratch[..]
                };
                let rep = (0..n)
                    .map(|i| source.value(block, i))
                    .find(|x| x.is_finite())
                    .unwrap_or(0.0);
                for sub in f32_bytes.chunks(kernel::BLOCK * 4) {
                    out.add_block(&kernel::f32_block(isa, sub, shift, rep, None));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pick::{picks, sampled};
    use super::window::{PROBE, Probed, rank};
    use super::*;
    use crate::stats::kernel::NoCount;
    use crate::stats::lanes::{bf16_lane, ord16};
    use std::collections::BTreeMap;

    /// A table that records every bump.
    #[derive(Default)]
    struct Record(BTreeMap<usize, u64>);

    impl Counter for Record {
        fn bump(&mut self, key: usize, _lane: usize) {
            *self.0.entry(key).or_default() += 1;
        }
    }

    fn mixed(n: usize, seed: u64, specials: bool) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                match state % 113 {
                    0 if specials => f32::NAN,
                    1 if specials => f32::INFINITY,
                    2 => -0.0,
                    3 => 0.0,
                    4 => 0.9,
                    5 => -0.7,
                    6 => f32::from_bits(1 + (state >> 40) as u32 % 1000),
                    _ => ((u - 0.5) * 0.1) as f32,
                }
            })
            .collect()
    }

    fn encode(source: Source, v: &[f32]) -> Vec<u8> {
        match source {
            Source::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Source::BF16 => v
                .iter()
                .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
            Source::F16 => v
                .iter()
                .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                .collect(),
        }
    }

    #[test]
    fn bf16_lanes_are_a_permutation_in_widening_order_and_ord16_is_value_order() {
        let lanes: Vec<usize> = (0..32).map(bf16_lane).collect();
        let mut sorted = lanes.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..32).collect::<Vec<_>>());
        // Lanes 0-7: values 0-3, 8-11; 8-15: 16-19, 24-27; 16-23: 4-7, 12-15; 24-31: 20-23, 28-31.
        let order = [
            0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27, 4, 5, 6, 7, 12, 13,
        ];
        for (lane, &p) in order.iter().enumerate() {
            assert_eq!(bf16_lane(p), lane);
        }
        for code in 0..=u16::MAX {
            assert_eq!(
                i32::from(ord16(code)) + 0x8000,
                rank(u32::from(code)) as i32
            );
            assert_eq!(ord16(ord16(code) as u16) as u16, code);
        }
    }

    #[test]
    fn sample_picks_one_lane_in_sixteen_evenly() {
        let mut per_lane = [0u64; 16];
        for g in 0..100_000u64 {
            let a = picks(g);
            assert!(a < 16);
            per_lane[a] += 1;
        }
        // Each lane about 6,250 times (binomial standard deviation 77).
        assert!(
            per_lane.iter().all(|&c| (5_800..6_700).contains(&c)),
            "{per_lane:?}"
        );
        let n = 1 << 20;
        let hits = (0..n).filter(|&i| sampled(i)).count();
        assert_eq!(hits as u64, n / 16);
        // No aliasing with a matrix column: every column of 4096 is sampled about 1/16 of the
        // time over 512 rows (32 times, binomial standard deviation 5.5).
        let cols = 4096u64;
        let mut per_col = vec![0u32; cols as usize];
        for i in 0..cols * 512 {
            per_col[(i % cols) as usize] += u32::from(sampled(i));
        }
        assert!(
            per_col.iter().all(|&c| (8..=64).contains(&c)),
            "{:?} {:?}",
            per_col.iter().min(),
            per_col.iter().max()
        );
    }

    #[test]
    fn window_keys_agree_with_its_bounds() {
        let cases = [
            (-0.07f32, 0.08f32),
            (0.0, 1.0),
            (-1.0, 0.0),
            (0.0, 0.0),
            (-0.0, -0.0),
            (0.9, 1.1),
            (-1.1, -0.9),
            (-f32::MIN_POSITIVE, f32::MIN_POSITIVE),
            (f32::MIN, f32::MAX),
        ];
        let probes: Vec<f32> = [
            0.0f32,
            -0.0,
            1e-40,
            -1e-40,
            0.07,
            -0.07,
            0.08,
            -0.08,
            0.0801,
            -0.0701,
            0.9,
            1.1,
            -0.9,
            -1.1,
            1.0,
            -1.0,
            1.2,
            -1.2,
            0.5,
            -0.5,
            f32::MAX,
            f32::MIN,
            3e-39,
        ]
        .into_iter()
        .flat_map(|x| {
            [
                x,
                f32::from_bits(x.to_bits() + 1),
                f32::from_bits(x.to_bits().saturating_sub(1)),
            ]
        })
        .filter(|x| x.is_finite())
        .collect();
        for (a, b) in cases {
            let w = Window::covering(a, b);
            assert!(w.lo <= a && w.hi >= b, "{a} {b}: {w:?}");
            for &x in &probes {
                assert_eq!(
                    w.central(x),
                    w.central_key(x.to_bits() >> 16),
                    "{a}..{b}: {x:e} ({:#x}) in {w:?}",
                    x.to_bits()
                );
            }
        }
    }

    #[test]
    fn f16_code_bounds_select_exactly_the_values_inside_the_window() {
        let cases = [
            (-0.07f32, 0.08f32),
            (0.0, 1.0),
            (-1.0, 0.0),
            (0.0, 0.0),
            (0.9, 1.1),
            (-1.1, -0.9),
            (1.0001, 1.0002), // no F16 value inside
            (1e-7, 1e-6),     // F16 subnormals
            (-1e6, 1e6),      // beyond the F16 range
            (f32::MIN, f32::MAX),
        ];
        for (a, b) in cases {
            let w = Window::covering(a, b).for_f16();
            for code in 0..=u16::MAX {
                let x = half::f16::from_bits(code).to_f32();
                if x.is_nan() {
                    continue;
                }
                let o = ord16(code);
                assert_eq!(
                    w.central(x),
                    w.codes.0 <= o && o <= w.codes.1,
                    "{a}..{b}: {code:#06x} = {x:e} in {w:?}"
                );
            }
        }
    }

    #[test]
    fn window_of_normal_values_is_about_five_sigma_and_constant_tensors_stay_central() {
        let v: Vec<f32> = mixed(100_000, 3, false);
        let bytes = encode(Source::F32, &v);
        let Probed {
            shift,
            window: w,
            ranges,
        } = window(Source::F32, &bytes);
        assert_eq!(shift, 0.0, "centred values need no shift");
        assert_eq!(ranges.len(), 8);
        assert!(
            ranges
                .iter()
                .all(|r| r.len() == 4 * PROBE && r.end <= bytes.len())
        );
        assert!(ranges.windows(2).all(|p| p[0].end <= p[1].start));
        assert!(
            w.lo < -0.05 && w.lo > -0.2 && w.hi > 0.05 && w.hi < 0.2,
            "{w:?}"
        );
        for c in [0.0f32, 1.0, -3.5, 1e-30] {
            let bytes = encode(Source::F32, &vec![c; 5000]);
            let Probed {
                shift, window: w, ..
            } = window(Source::F32, &bytes);
            assert_eq!(shift, if c == 0.0 { 0.0 } else { f64::from(c) });
            assert!(w.central(c), "{c}: {w:?}");
        }
        let w = window(Source::F32, &encode(Source::F32, &[f32::NAN; 10])).window;
        assert!(w.central(0.0));
        let p = window(Source::F32, &[]);
        assert_eq!((p.shift, p.ranges.len()), (0.0, 1));
    }

    #[test]
    fn vector_kernels_match_the_scalar_kernel_bit_for_bit() {
        for kernel in Isa::available() {
            for source in [Source::F32, Source::BF16, Source::F16] {
                for (n, first, specials) in [
                    (0, 0, false),
                    (1, 5, false),
                    (15, 1, false),
                    (16, 0, false),
                    (17, 15, true),
                    (31, 1, false),
                    (32, 0, false),
                    (70, 17, false),
                    (4096, 0, false),
                    (4096, 7, true),
                    (4000, 33, false),
                    (4000, 16, false),
                    (1000, 1 << 40, true),
                ] {
                    let v = mixed(n, n as u64 + first, specials);
                    let bytes = encode(source, &v);
                    for shift in [0.001, 0.0] {
                        let win = Window::covering(-0.04, 0.045);
                        let (mut t1, mut t2) = (Record::default(), Record::default());
                        let a = block(kernel, source, &bytes, first, shift, &win, &mut t1);
                        let b = block_scalar(source, &bytes, first, shift, &win, &mut t2);
                        let bits = |s: Option<BlockSums>| s.map(|s| (s.s.to_bits(), s.q.to_bits()));
                        let case = format!("{kernel:?} {source:?} n={n} first={first} {shift}");
                        if kernel == Isa::Portable {
                            // Squares rounded before they are added: within a few ulps per value.
                            let (Some(a), Some(b)) = (a, b) else {
                                assert_eq!(a.is_none(), b.is_none(), "{case}");
                                assert_eq!(t1.0, t2.0, "{case}");
                                continue;
                            };
                            assert_eq!(a.s.to_bits(), b.s.to_bits(), "{case}");
                            assert!((a.q - b.q).abs() <= 1e-15 * b.q * n as f64, "{case}");
                            assert_eq!(BlockSums { q: b.q, ..a }, b, "{case}");
                        } else {
                            assert_eq!(bits(a), bits(b), "{case}");
                            assert_eq!(a, b, "{case}");
                        }
                        assert_eq!(t1.0, t2.0, "{case}");
                        assert_eq!(a.is_none(), v.iter().any(|x| !x.is_finite()));
                    }
                }
            }
        }
    }

    /// Wholly central stretches, tails, NaN and infinities at part boundaries of the kernels that
    /// work by parts (the portable F32 kernel: 4096 values; a part whose extremes lie inside the
    /// window counts only its sampled values, any other, and every part after a NaN or an
    /// infinity, tests each value). Each case for every kernel and type against the scalar
    /// reference, over a whole block (32,768 values) and a stretch of one.
    #[test]
    fn kernels_count_central_parts_and_parts_with_tails_as_the_scalar_kernel() {
        let central = |i: usize| ((i * 7919 % 1000) as f32 - 500.0) / 20_000.0;
        let win = Window::covering(-0.03, 0.03);
        // What replaces value `i`, if anything.
        type Special = fn(usize) -> Option<f32>;
        let cases: [(&str, Special); 5] = [
            ("all central", |_| None),
            ("tails in one part", |i| (i == 9000).then_some(0.5)),
            ("a tail in every part", |i| {
                (i % 2048 == 100).then_some(-0.5)
            }),
            ("NaN in the second part", |i| {
                (i == 5000).then_some(f32::NAN)
            }),
            ("infinity and tails after it", |i| match i {
                4100 => Some(f32::NEG_INFINITY),
                20_000 | 30_000 => Some(0.25),
                _ => None,
            }),
        ];
        for (what, special) in cases {
            let v: Vec<f32> = (0..BLOCK)
                .map(|i| special(i).unwrap_or(central(i)))
                .collect();
            for kernel in Isa::available() {
                for source in [Source::F32, Source::BF16, Source::F16] {
                    let win = if source == Source::F16 {
                        win.for_f16()
                    } else {
                        win
                    };
                    let bytes = encode(source, &v);
                    let w = source.width();
                    for (first, len) in [(0, BLOCK), (3, BLOCK - 3), (32 * 500, 20_000)] {
                        let bytes = &bytes[..w * len];
                        for shift in [0.0, 0.001] {
                            let case = format!(
                                "{what}: {kernel:?} {source:?} first={first} len={len} {shift}"
                            );
                            let (mut t1, mut t2) = (Record::default(), Record::default());
                            let a = block(kernel, source, bytes, first, shift, &win, &mut t1);
                            let b = block_scalar(source, bytes, first, shift, &win, &mut t2);
                            assert_eq!(t1.0, t2.0, "{case}");
                            assert_eq!(a.is_none(), b.is_none(), "{case}");
                            let has_special = v[..len].iter().any(|x| !x.is_finite());
                            assert_eq!(b.is_none(), has_special, "{case}");
                            let (Some(a), Some(b)) = (a, b) else { continue };
                            assert_eq!(a.s.to_bits(), b.s.to_bits(), "{case}");
                            if kernel == Isa::Portable {
                                let bound = 1e-15 * b.q * len as f64;
                                assert!((a.q - b.q).abs() <= bound, "{case}");
                            } else {
                                assert_eq!(a.q.to_bits(), b.q.to_bits(), "{case}");
                            }
                            assert_eq!(BlockSums { q: b.q, ..a }, b, "{case}");
                        }
                    }
                }
            }
        }
    }

    /// The loop by magnitude (a symmetric window) takes a block's extremes from its largest code
    /// as a signed and as an unsigned integer; a block of one sign, or of zeros, has them taken
    /// again in value order.
    #[test]
    fn blocks_of_one_sign_have_the_extremes_of_the_scalar_kernel() {
        let win = Window::covering(-0.03, 0.03);
        assert!(win.symmetric_magnitude().is_some());
        assert_eq!(Window::covering(-0.04, 0.045).symmetric_magnitude(), None);
        let magnitude = |i: usize| (i * 7919 % 1000) as f32 / 20_000.0;
        type Values = fn(usize, f32) -> f32;
        let cases: [(&str, Values); 6] = [
            ("positive", |_, m| m),
            ("negative", |_, m| -m - 1e-4),
            ("positive and +0", |i, m| if i % 5 == 0 { 0.0 } else { m }),
            ("negative and -0", |i, m| if i % 5 == 0 { -0.0 } else { -m }),
            ("zeros", |i, _| if i % 2 == 0 { 0.0 } else { -0.0 }),
            ("one negative value", |i, m| if i == 4000 { -m } else { m }),
        ];
        for (what, value) in cases {
            let v: Vec<f32> = (0..BLOCK).map(|i| value(i, magnitude(i))).collect();
            for kernel in Isa::available() {
                for source in [Source::BF16, Source::F16] {
                    let win = if source == Source::F16 {
                        win.for_f16()
                    } else {
                        win
                    };
                    assert!(win.symmetric_magnitude().is_some(), "{source:?}");
                    let bytes = encode(source, &v);
                    for first in [0, 3] {
                        let case = format!("{what}: {kernel:?} {source:?} first={first}");
                        let (mut t1, mut t2) = (Record::default(), Record::default());
                        let a = block(kernel, source, &bytes, first, 0.0, &win, &mut t1);
                        let b = block_scalar(source, &bytes, first, 0.0, &win, &mut t2);
                        assert_eq!(t1.0, t2.0, "{case}");
                        let (a, b) = (a.unwrap(), b.unwrap());
                        assert_eq!((a.min, a.max, a.zeros), (b.min, b.max, b.zeros), "{case}");
                        let decoded: Vec<f64> = (0..v.len())
                            .map(|i| f64::from(source.value(&bytes, i)))
                            .collect();
                        let lo = decoded.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = decoded.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        assert_eq!((b.min, b.max), (lo, hi), "{case}");
                    }
                }
            }
        }
    }

    /// A window that leaves extremes to the tails: every kernel leaves them out of a block (the
    /// AVX-512 one never computes them), and agrees with the scalar kernel on everything else.
    #[test]
    fn kernels_leave_extremes_out_when_the_window_leaves_them_to_the_tails() {
        for kernel in Isa::available() {
            for source in [Source::BF16, Source::F16] {
                let win = Window::covering(-0.03, 0.03);
                let win = Window {
                    extremes_in_tails: true,
                    ..if source == Source::F16 {
                        win.for_f16()
                    } else {
                        win
                    }
                };
                for (n, first) in [(4096, 0), (4000, 33), (BLOCK, 5)] {
                    let v = mixed(n, n as u64 + first, false);
                    let bytes = encode(source, &v);
                    let case = format!("{kernel:?} {source:?} n={n} first={first}");
                    let (mut t1, mut t2) = (Record::default(), Record::default());
                    let a = block(kernel, source, &bytes, first, 0.0, &win, &mut t1).unwrap();
                    let b = block_scalar(source, &bytes, first, 0.0, &win, &mut t2).unwrap();
                    assert_eq!(t1.0, t2.0, "{case}");
                    assert_eq!((a.min, a.max), (f64::INFINITY, f64::NEG_INFINITY), "{case}");
                    assert_eq!(a.s.to_bits(), b.s.to_bits(), "{case}");
                    assert_eq!((a.n, a.zeros), (b.n, b.zeros), "{case}");
                }
            }
        }
    }

    #[test]
    fn normal_16_bit_weights_leave_their_extremes_to_the_tails_and_uniform_ones_do_not() {
        let mut state = 99u64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let normal: Vec<f32> = (0..100_000)
            .map(|_| {
                // Box-Muller.
                let (u, w) = (uniform().max(1e-300), uniform());
                (0.02 * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * w).cos()) as f32
            })
            .collect();
        let flat: Vec<f32> = (0..100_000)
            .map(|_| (uniform() * 0.1 - 0.05) as f32)
            .collect();
        for source in [Source::BF16, Source::F16] {
            let w = window(source, &encode(source, &normal)).window;
            assert!(w.extremes_in_tails, "{source:?} normal: {w:?}");
            let w = window(source, &encode(source, &flat)).window;
            assert!(!w.extremes_in_tails, "{source:?} uniform: {w:?}");
        }
        // F32 keeps its extremes in its kernels.
        let w = window(Source::F32, &encode(Source::F32, &normal)).window;
        assert!(!w.extremes_in_tails);
    }

    #[test]
    fn the_window_of_weights_is_symmetric_about_zero_and_a_shifted_one_is_not() {
        // Uniform over ±0.025 around `centre`: a spread of about 0.0245.
        let values = |centre: f32| -> Vec<u8> {
            let v: Vec<f32> = (0..100_000)
                .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 20_000.0 + centre)
                .collect();
            encode(Source::BF16, &v)
        };
        // The median within a quarter of the spread of zero: symmetric.
        let w = window(Source::BF16, &values(0.004)).window;
        assert!(w.symmetric_magnitude().is_some(), "{w:?}");
        assert_eq!(w.lo, -w.hi);
        assert!(w.hi > 0.004 + 0.045 && w.hi < 0.004 + 0.055, "{w:?}");
        // Around 0.01 (no shift, yet far from symmetric): the median ± twice the spread, tested
        // in value order.
        let Probed {
            shift, window: w, ..
        } = window(Source::BF16, &values(0.01));
        assert_eq!(shift, 0.0);
        assert_eq!(w.symmetric_magnitude(), None, "{w:?}");
        assert!(w.lo > 0.01 - 0.055 && w.hi < 0.01 + 0.055, "{w:?}");
        let v = vec![1.0f32; 5000];
        let w = window(Source::F16, &encode(Source::F16, &v)).window;
        assert_eq!(w.symmetric_magnitude(), None, "{w:?}");
    }

    #[test]
    fn scalar_kernel_matches_a_naive_reference() {
        let v = mixed(4096, 11, false);
        let first = 4096 * 3 + 5;
        let (shift, win) = (0.0, Window::covering(-0.03, 0.03));
        let mut t = Record::default();
        let got = block_scalar(
            Source::F32,
            &encode(Source::F32, &v),
            first,
            shift,
            &win,
            &mut t,
        )
        .unwrap();
        let x: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
        let s: f64 = x.iter().sum();
        let q: f64 = x.iter().map(|x| x * x).sum();
        assert!((got.s - s).abs() < 1e-13 * q.sqrt());
        assert!((got.q - q).abs() < 1e-13 * q);
        assert_eq!(got.zeros, v.iter().filter(|&&x| x == 0.0).count() as u64);
        assert_eq!(got.min, x.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(got.max, x.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let mut want: BTreeMap<usize, u64> = BTreeMap::new();
        for (j, &x) in v.iter().enumerate() {
            if !win.central(x) || sampled(first + j as u64) {
                *want.entry((x.to_bits() >> 16) as usize).or_default() += 1;
            }
        }
        assert_eq!(t.0, want);
        let _ = NoCount;
    }
}
