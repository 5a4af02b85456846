//! The portable sampled kernels (the reference the vector kernels match bit for bit): F32 values in
//! sixteen lanes, BF16 and F16 codes in thirty-two.

use super::pick::sampled;
use super::window::Window;
use super::{Source, key};
use crate::stats::kernel::Counter;
use crate::stats::lanes::{BlockSums, Code16, Lanes16, Lanes32, ord16};

/// Adds values `range` of `bytes` (16-bit codes of `kind`; value 0 being value `first` of the
/// tensor) through the scalar lanes, counting every code outside the window's `codes` and the
/// sampled ones inside it (the key of a 16-bit value is its code).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn code16_run(
    kind: Code16,
    bytes: &[u8],
    range: std::ops::Range<usize>,
    first: u64,
    shift: f64,
    win: &Window,
    acc: &mut Lanes32,
    t: &mut impl Counter,
) {
    for j in range {
        let code = u16::from_le_bytes([bytes[2 * j], bytes[2 * j + 1]]);
        let i = first + j as u64;
        acc.add(kind, code, kind.value(code), i, shift);
        let o = ord16(code);
        let central = win.codes.0 <= o && o <= win.codes.1;
        if !central || sampled(i) {
            t.bump(usize::from(code), (i % 16) as usize);
        }
    }
}

/// The portable kernel for 16-bit codes (and the reference of the vector ones): as
/// [`block_scalar`], in the lanes of [`Code16::lane`], keyed by code.
pub(crate) fn block_scalar_code16(
    kind: Code16,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    let n = bytes.len() / 2;
    let mut acc = Lanes32::new();
    code16_run(kind, bytes, 0..n, first, shift, win, &mut acc, t);
    acc.finish(kind, n)
}

/// Counts value `x` (the tensor's value `i`, in lane `lane`) into `t`: every value outside the
/// window, and a sampled one inside it.
#[inline(always)]
pub(crate) fn count(x: f32, i: u64, win: &Window, t: &mut impl Counter) {
    let lane = (i % 16) as usize;
    if !win.central(x) || sampled(i) {
        t.bump(key(x), lane);
    }
}

/// The portable kernel (and the reference of the vector ones): one block of at most [`BLOCK`](super::BLOCK)
/// values of `bytes`, the first being value `first` of the tensor.
pub(crate) fn block_scalar(
    source: Source,
    bytes: &[u8],
    first: u64,
    shift: f64,
    win: &Window,
    t: &mut impl Counter,
) -> Option<BlockSums> {
    match source {
        Source::BF16 => return block_scalar_code16(Code16::BF16, bytes, first, shift, win, t),
        Source::F16 => return block_scalar_code16(Code16::F16, bytes, first, shift, win, t),
        Source::F32 => {}
    }
    let n = bytes.len() / 4;
    let mut acc = Lanes16::new();
    scalar_run(bytes, 0..n, first, shift, win, &mut acc, t);
    acc.finish(n)
}

/// Adds F32 values `range` of `bytes` (value 0 being value `first` of the tensor) through the
/// scalar lanes, counting their keys.
#[inline(always)]
pub(crate) fn scalar_run(
    bytes: &[u8],
    range: std::ops::Range<usize>,
    first: u64,
    shift: f64,
    win: &Window,
    acc: &mut Lanes16,
    t: &mut impl Counter,
) {
    for j in range {
        let x = Source::F32.value(bytes, j);
        let i = first + j as u64;
        acc.add(x, (i % 16) as usize, shift);
        count(x, i, win, t);
    }
}
