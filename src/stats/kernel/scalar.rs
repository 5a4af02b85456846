//! The portable kernels: F32 blocks (the reference the vector kernels match bit for bit) and values
//! decoded to f64 (every wide type; no vector twin).

use super::tables::{Counter, KeyTable, Layout, NoCount};
use crate::decode::groups;
use crate::stats::lanes::{BlockSums, LaneAcc, f32_lane};

/// The 16-bit bucket key of an f32: its top 16 bits (sign, exponent, 7 mantissa bits: the bf16
/// truncation). Non-finite values have the all-ones exponent and only they do.
#[inline]
pub(crate) fn f32_key(bits: u32) -> usize {
    (bits >> 16) as usize
}

/// The portable F32 block kernel (also the reference the AVX2 kernel is tested against).
pub(crate) fn f32_block_scalar(
    bytes: &[u8],
    shift: f64,
    rep: f32,
    t: &mut impl Counter,
) -> BlockSums {
    let mut acc = LaneAcc {
        s: [0.0; 8],
        q: [0.0; 8],
        min: rep,
        max: rep,
        zeros: 0,
        nan: 0,
        inf: 0,
    };
    for (i, b) in groups::<4>(bytes).enumerate() {
        let bits = u32::from_le_bytes(b);
        f32_lane(f32::from_bits(bits), i % 8, shift, &mut acc);
        t.bump(f32_key(bits), i);
    }
    acc.finish(bytes.len() / 4)
}

/// The bucket key of a value decoded to f64: the f32 key of its rounding to f32, with finite values
/// beyond the f32 range kept in the largest finite bucket (the all-ones exponent stays reserved for
/// NaN and infinity).
#[inline]
pub(crate) fn f64_key(x: f64) -> usize {
    let f = x as f32;
    if f.is_infinite() && x.is_finite() {
        f32_key(f32::MAX.copysign(f).to_bits())
    } else {
        f32_key(f.to_bits())
    }
}

/// Sums over a block of values decoded to f64, counting every value's key into `table` when given.
pub(crate) fn f64_block(values: &[f64], shift: f64, table: Option<&mut KeyTable>) -> BlockSums {
    let Some(table) = table else {
        return f64_sums(values, shift, &mut NoCount);
    };
    let sums = match table.pick() {
        Layout::Plain(t) => f64_sums(values, shift, t),
        Layout::Lanes(t) => f64_sums(values, shift, t),
    };
    table.observe(values.len(), |i| f64_key(values[i]));
    sums
}

fn f64_sums(values: &[f64], shift: f64, t: &mut impl Counter) -> BlockSums {
    // Four independent lanes; `d * d + q` rather than `mul_add`, which is a libm call on x86-64
    // builds without FMA.
    let mut s = [0.0f64; 4];
    let mut q = [0.0f64; 4];
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut n, mut zeros, mut nan) = (0u64, 0u64, 0u64);
    let mut add = |x: f64, lane: usize, s: &mut [f64; 4], q: &mut [f64; 4]| {
        t.bump(f64_key(x), lane);
        if x.is_finite() {
            let d = x - shift;
            s[lane] += d;
            q[lane] += d * d;
            min = min.min(x);
            max = max.max(x);
            n += 1;
            zeros += u64::from(x == 0.0);
        } else if x.is_nan() {
            nan += 1;
        }
    };
    let quads = values.chunks_exact(4);
    let rest = quads.remainder();
    for quad in quads {
        for (lane, &x) in quad.iter().enumerate() {
            add(x, lane, &mut s, &mut q);
        }
    }
    for (lane, &x) in rest.iter().enumerate() {
        add(x, lane, &mut s, &mut q);
    }
    BlockSums {
        n,
        s: (s[0] + s[1]) + (s[2] + s[3]),
        q: (q[0] + q[1]) + (q[2] + q[3]),
        min,
        max,
        zeros,
        nan,
        inf: values.len() as u64 - n - nan,
    }
}
