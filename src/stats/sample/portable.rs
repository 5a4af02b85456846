//! The portable sampled kernels: plain Rust the compiler vectorises for any target, for CPUs
//! without an explicit SIMD kernel (ARM, or x86 without AVX2).
//!
//! The scalar reference ([`super::block_scalar`]) handles one value at a time: a hash lookup for
//! the sample and a `mul_add` (a libm call on targets without FMA) per value. Here each aligned
//! group of values (sixteen for F32, thirty-two for 16-bit codes, as the vector kernels take
//! them) goes through fixed-width lane arrays, branch-free: the moments with `d * d + q` instead of
//! a fused multiply-add, the extremes and zeros by comparisons, the window test into a bit mask;
//! then the group's keys are counted as the vector kernels count them (every lane outside the
//! window, the two sampled lanes inside it, one hash per eight groups).
//!
//! The lanes are those of the reference (lane `i % 16` for F32; `bf16_lane` for BF16; `i % 32` for
//! F16), the counts and extremes identical; each square is rounded before it is added (one extra
//! rounding per value), so the sums of squares agree with the reference within about 1e-15
//! relative, which the tests check.

use super::pick::{count_group, cut, group_byte, pick_byte, step_hash};
use super::scalar::{code16_run, scalar_run};
use super::window::Window;
use crate::stats::kernel::Counter;
use crate::stats::lanes::{BlockSums, Code16, Lanes16, Lanes32, ord16};
use crate::stats::prefetch;

/// The portable kernel for F32 values (see [`super::block_scalar`]).
pub(crate) fn block_f32(
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let n = bytes.len() / 4;
    let mut acc = Lanes16::new();
    let (head, groups) = cut::<16>(first, n);
    scalar_run(bytes, 0..head, first, shift, win, &mut acc, t);
    let body = &bytes[4 * head..4 * (head + 16 * groups)];
    let value = |g: &[u8], j: usize| {
        f32::from_le_bytes([g[4 * j], g[4 * j + 1], g[4 * j + 2], g[4 * j + 3]])
    };
    // Two passes over the block (it stays in L1): the moments alone, a loop the compiler turns
    // into vector instructions, then the window test and the counting, whose table increments
    // are memory operations that would keep the first loop scalar.
    // Lanes 0-7 and 8-15 in two passes: sixteen lanes of sums, squares and extremes would not fit
    // in the sixteen vector registers of SSE2 or the thirty-two of NEON without spilling.
    let mut zeros = 0u64;
    for half in [0, 8] {
        let lanes = Lanes8 {
            s: std::array::from_fn(|j| acc.s[half + j]),
            q: std::array::from_fn(|j| acc.q[half + j]),
            min: std::array::from_fn(|j| acc.min[half + j]),
            max: std::array::from_fn(|j| acc.max[half + j]),
        };
        let (lanes, z) = moments8(body, 4 * half, shift, lanes);
        for j in 0..8 {
            acc.s[half + j] = lanes.s[j];
            acc.q[half + j] = lanes.q[j];
            acc.min[half + j] = lanes.min[j];
            acc.max[half + j] = lanes.max[j];
        }
        zeros += z;
    }
    let first_group = (first + head as u64) / 16;
    let mut hash = 0u64;
    for (k, g) in body.chunks_exact(64).enumerate() {
        // Nearly every group is wholly central (tails are a value in thousands): one test of the
        // sixteen, which vectorises (a compare and an `and` per four values), spares building
        // the mask value by value, which does not.
        let x: [f32; 16] = std::array::from_fn(|j| value(g, j));
        let all_central = x
            .iter()
            .fold(true, |all, &x| all & (x >= win.lo) & (x <= win.hi));
        let central = if all_central {
            u16::MAX
        } else {
            (0..16).fold(0u16, |m, j| m | u16::from(win.central(x[j])) << j)
        };
        let group = first_group + k as u64;
        let picked = pick_byte(group_byte(step_hash(&mut hash, k, group), group));
        count_group(
            |l| usize::from(u16::from_le_bytes([g[4 * l + 2], g[4 * l + 3]])),
            picked,
            central,
            t,
        );
    }
    acc.zeros += zeros;
    scalar_run(bytes, head + 16 * groups..n, first, shift, win, &mut acc, t);
    acc.finish(n)
}

/// The portable kernel for 16-bit codes of `kind` (see [`super::scalar::block_scalar_code16`]).
pub(crate) fn block_code16(
    kind: Code16,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let n = bytes.len() / 2;
    let mut acc = Lanes32::new();
    let (head, groups) = cut::<32>(first, n);
    code16_run(kind, bytes, 0..head, first, shift, win, &mut acc, t);
    let lane: [usize; 32] = std::array::from_fn(|p| kind.lane(p));
    let (mut mn, mut mx, mut zeros) = ([i16::MAX; 32], [i16::MIN; 32], 0u64);
    let first_group = (first + head as u64) / 32;
    let mut hash = 0u64;
    let body = &bytes[2 * head..2 * (head + 32 * groups)];
    for (k, g) in body.chunks_exact(64).enumerate() {
        prefetch::ahead(body, 64 * k);
        let code: [u16; 32] = std::array::from_fn(|p| u16::from_le_bytes([g[2 * p], g[2 * p + 1]]));
        let mut central = 0u32;
        let mut zc = 0u32;
        for p in 0..32 {
            let d = f64::from(kind.value(code[p])) - shift;
            acc.s[lane[p]] += d;
            acc.q[lane[p]] += d * d;
            let o = ord16(code[p]);
            mn[p] = mn[p].min(o);
            mx[p] = mx[p].max(o);
            zc += u32::from(code[p] & 0x7FFF == 0);
            central |= u32::from(win.codes.0 <= o && o <= win.codes.1) << p;
        }
        zeros += u64::from(zc);
        let group = 2 * (first_group + k as u64);
        let z = step_hash(&mut hash, k, group);
        for half in 0..2 {
            let at = 32 * half;
            count_group(
                |l| usize::from(u16::from_le_bytes([g[at + 2 * l], g[at + 2 * l + 1]])),
                pick_byte(group_byte(z, group + half as u64)),
                (central >> (16 * half)) as u16,
                t,
            );
        }
    }
    acc.min = mn.iter().copied().fold(acc.min, i16::min);
    acc.max = mx.iter().copied().fold(acc.max, i16::max);
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

/// Eight lanes of the F32 moments.
struct Lanes8 {
    s: [f64; 8],
    q: [f64; 8],
    min: [f32; 8],
    max: [f32; 8],
}

/// Adds values `at / 4..at / 4 + 8` of every group of sixteen F32 in `body` to `l`, lane `j`
/// taking value `at / 4 + j`; returns the lanes and the zeros among those values.
#[inline(never)]
fn moments8(body: &[u8], at: usize, shift: f64, mut l: Lanes8) -> (Lanes8, u64) {
    let mut zeros = [0u32; 8];
    for (i, g) in body.chunks_exact(64).enumerate() {
        prefetch::ahead(body, 64 * i);
        let g = &g[at..at + 32];
        let x: [f32; 8] = std::array::from_fn(|j| {
            f32::from_le_bytes([g[4 * j], g[4 * j + 1], g[4 * j + 2], g[4 * j + 3]])
        });
        for j in 0..8 {
            let d = f64::from(x[j]) - shift;
            l.s[j] += d;
            l.q[j] += d * d;
            l.min[j] = if l.min[j] < x[j] { l.min[j] } else { x[j] };
            l.max[j] = if l.max[j] > x[j] { l.max[j] } else { x[j] };
            zeros[j] += u32::from(x[j] == 0.0);
        }
    }
    (l, zeros.iter().map(|&z| u64::from(z)).sum())
}
