//! The hot loops: counting codes, and the moment kernel for `F32` (explicit AVX-512 and AVX2,
//! chosen at run time, with a scalar twin) and for values decoded to f64.
//!
//! # Code tables
//!
//! Types of at most 16 bits are counted per code into a table; every statistic follows exactly from
//! the counts. The increment per value is the whole cost of the loop (about one value per cycle), so
//! the layout matters:
//!
//! - a *plain* table (one counter per code, 256 KiB) keeps the hot codes of typical weights (a few
//!   thousand) inside L1;
//! - but when one code dominates (zeros in a pruned or padded matrix), consecutive increments of the
//!   same counter chain through memory and the plain loop falls to a third of its speed. The
//!   *lane* table keeps four counters per code (`[code][i % 4]`), so the same-address dependency is
//!   four values apart.
//!
//! [`KeyTable`] picks the layout per block of [`BLOCK`] values from 16 samples of the previous
//! block, taken once it is in L1 (a code, or zero, in 4 of 16 samples means crowded),
//! and [`KeyTable::drain`] folds both layouts into one list of counts, leaving the tables zeroed
//! for reuse. The layout changes speed only, never counts.
//!
//! # Moments
//!
//! `F32` tensors (and the wide types, decoded to f64) go through blocks of [`BLOCK`] values. Each
//! block sums `d = x - shift` and `d²` over its finite values in f64, eight lanes wide, where the
//! shift is one value per tensor near its centre (`accum::tensor_shift`: the median of its first
//! block); blocks and pieces are merged with Chan's formula on the offsets from that shift. f64 lanes
//! keep every block sum to about 1e-16 relative, so mean, std and L2 stay within about 1e-15 of a
//! compensated two-pass f64 reference even when |mean| ≫ std (`tests/stats_engine.rs` measures it).
//! f32 partial sums would not do: their 2^-24 rounding shows at 1e-7 of the std.
//!
//! The AVX-512 and AVX2 kernels and [`f32_block_scalar`] perform the same operations in the same
//! order (lane j of 8 takes element j of each group of 8, in order; the tail goes to lanes 0..; the
//! same final reduction; FMA for the squares in all), so they agree bit for bit, which the tests
//! check for every kernel the CPU runs ([`Isa::available`]).
//!
//! # Speed
//!
//! With the moments in vector registers, the F32 loop is bound by memory operations, not
//! arithmetic: each value's key increment is a load and a store, and a core issues about three
//! memory operations per cycle. The kernels therefore read the keys two at a time with one 64-bit
//! load from the bytes the vector load has just brought into L1 (16-bit codes: four at a time),
//! about 2.5 memory operations per value (2.25 for codes). Measured on the 2-core Zen 4 machines
//! here, that is about 1.2 values per cycle per core; variants that packed the keys in a vector and
//! extracted them, or counted them from a buffer after the block, or always used the lane table,
//! were 20-100% slower.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;
mod scalar;
mod tables;

pub(crate) use scalar::{f32_block_scalar, f32_key, f64_block};
pub(crate) use tables::{
    Counter, KeyTable, Layout, NoCount, Table8, count_codes8, count_unpacked, drain8,
};

use super::isa::Isa;
use super::lanes::BlockSums;

/// Values per moment block. Small enough that per-lane i32 counters cannot overflow and a block of
/// f32 stays in L1 for the key pass.
pub(crate) const BLOCK: usize = 4096;

/// Sums over one block of little-endian f32 (`bytes.len()` a multiple of 4, at most [`BLOCK`]
/// values) with the kernel of `isa`, counting every value's key into `table` when given. `rep` is a
/// finite value of the same piece, standing in for non-finite values in the min/max lanes.
pub(crate) fn f32_block(
    isa: Isa,
    bytes: &[u8],
    shift: f64,
    rep: f32,
    table: Option<&mut KeyTable>,
) -> BlockSums {
    debug_assert!(bytes.len().is_multiple_of(4) && bytes.len() / 4 <= BLOCK);
    let Some(table) = table else {
        return f32_block_counting(isa, bytes, shift, rep, &mut NoCount);
    };
    let sums = match table.pick() {
        Layout::Plain(t) => f32_block_counting(isa, bytes, shift, rep, t),
        Layout::Lanes(t) => f32_block_counting(isa, bytes, shift, rep, t),
    };
    table.observe(bytes.len() / 4, |i| {
        let b = &bytes[4 * i..4 * i + 4];
        f32_key(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    });
    sums
}

/// One F32 block through the kernel of `isa`, counting keys into `t`.
fn f32_block_counting(
    isa: Isa,
    bytes: &[u8],
    shift: f64,
    rep: f32,
    t: &mut impl Counter,
) -> BlockSums {
    match isa {
        Isa::Scalar => f32_block_scalar(bytes, shift, rep, t),
        Isa::Portable => portable::f32_block_portable(bytes, shift, rep, t),
        // SAFETY: `Isa::Avx2` is only constructed by `Isa::available` after the CPU reported AVX2
        // and FMA (and more), all that `avx2::f32_block` enables.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::f32_block(bytes, shift, rep, t) },
        // SAFETY: `Isa::Avx512` is only constructed by `Isa::available` after the CPU reported
        // AVX-512F (and more), all that `avx512::f32_block` enables.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::f32_block(bytes, shift, rep, t) },
    }
}

#[cfg(test)]
mod tests {
    use super::scalar::f64_key;
    use super::*;

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// A deterministic spread of awkward f32 values: normals around a large mean, zeros of both
    /// signs, subnormals, NaN, infinities.
    fn awkward(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match state % 97 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    3 => -0.0,
                    4 => 0.0,
                    5 => f32::from_bits(1 + (state >> 40) as u32 % 1000),
                    _ => 1000.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32,
                }
            })
            .collect()
    }

    #[test]
    fn simd_kernels_match_the_scalar_kernel_bit_for_bit() {
        for kernel in Isa::available() {
            simd_kernel_matches_the_scalar_kernel(kernel);
        }
    }

    fn simd_kernel_matches_the_scalar_kernel(kernel: Isa) {
        for (n, offset) in [
            (0, 0),
            (1, 1),
            (7, 3),
            (8, 0),
            (9, 2),
            (4096, 1),
            (4095, 3),
            (1000, 0),
            (15, 1),
            (16, 0),
            (17, 2),
            (31, 0),
            (33, 3),
            (4088, 0),
            (4081, 1),
        ] {
            let values = awkward(n, n as u64 + 17);
            let mut bytes = vec![0u8; offset];
            bytes.extend(f32_bytes(&values));
            let bytes = &bytes[offset..];
            let mut t1 = KeyTable::new();
            let mut t2 = KeyTable::new();
            let a = f32_block(kernel, bytes, 999.5, 1000.0, Some(&mut t1));
            let b = f32_block(Isa::Scalar, bytes, 999.5, 1000.0, Some(&mut t2));
            assert_eq!(a.s.to_bits(), b.s.to_bits(), "{kernel:?} n={n}");
            if kernel == Isa::Portable {
                // Squares rounded before they are added: within a few ulps per value.
                assert!(
                    (a.q - b.q).abs() <= 1e-15 * b.q * n as f64,
                    "{kernel:?} n={n}"
                );
                assert_eq!(BlockSums { q: b.q, ..a }, b, "{kernel:?} n={n}");
            } else {
                assert_eq!(a.q.to_bits(), b.q.to_bits(), "{kernel:?} n={n}");
                assert_eq!(a, b, "{kernel:?} n={n}");
            }
            assert_eq!(t1.drain(), t2.drain());
        }
    }

    #[test]
    fn block_sums_match_a_naive_reference() {
        let values = awkward(4096, 5);
        let bytes = f32_bytes(&values);
        let got = f32_block(Isa::detect(), &bytes, 1000.0, 1000.0, None);
        assert_eq!(got, f32_block_scalar(&bytes, 1000.0, 1000.0, &mut NoCount));
        let finite: Vec<f64> = values
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| f64::from(v))
            .collect();
        assert_eq!(got.n, finite.len() as u64);
        assert_eq!(got.nan, values.iter().filter(|v| v.is_nan()).count() as u64);
        assert_eq!(
            got.inf,
            values.iter().filter(|v| v.is_infinite()).count() as u64
        );
        assert_eq!(
            got.zeros,
            values.iter().filter(|&&v| v == 0.0).count() as u64
        );
        let s: f64 = finite.iter().map(|x| x - 1000.0).sum();
        let q: f64 = finite.iter().map(|x| (x - 1000.0).powi(2)).sum();
        assert!(
            (got.s - s).abs() <= 1e-12 * q.sqrt() * 64.0,
            "{} vs {s}",
            got.s
        );
        assert!((got.q - q).abs() <= 1e-13 * q);
        assert_eq!(
            got.min,
            finite.iter().copied().fold(f64::INFINITY, f64::min)
        );
        assert_eq!(
            got.max,
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
    }

    #[test]
    fn keys_order_like_values_and_keep_non_finite_apart() {
        assert_eq!(f32_key(1.0f32.to_bits()), 0x3F80);
        assert_eq!(f64_key(1e300), 0x7F7F);
        assert_eq!(f64_key(-1e300), 0xFF7F);
        assert_eq!(f64_key(f64::INFINITY), 0x7F80);
        assert_eq!(f64_key(f64::NAN) & 0x7F80, 0x7F80);
        assert_eq!(f64_key(1e-300), 0);
    }

    #[test]
    fn f64_block_counts_and_sums() {
        let v = [1.0, f64::NAN, -2.0, f64::INFINITY, 0.0, -0.0, 1e300];
        let mut t = KeyTable::new();
        let b = f64_block(&v, 0.0, Some(&mut t));
        assert_eq!((b.n, b.nan, b.inf, b.zeros), (5, 1, 1, 2));
        assert_eq!((b.min, b.max), (-2.0, 1e300));
        assert_eq!(b.s, 1e300 - 1.0);
        assert_eq!(t.drain().iter().map(|c| c.1).sum::<u64>(), 7);
    }
}
