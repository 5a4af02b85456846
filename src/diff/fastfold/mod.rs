//! The fast fold of a changed pair of the same float dtype (BF16, F16, F32), read straight from
//! the stored bytes.
//!
//! The general path ([`PairAccum::add`]) decodes both sides to f64 buffers and folds them one
//! value at a time with a branch per value; on two fully changed 2 GiB BF16 checkpoints it ran at
//! about 9× the read limit. Here values are widened to f32 (exact for all three dtypes) and
//! folded in independent f64 lanes; the products of f32 values are exact in f64, so the only
//! change against the general path is the order of the additions (last-bit differences), while
//! Δ = b − a, max |Δ| and the |Δ| histogram bins are the same values. Equality is an integer
//! compare of the stored bits. A block holding a NaN or an infinity on either side goes through
//! the general path, which counts them.
//!
//! Three builds of the kernel, chosen at run time ([`Isa::best`], or `GLASSBOX_KERNEL` for
//! benchmarking, see [`Isa::chosen`]):
//!
//! - [`avx512`]: explicit AVX-512, sixteen values per step in two vectors of eight f64 lanes;
//! - [`avx2`]: the same steps with AVX2 (four f64 lanes per register), for x86-64 CPUs without
//!   AVX-512;
//! - the portable kernel below, blocks of [`BLOCK`] values in [`LANES`] f64 lanes written so LLVM
//!   vectorises them, for every other CPU (ARM included).
//!
//! Per value, the loop does only the sums (Σ a, Σ b, Σ a², Σ b², Σ Δ²), the maximum of |Δ| and
//! the equal-bits count; Σ ab is derived ([`product_sum`]). The explicit kernels find NaN and
//! infinity once per block of 1,024 values (a non-finite value makes the block's Σ a² or Σ b²
//! non-finite), the portable one per block of [`BLOCK`] with an integer test.
//!
//! The |Δ| histogram (for p99) is counted apart, after each block, from the values again (in L1):
//! every value when the pair holds at most [`SAMPLE_ABOVE`] values or `--exact` asks, otherwise
//! the steps of sixteen values [`sampled_step`] picks, one in 8 to one in 32 (at least
//! [`SAMPLE_AT_LEAST`] values), each count then standing for as many ([`FoldScratch::flush_into`]). Counting every value was about half of the fold's time:
//! an increment per value, the few hot bins waiting for each other's stores. The counts go into
//! [`COPIES`] interleaved copies (value `i` of a step into copy `i % COPIES`) to break those
//! chains. The copies live in a [`FoldScratch`] the caller keeps across calls and flushes into
//! the accumulator once per chunk, so a call may be as short as one row: each call returns the
//! Σ Δ² of its own values, which is how the numbers pass gets the row energies the low-rank gate
//! samples by (see `lowrank`). All prefetch the two input streams ahead, since the diff reads two
//! maps at once.
//!
//! Measured (AMD EPYC Zen 4, 2 vCPU, two 2 GiB BF16 files in the page cache, every value
//! changed, `--no-rank`; `readlimit` on both files is the limit): AVX-512 about 1.6-1.8× the
//! limit, AVX2 about 2×, the portable build (x86-64 baseline, SSE2) about 7.5× — see README.md,
//! "glassbox diff".

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

use super::numbers::{BINS, PairAccum};
use crate::dtype::DType;

/// Values per block: the unit of the non-finite check and of the fold to the accumulator.
const BLOCK: usize = 64;
/// Independent f64 accumulators per sum (two AVX2 registers).
const LANES: usize = 8;
/// Interleaved copies of the |Δ| histogram (see the module guide).
const COPIES: usize = 8;
/// Bytes read ahead on both streams (the distance the statistics engine measured best).
#[cfg(target_arch = "x86_64")]
const PREFETCH: usize = 8192;
/// Rows of the histogram copies: a power of two above [`BINS`], so a masked bin index needs no
/// bounds check.
const BIN_ROWS: usize = 2048;
/// Values counted into the copies between two flushes: each u32 copy then counts at most a
/// quarter of them (plus a block), far below `u32::MAX`.
const FLUSH_VALUES: u64 = 1 << 30;

/// Values in a pair above which the |Δ| histogram counts a sample (unless `--exact`), as the
/// statistics engine samples the central values of tensors above 2^22 values.
pub(crate) const SAMPLE_ABOVE: u64 = 1 << 22;
/// Values a sampled pair counts at least: the sample is one step in 2^k, k as large as keeps
/// this many (and at most [`MAX_SAMPLE_SHIFT`]). Half a million values put the p99 within about
/// 1.4% of the tail's mass (the tail holds 5,000 of them), far inside the histogram's 9% bins.
const SAMPLE_AT_LEAST: u64 = 1 << 19;
/// The sparsest sample: one step in 32. Sparser gains little: counting is then a few percent of
/// the fold.
const MAX_SAMPLE_SHIFT: u32 = 5;

/// The |Δ| histogram copies of the fast fold (`copies[bin][copy]`), kept by the caller across
/// calls and added to a [`PairAccum`] by [`FoldScratch::flush_into`].
pub(crate) struct FoldScratch {
    copies: Box<[[u32; COPIES]; BIN_ROWS]>,
    /// Values folded since the last flush.
    values: u64,
    /// One step in 2^shift is counted (each count then stands for 2^shift values); 0: every step.
    shift: u32,
}

impl FoldScratch {
    /// Copies for a pair of `values` values: counted exactly up to [`SAMPLE_ABOVE`] or when
    /// `exact`, otherwise a sample of at least [`SAMPLE_AT_LEAST`] values.
    pub fn for_pair(values: u64, exact: bool) -> Self {
        let shift = if exact || values <= SAMPLE_ABOVE {
            0
        } else {
            (values / SAMPLE_AT_LEAST).ilog2().min(MAX_SAMPLE_SHIFT)
        };
        Self::new(shift)
    }

    /// A scratch counting one step in 2^`shift` (0: every step).
    pub fn new(shift: u32) -> Self {
        const _: () = assert!(BINS <= BIN_ROWS);
        assert!(shift <= MAX_SAMPLE_SHIFT);
        FoldScratch {
            copies: Box::new([[0; COPIES]; BIN_ROWS]),
            values: 0,
            shift,
        }
    }

    /// Adds the counts (each sampled count standing for 2^shift values) to `acc`'s histogram and
    /// starts again from zero.
    pub fn flush_into(&mut self, acc: &mut PairAccum) {
        if self.values == 0 {
            return;
        }
        let weight = 1u64 << self.shift;
        for (h, c) in acc.histogram_mut().iter_mut().zip(self.copies.iter_mut()) {
            *h += weight * c.iter().map(|&x| u64::from(x)).sum::<u64>();
            *c = [0; COPIES];
        }
        self.values = 0;
    }
}

/// Which steps of [`STEP`] values a call counts into the |Δ| histogram.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sampling {
    /// The index within the tensor of the call's first value.
    first_value: u64,
    /// One step in 2^shift is counted; 0: every step.
    shift: u32,
}

impl Sampling {
    /// Whether the step starting `offset` values into the call is counted.
    #[inline(always)]
    fn takes(self, offset: usize) -> bool {
        self.shift == 0 || sampled_step(self.first_value + offset as u64, self.shift)
    }
}

/// Values per histogram step: the unit the sample picks (one AVX-512 step).
const STEP: usize = 16;

/// Whether the step whose first value has index `value` in its tensor is in the 1-in-2^`shift`
/// sample (`shift` ≥ 1): the top `shift` bits of a Weyl sequence (value × 2^64/φ) are zero. That
/// spreads the picks evenly over any run of steps and any row width, and depends on the position
/// only (so every build and every thread count counts the same steps).
#[inline(always)]
fn sampled_step(value: u64, shift: u32) -> bool {
    value.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - shift) == 0
}

/// Σ ab from Σ a², Σ b² and Σ (b − a)²: the fast folds do not sum it (one FMA in seven saved);
/// the difference is off by about 1e-16 of Σ a² + Σ b², which cosine and Pearson divide by.
fn product_sum(aa: f64, bb: f64, dd: f64) -> f64 {
    0.5 * (aa + bb - dd)
}

/// The instruction sets the fast fold is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// The baseline target's build of the portable kernel.
    Portable,
    /// The portable kernel compiled with AVX2 and FMA.
    Avx2,
    /// The explicit AVX-512 kernel.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (x86 only)
    Avx512,
}

impl Isa {
    /// The fastest build this CPU runs.
    pub fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("f16c")
                && std::arch::is_x86_feature_detected!("popcnt")
            {
                return Isa::Avx512;
            }
        }
        if has_avx2_fma() {
            return Isa::Avx2;
        }
        Isa::Portable
    }

    /// The build the diff runs: [`Isa::best`], or a lower one `GLASSBOX_KERNEL` names for
    /// benchmarking (`scalar` and `portable` both name the portable build; a build the CPU lacks
    /// is ignored, as the statistics engine ignores it). Read once.
    pub fn chosen() -> Isa {
        static CHOSEN: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let forced = std::env::var("GLASSBOX_KERNEL")
                .ok()
                .and_then(|name| crate::stats::parse_kernel(&name));
            Isa::forced_or_best(forced)
        })
    }

    /// The build a forced statistics kernel names, if this CPU runs it; else [`Isa::best`].
    fn forced_or_best(forced: Option<crate::stats::Isa>) -> Isa {
        use crate::stats::Isa as Kernel;
        let named = match forced {
            Some(Kernel::Scalar | Kernel::Portable) => Isa::Portable,
            #[cfg(target_arch = "x86_64")]
            Some(Kernel::Avx2) => Isa::Avx2,
            #[cfg(target_arch = "x86_64")]
            Some(Kernel::Avx512) => Isa::Avx512,
            None => return Isa::best(),
        };
        let runs = match named {
            Isa::Portable => true,
            Isa::Avx2 => has_avx2_fma(),
            Isa::Avx512 => Isa::best() == Isa::Avx512,
        };
        if runs { named } else { Isa::best() }
    }

    /// Every build this CPU runs (for the tests, which check each against the general path).
    #[cfg(test)]
    pub fn supported() -> Vec<Isa> {
        let mut builds = vec![Isa::Portable];
        if has_avx2_fma() {
            builds.push(Isa::Avx2);
        }
        if Isa::best() == Isa::Avx512 {
            builds.push(Isa::Avx512);
        }
        builds
    }
}

/// Whether the CPU runs the AVX2 kernel (AVX2, FMA, F16C and POPCNT).
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether `dtype` has a fast fold.
pub(crate) fn has_fast_path(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::BF16 | DType::F16)
}

/// Folds the stored bytes `a` and `b` of the same values (same `dtype`) into `acc`, the |Δ|
/// histogram into `scratch` (flushed into `acc` by the caller), with the best build for this
/// CPU; `first_value` is the index of the first of these values in the tensor (the sample's
/// picks depend on it). Returns the Σ Δ² of these values (finite pairs), or `None`, touching
/// nothing, when the dtype has no fast path.
pub(crate) fn add_same_dtype(
    acc: &mut PairAccum,
    scratch: &mut FoldScratch,
    dtype: DType,
    a: &[u8],
    b: &[u8],
    first_value: u64,
) -> Option<f64> {
    add_same_dtype_with(Isa::chosen(), acc, scratch, dtype, a, b, first_value)
}

/// [`add_same_dtype`] with the build `isa`, which must be one this CPU runs ([`Isa::best`] or
/// below).
pub(crate) fn add_same_dtype_with(
    isa: Isa,
    acc: &mut PairAccum,
    scratch: &mut FoldScratch,
    dtype: DType,
    a: &[u8],
    b: &[u8],
    first_value: u64,
) -> Option<f64> {
    debug_assert_eq!(a.len(), b.len());
    if !has_fast_path(dtype) {
        return None;
    }
    let width = if dtype == DType::F32 { 4 } else { 2 };
    let mut delta_sq = 0.0;
    // Segments short enough that no histogram copy can overflow between flushes.
    let segment = FLUSH_VALUES as usize;
    for (k, (sa, sb)) in a
        .chunks(segment * width)
        .zip(b.chunks(segment * width))
        .enumerate()
    {
        let values = (sa.len() / width) as u64;
        if scratch.values + values > FLUSH_VALUES {
            scratch.flush_into(acc);
        }
        scratch.values += values;
        let sampling = Sampling {
            first_value: first_value + (k * segment) as u64,
            shift: scratch.shift,
        };
        delta_sq += fold_with(isa, acc, scratch, dtype, sampling, sa, sb);
    }
    Some(delta_sq)
}

/// One segment through the build `isa`.
fn fold_with(
    isa: Isa,
    acc: &mut PairAccum,
    scratch: &mut FoldScratch,
    dtype: DType,
    sampling: Sampling,
    a: &[u8],
    b: &[u8],
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        assert!(
            Isa::best() == Isa::Avx512,
            "AVX-512 kernel on a CPU without it"
        );
        let copies = &mut *scratch.copies;
        // SAFETY: the CPU reported AVX-512F, BW, VL and DQ, F16C and POPCNT (`Isa::best`, checked
        // just above), the features the kernel enables; the dtype picks the matching loader.
        return unsafe {
            match dtype {
                DType::F32 => avx512::fold::<avx512::F32>(acc, copies, sampling, a, b),
                DType::BF16 => avx512::fold::<avx512::Bf16>(acc, copies, sampling, a, b),
                _ => avx512::fold::<avx512::F16>(acc, copies, sampling, a, b),
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        assert!(has_avx2_fma(), "AVX2 kernel on a CPU without it");
        let copies = &mut *scratch.copies;
        // SAFETY: the CPU reported AVX2, FMA, F16C and POPCNT (`has_avx2_fma`, checked just
        // above), the features the kernel enables; the dtype picks the matching loader.
        return unsafe {
            match dtype {
                DType::F32 => avx2::fold::<avx2::F32>(acc, copies, sampling, a, b),
                DType::BF16 => avx2::fold::<avx2::Bf16>(acc, copies, sampling, a, b),
                _ => avx2::fold::<avx2::F16>(acc, copies, sampling, a, b),
            }
        };
    }
    let _ = isa;
    // Each dtype gets its own copy of the kernel, so its widening inlines into the loop.
    let copies = &mut *scratch.copies;
    match dtype {
        DType::F32 => fold_bytes(acc, copies, dtype, sampling, widen_f32, a, b),
        DType::BF16 => fold_bytes(acc, copies, dtype, sampling, widen_bf16, a, b),
        _ => fold_bytes(acc, copies, dtype, sampling, widen_f16, a, b),
    }
}

/// The histogram copies: `copies[bin][copy]`.
type Copies = [[u32; COPIES]; BIN_ROWS];

/// Bits of an f32 whose exponent field is all ones: NaN or infinity.
const F32_EXPONENT: u32 = 0x7f80_0000;

#[inline(always)]
fn fold_bytes<W: Fn(&[u8], &mut [f32; BLOCK], &mut [u32; BLOCK])>(
    acc: &mut PairAccum,
    copies: &mut Copies,
    dtype: DType,
    sampling: Sampling,
    widen: W,
    a: &[u8],
    b: &[u8],
) -> f64 {
    let width = if dtype == DType::F32 { 4 } else { 2 };
    let block_bytes = BLOCK * width;
    let (mut xa, mut xb) = ([0f32; BLOCK], [0f32; BLOCK]);
    let (mut ba, mut bb) = ([0u32; BLOCK], [0u32; BLOCK]);
    let mut sums = BlockSums::default();
    let mut special_dd = 0.0;
    let mut equal = 0u64;
    let (chunks_a, chunks_b) = (a.chunks_exact(block_bytes), b.chunks_exact(block_bytes));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (k, (ca, cb)) in chunks_a.zip(chunks_b).enumerate() {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // A hint: an address past the end of the maps is never dereferenced, and
            // `wrapping_add` keeps the pointer arithmetic defined. One line per 64 bytes.
            for line in (0..block_bytes).step_by(64) {
                // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>(ca.as_ptr().wrapping_add(PREFETCH + line).cast());
                    _mm_prefetch::<_MM_HINT_T0>(cb.as_ptr().wrapping_add(PREFETCH + line).cast());
                }
            }
        }
        widen(ca, &mut xa, &mut ba);
        widen(cb, &mut xb, &mut bb);
        // Integer passes: non-finite values on either side, and equal stored bits.
        let mut special = false;
        let mut same = 0u32;
        for i in 0..BLOCK {
            let (fa, fb) = (xa[i].to_bits(), xb[i].to_bits());
            special |= (fa & F32_EXPONENT) == F32_EXPONENT || (fb & F32_EXPONENT) == F32_EXPONENT;
            same += u32::from(ba[i] == bb[i]);
        }
        if special {
            special_dd += general_block(acc, &xa, &xb);
            continue;
        }
        equal += u64::from(same);
        sums.fold_block(&xa, &xb);
        count_block(copies, sampling, k * BLOCK, &xa, &xb);
    }
    let fast_dd = sums.flush_into(acc, equal);
    fast_dd + special_dd + fold_tail(acc, dtype, rest_a, rest_b)
}

/// A block or step holding a NaN or an infinity, through the general path (which counts them);
/// returns its Σ Δ² over the pairs finite on both sides.
pub(super) fn general_block(acc: &mut PairAccum, xa: &[f32], xb: &[f32]) -> f64 {
    let wa: Vec<f64> = xa.iter().map(|&v| f64::from(v)).collect();
    let wb: Vec<f64> = xb.iter().map(|&v| f64::from(v)).collect();
    acc.add(&wa, &wb, None);
    finite_delta_sq(&wa, &wb)
}

/// Σ (b − a)² over the pairs finite on both sides, as [`PairAccum`] sums it.
pub(crate) fn finite_delta_sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (y - x) * (y - x))
        .sum()
}

/// The values after the last whole block or step, through the general path (exact, and cheap for
/// so few); returns their Σ Δ².
fn fold_tail(acc: &mut PairAccum, dtype: DType, a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let (mut wa, mut wb) = (Vec::new(), Vec::new());
    // The dtype is one of the three with a fast path, so decoding cannot fail.
    if crate::decode::decode_f64(dtype, a, &mut wa).is_ok()
        && crate::decode::decode_f64(dtype, b, &mut wb).is_ok()
    {
        acc.add(&wa, &wb, None);
        return finite_delta_sq(&wa, &wb);
    }
    0.0
}

/// The f64 sums of the finite values folded so far, one per lane, kept apart from [`PairAccum`]
/// and added across lanes only at the end (a horizontal sum per block cost as much as the block).
#[derive(Default)]
struct BlockSums {
    count: u64,
    sum_a: [f64; LANES],
    sum_b: [f64; LANES],
    sum_aa: [f64; LANES],
    sum_bb: [f64; LANES],
    sum_dd: [f64; LANES],
    max_abs: [f64; LANES],
}

impl BlockSums {
    /// One block of finite values into the lanes.
    #[inline(always)]
    fn fold_block(&mut self, xa: &[f32; BLOCK], xb: &[f32; BLOCK]) {
        for (ca, cb) in xa.chunks_exact(LANES).zip(xb.chunks_exact(LANES)) {
            for l in 0..LANES {
                let (x, y) = (f64::from(ca[l]), f64::from(cb[l]));
                let d = y - x;
                let ad = d.abs();
                self.sum_a[l] += x;
                self.sum_b[l] += y;
                self.sum_aa[l] += x * x;
                self.sum_bb[l] += y * y;
                self.sum_dd[l] += d * d;
                let m = self.max_abs[l];
                self.max_abs[l] = if ad > m { ad } else { m };
            }
        }
        self.count += BLOCK as u64;
    }

    /// Adds the lanes to `acc`; returns their Σ Δ².
    fn flush_into(self, acc: &mut PairAccum, equal: u64) -> f64 {
        let total = |s: [f64; LANES]| s.iter().sum::<f64>();
        acc.count += self.count;
        acc.finite += self.count;
        acc.equal += equal;
        acc.sum_a += total(self.sum_a);
        acc.sum_b += total(self.sum_b);
        let (aa, bb, dd) = (total(self.sum_aa), total(self.sum_bb), total(self.sum_dd));
        acc.sum_aa += aa;
        acc.sum_bb += bb;
        acc.sum_ab += product_sum(aa, bb, dd);
        acc.sum_dd += dd;
        acc.max_abs = self.max_abs.iter().fold(acc.max_abs, |m, &v| m.max(v));
        total(self.sum_dd)
    }
}

/// Counts the |Δ| bins of the steps of one block (its first value `offset` values into the call)
/// that `sampling` takes.
#[inline(always)]
fn count_block(
    copies: &mut Copies,
    sampling: Sampling,
    offset: usize,
    xa: &[f32; BLOCK],
    xb: &[f32; BLOCK],
) {
    const _: () = assert!(BLOCK.is_multiple_of(STEP));
    for (q, (ca, cb)) in xa.chunks_exact(STEP).zip(xb.chunks_exact(STEP)).enumerate() {
        if sampling.takes(offset + q * STEP) {
            count_step(copies, ca, cb);
        }
    }
}

/// Counts the |Δ| bins of one step of values.
#[inline(always)]
fn count_step(copies: &mut Copies, xa: &[f32], xb: &[f32]) {
    let mut bins = [0u64; STEP];
    for ((bin, &x), &y) in bins.iter_mut().zip(xa).zip(xb) {
        *bin = super::numbers::bin_of((f64::from(y) - f64::from(x)).abs()) as u64;
    }
    count_bins(copies, &bins[..xa.len()]);
}

/// Counts computed bins into the copies, bin `j` of the slice into copy `j % COPIES`.
#[inline(always)]
fn count_bins<B: Copy + Into<u64>>(copies: &mut Copies, bins: &[B]) {
    const _: () = assert!(STEP.is_multiple_of(COPIES));
    for (j, &bin) in bins.iter().enumerate() {
        // Bins are below `BINS` <= BIN_ROWS: the mask changes nothing but the bounds check.
        copies[(bin.into() as usize) & (BIN_ROWS - 1)][j % COPIES] += 1;
    }
}

/// Steps of sixteen values through the general path (a block of the explicit kernels holding a
/// NaN or an infinity), `values(k)` giving step `k`'s values of both sides; returns their Σ Δ²
/// over the finite pairs.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // (used by the x86 kernels only)
fn general_steps(
    acc: &mut PairAccum,
    steps: usize,
    mut values: impl FnMut(usize) -> ([f32; STEP], [f32; STEP]),
) -> f64 {
    (0..steps)
        .map(|k| {
            let (xa, xb) = values(k);
            general_block(acc, &xa, &xb)
        })
        .sum()
}

/// Sixteen f32 held as two vectors of eight, stored in that order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn store16(v: [std::arch::x86_64::__m256; 2]) -> [f32; STEP] {
    let mut out = [0f32; STEP];
    for (h, half) in v.iter().enumerate() {
        // SAFETY: `out` holds sixteen f32; this half's eight go to `8 * h ..` (unaligned store).
        unsafe { std::arch::x86_64::_mm256_storeu_ps(out.as_mut_ptr().add(8 * h), *half) };
    }
    out
}

#[inline(always)]
fn widen_f32(bytes: &[u8], out: &mut [f32; BLOCK], bits: &mut [u32; BLOCK]) {
    for ((c, o), b) in bytes
        .chunks_exact(4)
        .zip(out.iter_mut())
        .zip(bits.iter_mut())
    {
        *b = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        *o = f32::from_bits(*b);
    }
}

#[inline(always)]
fn widen_bf16(bytes: &[u8], out: &mut [f32; BLOCK], bits: &mut [u32; BLOCK]) {
    for ((c, o), b) in bytes
        .chunks_exact(2)
        .zip(out.iter_mut())
        .zip(bits.iter_mut())
    {
        *b = u32::from(u16::from_le_bytes([c[0], c[1]]));
        *o = f32::from_bits(*b << 16);
    }
}

#[inline(always)]
fn widen_f16(bytes: &[u8], out: &mut [f32; BLOCK], bits: &mut [u32; BLOCK]) {
    use half::slice::HalfFloatSliceExt;
    let mut halves = [half::f16::ZERO; BLOCK];
    for ((c, h), b) in bytes
        .chunks_exact(2)
        .zip(halves.iter_mut())
        .zip(bits.iter_mut())
    {
        let raw = u16::from_le_bytes([c[0], c[1]]);
        *b = u32::from(raw);
        *h = half::f16::from_bits(raw);
    }
    halves.convert_to_f32_slice(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::numbers::PairNumbers;

    /// A deterministic spread of values (an LCG), with a few exact equalities.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if i % 7 == 0 {
                    0.25
                } else {
                    ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
                }
            })
            .collect()
    }

    fn general(dtype: DType, a: &[u8], b: &[u8]) -> PairAccum {
        let (mut wa, mut wb) = (Vec::new(), Vec::new());
        crate::decode::decode_f64(dtype, a, &mut wa).unwrap();
        crate::decode::decode_f64(dtype, b, &mut wb).unwrap();
        let mut acc = PairAccum::new();
        acc.add(&wa, &wb, None);
        acc
    }

    /// One call of the build `isa` over all the bytes, flushed.
    fn fast_fold(isa: Isa, dtype: DType, a: &[u8], b: &[u8]) -> PairAccum {
        let mut acc = PairAccum::new();
        let mut scratch = FoldScratch::new(0);
        let dd = add_same_dtype_with(isa, &mut acc, &mut scratch, dtype, a, b, 0).unwrap();
        scratch.flush_into(&mut acc);
        assert!(
            (dd - acc.sum_dd).abs() <= 1e-12 * acc.sum_dd,
            "{dd} vs {}",
            acc.sum_dd
        );
        acc
    }

    fn assert_same(fast: &PairAccum, slow: &PairAccum) {
        assert_eq!(
            (
                fast.count,
                fast.equal,
                fast.finite,
                fast.nan_introduced,
                fast.inf_introduced
            ),
            (
                slow.count,
                slow.equal,
                slow.finite,
                slow.nan_introduced,
                slow.inf_introduced
            )
        );
        assert_eq!(fast.max_abs, slow.max_abs);
        assert_eq!(fast.histogram(), slow.histogram());
        for (f, s) in [
            (fast.sum_aa, slow.sum_aa),
            (fast.sum_bb, slow.sum_bb),
            (fast.sum_dd, slow.sum_dd),
        ] {
            assert!((f - s).abs() <= 1e-12 * s.abs().max(1e-300), "{f} vs {s}");
        }
        // Plain sums may cancel: their rounding is relative to Σ |x| ≤ √(n Σ x²).
        let n = slow.finite as f64;
        for (f, s, sq) in [
            (fast.sum_a, slow.sum_a, slow.sum_aa),
            (fast.sum_b, slow.sum_b, slow.sum_bb),
        ] {
            assert!((f - s).abs() <= 1e-12 * (n * sq).sqrt(), "{f} vs {s}");
        }
        // Σ ab is derived from the others: off by rounding of Σ a² + Σ b², not of Σ ab.
        let scale = slow.sum_aa + slow.sum_bb;
        assert!(
            (fast.sum_ab - slow.sum_ab).abs() <= 1e-13 * scale,
            "{} vs {}",
            fast.sum_ab,
            slow.sum_ab
        );
        let (nf, ns) = (
            PairNumbers::from_accum(fast, None),
            PairNumbers::from_accum(slow, None),
        );
        let (rf, rs) = (nf.rel_l2.unwrap(), ns.rel_l2.unwrap());
        assert!((rf - rs).abs() <= 1e-12 * rs, "{rf} vs {rs}");
    }

    fn bytes_of(dtype: DType, v: &[f32]) -> Vec<u8> {
        match dtype {
            DType::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DType::BF16 => v
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                .collect(),
            DType::F16 => v
                .iter()
                .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                .collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn fast_fold_matches_the_general_path_for_every_dtype_and_build() {
        // 1000 values: 15 whole blocks (62 steps of 16) and a tail of 40 (8).
        let (a, b) = (values(1000, 1), values(1000, 2));
        for isa in Isa::supported() {
            for dtype in [DType::F32, DType::BF16, DType::F16] {
                let (ba, bb) = (bytes_of(dtype, &a), bytes_of(dtype, &b));
                let fast = fast_fold(isa, dtype, &ba, &bb);
                assert_same(&fast, &general(dtype, &ba, &bb));
            }
        }
    }

    #[test]
    fn edge_values_land_in_the_same_bins_on_every_build() {
        // Equal values (bin 0), a change below 2^-64 (clamped to the first bin), one above 2^64
        // (clamped to the last, F32 only), subnormals, signed zeros, and enough values that
        // the prefetch runs past the end of both slices.
        let n = 5000;
        let mut a = values(n, 5);
        let mut b = values(n, 6);
        b[10] = a[10];
        (a[11], b[11]) = (0.0, 1e-30);
        b[12] = -0.0;
        b[13] = 1e-40;
        b[14] = 3e38;
        b[15] = -3e38;
        for isa in Isa::supported() {
            for dtype in [DType::F32, DType::BF16, DType::F16] {
                let (ba, bb) = (bytes_of(dtype, &a), bytes_of(dtype, &b));
                let fast = fast_fold(isa, dtype, &ba, &bb);
                let slow = general(dtype, &ba, &bb);
                assert_same(&fast, &slow);
            }
        }
    }

    #[test]
    fn blocks_with_nan_or_inf_are_counted_like_the_general_path() {
        let a = values(256, 3);
        let mut b = values(256, 4);
        b[5] = f32::NAN;
        b[70] = f32::INFINITY;
        let (ba, bb) = (bytes_of(DType::F32, &a), bytes_of(DType::F32, &b));
        for isa in Isa::supported() {
            let fast = fast_fold(isa, DType::F32, &ba, &bb);
            assert_eq!((fast.nan_introduced, fast.inf_introduced), (1, 1));
            assert_same(&fast, &general(DType::F32, &ba, &bb));
        }
    }

    #[test]
    fn other_dtypes_have_no_fast_path() {
        for isa in Isa::supported() {
            let mut acc = PairAccum::new();
            let mut scratch = FoldScratch::new(0);
            assert_eq!(
                add_same_dtype_with(
                    isa,
                    &mut acc,
                    &mut scratch,
                    DType::F64,
                    &[0; 16],
                    &[0; 16],
                    0
                ),
                None
            );
            assert_eq!(acc.count, 0);
        }
    }

    #[test]
    fn row_by_row_calls_give_each_row_its_delta_sq_and_the_same_totals() {
        // 24 rows of 200 values (not a whole number of blocks or steps: each row has a tail),
        // a NaN in row 3 and an infinity in row 17; one scratch across the calls, flushed once.
        let (rows, cols) = (24, 200);
        let a = values(rows * cols, 7);
        let mut b = values(rows * cols, 8);
        b[3 * cols + 5] = f32::NAN;
        b[17 * cols + 150] = f32::INFINITY;
        for isa in Isa::supported() {
            for dtype in [DType::F32, DType::BF16, DType::F16] {
                let (ba, bb) = (bytes_of(dtype, &a), bytes_of(dtype, &b));
                let row_bytes = ba.len() / rows;
                let mut acc = PairAccum::new();
                let mut scratch = FoldScratch::new(0);
                for r in 0..rows {
                    let span = r * row_bytes..(r + 1) * row_bytes;
                    let dd = add_same_dtype_with(
                        isa,
                        &mut acc,
                        &mut scratch,
                        dtype,
                        &ba[span.clone()],
                        &bb[span.clone()],
                        (r * cols) as u64,
                    )
                    .unwrap();
                    // The row's Σ Δ² by hand, from the decoded values.
                    let (mut wa, mut wb) = (Vec::new(), Vec::new());
                    crate::decode::decode_f64(dtype, &ba[span.clone()], &mut wa).unwrap();
                    crate::decode::decode_f64(dtype, &bb[span], &mut wb).unwrap();
                    let want: f64 = wa
                        .iter()
                        .zip(&wb)
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .map(|(x, y)| (y - x) * (y - x))
                        .sum();
                    assert!((dd - want).abs() <= 1e-12 * want, "row {r}: {dd} vs {want}");
                }
                scratch.flush_into(&mut acc);
                assert_same(&acc, &general(dtype, &ba, &bb));
            }
        }
    }

    #[test]
    fn the_sample_takes_one_step_in_2_to_the_shift_evenly_over_runs_and_columns() {
        for shift in [3, 5] {
            let want = 1.0 / f64::from(1u32 << shift);
            // Consecutive steps of one long row.
            let steps = 1 << 20;
            let taken = (0..steps).filter(|&k| sampled_step(16 * k, shift)).count();
            let share = taken as f64 / steps as f64;
            assert!((share - want).abs() < 0.01 * want, "{shift}: {share}");
            // The same column step in every row of a matrix: no column is always (or never)
            // taken, whatever the row width.
            for width in [4096u64, 576, 11008] {
                for column in [0u64, 16, 112, 4000 % width] {
                    let rows = 40_000;
                    let taken = (0..rows)
                        .filter(|&r| sampled_step(r * width + column, shift))
                        .count();
                    let share = taken as f64 / rows as f64;
                    assert!(
                        (share - want).abs() < 0.1 * want,
                        "{shift} {width} {column}: {share}"
                    );
                }
            }
        }
    }

    #[test]
    fn pairs_are_sampled_above_2_22_values_keeping_half_a_million() {
        let shift = |values: u64, exact: bool| FoldScratch::for_pair(values, exact).shift;
        assert_eq!(shift(1 << 22, false), 0);
        assert_eq!(shift((1 << 22) + 16, false), 3); // 2^22 / 2^19 = 8: one in 8
        assert_eq!(shift(1 << 24, false), 5); // one in 32, 2^19 counted
        assert_eq!(shift(1 << 30, false), 5); // never sparser
        assert_eq!(shift(1 << 30, true), 0);
    }

    #[test]
    fn a_sampled_histogram_is_the_same_on_every_build_and_close_to_the_exact_one() {
        // 2^18 values (a whole number of blocks on every build): every build counts the same
        // steps, eight times each; the p99 bin is the exact one's or its neighbour.
        let n = 1 << 18;
        let (a, b) = (values(n, 9), values(n, 10));
        for dtype in [DType::F32, DType::BF16, DType::F16] {
            let (ba, bb) = (bytes_of(dtype, &a), bytes_of(dtype, &b));
            let exact = general(dtype, &ba, &bb);
            let mut first: Option<Vec<u64>> = None;
            for isa in Isa::supported() {
                let mut acc = PairAccum::new();
                let mut scratch = FoldScratch::new(3);
                add_same_dtype_with(isa, &mut acc, &mut scratch, dtype, &ba, &bb, 0).unwrap();
                scratch.flush_into(&mut acc);
                let hist = acc.histogram().to_vec();
                match &first {
                    None => first = Some(hist.clone()),
                    Some(h) => assert_eq!(&hist, h, "{isa:?} {dtype:?}"),
                }
                // Each counted value stands for eight; about n values in all.
                let total: u64 = hist.iter().sum();
                assert_eq!(total % 8, 0);
                assert!((total as f64 / n as f64 - 1.0).abs() < 0.02, "{total}");
                let (p, q) = (acc.p99_abs().unwrap(), exact.p99_abs().unwrap());
                let ratio = p / q;
                assert!((1.0 / 1.1..=1.1).contains(&ratio), "{p} vs {q}");
                // The sums, maximum and counts stay exact.
                assert_eq!(
                    (acc.count, acc.equal, acc.max_abs),
                    (exact.count, exact.equal, exact.max_abs)
                );
            }
        }
    }
}
