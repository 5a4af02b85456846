//! The portable F32 block kernel: plain Rust the compiler vectorises for any target (ARM included),
//! for CPUs without an explicit SIMD kernel.
//!
//! The scalar reference ([`super::f32_block_scalar`]) handles one value at a time and squares with
//! `mul_add`, which on an x86-64 build without FMA (and any target lacking it) is a libm call per
//! value: about 5% of the memory bandwidth. Here the moments run over groups of eight values
//! (`chunks_exact`) into fixed-width lane arrays, branch-free (a non-finite value adds 0 and is
//! counted apart), with `d * d + q` rather than a fused multiply-add, so each group is a few vector
//! instructions on SSE2, NEON or better. The keys are counted in a second pass over the block
//! while it is in L1: the increments are memory operations, and keeping them out of the moment loop
//! is what lets that loop vectorise.
//!
//! Lane `j` takes element `j` of each group of eight, in order, as in every other kernel: sums,
//! extremes and counts are those of the reference, except that each square is rounded before it is
//! added (one extra rounding per value: the sums of squares agree with the reference within about
//! 1e-15 relative, which the tests check).

use super::scalar::f32_key;
use super::tables::Counter;
use crate::stats::lanes::{BlockSums, LaneAcc, f32_lane};
use crate::stats::prefetch;

/// Sums over one block of little-endian f32 (see [`super::f32_block`]), counting every value's key
/// into `t`.
pub(crate) fn f32_block_portable(
    bytes: &[u8],
    shift: f64,
    rep: f32,
    t: &mut impl Counter,
) -> BlockSums {
    let mut s = [0.0f64; 8];
    let mut q = [0.0f64; 8];
    let (mut min, mut max) = ([rep; 8], [rep; 8]);
    let (mut zeros, mut nan, mut finite) = ([0u32; 8], [0u32; 8], [0u32; 8]);
    let groups = bytes.chunks_exact(32);
    let rest = groups.remainder();
    for (i, g) in groups.enumerate() {
        if i % 2 == 0 {
            prefetch::ahead(bytes, 32 * i);
        }
        let x: [f32; 8] = std::array::from_fn(|j| {
            f32::from_le_bytes([g[4 * j], g[4 * j + 1], g[4 * j + 2], g[4 * j + 3]])
        });
        for j in 0..8 {
            let fin = x[j].is_finite();
            let d = if fin { f64::from(x[j]) - shift } else { 0.0 };
            s[j] += d;
            q[j] += d * d;
            let y = if fin { x[j] } else { rep };
            min[j] = if y < min[j] { y } else { min[j] };
            max[j] = if y > max[j] { y } else { max[j] };
            zeros[j] += u32::from(x[j] == 0.0);
            nan[j] += u32::from(x[j].is_nan());
            finite[j] += u32::from(fin);
        }
    }
    let groups_len = bytes.len() / 32 * 8;
    let mut acc = LaneAcc {
        s,
        q,
        min: min.iter().copied().fold(rep, f32::min),
        max: max.iter().copied().fold(rep, f32::max),
        zeros: zeros.iter().map(|&z| u64::from(z)).sum(),
        nan: nan.iter().map(|&z| u64::from(z)).sum(),
        inf: (groups_len as u64)
            - finite.iter().map(|&z| u64::from(z)).sum::<u64>()
            - nan.iter().map(|&z| u64::from(z)).sum::<u64>(),
    };
    // The tail (fewer than eight values) through the reference's lane step, lanes 0.. as there.
    for (j, b) in rest.chunks_exact(4).enumerate() {
        f32_lane(
            f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            j,
            shift,
            &mut acc,
        );
    }
    for (i, b) in bytes.chunks_exact(4).enumerate() {
        t.bump(f32_key(u32::from_le_bytes([b[0], b[1], b[2], b[3]])), i);
    }
    acc.finish(bytes.len() / 4)
}
