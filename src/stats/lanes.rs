//! The lane accumulators every moment kernel folds values into, scalar and vector alike, and the
//! one fixed order in which lanes are reduced.
//!
//! A vector kernel and its scalar twin agree bit for bit because both add each value to the same
//! lane, in the same order, and reduce the lanes the same way: the scalar kernels call these
//! types directly; the vector kernels load a lane array into registers, run, store it back, and
//! finish through the same `finish`. Three shapes, one per family of kernels:
//!
//! - [`LaneAcc`], eight lanes with NaN and Inf counted apart (the masked F32 kernel of the bucketed
//!   method, `kernel`);
//! - [`Lanes16`], sixteen lanes of F32 values, unmasked (the sampled kernels, `sample`: a
//!   non-finite value turns the sums non-finite and the block is redone by the masked kernel);
//! - [`Lanes32`], thirty-two lanes of BF16 or F16 codes in the order AVX-512 widens them
//!   ([`Code16::lane`]), extremes kept as codes in value order ([`ord16`]).

/// Sums of one block of values. `min`/`max` are meaningful only when `n > 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockSums {
    /// Finite values.
    pub n: u64,
    /// Σ (x - shift) over finite values.
    pub s: f64,
    /// Σ (x - shift)² over finite values.
    pub q: f64,
    pub min: f64,
    pub max: f64,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
}

/// The lane sums of the eight-wide accumulation, reduced in one fixed order.
pub(crate) fn reduce(s: &[f64; 8], q: &[f64; 8]) -> (f64, f64) {
    let fold = |l: &[f64; 8]| {
        let t = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
        ((t[0] + t[1]) + t[2]) + t[3]
    };
    (fold(s), fold(q))
}

/// Adds one f32 to the lane accumulators: the scalar twin of one lane of the AVX2 loop.
#[inline]
pub(crate) fn f32_lane(x: f32, lane: usize, shift: f64, acc: &mut LaneAcc) {
    if x.is_finite() {
        let d = f64::from(x) - shift;
        acc.s[lane] += d;
        acc.q[lane] = d.mul_add(d, acc.q[lane]);
        acc.min = acc.min.min(x);
        acc.max = acc.max.max(x);
    } else if x.is_nan() {
        acc.nan += 1;
    } else {
        acc.inf += 1;
    }
    acc.zeros += u64::from(x == 0.0);
}

/// Eight-lane accumulators of the masked F32 kernel (non-finite values counted, not summed).
pub(crate) struct LaneAcc {
    pub s: [f64; 8],
    pub q: [f64; 8],
    pub min: f32,
    pub max: f32,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
}

impl LaneAcc {
    pub fn finish(self, values: usize) -> BlockSums {
        let (s, q) = reduce(&self.s, &self.q);
        BlockSums {
            n: values as u64 - self.nan - self.inf,
            s,
            q,
            min: f64::from(self.min),
            max: f64::from(self.max),
            zeros: self.zeros,
            nan: self.nan,
            inf: self.inf,
        }
    }
}

/// Sixteen-lane accumulators of one block.
pub(crate) struct Lanes16 {
    pub s: [f64; 16],
    pub q: [f64; 16],
    pub min: [f32; 16],
    pub max: [f32; 16],
    pub zeros: u64,
}

impl Lanes16 {
    pub fn new() -> Lanes16 {
        Lanes16 {
            s: [0.0; 16],
            q: [0.0; 16],
            min: [f32::INFINITY; 16],
            max: [f32::NEG_INFINITY; 16],
            zeros: 0,
        }
    }

    /// Adds `x` to lane `lane`, with the semantics of the vector instructions (`vminps(m, x)` is
    /// `m < x ? m : x`).
    #[inline(always)]
    pub fn add(&mut self, x: f32, lane: usize, shift: f64) {
        let d = f64::from(x) - shift;
        self.s[lane] += d;
        self.q[lane] = d.mul_add(d, self.q[lane]);
        self.min[lane] = if self.min[lane] < x {
            self.min[lane]
        } else {
            x
        };
        self.max[lane] = if self.max[lane] > x {
            self.max[lane]
        } else {
            x
        };
        self.zeros += u64::from(x == 0.0);
    }

    /// The block's sums, or `None` if a value was NaN or infinite.
    pub fn finish(self, values: usize) -> Option<BlockSums> {
        let (s, q) = (fold16(&self.s), fold16(&self.q));
        if !(s.is_finite() && q.is_finite()) {
            return None;
        }
        let min = self.min.iter().copied().fold(f32::INFINITY, f32::min);
        let max = self.max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Some(BlockSums {
            n: values as u64,
            s,
            q,
            min: f64::from(min),
            max: f64::from(max),
            zeros: self.zeros,
            nan: 0,
            inf: 0,
        })
    }
}

/// Sixteen lane sums reduced in one fixed order.
pub(crate) fn fold16(l: &[f64; 16]) -> f64 {
    let h: [f64; 8] = std::array::from_fn(|j| l[j] + l[j + 8]);
    let t = [h[0] + h[4], h[1] + h[5], h[2] + h[6], h[3] + h[7]];
    ((t[0] + t[1]) + t[2]) + t[3]
}

/// A BF16 or F16 code (sign and magnitude) as a signed integer in value order (negative codes
/// reversed below the positive ones, -0 just below +0, NaN codes beyond the infinities); its own
/// inverse.
#[inline(always)]
pub(crate) fn ord16(code: u16) -> i16 {
    (code ^ (((code as i16) >> 15) as u16 & 0x7FFF)) as i16
}

/// The lane of value `p` (0..32) of an aligned group of 32 BF16 values: the order in which
/// AVX-512 widens them (`vpunpck[lh]wd` with zero, then the two halves of each to f64): lanes 0-7
/// hold values 0-3 and 8-11, lanes 8-15 values 16-19 and 24-27, lanes 16-23 values 4-7 and 12-15,
/// lanes 24-31 values 20-23 and 28-31. Widening costs one instruction per 16 values this way.
pub(crate) const fn bf16_lane(p: usize) -> usize {
    let (block, within) = (p / 8, p % 8);
    ((within / 4) * 2 + block / 2) * 8 + (block % 2) * 4 + within % 4
}

/// The 16-bit float types whose codes the 32-lane kernels read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code16 {
    BF16,
    F16,
}

impl Code16 {
    #[inline(always)]
    pub fn value(self, code: u16) -> f32 {
        match self {
            Code16::BF16 => f32::from_bits(u32::from(code) << 16),
            Code16::F16 => half::f16::from_bits(code).to_f32(),
        }
    }

    /// The lane of value `p` (0..32) of an aligned group of 32: the order in which the AVX-512
    /// kernel widens them ([`bf16_lane`] for BF16; F16 widens in order).
    #[inline(always)]
    pub fn lane(self, p: usize) -> usize {
        match self {
            Code16::BF16 => bf16_lane(p),
            Code16::F16 => p,
        }
    }
}

/// Thirty-two-lane accumulators of one block of 16-bit codes, extremes as [`ord16`] codes.
pub(crate) struct Lanes32 {
    pub s: [f64; 32],
    pub q: [f64; 32],
    pub min: i16,
    pub max: i16,
    pub zeros: u64,
}

impl Lanes32 {
    pub fn new() -> Lanes32 {
        Lanes32 {
            s: [0.0; 32],
            q: [0.0; 32],
            min: i16::MAX,
            max: i16::MIN,
            zeros: 0,
        }
    }

    /// Adds `code` (whose value is `x`), value `i` of the tensor.
    #[inline(always)]
    pub fn add(&mut self, kind: Code16, code: u16, x: f32, i: u64, shift: f64) {
        let lane = kind.lane((i % 32) as usize);
        let d = f64::from(x) - shift;
        self.s[lane] += d;
        self.q[lane] = d.mul_add(d, self.q[lane]);
        let o = ord16(code);
        self.min = self.min.min(o);
        self.max = self.max.max(o);
        self.zeros += u64::from(code & 0x7FFF == 0);
    }

    /// The block's sums, or `None` if a value was NaN or infinite.
    pub fn finish(self, kind: Code16, values: usize) -> Option<BlockSums> {
        let fold = |l: &[f64; 32]| fold16(&std::array::from_fn(|j| l[j] + l[j + 16]));
        let (s, q) = (fold(&self.s), fold(&self.q));
        if !(s.is_finite() && q.is_finite()) {
            return None;
        }
        // (`ord16` is its own inverse: the extreme codes back from their ranks.)
        let value = |o: i16| f64::from(kind.value(ord16(o as u16) as u16));
        let (min, max) = if values == 0 {
            (f64::INFINITY, f64::NEG_INFINITY)
        } else {
            (value(self.min), value(self.max))
        };
        Some(BlockSums {
            n: values as u64,
            s,
            q,
            min,
            max,
            zeros: self.zeros,
            nan: 0,
            inf: 0,
        })
    }
}
