//! The fast fold of a changed pair of the same float dtype (BF16, F16, F32), read straight from
//! the stored bytes.
//!
//! The general path ([`PairAccum::add`]) decodes both sides to f64 buffers and folds them one
//! value at a time with a branch per value; on two fully changed 2 GiB BF16 checkpoints it ran at
//! about 9× the read limit. Here blocks of [`BLOCK`] values are widened to f32 (exact for all
//! three dtypes), then folded in [`LANES`] independent f64 lanes with `chunks_exact`, so LLVM
//! vectorises the sums; the lanes are added together once per call (one sub-chunk of rows). The products
//! of f32 values are exact in f64, so the only change against the general path is the order of
//! the additions (last-bit differences), while Δ = b − a, max |Δ| and the |Δ| histogram bins are
//! the same values. Equality is an integer compare of the stored bits. A block holding a NaN or an
//! infinity on either side goes through the general path, which counts them.
//!
//! Measured (Intel Xeon, 2 cores shared with other builds, two 2 GiB BF16 files from
//! `make_big.py` with different seeds, `--no-rank`, interleaved best of 4): 0.86 s against 0.25 s
//! for `readlimit` on both files, about 3.5× the limit; the general path took 1.74 s (7.1×) in
//! the same runs. What is left is the per-value histogram increment and the f32 → f64 widening.
//!
//! On x86-64 the kernel is compiled a second time with AVX2 and FMA enabled and chosen at run
//! time; the scalar build is the same Rust code.

use super::numbers::PairAccum;
use crate::dtype::DType;

/// Values per block: the unit of the non-finite check and of the fold to the accumulator.
const BLOCK: usize = 64;
/// Independent f64 accumulators per sum (two AVX2 registers).
const LANES: usize = 8;

/// Folds the stored bytes `a` and `b` of the same rows (same `dtype`) into `acc`; returns false,
/// touching nothing, when the dtype has no fast path.
pub(crate) fn add_same_dtype(acc: &mut PairAccum, dtype: DType, a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    // Each dtype gets its own copy of the kernel, so its widening inlines into the loop.
    match dtype {
        DType::F32 => dispatch(acc, dtype, widen_f32, a, b),
        DType::BF16 => dispatch(acc, dtype, widen_bf16, a, b),
        DType::F16 => dispatch(acc, dtype, widen_f16, a, b),
        _ => return false,
    }
    true
}

/// Runs the kernel built for the best instruction set this CPU has.
fn dispatch<W: Fn(&[u8], &mut [f32; BLOCK], &mut [u32; BLOCK])>(
    acc: &mut PairAccum,
    dtype: DType,
    widen: W,
    a: &[u8],
    b: &[u8],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU just reported AVX2 and FMA, the only features `fold_avx2` enables.
        unsafe { fold_avx2(acc, dtype, widen, a, b) };
        return;
    }
    fold_bytes(acc, dtype, widen, a, b);
}

/// [`fold_bytes`] compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fold_avx2<W: Fn(&[u8], &mut [f32; BLOCK], &mut [u32; BLOCK])>(
    acc: &mut PairAccum,
    dtype: DType,
    widen: W,
    a: &[u8],
    b: &[u8],
) {
    fold_bytes(acc, dtype, widen, a, b);
}

/// Bits of an f32 whose exponent field is all ones: NaN or infinity.
const F32_EXPONENT: u32 = 0x7f80_0000;

#[inline(always)]
fn fold_bytes<W: Fn(&[u8], &mut [f32; BLOCK], &mut [u32; BLOCK])>(
    acc: &mut PairAccum,
    dtype: DType,
    widen: W,
    a: &[u8],
    b: &[u8],
) {
    let width = if dtype == DType::F32 { 4 } else { 2 };
    let block_bytes = BLOCK * width;
    let (mut xa, mut xb) = ([0f32; BLOCK], [0f32; BLOCK]);
    let (mut ba, mut bb) = ([0u32; BLOCK], [0u32; BLOCK]);
    let mut sums = BlockSums::default();
    let mut equal = 0u64;
    let (chunks_a, chunks_b) = (a.chunks_exact(block_bytes), b.chunks_exact(block_bytes));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (ca, cb) in chunks_a.zip(chunks_b) {
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
            let wa: Vec<f64> = xa.iter().map(|&v| f64::from(v)).collect();
            let wb: Vec<f64> = xb.iter().map(|&v| f64::from(v)).collect();
            acc.add(&wa, &wb, None);
            continue;
        }
        equal += u64::from(same);
        sums.fold_block(&xa, &xb, acc.histogram_mut());
    }
    sums.flush_into(acc, equal);
    if !rest_a.is_empty() {
        let (mut wa, mut wb) = (Vec::new(), Vec::new());
        // The tail is shorter than a block: the general path is exact and cheap for it. The
        // dtype is one of the three above, so decoding cannot fail.
        if crate::decode::decode_f64(dtype, rest_a, &mut wa).is_ok()
            && crate::decode::decode_f64(dtype, rest_b, &mut wb).is_ok()
        {
            acc.add(&wa, &wb, None);
        }
    }
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
    sum_ab: [f64; LANES],
    sum_dd: [f64; LANES],
    max_abs: [f64; LANES],
}

impl BlockSums {
    /// One block of finite values into the lanes, and its |Δ| into the histogram.
    #[inline(always)]
    fn fold_block(&mut self, xa: &[f32; BLOCK], xb: &[f32; BLOCK], hist: &mut [u64]) {
        let mut bins = [0u16; BLOCK];
        for ((ca, cb), cbin) in xa
            .chunks_exact(LANES)
            .zip(xb.chunks_exact(LANES))
            .zip(bins.chunks_exact_mut(LANES))
        {
            for l in 0..LANES {
                let (x, y) = (f64::from(ca[l]), f64::from(cb[l]));
                let d = y - x;
                let ad = d.abs();
                self.sum_a[l] += x;
                self.sum_b[l] += y;
                self.sum_aa[l] += x * x;
                self.sum_bb[l] += y * y;
                self.sum_ab[l] += x * y;
                self.sum_dd[l] += d * d;
                let m = self.max_abs[l];
                self.max_abs[l] = if ad > m { ad } else { m };
                cbin[l] = super::numbers::bin_of(ad) as u16;
            }
        }
        for &bin in &bins {
            hist[usize::from(bin)] += 1;
        }
        self.count += BLOCK as u64;
    }

    fn flush_into(self, acc: &mut PairAccum, equal: u64) {
        let total = |s: [f64; LANES]| s.iter().sum::<f64>();
        acc.count += self.count;
        acc.finite += self.count;
        acc.equal += equal;
        acc.sum_a += total(self.sum_a);
        acc.sum_b += total(self.sum_b);
        acc.sum_aa += total(self.sum_aa);
        acc.sum_bb += total(self.sum_bb);
        acc.sum_ab += total(self.sum_ab);
        acc.sum_dd += total(self.sum_dd);
        acc.max_abs = self.max_abs.iter().fold(acc.max_abs, |m, &v| m.max(v));
    }
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
            (fast.sum_a, slow.sum_a),
            (fast.sum_aa, slow.sum_aa),
            (fast.sum_bb, slow.sum_bb),
            (fast.sum_ab, slow.sum_ab),
            (fast.sum_dd, slow.sum_dd),
        ] {
            assert!((f - s).abs() <= 1e-12 * s.abs().max(1e-300), "{f} vs {s}");
        }
        let (nf, ns) = (
            PairNumbers::from_accum(fast, None),
            PairNumbers::from_accum(slow, None),
        );
        assert!((nf.rel_l2.unwrap() - ns.rel_l2.unwrap()).abs() < 1e-12);
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
    fn fast_fold_matches_the_general_path_for_every_dtype() {
        // 1000 values: 15 whole blocks and a tail of 40.
        let (a, b) = (values(1000, 1), values(1000, 2));
        for dtype in [DType::F32, DType::BF16, DType::F16] {
            let (ba, bb) = (bytes_of(dtype, &a), bytes_of(dtype, &b));
            let mut fast = PairAccum::new();
            assert!(add_same_dtype(&mut fast, dtype, &ba, &bb));
            assert_same(&fast, &general(dtype, &ba, &bb));
        }
    }

    #[test]
    fn blocks_with_nan_or_inf_are_counted_like_the_general_path() {
        let a = values(256, 3);
        let mut b = values(256, 4);
        b[5] = f32::NAN;
        b[70] = f32::INFINITY;
        let (ba, bb) = (bytes_of(DType::F32, &a), bytes_of(DType::F32, &b));
        let mut fast = PairAccum::new();
        assert!(add_same_dtype(&mut fast, DType::F32, &ba, &bb));
        assert_eq!((fast.nan_introduced, fast.inf_introduced), (1, 1));
        assert_same(&fast, &general(DType::F32, &ba, &bb));
    }

    #[test]
    fn other_dtypes_have_no_fast_path() {
        let mut acc = PairAccum::new();
        assert!(!add_same_dtype(&mut acc, DType::F64, &[0; 16], &[0; 16]));
        assert_eq!(acc.count, 0);
    }
}
