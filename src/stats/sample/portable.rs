//! The portable sampled kernels: plain Rust the compiler vectorises for any target, for CPUs
//! without an explicit SIMD kernel (ARM, or x86 without AVX2).
//!
//! The scalar reference ([`super::block_scalar`]) handles one value at a time: a hash lookup for
//! the sample and a `mul_add` (a libm call on targets without FMA) per value. Here each aligned
//! group of values (sixteen for F32, thirty-two for 16-bit codes, as the vector kernels take
//! them) goes through fixed-width lane arrays, branch-free: the moments with `d * d + q` instead of
//! a fused multiply-add, the extremes and zeros by comparisons; then the group's keys are counted
//! as the vector kernels count them (every lane outside the window, the sampled lane inside it,
//! one hash per eight groups).
//!
//! F32 takes a block in parts of 4096 values (16 KiB, in the first-level cache after the first
//! pass): the moments in two passes of eight lanes (sums and squares only: with more accumulators
//! than the sixteen vector registers of SSE2 hold, the compiler spills them and every step waits
//! on a store and a reload), extremes and zeros in four lanes of their own (a minimum does not
//! depend on the order it is taken in); then, when the part's extremes lie inside the window, as
//! they nearly always do, only each group's sampled value is counted, without a window
//! test. On the AMD EPYC (Zen 4) here, with x86 SIMD kernels disabled, that took a 2 GiB F32
//! file from 0.82 s to 0.40 s of user time on a busy machine (the first version spent 40% of
//! its time on spilled lanes and 39% on window tests the compiler left as one branch per value).
//!
//! The lanes are those of the reference (lane `i % 16` for F32; `bf16_lane` for BF16; `i % 32` for
//! F16), the counts and extremes identical; each square is rounded before it is added (one extra
//! rounding per value), so the sums of squares agree with the reference within about 1e-15
//! relative, which the tests check.

use super::pick::{count_group, cut, group_byte, pick_lane, step_hash};
use super::scalar::{code16_run, scalar_run};
use super::window::Window;
use super::{SHIFTED, UNSHIFTED};
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
    let mut groups_done = 0;
    let mut hash = 0u64;
    let mut block = Extremes::new();
    for part in body.chunks(PART) {
        // The moments, extremes and zeros first, in two halves of eight lanes (sixteen lanes of
        // sums and squares would not fit in the sixteen vector registers of SSE2: spilled
        // accumulators chain every step through memory, which measured three times slower).
        let mut ext = Extremes::new();
        for half in [0, 8] {
            let mut lanes = Lanes8 {
                s: std::array::from_fn(|j| acc.s[half + j]),
                q: std::array::from_fn(|j| acc.q[half + j]),
            };
            if shift == 0.0 {
                moments8::<UNSHIFTED>(part, 4 * half, shift, &mut lanes, &mut ext);
            } else {
                moments8::<SHIFTED>(part, 4 * half, shift, &mut lanes, &mut ext);
            }
            acc.s[half..half + 8].copy_from_slice(&lanes.s);
            acc.q[half..half + 8].copy_from_slice(&lanes.q);
        }
        block.merge(&ext);
        // Finite sums of squares so far mean every value so far was finite (an f32 squared
        // cannot overflow f64): then the part is wholly central when its extremes are, as it
        // nearly always is (the window spans about ±4.7σ), and only the sampled value of each
        // group is counted. Otherwise each value is tested.
        let finite = acc.q.iter().fold(0.0, |a, &q| a + q).is_finite();
        let (lo, hi) = ext.range();
        let all_central = finite && lo >= win.lo && hi <= win.hi;
        let first_group = (first + head as u64) / 16 + groups_done as u64;
        for (k, g) in part.chunks_exact(64).enumerate() {
            let central = if all_central {
                u16::MAX
            } else {
                (0..16).fold(0u16, |m, j| {
                    let x =
                        f32::from_le_bytes([g[4 * j], g[4 * j + 1], g[4 * j + 2], g[4 * j + 3]]);
                    m | u16::from(win.central(x)) << j
                })
            };
            let group = first_group + k as u64;
            let picked = pick_lane(group_byte(
                step_hash(&mut hash, groups_done + k, group),
                group,
            ));
            count_group(
                |l| usize::from(u16::from_le_bytes([g[4 * l + 2], g[4 * l + 3]])),
                picked,
                central,
                t,
            );
        }
        groups_done += part.len() / 64;
    }
    for j in 0..4 {
        acc.min[j] = less(acc.min[j], block.min[j]);
        acc.max[j] = greater(acc.max[j], block.max[j]);
    }
    acc.zeros += block.zeros.iter().map(|&z| u64::from(z)).sum::<u64>();
    scalar_run(bytes, head + 16 * groups..n, first, shift, win, &mut acc, t);
    acc.finish(n)
}

/// Bytes of a block the F32 kernel takes through its passes at a time: a part read from memory
/// by the first pass is still in the first-level cache for the others.
const PART: usize = 16 << 10;

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
                pick_lane(group_byte(z, group + half as u64)),
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
}

/// Adds values `at / 4..at / 4 + 8` of every group of sixteen F32 in `body` to `l`, lane `j`
/// taking value `at / 4 + j`, less `shift` when `SHIFT` (the reference subtracts 0.0 otherwise,
/// which changes no value), and their extremes and zeros to `ext`.
#[inline(never)]
fn moments8<const SHIFT: bool>(
    body: &[u8],
    at: usize,
    shift: f64,
    l: &mut Lanes8,
    ext: &mut Extremes,
) {
    let (mut s, mut q) = (l.s, l.q);
    let (mut min, mut max, mut zeros) = (ext.min, ext.max, ext.zeros);
    for (i, g) in body.chunks_exact(64).enumerate() {
        if at == 0 {
            prefetch::ahead(body, 64 * i);
        }
        let g = &g[at..at + 32];
        let x: [f32; 8] = std::array::from_fn(|j| {
            f32::from_le_bytes([g[4 * j], g[4 * j + 1], g[4 * j + 2], g[4 * j + 3]])
        });
        for j in 0..8 {
            let d = if SHIFT {
                f64::from(x[j]) - shift
            } else {
                f64::from(x[j])
            };
            s[j] += d;
            q[j] += d * d;
        }
        for j in 0..4 {
            min[j] = less(min[j], less(x[j], x[j + 4]));
            max[j] = greater(max[j], greater(x[j], x[j + 4]));
            zeros[j] += u32::from(x[j] == 0.0) + u32::from(x[j + 4] == 0.0);
        }
    }
    (l.s, l.q) = (s, q);
    (ext.min, ext.max, ext.zeros) = (min, max, zeros);
}

/// Extremes and zeros in four lanes (their order changes no result: a minimum is a minimum
/// whatever the order, and a block holding NaN is redone by the masked kernel).
struct Extremes {
    min: [f32; 4],
    max: [f32; 4],
    zeros: [u32; 4],
}

impl Extremes {
    fn new() -> Extremes {
        Extremes {
            min: [f32::INFINITY; 4],
            max: [f32::NEG_INFINITY; 4],
            zeros: [0; 4],
        }
    }

    fn merge(&mut self, other: &Extremes) {
        for j in 0..4 {
            self.min[j] = less(self.min[j], other.min[j]);
            self.max[j] = greater(self.max[j], other.max[j]);
            self.zeros[j] += other.zeros[j];
        }
    }

    /// The least and the greatest value (meaningless if a value was NaN).
    fn range(&self) -> (f32, f32) {
        let [a, b, c, d] = self.min;
        let [e, f, g, h] = self.max;
        (
            less(less(a, b), less(c, d)),
            greater(greater(e, f), greater(g, h)),
        )
    }
}

/// The lesser of two values as `minps` picks it (`a < b ? a : b`): one instruction on x86, and
/// what the compiler vectorises on other targets.
#[inline(always)]
fn less(a: f32, b: f32) -> f32 {
    if a < b { a } else { b }
}

/// The greater of two values as `maxps` picks it (`a > b ? a : b`).
#[inline(always)]
fn greater(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}
